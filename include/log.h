/*  log.h — one timestamped line per event on stderr.

    zc_log_init sets the program tag and whether debug lines are shown (-v).
    Lines look like: 2026-11-21T22:52:08.123Z zcnc-hub[1234] info: text
*/
#ifndef ZC_LOG_H
#define ZC_LOG_H
#include <stdbool.h>

void zc_log_init (const char *tag, bool verbose);
void zc_debug (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
void zc_info (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
void zc_warn (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
void zc_error (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
//  For functions that report problems through a 'char **error': sets
//  *error (when error is not NULL) to a malloc'd message. Returns -1.
int zc_fail (char **error, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
#endif
