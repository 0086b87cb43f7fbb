/*  errlog.h — error events, the error node's end: what other agents
    report to this one as their error_node (errqueue.h, the sending end).

    Each event is logged (a warning, "error event from NODE: TEXT") and
    appended to DATA/errors.log as one JSON line
    {"from","time","event"}: who reported it (the hubs' stamp), when it
    was written (s since the epoch), and the event as it came (a JSON
    object; any other text is kept as a string).

    An event numbered in its sender's stream ("seq", errqueue.h) is
    written once: the last number written per sender and stream is kept
    in the store; one already written is not written again, one that
    comes after a missing one waits for it (it is not written, and the
    STORED answer asks for what is missing), unless it is flagged GAP
    (its sender has nothing before it any more): then the line says how
    many this node never got ("dropped"). Each is answered with a STORED
    (subject ZC_ERRQUEUE_SUBJECT, the last number written), which leaves
    once the line is on disk (fdatasync) and its number committed. An
    event without a number (an agent of an older release) is written as
    it comes and not answered.
    The module's own lines never make events (log.h, the tap's pause).
*/
#ifndef ZC_ERRLOG_H
#define ZC_ERRLOG_H
#include <czmq.h>
#include <jansson.h>
#include "store.h"
#include "wire.h"

typedef struct _zc_errlog_t zc_errlog_t;

//  Sends a STORED once what it says is committed (destroys it).
typedef void (zc_errlog_send_fn) (zc_wire_t **msg_p, void *arg);

//  Writes to 'path' (opened for appending, created mode 0640; while it
//  cannot be, events are logged only and not answered, and it is tried
//  again at each one), keeping what it wrote in 'store' (borrowed).
zc_errlog_t *zc_errlog_new (zc_store_t *store, const char *path, zc_errlog_send_fn *send, void *arg);
void zc_errlog_destroy (zc_errlog_t **self_p);
//  Opens the file again (SIGHUP: logrotate moved it). When it cannot be,
//  the old one is kept, logged.
void zc_errlog_reopen (zc_errlog_t *self);

//  An ERROR with code JOB_EVENT from another agent (its 'from' stamped).
void zc_errlog_on_event (zc_errlog_t *self, zc_wire_t *msg);

//  For status: {"written","duplicates","waiting"}: events written, sent
//  again and not written again, and not written while one before them
//  is missing.
json_t *zc_errlog_status (zc_errlog_t *self);

int zc_errlog_test (bool verbose);
#endif
