/*  runner.c — jobs received to run on this node (see runner.h). */
#include <time.h>
#include "exec.h"
#include "log.h"
#include "runner.h"

#define S_REPLY_RESEND_MS   10000   //  a REPLY not ACKed is sent again after this
#define S_CLOCK_SKEW_S      300     //  tolerated clock difference between nodes

typedef struct _zc_runner_t zc_runner_t;

typedef struct {
    char key [ZC_JOB_ID_MAX];   //  ULID.origin: unique per (message, origin)
    zc_id_t id;
    char origin [65];
    uint32_t expire;            //  s after creation, from the job
    zc_runner_t *runner;
    zc_exec_t *proc;
    zc_result_t *result;        //  set once finished
    bool reply_acked;
    uint64_t reply_next_try;    //  monotonic ms; 0 = wait for the origin's presence
} s_task_t;

struct _zc_runner_t {
    zloop_t *loop;
    size_t max_output;
    zhashx_t *tasks;            //  key -> s_task_t (owned)
    zc_link_send_fn *send;
    void *arg;
};

static uint64_t
s_wall_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void
s_task_destroy (void **item)
{
    s_task_t *task = *item;
    zc_exec_destroy (&task->proc);
    zc_result_destroy (&task->result);
    free (task);
    *item = NULL;
}

zc_runner_t *
zc_runner_new (zloop_t *loop, size_t max_output, zc_link_send_fn *send, void *arg)
{
    zc_runner_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->max_output = max_output;
    self->tasks = zhashx_new ();
    zhashx_set_destructor (self->tasks, s_task_destroy);
    self->send = send;
    self->arg = arg;
    return self;
}

void
zc_runner_destroy (zc_runner_t **self_p)
{
    if (*self_p) {
        zc_runner_t *self = *self_p;
        //  Jobs still running are killed with their process groups.
        for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
            if (task->proc && !task->result)
                zc_exec_interrupt (task->proc);
        zhashx_destroy (&self->tasks);
        free (self);
        *self_p = NULL;
    }
}

//  Sends an ACK or STARTED for message 'id' to 'node'.
static void
s_send_notice (zc_runner_t *self, zc_msg_type_t type, const zc_id_t *id, const char *node)
{
    zc_wire_t *msg = zc_wire_new (type);
    msg->id = *id;
    zlist_append (msg->to, (void *) node);
    self->send (&msg, self->arg);
}

static void
s_send_reply (zc_runner_t *self, s_task_t *task)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REPLY);
    msg->id = task->id;
    zlist_append (msg->to, task->origin);
    msg->payload = zc_wire_result_payload (task->result);
    task->reply_next_try = zclock_mono () + S_REPLY_RESEND_MS;
    self->send (&msg, self->arg);
}

static void
s_task_done (zc_exec_t *proc, zc_result_t *result, void *arg)
{
    s_task_t *task = arg;
    task->result = result;
    zc_info ("ran %s for %s: %s, exit %d%s%s", task->key, task->origin,
             zc_state_name (result->state), result->exit_code,
             result->error? ", ": "", result->error? result->error: "");
    s_send_reply (task->runner, task);
}

//  Finishes a task at once with a result made here (ping, refusals).
static void
s_task_answer (zc_runner_t *self, s_task_t *task, zc_state_t state, const char *error)
{
    task->result = zc_result_new ();
    task->result->state = state;
    task->result->started_ms = task->result->finished_ms = s_wall_ms ();
    task->result->error = error? strdup (error): NULL;
    s_send_reply (self, task);
}

void
zc_runner_request (zc_runner_t *self, zc_wire_t *msg)
{
    char key [ZC_JOB_ID_MAX];
    zc_job_id_format (&msg->id, msg->from, key);
    s_task_t *task = zhashx_lookup (self->tasks, key);
    s_send_notice (self, ZC_MSG_ACK, &msg->id, msg->from);
    if (task) {
        if (task->result)
            s_send_reply (self, task);
        return;
    }
    task = calloc (1, sizeof *task);
    snprintf (task->key, sizeof task->key, "%s", key);
    task->id = msg->id;
    snprintf (task->origin, sizeof task->origin, "%s", msg->from);
    task->expire = msg->expire;
    task->runner = self;
    zhashx_insert (self->tasks, key, task);

    zlist_t *args = NULL;
    uint8_t *data = NULL;
    size_t data_size = 0;
    if (zc_wire_req_payload_decode (msg->payload, &args, &data, &data_size) != 0)
        s_task_answer (self, task, ZC_STATE_FAILED, "malformed job payload");
    else
    if (msg->method == ZC_METHOD_PING)
        s_task_answer (self, task, ZC_STATE_DONE, NULL);
    else
    if (msg->method == ZC_METHOD_EXEC && zlist_size (args) == 1) {
        zc_exec_spec_t spec = {
            .command = zlist_first (args), .data = data, .data_size = data_size,
            .timeout = msg->method_timeout, .max_output = self->max_output
        };
        char *error = NULL;
        task->proc = zc_exec_start (self->loop, &spec, s_task_done, task, &error);
        if (task->proc) {
            zc_info ("running %s for %s", task->key, task->origin);
            s_send_notice (self, ZC_MSG_STARTED, &msg->id, msg->from);
        }
        else {
            s_task_answer (self, task, ZC_STATE_FAILED, error);
            free (error);
        }
    }
    else {
        char reason [120];
        snprintf (reason, sizeof reason, "method %s is not supported by this agent yet",
                  zc_method_name (msg->method)? zc_method_name (msg->method): "?");
        s_task_answer (self, task, ZC_STATE_FAILED, reason);
    }
    zlist_destroy (&args);
    free (data);
}

static s_task_t *
s_lookup (zc_runner_t *self, const zc_id_t *id, const char *origin)
{
    char key [ZC_JOB_ID_MAX];
    zc_job_id_format (id, origin, key);
    return zhashx_lookup (self->tasks, key);
}

//  The origin stored our result. It has the output now, so only the fact
//  that the job ran is kept: a resend is never run again.
void
zc_runner_on_ack (zc_runner_t *self, const zc_id_t *id, const char *from)
{
    s_task_t *task = s_lookup (self, id, from);
    if (task && task->result && !task->reply_acked) {
        task->reply_acked = true;
        free (task->result->out);
        free (task->result->err);
        task->result->out = task->result->err = NULL;
        task->result->out_size = task->result->err_size = 0;
    }
}

//  The origin is absent: its result waits for the origin's presence.
void
zc_runner_on_noroute (zc_runner_t *self, const zc_id_t *id, const char *name)
{
    s_task_t *task = s_lookup (self, id, name);
    if (task)
        task->reply_next_try = 0;
}

//  Makes every unACKed result (for 'origin', or all when NULL) due now.
static void
s_resend_replies (zc_runner_t *self, const char *origin)
{
    for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
        if (task->result && !task->reply_acked && (!origin || streq (task->origin, origin)))
            task->reply_next_try = 1;
    zc_runner_tick (self);
}

void
zc_runner_on_presence (zc_runner_t *self, const char *name)
{
    s_resend_replies (self, name);
}

void
zc_runner_link_up (zc_runner_t *self)
{
    s_resend_replies (self, NULL);
}

void
zc_runner_tick (zc_runner_t *self)
{
    uint64_t now = zclock_mono ();
    for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
        if (task->result && !task->reply_acked && task->reply_next_try && now >= task->reply_next_try)
            s_send_reply (self, task);
}

void
zc_runner_prune (zc_runner_t *self)
{
    uint64_t wall = s_wall_ms ();
    zlist_t *gone = zlist_new ();
    for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
        if (task->reply_acked
        &&  wall > zc_id_time_ms (&task->id) + ((uint64_t) task->expire + S_CLOCK_SKEW_S) * 1000)
            zlist_append (gone, task->key);
    for (char *key = zlist_first (gone); key; key = zlist_next (gone))
        zhashx_delete (self->tasks, key);
    zlist_destroy (&gone);
}

size_t
zc_runner_running (zc_runner_t *self)
{
    size_t running = 0;
    for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
        if (!task->result)
            running++;
    return running;
}
