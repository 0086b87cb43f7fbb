/*  log.h — one timestamped line per event on stderr.

    zc_log_init sets the program tag and whether debug lines are shown (-v).
    Lines look like: 2026-11-21T22:52:08.123Z zcnc-hub[1234] info: text
*/
#ifndef ZC_LOG_H
#define ZC_LOG_H
#include <stdbool.h>
#include <stddef.h>

void zc_log_init (const char *tag, bool verbose);
void zc_debug (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
void zc_info (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
void zc_warn (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
void zc_error (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
//  For functions that report problems through a 'char **error': sets
//  *error (when error is not NULL) to a malloc'd message. Returns -1.
int zc_fail (char **error, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  The tap: warning and error lines of this thread also go to 'fn'
//  (NULL: nowhere), the text without its time stamp and tag, 'error'
//  true for an error line. An agent sets it on the thread of its loop to
//  report its warnings to its error_node (errqueue.h); per thread, so
//  agents sharing a process (the self-tests) each have their own. The
//  tap is not called again for a line logged while it runs.
typedef void (zc_log_tap_fn) (bool error, const char *text, void *arg);
void zc_log_tap (zc_log_tap_fn *fn, void *arg);
//  Lines logged between zc_log_tap_pause (true) and zc_log_tap_pause
//  (false) do not go to the tap (pauses nest): the lines of the error
//  events' own path, which must not make events of their own.
void zc_log_tap_pause (bool pause);
//  A warning reported another way already (a job refused is reported as
//  a denial): logged, not tapped.
void zc_warn_untapped (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

//  Warnings logged once per distinct 'what' (a reason and who caused it),
//  so that a peer that keeps misbehaving cannot flood the log. Remembers
//  at most 'max' of them; past that, new ones are logged every time.
typedef struct _zc_log_once_t zc_log_once_t;
zc_log_once_t *zc_log_once_new (size_t max);
void zc_log_once_destroy (zc_log_once_t **self_p);
//  Forgets what was logged (after a change that makes it news again).
void zc_log_once_reset (zc_log_once_t *self);
void zc_warn_once (zc_log_once_t *self, const char *what, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));
#endif
