/*  meshtest.c — whole meshes in one process: hubs chained, agents on
    each, run as actors by the testbed (testbed.h) and talked to through
    their sockets as a client would.

    These were shell tests (tests/t0013-chain.sh) until a process
    boundary turned out not to be what they test: routing along chains
    and DAGs of hubs, the directory both ways, NOROUTE waits across the
    chain. What needs one (signals, kill -9, the CLI's output) stays in
    tests/.
*/
#include "prelude.h"
#include "testbed.h"
#include "testing.h"

//  Fast timers: a hub or an agent that goes away is noticed within a
//  second.
#define S_FAST  "zcnc/heartbeat = 0.2"
#define S_TIMEOUT  "zcnc/peer_timeout = 1"
#define S_WAIT_MS  10000

//  Starts agent NAME on hub HUB, its jobs running in DIR/NAME. 0 or -1.
static int
s_agent (zc_testbed_t *bed, const char *name, const char *hub, const char *endpoint)
{
    char *workdir = zsys_sprintf ("agent/workdir = %s/%s", zc_testbed_dir (bed), name);
    int rc = zc_testbed_agent (bed, name, NULL, hub, endpoint, S_FAST, S_TIMEOUT, workdir, NULL);
    free (workdir);
    return rc;
}

//  Starts hub NAME with up to two uplinks ("hub@endpoint", or NULL).
//  Returns its endpoint (new), or NULL.
static char *
s_hub (zc_testbed_t *bed, const char *name, const char *uplink, const char *uplink2)
{
    char *line = uplink? zsys_sprintf ("hub/uplink = %s", uplink): NULL;
    char *line2 = uplink2? zsys_sprintf ("hub/uplink = %s", uplink2): NULL;
    const char *endpoint = zc_testbed_hub (bed, name, S_FAST, S_TIMEOUT,
                                           line? line: line2, line? line2: NULL, NULL);
    free (line);
    free (line2);
    return endpoint? zc_strdup (endpoint): NULL;
}

//  "NAME@ENDPOINT" (new).
static char *
s_at (const char *name, const char *endpoint)
{
    return zsys_sprintf ("%s@%s", name, endpoint? endpoint: "tcp://127.0.0.1:1");
}

//  Runs 'command' from 'origin' on 'to' and returns "node:stdout" of each
//  result, sorted and joined by "|" (new): "c1:hi\n|s1:hi\n". Results not
//  done show their state instead of their output.
static char *
s_outputs (zc_testbed_t *bed, const char *origin, const char *to, const char *command)
{
    json_t *results = zc_testbed_run (bed, origin, to, command, 10);
    zlistx_t *lines = zlistx_new ();
    zlistx_set_destructor (lines, (czmq_destructor *) zstr_free);
    zlistx_set_comparator (lines, (czmq_comparator *) strcmp);
    size_t index;
    json_t *result;
    json_array_foreach (results, index, result) {
        const char *state = json_string_value (json_object_get (result, "state"))?: "?";
        zlistx_add_end (lines, zsys_sprintf ("%s:%s",
            json_string_value (json_object_get (result, "node"))?: "?",
            streq (state, "done")? json_string_value (json_object_get (result, "stdout"))?: "": state));
    }
    zlistx_sort (lines);
    char *joined = zc_strdup ("");
    for (char *line = zlistx_first (lines); line; line = zlistx_next (lines)) {
        char *longer = zsys_sprintf ("%s%s%s", joined, *joined? "|": "", line);
        free (joined);
        joined = longer;
    }
    zlistx_destroy (&lines);
    json_decref (results);
    return joined;
}

//  The hub path to 'node' in agent 'agent''s directory (static), or NULL
//  when the directory does not list it.
static const char *
s_via (zc_testbed_t *bed, const char *agent, const char *node)
{
    static char via [256];
    bool listed = false;
    json_t *answer = zc_testbed_ask (bed, agent, "{\"op\": \"nodes\"}", 2000, NULL);
    size_t index;
    json_t *entry;
    json_array_foreach (json_object_get (answer, "nodes"), index, entry)
        if (streq (json_string_value (json_object_get (entry, "name"))?: "", node)) {
            snprintf (via, sizeof via, "%s", json_string_value (json_object_get (entry, "via"))?: "");
            listed = true;
        }
    json_decref (answer);
    return listed? via: NULL;
}

//  Lines in DIR/FILE (0 when it does not exist).
static int
s_lines (zc_testbed_t *bed, const char *file)
{
    char *path = zsys_sprintf ("%s/%s", zc_testbed_dir (bed), file);
    FILE *handle = fopen (path, "r");
    free (path);
    int lines = 0;
    for (int c; handle && (c = fgetc (handle)) != EOF; )
        lines += c == '\n';
    if (handle)
        fclose (handle);
    return lines;
}

//  Moves DIR/FROM to DIR/TO. 0 or -1.
static int
s_move (zc_testbed_t *bed, const char *from, const char *to)
{
    char *old_path = zsys_sprintf ("%s/%s", zc_testbed_dir (bed), from);
    char *new_path = zsys_sprintf ("%s/%s", zc_testbed_dir (bed), to);
    int rc = rename (old_path, new_path);
    free (old_path);
    free (new_path);
    return rc;
}

#define S_CHECK_OUTPUTS(bed, origin, to, command, want) do { \
        char *outputs_ = s_outputs (bed, origin, to, command); \
        ZC_CHECK_STR (outputs_, want); \
        free (outputs_); \
    } while (0)

//  central <- site <- sub, an agent on each (c1, s1, u1); later a hub
//  'side' below both central and sub (a DAG) with agent d1.
static void
s_test_chain (zc_testbed_t *bed, int *failures)
{
    int zc_test_failures_ = 0;
    const char *hubs [] = { "central", "site", "sub", "side" };
    const char *agents [] = { "c1", "s1", "u1", "late1", "d1" };
    for (size_t index = 0; index < 4; index++)
        ZC_CHECK (zc_testbed_keygen (bed, NULL, hubs [index], true) == 0);
    for (size_t index = 0; index < 3; index++)
        ZC_CHECK (zc_testbed_keygen (bed, NULL, agents [index], false) == 0);
    char *central = s_hub (bed, "central", NULL, NULL);
    char *at_central = s_at ("central", central);
    char *site = s_hub (bed, "site", at_central, NULL);
    char *at_site = s_at ("site", site);
    char *sub = s_hub (bed, "sub", at_site, NULL);
    ZC_CHECK (central && site && sub);
    ZC_CHECK (s_agent (bed, "c1", "central", central) == 0);
    ZC_CHECK (s_agent (bed, "s1", "site", site) == 0);
    ZC_CHECK (s_agent (bed, "u1", "sub", sub) == 0);

    //  Every agent sees every node online, never a hub, with the hub path
    //  to each.
    ZC_CHECK (zc_testbed_nodes_until (bed, "c1", "c1,s1,u1", true, S_WAIT_MS));
    ZC_CHECK (zc_testbed_nodes_until (bed, "s1", "c1,s1,u1", true, S_WAIT_MS));
    ZC_CHECK (zc_testbed_nodes_until (bed, "u1", "c1,s1,u1", true, S_WAIT_MS));
    for (size_t index = 0; index < 3; index++)
        ZC_CHECK (s_via (bed, "c1", hubs [index]) == NULL);
    ZC_CHECK_STR (s_via (bed, "c1", "c1"), "central");
    ZC_CHECK_STR (s_via (bed, "c1", "s1"), "central>site");
    ZC_CHECK_STR (s_via (bed, "c1", "u1"), "central>site>sub");
    ZC_CHECK_STR (s_via (bed, "u1", "c1"), "sub>site>central");

    //  ALL from either end reaches every node, each in its own place; a
    //  job crosses the chain both ways; so does a ping.
    S_CHECK_OUTPUTS (bed, "u1", "ALL", "echo hi", "c1:hi\n|s1:hi\n|u1:hi\n");
    char *want = zsys_sprintf ("c1:%s/c1\n|s1:%s/s1\n|u1:%s/u1\n", zc_testbed_dir (bed),
                               zc_testbed_dir (bed), zc_testbed_dir (bed));
    S_CHECK_OUTPUTS (bed, "c1", "ALL", "pwd", want);
    free (want);
    S_CHECK_OUTPUTS (bed, "u1", "c1", "echo there", "c1:there\n");
    S_CHECK_OUTPUTS (bed, "c1", "u1", "echo back", "u1:back\n");
    json_t *pong = zc_testbed_ask (bed, "c1", "{\"op\": \"ping\", \"node\": \"u1\"}", 6000, NULL);
    ZC_CHECK (json_is_true (json_object_get (pong, "pong")));
    json_decref (pong);

    //  A node that leaves is withdrawn along the chain; a job for it waits
    //  at the origin and runs once when it is back.
    zc_testbed_stop (bed, "u1");
    ZC_CHECK (zc_testbed_nodes_until (bed, "c1", "u1", false, S_WAIT_MS));
    char *id = zc_testbed_submit (bed, "c1", "u1", "echo once >>chain.marker");
    ZC_CHECK (id && !zc_testbed_job_until (bed, "c1", id, "done", 500));
    ZC_CHECK (id && zc_testbed_job_until (bed, "c1", id, "queued", 0));
    ZC_CHECK (s_agent (bed, "u1", "sub", sub) == 0);
    ZC_CHECK (id && zc_testbed_job_until (bed, "c1", id, "done", S_WAIT_MS));
    ZC_CHECK (s_lines (bed, "u1/chain.marker") == 1);
    free (id);

    //  A job for a node no hub knows yet runs once it joins below the
    //  sub-site (its cert arriving at the hubs on their own).
    id = zc_testbed_submit (bed, "c1", "late1", "echo ran >>late.marker");
    ZC_CHECK (id && !zc_testbed_job_until (bed, "c1", id, "done", 500));
    ZC_CHECK (id && zc_testbed_job_until (bed, "c1", id, "queued", 0));
    ZC_CHECK (zc_testbed_keygen (bed, NULL, "late1", false) == 0);
    ZC_CHECK (s_agent (bed, "late1", "sub", sub) == 0);
    ZC_CHECK (id && zc_testbed_job_until (bed, "c1", id, "done", S_WAIT_MS));
    ZC_CHECK (s_lines (bed, "late1/late.marker") == 1);
    free (id);

    //  A child hub its parent dropped (its cert out, then back) sends its
    //  routes again.
    ZC_CHECK (s_move (bed, "keys/sub.cert", "sub.cert.aside") == 0);
    ZC_CHECK (zc_testbed_nodes_until (bed, "c1", "u1", false, S_WAIT_MS));
    ZC_CHECK (s_move (bed, "sub.cert.aside", "keys/sub.cert") == 0);
    ZC_CHECK (zc_testbed_nodes_until (bed, "c1", "u1,late1", true, S_WAIT_MS));
    S_CHECK_OUTPUTS (bed, "c1", "u1", "echo back", "u1:back\n");

    //  A hub with two uplinks (a DAG): ALL reaches each node once, from
    //  either side.
    ZC_CHECK (zc_testbed_keygen (bed, NULL, "d1", false) == 0);
    char *at_sub = s_at ("sub", sub);
    char *side = s_hub (bed, "side", at_central, at_sub);
    ZC_CHECK (side != NULL);
    ZC_CHECK (s_agent (bed, "d1", "side", side) == 0);
    ZC_CHECK (zc_testbed_nodes_until (bed, "c1", "c1,s1,u1,d1", true, S_WAIT_MS));
    ZC_CHECK (zc_testbed_nodes_until (bed, "u1", "c1,s1,u1,d1", true, S_WAIT_MS));
    ZC_CHECK (zc_testbed_nodes_until (bed, "d1", "c1,s1,u1,d1,late1", true, S_WAIT_MS));
    S_CHECK_OUTPUTS (bed, "u1", "ALL", "echo hi", "c1:hi\n|d1:hi\n|late1:hi\n|s1:hi\n|u1:hi\n");
    S_CHECK_OUTPUTS (bed, "d1", "ALL", "echo hi", "c1:hi\n|d1:hi\n|late1:hi\n|s1:hi\n|u1:hi\n");

    //  With the middle hub gone, the DAG still routes around it.
    zc_testbed_stop (bed, "site");
    ZC_CHECK (zc_testbed_nodes_until (bed, "c1", "s1", false, S_WAIT_MS));
    S_CHECK_OUTPUTS (bed, "c1", "u1", "echo via-side", "u1:via-side\n");

    free (at_sub);
    free (side);
    free (at_site);
    free (at_central);
    free (sub);
    free (site);
    free (central);
    *failures += zc_test_failures_;
}

int
zc_mesh_test (bool verbose)
{
    ZC_TEST_BEGIN;
    zc_testbed_t *bed = zc_testbed_new ();
    ZC_CHECK (bed != NULL);
    if (!bed)
        return ZC_TEST_END;
    s_test_chain (bed, &zc_test_failures_);
    if (verbose)
        printf ("# mesh: a chain of three hubs and a DAG, in one process\n");
    zc_testbed_destroy (&bed);
    return ZC_TEST_END;
}
