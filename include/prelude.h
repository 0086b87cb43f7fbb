/*  prelude.h — what every module shares: the size of a name, and the one
    out-of-memory policy (czmq's habit).

    Running out of memory is not an error a caller handles: the
    allocators below abort the process with the file and line that asked,
    so no module carries a NULL check per allocation, and a _new function
    returns NULL only for bad input. zc_alloc_init makes jansson use them
    too.
*/
#ifndef ZC_PRELUDE_H
#define ZC_PRELUDE_H
#include <stddef.h>

//  A node or hub name: at most ZC_NAME_MAX bytes (target.h says which);
//  a buffer that holds one with its NUL is ZC_NAME_SIZE bytes.
#define ZC_NAME_MAX     64
#define ZC_NAME_SIZE    (ZC_NAME_MAX + 1)

//  Never NULL. zc_calloc zeroes; zc_strdup (NULL) is an error.
#define zc_malloc(size)         zc_malloc_ ((size), __FILE__, __LINE__)
#define zc_calloc(count, size)  zc_calloc_ ((count), (size), __FILE__, __LINE__)
#define zc_realloc(block, size) zc_realloc_ ((block), (size), __FILE__, __LINE__)
#define zc_strdup(text)         zc_strdup_ ((text), __FILE__, __LINE__)

void *zc_malloc_ (size_t size, const char *file, int line);
void *zc_calloc_ (size_t count, size_t size, const char *file, int line);
void *zc_realloc_ (void *block, size_t size, const char *file, int line);
char *zc_strdup_ (const char *text, const char *file, int line);
//  Makes jansson allocate with the aborting allocator. Call once, before
//  any JSON value exists.
void zc_alloc_init (void);
#endif
