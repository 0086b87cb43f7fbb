/*  waiters.c — who waits for which names, at a hub (waiters.h). */
#include "prelude.h"
#include "waiters.h"
#include "testing.h"

//  The origins that wait for one name, oldest first, and a set of them.
typedef struct {
    char *name;
    zlistx_t *order;            //  origin names (owned)
    zhashx_t *present;          //  origin name -> its handle in order
    void *handle;               //  in the waiters' list of names
} s_name_t;

struct _zc_waiters_t {
    zhashx_t *names;            //  name -> s_name_t
    zlistx_t *oldest;           //  s_name_t, the one waited for longest first
    size_t max_names, max_total, total;
};

static void
s_name_free (zc_waiters_t *self, s_name_t *entry)
{
    self->total -= zlistx_size (entry->order);
    zlistx_delete (self->oldest, entry->handle);
    zhashx_destroy (&entry->present);
    zlistx_destroy (&entry->order);
    zhashx_delete (self->names, entry->name);
    free (entry->name);
    free (entry);
}

zc_waiters_t *
zc_waiters_new (size_t max_names, size_t max_total)
{
    zc_waiters_t *self = zc_calloc (1, sizeof *self);
    self->names = zhashx_new ();
    self->oldest = zlistx_new ();
    self->max_names = max_names? max_names: 1;
    self->max_total = max_total? max_total: 1;
    return self;
}

void
zc_waiters_destroy (zc_waiters_t **self_p)
{
    zc_waiters_t *self = *self_p;
    if (!self)
        return;
    s_name_t *entry;
    while ((entry = zlistx_first (self->oldest)))
        s_name_free (self, entry);
    zlistx_destroy (&self->oldest);
    zhashx_destroy (&self->names);
    free (self);
    *self_p = NULL;
}

//  Drops the oldest origin of 'entry'; the name goes with its last.
static void
s_drop_oldest (zc_waiters_t *self, s_name_t *entry)
{
    char *origin = zlistx_first (entry->order);
    if (!origin)
        return;
    zhashx_delete (entry->present, origin);
    zlistx_delete (entry->order, zlistx_cursor (entry->order));
    self->total--;
    if (zlistx_size (entry->order) == 0)
        s_name_free (self, entry);
}

void
zc_waiters_add (zc_waiters_t *self, const char *name, const char *origin)
{
    s_name_t *entry = zhashx_lookup (self->names, name);
    if (entry && zhashx_lookup (entry->present, origin))
        return;
    if (!entry) {
        if (zhashx_size (self->names) >= self->max_names)
            s_name_free (self, zlistx_first (self->oldest));
        entry = zc_calloc (1, sizeof *entry);
        entry->name = zc_strdup (name);
        entry->order = zlistx_new ();
        zlistx_set_destructor (entry->order, (zlistx_destructor_fn *) zstr_free);
        entry->present = zhashx_new ();
        entry->handle = zlistx_add_end (self->oldest, entry);
        zhashx_insert (self->names, name, entry);
    }
    if (self->total >= self->max_total) {
        //  Room at the expense of this name's oldest origin, or of the
        //  name waited for longest.
        if (zlistx_size (entry->order))
            s_drop_oldest (self, entry);
        else {
            s_name_t *oldest = zlistx_first (self->oldest);
            while (oldest && (oldest == entry || !zlistx_size (oldest->order)))
                oldest = zlistx_next (self->oldest);
            if (oldest)
                s_name_free (self, oldest);
        }
    }
    void *handle = zlistx_add_end (entry->order, zc_strdup (origin));
    zhashx_insert (entry->present, origin, handle);
    self->total++;
}

bool
zc_waiters_has (zc_waiters_t *self, const char *name)
{
    return zhashx_lookup (self->names, name) != NULL;
}

zlist_t *
zc_waiters_take (zc_waiters_t *self, const char *name, size_t count)
{
    zlist_t *origins = zlist_new ();
    zlist_autofree (origins);
    s_name_t *entry = zhashx_lookup (self->names, name);
    while (entry && count--) {
        zlist_append (origins, zlistx_first (entry->order));
        bool last = zlistx_size (entry->order) == 1;
        s_drop_oldest (self, entry);
        if (last)
            entry = NULL;
    }
    return origins;
}

void
zc_waiters_forget (zc_waiters_t *self, const char *name)
{
    s_name_t *entry = zhashx_lookup (self->names, name);
    if (entry)
        s_name_free (self, entry);
}

zlist_t *
zc_waiters_names (zc_waiters_t *self)
{
    zlist_t *names = zlist_new ();
    zlist_autofree (names);
    for (s_name_t *entry = zlistx_first (self->oldest); entry; entry = zlistx_next (self->oldest))
        zlist_append (names, entry->name);
    return names;
}

size_t
zc_waiters_size (zc_waiters_t *self)
{
    return self->total;
}

//  --------------------------------------------------------------------------
//  Self-test

//  The origins taken, joined with commas.
static char *
s_take (zc_waiters_t *waiters, const char *name, size_t count)
{
    zlist_t *origins = zc_waiters_take (waiters, name, count);
    char text [256] = "";
    for (char *origin = zlist_first (origins); origin; origin = zlist_next (origins))
        snprintf (text + strlen (text), sizeof text - strlen (text), "%s%s", *text? ",": "", origin);
    zlist_destroy (&origins);
    return zc_strdup (text);
}

#define S_CHECK_TAKE(waiters, name, count, want) do { \
        char *got_ = s_take ((waiters), (name), (count)); \
        ZC_CHECK_STR (got_, (want)); \
        free (got_); \
    } while (0)

int
zc_waiters_test (bool verbose)
{
    ZC_TEST_BEGIN;
    zc_waiters_t *waiters = zc_waiters_new (3, 5);
    ZC_CHECK (!zc_waiters_has (waiters, "web-1"));
    S_CHECK_TAKE (waiters, "web-1", 10, "");
    //  Once per origin, oldest first, as many as asked.
    zc_waiters_add (waiters, "web-1", "o1");
    zc_waiters_add (waiters, "web-1", "o2");
    zc_waiters_add (waiters, "web-1", "o1");
    zc_waiters_add (waiters, "web-1", "o3");
    ZC_CHECK (zc_waiters_has (waiters, "web-1") && zc_waiters_size (waiters) == 3);
    S_CHECK_TAKE (waiters, "web-1", 2, "o1,o2");
    ZC_CHECK (zc_waiters_has (waiters, "web-1") && zc_waiters_size (waiters) == 1);
    S_CHECK_TAKE (waiters, "web-1", 2, "o3");
    ZC_CHECK (!zc_waiters_has (waiters, "web-1") && zc_waiters_size (waiters) == 0);
    //  Past max_names, the name waited for longest is forgotten.
    zc_waiters_add (waiters, "a", "o1");
    zc_waiters_add (waiters, "b", "o1");
    zc_waiters_add (waiters, "c", "o1");
    zc_waiters_add (waiters, "d", "o1");
    ZC_CHECK (!zc_waiters_has (waiters, "a") && zc_waiters_has (waiters, "d"));
    zlist_t *names = zc_waiters_names (waiters);
    ZC_CHECK (zlist_size (names) == 3 && streq (zlist_first (names), "b"));
    zlist_destroy (&names);
    //  Past max_total: the name's own oldest origin goes, or (a new
    //  name) the name waited for longest.
    zc_waiters_add (waiters, "b", "o2");
    zc_waiters_add (waiters, "b", "o3");
    ZC_CHECK (zc_waiters_size (waiters) == 5);
    zc_waiters_add (waiters, "b", "o4");
    ZC_CHECK (zc_waiters_size (waiters) == 5);
    S_CHECK_TAKE (waiters, "b", 10, "o2,o3,o4");
    zc_waiters_add (waiters, "c", "o2");
    zc_waiters_add (waiters, "c", "o3");
    zc_waiters_add (waiters, "c", "o4");
    ZC_CHECK (zc_waiters_size (waiters) == 5);
    zc_waiters_add (waiters, "e", "o1");
    ZC_CHECK (!zc_waiters_has (waiters, "c") && zc_waiters_has (waiters, "d"));
    ZC_CHECK (zc_waiters_has (waiters, "e") && zc_waiters_size (waiters) == 2);
    zc_waiters_forget (waiters, "d");
    zc_waiters_forget (waiters, "nobody");
    ZC_CHECK (zc_waiters_size (waiters) == 1);
    zc_waiters_destroy (&waiters);
    zc_waiters_destroy (&waiters);
    //  Many origins for one name: each added and taken in constant time.
    waiters = zc_waiters_new (10, 100000);
    for (int index = 0; index < 20000; index++) {
        char origin [32];
        snprintf (origin, sizeof origin, "sim-%05d", index);
        zc_waiters_add (waiters, "n1", origin);
        zc_waiters_add (waiters, "n1", origin);
    }
    ZC_CHECK (zc_waiters_size (waiters) == 20000);
    zlist_t *first = zc_waiters_take (waiters, "n1", 5000);
    ZC_CHECK (zlist_size (first) == 5000 && streq (zlist_first (first), "sim-00000"));
    zlist_destroy (&first);
    zlist_t *rest = zc_waiters_take (waiters, "n1", SIZE_MAX);
    ZC_CHECK (zlist_size (rest) == 15000 && streq (zlist_first (rest), "sim-05000"));
    zlist_destroy (&rest);
    ZC_CHECK (!zc_waiters_has (waiters, "n1") && zc_waiters_size (waiters) == 0);
    zc_waiters_destroy (&waiters);
    if (verbose)
        printf ("# waiters: %s\n", zc_test_failures_? "failed": "ok");
    return ZC_TEST_END;
}
