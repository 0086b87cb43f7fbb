/*  cli.c — the client commands: thin clients of the agent socket.

    Each command parses its options, sends its request (send: one per
    message), prints what comes back and returns SPEC.md's exit status.
*/
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "prelude.h"
#include "cli.h"
#include "client.h"
#include "config.h"
#include "facts.h"
#include "keys.h"
#include "lateopts.h"
#include "meshdot.h"
#include "message.h"
#include "prefixer.h"
#include "target.h"
#include "term.h"

//  Margin over a server-side wait before the client gives up on the agent.
#define S_CLIENT_MARGIN_MS ZC_CLI_MARGIN_MS

static void s_print_json_lines (json_t *array);

void
zc_cli_usage_error (const char *usage, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "zcnc: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\nusage: %s\n", usage);
    va_end (args);
}

int
zc_cli_help_or_usage (const char *usage, int option)
{
    if (option == 'h') {
        printf ("usage: %s\n", usage);
        return 0;
    }
    fprintf (stderr, "usage: %s\n", usage);
    return ZC_EXIT_USAGE;
}

//  Parses a number of seconds for -t. -1 when it is not one.
double
zc_cli_seconds (const char *text)
{
    char *end;
    double value = strtod (text, &end);
    if (end == text || *end || !isfinite (value) || value < 0 || value > 30 * 86400)
        return -1;
    return value;
}

//  Connects to the agent named by the config (-c FILE / $ZCNC_CONFIG /
//  the default). NULL after printing why.
zc_client_t *
zc_cli_connect (const char *config_option)
{
    const char *path = zc_config_path (config_option, ZC_ROLE_CLIENT);
    char *error = NULL;
    zc_config_t *config = zc_config_load (path, ZC_ROLE_CLIENT, &error);
    if (!config) {
        fprintf (stderr, "zcnc: %s\n", error);
        free (error);
        return NULL;
    }
    zc_client_t *client = zc_client_new (config->socket, &error);
    if (!client) {
        fprintf (stderr, "zcnc: %s\n", error);
        free (error);
    }
    zc_config_destroy (&config);
    return client;
}

//  Sends a request and reads its first answer. NULL after printing why.
json_t *
zc_cli_request (zc_client_t *client, json_t *request, int timeout_ms)
{
    if (zc_client_send (client, request) != 0) {
        fprintf (stderr, "zcnc: cannot write to the agent socket\n");
        return NULL;
    }
    bool timed_out;
    char *error;
    json_t *answer = zc_client_recv (client, timeout_ms, &timed_out, &error);
    if (!answer) {
        fprintf (stderr, "zcnc: %s\n", timed_out? "the agent did not answer in time": error);
        free (error);
    }
    return answer;
}

//  An {"error": ...} answer: prints it (after 'context' and a colon when
//  context is not NULL) and returns the exit status for its code; 0 when
//  the answer is not an error.
int
zc_cli_answer_error (json_t *answer, const char *context)
{
    const char *error = json_string_value (json_object_get (answer, "error"));
    if (!error)
        return 0;
    const char *code = json_string_value (json_object_get (answer, "code"));
    if (context)
        fprintf (stderr, "zcnc: %s: %s\n", context, error);
    else
        fprintf (stderr, "zcnc: %s\n", error);
    if (code && streq (code, "nomatch"))
        return ZC_EXIT_NOMATCH;
    if (code && streq (code, "usage"))
        return ZC_EXIT_USAGE;
    if (code && streq (code, "denied"))
        return ZC_EXIT_REFUSED;
    return ZC_EXIT_ZCNC;
}

//  Decodes a job's stdout or stderr: the text field, or its _b64 twin.
//  Returns a malloc'd buffer (NULL when empty) and its size.
uint8_t *
zc_cli_job_output (json_t *job, const char *name, size_t *size)
{
    *size = 0;
    json_t *text = json_object_get (job, name);
    if (json_is_string (text)) {
        *size = json_string_length (text);
        uint8_t *bytes = zc_malloc (*size + 1);
        memcpy (bytes, json_string_value (text), *size);
        return bytes;
    }
    char key [32];
    snprintf (key, sizeof key, "%s_b64", name);
    const char *encoded = json_string_value (json_object_get (job, key));
    if (!encoded)
        return NULL;
    size_t length = strlen (encoded);
    uint8_t *bytes = zc_malloc (length / 4 * 3 + 3);
    if (sodium_base642bin (bytes, length / 4 * 3 + 3, encoded, length, NULL, size, NULL,
                           sodium_base64_VARIANT_ORIGINAL) != 0)
        *size = 0;
    return bytes;
}

//  Writes output with each line prefixed "NODE: ", so lines of different
//  nodes never mix within a line; a last line without newline gets one.
//  On a terminal the prefix is painted with the job's outcome.
static void
s_write_prefixed (FILE *stream, const char *node, zc_paint_t paint, const uint8_t *bytes, size_t size)
{
    zc_term_mode_t mode = zc_term_mode (stream);
    size_t start = 0;
    while (start < size) {
        const uint8_t *newline = memchr (bytes + start, '\n', size - start);
        size_t end = newline? (size_t) (newline - bytes): size;
        fprintf (stream, "%s%s:%s ", zc_term_on (mode, paint), node, zc_term_off (mode, paint));
        fwrite (bytes + start, 1, end - start, stream);
        fputc ('\n', stream);
        start = end + 1;
    }
    fflush (stream);
}

//  What the outcome of one job means for the exit status, before the
//  precedence rules: the remote exit status, or a zcnc status.
typedef struct {
    bool refused, timed_out, failed;
    int remote;                 //  remote exit status, or -1
} s_outcome_t;

//  How answers are printed: raw or prefixed, as JSON, and for output
//  that streams, where partial lines wait; on a terminal, the progress
//  line of a fan-out and what it counts.
typedef struct {
    bool raw, as_json;
    zc_prefixer_t *prefixer;    //  streaming: prefixed output; NULL otherwise
    bool streamed;              //  the output came in chunks: not again with the result
    zc_progress_t *progress;    //  NULL: none (not a terminal, one exact name)
    size_t total, answered, failed;
} s_printing_t;

//  Prints "zcnc: NODE: STATE: ERROR" on stderr, the state painted.
static void
s_print_job_error (const char *node, const char *state, const char *error)
{
    zc_term_mode_t mode = zc_term_mode (stderr);
    fprintf (stderr, "zcnc: %s: %s%s%s: %s\n", node, zc_term_on (mode, ZC_PAINT_BAD), state,
             zc_term_off (mode, ZC_PAINT_BAD), error);
}

//  Seconds on the monotonic clock, for the progress line.
static double
s_now (void)
{
    return zclock_mono () / 1000.0;
}

//  Prints a chunk of streamed output {"id", "node", "stream", "data"}.
static void
s_print_chunk (json_t *chunk, s_printing_t *printing)
{
    if (printing->as_json) {
        char *line = json_dumps (chunk, JSON_COMPACT);
        printf ("%s\n", line);
        fflush (stdout);
        free (line);
        return;
    }
    const char *node = json_string_value (json_object_get (chunk, "node"));
    const char *stream = json_string_value (json_object_get (chunk, "stream"));
    bool to_err = stream && streq (stream, "stderr");
    size_t size;
    uint8_t *bytes = zc_cli_job_output (chunk, "data", &size);
    if (printing->raw) {
        fwrite (bytes, 1, size, to_err? stderr: stdout);
        fflush (to_err? stderr: stdout);
    }
    else
    if (printing->prefixer)
        zc_prefixer_write (printing->prefixer, node? node: "?", to_err, bytes, size);
    free (bytes);
}

//  Prints one finished job in the chosen mode and notes its outcome.
static void
s_print_result (json_t *job, s_printing_t *printing, s_outcome_t *outcome)
{
    bool raw = printing->raw, as_json = printing->as_json;
    const char *node = json_string_value (json_object_get (job, "node"));
    const char *state = json_string_value (json_object_get (job, "state"));
    const char *error = json_string_value (json_object_get (job, "error"));
    json_t *exit_value = json_object_get (job, "exit");
    node = node? node: "?";
    state = state? state: "?";
    if (as_json) {
        char *line = json_dumps (job, JSON_COMPACT | JSON_REAL_PRECISION (13));
        printf ("%s\n", line);
        fflush (stdout);
        free (line);
    }
    else
    if (printing->streamed) {
        if (printing->prefixer)
            zc_prefixer_flush (printing->prefixer, node);
        if (error)
            s_print_job_error (node, state, error);
    }
    else {
        size_t out_size, err_size;
        uint8_t *out = zc_cli_job_output (job, "stdout", &out_size);
        uint8_t *err = zc_cli_job_output (job, "stderr", &err_size);
        if (raw) {
            fwrite (out, 1, out_size, stdout);
            fflush (stdout);
            fwrite (err, 1, err_size, stderr);
            fflush (stderr);
        }
        else {
            zc_paint_t paint = zc_term_state_paint (state, json_is_integer (exit_value)?
                                                    (int) json_integer_value (exit_value): -1);
            s_write_prefixed (stdout, node, paint, out, out_size);
            s_write_prefixed (stderr, node, paint, err, err_size);
        }
        free (out);
        free (err);
        if (error)
            s_print_job_error (node, state, error);
    }
    printing->answered++;
    if (!streq (state, "done") || (json_is_integer (exit_value) && json_integer_value (exit_value) != 0))
        printing->failed++;
    if (streq (state, "denied"))
        outcome->refused = true;
    else
    if (streq (state, "expired"))
        outcome->timed_out = true;
    else
    if (json_is_integer (exit_value)) {
        int status = (int) json_integer_value (exit_value);
        if (outcome->remote < status)
            outcome->remote = status;
    }
    else
    if (!streq (state, "done"))
        outcome->failed = true;
}

//  Reads the answers of a request sent with "wait": prints each job as it
//  comes (see s_print_job), then, from the "end" line, each job still
//  without a result. Returns 0, or -1 after printing why when the agent
//  did not answer.
//  With a progress line, it is redrawn every 0.2 s and after each result,
//  and cleared before anything else is printed.
static int
s_wait_results (zc_client_t *client, double timeout, s_printing_t *printing, s_outcome_t *outcome)
{
    int64_t deadline = zclock_mono () + (int64_t) (timeout * 1000) + S_CLIENT_MARGIN_MS;
    while (true) {
        bool timed_out;
        char *error;
        int64_t left = deadline - zclock_mono ();
        int wait_ms = left > 0? (int) left: 0;
        if (printing->progress && wait_ms > 200)
            wait_ms = 200;
        zc_progress_draw (printing->progress, printing->total, printing->answered, printing->failed, s_now ());
        json_t *line = zc_client_recv (client, wait_ms, &timed_out, &error);
        if (!line && timed_out && zclock_mono () < deadline)
            continue;
        zc_progress_clear (printing->progress);
        if (!line) {
            fprintf (stderr, "zcnc: %s\n", timed_out? "the agent did not answer in time": error);
            free (error);
            return -1;
        }
        if (json_object_get (line, "end")) {
            size_t index;
            json_t *item;
            zc_term_mode_t mode = zc_term_mode (stderr);
            json_array_foreach (json_object_get (line, "pending"), index, item) {
                fprintf (stderr, "zcnc: no answer within %g s; %s %sstays queued%s (see: zcnc jobs %s)\n",
                         timeout, json_string_value (item), zc_term_on (mode, ZC_PAINT_WAIT),
                         zc_term_off (mode, ZC_PAINT_WAIT), json_string_value (item));
                outcome->timed_out = true;
            }
            json_decref (line);
            return 0;
        }
        if (json_object_get (line, "stream"))
            s_print_chunk (line, printing);
        else
            s_print_result (line, printing, outcome);
        json_decref (line);
    }
}

//  Reports on stderr the exact names of an {"ids", "unknown"} answer
//  that were never seen, with the job each got (the first: a schedule
//  gives a name a job per run).
static void
s_report_unknown (json_t *answer)
{
    json_t *ids = json_object_get (answer, "ids");
    size_t index;
    json_t *item;
    json_array_foreach (json_object_get (answer, "unknown"), index, item) {
        const char *name = json_string_value (item);
        size_t id_index;
        json_t *id;
        json_array_foreach (ids, id_index, id)
            if (name && streq (name, json_string_value (json_object_get (id, "node")))) {
                fprintf (stderr, "zcnc: %s: never seen; queued as %s\n", name,
                         json_string_value (json_object_get (id, "id")));
                break;
            }
    }
}

//  What trigger and call share: their options, and the request's fate.
typedef struct {
    const char *config;
    bool async, as_json;
    bool stream;                //  trigger --stream: exec_stream, output as it comes
    double timeout;
    json_t *where;              //  {"KEY": "GLOB"} from --where, or NULL
    json_t *schedule;           //  [INTERVAL, TOTAL] from --schedule, or NULL
} s_job_options_t;

//  --schedule INTERVAL,TOTAL into options->schedule (the agent checks the
//  values). 0, or an exit status after printing why.
static int
s_schedule_option (s_job_options_t *options, const char *usage, const char *text)
{
    unsigned long interval, total;
    int used = 0;
    const char *comma = strchr (text, ',');
    if (!isdigit ((unsigned char) text [0]) || !comma || !isdigit ((unsigned char) comma [1])
    ||  sscanf (text, "%lu,%lu%n", &interval, &total, &used) != 2 || text [used]
    ||  interval > UINT32_MAX || total > UINT32_MAX) {
        zc_cli_usage_error (usage, "--schedule wants INTERVAL,TOTAL in whole seconds (a run every"
                            " INTERVAL while less than TOTAL passed), e.g. 60,3600; not '%s'", text);
        return ZC_EXIT_USAGE;
    }
    json_decref (options->schedule);
    options->schedule = json_pack ("[I, I]", (json_int_t) interval, (json_int_t) total);
    return 0;
}

//  Adds a --where KEY=GLOB to options->where. 0, or an exit status after
//  printing why.
static int
s_where_option (s_job_options_t *options, const char *usage, const char *item)
{
    const char *problem = zc_facts_where_problem (item);
    if (problem) {
        zc_cli_usage_error (usage, "bad --where '%s': %s", item, problem);
        return ZC_EXIT_USAGE;
    }
    char *key = zc_strdup (item);
    char *equals = strchr (key, '=');
    *equals = 0;
    if (!options->where)
        options->where = json_object ();
    int status = 0;
    if (json_object_get (options->where, key)) {
        zc_cli_usage_error (usage, "--where %s given twice (every --where must match: give one"
                            " glob per key, e.g. '%s=[ab]*')", key, key);
        status = ZC_EXIT_USAGE;
    }
    else
    if (json_object_size (options->where) == ZC_FACTS_MAX_WHERE) {
        zc_cli_usage_error (usage, "more than %d --where", ZC_FACTS_MAX_WHERE);
        status = ZC_EXIT_USAGE;
    }
    else
        json_object_set_new (options->where, key, json_string (equals + 1));
    free (key);
    return status;
}

//  Parses the options of trigger and call: -c FILE, -t SECS, --async,
//  --json, --schedule INTERVAL,TOTAL, --stream, --where KEY=GLOB
//  (repeatable), --help. Options end at the first operand (a call's
//  arguments may look like options). Returns -1 to go on, or an exit
//  status.
static int
s_job_options (int argc, char *argv [], const char *usage, s_job_options_t *options)
{
    static struct option table [] = {
        { "async", no_argument, NULL, 'a' },
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { "schedule", required_argument, NULL, 'S' },
        { "stream", no_argument, NULL, 's' },
        { "timeout", required_argument, NULL, 't' },
        { "where", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 }
    };
    *options = (s_job_options_t) { .timeout = 60 };
    int option, status;
    optind = 1;
    while ((option = getopt_long (argc, argv, "+c:ht:", table, NULL)) != -1) {
        switch (option) {
            case 'a': options->async = true; break;
            case 'c': options->config = optarg; break;
            case 'j': options->as_json = true; break;
            case 's': options->stream = true; break;
            case 't':
                if ((options->timeout = zc_cli_seconds (optarg)) < 0) {
                    zc_cli_usage_error (usage, "-t wants a number of seconds, not '%s'", optarg);
                    return ZC_EXIT_USAGE;
                }
                break;
            case 'w':
                if ((status = s_where_option (options, usage, optarg)) != 0)
                    return status;
                break;
            case 'S':
                if ((status = s_schedule_option (options, usage, optarg)) != 0)
                    return status;
                break;
            case 'h':
            default:
                return zc_cli_help_or_usage (usage, option);
        }
    }
    return -1;
}

//  A trigger's or call's exit status from what its results said: a
//  refusal first, then a timeout; one exact name (raw) exits with the
//  remote status, several with 1 when any failed.
static int
s_outcome_status (const s_outcome_t *outcome, bool raw)
{
    if (outcome->refused)
        return ZC_EXIT_REFUSED;
    if (outcome->timed_out)
        return ZC_EXIT_TIMEOUT;
    if (raw)
        return outcome->remote >= 0? outcome->remote: 1;
    return outcome->failed || outcome->remote > 0? 1: 0;
}

//  Sends a job's request (its "to", "method" and "args"; taken) with
//  the options' "where", and prints what comes back as trigger does:
//  raw for one exact name, prefixed otherwise, or JSON; the job IDs with
//  --async. Returns the exit status of SPEC.md.
static int
s_run_job (s_job_options_t *options, json_t *request)
{
    if (!request) {
        //  jansson takes UTF-8 only, and so does the socket.
        fprintf (stderr, "zcnc: the target, command or an argument is not valid UTF-8\n");
        return ZC_EXIT_USAGE;
    }
    const char *target = json_string_value (json_object_get (request, "to"));
    bool raw = zc_target_is_single (target);
    zc_client_t *client = zc_cli_connect (options->config);
    if (!client) {
        json_decref (request);
        return ZC_EXIT_ZCNC;
    }
    if (options->where)
        json_object_set (request, "where", options->where);
    if (options->schedule)
        json_object_set (request, "schedule", options->schedule);
    if (!options->async)
        json_object_set_new (request, "wait", json_real (options->timeout));
    json_t *answer = zc_cli_request (client, request, S_CLIENT_MARGIN_MS);
    json_decref (request);
    int status = answer? zc_cli_answer_error (answer, NULL): ZC_EXIT_ZCNC;
    if (status) {
        json_decref (answer);
        zc_client_destroy (&client);
        return status;
    }
    json_t *ids = json_object_get (answer, "ids");
    s_report_unknown (answer);
    if (options->async) {
        size_t index;
        json_t *item;
        //  With --json, each {"node", "id"} as a line.
        if (options->as_json)
            s_print_json_lines (ids);
        else
            json_array_foreach (ids, index, item)
                printf ("%s\n", json_string_value (json_object_get (item, "id")));
        json_decref (answer);
        zc_client_destroy (&client);
        return 0;
    }

    s_outcome_t outcome = { .remote = -1 };
    //  A fan-out (anything but one exact name) shows its progress on a
    //  terminal; one exact name's output is the remote one, unchanged.
    s_printing_t printing = {
        .raw = raw, .as_json = options->as_json, .streamed = options->stream,
        .prefixer = options->stream && !raw && !options->as_json? zc_prefixer_new (stdout, stderr): NULL,
        .progress = raw? NULL: zc_progress_new (stderr, zc_term_mode (stderr), s_now ()),
        .total = json_array_size (ids)
    };
    json_decref (answer);
    bool complete = s_wait_results (client, options->timeout, &printing, &outcome) == 0;
    zc_progress_destroy (&printing.progress);
    zc_prefixer_destroy (&printing.prefixer);
    zc_client_destroy (&client);
    return complete? s_outcome_status (&outcome, raw): ZC_EXIT_ZCNC;
}

//  Appends a word to a command line, in single quotes when the shell
//  would read it otherwise.
static void
s_append_word (char **line, const char *word)
{
    bool plain = *word && strspn (word, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789,._+:@%/=-*?[]") == strlen (word);
    char *joined = zsys_sprintf ("%s%s%s%s%s", *line, **line? " ": "", plain? "": "'", word, plain? "": "'");
    free (*line);
    *line = joined;
}

//  The newcomer's trap (lateopts.h): warns on stderr when the words
//  from 'first_word' on end like zcnc's own options, which then go to
//  the target as part of the command (trigger) or as arguments (call);
//  the warning shows the command line that was probably meant. Not when
//  "--" came before the operands: that says the words are meant.
static void
s_warn_late_options (int argc, char *argv [], int first_word, bool call)
{
    if (optind > 1 && streq (argv [optind - 1], "--"))
        return;
    int late = zc_lateopts_find (argc - first_word, argv + first_word, call);
    if (late < 0)
        return;
    late += first_word;
    char *words = zc_strdup (""), *meant = zc_strdup ("zcnc");
    for (int arg = late; arg < argc; arg++)
        s_append_word (&words, argv [arg]);
    for (int arg = 0; arg < optind; arg++)
        s_append_word (&meant, argv [arg]);
    for (int arg = late; arg < argc; arg++)
        s_append_word (&meant, argv [arg]);
    for (int arg = optind; arg < late; arg++)
        s_append_word (&meant, argv [arg]);
    const char *operand = call? "TARGET": "TARGET:COMMAND";
    fprintf (stderr, "zcnc: warning: '%s' after %s goes to the target as %s; zcnc's options go first:"
             " %s (put -- before %s to send them without this warning)\n", words,
             call? "FUNCTION": "TARGET:COMMAND", call? "arguments of the function": "part of the command",
             meant, operand);
    free (words);
    free (meant);
}

static const char *s_trigger_usage =
    "zcnc trigger [-c FILE] [-t SECS] [--async] [--json] [--schedule INTERVAL,TOTAL] [--stream]\n"
    "                    [--where KEY=GLOB]... TARGET:COMMAND";

int
zc_cli_trigger (int argc, char *argv [])
{
    s_job_options_t options;
    int status = s_job_options (argc, argv, s_trigger_usage, &options);
    if (status >= 0) {
        json_decref (options.where);
        json_decref (options.schedule);
        return status;
    }
    if (optind >= argc) {
        zc_cli_usage_error (s_trigger_usage, "trigger needs TARGET:COMMAND");
        json_decref (options.where);
        json_decref (options.schedule);
        return ZC_EXIT_USAGE;
    }
    s_warn_late_options (argc, argv, optind + 1, false);
    //  Words after the first are joined with spaces, as ssh does.
    char *spec = zc_strdup (argv [optind]);
    for (int arg = optind + 1; arg < argc; arg++) {
        char *joined = zsys_sprintf ("%s %s", spec, argv [arg]);
        free (spec);
        spec = joined;
    }
    char *colon = strchr (spec, ':');
    if (!colon || colon == spec || !colon [1]) {
        zc_cli_usage_error (s_trigger_usage, "'%s' is not TARGET:COMMAND", spec);
        free (spec);
        json_decref (options.where);
        json_decref (options.schedule);
        return ZC_EXIT_USAGE;
    }
    *colon = 0;
    status = s_run_job (&options, json_pack ("{s:s, s:s, s:[s]}", "to", spec,
                                             "method", options.stream? "exec_stream": "exec",
                                             "args", colon + 1));
    free (spec);
    json_decref (options.where);
    json_decref (options.schedule);
    return status;
}

static const char *s_call_usage =
    "zcnc call [-c FILE] [-t SECS] [--async] [--json] [--schedule INTERVAL,TOTAL]\n"
    "                 [--where KEY=GLOB]... TARGET FUNCTION [ARG...]";

//  `zcnc call TARGET FUNCTION [ARG...]`: runs a named function of the
//  targets' configs (agent/function); the arguments are its "$1", "$2"...
int
zc_cli_call (int argc, char *argv [])
{
    s_job_options_t options;
    int status = s_job_options (argc, argv, s_call_usage, &options);
    if (status >= 0) {
        json_decref (options.where);
        json_decref (options.schedule);
        return status;
    }
    if (options.stream)
        zc_cli_usage_error (s_call_usage, "call has no --stream (a function's output comes when it ends)");
    else
    if (argc - optind < 2)
        zc_cli_usage_error (s_call_usage, "call needs TARGET and FUNCTION");
    else
    if (!zc_name_valid (argv [optind + 1]))
        zc_cli_usage_error (s_call_usage, "'%s' is not a function name ([A-Za-z0-9][A-Za-z0-9._-]{0,63})",
                            argv [optind + 1]);
    else
    if (argc - optind - 2 > 15)
        zc_cli_usage_error (s_call_usage, "call takes at most 15 ARGs, not %d", argc - optind - 2);
    else {
        s_warn_late_options (argc, argv, optind + 2, true);
        json_t *args = json_array ();
        for (int arg = optind + 1; arg < argc && args; arg++)
            if (json_array_append_new (args, json_string (argv [arg])) != 0) {
                json_decref (args);     //  not UTF-8: s_run_job says so
                args = NULL;
            }
        status = s_run_job (&options, json_pack ("{s:s, s:s, s:o}", "to", argv [optind], "method", "call",
                                                 "args", args));
        json_decref (options.where);
        json_decref (options.schedule);
        return status;
    }
    json_decref (options.where);
    json_decref (options.schedule);
    return ZC_EXIT_USAGE;
}

//  The largest input `zcnc send` reads, as for one socket line.
#define S_MAX_INPUT (64u << 20)

//  Reads a whole file, or stdin for "-". Returns a malloc'd buffer and
//  its size, or NULL after printing why.
static char *
s_read_input (const char *path, size_t *size)
{
    bool is_stdin = streq (path, "-");
    FILE *file = is_stdin? stdin: fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "zcnc: cannot open %s: %s\n", path, strerror (errno));
        return NULL;
    }
    //  One byte more than the limit tells an input that is too large.
    size_t max = 65536;
    char *buffer = zc_malloc (max);
    *size = 0;
    while (*size <= S_MAX_INPUT) {
        if (*size == max) {
            max = max * 2 > S_MAX_INPUT + 1? S_MAX_INPUT + 1: max * 2;
            buffer = zc_realloc (buffer, max);
        }
        size_t got = fread (buffer + *size, 1, max - *size, file);
        if (got == 0)
            break;
        *size += got;
    }
    const char *name = is_stdin? "standard input": path;
    bool failed = ferror (file) || *size > S_MAX_INPUT;
    if (ferror (file))
        fprintf (stderr, "zcnc: cannot read %s: %s\n", name, strerror (errno));
    else
    if (*size > S_MAX_INPUT)
        fprintf (stderr, "zcnc: %s is larger than 64 MiB (split it into several files)\n", name);
    if (!is_stdin)
        fclose (file);
    if (failed) {
        free (buffer);
        return NULL;
    }
    return buffer;
}

//  Of two exit statuses, the one that takes precedence (SPEC.md):
//  125, 2, 3, 126, 124, then any other failure, then 0.
static int
s_worse (int status, int other)
{
    static const int order [] = { ZC_EXIT_ZCNC, ZC_EXIT_USAGE, ZC_EXIT_NOMATCH,
                                  ZC_EXIT_REFUSED, ZC_EXIT_TIMEOUT };
    for (size_t index = 0; index < sizeof order / sizeof order [0]; index++)
        if (status == order [index] || other == order [index])
            return order [index];
    return status? status: other;
}

static const char *s_send_usage = "zcnc send [-c FILE] [-w] [-t SECS] [--json] [FILE|-]";

int
zc_cli_send (int argc, char *argv [])
{
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { "timeout", required_argument, NULL, 't' },
        { "wait", no_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 }
    };
    const char *config = NULL;
    bool wait = false, timeout_given = false, as_json = false;
    double timeout = 60;
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "c:ht:w", options, NULL)) != -1) {
        switch (option) {
            case 'c': config = optarg; break;
            case 'j': as_json = true; break;
            case 'w': wait = true; break;
            case 't':
                if ((timeout = zc_cli_seconds (optarg)) < 0) {
                    zc_cli_usage_error (s_send_usage, "-t wants a number of seconds, not '%s'", optarg);
                    return ZC_EXIT_USAGE;
                }
                timeout_given = true;
                break;
            case 'h':
            default:
                return zc_cli_help_or_usage (s_send_usage, option);
        }
    }
    if (optind + 1 < argc) {
        zc_cli_usage_error (s_send_usage, "send takes at most one FILE");
        return ZC_EXIT_USAGE;
    }
    if (timeout_given && !wait) {
        zc_cli_usage_error (s_send_usage, "-t is how long -w waits; give -w too");
        return ZC_EXIT_USAGE;
    }
    //  The whole input is read and split before anything is sent, so an
    //  input that does not parse sends nothing.
    const char *path = optind < argc? argv [optind]: "-";
    size_t size;
    char *text = s_read_input (path, &size);
    if (!text)
        return ZC_EXIT_USAGE;
    char *error;
    json_t *messages = zc_message_split (text, size, &error);
    free (text);
    if (!messages) {
        fprintf (stderr, "zcnc: %s: %s\n", streq (path, "-")? "standard input": path, error);
        free (error);
        return ZC_EXIT_USAGE;
    }
    zc_client_t *client = zc_cli_connect (config);
    if (!client) {
        json_decref (messages);
        return ZC_EXIT_ZCNC;
    }
    //  One request at a time: answers come in request order and a wait
    //  holds the connection, so request N+1 goes once N is answered.
    int status = 0;
    s_outcome_t outcome = { .remote = -1 };
    size_t index;
    json_t *message;
    json_array_foreach (messages, index, message) {
        char context [32];
        snprintf (context, sizeof context, "message %zu", index + 1);
        if (json_object_get (message, "wait")) {
            fprintf (stderr, "zcnc: %s: \"wait\" is not a message field (use zcnc send -w)\n", context);
            status = s_worse (status, ZC_EXIT_USAGE);
            continue;
        }
        if (wait)
            json_object_set_new (message, "wait", json_real (timeout));
        json_t *answer = zc_cli_request (client, message, S_CLIENT_MARGIN_MS);
        if (!answer) {
            status = ZC_EXIT_ZCNC;
            break;
        }
        int answer_status = zc_cli_answer_error (answer, context);
        if (answer_status) {
            json_decref (answer);
            status = s_worse (status, answer_status);
            continue;
        }
        json_t *ids = json_object_get (answer, "ids");
        if (!json_is_array (ids)) {
            //  Out of step: what follows cannot be matched to a request.
            fprintf (stderr, "zcnc: %s: unexpected answer from the agent\n", context);
            json_decref (answer);
            status = ZC_EXIT_ZCNC;
            break;
        }
        size_t id_index;
        json_t *id;
        if (as_json)
            s_print_json_lines (ids);
        else
            json_array_foreach (ids, id_index, id)
                printf ("%s %s\n", json_string_value (json_object_get (id, "id")),
                        json_string_value (json_object_get (id, "node")));
        fflush (stdout);
        s_report_unknown (answer);
        size_t targets = json_array_size (ids);
        json_decref (answer);
        if (!wait)
            continue;
        //  A message for more than one node shows trigger's progress line
        //  on a terminal while it waits.
        s_printing_t printing = {
            .as_json = true, .total = targets,
            .progress = targets > 1? zc_progress_new (stderr, zc_term_mode (stderr), s_now ()): NULL
        };
        int waited = s_wait_results (client, timeout, &printing, &outcome);
        zc_progress_destroy (&printing.progress);
        if (waited != 0) {
            status = ZC_EXIT_ZCNC;
            break;
        }
    }
    zc_client_destroy (&client);
    json_decref (messages);
    if (outcome.refused)
        status = s_worse (status, ZC_EXIT_REFUSED);
    if (outcome.timed_out)
        status = s_worse (status, ZC_EXIT_TIMEOUT);
    if (outcome.failed || outcome.remote > 0)
        status = s_worse (status, 1);
    return status;
}

//  Parses the options every simple query command shares:
//  -c FILE, --json, -t SECS (when timeout is non-NULL), --help.
//  Returns -1 to go on, or an exit status.
static int
s_query_options (int argc, char *argv [], const char *usage,
                 const char **config, bool *as_json, double *timeout)
{
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { "timeout", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, timeout? "+c:ht:": "+c:h", options, NULL)) != -1) {
        switch (option) {
            case 'c': *config = optarg; break;
            case 'j':
                if (!as_json) {
                    zc_cli_usage_error (usage, "this command has no --json");
                    return ZC_EXIT_USAGE;
                }
                *as_json = true;
                break;
            case 't':
                //  Only --timeout gets here when the command has no -t.
                if (!timeout) {
                    zc_cli_usage_error (usage, "this command has no --timeout");
                    return ZC_EXIT_USAGE;
                }
                if ((*timeout = zc_cli_seconds (optarg)) <= 0) {
                    zc_cli_usage_error (usage, "-t wants a positive number of seconds");
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

//  Runs a one-answer op and returns the answer, or NULL with *status set.
static json_t *
s_simple_op (const char *config, json_t *request, int timeout_ms, int *status)
{
    zc_client_t *client = zc_cli_connect (config);
    *status = ZC_EXIT_ZCNC;
    if (!client) {
        json_decref (request);
        return NULL;
    }
    json_t *answer = zc_cli_request (client, request, timeout_ms);
    json_decref (request);
    zc_client_destroy (&client);
    if (answer && (*status = zc_cli_answer_error (answer, NULL)) != 0) {
        json_decref (answer);
        return NULL;
    }
    if (!answer)
        *status = ZC_EXIT_ZCNC;
    return answer;
}

static void
s_print_json_lines (json_t *array)
{
    size_t index;
    json_t *item;
    json_array_foreach (array, index, item) {
        char *line = json_dumps (item, JSON_COMPACT | JSON_REAL_PRECISION (13));
        printf ("%s\n", line);
        free (line);
    }
}

static void
s_format_time (double seconds, char *out, size_t size)
{
    time_t when = (time_t) seconds;
    struct tm tm;
    gmtime_r (&when, &tm);
    strftime (out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

//  Prints a node's facts or functions on an indented line: KEY=VALUE
//  words (a value with a blank or a quote in JSON quotes), or names.
static void
s_print_advertised (json_t *node, bool facts)
{
    json_t *known = json_object_get (node, "facts");
    printf ("    %s:", facts? "facts": "functions");
    if (json_object_size (known) == 0) {
        printf (" (not reported)\n");
        return;
    }
    if (facts) {
        const char *key;
        json_t *value;
        json_object_foreach (known, key, value) {
            const char *text = json_string_value (value);
            if (text && *text && !strpbrk (text, " \"\\'")) {
                printf (" %s=%s", key, text);
                continue;
            }
            char *quoted = json_dumps (value, JSON_ENCODE_ANY);
            printf (" %s=%s", key, quoted? quoted: "\"\"");
            free (quoted);
        }
    }
    else {
        size_t index;
        json_t *name;
        json_array_foreach (json_object_get (node, "functions"), index, name)
            printf (" %s", json_string_value (name));
        if (json_array_size (json_object_get (node, "functions")) == 0)
            printf (" (none)");
    }
    printf ("\n");
}

//  `zcnc nodes --dot`: the mesh as this agent sees it, in Graphviz's
//  language (meshdot.h), from its status, its directory and its queue.
//  Returns the exit status.
static int
s_print_dot (const char *config)
{
    zc_client_t *client = zc_cli_connect (config);
    if (!client)
        return ZC_EXIT_ZCNC;
    json_t *answers [3] = { NULL, NULL, NULL };
    json_t *requests [3] = {
        json_pack ("{s:s}", "op", "status"),
        json_pack ("{s:s}", "op", "nodes"),
        json_pack ("{s:s, s:s}", "op", "queue", "action", "list")
    };
    int status = 0;
    for (int index = 0; index < 3 && !status; index++) {
        answers [index] = zc_cli_request (client, requests [index], S_CLIENT_MARGIN_MS);
        status = answers [index]? zc_cli_answer_error (answers [index], NULL): ZC_EXIT_ZCNC;
    }
    if (!status) {
        char *dot = zc_meshdot_render (answers [0], json_object_get (answers [1], "nodes"),
                                       json_object_get (answers [2], "jobs"));
        fputs (dot, stdout);
        free (dot);
    }
    for (int index = 0; index < 3; index++) {
        json_decref (requests [index]);
        json_decref (answers [index]);
    }
    zc_client_destroy (&client);
    return status;
}

int
zc_cli_nodes (int argc, char *argv [])
{
    static const char *usage = "zcnc nodes [-c FILE] [--dot] [--facts] [--functions] [--json]";
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "dot", no_argument, NULL, 'd' },
        { "facts", no_argument, NULL, 'f' },
        { "functions", no_argument, NULL, 'F' },
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    const char *config = NULL;
    bool as_json = false, facts = false, functions = false, as_dot = false;
    int option, status;
    optind = 1;
    while ((option = getopt_long (argc, argv, "+c:h", options, NULL)) != -1) {
        switch (option) {
            case 'c': config = optarg; break;
            case 'd': as_dot = true; break;
            case 'f': facts = true; break;
            case 'F': functions = true; break;
            case 'j': as_json = true; break;
            case 'h':
            default:
                return zc_cli_help_or_usage (usage, option);
        }
    }
    if (optind < argc) {
        zc_cli_usage_error (usage, "nodes takes no arguments");
        return ZC_EXIT_USAGE;
    }
    if (as_dot && (as_json || facts || functions)) {
        zc_cli_usage_error (usage, "--dot draws the mesh: not with --json, --facts or --functions");
        return ZC_EXIT_USAGE;
    }
    if (as_dot)
        return s_print_dot (config);
    json_t *answer = s_simple_op (config, json_pack ("{s:s}", "op", "nodes"), S_CLIENT_MARGIN_MS, &status);
    if (!answer)
        return status;
    json_t *nodes = json_object_get (answer, "nodes");
    if (as_json)
        s_print_json_lines (nodes);     //  with "facts" and "functions" always
    else {
        printf ("%-24s %-8s %-21s %s\n", "NAME", "STATE", "LAST SEEN", "VIA");
        zc_term_mode_t mode = zc_term_mode (stdout);
        size_t index;
        json_t *node;
        json_array_foreach (nodes, index, node) {
            char when [32];
            s_format_time (json_number_value (json_object_get (node, "last_seen")), when, sizeof when);
            bool online = json_is_true (json_object_get (node, "online"));
            printf ("%-24s ", json_string_value (json_object_get (node, "name")));
            zc_term_print (stdout, mode, online? ZC_PAINT_GOOD: ZC_PAINT_BAD, 8, online? "online": "offline");
            printf (" %-21s %s\n", when, json_string_value (json_object_get (node, "via")));
            if (facts)
                s_print_advertised (node, true);
            if (functions)
                s_print_advertised (node, false);
        }
    }
    json_decref (answer);
    return 0;
}

int
zc_cli_status (int argc, char *argv [])
{
    static const char *usage = "zcnc status [-c FILE] [--json]";
    const char *config = NULL;
    bool as_json = false;
    int status = s_query_options (argc, argv, usage, &config, &as_json, NULL);
    if (status >= 0)
        return status;
    if (optind < argc) {
        zc_cli_usage_error (usage, "status takes no arguments");
        return ZC_EXIT_USAGE;
    }
    json_t *answer = s_simple_op (config, json_pack ("{s:s}", "op", "status"), S_CLIENT_MARGIN_MS, &status);
    if (!answer)
        return status;
    if (as_json) {
        char *line = json_dumps (answer, JSON_COMPACT | JSON_REAL_PRECISION (13));
        printf ("%s\n", line);
        free (line);
    }
    else {
        printf ("name:     %s\n", json_string_value (json_object_get (answer, "name")));
        zc_term_mode_t mode = zc_term_mode (stdout);
        size_t index;
        json_t *hub;
        json_array_foreach (json_object_get (answer, "hubs"), index, hub) {
            bool connected = json_is_true (json_object_get (hub, "connected"));
            printf ("hub:      %s %s (", json_string_value (json_object_get (hub, "name")),
                    json_string_value (json_object_get (hub, "endpoint")));
            zc_term_print (stdout, mode, connected? ZC_PAINT_GOOD: ZC_PAINT_BAD, 0,
                           connected? "connected": "not connected");
            printf (")\n");
            json_t *sending = json_object_get (hub, "sending");
            printf ("sending:  %" JSON_INTEGER_FORMAT " bytes on their way, %" JSON_INTEGER_FORMAT
                    " queued, %" JSON_INTEGER_FORMAT " messages refused over the budget\n",
                    json_integer_value (json_object_get (sending, "in_flight")),
                    json_integer_value (json_object_get (sending, "queued")),
                    json_integer_value (json_object_get (sending, "refused")));
        }
        printf ("queued:   %" JSON_INTEGER_FORMAT "\n", json_integer_value (json_object_get (answer, "queued")));
        printf ("inflight: %" JSON_INTEGER_FORMAT "\n", json_integer_value (json_object_get (answer, "inflight")));
        printf ("running:  %" JSON_INTEGER_FORMAT "\n", json_integer_value (json_object_get (answer, "running")));
        printf ("nodes:    %" JSON_INTEGER_FORMAT "\n", json_integer_value (json_object_get (answer, "nodes")));
        json_t *events = json_object_get (answer, "error_events");
        if (events)
            printf ("errors:   %" JSON_INTEGER_FORMAT " event(s) queued for %s, %" JSON_INTEGER_FORMAT
                    " dropped, %" JSON_INTEGER_FORMAT " suppressed%s\n",
                    json_integer_value (json_object_get (events, "queued")),
                    json_string_value (json_object_get (events, "error_node")),
                    json_integer_value (json_object_get (events, "dropped")),
                    json_integer_value (json_object_get (events, "suppressed")),
                    json_is_true (json_object_get (events, "waiting"))? " (it is offline)": "");
    }
    json_decref (answer);
    return 0;
}

int
zc_cli_ping (int argc, char *argv [])
{
    static const char *usage = "zcnc ping [-c FILE] [-t SECS] NODE";
    const char *config = NULL;
    double timeout = 5;
    int status = s_query_options (argc, argv, usage, &config, NULL, &timeout);
    if (status >= 0)
        return status;
    if (optind + 1 != argc) {
        zc_cli_usage_error (usage, "ping needs exactly one NODE");
        return ZC_EXIT_USAGE;
    }
    const char *node = argv [optind];
    if (!zc_name_valid (node)) {
        zc_cli_usage_error (usage, "'%s' is not a node name", node);
        return ZC_EXIT_USAGE;
    }
    json_t *request = json_pack ("{s:s, s:s, s:f}", "op", "ping", "node", node, "timeout", timeout);
    json_t *answer = s_simple_op (config, request, (int) (timeout * 1000) + S_CLIENT_MARGIN_MS, &status);
    if (!answer)
        return status;
    if (json_is_true (json_object_get (answer, "pong"))) {
        printf ("pong from %s in %.3f ms\n", node, json_number_value (json_object_get (answer, "time_ms")));
        status = 0;
    }
    else {
        //  No answer in time: 124, as for trigger; unreachable now: 1.
        const char *reason = json_string_value (json_object_get (answer, "reason"));
        fprintf (stderr, "zcnc: %s\n", reason? reason: "no answer");
        status = json_is_true (json_object_get (answer, "timeout"))? ZC_EXIT_TIMEOUT: 1;
    }
    json_decref (answer);
    return status;
}

//  A table of jobs: ID, node, state, exit status.
static void
s_print_job_table (json_t *jobs)
{
    printf ("%-40s %-16s %-12s %s\n", "ID", "NODE", "STATE", "EXIT");
    zc_term_mode_t mode = zc_term_mode (stdout);
    size_t index;
    json_t *job;
    json_array_foreach (jobs, index, job) {
        json_t *exit_value = json_object_get (job, "exit");
        int exit_status = json_is_integer (exit_value)? (int) json_integer_value (exit_value): -1;
        char exit_text [16] = "-";
        if (json_is_integer (exit_value))
            snprintf (exit_text, sizeof exit_text, "%" JSON_INTEGER_FORMAT, json_integer_value (exit_value));
        const char *state = json_string_value (json_object_get (job, "state"));
        printf ("%-40s %-16s ", json_string_value (json_object_get (job, "id")),
                json_string_value (json_object_get (job, "node")));
        zc_term_print (stdout, mode, zc_term_state_paint (state, exit_status), 12, state);
        printf (" ");
        zc_term_print (stdout, mode, exit_status > 0? ZC_PAINT_BAD: ZC_PAINT_NONE, 0, exit_text);
        printf ("\n");
    }
}

int
zc_cli_jobs (int argc, char *argv [])
{
    static const char *usage = "zcnc jobs [-c FILE] [--json] [ID]";
    const char *config = NULL;
    bool as_json = false;
    int status = s_query_options (argc, argv, usage, &config, &as_json, NULL);
    if (status >= 0)
        return status;
    if (optind + 1 < argc) {
        zc_cli_usage_error (usage, "jobs takes at most one ID");
        return ZC_EXIT_USAGE;
    }
    json_t *request = json_pack ("{s:s}", "op", "jobs");
    if (optind < argc)
        json_object_set_new (request, "id", json_string (argv [optind]));
    json_t *answer = s_simple_op (config, request, S_CLIENT_MARGIN_MS, &status);
    if (!answer)
        return status;
    json_t *jobs = json_object_get (answer, "jobs");
    if (as_json)
        s_print_json_lines (jobs);
    else
    if (optind < argc) {
        //  One job: its facts, then its output, as trigger would show it.
        json_t *job = json_array_get (jobs, 0);
        json_t *exit_value = json_object_get (job, "exit");
        const char *state = json_string_value (json_object_get (job, "state"));
        printf ("id:    %s\nnode:  %s\nstate: ", json_string_value (json_object_get (job, "id")),
                json_string_value (json_object_get (job, "node")));
        zc_term_print (stdout, zc_term_mode (stdout), zc_term_state_paint (state, json_is_integer (exit_value)?
                       (int) json_integer_value (exit_value): -1), 0, state);
        printf ("\n");
        if (json_is_integer (exit_value))
            printf ("exit:  %" JSON_INTEGER_FORMAT "\n", json_integer_value (exit_value));
        if (json_string_value (json_object_get (job, "error")))
            printf ("error: %s\n", json_string_value (json_object_get (job, "error")));
        size_t size;
        uint8_t *bytes = zc_cli_job_output (job, "stdout", &size);
        fwrite (bytes, 1, size, stdout);
        free (bytes);
        bytes = zc_cli_job_output (job, "stderr", &size);
        fflush (stdout);
        fwrite (bytes, 1, size, stderr);
        free (bytes);
    }
    else
        s_print_job_table (jobs);
    json_decref (answer);
    return 0;
}

//  `zcnc queue list | cancel ID | purge [--older-than SECS]`: the jobs
//  sent from here that have no final result yet.
int
zc_cli_queue (int argc, char *argv [])
{
    static const char *usage =
        "zcnc queue [-c FILE] [--json] list | cancel ID | purge [--older-than SECS]";
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { "older-than", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 }
    };
    const char *config = NULL;
    bool as_json = false;
    double older_than = -1;
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "c:h", options, NULL)) != -1) {
        switch (option) {
            case 'c': config = optarg; break;
            case 'j': as_json = true; break;
            case 'o':
                if ((older_than = zc_cli_seconds (optarg)) < 0) {
                    zc_cli_usage_error (usage, "--older-than wants a number of seconds, not '%s'", optarg);
                    return ZC_EXIT_USAGE;
                }
                break;
            case 'h':
            default:
                return zc_cli_help_or_usage (usage, option);
        }
    }
    const char *action = optind < argc? argv [optind]: NULL;
    int operands = argc - optind;
    json_t *request = NULL;
    if (action && streq (action, "list") && operands == 1 && older_than < 0)
        request = json_pack ("{s:s, s:s}", "op", "queue", "action", "list");
    else
    if (action && streq (action, "cancel") && operands == 2 && older_than < 0)
        request = json_pack ("{s:s, s:s, s:s}", "op", "queue", "action", "cancel", "id", argv [optind + 1]);
    else
    if (action && streq (action, "purge") && operands == 1)
        request = json_pack ("{s:s, s:s, s:f}", "op", "queue", "action", "purge",
                             "older_than", older_than < 0? 0: older_than);
    else {
        zc_cli_usage_error (usage, action? "bad arguments for queue %s": "queue needs list, cancel ID or purge",
                       action);
        return ZC_EXIT_USAGE;
    }
    int status;
    json_t *answer = s_simple_op (config, request, S_CLIENT_MARGIN_MS, &status);
    if (!answer)
        return status;
    if (streq (action, "list")) {
        if (as_json)
            s_print_json_lines (json_object_get (answer, "jobs"));
        else
            s_print_job_table (json_object_get (answer, "jobs"));
    }
    else
    if (as_json) {
        //  cancel and purge: the agent's answer, {"cancelled": ID} or {"purged": N}.
        char *line = json_dumps (answer, JSON_COMPACT);
        printf ("%s\n", line);
        free (line);
    }
    else
    if (streq (action, "cancel"))
        printf ("cancelled %s\n", json_string_value (json_object_get (answer, "cancelled")));
    else
        printf ("purged %" JSON_INTEGER_FORMAT " job(s)\n", json_integer_value (json_object_get (answer, "purged")));
    json_decref (answer);
    return 0;
}

int
zc_cli_keygen (int argc, char *argv [])
{
    static const char *usage = "zcnc keygen [--hub] NAME [-d DIR]";
    static struct option options [] = {
        { "dir", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { "hub", no_argument, NULL, 'H' },
        { NULL, 0, NULL, 0 }
    };
    const char *dir = ".";
    bool hub = false;
    int option;
    optind = 1;
    //  Options may follow NAME, as in the synopsis.
    while ((option = getopt_long (argc, argv, "d:h", options, NULL)) != -1) {
        switch (option) {
            case 'd': dir = optarg; break;
            case 'H': hub = true; break;
            case 'h':
            default:
                return zc_cli_help_or_usage (usage, option);
        }
    }
    if (optind + 1 != argc) {
        zc_cli_usage_error (usage, "keygen needs exactly one NAME");
        return ZC_EXIT_USAGE;
    }
    const char *name = argv [optind];
    if (!zc_name_valid (name)) {
        zc_cli_usage_error (usage, "'%s' is not a valid name ([A-Za-z0-9][A-Za-z0-9._-]{0,63}, not ALL)", name);
        return ZC_EXIT_USAGE;
    }
    char *error = NULL;
    if (zc_keygen (dir, name, hub, &error) != 0) {
        fprintf (stderr, "zcnc: %s\n", error);
        free (error);
        return 1;
    }
    printf ("%s/%s.cert\n%s/%s.cert_secret\n", dir, name, dir, name);
    return 0;
}

//  ---------------------------------------------------------------------
//  A trigger's answers for `zcnc shell` (shell.c), which waits for them
//  itself (Ctrl-C cancels; events print meanwhile) and prints them as
//  trigger does.

struct _zc_cli_results_t {
    s_printing_t printing;
    s_outcome_t outcome;
};

zc_cli_results_t *
zc_cli_results_new (json_t *answer, bool raw)
{
    s_report_unknown (answer);
    zc_cli_results_t *self = zc_calloc (1, sizeof *self);
    self->printing.raw = raw;
    self->outcome.remote = -1;
    return self;
}

bool
zc_cli_results_line (zc_cli_results_t *self, json_t *line, double timeout)
{
    if (json_object_get (line, "end")) {
        size_t index;
        json_t *item;
        json_array_foreach (json_object_get (line, "pending"), index, item) {
            fprintf (stderr, "zcnc: no answer within %g s; %s stays queued (see: zcnc jobs %s)\n",
                     timeout, json_string_value (item), json_string_value (item));
            self->outcome.timed_out = true;
        }
        return true;
    }
    if (json_object_get (line, "stream"))
        s_print_chunk (line, &self->printing);
    else
        s_print_result (line, &self->printing, &self->outcome);
    return false;
}

int
zc_cli_results_status (zc_cli_results_t *self)
{
    return s_outcome_status (&self->outcome, self->printing.raw);
}

void
zc_cli_results_destroy (zc_cli_results_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}
