/*  job.c — names of job states and methods; the result type. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "prelude.h"
#include "job.h"

static const char *s_state_names [ZC_STATE_COUNT] = {
    "queued", "sent", "running", "done", "failed", "expired",
    "interrupted", "denied", "cancelled"
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
    return state >= ZC_STATE_DONE && state < ZC_STATE_COUNT;
}

const char *
zc_method_name (zc_method_t method)
{
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
