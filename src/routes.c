/*  routes.c — a hub's routing table (see routes.h). */
#include "prelude.h"
#include "routes.h"
#include "target.h"
#include "testing.h"

//  One way to reach a name.
typedef struct {
    void *link;
    char path [ZC_VIA_MAX];
    int hubs;                   //  hubs on the path: its length
} s_route_t;

//  Every way to reach one name, and the best one as last reported.
typedef struct {
    zlistx_t *routes;           //  s_route_t (owned), in the order learned
    void *reported_link;        //  the best route when changes were last taken
    char reported_path [ZC_VIA_MAX];
} s_entry_t;

struct _zc_routes_t {
    char self_name [ZC_NAME_MAX + 1];
    bool any_key;               //  keys need not be node names
    zhashx_t *entries;          //  name -> s_entry_t (owned)
    zhashx_t *changed;          //  names whose best route may have changed
};

static void
s_route_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_entry_destroy (void **item)
{
    s_entry_t *entry = *item;
    zlistx_destroy (&entry->routes);
    free (entry);
    *item = NULL;
}

zc_routes_t *
zc_routes_new (const char *self_name)
{
    zc_routes_t *self = zc_calloc (1, sizeof *self);
    snprintf (self->self_name, sizeof self->self_name, "%s", self_name);
    self->entries = zhashx_new ();
    zhashx_set_destructor (self->entries, s_entry_destroy);
    self->changed = zhashx_new ();
    return self;
}

void
zc_routes_destroy (zc_routes_t **self_p)
{
    if (*self_p) {
        zc_routes_t *self = *self_p;
        zhashx_destroy (&self->entries);
        zhashx_destroy (&self->changed);
        free (self);
        *self_p = NULL;
    }
}

//  The number of hubs on a path, or -1 when it is not a path of valid
//  names, names this hub, or is longer than a route may be.
static int
s_path_hubs (zc_routes_t *self, const char *path)
{
    if (!*path)
        return 0;
    char copy [ZC_VIA_MAX];
    if (strlen (path) >= sizeof copy)
        return -1;
    strcpy (copy, path);
    int hubs = 0;
    for (char *name = copy, *next; name; name = next) {
        next = strchr (name, '>');
        if (next)
            *next++ = 0;
        if (!zc_name_valid (name) || streq (name, self->self_name))
            return -1;
        hubs++;
    }
    //  Advertised onwards, the path gets this hub in front of it.
    return hubs < ZC_PATH_MAX_HUBS? hubs: -1;
}

//  The best route of an entry: the fewest hubs, the first learned among
//  equals (so a route does not move for no reason). NULL when none.
static s_route_t *
s_best (s_entry_t *entry)
{
    s_route_t *best = NULL;
    for (s_route_t *route = zlistx_first (entry->routes); route; route = zlistx_next (entry->routes))
        if (!best || route->hubs < best->hubs)
            best = route;
    return best;
}

static s_route_t *
s_route_of (s_entry_t *entry, void *link)
{
    for (s_route_t *route = zlistx_first (entry->routes); route; route = zlistx_next (entry->routes))
        if (route->link == link)
            return route;
    return NULL;
}

static void
s_mark (zc_routes_t *self, const char *name)
{
    zhashx_update (self->changed, name, (void *) 1);
}

void
zc_routes_allow_any_key (zc_routes_t *self)
{
    self->any_key = true;
}

int
zc_routes_set (zc_routes_t *self, const char *name, void *link, const char *path)
{
    int hubs = s_path_hubs (self, path);
    if (hubs < 0 || (!self->any_key && !zc_name_valid (name)))
        return -1;
    s_entry_t *entry = zhashx_lookup (self->entries, name);
    if (!entry) {
        entry = zc_calloc (1, sizeof *entry);
        entry->routes = zlistx_new ();
        zlistx_set_destructor (entry->routes, s_route_destroy);
        zhashx_insert (self->entries, name, entry);
    }
    s_route_t *route = s_route_of (entry, link);
    if (!route) {
        route = zc_calloc (1, sizeof *route);
        route->link = link;
        zlistx_add_end (entry->routes, route);
    }
    snprintf (route->path, sizeof route->path, "%s", path);
    route->hubs = hubs;
    s_mark (self, name);
    return 0;
}

bool
zc_routes_withdraw (zc_routes_t *self, const char *name, void *link)
{
    s_entry_t *entry = zhashx_lookup (self->entries, name);
    s_route_t *route = entry? s_route_of (entry, link): NULL;
    if (!route)
        return false;
    zlistx_delete (entry->routes, zlistx_find (entry->routes, route));
    s_mark (self, name);
    return true;
}

bool
zc_routes_has (zc_routes_t *self, const char *name, void *link)
{
    s_entry_t *entry = zhashx_lookup (self->entries, name);
    return entry && s_route_of (entry, link);
}

void
zc_routes_drop_link (zc_routes_t *self, void *link)
{
    for (s_entry_t *entry = zhashx_first (self->entries); entry; entry = zhashx_next (self->entries)) {
        s_route_t *route = s_route_of (entry, link);
        if (route) {
            zlistx_delete (entry->routes, zlistx_find (entry->routes, route));
            s_mark (self, zhashx_cursor (self->entries));
        }
    }
}

void *
zc_routes_best (zc_routes_t *self, const char *name, const char **path)
{
    s_entry_t *entry = zhashx_lookup (self->entries, name);
    s_route_t *best = entry? s_best (entry): NULL;
    if (path)
        *path = best? best->path: NULL;
    return best? best->link: NULL;
}

zlist_t *
zc_routes_names (zc_routes_t *self)
{
    zlist_t *names = zlist_new ();
    zlist_autofree (names);
    for (s_entry_t *entry = zhashx_first (self->entries); entry; entry = zhashx_next (self->entries))
        if (zlistx_size (entry->routes))
            zlist_append (names, (void *) zhashx_cursor (self->entries));
    zlist_sort (names, NULL);
    return names;
}

zlist_t *
zc_routes_names_via (zc_routes_t *self, void *link)
{
    zlist_t *names = zlist_new ();
    zlist_autofree (names);
    for (s_entry_t *entry = zhashx_first (self->entries); entry; entry = zhashx_next (self->entries))
        if (s_route_of (entry, link))
            zlist_append (names, (void *) zhashx_cursor (self->entries));
    return names;
}

zlist_t *
zc_routes_take_changes (zc_routes_t *self)
{
    zlist_t *names = zlist_new ();
    zlist_autofree (names);
    zlistx_t *marked = zhashx_keys (self->changed);
    for (char *name = zlistx_first (marked); name; name = zlistx_next (marked)) {
        s_entry_t *entry = zhashx_lookup (self->entries, name);
        if (!entry)
            continue;
        s_route_t *best = s_best (entry);
        void *link = best? best->link: NULL;
        const char *path = best? best->path: "";
        if (link != entry->reported_link || strcmp (path, entry->reported_path) != 0) {
            zlist_append (names, name);
            entry->reported_link = link;
            snprintf (entry->reported_path, sizeof entry->reported_path, "%s", path);
        }
        if (!best)                      //  gone, and reported gone
            zhashx_delete (self->entries, name);
    }
    zlistx_destroy (&marked);
    zhashx_purge (self->changed);
    zlist_sort (names, NULL);
    return names;
}

size_t
zc_routes_size (zc_routes_t *self)
{
    size_t size = 0;
    for (s_entry_t *entry = zhashx_first (self->entries); entry; entry = zhashx_next (self->entries))
        size += zlistx_size (entry->routes) > 0;
    return size;
}

//  ---------------------------------------------------------------------
//  Self-test

//  The changed names as one string "a,b,".
static char *
s_changes_text (zc_routes_t *routes)
{
    zlist_t *names = zc_routes_take_changes (routes);
    char *text = zc_strdup ("");
    for (char *name = zlist_first (names); name; name = zlist_next (names)) {
        char *more = zsys_sprintf ("%s%s,", text, name);
        free (text);
        text = more;
    }
    zlist_destroy (&names);
    return text;
}

int
zc_routes_test (bool verbose)
{
    ZC_TEST_BEGIN;
    zc_routes_t *routes = zc_routes_new ("central");
    int agent, site, backup;            //  three links: their addresses
    const char *path = "unset";

    //  A local agent, and nodes behind a downstream hub.
    ZC_CHECK (zc_routes_set (routes, "n1", &agent, "") == 0);
    ZC_CHECK (zc_routes_set (routes, "web-1", &site, "site") == 0);
    ZC_CHECK (zc_routes_set (routes, "db-1", &site, "site>sub") == 0);
    ZC_CHECK (zc_routes_best (routes, "n1", &path) == &agent && streq (path, ""));
    ZC_CHECK (zc_routes_best (routes, "db-1", &path) == &site && streq (path, "site>sub"));
    ZC_CHECK (zc_routes_best (routes, "nobody", &path) == NULL && path == NULL);
    ZC_CHECK (zc_routes_size (routes) == 3);
    char *text = s_changes_text (routes);
    ZC_CHECK_STR (text, "db-1,n1,web-1,");
    free (text);
    text = s_changes_text (routes);
    ZC_CHECK_STR (text, "");
    free (text);

    //  Refused: a loop through this hub, a path too long, bad names.
    ZC_CHECK (zc_routes_set (routes, "x", &site, "site>central>sub") == -1);
    ZC_CHECK (zc_routes_set (routes, "x", &site, "central") == -1);
    ZC_CHECK (zc_routes_set (routes, "x", &site, "a>b>c>d>e>f") == 0);
    ZC_CHECK (zc_routes_set (routes, "y", &site, "a>b>c>d>e>f>g") == -1);
    ZC_CHECK (zc_routes_set (routes, "y", &site, "a>>b") == -1);
    ZC_CHECK (zc_routes_set (routes, "ALL", &site, "site") == -1);
    ZC_CHECK (zc_routes_best (routes, "y", NULL) == NULL);

    //  A second, longer route does not replace the best; it takes over
    //  when the best goes. Setting a route again changes nothing visible.
    ZC_CHECK (zc_routes_set (routes, "web-1", &backup, "other>site") == 0);
    ZC_CHECK (zc_routes_set (routes, "web-1", &site, "site") == 0);
    text = s_changes_text (routes);
    ZC_CHECK_STR (text, "x,");
    free (text);
    zc_routes_withdraw (routes, "web-1", &site);
    ZC_CHECK (zc_routes_best (routes, "web-1", &path) == &backup && streq (path, "other>site"));
    text = s_changes_text (routes);
    ZC_CHECK_STR (text, "web-1,");
    free (text);
    //  A shorter route wins.
    ZC_CHECK (zc_routes_set (routes, "web-1", &site, "site") == 0);
    ZC_CHECK (zc_routes_best (routes, "web-1", NULL) == &site);

    //  A link goes away: its routes go with it, once.
    zc_routes_drop_link (routes, &site);
    ZC_CHECK (zc_routes_best (routes, "db-1", NULL) == NULL);
    ZC_CHECK (zc_routes_best (routes, "web-1", NULL) == &backup);
    ZC_CHECK (zc_routes_best (routes, "n1", NULL) == &agent);
    text = s_changes_text (routes);
    ZC_CHECK_STR (text, "db-1,x,");
    free (text);
    zlist_t *names = zc_routes_names (routes);
    ZC_CHECK (zlist_size (names) == 2 && streq (zlist_first (names), "n1")
              && streq (zlist_next (names), "web-1"));
    zlist_destroy (&names);
    names = zc_routes_names_via (routes, &backup);
    ZC_CHECK (zlist_size (names) == 1 && streq (zlist_first (names), "web-1"));
    zlist_destroy (&names);
    names = zc_routes_names_via (routes, &site);
    ZC_CHECK (zlist_size (names) == 0);
    zlist_destroy (&names);
    zc_routes_withdraw (routes, "nobody", &site);       //  nothing to do
    zc_routes_withdraw (routes, "n1", &site);           //  not through that link
    ZC_CHECK (zc_routes_best (routes, "n1", NULL) == &agent);
    ZC_CHECK (zc_routes_size (routes) == 2);
    zc_routes_destroy (&routes);
    ZC_CHECK (routes == NULL);
    return ZC_TEST_END;
}
