/*  term.c — colour and a progress line, on terminals only (see term.h). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <czmq.h>
#include "prelude.h"
#include "term.h"
#include "testing.h"

//  The mode for a stream that is or is not a terminal, given $NO_COLOR
//  and $TERM (NULL when unset).
static zc_term_mode_t
s_mode_for (bool tty, const char *no_color, const char *term)
{
    if (!tty)
        return ZC_TERM_PLAIN;
    if ((no_color && *no_color) || (term && streq (term, "dumb")))
        return ZC_TERM_TTY;
    return ZC_TERM_COLOUR;
}

zc_term_mode_t
zc_term_mode (FILE *stream)
{
    int fd = fileno (stream);
    return s_mode_for (fd >= 0 && isatty (fd), getenv ("NO_COLOR"), getenv ("TERM"));
}

const char *
zc_term_on (zc_term_mode_t mode, zc_paint_t paint)
{
    if (mode != ZC_TERM_COLOUR)
        return "";
    switch (paint) {
        case ZC_PAINT_GOOD: return "\033[32m";
        case ZC_PAINT_BAD:  return "\033[1;31m";
        case ZC_PAINT_WAIT: return "\033[33m";
        default:            return "";
    }
}

const char *
zc_term_off (zc_term_mode_t mode, zc_paint_t paint)
{
    return mode == ZC_TERM_COLOUR && paint != ZC_PAINT_NONE? "\033[0m": "";
}

zc_paint_t
zc_term_state_paint (const char *state, int exit)
{
    if (!state)
        return ZC_PAINT_NONE;
    if (streq (state, "done"))
        return exit > 0? ZC_PAINT_BAD: ZC_PAINT_GOOD;
    if (streq (state, "queued") || streq (state, "sent") || streq (state, "running"))
        return ZC_PAINT_WAIT;
    if (streq (state, "failed") || streq (state, "expired") || streq (state, "interrupted")
    ||  streq (state, "denied") || streq (state, "cancelled"))
        return ZC_PAINT_BAD;
    return ZC_PAINT_NONE;
}

void
zc_term_print (FILE *stream, zc_term_mode_t mode, zc_paint_t paint, int width, const char *text)
{
    text = text? text: "";
    int length = (int) strlen (text);
    fprintf (stream, "%s%s%s%*s", zc_term_on (mode, paint), text, zc_term_off (mode, paint),
             width > length? width - length: 0, "");
}

//  ---------------------------------------------------------------------
//  The progress line

struct _zc_progress_t {
    FILE *stream;
    zc_term_mode_t mode;
    double start;
    double drawn_at;            //  when it was last drawn
    size_t shown;               //  columns on the terminal now; 0 = cleared
};

//  A Ctrl-C (or SIGTERM) while a line is shown clears it before the
//  process dies as it would have: the bytes that clear it are kept here,
//  ready for write(2) in the handler.
static char s_clear [200];
static volatile sig_atomic_t s_clear_size;
static int s_clear_fd = -1;
static struct sigaction s_saved_int, s_saved_term;
static bool s_handling;

static void
s_on_signal (int signal_number)
{
    if (s_clear_size > 0 && s_clear_fd >= 0 && write (s_clear_fd, s_clear, (size_t) s_clear_size) < 0)
        s_clear_size = 0;
    sigaction (SIGINT, &s_saved_int, NULL);
    sigaction (SIGTERM, &s_saved_term, NULL);
    raise (signal_number);
}

//  What clears a line of 'shown' columns in 'mode', for the handler.
static void
s_set_clear (zc_term_mode_t mode, size_t shown)
{
    s_clear_size = 0;
    if (!shown)
        return;
    int size = mode == ZC_TERM_COLOUR? snprintf (s_clear, sizeof s_clear, "\r\033[K")
             : snprintf (s_clear, sizeof s_clear, "\r%*s\r", (int) shown, "");
    s_clear_size = size > 0 && size < (int) sizeof s_clear? size: 0;
}

zc_progress_t *
zc_progress_new (FILE *stream, zc_term_mode_t mode, double start)
{
    if (mode == ZC_TERM_PLAIN)
        return NULL;
    zc_progress_t *self = zc_calloc (1, sizeof *self);
    self->stream = stream;
    self->mode = mode;
    self->start = start;
    if (!s_handling) {
        s_handling = true;
        s_clear_fd = fileno (stream);
        s_clear_size = 0;
        //  A signal that was ignored (a command started in the
        //  background by a shell ignores SIGINT) stays ignored.
        struct sigaction action = { .sa_handler = s_on_signal };
        sigemptyset (&action.sa_mask);
        sigaction (SIGINT, NULL, &s_saved_int);
        sigaction (SIGTERM, NULL, &s_saved_term);
        if (s_saved_int.sa_handler != SIG_IGN)
            sigaction (SIGINT, &action, NULL);
        if (s_saved_term.sa_handler != SIG_IGN)
            sigaction (SIGTERM, &action, NULL);
    }
    return self;
}

void
zc_progress_destroy (zc_progress_t **self_p)
{
    if (!*self_p)
        return;
    zc_progress_clear (*self_p);
    free (*self_p);
    *self_p = NULL;
    if (s_handling) {
        sigaction (SIGINT, &s_saved_int, NULL);
        sigaction (SIGTERM, &s_saved_term, NULL);
        s_handling = false;
        s_clear_size = 0;
    }
}

void
zc_progress_clear (zc_progress_t *self)
{
    if (!self || !self->shown)
        return;
    //  Without escape sequences, blanks over the old text.
    if (self->mode == ZC_TERM_COLOUR)
        fputs ("\r\033[K", self->stream);
    else
        fprintf (self->stream, "\r%*s\r", (int) self->shown, "");
    fflush (self->stream);
    self->shown = 0;
    s_set_clear (self->mode, 0);
}

void
zc_progress_draw (zc_progress_t *self, size_t total, size_t answered, size_t failed, double now)
{
    if (!self || (self->shown && now - self->drawn_at < 0.1))
        return;
    size_t pending = answered < total? total - answered: 0;
    double elapsed = now > self->start? now - self->start: 0;
    char failed_text [32] = "";
    if (failed)
        snprintf (failed_text, sizeof failed_text, " (%zu failed)", failed);
    //  The plain text first, for its width; then, in colour, the same
    //  words with the counts painted.
    char text [160];
    int length = snprintf (text, sizeof text, "zcnc: %zu/%zu answered%s, %zu pending, %.1f s",
                           answered, total, failed_text, pending, elapsed);
    length = length < 0? 0: length >= (int) sizeof text? (int) sizeof text - 1: length;
    if (self->mode == ZC_TERM_COLOUR) {
        zc_paint_t bad = failed? ZC_PAINT_BAD: ZC_PAINT_NONE;
        zc_paint_t wait = pending? ZC_PAINT_WAIT: ZC_PAINT_NONE;
        fprintf (self->stream, "\r\033[Kzcnc: %s%zu%s/%zu answered%s%s%s, %s%zu pending%s, %.1f s",
                 zc_term_on (self->mode, ZC_PAINT_GOOD), answered, zc_term_off (self->mode, ZC_PAINT_GOOD),
                 total, zc_term_on (self->mode, bad), failed_text, zc_term_off (self->mode, bad),
                 zc_term_on (self->mode, wait), pending, zc_term_off (self->mode, wait), elapsed);
    }
    else {
        //  Blanks cover what a longer line left.
        int rest = (int) self->shown > length? (int) self->shown - length: 0;
        fprintf (self->stream, "\r%s%*s", text, rest, "");
        if (rest)
            fprintf (self->stream, "\r%s", text);
    }
    fflush (self->stream);
    self->shown = (size_t) length;
    self->drawn_at = now;
    s_set_clear (self->mode, self->shown);
}

//  ---------------------------------------------------------------------
//  Self-test

//  What 'stream' (an open_memstream) holds now, as a string.
static const char *
s_written (FILE *stream, char **buffer)
{
    fflush (stream);
    return *buffer;
}

int
zc_term_test (bool verbose)
{
    (void) verbose;
    ZC_TEST_BEGIN;

    //  Modes: not a terminal wins over everything; NO_COLOR counts
    //  only when not empty (no-color.org); TERM=dumb has no escapes.
    ZC_CHECK (s_mode_for (false, NULL, "xterm") == ZC_TERM_PLAIN);
    ZC_CHECK (s_mode_for (true, NULL, "xterm") == ZC_TERM_COLOUR);
    ZC_CHECK (s_mode_for (true, NULL, NULL) == ZC_TERM_COLOUR);
    ZC_CHECK (s_mode_for (true, "", "xterm") == ZC_TERM_COLOUR);
    ZC_CHECK (s_mode_for (true, "1", "xterm") == ZC_TERM_TTY);
    ZC_CHECK (s_mode_for (true, "no", "xterm") == ZC_TERM_TTY);
    ZC_CHECK (s_mode_for (true, NULL, "dumb") == ZC_TERM_TTY);
    ZC_CHECK (s_mode_for (false, "1", "dumb") == ZC_TERM_PLAIN);
    //  A memory stream has no descriptor: never a terminal.
    char *buffer = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&buffer, &size);
    ZC_CHECK (zc_term_mode (stream) == ZC_TERM_PLAIN);

    //  Paint: escapes only in colour mode.
    ZC_CHECK_STR (zc_term_on (ZC_TERM_COLOUR, ZC_PAINT_BAD), "\033[1;31m");
    ZC_CHECK_STR (zc_term_off (ZC_TERM_COLOUR, ZC_PAINT_BAD), "\033[0m");
    ZC_CHECK_STR (zc_term_on (ZC_TERM_TTY, ZC_PAINT_BAD), "");
    ZC_CHECK_STR (zc_term_off (ZC_TERM_PLAIN, ZC_PAINT_GOOD), "");
    ZC_CHECK_STR (zc_term_on (ZC_TERM_COLOUR, ZC_PAINT_NONE), "");
    ZC_CHECK_STR (zc_term_off (ZC_TERM_COLOUR, ZC_PAINT_NONE), "");
    ZC_CHECK (zc_term_state_paint ("done", 0) == ZC_PAINT_GOOD);
    ZC_CHECK (zc_term_state_paint ("done", -1) == ZC_PAINT_GOOD);
    ZC_CHECK (zc_term_state_paint ("done", 3) == ZC_PAINT_BAD);
    ZC_CHECK (zc_term_state_paint ("queued", -1) == ZC_PAINT_WAIT);
    ZC_CHECK (zc_term_state_paint ("running", -1) == ZC_PAINT_WAIT);
    ZC_CHECK (zc_term_state_paint ("denied", -1) == ZC_PAINT_BAD);
    ZC_CHECK (zc_term_state_paint ("interrupted", -1) == ZC_PAINT_BAD);
    ZC_CHECK (zc_term_state_paint ("weird", 0) == ZC_PAINT_NONE);
    ZC_CHECK (zc_term_state_paint (NULL, 0) == ZC_PAINT_NONE);

    //  Padding counts the text, not the escapes.
    zc_term_print (stream, ZC_TERM_COLOUR, ZC_PAINT_GOOD, 8, "online");
    fputc ('|', stream);
    zc_term_print (stream, ZC_TERM_PLAIN, ZC_PAINT_GOOD, 8, "online");
    fputc ('|', stream);
    zc_term_print (stream, ZC_TERM_PLAIN, ZC_PAINT_NONE, 2, "longer");
    fputc ('|', stream);
    ZC_CHECK_STR (s_written (stream, &buffer), "\033[32monline\033[0m  |online  |longer|");
    fclose (stream);
    free (buffer);

    //  No progress line at all on a pipe or a file.
    buffer = NULL;
    stream = open_memstream (&buffer, &size);
    zc_progress_t *progress = zc_progress_new (stream, ZC_TERM_PLAIN, 0);
    ZC_CHECK (progress == NULL);
    zc_progress_draw (progress, 3, 1, 0, 1);
    zc_progress_clear (progress);
    zc_progress_destroy (&progress);
    ZC_CHECK_STR (s_written (stream, &buffer), "");
    fclose (stream);
    free (buffer);

    //  A terminal without colour: carriage returns and blanks, no ESC.
    buffer = NULL;
    stream = open_memstream (&buffer, &size);
    progress = zc_progress_new (stream, ZC_TERM_TTY, 100);
    zc_progress_draw (progress, 12, 10, 1, 102.5);
    ZC_CHECK_STR (s_written (stream, &buffer), "\rzcnc: 10/12 answered (1 failed), 2 pending, 2.5 s");
    //  Sooner than 0.1 s after the last drawing: nothing.
    zc_progress_draw (progress, 12, 11, 1, 102.55);
    ZC_CHECK (strlen (s_written (stream, &buffer)) == 50);
    //  A shorter line is padded over the longer one.
    zc_progress_draw (progress, 12, 12, 0, 103);
    ZC_CHECK (strstr (s_written (stream, &buffer),
                      "\rzcnc: 12/12 answered, 0 pending, 3.0 s           \rzcnc: 12/12") != NULL);
    zc_progress_destroy (&progress);
    ZC_CHECK (progress == NULL);
    const char *written = s_written (stream, &buffer);
    ZC_CHECK (strchr (written, '\033') == NULL);
    //  Destroying it cleared it: blanks over its 38 columns.
    ZC_CHECK (strlen ("zcnc: 12/12 answered, 0 pending, 3.0 s") == 38);
    ZC_CHECK (strlen (written) >= 40 && streq (written + strlen (written) - 40,
              "\r                                      \r"));
    fclose (stream);
    free (buffer);

    //  A terminal with colour: ESC [K clears; the counts are painted.
    buffer = NULL;
    stream = open_memstream (&buffer, &size);
    progress = zc_progress_new (stream, ZC_TERM_COLOUR, 0);
    zc_progress_clear (progress);       //  nothing shown: nothing to clear
    ZC_CHECK_STR (s_written (stream, &buffer), "");
    zc_progress_draw (progress, 2, 1, 1, 0.5);
    ZC_CHECK_STR (s_written (stream, &buffer), "\r\033[Kzcnc: \033[32m1\033[0m/2 answered"
                  "\033[1;31m (1 failed)\033[0m, \033[33m1 pending\033[0m, 0.5 s");
    zc_progress_clear (progress);
    ZC_CHECK (strstr (s_written (stream, &buffer), "0.5 s\r\033[K") != NULL);
    //  Cleared, so drawn again at once.
    zc_progress_draw (progress, 2, 2, 1, 0.51);
    ZC_CHECK (strstr (s_written (stream, &buffer), "0 pending, 0.5 s") != NULL);
    zc_progress_destroy (&progress);
    fclose (stream);
    free (buffer);
    zc_progress_destroy (&progress);    //  NULL-safe
    return ZC_TEST_END;
}
