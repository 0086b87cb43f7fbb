/*  dynlib.c — a shared library loaded on first use (dynlib.h). */
#include <dlfcn.h>
#include <string.h>
#include "prelude.h"
#include "dynlib.h"
#include "testing.h"

bool
zc_dynlib_load (const char *library, const zc_dynlib_symbol_t *symbols, size_t count,
                char *why, size_t why_size)
{
    void *handle = dlopen (library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *error = dlerror ();
        snprintf (why, why_size, "cannot load %s: %s", library, error? error: "?");
        return false;
    }
    for (size_t index = 0; index < count; index++) {
        void *address = dlsym (handle, symbols [index].name);
        if (!address) {
            snprintf (why, why_size, "%s has no %s", library, symbols [index].name);
            return false;
        }
        memcpy (symbols [index].slot, &address, sizeof address);
    }
    return true;
}

int
zc_dynlib_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char why [256] = "";
    //  libc's strlen, through a table.
    size_t (*length) (const char *text) = NULL;
    zc_dynlib_symbol_t found [] = { { "strlen", &length } };
    ZC_CHECK (zc_dynlib_load ("libc.so.6", found, 1, why, sizeof why));
    ZC_CHECK (length && length ("zcnc") == 4);
    //  A library that is not there, and a function that is not there.
    ZC_CHECK (!zc_dynlib_load ("libzcnc-none.so.0", found, 1, why, sizeof why));
    ZC_CHECK (strstr (why, "cannot load libzcnc-none.so.0: ") == why);
    void (*none) (void) = NULL;
    zc_dynlib_symbol_t missing [] = { { "strlen", &length }, { "zc_no_such_function", &none } };
    ZC_CHECK (!zc_dynlib_load ("libc.so.6", missing, 2, why, sizeof why));
    ZC_CHECK (strcmp (why, "libc.so.6 has no zc_no_such_function") == 0 && none == NULL);
    return ZC_TEST_END;
}
