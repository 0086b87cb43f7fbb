/*  meshdot.c — the mesh as a Graphviz graph (see meshdot.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "prelude.h"
#include "meshdot.h"
#include "testing.h"

//  Writes 'text' as a DOT string, quoted. Names are plain already
//  ([A-Za-z0-9._-]); the escaping is for whatever else a field holds.
static void
s_quoted (FILE *out, const char *text)
{
    fputc ('"', out);
    for (const char *at = text; *at; at++) {
        if (*at == '"' || *at == '\\')
            fputc ('\\', out);
        if ((unsigned char) *at >= 0x20)
            fputc (*at, out);
    }
    fputc ('"', out);
}

//  A graph id for a hub or a node: hubs and nodes share one namespace,
//  but a prefix keeps the picture right even if a name came twice.
static void
s_id (FILE *out, const char *kind, const char *name)
{
    char *id = zsys_sprintf ("%s:%s", kind, name);
    s_quoted (out, id);
    free (id);
}

//  Writes an edge once: 'edges' remembers those written.
static void
s_edge (FILE *out, zhashx_t *edges, const char *kind_a, const char *a, const char *kind_b,
        const char *b, const char *attributes)
{
    char *key = zsys_sprintf ("%s:%s|%s:%s", kind_a, a, kind_b, b);
    if (zhashx_insert (edges, key, (void *) 1) == 0) {
        fputs ("    ", out);
        s_id (out, kind_a, a);
        fputs (" -- ", out);
        s_id (out, kind_b, b);
        fprintf (out, "%s;\n", attributes);
    }
    free (key);
}

//  Declares a hub once: 'hubs' remembers those declared.
static void
s_hub (FILE *out, zhashx_t *hubs, const char *name)
{
    if (zhashx_insert (hubs, name, (void *) 1) != 0)
        return;
    fputs ("    ", out);
    s_id (out, "hub", name);
    fputs (" [label=", out);
    s_quoted (out, name);
    fputs (", shape=box, style=\"rounded,filled\", fillcolor=\"#dbe5f1\"];\n", out);
}

//  The jobs queued here per node name (values are counts in pointers).
static zhashx_t *
s_queue_depths (json_t *queued)
{
    zhashx_t *depths = zhashx_new ();
    size_t index;
    json_t *job;
    json_array_foreach (queued, index, job) {
        const char *node = json_string_value (json_object_get (job, "node"));
        if (node) {
            uintptr_t count = (uintptr_t) zhashx_lookup (depths, node);
            zhashx_update (depths, node, (void *) (count + 1));
        }
    }
    return depths;
}

//  Declares a node: its name, its state and its queue depth.
static void
s_node (FILE *out, const char *name, const char *state, uintptr_t queued, bool self)
{
    const char *fill = streq (state, "online")? "#c8e6c9": streq (state, "offline")? "#f4c7c3": "#eeeeee";
    char *label = queued? zsys_sprintf ("%s%s\n%s, %lu queued", name, self? " (this agent)": "", state,
                                        (unsigned long) queued)
                        : zsys_sprintf ("%s%s\n%s", name, self? " (this agent)": "", state);
    fputs ("    ", out);
    s_id (out, "node", name);
    fputs (" [label=", out);
    //  A DOT string takes \n as a line break: written as the two bytes.
    fputc ('"', out);
    for (const char *at = label; *at; at++) {
        if (*at == '\n')
            fputs ("\\n", out);
        else {
            if (*at == '"' || *at == '\\')
                fputc ('\\', out);
            if ((unsigned char) *at >= 0x20)
                fputc (*at, out);
        }
    }
    fputc ('"', out);
    fprintf (out, ", style=\"filled%s\", fillcolor=\"%s\"%s];\n",
             streq (state, "never seen")? ",dotted": "", fill, self? ", penwidth=2": "");
    free (label);
}

char *
zc_meshdot_render (json_t *status, json_t *nodes, json_t *queued)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    zhashx_t *hubs = zhashx_new ();
    zhashx_t *edges = zhashx_new ();
    zhashx_t *depths = s_queue_depths (queued);
    zhashx_t *listed = zhashx_new ();
    const char *self = json_string_value (json_object_get (status, "name"));

    fputs ("graph zcnc {\n", out);
    fputs ("    graph [fontname=\"Helvetica\", labelloc=t, label=", out);
    char *title = zsys_sprintf ("the zcnc mesh as %s sees it", self? self: "this agent");
    s_quoted (out, title);
    free (title);
    fputs ("];\n    node [fontname=\"Helvetica\"];\n", out);

    //  The hubs this agent dials, then every hub on a node's path.
    size_t index;
    json_t *item;
    json_array_foreach (json_object_get (status, "hubs"), index, item) {
        const char *hub = json_string_value (json_object_get (item, "name"));
        if (hub)
            s_hub (out, hubs, hub);
    }
    json_array_foreach (nodes, index, item) {
        const char *via = json_string_value (json_object_get (item, "via"));
        char *path = zc_strdup (via? via: "");
        char *save = NULL;
        for (char *hub = strtok_r (path, ">", &save); hub; hub = strtok_r (NULL, ">", &save))
            s_hub (out, hubs, hub);
        free (path);
    }

    //  The nodes of the directory, then those with jobs queued here
    //  that it does not hold (never seen, or forgotten).
    json_array_foreach (nodes, index, item) {
        const char *name = json_string_value (json_object_get (item, "name"));
        if (!name || zhashx_insert (listed, name, (void *) 1) != 0)
            continue;
        bool online = json_is_true (json_object_get (item, "online"));
        s_node (out, name, online? "online": "offline", (uintptr_t) zhashx_lookup (depths, name),
                self && streq (name, self));
    }
    if (self && !zhashx_lookup (listed, self)) {
        zhashx_insert (listed, self, (void *) 1);
        s_node (out, self, "online", (uintptr_t) zhashx_lookup (depths, self), true);
    }
    zlistx_t *queued_names = zhashx_keys (depths);
    zlistx_sort (queued_names);
    for (const char *name = zlistx_first (queued_names); name; name = zlistx_next (queued_names))
        if (!zhashx_lookup (listed, name))
            s_node (out, name, "never seen", (uintptr_t) zhashx_lookup (depths, name), false);
    zlistx_destroy (&queued_names);

    //  This agent's own links, as its status shows them.
    json_array_foreach (json_object_get (status, "hubs"), index, item) {
        const char *hub = json_string_value (json_object_get (item, "name"));
        if (hub && self)
            s_edge (out, edges, "hub", hub, "node", self,
                    json_is_true (json_object_get (item, "connected"))? "": " [style=dashed, label=\"not connected\"]");
    }
    //  Along each node's path: hub to hub, then its own hub to it.
    json_array_foreach (nodes, index, item) {
        const char *name = json_string_value (json_object_get (item, "name"));
        const char *via = json_string_value (json_object_get (item, "via"));
        if (!name || !via || !*via)
            continue;
        char *path = zc_strdup (via);
        char *save = NULL, *previous = NULL;
        for (char *hub = strtok_r (path, ">", &save); hub; hub = strtok_r (NULL, ">", &save)) {
            if (previous)
                s_edge (out, edges, "hub", previous, "hub", hub, "");
            previous = hub;
        }
        if (previous)
            s_edge (out, edges, "hub", previous, "node", name,
                    json_is_true (json_object_get (item, "online"))? "": " [style=dashed]");
        free (path);
    }
    fputs ("}\n", out);
    fclose (out);
    zhashx_destroy (&listed);
    zhashx_destroy (&depths);
    zhashx_destroy (&edges);
    zhashx_destroy (&hubs);
    return text;
}

//  ---------------------------------------------------------------------
//  Self-test

int
zc_meshdot_test (bool verbose)
{
    ZC_TEST_BEGIN;
    //  n1 dials hub1 (connected) and hub2 (not); n3 is behind hub0 and
    //  site2, offline, with two jobs queued; n9 was never seen.
    json_t *status = json_loads ("{\"name\":\"n1\",\"hubs\":[{\"name\":\"hub1\",\"connected\":true},"
                                 "{\"name\":\"hub2\",\"connected\":false}]}", 0, NULL);
    json_t *nodes = json_loads ("[{\"name\":\"n1\",\"online\":true,\"via\":\"hub1\"},"
                                "{\"name\":\"n2\",\"online\":true,\"via\":\"hub1\"},"
                                "{\"name\":\"n3\",\"online\":false,\"via\":\"hub1>hub0>site2\"},"
                                "{\"name\":\"n4\",\"online\":true,\"via\":\"hub1>hub0\"}]", 0, NULL);
    json_t *queued = json_loads ("[{\"node\":\"n3\"},{\"node\":\"n9\"},{\"node\":\"n3\"},{}]", 0, NULL);
    char *dot = zc_meshdot_render (status, nodes, queued);
    if (verbose)
        printf ("%s", dot);
    ZC_CHECK (strncmp (dot, "graph zcnc {\n", 13) == 0);
    ZC_CHECK (strstr (dot, "label=\"the zcnc mesh as n1 sees it\"") != NULL);
    ZC_CHECK (strstr (dot, "\"hub:hub0\" [label=\"hub0\", shape=box") != NULL);
    ZC_CHECK (strstr (dot, "\"hub:hub2\" [label=\"hub2\", shape=box") != NULL);
    ZC_CHECK (strstr (dot, "\"node:n1\" [label=\"n1 (this agent)\\nonline\"") != NULL);
    ZC_CHECK (strstr (dot, "\"node:n3\" [label=\"n3\\noffline, 2 queued\"") != NULL);
    ZC_CHECK (strstr (dot, "\"node:n9\" [label=\"n9\\nnever seen, 1 queued\", style=\"filled,dotted\"") != NULL);
    ZC_CHECK (strstr (dot, "\"hub:hub1\" -- \"node:n1\";\n") != NULL);
    ZC_CHECK (strstr (dot, "\"hub:hub2\" -- \"node:n1\" [style=dashed, label=\"not connected\"];\n") != NULL);
    ZC_CHECK (strstr (dot, "\"hub:hub1\" -- \"hub:hub0\";\n") != NULL);
    ZC_CHECK (strstr (dot, "\"hub:hub0\" -- \"hub:site2\";\n") != NULL);
    ZC_CHECK (strstr (dot, "\"hub:site2\" -- \"node:n3\" [style=dashed];\n") != NULL);
    ZC_CHECK (strstr (dot, "\"hub:hub0\" -- \"node:n4\";\n") != NULL);
    //  Each hub and each edge once.
    const char *first = strstr (dot, "\"hub:hub1\" -- \"hub:hub0\"");
    ZC_CHECK (first && !strstr (first + 1, "\"hub:hub1\" -- \"hub:hub0\""));
    first = strstr (dot, "\"hub:hub1\" [");
    ZC_CHECK (first && !strstr (first + 1, "\"hub:hub1\" ["));
    ZC_CHECK (strcmp (dot + strlen (dot) - 2, "}\n") == 0);
    free (dot);

    //  Odd input: wrong types and missing fields leave things out;
    //  quotes are escaped. The agent itself is drawn even when its
    //  directory is empty.
    json_decref (status);
    json_decref (nodes);
    status = json_loads ("{\"name\":\"a\\\"b\",\"hubs\":[{\"name\":5},{}]}", 0, NULL);
    nodes = json_loads ("[5,{\"name\":7},{\"name\":\"x\",\"via\":\">>\"},{\"name\":\"x\"}]", 0, NULL);
    dot = zc_meshdot_render (status, nodes, NULL);
    ZC_CHECK (strstr (dot, "\"node:a\\\"b\" [label=\"a\\\"b (this agent)\\nonline\"") != NULL);
    ZC_CHECK (strstr (dot, "\"node:x\" [label=\"x\\noffline\"") != NULL);
    ZC_CHECK (strstr (dot, " -- ") == NULL);
    free (dot);
    dot = zc_meshdot_render (NULL, NULL, NULL);
    ZC_CHECK_STR (dot, "graph zcnc {\n    graph [fontname=\"Helvetica\", labelloc=t,"
                       " label=\"the zcnc mesh as this agent sees it\"];\n    node [fontname=\"Helvetica\"];\n}\n");
    free (dot);
    json_decref (status);
    json_decref (nodes);
    json_decref (queued);
    return ZC_TEST_END;
}
