/*  target.h — node names and target expressions (SPEC.md "Nodes, hubs,
    names, targets").

    A name matches [A-Za-z0-9][A-Za-z0-9._-]{0,63}; "ALL" is reserved.
    An expression is a comma-separated list of items: an exact name, an
    fnmatch(3) glob, or ALL.
*/
#ifndef ZC_TARGET_H
#define ZC_TARGET_H
#include <stdbool.h>
#include <czmq.h>

#include "prelude.h"

//  True when name is a valid node or hub name (ALL is not).
bool zc_name_valid (const char *name);

//  True when the expression is exactly one exact name (raw output mode).
bool zc_target_is_single (const char *expression);

//  Resolves an expression (a JSON "to" array is joined with commas by the
//  caller) against the known node names (a zlist of strings). On success returns 0 and fills
//  'targets' (a new zlist of strdup'd names, in first-seen order, no
//  duplicates, autofree) and 'unknown' (exact names absent from 'known',
//  a subset of targets). On a bad item returns -1 with *error set to a
//  malloc'd message ("bad target item 'x': ..."). An expression that
//  resolves to nothing returns 0 with an empty 'targets': the caller
//  turns that into exit 3 / code nomatch.
int zc_target_resolve (const char *expression, zlist_t *known,
                       zlist_t **targets, zlist_t **unknown, char **error);

int zc_target_test (bool verbose);
#endif
