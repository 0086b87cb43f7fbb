/*  curlapi.c — libcurl loaded on first use (curlapi.h). */
#include <pthread.h>
#include <string.h>
#include "prelude.h"
#include "curlapi.h"
#include "dynlib.h"
#include "testing.h"

#define S_LIBRARY "libcurl.so.4"

static zc_curl_api_t s_api;
static const zc_curl_api_t *s_loaded;
static char s_why [256];
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_load (void)
{
    zc_curl_api_t *api = &s_api;
    zc_dynlib_symbol_t symbols [] = {
        { "curl_global_init", &api->global_init },
        { "curl_global_cleanup", &api->global_cleanup },
        { "curl_easy_init", &api->easy_init },
        { "curl_easy_setopt", &api->easy_setopt },
        { "curl_easy_getinfo", &api->easy_getinfo },
        { "curl_easy_cleanup", &api->easy_cleanup },
        { "curl_easy_strerror", &api->easy_strerror },
        { "curl_multi_init", &api->multi_init },
        { "curl_multi_setopt", &api->multi_setopt },
        { "curl_multi_add_handle", &api->multi_add_handle },
        { "curl_multi_remove_handle", &api->multi_remove_handle },
        { "curl_multi_socket_action", &api->multi_socket_action },
        { "curl_multi_info_read", &api->multi_info_read },
        { "curl_multi_cleanup", &api->multi_cleanup },
        { "curl_multi_strerror", &api->multi_strerror },
        { "curl_url", &api->url },
        { "curl_url_cleanup", &api->url_cleanup },
        { "curl_url_set", &api->url_set },
        { "curl_url_get", &api->url_get },
        { "curl_url_strerror", &api->url_strerror },
        { "curl_free", &api->free },
    };
    if (!zc_dynlib_load (S_LIBRARY, symbols, sizeof symbols / sizeof symbols [0], s_why, sizeof s_why))
        return;
    //  Once, for the process's life: libcurl's global state (TLS) is not
    //  torn down while other threads may still use it.
    if (api->global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf (s_why, sizeof s_why, "%s would not initialise", S_LIBRARY);
        return;
    }
    s_loaded = api;
}

const zc_curl_api_t *
zc_curl_api (const char **why)
{
    pthread_once (&s_once, s_load);
    if (!s_loaded && why)
        *why = s_why;
    return s_loaded;
}

int
zc_curlapi_test (bool verbose)
{
    ZC_TEST_BEGIN;
    const char *why = NULL;
    const zc_curl_api_t *api = zc_curl_api (&why);
    ZC_CHECK (api != NULL);
    if (!api) {
        fprintf (stderr, "curlapi: %s\n", why);
        return ZC_TEST_END;
    }
    //  The same table again, and a call through it.
    ZC_CHECK (zc_curl_api (NULL) == api);
    CURLU *url = api->url ();
    char *host = NULL;
    ZC_CHECK (url && api->url_set (url, CURLUPART_URL, "http://127.0.0.1:9/x", 0) == CURLUE_OK
              && api->url_get (url, CURLUPART_HOST, &host, 0) == CURLUE_OK && strcmp (host, "127.0.0.1") == 0);
    api->free (host);
    api->url_cleanup (url);
    return ZC_TEST_END;
}
