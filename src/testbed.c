/*  testbed.c — a scratch mesh for the daemons' self-tests (testbed.h). */
#include <stdarg.h>
#include "prelude.h"
#include "testbed.h"
#include "agent.h"
#include "client.h"
#include "hub.h"
#include "keys.h"
#include "log.h"

#define S_MAX_DAEMONS 12

typedef struct {
    char name [ZC_NAME_SIZE];
    zc_config_t *config;
    zactor_t *actor;
    char *endpoint;             //  a hub's
} s_daemon_t;

struct _zc_testbed_t {
    char dir [64];
    s_daemon_t daemons [S_MAX_DAEMONS];
};

zc_testbed_t *
zc_testbed_new (void)
{
    zc_testbed_t *self = zc_calloc (1, sizeof *self);
    snprintf (self->dir, sizeof self->dir, "/tmp/zc-testbed-XXXXXX");
    if (!mkdtemp (self->dir)) {
        free (self);
        return NULL;
    }
    char *keys = zsys_sprintf ("%s/keys", self->dir);
    mkdir (keys, 0700);
    free (keys);
    return self;
}

static s_daemon_t *
s_daemon (zc_testbed_t *self, const char *name)
{
    for (size_t index = 0; index < S_MAX_DAEMONS; index++)
        if (streq (self->daemons [index].name, name))
            return &self->daemons [index];
    return NULL;
}

void
zc_testbed_stop (zc_testbed_t *self, const char *name)
{
    s_daemon_t *daemon = s_daemon (self, name);
    if (!daemon)
        return;
    zactor_destroy (&daemon->actor);
    zc_config_destroy (&daemon->config);
    zstr_free (&daemon->endpoint);
    daemon->name [0] = 0;
}

void
zc_testbed_destroy (zc_testbed_t **self_p)
{
    zc_testbed_t *self = *self_p;
    if (!self)
        return;
    //  Agents before hubs, as they started after them.
    for (size_t index = S_MAX_DAEMONS; index-- > 0; )
        if (*self->daemons [index].name)
            zc_testbed_stop (self, self->daemons [index].name);
    char *command = zsys_sprintf ("rm -rf '%s'", self->dir);
    if (system (command) != 0)
        zc_warn ("testbed: cannot remove %s", self->dir);
    free (command);
    free (self);
    *self_p = NULL;
}

const char *
zc_testbed_dir (zc_testbed_t *self)
{
    return self->dir;
}

int
zc_testbed_keygen (zc_testbed_t *self, const char *keys, const char *name, bool hub)
{
    char *dir = zsys_sprintf ("%s/%s", self->dir, keys? keys: "keys");
    char *error = NULL;
    int rc = zc_keygen (dir, name, hub, &error);
    if (rc != 0) {
        zc_error ("testbed: %s", error);
        free (error);
    }
    free (dir);
    return rc;
}

//  Loads a config from the lines given (the va_list ends with NULL).
static zc_config_t *
s_config (zc_testbed_t *self, const char *name, zc_role_t role, const char *head, va_list extra)
{
    char *text = zsys_sprintf ("%s", head);
    for (const char *line = va_arg (extra, const char *); line; line = va_arg (extra, const char *)) {
        char *longer = zsys_sprintf ("%s%s\n", text, line);
        free (text);
        text = longer;
    }
    //  ZPL: "section/key = value" lines become sections with keys.
    zc_config_t *config = NULL;
    char *path = zsys_sprintf ("%s/%s.cfg", self->dir, name);
    FILE *file = fopen (path, "w");
    if (file) {
        char *section = NULL;
        for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n")) {
            char *slash = strchr (line, '/');
            if (!slash)
                continue;
            *slash = 0;
            if (!section || strcmp (section, line) != 0) {
                fprintf (file, "%s\n", line);
                free (section);
                section = zc_strdup (line);
            }
            fprintf (file, "    %s\n", slash + 1);
        }
        free (section);
        fclose (file);
        char *error = NULL;
        config = zc_config_load (path, role, &error);
        if (!config) {
            zc_error ("testbed: %s", error);
            free (error);
        }
    }
    free (path);
    free (text);
    return config;
}

//  True when the actor said it started (testbed.h: "0").
static bool
s_started (zactor_t *actor)
{
    char *status = actor? zstr_recv (actor): NULL;
    bool started = status && streq (status, "0");
    zstr_free (&status);
    return started;
}

static s_daemon_t *
s_free_slot (zc_testbed_t *self)
{
    for (size_t index = 0; index < S_MAX_DAEMONS; index++)
        if (!*self->daemons [index].name)
            return &self->daemons [index];
    return NULL;
}

const char *
zc_testbed_hub (zc_testbed_t *self, const char *name, ...)
{
    s_daemon_t *daemon = s_free_slot (self);
    if (!daemon)
        return NULL;
    //  A bind among the extra lines replaces the default one.
    va_list extra;
    va_start (extra, name);
    bool bind_given = false;
    for (const char *line = va_arg (extra, const char *); line; line = va_arg (extra, const char *))
        bind_given |= strncmp (line, "hub/bind", 8) == 0;
    va_end (extra);
    char *head = zsys_sprintf ("zcnc/name = %s\nzcnc/keys = %s/keys\nzcnc/data = %s/%s\n%s",
                               name, self->dir, self->dir, name,
                               bind_given? "": "hub/bind = tcp://127.0.0.1:*\n");
    va_start (extra, name);
    daemon->config = s_config (self, name, ZC_ROLE_HUB, head, extra);
    va_end (extra);
    free (head);
    if (!daemon->config)
        return NULL;
    snprintf (daemon->name, sizeof daemon->name, "%s", name);
    daemon->actor = zactor_new (zc_hub_actor, daemon->config);
    if (!s_started (daemon->actor)) {
        zc_testbed_stop (self, name);
        return NULL;
    }
    zstr_send (daemon->actor, "ENDPOINT");
    daemon->endpoint = zstr_recv (daemon->actor);
    return daemon->endpoint;
}

int
zc_testbed_agent (zc_testbed_t *self, const char *name, const char *keys, const char *hub,
                  const char *endpoint, ...)
{
    s_daemon_t *daemon = s_free_slot (self);
    if (!daemon)
        return -1;
    char *head = zsys_sprintf ("zcnc/name = %s\nzcnc/keys = %s/%s\nzcnc/data = %s/%s\n"
                               "agent/hub = %s@%s\n", name, self->dir, keys? keys: "keys",
                               self->dir, name, hub, endpoint);
    va_list extra;
    va_start (extra, endpoint);
    daemon->config = s_config (self, name, ZC_ROLE_AGENT, head, extra);
    va_end (extra);
    free (head);
    if (!daemon->config)
        return -1;
    snprintf (daemon->name, sizeof daemon->name, "%s", name);
    daemon->actor = zactor_new (zc_agent_actor, daemon->config);
    if (!s_started (daemon->actor)) {
        zc_testbed_stop (self, name);
        return -1;
    }
    return 0;
}

json_t *
zc_testbed_ask (zc_testbed_t *self, const char *name, const char *request, int timeout_ms,
                json_t *more)
{
    char *path = zsys_sprintf ("%s/%s/zcnc.sock", self->dir, name);
    char *error = NULL;
    zc_client_t *client = zc_client_new (path, &error);
    free (path);
    json_t *object = client? json_loads (request, 0, NULL): NULL;
    json_t *answer = NULL;
    if (object && zc_client_send (client, object) == 0) {
        bool timed_out;
        answer = zc_client_recv (client, timeout_ms, &timed_out, &error);
        //  The results of a wait, up to its end line.
        int64_t deadline = zclock_mono () + timeout_ms;
        while (answer && more && zclock_mono () < deadline) {
            json_t *next = zc_client_recv (client, (int) (deadline - zclock_mono ()), &timed_out, &error);
            if (!next)
                break;
            bool end = json_object_get (next, "end") != NULL;
            json_array_append_new (more, next);
            if (end)
                break;
        }
    }
    if (error) {
        zc_warn ("testbed: asking %s: %s", name, error);
        free (error);
    }
    json_decref (object);
    zc_client_destroy (&client);
    return answer;
}

//  Asks agent NAME 'request' until 'test' holds of the answer or
//  timeout_ms pass. True when it held.
static bool
s_ask_until (zc_testbed_t *self, const char *name, const char *request, zc_testbed_check_fn *test,
             void *arg, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    for (;;) {
        json_t *answer = zc_testbed_ask (self, name, request, 1000, NULL);
        bool held = answer && test (answer, arg);
        json_decref (answer);
        if (held)
            return true;
        if (zclock_mono () >= deadline)
            return false;
        zclock_sleep (20);
    }
}

bool
zc_testbed_until (zc_testbed_t *self, const char *name, zc_testbed_check_fn *test, void *arg,
                  int timeout_ms)
{
    return s_ask_until (self, name, "{\"op\": \"status\"}", test, arg, timeout_ms);
}

json_t *
zc_testbed_run (zc_testbed_t *self, const char *origin, const char *to, const char *command,
                int wait_secs)
{
    json_t *request = json_pack ("{s:s, s:[s], s:i, s:i, s:f}", "to", to, "args", command,
                                 "wait", wait_secs, "ack_timeout", 1, "retry_wait", 0.2);
    char *text = json_dumps (request, JSON_COMPACT);
    json_t *answers = json_array ();
    json_decref (zc_testbed_ask (self, origin, text, wait_secs * 1000 + 5000, answers));
    //  The results, without the end line.
    json_t *results = json_array ();
    size_t index;
    json_t *answer;
    json_array_foreach (answers, index, answer)
        if (json_object_get (answer, "state"))
            json_array_append (results, answer);
    json_decref (answers);
    free (text);
    json_decref (request);
    return results;
}

char *
zc_testbed_submit (zc_testbed_t *self, const char *origin, const char *to, const char *command)
{
    json_t *request = json_pack ("{s:s, s:[s], s:i, s:f}", "to", to, "args", command,
                                 "ack_timeout", 1, "retry_wait", 0.2);
    char *text = json_dumps (request, JSON_COMPACT);
    json_t *answer = zc_testbed_ask (self, origin, text, 5000, NULL);
    const char *id = json_string_value (json_object_get (json_array_get (
        json_object_get (answer, "ids"), 0), "id"));
    char *copy = id? zc_strdup (id): NULL;
    json_decref (answer);
    free (text);
    json_decref (request);
    return copy;
}

//  The state of the one job in a jobs answer is arg.
static bool
s_job_is (json_t *answer, void *arg)
{
    const char *state = json_string_value (json_object_get (json_array_get (
        json_object_get (answer, "jobs"), 0), "state"));
    return state && streq (state, arg);
}

bool
zc_testbed_job_until (zc_testbed_t *self, const char *origin, const char *id, const char *state,
                      int timeout_ms)
{
    char *request = zsys_sprintf ("{\"op\": \"jobs\", \"id\": \"%s\"}", id);
    bool reached = s_ask_until (self, origin, request, s_job_is, (void *) state, timeout_ms);
    free (request);
    return reached;
}

typedef struct {
    const char *names;          //  comma-separated
    bool online;
} s_nodes_query_t;

//  True when the directory in a nodes answer has every name asked for in
//  the state asked for.
static bool
s_nodes_are (json_t *answer, void *arg)
{
    s_nodes_query_t *query = arg;
    json_t *nodes = json_object_get (answer, "nodes");
    char *list = zc_strdup (query->names), *rest = list;
    bool all = true;
    for (char *name = strsep (&rest, ","); name && all; name = strsep (&rest, ",")) {
        bool found = false;
        size_t index;
        json_t *node;
        json_array_foreach (nodes, index, node)
            if (streq (json_string_value (json_object_get (node, "name"))?: "", name))
                found = json_is_true (json_object_get (node, "online")) == query->online;
        all = found;
    }
    free (list);
    return all;
}

bool
zc_testbed_nodes_until (zc_testbed_t *self, const char *name, const char *names, bool online,
                        int timeout_ms)
{
    s_nodes_query_t query = { names, online };
    return s_ask_until (self, name, "{\"op\": \"nodes\"}", s_nodes_are, &query, timeout_ms);
}

zsock_t *
zc_testbed_peer (zc_testbed_t *self, const char *keys, const char *key, const char *hub,
                 const char *endpoint)
{
    char *dir = zsys_sprintf ("%s/%s", self->dir, keys? keys: "keys");
    char *hub_path = zsys_sprintf ("%s/keys/%s.cert", self->dir, hub);
    char *error = NULL;
    zcert_t *cert = zc_key_load_own (dir, key, &error);
    zc_key_t hub_key;
    zsock_t *peer = NULL;
    if (cert && zc_key_load (hub_path, &hub_key, &error) == 0) {
        peer = zsock_new (ZMQ_DEALER);
        zcert_apply (cert, peer);
        zsock_set_curve_serverkey (peer, hub_key.public_txt);
        zsock_set_linger (peer, 0);
        zsock_set_sndtimeo (peer, 1000);
        zsock_connect (peer, "%s", endpoint);
    }
    if (error) {
        zc_error ("testbed: %s", error);
        free (error);
    }
    zcert_destroy (&cert);
    free (hub_path);
    free (dir);
    return peer;
}

zc_wire_t *
zc_testbed_recv (zsock_t *peer, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (peer, NULL);
    zc_wire_t *msg = NULL;
    if (zpoller_wait (poller, timeout_ms) == peer) {
        zmsg_t *frames = zmsg_recv (peer);
        const char *reason = NULL;
        if (frames)
            msg = zc_wire_decode (frames, zmsg_first (frames), &reason);
        zmsg_destroy (&frames);
    }
    zpoller_destroy (&poller);
    return msg;
}

zc_wire_t *
zc_testbed_expect (zsock_t *peer, uint8_t type, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        zc_wire_t *msg = zc_testbed_recv (peer, (int) (deadline - zclock_mono ()));
        if (msg && msg->type == type)
            return msg;
        zc_wire_destroy (&msg);
    }
    return NULL;
}
