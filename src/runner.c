/*  runner.c — jobs received to run on this node (see runner.h). */
#include <time.h>
#include "exec.h"
#include "log.h"
#include "runner.h"
#include "testing.h"

#define S_REPLY_RESEND_MS   10000   //  a REPLY not ACKed is sent again after this
#define S_ACK_GRACE_MS      50      //  a job done by then sends only its REPLY
#define S_CLOCK_SKEW_S      300     //  tolerated clock difference between nodes

typedef struct _zc_runner_t zc_runner_t;

typedef struct {
    char key [ZC_JOB_ID_MAX];   //  ULID.origin: unique per (message, origin)
    char job_id [ZC_JOB_ID_MAX];    //  ULID.this-node, as the origin prints it
    zc_id_t id;
    char origin [65];
    uint32_t expire;            //  s after creation, from the job
    zc_runner_t *runner;
    zc_exec_t *proc;
    zc_result_t *result;        //  set once finished
    bool reply_acked;
    uint64_t reply_next_try;    //  monotonic ms; 0 = wait for the origin's presence
    int ack_timer;              //  the grace timer before STARTED, or -1
} s_task_t;

struct _zc_runner_t {
    zloop_t *loop;
    char name [65];             //  this node
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
    if (task->ack_timer != -1)
        zloop_timer_end (task->runner->loop, task->ack_timer);
    zc_exec_destroy (&task->proc);
    zc_result_destroy (&task->result);
    free (task);
    *item = NULL;
}

zc_runner_t *
zc_runner_new (zloop_t *loop, const char *name, size_t max_output,
               zc_link_send_fn *send, void *arg)
{
    zc_runner_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    snprintf (self->name, sizeof self->name, "%s", name);
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
    if (task->ack_timer != -1) {
        zloop_timer_end (task->runner->loop, task->ack_timer);
        task->ack_timer = -1;
    }
    zc_debug ("ran %s for %s: %s, exit %d%s%s", task->job_id, task->origin,
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

//  The grace time passed with the job still running: the origin hears
//  that it started (which is also its ACK).
static int
s_ack_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_task_t *task = arg;
    task->ack_timer = -1;
    if (!task->result)
        s_send_notice (task->runner, ZC_MSG_STARTED, &task->id, task->origin);
    return 0;
}

//  A job arrives. A new one is run; a job finished within S_ACK_GRACE_MS
//  sends only its REPLY, which the origin takes as the ACK too (fewer
//  messages, fewer bytes on slow links). A resend is ACKed at once, and
//  gets its result again when there is one; it never runs twice.
void
zc_runner_request (zc_runner_t *self, zc_wire_t *msg)
{
    char key [ZC_JOB_ID_MAX];
    zc_job_id_format (&msg->id, msg->from, key);
    s_task_t *task = zhashx_lookup (self->tasks, key);
    if (task) {
        s_send_notice (self, ZC_MSG_ACK, &msg->id, msg->from);
        if (task->result)
            s_send_reply (self, task);
        return;
    }
    task = calloc (1, sizeof *task);
    snprintf (task->key, sizeof task->key, "%s", key);
    zc_job_id_format (&msg->id, self->name, task->job_id);
    task->id = msg->id;
    snprintf (task->origin, sizeof task->origin, "%s", msg->from);
    task->expire = msg->expire;
    task->runner = self;
    task->ack_timer = -1;
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
            zc_debug ("running %s for %s", task->job_id, task->origin);
            task->ack_timer = zloop_timer (self->loop, S_ACK_GRACE_MS, 1, s_ack_timer, task);
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

//  Self-test: a fake link records what the runner sends.

typedef struct {
    zlist_t *sent;              //  zc_wire_t *
} s_test_link_t;

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    s_test_link_t *link = arg;
    zlist_append (link->sent, *msg_p);
    *msg_p = NULL;
    return 0;
}

//  Ends the loop once a REPLY was sent.
static int
s_test_reply_sent (zloop_t *loop, int timer_id, void *arg)
{
    s_test_link_t *link = arg;
    for (zc_wire_t *msg = zlist_first (link->sent); msg; msg = zlist_next (link->sent))
        if (msg->type == ZC_MSG_REPLY)
            return -1;
    return 0;
}

//  The types sent so far as a string ("ACK STARTED "), clearing the
//  record; the last REPLY's result goes to *result_p when non-NULL.
static char *
s_test_sent (s_test_link_t *link, zc_result_t **result_p)
{
    char *types = zsys_sprintf ("%s", "");
    zc_wire_t *msg;
    while ((msg = zlist_pop (link->sent))) {
        char *more = zsys_sprintf ("%s%s ", types, zc_wire_type_name (msg->type));
        free (types);
        types = more;
        if (msg->type == ZC_MSG_REPLY && result_p) {
            zc_result_destroy (result_p);
            zc_wire_result_payload_decode (msg->payload, result_p);
        }
        zc_wire_destroy (&msg);
    }
    return types;
}

static zc_wire_t *
s_test_request (zc_method_t method, const char *command)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REQ);
    snprintf (msg->from, sizeof msg->from, "o1");
    zlist_append (msg->to, "n1");
    msg->method = method;
    msg->method_timeout = 10;
    msg->expire = 60;
    zlist_t *args = zlist_new ();
    zlist_append (args, (void *) command);
    msg->payload = zc_wire_req_payload (args, NULL, 0);
    zlist_destroy (&args);
    return msg;
}

int
zc_runner_test (bool verbose)
{
    ZC_TEST_BEGIN;
    s_test_link_t link = { .sent = zlist_new () };
    zloop_t *loop = zloop_new ();
    zc_runner_t *runner = zc_runner_new (loop, "n1", 4096, s_test_send, &link);
    zc_result_t *result = NULL;

    //  A ping is answered at once; a resend of it is ACKed and answered again.
    zc_wire_t *ping = s_test_request (ZC_METHOD_PING, "");
    zc_runner_request (runner, ping);
    char *sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");
    ZC_CHECK (result && result->state == ZC_STATE_DONE);
    free (sent);
    zc_runner_request (runner, ping);
    sent = s_test_sent (&link, NULL);
    ZC_CHECK_STR (sent, "ACK REPLY ");
    free (sent);
    zc_runner_on_ack (runner, &ping->id, "o1");
    zc_wire_destroy (&ping);

    //  An exec job runs once, even when its REQ comes again.
    char dir [] = "/tmp/zcnc-runner-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *command = zsys_sprintf ("echo ran >> %s/marker; echo hi", dir);
    zc_wire_t *job = s_test_request (ZC_METHOD_EXEC, command);
    zc_runner_request (runner, job);
    ZC_CHECK (zc_runner_running (runner) == 1);
    int timer = zloop_timer (loop, 10, 0, s_test_reply_sent, &link);
    int guard = zloop_timer (loop, 10000, 1, s_test_reply_sent, &link);
    zloop_start (loop);
    zloop_timer_end (loop, timer);
    zloop_timer_end (loop, guard);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");
    free (sent);
    ZC_CHECK (result && result->state == ZC_STATE_DONE && result->exit_code == 0);
    ZC_CHECK (result && result->out_size == 3 && memcmp (result->out, "hi\n", 3) == 0);
    ZC_CHECK (zc_runner_running (runner) == 0);
    zc_runner_on_ack (runner, &job->id, "o1");
    zc_runner_request (runner, job);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "ACK REPLY ");
    free (sent);
    char *marker = zsys_sprintf ("%s/marker", dir);
    FILE *file = fopen (marker, "r");
    char line [16] = "";
    int lines = 0;
    while (file && fgets (line, sizeof line, file))
        lines++;
    if (file)
        fclose (file);
    ZC_CHECK (lines == 1);
    unlink (marker);
    rmdir (dir);
    free (marker);
    free (command);
    zc_wire_destroy (&job);

    //  A job still running after the grace time says STARTED first.
    job = s_test_request (ZC_METHOD_EXEC, "sleep 0.3");
    zc_runner_request (runner, job);
    timer = zloop_timer (loop, 10, 0, s_test_reply_sent, &link);
    guard = zloop_timer (loop, 10000, 1, s_test_reply_sent, &link);
    zloop_start (loop);
    zloop_timer_end (loop, timer);
    zloop_timer_end (loop, guard);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "STARTED REPLY ");
    free (sent);
    zc_runner_on_ack (runner, &job->id, "o1");
    zc_wire_destroy (&job);

    //  An absent origin: the result waits for its presence.
    job = s_test_request (ZC_METHOD_TAIL, "/var/log/syslog");
    zc_runner_request (runner, job);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");
    ZC_CHECK (result && result->state == ZC_STATE_FAILED);
    ZC_CHECK_STR (result? result->error: NULL, "method tail is not supported by this agent yet");
    free (sent);
    zc_runner_on_noroute (runner, &job->id, "o1");
    zc_runner_tick (runner);
    ZC_CHECK (zlist_size (link.sent) == 0);
    zc_runner_on_presence (runner, "o1");
    sent = s_test_sent (&link, NULL);
    ZC_CHECK_STR (sent, "REPLY ");
    free (sent);
    zc_wire_destroy (&job);

    //  A payload that does not decode is refused with a reason.
    job = s_test_request (ZC_METHOD_EXEC, "true");
    zframe_destroy (&job->payload);
    job->payload = zframe_new ("\x05", 1);
    zc_runner_request (runner, job);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");
    ZC_CHECK_STR (result? result->error: NULL, "malformed job payload");
    free (sent);
    zc_wire_destroy (&job);

    zc_result_destroy (&result);
    zc_runner_destroy (&runner);
    zloop_destroy (&loop);
    zlist_destroy (&link.sent);
    return ZC_TEST_END;
}
