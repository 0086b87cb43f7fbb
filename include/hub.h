/*  hub.h — `zcnc hub`: the relay. A ROUTER socket with CURVE and the ZAP
    handler; routes jobs and replies by node name, stamps the sender's
    authenticated name, keeps the directory it serves, and tells origins
    waiting for an absent node when it appears. No durable state.

    A daemon object, like the agent (agent.h).
*/
#ifndef ZC_HUB_H
#define ZC_HUB_H
#include <czmq.h>
#include "config.h"
#include "wire.h"

typedef struct _zc_hub_t zc_hub_t;

//  Loads the keys, binds and dials the uplinks. 'config' is borrowed and
//  must outlive the hub. NULL with *error (malloc'd) when it cannot start.
zc_hub_t *zc_hub_new (zc_config_t *config, char **error);
//  Runs until SIGTERM or SIGINT (after zc_daemon_init), or until a
//  handler of the loop ends it. Returns 0.
int zc_hub_loop (zc_hub_t *self);
void zc_hub_destroy (zc_hub_t **self_p);

//  A hub as a czmq actor, for tests: zactor_new (zc_hub_actor, config).
//  Once zactor_new returns, it sends "0" when it started (or "1"
//  when it could not, after logging why),
//  answers "ENDPOINT" with the endpoint it bound last, and stops on
//  "$TERM".
void zc_hub_actor (zsock_t *pipe, void *config);

//  For test tools only (tests/zc-testhub, a hub that misbehaves on
//  purpose): called with every message the hub relays, and every PUB it
//  takes, once it stamped the sender and before it routes it (or pub/sub
//  takes it); it may change the message. A message it returns is routed
//  (taken) too, right after, as if it had come the same way, and then
//  destroyed.
typedef zc_wire_t *(zc_hub_tap_fn) (zc_wire_t *msg);
void zc_hub_set_tap (zc_hub_tap_fn *tap);

int zc_hub_test (bool verbose);
#endif
