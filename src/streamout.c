/*  streamout.c — the sending end of a job's output stream (see streamout.h). */
#include "prelude.h"
#include "log.h"
#include "streamout.h"
#include "testing.h"

#define S_FIRST_WINDOW  (256u << 10)
#define S_RATE_SAMPLE_MS    250     //  acknowledged bytes are counted over at least this
#define S_WINDOW_SECONDS    1.0     //  the window holds about this much output
#define S_CHUNK_SECONDS     0.02    //  a chunk holds at most about this much
#define S_RTO_MIN_MS    3000
#define S_RTO_MAX_MS    60000
#define S_RTO_FIRST_MS  5000

typedef struct {
    uint64_t seq;
    zframe_t *payload;          //  the chunk in clear (stream byte, then bytes)
    size_t size;                //  bytes of output in it
    bool sent;                  //  handed to the link since the last resend
    bool resent;                //  sent more than once: no round trip sample
    uint64_t sent_at;           //  monotonic ms
} s_chunk_t;

struct _zc_streamout_t {
    zc_streamout_spec_t spec;
    char name [ZC_NAME_SIZE], origin [ZC_NAME_SIZE];
    zc_id_t id;
    zlistx_t *chunks;           //  s_chunk_t not acknowledged, in order
    uint64_t next_seq;          //  the number of the next chunk
    uint64_t acked;             //  every chunk up to this one is acknowledged
    size_t unacked_bytes;       //  output bytes in 'chunks'
    size_t inflight_bytes;      //  of those, sent since the last resend
    size_t window;
    size_t chunk_size;          //  output bytes per chunk at most, by the rate
    bool closed, done_told;
    uint64_t last_progress;     //  monotonic ms: last acknowledgment (or first send,
                                //  or the last timeout)
    uint64_t last_ack;          //  monotonic ms: last acknowledgment, or the start
    double srtt_ms;             //  smoothed round trip of a chunk; 0 = no sample yet
    uint64_t rto_ms;
    uint64_t rate_start, rate_bytes;    //  the current rate sample
    uint64_t resent_bytes;
    uint64_t acked_bytes;       //  output bytes acknowledged in all
};

static void
s_chunk_destroy (void **item)
{
    s_chunk_t *chunk = *item;
    zframe_destroy (&chunk->payload);
    free (chunk);
    *item = NULL;
}

zc_streamout_t *
zc_streamout_new (const zc_streamout_spec_t *spec)
{
    zc_streamout_t *self = zc_calloc (1, sizeof *self);
    self->spec = *spec;
    snprintf (self->name, sizeof self->name, "%s", spec->name);
    snprintf (self->origin, sizeof self->origin, "%s", spec->origin);
    self->spec.name = self->name;
    self->spec.origin = self->origin;
    self->id = *spec->id;
    self->spec.id = &self->id;
    self->chunks = zlistx_new ();
    zlistx_set_destructor (self->chunks, s_chunk_destroy);
    self->next_seq = 1;
    self->window = S_FIRST_WINDOW;
    self->chunk_size = ZC_STREAM_SMALL_CHUNK;
    self->rto_ms = S_RTO_FIRST_MS;
    self->last_ack = (uint64_t) zclock_mono ();
    return self;
}

void
zc_streamout_destroy (zc_streamout_t **self_p)
{
    if (*self_p) {
        zc_streamout_t *self = *self_p;
        zlistx_destroy (&self->chunks);
        free (self);
        *self_p = NULL;
    }
}

//  Hands one chunk to the link. False when the link would not take it
//  (down, or over its budget): it goes again later.
static bool
s_send_chunk (zc_streamout_t *self, s_chunk_t *chunk, uint64_t now)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_STREAM);
    msg->id = self->id;
    msg->seq = chunk->seq;
    zlist_append (msg->to, self->origin);
    if (self->spec.seal) {
        zc_seal_about_t about = { .id = &self->id, .origin = self->origin, .target = self->name,
                                  .relay = "", .seq = chunk->seq };
        msg->payload = zc_seal_stream (self->spec.seal, &about, chunk->payload);
    }
    else
        msg->payload = zframe_dup (chunk->payload);
    if (self->spec.send (&msg, self->spec.send_arg) != 0)
        return false;
    if (self->inflight_bytes == 0)
        self->last_progress = now;
    if (chunk->sent_at)
        chunk->resent = true;
    chunk->sent = true;
    chunk->sent_at = now;
    self->inflight_bytes += chunk->size;
    return true;
}

//  Sends the chunks not sent yet, in order, while the window allows.
static void
s_pump (zc_streamout_t *self, uint64_t now)
{
    for (s_chunk_t *chunk = zlistx_first (self->chunks); chunk; chunk = zlistx_next (self->chunks)) {
        if (chunk->sent)
            continue;
        if (self->inflight_bytes >= self->window)
            break;
        if (!s_send_chunk (self, chunk, now))
            break;
    }
}

void
zc_streamout_write (zc_streamout_t *self, int stream, const uint8_t *bytes, size_t size)
{
    assert (!self->closed);
    while (size) {
        size_t part = size < self->chunk_size? size: self->chunk_size;
        s_chunk_t *chunk = zc_calloc (1, sizeof *chunk);
        chunk->seq = self->next_seq++;
        chunk->payload = zc_wire_stream_payload (stream, bytes, part);
        chunk->size = part;
        zlistx_add_end (self->chunks, chunk);
        self->unacked_bytes += part;
        bytes += part;
        size -= part;
    }
    s_pump (self, (uint64_t) zclock_mono ());
}

static void
s_maybe_done (zc_streamout_t *self)
{
    if (self->closed && !self->done_told && zlistx_size (self->chunks) == 0) {
        self->done_told = true;
        if (self->spec.on_done)
            self->spec.on_done (self, self->spec.arg);
    }
}

void
zc_streamout_close (zc_streamout_t *self)
{
    self->closed = true;
    s_maybe_done (self);
}

bool
zc_streamout_full (zc_streamout_t *self)
{
    return self->unacked_bytes >= self->window;
}

bool
zc_streamout_done (zc_streamout_t *self)
{
    return self->closed && zlistx_size (self->chunks) == 0;
}

//  A round trip sample and the rate at which the origin takes output
//  set the retransmission timeout and the window.
static void
s_learn (zc_streamout_t *self, uint64_t now, size_t bytes, double rtt_ms)
{
    if (rtt_ms >= 0) {
        self->srtt_ms = self->srtt_ms? 0.875 * self->srtt_ms + 0.125 * rtt_ms: rtt_ms;
        double rto = 4 * self->srtt_ms;
        self->rto_ms = rto < S_RTO_MIN_MS? S_RTO_MIN_MS: rto > S_RTO_MAX_MS? S_RTO_MAX_MS: (uint64_t) rto;
    }
    if (!self->rate_start)
        self->rate_start = now;
    self->rate_bytes += bytes;
    if (now - self->rate_start >= S_RATE_SAMPLE_MS) {
        double rate = self->rate_bytes * 1000.0 / (double) (now - self->rate_start);
        double window = rate * S_WINDOW_SECONDS;
        self->window = window < ZC_STREAMOUT_MIN_WINDOW? ZC_STREAMOUT_MIN_WINDOW
                     : window > ZC_STREAMOUT_MAX_WINDOW? ZC_STREAMOUT_MAX_WINDOW: (size_t) window;
        double chunk = rate * S_CHUNK_SECONDS;
        self->chunk_size = chunk < ZC_STREAM_SMALL_CHUNK? ZC_STREAM_SMALL_CHUNK
                         : chunk > ZC_STREAM_MAX_CHUNK? ZC_STREAM_MAX_CHUNK: (size_t) chunk;
        self->rate_start = now;
        self->rate_bytes = 0;
    }
}

void
zc_streamout_on_ack (zc_streamout_t *self, uint64_t seq)
{
    if (seq <= self->acked || seq >= self->next_seq)
        return;                 //  old news, or a number never sent
    uint64_t now = (uint64_t) zclock_mono ();
    bool was_full = zc_streamout_full (self);
    size_t bytes = 0;
    double rtt_ms = -1;
    s_chunk_t *chunk;
    while ((chunk = zlistx_first (self->chunks)) && chunk->seq <= seq) {
        if (chunk->sent && !chunk->resent && chunk->seq == seq)
            rtt_ms = (double) (now - chunk->sent_at);
        if (chunk->sent)
            self->inflight_bytes -= chunk->size;
        self->unacked_bytes -= chunk->size;
        self->acked_bytes += chunk->size;
        bytes += chunk->size;
        zlistx_delete (self->chunks, zlistx_cursor (self->chunks));
    }
    self->acked = seq;
    self->last_progress = self->last_ack = now;
    s_learn (self, now, bytes, rtt_ms);
    s_pump (self, now);
    if (was_full && !zc_streamout_full (self) && self->spec.on_room)
        self->spec.on_room (self, self->spec.arg);
    s_maybe_done (self);
}

//  Every chunk not acknowledged counts as not sent.
static void
s_unsend (zc_streamout_t *self)
{
    for (s_chunk_t *chunk = zlistx_first (self->chunks); chunk; chunk = zlistx_next (self->chunks)) {
        if (chunk->sent)
            self->resent_bytes += chunk->size;
        chunk->sent = false;
    }
    self->inflight_bytes = 0;
}

void
zc_streamout_resend (zc_streamout_t *self)
{
    s_unsend (self);
    s_pump (self, (uint64_t) zclock_mono ());
}

void
zc_streamout_tick (zc_streamout_t *self, uint64_t now)
{
    if (self->inflight_bytes && now - self->last_progress >= self->rto_ms) {
        zc_debug ("stream of %s: nothing acknowledged by %s for %" PRIu64 " ms; sending again from %" PRIu64,
                  self->name, self->origin, now - self->last_progress, self->acked + 1);
        s_unsend (self);
        self->rto_ms = self->rto_ms * 2 > S_RTO_MAX_MS? S_RTO_MAX_MS: self->rto_ms * 2;
        self->last_progress = now;
    }
    s_pump (self, now);
}

uint64_t
zc_streamout_acked (zc_streamout_t *self)
{
    return self->acked;
}

uint64_t
zc_streamout_last_ack (zc_streamout_t *self)
{
    return self->last_ack;
}

uint64_t
zc_streamout_chunks (zc_streamout_t *self)
{
    return self->next_seq - 1;
}

uint64_t
zc_streamout_resent_bytes (zc_streamout_t *self)
{
    return self->resent_bytes;
}

uint64_t
zc_streamout_acked_bytes (zc_streamout_t *self)
{
    return self->acked_bytes;
}

size_t
zc_streamout_chunk_size (zc_streamout_t *self)
{
    return self->chunk_size;
}

size_t
zc_streamout_window (zc_streamout_t *self)
{
    return self->window;
}

//  ---------------------------------------------------------------------
//  Self-test

typedef struct {
    zlist_t *sent;              //  zc_wire_t handed to the link
    bool link_down;
    int rooms, dones;
} s_test_link_t;

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    s_test_link_t *link = arg;
    if (link->link_down) {
        zc_wire_destroy (msg_p);
        return -1;
    }
    zlist_append (link->sent, *msg_p);
    *msg_p = NULL;
    return 0;
}

static void
s_test_room (zc_streamout_t *stream, void *arg)
{
    ((s_test_link_t *) arg)->rooms++;
}

static void
s_test_done (zc_streamout_t *stream, void *arg)
{
    ((s_test_link_t *) arg)->dones++;
}

static void
s_test_drop (s_test_link_t *link)
{
    zc_wire_t *msg;
    while ((msg = zlist_pop (link->sent)))
        zc_wire_destroy (&msg);
}

//  The numbers of the chunks sent, and whether their bytes follow on
//  from 'expect_seq'.
static bool
s_test_in_order (s_test_link_t *link, uint64_t first, uint64_t last)
{
    uint64_t expect = first;
    for (zc_wire_t *msg = zlist_first (link->sent); msg; msg = zlist_next (link->sent)) {
        int stream;
        const uint8_t *bytes;
        size_t size;
        if (msg->type != ZC_MSG_STREAM || msg->seq != expect
        ||  zc_wire_stream_payload_decode (msg->payload, &stream, &bytes, &size) != 0)
            return false;
        expect++;
    }
    return expect == last + 1;
}

int
zc_streamout_test (bool verbose)
{
    ZC_TEST_BEGIN;
    s_test_link_t link = { .sent = zlist_new () };
    zc_id_t id;
    zc_id_generate (&id);
    zc_streamout_spec_t spec = { .name = "t1", .origin = "o1", .id = &id, .send = s_test_send,
                                 .send_arg = &link, .on_room = s_test_room, .on_done = s_test_done,
                                 .arg = &link };
    zc_streamout_t *stream = zc_streamout_new (&spec);

    //  Small output: one chunk, sent at once, addressed to the origin.
    zc_streamout_write (stream, ZC_STREAM_STDOUT, (const uint8_t *) "hello\n", 6);
    zc_wire_t *first = zlist_first (link.sent);
    ZC_CHECK (first && first->seq == 1 && streq (zlist_first (first->to), "o1")
              && zc_id_equal (&first->id, &id));
    //  A large write is cut into chunks: small ones while the rate is
    //  not known.
    ZC_CHECK (zc_streamout_chunk_size (stream) == ZC_STREAM_SMALL_CHUNK);
    size_t big = 3 * ZC_STREAM_SMALL_CHUNK + 10;
    uint8_t *bytes = zc_calloc (1, big);
    zc_streamout_write (stream, ZC_STREAM_STDERR, bytes, big);
    ZC_CHECK (s_test_in_order (&link, 1, 5));
    ZC_CHECK (zc_streamout_chunks (stream) == 5 && !zc_streamout_full (stream));
    //  An acknowledgment out of range changes nothing; one in range
    //  frees what it covers.
    zc_streamout_on_ack (stream, 9);
    zc_streamout_on_ack (stream, 0);
    zc_streamout_on_ack (stream, 2);
    zc_streamout_on_ack (stream, 1);
    s_test_drop (&link);
    //  The link comes back: what is not acknowledged goes again, in order.
    zc_streamout_resend (stream);
    ZC_CHECK (s_test_in_order (&link, 3, 5));
    ZC_CHECK (zc_streamout_resent_bytes (stream) == 2 * ZC_STREAM_SMALL_CHUNK + 10);
    s_test_drop (&link);
    //  Nothing acknowledged for the retransmission timeout: sent again.
    uint64_t now = (uint64_t) zclock_mono ();
    zc_streamout_tick (stream, now + 1000);
    ZC_CHECK (zlist_size (link.sent) == 0);
    zc_streamout_tick (stream, now + S_RTO_FIRST_MS + 1000);
    ZC_CHECK (s_test_in_order (&link, 3, 5));
    s_test_drop (&link);

    //  The window fills: full, and sends stop; an acknowledgment makes
    //  room (said once) and the rest goes.
    link.link_down = true;
    zc_streamout_write (stream, ZC_STREAM_STDOUT, bytes, big);      //  not taken: kept
    ZC_CHECK (zlist_size (link.sent) == 0);
    link.link_down = false;
    size_t written = 0;
    while (!zc_streamout_full (stream) && written < (8u << 20)) {
        zc_streamout_write (stream, ZC_STREAM_STDOUT, bytes, ZC_STREAM_SMALL_CHUNK);
        written += ZC_STREAM_SMALL_CHUNK;
    }
    ZC_CHECK (zc_streamout_full (stream) && written <= S_FIRST_WINDOW);
    zc_streamout_tick (stream, (uint64_t) zclock_mono ());     //  link is back: sends
    ZC_CHECK (zlist_size (link.sent) > 0);
    zc_wire_t *last = zlist_last (link.sent);
    ZC_CHECK (link.rooms == 0);
    zc_streamout_on_ack (stream, last->seq);
    ZC_CHECK (link.rooms == 1 && !zc_streamout_full (stream));
    s_test_drop (&link);

    //  Closed: done once every chunk is acknowledged.
    zc_streamout_write (stream, ZC_STREAM_STDOUT, (const uint8_t *) "bye\n", 4);
    zc_streamout_close (stream);
    ZC_CHECK (!zc_streamout_done (stream) && link.dones == 0);
    zc_streamout_on_ack (stream, zc_streamout_chunks (stream));
    ZC_CHECK (zc_streamout_done (stream) && link.dones == 1);
    zc_streamout_destroy (&stream);

    //  A stream with no output is done when it closes.
    stream = zc_streamout_new (&spec);
    zc_streamout_close (stream);
    ZC_CHECK (zc_streamout_done (stream) && link.dones == 2);
    zc_streamout_destroy (&stream);

    //  The window follows the acknowledgment rate: a slow origin (16 KiB
    //  a quarter second) shrinks it to the minimum, and chunks stay small.
    stream = zc_streamout_new (&spec);
    for (int second = 0; second < 4; second++) {
        zc_streamout_write (stream, ZC_STREAM_STDOUT, bytes, ZC_STREAM_SMALL_CHUNK);
        zclock_sleep (S_RATE_SAMPLE_MS + 10);
        zc_streamout_on_ack (stream, zc_streamout_chunks (stream));
    }
    ZC_CHECK (zc_streamout_window (stream) == ZC_STREAMOUT_MIN_WINDOW);
    ZC_CHECK (zc_streamout_chunk_size (stream) == ZC_STREAM_SMALL_CHUNK);
    zc_streamout_destroy (&stream);
    s_test_drop (&link);

    //  A fast origin (8 MiB in a quarter second) opens the window to its
    //  most and makes chunks as large as they may be; they are cut so.
    stream = zc_streamout_new (&spec);
    size_t lot = 4u << 20;
    uint8_t *many = zc_calloc (1, lot);
    for (int round = 0; round < 2; round++) {
        zc_streamout_write (stream, ZC_STREAM_STDOUT, many, lot);
        if (round)
            zclock_sleep (S_RATE_SAMPLE_MS + 10);
        zc_streamout_on_ack (stream, zc_streamout_chunks (stream));
        s_test_drop (&link);
    }
    ZC_CHECK (zc_streamout_window (stream) == ZC_STREAMOUT_MAX_WINDOW);
    ZC_CHECK (zc_streamout_chunk_size (stream) == ZC_STREAM_MAX_CHUNK);
    uint64_t before = zc_streamout_chunks (stream);
    zc_streamout_write (stream, ZC_STREAM_STDOUT, many, 2 * ZC_STREAM_MAX_CHUNK + 1);
    ZC_CHECK (zc_streamout_chunks (stream) == before + 3);
    free (many);
    zc_streamout_destroy (&stream);
    s_test_drop (&link);
    zlist_destroy (&link.sent);
    free (bytes);
    return ZC_TEST_END;
}
