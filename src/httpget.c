/*  httpget.c — the http_get method with libcurl on a zloop (see httpget.h). */
#include <curl/curl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "prelude.h"
#include "curlapi.h"
#include "httpget.h"
#include "log.h"
#include "testing.h"

#define S_USER_AGENT        "zcnc/" PACKAGE_VERSION
#define S_PROTOCOLS         "http,https"
#define S_SCHEME_PROBLEM    "http_get: only http and https URLs"
#define S_FIRST_CAPACITY    4096    //  bytes of body buffer to start with

struct _zc_httpget_t {
    zloop_t *loop;
    CURLM *multi;
    int timer_id;               //  libcurl's one timer on the loop, or -1
    zlistx_t *fds;              //  sockets polled for libcurl, as (void *) (fd + 1)
    size_t fetches;             //  fetches made and not destroyed
};

struct _zc_httpget_fetch_t {
    zc_httpget_t *client;
    CURL *easy;                 //  while it runs; NULL once it has ended
    CURLU *url;                 //  the URL as checked, which libcurl fetches
    double timeout;             //  s, for the error text
    size_t max_output;
    uint8_t *body;
    size_t size, capacity;
    bool truncated;             //  the body was longer than max_output
    uint64_t started_ms;
    char error [CURL_ERROR_SIZE];   //  libcurl's detailed reason
    zc_httpget_done_fn *done;
    void *arg;
};

//  --------------------------------------------------------------------------
//  URLs

//  Parses a URL as libcurl will fetch it. Returns NULL with *parsed set
//  (the caller frees it with curl_url_cleanup), or why it may not be
//  fetched, malloc'd. The scheme is the one libcurl's parser finds, so
//  no other reading of the string can slip past the check.
static const zc_curl_api_t *s_curl;     //  libcurl, once it is loaded

//  True when libcurl is loaded (s_curl); else false with *why.
static bool
s_curl_ready (const char **why)
{
    const zc_curl_api_t *api = zc_curl_api (why);
    if (api)
        s_curl = api;
    return api != NULL;
}

static char *
s_parse (const char *url, CURLU **parsed)
{
    *parsed = NULL;
    const char *why = NULL;
    if (!s_curl_ready (&why))
        return zsys_sprintf ("http_get: %s", why);
    CURLU *handle = s_curl->url ();
    if (!handle)
        return zc_strdup ("http_get: cannot parse the URL: out of memory");
    //  Any scheme parses, so that a scheme is judged by name, not by
    //  whether this libcurl happens to know it.
    CURLUcode code = s_curl->url_set (handle, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (code != CURLUE_OK) {
        s_curl->url_cleanup (handle);
        bool http = strncasecmp (url, "http://", 7) == 0 || strncasecmp (url, "https://", 8) == 0;
        return http? zsys_sprintf ("http_get: bad URL: %s", s_curl->url_strerror (code))
                   : zc_strdup (S_SCHEME_PROBLEM);
    }
    char *scheme = NULL;
    bool allowed = s_curl->url_get (handle, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK
                && (strcasecmp (scheme, "http") == 0 || strcasecmp (scheme, "https") == 0);
    s_curl->free (scheme);
    if (!allowed) {
        s_curl->url_cleanup (handle);
        return zc_strdup (S_SCHEME_PROBLEM);
    }
    *parsed = handle;
    return NULL;
}

char *
zc_httpget_url_check (const char *url)
{
    CURLU *parsed;
    char *problem = s_parse (url, &parsed);
    if (parsed)
        s_curl->url_cleanup (parsed);
    return problem;
}

char *
zc_httpget_url_normal (const char *url)
{
    CURLU *parsed;
    char *problem = s_parse (url, &parsed);
    if (problem) {
        free (problem);
        return NULL;
    }
    char *normal = NULL;
    if (s_curl->url_set (parsed, CURLUPART_USER, NULL, 0) == CURLUE_OK
    &&  s_curl->url_set (parsed, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK
    &&  s_curl->url_set (parsed, CURLUPART_OPTIONS, NULL, 0) == CURLUE_OK
    &&  s_curl->url_set (parsed, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK) {
        char *text = NULL;
        if (s_curl->url_get (parsed, CURLUPART_URL, &text, 0) == CURLUE_OK)
            normal = zc_strdup (text);
        s_curl->free (text);
    }
    s_curl->url_cleanup (parsed);
    return normal;
}

//  --------------------------------------------------------------------------
//  libcurl on the zloop

static void s_reap (zc_httpget_t *self);

//  A socket libcurl polls is ready: libcurl does what it can with it.
static int
s_on_ready (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_httpget_t *self = arg;
    int events = (item->revents & ZMQ_POLLIN? CURL_CSELECT_IN: 0)
               | (item->revents & ZMQ_POLLOUT? CURL_CSELECT_OUT: 0)
               | (item->revents & ZMQ_POLLERR? CURL_CSELECT_ERR: 0);
    int running;
    s_curl->multi_socket_action (self->multi, item->fd, events, &running);
    s_reap (self);
    return 0;
}

//  libcurl's timer is due (timeouts, and the start of each transfer).
static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_httpget_t *self = arg;
    if (self->timer_id == timer_id)
        self->timer_id = -1;    //  a once-timer: zloop drops it itself
    int running;
    s_curl->multi_socket_action (self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_reap (self);
    return 0;
}

//  Stops polling a socket for libcurl, if it was polled.
static void
s_unwatch (zc_httpget_t *self, curl_socket_t fd)
{
    void *key = (void *) (intptr_t) (fd + 1);
    for (void *item = zlistx_first (self->fds); item; item = zlistx_next (self->fds))
        if (item == key) {
            zmq_pollitem_t pollitem = { NULL, fd, 0, 0 };
            zloop_poller_end (self->loop, &pollitem);
            zlistx_delete (self->fds, zlistx_cursor (self->fds));
            break;
        }
}

//  libcurl says what to poll a socket for (CURLMOPT_SOCKETFUNCTION).
//  Returns 0, or -1 (libcurl fails the transfer) when the loop cannot
//  take the poller.
static int
s_on_socket (CURL *easy, curl_socket_t fd, int what, void *arg, void *socket_arg)
{
    zc_httpget_t *self = arg;
    s_unwatch (self, fd);
    if (what == CURL_POLL_REMOVE)
        return 0;
    zmq_pollitem_t item = { NULL, fd, 0, 0 };
    item.events = (what & CURL_POLL_IN? ZMQ_POLLIN: 0) | (what & CURL_POLL_OUT? ZMQ_POLLOUT: 0);
    if (zloop_poller (self->loop, &item, s_on_ready, self) != 0)
        return -1;
    //  A socket in error (a refused connection) is libcurl's to report,
    //  not zloop's to drop silently.
    zloop_poller_set_tolerant (self->loop, &item);
    zlistx_add_end (self->fds, (void *) (intptr_t) (fd + 1));
    return 0;
}

//  libcurl asks to be called after 'timeout_ms' (-1: no longer)
//  (CURLMOPT_TIMERFUNCTION).
static int
s_on_timer_set (CURLM *multi, long timeout_ms, void *arg)
{
    zc_httpget_t *self = arg;
    if (self->timer_id != -1) {
        zloop_timer_end (self->loop, self->timer_id);
        self->timer_id = -1;
    }
    if (timeout_ms >= 0) {
        self->timer_id = zloop_timer (self->loop, (size_t) timeout_ms, 1, s_on_timer, self);
        if (self->timer_id == -1)
            return -1;
    }
    return 0;
}

zc_httpget_t *
zc_httpget_new (zloop_t *loop, const char **why)
{
    const char *reason = NULL;
    if (!s_curl_ready (&reason)) {
        zc_warn ("http_get: %s", reason);
        if (why)
            *why = reason;
        return NULL;
    }
    zc_httpget_t *self = zc_calloc (1, sizeof *self);
    self->loop = loop;
    self->timer_id = -1;
    self->fds = zlistx_new ();
    self->multi = s_curl->multi_init ();
    if (!self->multi
    ||  s_curl->multi_setopt (self->multi, CURLMOPT_SOCKETFUNCTION, s_on_socket) != CURLM_OK
    ||  s_curl->multi_setopt (self->multi, CURLMOPT_SOCKETDATA, self) != CURLM_OK
    ||  s_curl->multi_setopt (self->multi, CURLMOPT_TIMERFUNCTION, s_on_timer_set) != CURLM_OK
    ||  s_curl->multi_setopt (self->multi, CURLMOPT_TIMERDATA, self) != CURLM_OK)
        zc_httpget_destroy (&self);
    return self;
}

void
zc_httpget_destroy (zc_httpget_t **self_p)
{
    if (*self_p) {
        zc_httpget_t *self = *self_p;
        assert (self->fetches == 0);
        if (self->multi)
            s_curl->multi_cleanup (self->multi);
        if (self->timer_id != -1)
            zloop_timer_end (self->loop, self->timer_id);
        for (void *item = zlistx_first (self->fds); item; item = zlistx_next (self->fds)) {
            zmq_pollitem_t pollitem = { NULL, (int) ((intptr_t) item - 1), 0, 0 };
            zloop_poller_end (self->loop, &pollitem);
        }
        zlistx_destroy (&self->fds);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Fetches

//  Keeps body bytes up to max_output (CURLOPT_WRITEFUNCTION). Past that,
//  marks the body truncated and returns less than it was given, which
//  makes libcurl stop the transfer (CURLE_WRITE_ERROR, taken as done).
static size_t
s_on_body (char *data, size_t size, size_t count, void *arg)
{
    zc_httpget_fetch_t *fetch = arg;
    size_t bytes = size * count;
    size_t room = fetch->max_output - fetch->size;
    size_t keep = bytes < room? bytes: room;
    if (fetch->size + keep > fetch->capacity) {
        size_t capacity = fetch->capacity? fetch->capacity: S_FIRST_CAPACITY;
        while (capacity < fetch->size + keep)
            capacity *= 2;
        if (capacity > fetch->max_output)
            capacity = fetch->max_output;
        fetch->body = zc_realloc (fetch->body, capacity);
        fetch->capacity = capacity;
    }
    if (keep)
        memcpy (fetch->body + fetch->size, data, keep);
    fetch->size += keep;
    if (keep < bytes) {
        fetch->truncated = true;
        return 0;
    }
    return bytes;
}

//  Takes a fetch's transfer off the loop: it ends, nothing more is read.
static void
s_detach (zc_httpget_fetch_t *fetch)
{
    if (fetch->easy) {
        s_curl->multi_remove_handle (fetch->client->multi, fetch->easy);
        s_curl->easy_cleanup (fetch->easy);
        fetch->easy = NULL;
    }
    s_curl->url_cleanup (fetch->url);      //  only after the easy handle that used it
    fetch->url = NULL;
}

//  The result of a fetch that has ended with libcurl's 'code' (the
//  transfer not yet detached), taking over its body.
static zc_result_t *
s_result (zc_httpget_fetch_t *fetch, CURLcode code)
{
    zc_result_t *result = zc_result_new ();
    result->started_ms = fetch->started_ms;
    result->finished_ms = zc_wall_ms ();
    long status = 0;
    if (s_curl->easy_getinfo (fetch->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK
    &&  status >= 100 && status <= 999)
        result->http_status = (int) status;
    result->out = fetch->body;
    result->out_size = fetch->size;
    result->stdout_truncated = fetch->truncated;
    fetch->body = NULL;
    fetch->size = fetch->capacity = 0;
    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && fetch->truncated)) {
        result->state = ZC_STATE_DONE;
        result->exit_code = status >= 200 && status <= 299? 0: 1;
        return result;
    }
    result->state = ZC_STATE_FAILED;
    const char *reason = *fetch->error? fetch->error: s_curl->easy_strerror (code);
    if (code == CURLE_OPERATION_TIMEDOUT)
        result->error = zsys_sprintf ("http_get timed out after %g s (method_timeout): %s",
                                      fetch->timeout, reason);
    else
        result->error = zsys_sprintf ("http_get failed: %s", reason);
    return result;
}

//  Hands each transfer that has ended to its fetch's done callback.
static void
s_reap (zc_httpget_t *self)
{
    CURLMsg *message;
    int left;
    while ((message = s_curl->multi_info_read (self->multi, &left))) {
        if (message->msg != CURLMSG_DONE)
            continue;
        char *private = NULL;
        s_curl->easy_getinfo (message->easy_handle, CURLINFO_PRIVATE, &private);
        zc_httpget_fetch_t *fetch = (zc_httpget_fetch_t *) private;
        zc_result_t *result = s_result (fetch, message->data.result);
        s_detach (fetch);           //  'message' is gone from here on
        fetch->done (fetch, result, fetch->arg);
    }
}

zc_httpget_fetch_t *
zc_httpget_start (zc_httpget_t *self, const char *url, double timeout, size_t max_output,
                  zc_httpget_done_fn *done, void *arg, char **error)
{
    CURLU *parsed;
    *error = s_parse (url, &parsed);
    if (*error)
        return NULL;
    zc_httpget_fetch_t *fetch = zc_calloc (1, sizeof *fetch);
    fetch->client = self;
    fetch->url = parsed;
    fetch->timeout = timeout;
    fetch->max_output = max_output;
    fetch->done = done;
    fetch->arg = arg;
    fetch->started_ms = zc_wall_ms ();
    self->fetches++;
    fetch->easy = s_curl->easy_init ();
    CURL *easy = fetch->easy;
    CURLcode code = easy? CURLE_OK: CURLE_OUT_OF_MEMORY;
    //  One option after the other, while they are taken.
#define S_SET(option, value) \
    if (code == CURLE_OK) code = s_curl->easy_setopt (easy, option, value)
    S_SET (CURLOPT_CURLU, parsed);
    S_SET (CURLOPT_PROTOCOLS_STR, S_PROTOCOLS);
    S_SET (CURLOPT_REDIR_PROTOCOLS_STR, S_PROTOCOLS);
    S_SET (CURLOPT_FOLLOWLOCATION, 1L);
    S_SET (CURLOPT_MAXREDIRS, (long) ZC_HTTPGET_MAX_REDIRECTS);
    S_SET (CURLOPT_TIMEOUT_MS, timeout * 1000 < (double) LONG_MAX? (long) (timeout * 1000): LONG_MAX);
    S_SET (CURLOPT_NOSIGNAL, 1L);
    S_SET (CURLOPT_FORBID_REUSE, 1L);
    S_SET (CURLOPT_USERAGENT, S_USER_AGENT);
    S_SET (CURLOPT_WRITEFUNCTION, s_on_body);
    S_SET (CURLOPT_WRITEDATA, fetch);
    S_SET (CURLOPT_ERRORBUFFER, fetch->error);
    S_SET (CURLOPT_PRIVATE, (void *) fetch);
#undef S_SET
    CURLMcode added = code == CURLE_OK? s_curl->multi_add_handle (self->multi, easy): CURLM_OK;
    if (code != CURLE_OK || added != CURLM_OK) {
        *error = zsys_sprintf ("http_get: cannot set up the transfer: %s",
                               code != CURLE_OK? s_curl->easy_strerror (code): s_curl->multi_strerror (added));
        zc_httpget_fetch_destroy (&fetch);
    }
    return fetch;
}

void
zc_httpget_interrupt (zc_httpget_fetch_t *fetch)
{
    if (!fetch->easy)
        return;
    zc_result_t *result = s_result (fetch, CURLE_ABORTED_BY_CALLBACK);
    result->state = ZC_STATE_INTERRUPTED;
    free (result->error);
    result->error = zc_strdup ("agent stopped while the job ran");
    s_detach (fetch);
    fetch->done (fetch, result, fetch->arg);
}

void
zc_httpget_fetch_destroy (zc_httpget_fetch_t **fetch_p)
{
    if (*fetch_p) {
        zc_httpget_fetch_t *fetch = *fetch_p;
        s_detach (fetch);
        fetch->client->fetches--;
        free (fetch->body);
        free (fetch);
        *fetch_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Self-test: a small HTTP server on the same loop, on 127.0.0.1.

#define S_TEST_CONNECTIONS 8

typedef struct {
    zloop_t *loop;
    int listener;
    int port;
    int fds [S_TEST_CONNECTIONS];               //  -1: free
    char requests [S_TEST_CONNECTIONS][512];
    size_t sizes [S_TEST_CONNECTIONS];
    int held;                   //  requests for /slow, never answered
    int served;
} s_test_server_t;

static void
s_test_close (s_test_server_t *server, int slot)
{
    zmq_pollitem_t item = { NULL, server->fds [slot], 0, 0 };
    zloop_poller_end (server->loop, &item);
    close (server->fds [slot]);
    server->fds [slot] = -1;
}

//  Answers a request by its path.
static void
s_test_answer (s_test_server_t *server, int slot)
{
    char path [128] = "";
    sscanf (server->requests [slot], "GET %127s", path);
    char head [256];
    const char *status = "200 OK", *location = NULL;
    char body [5000];
    size_t body_size = 0;
    if (streq (path, "/slow")) {
        server->held++;
        return;
    }
    if (streq (path, "/ok"))
        body_size = (size_t) snprintf (body, sizeof body, "hello\n");
    else
    if (streq (path, "/big")) {
        memset (body, 'x', sizeof body);
        body_size = sizeof body;
    }
    else
    if (streq (path, "/redirect"))
        status = "302 Found", location = "/ok";
    else
    if (streq (path, "/loop"))
        status = "302 Found", location = "/loop";
    else
    if (streq (path, "/to-ftp"))
        status = "302 Found", location = "ftp://127.0.0.1/x";
    else {
        status = "404 Not Found";
        body_size = (size_t) snprintf (body, sizeof body, "no such page\n");
    }
    if (location)
        body_size = (size_t) snprintf (body, sizeof body, "moved\n");
    int head_size = snprintf (head, sizeof head, "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%s%s%s"
                              "Connection: close\r\n\r\n", status, body_size,
                              location? "Location: ": "", location? location: "", location? "\r\n": "");
    if (send (server->fds [slot], head, (size_t) head_size, MSG_NOSIGNAL) == head_size)
        send (server->fds [slot], body, body_size, MSG_NOSIGNAL);
    server->served++;
    s_test_close (server, slot);
}

static int
s_test_on_request (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_test_server_t *server = arg;
    int slot = 0;
    while (slot < S_TEST_CONNECTIONS && server->fds [slot] != item->fd)
        slot++;
    if (slot == S_TEST_CONNECTIONS)
        return 0;               //  a stale event of a closed connection
    size_t room = sizeof server->requests [slot] - 1 - server->sizes [slot];
    ssize_t got = recv (item->fd, server->requests [slot] + server->sizes [slot], room, MSG_DONTWAIT);
    if (got <= 0) {
        if (got == 0 || (errno != EAGAIN && errno != EINTR))
            s_test_close (server, slot);
        return 0;
    }
    server->sizes [slot] += (size_t) got;
    server->requests [slot][server->sizes [slot]] = 0;
    if (strstr (server->requests [slot], "\r\n\r\n"))
        s_test_answer (server, slot);
    return 0;
}

static int
s_test_on_connection (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_test_server_t *server = arg;
    int fd = accept (server->listener, NULL, NULL);
    int slot = 0;
    while (slot < S_TEST_CONNECTIONS && server->fds [slot] != -1)
        slot++;
    if (fd == -1)
        return 0;
    if (slot == S_TEST_CONNECTIONS) {
        close (fd);
        return 0;
    }
    server->fds [slot] = fd;
    server->sizes [slot] = 0;
    zmq_pollitem_t request = { NULL, fd, ZMQ_POLLIN, 0 };
    zloop_poller (loop, &request, s_test_on_request, server);
    return 0;
}

//  A listening socket on 127.0.0.1, its port in *port; -1 on failure.
static int
s_test_listen (int *port)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t length = sizeof address;
    if (fd == -1
    ||  bind (fd, (struct sockaddr *) &address, sizeof address) != 0
    ||  listen (fd, 16) != 0
    ||  getsockname (fd, (struct sockaddr *) &address, &length) != 0) {
        if (fd != -1)
            close (fd);
        return -1;
    }
    *port = ntohs (address.sin_port);
    return fd;
}

typedef struct {
    zc_result_t *result;
    int calls;
    s_test_server_t *server;
    int held;                   //  stop the loop once the server holds this many
} s_test_outcome_t;

static void
s_test_done (zc_httpget_fetch_t *fetch, zc_result_t *result, void *arg)
{
    s_test_outcome_t *outcome = arg;
    outcome->calls++;
    zc_result_destroy (&outcome->result);
    outcome->result = result;
    zc_httpget_fetch_destroy (&fetch);
}

//  Ends the loop once the fetch has ended (or the server holds a /slow).
static int
s_test_check (zloop_t *loop, int timer_id, void *arg)
{
    s_test_outcome_t *outcome = arg;
    return outcome->calls || (outcome->held && outcome->server->held >= outcome->held)? -1: 0;
}

//  Runs the loop until the outcome is in, 10 s at most.
static void
s_test_run (zloop_t *loop, s_test_outcome_t *outcome)
{
    int check = zloop_timer (loop, 5, 0, s_test_check, outcome);
    int guard = zloop_timer (loop, 10000, 1, s_test_check, outcome);
    zloop_start (loop);
    zloop_timer_end (loop, check);
    zloop_timer_end (loop, guard);
}

//  Fetches 'path' of the test server; the outcome's result is the fetch's.
static zc_result_t *
s_test_fetch (zc_httpget_t *client, s_test_outcome_t *outcome, const char *path, double timeout,
              size_t max_output)
{
    char url [128];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", outcome->server->port, path);
    outcome->calls = 0;
    outcome->held = 0;
    zc_result_destroy (&outcome->result);
    char *error = NULL;
    zc_httpget_fetch_t *fetch = zc_httpget_start (client, url, timeout, max_output, s_test_done,
                                                  outcome, &error);
    if (!fetch) {
        printf ("# cannot fetch %s: %s\n", url, error);
        free (error);
        return NULL;
    }
    s_test_run (client->loop, outcome);
    return outcome->result;
}

static bool
s_test_body_is (const zc_result_t *result, const char *text)
{
    return result && result->out_size == strlen (text) && memcmp (result->out, text, result->out_size) == 0;
}

int
zc_httpget_test (bool verbose)
{
    ZC_TEST_BEGIN;

    //  Only http and https URLs are fetched; the check names the problem.
    struct { const char *url, *problem; } urls [] = {
        { "http://127.0.0.1:8080/status", NULL },
        { "https://example.com", NULL },
        { "HTTP://Example.COM/a?b=c#d", NULL },
        { "file:///etc/passwd", S_SCHEME_PROBLEM },
        { "ftp://example.com/x", S_SCHEME_PROBLEM },
        { "gopher://example.com/", S_SCHEME_PROBLEM },
        { "dict://example.com/", S_SCHEME_PROBLEM },
        { "example.com/index.html", S_SCHEME_PROBLEM },
        { " http://example.com", S_SCHEME_PROBLEM },
        { "", S_SCHEME_PROBLEM },
        { "http://", "http_get: bad URL: No host part in the URL" },
        { "http://exa mple.com/", "http_get: bad URL: " },
        { "http://[::1/", "http_get: bad URL: " },
    };
    for (size_t index = 0; index < sizeof urls / sizeof urls [0]; index++) {
        char *problem = zc_httpget_url_check (urls [index].url);
        if (!urls [index].problem)
            ZC_CHECK (problem == NULL);
        else
        if (!problem || strncmp (problem, urls [index].problem, strlen (urls [index].problem)) != 0) {
            printf ("# %s: got \"%s\"\n", urls [index].url, problem? problem: "(fetchable)");
            ZC_CHECK (false);
        }
        free (problem);
    }

    //  What a policy judges: the URL as it is fetched, without what
    //  could pass one host off as another.
    struct { const char *url, *normal; } normals [] = {
        { "HTTP://Example.COM:80/a/../b/./c?x=1&y#part", "http://Example.COM:80/b/c?x=1&y" },
        { "http://127.0.0.1:8080@evil.example/health", "http://evil.example/health" },
        { "https://user:secret@host/x", "https://host/x" },
        { "http://127.0.0.1:8080/health/../admin", "http://127.0.0.1:8080/admin" },
        { "http://host", "http://host/" },
        { "ftp://host/x", NULL },
        { "http://", NULL },
    };
    for (size_t index = 0; index < sizeof normals / sizeof normals [0]; index++) {
        char *normal = zc_httpget_url_normal (normals [index].url);
        if (normals [index].normal)
            ZC_CHECK_STR (normal, normals [index].normal);
        else
            ZC_CHECK (normal == NULL);
        free (normal);
    }

    zloop_t *loop = zloop_new ();
    const char *why = NULL;
    zc_httpget_t *client = zc_httpget_new (loop, &why);
    ZC_CHECK (client != NULL && why == NULL);
    s_test_server_t server = { .loop = loop };
    for (int slot = 0; slot < S_TEST_CONNECTIONS; slot++)
        server.fds [slot] = -1;
    server.listener = s_test_listen (&server.port);
    ZC_CHECK (server.listener != -1);
    zmq_pollitem_t listening = { NULL, server.listener, ZMQ_POLLIN, 0 };
    zloop_poller (loop, &listening, s_test_on_connection, &server);
    s_test_outcome_t outcome = { .server = &server };

    //  A 200: the body, the status, exit 0.
    zc_result_t *result = s_test_fetch (client, &outcome, "/ok", 5, 1024);
    ZC_CHECK (outcome.calls == 1);
    ZC_CHECK (result && result->state == ZC_STATE_DONE && result->exit_code == 0
           && result->http_status == 200 && !result->stdout_truncated && !result->error);
    ZC_CHECK (s_test_body_is (result, "hello\n"));
    ZC_CHECK (result && result->started_ms && result->finished_ms >= result->started_ms);

    //  A 404 is a response: done, exit 1, the body kept.
    result = s_test_fetch (client, &outcome, "/missing", 5, 1024);
    ZC_CHECK (result && result->state == ZC_STATE_DONE && result->exit_code == 1
           && result->http_status == 404 && !result->error);
    ZC_CHECK (s_test_body_is (result, "no such page\n"));

    //  A body over max_output is cut there, and said to be.
    result = s_test_fetch (client, &outcome, "/big", 5, 1024);
    ZC_CHECK (result && result->state == ZC_STATE_DONE && result->exit_code == 0
           && result->http_status == 200 && result->stdout_truncated && result->out_size == 1024);
    result = s_test_fetch (client, &outcome, "/big", 5, 5000);
    ZC_CHECK (result && result->state == ZC_STATE_DONE && !result->stdout_truncated
           && result->out_size == 5000);

    //  Redirects are followed, up to 5, and only to http or https.
    result = s_test_fetch (client, &outcome, "/redirect", 5, 1024);
    ZC_CHECK (result && result->state == ZC_STATE_DONE && result->http_status == 200);
    ZC_CHECK (s_test_body_is (result, "hello\n"));
    result = s_test_fetch (client, &outcome, "/loop", 5, 1024);
    ZC_CHECK (result && result->state == ZC_STATE_FAILED && result->error
           && strstr (result->error, "http_get failed: ") && strstr (result->error, "redirects"));
    int served = server.served;
    result = s_test_fetch (client, &outcome, "/to-ftp", 5, 1024);
    ZC_CHECK (result && result->state == ZC_STATE_FAILED && result->error && strstr (result->error, "ftp"));
    ZC_CHECK (server.served == served + 1);
    if (verbose && result)
        printf ("# redirect to ftp: %s\n", result->error);

    //  A server that never answers: failed when the timeout passes.
    int64_t started = zclock_mono ();
    result = s_test_fetch (client, &outcome, "/slow", 0.5, 1024);
    int64_t took = zclock_mono () - started;
    ZC_CHECK (result && result->state == ZC_STATE_FAILED && result->http_status == 0);
    ZC_CHECK (result && result->error
           && strncmp (result->error, "http_get timed out after 0.5 s (method_timeout): ", 49) == 0);
    ZC_CHECK (took >= 400 && took < 3000);

    //  Nothing listens: failed, with libcurl's reason.
    int closed_port;
    int closed = s_test_listen (&closed_port);
    close (closed);
    char url [64];
    snprintf (url, sizeof url, "http://127.0.0.1:%d/", closed_port);
    char *error = NULL;
    outcome.calls = 0;
    zc_httpget_fetch_t *fetch = zc_httpget_start (client, url, 5, 1024, s_test_done, &outcome, &error);
    ZC_CHECK (fetch && outcome.calls == 0);
    if (fetch)
        s_test_run (loop, &outcome);
    result = outcome.result;
    ZC_CHECK (result && result->state == ZC_STATE_FAILED && result->error
           && strncmp (result->error, "http_get failed: ", 17) == 0);
    if (verbose && result)
        printf ("# refused: %s\n", result->error);

    //  A URL of another scheme never starts.
    outcome.calls = 0;
    fetch = zc_httpget_start (client, "file:///etc/passwd", 5, 1024, s_test_done, &outcome, &error);
    ZC_CHECK (fetch == NULL && outcome.calls == 0);
    ZC_CHECK_STR (error, S_SCHEME_PROBLEM);
    zstr_free (&error);

    //  Interrupted while it waits: done at once, as interrupted.
    snprintf (url, sizeof url, "http://127.0.0.1:%d/slow", server.port);
    outcome.calls = 0;
    fetch = zc_httpget_start (client, url, 30, 1024, s_test_done, &outcome, &error);
    ZC_CHECK (fetch != NULL);
    outcome.held = server.held + 1;
    s_test_run (loop, &outcome);
    ZC_CHECK (server.held == outcome.held && outcome.calls == 0);
    if (fetch && outcome.calls == 0)
        zc_httpget_interrupt (fetch);       //  which destroys it (s_test_done)
    ZC_CHECK (outcome.calls == 1);
    result = outcome.result;
    ZC_CHECK (result && result->state == ZC_STATE_INTERRUPTED);
    ZC_CHECK_STR (result? result->error: NULL, "agent stopped while the job ran");

    //  Destroyed while it runs: stopped, and nothing is called.
    outcome.calls = 0;
    fetch = zc_httpget_start (client, url, 30, 1024, s_test_done, &outcome, &error);
    ZC_CHECK (fetch != NULL);
    outcome.held = server.held + 1;
    s_test_run (loop, &outcome);
    ZC_CHECK (server.held == outcome.held);
    zc_httpget_fetch_destroy (&fetch);
    ZC_CHECK (outcome.calls == 0);

    //  The loop still serves after all that.
    result = s_test_fetch (client, &outcome, "/ok", 5, 1024);
    ZC_CHECK (s_test_body_is (result, "hello\n"));

    zc_result_destroy (&outcome.result);
    zc_httpget_destroy (&client);
    ZC_CHECK (client == NULL);
    for (int slot = 0; slot < S_TEST_CONNECTIONS; slot++)
        if (server.fds [slot] != -1)
            s_test_close (&server, slot);
    zloop_poller_end (loop, &listening);
    close (server.listener);
    zloop_destroy (&loop);
    return ZC_TEST_END;
}
