/*  job.h — the job and result model shared by the agent's modules.

    A job is (message ID, target). States follow SPEC.md "JSON outputs".
*/
#ifndef ZC_JOB_H
#define ZC_JOB_H
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <czmq.h>

typedef enum {
    ZC_STATE_QUEUED = 0,        //  stored at the origin, not yet accepted by a hub
    ZC_STATE_SENT,              //  a hub took it, no ACK yet
    ZC_STATE_RUNNING,           //  the target ACKed and started it
    ZC_STATE_DONE,              //  finished with a result
    ZC_STATE_FAILED,            //  could not be run or delivered (see error)
    ZC_STATE_EXPIRED,
    ZC_STATE_INTERRUPTED,       //  its agent stopped while it ran
    ZC_STATE_DENIED,
    ZC_STATE_CANCELLED,
    ZC_STATE_SCHEDULED,         //  at the origin, a later run of a schedule (zcnc-trigger(1) "SCHEDULES"):
                                //  its result comes when its target ran it; never sent itself
    ZC_STATE_COUNT
} zc_state_t;

typedef enum {
    ZC_METHOD_EXEC = 1,
    ZC_METHOD_EXEC_STREAM,
    ZC_METHOD_TAIL,
    ZC_METHOD_HTTP_GET,
    ZC_METHOD_COPY,
    ZC_METHOD_PING,
    ZC_METHOD_JOBS,
    ZC_METHOD_CANCEL,
    ZC_METHOD_CALL,             //  a named function of the target's config (agent/function)
    ZC_METHOD_COUNT,
    //  Internal, between the two agents of a copy (copy.h): never taken
    //  from a client, and judged by a policy as "copy" of the
    //  destination path.
    ZC_METHOD_COPY_OPEN = 64,
    ZC_METHOD_COPY_CLOSE
} zc_method_t;

//  A job's schedule (zcnc-trigger(1) "SCHEDULES"): 'count' runs, 'interval'
//  seconds apart; count 0 means none. Valid: an interval of at least
//  1 s, 1 to ZC_SCHEDULE_MAX_RUNS runs, the last one due less than
//  ZC_SCHEDULE_MAX_SPAN seconds after the first.
#define ZC_SCHEDULE_MAX_RUNS 10000
#define ZC_SCHEDULE_MAX_SPAN (30u * 86400)
typedef struct {
    uint32_t interval, count;
} zc_schedule_spec_t;
bool zc_schedule_spec_valid (const zc_schedule_spec_t *schedule);

//  "queued", "sent", ...; NULL for an out-of-range value.
const char *zc_state_name (zc_state_t state);
//  "exec", ...; NULL for an out-of-range value.
const char *zc_method_name (zc_method_t method);
//  Parses a method name; 0 when unknown.
zc_method_t zc_method_parse (const char *name);
//  True for states after which nothing more happens to the job.
//  (SCHEDULED, the last value, is not final: states are stored.)
bool zc_state_final (zc_state_t state);

//  What a target reports about a job it ran (or refused).
typedef struct {
    zc_state_t state;
    int exit_code;              //  exit status, 128+N when killed by signal N
    int signal;                 //  0, or the signal that killed the shell
    bool stdout_truncated, stderr_truncated;
    uint64_t started_ms, finished_ms;       //  wall clock, ms since epoch
    char *error;                //  NULL, or why it failed / was denied
    uint8_t *out;  size_t out_size;         //  captured stdout
    uint8_t *err;  size_t err_size;         //  captured stderr
    int http_status;            //  http_get: the response's status (100-999), 0 = none
} zc_result_t;

//  What the origin does with a job's result (SPEC.md "Messages", the
//  reply methods; zcnc-trigger(1) "REPLY METHODS"). The numbers are stored.
typedef enum {
    ZC_REPLY_CONSOLE = 0,       //  shown to the client waiting for it, and by `zcnc jobs`
    ZC_REPLY_NONE,              //  only recorded
    ZC_REPLY_FILE,              //  stdout written to a file, replacing it
    ZC_REPLY_FILE_APPEND,       //  stdout appended to a file
    ZC_REPLY_EXEC,              //  stdout fed to a local command
    ZC_REPLY_COUNT
} zc_reply_method_t;

//  A message's reply method and its arguments. In a message and in the
//  outbox the strings and the list are owned (zc_reply_spec_clear frees
//  them); "" counts as absent, which the parser turns into NULL.
typedef struct {
    zc_reply_method_t method;
    char *directory;            //  file, file_append: NULL for the default
    char *file_name;            //  file, file_append: NULL for the default
    zlist_t *args;              //  exec: of char *, the command's argv; NULL or empty else
} zc_reply_spec_t;

//  "console", ...; NULL for an out-of-range value.
const char *zc_reply_method_name (zc_reply_method_t method);
//  Parses a reply method name. 0, or -1 when unknown.
int zc_reply_method_parse (const char *name, zc_reply_method_t *method);
//  True when the method acts at the origin once the result is recorded
//  (file, file_append, exec), rather than just showing it.
bool zc_reply_method_acts (zc_reply_method_t method);
//  A deep copy of 'spec' into *copy (whose old contents are not freed).
void zc_reply_spec_copy (zc_reply_spec_t *copy, const zc_reply_spec_t *spec);
//  Frees what a spec owns; it is then the default (console).
void zc_reply_spec_clear (zc_reply_spec_t *spec);

//  The wall clock in milliseconds since the epoch (job times, expiry).
uint64_t zc_wall_ms (void);

zc_result_t *zc_result_new (void);
void zc_result_destroy (zc_result_t **self_p);
#endif
