/*  dynlib.h — a shared library loaded on first use, its functions looked
    up into a table (curlapi.c, editapi.c, sha256.c).
*/
#ifndef ZC_DYNLIB_H
#define ZC_DYNLIB_H
#include <stdbool.h>
#include <stddef.h>

//  A function to look up, and where its address goes: the address of a
//  function pointer of the right type.
typedef struct {
    const char *name;
    void *slot;
} zc_dynlib_symbol_t;

//  Loads 'library' (dlopen, RTLD_NOW | RTLD_LOCAL) and fills every slot.
//  False when the library or one of the functions is missing, with 'why'
//  saying which; the library then stays loaded, unused.
bool zc_dynlib_load (const char *library, const zc_dynlib_symbol_t *symbols, size_t count,
                     char *why, size_t why_size);

int zc_dynlib_test (bool verbose);
#endif
