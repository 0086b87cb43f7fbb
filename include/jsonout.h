/*  jsonout.h — compact JSON text of a jansson value, fast.

    jansson 2.14's json_dumps guards against cycles by formatting every
    container's address into a hash table, which makes it most of what
    an answer on the agent's socket costs. This writer produces the same
    text as json_dumps (value, JSON_COMPACT | JSON_REAL_PRECISION (13)):
    members in insertion order, UTF-8 kept as is, control characters,
    quote and backslash escaped. Values built by this program have no
    cycles; nesting deeper than 256 levels is refused all the same.
*/
#ifndef ZC_JSONOUT_H
#define ZC_JSONOUT_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

//  Appends the text of 'value' to a buffer of *size bytes at *data with
//  room for *capacity (grown with realloc; *data may start NULL).
//  Returns 0, or -1 for nesting deeper than 256 levels or no memory (the
//  buffer then holds a partial text: reset *size to what it was).
int zc_jsonout_append (const json_t *value, char **data, size_t *size, size_t *capacity);

//  Appends a JSON string of the 'length' bytes at 'text' (UTF-8, which
//  the caller checked), in quotes and escaped as above, to the same kind
//  of buffer. Returns 0, or -1 with no memory.
int zc_jsonout_string (const char *text, size_t length, char **data, size_t *size, size_t *capacity);
//  The text as a new NUL-terminated string (the caller frees it), or NULL.
char *zc_jsonout_text (const json_t *value);
//  A JSON string of 'text' (NULL: ""); bytes that are not UTF-8 become
//  '?' (the error events of errqueue.c and errlog.c).
json_t *zc_jsonout_lossy_string (const char *text);

int zc_jsonout_test (bool verbose);
#endif
