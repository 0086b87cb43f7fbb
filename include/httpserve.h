/*  httpserve.h — a tiny HTTP/1.0 and 1.1 responder on a daemon's zloop,
    for one page (the metrics: `metrics =`, zcnc.conf(5)).

    GET or HEAD of the page's path gets the page (a query string is
    ignored); another path 404, another method 405, a request that is
    not HTTP/1.x 400, a request head over ZC_HTTPSERVE_MAX_REQUEST bytes
    431. Every answer closes its connection. Bounded: at most
    ZC_HTTPSERVE_MAX_CLIENTS connections at once (more are closed at
    once) and each may last ZC_HTTPSERVE_TIMEOUT_MS from its accept,
    however slowly it writes or reads. A request body is never read.
*/
#ifndef ZC_HTTPSERVE_H
#define ZC_HTTPSERVE_H
#include <czmq.h>

#define ZC_HTTPSERVE_MAX_REQUEST    8192
#define ZC_HTTPSERVE_MAX_CLIENTS    16
#define ZC_HTTPSERVE_TIMEOUT_MS     10000

typedef struct _zc_httpserve_t zc_httpserve_t;

//  The page, made when it is asked for: a malloc'd body that the server
//  frees, with *size its length.
typedef char *(zc_httpserve_page_fn) (size_t *size, void *arg);

//  Checks a listening address, HOST:PORT: HOST a numeric IPv4 address,
//  or an IPv6 one in brackets; PORT from 0 (any free port) to 65535.
//  NULL when good (then *loopback says whether HOST is 127.0.0.0/8 or
//  ::1), else a static reason a config error can quote.
const char *zc_httpserve_address_problem (const char *address, bool *loopback);

//  Listens on 'address' (checked as above) and serves 'page' at 'path'
//  with 'content_type'. NULL with *error (malloc'd) when it cannot.
zc_httpserve_t *zc_httpserve_new (zloop_t *loop, const char *address, const char *path,
                                  const char *content_type, zc_httpserve_page_fn *page,
                                  void *arg, char **error);
//  Closes the listening socket and every connection.
void zc_httpserve_destroy (zc_httpserve_t **self_p);
//  How long a connection may last (tests; ZC_HTTPSERVE_TIMEOUT_MS by
//  default), for connections accepted from now on.
void zc_httpserve_set_timeout (zc_httpserve_t *self, int timeout_ms);
//  Where it listens, as HOST:PORT with the port bound (127.0.0.1:43127).
const char *zc_httpserve_address (zc_httpserve_t *self);

//  Reads a request line (without its line end), "METHOD SP TARGET SP
//  HTTP/1.0" or "HTTP/1.1", in place: 0 with *method and *target
//  pointing into 'line' (cut there), or -1 when it is not one.
int zc_httpserve_request_line (char *line, char **method, char **target);

//  Writes where it listens, a line, to file 'path' (for scripts, and
//  tests that bind port 0); a failure is logged.
void zc_httpserve_note (zc_httpserve_t *self, const char *path);

int zc_httpserve_test (bool verbose);
#endif
