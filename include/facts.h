/*  facts.h — what a node advertises with its directory entry: facts
    (KEY=VALUE: the built-in ones of its machine and the labels of its
    config) and the names of the functions it offers (agent/function).
    Origins narrow target lists by facts (--where, "where") and list both
    (zcnc nodes --facts --functions).

    A set travels and is stored in one canonical encoding (doc/PROTOCOL.md,
    "Facts"): keys and names sorted, none twice, every length bounded, so
    two sets are the same exactly when their bytes are. This module owns
    that layout (as pubseal.c owns the PUB envelope's signed part); the
    wire module checks it with zc_facts_check wherever it travels.

    Keys follow the node-name rule without the ALL exception:
    [A-Za-z0-9][A-Za-z0-9._-]{0,63}. Values are at most 256 bytes of
    UTF-8 without control characters. Function names are node names.
*/
#ifndef ZC_FACTS_H
#define ZC_FACTS_H
#include "prelude.h"
#include <stdbool.h>
#include <stdint.h>
#include <czmq.h>
#include <jansson.h>

#define ZC_FACTS_MAX_FACTS     64       //  facts in a set, the built-in ones included
#define ZC_FACTS_MAX_FUNCTIONS 64       //  function names in a set
#define ZC_FACTS_KEY_MAX       64       //  bytes of a key (ZC_NAME_MAX)
#define ZC_FACTS_VALUE_MAX     256      //  bytes of a value
#define ZC_FACTS_MAX_SIZE      4096     //  bytes of an encoded set
//  A built-in value is cut to this many bytes, so the built-in facts
//  take at most ZC_FACTS_BUILTIN_RESERVE bytes of a set: the rest is
//  what the labels and functions of a config may take (config.c).
#define ZC_FACTS_BUILTIN_VALUE_MAX 64
#define ZC_FACTS_BUILTIN_RESERVE   512
#define ZC_FACTS_CONFIG_MAX        (ZC_FACTS_MAX_SIZE - ZC_FACTS_BUILTIN_RESERVE)
#define ZC_FACTS_BUILTIN_COUNT     6
//  At most this many --where items ("where" members) in one message.
#define ZC_FACTS_MAX_WHERE         16

typedef struct _zc_facts_t zc_facts_t;

//  An empty set.
zc_facts_t *zc_facts_new (void);
void zc_facts_destroy (zc_facts_t **self_p);

//  Adds this machine's built-in facts: hostname, os (ID of os-release),
//  os_version (VERSION_ID, when there is one), kernel (uname -r), arch
//  (uname -m) and zcnc (this release). 'os_release' is the file to read
//  (NULL: /etc/os-release, else /usr/lib/os-release); without one, os
//  is the kernel's name in lower case ("linux"). A value keeps printable
//  ASCII only (other bytes become '?') and is cut to
//  ZC_FACTS_BUILTIN_VALUE_MAX bytes; an empty one is left out.
void zc_facts_add_builtin (zc_facts_t *self, const char *os_release);
//  True when 'key' is the name of a built-in fact.
bool zc_facts_is_builtin (const char *key);

//  Sets fact 'key' to 'value' (replacing an earlier value). Returns 0,
//  or -1 with *problem a static text when the key or value breaks the
//  rules or the set holds ZC_FACTS_MAX_FACTS facts already.
int zc_facts_set (zc_facts_t *self, const char *key, const char *value, const char **problem);
//  Adds a function name (once). 0, or -1 with *problem static.
int zc_facts_add_function (zc_facts_t *self, const char *name, const char **problem);
//  The value of fact 'key', or NULL. Belongs to the set.
const char *zc_facts_get (zc_facts_t *self, const char *key);
//  True when the set offers function 'name'.
bool zc_facts_has_function (zc_facts_t *self, const char *name);
size_t zc_facts_size (zc_facts_t *self);                //  facts
size_t zc_facts_function_count (zc_facts_t *self);

//  NULL when 'key' is a valid fact key, else a static reason.
const char *zc_facts_key_problem (const char *key);
//  NULL when 'value' is a valid fact value, else a static reason.
const char *zc_facts_value_problem (const char *value);
//  The bytes a fact (or, with value NULL, a function name) adds to an
//  encoded set.
size_t zc_facts_entry_size (const char *key, const char *value);

//  The canonical encoding, a new frame; NULL when it would be larger
//  than ZC_FACTS_MAX_SIZE.
zframe_t *zc_facts_encode (zc_facts_t *self);
//  0 when the 'size' bytes at 'bytes' are a valid encoded set, else -1
//  with *reason (optional) a static text.
int zc_facts_check (const uint8_t *bytes, size_t size, const char **reason);
//  A new set from an encoding, or NULL when it is not a valid one.
zc_facts_t *zc_facts_decode (const uint8_t *bytes, size_t size);

//  --where: an item is "KEY=GLOB". NULL when 'item' is one (a valid key,
//  a glob of at most 256 bytes of UTF-8), else a static reason.
const char *zc_facts_where_problem (const char *item);
//  True when the encoded set at 'bytes' (size 0: no facts known) has
//  every key of 'where' (a zlist of "KEY=GLOB") with a value that
//  fnmatch(3)es its glob. An empty or NULL 'where' matches every set.
bool zc_facts_match (const uint8_t *bytes, size_t size, zlist_t *where);
//  The same for a set in memory (NULL: no facts).
bool zc_facts_match_set (zc_facts_t *self, zlist_t *where);

//  {"KEY": "VALUE", ...} in key order (a new object).
json_t *zc_facts_json (zc_facts_t *self);
//  ["NAME", ...] in name order (a new array).
json_t *zc_facts_functions_json (zc_facts_t *self);

int zc_facts_test (bool verbose);
#endif
