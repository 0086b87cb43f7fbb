/*  clikeys.c — `zcnc keys list|accept|reject|revoke` on a hub's host:
    the operator's side of key enrollment (enroll.h). Works on the hub's
    files, found through its config; the hub need not run.
*/
#include <getopt.h>
#include <time.h>
#include "prelude.h"
#include "cli.h"
#include "config.h"
#include "enroll.h"
#include "keys.h"

#define S_USAGE "zcnc keys [-c FILE] [--json] list | accept NAME | reject NAME | revoke NAME"

//  Prints the pending requests, a table or JSON lines. The exit status.
static int
s_list (const zc_config_t *config, bool json)
{
    zlist_t *list = NULL;
    char *error = NULL;
    if (zc_enroll_list (config->data, &list, &error) != 0) {
        fprintf (stderr, "zcnc: %s\n", error);
        free (error);
        return 1;
    }
    if (!json && zlist_size (list) == 0)
        fprintf (stderr, "zcnc: no pending requests (hub %s, %s/pending)\n", config->name, config->data);
    else
    if (!json)
        printf ("%-20s %-5s %-39s %s\n", "NAME", "ROLE", "FINGERPRINT", "SINCE");
    for (zc_pending_t *one = zlist_first (list); one; one = zlist_next (list)) {
        char since [32];
        time_t seconds = (time_t) one->since;
        struct tm tm;
        strftime (since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", gmtime_r (&seconds, &tm));
        const char *role = one->key.role == ZC_KEY_HUB? "hub": "agent";
        if (json) {
            json_t *object = json_pack ("{s:s, s:s, s:s, s:I}", "name", one->key.name, "role", role,
                                        "fingerprint", one->fingerprint, "since", (json_int_t) one->since);
            char *line = json_dumps (object, JSON_COMPACT);
            printf ("%s\n", line);
            free (line);
            json_decref (object);
        }
        else
            printf ("%-20s %-5s %-39s %s\n", one->key.name, role, one->fingerprint, since);
    }
    zlist_destroy (&list);
    return 0;
}

//  The fingerprint of DATA/pending/NAME.cert into 'fingerprint', or "?".
static void
s_pending_fingerprint (const zc_config_t *config, const char *name, char *fingerprint)
{
    char *path = zsys_sprintf ("%s/pending/%s.cert", config->data, name);
    zc_key_t key;
    if (zc_key_load (path, &key, NULL) == 0)
        zc_key_fingerprint (key.public_key, fingerprint);
    else
        strcpy (fingerprint, "?");
    zstr_free (&path);
}

int
zc_cli_keys (int argc, char *argv [])
{
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    const char *config_option = NULL;
    bool json = false;
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "c:h", options, NULL)) != -1) {
        switch (option) {
            case 'c': config_option = optarg; break;
            case 'j': json = true; break;
            case 'h':
            default:
                return zc_cli_help_or_usage (S_USAGE, option);
        }
    }
    const char *action = optind < argc? argv [optind]: NULL;
    bool list = action && streq (action, "list");
    bool named = action && (streq (action, "accept") || streq (action, "reject") || streq (action, "revoke"));
    if (!list && !named) {
        zc_cli_usage_error (S_USAGE, action? "unknown keys action '%s'": "keys needs an action%s",
                            action? action: "");
        return ZC_EXIT_USAGE;
    }
    if (optind + (list? 1: 2) != argc) {
        zc_cli_usage_error (S_USAGE, list? "keys list takes no NAME": "keys %s needs exactly one NAME",
                            action);
        return ZC_EXIT_USAGE;
    }
    if (json && !list) {
        zc_cli_usage_error (S_USAGE, "--json is for keys list");
        return ZC_EXIT_USAGE;
    }
    char *error = NULL;
    zc_config_t *config = zc_config_load (zc_config_path (config_option, ZC_ROLE_HUB), ZC_ROLE_HUB, &error);
    if (!config) {
        fprintf (stderr, "zcnc: %s (zcnc keys reads the hub's config: give it with -c FILE)\n", error);
        free (error);
        return ZC_EXIT_ZCNC;
    }
    int status = 0;
    if (list)
        status = s_list (config, json);
    else {
        const char *name = argv [optind + 1];
        char fingerprint [ZC_FINGERPRINT_SIZE];
        s_pending_fingerprint (config, name, fingerprint);
        int rc;
        if (streq (action, "accept"))
            rc = zc_enroll_accept (config->data, config->keys, name, &error);
        else
        if (streq (action, "reject"))
            rc = zc_enroll_reject (config->data, name, &error);
        else
            rc = zc_enroll_revoke (config->keys, name, &error);
        if (rc != 0) {
            fprintf (stderr, "zcnc: %s\n", error);
            free (error);
            status = 1;
        }
        else
        if (streq (action, "accept"))
            printf ("accepted %s (key fingerprint %s): %s/%s.cert; hub %s trusts it within a second\n",
                    name, fingerprint, config->keys, name, config->name);
        else
        if (streq (action, "reject"))
            printf ("rejected %s (key fingerprint %s): its request is removed\n", name, fingerprint);
        else
            printf ("revoked %s: its cert is in %s/revoked/; hub %s drops its traffic within a second\n",
                    name, config->keys, config->name);
    }
    zc_config_destroy (&config);
    return status;
}
