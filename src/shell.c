/*  shell.c — `zcnc shell` (see shell.h and zcnc(1)).

    One process, one poll: what the user types, the answers of the job
    running now, and a long-lived "events" connection to the agent that
    holds the subscriptions (the user's and presence). Jobs and queries
    use connections of their own, as the commands do, so their answers
    never mix with events.

    On a terminal the line is edited by libedit, which reads characters
    through s_getc: while it waits for a key it also prints events,
    clearing the line being typed first and drawing it again after, so
    that nothing garbles it. Ctrl-C there returns from el_gets with
    EINTR (the line is dropped); during a job it cancels the job.
*/
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>
#include <czmq.h>
#include "prelude.h"
#include "cli.h"
#include "client.h"
#include "config.h"
#include "editapi.h"
#include "shell.h"
#include "shellline.h"
#include "target.h"

#define S_HISTORY_SIZE      1000    //  lines kept in the history file
#define S_CANCEL_WAIT_MS    10000   //  after Ctrl-C: how long the end may take
#define S_PRESENCE_ONLINE   "$sys.online.>"
#define S_PRESENCE_OFFLINE  "$sys.offline.>"

static const char *s_usage = "zcnc shell [-c FILE] [-t SECS]";

//  libedit, loaded when the shell starts on a terminal (editapi.h).
static const zc_edit_api_t *s_edit;

static volatile sig_atomic_t s_interrupted = 0;     //  SIGINT
static volatile sig_atomic_t s_terminated = 0;      //  SIGTERM, SIGHUP
static volatile sig_atomic_t s_resized = 0;         //  SIGWINCH

static void
s_on_signal (int signal_number)
{
    if (signal_number == SIGINT)
        s_interrupted = 1;
    else
    if (signal_number == SIGWINCH)
        s_resized = 1;
    else
        s_terminated = 1;
}

typedef struct {
    const char *config_option;  //  -c FILE, or NULL
    double timeout;             //  -t: how long a trigger waits
    bool tty;                   //  stdin is a terminal: libedit
    int status;                 //  of the last line
    char prompt [ZC_NAME_SIZE + 8];
    //  The terminal's editor.
    EditLine *el;
    History *history;
    char *history_path;         //  NULL: no history file
    bool editing;               //  inside el_gets: events redraw the line
    mbstate_t mbstate;          //  s_getc's partial character
    //  Plain input (not a terminal).
    char *input;
    size_t input_size;
    bool input_closed;
    //  The events connection: its subscriptions by tag.
    zc_client_t *events;
    json_int_t next_tag;
    json_t *subscriptions;      //  {"TAG": {"subject": S, "dropped": N, "presence": bool}}
    bool presence;              //  presence wanted
} s_shell_t;

//  ---------------------------------------------------------------------
//  Output between prompts

//  Before printing while the user types: clears the prompt and the line
//  from the screen (all its rows), leaving the cursor at its start.
static void
s_async_begin (s_shell_t *self)
{
    fflush (stdout);
    if (!self->editing)
        return;
    const LineInfoW *line = s_edit->wline (self->el);
    int columns = 0;
    if (s_edit->get (self->el, EL_GETTC, "co", &columns) != 0 || columns <= 0)
        columns = 80;
    size_t before = strlen (self->prompt) + (size_t) (line->cursor - line->buffer);
    size_t row = before / (size_t) columns;
    if (row > 0)
        printf ("\r\033[%zuA\033[J", row);
    else
        printf ("\r\033[J");
    fflush (stdout);
}

//  After printing: draws the prompt and the line again.
static void
s_async_end (s_shell_t *self)
{
    fflush (stdout);
    fflush (stderr);
    if (self->editing)
        s_edit->set (self->el, EL_REFRESH);
}

//  ---------------------------------------------------------------------
//  The events connection

//  Connects to the agent of the config without printing: NULL with
//  *error malloc'd.
static zc_client_t *
s_connect_quietly (s_shell_t *self, char **error)
{
    const char *path = zc_config_path (self->config_option, ZC_ROLE_CLIENT);
    zc_config_t *config = zc_config_load (path, ZC_ROLE_CLIENT, error);
    if (!config)
        return NULL;
    zc_client_t *client = zc_client_new (config->socket, error);
    zc_config_destroy (&config);
    return client;
}

//  Drops the events connection after printing why; its subscriptions end.
static void
s_events_lost (s_shell_t *self, const char *why)
{
    s_async_begin (self);
    size_t count = 0;
    const char *key;
    json_t *item;
    json_object_foreach (self->subscriptions, key, item)
        if (!json_is_true (json_object_get (item, "presence")))
            count++;
    fprintf (stderr, "zcnc: %s; %zu subscription(s) ended (sub again once the agent runs)\n", why, count);
    s_async_end (self);
    json_object_clear (self->subscriptions);
    zc_client_destroy (&self->events);
}

//  Prints a presence message: "* NODE online via HUB (REASON)".
static void
s_print_presence (json_t *event)
{
    const char *data = json_string_value (json_object_get (event, "data"));
    json_t *fields = data? json_loads (data, 0, NULL): NULL;
    const char *node = json_string_value (json_object_get (fields, "node"));
    const char *hub = json_string_value (json_object_get (fields, "hub"));
    const char *reason = json_string_value (json_object_get (fields, "reason"));
    if (node)
        printf ("* %s %s%s%s (%s)\n", node, json_is_true (json_object_get (fields, "online"))? "online": "offline",
                hub? " via ": "", hub? hub: "", reason? reason: "no reason given");
    else
        printf ("* %s %s\n", json_string_value (json_object_get (event, "subject")), data? data: "");
    json_decref (fields);
}

//  Prints one message of a subscription, as `zcnc sub` does; presence
//  as s_print_presence.
static void
s_print_event (s_shell_t *self, json_t *event)
{
    char key [32];
    snprintf (key, sizeof key, "%" JSON_INTEGER_FORMAT, json_integer_value (json_object_get (event, "tag")));
    json_t *subscription = json_object_get (self->subscriptions, key);
    if (!subscription)
        return;                 //  one just ended: what was on its way
    s_async_begin (self);
    if (!json_object_get (event, "subject")) {
        zc_cli_answer_error (event, json_string_value (json_object_get (subscription, "subject")));
        s_async_end (self);
        return;
    }
    json_int_t dropped = json_integer_value (json_object_get (event, "dropped"));
    if (dropped > json_integer_value (json_object_get (subscription, "dropped"))) {
        fprintf (stderr, "zcnc: %s: %" JSON_INTEGER_FORMAT " message(s) dropped so far: the shell did not"
                 " keep up\n", json_string_value (json_object_get (subscription, "subject")), dropped);
        json_object_set_new (subscription, "dropped", json_integer (dropped));
    }
    if (json_is_true (json_object_get (subscription, "presence")))
        s_print_presence (event);
    else {
        const char *data = json_string_value (json_object_get (event, "data"));
        const char *data_b64 = json_string_value (json_object_get (event, "data_b64"));
        printf ("%s: %s%s\n", json_string_value (json_object_get (event, "subject")),
                data? "": "(base64) ", data? data: data_b64? data_b64: "");
    }
    s_async_end (self);
}

//  Takes what came on the events connection: prints the messages of
//  the subscriptions; returns the answer tagged 'awaited' (0: none is)
//  when it came, NULL otherwise. Drops the connection when it closed.
//  (A subscription's messages carry the tag of its request, whose
//  answer comes before them.)
static json_t *
s_events_drain (s_shell_t *self, json_int_t awaited)
{
    json_t *answer = NULL;
    while (self->events && !answer) {
        bool timed_out;
        char *error;
        json_t *line = zc_client_recv (self->events, 0, &timed_out, &error);
        if (!line && timed_out)
            break;
        if (!line) {
            s_events_lost (self, error);
            free (error);
            break;
        }
        json_int_t tag = json_integer_value (json_object_get (line, "tag"));
        if (awaited && tag == awaited)
            answer = line;
        else {
            s_print_event (self, line);     //  or what an ended one still had on its way
            json_decref (line);
        }
    }
    return answer;
}

//  Sends a request on the events connection and returns its answer
//  (printing messages that come meanwhile), or NULL after printing why.
static json_t *
s_events_request (s_shell_t *self, json_t *request)
{
    json_int_t tag = self->next_tag++;
    json_object_set_new (request, "tag", json_integer (tag));
    int rc = zc_client_send (self->events, request);
    json_decref (request);
    if (rc != 0) {
        s_events_lost (self, "cannot write to the agent socket");
        return NULL;
    }
    int64_t deadline = zclock_mono () + ZC_CLI_MARGIN_MS;
    while (self->events) {
        json_t *answer = s_events_drain (self, tag);
        if (answer)
            return answer;
        int64_t left = deadline - zclock_mono ();
        if (left <= 0) {
            s_events_lost (self, "the agent did not answer in time");
            return NULL;
        }
        struct pollfd item = { .fd = zc_client_fd (self->events), .events = POLLIN };
        poll (&item, 1, (int) left);
    }
    return NULL;
}

//  Subscribes the events connection to 'subject'. 0, or -1 after
//  printing why.
static int
s_subscribe (s_shell_t *self, const char *subject, bool presence)
{
    json_int_t tag = self->next_tag;
    json_t *answer = s_events_request (self, json_pack ("{s:s, s:s}", "op", "sub", "subject", subject));
    int status = answer? zc_cli_answer_error (answer, NULL): ZC_EXIT_ZCNC;
    if (status == 0) {
        char key [32];
        snprintf (key, sizeof key, "%" JSON_INTEGER_FORMAT, tag);
        json_object_set_new (self->subscriptions, key, json_pack ("{s:s, s:I, s:b}", "subject", subject,
                                                                  "dropped", (json_int_t) 0, "presence", presence));
    }
    json_decref (answer);
    return status;
}

//  Ends the events connection's subscriptions to 'subject' (the user's
//  or presence's). Returns how many ended, or -1 after printing why.
static int
s_unsubscribe (s_shell_t *self, const char *subject, bool presence)
{
    json_t *answer = s_events_request (self, json_pack ("{s:s, s:s}", "op", "unsub", "subject", subject));
    if (!answer || zc_cli_answer_error (answer, NULL)) {
        json_decref (answer);
        return -1;
    }
    json_decref (answer);
    const char *key;
    json_t *item;
    void *spare;
    int count = 0;
    json_object_foreach_safe (self->subscriptions, spare, key, item)
        if (streq (json_string_value (json_object_get (item, "subject")), subject)
        &&  json_is_true (json_object_get (item, "presence")) == presence) {
            json_object_del (self->subscriptions, key);
            count++;
        }
    return count;
}

//  Opens the events connection when there is none, with presence when
//  wanted. 0, or -1 (after printing why unless 'quiet').
static int
s_events_open (s_shell_t *self, bool quiet)
{
    if (self->events)
        return 0;
    char *error = NULL;
    self->events = s_connect_quietly (self, &error);
    if (!self->events) {
        if (!quiet)
            fprintf (stderr, "zcnc: %s\n", error);
        free (error);
        return -1;
    }
    if (self->presence
    && (s_subscribe (self, S_PRESENCE_ONLINE, true) != 0 || s_subscribe (self, S_PRESENCE_OFFLINE, true) != 0))
        return self->events? 0: -1;
    return 0;
}

//  ---------------------------------------------------------------------
//  Lines

//  Asks the agent to cancel each job of 'pending' (an object keyed by job
//  ID), on a connection of its own. Jobs that ended meanwhile answer an
//  error, which is not one.
static void
s_cancel_jobs (s_shell_t *self, json_t *pending)
{
    zc_client_t *client = zc_cli_connect (self->config_option);
    if (!client)
        return;
    const char *id;
    json_t *value;
    json_object_foreach (pending, id, value) {
        json_t *request = json_pack ("{s:s, s:s}", "op", "cancel", "id", id);
        json_t *answer = zc_cli_request (client, request, ZC_CLI_MARGIN_MS);
        json_decref (request);
        if (!answer)
            break;
        json_decref (answer);
    }
    zc_client_destroy (&client);
}

//  TARGET: COMMAND, as `zcnc trigger` runs it; Ctrl-C cancels the jobs
//  still without a result. Returns trigger's exit status (130 when
//  cancelled).
static int
s_trigger (s_shell_t *self, zc_shell_line_t *line)
{
    json_t *request = json_pack ("{s:s, s:s, s:[s], s:f}", "to", line->target, "method", "exec",
                                 "args", line->command, "wait", self->timeout);
    if (!request) {
        fprintf (stderr, "zcnc: the target or the command is not valid UTF-8\n");
        return ZC_EXIT_USAGE;
    }
    zc_client_t *client = zc_cli_connect (self->config_option);
    if (!client) {
        json_decref (request);
        return ZC_EXIT_ZCNC;
    }
    json_t *answer = zc_cli_request (client, request, ZC_CLI_MARGIN_MS);
    json_decref (request);
    int status = answer? zc_cli_answer_error (answer, NULL): ZC_EXIT_ZCNC;
    if (status) {
        json_decref (answer);
        zc_client_destroy (&client);
        return status;
    }
    json_t *pending = json_object ();
    size_t index;
    json_t *item;
    json_array_foreach (json_object_get (answer, "ids"), index, item)
        if (json_string_value (json_object_get (item, "id")))
            json_object_set (pending, json_string_value (json_object_get (item, "id")), json_true ());
    zc_cli_results_t *results = zc_cli_results_new (answer, zc_target_is_single (line->target));
    json_decref (answer);

    s_interrupted = 0;
    bool cancelled = false, ended = false;
    int64_t deadline = zclock_mono () + (int64_t) (self->timeout * 1000) + ZC_CLI_MARGIN_MS;
    while (!ended && !s_terminated) {
        if (s_interrupted && !cancelled) {
            cancelled = true;
            if (self->tty)
                fprintf (stderr, "\n");        //  after the terminal's ^C
            fprintf (stderr, "zcnc: cancelling %zu job(s)\n", json_object_size (pending));
            s_cancel_jobs (self, pending);
            deadline = zclock_mono () + S_CANCEL_WAIT_MS;
        }
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        struct pollfd items [2] = {
            { .fd = zc_client_fd (client), .events = POLLIN },
            { .fd = self->events? zc_client_fd (self->events): -1, .events = POLLIN }
        };
        if (poll (items, 2, (int) left) == -1)
            continue;           //  EINTR: Ctrl-C is looked at above
        if (items [1].revents) {
            s_events_drain (self, 0);
        }
        if (!items [0].revents)
            continue;
        while (!ended) {
            bool timed_out;
            char *error;
            json_t *result = zc_client_recv (client, 0, &timed_out, &error);
            if (!result && timed_out)
                break;
            if (!result) {
                fprintf (stderr, "zcnc: %s\n", error);
                free (error);
                status = ZC_EXIT_ZCNC;
                ended = true;
                break;
            }
            const char *id = json_string_value (json_object_get (result, "id"));
            if (id && json_object_get (result, "state"))
                json_object_del (pending, id);
            ended = zc_cli_results_line (results, result, self->timeout);
            json_decref (result);
        }
    }
    if (!ended) {
        fprintf (stderr, cancelled? "zcnc: the cancelled jobs did not end in time (see: jobs)\n"
                                  : "zcnc: the agent did not answer in time\n");
        status = ZC_EXIT_ZCNC;
    }
    else
    if (!status)
        status = zc_cli_results_status (results);
    if (cancelled)
        status = 130;           //  as a shell reports SIGINT
    s_interrupted = 0;
    zc_cli_results_destroy (&results);
    json_decref (pending);
    zc_client_destroy (&client);
    return status;
}

static int
s_sub (s_shell_t *self, zc_shell_line_t *line, bool sub)
{
    if (s_events_open (self, false) != 0)
        return ZC_EXIT_ZCNC;
    if (sub)
        return s_subscribe (self, line->subject, false);
    int count = s_unsubscribe (self, line->subject, false);
    if (count < 0)
        return ZC_EXIT_ZCNC;
    if (count == 0) {
        fprintf (stderr, "zcnc: not subscribed to %s\n", line->subject);
        return 1;
    }
    return 0;
}

//  pub SUBJECT DATA: as `zcnc pub SUBJECT DATA`.
static int
s_pub (s_shell_t *self, zc_shell_line_t *line)
{
    if (s_events_open (self, false) != 0)
        return ZC_EXIT_ZCNC;
    json_t *answer = s_events_request (self, json_pack ("{s:s, s:s, s:s}", "op", "pub", "subject", line->subject,
                                                        "data", line->data));
    int status = answer? zc_cli_answer_error (answer, NULL): ZC_EXIT_ZCNC;
    json_decref (answer);
    return status;
}

//  presence on|off.
static int
s_presence (s_shell_t *self, bool on)
{
    if (on == self->presence)
        return 0;
    self->presence = on;
    if (!self->events)
        return s_events_open (self, false) == 0? 0: ZC_EXIT_ZCNC;
    if (on)
        return s_subscribe (self, S_PRESENCE_ONLINE, true) || s_subscribe (self, S_PRESENCE_OFFLINE, true)
             ? ZC_EXIT_ZCNC: 0;
    return s_unsubscribe (self, S_PRESENCE_ONLINE, true) < 0 || s_unsubscribe (self, S_PRESENCE_OFFLINE, true) < 0
         ? ZC_EXIT_ZCNC: 0;
}

//  nodes, jobs [ID]: the commands themselves.
static int
s_query (s_shell_t *self, zc_shell_line_t *line)
{
    char *argv [5];
    int argc = 0;
    argv [argc++] = line->kind == ZC_SHELL_NODES? "nodes": "jobs";
    if (self->config_option) {
        argv [argc++] = "-c";
        argv [argc++] = (char *) self->config_option;
    }
    if (line->id) {
        argv [argc++] = "--";
        argv [argc++] = line->id;
    }
    int status = line->kind == ZC_SHELL_NODES? zc_cli_nodes (argc, argv): zc_cli_jobs (argc, argv);
    fflush (stdout);
    s_interrupted = 0;
    return status;
}

static void
s_help (void)
{
    printf ("A line is one of:\n"
            "  TARGET: COMMAND     run COMMAND on TARGET (a name, a glob, ALL, or a list: web-1, db*)\n"
            "                      and print what it printed, as zcnc trigger does\n"
            "  sub SUBJECT         print SUBJECT's messages between prompts (* and > as in zcnc sub)\n"
            "  unsub SUBJECT       stop printing them\n"
            "  pub SUBJECT [DATA]  publish DATA, the rest of the line, on SUBJECT\n"
            "  nodes               the nodes this agent knows, as zcnc nodes\n"
            "  jobs [ID]           the jobs sent from here, or one of them, as zcnc jobs\n"
            "  presence on|off     print nodes coming and going (on at start)\n"
            "  help                this text\n"
            "  quit, exit          leave the shell (Ctrl-D too)\n"
            "Keys: Tab completes the shell's words and node names; Up and Down walk the\n"
            "history, Ctrl-R searches it; Ctrl-C cancels the running job, or drops the line.\n");
}

//  Carries out one line; returns its status. Sets *quit for quit/exit.
static int
s_run_line (s_shell_t *self, const char *text, bool *quit)
{
    zc_shell_line_t *line = zc_shell_line_parse (text);
    int status = self->status;
    switch (line->kind) {
        case ZC_SHELL_EMPTY:    break;
        case ZC_SHELL_TRIGGER:  status = s_trigger (self, line); break;
        case ZC_SHELL_SUB:      status = s_sub (self, line, true); break;
        case ZC_SHELL_UNSUB:    status = s_sub (self, line, false); break;
        case ZC_SHELL_PUB:      status = s_pub (self, line); break;
        case ZC_SHELL_NODES:
        case ZC_SHELL_JOBS:     status = s_query (self, line); break;
        case ZC_SHELL_PRESENCE: status = s_presence (self, line->on); break;
        case ZC_SHELL_HELP:     s_help (); status = 0; break;
        case ZC_SHELL_QUIT:     *quit = true; break;
        case ZC_SHELL_BAD:
            fprintf (stderr, "zcnc: %s\n", line->error);
            status = ZC_EXIT_USAGE;
            break;
    }
    zc_shell_line_destroy (&line);
    fflush (stdout);
    fflush (stderr);
    return status;
}

//  ---------------------------------------------------------------------
//  Input

//  Waits until stdin is readable, printing events meanwhile. 0 when it
//  is, -1 on a signal (the caller looks at which).
static int
s_wait_input (s_shell_t *self)
{
    while (true) {
        if (s_interrupted || s_terminated)
            return -1;
        if (s_resized && self->editing) {
            s_resized = 0;
            s_edit->resize (self->el);
        }
        struct pollfd items [2] = {
            { .fd = STDIN_FILENO, .events = POLLIN },
            { .fd = self->events? zc_client_fd (self->events): -1, .events = POLLIN }
        };
        if (poll (items, 2, -1) == -1)
            continue;
        if (items [1].revents) {
            s_events_drain (self, 0);
        }
        if (items [0].revents)
            return 0;
    }
}

//  libedit's character source: one character of stdin, decoded from the
//  locale's multibyte encoding. 1, 0 at end of input, -1 with errno
//  EINTR on a stop signal.
static int
s_getc (EditLine *el, wchar_t *character)
{
    s_shell_t *self;
    s_edit->get (el, EL_CLIENTDATA, &self);
    while (true) {
        if (s_wait_input (self) != 0) {
            if (s_interrupted && !s_terminated) {
                //  The terminal made Ctrl-C a signal: give libedit the
                //  key back, so that it leaves a search or a count as
                //  for any key, then s_drop_line runs.
                s_interrupted = 0;
                *character = 3;
                return 1;
            }
            errno = EINTR;
            return -1;
        }
        char byte;
        ssize_t got = read (STDIN_FILENO, &byte, 1);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0)
            return got == 0? 0: -1;
        size_t length = mbrtowc (character, &byte, 1, &self->mbstate);
        if (length == (size_t) -2)
            continue;           //  more bytes of this character
        if (length == (size_t) -1) {
            memset (&self->mbstate, 0, sizeof self->mbstate);
            continue;           //  not a character: dropped
        }
        return 1;
    }
}

//  Ctrl-C at the prompt: drops the line being typed and starts a new one
//  below it.
static unsigned char
s_drop_line (EditLine *el, int key)
{
    s_shell_t *self;
    s_edit->get (el, EL_CLIENTDATA, &self);
    const LineInfoW *line = s_edit->wline (el);
    s_edit->cursor (el, (int) (line->lastchar - line->cursor));
    line = s_edit->wline (el);
    s_edit->deletestr (el, (int) (line->cursor - line->buffer));
    printf ("^C\n");
    s_async_end (self);
    return CC_NORM;
}

//  Reads a line without editing (stdin is not a terminal). A malloc'd
//  line without its newline, or NULL at the end of input or on a signal.
static char *
s_read_plain (s_shell_t *self)
{
    while (true) {
        char *newline = self->input_size? memchr (self->input, '\n', self->input_size): NULL;
        if (newline || (self->input_closed && self->input_size)) {
            size_t size = newline? (size_t) (newline - self->input): self->input_size;
            char *line = zc_malloc (size + 1);
            memcpy (line, self->input, size);
            line [size] = 0;
            size_t used = newline? size + 1: size;
            memmove (self->input, self->input + used, self->input_size - used);
            self->input_size -= used;
            if (strlen (line) != size) {
                free (line);
                line = zc_strdup ("\x01");      //  a NUL: the parser says it is a control character
            }
            return line;
        }
        if (self->input_closed || s_wait_input (self) != 0)
            return NULL;
        //  A line longer than the parser takes is cut here; it says so.
        if (self->input_size > ZC_SHELL_LINE_MAX + 1) {
            self->input_size = ZC_SHELL_LINE_MAX + 1;
            continue;
        }
        self->input = zc_realloc (self->input, ZC_SHELL_LINE_MAX + 4096);
        ssize_t got = read (STDIN_FILENO, self->input + self->input_size, ZC_SHELL_LINE_MAX + 4096 - self->input_size);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0)
            self->input_closed = true;
        else
            self->input_size += got;
    }
}

//  ---------------------------------------------------------------------
//  Completion

//  The node names the agent knows, sorted (a new array of strings), or
//  an empty array when it cannot be asked.
static json_t *
s_node_names (s_shell_t *self)
{
    json_t *names = json_array ();
    char *error = NULL;
    zc_client_t *client = s_connect_quietly (self, &error);
    free (error);
    if (!client)
        return names;
    json_t *request = json_pack ("{s:s}", "op", "nodes");
    bool timed_out;
    json_t *answer = NULL;
    if (zc_client_send (client, request) == 0)
        answer = zc_client_recv (client, 2000, &timed_out, &error);
    free (error);
    size_t index;
    json_t *node;
    json_array_foreach (json_object_get (answer, "nodes"), index, node)
        if (json_string_value (json_object_get (node, "name")))
            json_array_append (names, json_object_get (node, "name"));
    json_decref (answer);
    json_decref (request);
    zc_client_destroy (&client);
    return names;
}

//  Tab: completes the word before the cursor with a shell word or a
//  node name; lists the candidates when there are several.
static unsigned char
s_complete (EditLine *el, int key)
{
    s_shell_t *self;
    s_edit->get (el, EL_CLIENTDATA, &self);
    const LineInfo *info = s_edit->line (el);
    size_t before_size = (size_t) (info->cursor - info->buffer);
    char *before = zc_malloc (before_size + 1);
    memcpy (before, info->buffer, before_size);
    before [before_size] = 0;
    size_t start;
    zc_shell_complete_t context = zc_shell_line_complete (before, &start);
    const char *word = before + start;
    size_t word_size = strlen (word);
    json_t *matches = json_array ();
    if (context == ZC_SHELL_COMPLETE_FIRST)
        for (const char *const *known = zc_shell_line_words (); *known; known++)
            if (strncmp (*known, word, word_size) == 0)
                json_array_append_new (matches, json_pack ("[s, s]", *known, " "));
    if (context != ZC_SHELL_COMPLETE_NONE) {
        json_t *names = s_node_names (self);
        json_array_append_new (names, json_string ("ALL"));
        size_t index;
        json_t *name;
        json_array_foreach (names, index, name)
            if (strncmp (json_string_value (name), word, word_size) == 0)
                json_array_append_new (matches, json_pack ("[s, s]", json_string_value (name), ": "));
        json_decref (names);
    }
    unsigned char result = CC_REFRESH_BEEP;
    size_t count = json_array_size (matches);
    if (count == 1) {
        json_t *match = json_array_get (matches, 0);
        char *rest = zsys_sprintf ("%s%s", json_string_value (json_array_get (match, 0)) + word_size,
                                   json_string_value (json_array_get (match, 1)));
        s_edit->insertstr (el, rest);
        free (rest);
        result = CC_REFRESH;
    }
    else
    if (count > 1) {
        //  The longest prefix they share; without one, the list.
        const char *first = json_string_value (json_array_get (json_array_get (matches, 0), 0));
        size_t common = strlen (first);
        for (size_t index = 1; index < count; index++) {
            const char *other = json_string_value (json_array_get (json_array_get (matches, index), 0));
            size_t same = 0;
            while (same < common && other [same] == first [same])
                same++;
            common = same;
        }
        if (common > word_size) {
            char *rest = zsys_sprintf ("%.*s", (int) (common - word_size), first + word_size);
            s_edit->insertstr (el, rest);
            free (rest);
            result = CC_REFRESH;
        }
        else {
            printf ("\n");
            for (size_t index = 0; index < count; index++)
                printf ("%s%s", json_string_value (json_array_get (json_array_get (matches, index), 0)),
                        index + 1 < count? "  ": "\n");
            fflush (stdout);
            result = CC_REDISPLAY;
        }
    }
    json_decref (matches);
    free (before);
    return result;
}

//  ---------------------------------------------------------------------
//  Set-up

//  The history file: $XDG_STATE_HOME/zcnc/history (its directory made
//  0700) when XDG_STATE_HOME is set, ~/.zcnc_history otherwise; NULL
//  when there is neither.
static char *
s_history_path (void)
{
    const char *state = getenv ("XDG_STATE_HOME");
    if (state && *state == '/') {
        char *dir = zsys_sprintf ("%s/zcnc", state);
        mkdir (state, 0700);
        mkdir (dir, 0700);
        char *path = zsys_sprintf ("%s/history", dir);
        free (dir);
        return path;
    }
    const char *home = getenv ("HOME");
    return home && *home? zsys_sprintf ("%s/.zcnc_history", home): NULL;
}

static char *
s_prompt (EditLine *el)
{
    s_shell_t *self;
    s_edit->get (el, EL_CLIENTDATA, &self);
    return self->prompt;
}

//  Sets up libedit on the terminal: emacs keys, history (loaded from its
//  file), Tab, s_getc. -1 when libedit cannot be loaded ('why' says so)
//  or cannot run here.
static int
s_editor_init (s_shell_t *self, const char *program, const char **why)
{
    *why = "libedit cannot run on this terminal";
    s_edit = zc_edit_api (why);
    if (!s_edit)
        return -1;
    self->el = s_edit->init (program, stdin, stdout, stderr);
    if (!self->el)
        return -1;
    self->history = s_edit->history_init ();
    HistEvent event;
    s_edit->history (self->history, &event, H_SETSIZE, S_HISTORY_SIZE);
    s_edit->history (self->history, &event, H_SETUNIQUE, 1);
    self->history_path = s_history_path ();
    if (self->history_path)
        s_edit->history (self->history, &event, H_LOAD, self->history_path);     //  none yet is fine
    s_edit->set (self->el, EL_CLIENTDATA, self);
    s_edit->set (self->el, EL_EDITOR, "emacs");
    s_edit->set (self->el, EL_PROMPT, s_prompt);
    s_edit->set (self->el, EL_HIST, s_edit->history, self->history);
    s_edit->set (self->el, EL_GETCFN, s_getc);
    //  el_wset keeps these names; el_set would copy them and never free them.
    s_edit->wset (self->el, EL_ADDFN, L"zc-complete", L"complete a word or a node name", s_complete);
    s_edit->set (self->el, EL_BIND, "^I", "zc-complete", NULL);
    s_edit->set (self->el, EL_BIND, "^R", "em-inc-search-prev", NULL);
    s_edit->wset (self->el, EL_ADDFN, L"zc-drop-line", L"drop the line being typed", s_drop_line);
    s_edit->set (self->el, EL_BIND, "^C", "zc-drop-line", NULL);
    s_edit->source (self->el, NULL);     //  the user's ~/.editrc
    return 0;
}

//  Adds a line to the history and saves the file (so a killed shell
//  keeps it), readable by its owner only.
static void
s_remember (s_shell_t *self, const char *line)
{
    HistEvent event;
    s_edit->history (self->history, &event, H_ENTER, line);
    if (!self->history_path)
        return;
    mode_t mask = umask (077);
    if (s_edit->history (self->history, &event, H_SAVE, self->history_path) == -1) {
        fprintf (stderr, "zcnc: cannot write the history to %s: %s\n", self->history_path, strerror (errno));
        free (self->history_path);
        self->history_path = NULL;      //  said once
    }
    umask (mask);
}

//  Reads the next line: edited on a terminal, plain otherwise. A malloc'd
//  line, or NULL at the end of input (Ctrl-D) or on a stop signal.
static char *
s_next_line (s_shell_t *self)
{
    if (!self->events && self->presence)
        s_events_open (self, true);     //  the agent is back: presence again
    if (self->events) {
        //  What came while the last line ran prints before the next.
        struct pollfd item = { .fd = zc_client_fd (self->events), .events = POLLIN };
        if (poll (&item, 1, 0) > 0)
            s_events_drain (self, 0);
    }
    if (!self->tty) {
        char *line = s_read_plain (self);
        if (!line && s_interrupted) {
            s_interrupted = 0;
            self->status = 130;
        }
        return line;
    }
    int count = 0;
    memset (&self->mbstate, 0, sizeof self->mbstate);
    self->editing = true;
    const char *text = s_edit->gets (self->el, &count);
    self->editing = false;
    if (!text)
        return NULL;
    char *line = zc_strdup (text);
    size_t size = strlen (line);
    if (size && line [size - 1] == '\n')
        line [--size] = 0;
    if (size && line [0] != ' ')        //  a line that starts with a blank is not remembered
        s_remember (self, line);
    return line;
}

int
zc_shell_main (int argc, char *argv [])
{
    static struct option options [] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "timeout", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 }
    };
    s_shell_t shell = { .timeout = 60, .presence = true, .next_tag = 1 };
    s_shell_t *self = &shell;
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "+c:ht:", options, NULL)) != -1) {
        switch (option) {
            case 'c': self->config_option = optarg; break;
            case 't':
                if ((self->timeout = zc_cli_seconds (optarg)) <= 0) {
                    zc_cli_usage_error (s_usage, "-t wants a positive number of seconds, not '%s'", optarg);
                    return ZC_EXIT_USAGE;
                }
                break;
            case 'h':
            default:
                return zc_cli_help_or_usage (s_usage, option);
        }
    }
    if (optind < argc) {
        zc_cli_usage_error (s_usage, "shell takes no arguments (type its lines at its prompt)");
        return ZC_EXIT_USAGE;
    }
    setlocale (LC_CTYPE, "");
    self->tty = isatty (STDIN_FILENO);
    self->subscriptions = json_object ();
    //  The prompt names this node when the config says which it is.
    snprintf (self->prompt, sizeof self->prompt, "zcnc> ");
    char *error = NULL;
    zc_config_t *config = zc_config_load (zc_config_path (self->config_option, ZC_ROLE_CLIENT), ZC_ROLE_CLIENT,
                                          &error);
    if (config && config->name)
        snprintf (self->prompt, sizeof self->prompt, "%s> ", config->name);
    zc_config_destroy (&config);
    free (error);
    const char *why = NULL;
    if (self->tty && s_editor_init (self, argv [0], &why) != 0) {
        fprintf (stderr, "zcnc: cannot set up line editing (%s); reading plain lines\n", why);
        self->tty = false;
    }
    struct sigaction action = { .sa_handler = s_on_signal }, saved [4];
    sigemptyset (&action.sa_mask);      //  no SA_RESTART: a signal ends poll
    int signals [4] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
    for (int index = 0; index < 4; index++)
        sigaction (signals [index], &action, &saved [index]);

    //  Not reaching the agent now is said once; each line that needs it
    //  tries again.
    s_events_open (self, false);
    bool quit = false;
    while (!quit && !s_terminated) {
        char *line = s_next_line (self);
        if (!line)
            break;
        self->status = s_run_line (self, line, &quit);
        free (line);
    }
    if (self->tty && !quit && !s_terminated)
        printf ("\n");          //  after Ctrl-D, the caller's prompt on a line of its own

    for (int index = 0; index < 4; index++)
        sigaction (signals [index], &saved [index], NULL);
    zc_client_destroy (&self->events);
    json_decref (self->subscriptions);
    free (self->input);
    if (self->el)
        s_edit->end (self->el);
    if (self->history)
        s_edit->history_end (self->history);
    free (self->history_path);
    return s_terminated? 128 + SIGTERM: self->status;
}
