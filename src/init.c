/*  init.c — `zcnc init hub|agent NAME` (init.h).

    Checks everything first (names, endpoints, the user, that no file
    would be replaced), then makes the keys (keys.c), writes the config,
    creates the data directory, hands keys and data to the user, and
    loads the config it wrote as the daemon would, so what it printed is
    known to start. The commands it prints are exact for the paths it
    chose; on separate hosts the operator copies with scp instead of cp.
*/
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include "prelude.h"
#include "init.h"
#include "cli.h"
#include "config.h"
#include "dirs.h"
#include "keys.h"
#include "log.h"
#include "target.h"
#include "testing.h"

//  What init is about to make, all paths absolute.
typedef struct {
    const zc_init_spec_t *spec;
    char *dir, *config, *keys, *data;
    char *hub_name, *hub_endpoint;      //  agent: its hub
    char *hub_dir, *hub_keys, *hub_config;
    bool have_user;
    uid_t uid;
    gid_t gid;
} s_plan_t;

static void
s_plan_clear (s_plan_t *plan)
{
    zstr_free (&plan->dir);
    zstr_free (&plan->config);
    zstr_free (&plan->keys);
    zstr_free (&plan->data);
    zstr_free (&plan->hub_name);
    zstr_free (&plan->hub_endpoint);
    zstr_free (&plan->hub_dir);
    zstr_free (&plan->hub_keys);
    zstr_free (&plan->hub_config);
}

//  'path' made absolute against the working directory, without a
//  trailing '/'; NULL with *error when it cannot be written in a config
//  (a '"' or a control character) or the working directory is unknown.
static char *
s_absolute (const char *path, const char *what, char **error)
{
    for (const char *c = path; *c; c++)
        if (*c == '"' || (unsigned char) *c < 32) {
            zc_fail (error, "%s '%s' holds a '\"' or a control character; choose another", what, path);
            return NULL;
        }
    if (!*path) {
        zc_fail (error, "%s is empty", what);
        return NULL;
    }
    char *absolute;
    if (*path == '/')
        absolute = zc_strdup (path);
    else {
        char cwd [4096];
        if (!getcwd (cwd, sizeof cwd)) {
            zc_fail (error, "cannot find the current directory: %s", strerror (errno));
            return NULL;
        }
        absolute = zsys_sprintf ("%s/%s", streq (cwd, "/")? "": cwd, path);
    }
    size_t size = strlen (absolute);
    while (size > 1 && absolute [size - 1] == '/')
        absolute [--size] = 0;
    return absolute;
}

//  A usage problem: *error set, -2.
#define S_USAGE_FAIL(error, ...) (zc_fail ((error), __VA_ARGS__) - 1)

//  Fills the plan and checks it, creating nothing. 0; -2 with *error
//  when the spec itself is wrong (a name, an endpoint, a directory: the
//  command line's usage error); -1 with *error for the rest.
static int
s_plan (const zc_init_spec_t *spec, s_plan_t *plan, char **error)
{
    memset (plan, 0, sizeof *plan);
    plan->spec = spec;
    if (!spec->name || !zc_name_valid (spec->name))
        return S_USAGE_FAIL (error, "'%s' is not a valid name ([A-Za-z0-9][A-Za-z0-9._-]{0,63}, not ALL)",
                        spec->name? spec->name: "");
    if (!(plan->dir = s_absolute (spec->dir? spec->dir: ZC_INIT_DIR_DEFAULT, "DIR", error)))
        return -2;
    plan->config = zsys_sprintf ("%s/%s", plan->dir, spec->hub? "hub.cfg": "agent.cfg");
    plan->keys = zsys_sprintf ("%s/keys", plan->dir);
    plan->data = spec->dir? zsys_sprintf ("%s/data", plan->dir)
                          : zsys_sprintf ("%s/%s", ZC_INIT_DATA_DEFAULT, spec->name);
    if (spec->hub) {
        const char *problem = zc_endpoint_problem (spec->bind? spec->bind: ZC_INIT_BIND_DEFAULT, true);
        if (problem)
            return S_USAGE_FAIL (error, "bad endpoint '%s' for --bind (%s)", spec->bind, problem);
    }
    else {
        const char *at = spec->hub_peer? strchr (spec->hub_peer, '@'): NULL;
        if (!at)
            return S_USAGE_FAIL (error, "--hub wants HUBNAME@ENDPOINT, e.g. hub1@tcp://hub1.example.org:7710");
        plan->hub_name = zc_strdup (spec->hub_peer);
        plan->hub_name [at - spec->hub_peer] = 0;
        plan->hub_endpoint = zc_strdup (at + 1);
        if (!zc_name_valid (plan->hub_name))
            return S_USAGE_FAIL (error, "'%s' in --hub is not a valid hub name", plan->hub_name);
        if (streq (plan->hub_name, spec->name))
            return S_USAGE_FAIL (error, "the agent and its hub are both named '%s' (names are unique"
                            " across the mesh)", spec->name);
        const char *problem = zc_endpoint_problem (plan->hub_endpoint, false);
        if (problem)
            return S_USAGE_FAIL (error, "bad endpoint '%s' in --hub (%s)", plan->hub_endpoint, problem);
        if (!(plan->hub_dir = s_absolute (spec->hub_dir? spec->hub_dir: ZC_INIT_DIR_DEFAULT,
                                          "--hub-dir", error)))
            return -2;
        plan->hub_keys = zsys_sprintf ("%s/keys", plan->hub_dir);
        plan->hub_config = zsys_sprintf ("%s/hub.cfg", plan->hub_dir);
    }
    if (spec->user) {
        struct passwd *entry = getpwnam (spec->user);
        if (!entry)
            return zc_fail (error, "no such user '%s' (create it first, e.g. the package's zcnc"
                            " user, or leave out --user)", spec->user);
        plan->have_user = true;
        plan->uid = entry->pw_uid;
        plan->gid = entry->pw_gid;
        if (geteuid () != 0 && plan->uid != geteuid ())
            return zc_fail (error, "only root can hand files to user '%s' (run as root, or leave"
                            " out --user)", spec->user);
    }
    //  Nothing may be replaced.
    char *paths [3] = {
        zc_strdup (plan->config),
        zsys_sprintf ("%s/%s.cert", plan->keys, spec->name),
        zsys_sprintf ("%s/%s.cert_secret", plan->keys, spec->name)
    };
    int rc = 0;
    struct stat st;
    for (int index = 0; index < 3 && rc == 0; index++)
        if (lstat (paths [index], &st) == 0)
            rc = zc_fail (error, "%s exists; refusing to overwrite it (move it away, or give"
                          " another -d DIR)", paths [index]);
    for (int index = 0; index < 3; index++)
        zstr_free (&paths [index]);
    return rc;
}

//  Creates 'path' and its missing parents with 'mode' (mkdir -p). 0, or
//  -1 with *error.
static int
s_make_dirs (const char *path, mode_t mode, char **error)
{
    char *copy = zc_strdup (path);
    int rc = 0;
    for (char *slash = copy + 1; rc == 0; slash++) {
        bool end = *slash == 0;
        if (*slash != '/' && !end)
            continue;
        *slash = 0;
        struct stat st;
        if (mkdir (copy, mode) == -1 && errno != EEXIST)
            rc = zc_fail (error, "cannot create %s: %s", copy, strerror (errno));
        else
        if (stat (copy, &st) == -1 || !S_ISDIR (st.st_mode))
            rc = zc_fail (error, "%s is not a directory", copy);
        if (end)
            break;
        *slash = '/';
    }
    free (copy);
    return rc;
}

//  Writes a new file (never replacing one). 0, or -1 with *error.
static int
s_write_new (const char *path, const char *text, mode_t mode, char **error)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd == -1)
        return zc_fail (error, "cannot create %s: %s", path, strerror (errno));
    size_t size = strlen (text);
    bool ok = write (fd, text, size) == (ssize_t) size && fsync (fd) == 0;
    int saved = errno;
    if (close (fd) == -1 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink (path);
        return zc_fail (error, "cannot write %s: %s", path, strerror (saved));
    }
    return 0;
}

//  The config file's text.
static char *
s_config_text (const s_plan_t *plan)
{
    const zc_init_spec_t *spec = plan->spec;
    char *head = zsys_sprintf (
        "#   Written by zcnc init %s %s; every key: zcnc.conf(5).\n"
        "#   Check it with: zcnc %s -n -c %s\n"
        "#   Indent with exactly 4 spaces; '#' starts a comment.\n"
        "\n"
        "zcnc\n"
        "    name = %s\n"
        "    keys = \"%s\"\n"
        "    data = \"%s\"\n",
        spec->hub? "hub": "agent", spec->name, spec->hub? "hub": "agent", plan->config,
        spec->name, plan->keys, plan->data);
    char *text;
    if (spec->hub)
        text = zsys_sprintf ("%s\nhub\n    bind = %s\n%s", head, spec->bind? spec->bind: ZC_INIT_BIND_DEFAULT,
                             spec->enroll? "    #   Unknown keys may ask to be trusted: zcnc keys list\n"
                                           "    enroll = on\n": "");
    else
        text = zsys_sprintf ("%s\nagent\n    hub = %s@%s\n%s", head, plan->hub_name, plan->hub_endpoint,
                             spec->enroll? "    #   Ask the hub to trust this key (zcnc keys accept"
                                           " on the hub's host)\n    enroll = on\n": "");
    zstr_free (&head);
    return text;
}

//  Hands 'path' to the plan's user. 0, or -1 with *error.
static int
s_chown (const s_plan_t *plan, const char *path, char **error)
{
    if (plan->have_user && chown (path, plan->uid, plan->gid) == -1)
        return zc_fail (error, "cannot give %s to user %s: %s", path, plan->spec->user, strerror (errno));
    return 0;
}

//  The endpoint agents dial, as far as the hub's bind tells it: a
//  wildcard host becomes this host's name.
static char *
s_dial_endpoint (const char *bind)
{
    const char *host = strstr (bind, "://");
    if (!host || strncmp (bind, "tcp", 3) != 0)
        return zc_strdup (bind);
    host += 3;
    const char *colon = strrchr (host, ':');
    size_t size = colon? (size_t) (colon - host): strlen (host);
    if ((size == 1 && *host == '*') || (size == 7 && strncmp (host, "0.0.0.0", 7) == 0)
    ||  (size == 4 && strncmp (host, "[::]", 4) == 0)) {
        char name [256] = "HOST";
        if (gethostname (name, sizeof name - 1) != 0 || !*name)
            strcpy (name, "HOST");
        return zsys_sprintf ("tcp://%s%s", name, colon? colon: "");
    }
    return zc_strdup (bind);
}

//  What to do next, for a hub.
static void
s_print_hub (const s_plan_t *plan, const char *fingerprint, FILE *out)
{
    const zc_init_spec_t *spec = plan->spec;
    const char *bind = spec->bind? spec->bind: ZC_INIT_BIND_DEFAULT;
    char *dial = s_dial_endpoint (bind);
    bool any_port = strlen (bind) > 2 && streq (bind + strlen (bind) - 2, ":*");
    bool default_dir = streq (plan->dir, ZC_INIT_DIR_DEFAULT);
    char *hub_dir = default_dir? zc_strdup (""): zsys_sprintf (" --hub-dir %s", plan->dir);
    fprintf (out,
        "# zcnc init: hub %s\n"
        "#   config  %s\n"
        "#   keys    %s (%s.cert_secret, %s.cert)\n"
        "#   data    %s\n"
        "#   key fingerprint %s\n"
        "#\n"
        "# Check and start it:\n"
        "zcnc hub -n -c %s && zcnc hub -c %s\n"
        "#\n"
        "# Add each agent, on its host (%s: an address of this hub that agents reach%s):\n"
        "zcnc init agent NAME --hub %s@%s%s%s\n",
        spec->name, plan->config, plan->keys, spec->name, spec->name, plan->data, fingerprint,
        plan->config, plan->config, dial,
        any_port? "; the port is in DATA/endpoints once the hub runs": "",
        spec->name, dial, hub_dir, spec->enroll? " --enroll": "");
    if (spec->enroll)
        fprintf (out,
            "#\n"
            "# Enrollment is on: agents started with --enroll ask this hub to trust them.\n"
            "# Compare the fingerprint each agent printed with the list, then accept:\n"
            "zcnc keys list -c %s\n"
            "zcnc keys accept NAME -c %s\n",
            plan->config, plan->config);
    zstr_free (&hub_dir);
    zstr_free (&dial);
}

//  What to do next, for an agent.
static void
s_print_agent (const s_plan_t *plan, const char *fingerprint, FILE *out)
{
    const zc_init_spec_t *spec = plan->spec;
    const char *name = spec->name, *hub = plan->hub_name;
    bool shared = streq (plan->keys, plan->hub_keys);
    fprintf (out,
        "# zcnc init: agent %s\n"
        "#   config  %s\n"
        "#   keys    %s (%s.cert_secret, %s.cert)\n"
        "#   data    %s\n"
        "#   key fingerprint %s\n"
        "#\n",
        name, plan->config, plan->keys, name, name, plan->data, fingerprint);
    if (shared)
        fprintf (out,
            "# %s shares its keys directory with hub %s: it pins the hub's key and the hub\n"
            "# trusts it without a copy.\n", name, hub);
    else
    if (spec->enroll)
        fprintf (out,
            "# 1. %s pins the key of hub %s: on %s's host (scp from %s's host when it runs elsewhere):\n"
            "cp %s/%s.cert %s/\n"
            "# 2. Once %s runs, %s holds its enrollment request: on %s's host, check that the\n"
            "#    fingerprint listed is the one above, then accept it:\n"
            "zcnc keys list -c %s\n"
            "zcnc keys accept %s -c %s\n",
            name, hub, name, hub, plan->hub_keys, hub, plan->keys,
            name, hub, hub, plan->hub_config, name, plan->hub_config);
    else
        fprintf (out,
            "# 1. %s pins the key of hub %s: on %s's host (scp from %s's host when it runs elsewhere):\n"
            "cp %s/%s.cert %s/\n"
            "# 2. Hub %s trusts %s: on %s's host (scp when it runs elsewhere):\n"
            "cp %s/%s.cert %s/\n",
            name, hub, name, hub, plan->hub_keys, hub, plan->keys,
            hub, name, hub, plan->keys, name, plan->hub_keys);
    if (!shared)
        fprintf (out,
            "# 3. Jobs are sealed end to end: agents that send each other jobs need each other's\n"
            "#    certs. %s's keys directory holds the cert of every agent it trusts: once all\n"
            "#    agents are in, give this one all of them (again on each agent after adding one):\n"
            "cp %s/*.cert %s/\n",
            hub, plan->hub_keys, plan->keys);
    fprintf (out,
        "# Check and start it:\n"
        "zcnc agent -n -c %s && zcnc agent -c %s\n",
        plan->config, plan->config);
}

int
zc_init_node (const zc_init_spec_t *spec, FILE *out, char **error)
{
    assert (spec && out);
    s_plan_t plan;
    if (s_plan (spec, &plan, error) != 0) {
        s_plan_clear (&plan);
        return -1;
    }
    char *public_path = zsys_sprintf ("%s/%s.cert", plan.keys, spec->name);
    char *secret_path = zsys_sprintf ("%s/%s.cert_secret", plan.keys, spec->name);
    char *text = s_config_text (&plan);
    int rc = s_make_dirs (plan.dir, 0755, error);
    if (rc == 0)
        rc = zc_keygen (plan.keys, spec->name, spec->hub, error);
    if (rc == 0 && s_write_new (plan.config, text, 0644, error) != 0) {
        unlink (public_path);
        unlink (secret_path);
        rc = -1;
    }
    //  The keys directory may have existed with looser modes: a secret
    //  lives in it now.
    if (rc == 0 && chmod (plan.keys, 0700) == -1)
        rc = zc_fail (error, "cannot set the mode of %s: %s", plan.keys, strerror (errno));
    if (rc == 0)
        rc = zc_dirs_make (plan.data, error);
    if (rc == 0 && chmod (plan.data, 0700) == -1)
        rc = zc_fail (error, "cannot set the mode of %s: %s", plan.data, strerror (errno));
    if (rc == 0)
        rc = s_chown (&plan, plan.keys, error);
    if (rc == 0)
        rc = s_chown (&plan, public_path, error);
    if (rc == 0)
        rc = s_chown (&plan, secret_path, error);
    if (rc == 0)
        rc = s_chown (&plan, plan.data, error);
    //  What was written must load as the daemon loads it.
    zc_config_t *config = NULL;
    char *problem = NULL;
    if (rc == 0 && !(config = zc_config_load (plan.config, spec->hub? ZC_ROLE_HUB: ZC_ROLE_AGENT, &problem))) {
        rc = zc_fail (error, "the config written does not load: %s", problem);
        free (problem);
    }
    zc_config_destroy (&config);
    zc_key_t key;
    if (rc == 0 && zc_key_load (public_path, &key, error) != 0)
        rc = -1;
    if (rc == 0) {
        char fingerprint [ZC_FINGERPRINT_SIZE];
        zc_key_fingerprint (key.public_key, fingerprint);
        if (spec->hub)
            s_print_hub (&plan, fingerprint, out);
        else
            s_print_agent (&plan, fingerprint, out);
    }
    zstr_free (&text);
    zstr_free (&public_path);
    zstr_free (&secret_path);
    s_plan_clear (&plan);
    return rc;
}

//  ---------------------------------------------------------------------
//  The command

#define S_USAGE_HUB   "zcnc init hub NAME [-d DIR] [--bind ENDPOINT] [--enroll] [--user USER]"
#define S_USAGE_AGENT "zcnc init agent NAME --hub HUBNAME@ENDPOINT [-d DIR] [--enroll]" \
                      " [--hub-dir DIR] [--user USER]"

int
zc_cli_init (int argc, char *argv [])
{
    static const char *usage = S_USAGE_HUB "\n       " S_USAGE_AGENT;
    static struct option options [] = {
        { "bind", required_argument, NULL, 'b' },
        { "dir", required_argument, NULL, 'd' },
        { "enroll", no_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { "hub", required_argument, NULL, 'H' },
        { "hub-dir", required_argument, NULL, 'D' },
        { "user", required_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 }
    };
    zc_init_spec_t spec = { 0 };
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "d:hu:", options, NULL)) != -1) {
        switch (option) {
            case 'b': spec.bind = optarg; break;
            case 'd': spec.dir = optarg; break;
            case 'D': spec.hub_dir = optarg; break;
            case 'e': spec.enroll = true; break;
            case 'H': spec.hub_peer = optarg; break;
            case 'u': spec.user = optarg; break;
            case 'h':
            default:
                return zc_cli_help_or_usage (usage, option);
        }
    }
    if (optind + 2 != argc || (!streq (argv [optind], "hub") && !streq (argv [optind], "agent"))) {
        zc_cli_usage_error (usage, "init needs 'hub' or 'agent' and a NAME");
        return ZC_EXIT_USAGE;
    }
    spec.hub = streq (argv [optind], "hub");
    spec.name = argv [optind + 1];
    const char *own_usage = spec.hub? S_USAGE_HUB: S_USAGE_AGENT;
    if (spec.hub && (spec.hub_peer || spec.hub_dir)) {
        zc_cli_usage_error (own_usage, "--hub and --hub-dir are for init agent");
        return ZC_EXIT_USAGE;
    }
    if (!spec.hub && spec.bind) {
        zc_cli_usage_error (own_usage, "--bind is for init hub");
        return ZC_EXIT_USAGE;
    }
    if (!spec.hub && !spec.hub_peer) {
        zc_cli_usage_error (own_usage, "init agent needs --hub HUBNAME@ENDPOINT");
        return ZC_EXIT_USAGE;
    }
    //  What is wrong with the command line itself is a usage error; the
    //  rest (a file exists, a user is missing) a failure.
    s_plan_t plan;
    char *error = NULL;
    int rc = s_plan (&spec, &plan, &error);
    s_plan_clear (&plan);
    if (rc == -2) {
        zc_cli_usage_error (own_usage, "%s", error);
        free (error);
        return ZC_EXIT_USAGE;
    }
    if (rc == 0)
        rc = zc_init_node (&spec, stdout, &error);
    if (rc != 0) {
        fprintf (stderr, "zcnc: %s\n", error);
        free (error);
        return 1;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Self-test

static int
s_rmtree_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove (path);
}

//  The permission bits of 'path', or -1.
static int
s_mode (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0? (int) (st.st_mode & 07777): -1;
}

//  Runs zc_init_node into a memory buffer; the output (malloc'd) in
//  *output, the error in *error.
static int
s_run (const zc_init_spec_t *spec, char **output, char **error)
{
    size_t size = 0;
    FILE *out = open_memstream (output, &size);
    assert (out);
    int rc = zc_init_node (spec, out, error);
    fclose (out);
    return rc;
}

int
zc_init_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char root [] = "/tmp/zc-init-test-XXXXXX";
    if (!mkdtemp (root)) {
        printf ("# cannot make %s: %s\n", root, strerror (errno));
        return -1;
    }
    char *hub_dir = zsys_sprintf ("%s/hub1", root);
    char *agent_dir = zsys_sprintf ("%s/n1", root);

    //  A hub: keys, config, data, modes; the config loads.
    zc_init_spec_t hub = { .hub = true, .name = "hub1", .dir = hub_dir,
                           .bind = "tcp://127.0.0.1:7799", .enroll = true };
    char *output = NULL, *error = NULL;
    ZC_CHECK (s_run (&hub, &output, &error) == 0);
    char *path = zsys_sprintf ("%s/keys/hub1.cert_secret", hub_dir);
    ZC_CHECK (s_mode (path) == 0600);
    zstr_free (&path);
    path = zsys_sprintf ("%s/keys", hub_dir);
    ZC_CHECK (s_mode (path) == 0700);
    zstr_free (&path);
    path = zsys_sprintf ("%s/data", hub_dir);
    ZC_CHECK (s_mode (path) == 0700);
    zstr_free (&path);
    path = zsys_sprintf ("%s/hub.cfg", hub_dir);
    ZC_CHECK (s_mode (path) == 0644);
    zc_config_t *config = zc_config_load (path, ZC_ROLE_HUB, &error);
    zstr_free (&error);
    ZC_CHECK (config && streq (config->name, "hub1") && config->enroll);
    zc_config_destroy (&config);
    zstr_free (&path);
    char *want = zsys_sprintf ("zcnc init agent NAME --hub hub1@tcp://127.0.0.1:7799 --hub-dir %s --enroll\n",
                               hub_dir);
    ZC_CHECK (output && strstr (output, want));
    if (verbose && output)
        printf ("%s", output);
    zstr_free (&want);
    zstr_free (&output);

    //  Again: refused, and nothing changes.
    ZC_CHECK (s_run (&hub, &output, &error) == -1);
    ZC_CHECK (error && strstr (error, "hub.cfg exists; refusing to overwrite"));
    zstr_free (&error);
    zstr_free (&output);

    //  An agent of that hub: the copy commands name both directories.
    zc_init_spec_t agent = { .name = "n1", .dir = agent_dir, .hub_peer = "hub1@tcp://127.0.0.1:7799",
                             .hub_dir = hub_dir };
    ZC_CHECK (s_run (&agent, &output, &error) == 0);
    want = zsys_sprintf ("\ncp %s/keys/hub1.cert %s/keys/\n", hub_dir, agent_dir);
    ZC_CHECK (output && strstr (output, want));
    zstr_free (&want);
    want = zsys_sprintf ("\ncp %s/keys/n1.cert %s/keys/\n", agent_dir, hub_dir);
    ZC_CHECK (output && strstr (output, want));
    zstr_free (&want);
    zstr_free (&output);
    path = zsys_sprintf ("%s/agent.cfg", agent_dir);
    config = zc_config_load (path, ZC_ROLE_AGENT, &error);
    zstr_free (&error);
    ZC_CHECK (config && zlist_size (config->hubs) == 1 && !config->agent_enroll);
    zc_config_destroy (&config);
    zstr_free (&path);

    //  A key left where the config is not: refused before writing.
    char *other_dir = zsys_sprintf ("%s/n2", root);
    char *other_keys = zsys_sprintf ("%s/keys", other_dir);
    ZC_CHECK (zc_keygen (other_keys, "n2", false, NULL) == 0);
    zc_init_spec_t other = { .name = "n2", .dir = other_dir, .hub_peer = "hub1@tcp://127.0.0.1:7799" };
    ZC_CHECK (s_run (&other, &output, &error) == -1);
    ZC_CHECK (error && strstr (error, "n2.cert exists; refusing to overwrite"));
    zstr_free (&error);
    zstr_free (&output);
    path = zsys_sprintf ("%s/agent.cfg", other_dir);
    ZC_CHECK (access (path, F_OK) == -1);
    zstr_free (&path);

    //  Bad input.
    struct {
        zc_init_spec_t spec;
        const char *want;
    } bad [] = {
        { { .name = "ALL", .dir = other_dir, .hub_peer = "h@tcp://h:1" }, "'ALL' is not a valid name" },
        { { .name = "n3", .dir = other_dir, .hub_peer = "tcp://h:1" }, "--hub wants HUBNAME@ENDPOINT" },
        { { .name = "n3", .dir = other_dir, .hub_peer = "h@tcp://h:*" }, "bad endpoint 'tcp://h:*' in --hub" },
        { { .name = "n3", .dir = other_dir, .hub_peer = "n3@tcp://h:1" }, "both named 'n3'" },
        { { .name = "n3", .dir = "a\"b", .hub_peer = "h@tcp://h:1" }, "holds a '\"'" },
        { { .hub = true, .name = "h3", .dir = other_dir, .bind = "udp://x" }, "bad endpoint 'udp://x' for --bind" },
        { { .hub = true, .name = "h3", .dir = other_dir, .user = "no-such-user-zc" }, "no such user 'no-such-user-zc'" },
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        ZC_CHECK (s_run (&bad [index].spec, &output, &error) == -1);
        ZC_CHECK (error && strstr (error, bad [index].want));
        if (!error || !strstr (error, bad [index].want))
            printf ("# got \"%s\", want \"%s\"\n", error? error: "(null)", bad [index].want);
        zstr_free (&error);
        zstr_free (&output);
    }
    //  The endpoint printed for a wildcard bind is this host's.
    char *dial = s_dial_endpoint ("tcp://*:7710");
    char host [256] = "";
    gethostname (host, sizeof host - 1);
    want = zsys_sprintf ("tcp://%s:7710", *host? host: "HOST");
    ZC_CHECK_STR (dial, want);
    zstr_free (&want);
    zstr_free (&dial);
    dial = s_dial_endpoint ("tcp://10.1.2.3:7710");
    ZC_CHECK_STR (dial, "tcp://10.1.2.3:7710");
    zstr_free (&dial);

    zstr_free (&other_keys);
    zstr_free (&other_dir);
    zstr_free (&hub_dir);
    zstr_free (&agent_dir);
    nftw (root, s_rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
    ZC_CHECK (access (root, F_OK) == -1);
    return ZC_TEST_END;
}
