/*  clisub.c — `zcnc pub` and `zcnc sub` (zcnc-pubsub(1)), thin clients of the
    agent socket's "pub" and "sub" ops.
*/
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "prelude.h"
#include "cli.h"
#include "exec.h"
#include "pubsub.h"

#define S_MARGIN_MS 10000

//  Reads all of stdin (at most 'max' bytes). NULL when it is more, or
//  cannot be read (reported).
static char *
s_read_stdin (size_t max, size_t *size)
{
    size_t capacity = 4096;
    char *data = zc_malloc (capacity);
    *size = 0;
    while (true) {
        if (*size == capacity) {
            capacity *= 2;
            data = zc_realloc (data, capacity);
        }
        size_t got = fread (data + *size, 1, capacity - *size, stdin);
        *size += got;
        if (*size > max) {
            fprintf (stderr, "zcnc: a message may have at most %zu bytes of data\n", max);
            free (data);
            return NULL;
        }
        if (got == 0)
            break;
    }
    if (ferror (stdin)) {
        fprintf (stderr, "zcnc: cannot read the data from stdin: %s\n", strerror (errno));
        free (data);
        return NULL;
    }
    return data;
}

int
zc_cli_pub (int argc, char *argv [])
{
    static const char *usage = "zcnc pub [-c FILE] [--retain SECS] [--unsigned] SUBJECT [DATA|-]\n"
                               "       zcnc pub [-c FILE] --clear [--retain SECS] SUBJECT";
    static struct option options [] = {
        { "clear", no_argument, NULL, 'C' },
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "retain", required_argument, NULL, 'r' },
        { "unsigned", no_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 }
    };
    const char *config = NULL;
    double retain = 0;
    bool unsigned_ = false, clear = false;
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "+c:h", options, NULL)) != -1) {
        switch (option) {
            case 'c': config = optarg; break;
            case 'u': unsigned_ = true; break;
            case 'C': clear = true; break;
            case 'r':
                retain = zc_cli_seconds (optarg);
                if (retain < 1 || retain != (double) (long) retain || retain > 365 * 86400) {
                    zc_cli_usage_error (usage, "--retain wants whole seconds, 1 to a year");
                    return ZC_EXIT_USAGE;
                }
                break;
            case 'h':
            default:
                return zc_cli_help_or_usage (usage, option);
        }
    }
    if (optind >= argc || argc - optind > (clear? 1: 2)) {
        zc_cli_usage_error (usage, clear? "pub --clear needs a SUBJECT and no DATA"
                                         : "pub needs a SUBJECT and at most one DATA");
        return ZC_EXIT_USAGE;
    }
    const char *subject = argv [optind];
    const char *text = optind + 1 < argc? argv [optind + 1]: "";
    char *data = NULL;
    size_t size = strlen (text);
    //  Too much data, or a stdin that cannot be read: a usage error, as
    //  for send's FILE (zcnc-pubsub(1)).
    if (streq (text, "-") && !(data = s_read_stdin (ZC_PUBSUB_MAX_DATA, &size)))
        return ZC_EXIT_USAGE;
    json_t *request = json_pack ("{s:s, s:s, s:b}", "op", "pub", "subject", subject, "unsigned", unsigned_);
    if (clear)
        json_object_set_new (request, "clear", json_true ());
    if (retain > 0)
        json_object_set_new (request, "retain", json_integer ((json_int_t) retain));
    const char *bytes = data? data: text;
    json_t *string = clear? NULL: json_stringn (bytes, size);
    if (clear)
        ;
    else
    if (string)
        json_object_set_new (request, "data", string);
    else {
        size_t length = sodium_base64_encoded_len (size, sodium_base64_VARIANT_ORIGINAL);
        char *encoded = zc_malloc (length);
        sodium_bin2base64 (encoded, length, (const uint8_t *) bytes, size, sodium_base64_VARIANT_ORIGINAL);
        json_object_set_new (request, "data_b64", json_string (encoded));
        free (encoded);
    }
    free (data);
    zc_client_t *client = zc_cli_connect (config);
    if (!client) {
        json_decref (request);
        return ZC_EXIT_ZCNC;
    }
    json_t *answer = zc_cli_request (client, request, S_MARGIN_MS);
    json_decref (request);
    zc_client_destroy (&client);
    if (!answer)
        return ZC_EXIT_ZCNC;
    int status = zc_cli_answer_error (answer, NULL);
    json_decref (answer);
    return status;
}

typedef struct {
    bool once, as_json;
    char **command;             //  -- COMMAND ARGS..., or NULL
    json_int_t dropped;         //  reported so far
} s_sub_options_t;

//  Runs the command for one message. Its exit status, or -1.
static int
s_run (char **command, json_t *event)
{
    const char *subject = json_string_value (json_object_get (event, "subject"));
    const char *from = json_string_value (json_object_get (event, "from"));
    const char *data = json_string_value (json_object_get (event, "data"));
    const char *data_b64 = json_string_value (json_object_get (event, "data_b64"));
    char *env [4] = {
        zsys_sprintf ("ZCNC_SUBJECT=%s", subject? subject: ""),
        zsys_sprintf ("ZCNC_FROM=%s", from? from: ""),
        data? zsys_sprintf ("ZCNC_DATA=%s", data): zsys_sprintf ("ZCNC_DATA_B64=%s", data_b64? data_b64: ""),
        NULL
    };
    fflush (stdout);
    int status = zc_exec_foreground (command, env);
    if (status < 0)
        fprintf (stderr, "zcnc: cannot run %s: %s\n", command [0], strerror (errno));
    for (int index = 0; index < 3; index++)
        free (env [index]);
    return status;
}

//  Prints one message (or runs the command for it).
static int
s_on_message (s_sub_options_t *options, json_t *event)
{
    json_int_t dropped = json_integer_value (json_object_get (event, "dropped"));
    if (dropped > options->dropped && !options->as_json) {
        fprintf (stderr, "zcnc: %" JSON_INTEGER_FORMAT " message(s) dropped so far: this subscriber"
                 " did not keep up\n", dropped);
        options->dropped = dropped;
    }
    if (options->command)
        return s_run (options->command, event);
    if (options->as_json) {
        json_object_del (event, "tag");
        char *line = json_dumps (event, JSON_COMPACT | JSON_REAL_PRECISION (13));
        printf ("%s\n", line);
        free (line);
    }
    else {
        const char *data = json_string_value (json_object_get (event, "data"));
        const char *data_b64 = json_string_value (json_object_get (event, "data_b64"));
        printf ("%s: %s%s\n", json_string_value (json_object_get (event, "subject")),
                data? "": "(base64) ", data? data: data_b64? data_b64: "");
    }
    fflush (stdout);
    return 0;
}

int
zc_cli_sub (int argc, char *argv [])
{
    static const char *usage = "zcnc sub [-c FILE] [-o] [-t SECS] [--json] [--from GLOB] [--verified]"
                               " SUBJECT [-- COMMAND ARGS...]";
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "from", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { "once", no_argument, NULL, 'o' },
        { "timeout", required_argument, NULL, 't' },
        { "verified", no_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 }
    };
    const char *config = NULL, *from = NULL;
    double timeout = 0;
    bool verified = false;
    s_sub_options_t sub = { 0 };
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "+c:hot:", options, NULL)) != -1) {
        switch (option) {
            case 'c': config = optarg; break;
            case 'f': from = optarg; break;
            case 'j': sub.as_json = true; break;
            case 'o': sub.once = true; break;
            case 'v': verified = true; break;
            case 't':
                if ((timeout = zc_cli_seconds (optarg)) <= 0) {
                    zc_cli_usage_error (usage, "-t wants a positive number of seconds");
                    return ZC_EXIT_USAGE;
                }
                break;
            case 'h':
            default:
                return zc_cli_help_or_usage (usage, option);
        }
    }
    if (optind >= argc) {
        zc_cli_usage_error (usage, "sub needs a SUBJECT");
        return ZC_EXIT_USAGE;
    }
    const char *subject = argv [optind++];
    if (optind < argc) {
        if (!streq (argv [optind], "--") || optind + 1 >= argc) {
            zc_cli_usage_error (usage, "after SUBJECT only -- COMMAND ARGS...");
            return ZC_EXIT_USAGE;
        }
        sub.command = argv + optind + 1;
    }
    json_t *request = json_pack ("{s:s, s:s, s:b, s:b}", "op", "sub", "subject", subject,
                                 "verified", verified, "command", sub.command != NULL);
    if (from)
        json_object_set_new (request, "from", json_string (from));
    zc_client_t *client = zc_cli_connect (config);
    if (!client) {
        json_decref (request);
        return ZC_EXIT_ZCNC;
    }
    json_t *answer = zc_cli_request (client, request, S_MARGIN_MS);
    json_decref (request);
    int status = answer? zc_cli_answer_error (answer, NULL): ZC_EXIT_ZCNC;
    json_decref (answer);
    int64_t deadline = timeout > 0? zclock_mono () + (int64_t) (timeout * 1000): 0;
    bool any = false;
    while (status == 0) {
        int wait_ms = -1;
        if (deadline) {
            int64_t left = deadline - zclock_mono ();
            if (left <= 0)
                break;
            wait_ms = (int) left;
        }
        bool timed_out = false;
        char *error = NULL;
        json_t *event = zc_client_recv (client, wait_ms, &timed_out, &error);
        if (!event) {
            if (!timed_out) {
                fprintf (stderr, "zcnc: %s\n", error? error: "the agent closed the connection");
                status = ZC_EXIT_ZCNC;
            }
            free (error);
            break;
        }
        if (json_object_get (event, "error")) {
            status = zc_cli_answer_error (event, NULL);
            json_decref (event);
            break;
        }
        int rc = s_on_message (&sub, event);
        json_decref (event);
        any = true;
        if (sub.once) {
            status = sub.command? (rc < 0? ZC_EXIT_ZCNC: rc): 0;
            break;
        }
    }
    zc_client_destroy (&client);
    //  -t with nothing received: 1, as SPEC.md says.
    if (status == 0 && deadline && !any)
        status = 1;
    return status;
}
