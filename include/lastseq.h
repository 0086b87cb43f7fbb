/*  lastseq.h — the last number written of each numbered stream that a
    receiver writes to disk (log shipping, collect.h; the error node,
    errlog.h): a big-endian u64 in the store's STATE table under the
    caller's key, cached in memory after the first lookup.

    The caller commits: a number set here is in the store's next commit,
    with whatever the caller wrote along with it.
*/
#ifndef ZC_LASTSEQ_H
#define ZC_LASTSEQ_H
#include <czmq.h>
#include "store.h"

typedef struct _zc_lastseq_t zc_lastseq_t;

zc_lastseq_t *zc_lastseq_new (zc_store_t *store);
void zc_lastseq_destroy (zc_lastseq_t **self_p);
//  The last number written under 'key' (0 when none).
uint64_t zc_lastseq_get (zc_lastseq_t *self, const char *key);
void zc_lastseq_set (zc_lastseq_t *self, const char *key, uint64_t last);

int zc_lastseq_test (bool verbose);
#endif
