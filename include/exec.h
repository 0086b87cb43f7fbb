/*  exec.h — running one shell command as a job (the only module that forks).

    The command runs as /bin/sh -c COMMAND in a new process group, with
    default signal dispositions and an empty signal mask, 'data' on its
    stdin, and stdout/stderr captured up to max_output bytes each (past
    that, output is read and discarded and the truncated flag is set).
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

typedef struct _zc_exec_t zc_exec_t;

//  Called once when the job has ended. The callback takes ownership of
//  'result' (state DONE, or FAILED/INTERRUPTED with error set) and may
//  call zc_exec_destroy on 'proc'.
typedef void (zc_exec_done_fn) (zc_exec_t *proc, zc_result_t *result, void *arg);

typedef struct {
    const char *command;
    const uint8_t *data;        //  stdin; may be NULL
    size_t data_size;
    double timeout;             //  s; 0 = none
    size_t max_output;          //  bytes per stream
} zc_exec_spec_t;

//  Starts a job. Returns NULL with *error malloc'd when it cannot be
//  started (no process was created then).
zc_exec_t *zc_exec_start (zloop_t *loop, const zc_exec_spec_t *spec,
                          zc_exec_done_fn *done, void *arg, char **error);
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

int zc_exec_test (bool verbose);
#endif
