/*  copy.h — the copy method: a file from the agent that has it (the
    source, which the copy job is sent to) to another agent (the
    destination), through the hubs, sealed end to end (zcnc-cp(1), COPY).

    The source asks the destination what it has already (a copy_open
    job, durable like any job): the destination keeps a partial file
    next to the destination path, named after the source file (node,
    path, size, modification time), and answers its size. The source
    then sends the rest as a stream (STREAM chunks of kind COPY, each
    with its SHA-256, streamout.h) that the destination writes in order
    and acknowledges; once all is acknowledged, a copy_close job carries
    the whole file's SHA-256, which the destination checks before it
    sets the mode, syncs and renames the partial file into place.

    So a copy goes on from where it was after a broken link, a hub
    restart, or a restart of either agent: the bytes the destination
    has are never sent again. A source that restarts takes its copy up
    again by itself (a copy is not interrupted like other jobs); a
    destination that restarts is asked again what it has.

    A policy at the source judges the copy job as method copy of the
    source path; at the destination, the copy_open and copy_close jobs
    as method copy of the destination path, from the source node.
*/
#ifndef ZC_COPY_H
#define ZC_COPY_H
#include <czmq.h>
#include "job.h"
#include "seal.h"
#include "wire.h"

//  Bytes of file in one chunk at most (chunks follow the stream's rate:
//  zc_streamout_chunk_size).
#define ZC_COPY_PIECE   (ZC_STREAM_MAX_CHUNK - ZC_STREAM_HASH)

//  ---------------------------------------------------------------------
//  The destination's end: the copies being received, by session.

typedef struct _zc_copysink_t zc_copysink_t;

//  'name' is this node; chunks are acknowledged on 'send'.
zc_copysink_t *zc_copysink_new (zloop_t *loop, const char *name, zc_link_send_fn *send, void *arg);
void zc_copysink_destroy (zc_copysink_t **self_p);
//  Chunks are opened with 'seal' (borrowed); without one, taken as
//  they come (the self-test).
void zc_copysink_set_seal (zc_copysink_t *self, zc_seal_t *seal);
//  A copy_open job (message 'id') from 'source', args [DST, KEY, SIZE]:
//  the result (new) says, on its stdout, how many bytes of the file the
//  destination has; from then on the chunks of stream 'id' from
//  'source' are taken.
zc_result_t *zc_copysink_open (zc_copysink_t *self, const zc_id_t *id, const char *source, zlist_t *args);
//  A copy_close job from 'source', args [DST, KEY, SIZE, MODE, SHA256]:
//  checks the whole file and moves it into place. A new result.
zc_result_t *zc_copysink_close (zc_copysink_t *self, const char *source, zlist_t *args);
//  A STREAM chunk (not an acknowledgment). False when it is not for a
//  copy session here (another module may take it).
bool zc_copysink_on_chunk (zc_copysink_t *self, zc_wire_t *msg);
//  Sessions open now.
size_t zc_copysink_sessions (zc_copysink_t *self);

//  ---------------------------------------------------------------------
//  The source's end: one copy job.

typedef struct _zc_copysend_t zc_copysend_t;

//  Sends a job (copy_open or copy_close) to the destination; returns its
//  job ID (malloc'd) or NULL with *error (malloc'd).
typedef char *(zc_copy_submit_fn) (zc_method_t method, const char *node, zlist_t *args, void *arg);
//  The copy ended with 'result' (taken).
typedef void (zc_copy_done_fn) (zc_copysend_t *copy, zc_result_t *result, void *arg);
//  Progress: bytes the destination has of 'total'.
typedef void (zc_copy_progress_fn) (zc_copysend_t *copy, uint64_t stored, uint64_t total, void *arg);

typedef struct {
    zloop_t *loop;
    zc_seal_t *seal;            //  NULL: chunks in clear (the self-test)
    const char *name;           //  this node, the source
    const char *source;         //  the file here
    const char *node;           //  the destination node
    const char *destination;    //  the path there
    zc_link_send_fn *send;      //  the hub link, for the chunks
    void *send_arg;
    zc_copy_submit_fn *submit;
    void *submit_arg;
    zc_copy_done_fn *done;
    zc_copy_progress_fn *progress;  //  may be NULL
    void *arg;
} zc_copysend_spec_t;

//  Starts a copy: NULL with *error (malloc'd) when the source file
//  cannot be read.
zc_copysend_t *zc_copysend_start (const zc_copysend_spec_t *spec, char **error);
void zc_copysend_destroy (zc_copysend_t **self_p);
//  Does the copy wait for job 'job_id'?
bool zc_copysend_awaits (zc_copysend_t *self, const char *job_id);
//  A job this copy sent (zc_copy_submit_fn) reached its final state:
//  true when it was one of its jobs.
bool zc_copysend_job_final (zc_copysend_t *self, const char *job_id, zc_state_t state,
                            const char *out, const char *error);
//  The destination acknowledged the chunks of stream 'id' up to 'seq':
//  true when that is this copy's stream.
bool zc_copysend_on_ack (zc_copysend_t *self, const zc_id_t *id, const char *from, uint64_t seq);
//  The link is back, or 'node' appeared: chunks go again.
void zc_copysend_resend (zc_copysend_t *self, const char *node);
//  Timers: resends, and asking the destination again when it has taken
//  nothing for a while (it may have restarted).
void zc_copysend_tick (zc_copysend_t *self, uint64_t now);

int zc_copy_test (bool verbose);
#endif
