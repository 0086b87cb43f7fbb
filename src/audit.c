/*  audit.c — the audit log (see audit.h). */
#include <stdio.h>
#include <time.h>
#include "audit.h"

static FILE *s_file;

int
zc_audit_open (const char *path)
{
    zc_audit_close ();
    s_file = fopen (path, "ae");
    return s_file? 0: -1;
}

void
zc_audit_close (void)
{
    if (s_file)
        fclose (s_file);
    s_file = NULL;
}

void
zc_audit (const char *event, const char *job_id, const char *origin,
          const char *target, const char *method, const char *detail)
{
    if (!s_file)
        return;
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r (&now.tv_sec, &tm);
    fprintf (s_file, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s origin=%s target=%s method=%s%s%s\n",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             now.tv_nsec / 1000000, event, job_id, origin, target, method? method: "?",
             detail? " ": "", detail? detail: "");
}

void
zc_audit_flush (void)
{
    if (s_file)
        fflush (s_file);
}
