/*  hub.c — the hub's event loop: accept, authenticate, route, relay.

    Every message is attributed to the CURVE key it arrived with (User-Id
    set by our ZAP handler), looked up again in the current keyring, so a
    key removed from the keys directory stops at once. The hub keeps only
    soft state: who is connected, the directory it serves and which
    origins wait for which absent names.
*/
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "hub.h"
#include "directory.h"
#include "keys.h"
#include "log.h"
#include "signals.h"
#include "wire.h"
#include "zap.h"

#define S_MAX_WAITED_NAMES   10000      //  absent names remembered
#define S_MAX_WAITERS        256        //  origins remembered per absent name
#define S_DIRECTORY_FLUSH_MS 100        //  how often directory changes go out
#define S_KEYS_CHECK_MS      1000       //  how often the keys directory is checked
#define S_RECV_BATCH         256        //  messages taken per turn of the loop

//  A connected peer, keyed by its CURVE public key.
typedef struct {
    char name [65];
    char public_txt [41];
    zframe_t *routing_id;       //  current route back to it
    uint64_t last_heard;        //  monotonic ms
    bool online;                //  announced in the directory
} s_peer_t;

typedef struct {
    zc_config_t *config;
    zloop_t *loop;
    zsock_t *router;
    zc_zap_t *zap;
    zc_keyring_t *keyring;
    uint64_t keys_stamp;
    zhashx_t *peers;            //  public key -> s_peer_t (owned)
    zhashx_t *online;           //  name -> s_peer_t (borrowed)
    zc_directory_t *directory;
    zhashx_t *waiters;          //  absent name -> zlist of origin names
    zhashx_t *logged;           //  "reason:key" already logged once
    int signal_fd;
    zmq_pollitem_t signal_item;
    struct {
        uint64_t malformed, unknown_key, bad_hello, not_hello, noroute, forwarded, dropped;
    } count;
} s_hub_t;

static void
s_peer_destroy (void **item)
{
    s_peer_t *peer = *item;
    zframe_destroy (&peer->routing_id);
    free (peer);
    *item = NULL;
}

static uint64_t
s_wall_seconds (void)
{
    return (uint64_t) time (NULL);
}

//  Logs a line once per distinct 'what' (a reason and a key), so a peer
//  that keeps misbehaving cannot flood the log.
static void
s_log_once (s_hub_t *self, const char *what, const char *line)
{
    if (zhashx_lookup (self->logged, what))
        return;
    if (zhashx_size (self->logged) < 10000)
        zhashx_insert (self->logged, what, (void *) 1);
    zc_warn ("%s", line);
}

//  Sends a message to a peer; the message is destroyed. -1 when the peer
//  is gone or its queue is full.
static int s_send_to (s_hub_t *self, s_peer_t *peer, zc_wire_t **msg_p);

//  After a failed send: a vanished peer is marked silent, so the next
//  heartbeat check takes it offline (never freed under a caller's feet);
//  a full queue just loses the message, which its sender will retry.
static void
s_send_failed (s_hub_t *self, s_peer_t *peer)
{
    if (errno == EHOSTUNREACH)
        peer->last_heard = 0;
    else
        self->count.dropped++;
}

static void
s_directory_set (s_hub_t *self, s_peer_t *peer, bool online)
{
    zc_node_entry_t entry = { .online = online, .last_seen = s_wall_seconds () };
    snprintf (entry.name, sizeof entry.name, "%s", peer->name);
    snprintf (entry.via, sizeof entry.via, "%s", self->config->name);
    zc_directory_update (self->directory, &entry);
}

//  Sends the whole directory to one peer.
static void
s_send_directory (s_hub_t *self, s_peer_t *peer)
{
    size_t count;
    zc_node_entry_t *entries = zc_directory_entries (self->directory, &count);
    zc_wire_t *msg = zc_wire_new (ZC_MSG_NODES);
    msg->flags |= ZC_FLAG_FULL;
    msg->payload = zc_wire_nodes_payload (entries, count);
    free (entries);
    s_send_to (self, peer, &msg);
}

//  Tells the origins that waited for 'name' that it is reachable now.
static void
s_wake_waiters (s_hub_t *self, const char *name)
{
    zlist_t *origins = zhashx_lookup (self->waiters, name);
    if (!origins)
        return;
    for (char *origin = zlist_first (origins); origin; origin = zlist_next (origins)) {
        s_peer_t *peer = zhashx_lookup (self->online, origin);
        if (!peer)
            continue;
        zc_wire_t *msg = zc_wire_new (ZC_MSG_PRESENCE);
        msg->online = 1;
        zlist_append (msg->to, origin);
        zlist_append (msg->names, (void *) name);
        s_send_to (self, peer, &msg);
    }
    zhashx_delete (self->waiters, name);
}

//  Remembers that 'origin' waits for the absent 'name' (bounded).
static void
s_add_waiter (s_hub_t *self, const char *name, const char *origin)
{
    zlist_t *origins = zhashx_lookup (self->waiters, name);
    if (!origins) {
        if (zhashx_size (self->waiters) >= S_MAX_WAITED_NAMES)
            return;
        origins = zlist_new ();
        zlist_autofree (origins);
        zlist_comparefn (origins, (zlist_compare_fn *) strcmp);
        zhashx_insert (self->waiters, name, origins);
    }
    if (!zlist_exists (origins, (void *) origin) && zlist_size (origins) < S_MAX_WAITERS)
        zlist_append (origins, (void *) origin);
}

static void
s_peer_online (s_hub_t *self, s_peer_t *peer)
{
    peer->online = true;
    zhashx_update (self->online, peer->name, peer);
    s_directory_set (self, peer, true);
    zc_info ("%s is online", peer->name);
    s_send_directory (self, peer);
    s_wake_waiters (self, peer->name);
}

//  Forgets a peer: it leaves the routing table and goes offline in the
//  directory. 'why' is logged.
static void
s_peer_offline (s_hub_t *self, s_peer_t *peer, const char *why)
{
    if (peer->online) {
        zc_info ("%s is offline (%s)", peer->name, why);
        s_directory_set (self, peer, false);
        zhashx_delete (self->online, peer->name);
    }
    zhashx_delete (self->peers, peer->public_txt);
}

static int
s_send_to (s_hub_t *self, s_peer_t *peer, zc_wire_t **msg_p)
{
    if (zc_wire_send (msg_p, self->router, peer->routing_id) == 0)
        return 0;
    s_send_failed (self, peer);
    return -1;
}

//  Sends a NOROUTE for 'names' back to the sender of message 'id'.
static void
s_noroute (s_hub_t *self, s_peer_t *sender, const zc_id_t *id, zlist_t *names)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_NOROUTE);
    msg->id = *id;
    zlist_append (msg->to, sender->name);
    for (char *name = zlist_first (names); name; name = zlist_next (names)) {
        zlist_append (msg->names, name);
        s_add_waiter (self, name, sender->name);
    }
    self->count.noroute += zlist_size (names);
    s_send_to (self, sender, &msg);
}

//  Forwards a routed message to each of its targets, one copy per target;
//  answers NOROUTE for the targets that are not connected.
static void
s_route (s_hub_t *self, s_peer_t *sender, zc_wire_t *msg)
{
    if (msg->hops <= 1) {
        self->count.dropped++;
        return;
    }
    zlist_t *targets = msg->to;
    msg->to = zlist_new ();
    zlist_autofree (msg->to);
    snprintf (msg->from, sizeof msg->from, "%s", sender->name);
    msg->hops--;
    zlist_t *absent = zlist_new ();
    for (char *target = zlist_first (targets); target; target = zlist_next (targets)) {
        s_peer_t *peer = zhashx_lookup (self->online, target);
        if (!peer) {
            zlist_append (absent, target);
            continue;
        }
        zlist_purge (msg->to);
        zlist_append (msg->to, target);
        zmsg_t *frames = zc_wire_encode (msg);
        zmsg_pushmem (frames, zframe_data (peer->routing_id), zframe_size (peer->routing_id));
        if (zmsg_send (&frames, self->router) == 0)
            self->count.forwarded++;
        else {
            int error = errno;
            zmsg_destroy (&frames);
            errno = error;
            if (errno == EHOSTUNREACH)
                zlist_append (absent, target);
            s_send_failed (self, peer);
        }
    }
    if (zlist_size (absent) && msg->type != ZC_MSG_NOROUTE)
        s_noroute (self, sender, &msg->id, absent);
    zlist_destroy (&absent);
    zlist_destroy (&targets);
}

//  Handles one message from a peer whose key is trusted; new_connection
//  says it came on another connection than the peer's previous message.
static void
s_handle (s_hub_t *self, s_peer_t *peer, zc_wire_t *msg, bool new_connection)
{
    if (msg->type == ZC_MSG_HELLO && strcmp (msg->name, peer->name) != 0) {
        self->count.bad_hello++;
        char what [160], line [300];
        snprintf (what, sizeof what, "hello:%s:%s", peer->public_txt, msg->name);
        snprintf (line, sizeof line, "refused HELLO from the key of %s claiming to be '%s'",
                  peer->name, msg->name);
        s_log_once (self, what, line);
        zc_wire_t *error = zc_wire_new (ZC_MSG_ERROR);
        error->code = ZC_ERR_BAD_NAME;
        error->text = zsys_sprintf ("this key belongs to '%s', not '%s'", peer->name, msg->name);
        s_send_to (self, peer, &error);
        return;
    }
    if (msg->type == ZC_MSG_HELLO) {
        //  A HELLO on a new connection is a fresh join (the agent may
        //  have restarted within peer_timeout), and one that asks for it
        //  (the agent thought us gone) gets the directory too.
        if (!peer->online || new_connection || (msg->flags & ZC_FLAG_FULL))
            s_peer_online (self, peer);
        else {
            zc_wire_t *pong = zc_wire_new (ZC_MSG_PONG);
            s_send_to (self, peer, &pong);
        }
        return;
    }
    if (!peer->online) {
        //  Nothing is routed for a peer that has not said who it is.
        self->count.not_hello++;
        zc_wire_t *error = zc_wire_new (ZC_MSG_ERROR);
        error->code = ZC_ERR_NOT_HELLO;
        error->text = strdup ("say HELLO first");
        s_send_to (self, peer, &error);
        return;
    }
    switch (msg->type) {
        case ZC_MSG_PING:
            if (zlist_size (msg->to) == 0) {
                zc_wire_t *pong = zc_wire_new (ZC_MSG_PONG);
                pong->id = msg->id;
                s_send_to (self, peer, &pong);
            }
            else
                s_route (self, peer, msg);
            break;
        case ZC_MSG_REQ:
        case ZC_MSG_ACK:
        case ZC_MSG_STARTED:
        case ZC_MSG_REPLY:
        case ZC_MSG_PONG:
        case ZC_MSG_STREAM:
        case ZC_MSG_CANCEL:
        case ZC_MSG_ERROR:              //  an error event for an error_node
            if (zlist_size (msg->to) == 0)
                self->count.malformed++;
            else
                s_route (self, peer, msg);
            break;
        default:
            self->count.dropped++;
            zc_debug ("ignored %s from %s", zc_wire_type_name (msg->type), peer->name);
    }
}

static void s_router_message (s_hub_t *self, zmsg_t *frames);

//  Takes what has arrived, up to a batch per turn of the loop.
static int
s_router_event (zloop_t *loop, zsock_t *router, void *arg)
{
    s_hub_t *self = arg;
    for (int count = 0; count < S_RECV_BATCH; count++) {
        if (count && !(zsock_events (router) & ZMQ_POLLIN))
            break;
        zmsg_t *frames = zmsg_recv (router);
        if (!frames)
            break;
        s_router_message (self, frames);
    }
    return 0;
}

//  Handles one message from the ROUTER; destroys it.
static void
s_router_message (s_hub_t *self, zmsg_t *frames)
{
    zframe_t *routing_id = zmsg_first (frames);
    zframe_t *first = zmsg_next (frames);
    //  In 4.3.4 only body frames carry the connection's metadata.
    const char *user_id = first? zframe_meta (first, "User-Id"): NULL;
    const zc_key_t *key = user_id? zc_keyring_by_public (self->keyring, user_id): NULL;
    if (!key) {
        self->count.unknown_key++;
        char what [80], line [160];
        snprintf (what, sizeof what, "key:%s", user_id? user_id: "-");
        snprintf (line, sizeof line, "dropped traffic from key %s: not in %s (revoked?)",
                  user_id? user_id: "(none)", self->config->keys);
        s_log_once (self, what, line);
        zmsg_destroy (&frames);
        return;
    }
    const char *reason = NULL;
    zc_wire_t *msg = zc_wire_decode (frames, first, &reason);
    if (!msg) {
        self->count.malformed++;
        char what [80], line [200];
        snprintf (what, sizeof what, "malformed:%s", key->public_txt);
        snprintf (line, sizeof line, "dropped a malformed message from %s: %s (logged once per key)",
                  key->name, reason? reason: "?");
        s_log_once (self, what, line);
        zmsg_destroy (&frames);
        return;
    }
    if (key->role == ZC_KEY_HUB) {
        //  Hub-to-hub links (uplinks) are not supported yet.
        char what [80], line [200];
        snprintf (what, sizeof what, "hubkey:%s", key->public_txt);
        snprintf (line, sizeof line, "dropped traffic from hub key %s: hubs are not nodes", key->name);
        s_log_once (self, what, line);
        zc_wire_destroy (&msg);
        zmsg_destroy (&frames);
        return;
    }
    s_peer_t *peer = zhashx_lookup (self->peers, key->public_txt);
    if (!peer) {
        peer = calloc (1, sizeof *peer);
        snprintf (peer->name, sizeof peer->name, "%s", key->name);
        snprintf (peer->public_txt, sizeof peer->public_txt, "%s", key->public_txt);
        zhashx_insert (self->peers, peer->public_txt, peer);
    }
    //  Always answer on the connection the peer used last.
    bool new_connection = !peer->routing_id || !zframe_eq (peer->routing_id, routing_id);
    if (new_connection) {
        zframe_destroy (&peer->routing_id);
        peer->routing_id = zframe_dup (routing_id);
    }
    peer->last_heard = zclock_mono ();
    s_handle (self, peer, msg, new_connection);
    zc_wire_destroy (&msg);
    zmsg_destroy (&frames);
}

static int
s_zap_event (zloop_t *loop, zsock_t *sock, void *arg)
{
    s_hub_t *self = arg;
    zc_zap_handle (self->zap, self->keyring);
    return 0;
}

//  Takes peers that fell silent offline.
static int
s_heartbeat_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_hub_t *self = arg;
    uint64_t now = zclock_mono ();
    uint64_t limit = (uint64_t) (self->config->peer_timeout * 1000);
    zlist_t *silent = zlist_new ();
    for (s_peer_t *peer = zhashx_first (self->peers); peer; peer = zhashx_next (self->peers))
        if (now - peer->last_heard > limit)
            zlist_append (silent, peer);
    for (s_peer_t *peer = zlist_first (silent); peer; peer = zlist_next (silent))
        s_peer_offline (self, peer, "no heartbeat");
    zlist_destroy (&silent);
    return 0;
}

//  Sends what changed in the directory to every online peer, batched so
//  that many nodes appearing at once cost one message per peer.
static int
s_directory_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_hub_t *self = arg;
    size_t count;
    zc_node_entry_t *changes = zc_directory_take_changes (self->directory, &count);
    if (!changes)
        return 0;
    zframe_t *payload = zc_wire_nodes_payload (changes, count);
    free (changes);
    zlist_t *peers = zlist_new ();
    for (s_peer_t *peer = zhashx_first (self->online); peer; peer = zhashx_next (self->online))
        zlist_append (peers, peer);
    for (s_peer_t *peer = zlist_first (peers); peer; peer = zlist_next (peers)) {
        zc_wire_t *msg = zc_wire_new (ZC_MSG_NODES);
        msg->payload = zframe_dup (payload);
        s_send_to (self, peer, &msg);
    }
    zlist_destroy (&peers);
    zframe_destroy (&payload);
    return 0;
}

//  Re-reads the keys directory; peers whose key went away are dropped.
static void
s_keys_reload (s_hub_t *self, const char *why)
{
    char *error = NULL;
    zc_keyring_t *keyring = zc_keyring_load (self->config->keys, &error);
    if (!keyring) {
        zc_error ("cannot reload keys (%s): %s; keeping the old ones", why, error);
        free (error);
        return;
    }
    zc_keyring_destroy (&self->keyring);
    self->keyring = keyring;
    self->keys_stamp = zc_keyring_dir_stamp (self->config->keys);
    zhashx_purge (self->logged);
    zc_info ("keys reloaded (%s): %zu trusted", why, zc_keyring_size (keyring));
    zlist_t *revoked = zlist_new ();
    for (s_peer_t *peer = zhashx_first (self->peers); peer; peer = zhashx_next (self->peers))
        if (!zc_keyring_by_public (keyring, peer->public_txt))
            zlist_append (revoked, peer);
    for (s_peer_t *peer = zlist_first (revoked); peer; peer = zlist_next (revoked))
        s_peer_offline (self, peer, "key revoked");
    zlist_destroy (&revoked);
}

static int
s_keys_timer (zloop_t *loop, int timer_id, void *arg)
{
    s_hub_t *self = arg;
    if (zc_keyring_dir_stamp (self->config->keys) != self->keys_stamp)
        s_keys_reload (self, "keys directory changed");
    return 0;
}

static int
s_signal_event (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_hub_t *self = arg;
    int signal = zc_signals_read (self->signal_fd);
    if (signal == SIGHUP) {
        s_keys_reload (self, "SIGHUP");
        return 0;
    }
    if (signal) {
        zc_info ("stopping on signal %d", signal);
        return -1;
    }
    return 0;
}

//  Applies link settings; values were range-checked by the config reader.
static void
s_tune_link (zsock_t *sock, zc_config_t *config)
{
    zsock_set_heartbeat_ivl (sock, (int) (config->heartbeat * 1000));
    zsock_set_heartbeat_timeout (sock, (int) (config->peer_timeout * 1000));
    zsock_set_heartbeat_ttl (sock, (int) (config->peer_timeout * 1000));
    zsock_set_maxmsgsize (sock, ZC_WIRE_MAX_PAYLOAD + 65536);
    zsock_set_sndtimeo (sock, 0);
    zsock_set_linger (sock, 0);
}

//  Binds every configured endpoint and writes the bound ones, one per
//  line, to DATA/endpoints (replaced atomically). -1 on failure, logged.
static int
s_bind (s_hub_t *self)
{
    zc_config_t *config = self->config;
    char *path = zsys_sprintf ("%s/endpoints", config->data);
    char *temp = zsys_sprintf ("%s/endpoints.tmp", config->data);
    FILE *file = fopen (temp, "w");
    if (!file) {
        zc_error ("cannot write %s: %s (check the data directory)", temp, strerror (errno));
        free (path);
        free (temp);
        return -1;
    }
    int rc = 0;
    for (char *endpoint = zlist_first (config->binds); endpoint; endpoint = zlist_next (config->binds)) {
        if (zsock_bind (self->router, "%s", endpoint) == -1) {
            zc_error ("%s: hub/bind: cannot bind %s: %s", config->path, endpoint, zmq_strerror (zmq_errno ()));
            rc = -1;
            break;
        }
        char *bound = zsock_last_endpoint (self->router);
        fprintf (file, "%s\n", bound);
        zc_info ("listening on %s", bound);
        free (bound);
    }
    if (fclose (file) != 0 || (rc == 0 && rename (temp, path) != 0)) {
        zc_error ("cannot write %s: %s", path, strerror (errno));
        rc = -1;
    }
    if (rc != 0)
        unlink (temp);
    free (path);
    free (temp);
    return rc;
}

int
zc_hub_run (zc_config_t *config)
{
    s_hub_t hub = { .config = config, .signal_fd = zc_signals_open () };
    s_hub_t *self = &hub;
    zsys_init ();
    zsys_handler_set (NULL);
    int status = 1;
    char *error = NULL;
    if (mkdir (config->data, 0700) == -1 && errno != EEXIST) {
        zc_error ("cannot create data directory %s: %s", config->data, strerror (errno));
        return 1;
    }
    zcert_t *cert = zc_key_load_own (config->keys, config->name, &error);
    if (!cert) {
        zc_error ("%s", error);
        free (error);
        return 1;
    }
    self->keyring = zc_keyring_load (config->keys, &error);
    if (!self->keyring) {
        zc_error ("%s", error);
        free (error);
        zcert_destroy (&cert);
        return 1;
    }
    self->keys_stamp = zc_keyring_dir_stamp (config->keys);
    //  The ZAP handler must exist before the CURVE socket binds: without
    //  one, libzmq accepts any client key.
    self->zap = zc_zap_new ();
    self->router = zsock_new (ZMQ_ROUTER);
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, s_peer_destroy);
    self->online = zhashx_new ();
    self->directory = zc_directory_new ();
    self->waiters = zhashx_new ();
    zhashx_set_destructor (self->waiters, (zhashx_destructor_fn *) zlist_destroy);
    self->logged = zhashx_new ();
    self->loop = zloop_new ();
    if (self->zap && self->router) {
        zcert_apply (cert, self->router);
        zsock_set_curve_server (self->router, 1);
        zsock_set_router_mandatory (self->router, 1);
        s_tune_link (self->router, config);
        if (s_bind (self) == 0) {
            zloop_reader (self->loop, self->router, s_router_event, self);
            zloop_reader (self->loop, zc_zap_socket (self->zap), s_zap_event, self);
            self->signal_item = (zmq_pollitem_t) { .fd = self->signal_fd, .events = ZMQ_POLLIN };
            zloop_poller (self->loop, &self->signal_item, s_signal_event, self);
            zloop_timer (self->loop, (size_t) (config->heartbeat * 1000), 0, s_heartbeat_timer, self);
            zloop_timer (self->loop, S_DIRECTORY_FLUSH_MS, 0, s_directory_timer, self);
            zloop_timer (self->loop, S_KEYS_CHECK_MS, 0, s_keys_timer, self);
            zc_info ("hub %s started with %zu trusted keys", config->name, zc_keyring_size (self->keyring));
            zloop_start (self->loop);
            zc_info ("hub %s stopped (forwarded %" PRIu64 ", noroute %" PRIu64 ", malformed %" PRIu64
                     ", unknown key %" PRIu64 ", bad hello %" PRIu64 ", dropped %" PRIu64 ")",
                     config->name, self->count.forwarded, self->count.noroute, self->count.malformed,
                     self->count.unknown_key, self->count.bad_hello, self->count.dropped);
            status = 0;
        }
    }
    else
        zc_error ("cannot create the hub's sockets: %s", zmq_strerror (zmq_errno ()));
    zloop_destroy (&self->loop);
    zsock_destroy (&self->router);
    zc_zap_destroy (&self->zap);
    zhashx_destroy (&self->online);
    zhashx_destroy (&self->peers);
    zhashx_destroy (&self->waiters);
    zhashx_destroy (&self->logged);
    zc_directory_destroy (&self->directory);
    zc_keyring_destroy (&self->keyring);
    zcert_destroy (&cert);
    close (self->signal_fd);
    return status;
}
