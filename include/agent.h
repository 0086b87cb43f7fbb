/*  agent.h — `zcnc agent`: dials its hubs, sends the jobs submitted on its
    socket (outbox), runs the jobs sent to it (runner), keeps the node
    directory, and answers the local JSON-lines socket (control).

    A daemon object: main() makes one with zc_agent_new and runs it with
    zc_agent_loop; the self-test runs agents as actors (zc_agent_actor),
    several in one process.
*/
#ifndef ZC_AGENT_H
#define ZC_AGENT_H
#include <czmq.h>
#include "config.h"

typedef struct _zc_agent_t zc_agent_t;

//  Everything up to the loop: data directory, keys, store, hub links,
//  socket. 'config' is borrowed and must outlive the agent. NULL with
//  *error (malloc'd: what failed and what to do) when it cannot start.
zc_agent_t *zc_agent_new (zc_config_t *config, char **error);
//  Runs until SIGTERM or SIGINT (after zc_daemon_init), or until a
//  handler of the loop ends it. Returns 0.
int zc_agent_loop (zc_agent_t *self);
//  Stops what is running (jobs still running are killed and recorded as
//  interrupted), commits the last batch, frees everything. NULL-safe.
void zc_agent_destroy (zc_agent_t **self_p);

//  An agent as a czmq actor, for tests: zactor_new (zc_agent_actor,
//  config). Once zactor_new returns, it sends "0" when it started
//  (or "1" when it could not, after logging why) and stops on "$TERM".
void zc_agent_actor (zsock_t *pipe, void *config);

int zc_agent_test (bool verbose);
#endif
