/*  agentmetrics.c — an agent's Prometheus page (see agentmetrics.h). */
#include <time.h>
#include "prelude.h"
#include "agentmetrics.h"
#include "httpserve.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "testing.h"
#include "uplink.h"

struct _zc_agentmetrics_t {
    zc_agentmetrics_parts_t parts;
    zc_httpserve_t *server;
};

//  The pub/sub counters of zc_pubsub_status and their families.
static const struct {
    const char *key;
    const char *name;
    const char *help;
} s_pubsub [] = {
    { "published", "zcnc_agent_publications_published_total", "Messages published from this agent." },
    { "delivered", "zcnc_agent_publications_delivered_total", "Messages delivered to subscribers here." },
    { "dropped", "zcnc_agent_publications_dropped_total", "Messages dropped for subscribers too slow to read them." },
    { "denied", "zcnc_agent_publications_denied_total", "Messages whose subscriber command the policy refused." },
    { "forged", "zcnc_agent_publications_forged_total", "Messages dropped as not authentic." },
    { "unsent", "zcnc_agent_publications_unsent_total", "Messages published here that no hub link took." },
};
#define S_PUBSUB_COUNT (sizeof s_pubsub / sizeof s_pubsub [0])

static void
s_jobs (zc_metrics_t *page, const zc_agentmetrics_parts_t *parts)
{
    size_t counts [ZC_STATE_COUNT];
    uint64_t oldest_ms = 0;
    zc_delivery_states (parts->delivery, counts, &oldest_ms);
    zc_metrics_family (page, "zcnc_agent_jobs", ZC_METRIC_GAUGE,
                       "Jobs sent from this agent and kept here, by state.");
    for (int state = 0; state < ZC_STATE_COUNT; state++)
        zc_metrics_labelled (page, "state", zc_state_name ((zc_state_t) state), (double) counts [state]);
    zc_metrics_one (page, "zcnc_agent_outbox_jobs", ZC_METRIC_GAUGE,
                    "Jobs sent from this agent that are not final: queued, sent or running.",
                    (double) (counts [ZC_STATE_QUEUED] + counts [ZC_STATE_SENT] + counts [ZC_STATE_RUNNING]));
    double now_ms = (double) zc_wall_ms ();
    double age = oldest_ms && now_ms > (double) oldest_ms? (now_ms - (double) oldest_ms) / 1000.0: 0;
    zc_metrics_one (page, "zcnc_agent_oldest_unacked_job_seconds", ZC_METRIC_GAUGE,
                    "Age of the oldest job sent from here that its target has not taken yet (0: none).",
                    age);
    uint64_t forged = 0, malformed = 0;
    zc_delivery_rejected (parts->delivery, &forged, &malformed);
    zc_metrics_one (page, "zcnc_agent_results_forged_total", ZC_METRIC_COUNTER,
                    "Results dropped as not authentic.", (double) forged);
    zc_metrics_one (page, "zcnc_agent_messages_malformed_total", ZC_METRIC_COUNTER,
                    "Messages from hubs dropped as malformed.",
                    (double) (malformed + (parts->malformed? *parts->malformed: 0)));
}

static void
s_uplinks (zc_metrics_t *page, zlist_t *uplinks)
{
    zc_metrics_family (page, "zcnc_agent_hub_up", ZC_METRIC_GAUGE, "1 when the link to this hub is up.");
    for (zc_uplink_t *uplink = zlist_first (uplinks); uplink; uplink = zlist_next (uplinks))
        zc_metrics_labelled (page, "hub", zc_uplink_name (uplink), zc_uplink_is_up (uplink));
    zc_metrics_family (page, "zcnc_agent_hub_bytes_queued", ZC_METRIC_GAUGE,
                       "Bytes on their way or queued to this hub.");
    for (zc_uplink_t *uplink = zlist_first (uplinks); uplink; uplink = zlist_next (uplinks)) {
        zc_flow_t *flow = zc_uplink_flow (uplink);
        zc_metrics_labelled (page, "hub", zc_uplink_name (uplink),
                             (double) (zc_flow_in_flight (flow) + zc_flow_queued (flow)));
    }
    zc_metrics_family (page, "zcnc_agent_hub_refused_total", ZC_METRIC_COUNTER,
                       "Messages this hub's link refused over its budget (their senders retry).");
    for (zc_uplink_t *uplink = zlist_first (uplinks); uplink; uplink = zlist_next (uplinks))
        zc_metrics_labelled (page, "hub", zc_uplink_name (uplink), (double) zc_flow_refused (zc_uplink_flow (uplink)));
}

char *
zc_agentmetrics_page (const zc_agentmetrics_parts_t *parts, size_t *size)
{
    zc_metrics_t *page = zc_metrics_new ();
    if (parts->delivery)
        s_jobs (page, parts);
    if (parts->control)
        zc_metrics_one (page, "zcnc_agent_jobs_submitted_total", ZC_METRIC_COUNTER,
                        "Jobs accepted from clients and the drop folder.",
                        (double) zc_control_submitted (parts->control));
    if (parts->runner) {
        zc_metrics_one (page, "zcnc_agent_jobs_running", ZC_METRIC_GAUGE, "Jobs running on this node now.",
                        (double) zc_runner_running (parts->runner));
        zc_metrics_one (page, "zcnc_agent_jobs_refused_total", ZC_METRIC_COUNTER,
                        "Jobs for this node refused before they were stored (not authentic, not for us).",
                        (double) zc_runner_refused (parts->runner));
    }
    if (parts->uplinks)
        s_uplinks (page, parts->uplinks);
    if (parts->directory)
        zc_metrics_one (page, "zcnc_agent_directory_nodes", ZC_METRIC_GAUGE, "Nodes in this agent's directory.",
                        (double) zc_directory_size (parts->directory));
    if (parts->pubsub) {
        json_t *status = zc_pubsub_status (parts->pubsub);
        for (size_t index = 0; index < S_PUBSUB_COUNT; index++)
            zc_metrics_one (page, s_pubsub [index].name, ZC_METRIC_COUNTER, s_pubsub [index].help,
                            json_number_value (json_object_get (status, s_pubsub [index].key)));
        zc_metrics_one (page, "zcnc_agent_subscriptions", ZC_METRIC_GAUGE, "Clients' subscriptions here.",
                        json_number_value (json_object_get (status, "subscriptions")));
        json_decref (status);
    }
    size_t file_bytes, used_bytes;
    if (parts->store && zc_store_usage (parts->store, &file_bytes, &used_bytes) == 0) {
        zc_metrics_one (page, "zcnc_agent_store_file_bytes", ZC_METRIC_GAUGE,
                        "Size of the store's data file (DATA/store/data.mdb).", (double) file_bytes);
        zc_metrics_one (page, "zcnc_agent_store_used_bytes", ZC_METRIC_GAUGE,
                        "Bytes of the store's data file in use.", (double) used_bytes);
    }
    if (parts->store)
        zc_metrics_one (page, "zcnc_agent_store_commits_total", ZC_METRIC_COUNTER,
                        "Transactions committed to the store.", (double) zc_store_commits (parts->store));
    zc_metrics_process (page);
    char *text = zc_strdup (zc_metrics_text (page, size));
    zc_metrics_destroy (&page);
    return text;
}

static char *
s_page (size_t *size, void *arg)
{
    return zc_agentmetrics_page (&((zc_agentmetrics_t *) arg)->parts, size);
}

zc_agentmetrics_t *
zc_agentmetrics_new (zloop_t *loop, const zc_agentmetrics_parts_t *parts, char **error)
{
    const zc_config_t *config = parts->config;
    assert (config && config->metrics);
    zc_agentmetrics_t *self = zc_calloc (1, sizeof *self);
    self->parts = *parts;
    char *problem = NULL;
    self->server = zc_httpserve_new (loop, config->metrics, "/metrics", ZC_METRICS_CONTENT_TYPE,
                                     s_page, self, &problem);
    if (!self->server) {
        zc_fail (error, "%s: agent/metrics: %s", config->path, problem);
        free (problem);
        free (self);
        return NULL;
    }
    zc_info ("metrics on http://%s/metrics", zc_httpserve_address (self->server));
    if (config->data) {
        char *file = zsys_sprintf ("%s/agent.metrics", config->data);
        zc_httpserve_note (self->server, file);
        free (file);
    }
    return self;
}

void
zc_agentmetrics_destroy (zc_agentmetrics_t **self_p)
{
    zc_agentmetrics_t *self = *self_p;
    if (!self)
        return;
    zc_httpserve_destroy (&self->server);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------
//  Self-test: the page of an outbox and a store (the rest is left out);
//  a server that cannot listen.

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    zc_wire_destroy (msg_p);
    return -1;          //  no link: the job stays queued
}

int
zc_agentmetrics_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zcnc-agentmetrics-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *error = NULL;
    zc_store_t *store = zc_store_open (dir, false, &error);
    ZC_CHECK (store != NULL);
    free (error);
    zc_queue_cap_t cap = { .max_jobs = 100, .max_bytes = 1 << 20 };
    zc_delivery_t *delivery = zc_delivery_new (store, "n1", cap, s_test_send, NULL, NULL);
    zc_agentmetrics_parts_t parts = { .store = store, .delivery = delivery };
    size_t size = 0;
    char *page = zc_agentmetrics_page (&parts, &size);
    ZC_CHECK (page && size == strlen (page));
    ZC_CHECK (strstr (page, "# TYPE zcnc_agent_jobs gauge\nzcnc_agent_jobs{state=\"queued\"} 0\n")
              && strstr (page, "\nzcnc_agent_oldest_unacked_job_seconds 0\n")
              && strstr (page, "\nzcnc_agent_store_used_bytes ") && strstr (page, "\nprocess_cpu_seconds_total ")
              && !strstr (page, "zcnc_agent_hub_up"));
    free (page);
    //  A job that cannot leave: queued, and getting older.
    char *problem = NULL;
    json_t *request = json_pack ("{s:s, s:[s]}", "to", "n2", "args", "true");
    const char *field = NULL;
    zc_message_t *message = zc_message_from_json (request, NULL, &problem, &field);
    json_decref (request);
    ZC_CHECK (message != NULL);
    free (problem);
    problem = NULL;
    zlist_t *targets = zlist_new ();
    zlist_append (targets, "n2");
    zlist_t *ids = message? zc_delivery_submit (delivery, message, targets, &problem): NULL;
    free (problem);
    ZC_CHECK (ids && zlist_size (ids) == 1);
    zlist_destroy (&ids);
    zc_store_commit (store);
    zclock_sleep (1100);
    page = zc_agentmetrics_page (&parts, &size);
    const char *age = page? strstr (page, "\nzcnc_agent_oldest_unacked_job_seconds "): NULL;
    ZC_CHECK (page && strstr (page, "\nzcnc_agent_jobs{state=\"queued\"} 1\n")
              && strstr (page, "\nzcnc_agent_outbox_jobs 1\n") && age && atof (age + 39) >= 1.0);
    if (verbose && age)
        printf ("# agentmetrics: the oldest job waits %.3f s\n", atof (age + 39));
    free (page);
    //  An address it cannot listen on: the agent cannot start.
    zc_config_t config = { .path = "a.cfg", .metrics = "192.0.2.1:1" };
    parts.config = &config;
    zloop_t *loop = zloop_new ();
    ZC_CHECK (zc_agentmetrics_new (loop, &parts, &error) == NULL);
    ZC_CHECK (error && strncmp (error, "a.cfg: agent/metrics: cannot listen on 192.0.2.1:1: ", 52) == 0);
    free (error);
    zloop_destroy (&loop);
    zlist_destroy (&targets);
    zc_message_destroy (&message);
    zc_delivery_destroy (&delivery);
    zc_store_close (&store);
    char *command = zsys_sprintf ("rm -rf %s", dir);
    ZC_CHECK (system (command) == 0);
    free (command);
    return ZC_TEST_END;
}
