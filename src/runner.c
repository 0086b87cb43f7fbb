/*  runner.c — jobs received to run on this node (see runner.h). */
#include <time.h>
#include <jansson.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "prelude.h"
#include "audit.h"
#include "exec.h"
#include "httpget.h"
#include "log.h"
#include "policy.h"
#include "runner.h"
#include "schedule.h"
#include "seal.h"
#include "streamout.h"
#include "copy.h"
#include "target.h"
#include "testing.h"

#define S_REPLY_RESEND_MS   10000   //  a REPLY not ACKed is sent again after this
#define S_ACK_GRACE_MS      50      //  a job done by then sends only its REPLY
#define S_NOROUTE_RETRY_MS  60000   //  a result the hub could not route is tried again
#define S_PRUNE_BATCH       10000   //  records looked at per call of zc_runner_prune
#define S_SCHEDULE_CHECK_MS 60000   //  the schedules look at the wall clock at least this often

typedef struct _zc_runner_t zc_runner_t;

typedef struct {
    char key [ZC_JOB_ID_MAX];   //  ULID.origin: unique per (message, origin)
    char job_id [ZC_JOB_ID_MAX];    //  ULID.this-node, as the origin prints it
    zc_id_t id;
    char origin [ZC_NAME_SIZE];
    char relay [ZC_NAME_SIZE];            //  the relay it came through (answers go there), or ""
    zc_runner_t *runner;
    zc_task_state_t state;
    zc_method_t method;
    uint32_t method_timeout, expire;
    zframe_t *payload;          //  the REQ payload until the job starts
    zc_exec_t *proc;
    zc_streamout_t *stream;     //  exec_stream: its output on its way to the origin
    zc_copysend_t *copy;        //  a copy this node sends (copy.h)
    void *copy_handle;          //  in runner->copies while it has a copy
    void *stream_handle;        //  in runner->streams while the stream is not done
    zc_httpget_fetch_t *fetch;  //  an http_get while it runs
    pid_t pgid;                 //  while running
    uint64_t start_ticks;
    zc_result_t *result;        //  set once finished
    bool reply_acked;
    uint64_t reply_next_try;    //  monotonic ms; 0 = wait for the origin's presence
    int ack_timer;              //  the grace timer before STARTED, or -1
    void *unacked_handle;       //  in runner->unacked while its result waits for an ACK
} s_task_t;

struct _zc_runner_t {
    zloop_t *loop;
    zc_store_t *store;
    char name [ZC_NAME_SIZE];             //  this node
    size_t max_output;
    const zc_exec_context_t *exec_context;  //  whom, where, which environment; not owned
    zc_httpget_t *http;         //  http_get's client, made when the first one runs
    double skew;                //  s of clock difference tolerated
    //  In memory: every task not yet both finished and ACKed (and those
    //  until the commit that stores them so). The rest stays in the store
    //  only, and is looked up there when its REQ comes again.
    zhashx_t *tasks;            //  key -> s_task_t (owned)
    zlist_t *starting;          //  s_task_t stored as starting, to spawn after the commit
    zlistx_t *unacked;          //  s_task_t with a result the origin has not ACKed
    zlist_t *retiring;          //  s_task_t finished and ACKed: leave memory after the commit
    zlistx_t *streams;          //  s_task_t whose output stream is not done
    zlistx_t *copies;           //  s_task_t with a copy (copy.h)
    zc_copysink_t *copysink;    //  the copies this node receives
    zc_copy_submit_fn *submit;  //  sends a copy's jobs to its destination
    void *submit_arg;
    char prune_from [ZC_JOB_ID_MAX];    //  where the next prune scan starts ("" = the first)
    zc_seal_t *seal;            //  end-to-end envelopes; NULL: payloads as they are
    zc_policy_t *policy;        //  who may run what here; NULL: every trusted origin anything
    zhashx_t *functions;        //  named functions: name -> shell command; not owned, or NULL
    size_t refused;             //  jobs refused before they were stored
    zhashx_t *refusals_logged;  //  origins whose refusal was logged this minute
    int64_t refusals_window;    //  monotonic ms when that minute began
    zc_runner_denied_fn *denied;    //  told of each job refused, or NULL
    void *denied_arg;
    zc_link_send_fn *send;
    void *arg;
    uint64_t tick_now;          //  during a tick: its time (zclock_mono), else 0
    zc_schedules_t *schedules;  //  the later runs of scheduled jobs (schedule.h)
    int schedule_timer;         //  when the next of them is due, or -1
};
//  The time schedules are made from: the tick's while one runs (a self-
//  test steps it), else the clock.
static uint64_t
s_now (zc_runner_t *self)
{
    return self->tick_now? self->tick_now: (uint64_t) zclock_mono ();
}


static void
s_task_destroy (void **item)
{
    s_task_t *task = *item;
    if (task->ack_timer != -1)
        zloop_timer_end (task->runner->loop, task->ack_timer);
    zc_exec_destroy (&task->proc);
    if (task->stream_handle)
        zlistx_delete (task->runner->streams, task->stream_handle);
    zc_streamout_destroy (&task->stream);
    zc_httpget_fetch_destroy (&task->fetch);
    if (task->copy_handle)
        zlistx_delete (task->runner->copies, task->copy_handle);
    zc_copysend_destroy (&task->copy);
    zframe_destroy (&task->payload);
    zc_result_destroy (&task->result);
    free (task);
    *item = NULL;
}

static void s_task_save (zc_runner_t *self, s_task_t *task);

zc_runner_t *
zc_runner_new (zloop_t *loop, zc_store_t *store, const char *name, size_t max_output,
               double skew, zc_link_send_fn *send, void *arg)
{
    zc_runner_t *self = zc_calloc (1, sizeof *self);
    self->loop = loop;
    self->store = store;
    snprintf (self->name, sizeof self->name, "%s", name);
    self->max_output = max_output;
    self->skew = skew;
    self->tasks = zhashx_new ();
    zhashx_set_destructor (self->tasks, s_task_destroy);
    self->starting = zlist_new ();
    self->unacked = zlistx_new ();
    self->retiring = zlist_new ();
    self->streams = zlistx_new ();
    self->copies = zlistx_new ();
    self->copysink = zc_copysink_new (loop, name, send, arg);
    self->refusals_logged = zhashx_new ();
    self->send = send;
    self->arg = arg;
    self->schedules = zc_schedules_new (store);
    self->schedule_timer = -1;
    return self;
}

void
zc_runner_set_seal (zc_runner_t *self, zc_seal_t *seal)
{
    self->seal = seal;
    zc_copysink_set_seal (self->copysink, seal);
}

void
zc_runner_set_submit (zc_runner_t *self, zc_copy_submit_fn *submit, void *arg)
{
    self->submit = submit;
    self->submit_arg = arg;
}

void
zc_runner_set_policy (zc_runner_t *self, zc_policy_t *policy)
{
    self->policy = policy;
}

void
zc_runner_set_functions (zc_runner_t *self, zhashx_t *functions)
{
    self->functions = functions;
}

//  The shell command of function 'name' here, or NULL.
static const char *
s_function (zc_runner_t *self, const char *name)
{
    return name && self->functions? zhashx_lookup (self->functions, name): NULL;
}

size_t
zc_runner_refused (zc_runner_t *self)
{
    return self->refused;
}

void
zc_runner_on_denied (zc_runner_t *self, zc_runner_denied_fn *fn, void *arg)
{
    self->denied = fn;
    self->denied_arg = arg;
}

//  Tells who wants to know (the error_node's queue) that a job was
//  refused here, and why.
static void
s_denied (zc_runner_t *self, const char *job_id, const char *origin, const char *relay, uint8_t method,
          const char *cause, const char *reason)
{
    if (self->denied)
        self->denied (job_id, origin, relay, zc_method_name (method), cause, reason, self->denied_arg);
}

void
zc_runner_set_exec_context (zc_runner_t *self, const zc_exec_context_t *context)
{
    self->exec_context = context;
}

void
zc_runner_destroy (zc_runner_t **self_p)
{
    if (*self_p) {
        zc_runner_t *self = *self_p;
        //  Jobs not spawned yet will run after the next start.
        for (s_task_t *task = zlist_first (self->starting); task; task = zlist_next (self->starting)) {
            task->state = ZC_TASK_RECEIVED;
            s_task_save (self, task);
        }
        zlist_destroy (&self->starting);
        //  Jobs still running are killed with their process groups.
        for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
            if (task->proc && !task->result)
                zc_exec_interrupt (task->proc);
            else
            if (task->fetch)
                zc_httpget_interrupt (task->fetch);
        zlistx_destroy (&self->unacked);
        zlist_destroy (&self->retiring);
        zhashx_destroy (&self->refusals_logged);
        zhashx_destroy (&self->tasks);
        zlistx_destroy (&self->streams);
        zlistx_destroy (&self->copies);
        zc_copysink_destroy (&self->copysink);
        zc_httpget_destroy (&self->http);
        if (self->schedule_timer != -1)
            zloop_timer_end (self->loop, self->schedule_timer);
        zc_schedules_destroy (&self->schedules);
        free (self);
        *self_p = NULL;
    }
}

static void
s_audit (s_task_t *task, const char *event, const char *detail)
{
    zc_audit (event, task->job_id, task->origin, task->runner->name,
              zc_method_name (task->method), detail);
}

//  Writes the task's current state into the store's batch.
static void
s_task_save (zc_runner_t *self, s_task_t *task)
{
    zc_task_record_t record = {
        .state = (uint8_t) task->state, .reply_acked = task->reply_acked,
        .method = (uint8_t) task->method, .method_timeout = task->method_timeout,
        .expire = task->expire, .pgid = task->pgid, .start_ticks = task->start_ticks,
        .payload = task->payload,
        .result = task->result? zc_wire_result_payload (task->result): NULL
    };
    strcpy (record.relay, task->relay);         //  both ZC_NAME_SIZE bytes
    zframe_t *frame = zc_wire_task_record (&record);
    if (frame)
        zc_store_put (self->store, ZC_TABLE_INBOX, task->key, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    zframe_destroy (&record.result);
}

void
zc_runner_address (zc_wire_t *msg, const char *origin, const char *relay)
{
    if (*relay) {
        zlist_append (msg->to, (void *) relay);
        msg->flags |= ZC_FLAG_RELAYED;
        zlist_append (msg->names, (void *) origin);
    }
    else
        zlist_append (msg->to, (void *) origin);
}

static void
s_address (zc_wire_t *msg, s_task_t *task)
{
    zc_runner_address (msg, task->origin, task->relay);
}

//  Sends an ACK or STARTED for a task.
static void
s_send_notice (zc_runner_t *self, zc_msg_type_t type, s_task_t *task)
{
    zc_wire_t *msg = zc_wire_new (type);
    msg->id = task->id;
    s_address (msg, task);
    self->send (&msg, self->arg);
}

zframe_t *
zc_runner_reply_payload (zc_seal_t *seal, const char *name, const zc_id_t *id, const char *origin,
                         const char *relay, const zc_result_t *result, bool refused)
{
    zframe_t *payload = zc_wire_result_payload (result);
    if (!seal || !payload)
        return payload;
    zc_seal_about_t about = { .id = id, .origin = origin, .target = name, .relay = relay,
                              .method = refused };
    zframe_t *envelope = zc_seal_reply (seal, &about, false, payload);
    zframe_destroy (&payload);
    if (*relay) {
        zc_seal_about_t hop = { .id = id, .origin = relay, .target = name, .relay = "",
                                .method = refused };
        zframe_t *inner = envelope;
        envelope = zc_seal_reply (seal, &hop, false, inner);
        zframe_destroy (&inner);
    }
    return envelope;
}

zc_wire_t *
zc_runner_refusal (zc_seal_t *seal, const char *name, const zc_id_t *id, const char *origin,
                   const char *relay, const char *reason)
{
    zc_result_t *result = zc_result_new ();
    result->state = ZC_STATE_DENIED;
    result->finished_ms = zc_wall_ms ();        //  started_ms 0: never started, nor stored
    result->error = zc_strdup (reason);
    zc_wire_t *reply = zc_wire_new (ZC_MSG_REPLY);
    reply->id = *id;
    reply->flags |= ZC_FLAG_REFUSED;
    if (*relay) {
        zlist_append (reply->to, (char *) relay);
        reply->flags |= ZC_FLAG_RELAYED;
        zlist_append (reply->names, (char *) origin);
    }
    else
        zlist_append (reply->to, (char *) origin);
    reply->payload = zc_runner_reply_payload (seal, name, id, origin, relay, result, true);
    zc_result_destroy (&result);
    return reply;
}

static void
s_send_reply (zc_runner_t *self, s_task_t *task)
{
    if (task->stream && !zc_streamout_done (task->stream)) {
        //  The result goes once the origin has all the output before it.
        task->reply_next_try = 0;
        return;
    }
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REPLY);
    msg->id = task->id;
    s_address (msg, task);
    msg->payload = zc_runner_reply_payload (self->seal, self->name, &task->id, task->origin, task->relay,
                                            task->result, false);
    task->reply_next_try = s_now (self) + S_REPLY_RESEND_MS;
    self->send (&msg, self->arg);
}

static void s_schedule_unstarted (zc_runner_t *self, s_task_t *task, zframe_t *payload, const zc_wire_t *req);
static void s_schedule_arm (zc_runner_t *self);

//  A task has its result: it is stored, then sent. (Run 0 of a schedule
//  that never started answers the later runs too; a schedule that waits
//  for this run to end may go on.)
static void
s_task_finish (zc_runner_t *self, s_task_t *task, zc_result_t *result)
{
    task->result = result;
    task->state = ZC_TASK_FINISHED;
    task->pgid = 0;
    task->unacked_handle = zlistx_add_end (self->unacked, task);
    s_schedule_unstarted (self, task, task->payload, NULL);
    if (zc_schedules_pending (self->schedules))
        s_schedule_arm (self);
    zframe_destroy (&task->payload);
    if (task->ack_timer != -1) {
        zloop_timer_end (self->loop, task->ack_timer);
        task->ack_timer = -1;
    }
    s_task_save (self, task);
    char detail [160];
    if (result->state == ZC_STATE_DONE || result->signal)
        snprintf (detail, sizeof detail, "state=%s exit=%d", zc_state_name (result->state), result->exit_code);
    else
        snprintf (detail, sizeof detail, "state=%s", zc_state_name (result->state));
    s_audit (task, "finished", detail);
    zc_debug ("ran %s for %s: %s, exit %d%s%s", task->job_id, task->origin,
              zc_state_name (result->state), result->exit_code,
              result->error? ", ": "", result->error? result->error: "");
    s_send_reply (self, task);
}

static void
s_task_done (zc_exec_t *proc, zc_result_t *result, void *arg)
{
    s_task_t *task = arg;
    if (task->method == ZC_METHOD_TAIL && zc_exec_timed_out (proc) && result->state == ZC_STATE_FAILED) {
        //  A tail ends when its time is up: that is its normal end.
        result->state = ZC_STATE_DONE;
        result->exit_code = result->signal = 0;
        zstr_free (&result->error);
    }
    if (task->stream)
        zc_streamout_close (task->stream);
    s_task_finish (task->runner, task, result);
}

//  exec_stream: output goes to the origin as it comes; while the window
//  is full the job's pipes are not read (it blocks writing).
static void
s_task_output (zc_exec_t *proc, int stream, const uint8_t *bytes, size_t size, void *arg)
{
    s_task_t *task = arg;
    zc_streamout_write (task->stream, stream, bytes, size);
    if (zc_streamout_full (task->stream))
        zc_exec_hold_output (proc, true);
}

static void
s_stream_room (zc_streamout_t *stream, void *arg)
{
    s_task_t *task = arg;
    if (task->proc && !task->result)
        zc_exec_hold_output (task->proc, false);
}

//  Every chunk is with the origin: the result follows.
static void
s_stream_done (zc_streamout_t *stream, void *arg)
{
    s_task_t *task = arg;
    zc_runner_t *self = task->runner;
    if (task->stream_handle) {
        zlistx_delete (self->streams, task->stream_handle);
        task->stream_handle = NULL;
    }
    if (task->result && !task->reply_acked)
        s_send_reply (self, task);
}

//  The stream that carries a task's output to its origin.
static void
s_stream_open (zc_runner_t *self, s_task_t *task)
{
    zc_streamout_spec_t spec = {
        .seal = self->seal, .name = self->name, .origin = task->origin, .id = &task->id,
        .send = self->send, .send_arg = self->arg, .on_room = s_stream_room, .on_done = s_stream_done,
        .arg = task
    };
    task->stream = zc_streamout_new (&spec);
    task->stream_handle = zlistx_add_end (self->streams, task);
}

//  Finishes a task at once with a result made here (ping, refusals).
static void
s_task_answer (zc_runner_t *self, s_task_t *task, zc_state_t state, const char *error)
{
    zc_result_t *result = zc_result_new ();
    result->state = state;
    result->started_ms = result->finished_ms = zc_wall_ms ();
    result->error = error? zc_strdup (error): NULL;
    s_task_finish (self, task, result);
}

//  Finishes a task at once with a result made here that has output.
static void
s_task_answer_text (zc_runner_t *self, s_task_t *task, zc_state_t state, const char *error,
                    const char *text)
{
    zc_result_t *result = zc_result_new ();
    result->state = state;
    result->started_ms = result->finished_ms = zc_wall_ms ();
    result->error = error? zc_strdup (error): NULL;
    result->out_size = strlen (text);
    result->out = (uint8_t *) zc_strdup (text);
    s_task_finish (self, task, result);
}

static int s_recall_task (const char *key, const void *value, size_t size, void *arg);
static s_task_t *s_task_new (zc_runner_t *self, const char *key, const zc_id_t *id, const char *origin);

//  The task of job 'key' (ULID.origin), from memory or the store; NULL
//  when this node never got it.
static s_task_t *
s_find_task (zc_runner_t *self, const char *key)
{
    s_task_t *task = zhashx_lookup (self->tasks, key);
    if (!task && zc_store_get (self->store, ZC_TABLE_INBOX, key, s_recall_task, self) == 1)
        task = zhashx_lookup (self->tasks, key);
    return task;
}

//  Longer than any job may wait: a job cancelled before it came is
//  refused for as long as it could still come.
#define S_TOMBSTONE_EXPIRE  (365u * 86400)

static size_t s_schedule_cancel (zc_runner_t *self, s_task_t *cancel, const zc_id_t *id);

//  The cancel method: its origin's job 'text' (a job ID of this node) is
//  killed while it runs, never started when it has not, and refused
//  when it comes later.
static void
s_task_cancel (zc_runner_t *self, s_task_t *task, const char *text)
{
    zc_id_t id;
    char node [ZC_NAME_SIZE], key [ZC_JOB_ID_MAX], answer [ZC_JOB_ID_MAX + 100];
    if (zc_job_id_parse (text, &id, node) != 0) {
        snprintf (answer, sizeof answer, "cancel: '%.*s' is not a job ID", ZC_JOB_ID_MAX, text);
        s_task_answer (self, task, ZC_STATE_FAILED, answer);
        return;
    }
    if (!streq (node, self->name)) {
        snprintf (answer, sizeof answer, "cancel: job %s is for %s, not for %s", text, node, self->name);
        s_task_answer (self, task, ZC_STATE_FAILED, answer);
        return;
    }
    //  Only the origin's own jobs: the key holds the origin.
    zc_job_id_format (&id, task->origin, key);
    s_task_t *victim = s_find_task (self, key);
    if (victim == task) {
        s_task_answer (self, task, ZC_STATE_FAILED, "cancel: a cancel cannot cancel itself");
        return;
    }
    //  A run of a schedule: the runs of it still to come are cancelled too.
    char later [80] = "";
    size_t dropped = s_schedule_cancel (self, task, &id);
    if (dropped)
        snprintf (later, sizeof later, "; %zu later run(s) of its schedule cancelled", dropped);
    char by [ZC_NAME_SIZE + 40];
    if (!victim) {
        victim = s_task_new (self, key, &id, task->origin);
        snprintf (victim->relay, sizeof victim->relay, "%s", task->relay);
        victim->expire = S_TOMBSTONE_EXPIRE;
        victim->state = ZC_TASK_RECEIVED;
        snprintf (by, sizeof by, "cancelled by %s before it came", task->origin);
        s_audit (victim, "cancelled", "before=arrival");
        s_task_answer (self, victim, ZC_STATE_CANCELLED, by);
        snprintf (answer, sizeof answer, "%s: cancelled before it came; it will not run%s\n", text, later);
    }
    else
    if (victim->result && dropped) {
        snprintf (answer, sizeof answer, "%s: had ended (%s)%s\n", text,
                  zc_state_name (victim->result->state), later);
    }
    else
    if (victim->result) {
        snprintf (answer, sizeof answer, "cancel: job %s already ended: %s", text,
                  zc_state_name (victim->result->state));
        s_task_answer (self, task, ZC_STATE_FAILED, answer);
        return;
    }
    else
    if (victim->proc) {
        s_audit (victim, "cancelled", "while=running");
        zc_exec_cancel (victim->proc);
        snprintf (answer, sizeof answer, "%s: cancelled while it ran; its process group was killed%s\n",
                  text, later);
    }
    else {
        zlist_remove (self->starting, victim);
        snprintf (by, sizeof by, "cancelled by %s before it started", task->origin);
        s_audit (victim, "cancelled", "before=start");
        s_task_answer (self, victim, ZC_STATE_CANCELLED, by);
        snprintf (answer, sizeof answer, "%s: cancelled before it started%s\n", text, later);
    }
    s_task_answer_text (self, task, ZC_STATE_DONE, NULL, answer);
}

//  The jobs method: this node's jobs running now, one JSON object a line.
static void
s_task_jobs (zc_runner_t *self, s_task_t *task)
{
    zlist_t *lines = zlist_new ();
    zlist_autofree (lines);
    size_t size = 1;
    for (s_task_t *other = zhashx_first (self->tasks); other; other = zhashx_next (self->tasks)) {
        if (other->result || other == task || other->state != ZC_TASK_RUNNING)
            continue;
        json_t *object = json_pack ("{s:s, s:s, s:s, s:I}", "id", other->job_id, "origin", other->origin,
                                    "method", zc_method_name (other->method)? zc_method_name (other->method): "?",
                                    "pgid", (json_int_t) other->pgid);
        char *line = json_dumps (object, JSON_COMPACT);
        json_decref (object);
        if (line) {
            size += strlen (line) + 1;
            zlist_append (lines, line);
            free (line);
        }
    }
    zlist_sort (lines, (zlist_compare_fn *) strcmp);
    char *text = zc_malloc (size), *cursor = text;
    *cursor = 0;
    for (char *line = zlist_first (lines); line; line = zlist_next (lines))
        cursor += sprintf (cursor, "%s\n", line);
    s_task_answer_text (self, task, ZC_STATE_DONE, NULL, text);
    free (text);
    zlist_destroy (&lines);
}

//  The grace time passed with the job still running: the origin hears
//  that it started (which is also its ACK).
static int
s_ack_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_task_t *task = arg;
    task->ack_timer = -1;
    if (!task->result)
        s_send_notice (task->runner, ZC_MSG_STARTED, task);
    return 0;
}

//  The methods that run a process, and those whose output streams.
static bool
s_spawns (zc_method_t method)
{
    return method == ZC_METHOD_EXEC || method == ZC_METHOD_EXEC_STREAM || method == ZC_METHOD_TAIL;
}

static bool
s_streams (zc_method_t method)
{
    return method == ZC_METHOD_EXEC_STREAM || method == ZC_METHOD_TAIL;
}

//  tail follows a file with tail(1) -F (by name: across rotation by
//  rename and truncation in place), from its end, as the job's user;
//  the path reaches the shell single-quoted, never as syntax.
static char *
s_tail_command (const char *path)
{
    size_t size = strlen ("exec tail -F -n 0 -- ''") + 1;
    for (const char *c = path; *c; c++)
        size += *c == '\'' ? 4: 1;
    char *command = zc_malloc (size);
    char *out = command + sprintf (command, "exec tail -F -n 0 -- '");
    for (const char *c = path; *c; c++) {
        if (*c == '\'') {
            memcpy (out, "'\\''", 4);
            out += 4;
        }
        else
            *out++ = *c;
    }
    strcpy (out, "'");
    return command;
}

//  An http_get has ended (or was interrupted): its result is the task's.
static void
s_fetch_done (zc_httpget_fetch_t *fetch, zc_result_t *result, void *arg)
{
    s_task_t *task = arg;
    zc_httpget_fetch_destroy (&task->fetch);
    s_task_finish (task->runner, task, result);
}

//  Starts an http_get (httpget.h): the URL, its one argument, is checked
//  again here, as a job may come from anywhere; method_timeout bounds
//  it, and the body is capped like exec's output.
static void
s_task_fetch (zc_runner_t *self, s_task_t *task, zlist_t *args)
{
    char *error = NULL;
    if (zlist_size (args) != 1)
        error = zc_strdup ("http_get takes exactly one argument: the URL");
    else {
        const char *why = "libcurl cannot be initialised";
        if (!self->http)
            self->http = zc_httpget_new (self->loop, &why);
        if (self->http)
            task->fetch = zc_httpget_start (self->http, zlist_first (args), task->method_timeout,
                                            self->max_output, s_fetch_done, task, &error);
        else
            error = zsys_sprintf ("http_get: %s", why);
    }
    if (!task->fetch) {
        s_task_answer (self, task, ZC_STATE_FAILED, error);
        free (error);
        return;
    }
    task->state = ZC_TASK_RUNNING;      //  no process to kill after a crash
    zframe_destroy (&task->payload);
    s_task_save (self, task);
    s_audit (task, "started", NULL);
    zc_debug ("fetching %s for %s", task->job_id, task->origin);
    task->ack_timer = zloop_timer (self->loop, S_ACK_GRACE_MS, 1, s_ack_timer, task);
}

//  A copy ended: its result is the task's.
static void
s_copy_done (zc_copysend_t *copy, zc_result_t *result, void *arg)
{
    s_task_t *task = arg;
    if (task->result) {
        zc_result_destroy (&result);      //  cancelled meanwhile
        return;
    }
    if (task->stream)
        zc_streamout_close (task->stream);
    s_task_finish (task->runner, task, result);
}

//  A copy's progress goes to its origin as lines on its output stream.
static void
s_copy_progress (zc_copysend_t *copy, uint64_t stored, uint64_t total, void *arg)
{
    s_task_t *task = arg;
    if (!task->stream || task->result)
        return;
    char line [80];
    int length = snprintf (line, sizeof line, "{\"stored\":%" PRIu64 ",\"total\":%" PRIu64 "}\n", stored, total);
    zc_streamout_write (task->stream, ZC_STREAM_STDOUT, (const uint8_t *) line, (size_t) length);
}

//  Starts (or, after a restart of this agent, takes up again) a copy:
//  args [SOURCE, NODE, DESTINATION]. Its payload stays with the task
//  while it runs, for that.
static void
s_task_copy (zc_runner_t *self, s_task_t *task, zlist_t *args, bool resumed)
{
    const char *source = zlist_first (args), *node = zlist_next (args), *destination = zlist_next (args);
    char *error = NULL;
    if (zlist_size (args) != 3 || !zc_name_valid (node))
        error = zc_strdup ("copy takes three arguments: the source path, the destination node and path");
    else
    if (!self->submit)
        error = zc_strdup ("copy: this agent cannot send jobs");
    if (!error) {
        if (!resumed)
            s_stream_open (self, task);     //  the progress, for the origin
        zc_copysend_spec_t spec = {
            .loop = self->loop, .seal = self->seal, .name = self->name, .source = source, .node = node,
            .destination = destination, .send = self->send, .send_arg = self->arg,
            .submit = self->submit, .submit_arg = self->submit_arg, .done = s_copy_done, .progress = s_copy_progress, .arg = task
        };
        task->copy = zc_copysend_start (&spec, &error);
    }
    if (!task->copy) {
        if (task->stream)
            zc_streamout_close (task->stream);
        s_task_answer (self, task, ZC_STATE_FAILED, error);
        free (error);
        return;
    }
    task->copy_handle = zlistx_add_end (self->copies, task);
    task->state = ZC_TASK_RUNNING;      //  the payload stays: a restart takes the copy up again
    s_task_save (self, task);
    s_audit (task, resumed? "resumed": "started", NULL);
    if (!resumed)
        task->ack_timer = zloop_timer (self->loop, S_ACK_GRACE_MS, 1, s_ack_timer, task);
}

//  Runs a received task: decodes its payload and starts its method.
static void
s_task_start (zc_runner_t *self, s_task_t *task)
{
    zlist_t *args = NULL;
    uint8_t *data = NULL;
    size_t data_size = 0;
    if (zc_wire_req_payload_decode (task->payload, &args, &data, &data_size) != 0)
        s_task_answer (self, task, ZC_STATE_FAILED, "malformed job payload");
    else
    if (task->method == ZC_METHOD_PING)
        s_task_answer (self, task, ZC_STATE_DONE, NULL);
    else
    if (task->method == ZC_METHOD_CANCEL && zlist_size (args) == 1)
        s_task_cancel (self, task, zlist_first (args));
    else
    if (task->method == ZC_METHOD_JOBS)
        s_task_jobs (self, task);
    else
    if (task->method == ZC_METHOD_HTTP_GET)
        s_task_fetch (self, task, args);
    else
    if (task->method == ZC_METHOD_COPY)
        s_task_copy (self, task, args, task->state == ZC_TASK_RUNNING);
    else
    if (task->method == ZC_METHOD_COPY_OPEN)
        s_task_finish (self, task, zc_copysink_open (self->copysink, &task->id, task->origin, args));
    else
    if (task->method == ZC_METHOD_COPY_CLOSE)
        s_task_finish (self, task, zc_copysink_close (self->copysink, task->origin, args));
    else
    if (task->method == ZC_METHOD_CALL && !s_function (self, zlist_first (args))) {
        char reason [ZC_NAME_SIZE + 40];
        const char *name = zlist_first (args);
        snprintf (reason, sizeof reason, "no function %.*s on this node", ZC_NAME_MAX, name? name: "?");
        s_task_answer (self, task, ZC_STATE_FAILED, reason);
    }
    else
    if (s_streams (task->method) && *task->relay) {
        char reason [120];
        snprintf (reason, sizeof reason, "%s cannot go through a relay (relay_via): its output streams"
                  " to the origin", zc_method_name (task->method));
        s_task_answer (self, task, ZC_STATE_FAILED, reason);
    }
    else
    if ((s_spawns (task->method) && zlist_size (args) == 1) || task->method == ZC_METHOD_CALL) {
        //  A call runs its function's command; the function's name and
        //  arguments become "$0", "$1", ...: words, never shell code.
        bool streams = s_streams (task->method), call = task->method == ZC_METHOD_CALL;
        char *command = task->method == ZC_METHOD_TAIL? s_tail_command (zlist_first (args))
                      : zc_strdup (call? s_function (self, zlist_first (args)): zlist_first (args));
        zc_exec_spec_t spec = {
            .command = command, .params = call? args: NULL, .data = data, .data_size = data_size,
            .timeout = task->method_timeout, .max_output = self->max_output,
            .context = self->exec_context, .job_id = task->job_id, .origin = task->origin,
            .output = streams? s_task_output: NULL, .output_arg = task
        };
        char *error = NULL;
        if (streams)
            s_stream_open (self, task);
        task->proc = zc_exec_start (self->loop, &spec, s_task_done, task, &error);
        free (command);
        if (task->proc) {
            //  What is needed to kill it after a crash of this agent.
            task->state = ZC_TASK_RUNNING;
            task->pgid = zc_exec_pgid (task->proc);
            task->start_ticks = zc_exec_start_ticks (task->proc);
            zframe_destroy (&task->payload);
            s_task_save (self, task);
            s_audit (task, "started", NULL);
            zc_debug ("running %s for %s", task->job_id, task->origin);
            task->ack_timer = zloop_timer (self->loop, S_ACK_GRACE_MS, 1, s_ack_timer, task);
        }
        else {
            if (task->stream)
                zc_streamout_close (task->stream);
            s_task_answer (self, task, ZC_STATE_FAILED, error);
            free (error);
        }
    }
    else {
        char reason [120];
        if (zc_method_name (task->method))
            snprintf (reason, sizeof reason, "method %s with these arguments is not supported by this agent",
                      zc_method_name (task->method));
        else
            snprintf (reason, sizeof reason, "method %d is not known to this agent (one of a later release?)",
                      (int) task->method);
        s_task_answer (self, task, ZC_STATE_FAILED, reason);
    }
    zlist_destroy (&args);
    free (data);
}

static const char *s_schedule_problem (s_task_t *task);
static void s_schedule_begin (zc_runner_t *self, s_task_t *task);

//  A job that acts outside (a process, an HTTP request) is stored as
//  starting and started after the commit; any other is answered at once.
//  (A schedule it carries that cannot run here fails it first.)
static void
s_task_prepare (zc_runner_t *self, s_task_t *task)
{
    const char *problem = s_schedule_problem (task);
    if (problem) {
        s_task_answer (self, task, ZC_STATE_FAILED, problem);
        return;
    }
    zlist_t *args = NULL;
    uint8_t *data = NULL;
    size_t data_size = 0;
    bool readable = zc_wire_req_payload_decode (task->payload, &args, &data, &data_size) == 0;
    bool spawns = readable && ((zlist_size (args) == 1 && (s_spawns (task->method) || task->method == ZC_METHOD_HTTP_GET))
                            || (task->method == ZC_METHOD_CALL && s_function (self, zlist_first (args))));
    zc_policy_verdict_t verdict = { .allowed = true };
    if (readable && self->policy) {
        //  The command a policy rule looks at: the shell command, path,
        //  url, source or function name, all first arguments; other
        //  methods have none.
        //  A copy's jobs to its destination are judged as a copy of the
        //  destination path (their first argument).
        bool copy_end = task->method == ZC_METHOD_COPY_OPEN || task->method == ZC_METHOD_COPY_CLOSE;
        const char *method = copy_end? "copy": zc_method_name (task->method);
        bool has_command = task->method == ZC_METHOD_EXEC || task->method == ZC_METHOD_EXEC_STREAM
                        || task->method == ZC_METHOD_TAIL || task->method == ZC_METHOD_HTTP_GET
                        || task->method == ZC_METHOD_COPY || task->method == ZC_METHOD_CALL || copy_end;
        const char *command = has_command? zlist_first (args): NULL;
        //  An http_get's URL as it is fetched (httpget.h).
        char *url = task->method == ZC_METHOD_HTTP_GET && command? zc_httpget_url_normal (command): NULL;
        zc_policy_check (self->policy, task->origin, method? method: "?", url? url: command, &verdict);
        free (url);
    }
    zlist_destroy (&args);
    free (data);
    //  A copy reads and writes with the agent's own rights: an agent that
    //  runs jobs as another user copies only what a policy allows.
    const char *job_user = zc_exec_context_switched_user (self->exec_context);
    if (verdict.allowed && !self->policy && job_user
    &&  (task->method == ZC_METHOD_COPY || task->method == ZC_METHOD_COPY_OPEN
         || task->method == ZC_METHOD_COPY_CLOSE)) {
        snprintf (verdict.reason, sizeof verdict.reason, "copy refused: jobs here run as %.64s, but a copy"
                  " reads and writes as the agent itself; a policy must allow the paths meant", job_user);
        verdict.allowed = false;
    }
    if (!verdict.allowed) {
        zc_warn_untapped ("refused job %s from %s: %s", task->job_id, task->origin, verdict.reason);
        s_audit (task, "refused", "reason=policy");
        s_denied (self, task->job_id, task->origin, task->relay, task->method, "policy", verdict.reason);
        s_task_answer (self, task, ZC_STATE_DENIED, verdict.reason);
        return;
    }
    if (!spawns) {
        s_task_start (self, task);
        return;
    }
    task->state = ZC_TASK_STARTING;
    s_task_save (self, task);
    zlist_append (self->starting, task);
    s_schedule_begin (self, task);
}

static s_task_t *
s_task_new (zc_runner_t *self, const char *key, const zc_id_t *id, const char *origin)
{
    s_task_t *task = zc_calloc (1, sizeof *task);
    snprintf (task->key, sizeof task->key, "%s", key);
    zc_job_id_format (id, self->name, task->job_id);
    task->id = *id;
    snprintf (task->origin, sizeof task->origin, "%s", origin);
    task->runner = self;
    task->ack_timer = -1;
    zhashx_insert (self->tasks, key, task);
    return task;
}

//  ---------------------------------------------------------------------
//  Schedules (schedule.h): run 0 is the job received; run k is a task of
//  its own (key ULID_k.origin) made here when it is due, stored as
//  received and prepared like a job that came (policy, then stored as
//  starting and spawned after the commit), in the batch that advances
//  the schedule: never lost, never run twice.

//  The schedule a task's payload carries; count 0 when none.
static zc_schedule_spec_t
s_payload_schedule (zframe_t *payload)
{
    zc_schedule_spec_t schedule;
    if (!payload || zc_wire_req_payload_schedule (payload, &schedule) != 0)
        memset (&schedule, 0, sizeof schedule);
    return schedule;
}

//  Why the schedule a task carries cannot run here, or NULL. (The
//  origin checks the same; a job may come from anywhere.)
static const char *
s_schedule_problem (s_task_t *task)
{
    if (!s_payload_schedule (task->payload).count)
        return NULL;
    if (task->method != ZC_METHOD_EXEC && task->method != ZC_METHOD_CALL && task->method != ZC_METHOD_HTTP_GET)
        return "schedule: only exec, call and http_get jobs can be scheduled";
    if (*task->relay)
        return "schedule: a scheduled job cannot go through a relay (relay_via)";
    return NULL;
}

//  Answers the runs of 'schedule' from 'from' on that have no task yet
//  (but run 'except') with 'state' and 'error'; no run of it starts any
//  more. Returns how many it answered.
static size_t
s_schedule_answer_runs (zc_runner_t *self, zc_schedule_t *schedule, uint32_t from, uint32_t except,
                        zc_state_t state, const char *error)
{
    size_t answered = 0;
    zc_schedules_stop (self->schedules, schedule);
    for (uint32_t run = from; run < schedule->record.schedule.count; run++) {
        zc_id_t id;
        char key [ZC_JOB_ID_MAX];
        if (run == except || zc_schedule_run_key (schedule, run, &id, key) != 0 || s_find_task (self, key))
            continue;
        s_task_t *task = s_task_new (self, key, &id, schedule->origin);
        task->state = ZC_TASK_RECEIVED;
        task->method = schedule->record.method;
        task->method_timeout = schedule->record.method_timeout;
        task->expire = schedule->record.expire;
        s_task_answer (self, task, state, error);
        answered++;
    }
    return answered;
}

//  Run 0 of a schedule ended without starting it: it was refused (the
//  task still has its 'payload'), or was cancelled before it came and
//  came now ('req', with its opened 'payload'). Nothing of it will run,
//  and the later runs are answered at once with run 0's fate. Once: the
//  schedule is then kept as done. Not for a run 0 that came after its
//  expire: its origin gave it and its later runs up already.
static void
s_schedule_unstarted (zc_runner_t *self, s_task_t *task, zframe_t *payload, const zc_wire_t *req)
{
    if (!payload || !task->result || task->result->state == ZC_STATE_EXPIRED
    ||  zc_schedules_lookup (self->schedules, task->key))
        return;
    zc_schedule_spec_t spec = s_payload_schedule (payload);
    if (spec.count < 2)
        return;
    zc_schedule_record_t record = {
        .method = req? req->method: task->method, .expire = req? req->expire: task->expire,
        .method_timeout = req? req->method_timeout: task->method_timeout,
        .schedule = spec, .next = 1, .start_ms = zc_wall_ms ()
    };
    zc_schedule_t *schedule = zc_schedules_add (self->schedules, task->key, &record);
    if (!schedule)
        return;
    const zc_result_t *result = task->result;
    char *error = zsys_sprintf ("not run: run 0 of its schedule ended %s%s%s", zc_state_name (result->state),
                                result->error? ": ": "", result->error? result->error: "");
    size_t answered = s_schedule_answer_runs (self, schedule, 1, UINT32_MAX, result->state, error);
    free (error);
    zc_debug ("schedule of %s: run 0 did not start; %zu later run(s) answered", task->job_id, answered);
}

//  Run 0 is stored as starting: its schedule begins, its clock from now.
//  (Again after a restart that found it received: it keeps its own.)
static void
s_schedule_begin (zc_runner_t *self, s_task_t *task)
{
    zc_schedule_spec_t spec = s_payload_schedule (task->payload);
    zlist_t *args = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    if (!spec.count || zc_schedules_lookup (self->schedules, task->key)
    ||  zc_wire_req_payload_decode (task->payload, &args, &data, &size) != 0)
        return;
    //  The later runs get the payload without its schedule.
    zc_schedule_record_t record = {
        .method = task->method, .method_timeout = task->method_timeout, .expire = task->expire,
        .schedule = spec, .next = 1, .start_ms = zc_wall_ms (),
        .payload = zc_wire_req_payload (args, data, size)
    };
    zlist_destroy (&args);
    free (data);
    if (record.payload && zc_schedules_add (self->schedules, task->key, &record)) {
        char detail [80];
        snprintf (detail, sizeof detail, "runs=%u interval=%u", spec.count, spec.interval);
        s_audit (task, "scheduled", detail);
        s_schedule_arm (self);
    }
    zframe_destroy (&record.payload);
}

//  The cancel of run 'id' of the origin of 'cancel': when it is a run of
//  a schedule, the runs of it still to come are answered cancelled (the
//  caller takes care of run 'id' itself). Returns how many.
static size_t
s_schedule_cancel (zc_runner_t *self, s_task_t *cancel, const zc_id_t *id)
{
    uint32_t run;
    zc_schedule_t *schedule = zc_schedules_find (self->schedules, id, cancel->origin, &run);
    if (!schedule || schedule->record.next >= schedule->record.schedule.count)
        return 0;
    char by [ZC_NAME_SIZE + 60];
    snprintf (by, sizeof by, "cancelled by %s with run %u of its schedule", cancel->origin, run);
    return s_schedule_answer_runs (self, schedule, schedule->record.next, run, ZC_STATE_CANCELLED, by);
}

//  True while the run before a schedule's next one has not ended: runs
//  of a schedule never overlap.
static bool
s_schedule_busy (zc_schedule_t *schedule, void *arg)
{
    zc_runner_t *self = arg;
    zc_id_t id;
    char key [ZC_JOB_ID_MAX];
    if (schedule->record.next == 0 || zc_schedule_run_key (schedule, schedule->record.next - 1, &id, key) != 0)
        return false;
    s_task_t *task = zhashx_lookup (self->tasks, key);
    return task && !task->result;
}

//  Starts the next run of a schedule, due now.
static void
s_schedule_run (zc_runner_t *self, zc_schedule_t *schedule, uint64_t wall)
{
    uint32_t run = schedule->record.next;
    zc_id_t id;
    char key [ZC_JOB_ID_MAX];
    if (zc_schedule_run_key (schedule, run, &id, key) != 0) {
        zc_schedules_stop (self->schedules, schedule);
        return;
    }
    s_task_t *task = s_find_task (self, key);
    if (task) {
        //  Cancelled before its schedule came here: so are the rest.
        zc_schedules_advance (self->schedules, schedule);
        if (task->result && task->result->state == ZC_STATE_CANCELLED) {
            char by [ZC_NAME_SIZE + 60];
            snprintf (by, sizeof by, "cancelled by %s with run %u of its schedule", schedule->origin, run);
            s_schedule_answer_runs (self, schedule, run + 1, UINT32_MAX, ZC_STATE_CANCELLED, by);
        }
        return;
    }
    task = s_task_new (self, key, &id, schedule->origin);
    task->state = ZC_TASK_RECEIVED;
    task->method = schedule->record.method;
    task->method_timeout = schedule->record.method_timeout;
    task->expire = schedule->record.expire;
    task->payload = zframe_dup (schedule->record.payload);
    zc_schedules_advance (self->schedules, schedule);
    s_task_save (self, task);
    char detail [ZC_JOB_ID_MAX + 40];
    snprintf (detail, sizeof detail, "schedule=%s run=%u", schedule->key, run);
    s_audit (task, "received", detail);
    //  Late (this agent was down when it was due) by more than its
    //  expire: not run, as a job that came that late would not be.
    if (wall > zc_id_time_ms (&id) + (uint64_t) task->expire * 1000 + (uint64_t) (self->skew * 1000)) {
        s_audit (task, "refused", "reason=expired");
        s_task_answer (self, task, ZC_STATE_EXPIRED, "its time passed while this agent was down, longer"
                                                     " ago than its expire; not run");
    }
    else
        s_task_prepare (self, task);
}

static int
s_schedule_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_runner_t *self = arg;
    self->schedule_timer = -1;
    uint64_t wall = zc_wall_ms ();
    zc_schedule_t *schedule;
    while ((schedule = zc_schedules_due (self->schedules, wall, s_schedule_busy, self)))
        s_schedule_run (self, schedule, wall);
    s_schedule_arm (self);
    return 0;
}

//  Sets the timer for the next run due that may start (the wall clock is
//  looked at again at least every S_SCHEDULE_CHECK_MS, as it may be set).
static void
s_schedule_arm (zc_runner_t *self)
{
    if (self->schedule_timer != -1) {
        zloop_timer_end (self->loop, self->schedule_timer);
        self->schedule_timer = -1;
    }
    uint64_t due = zc_schedules_next_due (self->schedules, s_schedule_busy, self);
    if (!due)
        return;
    uint64_t now = zc_wall_ms (), delay = due > now? due - now: 0;
    if (delay > S_SCHEDULE_CHECK_MS)
        delay = S_SCHEDULE_CHECK_MS;
    self->schedule_timer = zloop_timer (self->loop, delay? (size_t) delay: 1, 1, s_schedule_timer, self);
}

//  A job arrives. A new one is stored and run; a job finished within
//  S_ACK_GRACE_MS sends only its REPLY, which the origin takes as the ACK
//  too (fewer messages, fewer bytes on slow links). A resend is ACKed at
//  once, and gets its result again when there is one; it never runs twice.
static int s_recall_task (const char *key, const void *value, size_t size, void *arg);

//  A copy of a job that must not run, and is not stored: it may not even
//  come from its claimed origin. Its sender gets a denied result flagged
//  REFUSED, which a later result of the job replaces (a hub may have sent
//  a forged copy ahead of the real one). Logged once per origin and
//  minute; every refusal goes to the audit log.
static void
s_refuse (zc_runner_t *self, zc_wire_t *msg, const char *origin, const char *relay,
          const char *reason)
{
    self->refused++;
    char job_id [ZC_JOB_ID_MAX];
    zc_job_id_format (&msg->id, self->name, job_id);
    int64_t now = zclock_mono ();
    if (now - self->refusals_window > 60000) {
        zhashx_purge (self->refusals_logged);
        self->refusals_window = now;
    }
    if (!zhashx_lookup (self->refusals_logged, origin)) {
        zc_warn_untapped ("refused job %s from %s%s%s: %s (more from %s this minute are not logged)",
                          job_id, origin, *relay? " via ": "", relay, reason, origin);
        zhashx_insert (self->refusals_logged, origin, (void *) "");
    }
    zc_audit ("refused", job_id, origin, self->name, zc_method_name (msg->method), "reason=authentication");
    s_denied (self, job_id, origin, relay, msg->method, "authentication", reason);
    zc_wire_t *reply = zc_runner_refusal (self->seal, self->name, &msg->id, origin, relay, reason);
    self->send (&reply, self->arg);
}

void
zc_runner_request (zc_runner_t *self, zc_wire_t *msg)
{
    //  A job that came through a relay names its origin; the relay
    //  gets the answers.
    bool relayed = (msg->flags & ZC_FLAG_RELAYED) && zlist_size (msg->names);
    const char *origin = relayed? zlist_first (msg->names): msg->from;
    const char *relay = relayed? msg->from: "";
    //  Before anything else: is it what its origin made, for us?
    zframe_t *payload = NULL;
    if (self->seal) {
        zc_seal_about_t about = {
            .id = &msg->id, .origin = origin, .target = self->name, .relay = relay,
            .method = msg->method, .method_timeout = msg->method_timeout, .expire = msg->expire
        };
        char reason [256];
        if (zc_seal_open_req (self->seal, &about, msg->payload, zc_wire_tag (msg, self->name),
                              &payload, reason, sizeof reason) != 0) {
            s_refuse (self, msg, origin, relay, reason);
            return;
        }
    }
    else
    if (msg->payload)
        payload = zframe_dup (msg->payload);
    char key [ZC_JOB_ID_MAX];
    zc_job_id_format (&msg->id, origin, key);
    s_task_t *task = zhashx_lookup (self->tasks, key);
    if (!task) {
        int found = zc_store_get (self->store, ZC_TABLE_INBOX, key, s_recall_task, self);
        if (found == -1) {
            //  Whether it ran cannot be told: not run, not ACKed; the
            //  origin sends it again.
            zc_error ("store: cannot look up job %s; ignored for now", key);
            zframe_destroy (&payload);
            return;
        }
        task = found? zhashx_lookup (self->tasks, key): NULL;
        if (found && !task) {
            zframe_destroy (&payload);
            return;             //  unreadable record: logged; never run again
        }
    }
    if (task) {
        //  A resend or a replay, maybe through another relay now: ACKed
        //  and answered there, never run again. (Run 0 of a schedule,
        //  cancelled before it came, has its later runs answered now.)
        s_schedule_unstarted (self, task, payload, msg);
        zframe_destroy (&payload);
        if (!streq (task->relay, relay)) {
            snprintf (task->relay, sizeof task->relay, "%s", relay);
            s_task_save (self, task);
        }
        s_send_notice (self, ZC_MSG_ACK, task);
        if (task->result)
            s_send_reply (self, task);
        return;
    }
    task = s_task_new (self, key, &msg->id, origin);
    if (relayed)
        snprintf (task->relay, sizeof task->relay, "%s", msg->from);
    task->state = ZC_TASK_RECEIVED;
    task->method = msg->method;
    task->method_timeout = msg->method_timeout;
    task->expire = msg->expire;
    task->payload = payload;
    s_task_save (self, task);
    s_audit (task, "received", NULL);
    //  Too old (or from the future) to be told apart from a replay once
    //  its record is forgotten: refused, never run.
    uint64_t created = zc_id_time_ms (&msg->id), now = zc_wall_ms ();
    uint64_t skew_ms = (uint64_t) (self->skew * 1000);
    if (now > created + (uint64_t) msg->expire * 1000 + skew_ms) {
        s_audit (task, "refused", "reason=expired");
        s_denied (self, task->job_id, origin, relay, msg->method, "expired", "arrived after its expire time; not run");
        s_task_answer (self, task, ZC_STATE_EXPIRED, "arrived after its expire time; not run");
    }
    else
    if (created > now + skew_ms) {
        s_audit (task, "refused", "reason=future");
        s_denied (self, task->job_id, origin, relay, msg->method, "future", "created in the future (check the clocks); not run");
        s_task_answer (self, task, ZC_STATE_DENIED, "created in the future (check the clocks); not run");
    }
    else
        s_task_prepare (self, task);
}

//  The store committed: jobs waiting for that are started now, and tasks
//  stored as finished and ACKed leave memory.
void
zc_runner_committed (zc_runner_t *self)
{
    s_task_t *task;
    while ((task = zlist_pop (self->starting)))
        s_task_start (self, task);
    while ((task = zlist_pop (self->retiring)))
        zhashx_delete (self->tasks, task->key);
}

//  A task finished and ACKed: memory keeps it only until it is committed.
static void
s_retire (zc_runner_t *self, s_task_t *task)
{
    zlist_append (self->retiring, task);
}

//  A task from its stored record, in memory; NULL (logged) when the record
//  is unreadable.
static s_task_t *
s_task_from_record (zc_runner_t *self, const char *key, const void *value, size_t size)
{
    zframe_t *frame = zframe_new (value, size);
    zc_task_record_t record;
    zc_id_t id;
    char origin [ZC_NAME_SIZE];
    zc_result_t *result = NULL;
    if (zc_wire_task_record_decode (frame, &record) != 0
    ||  zc_job_id_parse (key, &id, origin) != 0
    ||  (record.result && zc_wire_result_payload_decode (record.result, &result) != 0)) {
        zc_error ("store: inbox record %s is unreadable; skipped", key);
        zframe_destroy (&frame);
        zframe_destroy (&record.payload);
        zframe_destroy (&record.result);
        return NULL;
    }
    zframe_destroy (&frame);
    zframe_destroy (&record.result);
    s_task_t *task = s_task_new (self, key, &id, origin);
    task->state = record.state;
    task->method = record.method;
    task->method_timeout = record.method_timeout;
    task->expire = record.expire;
    task->payload = record.payload;
    task->pgid = record.pgid;
    task->start_ticks = record.start_ticks;
    task->result = result;
    task->reply_acked = record.reply_acked;
    snprintf (task->relay, sizeof task->relay, "%s", record.relay);
    task->reply_next_try = 1;       //  an unACKed result is due at once
    return task;
}

//  A REQ came again for a task only the store remembers (finished and
//  ACKed): it is brought back into memory until the next commit.
static int
s_recall_task (const char *key, const void *value, size_t size, void *arg)
{
    zc_runner_t *self = arg;
    s_task_t *task = s_task_from_record (self, key, value, size);
    if (task && task->reply_acked)
        s_retire (self, task);
    return 0;
}

//  Brings back one stored task, unless it is finished and ACKed: then its
//  record is all that is needed (to refuse a resend), and stays on disk.
static int
s_load_task (const char *key, const void *value, size_t size, void *arg)
{
    zc_runner_t *self = arg;
    zc_task_record_t fixed;
    if (zc_wire_task_record_peek (value, size, &fixed) == 0
    &&  fixed.state == ZC_TASK_FINISHED && fixed.reply_acked)
        return 0;
    s_task_t *task = s_task_from_record (self, key, value, size);
    if (!task)
        return 0;
    if (task->state == ZC_TASK_RUNNING && task->method == ZC_METHOD_COPY && task->payload) {
        //  A copy goes on from where its destination is (copy.h).
        zc_info ("%s was copying when the agent stopped; it goes on", task->job_id);
        s_task_start (self, task);
        return 0;
    }
    if (task->state == ZC_TASK_RUNNING || task->state == ZC_TASK_STARTING) {
        //  It ran, or may have started, when this agent stopped: what is
        //  left of it is killed, and it is reported interrupted, never
        //  run again.
        int killed = task->state == ZC_TASK_RUNNING? zc_exec_kill_leftovers (task->pgid, task->start_ticks): 0;
        zc_info ("%s was %s when the agent stopped; killed %d leftover process(es); "
                 "reported interrupted", task->job_id,
                 task->state == ZC_TASK_RUNNING? "running": "starting", killed);
        zc_result_t *interrupted = zc_result_new ();
        interrupted->state = ZC_STATE_INTERRUPTED;
        interrupted->finished_ms = zc_wall_ms ();
        interrupted->error = zc_strdup (task->state == ZC_TASK_RUNNING? "the agent stopped while the job ran"
                                     : "the agent stopped as the job was starting; it may have run");
        task->result = interrupted;
        task->state = ZC_TASK_FINISHED;
        task->pgid = 0;
        s_task_save (self, task);
        s_audit (task, "finished", "state=interrupted");
    }
    else
    if (task->state == ZC_TASK_RECEIVED) {
        s_task_prepare (self, task);
        return 0;
    }
    if (task->result && !task->reply_acked)
        task->unacked_handle = zlistx_add_end (self->unacked, task);
    return 0;
}

int
zc_runner_load (zc_runner_t *self)
{
    //  The schedules first: a run 0 that starts again keeps its own.
    if (zc_schedules_load (self->schedules) == -1)
        zc_error ("store: cannot read the schedules; their later runs start after the next restart");
    zc_store_each (self->store, ZC_TABLE_INBOX, s_load_task, self);
    s_schedule_arm (self);
    return (int) zhashx_size (self->tasks);
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
zc_runner_on_ack (zc_runner_t *self, const zc_id_t *id, const char *origin, const char *relay)
{
    //  Only the peer the task answers to may acknowledge its result.
    s_task_t *task = s_lookup (self, id, origin);
    if (task && !streq (task->relay, relay? relay: ""))
        task = NULL;
    if (task && task->result && !task->reply_acked) {
        task->reply_acked = true;
        zlistx_delete (self->unacked, task->unacked_handle);
        task->unacked_handle = NULL;
        free (task->result->out);
        free (task->result->err);
        task->result->out = task->result->err = NULL;
        task->result->out_size = task->result->err_size = 0;
        s_task_save (self, task);
        s_audit (task, "delivered", NULL);
        if (task->state == ZC_TASK_FINISHED)
            s_retire (self, task);
    }
}

//  The origin (or the relay a job came through) is absent: the results
//  for it wait for its presence.
void
zc_runner_on_noroute (zc_runner_t *self, const zc_id_t *id, const char *name)
{
    //  PRESENCE makes them due at once; a PRESENCE lost on the way costs
    //  at most this wait.
    for (s_task_t *task = zlistx_first (self->unacked); task; task = zlistx_next (self->unacked))
        if (zc_id_equal (&task->id, id)
        &&  streq (*task->relay? task->relay: task->origin, name))
            task->reply_next_try = s_now (self) + S_NOROUTE_RETRY_MS;
}

//  Makes every unACKed result (for 'origin', or all when NULL) due now.
static void
s_resend_replies (zc_runner_t *self, const char *origin)
{
    for (s_task_t *task = zlistx_first (self->unacked); task; task = zlistx_next (self->unacked))
        if (!origin || streq (*task->relay? task->relay: task->origin, origin))
            task->reply_next_try = 1;
    zc_runner_tick (self, zclock_mono ());
}

//  Streams to 'origin' (all when NULL) send again what was not
//  acknowledged.
static void
s_resend_streams (zc_runner_t *self, const char *origin)
{
    for (s_task_t *task = zlistx_first (self->streams); task; task = zlistx_next (self->streams))
        if (!origin || streq (task->origin, origin))
            zc_streamout_resend (task->stream);
    for (s_task_t *task = zlistx_first (self->copies); task; task = zlistx_next (self->copies))
        if (task->copy)
            zc_copysend_resend (task->copy, origin);
}

void
zc_runner_on_presence (zc_runner_t *self, const char *name)
{
    s_resend_streams (self, name);
    s_resend_replies (self, name);
}

void
zc_runner_link_up (zc_runner_t *self)
{
    s_resend_streams (self, NULL);
    s_resend_replies (self, NULL);
}

void
zc_runner_on_stream_ack (zc_runner_t *self, const zc_id_t *id, const char *origin, uint64_t seq)
{
    s_task_t *task = s_lookup (self, id, origin);
    if (task && task->stream) {
        zc_streamout_on_ack (task->stream, seq);
        return;
    }
    for (task = zlistx_first (self->copies); task; task = zlistx_next (self->copies))
        if (task->copy && zc_copysend_on_ack (task->copy, id, origin, seq))
            return;
}

bool
zc_runner_on_stream_chunk (zc_runner_t *self, zc_wire_t *msg)
{
    return zc_copysink_on_chunk (self->copysink, msg);
}

bool
zc_runner_awaits (zc_runner_t *self, const char *job_id)
{
    for (s_task_t *task = zlistx_first (self->copies); task; task = zlistx_next (self->copies))
        if (task->copy && zc_copysend_awaits (task->copy, job_id))
            return true;
    return false;
}

void
zc_runner_job_final (zc_runner_t *self, const char *job_id, zc_state_t state, const char *out, const char *error)
{
    for (s_task_t *task = zlistx_first (self->copies); task; task = zlistx_next (self->copies))
        if (task->copy && zc_copysend_job_final (task->copy, job_id, state, out, error))
            return;
}

void
zc_runner_tick (zc_runner_t *self, uint64_t now)
{
    self->tick_now = now? now: 1;
    for (s_task_t *task = zlistx_first (self->streams); task; task = zlistx_next (self->streams))
        zc_streamout_tick (task->stream, now);
    //  Copies ended since the last tick go (not from their own callback).
    zlist_t *ended = zlist_new ();
    for (s_task_t *task = zlistx_first (self->copies); task; task = zlistx_next (self->copies))
        if (task->result)
            zlist_append (ended, task);
        else
            zc_copysend_tick (task->copy, now);
    for (s_task_t *task = zlist_first (ended); task; task = zlist_next (ended)) {
        zlistx_delete (self->copies, task->copy_handle);
        task->copy_handle = NULL;
        zc_copysend_destroy (&task->copy);
    }
    zlist_destroy (&ended);
    for (s_task_t *task = zlistx_first (self->unacked); task; task = zlistx_next (self->unacked))
        if (task->reply_next_try && now >= task->reply_next_try)
            s_send_reply (self, task);
    self->tick_now = 0;
}

//  A prune scan's state, for s_prune_record.
typedef struct {
    zc_runner_t *runner;
    uint64_t wall;
    char last [ZC_JOB_ID_MAX];
} s_prune_t;

//  Deletes one stored task if it is finished, ACKed, and past its expire
//  plus skew (tasks in memory wait for a later scan).
static int
s_prune_record (const char *key, const void *value, size_t size, void *arg)
{
    s_prune_t *prune = arg;
    zc_runner_t *self = prune->runner;
    snprintf (prune->last, sizeof prune->last, "%s", key);
    zc_task_record_t fixed;
    zc_id_t id;
    char origin [ZC_NAME_SIZE];
    if (zc_wire_task_record_peek (value, size, &fixed) != 0
    ||  zc_job_id_parse (key, &id, origin) != 0)
        return 0;               //  reported when it is loaded
    if (fixed.state == ZC_TASK_FINISHED && fixed.reply_acked
    &&  prune->wall > zc_id_time_ms (&id) + (uint64_t) ((fixed.expire + self->skew) * 1000)
    &&  !zhashx_lookup (self->tasks, key))
        zc_store_del (self->store, ZC_TABLE_INBOX, key);
    return 0;
}

//  Looks at up to S_PRUNE_BATCH stored tasks per call, going on where the
//  last call stopped, so a large store costs a bounded time per call.
void
zc_runner_prune (zc_runner_t *self)
{
    s_prune_t prune = { .runner = self, .wall = zc_wall_ms () };
    int visited = zc_store_scan (self->store, ZC_TABLE_INBOX, *self->prune_from? self->prune_from: NULL,
                                 S_PRUNE_BATCH, s_prune_record, &prune);
    if (visited == S_PRUNE_BATCH)
        snprintf (self->prune_from, sizeof self->prune_from, "%s", prune.last);
    else
        self->prune_from [0] = 0;
    zc_schedules_prune (self->schedules, prune.wall, self->skew);
}

size_t
zc_runner_remembered (zc_runner_t *self)
{
    return zhashx_size (self->tasks);
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

static int
s_test_stop (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
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

static int
s_test_found (const char *key, const void *value, size_t size, void *arg)
{
    return 0;
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

//  The refusals told (zc_runner_on_denied): "CAUSE METHOD ORIGIN; ...".
static void
s_test_denied (const char *job_id, const char *origin, const char *relay, const char *method,
               const char *cause, const char *reason, void *arg)
{
    char *told = arg;
    size_t used = strlen (told);
    snprintf (told + used, 256 - used, "%s%s %s %s", used? "; ": "", cause, method? method: "?", origin);
}

//  Schedules: the store is committed as the agent would, and REPLYs are
//  collected until 'want' came (or the guard ends the loop).
typedef struct {
    zc_store_t *store;
    zc_runner_t *runner;
    s_test_link_t *link;
    zlist_t *replies;           //  zc_wire_t * REPLY
    size_t want;
} s_test_pump_t;

static int
s_test_pump (zloop_t *loop, int timer_id, void *arg)
{
    s_test_pump_t *pump = arg;
    if (zc_store_pending (pump->store) && zc_store_commit (pump->store) == 0)
        zc_runner_committed (pump->runner);
    zc_wire_t *msg;
    while ((msg = zlist_pop (pump->link->sent))) {
        if (msg->type == ZC_MSG_REPLY)
            zlist_append (pump->replies, msg);
        else
            zc_wire_destroy (&msg);
    }
    return zlist_size (pump->replies) >= pump->want? -1: 0;
}

//  Runs the loop until 'want' REPLYs came or 'limit' ms passed; returns
//  the REPLYs (the caller destroys the list and them).
static zlist_t *
s_test_replies (zloop_t *loop, zc_store_t *store, zc_runner_t *runner, s_test_link_t *link,
                size_t want, size_t limit)
{
    s_test_pump_t pump = { .store = store, .runner = runner, .link = link, .replies = zlist_new (),
                           .want = want };
    int timer = zloop_timer (loop, 20, 0, s_test_pump, &pump);
    int guard = zloop_timer (loop, limit, 1, s_test_stop, NULL);
    if (s_test_pump (loop, timer, &pump) == 0)
        zloop_start (loop);
    zloop_timer_end (loop, timer);
    zloop_timer_end (loop, guard);
    return pump.replies;
}

//  The result of run 'run' of the schedule based on 'base' among
//  'replies', or NULL. *count gets how many REPLYs were for that run.
static zc_result_t *
s_test_run_result (zlist_t *replies, const zc_id_t *base, uint32_t interval, uint32_t run, int *count)
{
    zc_id_t id;
    zc_id_scheduled (base, interval, run, &id);
    zc_result_t *found = NULL;
    *count = 0;
    for (zc_wire_t *msg = zlist_first (replies); msg; msg = zlist_next (replies))
        if (zc_id_equal (&msg->id, &id)) {
            (*count)++;
            zc_result_destroy (&found);
            zc_wire_result_payload_decode (msg->payload, &found);
        }
    return found;
}

static void
s_test_replies_destroy (zlist_t **replies_p)
{
    zc_wire_t *msg;
    while ((msg = zlist_pop (*replies_p)))
        zc_wire_destroy (&msg);
    zlist_destroy (replies_p);
}

//  A REQ of 'method' (one argument) that carries a schedule.
static zc_wire_t *
s_test_scheduled (zc_method_t method, const char *command, uint32_t interval, uint32_t count)
{
    zc_wire_t *msg = s_test_request (method, command);
    zlist_t *args = zlist_new ();
    zlist_append (args, (void *) command);
    zc_schedule_spec_t schedule = { .interval = interval, .count = count };
    zframe_destroy (&msg->payload);
    msg->payload = zc_wire_req_payload_scheduled (args, NULL, 0, &schedule);
    zlist_destroy (&args);
    return msg;
}

static int
s_test_schedule (bool verbose)
{
    ZC_TEST_BEGIN;
    s_test_link_t link = { .sent = zlist_new () };
    zloop_t *loop = zloop_new ();
    char dir [] = "/tmp/zcnc-runner-schedule-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *store_dir = zsys_sprintf ("%s/store", dir);
    zc_store_t *store = zc_store_open (store_dir, false, NULL);
    zc_runner_t *runner = zc_runner_new (loop, store, "n1", 4096, 300, s_test_send, &link);
    char *marks = zsys_sprintf ("%s/marks", dir);
    char *command = zsys_sprintf ("echo \"$ZCNC_JOB_ID\" >> %s", marks);
    int count;

    //  [1, 3]: three runs, each with its derived ID, 1 s apart; the
    //  schedule is stored with run 0.
    zc_wire_t *job = s_test_scheduled (ZC_METHOD_EXEC, command, 1, 3);
    zc_runner_request (runner, job);
    char key [ZC_JOB_ID_MAX];
    zc_job_id_format (&job->id, "o1", key);
    ZC_CHECK (zc_store_commit (store) == 0);
    ZC_CHECK (zc_store_get (store, ZC_TABLE_SCHEDULE, key, s_test_found, NULL) == 1);
    zc_runner_committed (runner);
    zlist_t *replies = s_test_replies (loop, store, runner, &link, 3, 10000);
    ZC_CHECK (zlist_size (replies) == 3);
    uint64_t started [3] = { 0 };
    for (uint32_t run = 0; run < 3; run++) {
        zc_result_t *result = s_test_run_result (replies, &job->id, 1, run, &count);
        ZC_CHECK (result && count == 1 && result->state == ZC_STATE_DONE);
        started [run] = result? result->started_ms: 0;
        zc_result_destroy (&result);
        zc_id_t id;
        zc_id_scheduled (&job->id, 1, run, &id);
        zc_runner_on_ack (runner, &id, "o1", NULL);
    }
    ZC_CHECK (started [1] >= started [0] + 900 && started [2] >= started [1] + 900);
    s_test_replies_destroy (&replies);
    char *text = NULL;
    size_t size = 0;
    FILE *file = fopen (marks, "r");
    if (file) {
        text = zc_malloc (4096);
        size = fread (text, 1, 4095, file);
        text [size] = 0;
        fclose (file);
    }
    ZC_CHECK (text && size == 3 * (ZC_ULID_LEN + 4));       //  "ULID.n1\n" three times
    free (text);
    remove (marks);
    //  A copy of run 0 is ACKed and answered, and starts nothing again.
    zc_runner_request (runner, job);
    replies = s_test_replies (loop, store, runner, &link, 5, 1500);
    ZC_CHECK (zlist_size (replies) == 1);
    s_test_replies_destroy (&replies);
    zc_wire_destroy (&job);

    //  A restart finds run 1 of a schedule stored as starting and runs
    //  2 and 3 due while the agent was down: run 1 is reported
    //  interrupted, 2 and 3 run late, one after the other, once.
    zc_runner_destroy (&runner);
    zc_id_t base;
    zc_id_generate (&base);
    zc_id_shifted (&base, -5000, &base);
    zc_job_id_format (&base, "o1", key);
    zlist_t *args = zlist_new ();
    zlist_append (args, command);
    zc_schedule_record_t record = {
        .method = ZC_METHOD_EXEC, .method_timeout = 10, .expire = 60,
        .schedule = { .interval = 1, .count = 4 }, .next = 2, .start_ms = zc_id_time_ms (&base) + 500,
        .payload = zc_wire_req_payload (args, NULL, 0)
    };
    zlist_destroy (&args);
    zframe_t *frame = zc_wire_schedule_record (&record);
    zc_store_put (store, ZC_TABLE_SCHEDULE, key, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    zc_task_record_t starting = { .state = ZC_TASK_STARTING, .method = ZC_METHOD_EXEC, .expire = 60,
                                  .payload = record.payload };
    frame = zc_wire_task_record (&starting);
    zc_id_t run_id;
    char run_key [ZC_JOB_ID_MAX];
    zc_id_scheduled (&base, 1, 1, &run_id);
    zc_job_id_format (&run_id, "o1", run_key);
    zc_store_put (store, ZC_TABLE_INBOX, run_key, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    zframe_destroy (&record.payload);
    ZC_CHECK (zc_store_commit (store) == 0);
    runner = zc_runner_new (loop, store, "n1", 4096, 300, s_test_send, &link);
    ZC_CHECK (zc_runner_load (runner) >= 1);
    zc_runner_link_up (runner);
    replies = s_test_replies (loop, store, runner, &link, 3, 10000);
    ZC_CHECK (zlist_size (replies) == 3);
    zc_result_t *result = s_test_run_result (replies, &base, 1, 1, &count);
    ZC_CHECK (result && count == 1 && result->state == ZC_STATE_INTERRUPTED);
    zc_result_destroy (&result);
    result = s_test_run_result (replies, &base, 1, 2, &count);
    ZC_CHECK (result && count == 1 && result->state == ZC_STATE_DONE);
    uint64_t late = result? result->finished_ms: 0;
    zc_result_destroy (&result);
    result = s_test_run_result (replies, &base, 1, 3, &count);
    ZC_CHECK (result && count == 1 && result->state == ZC_STATE_DONE && result->started_ms >= late);
    zc_result_destroy (&result);
    for (uint32_t run = 1; run < 4; run++) {
        zc_id_scheduled (&base, 1, run, &run_id);
        zc_runner_on_ack (runner, &run_id, "o1", NULL);
    }
    s_test_replies_destroy (&replies);
    //  Once all started, nothing more runs, also after another restart;
    //  a run due longer ago than its expire (plus the skew) is not run.
    zc_runner_destroy (&runner);
    zc_id_t stale;
    zc_id_generate (&stale);
    zc_id_shifted (&stale, -400 * 1000, &stale);
    char stale_key [ZC_JOB_ID_MAX];
    zc_job_id_format (&stale, "o1", stale_key);
    args = zlist_new ();
    zlist_append (args, command);
    record = (zc_schedule_record_t) {
        .method = ZC_METHOD_EXEC, .method_timeout = 10, .expire = 1,
        .schedule = { .interval = 1, .count = 2 }, .next = 1, .start_ms = zc_id_time_ms (&stale),
        .payload = zc_wire_req_payload (args, NULL, 0)
    };
    zlist_destroy (&args);
    frame = zc_wire_schedule_record (&record);
    zc_store_put (store, ZC_TABLE_SCHEDULE, stale_key, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    zframe_destroy (&record.payload);
    ZC_CHECK (zc_store_commit (store) == 0);
    runner = zc_runner_new (loop, store, "n1", 4096, 300, s_test_send, &link);
    zc_runner_load (runner);
    replies = s_test_replies (loop, store, runner, &link, 2, 1200);
    ZC_CHECK (zlist_size (replies) == 1);
    result = s_test_run_result (replies, &stale, 1, 1, &count);
    ZC_CHECK (result && count == 1 && result->state == ZC_STATE_EXPIRED);
    ZC_CHECK_STR (result? result->error: NULL, "its time passed while this agent was down, longer ago than"
                                               " its expire; not run");
    zc_result_destroy (&result);
    s_test_replies_destroy (&replies);
    file = fopen (marks, "r");
    char line [128];
    count = 0;
    while (file && fgets (line, sizeof line, file))
        count++;
    if (file)
        fclose (file);
    ZC_CHECK (count == 2);

    //  Cancelling run 3 of [1, 6]: it and the runs after run 0 still to
    //  come are answered cancelled; nothing more runs.
    job = s_test_scheduled (ZC_METHOD_EXEC, "true", 1, 6);
    zc_runner_request (runner, job);
    replies = s_test_replies (loop, store, runner, &link, 1, 5000);
    ZC_CHECK (zlist_size (replies) == 1);
    s_test_replies_destroy (&replies);
    zc_id_scheduled (&job->id, 1, 3, &run_id);
    char run_job [ZC_JOB_ID_MAX];
    zc_job_id_format (&run_id, "n1", run_job);
    zc_wire_t *cancel = s_test_request (ZC_METHOD_CANCEL, run_job);
    zc_runner_request (runner, cancel);
    replies = s_test_replies (loop, store, runner, &link, 7, 2500);
    ZC_CHECK (zlist_size (replies) == 6);       //  runs 1 to 5, and the cancel's
    for (uint32_t run = 1; run < 6; run++) {
        result = s_test_run_result (replies, &job->id, 1, run, &count);
        ZC_CHECK (result && count == 1 && result->state == ZC_STATE_CANCELLED);
        ZC_CHECK_STR (result? result->error: NULL, run == 3? "cancelled by o1 before it came"
                                                 : "cancelled by o1 with run 3 of its schedule");
        zc_result_destroy (&result);
    }
    result = s_test_run_result (replies, &cancel->id, 1, 0, &count);
    ZC_CHECK (result && result->state == ZC_STATE_DONE && result->out
              && strstr ((char *) result->out, "; 4 later run(s) of its schedule cancelled"));
    zc_result_destroy (&result);
    s_test_replies_destroy (&replies);
    zc_wire_destroy (&cancel);
    zc_wire_destroy (&job);

    //  A schedule that cannot run here (a ping), or that policy denies:
    //  run 0 is refused and the later runs are answered at once.
    job = s_test_scheduled (ZC_METHOD_PING, "", 60, 3);
    zc_runner_request (runner, job);
    replies = s_test_replies (loop, store, runner, &link, 3, 1000);
    ZC_CHECK (zlist_size (replies) == 3);
    result = s_test_run_result (replies, &job->id, 60, 0, &count);
    ZC_CHECK_STR (result? result->error: NULL, "schedule: only exec, call and http_get jobs can be scheduled");
    zc_result_destroy (&result);
    result = s_test_run_result (replies, &job->id, 60, 2, &count);
    ZC_CHECK (result && result->state == ZC_STATE_FAILED);
    ZC_CHECK_STR (result? result->error: NULL, "not run: run 0 of its schedule ended failed: schedule: only"
                                               " exec, call and http_get jobs can be scheduled");
    zc_result_destroy (&result);
    s_test_replies_destroy (&replies);
    zc_wire_destroy (&job);
    char *error = NULL;
    zc_policy_t *policy = zc_policy_parse ("allow o1 ping\n", 14, "t.policy", &error);
    zc_runner_set_policy (runner, policy);
    job = s_test_scheduled (ZC_METHOD_EXEC, "true", 60, 4);
    zc_runner_request (runner, job);
    replies = s_test_replies (loop, store, runner, &link, 4, 1000);
    ZC_CHECK (zlist_size (replies) == 4);
    result = s_test_run_result (replies, &job->id, 60, 3, &count);
    ZC_CHECK (result && result->state == ZC_STATE_DENIED);
    ZC_CHECK_STR (result? result->error: NULL, "not run: run 0 of its schedule ended denied: no rule in"
                                               " t.policy matched");
    zc_result_destroy (&result);
    s_test_replies_destroy (&replies);
    zc_wire_destroy (&job);
    zc_runner_set_policy (runner, NULL);
    zc_policy_destroy (&policy);
    //  One that came after its expire: its origin gave up the later runs.
    job = s_test_scheduled (ZC_METHOD_EXEC, "true", 60, 4);
    zc_id_shifted (&job->id, -3600 * 1000, &job->id);
    zc_runner_request (runner, job);
    replies = s_test_replies (loop, store, runner, &link, 4, 500);
    ZC_CHECK (zlist_size (replies) == 1);
    s_test_replies_destroy (&replies);
    zc_wire_destroy (&job);

    zc_runner_destroy (&runner);
    zloop_destroy (&loop);
    zlist_destroy (&link.sent);
    zc_store_close (&store);
    free (store_dir);
    free (marks);
    free (command);
    char *cleanup = zsys_sprintf ("rm -rf %s", dir);
    ZC_CHECK (system (cleanup) == 0);
    free (cleanup);
    return ZC_TEST_END;
}

int
zc_runner_test (bool verbose)
{
    ZC_TEST_BEGIN;
    s_test_link_t link = { .sent = zlist_new () };
    zloop_t *loop = zloop_new ();
    char store_dir [] = "/tmp/zcnc-runner-store-XXXXXX";
    ZC_CHECK (mkdtemp (store_dir) != NULL);
    char *error = NULL;
    zc_store_t *store = zc_store_open (store_dir, false, &error);
    ZC_CHECK (store != NULL);
    zc_runner_t *runner = zc_runner_new (loop, store, "n1", 4096, 300, s_test_send, &link);
    zc_result_t *result = NULL;
    char denied [256] = "";
    zc_runner_on_denied (runner, s_test_denied, denied);

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
    zc_runner_on_ack (runner, &ping->id, "o1", NULL);
    zc_wire_destroy (&ping);

    //  An exec job runs once, even when its REQ comes again.
    char dir [] = "/tmp/zcnc-runner-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *command = zsys_sprintf ("echo ran >> %s/marker; echo hi", dir);
    zc_wire_t *job = s_test_request (ZC_METHOD_EXEC, command);
    zc_runner_request (runner, job);
    //  Nothing is spawned before the job is on disk.
    ZC_CHECK (zc_runner_running (runner) == 1);
    ZC_CHECK (zlist_size (link.sent) == 0);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_runner_committed (runner);
    int timer = zloop_timer (loop, 10, 0, s_test_reply_sent, &link);
    int guard = zloop_timer (loop, 10000, 1, s_test_reply_sent, &link);
    zloop_start (loop);
    zloop_timer_end (loop, timer);
    zloop_timer_end (loop, guard);
    sent = s_test_sent (&link, &result);
    //  STARTED too when the shell took more than the grace time (a
    //  loaded machine, valgrind).
    ZC_CHECK (sent && (streq (sent, "REPLY ") || streq (sent, "STARTED REPLY ")));
    free (sent);
    ZC_CHECK (result && result->state == ZC_STATE_DONE && result->exit_code == 0);
    ZC_CHECK (result && result->out_size == 3 && memcmp (result->out, "hi\n", 3) == 0);
    ZC_CHECK (zc_runner_running (runner) == 0);
    //  Once its ACK is committed, the task leaves memory; a resend is
    //  looked up in the store, ACKed and answered, and not run again.
    size_t remembered = zc_runner_remembered (runner);
    zc_runner_on_ack (runner, &job->id, "o1", NULL);
    ZC_CHECK (zc_runner_remembered (runner) == remembered);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_runner_committed (runner);
    ZC_CHECK (zc_runner_remembered (runner) == remembered - 1);
    zc_runner_request (runner, job);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "ACK REPLY ");
    free (sent);
    ZC_CHECK (result && result->state == ZC_STATE_DONE && result->exit_code == 0);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_runner_committed (runner);
    ZC_CHECK (zc_runner_remembered (runner) == remembered - 1);
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
    zc_runner_committed (runner);
    timer = zloop_timer (loop, 10, 0, s_test_reply_sent, &link);
    guard = zloop_timer (loop, 10000, 1, s_test_reply_sent, &link);
    zloop_start (loop);
    zloop_timer_end (loop, timer);
    zloop_timer_end (loop, guard);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "STARTED REPLY ");
    free (sent);
    zc_runner_on_ack (runner, &job->id, "o1", NULL);
    zc_wire_destroy (&job);

    //  A call runs its function with the arguments as "$1"...; an
    //  unknown one fails at once; a policy looks at the function's name.
    zhashx_t *functions = zhashx_new ();
    zhashx_insert (functions, "greet", "printf '%s|' \"$0\" \"$@\"");
    zc_runner_set_functions (runner, functions);
    job = s_test_request (ZC_METHOD_CALL, "greet");
    zlist_t *call_args = zlist_new ();
    zlist_append (call_args, "greet");
    zlist_append (call_args, "a b; echo x");
    zlist_append (call_args, "$(id)");
    zframe_destroy (&job->payload);
    job->payload = zc_wire_req_payload (call_args, NULL, 0);
    zlist_destroy (&call_args);
    zc_runner_request (runner, job);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_runner_committed (runner);
    timer = zloop_timer (loop, 10, 0, s_test_reply_sent, &link);
    guard = zloop_timer (loop, 10000, 1, s_test_reply_sent, &link);
    zloop_start (loop);
    zloop_timer_end (loop, timer);
    zloop_timer_end (loop, guard);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");
    free (sent);
    ZC_CHECK (result && result->state == ZC_STATE_DONE
              && result->out_size == 24 && memcmp (result->out, "greet|a b; echo x|$(id)|", 24) == 0);
    zc_runner_on_ack (runner, &job->id, "o1", NULL);
    zc_wire_destroy (&job);
    job = s_test_request (ZC_METHOD_CALL, "nosuch");
    zc_runner_request (runner, job);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");
    free (sent);
    ZC_CHECK (result && result->state == ZC_STATE_FAILED);
    ZC_CHECK_STR (result? result->error: NULL, "no function nosuch on this node");
    zc_runner_on_ack (runner, &job->id, "o1", NULL);
    zc_wire_destroy (&job);
    zc_policy_t *policy = zc_policy_parse ("allow o1 call gre*\n", 19, "t.policy", &error);
    ZC_CHECK (policy);
    zc_runner_set_policy (runner, policy);
    job = s_test_request (ZC_METHOD_EXEC, "greet");
    zc_runner_request (runner, job);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");
    free (sent);
    ZC_CHECK (result && result->state == ZC_STATE_DENIED);
    ZC_CHECK_STR (result? result->error: NULL, "no rule in t.policy matched");
    ZC_CHECK_STR (denied, "policy exec o1");
    zc_runner_on_ack (runner, &job->id, "o1", NULL);
    zc_wire_destroy (&job);
    job = s_test_request (ZC_METHOD_CALL, "greet");
    zc_runner_request (runner, job);
    ZC_CHECK (zlist_size (link.sent) == 0);        //  allowed: it is starting
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_runner_committed (runner);
    timer = zloop_timer (loop, 10, 0, s_test_reply_sent, &link);
    guard = zloop_timer (loop, 10000, 1, s_test_reply_sent, &link);
    zloop_start (loop);
    zloop_timer_end (loop, timer);
    zloop_timer_end (loop, guard);
    sent = s_test_sent (&link, &result);
    free (sent);
    ZC_CHECK (result && result->state == ZC_STATE_DONE);
    zc_runner_on_ack (runner, &job->id, "o1", NULL);
    zc_wire_destroy (&job);
    zc_runner_set_policy (runner, NULL);
    zc_policy_destroy (&policy);
    zc_runner_set_functions (runner, NULL);
    zhashx_destroy (&functions);

    //  An absent origin: the result waits for its presence.
    job = s_test_request ((zc_method_t) 50, "/var/log/syslog");     //  a method of a later release
    zc_runner_request (runner, job);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");
    ZC_CHECK (result && result->state == ZC_STATE_FAILED);
    ZC_CHECK_STR (result? result->error: NULL, "method 50 is not known to this agent (one of a later release?)");
    free (sent);
    zc_runner_on_noroute (runner, &job->id, "o1");
    zc_runner_tick (runner, zclock_mono ());
    ZC_CHECK (zlist_size (link.sent) == 0);
    zc_runner_on_presence (runner, "o1");
    sent = s_test_sent (&link, NULL);
    ZC_CHECK_STR (sent, "REPLY ");
    free (sent);
    zc_wire_destroy (&job);

    //  A cancel that comes before its job: the job is answered cancelled
    //  at once, and never runs when it comes; a cancel of another
    //  node's job, or of nonsense, fails.
    {
        zc_wire_t *later = s_test_request (ZC_METHOD_EXEC, "touch /nonexistent/zcnc-must-not-run");
        char later_id [ZC_JOB_ID_MAX];
        zc_job_id_format (&later->id, "n1", later_id);
        zc_wire_t *cancel = s_test_request (ZC_METHOD_CANCEL, later_id);
        zc_runner_request (runner, cancel);
        sent = s_test_sent (&link, &result);
        ZC_CHECK_STR (sent, "REPLY REPLY ");     //  the job's (cancelled), the cancel's (done)
        ZC_CHECK (result && result->state == ZC_STATE_DONE && result->out_size
                  && strstr ((char *) result->out, "cancelled before it came"));
        free (sent);
        zc_runner_request (runner, later);
        sent = s_test_sent (&link, &result);
        ZC_CHECK_STR (sent, "ACK REPLY ");
        ZC_CHECK (result && result->state == ZC_STATE_CANCELLED);
        ZC_CHECK (zc_runner_running (runner) == 0);
        free (sent);
        zc_wire_destroy (&cancel);
        const char *wrong [] = { "not-a-job-id", "01JDQ8ABCDEFGHJKMNPQRSTVWX.n2" };
        const char *why [] = { "cancel: 'not-a-job-id' is not a job ID",
                               "cancel: job 01JDQ8ABCDEFGHJKMNPQRSTVWX.n2 is for n2, not for n1" };
        for (int index = 0; index < 2; index++) {
            cancel = s_test_request (ZC_METHOD_CANCEL, wrong [index]);
            zc_runner_request (runner, cancel);
            sent = s_test_sent (&link, &result);
            ZC_CHECK (result && result->state == ZC_STATE_FAILED);
            ZC_CHECK_STR (result? result->error: NULL, why [index]);
            free (sent);
            zc_wire_destroy (&cancel);
        }
        zc_wire_destroy (&later);
    }
    //  An http_get is stored before it starts, like exec; its URL is
    //  checked again here, whatever the origin checked.
    job = s_test_request (ZC_METHOD_HTTP_GET, "file:///etc/passwd");
    zc_runner_request (runner, job);
    ZC_CHECK (zlist_size (link.sent) == 0);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_runner_committed (runner);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");
    ZC_CHECK (result && result->state == ZC_STATE_FAILED && result->http_status == 0);
    ZC_CHECK_STR (result? result->error: NULL, "http_get: only http and https URLs");
    free (sent);
    zc_wire_destroy (&job);
    job = s_test_request (ZC_METHOD_HTTP_GET, "http://a http://b");
    zlist_t *two = zlist_new ();
    zlist_append (two, "http://a");
    zlist_append (two, "http://b");
    zframe_destroy (&job->payload);
    job->payload = zc_wire_req_payload (two, NULL, 0);
    zlist_destroy (&two);
    zc_runner_request (runner, job);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");
    ZC_CHECK_STR (result? result->error: NULL, "http_get takes exactly one argument: the URL");
    free (sent);
    zc_wire_destroy (&job);
    //  One whose server never answers (it listens, and accepts nothing)
    //  runs until the runner stops: then it is interrupted.
    int listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t address_size = sizeof address;
    ZC_CHECK (listener != -1 && bind (listener, (struct sockaddr *) &address, sizeof address) == 0
           && listen (listener, 4) == 0
           && getsockname (listener, (struct sockaddr *) &address, &address_size) == 0);
    char *url = zsys_sprintf ("http://127.0.0.1:%d/never", ntohs (address.sin_port));
    zc_wire_t *fetch = s_test_request (ZC_METHOD_HTTP_GET, url);
    zc_runner_request (runner, fetch);
    zc_runner_committed (runner);
    timer = zloop_timer (loop, 200, 1, s_test_stop, NULL);
    zloop_start (loop);
    sent = s_test_sent (&link, NULL);
    ZC_CHECK_STR (sent, "STARTED ");
    free (sent);
    ZC_CHECK (zc_runner_running (runner) == 1);
    free (url);

    //  A job past its expire plus skew, or from the future, is refused.
    uint64_t stamps [2] = { zc_wall_ms () - 3600 * 1000, zc_wall_ms () + 3600 * 1000 };
    for (int index = 0; index < 2; index++) {
        job = s_test_request (ZC_METHOD_EXEC, "true");
        for (int byte = 0; byte < 6; byte++)
            job->id.bytes [byte] = (uint8_t) (stamps [index] >> (8 * (5 - byte)));
        zc_runner_request (runner, job);
        sent = s_test_sent (&link, &result);
        ZC_CHECK_STR (sent, "REPLY ");
        ZC_CHECK (result && result->state == (index? ZC_STATE_DENIED: ZC_STATE_EXPIRED));
        ZC_CHECK (result && result->error && strstr (result->error, index? "in the future": "after its expire"));
        free (sent);
        zc_wire_destroy (&job);
    }
    ZC_CHECK_STR (denied, "policy exec o1; expired exec o1; future exec o1");

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

    //  After a restart: a job that was running is reported interrupted
    //  (never run again), one received but not started runs, a finished
    //  one not yet ACKed is sent again.
    zc_runner_destroy (&runner);
    //  The http_get still waiting was interrupted, and said so.
    int interrupted = 0;
    zc_wire_t *reply;
    while ((reply = zlist_pop (link.sent))) {
        zc_result_t *stopped = NULL;
        if (reply->type == ZC_MSG_REPLY && zc_id_equal (&reply->id, &fetch->id)
        &&  zc_wire_result_payload_decode (reply->payload, &stopped) == 0
        &&  stopped->state == ZC_STATE_INTERRUPTED)
            interrupted++;
        zc_result_destroy (&stopped);
        zc_wire_destroy (&reply);
    }
    ZC_CHECK (interrupted == 1);
    zc_wire_destroy (&fetch);
    close (listener);
    zc_id_t running_id, received_id;
    zc_id_generate (&running_id);
    zc_id_generate (&received_id);
    char key [ZC_JOB_ID_MAX];
    zc_task_record_t record = { .state = ZC_TASK_RUNNING, .method = ZC_METHOD_EXEC,
                                .expire = 60, .pgid = 999999, .start_ticks = 1 };
    zframe_t *frame = zc_wire_task_record (&record);
    zc_job_id_format (&running_id, "o1", key);
    zc_store_put (store, ZC_TABLE_INBOX, key, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    zc_id_t starting_id;
    zc_id_generate (&starting_id);
    record = (zc_task_record_t) { .state = ZC_TASK_STARTING, .method = ZC_METHOD_EXEC, .expire = 60 };
    frame = zc_wire_task_record (&record);
    zc_job_id_format (&starting_id, "o3", key);
    zc_store_put (store, ZC_TABLE_INBOX, key, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    zlist_t *ping_args = zlist_new ();
    record = (zc_task_record_t) { .state = ZC_TASK_RECEIVED, .method = ZC_METHOD_PING, .expire = 60,
                                  .payload = zc_wire_req_payload (ping_args, NULL, 0) };
    zlist_destroy (&ping_args);
    frame = zc_wire_task_record (&record);
    zframe_destroy (&record.payload);
    zc_job_id_format (&received_id, "o2", key);
    zc_store_put (store, ZC_TABLE_INBOX, key, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    ZC_CHECK (zc_store_commit (store) == 0);
    runner = zc_runner_new (loop, store, "n1", 4096, 300, s_test_send, &link);
    ZC_CHECK (zc_runner_load (runner) >= 3);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "REPLY ");           //  the ping, answered as it runs
    free (sent);
    zc_runner_on_ack (runner, &received_id, "o2", NULL);
    zc_runner_link_up (runner);
    interrupted = 0;
    while ((reply = zlist_pop (link.sent))) {
        zc_result_t *resent = NULL;
        if (reply->type == ZC_MSG_REPLY
        &&  (zc_id_equal (&reply->id, &running_id) || zc_id_equal (&reply->id, &starting_id))
        &&  zc_wire_result_payload_decode (reply->payload, &resent) == 0
        &&  resent->state == ZC_STATE_INTERRUPTED)
            interrupted++;
        zc_result_destroy (&resent);
        zc_wire_destroy (&reply);
    }
    ZC_CHECK (interrupted == 2);
    ZC_CHECK (zc_runner_running (runner) == 0);

    //  Tasks finished and ACKed are not loaded after a restart, and still
    //  never run again; prune forgets those past their expire plus skew.
    zc_runner_on_ack (runner, &running_id, "o1", NULL);
    zc_runner_on_ack (runner, &starting_id, "o3", NULL);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_runner_committed (runner);
    size_t not_acked = zc_runner_remembered (runner);
    zc_runner_destroy (&runner);
    zc_id_t old_id;
    zc_id_generate (&old_id);
    uint64_t old_ms = zc_wall_ms () - 3600 * 1000;      //  an hour ago, expire 60 s, skew 300 s
    for (int byte = 0; byte < 6; byte++)
        old_id.bytes [byte] = (uint8_t) (old_ms >> (8 * (5 - byte)));
    zc_result_t old_result = { .state = ZC_STATE_DONE };
    record = (zc_task_record_t) { .state = ZC_TASK_FINISHED, .reply_acked = true,
                                  .method = ZC_METHOD_EXEC, .expire = 60,
                                  .result = zc_wire_result_payload (&old_result) };
    frame = zc_wire_task_record (&record);
    zframe_destroy (&record.result);
    char old_key [ZC_JOB_ID_MAX];
    zc_job_id_format (&old_id, "o4", old_key);
    zc_store_put (store, ZC_TABLE_INBOX, old_key, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    ZC_CHECK (zc_store_commit (store) == 0);
    runner = zc_runner_new (loop, store, "n1", 4096, 300, s_test_send, &link);
    int loaded = zc_runner_load (runner);
    ZC_CHECK (loaded >= 0 && (size_t) loaded == zc_runner_remembered (runner));
    ZC_CHECK (zc_runner_remembered (runner) == not_acked);
    zc_runner_on_ack (runner, &running_id, "o1", NULL);       //  not in memory: nothing to do
    ZC_CHECK (zc_runner_remembered (runner) == not_acked);
    job = s_test_request (ZC_METHOD_EXEC, "true");
    job->id = running_id;
    zc_runner_request (runner, job);
    sent = s_test_sent (&link, &result);
    ZC_CHECK_STR (sent, "ACK REPLY ");
    ZC_CHECK (result && result->state == ZC_STATE_INTERRUPTED);
    free (sent);
    zc_wire_destroy (&job);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_runner_committed (runner);
    char *text = NULL;
    ZC_CHECK (zc_store_get (store, ZC_TABLE_INBOX, old_key, s_test_found, &text) == 1);
    zc_runner_prune (runner);
    ZC_CHECK (zc_store_commit (store) == 0);
    ZC_CHECK (zc_store_get (store, ZC_TABLE_INBOX, old_key, s_test_found, &text) == 0);
    zc_job_id_format (&running_id, "o1", key);
    ZC_CHECK (zc_store_get (store, ZC_TABLE_INBOX, key, s_test_found, &text) == 1);

    zc_result_destroy (&result);
    zc_runner_destroy (&runner);
    zloop_destroy (&loop);
    zlist_destroy (&link.sent);
    zc_store_close (&store);
    char *cleanup = zsys_sprintf ("rm -rf %s", store_dir);
    ZC_CHECK (system (cleanup) == 0);
    free (cleanup);
    ZC_CHECK (s_test_schedule (verbose) == 0);
    return ZC_TEST_END;
}
