/*  lateopts.c — do the last words of a command read as zcnc's options? */
#include <ctype.h>
#include <math.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include "prelude.h"
#include "lateopts.h"
#include "testing.h"

//  The longest run looked at: enough for every option once, and more.
#define S_MAX_WORDS 32

//  What an option wants as its value.
typedef enum { S_NONE, S_SECONDS, S_ANY, S_KEY_GLOB, S_INTERVALS } s_value_t;

typedef struct {
    const char *name;           //  "-t", "--timeout"
    s_value_t value;
    bool trigger_only;
} s_option_t;

static const s_option_t s_options [] = {
    { "-c", S_ANY, false }, { "--config", S_ANY, false },
    { "-h", S_NONE, false }, { "--help", S_NONE, false },
    { "-t", S_SECONDS, false }, { "--timeout", S_SECONDS, false },
    { "--async", S_NONE, false }, { "--json", S_NONE, false },
    { "--schedule", S_INTERVALS, false }, { "--stream", S_NONE, true },
    { "--where", S_KEY_GLOB, false },
};

//  True when 'text' is a valid value of that kind.
static bool
s_value_ok (s_value_t kind, const char *text)
{
    switch (kind) {
        case S_SECONDS: {
            char *end;
            double value = strtod (text, &end);
            return end != text && !*end && isfinite (value) && value >= 0;
        }
        case S_KEY_GLOB:
            return text [0] && text [0] != '=' && strchr (text, '=') != NULL;
        case S_INTERVALS: {
            const char *at = text;
            if (!isdigit ((unsigned char) *at))
                return false;
            while (isdigit ((unsigned char) *at))
                at++;
            if (*at++ != ',' || !isdigit ((unsigned char) *at))
                return false;
            while (isdigit ((unsigned char) *at))
                at++;
            return *at == 0;
        }
        default:
            return *text != 0;
    }
}

//  How many words the option at words [0] takes (1 or 2), or 0 when it
//  is not an option of the command with a valid value.
static int
s_option_words (int count, char *const words [], bool call)
{
    const char *word = words [0];
    for (size_t index = 0; index < sizeof s_options / sizeof s_options [0]; index++) {
        const s_option_t *option = &s_options [index];
        if (call && option->trigger_only)
            continue;
        size_t length = strlen (option->name);
        if (strncmp (word, option->name, length) != 0)
            continue;
        const char *rest = word + length;
        if (option->value == S_NONE) {
            if (*rest == 0)
                return 1;
            continue;
        }
        //  "-t 2", "-t2", "--timeout 2", "--timeout=2".
        if (*rest == 0)
            return count > 1 && s_value_ok (option->value, words [1])? 2: 0;
        bool is_long = option->name [1] == '-';
        if (is_long && *rest == '=')
            return s_value_ok (option->value, rest + 1)? 1: 0;
        if (!is_long)
            return s_value_ok (option->value, rest)? 1: 0;
    }
    return 0;
}

//  True when words [0..count-1] are options and their values, exactly.
static bool
s_all_options (int count, char *const words [], bool call)
{
    int at = 0;
    while (at < count) {
        int taken = s_option_words (count - at, words + at, call);
        if (!taken)
            return false;
        at += taken;
    }
    return true;
}

int
zc_lateopts_find (int count, char *const words [], bool call)
{
    int first = count > S_MAX_WORDS? count - S_MAX_WORDS: 0;
    for (int start = first; start < count; start++)
        if (s_all_options (count - start, words + start, call))
            return start;
    return -1;
}

//  ---------------------------------------------------------------------
//  Self-test

//  zc_lateopts_find over a blank-separated line of words.
static int
s_find (const char *line, bool call)
{
    char *copy = zc_strdup (line);
    char *words [64];
    int count = 0;
    for (char *word = strtok (copy, " "); word && count < 64; word = strtok (NULL, " "))
        words [count++] = word;
    int found = zc_lateopts_find (count, words, call);
    free (copy);
    return found;
}

int
zc_lateopts_test (bool verbose)
{
    (void) verbose;
    ZC_TEST_BEGIN;
    //  The trap itself, and the longest run of options wins.
    ZC_CHECK (s_find ("-t 2", false) == 0);
    ZC_CHECK (s_find ("/tmp -t 2", false) == 1);
    ZC_CHECK (s_find ("/tmp --json -t 2", false) == 1);
    ZC_CHECK (s_find ("-l --async", false) == 1);
    ZC_CHECK (s_find ("x -t2 --timeout=3 --timeout 4", false) == 1);
    ZC_CHECK (s_find ("x -c agent.cfg", false) == 1);
    ZC_CHECK (s_find ("x --config=agent.cfg --stream", false) == 1);
    ZC_CHECK (s_find ("x --where env=prod --where=os=debian", false) == 1);
    ZC_CHECK (s_find ("x --schedule 60,3600", false) == 1);
    ZC_CHECK (s_find ("x --schedule=60,3600 -h --help", false) == 1);
    //  Words that are the remote command's: no value, a bad value, not
    //  at the end, or not an option of zcnc.
    ZC_CHECK (s_find ("-t", false) == -1);                  //  ls -t
    ZC_CHECK (s_find ("-t , file", false) == -1);           //  sort -t , file
    ZC_CHECK (s_find ("-t ,", false) == -1);
    ZC_CHECK (s_find ("-t -1", false) == -1);
    ZC_CHECK (s_find ("-t 2 /tmp", false) == -1);
    ZC_CHECK (s_find ("-l", false) == -1);
    ZC_CHECK (s_find ("--jsonx", false) == -1);
    ZC_CHECK (s_find ("--timeout=", false) == -1);
    ZC_CHECK (s_find ("--where novalue", false) == -1);
    ZC_CHECK (s_find ("--where =x", false) == -1);
    ZC_CHECK (s_find ("--schedule 60", false) == -1);
    ZC_CHECK (s_find ("--schedule 60,", false) == -1);
    ZC_CHECK (s_find ("--schedule 60,3600x", false) == -1);
    ZC_CHECK (s_find ("--async=1", false) == -1);
    ZC_CHECK (s_find ("-tx", false) == -1);
    ZC_CHECK (s_find ("", false) == -1);
    //  call has no --stream.
    ZC_CHECK (s_find ("a --stream", false) == 1);
    ZC_CHECK (s_find ("a --stream", true) == -1);
    ZC_CHECK (s_find ("a -t 5", true) == 1);
    //  Only the last 32 words count.
    char line [400] = "";
    for (int word = 0; word < 40; word++)
        strcat (line, "--json ");
    ZC_CHECK (s_find (line, false) == 8);
    return ZC_TEST_END;
}
