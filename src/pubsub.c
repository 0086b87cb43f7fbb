/*  pubsub.c — an agent's pub/sub (pubsub.h).

    Retained messages are kept twice: what this agent published (in the
    store, table "retained": its hub may restart and must get them again)
    and what it received (in memory, a few: a client that subscribes
    after another already did gets them from here, since the hubs send
    retained messages only for a pattern new to the agent).
*/
#include <errno.h>
#include <fnmatch.h>
#include <sodium.h>
#include "prelude.h"
#include "pubsub.h"
#include "job.h"
#include "log.h"
#include "pubseal.h"
#include "publine.h"
#include "subject.h"
#include "testing.h"

#define S_SEEN          4096        //  message IDs remembered against duplicates
#define S_KEPT_MAX      1024        //  retained messages received, kept for later subscribers
#define S_MAX_LOGGED    1000
#define S_MAX_STREAMS   10000       //  log streams whose last line delivered is remembered
#define S_RESTORE_AGAIN_MS 500      //  a full link's refused retained messages go again after
//  Plain publications of one turn of the loop on one subject go in one
//  PUB, under one signature (one check at each subscriber): at most this
//  many bytes of items, and ZC_WIRE_MAX_ITEMS items.
#define S_BATCH_BYTES   (ZC_WIRE_MAX_WHOLE - 128)

typedef struct {
    zc_jsonl_conn_t *conn;
    char *pattern;
    char *from;                 //  a glob, or NULL
    bool verified, command, batch;
    json_t *tag;
    uint64_t delivered, dropped, denied;
} s_sub_t;

typedef struct {
    zc_wire_t *msg;
    int64_t expires;            //  monotonic ms
} s_kept_t;

//  Retained messages to give a hub again, from the key its link refused.
typedef struct {
    void *uplink;
    char *from;
} s_resume_t;

static void
s_resume_destroy (s_resume_t **resume_p)
{
    free ((*resume_p)->from);
    free (*resume_p);
    *resume_p = NULL;
}

typedef struct {
    char *pattern;
    zc_pubsub_handler_fn *fn;
    void *arg;
} s_handler_t;

struct _zc_pubsub_t {
    char name [ZC_NAME_SIZE];
    uint8_t sign_secret [64];
    zc_store_t *store;
    zc_pubsub_links_t links;
    zlist_t *subs;              //  s_sub_t (owned)
    zhashx_t *patterns;         //  pattern -> (void *) how many subscriptions
    zhashx_t *seen;             //  message ID (hex) -> 1
    char seen_ring [S_SEEN][ZC_ID_SIZE * 2 + 1];
    size_t seen_next;
    zhashx_t *kept;             //  subject -> s_kept_t: retained messages received
    zhashx_t *retained;         //  subject -> 1: retained messages we published (stored)
    zlist_t *handlers;          //  s_handler_t: the agent's own (collectors)
    zc_wire_t *batch;           //  plain publications waiting for the end of the turn, or NULL
    zlist_t *batch_items;       //  their items (zframe_t)
    size_t batch_bytes;
    bool batch_unsigned;
    int batch_timer;            //  -1 when none
    zlist_t *restoring;         //  s_resume_t: retained messages a full link refused, to send again
    int restore_timer;          //  -1 when none
    zhashx_t *streams;          //  "FROM SUBJECT" -> the last line delivered to clients
    zc_log_once_t *logged;      //  what was logged once
    struct {
        uint64_t delivered, dropped, denied, forged, published, duplicates, unsent;
    } count;
};

static void
s_sub_destroy (s_sub_t **sub_p)
{
    s_sub_t *sub = *sub_p;
    free (sub->pattern);
    free (sub->from);
    if (sub->tag)
        json_decref (sub->tag);
    free (sub);
    *sub_p = NULL;
}

static void
s_kept_destroy (void **item)
{
    s_kept_t *kept = *item;
    zc_wire_destroy (&kept->msg);
    free (kept);
    *item = NULL;
}

//  The store key of a retained subject: a hash (subjects may be longer
//  than a key).
static void
s_retained_key (const char *subject, char key [33])
{
    uint8_t hash [16];
    crypto_generichash (hash, sizeof hash, (const uint8_t *) subject, strlen (subject), NULL, 0);
    sodium_bin2hex (key, 33, hash, sizeof hash);
}

//  A stored retained message: u64 expiry (wall ms), then the PUB encoded.
static int
s_load_retained (const char *key, const void *value, size_t size, void *arg)
{
    zc_pubsub_t *self = arg;
    if (size <= 8)
        return 0;
    uint64_t expires = 0;
    for (int index = 0; index < 8; index++)
        expires = expires << 8 | ((const uint8_t *) value) [index];
    zmsg_t *frames = zmsg_new ();
    zmsg_addmem (frames, (const uint8_t *) value + 8, size - 8);
    zc_wire_t *msg = zc_wire_decode (frames, zmsg_first (frames), NULL);
    if (msg && msg->subject)
        zhashx_update (self->retained, msg->subject, (void *) (uintptr_t) expires);
    zc_wire_destroy (&msg);
    zmsg_destroy (&frames);
    return 0;
}

zc_pubsub_t *
zc_pubsub_new (const char *name, const uint8_t *sign_secret, zc_store_t *store,
               const zc_pubsub_links_t *links)
{
    zc_pubsub_t *self = zc_calloc (1, sizeof *self);
    snprintf (self->name, sizeof self->name, "%s", name);
    memcpy (self->sign_secret, sign_secret, sizeof self->sign_secret);
    self->store = store;
    self->links = *links;
    self->subs = zlist_new ();
    self->patterns = zhashx_new ();
    self->seen = zhashx_new ();
    self->kept = zhashx_new ();
    zhashx_set_destructor (self->kept, s_kept_destroy);
    self->retained = zhashx_new ();
    self->handlers = zlist_new ();
    self->batch_timer = -1;
    self->restoring = zlist_new ();
    self->restore_timer = -1;
    self->streams = zhashx_new ();
    self->logged = zc_log_once_new (S_MAX_LOGGED);
    if (store)
        zc_store_each (store, ZC_TABLE_RETAINED, s_load_retained, self);
    return self;
}

void
zc_pubsub_destroy (zc_pubsub_t **self_p)
{
    if (*self_p) {
        zc_pubsub_t *self = *self_p;
        sodium_memzero (self->sign_secret, sizeof self->sign_secret);
        s_sub_t *sub;
        while ((sub = zlist_pop (self->subs)))
            s_sub_destroy (&sub);
        zlist_destroy (&self->subs);
        zhashx_destroy (&self->patterns);
        zhashx_destroy (&self->seen);
        zhashx_destroy (&self->kept);
        zc_pubsub_flush (self);
        zhashx_destroy (&self->retained);
        s_handler_t *handler;
        while ((handler = zlist_pop (self->handlers))) {
            free (handler->pattern);
            free (handler);
        }
        zlist_destroy (&self->handlers);
        zhashx_destroy (&self->streams);
        if (self->restore_timer != -1 && self->links.loop)
            zloop_timer_end (self->links.loop, self->restore_timer);
        s_resume_t *resume;
        while ((resume = zlist_pop (self->restoring)))
            s_resume_destroy (&resume);
        zlist_destroy (&self->restoring);
        zc_log_once_destroy (&self->logged);
        free (self);
        *self_p = NULL;
    }
}

//  Sends SUB or UNSUB for one pattern to every hub that is up.
static void
s_tell_hubs (zc_pubsub_t *self, uint8_t type, const char *pattern)
{
    zlist_t *uplinks = self->links.uplinks (self->links.arg);
    for (void *uplink = zlist_first (uplinks); uplink; uplink = zlist_next (uplinks)) {
        zc_wire_t *msg = zc_wire_new ((zc_msg_type_t) type);
        zlist_append (msg->patterns, (void *) pattern);
        self->links.send_to (uplink, &msg, self->links.arg);
    }
    zlist_destroy (&uplinks);
}

//  ---------------------------------------------------------------------
//  Publishing

//  Forgets the retained messages published here that expired.
static void
s_prune_retained (zc_pubsub_t *self)
{
    uint64_t now = zc_wall_ms ();
    zlist_t *expired = zlist_new ();
    zlist_autofree (expired);
    for (void *expires = zhashx_first (self->retained); expires; expires = zhashx_next (self->retained))
        if ((uint64_t) (uintptr_t) expires <= now)
            zlist_append (expired, (void *) zhashx_cursor (self->retained));
    for (const char *subject = zlist_first (expired); subject; subject = zlist_next (expired)) {
        char key [33];
        s_retained_key (subject, key);
        zc_store_del (self->store, ZC_TABLE_RETAINED, key);
        zhashx_delete (self->retained, subject);
    }
    zlist_destroy (&expired);
}

void
zc_pubsub_flush (zc_pubsub_t *self)
{
    if (self->batch_timer != -1 && self->links.loop)
        zloop_timer_end (self->links.loop, self->batch_timer);
    self->batch_timer = -1;
    if (!self->batch)
        return;
    zc_wire_t *msg = self->batch;
    self->batch = NULL;
    msg->payload = zc_pubseal_make (self->batch_unsigned? NULL: self->sign_secret, msg, self->name,
                                    self->batch_items);
    zc_pubseal_items_destroy (&self->batch_items);
    self->batch_bytes = 0;
    if (!msg->payload || self->links.send (&msg, self->links.arg) != 0)
        self->count.unsent++;
    zc_wire_destroy (&msg);
}

static int
s_batch_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_pubsub_t *self = arg;
    self->batch_timer = -1;         //  a one-shot timer is gone once it fired
    zc_pubsub_flush (self);
    return 0;
}

//  A plain publication joins the batch of this turn (a new one when the
//  subject or signing differs, or it is full); its message ID in *id.
static void
s_batch_add (zc_pubsub_t *self, const char *subject, const uint8_t *data, size_t size, bool unsigned_,
             zc_id_t *id)
{
    if (self->batch && (strcmp (self->batch->subject, subject) != 0 || self->batch_unsigned != unsigned_
                     || self->batch_bytes + size + 4 > S_BATCH_BYTES
                     || zlist_size (self->batch_items) >= ZC_WIRE_MAX_ITEMS))
        zc_pubsub_flush (self);
    if (!self->batch) {
        self->batch = zc_wire_new (ZC_MSG_PUB);
        self->batch->subject = zc_strdup (subject);
        self->batch_items = zlist_new ();
        self->batch_unsigned = unsigned_;
    }
    zlist_append (self->batch_items, zframe_new (data, size));
    self->batch_bytes += size + 4;
    *id = self->batch->id;
    if (!self->links.loop)
        zc_pubsub_flush (self);
    else
    if (self->batch_timer == -1)
        self->batch_timer = zloop_timer (self->links.loop, 0, 1, s_batch_timer, self);
}

int
zc_pubsub_publish (zc_pubsub_t *self, const char *subject, const uint8_t *data, size_t size,
                   uint32_t retain, unsigned options, zc_id_t *id, char **error, const char **code)
{
    bool unsigned_ = (options & ZC_PUBSUB_UNSIGNED) != 0, clear = (options & ZC_PUBSUB_CLEAR) != 0;
    if (clear) {
        size = 0;                       //  a clear says nothing
        if (!retain)
            retain = ZC_PUBSUB_CLEAR_RETAIN;
    }
    const char *problem = NULL;
    *code = "usage";
    if (zc_subject_check (subject, false, &problem) != 0) {
        *error = zsys_sprintf ("bad subject '%.300s': %s", subject, problem);
        return -1;
    }
    if (zc_subject_is_system (subject)) {
        *error = zc_strdup ("only hubs publish under $sys. (presence)");
        return -1;
    }
    if (size > ZC_PUBSUB_MAX_DATA) {
        *error = zsys_sprintf ("a message may have at most %u bytes of data (this one has %zu)",
                               ZC_PUBSUB_MAX_DATA, size);
        return -1;
    }
    if (retain && !zhashx_lookup (self->retained, subject)
    &&  zhashx_size (self->retained) >= ZC_PUBSUB_MAX_RETAINED)
        s_prune_retained (self);
    if (retain && !zhashx_lookup (self->retained, subject)
    &&  zhashx_size (self->retained) >= ZC_PUBSUB_MAX_RETAINED) {
        *error = zsys_sprintf ("this node retains %u subjects already: let one expire first",
                               ZC_PUBSUB_MAX_RETAINED);
        *code = "full";
        return -1;
    }
    if (!retain) {
        zlist_t *up = self->links.uplinks (self->links.arg);
        bool connected = zlist_size (up) > 0;
        zlist_destroy (&up);
        if (!connected) {
            *error = zc_strdup ("no hub connected: not published");
            *code = "internal";
            return -1;
        }
        s_batch_add (self, subject, data, size, unsigned_, id);
        self->count.published++;
        return 0;
    }
    //  A retained one goes alone (its hubs keep the last per subject).
    zc_pubsub_flush (self);
    zc_wire_t *msg = zc_wire_new (ZC_MSG_PUB);
    msg->subject = zc_strdup (subject);
    msg->retain = retain;
    if (clear)
        msg->flags |= ZC_FLAG_CLEAR;
    zlist_t *items = zlist_new ();
    zlist_append (items, zframe_new (data, size));
    msg->payload = zc_pubseal_make (unsigned_? NULL: self->sign_secret, msg, self->name, items);
    zc_pubseal_items_destroy (&items);
    *id = msg->id;
    {
        //  Kept until it expires, and given to every hub that comes up.
        char key [33];
        s_retained_key (subject, key);
        zmsg_t *frames = zc_wire_encode (msg);
        zframe_t *frame = frames? zmsg_first (frames): NULL;
        if (frame) {
            size_t stored_size = 8 + zframe_size (frame);
            uint8_t *stored = zc_malloc (stored_size);
            uint64_t expires = zc_wall_ms () + (uint64_t) retain * 1000;
            for (int index = 0; index < 8; index++)
                stored [index] = (uint8_t) (expires >> (56 - 8 * index));
            memcpy (stored + 8, zframe_data (frame), zframe_size (frame));
            zc_store_put (self->store, ZC_TABLE_RETAINED, key, stored, stored_size);
            free (stored);
            zhashx_update (self->retained, subject, (void *) (uintptr_t) expires);
        }
        zmsg_destroy (&frames);
        self->count.published++;
        self->links.send (&msg, self->links.arg);     //  or when a hub comes up
        return 0;
    }
}

int
zc_pubsub_publish_many (zc_pubsub_t *self, const char *subject, const char *const *datas,
                        const size_t *sizes, size_t count, unsigned options, zc_id_t *id,
                        size_t *published, char **error, const char **code)
{
    const char *problem = NULL;
    *published = 0;
    *code = "usage";
    if (zc_subject_check (subject, false, &problem) != 0) {
        *error = zsys_sprintf ("bad subject '%.300s': %s", subject, problem);
        return -1;
    }
    if (zc_subject_is_system (subject)) {
        *error = zc_strdup ("only hubs publish under $sys. (presence)");
        return -1;
    }
    zlist_t *up = self->links.uplinks (self->links.arg);
    bool connected = zlist_size (up) > 0;
    zlist_destroy (&up);
    if (!connected) {
        *error = zc_strdup ("no hub connected: not published");
        *code = "internal";
        return -1;
    }
    for (size_t index = 0; index < count; index++) {
        if (sizes [index] > ZC_PUBSUB_MAX_DATA) {
            *error = zsys_sprintf ("a message may have at most %u bytes of data (this one has %zu)",
                                   ZC_PUBSUB_MAX_DATA, sizes [index]);
            return -1;
        }
        zc_id_t each;
        s_batch_add (self, subject, (const uint8_t *) datas [index], sizes [index],
                     (options & ZC_PUBSUB_UNSIGNED) != 0, &each);
        if (index == 0)
            *id = each;
        self->count.published++;
        (*published)++;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Subscribing

//  A received retained message a subscription takes: 'sub' gets the
//  kept ones that match it.
static void s_deliver (zc_pubsub_t *self, zc_wire_t *msg, s_sub_t *only);

int
zc_pubsub_subscribe (zc_pubsub_t *self, zc_jsonl_conn_t *conn, const zc_pubsub_filter_t *filter,
                     json_t *tag, char **error)
{
    const char *problem = NULL;
    if (zc_subject_check (filter->pattern, true, &problem) != 0) {
        *error = zsys_sprintf ("bad subject '%.300s': %s", filter->pattern, problem);
        return -1;
    }
    if (zlist_size (self->subs) >= ZC_PUBSUB_MAX_SUBS) {
        *error = zsys_sprintf ("this agent has %u subscriptions already", ZC_PUBSUB_MAX_SUBS);
        return -1;
    }
    s_sub_t *sub = zc_calloc (1, sizeof *sub);
    sub->conn = conn;
    sub->pattern = zc_strdup (filter->pattern);
    sub->from = filter->from && *filter->from? zc_strdup (filter->from): NULL;
    sub->verified = filter->verified || filter->command;
    sub->command = filter->command;
    sub->batch = filter->batch;
    sub->tag = tag? json_incref (tag): NULL;
    zlist_append (self->subs, sub);
    size_t count = (size_t) zhashx_lookup (self->patterns, sub->pattern);
    zhashx_update (self->patterns, sub->pattern, (void *) (count + 1));
    if (count == 0)
        s_tell_hubs (self, ZC_MSG_SUB, sub->pattern);
    //  What we kept that it wants (the hubs send retained messages only
    //  for a pattern new here).
    int64_t now = zclock_mono ();
    for (s_kept_t *kept = zhashx_first (self->kept); kept; kept = zhashx_next (self->kept))
        if (kept->expires > now && zc_subject_matches (sub->pattern, kept->msg->subject))
            s_deliver (self, kept->msg, sub);
    return 0;
}

void
zc_pubsub_keep (zc_pubsub_t *self, const char *pattern)
{
    size_t count = (size_t) zhashx_lookup (self->patterns, pattern);
    zhashx_update (self->patterns, pattern, (void *) (count + 1));
    if (count == 0)
        s_tell_hubs (self, ZC_MSG_SUB, pattern);
}

static void
s_drop_pattern (zc_pubsub_t *self, const char *pattern)
{
    size_t count = (size_t) zhashx_lookup (self->patterns, pattern);
    if (count > 1)
        zhashx_update (self->patterns, pattern, (void *) (count - 1));
    else
    if (count == 1) {
        zhashx_delete (self->patterns, pattern);
        s_tell_hubs (self, ZC_MSG_UNSUB, pattern);
        //  What we kept and no longer subscribe to may be cleared without
        //  us hearing of it: forgotten.
        zlist_t *stale = zlist_new ();
        zlist_autofree (stale);
        for (s_kept_t *kept = zhashx_first (self->kept); kept; kept = zhashx_next (self->kept)) {
            bool wanted = false;
            for (void *each = zhashx_first (self->patterns); each && !wanted; each = zhashx_next (self->patterns))
                wanted = zc_subject_matches ((const char *) zhashx_cursor (self->patterns), kept->msg->subject);
            if (!wanted)
                zlist_append (stale, (void *) zhashx_cursor (self->kept));
        }
        for (const char *subject = zlist_first (stale); subject; subject = zlist_next (stale))
            zhashx_delete (self->kept, subject);
        zlist_destroy (&stale);
    }
}

size_t
zc_pubsub_unsubscribe (zc_pubsub_t *self, zc_jsonl_conn_t *conn, const char *pattern)
{
    zlist_t *gone = zlist_new ();
    for (s_sub_t *sub = zlist_first (self->subs); sub; sub = zlist_next (self->subs))
        if (sub->conn == conn && (!pattern || streq (sub->pattern, pattern)))
            zlist_append (gone, sub);
    size_t count = zlist_size (gone);
    for (s_sub_t *sub = zlist_first (gone); sub; sub = zlist_next (gone)) {
        zlist_remove (self->subs, sub);
        s_drop_pattern (self, sub->pattern);
        s_sub_destroy (&sub);
    }
    zlist_destroy (&gone);
    return count;
}

void
zc_pubsub_conn_closed (zc_pubsub_t *self, zc_jsonl_conn_t *conn)
{
    zc_pubsub_unsubscribe (self, conn, NULL);
}

//  ---------------------------------------------------------------------
//  Receiving

//  True when a message was seen already (from another hub); remembers it.
static bool
s_seen (zc_pubsub_t *self, const zc_id_t *id)
{
    char key [ZC_ID_SIZE * 2 + 1];
    sodium_bin2hex (key, sizeof key, id->bytes, ZC_ID_SIZE);
    if (zhashx_lookup (self->seen, key))
        return true;
    char *slot = self->seen_ring [self->seen_next];
    if (*slot)
        zhashx_delete (self->seen, slot);
    memcpy (slot, key, sizeof key);
    zhashx_insert (self->seen, key, (void *) 1);
    self->seen_next = (self->seen_next + 1) % S_SEEN;
    return false;
}

void
zc_pubsub_handle (zc_pubsub_t *self, const char *pattern, zc_pubsub_handler_fn *fn, void *arg)
{
    s_handler_t *handler = zc_calloc (1, sizeof *handler);
    handler->pattern = zc_strdup (pattern);
    handler->fn = fn;
    handler->arg = arg;
    zlist_append (self->handlers, handler);
    zc_pubsub_keep (self, pattern);
}

void
zc_pubsub_unhandle (zc_pubsub_t *self, void *arg)
{
    zlist_t *gone = zlist_new ();
    for (s_handler_t *handler = zlist_first (self->handlers); handler; handler = zlist_next (self->handlers))
        if (handler->arg == arg)
            zlist_append (gone, handler);
    for (s_handler_t *handler = zlist_first (gone); handler; handler = zlist_next (gone)) {
        zlist_remove (self->handlers, handler);
        free (handler->pattern);
        free (handler);
    }
    zlist_destroy (&gone);
}

//  A subscription in batches gets one line for a message's items (from
//  'skip' on), else a line per item; what a subscriber has not read
//  beyond ZC_PUBSUB_BACKLOG is dropped and counted.
static void
s_deliver_to (zc_pubsub_t *self, s_sub_t *sub, zc_publine_t *lines, size_t count, size_t skip)
{
    if (skip >= count)
        return;
    size_t size;
    if (sub->batch) {
        if (self->links.backlog (sub->conn, self->links.arg) > ZC_PUBSUB_BACKLOG) {
            sub->dropped += count - skip;
            self->count.dropped += count - skip;
            return;
        }
        const char *line = zc_publine_batch (lines, skip, sub->dropped, sub->tag, &size);
        self->links.answer (sub->conn, line, size, self->links.arg);
        sub->delivered += count - skip;
        self->count.delivered += count - skip;
        return;
    }
    for (size_t index = skip; index < count; index++) {
        if (self->links.backlog (sub->conn, self->links.arg) > ZC_PUBSUB_BACKLOG) {
            sub->dropped++;
            self->count.dropped++;
            continue;
        }
        const char *line = zc_publine_item (lines, index, sub->dropped, sub->tag, &size);
        self->links.answer (sub->conn, line, size, self->links.arg);
        sub->delivered++;
        self->count.delivered++;
    }
}

//  True when 'sub' takes a message from 'from' on 'subject' authenticated so.
static bool
s_takes (zc_pubsub_t *self, s_sub_t *sub, zc_wire_t *msg, zc_pub_auth_t auth)
{
    if (!zc_subject_matches (sub->pattern, msg->subject)
    ||  (sub->from && fnmatch (sub->from, msg->from, 0) != 0)
    ||  (sub->verified && auth != ZC_PUB_VERIFIED))
        return false;
    char reason [256];
    if (sub->command && self->links.may_run
    &&  !self->links.may_run (msg->from, msg->subject, reason, sizeof reason, self->links.arg)) {
        sub->denied++;
        self->count.denied++;
        char what [ZC_NAME_SIZE + ZC_WIRE_MAX_SUBJECT + 16], line [800];
        snprintf (what, sizeof what, "deny:%s:%s", msg->from, msg->subject);
        snprintf (line, sizeof line, "a message from %s on %s does not run a subscriber's command: %s"
                  " (logged once)", msg->from, msg->subject, reason);
        //  Reported as a denial by may_run (not tapped, log.h).
        zc_log_tap_pause (true);
        zc_warn_once (self->logged, what, "%s", line);
        zc_log_tap_pause (false);
        return false;
    }
    return true;
}

//  Delivers a message to its subscriptions (or to 'only'), each item a line.
static void
s_deliver (zc_pubsub_t *self, zc_wire_t *msg, s_sub_t *only)
{
    zc_pub_payload_t opened;
    zc_pub_auth_t auth;
    const char *problem;
    if (zc_pubseal_open (self->links.keyring (self->links.arg), msg, &opened, &auth, &problem) != 0) {
        self->count.forged++;
        char what [ZC_NAME_SIZE + 16], line [600];
        snprintf (what, sizeof what, "forged:%s", msg->from);
        snprintf (line, sizeof line, "dropped a message on %.300s from %s: %s (logged once per publisher)",
                  msg->subject? msg->subject: "?", msg->from, problem);
        zc_warn_once (self->logged, what, "%s", line);
        return;
    }
    //  The agent's own handlers get it all, also lines they had.
    for (s_handler_t *handler = only? NULL: zlist_first (self->handlers); handler;
         handler = zlist_next (self->handlers))
        if (zc_subject_matches (handler->pattern, msg->subject))
            handler->fn (msg, opened.item, opened.count, auth, handler->arg);
    //  Clients get a log stream's lines once, however often it is sent
    //  (a publisher sends what no collector stored again).
    size_t skip = 0;
    char stream [ZC_NAME_SIZE + ZC_WIRE_MAX_SUBJECT + 24];
    if (msg->seq && !only) {
        snprintf (stream, sizeof stream, "%s %s %" PRIu64, msg->from, msg->subject, msg->seq >> 40);
        uint64_t last = (uint64_t) (uintptr_t) zhashx_lookup (self->streams, stream);
        uint64_t end = msg->seq + opened.count - 1;
        skip = last >= msg->seq? (size_t) ((last < end? last: end) - msg->seq + 1): 0;
        if (end > last) {
            if (!last && zhashx_size (self->streams) >= S_MAX_STREAMS)
                zhashx_purge (self->streams);
            zhashx_update (self->streams, stream, (void *) (uintptr_t) end);
        }
    }
    zc_publine_t *lines = NULL;         //  written for the first subscriber that takes it
    for (s_sub_t *sub = only? only: zlist_first (self->subs); sub; sub = only? NULL: zlist_next (self->subs)) {
        if (!s_takes (self, sub, msg, auth))
            continue;
        if (!lines)
            lines = zc_publine_new (msg, opened.item, opened.count, auth);
        s_deliver_to (self, sub, lines, opened.count, skip);
    }
    zc_publine_destroy (&lines);
    zc_wire_pub_payload_clear (&opened);
}

//  A retained message received: kept for later subscribers here, or, when
//  it clears its subject, forgotten. True when it is news to deliver: not
//  a clear, not one we have (hubs send them again when a link comes back)
//  or older.
static bool
s_keep (zc_pubsub_t *self, zc_wire_t *msg)
{
    zc_pub_payload_t payload;
    if (zc_wire_pub_payload_decode (msg->payload, &payload) != 0)
        return true;                    //  malformed: s_deliver says so
    zc_wire_pub_payload_clear (&payload);
    bool clear = (msg->flags & ZC_FLAG_CLEAR) != 0;
    s_kept_t *known = zhashx_lookup (self->kept, msg->subject);
    if (known && memcmp (known->msg->id.bytes, msg->id.bytes, ZC_ID_SIZE) >= 0)
        return false;                   //  we have it, or a newer one
    if (clear) {
        zhashx_delete (self->kept, msg->subject);
        return false;
    }
    if (!known && zhashx_size (self->kept) >= S_KEPT_MAX) {
        zlist_t *expired = zlist_new ();
        zlist_autofree (expired);
        int64_t now = zclock_mono ();
        for (s_kept_t *kept = zhashx_first (self->kept); kept; kept = zhashx_next (self->kept))
            if (kept->expires <= now)
                zlist_append (expired, (void *) zhashx_cursor (self->kept));
        for (const char *subject = zlist_first (expired); subject; subject = zlist_next (expired))
            zhashx_delete (self->kept, subject);
        zlist_destroy (&expired);
        if (zhashx_size (self->kept) >= S_KEPT_MAX)
            return true;
    }
    s_kept_t *kept = zc_calloc (1, sizeof *kept);
    kept->msg = zc_wire_dup_header (msg, NULL);
    kept->msg->payload = zframe_dup (msg->payload);
    kept->expires = zclock_mono () + (int64_t) msg->retain * 1000;
    zhashx_update (self->kept, msg->subject, kept);
    return true;
}

void
zc_pubsub_on_pub (zc_pubsub_t *self, zc_wire_t *msg)
{
    if (!msg->subject)
        return;
    //  A retained message is news when it is newer than the copy kept
    //  (the hubs send it again to a client that subscribes again); any
    //  other, when its ID was not seen (it came from another hub too).
    bool news = msg->retain? s_keep (self, msg): !s_seen (self, &msg->id);
    if (!news) {
        self->count.duplicates++;
        return;
    }
    s_deliver (self, msg, NULL);
}

//  ---------------------------------------------------------------------
//  Links

typedef struct {
    zc_pubsub_t *self;
    void *uplink;
    zlist_t *expired;
    char *refused;              //  the key of the one the link refused, or NULL
} s_restore_t;

//  Gives a hub a retained message we published, or notes it expired;
//  stops at one the link refuses (it is full: the rest follow later).
static int
s_restore (const char *key, const void *value, size_t size, void *arg)
{
    s_restore_t *restore = arg;
    if (size <= 8)
        return 0;
    const uint8_t *bytes = value;
    uint64_t expires = 0;
    for (int index = 0; index < 8; index++)
        expires = expires << 8 | bytes [index];
    uint64_t now = zc_wall_ms ();
    zmsg_t *frames = zmsg_new ();
    zmsg_addmem (frames, bytes + 8, size - 8);
    zc_wire_t *msg = zc_wire_decode (frames, zmsg_first (frames), NULL);
    zmsg_destroy (&frames);
    if (!msg || expires <= now) {
        zlist_append (restore->expired, (void *) key);
        if (msg)
            zhashx_delete (restore->self->retained, msg->subject);
        zc_wire_destroy (&msg);
        return 0;
    }
    msg->retain = (uint32_t) ((expires - now + 999) / 1000);
    if (restore->self->links.send_to (restore->uplink, &msg, restore->self->links.arg) != 0) {
        restore->refused = zc_strdup (key);
        return -1;
    }
    return 0;
}

static int s_restore_timer (zloop_t *loop, int timer_id, void *arg);

//  Gives a hub the retained messages we published from key 'from' on
//  (all, when NULL). What a full link refuses goes again after
//  S_RESTORE_AGAIN_MS, from where it stopped, while the link stays up:
//  a hub that restarted under many large retained messages gets them
//  all, as fast as the link's budget lets them go.
static void
s_restore_from (zc_pubsub_t *self, void *uplink, const char *from)
{
    s_restore_t restore = { self, uplink, zlist_new (), NULL };
    zlist_autofree (restore.expired);
    zc_store_scan (self->store, ZC_TABLE_RETAINED, from, 0, s_restore, &restore);
    for (const char *key = zlist_first (restore.expired); key; key = zlist_next (restore.expired))
        zc_store_del (self->store, ZC_TABLE_RETAINED, key);
    zlist_destroy (&restore.expired);
    if (!restore.refused)
        return;
    s_resume_t *resume = zc_calloc (1, sizeof *resume);
    resume->uplink = uplink;
    resume->from = restore.refused;
    zlist_append (self->restoring, resume);
    if (self->restore_timer == -1 && self->links.loop)
        self->restore_timer = zloop_timer (self->links.loop, S_RESTORE_AGAIN_MS, 1, s_restore_timer, self);
}

static int
s_restore_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_pubsub_t *self = arg;
    self->restore_timer = -1;
    zlist_t *pending = self->restoring;
    self->restoring = zlist_new ();
    zlist_t *up = self->links.uplinks (self->links.arg);
    s_resume_t *resume;
    while ((resume = zlist_pop (pending))) {
        bool still_up = false;
        for (void *uplink = zlist_first (up); uplink; uplink = zlist_next (up))
            still_up |= uplink == resume->uplink;
        if (still_up)
            s_restore_from (self, resume->uplink, resume->from);
        s_resume_destroy (&resume);
    }
    zlist_destroy (&pending);
    zlist_destroy (&up);
    return 0;
}

void
zc_pubsub_link_up (zc_pubsub_t *self, void *uplink)
{
    //  All we subscribe to (FULL: the hub forgets the rest), in batches.
    zlistx_t *patterns = zhashx_keys (self->patterns);
    const char *pattern = zlistx_first (patterns);
    bool first = true;
    while (first || pattern) {
        zc_wire_t *msg = zc_wire_new (ZC_MSG_SUB);
        if (first)
            msg->flags |= ZC_FLAG_FULL;
        for (; pattern && zlist_size (msg->patterns) < ZC_WIRE_MAX_PATTERNS; pattern = zlistx_next (patterns))
            zlist_append (msg->patterns, (void *) pattern);
        self->links.send_to (uplink, &msg, self->links.arg);
        first = false;
    }
    zlistx_destroy (&patterns);
    //  A restore still pending on this link starts over.
    zlist_t *others = zlist_new ();
    s_resume_t *resume;
    while ((resume = zlist_pop (self->restoring)))
        if (resume->uplink == uplink)
            s_resume_destroy (&resume);
        else
            zlist_append (others, resume);
    zlist_destroy (&self->restoring);
    self->restoring = others;
    s_restore_from (self, uplink, NULL);
}

json_t *
zc_pubsub_status (zc_pubsub_t *self)
{
    return json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "subscriptions", (json_int_t) zlist_size (self->subs),
        "patterns", (json_int_t) zhashx_size (self->patterns),
        "delivered", (json_int_t) self->count.delivered,
        "dropped", (json_int_t) self->count.dropped,
        "denied", (json_int_t) self->count.denied,
        "forged", (json_int_t) self->count.forged,
        "published", (json_int_t) self->count.published,
        "unsent", (json_int_t) self->count.unsent,
        "retained", (json_int_t) zhashx_size (self->retained));
}

//  ---------------------------------------------------------------------
//  Self-test: fake hubs that keep what they are sent, fake clients that
//  keep what they are answered.

typedef struct {
    bool hub_up;
    zlist_t *sent;              //  zc_wire_t sent to "the hub"
    zlist_t *lines;             //  "CONN SUBJECT DATA AUTH [dropped N]" (autofree)
    size_t backlog;             //  what every client has not read
    zc_keyring_t *keyring;
    bool allow;                 //  the policy's verdict
    bool full;                  //  the hub's link takes only 'room' more messages
    size_t room;
} s_test_t;

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    s_test_t *test = arg;
    if (!test->hub_up) {
        zc_wire_destroy (msg_p);
        errno = 0;
        return -1;
    }
    zlist_append (test->sent, *msg_p);
    *msg_p = NULL;
    return 0;
}

static int
s_test_send_to (void *uplink, zc_wire_t **msg_p, void *arg)
{
    s_test_t *test = arg;
    if (test->full && test->room == 0) {
        zc_wire_destroy (msg_p);
        errno = ENOBUFS;
        return -1;
    }
    test->room -= test->full;
    return s_test_send (msg_p, arg);
}

static int
s_test_loop_end (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

static zlist_t *
s_test_uplinks (void *arg)
{
    s_test_t *test = arg;
    zlist_t *up = zlist_new ();
    if (test->hub_up)
        zlist_append (up, test);
    return up;
}

static zc_keyring_t *
s_test_keyring (void *arg)
{
    return ((s_test_t *) arg)->keyring;
}

static void
s_test_answer (zc_jsonl_conn_t *conn, const char *text, size_t size, void *arg)
{
    s_test_t *test = arg;
    json_t *event = json_loadb (text, size, JSON_REJECT_DUPLICATES, NULL);
    char line [300];
    json_t *dropped = json_object_get (event, "dropped");
    snprintf (line, sizeof line, "%zu %s %s %s%s", (size_t) conn,
              json_string_value (json_object_get (event, "subject")),
              json_string_value (json_object_get (event, "data")),
              json_string_value (json_object_get (event, "auth")), dropped? " dropped": "");
    zlist_append (test->lines, line);
    json_decref (event);
}

static size_t
s_test_backlog (zc_jsonl_conn_t *conn, void *arg)
{
    return ((s_test_t *) arg)->backlog;
}

static bool
s_test_may_run (const char *from, const char *subject, char *reason, size_t size, void *arg)
{
    snprintf (reason, size, "test");
    return ((s_test_t *) arg)->allow;
}

//  The messages sent so far, as "TYPE[ FULL][ SUBJECT][ PATTERN...]", and
//  forgets them.
static char *
s_test_sent (s_test_t *test)
{
    char all [2000] = "";
    zc_wire_t *msg;
    while ((msg = zlist_pop (test->sent))) {
        snprintf (all + strlen (all), sizeof all - strlen (all), "%s%s%s%s%s", *all? "; ": "",
                  zc_wire_type_name (msg->type), (msg->flags & ZC_FLAG_FULL)? " FULL": "",
                  msg->subject? " ": "", msg->subject? msg->subject: "");
        for (const char *pattern = zlist_first (msg->patterns); pattern; pattern = zlist_next (msg->patterns))
            snprintf (all + strlen (all), sizeof all - strlen (all), " %s", pattern);
        zc_wire_destroy (&msg);
    }
    return zc_strdup (all);
}

static char *
s_test_lines (s_test_t *test)
{
    char all [2000] = "";
    for (const char *line = zlist_first (test->lines); line; line = zlist_next (test->lines))
        snprintf (all + strlen (all), sizeof all - strlen (all), "%s%s", *all? "; ": "", line);
    zlist_purge (test->lines);
    return zc_strdup (all);
}

//  A PUB as a hub would deliver it: from stamped, signed with 'secret'.
static zc_wire_t *
s_test_pub (const uint8_t *secret, const char *from, const char *subject, const char *data,
            uint32_t retain)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_PUB);
    snprintf (msg->from, sizeof msg->from, "%s", from);
    msg->subject = zc_strdup (subject);
    msg->retain = retain;
    if (!data) {
        msg->flags |= ZC_FLAG_CLEAR;        //  NULL: a clear
        data = "";
    }
    zlist_t *items = zlist_new ();
    zlist_append (items, zframe_new (data, strlen (data)));
    msg->payload = zc_pubseal_make (secret, msg, from, items);
    zc_pubseal_items_destroy (&items);
    return msg;
}

#define S_CHECK_TEXT(expression, expected) do { \
        char *text_ = (expression); \
        ZC_CHECK_STR (text_, expected); \
        free (text_); \
    } while (0)

int
zc_pubsub_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-pubsub-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *error = NULL, keys [300], store_dir [300];
    snprintf (keys, sizeof keys, "%s/keys", dir);
    snprintf (store_dir, sizeof store_dir, "%s/store", dir);
    ZC_CHECK (zc_keygen (keys, "me", false, &error) == 0);
    ZC_CHECK (zc_keygen (keys, "pub1", false, &error) == 0);
    uint8_t mine [64], pub1 [64];
    zcert_t *cert = zc_key_load_own_signing (keys, "me", mine, &error);
    zcert_destroy (&cert);
    cert = zc_key_load_own_signing (keys, "pub1", pub1, &error);
    zcert_destroy (&cert);
    s_test_t test = { .sent = zlist_new (), .lines = zlist_new (), .allow = true };
    zlist_autofree (test.lines);
    test.keyring = zc_keyring_load (keys, &error);
    zc_store_t *store = zc_store_open (store_dir, false, &error);
    ZC_CHECK (store != NULL);
    zc_pubsub_links_t links = { s_test_send, s_test_send_to, s_test_uplinks, s_test_keyring,
                                s_test_answer, s_test_backlog, s_test_may_run, &test, NULL };
    zc_pubsub_t *self = zc_pubsub_new ("me", mine, store, &links);
    zc_jsonl_conn_t *one = (zc_jsonl_conn_t *) 1, *two = (zc_jsonl_conn_t *) 2;

    //  Publishing: refusals, no hub, a signed PUB.
    zc_id_t id;
    const char *code;
    ZC_CHECK (zc_pubsub_publish (self, "a.*", (const uint8_t *) "x", 1, 0, false, &id, &error, &code) == -1);
    ZC_CHECK (error && strstr (error, "bad subject 'a.*'") && streq (code, "usage"));
    zstr_free (&error);
    ZC_CHECK (zc_pubsub_publish (self, "$sys.online.me", (const uint8_t *) "x", 1, 0, false, &id, &error, &code) == -1);
    ZC_CHECK (error && streq (error, "only hubs publish under $sys. (presence)"));
    zstr_free (&error);
    uint8_t big [ZC_PUBSUB_MAX_DATA + 1];
    memset (big, 'b', sizeof big);
    ZC_CHECK (zc_pubsub_publish (self, "a.b", big, sizeof big, 0, false, &id, &error, &code) == -1);
    ZC_CHECK (error && strstr (error, "at most"));
    zstr_free (&error);
    ZC_CHECK (zc_pubsub_publish (self, "a.b", big, 5, 0, false, &id, &error, &code) == -1);
    ZC_CHECK (error && streq (error, "no hub connected: not published") && streq (code, "internal"));
    zstr_free (&error);
    test.hub_up = true;
    ZC_CHECK (zc_pubsub_publish (self, "a.b", (const uint8_t *) "hi", 2, 0, false, &id, &error, &code) == 0);
    zc_wire_t *sent = zlist_first (test.sent);
    if (sent) {
        snprintf (sent->from, sizeof sent->from, "me");     //  as the hub stamps it
        zc_pub_payload_t opened;
        zc_pub_auth_t auth;
        const char *problem;
        ZC_CHECK (zc_pubseal_open (test.keyring, sent, &opened, &auth, &problem) == 0
               && auth == ZC_PUB_VERIFIED && zc_id_equal (&sent->id, &id));
        zc_wire_pub_payload_clear (&opened);
    }
    S_CHECK_TEXT (s_test_sent (&test), "PUB a.b");

    //  Publications of one turn on one subject leave as one PUB at its
    //  end, under one signature; another subject starts another.
    links.loop = zloop_new ();
    zc_pubsub_t *batching = zc_pubsub_new ("me", mine, store, &links);
    zc_id_t ids [4];
    for (int index = 0; index < 3; index++)
        ZC_CHECK (zc_pubsub_publish (batching, "a.b", (const uint8_t *) "x", 1, 0, false, &ids [index],
                                     &error, &code) == 0);
    ZC_CHECK (zlist_size (test.sent) == 0 && zc_id_equal (&ids [0], &ids [2]));
    ZC_CHECK (zc_pubsub_publish (batching, "a.c", (const uint8_t *) "y", 1, 0, false, &ids [3],
                                 &error, &code) == 0);
    zc_wire_t *batch = zlist_first (test.sent);
    zc_pub_payload_t batch_payload;
    ZC_CHECK (batch && zc_wire_pub_payload_decode (batch->payload, &batch_payload) == 0
           && batch_payload.count == 3 && batch_payload.mode == 1);
    zc_wire_pub_payload_clear (&batch_payload);
    zc_pubsub_flush (batching);
    S_CHECK_TEXT (s_test_sent (&test), "PUB a.b; PUB a.c");
    zc_pubsub_destroy (&batching);
    zloop_destroy (&links.loop);

    //  Subscribing: one SUB per pattern however many clients, UNSUB with
    //  the last; a link that comes up gets them all (FULL).
    zc_pubsub_filter_t filter = { .pattern = "logs.>" };
    ZC_CHECK (zc_pubsub_subscribe (self, one, &filter, NULL, &error) == 0);
    ZC_CHECK (zc_pubsub_subscribe (self, two, &filter, NULL, &error) == 0);
    filter.pattern = "a..b";
    ZC_CHECK (zc_pubsub_subscribe (self, two, &filter, NULL, &error) == -1);
    ZC_CHECK (error && strstr (error, "bad subject"));
    zstr_free (&error);
    S_CHECK_TEXT (s_test_sent (&test), "SUB logs.>");
    zc_pubsub_link_up (self, &test);
    S_CHECK_TEXT (s_test_sent (&test), "SUB FULL logs.>");

    //  Receiving: each matching client, once (a copy from another hub is
    //  dropped), forgeries dropped, --from and --verified filters.
    zc_wire_t *msg = s_test_pub (pub1, "pub1", "logs.web", "line1", 0);
    zc_pubsub_on_pub (self, msg);
    zc_pubsub_on_pub (self, msg);
    S_CHECK_TEXT (s_test_lines (&test), "1 logs.web line1 verified; 2 logs.web line1 verified");
    snprintf (msg->from, sizeof msg->from, "me");          //  a hub passing it off as mine
    zc_id_generate (&msg->id);
    zc_pubsub_on_pub (self, msg);
    S_CHECK_TEXT (s_test_lines (&test), "");
    zc_wire_destroy (&msg);
    uint8_t stranger [64], stranger_public [32];
    crypto_sign_keypair (stranger_public, stranger);
    msg = s_test_pub (stranger, "stranger", "logs.web", "line2", 0);
    zc_pubsub_on_pub (self, msg);
    zc_wire_destroy (&msg);
    S_CHECK_TEXT (s_test_lines (&test), "1 logs.web line2 unknown; 2 logs.web line2 unknown");
    zc_jsonl_conn_t *three = (zc_jsonl_conn_t *) 3;
    filter = (zc_pubsub_filter_t) { .pattern = "logs.*", .from = "pub*", .verified = true };
    ZC_CHECK (zc_pubsub_subscribe (self, three, &filter, NULL, &error) == 0);
    free (s_test_sent (&test));
    msg = s_test_pub (stranger, "pub2", "logs.db", "line3", 0);
    zc_pubsub_on_pub (self, msg);
    zc_wire_destroy (&msg);
    msg = s_test_pub (NULL, "pub3", "logs.db", "line4", 0);
    zc_pubsub_on_pub (self, msg);
    zc_wire_destroy (&msg);
    S_CHECK_TEXT (s_test_lines (&test), "1 logs.db line3 unknown; 2 logs.db line3 unknown; "
                  "1 logs.db line4 unsigned; 2 logs.db line4 unsigned");
    //  A command subscription: verified, and as the policy says.
    zc_pubsub_unsubscribe (self, three, NULL);
    filter = (zc_pubsub_filter_t) { .pattern = "deploy", .command = true };
    ZC_CHECK (zc_pubsub_subscribe (self, three, &filter, NULL, &error) == 0);
    test.allow = false;
    msg = s_test_pub (pub1, "pub1", "deploy", "v1", 0);
    zc_pubsub_on_pub (self, msg);
    zc_wire_destroy (&msg);
    S_CHECK_TEXT (s_test_lines (&test), "");
    test.allow = true;
    msg = s_test_pub (pub1, "pub1", "deploy", "v2", 0);
    zc_pubsub_on_pub (self, msg);
    zc_wire_destroy (&msg);
    S_CHECK_TEXT (s_test_lines (&test), "3 deploy v2 verified");
    //  A client that does not read loses messages, and is told.
    test.backlog = ZC_PUBSUB_BACKLOG + 1;
    msg = s_test_pub (pub1, "pub1", "logs.web", "lost", 0);
    zc_pubsub_on_pub (self, msg);
    zc_wire_destroy (&msg);
    test.backlog = 0;
    msg = s_test_pub (pub1, "pub1", "logs.web", "after", 0);
    zc_pubsub_on_pub (self, msg);
    zc_wire_destroy (&msg);
    S_CHECK_TEXT (s_test_lines (&test), "1 logs.web after verified dropped; 2 logs.web after verified dropped");
    json_t *status = zc_pubsub_status (self);
    ZC_CHECK (json_integer_value (json_object_get (status, "dropped")) == 2
           && json_integer_value (json_object_get (status, "forged")) == 1
           && json_integer_value (json_object_get (status, "denied")) == 1);
    json_decref (status);

    //  Retained messages received: a later client gets the kept copy; a
    //  copy sent again is not news; a clear forgets it.
    msg = s_test_pub (pub1, "pub1", "logs.flag", "up", 60);
    zc_pubsub_on_pub (self, msg);
    S_CHECK_TEXT (s_test_lines (&test), "1 logs.flag up verified dropped; 2 logs.flag up verified dropped");
    zc_pubsub_on_pub (self, msg);
    S_CHECK_TEXT (s_test_lines (&test), "");
    zc_wire_destroy (&msg);
    zc_jsonl_conn_t *four = (zc_jsonl_conn_t *) 4;
    filter = (zc_pubsub_filter_t) { .pattern = "logs.flag" };
    ZC_CHECK (zc_pubsub_subscribe (self, four, &filter, NULL, &error) == 0);
    S_CHECK_TEXT (s_test_lines (&test), "4 logs.flag up verified");
    msg = s_test_pub (pub1, "pub1", "logs.flag", NULL, 60);
    zc_pubsub_on_pub (self, msg);
    zc_wire_destroy (&msg);
    S_CHECK_TEXT (s_test_lines (&test), "");
    zc_pubsub_conn_closed (self, four);
    ZC_CHECK (zc_pubsub_subscribe (self, four, &filter, NULL, &error) == 0);
    S_CHECK_TEXT (s_test_lines (&test), "");

    //  Retained messages published here: stored, and given to a hub
    //  that comes up, also by the next agent on this store.
    free (s_test_sent (&test));
    ZC_CHECK (zc_pubsub_publish (self, "build.done", (const uint8_t *) "v9", 2, 600, false, &id, &error, &code) == 0);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_pubsub_destroy (&self);
    self = zc_pubsub_new ("me", mine, store, &links);
    free (s_test_sent (&test));
    zc_pubsub_link_up (self, &test);
    S_CHECK_TEXT (s_test_sent (&test), "SUB FULL; PUB build.done");
    status = zc_pubsub_status (self);
    ZC_CHECK (json_integer_value (json_object_get (status, "retained")) == 1);
    json_decref (status);

    //  A link that is full part-way: what it refused goes half a second
    //  later, from where it stopped, while the link is up (in the store's
    //  order: by a hash of the subject).
    ZC_CHECK (zc_pubsub_publish (self, "build.log", (const uint8_t *) "l", 1, 600, false, &id, &error, &code) == 0);
    ZC_CHECK (zc_pubsub_publish (self, "build.tag", (const uint8_t *) "t", 1, 600, false, &id, &error, &code) == 0);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_pubsub_destroy (&self);
    links.loop = zloop_new ();
    self = zc_pubsub_new ("me", mine, store, &links);
    free (s_test_sent (&test));
    test.full = true;
    test.room = 2;
    zc_pubsub_link_up (self, &test);
    S_CHECK_TEXT (s_test_sent (&test), "SUB FULL; PUB build.tag");
    test.room = 1;
    zloop_timer (links.loop, 700, 1, s_test_loop_end, NULL);
    zloop_start (links.loop);
    S_CHECK_TEXT (s_test_sent (&test), "PUB build.done");
    test.full = false;
    zloop_timer (links.loop, 700, 1, s_test_loop_end, NULL);
    zloop_start (links.loop);
    S_CHECK_TEXT (s_test_sent (&test), "PUB build.log");
    //  Down meanwhile: nothing more; up again: all from the start.
    test.full = true;
    test.room = 1;
    zc_pubsub_link_up (self, &test);
    S_CHECK_TEXT (s_test_sent (&test), "SUB FULL");
    test.hub_up = false;
    zloop_timer (links.loop, 700, 1, s_test_loop_end, NULL);
    zloop_start (links.loop);
    S_CHECK_TEXT (s_test_sent (&test), "");
    test.hub_up = true;
    test.full = false;
    zc_pubsub_link_up (self, &test);
    S_CHECK_TEXT (s_test_sent (&test), "SUB FULL; PUB build.tag; PUB build.done; PUB build.log");
    zc_pubsub_destroy (&self);
    zloop_destroy (&links.loop);
    self = zc_pubsub_new ("me", mine, store, &links);

    zc_pubsub_destroy (&self);
    zc_store_close (&store);
    zc_keyring_destroy (&test.keyring);
    zlist_destroy (&test.lines);
    zlist_destroy (&test.sent);
    sodium_memzero (mine, sizeof mine);
    char command [400];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    ZC_CHECK (system (command) == 0);
    return ZC_TEST_END;
}
