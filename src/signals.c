/*  signals.c — signal delivery through a signalfd (see signals.h). */
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "signals.h"

int
zc_signals_open (void)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGHUP);
    if (sigprocmask (SIG_BLOCK, &set, NULL) == -1)
        return -1;
    signal (SIGPIPE, SIG_IGN);
    return signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int
zc_signals_read (int fd)
{
    struct signalfd_siginfo info;
    if (read (fd, &info, sizeof info) != sizeof info)
        return 0;
    return (int) info.ssi_signo;
}
