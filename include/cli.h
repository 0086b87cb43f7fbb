/*  cli.h — the client commands (trigger, nodes, ping, status, jobs,
    keygen). Each takes the arguments after its name and returns the
    process exit status of SPEC.md.
*/
#ifndef ZC_CLI_H
#define ZC_CLI_H

#define ZC_EXIT_USAGE      2
#define ZC_EXIT_NOMATCH    3
#define ZC_EXIT_TIMEOUT    124
#define ZC_EXIT_ZCNC       125
#define ZC_EXIT_REFUSED    126

int zc_cli_trigger (int argc, char *argv []);
int zc_cli_send (int argc, char *argv []);
int zc_cli_nodes (int argc, char *argv []);
int zc_cli_ping (int argc, char *argv []);
int zc_cli_status (int argc, char *argv []);
int zc_cli_jobs (int argc, char *argv []);
int zc_cli_queue (int argc, char *argv []);
int zc_cli_keygen (int argc, char *argv []);
#endif
