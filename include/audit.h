/*  audit.h — the audit log: one line per job event, enough to tell what
    happened to any job. Lines go to a file (DATA/audit.log), appended and
    flushed line by line:

      2026-11-21T22:52:08.123Z accepted 01JDQ8...Z.web-1 origin=central target=web-1 method=exec

    Events at the origin: accepted, sent, acked, result, failed, expired,
    cancelled; at the target: received, started, finished, delivered
    (the origin stored the result), refused. Without an open log, events
    are dropped. Lines are buffered and written by zc_audit_flush, which
    the agent calls after each commit of its store (and at close). The
    log is per thread: an agent's loop runs on one (the self-tests run
    several agents in one process, each on its own thread).
*/
#ifndef ZC_AUDIT_H
#define ZC_AUDIT_H
#include <stdbool.h>

//  Opens (appending) the log file. 0, or -1 with errno.
int zc_audit_open (const char *path);
void zc_audit_close (void);
//  Writes one event line; 'detail' may be NULL.
void zc_audit (const char *event, const char *job_id, const char *origin,
               const char *target, const char *method, const char *detail);
//  Writes the buffered lines to the file.
void zc_audit_flush (void);
int zc_audit_test (bool verbose);
#endif
