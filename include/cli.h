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
//  zcnc keys (clikeys.c): key enrollment on a hub's host.
int zc_cli_keys (int argc, char *argv []);

//  For the commands' files (cli.c, clisub.c).
#include <jansson.h>
#include "client.h"
//  Prints "zcnc: MESSAGE" and the usage on stderr.
void zc_cli_usage_error (const char *usage, const char *format, ...);
//  The end of every command's option loop: -h ('option' 'h') prints the
//  usage on stdout and gives 0; any other option getopt refused prints
//  it on stderr and gives ZC_EXIT_USAGE.
int zc_cli_help_or_usage (const char *usage, int option);
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
//  A trigger's answers, for `zcnc shell`: made from the first answer
//  {"ids", "unknown"} (names never seen are reported), then given each
//  line that follows; prints them as trigger does (raw for one exact
//  name). _line returns true at the "end" line (after reporting jobs
//  still pending); _status is trigger's exit status for what came.
typedef struct _zc_cli_results_t zc_cli_results_t;
zc_cli_results_t *zc_cli_results_new (json_t *answer, bool raw);
bool zc_cli_results_line (zc_cli_results_t *self, json_t *line, double timeout);
int zc_cli_results_status (zc_cli_results_t *self);
void zc_cli_results_destroy (zc_cli_results_t **self_p);
//  The margin added to a wait for the agent's own answer.
#define ZC_CLI_MARGIN_MS 10000
#endif
