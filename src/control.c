/*  control.c — the agent's control socket (control.h).

    Each request gets its answers through the group commit (commit.h), so
    an answer that promises stored state waits for the fsync, and the
    answers to one connection keep their order. A request that waits
    (a message with "wait", a ping) holds its connection: no further
    line is read from it until the wait ends.
*/
#include <time.h>
#include <sodium.h>
#include "prelude.h"
#include "control.h"
#include "jsonl.h"
#include "keys.h"
#include "log.h"
#include "target.h"
#include "uplink.h"

#define S_MAX_OP_LINE   65536u      //  bytes in an {"op": ...} request (a message may be larger)
#define S_DIRECTORY_WAIT_MS 5000
//  A client that has this much output of a stream not read yet holds
//  the stream (its target then waits: streamin.h).
#define S_STREAM_UNSENT_MAX (4u << 20)    //  a request that needs the directory waits this long for it

//  A request that waits for the node directory.
typedef struct {
    zc_jsonl_conn_t *conn;
    json_t *request;
    size_t size;
    int64_t deadline;           //  monotonic ms: it goes on then, with what there is
} s_deferred_t;

//  A socket request waiting for results ("wait": SECS).
typedef struct {
    zc_jsonl_conn_t *conn;
    json_t *tag;                //  echoed, or NULL
    zlistx_t *pending;          //  job keys without a final result, in order
    zhashx_t *pending_index;    //  job key -> its handle in pending
    int timer_id;
} s_wait_t;

//  A `ping` request waiting for its PONG.
typedef struct {
    zc_id_t id;
    char node [ZC_NAME_SIZE];
    zc_jsonl_conn_t *conn;
    json_t *tag;
    uint64_t started_us;
    int timer_id;
} s_ping_t;

struct _zc_control_t {
    zc_control_parts_t parts;
    zc_jsonl_t *server;
    zlist_t *waits;             //  s_wait_t
    zlist_t *pings;             //  s_ping_t
    zlist_t *deferred;          //  s_deferred_t: requests waiting for the directory
    int deferred_timer;         //  or -1
    bool resuming;              //  running them: the directory is what it is
    uint64_t submitted;
};

static void s_on_line (zc_jsonl_conn_t *conn, json_t *request, const char *error, size_t size, void *arg);

//  ---------------------------------------------------------------------
//  Answers

//  Sends an answer, echoing the request's tag; takes the object. With
//  'durable', it promises stored state and waits for the commit.
static void
s_answer_as (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *tag, json_t *answer, bool durable)
{
    if (tag)
        json_object_set (answer, "tag", tag);
    zc_commit_answer (self->parts.commit, conn, answer, durable);
}

static void
s_answer (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *tag, json_t *answer)
{
    s_answer_as (self, conn, tag, answer, false);
}

static void
s_answer_durable (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *tag, json_t *answer)
{
    s_answer_as (self, conn, tag, answer, true);
}

//  An error answer: what failed, its code, and the field at fault (or NULL).
static void
s_answer_error (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *tag, const char *text,
                const char *code, const char *field)
{
    s_answer (self, conn, tag, zc_message_error_json (text, code, field));
}

//  ---------------------------------------------------------------------
//  Waits and pings

static void
s_wait_destroy (zc_control_t *self, s_wait_t **wait_p)
{
    s_wait_t *wait = *wait_p;
    if (wait->timer_id != -1)
        zloop_timer_end (self->parts.loop, wait->timer_id);
    zlist_remove (self->waits, wait);
    zhashx_destroy (&wait->pending_index);
    zlistx_destroy (&wait->pending);
    json_decref (wait->tag);
    free (wait);
    *wait_p = NULL;
}

//  Ends a wait: the "end" line, then the connection takes its next request.
static void
s_wait_end (zc_control_t *self, s_wait_t *wait)
{
    json_t *pending = json_array ();
    for (char *key = zlistx_first (wait->pending); key; key = zlistx_next (wait->pending))
        json_array_append_new (pending, json_string (key));
    s_answer (self, wait->conn, wait->tag, json_pack ("{s:b, s:o}", "end", 1, "pending", pending));
    zc_jsonl_hold (wait->conn, false);
    s_wait_destroy (self, &wait);
}

static int
s_wait_timeout (zloop_t *loop, int timer_id, void *arg)
{
    s_wait_t *wait = arg;
    wait->timer_id = -1;            //  a one-shot timer is gone once it fired
    s_wait_end (zc_jsonl_data (wait->conn), wait);
    return 0;
}

void
zc_control_job_final (zc_control_t *self, const char *job_id)
{
    json_t *job = NULL;         //  built only when someone waits for it
    zlist_t *ended = zlist_new ();
    for (s_wait_t *wait = zlist_first (self->waits); wait; wait = zlist_next (self->waits)) {
        void *handle = zhashx_lookup (wait->pending_index, job_id);
        if (!handle)
            continue;
        zhashx_delete (wait->pending_index, job_id);
        zlistx_delete (wait->pending, handle);
        if (!job)
            job = zc_delivery_job_json (self->parts.delivery, job_id);
        s_answer (self, wait->conn, wait->tag, json_incref (job));
        if (zlistx_size (wait->pending) == 0)
            zlist_append (ended, wait);
    }
    json_decref (job);
    for (s_wait_t *wait = zlist_first (ended); wait; wait = zlist_next (ended))
        s_wait_end (self, wait);
    zlist_destroy (&ended);
}

void
zc_control_job_output (zc_control_t *self, const char *job_id, int stream, const uint8_t *bytes, size_t size)
{
    json_t *chunk = NULL;       //  built only when someone waits for it
    for (s_wait_t *wait = zlist_first (self->waits); wait; wait = zlist_next (self->waits)) {
        if (!zhashx_lookup (wait->pending_index, job_id))
            continue;
        if (!chunk) {
            const char *dot = strchr (job_id, '.');
            chunk = json_pack ("{s:s, s:s, s:s}", "id", job_id, "node", dot? dot + 1: "?",
                               "stream", stream == ZC_STREAM_STDOUT? "stdout": "stderr");
            zc_message_set_output (chunk, "data", bytes, size);
        }
        s_answer (self, wait->conn, wait->tag, json_incref (chunk));
    }
    json_decref (chunk);
}

bool
zc_control_job_ready (zc_control_t *self, const char *job_id)
{
    for (s_wait_t *wait = zlist_first (self->waits); wait; wait = zlist_next (self->waits))
        if (zhashx_lookup (wait->pending_index, job_id) && zc_jsonl_unsent (wait->conn) > S_STREAM_UNSENT_MAX)
            return false;
    return true;
}

static void
s_ping_destroy (zc_control_t *self, s_ping_t **ping_p)
{
    s_ping_t *ping = *ping_p;
    if (ping->timer_id != -1)
        zloop_timer_end (self->parts.loop, ping->timer_id);
    zlist_remove (self->pings, ping);
    json_decref (ping->tag);
    free (ping);
    *ping_p = NULL;
}

//  Answers a ping request and lets its connection take the next request.
static void
s_ping_end (zc_control_t *self, s_ping_t *ping, json_t *answer)
{
    s_answer (self, ping->conn, ping->tag, answer);
    zc_jsonl_hold (ping->conn, false);
    s_ping_destroy (self, &ping);
}

static int
s_ping_timeout (zloop_t *loop, int timer_id, void *arg)
{
    s_ping_t *ping = arg;
    char text [160];
    snprintf (text, sizeof text, "no answer from %s in time", ping->node);
    ping->timer_id = -1;        //  a one-shot timer is gone once it fired
    s_ping_end (zc_jsonl_data (ping->conn), ping,
                json_pack ("{s:s, s:b, s:s, s:b}", "node", ping->node, "pong", 0,
                           "reason", text, "timeout", 1));
    return 0;
}

void
zc_control_on_pong (zc_control_t *self, zc_wire_t *msg)
{
    for (s_ping_t *ping = zlist_first (self->pings); ping; ping = zlist_next (self->pings))
        if (zc_id_equal (&ping->id, &msg->id) && streq (ping->node, msg->from)) {
            double rtt = (zclock_usecs () - ping->started_us) / 1000.0;
            s_ping_end (self, ping, json_pack ("{s:s, s:b, s:f}", "node", ping->node,
                                               "pong", 1, "time_ms", rtt));
            return;
        }
}

//  Pings to an absent node get their answer at once.
void
zc_control_on_noroute (zc_control_t *self, zc_wire_t *msg)
{
    for (s_ping_t *ping = zlist_first (self->pings); ping; ping = zlist_next (self->pings))
        if (zc_id_equal (&ping->id, &msg->id)) {
            char text [160];
            snprintf (text, sizeof text, "%s is not reachable now (offline or unknown)", ping->node);
            s_ping_end (self, ping, json_pack ("{s:s, s:b, s:s}", "node", ping->node,
                                               "pong", 0, "reason", text));
            return;
        }
}

//  ---------------------------------------------------------------------
//  Submitting

//  True when 'name' is known as a hub: a hub cert in the keys directory,
//  a hub this agent dials, or a hub on some node's path.
static bool
s_is_hub (zc_control_t *self, const char *name)
{
    const zc_key_t *key = zc_keyring_by_name (zc_daemon_keyring (self->parts.daemon), name);
    if (key && key->role == ZC_KEY_HUB)
        return true;
    zlist_t *hubs = self->parts.config->hubs;
    for (zc_peer_addr_t *hub = zlist_first (hubs); hub; hub = zlist_next (hubs))
        if (streq (hub->name, name))
            return true;
    size_t count;
    zc_node_entry_t *entries = zc_directory_entries (self->parts.directory, &count);
    size_t length = strlen (name);
    bool found = false;
    for (size_t index = 0; index < count && !found; index++)
        for (const char *via = entries [index].via; via && *via && !found; ) {
            const char *end = strchr (via, '>');
            size_t size = end? (size_t) (end - via): strlen (via);
            found = size == length && memcmp (via, name, length) == 0;
            via = end? end + 1: NULL;
        }
    free (entries);
    return found;
}

//  True when a target expression needs the directory: a glob or ALL.
static bool
s_needs_directory (const char *expression)
{
    if (strpbrk (expression, "*?["))
        return true;
    const char *all = strstr (expression, "ALL");
    for (; all; all = strstr (all + 1, "ALL")) {
        bool starts = all == expression || all [-1] == ',' || all [-1] == ' ';
        bool ends = all [3] == 0 || all [3] == ',' || all [3] == ' ';
        if (starts && ends)
            return true;
    }
    return false;
}

//  True when a message needs the directory: a glob, ALL, or facts to
//  match ("where").
static bool
s_message_needs_directory (const zc_message_t *message)
{
    return message->where || s_needs_directory (message->to);
}

//  True when the directory is here for a request; otherwise asks for it
//  and keeps the request (holding its connection) until it comes or
//  S_DIRECTORY_WAIT_MS pass.
static int s_deferred_timeout (zloop_t *loop, int timer_id, void *arg);

static bool
s_directory_or_defer (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, size_t size)
{
    if (self->resuming || self->parts.want_directory (self->parts.send_arg))
        return true;
    s_deferred_t *deferred = zc_calloc (1, sizeof *deferred);
    deferred->conn = conn;
    deferred->request = json_incref (request);
    deferred->size = size;
    deferred->deadline = zclock_mono () + S_DIRECTORY_WAIT_MS;
    zlist_append (self->deferred, deferred);
    zc_jsonl_hold (conn, true);
    if (self->deferred_timer == -1)
        self->deferred_timer = zloop_timer (self->parts.loop, S_DIRECTORY_WAIT_MS, 1, s_deferred_timeout, self);
    return false;
}

//  The requests that waited for the directory (all, or those whose wait
//  is over) go on, with what there is; the timer is set for the next.
static void
s_resume_deferred (zc_control_t *self, bool all)
{
    if (self->deferred_timer != -1)
        zloop_timer_end (self->parts.loop, self->deferred_timer);
    self->deferred_timer = -1;
    int64_t now = zclock_mono ();
    zlist_t *due = zlist_new ();
    for (s_deferred_t *deferred = zlist_first (self->deferred); deferred;
         deferred = zlist_next (self->deferred))
        if (all || deferred->deadline <= now)
            zlist_append (due, deferred);
    self->resuming = true;
    for (s_deferred_t *deferred = zlist_first (due); deferred; deferred = zlist_next (due)) {
        zlist_remove (self->deferred, deferred);
        s_on_line (deferred->conn, deferred->request, NULL, deferred->size, self);
        zc_jsonl_hold (deferred->conn, false);
        json_decref (deferred->request);
        free (deferred);
    }
    self->resuming = false;
    zlist_destroy (&due);
    s_deferred_t *next = zlist_first (self->deferred);     //  the oldest waits least
    if (next)
        self->deferred_timer = zloop_timer (self->parts.loop,
                                            (size_t) (next->deadline > now? next->deadline - now: 1), 1,
                                            s_deferred_timeout, self);
}

static int
s_deferred_timeout (zloop_t *loop, int timer_id, void *arg)
{
    zc_control_t *self = arg;
    self->deferred_timer = -1;          //  a one-shot timer is gone once it fired
    s_resume_deferred (self, false);
    return 0;
}

void
zc_control_directory_ready (zc_control_t *self)
{
    if (zlist_size (self->deferred))
        s_resume_deferred (self, true);
}

//  Names the resolver can see: the directory, and this node itself.
static zlist_t *
s_known_names (zc_control_t *self)
{
    zlist_t *known = zc_directory_names (self->parts.directory);
    if (!zc_directory_lookup (self->parts.directory, self->parts.config->name))
        zlist_append (known, self->parts.config->name);
    return known;
}

//  True when node 'name' has every fact of 'where': this node's own
//  facts as it advertises them now, another's as the directory has them.
static bool
s_facts_match (zc_control_t *self, const char *name, zlist_t *where)
{
    if (streq (name, self->parts.config->name) && self->parts.facts)
        return zc_facts_match_set (*self->parts.facts, where);
    const zc_node_entry_t *entry = zc_directory_lookup (self->parts.directory, name);
    return entry && zc_facts_match (entry->facts, entry->facts_size, where);
}

//  Narrows resolved targets (and with them the unknown names) to the
//  nodes whose facts match the message's "where", at the origin, once.
//  0, or -1 with *error when none is left.
static int
s_narrow (zc_control_t *self, zc_message_t *message, zlist_t *targets, zlist_t *unknown, char **error)
{
    size_t resolved = zlist_size (targets);
    zlist_t *names = zlist_dup (targets);
    for (char *name = zlist_first (names); name; name = zlist_next (names))
        if (!s_facts_match (self, name, message->where)) {
            //  The lists own their strings: find the one to remove.
            for (char *target = zlist_first (targets); target; target = zlist_next (targets))
                if (streq (target, name)) {
                    zlist_remove (targets, target);
                    break;
                }
            for (char *absent = zlist_first (unknown); absent; absent = zlist_next (unknown))
                if (streq (absent, name)) {
                    zlist_remove (unknown, absent);
                    break;
                }
        }
    zlist_destroy (&names);
    if (zlist_size (targets))
        return 0;
    char items [1024] = "";
    size_t used = 0;
    for (char *item = zlist_first (message->where); item && used < sizeof items;
         item = zlist_next (message->where))
        used += (size_t) snprintf (items + used, sizeof items - used, " --where %s", item);
    *error = zsys_sprintf ("%s matched none of the %zu node(s) of '%s'", items + 1, resolved, message->to);
    return -1;
}

zlist_t *
zc_control_submit (zc_control_t *self, zc_message_t *message, zlist_t **targets, zlist_t **unknown,
                   char **error, const char **code)
{
    const char *own_name = self->parts.config->name;
    //  One exact name, the common case, needs no list of every known node.
    zlist_t *known = NULL;
    int rc = 0;
    if (self->parts.replyto && zc_replyto_allowed (self->parts.replyto, &message->reply, error) != 0) {
        *code = "denied";
        return NULL;
    }
    if (!self->resuming && s_message_needs_directory (message)
    &&  !self->parts.want_directory (self->parts.send_arg)) {
        *code = "later";
        *error = zc_strdup ("the node directory is on its way (this node just subscribed to it)");
        return NULL;
    }
    if (zc_target_is_single (message->to)) {
        *targets = zlist_new ();
        zlist_autofree (*targets);
        zlist_append (*targets, message->to);
        *unknown = zlist_new ();
        zlist_autofree (*unknown);
        if (!zc_directory_lookup (self->parts.directory, message->to) && strcmp (message->to, own_name))
            zlist_append (*unknown, message->to);
    }
    else {
        known = s_known_names (self);
        rc = zc_target_resolve (message->to, known, targets, unknown, error);
    }
    zlist_destroy (&known);
    *code = "usage";
    if (rc != 0)
        return NULL;
    if (zlist_size (*targets) == 0) {
        *code = "nomatch";
        *error = zsys_sprintf ("'%s' matches no known node", message->to);
        return NULL;
    }
    if (message->where && s_narrow (self, message, *targets, *unknown, error) != 0) {
        *code = "nomatch";
        return NULL;
    }
    //  Only names the directory lacks can be hubs (it never lists one).
    for (char *name = zlist_first (*unknown); name; name = zlist_next (*unknown))
        if (s_is_hub (self, name)) {
            *error = zsys_sprintf ("%s is a hub: hubs relay jobs and run none (target an agent)", name);
            return NULL;
        }
    //  Without the directory an exact name is not known to be absent:
    //  the hubs say so (the job waits for it either way).
    if (!self->parts.directory_use->wanted)
        zlist_purge (*unknown);
    zlist_t *job_ids = zc_delivery_submit (self->parts.delivery, message, *targets, error);
    if (!job_ids) {
        *code = "full";
        return NULL;
    }
    self->submitted += zlist_size (job_ids);
    zc_debug ("accepted %zu job(s) for '%s'", zlist_size (job_ids), message->to);
    return job_ids;
}

uint64_t
zc_control_submitted (zc_control_t *self)
{
    return self->submitted;
}

//  ---------------------------------------------------------------------
//  Requests

//  The answer to a message: one {"node", "id"} per job (a scheduled
//  message has one per run and target), and the unknown names. Built
//  without json_pack, whose format parsing cost as much as the rest:
//  this answer goes out for every job.
static json_t *
s_ids_json (zlist_t *job_ids, zlist_t *unknown)
{
    json_t *ids = json_array ();
    for (char *job_id = zlist_first (job_ids); job_id; job_id = zlist_next (job_ids)) {
        json_t *entry = json_object ();
        //  A job ID is "ULID.node".
        json_object_set_new_nocheck (entry, "node", json_string_nocheck (job_id + ZC_ULID_LEN + 1));
        json_object_set_new_nocheck (entry, "id", json_string_nocheck (job_id));
        json_array_append_new (ids, entry);
    }
    json_t *unknown_json = json_array ();
    for (char *node = zlist_first (unknown); node; node = zlist_next (unknown))
        json_array_append_new (unknown_json, json_string_nocheck (node));
    json_t *answer = json_object ();
    json_object_set_new_nocheck (answer, "ids", ids);
    json_object_set_new_nocheck (answer, "unknown", unknown_json);
    return answer;
}

//  Holds the connection until the jobs are final or 'seconds' pass;
//  takes job_ids.
static void
s_wait_start (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *tag, zlist_t *job_ids, double seconds)
{
    s_wait_t *wait = zc_calloc (1, sizeof *wait);
    wait->conn = conn;
    wait->tag = tag? json_incref (tag): NULL;
    //  Indexed: a broadcast's wait holds thousands of keys, and each
    //  final result looks its key up.
    wait->pending = zlistx_new ();
    zlistx_set_destructor (wait->pending, (zlistx_destructor_fn *) zstr_free);
    wait->pending_index = zhashx_new ();
    char *job_id;
    while ((job_id = zlist_pop (job_ids))) {
        if (zhashx_lookup (wait->pending_index, job_id)) {
            free (job_id);
            continue;
        }
        zhashx_insert (wait->pending_index, job_id, zlistx_add_end (wait->pending, job_id));
    }
    zlist_destroy (&job_ids);
    wait->timer_id = zloop_timer (self->parts.loop, (size_t) (seconds * 1000), 1, s_wait_timeout, wait);
    zlist_append (self->waits, wait);
    zc_jsonl_hold (conn, true);
    //  Jobs that ended already (refused as they left) are answered now.
    zlist_t *ended = zlist_new ();
    zlist_autofree (ended);
    for (char *key = zlistx_first (wait->pending); key; key = zlistx_next (wait->pending))
        if (zc_delivery_is_final (self->parts.delivery, key))
            zlist_append (ended, key);
    for (char *key = zlist_first (ended); key; key = zlist_next (ended))
        zc_control_job_final (self, key);
    zlist_destroy (&ended);
}

//  A message to send (a line without "op").
static void
s_request_message (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    static const char *socket_fields [] = { "wait", "tag", NULL };
    json_t *wait_value = json_object_get (request, "wait");
    if (wait_value && (!json_is_number (wait_value) || json_number_value (wait_value) < 0
                       || json_number_value (wait_value) > 30 * 86400)) {
        s_answer_error (self, conn, tag, "\"wait\" must be a number of seconds", "usage", "wait");
        return;
    }
    char *error = NULL;
    const char *field = NULL;
    zc_message_t *message = zc_message_from_json (request, socket_fields, &error, &field);
    if (!message) {
        s_answer_error (self, conn, tag, error, "usage", field);
        free (error);
        return;
    }
    if (s_message_needs_directory (message) && !s_directory_or_defer (self, conn, request, 0)) {
        zc_message_destroy (&message);
        return;
    }
    zlist_t *targets = NULL, *unknown = NULL;
    const char *code;
    zlist_t *job_ids = zc_control_submit (self, message, &targets, &unknown, &error, &code);
    if (!job_ids) {
        s_answer_error (self, conn, tag, error, code, streq (code, "full")? NULL
                                                   : streq (code, "denied")? "reply_args": "to");
        free (error);
    }
    else {
        s_answer_durable (self, conn, tag, s_ids_json (job_ids, unknown));
        if (wait_value)
            s_wait_start (self, conn, tag, job_ids, json_number_value (wait_value));
        else
            zlist_destroy (&job_ids);
    }
    zlist_destroy (&targets);
    zlist_destroy (&unknown);
    zc_message_destroy (&message);
}

//  {"op": "nodes"}
static void
s_op_nodes (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    if (!s_directory_or_defer (self, conn, request, 0))
        return;
    size_t count;
    zc_node_entry_t *entries = zc_directory_entries (self->parts.directory, &count);
    json_t *nodes = json_array ();
    uint64_t now = (uint64_t) time (NULL);
    for (size_t index = 0; index < count; index++) {
        zc_node_entry_t *entry = &entries [index];
        json_t *node = json_pack ("{s:s, s:b, s:I, s:s}",
            "name", entry->name, "online", entry->online,
            "last_seen", (json_int_t) (entry->online? now: entry->last_seen), "via", entry->via);
        //  What it advertises: this node's own as it is now, another's as
        //  the hubs reported it ({} and [] when not known).
        bool own = streq (entry->name, self->parts.config->name) && self->parts.facts;
        zc_facts_t *facts = own? NULL: zc_facts_decode (entry->facts, entry->facts_size);
        zc_facts_t *shown = own? *self->parts.facts: facts;
        json_object_set_new (node, "facts", zc_facts_json (shown));
        json_object_set_new (node, "functions", zc_facts_functions_json (shown));
        zc_facts_destroy (&facts);
        json_array_append_new (nodes, node);
    }
    free (entries);
    s_answer (self, conn, tag, json_pack ("{s:o}", "nodes", nodes));
}

//  {"op": "status"}
static void
s_op_status (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    size_t queued, inflight;
    zc_delivery_counts (self->parts.delivery, &queued, &inflight);
    size_t running = zc_runner_running (self->parts.runner);
    json_t *hubs = json_array ();
    zlist_t *uplinks = self->parts.uplinks;
    for (zc_uplink_t *uplink = zlist_first (uplinks); uplink; uplink = zlist_next (uplinks)) {
        json_t *hub = json_pack ("{s:s, s:s, s:b}", "name", zc_uplink_name (uplink),
                                 "endpoint", zc_uplink_endpoint (uplink),
                                 "connected", zc_uplink_is_up (uplink));
        const char *problem = zc_uplink_problem (uplink);
        if (problem)
            json_object_set_new (hub, "problem", json_string (problem));
        zc_flow_t *flow = zc_uplink_flow (uplink);
        json_object_set_new (hub, "sending", json_pack ("{s:I, s:I, s:I, s:I}",
            "in_flight", (json_int_t) zc_flow_in_flight (flow), "queued", (json_int_t) zc_flow_queued (flow),
            "window", (json_int_t) zc_flow_window (flow), "refused", (json_int_t) zc_flow_refused (flow)));
        json_array_append_new (hubs, hub);
    }
    json_t *status = json_pack ("{s:s, s:o, s:I, s:I, s:I, s:I, s:o, s:o}",
        "name", self->parts.config->name, "hubs", hubs, "queued", (json_int_t) queued,
        "inflight", (json_int_t) inflight, "running", (json_int_t) running,
        "nodes", (json_int_t) zc_directory_size (self->parts.directory),
        "directory", json_pack ("{s:b, s:I}", "subscribed", self->parts.directory_use->wanted,
                                "messages", (json_int_t) self->parts.directory_use->messages),
        "pubsub", zc_pubsub_status (self->parts.pubsub));
    json_t *extra = self->parts.status_extra? self->parts.status_extra (self->parts.send_arg): NULL;
    if (extra)
        json_object_update (status, extra);
    json_decref (extra);
    s_answer (self, conn, tag, status);
}

//  {"op": "jobs"} or {"op": "jobs", "id": ID}
static void
s_op_jobs (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    json_t *id = json_object_get (request, "id");
    json_t *jobs;
    if (id) {
        json_t *job = json_is_string (id)? zc_delivery_job_json (self->parts.delivery, json_string_value (id)): NULL;
        if (!job) {
            char *text = zsys_sprintf ("no job %s was sent from this agent",
                                       json_is_string (id)? json_string_value (id): "(not a string)");
            s_answer_error (self, conn, tag, text, "usage", "id");
            free (text);
            return;
        }
        jobs = json_pack ("[o]", job);
    }
    else
        jobs = zc_delivery_jobs_json (self->parts.delivery);
    s_answer (self, conn, tag, json_pack ("{s:o}", "jobs", jobs));
}

//  {"op": "cancel", "id": ID [, "wait": SECS]}: a job sent from here that
//  has not left this agent is cancelled here; one that has is cancelled
//  at its target by a cancel job (through its relay, if it has one),
//  whose result follows with "wait".
static void
s_op_cancel (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    const char *id = json_string_value (json_object_get (request, "id"));
    json_t *wait_value = json_object_get (request, "wait");
    zc_state_t state;
    char node [ZC_NAME_SIZE], relay [ZC_NAME_SIZE];
    if (!id) {
        s_answer_error (self, conn, tag, "cancel needs \"id\": a job ID", "usage", "id");
        return;
    }
    if (wait_value && (!json_is_number (wait_value) || json_number_value (wait_value) < 0
                       || json_number_value (wait_value) > 30 * 86400)) {
        s_answer_error (self, conn, tag, "\"wait\" must be a number of seconds", "usage", "wait");
        return;
    }
    if (zc_delivery_job_brief (self->parts.delivery, id, &state, node, relay) != 0) {
        char *text = zsys_sprintf ("no job %s was sent from this agent", id);
        s_answer_error (self, conn, tag, text, "usage", "id");
        free (text);
        return;
    }
    if (zc_state_final (state)) {
        char *text = zsys_sprintf ("job %s is already %s", id, zc_state_name (state));
        s_answer_error (self, conn, tag, text, "usage", "id");
        free (text);
        return;
    }
    char *error = NULL;
    if (state == ZC_STATE_QUEUED) {
        if (zc_delivery_cancel (self->parts.delivery, id, &error) != 0) {
            s_answer_error (self, conn, tag, error, "internal", "id");
            free (error);
        }
        else
            s_answer_durable (self, conn, tag, json_pack ("{s:s, s:s}", "cancelled", id, "where", "origin"));
        return;
    }
    json_t *object = json_pack ("{s:s, s:s, s:[s]}", "to", node, "method", "cancel", "args", id);
    if (*relay)
        json_object_set_new (object, "relay_via", json_string (relay));
    const char *field = NULL;
    zc_message_t *message = zc_message_from_json (object, NULL, &error, &field);
    json_decref (object);
    zlist_t *targets = NULL, *unknown = NULL, *job_ids = NULL;
    const char *code = "internal";
    if (message)
        job_ids = zc_control_submit (self, message, &targets, &unknown, &error, &code);
    if (!job_ids) {
        s_answer_error (self, conn, tag, error? error: "the cancel job could not be made", code, "id");
        free (error);
    }
    else {
        s_answer_durable (self, conn, tag, json_pack ("{s:s, s:s, s:s}", "cancelling", id, "node", node,
                                                      "cancel_id", (char *) zlist_first (job_ids)));
        if (wait_value)
            s_wait_start (self, conn, tag, job_ids, json_number_value (wait_value));
        else
            zlist_destroy (&job_ids);
    }
    zlist_destroy (&targets);
    zlist_destroy (&unknown);
    zc_message_destroy (&message);
}

//  {"op":"queue","action":"list|cancel|purge", "id":..., "older_than":...}
static void
s_op_queue (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    zc_delivery_t *delivery = self->parts.delivery;
    const char *action = json_string_value (json_object_get (request, "action"));
    if (action && streq (action, "list"))
        s_answer (self, conn, tag, json_pack ("{s:o}", "jobs", zc_delivery_queue_json (delivery)));
    else
    if (action && streq (action, "cancel")) {
        const char *id = json_string_value (json_object_get (request, "id"));
        char *error = NULL;
        if (!id)
            s_answer_error (self, conn, tag, "cancel needs \"id\": a job ID", "usage", "id");
        else
        if (zc_delivery_cancel (delivery, id, &error) != 0) {
            s_answer_error (self, conn, tag, error, "usage", "id");
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
            s_answer_error (self, conn, tag, "\"older_than\" must be a number of seconds (at most 10 years)",
                            "usage", "older_than");
        else {
            size_t count = zc_delivery_purge (delivery, older_than? json_number_value (older_than): 0);
            s_answer_durable (self, conn, tag, json_pack ("{s:I}", "purged", (json_int_t) count));
        }
    }
    else
        s_answer_error (self, conn, tag, "queue needs \"action\": list, cancel or purge", "usage", "action");
}

//  {"op": "ping", "node": NAME, "timeout": SECS}: held until the PONG.
static void
s_op_ping (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    const char *node = json_string_value (json_object_get (request, "node"));
    json_t *timeout = json_object_get (request, "timeout");
    double seconds = timeout? json_number_value (timeout): 5;
    if (!node || !zc_name_valid (node)) {
        s_answer_error (self, conn, tag, "ping needs \"node\": a node name", "usage", "node");
        return;
    }
    if ((timeout && !json_is_number (timeout)) || seconds <= 0 || seconds > 86400) {
        s_answer_error (self, conn, tag, "\"timeout\" must be a number of seconds", "usage", "timeout");
        return;
    }
    s_ping_t *ping = zc_calloc (1, sizeof *ping);
    zc_id_generate (&ping->id);
    snprintf (ping->node, sizeof ping->node, "%s", node);
    ping->conn = conn;
    ping->tag = tag? json_incref (tag): NULL;
    ping->started_us = zclock_usecs ();
    ping->timer_id = zloop_timer (self->parts.loop, (size_t) (seconds * 1000), 1, s_ping_timeout, ping);
    zlist_append (self->pings, ping);
    zc_jsonl_hold (conn, true);
    zc_wire_t *msg = zc_wire_new (ZC_MSG_PING);
    msg->id = ping->id;
    zlist_append (msg->to, (void *) node);
    self->parts.send (&msg, self->parts.send_arg);
}

//  A boolean field, absent = false. -1 (answered) when it is not one.
static int
s_bool_field (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag,
              const char *name, bool *value)
{
    json_t *field = json_object_get (request, name);
    *value = field && json_is_true (field);
    if (!field || json_is_boolean (field))
        return 0;
    char *text = zsys_sprintf ("\"%s\" must be true or false", name);
    s_answer_error (self, conn, tag, text, "usage", name);
    free (text);
    return -1;
}

//  {"op": "pub", "subject": S, "data": [TEXT, ...], "unsigned": BOOL}:
//  several messages at once, not retained (they leave in one PUB when
//  they fit); answered {"id", "subject", "count"}.
#define S_MAX_PUB_MANY 1024
static void
s_op_pub_many (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag,
               const char *subject, json_t *data)
{
    bool unsigned_, clear;
    if (s_bool_field (self, conn, request, tag, "unsigned", &unsigned_) != 0
    ||  s_bool_field (self, conn, request, tag, "clear", &clear) != 0)
        return;
    if (json_object_get (request, "retain") || json_object_get (request, "data_b64") || clear) {
        s_answer_error (self, conn, tag, "several messages at once are plain ones: no \"retain\","
                        " \"clear\" or \"data_b64\"", "usage", "data");
        return;
    }
    size_t count = json_array_size (data), index;
    json_t *item;
    json_array_foreach (data, index, item)
        if (!json_is_string (item))
            break;
    if (count == 0 || count > S_MAX_PUB_MANY || index < count) {
        s_answer_error (self, conn, tag, "\"data\" must be 1 to 1024 strings", "usage", "data");
        return;
    }
    const char *datas [S_MAX_PUB_MANY];
    size_t sizes [S_MAX_PUB_MANY];
    json_array_foreach (data, index, item) {
        datas [index] = json_string_value (item);
        sizes [index] = json_string_length (item);
    }
    zc_id_t id = { { 0 } };
    size_t published = 0;
    char *error = NULL;
    const char *code = NULL;
    if (zc_pubsub_publish_many (self->parts.pubsub, subject, datas, sizes, count,
                                unsigned_? ZC_PUBSUB_UNSIGNED: 0, &id, &published, &error, &code) != 0) {
        //  Refused for all (a bad subject, no hub) or from one on (too
        //  large): the ones before it are published.
        char *text = published? zsys_sprintf ("message %zu of %zu: %s (those before it are published)",
                                              published + 1, count, error)
                              : zc_strdup (error);
        s_answer_error (self, conn, tag, text, code, published? "data": "subject");
        free (text);
        free (error);
        return;
    }
    char ulid [ZC_ULID_LEN + 1];
    zc_id_to_ulid (&id, ulid);
    s_answer (self, conn, tag, json_pack ("{s:s, s:s, s:I}", "id", ulid, "subject", subject,
                                          "count", (json_int_t) count));
}

//  {"op": "pub", "subject": S, "data": TEXT | "data_b64": B64,
//   "retain": SECS, "unsigned": BOOL}
static void
s_op_pub (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    const char *subject = json_string_value (json_object_get (request, "subject"));
    json_t *data = json_object_get (request, "data"), *data_b64 = json_object_get (request, "data_b64");
    json_t *retain = json_object_get (request, "retain");
    bool unsigned_;
    if (!subject) {
        s_answer_error (self, conn, tag, "pub needs \"subject\": a subject", "usage", "subject");
        return;
    }
    if (json_is_array (data)) {
        s_op_pub_many (self, conn, request, tag, subject, data);
        return;
    }
    if ((data && !json_is_string (data)) || (data_b64 && !json_is_string (data_b64)) || (data && data_b64)) {
        s_answer_error (self, conn, tag, "pub takes \"data\" (a string, or an array of them) or"
                        " \"data_b64\", not both", "usage", data? "data": "data_b64");
        return;
    }
    if (retain && (!json_is_integer (retain) || json_integer_value (retain) < 0
                   || json_integer_value (retain) > 365 * 86400)) {
        s_answer_error (self, conn, tag, "\"retain\" must be whole seconds, at most a year",
                        "usage", "retain");
        return;
    }
    bool clear;
    if (s_bool_field (self, conn, request, tag, "unsigned", &unsigned_) != 0
    ||  s_bool_field (self, conn, request, tag, "clear", &clear) != 0)
        return;
    if (clear && (data || data_b64)) {
        s_answer_error (self, conn, tag, "a clear carries no data", "usage", data? "data": "data_b64");
        return;
    }
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (data_b64) {
        const char *text = json_string_value (data_b64);
        size_t length = strlen (text);
        bytes = zc_malloc (length + 1);
        if (sodium_base642bin (bytes, length + 1, text, length, NULL, &size, NULL,
                               sodium_base64_VARIANT_ORIGINAL) != 0) {
            free (bytes);
            s_answer_error (self, conn, tag, "\"data_b64\" is not base64", "usage", "data_b64");
            return;
        }
    }
    else
    if (data) {
        size = json_string_length (data);
        bytes = zc_malloc (size + 1);
        memcpy (bytes, json_string_value (data), size);
    }
    zc_id_t id;
    char *error = NULL;
    const char *code = NULL;
    uint32_t seconds = retain? (uint32_t) json_integer_value (retain): 0;
    unsigned options = (unsigned_? ZC_PUBSUB_UNSIGNED: 0) | (clear? ZC_PUBSUB_CLEAR: 0);
    if (clear && !seconds)
        seconds = ZC_PUBSUB_CLEAR_RETAIN;
    int rc = zc_pubsub_publish (self->parts.pubsub, subject, bytes, size, seconds, options, &id,
                                &error, &code);
    free (bytes);
    if (rc != 0) {
        s_answer_error (self, conn, tag, error, code, streq (code, "usage")? "subject": NULL);
        free (error);
        return;
    }
    char ulid [ZC_ULID_LEN + 1];
    zc_id_to_ulid (&id, ulid);
    //  A retained message is promised once it is stored.
    s_answer_as (self, conn, tag, json_pack ("{s:s, s:s}", "id", ulid, "subject", subject), seconds > 0);
}

//  {"op": "sub", "subject": PATTERN, "from": GLOB, "verified": BOOL,
//   "command": BOOL}: answered {"subscribed": PATTERN}, then a line per
//  message (pubsub.h) until the connection closes or "unsub".
static void
s_op_sub (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    zc_pubsub_filter_t filter = {
        .pattern = json_string_value (json_object_get (request, "subject")),
        .from = json_string_value (json_object_get (request, "from"))
    };
    if (!filter.pattern) {
        s_answer_error (self, conn, tag, "sub needs \"subject\": a subject or pattern", "usage", "subject");
        return;
    }
    if (json_object_get (request, "from") && !filter.from) {
        s_answer_error (self, conn, tag, "\"from\" must be a glob of node names", "usage", "from");
        return;
    }
    if (s_bool_field (self, conn, request, tag, "verified", &filter.verified) != 0
    ||  s_bool_field (self, conn, request, tag, "command", &filter.command) != 0
    ||  s_bool_field (self, conn, request, tag, "batch", &filter.batch) != 0)
        return;
    char *error = NULL;
    //  The answer goes first: what the subscription gets follows it.
    s_answer (self, conn, tag, json_pack ("{s:s}", "subscribed", filter.pattern));
    if (zc_pubsub_subscribe (self->parts.pubsub, conn, &filter, tag, &error) != 0) {
        s_answer_error (self, conn, tag, error, "usage", "subject");
        free (error);
    }
}

//  {"op": "unsub", "subject": PATTERN}
static void
s_op_unsub (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag)
{
    const char *pattern = json_string_value (json_object_get (request, "subject"));
    if (!pattern) {
        s_answer_error (self, conn, tag, "unsub needs \"subject\": what was subscribed", "usage", "subject");
        return;
    }
    size_t count = zc_pubsub_unsubscribe (self->parts.pubsub, conn, pattern);
    s_answer (self, conn, tag, json_pack ("{s:I}", "unsubscribed", (json_int_t) count));
}

//  The ops. A new op is a function and a row here (and zcnc-socket(7)).
typedef void (s_op_fn) (zc_control_t *self, zc_jsonl_conn_t *conn, json_t *request, json_t *tag);
static const struct {
    const char *name;
    s_op_fn *fn;
} s_ops [] = {
    { "nodes", s_op_nodes },
    { "status", s_op_status },
    { "jobs", s_op_jobs },
    { "ping", s_op_ping },
    { "queue", s_op_queue },
    { "cancel", s_op_cancel },
    { "pub", s_op_pub },
    { "sub", s_op_sub },
    { "unsub", s_op_unsub },
};
#define S_OP_COUNT (sizeof s_ops / sizeof s_ops [0])

static void
s_on_line (zc_jsonl_conn_t *conn, json_t *request, const char *error, size_t size, void *arg)
{
    zc_control_t *self = arg;
    zc_jsonl_set_data (conn, self);
    if (!json_is_object (request)) {
        char *text = zsys_sprintf ("malformed JSON request: %s", request? "not an object": error);
        s_answer_error (self, conn, NULL, text, "usage", NULL);
        free (text);
        return;
    }
    json_t *tag = json_object_get (request, "tag");
    json_t *op = json_object_get (request, "op");
    if (!op) {
        s_request_message (self, conn, request, tag);
        return;
    }
    if (size > S_MAX_OP_LINE) {
        char *text = zsys_sprintf ("an op request may be at most %u bytes (this one has %zu)",
                                   S_MAX_OP_LINE, size);
        s_answer_error (self, conn, tag, text, "usage", "op");
        free (text);
        return;
    }
    const char *name = json_string_value (op);
    size_t index = 0;
    while (index < S_OP_COUNT && !(name && streq (name, s_ops [index].name)))
        index++;
    if (index < S_OP_COUNT)
        s_ops [index].fn (self, conn, request, tag);
    else {
        char known [200] = "";
        for (size_t each = 0; each < S_OP_COUNT; each++)
            snprintf (known + strlen (known), sizeof known - strlen (known), "%s%s",
                      each? ", ": "", s_ops [each].name);
        char *text = zsys_sprintf ("unknown op '%s' (known: %s)", name? name: "?", known);
        s_answer_error (self, conn, tag, text, "usage", "op");
        free (text);
    }
}

//  A client went away: forget its answers, waits and pings.
static void
s_on_close (zc_jsonl_conn_t *conn, void *arg)
{
    zc_control_t *self = arg;
    zc_commit_forget (self->parts.commit, conn);
    zc_pubsub_conn_closed (self->parts.pubsub, conn);
    for (s_deferred_t *deferred = zlist_first (self->deferred); deferred;
         deferred = zlist_next (self->deferred))
        if (deferred->conn == conn) {
            zlist_remove (self->deferred, deferred);
            json_decref (deferred->request);
            free (deferred);
            break;                      //  one at most: it held the connection
        }
    zlist_t *gone = zlist_new ();
    for (s_wait_t *wait = zlist_first (self->waits); wait; wait = zlist_next (self->waits))
        if (wait->conn == conn)
            zlist_append (gone, wait);
    for (s_wait_t *wait = zlist_first (gone); wait; wait = zlist_next (gone))
        s_wait_destroy (self, &wait);
    zlist_purge (gone);
    for (s_ping_t *ping = zlist_first (self->pings); ping; ping = zlist_next (self->pings))
        if (ping->conn == conn)
            zlist_append (gone, ping);
    for (s_ping_t *ping = zlist_first (gone); ping; ping = zlist_next (gone))
        s_ping_destroy (self, &ping);
    zlist_destroy (&gone);
}

//  ---------------------------------------------------------------------
//  Start and stop

zc_control_t *
zc_control_new (const zc_control_parts_t *parts, char **error)
{
    zc_control_t *self = zc_calloc (1, sizeof *self);
    self->parts = *parts;
    self->waits = zlist_new ();
    self->pings = zlist_new ();
    self->deferred = zlist_new ();
    self->deferred_timer = -1;
    self->server = zc_jsonl_new (parts->loop, parts->config->socket, parts->config->socket_group,
                                 s_on_line, s_on_close, self, error);
    if (!self->server)
        zc_control_destroy (&self);
    return self;
}

void
zc_control_destroy (zc_control_t **self_p)
{
    zc_control_t *self = *self_p;
    if (!self)
        return;
    //  Closing every connection ends its waits and pings (s_on_close).
    zc_jsonl_destroy (&self->server);
    zlist_destroy (&self->waits);
    zlist_destroy (&self->pings);
    if (self->deferred_timer != -1)
        zloop_timer_end (self->parts.loop, self->deferred_timer);
    zlist_destroy (&self->deferred);
    free (self);
    *self_p = NULL;
}
