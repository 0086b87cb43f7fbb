/*  zpl.c — a reader for ZPL (czmq's zconfig format) that keeps line numbers.

    Each line is "name", "name = value" or blank/comment. The indentation
    (4 spaces per level) places a line below the last line one level up.
    Values are "double" or 'single' quoted (a # inside is kept), or bare:
    the rest of the line up to a #, trailing whitespace removed. Errors are
    returned as "ORIGIN:LINE: problem", never printed.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <czmq.h>
#include "prelude.h"
#include "log.h"
#include "zpl.h"
#include "testing.h"

#define ZC_ZPL_LINE_MAX  4096           //  bytes per line, without its newline
#define ZC_ZPL_DEPTH_MAX 32             //  nesting levels below the root
#define ZC_ZPL_FILE_MAX  (1024 * 1024)  //  bytes zc_zpl_load reads at most

struct _zc_zpl_t {
    char *name;
    char *value;                //  NULL when the line had no "="
    char *qualifier;            //  the word between name and "=", or NULL
    int line;
    zc_zpl_t *child;            //  first child
    zc_zpl_t *last;             //  last child, for appending in file order
    zc_zpl_t *next;             //  next sibling
};

//  Returns a new node with copies of name and value (value may be NULL),
//  or NULL when out of memory.
static zc_zpl_t *
s_node_new (const char *name, size_t name_size,
            const char *value, size_t value_size, int line)
{
    zc_zpl_t *self = zc_calloc (1, sizeof (zc_zpl_t));
    if (!self)
        return NULL;
    self->name = strndup (name, name_size);
    self->value = value? strndup (value, value_size): NULL;
    self->line = line;
    if (!self->name || (value && !self->value)) {
        free (self->name);
        free (self->value);
        free (self);
        return NULL;
    }
    return self;
}

//  Frees a node, its children and its following siblings and NULLs the
//  caller's pointer. Recursion is bounded by ZC_ZPL_DEPTH_MAX.
void
zc_zpl_destroy (zc_zpl_t **self_p)
{
    zc_zpl_t *node = *self_p;
    while (node) {
        zc_zpl_t *next = node->next;
        zc_zpl_destroy (&node->child);
        free (node->name);
        free (node->value);
        free (node->qualifier);
        free (node);
        node = next;
    }
    *self_p = NULL;
}

static bool
s_name_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || strchr ("$_./*-", c) != NULL;
}

//  Describes a byte for an error message: 'x' or 0xNN.
static const char *
s_byte_text (char c, char *buffer, size_t size)
{
    unsigned char byte = (unsigned char) c;
    if (byte > 0x20 && byte < 0x7f)
        snprintf (buffer, size, "'%c'", c);
    else
        snprintf (buffer, size, "0x%02x", byte);
    return buffer;
}

static size_t
s_skip_blanks (const char *line, size_t size, size_t pos)
{
    while (pos < size && (line [pos] == ' ' || line [pos] == '\t'))
        pos++;
    return pos;
}

//  Parses one line (without its line ending). Returns 1 for a blank or
//  comment-only line; 0 with *node_p a new node and *level_p its depth
//  (0 = top level); -1 with *error set.
static int
s_parse_line (const char *line, size_t size, const char *origin, int lineno,
              zc_zpl_t **node_p, int *level_p, char **error)
{
    char byte [16];
    for (size_t pos = 0; pos < size; pos++) {
        unsigned char c = (unsigned char) line [pos];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return zc_fail (error, "%s:%d: control character %s (save the file as plain text)",
                           origin, lineno, s_byte_text (line [pos], byte, sizeof byte));
    }
    //  Blank and comment-only lines may be indented any way at all
    size_t pos = s_skip_blanks (line, size, 0);
    if (pos == size || line [pos] == '#')
        return 1;
    if (memchr (line, '\t', pos))
        return zc_fail (error, "%s:%d: tab in indentation (indent with 4 spaces per level)",
                       origin, lineno);
    if (pos % 4)
        return zc_fail (error, "%s:%d: indentation of %zu spaces (indent with 4 spaces per level)",
                       origin, lineno, pos);
    *level_p = (int) (pos / 4);

    size_t name_start = pos, qualifier_size = 0;
    while (pos < size && s_name_char (line [pos]))
        pos++;
    size_t name_end = pos;
    if (name_end == name_start) {
        if (line [pos] == '=')
            return zc_fail (error, "%s:%d: missing name before '='", origin, lineno);
        return zc_fail (error, "%s:%d: bad character %s in name (names use A-Z a-z 0-9 $ _ . / * -)",
                       origin, lineno, s_byte_text (line [pos], byte, sizeof byte));
    }
    pos = s_skip_blanks (line, size, pos);
    //  Our extension: a second word, the qualifier, before the '='
    //  ("label env = prod").
    size_t qualifier_start = pos;
    if (pos > name_end && pos < size && s_name_char (line [pos])) {
        while (pos < size && s_name_char (line [pos]))
            pos++;
        size_t qualifier_end = pos;
        pos = s_skip_blanks (line, size, pos);
        if (pos == size || line [pos] != '=')
            return zc_fail (error, "%s:%d: expected '=' after '%.*s' (write 'name = value')",
                           origin, lineno, (int) (name_end - name_start), line + name_start);
        qualifier_size = qualifier_end - qualifier_start;
    }
    const char *value = NULL;
    size_t value_size = 0;
    if (pos < size && line [pos] != '#') {
        if (line [pos] != '=') {
            if (pos == name_end)
                return zc_fail (error, "%s:%d: bad character %s in name '%.*s' (names use A-Z a-z 0-9 $ _ . / * -)",
                               origin, lineno, s_byte_text (line [pos], byte, sizeof byte),
                               (int) (name_end - name_start), line + name_start);
            return zc_fail (error, "%s:%d: expected '=' after '%.*s' (write 'name = value')",
                           origin, lineno, (int) (name_end - name_start), line + name_start);
        }
        pos = s_skip_blanks (line, size, pos + 1);
        if (pos < size && (line [pos] == '"' || line [pos] == '\'')) {
            char quote = line [pos];
            const char *close = memchr (line + pos + 1, quote, size - pos - 1);
            if (!close)
                return zc_fail (error, "%s:%d: missing closing %c quote", origin, lineno, quote);
            value = line + pos + 1;
            value_size = (size_t) (close - value);
            pos = s_skip_blanks (line, size, (size_t) (close - line) + 1);
            if (pos < size && line [pos] != '#')
                return zc_fail (error, "%s:%d: text after the closing quote (put comments after '#')",
                               origin, lineno);
        }
        else {
            const char *hash = memchr (line + pos, '#', size - pos);
            size_t end = hash? (size_t) (hash - line): size;
            while (end > pos && (line [end - 1] == ' ' || line [end - 1] == '\t'))
                end--;
            value = line + pos;
            value_size = end - pos;
        }
    }
    *node_p = s_node_new (line + name_start, name_end - name_start, value, value_size, lineno);
    if (!*node_p)
        return zc_fail (error, "%s:%d: out of memory", origin, lineno);
    if (qualifier_size)
        (*node_p)->qualifier = strndup (line + qualifier_start, qualifier_size);
    return 0;
}

//  Parses ZPL text of 'size' bytes (it need not end in a newline or a NUL).
//  Returns the root node, which the caller destroys, or NULL with *error
//  set to a malloc'd "ORIGIN:LINE: problem" that the caller frees.
zc_zpl_t *
zc_zpl_parse (const char *text, size_t size, const char *origin, char **error)
{
    assert (text || size == 0);
    assert (origin);
    if (error)
        *error = NULL;
    zc_zpl_t *root = s_node_new ("root", 4, NULL, 0, 0);
    if (!root) {
        zc_fail (error, "%s: out of memory", origin);
        return NULL;
    }
    //  path [L] is the node a line at level L goes below; 'open' counts
    //  the valid entries, so a line may be at most one level deeper than
    //  the line before it.
    zc_zpl_t *path [ZC_ZPL_DEPTH_MAX + 1] = { root };
    int open = 1;
    size_t pos = 0;
    if (size >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;                //  a UTF-8 byte order mark
    int lineno = 0;
    while (pos < size) {
        lineno++;
        const char *line = text + pos;
        const char *newline = memchr (line, '\n', size - pos);
        size_t line_size = newline? (size_t) (newline - line): size - pos;
        pos += line_size + (newline? 1: 0);
        if (line_size > 0 && line [line_size - 1] == '\r')
            line_size--;
        if (line_size > ZC_ZPL_LINE_MAX) {
            zc_fail (error, "%s:%d: line longer than %d bytes", origin, lineno, ZC_ZPL_LINE_MAX);
            goto failed;
        }
        zc_zpl_t *node = NULL;
        int level = 0;
        int rc = s_parse_line (line, line_size, origin, lineno, &node, &level, error);
        if (rc == 1)
            continue;
        if (rc == -1)
            goto failed;
        if (level >= open || level >= ZC_ZPL_DEPTH_MAX) {
            zc_zpl_destroy (&node);
            if (level >= open)
                zc_fail (error, "%s:%d: indented %d spaces where at most %d fit (indent one level, 4 spaces, below the line above)",
                        origin, lineno, level * 4, (open - 1) * 4);
            else
                zc_fail (error, "%s:%d: nested deeper than %d levels", origin, lineno, ZC_ZPL_DEPTH_MAX);
            goto failed;
        }
        zc_zpl_t *parent = path [level];
        if (parent->last)
            parent->last->next = node;
        else
            parent->child = node;
        parent->last = node;
        path [level + 1] = node;
        open = level + 2;
    }
    return root;

failed:
    zc_zpl_destroy (&root);
    return NULL;
}

//  Reads and parses a file of at most 1 MiB. Returns the root node or NULL
//  with *error set to a malloc'd message, "PATH: No such file or
//  directory" and the like when the file cannot be read.
zc_zpl_t *
zc_zpl_load (const char *path, char **error)
{
    assert (path);
    if (error)
        *error = NULL;
    FILE *file = fopen (path, "rb");
    if (!file) {
        zc_fail (error, "%s: %s", path, strerror (errno));
        return NULL;
    }
    char *text = zc_malloc (ZC_ZPL_FILE_MAX + 1);
    if (!text) {
        fclose (file);
        zc_fail (error, "%s: out of memory", path);
        return NULL;
    }
    size_t size = fread (text, 1, ZC_ZPL_FILE_MAX + 1, file);
    int read_errno = ferror (file)? errno: 0;
    fclose (file);

    zc_zpl_t *root = NULL;
    if (read_errno)
        zc_fail (error, "%s: %s", path, strerror (read_errno));
    else
    if (size > ZC_ZPL_FILE_MAX)
        zc_fail (error, "%s: larger than %d bytes (is it the right file?)", path, ZC_ZPL_FILE_MAX);
    else
        root = zc_zpl_parse (text, size, path, error);
    free (text);
    return root;
}

//  First child, next sibling, name, value (NULL without "=") and line of
//  a node. NULL/0 for a NULL node. Strings belong to the tree.
zc_zpl_t *
zc_zpl_child (zc_zpl_t *self)
{
    return self? self->child: NULL;
}

zc_zpl_t *
zc_zpl_next (zc_zpl_t *self)
{
    return self? self->next: NULL;
}

const char *
zc_zpl_name (zc_zpl_t *self)
{
    return self? self->name: NULL;
}

const char *
zc_zpl_value (zc_zpl_t *self)
{
    return self? self->value: NULL;
}

const char *
zc_zpl_qualifier (zc_zpl_t *self)
{
    return self? self->qualifier: NULL;
}

int
zc_zpl_line (zc_zpl_t *self)
{
    return self? self->line: 0;
}

//  Returns the first node, in file order, at a slash path below self
//  ("curve/public-key"), trying every sibling of a repeated name; self for
//  an empty path; NULL when there is none.
zc_zpl_t *
zc_zpl_locate (zc_zpl_t *self, const char *path)
{
    assert (path);
    if (!self || *path == 0)
        return self;
    const char *slash = strchr (path, '/');
    size_t size = slash? (size_t) (slash - path): strlen (path);
    for (zc_zpl_t *child = self->child; child; child = child->next) {
        if (child->qualifier || strlen (child->name) != size || memcmp (child->name, path, size) != 0)
            continue;
        if (!slash)
            return child;
        zc_zpl_t *found = zc_zpl_locate (child, slash + 1);
        if (found)
            return found;
    }
    return NULL;
}

//  --------------------------------------------------------------------------
//  Self-test

//  Parses text (a C string) and checks it fails with exactly 'want'.
static int
s_expect_error (const char *text, size_t size, const char *want, bool verbose)
{
    ZC_TEST_BEGIN;
    char *error = NULL;
    zc_zpl_t *root = zc_zpl_parse (text, size, "t.cfg", &error);
    ZC_CHECK (root == NULL);
    ZC_CHECK_STR (error, want);
    if (verbose && error)
        printf ("# %s\n", error);
    zc_zpl_destroy (&root);
    free (error);
    return ZC_TEST_END;
}

static zc_zpl_t *
s_parse_ok (const char *text)
{
    char *error = NULL;
    zc_zpl_t *root = zc_zpl_parse (text, strlen (text), "t.cfg", &error);
    if (!root)
        printf ("# unexpected error: %s\n", error? error: "(null)");
    free (error);
    return root;
}

int
zc_zpl_test (bool verbose)
{
    ZC_TEST_BEGIN;

    //  Structure, values, comments and line numbers
    const char *text =
        "# a comment\n"
        "\n"
        "zcnc\n"
        "    name = central          # trailing comment\n"
        "    keys = \"/etc/zcnc/keys # not a comment\"  # a comment\n"
        "    data='/var/lib/zcnc'\n"
        "        # a comment indented any way\n"
        "   \t  \n"
        "hub\n"
        "    bind = tcp://*:7710\n"
        "    bind = tcp://*:7711\n"
        "    empty =\n"
        "    quoted_empty = \"\"\n"
        "    spaced = a b  c   \t\n"
        "    section_only\n"
        "        deeper = yes\n"
        "            deepest\n"
        "    back = 1\n"
        "top$_./*-9 = x=y\n";
    zc_zpl_t *root = s_parse_ok (text);
    ZC_CHECK (root);
    ZC_CHECK_STR (zc_zpl_name (root), "root");
    ZC_CHECK (zc_zpl_value (root) == NULL);
    zc_zpl_t *zcnc = zc_zpl_child (root);
    ZC_CHECK_STR (zc_zpl_name (zcnc), "zcnc");
    ZC_CHECK (zc_zpl_value (zcnc) == NULL);
    ZC_CHECK (zc_zpl_line (zcnc) == 3);
    zc_zpl_t *node = zc_zpl_child (zcnc);
    ZC_CHECK_STR (zc_zpl_name (node), "name");
    ZC_CHECK_STR (zc_zpl_value (node), "central");
    ZC_CHECK (zc_zpl_line (node) == 4);
    node = zc_zpl_next (node);
    ZC_CHECK_STR (zc_zpl_value (node), "/etc/zcnc/keys # not a comment");
    node = zc_zpl_next (node);
    ZC_CHECK_STR (zc_zpl_value (node), "/var/lib/zcnc");
    ZC_CHECK (zc_zpl_next (node) == NULL);
    ZC_CHECK (zc_zpl_child (node) == NULL);

    zc_zpl_t *hub = zc_zpl_next (zcnc);
    ZC_CHECK (zc_zpl_line (hub) == 9);
    node = zc_zpl_child (hub);
    ZC_CHECK_STR (zc_zpl_value (node), "tcp://*:7710");
    ZC_CHECK (zc_zpl_line (node) == 10);
    node = zc_zpl_next (node);
    ZC_CHECK_STR (zc_zpl_name (node), "bind");
    ZC_CHECK_STR (zc_zpl_value (node), "tcp://*:7711");
    ZC_CHECK (zc_zpl_line (node) == 11);
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "hub/empty")), "");
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "hub/quoted_empty")), "");
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "hub/spaced")), "a b  c");
    ZC_CHECK (zc_zpl_value (zc_zpl_locate (root, "hub/section_only")) == NULL);
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "hub/section_only/deeper")), "yes");
    ZC_CHECK (zc_zpl_line (zc_zpl_locate (root, "hub/section_only/deeper/deepest")) == 17);
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "hub/back")), "1");
    ZC_CHECK (zc_zpl_line (zc_zpl_locate (root, "hub/back")) == 18);
    node = zc_zpl_next (hub);   //  a name with a slash cannot be located
    ZC_CHECK_STR (zc_zpl_name (node), "top$_./*-9");
    ZC_CHECK_STR (zc_zpl_value (node), "x=y");
    ZC_CHECK (zc_zpl_next (node) == NULL);
    ZC_CHECK (zc_zpl_locate (root, "hub/bind") == zc_zpl_child (hub));
    ZC_CHECK (zc_zpl_locate (root, "") == root);
    ZC_CHECK (zc_zpl_locate (root, "hub/nothing") == NULL);
    ZC_CHECK (zc_zpl_locate (root, "nothing/bind") == NULL);
    ZC_CHECK (zc_zpl_locate (NULL, "hub") == NULL);
    ZC_CHECK (zc_zpl_child (NULL) == NULL && zc_zpl_next (NULL) == NULL);
    ZC_CHECK (zc_zpl_name (NULL) == NULL && zc_zpl_line (NULL) == 0);
    zc_zpl_destroy (&root);
    ZC_CHECK (root == NULL);
    zc_zpl_destroy (&root);     //  harmless twice

    //  A qualifier between the name and "=" (our extension), kept apart;
    //  locate does not find qualified nodes
    root = s_parse_ok ("agent\n    label env = prod # c\n    label  os.x-1='a b'\n"
                       "    function machine-info = uname -a\n    label = plain\n");
    node = zc_zpl_child (zc_zpl_child (root));
    ZC_CHECK_STR (zc_zpl_name (node), "label");
    ZC_CHECK_STR (zc_zpl_qualifier (node), "env");
    ZC_CHECK_STR (zc_zpl_value (node), "prod");
    node = zc_zpl_next (node);
    ZC_CHECK_STR (zc_zpl_qualifier (node), "os.x-1");
    ZC_CHECK_STR (zc_zpl_value (node), "a b");
    node = zc_zpl_next (node);
    ZC_CHECK_STR (zc_zpl_name (node), "function");
    ZC_CHECK_STR (zc_zpl_qualifier (node), "machine-info");
    ZC_CHECK_STR (zc_zpl_value (node), "uname -a");
    node = zc_zpl_next (node);
    ZC_CHECK (zc_zpl_qualifier (node) == NULL);
    ZC_CHECK (zc_zpl_locate (root, "agent/label") == node);
    ZC_CHECK (zc_zpl_qualifier (NULL) == NULL);
    zc_zpl_destroy (&root);
    ZC_CHECK (s_expect_error ("label env\n", 10, "t.cfg:1: expected '=' after 'label' (write 'name = value')",
                              verbose) == 0);
    ZC_CHECK (s_expect_error ("label env x = 1\n", 16,
                              "t.cfg:1: expected '=' after 'label' (write 'name = value')", verbose) == 0);
    ZC_CHECK (s_expect_error ("label env # x\n", 14,
                              "t.cfg:1: expected '=' after 'label' (write 'name = value')", verbose) == 0);

    //  Locate tries every sibling of a repeated name
    root = s_parse_ok ("a\n    x = 1\na\n    y = 2\n");
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "a/y")), "2");
    ZC_CHECK (zc_zpl_line (zc_zpl_locate (root, "a")) == 1);
    zc_zpl_destroy (&root);

    //  CRLF, no final newline, a byte order mark
    root = s_parse_ok ("\xEF\xBB\xBFs\r\n    k = v  \r\n    q = \"x\"\r\n\r\n    last = end");
    ZC_CHECK_STR (zc_zpl_name (zc_zpl_child (root)), "s");
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "s/k")), "v");
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "s/q")), "x");
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "s/last")), "end");
    ZC_CHECK (zc_zpl_line (zc_zpl_locate (root, "s/last")) == 5);
    zc_zpl_destroy (&root);

    //  Empty text, only blanks and comments: a root without children
    const char *empties [] = { "", "\n", "\r\n", "   \n# x\n\t\n", "# only", "    # indented" };
    for (size_t index = 0; index < sizeof empties / sizeof empties [0]; index++) {
        root = s_parse_ok (empties [index]);
        ZC_CHECK (root && zc_zpl_child (root) == NULL);
        zc_zpl_destroy (&root);
    }
    root = zc_zpl_parse (NULL, 0, "t.cfg", NULL);
    ZC_CHECK (root && zc_zpl_child (root) == NULL);
    zc_zpl_destroy (&root);

    //  Single quotes keep double quotes and the other way round
    root = s_parse_ok ("a = 'say \"hi\" # there'\nb = \"it's\"\n");
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "a")), "say \"hi\" # there");
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "b")), "it's");
    zc_zpl_destroy (&root);

    //  Line length bound: 4096 bytes fit, 4097 do not
    char *long_line = zc_malloc (ZC_ZPL_LINE_MAX + 16);
    assert (long_line);
    memset (long_line, 'v', ZC_ZPL_LINE_MAX + 15);
    memcpy (long_line, "k = ", 4);
    long_line [ZC_ZPL_LINE_MAX] = 0;
    root = s_parse_ok (long_line);
    ZC_CHECK (root && strlen (zc_zpl_value (zc_zpl_child (root))) == ZC_ZPL_LINE_MAX - 4);
    zc_zpl_destroy (&root);
    long_line [ZC_ZPL_LINE_MAX] = 'v';
    long_line [ZC_ZPL_LINE_MAX + 1] = 0;
    ZC_CHECK (s_expect_error (long_line, ZC_ZPL_LINE_MAX + 1, "t.cfg:1: line longer than 4096 bytes", verbose) == 0);
    memcpy (long_line + ZC_ZPL_LINE_MAX - 1, "\r\n", 3);       //  CR is not counted
    root = s_parse_ok (long_line);
    ZC_CHECK (root);
    zc_zpl_destroy (&root);
    free (long_line);

    //  Depth bound: 32 levels fit, 33 do not
    char *deep = zc_malloc (64 * ZC_ZPL_DEPTH_MAX * 2);
    assert (deep);
    size_t deep_size = 0;
    for (int level = 0; level <= ZC_ZPL_DEPTH_MAX; level++) {
        deep_size += (size_t) sprintf (deep + deep_size, "%*sn%d\n", level * 4, "", level);
        if (level == ZC_ZPL_DEPTH_MAX - 1) {
            root = zc_zpl_parse (deep, deep_size, "t.cfg", NULL);
            ZC_CHECK (root);
            zc_zpl_destroy (&root);
        }
    }
    ZC_CHECK (s_expect_error (deep, deep_size, "t.cfg:33: nested deeper than 32 levels", verbose) == 0);
    free (deep);

    //  Malformed input
    struct {
        const char *text;
        const char *error;
    } bad [] = {
        { "a\n\tb = 1\n", "t.cfg:2: tab in indentation (indent with 4 spaces per level)" },
        { "a\n  \tb = 1\n", "t.cfg:2: tab in indentation (indent with 4 spaces per level)" },
        { "a\n  b = 1\n", "t.cfg:2: indentation of 2 spaces (indent with 4 spaces per level)" },
        { "a\n        b = 1\n", "t.cfg:2: indented 8 spaces where at most 4 fit (indent one level, 4 spaces, below the line above)" },
        { "    a = 1\n", "t.cfg:1: indented 4 spaces where at most 0 fit (indent one level, 4 spaces, below the line above)" },
        { "a\n    b\n        c\nd\n        e\n", "t.cfg:5: indented 8 spaces where at most 4 fit (indent one level, 4 spaces, below the line above)" },
        { "a = \"abc\n", "t.cfg:1: missing closing \" quote" },
        { "a = 'abc\"\n", "t.cfg:1: missing closing ' quote" },
        { "a = \"abc\" def\n", "t.cfg:1: text after the closing quote (put comments after '#')" },
        { "a = \"abc\"\"def\"\n", "t.cfg:1: text after the closing quote (put comments after '#')" },
        { "a b\n", "t.cfg:1: expected '=' after 'a' (write 'name = value')" },
        { "a: b\n", "t.cfg:1: bad character ':' in name 'a' (names use A-Z a-z 0-9 $ _ . / * -)" },
        { "\xc3\xa9t\xc3\xa9 = 1\n", "t.cfg:1: bad character 0xc3 in name (names use A-Z a-z 0-9 $ _ . / * -)" },
        { "= 1\n", "t.cfg:1: missing name before '='" },
        { "ok = 1\n\"a\" = 1\n", "t.cfg:2: bad character '\"' in name (names use A-Z a-z 0-9 $ _ . / * -)" },
        { "a = 1\x01\n", "t.cfg:1: control character 0x01 (save the file as plain text)" },
        { "a = 1\rb = 2\n", "t.cfg:1: control character 0x0d (save the file as plain text)" },
        { "# \x7f\n", "t.cfg:1: control character 0x7f (save the file as plain text)" },
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++)
        ZC_CHECK (s_expect_error (bad [index].text, strlen (bad [index].text),
                                  bad [index].error, verbose) == 0);
    //  A NUL byte inside the given size
    ZC_CHECK (s_expect_error ("a = 1\nb = x\0y\n", 13, "t.cfg:2: control character 0x00 (save the file as plain text)", verbose) == 0);
    //  Errors without an error pointer just return NULL
    ZC_CHECK (zc_zpl_parse ("\tx", 2, "t.cfg", NULL) == NULL);

    //  Files: missing, a directory, too large, and a czmq certificate
    char dir [] = "/tmp/zc-zpl-test-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char path [256];
    char *error = NULL;
    snprintf (path, sizeof path, "%s/missing.cfg", dir);
    ZC_CHECK (zc_zpl_load (path, &error) == NULL);
    char want [320];
    snprintf (want, sizeof want, "%s/missing.cfg: No such file or directory", dir);
    ZC_CHECK_STR (error, want);
    free (error);
    ZC_CHECK (zc_zpl_load (dir, &error) == NULL);
    snprintf (want, sizeof want, "%s: Is a directory", dir);
    ZC_CHECK_STR (error, want);
    free (error);

    snprintf (path, sizeof path, "%s/big.cfg", dir);
    FILE *file = fopen (path, "w");
    ZC_CHECK (file);
    if (file) {
        for (int count = 0; count <= ZC_ZPL_FILE_MAX / 16; count++)
            fputs ("# 13 more bytes\n", file);
        fclose (file);
    }
    ZC_CHECK (zc_zpl_load (path, &error) == NULL);
    snprintf (want, sizeof want, "%s/big.cfg: larger than 1048576 bytes (is it the right file?)", dir);
    ZC_CHECK_STR (error, want);
    free (error);
    unlink (path);

    snprintf (path, sizeof path, "%s/bad.cfg", dir);
    file = fopen (path, "w");
    ZC_CHECK (file);
    if (file) {
        fputs ("zcnc\n    name = x\n     data = y\n", file);
        fclose (file);
    }
    ZC_CHECK (zc_zpl_load (path, &error) == NULL);
    snprintf (want, sizeof want, "%s/bad.cfg:3: indentation of 5 spaces (indent with 4 spaces per level)", dir);
    ZC_CHECK_STR (error, want);
    free (error);
    unlink (path);

    //  A certificate as czmq writes it reads back the same
    snprintf (path, sizeof path, "%s/n1.cert", dir);
    zcert_t *cert = zcert_new ();
    ZC_CHECK (cert);
    zcert_set_meta (cert, "name", "n1");
    zcert_set_meta (cert, "role", "agent");
    ZC_CHECK (zcert_save (cert, path) == 0);
    root = zc_zpl_load (path, &error);
    ZC_CHECK (root && error == NULL);
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "metadata/name")), "n1");
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "metadata/role")), "agent");
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "curve/public-key")), zcert_public_txt (cert));
    ZC_CHECK (zc_zpl_locate (root, "curve/secret-key") == NULL);
    zc_zpl_destroy (&root);
    char secret_path [300];
    snprintf (secret_path, sizeof secret_path, "%s_secret", path);
    root = zc_zpl_load (secret_path, &error);
    ZC_CHECK (root && error == NULL);
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "curve/public-key")), zcert_public_txt (cert));
    ZC_CHECK_STR (zc_zpl_value (zc_zpl_locate (root, "curve/secret-key")), zcert_secret_txt (cert));
    zc_zpl_destroy (&root);
    zcert_destroy (&cert);
    unlink (path);
    unlink (secret_path);
    ZC_CHECK (rmdir (dir) == 0);
    return ZC_TEST_END;
}
