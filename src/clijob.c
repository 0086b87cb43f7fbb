/*  clijob.c — `zcnc tail` (follow a file on a node), `zcnc cancel`
    (stop a job sent from here) and `zcnc cp` (copy a file between
    nodes), see zcnc-cp(1) and zcnc-jobs(1).
*/
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "prelude.h"
#include "cli.h"
#include "id.h"
#include "target.h"

//  A tail without -t runs until Ctrl-C: its method_timeout is this.
#define S_TAIL_FOREVER  (30 * 86400 - 60)   //  with its wait margin, within the socket's 30 days
#define S_POLL_MS       200         //  how often a wait looks at Ctrl-C
#define S_CANCEL_WAIT_MS 10000      //  after Ctrl-C: how long the end may take to come

static volatile sig_atomic_t s_interrupted = 0;

static void
s_on_interrupt (int signal_number)
{
    s_interrupted = 1;
}

//  Asks the agent to cancel job 'id' on a connection of its own. 0, or
//  -1 after printing why.
static int
s_send_cancel (const char *config, const char *id)
{
    zc_client_t *client = zc_cli_connect (config);
    if (!client)
        return -1;
    json_t *request = json_pack ("{s:s, s:s}", "op", "cancel", "id", id);
    json_t *answer = zc_cli_request (client, request, ZC_CLI_MARGIN_MS);
    json_decref (request);
    int status = answer? zc_cli_answer_error (answer, NULL): ZC_EXIT_ZCNC;
    json_decref (answer);
    zc_client_destroy (&client);
    return status? -1: 0;
}

//  Waiting for a job's lines (its stream, its end) until a deadline, in
//  tail and cp: Ctrl-C or SIGTERM asks the agent to cancel the job once,
//  and then the job's end may take S_CANCEL_WAIT_MS more to come.
typedef struct {
    zc_client_t *client;
    const char *config;
    const char *job_id;
    int64_t deadline;           //  monotonic ms
    bool cancelled;             //  asked to cancel the job
    struct sigaction saved_int, saved_term;
} s_watch_t;

static void
s_watch_begin (s_watch_t *watch, zc_client_t *client, const char *config, const char *job_id,
               int64_t deadline)
{
    *watch = (s_watch_t) { .client = client, .config = config, .job_id = job_id, .deadline = deadline };
    struct sigaction action = { .sa_handler = s_on_interrupt };
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, &watch->saved_int);
    sigaction (SIGTERM, &action, &watch->saved_term);
}

//  The next line of the job, or NULL: at the deadline (*status left as
//  it is), when the cancel could not be asked for (said why), or when
//  the agent's connection broke (said why; *status ZC_EXIT_ZCNC).
static json_t *
s_watch_next (s_watch_t *watch, int *status)
{
    while (zclock_mono () < watch->deadline) {
        if (s_interrupted && !watch->cancelled) {
            watch->cancelled = true;
            if (s_send_cancel (watch->config, watch->job_id) != 0)
                return NULL;
            watch->deadline = zclock_mono () + S_CANCEL_WAIT_MS;
        }
        bool timed_out;
        char *error;
        json_t *line = zc_client_recv (watch->client, S_POLL_MS, &timed_out, &error);
        if (line)
            return line;
        if (!timed_out) {
            fprintf (stderr, "zcnc: %s\n", error);
            free (error);
            *status = ZC_EXIT_ZCNC;
            return NULL;
        }
    }
    return NULL;
}

static void
s_watch_end (s_watch_t *watch)
{
    sigaction (SIGINT, &watch->saved_int, NULL);
    sigaction (SIGTERM, &watch->saved_term, NULL);
}

//  The options of tail, cancel and cp: -c FILE, -t SECS (from 'min' to
//  S_TAIL_FOREVER; *seconds keeps its default without -t), --help.
//  Returns -1 to go on, or the exit status.
static int
s_options (int argc, char *argv [], const char *usage, const char **config, double *seconds, double min)
{
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "timeout", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "+c:ht:", options, NULL)) != -1) {
        switch (option) {
            case 'c': *config = optarg; break;
            case 't':
                if ((*seconds = zc_cli_seconds (optarg)) < min || *seconds > S_TAIL_FOREVER) {
                    zc_cli_usage_error (usage, "-t wants a number of seconds from %g to %d, not '%s'",
                                        min, S_TAIL_FOREVER, optarg);
                    return ZC_EXIT_USAGE;
                }
                break;
            case 'h':
            default:
                return zc_cli_help_or_usage (usage, option);
        }
    }
    return -1;
}

static const char *s_tail_usage = "zcnc tail [-c FILE] [-t SECS] NODE:PATH";

int
zc_cli_tail (int argc, char *argv [])
{
    const char *config = NULL;
    double seconds = 0;
    int status = s_options (argc, argv, s_tail_usage, &config, &seconds, 0.1);
    if (status >= 0)
        return status;
    if (optind + 1 != argc) {
        zc_cli_usage_error (s_tail_usage, optind < argc? "tail takes one NODE:PATH": "tail needs NODE:PATH");
        return ZC_EXIT_USAGE;
    }
    const char *spec = argv [optind];
    const char *colon = strchr (spec, ':');
    if (!colon || colon == spec || !colon [1]) {
        zc_cli_usage_error (s_tail_usage, "'%s' is not NODE:PATH", spec);
        return ZC_EXIT_USAGE;
    }
    char node [ZC_NAME_SIZE + 1];
    snprintf (node, sizeof node, "%.*s", (int) (colon - spec) < ZC_NAME_SIZE? (int) (colon - spec): ZC_NAME_SIZE,
              spec);
    if ((size_t) (colon - spec) >= sizeof node - 1 || !zc_target_is_single (node)) {
        zc_cli_usage_error (s_tail_usage, "tail follows a file on one node: '%.*s' is not a node name",
                            (int) (colon - spec), spec);
        return ZC_EXIT_USAGE;
    }
    double timeout = seconds? seconds: S_TAIL_FOREVER;
    zc_client_t *client = zc_cli_connect (config);
    if (!client)
        return ZC_EXIT_ZCNC;
    json_t *request = json_pack ("{s:s, s:s, s:[s], s:f, s:f}", "to", node, "method", "tail",
                                 "args", colon + 1, "method_timeout", timeout, "wait", timeout + 30);
    json_t *answer = zc_cli_request (client, request, ZC_CLI_MARGIN_MS);
    json_decref (request);
    status = answer? zc_cli_answer_error (answer, NULL): ZC_EXIT_ZCNC;
    const char *id = json_string_value (json_object_get (json_array_get (json_object_get (answer, "ids"), 0), "id"));
    if (!status && !id) {
        fprintf (stderr, "zcnc: the agent's answer names no job\n");
        status = ZC_EXIT_ZCNC;
    }
    if (status) {
        json_decref (answer);
        zc_client_destroy (&client);
        return status;
    }
    char job_id [ZC_JOB_ID_MAX];
    snprintf (job_id, sizeof job_id, "%s", id);
    json_decref (answer);

    //  Ctrl-C cancels the remote job; its end then still comes here.
    s_watch_t watch;
    s_watch_begin (&watch, client, config, job_id,
                   zclock_mono () + (int64_t) (timeout * 1000) + 30000 + ZC_CLI_MARGIN_MS);
    status = ZC_EXIT_TIMEOUT;
    json_t *line;
    while ((line = s_watch_next (&watch, &status))) {
        if (json_object_get (line, "stream")) {
            const char *stream = json_string_value (json_object_get (line, "stream"));
            FILE *out = stream && streq (stream, "stderr")? stderr: stdout;
            size_t size;
            uint8_t *bytes = zc_cli_job_output (line, "data", &size);
            fwrite (bytes, 1, size, out);
            fflush (out);
            free (bytes);
        }
        else
        if (json_object_get (line, "state")) {
            const char *state = json_string_value (json_object_get (line, "state"));
            const char *error_text = json_string_value (json_object_get (line, "error"));
            if (state && streq (state, "done"))
                status = 0;
            else
            if (state && streq (state, "cancelled") && watch.cancelled)
                status = 130;       //  as a shell reports SIGINT
            else {
                fprintf (stderr, "zcnc: %s: %s%s%s\n", node, state? state: "?",
                         error_text? ": ": "", error_text? error_text: "");
                status = state && streq (state, "denied")? ZC_EXIT_REFUSED: 1;
            }
        }
        else
        if (json_object_get (line, "end")) {
            json_decref (line);
            break;
        }
        json_decref (line);
    }
    if (status == ZC_EXIT_TIMEOUT)
        fprintf (stderr, "zcnc: %s did not end in time (see: zcnc jobs %s)\n", job_id, job_id);
    s_watch_end (&watch);
    zc_client_destroy (&client);
    return status;
}

static const char *s_cancel_usage = "zcnc cancel [-c FILE] [-t SECS] ID";

int
zc_cli_cancel (int argc, char *argv [])
{
    const char *config = NULL;
    double timeout = 30;
    int status = s_options (argc, argv, s_cancel_usage, &config, &timeout, 0);
    if (status >= 0)
        return status;
    if (optind + 1 != argc) {
        zc_cli_usage_error (s_cancel_usage, optind < argc? "cancel takes one job ID": "cancel needs a job ID");
        return ZC_EXIT_USAGE;
    }
    const char *id = argv [optind];
    zc_client_t *client = zc_cli_connect (config);
    if (!client)
        return ZC_EXIT_ZCNC;
    json_t *request = json_pack ("{s:s, s:s, s:f}", "op", "cancel", "id", id, "wait", timeout);
    json_t *answer = zc_cli_request (client, request, ZC_CLI_MARGIN_MS);
    json_decref (request);
    status = answer? zc_cli_answer_error (answer, NULL): ZC_EXIT_ZCNC;
    if (status || json_object_get (answer, "cancelled")) {
        if (!status)
            printf ("%s: cancelled here; it had not left this agent\n", id);
        json_decref (answer);
        zc_client_destroy (&client);
        return status;
    }
    const char *node = json_string_value (json_object_get (answer, "node"));
    char cancel_id [ZC_JOB_ID_MAX];
    snprintf (cancel_id, sizeof cancel_id, "%s", json_string_value (json_object_get (answer, "cancel_id")));
    json_decref (answer);
    //  The cancel job's result says what its target did.
    status = ZC_EXIT_TIMEOUT;
    while (true) {
        bool timed_out;
        char *error;
        json_t *line = zc_client_recv (client, (int) (timeout * 1000) + ZC_CLI_MARGIN_MS, &timed_out, &error);
        if (!line) {
            fprintf (stderr, "zcnc: %s\n", timed_out? "the agent did not answer in time": error);
            free (error);
            status = ZC_EXIT_ZCNC;
            break;
        }
        if (json_object_get (line, "end")) {
            if (status == ZC_EXIT_TIMEOUT)
                fprintf (stderr, "zcnc: %s did not answer within %g s; the cancel stays queued as %s\n",
                         node? node: "the target", timeout, cancel_id);
            json_decref (line);
            break;
        }
        const char *state = json_string_value (json_object_get (line, "state"));
        const char *error_text = json_string_value (json_object_get (line, "error"));
        size_t size;
        uint8_t *bytes = zc_cli_job_output (line, "stdout", &size);
        fwrite (bytes, 1, size, stdout);
        free (bytes);
        if (state && streq (state, "done"))
            status = 0;
        else {
            fprintf (stderr, "zcnc: %s%s%s\n", state? state: "?", error_text? ": ": "",
                     error_text? error_text: "");
            status = state && streq (state, "denied")? ZC_EXIT_REFUSED: 1;
        }
        json_decref (line);
    }
    zc_client_destroy (&client);
    return status;
}

//  ---------------------------------------------------------------------
//  zcnc cp

static const char *s_cp_usage = "zcnc cp [-c FILE] [-t SECS] SRC DST";

//  One end of a copy: NODE:PATH, or a local path (node NULL). The path
//  is malloc'd.
typedef struct {
    char node [ZC_NAME_SIZE];
    char *path;
    bool remote;
} s_end_t;

//  Splits SRC or DST. NODE:PATH when what comes before the first ':' is
//  a node name (so ./a:b or /x:y are local paths).
static void
s_split_end (const char *text, s_end_t *end)
{
    const char *colon = strchr (text, ':');
    size_t length = colon? (size_t) (colon - text): 0;
    if (colon && length > 0 && length < ZC_NAME_SIZE) {
        snprintf (end->node, sizeof end->node, "%.*s", (int) length, text);
        if (zc_name_valid (end->node)) {
            end->remote = true;
            end->path = zc_strdup (colon + 1);
            return;
        }
    }
    end->node [0] = 0;
    end->remote = false;
    end->path = zc_strdup (text);
}

//  A local path made absolute (its directory must exist). NULL after
//  printing why.
static char *
s_local_absolute (const char *path)
{
    char *copy = zc_strdup (path), *copy2 = zc_strdup (path);
    char *dir = dirname (copy), *base = basename (copy2);
    char *real = realpath (dir, NULL);
    char *result = NULL;
    if (!real)
        fprintf (stderr, "zcnc: %s: %s\n", dir, strerror (errno));
    else
        result = zsys_sprintf ("%s/%s", streq (real, "/")? "": real, base);
    free (real);
    free (copy);
    free (copy2);
    return result;
}

//  Draws "STORED / TOTAL  RATE  ETA" on a terminal, over itself.
static void
s_draw_progress (uint64_t stored, uint64_t total, int64_t started, uint64_t first)
{
    double seconds = (double) (zclock_mono () - started) / 1000.0;
    double rate = seconds > 0.2? (double) (stored - first) / seconds: 0;
    char eta [32] = "--:--";
    if (rate > 0 && total >= stored) {
        uint64_t left = (uint64_t) ((double) (total - stored) / rate);
        snprintf (eta, sizeof eta, "%" PRIu64 ":%02" PRIu64, left / 60, left % 60);
    }
    printf ("\r%9.1f / %.1f MiB  %7.1f MiB/s  ETA %s   ", (double) stored / 1048576.0,
            (double) total / 1048576.0, rate / 1048576.0, eta);
    fflush (stdout);
}

int
zc_cli_cp (int argc, char *argv [])
{
    const char *config = NULL;
    double timeout = 3600;
    int status = s_options (argc, argv, s_cp_usage, &config, &timeout, 1);
    if (status >= 0)
        return status;
    if (argc - optind != 2) {
        zc_cli_usage_error (s_cp_usage, "cp takes SRC and DST");
        return ZC_EXIT_USAGE;
    }
    s_end_t src, dst;
    s_split_end (argv [optind], &src);
    s_split_end (argv [optind + 1], &dst);
    status = 0;
    zc_client_t *client = NULL;
    json_t *answer = NULL;
    if (!src.remote && !dst.remote) {
        zc_cli_usage_error (s_cp_usage, "one of SRC and DST must be NODE:PATH (cp copies between nodes)");
        status = ZC_EXIT_USAGE;
    }
    else
    if (!*src.path || !*dst.path) {
        zc_cli_usage_error (s_cp_usage, "SRC and DST need a path");
        status = ZC_EXIT_USAGE;
    }
    if (!status && (!src.remote || !dst.remote)) {
        //  The local end is this agent's node.
        client = zc_cli_connect (config);
        json_t *request = json_pack ("{s:s}", "op", "status");
        answer = client? zc_cli_request (client, request, ZC_CLI_MARGIN_MS): NULL;
        json_decref (request);
        const char *name = json_string_value (json_object_get (answer, "name"));
        if (!name)
            status = ZC_EXIT_ZCNC;
        else {
            s_end_t *local = src.remote? &dst: &src;
            snprintf (local->node, sizeof local->node, "%s", name);
            struct stat st;
            if (local == &dst && stat (dst.path, &st) == 0 && S_ISDIR (st.st_mode)
            &&  dst.path [strlen (dst.path) - 1] != '/') {
                char *slashed = zsys_sprintf ("%s/", dst.path);
                free (dst.path);
                dst.path = slashed;
            }
            bool into = local->path [strlen (local->path) - 1] == '/';
            char *absolute = s_local_absolute (local->path);
            if (absolute && into) {
                char *slashed = zsys_sprintf ("%s/", absolute);
                free (absolute);
                absolute = slashed;
            }
            free (local->path);
            local->path = absolute;
            if (!absolute)
                status = ZC_EXIT_USAGE;
        }
        json_decref (answer);
        answer = NULL;
    }
    if (!status && (src.path [0] != '/' || dst.path [0] != '/')) {
        zc_cli_usage_error (s_cp_usage, "a node's path must be absolute: %s",
                            src.path [0] != '/'? argv [optind]: argv [optind + 1]);
        status = ZC_EXIT_USAGE;
    }
    if (!status && dst.path [strlen (dst.path) - 1] == '/') {
        //  Into a directory: under the source's name.
        char *copy = zc_strdup (src.path);
        char *joined = zsys_sprintf ("%s%s", dst.path, basename (copy));
        free (copy);
        free (dst.path);
        dst.path = joined;
    }
    if (!status && !client && !(client = zc_cli_connect (config)))
        status = ZC_EXIT_ZCNC;
    char job_id [ZC_JOB_ID_MAX] = "";
    if (!status) {
        json_t *request = json_pack ("{s:s, s:s, s:[s,s,s], s:f, s:f}", "to", src.node, "method", "copy",
                                     "args", src.path, dst.node, dst.path,
                                     "method_timeout", (double) S_TAIL_FOREVER, "wait", timeout);
        answer = zc_cli_request (client, request, ZC_CLI_MARGIN_MS);
        json_decref (request);
        status = answer? zc_cli_answer_error (answer, NULL): ZC_EXIT_ZCNC;
        const char *id = json_string_value (json_object_get (json_array_get (json_object_get (answer, "ids"), 0), "id"));
        if (!status && id)
            snprintf (job_id, sizeof job_id, "%s", id);
        json_decref (answer);
    }
    bool tty = isatty (STDOUT_FILENO);
    int64_t started = zclock_mono ();
    s_watch_t watch;
    s_watch_begin (&watch, client, config, job_id, started + (int64_t) (timeout * 1000) + ZC_CLI_MARGIN_MS);
    uint64_t first = UINT64_MAX;
    bool drawn = false;
    if (!status && *job_id)
        status = ZC_EXIT_TIMEOUT;
    json_t *line;
    while (*job_id && status == ZC_EXIT_TIMEOUT && (line = s_watch_next (&watch, &status))) {
        if (json_object_get (line, "stream")) {
            //  Progress lines: {"stored": N, "total": T}.
            size_t size;
            uint8_t *bytes = zc_cli_job_output (line, "data", &size);
            char *text = bytes? zsys_sprintf ("%.*s", (int) size, bytes): NULL;
            for (char *item = text? strtok (text, "\n"): NULL; item; item = strtok (NULL, "\n")) {
                json_t *progress = json_loads (item, 0, NULL);
                json_int_t stored = json_integer_value (json_object_get (progress, "stored"));
                json_int_t total = json_integer_value (json_object_get (progress, "total"));
                if (first == UINT64_MAX)
                    first = (uint64_t) stored;
                if (tty && progress) {
                    s_draw_progress ((uint64_t) stored, (uint64_t) total, started, first);
                    drawn = true;
                }
                json_decref (progress);
            }
            free (text);
            free (bytes);
        }
        else
        if (json_object_get (line, "state")) {
            const char *state = json_string_value (json_object_get (line, "state"));
            const char *error_text = json_string_value (json_object_get (line, "error"));
            if (drawn)
                printf ("\n");
            size_t size;
            uint8_t *bytes = zc_cli_job_output (line, "stdout", &size);
            if (state && streq (state, "done")) {
                fwrite (bytes, 1, size, stdout);
                status = 0;
            }
            else {
                fprintf (stderr, "zcnc: %s: %s%s%s\n", src.node, state? state: "?",
                         error_text? ": ": "", error_text? error_text: "");
                status = state && streq (state, "denied")? ZC_EXIT_REFUSED
                       : state && streq (state, "cancelled") && watch.cancelled? 130: 1;
            }
            free (bytes);
        }
        else
        if (json_object_get (line, "end")) {
            json_decref (line);
            break;
        }
        json_decref (line);
    }
    if (status == ZC_EXIT_TIMEOUT)
        fprintf (stderr, "zcnc: the copy did not end within %g s; it goes on as %s (see: zcnc jobs %s)\n",
                 timeout, job_id, job_id);
    s_watch_end (&watch);
    zc_client_destroy (&client);
    free (src.path);
    free (dst.path);
    return status;
}
