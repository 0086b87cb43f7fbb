/*  alloc.c — allocators that never return NULL (prelude.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "prelude.h"

static void
s_out_of_memory (size_t size, const char *file, int line)
{
    //  No stdio buffer, no allocation: write what we can and stop.
    char text [200];
    int length = snprintf (text, sizeof text, "zcnc: out of memory (%zu bytes at %s:%d)\n",
                           size, file, line);
    if (length > 0) {
        ssize_t ignored = write (STDERR_FILENO, text, (size_t) length);
        (void) ignored;
    }
    abort ();
}

void *
zc_malloc_ (size_t size, const char *file, int line)
{
    void *block = malloc (size? size: 1);
    if (!block)
        s_out_of_memory (size, file, line);
    return block;
}

void *
zc_calloc_ (size_t count, size_t size, const char *file, int line)
{
    void *block = calloc (count? count: 1, size? size: 1);
    if (!block)
        s_out_of_memory (count * size, file, line);
    return block;
}

void *
zc_realloc_ (void *block, size_t size, const char *file, int line)
{
    void *grown = realloc (block, size? size: 1);
    if (!grown)
        s_out_of_memory (size, file, line);
    return grown;
}

char *
zc_strdup_ (const char *text, const char *file, int line)
{
    if (!text)
        s_out_of_memory (0, file, line);      //  a programmer error, reported where it was made
    char *copy = strdup (text);
    if (!copy)
        s_out_of_memory (strlen (text) + 1, file, line);
    return copy;
}

static void *
s_json_malloc (size_t size)
{
    return zc_malloc_ (size, "jansson", 0);
}

void
zc_alloc_init (void)
{
    json_set_alloc_funcs (s_json_malloc, free);
}
