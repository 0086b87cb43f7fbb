/*  curlapi.h — libcurl, loaded when the first http_get needs it.

    Linked, libcurl and the two dozen libraries behind it (TLS, Kerberos,
    LDAP, ...) were mapped and relocated by every zcnc process at start,
    the clients and the hub included: about 5 MB of an idle agent's RSS
    and most of a client command's start-up (bench/README.md). Loaded
    with dlopen (libcurl.so.4) on first use, they cost nothing until an
    agent runs an http_get. The headers still come from the build's
    libcurl, so the table below has its types.
*/
#ifndef ZC_CURLAPI_H
#define ZC_CURLAPI_H
#include <stdbool.h>
#include <curl/curl.h>

typedef struct {
    CURLcode (*global_init) (long flags);
    void (*global_cleanup) (void);
    CURL *(*easy_init) (void);
    CURLcode (*easy_setopt) (CURL *easy, CURLoption option, ...);
    CURLcode (*easy_getinfo) (CURL *easy, CURLINFO info, ...);
    void (*easy_cleanup) (CURL *easy);
    const char *(*easy_strerror) (CURLcode code);
    CURLM *(*multi_init) (void);
    CURLMcode (*multi_setopt) (CURLM *multi, CURLMoption option, ...);
    CURLMcode (*multi_add_handle) (CURLM *multi, CURL *easy);
    CURLMcode (*multi_remove_handle) (CURLM *multi, CURL *easy);
    CURLMcode (*multi_socket_action) (CURLM *multi, curl_socket_t fd, int events, int *running);
    CURLMsg *(*multi_info_read) (CURLM *multi, int *left);
    CURLMcode (*multi_cleanup) (CURLM *multi);
    const char *(*multi_strerror) (CURLMcode code);
    CURLU *(*url) (void);
    void (*url_cleanup) (CURLU *url);
    CURLUcode (*url_set) (CURLU *url, CURLUPart part, const char *content, unsigned int flags);
    CURLUcode (*url_get) (const CURLU *url, CURLUPart part, char **content, unsigned int flags);
    const char *(*url_strerror) (CURLUcode code);
    void (*free) (void *text);
} zc_curl_api_t;

//  The table, libcurl loaded and initialised on the first call (once per
//  process, from any thread). NULL when it cannot be, with *why (static
//  text) saying why.
const zc_curl_api_t *zc_curl_api (const char **why);

int zc_curlapi_test (bool verbose);
#endif
