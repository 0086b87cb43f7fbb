/*  facts.c — what a node advertises with its directory entry (facts.h).

    A set is two sorted arrays, facts and function names, each at most
    64 long: insertion keeps them sorted, so encoding is a walk and the
    encoding is canonical. The encoding (doc/PROTOCOL.md, "Facts"):

        u8 count (0..64), then per fact: u8 key length (1..64) + key,
                                         u16 value length (0..256) + value
        u8 count (0..64), then per function: u8 name length (1..64) + name

    keys and names in strictly increasing byte order, at most 4096 bytes.
*/
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "prelude.h"
#include "facts.h"
#include "jsonparse.h"
#include "target.h"
#include "testing.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"       //  a fuzz target built without configure's DEFS
#endif

typedef struct {
    char key [ZC_NAME_SIZE];
    char *value;
} s_fact_t;

struct _zc_facts_t {
    s_fact_t facts [ZC_FACTS_MAX_FACTS];
    size_t count;
    char functions [ZC_FACTS_MAX_FUNCTIONS][ZC_NAME_SIZE];
    size_t function_count;
};

static const char *s_builtin [ZC_FACTS_BUILTIN_COUNT] = {
    "arch", "hostname", "kernel", "os", "os_version", "zcnc"
};

zc_facts_t *
zc_facts_new (void)
{
    return zc_calloc (1, sizeof (zc_facts_t));
}

void
zc_facts_destroy (zc_facts_t **self_p)
{
    if (*self_p) {
        zc_facts_t *self = *self_p;
        for (size_t index = 0; index < self->count; index++)
            free (self->facts [index].value);
        free (self);
        *self_p = NULL;
    }
}

bool
zc_facts_is_builtin (const char *key)
{
    for (size_t index = 0; index < ZC_FACTS_BUILTIN_COUNT; index++)
        if (streq (key, s_builtin [index]))
            return true;
    return false;
}

//  True for a byte of a key after the first: A-Z a-z 0-9 . _ -
static bool
s_key_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '.' || c == '_' || c == '-';
}

//  The rule for 'size' bytes at 'key' (not NUL-terminated).
static const char *
s_key_problem (const char *key, size_t size)
{
    if (size == 0)
        return "an empty key";
    if (size > ZC_FACTS_KEY_MAX)
        return "a key longer than 64 bytes";
    if (!s_key_char (key [0]) || key [0] == '.' || key [0] == '_' || key [0] == '-')
        return "a key must start with a letter or digit";
    for (size_t index = 1; index < size; index++)
        if (!s_key_char (key [index]))
            return "a key holds only letters, digits, '.', '_' and '-'";
    return NULL;
}

//  The rule for 'size' bytes at 'value'.
static const char *
s_value_problem (const char *value, size_t size)
{
    if (size > ZC_FACTS_VALUE_MAX)
        return "a value longer than 256 bytes";
    for (size_t index = 0; index < size; index++) {
        unsigned char c = (unsigned char) value [index];
        if (c < 0x20 || c == 0x7f)
            return "a value holds a control character";
    }
    if (!zc_jsonparse_utf8 (value, size))
        return "a value is not valid UTF-8";
    return NULL;
}

const char *
zc_facts_key_problem (const char *key)
{
    return s_key_problem (key, strlen (key));
}

const char *
zc_facts_value_problem (const char *value)
{
    return s_value_problem (value, strlen (value));
}

size_t
zc_facts_entry_size (const char *key, const char *value)
{
    return 1 + strlen (key) + (value? 2 + strlen (value): 0);
}

//  Where 'key' is or goes in the sorted facts: *found says which.
static size_t
s_fact_index (zc_facts_t *self, const char *key, bool *found)
{
    size_t index = 0;
    int order = 1;
    while (index < self->count && (order = strcmp (self->facts [index].key, key)) < 0)
        index++;
    *found = index < self->count && order == 0;
    return index;
}

int
zc_facts_set (zc_facts_t *self, const char *key, const char *value, const char **problem)
{
    const char *ignored;
    if (!problem)
        problem = &ignored;
    if ((*problem = zc_facts_key_problem (key)) || (*problem = zc_facts_value_problem (value)))
        return -1;
    bool found;
    size_t index = s_fact_index (self, key, &found);
    if (found) {
        free (self->facts [index].value);
        self->facts [index].value = zc_strdup (value);
        return 0;
    }
    if (self->count == ZC_FACTS_MAX_FACTS) {
        *problem = "more than 64 facts";
        return -1;
    }
    memmove (&self->facts [index + 1], &self->facts [index], (self->count - index) * sizeof (s_fact_t));
    snprintf (self->facts [index].key, sizeof self->facts [index].key, "%s", key);
    self->facts [index].value = zc_strdup (value);
    self->count++;
    return 0;
}

int
zc_facts_add_function (zc_facts_t *self, const char *name, const char **problem)
{
    const char *ignored;
    if (!problem)
        problem = &ignored;
    *problem = NULL;
    if (!zc_name_valid (name)) {
        *problem = "a function name is 1 to 64 letters, digits, '.', '_' or '-', starting with a"
                   " letter or digit (not ALL)";
        return -1;
    }
    size_t index = 0;
    int order = 1;
    while (index < self->function_count && (order = strcmp (self->functions [index], name)) < 0)
        index++;
    if (index < self->function_count && order == 0)
        return 0;
    if (self->function_count == ZC_FACTS_MAX_FUNCTIONS) {
        *problem = "more than 64 functions";
        return -1;
    }
    memmove (&self->functions [index + 1], &self->functions [index],
             (self->function_count - index) * sizeof self->functions [0]);
    snprintf (self->functions [index], sizeof self->functions [index], "%s", name);
    self->function_count++;
    return 0;
}

const char *
zc_facts_get (zc_facts_t *self, const char *key)
{
    bool found;
    size_t index = s_fact_index (self, key, &found);
    return found? self->facts [index].value: NULL;
}

bool
zc_facts_has_function (zc_facts_t *self, const char *name)
{
    for (size_t index = 0; index < self->function_count; index++)
        if (streq (self->functions [index], name))
            return true;
    return false;
}

size_t
zc_facts_size (zc_facts_t *self)
{
    return self->count;
}

size_t
zc_facts_function_count (zc_facts_t *self)
{
    return self->function_count;
}

//  ---------------------------------------------------------------------
//  Built-in facts

//  Sets a built-in fact from what the machine says: bytes outside
//  printable ASCII become '?', and it is cut to ZC_FACTS_BUILTIN_VALUE_MAX
//  bytes. Nothing for an empty value.
static void
s_set_builtin (zc_facts_t *self, const char *key, const char *raw)
{
    char value [ZC_FACTS_BUILTIN_VALUE_MAX + 1];
    size_t size = 0;
    for (const char *c = raw; *c && size < ZC_FACTS_BUILTIN_VALUE_MAX; c++) {
        unsigned char byte = (unsigned char) *c;
        value [size++] = byte < 0x20 || byte >= 0x7f? '?': *c;
    }
    value [size] = 0;
    if (size)
        zc_facts_set (self, key, value, NULL);
}

//  The value of KEY=VALUE in an os-release file, unquoted, into 'out'
//  (empty when absent). Shell-style: "double" quotes take \" \\ \$ \`
//  escapes, 'single' quotes none.
static void
s_os_release_value (FILE *file, const char *key, char *out, size_t size)
{
    out [0] = 0;
    rewind (file);
    char line [512];
    size_t key_size = strlen (key);
    while (fgets (line, sizeof line, file)) {
        if (strncmp (line, key, key_size) || line [key_size] != '=')
            continue;
        char *value = line + key_size + 1;
        value [strcspn (value, "\r\n")] = 0;
        char quote = *value == '"' || *value == '\''? *value++: 0;
        size_t used = 0;
        for (char *c = value; *c && used + 1 < size; c++) {
            if (quote && *c == quote)
                break;
            if (quote == '"' && *c == '\\' && c [1] && strchr ("\"\\$`", c [1]))
                c++;
            out [used++] = *c;
        }
        out [used] = 0;
    }
}

void
zc_facts_add_builtin (zc_facts_t *self, const char *os_release)
{
    struct utsname names;
    if (uname (&names) == 0) {
        s_set_builtin (self, "kernel", names.release);
        s_set_builtin (self, "arch", names.machine);
    }
    char host [256] = "";
    if (gethostname (host, sizeof host - 1) == 0)
        s_set_builtin (self, "hostname", host);
    FILE *file = fopen (os_release? os_release: "/etc/os-release", "re");
    if (!file && !os_release)
        file = fopen ("/usr/lib/os-release", "re");
    char value [256] = "";
    if (file) {
        s_os_release_value (file, "ID", value, sizeof value);
        s_set_builtin (self, "os", value);
        s_os_release_value (file, "VERSION_ID", value, sizeof value);
        s_set_builtin (self, "os_version", value);
        fclose (file);
    }
    if (!zc_facts_get (self, "os") && uname (&names) == 0) {
        for (char *c = names.sysname; *c; c++)
            *c = (char) ((*c >= 'A' && *c <= 'Z')? *c - 'A' + 'a': *c);
        s_set_builtin (self, "os", names.sysname);
    }
    s_set_builtin (self, "zcnc", PACKAGE_VERSION);
}

//  ---------------------------------------------------------------------
//  Encoding

zframe_t *
zc_facts_encode (zc_facts_t *self)
{
    uint8_t buffer [ZC_FACTS_MAX_SIZE];
    size_t used = 0;
    //  Each piece is checked against the room left before it is written.
#define S_PUT(bytes, size) do { \
        if (used + (size) > sizeof buffer) return NULL; \
        memcpy (buffer + used, (bytes), (size)); used += (size); \
    } while (0)
    uint8_t count = (uint8_t) self->count;
    S_PUT (&count, 1);
    for (size_t index = 0; index < self->count; index++) {
        const s_fact_t *fact = &self->facts [index];
        uint8_t key_size = (uint8_t) strlen (fact->key);
        size_t value_size = strlen (fact->value);
        uint8_t value_length [2] = { (uint8_t) (value_size >> 8), (uint8_t) value_size };
        S_PUT (&key_size, 1);
        S_PUT (fact->key, key_size);
        S_PUT (value_length, 2);
        S_PUT (fact->value, value_size);
    }
    count = (uint8_t) self->function_count;
    S_PUT (&count, 1);
    for (size_t index = 0; index < self->function_count; index++) {
        uint8_t size = (uint8_t) strlen (self->functions [index]);
        S_PUT (&size, 1);
        S_PUT (self->functions [index], size);
    }
#undef S_PUT
    return zframe_new (buffer, used);
}

//  A bounds-checked walk over an encoding; each step says what it saw.
typedef struct {
    const uint8_t *bytes;
    size_t size, pos;
    const char *problem;
} s_walk_t;

//  The next 'size' bytes, or NULL (problem set) when fewer remain.
static const uint8_t *
s_take (s_walk_t *walk, size_t size)
{
    if (walk->problem)
        return NULL;
    if (walk->size - walk->pos < size) {
        walk->problem = "truncated";
        return NULL;
    }
    const uint8_t *bytes = walk->bytes + walk->pos;
    walk->pos += size;
    return bytes;
}

//  The next u8 or u16 length; 0 when truncated.
static size_t
s_take_length (s_walk_t *walk, int width)
{
    const uint8_t *bytes = s_take (walk, (size_t) width);
    if (!bytes)
        return 0;
    return width == 1? bytes [0]: (size_t) bytes [0] << 8 | bytes [1];
}

//  Byte order of two strings that are not NUL-terminated.
static int
s_compare (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    int order = memcmp (a, b, a_size < b_size? a_size: b_size);
    return order? order: a_size < b_size? -1: a_size > b_size? 1: 0;
}

//  Calls 'each' for every fact (value non-NULL) and function name (value
//  NULL) of a valid encoding, in order, until it returns false. Returns
//  the walk's problem, or NULL when the encoding is valid.
typedef bool (s_each_fn) (const uint8_t *key, size_t key_size,
                          const uint8_t *value, size_t value_size, void *arg);

static const char *
s_walk (const uint8_t *bytes, size_t size, s_each_fn *each, void *arg)
{
    s_walk_t walk = { bytes, size, 0, NULL };
    if (size > ZC_FACTS_MAX_SIZE)
        return "larger than 4096 bytes";
    for (int part = 0; part < 2; part++) {
        size_t count = s_take_length (&walk, 1);
        if (!walk.problem && count > (part? ZC_FACTS_MAX_FUNCTIONS: ZC_FACTS_MAX_FACTS))
            walk.problem = part? "more than 64 functions": "more than 64 facts";
        const uint8_t *previous = NULL;
        size_t previous_size = 0;
        for (size_t index = 0; index < count && !walk.problem; index++) {
            size_t key_size = s_take_length (&walk, 1);
            const uint8_t *key = s_take (&walk, key_size);
            const uint8_t *value = NULL;
            size_t value_size = 0;
            if (!part) {
                value_size = s_take_length (&walk, 2);
                value = s_take (&walk, value_size);
            }
            if (walk.problem)
                break;
            char name [ZC_NAME_SIZE] = "";
            if (key_size <= ZC_NAME_MAX)
                memcpy (name, key, key_size);
            if (part? key_size > ZC_NAME_MAX || strlen (name) != key_size || !zc_name_valid (name)
                    : s_key_problem ((const char *) key, key_size) != NULL)
                walk.problem = part? "a bad function name": "a bad key";
            else
            if (!part && s_value_problem ((const char *) value, value_size))
                walk.problem = "a bad value";
            else
            if (previous && s_compare (previous, previous_size, key, key_size) >= 0)
                walk.problem = "keys or names out of order, or twice";
            else
            if (each && !each (key, key_size, part? NULL: value ? value: (const uint8_t *) "",
                               value_size, arg))
                return NULL;
            previous = key;
            previous_size = key_size;
        }
    }
    if (!walk.problem && walk.pos != walk.size)
        walk.problem = "trailing bytes";
    return walk.problem;
}

int
zc_facts_check (const uint8_t *bytes, size_t size, const char **reason)
{
    const char *problem = s_walk (bytes, size, NULL, NULL);
    if (reason)
        *reason = problem;
    return problem? -1: 0;
}

//  Adds one decoded fact or function to the set at 'arg'.
static bool
s_add_decoded (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size, void *arg)
{
    zc_facts_t *self = arg;
    char name [ZC_NAME_SIZE];
    memcpy (name, key, key_size);
    name [key_size] = 0;
    if (value) {
        char text [ZC_FACTS_VALUE_MAX + 1];
        memcpy (text, value, value_size);
        text [value_size] = 0;
        zc_facts_set (self, name, text, NULL);
    }
    else
        zc_facts_add_function (self, name, NULL);
    return true;
}

zc_facts_t *
zc_facts_decode (const uint8_t *bytes, size_t size)
{
    if (zc_facts_check (bytes, size, NULL) != 0)
        return NULL;
    zc_facts_t *self = zc_facts_new ();
    s_walk (bytes, size, s_add_decoded, self);
    return self;
}

//  ---------------------------------------------------------------------
//  --where

const char *
zc_facts_where_problem (const char *item)
{
    const char *equals = strchr (item, '=');
    if (!equals)
        return "expected KEY=GLOB, e.g. env=prod or 'os=debian*'";
    const char *problem = s_key_problem (item, (size_t) (equals - item));
    if (problem)
        return problem;
    if (strlen (equals + 1) > ZC_FACTS_VALUE_MAX)
        return "a glob longer than 256 bytes";
    if (!zc_jsonparse_utf8 (equals + 1, strlen (equals + 1)))
        return "a glob that is not valid UTF-8";
    return NULL;
}

//  Looks one key up during a walk: 'found' gets its value.
typedef struct {
    const char *key;
    size_t key_size;
    char value [ZC_FACTS_VALUE_MAX + 1];
    bool found;
} s_lookup_t;

static bool
s_lookup_one (const uint8_t *key, size_t key_size, const uint8_t *value, size_t value_size, void *arg)
{
    s_lookup_t *lookup = arg;
    if (!value || key_size != lookup->key_size || memcmp (key, lookup->key, key_size))
        return true;
    memcpy (lookup->value, value, value_size);
    lookup->value [value_size] = 0;
    lookup->found = true;
    return false;
}

bool
zc_facts_match (const uint8_t *bytes, size_t size, zlist_t *where)
{
    if (!where || zlist_size (where) == 0)
        return true;
    if (size == 0 || zc_facts_check (bytes, size, NULL) != 0)
        return false;
    for (const char *item = zlist_first (where); item; item = zlist_next (where)) {
        const char *equals = strchr (item, '=');
        if (!equals)
            return false;
        s_lookup_t lookup = { .key = item, .key_size = (size_t) (equals - item) };
        s_walk (bytes, size, s_lookup_one, &lookup);
        if (!lookup.found || fnmatch (equals + 1, lookup.value, 0) != 0)
            return false;
    }
    return true;
}

bool
zc_facts_match_set (zc_facts_t *self, zlist_t *where)
{
    if (!where || zlist_size (where) == 0)
        return true;
    if (!self)
        return false;
    zframe_t *frame = zc_facts_encode (self);
    bool match = frame && zc_facts_match (zframe_data (frame), zframe_size (frame), where);
    zframe_destroy (&frame);
    return match;
}

//  ---------------------------------------------------------------------
//  JSON

json_t *
zc_facts_json (zc_facts_t *self)
{
    json_t *object = json_object ();
    for (size_t index = 0; self && index < self->count; index++)
        json_object_set_new (object, self->facts [index].key, json_string (self->facts [index].value));
    return object;
}

json_t *
zc_facts_functions_json (zc_facts_t *self)
{
    json_t *array = json_array ();
    for (size_t index = 0; self && index < self->function_count; index++)
        json_array_append_new (array, json_string (self->functions [index]));
    return array;
}

//  ---------------------------------------------------------------------
//  Self-test

//  True when 'bytes' of 'size' fail the check with 'reason'.
static bool
s_refused (const void *bytes, size_t size, const char *reason, bool verbose)
{
    const char *got = NULL;
    int rc = zc_facts_check (bytes, size, &got);
    if (verbose)
        printf ("# refused: %s\n", got? got: "(accepted)");
    return rc == -1 && got && streq (got, reason) && zc_facts_decode (bytes, size) == NULL;
}

int
zc_facts_test (bool verbose)
{
    ZC_TEST_BEGIN;
    //  A set keeps facts and functions sorted; encoding round-trips.
    zc_facts_t *facts = zc_facts_new ();
    const char *problem = NULL;
    ZC_CHECK (zc_facts_set (facts, "env", "prod", &problem) == 0 && !problem);
    ZC_CHECK (zc_facts_set (facts, "arch", "x86_64", NULL) == 0);
    ZC_CHECK (zc_facts_set (facts, "role", "web server", NULL) == 0);
    ZC_CHECK (zc_facts_set (facts, "env", "staging", NULL) == 0);      //  replaced
    ZC_CHECK (zc_facts_add_function (facts, "machine-info", NULL) == 0);
    ZC_CHECK (zc_facts_add_function (facts, "disk", NULL) == 0);
    ZC_CHECK (zc_facts_add_function (facts, "disk", NULL) == 0);       //  once
    ZC_CHECK (zc_facts_size (facts) == 3 && zc_facts_function_count (facts) == 2);
    ZC_CHECK_STR (zc_facts_get (facts, "env"), "staging");
    ZC_CHECK (zc_facts_get (facts, "os") == NULL);
    ZC_CHECK (zc_facts_has_function (facts, "disk") && !zc_facts_has_function (facts, "uptime"));
    zframe_t *frame = zc_facts_encode (facts);
    const uint8_t want [] = {
        3, 4, 'a', 'r', 'c', 'h', 0, 6, 'x', '8', '6', '_', '6', '4',
           3, 'e', 'n', 'v', 0, 7, 's', 't', 'a', 'g', 'i', 'n', 'g',
           4, 'r', 'o', 'l', 'e', 0, 10, 'w', 'e', 'b', ' ', 's', 'e', 'r', 'v', 'e', 'r',
        2, 4, 'd', 'i', 's', 'k', 12, 'm', 'a', 'c', 'h', 'i', 'n', 'e', '-', 'i', 'n', 'f', 'o'
    };
    ZC_CHECK (frame && zframe_size (frame) == sizeof want
              && memcmp (zframe_data (frame), want, sizeof want) == 0);
    ZC_CHECK (zframe_size (frame) == 2 + zc_facts_entry_size ("arch", "x86_64")
              + zc_facts_entry_size ("env", "staging") + zc_facts_entry_size ("role", "web server")
              + zc_facts_entry_size ("disk", NULL) + zc_facts_entry_size ("machine-info", NULL));
    zc_facts_t *copy = zc_facts_decode (zframe_data (frame), zframe_size (frame));
    ZC_CHECK (copy && zc_facts_size (copy) == 3 && zc_facts_function_count (copy) == 2);
    ZC_CHECK_STR (copy? zc_facts_get (copy, "role"): NULL, "web server");
    zframe_t *again = copy? zc_facts_encode (copy): NULL;
    ZC_CHECK (again && zframe_eq (again, frame));
    zframe_destroy (&again);

    //  JSON: an object in key order and an array.
    json_t *object = zc_facts_json (copy);
    char *text = json_dumps (object, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ZC_CHECK_STR (text, "{\"arch\":\"x86_64\",\"env\":\"staging\",\"role\":\"web server\"}");
    free (text);
    json_decref (object);
    json_t *array = zc_facts_functions_json (copy);
    text = json_dumps (array, JSON_COMPACT);
    ZC_CHECK_STR (text, "[\"disk\",\"machine-info\"]");
    free (text);
    json_decref (array);
    zc_facts_destroy (&copy);

    //  --where: every item must match; a missing key never does.
    zlist_t *where = zlist_new ();
    ZC_CHECK (zc_facts_match (zframe_data (frame), zframe_size (frame), where));
    zlist_append (where, "env=stag*");
    zlist_append (where, "role=web *");
    ZC_CHECK (zc_facts_match (zframe_data (frame), zframe_size (frame), where));
    ZC_CHECK (zc_facts_match_set (facts, where));
    zlist_append (where, "os=*");
    ZC_CHECK (!zc_facts_match (zframe_data (frame), zframe_size (frame), where));
    ZC_CHECK (!zc_facts_match (NULL, 0, where));
    ZC_CHECK (!zc_facts_match_set (NULL, where));
    zlist_destroy (&where);
    where = zlist_new ();
    zlist_append (where, "env=prod");
    ZC_CHECK (!zc_facts_match (zframe_data (frame), zframe_size (frame), where));
    zlist_destroy (&where);
    ZC_CHECK (zc_facts_where_problem ("env=prod") == NULL);
    ZC_CHECK (zc_facts_where_problem ("env=") == NULL);
    ZC_CHECK_STR (zc_facts_where_problem ("env"), "expected KEY=GLOB, e.g. env=prod or 'os=debian*'");
    ZC_CHECK_STR (zc_facts_where_problem ("=prod"), "an empty key");
    ZC_CHECK_STR (zc_facts_where_problem ("e nv=prod"), "a key holds only letters, digits, '.', '_' and '-'");
    zframe_destroy (&frame);

    //  What a set refuses.
    ZC_CHECK (zc_facts_set (facts, "-x", "1", &problem) == -1);
    ZC_CHECK_STR (problem, "a key must start with a letter or digit");
    ZC_CHECK (zc_facts_set (facts, "x", "a\tb", &problem) == -1);
    ZC_CHECK_STR (problem, "a value holds a control character");
    ZC_CHECK (zc_facts_set (facts, "x", "\xe9t\xe9", &problem) == -1);
    ZC_CHECK_STR (problem, "a value is not valid UTF-8");
    char long_value [ZC_FACTS_VALUE_MAX + 2];
    memset (long_value, 'v', sizeof long_value - 1);
    long_value [sizeof long_value - 1] = 0;
    ZC_CHECK (zc_facts_set (facts, "x", long_value, &problem) == -1);
    ZC_CHECK_STR (problem, "a value longer than 256 bytes");
    long_value [ZC_FACTS_VALUE_MAX] = 0;
    ZC_CHECK (zc_facts_set (facts, "x", long_value, NULL) == 0);       //  256 bytes fit
    ZC_CHECK (zc_facts_add_function (facts, "ALL", &problem) == -1 && problem);
    for (int index = 0; index < ZC_FACTS_MAX_FACTS; index++) {
        char key [16];
        snprintf (key, sizeof key, "k%02d", index);
        int rc = zc_facts_set (facts, key, "v", &problem);
        ZC_CHECK (index < ZC_FACTS_MAX_FACTS - 4? rc == 0: rc == -1);
    }
    ZC_CHECK_STR (problem, "more than 64 facts");
    //  Too large to encode: 64 values of 256 bytes.
    zc_facts_t *large = zc_facts_new ();
    for (int index = 0; index < 20; index++) {
        char key [16];
        snprintf (key, sizeof key, "k%02d", index);
        zc_facts_set (large, key, long_value, NULL);
    }
    ZC_CHECK (zc_facts_encode (large) == NULL);
    zc_facts_destroy (&large);
    zc_facts_destroy (&facts);

    //  What a decoder refuses.
    ZC_CHECK (s_refused ("", 0, "truncated", verbose));
    ZC_CHECK (s_refused ("\x00", 1, "truncated", verbose));
    ZC_CHECK (s_refused ("\x00\x00\x00", 3, "trailing bytes", verbose));
    ZC_CHECK (s_refused ("\x41\x00", 2, "more than 64 facts", verbose));
    ZC_CHECK (s_refused ("\x00\x41", 2, "more than 64 functions", verbose));
    ZC_CHECK (s_refused ("\x01\x01\x61\x00\x05v", 6, "truncated", verbose));
    ZC_CHECK (s_refused ("\x01\x01-\x00\x00\x00", 6, "a bad key", verbose));
    ZC_CHECK (s_refused ("\x01\x01\x61\x00\x01\x07\x00", 7, "a bad value", verbose));
    ZC_CHECK (s_refused ("\x02\x01\x62\x00\x00\x01\x61\x00\x00\x00", 10,
                         "keys or names out of order, or twice", verbose));
    ZC_CHECK (s_refused ("\x02\x01\x61\x00\x00\x01\x61\x00\x00\x00", 10,
                         "keys or names out of order, or twice", verbose));
    ZC_CHECK (s_refused ("\x00\x01\x03\x41LL", 6, "a bad function name", verbose));
    ZC_CHECK (s_refused ("\x00\x01\x03\x61\x00\x62", 6, "a bad function name", verbose));
    uint8_t huge [ZC_FACTS_MAX_SIZE + 1] = { 0 };
    ZC_CHECK (s_refused (huge, sizeof huge, "larger than 4096 bytes", verbose));
    ZC_CHECK (zc_facts_check ((const uint8_t *) "\x00\x00", 2, NULL) == 0);

    //  Built-in facts, from an os-release file.
    char path [] = "/tmp/zcnc-facts-test-XXXXXX";
    int fd = mkstemp (path);
    ZC_CHECK (fd != -1);
    const char *release = "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n"
                          "PRETTY=\"a \\\"quoted\\\" one\"\n";
    ZC_CHECK (write (fd, release, strlen (release)) == (ssize_t) strlen (release));
    close (fd);
    facts = zc_facts_new ();
    zc_facts_add_builtin (facts, path);
    ZC_CHECK_STR (zc_facts_get (facts, "os"), "debian");
    ZC_CHECK_STR (zc_facts_get (facts, "os_version"), "12");
    ZC_CHECK_STR (zc_facts_get (facts, "zcnc"), PACKAGE_VERSION);
    struct utsname names;
    uname (&names);
    ZC_CHECK_STR (zc_facts_get (facts, "arch"), names.machine);
    ZC_CHECK_STR (zc_facts_get (facts, "kernel"), names.release);
    ZC_CHECK (zc_facts_get (facts, "hostname") != NULL);
    ZC_CHECK (zc_facts_is_builtin ("os_version") && !zc_facts_is_builtin ("env"));
    FILE *file = fopen (path, "r");
    char value [64];
    s_os_release_value (file, "PRETTY", value, sizeof value);
    ZC_CHECK_STR (value, "a \"quoted\" one");
    fclose (file);
    unlink (path);
    zc_facts_destroy (&facts);
    //  Without the file: os is the kernel's name, os_version absent.
    facts = zc_facts_new ();
    zc_facts_add_builtin (facts, "/nonexistent/os-release");
    ZC_CHECK_STR (zc_facts_get (facts, "os"), "linux");
    ZC_CHECK (zc_facts_get (facts, "os_version") == NULL);
    zc_facts_destroy (&facts);
    //  A built-in value is made valid and cut to fit.
    facts = zc_facts_new ();
    char raw [200];
    memset (raw, 'h', sizeof raw - 1);
    raw [sizeof raw - 1] = 0;
    raw [0] = '\n';
    s_set_builtin (facts, "hostname", raw);
    const char *cut = zc_facts_get (facts, "hostname");
    ZC_CHECK (cut && strlen (cut) == ZC_FACTS_BUILTIN_VALUE_MAX && cut [0] == '?');
    zc_facts_destroy (&facts);
    ZC_CHECK (facts == NULL);
    //  Built-ins fit their reserve at the largest.
    ZC_CHECK (ZC_FACTS_BUILTIN_COUNT * zc_facts_entry_size ("os_version", "") + ZC_FACTS_BUILTIN_COUNT
              * ZC_FACTS_BUILTIN_VALUE_MAX <= ZC_FACTS_BUILTIN_RESERVE);
    return ZC_TEST_END;
}
