/*  dirs.h — the directories zcnc creates for itself: a keys directory
    (keygen) and a daemon's data directory, each with its missing parents,
    mode 0700 (umask permitting), as `mkdir -p -m 0700` would.
*/
#ifndef ZC_DIRS_H
#define ZC_DIRS_H
#include <stdbool.h>

//  Creates 'path' and every missing parent. 0 when it exists as a
//  directory afterwards; -1 with *error (malloc'd) naming the part that
//  could not be made and why.
int zc_dirs_make (const char *path, char **error);
//  What creating 'path' would fail on, without creating anything: NULL
//  when it exists as a directory we can write to, or when its nearest
//  existing ancestor is one; else a malloc'd reason.
char *zc_dirs_problem (const char *path);

int zc_dirs_test (bool verbose);
#endif
