/*  store.h — the agent's durable state in LMDB (the only module that
    calls mdb_*).

    One environment per agent, at DATA/store, used by one thread. Writes
    are batched: zc_store_put and zc_store_del only record the change;
    zc_store_commit applies the whole batch in one write transaction,
    fsync'd unless the store was opened non-durable. Nothing that depends
    on a change (an ACK, an answer to a client) may leave the process
    before the commit that holds it returned 0. Because the batch is kept
    until it is committed, a full map is grown and the batch applied
    again: no change is lost to MDB_MAP_FULL.

    Tables are LMDB named databases; keys are strings of at most 200
    bytes; changes are applied in the order they were made, so the last
    change to a key in a batch wins.
*/
#ifndef ZC_STORE_H
#define ZC_STORE_H
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    ZC_TABLE_OUTBOX,            //  jobs sent from here: job ID -> job record
    ZC_TABLE_INBOX,             //  jobs received: ULID.origin -> task record
    ZC_TABLE_DIRECTORY,         //  node name -> directory entry
    ZC_TABLE_RETAINED,          //  hash of a subject -> a retained message published here
    ZC_TABLE_STATE,             //  what the agent decided and keeps: "directory" -> "wanted",
                                //  where it follows files, what its collectors stored, its
                                //  error events' numbers, what it wrote to errors.log
    ZC_TABLE_SPOOL,             //  lines of followed files not yet stored by a collector,
                                //  error events ("errqueue:N") the error_node has not stored
    ZC_TABLE_SCHEDULE,          //  schedules received: run 0's ULID.origin -> schedule record
    ZC_TABLE_COUNT
} zc_table_t;

typedef struct _zc_store_t zc_store_t;

//  Opens (creating) the store in directory 'dir'. With durable false,
//  commits are not fsync'd (tests and benchmarks only). NULL with *error.
zc_store_t *zc_store_open (const char *dir, bool durable, char **error);
//  Commits what is pending, then closes.
void zc_store_close (zc_store_t **self_p);

//  Records a change for the next commit. The bytes are copied.
void zc_store_put (zc_store_t *self, zc_table_t table, const char *key,
                   const void *value, size_t size);
void zc_store_del (zc_store_t *self, zc_table_t table, const char *key);
//  A record of 'count' numbers, each a big-endian u64 (the layout of
//  the counters and positions kept in the STATE table).
void zc_store_put_numbers (zc_store_t *self, zc_table_t table, const char *key,
                           const uint64_t *numbers, size_t count);
//  Reads such a record: true when it holds exactly 'count' numbers.
bool zc_store_numbers (const void *value, size_t size, uint64_t *numbers, size_t count);
//  Who commits: told when the first change of a batch is recorded (the
//  batch was empty before), so that it can commit at the end of the turn.
typedef void (zc_store_pending_fn) (void *arg);
void zc_store_set_pending_hook (zc_store_t *self, zc_store_pending_fn *on_pending, void *arg);
//  True when changes wait for a commit.
bool zc_store_pending (zc_store_t *self);
//  Applies every pending change in one transaction. 0, or -1 (logged)
//  when the disk refused it; the changes are kept for the next try.
int zc_store_commit (zc_store_t *self);

//  Calls fn for every record of a table, in key order, in one short read
//  transaction; fn returns 0 to go on, -1 to stop. Returns 0 or -1.
typedef int (zc_store_each_fn) (const char *key, const void *value, size_t size, void *arg);
int zc_store_each (zc_store_t *self, zc_table_t table, zc_store_each_fn *fn, void *arg);
//  The same from the first key at or after 'from' (the first key when
//  NULL), visiting at most 'limit' records (0: no limit). Returns how many
//  records it visited, or -1.
int zc_store_scan (zc_store_t *self, zc_table_t table, const char *from, size_t limit,
                   zc_store_each_fn *fn, void *arg);
//  Calls fn with the committed record of 'key' (pending changes are not
//  seen). Returns 1 when there is one, 0 when not, -1 on an error.
int zc_store_get (zc_store_t *self, zc_table_t table, const char *key, zc_store_each_fn *fn, void *arg);

//  Figures for status and benchmarks.
size_t zc_store_commits (zc_store_t *self);
//  The size of the store's data file and the bytes of it in use (pages
//  up to the last one written). 0, or -1 when LMDB cannot tell.
int zc_store_usage (zc_store_t *self, size_t *file_bytes, size_t *used_bytes);

int zc_store_test (bool verbose);
#endif
