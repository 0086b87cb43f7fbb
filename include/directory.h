/*  directory.h — the node directory: every node the mesh reported, with
    its online state, when it was last seen and the hub path to it.
    Used by the hub (the directory it serves) and by the agent (the copy
    it resolves targets against). Hubs are never entries.
*/
#ifndef ZC_DIRECTORY_H
#define ZC_DIRECTORY_H
#include <czmq.h>
#include "wire.h"

typedef struct _zc_directory_t zc_directory_t;

zc_directory_t *zc_directory_new (void);
void zc_directory_destroy (zc_directory_t **self_p);

//  Adds or updates an entry; marks it changed when anything differed.
//  Its facts are copied; an entry without facts (not known, or not
//  changed) keeps those the directory has.
void zc_directory_update (zc_directory_t *self, const zc_node_entry_t *entry);
//  The entry for a name, or NULL. Belongs to the directory (so do the
//  facts of every entry it hands out: valid until it changes).
const zc_node_entry_t *zc_directory_lookup (zc_directory_t *self, const char *name);
//  Drops nodes not seen for 'forget_after' seconds (offline ones only).
//  Returns their names (a new zlist of char *, autofree).
zlist_t *zc_directory_forget (zc_directory_t *self, uint64_t now, uint64_t forget_after);

//  All names (a new zlist of char *, autofree, sorted).
zlist_t *zc_directory_names (zc_directory_t *self);
//  All entries (a new array, sorted by name; the caller frees it).
zc_node_entry_t *zc_directory_entries (zc_directory_t *self, size_t *count);
//  The entries changed since the last call (a new array; caller frees),
//  clearing the changed marks; 'facts_changed' says which had new facts.
//  NULL with *count 0 when nothing changed.
zc_node_entry_t *zc_directory_take_changes (zc_directory_t *self, size_t *count);
size_t zc_directory_size (zc_directory_t *self);

int zc_directory_test (bool verbose);
#endif
