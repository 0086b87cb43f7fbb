/*  commit.h — the group commit: one fsync covers everything a turn of the
    loop changed, and what promises stored state waits for it.

    The store tells this module when the first change of a batch is
    recorded; the batch is committed at the end of that turn of the loop.
    What promises that something is stored waits for the commit of the
    changes made before it: the IDs answered to a client, the ACK of a
    job or a result. Everything else goes at once: a REQ sent before its
    job is on disk is only a job the client has not been promised yet (at
    most once still holds: the target dedups), a REPLY sent before its
    record is on disk only a result the target may report again as
    interrupted, which the origin ignores. Who must act once changes are
    on disk (spawning jobs stored as starting, removing submitted files)
    registers once with zc_commit_on_done.
*/
#ifndef ZC_COMMIT_H
#define ZC_COMMIT_H
#include <czmq.h>
#include <jansson.h>
#include "jsonl.h"
#include "store.h"
#include "wire.h"

typedef struct _zc_commit_t zc_commit_t;
typedef void (zc_commit_fn) (void *arg);

//  Commits 'store' (borrowed) on 'loop'; messages leave through 'send'.
zc_commit_t *zc_commit_new (zloop_t *loop, zc_store_t *store, zc_link_send_fn *send, void *arg);
//  Commits what is pending, lets what waited go, and frees.
void zc_commit_destroy (zc_commit_t **self_p);
//  'fn' is called after every commit that succeeded (in the order the
//  functions registered). At most 8.
void zc_commit_on_done (zc_commit_t *self, zc_commit_fn *fn, void *arg);

//  A message that promises stored state (an ACK, a STARTED): sent now
//  when nothing waits, else queued behind what waits. ACKs to one node
//  that wait together leave as one (wire.h, the IDs payload).
void zc_commit_send (zc_commit_t *self, zc_wire_t **msg_p);
//  An answer for a socket client; takes 'answer'. With 'durable' it
//  promises stored state; either way the answers to one client keep the
//  order they were given in.
void zc_commit_answer (zc_commit_t *self, zc_jsonl_conn_t *conn, json_t *answer, bool durable);
//  The same for an answer whose line is written already (JSON, without
//  its newline; copied), never durable.
void zc_commit_answer_text (zc_commit_t *self, zc_jsonl_conn_t *conn, const char *text, size_t size);
//  A client went away: what waited for it is dropped.
void zc_commit_forget (zc_commit_t *self, zc_jsonl_conn_t *conn);
//  Commits now and lets what waited go. 0, or -1 when the disk refused
//  (a commit is tried again shortly).
int zc_commit_now (zc_commit_t *self);

int zc_commit_test (bool verbose);
#endif
