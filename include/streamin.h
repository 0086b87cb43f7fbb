/*  streamin.h — the receiving end of job output streams (exec_stream,
    tail), at the origin: takes each job's STREAM chunks in order (a
    chunk out of order is dropped: the target sends again from the first
    one not acknowledged), checks that each comes from the job's target,
    hands it to the clients that wait (the output callback), keeps the
    first max_output bytes of each stream for the job's result, and
    acknowledges what it took.

    Acknowledgments go at once after eight chunks, else a few ms later,
    and not while the clients of the job cannot take more (the ready
    callback): the target's window then fills and its job waits, so a
    slow reader bounds memory at both ends.

    Nothing here is stored: after a restart of the origin a stream goes
    on from the chunk that comes next, and the output kept before is not
    in the job's result (its clients were gone with the process).
*/
#ifndef ZC_STREAMIN_H
#define ZC_STREAMIN_H
#include <czmq.h>
#include "job.h"
#include "seal.h"
#include "wire.h"

//  A receiver acknowledges after this many chunks or bytes (whichever
//  comes first: large chunks are acknowledged one by one), or after
//  ZC_STREAMIN_ACK_DELAY_MS.
#define ZC_STREAMIN_ACK_EVERY   8       //  chunks
#define ZC_STREAMIN_ACK_BYTES   (128u << 10)
#define ZC_STREAMIN_ACK_DELAY_MS 5

typedef struct _zc_streamin_t zc_streamin_t;

//  Is (id, from) a job sent from here, with a method that streams, not
//  final yet? Chunks of any other are dropped and counted.
typedef bool (zc_streamin_known_fn) (const zc_id_t *id, const char *from, void *arg);
//  A chunk of job 'job_id' ("ULID.node"), in order.
typedef void (zc_streamin_output_fn) (const char *job_id, int stream, const uint8_t *bytes,
                                      size_t size, void *arg);
//  Can the clients of 'job_id' take more now?
typedef bool (zc_streamin_ready_fn) (const char *job_id, void *arg);

typedef struct {
    zloop_t *loop;
    const char *name;           //  this node, the origin
    size_t max_output;          //  bytes kept per stream for the result
    zc_link_send_fn *send;
    void *send_arg;
    zc_streamin_known_fn *known;
    zc_streamin_output_fn *output;
    zc_streamin_ready_fn *ready;        //  may be NULL: always
    void *arg;
} zc_streamin_spec_t;

zc_streamin_t *zc_streamin_new (const zc_streamin_spec_t *spec);
void zc_streamin_destroy (zc_streamin_t **self_p);
//  From now on, chunks are opened and checked with 'seal' (borrowed);
//  without one they are taken as they come (the self-test).
void zc_streamin_set_seal (zc_streamin_t *self, zc_seal_t *seal);
//  A STREAM chunk (not an acknowledgment) from the hub link.
void zc_streamin_on_chunk (zc_streamin_t *self, zc_wire_t *msg);
//  The job's result came: the output kept is moved into it (when the
//  result has none of its own), and the job's stream is forgotten.
//  Also for a job that ended otherwise ('result' NULL).
void zc_streamin_finish (zc_streamin_t *self, const char *job_id, zc_result_t *result);
//  Clients that could not take more may be able to now: acknowledges
//  what waited for them.
void zc_streamin_poke (zc_streamin_t *self);

typedef struct {
    uint64_t chunks;            //  taken
    uint64_t duplicates;        //  already taken (acknowledged again)
    uint64_t out_of_order;      //  dropped: an earlier one is missing
    uint64_t rejected;          //  dropped: unknown job, not authentic or malformed
} zc_streamin_counts_t;
zc_streamin_counts_t zc_streamin_counts (zc_streamin_t *self);
//  Streams in progress.
size_t zc_streamin_size (zc_streamin_t *self);

int zc_streamin_test (bool verbose);
#endif
