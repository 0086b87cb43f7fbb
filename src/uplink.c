/*  uplink.c — a connection dialled out to one hub (see uplink.h). */
#include <errno.h>
#include <sodium.h>
#include "prelude.h"
#include "uplink.h"
#include "flow.h"
#include "keys.h"
#include "log.h"
#include "zfd.h"

#define S_RECV_BATCH        256     //  messages taken per turn of the loop
#define S_REDIAL_MIN_MS     1000    //  first wait before dialling again after a refusal
#define S_REDIAL_MAX_MS     60000
#define S_UNSHAKEN_MAX      3       //  connections closed before a handshake, then it is a problem
#define S_BYE_LINGER_MS     500     //  how long a closing link may take to send its BYE

struct _zc_uplink_t {
    zloop_t *loop;
    const zc_config_t *config;
    zc_peer_addr_t hub;             //  name and endpoint (endpoint borrowed from the config)
    zsock_t *dealer;
    zsock_t *monitor;
    zc_zfd_t *monitor_reader;   //  its events, read when there are some
    zc_flow_t *flow;                //  what we send: bulk behind small messages, a budget
    int timer_id;
    bool up;                        //  the hub answered our HELLO
    bool refused_logged;
    bool handshaken;                //  since the last TCP connect
    uint32_t unshaken;              //  connections in a row that closed before a handshake
    uint64_t connected_at;          //  monotonic ms of the last TCP connect
    bool slow_logged;               //  a handshake that timed out was logged
    char problem [300];             //  why we cannot connect, or ""
    uint32_t logged_codes;          //  ERROR codes from the hub already logged
    uint64_t last_heard;            //  monotonic ms of the last message from the hub
    uint64_t redial_at;             //  monotonic ms to dial again after a refused handshake
    int redial_backoff;             //  ms, doubling up to S_REDIAL_MAX_MS
    uint64_t malformed;
    zframe_t *advert;               //  what this node advertises (facts.h), or NULL
    bool advert_pending;            //  changed since the hub last took it
    zc_id_t advert_hello;           //  the last HELLO that carried it
    zc_uplink_message_fn *on_message;
    zc_uplink_state_fn *on_state;
    void *arg;
    zc_key_t *enroll;               //  agent/enroll = on: our public cert, sent as ENROLL
    bool pending_logged;            //  the hub's ERROR PENDING was logged on this connection
};

static void
s_set_down (zc_uplink_t *self, const char *why)
{
    if (!self->up)
        return;
    zc_info ("link to hub %s down (%s)", self->hub.name, why);
    self->up = false;
    if (self->on_state)
        self->on_state (self, false, self->arg);
}

//  The flow's way out: the DEALER.
static int
s_sink (zmsg_t **frames_p, void *arg)
{
    zc_uplink_t *self = arg;
    if (zmsg_send (frames_p, self->dealer) == 0)
        return 0;
    int saved = errno;
    zmsg_destroy (frames_p);
    errno = saved;
    return -1;
}

//  Sends a message through the flow; destroys it.
static int
s_send (zc_uplink_t *self, zc_wire_t **msg_p)
{
    bool bulk;
    zmsg_t *frames = zc_wire_encode_take (msg_p, &bulk);
    return frames? zc_flow_send (self->flow, &frames, bulk, zclock_mono ()): -1;
}

static void
s_send_hello (zc_uplink_t *self)
{
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "%s", self->config->name);
    //  Until the hub has answered with what it knows, ask for all of it.
    if (!self->up)
        hello->flags |= ZC_FLAG_FULL;
    //  What we advertise goes with the HELLOs of a new join (a hub that
    //  restarted knows nothing of it) and, once changed, until the hub
    //  answers one of them; not with every heartbeat.
    if (self->advert && (!self->up || self->advert_pending)) {
        hello->payload = zframe_dup (self->advert);
        self->advert_hello = hello->id;
        self->advert_pending = true;
    }
    s_send (self, &hello);
}

//  A flow-control mark from the hub (we echo it) or the echo of ours.
static void
s_on_credit (zc_uplink_t *self, zc_wire_t *msg)
{
    if (msg->flags & ZC_FLAG_ECHO)
        zc_flow_on_echo (self->flow, msg->credit, zclock_mono ());
    else {
        zc_wire_t *echo = zc_flow_echo_of (msg);
        zc_wire_send (&echo, self->dealer, NULL);
    }
}

//  Takes what has arrived, up to a batch per turn of the loop.
static int
s_dealer_event (zloop_t *loop, zsock_t *dealer, void *arg)
{
    zc_uplink_t *self = arg;
    //  Receives until none is left (the socket's receive timeout is 0):
    //  asking its events before each would cost a system call each.
    for (int count = 0; count < S_RECV_BATCH; count++) {
        zmsg_t *frames = zmsg_recv (dealer);
        if (!frames)
            break;
        self->last_heard = zclock_mono ();
        const char *reason = NULL;
        zc_wire_t *msg = zc_wire_decode (frames, zmsg_first (frames), &reason);
        int version = msg? ZC_WIRE_VERSION: zc_wire_version_of (zmsg_first (frames));
        zmsg_destroy (&frames);
        if (!msg && version != -1 && version != ZC_WIRE_VERSION) {
            //  A hub of another release: what it sends cannot be read.
            self->malformed++;
            bool logged = strstr (self->problem, "speaks zcnc wire version") != NULL;
            snprintf (self->problem, sizeof self->problem, "hub %s speaks zcnc wire version %d, this"
                      " node version %d: run the same zcnc release on both", self->hub.name, version,
                      ZC_WIRE_VERSION);
            if (!logged)
                zc_error ("%s", self->problem);
            continue;
        }
        if (!msg) {
            self->malformed++;
            zc_warn ("dropped a malformed message from hub %s: %s", self->hub.name, reason? reason: "?");
            continue;
        }
        if (msg->type == ZC_MSG_CREDIT) {
            s_on_credit (self, msg);
            zc_wire_destroy (&msg);
            continue;
        }
        if (msg->type == ZC_MSG_PONG && !*msg->from && self->advert_pending
        &&  zc_id_equal (&msg->id, &self->advert_hello))
            self->advert_pending = false;       //  the hub answered the HELLO that carried it
        if (msg->type == ZC_MSG_ERROR && msg->code == ZC_ERR_PENDING && !*msg->from) {
            //  Our key waits for an operator at the hub; each HELLO that
            //  follows is answered once it is accepted.
            snprintf (self->problem, sizeof self->problem, "hub %s has not accepted our key yet: %s",
                      self->hub.name, msg->text? msg->text: "?");
            if (!self->pending_logged)
                zc_info ("%s", self->problem);
            self->pending_logged = true;
        }
        else
        if (msg->type == ZC_MSG_ERROR && msg->code == ZC_ERR_NOT_HELLO) {
            //  The hub lost track of us (it restarted): introduce
            //  ourselves again; the owner resends on the next link-up.
            s_set_down (self, "the hub does not know us");
            s_send_hello (self);
        }
        else
        if (msg->type == ZC_MSG_ERROR && !*msg->from && msg->code < 32) {
            if (msg->code == ZC_ERR_DUPLICATE)
                //  Another process holds our name at this hub: we are
                //  not connected until it goes (status says why).
                snprintf (self->problem, sizeof self->problem, "hub %s refused this connection: %s",
                          self->hub.name, msg->text? msg->text: "?");
            if (!(self->logged_codes & (1u << msg->code))) {
                self->logged_codes |= 1u << msg->code;      //  once per code, not per heartbeat
                zc_error ("hub %s refused us: %s", self->hub.name, msg->text? msg->text: "?");
            }
        }
        self->on_message (self, msg, self->arg);
        zc_wire_destroy (&msg);
    }
    return 0;
}

//  With agent/enroll = on, asks the hub to trust our key (it ignores
//  this when it does already): after each handshake, before the HELLO.
static void
s_send_enroll (zc_uplink_t *self)
{
    if (!self->enroll)
        return;
    zc_wire_t *enroll = zc_wire_new (ZC_MSG_ENROLL);
    snprintf (enroll->name, sizeof enroll->name, "%s", self->enroll->name);
    enroll->role = self->enroll->role == ZC_KEY_HUB? 1: 0;
    memcpy (enroll->curve_key, self->enroll->public_key, sizeof enroll->curve_key);
    memcpy (enroll->sign_key, self->enroll->sign_key, sizeof enroll->sign_key);
    s_send (self, &enroll);
}

//  Socket monitor events: say HELLO as soon as a handshake completes.
static int
s_monitor_event (zloop_t *loop, zsock_t *monitor, void *arg)
{
    zc_uplink_t *self = arg;
    zmsg_t *event = zmsg_recv (monitor);
    if (!event)
        return 0;
    zframe_t *frame = zmsg_first (event);
    uint16_t number = 0;
    if (frame && zframe_size (frame) >= 2)
        memcpy (&number, zframe_data (frame), 2);      //  host order, per zmq_socket_monitor
    if (number == ZMQ_EVENT_CONNECTED) {
        self->handshaken = false;
        self->connected_at = zclock_mono ();
    }
    else
    if (number == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        zc_debug ("handshake with hub %s done", self->hub.name);
        self->redial_backoff = 0;
        self->refused_logged = false;
        self->handshaken = true;
        self->unshaken = 0;
        self->slow_logged = false;
        self->problem [0] = 0;
        zc_flow_reset (self->flow);     //  a new connection: nothing of ours is on it
        self->pending_logged = false;
        s_send_enroll (self);
        s_send_hello (self);
    }
    else
    if (number == ZMQ_EVENT_DISCONNECTED) {
        s_set_down (self, "connection lost; reconnecting");
        //  A CURVE server that cannot open our HELLO (it is not the key
        //  we pinned) closes the connection without a word, at once. A
        //  handshake that ran out of time says something else: a hub too
        //  busy to answer (thousands of peers dialling it at once) or a
        //  link too slow.
        uint64_t waited = zclock_mono () - self->connected_at;
        bool timed_out = waited * 10 >= (uint64_t) (self->config->handshake * 9000);
        if (!self->handshaken && timed_out) {
            snprintf (self->problem, sizeof self->problem,
                      "hub %s at %s did not complete the CURVE handshake within %g s: is it"
                      " overloaded, or the link very slow?", self->hub.name, self->hub.endpoint,
                      self->config->handshake);
            if (!self->slow_logged)
                zc_warn ("%s (dialling again)", self->problem);
            self->slow_logged = true;
        }
        if (!self->handshaken && !timed_out && ++self->unshaken == S_UNSHAKEN_MAX) {
            snprintf (self->problem, sizeof self->problem,
                      "hub %s at %s closes every connection before the CURVE handshake completes:"
                      " it presents another key than the one pinned in %s/%s.cert, or it is not"
                      " a zcnc hub", self->hub.name, self->hub.endpoint, self->config->keys,
                      self->hub.name);
            zc_error ("cannot connect: %s", self->problem);
        }
    }
    else
    if (number == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || number == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        snprintf (self->problem, sizeof self->problem, "hub %s refused our key (is %s.cert in the"
                  " hub's keys directory?)", self->hub.name, self->config->name);
        if (!self->refused_logged)
            zc_error ("%s", self->problem);
        self->refused_logged = true;
        if (!self->redial_at) {
            self->redial_backoff = self->redial_backoff? self->redial_backoff * 2: S_REDIAL_MIN_MS;
            if (self->redial_backoff > S_REDIAL_MAX_MS)
                self->redial_backoff = S_REDIAL_MAX_MS;
            self->redial_at = zclock_mono () + self->redial_backoff;
        }
    }
    zmsg_destroy (&event);
    return 0;
}

//  Heartbeat: a HELLO every interval; a silent hub counts as gone.
static int
s_heartbeat_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_uplink_t *self = arg;
    if (self->redial_at && (uint64_t) zclock_mono () >= self->redial_at) {
        self->redial_at = 0;
        zsock_disconnect (self->dealer, "%s", self->hub.endpoint);
        zsock_connect (self->dealer, "%s", self->hub.endpoint);
    }
    if (self->up && zclock_mono () - self->last_heard > self->config->peer_timeout * 1000)
        s_set_down (self, "the hub is silent");
    s_send_hello (self);
    if (self->up)
        zc_flow_tick (self->flow, zclock_mono ());  //  queued chunks wait for the link
    return 0;
}

void
zc_uplink_seed_random (void)
{
    if (sodium_init () >= 0)
        srand (randombytes_random ());
}

void
zc_uplink_tune (zsock_t *sock, const zc_config_t *config)
{
    zsock_set_handshake_ivl (sock, (int) (config->handshake * 1000));
    //  libzmq's PINGs find a connection that died without a word (the
    //  socket then dials again); our HELLOs each heartbeat keep the hub's
    //  timer at bay. libzmq drops the connection when nothing came for
    //  peer_timeout after a PING, and anything cancels that, so a PING
    //  each half peer_timeout finds it as soon (peer_timeout to 1.5 x
    //  it) for fewer messages than one per heartbeat.
    double ping_interval = config->peer_timeout / 2 > config->heartbeat? config->peer_timeout / 2
                                                                       : config->heartbeat;
    zsock_set_heartbeat_ivl (sock, (int) (ping_interval * 1000));
    zsock_set_heartbeat_timeout (sock, (int) (config->peer_timeout * 1000));
    //  No time-to-live in our pings: a hub that gets one arms a timer for
    //  the connection, and cancels it on whatever comes in next; libzmq
    //  4.3 finds a timer to cancel by walking all of its I/O thread's, so
    //  with thousands of agents the hub's I/O thread did little else
    //  (tests/zc-sim, bench/README.md). The hub finds silent peers itself
    //  (peer_timeout), and a connection that came back replaces one gone
    //  silent (hub.c, s_route_alive).
    zsock_set_heartbeat_ttl (sock, 0);
    //  libzmq waits the interval plus a random part of it before each
    //  new attempt: peers of a restarted hub do not all come at once.
    zsock_set_reconnect_ivl (sock, (int) (config->reconnect * 1000));
    zsock_set_reconnect_ivl_max (sock, (int) (config->reconnect_max * 1000));
    if (config->tcp_keepalive > 0) {
        zsock_set_tcp_keepalive (sock, 1);
        zsock_set_tcp_keepalive_idle (sock, (int) config->tcp_keepalive);
        zsock_set_tcp_keepalive_intvl (sock, (int) (config->tcp_keepalive / 4 + 1));
        zsock_set_tcp_keepalive_cnt (sock, 4);
    }
    zsock_set_maxmsgsize (sock, ZC_WIRE_MAX_PAYLOAD + 65536);
    zsock_set_sndtimeo (sock, 0);
    zsock_set_linger (sock, 0);
    //  For a hub's bound socket: room for its peers all dialling at once
    //  after a restart (libzmq's default queue is 100).
    zsock_set_backlog (sock, 1024);
}

//  The DEALER, with our key, the hub's pinned key and the link settings,
//  and its monitor. 0, or -1 with *error.
static int
s_dial (zc_uplink_t *self, zcert_t *cert, const char *key, char **error)
{
    const zc_config_t *config = self->config;
    char *path = zsys_sprintf ("%s/%s.cert", config->keys, self->hub.name);
    zc_key_t hub_key;
    char *problem = NULL;
    int rc = zc_key_load (path, &hub_key, &problem);
    free (path);
    if (rc != 0) {
        *error = zsys_sprintf ("%s: %s: cannot pin the key of hub %s: %s", config->path, key,
                               self->hub.name, problem);
        free (problem);
        return -1;
    }
    if (hub_key.role != ZC_KEY_HUB)
        zc_warn ("%s/%s.cert has role agent; expected a hub's cert", config->keys, self->hub.name);
    self->dealer = zsock_new (ZMQ_DEALER);
    if (self->dealer)
        zsock_set_rcvtimeo (self->dealer, 0);     //  read until none is left (s_dealer_event)
    self->monitor = zsock_new (ZMQ_PAIR);
    if (!self->dealer || !self->monitor) {
        *error = zsys_sprintf ("cannot create a socket: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    zcert_apply (cert, self->dealer);
    zsock_set_curve_serverkey (self->dealer, hub_key.public_txt);
    zc_uplink_tune (self->dealer, config);
    zsock_set_sndhwm (self->dealer, 100000);
    zsock_set_immediate (self->dealer, 1);
    char monitor_endpoint [64];
    snprintf (monitor_endpoint, sizeof monitor_endpoint, "inproc://zcnc-monitor-%p", (void *) self);
    zmq_socket_monitor (zsock_resolve (self->dealer), monitor_endpoint,
                        ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
                        | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    zsock_connect (self->monitor, "%s", monitor_endpoint);
    if (zsock_connect (self->dealer, "%s", self->hub.endpoint) == -1) {
        *error = zsys_sprintf ("%s: %s: cannot connect to %s: %s", config->path, key,
                               self->hub.endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

zc_uplink_t *
zc_uplink_new (zloop_t *loop, const zc_config_t *config, zcert_t *cert,
               const zc_peer_addr_t *hub, const char *key, size_t budget, zc_flow_pool_t *pool,
               zc_uplink_message_fn *on_message, zc_uplink_state_fn *on_state,
               void *arg, char **error)
{
    zc_uplink_t *self = zc_calloc (1, sizeof *self);
    self->flow = zc_flow_new (budget, pool, s_sink, self);
    self->loop = loop;
    self->config = config;
    self->hub = *hub;
    self->on_message = on_message;
    self->on_state = on_state;
    self->arg = arg;
    self->timer_id = -1;
    if (config->agent_enroll && streq (key, "agent/hub")) {
        //  What ENROLL carries is our public cert, KEYS/NAME.cert.
        self->enroll = zc_calloc (1, sizeof *self->enroll);
        char *path = zsys_sprintf ("%s/%s.cert", config->keys, config->name);
        char *problem = NULL;
        if (zc_key_load (path, self->enroll, &problem) != 0
        ||  memcmp (self->enroll->public_key, zcert_public_key (cert), 32) != 0) {
            *error = zsys_sprintf ("%s: agent/enroll: %s (enrollment sends this node's cert;"
                                   " it must be the public half of %s.cert_secret)", config->path,
                                   problem? problem: "it holds another key", config->name);
            free (problem);
            zstr_free (&path);
            zc_uplink_destroy (&self);
            return NULL;
        }
        zstr_free (&path);
        char fingerprint [ZC_FINGERPRINT_SIZE];
        zc_key_fingerprint (self->enroll->public_key, fingerprint);
        zc_info ("enroll = on: hub %s is asked to trust %s, key fingerprint %s", hub->name,
                 config->name, fingerprint);
    }
    if (s_dial (self, cert, key, error) != 0) {
        zc_uplink_destroy (&self);
        return NULL;
    }
    zloop_reader (loop, self->dealer, s_dealer_event, self);
    self->monitor_reader = zc_zfd_reader (loop, self->monitor, s_monitor_event, self);
    self->timer_id = zloop_timer (loop, (size_t) (config->heartbeat * 1000), 0, s_heartbeat_timer, self);
    return self;
}

void
zc_uplink_destroy (zc_uplink_t **self_p)
{
    if (*self_p) {
        zc_uplink_t *self = *self_p;
        if (self->timer_id != -1)
            zloop_timer_end (self->loop, self->timer_id);
        if (self->dealer)
            zloop_reader_end (self->loop, self->dealer);
        zc_zfd_reader_end (self->loop, &self->monitor_reader);
        if (self->up) {
            //  A clean exit: the hub takes us offline at once instead of
            //  after peer_timeout. What is queued before it still goes.
            zc_wire_t *bye = zc_wire_new (ZC_MSG_BYE);
            zc_wire_send (&bye, self->dealer, NULL);
            zsock_set_linger (self->dealer, S_BYE_LINGER_MS);
        }
        zsock_destroy (&self->monitor);
        zsock_destroy (&self->dealer);
        zc_flow_destroy (&self->flow);
        zframe_destroy (&self->advert);
        free (self->enroll);
        free (self);
        *self_p = NULL;
    }
}

int
zc_uplink_send (zc_uplink_t *self, zc_wire_t **msg_p)
{
    if (!self->up && (*msg_p)->type != ZC_MSG_HELLO) {
        zc_wire_destroy (msg_p);
        errno = ENOTCONN;
        return -1;
    }
    return s_send (self, msg_p);
}

int
zc_uplink_send_frames (zc_uplink_t *self, zmsg_t **frames_p, bool bulk)
{
    if (!self->up) {
        zmsg_destroy (frames_p);
        errno = ENOTCONN;
        return -1;
    }
    return zc_flow_send (self->flow, frames_p, bulk, zclock_mono ());
}

void
zc_uplink_set_up (zc_uplink_t *self)
{
    if (self->up)
        return;
    zc_info ("connected to hub %s at %s", self->hub.name, self->hub.endpoint);
    self->up = true;
    self->problem [0] = 0;
    self->logged_codes = 0;         //  a refusal that comes back is logged again
    zc_flow_pump (self->flow, zclock_mono ());
    if (self->on_state)
        self->on_state (self, true, self->arg);
}

void
zc_uplink_set_advert (zc_uplink_t *self, zframe_t *advert)
{
    if (advert && self->advert && zframe_eq (advert, self->advert))
        return;
    zframe_destroy (&self->advert);
    self->advert = advert? zframe_dup (advert): NULL;
    self->advert_pending = advert != NULL;
    if (self->advert && self->up)
        s_send_hello (self);            //  now, not at the next heartbeat
}

bool
zc_uplink_is_up (zc_uplink_t *self)
{
    return self->up;
}

const char *
zc_uplink_name (zc_uplink_t *self)
{
    return self->hub.name;
}

const char *
zc_uplink_endpoint (zc_uplink_t *self)
{
    return self->hub.endpoint;
}

const char *
zc_uplink_problem (zc_uplink_t *self)
{
    return self->problem [0]? self->problem: NULL;
}

uint64_t
zc_uplink_malformed (zc_uplink_t *self)
{
    return self->malformed;
}

zc_flow_t *
zc_uplink_flow (zc_uplink_t *self)
{
    return self->flow;
}
