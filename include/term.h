/*  term.h — what the client commands show on a terminal and never
    anywhere else: colour for states and failures, and a progress line
    that is redrawn in place while a fan-out waits for its answers.

    A stream is in one of three modes. Not a terminal (a pipe, a file):
    nothing but the plain text, ever. A terminal without colour (NO_COLOR
    set to anything but the empty string, see no-color.org, or
    TERM=dumb): the progress line is drawn with carriage returns and
    blanks only, and no escape byte is written. A terminal: colour, and
    the progress line uses ESC [K to clear.
*/
#ifndef ZC_TERM_H
#define ZC_TERM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    ZC_TERM_PLAIN,              //  not a terminal
    ZC_TERM_TTY,                //  a terminal, no escape sequences
    ZC_TERM_COLOUR              //  a terminal with colour
} zc_term_mode_t;

//  What a state is painted with.
typedef enum {
    ZC_PAINT_NONE,
    ZC_PAINT_GOOD,              //  green: done, online, connected
    ZC_PAINT_BAD,               //  red: failed, denied, offline...
    ZC_PAINT_WAIT               //  yellow: queued, sent, running
} zc_paint_t;

//  The mode of a stream: from isatty(3) of its descriptor, $NO_COLOR
//  and $TERM.
zc_term_mode_t zc_term_mode (FILE *stream);
//  The escape sequence that starts or ends 'paint' in 'mode'; "" unless
//  mode is ZC_TERM_COLOUR and paint is not ZC_PAINT_NONE. Static strings.
const char *zc_term_on (zc_term_mode_t mode, zc_paint_t paint);
const char *zc_term_off (zc_term_mode_t mode, zc_paint_t paint);
//  The paint of a job state (SPEC.md: queued, sent, running, done,
//  failed, ...); 'exit' is its exit status, or -1 when it has none (a
//  done job that exited non-zero is a failure). Unknown states: none.
zc_paint_t zc_term_state_paint (const char *state, int exit);
//  Prints 'text' painted, padded with blanks to 'width' columns (the
//  escape bytes do not count), as printf's "%-*s" would align it.
void zc_term_print (FILE *stream, zc_term_mode_t mode, zc_paint_t paint, int width, const char *text);

//  The progress line of a fan-out: "zcnc: 3/10 answered (1 failed),
//  7 pending, 2.4 s".
typedef struct _zc_progress_t zc_progress_t;

//  A progress line on 'stream', which is in 'mode'; 'start' is when
//  the wait began (any clock in seconds, the one 'now' uses below).
//  NULL in ZC_TERM_PLAIN mode: every function below takes NULL and then
//  does nothing, so a caller needs no test of its own. One at a time:
//  until it is destroyed, SIGINT and SIGTERM clear a line that is shown,
//  then end the process as they would have.
zc_progress_t *zc_progress_new (FILE *stream, zc_term_mode_t mode, double start);
//  Clears the line if it is shown, restores SIGINT's and SIGTERM's
//  handling, and frees the object.
void zc_progress_destroy (zc_progress_t **self_p);
//  Draws the line over the previous one. At most ten times a second:
//  a call sooner after the last drawing does nothing, unless the line
//  was cleared since.
void zc_progress_draw (zc_progress_t *self, size_t total, size_t answered, size_t failed, double now);
//  Clears the line (call it before printing anything else on the
//  terminal; the next draw brings it back).
void zc_progress_clear (zc_progress_t *self);

int zc_term_test (bool verbose);
#endif
