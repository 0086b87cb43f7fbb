/*  jsonparse.h — a JSON text to a jansson value, fast.
    jansson 2.14's decoder reads its input a byte at a time through a
    stream that checks UTF-8, and appends each byte of a string to a
    growing buffer: on the agent's socket that was more than half of what
    a batched publish cost (perf during bench/pubsub.sh). This decoder
    scans strings in place and gives the same values as
    json_loadb (text, size, JSON_REJECT_DUPLICATES, &error) for every
    input, accepted or refused (tests/fuzz/fuzz_json.c compares the two):
    an object or an array at the top, RFC 8259's grammar, strings of
    valid UTF-8 without NUL (raw or \u0000), integers that fit a
    json_int_t, reals that do not overflow a double, no key twice in an
    object, at most 2048 levels (every value counts one, as in jansson).
    One difference: a NUL byte is refused wherever it is, where jansson
    lets one pass right after a number or a literal ("[true\0]"): its
    stream takes a NUL it puts back for the end of its buffer.
    Its error texts are its own: what was wrong and at which byte.
*/
#ifndef ZC_JSONPARSE_H
#define ZC_JSONPARSE_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define ZC_JSONPARSE_MAX_DEPTH  2048
#define ZC_JSONPARSE_ERROR_SIZE 160

//  The value of the 'size' bytes at 'text' (need not end in NUL), or
//  NULL with the reason in 'error' (ZC_JSONPARSE_ERROR_SIZE bytes).
json_t *zc_jsonparse (const char *text, size_t size, char *error);
//  True when the 'size' bytes at 'text' are valid UTF-8 by the same rules
//  (NUL bytes allowed), so that jansson's json_stringn takes them.
bool zc_jsonparse_utf8 (const char *text, size_t size);
int zc_jsonparse_test (bool verbose);
#endif
