/*  hubsub.c — a hub's pub/sub (hubsub.h).

    Interest is kept as routes (src/routes.c) whose keys are "HUB PATTERN":
    the route to "site2 logs.>" through a link says that hub site2, behind
    that link, wants logs.>. Our own agents' patterns are routes through
    'own' with the empty path. The best route of each key decides which
    hubs a PUB goes to and through which link; 'remote' indexes the keys
    of other hubs that have a best route by pattern, for matching.
*/
#include <sodium.h>
#include "prelude.h"
#include "hubsub.h"
#include "log.h"
#include "pubseal.h"
#include "routes.h"
#include "subject.h"
#include "testing.h"

#define S_MAX_AGENT_PATTERNS  4096          //  patterns one agent may subscribe to
#define S_MAX_RETAINED        10000         //  subjects retained at once
#define S_MAX_RETAINED_BYTES  (64u << 20)   //  and their bytes
#define S_INTEREST_BATCH      100           //  entries per INTEREST message
#define S_KEY_SIZE            (ZC_NAME_SIZE + ZC_WIRE_MAX_SUBJECT + 1)
#define S_MAX_LOGGED          10000
#define S_MAX_LINK_INTEREST   200000            //  entries one neighbour hub may advertise
#define S_MAX_RETAIN_SECONDS  (365 * 86400)     //  what a retained message may ask for
#define S_MAX_SKEW_MS         (300 * 1000)      //  how far ahead a publisher's clock may be

typedef struct {
    zc_wire_t *msg;             //  as it came, without targets
    int64_t expires;            //  monotonic ms
    bool clear;                 //  it cleared the subject: kept, never delivered
    size_t bytes;
} s_retained_t;

struct _zc_hubsub_t {
    char name [ZC_NAME_SIZE];
    zc_hubsub_links_t links;
    uint8_t sign_secret [64];
    bool signs;
    zc_interest_t *local;       //  pattern -> our agents
    zhashx_t *agents;           //  agent -> zhashx_t, the set of its patterns
    zc_routes_t *routes;        //  "HUB PATTERN" -> the links it is wanted through
    char own;                   //  the 'link' of our own agents' interest
    zc_interest_t *remote;      //  pattern -> other hubs, for the keys with a best route
    zhashx_t *known;            //  those keys
    zhashx_t *advertise;        //  keys whose best route changed since the last tick
    zhashx_t *full_seen;        //  link -> keys, while a FULL comes in from it in batches
    zhashx_t *lost;             //  links an INTEREST was lost to: they get a FULL
    zhashx_t *per_link;         //  link -> (void *) how many entries came through it
    size_t link_cap;            //  at most this many (S_MAX_LINK_INTEREST)
    zhashx_t *retained;         //  subject -> s_retained_t
    size_t retained_bytes;
    zc_log_once_t *logged;      //  what was logged once
    zc_hubsub_stats_t stats;
};

static void
s_retained_destroy (void **item)
{
    s_retained_t *retained = *item;
    zc_wire_destroy (&retained->msg);
    free (retained);
    *item = NULL;
}

static void
s_set_destroy (void **item)
{
    zhashx_t *set = *item;
    zhashx_destroy (&set);
    *item = NULL;
}

zc_hubsub_t *
zc_hubsub_new (const char *name, const uint8_t *sign_secret, const zc_hubsub_links_t *links)
{
    zc_hubsub_t *self = zc_calloc (1, sizeof *self);
    snprintf (self->name, sizeof self->name, "%s", name);
    self->links = *links;
    if (sign_secret) {
        memcpy (self->sign_secret, sign_secret, sizeof self->sign_secret);
        self->signs = true;
    }
    self->local = zc_interest_new ();
    self->agents = zhashx_new ();
    zhashx_set_destructor (self->agents, s_set_destroy);
    self->routes = zc_routes_new (name);
    zc_routes_allow_any_key (self->routes);
    self->remote = zc_interest_new ();
    self->known = zhashx_new ();
    self->advertise = zhashx_new ();
    self->full_seen = zhashx_new ();
    zhashx_set_destructor (self->full_seen, s_set_destroy);
    self->lost = zhashx_new ();
    self->per_link = zhashx_new ();
    self->link_cap = S_MAX_LINK_INTEREST;
    self->retained = zhashx_new ();
    zhashx_set_destructor (self->retained, s_retained_destroy);
    self->logged = zc_log_once_new (S_MAX_LOGGED);
    return self;
}

void
zc_hubsub_destroy (zc_hubsub_t **self_p)
{
    if (*self_p) {
        zc_hubsub_t *self = *self_p;
        sodium_memzero (self->sign_secret, sizeof self->sign_secret);
        zc_interest_destroy (&self->local);
        zhashx_destroy (&self->agents);
        zc_routes_destroy (&self->routes);
        zc_interest_destroy (&self->remote);
        zhashx_destroy (&self->known);
        zhashx_destroy (&self->advertise);
        zhashx_destroy (&self->full_seen);
        zhashx_destroy (&self->lost);
        zhashx_destroy (&self->per_link);
        zhashx_destroy (&self->retained);
        zc_log_once_destroy (&self->logged);
        free (self);
        *self_p = NULL;
    }
}

//  A link as a hash key.
static void
s_link_key (void *link, char key [32])
{
    snprintf (key, 32, "%p", link);
}

//  Splits "HUB PATTERN".
static void
s_key_split (const char *key, char hub [ZC_NAME_SIZE], const char **pattern)
{
    const char *space = strchr (key, ' ');
    size_t length = space? (size_t) (space - key): strlen (key);
    snprintf (hub, ZC_NAME_SIZE, "%.*s", (int) (length < ZC_NAME_SIZE? length: ZC_NAME_SIZE - 1), key);
    *pattern = space? space + 1: "";
}

//  Sends a message over a link (destroyed). 0 or -1.
static int
s_send (zc_hubsub_t *self, void *link, zc_wire_t **msg_p)
{
    bool bulk;
    zmsg_t *frames = zc_wire_encode_take (msg_p, &bulk);
    return frames? self->links.send (link, &frames, self->links.arg): -1;
}

//  A copy of a PUB for sending: its header and payload, no targets.
static zc_wire_t *
s_pub_copy (zc_wire_t *msg)
{
    zc_wire_t *copy = zc_wire_dup_header (msg, NULL);
    zlist_purge (copy->to);
    copy->payload = zframe_dup (msg->payload);
    return copy;
}

//  ---------------------------------------------------------------------
//  Interest

//  Takes the keys whose best route changed: the remote index follows,
//  and they go to the neighbour hubs at the next tick.
static void
s_interest_changed (zc_hubsub_t *self)
{
    zlist_t *keys = zc_routes_take_changes (self->routes);
    for (const char *key = zlist_first (keys); key; key = zlist_next (keys)) {
        zhashx_update (self->advertise, key, (void *) 1);
        char hub [ZC_NAME_SIZE];
        const char *pattern;
        s_key_split (key, hub, &pattern);
        if (streq (hub, self->name))
            continue;
        bool wanted = zc_routes_best (self->routes, key, NULL) != NULL;
        bool had = zhashx_lookup (self->known, key) != NULL;
        if (wanted && !had) {
            zc_interest_add (self->remote, pattern, hub);
            zhashx_insert (self->known, key, (void *) 1);
        }
        else
        if (!wanted && had) {
            zc_interest_remove (self->remote, pattern, hub);
            zhashx_delete (self->known, key);
        }
    }
    zlist_destroy (&keys);
}

//  What neighbour 'to' should know of 'key': wanted through us, or not
//  (also when our best route to it is through 'to' itself).
static void
s_entry (zc_hubsub_t *self, const char *key, void *to, zc_interest_entry_t *entry)
{
    memset (entry, 0, sizeof *entry);
    const char *pattern, *path = "";
    s_key_split (key, entry->hub, &pattern);
    snprintf (entry->pattern, sizeof entry->pattern, "%s", pattern);
    void *link = zc_routes_best (self->routes, key, &path);
    entry->online = link && link != to;
    if (entry->online)
        snprintf (entry->via, sizeof entry->via, "%s%s%s", self->name, *path? ">": "", path);
}

//  Sends the entries of 'keys' to a neighbour hub in batches; 'full' says
//  they are all it should know (only what is wanted is listed).
static void
s_send_entries (zc_hubsub_t *self, void *to, zlist_t *keys, bool full)
{
    size_t total = zlist_size (keys);
    zc_interest_entry_t *entries = zc_calloc (total? total: 1, sizeof *entries);
    size_t count = 0;
    for (const char *key = zlist_first (keys); key; key = zlist_next (keys)) {
        s_entry (self, key, to, &entries [count]);
        if (entries [count].online || !full)
            count++;
    }
    size_t sent = 0;
    do {
        size_t batch = count - sent > S_INTEREST_BATCH? S_INTEREST_BATCH: count - sent;
        zc_wire_t *msg = zc_wire_new (ZC_MSG_INTEREST);
        if (full)
            msg->flags |= ZC_FLAG_FULL | (sent + batch < count? ZC_FLAG_MORE: 0);
        msg->payload = zc_wire_interest_payload (entries + sent, batch);
        if (s_send (self, to, &msg) != 0) {
            char link [32];
            s_link_key (to, link);
            zhashx_update (self->lost, link, (void *) 1);
        }
        sent += batch;
    } while (sent < count);
    free (entries);
}

static void
s_send_full (zc_hubsub_t *self, void *to)
{
    zlist_t *keys = zc_routes_names (self->routes);
    s_send_entries (self, to, keys, true);
    zlist_destroy (&keys);
}

//  One entry less through a link, when one was withdrawn.
static void
s_less (size_t *held, bool withdrawn)
{
    if (withdrawn && *held)
        (*held)--;
}

void
zc_hubsub_set_interest_cap (zc_hubsub_t *self, size_t cap)
{
    self->link_cap = cap;
}

int
zc_hubsub_on_interest (zc_hubsub_t *self, void *hub, zc_wire_t *msg)
{
    const char *from = self->links.name (hub, self->links.arg);
    zc_interest_entry_t *entries = NULL;
    size_t count = 0;
    if (zc_wire_interest_payload_decode (msg->payload, &entries, &count) != 0)
        return -1;
    bool full = (msg->flags & ZC_FLAG_FULL) != 0, more = full && (msg->flags & ZC_FLAG_MORE);
    char link [32];
    s_link_key (hub, link);
    zhashx_t *seen = zhashx_lookup (self->full_seen, link);
    if (full && !seen) {
        seen = zhashx_new ();
        zhashx_insert (self->full_seen, link, seen);
    }
    size_t prefix = strlen (from);
    size_t held = (size_t) zhashx_lookup (self->per_link, link);
    for (size_t index = 0; index < count; index++) {
        zc_interest_entry_t *entry = &entries [index];
        char key [S_KEY_SIZE];
        snprintf (key, sizeof key, "%s %s", entry->hub, entry->pattern);
        if (!entry->online) {
            s_less (&held, zc_routes_withdraw (self->routes, key, hub));
            continue;
        }
        bool had = zc_routes_has (self->routes, key, hub);
        if (!had && held >= self->link_cap) {
            //  Bounded: a neighbour that advertises more is not followed.
            self->stats.refused++;
            char what [80];
            snprintf (what, sizeof what, "interest-cap:%s", from);
            zc_warn_once (self->logged, what, "hub %s advertises more than %zu interests; the rest are"
                          " ignored (logged once)", from, self->link_cap);
            continue;
        }
        const char *last = strrchr (entry->via, '>');
        last = last? last + 1: entry->via;
        bool through_sender = strncmp (entry->via, from, prefix) == 0
                           && (entry->via [prefix] == 0 || entry->via [prefix] == '>');
        if (!through_sender || !streq (last, entry->hub)) {
            char what [S_KEY_SIZE + 80], line [S_KEY_SIZE + ZC_VIA_MAX + 100];
            snprintf (what, sizeof what, "interest:%s:%s", from, key);
            snprintf (line, sizeof line, "refused interest in %s for hub %s via %s from hub %s"
                      " (the path does not go from it to that hub)", entry->pattern, entry->hub,
                      entry->via, from);
            zc_warn_once (self->logged, what, "%s", line);
            s_less (&held, zc_routes_withdraw (self->routes, key, hub));
        }
        else
        if (zc_routes_set (self->routes, key, hub, entry->via) != 0)
            //  Through us (in a mesh with loops, our own interest comes
            //  back the long way), or too long: not a way to that hub.
            s_less (&held, zc_routes_withdraw (self->routes, key, hub));
        else {
            held += !had;
            if (full)
                zhashx_update (seen, key, (void *) 1);
        }
    }
    free (entries);
    if (full && !more) {
        zlist_t *keys = zc_routes_names_via (self->routes, hub);
        for (const char *key = zlist_first (keys); key; key = zlist_next (keys))
            if (!zhashx_lookup (seen, key))
                s_less (&held, zc_routes_withdraw (self->routes, key, hub));
        zlist_destroy (&keys);
        zhashx_delete (self->full_seen, link);
    }
    if (held)
        zhashx_update (self->per_link, link, (void *) held);
    else
        zhashx_delete (self->per_link, link);
    if (!more)
        s_interest_changed (self);
    return 0;
}

//  Sends an agent the retained messages that match 'pattern', and the
//  clears (so that it forgets a copy it kept while it could not hear of
//  them).
static void
s_send_retained (zc_hubsub_t *self, void *agent, const char *pattern, int64_t now)
{
    for (s_retained_t *retained = zhashx_first (self->retained); retained;
         retained = zhashx_next (self->retained)) {
        if (retained->expires <= now
        ||  !zc_subject_matches (pattern, retained->msg->subject))
            continue;
        zc_wire_t *copy = s_pub_copy (retained->msg);
        copy->retain = (uint32_t) ((retained->expires - now + 999) / 1000);
        if (s_send (self, agent, &copy) == 0)
            self->stats.delivered++;
        else
            self->stats.lost++;
    }
}

//  One more pattern of an agent's: 1 when it is new, 0 when it had it,
//  -1 when it has too many.
static int
s_agent_add (zc_hubsub_t *self, const char *name, zhashx_t *set, const char *pattern)
{
    if (zhashx_lookup (set, pattern))
        return 0;
    if (zhashx_size (set) >= S_MAX_AGENT_PATTERNS)
        return -1;
    zhashx_insert (set, pattern, (void *) 1);
    if (zc_interest_add (self->local, pattern, name)) {
        char key [S_KEY_SIZE];
        snprintf (key, sizeof key, "%s %s", self->name, pattern);
        zc_routes_set (self->routes, key, &self->own, "");
    }
    return 1;
}

static void
s_agent_remove (zc_hubsub_t *self, const char *name, zhashx_t *set, const char *pattern)
{
    if (!zhashx_lookup (set, pattern))
        return;
    zhashx_delete (set, pattern);
    if (zc_interest_remove (self->local, pattern, name)) {
        char key [S_KEY_SIZE];
        snprintf (key, sizeof key, "%s %s", self->name, pattern);
        zc_routes_withdraw (self->routes, key, &self->own);
    }
}

int
zc_hubsub_on_subscribe (zc_hubsub_t *self, void *agent, zc_wire_t *msg, const char **problem)
{
    const char *name = self->links.name (agent, self->links.arg);
    zhashx_t *set = zhashx_lookup (self->agents, name);
    if (!set) {
        set = zhashx_new ();
        zhashx_insert (self->agents, name, set);
    }
    int rc = 0;
    if (msg->type == ZC_MSG_UNSUB)
        for (const char *pattern = zlist_first (msg->patterns); pattern; pattern = zlist_next (msg->patterns))
            s_agent_remove (self, name, set, pattern);
    else {
        if (msg->flags & ZC_FLAG_FULL) {
            //  All it subscribes to: what it no longer names goes.
            zhashx_t *wanted = zhashx_new ();
            for (const char *pattern = zlist_first (msg->patterns); pattern; pattern = zlist_next (msg->patterns))
                zhashx_update (wanted, pattern, (void *) 1);
            zlistx_t *old = zhashx_keys (set);
            for (const char *pattern = zlistx_first (old); pattern; pattern = zlistx_next (old))
                if (!zhashx_lookup (wanted, pattern))
                    s_agent_remove (self, name, set, pattern);
            zlistx_destroy (&old);
            zhashx_destroy (&wanted);
        }
        //  The retained messages of a new pattern go to the agent; with
        //  FULL (a link came back), of every pattern: it may have missed
        //  some meanwhile, and drops those it has (by ID).
        bool full = (msg->flags & ZC_FLAG_FULL) != 0;
        for (const char *pattern = zlist_first (msg->patterns); pattern && rc >= 0;
             pattern = zlist_next (msg->patterns)) {
            rc = s_agent_add (self, name, set, pattern);
            if (rc > 0 || (rc == 0 && full))
                s_send_retained (self, agent, pattern, zclock_mono ());
        }
        rc = rc < 0? -1: 0;
    }
    if (zhashx_size (set) == 0)
        zhashx_delete (self->agents, name);
    s_interest_changed (self);
    if (rc != 0) {
        self->stats.refused++;
        *problem = "more than 4096 subscriptions from one node";
    }
    return rc;
}

bool
zc_hubsub_agent_has (zc_hubsub_t *self, const char *agent, const char *pattern)
{
    zhashx_t *set = zhashx_lookup (self->agents, agent);
    return set && zhashx_lookup (set, pattern);
}

void
zc_hubsub_agent_gone (zc_hubsub_t *self, const char *agent)
{
    zhashx_t *set = zhashx_lookup (self->agents, agent);
    if (!set)
        return;
    zlistx_t *patterns = zhashx_keys (set);
    for (const char *pattern = zlistx_first (patterns); pattern; pattern = zlistx_next (patterns))
        s_agent_remove (self, agent, set, pattern);
    zlistx_destroy (&patterns);
    zhashx_delete (self->agents, agent);
    s_interest_changed (self);
}

void
zc_hubsub_hub_up (zc_hubsub_t *self, void *hub)
{
    s_send_full (self, hub);
    int64_t now = zclock_mono ();
    for (s_retained_t *retained = zhashx_first (self->retained); retained;
         retained = zhashx_next (self->retained)) {
        if (retained->expires <= now)
            continue;
        zc_wire_t *copy = s_pub_copy (retained->msg);
        copy->retain = (uint32_t) ((retained->expires - now + 999) / 1000);
        if (s_send (self, hub, &copy) == 0)
            self->stats.forwarded++;
        else
            self->stats.lost++;
    }
}

void
zc_hubsub_hub_down (zc_hubsub_t *self, void *hub)
{
    char link [32];
    s_link_key (hub, link);
    zhashx_delete (self->full_seen, link);
    zhashx_delete (self->lost, link);
    zhashx_delete (self->per_link, link);
    zc_routes_drop_link (self->routes, hub);
    s_interest_changed (self);
}

//  ---------------------------------------------------------------------
//  Publications

//  Sends a PUB to every local agent that wants its subject.
static void
s_deliver_local (zc_hubsub_t *self, zc_wire_t *msg)
{
    zlist_t *agents = zc_interest_match (self->local, msg->subject);
    zmsg_t *frames = NULL;
    if (zlist_size (agents)) {
        zc_wire_t *copy = s_pub_copy (msg);
        bool bulk;
        frames = zc_wire_encode_take (&copy, &bulk);
    }
    for (const char *name = zlist_first (agents); name && frames; name = zlist_next (agents)) {
        void *link = self->links.agent (name, self->links.arg);
        if (!link)
            continue;
        zmsg_t *one = zmsg_dup (frames);
        if (self->links.send (link, &one, self->links.arg) == 0)
            self->stats.delivered++;
        else
            self->stats.lost++;
    }
    zmsg_destroy (&frames);
    zlist_destroy (&agents);
}

//  The hubs a PUB goes to, each with the link of its best route.
typedef struct {
    zc_hubsub_t *self;
    zhashx_t *hubs;             //  hub -> link
} s_targets_t;

static void
s_collect_hub (const char *pattern, const char *hub, void *arg)
{
    s_targets_t *targets = arg;
    if (zhashx_lookup (targets->hubs, hub))
        return;
    char key [S_KEY_SIZE];
    snprintf (key, sizeof key, "%s %s", hub, pattern);
    void *link = zc_routes_best (targets->self->routes, key, NULL);
    if (link)
        zhashx_insert (targets->hubs, hub, link);
}

//  A PUB that is not retained: to our agents (when it came from one of
//  them, from us, or names us) and on to the other hubs that want it
//  (all of them, or those it names), once per next hop.
static void
s_route_pub (zc_hubsub_t *self, void *arrival, bool from_hub, zc_wire_t *msg)
{
    bool here = !from_hub;
    zhashx_t *named = NULL;
    if (from_hub) {
        named = zhashx_new ();
        for (const char *hub = zlist_first (msg->to); hub; hub = zlist_next (msg->to)) {
            if (streq (hub, self->name))
                here = true;
            zhashx_update (named, hub, (void *) 1);
        }
    }
    s_targets_t targets = { self, zhashx_new () };
    zc_interest_each_match (self->remote, msg->subject, s_collect_hub, &targets);
    zlist_t *hops = zlist_new ();         //  links, each once
    zhashx_t *behind = zhashx_new ();     //  link -> zlist of hubs
    zhashx_set_destructor (behind, (zhashx_destructor_fn *) zlist_destroy);
    for (void *link = zhashx_first (targets.hubs); link; link = zhashx_next (targets.hubs)) {
        const char *hub = zhashx_cursor (targets.hubs);
        if ((named && !zhashx_lookup (named, hub)) || link == arrival)
            continue;
        char key [32];
        s_link_key (link, key);
        zlist_t *list = zhashx_lookup (behind, key);
        if (!list) {
            list = zlist_new ();
            zlist_autofree (list);
            zhashx_insert (behind, key, list);
            zlist_append (hops, link);
        }
        zlist_append (list, (void *) hub);
    }
    for (void *link = zlist_first (hops); link; link = zlist_next (hops)) {
        char key [32];
        s_link_key (link, key);
        zlist_t *list = zhashx_lookup (behind, key);
        zc_wire_t *copy = s_pub_copy (msg);
        for (const char *hub = zlist_first (list); hub; hub = zlist_next (list))
            zlist_append (copy->to, (void *) hub);
        if (s_send (self, link, &copy) == 0)
            self->stats.forwarded++;
        else
            self->stats.lost++;
    }
    zlist_destroy (&hops);
    zhashx_destroy (&behind);
    zhashx_destroy (&targets.hubs);
    zhashx_destroy (&named);
    if (here)
        s_deliver_local (self, msg);
}

//  A retained PUB: kept when it is newer than what we have for its
//  subject, then passed to every other hub and delivered here.
static int
s_retained_in (zc_hubsub_t *self, void *arrival, zc_wire_t *msg, const char **problem)
{
    s_retained_t *known = zhashx_lookup (self->retained, msg->subject);
    if (known && memcmp (known->msg->id.bytes, msg->id.bytes, ZC_ID_SIZE) >= 0)
        return 0;                       //  old news, or news we passed on already
    zc_pub_payload_t payload;
    if (zc_wire_pub_payload_decode (msg->payload, &payload) != 0) {
        *problem = "malformed PUB payload";
        return -1;
    }
    zc_wire_pub_payload_clear (&payload);
    bool clear = (msg->flags & ZC_FLAG_CLEAR) != 0;
    size_t bytes = zframe_size (msg->payload) + strlen (msg->subject) + sizeof (s_retained_t)
                 + sizeof (zc_wire_t);
    if ((!known && zhashx_size (self->retained) >= S_MAX_RETAINED)
    ||  self->retained_bytes - (known? known->bytes: 0) + bytes > S_MAX_RETAINED_BYTES) {
        self->stats.refused++;
        zc_warn_once (self->logged, "retained:full", "cannot retain more messages (10000 subjects or 64 MiB):"
                    " new retained subjects are delivered but not kept (logged once)");
        if (!clear)
            s_deliver_local (self, msg);
        return 0;
    }
    s_retained_t *retained = zc_calloc (1, sizeof *retained);
    retained->msg = s_pub_copy (msg);
    retained->expires = zclock_mono () + (int64_t) msg->retain * 1000;
    retained->clear = clear;
    retained->bytes = bytes;
    if (known)
        self->retained_bytes -= known->bytes;
    self->retained_bytes += bytes;
    zhashx_update (self->retained, msg->subject, retained);
    zlist_t *hubs = self->links.hubs (self->links.arg);
    for (void *hub = zlist_first (hubs); hub; hub = zlist_next (hubs)) {
        if (hub == arrival)
            continue;
        zc_wire_t *copy = s_pub_copy (msg);
        if (s_send (self, hub, &copy) == 0)
            self->stats.forwarded++;
        else
            self->stats.lost++;
    }
    zlist_destroy (&hubs);
    //  A clear goes to the agents too: they forget what they kept of it.
    s_deliver_local (self, msg);
    return 0;
}

int
zc_hubsub_on_pub (zc_hubsub_t *self, void *arrival, bool from_hub, zc_wire_t *msg,
                  const char **problem)
{
    *problem = NULL;
    if (!from_hub && zc_subject_is_system (msg->subject))
        *problem = "only hubs publish under $sys.";
    else
    if (!from_hub && zlist_size (msg->to))
        *problem = "a PUB from a node names no targets";
    else
    if (from_hub && !*msg->from)
        *problem = "a PUB from a hub without its publisher";
    else
    if (from_hub && !msg->retain && zlist_size (msg->to) == 0)
        *problem = "a PUB from a hub without target hubs";
    else
    if (!from_hub && msg->retain > S_MAX_RETAIN_SECONDS)
        *problem = "a retained PUB kept longer than a year";
    else
    if (!from_hub && msg->retain && zc_id_time_ms (&msg->id) > (uint64_t) zclock_time () + S_MAX_SKEW_MS)
        *problem = "a retained PUB from the future (is the publisher's clock right?)";
    else
    if (!from_hub && !msg->retain) {
        //  Checked where it enters (a retained one when it is kept): no
        //  subscriber gets one it cannot open.
        zc_pub_payload_t payload;
        if (zc_wire_pub_payload_decode (msg->payload, &payload) != 0)
            *problem = "a PUB whose payload is malformed";
        zc_wire_pub_payload_clear (&payload);
    }
    if (*problem) {
        self->stats.refused++;
        return -1;
    }
    if (msg->hops <= 1) {
        self->stats.lost++;
        return 0;
    }
    msg->hops--;
    if (!from_hub)
        self->stats.published++;
    if (msg->retain) {
        int rc = s_retained_in (self, arrival, msg, problem);
        if (rc != 0)
            self->stats.refused++;
        return rc;
    }
    s_route_pub (self, arrival, from_hub, msg);
    return 0;
}

void
zc_hubsub_publish (zc_hubsub_t *self, const char *subject, const char *data)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_PUB);
    snprintf (msg->from, sizeof msg->from, "%s", self->name);
    msg->subject = zc_strdup (subject);
    zlist_t *items = zlist_new ();
    zlist_append (items, zframe_new (data, strlen (data)));
    msg->payload = zc_pubseal_make (self->signs? self->sign_secret: NULL, msg, self->name, items);
    zc_pubseal_items_destroy (&items);
    if (msg->payload) {
        self->stats.published++;
        s_route_pub (self, NULL, false, msg);
    }
    zc_wire_destroy (&msg);
}

//  ---------------------------------------------------------------------
//  Ticks

void
zc_hubsub_tick (zc_hubsub_t *self, int64_t now)
{
    zlist_t *hubs = self->links.hubs (self->links.arg);
    zlist_t *keys = NULL;
    if (zhashx_size (self->advertise)) {
        zlistx_t *changed = zhashx_keys (self->advertise);
        keys = zlist_new ();
        zlist_autofree (keys);
        for (const char *key = zlistx_first (changed); key; key = zlistx_next (changed))
            zlist_append (keys, (void *) key);
        zlistx_destroy (&changed);
        zhashx_purge (self->advertise);
    }
    for (void *hub = zlist_first (hubs); hub; hub = zlist_next (hubs)) {
        char link [32];
        s_link_key (hub, link);
        if (zhashx_lookup (self->lost, link)) {
            zhashx_delete (self->lost, link);
            s_send_full (self, hub);
        }
        else
        if (keys)
            s_send_entries (self, hub, keys, false);
    }
    zlist_destroy (&keys);
    zlist_destroy (&hubs);
    zlist_t *expired = zlist_new ();
    zlist_autofree (expired);
    for (s_retained_t *retained = zhashx_first (self->retained); retained;
         retained = zhashx_next (self->retained))
        if (retained->expires <= now)
            zlist_append (expired, (void *) zhashx_cursor (self->retained));
    for (const char *subject = zlist_first (expired); subject; subject = zlist_next (expired)) {
        s_retained_t *retained = zhashx_lookup (self->retained, subject);
        self->retained_bytes -= retained->bytes;
        zhashx_delete (self->retained, subject);
    }
    zlist_destroy (&expired);
}

zc_hubsub_stats_t
zc_hubsub_stats (zc_hubsub_t *self)
{
    zc_hubsub_stats_t stats = self->stats;
    stats.retained = zhashx_size (self->retained);
    return stats;
}

size_t
zc_hubsub_local_patterns (zc_hubsub_t *self)
{
    return zc_interest_size (self->local);
}

size_t
zc_hubsub_remote_entries (zc_hubsub_t *self)
{
    return zhashx_size (self->known);
}

//  ---------------------------------------------------------------------
//  Self-test: hubs wired to each other in-process, agents that record
//  what they get.

#define S_TEST_LINKS 64

typedef struct s_test_hub_t s_test_hub_t;
typedef struct s_test_link_t s_test_link_t;

struct s_test_link_t {
    char name [ZC_NAME_SIZE];   //  the agent's, or the hub's at the other end
    bool up;
    s_test_hub_t *peer;         //  a hub link: the other hub ...
    s_test_link_t *back;        //  ... and its link to us
    size_t messages, bytes;     //  what crossed it from us
    zlist_t *got;               //  an agent's: "subject=data" (autofree)
};

struct s_test_hub_t {
    zc_hubsub_t *sub;
    s_test_link_t links [S_TEST_LINKS];
    size_t count;
};

static int
s_test_send (void *link, zmsg_t **frames_p, void *arg)
{
    s_test_link_t *to = link;
    zmsg_t *frames = *frames_p;
    *frames_p = NULL;
    to->messages++;
    to->bytes += zframe_size (zmsg_first (frames));
    zc_wire_t *msg = zc_wire_decode (frames, zmsg_first (frames), NULL);
    zmsg_destroy (&frames);
    if (!msg)
        return -1;
    if (to->peer) {
        const char *problem;
        if (msg->type == ZC_MSG_INTEREST)
            zc_hubsub_on_interest (to->peer->sub, to->back, msg);
        else
        if (msg->type == ZC_MSG_PUB)
            zc_hubsub_on_pub (to->peer->sub, to->back, true, msg, &problem);
    }
    else {
        zc_pub_payload_t opened;
        zc_pub_auth_t auth;
        const char *problem;
        if (zc_pubseal_open (NULL, msg, &opened, &auth, &problem) == 0) {
            char line [400];
            snprintf (line, sizeof line, "%s=%.*s", msg->subject, (int) opened.item [0].size,
                      (const char *) opened.item [0].data);
            zlist_append (to->got, line);
            zc_wire_pub_payload_clear (&opened);
        }
    }
    zc_wire_destroy (&msg);
    return 0;
}

static zlist_t *
s_test_hubs (void *arg)
{
    s_test_hub_t *hub = arg;
    zlist_t *hubs = zlist_new ();
    for (size_t index = 0; index < hub->count; index++)
        if (hub->links [index].peer && hub->links [index].up)
            zlist_append (hubs, &hub->links [index]);
    return hubs;
}

static const char *
s_test_name (void *link, void *arg)
{
    return ((s_test_link_t *) link)->name;
}

static void *
s_test_agent (const char *name, void *arg)
{
    s_test_hub_t *hub = arg;
    for (size_t index = 0; index < hub->count; index++)
        if (!hub->links [index].peer && streq (hub->links [index].name, name))
            return &hub->links [index];
    return NULL;
}

static void
s_test_hub_init (s_test_hub_t *hub, const char *name)
{
    memset (hub, 0, sizeof *hub);
    zc_hubsub_links_t links = { s_test_send, s_test_hubs, s_test_name, s_test_agent, hub };
    hub->sub = zc_hubsub_new (name, NULL, &links);
}

static void
s_test_hub_fini (s_test_hub_t *hub)
{
    zc_hubsub_destroy (&hub->sub);
    for (size_t index = 0; index < hub->count; index++)
        zlist_destroy (&hub->links [index].got);
}

static s_test_link_t *
s_test_agent_add (s_test_hub_t *hub, const char *name)
{
    s_test_link_t *link = &hub->links [hub->count++];
    snprintf (link->name, sizeof link->name, "%s", name);
    link->got = zlist_new ();
    zlist_autofree (link->got);
    return link;
}

//  Links two hubs, both ways (up at once, as after a HELLO).
static s_test_link_t *
s_test_connect (s_test_hub_t *a, const char *a_name, s_test_hub_t *b, const char *b_name)
{
    s_test_link_t *ab = &a->links [a->count++], *ba = &b->links [b->count++];
    snprintf (ab->name, sizeof ab->name, "%s", b_name);
    snprintf (ba->name, sizeof ba->name, "%s", a_name);
    ab->peer = b;
    ab->back = ba;
    ba->peer = a;
    ba->back = ab;
    ab->up = ba->up = true;
    zc_hubsub_hub_up (a->sub, ab);
    zc_hubsub_hub_up (b->sub, ba);
    return ab;
}

static void
s_test_disconnect (s_test_hub_t *a, s_test_link_t *ab)
{
    s_test_link_t *ba = ab->back;
    ab->up = ba->up = false;
    zc_hubsub_hub_down (a->sub, ab);
    zc_hubsub_hub_down (ab->peer->sub, ba);
}

//  Ticks every hub a few times: interest travels one hop per tick.
static void
s_test_settle (s_test_hub_t **hubs, size_t count)
{
    for (int round = 0; round < 6; round++)
        for (size_t index = 0; index < count; index++)
            zc_hubsub_tick (hubs [index]->sub, zclock_mono ());
}

static int
s_test_subscribe (s_test_hub_t *hub, s_test_link_t *agent, uint8_t type, bool full, const char *pattern)
{
    zc_wire_t *msg = zc_wire_new ((zc_msg_type_t) type);
    if (full)
        msg->flags |= ZC_FLAG_FULL;
    if (pattern)
        zlist_append (msg->patterns, (void *) pattern);
    const char *problem = NULL;
    int rc = zc_hubsub_on_subscribe (hub->sub, agent, msg, &problem);
    zc_wire_destroy (&msg);
    return rc;
}

//  Publishes 'data' on 'subject' as agent 'from' of 'hub' (NULL: a
//  clear); the problem or NULL.
static const char *
s_test_publish (s_test_hub_t *hub, s_test_link_t *from, const char *subject, const char *data,
                uint32_t retain)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_PUB);
    snprintf (msg->from, sizeof msg->from, "%s", from->name);
    msg->subject = zc_strdup (subject);
    msg->retain = retain;
    if (!data) {
        msg->flags |= ZC_FLAG_CLEAR;
        data = "";
    }
    zlist_t *items = zlist_new ();
    zlist_append (items, zframe_new (data, strlen (data)));
    msg->payload = zc_pubseal_make (NULL, msg, from->name, items);
    zc_pubseal_items_destroy (&items);
    const char *problem = NULL;
    zc_hubsub_on_pub (hub->sub, from, false, msg, &problem);
    zc_wire_destroy (&msg);
    return problem;
}

//  True when an agent got exactly these lines, in order; forgets them.
static bool
s_test_got (s_test_link_t *agent, const char *expected)
{
    char all [2000] = "";
    for (const char *line = zlist_first (agent->got); line; line = zlist_next (agent->got))
        snprintf (all + strlen (all), sizeof all - strlen (all), "%s%s", *all? " ": "", line);
    zlist_purge (agent->got);
    if (streq (all, expected))
        return true;
    zc_warn ("%s got '%s', expected '%s'", agent->name, all, expected);
    return false;
}

int
zc_hubsub_test (bool verbose)
{
    ZC_TEST_BEGIN;
    //  A chain a - b - c, and a loop back from c to a (added later).
    s_test_hub_t a, b, c;
    s_test_hub_init (&a, "a");
    s_test_hub_init (&b, "b");
    s_test_hub_init (&c, "c");
    s_test_hub_t *all [] = { &a, &b, &c };
    s_test_link_t *a1 = s_test_agent_add (&a, "a1"), *a2 = s_test_agent_add (&a, "a2");
    s_test_link_t *c1 = s_test_agent_add (&c, "c1");
    s_test_link_t *b1 = s_test_agent_add (&b, "b1");
    s_test_link_t *c_subs [40];
    for (int index = 0; index < 40; index++) {
        char name [16];
        snprintf (name, sizeof name, "s%d", index);
        c_subs [index] = s_test_agent_add (&c, name);
    }
    s_test_link_t *ab = s_test_connect (&a, "a", &b, "b");
    s_test_link_t *bc = s_test_connect (&b, "b", &c, "c");

    //  Wildcards, across two hubs.
    ZC_CHECK (s_test_subscribe (&c, c1, ZC_MSG_SUB, false, "logs.*.nginx") == 0);
    ZC_CHECK (s_test_subscribe (&a, a2, ZC_MSG_SUB, false, "logs.>") == 0);
    s_test_settle (all, 3);
    ZC_CHECK (zc_hubsub_remote_entries (a.sub) == 1 && zc_hubsub_remote_entries (b.sub) == 2
           && zc_hubsub_remote_entries (c.sub) == 1);
    ZC_CHECK (s_test_publish (&a, a1, "logs.web1.nginx", "x", 0) == NULL);
    ZC_CHECK (s_test_publish (&a, a1, "logs.web1.sshd", "y", 0) == NULL);
    ZC_CHECK (s_test_got (c1, "logs.web1.nginx=x"));
    ZC_CHECK (s_test_got (a2, "logs.web1.nginx=x logs.web1.sshd=y"));
    ZC_CHECK (s_test_got (a1, ""));
    //  What nobody beyond a link wants does not cross it.
    size_t crossed = ab->messages;
    ZC_CHECK (s_test_publish (&a, a1, "metrics.cpu", "1", 0) == NULL);
    ZC_CHECK (s_test_publish (&a, a1, "logs.web1.sshd", "2", 0) == NULL);
    ZC_CHECK (ab->messages == crossed);
    zlist_purge (a2->got);
    //  40 subscribers behind c: one copy crosses each link.
    for (int index = 0; index < 40; index++)
        ZC_CHECK (s_test_subscribe (&c, c_subs [index], ZC_MSG_SUB, false, "deploy.done") == 0);
    s_test_settle (all, 3);
    crossed = ab->messages;
    size_t crossed_bc = bc->messages;
    ZC_CHECK (s_test_publish (&a, a1, "deploy.done", "v2", 0) == NULL);
    ZC_CHECK (ab->messages == crossed + 1 && bc->messages == crossed_bc + 1);
    int got = 0;
    for (int index = 0; index < 40; index++)
        got += s_test_got (c_subs [index], "deploy.done=v2");
    ZC_CHECK (got == 40);
    //  A node may not publish under $sys. nor name targets; the hub may.
    ZC_CHECK (s_test_subscribe (&c, c1, ZC_MSG_SUB, false, "$sys.online.>") == 0);
    s_test_settle (all, 3);
    ZC_CHECK_STR (s_test_publish (&a, a1, "$sys.online.a1", "{}", 0), "only hubs publish under $sys.");
    zc_hubsub_publish (a.sub, "$sys.online.a1", "{\"reason\":\"hello\"}");
    ZC_CHECK (s_test_got (c1, "$sys.online.a1={\"reason\":\"hello\"}"));

    //  A loop: c - a. Withdrawing interest does not count to infinity.
    s_test_link_t *ca = s_test_connect (&c, "c", &a, "a");
    s_test_settle (all, 3);
    crossed = ab->messages + ca->back->messages;
    ZC_CHECK (s_test_publish (&a, a1, "logs.web2.nginx", "z", 0) == NULL);
    ZC_CHECK (s_test_got (c1, "logs.web2.nginx=z"));    //  once, by the shorter way
    ZC_CHECK (ab->messages + ca->back->messages == crossed + 1);
    ZC_CHECK (s_test_subscribe (&c, c1, ZC_MSG_UNSUB, false, "logs.*.nginx") == 0);
    s_test_settle (all, 3);
    ZC_CHECK (zc_hubsub_remote_entries (a.sub) == 2);  //  c's deploy.done and $sys.online.>
    crossed = ab->messages + ca->back->messages;
    ZC_CHECK (s_test_publish (&a, a1, "logs.web2.nginx", "gone", 0) == NULL);
    ZC_CHECK (ab->messages + ca->back->messages == crossed);
    //  Links go: a keeps reaching c the other way; then c is cut off.
    s_test_disconnect (&c, ca);
    s_test_settle (all, 3);
    ZC_CHECK (s_test_publish (&a, a1, "deploy.done", "v3", 0) == NULL);
    ZC_CHECK (s_test_got (c_subs [0], "deploy.done=v3"));
    s_test_disconnect (&b, bc);
    s_test_settle (all, 3);
    ZC_CHECK (zc_hubsub_remote_entries (a.sub) == 0);

    //  A neighbour's interests are bounded: past the cap, ignored and
    //  counted; a withdrawal makes room again.
    zc_hubsub_set_interest_cap (a.sub, 3);
    size_t refused_before = zc_hubsub_stats (a.sub).refused;
    for (int index = 0; index < 5; index++) {
        char pattern [32];
        snprintf (pattern, sizeof pattern, "cap.%d", index);
        ZC_CHECK (s_test_subscribe (&b, b1, ZC_MSG_SUB, false, pattern) == 0);
    }
    s_test_settle (all, 3);
    ZC_CHECK (zc_hubsub_stats (a.sub).refused > refused_before);
    ZC_CHECK (zc_hubsub_remote_entries (a.sub) == 3);
    ZC_CHECK (s_test_subscribe (&b, b1, ZC_MSG_UNSUB, false, "cap.0") == 0);
    s_test_settle (all, 3);
    ZC_CHECK (zc_hubsub_remote_entries (a.sub) <= 3);
    for (int index = 0; index < 5; index++) {
        char pattern [32];
        snprintf (pattern, sizeof pattern, "cap.%d", index);
        s_test_subscribe (&b, b1, ZC_MSG_UNSUB, false, pattern);
    }
    s_test_settle (all, 3);
    zc_hubsub_set_interest_cap (a.sub, S_MAX_LINK_INTEREST);

    //  Retained: kept by every hub, given to a later subscriber anywhere,
    //  the newest wins, an empty one clears.
    zlist_purge (c_subs [1]->got);
    bc = s_test_connect (&b, "b", &c, "c");
    ZC_CHECK (s_test_publish (&a, a1, "upload.done", "v1", 3600) == NULL);
    ZC_CHECK (zc_hubsub_stats (c.sub).retained == 1);
    ZC_CHECK (s_test_subscribe (&c, c_subs [1], ZC_MSG_SUB, false, "upload.*") == 0);
    ZC_CHECK (s_test_got (c_subs [1], "upload.done=v1"));
    ZC_CHECK (s_test_publish (&a, a1, "upload.done", "v2", 3600) == NULL);
    ZC_CHECK (s_test_got (c_subs [1], "upload.done=v2"));
    //  A hub that comes back gets them from its neighbour; a subscriber
    //  that re-subscribes (FULL) to what it had gets no copy again.
    s_test_disconnect (&b, bc);
    s_test_hub_t d;
    s_test_hub_init (&d, "d");
    s_test_link_t *d1 = s_test_agent_add (&d, "d1");
    ZC_CHECK (s_test_subscribe (&d, d1, ZC_MSG_SUB, true, "upload.done") == 0);
    ZC_CHECK (s_test_got (d1, ""));
    s_test_connect (&d, "d", &b, "b");
    ZC_CHECK (s_test_got (d1, "upload.done=v2"));
    ZC_CHECK (s_test_subscribe (&d, d1, ZC_MSG_SUB, false, "upload.done") == 0);
    ZC_CHECK (s_test_got (d1, ""));                     //  it has them
    ZC_CHECK (s_test_subscribe (&d, d1, ZC_MSG_SUB, true, "upload.done") == 0);
    ZC_CHECK (s_test_got (d1, "upload.done=v2"));       //  a link came back: all again
    ZC_CHECK (s_test_publish (&a, a1, "upload.done", NULL, 3600) == NULL);
    ZC_CHECK (s_test_got (d1, "upload.done="));         //  a clear, for the agent's cache
    ZC_CHECK (s_test_subscribe (&d, d1, ZC_MSG_UNSUB, false, "upload.done") == 0);
    ZC_CHECK (s_test_subscribe (&d, d1, ZC_MSG_SUB, false, "upload.done") == 0);
    ZC_CHECK (s_test_got (d1, "upload.done="));         //  only the clear
    //  Retained messages expire.
    zc_hubsub_tick (d.sub, zclock_mono () + 3601 * 1000);
    ZC_CHECK (zc_hubsub_stats (d.sub).retained == 0);
    //  An agent that goes takes its interest with it; too many patterns
    //  are refused.
    zc_hubsub_agent_gone (d.sub, "d1");
    ZC_CHECK (zc_hubsub_local_patterns (d.sub) == 0);
    int refused = 0;
    for (int index = 0; index <= S_MAX_AGENT_PATTERNS && !refused; index++) {
        char pattern [32];
        snprintf (pattern, sizeof pattern, "p.%d", index);
        refused = s_test_subscribe (&d, d1, ZC_MSG_SUB, false, pattern) != 0;
    }
    ZC_CHECK (refused && zc_hubsub_local_patterns (d.sub) == S_MAX_AGENT_PATTERNS);
    ZC_CHECK (zc_hubsub_stats (d.sub).refused == 1);
    s_test_hub_fini (&a);
    s_test_hub_fini (&b);
    s_test_hub_fini (&c);
    s_test_hub_fini (&d);
    return ZC_TEST_END;
}
