/*  jsonl.c — the JSON-lines unix socket server (see jsonl.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "prelude.h"
#include "jsonl.h"
#include "jsonout.h"
#include "log.h"

#define S_MAX_PENDING_OUTPUT (64u << 20)

struct _zc_jsonl_conn_t {
    zc_jsonl_t *server;
    int fd;
    zmq_pollitem_t item;
    bool polling_out;           //  ZMQ_POLLOUT registered
    bool held;
    bool closing;               //  peer closed its side: flush and go
    char *in;  size_t in_size, in_max;      //  bytes not yet split into lines
    char *out; size_t out_size, out_max, out_sent;
    void *data;
};

struct _zc_jsonl_t {
    zloop_t *loop;
    char *path;
    int fd;
    gid_t group;
    bool have_group;
    zmq_pollitem_t item;
    int epfd;
    zlist_t *conns;
    zc_jsonl_line_fn *on_line;
    zc_jsonl_close_fn *on_close;
    void *arg;
};

static int s_accept (zloop_t *loop, zmq_pollitem_t *item, void *arg);
static int s_conn_event (zloop_t *loop, zmq_pollitem_t *item, void *arg);

//  The listening socket and every connection sit in one epoll set, and
//  only that set's descriptor is polled by the zloop. Registering and
//  unregistering zloop pollers per connection (as holding a connection
//  for a waited request does) ends zloop's turn each time, and with it the
//  agent's group commit: one fsync per request instead of one per turn.
static int
s_epoll_event (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_jsonl_t *self = arg;
    struct epoll_event events [128];
    int count = epoll_wait (self->epfd, events, 128, 0);
    for (int index = 0; index < count; index++) {
        if (!events [index].data.ptr) {
            s_accept (loop, NULL, self);
            continue;
        }
        //  Each connection appears once per batch, and handling it can
        //  only destroy that connection, never another.
        zc_jsonl_conn_t *conn = events [index].data.ptr;
        zmq_pollitem_t ready = conn->item;
        ready.revents = 0;
        if (events [index].events & EPOLLIN)
            ready.revents |= ZMQ_POLLIN;
        if (events [index].events & EPOLLOUT)
            ready.revents |= ZMQ_POLLOUT;
        if (events [index].events & (EPOLLERR | EPOLLHUP))
            ready.revents |= ZMQ_POLLERR;
        s_conn_event (loop, &ready, conn);
    }
    return 0;
}

zc_jsonl_t *
zc_jsonl_new (zloop_t *loop, const char *path, const char *group,
              zc_jsonl_line_fn *on_line, zc_jsonl_close_fn *on_close,
              void *arg, char **error)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof address.sun_path) {
        *error = zsys_sprintf ("socket path %s is too long (at most %zu bytes)",
                               path, sizeof address.sun_path - 1);
        return NULL;
    }
    strcpy (address.sun_path, path);
    gid_t gid = 0;
    if (group) {
        struct group *entry = getgrnam (group);
        if (!entry) {
            *error = zsys_sprintf ("socket_group %s: no such group (create it or remove the key)", group);
            return NULL;
        }
        gid = entry->gr_gid;
    }
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1) {
        *error = zsys_sprintf ("cannot create a unix socket: %s", strerror (errno));
        return NULL;
    }
    //  A socket file left by a previous life is replaced; anything else
    //  at that path is not ours to remove.
    struct stat info;
    if (lstat (path, &info) == 0) {
        if (!S_ISSOCK (info.st_mode)) {
            *error = zsys_sprintf ("%s exists and is not a socket (move it away)", path);
            close (fd);
            return NULL;
        }
        unlink (path);
    }
    //  Created with no access for anyone else, then opened up as configured.
    mode_t old_mask = umask (0177);
    int rc = bind (fd, (struct sockaddr *) &address, sizeof address);
    umask (old_mask);
    if (rc == -1
    || (group && (chown (path, (uid_t) -1, gid) == -1 || chmod (path, 0660) == -1))
    ||  listen (fd, 64) == -1) {
        *error = zsys_sprintf ("cannot listen on %s: %s", path, strerror (errno));
        close (fd);
        return NULL;
    }
    zc_jsonl_t *self = zc_calloc (1, sizeof *self);
    self->loop = loop;
    self->path = zc_strdup (path);
    self->fd = fd;
    self->group = gid;
    self->have_group = group != NULL;
    self->conns = zlist_new ();
    self->on_line = on_line;
    self->on_close = on_close;
    self->arg = arg;
    self->epfd = epoll_create1 (EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (self->epfd == -1 || epoll_ctl (self->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
        *error = zsys_sprintf ("cannot watch %s: %s", path, strerror (errno));
        if (self->epfd != -1)
            close (self->epfd);
        zlist_destroy (&self->conns);
        free (self->path);
        free (self);
        close (fd);
        unlink (path);
        return NULL;
    }
    self->item = (zmq_pollitem_t) { .fd = self->epfd, .events = ZMQ_POLLIN };
    zloop_poller (loop, &self->item, s_epoll_event, self);
    return self;
}

static void
s_conn_destroy (zc_jsonl_conn_t *conn)
{
    zc_jsonl_t *server = conn->server;
    server->on_close (conn, server->arg);
    epoll_ctl (server->epfd, EPOLL_CTL_DEL, conn->fd, NULL);
    zlist_remove (server->conns, conn);
    close (conn->fd);
    free (conn->in);
    free (conn->out);
    free (conn);
}

void
zc_jsonl_destroy (zc_jsonl_t **self_p)
{
    if (*self_p) {
        zc_jsonl_t *self = *self_p;
        while (zlist_size (self->conns))
            s_conn_destroy (zlist_first (self->conns));
        zlist_destroy (&self->conns);
        zloop_poller_end (self->loop, &self->item);
        close (self->epfd);
        close (self->fd);
        unlink (self->path);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

//  True when the peer may use the socket: root, our own user, or a member
//  of the socket group.
static bool
s_peer_allowed (zc_jsonl_t *self, int fd, struct ucred *cred)
{
    socklen_t size = sizeof *cred;
    if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, cred, &size) == -1)
        return false;
    if (cred->uid == 0 || cred->uid == getuid ())
        return true;
    if (!self->have_group)
        return false;
    if (cred->gid == self->group)
        return true;
    struct passwd *user = getpwuid (cred->uid);
    if (!user)
        return false;
    gid_t groups [256];
    int count = 256;
    if (getgrouplist (user->pw_name, user->pw_gid, groups, &count) == -1)
        return false;
    for (int index = 0; index < count; index++)
        if (groups [index] == self->group)
            return true;
    return false;
}

static int
s_accept (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_jsonl_t *self = arg;
    int fd = accept4 (self->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd == -1)
        return 0;
    struct ucred cred = { 0 };
    if (!s_peer_allowed (self, fd, &cred)) {
        zc_warn ("socket: refused a client with uid %u gid %u (not this user or socket_group)",
                 (unsigned) cred.uid, (unsigned) cred.gid);
        close (fd);
        return 0;
    }
    zc_jsonl_conn_t *conn = zc_calloc (1, sizeof *conn);
    conn->server = self;
    conn->fd = fd;
    conn->item = (zmq_pollitem_t) { .fd = fd, .events = ZMQ_POLLIN };
    zlist_append (self->conns, conn);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = conn };
    epoll_ctl (self->epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

//  Re-registers the poller when the events we wait for change.
static void
s_conn_watch (zc_jsonl_conn_t *conn)
{
    //  A finished connection asks for POLLOUT, which fires at once, so it
    //  is closed from the poll loop and never under its owner's feet.
    bool want_out = conn->out_size > conn->out_sent || (conn->closing && !conn->held);
    short events = (conn->held || conn->closing? 0: ZMQ_POLLIN) | (want_out? ZMQ_POLLOUT: 0);
    if (events == conn->item.events)
        return;
    conn->item.events = events;
    struct epoll_event ev = { .events = (events & ZMQ_POLLIN? EPOLLIN: 0) | (events & ZMQ_POLLOUT? EPOLLOUT: 0),
                              .data.ptr = conn };
    epoll_ctl (conn->server->epfd, EPOLL_CTL_MOD, conn->fd, &ev);
}

//  Hands complete lines to the owner until the connection is held.
//  Connections are only destroyed from the poll loop, never inside the
//  owner's callbacks.
static void
s_conn_deliver (zc_jsonl_conn_t *conn)
{
    while (!conn->held) {
        char *newline = memchr (conn->in, '\n', conn->in_size);
        if (!newline)
            break;
        size_t size = newline - conn->in;
        *newline = 0;
        char *line = zc_malloc (size + 1);
        memcpy (line, conn->in, size + 1);
        memmove (conn->in, newline + 1, conn->in_size - size - 1);
        conn->in_size -= size + 1;
        if (size && line [size - 1] == '\r')
            line [--size] = 0;
        if (size)
            conn->server->on_line (conn, line, size, conn->server->arg);
        free (line);
    }
}

//  Writes as much queued output as the socket takes. -1 on a dead peer.
static int
s_conn_flush (zc_jsonl_conn_t *conn)
{
    while (conn->out_sent < conn->out_size) {
        ssize_t rc = send (conn->fd, conn->out + conn->out_sent,
                           conn->out_size - conn->out_sent, MSG_NOSIGNAL);
        if (rc == -1)
            return errno == EAGAIN || errno == EINTR? 0: -1;
        conn->out_sent += rc;
    }
    conn->out_size = conn->out_sent = 0;
    return 0;
}

static int
s_conn_event (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_jsonl_conn_t *conn = arg;
    if ((item->revents & ZMQ_POLLOUT) && s_conn_flush (conn) == -1) {
        s_conn_destroy (conn);
        return 0;
    }
    if (item->revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
        if (conn->in_max - conn->in_size < 65536) {
            conn->in_max = conn->in_max? conn->in_max * 2: 65536 * 2;
            conn->in = zc_realloc (conn->in, conn->in_max);
        }
        ssize_t rc = recv (conn->fd, conn->in + conn->in_size, conn->in_max - conn->in_size - 1, 0);
        if (rc == 0 || (rc == -1 && errno != EAGAIN && errno != EINTR)) {
            //  The peer finished writing: answer what it asked, then go.
            conn->closing = true;
            if (conn->in_size && !memchr (conn->in, '\n', conn->in_size))
                conn->in [conn->in_size++] = '\n';      //  a last line without newline
        }
        else
        if (rc > 0)
            conn->in_size += rc;
        s_conn_deliver (conn);
        if (!conn->held && conn->in_size > ZC_JSONL_MAX_LINE) {
            json_t *answer = json_pack ("{s:s, s:s}", "error", "request line too long", "code", "usage");
            zc_jsonl_send (conn, answer);
            json_decref (answer);
            conn->in_size = 0;
            conn->closing = true;
        }
    }
    if (conn->closing && !conn->held && conn->out_size == conn->out_sent) {
        s_conn_destroy (conn);
        return 0;
    }
    s_conn_watch (conn);
    return 0;
}

void
zc_jsonl_queue (zc_jsonl_conn_t *conn, json_t *object)
{
    size_t before = conn->out_size;
    if (zc_jsonout_append (object, &conn->out, &conn->out_size, &conn->out_max) != 0) {
        zc_error ("socket: an answer could not be written as JSON; dropped");
        conn->out_size = before;
        return;
    }
    if (conn->out_size + 1 > S_MAX_PENDING_OUTPUT) {
        zc_warn ("socket: a client stopped reading its answers; disconnecting it");
        conn->out_size = conn->out_sent = 0;
        conn->closing = true;
        conn->held = false;
        s_conn_watch (conn);
        return;
    }
    if (conn->out_size + 1 > conn->out_max) {
        conn->out_max = (conn->out_size + 1) * 2;
        conn->out = zc_realloc (conn->out, conn->out_max);
    }
    conn->out [conn->out_size++] = '\n';
    s_conn_watch (conn);
}

void
zc_jsonl_flush (zc_jsonl_conn_t *conn)
{
    if (!conn->closing && s_conn_flush (conn) == -1)
        conn->closing = true;
    s_conn_watch (conn);
}

void
zc_jsonl_send (zc_jsonl_conn_t *conn, json_t *object)
{
    zc_jsonl_queue (conn, object);
    zc_jsonl_flush (conn);
}

void
zc_jsonl_hold (zc_jsonl_conn_t *conn, bool hold)
{
    if (conn->held == hold)
        return;
    conn->held = hold;
    if (!hold)
        s_conn_deliver (conn);
    s_conn_watch (conn);
}

void
zc_jsonl_set_data (zc_jsonl_conn_t *conn, void *data)
{
    conn->data = data;
}

void *
zc_jsonl_data (zc_jsonl_conn_t *conn)
{
    return conn->data;
}
