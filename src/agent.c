/*  agent.c — the agent's event loop: the link to its hub, the local
    socket, and the glue between the outbox (jobs sent from here) and the
    runner (jobs run here).

    One thread, one zloop: hub traffic, socket clients, job processes and
    timers are all events in it, so a slow job never blocks anything.
    Jobs and results live in memory in this version; durable storage
    arrives with the LMDB store.
*/
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"
#include "directory.h"
#include "exec.h"
#include "jsonl.h"
#include "keys.h"
#include "log.h"
#include "message.h"
#include "signals.h"
#include "target.h"
#include "wire.h"

#define S_RETRY_TICK_MS     250     //  how often timers of jobs are checked
#define S_REPLY_RESEND_MS   10000   //  a REPLY not ACKed is sent again after this
#define S_MAX_BACKOFF_S     60

typedef struct _s_agent_t s_agent_t;

//  A job sent from this agent (the outbox and its results).
typedef struct {
    char key [ZC_JOB_ID_MAX];   //  printed job ID
    zc_id_t id;
    char node [65];
    zc_method_t method;
    zc_state_t state;
    zframe_t *payload;          //  REQ payload: args and data
    uint32_t method_timeout, expire;
    double ack_timeout, retry_wait;
    int retries;                //  resends allowed after the first try
    int tries;                  //  sends so far
    uint64_t next_try;          //  monotonic ms of the next resend; 0 = none due
    uint64_t created_ms;
    zc_result_t *result;
} s_job_t;

//  A job received to run here.
typedef struct {
    char key [ZC_JOB_ID_MAX];   //  ULID.origin: unique per (message, origin)
    zc_id_t id;
    char origin [65];
    s_agent_t *agent;
    zc_exec_t *proc;
    zc_result_t *result;        //  set once finished
    bool reply_acked;
    uint64_t reply_next_try;    //  0 = wait for the origin's presence
} s_task_t;

//  A socket request waiting for results ("wait": SECS).
typedef struct {
    zc_jsonl_conn_t *conn;
    json_t *tag;                //  echoed, or NULL
    zlist_t *pending;           //  job keys without a final result
    int timer_id;
} s_wait_t;

//  A `ping` request waiting for its PONG.
typedef struct {
    zc_id_t id;
    char node [65];
    zc_jsonl_conn_t *conn;
    json_t *tag;
    uint64_t started_us;
    int timer_id;
} s_ping_t;

struct _s_agent_t {
    zc_config_t *config;
    zloop_t *loop;
    zc_jsonl_t *server;
    zc_directory_t *directory;
    //  The hub link (the first configured hub).
    const zc_peer_addr_t *hub;
    zsock_t *dealer;
    zsock_t *monitor;
    bool connected;             //  the hub answered our HELLO
    uint64_t last_heard;        //  monotonic ms of the last message from the hub
    //  Outbox and runner.
    zhashx_t *jobs;             //  key -> s_job_t (owned)
    zlistx_t *job_order;        //  keys in submission order
    zhashx_t *tasks;            //  key -> s_task_t (owned)
    zlist_t *waits;             //  s_wait_t
    zlist_t *pings;             //  s_ping_t
    zhashx_t *logged;
    int signal_fd;
    zmq_pollitem_t signal_item;
    struct { uint64_t malformed, submitted, ran; } count;
};

static uint64_t
s_wall_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void
s_job_destroy (void **item)
{
    s_job_t *job = *item;
    zframe_destroy (&job->payload);
    zc_result_destroy (&job->result);
    free (job);
    *item = NULL;
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

//  ---------------------------------------------------------------------
//  Sending to the hub

//  Sends a message to the hub; destroyed either way. -1 when the link
//  would not take it (the caller's timers will try again).
static int
s_send (s_agent_t *self, zc_wire_t **msg_p)
{
    return zc_wire_send (msg_p, self->dealer, NULL);
}

//  Sends an ACK or STARTED for message 'id' to 'node'.
static void
s_send_notice (s_agent_t *self, zc_msg_type_t type, const zc_id_t *id, const char *node)
{
    zc_wire_t *msg = zc_wire_new (type);
    msg->id = *id;
    zlist_append (msg->to, (void *) node);
    s_send (self, &msg);
}

//  ---------------------------------------------------------------------
//  Socket answers

//  Sends an answer, echoing the request's tag; takes the object.
static void
s_answer (zc_jsonl_conn_t *conn, json_t *tag, json_t *answer)
{
    if (tag)
        json_object_set (answer, "tag", tag);
    zc_jsonl_send (conn, answer);
    json_decref (answer);
}

static json_t *
s_job_json (s_job_t *job)
{
    return zc_message_job_json (job->key, job->node, job->method, job->state,
                                job->result, job->created_ms);
}

//  Ends a wait: the "end" line, then the connection takes its next request.
static void
s_wait_end (s_agent_t *self, s_wait_t *wait)
{
    json_t *pending = json_array ();
    for (char *key = zlist_first (wait->pending); key; key = zlist_next (wait->pending))
        json_array_append_new (pending, json_string (key));
    s_answer (wait->conn, wait->tag, json_pack ("{s:b, s:o}", "end", 1, "pending", pending));
    zc_jsonl_hold (wait->conn, false);
    if (wait->timer_id != -1)
        zloop_timer_end (self->loop, wait->timer_id);
    zlist_remove (self->waits, wait);
    zlist_destroy (&wait->pending);
    json_decref (wait->tag);
    free (wait);
}

static int
s_wait_timeout (zloop_t *loop, int timer_id, void *arg)
{
    s_wait_t *wait = arg;
    wait->timer_id = -1;            //  a one-shot timer is gone once it fired
    s_agent_t *self = zc_jsonl_data (wait->conn);
    s_wait_end (self, wait);
    return 0;
}

//  A job reached a final state: tell the clients waiting for it.
static void
s_job_finished (s_agent_t *self, s_job_t *job)
{
    zlist_t *ended = zlist_new ();
    for (s_wait_t *wait = zlist_first (self->waits); wait; wait = zlist_next (self->waits)) {
        char *key = zlist_first (wait->pending);
        while (key && strcmp (key, job->key) != 0)
            key = zlist_next (wait->pending);
        if (!key)
            continue;
        zlist_remove (wait->pending, key);     //  autofree: frees key
        s_answer (wait->conn, wait->tag, s_job_json (job));
        if (zlist_size (wait->pending) == 0)
            zlist_append (ended, wait);
    }
    for (s_wait_t *wait = zlist_first (ended); wait; wait = zlist_next (ended))
        s_wait_end (self, wait);
    zlist_destroy (&ended);
}

//  Gives a job its final result (a local one when result is NULL).
static void
s_job_finish (s_agent_t *self, s_job_t *job, zc_state_t state, const char *error)
{
    if (!job->result) {
        job->result = zc_result_new ();
        job->result->finished_ms = s_wall_ms ();
    }
    job->result->state = state;
    if (error) {
        free (job->result->error);
        job->result->error = strdup (error);
    }
    job->state = state;
    job->next_try = 0;
    zc_info ("job %s %s%s%s", job->key, zc_state_name (state), error? ": ": "", error? error: "");
    s_job_finished (self, job);
}

//  ---------------------------------------------------------------------
//  Outbox: sending jobs, ACKs, retries

//  When the job should be tried again after its try number 'tries'.
static uint64_t
s_next_try (s_job_t *job)
{
    double backoff = job->retry_wait * pow (2, job->tries > 0? job->tries - 1: 0);
    if (backoff > S_MAX_BACKOFF_S)
        backoff = S_MAX_BACKOFF_S;
    return zclock_mono () + (uint64_t) ((job->ack_timeout + backoff) * 1000);
}

//  Sends jobs of one message (all with the same ID and payload) to their
//  targets as one REQ; the hub fans it out.
static void
s_send_jobs (s_agent_t *self, zlist_t *jobs)
{
    s_job_t *first = zlist_first (jobs);
    if (!first || !self->connected)
        return;
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REQ);
    msg->id = first->id;
    msg->method = first->method;
    msg->method_timeout = first->method_timeout;
    msg->expire = first->expire;
    msg->payload = zframe_dup (first->payload);
    for (s_job_t *job = first; job; job = zlist_next (jobs)) {
        zlist_append (msg->to, job->node);
        job->tries++;
        if (job->state == ZC_STATE_QUEUED)
            job->state = ZC_STATE_SENT;
        job->next_try = s_next_try (job);
    }
    s_send (self, &msg);
}

static void
s_send_job (s_agent_t *self, s_job_t *job)
{
    zlist_t *jobs = zlist_new ();
    zlist_append (jobs, job);
    s_send_jobs (self, jobs);
    zlist_destroy (&jobs);
}

//  Looks up the job of message 'id' for 'node'.
static s_job_t *
s_job_lookup (s_agent_t *self, const zc_id_t *id, const char *node)
{
    char key [ZC_JOB_ID_MAX];
    zc_job_id_format (id, node, key);
    return zhashx_lookup (self->jobs, key);
}

//  Sends again every job still waiting for 'node' (or for any node when
//  node is NULL), e.g. after it came online or the hub link came back.
static void
s_flush_queued (s_agent_t *self, const char *node)
{
    for (const char *key = zlistx_first (self->job_order); key; key = zlistx_next (self->job_order)) {
        s_job_t *job = zhashx_lookup (self->jobs, key);
        if (job && (job->state == ZC_STATE_QUEUED || job->state == ZC_STATE_SENT)
        &&  (!node || streq (job->node, node)))
            s_send_job (self, job);
    }
}

//  Resends jobs whose ACK is overdue, fails those out of retries, expires
//  those past their expire time.
static void
s_outbox_tick (s_agent_t *self)
{
    uint64_t now = zclock_mono ();
    uint64_t wall = s_wall_ms ();
    for (const char *key = zlistx_first (self->job_order); key; key = zlistx_next (self->job_order)) {
        s_job_t *job = zhashx_lookup (self->jobs, key);
        if (!job || zc_state_final (job->state))
            continue;
        if (job->state == ZC_STATE_QUEUED || job->state == ZC_STATE_SENT) {
            if (wall > job->created_ms + (uint64_t) job->expire * 1000) {
                s_job_finish (self, job, ZC_STATE_EXPIRED, "not delivered before it expired");
                continue;
            }
        }
        if (job->state != ZC_STATE_SENT || !job->next_try || now < job->next_try)
            continue;
        if (job->tries > job->retries) {
            char reason [160];
            snprintf (reason, sizeof reason, "no ACK from %s after %d tries", job->node, job->tries);
            s_job_finish (self, job, ZC_STATE_FAILED, reason);
        }
        else
            s_send_job (self, job);
    }
}

//  ---------------------------------------------------------------------
//  Runner: jobs run here

static void
s_task_send_reply (s_agent_t *self, s_task_t *task)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REPLY);
    msg->id = task->id;
    zlist_append (msg->to, task->origin);
    msg->payload = zc_wire_result_payload (task->result);
    task->reply_next_try = zclock_mono () + S_REPLY_RESEND_MS;
    s_send (self, &msg);
}

static void
s_task_done (zc_exec_t *proc, zc_result_t *result, void *arg)
{
    s_task_t *task = arg;
    s_agent_t *self = task->agent;
    task->result = result;
    zc_info ("ran %s for %s: %s, exit %d%s%s", task->key, task->origin,
             zc_state_name (result->state), result->exit_code,
             result->error? ", ": "", result->error? result->error: "");
    s_task_send_reply (self, task);
}

//  Finishes a task at once with a result made here (ping, refusals).
static void
s_task_answer (s_agent_t *self, s_task_t *task, zc_state_t state, const char *error)
{
    task->result = zc_result_new ();
    task->result->state = state;
    task->result->started_ms = task->result->finished_ms = s_wall_ms ();
    task->result->error = error? strdup (error): NULL;
    s_task_send_reply (self, task);
}

//  A job arrived for this node. It is ACKed, never run twice (a resend
//  gets its ACK again, and its result again when there is one), and run.
static void
s_runner_request (s_agent_t *self, zc_wire_t *msg)
{
    char key [ZC_JOB_ID_MAX];
    zc_job_id_format (&msg->id, msg->from, key);
    s_task_t *task = zhashx_lookup (self->tasks, key);
    s_send_notice (self, ZC_MSG_ACK, &msg->id, msg->from);
    if (task) {
        if (task->result)
            s_task_send_reply (self, task);
        return;
    }
    task = calloc (1, sizeof *task);
    snprintf (task->key, sizeof task->key, "%s", key);
    task->id = msg->id;
    snprintf (task->origin, sizeof task->origin, "%s", msg->from);
    task->agent = self;
    zhashx_insert (self->tasks, key, task);
    self->count.ran++;

    zlist_t *args = NULL;
    uint8_t *data = NULL;
    size_t data_size = 0;
    if (zc_wire_req_payload_decode (msg->payload, &args, &data, &data_size) != 0) {
        s_task_answer (self, task, ZC_STATE_FAILED, "malformed job payload");
        return;
    }
    if (msg->method == ZC_METHOD_PING)
        s_task_answer (self, task, ZC_STATE_DONE, NULL);
    else
    if (msg->method == ZC_METHOD_EXEC && zlist_size (args) == 1) {
        zc_exec_spec_t spec = {
            .command = zlist_first (args), .data = data, .data_size = data_size,
            .timeout = msg->method_timeout, .max_output = self->config->max_output
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

//  Resends results their origins have not ACKed.
static void
s_runner_tick (s_agent_t *self)
{
    uint64_t now = zclock_mono ();
    for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
        if (task->result && !task->reply_acked && task->reply_next_try && now >= task->reply_next_try)
            s_task_send_reply (self, task);
}

//  ---------------------------------------------------------------------
//  Messages from the hub

//  The hub could not route some names of message 'id'. Jobs to them wait
//  for the name's presence; so does a REPLY to an absent origin.
static void
s_on_noroute (s_agent_t *self, zc_wire_t *msg)
{
    for (char *name = zlist_first (msg->names); name; name = zlist_next (msg->names)) {
        s_job_t *job = s_job_lookup (self, &msg->id, name);
        if (job && job->state == ZC_STATE_SENT) {
            job->state = ZC_STATE_QUEUED;
            job->next_try = 0;
            job->tries--;           //  a try the hub refused is not spent
        }
        char key [ZC_JOB_ID_MAX];
        zc_job_id_format (&msg->id, name, key);
        s_task_t *task = zhashx_lookup (self->tasks, key);
        if (task)
            task->reply_next_try = 0;
    }
    //  Pings to an absent node get their answer at once.
    for (s_ping_t *ping = zlist_first (self->pings); ping; ping = zlist_next (self->pings))
        if (zc_id_equal (&ping->id, &msg->id)) {
            char text [160];
            snprintf (text, sizeof text, "%s is not reachable now (offline or unknown)", ping->node);
            s_answer (ping->conn, ping->tag, json_pack ("{s:s, s:b, s:s}", "node", ping->node,
                                                         "pong", 0, "error", text));
            zloop_timer_end (self->loop, ping->timer_id);
            zlist_remove (self->pings, ping);
            json_decref (ping->tag);
            free (ping);
            break;
        }
}

static void
s_on_presence (s_agent_t *self, zc_wire_t *msg)
{
    if (!msg->online)
        return;
    for (char *name = zlist_first (msg->names); name; name = zlist_next (msg->names)) {
        s_flush_queued (self, name);
        for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
            if (task->result && !task->reply_acked && streq (task->origin, name))
                task->reply_next_try = 1;       //  due now
    }
    s_runner_tick (self);
}

static void
s_on_nodes (s_agent_t *self, zc_wire_t *msg)
{
    zc_node_entry_t *entries = NULL;
    size_t count = 0;
    if (zc_wire_nodes_payload_decode (msg->payload, &entries, &count) != 0) {
        self->count.malformed++;
        return;
    }
    for (size_t index = 0; index < count; index++)
        zc_directory_update (self->directory, &entries [index]);
    free (entries);
    if (msg->flags & ZC_FLAG_FULL) {
        //  The hub answered our HELLO: the link is up. What it may have
        //  lost while it was down is sent again (targets dedup).
        if (!self->connected)
            zc_info ("connected to hub %s at %s", self->hub->name, self->hub->endpoint);
        self->connected = true;
        s_flush_queued (self, NULL);
        for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
            if (task->result && !task->reply_acked)
                task->reply_next_try = 1;
        s_runner_tick (self);
    }
}

static void
s_on_pong (s_agent_t *self, zc_wire_t *msg)
{
    for (s_ping_t *ping = zlist_first (self->pings); ping; ping = zlist_next (self->pings))
        if (zc_id_equal (&ping->id, &msg->id) && streq (ping->node, msg->from)) {
            double rtt = (zclock_usecs () - ping->started_us) / 1000.0;
            s_answer (ping->conn, ping->tag, json_pack ("{s:s, s:b, s:f}", "node", ping->node,
                                                         "pong", 1, "time_ms", rtt));
            zloop_timer_end (self->loop, ping->timer_id);
            zlist_remove (self->pings, ping);
            json_decref (ping->tag);
            free (ping);
            return;
        }
}

static void
s_dispatch (s_agent_t *self, zc_wire_t *msg)
{
    switch (msg->type) {
        case ZC_MSG_NODES:
            s_on_nodes (self, msg);
            break;
        case ZC_MSG_PRESENCE:
            s_on_presence (self, msg);
            break;
        case ZC_MSG_NOROUTE:
            s_on_noroute (self, msg);
            break;
        case ZC_MSG_REQ:
            s_runner_request (self, msg);
            break;
        case ZC_MSG_ACK: {
            //  From a target: it stored our job. From an origin: it stored
            //  our result.
            s_job_t *job = s_job_lookup (self, &msg->id, msg->from);
            if (job && (job->state == ZC_STATE_SENT || job->state == ZC_STATE_QUEUED)) {
                job->state = ZC_STATE_RUNNING;
                job->next_try = 0;
            }
            char key [ZC_JOB_ID_MAX];
            zc_job_id_format (&msg->id, msg->from, key);
            s_task_t *task = zhashx_lookup (self->tasks, key);
            if (task && task->result)
                task->reply_acked = true;
            break;
        }
        case ZC_MSG_STARTED: {
            s_job_t *job = s_job_lookup (self, &msg->id, msg->from);
            if (job && !zc_state_final (job->state)) {
                job->state = ZC_STATE_RUNNING;
                job->next_try = 0;
            }
            break;
        }
        case ZC_MSG_REPLY: {
            zc_result_t *result = NULL;
            s_job_t *job = s_job_lookup (self, &msg->id, msg->from);
            if (zc_wire_result_payload_decode (msg->payload, &result) != 0) {
                self->count.malformed++;
                break;
            }
            //  The result is ours now: ACK it, also when it is a duplicate.
            s_send_notice (self, ZC_MSG_ACK, &msg->id, msg->from);
            if (job && !zc_state_final (job->state)) {
                zc_result_destroy (&job->result);
                job->result = result;
                result = NULL;
                s_job_finish (self, job, job->result->state, NULL);
            }
            zc_result_destroy (&result);
            break;
        }
        case ZC_MSG_PING:
            if (zlist_size (msg->to)) {
                zc_wire_t *pong = zc_wire_new (ZC_MSG_PONG);
                pong->id = msg->id;
                zlist_append (pong->to, msg->from);
                s_send (self, &pong);
            }
            break;
        case ZC_MSG_PONG:
            if (*msg->from)
                s_on_pong (self, msg);
            break;
        case ZC_MSG_ERROR: {
            char what [80];
            snprintf (what, sizeof what, "error:%u", msg->code);
            if (!zhashx_lookup (self->logged, what)) {
                zhashx_insert (self->logged, what, (void *) 1);
                zc_error ("hub %s refused us: %s", self->hub->name, msg->text? msg->text: "?");
            }
            break;
        }
        default:
            zc_debug ("ignored %s from the hub", zc_wire_type_name (msg->type));
    }
}

static int
s_dealer_event (zloop_t *loop, zsock_t *dealer, void *arg)
{
    s_agent_t *self = arg;
    zmsg_t *frames = zmsg_recv (dealer);
    if (!frames)
        return 0;
    self->last_heard = zclock_mono ();
    const char *reason = NULL;
    zc_wire_t *msg = zc_wire_decode (frames, zmsg_first (frames), &reason);
    if (msg) {
        s_dispatch (self, msg);
        zc_wire_destroy (&msg);
    }
    else {
        self->count.malformed++;
        zc_warn ("dropped a malformed message from hub %s: %s", self->hub->name, reason? reason: "?");
    }
    zmsg_destroy (&frames);
    return 0;
}

static void
s_send_hello (s_agent_t *self)
{
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "%s", self->config->name);
    s_send (self, &hello);
}

//  Socket monitor events: say HELLO as soon as a handshake completes.
static int
s_monitor_event (zloop_t *loop, zsock_t *monitor, void *arg)
{
    s_agent_t *self = arg;
    zmsg_t *event = zmsg_recv (monitor);
    if (!event)
        return 0;
    zframe_t *frame = zmsg_first (event);
    if (frame && zframe_size (frame) >= 2) {
        uint16_t number;
        memcpy (&number, zframe_data (frame), 2);      //  host order, per zmq_socket_monitor
        if (number == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            zc_debug ("handshake with hub %s done", self->hub->name);
            s_send_hello (self);
        }
        else
        if (number == ZMQ_EVENT_DISCONNECTED && self->connected) {
            zc_info ("lost the connection to hub %s; reconnecting", self->hub->name);
            self->connected = false;
        }
        else
        if (number == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || number == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            if (!zhashx_lookup (self->logged, "handshake")) {
                zhashx_insert (self->logged, "handshake", (void *) 1);
                zc_error ("hub %s refused our key (is %s.cert in the hub's keys directory?)",
                          self->hub->name, self->config->name);
            }
        }
    }
    zmsg_destroy (&event);
    return 0;
}

//  Heartbeat: a HELLO every interval; a silent hub counts as gone.
static int
s_heartbeat_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_agent_t *self = arg;
    if (self->connected && zclock_mono () - self->last_heard > self->config->peer_timeout * 1000) {
        zc_info ("hub %s is silent; waiting for it", self->hub->name);
        self->connected = false;
    }
    s_send_hello (self);
    return 0;
}

static int
s_tick_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_agent_t *self = arg;
    if (self->connected) {
        s_outbox_tick (self);
        s_runner_tick (self);
    }
    else
        s_outbox_tick (self);       //  expiry runs even while the hub is away
    return 0;
}

//  ---------------------------------------------------------------------
//  The socket: requests from local clients

//  Names the resolver can see: the directory, and this node itself.
static zlist_t *
s_known_names (s_agent_t *self)
{
    zlist_t *known = zc_directory_names (self->directory);
    if (!zc_directory_lookup (self->directory, self->config->name))
        zlist_append (known, self->config->name);
    return known;
}

static void
s_request_message (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    static const char *socket_fields [] = { "wait", "tag", NULL };
    json_t *wait_value = json_object_get (request, "wait");
    if (wait_value && (!json_is_number (wait_value) || json_number_value (wait_value) < 0
                       || json_number_value (wait_value) > 30 * 86400)) {
        s_answer (conn, tag, zc_message_error_json ("\"wait\" must be a number of seconds", "usage", "wait"));
        return;
    }
    char *error = NULL;
    const char *field = NULL;
    zc_message_t *message = zc_message_from_json (request, socket_fields, &error, &field);
    if (!message) {
        s_answer (conn, tag, zc_message_error_json (error, "usage", field));
        free (error);
        return;
    }
    zlist_t *known = s_known_names (self);
    zlist_t *targets = NULL, *unknown = NULL;
    if (zc_target_resolve (message->to, known, &targets, &unknown, &error) != 0) {
        s_answer (conn, tag, zc_message_error_json (error, "usage", "to"));
        free (error);
    }
    else
    if (zlist_size (targets) == 0) {
        char *text = zsys_sprintf ("'%s' matches no known node", message->to);
        s_answer (conn, tag, zc_message_error_json (text, "nomatch", "to"));
        free (text);
    }
    else {
        zc_id_t id;
        zc_id_generate (&id);
        zframe_t *payload = zc_wire_req_payload (message->args, message->data, message->data_size);
        json_t *ids = json_array ();
        zlist_t *jobs = zlist_new ();
        for (char *node = zlist_first (targets); node; node = zlist_next (targets)) {
            s_job_t *job = calloc (1, sizeof *job);
            zc_job_id_format (&id, node, job->key);
            job->id = id;
            snprintf (job->node, sizeof job->node, "%s", node);
            job->method = message->method;
            job->state = ZC_STATE_QUEUED;
            job->payload = zframe_dup (payload);
            job->method_timeout = (uint32_t) ceil (message->method_timeout);
            job->expire = (uint32_t) ceil (message->expire);
            job->ack_timeout = message->ack_timeout;
            job->retry_wait = message->retry_wait;
            job->retries = message->retries;
            job->created_ms = zc_id_time_ms (&id);
            zhashx_insert (self->jobs, job->key, job);
            zlistx_add_end (self->job_order, job->key);
            zlist_append (jobs, job);
            json_array_append_new (ids, json_pack ("{s:s, s:s}", "node", node, "id", job->key));
            self->count.submitted++;
        }
        json_t *unknown_json = json_array ();
        for (char *node = zlist_first (unknown); node; node = zlist_next (unknown))
            json_array_append_new (unknown_json, json_string (node));
        s_answer (conn, tag, json_pack ("{s:o, s:o}", "ids", ids, "unknown", unknown_json));
        zc_info ("accepted %zu job(s) for '%s'", zlist_size (jobs), message->to);
        if (wait_value) {
            s_wait_t *wait = calloc (1, sizeof *wait);
            wait->conn = conn;
            wait->tag = tag? json_incref (tag): NULL;
            wait->pending = zlist_new ();
            zlist_autofree (wait->pending);
            for (s_job_t *job = zlist_first (jobs); job; job = zlist_next (jobs))
                zlist_append (wait->pending, job->key);
            wait->timer_id = zloop_timer (self->loop, (size_t) (json_number_value (wait_value) * 1000),
                                          1, s_wait_timeout, wait);
            zlist_append (self->waits, wait);
            zc_jsonl_hold (conn, true);
        }
        s_send_jobs (self, jobs);
        zlist_destroy (&jobs);
        zframe_destroy (&payload);
    }
    zlist_destroy (&targets);
    zlist_destroy (&unknown);
    zlist_destroy (&known);
    zc_message_destroy (&message);
}

static void
s_op_nodes (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *tag)
{
    size_t count;
    zc_node_entry_t *entries = zc_directory_entries (self->directory, &count);
    json_t *nodes = json_array ();
    uint64_t now = (uint64_t) time (NULL);
    for (size_t index = 0; index < count; index++) {
        zc_node_entry_t *entry = &entries [index];
        json_array_append_new (nodes, json_pack ("{s:s, s:b, s:I, s:s}",
            "name", entry->name, "online", entry->online,
            "last_seen", (json_int_t) (entry->online? now: entry->last_seen), "via", entry->via));
    }
    free (entries);
    s_answer (conn, tag, json_pack ("{s:o}", "nodes", nodes));
}

static void
s_op_status (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *tag)
{
    size_t queued = 0, inflight = 0, running = 0;
    for (s_job_t *job = zhashx_first (self->jobs); job; job = zhashx_next (self->jobs))
        if (job->state == ZC_STATE_QUEUED)
            queued++;
        else
        if (job->state == ZC_STATE_SENT || job->state == ZC_STATE_RUNNING)
            inflight++;
    for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
        if (!task->result)
            running++;
    json_t *hubs = json_array ();
    json_array_append_new (hubs, json_pack ("{s:s, s:s, s:b}", "name", self->hub->name,
                                            "endpoint", self->hub->endpoint, "connected", self->connected));
    s_answer (conn, tag, json_pack ("{s:s, s:o, s:I, s:I, s:I, s:I}",
        "name", self->config->name, "hubs", hubs, "queued", (json_int_t) queued,
        "inflight", (json_int_t) inflight, "running", (json_int_t) running,
        "nodes", (json_int_t) zc_directory_size (self->directory)));
}

static void
s_op_jobs (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    json_t *id = json_object_get (request, "id");
    json_t *jobs = json_array ();
    if (id) {
        s_job_t *job = json_is_string (id)? zhashx_lookup (self->jobs, json_string_value (id)): NULL;
        if (!job) {
            char *text = zsys_sprintf ("no job %s was sent from this agent",
                                       json_is_string (id)? json_string_value (id): "(not a string)");
            s_answer (conn, tag, zc_message_error_json (text, "usage", "id"));
            free (text);
            json_decref (jobs);
            return;
        }
        json_array_append_new (jobs, s_job_json (job));
    }
    else
        for (const char *key = zlistx_first (self->job_order); key; key = zlistx_next (self->job_order))
            json_array_append_new (jobs, s_job_json (zhashx_lookup (self->jobs, key)));
    s_answer (conn, tag, json_pack ("{s:o}", "jobs", jobs));
}

static int
s_ping_timeout (zloop_t *loop, int timer_id, void *arg)
{
    s_ping_t *ping = arg;
    s_agent_t *self = zc_jsonl_data (ping->conn);
    char text [160];
    snprintf (text, sizeof text, "no answer from %s in time", ping->node);
    s_answer (ping->conn, ping->tag, json_pack ("{s:s, s:b, s:s}", "node", ping->node,
                                                 "pong", 0, "error", text));
    zlist_remove (self->pings, ping);
    json_decref (ping->tag);
    free (ping);
    return 0;
}

static void
s_op_ping (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    const char *node = json_string_value (json_object_get (request, "node"));
    json_t *timeout = json_object_get (request, "timeout");
    double seconds = timeout? json_number_value (timeout): 5;
    if (!node || !zc_name_valid (node)) {
        s_answer (conn, tag, zc_message_error_json ("ping needs \"node\": a node name", "usage", "node"));
        return;
    }
    if ((timeout && !json_is_number (timeout)) || seconds <= 0 || seconds > 86400) {
        s_answer (conn, tag, zc_message_error_json ("\"timeout\" must be a number of seconds", "usage", "timeout"));
        return;
    }
    s_ping_t *ping = calloc (1, sizeof *ping);
    zc_id_generate (&ping->id);
    snprintf (ping->node, sizeof ping->node, "%s", node);
    ping->conn = conn;
    ping->tag = tag? json_incref (tag): NULL;
    ping->started_us = zclock_usecs ();
    ping->timer_id = zloop_timer (self->loop, (size_t) (seconds * 1000), 1, s_ping_timeout, ping);
    zlist_append (self->pings, ping);
    zc_wire_t *msg = zc_wire_new (ZC_MSG_PING);
    msg->id = ping->id;
    zlist_append (msg->to, (void *) node);
    s_send (self, &msg);
}

static void
s_on_line (zc_jsonl_conn_t *conn, char *line, size_t size, void *arg)
{
    s_agent_t *self = arg;
    zc_jsonl_set_data (conn, self);
    json_error_t parse_error;
    json_t *request = json_loadb (line, size, JSON_REJECT_DUPLICATES, &parse_error);
    if (!json_is_object (request)) {
        char *text = zsys_sprintf ("malformed JSON request: %s",
                                   request? "not an object": parse_error.text);
        s_answer (conn, NULL, zc_message_error_json (text, "usage", NULL));
        free (text);
        json_decref (request);
        return;
    }
    json_t *tag = json_object_get (request, "tag");
    json_t *op = json_object_get (request, "op");
    if (!op)
        s_request_message (self, conn, request, tag);
    else {
        const char *name = json_string_value (op);
        if (name && streq (name, "nodes"))
            s_op_nodes (self, conn, tag);
        else
        if (name && streq (name, "status"))
            s_op_status (self, conn, tag);
        else
        if (name && streq (name, "jobs"))
            s_op_jobs (self, conn, request, tag);
        else
        if (name && streq (name, "ping"))
            s_op_ping (self, conn, request, tag);
        else {
            char *text = zsys_sprintf ("unknown op '%s' (known: nodes, status, jobs, ping)", name? name: "?");
            s_answer (conn, tag, zc_message_error_json (text, "usage", "op"));
            free (text);
        }
    }
    json_decref (request);
}

//  A client went away: forget its waits and pings.
static void
s_on_close (zc_jsonl_conn_t *conn, void *arg)
{
    s_agent_t *self = arg;
    zlist_t *gone = zlist_new ();
    for (s_wait_t *wait = zlist_first (self->waits); wait; wait = zlist_next (self->waits))
        if (wait->conn == conn)
            zlist_append (gone, wait);
    for (s_wait_t *wait = zlist_first (gone); wait; wait = zlist_next (gone)) {
        if (wait->timer_id != -1)
            zloop_timer_end (self->loop, wait->timer_id);
        zlist_remove (self->waits, wait);
        zlist_destroy (&wait->pending);
        json_decref (wait->tag);
        free (wait);
    }
    zlist_purge (gone);
    for (s_ping_t *ping = zlist_first (self->pings); ping; ping = zlist_next (self->pings))
        if (ping->conn == conn)
            zlist_append (gone, ping);
    for (s_ping_t *ping = zlist_first (gone); ping; ping = zlist_next (gone)) {
        zloop_timer_end (self->loop, ping->timer_id);
        zlist_remove (self->pings, ping);
        json_decref (ping->tag);
        free (ping);
    }
    zlist_destroy (&gone);
}

//  ---------------------------------------------------------------------
//  Start and stop

static int
s_signal_event (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_agent_t *self = arg;
    int signal = zc_signals_read (self->signal_fd);
    if (signal == SIGHUP)
        return 0;
    if (signal) {
        zc_info ("stopping on signal %d", signal);
        return -1;
    }
    return 0;
}

//  Creates the DEALER to the hub, with our key and the hub's pinned key.
static int
s_connect (s_agent_t *self, zcert_t *cert)
{
    zc_config_t *config = self->config;
    char *error = NULL;
    char *path = zsys_sprintf ("%s/%s.cert", config->keys, self->hub->name);
    zc_key_t hub_key;
    int rc = zc_key_load (path, &hub_key, &error);
    free (path);
    if (rc != 0) {
        zc_error ("%s: agent/hub: cannot pin the key of hub %s: %s", config->path, self->hub->name, error);
        free (error);
        return -1;
    }
    if (hub_key.role != ZC_KEY_HUB)
        zc_warn ("%s/%s.cert has role agent; expected a hub's cert", config->keys, self->hub->name);
    self->dealer = zsock_new (ZMQ_DEALER);
    zcert_apply (cert, self->dealer);
    zsock_set_curve_serverkey (self->dealer, hub_key.public_txt);
    zsock_set_heartbeat_ivl (self->dealer, (int) (config->heartbeat * 1000));
    zsock_set_heartbeat_timeout (self->dealer, (int) (config->peer_timeout * 1000));
    zsock_set_heartbeat_ttl (self->dealer, (int) (config->peer_timeout * 1000));
    zsock_set_maxmsgsize (self->dealer, ZC_WIRE_MAX_PAYLOAD + 65536);
    zsock_set_reconnect_ivl (self->dealer, 100);
    zsock_set_reconnect_ivl_max (self->dealer, 5000);
    zsock_set_sndtimeo (self->dealer, 0);
    zsock_set_sndhwm (self->dealer, 100000);
    zsock_set_linger (self->dealer, 0);
    char monitor_endpoint [64];
    snprintf (monitor_endpoint, sizeof monitor_endpoint, "inproc://zcnc-monitor-%p", (void *) self);
    zmq_socket_monitor (zsock_resolve (self->dealer), monitor_endpoint,
                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
                        | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    self->monitor = zsock_new (ZMQ_PAIR);
    zsock_connect (self->monitor, "%s", monitor_endpoint);
    if (zsock_connect (self->dealer, "%s", self->hub->endpoint) == -1) {
        zc_error ("%s: agent/hub: cannot connect to %s: %s", config->path, self->hub->endpoint,
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

int
zc_agent_run (zc_config_t *config)
{
    s_agent_t agent = { .config = config, .signal_fd = zc_signals_open () };
    s_agent_t *self = &agent;
    zsys_init ();
    zsys_handler_set (NULL);
    int status = 1;
    char *error = NULL;
    if (mkdir (config->data, 0700) == -1 && errno != EEXIST) {
        zc_error ("cannot create data directory %s: %s", config->data, strerror (errno));
        return 1;
    }
    zcert_t *cert = zc_key_load_own (config->keys, config->name, &error);
    if (!cert) {
        zc_error ("%s", error);
        free (error);
        return 1;
    }
    self->hub = zlist_first (config->hubs);
    self->loop = zloop_new ();
    self->directory = zc_directory_new ();
    self->jobs = zhashx_new ();
    zhashx_set_destructor (self->jobs, s_job_destroy);
    self->job_order = zlistx_new ();
    self->tasks = zhashx_new ();
    zhashx_set_destructor (self->tasks, s_task_destroy);
    self->waits = zlist_new ();
    self->pings = zlist_new ();
    self->logged = zhashx_new ();
    if (s_connect (self, cert) == 0) {
        self->server = zc_jsonl_new (self->loop, config->socket, config->socket_group,
                                     s_on_line, s_on_close, self, &error);
        if (!self->server) {
            zc_error ("%s: agent/socket: %s", config->path, error);
            free (error);
        }
    }
    if (self->server) {
        zloop_reader (self->loop, self->dealer, s_dealer_event, self);
        zloop_reader (self->loop, self->monitor, s_monitor_event, self);
        self->signal_item = (zmq_pollitem_t) { .fd = self->signal_fd, .events = ZMQ_POLLIN };
        zloop_poller (self->loop, &self->signal_item, s_signal_event, self);
        zloop_timer (self->loop, (size_t) (config->heartbeat * 1000), 0, s_heartbeat_timer, self);
        zloop_timer (self->loop, S_RETRY_TICK_MS, 0, s_tick_timer, self);
        zc_info ("agent %s started; hub %s at %s; socket %s", config->name,
                 self->hub->name, self->hub->endpoint, config->socket);
        zloop_start (self->loop);
        //  Jobs still running are killed with their process groups.
        for (s_task_t *task = zhashx_first (self->tasks); task; task = zhashx_next (self->tasks))
            if (task->proc && !task->result)
                zc_exec_interrupt (task->proc);
        zc_info ("agent %s stopped (submitted %" PRIu64 ", ran %" PRIu64 ", malformed %" PRIu64 ")",
                 config->name, self->count.submitted, self->count.ran, self->count.malformed);
        status = 0;
    }
    zc_jsonl_destroy (&self->server);
    while (zlist_size (self->waits)) {
        s_wait_t *wait = zlist_pop (self->waits);
        zlist_destroy (&wait->pending);
        json_decref (wait->tag);
        free (wait);
    }
    zlist_destroy (&self->waits);
    zlist_destroy (&self->pings);
    zhashx_destroy (&self->tasks);
    zhashx_destroy (&self->jobs);
    zlistx_destroy (&self->job_order);
    zhashx_destroy (&self->logged);
    zc_directory_destroy (&self->directory);
    zloop_destroy (&self->loop);
    zsock_destroy (&self->monitor);
    zsock_destroy (&self->dealer);
    zcert_destroy (&cert);
    close (self->signal_fd);
    return status;
}
