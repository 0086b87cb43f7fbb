/*  errqueue.c — error events, the sending end (errqueue.h).

    Store layout. The events queued are spool records "errqueue:N" (N the
    event's number, 20 digits, so that keys sort by number) holding the
    event's JSON text, "seq" included; the STATE record "errqueue" holds
    the next number, the last one the error node stored, the events
    dropped and those dropped not said yet, each a big-endian u64. Both
    change in the commit that follows the tick that made them.
*/
#include <sodium.h>
#include <time.h>
#include "prelude.h"
#include "errqueue.h"
#include "jsonout.h"
#include "log.h"
#include "testing.h"

#define S_RESEND_MS     5000            //  nothing acknowledged this long: again ...
#define S_RESEND_MAX_MS 60000           //  ... backing off to this
#define S_ABSENT_MAX_MS 60000           //  after a NOROUTE, try again this late without a PRESENCE
#define S_MINUTE_MS     60000
#define S_RECENT_MAX    1000            //  texts remembered for the rate limit
#define S_STATE_KEY     "errqueue"
#define S_STATE_FIELDS  4
#define S_KEY_PREFIX    "errqueue:"

struct _zc_errqueue_t {
    char name [ZC_NAME_SIZE], error_node [ZC_NAME_SIZE];
    size_t max_events;
    zc_store_t *store;              //  NULL until loaded
    zc_errqueue_send_fn *send;
    void *arg;
    zlist_t *pending;               //  json_t *: raised, not stored yet
    uint64_t overflow;              //  raised and dropped before they were numbered
    //  The queue: events first .. first + count - 1, stored; next is the
    //  number the next one gets.
    uint64_t next, first;
    size_t count, bytes;
    uint16_t *sizes;                //  ring of max_events + 1: the queued events' sizes
    size_t sizes_head;
    uint64_t stored;                //  the last one the error node said it stored
    uint64_t sent;                  //  the last one sent since the link came up
    uint64_t sent_max;              //  the last one sent since the agent started
    uint64_t dropped, unsaid;       //  events dropped, and not said yet
    bool dirty;                     //  the state record must be written
    int64_t progress, resend_ms;    //  when 'stored' last moved; the wait before resending
    bool absent;                    //  the error node is away (NOROUTE) ...
    int64_t absent_since;           //  ... since then
    //  The rate limit: the minute under way, and texts let through in it.
    int64_t window_start;
    size_t window_count;
    zhashx_t *recent;               //  text -> (void *) ms let through (+1)
    uint64_t suppressed, suppressed_unsaid;
};

//  ---------------------------------------------------------------------
//  Events

//  Cuts the longest strings of 'event' until its text takes at most
//  'limit' bytes.
static void
s_fit (json_t *event, size_t limit)
{
    for (int round = 0; round < 16; round++) {
        char *text = json_dumps (event, JSON_COMPACT);
        size_t size = text? strlen (text): 0;
        free (text);
        if (size <= limit)
            return;
        const char *key, *longest_key = NULL;
        json_t *value;
        size_t longest = 0;
        json_object_foreach (event, key, value)
            if (json_is_string (value) && json_string_length (value) > longest) {
                longest = json_string_length (value);
                longest_key = key;
            }
        if (!longest_key || longest < 4)
            return;
        //  Escapes may make it take more than its length: the loop goes on.
        size_t excess = size - limit + 3;
        size_t keep = longest > excess? longest - excess: 0;
        const char *string = json_string_value (json_object_get (event, longest_key));
        while (keep > 0 && ((unsigned char) string [keep] & 0xC0) == 0x80)
            keep--;                                 //  not inside a character
        char *cut = zsys_sprintf ("%.*s...", (int) keep, string);
        char *owned_key = zc_strdup (longest_key);
        json_object_set_new (event, owned_key, json_string (cut));
        free (owned_key);
        free (cut);
    }
}

//  A new event of 'kind' about 'node' (NULL: this agent), saying 'text'.
static json_t *
s_event (zc_errqueue_t *self, const char *kind, const char *node, const char *text)
{
    return json_pack ("{s:I, s:s, s:s, s:o}", "time", (json_int_t) time (NULL), "node", node? node: self->name,
                      "kind", kind, "text", zc_jsonout_lossy_string (text));
}

//  Takes 'event' into the memory queue; the oldest goes when it is full.
static void
s_raise (zc_errqueue_t *self, json_t *event)
{
    s_fit (event, ZC_ERRQUEUE_EVENT_MAX);
    if (zlist_size (self->pending) >= self->max_events) {
        //  More than the queue holds came since the last tick: every
        //  one queued goes too, at the next (numbers are spent on both).
        json_t *oldest = zlist_pop (self->pending);
        json_decref (oldest);
        self->overflow++;
        self->dropped++;
        self->unsaid++;
        self->dirty = true;
    }
    zlist_append (self->pending, event);
}

//  True when an event limited by rate may go now ('key': its text, or
//  NULL when only the count a minute limits it). One left out is counted.
static bool
s_admit (zc_errqueue_t *self, const char *key, int64_t now)
{
    if (now - self->window_start >= S_MINUTE_MS) {
        self->window_start = now;
        self->window_count = 0;
        //  Texts let through more than a minute ago may come again.
        zlist_t *old = zlist_new ();
        zlist_autofree (old);
        for (void *when = zhashx_first (self->recent); when; when = zhashx_next (self->recent))
            if (now - ((int64_t) (intptr_t) when - 1) >= S_MINUTE_MS)
                zlist_append (old, (void *) zhashx_cursor (self->recent));
        for (char *text = zlist_first (old); text; text = zlist_next (old))
            zhashx_delete (self->recent, text);
        zlist_destroy (&old);
    }
    void *when = key? zhashx_lookup (self->recent, key): NULL;
    if ((when && now - ((int64_t) (intptr_t) when - 1) < S_MINUTE_MS) || self->window_count >= ZC_ERRQUEUE_RATE) {
        self->suppressed++;
        self->suppressed_unsaid++;
        return false;
    }
    self->window_count++;
    if (key && (when || zhashx_size (self->recent) < S_RECENT_MAX))
        zhashx_update (self->recent, key, (void *) (intptr_t) (now + 1));
    return true;
}

//  An event let through by the rate limit says how many were not.
static void
s_raise_limited (zc_errqueue_t *self, json_t *event)
{
    if (self->suppressed_unsaid) {
        json_object_set_new (event, "suppressed", json_integer ((json_int_t) self->suppressed_unsaid));
        self->suppressed_unsaid = 0;
    }
    s_raise (self, event);
}

void
zc_errqueue_job (zc_errqueue_t *self, json_t *job)
{
    const char *id = json_string_value (json_object_get (job, "id"));
    const char *node = json_string_value (json_object_get (job, "node"));
    const char *state = json_string_value (json_object_get (job, "state"));
    const char *error = json_string_value (json_object_get (job, "error"));
    char *text = zsys_sprintf ("job %s to %s %s: %s", id? id: "?", node? node: "?", state? state: "?",
                               error? error: "given up");
    json_t *event = s_event (self, "job", node? node: "?", text);
    free (text);
    const char *fields [] = { "id", "method", "state", "error" };
    for (size_t index = 0; index < sizeof fields / sizeof fields [0]; index++) {
        json_t *value = json_object_get (job, fields [index]);
        if (value)
            json_object_set (event, fields [index], value);
    }
    s_raise (self, event);
}

void
zc_errqueue_denied (zc_errqueue_t *self, const zc_errqueue_denial_t *denial, int64_t now)
{
    char *key = NULL;
    if (denial->subject)
        key = zsys_sprintf ("denied %s %s", denial->origin, denial->subject);
    bool admitted = s_admit (self, key, now);
    free (key);
    if (!admitted)
        return;
    bool relayed = denial->relay && *denial->relay;
    char *text = denial->job_id
        ? zsys_sprintf ("refused job %s from %s%s%s: %s", denial->job_id, denial->origin,
                        relayed? " via ": "", relayed? denial->relay: "", denial->reason)
        : zsys_sprintf ("refused a message on %s from %s: %s", denial->subject? denial->subject: "?",
                        denial->origin, denial->reason);
    json_t *event = s_event (self, "denied", NULL, text);
    free (text);
    if (denial->job_id)
        json_object_set_new (event, "id", zc_jsonout_lossy_string (denial->job_id));
    if (denial->subject)
        json_object_set_new (event, "subject", zc_jsonout_lossy_string (denial->subject));
    json_object_set_new (event, "origin", zc_jsonout_lossy_string (denial->origin));
    if (relayed)
        json_object_set_new (event, "relay", zc_jsonout_lossy_string (denial->relay));
    json_object_set_new (event, "method", zc_jsonout_lossy_string (denial->method? denial->method: "?"));
    json_object_set_new (event, "cause", zc_jsonout_lossy_string (denial->cause));
    json_object_set_new (event, "reason", zc_jsonout_lossy_string (denial->reason));
    s_raise_limited (self, event);
}

void
zc_errqueue_log (zc_errqueue_t *self, bool error, const char *text, int64_t now)
{
    if (s_admit (self, text, now))
        s_raise_limited (self, s_event (self, error? "error": "warning", NULL, text));
}

//  ---------------------------------------------------------------------
//  The store

static void
s_key (uint64_t seq, char key [40])
{
    snprintf (key, 40, S_KEY_PREFIX "%020" PRIu64, seq);
}

static void
s_save_state (zc_errqueue_t *self)
{
    uint64_t fields [S_STATE_FIELDS] = { self->next, self->stored, self->dropped, self->unsaid };
    zc_store_put_numbers (self->store, ZC_TABLE_STATE, S_STATE_KEY, fields, S_STATE_FIELDS);
    self->dirty = false;
}

static int
s_load_state (const char *key, const void *value, size_t size, void *arg)
{
    zc_errqueue_t *self = arg;
    uint64_t fields [S_STATE_FIELDS];
    if (!zc_store_numbers (value, size, fields, S_STATE_FIELDS) || fields [0] == 0)
        return 0;
    self->next = fields [0];
    self->stored = fields [1];
    self->dropped = fields [2];
    self->unsaid = fields [3];
    return 0;
}

//  The oldest queued event goes, counted.
static void
s_drop_first (zc_errqueue_t *self)
{
    char key [40];
    s_key (self->first, key);
    zc_store_del (self->store, ZC_TABLE_SPOOL, key);
    self->bytes -= self->sizes [self->sizes_head];
    self->sizes_head = (self->sizes_head + 1) % (self->max_events + 1);
    self->count--;
    self->first++;
    self->dropped++;
    self->unsaid++;
    self->dirty = true;
}

//  Appends the size of the event 'first + count' (the caller stored it).
static void
s_push (zc_errqueue_t *self, size_t size)
{
    self->sizes [(self->sizes_head + self->count) % (self->max_events + 1)] = (uint16_t) size;
    self->count++;
    self->bytes += size;
}

//  A queued event of the store, in key order: the queue is rebuilt.
static int
s_load_event (const char *key, const void *value, size_t size, void *arg)
{
    zc_errqueue_t *self = arg;
    size_t prefix = strlen (S_KEY_PREFIX);
    if (strncmp (key, S_KEY_PREFIX, prefix) != 0)
        return -1;                                  //  past the queue
    uint64_t seq = strtoull (key + prefix, NULL, 10);
    if (self->count == 0)
        self->first = seq;
    if (seq != self->first + self->count) {
        zc_error ("error events: event %" PRIu64 " missing from the store; the queue goes on from %" PRIu64,
                  self->first + self->count, seq);
        while (self->count)
            s_drop_first (self);
        self->first = seq;
    }
    s_push (self, size);
    while (self->count > self->max_events)
        s_drop_first (self);                        //  the queue was made smaller
    return 0;
}

void
zc_errqueue_load (zc_errqueue_t *self, zc_store_t *store)
{
    zc_log_tap_pause (true);
    self->store = store;
    zc_store_get (store, ZC_TABLE_STATE, S_STATE_KEY, s_load_state, self);
    self->first = self->next;
    char from [40];
    s_key (0, from);
    zc_store_scan (store, ZC_TABLE_SPOOL, from, 0, s_load_event, self);
    if (self->count && self->first + self->count > self->next)
        self->next = self->first + self->count;
    self->first = self->next - self->count;
    self->sent = self->sent_max = 0;
    if (self->count)
        zc_info ("error events: %zu queued for %s", self->count, self->error_node);
    zc_log_tap_pause (false);
}

//  Collects the keys of queued events (the list is the arg).
static int
s_forget_event (const char *key, const void *value, size_t size, void *arg)
{
    if (strncmp (key, S_KEY_PREFIX, strlen (S_KEY_PREFIX)) != 0)
        return -1;
    zlist_append ((zlist_t *) arg, (void *) key);
    return 0;
}

void
zc_errqueue_forget (zc_store_t *store)
{
    zlist_t *keys = zlist_new ();
    zlist_autofree (keys);
    char from [40];
    s_key (0, from);
    zc_store_scan (store, ZC_TABLE_SPOOL, from, 0, s_forget_event, keys);
    for (const char *key = zlist_first (keys); key; key = zlist_next (keys))
        zc_store_del (store, ZC_TABLE_SPOOL, key);
    zc_store_del (store, ZC_TABLE_STATE, S_STATE_KEY);
    if (zlist_size (keys))
        zc_info ("error events: %zu left queued by an earlier error_node dropped (none is set now)",
                 zlist_size (keys));
    zlist_destroy (&keys);
}

//  Numbers the events raised and stores them; the oldest go when the
//  queue is full.
static void
s_flush (zc_errqueue_t *self)
{
    if (self->overflow) {
        //  Older than what overflowed (and counted already), the queue
        //  goes; so do the numbers of what overflowed.
        while (self->count)
            s_drop_first (self);
        self->next += self->overflow;
        self->first = self->next;
        self->overflow = 0;
        self->dirty = true;
    }
    json_t *event;
    while ((event = zlist_pop (self->pending))) {
        uint64_t seq = self->next++;
        json_object_set_new (event, "seq", json_integer ((json_int_t) seq));
        char *text = json_dumps (event, JSON_COMPACT);
        json_decref (event);
        char key [40];
        s_key (seq, key);
        size_t size = text? strlen (text): 0;
        zc_store_put (self->store, ZC_TABLE_SPOOL, key, text? text: "", size);
        free (text);
        s_push (self, size);
        while (self->count > self->max_events)
            s_drop_first (self);
        self->dirty = true;
    }
}

//  ---------------------------------------------------------------------
//  Sending

typedef struct {
    uint64_t expected;
    size_t left;
    zlist_t *texts;                 //  char *, autofree
} s_batch_t;

static int
s_batch_event (const char *key, const void *value, size_t size, void *arg)
{
    s_batch_t *batch = arg;
    size_t prefix = strlen (S_KEY_PREFIX);
    if (batch->left == 0 || strncmp (key, S_KEY_PREFIX, prefix) != 0
    ||  strtoull (key + prefix, NULL, 10) != batch->expected)
        return -1;
    char *text = zc_malloc (size + 1);
    memcpy (text, value, size);
    text [size] = 0;
    zlist_append (batch->texts, text);
    free (text);
    batch->expected++;
    batch->left--;
    return 0;
}

//  The ERROR that carries event 'seq', whose text is 'text'. The oldest
//  one queued is flagged GAP: nothing before it can come any more (it
//  was stored, or dropped here), so the error node need not wait for
//  what it lacks; it also says how many went.
static zc_wire_t *
s_message (zc_errqueue_t *self, uint64_t seq, const char *text)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_ERROR);
    msg->code = ZC_ERR_JOB_EVENT;
    zlist_append (msg->to, self->error_node);
    if (seq == self->first) {
        msg->flags |= ZC_FLAG_GAP;
        json_t *event = self->unsaid? json_loads (text, 0, NULL): NULL;
        if (json_is_object (event)) {
            json_object_set_new (event, "dropped", json_integer ((json_int_t) self->unsaid));
            msg->text = json_dumps (event, JSON_COMPACT);
        }
        json_decref (event);
    }
    if (!msg->text)
        msg->text = zc_strdup (text);
    return msg;
}

//  Sends the events not sent yet, within the window.
static void
s_send_events (zc_errqueue_t *self, int64_t now)
{
    if (self->absent && now - self->absent_since < S_ABSENT_MAX_MS)
        return;
    self->absent = false;
    uint64_t floor = self->stored > self->first - 1? self->stored: self->first - 1;
    if (self->sent < floor)
        self->sent = floor;
    if (self->sent > floor && now - self->progress > self->resend_ms) {
        //  Nothing acknowledged: again, waiting longer.
        self->sent = floor;
        self->progress = now;
        self->resend_ms = self->resend_ms * 2 < S_RESEND_MAX_MS? self->resend_ms * 2: S_RESEND_MAX_MS;
    }
    if (self->sent + 1 >= self->next || self->sent - floor >= ZC_ERRQUEUE_WINDOW)
        return;
    s_batch_t batch = { self->sent + 1, ZC_ERRQUEUE_WINDOW - (size_t) (self->sent - floor), zlist_new () };
    zlist_autofree (batch.texts);
    char key [40];
    s_key (batch.expected, key);
    //  Only what is committed is read: an event leaves once it is on disk.
    zc_store_scan (self->store, ZC_TABLE_SPOOL, key, batch.left, s_batch_event, &batch);
    for (char *text = zlist_first (batch.texts); text; text = zlist_next (batch.texts)) {
        zc_wire_t *msg = s_message (self, self->sent + 1, text);
        if (self->send (&msg, self->arg) != 0)
            break;                  //  the link would not take it
        if (self->sent == floor)
            self->progress = now;
        self->sent++;
        if (self->sent > self->sent_max)
            self->sent_max = self->sent;
    }
    zlist_destroy (&batch.texts);
}

//  ---------------------------------------------------------------------
//  The object

zc_errqueue_t *
zc_errqueue_new (const char *name, const char *error_node, size_t max_events,
                 zc_errqueue_send_fn *send, void *arg)
{
    zc_errqueue_t *self = zc_calloc (1, sizeof *self);
    snprintf (self->name, sizeof self->name, "%s", name);
    snprintf (self->error_node, sizeof self->error_node, "%s", error_node);
    self->max_events = max_events? max_events: 1;
    self->send = send;
    self->arg = arg;
    self->pending = zlist_new ();
    self->sizes = zc_calloc (self->max_events + 1, sizeof *self->sizes);
    //  A new stream's numbers start at a random epoch (22 bits, shifted
    //  by 40, so numbers fit a signed 64-bit JSON integer): the error
    //  node tells it from one that lost its store.
    self->next = self->first = (uint64_t) randombytes_uniform (1u << 22) << 40 | 1;
    self->stored = self->next - 1;
    self->resend_ms = S_RESEND_MS;
    self->window_start = INT64_MIN / 2;
    self->recent = zhashx_new ();
    return self;
}

void
zc_errqueue_destroy (zc_errqueue_t **self_p)
{
    if (*self_p) {
        zc_errqueue_t *self = *self_p;
        zc_log_tap_pause (true);
        if (self->store) {
            s_flush (self);
            if (self->dirty)
                s_save_state (self);
        }
        else
        if (zlist_size (self->pending))
            zc_warn ("error events: %zu raised before the store opened are lost", zlist_size (self->pending));
        zc_log_tap_pause (false);
        json_t *event;
        while ((event = zlist_pop (self->pending)))
            json_decref (event);
        zlist_destroy (&self->pending);
        zhashx_destroy (&self->recent);
        free (self->sizes);
        free (self);
        *self_p = NULL;
    }
}

void
zc_errqueue_tick (zc_errqueue_t *self, int64_t now, bool link_up)
{
    if (!self->store)
        return;
    zc_log_tap_pause (true);
    uint64_t dropped = self->dropped;
    s_flush (self);
    if (self->dropped > dropped)
        zc_warn ("error events: the queue for %s is full (error_queue = %zu): %" PRIu64 " dropped so far,"
                 " the oldest first", self->error_node, self->max_events, self->dropped);
    if (self->dirty)
        s_save_state (self);
    if (link_up)
        s_send_events (self, now);
    zc_log_tap_pause (false);
}

void
zc_errqueue_link_up (zc_errqueue_t *self)
{
    self->sent = 0;                 //  from what is stored, at the next tick
    self->resend_ms = S_RESEND_MS;
    self->absent = false;
}

void
zc_errqueue_on_noroute (zc_errqueue_t *self, const char *name, int64_t now)
{
    if (!streq (name, self->error_node))
        return;
    //  What went since is lost: sent again once it is back.
    if (!self->absent)
        self->absent_since = now;
    self->absent = true;
    self->sent = 0;
}

void
zc_errqueue_on_presence (zc_errqueue_t *self, const char *name)
{
    if (!streq (name, self->error_node))
        return;
    self->absent = false;
    self->sent = 0;
    self->resend_ms = S_RESEND_MS;
}

void
zc_errqueue_on_stored (zc_errqueue_t *self, const char *from, uint64_t seq, int64_t now)
{
    if (!streq (from, self->error_node) || !self->store)
        return;
    //  Never past what was sent: what the error node cannot have stays.
    if (seq > self->sent_max)
        seq = self->sent_max;
    if (seq >= self->first && seq > self->stored) {
        while (self->count && self->first <= seq) {
            char key [40];
            s_key (self->first, key);
            zc_store_del (self->store, ZC_TABLE_SPOOL, key);
            self->bytes -= self->sizes [self->sizes_head];
            self->sizes_head = (self->sizes_head + 1) % (self->max_events + 1);
            self->count--;
            self->first++;
        }
        self->stored = seq;
        self->unsaid = 0;           //  said by the first one, now stored
        self->progress = now;
        self->resend_ms = S_RESEND_MS;
        s_save_state (self);
    }
    else
    if (seq + 1 < self->first && self->sent >= self->first)
        //  It lacks events we no longer have (dropped, or it lost its
        //  store, or it is not the node that had them) and waits for
        //  them: the first one we have goes again, flagged GAP.
        self->sent = 0;
    else
        return;
    zc_log_tap_pause (true);
    s_send_events (self, now);      //  more, at once
    zc_log_tap_pause (false);
}

json_t *
zc_errqueue_status (zc_errqueue_t *self)
{
    uint64_t unacknowledged = self->sent > self->first - 1? self->sent - (self->first - 1): 0;
    return json_pack ("{s:s, s:I, s:I, s:I, s:I, s:I, s:b}", "error_node", self->error_node,
                      "queued", (json_int_t) (self->count + zlist_size (self->pending)),
                      "bytes", (json_int_t) self->bytes, "sent", (json_int_t) unacknowledged,
                      "dropped", (json_int_t) self->dropped, "suppressed", (json_int_t) self->suppressed,
                      "waiting", self->absent);
}

//  ---------------------------------------------------------------------
//  Self-test

typedef struct {
    bool up;
    zlist_t *sent;              //  json_t *: the events sent, "gap": true added when flagged
} s_test_t;

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    s_test_t *test = arg;
    zc_wire_t *msg = *msg_p;
    int rc = -1;
    if (test->up && msg->type == ZC_MSG_ERROR && msg->code == ZC_ERR_JOB_EVENT
    &&  streq (zlist_first (msg->to), "central") && strlen (msg->text) <= 1024) {
        json_t *event = json_loads (msg->text, 0, NULL);
        if (msg->flags & ZC_FLAG_GAP)
            json_object_set_new (event, "gap", json_true ());
        zlist_append (test->sent, event);
        rc = 0;
    }
    zc_wire_destroy (msg_p);
    return rc;
}

//  The events sent since the last call (the caller destroys the list
//  and its events).
static zlist_t *
s_test_take (s_test_t *test)
{
    zlist_t *taken = test->sent;
    test->sent = zlist_new ();
    return taken;
}

static void
s_test_free (zlist_t **events_p)
{
    json_t *event;
    while ((event = zlist_pop (*events_p)))
        json_decref (event);
    zlist_destroy (events_p);
}

//  Ticks, commits, ticks again: what was raised is stored, then sent.
//  Returns how many events were sent; *first gets the first (the caller
//  destroys it), when asked for.
static size_t
s_test_cycle (zc_errqueue_t *queue, zc_store_t *store, s_test_t *test, int64_t now, json_t **first)
{
    zc_errqueue_tick (queue, now, test->up);
    zc_store_commit (store);
    zc_errqueue_tick (queue, now, test->up);
    zc_store_commit (store);
    zlist_t *events = s_test_take (test);
    size_t count = zlist_size (events);
    if (first)
        *first = zlist_pop (events);
    s_test_free (&events);
    return count;
}

static uint64_t
s_test_seq (json_t *event)
{
    return (uint64_t) json_integer_value (json_object_get (event, "seq"));
}

static const char *
s_test_field (json_t *event, const char *field)
{
    return json_string_value (json_object_get (event, field));
}

static json_int_t
s_test_status (zc_errqueue_t *queue, const char *field)
{
    json_t *status = zc_errqueue_status (queue);
    json_t *member = json_object_get (status, field);
    json_int_t value = json_is_boolean (member)? json_is_true (member): json_integer_value (member);
    json_decref (status);
    return value;
}

//  What the log tap got.
static void
s_test_tap (bool error, const char *text, void *arg)
{
    snprintf (arg, 256, "%s %s", error? "error": "warn", text);
}

int
zc_errqueue_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-errqueue-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *error = NULL, store_dir [300];
    snprintf (store_dir, sizeof store_dir, "%s/store", dir);
    zc_store_t *store = zc_store_open (store_dir, false, &error);
    ZC_CHECK (store != NULL);
    s_test_t test = { .up = true, .sent = zlist_new () };
    int64_t now = 1000000;

    //  The log's tap gets warnings and errors, not while paused, not
    //  the untapped ones, not info.
    char tapped [256] = "";
    zc_log_tap (s_test_tap, tapped);
    zc_info ("an info line");
    ZC_CHECK_STR (tapped, "");
    zc_warn ("a %s line", "warning");
    ZC_CHECK_STR (tapped, "warn a warning line");
    zc_error ("an error line");
    ZC_CHECK_STR (tapped, "error an error line");
    zc_warn_untapped ("reported otherwise");
    zc_log_tap_pause (true);
    zc_warn ("paused");
    zc_log_tap_pause (false);
    ZC_CHECK_STR (tapped, "error an error line");
    zc_log_tap (NULL, NULL);

    //  Events raised before the store is there wait for it; none leaves
    //  before it is committed; they go in order, the first flagged GAP.
    zc_errqueue_t *queue = zc_errqueue_new ("n1", "central", 100, s_test_send, &test);
    json_t *job = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "id", "01ABC.n2", "node", "n2", "method", "exec",
                             "state", "expired", "error", "not delivered before it expired");
    zc_errqueue_job (queue, job);
    json_decref (job);
    zc_errqueue_tick (queue, now, true);
    ZC_CHECK (zlist_size (test.sent) == 0);
    zc_errqueue_load (queue, store);
    zc_errqueue_log (queue, false, "disk almost full", now);
    zc_errqueue_denied (queue, &(zc_errqueue_denial_t) { .job_id = "01ABD.n1", .origin = "n3", .method = "exec",
                                                         .cause = "policy", .reason = "no rule matched" }, now);
    zc_errqueue_tick (queue, now, true);
    ZC_CHECK (zlist_size (test.sent) == 0);
    zc_store_commit (store);
    zc_errqueue_tick (queue, now, true);
    zlist_t *events = s_test_take (&test);
    ZC_CHECK (zlist_size (events) == 3);
    json_t *first = zlist_first (events);
    json_t *second = zlist_next (events);
    json_t *third = zlist_next (events);
    uint64_t base = first? s_test_seq (first): 0;
    ZC_CHECK (base > 0 && (base & ((1ull << 40) - 1)) == 1);
    ZC_CHECK (json_is_true (json_object_get (first, "gap")) && !json_object_get (second, "gap"));
    ZC_CHECK_STR (s_test_field (first, "kind"), "job");
    ZC_CHECK_STR (s_test_field (first, "node"), "n2");
    ZC_CHECK_STR (s_test_field (first, "id"), "01ABC.n2");
    ZC_CHECK_STR (s_test_field (first, "state"), "expired");
    ZC_CHECK_STR (s_test_field (first, "text"), "job 01ABC.n2 to n2 expired: not delivered before it expired");
    ZC_CHECK (json_integer_value (json_object_get (first, "time")) > 1700000000);
    ZC_CHECK_STR (s_test_field (second, "kind"), "warning");
    ZC_CHECK_STR (s_test_field (second, "node"), "n1");
    ZC_CHECK_STR (s_test_field (second, "text"), "disk almost full");
    ZC_CHECK (s_test_seq (second) == base + 1);
    ZC_CHECK_STR (s_test_field (third, "kind"), "denied");
    ZC_CHECK_STR (s_test_field (third, "origin"), "n3");
    ZC_CHECK_STR (s_test_field (third, "cause"), "policy");
    ZC_CHECK_STR (s_test_field (third, "text"), "refused job 01ABD.n1 from n3: no rule matched");
    s_test_free (&events);
    ZC_CHECK (s_test_status (queue, "sent") == 3 && s_test_status (queue, "queued") == 3);

    //  Not acknowledged: sent again after a while, from the first.
    ZC_CHECK (s_test_cycle (queue, store, &test, now + 1000, NULL) == 0);
    ZC_CHECK (s_test_cycle (queue, store, &test, now + S_RESEND_MS + 1, NULL) == 3);
    //  A STORED from another node changes nothing; the error node's
    //  takes them out of the queue.
    zc_errqueue_on_stored (queue, "n9", base + 2, now);
    ZC_CHECK (s_test_status (queue, "queued") == 3);
    zc_errqueue_on_stored (queue, "central", base + 1, now);
    ZC_CHECK (s_test_status (queue, "queued") == 1);
    zc_errqueue_on_stored (queue, "central", base + 2, now);
    ZC_CHECK (s_test_status (queue, "queued") == 0 && s_test_status (queue, "bytes") == 0);
    zc_store_commit (store);

    //  The error node away (NOROUTE): nothing goes until its PRESENCE.
    zc_errqueue_on_noroute (queue, "n9", now);
    zc_errqueue_on_noroute (queue, "central", now);
    zc_errqueue_log (queue, true, "cannot write", now);
    ZC_CHECK (s_test_cycle (queue, store, &test, now, NULL) == 0);
    ZC_CHECK (s_test_status (queue, "waiting") == 1);
    zc_errqueue_on_presence (queue, "central");
    json_t *event = NULL;
    ZC_CHECK (s_test_cycle (queue, store, &test, now, &event) == 1);
    ZC_CHECK (s_test_seq (event) == base + 3 && json_is_true (json_object_get (event, "gap")));
    ZC_CHECK_STR (s_test_field (event, "kind"), "error");
    json_decref (event);
    //  ... or for a minute, then it is tried again.
    zc_errqueue_on_noroute (queue, "central", now);
    ZC_CHECK (s_test_cycle (queue, store, &test, now + S_ABSENT_MAX_MS - 1, NULL) == 0);
    ZC_CHECK (s_test_cycle (queue, store, &test, now + S_ABSENT_MAX_MS, NULL) == 1);
    //  The link down: nothing goes; up again, it goes.
    test.up = false;
    zc_errqueue_link_up (queue);
    ZC_CHECK (s_test_cycle (queue, store, &test, now, NULL) == 0);
    test.up = true;
    zc_errqueue_link_up (queue);
    ZC_CHECK (s_test_cycle (queue, store, &test, now, NULL) == 1);

    //  A restart: the queue comes back, the numbers go on.
    zc_errqueue_log (queue, false, "raised before the stop", now);
    zc_errqueue_destroy (&queue);
    zc_store_commit (store);
    queue = zc_errqueue_new ("n1", "central", 100, s_test_send, &test);
    zc_errqueue_load (queue, store);
    ZC_CHECK (s_test_status (queue, "queued") == 2);
    events = NULL;
    zc_errqueue_tick (queue, now, true);
    events = s_test_take (&test);
    ZC_CHECK (zlist_size (events) == 2);
    ZC_CHECK (s_test_seq (zlist_first (events)) == base + 3);
    ZC_CHECK_STR (s_test_field (zlist_next (events), "text"), "raised before the stop");
    s_test_free (&events);
    zc_errqueue_on_stored (queue, "central", base + 4, now);
    zc_store_commit (store);

    //  The rate limit: the same text once a minute, 60 a minute in all;
    //  the next one let through says how many were not.
    for (int round = 0; round < 3; round++)
        zc_errqueue_log (queue, false, "same text", now);
    for (int round = 0; round < 70; round++) {
        char text [32];
        snprintf (text, sizeof text, "text %d", round);
        zc_errqueue_log (queue, false, text, now);
    }
    zc_errqueue_denied (queue, &(zc_errqueue_denial_t) { .subject = "logs.x", .origin = "n3", .method = "sub",
                                                         .cause = "policy", .reason = "no rule" }, now);
    ZC_CHECK (s_test_cycle (queue, store, &test, now, NULL) == ZC_ERRQUEUE_RATE);
    ZC_CHECK (s_test_status (queue, "suppressed") == 2 + 11 + 1);
    zc_errqueue_on_stored (queue, "central", base + 4 + ZC_ERRQUEUE_RATE, now);
    zc_errqueue_log (queue, false, "same text", now + S_MINUTE_MS - 1);
    zc_errqueue_denied (queue, &(zc_errqueue_denial_t) { .subject = "logs.x", .origin = "n3", .method = "sub",
                                                         .cause = "policy", .reason = "no rule" }, now + S_MINUTE_MS);
    zc_errqueue_denied (queue, &(zc_errqueue_denial_t) { .subject = "logs.x", .origin = "n3", .method = "sub",
                                                         .cause = "policy", .reason = "no rule" }, now + S_MINUTE_MS);
    ZC_CHECK (s_test_cycle (queue, store, &test, now + S_MINUTE_MS, &event) == 1);
    ZC_CHECK_STR (s_test_field (event, "kind"), "denied");
    ZC_CHECK_STR (s_test_field (event, "subject"), "logs.x");
    ZC_CHECK_STR (s_test_field (event, "method"), "sub");
    ZC_CHECK (json_integer_value (json_object_get (event, "suppressed")) == 13);
    ZC_CHECK (!json_object_get (event, "id"));
    json_decref (event);
    zc_errqueue_on_stored (queue, "central", base + 5 + ZC_ERRQUEUE_RATE, now);

    //  An event too large is cut to fit, its text still UTF-8.
    char large [3000];
    for (size_t index = 0; index + 2 < sizeof large; index += 2)
        memcpy (large + index, "\xc3\xa9", 2);          //  é
    large [sizeof large - 1 - (sizeof large - 1) % 2] = 0;
    zc_errqueue_log (queue, true, large, now + 2 * S_MINUTE_MS);
    ZC_CHECK (s_test_cycle (queue, store, &test, now + 2 * S_MINUTE_MS, &event) == 1);
    char *text = json_dumps (event, JSON_COMPACT);
    ZC_CHECK (event && text && strlen (text) <= ZC_ERRQUEUE_EVENT_MAX + 40);
    ZC_CHECK (s_test_field (event, "text") && strstr (s_test_field (event, "text"), "..."));
    free (text);
    json_decref (event);
    zc_errqueue_destroy (&queue);

    //  The bound: the oldest go; the first sent then says how many,
    //  flagged GAP.
    zc_store_t *store2 = NULL;
    char store2_dir [320];
    snprintf (store2_dir, sizeof store2_dir, "%s/store2", dir);
    store2 = zc_store_open (store2_dir, false, &error);
    queue = zc_errqueue_new ("n1", "central", 5, s_test_send, &test);
    zc_errqueue_load (queue, store2);
    test.up = false;
    for (int round = 0; round < 8; round++) {
        job = json_pack ("{s:s, s:s, s:s}", "id", "01ABC.n2", "node", "n2", "state", "failed");
        zc_errqueue_job (queue, job);
        json_decref (job);
        if (round == 3)
            s_test_cycle (queue, store2, &test, now, NULL);
    }
    ZC_CHECK (s_test_cycle (queue, store2, &test, now, NULL) == 0);
    ZC_CHECK (s_test_status (queue, "queued") == 5 && s_test_status (queue, "dropped") == 3);
    //  Raised faster than the queue holds: the ones that would go at
    //  once are never stored.
    for (int round = 0; round < 12; round++) {
        job = json_pack ("{s:s, s:s, s:s}", "id", "01ABC.n2", "node", "n2", "state", "failed");
        zc_errqueue_job (queue, job);
        json_decref (job);
    }
    ZC_CHECK (s_test_cycle (queue, store2, &test, now, NULL) == 0);
    ZC_CHECK (s_test_status (queue, "queued") == 5 && s_test_status (queue, "dropped") == 15);
    test.up = true;
    zc_errqueue_link_up (queue);
    zc_errqueue_tick (queue, now, true);
    events = s_test_take (&test);
    ZC_CHECK (zlist_size (events) == 5);
    event = zlist_first (events);
    uint64_t base2 = event? s_test_seq (event) - 15: 0;
    ZC_CHECK ((base2 & ((1ull << 40) - 1)) == 1);
    ZC_CHECK (json_is_true (json_object_get (event, "gap"))
           && json_integer_value (json_object_get (event, "dropped")) == 15);
    ZC_CHECK (!json_object_get (zlist_next (events), "dropped"));
    s_test_free (&events);
    //  The error node says it has less than we hold (it lost its store):
    //  the first we have goes again, flagged GAP.
    zc_errqueue_on_stored (queue, "central", base2 + 2, now);
    events = s_test_take (&test);
    event = zlist_first (events);
    ZC_CHECK (zlist_size (events) == 5 && event && s_test_seq (event) == base2 + 15
           && json_is_true (json_object_get (event, "gap")));
    s_test_free (&events);
    zc_errqueue_on_stored (queue, "central", base2 + 17, now);
    ZC_CHECK (s_test_status (queue, "queued") == 2);
    //  Stored: it need not say so again.
    zc_errqueue_link_up (queue);
    ZC_CHECK (s_test_cycle (queue, store2, &test, now, &event) == 2);
    ZC_CHECK (!json_object_get (event, "dropped"));
    json_decref (event);
    //  A restart with a smaller bound keeps the newest.
    zc_errqueue_destroy (&queue);
    zc_store_commit (store2);
    queue = zc_errqueue_new ("n1", "central", 1, s_test_send, &test);
    zc_errqueue_load (queue, store2);
    ZC_CHECK (s_test_status (queue, "queued") == 1 && s_test_status (queue, "dropped") == 16);
    ZC_CHECK (s_test_cycle (queue, store2, &test, now, &event) == 1);
    ZC_CHECK (event && s_test_seq (event) == base2 + 19);
    json_decref (event);
    zc_errqueue_destroy (&queue);
    //  No error_node any more: what was queued goes.
    zc_errqueue_forget (store2);
    zc_store_commit (store2);
    queue = zc_errqueue_new ("n1", "central", 5, s_test_send, &test);
    zc_errqueue_load (queue, store2);
    ZC_CHECK (s_test_status (queue, "queued") == 0 && s_test_status (queue, "dropped") == 0);
    zc_errqueue_destroy (&queue);
    zc_store_close (&store2);

    zc_store_close (&store);
    zlist_destroy (&test.sent);
    char command [400];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    ZC_CHECK (system (command) == 0);
    if (verbose)
        printf ("# errqueue: events queued, bounded, sent until stored\n");
    return ZC_TEST_END;
}
