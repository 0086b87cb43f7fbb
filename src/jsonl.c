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
#include "jsonparse.h"
#include "log.h"

#define S_MAX_PENDING_OUTPUT (64u << 20)
#define S_COMPACT_AFTER (1u << 20)      //  bytes sent before the output buffer is compacted
#define S_WRITE_EARLY   (64u << 10)  //  queued bytes written at once, not at the end of the turn
#define S_READ_MAX  (256u << 10)     //  bytes read from one client per turn

struct _zc_jsonl_conn_t {
    zc_jsonl_t *server;
    int fd;
    zmq_pollitem_t item;
    bool polling_out;           //  ZMQ_POLLOUT registered
    int held;                   //  holds not released yet (zc_jsonl_hold)
    bool closing;               //  peer closed its side: flush and go
    bool parsing;               //  a line of ours is on the parser thread
    bool in_paused;             //  input came while it waited: not watched until it is done
    bool gone;                  //  closed while parsing: freed when the parse returns
    char *in;  size_t in_size, in_max;      //  bytes not yet split into lines
    size_t in_scanned;          //  of which scanned for a newline already
    size_t parse_size;          //  bytes of the line on the parser thread
    size_t excess;              //  bytes counted against the input budget
    char *out; size_t out_size, out_max, out_sent;
    bool dirty;                 //  lines queued this turn: written at its end
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
    zlist_t *dirty;             //  connections with lines queued this turn
    int flush_timer;            //  writes them at the end of the turn; -1 when none
    zactor_t *parser;           //  parses the large lines
    size_t parsing;             //  lines on it
    size_t excess;              //  bytes buffered beyond ZC_JSONL_SMALL_LINE, all clients
    zc_jsonl_line_fn *on_line;
    zc_jsonl_close_fn *on_close;
    void *arg;
    size_t max_line;            //  bytes in one request line
};

//  The parser thread: takes ("PARSE", conn, line, size), answers (conn,
//  value, error text) and frees the line. Pointers only cross the pipe:
//  the line and the value change owner with them.
static void
s_parser_actor (zsock_t *pipe, void *args)
{
    zsock_signal (pipe, 0);
    for (;;) {
        char *command = NULL;
        void *conn = NULL, *line = NULL;
        uint64_t size = 0;
        if (zsock_recv (pipe, "sp8p", &command, &conn, &size, &line) == -1)
            break;
        bool parse = command && streq (command, "PARSE");
        zstr_free (&command);
        if (!parse)
            break;              //  $TERM
        char error [ZC_JSONPARSE_ERROR_SIZE];
        json_t *value = zc_jsonparse (line, size, error);
        free (line);
        zsock_send (pipe, "pps", conn, value, error);
    }
}

static int s_accept (zloop_t *loop, zmq_pollitem_t *item, void *arg);
static int s_conn_event (zloop_t *loop, zmq_pollitem_t *item, void *arg);
static int s_parsed (zloop_t *loop, zsock_t *parser, void *arg);
static void s_conn_refuse_long (zc_jsonl_conn_t *conn);

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
    self->dirty = zlist_new ();
    self->flush_timer = -1;
    self->on_line = on_line;
    self->on_close = on_close;
    self->arg = arg;
    self->max_line = ZC_JSONL_MAX_LINE;
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
    //  Read only while it parses: zloop asks a socket it reads for its
    //  events on every turn, a system call each.
    self->parser = zactor_new (s_parser_actor, NULL);
    return self;
}

//  Counts the bytes a connection holds beyond ZC_JSONL_SMALL_LINE (its
//  buffer and the line it has on the parser) against the input budget.
static void
s_conn_account (zc_jsonl_conn_t *conn)
{
    size_t held = conn->in_size + conn->parse_size;
    size_t excess = held > ZC_JSONL_SMALL_LINE? held - ZC_JSONL_SMALL_LINE: 0;
    conn->server->excess = conn->server->excess - conn->excess + excess;
    conn->excess = excess;
}

static void
s_conn_free (zc_jsonl_conn_t *conn)
{
    free (conn->in);
    free (conn->out);
    free (conn);
}

//  Closes a connection. One whose line is still on the parser is freed
//  when the parse comes back.
static void
s_conn_destroy (zc_jsonl_conn_t *conn)
{
    zc_jsonl_t *server = conn->server;
    server->on_close (conn, server->arg);
    epoll_ctl (server->epfd, EPOLL_CTL_DEL, conn->fd, NULL);
    zlist_remove (server->conns, conn);
    if (conn->dirty)
        zlist_remove (server->dirty, conn);
    conn->dirty = false;
    close (conn->fd);
    conn->in_size = 0;
    s_conn_account (conn);
    if (conn->parsing)
        conn->gone = true;
    else
        s_conn_free (conn);
}

void
zc_jsonl_destroy (zc_jsonl_t **self_p)
{
    if (*self_p) {
        zc_jsonl_t *self = *self_p;
        while (zlist_size (self->conns))
            s_conn_destroy (zlist_first (self->conns));
        zlist_destroy (&self->conns);
        if (self->flush_timer != -1)
            zloop_timer_end (self->loop, self->flush_timer);
        zlist_destroy (&self->dirty);
        //  What is on the parser comes back, to be freed.
        if (self->parsing)
            zloop_reader_end (self->loop, (zsock_t *) self->parser);
        while (self->parsing)
            s_parsed (self->loop, (zsock_t *) self->parser, self);
        zactor_destroy (&self->parser);
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
    if (zlist_size (self->conns) >= ZC_JSONL_MAX_CLIENTS) {
        static const char refusal [] =
            "{\"error\":\"too many clients (at most 256 at once); try again later\",\"code\":\"full\"}\n";
        if (send (fd, refusal, sizeof refusal - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            zc_debug ("socket: could not tell a client there are too many");
        close (fd);
        return 0;
    }
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
    //  Lines queued this turn are written at its end: they need no
    //  POLLOUT unless the socket does not take them then. A connection
    //  that waits (an answer, the parser) stays watched for input until
    //  some comes: a client that waits for its answer before it writes
    //  again (most do) costs no epoll_ctl per request.
    bool waiting = conn->held || conn->parsing;
    if (!waiting)
        conn->in_paused = false;
    bool want_out = (conn->out_size > conn->out_sent && !conn->dirty) || (conn->closing && !waiting);
    bool want_in = !conn->closing && !conn->in_paused;
    short events = (want_in? ZMQ_POLLIN: 0) | (want_out? ZMQ_POLLOUT: 0);
    if (events == conn->item.events)
        return;
    conn->item.events = events;
    struct epoll_event ev = { .events = (events & ZMQ_POLLIN? EPOLLIN: 0) | (events & ZMQ_POLLOUT? EPOLLOUT: 0),
                              .data.ptr = conn };
    epoll_ctl (conn->server->epfd, EPOLL_CTL_MOD, conn->fd, &ev);
}

//  Hands complete lines to the owner until the connection is held: small
//  ones parsed here, large ones through the parser thread (the connection
//  waits for it). Connections are only destroyed from the poll loop,
//  never inside the owner's callbacks.
static void
s_conn_deliver (zc_jsonl_conn_t *conn)
{
    while (!conn->held && !conn->parsing) {
        char *newline = memchr (conn->in + conn->in_scanned, '\n', conn->in_size - conn->in_scanned);
        if (!newline) {
            conn->in_scanned = conn->in_size;
            break;
        }
        size_t size = newline - conn->in;
        if (size > conn->server->max_line) {
            s_conn_refuse_long (conn);
            break;
        }
        size_t rest = conn->in_size - size - 1;
        char *line;
        if (size > ZC_JSONL_SMALL_LINE) {
            //  A large line keeps its buffer (no copy of many MB); what
            //  follows it moves to a new one.
            line = conn->in;
            conn->in_max = rest + 65536 * 2;
            conn->in = zc_malloc (conn->in_max);
            memcpy (conn->in, newline + 1, rest);
        }
        else {
            line = zc_malloc (size + 1);
            memcpy (line, conn->in, size);
            memmove (conn->in, newline + 1, rest);
        }
        line [size] = 0;
        conn->in_size = rest;
        conn->in_scanned = 0;
        if (size && line [size - 1] == '\r')
            line [--size] = 0;
        if (size > ZC_JSONL_SMALL_LINE) {
            conn->parsing = true;
            conn->parse_size = size;
            if (conn->server->parsing++ == 0)
                zloop_reader (conn->server->loop, (zsock_t *) conn->server->parser, s_parsed, conn->server);
            zsock_send (conn->server->parser, "sp8p", "PARSE", conn, (uint64_t) size, line);
            s_conn_account (conn);
            break;
        }
        if (size) {
            char error [ZC_JSONPARSE_ERROR_SIZE];
            json_t *request = zc_jsonparse (line, size, error);
            conn->server->on_line (conn, request, request? NULL: error, size, conn->server->arg);
            json_decref (request);
        }
        free (line);
    }
    if (conn->in_max > 4 * ZC_JSONL_SMALL_LINE && conn->in_size < ZC_JSONL_SMALL_LINE) {
        conn->in_max = conn->in_size + 65536 * 2;       //  give back what a large line took
        conn->in = zc_realloc (conn->in, conn->in_max);
    }
    s_conn_account (conn);
}

//  A large line came back from the parser thread.
static int
s_parsed (zloop_t *loop, zsock_t *parser, void *arg)
{
    zc_jsonl_t *self = arg;
    zc_jsonl_conn_t *conn = NULL;
    json_t *request = NULL;
    char *error = NULL;
    if (zsock_recv (parser, "pps", &conn, &request, &error) == -1 || !conn)
        return 0;
    if (--self->parsing == 0)
        zloop_reader_end (self->loop, parser);
    conn->parsing = false;
    size_t size = conn->parse_size;
    conn->parse_size = 0;
    s_conn_account (conn);
    if (conn->gone)
        s_conn_free (conn);
    else {
        self->on_line (conn, request, request? NULL: error, size, self->arg);
        s_conn_deliver (conn);
        s_conn_watch (conn);
    }
    json_decref (request);
    zstr_free (&error);
    return 0;
}

//  Answers a client that went over a bound, drops what it sent, and
//  closes it once the answer is out. Its partial line is never parsed.
static void
s_conn_refuse (zc_jsonl_conn_t *conn, const char *text, const char *code)
{
    json_t *answer = json_pack ("{s:s, s:s}", "error", text, "code", code);
    conn->held = 0;
    zc_jsonl_send (conn, answer);
    json_decref (answer);
    conn->in_size = conn->in_scanned = conn->in_max = 0;
    free (conn->in);
    conn->in = NULL;
    conn->closing = true;
    s_conn_account (conn);
}

//  A request line over the server's bound.
static void
s_conn_refuse_long (zc_jsonl_conn_t *conn)
{
    size_t max = conn->server->max_line;
    char text [100];
    if (max == ZC_JSONL_MAX_LINE)
        snprintf (text, sizeof text, "request line longer than 67108864 bytes (64 MiB)");
    else
        snprintf (text, sizeof text, "request line longer than %zu bytes", max);
    s_conn_refuse (conn, text, "usage");
}

//  True when the line being received is over the server's bound
//  already. Only a bound below ZC_JSONL_MAX_LINE is looked for here: the
//  first line's end is searched in at most that many bytes.
static bool
s_conn_line_too_long (zc_jsonl_conn_t *conn)
{
    size_t max = conn->server->max_line;
    if (conn->in_size > ZC_JSONL_MAX_LINE)
        return true;
    return max < ZC_JSONL_MAX_LINE && conn->in_size > max
        && !memchr (conn->in, '\n', max + 1);
}

void
zc_jsonl_set_max_line (zc_jsonl_t *self, size_t bytes)
{
    self->max_line = bytes < ZC_JSONL_MAX_LINE? bytes: ZC_JSONL_MAX_LINE;
}

void
zc_jsonl_close (zc_jsonl_conn_t *conn)
{
    conn->in_size = conn->in_scanned = 0;
    conn->closing = true;
    s_conn_account (conn);
    s_conn_watch (conn);
}

//  Writes as much queued output as the socket takes. -1 on a dead peer.
static int
s_conn_flush (zc_jsonl_conn_t *conn)
{
    while (conn->out_sent < conn->out_size) {
        ssize_t rc = send (conn->fd, conn->out + conn->out_sent,
                           conn->out_size - conn->out_sent, MSG_NOSIGNAL);
        if (rc == -1 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (rc == -1) {
            //  A client that reads all the time but never catches up
            //  (a stream): what it read leaves the buffer, so that the
            //  buffer holds what is unsent only.
            if (conn->out_sent >= S_COMPACT_AFTER) {
                memmove (conn->out, conn->out + conn->out_sent, conn->out_size - conn->out_sent);
                conn->out_size -= conn->out_sent;
                conn->out_sent = 0;
            }
            return 0;
        }
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
    if ((item->revents & ZMQ_POLLIN) && !(item->revents & ZMQ_POLLERR)
    &&  (conn->held || conn->parsing) && !conn->closing) {
        //  More from a client while it waits: read once it is done (what
        //  is buffered while it waits is at most its one line).
        conn->in_paused = true;
        s_conn_watch (conn);
        return 0;
    }
    if ((item->revents & (ZMQ_POLLIN | ZMQ_POLLERR)) && !conn->closing) {
        if (conn->in_max - conn->in_size < 65536) {
            conn->in_max = conn->in_max? conn->in_max * 2: 65536 * 2;
            conn->in = zc_realloc (conn->in, conn->in_max);
        }
        //  A bounded read per turn: one client's flood never holds the
        //  loop (copying 20 MB out of the kernel takes 60 ms).
        size_t room = conn->in_max - conn->in_size - 1;
        ssize_t rc = recv (conn->fd, conn->in + conn->in_size, room < S_READ_MAX? room: S_READ_MAX, 0);
        if (rc == 0 || (rc == -1 && errno != EAGAIN && errno != EINTR)) {
            //  The peer finished writing: answer what it asked, then go.
            conn->closing = true;
            if (conn->in_size && conn->in [conn->in_size - 1] != '\n')
                conn->in [conn->in_size++] = '\n';      //  a last line without newline
        }
        else
        if (rc > 0)
            conn->in_size += rc;
        s_conn_account (conn);
        zc_jsonl_t *server = conn->server;
        //  (Complete lines are handed on as they come, and none is read
        //  while the connection waits: what is buffered is one line.)
        if (s_conn_line_too_long (conn))
            s_conn_refuse_long (conn);
        else
        if (conn->excess && server->excess > ZC_JSONL_INPUT_BUDGET) {
            char text [200];
            snprintf (text, sizeof text, "the agent holds %zu MiB of large requests from its clients"
                      " (at most %u MiB); send this one again later", server->excess >> 20,
                      ZC_JSONL_INPUT_BUDGET >> 20);
            s_conn_refuse (conn, text, "full");
        }
        else
            s_conn_deliver (conn);
    }
    if (conn->closing && !conn->held && !conn->parsing && conn->out_size == conn->out_sent) {
        s_conn_destroy (conn);
        return 0;
    }
    s_conn_watch (conn);
    return 0;
}

//  The end of a turn of the loop: every connection a line was queued on
//  gets all of its lines in one write, and asks for POLLOUT only when
//  the socket did not take them all.
static int
s_flush_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_jsonl_t *server = arg;
    server->flush_timer = -1;           //  a one-shot timer is gone once it fired
    zc_jsonl_conn_t *conn;
    while ((conn = zlist_pop (server->dirty))) {
        conn->dirty = false;
        zc_jsonl_flush (conn);
    }
    return 0;
}

static void s_queued (zc_jsonl_conn_t *conn);

void
zc_jsonl_queue (zc_jsonl_conn_t *conn, json_t *object)
{
    size_t before = conn->out_size;
    if (zc_jsonout_append (object, &conn->out, &conn->out_size, &conn->out_max) != 0) {
        //  A client still gets an answer: say why there is no other.
        zc_warn ("socket: an answer could not be written as JSON (nested too deep?); answered with an error");
        conn->out_size = before;
        json_t *error = json_pack ("{s:s, s:s}", "error", "the answer could not be written as JSON"
                                   " (a value nested too deep, such as the request's tag?)", "code", "internal");
        zc_jsonout_append (error, &conn->out, &conn->out_size, &conn->out_max);
        json_decref (error);
    }
    s_queued (conn);
}

void
zc_jsonl_queue_text (zc_jsonl_conn_t *conn, const char *text, size_t size)
{
    if (size == 0)
        return;                 //  no line
    if (conn->out_size + size > conn->out_max) {
        conn->out_max = (conn->out_size + size) * 2;
        conn->out = zc_realloc (conn->out, conn->out_max);
    }
    memcpy (conn->out + conn->out_size, text, size);
    conn->out_size += size;
    s_queued (conn);
}

//  A line was appended to the connection's output: its newline, then
//  written now or at the end of the turn.
static void
s_queued (zc_jsonl_conn_t *conn)
{
    if (conn->out_size - conn->out_sent + 1 > S_MAX_PENDING_OUTPUT) {
        zc_warn ("socket: a client stopped reading its answers; disconnecting it");
        conn->out_size = conn->out_sent = 0;
        conn->closing = true;
        conn->held = 0;
        s_conn_watch (conn);
        return;
    }
    if (conn->out_size + 1 > conn->out_max) {
        conn->out_max = (conn->out_size + 1) * 2;
        conn->out = zc_realloc (conn->out, conn->out_max);
    }
    conn->out [conn->out_size++] = '\n';
    zc_jsonl_t *server = conn->server;
    if (conn->out_size - conn->out_sent >= S_WRITE_EARLY) {
        //  A turn that queues a lot (a burst of messages) writes as it
        //  goes: what the client has not read is then what is unsent.
        zc_jsonl_flush (conn);
        return;
    }
    if (!conn->dirty) {
        conn->dirty = true;
        zlist_append (server->dirty, conn);
    }
    if (server->flush_timer == -1)
        server->flush_timer = zloop_timer (server->loop, 0, 1, s_flush_timer, server);
}

void
zc_jsonl_flush (zc_jsonl_conn_t *conn)
{
    if (!conn->closing && s_conn_flush (conn) == -1)
        conn->closing = true;
    s_conn_watch (conn);
}

size_t
zc_jsonl_unsent (zc_jsonl_conn_t *conn)
{
    return conn->out_size - conn->out_sent;
}

void
zc_jsonl_send (zc_jsonl_conn_t *conn, json_t *object)
{
    zc_jsonl_queue (conn, object);
}

void
zc_jsonl_hold (zc_jsonl_conn_t *conn, bool hold)
{
    if (hold)
        conn->held++;
    else
    if (conn->held > 0 && --conn->held == 0)
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
