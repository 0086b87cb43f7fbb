/*  zpl.h — a reader for ZPL (ZeroMQ Property Language, czmq's zconfig
    format) that remembers line numbers and reports errors with file and
    line instead of printing them.

    Format: one "name" or "name = value" per line; nesting by indentation
    (4 spaces per level; tabs are an error); "#" starts a comment outside
    quotes; values may be "double" or 'single' quoted; names are
    [A-Za-z0-9/$_.*-]+ as in ZPL. Repeated names are kept in file order.

    One extension of ZPL: a second word of name characters may stand
    between the name and the "=", its qualifier ("label env = prod",
    "function machine-info = uname -a"); a line with a qualifier must
    have a "=". Readers that take no qualifiers must refuse them
    (config.c does); zc_zpl_locate never finds a qualified node.
*/
#ifndef ZC_ZPL_H
#define ZC_ZPL_H
#include <stdbool.h>
#include <stddef.h>

typedef struct _zc_zpl_t zc_zpl_t;

//  Parses a file. Returns the root node (name "root", no value) or NULL
//  with *error set to a malloc'd message naming the file and line (the
//  caller frees it). A missing file gives "PATH: No such file or directory".
zc_zpl_t *zc_zpl_load (const char *path, char **error);

//  Parses text held in memory; 'origin' names it in error messages.
zc_zpl_t *zc_zpl_parse (const char *text, size_t size, const char *origin, char **error);

void zc_zpl_destroy (zc_zpl_t **self_p);

//  Navigation. NULL when there is none. Strings belong to the tree.
zc_zpl_t *zc_zpl_child (zc_zpl_t *self);
zc_zpl_t *zc_zpl_next (zc_zpl_t *self);
const char *zc_zpl_name (zc_zpl_t *self);
const char *zc_zpl_value (zc_zpl_t *self);     //  NULL when the line had no "="
const char *zc_zpl_qualifier (zc_zpl_t *self); //  the word before "=", or NULL
int zc_zpl_line (zc_zpl_t *self);              //  1-based line in the file

//  First node at a slash path below self ("curve/public-key"), or NULL;
//  nodes with a qualifier are not looked at.
zc_zpl_t *zc_zpl_locate (zc_zpl_t *self, const char *path);

int zc_zpl_test (bool verbose);
#endif
