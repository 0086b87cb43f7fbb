/*  flow.h — flow control on one link (one hop): how many bytes may be
    on their way to the peer, bulk data queued behind small messages,
    and a budget in bytes.

    The sending end counts what it hands to the socket and now and then
    sends a mark (a CREDIT message, link-local, with a serial number)
    after it; the receiving end echoes each mark back at once (CREDIT
    flagged ECHO), so an echo says the peer has taken everything sent
    before its mark (serials are random, so a peer cannot echo a mark it
    has not read). What was sent after the last echoed mark sits in
    ZeroMQ's queues, the kernel's buffers, a slow link or a peer that
    stopped reading: bytes in flight. A mark goes after the first bulk
    chunk sent while none is out, after each quarter window of bulk,
    after 256 KiB of anything, and with the heartbeat when bytes are
    unmarked. Marks count from where the last connection left off, so an
    echo from an earlier connection names no mark and is ignored; a mark
    unanswered for 30 s is taken as lost.

    Small messages (jobs, ACKs, heartbeats: everything but bulk chunks)
    go at once. Bulk chunks go only while the bulk in flight is below the
    window, and wait in a queue otherwise; so a small message waits
    behind no more than the window of bulk on this hop. The window
    follows the link's queueing delay (the round trip of a mark against
    the lowest seen lately): it grows while that delay stays under
    ZC_FLOW_TARGET_MS and the window was what held bulk back (an idle
    link's window stays as it is); above twice that it comes down to
    what the link delivered in that round trip, scaled to its lowest
    round trip plus the target (halved at least), so a window learnt
    on a fast link shuts in one round trip when the link turns slow.
    Bulk that starts again after a second without any in flight starts
    from one chunk. The window stays between one chunk in flight and
    half the budget (so small messages keep room). On loopback it opens
    wide; on a 64 kbit/s link it settles at one or two chunks.

    The budget bounds what the link holds, in flight and queued: a bulk
    chunk that would pass it is refused, and so is any message once the
    bytes in flight alone pass it (the peer is not reading). A pool,
    shared by the links of one process, bounds their sum the same way
    (bulk may use 7/8 of it, so small messages keep room); when it is
    full, small messages are refused only on links with more than
    ZC_FLOW_MIN_BUDGET in flight, so links that keep up keep their
    heartbeats. Refused
    messages are counted; their senders retry (doc/PROTOCOL.md).

    On a new connection nothing is in flight any more; what is queued
    stays queued and goes on the new connection.
*/
#ifndef ZC_FLOW_H
#define ZC_FLOW_H
#include <czmq.h>
#include "wire.h"

#define ZC_FLOW_TARGET_MS    25             //  queueing delay the window aims under
#define ZC_FLOW_MARK_EVERY   (256u << 10)   //  bytes between marks at most
#define ZC_FLOW_MIN_BUDGET   (256u << 10)

//  Bytes held by all the links that share it, and the most they may hold.
typedef struct {
    size_t limit;
    size_t held;
} zc_flow_pool_t;

typedef struct _zc_flow_t zc_flow_t;

//  Hands encoded frames to the socket; destroys them either way. 0, or
//  -1 when the socket would not take them.
typedef int (zc_flow_sink_fn) (zmsg_t **frames_p, void *arg);

//  A link that may hold 'budget' bytes (at least ZC_FLOW_MIN_BUDGET),
//  within 'pool' (NULL: none), sending through 'sink'.
zc_flow_t *zc_flow_new (size_t budget, zc_flow_pool_t *pool, zc_flow_sink_fn *sink, void *arg);
void zc_flow_destroy (zc_flow_t **self_p);

//  Takes *frames_p (the encoded message, without any routing id): sends
//  it, or queues it when 'bulk' and the window is full. 0 when sent or
//  queued; -1 when refused (errno ENOBUFS: over the budget) or the sink
//  failed (its errno).
int zc_flow_send (zc_flow_t *self, zmsg_t **frames_p, bool bulk, uint64_t now);
//  The peer echoed our mark 'serial': what was sent before it arrived,
//  and bulk may go on.
void zc_flow_on_echo (zc_flow_t *self, uint64_t serial, uint64_t now);
//  The heartbeat's turn: marks unmarked bytes, takes old marks as lost.
void zc_flow_tick (zc_flow_t *self, uint64_t now);
//  Sends what the queue holds as far as the window allows (after the
//  link came back).
void zc_flow_pump (zc_flow_t *self, uint64_t now);
//  The answer to a peer's mark (a CREDIT not flagged ECHO): its echo.
zc_wire_t *zc_flow_echo_of (zc_wire_t *mark);

//  A new connection: nothing in flight, marks forgotten, the queue kept.
void zc_flow_reset (zc_flow_t *self);
//  The peer is gone: as reset, and the queue dropped.
void zc_flow_clear (zc_flow_t *self);

//  Bytes in flight (sent, not yet echoed), queued, and the window.
size_t zc_flow_in_flight (zc_flow_t *self);
size_t zc_flow_queued (zc_flow_t *self);
size_t zc_flow_window (zc_flow_t *self);
//  Messages refused for the budget (this link's or the pool's).
uint64_t zc_flow_refused (zc_flow_t *self);

int zc_flow_test (bool verbose);
#endif
