/*  prefixer.h — output of many nodes on one terminal, each line prefixed
    "NODE: " (SPEC.md, prefixed mode), for output that arrives in pieces
    (exec_stream, tail): a piece's last line waits for its end, so lines
    of different nodes never mix within a line. A partial line longer
    than ZC_PREFIXER_MAX_PARTIAL is written as a line of its own.
*/
#ifndef ZC_PREFIXER_H
#define ZC_PREFIXER_H
#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>

#define ZC_PREFIXER_MAX_PARTIAL (64u << 10)

typedef struct _zc_prefixer_t zc_prefixer_t;

//  Writes stdout pieces to 'out' and stderr pieces to 'err'.
zc_prefixer_t *zc_prefixer_new (FILE *out, FILE *err);
void zc_prefixer_destroy (zc_prefixer_t **self_p);
//  A piece of node's output; 'to_err' for its stderr.
void zc_prefixer_write (zc_prefixer_t *self, const char *node, bool to_err, const uint8_t *bytes, size_t size);
//  The node's output ended: a last line without newline is written
//  with one.
void zc_prefixer_flush (zc_prefixer_t *self, const char *node);
int zc_prefixer_test (bool verbose);
#endif
