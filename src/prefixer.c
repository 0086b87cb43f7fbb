/*  prefixer.c — output of many nodes, each line prefixed (see prefixer.h). */
#include <czmq.h>
#include "prelude.h"
#include "prefixer.h"
#include "testing.h"

struct _zc_prefixer_t {
    FILE *streams [2];          //  stdout, stderr
    zhashx_t *partial [2];      //  node -> zchunk_t: its last line so far
};

static void
s_chunk_destroy (void **item)
{
    zchunk_destroy ((zchunk_t **) item);
}

zc_prefixer_t *
zc_prefixer_new (FILE *out, FILE *err)
{
    zc_prefixer_t *self = zc_calloc (1, sizeof *self);
    self->streams [0] = out;
    self->streams [1] = err;
    for (int index = 0; index < 2; index++) {
        self->partial [index] = zhashx_new ();
        zhashx_set_destructor (self->partial [index], s_chunk_destroy);
    }
    return self;
}

void
zc_prefixer_destroy (zc_prefixer_t **self_p)
{
    if (*self_p) {
        zc_prefixer_t *self = *self_p;
        zhashx_destroy (&self->partial [0]);
        zhashx_destroy (&self->partial [1]);
        free (self);
        *self_p = NULL;
    }
}

//  Writes one whole line: the prefix, what was held, then 'bytes'.
static void
s_line (FILE *stream, const char *node, zchunk_t *held, const uint8_t *bytes, size_t size)
{
    fprintf (stream, "%s: ", node);
    if (held)
        fwrite (zchunk_data (held), 1, zchunk_size (held), stream);
    fwrite (bytes, 1, size, stream);
    fputc ('\n', stream);
}

void
zc_prefixer_write (zc_prefixer_t *self, const char *node, bool to_err, const uint8_t *bytes, size_t size)
{
    int index = to_err? 1: 0;
    FILE *stream = self->streams [index];
    zhashx_t *partial = self->partial [index];
    while (size) {
        const uint8_t *newline = memchr (bytes, '\n', size);
        zchunk_t *held = zhashx_lookup (partial, node);
        if (!newline) {
            size_t held_size = held? zchunk_size (held): 0;
            if (held_size + size > ZC_PREFIXER_MAX_PARTIAL) {
                s_line (stream, node, held, bytes, size);
                zhashx_delete (partial, node);
            }
            else
            if (held)
                zchunk_extend (held, bytes, size);
            else
                zhashx_insert (partial, node, zchunk_new (bytes, size));
            break;
        }
        size_t length = (size_t) (newline - bytes);
        s_line (stream, node, held, bytes, length);
        if (held)
            zhashx_delete (partial, node);
        bytes += length + 1;
        size -= length + 1;
    }
    fflush (stream);
}

void
zc_prefixer_flush (zc_prefixer_t *self, const char *node)
{
    for (int index = 0; index < 2; index++) {
        zchunk_t *held = zhashx_lookup (self->partial [index], node);
        if (held) {
            s_line (self->streams [index], node, held, NULL, 0);
            zhashx_delete (self->partial [index], node);
            fflush (self->streams [index]);
        }
    }
}

int
zc_prefixer_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char *out_text = NULL, *err_text = NULL;
    size_t out_size = 0, err_size = 0;
    FILE *out = open_memstream (&out_text, &out_size);
    FILE *err = open_memstream (&err_text, &err_size);
    zc_prefixer_t *self = zc_prefixer_new (out, err);
    //  Pieces of two nodes interleave; lines stay whole.
    zc_prefixer_write (self, "n1", false, (const uint8_t *) "hel", 3);
    zc_prefixer_write (self, "n2", false, (const uint8_t *) "one\ntw", 6);
    zc_prefixer_write (self, "n1", false, (const uint8_t *) "lo\nwor", 6);
    zc_prefixer_write (self, "n2", true, (const uint8_t *) "oops\n", 5);
    zc_prefixer_write (self, "n2", false, (const uint8_t *) "o\n", 2);
    zc_prefixer_flush (self, "n1");
    zc_prefixer_flush (self, "n2");
    fflush (out);
    fflush (err);
    ZC_CHECK_STR (out_text, "n2: one\nn1: hello\nn2: two\nn1: wor\n");
    ZC_CHECK_STR (err_text, "n2: oops\n");
    //  An endless line is cut at the bound.
    uint8_t *long_line = zc_malloc (ZC_PREFIXER_MAX_PARTIAL);
    memset (long_line, 'x', ZC_PREFIXER_MAX_PARTIAL);
    zc_prefixer_write (self, "n3", false, long_line, ZC_PREFIXER_MAX_PARTIAL);
    zc_prefixer_write (self, "n3", false, long_line, 1);
    fflush (out);
    ZC_CHECK (out_size == 34 + 4 + ZC_PREFIXER_MAX_PARTIAL + 1 + 1);
    free (long_line);
    zc_prefixer_destroy (&self);
    fclose (out);
    fclose (err);
    free (out_text);
    free (err_text);
    return ZC_TEST_END;
}
