/*  agent.c — the agent's event loop: the link to its hub, the local
    socket, and the glue between the outbox (jobs sent from here) and the
    runner (jobs run here).

    One thread, one zloop: hub traffic, socket clients, job processes and
    timers are all events in it, so a slow job never blocks anything.
    The outbox (delivery.c) and the runner (runner.c) do the job work;
    this file routes events to them, and commits the store (store.c)
    before anything that depends on a change leaves the process.
*/
#include <errno.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"
#include "audit.h"
#include "bulk.h"
#include "delivery.h"
#include "directory.h"
#include "jsonl.h"
#include "keys.h"
#include "log.h"
#include "message.h"
#include "readfolder.h"
#include "policy.h"
#include "runner.h"
#include "seal.h"
#include "signals.h"
#include "target.h"
#include "uplink.h"
#include "wire.h"

#define S_RETRY_TICK_MS     250     //  how often job timers are checked
#define S_PRUNE_MS          60000   //  how often old jobs are forgotten
#define S_KEYS_CHECK_MS     1000    //  how often the keys directory is checked for changes

typedef struct _s_agent_t s_agent_t;

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
    //  The links to our hubs (zc_uplink_t), in the order configured.
    //  Messages go out on the first that is up.
    zlist_t *uplinks;
    zc_bulk_t *bulk;            //  large REPLYs in chunks, both ways
    zc_delivery_t *delivery;    //  jobs sent from here
    zc_runner_t *runner;        //  jobs run here
    zlist_t *waits;             //  s_wait_t
    zlist_t *pings;             //  s_ping_t
    zhashx_t *logged;
    FILE *errors;               //  DATA/errors.log: error events from other agents
    zc_store_t *store;
    zlist_t *outgoing;          //  s_output_t waiting for the next commit
    zhashx_t *ack_batches;      //  node name -> its queued ACK (in outgoing) that takes more IDs
    int commit_timer;           //  -1, or the pending commit's timer
    zc_readfolder_t *readfolder;    //  the drop folder, or NULL
    zc_keyring_t *keyring;      //  the trusted certs: who may send us jobs, whose results we read
    uint64_t keys_stamp;        //  of the keys directory when it was read
    zc_seal_t *seal;            //  end-to-end envelopes
    zc_policy_t *policy;        //  the policy file's rules, or NULL without one
    int signal_fd;
    zmq_pollitem_t signal_item;
    struct { uint64_t malformed, submitted, forged; } count;
};

//  ---------------------------------------------------------------------
//  Sending to the hub

//  What promises that something is stored waits for the commit of the
//  store changes made before it: the IDs answered to a client, the ACK of
//  a result. It is queued while changes are pending, and goes once the
//  batch is committed, at the end of this turn of the loop, so one fsync
//  covers everything the turn did (group commit). Everything else goes at
//  once: a REQ sent before its job is on disk is only a job the client
//  has not been promised yet (at most once still holds: the target
//  dedups), a REPLY sent before its record is on disk only a result the
//  target may report again as interrupted, which the origin ignores.

static int s_commit_timer (zloop_t *loop, int timer_id, void *arg);

//  Asks for a commit at the end of this turn of the loop.
static void
s_commit_soon (s_agent_t *self)
{
    if (self->commit_timer == -1)
        self->commit_timer = zloop_timer (self->loop, 0, 1, s_commit_timer, self);
}

//  A queued output: a message for the hub, or an answer for a client.
//  A queued ACK also carries the IDs of the ACKs to the same node that
//  were queued after it (one message acknowledges a batch).
typedef struct {
    zc_wire_t *msg;
    zc_jsonl_conn_t *conn;
    json_t *answer;
    zc_id_t *more_ids;
    size_t more_count;
} s_output_t;

//  True when an answer for 'conn' (or, with conn NULL, a message for the
//  hub) must queue behind what is queued already, to keep its order.
static bool
s_queued_before (s_agent_t *self, zc_jsonl_conn_t *conn)
{
    for (s_output_t *output = zlist_first (self->outgoing); output; output = zlist_next (self->outgoing))
        if (output->conn == conn)
            return true;
    return false;
}

static void
s_queue_output (s_agent_t *self, zc_wire_t *msg, zc_jsonl_conn_t *conn, json_t *answer)
{
    s_output_t *output = calloc (1, sizeof *output);
    output->msg = msg;
    output->conn = conn;
    output->answer = answer;
    zlist_append (self->outgoing, output);
    s_commit_soon (self);
}

//  The first of our hubs whose link is up, or NULL.
static zc_uplink_t *
s_live_uplink (s_agent_t *self)
{
    for (zc_uplink_t *uplink = zlist_first (self->uplinks); uplink; uplink = zlist_next (self->uplinks))
        if (zc_uplink_is_up (uplink))
            return uplink;
    return NULL;
}

//  Sends a message to a hub; destroyed either way. -1 when no link is up
//  (the caller keeps the job queued and its timers try again). A large
//  REPLY goes in chunks (src/bulk.c).
static int
s_send (s_agent_t *self, zc_wire_t **msg_p)
{
    zc_uplink_t *uplink = s_live_uplink (self);
    if (!uplink) {
        zc_wire_destroy (msg_p);
        return -1;
    }
    int taken = zc_bulk_send (self->bulk, msg_p);
    if (taken != -1)
        return taken? 0: -1;
    return zc_uplink_send (uplink, msg_p);
}

//  How the bulk sender's chunks and answers leave.
static int
s_bulk_send (zc_wire_t **msg_p, void *arg)
{
    return s_send (arg, msg_p);
}

//  Folds an ACK into the ACK already queued for the same node, if there
//  is one with room. Returns true when it did (and destroyed *msg_p).
static bool
s_ack_batched (s_agent_t *self, zc_wire_t **msg_p)
{
    zc_wire_t *msg = *msg_p;
    if (msg->type != ZC_MSG_ACK || msg->payload || msg->flags || zlist_size (msg->to) != 1)
        return false;
    const char *node = zlist_first (msg->to);
    s_output_t *batch = zhashx_lookup (self->ack_batches, node);
    if (!batch) {
        batch = calloc (1, sizeof *batch);
        batch->msg = msg;
        zlist_append (self->outgoing, batch);
        zhashx_insert (self->ack_batches, node, batch);
        s_commit_soon (self);
    }
    else {
        if (!batch->more_ids)
            batch->more_ids = malloc (ZC_WIRE_MAX_ACK_IDS * sizeof (zc_id_t));
        batch->more_ids [batch->more_count++] = msg->id;
        if (batch->more_count == ZC_WIRE_MAX_ACK_IDS)
            zhashx_delete (self->ack_batches, node);       //  full: the next starts one
        zc_wire_destroy (msg_p);
    }
    *msg_p = NULL;
    return true;
}

//  Sends a message that promises stored state once the store committed.
static void
s_send_durable (s_agent_t *self, zc_wire_t **msg_p)
{
    if (zc_store_pending (self->store) || s_queued_before (self, NULL)) {
        if (!s_ack_batched (self, msg_p)) {
            s_queue_output (self, *msg_p, NULL, NULL);
            *msg_p = NULL;
        }
    }
    else
        s_send (self, msg_p);
}

//  The link-send function given to the outbox and the runner. An ACK or
//  a STARTED tells the origin its job is stored: it waits for the commit.
static int
s_link_send (zc_wire_t **msg_p, void *arg)
{
    s_agent_t *self = arg;
    uint8_t type = (*msg_p)->type;
    if (s_live_uplink (self) && (type == ZC_MSG_ACK || type == ZC_MSG_STARTED)) {
        s_send_durable (self, msg_p);
        return 0;
    }
    return s_send (self, msg_p);
}

//  Commits the store and lets the queued output go.
static int
s_commit_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_agent_t *self = arg;
    self->commit_timer = -1;
    if (zc_store_commit (self->store) != 0) {
        //  The disk refused: nothing leaves; try again shortly.
        self->commit_timer = zloop_timer (self->loop, 100, 1, s_commit_timer, self);
        return 0;
    }
    zhashx_purge (self->ack_batches);
    s_output_t *output;
    while ((output = zlist_pop (self->outgoing))) {
        if (output->msg) {
            if (output->more_count)
                output->msg->payload = zc_wire_ids_payload (output->more_ids, output->more_count);
            free (output->more_ids);
            s_send (self, &output->msg);
        }
        else {
            //  Answers to one client leave together, in one write.
            zc_jsonl_queue (output->conn, output->answer);
            s_output_t *next = zlist_first (self->outgoing);
            if (!next || next->conn != output->conn)
                zc_jsonl_flush (output->conn);
            json_decref (output->answer);
        }
        free (output);
    }
    zc_audit_flush ();
    //  The files whose messages that commit stored can go, and jobs
    //  stored as starting can be spawned (what they change goes in the
    //  next batch).
    if (self->readfolder)
        zc_readfolder_committed (self->readfolder);
    if (self->runner)
        zc_runner_committed (self->runner);
    if (zc_store_pending (self->store))
        s_commit_soon (self);
    return 0;
}

//  ---------------------------------------------------------------------
//  Socket answers

//  Sends an answer, echoing the request's tag; takes the object. With
//  'durable', it promises stored state and waits for the commit.
static void
s_answer_as (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *tag, json_t *answer, bool durable)
{
    if (tag)
        json_object_set (answer, "tag", tag);
    if ((durable && zc_store_pending (self->store)) || s_queued_before (self, conn))
        s_queue_output (self, NULL, conn, answer);
    else {
        zc_jsonl_send (conn, answer);
        json_decref (answer);
    }
}

static void
s_answer (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *tag, json_t *answer)
{
    s_answer_as (self, conn, tag, answer, false);
}

static void
s_answer_durable (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *tag, json_t *answer)
{
    s_answer_as (self, conn, tag, answer, true);
}

//  Ends a wait: the "end" line, then the connection takes its next request.
static void
s_wait_end (s_agent_t *self, s_wait_t *wait)
{
    json_t *pending = json_array ();
    for (char *key = zlist_first (wait->pending); key; key = zlist_next (wait->pending))
        json_array_append_new (pending, json_string (key));
    s_answer (self, wait->conn, wait->tag, json_pack ("{s:b, s:o}", "end", 1, "pending", pending));
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

//  A job this agent gave up on is reported to the error_node (the caller
//  checks that one is configured): its ID, node, state and reason as a JSON text. The report
//  is sent once, best effort (it is not queued while the link is down).
static void
s_report_error (s_agent_t *self, json_t *job)
{
    json_t *event = json_pack ("{s:O, s:O, s:O, s:O}", "id", json_object_get (job, "id"),
                               "node", json_object_get (job, "node"), "state", json_object_get (job, "state"),
                               "error", json_object_get (job, "error"));
    zc_wire_t *msg = zc_wire_new (ZC_MSG_ERROR);
    msg->code = ZC_ERR_JOB_EVENT;
    msg->text = json_dumps (event, JSON_COMPACT);
    if (msg->text && strlen (msg->text) > 1024)
        msg->text [1024] = 0;       //  the wire's bound; the reason is cut
    zlist_append (msg->to, self->config->error_node);
    json_decref (event);
    s_send (self, &msg);
}

//  A job reached its final state: the clients waiting for it get it.
static void
s_job_final (zc_delivery_t *delivery, const char *job_id, bool given_up, void *arg)
{
    s_agent_t *self = arg;
    json_t *job = NULL;         //  built only when someone needs it
    if (given_up && self->config->error_node) {
        job = zc_delivery_job_json (delivery, job_id);
        s_report_error (self, job);
    }
    zlist_t *ended = zlist_new ();
    for (s_wait_t *wait = zlist_first (self->waits); wait; wait = zlist_next (self->waits)) {
        char *key = zlist_first (wait->pending);
        while (key && strcmp (key, job_id) != 0)
            key = zlist_next (wait->pending);
        if (!key)
            continue;
        zlist_remove (wait->pending, key);     //  autofree: frees key
        if (!job)
            job = zc_delivery_job_json (delivery, job_id);
        s_answer (self, wait->conn, wait->tag, json_incref (job));
        if (zlist_size (wait->pending) == 0)
            zlist_append (ended, wait);
    }
    json_decref (job);
    for (s_wait_t *wait = zlist_first (ended); wait; wait = zlist_next (ended))
        s_wait_end (self, wait);
    zlist_destroy (&ended);
}

//  ---------------------------------------------------------------------
//  Messages from the hub

//  Answers a ping request and lets its connection take the next request.
static void
s_ping_end (s_agent_t *self, s_ping_t *ping, json_t *answer)
{
    s_answer (self, ping->conn, ping->tag, answer);
    zc_jsonl_hold (ping->conn, false);
    if (ping->timer_id != -1)
        zloop_timer_end (self->loop, ping->timer_id);
    zlist_remove (self->pings, ping);
    json_decref (ping->tag);
    free (ping);
}

//  The hub could not route some names of message 'id'. Jobs to them wait
//  for the name's presence; so does a REPLY to an absent origin.
static void
s_on_noroute (s_agent_t *self, zc_wire_t *msg)
{
    for (char *name = zlist_first (msg->names); name; name = zlist_next (msg->names)) {
        zc_delivery_on_noroute (self->delivery, &msg->id, name);
        zc_runner_on_noroute (self->runner, &msg->id, name);
    }
    //  Pings to an absent node get their answer at once.
    for (s_ping_t *ping = zlist_first (self->pings); ping; ping = zlist_next (self->pings))
        if (zc_id_equal (&ping->id, &msg->id)) {
            char text [160];
            snprintf (text, sizeof text, "%s is not reachable now (offline or unknown)", ping->node);
            s_ping_end (self, ping, json_pack ("{s:s, s:b, s:s}", "node", ping->node,
                                               "pong", 0, "reason", text));
            break;
        }
}

static void
s_on_presence (s_agent_t *self, zc_wire_t *msg)
{
    if (!msg->online)
        return;
    for (char *name = zlist_first (msg->names); name; name = zlist_next (msg->names)) {
        zc_delivery_on_presence (self->delivery, name);
        zc_runner_on_presence (self->runner, name);
    }
}

//  Writes what changed in the directory to the store, so it survives a
//  restart.
static void
s_directory_save (s_agent_t *self)
{
    size_t count;
    zc_node_entry_t *changes = zc_directory_take_changes (self->directory, &count);
    for (size_t index = 0; index < count; index++) {
        zframe_t *frame = zc_wire_node_record (&changes [index]);
        if (frame)
            zc_store_put (self->store, ZC_TABLE_DIRECTORY, changes [index].name,
                          zframe_data (frame), zframe_size (frame));
        zframe_destroy (&frame);
    }
    free (changes);
    if (count)
        s_commit_soon (self);
}

//  Brings back one stored directory entry.
static int
s_load_node (const char *key, const void *value, size_t size, void *arg)
{
    s_agent_t *self = arg;
    zframe_t *frame = zframe_new (value, size);
    zc_node_entry_t entry;
    if (zc_wire_node_record_decode (frame, &entry) == 0 && streq (entry.name, key)) {
        //  Nobody is online until the hub says so.
        entry.online = false;
        zc_directory_update (self->directory, &entry);
    }
    else
        zc_error ("store: directory record %s is unreadable; skipped", key);
    zframe_destroy (&frame);
    return 0;
}

static void
s_on_nodes (s_agent_t *self, zc_uplink_t *uplink, zc_wire_t *msg)
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
    s_directory_save (self);
    if (msg->flags & ZC_FLAG_FULL)
        zc_uplink_set_up (uplink);      //  the hub answered our HELLO
}

//  A link to a hub went up or down. What may have been lost on the way
//  is sent again (targets dedup) when the link messages now leave on
//  changed: a first link up, or the one in use gone with another up.
static void
s_uplink_state (zc_uplink_t *uplink, bool up, void *arg)
{
    s_agent_t *self = arg;
    zc_uplink_t *live = s_live_uplink (self);
    if ((up && live == uplink) || (!up && live)) {
        zc_delivery_link_up (self->delivery);
        zc_runner_link_up (self->runner);
    }
}

static void
s_on_pong (s_agent_t *self, zc_wire_t *msg)
{
    for (s_ping_t *ping = zlist_first (self->pings); ping; ping = zlist_next (self->pings))
        if (zc_id_equal (&ping->id, &msg->id) && streq (ping->node, msg->from)) {
            double rtt = (zclock_usecs () - ping->started_us) / 1000.0;
            s_ping_end (self, ping, json_pack ("{s:s, s:b, s:f}", "node", ping->node,
                                               "pong", 1, "time_ms", rtt));
            return;
        }
}


//  Another agent reports a job of its that failed or expired (this node
//  is its error_node): the event goes to the log and to DATA/errors.log,
//  one line each.
static void
s_on_job_event (s_agent_t *self, zc_wire_t *msg)
{
    zc_warn ("error event from %s: %s", msg->from, msg->text);
    if (!self->errors)
        return;
    //  The text should be a JSON object; anything else is kept as a string.
    json_t *event = json_loads (msg->text, 0, NULL);
    if (!json_is_object (event)) {
        json_decref (event);
        event = json_string (msg->text);
    }
    json_t *line = json_pack ("{s:s, s:I, s:o}", "from", msg->from,
                              "time", (json_int_t) time (NULL), "event", event);
    char *text = json_dumps (line, JSON_COMPACT);
    if (text)
        fprintf (self->errors, "%s\n", text);
    fflush (self->errors);
    free (text);
    json_decref (line);
}

//  An ACK from a target (it stored our job) or from an origin (it
//  stored our result), for its own ID and those in its payload.
static void
s_on_ack (s_agent_t *self, zc_wire_t *msg)
{
    if (msg->flags & (ZC_FLAG_CUSTODY | ZC_FLAG_RELAYED))
        //  A large REPLY on its way for the job is not needed any more.
        zc_bulk_forget (self->bulk, &msg->id, msg->from, zlist_first (msg->names));
    if (msg->flags & ZC_FLAG_CUSTODY) {
        //  Between an origin and a relay, about the targets named.
        zc_delivery_on_custody_ack (self->delivery, &msg->id, msg->from, msg->names);
        return;
    }
    if (msg->flags & ZC_FLAG_RELAYED) {
        //  From a target (it stored the job we relay) or from a relay
        //  (it stored the result we sent for the origin named).
        zc_delivery_on_ack (self->delivery, &msg->id, msg->from);
        zc_runner_on_ack (self->runner, &msg->id, zlist_first (msg->names), msg->from);
        return;
    }
    zc_id_t *more = NULL;
    size_t count = 0;
    if (msg->payload && zc_wire_ids_payload_decode (msg->payload, &more, &count) != 0) {
        self->count.malformed++;
        return;
    }
    for (size_t index = 0; index <= count; index++) {
        const zc_id_t *id = index? &more [index - 1]: &msg->id;
        zc_delivery_on_ack (self->delivery, id, msg->from);
        zc_runner_on_ack (self->runner, id, msg->from, NULL);
        zc_bulk_forget (self->bulk, id, msg->from, NULL);
    }
    free (more);
}

//  A result. At a relay, one for a job it holds in custody: checked as
//  its target's (the target seals it for us around the origin's
//  envelope), kept sealed for the origin and forwarded. At the origin:
//  opened and recorded. Either way it is stored first; the ACK, also for
//  a duplicate, then waits for the commit that holds it. What is not
//  authentic is dropped without an ACK.
static void
s_on_reply (s_agent_t *self, zc_wire_t *msg)
{
    bool custody = (msg->flags & ZC_FLAG_CUSTODY) != 0;
    bool relayed = (msg->flags & ZC_FLAG_RELAYED) != 0;
    bool refused = (msg->flags & ZC_FLAG_REFUSED) != 0;
    char reason [256];
    if (relayed) {
        zc_seal_about_t hop = { .id = &msg->id, .origin = self->config->name, .target = msg->from,
                                .relay = "", .method = refused };
        zframe_t *inner = NULL;
        if (zc_seal_open_reply (self->seal, &hop, msg->payload, &inner, NULL, reason, sizeof reason) != 0) {
            zc_warn ("dropped a result for a job held for %s: %s",
                     zlist_size (msg->names)? (char *) zlist_first (msg->names): "?", reason);
            self->count.forged++;
            return;
        }
        zc_delivery_on_envelope (self->delivery, &msg->id, msg->from, inner, refused);
        zframe_destroy (&inner);
    }
    else {
        //  A relay's REPLY names the target whose result it carries;
        //  only the relay that holds a job answers for its target.
        const char *target = custody? zlist_first (msg->names): msg->from;
        if (!target) {
            self->count.malformed++;
            return;
        }
        if (custody && !zc_delivery_may_answer (self->delivery, &msg->id, target, msg->from)) {
            zc_warn ("dropped a result for %s from %s, which does not hold that job", target, msg->from);
            self->count.forged++;
            return;
        }
        zc_seal_about_t about = { .id = &msg->id, .origin = self->config->name, .target = target,
                                  .relay = custody? msg->from: "", .method = refused };
        zframe_t *payload = NULL;
        zc_result_t *result = NULL;
        bool by_relay = false;
        if (zc_seal_open_reply (self->seal, &about, msg->payload, &payload, &by_relay,
                                reason, sizeof reason) != 0) {
            //  Not from the target: a hub or relay made or altered it.
            zc_warn ("dropped a result for a job on %s: %s", target, reason);
            self->count.forged++;
            return;
        }
        int rc = zc_wire_result_payload_decode (payload, &result);
        zframe_destroy (&payload);
        //  A relay only reports that it gave up or dropped the job; a
        //  refusal is a denial that never started. Anything else is
        //  authentic but wrong: ACKed, so that it stops, and not recorded.
        bool acceptable = rc == 0
            && (!by_relay || result->state == ZC_STATE_FAILED || result->state == ZC_STATE_EXPIRED
                          || result->state == ZC_STATE_CANCELLED)
            && (!refused || (result->state == ZC_STATE_DENIED && !result->started_ms));
        if (acceptable)
            zc_delivery_on_reply (self->delivery, &msg->id, target, &result);
        else {
            zc_warn ("dropped a result for a job on %s that %s could not make", target,
                     by_relay? msg->from: target);
            self->count.malformed++;
            zc_result_destroy (&result);
        }
    }
    zc_wire_t *ack = zc_wire_new (ZC_MSG_ACK);
    ack->id = msg->id;
    zlist_append (ack->to, msg->from);
    ack->flags = msg->flags & (ZC_FLAG_CUSTODY | ZC_FLAG_RELAYED);
    for (char *name = zlist_first (msg->names); ack->flags && name; name = zlist_next (msg->names))
        zlist_append (ack->names, name);
    s_send_durable (self, &ack);
}

//  Handles one decoded message from one of our hubs.
static void
s_on_hub_message (zc_uplink_t *uplink, zc_wire_t *msg, void *arg)
{
    s_agent_t *self = arg;
    if (msg->flags & ZC_FLAG_CHUNK) {
        //  A part of a large REPLY, or how much of ours arrived.
        if (msg->type == ZC_MSG_ACK)
            zc_bulk_on_ack (self->bulk, msg);
        else
        if (msg->type == ZC_MSG_REPLY) {
            bool malformed;
            zc_wire_t *whole = zc_bulk_on_chunk (self->bulk, msg, &malformed);
            self->count.malformed += malformed;
            if (whole)
                s_on_hub_message (uplink, whole, self);
            zc_wire_destroy (&whole);
        }
        return;
    }
    switch (msg->type) {
        case ZC_MSG_NODES:
            s_on_nodes (self, uplink, msg);
            break;
        case ZC_MSG_PRESENCE:
            s_on_presence (self, msg);
            break;
        case ZC_MSG_NOROUTE:
            s_on_noroute (self, msg);
            break;
        case ZC_MSG_REQ:
            if (msg->flags & ZC_FLAG_CUSTODY)
                zc_delivery_take_custody (self->delivery, msg);   //  we are the relay
            else
                zc_runner_request (self->runner, msg);
            break;
        case ZC_MSG_ACK:
            s_on_ack (self, msg);
            break;
        case ZC_MSG_STARTED:
            zc_delivery_on_ack (self->delivery, &msg->id, msg->from);
            break;
        case ZC_MSG_REPLY:
            s_on_reply (self, msg);
            break;
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
        case ZC_MSG_ERROR:
            //  The hub's own refusals are the uplink's business.
            if (msg->code == ZC_ERR_JOB_EVENT && *msg->from)
                s_on_job_event (self, msg);
            break;
        default:
            zc_debug ("ignored %s from the hub", zc_wire_type_name (msg->type));
    }
    if (zc_store_pending (self->store))
        s_commit_soon (self);
}





static int
s_prune_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_agent_t *self = arg;
    zc_delivery_prune (self->delivery, self->config->results_ttl);
    zc_runner_prune (self->runner);
    zlist_t *forgotten = zc_directory_forget (self->directory, (uint64_t) time (NULL),
                                              (uint64_t) self->config->forget_after);
    for (char *name = zlist_first (forgotten); name; name = zlist_next (forgotten))
        zc_store_del (self->store, ZC_TABLE_DIRECTORY, name);
    zlist_destroy (&forgotten);
    if (zc_store_pending (self->store))
        s_commit_soon (self);
    return 0;
}

static int
s_tick_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_agent_t *self = arg;
    zc_delivery_tick (self->delivery);     //  expiry runs even while the hub is away
    zc_bulk_tick (self->bulk);
    if (s_live_uplink (self))
        zc_runner_tick (self->runner);
    if (zc_store_pending (self->store))
        s_commit_soon (self);
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

//  Resolves a message's targets and stores its jobs (sent after the next
//  commit). Returns the job IDs (a new list, in target order) with
//  *targets and *unknown filled, or NULL with *error malloc'd and *code
//  the error code for the socket (usage, nomatch or full).
static zlist_t *
s_submit (s_agent_t *self, zc_message_t *message, zlist_t **targets, zlist_t **unknown,
          char **error, const char **code)
{
    //  One exact name, the common case, needs no list of every known node.
    zlist_t *known = NULL;
    int rc = 0;
    if (zc_target_is_single (message->to)) {
        *targets = zlist_new ();
        zlist_autofree (*targets);
        zlist_append (*targets, message->to);
        *unknown = zlist_new ();
        zlist_autofree (*unknown);
        if (!zc_directory_lookup (self->directory, message->to) && strcmp (message->to, self->config->name))
            zlist_append (*unknown, message->to);
    }
    else {
        known = s_known_names (self);
        rc = zc_target_resolve (message->to, known, targets, unknown, error);
    }
    zlist_t *job_ids = NULL;
    *code = "usage";
    if (rc == 0) {
        if (zlist_size (*targets) == 0) {
            *code = "nomatch";
            *error = zsys_sprintf ("'%s' matches no known node", message->to);
        }
        else
        if ((job_ids = zc_delivery_submit (self->delivery, message, *targets, error))) {
            self->count.submitted += zlist_size (job_ids);
            zc_debug ("accepted %zu job(s) for '%s'", zlist_size (job_ids), message->to);
            s_commit_soon (self);
        }
        else
            *code = "full";
    }
    zlist_destroy (&known);
    return job_ids;
}

//  A message from a readfolder file, submitted as a socket request would
//  be (without the socket fields). Its jobs are stored by the next commit,
//  after which the folder removes the file (zc_readfolder_defer).
//  0 accepted, -1 refused, 1 the queue is full (the file waits).
static int
s_readfolder_submit (json_t *object, char **error, void *arg)
{
    s_agent_t *self = arg;
    const char *field = NULL;
    zc_message_t *message = zc_message_from_json (object, NULL, error, &field);
    if (!message)
        return -1;
    zlist_t *targets = NULL, *unknown = NULL;
    const char *code;
    zlist_t *job_ids = s_submit (self, message, &targets, &unknown, error, &code);
    int rc = job_ids? 0: streq (code, "full")? 1: -1;
    zlist_destroy (&job_ids);
    zlist_destroy (&targets);
    zlist_destroy (&unknown);
    zc_message_destroy (&message);
    return rc;
}

static void
s_request_message (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    static const char *socket_fields [] = { "wait", "tag", NULL };
    json_t *wait_value = json_object_get (request, "wait");
    if (wait_value && (!json_is_number (wait_value) || json_number_value (wait_value) < 0
                       || json_number_value (wait_value) > 30 * 86400)) {
        s_answer (self, conn, tag, zc_message_error_json ("\"wait\" must be a number of seconds", "usage", "wait"));
        return;
    }
    char *error = NULL;
    const char *field = NULL;
    zc_message_t *message = zc_message_from_json (request, socket_fields, &error, &field);
    if (!message) {
        s_answer (self, conn, tag, zc_message_error_json (error, "usage", field));
        free (error);
        return;
    }
    zlist_t *targets = NULL, *unknown = NULL;
    const char *code;
    zlist_t *job_ids = s_submit (self, message, &targets, &unknown, &error, &code);
    if (!job_ids) {
        s_answer (self, conn, tag, zc_message_error_json (error, code, streq (code, "full")? NULL: "to"));
        free (error);
    }
    else {
        //  Built without json_pack, whose format parsing cost as much as
        //  the rest: this answer goes out for every job.
        json_t *ids = json_array ();
        char *node = zlist_first (targets);
        for (char *job_id = zlist_first (job_ids); job_id; job_id = zlist_next (job_ids)) {
            json_t *entry = json_object ();
            json_object_set_new_nocheck (entry, "node", json_string_nocheck (node));
            json_object_set_new_nocheck (entry, "id", json_string_nocheck (job_id));
            json_array_append_new (ids, entry);
            node = zlist_next (targets);
        }
        json_t *unknown_json = json_array ();
        for (node = zlist_first (unknown); node; node = zlist_next (unknown))
            json_array_append_new (unknown_json, json_string_nocheck (node));
        json_t *answer = json_object ();
        json_object_set_new_nocheck (answer, "ids", ids);
        json_object_set_new_nocheck (answer, "unknown", unknown_json);
        s_answer_durable (self, conn, tag, answer);
        if (wait_value) {
            s_wait_t *wait = calloc (1, sizeof *wait);
            wait->conn = conn;
            wait->tag = tag? json_incref (tag): NULL;
            wait->pending = job_ids;
            job_ids = NULL;
            wait->timer_id = zloop_timer (self->loop, (size_t) (json_number_value (wait_value) * 1000),
                                          1, s_wait_timeout, wait);
            zlist_append (self->waits, wait);
            zc_jsonl_hold (conn, true);
            //  Jobs that ended already (refused as they left) are answered now.
            zlist_t *ended = zlist_new ();
            zlist_autofree (ended);
            for (char *key = zlist_first (wait->pending); key; key = zlist_next (wait->pending))
                if (zc_delivery_is_final (self->delivery, key))
                    zlist_append (ended, key);
            for (char *key = zlist_first (ended); key; key = zlist_next (ended))
                s_job_final (self->delivery, key, false, self);
            zlist_destroy (&ended);
        }
        zlist_destroy (&job_ids);
    }
    zlist_destroy (&targets);
    zlist_destroy (&unknown);
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
    s_answer (self, conn, tag, json_pack ("{s:o}", "nodes", nodes));
}

static void
s_op_status (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *tag)
{
    size_t queued, inflight;
    zc_delivery_counts (self->delivery, &queued, &inflight);
    size_t running = zc_runner_running (self->runner);
    json_t *hubs = json_array ();
    for (zc_uplink_t *uplink = zlist_first (self->uplinks); uplink; uplink = zlist_next (self->uplinks))
        json_array_append_new (hubs, json_pack ("{s:s, s:s, s:b}", "name", zc_uplink_name (uplink),
                                                "endpoint", zc_uplink_endpoint (uplink),
                                                "connected", zc_uplink_is_up (uplink)));
    s_answer (self, conn, tag, json_pack ("{s:s, s:o, s:I, s:I, s:I, s:I}",
        "name", self->config->name, "hubs", hubs, "queued", (json_int_t) queued,
        "inflight", (json_int_t) inflight, "running", (json_int_t) running,
        "nodes", (json_int_t) zc_directory_size (self->directory)));
}

static void
s_op_jobs (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    json_t *id = json_object_get (request, "id");
    json_t *jobs;
    if (id) {
        json_t *job = json_is_string (id)? zc_delivery_job_json (self->delivery, json_string_value (id)): NULL;
        if (!job) {
            char *text = zsys_sprintf ("no job %s was sent from this agent",
                                       json_is_string (id)? json_string_value (id): "(not a string)");
            s_answer (self, conn, tag, zc_message_error_json (text, "usage", "id"));
            free (text);
            return;
        }
        jobs = json_pack ("[o]", job);
    }
    else
        jobs = zc_delivery_jobs_json (self->delivery);
    s_answer (self, conn, tag, json_pack ("{s:o}", "jobs", jobs));
}

//  {"op":"queue","action":"list|cancel|purge", "id":..., "older_than":...}
static void
s_op_queue (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    const char *action = json_string_value (json_object_get (request, "action"));
    if (action && streq (action, "list"))
        s_answer (self, conn, tag, json_pack ("{s:o}", "jobs", zc_delivery_queue_json (self->delivery)));
    else
    if (action && streq (action, "cancel")) {
        const char *id = json_string_value (json_object_get (request, "id"));
        char *error = NULL;
        if (!id)
            s_answer (self, conn, tag, zc_message_error_json ("cancel needs \"id\": a job ID", "usage", "id"));
        else
        if (zc_delivery_cancel (self->delivery, id, &error) != 0) {
            s_answer (self, conn, tag, zc_message_error_json (error, "usage", "id"));
            free (error);
        }
        else
            s_answer_durable (self, conn, tag, json_pack ("{s:s}", "cancelled", id));
    }
    else
    if (action && streq (action, "purge")) {
        json_t *older_than = json_object_get (request, "older_than");
        if (older_than && (!json_is_number (older_than) || json_number_value (older_than) < 0
                           || json_number_value (older_than) > 3650 * 86400.0))
            s_answer (self, conn, tag, zc_message_error_json ("\"older_than\" must be a number of seconds (at most 10 years)",
                                                              "usage", "older_than"));
        else {
            size_t count = zc_delivery_purge (self->delivery, older_than? json_number_value (older_than): 0);
            s_answer_durable (self, conn, tag, json_pack ("{s:I}", "purged", (json_int_t) count));
        }
    }
    else
        s_answer (self, conn, tag, zc_message_error_json ("queue needs \"action\": list, cancel or purge",
                                                          "usage", "action"));
}

static int
s_ping_timeout (zloop_t *loop, int timer_id, void *arg)
{
    s_ping_t *ping = arg;
    s_agent_t *self = zc_jsonl_data (ping->conn);
    char text [160];
    snprintf (text, sizeof text, "no answer from %s in time", ping->node);
    ping->timer_id = -1;        //  a one-shot timer is gone once it fired
    s_ping_end (self, ping, json_pack ("{s:s, s:b, s:s, s:b}", "node", ping->node,
                                       "pong", 0, "reason", text, "timeout", 1));
    return 0;
}

static void
s_op_ping (s_agent_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    const char *node = json_string_value (json_object_get (request, "node"));
    json_t *timeout = json_object_get (request, "timeout");
    double seconds = timeout? json_number_value (timeout): 5;
    if (!node || !zc_name_valid (node)) {
        s_answer (self, conn, tag, zc_message_error_json ("ping needs \"node\": a node name", "usage", "node"));
        return;
    }
    if ((timeout && !json_is_number (timeout)) || seconds <= 0 || seconds > 86400) {
        s_answer (self, conn, tag, zc_message_error_json ("\"timeout\" must be a number of seconds", "usage", "timeout"));
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
    zc_jsonl_hold (conn, true);
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
        s_answer (self, conn, NULL, zc_message_error_json (text, "usage", NULL));
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
        else
        if (name && streq (name, "queue"))
            s_op_queue (self, conn, request, tag);
        else {
            char *text = zsys_sprintf ("unknown op '%s' (known: nodes, status, jobs, ping, queue)", name? name: "?");
            s_answer (self, conn, tag, zc_message_error_json (text, "usage", "op"));
            free (text);
        }
    }
    json_decref (request);
    if (zc_store_pending (self->store))
        s_commit_soon (self);
}

//  A client went away: forget its waits and pings.
static void
s_on_close (zc_jsonl_conn_t *conn, void *arg)
{
    s_agent_t *self = arg;
    zlist_t *gone = zlist_new ();
    for (s_output_t *output = zlist_first (self->outgoing); output; output = zlist_next (self->outgoing))
        if (output->conn == conn)
            zlist_append (gone, output);
    for (s_output_t *output = zlist_first (gone); output; output = zlist_next (gone)) {
        zlist_remove (self->outgoing, output);
        json_decref (output->answer);
        free (output);
    }
    zlist_purge (gone);
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

//  Reads the keys directory again. A cert gone (revoked) means that
//  peer's jobs are refused and its results dropped from now on.
static void
s_keys_reload (s_agent_t *self, const char *why)
{
    if (!zc_keyring_reload (&self->keyring, &self->keys_stamp, self->config->keys, why))
        return;
    zc_seal_set_keyring (self->seal, self->keyring);
    if (s_live_uplink (self))
        zc_delivery_keys_changed (self->delivery);
}

//  Reads the policy file again; a broken one leaves the old rules on.
static void
s_policy_reload (s_agent_t *self)
{
    if (!self->config->policy)
        return;
    char *error = NULL;
    zc_policy_t *policy = zc_policy_load (self->config->policy, &error);
    if (!policy) {
        zc_error ("cannot reload the policy: %s; keeping the old rules", error);
        free (error);
        return;
    }
    zc_runner_set_policy (self->runner, policy);
    zc_policy_destroy (&self->policy);
    self->policy = policy;
    zc_info ("policy reloaded: %zu rule(s) from %s", zc_policy_size (policy), self->config->policy);
}

static int
s_keys_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_agent_t *self = arg;
    if (zc_keyring_dir_stamp (self->config->keys) != self->keys_stamp)
        s_keys_reload (self, "keys directory changed");
    return 0;
}

static int
s_signal_event (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_agent_t *self = arg;
    int signal = zc_signals_read (self->signal_fd);
    if (signal == SIGHUP) {
        s_keys_reload (self, "SIGHUP");
        s_policy_reload (self);
        return 0;
    }
    if (signal) {
        zc_info ("stopping on signal %d", signal);
        return -1;
    }
    return 0;
}

//  Dials every configured hub. 0, or -1 (logged).
static int
s_connect (s_agent_t *self, zcert_t *cert)
{
    zc_config_t *config = self->config;
    for (zc_peer_addr_t *hub = zlist_first (config->hubs); hub; hub = zlist_next (config->hubs)) {
        char *error = NULL;
        zc_uplink_t *uplink = zc_uplink_new (self->loop, config, cert, hub, "agent/hub",
                                             s_on_hub_message, s_uplink_state, self, &error);
        if (!uplink) {
            zc_error ("%s", error);
            free (error);
            return -1;
        }
        zlist_append (self->uplinks, uplink);
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
    //  libzmq spreads reconnects with rand(), and czmq seeds it with the
    //  time in seconds: peers started in the same second would all come
    //  back at the same moment after a hub restart.
    zc_uplink_seed_random ();
    int status = 1;
    char *error = NULL;
    if (mkdir (config->data, 0700) == -1 && errno != EEXIST) {
        zc_error ("cannot create data directory %s: %s", config->data, strerror (errno));
        return 1;
    }
    uint8_t sign_secret [64];
    self->keys_stamp = zc_keyring_dir_stamp (config->keys);
    zcert_t *cert = zc_key_load_own_signing (config->keys, config->name, sign_secret, &error);
    if (cert && !(self->keyring = zc_keyring_load (config->keys, &error)))
        zcert_destroy (&cert);
    if (!cert) {
        zc_error ("%s", error);
        free (error);
        sodium_memzero (sign_secret, sizeof sign_secret);
        return 1;
    }
    if (config->policy && !(self->policy = zc_policy_load (config->policy, &error))) {
        zc_error ("%s: agent/policy: %s", config->path, error);
        free (error);
        zcert_destroy (&cert);
        zc_keyring_destroy (&self->keyring);
        sodium_memzero (sign_secret, sizeof sign_secret);
        return 1;
    }
    self->seal = zc_seal_new (config->name, zcert_secret_key (cert), sign_secret, self->keyring,
                              config->e2e);
    if (!config->e2e)
        zc_warn ("%s: agent/e2e is off: jobs and results from here travel in clear and unauthenticated"
                 " (agents with e2e on refuse them), and this agent runs such jobs, which any hub"
                 " can forge in the name of any agent whose cert is here", config->path);
    sodium_memzero (sign_secret, sizeof sign_secret);
    char *store_path = zsys_sprintf ("%s/store", config->data);
    self->store = zc_store_open (store_path, true, &error);
    free (store_path);
    if (!self->store) {
        zc_error ("%s", error);
        free (error);
        zcert_destroy (&cert);
        zc_seal_destroy (&self->seal);
        zc_keyring_destroy (&self->keyring);
        zc_policy_destroy (&self->policy);
        return 1;
    }
    char *audit_path = zsys_sprintf ("%s/audit.log", config->data);
    if (zc_audit_open (audit_path) != 0)
        zc_warn ("cannot open the audit log %s: %s; job events are not recorded", audit_path, strerror (errno));
    free (audit_path);
    char *errors_path = zsys_sprintf ("%s/errors.log", config->data);
    self->errors = fopen (errors_path, "ae");
    free (errors_path);
    self->loop = zloop_new ();
    self->uplinks = zlist_new ();
    self->outgoing = zlist_new ();
    self->ack_batches = zhashx_new ();
    self->commit_timer = -1;
    self->directory = zc_directory_new ();
    zc_store_each (self->store, ZC_TABLE_DIRECTORY, s_load_node, self);
    free (zc_directory_take_changes (self->directory, &(size_t) { 0 }));
    zc_queue_cap_t cap = { .max_jobs = config->queue_max_jobs, .max_bytes = config->queue_max_bytes };
    self->delivery = zc_delivery_new (self->store, config->name, cap, s_link_send, s_job_final, self);
    self->bulk = zc_bulk_new (s_bulk_send, self);
    self->runner = zc_runner_new (self->loop, self->store, config->name, config->max_output,
                                  config->skew, s_link_send, self);
    zc_delivery_set_seal (self->delivery, self->seal);
    zc_runner_set_seal (self->runner, self->seal);
    zc_runner_set_policy (self->runner, self->policy);
    //  Whom jobs run as, where, and their clean environment: looked up
    //  when the config was loaded, fixed from now on.
    zc_exec_context_t *exec_context = zc_exec_context_new (&(zc_exec_options_t) {
        .user = config->job_user, .home = config->job_home, .workdir = config->workdir,
        .path = config->job_path, .switch_user = config->job_switch,
        .uid = config->job_uid, .gid = config->job_gid,
        .groups = config->job_groups, .group_count = config->job_group_count,
        .pass_env = config->pass_env, .env = config->job_env });
    zc_runner_set_exec_context (self->runner, exec_context);
    if (config->job_switch)
        zc_info ("jobs run as user %s (uid %u, gid %u)", config->job_user,
                 (unsigned) config->job_uid, (unsigned) config->job_gid);
    int jobs = zc_delivery_load (self->delivery);
    int tasks = zc_runner_load (self->runner);
    if (jobs > 0 || tasks > 0)
        zc_info ("store: %d job(s) sent from here and %d received came back", jobs, tasks);
    self->waits = zlist_new ();
    self->pings = zlist_new ();
    self->logged = zhashx_new ();
    if (!exec_context)
        zc_error ("cannot prepare the environment of jobs: out of memory");
    else
    if (s_connect (self, cert) == 0) {
        self->server = zc_jsonl_new (self->loop, config->socket, config->socket_group,
                                     s_on_line, s_on_close, self, &error);
        if (!self->server) {
            zc_error ("%s: agent/socket: %s", config->path, error);
            free (error);
        }
    }
    if (self->server && config->readfolder) {
        self->readfolder = zc_readfolder_new (self->loop, config->readfolder, 1000,
                                              s_readfolder_submit, self, &error);
        if (self->readfolder)
            zc_readfolder_defer (self->readfolder);
        else {
            zc_error ("%s: agent/readfolder: %s", config->path, error);
            free (error);
            zc_jsonl_destroy (&self->server);
        }
    }
    if (self->server) {
        self->signal_item = (zmq_pollitem_t) { .fd = self->signal_fd, .events = ZMQ_POLLIN };
        zloop_poller (self->loop, &self->signal_item, s_signal_event, self);
        zloop_timer (self->loop, S_RETRY_TICK_MS, 0, s_tick_timer, self);
        zloop_timer (self->loop, S_PRUNE_MS, 0, s_prune_timer, self);
        zloop_timer (self->loop, S_KEYS_CHECK_MS, 0, s_keys_timer, self);
        zc_info ("agent %s started; %zu hub(s); socket %s", config->name,
                 zlist_size (self->uplinks), config->socket);
        zloop_start (self->loop);
        zc_info ("agent %s stopped (submitted %" PRIu64 ", malformed %" PRIu64
                 ", results not authentic %" PRIu64 ", jobs refused %zu)",
                 config->name, self->count.submitted, self->count.malformed,
                 self->count.forged, zc_runner_refused (self->runner));
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
    //  Jobs still running are killed with their process groups and
    //  recorded as interrupted; the last batch is committed.
    zc_runner_destroy (&self->runner);
    zc_exec_context_destroy (&exec_context);
    zc_delivery_destroy (&self->delivery);
    if (self->commit_timer != -1)
        zloop_timer_end (self->loop, self->commit_timer);
    s_commit_timer (self->loop, -1, self);
    zc_readfolder_destroy (&self->readfolder);
    zlist_destroy (&self->outgoing);
    zhashx_destroy (&self->ack_batches);
    zc_store_close (&self->store);
    zc_audit_close ();
    if (self->errors)
        fclose (self->errors);
    zhashx_destroy (&self->logged);
    zc_directory_destroy (&self->directory);
    zc_bulk_destroy (&self->bulk);
    while (zlist_size (self->uplinks)) {
        zc_uplink_t *uplink = zlist_pop (self->uplinks);
        zc_uplink_destroy (&uplink);
    }
    zlist_destroy (&self->uplinks);
    zloop_destroy (&self->loop);

    zcert_destroy (&cert);
    zc_seal_destroy (&self->seal);
    zc_keyring_destroy (&self->keyring);
    zc_policy_destroy (&self->policy);
    close (self->signal_fd);
    return status;
}
