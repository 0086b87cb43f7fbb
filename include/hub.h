/*  hub.h — `zcnc hub`: the relay. A ROUTER socket with CURVE and the ZAP
    handler; routes jobs and replies by node name, stamps the sender's
    authenticated name, keeps the directory it serves, and tells origins
    waiting for an absent node when it appears. No durable state.
*/
#ifndef ZC_HUB_H
#define ZC_HUB_H
#include "config.h"
#include "wire.h"

//  Runs a hub until SIGTERM/SIGINT. Returns the process exit status;
//  a config or start-up problem is logged as one line and returns 1.
int zc_hub_run (zc_config_t *config);

//  For test tools only (tests/zc-testhub, a hub that misbehaves on
//  purpose): called with every message the hub relays, once it stamped
//  the sender and before it routes it; it may change the message. A
//  message it returns is routed too, right after, as if it had come the
//  same way, and then destroyed.
typedef zc_wire_t *(zc_hub_tap_fn) (zc_wire_t *msg);
void zc_hub_set_tap (zc_hub_tap_fn *tap);
#endif
