/*  routes.h — a hub's routing table: for every node name, the links it
    can be reached through and the hub path behind each, and the best of
    them (the shortest path; the first learned among equals).

    A link is the hub's own object for a neighbour (a connected agent, a
    downstream hub, an uplink); the table only compares its address. The
    path of a route is the chain of hubs from the link to the node's own
    hub, "site>subsite"; a node connected to this hub has the path "".
    Routes never pass through this hub: a path naming it is refused (a
    loop), and so is a path longer than ZC_PATH_MAX_HUBS - 1 hubs.

    The table remembers which names' best route changed, so that the hub
    can tell its agents (the directory) and its neighbour hubs (ROUTES)
    in batches.
*/
#ifndef ZC_ROUTES_H
#define ZC_ROUTES_H
#include <czmq.h>
#include "wire.h"

typedef struct _zc_routes_t zc_routes_t;

//  'self_name' is this hub's name, for the loop check.
zc_routes_t *zc_routes_new (const char *self_name);
void zc_routes_destroy (zc_routes_t **self_p);
//  Keys need not be node names from now on (any C string: a hub's
//  interest, src/hubsub.c); paths are checked as ever.
void zc_routes_allow_any_key (zc_routes_t *self);

//  Sets the route to 'name' through 'link' (replacing that link's
//  previous route to it). Returns 0, or -1 when the path is refused (a
//  loop through this hub, too long, or not a path of names).
int zc_routes_set (zc_routes_t *self, const char *name, void *link, const char *path);
//  Withdraws the route to 'name' through 'link', if there is one (true
//  when there was).
bool zc_routes_withdraw (zc_routes_t *self, const char *name, void *link);
//  True when there is a route to 'name' through 'link'.
bool zc_routes_has (zc_routes_t *self, const char *name, void *link);
//  Withdraws every route through 'link' (a neighbour went away).
void zc_routes_drop_link (zc_routes_t *self, void *link);

//  The link of the best route to 'name', or NULL when there is none; with
//  'path' given, *path points at that route's path (valid until the
//  table changes).
void *zc_routes_best (zc_routes_t *self, const char *name, const char **path);
//  The names with a route through 'link' (a new zlist of char *, autofree).
zlist_t *zc_routes_names_via (zc_routes_t *self, void *link);
//  Every name with a route (a new zlist of char *, autofree, sorted).
zlist_t *zc_routes_names (zc_routes_t *self);
//  The names whose best route changed (appeared, went, or moved to
//  another link or path) since the last call: a new zlist of char *,
//  autofree, sorted; empty when none.
zlist_t *zc_routes_take_changes (zc_routes_t *self);
size_t zc_routes_size (zc_routes_t *self);

int zc_routes_test (bool verbose);
#endif
