/*  flow.c — flow control on one link (see flow.h). */
#include <errno.h>
#include <sodium.h>
#include "prelude.h"
#include "flow.h"
#include "testing.h"

#define S_MIN_WINDOW    (16u << 10)     //  below this, one bulk message at a time
#define S_START_WINDOW  S_MIN_WINDOW    //  one chunk until the link shows it can take more
#define S_BASE_EPOCH_MS 30000           //  the lowest round trip is forgotten after two of these
//  Bulk that starts again after this long without any in flight starts
//  from one chunk: what the window learnt may be stale (a link that was
//  fast is slow now), and a full stale window at once would queue that
//  much ahead of every small message behind it.
#define S_IDLE_RESTART_MS   1000
#define S_MAX_MARKS     16              //  marks out at once
#define S_MARK_LOST_MS  30000           //  a mark unanswered this long is taken as lost
//  A link's own small traffic (a heartbeat and its answer) is marked on
//  the heartbeat only once this much is unmarked, or it has waited this
//  long: a mark and its echo per heartbeat each way were half of what an
//  idle fleet sent.
#define S_QUIET_MARK_BYTES  (4u << 10)
#define S_QUIET_MARK_MS     20000

//  A mark on its way: its serial, the counts of bytes sent (all, and
//  bulk) when it left, and when.
typedef struct {
    uint64_t serial;
    uint64_t end, bulk_end;
    uint64_t at_ms;
    bool limited;               //  bulk was held back by the window when it left
} s_mark_t;

struct _zc_flow_t {
    zc_flow_pool_t *pool;
    size_t budget;
    size_t window;
    zc_flow_sink_fn *sink;
    void *arg;
    uint64_t sent, acked;           //  bytes handed to the socket, and known arrived
    uint64_t bulk_sent, bulk_acked; //  the same for bulk chunks only
    uint64_t marked, bulk_marked;   //  the counts when the latest mark left
    uint64_t unacked_since;         //  when bytes went out with none in flight (0: none in flight)
    uint64_t bulk_idle_since;       //  when the last bulk in flight was known arrived (0: some in flight)
    uint64_t serial;                //  of the latest mark (random: a peer cannot echo
                                    //  a mark it has not read)
    s_mark_t marks [S_MAX_MARKS];   //  a ring of the marks out, oldest first
    size_t mark_first, mark_count;
    zlist_t *queue;                 //  zmsg_t waiting for the window (owned)
    size_t queued;                  //  their bytes
    uint64_t base_now, base_before; //  lowest round trip + 1 this epoch and the one before (0: none)
    uint64_t epoch_ms;
    uint64_t refused;
};

//  What the link holds: in flight and queued.
static size_t
s_held (zc_flow_t *self)
{
    return (size_t) (self->sent - self->acked) + self->queued;
}

//  Moves the pool's total along with a change of s_held.
static void
s_pool_update (zc_flow_t *self, size_t before)
{
    if (self->pool) {
        self->pool->held -= before;
        self->pool->held += s_held (self);
    }
}

zc_flow_t *
zc_flow_new (size_t budget, zc_flow_pool_t *pool, zc_flow_sink_fn *sink, void *arg)
{
    zc_flow_t *self = zc_calloc (1, sizeof *self);
    self->budget = budget < ZC_FLOW_MIN_BUDGET? ZC_FLOW_MIN_BUDGET: budget;
    self->window = S_START_WINDOW;
    self->pool = pool;
    self->sink = sink;
    self->arg = arg;
    self->queue = zlist_new ();
    return self;
}

void
zc_flow_destroy (zc_flow_t **self_p)
{
    if (*self_p) {
        zc_flow_t *self = *self_p;
        zc_flow_clear (self);
        zlist_destroy (&self->queue);
        free (self);
        *self_p = NULL;
    }
}

//  Sends a mark after what was sent so far.
static void
s_mark (zc_flow_t *self, uint64_t now)
{
    if (self->mark_count == S_MAX_MARKS)
        return;
    zc_wire_t *mark = zc_wire_new (ZC_MSG_CREDIT);
    randombytes_buf (&self->serial, sizeof self->serial);
    mark->credit = self->serial;
    zmsg_t *frames = zc_wire_encode (mark);
    zc_wire_destroy (&mark);
    size_t bytes = zmsg_content_size (frames);
    size_t before = s_held (self);
    if (self->sink (&frames, self->arg) == 0) {
        self->sent += bytes;
        s_mark_t *out = &self->marks [(self->mark_first + self->mark_count) % S_MAX_MARKS];
        out->serial = self->serial;
        out->end = self->sent;
        out->bulk_end = self->bulk_sent;
        out->at_ms = now;
        out->limited = zlist_size (self->queue) > 0
                    || self->bulk_sent - self->bulk_acked >= self->window / 2;
        self->mark_count++;
        self->marked = self->sent;
        self->bulk_marked = self->bulk_sent;
    }
    s_pool_update (self, before);
}

static int
s_sink (zc_flow_t *self, zmsg_t **frames_p, size_t bytes, bool bulk, uint64_t now)
{
    size_t before = s_held (self);
    int rc = self->sink (frames_p, self->arg);
    if (rc == 0) {
        if (self->sent == self->acked || !self->unacked_since)
            self->unacked_since = now? now: 1;
        self->sent += bytes;
        if (bulk)
            self->bulk_sent += bytes;
    }
    s_pool_update (self, before);
    if (rc == 0) {
        bool bulk_due = bulk && (self->mark_count == 0
                                 || self->bulk_sent - self->bulk_marked >= self->window / 4);
        if (bulk_due || self->sent - self->marked >= ZC_FLOW_MARK_EVERY)
            s_mark (self, now);
    }
    return rc;
}

static bool
s_window_open (zc_flow_t *self, size_t bytes)
{
    size_t bulk_in_flight = (size_t) (self->bulk_sent - self->bulk_acked);
    return bulk_in_flight == 0 || bulk_in_flight + bytes <= self->window;
}

static int
s_refuse (zc_flow_t *self, zmsg_t **frames_p)
{
    zmsg_destroy (frames_p);
    self->refused++;
    errno = ENOBUFS;
    return -1;
}

int
zc_flow_send (zc_flow_t *self, zmsg_t **frames_p, bool bulk, uint64_t now)
{
    size_t bytes = zmsg_content_size (*frames_p);
    size_t in_flight = (size_t) (self->sent - self->acked);
    zc_flow_pool_t *pool = self->pool;
    if (!bulk) {
        //  Small messages pass everything queued; only a peer that
        //  stopped reading (or a full pool) stops them.
        if (in_flight && in_flight + bytes > self->budget)
            return s_refuse (self, frames_p);
        //  A full pool stops only links that are behind themselves: one
        //  that keeps up gets its heartbeats and answers through.
        if (pool && pool->held + bytes > pool->limit && in_flight > ZC_FLOW_MIN_BUDGET)
            return s_refuse (self, frames_p);
        return s_sink (self, frames_p, bytes, false, now);
    }
    if (s_held (self) && s_held (self) + bytes > self->budget)
        return s_refuse (self, frames_p);
    if (pool && pool->held && pool->held + bytes > pool->limit / 8 * 7)
        return s_refuse (self, frames_p);
    if (self->bulk_idle_since && now >= self->bulk_idle_since + S_IDLE_RESTART_MS
    &&  self->window > S_START_WINDOW)
        self->window = S_START_WINDOW;
    self->bulk_idle_since = 0;
    if (zlist_size (self->queue) == 0 && s_window_open (self, bytes))
        return s_sink (self, frames_p, bytes, true, now);
    size_t before = s_held (self);
    zlist_append (self->queue, *frames_p);
    *frames_p = NULL;
    self->queued += bytes;
    s_pool_update (self, before);
    return 0;
}

void
zc_flow_pump (zc_flow_t *self, uint64_t now)
{
    zmsg_t *frames;
    while ((frames = zlist_first (self->queue))) {
        size_t bytes = zmsg_content_size (frames);
        if (!s_window_open (self, bytes))
            break;
        zlist_pop (self->queue);
        size_t before = s_held (self);
        self->queued -= bytes;
        s_pool_update (self, before);
        s_sink (self, &frames, bytes, true, now);  //  when the socket refuses it, its sender retries
    }
}

//  The window follows the queueing delay: the round trip of a mark
//  above the lowest one seen in this epoch or the last. 'delivered' is
//  what the mark's echo says arrived: all of it within the round trip.
static void
s_adapt (zc_flow_t *self, uint64_t rtt, uint64_t delivered, bool limited, uint64_t now)
{
    if (now > self->epoch_ms && now - self->epoch_ms >= S_BASE_EPOCH_MS) {
        self->base_before = self->base_now;
        self->base_now = 0;
        self->epoch_ms = now;
    }
    //  The lowest round trips are kept one above, so that 0 says "none
    //  yet": on loopback a round trip is often 0 ms.
    if (!self->base_now || rtt + 1 < self->base_now)
        self->base_now = rtt + 1;
    uint64_t base = self->base_now;
    if (self->base_before && self->base_before < base)
        base = self->base_before;
    base -= 1;
    uint64_t delay = rtt - base;
    if (delay < ZC_FLOW_TARGET_MS && limited) {
        //  Only a window that held bulk back grows: an idle link's quick
        //  marks say nothing about how much it can carry.
        //  At most half the budget: small messages keep room on a link
        //  full of bulk.
        size_t step = self->window / 4 < S_MIN_WINDOW? S_MIN_WINDOW: self->window / 4;
        size_t most = self->budget / 2;
        self->window = self->window + step > most? most: self->window + step;
    }
    else
    if (delay > 2 * ZC_FLOW_TARGET_MS) {
        //  Halved at least, and down to what the link carried in this
        //  round trip's base plus the target delay at the rate it
        //  delivered: a window learnt on a fast link comes down in one
        //  round trip, not one halving per round trip of seconds.
        size_t window = self->window / 2;
        double carried = (double) delivered * (double) (base + ZC_FLOW_TARGET_MS) / (double) rtt;
        if (carried < (double) window)
            window = (size_t) carried;
        self->window = window < S_MIN_WINDOW? S_MIN_WINDOW: window;
    }
}

void
zc_flow_on_echo (zc_flow_t *self, uint64_t serial, uint64_t now)
{
    size_t found = self->mark_count;
    for (size_t index = 0; index < self->mark_count; index++)
        if (self->marks [(self->mark_first + index) % S_MAX_MARKS].serial == serial)
            found = index;
    if (found == self->mark_count)
        return;                     //  from an earlier connection, or taken as lost
    s_mark_t mark = self->marks [(self->mark_first + found) % S_MAX_MARKS];
    self->mark_first = (self->mark_first + found + 1) % S_MAX_MARKS;
    self->mark_count -= found + 1;
    size_t before = s_held (self);
    uint64_t delivered = mark.end > self->acked? mark.end - self->acked: 0;
    if (mark.end > self->acked)
        self->acked = mark.end;
    if (mark.bulk_end > self->bulk_acked)
        self->bulk_acked = mark.bulk_end;
    if (self->acked == self->sent)
        self->unacked_since = 0;
    if (self->bulk_acked == self->bulk_sent && !self->bulk_idle_since)
        self->bulk_idle_since = now? now: 1;
    s_pool_update (self, before);
    s_adapt (self, now > mark.at_ms? now - mark.at_ms: 0, delivered, mark.limited, now);
    zc_flow_pump (self, now);
    if (self->mark_count == 0 && self->bulk_sent > self->bulk_acked)
        s_mark (self, now);         //  bulk still out: keep one mark behind it
}

void
zc_flow_tick (zc_flow_t *self, uint64_t now)
{
    while (self->mark_count && now > self->marks [self->mark_first].at_ms
    &&     now - self->marks [self->mark_first].at_ms >= S_MARK_LOST_MS) {
        self->mark_first = (self->mark_first + 1) % S_MAX_MARKS;
        self->mark_count--;
    }
    //  Bytes not known arrived and no mark out to tell (it was lost, or
    //  none went): a new one, or the window would stay shut. A few small
    //  messages wait for more, for a while.
    uint64_t unacked = self->sent - self->acked;
    bool quiet = unacked < S_QUIET_MARK_BYTES && self->bulk_sent == self->bulk_acked
              && now < self->unacked_since + S_QUIET_MARK_MS;
    if (self->mark_count == 0 && unacked && !quiet)
        s_mark (self, now);
    zc_flow_pump (self, now);
}

zc_wire_t *
zc_flow_echo_of (zc_wire_t *mark)
{
    zc_wire_t *echo = zc_wire_new (ZC_MSG_CREDIT);
    echo->flags = ZC_FLAG_ECHO;
    echo->credit = mark->credit;
    return echo;
}

void
zc_flow_reset (zc_flow_t *self)
{
    size_t before = s_held (self);
    self->acked = self->sent;
    self->bulk_acked = self->bulk_sent;
    self->marked = self->sent;
    self->bulk_marked = self->bulk_sent;
    self->mark_first = self->mark_count = 0;
    self->unacked_since = 0;
    s_pool_update (self, before);
}

void
zc_flow_clear (zc_flow_t *self)
{
    zc_flow_reset (self);
    size_t before = s_held (self);
    zmsg_t *frames;
    while ((frames = zlist_pop (self->queue)))
        zmsg_destroy (&frames);
    self->queued = 0;
    s_pool_update (self, before);
}

size_t
zc_flow_in_flight (zc_flow_t *self)
{
    return (size_t) (self->sent - self->acked);
}

size_t
zc_flow_queued (zc_flow_t *self)
{
    return self->queued;
}

size_t
zc_flow_window (zc_flow_t *self)
{
    return self->window;
}

uint64_t
zc_flow_refused (zc_flow_t *self)
{
    return self->refused;
}

//  --------------------------------------------------------------------------
//  Self-test: a sink that counts what it is given and keeps the serials
//  of the marks, which the test echoes as a peer would.

typedef struct {
    size_t messages, bytes;     //  other than marks
    uint64_t last_mark;
    size_t marks;
    bool fail;
} s_test_sink_t;

static int
s_test_sink (zmsg_t **frames_p, void *arg)
{
    s_test_sink_t *sink = arg;
    if (sink->fail) {
        zmsg_destroy (frames_p);
        return -1;
    }
    zc_wire_t *msg = zc_wire_decode (*frames_p, zmsg_first (*frames_p), NULL);
    if (msg && msg->type == ZC_MSG_CREDIT) {
        sink->last_mark = msg->credit;
        sink->marks++;
    }
    else {
        sink->messages++;
        sink->bytes += zmsg_content_size (*frames_p);
    }
    zc_wire_destroy (&msg);
    zmsg_destroy (frames_p);
    return 0;
}

static zmsg_t *
s_test_message (size_t size)
{
    zmsg_t *frames = zmsg_new ();
    zframe_t *frame = zframe_new (NULL, size);
    memset (zframe_data (frame), 'x', size);
    zmsg_append (frames, &frame);
    return frames;
}

static void
s_test_send (zc_flow_t *flow, size_t size, bool bulk, uint64_t now)
{
    zmsg_t *frames = s_test_message (size);
    zc_flow_send (flow, &frames, bulk, now);
}

int
zc_flow_test (bool verbose)
{
    ZC_TEST_BEGIN;
    (void) verbose;
    const size_t chunk = 16500;
    zc_flow_pool_t pool = { .limit = 4u << 20 };
    s_test_sink_t sink = { 0 };
    zc_flow_t *flow = zc_flow_new (1u << 20, &pool, s_test_sink, &sink);
    uint64_t now = 1000;

    //  Bulk goes while the window has room, then queues; a mark follows
    //  the first chunk; small messages pass the queue.
    zmsg_t *frames;
    for (int index = 0; index < 10; index++) {
        frames = s_test_message (chunk);
        ZC_CHECK (zc_flow_send (flow, &frames, true, now) == 0 && !frames);
    }
    ZC_CHECK (sink.messages == 1 && sink.marks == 1);   //  one chunk until the link shows more
    ZC_CHECK (zc_flow_queued (flow) == 9 * chunk);
    ZC_CHECK (pool.held == zc_flow_in_flight (flow) + zc_flow_queued (flow));
    s_test_send (flow, 100, false, now);
    ZC_CHECK (sink.messages == 2);

    //  An echo says everything before its mark arrived; a quick round
    //  trip opens the window.
    zc_flow_on_echo (flow, sink.last_mark, now + 1);
    ZC_CHECK (zc_flow_window (flow) > S_START_WINDOW);
    ZC_CHECK (sink.messages == 3);
    for (int round = 0; round < 20 && (zc_flow_queued (flow) || zc_flow_in_flight (flow)); round++)
        zc_flow_on_echo (flow, sink.last_mark, now + 2);
    ZC_CHECK (zc_flow_queued (flow) == 0 && sink.messages == 11);
    //  However fast the link, bulk never fills the budget: small
    //  messages keep room.
    for (int round = 0; round < 100; round++) {
        for (int index = 0; index < 40; index++)
            s_test_send (flow, chunk, true, now);
        zc_flow_on_echo (flow, sink.last_mark, now + 2);
    }
    ZC_CHECK (zc_flow_window (flow) == (1u << 20) / 2);
    for (int index = 0; index < 60; index++)
        s_test_send (flow, chunk, true, now);
    frames = s_test_message (100);
    ZC_CHECK (zc_flow_send (flow, &frames, false, now) == 0);
    for (int round = 0; round < 200 && (zc_flow_queued (flow) || zc_flow_in_flight (flow)); round++)
        zc_flow_on_echo (flow, sink.last_mark, now + 2);
    ZC_CHECK (zc_flow_queued (flow) == 0 && zc_flow_in_flight (flow) == 0);
    ZC_CHECK (zc_flow_in_flight (flow) == 0 && pool.held == 0);
    //  An echo of a mark it does not know changes nothing.
    s_test_send (flow, chunk, true, now);
    size_t in_flight = zc_flow_in_flight (flow);
    zc_flow_on_echo (flow, sink.last_mark + 100, now + 3);
    ZC_CHECK (zc_flow_in_flight (flow) == in_flight && in_flight > 0);
    zc_flow_on_echo (flow, sink.last_mark, now + 3);
    ZC_CHECK (zc_flow_in_flight (flow) == 0);

    //  Slow round trips (a queue on the link) close the window down to
    //  one bulk message at a time.
    for (int round = 0; round < 40; round++) {
        for (int index = 0; index < 4; index++)
            s_test_send (flow, chunk, true, now);
        now += 500;
        zc_flow_on_echo (flow, sink.last_mark, now);
    }
    for (int round = 0; round < 200 && (zc_flow_queued (flow) || zc_flow_in_flight (flow)); round++) {
        now += 500;
        zc_flow_on_echo (flow, sink.last_mark, now);
    }
    ZC_CHECK (zc_flow_window (flow) == S_MIN_WINDOW);
    ZC_CHECK (zc_flow_queued (flow) == 0 && zc_flow_in_flight (flow) == 0);
    size_t before = sink.messages;
    s_test_send (flow, chunk, true, now);
    s_test_send (flow, chunk, true, now);
    ZC_CHECK (sink.messages == before + 1 && zc_flow_queued (flow) == chunk);
    now += 600;
    zc_flow_on_echo (flow, sink.last_mark, now);
    ZC_CHECK (sink.messages == before + 2);
    now += 600;
    zc_flow_on_echo (flow, sink.last_mark, now);

    //  A few small bytes are marked on the heartbeat only after a while;
    //  a mark lost (no echo for 30 s) is given up on the heartbeat, and
    //  unmarked bytes get a new one.
    s_test_send (flow, 100, false, now);
    uint64_t marks = sink.marks;
    zc_flow_tick (flow, now + 1);
    ZC_CHECK (sink.marks == marks);
    now += S_QUIET_MARK_MS;
    zc_flow_tick (flow, now);
    ZC_CHECK (sink.marks == marks + 1);
    uint64_t lost = sink.last_mark;
    s_test_send (flow, 100, false, now);
    zc_flow_tick (flow, now + 2);
    ZC_CHECK (sink.marks == marks + 1);             //  one is out already
    zc_flow_tick (flow, now + 1 + S_MARK_LOST_MS);
    ZC_CHECK (sink.marks == marks + 2 && sink.last_mark != lost);
    zc_flow_on_echo (flow, sink.last_mark, now + 2 + S_MARK_LOST_MS);
    ZC_CHECK (zc_flow_in_flight (flow) == 0);
    now += 2 + S_MARK_LOST_MS;

    //  Small messages worth S_QUIET_MARK_BYTES are marked on the next
    //  heartbeat.
    marks = sink.marks;
    for (size_t sent = 0; sent < S_QUIET_MARK_BYTES; sent += 512)
        s_test_send (flow, 512, false, now);
    ZC_CHECK (sink.marks == marks);
    zc_flow_tick (flow, now + 1);
    ZC_CHECK (sink.marks == marks + 1);
    zc_flow_on_echo (flow, sink.last_mark, now + 2);
    ZC_CHECK (zc_flow_in_flight (flow) == 0);

    //  A mark lost right after bulk (nothing sent since): the window
    //  would stay shut; the heartbeat sends a new mark.
    s_test_send (flow, chunk, true, now);
    s_test_send (flow, chunk, true, now);
    ZC_CHECK (zc_flow_queued (flow) == chunk);
    marks = sink.marks;
    now += S_MARK_LOST_MS;
    zc_flow_tick (flow, now);
    ZC_CHECK (sink.marks == marks + 1);
    zc_flow_on_echo (flow, sink.last_mark, now + 1);
    ZC_CHECK (zc_flow_queued (flow) == 0);
    zc_flow_on_echo (flow, sink.last_mark, now + 2);
    ZC_CHECK (zc_flow_in_flight (flow) == 0);

    //  A peer that stops reading: bulk fills the budget and is refused,
    //  then small messages are refused too.
    size_t refused_before = zc_flow_refused (flow);
    int refusals = 0;
    for (int index = 0; index < 100; index++) {
        frames = s_test_message (chunk);
        if (zc_flow_send (flow, &frames, true, now) != 0) {
            ZC_CHECK (errno == ENOBUFS);
            refusals++;
        }
    }
    ZC_CHECK (refusals > 30 && zc_flow_queued (flow) + zc_flow_in_flight (flow) <= (1u << 20));
    ZC_CHECK (zc_flow_refused (flow) == refused_before + (uint64_t) refusals);
    for (int index = 0; index < 100; index++)
        s_test_send (flow, chunk, false, now);
    ZC_CHECK (zc_flow_in_flight (flow) <= (1u << 20) + 200);
    frames = s_test_message (chunk);
    ZC_CHECK (zc_flow_send (flow, &frames, false, now) == -1 && errno == ENOBUFS);

    //  The pool bounds several links together.
    s_test_sink_t other_sink = { 0 };
    zc_flow_t *other = zc_flow_new (4u << 20, &pool, s_test_sink, &other_sink);
    for (int index = 0; index < 300; index++)
        s_test_send (other, chunk, true, now);
    //  Refused by the pool, long before its own budget was full.
    ZC_CHECK (zc_flow_refused (other) > 0);
    ZC_CHECK (zc_flow_in_flight (other) + zc_flow_queued (other) < (4u << 20) - 2 * chunk);
    ZC_CHECK (pool.held <= pool.limit);
    ZC_CHECK (pool.held == zc_flow_in_flight (flow) + zc_flow_queued (flow)
              + zc_flow_in_flight (other) + zc_flow_queued (other));

    //  A new connection: nothing in flight, the queue kept and sent.
    zc_flow_reset (other);
    ZC_CHECK (zc_flow_in_flight (other) == 0 && zc_flow_queued (other) > 0);
    zc_flow_pump (other, now);
    ZC_CHECK (zc_flow_in_flight (other) > 0);
    //  Gone: everything it held goes back to the pool.
    zc_flow_clear (flow);
    zc_flow_destroy (&other);
    ZC_CHECK (pool.held == 0);

    //  The echo of a mark.
    zc_wire_t *mark = zc_wire_new (ZC_MSG_CREDIT);
    mark->credit = 42;
    zc_wire_t *echo = zc_flow_echo_of (mark);
    ZC_CHECK (echo->type == ZC_MSG_CREDIT && echo->flags == ZC_FLAG_ECHO && echo->credit == 42);
    zc_wire_destroy (&echo);
    zc_wire_destroy (&mark);

    //  Quick echoes on a link without bulk do not open its window: a
    //  burst after a quiet spell starts small.
    s_test_sink_t quiet_sink = { 0 };
    zc_flow_t *quiet = zc_flow_new (4u << 20, NULL, s_test_sink, &quiet_sink);
    for (int beat = 0; beat < 40; beat++) {
        s_test_send (quiet, S_QUIET_MARK_BYTES, false, now);
        zc_flow_tick (quiet, now);
        zc_flow_on_echo (quiet, quiet_sink.last_mark, now + 5);
        now += 2000;
    }
    ZC_CHECK (quiet_sink.marks >= 40 && zc_flow_window (quiet) == S_START_WINDOW);
    //  Heartbeats alone (a HELLO each 2 s) are marked once in
    //  S_QUIET_MARK_MS.
    uint64_t marks_before = quiet_sink.marks;
    for (int beat = 0; beat < 40; beat++) {
        s_test_send (quiet, 100, false, now);
        zc_flow_tick (quiet, now);
        if (quiet_sink.marks > marks_before)
            zc_flow_on_echo (quiet, quiet_sink.last_mark, now + 5);
        now += 2000;
    }
    ZC_CHECK (quiet_sink.marks - marks_before >= 3);
    ZC_CHECK (quiet_sink.marks - marks_before <= 40 * 2000 / S_QUIET_MARK_MS + 1);
    //  Marks are random: an echo of a guessed next serial does nothing.
    s_test_send (quiet, chunk, true, now);
    ZC_CHECK (zc_flow_in_flight (quiet) > 0);
    zc_flow_on_echo (quiet, quiet_sink.last_mark + 1, now + 1);
    ZC_CHECK (zc_flow_in_flight (quiet) > 0);
    zc_flow_destroy (&quiet);

    //  A link that turns slow: a window opened wide on a fast link comes
    //  down to one chunk with the first slow echo, not one halving per
    //  round trip; and bulk after a second without any in flight starts
    //  from one chunk, so a stale wide window does not queue its size at
    //  once ahead of every small message.
    s_test_sink_t turn_sink = { 0 };
    zc_flow_t *turn = zc_flow_new (4u << 20, NULL, s_test_sink, &turn_sink);
    for (int round = 0; round < 100; round++) {
        for (int index = 0; index < 40; index++)
            s_test_send (turn, chunk, true, now);
        zc_flow_on_echo (turn, turn_sink.last_mark, now + 1);
    }
    ZC_CHECK (zc_flow_window (turn) == (4u << 20) / 2);
    for (int round = 0; round < 400 && (zc_flow_queued (turn) || zc_flow_in_flight (turn)); round++)
        zc_flow_on_echo (turn, turn_sink.last_mark, now + 1);
    ZC_CHECK (zc_flow_queued (turn) == 0 && zc_flow_in_flight (turn) == 0);
    for (int index = 0; index < 8; index++)
        s_test_send (turn, chunk, true, now + 2);
    ZC_CHECK (zc_flow_queued (turn) == 0);          //  all 8 went: the wide window still holds
    now += 2100;                                    //  the first chunk's echo, at 8 kB/s
    zc_flow_on_echo (turn, turn_sink.last_mark, now);
    ZC_CHECK (zc_flow_window (turn) == S_MIN_WINDOW);
    for (int round = 0; round < 20 && zc_flow_in_flight (turn); round++) {
        now += 2100;
        zc_flow_on_echo (turn, turn_sink.last_mark, now);
    }
    //  Opened wide again, then idle for longer than S_IDLE_RESTART_MS.
    for (int round = 0; round < 100; round++) {
        for (int index = 0; index < 40; index++)
            s_test_send (turn, chunk, true, now);
        zc_flow_on_echo (turn, turn_sink.last_mark, now + 1);
    }
    for (int round = 0; round < 400 && (zc_flow_queued (turn) || zc_flow_in_flight (turn)); round++)
        zc_flow_on_echo (turn, turn_sink.last_mark, now + 1);
    ZC_CHECK (zc_flow_window (turn) > 64 * chunk);
    now += 1 + S_IDLE_RESTART_MS;
    size_t sent_before = turn_sink.messages;
    for (int index = 0; index < 8; index++)
        s_test_send (turn, chunk, true, now);
    ZC_CHECK (turn_sink.messages == sent_before + 1 && zc_flow_queued (turn) == 7 * chunk);
    zc_flow_destroy (&turn);

    //  A full pool refuses small messages only to links that are behind.
    zc_flow_pool_t small_pool = { .limit = 1u << 20 };
    s_test_sink_t stuck_sink = { 0 }, live_sink = { 0 };
    zc_flow_t *stuck = zc_flow_new (4u << 20, &small_pool, s_test_sink, &stuck_sink);
    zc_flow_t *live = zc_flow_new (4u << 20, &small_pool, s_test_sink, &live_sink);
    for (int index = 0; index < 80; index++)
        s_test_send (stuck, chunk, false, now);     //  never echoed
    ZC_CHECK (small_pool.held > small_pool.limit - chunk);
    frames = s_test_message (chunk);
    ZC_CHECK (zc_flow_send (stuck, &frames, false, now) == -1 && errno == ENOBUFS);
    frames = s_test_message (chunk);
    ZC_CHECK (zc_flow_send (live, &frames, false, now) == 0);
    zc_flow_destroy (&stuck);
    zc_flow_destroy (&live);
    ZC_CHECK (small_pool.held == 0);

    //  A sink that fails: the message is not counted as sent.
    sink.fail = true;
    frames = s_test_message (100);
    ZC_CHECK (zc_flow_send (flow, &frames, false, now) == -1 && !frames);
    ZC_CHECK (zc_flow_in_flight (flow) == 0);
    zc_flow_destroy (&flow);
    ZC_CHECK (pool.held == 0);
    return ZC_TEST_END;
}
