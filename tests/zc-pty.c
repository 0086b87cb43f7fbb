/*  zc-pty — runs a command on a pseudo-terminal and drives it with a
    script, for the tests of interactive commands (tests/t0040-shell.sh).

    usage: zc-pty [-o FILE] [-t SECS] [-T SECS] -- COMMAND [ARG...] <SCRIPT

    The script, one step a line (blank lines and # comments skipped):
      send TEXT     write TEXT to the terminal (escapes: \n \r \t \\ \xHH;
                    \x03 is Ctrl-C: the line discipline makes it SIGINT)
      line TEXT     TEXT and Enter (a carriage return, as a terminal sends)
      expect TEXT   wait until the output after the last match holds TEXT
                    (same escapes); the next expect looks after it
      raw           wait until the command reads keys one by one (the
                    terminal is not in canonical mode): a line editor
                    that printed its prompt may not be there yet, and
                    keys sent before it are the kernel's to edit
      run COMMAND   run sh -c COMMAND meanwhile (the terminal is still read)
                    and fail unless it exits 0
      sleep SECS    go on reading the terminal for SECS
      exit STATUS   wait for the command to end and check its exit status
    A step waits at most -t SECS (default 10); the whole run at most -T
    SECS (default 120), after which the command's process group is
    killed. Everything the command writes goes to -o FILE as it comes.
    Exit status: 0 when every step passed; 1 after printing the failed
    step and the output it saw; 2 on a usage error.
*/
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define S_OUTPUT_MAX (8u << 20)

typedef struct {
    int master;
    pid_t child;
    bool ended;
    int status;                 //  the child's wait status once ended
    char *output;
    size_t size, matched;       //  matched: where the next expect looks
    FILE *copy;                 //  -o FILE, or NULL
    double deadline;            //  of the whole run
} s_pty_t;

static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

//  Decodes the escapes of a script's TEXT in place; returns its size.
static size_t
s_unescape (char *text)
{
    char *to = text;
    for (const char *from = text; *from; from++) {
        if (*from != '\\' || !from [1]) {
            *to++ = *from;
            continue;
        }
        from++;
        switch (*from) {
            case 'n': *to++ = '\n'; break;
            case 'r': *to++ = '\r'; break;
            case 't': *to++ = '\t'; break;
            case 'x':
                if (isxdigit ((unsigned char) from [1]) && isxdigit ((unsigned char) from [2])) {
                    char hex [3] = { from [1], from [2], 0 };
                    *to++ = (char) strtol (hex, NULL, 16);
                    from += 2;
                }
                else
                    *to++ = 'x';
                break;
            default: *to++ = *from; break;
        }
    }
    *to = 0;
    return (size_t) (to - text);
}

//  Notes the child's end when it came (without waiting).
static void
s_reap (s_pty_t *self)
{
    if (!self->ended && waitpid (self->child, &self->status, WNOHANG) == self->child)
        self->ended = true;
}

//  Reads what the terminal has for at most 'wait_ms'. -1 when the whole
//  run's time is up or the output grew too large.
static int
s_pump (s_pty_t *self, int wait_ms)
{
    if (s_now () > self->deadline) {
        fprintf (stderr, "zc-pty: the run took longer than its -T limit\n");
        return -1;
    }
    struct pollfd item = { .fd = self->master, .events = POLLIN };
    if (self->master >= 0 && poll (&item, 1, wait_ms) > 0) {
        char buffer [4096];
        ssize_t got = read (self->master, buffer, sizeof buffer);
        if (got > 0) {
            if (self->size + (size_t) got > S_OUTPUT_MAX) {
                fprintf (stderr, "zc-pty: the command wrote more than %u bytes\n", S_OUTPUT_MAX);
                return -1;
            }
            self->output = realloc (self->output, self->size + (size_t) got + 1);
            if (!self->output)
                abort ();
            memcpy (self->output + self->size, buffer, (size_t) got);
            self->size += (size_t) got;
            self->output [self->size] = 0;
            if (self->copy) {
                fwrite (buffer, 1, (size_t) got, self->copy);
                fflush (self->copy);
            }
        }
        else
        if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
            //  EIO: every process holding the terminal is gone.
            close (self->master);
            self->master = -1;
        }
    }
    else
    if (self->master < 0)
        usleep ((useconds_t) wait_ms * 1000);
    s_reap (self);
    return 0;
}

//  Prints the output after the last match, control bytes escaped.
static void
s_show_output (s_pty_t *self)
{
    size_t start = self->matched;
    if (self->size - start > 4000)
        start = self->size - 4000;
    fprintf (stderr, "zc-pty: output after the last match (%zu bytes):\n", self->size - self->matched);
    for (size_t index = start; index < self->size; index++) {
        unsigned char byte = (unsigned char) self->output [index];
        if (byte == '\n')
            fputs ("\\n\n", stderr);
        else
        if (byte < 0x20 || byte == 0x7f)
            fprintf (stderr, "\\x%02x", byte);
        else
            fputc (byte, stderr);
    }
    fputc ('\n', stderr);
}

//  Writes all of 'text' to the terminal. 0 or -1.
static int
s_send (s_pty_t *self, const char *text, size_t size)
{
    size_t sent = 0;
    while (sent < size && self->master >= 0) {
        ssize_t written = write (self->master, text + sent, size - sent);
        if (written < 0 && (errno == EINTR || errno == EAGAIN)) {
            if (s_pump (self, 10) != 0)
                return -1;
            continue;
        }
        if (written < 0)
            return -1;
        sent += (size_t) written;
    }
    return sent == size? 0: -1;
}

//  Waits until the output after the last match holds 'text' (of 'size'
//  bytes). 0, or -1 after 'step_seconds'.
static int
s_expect (s_pty_t *self, const char *text, size_t size, double step_seconds)
{
    double until = s_now () + step_seconds;
    while (true) {
        if (self->size >= self->matched + size)
            for (size_t at = self->matched; at + size <= self->size; at++)
                if (memcmp (self->output + at, text, size) == 0) {
                    self->matched = at + size;
                    return 0;
                }
        if (s_now () > until || (self->master < 0 && self->ended))
            return -1;
        if (s_pump (self, 50) != 0)
            return -1;
    }
}

//  Runs sh -c COMMAND while reading the terminal. Its exit status, or
//  -1 when it could not run or took more than 'step_seconds' (killed).
static int
s_run (s_pty_t *self, const char *command, double step_seconds)
{
    pid_t pid = fork ();
    if (pid == -1)
        return -1;
    if (pid == 0) {
        close (self->master);
        execl ("/bin/sh", "sh", "-c", command, (char *) NULL);
        _exit (127);
    }
    double until = s_now () + step_seconds;
    while (true) {
        int status;
        if (waitpid (pid, &status, WNOHANG) == pid)
            return WIFEXITED (status)? WEXITSTATUS (status): 128 + WTERMSIG (status);
        if (s_now () > until || s_pump (self, 20) != 0) {
            kill (pid, SIGKILL);
            waitpid (pid, NULL, 0);
            return -1;
        }
    }
}

//  Ends the command if it still runs: hang-up, then its process group
//  is killed.
static void
s_finish (s_pty_t *self)
{
    if (self->master >= 0) {
        close (self->master);
        self->master = -1;
    }
    double until = s_now () + 5;
    while (!self->ended && s_now () < until) {
        usleep (20000);
        s_reap (self);
    }
    if (!self->ended) {
        kill (-self->child, SIGKILL);
        waitpid (self->child, &self->status, 0);
        self->ended = true;
    }
}

int
main (int argc, char *argv [])
{
    const char *usage = "usage: zc-pty [-o FILE] [-t SECS] [-T SECS] -- COMMAND [ARG...] <SCRIPT\n";
    double step_seconds = 10, total_seconds = 120;
    const char *copy_path = NULL;
    int option;
    while ((option = getopt (argc, argv, "o:t:T:")) != -1) {
        switch (option) {
            case 'o': copy_path = optarg; break;
            case 't': step_seconds = atof (optarg); break;
            case 'T': total_seconds = atof (optarg); break;
            default: fputs (usage, stderr); return 2;
        }
    }
    if (optind >= argc || step_seconds <= 0 || total_seconds <= 0) {
        fputs (usage, stderr);
        return 2;
    }
    s_pty_t pty = { .deadline = s_now () + total_seconds };
    s_pty_t *self = &pty;
    if (copy_path && !(self->copy = fopen (copy_path, "w"))) {
        fprintf (stderr, "zc-pty: cannot write %s: %s\n", copy_path, strerror (errno));
        return 2;
    }
    struct winsize size = { .ws_row = 24, .ws_col = 80 };
    self->child = forkpty (&self->master, NULL, NULL, &size);
    if (self->child == -1) {
        fprintf (stderr, "zc-pty: forkpty: %s\n", strerror (errno));
        return 2;
    }
    if (self->child == 0) {
        setenv ("TERM", "xterm", 1);
        execvp (argv [optind], argv + optind);
        fprintf (stderr, "zc-pty: cannot run %s: %s\n", argv [optind], strerror (errno));
        _exit (127);
    }
    fcntl (self->master, F_SETFL, fcntl (self->master, F_GETFL) | O_NONBLOCK);
    signal (SIGPIPE, SIG_IGN);

    char *step = NULL;
    size_t step_max = 0;
    int number = 0, failed = 0;
    while (!failed && getline (&step, &step_max, stdin) != -1) {
        number++;
        size_t length = strlen (step);
        if (length && step [length - 1] == '\n')
            step [--length] = 0;
        if (!length || step [0] == '#')
            continue;
        char *space = strchr (step, ' ');
        char *text = space? space + 1: step + length;
        if (space)
            *space = 0;
        const char *verb = step;
        if (strcmp (verb, "send") == 0 || strcmp (verb, "line") == 0) {
            size_t text_size = s_unescape (text);
            failed = s_send (self, text, text_size) != 0
                  || (strcmp (verb, "line") == 0 && s_send (self, "\r", 1) != 0);
            if (failed)
                fprintf (stderr, "zc-pty: line %d: cannot write to the terminal (did the command end?)\n", number);
        }
        else
        if (strcmp (verb, "expect") == 0) {
            size_t text_size = s_unescape (text);
            if (s_expect (self, text, text_size, step_seconds) != 0) {
                fprintf (stderr, "zc-pty: line %d: no '%s' within %g s%s\n", number, text, step_seconds,
                         self->ended? " (the command ended)": "");
                failed = 1;
            }
        }
        else
        if (strcmp (verb, "run") == 0) {
            int status = s_run (self, text, step_seconds);
            if (status != 0) {
                fprintf (stderr, "zc-pty: line %d: `%s` %s %d\n", number, text,
                         status < 0? "did not end in time or could not run:": "exited", status);
                failed = 1;
            }
        }
        else
        if (strcmp (verb, "raw") == 0) {
            double until = s_now () + step_seconds;
            struct termios modes;
            while (!failed && !(tcgetattr (self->master, &modes) == 0 && !(modes.c_lflag & ICANON))) {
                if (s_now () > until || self->master < 0) {
                    fprintf (stderr, "zc-pty: line %d: the terminal stayed in canonical mode %g s\n",
                             number, step_seconds);
                    failed = 1;
                }
                else
                    failed = s_pump (self, 10) != 0;
            }
        }
        else
        if (strcmp (verb, "sleep") == 0) {
            double until = s_now () + atof (text);
            while (!failed && s_now () < until)
                failed = s_pump (self, 20) != 0;
        }
        else
        if (strcmp (verb, "exit") == 0) {
            int want = atoi (text);
            double until = s_now () + step_seconds;
            while (!self->ended && s_now () < until && s_pump (self, 20) == 0)
                ;
            //  What it wrote last, too.
            while (self->master >= 0 && s_pump (self, 50) == 0 && self->master >= 0 && s_now () < until + 1)
                ;
            int got = !self->ended? -1: WIFEXITED (self->status)? WEXITSTATUS (self->status)
                    : 128 + WTERMSIG (self->status);
            if (got != want) {
                if (self->ended)
                    fprintf (stderr, "zc-pty: line %d: the command exited %d, not %d\n", number, got, want);
                else
                    fprintf (stderr, "zc-pty: line %d: the command still runs (wanted its exit %d)\n",
                             number, want);
                failed = 1;
            }
        }
        else {
            fprintf (stderr, "zc-pty: line %d: unknown step '%s'\n", number, verb);
            failed = 2;
        }
    }
    free (step);
    if (failed == 1)
        s_show_output (self);
    s_finish (self);
    if (self->copy)
        fclose (self->copy);
    free (self->output);
    return failed;
}
