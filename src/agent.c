/*  agent.c — the agent: its links to its hubs, and the glue between the
    outbox (jobs sent from here), the runner (jobs run here), the control
    socket and the group commit.

    One thread, one zloop: hub traffic, socket clients, job processes and
    timers are all events in it, so a slow job never blocks anything.
    The outbox (delivery.c), the runner (runner.c), large messages (bulk.c)
    and the socket protocol (control.c) do the work; this file dispatches
    events to them and owns their lifecycle. The store is committed by
    commit.c before anything that depends on a change leaves the process.
*/
#include <errno.h>
#include <sodium.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "prelude.h"
#include "agent.h"
#include "agentmetrics.h"
#include "audit.h"
#include "bulk.h"
#include "commit.h"
#include "control.h"
#include "daemon.h"
#include "delivery.h"
#include "directory.h"
#include "collect.h"
#include "errlog.h"
#include "errqueue.h"
#include "exec.h"
#include "facts.h"
#include "follow.h"
#include "keys.h"
#include "log.h"
#include "policy.h"
#include "pubsub.h"
#include "readfolder.h"
#include "replyto.h"
#include "runner.h"
#include "streamin.h"
#include "seal.h"
#include "startup.h"
#include "subject.h"
#include "testbed.h"
#include "testing.h"
#include "uplink.h"
#include "wire.h"

#define S_RETRY_TICK_MS     250     //  how often job timers are checked
#define S_PRUNE_MS          60000   //  how often old jobs are forgotten

struct _zc_agent_t {
    zc_config_t *config;
    zloop_t *loop;
    zc_daemon_t *daemon;        //  signals and the trusted certs
    zcert_t *cert;              //  our CURVE key pair
    zc_seal_t *seal;            //  end-to-end envelopes
    zc_policy_t *policy;        //  the policy file's rules, or NULL without one
    zc_store_t *store;
    zc_commit_t *commit;
    zc_directory_t *directory;
    //  The links to our hubs (zc_uplink_t), in the order configured.
    //  Messages go out on the first that is up.
    zlist_t *uplinks;
    zc_bulk_t *bulk;            //  large REQs and REPLYs in chunks, both ways
    zc_delivery_t *delivery;    //  jobs sent from here
    zc_replyto_t *replyto;      //  their reply methods
    zc_runner_t *runner;        //  jobs run here
    zc_streamin_t *streamin;    //  output streaming in for jobs sent from here
    zlist_t *copy_finals;       //  job IDs: copies' jobs that ended (s_copy_finals)
    int copy_timer;             //  s_copy_finals is due, or -1
    zc_pubsub_t *pubsub;        //  subscriptions and publications
    zc_follow_t *follow;        //  files followed (log shipping), or NULL
    zc_collect_t *collect;      //  subjects written to files, or NULL
    zc_exec_context_t *exec_context;
    zc_control_t *control;      //  the socket
    zc_agentmetrics_t *metrics; //  the metrics page (agent/metrics), or NULL
    zc_directory_use_t directory_use;   //  the node directory: subscribed, here
    zc_log_once_t *logged;      //  warnings logged once
    zc_readfolder_t *readfolder;    //  the drop folder, or NULL
    zc_startup_t *startup;      //  the startup folder's messages, or NULL
    zc_errqueue_t *errqueue;    //  error events for our error_node, or NULL without one
    zc_errlog_t *errlog;        //  DATA/errors.log: error events from other agents
    zc_facts_t *facts;          //  what this node advertises: built-in facts, labels, functions
    zframe_t *advert;           //  the same, encoded: what its HELLOs carry (uplink.h)
    zhashx_t *functions;        //  agent/function: name -> shell command (the runner's)
    int timers [2];
    uint64_t malformed;
};

//  What an agent's link to a hub may hold, in flight and queued (flow.h):
//  room for the chunks of a few large messages at once (bulk.h).
#define S_LINK_BUDGET (32u << 20)

//  ---------------------------------------------------------------------
//  Sending to the hub

//  The first of our hubs whose link is up, or NULL.
static zc_uplink_t *
s_live_uplink (zc_agent_t *self)
{
    for (zc_uplink_t *uplink = zlist_first (self->uplinks); uplink; uplink = zlist_next (self->uplinks))
        if (zc_uplink_is_up (uplink))
            return uplink;
    return NULL;
}

//  Sends a message to a hub; destroyed either way. -1 when no link is up
//  (the caller keeps the job queued and its timers try again). A large
//  REQ or REPLY goes in chunks (src/bulk.c).
static int
s_send (zc_wire_t **msg_p, void *arg)
{
    zc_agent_t *self = arg;
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

//  The link-send function of the outbox and the runner. An ACK or a
//  STARTED tells the other end its job or result is stored: it waits for
//  the commit.
static int
s_link_send (zc_wire_t **msg_p, void *arg)
{
    zc_agent_t *self = arg;
    uint8_t type = (*msg_p)->type;
    if (s_live_uplink (self) && (type == ZC_MSG_ACK || type == ZC_MSG_STARTED)) {
        zc_commit_send (self->commit, msg_p);
        return 0;
    }
    return s_send (msg_p, self);
}

//  What waits for a commit: the audit lines it holds, the files whose
//  messages it stored, the jobs it stored as starting, and the replies
//  to results it stored.
static void
s_committed (void *arg)
{
    zc_agent_t *self = arg;
    zc_audit_flush ();
    if (self->readfolder)
        zc_readfolder_committed (self->readfolder);
    if (self->runner)
        zc_runner_committed (self->runner);
    if (self->replyto)
        zc_replyto_committed (self->replyto);
}

//  ---------------------------------------------------------------------
//  Jobs ending, error events (errqueue.h: what goes to our error_node;
//  errlog.h: what comes from the agents whose error_node we are)

//  A job this agent gave up on is reported to the error_node.
static void
s_report_error (zc_agent_t *self, const char *job_id)
{
    json_t *job = zc_delivery_job_json (self->delivery, job_id);
    if (job)
        zc_errqueue_job (self->errqueue, job);
    json_decref (job);
}

//  A job refused here is reported to the error_node (runner.h).
static void
s_job_denied (const char *job_id, const char *origin, const char *relay, const char *method,
              const char *cause, const char *reason, void *arg)
{
    zc_agent_t *self = arg;
    zc_errqueue_denied (self->errqueue, &(zc_errqueue_denial_t) {
        .job_id = job_id, .origin = origin, .relay = relay, .method = method, .cause = cause,
        .reason = reason }, zclock_mono ());
}

//  Each warning and error line of this agent is reported to the
//  error_node (log.h, the tap), within the rate limits of errqueue.h.
static void
s_log_tap (bool error, const char *text, void *arg)
{
    zc_agent_t *self = arg;
    zc_errqueue_log (self->errqueue, error, text, zclock_mono ());
}

//  A STORED of an error node answers events that our errlog sent; it
//  leaves once what it says is committed.
static void
s_errlog_send (zc_wire_t **msg_p, void *arg)
{
    zc_commit_send (((zc_agent_t *) arg)->commit, msg_p);
}

//  The reply method of a job whose result is recorded, if it acts: it is
//  carried out after the commit that holds the result.
static void
s_reply_due (zc_agent_t *self, const char *job_id)
{
    const char *node;
    const zc_result_t *result;
    if (self->replyto && zc_delivery_reply_due (self->delivery, job_id, &node, &result))
        zc_replyto_add (self->replyto, job_id);
}

//  What a reply acts on: the outbox's job (replyto.h).
static const zc_reply_spec_t *
s_reply_lookup (const char *job_id, const char **node, const zc_result_t **result, void *arg)
{
    zc_agent_t *self = arg;
    return zc_delivery_reply_due (self->delivery, job_id, node, result);
}

//  A reply was given: the outbox forgets that it is due.
static void
s_reply_done (const char *job_id, void *arg)
{
    zc_agent_t *self = arg;
    zc_delivery_reply_done (self->delivery, job_id);
}

//  The copies' jobs that ended (s_job_final) go to their copies.
static int
s_copy_finals (zloop_t *loop, int timer_id, void *arg)
{
    zc_agent_t *self = arg;
    self->copy_timer = -1;
    char *job_id;
    while ((job_id = zlist_pop (self->copy_finals))) {
        json_t *job = zc_delivery_job_json (self->delivery, job_id);
        const char *state = json_string_value (json_object_get (job, "state"));
        zc_runner_job_final (self->runner, job_id, state && streq (state, "done")? ZC_STATE_DONE
                             : state && streq (state, "denied")? ZC_STATE_DENIED: ZC_STATE_FAILED,
                             json_string_value (json_object_get (job, "stdout")),
                             json_string_value (json_object_get (job, "error")));
        json_decref (job);
        free (job_id);
    }
    return 0;
}

//  A job reached its final state: the clients waiting for it get it, and
//  its reply method acts.
static void
s_job_final (zc_delivery_t *delivery, const char *job_id, bool given_up, void *arg)
{
    zc_agent_t *self = arg;
    if (given_up && self->errqueue)
        s_report_error (self, job_id);
    if (self->control)
        zc_control_job_final (self->control, job_id);
    s_reply_due (self, job_id);
    zc_streamin_finish (self->streamin, job_id, NULL);
    if (self->runner && zc_runner_awaits (self->runner, job_id)) {
        //  A copy's job to its destination: the copy goes on, outside
        //  the outbox's own call.
        zlist_append (self->copy_finals, (char *) job_id);
        if (self->copy_timer == -1)
            self->copy_timer = zloop_timer (self->loop, 1, 1, s_copy_finals, self);
    }
}

//  A copy sends its jobs to the destination from here (copy.h): to one
//  exact name, with the message defaults.
static char *
s_copy_submit (zc_method_t method, const char *node, zlist_t *args, void *arg)
{
    zc_agent_t *self = arg;
    zc_message_t message = {
        .to = (char *) node, .method = method, .args = args, .ack_timeout = 10, .retry_wait = 2,
        .retries = 30, .method_timeout = 300, .expire = 86400
    };
    zlist_t *targets = zlist_new ();
    zlist_append (targets, (char *) node);
    char *error = NULL;
    zlist_t *ids = zc_delivery_submit (self->delivery, &message, targets, &error);
    zlist_destroy (&targets);
    if (!ids) {
        zc_warn ("copy: cannot send %s to %s: %s", zc_method_name (method), node, error);
        free (error);
        return NULL;
    }
    char *job_id = zc_strdup (zlist_first (ids));
    zlist_destroy (&ids);
    return job_id;
}

//  ---------------------------------------------------------------------
//  The directory

//  Writes what changed in the directory to the store, so it survives a
//  restart.
static void
s_directory_save (zc_agent_t *self)
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
}

//  Brings back one stored directory entry.
static int
s_load_node (const char *key, const void *value, size_t size, void *arg)
{
    zc_agent_t *self = arg;
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
s_on_nodes (zc_agent_t *self, zc_uplink_t *uplink, zc_wire_t *msg)
{
    zc_node_entry_t *entries = NULL;
    size_t count = 0;
    if (zc_wire_nodes_payload_decode (msg->payload, &entries, &count) != 0) {
        self->malformed++;
        return;
    }
    for (size_t index = 0; index < count; index++)
        zc_directory_update (self->directory, &entries [index]);
    free (entries);
    s_directory_save (self);
    self->directory_use.messages++;
    //  A whole directory may come in batches: the last has no MORE.
    bool whole = (msg->flags & ZC_FLAG_FULL) && !(msg->flags & ZC_FLAG_MORE);
    if (whole && !self->directory_use.ready) {
        self->directory_use.ready = true;
        zc_control_directory_ready (self->control);
    }
}

//  Subscribes to the node directory at our hubs, for good (a client
//  needed it, or the config says always; the store keeps the decision).
static void
s_subscribe_directory (zc_agent_t *self)
{
    self->directory_use.wanted = true;
    zc_pubsub_keep (self->pubsub, ZC_SUBJECT_DIRECTORY);
    zc_store_put (self->store, ZC_TABLE_STATE, "directory", "wanted", 6);
}

//  The control socket's question: is the directory here? (It is asked
//  for when not.)
static bool
s_want_directory (void *arg)
{
    zc_agent_t *self = arg;
    if (self->directory_use.ready)
        return true;
    if (!self->directory_use.wanted) {
        zc_info ("a client needs the node directory: subscribed to it at the hubs");
        s_subscribe_directory (self);
    }
    return false;
}

//  A stored decision to keep the directory.
static int
s_load_state (const char *key, const void *value, size_t size, void *arg)
{
    zc_agent_t *self = arg;
    if (streq (key, "directory"))
        self->directory_use.wanted = true;
    return 0;
}

//  ---------------------------------------------------------------------
//  Messages from the hub

//  The hub could not route some names of message 'id'. Jobs to them wait
//  for the name's presence; so does a REPLY to an absent origin.
static void
s_on_noroute (zc_agent_t *self, zc_wire_t *msg)
{
    for (char *name = zlist_first (msg->names); name; name = zlist_next (msg->names)) {
        zc_delivery_on_noroute (self->delivery, &msg->id, name);
        zc_runner_on_noroute (self->runner, &msg->id, name);
        if (self->errqueue)
            zc_errqueue_on_noroute (self->errqueue, name, zclock_mono ());
    }
    zc_control_on_noroute (self->control, msg);
}

static void
s_on_presence (zc_agent_t *self, zc_wire_t *msg)
{
    if (!msg->online)
        return;
    for (char *name = zlist_first (msg->names); name; name = zlist_next (msg->names)) {
        zc_delivery_on_presence (self->delivery, name);
        zc_runner_on_presence (self->runner, name);
        if (self->errqueue)
            zc_errqueue_on_presence (self->errqueue, name);
    }
}

//  An ACK from a target (it stored our job) or from an origin (it
//  stored our result), for its own ID and those in its payload.
static void
s_on_ack (zc_agent_t *self, zc_wire_t *msg)
{
    if (msg->flags & (ZC_FLAG_CUSTODY | ZC_FLAG_RELAYED))
        //  A large message on its way for the job is not needed any more.
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
        self->malformed++;
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

static void
s_on_req (zc_agent_t *self, zc_wire_t *msg)
{
    if (msg->flags & ZC_FLAG_CUSTODY)
        zc_delivery_take_custody (self->delivery, msg);   //  we are the relay
    else
        zc_runner_request (self->runner, msg);
}

static void
s_on_ping (zc_agent_t *self, zc_wire_t *msg)
{
    if (zlist_size (msg->to) == 0)
        return;                 //  the hub's answer to our heartbeat
    zc_wire_t *pong = zc_wire_new (ZC_MSG_PONG);
    pong->id = msg->id;
    zlist_append (pong->to, msg->from);
    s_send (&pong, self);
}

static void s_on_hub_message (zc_uplink_t *uplink, zc_wire_t *msg, void *arg);

//  A part of a large REQ or REPLY, or how much of ours arrived; a
//  message whose last part came is handled as if it had come whole.
static void
s_on_chunk (zc_agent_t *self, zc_uplink_t *uplink, zc_wire_t *msg)
{
    if (msg->type == ZC_MSG_ACK)
        zc_bulk_on_ack (self->bulk, msg);
    else
    if (msg->type == ZC_MSG_REPLY || msg->type == ZC_MSG_REQ) {
        bool malformed;
        zc_wire_t *whole = zc_bulk_on_chunk (self->bulk, msg, &malformed);
        self->malformed += malformed;
        if (whole)
            s_on_hub_message (uplink, whole, self);
        zc_wire_destroy (&whole);
    }
}

//  Handles one decoded message from one of our hubs.
static void
s_on_hub_message (zc_uplink_t *uplink, zc_wire_t *msg, void *arg)
{
    zc_agent_t *self = arg;
    if (msg->flags & ZC_FLAG_CHUNK) {
        s_on_chunk (self, uplink, msg);
        return;
    }
    switch (msg->type) {
        case ZC_MSG_NODES:    s_on_nodes (self, uplink, msg); break;
        case ZC_MSG_PRESENCE: s_on_presence (self, msg); break;
        case ZC_MSG_NOROUTE:  s_on_noroute (self, msg); break;
        case ZC_MSG_REQ:      s_on_req (self, msg); break;
        case ZC_MSG_ACK:      s_on_ack (self, msg); break;
        case ZC_MSG_STARTED:  zc_delivery_on_ack (self->delivery, &msg->id, msg->from); break;
        case ZC_MSG_REPLY:    zc_delivery_on_reply_message (self->delivery, msg); break;
        case ZC_MSG_STREAM:
            if (msg->flags & ZC_FLAG_STREAM_ACK)
                zc_runner_on_stream_ack (self->runner, &msg->id, msg->from, msg->seq);
            else
            if (!zc_runner_on_stream_chunk (self->runner, msg))
                zc_streamin_on_chunk (self->streamin, msg);
            break;
        case ZC_MSG_PING:     s_on_ping (self, msg); break;
        case ZC_MSG_PUB:      zc_pubsub_on_pub (self->pubsub, msg); break;
        case ZC_MSG_STORED:
            //  Error events are the one stream under $sys. (follow
            //  refuses those subjects).
            if (msg->subject && streq (msg->subject, ZC_ERRQUEUE_SUBJECT)) {
                if (self->errqueue)
                    zc_errqueue_on_stored (self->errqueue, msg->from, msg->seq, zclock_mono ());
            }
            else
            if (self->follow && msg->subject)
                zc_follow_on_stored (self->follow, msg->subject, msg->seq, zclock_mono ());
            break;
        case ZC_MSG_PONG:
            if (*msg->from)
                zc_control_on_pong (self->control, msg);
            else
            if ((msg->flags & ZC_FLAG_FULL) && zc_uplink_is_up (uplink)) {
                //  Welcomed again while up: the hub forgot us without the
                //  connection dropping; it gets what it needs to know again.
                zc_pubsub_link_up (self->pubsub, uplink);
                if (self->follow)
                    zc_follow_link_up (self->follow);
            }
            else
            if (msg->flags & ZC_FLAG_FULL)
                zc_uplink_set_up (uplink);      //  the hub answered our HELLO
            break;
        case ZC_MSG_ERROR:
            //  The hub's own refusals are the uplink's business.
            if (msg->code == ZC_ERR_JOB_EVENT && *msg->from)
                zc_errlog_on_event (self->errlog, msg);
            else
            if (msg->code == ZC_ERR_REFUSED && !*msg->from) {
                char what [ZC_NAME_SIZE + 1100];
                snprintf (what, sizeof what, "%s:%s", zc_uplink_name (uplink), msg->text? msg->text: "");
                zc_warn_once (self->logged, what, "hub %s: %s (logged once)", zc_uplink_name (uplink),
                              msg->text? msg->text: "refused");
            }
            break;
        default:
            zc_debug ("ignored %s from the hub", zc_wire_type_name (msg->type));
    }
}

//  A link to a hub went up or down. What may have been lost on the way
//  is sent again (targets dedup) when the link messages now leave on
//  changed: a first link up, or the one in use gone with another up.
static void
s_uplink_state (zc_uplink_t *uplink, bool up, void *arg)
{
    zc_agent_t *self = arg;
    if (up)
        zc_pubsub_link_up (self->pubsub, uplink);
    zc_uplink_t *live = s_live_uplink (self);
    if ((up && live == uplink) || (!up && live)) {
        zc_delivery_link_up (self->delivery);
        zc_runner_link_up (self->runner);
        if (self->follow)
            zc_follow_link_up (self->follow);
        if (self->errqueue)
            zc_errqueue_link_up (self->errqueue);
    }
}

//  ---------------------------------------------------------------------
//  What pub/sub needs (pubsub.h)

static int
s_pubsub_send_to (void *uplink, zc_wire_t **msg_p, void *arg)
{
    return zc_uplink_send (uplink, msg_p);
}

static zlist_t *
s_pubsub_uplinks (void *arg)
{
    zc_agent_t *self = arg;
    zlist_t *up = zlist_new ();
    for (zc_uplink_t *uplink = zlist_first (self->uplinks); uplink; uplink = zlist_next (self->uplinks))
        if (zc_uplink_is_up (uplink))
            zlist_append (up, uplink);
    return up;
}

static zc_keyring_t *
s_pubsub_keyring (void *arg)
{
    return zc_daemon_keyring (((zc_agent_t *) arg)->daemon);
}

static void
s_pubsub_answer (zc_jsonl_conn_t *conn, const char *line, size_t size, void *arg)
{
    zc_commit_answer_text (((zc_agent_t *) arg)->commit, conn, line, size);
}

static size_t
s_pubsub_backlog (zc_jsonl_conn_t *conn, void *arg)
{
    return zc_jsonl_unsent (conn);
}

//  A collector's STORED leaves once what it says is committed.
static void
s_collect_send (zc_wire_t **msg_p, void *arg)
{
    zc_commit_send (((zc_agent_t *) arg)->commit, msg_p);
}

//  What status shows of log shipping.
static json_t *
s_status_extra (void *arg)
{
    zc_agent_t *self = arg;
    json_t *extra = json_object ();
    if (self->follow)
        json_object_set_new (extra, "follow", zc_follow_status (self->follow));
    if (self->collect)
        json_object_set_new (extra, "collect", zc_collect_status (self->collect));
    if (self->errqueue)
        json_object_set_new (extra, "error_events", zc_errqueue_status (self->errqueue));
    if (self->errlog)
        json_object_set_new (extra, "error_log", zc_errlog_status (self->errlog));
    return extra;
}

//  With a policy, a message runs a subscriber's command only when a rule
//  allows its publisher method "sub" with the subject.
static bool
s_pubsub_may_run (const char *from, const char *subject, char *reason, size_t size, void *arg)
{
    zc_agent_t *self = arg;
    if (!self->policy)
        return true;
    zc_policy_verdict_t verdict;
    zc_policy_check (self->policy, from, "sub", subject, &verdict);
    snprintf (reason, size, "%s", verdict.reason);
    if (!verdict.allowed && self->errqueue)
        zc_errqueue_denied (self->errqueue, &(zc_errqueue_denial_t) {
            .subject = subject, .origin = from, .method = "sub", .cause = "policy",
            .reason = verdict.reason }, zclock_mono ());
    return verdict.allowed;
}

//  ---------------------------------------------------------------------
//  Timers

static int
s_prune_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_agent_t *self = arg;
    zc_delivery_prune (self->delivery, self->config->results_ttl);
    zc_runner_prune (self->runner);
    zlist_t *forgotten = zc_directory_forget (self->directory, (uint64_t) time (NULL),
                                              (uint64_t) self->config->forget_after);
    for (char *name = zlist_first (forgotten); name; name = zlist_next (forgotten))
        zc_store_del (self->store, ZC_TABLE_DIRECTORY, name);
    zlist_destroy (&forgotten);
    return 0;
}

static int
s_tick_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_agent_t *self = arg;
    uint64_t now = zclock_mono ();
    zc_delivery_tick (self->delivery, now, zc_wall_ms ());     //  expiry runs even while the hub is away
    zc_bulk_tick (self->bulk, now);
    if (s_live_uplink (self))
        zc_runner_tick (self->runner, now);
    if (self->follow)
        zc_follow_tick (self->follow, (int64_t) now, s_live_uplink (self) != NULL);
    if (self->errqueue)
        zc_errqueue_tick (self->errqueue, (int64_t) now, s_live_uplink (self) != NULL);
    return 0;
}

//  ---------------------------------------------------------------------
//  Keys, policy, the drop folder

//  The keys directory was read again. A cert gone (revoked) means that
//  peer's jobs are refused and its results dropped from now on.
static void
s_keys_changed (void *arg)
{
    zc_agent_t *self = arg;
    zc_seal_set_keyring (self->seal, zc_daemon_keyring (self->daemon));
    if (self->delivery && s_live_uplink (self))
        zc_delivery_keys_changed (self->delivery);
}

//  Asked by the seal before a peer without a cert here is refused.
static bool
s_keys_refresh (const char *name, void *arg)
{
    zc_agent_t *self = arg;
    return zc_daemon_refresh (self->daemon, name);
}

//  What this node advertises with its directory entry, from a config:
//  the built-in facts, its labels and the names of its functions, which
//  the runner runs from now on. The hubs hear of it with the next HELLO
//  when it changed (uplink.h).
static void
s_advertise (zc_agent_t *self, const zc_config_t *config)
{
    zc_facts_t *facts = zc_facts_new ();
    zc_facts_add_builtin (facts, NULL);
    zhashx_t *functions = zhashx_new ();
    zhashx_set_destructor (functions, (zhashx_destructor_fn *) zstr_free);
    //  The config checked every label and function against the bounds.
    for (char *label = zlist_first (config->labels); label; label = zlist_next (config->labels)) {
        char *key = zc_strdup (label);
        char *equals = strchr (key, '=');
        *equals = 0;
        const char *problem = NULL;
        if (zc_facts_set (facts, key, equals + 1, &problem) != 0)
            zc_error ("%s: agent/label %s: %s (not advertised)", config->path, key, problem);
        free (key);
    }
    for (char *entry = zlist_first (config->functions); entry; entry = zlist_next (config->functions)) {
        char *name = zc_strdup (entry);
        char *equals = strchr (name, '=');
        *equals = 0;
        if (zc_facts_add_function (facts, name, NULL) == 0)
            zhashx_update (functions, name, zc_strdup (equals + 1));
        free (name);
    }
    zframe_t *advert = zc_facts_encode (facts);
    if (!advert) {
        zc_error ("%s: the labels and functions do not fit what a node may advertise; keeping the"
                  " ones before", config->path);
        zc_facts_destroy (&facts);
        zhashx_destroy (&functions);
        return;
    }
    for (zc_uplink_t *uplink = zlist_first (self->uplinks); uplink; uplink = zlist_next (self->uplinks))
        zc_uplink_set_advert (uplink, advert);
    zframe_destroy (&self->advert);
    self->advert = advert;
    zc_runner_set_functions (self->runner, functions);
    zhashx_destroy (&self->functions);
    self->functions = functions;
    zc_facts_destroy (&self->facts);
    self->facts = facts;
}

//  SIGHUP, for labels and functions: the config file is read again and
//  its labels and functions replace the ones before (a broken file
//  leaves them on). Its other keys take a restart.
static void
s_reload_advert (zc_agent_t *self)
{
    char *error = NULL;
    zc_config_t *config = zc_config_load (self->config->path, ZC_ROLE_AGENT, &error);
    if (!config) {
        zc_error ("cannot reload labels and functions: %s; keeping the ones before", error);
        free (error);
        return;
    }
    s_advertise (self, config);
    zc_info ("labels and functions reloaded: %zu label(s), %zu function(s) from %s",
             zlist_size (config->labels), zlist_size (config->functions), config->path);
    zc_config_destroy (&config);
}

//  SIGHUP: collectors open their files again (logrotate), labels and
//  functions are read again from the config file, and so is the policy
//  file; a broken one leaves the old rules on. (The keys are read again
//  by the daemon module.)
static void
s_hangup (void *arg)
{
    zc_agent_t *self = arg;
    if (self->collect)
        zc_collect_reopen (self->collect);
    zc_errlog_reopen (self->errlog);
    s_reload_advert (self);
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
    zc_replyto_set_policy (self->replyto, policy);
    zc_policy_destroy (&self->policy);
    self->policy = policy;
    zc_info ("policy reloaded: %zu rule(s) from %s", zc_policy_size (policy), self->config->policy);
}

//  A message from a readfolder or startup file, submitted as a socket
//  request would be (without the socket fields). Its jobs are stored by
//  the next commit, after which the drop folder removes the file
//  (zc_readfolder_defer). 0 accepted, -1 refused, 1 not now (the queue is
//  full, or the node directory is on its way: the message waits).
static int
s_readfolder_submit (json_t *object, char **error, void *arg)
{
    zc_agent_t *self = arg;
    const char *field = NULL;
    zc_message_t *message = zc_message_from_json (object, NULL, error, &field);
    if (!message)
        return -1;
    zlist_t *targets = NULL, *unknown = NULL;
    const char *code;
    zlist_t *job_ids = zc_control_submit (self->control, message, &targets, &unknown, error, &code);
    int rc = job_ids? 0: streq (code, "full") || streq (code, "later")? 1: -1;
    zlist_destroy (&job_ids);
    zlist_destroy (&targets);
    zlist_destroy (&unknown);
    zc_message_destroy (&message);
    return rc;
}

//  ---------------------------------------------------------------------
//  Start and stop

//  Our keys and the seal made of them; the signing key in sign_secret
//  (the caller wipes it). 0, or -1 with *error.
static int
s_load_keys (zc_agent_t *self, uint8_t sign_secret [64], char **error)
{
    const zc_config_t *config = self->config;
    self->cert = zc_key_load_own_signing (config->keys, config->name, sign_secret, error);
    if (!self->cert)
        return -1;
    self->seal = zc_seal_new (config->name, zcert_secret_key (self->cert), sign_secret,
                              zc_daemon_keyring (self->daemon), config->e2e);
    zc_seal_set_refresh (self->seal, s_keys_refresh, self);
    if (!config->e2e)
        zc_warn ("%s: agent/e2e is off: jobs and results from here travel in clear and unauthenticated"
                 " (agents with e2e on refuse them), and this agent runs such jobs, which any hub"
                 " can forge in the name of any agent whose cert is here", config->path);
    return 0;
}

//  The store, the audit and error logs, and the directory they keep.
//  0, or -1 with *error.
static int
s_open_store (zc_agent_t *self, char **error)
{
    const zc_config_t *config = self->config;
    char *store_path = zsys_sprintf ("%s/store", config->data);
    self->store = zc_store_open (store_path, true, error);
    free (store_path);
    if (!self->store)
        return -1;
    char *audit_path = zsys_sprintf ("%s/audit.log", config->data);
    if (zc_audit_open (audit_path) != 0)
        zc_warn ("cannot open the audit log %s: %s; job events are not recorded", audit_path, strerror (errno));
    free (audit_path);
    char *errors_path = zsys_sprintf ("%s/errors.log", config->data);
    self->errlog = zc_errlog_new (self->store, errors_path, s_errlog_send, self);
    free (errors_path);
    if (self->errqueue)
        zc_errqueue_load (self->errqueue, self->store);
    else
        zc_errqueue_forget (self->store);
    self->directory = zc_directory_new ();
    zc_store_each (self->store, ZC_TABLE_DIRECTORY, s_load_node, self);
    free (zc_directory_take_changes (self->directory, &(size_t) { 0 }));
    return 0;
}

//  Output streams: only from the target of a job of ours that streams.
static bool
s_stream_known (const zc_id_t *id, const char *from, void *arg)
{
    zc_agent_t *self = arg;
    zc_method_t method = zc_delivery_job_method (self->delivery, id, from);
    return method == ZC_METHOD_EXEC_STREAM || method == ZC_METHOD_TAIL || method == ZC_METHOD_COPY;
}

static void
s_stream_output (const char *job_id, int stream, const uint8_t *bytes, size_t size, void *arg)
{
    zc_agent_t *self = arg;
    if (self->control)
        zc_control_job_output (self->control, job_id, stream, bytes, size);
}

static bool
s_stream_ready (const char *job_id, void *arg)
{
    zc_agent_t *self = arg;
    return !self->control || zc_control_job_ready (self->control, job_id);
}

//  A result arrives: the output its stream carried goes into it.
static void
s_result_hook (const char *job_id, zc_result_t *result, void *arg)
{
    zc_agent_t *self = arg;
    zc_streamin_finish (self->streamin, job_id, result);
}

//  The outbox and the runner, with what they had in the store.
static void
s_start_jobs (zc_agent_t *self)
{
    const zc_config_t *config = self->config;
    zc_queue_cap_t cap = { .max_jobs = config->queue_max_jobs, .max_bytes = config->queue_max_bytes };
    self->delivery = zc_delivery_new (self->store, config->name, cap, s_link_send, s_job_final, self);
    self->bulk = zc_bulk_new (s_send, self);
    self->runner = zc_runner_new (self->loop, self->store, config->name, config->max_output,
                                  config->skew, s_link_send, self);
    zc_delivery_set_seal (self->delivery, self->seal);
    zc_delivery_set_result_hook (self->delivery, s_result_hook, self);
    zc_runner_set_seal (self->runner, self->seal);
    zc_runner_set_submit (self->runner, s_copy_submit, self);
    self->streamin = zc_streamin_new (&(zc_streamin_spec_t) {
        .loop = self->loop, .name = config->name, .max_output = config->max_output,
        .send = s_send, .send_arg = self, .known = s_stream_known, .output = s_stream_output,
        .ready = s_stream_ready, .arg = self });
    zc_streamin_set_seal (self->streamin, self->seal);
    zc_runner_set_policy (self->runner, self->policy);
    if (self->errqueue)
        zc_runner_on_denied (self->runner, s_job_denied, self);
    //  Before the tasks come back: a call received before a restart
    //  runs the function of that name.
    s_advertise (self, config);
    //  Whom jobs run as, where, and their clean environment: looked up
    //  when the config was loaded, fixed from now on.
    self->exec_context = zc_exec_context_new (&(zc_exec_options_t) {
        .user = config->job_user, .home = config->job_home, .workdir = config->workdir,
        .path = config->job_path, .switch_user = config->job_switch,
        .uid = config->job_uid, .gid = config->job_gid,
        .groups = config->job_groups, .group_count = config->job_group_count,
        .pass_env = config->pass_env, .env = config->job_env });
    zc_runner_set_exec_context (self->runner, self->exec_context);
    //  Reply commands run as jobs do, with the same policy.
    self->replyto = zc_replyto_new (self->loop, config->data, config->name, s_reply_lookup,
                                    s_reply_done, self);
    zc_replyto_set_exec (self->replyto, self->exec_context, config->reply_timeout);
    zc_replyto_set_policy (self->replyto, self->policy);
    if (config->job_switch)
        zc_info ("jobs run as user %s (uid %u, gid %u)", config->job_user,
                 (unsigned) config->job_uid, (unsigned) config->job_gid);
    int jobs = zc_delivery_load (self->delivery);
    int tasks = zc_runner_load (self->runner);
    if (jobs > 0 || tasks > 0)
        zc_info ("store: %d job(s) sent from here and %d received came back", jobs, tasks);
    //  Replies a stop or a crash came between the result and its reply
    //  are given now (at least once); their results are on disk.
    zlist_t *pending = zc_delivery_replies_pending (self->delivery);
    for (char *job_id = zlist_first (pending); job_id; job_id = zlist_next (pending)) {
        zc_info ("reply of %s was not given before the agent stopped: given now", job_id);
        s_reply_due (self, job_id);
    }
    zlist_destroy (&pending);
    zc_replyto_committed (self->replyto);
}

//  Dials every configured hub. 0, or -1 with *error.
static int
s_connect (zc_agent_t *self, char **error)
{
    zc_config_t *config = self->config;
    for (zc_peer_addr_t *hub = zlist_first (config->hubs); hub; hub = zlist_next (config->hubs)) {
        zc_uplink_t *uplink = zc_uplink_new (self->loop, config, self->cert, hub, "agent/hub",
                                             S_LINK_BUDGET, NULL,
                                             s_on_hub_message, s_uplink_state, self, error);
        if (!uplink)
            return -1;
        zc_uplink_set_advert (uplink, self->advert);
        zlist_append (self->uplinks, uplink);
    }
    return 0;
}

//  The socket and the drop folder. 0, or -1 with *error.
static int
s_listen (zc_agent_t *self, char **error)
{
    zc_config_t *config = self->config;
    zc_control_parts_t parts = {
        .config = config, .loop = self->loop, .commit = self->commit, .delivery = self->delivery,
        .runner = self->runner, .directory = self->directory, .daemon = self->daemon,
        .uplinks = self->uplinks, .pubsub = self->pubsub, .replyto = self->replyto,
        .directory_use = &self->directory_use,
        .want_directory = s_want_directory, .status_extra = s_status_extra, .facts = &self->facts,
        .send = s_send, .send_arg = self };
    char *problem = NULL;
    self->control = zc_control_new (&parts, &problem);
    if (!self->control) {
        zc_fail (error, "%s: agent/socket: %s", config->path, problem);
        free (problem);
        return -1;
    }
    zc_agentmetrics_parts_t metrics = {
        .config = config, .store = self->store, .delivery = self->delivery, .runner = self->runner,
        .directory = self->directory, .uplinks = self->uplinks, .pubsub = self->pubsub,
        .control = self->control, .malformed = &self->malformed };
    if (config->metrics && !(self->metrics = zc_agentmetrics_new (self->loop, &metrics, error)))
        return -1;
    if (config->readfolder) {
        self->readfolder = zc_readfolder_new (self->loop, config->readfolder, 1000,
                                              s_readfolder_submit, self, &problem);
        if (!self->readfolder) {
            zc_fail (error, "%s: agent/readfolder: %s", config->path, problem);
            free (problem);
            return -1;
        }
        zc_readfolder_defer (self->readfolder);
    }
    return 0;
}

//  The startup folder's messages, submitted once per start. 0, or -1
//  with *error when the folder cannot be read.
static int
s_startup (zc_agent_t *self, char **error)
{
    zc_config_t *config = self->config;
    if (!config->startup)
        return 0;
    char *problem = NULL;
    self->startup = zc_startup_new (self->loop, config->startup, 1000, s_readfolder_submit, self, &problem);
    if (!self->startup) {
        zc_fail (error, "%s: agent/startup: %s (create the folder, or remove the key)", config->path, problem);
        free (problem);
        return -1;
    }
    return 0;
}

zc_agent_t *
zc_agent_new (zc_config_t *config, char **error)
{
    zc_agent_t *self = zc_calloc (1, sizeof *self);
    self->config = config;
    self->loop = zloop_new ();
    self->uplinks = zlist_new ();
    self->copy_finals = zlist_new ();
    zlist_autofree (self->copy_finals);
    self->copy_timer = -1;
    self->logged = zc_log_once_new (1000);
    self->timers [0] = self->timers [1] = -1;
    //  From here on, warnings go to the error_node too (what comes before
    //  the store opens waits in memory).
    if (config->error_node) {
        self->errqueue = zc_errqueue_new (config->name, config->error_node, config->error_queue, s_send, self);
        zc_log_tap (s_log_tap, self);
    }
    char *problem = NULL;
    uint8_t sign_secret [64];
    self->daemon = zc_daemon_new (self->loop, config, s_keys_changed, s_hangup, self, error);
    if (!self->daemon || s_load_keys (self, sign_secret, error) != 0)
        goto failed;
    if (config->policy && !(self->policy = zc_policy_load (config->policy, &problem))) {
        zc_fail (error, "%s: agent/policy: %s", config->path, problem);
        free (problem);
        goto failed;
    }
    if (s_open_store (self, error) != 0)
        goto failed;
    self->commit = zc_commit_new (self->loop, self->store, s_send, self);
    zc_commit_on_done (self->commit, s_committed, self);
    s_start_jobs (self);
    zc_pubsub_links_t links = { s_send, s_pubsub_send_to, s_pubsub_uplinks, s_pubsub_keyring,
                                s_pubsub_answer, s_pubsub_backlog, s_pubsub_may_run, self, self->loop };
    self->pubsub = zc_pubsub_new (config->name, sign_secret, self->store, &links);
    sodium_memzero (sign_secret, sizeof sign_secret);
    //  The directory: kept since a client needed it, or always.
    zc_store_each (self->store, ZC_TABLE_STATE, s_load_state, self);
    if (self->directory_use.wanted || config->directory_always) {
        s_subscribe_directory (self);
        self->directory_use.ready = true;       //  what was stored, until the hub sends it
    }
    //  Log shipping: files followed, subjects collected.
    if (zlist_size (config->follow)) {
        uint8_t secret [64];
        zcert_t *cert = zc_key_load_own_signing (config->keys, config->name, secret, error);
        if (!cert)
            goto failed;
        zcert_destroy (&cert);
        self->follow = zc_follow_new (self->store, config->follow, config->follow_spool, config->name,
                                      secret, s_send, self);
        sodium_memzero (secret, sizeof secret);
    }
    if (zlist_size (config->collect)) {
        self->collect = zc_collect_new (self->store, config->collect, self->pubsub, s_collect_send,
                                        self, &problem);
        if (!self->collect) {
            zc_fail (error, "%s: agent/collect: %s", config->path, problem);
            free (problem);
            goto failed;
        }
    }
    if (s_connect (self, error) != 0 || s_listen (self, error) != 0 || s_startup (self, error) != 0)
        goto failed;
    self->timers [0] = zloop_timer (self->loop, S_RETRY_TICK_MS, 0, s_tick_timer, self);
    self->timers [1] = zloop_timer (self->loop, S_PRUNE_MS, 0, s_prune_timer, self);
    zc_info ("agent %s started; %zu hub(s); socket %s", config->name,
             zlist_size (self->uplinks), config->socket);
    return self;
failed:
    sodium_memzero (sign_secret, sizeof sign_secret);
    zc_agent_destroy (&self);
    return NULL;
}

int
zc_agent_loop (zc_agent_t *self)
{
    zloop_start (self->loop);
    return 0;
}

void
zc_agent_destroy (zc_agent_t **self_p)
{
    zc_agent_t *self = *self_p;
    if (!self)
        return;
    if (self->errqueue)
        zc_log_tap (NULL, NULL);
    if (self->control) {
        uint64_t forged = 0, malformed = 0;
        zc_delivery_rejected (self->delivery, &forged, &malformed);
        zc_info ("agent %s stopped (submitted %" PRIu64 ", malformed %" PRIu64
                 ", results not authentic %" PRIu64 ", jobs refused %zu)",
                 self->config->name, zc_control_submitted (self->control), self->malformed + malformed,
                 forged, zc_runner_refused (self->runner));
    }
    for (size_t index = 0; index < sizeof self->timers / sizeof self->timers [0]; index++)
        if (self->timers [index] != -1)
            zloop_timer_end (self->loop, self->timers [index]);
    //  Clients first (their waits refer to jobs), then the jobs: those
    //  still running are killed with their process groups and recorded
    //  as interrupted; the last batch is committed.
    zc_startup_destroy (&self->startup);
    zc_agentmetrics_destroy (&self->metrics);
    zc_control_destroy (&self->control);
    zc_replyto_destroy (&self->replyto);
    zc_collect_destroy (&self->collect);
    zc_follow_destroy (&self->follow);
    zc_pubsub_destroy (&self->pubsub);
    zc_runner_destroy (&self->runner);
    zhashx_destroy (&self->functions);
    zc_facts_destroy (&self->facts);
    zframe_destroy (&self->advert);
    zc_exec_context_destroy (&self->exec_context);
    zc_delivery_destroy (&self->delivery);
    zc_streamin_destroy (&self->streamin);
    if (self->copy_timer != -1)
        zloop_timer_end (self->loop, self->copy_timer);
    zlist_destroy (&self->copy_finals);
    zc_commit_destroy (&self->commit);
    zc_readfolder_destroy (&self->readfolder);
    zc_errqueue_destroy (&self->errqueue);      //  what it holds goes into the store
    zc_errlog_destroy (&self->errlog);
    zc_store_close (&self->store);
    zc_audit_close ();
    zc_directory_destroy (&self->directory);
    zc_bulk_destroy (&self->bulk);
    while (zlist_size (self->uplinks)) {
        zc_uplink_t *uplink = zlist_pop (self->uplinks);
        zc_uplink_destroy (&uplink);
    }
    zlist_destroy (&self->uplinks);
    zc_seal_destroy (&self->seal);
    zc_policy_destroy (&self->policy);
    zc_log_once_destroy (&self->logged);
    zcert_destroy (&self->cert);
    zc_daemon_destroy (&self->daemon);
    zloop_destroy (&self->loop);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------
//  As an actor

void
zc_agent_actor (zsock_t *pipe, void *config)
{
    char *error = NULL;
    zc_agent_t *self = zc_agent_new (config, &error);
    if (zc_daemon_actor_start (pipe, self? self->daemon: NULL, &error, NULL) == 0)
        zc_agent_loop (self);
    zc_agent_destroy (&self);
}

//  ---------------------------------------------------------------------
//  Self-test: a hub and agents in this process (src/testbed.c).

//  The first hub of a status answer is connected.
static bool
s_test_connected (json_t *status, void *arg)
{
    return json_is_true (json_object_get (json_array_get (json_object_get (status, "hubs"), 0),
                                          "connected"));
}

//  The first hub of a status answer reports a problem containing 'arg'.
static bool
s_test_problem (json_t *status, void *arg)
{
    const char *problem = json_string_value (json_object_get (
        json_array_get (json_object_get (status, "hubs"), 0), "problem"));
    return problem && strstr (problem, arg);
}

//  Sends a job from 'origin' to 'target' running 'command', waiting for
//  its result; returns the result's state (static), or "" when none came.
static const char *
s_test_job (zc_testbed_t *bed, const char *origin, const char *target, const char *command)
{
    static char state [32];
    json_t *results = zc_testbed_run (bed, origin, target, command, 10);
    snprintf (state, sizeof state, "%s", json_string_value (json_object_get (json_array_get (results, 0),
                                                                             "state"))?: "");
    json_decref (results);
    return state;
}

//  True once the file at 'path' has a line holding both 'first' and
//  'second', polled for at most 'timeout_ms'.
static bool
s_test_file_has (const char *path, const char *first, const char *second, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        FILE *file = fopen (path, "r");
        char line [4096];
        bool found = false;
        while (file && !found && fgets (line, sizeof line, file))
            found = strstr (line, first) && strstr (line, second);
        if (file)
            fclose (file);
        if (found)
            return true;
        zclock_sleep (100);
    }
    return false;
}

//  Copies keys/NAME.cert into DIR/KEYS.
static int
s_test_copy_cert (zc_testbed_t *bed, const char *name, const char *keys)
{
    char *command = zsys_sprintf ("cp '%s/keys/%s.cert' '%s/%s/'", zc_testbed_dir (bed), name,
                                  zc_testbed_dir (bed), keys);
    int rc = system (command);
    free (command);
    return rc;
}

int
zc_agent_test (bool verbose)
{
    ZC_TEST_BEGIN;
    zc_testbed_t *bed = zc_testbed_new ();
    ZC_CHECK (bed != NULL);
    if (!bed)
        return ZC_TEST_END;
    //  keys: everything (the hub's and n1's); keys2: n2's pair and the
    //  hub's cert only, so n1's cert arrives during the test.
    ZC_CHECK (zc_testbed_keygen (bed, NULL, "hub1", true) == 0);
    ZC_CHECK (zc_testbed_keygen (bed, NULL, "n1", false) == 0);
    ZC_CHECK (zc_testbed_keygen (bed, "keys2", "n2", false) == 0);
    ZC_CHECK (s_test_copy_cert (bed, "hub1", "keys2") == 0);
    char *command = zsys_sprintf ("cp '%s/keys2/n2.cert' '%s/keys/'", zc_testbed_dir (bed), zc_testbed_dir (bed));
    ZC_CHECK (system (command) == 0);
    free (command);
    const char *started = zc_testbed_hub (bed, "hub1", "zcnc/heartbeat = 0.2", "zcnc/peer_timeout = 3", NULL);
    ZC_CHECK (started != NULL);
    char *endpoint = zc_strdup (started? started: "tcp://127.0.0.1:1");
    ZC_CHECK (zc_testbed_agent (bed, "n1", NULL, "hub1", endpoint, "zcnc/heartbeat = 0.2",
                                "zcnc/peer_timeout = 3", NULL) == 0);
    ZC_CHECK (zc_testbed_agent (bed, "n2", "keys2", "hub1", endpoint, "zcnc/heartbeat = 0.2",
                                "zcnc/peer_timeout = 3", "agent/error_node = n1", NULL) == 0);
    ZC_CHECK (zc_testbed_until (bed, "n1", s_test_connected, NULL, 10000));
    ZC_CHECK (zc_testbed_until (bed, "n2", s_test_connected, NULL, 10000));

    //  n1's cert put into n2's keys just now: its job runs at once
    //  (the cert is looked for before the origin is refused).
    ZC_CHECK (s_test_copy_cert (bed, "n1", "keys2") == 0);
    ZC_CHECK_STR (s_test_job (bed, "n1", "n2", "echo hi"), "done");

    //  A hub's name is refused at once, saying why.
    json_t *answer = zc_testbed_ask (bed, "n1", "{\"to\": \"hub1\", \"args\": [\"true\"]}", 5000, NULL);
    ZC_CHECK_STR (json_string_value (json_object_get (answer, "error")),
                  "hub1 is a hub: hubs relay jobs and run none (target an agent)");
    ZC_CHECK_STR (json_string_value (json_object_get (answer, "code")), "usage");
    json_decref (answer);

    //  A job for a target that restarts: it waits, and runs once n2 is back.
    zc_testbed_stop (bed, "n2");
    char *job_id = zc_testbed_submit (bed, "n1", "n2", "true");
    ZC_CHECK (job_id != NULL);
    ZC_CHECK (zc_testbed_agent (bed, "n2", "keys2", "hub1", endpoint, "zcnc/heartbeat = 0.2",
                                "zcnc/peer_timeout = 3", "agent/error_node = n1", NULL) == 0);
    ZC_CHECK (job_id && zc_testbed_job_until (bed, "n1", job_id, "done", 15000));
    free (job_id);

    //  n1's cert taken away from n2 (revoked): its jobs are denied.
    char *cert = zsys_sprintf ("%s/keys2/n1.cert", zc_testbed_dir (bed));
    ZC_CHECK (unlink (cert) == 0);
    free (cert);
    bool denied = false;
    //  (n2 sees it go at its next look at the keys directory: each second.)
    for (int round = 0; round < 20 && !denied; round++) {
        denied = streq (s_test_job (bed, "n1", "n2", "true"), "denied");
        if (!denied)
            zclock_sleep (200);
    }
    ZC_CHECK (denied);
    //  n2 reports it to n1, its error node, which writes it down.
    char *errors = zsys_sprintf ("%s/n1/errors.log", zc_testbed_dir (bed));
    ZC_CHECK (s_test_file_has (errors, "\"kind\":\"denied\"", "\"cause\":\"authentication\"", 10000));
    free (errors);

    //  An agent that pinned another key for its hub says why it cannot
    //  connect.
    ZC_CHECK (zc_testbed_keygen (bed, "keys3", "n3", false) == 0);
    ZC_CHECK (zc_testbed_keygen (bed, "keys3", "hub1", true) == 0);      //  not the hub's key
    ZC_CHECK (zc_testbed_agent (bed, "n3", "keys3", "hub1", endpoint, "zcnc/reconnect = 0.05",
                                "zcnc/reconnect_max = 0.05", NULL) == 0);
    ZC_CHECK (zc_testbed_until (bed, "n3", s_test_problem,
                                "closes every connection before the CURVE handshake completes", 10000));

    //  One whose hub takes the connection and never answers (too busy)
    //  says so, not that the key is wrong.
    int silent = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t address_size = sizeof address;
    ZC_CHECK (silent != -1 && bind (silent, (struct sockaddr *) &address, sizeof address) == 0
              && listen (silent, 16) == 0
              && getsockname (silent, (struct sockaddr *) &address, &address_size) == 0);
    char *silent_endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", ntohs (address.sin_port));
    ZC_CHECK (zc_testbed_keygen (bed, "keys4", "n4", false) == 0);
    ZC_CHECK (zc_testbed_keygen (bed, "keys4", "hub1", true) == 0);
    ZC_CHECK (zc_testbed_agent (bed, "n4", "keys4", "hub1", silent_endpoint, "zcnc/handshake = 1",
                                NULL) == 0);
    ZC_CHECK (zc_testbed_until (bed, "n4", s_test_problem,
                                "did not complete the CURVE handshake within 1 s: is it overloaded", 10000));
    ZC_CHECK (!zc_testbed_until (bed, "n4", s_test_problem, "closes every connection", 1500));
    free (silent_endpoint);
    close (silent);

    //  A hub of another release: the agent names both wire versions. The
    //  stand-in (in a context of its own: no ZAP handler, any client key
    //  is let in) answers each HELLO with a PONG of the previous wire
    //  version until the agent says so, then with one of version 3.
    ZC_CHECK (zc_testbed_keygen (bed, "keys5", "n5", false) == 0);
    ZC_CHECK (zc_testbed_keygen (bed, "keys5", "hub1", true) == 0);
    char *hub_secret = zsys_sprintf ("%s/keys5/hub1.cert_secret", zc_testbed_dir (bed));
    zcert_t *old_cert = zcert_load (hub_secret);
    free (hub_secret);
    void *old_context = zmq_ctx_new ();
    void *old_hub = zmq_socket (old_context, ZMQ_ROUTER);
    int on = 1, no_wait = 0;
    ZC_CHECK (old_cert && old_hub);
    zmq_setsockopt (old_hub, ZMQ_CURVE_SERVER, &on, sizeof on);
    zmq_setsockopt (old_hub, ZMQ_CURVE_SECRETKEY, zcert_secret_key (old_cert), 32);
    zmq_setsockopt (old_hub, ZMQ_LINGER, &no_wait, sizeof no_wait);
    char old_endpoint [64] = "";
    size_t old_size = sizeof old_endpoint;
    ZC_CHECK (zmq_bind (old_hub, "tcp://127.0.0.1:*") == 0
              && zmq_getsockopt (old_hub, ZMQ_LAST_ENDPOINT, old_endpoint, &old_size) == 0);
    //  HELLOs every 0.2 s, so the second version need not wait for a
    //  heartbeat of 2 s.
    ZC_CHECK (zc_testbed_agent (bed, "n5", "keys5", "hub1", old_endpoint, "zcnc/heartbeat = 0.2", NULL) == 0);
    zmq_pollitem_t old_item = { .socket = old_hub, .events = ZMQ_POLLIN };
    const uint8_t old_versions [] = { ZC_WIRE_VERSION - 1, 3 };
    for (size_t stage = 0; stage < sizeof old_versions; stage++) {
        bool answered = false;
        for (int turn = 0; turn < 50 && !answered; turn++) {
            if (zmq_poll (&old_item, 1, 100) != 1)
                continue;
            zmq_msg_t routing_id, body;
            zmq_msg_init (&routing_id);
            zmq_msg_init (&body);
            if (zmq_msg_recv (&routing_id, old_hub, 0) != -1 && zmq_msg_recv (&body, old_hub, 0) != -1) {
                //  A PONG as an older version wrote it: signature,
                //  version, type, flags, hops, an ID, empty from and to.
                uint8_t pong [5 + ZC_ID_SIZE + 3] = { ZC_WIRE_SIGNATURE, old_versions [stage], ZC_MSG_PONG, 0,
                                                      ZC_WIRE_HOPS };
                zmq_msg_send (&routing_id, old_hub, ZMQ_SNDMORE);
                answered = zmq_send (old_hub, pong, sizeof pong, 0) == (int) sizeof pong;
            }
            zmq_msg_close (&routing_id);
            zmq_msg_close (&body);
        }
        ZC_CHECK (answered);
        char *problem = zsys_sprintf ("hub hub1 speaks zcnc wire version %d, this node version %d",
                                      old_versions [stage], ZC_WIRE_VERSION);
        ZC_CHECK (zc_testbed_until (bed, "n5", s_test_problem, problem, 10000));
        free (problem);
    }
    zmq_close (old_hub);
    zmq_ctx_term (old_context);
    zcert_destroy (&old_cert);
    if (verbose)
        printf ("# agent: jobs through an in-process hub\n");
    free (endpoint);
    zc_testbed_destroy (&bed);
    return ZC_TEST_END;
}
