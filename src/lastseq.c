/*  lastseq.c — the last number written of each stream (lastseq.h). */
#include "prelude.h"
#include "lastseq.h"
#include "testing.h"

struct _zc_lastseq_t {
    zc_store_t *store;
    zhashx_t *cache;            //  key -> (void *) last number; absent or 0: look in the store
};

zc_lastseq_t *
zc_lastseq_new (zc_store_t *store)
{
    zc_lastseq_t *self = zc_calloc (1, sizeof *self);
    self->store = store;
    self->cache = zhashx_new ();
    return self;
}

void
zc_lastseq_destroy (zc_lastseq_t **self_p)
{
    if (*self_p) {
        zhashx_destroy (&(*self_p)->cache);
        free (*self_p);
        *self_p = NULL;
    }
}

static int
s_decode (const char *key, const void *value, size_t size, void *arg)
{
    if (!zc_store_numbers (value, size, arg, 1))
        *(uint64_t *) arg = 0;
    return 0;
}

uint64_t
zc_lastseq_get (zc_lastseq_t *self, const char *key)
{
    void *known = zhashx_lookup (self->cache, key);
    if (known)
        return (uint64_t) (uintptr_t) known;
    uint64_t last = 0;
    zc_store_get (self->store, ZC_TABLE_STATE, key, s_decode, &last);
    return last;
}

void
zc_lastseq_set (zc_lastseq_t *self, const char *key, uint64_t last)
{
    zhashx_update (self->cache, key, (void *) (uintptr_t) last);
    zc_store_put_numbers (self->store, ZC_TABLE_STATE, key, &last, 1);
}

int
zc_lastseq_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-lastseq-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *error = NULL;
    zc_store_t *store = zc_store_open (dir, false, &error);
    ZC_CHECK (store && !error);
    if (!store) {
        free (error);
        return ZC_TEST_END;
    }
    zc_lastseq_t *marks = zc_lastseq_new (store);
    ZC_CHECK (zc_lastseq_get (marks, "a") == 0);
    zc_lastseq_set (marks, "a", 0x0102030405060708u);
    zc_lastseq_set (marks, "b", 7);
    ZC_CHECK (zc_lastseq_get (marks, "a") == 0x0102030405060708u && zc_lastseq_get (marks, "b") == 7);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_lastseq_destroy (&marks);
    //  Another instance reads them from the store, big-endian.
    marks = zc_lastseq_new (store);
    ZC_CHECK (zc_lastseq_get (marks, "a") == 0x0102030405060708u && zc_lastseq_get (marks, "b") == 7);
    ZC_CHECK (zc_lastseq_get (marks, "c") == 0);
    zc_lastseq_destroy (&marks);
    zc_store_close (&store);
    char command [64];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    ZC_CHECK (system (command) == 0);
    return ZC_TEST_END;
}
