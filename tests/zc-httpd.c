/*  zc-httpd.c — a small HTTP server for the http_get tests.

        zc-httpd --port-file FILE [--log FILE] [--big BYTES]

    Listens on 127.0.0.1, on a port the kernel picks, and writes that port
    to --port-file (atomically: a temporary file renamed), so a test can
    wait for it. Answers each GET by its path, then closes the connection:
        /ok         200, "hello from zc-httpd\n"
        /binary     200, 8 bytes that are not UTF-8: 00 FF FE 80 C3 28 0A 01
        /big        200, --big bytes (default 65536) of "0123456789ABCDE\n"
        /redirect   302 to /ok
        /redirect-file  302 to file:///etc/passwd
        /loop       302 to /loop, for ever
        /slow       nothing: the connection is held until the client
                    closes it
        /fail       500, "it broke\n"
        others      404, "no such page: PATH\n"
    With --log, each request's first line (as "GET /ok") is appended to
    FILE as it comes. SIGTERM and SIGINT end it (status 0); it exits 1 when
    it cannot start, 2 on a usage error. Single-threaded: one poll loop,
    non-blocking sockets, at most 64 connections at a time. Only libc.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_CONNECTIONS   64
#define S_REQUEST_MAX   4096

typedef struct {
    int fd;                     //  -1: a free slot
    char request [S_REQUEST_MAX + 1];
    size_t request_size;
    char *out;                  //  the answer, while it is being sent
    size_t out_size, out_sent;
    bool held;                  //  /slow: never answered
} s_connection_t;

static volatile sig_atomic_t s_stop;
static s_connection_t s_connections [S_CONNECTIONS];
static FILE *s_log;
static size_t s_big = 65536;

static void
s_on_signal (int signal_number)
{
    s_stop = 1;
}

static void
s_close (s_connection_t *connection)
{
    close (connection->fd);
    free (connection->out);
    memset (connection, 0, sizeof *connection);
    connection->fd = -1;
}

//  Builds the answer to a request whose head is complete.
static void
s_answer (s_connection_t *connection)
{
    char path [1024] = "";
    if (sscanf (connection->request, "GET %1023s", path) != 1)
        snprintf (path, sizeof path, "?");
    if (s_log) {
        fprintf (s_log, "GET %s\n", path);
        fflush (s_log);
    }
    if (strcmp (path, "/slow") == 0) {
        connection->held = true;
        return;
    }
    const char *status = "200 OK", *location = NULL;
    char *body = NULL;
    size_t body_size = 0;
    if (strcmp (path, "/ok") == 0)
        body_size = (size_t) asprintf (&body, "hello from zc-httpd\n");
    else
    if (strcmp (path, "/binary") == 0) {
        body_size = 8;
        body = malloc (body_size);
        memcpy (body, "\x00\xff\xfe\x80\xc3\x28\x0a\x01", body_size);
    }
    else
    if (strcmp (path, "/big") == 0) {
        body_size = s_big;
        body = malloc (body_size? body_size: 1);
        for (size_t index = 0; index < body_size; index++)
            body [index] = "0123456789ABCDE\n" [index % 16];
    }
    else
    if (strcmp (path, "/redirect") == 0)
        status = "302 Found", location = "/ok";
    else
    if (strcmp (path, "/redirect-file") == 0)
        status = "302 Found", location = "file:///etc/passwd";
    else
    if (strcmp (path, "/loop") == 0)
        status = "302 Found", location = "/loop";
    else
    if (strcmp (path, "/fail") == 0) {
        status = "500 Internal Server Error";
        body_size = (size_t) asprintf (&body, "it broke\n");
    }
    else {
        status = "404 Not Found";
        body_size = (size_t) asprintf (&body, "no such page: %s\n", path);
    }
    if (location)
        body_size = (size_t) asprintf (&body, "moved to %s\n", location);
    char *head = NULL;
    int head_size = asprintf (&head, "HTTP/1.1 %s\r\nContent-Type: application/octet-stream\r\n"
                              "Content-Length: %zu\r\n%s%s%sConnection: close\r\n\r\n",
                              status, body_size, location? "Location: ": "",
                              location? location: "", location? "\r\n": "");
    if (head_size < 0 || !body) {
        fprintf (stderr, "zc-httpd: out of memory\n");
        exit (1);
    }
    connection->out = malloc ((size_t) head_size + body_size);
    if (!connection->out) {
        fprintf (stderr, "zc-httpd: out of memory\n");
        exit (1);
    }
    memcpy (connection->out, head, (size_t) head_size);
    memcpy (connection->out + head_size, body, body_size);
    connection->out_size = (size_t) head_size + body_size;
    free (head);
    free (body);
}

//  Reads what came; answers once the request's head is in. Closes the
//  connection on end of stream or error.
static void
s_read (s_connection_t *connection)
{
    char scrap [4096];
    bool full = connection->request_size == S_REQUEST_MAX;
    ssize_t got = full? recv (connection->fd, scrap, sizeof scrap, 0)
                : recv (connection->fd, connection->request + connection->request_size,
                        S_REQUEST_MAX - connection->request_size, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        s_close (connection);
        return;
    }
    if (got < 0 || full || connection->out || connection->held)
        return;
    connection->request_size += (size_t) got;
    connection->request [connection->request_size] = 0;
    if (strstr (connection->request, "\r\n\r\n") || connection->request_size == S_REQUEST_MAX)
        s_answer (connection);
}

//  Sends what is left of the answer; closes once it is all sent, or when
//  the client went away.
static void
s_write (s_connection_t *connection)
{
    ssize_t sent = send (connection->fd, connection->out + connection->out_sent,
                         connection->out_size - connection->out_sent, MSG_NOSIGNAL);
    if (sent < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (sent < 0) {
        s_close (connection);
        return;
    }
    connection->out_sent += (size_t) sent;
    if (connection->out_sent == connection->out_size) {
        shutdown (connection->fd, SHUT_WR);
        s_close (connection);
    }
}

//  Writes text to path through a temporary file renamed into place.
static int
s_write_atomic (const char *path, const char *text)
{
    char temporary [4096];
    snprintf (temporary, sizeof temporary, "%s.tmp", path);
    FILE *file = fopen (temporary, "w");
    if (!file)
        return -1;
    fputs (text, file);
    if (fclose (file) != 0)
        return -1;
    return rename (temporary, path);
}

int
main (int argc, char *argv [])
{
    const char *port_file = NULL, *log_file = NULL;
    for (int index = 1; index < argc; index++) {
        bool has_value = index + 1 < argc;
        if (strcmp (argv [index], "--port-file") == 0 && has_value)
            port_file = argv [++index];
        else
        if (strcmp (argv [index], "--log") == 0 && has_value)
            log_file = argv [++index];
        else
        if (strcmp (argv [index], "--big") == 0 && has_value)
            s_big = (size_t) strtoul (argv [++index], NULL, 10);
        else {
            fprintf (stderr, "usage: zc-httpd --port-file FILE [--log FILE] [--big BYTES]\n");
            return 2;
        }
    }
    if (!port_file) {
        fprintf (stderr, "usage: zc-httpd --port-file FILE [--log FILE] [--big BYTES]\n");
        return 2;
    }
    if (log_file && !(s_log = fopen (log_file, "a"))) {
        fprintf (stderr, "zc-httpd: cannot open %s: %s\n", log_file, strerror (errno));
        return 1;
    }
    struct sigaction action = { .sa_handler = s_on_signal };
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
    signal (SIGPIPE, SIG_IGN);

    int listener = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t length = sizeof address;
    char port [16];
    if (listener == -1
    ||  bind (listener, (struct sockaddr *) &address, sizeof address) != 0
    ||  listen (listener, 64) != 0
    ||  getsockname (listener, (struct sockaddr *) &address, &length) != 0
    ||  snprintf (port, sizeof port, "%d\n", ntohs (address.sin_port)) < 0
    ||  s_write_atomic (port_file, port) != 0) {
        fprintf (stderr, "zc-httpd: cannot listen on 127.0.0.1 or write %s: %s\n", port_file, strerror (errno));
        return 1;
    }
    for (int slot = 0; slot < S_CONNECTIONS; slot++)
        s_connections [slot].fd = -1;

    while (!s_stop) {
        struct pollfd polled [S_CONNECTIONS + 1];
        int slots [S_CONNECTIONS + 1];
        nfds_t count = 0;
        polled [count] = (struct pollfd) { .fd = listener, .events = POLLIN };
        slots [count++] = -1;
        for (int slot = 0; slot < S_CONNECTIONS; slot++)
            if (s_connections [slot].fd != -1) {
                short events = s_connections [slot].out? POLLOUT: POLLIN;
                polled [count] = (struct pollfd) { .fd = s_connections [slot].fd, .events = events };
                slots [count++] = slot;
            }
        if (poll (polled, count, 1000) < 0) {
            if (errno == EINTR)
                continue;
            fprintf (stderr, "zc-httpd: poll: %s\n", strerror (errno));
            return 1;
        }
        for (nfds_t index = 1; index < count; index++) {
            s_connection_t *connection = &s_connections [slots [index]];
            if (!polled [index].revents || connection->fd != polled [index].fd)
                continue;
            if (connection->out)
                s_write (connection);
            else
                s_read (connection);
        }
        if (polled [0].revents & POLLIN) {
            int fd = accept4 (listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            int slot = 0;
            while (fd != -1 && slot < S_CONNECTIONS && s_connections [slot].fd != -1)
                slot++;
            if (fd != -1 && slot == S_CONNECTIONS)
                close (fd);             //  full: the client sees the connection closed
            else
            if (fd != -1)
                s_connections [slot].fd = fd;
        }
    }
    for (int slot = 0; slot < S_CONNECTIONS; slot++)
        if (s_connections [slot].fd != -1)
            s_close (&s_connections [slot]);
    close (listener);
    if (s_log)
        fclose (s_log);
    return 0;
}
