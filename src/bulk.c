/*  bulk.c — large REQs and REPLYs in chunks (see bulk.h). */
#include "prelude.h"
#include "bulk.h"
#include "log.h"
#include "testing.h"

#define S_KEY_MAX   (ZC_ULID_LEN + 3 + 64 + 1 + 64 + 1)
#define S_WANTED_MS 150000      //  a transfer its owner stopped resending is dropped

//  A large message going out.
typedef struct {
    char peer [ZC_NAME_SIZE];   //  where it goes
    zc_wire_t *header;          //  the message without its payload
    zframe_t *payload;
    uint64_t serial;            //  the order transfers were taken in
    bool active;                //  false: waits for a transfer to the same peer to end
    size_t acked;               //  bytes the receiver holds in a row
    size_t sent;                //  bytes sent so far (from acked on)
    size_t going_back_to;       //  after a gap, sent again from acked up to here; 0: none
    uint64_t progress_ms;       //  monotonic ms of the last progress
    uint64_t wanted_ms;         //  monotonic ms its owner last sent the message
} s_out_t;

//  A large message coming in.
typedef struct {
    zc_wire_t *header;          //  as the first chunk had it, unflagged, no payload
    uint8_t *data;              //  NULL once complete: then chunks are answered "all there"
    size_t have, total;
    uint64_t heard_ms;
} s_in_t;

struct _zc_bulk_t {
    zc_link_send_fn *send;
    void *arg;
    zhashx_t *outgoing;         //  "ULID:T>peer" -> s_out_t (owned)
    zhashx_t *incoming;         //  "ULID:T<peer" -> s_in_t (owned)
    size_t incoming_bytes;
    uint64_t serial;
};

static void
s_out_destroy (void **item)
{
    s_out_t *out = *item;
    zc_wire_destroy (&out->header);
    zframe_destroy (&out->payload);
    free (out);
    *item = NULL;
}

static void
s_in_destroy (void **item)
{
    s_in_t *in = *item;
    zc_wire_destroy (&in->header);
    free (in->data);
    free (in);
    *item = NULL;
}

zc_bulk_t *
zc_bulk_new (zc_link_send_fn *send, void *arg)
{
    zc_bulk_t *self = zc_calloc (1, sizeof *self);
    self->send = send;
    self->arg = arg;
    self->outgoing = zhashx_new ();
    zhashx_set_destructor (self->outgoing, s_out_destroy);
    self->incoming = zhashx_new ();
    zhashx_set_destructor (self->incoming, s_in_destroy);
    return self;
}

void
zc_bulk_destroy (zc_bulk_t **self_p)
{
    if (*self_p) {
        zc_bulk_t *self = *self_p;
        zhashx_destroy (&self->outgoing);
        zhashx_destroy (&self->incoming);
        free (self);
        *self_p = NULL;
    }
}

//  The other party a message about a job in custody names, or NULL.
static const char *
s_party (zc_wire_t *msg)
{
    return (msg->flags & (ZC_FLAG_CUSTODY | ZC_FLAG_RELAYED))? zlist_first (msg->names): NULL;
}

//  "ULID:Q>peer" for a REQ going out, "ULID:R<peer" for a REPLY coming
//  in; about a job in custody, with the other party ("ULID:R>peer/s1"):
//  a relay sends one REPLY per target with the same ID to the same
//  origin. The type keeps apart a job an agent sends itself and its
//  result.
static void
s_key (uint8_t type, const zc_id_t *id, char direction, const char *peer, const char *party,
       char key [S_KEY_MAX])
{
    zc_id_to_ulid (id, key);
    snprintf (key + ZC_ULID_LEN, S_KEY_MAX - ZC_ULID_LEN, ":%c%c%s%s%s",
              type == ZC_MSG_REQ? 'Q': 'R', direction, peer, party? "/": "", party? party: "");
}

//  Sends the chunk at 'offset'. 0, or -1 when the link refused it.
static int
s_send_chunk (zc_bulk_t *self, s_out_t *out, size_t offset)
{
    size_t total = zframe_size (out->payload);
    size_t size = total - offset < ZC_BULK_CHUNK? total - offset: ZC_BULK_CHUNK;
    zc_wire_t *chunk = zc_wire_dup_header (out->header, NULL);
    chunk->from [0] = 0;
    chunk->flags |= ZC_FLAG_CHUNK;
    chunk->payload = zc_wire_chunk_payload (offset, total, zframe_data (out->payload) + offset, size);
    return self->send (&chunk, self->arg);
}

//  Sends what the window allows. -1 when the link refused a chunk: the
//  transfer then goes on from the receiver's count when it stalls.
static int
s_pump (zc_bulk_t *self, s_out_t *out)
{
    size_t total = zframe_size (out->payload);
    while (out->sent < total && out->sent - out->acked < ZC_BULK_WINDOW * ZC_BULK_CHUNK) {
        if (s_send_chunk (self, out, out->sent) != 0) {
            out->sent = out->acked;
            return -1;
        }
        out->sent += total - out->sent < ZC_BULK_CHUNK? total - out->sent: ZC_BULK_CHUNK;
    }
    return 0;
}

//  Transfers under way to 'peer'.
static size_t
s_active_to (zc_bulk_t *self, const char *peer)
{
    size_t count = 0;
    for (s_out_t *out = zhashx_first (self->outgoing); out; out = zhashx_next (self->outgoing))
        count += out->active && streq (out->peer, peer);
    return count;
}

//  Starts a transfer: from the start, or from where the receiver stands.
static int
s_start (zc_bulk_t *self, s_out_t *out, uint64_t now)
{
    out->active = true;
    out->sent = out->acked;
    out->going_back_to = 0;
    out->progress_ms = now;
    return s_pump (self, out);
}

//  Starts the transfers to 'peer' that waited their turn, oldest first.
static void
s_start_waiting (zc_bulk_t *self, const char *peer, uint64_t now)
{
    while (s_active_to (self, peer) < ZC_BULK_PARALLEL) {
        s_out_t *next = NULL;
        for (s_out_t *out = zhashx_first (self->outgoing); out; out = zhashx_next (self->outgoing))
            if (!out->active && streq (out->peer, peer) && (!next || out->serial < next->serial))
                next = out;
        if (!next)
            return;
        s_start (self, next, now);
    }
}

//  Ends a transfer going out, and lets the next one to its peer go.
static void
s_end (zc_bulk_t *self, const char *key, uint64_t now)
{
    s_out_t *out = zhashx_lookup (self->outgoing, key);
    if (!out)
        return;
    char peer [ZC_NAME_SIZE];
    snprintf (peer, sizeof peer, "%s", out->peer);
    zhashx_delete (self->outgoing, key);
    s_start_waiting (self, peer, now);
}

//  Takes one message for one target: 1. When its first chunks do not
//  leave, it is dropped (0: the owner keeps it queued) or, with 'keep'
//  (one target of several), kept waiting for the tick to start it again
//  (2).
static int
s_take (zc_bulk_t *self, zc_wire_t **msg_p, bool keep, uint64_t now)
{
    zc_wire_t *msg = *msg_p;
    const char *peer = zlist_first (msg->to);
    char key [S_KEY_MAX];
    s_key (msg->type, &msg->id, '>', peer, s_party (msg), key);
    s_out_t *out = zhashx_lookup (self->outgoing, key);
    if (out) {
        //  The owner sends it again: a transfer on its way, or waiting
        //  its turn, goes on as it is; a stalled one goes again from
        //  where the receiver stands.
        zc_wire_destroy (msg_p);
        out->wanted_ms = now;
        if (out->active && now - out->progress_ms >= ZC_BULK_STALL_MS)
            s_start (self, out, now);
        return 1;
    }
    out = zc_calloc (1, sizeof *out);
    snprintf (out->peer, sizeof out->peer, "%s", peer);
    out->payload = msg->payload;
    msg->payload = NULL;
    out->header = msg;
    *msg_p = NULL;
    out->wanted_ms = now;
    out->serial = ++self->serial;
    zhashx_insert (self->outgoing, key, out);
    if (s_active_to (self, peer) >= ZC_BULK_PARALLEL)
        return 1;                       //  waits its turn
    if (s_start (self, out, now) != 0) {
        if (keep) {
            out->active = false;
            return 2;
        }
        zhashx_delete (self->outgoing, key);
        return 0;                       //  the link is down: the owner keeps it
    }
    return 1;
}

int
zc_bulk_send (zc_bulk_t *self, zc_wire_t **msg_p)
{
    zc_wire_t *msg = *msg_p;
    if ((msg->type != ZC_MSG_REQ && msg->type != ZC_MSG_REPLY) || (msg->flags & ZC_FLAG_CHUNK)
    ||  !msg->payload || zframe_size (msg->payload) <= ZC_BULK_CHUNK || zlist_size (msg->to) == 0)
        return -1;
    uint64_t now = zclock_mono ();
    if (zlist_size (msg->to) == 1)
        return s_take (self, msg_p, false, now);
    //  A job for several targets: a transfer to each (a hub cannot fan
    //  out chunks, since each target answers for its own).
    //  When none of them leaves, the link is down: the owner keeps the
    //  job; else those that did not leave wait for the tick.
    bool any = false;
    zlist_t *kept = zlist_new ();
    zlist_autofree (kept);
    for (char *target = zlist_first (msg->to); target; target = zlist_next (msg->to)) {
        zc_wire_t *part = zc_wire_dup_header (msg, target);
        part->payload = zframe_dup (msg->payload);
        char key [S_KEY_MAX];
        s_key (part->type, &part->id, '>', target, s_party (part), key);
        int taken = s_take (self, &part, true, now);
        if (taken == 1)
            any = true;
        else
            zlist_append (kept, key);
    }
    for (const char *key = zlist_first (kept); key && !any; key = zlist_next (kept))
        zhashx_delete (self->outgoing, key);
    zlist_destroy (&kept);
    zc_wire_destroy (msg_p);
    return any? 1: 0;
}

void
zc_bulk_on_ack (zc_bulk_t *self, zc_wire_t *ack)
{
    uint8_t type;
    size_t have;
    if (zc_wire_count_payload_decode (ack->payload, &type, &have) != 0)
        return;
    char key [S_KEY_MAX];
    s_key (type, &ack->id, '>', ack->from, s_party (ack), key);
    s_out_t *out = zhashx_lookup (self->outgoing, key);
    if (!out || !out->active)
        return;
    size_t total = zframe_size (out->payload);
    uint64_t now = zclock_mono ();
    if (have > total)
        return;                         //  nonsense
    if (have == total) {
        s_end (self, key, now);         //  the message's own ACK ends the job
        return;
    }
    if (have < out->acked) {
        //  The receiver lost what it had (it restarted, or forgot an idle
        //  transfer): start over from where it stands.
        out->acked = out->sent = have;
        out->going_back_to = 0;
    }
    else
    if (have > out->acked) {
        out->progress_ms = now;
        out->acked = have;
        if (out->sent < have)
            out->sent = have;
        if (out->going_back_to && have >= out->going_back_to)
            out->going_back_to = 0;
    }
    else
    if (out->sent > have && !out->going_back_to) {
        //  No progress while more is on its way: a chunk was lost (a
        //  hub over its budget refused it). Go back once to the gap.
        out->going_back_to = out->sent;
        out->sent = have;
    }
    s_pump (self, out);
}

//  Answers a chunk: the bytes we hold in a row.
static void
s_ack_chunk (zc_bulk_t *self, zc_wire_t *chunk, size_t have)
{
    zc_wire_t *ack = zc_wire_new (ZC_MSG_ACK);
    ack->id = chunk->id;
    ack->flags = chunk->flags & (ZC_FLAG_CHUNK | ZC_FLAG_CUSTODY | ZC_FLAG_RELAYED);
    zlist_append (ack->to, chunk->from);
    for (char *name = zlist_first (chunk->names); name; name = zlist_next (chunk->names))
        zlist_append (ack->names, name);
    ack->payload = zc_wire_count_payload (chunk->type, have);
    self->send (&ack, self->arg);
}

zc_wire_t *
zc_bulk_on_chunk (zc_bulk_t *self, zc_wire_t *chunk, bool *malformed)
{
    *malformed = false;
    size_t offset, total, size;
    const uint8_t *bytes;
    if ((chunk->type != ZC_MSG_REQ && chunk->type != ZC_MSG_REPLY)
    ||  zc_wire_chunk_payload_decode (chunk->payload, &offset, &total, &bytes, &size) != 0
    ||  total <= ZC_BULK_CHUNK || total > ZC_WIRE_MAX_PAYLOAD
    ||  size > ZC_BULK_CHUNK || offset > total || size > total - offset || !*chunk->from
    ||  zlist_size (chunk->to) != 1) {
        *malformed = true;
        return NULL;
    }
    char key [S_KEY_MAX];
    s_key (chunk->type, &chunk->id, '<', chunk->from, s_party (chunk), key);
    s_in_t *in = zhashx_lookup (self->incoming, key);
    if (in && in->total != total) {
        if (in->data)
            self->incoming_bytes -= in->total;      //  another message: start over
        zhashx_delete (self->incoming, key);
        in = NULL;
    }
    if (in && !in->data) {
        s_ack_chunk (self, chunk, in->total);       //  we have it all already
        return NULL;
    }
    if (!in) {
        if (offset != 0 || self->incoming_bytes + total > ZC_BULK_MAX_BYTES) {
            //  Not a beginning (we lost what we had), or no room: the
            //  sender starts over, now or later.
            s_ack_chunk (self, chunk, 0);
            return NULL;
        }
        in = zc_calloc (1, sizeof *in);
        in->data = zc_malloc (total);
        in->total = total;
        in->header = zc_wire_dup_header (chunk, NULL);
        in->header->flags &= (uint8_t) ~ZC_FLAG_CHUNK;
        zhashx_insert (self->incoming, key, in);
        self->incoming_bytes += total;
    }
    in->heard_ms = zclock_mono ();
    if (offset == in->have) {           //  in order; anything else is a repeat or past a gap
        memcpy (in->data + in->have, bytes, size);
        in->have += size;
    }
    s_ack_chunk (self, chunk, in->have);
    if (in->have < in->total)
        return NULL;
    zc_wire_t *whole = in->header;
    in->header = NULL;
    whole->payload = zframe_new (in->data, in->total);
    self->incoming_bytes -= in->total;
    //  Kept a while, without its bytes, to answer chunks sent again
    //  (our last ACK may have been lost).
    free (in->data);
    in->data = NULL;
    return whole;
}

void
zc_bulk_forget (zc_bulk_t *self, const zc_id_t *id, const char *peer, const char *party)
{
    char key [S_KEY_MAX];
    uint64_t now = zclock_mono ();
    s_key (ZC_MSG_REQ, id, '>', peer, party, key);
    s_end (self, key, now);
    s_key (ZC_MSG_REPLY, id, '>', peer, party, key);
    s_end (self, key, now);
}

void
zc_bulk_tick (zc_bulk_t *self, uint64_t now)
{
    zlist_t *gone = zlist_new ();
    zlist_autofree (gone);
    zlist_comparefn (gone, (zlist_compare_fn *) strcmp);
    //  'now' may be a moment older than what was stamped since (the
    //  owner resends before it ticks us).
    for (s_out_t *out = zhashx_first (self->outgoing); out; out = zhashx_next (self->outgoing)) {
        if (now > out->wanted_ms && now - out->wanted_ms >= S_WANTED_MS)
            //  Its owner stopped sending it (it was ACKed, or given up).
            zlist_append (gone, (void *) zhashx_cursor (self->outgoing));
        else
        if (out->active && now > out->progress_ms && now - out->progress_ms >= ZC_BULK_STALL_MS)
            s_start (self, out, now);
    }
    for (const char *key = zlist_first (gone); key; key = zlist_next (gone))
        s_end (self, key, now);
    zlist_purge (gone);
    //  Transfers waiting while their peer has room (their first chunks
    //  did not leave) start again.
    for (s_out_t *out = zhashx_first (self->outgoing); out; out = zhashx_next (self->outgoing))
        if (!out->active && !zlist_exists (gone, out->peer))
            zlist_append (gone, out->peer);
    for (const char *peer = zlist_first (gone); peer; peer = zlist_next (gone))
        s_start_waiting (self, peer, now);
    zlist_purge (gone);
    for (s_in_t *in = zhashx_first (self->incoming); in; in = zhashx_next (self->incoming))
        if (now > in->heard_ms && now - in->heard_ms >= ZC_BULK_IDLE_MS) {
            zlist_append (gone, (void *) zhashx_cursor (self->incoming));
            if (in->data)
                self->incoming_bytes -= in->total;
        }
    for (const char *key = zlist_first (gone); key; key = zlist_next (gone))
        zhashx_delete (self->incoming, key);
    zlist_destroy (&gone);
}

size_t
zc_bulk_sending (zc_bulk_t *self)
{
    return zhashx_size (self->outgoing);
}

size_t
zc_bulk_receiving (zc_bulk_t *self)
{
    size_t count = 0;
    for (s_in_t *in = zhashx_first (self->incoming); in; in = zhashx_next (self->incoming))
        count += in->data != NULL;
    return count;
}

//  ---------------------------------------------------------------------
//  Self-test: two bulk objects, each link a list the test carries over.

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    zlist_t *sent = arg;
    if (!sent) {
        zc_wire_destroy (msg_p);
        return -1;
    }
    zlist_append (sent, *msg_p);
    *msg_p = NULL;
    return 0;
}

//  A link that refuses what goes to 's_test_refused' (when set).
static const char *s_test_refused;

static int
s_test_send_picky (zc_wire_t **msg_p, void *arg)
{
    if (s_test_refused && streq (zlist_first ((*msg_p)->to), s_test_refused)) {
        zc_wire_destroy (msg_p);
        return -1;
    }
    return s_test_send (msg_p, arg);
}

//  Carries chunks from 'sender' (as stamped by a hub: from 'from') to
//  'receiver' and its answers back (from 'to'), until nothing moves; the
//  whole message the receiver completed, or NULL. *broken counts
//  chunks the receiver found malformed.
static zc_wire_t *
s_test_carry (zc_bulk_t *sender, zlist_t *chunks, const char *from, zc_bulk_t *receiver,
              zlist_t *answers, const char *to, int *broken)
{
    zc_wire_t *whole = NULL, *msg;
    for (int rounds = 0; rounds < 200 && (msg = zlist_pop (chunks)); rounds++) {
        strcpy (msg->from, from);
        bool malformed = false;
        zc_wire_t *done = zc_bulk_on_chunk (receiver, msg, &malformed);
        *broken += malformed;
        if (done) {
            zc_wire_destroy (&whole);
            whole = done;
        }
        zc_wire_destroy (&msg);
        zc_wire_t *ack;
        while ((ack = zlist_pop (answers))) {
            strcpy (ack->from, to);
            zc_bulk_on_ack (sender, ack);
            zc_wire_destroy (&ack);
        }
    }
    return whole;
}

int
zc_bulk_test (bool verbose)
{
    ZC_TEST_BEGIN;
    zlist_t *to_target = zlist_new (), *to_origin = zlist_new ();
    zc_bulk_t *target = zc_bulk_new (s_test_send, to_origin);      //  sends the REPLY
    zc_bulk_t *origin = zc_bulk_new (s_test_send, to_target);      //  receives it

    //  A small REPLY is not for us.
    zc_wire_t *reply = zc_wire_new (ZC_MSG_REPLY);
    zlist_append (reply->to, "o1");
    reply->payload = zframe_new (NULL, ZC_BULK_CHUNK);
    ZC_CHECK (zc_bulk_send (target, &reply) == -1 && reply != NULL);
    zframe_destroy (&reply->payload);

    //  A large one goes as chunks, two at a time, and comes out whole.
    size_t total = 5 * ZC_BULK_CHUNK + 100;
    reply->payload = zframe_new (NULL, total);
    for (size_t index = 0; index < total; index++)
        zframe_data (reply->payload) [index] = (uint8_t) (index * 7);
    reply->flags = ZC_FLAG_RELAYED;
    zlist_append (reply->names, "origin-9");
    zframe_t *expected = zframe_dup (reply->payload);
    zc_id_t id = reply->id;
    ZC_CHECK (zc_bulk_send (target, &reply) == 1 && reply == NULL);
    ZC_CHECK (zlist_size (to_origin) == 6 && zc_bulk_sending (target) == 1);
    zc_wire_t *whole = NULL;
    int rounds = 0;
    while (zlist_size (to_origin) && rounds++ < 100) {
        zc_wire_t *chunk = zlist_pop (to_origin);
        ZC_CHECK ((chunk->flags & ZC_FLAG_CHUNK) && streq (zlist_first (chunk->to), "o1"));
        strcpy (chunk->from, "t1");                 //  as the hub stamps it
        bool malformed = true;
        zc_wire_t *done = zc_bulk_on_chunk (origin, chunk, &malformed);
        ZC_CHECK (!malformed);
        if (done)
            whole = done;
        //  The same chunk again is a repeat: answered, not added.
        ZC_CHECK (zc_bulk_on_chunk (origin, chunk, &malformed) == NULL || whole);
        zc_wire_destroy (&chunk);
        zc_wire_t *ack;
        while ((ack = zlist_pop (to_target))) {
            ZC_CHECK (ack->type == ZC_MSG_ACK && (ack->flags & ZC_FLAG_CHUNK));
            strcpy (ack->from, "o1");
            zc_bulk_on_ack (target, ack);
            zc_wire_destroy (&ack);
        }
    }
    ZC_CHECK (whole && zframe_eq (whole->payload, expected));
    ZC_CHECK (whole && zc_id_equal (&whole->id, &id) && whole->flags == ZC_FLAG_RELAYED);
    ZC_CHECK (whole && streq (whole->from, "t1") && streq (zlist_first (whole->names), "origin-9"));
    ZC_CHECK (zc_bulk_sending (target) == 0 && zc_bulk_receiving (origin) == 0);
    zc_wire_destroy (&whole);

    //  A resend of a REPLY whose transfer progresses is swallowed.
    reply = zc_wire_new (ZC_MSG_REPLY);
    zlist_append (reply->to, "o1");
    reply->payload = zframe_dup (expected);
    zc_id_t id2 = reply->id;
    zc_wire_t *again = zc_wire_new (ZC_MSG_REPLY);
    again->id = reply->id;
    zlist_append (again->to, "o1");
    again->payload = zframe_dup (expected);
    ZC_CHECK (zc_bulk_send (target, &reply) == 1);
    size_t before = zlist_size (to_origin);
    ZC_CHECK (zc_bulk_send (target, &again) == 1 && again == NULL);
    ZC_CHECK (zlist_size (to_origin) == before);
    zc_wire_t *msg;
    while ((msg = zlist_pop (to_origin)))
        zc_wire_destroy (&msg);

    //  A receiver that lost its part (it restarted) answers 0: the
    //  transfer starts over and completes.
    ZC_CHECK (zc_bulk_sending (target) == 1);
    zc_bulk_t *fresh = zc_bulk_new (s_test_send, to_target);
    //  The old receiver had said it held two chunks; the next ones reach
    //  the new one.
    zc_wire_t *fake_ack = zc_wire_new (ZC_MSG_ACK);
    fake_ack->id = id2;
    fake_ack->flags = ZC_FLAG_CHUNK;
    strcpy (fake_ack->from, "o1");
    fake_ack->payload = zc_wire_count_payload (ZC_MSG_REPLY, 2 * ZC_BULK_CHUNK);
    zc_bulk_on_ack (target, fake_ack);
    zc_wire_destroy (&fake_ack);
    ZC_CHECK (zlist_size (to_origin) == 0);        //  all was sent already
    //  No progress for a while: the rest goes again from there.
    zc_bulk_tick (target, zclock_mono () + ZC_BULK_STALL_MS);
    ZC_CHECK (zlist_size (to_origin) == 4);
    int broken = 0;
    whole = s_test_carry (target, to_origin, "t1", fresh, to_target, "o1", &broken);
    ZC_CHECK (broken == 0);
    ZC_CHECK (whole && zframe_eq (whole->payload, expected));
    zc_wire_destroy (&whole);
    ZC_CHECK (zc_bulk_sending (target) == 0);
    zc_bulk_destroy (&fresh);

    //  Custody: one REPLY per target, same ID, same origin, are separate
    //  transfers; the REPLY's own ACK ends one.
    for (int index = 0; index < 2; index++) {
        reply = zc_wire_new (ZC_MSG_REPLY);
        reply->id = id;
        reply->flags = ZC_FLAG_CUSTODY;
        zlist_append (reply->to, "o1");
        zlist_append (reply->names, index? "s2": "s1");
        reply->payload = zframe_dup (expected);
        ZC_CHECK (zc_bulk_send (target, &reply) == 1);
    }
    ZC_CHECK (zc_bulk_sending (target) == 2);
    zc_bulk_forget (target, &id, "o1", "s1");
    ZC_CHECK (zc_bulk_sending (target) == 1);
    zc_bulk_forget (target, &id, "o1", "s2");
    ZC_CHECK (zc_bulk_sending (target) == 0);
    while ((msg = zlist_pop (to_origin)))
        zc_wire_destroy (&msg);

    //  Malformed chunks are refused.
    struct { size_t offset, total, size; } bad [] = {
        { 0, ZC_BULK_CHUNK, 10 },                   //  small enough for one message
        { 0, 1000000, ZC_BULK_CHUNK + 1 },          //  a chunk too large
        { 999990, 1000000, 100 },                   //  beyond the total
        { 0, ZC_WIRE_MAX_PAYLOAD + 1u, 10 },         //  larger than a message may be
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        zc_wire_t *chunk = zc_wire_new (ZC_MSG_REPLY);
        chunk->flags = ZC_FLAG_CHUNK;
        strcpy (chunk->from, "t1");
        zlist_append (chunk->to, "o1");
        uint8_t *zeros = zc_calloc (1, bad [index].size);
        chunk->payload = zc_wire_chunk_payload (bad [index].offset, bad [index].total, zeros,
                                                bad [index].size);
        free (zeros);
        bool malformed = false;
        ZC_CHECK (zc_bulk_on_chunk (origin, chunk, &malformed) == NULL && malformed);
        zc_wire_destroy (&chunk);
    }
    //  A first chunk that is not at offset 0 is ignored, not kept.
    zc_wire_t *late = zc_wire_new (ZC_MSG_REPLY);
    late->flags = ZC_FLAG_CHUNK;
    strcpy (late->from, "t1");
    zlist_append (late->to, "o1");
    late->payload = zc_wire_chunk_payload (ZC_BULK_CHUNK, 3 * ZC_BULK_CHUNK,
                                           (const uint8_t *) "0123456789", 10);
    bool malformed = true;
    ZC_CHECK (zc_bulk_on_chunk (origin, late, &malformed) == NULL && !malformed);
    ZC_CHECK (zc_bulk_receiving (origin) == 0);
    zc_wire_destroy (&late);

    //  A REQ for three targets: a transfer to each, with its own tag;
    //  two go at once to one peer, the third waits its turn.
    zc_wire_t *req = zc_wire_new (ZC_MSG_REQ);
    req->flags = ZC_FLAG_TAGS;
    req->method = 1;
    uint8_t tag [ZC_WIRE_TAG_SIZE] = { 0 };
    const char *targets [] = { "a", "b", "c" };
    for (int index = 0; index < 3; index++) {
        zlist_append (req->to, (void *) targets [index]);
        tag [0] = (uint8_t) index;
        zc_wire_set_tag (req, targets [index], tag);
    }
    req->payload = zframe_dup (expected);
    ZC_CHECK (zc_bulk_send (target, &req) == 1 && !req && zc_bulk_sending (target) == 3);
    size_t per_target [3] = { 0 };
    while ((msg = zlist_pop (to_origin))) {
        ZC_CHECK (msg->type == ZC_MSG_REQ && zlist_size (msg->to) == 1 && msg->method == 1);
        for (int index = 0; index < 3; index++)
            if (streq (zlist_first (msg->to), targets [index])) {
                per_target [index]++;
                const uint8_t *own = zc_wire_tag (msg, targets [index]);
                ZC_CHECK (own && own [0] == index && zhashx_size (msg->tags) == 1);
            }
        zc_wire_destroy (&msg);
    }
    ZC_CHECK (per_target [0] == 6 && per_target [1] == 6 && per_target [2] == 6);
    //  Targets are different peers: all three went. To one peer, three
    //  jobs: the third waits until one of the first two ends.
    zc_bulk_forget (target, &id, "a", NULL);
    zc_wire_t *jobs [3];
    for (int index = 0; index < 3; index++) {
        jobs [index] = zc_wire_new (ZC_MSG_REQ);
        zlist_append (jobs [index]->to, "p");
        jobs [index]->payload = zframe_dup (expected);
    }
    zc_id_t first_id = jobs [0]->id, third_id = jobs [2]->id;
    for (int index = 0; index < 3; index++)
        ZC_CHECK (zc_bulk_send (target, &jobs [index]) == 1);
    size_t third_chunks = 0;
    while ((msg = zlist_pop (to_origin))) {
        third_chunks += zc_id_equal (&msg->id, &third_id);
        zc_wire_destroy (&msg);
    }
    ZC_CHECK (third_chunks == 0);
    zc_bulk_forget (target, &first_id, "p", NULL);  //  its ACK came
    while ((msg = zlist_pop (to_origin))) {
        third_chunks += zc_id_equal (&msg->id, &third_id);
        zc_wire_destroy (&msg);
    }
    ZC_CHECK (third_chunks == 6);

    //  A lost chunk: the receiver's answer to the next one shows no
    //  progress, and the sender goes back to the gap once.
    zc_bulk_t *receiver = zc_bulk_new (s_test_send, to_target);
    req = zc_wire_new (ZC_MSG_REQ);
    zlist_append (req->to, "q");
    req->payload = zframe_dup (expected);
    ZC_CHECK (zc_bulk_send (target, &req) == 1);
    zc_wire_t *lost = zlist_pop (to_origin);
    zc_wire_destroy (&lost);
    whole = s_test_carry (target, to_origin, "t1", receiver, to_target, "q", &broken);
    ZC_CHECK (broken == 0);
    ZC_CHECK (whole && whole->type == ZC_MSG_REQ && zframe_eq (whole->payload, expected));
    zc_wire_destroy (&whole);
    zc_bulk_destroy (&receiver);
    while ((msg = zlist_pop (to_origin)))
        zc_wire_destroy (&msg);
    zc_bulk_destroy (&target);
    target = zc_bulk_new (s_test_send, to_origin);

    //  The owner resends just before the tick, whose 'now' is a moment
    //  older: the transfer is wanted, not dropped.
    req = zc_wire_new (ZC_MSG_REQ);
    zlist_append (req->to, "w");
    req->payload = zframe_dup (expected);
    uint64_t tick_now = zclock_mono ();
    zclock_sleep (2);
    ZC_CHECK (zc_bulk_send (target, &req) == 1);
    size_t sending = zc_bulk_sending (target);
    zc_bulk_tick (target, tick_now);
    ZC_CHECK (zc_bulk_sending (target) == sending);
    while ((msg = zlist_pop (to_origin)))
        zc_wire_destroy (&msg);

    //  A job for two targets whose second is refused at first: the job
    //  counts as sent, and the refused transfer starts on a later tick.
    zc_bulk_t *picky = zc_bulk_new (s_test_send_picky, to_origin);
    s_test_refused = "y";
    req = zc_wire_new (ZC_MSG_REQ);
    zlist_append (req->to, "x");
    zlist_append (req->to, "y");
    req->payload = zframe_dup (expected);
    ZC_CHECK (zc_bulk_send (picky, &req) == 1 && zc_bulk_sending (picky) == 2);
    size_t to_y = 0;
    while ((msg = zlist_pop (to_origin))) {
        to_y += streq (zlist_first (msg->to), "y");
        zc_wire_destroy (&msg);
    }
    ZC_CHECK (to_y == 0);
    s_test_refused = NULL;
    zc_bulk_tick (picky, zclock_mono ());
    while ((msg = zlist_pop (to_origin))) {
        to_y += streq (zlist_first (msg->to), "y");
        zc_wire_destroy (&msg);
    }
    ZC_CHECK (to_y == 6);
    //  Both refused: the link is down, the owner keeps the job.
    s_test_refused = "z";
    req = zc_wire_new (ZC_MSG_REQ);
    zlist_append (req->to, "z");
    zlist_append (req->to, "z2");
    req->payload = zframe_dup (expected);
    zc_bulk_t *down_too = zc_bulk_new (s_test_send, NULL);
    ZC_CHECK (zc_bulk_send (down_too, &req) == 0 && zc_bulk_sending (down_too) == 0);
    zc_bulk_destroy (&down_too);
    s_test_refused = NULL;
    zc_bulk_destroy (&picky);

    //  With the link down the REPLY is not taken on.
    zc_bulk_t *down = zc_bulk_new (s_test_send, NULL);
    reply = zc_wire_new (ZC_MSG_REPLY);
    zlist_append (reply->to, "o1");
    reply->payload = zframe_dup (expected);
    ZC_CHECK (zc_bulk_send (down, &reply) == 0 && reply == NULL && zc_bulk_sending (down) == 0);
    zc_bulk_destroy (&down);

    zframe_destroy (&expected);
    while ((msg = zlist_pop (to_target)))
        zc_wire_destroy (&msg);
    zc_bulk_destroy (&target);
    zc_bulk_destroy (&origin);
    zlist_destroy (&to_target);
    zlist_destroy (&to_origin);
    return ZC_TEST_END;
}
