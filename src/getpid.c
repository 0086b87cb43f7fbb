/*  getpid.c — the process ID without a system call, for libzmq.

    libzmq checks getpid () each time one of its threads signals another
    (to notice a fork): 4 to 7 times per message a daemon handles, each a
    system call (~1 µs on the 2-core VM this was measured on, more under
    load), about a third of a daemon's system calls on a ping's path
    (bench/README.md, issue 14). Linked into the zcnc program, this
    definition is the one libzmq's calls resolve to: the ID read at
    start-up, and again in a child after fork () (pthread_atfork). A
    child made by posix_spawn or vfork runs no atfork handler, and calls
    nothing that asks for its ID before it execs.
*/
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static pid_t s_pid;

static void
s_read (void)
{
    s_pid = (pid_t) syscall (SYS_getpid);
}

__attribute__ ((constructor)) static void
s_start (void)
{
    s_read ();
    pthread_atfork (NULL, NULL, s_read);
}

pid_t
getpid (void)
{
    return s_pid? s_pid: (pid_t) syscall (SYS_getpid);
}
