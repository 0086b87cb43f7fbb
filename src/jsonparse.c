/*  jsonparse.c — a JSON text to a jansson value, fast (see jsonparse.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prelude.h"
#include "jsonparse.h"
#include "testing.h"

typedef struct {
    const unsigned char *start, *at, *end;
    char *scratch;              //  a string with escapes, decoded
    size_t scratch_size, scratch_capacity;
    char *error;
    bool failed;
} s_parser_t;

static void
s_fail (s_parser_t *parser, const char *what)
{
    if (!parser->failed)
        snprintf (parser->error, ZC_JSONPARSE_ERROR_SIZE, "%s at byte %zu", what,
                  (size_t) (parser->at - parser->start));
    parser->failed = true;
}

static void
s_skip_space (s_parser_t *parser)
{
    while (parser->at < parser->end
    &&    (*parser->at == ' ' || *parser->at == '\n' || *parser->at == '\r' || *parser->at == '\t'))
        parser->at++;
}

static void
s_scratch_put (s_parser_t *parser, const void *bytes, size_t length)
{
    if (length == 0)
        return;
    if (parser->scratch_size + length > parser->scratch_capacity) {
        size_t capacity = parser->scratch_capacity? parser->scratch_capacity: 256;
        while (capacity < parser->scratch_size + length)
            capacity *= 2;
        parser->scratch = zc_realloc (parser->scratch, capacity);
        parser->scratch_capacity = capacity;
    }
    memcpy (parser->scratch + parser->scratch_size, bytes, length);
    parser->scratch_size += length;
}

//  The length of the UTF-8 sequence at 'at' (before 'end'), or 0 when it
//  is not a valid one: overlong forms, surrogates and code points above
//  U+10FFFF are refused, as jansson does.
static size_t
s_utf8_length (const unsigned char *at, const unsigned char *end)
{
    unsigned char first = at [0];
    size_t length;
    uint32_t point;
    if (first >= 0xC2 && first <= 0xDF) {
        length = 2;
        point = first & 0x1F;
    }
    else
    if (first >= 0xE0 && first <= 0xEF) {
        length = 3;
        point = first & 0x0F;
    }
    else
    if (first >= 0xF0 && first <= 0xF4) {
        length = 4;
        point = first & 0x07;
    }
    else
        return 0;
    if ((size_t) (end - at) < length)
        return 0;
    for (size_t index = 1; index < length; index++) {
        if ((at [index] & 0xC0) != 0x80)
            return 0;
        point = (point << 6) | (at [index] & 0x3F);
    }
    if ((length == 3 && point < 0x800) || (length == 4 && point < 0x10000)
    ||  (point >= 0xD800 && point <= 0xDFFF) || point > 0x10FFFF)
        return 0;
    return length;
}

//  Four hex digits at the parser's position, or -1.
static long
s_hex4 (s_parser_t *parser)
{
    if (parser->end - parser->at < 4)
        return -1;
    long value = 0;
    for (int index = 0; index < 4; index++) {
        unsigned char c = parser->at [index];
        int digit = c >= '0' && c <= '9'? c - '0':
                    c >= 'a' && c <= 'f'? c - 'a' + 10:
                    c >= 'A' && c <= 'F'? c - 'A' + 10: -1;
        if (digit < 0)
            return -1;
        value = value * 16 + digit;
    }
    parser->at += 4;
    return value;
}

static void
s_put_utf8 (s_parser_t *parser, uint32_t point)
{
    unsigned char bytes [4];
    size_t length;
    if (point < 0x80) {
        bytes [0] = (unsigned char) point;
        length = 1;
    }
    else
    if (point < 0x800) {
        bytes [0] = (unsigned char) (0xC0 | (point >> 6));
        bytes [1] = (unsigned char) (0x80 | (point & 0x3F));
        length = 2;
    }
    else
    if (point < 0x10000) {
        bytes [0] = (unsigned char) (0xE0 | (point >> 12));
        bytes [1] = (unsigned char) (0x80 | ((point >> 6) & 0x3F));
        bytes [2] = (unsigned char) (0x80 | (point & 0x3F));
        length = 3;
    }
    else {
        bytes [0] = (unsigned char) (0xF0 | (point >> 18));
        bytes [1] = (unsigned char) (0x80 | ((point >> 12) & 0x3F));
        bytes [2] = (unsigned char) (0x80 | ((point >> 6) & 0x3F));
        bytes [3] = (unsigned char) (0x80 | (point & 0x3F));
        length = 4;
    }
    s_scratch_put (parser, bytes, length);
}

//  One escape after its backslash, decoded into the scratch buffer.
static void
s_escape (s_parser_t *parser)
{
    if (parser->at == parser->end) {
        s_fail (parser, "end of input in a string");
        return;
    }
    unsigned char c = *parser->at++;
    const char *plain = c == '"'? "\"": c == '\\'? "\\": c == '/'? "/": c == 'b'? "\b":
                        c == 'f'? "\f": c == 'n'? "\n": c == 'r'? "\r": c == 't'? "\t": NULL;
    if (plain) {
        s_scratch_put (parser, plain, 1);
        return;
    }
    if (c != 'u') {
        parser->at--;
        s_fail (parser, "invalid escape in a string");
        return;
    }
    long point = s_hex4 (parser);
    if (point < 0) {
        s_fail (parser, "invalid \\u escape in a string");
        return;
    }
    if (point >= 0xD800 && point <= 0xDBFF) {
        long low = -1;
        if (parser->end - parser->at >= 2 && parser->at [0] == '\\' && parser->at [1] == 'u') {
            parser->at += 2;
            low = s_hex4 (parser);
        }
        if (low < 0xDC00 || low > 0xDFFF) {
            s_fail (parser, "a \\u surrogate without its pair in a string");
            return;
        }
        point = 0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00);
    }
    else
    if (point >= 0xDC00 && point <= 0xDFFF) {
        s_fail (parser, "a lone \\u surrogate in a string");
        return;
    }
    else
    if (point == 0) {
        s_fail (parser, "\\u0000 in a string");
        return;
    }
    s_put_utf8 (parser, (uint32_t) point);
}

//  A string after its opening quote: *text and *length its decoded bytes,
//  in the input when it has no escapes, else in the scratch buffer (valid
//  until the next string). -1 (failed) when it is not a valid string.
static int
s_string (s_parser_t *parser, const char **text, size_t *length)
{
    const unsigned char *run = parser->at;  //  bytes not yet copied to scratch
    bool escaped = false;
    parser->scratch_size = 0;
    for (;;) {
        const unsigned char *at = parser->at, *end = parser->end;
        while (at < end && *at >= 0x20 && *at < 0x80 && *at != '"' && *at != '\\')
            at++;
        parser->at = at;
        if (at == end) {
            s_fail (parser, "end of input in a string");
            return -1;
        }
        unsigned char c = *at;
        if (c == '"') {
            if (escaped) {
                s_scratch_put (parser, run, (size_t) (at - run));
                *text = parser->scratch;
                *length = parser->scratch_size;
            }
            else {
                *text = (const char *) run;
                *length = (size_t) (at - run);
            }
            parser->at = at + 1;
            return 0;
        }
        if (c == '\\') {
            s_scratch_put (parser, run, (size_t) (at - run));
            escaped = true;
            parser->at = at + 1;
            s_escape (parser);
            if (parser->failed)
                return -1;
            run = parser->at;
            continue;
        }
        if (c < 0x20) {
            s_fail (parser, "a control character in a string");
            return -1;
        }
        size_t sequence = s_utf8_length (at, end);
        if (!sequence) {
            s_fail (parser, "invalid UTF-8 in a string");
            return -1;
        }
        parser->at = at + sequence;
    }
}

//  A number (the grammar of RFC 8259): an integer when it has neither a
//  fraction nor an exponent, as in jansson.
static json_t *
s_number (s_parser_t *parser)
{
    const unsigned char *begin = parser->at, *at = parser->at, *end = parser->end;
    bool negative = at < end && *at == '-';
    if (negative)
        at++;
    if (at < end && *at == '0') {
        at++;
        if (at < end && *at >= '0' && *at <= '9') {
            parser->at = at;
            s_fail (parser, "a number with a leading zero");
            return NULL;
        }
    }
    else
    if (at < end && *at >= '1' && *at <= '9') {
        while (at < end && *at >= '0' && *at <= '9')
            at++;
    }
    else {
        parser->at = at;
        s_fail (parser, "invalid value");
        return NULL;
    }
    bool real = false;
    if (at < end && *at == '.') {
        at++;
        if (at == end || *at < '0' || *at > '9') {
            parser->at = at;
            s_fail (parser, "a fraction without digits");
            return NULL;
        }
        while (at < end && *at >= '0' && *at <= '9')
            at++;
        real = true;
    }
    if (at < end && (*at == 'e' || *at == 'E')) {
        at++;
        if (at < end && (*at == '+' || *at == '-'))
            at++;
        if (at == end || *at < '0' || *at > '9') {
            parser->at = at;
            s_fail (parser, "an exponent without digits");
            return NULL;
        }
        while (at < end && *at >= '0' && *at <= '9')
            at++;
        real = true;
    }
    parser->at = at;
    if (!real) {
        //  At most 2^63 - 1, or 2^63 negative.
        unsigned long long magnitude = 0, limit = negative? 9223372036854775808ULL: 9223372036854775807ULL;
        for (const unsigned char *digit = begin + negative; digit < at; digit++) {
            unsigned value = (unsigned) (*digit - '0');
            if (magnitude > (limit - value) / 10) {
                parser->at = begin;
                s_fail (parser, negative? "an integer too small": "an integer too large");
                return NULL;
            }
            magnitude = magnitude * 10 + value;
        }
        json_int_t value = negative? (json_int_t) (0ULL - magnitude): (json_int_t) magnitude;
        return json_integer (value);
    }
    size_t length = (size_t) (at - begin);
    char small [64];
    char *text = length < sizeof small? small: zc_malloc (length + 1);
    memcpy (text, begin, length);
    text [length] = 0;
    errno = 0;
    double value = strtod (text, NULL);
    bool overflow = errno == ERANGE && (value == HUGE_VAL || value == -HUGE_VAL);
    if (text != small)
        free (text);
    if (overflow) {
        parser->at = begin;
        s_fail (parser, "a real number too large");
        return NULL;
    }
    return json_real (value);
}

static json_t *s_value (s_parser_t *parser, int depth);

static json_t *
s_array (s_parser_t *parser, int depth)
{
    json_t *array = json_array ();
    s_skip_space (parser);
    if (parser->at < parser->end && *parser->at == ']') {
        parser->at++;
        return array;
    }
    for (;;) {
        json_t *item = s_value (parser, depth + 1);
        if (!item)
            break;
        json_array_append_new (array, item);
        s_skip_space (parser);
        if (parser->at < parser->end && *parser->at == ',') {
            parser->at++;
            continue;
        }
        if (parser->at < parser->end && *parser->at == ']') {
            parser->at++;
            return array;
        }
        s_fail (parser, "',' or ']' expected");
        break;
    }
    json_decref (array);
    return NULL;
}

static json_t *
s_object (s_parser_t *parser, int depth)
{
    json_t *object = json_object ();
    s_skip_space (parser);
    if (parser->at < parser->end && *parser->at == '}') {
        parser->at++;
        return object;
    }
    for (;;) {
        if (parser->at == parser->end || *parser->at != '"') {
            s_fail (parser, "a string (an object's key) expected");
            break;
        }
        parser->at++;
        const unsigned char *key_at = parser->at;
        const char *text;
        size_t length;
        if (s_string (parser, &text, &length) != 0)
            break;
        char small [64];
        char *key = length < sizeof small? small: zc_malloc (length + 1);
        memcpy (key, text, length);
        key [length] = 0;
        json_t *value = NULL;
        if (json_object_get (object, key)) {
            parser->at = key_at;
            s_fail (parser, "a key twice in an object");
        }
        else {
            s_skip_space (parser);
            if (parser->at < parser->end && *parser->at == ':') {
                parser->at++;
                value = s_value (parser, depth + 1);
            }
            else
                s_fail (parser, "':' expected");
        }
        if (value)
            json_object_set_new_nocheck (object, key, value);
        if (key != small)
            free (key);
        if (!value)
            break;
        s_skip_space (parser);
        if (parser->at < parser->end && *parser->at == ',') {
            parser->at++;
            s_skip_space (parser);
            continue;
        }
        if (parser->at < parser->end && *parser->at == '}') {
            parser->at++;
            return object;
        }
        s_fail (parser, "',' or '}' expected");
        break;
    }
    json_decref (object);
    return NULL;
}

//  True when the literal 'word' is at the parser's position (taken).
static bool
s_literal (s_parser_t *parser, const char *word)
{
    size_t length = strlen (word);
    if ((size_t) (parser->end - parser->at) < length || memcmp (parser->at, word, length) != 0)
        return false;
    parser->at += length;
    return true;
}

static json_t *
s_value (s_parser_t *parser, int depth)
{
    if (depth > ZC_JSONPARSE_MAX_DEPTH) {
        s_fail (parser, "nested deeper than 2048 levels");
        return NULL;
    }
    s_skip_space (parser);
    if (parser->at == parser->end) {
        s_fail (parser, "end of input where a value was expected");
        return NULL;
    }
    switch (*parser->at) {
        case '{':
            parser->at++;
            return s_object (parser, depth);
        case '[':
            parser->at++;
            return s_array (parser, depth);
        case '"': {
            parser->at++;
            const char *text;
            size_t length;
            if (s_string (parser, &text, &length) != 0)
                return NULL;
            return json_stringn_nocheck (text, length);
        }
        case 't':
            if (s_literal (parser, "true"))
                return json_true ();
            break;
        case 'f':
            if (s_literal (parser, "false"))
                return json_false ();
            break;
        case 'n':
            if (s_literal (parser, "null"))
                return json_null ();
            break;
        default:
            return s_number (parser);
    }
    s_fail (parser, "invalid value");
    return NULL;
}

json_t *
zc_jsonparse (const char *text, size_t size, char *error)
{
    s_parser_t parser = {
        .start = (const unsigned char *) text, .at = (const unsigned char *) text,
        .end = (const unsigned char *) text + size, .error = error
    };
    *error = 0;
    json_t *value = NULL;
    s_skip_space (&parser);
    if (parser.at == parser.end || (*parser.at != '{' && *parser.at != '['))
        s_fail (&parser, "'[' or '{' expected");
    else {
        value = s_value (&parser, 1);
        s_skip_space (&parser);
        if (value && parser.at != parser.end) {
            s_fail (&parser, "end of input expected");
            json_decref (value);
            value = NULL;
        }
    }
    free (parser.scratch);
    return value;
}

bool
zc_jsonparse_utf8 (const char *text, size_t size)
{
    const unsigned char *at = (const unsigned char *) text, *end = at + size;
    while (at < end) {
        if (*at < 0x80) {
            at++;
            continue;
        }
        size_t length = s_utf8_length (at, end);
        if (!length)
            return false;
        at += length;
    }
    return true;
}

//  ---------------------------------------------------------------------
//  Self-test

//  True when zc_jsonparse and jansson agree on the 'size' bytes at
//  'input': both refuse it, or both give equal values whose texts (in
//  member order) are the same.
static bool
s_agrees (const char *input, size_t size)
{
    char error [ZC_JSONPARSE_ERROR_SIZE];
    json_error_t theirs_error;
    json_t *ours = zc_jsonparse (input, size, error);
    json_t *theirs = json_loadb (input, size, JSON_REJECT_DUPLICATES, &theirs_error);
    bool agree = (!ours && !theirs && *error) || (ours && theirs && json_equal (ours, theirs));
    if (agree && ours) {
        char *ours_text = json_dumps (ours, JSON_COMPACT | JSON_ENCODE_ANY);
        char *theirs_text = json_dumps (theirs, JSON_COMPACT | JSON_ENCODE_ANY);
        agree = ours_text && theirs_text && strcmp (ours_text, theirs_text) == 0;
        free (ours_text);
        free (theirs_text);
    }
    if (!agree)
        printf ("# jsonparse: %.*s: ours %s (%s), jansson's %s (%s)\n", (int) size, input,
                ours? "a value": "refused", error, theirs? "a value": "refused", theirs? "": theirs_error.text);
    json_decref (ours);
    json_decref (theirs);
    return agree;
}

//  'depth' arrays around 'inner'.
static char *
s_nested (int depth, const char *inner)
{
    size_t size = 2 * (size_t) depth + strlen (inner) + 1;
    char *text = zc_malloc (size);
    memset (text, '[', (size_t) depth);
    strcpy (text + depth, inner);
    memset (text + depth + strlen (inner), ']', (size_t) depth);
    text [size - 1] = 0;
    return text;
}

int
zc_jsonparse_test (bool verbose)
{
    ZC_TEST_BEGIN;
    const char *samples [] = {
        //  accepted
        "{}", "[]", " \t\r\n[ ] \n", "{\"a\":1}", "[0,-0,1,-1,9223372036854775807,-9223372036854775808]",
        "[0.5,-0.0,1e3,1E+3,1e-3,2.5e-400,123456789012345678901234567890]",
        "[1.7976931348623157e308,4.9e-324,0.1,1.5e1]",
        "[true,false,null]", "[\"\",\"plain\",\"tab\\t nl\\n cr\\r bs\\b ff\\f q\\\" bs\\\\ sl\\/\"]",
        "[\"\\u00e9\\u4E2D\\ud83d\\ude00\\u0001\\u001f\\u007f\"]",
        "[\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\"]",
        "{\"op\":\"pub\",\"subject\":\"a.b\",\"data\":[\"m1\",\"m2\"],\"n\":{\"x\":[{},[]]}}",
        "{\"a\\u0062\":1,\"ab\\\"\":2,\"\":3}",
        "{\"key longer than sixty-four bytes, so that it does not fit the small buffer\":[1]}",
        "[\"bs at end\\\\\"]",
        //  refused
        "", " ", "1", "\"s\"", "true", "null", "[", "]", "{", "[1,]", "[,1]", "[1 2]", "{\"a\"}",
        "{\"a\":}", "{\"a\":1,}", "{,}", "{1:2}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "[01]", "[-01]",
        "[-]", "[1.]", "[.5]", "[1e]", "[1e+]", "[+1]", "[0x10]", "[1.5e999]", "[-1e999]",
        "[9223372036854775808]", "[-9223372036854775809]", "[99999999999999999999]", "[tru]",
        "[truex]", "[nul]", "[True]", "[NaN]", "[Infinity]", "[\"\\x\"]", "[\"\\u12\"]",
        "[\"\\u12G4\"]", "[\"\\ud83d\"]", "[\"\\ud83dx\"]", "[\"\\ud83d\\u0041\"]", "[\"\\ude00\"]",
        "[\"\\u0000\"]", "{\"\\u0000\":1}", "[\"a\tb\"]", "[\"a\nb\"]", "[\"\x7f\"]",
        "[\"\xc0\xaf\"]", "[\"\xe0\x80\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
        "[\"\xf8\x88\x80\x80\x80\"]", "[\"\xc3\"]", "[\"\xff\"]", "[\"\x80\"]", "[\"abc", "[\"abc\\",
        "{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}", "[1]x", "[1] [2]", "{}\xff", "[] \x01",
        "[/* c */]", "['a']",
        NULL
    };
    for (int index = 0; samples [index]; index++)
        ZC_CHECK (s_agrees (samples [index], strlen (samples [index])));

    //  NUL bytes in the input; sizes shorter than the text.
    char error [ZC_JSONPARSE_ERROR_SIZE];
    ZC_CHECK (s_agrees ("[\"a\0b\"]", 7));
    ZC_CHECK (s_agrees ("[1]\0", 4));
    ZC_CHECK (zc_jsonparse ("[true\0]", 7, error) == NULL);      //  jansson takes it (jsonparse.h)
    ZC_CHECK (strcmp (error, "',' or ']' expected at byte 5") == 0);
    ZC_CHECK (zc_jsonparse ("[1\0]", 4, error) == NULL);
    ZC_CHECK (s_agrees ("[1,2]", 3));
    ZC_CHECK (s_agrees ("[\"abc\"]", 4));

    //  Depth: every value counts, as in jansson.
    int depths [] = { 2047, 2048, 2049 };
    for (int index = 0; index < 3; index++) {
        char *text = s_nested (depths [index], "");
        ZC_CHECK (s_agrees (text, strlen (text)));
        free (text);
        text = s_nested (depths [index], "1");
        ZC_CHECK (s_agrees (text, strlen (text)));
        free (text);
    }

    //  A long string with escapes grows the scratch buffer.
    size_t size = 100000;
    char *text = zc_malloc (size + 8);
    strcpy (text, "[\"");
    for (size_t at = 2; at < size; at += 2)
        memcpy (text + at, at % 1000? "ab": "\\n", 2);
    strcpy (text + size, "\"]");
    ZC_CHECK (s_agrees (text, strlen (text)));
    free (text);

    //  UTF-8 as json_stringn takes it.
    const char *texts [] = { "", "plain", "nul\0inside", "\xc3\xa9\xf0\x9f\x98\x80", "\xc3", "\xff",
                             "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ok\x80", NULL };
    for (int index = 0; texts [index]; index++) {
        size_t length = index == 2? 11: strlen (texts [index]);
        json_t *string = json_stringn (texts [index], length);
        ZC_CHECK (zc_jsonparse_utf8 (texts [index], length) == (string != NULL));
        json_decref (string);
    }

    //  The error says what and where.
    ZC_CHECK (zc_jsonparse ("{\"a\":[1,]}", 10, error) == NULL);
    ZC_CHECK (strcmp (error, "invalid value at byte 8") == 0);
    ZC_CHECK (zc_jsonparse ("{\"a\":1,\"a\":2}", 13, error) == NULL);
    ZC_CHECK (strcmp (error, "a key twice in an object at byte 8") == 0);
    ZC_CHECK (zc_jsonparse ("x", 1, error) == NULL);
    ZC_CHECK (strcmp (error, "'[' or '{' expected at byte 0") == 0);
    json_t *value = zc_jsonparse ("{\"a\":[1,\"x\"]}", 13, error);
    ZC_CHECK (value && *error == 0 && json_integer_value (json_array_get (json_object_get (value, "a"), 0)) == 1);
    json_decref (value);
    return ZC_TEST_END;
}
