/*  job.c — names of job states and methods; the result type. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "prelude.h"
#include "job.h"

static const char *s_state_names [ZC_STATE_COUNT] = {
    "queued", "sent", "running", "done", "failed", "expired",
    "interrupted", "denied", "cancelled", "scheduled"
};

static const char *s_method_names [ZC_METHOD_COUNT] = {
    NULL, "exec", "exec_stream", "tail", "http_get", "copy", "ping",
    "jobs", "cancel", "call"
};

const char *
zc_state_name (zc_state_t state)
{
    return (unsigned) state < ZC_STATE_COUNT? s_state_names [state]: NULL;
}

bool
zc_state_final (zc_state_t state)
{
    return state >= ZC_STATE_DONE && state < ZC_STATE_SCHEDULED;
}

bool
zc_schedule_spec_valid (const zc_schedule_spec_t *schedule)
{
    return schedule->interval >= 1 && schedule->interval <= ZC_SCHEDULE_MAX_SPAN
        && schedule->count >= 1 && schedule->count <= ZC_SCHEDULE_MAX_RUNS
        && (uint64_t) (schedule->count - 1) * schedule->interval < ZC_SCHEDULE_MAX_SPAN;
}

const char *
zc_method_name (zc_method_t method)
{
    if (method == ZC_METHOD_COPY_OPEN)
        return "copy_open";
    if (method == ZC_METHOD_COPY_CLOSE)
        return "copy_close";
    return (unsigned) method < ZC_METHOD_COUNT? s_method_names [method]: NULL;
}

zc_method_t
zc_method_parse (const char *name)
{
    for (int method = 1; method < ZC_METHOD_COUNT; method++)
        if (strcmp (name, s_method_names [method]) == 0)
            return (zc_method_t) method;
    return 0;
}

static const char *s_reply_names [ZC_REPLY_COUNT] = {
    "console", "none", "file", "file_append", "exec"
};

const char *
zc_reply_method_name (zc_reply_method_t method)
{
    return (unsigned) method < ZC_REPLY_COUNT? s_reply_names [method]: NULL;
}

int
zc_reply_method_parse (const char *name, zc_reply_method_t *method)
{
    for (int index = 0; index < ZC_REPLY_COUNT; index++)
        if (strcmp (name, s_reply_names [index]) == 0) {
            *method = (zc_reply_method_t) index;
            return 0;
        }
    return -1;
}

bool
zc_reply_method_acts (zc_reply_method_t method)
{
    return method == ZC_REPLY_FILE || method == ZC_REPLY_FILE_APPEND || method == ZC_REPLY_EXEC;
}

void
zc_reply_spec_copy (zc_reply_spec_t *copy, const zc_reply_spec_t *spec)
{
    copy->method = spec->method;
    copy->directory = spec->directory? zc_strdup (spec->directory): NULL;
    copy->file_name = spec->file_name? zc_strdup (spec->file_name): NULL;
    copy->args = NULL;
    if (spec->args && zlist_size (spec->args)) {
        copy->args = zlist_new ();
        zlist_autofree (copy->args);
        for (char *arg = zlist_first (spec->args); arg; arg = zlist_next (spec->args))
            zlist_append (copy->args, arg);
    }
}

void
zc_reply_spec_clear (zc_reply_spec_t *spec)
{
    free (spec->directory);
    free (spec->file_name);
    zlist_destroy (&spec->args);
    memset (spec, 0, sizeof *spec);
}

uint64_t
zc_wall_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

zc_result_t *
zc_result_new (void)
{
    return zc_calloc (1, sizeof (zc_result_t));
}

void
zc_result_destroy (zc_result_t **self_p)
{
    if (*self_p) {
        zc_result_t *self = *self_p;
        free (self->error);
        free (self->out);
        free (self->err);
        free (self);
        *self_p = NULL;
    }
}
