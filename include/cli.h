/*  cli.h — the client commands (trigger, nodes, ping, status, jobs,
    keygen; pub and sub in clisub.c; tail and cancel in clijob.c). Each takes the arguments after its name and returns the
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
int zc_cli_call (int argc, char *argv []);
int zc_cli_send (int argc, char *argv []);
int zc_cli_nodes (int argc, char *argv []);
int zc_cli_ping (int argc, char *argv []);
int zc_cli_status (int argc, char *argv []);
int zc_cli_jobs (int argc, char *argv []);
int zc_cli_queue (int argc, char *argv []);
int zc_cli_keygen (int argc, char *argv []);
int zc_cli_pub (int argc, char *argv []);
int zc_cli_sub (int argc, char *argv []);
int zc_cli_tail (int argc, char *argv []);
int zc_cli_cancel (int argc, char *argv []);
int zc_cli_cp (int argc, char *argv []);
int zc_cli_hub_status (int argc, char *argv []);

//  For the commands' files (cli.c, clisub.c).
#include <jansson.h>
#include "client.h"
//  Prints "zcnc: MESSAGE" and the usage on stderr.
void zc_cli_usage_error (const char *usage, const char *format, ...);
//  A number of seconds for -t, or -1 when it is not one.
double zc_cli_seconds (const char *text);
//  Connects to the agent of the config (-c FILE, $ZCNC_CONFIG, the
//  default); NULL after printing why.
zc_client_t *zc_cli_connect (const char *config_option);
//  Sends a request and reads its first answer; NULL after printing why.
json_t *zc_cli_request (zc_client_t *client, json_t *request, int timeout_ms);
//  Prints an {"error": ...} answer and returns its exit status (0 when
//  the answer is not an error).
int zc_cli_answer_error (json_t *answer, const char *context);
//  Decodes the output field 'name' of an answer ("stdout", "data"...):
//  its text, or its NAME_b64 twin. A malloc'd buffer (NULL when absent)
//  and its size.
#include <stdint.h>
uint8_t *zc_cli_job_output (json_t *job, const char *name, size_t *size);
//  The margin added to a wait for the agent's own answer.
#define ZC_CLI_MARGIN_MS 10000
#endif
