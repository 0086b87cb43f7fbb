/*  store.c — the agent's durable state in LMDB (see store.h). */
#include <errno.h>
#include <lmdb.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <czmq.h>
#include "prelude.h"
#include "log.h"
#include "store.h"
#include "testing.h"

#define S_MAP_SIZE_START    (1ull << 30)    //  address space, not disk: the file stays small
#define S_MAP_SIZE_MAX      (1ull << 40)
#define S_KEY_MAX           200

//  The map size a new environment starts with; the self-test lowers it.
static size_t s_initial_map_size = S_MAP_SIZE_START;

static const char *s_table_names [ZC_TABLE_COUNT] = {
    "outbox", "inbox", "directory", "retained", "state", "spool", "schedule"
};

//  One pending change: a put of 'size' bytes of value, or a delete. One
//  allocation holds it all.
typedef struct {
    zc_table_t table;
    char key [S_KEY_MAX + 1];
    size_t size;
    bool is_delete;
    uint8_t value [];
} s_change_t;

struct _zc_store_t {
    MDB_env *env;
    MDB_dbi tables [ZC_TABLE_COUNT];
    size_t map_size;
    zlistx_t *changes;          //  s_change_t, the batch, applied in order
    size_t commits;
    zc_store_pending_fn *on_pending;    //  told of a batch's first change, or NULL
    void *pending_arg;
};

static void
s_change_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

zc_store_t *
zc_store_open (const char *dir, bool durable, char **error)
{
    if (mkdir (dir, 0700) == -1 && errno != EEXIST) {
        *error = zsys_sprintf ("cannot create %s: %s", dir, strerror (errno));
        return NULL;
    }
    zc_store_t *self = zc_calloc (1, sizeof *self);
    self->map_size = s_initial_map_size;
    int rc = mdb_env_create (&self->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs (self->env, ZC_TABLE_COUNT);
    if (rc == 0)
        rc = mdb_env_set_mapsize (self->env, self->map_size);
    //  MDB_NOTLS: transactions are not tied to a thread's storage; the
    //  environment is still used by one thread only.
    if (rc == 0)
        rc = mdb_env_open (self->env, dir, MDB_NOTLS | (durable? 0: MDB_NOSYNC), 0600);
    if (rc != 0) {
        *error = zsys_sprintf ("cannot open the store in %s: %s", dir, mdb_strerror (rc));
        if (self->env)
            mdb_env_close (self->env);
        free (self);
        return NULL;
    }
    //  Readers left by a crashed process would pin old pages for ever.
    int dead = 0;
    mdb_reader_check (self->env, &dead);
    if (dead)
        zc_info ("store: cleared %d stale reader(s) of a previous life", dead);
    MDB_envinfo info;
    if (mdb_env_info (self->env, &info) == 0 && info.me_mapsize > self->map_size)
        self->map_size = info.me_mapsize;
    MDB_txn *txn;
    rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    for (int table = 0; rc == 0 && table < ZC_TABLE_COUNT; table++)
        rc = mdb_dbi_open (txn, s_table_names [table], MDB_CREATE, &self->tables [table]);
    if (rc == 0)
        rc = mdb_txn_commit (txn);
    else
        mdb_txn_abort (txn);
    if (rc != 0) {
        *error = zsys_sprintf ("cannot open the tables of the store in %s: %s", dir, mdb_strerror (rc));
        mdb_env_close (self->env);
        free (self);
        return NULL;
    }
    self->changes = zlistx_new ();
    zlistx_set_destructor (self->changes, s_change_destroy);
    return self;
}

void
zc_store_close (zc_store_t **self_p)
{
    if (*self_p) {
        zc_store_t *self = *self_p;
        if (zc_store_pending (self))
            zc_store_commit (self);
        zlistx_destroy (&self->changes);
        mdb_env_close (self->env);
        free (self);
        *self_p = NULL;
    }
}

//  Records one change. Changes are applied in the order they were made,
//  so a later change to the same key wins (a list is cheaper here than a
//  table that dedups: a batch is applied once and thrown away).
static void
s_change (zc_store_t *self, zc_table_t table, const char *key, const void *value, size_t size, bool is_delete)
{
    size_t key_length = strlen (key);
    assert (table < ZC_TABLE_COUNT);
    assert (key_length > 0 && key_length <= S_KEY_MAX);
    if (is_delete)
        size = 0;
    s_change_t *change = zc_malloc (sizeof *change + size);
    change->table = table;
    memcpy (change->key, key, key_length + 1);
    change->is_delete = is_delete;
    change->size = size;
    if (size)
        memcpy (change->value, value, size);
    zlistx_add_end (self->changes, change);
    if (zlistx_size (self->changes) == 1 && self->on_pending)
        self->on_pending (self->pending_arg);
}

void
zc_store_set_pending_hook (zc_store_t *self, zc_store_pending_fn *on_pending, void *arg)
{
    self->on_pending = on_pending;
    self->pending_arg = arg;
}

void
zc_store_put (zc_store_t *self, zc_table_t table, const char *key, const void *value, size_t size)
{
    s_change (self, table, key, value, size, false);
}

void
zc_store_del (zc_store_t *self, zc_table_t table, const char *key)
{
    s_change (self, table, key, NULL, 0, true);
}

#define S_MOST_NUMBERS 16

void
zc_store_put_numbers (zc_store_t *self, zc_table_t table, const char *key,
                      const uint64_t *numbers, size_t count)
{
    assert (count <= S_MOST_NUMBERS);
    uint8_t bytes [S_MOST_NUMBERS * 8];
    for (size_t number = 0; number < count; number++)
        for (size_t index = 0; index < 8; index++)
            bytes [number * 8 + index] = (uint8_t) (numbers [number] >> (56 - 8 * index));
    s_change (self, table, key, bytes, count * 8, false);
}

bool
zc_store_numbers (const void *value, size_t size, uint64_t *numbers, size_t count)
{
    if (size != count * 8)
        return false;
    const uint8_t *bytes = value;
    for (size_t number = 0; number < count; number++) {
        numbers [number] = 0;
        for (size_t index = 0; index < 8; index++)
            numbers [number] = numbers [number] << 8 | bytes [number * 8 + index];
    }
    return true;
}

bool
zc_store_pending (zc_store_t *self)
{
    return zlistx_size (self->changes) > 0;
}

//  Applies the batch in one transaction. Returns an LMDB code.
static int
s_apply (zc_store_t *self)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    for (s_change_t *change = zlistx_first (self->changes); change; change = zlistx_next (self->changes)) {
        MDB_val key = { .mv_size = strlen (change->key), .mv_data = change->key };
        if (change->is_delete) {
            rc = mdb_del (txn, self->tables [change->table], &key, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
        else {
            MDB_val value = { .mv_size = change->size, .mv_data = change->value };
            rc = mdb_put (txn, self->tables [change->table], &key, &value, 0);
        }
        if (rc != 0) {
            mdb_txn_abort (txn);
            return rc;
        }
    }
    return mdb_txn_commit (txn);
}

int
zc_store_commit (zc_store_t *self)
{
    if (!zc_store_pending (self))
        return 0;
    int rc = s_apply (self);
    //  A full map: grow it (no transaction is open now) and apply again.
    while (rc == MDB_MAP_FULL && self->map_size < S_MAP_SIZE_MAX) {
        self->map_size *= 2;
        rc = mdb_env_set_mapsize (self->env, self->map_size);
        if (rc == 0) {
            zc_info ("store: map grown to %zu MiB", self->map_size >> 20);
            rc = s_apply (self);
        }
    }
    if (rc != 0) {
        zc_error ("store: commit failed: %s; %zu change(s) kept for the next try",
                  mdb_strerror (rc), zlistx_size (self->changes));
        return -1;
    }
    zlistx_purge (self->changes);
    self->commits++;
    return 0;
}

int
zc_store_scan (zc_store_t *self, zc_table_t table, const char *from, size_t limit,
               zc_store_each_fn *fn, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return -1;
    rc = mdb_cursor_open (txn, self->tables [table], &cursor);
    if (rc != 0) {
        mdb_txn_abort (txn);
        return -1;
    }
    MDB_val key = { .mv_size = from? strlen (from): 0, .mv_data = (void *) from }, value;
    size_t visited = 0;
    for (rc = mdb_cursor_get (cursor, &key, &value, from? MDB_SET_RANGE: MDB_FIRST);
         rc == 0 && (limit == 0 || visited < limit);
         rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT)) {
        char text [S_KEY_MAX + 1];
        if (key.mv_size == 0 || key.mv_size > S_KEY_MAX)
            continue;           //  not a key this module wrote
        memcpy (text, key.mv_data, key.mv_size);
        text [key.mv_size] = 0;
        visited++;
        if (fn (text, value.mv_data, value.mv_size, arg) != 0)
            break;
    }
    mdb_cursor_close (cursor);
    mdb_txn_abort (txn);
    return (int) visited;
}

int
zc_store_each (zc_store_t *self, zc_table_t table, zc_store_each_fn *fn, void *arg)
{
    return zc_store_scan (self, table, NULL, 0, fn, arg) < 0? -1: 0;
}

int
zc_store_get (zc_store_t *self, zc_table_t table, const char *key, zc_store_each_fn *fn, void *arg)
{
    size_t length = strlen (key);
    if (length == 0 || length > S_KEY_MAX)
        return 0;
    MDB_txn *txn;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    MDB_val mdb_key = { .mv_size = length, .mv_data = (void *) key }, value;
    int rc = mdb_get (txn, self->tables [table], &mdb_key, &value);
    if (rc == 0)
        fn (key, value.mv_data, value.mv_size, arg);
    mdb_txn_abort (txn);
    return rc == 0? 1: rc == MDB_NOTFOUND? 0: -1;
}

size_t
zc_store_commits (zc_store_t *self)
{
    return self->commits;
}

int
zc_store_usage (zc_store_t *self, size_t *file_bytes, size_t *used_bytes)
{
    MDB_envinfo info;
    MDB_stat stat_info;
    const char *dir = NULL;
    if (mdb_env_info (self->env, &info) != 0 || mdb_env_stat (self->env, &stat_info) != 0
    ||  mdb_env_get_path (self->env, &dir) != 0 || !dir)
        return -1;
    *used_bytes = (info.me_last_pgno + 1) * (size_t) stat_info.ms_psize;
    char *path = zsys_sprintf ("%s/data.mdb", dir);
    struct stat file;
    int rc = stat (path, &file);
    free (path);
    *file_bytes = rc == 0? (size_t) file.st_size: 0;
    return rc == 0? 0: -1;
}

//  Self-test helpers: collect a table into a string "k=v;k=v;".
static int
s_collect (const char *key, const void *value, size_t size, void *arg)
{
    char **text = arg;
    char *more = zsys_sprintf ("%s%s=%.*s;", *text, key, (int) size, (const char *) value);
    free (*text);
    *text = more;
    return 0;
}

static int
s_collect_numbers (const char *key, const void *value, size_t size, void *arg)
{
    return zc_store_numbers (value, size, arg, 2)? 0: -1;
}

static int
s_count (const char *key, const void *value, size_t size, void *arg)
{
    (*(size_t *) arg)++;
    return 0;
}

static char *
s_dump (zc_store_t *store, zc_table_t table)
{
    char *text = zc_strdup ("");
    zc_store_each (store, table, s_collect, &text);
    return text;
}

int
zc_store_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zcnc-store-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *path = zsys_sprintf ("%s/store", dir);
    char *error = NULL;
    zc_store_t *store = zc_store_open (path, true, &error);
    ZC_CHECK (store && !error);

    //  Nothing is written before the commit; the last change to a key wins.
    zc_store_put (store, ZC_TABLE_OUTBOX, "b", "2", 1);
    zc_store_put (store, ZC_TABLE_OUTBOX, "a", "1", 1);
    zc_store_put (store, ZC_TABLE_OUTBOX, "a", "one", 3);
    zc_store_put (store, ZC_TABLE_INBOX, "a", "in", 2);
    ZC_CHECK (zc_store_pending (store));
    char *text = s_dump (store, ZC_TABLE_OUTBOX);
    ZC_CHECK_STR (text, "");
    free (text);
    ZC_CHECK (zc_store_commit (store) == 0);
    ZC_CHECK (!zc_store_pending (store) && zc_store_commits (store) == 1);
    size_t file_bytes = 0, used_bytes = 0;
    ZC_CHECK (zc_store_usage (store, &file_bytes, &used_bytes) == 0);
    ZC_CHECK (used_bytes >= 4096 && used_bytes <= file_bytes);
    text = s_dump (store, ZC_TABLE_OUTBOX);
    ZC_CHECK_STR (text, "a=one;b=2;");
    free (text);
    text = s_dump (store, ZC_TABLE_INBOX);
    ZC_CHECK_STR (text, "a=in;");
    free (text);

    //  Deletes, also of keys that are not there.
    zc_store_del (store, ZC_TABLE_OUTBOX, "a");
    zc_store_del (store, ZC_TABLE_OUTBOX, "nothing");
    ZC_CHECK (zc_store_commit (store) == 0);
    text = s_dump (store, ZC_TABLE_OUTBOX);
    ZC_CHECK_STR (text, "b=2;");
    free (text);

    //  One record by key; a pending change is not seen before its commit.
    zc_store_put (store, ZC_TABLE_OUTBOX, "c", "3", 1);
    text = zc_strdup ("");
    ZC_CHECK (zc_store_get (store, ZC_TABLE_OUTBOX, "b", s_collect, &text) == 1);
    ZC_CHECK (zc_store_get (store, ZC_TABLE_OUTBOX, "c", s_collect, &text) == 0);
    ZC_CHECK (zc_store_get (store, ZC_TABLE_INBOX, "b", s_collect, &text) == 0);
    ZC_CHECK (zc_store_get (store, ZC_TABLE_OUTBOX, "", s_collect, &text) == 0);
    ZC_CHECK_STR (text, "b=2;");
    free (text);
    ZC_CHECK (zc_store_commit (store) == 0);

    //  A scan from a key (or the next one after it), with a limit.
    zc_store_put (store, ZC_TABLE_OUTBOX, "e", "5", 1);
    ZC_CHECK (zc_store_commit (store) == 0);
    text = zc_strdup ("");
    ZC_CHECK (zc_store_scan (store, ZC_TABLE_OUTBOX, "c", 0, s_collect, &text) == 2);
    ZC_CHECK_STR (text, "c=3;e=5;");
    free (text);
    text = zc_strdup ("");
    ZC_CHECK (zc_store_scan (store, ZC_TABLE_OUTBOX, "bb", 1, s_collect, &text) == 1);
    ZC_CHECK_STR (text, "c=3;");
    free (text);
    text = zc_strdup ("");
    ZC_CHECK (zc_store_scan (store, ZC_TABLE_OUTBOX, NULL, 2, s_collect, &text) == 2);
    ZC_CHECK_STR (text, "b=2;c=3;");
    free (text);
    ZC_CHECK (zc_store_scan (store, ZC_TABLE_OUTBOX, "f", 0, s_collect, NULL) == 0);
    zc_store_del (store, ZC_TABLE_OUTBOX, "c");
    zc_store_del (store, ZC_TABLE_OUTBOX, "e");
    ZC_CHECK (zc_store_commit (store) == 0);

    //  Numbers are big-endian u64s; a record of another length is not
    //  read as numbers.
    uint64_t numbers [2] = { 0x0102030405060708u, 9 }, back [2];
    zc_store_put_numbers (store, ZC_TABLE_STATE, "numbers", numbers, 2);
    ZC_CHECK (zc_store_commit (store) == 0);
    ZC_CHECK (zc_store_get (store, ZC_TABLE_STATE, "numbers", s_collect_numbers, back) == 1);
    ZC_CHECK (back [0] == numbers [0] && back [1] == 9);
    ZC_CHECK (zc_store_numbers ("\x01\x02\x03\x04\x05\x06\x07\x08", 8, back, 1) && back [0] == numbers [0]);
    ZC_CHECK (!zc_store_numbers ("\x01\x02\x03", 3, back, 1) && !zc_store_numbers (NULL, 0, back, 1));
    zc_store_del (store, ZC_TABLE_STATE, "numbers");
    ZC_CHECK (zc_store_commit (store) == 0);

    //  A batch bigger than the map: the map grows, nothing is lost.
    zc_store_close (&store);
    s_initial_map_size = 1 << 20;
    store = zc_store_open (path, true, &error);
    s_initial_map_size = S_MAP_SIZE_START;
    size_t big_size = 16384;
    char *big = zc_calloc (1, big_size);
    for (int index = 0; index < 300; index++) {
        char key [32];
        snprintf (key, sizeof key, "big-%04d", index);
        zc_store_put (store, ZC_TABLE_DIRECTORY, key, big, big_size);
    }
    free (big);
    ZC_CHECK (zc_store_commit (store) == 0);
    size_t count = 0;
    zc_store_each (store, ZC_TABLE_DIRECTORY, s_count, &count);
    ZC_CHECK (count == 300);
    for (int index = 0; index < 300; index++) {
        char key [32];
        snprintf (key, sizeof key, "big-%04d", index);
        zc_store_del (store, ZC_TABLE_DIRECTORY, key);
    }
    //  What is pending is committed on close, and survives a reopen.
    zc_store_put (store, ZC_TABLE_OUTBOX, "c", "3", 1);
    zc_store_close (&store);
    ZC_CHECK (store == NULL);
    store = zc_store_open (path, false, &error);
    ZC_CHECK (store != NULL);
    text = s_dump (store, ZC_TABLE_OUTBOX);
    ZC_CHECK_STR (text, "b=2;c=3;");
    free (text);
    text = s_dump (store, ZC_TABLE_DIRECTORY);
    ZC_CHECK_STR (text, "");
    free (text);
    zc_store_close (&store);

    //  A store that cannot be created says why.
    zc_store_t *bad = zc_store_open ("/proc/zcnc-no-such/store", true, &error);
    ZC_CHECK (bad == NULL && error && strstr (error, "cannot create /proc/zcnc-no-such/store"));
    free (error);

    char *command = zsys_sprintf ("rm -rf %s", dir);
    ZC_CHECK (system (command) == 0);
    free (command);
    free (path);
    return ZC_TEST_END;
}
