/*  httpserve.c — a tiny HTTP responder for one page (see httpserve.h).

    Each connection reads its request head into a bounded buffer, is
    answered once, in full, and closed: after the answer is written the
    server shuts its sending side and reads what the client still sends
    until it closes (closing with unread input would reset the
    connection, and a client could lose the answer).
*/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "prelude.h"
#include "httpserve.h"
#include "log.h"
#include "testing.h"

typedef enum { S_READING, S_WRITING, S_DRAINING } s_stage_t;

typedef struct {
    zc_httpserve_t *server;
    zmq_pollitem_t item;
    int timer_id;               //  or -1 once it fired
    s_stage_t stage;
    char in [ZC_HTTPSERVE_MAX_REQUEST + 1];
    size_t in_size;
    char *out;
    size_t out_size, out_sent;
} s_conn_t;

struct _zc_httpserve_t {
    zloop_t *loop;
    zmq_pollitem_t item;        //  the listening socket
    char *path, *content_type;
    char address [80];
    zc_httpserve_page_fn *page;
    void *arg;
    zlist_t *conns;             //  s_conn_t
    int timeout_ms;
};

//  Parses HOST:PORT into 'where'. NULL when good, else why not.
static const char *
s_parse (const char *address, struct sockaddr_storage *where, socklen_t *size, bool *loopback)
{
    const char *colon = strrchr (address, ':');
    if (!colon || colon == address)
        return "expected HOST:PORT, e.g. 127.0.0.1:9710";
    const char *port = colon + 1;
    size_t digits = strspn (port, "0123456789");
    if (digits == 0 || digits > 5 || port [digits] || atoi (port) > 65535)
        return "PORT must be a number from 0 (any free port) to 65535";
    char host [64];
    size_t host_size = (size_t) (colon - address);
    bool bracketed = address [0] == '[';
    if (bracketed && (host_size < 3 || address [host_size - 1] != ']'))
        return "an IPv6 HOST goes in brackets, e.g. [::1]:9710";
    if (bracketed)
        address++, host_size -= 2;
    if (host_size >= sizeof host)
        return "HOST is too long";
    snprintf (host, sizeof host, "%.*s", (int) host_size, address);
    memset (where, 0, sizeof *where);
    if (bracketed) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) where;
        if (inet_pton (AF_INET6, host, &in6->sin6_addr) != 1)
            return "HOST is not an IPv6 address";
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons ((uint16_t) atoi (port));
        *size = sizeof *in6;
        *loopback = IN6_IS_ADDR_LOOPBACK (&in6->sin6_addr);
    }
    else {
        struct sockaddr_in *in = (struct sockaddr_in *) where;
        if (strchr (host, ':'))
            return "an IPv6 HOST goes in brackets, e.g. [::1]:9710";
        if (inet_pton (AF_INET, host, &in->sin_addr) != 1)
            return "HOST must be a numeric address, e.g. 127.0.0.1 or [::1] (no host names)";
        in->sin_family = AF_INET;
        in->sin_port = htons ((uint16_t) atoi (port));
        *size = sizeof *in;
        *loopback = (ntohl (in->sin_addr.s_addr) >> 24) == 127;
    }
    return NULL;
}

const char *
zc_httpserve_address_problem (const char *address, bool *loopback)
{
    struct sockaddr_storage where;
    socklen_t size;
    bool local = false;
    const char *problem = s_parse (address, &where, &size, &local);
    if (loopback)
        *loopback = local;
    return problem;
}

//  ---------------------------------------------------------------------
//  Connections

static int s_conn_event (zloop_t *loop, zmq_pollitem_t *item, void *arg);

static void
s_conn_destroy (s_conn_t *conn)
{
    zc_httpserve_t *server = conn->server;
    zloop_poller_end (server->loop, &conn->item);
    if (conn->timer_id != -1)
        zloop_timer_end (server->loop, conn->timer_id);
    zlist_remove (server->conns, conn);
    close (conn->item.fd);
    free (conn->out);
    free (conn);
}

//  Watches the connection for 'events' from now on.
static void
s_conn_watch (s_conn_t *conn, short events)
{
    zloop_poller_end (conn->server->loop, &conn->item);
    conn->item.events = events;
    zloop_poller (conn->server->loop, &conn->item, s_conn_event, conn);
    zloop_poller_set_tolerant (conn->server->loop, &conn->item);
}

static int
s_conn_timeout (zloop_t *loop, int timer_id, void *arg)
{
    s_conn_t *conn = arg;
    conn->timer_id = -1;        //  a one-shot timer is gone once it fired
    s_conn_destroy (conn);
    return 0;
}

//  Queues an answer: status line, headers and (unless 'head') the body;
//  takes 'body'.
static void
s_conn_answer (s_conn_t *conn, const char *status, const char *type, char *body, size_t size,
               const char *extra, bool head)
{
    char *header = zsys_sprintf ("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                                 "Connection: close\r\n\r\n", status, type, size, extra? extra: "");
    size_t header_size = strlen (header);
    conn->out_size = header_size + (head? 0: size);
    conn->out = zc_malloc (conn->out_size + 1);
    memcpy (conn->out, header, header_size);
    if (!head && size)
        memcpy (conn->out + header_size, body, size);
    free (header);
    free (body);
    conn->stage = S_WRITING;
    s_conn_watch (conn, ZMQ_POLLOUT);
}

//  An answer of a few words, as text.
static void
s_conn_error (s_conn_t *conn, const char *status, const char *text, const char *extra, bool head)
{
    char *body = zsys_sprintf ("%s\n", text);
    s_conn_answer (conn, status, "text/plain; charset=utf-8", body, strlen (body), extra, head);
}

int
zc_httpserve_request_line (char *line, char **method, char **target)
{
    char *space = strchr (line, ' ');
    char *version = space? strchr (space + 1, ' '): NULL;
    if (!space || space == line || !version || version == space + 1 || strchr (version + 1, ' ')
    ||  strncmp (version + 1, "HTTP/1.", 7) != 0 || (version [8] != '0' && version [8] != '1')
    ||  version [9])
        return -1;
    *space = 0;
    *version = 0;
    *method = line;
    *target = space + 1;
    return 0;
}

//  The request head is in: answers it.
static void
s_conn_request (s_conn_t *conn)
{
    zc_httpserve_t *server = conn->server;
    //  METHOD SP TARGET SP HTTP/1.x, then the headers (not needed).
    char *line_end = strpbrk (conn->in, "\r\n");
    *line_end = 0;
    char *method, *target;
    if (zc_httpserve_request_line (conn->in, &method, &target) != 0) {
        s_conn_error (conn, "400 Bad Request", "not an HTTP/1.0 or HTTP/1.1 request", NULL, false);
        return;
    }
    bool head = streq (method, "HEAD");
    if (!head && !streq (method, "GET")) {
        s_conn_error (conn, "405 Method Not Allowed", "only GET and HEAD are served here",
                      "Allow: GET, HEAD\r\n", false);
        return;
    }
    target [strcspn (target, "?")] = 0;
    if (!streq (target, server->path)) {
        char *text = zsys_sprintf ("not found: this server has only %s", server->path);
        s_conn_error (conn, "404 Not Found", text, NULL, head);
        free (text);
        return;
    }
    size_t size = 0;
    char *body = server->page (&size, server->arg);
    s_conn_answer (conn, "200 OK", server->content_type, body, size, NULL, head);
}

//  True when the request head is complete (an empty line ends it).
static bool
s_head_complete (const char *in)
{
    return strstr (in, "\r\n\r\n") || strstr (in, "\n\n");
}

static int
s_conn_event (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_conn_t *conn = arg;
    if (conn->stage == S_WRITING) {
        ssize_t rc = send (item->fd, conn->out + conn->out_sent, conn->out_size - conn->out_sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (rc == -1 && errno != EAGAIN && errno != EINTR) {
            s_conn_destroy (conn);
            return 0;
        }
        if (rc > 0)
            conn->out_sent += (size_t) rc;
        if (conn->out_sent == conn->out_size) {
            shutdown (item->fd, SHUT_WR);
            conn->stage = S_DRAINING;
            s_conn_watch (conn, ZMQ_POLLIN);
        }
        return 0;
    }
    char discard [4096];
    bool reading = conn->stage == S_READING;
    char *into = reading? conn->in + conn->in_size: discard;
    size_t room = reading? ZC_HTTPSERVE_MAX_REQUEST - conn->in_size: sizeof discard;
    ssize_t rc = recv (item->fd, into, room, MSG_DONTWAIT);
    if (rc == 0 || (rc == -1 && errno != EAGAIN && errno != EINTR)) {
        s_conn_destroy (conn);          //  the client went, or is done reading
        return 0;
    }
    if (rc <= 0 || !reading)
        return 0;
    conn->in_size += (size_t) rc;
    conn->in [conn->in_size] = 0;
    if (memchr (conn->in, 0, conn->in_size))
        s_conn_error (conn, "400 Bad Request", "a request holds no NUL bytes", NULL, false);
    else
    if (s_head_complete (conn->in))
        s_conn_request (conn);
    else
    if (conn->in_size == ZC_HTTPSERVE_MAX_REQUEST)
        s_conn_error (conn, "431 Request Header Fields Too Large",
                      "a request head may have at most 8192 bytes", NULL, false);
    return 0;
}

static int
s_accept (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_httpserve_t *self = arg;
    int fd = accept4 (item->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd == -1)
        return 0;
    if (zlist_size (self->conns) >= ZC_HTTPSERVE_MAX_CLIENTS) {
        zc_debug ("metrics: closed a connection: %d are open already", ZC_HTTPSERVE_MAX_CLIENTS);
        close (fd);
        return 0;
    }
    s_conn_t *conn = zc_calloc (1, sizeof *conn);
    conn->server = self;
    conn->item = (zmq_pollitem_t) { .fd = fd, .events = ZMQ_POLLIN };
    zloop_poller (loop, &conn->item, s_conn_event, conn);
    zloop_poller_set_tolerant (loop, &conn->item);
    conn->timer_id = zloop_timer (loop, (size_t) self->timeout_ms, 1, s_conn_timeout, conn);
    zlist_append (self->conns, conn);
    return 0;
}

zc_httpserve_t *
zc_httpserve_new (zloop_t *loop, const char *address, const char *path, const char *content_type,
                  zc_httpserve_page_fn *page, void *arg, char **error)
{
    struct sockaddr_storage where;
    socklen_t size;
    bool loopback;
    const char *problem = s_parse (address, &where, &size, &loopback);
    if (problem) {
        zc_fail (error, "bad address '%s' (%s)", address, problem);
        return NULL;
    }
    int fd = socket (where.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int on = 1;
    if (fd == -1 || setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1
    ||  bind (fd, (struct sockaddr *) &where, size) == -1 || listen (fd, 16) == -1
    ||  getsockname (fd, (struct sockaddr *) &where, &size) == -1) {
        zc_fail (error, "cannot listen on %s: %s", address, strerror (errno));
        if (fd != -1)
            close (fd);
        return NULL;
    }
    zc_httpserve_t *self = zc_calloc (1, sizeof *self);
    self->loop = loop;
    self->path = zc_strdup (path);
    self->content_type = zc_strdup (content_type);
    self->page = page;
    self->arg = arg;
    self->conns = zlist_new ();
    self->timeout_ms = ZC_HTTPSERVE_TIMEOUT_MS;
    char host [INET6_ADDRSTRLEN];
    if (where.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &where;
        inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf (self->address, sizeof self->address, "[%s]:%u", host, ntohs (in6->sin6_port));
    }
    else {
        struct sockaddr_in *in = (struct sockaddr_in *) &where;
        inet_ntop (AF_INET, &in->sin_addr, host, sizeof host);
        snprintf (self->address, sizeof self->address, "%s:%u", host, ntohs (in->sin_port));
    }
    self->item = (zmq_pollitem_t) { .fd = fd, .events = ZMQ_POLLIN };
    zloop_poller (loop, &self->item, s_accept, self);
    zloop_poller_set_tolerant (loop, &self->item);
    return self;
}

void
zc_httpserve_destroy (zc_httpserve_t **self_p)
{
    zc_httpserve_t *self = *self_p;
    if (!self)
        return;
    while (zlist_size (self->conns))
        s_conn_destroy (zlist_first (self->conns));
    zlist_destroy (&self->conns);
    zloop_poller_end (self->loop, &self->item);
    close (self->item.fd);
    free (self->path);
    free (self->content_type);
    free (self);
    *self_p = NULL;
}

void
zc_httpserve_set_timeout (zc_httpserve_t *self, int timeout_ms)
{
    self->timeout_ms = timeout_ms;
}

const char *
zc_httpserve_address (zc_httpserve_t *self)
{
    return self->address;
}

void
zc_httpserve_note (zc_httpserve_t *self, const char *path)
{
    FILE *file = fopen (path, "w");
    if (!file || fprintf (file, "%s\n", self->address) < 0)
        zc_warn ("cannot write %s: %s", path, strerror (errno));
    if (file && fclose (file) != 0)
        zc_warn ("cannot write %s: %s", path, strerror (errno));
}

//  ---------------------------------------------------------------------
//  Self-test: a server in an actor's loop, clients here.

static char *
s_test_page (size_t *size, void *arg)
{
    int *served = arg;
    char *page = zsys_sprintf ("page %d\n", ++*served);
    *size = strlen (page);
    return page;
}

static int
s_test_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    zc_httpserve_t *server = arg;
    char *command = zstr_recv (pipe);
    bool term = !command || streq (command, "$TERM");
    //  OPEN: how many connections the server holds now.
    if (command && streq (command, "OPEN"))
        zstr_sendf (pipe, "%zu", server? zlist_size (server->conns): 0);
    zstr_free (&command);
    return term? -1: 0;
}

//  Runs a server on 127.0.0.1:0 with a 1 s timeout; sends its port.
static void
s_test_actor (zsock_t *pipe, void *args)
{
    zloop_t *loop = zloop_new ();
    int served = 0;
    char *error = NULL;
    zc_httpserve_t *server = zc_httpserve_new (loop, "127.0.0.1:0", "/metrics", "text/plain", s_test_page,
                                               &served, &error);
    free (error);
    if (server)
        zc_httpserve_set_timeout (server, 1000);
    zsock_signal (pipe, 0);
    const char *address = server? zc_httpserve_address (server): "";
    zstr_send (pipe, strchr (address, ':')? strchr (address, ':') + 1: "0");
    zloop_reader (loop, pipe, s_test_pipe, server);
    if (server)
        zloop_start (loop);
    zc_httpserve_destroy (&server);
    zloop_destroy (&loop);
}

//  True when the test server holds 'count' connections now.
static bool
s_test_open_is (zactor_t *actor, const char *count)
{
    zstr_send (actor, "OPEN");
    char *open = zstr_recv (actor);
    bool is = open && streq (open, count);
    zstr_free (&open);
    return is;
}

//  A connection to the test server (blocking, with a 4 s receive timeout).
static int
s_test_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in where = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    where.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    struct timeval wait = { .tv_sec = 4 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    if (connect (fd, (struct sockaddr *) &where, sizeof where) == -1) {
        close (fd);
        return -1;
    }
    return fd;
}

//  Reads until the server closes; returns what came (malloc'd).
static char *
s_test_read_all (int fd)
{
    char *text = zc_calloc (1, 65536);
    size_t size = 0;
    ssize_t rc;
    while (size < 65535 && (rc = recv (fd, text + size, 65535 - size, 0)) > 0)
        size += (size_t) rc;
    return text;
}

//  Sends 'request' on a new connection and returns the whole answer.
static char *
s_test_ask (int port, const char *request)
{
    int fd = s_test_connect (port);
    if (fd == -1)
        return zc_strdup ("");
    if (send (fd, request, strlen (request), MSG_NOSIGNAL) < 0)
        zc_debug ("test: send failed");
    char *answer = s_test_read_all (fd);
    close (fd);
    return answer;
}

int
zc_httpserve_test (bool verbose)
{
    ZC_TEST_BEGIN;
    //  Addresses
    bool loopback = false;
    ZC_CHECK (zc_httpserve_address_problem ("127.0.0.1:9710", &loopback) == NULL && loopback);
    ZC_CHECK (zc_httpserve_address_problem ("127.1.2.3:0", &loopback) == NULL && loopback);
    ZC_CHECK (zc_httpserve_address_problem ("[::1]:9710", &loopback) == NULL && loopback);
    ZC_CHECK (zc_httpserve_address_problem ("10.0.0.1:9710", &loopback) == NULL && !loopback);
    ZC_CHECK (zc_httpserve_address_problem ("0.0.0.0:9710", &loopback) == NULL && !loopback);
    ZC_CHECK (zc_httpserve_address_problem ("[::]:9710", &loopback) == NULL && !loopback);
    const char *bad [] = { "9710", ":9710", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x",
                           "localhost:9710", "::1:9710", "[::1:9710", "[]:9710", "[1.2.3.4]:9710",
                           "1.2.3:9710", "127.0.0.1:123456", "tcp://127.0.0.1:9710" };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        const char *problem = zc_httpserve_address_problem (bad [index], NULL);
        ZC_CHECK (problem != NULL);
        if (verbose && problem)
            printf ("# httpserve: %s: %s\n", bad [index], problem);
    }
    char *error = NULL;
    zloop_t *loop = zloop_new ();
    ZC_CHECK (zc_httpserve_new (loop, "localhost:1", "/", "text/plain", s_test_page, NULL, &error) == NULL);
    ZC_CHECK_STR (error, "bad address 'localhost:1' (HOST must be a numeric address, e.g. 127.0.0.1 or [::1] (no host names))");
    zstr_free (&error);
    zloop_destroy (&loop);

    zactor_t *actor = zactor_new (s_test_actor, NULL);
    char *port_text = zstr_recv (actor);
    int port = port_text? atoi (port_text): 0;
    zstr_free (&port_text);
    ZC_CHECK (port > 0);
    if (port <= 0) {
        //  No server to ask, nor to answer the actor's pipe.
        zactor_destroy (&actor);
        return ZC_TEST_END;
    }

    //  The page, by GET (twice: made each time) and HEAD.
    char *answer = s_test_ask (port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    ZC_CHECK (strncmp (answer, "HTTP/1.1 200 OK\r\n", 17) == 0);
    ZC_CHECK (strstr (answer, "\r\nContent-Type: text/plain\r\n") && strstr (answer, "\r\nContent-Length: 7\r\n"));
    ZC_CHECK (strstr (answer, "\r\n\r\npage 1\n") != NULL);
    free (answer);
    answer = s_test_ask (port, "GET /metrics?x=1 HTTP/1.0\n\n");
    ZC_CHECK (strstr (answer, "\r\n\r\npage 2\n") != NULL);
    free (answer);
    answer = s_test_ask (port, "HEAD /metrics HTTP/1.1\r\n\r\n");
    ZC_CHECK (strncmp (answer, "HTTP/1.1 200 OK\r\n", 17) == 0 && strstr (answer, "page") == NULL);
    free (answer);
    //  Other paths and methods, and what is not HTTP.
    answer = s_test_ask (port, "GET / HTTP/1.1\r\n\r\n");
    ZC_CHECK (strncmp (answer, "HTTP/1.1 404 Not Found\r\n", 24) == 0
              && strstr (answer, "not found: this server has only /metrics\n"));
    free (answer);
    answer = s_test_ask (port, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    ZC_CHECK (strncmp (answer, "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0
              && strstr (answer, "\r\nAllow: GET, HEAD\r\n"));
    free (answer);
    //  The request line alone: a version cut short ("HTTP/1.") is not
    //  read past its end.
    const char *lines [] = { "GET / HTTP/1.", "GET / HTTP/1.2", " / HTTP/1.1", "GET / HTTP/1.1 ",
                             "GET /x HTTP/1.0" };
    for (size_t index = 0; index < sizeof lines / sizeof lines [0]; index++) {
        char *line = zc_strdup (lines [index]), *method = NULL, *target = NULL;
        int rc = zc_httpserve_request_line (line, &method, &target);
        ZC_CHECK (index < 4? rc == -1: rc == 0 && streq (method, "GET") && streq (target, "/x"));
        free (line);
    }
    const char *garbage [] = { "hello\r\n\r\n", "GET /metrics\r\n\r\n", "GET /metrics HTTP/2.0\r\n\r\n",
                               "GET  HTTP/1.1\r\n\r\n", "GET /metrics HTTP/1.1 x\r\n\r\n" };
    for (size_t index = 0; index < sizeof garbage / sizeof garbage [0]; index++) {
        answer = s_test_ask (port, garbage [index]);
        ZC_CHECK (strncmp (answer, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
        free (answer);
    }
    //  A request head too large: 431, and the rest it sends is read
    //  and dropped until it closes.
    char *large = zc_malloc (20000);
    memset (large, 'a', 19999);
    large [19999] = 0;
    answer = s_test_ask (port, large);
    ZC_CHECK (strncmp (answer, "HTTP/1.1 431 ", 13) == 0);
    free (answer);
    free (large);
    //  Bounded: beyond 16 connections, more are closed at once; a silent
    //  one is closed after its timeout (1 s), and the server serves on.
    //  "At once" is well before any timeout (a loaded machine may take a
    //  while to turn the server's loop). The server must first have seen
    //  the earlier clients leave, or one of them would still count.
    for (int tries = 0; tries < 100 && !s_test_open_is (actor, "0"); tries++)
        zclock_sleep (50);
    ZC_CHECK (s_test_open_is (actor, "0"));
    int fds [ZC_HTTPSERVE_MAX_CLIENTS + 1];
    for (int index = 0; index <= ZC_HTTPSERVE_MAX_CLIENTS; index++)
        fds [index] = s_test_connect (port);
    int64_t started = zclock_mono ();
    answer = s_test_read_all (fds [ZC_HTTPSERVE_MAX_CLIENTS]);
    ZC_CHECK (*answer == 0 && zclock_mono () - started < 800);
    free (answer);
    answer = s_test_read_all (fds [0]);
    int64_t waited = zclock_mono () - started;
    ZC_CHECK (*answer == 0 && waited >= 800 && waited < 3900);
    free (answer);
    for (int index = 0; index <= ZC_HTTPSERVE_MAX_CLIENTS; index++)
        if (fds [index] != -1)
            close (fds [index]);
    answer = s_test_ask (port, "GET /metrics HTTP/1.1\r\n\r\n");
    ZC_CHECK (strstr (answer, "\r\n\r\npage 4\n") != NULL);
    free (answer);
    if (verbose)
        printf ("# httpserve: a silent client was closed after %" PRId64 " ms\n", waited);
    zactor_destroy (&actor);
    return ZC_TEST_END;
}
