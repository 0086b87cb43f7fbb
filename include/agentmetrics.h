/*  agentmetrics.h — an agent's Prometheus page (agent/metrics,
    zcnc.conf(5)): its outbox by state, the age of its oldest job not
    yet taken by its target, jobs run here, its links to its hubs, its
    pub/sub counters, its store's size and the process's own figures.
    The numbers are those `zcnc status` shows, read when the page is
    asked for.
*/
#ifndef ZC_AGENTMETRICS_H
#define ZC_AGENTMETRICS_H
#include <czmq.h>
#include "config.h"
#include "control.h"
#include "delivery.h"
#include "directory.h"
#include "pubsub.h"
#include "runner.h"
#include "store.h"

typedef struct _zc_agentmetrics_t zc_agentmetrics_t;

//  What the page is made from, all borrowed from the agent; any may be
//  NULL (its families are left out).
typedef struct {
    const zc_config_t *config;
    zc_store_t *store;
    zc_delivery_t *delivery;
    zc_runner_t *runner;
    zc_directory_t *directory;
    zlist_t *uplinks;           //  zc_uplink_t
    zc_pubsub_t *pubsub;
    zc_control_t *control;
    const uint64_t *malformed;  //  messages from hubs the agent dropped as malformed
} zc_agentmetrics_parts_t;

//  Serves the page on config->metrics (which must be set) and writes
//  where to DATA/agent.metrics. NULL with *error (malloc'd) when it
//  cannot listen.
zc_agentmetrics_t *zc_agentmetrics_new (zloop_t *loop, const zc_agentmetrics_parts_t *parts, char **error);
void zc_agentmetrics_destroy (zc_agentmetrics_t **self_p);

//  The page now: a malloc'd text and its size.
char *zc_agentmetrics_page (const zc_agentmetrics_parts_t *parts, size_t *size);

int zc_agentmetrics_test (bool verbose);
#endif
