/*  policy.c — the policy file of SPEC.md ("Policy file") and zcnc-policy(5).

    One rule per line, "allow|deny FROM METHOD [COMMAND]"; the first rule
    that matches a job decides and no match denies. FROM is an fnmatch(3)
    glob over the origin's name. METHOD is a method name or a glob over the
    names, turned into a set of methods when the file is read. COMMAND is
    matched by s_match, whose wildcards never match a shell metacharacter:
    "systemctl status *" must not let a job append "; rm -rf /". Only a
    COMMAND of exactly "*" (or none) stands for every command.
*/
#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "prelude.h"
#include "log.h"
#include "policy.h"
#include "job.h"
#include "testing.h"

#define S_FILE_MAX  (1024 * 1024)   //  bytes in a policy
#define S_LINE_MAX  4096            //  bytes in a line, without its newline
#define S_RULES_MAX 10000
#define S_RULE_FORM "a rule is: allow|deny FROM METHOD [COMMAND]"
//  Besides the job methods, "sub": may FROM's messages on a subject
//  (COMMAND) run a subscriber's command here (zcnc sub -- COMMAND).
#define S_METHOD_SUB ZC_METHOD_COUNT

static const char *
s_method_name (int method)
{
    return method == S_METHOD_SUB? "sub": zc_method_name ((zc_method_t) method);
}

//  A method's number, or 0 when it is not one.
static int
s_method_parse (const char *name)
{
    return strcmp (name, "sub") == 0? S_METHOD_SUB: (int) zc_method_parse (name);
}

typedef struct {
    bool allow;
    int line;
    char *from;                 //  glob over the origin's name
    unsigned methods;           //  bit 1 << method for each method METHOD names
    char *command;              //  NULL for any command, else an s_match pattern
    char *text;                 //  the rule as written, one blank between fields
} s_rule_t;

struct _zc_policy_t {
    char *origin;               //  the file, named in verdicts
    s_rule_t *rules;
    size_t count, allocated;
};

//  True for the bytes a COMMAND wildcard never matches: those that end,
//  chain, redirect, substitute, quote or escape in sh(1).
static bool
s_meta (unsigned char c)
{
    return c == '\n' || (c != 0 && strchr (";&|<>`$(){}\\!'\"", c));
}

//  Reads a [...] class; pattern points just after the '['. Sets *member to
//  whether c is in the class. Returns the pattern after the closing ']',
//  or NULL when the class is not closed.
static const char *
s_class (const char *pattern, unsigned char c, bool *member)
{
    bool negated = *pattern == '!' || *pattern == '^';
    if (negated)
        pattern++;
    bool found = false;
    bool first = true;          //  a ']' first in the class is a member
    while (*pattern != ']' || first) {
        first = false;
        if (*pattern == '\\')
            pattern++;
        if (*pattern == 0)
            return NULL;
        unsigned char low = *pattern++, high = low;
        if (pattern [0] == '-' && pattern [1] != 0 && pattern [1] != ']') {
            pattern++;
            if (*pattern == '\\')
                pattern++;
            if (*pattern == 0)
                return NULL;
            high = *pattern++;
        }
        if (c >= low && c <= high)
            found = true;
    }
    *member = found != negated;
    return pattern + 1;
}

//  Matches the pattern element at 'pattern' (not '*') against one byte.
//  Returns the pattern after the element, or NULL when it does not match.
static const char *
s_step (const char *pattern, unsigned char c)
{
    if (*pattern == '?')
        return s_meta (c)? NULL: pattern + 1;
    if (*pattern == '[') {
        bool member;
        const char *next = s_class (pattern + 1, c, &member);
        return next && member && !s_meta (c)? next: NULL;
    }
    if (*pattern == '\\')
        pattern++;
    return *pattern && (unsigned char) *pattern == c? pattern + 1: NULL;
}

//  Matches a COMMAND pattern against a whole string: '*' any run of bytes,
//  '?' one byte, [...] one byte of a class, \ quotes the next character,
//  and no wildcard matches an s_meta byte. Iterative: on a mismatch only
//  the last '*' takes one more byte, which is enough because no earlier
//  '*' could have taken it instead (a literal of the pattern that matches
//  a metacharacter at one place matches it at every place).
static bool
s_match (const char *pattern, const char *string)
{
    const char *star = NULL;        //  the pattern after the last '*' met
    const char *taken = NULL;       //  the end of what that '*' has taken
    while (*string) {
        if (*pattern == '*') {
            while (*pattern == '*')
                pattern++;
            star = pattern;
            taken = string;
            continue;
        }
        const char *next = s_step (pattern, (unsigned char) *string);
        if (next) {
            pattern = next;
            string++;
        }
        else {
            if (!star || s_meta ((unsigned char) *taken))
                return false;
            pattern = star;
            string = ++taken;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == 0;
}

//  Says what is wrong with a pattern's syntax, or NULL when nothing is.
static const char *
s_pattern_problem (const char *pattern)
{
    while (*pattern) {
        if (*pattern == '[') {
            bool member;
            pattern = s_class (pattern + 1, 0, &member);
            if (!pattern)
                return "unclosed [";
        }
        else
        if (*pattern == '\\') {
            if (pattern [1] == 0)
                return "\\ at the end";
            pattern += 2;
        }
        else
            pattern++;
    }
    return NULL;
}

//  Length of the UTF-8 character at text (RFC 3629: no overlong forms, no
//  surrogates, nothing above U+10FFFF), or 0 when there is none.
static size_t
s_utf8_length (const unsigned char *text, size_t size)
{
    unsigned char c = text [0], low = 0x80, high = 0xbf;
    size_t length;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        length = 2;
    else
    if (c >= 0xe0 && c <= 0xef) {
        length = 3;
        low = c == 0xe0? 0xa0: low;
        high = c == 0xed? 0x9f: high;
    }
    else
    if (c >= 0xf0 && c <= 0xf4) {
        length = 4;
        low = c == 0xf0? 0x90: low;
        high = c == 0xf4? 0x8f: high;
    }
    else
        return 0;
    if (size < length || text [1] < low || text [1] > high)
        return 0;
    for (size_t index = 2; index < length; index++)
        if ((text [index] & 0xc0) != 0x80)
            return 0;
    return length;
}

//  Splits the next blank-separated word off *cursor. Returns it, or NULL
//  when only blanks are left.
static char *
s_word (char **cursor)
{
    char *word = *cursor + strspn (*cursor, " \t");
    if (*word == 0)
        return NULL;
    char *end = word + strcspn (word, " \t");
    *cursor = *end? end + 1: end;
    *end = 0;
    return word;
}

//  "exec, exec_stream, ..." into buffer.
static const char *
s_method_list (char *buffer, size_t size)
{
    size_t used = 0;
    buffer [0] = 0;
    for (int method = 1; method <= S_METHOD_SUB && used < size; method++)
        used += snprintf (buffer + used, size - used, "%s%s", method > 1? ", ": "", s_method_name (method));
    return buffer;
}

//  Parses one line (without its newline; checked for control characters
//  and UTF-8) into a rule appended to self, unless it is blank. Returns 0,
//  or -1 with *error set.
static int
s_parse_line (zc_policy_t *self, char *line, int number, char **error)
{
    //  A '#' first or after a blank starts a comment; "a#b" is a pattern
    for (char *c = line; *c; c++)
        if (*c == '#' && (c == line || c [-1] == ' ' || c [-1] == '\t')) {
            *c = 0;
            break;
        }
    size_t size = strlen (line);
    while (size && (line [size - 1] == ' ' || line [size - 1] == '\t'))
        line [--size] = 0;
    char *cursor = line;
    char *action = s_word (&cursor);
    if (!action)
        return 0;
    const char *origin = self->origin;
    if (strcmp (action, "allow") && strcmp (action, "deny"))
        return zc_fail (error, "%s:%d: expected allow or deny, got '%s' (%s)",
                       origin, number, action, S_RULE_FORM);
    char *from = s_word (&cursor);
    if (!from)
        return zc_fail (error, "%s:%d: missing FROM (%s)", origin, number, S_RULE_FORM);
    char *method = s_word (&cursor);
    if (!method)
        return zc_fail (error, "%s:%d: missing METHOD (%s)", origin, number, S_RULE_FORM);
    char *command = cursor + strspn (cursor, " \t");

    const char *problem = s_pattern_problem (from);
    if (problem)
        return zc_fail (error, "%s:%d: bad FROM pattern '%s' (%s)", origin, number, from, problem);
    if (strcmp (from, "ALL") == 0)
        return zc_fail (error, "%s:%d: FROM 'ALL' is not a node name (use * for every node)",
                       origin, number);
    char methods_text [128];
    unsigned methods = 0;
    if (strpbrk (method, "*?[\\")) {
        problem = s_pattern_problem (method);
        if (problem)
            return zc_fail (error, "%s:%d: bad METHOD pattern '%s' (%s)",
                           origin, number, method, problem);
        for (int index = 1; index <= S_METHOD_SUB; index++)
            if (fnmatch (method, s_method_name (index), 0) == 0)
                methods |= 1u << index;
        if (!methods)
            return zc_fail (error, "%s:%d: METHOD '%s' matches no method (one of %s)",
                           origin, number, method, s_method_list (methods_text, sizeof methods_text));
    }
    else {
        int known = s_method_parse (method);
        if (!known)
            return zc_fail (error, "%s:%d: unknown method '%s' (one of %s)",
                           origin, number, method, s_method_list (methods_text, sizeof methods_text));
        methods = 1u << known;
    }
    problem = s_pattern_problem (command);
    if (problem)
        return zc_fail (error, "%s:%d: bad COMMAND pattern '%s' (%s)",
                       origin, number, command, problem);
    if (self->count == S_RULES_MAX)
        return zc_fail (error, "%s:%d: more than %d rules (combine rules with patterns)",
                       origin, number, S_RULES_MAX);

    if (self->count == self->allocated) {
        size_t allocated = self->allocated? self->allocated * 2: 16;
        s_rule_t *rules = zc_realloc (self->rules, allocated * sizeof (s_rule_t));
        if (!rules)
            return zc_fail (error, "%s:%d: out of memory", origin, number);
        self->rules = rules;
        self->allocated = allocated;
    }
    s_rule_t *rule = &self->rules [self->count];
    rule->allow = action [0] == 'a';
    rule->line = number;
    rule->methods = methods;
    rule->from = zc_strdup (from);
    bool any = *command == 0 || strcmp (command, "*") == 0;
    rule->command = any? NULL: zc_strdup (command);
    if (asprintf (&rule->text, "%s %s %s%s%s", action, from, method,
                  *command? " ": "", command) < 0)
        rule->text = NULL;
    self->count++;
    if (!rule->from || (!any && !rule->command) || !rule->text)
        return zc_fail (error, "%s:%d: out of memory", origin, number);
    return 0;
}

//  Checks one line's bytes: no control characters but tab, only UTF-8.
//  Returns 0, or -1 with *error set.
static int
s_check_bytes (const char *line, size_t size, const char *origin, int number, char **error)
{
    const unsigned char *bytes = (const unsigned char *) line;
    for (size_t pos = 0; pos < size; ) {
        if ((bytes [pos] < 0x20 && bytes [pos] != '\t') || bytes [pos] == 0x7f)
            return zc_fail (error, "%s:%d: control character 0x%02x (save the file as plain text)",
                           origin, number, bytes [pos]);
        size_t length = s_utf8_length (bytes + pos, size - pos);
        if (!length)
            return zc_fail (error, "%s:%d: invalid UTF-8 (save the file as UTF-8)", origin, number);
        pos += length;
    }
    return 0;
}

zc_policy_t *
zc_policy_parse (const char *text, size_t size, const char *origin, char **error)
{
    assert (text || size == 0);
    assert (origin);
    if (error)
        *error = NULL;
    if (size > S_FILE_MAX) {
        zc_fail (error, "%s: larger than %d bytes (is it the right file?)", origin, S_FILE_MAX);
        return NULL;
    }
    zc_policy_t *self = zc_calloc (1, sizeof (zc_policy_t));
    if (!self || !(self->origin = zc_strdup (origin))) {
        free (self);
        zc_fail (error, "%s: out of memory", origin);
        return NULL;
    }
    size_t pos = size >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0? 3: 0;
    char line [S_LINE_MAX + 1];
    for (int number = 1; pos < size; number++) {
        const char *newline = memchr (text + pos, '\n', size - pos);
        size_t line_size = newline? (size_t) (newline - text) - pos: size - pos;
        size_t next = pos + line_size + 1;
        if (line_size && text [pos + line_size - 1] == '\r')
            line_size--;            //  CR LF
        if (line_size > S_LINE_MAX) {
            zc_fail (error, "%s:%d: line longer than %d bytes (shorten it)",
                    origin, number, S_LINE_MAX);
            zc_policy_destroy (&self);
            break;
        }
        if (s_check_bytes (text + pos, line_size, origin, number, error)) {
            zc_policy_destroy (&self);
            break;
        }
        memcpy (line, text + pos, line_size);
        line [line_size] = 0;
        if (s_parse_line (self, line, number, error)) {
            zc_policy_destroy (&self);
            break;
        }
        pos = next;
    }
    return self;
}

zc_policy_t *
zc_policy_load (const char *path, char **error)
{
    assert (path);
    if (error)
        *error = NULL;
    FILE *file = fopen (path, "rb");
    if (!file) {
        zc_fail (error, "%s: cannot read: %s", path, strerror (errno));
        return NULL;
    }
    char *text = zc_malloc (S_FILE_MAX + 1);
    size_t size = text? fread (text, 1, S_FILE_MAX + 1, file): 0;
    int read_errno = !text? ENOMEM: ferror (file)? errno: 0;
    fclose (file);
    zc_policy_t *self = NULL;
    if (read_errno)
        zc_fail (error, "%s: cannot read: %s", path, strerror (read_errno));
    else
        self = zc_policy_parse (text, size, path, error);
    free (text);
    return self;
}

void
zc_policy_destroy (zc_policy_t **self_p)
{
    assert (self_p);
    zc_policy_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->count; index++) {
        free (self->rules [index].from);
        free (self->rules [index].command);
        free (self->rules [index].text);
    }
    free (self->rules);
    free (self->origin);
    free (self);
    *self_p = NULL;
}

size_t
zc_policy_size (zc_policy_t *self)
{
    assert (self);
    return self->count;
}

static void s_reason (zc_policy_verdict_t *verdict, const char *tail, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Writes the verdict's reason. When it is too long, cuts it at a UTF-8
//  character boundary and ends it with "..." and 'tail'.
static void
s_reason (zc_policy_verdict_t *verdict, const char *tail, const char *format, ...)
{
    char full [sizeof verdict->reason + 1];
    va_list args;
    va_start (args, format);
    int length = vsnprintf (full, sizeof full, format, args);
    va_end (args);
    if (length >= 0 && (size_t) length < sizeof verdict->reason) {
        memcpy (verdict->reason, full, (size_t) length + 1);
        return;
    }
    size_t cut = sizeof verdict->reason - 1 - strlen ("...") - strlen (tail);
    while (cut && ((unsigned char) full [cut] & 0xc0) == 0x80)
        cut--;
    memcpy (verdict->reason, full, cut);
    snprintf (verdict->reason + cut, sizeof verdict->reason - cut, "...%s", tail);
}

void
zc_policy_check (zc_policy_t *self, const char *origin, const char *method,
                 const char *command, zc_policy_verdict_t *verdict)
{
    assert (self);
    assert (origin);
    assert (method);
    assert (verdict);
    int known = s_method_parse (method);
    unsigned bit = known? 1u << known: 0;
    for (size_t index = 0; index < self->count; index++) {
        s_rule_t *rule = &self->rules [index];
        if ((rule->methods & bit)
        &&  fnmatch (rule->from, origin, 0) == 0
        &&  (!rule->command || s_match (rule->command, command? command: ""))) {
            verdict->allowed = rule->allow;
            s_reason (verdict, ")", "%s by %s:%d (%s)", rule->allow? "allowed": "denied",
                      self->origin, rule->line, rule->text);
            return;
        }
    }
    verdict->allowed = false;
    s_reason (verdict, "", "no rule in %s matched", self->origin);
}


//  ---------------------------------------------------------------------
//  Self-test

//  Parses text as "t.policy" and checks the error. Returns 0 or -1.
static int
s_expect_error (const char *text, size_t size, const char *want, bool verbose)
{
    char *error = NULL;
    zc_policy_t *policy = zc_policy_parse (text, size, "t.policy", &error);
    int rc = !policy && error && strcmp (error, want) == 0? 0: -1;
    if (rc || verbose)
        printf ("# %s\n#   want %s\n", error? error: "(parsed)", want);
    zc_policy_destroy (&policy);
    free (error);
    return rc;
}

//  Checks a verdict: allowed or not and its reason. Returns 0 or -1.
static int
s_expect (zc_policy_t *policy, const char *origin, const char *method,
          const char *command, bool allowed, const char *reason)
{
    zc_policy_verdict_t verdict;
    zc_policy_check (policy, origin, method, command, &verdict);
    if (verdict.allowed == allowed && strcmp (verdict.reason, reason) == 0)
        return 0;
    printf ("# %s %s '%s': %s, %s\n#   want %s, %s\n", origin, method, command,
            verdict.allowed? "allowed": "denied", verdict.reason,
            allowed? "allowed": "denied", reason);
    return -1;
}

#define S_ONE_OF "(one of exec, exec_stream, tail, http_get, copy, ping, jobs, cancel, call, sub)"

//  The meaning of a COMMAND pattern, said the slow way: by recursion.
static bool
s_match_slowly (const char *pattern, const char *string)
{
    if (*pattern == '*')
        return s_match_slowly (pattern + 1, string)
            || (*string && !s_meta ((unsigned char) *string) && s_match_slowly (pattern, string + 1));
    if (*pattern == 0 || *string == 0)
        return *pattern == 0 && *string == 0;
    const char *next = s_step (pattern, (unsigned char) *string);
    return next && s_match_slowly (next, string + 1);
}

int
zc_policy_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char want [512];

    //  Parse errors name the file and line and say what to do
    struct { const char *text, *error; } bad [] = {
        { "permit * exec\n",
          "t.policy:1: expected allow or deny, got 'permit' (a rule is: allow|deny FROM METHOD [COMMAND])" },
        { "Allow * exec\n",
          "t.policy:1: expected allow or deny, got 'Allow' (a rule is: allow|deny FROM METHOD [COMMAND])" },
        { "allow   # no FROM\n",
          "t.policy:1: missing FROM (a rule is: allow|deny FROM METHOD [COMMAND])" },
        { "# comment\n\n  allow n1\n",
          "t.policy:3: missing METHOD (a rule is: allow|deny FROM METHOD [COMMAND])" },
        { "allow * ping\ndeny * exce\n", "t.policy:2: unknown method 'exce' " S_ONE_OF },
        { "allow * EXEC\n", "t.policy:1: unknown method 'EXEC' " S_ONE_OF },
        { "allow * ex*x\n", "t.policy:1: METHOD 'ex*x' matches no method " S_ONE_OF },
        { "allow * exec[\n", "t.policy:1: bad METHOD pattern 'exec[' (unclosed [)" },
        { "allow n[12 exec\n", "t.policy:1: bad FROM pattern 'n[12' (unclosed [)" },
        { "allow n1\\ exec\n", "t.policy:1: bad FROM pattern 'n1\\' (\\ at the end)" },
        { "allow ALL exec\n", "t.policy:1: FROM 'ALL' is not a node name (use * for every node)" },
        { "allow * exec ls [abc\n", "t.policy:1: bad COMMAND pattern 'ls [abc' (unclosed [)" },
        { "allow * exec ls []\n", "t.policy:1: bad COMMAND pattern 'ls []' (unclosed [)" },
        { "allow * exec ls [!]\n", "t.policy:1: bad COMMAND pattern 'ls [!]' (unclosed [)" },
        { "allow * exec ls \\ \n", "t.policy:1: bad COMMAND pattern 'ls \\' (\\ at the end)" },
        { "allow * exec ls\x01\n", "t.policy:1: control character 0x01 (save the file as plain text)" },
        { "allow * exec\rdeny * *\n", "t.policy:1: control character 0x0d (save the file as plain text)" },
        { "allow * ping\nallow * exec \xe9t\xe9\n", "t.policy:2: invalid UTF-8 (save the file as UTF-8)" },
        { "allow * exec \xed\xa0\x80\n", "t.policy:1: invalid UTF-8 (save the file as UTF-8)" },
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        ZC_CHECK (s_expect_error (bad [index].text, strlen (bad [index].text),
                                  bad [index].error, verbose) == 0);
    }
    const char nul [] = "allow * ping\nallow * exec a\0b\n";
    ZC_CHECK (s_expect_error (nul, sizeof nul - 1,
                              "t.policy:2: control character 0x00 (save the file as plain text)",
                              verbose) == 0);
    ZC_CHECK (zc_policy_parse ("permit", 6, "t.policy", NULL) == NULL);

    //  Blank, comment-only and CR LF lines; a BOM; an empty policy
    char *error = NULL;
    const char *text = "\xef\xbb\xbf# policy\r\n\r\n\t \n  allow\tn1 \t ping  # comment \r\n"
                       "deny * *\n# the end, without a newline";
    zc_policy_t *policy = zc_policy_parse (text, strlen (text), "t.policy", &error);
    ZC_CHECK (policy && !error);
    if (policy) {
        ZC_CHECK (zc_policy_size (policy) == 2);
        ZC_CHECK (s_expect (policy, "n1", "ping", NULL, true,
                            "allowed by t.policy:4 (allow n1 ping)") == 0);
        ZC_CHECK (s_expect (policy, "n1", "exec", "true", false,
                            "denied by t.policy:5 (deny * *)") == 0);
    }
    zc_policy_destroy (&policy);
    zc_policy_destroy (&policy);
    policy = zc_policy_parse ("", 0, "empty", &error);
    ZC_CHECK (policy && !error && zc_policy_size (policy) == 0);
    if (policy)
        ZC_CHECK (s_expect (policy, "n1", "ping", NULL, false, "no rule in empty matched") == 0);
    zc_policy_destroy (&policy);

    //  First match wins; no match denies; origins and methods by glob
    text = "allow central   exec  *                  # full trust\n"
           "allow ops-*     exec  systemctl status *\n"
           "deny  ops-9     *\n"
           "allow ops-?     exec* uptime\n"
           "allow *         ping\n"
           "allow web-[0-9] tail  /var/log/*.log\n"
           "allow *         http_get http://localhost/*\n"
           "deny  *         *\n"
           "allow n1        *\n";
    policy = zc_policy_parse (text, strlen (text), "/etc/zcnc/policy", &error);
    ZC_CHECK (policy && !error);
    if (policy) {
        ZC_CHECK (zc_policy_size (policy) == 9);
        ZC_CHECK (s_expect (policy, "central", "exec", "rm -rf / ; reboot", true,
                            "allowed by /etc/zcnc/policy:1 (allow central exec *)") == 0);
        ZC_CHECK (s_expect (policy, "central", "exec_stream", "uptime", false,
                            "denied by /etc/zcnc/policy:8 (deny * *)") == 0);
        ZC_CHECK (s_expect (policy, "ops-9", "exec", "systemctl status sshd", true,
                            "allowed by /etc/zcnc/policy:2 (allow ops-* exec systemctl status *)") == 0);
        ZC_CHECK (s_expect (policy, "ops-9", "exec", "uptime", false,
                            "denied by /etc/zcnc/policy:3 (deny ops-9 *)") == 0);
        ZC_CHECK (s_expect (policy, "ops-1", "exec_stream", "uptime", true,
                            "allowed by /etc/zcnc/policy:4 (allow ops-? exec* uptime)") == 0);
        ZC_CHECK (s_expect (policy, "ops-12", "exec", "uptime", false,
                            "denied by /etc/zcnc/policy:8 (deny * *)") == 0);
        ZC_CHECK (s_expect (policy, "anyone", "ping", "", true,
                            "allowed by /etc/zcnc/policy:5 (allow * ping)") == 0);
        ZC_CHECK (s_expect (policy, "web-3", "tail", "/var/log/syslog.log", true,
                            "allowed by /etc/zcnc/policy:6 (allow web-[0-9] tail /var/log/*.log)") == 0);
        ZC_CHECK (s_expect (policy, "web-3", "tail", "/etc/shadow", false,
                            "denied by /etc/zcnc/policy:8 (deny * *)") == 0);
        ZC_CHECK (s_expect (policy, "web-a", "tail", "/var/log/syslog.log", false,
                            "denied by /etc/zcnc/policy:8 (deny * *)") == 0);
        ZC_CHECK (s_expect (policy, "n2", "http_get", "http://localhost/status", true,
                            "allowed by /etc/zcnc/policy:7 (allow * http_get http://localhost/*)") == 0);
        //  A rule after "deny * *" is never reached
        ZC_CHECK (s_expect (policy, "n1", "jobs", NULL, false,
                            "denied by /etc/zcnc/policy:8 (deny * *)") == 0);
        //  An unknown method matches no rule, not even "*"
        ZC_CHECK (s_expect (policy, "central", "format", "c:", false,
                            "no rule in /etc/zcnc/policy matched") == 0);
    }
    zc_policy_destroy (&policy);

    //  Wildcards never match a shell metacharacter; a bare "*" matches all
    text = "allow ops exec systemctl status *\n"
           "allow ops exec echo ?\n"
           "allow ops exec cat [!a]\n"
           "allow ops exec cat [;]\n"
           "allow ops exec true; date\n"
           "allow ops exec grep \\* log\n"
           "allow ops exec a#b *\n"
           "allow ops exec echo [a-c]x[]]y[\\]-]\n"
           "allow ops exec ls [^0-9]*\n"
           "allow any exec *\n"
           "allow any exec_stream\n";
    policy = zc_policy_parse (text, strlen (text), "p", &error);
    ZC_CHECK (policy && !error);
    if (policy) {
        const char *refused [] = {
            "systemctl status x; rm -rf /", "systemctl status x && reboot",
            "systemctl status x | sh", "systemctl status x > /etc/passwd",
            "systemctl status < /dev/zero", "systemctl status `reboot`",
            "systemctl status $(reboot)", "systemctl status ${IFS}",
            "systemctl status {a,b}", "systemctl status x\nreboot",
            "systemctl status 'x'", "systemctl status \"x\"",
            "systemctl status \\x", "systemctl status !!",
            "echo ;", "echo |", "cat ;", "cat $", "ls x;", "ls (",
            "true; reboot", "true;date", "ls ", "echo dx]y]", "cat a", "echo \\",
        };
        for (size_t index = 0; index < sizeof refused / sizeof refused [0]; index++)
            ZC_CHECK (s_expect (policy, "ops", "exec", refused [index], false,
                                "no rule in p matched") == 0);
        struct { const char *command; int line; } allowed [] = {
            { "systemctl status sshd", 1 }, { "systemctl status ", 1 },
            { "systemctl status a b -l", 1 }, { "echo x", 2 }, { "echo *", 2 },
            { "cat b", 3 }, { "true; date", 5 }, { "grep * log", 6 },
            { "a#b x", 7 }, { "echo ax]y-", 8 }, { "echo cx]y]", 8 },
            { "ls a1", 9 },
        };
        for (size_t index = 0; index < sizeof allowed / sizeof allowed [0]; index++) {
            zc_policy_verdict_t verdict;
            zc_policy_check (policy, "ops", "exec", allowed [index].command, &verdict);
            snprintf (want, sizeof want, "allowed by p:%d (", allowed [index].line);
            ZC_CHECK (verdict.allowed && strncmp (verdict.reason, want, strlen (want)) == 0);
            if (!verdict.allowed || verbose)
                printf ("# '%s': %s\n", allowed [index].command, verdict.reason);
        }
        for (size_t index = 0; index < sizeof refused / sizeof refused [0]; index++) {
            ZC_CHECK (s_expect (policy, "any", "exec", refused [index], true,
                                "allowed by p:10 (allow any exec *)") == 0);
            ZC_CHECK (s_expect (policy, "any", "exec_stream", refused [index], true,
                                "allowed by p:11 (allow any exec_stream)") == 0);
        }
    }
    zc_policy_destroy (&policy);
    //  "**" is not the bare "*": no metacharacters through it
    policy = zc_policy_parse ("allow ops exec **", 17, "p", &error);
    ZC_CHECK (policy);
    if (policy) {
        ZC_CHECK (s_expect (policy, "ops", "exec", "reboot", true, "allowed by p:1 (allow ops exec **)") == 0);
        ZC_CHECK (s_expect (policy, "ops", "exec", "a;b", false, "no rule in p matched") == 0);
    }
    zc_policy_destroy (&policy);

    //  The matcher agrees with its slow definition on many small cases
    const char *pieces [] = { "a", "b", ";", "*", "?", "[a;]", "[!a]", "\\;", "\\*", "[^b]" };
    const char *letters = "ab;*\\";
    unsigned seed = 1;
    int disagreements = 0;
    for (int round = 0; round < 20000; round++) {
        char pattern [64] = "", string [16] = "";
        seed = seed * 1103515245 + 12345;
        for (unsigned count = (seed >> 16) % 6; count; count--) {
            seed = seed * 1103515245 + 12345;
            strcat (pattern, pieces [(seed >> 16) % (sizeof pieces / sizeof pieces [0])]);
        }
        seed = seed * 1103515245 + 12345;
        size_t length = (seed >> 16) % 8;
        for (size_t pos = 0; pos < length; pos++) {
            seed = seed * 1103515245 + 12345;
            string [pos] = letters [(seed >> 16) % strlen (letters)];
        }
        string [length] = 0;
        if (s_match (pattern, string) != s_match_slowly (pattern, string)) {
            if (disagreements++ < 5)
                printf ("# s_match ('%s', '%s') disagrees\n", pattern, string);
        }
    }
    ZC_CHECK (disagreements == 0);
    //  No blow-up on a long command and a pattern with many stars
    char *long_command = zc_malloc (1000001);
    memset (long_command, 'a', 1000000);
    long_command [1000000] = 0;
    ZC_CHECK (s_match ("*a*a*a*a*a*a*a*a*a*a*a*b", long_command) == false);
    ZC_CHECK (s_match ("*a*a*a*a*a*a*a*a*a*a*a*a", long_command) == true);
    long_command [500000] = ';';
    ZC_CHECK (s_match ("*a*a*a*a*a*a*a*a*a*a*a*a", long_command) == false);
    ZC_CHECK (s_match ("*;*", long_command) == true);
    free (long_command);

    //  Long rules are shortened in reasons, at a character boundary
    char rule [400];
    snprintf (rule, sizeof rule, "allow n1 exec echo %0300d", 0);
    policy = zc_policy_parse (rule, strlen (rule), "p", &error);
    ZC_CHECK (policy);
    if (policy) {
        zc_policy_verdict_t verdict;
        snprintf (rule, sizeof rule, "echo %0300d", 0);
        zc_policy_check (policy, "n1", "exec", rule, &verdict);
        ZC_CHECK (verdict.allowed);
        ZC_CHECK (strlen (verdict.reason) == 255);
        ZC_CHECK (strncmp (verdict.reason, "allowed by p:1 (allow n1 exec echo 000", 38) == 0);
        ZC_CHECK (strcmp (verdict.reason + 251, "...)") == 0);
    }
    zc_policy_destroy (&policy);
    //  "é" is 2 bytes: 236 of them do not fit, nor can one be cut in half
    strcpy (rule, "allow n1 exec ");
    for (int count = 0; count < 118; count++)
        strcat (rule, "\xc3\xa9");
    policy = zc_policy_parse (rule, strlen (rule), "p", &error);
    ZC_CHECK (policy);
    if (policy) {
        zc_policy_verdict_t verdict;
        zc_policy_check (policy, "n1", "exec", rule + 14, &verdict);
        ZC_CHECK (verdict.allowed);
        //  "allowed by p:1 (allow n1 exec " is 30 bytes: 110 "é" + "...)"
        ZC_CHECK (strlen (verdict.reason) == 30 + 220 + 4);
        ZC_CHECK (strcmp (verdict.reason + 250, "...)") == 0);
    }
    zc_policy_destroy (&policy);

    //  Limits: 4096 bytes a line (CR LF not counted), 1 MiB, 10000 rules
    char *big = zc_malloc (S_FILE_MAX + 1);
    memset (big, 'x', S_FILE_MAX + 1);
    memcpy (big, "allow * exec ", 13);
    policy = zc_policy_parse (big, S_LINE_MAX, "p", &error);
    ZC_CHECK (policy && !error);
    zc_policy_destroy (&policy);
    memcpy (big + S_LINE_MAX, "\r\n", 2);
    policy = zc_policy_parse (big, S_LINE_MAX + 2, "p", &error);
    ZC_CHECK (policy && !error);
    zc_policy_destroy (&policy);
    memcpy (big + S_LINE_MAX, "x\n", 2);
    ZC_CHECK (s_expect_error (big, S_LINE_MAX + 2,
                              "t.policy:1: line longer than 4096 bytes (shorten it)", verbose) == 0);
    ZC_CHECK (s_expect_error (big, S_FILE_MAX + 1,
                              "t.policy: larger than 1048576 bytes (is it the right file?)", verbose) == 0);
    size_t size = 0;
    for (int count = 0; count < S_RULES_MAX; count++)
        size += (size_t) sprintf (big + size, "deny n%d ping\n", count);
    policy = zc_policy_parse (big, size, "p", &error);
    ZC_CHECK (policy && zc_policy_size (policy) == S_RULES_MAX);
    if (policy)
        ZC_CHECK (s_expect (policy, "n9999", "ping", NULL, false,
                            "denied by p:10000 (deny n9999 ping)") == 0);
    zc_policy_destroy (&policy);
    size += (size_t) sprintf (big + size, "\n# still fine\nallow * *\n");
    ZC_CHECK (s_expect_error (big, size,
                              "t.policy:10003: more than 10000 rules (combine rules with patterns)",
                              verbose) == 0);
    free (big);

    //  Files: one that loads, a missing one, a directory
    char dir [] = "/tmp/zc-policy-test-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char path [256];
    snprintf (path, sizeof path, "%s/policy", dir);
    FILE *file = fopen (path, "w");
    ZC_CHECK (file);
    if (file) {
        fputs ("allow central exec *\ndeny * *\n", file);
        fclose (file);
    }
    policy = zc_policy_load (path, &error);
    ZC_CHECK (policy && !error);
    if (policy) {
        snprintf (want, sizeof want, "allowed by %s:1 (allow central exec *)", path);
        ZC_CHECK (s_expect (policy, "central", "exec", "uptime", true, want) == 0);
        snprintf (want, sizeof want, "denied by %s:2 (deny * *)", path);
        ZC_CHECK (s_expect (policy, "n1", "exec", "uptime", false, want) == 0);
    }
    zc_policy_destroy (&policy);
    file = fopen (path, "w");
    ZC_CHECK (file);
    if (file) {
        fputs ("allow central exec *\npermit * *\n", file);
        fclose (file);
    }
    ZC_CHECK (zc_policy_load (path, &error) == NULL);
    snprintf (want, sizeof want, "%s:2: expected allow or deny, got 'permit' (%s)", path, S_RULE_FORM);
    ZC_CHECK_STR (error, want);
    free (error);
    unlink (path);
    ZC_CHECK (zc_policy_load (path, &error) == NULL);
    snprintf (want, sizeof want, "%s: cannot read: No such file or directory", path);
    ZC_CHECK_STR (error, want);
    free (error);
    ZC_CHECK (zc_policy_load (dir, &error) == NULL);
    snprintf (want, sizeof want, "%s: cannot read: Is a directory", dir);
    ZC_CHECK_STR (error, want);
    free (error);
    rmdir (dir);
    return ZC_TEST_END;
}
