/*  uplink.h — a connection dialled out to one hub, by an agent (its hubs)
    or by a hub (its uplinks).

    A DEALER with our CURVE key and the hub's key pinned from KEYS/NAME.cert.
    It says HELLO as soon as a handshake completes and then every heartbeat
    interval (asking for the whole directory while it is not up). The
    owner decides when the link is up, from the hub's answer
    (zc_uplink_set_up); the link goes down when the connection drops, when
    the hub falls silent for peer_timeout, or when the hub says it does not
    know us (ERROR NOT_HELLO, after a restart). A refused handshake is
    dialled again with a backoff (libzmq does not), so a key trusted later
    is picked up. Reconnects are spread at random over the reconnect
    interval, so a restarted hub is not hit by every peer at once.
*/
#ifndef ZC_UPLINK_H
#define ZC_UPLINK_H
#include <czmq.h>
#include "config.h"
#include "wire.h"
#include "flow.h"

typedef struct _zc_uplink_t zc_uplink_t;

//  Every decoded message from the hub (the owner destroys nothing: msg
//  is destroyed after the call).
typedef void (zc_uplink_message_fn) (zc_uplink_t *uplink, zc_wire_t *msg, void *arg);
//  The link went up or down.
typedef void (zc_uplink_state_fn) (zc_uplink_t *uplink, bool up, void *arg);

//  Dials 'hub'. 'key' names the config key for error messages ("agent/hub").
//  What we send goes through a flow (flow.h) that may hold 'budget'
//  bytes within 'pool' (or NULL). NULL with *error when the hub's cert
//  cannot be read or the endpoint not dialled.
zc_uplink_t *zc_uplink_new (zloop_t *loop, const zc_config_t *config, zcert_t *cert,
                            const zc_peer_addr_t *hub, const char *key,
                            size_t budget, zc_flow_pool_t *pool,
                            zc_uplink_message_fn *on_message, zc_uplink_state_fn *on_state,
                            void *arg, char **error);
void zc_uplink_destroy (zc_uplink_t **self_p);

//  Sends a message and destroys it (a bulk chunk may wait its turn in the
//  flow). -1 when the link is down (only HELLO goes out then), the flow
//  refused it (errno ENOBUFS) or the socket would not take it.
int zc_uplink_send (zc_uplink_t *self, zc_wire_t **msg_p);
//  The same for a message already encoded (a hub relaying; 'bulk' says
//  it is a chunk); destroys *frames_p either way.
int zc_uplink_send_frames (zc_uplink_t *self, zmsg_t **frames_p, bool bulk);
//  The hub answered our HELLO with what makes the link usable.
void zc_uplink_set_up (zc_uplink_t *self);
//  What this node advertises with its directory entry, a facts set
//  (facts.h; copied), or NULL for nothing (a hub's uplinks). It goes with
//  every HELLO while the link is not up (a hub that restarted has
//  nothing) and, after a change, with a HELLO at once and each
//  heartbeat's until the hub answers one that carried it: not with
//  every heartbeat.
void zc_uplink_set_advert (zc_uplink_t *self, zframe_t *advert);
bool zc_uplink_is_up (zc_uplink_t *self);
const char *zc_uplink_name (zc_uplink_t *self);
const char *zc_uplink_endpoint (zc_uplink_t *self);
//  Applies the config's link settings (zcnc section: handshake,
//  heartbeat, peer_timeout, reconnect, reconnect_max, tcp_keepalive) and
//  the wire's limits to a socket; values were range-checked on loading.
void zc_uplink_tune (zsock_t *sock, const zc_config_t *config);
//  Seeds rand(), which libzmq uses to spread reconnects, from libsodium;
//  call it after zsys_init (which seeds it with the time in seconds).
void zc_uplink_seed_random (void);
//  Why the link cannot come up (the hub refused our key, or closes every
//  connection before the handshake, as one with another key than the
//  pinned one does), or NULL. Also logged once when it is found.
const char *zc_uplink_problem (zc_uplink_t *self);
//  Malformed messages received from this hub.
uint64_t zc_uplink_malformed (zc_uplink_t *self);
//  What we send to it: in flight, queued, refused.
zc_flow_t *zc_uplink_flow (zc_uplink_t *self);
#endif
