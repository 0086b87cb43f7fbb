/*  log.c — timestamped log lines on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <czmq.h>
#include "log.h"

static const char *s_tag = "zcnc";
static bool s_verbose = false;
//  The tap (log.h), per thread.
static __thread zc_log_tap_fn *s_tap;
static __thread void *s_tap_arg;
static __thread int s_tap_paused;       //  pauses, and the tap's own run

void
zc_log_init (const char *tag, bool verbose)
{
    s_tag = tag;
    s_verbose = verbose;
}

static void s_log (const char *level, const char *format, va_list args)
    __attribute__ ((format (printf, 2, 0)));

static void
s_log (const char *level, const char *format, va_list args)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r (&now.tv_sec, &tm);
    char line [2048];
    int len = snprintf (line, sizeof line,
        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec, now.tv_nsec / 1000000, s_tag, (int) getpid (), level);
    if (len < 0 || (size_t) len >= sizeof line)
        len = 0;
    vsnprintf (line + len, sizeof line - len - 1, format, args);
    //  One write per line, so lines of concurrent processes never mix.
    size_t size = strlen (line);
    line [size] = '\n';
    ssize_t ignored = write (STDERR_FILENO, line, size + 1);
    (void) ignored;
    line [size] = 0;
    bool error = streq (level, "error");
    if (s_tap && !s_tap_paused && (error || streq (level, "warn"))) {
        s_tap_paused++;
        s_tap (error, line + len, s_tap_arg);
        s_tap_paused--;
    }
}

void
zc_log_tap (zc_log_tap_fn *fn, void *arg)
{
    s_tap = fn;
    s_tap_arg = arg;
}

void
zc_log_tap_pause (bool pause)
{
    s_tap_paused += pause? 1: -1;
}

void
zc_warn_untapped (const char *format, ...)
{
    s_tap_paused++;
    va_list args;
    va_start (args, format);
    s_log ("warn", format, args);
    va_end (args);
    s_tap_paused--;
}

#define ZC_LOG_FN(fn, level, guard) \
    void fn (const char *format, ...) \
    { \
        if (!(guard)) return; \
        va_list args; \
        va_start (args, format); \
        s_log (level, format, args); \
        va_end (args); \
    }

ZC_LOG_FN (zc_debug, "debug", s_verbose)
ZC_LOG_FN (zc_info, "info", true)
ZC_LOG_FN (zc_warn, "warn", true)
ZC_LOG_FN (zc_error, "error", true)

int
zc_fail (char **error, const char *format, ...)
{
    if (error) {
        va_list args;
        va_start (args, format);
        if (vasprintf (error, format, args) < 0)
            *error = NULL;
        va_end (args);
    }
    return -1;
}

struct _zc_log_once_t {
    zhashx_t *logged;
    size_t max;
};

zc_log_once_t *
zc_log_once_new (size_t max)
{
    zc_log_once_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->logged = zhashx_new ();
    self->max = max;
    return self;
}

void
zc_log_once_destroy (zc_log_once_t **self_p)
{
    if (*self_p) {
        zhashx_destroy (&(*self_p)->logged);
        free (*self_p);
        *self_p = NULL;
    }
}

void
zc_log_once_reset (zc_log_once_t *self)
{
    zhashx_purge (self->logged);
}

void
zc_warn_once (zc_log_once_t *self, const char *what, const char *format, ...)
{
    if (zhashx_lookup (self->logged, what))
        return;
    if (zhashx_size (self->logged) < self->max)
        zhashx_insert (self->logged, what, (void *) 1);
    va_list args;
    va_start (args, format);
    s_log ("warn", format, args);
    va_end (args);
}
