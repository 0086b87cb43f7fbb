/*  shellline.c — parses a line of `zcnc shell` (see shellline.h).

    The first word decides: one of the shell's words makes a command of
    the shell; otherwise a line with a ':' is a trigger, TARGET before
    the first ':' and COMMAND after it. So a node named like a word of
    the shell is still reached, as `nodes: uptime`.
*/
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "prelude.h"
#include "shellline.h"
#include "testing.h"

static const char *const s_words [] = {
    "exit", "help", "jobs", "nodes", "presence", "pub", "quit", "sub", "unsub", NULL
};

const char *const *
zc_shell_line_words (void)
{
    return s_words;
}

static bool
s_blank (char c)
{
    return c == ' ' || c == '\t';
}

//  A malloc'd copy of text [0, size) without the blanks at either end.
static char *
s_trimmed (const char *text, size_t size)
{
    while (size && s_blank (*text)) {
        text++;
        size--;
    }
    while (size && s_blank (text [size - 1]))
        size--;
    char *copy = zc_malloc (size + 1);
    memcpy (copy, text, size);
    copy [size] = 0;
    return copy;
}

//  The target of a trigger with the blanks around its commas removed,
//  so `web-1, web-2: uptime` reads as it looks.
static char *
s_target (const char *text, size_t size)
{
    char *target = s_trimmed (text, size);
    char *to = target;
    for (const char *from = target; *from; from++) {
        if (s_blank (*from)) {
            const char *next = from;
            while (s_blank (*next))
                next++;
            bool at_comma = *next == ',' || (to > target && to [-1] == ',');
            if (at_comma) {
                from = next - 1;
                continue;
            }
        }
        *to++ = *from;
    }
    *to = 0;
    return target;
}

//  Splits the next blank-separated word off *cursor: a malloc'd copy, or
//  NULL at the end of the text.
static char *
s_next_word (const char **cursor)
{
    const char *start = *cursor;
    while (s_blank (*start))
        start++;
    if (!*start) {
        *cursor = start;
        return NULL;
    }
    const char *end = start;
    while (*end && !s_blank (*end))
        end++;
    *cursor = end;
    return s_trimmed (start, end - start);
}

static zc_shell_line_t *
s_bad (zc_shell_line_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  Makes self a ZC_SHELL_BAD line with the formatted error; returns self.
static zc_shell_line_t *
s_bad (zc_shell_line_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    self->kind = ZC_SHELL_BAD;
    free (self->subject);
    free (self->data);
    free (self->id);
    self->subject = self->data = self->id = NULL;
    self->error = text;
    return self;
}

//  A command of the shell: 'word' is its first word, 'rest' what follows.
static zc_shell_line_t *
s_parse_word (zc_shell_line_t *self, const char *word, const char *rest)
{
    const char *cursor = rest;
    char *first = s_next_word (&cursor);
    char *second = first? s_next_word (&cursor): NULL;
    zc_shell_line_t *result = self;
    if (streq (word, "sub") || streq (word, "unsub")) {
        self->kind = streq (word, "sub")? ZC_SHELL_SUB: ZC_SHELL_UNSUB;
        if (!first || second)
            result = s_bad (self, "%s takes one SUBJECT: %s SUBJECT", word, word);
        else {
            self->subject = first;
            first = NULL;
        }
    }
    else
    if (streq (word, "pub")) {
        self->kind = ZC_SHELL_PUB;
        if (!first)
            result = s_bad (self, "pub needs a SUBJECT: pub SUBJECT [DATA]");
        else {
            //  DATA is the rest of the line, its inner blanks kept.
            const char *after = rest;
            while (s_blank (*after))
                after++;
            after += strlen (first);
            self->subject = first;
            self->data = s_trimmed (after, strlen (after));
            first = NULL;
        }
    }
    else
    if (streq (word, "nodes") || streq (word, "help") || streq (word, "quit") || streq (word, "exit")) {
        self->kind = streq (word, "nodes")? ZC_SHELL_NODES: streq (word, "help")? ZC_SHELL_HELP: ZC_SHELL_QUIT;
        if (first)
            result = s_bad (self, "%s takes no arguments", word);
    }
    else
    if (streq (word, "jobs")) {
        self->kind = ZC_SHELL_JOBS;
        if (second)
            result = s_bad (self, "jobs takes at most one job ID: jobs [ID]");
        else {
            self->id = first;
            first = NULL;
        }
    }
    else {
        assert (streq (word, "presence"));
        self->kind = ZC_SHELL_PRESENCE;
        if (!first || second || (!streq (first, "on") && !streq (first, "off")))
            result = s_bad (self, "presence takes on or off: presence on|off");
        else
            self->on = streq (first, "on");
    }
    free (first);
    free (second);
    return result;
}

zc_shell_line_t *
zc_shell_line_parse (const char *text)
{
    zc_shell_line_t *self = zc_calloc (1, sizeof *self);
    size_t size = strlen (text);
    if (size > ZC_SHELL_LINE_MAX)
        return s_bad (self, "the line is longer than %d bytes", ZC_SHELL_LINE_MAX);
    for (size_t index = 0; index < size; index++)
        if (((unsigned char) text [index] < 0x20 && text [index] != '\t') || text [index] == 0x7f)
            return s_bad (self, "the line holds a control character (byte 0x%02x)",
                          (unsigned char) text [index]);
    char *line = s_trimmed (text, size);
    if (!*line || *line == '#') {
        free (line);
        self->kind = ZC_SHELL_EMPTY;
        return self;
    }
    const char *cursor = line;
    char *word = s_next_word (&cursor);
    bool own = false;
    for (const char *const *known = s_words; *known; known++)
        if (streq (word, *known))
            own = true;
    if (own)
        s_parse_word (self, word, cursor);
    else {
        const char *colon = strchr (line, ':');
        if (!colon)
            s_bad (self, "'%s' is neither a command of the shell nor TARGET: COMMAND (type help)", word);
        else {
            self->target = s_target (line, colon - line);
            self->command = s_trimmed (colon + 1, strlen (colon + 1));
            if (!*self->target)
                s_bad (self, "no TARGET before ':' (a trigger is TARGET: COMMAND, e.g. web-*: uptime)");
            else
            if (!*self->command)
                s_bad (self, "no COMMAND after '%s:' (a trigger is TARGET: COMMAND, e.g. web-*: uptime)",
                       self->target);
            else
                self->kind = ZC_SHELL_TRIGGER;
            if (self->kind == ZC_SHELL_BAD) {
                free (self->target);
                free (self->command);
                self->target = self->command = NULL;
            }
        }
    }
    free (word);
    free (line);
    return self;
}

void
zc_shell_line_destroy (zc_shell_line_t **self_p)
{
    zc_shell_line_t *self = *self_p;
    if (self) {
        free (self->target);
        free (self->command);
        free (self->subject);
        free (self->data);
        free (self->id);
        free (self->error);
        free (self);
        *self_p = NULL;
    }
}

zc_shell_complete_t
zc_shell_line_complete (const char *before, size_t *word)
{
    size_t size = strlen (before);
    size_t start = size;
    while (start > 0 && !s_blank (before [start - 1]) && before [start - 1] != ',' && before [start - 1] != ':')
        start--;
    *word = start;
    if (memchr (before, ':', start))
        return ZC_SHELL_COMPLETE_NONE;      //  the command of a trigger
    size_t first = 0;
    while (first < start && s_blank (before [first]))
        first++;
    if (first == start)
        return ZC_SHELL_COMPLETE_FIRST;
    //  After the first word: a list's next item (`web-1, we`), unless
    //  the first word is the shell's (`sub lo`).
    size_t end = first;
    while (end < size && !s_blank (before [end]) && before [end] != ',')
        end++;
    char *head = s_trimmed (before + first, end - first);
    bool own = false;
    for (const char *const *known = s_words; *known; known++)
        if (streq (head, *known))
            own = true;
    free (head);
    const char *comma = memchr (before, ',', start);
    return !own && comma? ZC_SHELL_COMPLETE_NODE: ZC_SHELL_COMPLETE_NONE;
}

//  ---------------------------------------------------------------------
//  Self-test

//  Parses 'text' and checks its kind and the first two of its fields.
static int
s_check (const char *text, zc_shell_kind_t kind, const char *one, const char *two, bool verbose)
{
    zc_shell_line_t *line = zc_shell_line_parse (text);
    const char *got_one = NULL, *got_two = NULL;
    switch (line->kind) {
        case ZC_SHELL_TRIGGER: got_one = line->target; got_two = line->command; break;
        case ZC_SHELL_SUB:
        case ZC_SHELL_UNSUB:   got_one = line->subject; break;
        case ZC_SHELL_PUB:     got_one = line->subject; got_two = line->data; break;
        case ZC_SHELL_JOBS:    got_one = line->id; break;
        case ZC_SHELL_PRESENCE: got_one = line->on? "on": "off"; break;
        case ZC_SHELL_BAD:     got_one = line->error; break;
        default: break;
    }
    bool same = line->kind == kind
             && (one? got_one && (kind == ZC_SHELL_BAD? strstr (got_one, one) != NULL: streq (got_one, one))
                    : !got_one)
             && (two? got_two && streq (got_two, two): !got_two);
    if (!same || verbose)
        printf ("# %s: '%s' -> kind %d, '%s', '%s'\n", same? "ok": "FAIL", text, line->kind,
                got_one? got_one: "(null)", got_two? got_two: "(null)");
    zc_shell_line_destroy (&line);
    return same? 0: 1;
}

//  Checks the completion context of 'before' and where its word starts.
static int
s_check_complete (const char *before, zc_shell_complete_t want, size_t want_word)
{
    size_t word = 99;
    zc_shell_complete_t got = zc_shell_line_complete (before, &word);
    if (got == want && word == want_word)
        return 0;
    printf ("# FAIL: complete '%s' -> %d at %zu, want %d at %zu\n", before, got, word, want, want_word);
    return 1;
}

int
zc_shell_line_test (bool verbose)
{
    ZC_TEST_BEGIN;
    int failed = 0;
    //  Blank lines and comments do nothing.
    failed += s_check ("", ZC_SHELL_EMPTY, NULL, NULL, verbose);
    failed += s_check ("   \t ", ZC_SHELL_EMPTY, NULL, NULL, verbose);
    failed += s_check ("# web-*: reboot", ZC_SHELL_EMPTY, NULL, NULL, verbose);
    failed += s_check ("  # indented", ZC_SHELL_EMPTY, NULL, NULL, verbose);

    //  Triggers: the first ':' splits; blanks around either side go.
    failed += s_check ("web-*: uptime", ZC_SHELL_TRIGGER, "web-*", "uptime", verbose);
    failed += s_check ("n1:true", ZC_SHELL_TRIGGER, "n1", "true", verbose);
    failed += s_check ("  ALL :  uname -a  ", ZC_SHELL_TRIGGER, "ALL", "uname -a", verbose);
    failed += s_check ("n1: echo a:b  c", ZC_SHELL_TRIGGER, "n1", "echo a:b  c", verbose);
    failed += s_check ("web-1, web-2 ,db[12]: df -h", ZC_SHELL_TRIGGER, "web-1,web-2,db[12]", "df -h", verbose);
    failed += s_check ("\tn1:\techo tab", ZC_SHELL_TRIGGER, "n1", "echo tab", verbose);
    //  A blank inside an item stays (the agent says the item is bad).
    failed += s_check ("web 1: true", ZC_SHELL_TRIGGER, "web 1", "true", verbose);
    //  A node named like a word of the shell, reached as a target.
    failed += s_check ("nodes: uptime", ZC_SHELL_TRIGGER, "nodes", "uptime", verbose);
    failed += s_check ("sub:ls", ZC_SHELL_TRIGGER, "sub", "ls", verbose);
    failed += s_check ("n1: sleep 100", ZC_SHELL_TRIGGER, "n1", "sleep 100", verbose);
    failed += s_check ("n1: café ünïcode", ZC_SHELL_TRIGGER, "n1", "café ünïcode", verbose);
    failed += s_check (": uptime", ZC_SHELL_BAD, "no TARGET before ':'", NULL, verbose);
    failed += s_check ("n1 , n2 ,n3: x", ZC_SHELL_TRIGGER, "n1,n2,n3", "x", verbose);
    failed += s_check ("n1:", ZC_SHELL_BAD, "no COMMAND after 'n1:'", NULL, verbose);
    failed += s_check ("n1:   ", ZC_SHELL_BAD, "no COMMAND after 'n1:'", NULL, verbose);
    failed += s_check ("uptime", ZC_SHELL_BAD, "'uptime' is neither a command of the shell nor TARGET: COMMAND",
                       NULL, verbose);
    failed += s_check ("frobnicate the node", ZC_SHELL_BAD, "'frobnicate' is neither", NULL, verbose);

    //  sub and unsub take one subject, which may look like anything.
    failed += s_check ("sub logs.>", ZC_SHELL_SUB, "logs.>", NULL, verbose);
    failed += s_check ("  sub   $sys.online.*  ", ZC_SHELL_SUB, "$sys.online.*", NULL, verbose);
    failed += s_check ("sub a:b", ZC_SHELL_SUB, "a:b", NULL, verbose);
    failed += s_check ("unsub logs.>", ZC_SHELL_UNSUB, "logs.>", NULL, verbose);
    failed += s_check ("sub", ZC_SHELL_BAD, "sub takes one SUBJECT", NULL, verbose);
    failed += s_check ("sub a b", ZC_SHELL_BAD, "sub takes one SUBJECT", NULL, verbose);
    failed += s_check ("unsub", ZC_SHELL_BAD, "unsub takes one SUBJECT", NULL, verbose);
    //  The shell's words are whole words, in lower case.
    failed += s_check ("subx a", ZC_SHELL_BAD, "'subx' is neither", NULL, verbose);
    failed += s_check ("SUB a", ZC_SHELL_BAD, "'SUB' is neither", NULL, verbose);

    //  pub: DATA is the rest of the line, inner blanks kept.
    failed += s_check ("pub deploy.done v1.2  shipped ok ", ZC_SHELL_PUB, "deploy.done", "v1.2  shipped ok", verbose);
    failed += s_check ("pub s", ZC_SHELL_PUB, "s", "", verbose);
    failed += s_check ("pub\ts\t x:y", ZC_SHELL_PUB, "s", "x:y", verbose);
    failed += s_check ("pub", ZC_SHELL_BAD, "pub needs a SUBJECT", NULL, verbose);
    failed += s_check ("pub   ", ZC_SHELL_BAD, "pub needs a SUBJECT", NULL, verbose);

    //  Queries and the rest.
    failed += s_check ("nodes", ZC_SHELL_NODES, NULL, NULL, verbose);
    failed += s_check (" nodes ", ZC_SHELL_NODES, NULL, NULL, verbose);
    failed += s_check ("nodes --json", ZC_SHELL_BAD, "nodes takes no arguments", NULL, verbose);
    failed += s_check ("jobs", ZC_SHELL_JOBS, NULL, NULL, verbose);
    failed += s_check ("jobs 01JDQ8ABCDEFGHJKMNPQRSTVWX.n2", ZC_SHELL_JOBS, "01JDQ8ABCDEFGHJKMNPQRSTVWX.n2", NULL,
                       verbose);
    failed += s_check ("jobs a b", ZC_SHELL_BAD, "jobs takes at most one job ID", NULL, verbose);
    failed += s_check ("presence off", ZC_SHELL_PRESENCE, "off", NULL, verbose);
    failed += s_check ("presence on", ZC_SHELL_PRESENCE, "on", NULL, verbose);
    failed += s_check ("presence", ZC_SHELL_BAD, "presence takes on or off", NULL, verbose);
    failed += s_check ("presence maybe", ZC_SHELL_BAD, "presence takes on or off", NULL, verbose);
    failed += s_check ("presence on off", ZC_SHELL_BAD, "presence takes on or off", NULL, verbose);
    failed += s_check ("help", ZC_SHELL_HELP, NULL, NULL, verbose);
    failed += s_check ("help me", ZC_SHELL_BAD, "help takes no arguments", NULL, verbose);
    failed += s_check ("quit", ZC_SHELL_QUIT, NULL, NULL, verbose);
    failed += s_check ("exit", ZC_SHELL_QUIT, NULL, NULL, verbose);
    failed += s_check ("exit 3", ZC_SHELL_BAD, "exit takes no arguments", NULL, verbose);

    //  Bytes a terminal should not have sent, and lines too long.
    failed += s_check ("n1: echo \x1b[31m", ZC_SHELL_BAD, "control character (byte 0x1b)", NULL, verbose);
    failed += s_check ("n1: a\rb", ZC_SHELL_BAD, "control character (byte 0x0d)", NULL, verbose);
    failed += s_check ("n1: a\x7f", ZC_SHELL_BAD, "control character (byte 0x7f)", NULL, verbose);
    char *long_line = zc_malloc (ZC_SHELL_LINE_MAX + 2);
    memset (long_line, 'x', ZC_SHELL_LINE_MAX + 1);
    memcpy (long_line, "n1: ", 4);
    long_line [ZC_SHELL_LINE_MAX + 1] = 0;
    failed += s_check (long_line, ZC_SHELL_BAD, "longer than 16384 bytes", NULL, verbose);
    long_line [ZC_SHELL_LINE_MAX] = 0;
    zc_shell_line_t *line = zc_shell_line_parse (long_line);
    ZC_CHECK (line->kind == ZC_SHELL_TRIGGER && strlen (line->command) == ZC_SHELL_LINE_MAX - 4);
    zc_shell_line_destroy (&line);
    zc_shell_line_destroy (&line);      //  NULL-safe
    free (long_line);

    //  Every prefix of a valid line parses without harm.
    const char *sample = "pub a.b x y";
    for (size_t cut = 0; cut <= strlen (sample); cut++) {
        char *prefix = s_trimmed (sample, cut);
        line = zc_shell_line_parse (prefix);
        ZC_CHECK (line->kind == ZC_SHELL_EMPTY || line->kind == ZC_SHELL_BAD || line->kind == ZC_SHELL_PUB);
        ZC_CHECK ((line->kind == ZC_SHELL_BAD) == (line->error != NULL));
        zc_shell_line_destroy (&line);
        free (prefix);
    }
    ZC_CHECK (failed == 0);

    //  Completion contexts.
    int complete_failed = 0;
    complete_failed += s_check_complete ("", ZC_SHELL_COMPLETE_FIRST, 0);
    complete_failed += s_check_complete ("we", ZC_SHELL_COMPLETE_FIRST, 0);
    complete_failed += s_check_complete ("  no", ZC_SHELL_COMPLETE_FIRST, 2);
    complete_failed += s_check_complete ("web-1,we", ZC_SHELL_COMPLETE_NODE, 6);
    complete_failed += s_check_complete ("web-1, db", ZC_SHELL_COMPLETE_NODE, 7);
    complete_failed += s_check_complete ("web-1, ", ZC_SHELL_COMPLETE_NODE, 7);
    complete_failed += s_check_complete ("web-1: up", ZC_SHELL_COMPLETE_NONE, 7);
    complete_failed += s_check_complete ("web-1:", ZC_SHELL_COMPLETE_NONE, 6);
    complete_failed += s_check_complete ("sub lo", ZC_SHELL_COMPLETE_NONE, 4);
    complete_failed += s_check_complete ("pub a,b", ZC_SHELL_COMPLETE_NONE, 6);
    complete_failed += s_check_complete ("jobs ", ZC_SHELL_COMPLETE_NONE, 5);
    ZC_CHECK (complete_failed == 0);

    const char *const *words = zc_shell_line_words ();
    size_t count = 0;
    while (words [count])
        count++;
    ZC_CHECK (count == 9);
    return ZC_TEST_END;
}
