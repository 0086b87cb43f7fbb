/*  bulk.h — large REPLYs in chunks, so that on a slow link they do not
    hold up the small messages behind them.

    A REPLY whose payload is larger than ZC_BULK_CHUNK goes as REPLYs
    flagged CHUNK, each carrying [u32 offset][u32 total][bytes] of the
    payload. At most ZC_BULK_WINDOW chunks are in flight: the receiver
    answers each with an ACK flagged CHUNK whose payload is the u32 count
    of bytes it holds in a row, and the sender sends on from there. Once
    it has them all, the receiver hands on the whole REPLY as if it had
    come in one piece (whose usual ACK then ends the job). A transfer that
    makes no progress for ZC_BULK_STALL_MS starts again where the receiver
    stands (a receiver that lost its part answers 0: from the start); the
    sender's own resends of the REPLY (every 10 s) do not restart a
    transfer that progresses. A receiver answers chunks of a REPLY it
    completed a moment ago with "all there".
*/
#ifndef ZC_BULK_H
#define ZC_BULK_H
#include <czmq.h>
#include "wire.h"

#define ZC_BULK_CHUNK       16384       //  bytes of payload per chunk
#define ZC_BULK_WINDOW      2           //  chunks in flight per transfer
#define ZC_BULK_STALL_MS    10000       //  no progress this long: go again
#define ZC_BULK_IDLE_MS     300000      //  a receiver forgets a partial REPLY
#define ZC_BULK_MAX_BYTES   (256u << 20)    //  partial REPLYs held at once

typedef struct _zc_bulk_t zc_bulk_t;

//  Chunks leave through 'send' (which destroys them).
zc_bulk_t *zc_bulk_new (zc_link_send_fn *send, void *arg);
void zc_bulk_destroy (zc_bulk_t **self_p);

//  Sending. Takes (and destroys) *msg_p when it is a REPLY too large for
//  one chunk, and returns 1 (0 when its first chunks did not leave: the
//  link is down); returns -1 and leaves *msg_p alone otherwise.
int zc_bulk_send (zc_bulk_t *self, zc_wire_t **msg_p);
//  An ACK flagged CHUNK: more of a transfer may go (or, when the
//  receiver holds less than before, the transfer starts over there).
void zc_bulk_on_ack (zc_bulk_t *self, zc_wire_t *ack);
//  The REPLY to 'peer' for job 'id' (in custody: for 'party', else NULL)
//  was ACKed: its transfer, if any, ends. Transfers whose REPLY is not
//  sent again by its owner for a minute end too.
void zc_bulk_forget (zc_bulk_t *self, const zc_id_t *id, const char *peer, const char *party);

//  Receiving: a REPLY flagged CHUNK. Returns the whole REPLY (the caller
//  destroys it) once every byte arrived, else NULL. Malformed chunks are
//  dropped; *malformed is then set.
zc_wire_t *zc_bulk_on_chunk (zc_bulk_t *self, zc_wire_t *chunk, bool *malformed);

//  Restarts stalled transfers, forgets idle partial REPLYs, as of 'now'
//  (zclock_mono).
void zc_bulk_tick (zc_bulk_t *self, uint64_t now);
//  Transfers going out and partial REPLYs coming in.
size_t zc_bulk_sending (zc_bulk_t *self);
size_t zc_bulk_receiving (zc_bulk_t *self);

int zc_bulk_test (bool verbose);
#endif
