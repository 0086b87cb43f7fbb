/*  exec.h — running one shell command (or a program) as a job (the only
    module that forks).

    The command runs as /bin/sh -c COMMAND in a new process group, with
    default signal dispositions and an empty signal mask, 'data' on its
    stdin, and stdout/stderr captured up to max_output bytes each (past
    that, output is read and discarded and the truncated flag is set).
    The command string is the only thing a shell interprets: everything
    else reaches the job as bytes on stdin, as positional parameters
    ("$1") or as environment values.
    Instead of a command, a spec may give an argv: that program then runs
    directly, without a shell, in the same way (the origin's reply
    commands, replyto.h).

    Whom the job runs as, where, and its environment come from an exec
    context, fixed once at agent start. The environment is clean: the
    agent's own never leaks into a job (see zc_exec_context_new). With a
    context that switches users, the shell is started with fork: the
    child sets the groups, gid and uid, checks that root cannot be
    regained, and only then execs; a step that fails is reported through
    a pipe and the command never runs. Otherwise posix_spawn (faster).
    Everything is driven by the caller's zloop: pipes and a pidfd are
    polled there, so a slow job never blocks anything else.

    The job ends when the shell exits: its process group then gets SIGTERM
    and, 2 s later, SIGKILL, so background children never keep a job open.
    When 'timeout' passes first, the group gets SIGTERM, then SIGKILL 2 s
    later, and the result says so in 'error'.
*/
#ifndef ZC_EXEC_H
#define ZC_EXEC_H
#include <czmq.h>
#include <sys/types.h>
#include "job.h"
#include "wire.h"

typedef struct _zc_exec_t zc_exec_t;

//  Called once when the job has ended. The callback takes ownership of
//  'result' (state DONE, or FAILED/INTERRUPTED with error set) and may
//  call zc_exec_destroy on 'proc'.
typedef void (zc_exec_done_fn) (zc_exec_t *proc, zc_result_t *result, void *arg);

//  PATH when the config does not give one.
#define ZC_EXEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

//  What every job of an agent shares. User and group look-ups are the
//  caller's (config.c does them at start): nothing is looked up between
//  fork and exec, where it would not be safe.
typedef struct {
    const char *user;           //  USER and LOGNAME, and the name in messages
    const char *home;           //  HOME
    const char *workdir;        //  working directory; NULL: home if it can be
                                //  entered, else /
    const char *path;           //  PATH; NULL: ZC_EXEC_DEFAULT_PATH
    bool switch_user;           //  run as uid, gid and groups (needs root)
    uid_t uid;
    gid_t gid;
    const gid_t *groups;        //  the supplementary groups
    size_t group_count;
    zlist_t *pass_env;          //  of char *: NAMEs copied from our environment
                                //  (when set there); may be NULL
    zlist_t *env;               //  of char *: NAME=VALUE; may be NULL
} zc_exec_options_t;

typedef struct _zc_exec_context_t zc_exec_context_t;

//  Makes a context from options, copying what it needs. The environment
//  of its jobs is PATH, HOME, USER, LOGNAME, SHELL=/bin/sh and
//  LANG=C.UTF-8; then the pass_env variables (taken from our environment
//  now, once), then env, each replacing a variable of the same name;
//  then, per job, ZCNC_JOB_ID and ZCNC_ORIGIN (which pass_env and env
//  cannot set: they are skipped there). Returns NULL when out of memory.
zc_exec_context_t *zc_exec_context_new (const zc_exec_options_t *options);
void zc_exec_context_destroy (zc_exec_context_t **self_p);
//  The user jobs run as when the context switches users, else NULL.
const char *zc_exec_context_switched_user (const zc_exec_context_t *self);
//  The job environment, NULL-terminated NAME=VALUE strings, without the
//  per-job ZCNC_ variables; owned by the context.
char *const *zc_exec_context_env (const zc_exec_context_t *self);

//  Streaming: bytes the job wrote on 'stream' (ZC_STREAM_STDOUT or
//  ZC_STREAM_STDERR, wire.h), as they are read.
typedef void (zc_exec_output_fn) (zc_exec_t *proc, int stream, const uint8_t *bytes, size_t size,
                                  void *arg);

typedef struct {
    const char *command;        //  run by /bin/sh -c; NULL with argv
    //  Instead of a command: a program and its arguments (NULL-terminated),
    //  run directly, without a shell. A program name without a '/' is
    //  looked up in the PATH of the job's environment.
    char *const *argv;
    //  With a command: NULL, or the words after it: /bin/sh -c COMMAND
    //  PARAMS..., so the first is $0 and the others $1, $2, ... (a named
    //  function's name and arguments): words the shell never parses as code.
    zlist_t *params;
    const uint8_t *data;        //  stdin; may be NULL
    size_t data_size;
    double timeout;             //  s; 0 = none
    size_t max_output;          //  bytes per stream
    //  NULL: the agent's own ids, working directory / and an environment
    //  of PATH (the default), SHELL and LANG only; never the agent's own.
    const zc_exec_context_t *context;
    const char *job_id;         //  ZCNC_JOB_ID; NULL: not set
    const char *origin;         //  ZCNC_ORIGIN; NULL: not set
    //  With 'output', the job streams: every read of its stdout and
    //  stderr goes there at once, nothing is kept (the result's output
    //  is empty and max_output does not apply), and the caller may hold
    //  the reading (zc_exec_hold_output) while it cannot take more.
    zc_exec_output_fn *output;
    void *output_arg;
    //  More NAME=VALUE strings for the job's environment, after the
    //  others (NULL-terminated); may be NULL.
    char *const *env;
    //  What the timeout is called in the result's error; NULL: "method_timeout".
    const char *timeout_name;
} zc_exec_spec_t;

//  Starts a job (a command or an argv). Returns NULL with *error
//  malloc'd when it cannot be started: no process was created then, or
//  none that ran the command (e.g. "cannot switch to user nobody:
//  setgroups: ...", "cannot run frob: not found in PATH").
zc_exec_t *zc_exec_start (zloop_t *loop, const zc_exec_spec_t *spec,
                          zc_exec_done_fn *done, void *arg, char **error);
//  A streaming job: stops reading its output while 'hold' (the job
//  blocks once the pipes are full), or starts again. When the shell
//  exits, what is left in the pipes is read all the same (at most
//  16 MiB), held or not.
void zc_exec_hold_output (zc_exec_t *self, bool hold);
//  Terminates the job's process group as a timeout would (SIGTERM, then
//  SIGKILL 2 s later); the job ends CANCELLED once the shell has exited.
void zc_exec_cancel (zc_exec_t *self);
//  True once the job's timeout has passed (it was terminated for it).
bool zc_exec_timed_out (zc_exec_t *self);
//  The job's process group id (== the shell's pid).
pid_t zc_exec_pgid (zc_exec_t *self);
//  Kills the whole process group now (SIGKILL) and completes the job with
//  state INTERRUPTED before returning (the done callback runs inside).
void zc_exec_interrupt (zc_exec_t *self);
//  Frees a finished job; a job still running is interrupted first.
//  Pending SIGKILL timers of finished jobs are kept by the module until
//  they fire, so destroying right away is safe.
//  Interrupt or destroy a running job from a poller or reader handler,
//  a done callback, or a timer handler that returns -1: czmq's zloop
//  dispatches an iteration's poll events after its timers, from a
//  snapshot, so a job freed by a timer handler that returns 0 could
//  still get a stale event.
void zc_exec_destroy (zc_exec_t **self_p);

//  When the job's shell started, in clock ticks since boot (field 22 of
//  /proc/PID/stat); with the pgid it names the process group of this job
//  and no later one that reuses the number. 0 if unknown.
uint64_t zc_exec_start_ticks (zc_exec_t *self);

//  Kills (SIGKILL) what is left of a job of a previous life of the agent:
//  every process in process group 'pgid' that started at or after
//  'start_ticks'. Returns how many processes were signalled.
int zc_exec_kill_leftovers (pid_t pgid, uint64_t start_ticks);

//  Runs argv (a program on PATH) in the foreground with the caller's
//  stdio and environment, each "NAME=VALUE" of 'env' (NULL-terminated,
//  or NULL) replacing its namesake, and waits for it. Returns its exit
//  status (128 + N when killed by signal N), or -1 with errno when it
//  could not be started. (The CLI's `sub -- COMMAND`.)
int zc_exec_foreground (char *const argv [], char *const env []);

int zc_exec_test (bool verbose);
#endif
