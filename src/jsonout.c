/*  jsonout.c — compact JSON text of a jansson value (see jsonout.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prelude.h"
#include "jsonout.h"
#include "testing.h"

#define S_MAX_DEPTH 256

typedef struct {
    char *data;
    size_t size, capacity;
    bool failed;
} s_out_t;

//  Makes room for 'more' bytes; false (and failed) when out of memory.
static bool
s_reserve (s_out_t *out, size_t more)
{
    if (out->failed)
        return false;
    if (out->size + more <= out->capacity)
        return true;
    size_t capacity = out->capacity? out->capacity: 256;
    while (capacity < out->size + more)
        capacity *= 2;
    char *data = zc_realloc (out->data, capacity);
    if (!data) {
        out->failed = true;
        return false;
    }
    out->data = data;
    out->capacity = capacity;
    return true;
}

static void
s_put (s_out_t *out, const char *bytes, size_t length)
{
    if (s_reserve (out, length)) {
        memcpy (out->data + out->size, bytes, length);
        out->size += length;
    }
}

static void
s_put_char (s_out_t *out, char c)
{
    if (s_reserve (out, 1))
        out->data [out->size++] = c;
}

//  A string in quotes: ", \ and control characters escaped, the rest
//  (UTF-8, which jansson guarantees) as is. Written a block at a time
//  into room reserved for its worst case (6 bytes a byte: \u00XX), so
//  that a long output costs one pass and no call per byte.
#define S_ESCAPE_BLOCK 4096

static void
s_put_string (s_out_t *out, const char *text, size_t length)
{
    static const char hex [] = "0123456789ABCDEF";
    s_put_char (out, '"');
    for (size_t from = 0; from < length; from += S_ESCAPE_BLOCK) {
        size_t block = length - from < S_ESCAPE_BLOCK? length - from: S_ESCAPE_BLOCK;
        if (!s_reserve (out, block * 6))
            return;
        char *at = out->data + out->size;
        for (size_t index = from; index < from + block; index++) {
            unsigned char c = (unsigned char) text [index];
            if (c >= 0x20 && c != '"' && c != '\\') {
                *at++ = (char) c;
                continue;
            }
            *at++ = '\\';
            switch (c) {
                case '"':  *at++ = '"';  break;
                case '\\': *at++ = '\\'; break;
                case '\b': *at++ = 'b';  break;
                case '\f': *at++ = 'f';  break;
                case '\n': *at++ = 'n';  break;
                case '\r': *at++ = 'r';  break;
                case '\t': *at++ = 't';  break;
                default:
                    *at++ = 'u';
                    *at++ = '0';
                    *at++ = '0';
                    *at++ = hex [c >> 4];
                    *at++ = hex [c & 15];
            }
        }
        out->size = (size_t) (at - out->data);
    }
    s_put_char (out, '"');
}

static void
s_put_integer (s_out_t *out, json_int_t value)
{
    char digits [24];
    size_t at = sizeof digits;
    unsigned long long magnitude = value < 0? 0ULL - (unsigned long long) value: (unsigned long long) value;
    do {
        digits [--at] = (char) ('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0)
        digits [--at] = '-';
    s_put (out, digits + at, sizeof digits - at);
}

//  As jansson: %.13g, then ".0" when that looks like an integer, and an
//  exponent without its '+' and leading zeros (1e300, 1e-5). (jansson
//  holds no NaN or infinity.)
static void
s_put_real (s_out_t *out, double value)
{
    char text [40];
    int length = snprintf (text, sizeof text - 2, "%.13g", value);
    char *exponent = strchr (text, 'e');
    if (exponent) {
        char *digits = exponent + 1;
        if (*digits == '-')
            digits++;
        char *first = digits;
        while (*first == '+' || *first == '0')
            first++;
        memmove (digits, first, strlen (first) + 1);
        length = (int) strlen (text);
    }
    else
    if (!strchr (text, '.')) {
        memcpy (text + length, ".0", 3);
        length += 2;
    }
    s_put (out, text, (size_t) length);
}

static void
s_put_value (s_out_t *out, const json_t *value, int depth)
{
    if (depth > S_MAX_DEPTH) {
        out->failed = true;
        return;
    }
    switch (json_typeof (value)) {
        case JSON_OBJECT: {
            s_put_char (out, '{');
            const char *key;
            json_t *member;
            bool first = true;
            json_object_foreach ((json_t *) value, key, member) {
                if (!first)
                    s_put_char (out, ',');
                first = false;
                s_put_string (out, key, strlen (key));
                s_put_char (out, ':');
                s_put_value (out, member, depth + 1);
            }
            s_put_char (out, '}');
            break;
        }
        case JSON_ARRAY: {
            s_put_char (out, '[');
            for (size_t index = 0; index < json_array_size (value); index++) {
                if (index)
                    s_put_char (out, ',');
                s_put_value (out, json_array_get (value, index), depth + 1);
            }
            s_put_char (out, ']');
            break;
        }
        case JSON_STRING:
            s_put_string (out, json_string_value (value), json_string_length (value));
            break;
        case JSON_INTEGER:
            s_put_integer (out, json_integer_value (value));
            break;
        case JSON_REAL:
            s_put_real (out, json_real_value (value));
            break;
        case JSON_TRUE:
            s_put (out, "true", 4);
            break;
        case JSON_FALSE:
            s_put (out, "false", 5);
            break;
        case JSON_NULL:
            s_put (out, "null", 4);
            break;
    }
}

int
zc_jsonout_append (const json_t *value, char **data, size_t *size, size_t *capacity)
{
    s_out_t out = { *data, *size, *capacity, false };
    if (value)
        s_put_value (&out, value, 0);
    else
        out.failed = true;
    *data = out.data;
    *size = out.size;
    *capacity = out.capacity;
    return out.failed? -1: 0;
}

char *
zc_jsonout_text (const json_t *value)
{
    s_out_t out = { NULL, 0, 0, value == NULL };
    if (value)
        s_put_value (&out, value, 0);
    s_put_char (&out, 0);
    if (out.failed) {
        free (out.data);
        return NULL;
    }
    return out.data;
}

int
zc_jsonout_string (const char *text, size_t length, char **data, size_t *size, size_t *capacity)
{
    s_out_t out = { *data, *size, *capacity, false };
    s_put_string (&out, text, length);
    *data = out.data;
    *size = out.size;
    *capacity = out.capacity;
    return out.failed? -1: 0;
}

//  ---------------------------------------------------------------------
//  Self-test

//  True when our text of the JSON text 'input' is what json_dumps makes.
static bool
s_same_as_jansson (const char *input)
{
    json_t *value = json_loads (input, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!value)
        return false;
    char *ours = zc_jsonout_text (value);
    char *theirs = json_dumps (value, JSON_COMPACT | JSON_REAL_PRECISION (13) | JSON_ENCODE_ANY);
    bool same = ours && theirs && strcmp (ours, theirs) == 0;
    if (!same)
        printf ("# jsonout: %s gives %s, json_dumps %s\n", input, ours? ours: "NULL", theirs? theirs: "NULL");
    free (ours);
    free (theirs);
    json_decref (value);
    return same;
}

json_t *
zc_jsonout_lossy_string (const char *text)
{
    json_t *string = json_string (text? text: "");
    if (string)
        return string;
    char *copy = zc_strdup (text);
    for (char *cursor = copy; *cursor; cursor++)
        if ((unsigned char) *cursor >= 0x80)
            *cursor = '?';
    string = json_string (copy);
    free (copy);
    return string;
}

int
zc_jsonout_test (bool verbose)
{
    ZC_TEST_BEGIN;
    const char *samples [] = {
        "{}", "[]", "0", "-1", "9223372036854775807", "-9223372036854775808",
        "1.5", "-0.25", "3.0", "1e300", "-2.5e-300", "1e-5", "1.234567890123456789", "0.1",
        "1700000000.123", "12345678901234567890.0",
        "true", "false", "null", "\"\"",
        "\"plain text\"", "\"quote \\\" backslash \\\\ slash /\"",
        "\"tab\\t nl\\n cr\\r bs\\b ff\\f bell\\u0007 esc\\u001b del\\u007f\"",
        "\"nul\\u0000inside\"", "\"utf-8: \\u00e9\\u4e2d\\ud83d\\ude00\"",
        "{\"id\":\"01JDQ8.n2\",\"state\":\"done\",\"exit\":0,\"out\":\"a\\nb\",\"time\":1.25,"
            "\"args\":[\"sh\",\"-c\",\"echo hi\"],\"tag\":{\"x\":[1,[2,{}]]},\"error\":null}",
        "{\"b\":1,\"a\":2,\"c\":{\"z\":[],\"y\":{}}}",
        NULL
    };
    for (int index = 0; samples [index]; index++)
        ZC_CHECK (s_same_as_jansson (samples [index]));

    //  Appending to a buffer that holds something already.
    char *data = zc_strdup ("x");
    size_t size = 1, capacity = 2;
    json_t *value = json_pack ("{s:[i,s]}", "k", 7, "v");
    ZC_CHECK (zc_jsonout_append (value, &data, &size, &capacity) == 0);
    ZC_CHECK (size == 14 && memcmp (data, "x{\"k\":[7,\"v\"]}", 14) == 0 && capacity >= size);
    json_decref (value);
    free (data);

    //  Refused: nesting deeper than 256 levels.
    value = json_array ();
    json_t *inner = value;
    for (int depth = 0; depth < S_MAX_DEPTH + 1; depth++) {
        json_t *next = json_array ();
        json_array_append_new (inner, next);
        inner = next;
    }
    ZC_CHECK (zc_jsonout_text (value) == NULL);
    json_decref (value);
    ZC_CHECK (zc_jsonout_text (NULL) == NULL);
    //  A lossy string: valid UTF-8 as it is, other bytes as '?', NULL as "".
    json_t *lossy = zc_jsonout_lossy_string ("caf\xc3\xa9 \xff!");
    ZC_CHECK (lossy && strcmp (json_string_value (lossy), "caf?? ?!") == 0);
    json_decref (lossy);
    lossy = zc_jsonout_lossy_string ("ok");
    ZC_CHECK (lossy && strcmp (json_string_value (lossy), "ok") == 0);
    json_decref (lossy);
    lossy = zc_jsonout_lossy_string (NULL);
    ZC_CHECK (lossy && strcmp (json_string_value (lossy), "") == 0);
    json_decref (lossy);
    return ZC_TEST_END;
}
