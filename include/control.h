/*  control.h — the agent's control socket: the JSON-lines protocol that
    clients (the zcnc commands, nc -U, scripts) speak on DATA/zcnc.sock
    (zcnc-socket(7)).

    A line is a message to send (its jobs are resolved against the node
    directory and stored; the IDs are answered once they are on disk, and
    with "wait" the results follow) or an {"op": ...}. Ops live in one
    table in control.c: a new op is a function and a row there. Answers
    to one connection keep the order of its requests.
*/
#ifndef ZC_CONTROL_H
#define ZC_CONTROL_H
#include <czmq.h>
#include "commit.h"
#include "config.h"
#include "daemon.h"
#include "delivery.h"
#include "directory.h"
#include "facts.h"
#include "message.h"
#include "pubsub.h"
#include "replyto.h"
#include "runner.h"
#include "wire.h"

typedef struct _zc_control_t zc_control_t;

//  The node directory on demand: an agent subscribes to it (at its hubs)
//  from the first request that needs it, a glob, ALL or "nodes", unless
//  its config says always; then it keeps it.
typedef struct {
    bool wanted;                //  subscribed (the config, or a client needed it)
    bool ready;                 //  it came since, or was stored from before
    uint64_t messages;          //  directory messages received (NODES)
} zc_directory_use_t;

//  What the ops work on, all borrowed from the agent.
typedef struct {
    const zc_config_t *config;
    zloop_t *loop;
    zc_commit_t *commit;
    zc_delivery_t *delivery;
    zc_runner_t *runner;
    zc_directory_t *directory;
    zc_daemon_t *daemon;        //  its keyring tells which names are hubs
    zlist_t *uplinks;           //  zc_uplink_t, for status
    zc_pubsub_t *pubsub;
    zc_replyto_t *replyto;      //  checks reply commands against the policy
    const zc_directory_use_t *directory_use;
    zc_facts_t *const *facts;   //  what this node advertises (the agent's, which a reload replaces)
    //  Asks for the directory: true when it is here, false when it is on
    //  its way (zc_control_directory_ready says when it came).
    bool (*want_directory) (void *arg);
    //  More for status: an object whose fields are added (taken).
    json_t *(*status_extra) (void *arg);
    zc_link_send_fn *send;      //  pings leave here
    void *send_arg;
} zc_control_parts_t;

//  Listens on config->socket. NULL with *error when it cannot.
zc_control_t *zc_control_new (const zc_control_parts_t *parts, char **error);
//  Closes every connection and removes the socket file.
void zc_control_destroy (zc_control_t **self_p);

//  Resolves a message's targets and stores its jobs (they are sent at
//  once; promised after the next commit). Returns the job IDs (a new
//  list, in target order) with *targets and *unknown filled, or NULL
//  with *error malloc'd and *code the socket's error code (usage,
//  nomatch or full; denied for a reply command the policy does not
//  allow; "later" when the expression needs the node directory, which
//  is on its way). Also for the drop and startup folders.
zlist_t *zc_control_submit (zc_control_t *self, zc_message_t *message, zlist_t **targets,
                            zlist_t **unknown, char **error, const char **code);

//  Events for the requests that wait: a job reached its final state, a
//  PONG or a NOROUTE arrived.
void zc_control_job_final (zc_control_t *self, const char *job_id);
void zc_control_on_pong (zc_control_t *self, zc_wire_t *msg);
//  A chunk of a job's output stream (exec_stream, tail): the requests
//  waiting for that job get it as a line {"id", "node", "stream",
//  "data" or "data_b64"}.
void zc_control_job_output (zc_control_t *self, const char *job_id, int stream,
                            const uint8_t *bytes, size_t size);
//  False while a client waiting for the job has more than a few MiB of
//  its output not read yet.
bool zc_control_job_ready (zc_control_t *self, const char *job_id);
void zc_control_on_noroute (zc_control_t *self, zc_wire_t *msg);

//  The node directory came (after want_directory): the requests that
//  waited for it go on.
void zc_control_directory_ready (zc_control_t *self);

//  Jobs accepted from clients and the drop folder.
uint64_t zc_control_submitted (zc_control_t *self);
#endif
