/*  agent.h — `zcnc agent`: dials its hub, sends the jobs submitted on its
    socket (outbox), runs the jobs sent to it (runner), keeps the node
    directory, and answers the local JSON-lines socket.
*/
#ifndef ZC_AGENT_H
#define ZC_AGENT_H
#include "config.h"

//  Runs an agent until SIGTERM/SIGINT. Returns the process exit status.
int zc_agent_run (zc_config_t *config);
#endif
