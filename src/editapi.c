/*  editapi.c — libedit loaded on first use (editapi.h). */
#include <pthread.h>
#include <string.h>
#include "prelude.h"
#include "dynlib.h"
#include "editapi.h"
#include "testing.h"

#define S_LIBRARY "libedit.so.2"

static zc_edit_api_t s_api;
static const zc_edit_api_t *s_loaded;
static char s_why [256];
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_load (void)
{
    zc_edit_api_t *api = &s_api;
    zc_dynlib_symbol_t symbols [] = {
        { "el_init", &api->init },
        { "el_end", &api->end },
        { "el_gets", &api->gets },
        { "el_set", &api->set },
        { "el_wset", &api->wset },
        { "el_get", &api->get },
        { "el_source", &api->source },
        { "el_resize", &api->resize },
        { "el_line", &api->line },
        { "el_wline", &api->wline },
        { "el_cursor", &api->cursor },
        { "el_deletestr", &api->deletestr },
        { "el_insertstr", &api->insertstr },
        { "history_init", &api->history_init },
        { "history_end", &api->history_end },
        { "history", &api->history },
    };
    if (zc_dynlib_load (S_LIBRARY, symbols, sizeof symbols / sizeof symbols [0], s_why, sizeof s_why))
        s_loaded = api;
}

const zc_edit_api_t *
zc_edit_api (const char **why)
{
    pthread_once (&s_once, s_load);
    if (!s_loaded && why)
        *why = s_why;
    return s_loaded;
}

int
zc_editapi_test (bool verbose)
{
    ZC_TEST_BEGIN;
    const char *why = NULL;
    const zc_edit_api_t *api = zc_edit_api (&why);
    ZC_CHECK (api != NULL);
    if (!api) {
        fprintf (stderr, "editapi: %s\n", why);
        return ZC_TEST_END;
    }
    //  The same table again, and a history kept through it.
    ZC_CHECK (zc_edit_api (NULL) == api);
    History *history = api->history_init ();
    ZC_CHECK (history != NULL);
    if (history) {
        HistEvent event;
        ZC_CHECK (api->history (history, &event, H_SETSIZE, 10) == 0);
        ZC_CHECK (api->history (history, &event, H_ENTER, "n*: uptime") != -1);
        ZC_CHECK (api->history (history, &event, H_FIRST) == 0 && strcmp (event.str, "n*: uptime") == 0);
        api->history_end (history);
    }
    return ZC_TEST_END;
}
