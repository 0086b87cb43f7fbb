/*  hub.c — the hub's event loop: accept, authenticate, route, relay, and
    chain to parent hubs.

    Every message is attributed to the CURVE key it arrived with (User-Id
    set by our ZAP handler), looked up again in the current keyring, so a
    key removed from the keys directory stops at once. A key with role
    hub is a downstream hub, never a node.

    Routing is by name, through a table (src/routes.c) of the links each
    name is reachable through: an agent connected here, a downstream hub,
    or an uplink (a parent hub this hub dials). Hubs tell each other what
    they reach with ROUTES messages, in both directions, so every hub's
    directory holds every node (agents that subscribe to it get it); a
    hub never advertises a route back to the link it learned it from. A message goes out once per next hop with the
    targets behind that hop (one copy per agent at the last hub), never
    back out of the link it came in on; names nobody advertised go to the
    first live uplink, and a hub without one answers NOROUTE and remembers
    who waits for the name.

    The hub keeps only soft state: routes, the directory it serves and
    which origins wait for which absent names.
*/
#include <errno.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "prelude.h"
#include "hub.h"
#include "daemon.h"
#include "directory.h"
#include "facts.h"
#include "flow.h"
#include "hubctl.h"
#include "hubsub.h"
#include "keys.h"
#include "log.h"
#include "routes.h"
#include "waiters.h"
#include "subject.h"
#include "testbed.h"
#include "testing.h"
#include "uplink.h"
#include "wire.h"
#include "zap.h"
#include "zfd.h"

#define S_MAX_WAITED_NAMES   10000      //  absent names remembered
#define S_MAX_WAITERS        200000     //  origins remembered, over all names
#define S_WAKE_BYTES         1024       //  budget counted per origin woken
#define S_DIRECTORY_FLUSH_MS 100        //  how often directory and route changes go out
#define S_RECV_BATCH         256        //  messages taken per turn of the loop
#define S_LISTEN_BACKLOG     4096       //  connections waiting to be accepted
#define S_FEW_DESCRIPTORS    4096       //  below this limit on open files, the hub warns
#define S_MAX_ROUTES_BATCH   100        //  entries per ROUTES message ...
#define S_MAX_ENTRIES_BYTES  (64u << 10) //  ... and bytes of entries per ROUTES or NODES message
#define S_STRIKES_MAX        100        //  malformed messages from one key ...
#define S_STRIKES_WINDOW_MS  10000      //  ... within this long ...
#define S_SUSPEND_MS         60000      //  ... keep it out this long
#define S_DUPLICATE_LOG_MS   60000      //  a name connected twice is logged this often
#define S_BUDGET_LOG_MS      60000      //  a peer over its budget is logged this often
#define S_MAX_FRAME          (8u << 20) //  bytes a peer may send in one message: large payloads are
                                        //  chunked (v3); this leaves room for a REQ to 200,000 targets


//  A neighbour routes point at: an agent or a downstream hub on the
//  ROUTER, or an uplink.
typedef enum { S_LINK_AGENT, S_LINK_HUB, S_LINK_UPLINK } s_link_kind_t;

typedef struct {
    s_link_kind_t kind;
    char name [ZC_NAME_SIZE];
    bool routes_lost;           //  a ROUTES to it was dropped: send it all again
    zhashx_t *full_seen;        //  while a full table from it comes in batches: its names
} s_link_t;

//  A peer on the ROUTER, keyed by its CURVE public key.
typedef struct {
    s_link_t link;              //  first: a peer is a link
    zc_hub_t *hub;
    zc_flow_t *flow;            //  what we send it: bulk behind small messages, its budget
    int64_t budget_logged;      //  monotonic ms its budget was last logged full
    char public_txt [41];
    zframe_t *routing_id;       //  current route back to it
    char address [64];          //  where that connection comes from ("" when unknown)
    int64_t duplicate_logged;   //  monotonic ms a second connection was last logged
    uint64_t last_heard;        //  monotonic ms
    bool online;                //  said HELLO: it is routed to
    bool link_lost;             //  a send found its connection closed
    uint32_t strikes;           //  malformed messages since strikes_since
    int64_t strikes_since;      //  monotonic ms
    int64_t suspended_until;    //  monotonic ms; its traffic is dropped until then
    void *hub_handle;           //  a hub: in the hub's list of them
    uint64_t since;             //  wall seconds it came online
} s_peer_t;

//  A parent hub this hub dials (hub/uplink).
typedef struct {
    s_link_t link;              //  first; kind S_LINK_UPLINK
    zc_uplink_t *uplink;
    zc_hub_t *hub;
    int64_t budget_logged;      //  monotonic ms its budget was last logged full
} s_parent_t;

struct _zc_hub_t {
    zc_config_t *config;
    zloop_t *loop;
    zsock_t *router;
    zc_zap_t *zap;
    zc_zfd_t *zap_reader;       //  its socket, read when it has a request
    zc_daemon_t *daemon;        //  signals and the trusted keys
    zcert_t *cert;
    zhashx_t *peers;            //  public key -> s_peer_t (owned)
    zlist_t *parents;           //  s_parent_t (owned), in the order configured
    zc_routes_t *routes;
    zc_hubsub_t *hubsub;        //  pub/sub: interest, PUBs, retained messages
    zhashx_t *advertise;        //  names whose route changed since the last ROUTES
    zc_directory_t *directory;  //  what agents are told (NODES)
    zc_waiters_t *waiters;      //  who waits for absent names
    zlistx_t *hub_peers;        //  the peers that are hubs (s_peer_t, also in peers)
    zc_log_once_t *logged;      //  "reason:key" already logged once
    zc_flow_pool_t pool;        //  what all links hold (total_budget)
    zc_hubctl_t *ctl;           //  the control socket and metrics (hubctl.h)
    int timers [2];
    bool started;               //  zc_hub_new succeeded (the stop line is logged)
    struct {
        uint64_t malformed, unknown_key, bad_hello, not_hello, noroute, forwarded, dropped,
                 suspended, duplicate, over_budget, refused;
    } count;
};

static void
s_peer_destroy (void **item)
{
    s_peer_t *peer = *item;
    if (peer->hub_handle)
        zlistx_delete (peer->hub->hub_peers, peer->hub_handle);
    zc_flow_destroy (&peer->flow);
    zframe_destroy (&peer->routing_id);
    zhashx_destroy (&peer->link.full_seen);
    free (peer);
    *item = NULL;
}

static uint64_t
s_wall_seconds (void)
{
    return (uint64_t) time (NULL);
}

//  ---------------------------------------------------------------------
//  Sending

//  The flow's way out to a peer: its current connection.
static int
s_peer_sink (zmsg_t **frames_p, void *arg)
{
    s_peer_t *peer = arg;
    zmsg_pushmem (*frames_p, zframe_data (peer->routing_id), zframe_size (peer->routing_id));
    if (zmsg_send (frames_p, peer->hub->router) == 0)
        return 0;
    int error = errno;
    zmsg_destroy (frames_p);
    if (error == EHOSTUNREACH) {
        peer->last_heard = 0;
        peer->link_lost = true;
    }
    errno = error;
    return -1;
}

//  A link would not take a message: over its budget (counted, logged
//  once a minute per link: its sender retries), or gone.
static void
s_refused (zc_hub_t *self, s_link_t *link)
{
    int error = errno;
    if (error != ENOBUFS) {
        if (error != EHOSTUNREACH)
            self->count.dropped++;
        return;
    }
    self->count.over_budget++;
    zc_flow_t *flow = link->kind == S_LINK_UPLINK? zc_uplink_flow (((s_parent_t *) link)->uplink)
                    : ((s_peer_t *) link)->flow;
    int64_t *logged = link->kind == S_LINK_UPLINK? &((s_parent_t *) link)->budget_logged
                    : &((s_peer_t *) link)->budget_logged;
    int64_t now = zclock_mono ();
    if (*logged && now - *logged < S_BUDGET_LOG_MS) {
        errno = error;
        return;
    }
    *logged = now;
    bool pool_full = self->pool.held + ZC_WIRE_MAX_WHOLE > self->pool.limit / 8 * 7;
    zc_warn ("%s %s is not taking messages fast enough: %zu bytes on their way to it, %zu queued;"
             " messages for it are refused over %s (senders retry; logged once a minute)",
             link->kind == S_LINK_AGENT? "node": "hub", link->name, zc_flow_in_flight (flow),
             zc_flow_queued (flow), pool_full? "the hub's total_budget"
             : link->kind == S_LINK_AGENT? "peer_budget": "hub_link_budget");
    errno = error;
}

//  Sends encoded frames (no routing id) over a link through its flow;
//  destroys them. 0, or -1 when the link would not take them.
static int
s_send_frames (zc_hub_t *self, s_link_t *link, zmsg_t **frames_p, bool bulk)
{
    int rc = link->kind == S_LINK_UPLINK
           ? zc_uplink_send_frames (((s_parent_t *) link)->uplink, frames_p, bulk)
           : zc_flow_send (((s_peer_t *) link)->flow, frames_p, bulk, zclock_mono ());
    if (rc != 0)
        s_refused (self, link);
    return rc;
}

//  Sends a message over a link and destroys it. Returns 0, or -1 when
//  the link would not take it: a vanished peer is then marked silent, so
//  the next heartbeat check takes it offline (never freed under a
//  caller's feet); a link over its budget loses the message, which its
//  sender retries.
static int
s_send_link (zc_hub_t *self, s_link_t *link, zc_wire_t **msg_p)
{
    bool bulk;
    zmsg_t *frames = zc_wire_encode_take (msg_p, &bulk);
    return frames? s_send_frames (self, link, &frames, bulk): -1;
}

static int
s_send_to (zc_hub_t *self, s_peer_t *peer, zc_wire_t **msg_p)
{
    return s_send_link (self, &peer->link, msg_p);
}

//  The first uplink that is up, or NULL.
static s_parent_t *
s_live_parent (zc_hub_t *self)
{
    for (s_parent_t *parent = zlist_first (self->parents); parent; parent = zlist_next (self->parents))
        if (zc_uplink_is_up (parent->uplink))
            return parent;
    return NULL;
}

static void s_route (zc_hub_t *self, s_link_t *arrival, zc_wire_t *msg);

//  Sends a message this hub makes (NOROUTE, PRESENCE) towards its 'to',
//  like a relayed one; destroys it.
static void
s_send_routed (zc_hub_t *self, zc_wire_t **msg_p)
{
    snprintf ((*msg_p)->from, sizeof (*msg_p)->from, "%s", self->config->name);
    s_route (self, NULL, *msg_p);
    zc_wire_destroy (msg_p);
}

//  ---------------------------------------------------------------------
//  Who waits for absent names

//  Tells origins that wait for 'name' that it is reachable now: all of
//  them, or, when it is a link of ours, as many as half its budget has
//  room for (the rest as it drains: s_on_credit, the heartbeat).
static void
s_wake_waiters (zc_hub_t *self, const char *name)
{
    if (!zc_waiters_has (self->waiters, name))
        return;
    size_t count = SIZE_MAX;
    s_link_t *link = zc_routes_best (self->routes, name, NULL);
    if (link && link->kind != S_LINK_UPLINK) {
        s_peer_t *peer = (s_peer_t *) link;
        size_t budget = link->kind == S_LINK_HUB? self->config->hub_link_budget: self->config->peer_budget;
        size_t held = zc_flow_in_flight (peer->flow) + zc_flow_queued (peer->flow);
        if (held >= budget / 2)
            return;
        count = (budget / 2 - held) / S_WAKE_BYTES + 1;
    }
    zlist_t *origins = zc_waiters_take (self->waiters, name, count);
    for (char *origin = zlist_first (origins); origin; origin = zlist_next (origins)) {
        zc_wire_t *msg = zc_wire_new (ZC_MSG_PRESENCE);
        msg->online = 1;
        zlist_append (msg->to, origin);
        zlist_append (msg->names, (void *) name);
        s_send_routed (self, &msg);
    }
    zlist_destroy (&origins);
}

//  Remembers that 'origin' waits for the absent 'name' (bounded:
//  waiters.h; origins also try again on their own, see PROTOCOL.md).
static void
s_add_waiter (zc_hub_t *self, const char *name, const char *origin)
{
    zc_waiters_add (self->waiters, name, origin);
}

//  Sends a NOROUTE for 'names' of message 'id' back to its origin, and
//  remembers that the origin waits for them.
static void
s_noroute (zc_hub_t *self, const char *origin, const zc_id_t *id, zlist_t *names)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_NOROUTE);
    msg->id = *id;
    zlist_append (msg->to, (void *) origin);
    for (char *name = zlist_first (names); name; name = zlist_next (names)) {
        zlist_append (msg->names, name);
        s_add_waiter (self, name, origin);
    }
    self->count.noroute += zlist_size (names);
    s_send_routed (self, &msg);
}

//  ---------------------------------------------------------------------
//  Routes and the directory

//  The hub path from here to a node whose route has 'path': "us>path".
static void
s_via (zc_hub_t *self, const char *path, char via [ZC_VIA_MAX])
{
    snprintf (via, ZC_VIA_MAX, "%s%s%s", self->config->name, *path? ">": "", path);
}

//  The directory entry of 'name' as the routes have it now (its facts
//  left out: the directory keeps them). Returns its best link, or NULL.
static void *
s_directory_entry (zc_hub_t *self, const char *name, zc_node_entry_t *entry)
{
    const char *path;
    void *link = zc_routes_best (self->routes, name, &path);
    const zc_node_entry_t *known = zc_directory_lookup (self->directory, name);
    *entry = (zc_node_entry_t) { .online = link != NULL, .last_seen = s_wall_seconds () };
    snprintf (entry->name, sizeof entry->name, "%s", name);
    if (link)
        s_via (self, path, entry->via);
    else
    if (known)
        snprintf (entry->via, sizeof entry->via, "%s", known->via);
    return link;
}

//  What node 'name' advertises (a facts set) came, from the node itself
//  or along its best route: the directory keeps it (bounded: at most
//  ZC_FACTS_MAX_SIZE per node), and when it changed, agents that follow
//  the directory and neighbour hubs learn of it at the next flush.
static void
s_node_facts (zc_hub_t *self, const char *name, const uint8_t *facts, size_t size)
{
    const zc_node_entry_t *known = zc_directory_lookup (self->directory, name);
    if (!facts || !size
    ||  (known && known->facts_size == size && memcmp (known->facts, facts, size) == 0))
        return;
    zc_node_entry_t entry;
    if (known)
        entry = *known;
    else
        s_directory_entry (self, name, &entry);
    entry.facts = facts;
    entry.facts_size = size;
    zc_directory_update (self->directory, &entry);
    zhashx_update (self->advertise, name, (void *) 1);
}

//  Takes the names whose best route changed: the directory and waiting
//  origins learn of it now, neighbour hubs at the next flush.
static void
s_routes_changed (zc_hub_t *self)
{
    zlist_t *names = zc_routes_take_changes (self->routes);
    for (char *name = zlist_first (names); name; name = zlist_next (names)) {
        zc_node_entry_t entry;
        void *link = s_directory_entry (self, name, &entry);
        zc_directory_update (self->directory, &entry);
        zhashx_update (self->advertise, name, (void *) 1);
        if (link) {
            zc_debug ("route to %s via %s", name, entry.via);
            s_wake_waiters (self, name);
        }
    }
    zlist_destroy (&names);
}

//  Appends to 'entries' what 'to' should know of 'name': reachable
//  through us, or not (also when our best route goes through 'to'
//  itself: a route is never advertised back where it came from).
static void
s_route_entry (zc_hub_t *self, const char *name, s_link_t *to, zc_node_entry_t *entry)
{
    const char *path;
    s_link_t *link = zc_routes_best (self->routes, name, &path);
    memset (entry, 0, sizeof *entry);
    snprintf (entry->name, sizeof entry->name, "%s", name);
    entry->last_seen = s_wall_seconds ();
    entry->online = link && link != to;
    if (entry->online) {
        s_via (self, path, entry->via);
        //  With what the node advertises, when we know it.
        const zc_node_entry_t *known = zc_directory_lookup (self->directory, name);
        if (known) {
            entry->facts = known->facts;
            entry->facts_size = known->facts_size;
        }
    }
}

//  How many of 'count' entries go in one ROUTES or NODES message: at
//  most 'most', and as many as fit S_MAX_ENTRIES_BYTES (at least one).
static size_t
s_batch_size (const zc_node_entry_t *entries, size_t count, size_t most)
{
    size_t batch = 0, bytes = 0;
    while (batch < count && batch < most) {
        //  An entry's bytes at most: name, online, last_seen, via, facts.
        size_t size = 1 + ZC_NAME_MAX + 1 + 8 + 1 + strlen (entries [batch].via) + ZC_PATH_MAX_HUBS
                    + 2 + entries [batch].facts_size;
        if (batch && bytes + size > S_MAX_ENTRIES_BYTES)
            break;
        bytes += size;
        batch++;
    }
    return batch;
}

//  Sends ROUTES for 'names' to a neighbour hub, in batches; 'full' says
//  they are all we reach (the receiver forgets the rest).
static void
s_send_routes (zc_hub_t *self, s_link_t *to, zlist_t *names, bool full)
{
    size_t total = zlist_size (names);
    zc_node_entry_t *entries = zc_calloc (total? total: 1, sizeof *entries);
    size_t count = 0;
    for (char *name = zlist_first (names); name; name = zlist_next (names)) {
        s_route_entry (self, name, to, &entries [count]);
        //  A full table lists only what is reachable.
        if (entries [count].online || !full)
            count++;
    }
    size_t sent = 0;
    do {
        size_t batch = s_batch_size (entries + sent, count - sent, S_MAX_ROUTES_BATCH);
        zc_wire_t *msg = zc_wire_new (ZC_MSG_ROUTES);
        if (full)
            msg->flags |= ZC_FLAG_FULL | (sent + batch < count? ZC_FLAG_MORE: 0);
        msg->payload = zc_wire_nodes_payload (entries + sent, batch);
        if (s_send_link (self, to, &msg) != 0)
            to->routes_lost = true;
        sent += batch;
    } while (sent < count);
    free (entries);
}

//  The neighbour hubs: downstream hubs online, and uplinks up.
static zlist_t *
s_neighbour_hubs (zc_hub_t *self)
{
    zlist_t *hubs = zlist_new ();
    for (s_peer_t *peer = zlistx_first (self->hub_peers); peer; peer = zlistx_next (self->hub_peers))
        if (peer->online)
            zlist_append (hubs, &peer->link);
    for (s_parent_t *parent = zlist_first (self->parents); parent; parent = zlist_next (self->parents))
        if (zc_uplink_is_up (parent->uplink))
            zlist_append (hubs, &parent->link);
    return hubs;
}

//  Tells a neighbour hub everything we reach.
static void
s_send_full_routes (zc_hub_t *self, s_link_t *to)
{
    zlist_t *names = zc_routes_names (self->routes);
    s_send_routes (self, to, names, true);
    zlist_destroy (&names);
}

//  A ROUTES message from a neighbour hub: what it reaches (a full table,
//  or changes). Entries whose path does not start with that hub, or that
//  loop through us, are refused.
static void
s_on_routes (zc_hub_t *self, s_link_t *from, zc_wire_t *msg)
{
    zc_node_entry_t *entries = NULL;
    size_t count = 0;
    if (zc_wire_nodes_payload_decode (msg->payload, &entries, &count) != 0) {
        self->count.malformed++;
        zc_warn ("dropped a malformed ROUTES from hub %s", from->name);
        return;
    }
    //  A full table replaces what came from that hub once its last batch
    //  is in: until then nothing is withdrawn, nor reported.
    bool full = (msg->flags & ZC_FLAG_FULL) != 0, more = full && (msg->flags & ZC_FLAG_MORE);
    if (full && !from->full_seen)
        from->full_seen = zhashx_new ();
    size_t prefix = strlen (from->name);
    for (size_t index = 0; index < count; index++) {
        zc_node_entry_t *entry = &entries [index];
        if (!entry->online) {
            zc_routes_withdraw (self->routes, entry->name, from);
            continue;
        }
        bool through_sender = strncmp (entry->via, from->name, prefix) == 0
                           && (entry->via [prefix] == 0 || entry->via [prefix] == '>');
        if (through_sender && zc_routes_set (self->routes, entry->name, from, entry->via) == 0) {
            if (full)
                zhashx_update (from->full_seen, entry->name, (void *) 1);
            //  What the node advertises, taken along its best route only:
            //  two routes never take turns with what they say.
            if (zc_routes_best (self->routes, entry->name, NULL) == from)
                s_node_facts (self, entry->name, entry->facts, entry->facts_size);
        }
        else {
            char what [200], line [700];
            snprintf (what, sizeof what, "route:%s:%s", from->name, entry->name);
            snprintf (line, sizeof line, "refused the route to %s via %s from hub %s (a loop, or not through it)",
                      entry->name, entry->via, from->name);
            zc_warn_once (self->logged, what, "%s", line);
            zc_routes_withdraw (self->routes, entry->name, from);
        }
    }
    free (entries);
    if (full && !more) {
        zlist_t *names = zc_routes_names_via (self->routes, from);
        for (char *name = zlist_first (names); name; name = zlist_next (names))
            if (!zhashx_lookup (from->full_seen, name))
                zc_routes_withdraw (self->routes, name, from);
        zlist_destroy (&names);
        zhashx_destroy (&from->full_seen);
    }
    if (!more)
        s_routes_changed (self);
}

//  ---------------------------------------------------------------------
//  Peers

//  NODES payloads for 'count' entries, in batches of at most
//  S_MAX_ENTRIES_BYTES (a new list of frames; one, empty, for none).
static zlist_t *
s_nodes_payloads (const zc_node_entry_t *entries, size_t count)
{
    zlist_t *payloads = zlist_new ();
    size_t sent = 0;
    do {
        size_t batch = s_batch_size (entries + sent, count - sent, SIZE_MAX);
        zframe_t *payload = zc_wire_nodes_payload (entries + sent, batch);
        if (payload)
            zlist_append (payloads, payload);
        sent += batch;
    } while (sent < count);
    return payloads;
}

//  Sends the whole directory to an agent, in batches flagged FULL (and
//  MORE but the last).
static void
s_send_directory (zc_hub_t *self, s_peer_t *peer)
{
    size_t count;
    zc_node_entry_t *entries = zc_directory_entries (self->directory, &count);
    zlist_t *payloads = s_nodes_payloads (entries, count);
    free (entries);
    zframe_t *payload;
    while ((payload = zlist_pop (payloads))) {
        zc_wire_t *msg = zc_wire_new (ZC_MSG_NODES);
        msg->flags |= ZC_FLAG_FULL | (zlist_size (payloads)? ZC_FLAG_MORE: 0);
        msg->payload = payload;
        s_send_to (self, peer, &msg);
    }
    zlist_destroy (&payloads);
}

//  A peer said HELLO: an agent becomes a route and is welcomed (a PONG
//  flagged FULL: its link is up; it gets the directory when it subscribes
//  to it); a downstream hub gets our routes.
//  Publishes $sys.online.NAME or $sys.offline.NAME for one of our agents.
static void
s_presence (zc_hub_t *self, s_peer_t *peer, bool online, const char *reason)
{
    char subject [ZC_NAME_SIZE + 16], data [ZC_NAME_SIZE * 2 + 200];
    snprintf (subject, sizeof subject, "$sys.%s.%s", online? "online": "offline", peer->link.name);
    if (zc_subject_check (subject, false, NULL) != 0) {
        //  A name such as "a..b" or "web." makes no subject.
        zc_debug ("no presence for %s: its name is not a subject's tokens", peer->link.name);
        return;
    }
    snprintf (data, sizeof data, "{\"node\":\"%s\",\"hub\":\"%s\",\"online\":%s,\"reason\":\"%s\"}",
              peer->link.name, self->config->name, online? "true": "false", reason);
    zc_hubsub_publish (self->hubsub, subject, data);
}

static void
s_peer_online (zc_hub_t *self, s_peer_t *peer, const zc_id_t *hello)
{
    bool was_online = peer->online;
    if (!peer->online)
        peer->since = s_wall_seconds ();
    if (!peer->online)
        zc_info ("%s %s is online", peer->link.kind == S_LINK_HUB? "hub": "node", peer->link.name);
    peer->online = true;
    peer->link_lost = false;
    if (peer->link.kind == S_LINK_HUB) {
        s_send_full_routes (self, &peer->link);
        zc_hubsub_hub_up (self->hubsub, &peer->link);
    }
    else {
        if (!was_online)
            s_presence (self, peer, true, "connected");
        zc_routes_set (self->routes, peer->link.name, &peer->link, "");
        s_routes_changed (self);
        zc_wire_t *welcome = zc_wire_new (ZC_MSG_PONG);
        welcome->flags |= ZC_FLAG_FULL;
        welcome->id = *hello;           //  the HELLO it answers
        s_send_to (self, peer, &welcome);
        //  Also when its route did not change: a send to it may have
        //  failed on a connection that died meanwhile.
        s_wake_waiters (self, peer->link.name);
    }
}

//  Takes a peer offline: its routes go, and with an agent its directory
//  entry goes offline. 'why' is logged.
static void
s_peer_withdraw (zc_hub_t *self, s_peer_t *peer, const char *why)
{
    if (peer->online)
        zc_info ("%s %s is offline (%s)", peer->link.kind == S_LINK_HUB? "hub": "node",
                 peer->link.name, why);
    zc_routes_drop_link (self->routes, &peer->link);
    s_routes_changed (self);
    if (peer->link.kind == S_LINK_HUB)
        zc_hubsub_hub_down (self->hubsub, &peer->link);
    else {
        zc_hubsub_agent_gone (self->hubsub, peer->link.name);
        if (peer->online)
            s_presence (self, peer, false, why);
    }
}

//  The same, and the peer is forgotten (freed).
static void
s_peer_offline (zc_hub_t *self, s_peer_t *peer, const char *why)
{
    s_peer_withdraw (self, peer, why);
    zhashx_delete (self->peers, peer->public_txt);
}

//  ---------------------------------------------------------------------
//  Relaying

//  The link a group of targets goes to, with its targets.
typedef struct {
    s_link_t *link;
    zlist_t *targets;
} s_hop_t;

static s_hop_t *
s_hop_for (zlist_t *hops, s_link_t *link)
{
    for (s_hop_t *hop = zlist_first (hops); hop; hop = zlist_next (hops))
        if (hop->link == link)
            return hop;
    s_hop_t *hop = zc_calloc (1, sizeof *hop);
    hop->link = link;
    hop->targets = zlist_new ();
    zlist_append (hops, hop);
    return hop;
}

//  Sends msg to one next hop with the given targets; -1 when the link
//  refused it.
static int
s_forward (zc_hub_t *self, zc_wire_t *msg, s_link_t *link, zlist_t *targets)
{
    zlist_t *original = msg->to;
    msg->to = targets;
    zmsg_t *frames = zc_wire_encode (msg);
    msg->to = original;
    if (!frames) {
        errno = EINVAL;
        return -1;
    }
    int rc = s_send_frames (self, link, &frames, zc_wire_is_bulk (msg));
    if (rc == 0)
        self->count.forwarded++;
    return rc;
}

//  Forwards a routed message: one copy per next hop, with the targets
//  behind it (one per agent at the last hub). Names nobody advertised go
//  to the first live uplink, unless the message came down from one; the
//  rest get a NOROUTE (not for NOROUTE and PRESENCE themselves).
//  'arrival' is the link it came in on, NULL for the hub's own messages.
//  True when the sender of 'msg' waits for its absent targets (and is
//  told when they appear).
static bool
s_waits (zc_wire_t *msg)
{
    return msg->type != ZC_MSG_NOROUTE && msg->type != ZC_MSG_PRESENCE && *msg->from;
}

static void
s_route (zc_hub_t *self, s_link_t *arrival, zc_wire_t *msg)
{
    if (msg->hops <= 1) {
        self->count.dropped++;
        return;
    }
    msg->hops--;
    zlist_t *hops = zlist_new ();
    zlist_t *absent = zlist_new ();
    zlist_t *one = zlist_new ();
    s_parent_t *parent = arrival && arrival->kind == S_LINK_UPLINK? NULL: s_live_parent (self);
    for (char *target = zlist_first (msg->to); target; target = zlist_next (msg->to)) {
        //  Never back out of the hub link it came in on (an agent may
        //  send a job to itself).
        s_link_t *link = zc_routes_best (self->routes, target, NULL);
        if (!link || (link == arrival && link->kind != S_LINK_AGENT)) {
            link = parent && &parent->link != arrival? &parent->link: NULL;
            //  Up to the parent, which answers NOROUTE when it knows no
            //  better; but the name may appear below us while the parent
            //  is out of reach: then we tell the sender ourselves.
            if (link && s_waits (msg))
                s_add_waiter (self, target, msg->from);
        }
        if (!link)
            zlist_append (absent, target);
        else
        if (link->kind == S_LINK_AGENT) {
            //  One copy per agent, at once (a broadcast reaches
            //  thousands). Gone, or over its budget: the origin is told
            //  NOROUTE and waits without spending its retries (a chunk
            //  or a chunk's ACK is the transfer's business: bulk.h).
            zlist_append (one, target);
            if (s_forward (self, msg, link, one) != 0
            &&  (errno == EHOSTUNREACH || (errno == ENOBUFS && !(msg->flags & ZC_FLAG_CHUNK))))
                zlist_append (absent, target);
            zlist_purge (one);
        }
        else
            zlist_append (s_hop_for (hops, link)->targets, target);
    }
    //  One copy per hub link, with the targets behind it.
    s_hop_t *hop;
    while ((hop = zlist_pop (hops))) {
        s_forward (self, msg, hop->link, hop->targets);
        zlist_destroy (&hop->targets);
        free (hop);
    }
    if (zlist_size (absent) && s_waits (msg))
        s_noroute (self, msg->from, &msg->id, absent);
    zlist_destroy (&one);
    zlist_destroy (&absent);
    zlist_destroy (&hops);
}

//  A peer sent something malformed. Beyond S_STRIKES_MAX within
//  S_STRIKES_WINDOW_MS it is treated like a revoked key for S_SUSPEND_MS:
//  its traffic is dropped, its routes withdrawn and its new handshakes
//  refused. (An established connection cannot be closed: NOTES.)
static void
s_strike (zc_hub_t *self, s_peer_t *peer)
{
    self->count.malformed++;
    int64_t now = zclock_mono ();
    if (now - peer->strikes_since > S_STRIKES_WINDOW_MS) {
        peer->strikes = 0;
        peer->strikes_since = now;
    }
    if (++peer->strikes <= S_STRIKES_MAX)
        return;
    peer->suspended_until = now + S_SUSPEND_MS;
    zc_zap_suspend (self->zap, peer->public_txt, peer->suspended_until);
    zc_warn ("suspended the key of %s for %d s: more than %d malformed messages in %d s",
             peer->link.name, S_SUSPEND_MS / 1000, S_STRIKES_MAX, S_STRIKES_WINDOW_MS / 1000);
    //  Offline, but kept: its suspension is in it, and the next frame on
    //  its connection must find it (a peer offline is freed otherwise).
    peer->strikes = 0;
    if (peer->online) {
        s_peer_withdraw (self, peer, "suspended");
        peer->online = false;
        zc_flow_clear (peer->flow);
    }
}

static zc_hub_tap_fn *s_tap;

void
zc_hub_set_tap (zc_hub_tap_fn *tap)
{
    s_tap = tap;
}

//  A message to relay, from an agent or a neighbour hub. An agent's
//  message gets the agent's authenticated name as 'from'; a hub's keeps
//  the stamp of the first hub, and must have one.
static void
s_relay (zc_hub_t *self, s_link_t *arrival, zc_wire_t *msg)
{
    if (zlist_size (msg->to) == 0 || (arrival->kind != S_LINK_AGENT && !*msg->from)) {
        if (arrival->kind == S_LINK_UPLINK)
            self->count.malformed++;
        else
            s_strike (self, (s_peer_t *) arrival);     //  a peer's link is its first member
        return;
    }
    if (arrival->kind == S_LINK_AGENT)
        snprintf (msg->from, sizeof msg->from, "%s", arrival->name);
    zc_wire_t *extra = s_tap? s_tap (msg): NULL;
    s_route (self, arrival, msg);
    if (extra)
        s_route (self, arrival, extra);
    zc_wire_destroy (&extra);
}

//  The types a hub relays by name.
static bool
s_is_routed (uint8_t type)
{
    return type == ZC_MSG_REQ || type == ZC_MSG_ACK || type == ZC_MSG_STARTED
        || type == ZC_MSG_REPLY || type == ZC_MSG_PONG || type == ZC_MSG_STREAM
        || type == ZC_MSG_CANCEL || type == ZC_MSG_ERROR || type == ZC_MSG_PING
        || type == ZC_MSG_NOROUTE || type == ZC_MSG_PRESENCE || type == ZC_MSG_STORED;
}

//  Answers a message on the connection it came on (which need not be the
//  peer's route); destroys the answer.
static void
s_answer (zc_hub_t *self, zframe_t *arrival, zc_wire_t **msg_p)
{
    if (zc_wire_send (msg_p, self->router, arrival) != 0 && errno != EHOSTUNREACH)
        self->count.dropped++;
}

//  A flow-control mark from a peer (echoed at once, on the connection
//  it came on) or the echo of one of ours (only from its route). A peer
//  that drained below half its budget wakes some of who waited for it.
static void
s_on_credit (zc_hub_t *self, s_peer_t *peer, zc_wire_t *msg, zframe_t *arrival, bool new_connection)
{
    if (!(msg->flags & ZC_FLAG_ECHO)) {
        zc_wire_t *echo = zc_flow_echo_of (msg);
        s_answer (self, arrival, &echo);
        return;
    }
    if (new_connection)
        return;
    zc_flow_on_echo (peer->flow, msg->credit, zclock_mono ());
    if (peer->online && peer->link.kind == S_LINK_AGENT)
        s_wake_waiters (self, peer->link.name);
}

static bool
s_is_pubsub (uint8_t type)
{
    return type == ZC_MSG_PUB || type == ZC_MSG_SUB || type == ZC_MSG_UNSUB || type == ZC_MSG_INTEREST;
}

//  A PUB, SUB, UNSUB or INTEREST from a link: SUB and UNSUB only from
//  agents, INTEREST only from hubs. What is refused is counted, logged
//  once per reason and link, and an agent is told why.
static void
s_on_pubsub (zc_hub_t *self, s_link_t *from, zc_wire_t *msg)
{
    bool from_hub = from->kind != S_LINK_AGENT;
    const char *problem = NULL;
    if (msg->type == ZC_MSG_INTEREST) {
        if (from_hub && zc_hubsub_on_interest (self->hubsub, from, msg) != 0) {
            self->count.malformed++;
            char what [80];
            snprintf (what, sizeof what, "interest:%s", from->name);
            zc_warn_once (self->logged, what, "dropped a malformed INTEREST from hub %s (logged once per hub)",
                          from->name);
            return;
        }
        if (!from_hub)
            problem = "INTEREST is for hubs";
    }
    else
    if (msg->type == ZC_MSG_PUB) {
        if (!from_hub)
            snprintf (msg->from, sizeof msg->from, "%s", from->name);
        //  A test tool's tap (zc_hub_set_tap) sees PUBs too.
        zc_wire_t *extra = s_tap? s_tap (msg): NULL;
        zc_hubsub_on_pub (self->hubsub, from, from_hub, msg, &problem);
        if (extra && !problem)
            zc_hubsub_on_pub (self->hubsub, from, from_hub, extra, &problem);
        zc_wire_destroy (&extra);
    }
    else
    if (from_hub)
        problem = "SUB and UNSUB are for nodes";
    else {
        //  The directory goes to agents that subscribe to it: all of it
        //  when they start to, or say all they subscribe to again.
        bool had = zc_hubsub_agent_has (self->hubsub, from->name, ZC_SUBJECT_DIRECTORY);
        zc_hubsub_on_subscribe (self->hubsub, from, msg, &problem);
        if (zc_hubsub_agent_has (self->hubsub, from->name, ZC_SUBJECT_DIRECTORY)
        &&  (!had || (msg->flags & ZC_FLAG_FULL)))
            s_send_directory (self, (s_peer_t *) from);
    }
    if (!problem)
        return;
    self->count.refused++;
    char what [200], line [400];
    snprintf (what, sizeof what, "pubsub:%s:%s", from->name, problem);
    const char *type = zc_wire_type_name (msg->type);
    snprintf (line, sizeof line, "refused %s %s from %s: %s (logged once per reason)",
              strchr ("AEIOU", type [0])? "an": "a", type, from->name, problem);
    zc_warn_once (self->logged, what, "%s", line);
    if (from_hub)
        return;
    zc_wire_t *error = zc_wire_new (ZC_MSG_ERROR);
    error->code = ZC_ERR_REFUSED;
    error->text = zsys_sprintf ("%s refused: %s", zc_wire_type_name (msg->type), problem);
    s_send_link (self, from, &error);
}

//  Handles one message from a peer whose key is trusted, which came on
//  connection 'arrival'; new_connection says that is another connection
//  than the peer's route.
static void
s_handle (zc_hub_t *self, s_peer_t *peer, zc_wire_t *msg, zframe_t *arrival, bool new_connection)
{
    if (msg->type == ZC_MSG_CREDIT) {
        s_on_credit (self, peer, msg, arrival, new_connection);
        return;
    }
    if (msg->type == ZC_MSG_HELLO && strcmp (msg->name, peer->link.name) != 0) {
        self->count.bad_hello++;
        char what [160], line [300];
        snprintf (what, sizeof what, "hello:%s:%s", peer->public_txt, msg->name);
        snprintf (line, sizeof line, "refused HELLO from the key of %s claiming to be '%s'",
                  peer->link.name, msg->name);
        zc_warn_once (self->logged, what, "%s", line);
        zc_wire_t *error = zc_wire_new (ZC_MSG_ERROR);
        error->code = ZC_ERR_BAD_NAME;
        error->text = zsys_sprintf ("this key belongs to '%s', not '%s'", peer->link.name, msg->name);
        s_answer (self, arrival, &error);
        return;
    }
    if (msg->type == ZC_MSG_HELLO) {
        //  A HELLO on a new connection is a fresh join (the peer may
        //  have restarted within peer_timeout), and one that asks for it
        //  (the peer thought us gone) is welcomed again, or gets the routes.
        if (!peer->online || new_connection || (msg->flags & ZC_FLAG_FULL))
            s_peer_online (self, peer, &msg->id);
        else {
            zc_wire_t *pong = zc_wire_new (ZC_MSG_PONG);
            pong->id = msg->id;         //  the HELLO it answers
            s_send_to (self, peer, &pong);
        }
        //  What an agent advertises comes on the HELLOs of a new join and
        //  after it changed (hubs advertise nothing: they are not nodes).
        if (msg->payload && peer->link.kind == S_LINK_AGENT)
            s_node_facts (self, peer->link.name, zframe_data (msg->payload), zframe_size (msg->payload));
        return;
    }
    if (msg->type == ZC_MSG_BYE) {
        //  Only from its route: a copy of the key on another connection
        //  cannot take the peer offline.
        if (peer->online && !new_connection)
            s_peer_offline (self, peer, "clean exit");
        return;
    }
    if (!peer->online) {
        //  Nothing is routed for a peer that has not said who it is.
        self->count.not_hello++;
        zc_wire_t *error = zc_wire_new (ZC_MSG_ERROR);
        error->code = ZC_ERR_NOT_HELLO;
        error->text = zc_strdup ("say HELLO first");
        s_answer (self, arrival, &error);
        return;
    }
    if (msg->type == ZC_MSG_PING && zlist_size (msg->to) == 0) {
        zc_wire_t *pong = zc_wire_new (ZC_MSG_PONG);
        pong->id = msg->id;
        s_answer (self, arrival, &pong);
    }
    else
    if (msg->type == ZC_MSG_ROUTES && peer->link.kind == S_LINK_HUB)
        s_on_routes (self, &peer->link, msg);
    else
    if (s_is_pubsub (msg->type))
        s_on_pubsub (self, &peer->link, msg);
    else
    if (s_is_routed (msg->type)
    &&  (peer->link.kind == S_LINK_HUB || (msg->type != ZC_MSG_NOROUTE && msg->type != ZC_MSG_PRESENCE)))
        s_relay (self, &peer->link, msg);
    else {
        self->count.dropped++;
        zc_debug ("ignored %s from %s", zc_wire_type_name (msg->type), peer->link.name);
    }
}

static void s_router_message (zc_hub_t *self, zmsg_t *frames);

//  True while a peer's route is a live connection: heard from within
//  peer_timeout and, asked about a HELLO (a peer restarted after a kill
//  says HELLO on its new connection), still there: a send to a
//  connection that closed, as a killed process's does at once, fails.
static bool
s_route_alive (zc_hub_t *self, s_peer_t *peer, zc_wire_t *msg)
{
    if (!peer->routing_id
    ||  zclock_mono () - peer->last_heard > (uint64_t) (self->config->peer_timeout * 1000))
        return false;
    if (msg->type != ZC_MSG_HELLO)
        return true;
    zc_wire_t *probe = zc_wire_new (ZC_MSG_PING);       //  link-local: peers ignore it
    return zc_wire_send (&probe, self->router, peer->routing_id) == 0 || errno != EHOSTUNREACH;
}

//  Refuses a message that came on another connection than the live one
//  of its peer, logging both addresses once per peer and minute.
static void
s_refuse_duplicate (zc_hub_t *self, s_peer_t *peer, zframe_t *first, zframe_t *arrival)
{
    self->count.duplicate++;
    int64_t now = zclock_mono ();
    if (!peer->duplicate_logged || now - peer->duplicate_logged >= S_DUPLICATE_LOG_MS) {
        peer->duplicate_logged = now;
        const char *address = zframe_meta (first, "Peer-Address");
        zc_warn ("%s is already connected from %s; refused another connection with its key from %s:"
                 " a copied key or a cloned host? (logged once a minute)", peer->link.name,
                 *peer->address? peer->address: "an unknown address", address? address: "an unknown address");
    }
    zc_wire_t *error = zc_wire_new (ZC_MSG_ERROR);
    error->code = ZC_ERR_DUPLICATE;
    error->text = zsys_sprintf ("%s is already connected from %s: a copied key or a cloned host?",
                                peer->link.name, *peer->address? peer->address: "another address");
    s_answer (self, arrival, &error);
}

//  A peer of another release: its messages are refused, it is told why
//  (an ERROR in our version: a later release of the peer can read it),
//  and the hub logs it once per key and version. Not a strike: it did
//  nothing wrong but run another release.
static void
s_refuse_version (zc_hub_t *self, s_peer_t *peer, zframe_t *arrival, int version)
{
    self->count.malformed++;
    char what [80], line [300];
    snprintf (what, sizeof what, "version:%d:%s", version, peer->public_txt);
    snprintf (line, sizeof line, "%s speaks zcnc wire version %d, this hub version %d: its messages"
              " are refused (run the same zcnc release on both; logged once per key)",
              peer->link.name, version, ZC_WIRE_VERSION);
    zc_warn_once (self->logged, what, "%s", line);
    zc_wire_t *error = zc_wire_new (ZC_MSG_ERROR);
    error->code = ZC_ERR_VERSION;
    error->text = zsys_sprintf ("this hub speaks zcnc wire version %d; your message was version %d:"
                                " run the same zcnc release on both", ZC_WIRE_VERSION, version);
    s_answer (self, arrival, &error);
}

//  Takes what has arrived, up to a batch per turn of the loop.
static int
s_router_event (zloop_t *loop, zsock_t *router, void *arg)
{
    zc_hub_t *self = arg;
    //  Receives until none is left (the socket's receive timeout is 0):
    //  asking its events before each would cost a system call each.
    for (int count = 0; count < S_RECV_BATCH; count++) {
        zmsg_t *frames = zmsg_recv (router);
        if (!frames)
            break;
        s_router_message (self, frames);
    }
    return 0;
}

//  Handles one message from the ROUTER; destroys it.
static void
s_router_message (zc_hub_t *self, zmsg_t *frames)
{
    zframe_t *routing_id = zmsg_first (frames);
    zframe_t *first = zmsg_next (frames);
    //  In 4.3.4 only body frames carry the connection's metadata.
    const char *user_id = first? zframe_meta (first, "User-Id"): NULL;
    const zc_key_t *key = user_id? zc_keyring_by_public (zc_daemon_keyring (self->daemon), user_id): NULL;
    if (!key) {
        self->count.unknown_key++;
        char what [80], line [160];
        snprintf (what, sizeof what, "key:%s", user_id? user_id: "-");
        snprintf (line, sizeof line, "dropped traffic from key %s: not in %s (revoked?)",
                  user_id? user_id: "(none)", self->config->keys);
        zc_warn_once (self->logged, what, "%s", line);
        zmsg_destroy (&frames);
        return;
    }
    s_peer_t *peer = zhashx_lookup (self->peers, key->public_txt);
    if (!peer) {
        peer = zc_calloc (1, sizeof *peer);
        peer->link.kind = key->role == ZC_KEY_HUB? S_LINK_HUB: S_LINK_AGENT;
        peer->hub = self;
        peer->flow = zc_flow_new (peer->link.kind == S_LINK_HUB? self->config->hub_link_budget
                                  : self->config->peer_budget, &self->pool, s_peer_sink, peer);
        snprintf (peer->link.name, sizeof peer->link.name, "%s", key->name);
        snprintf (peer->public_txt, sizeof peer->public_txt, "%s", key->public_txt);
        zhashx_insert (self->peers, peer->public_txt, peer);
        if (peer->link.kind == S_LINK_HUB)
            peer->hub_handle = zlistx_add_end (self->hub_peers, peer);
    }
    if (peer->suspended_until > zclock_mono ()) {
        self->count.suspended++;
        zmsg_destroy (&frames);
        return;
    }
    const char *reason = NULL;
    zc_wire_t *msg = zc_wire_decode (frames, first, &reason);
    int version = msg? ZC_WIRE_VERSION: zc_wire_version_of (first);
    if (!msg && version != -1 && version != ZC_WIRE_VERSION) {
        s_refuse_version (self, peer, routing_id, version);
        zmsg_destroy (&frames);
        return;
    }
    if (!msg) {
        char what [80], line [200];
        snprintf (what, sizeof what, "malformed:%s", key->public_txt);
        snprintf (line, sizeof line, "dropped a malformed message from %s: %s (logged once per key)",
                  key->name, reason? reason: "?");
        zc_warn_once (self->logged, what, "%s", line);
        s_strike (self, peer);
        zmsg_destroy (&frames);
        return;
    }
    //  A connection becomes the peer's route only by a valid HELLO: one
    //  whose HELLO was refused (a copy of the key claiming another name)
    //  must never receive the peer's traffic. Until then answers to the
    //  new connection go to it alone.
    bool new_connection = !peer->routing_id || !zframe_eq (peer->routing_id, routing_id);
    bool valid_hello = msg->type == ZC_MSG_HELLO && streq (msg->name, peer->link.name);
    bool bad_hello = msg->type == ZC_MSG_HELLO && !valid_hello;
    if (new_connection && peer->online && !bad_hello && s_route_alive (self, peer, msg)) {
        //  One connection per name: a second one (a copied key, a cloned
        //  host) is refused while the first lives.
        s_refuse_duplicate (self, peer, first, routing_id);
        zc_wire_destroy (&msg);
        zmsg_destroy (&frames);
        return;
    }
    if (new_connection && (valid_hello || !peer->routing_id)) {
        zframe_destroy (&peer->routing_id);
        peer->routing_id = zframe_dup (routing_id);
        zc_flow_reset (peer->flow);     //  nothing of ours is on the new connection
        const char *address = zframe_meta (first, "Peer-Address");
        snprintf (peer->address, sizeof peer->address, "%s", address? address: "");
    }
    if (!new_connection || valid_hello)
        peer->last_heard = zclock_mono ();
    s_handle (self, peer, msg, routing_id, new_connection);
    zc_wire_destroy (&msg);
    zmsg_destroy (&frames);
}

//  ---------------------------------------------------------------------
//  Uplinks

//  A message from a parent hub: its routes, or traffic to relay.
static void
s_on_parent_message (zc_uplink_t *uplink, zc_wire_t *msg, void *arg)
{
    s_parent_t *parent = arg;
    zc_hub_t *self = parent->hub;
    if (msg->type == ZC_MSG_ROUTES) {
        bool full = (msg->flags & ZC_FLAG_FULL) != 0;
        bool last = !(msg->flags & ZC_FLAG_MORE);
        bool was_up = zc_uplink_is_up (uplink);
        if (!full && !was_up)
            return;                             //  stale changes from a link we gave up
        s_on_routes (self, &parent->link, msg);
        if (full && last && was_up) {
            //  The parent lost track of us (it dropped us, or restarted)
            //  and starts over: so do we.
            s_send_full_routes (self, &parent->link);
            zc_hubsub_hub_up (self->hubsub, &parent->link);
        }
        else
        if (full && last)
            zc_uplink_set_up (uplink);          //  the parent answered our HELLO
    }
    else
    if (s_is_pubsub (msg->type)) {
        if (zc_uplink_is_up (uplink))       //  not stale news from a link we gave up
            s_on_pubsub (self, &parent->link, msg);
    }
    else
    if (s_is_routed (msg->type) && zlist_size (msg->to))
        s_relay (self, &parent->link, msg);
    else
    if (msg->type != ZC_MSG_PONG && msg->type != ZC_MSG_ERROR)
        zc_debug ("ignored %s from hub %s", zc_wire_type_name (msg->type), parent->link.name);
}

//  An uplink came up (we tell the parent what we reach) or went down
//  (its routes go).
static void
s_on_parent_state (zc_uplink_t *uplink, bool up, void *arg)
{
    s_parent_t *parent = arg;
    zc_hub_t *self = parent->hub;
    if (up) {
        s_send_full_routes (self, &parent->link);
        zc_hubsub_hub_up (self->hubsub, &parent->link);
    }
    else {
        zc_routes_drop_link (self->routes, &parent->link);
        s_routes_changed (self);
        zc_hubsub_hub_down (self->hubsub, &parent->link);
    }
}

//  Dials every configured uplink. 0, or -1 with *error.
static int
s_dial_parents (zc_hub_t *self, char **error)
{
    zc_config_t *config = self->config;
    for (zc_peer_addr_t *addr = zlist_first (config->uplinks); addr; addr = zlist_next (config->uplinks)) {
        s_parent_t *parent = zc_calloc (1, sizeof *parent);
        parent->link.kind = S_LINK_UPLINK;
        snprintf (parent->link.name, sizeof parent->link.name, "%s", addr->name);
        parent->hub = self;
        zlist_append (self->parents, parent);
        parent->uplink = zc_uplink_new (self->loop, config, self->cert, addr, "hub/uplink",
                                        config->hub_link_budget, &self->pool,
                                        s_on_parent_message, s_on_parent_state, parent, error);
        if (!parent->uplink)
            return -1;
    }
    return 0;
}

static void
s_parents_destroy (zc_hub_t *self)
{
    s_parent_t *parent;
    while ((parent = zlist_pop (self->parents))) {
        zc_uplink_destroy (&parent->uplink);
        zhashx_destroy (&parent->link.full_seen);
        free (parent);
    }
    zlist_destroy (&self->parents);
}

//  ---------------------------------------------------------------------
//  Timers and events

static int
s_zap_event (zloop_t *loop, zsock_t *sock, void *arg)
{
    zc_hub_t *self = arg;
    zc_zap_handle (self->zap, zc_daemon_keyring (self->daemon));
    return 0;
}

//  Takes peers that fell silent offline.
static int
s_heartbeat_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_hub_t *self = arg;
    uint64_t now = zclock_mono ();
    uint64_t limit = (uint64_t) (self->config->peer_timeout * 1000);
    //  A peer missing two heartbeats is asked whether its connection is
    //  still there: a killed process's closed at once.
    uint64_t quiet = (uint64_t) (self->config->heartbeat * 2000);
    for (s_peer_t *peer = zhashx_first (self->peers); peer; peer = zhashx_next (self->peers))
        if (peer->online && peer->routing_id && now - peer->last_heard > quiet) {
            zc_wire_t *probe = zc_wire_new (ZC_MSG_PING);       //  link-local: peers ignore it
            if (zc_wire_send (&probe, self->router, peer->routing_id) != 0 && errno == EHOSTUNREACH) {
                peer->link_lost = true;
                peer->last_heard = 0;
            }
        }
    zlist_t *silent = zlist_new ();
    for (s_peer_t *peer = zhashx_first (self->peers); peer; peer = zhashx_next (self->peers))
        if (now - peer->last_heard > limit && peer->suspended_until <= (int64_t) now)
            zlist_append (silent, peer);        //  a suspended one is kept until its time is up
    for (s_peer_t *peer = zlist_first (silent); peer; peer = zlist_next (silent))
        s_peer_offline (self, peer, peer->link_lost? "link lost": "heartbeat timeout");
    zlist_destroy (&silent);
    for (s_peer_t *peer = zhashx_first (self->peers); peer; peer = zhashx_next (self->peers))
        if (peer->routing_id)
            zc_flow_tick (peer->flow, now);
    //  Origins still waiting for names that can be reached (woken a few
    //  at a time as their links drain: s_wake_waiters).
    zlist_t *waited = zc_waiters_names (self->waiters);
    for (char *name = zlist_first (waited); name; name = zlist_next (waited))
        if (zc_routes_best (self->routes, name, NULL))
            s_wake_waiters (self, name);
    zlist_destroy (&waited);
    //  Nodes offline for forget_after leave the directory (routes
    //  advertised by other hubs can add names without bound otherwise).
    zlist_t *forgotten = zc_directory_forget (self->directory, s_wall_seconds (),
                                              (uint64_t) self->config->forget_after);
    zlist_destroy (&forgotten);
    return 0;
}

//  Sends what changed to the neighbours, batched so that many nodes
//  appearing at once cost one message per neighbour: directory changes
//  to agents (NODES), route changes to hubs (ROUTES).
static int
s_directory_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_hub_t *self = arg;
    zc_hubsub_tick (self->hubsub, zclock_mono ());
    zlist_t *neighbours = s_neighbour_hubs (self);
    for (s_link_t *hub = zlist_first (neighbours); hub; hub = zlist_next (neighbours))
        if (hub->routes_lost) {
            hub->routes_lost = false;
            s_send_full_routes (self, hub);
        }
    zlist_destroy (&neighbours);
    if (zhashx_size (self->advertise)) {
        zlistx_t *changed = zhashx_keys (self->advertise);
        zlist_t *names = zlist_new ();
        for (char *name = zlistx_first (changed); name; name = zlistx_next (changed))
            zlist_append (names, name);
        zlist_t *hubs = s_neighbour_hubs (self);
        for (s_link_t *hub = zlist_first (hubs); hub; hub = zlist_next (hubs))
            s_send_routes (self, hub, names, false);
        zlist_destroy (&hubs);
        zlist_destroy (&names);
        zlistx_destroy (&changed);
        zhashx_purge (self->advertise);
    }
    size_t count;
    zc_node_entry_t *changes = zc_directory_take_changes (self->directory, &count);
    if (!changes)
        return 0;
    //  A change carries a node's facts only when they changed: an agent
    //  keeps what it has (a node going on- and offline costs no more).
    for (size_t index = 0; index < count; index++)
        if (!changes [index].facts_changed) {
            changes [index].facts = NULL;
            changes [index].facts_size = 0;
        }
    zlist_t *payloads = s_nodes_payloads (changes, count);
    free (changes);
    zlist_t *agents = zlist_new ();
    for (s_peer_t *peer = zhashx_first (self->peers); peer; peer = zhashx_next (self->peers))
        if (peer->online && peer->link.kind == S_LINK_AGENT
        &&  zc_hubsub_agent_has (self->hubsub, peer->link.name, ZC_SUBJECT_DIRECTORY))
            zlist_append (agents, peer);
    for (zframe_t *payload = zlist_first (payloads); payload; payload = zlist_next (payloads))
        for (s_peer_t *peer = zlist_first (agents); peer; peer = zlist_next (agents)) {
            zc_wire_t *msg = zc_wire_new (ZC_MSG_NODES);
            msg->payload = zframe_dup (payload);
            s_send_to (self, peer, &msg);
        }
    zlist_destroy (&agents);
    zframe_t *payload;
    while ((payload = zlist_pop (payloads)))
        zframe_destroy (&payload);
    zlist_destroy (&payloads);
    return 0;
}

//  The keys directory was read again: peers whose key went away are
//  dropped.
static void
s_keys_changed (void *arg)
{
    zc_hub_t *self = arg;
    zc_log_once_reset (self->logged);
    zlist_t *revoked = zlist_new ();
    for (s_peer_t *peer = zhashx_first (self->peers); peer; peer = zhashx_next (self->peers))
        if (!zc_keyring_by_public (zc_daemon_keyring (self->daemon), peer->public_txt))
            zlist_append (revoked, peer);
    for (s_peer_t *peer = zlist_first (revoked); peer; peer = zlist_next (revoked))
        s_peer_offline (self, peer, "key revoked");
    zlist_destroy (&revoked);
}

//  ---------------------------------------------------------------------
//  What pub/sub needs of the links (hubsub.h)

//  A copy pub/sub sends: what a link will not take is pub/sub's to count
//  (lost), but a budget refused is the hub's to count and log.
static int
s_hubsub_send (void *link, zmsg_t **frames_p, void *arg)
{
    s_link_t *to = link;
    int rc = to->kind == S_LINK_UPLINK
           ? zc_uplink_send_frames (((s_parent_t *) to)->uplink, frames_p, false)
           : zc_flow_send (((s_peer_t *) to)->flow, frames_p, false, zclock_mono ());
    if (rc != 0 && errno == ENOBUFS)
        s_refused ((zc_hub_t *) arg, to);
    return rc;
}

static zlist_t *
s_hubsub_hubs (void *arg)
{
    return s_neighbour_hubs ((zc_hub_t *) arg);
}

static const char *
s_hubsub_name (void *link, void *arg)
{
    return ((s_link_t *) link)->name;
}

//  An agent connected here: the link of its route with the empty path.
static void *
s_hubsub_agent (const char *name, void *arg)
{
    zc_hub_t *self = arg;
    const char *path;
    s_link_t *link = zc_routes_best (self->routes, name, &path);
    return link && link->kind == S_LINK_AGENT && !*path? link: NULL;
}

//  ---------------------------------------------------------------------
//  What the control socket and the metrics show (hubctl.h; zcnc(1),
//  "HUB STATUS").

static json_t *
s_flow_json (zc_flow_t *flow, json_t *object)
{
    json_object_set_new (object, "in_flight", json_integer ((json_int_t) zc_flow_in_flight (flow)));
    json_object_set_new (object, "queued", json_integer ((json_int_t) zc_flow_queued (flow)));
    json_object_set_new (object, "refused", json_integer ((json_int_t) zc_flow_refused (flow)));
    return object;
}

static json_t *
s_status (void *arg)
{
    zc_hub_t *self = arg;
    int64_t now = zclock_mono ();
    json_t *nodes = json_array (), *suspended = json_array ();
    for (s_peer_t *peer = zhashx_first (self->peers); peer; peer = zhashx_next (self->peers)) {
        json_t *node = json_pack ("{s:s, s:s, s:b, s:I, s:s}", "name", peer->link.name,
                                  "kind", peer->link.kind == S_LINK_HUB? "hub": "node", "online", peer->online,
                                  "since", (json_int_t) peer->since, "address", peer->address);
        json_array_append_new (nodes, s_flow_json (peer->flow, node));
        if (peer->suspended_until > now)
            json_array_append_new (suspended, json_pack ("{s:s, s:s, s:I}", "name", peer->link.name,
                "key", peer->public_txt, "seconds", (json_int_t) ((peer->suspended_until - now + 999) / 1000)));
    }
    json_t *uplinks = json_array ();
    for (s_parent_t *parent = zlist_first (self->parents); parent; parent = zlist_next (self->parents)) {
        json_t *uplink = json_pack ("{s:s, s:s, s:b, s:I}", "name", parent->link.name,
                                    "endpoint", zc_uplink_endpoint (parent->uplink),
                                    "up", zc_uplink_is_up (parent->uplink),
                                    "malformed", (json_int_t) zc_uplink_malformed (parent->uplink));
        const char *problem = zc_uplink_problem (parent->uplink);
        if (problem)
            json_object_set_new (uplink, "problem", json_string (problem));
        json_array_append_new (uplinks, s_flow_json (zc_uplink_flow (parent->uplink), uplink));
    }
    json_t *routes = json_array ();
    zlist_t *names = zc_routes_names (self->routes);
    for (char *name = zlist_first (names); name; name = zlist_next (names)) {
        const char *path;
        s_link_t *link = zc_routes_best (self->routes, name, &path);
        char via [ZC_VIA_MAX];
        s_via (self, path, via);
        const char *last = strrchr (via, '>');
        json_array_append_new (routes, json_pack ("{s:s, s:s, s:s, s:s}", "node", name, "hub", last? last + 1: via,
                                                  "via", via, "next", link? link->name: ""));
    }
    zlist_destroy (&names);
    zlist_t *waited = zc_waiters_names (self->waiters);
    json_t *waited_names = json_array ();
    for (char *name = zlist_first (waited); name; name = zlist_next (waited))
        json_array_append_new (waited_names, json_string (name));
    zlist_destroy (&waited);
    zc_hubsub_stats_t pubsub = zc_hubsub_stats (self->hubsub);
    return json_pack ("{s:s, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
                      " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:{s:I, s:I, s:o}, s:{s:I, s:I}, s:I}",
        "name", self->config->name, "nodes", nodes, "uplinks", uplinks, "routes", routes,
        "counters", "forwarded", (json_int_t) self->count.forwarded, "noroute", (json_int_t) self->count.noroute,
            "malformed", (json_int_t) self->count.malformed, "unknown_key", (json_int_t) self->count.unknown_key,
            "bad_hello", (json_int_t) self->count.bad_hello, "not_hello", (json_int_t) self->count.not_hello,
            "dropped", (json_int_t) self->count.dropped, "suspended", (json_int_t) self->count.suspended,
            "duplicate", (json_int_t) self->count.duplicate, "over_budget", (json_int_t) self->count.over_budget,
            "refused", (json_int_t) self->count.refused,
        "pubsub", "published", (json_int_t) pubsub.published, "delivered", (json_int_t) pubsub.delivered,
            "forwarded", (json_int_t) pubsub.forwarded, "lost", (json_int_t) pubsub.lost,
            "refused", (json_int_t) pubsub.refused, "retained", (json_int_t) pubsub.retained,
            "patterns", (json_int_t) zc_hubsub_local_patterns (self->hubsub),
            "remote_entries", (json_int_t) zc_hubsub_remote_entries (self->hubsub),
        "suspended", suspended,
        "waiters", "names", (json_int_t) json_array_size (waited_names),
            "origins", (json_int_t) zc_waiters_size (self->waiters), "waited", waited_names,
        "budget", "held", (json_int_t) self->pool.held, "limit", (json_int_t) self->pool.limit,
        "directory", (json_int_t) zc_directory_size (self->directory));
}

//  Binds every configured endpoint and writes the bound ones, one per
//  line, to DATA/endpoints (replaced atomically). 0, or -1 with *error.
static int
s_bind (zc_hub_t *self, char **error)
{
    zc_config_t *config = self->config;
    char *path = zsys_sprintf ("%s/endpoints", config->data);
    char *temp = zsys_sprintf ("%s/endpoints.tmp", config->data);
    FILE *file = fopen (temp, "w");
    int rc = 0;
    if (!file)
        rc = zc_fail (error, "cannot write %s: %s (check the data directory)", temp, strerror (errno));
    for (char *endpoint = zlist_first (config->binds); file && endpoint; endpoint = zlist_next (config->binds)) {
        if (zsock_bind (self->router, "%s", endpoint) == -1) {
            rc = zc_fail (error, "%s: hub/bind: cannot bind %s: %s", config->path, endpoint,
                          zmq_strerror (zmq_errno ()));
            break;
        }
        char *bound = zsock_last_endpoint (self->router);
        fprintf (file, "%s\n", bound);
        zc_info ("listening on %s", bound);
        free (bound);
    }
    if (file && (fclose (file) != 0 || (rc == 0 && rename (temp, path) != 0)) && rc == 0)
        rc = zc_fail (error, "cannot write %s: %s", path, strerror (errno));
    if (rc != 0)
        unlink (temp);
    free (path);
    free (temp);
    return rc;
}

zc_hub_t *
zc_hub_new (zc_config_t *config, char **error)
{
    zc_hub_t *self = zc_calloc (1, sizeof *self);
    self->config = config;
    self->timers [0] = self->timers [1] = -1;
    self->loop = zloop_new ();
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, s_peer_destroy);
    self->parents = zlist_new ();
    self->routes = zc_routes_new (config->name);
    self->advertise = zhashx_new ();
    self->directory = zc_directory_new ();
    self->waiters = zc_waiters_new (S_MAX_WAITED_NAMES, S_MAX_WAITERS);
    self->hub_peers = zlistx_new ();
    self->logged = zc_log_once_new (10000);
    self->pool.limit = config->total_budget;
    self->daemon = zc_daemon_new (self->loop, config, s_keys_changed, NULL, self, error);
    uint8_t sign_secret [64];
    if (!self->daemon
    ||  !(self->cert = zc_key_load_own_signing (config->keys, config->name, sign_secret, error)))
        goto failed;
    zc_hubsub_links_t links = { s_hubsub_send, s_hubsub_hubs, s_hubsub_name, s_hubsub_agent, self };
    self->hubsub = zc_hubsub_new (config->name, sign_secret, &links);
    sodium_memzero (sign_secret, sizeof sign_secret);
    //  The ZAP handler must exist before the CURVE socket binds: without
    //  one, libzmq accepts any client key.
    self->zap = zc_zap_new (config->name);
    self->router = zsock_new (ZMQ_ROUTER);
    if (self->router)
        zsock_set_rcvtimeo (self->router, 0);     //  read until none is left (s_router_event)
    if (!self->zap || !self->router) {
        zc_fail (error, "cannot create the hub's sockets: %s", zmq_strerror (zmq_errno ()));
        goto failed;
    }
    zcert_apply (self->cert, self->router);
    zsock_set_curve_server (self->router, 1);
    zsock_set_zap_domain (self->router, config->name);
    zsock_set_router_mandatory (self->router, 1);
    zc_uplink_tune (self->router, config);
    //  What may wait for one peer is bounded in bytes (flow.h), well
    //  below this many messages; libzmq's default (1000) would drop small
    //  ones (a burst of PUBs) long before.
    zsock_set_sndhwm (self->router, 100000);
    //  No ZeroMQ heartbeats from the hub: a silent peer is the hub's to
    //  find (heartbeat timeout, after peer_timeout; a closed connection
    //  means the peer's end went: link lost), and libzmq 4.3 keeps a
    //  heartbeat's timers per connection in one list per I/O thread that
    //  each cancel walks, which grows as the square of the agents.
    //  Agents ping their hub (zc_uplink_tune); the hub answers those.
    zsock_set_heartbeat_ivl (self->router, 0);
    //  Large messages travel in chunks (wire version 3): a peer that
    //  sends a larger frame is cut off by libzmq before it is buffered.
    zsock_set_maxmsgsize (self->router, S_MAX_FRAME);
    //  Connections waiting to be accepted. libzmq accepts one per turn
    //  of its I/O thread, which is busy with handshakes when many peers
    //  come at once (a restarted hub's): beyond libzmq's default of 100
    //  the kernel dropped connections, and each such peer waited out its
    //  handshake timeout (30 s) before dialling again. The kernel caps it
    //  at net.core.somaxconn (4096 by default).
    zsock_set_backlog (self->router, S_LISTEN_BACKLOG);
    if (s_bind (self, error) != 0 || s_dial_parents (self, error) != 0
    ||  !(self->ctl = zc_hubctl_new (self->loop, config, s_status, self, error)))
        goto failed;
    zloop_reader (self->loop, self->router, s_router_event, self);
    self->zap_reader = zc_zfd_reader (self->loop, zc_zap_socket (self->zap), s_zap_event, self);
    self->timers [0] = zloop_timer (self->loop, (size_t) (config->heartbeat * 1000), 0, s_heartbeat_timer, self);
    self->timers [1] = zloop_timer (self->loop, S_DIRECTORY_FLUSH_MS, 0, s_directory_timer, self);
    zc_info ("hub %s started with %zu trusted keys and %zu uplink(s)", config->name,
             zc_keyring_size (zc_daemon_keyring (self->daemon)), zlist_size (self->parents));
    //  A descriptor per connected peer, and a few of its own.
    size_t descriptors = zc_daemon_descriptor_limit ();
    if (descriptors < S_FEW_DESCRIPTORS)
        zc_warn ("this hub can hold about %zu peers: its limit on open files (RLIMIT_NOFILE) is %zu;"
                 " raise the hard limit (LimitNOFILE= in a systemd unit, ulimit -Hn) for more",
                 descriptors > 64? descriptors - 64: 0, descriptors);
    self->started = true;
    return self;
failed:
    zc_hub_destroy (&self);
    return NULL;
}

int
zc_hub_loop (zc_hub_t *self)
{
    zloop_start (self->loop);
    return 0;
}

void
zc_hub_destroy (zc_hub_t **self_p)
{
    zc_hub_t *self = *self_p;
    if (!self)
        return;
    if (self->started) {
        zc_hubsub_stats_t pubsub = zc_hubsub_stats (self->hubsub);
        zc_info ("hub %s stopped (forwarded %" PRIu64 ", noroute %" PRIu64 ", malformed %" PRIu64
                 ", unknown key %" PRIu64 ", bad hello %" PRIu64 ", dropped %" PRIu64
                 ", from suspended keys %" PRIu64 ", second connections refused %" PRIu64
                 ", refused over a budget %" PRIu64 "; published %" PRIu64 ", delivered %" PRIu64
                 ", passed to hubs %" PRIu64 ", publications lost %" PRIu64
                 ", pub/sub refused %" PRIu64 ", retained %" PRIu64 ")",
                 self->config->name, self->count.forwarded, self->count.noroute, self->count.malformed,
                 self->count.unknown_key, self->count.bad_hello, self->count.dropped,
                 self->count.suspended, self->count.duplicate, self->count.over_budget,
                 pubsub.published, pubsub.delivered, pubsub.forwarded, pubsub.lost,
                 self->count.refused, pubsub.retained);
    }
    zc_hubctl_destroy (&self->ctl);
    for (size_t index = 0; index < sizeof self->timers / sizeof self->timers [0]; index++)
        if (self->timers [index] != -1)
            zloop_timer_end (self->loop, self->timers [index]);
    s_parents_destroy (self);
    zsock_destroy (&self->router);
    zc_zfd_reader_end (self->loop, &self->zap_reader);
    zc_zap_destroy (&self->zap);
    zhashx_destroy (&self->peers);
    zlistx_destroy (&self->hub_peers);
    zc_routes_destroy (&self->routes);
    zc_hubsub_destroy (&self->hubsub);
    zhashx_destroy (&self->advertise);
    zc_waiters_destroy (&self->waiters);
    zc_log_once_destroy (&self->logged);
    zc_directory_destroy (&self->directory);
    zcert_destroy (&self->cert);
    zc_daemon_destroy (&self->daemon);
    zloop_destroy (&self->loop);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------
//  As an actor

//  "ENDPOINT": the endpoint bound last (a test binds tcp://127.0.0.1:*).
static void
s_actor_command (const char *command, zsock_t *pipe, void *arg)
{
    zc_hub_t *self = arg;
    char *endpoint = streq (command, "ENDPOINT")? zsock_last_endpoint (self->router): NULL;
    zstr_send (pipe, endpoint? endpoint: "");
    free (endpoint);
}

void
zc_hub_actor (zsock_t *pipe, void *config)
{
    char *error = NULL;
    zc_hub_t *self = zc_hub_new (config, &error);
    if (zc_daemon_actor_start (pipe, self? self->daemon: NULL, &error, s_actor_command) == 0)
        zc_hub_loop (self);
    zc_hub_destroy (&self);
}

//  ---------------------------------------------------------------------
//  Self-test: a hub in this process, and raw peers speaking the wire.

//  Says HELLO as 'name' and waits for the hub's answer of 'type'.
//  The next NODES change on 'peer' that carries facts for 'name', as a
//  new set (NULL when none came within a second).
static zc_facts_t *
s_test_facts_of (zsock_t *peer, const char *name)
{
    zc_facts_t *facts = NULL;
    int64_t deadline = zclock_mono () + 1000;
    while (!facts && zclock_mono () < deadline) {
        zc_wire_t *msg = zc_testbed_expect (peer, ZC_MSG_NODES, 1000);
        zc_node_entry_t *entries = NULL;
        size_t count = 0;
        if (msg && zc_wire_nodes_payload_decode (msg->payload, &entries, &count) == 0)
            for (size_t index = 0; index < count && !facts; index++)
                if (streq (entries [index].name, name) && entries [index].facts)
                    facts = zc_facts_decode (entries [index].facts, entries [index].facts_size);
        free (entries);
        zc_wire_destroy (&msg);
    }
    return facts;
}

//  What an agent advertises on a HELLO reaches the agents that follow
//  the directory; the PONG answers that HELLO by its ID; a HELLO without
//  facts keeps them.
static int
s_test_facts (zsock_t *follower, zsock_t *agent)
{
    ZC_TEST_BEGIN;
    zc_facts_t *facts = zc_facts_new ();
    zc_facts_set (facts, "env", "prod", NULL);
    zc_facts_add_function (facts, "machine-info", NULL);
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "n2");
    hello->payload = zc_facts_encode (facts);
    zc_id_t hello_id = hello->id;
    zc_wire_send (&hello, agent, NULL);
    zc_wire_t *pong = zc_testbed_expect (agent, ZC_MSG_PONG, 5000);
    ZC_CHECK (pong && zc_id_equal (&pong->id, &hello_id) && !(pong->flags & ZC_FLAG_FULL));
    zc_wire_destroy (&pong);
    zc_facts_t *seen = s_test_facts_of (follower, "n2");
    ZC_CHECK (seen && streq (zc_facts_get (seen, "env")? zc_facts_get (seen, "env"): "", "prod")
              && zc_facts_has_function (seen, "machine-info"));
    zc_facts_destroy (&seen);
    //  A periodic HELLO carries none, and changes nothing.
    hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "n2");
    hello_id = hello->id;
    zc_wire_send (&hello, agent, NULL);
    pong = zc_testbed_expect (agent, ZC_MSG_PONG, 5000);
    ZC_CHECK (pong && zc_id_equal (&pong->id, &hello_id));
    zc_wire_destroy (&pong);
    ZC_CHECK ((seen = s_test_facts_of (follower, "n2")) == NULL);
    zc_facts_destroy (&seen);
    //  The whole directory has them.
    zc_wire_t *sub = zc_wire_new (ZC_MSG_SUB);
    sub->flags |= ZC_FLAG_FULL;
    zlist_append (sub->patterns, ZC_SUBJECT_DIRECTORY);
    zc_wire_send (&sub, follower, NULL);
    zc_wire_t *full = zc_testbed_expect (follower, ZC_MSG_NODES, 5000);
    while (full && !(full->flags & ZC_FLAG_FULL)) {
        zc_wire_destroy (&full);
        full = zc_testbed_expect (follower, ZC_MSG_NODES, 5000);
    }
    zc_node_entry_t *entries = NULL;
    size_t count = 0;
    ZC_CHECK (full && zc_wire_nodes_payload_decode (full->payload, &entries, &count) == 0);
    bool found = false;
    for (size_t index = 0; index < count; index++)
        if (streq (entries [index].name, "n2"))
            found = (seen = zc_facts_decode (entries [index].facts, entries [index].facts_size)) != NULL;
    ZC_CHECK (found && zc_facts_get (seen, "env"));
    zc_facts_destroy (&seen);
    free (entries);
    zc_wire_destroy (&full);
    zc_facts_destroy (&facts);
    return ZC_TEST_END;
}

static zc_wire_t *
s_test_hello (zsock_t *peer, const char *name, uint8_t type)
{
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "%s", name);
    hello->flags |= ZC_FLAG_FULL;
    zc_wire_send (&hello, peer, NULL);
    if (type == ZC_MSG_NODES) {
        //  Welcomed, an agent gets the directory when it subscribes to it.
        zc_wire_t *welcome = zc_testbed_expect (peer, ZC_MSG_PONG, 5000);
        bool welcomed = welcome && (welcome->flags & ZC_FLAG_FULL);
        zc_wire_destroy (&welcome);
        if (!welcomed)
            return NULL;
        zc_wire_t *sub = zc_wire_new (ZC_MSG_SUB);
        sub->flags |= ZC_FLAG_FULL;
        zlist_append (sub->patterns, ZC_SUBJECT_DIRECTORY);
        zc_wire_send (&sub, peer, NULL);
    }
    //  Older directory updates may wait before the answer: skipped.
    zc_wire_t *answer = zc_testbed_expect (peer, type, 5000);
    while (answer && type == ZC_MSG_NODES && !(answer->flags & ZC_FLAG_FULL)) {
        zc_wire_destroy (&answer);
        answer = zc_testbed_expect (peer, type, 5000);
    }
    return answer;
}

//  Sends a REQ from 'peer' to 'target'; returns its ID.
static zc_id_t
s_test_req (zsock_t *peer, const char *target)
{
    zc_wire_t *req = zc_wire_new (ZC_MSG_REQ);
    zlist_append (req->to, (void *) target);
    req->payload = zframe_new ("job", 3);
    zc_id_t id = req->id;
    zc_wire_send (&req, peer, NULL);
    return id;
}

//  Sends jobs from 'origin' to 'target', up to 'tries' of them, each
//  given 'wait_ms', until one draws a NOROUTE naming 'target'. True then.
static bool
s_test_until_noroute (zsock_t *origin, const char *target, int tries, int wait_ms)
{
    bool noroute = false;
    for (int attempt = 0; attempt < tries && !noroute; attempt++) {
        s_test_req (origin, target);
        zc_wire_t *msg = zc_testbed_expect (origin, ZC_MSG_NOROUTE, wait_ms);
        noroute = msg && zlist_size (msg->names) == 1 && streq (zlist_first (msg->names), target);
        zc_wire_destroy (&msg);
    }
    return noroute;
}

//  Sends 20 jobs from 'origin' to 'name' (on 'target'), each after a
//  HELLO claiming 'claim' from 'other'; returns how many reached the
//  target within a second each.
static size_t
s_test_reaching (zsock_t *origin, zsock_t *target, const char *name, zsock_t *other, const char *claim)
{
    size_t arrived = 0;
    for (int round = 0; round < 20; round++) {
        zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
        snprintf (hello->name, sizeof hello->name, "%s", claim);
        zc_wire_send (&hello, other, NULL);
        zc_id_t id = s_test_req (origin, name);
        zc_wire_t *msg = zc_testbed_expect (target, ZC_MSG_REQ, 1000);
        arrived += msg && zc_id_equal (&msg->id, &id);
        zc_wire_destroy (&msg);
    }
    return arrived;
}

int
zc_hub_test (bool verbose)
{
    ZC_TEST_BEGIN;
    zc_testbed_t *bed = zc_testbed_new ();
    ZC_CHECK (bed != NULL);
    if (!bed)
        return ZC_TEST_END;
    ZC_CHECK (zc_testbed_keygen (bed, NULL, "hub1", true) == 0);
    ZC_CHECK (zc_testbed_keygen (bed, NULL, "n1", false) == 0);
    ZC_CHECK (zc_testbed_keygen (bed, NULL, "n2", false) == 0);
    const char *started = zc_testbed_hub (bed, "hub1", "zcnc/heartbeat = 0.2", "zcnc/peer_timeout = 3", NULL);
    ZC_CHECK (started != NULL);
    char *endpoint = zc_strdup (started? started: "tcp://127.0.0.1:1");
    zsock_t *n1 = zc_testbed_peer (bed, NULL, "n1", "hub1", endpoint);
    zsock_t *n2 = zc_testbed_peer (bed, NULL, "n2", "hub1", endpoint);
    ZC_CHECK (n1 && n2);

    //  Peers that say HELLO get the directory, and a job reaches its
    //  target stamped with the origin's authenticated name.
    zc_wire_t *msg = s_test_hello (n1, "n1", ZC_MSG_NODES);
    ZC_CHECK (msg && (msg->flags & ZC_FLAG_FULL));
    zc_wire_destroy (&msg);
    msg = s_test_hello (n2, "n2", ZC_MSG_NODES);
    ZC_CHECK (msg != NULL);
    zc_wire_destroy (&msg);
    zc_id_t id = s_test_req (n1, "n2");
    msg = zc_testbed_expect (n2, ZC_MSG_REQ, 5000);
    ZC_CHECK (msg && zc_id_equal (&msg->id, &id) && streq (msg->from, "n1"));
    zc_wire_destroy (&msg);
    ZC_CHECK (s_test_facts (n1, n2) == 0);

    //  A copy of n2's key claiming another name is refused, on its own
    //  connection, and never becomes n2's route: every job for n2 keeps
    //  reaching n2, each within a second.
    zsock_t *impostor = zc_testbed_peer (bed, NULL, "n2", "hub1", endpoint);
    msg = s_test_hello (impostor, "n3", ZC_MSG_ERROR);
    ZC_CHECK (msg && msg->code == ZC_ERR_BAD_NAME && msg->text
              && streq (msg->text, "this key belongs to 'n2', not 'n3'"));
    zc_wire_destroy (&msg);
    size_t arrived = s_test_reaching (n1, n2, "n2", impostor, "n3");
    ZC_CHECK (arrived == 20);
    ZC_CHECK ((msg = zc_testbed_expect (impostor, ZC_MSG_REQ, 300)) == NULL);
    zc_wire_destroy (&msg);

    //  A BYE on the impostor's connection changes nothing; n2's own takes
    //  n2 offline at once (a job for it gets a NOROUTE), until its HELLO.
    zc_wire_t *bye = zc_wire_new (ZC_MSG_BYE);
    zc_wire_send (&bye, impostor, NULL);
    id = s_test_req (n1, "n2");
    msg = zc_testbed_expect (n2, ZC_MSG_REQ, 1000);
    ZC_CHECK (msg && zc_id_equal (&msg->id, &id));
    zc_wire_destroy (&msg);
    zsock_destroy (&impostor);
    bye = zc_wire_new (ZC_MSG_BYE);
    zc_wire_send (&bye, n2, NULL);
    //  The BYE and the job come on two connections, and the hub may read
    //  the job first (it then reaches n2): the next one is tried.
    ZC_CHECK (s_test_until_noroute (n1, "n2", 10, 500));
    while ((msg = zc_testbed_expect (n2, ZC_MSG_REQ, 100)))
        zc_wire_destroy (&msg);
    msg = s_test_hello (n2, "n2", ZC_MSG_NODES);
    ZC_CHECK (msg != NULL);
    zc_wire_destroy (&msg);
    id = s_test_req (n1, "n2");
    msg = zc_testbed_expect (n2, ZC_MSG_REQ, 1000);
    ZC_CHECK (msg && zc_id_equal (&msg->id, &id));
    zc_wire_destroy (&msg);

    //  One connection per name: while n1's lives, another with its key
    //  (a copied key, a cloned host) is refused, whatever it sends, and
    //  jobs for n1 keep reaching the first.
    zsock_t *second = zc_testbed_peer (bed, NULL, "n1", "hub1", endpoint);
    zc_wire_t *ping = zc_wire_new (ZC_MSG_PING);
    zc_wire_send (&ping, second, NULL);
    msg = zc_testbed_expect (second, ZC_MSG_ERROR, 3000);
    ZC_CHECK (msg && msg->code == ZC_ERR_DUPLICATE && msg->text
              && strstr (msg->text, "n1 is already connected from "));
    zc_wire_destroy (&msg);
    msg = s_test_hello (second, "n1", ZC_MSG_ERROR);
    ZC_CHECK (msg && msg->code == ZC_ERR_DUPLICATE);
    zc_wire_destroy (&msg);
    ZC_CHECK (s_test_reaching (n2, n1, "n1", second, "n1") == 20);
    ZC_CHECK ((msg = zc_testbed_expect (second, ZC_MSG_REQ, 300)) == NULL);
    zc_wire_destroy (&msg);
    //  Once the first connection is gone (a killed process's closes at
    //  once), the next HELLO takes over.
    zsock_destroy (&n1);
    bool took_over = false;
    for (int round = 0; round < 20 && !took_over; round++) {
        zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
        strcpy (hello->name, "n1");
        zc_wire_send (&hello, second, NULL);
        msg = zc_testbed_expect (second, ZC_MSG_PONG, 250);
        took_over = msg && (msg->flags & ZC_FLAG_FULL);     //  welcomed
        zc_wire_destroy (&msg);
    }
    ZC_CHECK (took_over);
    n1 = second;
    id = s_test_req (n2, "n1");
    msg = zc_testbed_expect (n1, ZC_MSG_REQ, 1000);
    ZC_CHECK (msg && zc_id_equal (&msg->id, &id));
    zc_wire_destroy (&msg);

    //  A revoked key: once n2.cert is gone, jobs for n2 get a NOROUTE.
    char *cert = zsys_sprintf ("%s/keys/n2.cert", zc_testbed_dir (bed));
    char *moved = zsys_sprintf ("%s/n2.cert.revoked", zc_testbed_dir (bed));
    ZC_CHECK (rename (cert, moved) == 0);
    ZC_CHECK (s_test_until_noroute (n1, "n2", 40, 200));
    ZC_CHECK (rename (moved, cert) == 0);

    //  A restart on the same endpoint: the hub forgot everyone; peers that
    //  say HELLO again are routed again.
    zc_testbed_stop (bed, "hub1");
    char *bind = zsys_sprintf ("hub/bind = %s", endpoint);
    //  The old hub's socket closes in ZeroMQ's background thread, which a
    //  busy machine runs late: the endpoint may be taken a little longer.
    started = NULL;
    for (int attempt = 0; attempt < 50 && !started; attempt++) {
        if (attempt)
            zclock_sleep (100);
        started = zc_testbed_hub (bed, "hub1", "zcnc/heartbeat = 0.2", "zcnc/peer_timeout = 3", bind, NULL);
    }
    ZC_CHECK (started != NULL);
    //  A job sent before n1's socket has dialled the new hub may go down
    //  with the old connection: sent again until the answer comes.
    bool not_hello = false;
    for (int attempt = 0; attempt < 10 && !not_hello; attempt++) {
        s_test_req (n1, "n2");
        msg = zc_testbed_expect (n1, ZC_MSG_ERROR, 1000);
        not_hello = msg && msg->code == ZC_ERR_NOT_HELLO;
        zc_wire_destroy (&msg);
    }
    ZC_CHECK (not_hello);
    msg = s_test_hello (n1, "n1", ZC_MSG_NODES);
    zc_wire_destroy (&msg);
    msg = s_test_hello (n2, "n2", ZC_MSG_NODES);
    zc_wire_destroy (&msg);
    id = s_test_req (n1, "n2");
    msg = zc_testbed_expect (n2, ZC_MSG_REQ, 5000);
    ZC_CHECK (msg && zc_id_equal (&msg->id, &id));
    zc_wire_destroy (&msg);
    if (verbose)
        printf ("# hub: %zu of 20 jobs reached n2 beside an impostor\n", arrived);

    free (bind);
    free (moved);
    free (cert);
    zsock_destroy (&n1);
    zsock_destroy (&n2);
    free (endpoint);
    zc_testbed_destroy (&bed);
    return ZC_TEST_END;
}
