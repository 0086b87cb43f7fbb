/*  dirs.c — directories with their missing parents (dirs.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <czmq.h>
#include "prelude.h"
#include "dirs.h"
#include "log.h"
#include "testing.h"

int
zc_dirs_make (const char *path, char **error)
{
    char *copy = zc_strdup (path);
    int rc = 0;
    //  Each prefix ending before a '/', then the whole path.
    for (char *slash = strchr (copy + 1, '/'); rc == 0; slash = strchr (slash + 1, '/')) {
        if (slash)
            *slash = 0;
        struct stat st;
        if (*copy && mkdir (copy, 0700) == -1 && errno != EEXIST)
            rc = zc_fail (error, "cannot create directory %s: %s", copy, strerror (errno));
        else
        if (*copy && stat (copy, &st) != 0)
            rc = zc_fail (error, "cannot create directory %s: %s", copy, strerror (errno));
        else
        if (*copy && !S_ISDIR (st.st_mode))
            rc = zc_fail (error, "cannot create directory %s: a file of that name is in the way", copy);
        if (!slash)
            break;
        *slash = '/';
        while (slash [1] == '/')
            slash++;
    }
    free (copy);
    return rc;
}

char *
zc_dirs_problem (const char *path)
{
    char *ancestor = zc_strdup (path);
    char *problem = NULL;
    for (;;) {
        struct stat st;
        if (stat (ancestor, &st) == 0) {
            if (!S_ISDIR (st.st_mode))
                problem = zsys_sprintf ("%s is not a directory", ancestor);
            else
            if (access (ancestor, W_OK | X_OK) != 0)
                problem = zsys_sprintf ("%s is not writable: %s", ancestor, strerror (errno));
            break;
        }
        if (errno != ENOENT && errno != ENOTDIR) {
            problem = zsys_sprintf ("cannot look at %s: %s", ancestor, strerror (errno));
            break;
        }
        char *slash = strrchr (ancestor, '/');
        if (!slash)
            break;                  //  a relative path: the working directory is the ancestor
        if (slash == ancestor)
            slash [1] = 0;          //  "/"
        else
            *slash = 0;
    }
    free (ancestor);
    return problem;
}

int
zc_dirs_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char root [] = "/tmp/zc-dirs-test-XXXXXX";
    ZC_CHECK (mkdtemp (root) != NULL);
    char *deep = zsys_sprintf ("%s/a/b//c", root);
    char *error = NULL;
    ZC_CHECK (zc_dirs_problem (deep) == NULL);
    ZC_CHECK (zc_dirs_make (deep, &error) == 0 && !error);
    struct stat st;
    ZC_CHECK (stat (deep, &st) == 0 && S_ISDIR (st.st_mode) && (st.st_mode & 077) == 0);
    //  Again: it exists, which is fine.
    ZC_CHECK (zc_dirs_make (deep, &error) == 0 && !error);

    //  A file in the way is named.
    char *file = zsys_sprintf ("%s/file", root);
    FILE *handle = fopen (file, "w");
    ZC_CHECK (handle != NULL);
    if (handle)
        fclose (handle);
    char *below = zsys_sprintf ("%s/file/data", root);
    ZC_CHECK (zc_dirs_make (below, &error) == -1 && error && strstr (error, file));
    free (error);
    error = NULL;
    char *problem = zc_dirs_problem (below);
    ZC_CHECK (problem && strstr (problem, "is not a directory"));
    free (problem);

    //  A parent we may not write to (root may write anywhere).
    if (geteuid () != 0) {
        char *locked = zsys_sprintf ("%s/locked", root);
        ZC_CHECK (mkdir (locked, 0500) == 0);
        char *inside = zsys_sprintf ("%s/locked/data", root);
        problem = zc_dirs_problem (inside);
        ZC_CHECK (problem && strstr (problem, "is not writable"));
        free (problem);
        ZC_CHECK (zc_dirs_make (inside, &error) == -1 && error && strstr (error, "Permission denied"));
        free (error);
        error = NULL;
        rmdir (locked);
        free (inside);
        free (locked);
    }
    if (verbose)
        printf ("# dirs: made %s\n", deep);
    char *command = zsys_sprintf ("rm -rf '%s'", root);
    ZC_CHECK (system (command) == 0);
    free (command);
    free (below);
    free (file);
    free (deep);
    return ZC_TEST_END;
}
