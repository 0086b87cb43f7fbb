/*  collect.h — log shipping, the storing end ("collect = SUBJECT FILE",
    zcnc.conf(5)): every message on SUBJECT (a pattern) is appended to
    FILE as a JSON line, the pub/sub message object of zcnc-pubsub(1).

    Lines of a log stream (follow.h) are written once each: the collector
    remembers, per publisher and subject, the last number it wrote (in the
    store), skips what it has when a publisher sends again, and tells the
    publisher (STORED) once the lines are on disk (fdatasync) and that
    number is committed, so that the publisher's spool lets them go.
*/
#ifndef ZC_COLLECT_H
#define ZC_COLLECT_H
#include <czmq.h>
#include <jansson.h>
#include "pubsub.h"
#include "store.h"
#include "wire.h"

typedef struct _zc_collect_t zc_collect_t;

//  Sends a STORED once what it says is committed (destroys it).
typedef void (zc_collect_send_fn) (zc_wire_t **msg_p, void *arg);

//  Collects each "SUBJECT FILE" of 'collects' (strings the config
//  checked), taking messages from 'pubsub'. NULL with *error when a FILE
//  cannot be opened for appending.
zc_collect_t *zc_collect_new (zc_store_t *store, zlist_t *collects, zc_pubsub_t *pubsub,
                              zc_collect_send_fn *send, void *arg, char **error);
void zc_collect_destroy (zc_collect_t **self_p);

//  Opens every file again (SIGHUP: after logrotate moved them). A file
//  that cannot be opened keeps the old one, logged.
void zc_collect_reopen (zc_collect_t *self);

//  For status: [{"subject","file","written","skipped"}].
json_t *zc_collect_status (zc_collect_t *self);

int zc_collect_test (bool verbose);

#endif
