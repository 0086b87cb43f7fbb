/*  bench-latency.c — job round-trip latency through a running mesh,
    beside the cost of spawning the same command locally.

    usage: bench-latency --socket PATH --node NAME [--count N] [--warmup N]
                         [--zcnc PATH --config FILE [--runs N]]

    Measured in one run, each figure over sequential operations:
      local_spawn_sh_true        posix_spawn /bin/sh -c true + waitpid
      local_spawn_sh_true_pipes  the same the way the agent's exec does it
                                 (own process group, default signals, three
                                 pipes read to EOF): the floor of an exec job
      exec_true_rt               {"to":NODE,"args":["true"],"wait":30} on the
                                 agent socket until its {"end":true} line
      job_ping_rt                the same with "method":"ping": the job
                                 protocol through the mesh without a process
      ping_rt                    {"op":"ping","node":NODE} until its answer
      ping_agent_time            the time_ms the agent reports for those pings
    With --zcnc and --config, also the wall time of whole processes:
      spawn_zcnc_version         `zcnc --version`: a CLI process and nothing else
      zcnc_trigger_true          `zcnc trigger -c FILE NODE:true`
    and finally the ratio p50(exec_true_rt) / p50(local_spawn_sh_true),
    which issue 2 wants at most 2.

    Exits 0 when every operation succeeded, 1 otherwise (the figures of
    the steps that ran are printed either way), 2 on a usage error.
*/
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <czmq.h>
#include "client.h"

#define S_EXEC_WAIT_S   30          //  server-side wait for one exec job
#define S_MARGIN_MS     5000        //  client-side margin over it

extern char **environ;

//  Milliseconds on the monotonic clock, with sub-microsecond resolution.
static double
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  The nearest-rank percentile of sorted samples.
static double
s_percentile (const double *sorted, int count, double fraction)
{
    int rank = (int) ceil (fraction * count);
    return sorted [rank > 0? rank - 1: 0];
}

//  Sorts the samples, prints one figure line and returns its p50
//  (0 when there are no samples).
static double
s_report (const char *name, double *samples, int count, int failed)
{
    if (count == 0) {
        printf ("%-26s no samples (%d failed)\n", name, failed);
        return 0;
    }
    qsort (samples, count, sizeof *samples, s_compare);
    double p50 = s_percentile (samples, count, 0.50);
    printf ("%-26s p50=%.3fms p99=%.3fms min=%.3fms max=%.3fms n=%d",
            name, p50, s_percentile (samples, count, 0.99),
            samples [0], samples [count - 1], count);
    if (failed)
        printf (" failed=%d", failed);
    printf ("\n");
    fflush (stdout);
    return p50;
}

//  ---------------------------------------------------------------------
//  Local processes

//  Waits for a child. 0 when it exited 0, -1 otherwise.
static int
s_wait (pid_t pid)
{
    int status;
    while (waitpid (pid, &status, 0) == -1)
        if (errno != EINTR)
            return -1;
    return WIFEXITED (status) && WEXITSTATUS (status) == 0? 0: -1;
}

//  Runs argv with stdout and stderr on /dev/null. 0 when it exited 0.
static int
s_run_quiet (char **argv)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen (&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn (&pid, argv [0], &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    return rc == 0? s_wait (pid): -1;
}

//  Runs argv as plainly as possible: posix_spawn and waitpid.
//  0 when it exited 0.
static int
s_run_plain (char **argv)
{
    pid_t pid;
    if (posix_spawn (&pid, argv [0], NULL, NULL, argv, environ) != 0)
        return -1;
    return s_wait (pid);
}

//  Runs argv the way src/exec.c runs a job's shell: stdin, stdout and
//  stderr are pipes, the child gets its own process group, default signal
//  dispositions and an empty mask; both outputs are read to EOF before
//  the wait. 0 when it exited 0.
static int
s_run_piped (char **argv)
{
    int fds [3][2];
    for (int index = 0; index < 3; index++)
        if (pipe2 (fds [index], O_CLOEXEC) == -1)
            return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, fds [0][0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2 (&actions, fds [1][1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2 (&actions, fds [2][1], STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init (&attr);
    sigset_t all, none;
    sigfillset (&all);
    sigemptyset (&none);
    posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF
                                     | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setpgroup (&attr, 0);
    posix_spawnattr_setsigdefault (&attr, &all);
    posix_spawnattr_setsigmask (&attr, &none);
    pid_t pid;
    int rc = posix_spawn (&pid, argv [0], &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    posix_spawnattr_destroy (&attr);
    close (fds [0][0]);
    close (fds [0][1]);             //  no data: stdin at EOF at once
    close (fds [1][1]);
    close (fds [2][1]);
    char buffer [4096];
    for (int index = 1; index < 3; index++) {
        while (rc == 0 && read (fds [index][0], buffer, sizeof buffer) > 0)
            ;
        close (fds [index][0]);
    }
    return rc == 0? s_wait (pid): -1;
}

//  ---------------------------------------------------------------------
//  The agent socket

//  Sends a request and reads answers until one for which 'last' is true.
//  Returns that answer (the caller owns it) or NULL after printing why.
static json_t *
s_exchange (zc_client_t *client, json_t *request, int timeout_ms,
            bool (*last) (json_t *answer, int *problems), int *problems)
{
    if (zc_client_send (client, request) != 0) {
        fprintf (stderr, "bench-latency: cannot write to the agent socket\n");
        return NULL;
    }
    while (true) {
        bool timed_out;
        char *error = NULL;
        json_t *answer = zc_client_recv (client, timeout_ms, &timed_out, &error);
        if (!answer) {
            fprintf (stderr, "bench-latency: %s\n", timed_out? "the agent did not answer in time": error);
            free (error);
            return NULL;
        }
        const char *text = json_string_value (json_object_get (answer, "error"));
        if (text && !json_object_get (answer, "id")) {
            fprintf (stderr, "bench-latency: the agent refused the request: %s\n", text);
            json_decref (answer);
            return NULL;
        }
        if (last (answer, problems))
            return answer;
        json_decref (answer);
    }
}

//  A job exchange ends with {"end":true}; a job line that is not
//  "done" with exit 0 counts as a problem.
static bool
s_job_last (json_t *answer, int *problems)
{
    if (json_object_get (answer, "id")) {
        const char *state = json_string_value (json_object_get (answer, "state"));
        json_t *exit_code = json_object_get (answer, "exit");
        if (!state || strcmp (state, "done") != 0
        ||  !json_is_integer (exit_code) || json_integer_value (exit_code) != 0)
            (*problems)++;
    }
    return json_is_true (json_object_get (answer, "end"));
}

//  A ping exchange ends with its one answer; pong false is a problem.
static bool
s_ping_last (json_t *answer, int *problems)
{
    if (!json_is_true (json_object_get (answer, "pong")))
        (*problems)++;
    return true;
}

//  One job's round trip: 0, or -1 when it did not end done with exit 0
//  (*broken set when the exchange itself failed: stop measuring).
static int
s_job_rt (zc_client_t *client, json_t *request, bool *broken)
{
    int problems = 0;
    json_t *end = s_exchange (client, request, S_EXEC_WAIT_S * 1000 + S_MARGIN_MS, s_job_last, &problems);
    if (!end) {
        *broken = true;
        return -1;
    }
    if (json_array_size (json_object_get (end, "pending")) > 0)
        problems++;
    json_decref (end);
    return problems? -1: 0;
}

//  Runs argv warmup + count times with 'run' and prints the times after
//  the warmup. Returns their p50; sets *status to 1 when a run failed.
static double
s_measure_runs (const char *name, int (*run) (char **argv), char **argv,
                int warmup, int count, double *samples, int *status)
{
    int done = 0, failed = 0;
    for (int index = 0; index < warmup + count; index++) {
        double start = s_now_ms ();
        int rc = run (argv);
        double took = s_now_ms () - start;
        if (rc != 0)
            failed++;
        else
        if (index >= warmup)
            samples [done++] = took;
    }
    if (failed)
        *status = 1;
    return s_report (name, samples, done, failed);
}

//  Sends 'request' warmup + count times, one job at a time, and prints
//  the round trips after the warmup. Returns their p50; sets *status to
//  1 when a job failed.
static double
s_measure_jobs (zc_client_t *client, const char *name, json_t *request,
                int warmup, int count, double *samples, int *status)
{
    int done = 0, failed = 0;
    bool broken = false;
    for (int index = 0; index < warmup + count && !broken; index++) {
        double start = s_now_ms ();
        int rc = s_job_rt (client, request, &broken);
        double took = s_now_ms () - start;
        if (rc != 0)
            failed++;
        else
        if (index >= warmup)
            samples [done++] = took;
    }
    if (failed || broken)
        *status = 1;
    return s_report (name, samples, done, failed);
}

//  ---------------------------------------------------------------------

static void
s_usage (void)
{
    fprintf (stderr, "usage: bench-latency --socket PATH --node NAME [--count N] [--warmup N]\n"
                     "                     [--zcnc PATH --config FILE [--runs N]]\n");
}

int
main (int argc, char *argv [])
{
    const char *socket_path = NULL, *node = NULL, *zcnc = NULL, *config = NULL;
    int count = 1000, warmup = 20, runs = 200;
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "count",  required_argument, NULL, 'n' },
        { "node",   required_argument, NULL, 'N' },
        { "runs",   required_argument, NULL, 'r' },
        { "socket", required_argument, NULL, 's' },
        { "warmup", required_argument, NULL, 'w' },
        { "zcnc",   required_argument, NULL, 'z' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "", options, NULL)) != -1)
        switch (option) {
            case 'c': config = optarg; break;
            case 'n': count = atoi (optarg); break;
            case 'N': node = optarg; break;
            case 'r': runs = atoi (optarg); break;
            case 's': socket_path = optarg; break;
            case 'w': warmup = atoi (optarg); break;
            case 'z': zcnc = optarg; break;
            default: s_usage (); return 2;
        }
    if (!socket_path || !node || count < 1 || warmup < 0 || runs < 1 || optind < argc
    ||  (!zcnc != !config)) {
        s_usage ();
        return 2;
    }
    zsys_init ();
    zsys_handler_set (NULL);
    int status = 0;
    int size = count > runs? count: runs;
    double *samples = calloc (size, sizeof *samples);
    double *reported = calloc (size, sizeof *reported);

    //  Local floors first, so nothing of the mesh is in flight.
    char *sh_true [] = { "/bin/sh", "-c", "true", NULL };
    double local_p50 = s_measure_runs ("local_spawn_sh_true", s_run_plain, sh_true,
                                       warmup, count, samples, &status);
    s_measure_runs ("local_spawn_sh_true_pipes", s_run_piped, sh_true, warmup, count, samples, &status);

    char *error = NULL;
    zc_client_t *client = zc_client_new (socket_path, &error);
    if (!client) {
        fprintf (stderr, "bench-latency: %s\n", error);
        free (error);
        free (samples);
        free (reported);
        return 1;
    }
    //  Jobs, one at a time on one connection: exec runs a process at the
    //  target; the ping method answers at once, so it costs the job
    //  protocol alone (REQ, ACK, REPLY, ACK) without the process.
    json_t *request = json_pack ("{s:s, s:[s], s:i}", "to", node, "args", "true", "wait", S_EXEC_WAIT_S);
    double exec_p50 = s_measure_jobs (client, "exec_true_rt", request, warmup, count, samples, &status);
    json_decref (request);
    request = json_pack ("{s:s, s:s, s:i}", "to", node, "method", "ping", "wait", S_EXEC_WAIT_S);
    s_measure_jobs (client, "job_ping_rt", request, warmup, count, samples, &status);
    json_decref (request);

    //  Pings (op ping: no job, no ACKs): the mesh's bare round trip.
    request = json_pack ("{s:s, s:s, s:i}", "op", "ping", "node", node, "timeout", 5);
    int done = 0, failed = 0;
    bool broken = false;
    for (int index = 0; index < warmup + count && !broken; index++) {
        int problems = 0;
        double start = s_now_ms ();
        json_t *answer = s_exchange (client, request, 5000 + S_MARGIN_MS, s_ping_last, &problems);
        double took = s_now_ms () - start;
        if (!answer)
            broken = true;
        if (!answer || problems)
            failed++;
        else
        if (index >= warmup) {
            reported [done] = json_number_value (json_object_get (answer, "time_ms"));
            samples [done++] = took;
        }
        json_decref (answer);
    }
    json_decref (request);
    s_report ("ping_rt", samples, done, failed);
    s_report ("ping_agent_time", reported, done, 0);
    if (failed || broken)
        status = 1;
    zc_client_destroy (&client);

    //  Whole CLI processes, as a user runs them.
    if (zcnc) {
        char target [200];
        snprintf (target, sizeof target, "%s:true", node);
        char *version_argv [] = { (char *) zcnc, "--version", NULL };
        char *trigger_argv [] = { (char *) zcnc, "trigger", "-c", (char *) config, target, NULL };
        s_measure_runs ("spawn_zcnc_version", s_run_quiet, version_argv, warmup, runs, samples, &status);
        s_measure_runs ("zcnc_trigger_true", s_run_quiet, trigger_argv, warmup, runs, samples, &status);
    }
    if (local_p50 > 0 && exec_p50 > 0) {
        double ratio = exec_p50 / local_p50;
        printf ("%-26s %.2f (target <= 2: %s)\n", "ratio_exec_rt_to_local",
                ratio, ratio <= 2? "met": "not met");
    }
    free (samples);
    free (reported);
    return status;
}
