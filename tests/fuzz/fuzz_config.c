/*  fuzz_config.c — libFuzzer target for the config reader.

    The input is parsed as ZPL (zc_zpl_parse) and as a config file for
    each role (zc_config_parse, in memory: nothing touches the file
    system); its text up to the first NUL is also checked as an endpoint.
    Besides not crashing:
    - a refusal is one line naming the file ("fuzz.cfg:...");
    - a ZPL tree holds only names of ZPL's characters and values without
      control characters, at most 32 levels deep, and written back as ZPL
      it parses to the same tree;
    - a config that loads keeps the promises of config.h: the keys its
      role requires, valid names and endpoints, timers that fit together,
      a socket path a unix socket takes.

    `make fuzz` builds and runs it; `make check` replays its corpus and
    regressions (tests/fuzz/replay.c).
*/
#include <czmq.h>
#include "config.h"
#include "target.h"
#include "zpl.h"

#define S_ORIGIN "fuzz.cfg"

static void
s_require (bool condition)
{
    if (!condition)
        abort ();
}

static void
s_require_error (const char *error)
{
    s_require (error && strncmp (error, S_ORIGIN, strlen (S_ORIGIN)) == 0);
    s_require (strchr (error, '\n') == NULL);
}

static bool
s_zpl_name_valid (const char *name)
{
    return *name && strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789$_./*-") == strlen (name);
}

//  Checks the nodes below 'parent', 'depth' levels below the root.
static void
s_check_tree (zc_zpl_t *parent, int depth)
{
    for (zc_zpl_t *node = zc_zpl_child (parent); node; node = zc_zpl_next (node)) {
        s_require (depth < 32);
        s_require (s_zpl_name_valid (zc_zpl_name (node)));
        s_require (zc_zpl_line (node) > zc_zpl_line (parent));
        const char *value = zc_zpl_value (node);
        for (const char *c = value; c && *c; c++)
            s_require (*c == '\t' || ((unsigned char) *c >= 0x20 && *c != 0x7f));
        s_check_tree (node, depth + 1);
    }
}

//  Writes the nodes below 'parent' as ZPL, one node a line as
//  "name=value": quoted only when a bare value would read differently,
//  so that no line grows longer than the line it came from.
static void
s_write_tree (zc_zpl_t *parent, int depth, FILE *out)
{
    for (zc_zpl_t *node = zc_zpl_child (parent); node; node = zc_zpl_next (node)) {
        fprintf (out, "%*s%s", depth * 4, "", zc_zpl_name (node));
        if (zc_zpl_qualifier (node))
            fprintf (out, " %s", zc_zpl_qualifier (node));
        const char *value = zc_zpl_value (node);
        if (value) {
            size_t size = strlen (value);
            bool bare = size && !strchr (value, '#') && !strchr ("\"' \t", value [0])
                     && !strchr (" \t", value [size - 1]);
            char quote = strchr (value, '"')? '\'': '"';
            if (bare)
                fprintf (out, "=%s", value);
            else
                fprintf (out, "=%c%s%c", quote, value, quote);
        }
        fputc ('\n', out);
        s_write_tree (node, depth + 1, out);
    }
}

static bool
s_same_tree (zc_zpl_t *a, zc_zpl_t *b)
{
    for (a = zc_zpl_child (a), b = zc_zpl_child (b); a && b; a = zc_zpl_next (a), b = zc_zpl_next (b)) {
        const char *value_a = zc_zpl_value (a), *value_b = zc_zpl_value (b);
        const char *qualifier_a = zc_zpl_qualifier (a), *qualifier_b = zc_zpl_qualifier (b);
        if (!qualifier_a != !qualifier_b || (qualifier_a && strcmp (qualifier_a, qualifier_b) != 0))
            return false;
        if (strcmp (zc_zpl_name (a), zc_zpl_name (b)) != 0 || !value_a != !value_b
        ||  (value_a && strcmp (value_a, value_b) != 0) || !s_same_tree (a, b))
            return false;
    }
    return !a && !b;
}

//  Parses the input as ZPL and checks the tree. Returns whether it parsed.
static bool
s_zpl (const char *text, size_t size)
{
    char *error = NULL;
    zc_zpl_t *root = zc_zpl_parse (text, size, S_ORIGIN, &error);
    if (!root) {
        s_require_error (error);
        free (error);
        return false;
    }
    s_require (error == NULL);
    s_check_tree (root, 0);

    char *written = NULL;
    size_t written_size = 0;
    FILE *out = open_memstream (&written, &written_size);
    s_require (out != NULL);
    s_write_tree (root, 0, out);
    fclose (out);
    zc_zpl_t *again = zc_zpl_parse (written, written_size, S_ORIGIN, &error);
    s_require (again && s_same_tree (root, again));
    zc_zpl_destroy (&again);
    free (written);

    //  A path lookup finds what walking the tree finds (names may hold
    //  '/' too, which a path cannot tell from its separator), but for
    //  nodes with a qualifier ("label env = prod"), which a path never
    //  names.
    zc_zpl_t *section = zc_zpl_child (root);
    zc_zpl_t *key = zc_zpl_child (section);
    if (key && !zc_zpl_qualifier (key) && !zc_zpl_qualifier (section) && !strchr (zc_zpl_name (section), '/') && !strchr (zc_zpl_name (key), '/')) {
        char path [8192];
        snprintf (path, sizeof path, "%s/%s", zc_zpl_name (section), zc_zpl_name (key));
        zc_zpl_t *found = zc_zpl_locate (root, path);
        s_require (found && streq (zc_zpl_name (found), zc_zpl_name (key)));
    }
    zc_zpl_destroy (&root);
    return true;
}

static void
s_check_peers (zlist_t *peers)
{
    for (zc_peer_addr_t *peer = zlist_first (peers); peer; peer = zlist_next (peers)) {
        s_require (zc_name_valid (peer->name));
        s_require (zc_endpoint_problem (peer->endpoint, false) == NULL);
    }
}

//  Loads the input as a config for a role and checks what comes back.
static void
s_config (const char *text, size_t size, zc_role_t role, bool zpl_parsed)
{
    char *error = NULL;
    zc_config_t *config = zc_config_parse (text, size, S_ORIGIN, role, &error);
    if (!config) {
        s_require_error (error);
        free (error);
        return;
    }
    s_require (error == NULL && zpl_parsed);
    s_require (streq (config->path, S_ORIGIN));
    if (role != ZC_ROLE_CLIENT)
        s_require (config->name && config->keys && config->data);
    if (config->name)
        s_require (zc_name_valid (config->name));
    if (config->error_node)
        s_require (zc_name_valid (config->error_node));
    s_require (config->heartbeat < config->peer_timeout);
    s_require (config->reconnect <= config->reconnect_max);
    s_require (config->socket && (role == ZC_ROLE_HUB || strlen (config->socket) < 108));
    s_require (role != ZC_ROLE_HUB || zlist_size (config->binds) > 0);
    s_require (role != ZC_ROLE_AGENT || zlist_size (config->hubs) > 0);
    for (char *bind = zlist_first (config->binds); bind; bind = zlist_next (config->binds))
        s_require (zc_endpoint_problem (bind, true) == NULL);
    s_check_peers (config->hubs);
    s_check_peers (config->uplinks);
    s_require (config->max_output >= 1024 && config->max_output <= 16777216);
    s_require (config->queue_max_jobs >= 1 && config->queue_max_bytes >= 1024);
    zc_config_destroy (&config);
}

int
LLVMFuzzerTestOneInput (const uint8_t *input, size_t size)
{
    const char *text = (const char *) input;
    bool parsed = s_zpl (text, size);
    s_config (text, size, ZC_ROLE_HUB, parsed);
    s_config (text, size, ZC_ROLE_AGENT, parsed);
    s_config (text, size, ZC_ROLE_CLIENT, parsed);

    char *endpoint = strndup (text, size);
    bool binding = size % 2;
    const char *problem = zc_endpoint_problem (endpoint, binding);
    if (!problem)
        s_require (strncmp (endpoint, "tcp://", 6) == 0 || strncmp (endpoint, "ipc://", 6) == 0);
    free (endpoint);
    return 0;
}
