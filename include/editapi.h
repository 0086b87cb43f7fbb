/*  editapi.h — libedit, loaded when `zcnc shell` starts on a terminal.

    Linked, libedit and libtinfo were mapped by every zcnc process, the
    daemons included, for the one command that edits lines (about 0.25
    MB of an idle agent's RSS, bench/README.md). They are loaded with
    dlopen (libedit.so.2) instead. The headers still come from the
    build's libedit, so the table below has its types.
*/
#ifndef ZC_EDITAPI_H
#define ZC_EDITAPI_H
#include <stdbool.h>
#include <stdio.h>
#include <wchar.h>
#include <histedit.h>

typedef struct {
    EditLine *(*init) (const char *program, FILE *in, FILE *out, FILE *error);
    void (*end) (EditLine *el);
    const char *(*gets) (EditLine *el, int *count);
    int (*set) (EditLine *el, int op, ...);
    int (*wset) (EditLine *el, int op, ...);
    int (*get) (EditLine *el, int op, ...);
    int (*source) (EditLine *el, const char *file);
    void (*resize) (EditLine *el);
    const LineInfo *(*line) (EditLine *el);
    const LineInfoW *(*wline) (EditLine *el);
    int (*cursor) (EditLine *el, int count);
    void (*deletestr) (EditLine *el, int count);
    int (*insertstr) (EditLine *el, const char *text);
    History *(*history_init) (void);
    void (*history_end) (History *history);
    int (*history) (History *history, HistEvent *event, int op, ...);
} zc_edit_api_t;

//  The table, libedit loaded on the first call (once per process). NULL
//  when it cannot be, with *why (static text) saying why.
const zc_edit_api_t *zc_edit_api (const char **why);

int zc_editapi_test (bool verbose);
#endif
