/*  fuzz_policy.c — libFuzzer target for the policy parser and matcher.

    Input starting with '!' is "!PATTERN\nCOMMAND": the rule "allow * exec
    PATTERN" must allow COMMAND exactly when a second, independent matcher
    (below, by dynamic programming) says PATTERN matches it. Any other
    input is parsed as a policy file; when it parses, it is checked with a
    few fixed jobs and with the input itself as the command, and each
    verdict's reason must be short, UTF-8 and agree with the verdict.

    Build and run (from the top of the tree):
      clang -g -O1 -fsanitize=fuzzer,address -D_GNU_SOURCE -Iinclude \
          tests/fuzz/fuzz_policy.c src/policy.c src/job.c src/log.c -o fuzz_policy
      ./fuzz_policy -max_total_time=60 [CORPUS_DIR]
*/
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

//  The bytes no wildcard matches, as zcnc-policy(5) lists them.
static bool
s_meta (unsigned char c)
{
    return c && strchr ("\n;&|<>`$(){}\\!'\"", c);
}

typedef struct {
    enum { LITERAL, ANY, STAR } kind;
    bool set [256];             //  the bytes a LITERAL or ANY element matches
} s_element_t;

//  Reads the elements of pattern into elements [] (room for one per
//  byte). Returns their count, or -1 when the pattern is bad.
static int
s_compile (const char *pattern, s_element_t *elements)
{
    int count = 0;
    while (*pattern) {
        s_element_t *element = &elements [count++];
        memset (element, 0, sizeof *element);
        char c = *pattern++;
        if (c == '*')
            element->kind = STAR;
        else
        if (c == '?') {
            element->kind = ANY;
            memset (element->set, 1, sizeof element->set);
        }
        else
        if (c == '[') {
            element->kind = ANY;
            bool negated = *pattern == '!' || *pattern == '^';
            pattern += negated;
            for (bool first = true; first || *pattern != ']'; first = false) {
                if (*pattern == '\\')
                    pattern++;
                if (!*pattern)
                    return -1;
                unsigned char low = *pattern++, high = low;
                if (*pattern == '-' && pattern [1] && pattern [1] != ']') {
                    pattern += pattern [1] == '\\'? 2: 1;
                    if (!*pattern)
                        return -1;
                    high = *pattern++;
                }
                for (int byte = low; byte <= high; byte++)
                    element->set [byte] = true;
            }
            pattern++;
            if (negated)
                for (int byte = 0; byte < 256; byte++)
                    element->set [byte] = !element->set [byte];
        }
        else {
            if (c == '\\' && !(c = *pattern++))
                return -1;
            element->kind = LITERAL;
            element->set [(unsigned char) c] = true;
        }
        if (element->kind == ANY)
            for (int byte = 0; byte < 256; byte++)
                if (s_meta (byte))
                    element->set [byte] = false;
    }
    return count;
}

//  Whether count elements match the whole of string: matched [k] says
//  whether the first k elements match the string read so far.
static bool
s_reference (s_element_t *elements, int count, const char *string)
{
    bool *matched = calloc (count + 1, sizeof (bool));
    matched [0] = true;
    for (int index = 0; index < count && elements [index].kind == STAR; index++)
        matched [index + 1] = true;
    for (; *string; string++) {
        unsigned char c = *string;
        for (int index = count - 1; index >= 0; index--) {
            s_element_t *element = &elements [index];
            if (element->kind == STAR)
                matched [index + 1] = matched [index + 1] && !s_meta (c);
            else
                matched [index + 1] = matched [index] && element->set [c];
        }
        matched [0] = false;
        for (int index = 0; index < count; index++)
            if (elements [index].kind == STAR && matched [index])
                matched [index + 1] = true;
    }
    bool result = matched [count];
    free (matched);
    return result;
}

static void
s_differential (const char *input, size_t size)
{
    const char *newline = memchr (input, '\n', size);
    if (!newline)
        return;
    size_t pattern_size = newline - input;
    char *pattern = strndup (input, pattern_size);
    char *command = strndup (newline + 1, size - pattern_size - 1);
    //  Only patterns that reach the rule unchanged: no comment, no blanks
    //  to trim, no CR (of a CR LF), not empty
    bool plain = pattern_size == strlen (pattern) && pattern_size > 0
              && !strpbrk (pattern, "#\r") && !strchr (" \t", pattern [0])
              && !strchr (" \t", pattern [pattern_size - 1]);
    char *text = malloc (pattern_size + 16);
    strcpy (text, "allow * exec ");
    strcat (text, pattern);
    zc_policy_t *policy = plain? zc_policy_parse (text, strlen (text), "f", NULL): NULL;
    s_element_t *elements = malloc ((pattern_size + 1) * sizeof (s_element_t));
    int count = s_compile (pattern, elements);
    if (policy) {
        if (count < 0)
            abort ();               //  a bad pattern parsed
        zc_policy_verdict_t verdict;
        zc_policy_check (policy, "n1", "exec", command, &verdict);
        bool want = strcmp (pattern, "*") == 0 || s_reference (elements, count, command);
        if (verdict.allowed != want)
            abort ();
    }
    else
    if (plain && count >= 0 && pattern_size < 4000) {
        //  Refused although good: only for bytes the file may not hold
        bool odd = false;
        for (const unsigned char *c = (const unsigned char *) pattern; *c; c++)
            odd |= *c < 0x20 || *c >= 0x7f;
        if (!odd)
            abort ();
    }
    zc_policy_destroy (&policy);
    free (elements);
    free (text);
    free (pattern);
    free (command);
}

//  True when text is valid UTF-8 (a simple check: lengths and
//  continuation bytes).
static bool
s_utf8 (const unsigned char *text)
{
    while (*text) {
        int length = *text < 0x80? 1: *text >= 0xf0? 4: *text >= 0xe0? 3: *text >= 0xc0? 2: 0;
        if (!length)
            return false;
        for (int index = 1; index < length; index++)
            if ((text [index] & 0xc0) != 0x80)
                return false;
        text += length;
    }
    return true;
}

static void
s_check (zc_policy_t *policy, const char *origin, const char *method, const char *command)
{
    zc_policy_verdict_t verdict;
    memset (&verdict, 0x55, sizeof verdict);
    zc_policy_check (policy, origin, method, command, &verdict);
    if (!memchr (verdict.reason, 0, sizeof verdict.reason)
    ||  !s_utf8 ((const unsigned char *) verdict.reason))
        abort ();
    const char *want = verdict.allowed? "allowed by f:": "denied by f:";
    if (strncmp (verdict.reason, want, strlen (want)) != 0
    &&  (verdict.allowed || strcmp (verdict.reason, "no rule in f matched") != 0))
        abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *input, size_t size)
{
    if (size > 0 && input [0] == '!') {
        s_differential ((const char *) input + 1, size - 1);
        return 0;
    }
    char *error = NULL;
    zc_policy_t *policy = zc_policy_parse ((const char *) input, size, "f", &error);
    if (!policy) {
        if (!error || strncmp (error, "f:", 2) != 0)
            abort ();
        free (error);
        return 0;
    }
    static const char *origins [] = { "central", "ops-1", "n1", "web-a9", "" };
    static const char *methods [] = {
        "exec", "exec_stream", "tail", "http_get", "copy", "ping", "jobs", "cancel", "bogus"
    };
    static const char *commands [] = {
        "", "uptime", "systemctl status sshd", "systemctl status x; rm -rf /",
        "/var/log/syslog", "http://localhost/x?y=$(id)", "a#b \\ [x] *?", NULL
    };
    char *itself = strndup ((const char *) input, size);
    for (size_t origin = 0; origin < sizeof origins / sizeof origins [0]; origin++)
        for (size_t method = 0; method < sizeof methods / sizeof methods [0]; method++)
            for (size_t command = 0; command < sizeof commands / sizeof commands [0]; command++)
                s_check (policy, origins [origin], methods [method], commands [command]);
    s_check (policy, "n1", "exec", itself);
    s_check (policy, "n1", "tail", itself);
    free (itself);
    zc_policy_destroy (&policy);
    return 0;
}
