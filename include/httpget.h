/*  httpget.h — the http_get method: fetches one URL with libcurl, on the
    caller's zloop, so a slow or silent server never blocks anything else.

    Why libcurl's multi interface on the zloop, and not a thread running
    the easy interface: no thread, no lock, nothing shared; a fetch is
    stopped at once and for sure (its handle is taken off the multi
    handle), where a thread inside a name lookup or a read could only be
    asked to stop and be waited for; and it is how exec.c runs commands,
    its pipes and pidfds polled on the same loop. libcurl says which
    sockets to poll and when it next needs a call (CURLMOPT_SOCKETFUNCTION,
    CURLMOPT_TIMERFUNCTION); a zloop poller per socket and one zloop timer
    carry that out. Both call back with the client (zc_httpget_t), which
    lives as long as the loop's users, never with a fetch: zloop may
    deliver a poll event of an iteration after a timer handler changed the
    poll set, and such a stale event then only makes libcurl look at a
    socket it no longer has, which it ignores.

    What a fetch does:
    - GET of the URL, http and https only, on redirects too: any other URL
      is refused before anything is sent (zc_httpget_url_check), and
      libcurl is told to allow only these two protocols as well.
    - It follows up to ZC_HTTPGET_MAX_REDIRECTS redirects; one more is an
      error ("Maximum (5) redirects followed"). A redirect may lead to
      another host: what a policy allowed is the URL asked for.
    - A server certificate is verified against the system's CA store.
      The agent's own environment chooses a proxy (http_proxy,
      https_proxy, no_proxy), as libcurl reads it. A new connection each
      time: none is kept between jobs. No cookies, no .netrc;
      "User-Agent: zcnc/VERSION".
    - The body is kept up to 'max_output' bytes. A longer one is cut
      there and the transfer stops (the rest is never downloaded): the
      result says so with stdout_truncated.
    - 'timeout' bounds it all: name lookup, connection, redirects, body.

    The result:
    - A response came, whatever its status: DONE, the status in
      http_status, the body in out; exit_code 0 for a 2xx status and 1
      for any other (a 404, a 500, a 3xx not followed), so a caller that
      looks only at the exit status sees the failure.
    - No complete response (a bad URL, a name not found, a connection
      refused, a TLS failure, too many redirects, the timeout): FAILED,
      with libcurl's reason in error ("http_get timed out after N s
      (method_timeout): ..." for the timeout); http_status and out keep
      what came before, if anything.
    - Stopped by zc_httpget_interrupt: INTERRUPTED.
*/
#ifndef ZC_HTTPGET_H
#define ZC_HTTPGET_H
#include <czmq.h>
#include "job.h"

#define ZC_HTTPGET_MAX_REDIRECTS 5

typedef struct _zc_httpget_t zc_httpget_t;
typedef struct _zc_httpget_fetch_t zc_httpget_fetch_t;

//  Called once when a fetch has ended, from the loop (never from inside
//  zc_httpget_start). The callback takes ownership of 'result' and may
//  destroy 'fetch', and start or destroy other fetches.
typedef void (zc_httpget_done_fn) (zc_httpget_fetch_t *fetch, zc_result_t *result, void *arg);

//  Checks a URL as a fetch will: NULL when it may be fetched, else why
//  not, malloc'd: "http_get: only http and https URLs" for any other
//  scheme (or none), "http_get: bad URL: REASON" when libcurl cannot
//  parse it. The message parser asks this at submission; a fetch asks
//  it again, for a job may come from anywhere.
char *zc_httpget_url_check (const char *url);
//  The URL in the form a policy judges (zcnc-policy(5)): as libcurl will
//  fetch it, with '.' and '..' segments resolved and the scheme in lower
//  case, and without a user name, password or fragment, so that neither
//  "http://127.0.0.1:80@elsewhere/" nor "/status/../admin" can pass for
//  what a pattern allows. Malloc'd; NULL when zc_httpget_url_check
//  refuses the URL.
char *zc_httpget_url_normal (const char *url);

//  The client of one zloop (borrowed): its fetches run on that loop.
//  NULL when libcurl cannot be loaded, with *why (static text) saying
//  why, or when it is out of memory (*why left as it was).
zc_httpget_t *zc_httpget_new (zloop_t *loop, const char **why);
//  Frees the client, whose fetches must all be destroyed first. Call it
//  outside the loop, or from a poller or reader handler (not a timer's:
//  see above).
void zc_httpget_destroy (zc_httpget_t **self_p);

//  Starts fetching 'url' ('timeout' s, 0: none; at most 'max_output'
//  bytes of body kept). Returns the fetch, whose 'done' is called once
//  it ends; or NULL with *error malloc'd when it could not start (a URL
//  zc_httpget_url_check refuses, or libcurl refused to set it up).
zc_httpget_fetch_t *zc_httpget_start (zc_httpget_t *self, const char *url, double timeout,
                                      size_t max_output, zc_httpget_done_fn *done, void *arg,
                                      char **error);
//  Stops a running fetch now: its done callback runs before this returns,
//  with state INTERRUPTED ("agent stopped while the job ran") and what
//  came so far. Does nothing to a fetch that has ended.
void zc_httpget_interrupt (zc_httpget_fetch_t *fetch);
//  Frees a fetch; one still running is stopped, and its done callback is
//  not called.
void zc_httpget_fetch_destroy (zc_httpget_fetch_t **fetch_p);

int zc_httpget_test (bool verbose);
#endif
