/*  streamout.h — the sending end of a job's output stream (exec_stream,
    tail): at the target, output becomes numbered chunks (STREAM, at most
    ZC_STREAM_MAX_CHUNK bytes each, sealed for the origin) that are kept
    until the origin acknowledges them, and sent again, in order, when
    the link comes back, when the origin reappears, or when no
    acknowledgment came for a while. The origin takes chunks in order
    only, so a chunk is never lost nor taken twice across reconnects and
    hub restarts (doc/PROTOCOL.md, "Streams").

    Memory is bounded by a window of bytes not yet acknowledged: once it
    is full, zc_streamout_full says so and the producer stops reading
    (the job then blocks on its pipe); the room callback says when it may
    go on. The window follows the rate at which acknowledgments come
    back: about a second of output, between 64 KiB and 2 MiB. Chunks are
    bulk on every link (flow.h), so small messages pass them; they hold
    about 20 ms of output at that rate (16 KiB on a slow path, up to
    256 KiB on a fast one: fewer, larger messages cost less per byte).

    The chunks are not stored: when the target agent stops, the job ends
    as interrupted, as any running job does.
*/
#ifndef ZC_STREAMOUT_H
#define ZC_STREAMOUT_H
#include <czmq.h>
#include "seal.h"
#include "wire.h"

#define ZC_STREAMOUT_MIN_WINDOW   (64u << 10)
//  Half a hub's default budget for a peer (zcnc.conf(5) peer_budget, 4
//  MiB), what a hop lets bulk have in flight (flow.h): over the budget,
//  the hub refuses chunks, and what follows a refused chunk is sent again.
#define ZC_STREAMOUT_MAX_WINDOW   (2u << 20)

typedef struct _zc_streamout_t zc_streamout_t;

//  The window has room again, or (zc_streamout_done) every chunk has
//  been acknowledged.
typedef void (zc_streamout_fn) (zc_streamout_t *stream, void *arg);

typedef struct {
    zc_seal_t *seal;            //  NULL: chunks in clear (the self-test)
    const char *name;           //  this node, the target
    const char *origin;         //  where the chunks go
    const zc_id_t *id;          //  the job's message ID
    zc_link_send_fn *send;      //  the hub link
    void *send_arg;
    zc_streamout_fn *on_room;   //  may be NULL
    zc_streamout_fn *on_done;   //  may be NULL: all chunks acknowledged after zc_streamout_close
    void *arg;
} zc_streamout_spec_t;

zc_streamout_t *zc_streamout_new (const zc_streamout_spec_t *spec);
void zc_streamout_destroy (zc_streamout_t **self_p);

//  Output from 'stream' (ZC_STREAM_STDOUT or _STDERR): cut into chunks,
//  sent as far as the window allows, the rest kept in order.
void zc_streamout_write (zc_streamout_t *self, int stream, const uint8_t *bytes, size_t size);
//  No more output comes: what is kept goes; on_done follows once the
//  origin has acknowledged all of it (at once when there was none).
void zc_streamout_close (zc_streamout_t *self);
//  True when the bytes not yet acknowledged fill the window.
bool zc_streamout_full (zc_streamout_t *self);
//  True when closed and every chunk is acknowledged.
bool zc_streamout_done (zc_streamout_t *self);
//  The origin took every chunk up to 'seq'.
void zc_streamout_on_ack (zc_streamout_t *self, uint64_t seq);
//  The link is back or the origin reappeared: every chunk not
//  acknowledged goes again, in order.
void zc_streamout_resend (zc_streamout_t *self);
//  Sends everything not acknowledged again when the origin has acknowledged nothing for the retransmission timeout (four
//  round trips, between 3 s and 60 s). 'now' is zclock_mono.
void zc_streamout_tick (zc_streamout_t *self, uint64_t now);
//  The last chunk acknowledged (0: none), and the output bytes of all
//  chunks acknowledged.
uint64_t zc_streamout_acked (zc_streamout_t *self);
uint64_t zc_streamout_acked_bytes (zc_streamout_t *self);
//  Monotonic ms of the last acknowledgment (or of the stream's start):
//  how long the origin has taken nothing.
uint64_t zc_streamout_last_ack (zc_streamout_t *self);
//  Chunks made so far, and bytes sent again.
uint64_t zc_streamout_chunks (zc_streamout_t *self);
uint64_t zc_streamout_resent_bytes (zc_streamout_t *self);
size_t zc_streamout_window (zc_streamout_t *self);
//  Output bytes a chunk holds at most now: about 20 ms at the rate
//  acknowledgments come back, between ZC_STREAM_SMALL_CHUNK and
//  ZC_STREAM_MAX_CHUNK (small at the start and on slow paths).
size_t zc_streamout_chunk_size (zc_streamout_t *self);

int zc_streamout_test (bool verbose);
#endif
