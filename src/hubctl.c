/*  hubctl.c — the hub's control socket and metrics page (see hubctl.h).

    Both answer from one status object that the hub fills when asked:
    the socket sends it as it is, the page turns its numbers into
    Prometheus families (names in s_counters and below; zcnc.conf(5)
    lists them).
*/
#include <errno.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "prelude.h"
#include "hubctl.h"
#include "client.h"
#include "httpserve.h"
#include "jsonl.h"
#include "log.h"
#include "metrics.h"
#include "testing.h"

struct _zc_hubctl_t {
    zc_jsonl_t *server;         //  the socket, or NULL without one
    zc_httpserve_t *metrics;    //  the page, or NULL when off
    zc_hubctl_status_fn *status;
    void *arg;
};

//  The status object's counters and the families they become.
static const struct {
    const char *key;            //  in "counters"
    const char *name;
    const char *help;
} s_counters [] = {
    { "forwarded", "zcnc_hub_messages_forwarded_total", "Messages relayed to a next hop (one per hop)." },
    { "noroute", "zcnc_hub_noroute_total", "Targets answered NOROUTE (nobody reached them)." },
    { "malformed", "zcnc_hub_messages_malformed_total", "Messages dropped as malformed or of another wire version." },
    { "dropped", "zcnc_hub_messages_dropped_total", "Messages dropped: hop limit, not routable, or a link gone." },
    { "unknown_key", "zcnc_hub_unknown_key_messages_total", "Messages from keys not in the keys directory." },
    { "bad_hello", "zcnc_hub_bad_hello_total", "HELLOs that claimed another name than their key's." },
    { "not_hello", "zcnc_hub_not_hello_total", "Messages from peers that had not said HELLO." },
    { "suspended", "zcnc_hub_suspended_messages_total", "Messages dropped from suspended keys." },
    { "duplicate", "zcnc_hub_duplicate_connections_total", "Messages refused on a second connection with a key." },
    { "over_budget", "zcnc_hub_refused_over_budget_total", "Messages refused because a link was over its budget." },
    { "refused", "zcnc_hub_pubsub_refused_total", "PUB, SUB, UNSUB and INTEREST messages refused." },
};
#define S_COUNTER_COUNT (sizeof s_counters / sizeof s_counters [0])

static const struct {
    const char *key;            //  in "pubsub"
    const char *name;
    const char *help;
} s_pubsub [] = {
    { "published", "zcnc_hub_published_total", "Publications taken from agents and made here." },
    { "delivered", "zcnc_hub_publications_delivered_total", "Copies of publications sent to agents." },
    { "forwarded", "zcnc_hub_publications_forwarded_total", "Copies of publications sent to hubs." },
    { "lost", "zcnc_hub_publications_lost_total", "Copies of publications a link would not take." },
};
#define S_PUBSUB_COUNT (sizeof s_pubsub / sizeof s_pubsub [0])

//  A number field of an object (0 when absent).
static double
s_number (json_t *object, const char *key)
{
    return json_number_value (json_object_get (object, key));
}

char *
zc_hubctl_metrics (json_t *status, size_t *size)
{
    zc_metrics_t *page = zc_metrics_new ();
    json_t *counters = json_object_get (status, "counters");
    for (size_t index = 0; index < S_COUNTER_COUNT; index++)
        zc_metrics_one (page, s_counters [index].name, ZC_METRIC_COUNTER, s_counters [index].help,
                        s_number (counters, s_counters [index].key));
    json_t *pubsub = json_object_get (status, "pubsub");
    for (size_t index = 0; index < S_PUBSUB_COUNT; index++)
        zc_metrics_one (page, s_pubsub [index].name, ZC_METRIC_COUNTER, s_pubsub [index].help,
                        s_number (pubsub, s_pubsub [index].key));
    zc_metrics_one (page, "zcnc_hub_retained_subjects", ZC_METRIC_GAUGE, "Subjects retained now.",
                    s_number (pubsub, "retained"));
    //  Peers: connected agents and downstream hubs, and what waits for them.
    size_t agents = 0, hubs = 0;
    double held = 0;
    size_t index;
    json_t *node;
    json_array_foreach (json_object_get (status, "nodes"), index, node) {
        bool is_hub = streq (json_string_value (json_object_get (node, "kind"))?: "", "hub");
        if (json_is_true (json_object_get (node, "online")) && is_hub)
            hubs++;
        else
        if (json_is_true (json_object_get (node, "online")))
            agents++;
        held += s_number (node, "in_flight") + s_number (node, "queued");
    }
    zc_metrics_one (page, "zcnc_hub_nodes_connected", ZC_METRIC_GAUGE,
                    "Agents connected to this hub that said HELLO.", (double) agents);
    zc_metrics_one (page, "zcnc_hub_downstream_hubs_connected", ZC_METRIC_GAUGE,
                    "Downstream hubs connected to this hub that said HELLO.", (double) hubs);
    zc_metrics_one (page, "zcnc_hub_peer_bytes_queued", ZC_METRIC_GAUGE,
                    "Bytes on their way or queued to agents and downstream hubs.", held);
    json_t *budget = json_object_get (status, "budget");
    zc_metrics_one (page, "zcnc_hub_bytes_held", ZC_METRIC_GAUGE,
                    "Bytes all links hold, in flight and queued (within total_budget).", s_number (budget, "held"));
    zc_metrics_one (page, "zcnc_hub_bytes_budget", ZC_METRIC_GAUGE, "The hub's total_budget in bytes.",
                    s_number (budget, "limit"));
    //  Uplinks: up or not, and what waits for them.
    json_t *uplinks = json_object_get (status, "uplinks");
    json_t *uplink;
    zc_metrics_family (page, "zcnc_hub_uplink_up", ZC_METRIC_GAUGE, "1 when the uplink to this parent hub is up.");
    json_array_foreach (uplinks, index, uplink)
        zc_metrics_labelled (page, "hub", json_string_value (json_object_get (uplink, "name"))?: "?",
                             json_is_true (json_object_get (uplink, "up")));
    zc_metrics_family (page, "zcnc_hub_uplink_bytes_queued", ZC_METRIC_GAUGE,
                       "Bytes on their way or queued to this parent hub.");
    json_array_foreach (uplinks, index, uplink)
        zc_metrics_labelled (page, "hub", json_string_value (json_object_get (uplink, "name"))?: "?",
                             s_number (uplink, "in_flight") + s_number (uplink, "queued"));
    zc_metrics_one (page, "zcnc_hub_routes", ZC_METRIC_GAUGE, "Node names this hub has a route to.",
                    (double) json_array_size (json_object_get (status, "routes")));
    zc_metrics_one (page, "zcnc_hub_directory_nodes", ZC_METRIC_GAUGE, "Nodes in the directory this hub serves.",
                    s_number (status, "directory"));
    json_t *waiters = json_object_get (status, "waiters");
    zc_metrics_one (page, "zcnc_hub_waited_names", ZC_METRIC_GAUGE, "Absent names origins wait for.",
                    s_number (waiters, "names"));
    zc_metrics_one (page, "zcnc_hub_waiting_origins", ZC_METRIC_GAUGE,
                    "Origins remembered as waiting for absent names.", s_number (waiters, "origins"));
    zc_metrics_one (page, "zcnc_hub_suspended_keys", ZC_METRIC_GAUGE,
                    "Keys suspended now for sending malformed messages.",
                    (double) json_array_size (json_object_get (status, "suspended")));
    zc_metrics_process (page);
    const char *text = zc_metrics_text (page, size);
    char *copy = zc_strdup (text);
    zc_metrics_destroy (&page);
    return copy;
}

//  ---------------------------------------------------------------------
//  The socket

static void
s_answer (zc_jsonl_conn_t *conn, json_t *tag, json_t *answer)
{
    if (tag)
        json_object_set (answer, "tag", tag);
    zc_jsonl_send (conn, answer);
    json_decref (answer);
}

static void
s_on_line (zc_jsonl_conn_t *conn, json_t *request, const char *error, size_t size, void *arg)
{
    zc_hubctl_t *self = arg;
    if (!json_is_object (request)) {
        char *text = zsys_sprintf ("a request is a JSON object on one line, like {\"op\": \"status\"}%s%s",
                                   error? ": ": "", error? error: "");
        s_answer (conn, NULL, json_pack ("{s:s, s:s}", "error", text, "code", "usage"));
        free (text);
        zc_jsonl_close (conn);
        return;
    }
    json_t *tag = json_object_get (request, "tag");
    const char *op = json_string_value (json_object_get (request, "op"));
    if (op && streq (op, "status")) {
        s_answer (conn, tag, self->status (self->arg));
        return;
    }
    char *text = zsys_sprintf ("unknown op %s%s%s (the hub's socket answers {\"op\": \"status\"})",
                               op? "'": "", op? op: "(none)", op? "'": "");
    s_answer (conn, tag, json_pack ("{s:s, s:s, s:s}", "error", text, "code", "usage", "field", "op"));
    free (text);
}

static void
s_on_close (zc_jsonl_conn_t *conn, void *arg)
{
}

//  The metrics page, made from the status now.
static char *
s_page (size_t *size, void *arg)
{
    zc_hubctl_t *self = arg;
    json_t *status = self->status (self->arg);
    char *page = zc_hubctl_metrics (status, size);
    json_decref (status);
    return page;
}

zc_hubctl_t *
zc_hubctl_new (zloop_t *loop, const zc_config_t *config, zc_hubctl_status_fn *status, void *arg,
               char **error)
{
    zc_hubctl_t *self = zc_calloc (1, sizeof *self);
    self->status = status;
    self->arg = arg;
    const char *path = config->hub_socket;
    if (path && strlen (path) >= sizeof (((struct sockaddr_un *) 0)->sun_path))
        zc_warn ("no control socket: %s is too long for a unix socket (set hub/socket to a shorter path)", path);
    else
    if (path) {
        char *problem = NULL;
        self->server = zc_jsonl_new (loop, path, config->hub_socket_group, s_on_line, s_on_close, self, &problem);
        if (!self->server) {
            zc_fail (error, "%s: hub/socket: %s", config->path, problem);
            free (problem);
            zc_hubctl_destroy (&self);
            return NULL;
        }
        zc_jsonl_set_max_line (self->server, ZC_HUBCTL_MAX_LINE);
    }
    if (config->hub_metrics) {
        char *problem = NULL;
        self->metrics = zc_httpserve_new (loop, config->hub_metrics, "/metrics", ZC_METRICS_CONTENT_TYPE,
                                          s_page, self, &problem);
        if (!self->metrics) {
            zc_fail (error, "%s: hub/metrics: %s", config->path, problem);
            free (problem);
            zc_hubctl_destroy (&self);
            return NULL;
        }
        zc_info ("metrics on http://%s/metrics", zc_httpserve_address (self->metrics));
        if (config->data) {
            char *file = zsys_sprintf ("%s/hub.metrics", config->data);
            zc_httpserve_note (self->metrics, file);
            free (file);
        }
    }
    return self;
}

void
zc_hubctl_destroy (zc_hubctl_t **self_p)
{
    zc_hubctl_t *self = *self_p;
    if (!self)
        return;
    zc_jsonl_destroy (&self->server);
    zc_httpserve_destroy (&self->metrics);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------
//  Self-test: a hubctl with a made-up status, in an actor's loop.

static json_t *
s_test_status (void *arg)
{
    int *asked = arg;
    (*asked)++;
    return json_pack ("{s:s, s:[{s:s, s:s, s:b, s:i, s:i}, {s:s, s:s, s:b, s:i, s:i}],"
                      " s:[{s:s, s:b, s:i, s:i}], s:{s:i, s:i}, s:{s:i}, s:[], s:{s:i, s:i}, s:{s:i, s:i},"
                      " s:i, s:[{s:s}]}",
        "name", "hub1",
        "nodes", "name", "n1", "kind", "node", "online", 1, "in_flight", 10, "queued", 5,
                 "name", "site", "kind", "hub", "online", 0, "in_flight", 0, "queued", 0,
        "uplinks", "name", "root\"1", "up", 1, "in_flight", 1, "queued", 2,
        "counters", "forwarded", *asked, "malformed", 2,
        "pubsub", "published", 7,
        "suspended",
        "waiters", "names", 1, "origins", 3,
        "budget", "held", 100, "limit", 1000,
        "directory", 4,
        "routes", "node", "n1");
}

typedef struct {
    const char *dir;
    const char *metrics;
} s_test_args_t;

static int
s_test_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    char *command = zstr_recv (pipe);
    bool term = !command || streq (command, "$TERM");
    zstr_free (&command);
    return term? -1: 0;
}

static void
s_test_actor (zsock_t *pipe, void *args)
{
    s_test_args_t *test = args;
    zc_config_t config = { .path = "test.cfg", .data = (char *) test->dir,
                           .hub_metrics = (char *) test->metrics };
    config.hub_socket = zsys_sprintf ("%s/hub.sock", test->dir);
    zloop_t *loop = zloop_new ();
    int asked = 0;
    char *error = NULL;
    zc_hubctl_t *ctl = zc_hubctl_new (loop, &config, s_test_status, &asked, &error);
    zsock_signal (pipe, 0);
    zstr_send (pipe, ctl? "": error);
    zloop_reader (loop, pipe, s_test_pipe, NULL);
    if (ctl)
        zloop_start (loop);
    zc_hubctl_destroy (&ctl);
    zloop_destroy (&loop);
    free (error);
    free (config.hub_socket);
}

//  Sends 'request' (bytes, a newline added) on a new connection; returns
//  the answers, each line an array item, until the hub closes it or
//  nothing comes for a second.
static json_t *
s_test_talk (const char *path, const char *request, size_t size)
{
    char *error = NULL;
    zc_client_t *client = zc_client_new (path, &error);
    free (error);
    json_t *answers = json_array ();
    if (!client)
        return answers;
    char *line = zc_malloc (size + 1);
    memcpy (line, request, size);
    line [size] = '\n';
    //  Sent raw (not through zc_client_send): it need not be JSON.
    zc_client_send_raw (client, line, size + 1);
    free (line);
    bool timed_out = false;
    json_t *answer;
    while ((answer = zc_client_recv (client, 1000, &timed_out, &error)))
        json_array_append_new (answers, answer);
    free (error);
    if (timed_out)
        json_array_append_new (answers, json_string ("open"));
    zc_client_destroy (&client);
    return answers;
}

int
zc_hubctl_test (bool verbose)
{
    ZC_TEST_BEGIN;
    //  The page from a status object.
    int asked = 41;
    json_t *status = s_test_status (&asked);
    size_t size = 0;
    char *page = zc_hubctl_metrics (status, &size);
    json_decref (status);
    ZC_CHECK (size == strlen (page));
    const char *want [] = {
        "\nzcnc_hub_messages_forwarded_total 42\n", "\nzcnc_hub_messages_malformed_total 2\n",
        "\nzcnc_hub_noroute_total 0\n", "\nzcnc_hub_published_total 7\n",
        "\nzcnc_hub_nodes_connected 1\n", "\nzcnc_hub_downstream_hubs_connected 0\n",
        "\nzcnc_hub_peer_bytes_queued 15\n", "\nzcnc_hub_uplink_up{hub=\"root\\\"1\"} 1\n",
        "\nzcnc_hub_uplink_bytes_queued{hub=\"root\\\"1\"} 3\n", "\nzcnc_hub_routes 1\n",
        "\nzcnc_hub_directory_nodes 4\n", "\nzcnc_hub_waiting_origins 3\n", "\nzcnc_hub_suspended_keys 0\n",
        "\nzcnc_hub_bytes_held 100\n", "# TYPE zcnc_hub_uplink_up gauge\n",
        "# TYPE zcnc_hub_messages_dropped_total counter\n", "\nprocess_open_fds " };
    for (size_t index = 0; index < sizeof want / sizeof want [0]; index++) {
        bool found = strstr (page, want [index]) != NULL;
        ZC_CHECK (found);
        if (!found)
            printf ("# hubctl: missing %s", want [index]);
    }
    free (page);

    //  The socket and the page, served from a loop.
    char dir [] = "/tmp/zcnc-hubctl-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    s_test_args_t args = { dir, "127.0.0.1:0" };
    zactor_t *actor = zactor_new (s_test_actor, &args);
    char *error = zstr_recv (actor);
    ZC_CHECK_STR (error, "");
    zstr_free (&error);
    char *path = zsys_sprintf ("%s/hub.sock", dir);
    json_t *answers = s_test_talk (path, "{\"op\": \"status\", \"tag\": 5}", 26);
    json_t *first = json_array_get (answers, 0);
    ZC_CHECK (json_array_size (answers) == 2 && streq (json_string_value (json_object_get (first, "name"))?: "", "hub1")
              && json_integer_value (json_object_get (first, "tag")) == 5
              && json_string_value (json_array_get (answers, 1)));     //  still open
    json_decref (answers);
    //  An unknown op: an error, and the connection stays open.
    answers = s_test_talk (path, "{\"op\": \"reboot\"}", 16);
    first = json_array_get (answers, 0);
    ZC_CHECK_STR (json_string_value (json_object_get (first, "error")),
                  "unknown op 'reboot' (the hub's socket answers {\"op\": \"status\"})");
    ZC_CHECK (json_array_size (answers) == 2);
    json_decref (answers);
    //  Garbage, and a line too long: an error, then closed.
    answers = s_test_talk (path, "hello", 5);
    first = json_array_get (answers, 0);
    const char *text = json_string_value (json_object_get (first, "error"));
    ZC_CHECK (text && strncmp (text, "a request is a JSON object on one line, like {\"op\": \"status\"}: ", 63) == 0);
    ZC_CHECK (json_array_size (answers) == 1);
    json_decref (answers);
    answers = s_test_talk (path, "[1]", 3);
    ZC_CHECK (json_array_size (answers) == 1);
    json_decref (answers);
    char *large = zc_malloc (ZC_HUBCTL_MAX_LINE + 100);
    memset (large, ' ', ZC_HUBCTL_MAX_LINE + 100);
    answers = s_test_talk (path, large, ZC_HUBCTL_MAX_LINE + 100);
    first = json_array_get (answers, 0);
    ZC_CHECK_STR (json_string_value (json_object_get (first, "error")), "request line longer than 65536 bytes");
    ZC_CHECK (json_array_size (answers) == 1);
    json_decref (answers);
    free (large);
    //  The page, where the file says.
    char *file = zsys_sprintf ("%s/hub.metrics", dir);
    FILE *in = fopen (file, "r");
    char address [100] = "";
    ZC_CHECK (in && fgets (address, sizeof address, in));
    if (in)
        fclose (in);
    ZC_CHECK (strncmp (address, "127.0.0.1:", 10) == 0 && atoi (address + 10) > 0);
    if (verbose)
        printf ("# hubctl: metrics at %s", address);
    zactor_destroy (&actor);
    //  A socket path that is taken by something else: the hub cannot start.
    s_test_args_t taken = { file, NULL };
    actor = zactor_new (s_test_actor, &taken);
    error = zstr_recv (actor);
    ZC_CHECK (error && strstr (error, "test.cfg: hub/socket: cannot listen on "));
    zstr_free (&error);
    zactor_destroy (&actor);
    unlink (file);
    unlink (path);
    free (file);
    free (path);
    rmdir (dir);
    return ZC_TEST_END;
}
