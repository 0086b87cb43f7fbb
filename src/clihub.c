/*  clihub.c — `zcnc hub-status`: asks a hub's control socket (hubctl.h)
    what the hub is doing, and prints it as tables or as one JSON object.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "prelude.h"
#include "cli.h"
#include "client.h"
#include "config.h"

#define S_ANSWER_MS 10000       //  how long the hub may take to answer

static const char *
s_text (json_t *object, const char *key)
{
    const char *text = json_string_value (json_object_get (object, key));
    return text && *text? text: "-";
}

static long long
s_int (json_t *object, const char *key)
{
    return (long long) json_integer_value (json_object_get (object, key));
}

//  Prints the status as tables.
static void
s_print (json_t *status)
{
    json_t *nodes = json_object_get (status, "nodes");
    json_t *uplinks = json_object_get (status, "uplinks");
    size_t online = 0, hubs = 0, up = 0, index;
    json_t *item;
    json_array_foreach (nodes, index, item)
        if (json_is_true (json_object_get (item, "online")) && streq (s_text (item, "kind"), "hub"))
            hubs++;
        else
        if (json_is_true (json_object_get (item, "online")))
            online++;
    json_array_foreach (uplinks, index, item)
        up += json_is_true (json_object_get (item, "up"));
    printf ("hub %s: %zu node(s) and %zu downstream hub(s) connected, %zu of %zu uplink(s) up\n",
            s_text (status, "name"), online, hubs, up, json_array_size (uplinks));

    printf ("\n%-24s %-4s %-7s %-20s %-22s %10s %10s %8s\n", "PEER", "KIND", "STATE", "SINCE", "ADDRESS",
            "IN FLIGHT", "QUEUED", "REFUSED");
    json_array_foreach (nodes, index, item) {
        char since [32] = "-";
        time_t when = (time_t) s_int (item, "since");
        struct tm tm;
        if (when && gmtime_r (&when, &tm))
            strftime (since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf ("%-24s %-4s %-7s %-20s %-22s %10lld %10lld %8lld\n", s_text (item, "name"), s_text (item, "kind"),
                json_is_true (json_object_get (item, "online"))? "online": "offline", since,
                s_text (item, "address"), s_int (item, "in_flight"), s_int (item, "queued"), s_int (item, "refused"));
    }
    if (json_array_size (uplinks)) {
        printf ("\n%-24s %-32s %-5s %10s %10s %8s\n", "UPLINK", "ENDPOINT", "STATE", "IN FLIGHT", "QUEUED", "REFUSED");
        json_array_foreach (uplinks, index, item) {
            printf ("%-24s %-32s %-5s %10lld %10lld %8lld\n", s_text (item, "name"), s_text (item, "endpoint"),
                    json_is_true (json_object_get (item, "up"))? "up": "down", s_int (item, "in_flight"),
                    s_int (item, "queued"), s_int (item, "refused"));
            if (json_object_get (item, "problem"))
                printf ("    problem: %s\n", s_text (item, "problem"));
        }
    }
    json_t *routes = json_object_get (status, "routes");
    printf ("\n%-24s %-24s %-24s %s\n", "ROUTE TO", "SERVED BY", "NEXT HOP", "VIA");
    json_array_foreach (routes, index, item)
        printf ("%-24s %-24s %-24s %s\n", s_text (item, "node"), s_text (item, "hub"), s_text (item, "next"),
                s_text (item, "via"));

    json_t *counters = json_object_get (status, "counters");
    printf ("\nmessages:  forwarded %lld, noroute %lld, malformed %lld, dropped %lld, refused over a budget %lld\n",
            s_int (counters, "forwarded"), s_int (counters, "noroute"), s_int (counters, "malformed"),
            s_int (counters, "dropped"), s_int (counters, "over_budget"));
    printf ("refused:   unknown keys %lld, bad hellos %lld, before hello %lld, from suspended keys %lld,"
            " second connections %lld, pub/sub %lld\n", s_int (counters, "unknown_key"), s_int (counters, "bad_hello"),
            s_int (counters, "not_hello"), s_int (counters, "suspended"), s_int (counters, "duplicate"),
            s_int (counters, "refused"));
    json_t *pubsub = json_object_get (status, "pubsub");
    printf ("pub/sub:   published %lld, delivered %lld, passed to hubs %lld, lost %lld, retained %lld\n",
            s_int (pubsub, "published"), s_int (pubsub, "delivered"), s_int (pubsub, "forwarded"),
            s_int (pubsub, "lost"), s_int (pubsub, "retained"));
    json_t *budget = json_object_get (status, "budget");
    printf ("budget:    %lld of %lld bytes held\n", s_int (budget, "held"), s_int (budget, "limit"));
    json_t *waiters = json_object_get (status, "waiters");
    printf ("waiters:   %lld origin(s) wait for %lld absent name(s)", s_int (waiters, "origins"),
            s_int (waiters, "names"));
    const char *separator = ": ";
    json_array_foreach (json_object_get (waiters, "waited"), index, item) {
        printf ("%s%s", separator, json_string_value (item));
        separator = ", ";
    }
    printf ("\nsuspended: ");
    json_t *suspended = json_object_get (status, "suspended");
    if (!json_array_size (suspended))
        printf ("none");
    separator = "";
    json_array_foreach (suspended, index, item) {
        printf ("%s%s (%lld s more)", separator, s_text (item, "name"), s_int (item, "seconds"));
        separator = ", ";
    }
    printf ("\n");
}

int
zc_cli_hub_status (int argc, char *argv [])
{
    static const char *usage = "zcnc hub-status [-c FILE] [--json]";
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    const char *config_option = NULL;
    bool as_json = false;
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "+c:h", options, NULL)) != -1) {
        switch (option) {
            case 'c': config_option = optarg; break;
            case 'j': as_json = true; break;
            case 'h':
            default:
                return zc_cli_help_or_usage (usage, option);
        }
    }
    if (optind < argc) {
        zc_cli_usage_error (usage, "hub-status takes no arguments");
        return ZC_EXIT_USAGE;
    }
    //  The hub's own config says where its socket is.
    const char *path = zc_config_path (config_option, ZC_ROLE_HUB);
    char *error = NULL;
    zc_config_t *config = zc_config_load (path, ZC_ROLE_HUB, &error);
    zc_client_t *client = config? zc_client_open (config->hub_socket, "hub", &error): NULL;
    zc_config_destroy (&config);
    if (!client) {
        fprintf (stderr, "zcnc: %s\n", error);
        free (error);
        return ZC_EXIT_ZCNC;
    }
    json_t *request = json_pack ("{s:s}", "op", "status");
    bool timed_out = false;
    json_t *answer = zc_client_send (client, request) == 0
                   ? zc_client_recv (client, S_ANSWER_MS, &timed_out, &error): NULL;
    json_decref (request);
    zc_client_destroy (&client);
    if (!answer) {
        fprintf (stderr, "zcnc: %s\n", timed_out? "the hub did not answer in time"
                                      : error? error: "cannot write to the hub's socket");
        free (error);
        return ZC_EXIT_ZCNC;
    }
    int status = zc_cli_answer_error (answer, NULL);
    if (status == 0 && as_json) {
        char *line = json_dumps (answer, JSON_COMPACT);
        printf ("%s\n", line);
        free (line);
    }
    else
    if (status == 0)
        s_print (answer);
    json_decref (answer);
    return status;
}
