/*  hub.h — `zcnc hub`: the relay. A ROUTER socket with CURVE and the ZAP
    handler; routes jobs and replies by node name, stamps the sender's
    authenticated name, keeps the directory it serves, and tells origins
    waiting for an absent node when it appears. No durable state.
*/
#ifndef ZC_HUB_H
#define ZC_HUB_H
#include "config.h"

//  Runs a hub until SIGTERM/SIGINT. Returns the process exit status;
//  a config or start-up problem is logged as one line and returns 1.
int zc_hub_run (zc_config_t *config);
#endif
