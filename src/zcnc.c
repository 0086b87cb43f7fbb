/*  zcnc.c — main: dispatches subcommands, nothing else. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "hub.h"
#include "init.h"
#include "policy.h"
#include "shell.h"
#include "startup.h"
#include "log.h"
#include "prelude.h"

static const char *s_usage =
    "usage: zcnc COMMAND [ARGS...]\n"
    "\n"
    "daemons:\n"
    "  zcnc hub     [-c FILE] [-n] [-v]\n"
    "  zcnc agent   [-c FILE] [-n] [-v]\n"
    "  zcnc hub-status [-c FILE] [--json]     (asks the hub's control socket)\n"
    "keys:\n"
    "  zcnc keygen  [--hub] NAME [-d DIR]\n"
    "  zcnc init    hub NAME [-d DIR] [--bind ENDPOINT] [--enroll] [--user USER]\n"
    "  zcnc init    agent NAME --hub HUBNAME@ENDPOINT [-d DIR] [--enroll] [--hub-dir DIR]\n"
    "               [--user USER]\n"
    "  zcnc keys    [-c FILE] [--json] list | accept NAME | reject NAME | revoke NAME\n"
    "clients (talk to the local agent's socket):\n"
    "  zcnc trigger [-c FILE] [-t SECS] [--async] [--json] [--schedule INTERVAL,TOTAL] [--stream]\n"
    "               [--where KEY=GLOB]... TARGET:COMMAND\n"
    "  zcnc call    [-c FILE] [-t SECS] [--async] [--json] [--schedule INTERVAL,TOTAL]\n"
    "               [--where KEY=GLOB]... TARGET FUNCTION [ARG...]\n"
    "  zcnc send    [-c FILE] [-w] [-t SECS] [--json] [FILE|-]\n"
    "  zcnc nodes   [-c FILE] [--dot] [--facts] [--functions] [--json]\n"
    "  zcnc ping    [-c FILE] [-t SECS] NODE\n"
    "  zcnc jobs    [-c FILE] [--json] [ID]\n"
    "  zcnc queue   [-c FILE] [--json] list | cancel ID | purge [--older-than SECS]\n"
    "  zcnc status  [-c FILE] [--json]\n"
    "  zcnc tail    [-c FILE] [-t SECS] NODE:PATH\n"
    "  zcnc cancel  [-c FILE] [-t SECS] ID\n"
    "  zcnc cp      [-c FILE] [-t SECS] SRC DST      (NODE:PATH for either or both)\n"
    "  zcnc pub     [-c FILE] [--retain SECS] [--unsigned] SUBJECT [DATA|-]\n"
    "  zcnc pub     [-c FILE] --clear [--retain SECS] SUBJECT\n"
    "  zcnc sub     [-c FILE] [-o] [-t SECS] [--json] [--from GLOB] [--verified] SUBJECT\n"
    "               [-- COMMAND ARGS...]\n"
    "  zcnc shell   [-c FILE] [-t SECS]               (an interactive prompt)\n"
    "other:\n"
    "  zcnc help [COMMAND]\n"
    "  zcnc --help | --version\n"
    "\n"
    "See zcnc(1) and zcnc.conf(5).\n";

//  `-n`: what start-up would fail on, or that it would not.
static int
s_check (zc_config_t *config, zc_role_t role)
{
    char *error = NULL;
    if (zc_daemon_check (config, &error) != 0) {
        fprintf (stderr, "zcnc: %s\n", error);
        free (error);
        return 1;
    }
    zc_policy_t *policy = NULL;
    if (role == ZC_ROLE_AGENT && config->policy && !(policy = zc_policy_load (config->policy, &error))) {
        fprintf (stderr, "zcnc: %s: agent/policy: %s\n", config->path, error);
        free (error);
        return 1;
    }
    zc_policy_destroy (&policy);
    //  The startup folder must be there; its files are checked too (the
    //  agent would only log a bad one and go on).
    char *problems = role == ZC_ROLE_AGENT && config->startup? zc_startup_check (config->startup): NULL;
    if (problems) {
        for (char *line = strtok (problems, "\n"); line; line = strtok (NULL, "\n"))
            fprintf (stderr, "zcnc: %s: agent/startup: %s\n", config->path, line);
        free (problems);
        return 1;
    }
    printf ("%s: configuration is valid\n", config->path);
    return 0;
}

//  Runs the daemon until a stop signal. 1 when it cannot start (logged).
static int
s_run (zc_config_t *config, zc_role_t role)
{
    if (zc_daemon_init () != 0)
        return 1;
    char *error = NULL;
    int status = 1;
    if (role == ZC_ROLE_HUB) {
        zc_hub_t *hub = zc_hub_new (config, &error);
        if (hub)
            status = zc_hub_loop (hub);
        zc_hub_destroy (&hub);
    }
    else {
        zc_agent_t *agent = zc_agent_new (config, &error);
        if (agent)
            status = zc_agent_loop (agent);
        zc_agent_destroy (&agent);
    }
    if (error) {
        zc_error ("%s", error);
        free (error);
    }
    return status;
}

//  `zcnc hub` and `zcnc agent`: [-c FILE] [-n] [-v].
static int
s_daemon (int argc, char *argv [], zc_role_t role)
{
    const char *usage = role == ZC_ROLE_HUB? "zcnc hub [-c FILE] [-n] [-v]": "zcnc agent [-c FILE] [-n] [-v]";
    static struct option options [] = {
        { "check", no_argument, NULL, 'n' },
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "verbose", no_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 }
    };
    const char *config_option = NULL;
    bool check = false, verbose = false;
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "+c:hnv", options, NULL)) != -1) {
        switch (option) {
            case 'c': config_option = optarg; break;
            case 'n': check = true; break;
            case 'v': verbose = true; break;
            case 'h':
            default:
                return zc_cli_help_or_usage (usage, option);
        }
    }
    if (optind < argc) {
        fprintf (stderr, "zcnc: unexpected argument '%s'\nusage: %s\n", argv [optind], usage);
        return ZC_EXIT_USAGE;
    }
    zc_log_init (role == ZC_ROLE_HUB? "zcnc-hub": "zcnc-agent", verbose);
    const char *path = zc_config_path (config_option, role);
    char *error = NULL;
    zc_config_t *config = zc_config_load (path, role, &error);
    if (!config) {
        fprintf (stderr, "zcnc: %s\n", error);
        free (error);
        return 1;
    }
    int status = check? s_check (config, role): s_run (config, role);
    zc_config_destroy (&config);
    return status;
}

static int
s_hub (int argc, char *argv [])
{
    return s_daemon (argc, argv, ZC_ROLE_HUB);
}

static int
s_agent (int argc, char *argv [])
{
    return s_daemon (argc, argv, ZC_ROLE_AGENT);
}

//  The commands: a new one is a row here, its usage in s_usage, and its
//  page (zcnc(1) says which).
static const struct {
    const char *name;
    int (*run) (int argc, char *argv []);
} s_commands [] = {
    { "hub", s_hub },
    { "agent", s_agent },
    { "hub-status", zc_cli_hub_status },
    { "keygen", zc_cli_keygen },
    { "init", zc_cli_init },
    { "keys", zc_cli_keys },
    { "trigger", zc_cli_trigger },
    { "call", zc_cli_call },
    { "send", zc_cli_send },
    { "nodes", zc_cli_nodes },
    { "ping", zc_cli_ping },
    { "jobs", zc_cli_jobs },
    { "tail", zc_cli_tail },
    { "cancel", zc_cli_cancel },
    { "cp", zc_cli_cp },
    { "queue", zc_cli_queue },
    { "status", zc_cli_status },
    { "pub", zc_cli_pub },
    { "sub", zc_cli_sub },
    { "shell", zc_shell_main },
};

static int (*s_command (const char *name)) (int, char **)
{
    for (size_t index = 0; index < sizeof s_commands / sizeof s_commands [0]; index++)
        if (streq (s_commands [index].name, name))
            return s_commands [index].run;
    return NULL;
}

//  `zcnc help [COMMAND]`: all the usage, or that command's (its --help).
static int
s_help (int argc, char *argv [])
{
    if (argc < 2) {
        fputs (s_usage, stdout);
        return 0;
    }
    int (*run) (int, char **) = s_command (argv [1]);
    if (argc > 2) {
        fprintf (stderr, "zcnc: help takes one COMMAND\n%s", s_usage);
        return ZC_EXIT_USAGE;
    }
    if (!run) {
        fprintf (stderr, "zcnc: no command '%s' (zcnc help lists them)\n", argv [1]);
        return ZC_EXIT_USAGE;
    }
    char *help [] = { argv [1], "--help", NULL };
    return run (2, help);
}

int
main (int argc, char *argv [])
{
    zc_alloc_init ();
    if (argc < 2) {
        fputs (s_usage, stderr);
        return ZC_EXIT_USAGE;
    }
    const char *command = argv [1];
    argc--;
    argv++;
    int (*run) (int, char **) = s_command (command);
    if (run)
        return run (argc, argv);
    if (streq (command, "help"))
        return s_help (argc, argv);
    if (streq (command, "-h") || streq (command, "--help")) {
        fputs (s_usage, stdout);
        return 0;
    }
    if (streq (command, "--version")) {
        printf ("zcnc %s\n", PACKAGE_VERSION);
        return 0;
    }
    fprintf (stderr, "zcnc: unknown command '%s'\n%s", command, s_usage);
    return ZC_EXIT_USAGE;
}
