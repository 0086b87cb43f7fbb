/*  exec.c — running one shell command (or a program) as a job (see exec.h).

    The only module that forks. The shell is started in a process group
    of its own, with posix_spawn, or, when the job switches users (which
    posix_spawn cannot do), with fork and a child that makes only
    async-signal-safe calls. Its stdin, stdout and stderr are pipes whose
    parent ends are non-blocking and polled in the caller's zloop, next to
    a pidfd that becomes readable when the shell exits. Nothing here
    blocks, except reaping a shell that was just sent SIGKILL and reading
    a forked child's report of its way to exec (a few system calls).

    Without pidfds (under valgrind, or Linux before 5.3) a timer peeking
    with waitid stands in for the pidfd.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "prelude.h"
#include "log.h"
#include "exec.h"

#define S_KILL_DELAY    2000    //  ms from SIGTERM to SIGKILL
#define S_PEEK_INTERVAL 10      //  ms between exit checks without pidfds
#define S_CHUNK         65536   //  bytes per read
#define S_READS_PER_EVENT   16  //  so a chatty command cannot starve the loop
#define S_READS_TO_DRAIN    256 //  bounds the final drain (16 MiB)

//  One captured output stream.
typedef struct {
    int fd;                     //  parent's read end, -1 once at EOF
    uint8_t *data;
    size_t size, capacity;
    bool truncated;
} s_capture_t;

struct _zc_exec_t {
    zloop_t *loop;
    pid_t pid;                  //  the shell, also the process group id
    int pidfd;                  //  readable once the shell has exited
    int peek_timer_id;          //  without pidfds: timer standing in for one
    int in_fd;                  //  parent's stdin write end, -1 when done
    uint8_t *data;              //  stdin, copied
    size_t data_size, data_sent;
    s_capture_t out, err;
    size_t max_output;
    double timeout;
    char timeout_name [32];     //  what the timeout is called in the error
    int timer_id;               //  timeout timer, 0 when none is pending
    bool timed_out;
    bool cancelled;             //  zc_exec_cancel: terminated on request
    bool finished;              //  the done callback has been called
    bool in_callback;           //  it is running now
    bool doomed;                //  zc_exec_destroy was called
    uint64_t started_ms;
    zc_result_t *result;        //  allocated at start, so finishing cannot fail
    zc_exec_done_fn *done;
    void *done_arg;
    zc_exec_output_fn *output;  //  streaming: reads go here, nothing is kept
    void *output_arg;
    bool held;                  //  streaming: the output pipes are not read now
};

static void s_free (zc_exec_t *self);

//  The environment and identity every job of an agent shares.
struct _zc_exec_context_t {
    char **env;                 //  NULL-terminated NAME=VALUE, owned
    size_t env_count;
    char *user;                 //  for messages; may be NULL
    char *home;                 //  may be NULL
    char *workdir;              //  NULL: home if it can be entered, else /
    bool switch_user;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t group_count;
};

//  The context of a spec without one: the agent's ids, /, and only what
//  a shell needs of an environment.
static char *s_minimal_env [] = {
    (char *) "PATH=" ZC_EXEC_DEFAULT_PATH, (char *) "SHELL=/bin/sh", (char *) "LANG=C.UTF-8", NULL
};
static const zc_exec_context_t s_minimal = {
    .env = s_minimal_env, .env_count = 3, .workdir = (char *) "/"
};


//  Creates a pipe whose ends are close-on-exec and above stderr, so the
//  child's dup2 onto 0, 1 and 2 never clobbers another end (a daemon may
//  run with its standard fds closed). Returns 0, or -1 with errno set.
static int
s_pipe (int fds [2])
{
    if (pipe2 (fds, O_CLOEXEC) == -1)
        return -1;
    for (int end = 0; end < 2; end++) {
        if (fds [end] > STDERR_FILENO)
            continue;
        int moved = fcntl (fds [end], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        int saved = errno;
        close (fds [end]);
        fds [end] = moved;
        if (moved == -1) {
            close (fds [1 - end]);
            errno = saved;
            return -1;
        }
    }
    return 0;
}

//  Closes an fd if open and marks it closed.
static void
s_close (int *fd_p)
{
    if (*fd_p != -1) {
        close (*fd_p);
        *fd_p = -1;
    }
}

//  Registers a tolerant zloop poller on one fd: POLLHUP and POLLERR come to
//  our handlers, which see EOF or EPIPE, instead of zloop dropping the fd.
static int
s_watch (zc_exec_t *self, int fd, short events, zloop_fn *handler)
{
    zmq_pollitem_t item = { NULL, fd, events, 0 };
    if (zloop_poller (self->loop, &item, handler, self))
        return -1;
    zloop_poller_set_tolerant (self->loop, &item);
    return 0;
}

//  Ends the poller on an fd (zloop identifies it by fd), then closes it.
static void
s_unwatch (zc_exec_t *self, int *fd_p)
{
    if (*fd_p != -1) {
        zmq_pollitem_t item = { NULL, *fd_p, 0, 0 };
        zloop_poller_end (self->loop, &item);
        s_close (fd_p);
    }
}

//  Writes without letting a pipe whose reader is gone kill this process:
//  SIGPIPE is blocked in this thread around the write, and the one the
//  write raised is consumed. Returns what write returned, errno intact.
static ssize_t
s_write_quietly (int fd, const void *data, size_t size)
{
    sigset_t sigpipe, saved, pending;
    sigemptyset (&sigpipe);
    sigaddset (&sigpipe, SIGPIPE);
    pthread_sigmask (SIG_BLOCK, &sigpipe, &saved);
    sigpending (&pending);
    bool was_pending = sigismember (&pending, SIGPIPE);
    ssize_t rc = write (fd, data, size);
    int write_errno = errno;
    if (rc == -1 && write_errno == EPIPE && !was_pending) {
        struct timespec zero = { 0, 0 };
        sigtimedwait (&sigpipe, NULL, &zero);
    }
    pthread_sigmask (SIG_SETMASK, &saved, NULL);
    errno = write_errno;
    return rc;
}

//  Feeds stdin; closes it once all data is written, or when the command
//  stopped reading (EPIPE is normal for commands that ignore stdin).
static int
s_on_stdin (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_exec_t *self = (zc_exec_t *) arg;
    ssize_t rc = s_write_quietly (self->in_fd, self->data + self->data_sent,
                                  self->data_size - self->data_sent);
    if (rc > 0)
        self->data_sent += (size_t) rc;
    else
    if (rc == -1 && (errno == EAGAIN || errno == EINTR))
        return 0;
    else
    if (rc == -1 && errno != EPIPE)
        zc_warn ("exec: cannot write stdin of process %d: %s",
                 (int) self->pid, strerror (errno));
    if (rc <= 0 || self->data_sent == self->data_size)
        s_unwatch (self, &self->in_fd);
    return 0;
}

//  Keeps up to max_output bytes of a chunk; past that, marks truncation.
static void
s_capture_add (s_capture_t *capture, size_t max_output,
               const uint8_t *chunk, size_t size)
{
    size_t keep = max_output - capture->size;
    if (keep > size)
        keep = size;
    if (capture->size + keep > capture->capacity) {
        size_t capacity = capture->capacity? capture->capacity * 2: 4096;
        if (capacity < capture->size + keep)
            capacity = capture->size + keep;
        if (capacity > max_output)
            capacity = max_output;
        uint8_t *data = (uint8_t *) zc_realloc (capture->data, capacity);
        if (!data)
            keep = 0;       //  out of memory: keep what we have
        else {
            capture->data = data;
            capture->capacity = capacity;
        }
    }
    if (keep)
        memcpy (capture->data + capture->size, chunk, keep);
    capture->size += keep;
    if (keep < size)
        capture->truncated = true;
}

//  Reads an output pipe until it would block, up to max_reads reads;
//  at EOF or on an error, stops watching it.
static void
s_capture_read (zc_exec_t *self, s_capture_t *capture, int max_reads)
{
    uint8_t chunk [S_CHUNK];
    for (int reads = 0; capture->fd != -1 && reads < max_reads; reads++) {
        ssize_t rc = read (capture->fd, chunk, sizeof chunk);
        if (rc > 0 && self->output)
            self->output (self, capture == &self->out? ZC_STREAM_STDOUT: ZC_STREAM_STDERR,
                          chunk, (size_t) rc, self->output_arg);
        else
        if (rc > 0)
            s_capture_add (capture, self->max_output, chunk, (size_t) rc);
        else
        if (rc == -1 && errno == EINTR)
            continue;
        else
        if (rc == -1 && errno == EAGAIN)
            break;
        else {
            if (rc == -1)
                zc_warn ("exec: cannot read output of process %d: %s",
                         (int) self->pid, strerror (errno));
            s_unwatch (self, &capture->fd);
        }
    }
}

//  Reads stdout or stderr, whichever the event is for.
static int
s_on_output (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_exec_t *self = (zc_exec_t *) arg;
    s_capture_read (self, item->fd == self->out.fd? &self->out: &self->err,
                    S_READS_PER_EVENT);
    return 0;
}

//  Sends SIGKILL to the process group in the timer's arg. The arg is the
//  pgid itself, not the job, so the job may be gone by now.
static int
s_on_kill_group (zloop_t *loop, int timer_id, void *arg)
{
    pid_t pgid = (pid_t) (intptr_t) arg;
    kill (-pgid, SIGKILL);
    return 0;
}

//  Sends SIGTERM to a process group now and SIGKILL 2 s later, unless the
//  group is gone already (most commands leave nothing behind).
static void
s_terminate_group (zloop_t *loop, pid_t pgid)
{
    if (kill (-pgid, SIGTERM) == -1 && errno == ESRCH)
        return;
    if (zloop_timer (loop, S_KILL_DELAY, 1, s_on_kill_group,
                     (void *) (intptr_t) pgid) == -1) {
        zc_warn ("exec: cannot schedule SIGKILL for process group %d; killing it now",
                 (int) pgid);
        kill (-pgid, SIGKILL);
    }
}

//  The timeout passed: terminate the group; the job ends when the shell
//  has exited.
static int
s_on_timeout (zloop_t *loop, int timer_id, void *arg)
{
    zc_exec_t *self = (zc_exec_t *) arg;
    self->timer_id = 0;         //  a once-timer: zloop drops it itself
    self->timed_out = true;
    zc_info ("exec: process group %d exceeded its %g s timeout; terminating it",
             (int) self->pid, self->timeout);
    s_terminate_group (loop, self->pid);
    return 0;
}

//  Ends the job's pollers and timers (not the SIGKILL timers, which do not
//  refer to it) and closes its fds.
static void
s_stop_watching (zc_exec_t *self)
{
    s_unwatch (self, &self->in_fd);
    s_unwatch (self, &self->out.fd);
    s_unwatch (self, &self->err.fd);
    s_unwatch (self, &self->pidfd);
    if (self->timer_id) {
        zloop_timer_end (self->loop, self->timer_id);
        self->timer_id = 0;
    }
    if (self->peek_timer_id) {
        zloop_timer_end (self->loop, self->peek_timer_id);
        self->peek_timer_id = 0;
    }
}

//  Stops watching everything, hands the result to the done callback, and
//  frees the job afterwards if it was destroyed meanwhile. The caller must
//  not touch self after this.
static void
s_finish (zc_exec_t *self, zc_state_t state, int status, char *error)
{
    s_stop_watching (self);
    self->finished = true;

    zc_result_t *result = self->result;
    self->result = NULL;
    result->state = state;
    result->error = error;
    if (WIFEXITED (status))
        result->exit_code = WEXITSTATUS (status);
    else
    if (WIFSIGNALED (status)) {
        result->signal = WTERMSIG (status);
        result->exit_code = 128 + result->signal;
    }
    result->started_ms = self->started_ms;
    result->finished_ms = (uint64_t) zclock_time ();
    result->out = self->out.data;
    result->out_size = self->out.size;
    result->stdout_truncated = self->out.truncated;
    result->err = self->err.data;
    result->err_size = self->err.size;
    result->stderr_truncated = self->err.truncated;
    self->out.data = self->err.data = NULL;

    self->in_callback = true;
    self->done (self, result, self->done_arg);
    self->in_callback = false;
    if (self->doomed)
        s_free (self);
}

//  The shell exited: collect what it wrote, terminate what it left behind,
//  and finish the job.
static int
s_on_exit (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_exec_t *self = (zc_exec_t *) arg;
    int status = 0;
    pid_t rc = waitpid (self->pid, &status, WNOHANG);
    while (rc == -1 && errno == EINTR)
        rc = waitpid (self->pid, &status, WNOHANG);
    if (rc == 0)
        return 0;               //  not exited after all; keep waiting
    if (rc == -1) {
        char *error = zsys_sprintf ("cannot get the exit status of process %d: %s"
                                    " (does something else reap children?)",
                                    (int) self->pid, strerror (errno));
        s_terminate_group (loop, self->pid);
        s_finish (self, ZC_STATE_FAILED, 0, error);
        return 0;
    }
    s_capture_read (self, &self->out, S_READS_TO_DRAIN);
    s_capture_read (self, &self->err, S_READS_TO_DRAIN);
    if (self->cancelled)        //  SIGTERM sent, SIGKILL scheduled already
        s_finish (self, ZC_STATE_CANCELLED, status, zc_strdup ("cancelled while it ran; process group killed"));
    else
    if (self->timed_out)
        s_finish (self, ZC_STATE_FAILED, status,
                  zsys_sprintf ("%s of %g s exceeded; process group killed",
                                self->timeout_name, self->timeout));
    else {
        s_terminate_group (loop, self->pid);
        s_finish (self, ZC_STATE_DONE, status, NULL);
    }
    return 0;
}

//  Without pidfds (valgrind does not know them, nor Linux before 5.3), a
//  timer peeks at the shell and, once it has exited, makes an eventfd in
//  the pidfd's place readable, so the job still ends from a poller: zloop
//  may run stale poll events right after a timer handler, never after a
//  poller that changed the poll set.
static int
s_on_peek (zloop_t *loop, int timer_id, void *arg)
{
    zc_exec_t *self = (zc_exec_t *) arg;
    self->peek_timer_id = 0;    //  a once-timer: zloop drops it itself
    siginfo_t info;
    info.si_pid = 0;
    if (waitid (P_PID, (id_t) self->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0
    &&  info.si_pid == 0) {
        self->peek_timer_id = zloop_timer (loop, S_PEEK_INTERVAL, 1, s_on_peek, self);
        if (self->peek_timer_id != -1)
            return 0;
        self->peek_timer_id = 0;
        zc_error ("exec: cannot watch process %d: out of memory", (int) self->pid);
    }
    eventfd_write (self->pidfd, 1);     //  exited, or s_on_exit says why not
    return 0;
}

//  --------------------------------------------------------------------------
//  Exec contexts: whom jobs run as, where, and their environment

//  The length of the NAME in "NAME=VALUE" (or of a bare NAME).
static size_t
s_env_name_size (const char *entry)
{
    const char *equals = strchr (entry, '=');
    return equals? (size_t) (equals - entry): strlen (entry);
}

//  True for the variables zcnc sets per job, which a config cannot set.
static bool
s_env_reserved (const char *entry)
{
    size_t size = s_env_name_size (entry);
    return (size == 11 && memcmp (entry, "ZCNC_JOB_ID", 11) == 0)
        || (size == 11 && memcmp (entry, "ZCNC_ORIGIN", 11) == 0);
}

//  Puts entry (NAME=VALUE, malloc'd, taken; NULL when out of memory) in
//  the context's environment, replacing a variable of the same name. The
//  array has room: zc_exec_context_new sized it. Returns 0 or -1.
static int
s_env_put (zc_exec_context_t *self, char *entry)
{
    if (!entry)
        return -1;
    size_t size = s_env_name_size (entry);
    for (size_t index = 0; index < self->env_count; index++)
        if (s_env_name_size (self->env [index]) == size
        &&  memcmp (self->env [index], entry, size) == 0) {
            free (self->env [index]);
            self->env [index] = entry;
            return 0;
        }
    self->env [self->env_count++] = entry;
    return 0;
}

zc_exec_context_t *
zc_exec_context_new (const zc_exec_options_t *options)
{
    assert (options);
    assert (options->groups || options->group_count == 0);
    zc_exec_context_t *self = (zc_exec_context_t *) zc_calloc (1, sizeof (zc_exec_context_t));
    size_t pass_count = options->pass_env? zlist_size (options->pass_env): 0;
    size_t env_count = options->env? zlist_size (options->env): 0;
    self->env = (char **) zc_calloc (6 + pass_count + env_count + 1, sizeof (char *));
    self->user = options->user? zc_strdup (options->user): NULL;
    self->home = options->home? zc_strdup (options->home): NULL;
    self->workdir = options->workdir? zc_strdup (options->workdir): NULL;
    self->switch_user = options->switch_user;
    self->uid = options->uid;
    self->gid = options->gid;
    self->group_count = options->group_count;
    self->groups = (gid_t *) zc_malloc ((options->group_count + 1) * sizeof (gid_t));
    bool ok = self->env && self->groups
           && (self->user || !options->user) && (self->home || !options->home)
           && (self->workdir || !options->workdir);
    if (ok && options->group_count)
        memcpy (self->groups, options->groups, options->group_count * sizeof (gid_t));

    //  Defaults, then pass_env, then env: a later one replaces an earlier
    //  variable of the same name.
    const char *path = options->path? options->path: ZC_EXEC_DEFAULT_PATH;
    if (ok)
        ok = s_env_put (self, zsys_sprintf ("PATH=%s", path)) == 0
          && (!self->home || s_env_put (self, zsys_sprintf ("HOME=%s", self->home)) == 0)
          && (!self->user || s_env_put (self, zsys_sprintf ("USER=%s", self->user)) == 0)
          && (!self->user || s_env_put (self, zsys_sprintf ("LOGNAME=%s", self->user)) == 0)
          && s_env_put (self, zc_strdup ("SHELL=/bin/sh")) == 0
          && s_env_put (self, zc_strdup ("LANG=C.UTF-8")) == 0;
    if (ok && options->pass_env)
        for (const char *name = (const char *) zlist_first (options->pass_env); ok && name;
             name = (const char *) zlist_next (options->pass_env)) {
            const char *value = getenv (name);
            if (value && !s_env_reserved (name) && !strchr (name, '='))
                ok = s_env_put (self, zsys_sprintf ("%s=%s", name, value)) == 0;
        }
    if (ok && options->env)
        for (const char *entry = (const char *) zlist_first (options->env); ok && entry;
             entry = (const char *) zlist_next (options->env))
            if (strchr (entry, '=') && !s_env_reserved (entry))
                ok = s_env_put (self, zc_strdup (entry)) == 0;
    if (!ok)
        zc_exec_context_destroy (&self);
    return self;
}

void
zc_exec_context_destroy (zc_exec_context_t **self_p)
{
    assert (self_p);
    zc_exec_context_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; self->env && index < self->env_count; index++)
        free (self->env [index]);
    free (self->env);
    free (self->user);
    free (self->home);
    free (self->workdir);
    free (self->groups);
    free (self);
    *self_p = NULL;
}

const char *
zc_exec_context_switched_user (const zc_exec_context_t *self)
{
    return self && self->switch_user? (self->user? self->user: "another user"): NULL;
}

char *const *
zc_exec_context_env (const zc_exec_context_t *self)
{
    assert (self);
    return self->env;
}

//  Returns a job's environment: the context's, then ZCNC_JOB_ID and
//  ZCNC_ORIGIN when given, then copies of 'more' (may be NULL). The
//  array is new and its first env_count strings are the context's; free
//  it with s_job_env_free. NULL when out of memory.
static char **
s_job_env (const zc_exec_context_t *context, const char *job_id, const char *origin,
           char *const *more)
{
    size_t more_count = 0;
    while (more && more [more_count])
        more_count++;
    char **env = (char **) zc_calloc (context->env_count + 3 + more_count, sizeof (char *));
    if (!env)
        return NULL;
    memcpy (env, context->env, context->env_count * sizeof (char *));
    size_t count = context->env_count;
    bool ok = true;
    if (job_id)
        ok = (env [count++] = zsys_sprintf ("ZCNC_JOB_ID=%s", job_id)) != NULL;
    if (ok && origin)
        ok = (env [count++] = zsys_sprintf ("ZCNC_ORIGIN=%s", origin)) != NULL;
    for (size_t index = 0; ok && index < more_count; index++)
        ok = (env [count++] = zc_strdup (more [index])) != NULL;
    if (!ok) {
        for (size_t index = context->env_count; index < count; index++)
            free (env [index]);
        free (env);
        return NULL;
    }
    return env;
}

static void
s_job_env_free (const zc_exec_context_t *context, char **env)
{
    if (env) {
        for (size_t index = context->env_count; env [index]; index++)
            free (env [index]);
        free (env);
    }
}

//  True when path is a directory this process may enter; else false with
//  errno set.
static bool
s_can_enter (const char *path)
{
    struct stat info;
    if (stat (path, &info) == -1)
        return false;
    if (!S_ISDIR (info.st_mode)) {
        errno = ENOTDIR;
        return false;
    }
    return access (path, X_OK) == 0;
}

//  --------------------------------------------------------------------------
//  Starting the shell

//  The shell's argv: sh -c COMMAND, then the spec's params ($0, $1, ...),
//  which the shell takes as words, never as part of the command. A new
//  array of borrowed strings; the caller frees the array.
static char **
s_shell_argv (const zc_exec_spec_t *spec)
{
    size_t count = spec->params? zlist_size (spec->params): 0;
    char **argv = zc_calloc (count + 4, sizeof (char *));
    argv [0] = (char *) "sh";
    argv [1] = (char *) "-c";
    argv [2] = (char *) spec->command;
    size_t index = 3;
    for (char *param = spec->params? zlist_first (spec->params): NULL; param;
         param = zlist_next (spec->params))
        argv [index++] = param;
    return argv;
}

//  Spawns program 'path' with 'argv' (/bin/sh -c COMMAND, or a program
//  run directly) with the three fds as its stdin, stdout and stderr, in
//  a new process group, with default signal dispositions, an empty
//  signal mask, no other fds, the environment env, in directory dir.
//  Returns 0 or an errno value.
static int
s_spawn (pid_t *pid, const char *path, char *const argv [], int fds [3], char *const env [],
         const char *dir)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init (&actions);
    if (rc)
        return rc;
    rc = posix_spawnattr_init (&attr);
    if (rc) {
        posix_spawn_file_actions_destroy (&actions);
        return rc;
    }
    sigset_t all, none;
    sigfillset (&all);
    sigemptyset (&none);
    for (int stream = 0; stream < 3 && !rc; stream++)
        rc = posix_spawn_file_actions_adddup2 (&actions, fds [stream], stream);
    if (!rc) rc = posix_spawn_file_actions_addclosefrom_np (&actions, STDERR_FILENO + 1);
    if (!rc) rc = posix_spawn_file_actions_addchdir_np (&actions, dir);
    if (!rc) rc = posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETPGROUP
                                                 | POSIX_SPAWN_SETSIGDEF
                                                 | POSIX_SPAWN_SETSIGMASK);
    if (!rc) rc = posix_spawnattr_setpgroup (&attr, 0);
    if (!rc) rc = posix_spawnattr_setsigdefault (&attr, &all);
    if (!rc) rc = posix_spawnattr_setsigmask (&attr, &none);
    if (!rc)
        rc = posix_spawn (pid, path, &actions, &attr, argv, env);
    posix_spawnattr_destroy (&attr);
    posix_spawn_file_actions_destroy (&actions);
    return rc;
}

//  The steps of a forked child on its way to exec, for its report.
typedef enum {
    S_STEP_SETUP = 1,           //  process group, standard fds
    S_STEP_GROUPS,
    S_STEP_GID,
    S_STEP_UID,
    S_STEP_REGAIN,              //  root could be regained after setuid
    S_STEP_CHDIR,
    S_STEP_EXEC
} s_step_t;

//  What a child that did not reach exec writes to its report pipe.
typedef struct {
    int step;
    int error;                  //  errno
} s_report_t;

//  All a forked child needs, prepared before fork.
typedef struct {
    const zc_exec_context_t *context;
    const char *path;           //  the program: /bin/sh, or the argv's
    char *const *argv;
    char *const *env;
    const char *dir;            //  where the shell starts ...
    bool dir_fallback;          //  ... or / when dir cannot be entered
    const int *fds;             //  the shell's stdin, stdout, stderr (all > 2)
    int report_fd;              //  > 2, close-on-exec
    int max_fd;                 //  the fd limit, should close_range fail
    struct sigaction default_action;
    sigset_t no_signals;
} s_child_t;

//  In the child: reports the step that failed and exits.
static void __attribute__ ((noreturn))
s_child_fail (const s_child_t *child, s_step_t step, int error)
{
    s_report_t report = { (int) step, error };
    ssize_t rc = write (child->report_fd, &report, sizeof report);
    (void) rc;                  //  it cannot fail; if it did, the job would end with 127
    _exit (127);
}

//  In the child between fork and exec: only async-signal-safe calls.
//  Takes a process group, default signal dispositions, the three fds and
//  no others; drops to the context's groups, gid and uid and checks that
//  root cannot be regained; enters the directory; then execs the shell
//  with the signal mask emptied. Never returns.
static void __attribute__ ((noreturn))
s_child (const s_child_t *child)
{
    const zc_exec_context_t *context = child->context;
    if (setpgid (0, 0) == -1)
        s_child_fail (child, S_STEP_SETUP, errno);
    //  Fails harmlessly for SIGKILL, SIGSTOP and glibc's own signals.
    for (int signal_number = 1; signal_number < NSIG; signal_number++)
        sigaction (signal_number, &child->default_action, NULL);
    for (int stream = 0; stream < 3; stream++)
        if (dup2 (child->fds [stream], stream) == -1)
            s_child_fail (child, S_STEP_SETUP, errno);
    int keep = child->report_fd;
    if ((keep > 3 && close_range (3, (unsigned) keep - 1, 0) == -1)
    ||  close_range ((unsigned) keep + 1, ~0U, 0) == -1)
        for (int fd = 3; fd < child->max_fd; fd++)
            if (fd != keep)
                close (fd);
    if (context->switch_user) {
        if (setgroups (context->group_count, context->groups) == -1)
            s_child_fail (child, S_STEP_GROUPS, errno);
        if (setgid (context->gid) == -1)
            s_child_fail (child, S_STEP_GID, errno);
        if (setuid (context->uid) == -1)
            s_child_fail (child, S_STEP_UID, errno);
        if (context->uid != 0 && (setuid (0) != -1 || seteuid (0) != -1))
            s_child_fail (child, S_STEP_REGAIN, 0);
    }
    if (chdir (child->dir) == -1) {
        int error = errno;
        if (!child->dir_fallback || chdir ("/") == -1)
            s_child_fail (child, S_STEP_CHDIR, error);
    }
    sigprocmask (SIG_SETMASK, &child->no_signals, NULL);
    execve (child->path, child->argv, child->env);
    s_child_fail (child, S_STEP_EXEC, errno);
}

//  What a child's report means, in words; a malloc'd string. 'path' is
//  the program it was to run.
static char *
s_report_text (const zc_exec_context_t *context, const char *dir, const char *path,
               const s_report_t *report)
{
    const char *user = context->user? context->user: "?";
    const char *reason = strerror (report->error);
    const char *hint = report->error == EPERM? " (the agent must run as root)": "";
    switch ((s_step_t) report->step) {
        case S_STEP_SETUP:
            return zsys_sprintf ("cannot prepare the process for the command: %s", reason);
        case S_STEP_GROUPS:
            return zsys_sprintf ("cannot switch to user %s: setgroups: %s%s", user, reason, hint);
        case S_STEP_GID:
            return zsys_sprintf ("cannot switch to user %s: setgid %u: %s%s",
                                 user, (unsigned) context->gid, reason, hint);
        case S_STEP_UID:
            return zsys_sprintf ("cannot switch to user %s: setuid %u: %s%s",
                                 user, (unsigned) context->uid, reason, hint);
        case S_STEP_REGAIN:
            return zsys_sprintf ("cannot switch to user %s: root could be regained after setuid %u;"
                                 " the command was not run", user, (unsigned) context->uid);
        case S_STEP_CHDIR:
            return zsys_sprintf ("cannot enter working directory %s as user %s: %s (check agent/workdir)",
                                 dir, user, reason);
        case S_STEP_EXEC:
            return zsys_sprintf ("cannot run %s as user %s: %s (check that %s exists"
                                 " and the process limit, ulimit -u)", path, user, reason, path);
    }
    return zc_strdup ("cannot start the command: its process failed before exec");
}

//  Forks a child that switches to the context's user and execs program
//  'path' with 'argv' (see s_child), and waits for its report: EOF once
//  exec succeeded, or the step that failed. Returns NULL with *pid set,
//  or a malloc'd error when no command runs (a failed child is reaped).
static char *
s_fork (pid_t *pid, const zc_exec_context_t *context, const char *path, char *const argv [],
        int fds [3], char *const env [], const char *dir, bool dir_fallback)
{
    int report [2];
    if (s_pipe (report) == -1)
        return zsys_sprintf ("cannot create pipes for the command: %s (check the open"
                             " file limit, ulimit -n)", strerror (errno));
    long max_fd = sysconf (_SC_OPEN_MAX);
    s_child_t child = {
        .context = context, .path = path, .argv = argv, .env = env, .dir = dir,
        .dir_fallback = dir_fallback, .fds = fds, .report_fd = report [1],
        .max_fd = max_fd > 0 && max_fd < 65536? (int) max_fd: 65536,
        .default_action = { .sa_handler = SIG_DFL }
    };
    sigemptyset (&child.default_action.sa_mask);
    sigemptyset (&child.no_signals);
    //  No signal handler may run in the child before the dispositions
    //  are reset: all are blocked around fork (the child unblocks them
    //  just before exec).
    sigset_t all, saved;
    sigfillset (&all);
    pthread_sigmask (SIG_SETMASK, &all, &saved);
    pid_t forked = fork ();
    if (forked == 0)
        s_child (&child);
    int fork_errno = errno;
    pthread_sigmask (SIG_SETMASK, &saved, NULL);
    close (report [1]);
    if (forked == -1) {
        close (report [0]);
        return zsys_sprintf ("cannot start a process for the command: fork: %s (check the"
                             " process limit, ulimit -u)", strerror (fork_errno));
    }
    s_report_t got;
    ssize_t size;
    while ((size = read (report [0], &got, sizeof got)) == -1 && errno == EINTR)
        ;
    close (report [0]);
    if (size == 0) {
        *pid = forked;
        return NULL;
    }
    while (waitpid (forked, NULL, 0) == -1 && errno == EINTR)
        ;
    if (size != (ssize_t) sizeof got)
        return zc_strdup ("cannot start the command: its process failed before exec");
    return s_report_text (context, dir, path, &got);
}

//  Sets O_NONBLOCK on an fd. Returns 0 or -1.
static int
s_set_nonblocking (int fd)
{
    int flags = fcntl (fd, F_GETFL);
    return flags == -1? -1: fcntl (fd, F_SETFL, flags | O_NONBLOCK);
}

//  Frees a job's memory and closes what is still open. Never signals.
static void
s_free (zc_exec_t *self)
{
    s_close (&self->in_fd);
    s_close (&self->out.fd);
    s_close (&self->err.fd);
    s_close (&self->pidfd);
    free (self->data);
    free (self->out.data);
    free (self->err.data);
    zc_result_destroy (&self->result);
    free (self);
}

//  Undoes a start that failed: kills and reaps the shell if there is one,
//  stops watching its fds and frees the job. Sets *error to message (a
//  malloc'd string); returns NULL.
static zc_exec_t *
s_start_failed (zc_exec_t *self, char **error, char *message)
{
    *error = message;
    if (self) {
        if (self->pid > 0) {
            kill (-self->pid, SIGKILL);
            while (waitpid (self->pid, NULL, 0) == -1 && errno == EINTR)
                ;
        }
        s_stop_watching (self);
        s_free (self);
    }
    return NULL;
}

//  The PATH of a NULL-terminated environment, or the default.
static const char *
s_env_path (char *const env [])
{
    for (size_t index = 0; env [index]; index++)
        if (strncmp (env [index], "PATH=", 5) == 0)
            return env [index] + 5;
    return ZC_EXEC_DEFAULT_PATH;
}

//  The program a name stands for: itself when it holds a '/', else the
//  first executable file of that name in the directories of 'search'
//  (as execvp looks, but in the job's PATH, not ours, and never in the
//  working directory for an empty entry). Returns a new
//  string, or NULL with *error malloc'd.
static char *
s_find_program (const char *name, const char *search, char **error)
{
    if (!*name) {
        *error = zc_strdup ("cannot run the command: its program name is empty");
        return NULL;
    }
    if (strchr (name, '/'))
        return zc_strdup (name);
    char *dirs = zc_strdup (search);
    char *found = NULL, *cursor = dirs, *dir;
    while (!found && (dir = strsep (&cursor, ":"))) {
        if (!*dir)
            continue;           //  not the agent's working directory
        char *path = zsys_sprintf ("%s/%s", dir, name);
        struct stat info;
        if (stat (path, &info) == 0 && S_ISREG (info.st_mode) && access (path, X_OK) == 0)
            found = path;
        else
            free (path);
    }
    free (dirs);
    if (!found)
        *error = zsys_sprintf ("cannot run %s: not found in PATH (%s)", name, search);
    return found;
}

//  Starts the process of a job in its context, with the child ends of
//  the pipes: forked when it switches users, else spawned. Sets
//  self->pid. Returns NULL, or a malloc'd error when no command runs.
static char *
s_start_shell (zc_exec_t *self, const zc_exec_spec_t *spec, int fds [3])
{
    const zc_exec_context_t *context = spec->context? spec->context: &s_minimal;
    char **env = s_job_env (context, spec->job_id, spec->origin, spec->env);
    if (!env)
        return zc_strdup ("cannot start the command: out of memory");
    char *problem = NULL;
    char **shell_argv = spec->argv? NULL: s_shell_argv (spec);
    char *const *argv = spec->argv? spec->argv: shell_argv;
    char *path = spec->argv? s_find_program (spec->argv [0], s_env_path (env), &problem)
                           : zc_strdup ("/bin/sh");
    if (problem) {
        free (shell_argv);
        s_job_env_free (context, env);
        return problem;
    }
    if (context->switch_user) {
        //  The child decides, as the user, whether it may enter home.
        const char *dir = context->workdir? context->workdir: context->home? context->home: "/";
        problem = s_fork (&self->pid, context, path, argv, fds, env, dir, !context->workdir);
    }
    else {
        const char *dir = context->workdir;
        if (dir && !s_can_enter (dir))
            problem = zsys_sprintf ("cannot enter working directory %s: %s (check agent/workdir)",
                                    dir, strerror (errno));
        if (!dir)
            dir = context->home && s_can_enter (context->home)? context->home: "/";
        int rc = problem? 0: s_spawn (&self->pid, path, argv, fds, env, dir);
        if (rc)
            problem = zsys_sprintf ("cannot run %s: %s (check that %s exists and the"
                                    " process limit, ulimit -u)", path, strerror (rc), path);
    }
    free (shell_argv);
    s_job_env_free (context, env);
    free (path);
    return problem;
}

zc_exec_t *
zc_exec_start (zloop_t *loop, const zc_exec_spec_t *spec,
               zc_exec_done_fn *done, void *arg, char **error)
{
    assert (loop && spec && (spec->command != NULL) != (spec->argv != NULL) && done && error);
    assert (!spec->argv || spec->argv [0]);
    assert (spec->data || spec->data_size == 0);
    zc_exec_t *self = (zc_exec_t *) zc_calloc (1, sizeof (zc_exec_t));
    if (!self)
        return s_start_failed (NULL, error, zc_strdup ("cannot start the command: out of memory"));
    self->loop = loop;
    self->pidfd = self->in_fd = self->out.fd = self->err.fd = -1;
    self->max_output = spec->max_output;
    self->timeout = spec->timeout;
    snprintf (self->timeout_name, sizeof self->timeout_name, "%s",
              spec->timeout_name? spec->timeout_name: "method_timeout");
    self->done = done;
    self->done_arg = arg;
    self->output = spec->output;
    self->output_arg = spec->output_arg;
    self->result = zc_result_new ();
    self->data_size = spec->data_size;
    if (self->data_size)
        self->data = (uint8_t *) zc_malloc (self->data_size);
    if (!self->result || (self->data_size && !self->data))
        return s_start_failed (self, error, zc_strdup ("cannot start the command: out of memory"));
    if (self->data_size)
        memcpy (self->data, spec->data, self->data_size);

    //  One pipe per standard stream: the shell reads its stdin and writes
    //  the others; we keep the opposite ends, non-blocking.
    int child [3] = { -1, -1, -1 };
    int *ours [3] = { &self->in_fd, &self->out.fd, &self->err.fd };
    for (int stream = 0; stream < 3; stream++) {
        int fds [2];
        if (s_pipe (fds) == 0) {
            child [stream] = fds [stream == 0? 0: 1];
            *ours [stream] = fds [stream == 0? 1: 0];
        }
        if (*ours [stream] == -1 || s_set_nonblocking (*ours [stream])) {
            int saved = errno;
            for (int opened = 0; opened <= stream; opened++)
                s_close (&child [opened]);
            return s_start_failed (self, error, zsys_sprintf (
                "cannot create pipes for the command: %s (check the open"
                " file limit, ulimit -n)", strerror (saved)));
        }
    }
    self->started_ms = (uint64_t) zclock_time ();
    char *problem = s_start_shell (self, spec, child);
    for (int stream = 0; stream < 3; stream++)
        close (child [stream]);
    if (problem) {
        self->pid = 0;
        return s_start_failed (self, error, problem);
    }
    self->pidfd = pidfd_open (self->pid, 0);
    if (self->pidfd == -1 && errno == ENOSYS) {
        self->pidfd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (self->pidfd != -1) {
            self->peek_timer_id = zloop_timer (loop, S_PEEK_INTERVAL, 1, s_on_peek, self);
            if (self->peek_timer_id == -1) {
                self->peek_timer_id = 0;
                return s_start_failed (self, error, zc_strdup ("cannot start the command: out of memory"));
            }
        }
    }
    if (self->pidfd == -1)
        return s_start_failed (self, error, zsys_sprintf (
            "cannot watch process %d: pidfd_open: %s (zcnc needs Linux 5.3"
            " or later)", (int) self->pid, strerror (errno)));
    if (!self->data_size)
        s_close (&self->in_fd);     //  the command sees EOF at once
    if ((self->in_fd != -1 && s_watch (self, self->in_fd, ZMQ_POLLOUT, s_on_stdin))
    ||  s_watch (self, self->out.fd, ZMQ_POLLIN, s_on_output)
    ||  s_watch (self, self->err.fd, ZMQ_POLLIN, s_on_output)
    ||  s_watch (self, self->pidfd, ZMQ_POLLIN, s_on_exit))
        return s_start_failed (self, error, zc_strdup ("cannot start the command: out of memory"));
    if (spec->timeout > 0) {
        double ms = spec->timeout * 1000 + 0.5;
        self->timer_id = zloop_timer (loop, ms > 1? (size_t) ms: 1, 1, s_on_timeout, self);
        if (self->timer_id == -1) {
            self->timer_id = 0;
            return s_start_failed (self, error, zc_strdup ("cannot start the command: out of memory"));
        }
    }
    zc_debug ("exec: started process %d: %s", (int) self->pid, spec->command? spec->command: spec->argv [0]);
    return self;
}

void
zc_exec_hold_output (zc_exec_t *self, bool hold)
{
    assert (self && self->output);
    if (hold == self->held || self->finished)
        return;
    self->held = hold;
    int *fds [2] = { &self->out.fd, &self->err.fd };
    for (int index = 0; index < 2; index++) {
        if (*fds [index] == -1)
            continue;
        if (hold) {
            zmq_pollitem_t item = { NULL, *fds [index], 0, 0 };
            zloop_poller_end (self->loop, &item);
        }
        else
        if (s_watch (self, *fds [index], ZMQ_POLLIN, s_on_output)) {
            //  Out of memory: read what there is; the exit drains the rest.
            zc_error ("exec: cannot watch the output of process %d again", (int) self->pid);
            s_capture_read (self, index? &self->err: &self->out, S_READS_TO_DRAIN);
        }
    }
}

void
zc_exec_cancel (zc_exec_t *self)
{
    if (self->finished || self->cancelled)
        return;
    self->cancelled = true;
    zc_info ("exec: process group %d cancelled; terminating it", (int) self->pid);
    s_terminate_group (self->loop, self->pid);
}

bool
zc_exec_timed_out (zc_exec_t *self)
{
    return self->timed_out;
}

pid_t
zc_exec_pgid (zc_exec_t *self)
{
    assert (self);
    return self->pid;
}

void
zc_exec_interrupt (zc_exec_t *self)
{
    assert (self);
    if (self->finished)
        return;
    kill (-self->pid, SIGKILL);
    int status = 0;
    while (waitpid (self->pid, &status, 0) == -1 && errno == EINTR)
        ;
    s_capture_read (self, &self->out, S_READS_TO_DRAIN);
    s_capture_read (self, &self->err, S_READS_TO_DRAIN);
    s_finish (self, ZC_STATE_INTERRUPTED, status,
              zc_strdup ("agent stopped while the job ran"));
}

void
zc_exec_destroy (zc_exec_t **self_p)
{
    assert (self_p);
    zc_exec_t *self = *self_p;
    if (!self)
        return;
    *self_p = NULL;
    self->doomed = true;
    if (self->in_callback)
        return;                 //  s_finish frees it when the callback returns
    if (self->finished)
        s_free (self);
    else
        zc_exec_interrupt (self);   //  s_finish frees it, since it is doomed
}

//  Reads the process group (field 5) and start time (field 22) of a
//  process from /proc/PID/stat. 0, or -1 when it is gone.
static int
s_proc_stat (pid_t pid, pid_t *pgid, uint64_t *start_ticks)
{
    char path [64], stat [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "re");
    if (!file)
        return -1;
    size_t size = fread (stat, 1, sizeof stat - 1, file);
    fclose (file);
    stat [size] = 0;
    //  The command name (field 2) may hold spaces and parentheses: the
    //  fields that follow start after its last ')'.
    char *rest = strrchr (stat, ')');
    if (!rest)
        return -1;
    char state;
    int parent, group;
    unsigned long long start;
    //  Fields 3..22: state ppid pgrp session tty tpgid flags minflt
    //  cminflt majflt cmajflt utime stime cutime cstime priority nice
    //  num_threads itrealvalue starttime.
    if (sscanf (rest + 1, " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                &state, &parent, &group, &start) != 4)
        return -1;
    *pgid = group;
    *start_ticks = start;
    return 0;
}

uint64_t
zc_exec_start_ticks (zc_exec_t *self)
{
    pid_t group;
    uint64_t start = 0;
    if (s_proc_stat (zc_exec_pgid (self), &group, &start) != 0)
        return 0;
    return start;
}

int
zc_exec_kill_leftovers (pid_t pgid, uint64_t start_ticks)
{
    if (pgid <= 1)
        return 0;
    DIR *proc = opendir ("/proc");
    if (!proc)
        return 0;
    int killed = 0;
    struct dirent *entry;
    while ((entry = readdir (proc))) {
        char *end;
        long pid = strtol (entry->d_name, &end, 10);
        if (*end || pid <= 1)
            continue;
        pid_t group;
        uint64_t start;
        if (s_proc_stat ((pid_t) pid, &group, &start) == 0 && group == pgid && start >= start_ticks
        &&  kill ((pid_t) pid, SIGKILL) == 0)
            killed++;
    }
    closedir (proc);
    return killed;
}


//  --------------------------------------------------------------------------
//  Self-test

//  ---------------------------------------------------------------------
//  A command in the foreground (the CLI's `sub -- COMMAND`)

extern char **environ;

int
zc_exec_foreground (char *const argv [], char *const env [])
{
    //  The caller's environment, with each NAME=VALUE of env replacing
    //  its namesake.
    size_t own = 0, added = 0;
    while (environ [own])
        own++;
    while (env && env [added])
        added++;
    char **merged = zc_calloc (own + added + 1, sizeof *merged);
    size_t count = 0;
    for (size_t index = 0; index < own; index++) {
        bool replaced = false;
        for (size_t other = 0; other < added && !replaced; other++) {
            const char *equals = strchr (env [other], '=');
            size_t length = equals? (size_t) (equals - env [other]) + 1: strlen (env [other]);
            replaced = strncmp (environ [index], env [other], length) == 0;
        }
        if (!replaced)
            merged [count++] = environ [index];
    }
    for (size_t other = 0; other < added; other++)
        merged [count++] = env [other];
    pid_t pid;
    int rc = posix_spawnp (&pid, argv [0], NULL, NULL, argv, merged);
    free (merged);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    int status;
    while (waitpid (pid, &status, 0) == -1)
        if (errno != EINTR)
            return -1;
    return WIFEXITED (status)? WEXITSTATUS (status): 128 + WTERMSIG (status);
}

#include <sys/resource.h>
#include "testing.h"

//  What the tests learn about one job.
typedef struct {
    zc_exec_t *proc;            //  NULL once the done callback has run
    zc_result_t *result;
    int calls;                  //  done callback calls
    pid_t pgid;
    int64_t started, elapsed;   //  monotonic ms
} s_outcome_t;

//  Done callback: keeps the result and destroys the job from inside the
//  callback, as the contract allows.
static void
s_test_done (zc_exec_t *proc, zc_result_t *result, void *arg)
{
    s_outcome_t *outcome = (s_outcome_t *) arg;
    outcome->calls++;
    outcome->result = result;
    outcome->elapsed = zclock_mono () - outcome->started;
    outcome->proc = NULL;
    zc_exec_destroy (&proc);
}

//  Starts a job in the loop; false with the error logged if it did not start.
static bool
s_test_start (zloop_t *loop, const zc_exec_spec_t *spec, s_outcome_t *outcome)
{
    memset (outcome, 0, sizeof *outcome);
    outcome->started = zclock_mono ();
    char *error = NULL;
    outcome->proc = zc_exec_start (loop, spec, s_test_done, outcome, &error);
    if (!outcome->proc) {
        printf ("# cannot start '%s': %s\n", spec->command? spec->command: spec->argv [0], error);
        free (error);
        return false;
    }
    outcome->pgid = zc_exec_pgid (outcome->proc);
    return true;
}

static int
s_test_give_up (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

//  Runs the loop until check (called every 10 ms) returns -1, for at most
//  max_ms.
static void
s_test_loop (zloop_t *loop, zloop_timer_fn *check, void *arg, size_t max_ms)
{
    int check_id = zloop_timer (loop, 10, 0, check, arg);
    int give_up_id = zloop_timer (loop, max_ms, 1, s_test_give_up, NULL);
    zloop_start (loop);
    zloop_timer_end (loop, check_id);
    zloop_timer_end (loop, give_up_id);
}

//  Loop check: -1 once every outcome of a NULL-terminated list has a result.
static int
s_test_all_done (zloop_t *loop, int timer_id, void *arg)
{
    for (s_outcome_t **outcome = (s_outcome_t **) arg; *outcome; outcome++)
        if (!(*outcome)->result)
            return 0;
    return -1;
}

//  Runs one job to its end (at most 30 s) in a loop of its own. The result
//  is in outcome->result (NULL if it did not start or end); the caller
//  destroys it.
static void
s_test_run (const zc_exec_spec_t *spec, s_outcome_t *outcome)
{
    zloop_t *loop = zloop_new ();
    assert (loop);
    if (s_test_start (loop, spec, outcome)) {
        s_outcome_t *outcomes [] = { outcome, NULL };
        s_test_loop (loop, s_test_all_done, outcomes, 30000);
        zc_exec_destroy (&outcome->proc);
    }
    zloop_destroy (&loop);
}

//  True if a process no longer exists or is a zombie (which only waits for
//  its parent, perhaps init, to reap it).
static bool
s_test_gone (pid_t pid)
{
    if (kill (pid, 0) == -1 && errno == ESRCH)
        return true;
    char path [64], stat [512] = "";
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return true;
    size_t size = fread (stat, 1, sizeof stat - 1, file);
    fclose (file);
    stat [size] = 0;
    char *paren = strrchr (stat, ')');
    return !paren || paren [1] == 0 || paren [2] == 'Z' || paren [2] == 'X';
}

//  Loop check: -1 once the process *arg is gone.
static int
s_test_pid_gone (zloop_t *loop, int timer_id, void *arg)
{
    return s_test_gone (*(pid_t *) arg)? -1: 0;
}

//  Reads the pid a test command wrote to a file; 0 if none.
static pid_t
s_test_read_pid (const char *path)
{
    int pid = 0;
    FILE *file = fopen (path, "r");
    if (file) {
        if (fscanf (file, "%d", &pid) != 1)
            pid = 0;
        fclose (file);
    }
    return (pid_t) pid;
}

//  True if a captured stream holds exactly the string.
static bool
s_test_is (const uint8_t *data, size_t size, const char *string)
{
    return size == strlen (string) && (size == 0 || memcmp (data, string, size) == 0);
}

//  Timer that interrupts the job of the outcome, checking the callback
//  ran inside; ends the loop (returning -1 makes that safe in a timer).
static int
s_test_interrupt (zloop_t *loop, int timer_id, void *arg)
{
    s_outcome_t *outcome = (s_outcome_t *) arg;
    zc_exec_interrupt (outcome->proc);
    if (outcome->calls != 1)
        outcome->calls = -1;    //  flags the failure to the test
    return -1;
}

//  A job's stdout as a string (malloc'd), "" when there is no result.
static char *
s_test_stdout (const zc_result_t *result)
{
    if (!result)
        return zc_strdup ("");
    char *text = (char *) zc_malloc (result->out_size + 1);
    assert (text);
    if (result->out_size)
        memcpy (text, result->out, result->out_size);
    text [result->out_size] = 0;
    return text;
}

//  Runs command in context; returns its stdout (malloc'd).
static char *
s_test_output (const zc_exec_context_t *context, const char *command)
{
    zc_exec_spec_t spec = {
        .command = command, .max_output = 4096, .context = context,
        .job_id = "01JOBID.n1", .origin = "o1"
    };
    s_outcome_t outcome;
    s_test_run (&spec, &outcome);
    char *text = s_test_stdout (outcome.result);
    zc_result_destroy (&outcome.result);
    return text;
}

//  Tries to start command in context, expecting it not to start. Returns
//  the error (malloc'd), NULL if it started.
static char *
s_test_refused (const zc_exec_context_t *context, const char *command)
{
    zloop_t *loop = zloop_new ();
    assert (loop);
    zc_exec_spec_t spec = { .command = command, .max_output = 1024, .context = context };
    s_outcome_t outcome;
    memset (&outcome, 0, sizeof outcome);
    char *error = NULL;
    outcome.proc = zc_exec_start (loop, &spec, s_test_done, &outcome, &error);
    if (outcome.proc) {
        s_outcome_t *outcomes [] = { &outcome, NULL };
        s_test_loop (loop, s_test_all_done, outcomes, 30000);
        zc_exec_destroy (&outcome.proc);    //  if it did not end
        zc_result_destroy (&outcome.result);
    }
    zloop_destroy (&loop);
    return error;
}

//  Contexts: the clean environment, the working directory, the user.
static int
s_test_contexts (bool verbose, const char *dir)
{
    ZC_TEST_BEGIN;
    setenv ("ZC_EXEC_TEST_SECRET", "leaked", 1);
    setenv ("ZC_EXEC_TEST_PASSED", "passed on", 1);
    setenv ("ZCNC_ORIGIN", "forged", 1);
    unsetenv ("ZC_EXEC_TEST_UNSET");

    //  Without a context: none of our environment, only what a shell
    //  needs, in /, and the job's ID and origin.
    char *text = s_test_output (NULL, "env | LC_ALL=C sort; pwd");
    ZC_CHECK_STR (text, "LANG=C.UTF-8\n"
                        "PATH=" ZC_EXEC_DEFAULT_PATH "\n"
                        "PWD=/\n"
                        "SHELL=/bin/sh\n"
                        "ZCNC_JOB_ID=01JOBID.n1\n"
                        "ZCNC_ORIGIN=o1\n"
                        "/\n");
    zstr_free (&text);

    //  With one: defaults, then pass_env, then env, each replacing what
    //  came before; the per-job variables cannot be set by either; the
    //  home directory is the working directory.
    zlist_t *pass_env = zlist_new ();
    zlist_t *env = zlist_new ();
    assert (pass_env && env);
    zlist_append (pass_env, "ZC_EXEC_TEST_PASSED");
    zlist_append (pass_env, "ZC_EXEC_TEST_UNSET");
    zlist_append (pass_env, "ZCNC_ORIGIN");
    zlist_append (env, "LANG=C");
    zlist_append (env, "ZC_X=a b=c $(touch x)");
    zlist_append (env, "ZCNC_JOB_ID=forged");
    zc_exec_options_t options = {
        .user = "someone", .home = dir, .path = "/usr/bin:/bin",
        .pass_env = pass_env, .env = env
    };
    zc_exec_context_t *context = zc_exec_context_new (&options);
    ZC_CHECK (context);
    if (context) {
        char *const *entries = zc_exec_context_env (context);
        char *home = zsys_sprintf ("HOME=%s", dir);
        const char *want [] = { "PATH=/usr/bin:/bin", home, "USER=someone", "LOGNAME=someone",
                                "SHELL=/bin/sh", "LANG=C", "ZC_EXEC_TEST_PASSED=passed on",
                                "ZC_X=a b=c $(touch x)", NULL };
        size_t index = 0;
        for (; want [index]; index++)
            ZC_CHECK_STR (entries [index], want [index]);
        ZC_CHECK (entries [index] == NULL);
        zstr_free (&home);

        text = s_test_output (context, "env | LC_ALL=C sort; ls");
        char *expected = zsys_sprintf (
            "HOME=%s\nLANG=C\nLOGNAME=someone\nPATH=/usr/bin:/bin\nPWD=%s\nSHELL=/bin/sh\n"
            "USER=someone\nZCNC_JOB_ID=01JOBID.n1\nZCNC_ORIGIN=o1\n"
            "ZC_EXEC_TEST_PASSED=passed on\nZC_X=a b=c $(touch x)\n", dir, dir);
        ZC_CHECK_STR (text, expected);        //  and nothing was touched
        zstr_free (&expected);
        zstr_free (&text);
    }
    zc_exec_context_destroy (&context);
    ZC_CHECK (context == NULL);

    //  A home that is missing means /; a workdir that is missing fails
    //  the job, which does not start.
    options = (zc_exec_options_t) { .user = "someone", .home = "/nonexistent-zc-home" };
    context = zc_exec_context_new (&options);
    text = s_test_output (context, "pwd; echo $HOME");
    ZC_CHECK_STR (text, "/\n/nonexistent-zc-home\n");
    zstr_free (&text);
    zc_exec_context_destroy (&context);

    char *marker = zsys_sprintf ("%s/marker", dir);
    char *touch = zsys_sprintf ("touch %s", marker);
    options.workdir = "/nonexistent-zc-workdir";
    context = zc_exec_context_new (&options);
    char *error = s_test_refused (context, touch);
    ZC_CHECK_STR (error, "cannot enter working directory /nonexistent-zc-workdir:"
                         " No such file or directory (check agent/workdir)");
    zstr_free (&error);
    zc_exec_context_destroy (&context);
    options.workdir = dir;
    context = zc_exec_context_new (&options);
    text = s_test_output (context, "pwd");
    char *expected = zsys_sprintf ("%s\n", dir);
    ZC_CHECK_STR (text, expected);
    zstr_free (&expected);
    zstr_free (&text);
    zc_exec_context_destroy (&context);

    //  A switch that fails is reported, and the command never runs:
    //  more groups than the kernel takes (EINVAL for root, EPERM for
    //  anyone else).
    size_t too_many = 65537;
    gid_t *groups = (gid_t *) zc_calloc (too_many, sizeof (gid_t));
    assert (groups);
    options = (zc_exec_options_t) {
        .user = "nobody", .home = "/", .switch_user = true, .uid = 65534, .gid = 65534,
        .groups = groups, .group_count = too_many
    };
    context = zc_exec_context_new (&options);
    error = s_test_refused (context, touch);
    ZC_CHECK (error && strncmp (error, "cannot switch to user nobody: setgroups: ", 41) == 0);
    if (verbose && error)
        printf ("# %s\n", error);
    zstr_free (&error);
    ZC_CHECK (access (marker, F_OK) == -1);
    zc_exec_context_destroy (&context);
    free (groups);

    if (geteuid () != 0) {
        printf ("# SKIP switching users: not root\n");
        zstr_free (&marker);
        zstr_free (&touch);
        zlist_destroy (&pass_env);
        zlist_destroy (&env);
        return ZC_TEST_END;
    }
    //  As root: the job runs as nobody with exactly its groups, for good
    //  (saved ids too: setuid(0) must fail), without capabilities, with
    //  default signal handling, in its own group, with no fd of ours.
    gid_t nobody_groups [] = { 65534 };
    options = (zc_exec_options_t) {
        .user = "nobody", .home = "/nonexistent-zc-home", .switch_user = true,
        .uid = 65534, .gid = 65534, .groups = nobody_groups, .group_count = 1,
        .env = env
    };
    context = zc_exec_context_new (&options);
    struct sigaction ignore = { .sa_handler = SIG_IGN }, saved_usr2;
    sigaction (SIGUSR2, &ignore, &saved_usr2);
    sigset_t usr1, saved_mask;
    sigemptyset (&usr1);
    sigaddset (&usr1, SIGUSR1);
    pthread_sigmask (SIG_BLOCK, &usr1, &saved_mask);
    int leaky = open ("/dev/null", O_RDONLY);
    gid_t saved_groups [256], ours [] = { 4, 27 };
    int saved_count = getgroups (256, saved_groups);
    ZC_CHECK (saved_count >= 0 && setgroups (2, ours) == 0);    //  not for the job
    text = s_test_output (context,
        "id -u; id -g; id -G; pwd; echo $USER $HOME $ZCNC_JOB_ID $ZC_X;"
        " grep -E '^(Uid|Gid|Groups|SigBlk|CapPrm|CapEff):' /proc/self/status;"
        " echo $(( 0x$(grep SigIgn /proc/self/status | cut -f2) & 0x7fffffff )); ls /proc/self/fd;"
        " test $(cut -d' ' -f5 /proc/$$/stat) = $$ && echo own group");
    close (leaky);
    ZC_CHECK (saved_count >= 0 && setgroups ((size_t) saved_count, saved_groups) == 0);
    sigaction (SIGUSR2, &saved_usr2, NULL);
    pthread_sigmask (SIG_SETMASK, &saved_mask, NULL);
    ZC_CHECK_STR (text, "65534\n65534\n65534\n/\nnobody /nonexistent-zc-home 01JOBID.n1 a b=c $(touch x)\n"
                        "Uid:\t65534\t65534\t65534\t65534\n"
                        "Gid:\t65534\t65534\t65534\t65534\n"
                        "Groups:\t65534 \n"
                        "SigBlk:\t0000000000000000\n"
                        "CapPrm:\t0000000000000000\n"
                        "CapEff:\t0000000000000000\n"
                        "0\n"                   //  SigIgn, glibc's own 32 and 33 aside
                        "0\n1\n2\n3\n"
                        "own group\n");
    zstr_free (&text);

    //  stdin, and a timeout, work as for spawned jobs
    zc_exec_spec_t spec = {
        .command = "cat; sleep 100", .data = (const uint8_t *) "fed\n", .data_size = 4,
        .timeout = 0.3, .max_output = 1024, .context = context
    };
    s_outcome_t outcome;
    s_test_run (&spec, &outcome);
    zc_result_t *result = outcome.result;
    ZC_CHECK (result && result->state == ZC_STATE_FAILED && result->signal == SIGTERM
              && s_test_is (result->out, result->out_size, "fed\n"));
    zc_result_destroy (&outcome.result);
    //  and so do parameters
    zlist_t *params = zlist_new ();
    zlist_append (params, "f");
    zlist_append (params, "a; id");
    spec = (zc_exec_spec_t) { .command = "echo \"$0:$1\"", .params = params, .max_output = 1024,
                              .context = context };
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->state == ZC_STATE_DONE && s_test_is (result->out, result->out_size, "f:a; id\n"));
    zc_result_destroy (&outcome.result);
    zlist_destroy (&params);

    //  A directory nobody may not enter: the job fails as that user
    zc_exec_context_destroy (&context);
    options.workdir = dir;      //  mode 0700, root's
    context = zc_exec_context_new (&options);
    error = s_test_refused (context, touch);
    expected = zsys_sprintf ("cannot enter working directory %s as user nobody:"
                             " Permission denied (check agent/workdir)", dir);
    ZC_CHECK_STR (error, expected);
    ZC_CHECK (access (marker, F_OK) == -1);
    zstr_free (&expected);
    zstr_free (&error);
    zc_exec_context_destroy (&context);

    zstr_free (&marker);
    zstr_free (&touch);
    zlist_destroy (&pass_env);
    zlist_destroy (&env);
    unsetenv ("ZC_EXEC_TEST_SECRET");
    unsetenv ("ZC_EXEC_TEST_PASSED");
    unsetenv ("ZCNC_ORIGIN");
    return ZC_TEST_END;
}

//  A program run directly: its arguments reach it as they are (no shell
//  sees them), it is found in the job's PATH, the extra environment and
//  the timeout's name are there; a program that is not found never runs.
static int
s_test_argv (const char *dir)
{
    ZC_TEST_BEGIN;
    s_outcome_t outcome;
    char *marker = zsys_sprintf ("%s/argv-marker", dir);
    char *sneaky = zsys_sprintf ("$(touch %s); `touch %s` 'q\"", marker, marker);
    char *argv [] = { "printf", "[%s]\\n", sneaky, "a b", "*", NULL };
    char *env [] = { "ZC_EXEC_TEST_EXTRA=yes", NULL };
    zc_exec_spec_t spec = { .argv = argv, .max_output = 4096, .env = env };
    s_test_run (&spec, &outcome);
    char *want = zsys_sprintf ("[%s]\n[a b]\n[*]\n", sneaky);
    ZC_CHECK (outcome.result && outcome.result->state == ZC_STATE_DONE && outcome.result->exit_code == 0);
    ZC_CHECK (outcome.result && s_test_is (outcome.result->out, outcome.result->out_size, want));
    ZC_CHECK (access (marker, F_OK) == -1);
    zc_result_destroy (&outcome.result);
    zstr_free (&want);

    //  stdin, the environment and an absolute program name
    char *env_argv [] = { "/bin/sh", "-c", "cat; echo \"$ZC_EXEC_TEST_EXTRA $ZCNC_JOB_ID\"", NULL };
    spec.argv = env_argv;
    spec.data = (const uint8_t *) "in\0put\n";
    spec.data_size = 7;
    spec.job_id = "J1";
    s_test_run (&spec, &outcome);
    ZC_CHECK (outcome.result && outcome.result->out_size == 14 && memcmp (outcome.result->out, "in\0put\nyes J1\n", 14) == 0);
    zc_result_destroy (&outcome.result);
    spec.data = NULL;
    spec.data_size = 0;
    spec.job_id = NULL;

    //  The timeout is named as the caller says
    char *slow [] = { "sleep", "10", NULL };
    spec.argv = slow;
    spec.timeout = 0.2;
    spec.timeout_name = "reply_timeout";
    s_test_run (&spec, &outcome);
    ZC_CHECK (outcome.result && outcome.result->state == ZC_STATE_FAILED);
    ZC_CHECK_STR (outcome.result? outcome.result->error: NULL,
                  "reply_timeout of 0.2 s exceeded; process group killed");
    zc_result_destroy (&outcome.result);
    spec.timeout = 0;

    //  Not found: no process, a reason
    char *missing [] = { "zc-exec-test-no-such-program", NULL };
    spec.argv = missing;
    zloop_t *loop = zloop_new ();
    char *error = NULL;
    memset (&outcome, 0, sizeof outcome);
    zc_exec_t *proc = zc_exec_start (loop, &spec, s_test_done, &outcome, &error);
    ZC_CHECK (proc == NULL && outcome.calls == 0);
    ZC_CHECK_STR (error, "cannot run zc-exec-test-no-such-program: not found in PATH ("
                         ZC_EXEC_DEFAULT_PATH ")");
    zstr_free (&error);
    char *empty [] = { "", NULL };
    spec.argv = empty;
    proc = zc_exec_start (loop, &spec, s_test_done, &outcome, &error);
    ZC_CHECK (proc == NULL);
    ZC_CHECK_STR (error, "cannot run the command: its program name is empty");
    zstr_free (&error);
    char *absent [] = { "/nonexistent/zc-exec-test", NULL };
    spec.argv = absent;
    memset (&outcome, 0, sizeof outcome);
    proc = zc_exec_start (loop, &spec, s_test_done, &outcome, &error);
    if (proc) {
        //  Under valgrind, whose vfork differs, a child that could not
        //  exec ends with 127.
        outcome.proc = proc;
        s_outcome_t *outcomes [] = { &outcome, NULL };
        s_test_loop (loop, s_test_all_done, outcomes, 10000);
        ZC_CHECK (outcome.result && outcome.result->exit_code == 127);
        zc_result_destroy (&outcome.result);
    }
    else
        ZC_CHECK (error && strstr (error, "cannot run /nonexistent/zc-exec-test: No such file"));
    zstr_free (&error);
    zloop_destroy (&loop);
    zstr_free (&sneaky);
    zstr_free (&marker);
    return ZC_TEST_END;
}

int
zc_exec_test (bool verbose)
{
    //  A foreground command sees the variables it is given, over the
    //  caller's own; its exit status and a signal come back.
    {
        ZC_TEST_BEGIN;
        setenv ("ZC_EXEC_TEST_OWN", "kept", 1);
        setenv ("ZC_EXEC_TEST_OVER", "old", 1);
        char *argv [] = { "/bin/sh", "-c", "test \"$ZC_EXEC_TEST_OWN.$ZC_EXEC_TEST_OVER\" = kept.new && exit 7", NULL };
        char *env [] = { "ZC_EXEC_TEST_OVER=new", NULL };
        ZC_CHECK (zc_exec_foreground (argv, env) == 7);
        char *killed [] = { "/bin/sh", "-c", "kill -TERM $$", NULL };
        ZC_CHECK (zc_exec_foreground (killed, NULL) == 128 + SIGTERM);
        char *missing [] = { "/nonexistent/zc-exec-test", NULL };
        //  Refused by posix_spawn, or (under valgrind, whose vfork differs)
        //  a child that could not exec: 127, as a shell says it.
        int status = zc_exec_foreground (missing, NULL);
        ZC_CHECK ((status == -1 && errno == ENOENT) || status == 127);
        unsetenv ("ZC_EXEC_TEST_OWN");
        unsetenv ("ZC_EXEC_TEST_OVER");
        if (zc_test_failures_)
            return -1;
    }
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-exec-test-XXXXXX";
    ZC_CHECK (mkdtemp (dir));
    char *pidfile = zsys_sprintf ("%s/pid", dir);
    s_outcome_t outcome;
    zc_result_t *result;

    //  stdout, exit status, times
    zc_exec_spec_t spec = { .command = "echo hi", .max_output = 1024 };
    uint64_t before = (uint64_t) zclock_time ();
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && outcome.calls == 1);
    if (result) {
        ZC_CHECK (result->state == ZC_STATE_DONE);
        ZC_CHECK (s_test_is (result->out, result->out_size, "hi\n"));
        ZC_CHECK (result->err_size == 0);
        ZC_CHECK (result->exit_code == 0 && result->signal == 0);
        ZC_CHECK (!result->stdout_truncated && !result->stderr_truncated);
        ZC_CHECK (result->error == NULL);
        ZC_CHECK (result->started_ms >= before);
        ZC_CHECK (result->finished_ms >= result->started_ms);
        ZC_CHECK (result->finished_ms <= (uint64_t) zclock_time ());
    }
    zc_result_destroy (&outcome.result);

    //  Parameters are words after the command: $0, $1, ...; never code.
    zlist_t *params = zlist_new ();
    zlist_append (params, "greet");
    zlist_append (params, "a  b");
    zlist_append (params, "it's \"quoted\"; rm -rf x");
    zlist_append (params, "$(touch pwned)`touch pwned`");
    zlist_append (params, "");
    spec.command = "printf '%s|' \"$0\" \"$#\" \"$@\"; test -e pwned && echo pwned";
    spec.params = params;
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->state == ZC_STATE_DONE && result->exit_code == 1
              && s_test_is (result->out, result->out_size,
                            "greet|4|a  b|it's \"quoted\"; rm -rf x|$(touch pwned)`touch pwned`||"));
    zc_result_destroy (&outcome.result);
    spec.params = NULL;
    zlist_destroy (&params);

    spec.command = "exit 7";
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->state == ZC_STATE_DONE && result->exit_code == 7
              && result->signal == 0 && result->out_size == 0);
    zc_result_destroy (&outcome.result);

    //  stderr
    spec.command = "echo out; echo oops >&2; exit 3";
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->exit_code == 3
              && s_test_is (result->out, result->out_size, "out\n")
              && s_test_is (result->err, result->err_size, "oops\n"));
    zc_result_destroy (&outcome.result);

    //  stdin: small, none, and more than a pipe holds both ways
    spec.command = "cat";
    spec.data = (const uint8_t *) "hello\n";
    spec.data_size = 6;
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->exit_code == 0
              && s_test_is (result->out, result->out_size, "hello\n"));
    zc_result_destroy (&outcome.result);

    spec.data = NULL;
    spec.data_size = 0;
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->exit_code == 0 && result->out_size == 0);
    zc_result_destroy (&outcome.result);

    size_t big_size = 1024 * 1024;
    uint8_t *big = (uint8_t *) zc_malloc (big_size);
    assert (big);
    for (size_t index = 0; index < big_size; index++)
        big [index] = (uint8_t) (index * 7 + index / 251);
    spec.data = big;
    spec.data_size = 300000;
    spec.max_output = big_size;
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->exit_code == 0 && !result->stdout_truncated
              && result->out_size == 300000
              && memcmp (result->out, big, 300000) == 0);
    zc_result_destroy (&outcome.result);

    //  Commands that do not read stdin: the write fails with EPIPE, which
    //  must neither fail the job nor kill us with SIGPIPE, not ignored here.
    struct sigaction dfl = { .sa_handler = SIG_DFL }, saved_pipe;
    sigaction (SIGPIPE, &dfl, &saved_pipe);
    const char *no_readers [] = { "true", "exec 0<&-; sleep 0.2", "true", NULL };
    for (const char **command = no_readers; *command; command++) {
        spec.command = *command;
        spec.data_size = big_size;
        s_test_run (&spec, &outcome);
        result = outcome.result;
        ZC_CHECK (result && result->state == ZC_STATE_DONE
                  && result->exit_code == 0 && result->error == NULL);
        zc_result_destroy (&outcome.result);
    }
    sigaction (SIGPIPE, &saved_pipe, NULL);
    spec.data = NULL;
    spec.data_size = 0;
    spec.max_output = 1024;

    //  Killed by a signal
    spec.command = "kill -9 $$";
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->state == ZC_STATE_DONE
              && result->exit_code == 137 && result->signal == 9);
    zc_result_destroy (&outcome.result);

    //  Truncation, per stream, and output exactly at the limit
    spec.command = "head -c 100000 /dev/zero";
    spec.max_output = 1000;
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->exit_code == 0 && result->out_size == 1000
              && result->stdout_truncated && !result->stderr_truncated);
    zc_result_destroy (&outcome.result);

    spec.command = "head -c 5000 /dev/zero >&2; printf abc";
    spec.max_output = 3;
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->exit_code == 0 && result->err_size == 3
              && result->stderr_truncated && !result->stdout_truncated
              && s_test_is (result->out, result->out_size, "abc"));
    zc_result_destroy (&outcome.result);
    spec.max_output = 1024;

    //  A background child holding the pipes does not keep the job open,
    //  and gets SIGTERM when the shell exits.
    char *command = zsys_sprintf ("sleep 100 & echo $! >%s; echo started", pidfile);
    spec.command = command;
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->exit_code == 0 && outcome.elapsed < 1500
              && s_test_is (result->out, result->out_size, "started\n"));
    zc_result_destroy (&outcome.result);
    pid_t child = s_test_read_pid (pidfile);
    ZC_CHECK (child > 0);
    for (int tries = 0; child > 0 && !s_test_gone (child) && tries < 500; tries++)
        zclock_sleep (10);
    ZC_CHECK (child > 0 && s_test_gone (child));
    zstr_free (&command);
    unlink (pidfile);

    //  Default signal dispositions and an empty mask, whatever ours are
    struct sigaction ignore = { .sa_handler = SIG_IGN }, saved_usr2;
    sigaction (SIGPIPE, &ignore, &saved_pipe);
    sigaction (SIGUSR2, &ignore, &saved_usr2);
    sigset_t usr1, saved_mask;
    sigemptyset (&usr1);
    sigaddset (&usr1, SIGUSR1);
    pthread_sigmask (SIG_BLOCK, &usr1, &saved_mask);
    spec.command = "yes | head -1";
    s_test_run (&spec, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->exit_code == 0 && result->err_size == 0
              && s_test_is (result->out, result->out_size, "y\n"));
    zc_result_destroy (&outcome.result);

    //  (glibc keeps its internal signals 32 and 33 ignored; no command
    //  can use them anyway)
    spec.command = "grep -E '^Sig(Blk|Ign)' /proc/self/status";
    s_test_run (&spec, &outcome);
    result = outcome.result;
    unsigned long long blocked = 1, ignored = 1;
    if (result && result->out_size < 200) {
        char text [200];
        memcpy (text, result->out, result->out_size);
        text [result->out_size] = 0;
        if (sscanf (text, "SigBlk: %llx SigIgn: %llx", &blocked, &ignored) != 2)
            blocked = ignored = 1;
    }
    ZC_CHECK (blocked == 0 && (ignored & 0x7fffffffULL) == 0);
    zc_result_destroy (&outcome.result);
    sigaction (SIGPIPE, &saved_pipe, NULL);
    sigaction (SIGUSR2, &saved_usr2, NULL);
    pthread_sigmask (SIG_SETMASK, &saved_mask, NULL);

    //  Its own process group, and none of our fds (one here is inheritable)
    int leaky = open ("/dev/null", O_RDONLY);
    ZC_CHECK (leaky > STDERR_FILENO);
    spec.command = "cut -d' ' -f5 /proc/$$/stat; ls /proc/self/fd";
    s_test_run (&spec, &outcome);
    result = outcome.result;
    char *expected = zsys_sprintf ("%d\n0\n1\n2\n3\n", (int) outcome.pgid);
    ZC_CHECK (outcome.pgid > 0 && outcome.pgid != getpgrp ());
    ZC_CHECK (result && s_test_is (result->out, result->out_size, expected));
    zstr_free (&expected);
    zc_result_destroy (&outcome.result);
    close (leaky);

    //  Timeout: the group gets SIGTERM, then SIGKILL 2 s later, which a
    //  child ignoring SIGTERM needs.
    command = zsys_sprintf ("(trap '' TERM; exec sleep 100) & echo $! >%s;"
                            " sleep 100; echo never", pidfile);
    spec.command = command;
    spec.timeout = 0.5;
    zloop_t *loop = zloop_new ();
    assert (loop);
    if (s_test_start (loop, &spec, &outcome)) {
        s_outcome_t *outcomes [] = { &outcome, NULL };
        s_test_loop (loop, s_test_all_done, outcomes, 30000);
    }
    result = outcome.result;
    ZC_CHECK (result && result->state == ZC_STATE_FAILED);
    if (result) {
        ZC_CHECK_STR (result->error, "method_timeout of 0.5 s exceeded; process group killed");
        ZC_CHECK (result->signal == SIGTERM && result->exit_code == 128 + SIGTERM);
        ZC_CHECK (result->out_size == 0);
        ZC_CHECK (outcome.elapsed >= 450 && outcome.elapsed < 1900);
    }
    zc_result_destroy (&outcome.result);
    child = s_test_read_pid (pidfile);
    ZC_CHECK (child > 0 && !s_test_gone (child));       //  ignored SIGTERM
    if (child > 0) {
        int64_t waited = zclock_mono ();
        s_test_loop (loop, s_test_pid_gone, &child, 10000);
        waited = zclock_mono () - waited;
        ZC_CHECK (s_test_gone (child));
        ZC_CHECK (waited > 500 && waited < 4000);
        kill (child, SIGKILL);      //  in case the test failed
    }
    zc_exec_destroy (&outcome.proc);
    zloop_destroy (&loop);
    zstr_free (&command);
    unlink (pidfile);
    spec.timeout = 0;

    //  Two jobs at once in one loop
    loop = zloop_new ();
    assert (loop);
    s_outcome_t slow, fast;
    spec.command = "sleep 0.3; echo slow";
    bool started = s_test_start (loop, &spec, &slow);
    spec.command = "echo fast";
    started = s_test_start (loop, &spec, &fast) && started;
    ZC_CHECK (started);
    if (started) {
        s_outcome_t *outcomes [] = { &slow, &fast, NULL };
        s_test_loop (loop, s_test_all_done, outcomes, 30000);
    }
    zc_exec_destroy (&slow.proc);
    zc_exec_destroy (&fast.proc);
    ZC_CHECK (slow.result && s_test_is (slow.result->out, slow.result->out_size, "slow\n"));
    ZC_CHECK (fast.result && s_test_is (fast.result->out, fast.result->out_size, "fast\n"));
    ZC_CHECK (fast.elapsed < slow.elapsed);
    zc_result_destroy (&slow.result);
    zc_result_destroy (&fast.result);
    zloop_destroy (&loop);

    //  Interrupt: the callback runs inside, the group is gone at once
    loop = zloop_new ();
    assert (loop);
    command = zsys_sprintf ("sleep 100 & echo $! >%s; echo started; wait", pidfile);
    spec.command = command;
    if (s_test_start (loop, &spec, &outcome)) {
        zloop_timer (loop, 300, 1, s_test_interrupt, &outcome);
        zloop_start (loop);
    }
    result = outcome.result;
    ZC_CHECK (outcome.calls == 1 && outcome.proc == NULL);
    ZC_CHECK (result && result->state == ZC_STATE_INTERRUPTED);
    if (result) {
        ZC_CHECK_STR (result->error, "agent stopped while the job ran");
        ZC_CHECK (result->exit_code == 137 && result->signal == SIGKILL);
        ZC_CHECK (s_test_is (result->out, result->out_size, "started\n"));
    }
    ZC_CHECK (outcome.pgid > 0 && kill (outcome.pgid, 0) == -1 && errno == ESRCH);
    child = s_test_read_pid (pidfile);
    for (int tries = 0; child > 0 && !s_test_gone (child) && tries < 100; tries++)
        zclock_sleep (10);      //  SIGKILL is sent, death takes a moment
    ZC_CHECK (child > 0 && s_test_gone (child));
    zc_result_destroy (&outcome.result);
    zstr_free (&command);
    unlink (pidfile);
    zloop_destroy (&loop);

    //  Destroying a running job interrupts it; a finished job destroys quietly
    loop = zloop_new ();
    assert (loop);
    spec.command = "sleep 100";
    if (s_test_start (loop, &spec, &outcome))
        zc_exec_destroy (&outcome.proc);
    ZC_CHECK (outcome.calls == 1 && outcome.proc == NULL);
    ZC_CHECK (outcome.result && outcome.result->state == ZC_STATE_INTERRUPTED);
    zc_result_destroy (&outcome.result);
    zloop_destroy (&loop);

    //  A start that fails creates no process, calls nothing, says why
    struct rlimit saved_limit, limit;
    getrlimit (RLIMIT_NOFILE, &saved_limit);
    int lowest = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    ZC_CHECK (lowest > STDERR_FILENO);
    close (lowest);
    limit = saved_limit;
    limit.rlim_cur = (rlim_t) lowest + 1;       //  room for one fd, not a pipe
    ZC_CHECK (setrlimit (RLIMIT_NOFILE, &limit) == 0);
    loop = zloop_new ();
    assert (loop);
    memset (&outcome, 0, sizeof outcome);
    char *error = NULL;
    spec.command = "echo never";
    zc_exec_t *proc = zc_exec_start (loop, &spec, s_test_done, &outcome, &error);
    setrlimit (RLIMIT_NOFILE, &saved_limit);
    ZC_CHECK (proc == NULL && outcome.calls == 0);
    ZC_CHECK (error && strstr (error, "cannot create pipes for the command: "
                               "Too many open files (check the open file limit"));
    if (verbose && error)
        printf ("# %s\n", error);
    zstr_free (&error);
    zc_exec_destroy (&proc);
    zloop_destroy (&loop);

    ZC_CHECK (s_test_argv (dir) == 0);
    ZC_CHECK (s_test_contexts (verbose, dir) == 0);

    free (big);
    zstr_free (&pidfile);
    rmdir (dir);
    return ZC_TEST_END;
}
