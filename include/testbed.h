/*  testbed.h — a scratch mesh for the daemons' self-tests: a directory
    under /tmp, key pairs, configs, and hubs and agents running as actors
    in this process (each on its own thread), talked to through their
    sockets as a client would, or through raw DEALERs as a peer would.

    Every wait is bounded. zc_testbed_destroy stops what still runs and
    removes the directory.
*/
#ifndef ZC_TESTBED_H
#define ZC_TESTBED_H
#include <czmq.h>
#include <jansson.h>
#include "config.h"
#include "wire.h"

typedef struct _zc_testbed_t zc_testbed_t;

zc_testbed_t *zc_testbed_new (void);
void zc_testbed_destroy (zc_testbed_t **self_p);
//  The scratch directory; its keys directory is DIR/keys.
const char *zc_testbed_dir (zc_testbed_t *self);

//  A key pair NAME in DIR/keys (or in DIR/KEYS when 'keys' is not NULL).
//  0 or -1.
int zc_testbed_keygen (zc_testbed_t *self, const char *keys, const char *name, bool hub);

//  Starts hub NAME on tcp://127.0.0.1:* with DIR/keys (its data in
//  DIR/NAME). Extra config lines ("zcnc/heartbeat = 0.2") follow NULL-
//  terminated. Returns its endpoint (owned by the bed), or NULL.
const char *zc_testbed_hub (zc_testbed_t *self, const char *name, ...);
//  Starts agent NAME dialling hub HUB at 'endpoint', with keys DIR/KEYS
//  ("keys" when NULL), its data and socket in DIR/NAME, extra lines as
//  above. 0, or -1 when it did not start.
int zc_testbed_agent (zc_testbed_t *self, const char *name, const char *keys, const char *hub,
                      const char *endpoint, ...);
//  Stops the daemon NAME (a hub or an agent), as SIGTERM would.
void zc_testbed_stop (zc_testbed_t *self, const char *name);

//  Sends one JSON request line to agent NAME's socket and returns its
//  first answer (new), or NULL after 'timeout_ms'. With 'more' not NULL,
//  the answers that follow (a "wait") are appended to it until the "end"
//  line or the timeout.
json_t *zc_testbed_ask (zc_testbed_t *self, const char *name, const char *request,
                        int timeout_ms, json_t *more);
//  Polls agent NAME's status until 'test' holds of it or timeout_ms
//  pass. True when it held.
typedef bool (zc_testbed_check_fn) (json_t *answer, void *arg);
bool zc_testbed_until (zc_testbed_t *self, const char *name, zc_testbed_check_fn *test,
                       void *arg, int timeout_ms);

//  Sends a job from agent 'origin' to the target expression 'to' running
//  'command', and waits up to 'wait_secs' for its results. Returns the
//  results (jobs objects, new; empty when none came), never NULL.
json_t *zc_testbed_run (zc_testbed_t *self, const char *origin, const char *to, const char *command,
                        int wait_secs);
//  Sends a job as above without waiting. Returns its first job ID (new),
//  or NULL when the agent refused it.
char *zc_testbed_submit (zc_testbed_t *self, const char *origin, const char *to, const char *command);
//  The state of job 'id' sent from 'origin' ("" when none), polled until
//  it is 'state' or timeout_ms pass. True when it is.
bool zc_testbed_job_until (zc_testbed_t *self, const char *origin, const char *id, const char *state,
                           int timeout_ms);
//  Polls agent NAME's directory until every node of 'names' (comma-
//  separated) is online (or, with 'online' false, known and offline), for
//  at most timeout_ms. True when they were.
bool zc_testbed_nodes_until (zc_testbed_t *self, const char *name, const char *names, bool online,
                             int timeout_ms);

//  A raw peer: a DEALER with the CURVE key pair KEYS/KEY (DIR/keys when
//  NULL), the server key of hub HUB pinned, connected to 'endpoint'.
zsock_t *zc_testbed_peer (zc_testbed_t *self, const char *keys, const char *key, const char *hub,
                          const char *endpoint);
//  The next message on a peer within timeout_ms (new), or NULL.
zc_wire_t *zc_testbed_recv (zsock_t *peer, int timeout_ms);
//  The next message of 'type' within timeout_ms, skipping others
//  (heartbeat answers, directory updates), or NULL.
zc_wire_t *zc_testbed_expect (zsock_t *peer, uint8_t type, int timeout_ms);

//  Whole meshes in one process (src/meshtest.c): hubs chained, agents on
//  each, through the testbed.
int zc_mesh_test (bool verbose);
#endif
