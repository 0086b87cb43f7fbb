/*  audit.c — the audit log (see audit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include "audit.h"
#include "testing.h"

//  Per thread: each agent runs its loop on one thread (two agents share a
//  process only in the self-tests, each on its own thread).
static __thread FILE *s_file;

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

//  Appends a string to the line being built; cuts it at the line's end.
static char *
s_append (char *cursor, char *limit, const char *text)
{
    size_t length = strlen (text);
    if (length > (size_t) (limit - cursor))
        length = (size_t) (limit - cursor);
    memcpy (cursor, text, length);
    return cursor + length;
}

//  The "YYYY-MM-DDTHH:MM:SS." part of the time stamp, formatted once per
//  second: lines come thousands a second, and printf is most of their cost.
static const char *
s_second_text (time_t second)
{
    static __thread time_t cached_second = -1;
    static __thread char cached_text [32];
    if (second != cached_second) {
        struct tm tm;
        gmtime_r (&second, &tm);
        strftime (cached_text, sizeof cached_text, "%Y-%m-%dT%H:%M:%S.", &tm);
        cached_second = second;
    }
    return cached_text;
}

void
zc_audit (const char *event, const char *job_id, const char *origin,
          const char *target, const char *method, const char *detail)
{
    if (!s_file)
        return;
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    char line [1024];
    char *limit = line + sizeof line - 1;       //  room for the newline
    char *cursor = s_append (line, limit, s_second_text (now.tv_sec));
    long millis = now.tv_nsec / 1000000;
    char fraction [] = { (char) ('0' + millis / 100), (char) ('0' + millis / 10 % 10),
                         (char) ('0' + millis % 10), 'Z', ' ', 0 };
    cursor = s_append (cursor, limit, fraction);
    cursor = s_append (cursor, limit, event);
    cursor = s_append (cursor, limit, " ");
    cursor = s_append (cursor, limit, job_id);
    cursor = s_append (cursor, limit, " origin=");
    cursor = s_append (cursor, limit, origin);
    cursor = s_append (cursor, limit, " target=");
    cursor = s_append (cursor, limit, target);
    cursor = s_append (cursor, limit, " method=");
    cursor = s_append (cursor, limit, method? method: "?");
    if (detail) {
        cursor = s_append (cursor, limit, " ");
        cursor = s_append (cursor, limit, detail);
    }
    *cursor++ = '\n';
    fwrite (line, 1, (size_t) (cursor - line), s_file);
}

void
zc_audit_flush (void)
{
    if (s_file)
        fflush (s_file);
}

//  ---------------------------------------------------------------------
//  Self-test

int
zc_audit_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zcnc-audit-test.XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char path [64];
    snprintf (path, sizeof path, "%s/audit.log", dir);
    zc_audit ("accepted", "x", "a", "b", "exec", NULL);     //  no log: dropped
    ZC_CHECK (zc_audit_open (path) == 0);
    zc_audit ("accepted", "01JDQ8ABCDEFGHJKMNPQRSTVWX.web-1", "central", "web-1", "exec", NULL);
    zc_audit ("failed", "01JDQ8ABCDEFGHJKMNPQRSTVWX.web-1", "central", "web-1", NULL,
              "no ACK from web-1 after 3 tries");
    char long_detail [2000];
    memset (long_detail, 'x', sizeof long_detail - 1);
    long_detail [sizeof long_detail - 1] = 0;
    zc_audit ("refused", "j", "o", "t", "ping", long_detail);
    zc_audit_close ();

    FILE *file = fopen (path, "r");
    ZC_CHECK (file != NULL);
    char line [1100];
    const char *want [] = {
        "accepted 01JDQ8ABCDEFGHJKMNPQRSTVWX.web-1 origin=central target=web-1 method=exec\n",
        "failed 01JDQ8ABCDEFGHJKMNPQRSTVWX.web-1 origin=central target=web-1 method=? "
            "no ACK from web-1 after 3 tries\n",
    };
    for (int index = 0; file && index < 3; index++) {
        ZC_CHECK (fgets (line, sizeof line, file) != NULL);
        //  2026-11-21T22:52:08.123Z, then the event.
        ZC_CHECK (strlen (line) > 25 && line [4] == '-' && line [10] == 'T'
                  && line [19] == '.' && line [23] == 'Z' && line [24] == ' ');
        if (index < 2)
            ZC_CHECK_STR (line + 25, want [index]);
        else        //  cut to 1023 characters and the newline
            ZC_CHECK (strlen (line) == 1024 && line [1023] == '\n');
    }
    ZC_CHECK (!file || fgets (line, sizeof line, file) == NULL);
    if (file)
        fclose (file);
    unlink (path);
    rmdir (dir);
    return ZC_TEST_END;
}
