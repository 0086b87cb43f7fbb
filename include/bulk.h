/*  bulk.h — large REQs and REPLYs in chunks, so that no link carries a
    large message in one piece ahead of the small ones behind it.

    A REQ or REPLY whose payload is larger than ZC_BULK_CHUNK goes as
    messages of its type flagged CHUNK, each carrying [u32 offset][u32
    total][bytes] of the payload (a REQ for several targets: to each
    target on its own, since each answers for itself). At most
    ZC_BULK_WINDOW chunks of a transfer are unanswered: the receiver
    answers each with an ACK flagged CHUNK holding the type and the u32
    count of bytes it holds in a row, and the sender sends on from there.
    At most ZC_BULK_PARALLEL transfers go to one peer at a time; the
    others wait their turn. Once it has them all, the receiver hands on
    the whole message as if it had come in one piece (whose usual ACK
    then ends the job). An answer without progress while more is on its
    way means a chunk was lost (a hub over its budget refused it): the
    sender goes back to the gap, once. A transfer that makes no progress
    for ZC_BULK_STALL_MS starts again where the receiver stands (a
    receiver that lost its part answers 0: from the start); the sender's
    own resends of the message do not restart a transfer that
    progresses. A receiver answers chunks of a message it completed a
    moment ago with "all there".

    How fast bulk flows on each hop, and that small messages pass it
    there, is the business of each link (flow.h).
*/
#ifndef ZC_BULK_H
#define ZC_BULK_H
#include <czmq.h>
#include "wire.h"

#define ZC_BULK_CHUNK       ZC_WIRE_MAX_WHOLE   //  bytes of payload per chunk (2 s at 64 kbit/s)
#define ZC_BULK_WINDOW      32          //  chunks in flight per transfer (512 KiB)
#define ZC_BULK_PARALLEL    2           //  transfers going to one peer at once
#define ZC_BULK_STALL_MS    10000       //  no progress this long: go again
#define ZC_BULK_IDLE_MS     300000      //  a receiver forgets a partial REPLY
#define ZC_BULK_MAX_BYTES   (256u << 20)    //  partial messages held at once

typedef struct _zc_bulk_t zc_bulk_t;

//  Chunks leave through 'send' (which destroys them).
zc_bulk_t *zc_bulk_new (zc_link_send_fn *send, void *arg);
void zc_bulk_destroy (zc_bulk_t **self_p);

//  Sending. Takes (and destroys) *msg_p when it is a REQ or REPLY too
//  large for one chunk, and returns 1 (0 when its first chunks did not
//  leave: the link is down); returns -1 and leaves *msg_p alone
//  otherwise.
int zc_bulk_send (zc_bulk_t *self, zc_wire_t **msg_p);
//  An ACK flagged CHUNK: more of a transfer may go (or, when the
//  receiver holds less than before, the transfer starts over there).
void zc_bulk_on_ack (zc_bulk_t *self, zc_wire_t *ack);
//  The REQ or REPLY to 'peer' for job 'id' (in custody: for 'party',
//  else NULL) was ACKed: its transfer, if any, ends. Transfers whose
//  message is not sent again by its owner for 150 s end too.
void zc_bulk_forget (zc_bulk_t *self, const zc_id_t *id, const char *peer, const char *party);

//  Receiving: a REQ or REPLY flagged CHUNK. Returns the whole message (the caller
//  destroys it) once every byte arrived, else NULL. Malformed chunks are
//  dropped; *malformed is then set.
zc_wire_t *zc_bulk_on_chunk (zc_bulk_t *self, zc_wire_t *chunk, bool *malformed);

//  Restarts stalled transfers, forgets idle partial messages, as of
//  'now' (zclock_mono).
void zc_bulk_tick (zc_bulk_t *self, uint64_t now);
//  Transfers going out (also those waiting their turn) and partial
//  messages coming in.
size_t zc_bulk_sending (zc_bulk_t *self);
size_t zc_bulk_receiving (zc_bulk_t *self);

int zc_bulk_test (bool verbose);
#endif
