/*  fuzz_subject.c — libFuzzer target for pub/sub subjects and interest
    (src/subject.c): what a SUB or PUB from a peer names.

    The input is "PATTERN\nSUBJECT" (without a newline: the whole input is
    both). Neither check may fault, and a text valid as a subject is valid
    as a pattern. When both are valid, zc_subject_matches must agree with
    a second, independent matcher (below, recursive over token arrays),
    a subject must match itself, and an interest table holding the
    pattern must name its owner for the subject exactly when they match.

    Build and run: `make fuzz FUZZ_TARGETS=fuzz_subject` (tests/fuzz/README.md).
*/
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "subject.h"

#define S_MAX_TOKENS (ZC_SUBJECT_MAX_TOKENS + 1)

//  Splits a copy of text at '.' into tokens; returns their count.
static int
s_split (char *text, char *tokens [S_MAX_TOKENS])
{
    int count = 0;
    for (char *token = strtok (text, "."); token && count < S_MAX_TOKENS; token = strtok (NULL, "."))
        tokens [count++] = token;
    return count;
}

//  The reference: NATS's rules over token arrays, "$sys" apart.
static bool
s_reference (char **pattern, int patterns, char **subject, int subjects)
{
    if (patterns == 0)
        return subjects == 0;
    if (strcmp (pattern [0], ">") == 0)
        return subjects >= 1;
    if (subjects == 0)
        return false;
    if (strcmp (pattern [0], "*") != 0 && strcmp (pattern [0], subject [0]) != 0)
        return false;
    return s_reference (pattern + 1, patterns - 1, subject + 1, subjects - 1);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > 2 * ZC_SUBJECT_MAX + 8)
        return 0;
    char *text = malloc (size + 1);
    memcpy (text, data, size);
    text [size] = 0;
    if (strlen (text) != size) {            //  a NUL inside: a C string ends there
        free (text);
        return 0;
    }
    char *newline = strchr (text, '\n');
    const char *pattern = text, *subject = text;
    if (newline) {
        *newline = 0;
        subject = newline + 1;
    }
    const char *problem = NULL;
    bool pattern_ok = zc_subject_check (pattern, true, &problem) == 0;
    if (!pattern_ok && !problem)
        abort ();
    bool subject_ok = zc_subject_check (subject, false, &problem) == 0;
    if (subject_ok && zc_subject_check (subject, true, NULL) != 0)
        abort ();                           //  every subject is a pattern too
    if (subject_ok && !zc_subject_matches (subject, subject))
        abort ();
    if (pattern_ok && subject_ok) {
        bool matches = zc_subject_matches (pattern, subject);
        char *pattern_copy = strdup (pattern), *subject_copy = strdup (subject);
        char *patterns [S_MAX_TOKENS], *subjects [S_MAX_TOKENS];
        int pattern_count = s_split (pattern_copy, patterns);
        int subject_count = s_split (subject_copy, subjects);
        bool expected = s_reference (patterns, pattern_count, subjects, subject_count);
        if (zc_subject_is_system (subject) && !zc_subject_is_system (pattern))
            expected = false;
        if (matches != expected)
            abort ();
        zc_interest_t *interest = zc_interest_new ();
        zc_interest_add (interest, pattern, "owner");
        zlist_t *owners = zc_interest_match (interest, subject);
        if ((zlist_size (owners) == 1) != matches)
            abort ();
        zlist_destroy (&owners);
        if (!zc_interest_remove (interest, pattern, "owner") || zc_interest_size (interest) != 0)
            abort ();
        zc_interest_destroy (&interest);
        free (pattern_copy);
        free (subject_copy);
    }
    free (text);
    return 0;
}
