/*  directory.c — the node directory (see directory.h). */
#include <stdlib.h>
#include <string.h>
#include "prelude.h"
#include "directory.h"
#include "testing.h"

typedef struct {
    zc_node_entry_t entry;      //  its facts point at 'facts'
    uint8_t *facts;             //  what the node advertises, or NULL when not known
    bool changed;
    bool facts_changed;
} s_item_t;

struct _zc_directory_t {
    zhashx_t *items;            //  name -> s_item_t
};

static void
s_item_destroy (void **item_p)
{
    s_item_t *item = *item_p;
    if (item) {
        free (item->facts);
        free (item);
        *item_p = NULL;
    }
}

zc_directory_t *
zc_directory_new (void)
{
    zc_directory_t *self = zc_calloc (1, sizeof *self);
    self->items = zhashx_new ();
    zhashx_set_destructor (self->items, s_item_destroy);
    return self;
}

void
zc_directory_destroy (zc_directory_t **self_p)
{
    if (*self_p) {
        zhashx_destroy (&(*self_p)->items);
        free (*self_p);
        *self_p = NULL;
    }
}

void
zc_directory_update (zc_directory_t *self, const zc_node_entry_t *entry)
{
    s_item_t *item = zhashx_lookup (self->items, entry->name);
    if (!item) {
        item = zc_calloc (1, sizeof *item);
        zhashx_insert (self->items, entry->name, item);
        item->entry = *entry;
        item->entry.facts = NULL;
        item->entry.facts_size = 0;
        item->changed = true;
    }
    else
    if (item->entry.online != entry->online
    ||  item->entry.last_seen != entry->last_seen
    ||  strcmp (item->entry.via, entry->via) != 0) {
        const uint8_t *facts = item->entry.facts;
        size_t facts_size = item->entry.facts_size;
        item->entry = *entry;
        item->entry.facts = facts;
        item->entry.facts_size = facts_size;
        item->changed = true;
    }
    //  Facts not known to the caller ("not changed") keep what is here.
    if (entry->facts && entry->facts_size
    &&  (entry->facts_size != item->entry.facts_size
         || memcmp (entry->facts, item->facts, entry->facts_size) != 0)) {
        free (item->facts);
        item->facts = zc_malloc (entry->facts_size);
        memcpy (item->facts, entry->facts, entry->facts_size);
        item->entry.facts = item->facts;
        item->entry.facts_size = entry->facts_size;
        item->changed = item->facts_changed = true;
    }
}

const zc_node_entry_t *
zc_directory_lookup (zc_directory_t *self, const char *name)
{
    s_item_t *item = zhashx_lookup (self->items, name);
    return item? &item->entry: NULL;
}

zlist_t *
zc_directory_forget (zc_directory_t *self, uint64_t now, uint64_t forget_after)
{
    zlist_t *names = zc_directory_names (self);
    zlist_t *forgotten = zlist_new ();
    zlist_autofree (forgotten);
    for (char *name = zlist_first (names); name; name = zlist_next (names)) {
        s_item_t *item = zhashx_lookup (self->items, name);
        if (!item->entry.online && item->entry.last_seen + forget_after < now) {
            zlist_append (forgotten, name);
            zhashx_delete (self->items, name);
        }
    }
    zlist_destroy (&names);
    return forgotten;
}

zlist_t *
zc_directory_names (zc_directory_t *self)
{
    zlist_t *names = zlist_new ();
    zlist_autofree (names);
    for (s_item_t *item = zhashx_first (self->items); item; item = zhashx_next (self->items))
        zlist_append (names, item->entry.name);
    zlist_sort (names, NULL);
    return names;
}

static int
s_compare_entries (const void *a, const void *b)
{
    return strcmp (((const zc_node_entry_t *) a)->name, ((const zc_node_entry_t *) b)->name);
}

//  Copies the entries (all, or only the changed ones) into a sorted array.
static zc_node_entry_t *
s_collect (zc_directory_t *self, bool only_changed, size_t *count)
{
    *count = 0;
    size_t size = zhashx_size (self->items);
    if (size == 0)
        return NULL;
    zc_node_entry_t *entries = zc_calloc (size, sizeof *entries);
    for (s_item_t *item = zhashx_first (self->items); item; item = zhashx_next (self->items)) {
        if (only_changed && !item->changed)
            continue;
        entries [*count] = item->entry;
        entries [(*count)++].facts_changed = only_changed && item->facts_changed;
        if (only_changed)
            item->changed = item->facts_changed = false;
    }
    if (*count == 0) {
        free (entries);
        return NULL;
    }
    qsort (entries, *count, sizeof *entries, s_compare_entries);
    return entries;
}

zc_node_entry_t *
zc_directory_entries (zc_directory_t *self, size_t *count)
{
    return s_collect (self, false, count);
}

zc_node_entry_t *
zc_directory_take_changes (zc_directory_t *self, size_t *count)
{
    return s_collect (self, true, count);
}

size_t
zc_directory_size (zc_directory_t *self)
{
    return zhashx_size (self->items);
}

int
zc_directory_test (bool verbose)
{
    ZC_TEST_BEGIN;
    zc_directory_t *directory = zc_directory_new ();
    zc_node_entry_t entry = { .name = "web-2", .online = true, .last_seen = 100, .via = "hub1" };
    zc_directory_update (directory, &entry);
    snprintf (entry.name, sizeof entry.name, "web-1");
    zc_directory_update (directory, &entry);
    ZC_CHECK (zc_directory_size (directory) == 2);
    zlist_t *names = zc_directory_names (directory);
    ZC_CHECK_STR (zlist_first (names), "web-1");
    ZC_CHECK_STR (zlist_next (names), "web-2");
    zlist_destroy (&names);

    //  Changes are taken once; an identical update is no change.
    size_t count;
    zc_node_entry_t *changes = zc_directory_take_changes (directory, &count);
    ZC_CHECK (changes && count == 2 && streq (changes [0].name, "web-1"));
    free (changes);
    zc_directory_update (directory, &entry);
    ZC_CHECK (zc_directory_take_changes (directory, &count) == NULL && count == 0);
    entry.online = false;
    entry.last_seen = 200;
    zc_directory_update (directory, &entry);
    changes = zc_directory_take_changes (directory, &count);
    ZC_CHECK (changes && count == 1 && !changes [0].online && changes [0].last_seen == 200);
    free (changes);
    const zc_node_entry_t *found = zc_directory_lookup (directory, "web-1");
    ZC_CHECK (found && !found->online && streq (found->via, "hub1"));
    ZC_CHECK (zc_directory_lookup (directory, "web-9") == NULL);

    //  Only offline nodes silent for longer than forget_after go.
    zlist_t *forgotten = zc_directory_forget (directory, 1000, 500);
    ZC_CHECK (zlist_size (forgotten) == 1 && streq (zlist_first (forgotten), "web-1"));
    zlist_destroy (&forgotten);
    ZC_CHECK (zc_directory_lookup (directory, "web-1") == NULL);
    ZC_CHECK (zc_directory_lookup (directory, "web-2") != NULL);
    zc_node_entry_t *entries = zc_directory_entries (directory, &count);
    ZC_CHECK (entries && count == 1);
    free (entries);

    //  Facts are copied; an update without them keeps them; new ones
    //  are a change, flagged as such.
    uint8_t facts [] = { 1, 1, 'a', 0, 1, 'b', 0 };
    entry = (zc_node_entry_t) { .name = "web-2", .online = true, .last_seen = 300, .via = "hub1",
                                .facts = facts, .facts_size = sizeof facts };
    zc_directory_update (directory, &entry);
    facts [5] = 'x';                            //  the caller's bytes are its own
    changes = zc_directory_take_changes (directory, &count);
    ZC_CHECK (changes && count == 1 && changes [0].facts_changed && changes [0].facts_size == sizeof facts
              && changes [0].facts [5] == 'b');
    free (changes);
    entry.facts = NULL;
    entry.facts_size = 0;
    entry.online = false;
    zc_directory_update (directory, &entry);
    changes = zc_directory_take_changes (directory, &count);
    ZC_CHECK (changes && count == 1 && !changes [0].facts_changed && changes [0].facts
              && changes [0].facts [5] == 'b' && !changes [0].online);
    free (changes);
    found = zc_directory_lookup (directory, "web-2");
    ZC_CHECK (found && found->facts_size == sizeof facts);
    entry.facts = facts;
    entry.facts_size = sizeof facts;            //  'x' now: changed
    zc_directory_update (directory, &entry);
    changes = zc_directory_take_changes (directory, &count);
    ZC_CHECK (changes && count == 1 && changes [0].facts_changed && changes [0].facts [5] == 'x');
    free (changes);
    zc_directory_update (directory, &entry);    //  the same facts again: no change
    ZC_CHECK (zc_directory_take_changes (directory, &count) == NULL);
    entries = zc_directory_entries (directory, &count);
    ZC_CHECK (entries && count == 1 && !entries [0].facts_changed && entries [0].facts [5] == 'x');
    free (entries);
    //  A new entry without facts has none.
    entry = (zc_node_entry_t) { .name = "web-3", .online = true, .last_seen = 300 };
    zc_directory_update (directory, &entry);
    found = zc_directory_lookup (directory, "web-3");
    ZC_CHECK (found && !found->facts && found->facts_size == 0);
    zc_directory_destroy (&directory);
    ZC_CHECK (directory == NULL);
    return ZC_TEST_END;
}
