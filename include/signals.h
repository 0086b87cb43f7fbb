/*  signals.h — daemons receive SIGTERM, SIGINT and SIGHUP through a
    signalfd polled in their loop, never in a handler. Call before any
    ZeroMQ context or thread exists, so every thread inherits the mask.
*/
#ifndef ZC_SIGNALS_H
#define ZC_SIGNALS_H

//  Blocks SIGTERM, SIGINT and SIGHUP, ignores SIGPIPE (spawned commands
//  get default dispositions back), and returns a signalfd for the
//  blocked ones, or -1.
int zc_signals_open (void);
//  Reads one pending signal from the fd; its number, or 0 if none.
int zc_signals_read (int fd);
#endif
