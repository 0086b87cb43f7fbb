/*  config.h — the configuration files of SPEC.md ("Config files") and
    zcnc.conf(5): sections zcnc, hub and agent.

    Every error names the file, the line and the key. Values are checked
    here, before any of them reaches a czmq setter (which would assert).
*/
#ifndef ZC_CONFIG_H
#define ZC_CONFIG_H
#include "prelude.h"
#include <stdbool.h>
#include <sys/types.h>
#include <czmq.h>

#define ZC_HUB_CONFIG_DEFAULT   "/etc/zcnc/hub.cfg"
#define ZC_AGENT_CONFIG_DEFAULT "/etc/zcnc/agent.cfg"

typedef enum { ZC_ROLE_HUB, ZC_ROLE_AGENT, ZC_ROLE_CLIENT } zc_role_t;

//  A "NAME@endpoint" value: a hub to dial, or an uplink.
typedef struct {
    char name [ZC_NAME_SIZE];
    char *endpoint;
} zc_peer_addr_t;

typedef struct {
    char *path;                 //  the file this came from
    //  zcnc
    char *name;
    char *keys;                 //  directory
    char *data;                 //  directory
    double heartbeat;           //  s between HELLO/heartbeats (default 2)
    double peer_timeout;        //  s of silence before a peer is gone (default 10)
    double skew;                //  s of clock difference tolerated between nodes (default 300)
    bool e2e;                   //  agent: jobs and results sealed end to end (default on;
                                //  off only for measuring what that costs)
    //  Link tuning (zcnc.conf(5) has a profile for satellite links)
    double handshake;           //  s a CURVE handshake may take (default 30)
    double reconnect;           //  s before dialling a lost link again (default 0.1) ...
    double reconnect_max;       //  ... doubling up to this (default 5)
    double tcp_keepalive;       //  s of TCP idle before keepalive probes; 0 = off (default)
    //  hub
    zlist_t *binds;             //  of char *, endpoints as written
    zlist_t *uplinks;           //  of zc_peer_addr_t *
    size_t peer_budget;         //  bytes held for one agent (default 4 MiB)
    size_t hub_link_budget;     //  ... for one hub link, either way (default 32 MiB)
    size_t total_budget;        //  ... for all of them (default 256 MiB)
    char *hub_socket;           //  the control socket (zcnc hub-status); default DATA/hub.sock
    char *hub_socket_group;     //  NULL: mode 0600
    char *hub_metrics;          //  HOST:PORT of the Prometheus page, or NULL (off)
    bool hub_metrics_public;    //  served on an address that is not loopback
    //  agent
    zlist_t *hubs;              //  of zc_peer_addr_t *
    char *socket;               //  default DATA/zcnc.sock
    char *socket_group;         //  NULL: mode 0600
    char *readfolder, *policy, *startup, *error_node;   //  NULL when absent
    char *metrics;              //  HOST:PORT of the Prometheus page, or NULL (off)
    bool metrics_public;        //  served on an address that is not loopback
    size_t max_output;          //  bytes per stream (default 1 MiB)
    double forget_after;        //  s: nodes unseen this long leave the directory (7 days)
    double results_ttl;         //  s a sent job's result is kept (default 7 days)
    double reply_timeout;       //  s a reply command may run (reply_method exec; default 60)
    size_t queue_max_jobs;      //  outbox cap: jobs not final (default 100000)
    size_t queue_max_bytes;     //  outbox cap: their payload bytes (default 1 GiB)
    size_t error_queue;         //  error events kept for the error_node (default 1000)
    zlist_t *follow;            //  of char *: "PATH SUBJECT" (follow =)
    size_t follow_spool;        //  bytes of followed lines kept for collectors (64 MiB)
    zlist_t *collect;           //  of char *: "SUBJECT FILE" (collect =)
    zlist_t *labels;            //  of char *: "KEY=VALUE" (label KEY = VALUE), advertised
    zlist_t *functions;         //  of char *: "NAME=COMMAND" (function NAME = COMMAND)
    bool directory_always;      //  subscribe to the node directory from the start
                                //  (default: from the first client that needs it)
    //  agent: how jobs run (zcnc.conf(5): run_as_user ... pass_env)
    char *run_as_user, *run_as_group;   //  as written; NULL when absent
    char *workdir;              //  NULL: the job user's home if it exists, else /
    char *job_path;             //  PATH of jobs; NULL: exec.h's default
    zlist_t *job_env;           //  of char *: NAME=VALUE (env =)
    zlist_t *pass_env;          //  of char *: NAME (pass_env =)
    //  agent: the job user, looked up when an agent config is loaded
    //  (never for other roles): run_as_user, else the agent's own user.
    bool job_switch;            //  jobs switch to job_uid, job_gid and job_groups
    uid_t job_uid;
    gid_t job_gid;
    gid_t *job_groups;          //  supplementary groups (getgrouplist)
    size_t job_group_count;
    char *job_user;             //  name (the uid in digits if it has none)
    char *job_home;             //  home directory ("/" if it has none)
} zc_config_t;

//  Loads a config file for a role. ZC_ROLE_HUB requires zcnc/name, keys,
//  data and one hub/bind; ZC_ROLE_AGENT requires name, keys, data and one
//  agent/hub; ZC_ROLE_CLIENT requires only enough to find the socket.
//  For ZC_ROLE_AGENT, the job user and groups are looked up here, once:
//  an unknown one, or one the agent cannot switch to (it is not root), is
//  an error.
//  Returns NULL with *error a malloc'd "FILE:LINE: key: problem" message.
zc_config_t *zc_config_load (const char *path, zc_role_t role, char **error);
//  The same for text in memory (the fuzz target's way in); 'origin'
//  stands for the file name in errors.
zc_config_t *zc_config_parse (const char *text, size_t size, const char *origin,
                              zc_role_t role, char **error);

//  Which file a command reads: -c FILE, else $ZCNC_CONFIG, else the
//  role's default. The result points into its arguments or is static.
const char *zc_config_path (const char *option, zc_role_t role);

void zc_config_destroy (zc_config_t **self_p);

//  Checks a zmq endpoint: tcp://HOST:PORT (PORT may be * when binding)
//  or ipc://PATH. Returns NULL when good, else a static reason.
const char *zc_endpoint_problem (const char *endpoint, bool binding);

int zc_config_test (bool verbose);
#endif
