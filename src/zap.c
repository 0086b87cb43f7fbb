/*  zap.c — the hub's ZAP handler (RFC 27) over an in-memory keyring.

    libzmq asks the socket bound to inproc://zeromq.zap.01 about every
    CURVE handshake; without one it accepts any key. We answer from the
    keyring the caller passes in, so a reloaded keyring applies to the next
    handshake. czmq's zauth is not used: its zcertstore trusts files in
    subdirectories and aborts on duplicate keys (see NOTES).

    libzmq has one ZAP endpoint per context, and czmq one context per
    process, while several hubs may share a process (the in-process
    tests). So a switch thread owns the endpoint, and each hub's handler
    is a DEALER connected to the switch under the hub's ZAP domain (its
    name, which the hub sets on its CURVE sockets): the switch hands each
    request to the handler of its domain, and answers 400 itself when
    there is none. The switch lives while any handler does.

    Request:  version "1.0", request id, domain, address, identity,
              mechanism, credentials (CURVE: the client's 32-byte key)
    Reply:    version, request id, status code, status text, user id,
              metadata (empty)
*/
#include <czmq.h>
#include <ftw.h>
#include <pthread.h>
#include "prelude.h"
#include "zap.h"
#include <errno.h>
#include "keys.h"
#include "log.h"
#include "testing.h"

#define S_ENDPOINT "inproc://zeromq.zap.01"
#define S_HANDLERS "inproc://zc-zap-handlers"   //  where the handlers connect
#define S_LOG_WINDOW (10 * 60 * 1000)   //  msecs between repeats of a refusal line
#define S_LOG_MAX 1000                  //  refusals remembered per window

struct _zc_zap_t {
    zsock_t *handler;           //  DEALER connected to the switch, our domain its routing id
    uint64_t refused;           //  handshakes answered 400
    zhashx_t *logged;           //  "address key" refusals logged this window
    int64_t window_end;         //  when 'logged' is next cleared
    zhashx_t *suspended;        //  Z85 key -> until when (monotonic ms, in the pointer)
    zc_zap_admit_fn *admit;     //  may let an unknown key in (enrollment), or NULL
    void *admit_arg;
    uint64_t admitted;          //  unknown keys it let in
};

//  ---------------------------------------------------------------------
//  The switch: one per process, while any handler lives.

static pthread_mutex_t s_switch_lock = PTHREAD_MUTEX_INITIALIZER;
static zactor_t *s_switch;
static size_t s_switch_users;

//  An answer to a request no handler takes: [routing id][delimiter]
//  version, request id, status, text, user id, metadata.
static void
s_switch_refuse (zsock_t *frontend, zmsg_t **request_p)
{
    zmsg_t *request = *request_p;
    zmsg_t *reply = zmsg_new ();
    zframe_t *frame = zmsg_first (request);
    for (int index = 0; index < 4; index++) {
        zframe_t *copy = frame? zframe_dup (frame): zframe_new_empty ();
        zmsg_append (reply, &copy);
        frame = zmsg_next (request);
    }
    zmsg_addstr (reply, "400");
    zmsg_addstr (reply, "no ZAP handler for this domain");
    zmsg_addstr (reply, "");
    zmsg_addmem (reply, NULL, 0);
    zmsg_send (&reply, frontend);
    zmsg_destroy (request_p);
}

//  A message from a handler: its hello (one frame after its routing id),
//  dropped, or an answer, passed on without the routing id.
static void
s_switch_answer (zsock_t *frontend, zmsg_t **msg_p)
{
    zframe_t *domain = zmsg_pop (*msg_p);
    zframe_destroy (&domain);
    if (zmsg_size (*msg_p) > 1)
        zmsg_send (msg_p, frontend);
    zmsg_destroy (msg_p);
}

//  Handles what the handlers sent, without waiting.
static void
s_switch_drain (zsock_t *backend, zsock_t *frontend)
{
    while (zsock_events (backend) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv (backend);
        if (!msg)
            break;
        s_switch_answer (frontend, &msg);
    }
}

//  The switch thread. Requests from libzmq come as [routing id][delimiter]
//  [version][request id][domain]...; they go to the handler whose routing
//  id is the domain, and its answer goes back the same way.
static void
s_switch_actor (zsock_t *pipe, void *args)
{
    //  A switch just destroyed in this process (the last hub stopped and a
    //  new one starts) frees the endpoint only once libzmq has closed its
    //  socket: try again for a moment.
    zsock_t *frontend = zsock_new_router ("@" S_ENDPOINT);
    for (int tries = 0; !frontend && zmq_errno () == EADDRINUSE && tries < 50; tries++) {
        zclock_sleep (20);
        frontend = zsock_new_router ("@" S_ENDPOINT);
    }
    zsock_t *backend = zsock_new (ZMQ_ROUTER);
    zsock_set_router_mandatory (backend, 1);
    zsock_set_router_handover (backend, 1);     //  a hub restarted under its name
    if (!frontend || zsock_bind (backend, S_HANDLERS) != 0) {
        zc_error ("cannot bind %s: %s (is another ZAP handler running in this process?)",
                  S_ENDPOINT, zmq_strerror (zmq_errno ()));
        zsock_destroy (&frontend);
        zsock_destroy (&backend);
        zsock_signal (pipe, 0);         //  zactor_new waits for this
        zstr_send (pipe, "1");          //  and s_switch_join for this
        return;
    }
    zsock_signal (pipe, 0);
    zstr_send (pipe, "0");
    zpoller_t *poller = zpoller_new (pipe, frontend, backend, NULL);
    for (;;) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe || !which)
            break;              //  $TERM, or interrupted
        if (which == frontend)
            //  Handlers that connected meanwhile said hello: read it first,
            //  so that their routing ids are known.
            s_switch_drain (backend, frontend);
        zmsg_t *msg = zmsg_recv (which);
        if (!msg)
            break;
        if (which == frontend) {
            //  The domain is the fifth frame.
            zframe_t *domain = zmsg_first (msg);
            for (int index = 0; domain && index < 4; index++)
                domain = zmsg_next (msg);
            zframe_t *route = domain? zframe_dup (domain): NULL;
            if (route && zmsg_prepend (msg, &route) == 0) {
                zmsg_t *copy = zmsg_dup (msg);
                if (zmsg_send (&copy, backend) == 0) {
                    zmsg_destroy (&msg);
                    continue;
                }
                zmsg_destroy (&copy);
                zframe_t *first = zmsg_pop (msg);
                zframe_destroy (&first);
            }
            zframe_destroy (&route);
            s_switch_refuse (frontend, &msg);
        }
        else
            s_switch_answer (frontend, &msg);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&frontend);
    zsock_destroy (&backend);
}

//  Starts the switch for a new handler. 0, or -1 when it cannot run.
static int
s_switch_join (void)
{
    pthread_mutex_lock (&s_switch_lock);
    if (!s_switch) {
        s_switch = zactor_new (s_switch_actor, NULL);
        char *status = zstr_recv (s_switch);
        if (!status || !streq (status, "0"))
            zactor_destroy (&s_switch);
        zstr_free (&status);
    }
    if (s_switch)
        s_switch_users++;
    int rc = s_switch? 0: -1;
    pthread_mutex_unlock (&s_switch_lock);
    return rc;
}

//  A handler is gone; so is the switch with the last one.
static void
s_switch_leave (void)
{
    pthread_mutex_lock (&s_switch_lock);
    if (s_switch_users && --s_switch_users == 0)
        zactor_destroy (&s_switch);
    pthread_mutex_unlock (&s_switch_lock);
}

//  ---------------------------------------------------------------------
//  A handler

zc_zap_t *
zc_zap_new (const char *domain)
{
    assert (domain && *domain);
    if (s_switch_join () != 0)
        return NULL;
    zc_zap_t *self = zc_calloc (1, sizeof *self);
    self->handler = zsock_new (ZMQ_DEALER);
    zsock_set_identity (self->handler, domain);
    zsock_connect (self->handler, S_HANDLERS);
    zstr_send (self->handler, "HELLO");        //  so that the switch knows us
    self->logged = zhashx_new ();
    self->suspended = zhashx_new ();
    return self;
}

//  From then on the switch refuses the domain's handshakes (no handler),
//  and once no handler is left libzmq accepts every CURVE key: destroy
//  the ZAP handler only after the sockets it guards.
void
zc_zap_destroy (zc_zap_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zc_zap_t *self = *self_p;
        zsock_destroy (&self->handler);
        zhashx_destroy (&self->logged);
        zhashx_destroy (&self->suspended);
        free (self);
        *self_p = NULL;
        s_switch_leave ();
    }
}

void
zc_zap_suspend (zc_zap_t *self, const char *public_txt, int64_t until)
{
    zhashx_update (self->suspended, public_txt, (void *) (intptr_t) until);
}

bool
zc_zap_suspended (zc_zap_t *self, const char *public_txt)
{
    void *until = zhashx_lookup (self->suspended, public_txt);
    if (until && (int64_t) (intptr_t) until <= zclock_mono ()) {
        zhashx_delete (self->suspended, public_txt);
        until = NULL;
    }
    return until != NULL;
}

//  The REP socket to poll; it belongs to self.
zsock_t *
zc_zap_socket (zc_zap_t *self)
{
    assert (self);
    return self->handler;
}

void
zc_zap_set_admit (zc_zap_t *self, zc_zap_admit_fn *admit, void *arg)
{
    assert (self);
    self->admit = admit;
    self->admit_arg = arg;
}

uint64_t
zc_zap_admitted (zc_zap_t *self)
{
    assert (self);
    return self->admitted;
}

uint64_t
zc_zap_refused (zc_zap_t *self)
{
    assert (self);
    return self->refused;
}

//  Logs a refused handshake once per address and key per window, so a
//  client retrying every second does not flood the log.
static void
s_log_refusal (zc_zap_t *self, zframe_t *address_frame, const char *what)
{
    int64_t now = zclock_mono ();
    if (now >= self->window_end || zhashx_size (self->logged) >= S_LOG_MAX) {
        zhashx_purge (self->logged);
        self->window_end = now + S_LOG_WINDOW;
    }
    char *address = zframe_strdup (address_frame);
    char *entry = zsys_sprintf ("%s %s", address, what);
    if (zhashx_insert (self->logged, entry, (void *) "") == 0)
        zc_info ("refused %s from %s (repeats are logged again after 10 minutes)",
                 what, *address? address: "a local peer");
    zstr_free (&entry);
    zstr_free (&address);
}

//  Reads and answers one ZAP request. A NULL keyring trusts no key.
//  Returns 0, or -1 when the request was malformed (answered 500) or
//  nothing could be read.
int
zc_zap_handle (zc_zap_t *self, zc_keyring_t *keyring)
{
    assert (self);
    zmsg_t *request = zmsg_recv (self->handler);
    if (!request)
        return -1;              //  interrupted; there is nothing to answer
    //  The route back: the frames up to the empty delimiter.
    zmsg_t *reply = zmsg_new ();
    while (zmsg_size (request)) {
        zframe_t *route = zmsg_pop (request);
        bool delimiter = zframe_size (route) == 0;
        zmsg_append (reply, &route);
        if (delimiter)
            break;
    }
    //  Frames by position; zmsg_next wraps around, so stop at its NULL.
    zframe_t *frame [7] = { NULL };
    size_t frames = zmsg_size (request), count = 0;
    for (zframe_t *next = zmsg_first (request); next && count < 7; next = zmsg_next (request))
        frame [count++] = next;
    zframe_t *version = frame [0], *request_id = frame [1], *address = frame [3],
             *mechanism = frame [5], *credential = frame [6];

    const char *status = "500", *text = "malformed ZAP request";
    char user_id [41] = "";
    int rc = 0;
    if (frames < 6 || !zframe_streq (version, "1.0"))
        rc = -1;
    else
    if (!zframe_streq (mechanism, "CURVE")) {
        status = "400";
        text = "only CURVE is allowed";
        self->refused++;
        char *name = zframe_strdup (mechanism);
        char *what = zsys_sprintf ("mechanism %.20s", name);
        s_log_refusal (self, address, what);
        zstr_free (&what);
        zstr_free (&name);
    }
    else
    if (frames != 7 || zframe_size (credential) != 32)
        rc = -1;
    else {
        zmq_z85_encode (user_id, zframe_data (credential), 32);
        if (zc_zap_suspended (self, user_id)) {
            status = "400";
            text = "key suspended";
            self->refused++;
            user_id [0] = 0;
        }
        else
        if (keyring && zc_keyring_by_public (keyring, user_id)) {
            status = "200";
            text = "OK";
        }
        else
        if (self->admit && self->admit (user_id, self->admit_arg)) {
            status = "200";
            text = "OK (pending)";
            self->admitted++;
        }
        else {
            status = "400";
            text = "key not trusted";
            self->refused++;
            char *what = zsys_sprintf ("CURVE key %s", user_id);
            s_log_refusal (self, address, what);
            zstr_free (&what);
            user_id [0] = 0;
        }
    }
    if (rc == -1)
        zc_warn ("malformed ZAP request (%zu frames); answered 500", frames);

    //  libzmq waits for an answer to whatever it asked.
    zmsg_addstr (reply, "1.0");
    zframe_t *copy = request_id? zframe_dup (request_id): zframe_new_empty ();
    zmsg_append (reply, &copy);
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, user_id);
    zmsg_addmem (reply, NULL, 0);
    if (zmsg_send (&reply, self->handler) == -1) {
        zc_warn ("cannot answer a ZAP request: %s", zmq_strerror (zmq_errno ()));
        zmsg_destroy (&reply);
    }
    zmsg_destroy (&request);
    return rc;
}


//  --------------------------------------------------------------------------
//  Self-test

static int
s_rmtree_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove (path);
}

//  Sends one hand-made request to the handler through 'client' and
//  returns the handler's result; the reply's status code goes to 'status'.
static int
s_exchange (zc_zap_t *zap, zc_keyring_t *keyring, zsock_t *client,
            zmsg_t **request_p, char *status)
{
    zmsg_send (request_p, client);
    status [0] = 0;
    zpoller_t *poller = zpoller_new (zc_zap_socket (zap), NULL);
    bool asked = zpoller_wait (poller, 2000) != NULL;
    zpoller_destroy (&poller);
    if (!asked)
        return -2;              //  the switch did not hand the request on
    int rc = zc_zap_handle (zap, keyring);
    zmsg_t *reply = zmsg_recv (client);
    status [0] = 0;
    if (reply && zmsg_size (reply) == 6) {
        zmsg_first (reply);
        zmsg_next (reply);
        char *code = zframe_strdup (zmsg_next (reply));
        snprintf (status, 4, "%s", code);
        zstr_free (&code);
    }
    zmsg_destroy (&reply);
    return rc;
}

//  A ZAP request as libzmq would send it for the hub whose ZAP domain is
//  'domain'; 'key' may be NULL (no credential).
static zmsg_t *
s_request (const char *domain, const char *version, const char *mechanism, const uint8_t *key,
           size_t key_size)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, version);
    zmsg_addstr (request, "7");
    zmsg_addstr (request, domain);
    zmsg_addstr (request, "192.0.2.1");
    zmsg_addstr (request, "");
    zmsg_addstr (request, mechanism);
    if (key)
        zmsg_addmem (request, key, key_size);
    return request;
}

//  A DEALER using cert 'name' from 'dir', connected to the CURVE server.
static zsock_t *
s_client (const char *dir, const char *name, const char *server_key, const char *endpoint)
{
    zcert_t *cert = zc_key_load_own (dir, name, NULL);
    assert (cert);
    zsock_t *client = zsock_new (ZMQ_DEALER);
    assert (client);
    zcert_apply (cert, client);
    zsock_set_curve_serverkey (client, server_key);
    int rc = zsock_connect (client, "%s", endpoint);
    assert (rc == 0);
    (void) rc;
    zcert_destroy (&cert);
    return client;
}

//  The test's admission function: only the key in 'arg'.
static bool
s_admit_n2 (const char *public_txt, void *arg)
{
    return streq (public_txt, (const char *) arg);
}

int
zc_zap_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-zap-test-XXXXXX";
    if (!mkdtemp (dir)) {
        printf ("# cannot make %s: %s\n", dir, strerror (errno));
        return -1;
    }
    char *untrusted_dir = zsys_sprintf ("%s/revoked", dir);
    mkdir (untrusted_dir, 0700);
    ZC_CHECK (zc_keygen (dir, "hub1", true, NULL) == 0);
    ZC_CHECK (zc_keygen (dir, "n1", false, NULL) == 0);
    ZC_CHECK (zc_keygen (untrusted_dir, "n2", false, NULL) == 0);
    zc_keyring_t *keyring = zc_keyring_load (dir, NULL);
    assert (keyring);
    const zc_key_t *n1 = zc_keyring_by_name (keyring, "n1");
    assert (n1);
    zc_key_t n2;
    char *path = zsys_sprintf ("%s/n2.cert", untrusted_dir);
    ZC_CHECK (zc_key_load (path, &n2, NULL) == 0);
    zstr_free (&path);

    zc_zap_t *zap = zc_zap_new ("hub1");
    ZC_CHECK (zap);
    if (!zap)
        goto done;
    ZC_CHECK (zc_zap_refused (zap) == 0);

    //  Hand-made requests: trusted, untrusted, other mechanism, malformed.
    zsock_t *raw = zsock_new_req (">" S_ENDPOINT);
    assert (raw);
    char status [4];
    zmsg_t *request = s_request ("hub1", "1.0", "CURVE", n1->public_key, 32);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == 0);
    ZC_CHECK_STR (status, "200");
    request = s_request ("hub1", "1.0", "CURVE", n2.public_key, 32);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == 0);
    ZC_CHECK_STR (status, "400");
    request = s_request ("hub1", "1.0", "CURVE", n1->public_key, 32);
    ZC_CHECK (s_exchange (zap, NULL, raw, &request, status) == 0);
    ZC_CHECK_STR (status, "400");
    request = s_request ("hub1", "1.0", "PLAIN", (const uint8_t *) "user", 4);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == 0);
    ZC_CHECK_STR (status, "400");
    request = s_request ("hub1", "1.0", "NULL", NULL, 0);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == 0);
    ZC_CHECK_STR (status, "400");
    ZC_CHECK (zc_zap_refused (zap) == 4);
    request = s_request ("hub1", "2.0", "CURVE", n1->public_key, 32);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == -1);
    ZC_CHECK_STR (status, "500");
    request = s_request ("hub1", "1.0", "CURVE", n1->public_key, 31);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == -1);
    ZC_CHECK_STR (status, "500");
    request = s_request ("hub1", "1.0", "CURVE", NULL, 0);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == -1);
    ZC_CHECK_STR (status, "500");
    request = s_request ("hub1", "1.0", "CURVE", n1->public_key, 32);
    zmsg_addstr (request, "extra");
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == -1);
    ZC_CHECK_STR (status, "500");
    ZC_CHECK (zc_zap_refused (zap) == 4);

    //  Another hub in this process has a handler of its own, asked about
    //  its domain only; a domain nobody handles (or no domain) is refused
    //  by the switch.
    zc_zap_t *second = zc_zap_new ("hub2");
    ZC_CHECK (second != NULL);
    request = s_request ("hub2", "1.0", "CURVE", n1->public_key, 32);
    ZC_CHECK (s_exchange (second, NULL, raw, &request, status) == 0);
    ZC_CHECK_STR (status, "400");
    ZC_CHECK (zc_zap_refused (second) == 1 && zc_zap_refused (zap) == 4);
    zc_zap_destroy (&second);
    zsock_set_rcvtimeo (raw, 2000);
    for (int round = 0; round < 2; round++) {
        if (round == 0)
            request = s_request ("hub9", "1.0", "CURVE", n1->public_key, 32);
        else {
            request = zmsg_new ();
            zmsg_addstr (request, "1.0");
        }
        zmsg_send (&request, raw);
        zmsg_t *reply = zmsg_recv (raw);
        char *code = NULL;
        if (reply && zmsg_size (reply) == 6) {
            zmsg_first (reply);
            zmsg_next (reply);
            code = zframe_strdup (zmsg_next (reply));
        }
        ZC_CHECK_STR (code, "400");
        zstr_free (&code);
        zmsg_destroy (&reply);
    }
    //  A suspended key is refused until its time is up.
    zc_zap_suspend (zap, n1->public_txt, zclock_mono () + 60000);
    ZC_CHECK (zc_zap_suspended (zap, n1->public_txt));
    request = s_request ("hub1", "1.0", "CURVE", n1->public_key, 32);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == 0);
    ZC_CHECK_STR (status, "400");
    ZC_CHECK (zc_zap_refused (zap) == 5);
    zc_zap_suspend (zap, n1->public_txt, zclock_mono () - 1);
    ZC_CHECK (!zc_zap_suspended (zap, n1->public_txt));
    request = s_request ("hub1", "1.0", "CURVE", n1->public_key, 32);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == 0);
    ZC_CHECK_STR (status, "200");
    //  With an admission function, an unknown key it admits completes
    //  its handshake (its key as User-Id); one it does not is refused.
    zc_zap_set_admit (zap, s_admit_n2, (void *) n2.public_txt);
    request = s_request ("hub1", "1.0", "CURVE", n2.public_key, 32);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == 0);
    ZC_CHECK_STR (status, "200");
    ZC_CHECK (zc_zap_admitted (zap) == 1);
    uint8_t stranger [32] = { 1 };
    request = s_request ("hub1", "1.0", "CURVE", stranger, 32);
    ZC_CHECK (s_exchange (zap, keyring, raw, &request, status) == 0);
    ZC_CHECK_STR (status, "400");
    ZC_CHECK (zc_zap_admitted (zap) == 1 && zc_zap_refused (zap) == 6);
    zc_zap_set_admit (zap, NULL, NULL);
    zsock_destroy (&raw);

    //  Real handshakes: the trusted client's message arrives with its key
    //  as User-Id, the other client's never does.
    zcert_t *server_cert = zc_key_load_own (dir, "hub1", NULL);
    assert (server_cert);
    zsock_t *server = zsock_new (ZMQ_ROUTER);
    assert (server);
    zsock_set_curve_server (server, 1);
    zsock_set_zap_domain (server, "hub1");
    zcert_apply (server_cert, server);
    int port = zsock_bind (server, "tcp://127.0.0.1:*");
    ZC_CHECK (port > 0);
    char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    zsock_t *trusted = s_client (dir, "n1", zcert_public_txt (server_cert), endpoint);
    zsock_t *untrusted = s_client (untrusted_dir, "n2", zcert_public_txt (server_cert), endpoint);
    zstr_send (untrusted, "from n2");
    zstr_send (trusted, "from n1");

    uint64_t refused = zc_zap_refused (zap);
    zpoller_t *poller = zpoller_new (zc_zap_socket (zap), server, NULL);
    assert (poller);
    int64_t deadline = zclock_mono () + 10000, quiet_until = 0;
    int from_n1 = 0, from_n2 = 0, handled = 0;
    while (zclock_mono () < deadline && (!quiet_until || zclock_mono () < quiet_until)) {
        void *which = zpoller_wait (poller, 50);
        if (which == zc_zap_socket (zap)) {
            ZC_CHECK (zc_zap_handle (zap, keyring) == 0);
            handled++;
        }
        else
        if (which == server) {
            zmsg_t *msg = zmsg_recv (server);
            zframe_t *body = msg && zmsg_size (msg) == 2? zmsg_last (msg): NULL;
            if (body && zframe_streq (body, "from n1")) {
                from_n1++;
                ZC_CHECK_STR (zframe_meta (body, "User-Id"), n1->public_txt);
            }
            else
                from_n2++;
            zmsg_destroy (&msg);
        }
        else
        if (zpoller_terminated (poller))
            break;
        //  Once both verdicts are in, give a stray message a moment.
        if (from_n1 && zc_zap_refused (zap) > refused && !quiet_until)
            quiet_until = zclock_mono () + 300;
    }
    ZC_CHECK (from_n1 == 1);
    ZC_CHECK (from_n2 == 0);
    ZC_CHECK (zc_zap_refused (zap) > refused);
    ZC_CHECK (handled >= 2);
    if (verbose)
        printf ("#   %d ZAP requests, %" PRIu64 " refused\n", handled, zc_zap_refused (zap));

    zpoller_destroy (&poller);
    zsock_destroy (&trusted);
    zsock_destroy (&untrusted);
    zsock_destroy (&server);
    zcert_destroy (&server_cert);
    zstr_free (&endpoint);
    zc_zap_destroy (&zap);
    ZC_CHECK (zap == NULL);
    zc_zap_destroy (&zap);
done:
    zc_keyring_destroy (&keyring);
    zstr_free (&untrusted_dir);
    nftw (dir, s_rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
    ZC_CHECK (access (dir, F_OK) == -1);
    return ZC_TEST_END;
}
