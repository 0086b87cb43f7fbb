/*  client.c — a blocking client of the agent socket (see client.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <czmq.h>
#include "prelude.h"
#include "client.h"
#include "jsonparse.h"

struct _zc_client_t {
    int fd;
    char *buffer;
    size_t size, max;
};

zc_client_t *
zc_client_new (const char *path, char **error)
{
    return zc_client_open (path, "agent", error);
}

zc_client_t *
zc_client_open (const char *path, const char *server, char **error)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof address.sun_path) {
        *error = zsys_sprintf ("socket path %s is too long", path);
        return NULL;
    }
    strcpy (address.sun_path, path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1 || connect (fd, (struct sockaddr *) &address, sizeof address) == -1) {
        *error = zsys_sprintf ("cannot connect to the %s socket %s: %s (is `zcnc %s` running?)",
                               server, path, strerror (errno), server);
        if (fd != -1)
            close (fd);
        return NULL;
    }
    zc_client_t *self = zc_calloc (1, sizeof *self);
    self->fd = fd;
    return self;
}

void
zc_client_destroy (zc_client_t **self_p)
{
    if (*self_p) {
        close ((*self_p)->fd);
        free ((*self_p)->buffer);
        free (*self_p);
        *self_p = NULL;
    }
}

int
zc_client_send_raw (zc_client_t *self, const void *bytes, size_t size)
{
    size_t sent = 0;
    while (sent < size) {
        ssize_t written = send (self->fd, (const char *) bytes + sent, size - sent, MSG_NOSIGNAL);
        if (written == -1 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        sent += written;
    }
    return 0;
}

int
zc_client_send (zc_client_t *self, json_t *request)
{
    char *text = json_dumps (request, JSON_COMPACT);
    if (!text)
        return -1;
    size_t size = strlen (text);
    text [size] = '\n';         //  json_dumps leaves room: replace the NUL
    int rc = zc_client_send_raw (self, text, size + 1);
    free (text);
    return rc;
}

json_t *
zc_client_recv (zc_client_t *self, int timeout_ms, bool *timed_out, char **error)
{
    *timed_out = false;
    *error = NULL;
    int64_t deadline = timeout_ms < 0? -1: zclock_mono () + timeout_ms;
    while (true) {
        char *newline = self->size? memchr (self->buffer, '\n', self->size): NULL;
        if (newline) {
            size_t line_size = newline - self->buffer;
            json_error_t parse_error;
            //  The project's parser is several times faster (a stream's
            //  output comes as many lines); jansson's takes what it
            //  refuses (a \u0000, a key given twice).
            char fast_error [ZC_JSONPARSE_ERROR_SIZE];
            json_t *answer = zc_jsonparse (self->buffer, line_size, fast_error);
            if (!answer)
                answer = json_loadb (self->buffer, line_size, JSON_ALLOW_NUL, &parse_error);
            memmove (self->buffer, newline + 1, self->size - line_size - 1);
            self->size -= line_size + 1;
            if (!answer)
                *error = zsys_sprintf ("unreadable answer from the agent: %s", parse_error.text);
            return answer;
        }
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - zclock_mono ();
            if (left <= 0) {
                *timed_out = true;
                return NULL;
            }
            wait = (int) left;
        }
        struct pollfd item = { .fd = self->fd, .events = POLLIN };
        int rc = poll (&item, 1, wait);
        if (rc == -1 && errno == EINTR)
            continue;
        if (rc == 0)
            continue;           //  the deadline check above ends the wait
        if (self->max - self->size < 65536) {
            self->max = self->max? self->max * 2: 131072;
            self->buffer = zc_realloc (self->buffer, self->max);
        }
        ssize_t got = recv (self->fd, self->buffer + self->size, self->max - self->size, 0);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0) {
            *error = zc_strdup ("the agent closed the connection");
            return NULL;
        }
        self->size += got;
    }
}
