/*  sodium_heap.c — libzmq's CURVE session keys on the heap.

    libzmq 4.3 keeps each CURVE session's keys in memory from libsodium's
    sodium_allocarray: every block its own mapping, with guard pages on
    both sides, locked into RAM. That costs a handful of system calls per
    block (mmap, mprotect, mlock; munlock, munmap when freed, and the
    munmap makes every core flush its TLB), and two resident pages per
    block of 32 bytes. With thousands of peers joining a hub this was
    more than a third of its I/O thread's time (tests/zc-sim, issue 14),
    and it is a good part of the memory a connected peer costs.

    Linked into the zcnc program (and the simulator), these definitions
    are the ones libzmq's calls resolve to: blocks from malloc, zeroed
    when freed. What that gives up for these blocks: guard pages (a
    buffer overrun in libzmq's CURVE code would not fault at once) and
    locking (the session keys, ephemeral, could reach swap, as the
    long-term secret key in libzmq's socket options and in czmq's certs
    always could). A block is marked, so a pointer libsodium gave out
    itself still goes back to it.
*/
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define S_MAGIC 0x7a636e632d686561ULL      //  "zcnc-hea"

//  In front of each block: the mark and the block's size, 16 bytes, so
//  the block keeps malloc's alignment.
typedef struct {
    uint64_t magic;
    uint64_t size;
} s_header_t;

void *
sodium_allocarray (size_t count, size_t size)
{
    if (count > 0 && size >= (SIZE_MAX - sizeof (s_header_t)) / count) {
        errno = ENOMEM;
        return NULL;
    }
    size_t bytes = count * size;
    s_header_t *header = malloc (sizeof *header + (bytes? bytes: 1));
    if (!header)
        return NULL;
    header->magic = S_MAGIC;
    header->size = bytes;
    //  As sodium_malloc's: not zeroed, but not what a freed block held.
    memset (header + 1, 0xdb, bytes);
    return header + 1;
}

void
sodium_free (void *block)
{
    if (!block)
        return;
    s_header_t *header = (s_header_t *) block - 1;
    if (header->magic != S_MAGIC) {
        //  libsodium's own: back to its sodium_free.
        static void (*real_free) (void *);
        if (!real_free)
            real_free = (void (*) (void *)) dlsym (RTLD_NEXT, "sodium_free");
        if (real_free)
            real_free (block);
        return;
    }
    sodium_memzero (block, header->size);
    header->magic = 0;
    free (header);
}
