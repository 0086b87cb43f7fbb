/*  zc-proxy.c — a fault-injecting TCP proxy for the integration tests.

    Sits on a link (an agent and its hub, a hub and its uplink) and makes
    it slow, narrow, silent or broken, on command:

        zc-proxy --listen HOST:PORT --to HOST:PORT [--buffer BYTES]
                 [--control FIFO] [--delay MS] [--jitter MS]
                 [--port-file FILE] [--rate BYTES_PER_SEC]
                 [--schedule "T:CMD;T:CMD;..."] [--stats FILE] [--verbose]

    Every client accepted on --listen gets its own connection to --to, and
    bytes are forwarded both ways. Both HOSTs must be loopback addresses
    (127.0.0.0/8, ::1 or localhost): the proxy is for tests on one machine.
    PORT 0 on --listen picks a free port; --port-file writes the bound port
    (atomically: a temporary file renamed), so a test can wait for it.

    Link model, per direction of each connection: each chunk read is
    released delay + random(0..jitter) ms after it was read, never before
    the chunk read before it (bytes are never reordered); released bytes
    then leave at most at the --rate (a token bucket holding 100 ms of
    traffic; 0 means unlimited). At most --buffer bytes (4 MiB) wait per
    direction: beyond that the proxy stops reading, so the sender's TCP
    window closes (backpressure). An end of stream (FIN) is delayed too.

    Commands, one per line, on the control FIFO (created when missing, e.g.
    `echo blackhole >FIFO`) or at T seconds after start with --schedule
    (e.g. --schedule "5:blackhole;65:pass"; T may have decimals):
        pass        forward normally
        blackhole   hold everything: no byte read or written on any
                    connection, new connections accepted but not forwarded
                    (no upstream connection yet), no FIN, no RST; on pass,
                    the held bytes flow (and errors seen meanwhile surface)
        reset       close every connection with an RST, then pass
        refuse      close new connections at once with an RST; existing
                    ones keep working
        delay MS    one-way delay of each direction (new bytes only)
        jitter MS   random extra delay, 0 to MS
        rate BPS    bandwidth cap per direction per connection, 0 = none
        stats       write the --stats file now

    Stats, one JSON line written atomically to --stats on `stats`, on
    SIGUSR1 and at exit (SIGTERM and SIGINT end the proxy, status 0):
        {"up":N,"down":N,"conns":N,"resets":N,"mode":"pass"}
    up and down count the bytes written towards --to and towards clients,
    conns the connections accepted, resets the connections closed with an
    RST by `reset` or `refuse`.

    Errors (upstream refused, a peer's reset) are logged on stderr with a
    timestamp; the connection is closed with an RST on its other side, and
    the proxy goes on. Exit status: 0 on SIGTERM/SIGINT, 1 when it cannot
    start (listen, FIFO, files), 2 on a usage error or a non-loopback HOST.

    Single-threaded: one epoll loop, sockets edge-triggered (a connection
    is "pumped" after its events or when one of its timers is due), the
    control FIFO and a signalfd level-triggered. Only libc.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_BUFFER_DEFAULT  (4 * 1024 * 1024)  //  bytes waiting per direction
#define S_READ_MAX        (64 * 1024)        //  bytes per read(), one chunk
#define S_MAX_MS          3600000            //  longest delay or jitter
#define S_MAX_RATE        10000000000LL      //  10 GB/s: "as fast as it goes"
#define S_PUMP_ROUNDS     16                 //  read/write rounds per pump
#define S_LINE_MAX        256                //  longest control line
#define S_NEVER           INT64_MAX

typedef enum { S_PASS, S_BLACKHOLE, S_REFUSE } s_mode_t;
static const char *s_mode_names [] = { "pass", "blackhole", "refuse" };

typedef enum {
    S_CMD_PASS, S_CMD_BLACKHOLE, S_CMD_RESET, S_CMD_REFUSE,
    S_CMD_DELAY, S_CMD_JITTER, S_CMD_RATE, S_CMD_STATS
} s_cmd_kind_t;

//  A control command, and for --schedule the time it is due (ms after
//  start).
typedef struct {
    s_cmd_kind_t kind;
    int64_t value;
    int64_t at;
    char text [48];             //  as logged: "delay 300"
} s_command_t;

typedef enum { S_H_LISTEN, S_H_CONTROL, S_H_SIGNAL, S_H_SIDE } s_handle_kind_t;

struct _s_conn_t;

//  What an epoll event points at: a listener, the FIFO, the signalfd, or
//  one side of a connection (with its edge-triggered readiness).
typedef struct {
    s_handle_kind_t kind;
    int fd;
    struct _s_conn_t *conn;     //  S_H_SIDE only
    int index;                  //  0 the client, 1 the upstream
    bool readable;
    bool writable;
} s_handle_t;

//  Bytes read at once, and when they may leave.
typedef struct _s_chunk_t {
    struct _s_chunk_t *next;
    int64_t release;
    size_t size;
    size_t sent;
    char data [];
} s_chunk_t;

//  One direction of a connection.
typedef struct {
    s_chunk_t *head, *tail;
    size_t buffered;            //  bytes in the chunks, not yet sent
    int64_t last_release;       //  release time of the newest chunk
    int64_t eof_release;        //  when the FIN may be passed on
    double tokens;              //  token bucket, when a rate is set
    int64_t refilled;
    bool eof;                   //  the source sent its FIN
    bool shut;                  //  ... and it was passed on
} s_pipe_t;

//  A client connection and its upstream connection. pipe [i] carries the
//  bytes read from side [i] to side [1 - i].
typedef struct _s_conn_t {
    struct _s_conn_t *prev, *next;
    uint64_t id;
    s_handle_t side [2];
    s_pipe_t pipe [2];
    bool connecting;            //  upstream connect() in progress
    bool dead;                  //  closed; freed at the end of the turn
    int64_t wake;               //  when to pump it next, S_NEVER: on events
} s_conn_t;

typedef struct {
    int epfd;
    int64_t now;                //  ms, CLOCK_MONOTONIC, once per turn
    int64_t start;
    bool stop;
    bool verbose;
    //  Configuration
    struct sockaddr_storage to;
    socklen_t to_len;
    const char *to_text;
    s_mode_t mode;
    int64_t delay, jitter, rate;
    size_t buffer_max;
    const char *stats_path;
    //  Handles
    s_handle_t listener, control, signals;
    int64_t accept_resume;      //  accepting paused (out of fds) until
    int control_writer;         //  our own writer: the FIFO never ends
    const char *control_path;
    bool control_created;
    char line [S_LINE_MAX];
    size_t line_len;
    bool line_too_long;
    //  Connections, and those closed during this turn
    s_conn_t *conns, *graveyard;
    uint64_t next_id;
    //  Schedule
    s_command_t *schedule;
    size_t schedule_len, schedule_next;
    //  Stats
    uint64_t up, down, accepted, resets;
} s_proxy_t;

static char s_scratch [S_READ_MAX];

static void s_log (const char *format, ...)
    __attribute__ ((format (printf, 1, 2)));
static void s_usage_error (const char *format, ...)
    __attribute__ ((format (printf, 1, 2), noreturn));

static const char *s_usage =
    "usage: zc-proxy --listen HOST:PORT --to HOST:PORT [options]\n"
    "  --buffer BYTES       bytes held per direction before reading stops (4194304)\n"
    "  --control FIFO       read commands from FIFO (created when missing)\n"
    "  --delay MS           one-way delay of each direction (0)\n"
    "  --help               print this help\n"
    "  --jitter MS          random extra delay, 0 to MS, never reordering (0)\n"
    "  --listen HOST:PORT   where clients connect; PORT 0 picks a free port\n"
    "  --port-file FILE     write the bound port to FILE (atomically)\n"
    "  --rate BPS           bytes per second per direction per connection (0: no cap)\n"
    "  --schedule SCHEDULE  \"T:CMD;T:CMD;...\": run CMD at T seconds after start\n"
    "  --stats FILE         write stats as JSON on `stats`, SIGUSR1 and exit\n"
    "  --to HOST:PORT       where each client's bytes go\n"
    "  --verbose            log every connection opened and closed\n"
    "HOSTs must be loopback: 127.0.0.0/8, ::1 or localhost.\n"
    "Commands (control FIFO or schedule): pass, blackhole, reset, refuse,\n"
    "  delay MS, jitter MS, rate BPS, stats.\n"
    "Exit status: 0 on SIGTERM/SIGINT, 1 when it cannot start, 2 on a usage error.\n";

//  --------------------------------------------------------------------------
//  Time and logging

//  Returns the monotonic clock in milliseconds.
static int64_t
s_clock_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Prints one line on stderr: UTC timestamp, "zc-proxy: ", the message.
static void
s_log (const char *format, ...)
{
    struct timespec ts;
    struct tm tm;
    char stamp [32];
    clock_gettime (CLOCK_REALTIME, &ts);
    gmtime_r (&ts.tv_sec, &tm);
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf (stderr, "%s.%03ldZ zc-proxy: ", stamp, ts.tv_nsec / 1000000);
    va_list args;
    va_start (args, format);
    vfprintf (stderr, format, args);
    va_end (args);
    fputc ('\n', stderr);
}

//  Prints a usage error naming what was wrong and exits 2.
static void
s_usage_error (const char *format, ...)
{
    fputs ("zc-proxy: ", stderr);
    va_list args;
    va_start (args, format);
    vfprintf (stderr, format, args);
    va_end (args);
    fputs (" (see: zc-proxy --help)\n", stderr);
    exit (2);
}

//  --------------------------------------------------------------------------
//  Parsing

//  Parses a decimal integer from 0 to max, the whole string. Returns 0, or
//  -1 when text is not one.
static int
s_parse_int (const char *text, int64_t max, int64_t *value)
{
    if (*text < '0' || *text > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long parsed = strtoull (text, &end, 10);
    if (errno || *end || parsed > (unsigned long long) max)
        return -1;
    *value = (int64_t) parsed;
    return 0;
}

//  True when the address is loopback: 127.0.0.0/8 or ::1.
static bool
s_is_loopback (const struct sockaddr_storage *address)
{
    if (address->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) address;
        return (ntohl (in->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) address;
    return IN6_IS_ADDR_LOOPBACK (&in6->sin6_addr);
}

//  Parses OPTION's value HOST:PORT ([::1]:PORT for IPv6) into address;
//  PORT 0 only when zero_ok. Exits 2 with a message on anything else,
//  a non-loopback HOST included.
static void
s_parse_endpoint (const char *option, const char *text, bool zero_ok,
                  struct sockaddr_storage *address, socklen_t *length)
{
    const char *colon = strrchr (text, ':');
    char host [64];
    int64_t port;
    if (!colon || colon == text || (size_t) (colon - text) >= sizeof host)
        s_usage_error ("%s '%s': expected HOST:PORT, e.g. 127.0.0.1:%s",
                       option, text, zero_ok? "0": "5670");
    memcpy (host, text, colon - text);
    host [colon - text] = 0;
    if (host [0] == '[' && host [strlen (host) - 1] == ']') {
        memmove (host, host + 1, strlen (host));
        host [strlen (host) - 1] = 0;
    }
    if (s_parse_int (colon + 1, 65535, &port) || (port == 0 && !zero_ok))
        s_usage_error ("%s '%s': bad port '%s' (expected %s to 65535)",
                       option, text, colon + 1, zero_ok? "0": "1");
    if (strcmp (host, "localhost") == 0)
        strcpy (host, "127.0.0.1");
    memset (address, 0, sizeof *address);
    struct sockaddr_in *in = (struct sockaddr_in *) address;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) address;
    if (inet_pton (AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons ((uint16_t) port);
        *length = sizeof *in;
    }
    else
    if (inet_pton (AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons ((uint16_t) port);
        *length = sizeof *in6;
    }
    else
        s_usage_error ("%s '%s': '%s' is not a numeric address (use 127.0.0.1, ::1 or localhost)",
                       option, text, host);
    if (!s_is_loopback (address))
        s_usage_error ("%s '%s': %s is not a loopback address (zc-proxy only talks to 127.0.0.0/8 and ::1)",
                       option, text, host);
}

//  Parses one command ("delay 300", "pass") into command. Returns 0, or -1
//  with why in error.
static int
s_command_parse (const char *text, s_command_t *command, char *error, size_t size)
{
    static const struct { const char *name; s_cmd_kind_t kind; int64_t max; } table [] = {
        { "pass", S_CMD_PASS, -1 },     { "blackhole", S_CMD_BLACKHOLE, -1 },
        { "reset", S_CMD_RESET, -1 },   { "refuse", S_CMD_REFUSE, -1 },
        { "stats", S_CMD_STATS, -1 },   { "delay", S_CMD_DELAY, S_MAX_MS },
        { "jitter", S_CMD_JITTER, S_MAX_MS }, { "rate", S_CMD_RATE, S_MAX_RATE },
    };
    char word [16], argument [32], extra [2];
    int words = sscanf (text, " %15s %31s %1s", word, argument, extra);
    for (size_t i = 0; words >= 1 && i < sizeof table / sizeof table [0]; i++) {
        if (strcmp (word, table [i].name))
            continue;
        command->kind = table [i].kind;
        command->value = 0;
        snprintf (command->text, sizeof command->text, "%s", word);
        if (table [i].max < 0 && words == 1)
            return 0;
        if (table [i].max >= 0 && words == 2
        &&  s_parse_int (argument, table [i].max, &command->value) == 0) {
            snprintf (command->text, sizeof command->text, "%s %" PRId64, word, command->value);
            return 0;
        }
        if (table [i].max < 0)
            snprintf (error, size, "'%s' takes no argument", word);
        else
            snprintf (error, size, "'%s' takes one number from 0 to %" PRId64, word, table [i].max);
        return -1;
    }
    snprintf (error, size, "unknown command '%s' (expected pass, blackhole, reset, refuse, delay MS, jitter MS, rate BPS or stats)",
              words >= 1? word: "");
    return -1;
}

//  Parses one "T:CMD" schedule entry into command. Returns 0, or -1 with
//  why in error.
static int
s_schedule_entry (char *entry, s_command_t *command, char *error, size_t size)
{
    char *colon = strchr (entry, ':');
    if (!colon) {
        snprintf (error, size, "'%s' is not T:CMD", entry);
        return -1;
    }
    *colon = 0;
    char *end;
    errno = 0;
    double seconds = strtod (entry, &end);
    end += strspn (end, " \t");
    if (errno || end == entry || *end || !(seconds >= 0 && seconds <= 1e6)) {
        snprintf (error, size, "bad time '%s' (expected seconds from 0 to 1000000)", entry);
        return -1;
    }
    if (s_command_parse (colon + 1, command, error, size))
        return -1;
    command->at = (int64_t) (seconds * 1000 + 0.5);
    return 0;
}

//  Parses --schedule "T:CMD;T:CMD;..." into the proxy's schedule, sorted
//  by time (entries with the same time keep their order). Exits 2 on a
//  bad entry.
static void
s_parse_schedule (s_proxy_t *self, const char *text)
{
    size_t entries = 1;
    for (const char *semicolon = text; (semicolon = strchr (semicolon, ';')); semicolon++)
        entries++;
    char *copy = strdup (text);
    char *save = NULL, error [256];
    free (self->schedule);
    self->schedule_len = 0;
    self->schedule = calloc (entries, sizeof (s_command_t));
    if (!copy || !self->schedule) {
        fputs ("zc-proxy: out of memory\n", stderr);
        exit (1);
    }
    for (char *entry = strtok_r (copy, ";", &save); entry; entry = strtok_r (NULL, ";", &save)) {
        if (strspn (entry, " \t") == strlen (entry))
            continue;
        s_command_t command;
        if (s_schedule_entry (entry, &command, error, sizeof error)) {
            free (copy);
            free (self->schedule);
            s_usage_error ("--schedule: %s", error);
        }
        size_t at = self->schedule_len++;
        while (at > 0 && self->schedule [at - 1].at > command.at) {
            self->schedule [at] = self->schedule [at - 1];
            at--;
        }
        self->schedule [at] = command;
    }
    free (copy);
}

//  Returns the value of option argv [*i] ("--x VALUE" or "--x=VALUE") and
//  advances *i past it; exits 2 when it has none.
static const char *
s_option_value (int argc, char **argv, int *i, const char *name)
{
    const char *equals = strchr (argv [*i], '=');
    if (equals)
        return equals + 1;
    if (*i + 1 >= argc)
        s_usage_error ("option %s needs a value", name);
    return argv [++*i];
}

//  Parses a numeric option's value or exits 2 naming the option.
static int64_t
s_option_int (const char *name, const char *value, int64_t max, const char *unit)
{
    int64_t parsed;
    if (s_parse_int (value, max, &parsed))
        s_usage_error ("%s: bad value '%s' (expected %s from 0 to %" PRId64 ")",
                       name, value, unit, max);
    return parsed;
}

//  Parses the command line into self; exits 0 after --help, 2 on errors.
static void
s_parse_args (s_proxy_t *self, int argc, char **argv, const char **listen_text,
              const char **port_file)
{
    for (int i = 1; i < argc; i++) {
        char name [32];
        snprintf (name, sizeof name, "%.*s", (int) strcspn (argv [i], "="), argv [i]);
        if (strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0) {
            fputs (s_usage, stdout);
            exit (0);
        }
        else if (strcmp (name, "--verbose") == 0)
            self->verbose = true;
        else if (strcmp (name, "--listen") == 0)
            *listen_text = s_option_value (argc, argv, &i, name);
        else if (strcmp (name, "--to") == 0)
            self->to_text = s_option_value (argc, argv, &i, name);
        else if (strcmp (name, "--port-file") == 0)
            *port_file = s_option_value (argc, argv, &i, name);
        else if (strcmp (name, "--control") == 0)
            self->control_path = s_option_value (argc, argv, &i, name);
        else if (strcmp (name, "--stats") == 0)
            self->stats_path = s_option_value (argc, argv, &i, name);
        else if (strcmp (name, "--schedule") == 0)
            s_parse_schedule (self, s_option_value (argc, argv, &i, name));
        else if (strcmp (name, "--delay") == 0)
            self->delay = s_option_int (name, s_option_value (argc, argv, &i, name), S_MAX_MS, "milliseconds");
        else if (strcmp (name, "--jitter") == 0)
            self->jitter = s_option_int (name, s_option_value (argc, argv, &i, name), S_MAX_MS, "milliseconds");
        else if (strcmp (name, "--rate") == 0)
            self->rate = s_option_int (name, s_option_value (argc, argv, &i, name), S_MAX_RATE, "bytes per second");
        else if (strcmp (name, "--buffer") == 0) {
            self->buffer_max = (size_t) s_option_int (name, s_option_value (argc, argv, &i, name), 1 << 30, "bytes");
            if (self->buffer_max < 1024)
                s_usage_error ("--buffer: %zu is too small (at least 1024 bytes)", self->buffer_max);
        }
        else
            s_usage_error ("unknown option '%s'", argv [i]);
    }
    if (!*listen_text || !self->to_text)
        s_usage_error ("--listen HOST:PORT and --to HOST:PORT are both required");
}

//  --------------------------------------------------------------------------
//  Files

//  Writes text to path through path.tmp.PID and rename(), so that a
//  reader sees the old content or the new one, never a part. Returns 0,
//  or -1 with the error logged.
static int
s_write_atomic (const char *path, const char *text)
{
    char temporary [4096];
    snprintf (temporary, sizeof temporary, "%s.tmp.%d", path, (int) getpid ());
    FILE *file = fopen (temporary, "w");
    if (!file) {
        s_log ("cannot write %s: %s (check the directory exists and is writable)", temporary, strerror (errno));
        return -1;
    }
    bool ok = fputs (text, file) >= 0;
    ok = (fclose (file) == 0) && ok;
    if (!ok || rename (temporary, path)) {
        s_log ("cannot write %s: %s", path, strerror (errno));
        unlink (temporary);
        return -1;
    }
    return 0;
}

//  Writes the stats JSON line to --stats, when given.
static void
s_write_stats (s_proxy_t *self)
{
    char text [256];
    if (!self->stats_path)
        return;
    snprintf (text, sizeof text,
              "{\"up\":%" PRIu64 ",\"down\":%" PRIu64 ",\"conns\":%" PRIu64 ",\"resets\":%" PRIu64 ",\"mode\":\"%s\"}\n",
              self->up, self->down, self->accepted, self->resets, s_mode_names [self->mode]);
    s_write_atomic (self->stats_path, text);
}

//  --------------------------------------------------------------------------
//  Connections

//  Registers fd with the epoll set, pointing at handle. Returns 0 or -1.
static int
s_watch (s_proxy_t *self, s_handle_t *handle, uint32_t events)
{
    struct epoll_event event = { .events = events, .data.ptr = handle };
    if (epoll_ctl (self->epfd, EPOLL_CTL_ADD, handle->fd, &event) == 0)
        return 0;
    s_log ("cannot watch a socket: %s", strerror (errno));
    return -1;
}

//  Sets TCP_NODELAY, so the proxy adds no Nagle delay of its own.
static void
s_set_nodelay (int fd)
{
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

//  Closes fd so that the peer gets an RST, not a FIN.
static void
s_close_rst (int fd)
{
    struct linger linger = { .l_onoff = 1, .l_linger = 0 };
    setsockopt (fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    close (fd);
}

//  Closes the connection's sockets (with an RST when abort) and moves it
//  to the graveyard, freed at the end of the turn: events of this turn may
//  still point at it.
static void
s_conn_close (s_proxy_t *self, s_conn_t *conn, bool abort)
{
    for (int i = 0; i < 2; i++) {
        if (conn->side [i].fd < 0)
            continue;
        if (abort)
            s_close_rst (conn->side [i].fd);
        else
            close (conn->side [i].fd);
        conn->side [i].fd = -1;
    }
    if (self->verbose)
        s_log ("connection %" PRIu64 " closed%s", conn->id, abort? " with an RST": "");
    conn->dead = true;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        self->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    conn->next = self->graveyard;
    self->graveyard = conn;
}

//  Logs why the connection failed, and resets both its sides.
static void
s_conn_fail (s_proxy_t *self, s_conn_t *conn, int index, const char *what, int error)
{
    s_log ("connection %" PRIu64 ": %s on the %s side failed: %s; resetting the connection",
           conn->id, what, index? "upstream": "client", strerror (error));
    s_conn_close (self, conn, true);
}

//  Frees the connections closed during this turn.
static void
s_bury (s_proxy_t *self)
{
    while (self->graveyard) {
        s_conn_t *conn = self->graveyard;
        self->graveyard = conn->next;
        for (int i = 0; i < 2; i++)
            while (conn->pipe [i].head) {
                s_chunk_t *chunk = conn->pipe [i].head;
                conn->pipe [i].head = chunk->next;
                free (chunk);
            }
        free (conn);
    }
}

//  Starts the upstream connection (non-blocking). On failure, logs it and
//  resets the client.
static void
s_conn_connect (s_proxy_t *self, s_conn_t *conn)
{
    int fd = socket (self->to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        s_conn_fail (self, conn, 1, "socket()", errno);
        return;
    }
    s_set_nodelay (fd);
    conn->side [1].fd = fd;
    if (connect (fd, (struct sockaddr *) &self->to, self->to_len) && errno != EINPROGRESS) {
        s_log ("connection %" PRIu64 ": cannot connect to %s: %s; closing the client",
               conn->id, self->to_text, strerror (errno));
        s_conn_close (self, conn, true);
        return;
    }
    conn->connecting = true;
    conn->side [1].writable = false;
    if (s_watch (self, &conn->side [1], EPOLLIN | EPOLLOUT | EPOLLET))
        s_conn_close (self, conn, true);
}

//  Once the upstream socket turned writable, tells whether connect()
//  succeeded. Returns 0, or -1 when it failed (the connection is closed).
static int
s_conn_check_connect (s_proxy_t *self, s_conn_t *conn)
{
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt (conn->side [1].fd, SOL_SOCKET, SO_ERROR, &error, &length))
        error = errno;
    if (error) {
        s_log ("connection %" PRIu64 ": cannot connect to %s: %s; closing the client",
               conn->id, self->to_text, strerror (error));
        s_conn_close (self, conn, true);
        return -1;
    }
    conn->connecting = false;
    return 0;
}

//  Accepts one client: a new connection, reset at once in refuse mode,
//  connected upstream unless in blackhole mode.
static void
s_conn_new (s_proxy_t *self, int fd)
{
    s_conn_t *conn = calloc (1, sizeof *conn);
    if (!conn) {
        s_log ("out of memory: closing a new client");
        s_close_rst (fd);
        return;
    }
    conn->id = ++self->next_id;
    for (int i = 0; i < 2; i++)
        conn->side [i] = (s_handle_t) { .kind = S_H_SIDE, .fd = -1, .conn = conn, .index = i };
    conn->side [0].fd = fd;
    conn->next = self->conns;
    if (self->conns)
        self->conns->prev = conn;
    self->conns = conn;
    self->accepted++;
    if (self->verbose)
        s_log ("connection %" PRIu64 " accepted", conn->id);
    s_set_nodelay (fd);
    if (s_watch (self, &conn->side [0], EPOLLIN | EPOLLOUT | EPOLLET)) {
        s_conn_close (self, conn, true);
        return;
    }
    if (self->mode == S_REFUSE) {
        self->resets++;
        s_conn_close (self, conn, true);
        return;
    }
    if (self->mode == S_PASS)
        s_conn_connect (self, conn);
    conn->wake = self->now;
}

//  --------------------------------------------------------------------------
//  Pipes: the bytes of one direction

//  Token bucket size: 100 ms of traffic, at least 1 byte.
static double
s_burst (s_proxy_t *self)
{
    return self->rate >= 10? (double) (self->rate / 10): 1;
}

//  Adds the tokens earned since the last refill.
static void
s_refill (s_proxy_t *self, s_pipe_t *pipe)
{
    pipe->tokens += (double) (self->now - pipe->refilled) * (double) self->rate / 1000;
    if (pipe->tokens > s_burst (self))
        pipe->tokens = s_burst (self);
    pipe->refilled = self->now;
}

//  Appends size bytes read now as a chunk, released after the delay and
//  jitter but never before the chunk before it. Returns 0 or -1 (memory).
static int
s_pipe_push (s_proxy_t *self, s_pipe_t *pipe, const char *data, size_t size)
{
    s_chunk_t *chunk = malloc (sizeof *chunk + size);
    if (!chunk)
        return -1;
    chunk->next = NULL;
    chunk->size = size;
    chunk->sent = 0;
    chunk->release = self->now + self->delay;
    if (self->jitter)
        chunk->release += random () % (self->jitter + 1);
    if (chunk->release < pipe->last_release)
        chunk->release = pipe->last_release;
    pipe->last_release = chunk->release;
    memcpy (chunk->data, data, size);
    if (pipe->tail)
        pipe->tail->next = chunk;
    else
        pipe->head = chunk;
    pipe->tail = chunk;
    pipe->buffered += size;
    return 0;
}

//  Reads from side [index] into its pipe while it has data and the pipe
//  has room. Returns true when something happened; the connection may be
//  dead afterwards.
static bool
s_pipe_fill (s_proxy_t *self, s_conn_t *conn, int index)
{
    s_handle_t *source = &conn->side [index];
    s_pipe_t *pipe = &conn->pipe [index];
    bool progress = false;
    if (source->fd < 0 || (index == 1 && conn->connecting) || pipe->eof)
        return false;
    while (source->readable && pipe->buffered < self->buffer_max) {
        size_t room = self->buffer_max - pipe->buffered;
        ssize_t got = recv (source->fd, s_scratch, room < S_READ_MAX? room: S_READ_MAX, 0);
        if (got > 0 && s_pipe_push (self, pipe, s_scratch, (size_t) got) == 0)
            progress = true;
        else
        if (got > 0) {
            s_conn_fail (self, conn, index, "buffering", ENOMEM);
            return true;
        }
        else
        if (got == 0) {
            pipe->eof = true;
            pipe->eof_release = self->now + self->delay;
            if (pipe->eof_release < pipe->last_release)
                pipe->eof_release = pipe->last_release;
            return true;
        }
        else
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            source->readable = false;
        else
        if (errno != EINTR) {
            s_conn_fail (self, conn, index, "recv()", errno);
            return true;
        }
    }
    return progress;
}

//  Sends the first chunk's released bytes the rate allows. Returns the
//  bytes sent, 0 when none may or can go now, -1 when the connection
//  failed (and is dead).
static ssize_t
s_pipe_send (s_proxy_t *self, s_conn_t *conn, int index)
{
    s_pipe_t *pipe = &conn->pipe [index];
    s_handle_t *sink = &conn->side [1 - index];
    s_chunk_t *chunk = pipe->head;
    size_t size = chunk->size - chunk->sent;
    if (chunk->release > self->now)
        return 0;
    if (self->rate) {
        s_refill (self, pipe);
        if (pipe->tokens < 1)
            return 0;
        if ((double) size > pipe->tokens)
            size = (size_t) pipe->tokens;
    }
    ssize_t sent = send (sink->fd, chunk->data + chunk->sent, size, MSG_NOSIGNAL);
    if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            sink->writable = false;
            return 0;
        }
        s_conn_fail (self, conn, 1 - index, "send()", errno);
        return -1;
    }
    chunk->sent += (size_t) sent;
    pipe->buffered -= (size_t) sent;
    pipe->tokens -= (double) sent;
    if (index == 0)
        self->up += (uint64_t) sent;
    else
        self->down += (uint64_t) sent;
    if (chunk->sent == chunk->size) {
        pipe->head = chunk->next;
        if (!pipe->head)
            pipe->tail = NULL;
        free (chunk);
    }
    return sent;
}

//  Writes the pipe's released bytes to side [1 - index] while it takes
//  them, then passes an end of stream on when its time came. Returns true
//  when something happened; the connection may be dead afterwards.
static bool
s_pipe_flush (s_proxy_t *self, s_conn_t *conn, int index)
{
    s_pipe_t *pipe = &conn->pipe [index];
    s_handle_t *sink = &conn->side [1 - index];
    bool progress = false;
    if (sink->fd < 0 || (index == 0 && conn->connecting))
        return false;
    while (pipe->head && sink->writable) {
        ssize_t sent = s_pipe_send (self, conn, index);
        if (sent < 0)
            return true;
        if (sent == 0)
            break;
        progress = true;
    }
    if (!pipe->head && pipe->eof && !pipe->shut && self->now >= pipe->eof_release) {
        shutdown (sink->fd, SHUT_WR);
        pipe->shut = true;
        progress = true;
    }
    return progress;
}

//  When the pipe needs a pump although no event comes: its next chunk's
//  release, enough tokens for it, or its FIN's release. S_NEVER when it
//  waits for an event (or for nothing).
static int64_t
s_pipe_wake (s_proxy_t *self, s_conn_t *conn, int index)
{
    s_pipe_t *pipe = &conn->pipe [index];
    s_handle_t *sink = &conn->side [1 - index];
    if (sink->fd < 0 || (index == 0 && conn->connecting))
        return S_NEVER;
    if (!pipe->head)
        return pipe->eof && !pipe->shut? pipe->eof_release: S_NEVER;
    if (!sink->writable)
        return S_NEVER;
    if (pipe->head->release > self->now)
        return pipe->head->release;
    if (!self->rate)
        return self->now;
    s_refill (self, pipe);
    double need = (double) (pipe->head->size - pipe->head->sent);
    if (need > s_burst (self))
        need = s_burst (self);
    int64_t wait = (int64_t) ((need - pipe->tokens) * 1000 / (double) self->rate) + 1;
    return self->now + (wait > 0? wait: 1);
}

//  --------------------------------------------------------------------------
//  Pumping a connection

//  Moves whatever bytes can move now, both ways; closes the connection
//  when both directions ended; sets when it next needs a pump. Does
//  nothing in blackhole mode.
static void
s_conn_pump (s_proxy_t *self, s_conn_t *conn)
{
    conn->wake = S_NEVER;
    if (self->mode == S_BLACKHOLE || conn->dead)
        return;
    if (conn->connecting && conn->side [1].writable && s_conn_check_connect (self, conn))
        return;
    bool progress = true;
    int round;
    for (round = 0; progress && round < S_PUMP_ROUNDS; round++) {
        progress = false;
        for (int i = 0; i < 2 && !conn->dead; i++)
            progress |= s_pipe_flush (self, conn, i);
        for (int i = 0; i < 2 && !conn->dead; i++)
            progress |= s_pipe_fill (self, conn, i);
        if (conn->dead)
            return;
    }
    if (conn->pipe [0].shut && conn->pipe [1].shut) {
        s_conn_close (self, conn, false);
        return;
    }
    int64_t wake0 = s_pipe_wake (self, conn, 0);
    int64_t wake1 = s_pipe_wake (self, conn, 1);
    conn->wake = wake0 < wake1? wake0: wake1;
    if (progress)       //  out of rounds with work left: come back soon
        conn->wake = self->now;
}

//  Pumps every connection whose wake time came.
static void
s_pump_due (s_proxy_t *self)
{
    s_conn_t *conn = self->conns;
    while (conn) {
        s_conn_t *next = conn->next;
        if (conn->wake <= self->now)
            s_conn_pump (self, conn);
        conn = next;
    }
}

//  Handles an event of a connection's side: records the readiness (the
//  sockets are edge-triggered) and pumps the connection. An error or hang
//  up makes the side readable and writable: the next recv() or send()
//  tells what happened (in blackhole mode, once pass returns).
static void
s_side_event (s_proxy_t *self, s_handle_t *side, uint32_t events)
{
    if (side->conn->dead || side->fd < 0)
        return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        side->readable = true;
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        side->writable = true;
    s_conn_pump (self, side->conn);
}

//  --------------------------------------------------------------------------
//  Modes and commands

//  Resets every connection (RST on both sides), counting them.
static void
s_reset_all (s_proxy_t *self)
{
    while (self->conns) {
        self->resets++;
        s_conn_close (self, self->conns, true);
    }
}

//  Switches mode. Leaving blackhole mode connects the connections accepted
//  meanwhile and pumps every connection.
static void
s_set_mode (s_proxy_t *self, s_mode_t mode)
{
    s_mode_t old = self->mode;
    self->mode = mode;
    if (old != S_BLACKHOLE || mode == S_BLACKHOLE)
        return;
    s_conn_t *conn = self->conns;
    while (conn) {
        s_conn_t *next = conn->next;
        conn->wake = self->now;
        if (conn->side [1].fd < 0)
            s_conn_connect (self, conn);
        conn = next;
    }
}

//  Sets the rate; every bucket starts full at the new rate.
static void
s_set_rate (s_proxy_t *self, int64_t rate)
{
    self->rate = rate;
    for (s_conn_t *conn = self->conns; conn; conn = conn->next) {
        for (int i = 0; i < 2; i++) {
            conn->pipe [i].tokens = s_burst (self);
            conn->pipe [i].refilled = self->now;
        }
        conn->wake = self->now;
    }
}

//  Carries out a command.
static void
s_apply (s_proxy_t *self, const s_command_t *command)
{
    switch (command->kind) {
        case S_CMD_PASS:        s_set_mode (self, S_PASS); break;
        case S_CMD_BLACKHOLE:   s_set_mode (self, S_BLACKHOLE); break;
        case S_CMD_REFUSE:      s_set_mode (self, S_REFUSE); break;
        case S_CMD_RESET:       s_reset_all (self); s_set_mode (self, S_PASS); break;
        case S_CMD_DELAY:       self->delay = command->value; break;
        case S_CMD_JITTER:      self->jitter = command->value; break;
        case S_CMD_RATE:        s_set_rate (self, command->value); break;
        case S_CMD_STATS:       s_write_stats (self); break;
    }
}

//  Parses and carries out one control line; logs it, or why it was
//  ignored.
static void
s_control_line (s_proxy_t *self, const char *line)
{
    s_command_t command;
    char error [256];
    if (strspn (line, " \t\r") == strlen (line))
        return;
    if (s_command_parse (line, &command, error, sizeof error)) {
        s_log ("control: %s (ignored)", error);
        return;
    }
    s_log ("control: %s", command.text);
    s_apply (self, &command);
}

//  Reads the control FIFO and carries out each complete line. Lines longer
//  than S_LINE_MAX are dropped with a warning.
static void
s_control_read (s_proxy_t *self)
{
    char buffer [1024];
    ssize_t got;
    while ((got = read (self->control.fd, buffer, sizeof buffer)) > 0)
        for (ssize_t i = 0; i < got; i++) {
            if (buffer [i] == '\n') {
                self->line [self->line_len] = 0;
                if (self->line_too_long)
                    s_log ("control: a line longer than %d bytes (ignored)", S_LINE_MAX - 1);
                else
                    s_control_line (self, self->line);
                self->line_len = 0;
                self->line_too_long = false;
            }
            else
            if (self->line_len < S_LINE_MAX - 1)
                self->line [self->line_len++] = buffer [i];
            else
                self->line_too_long = true;
        }
}

//  Runs the schedule's commands whose time came.
static void
s_run_schedule (s_proxy_t *self)
{
    while (self->schedule_next < self->schedule_len
    &&     self->start + self->schedule [self->schedule_next].at <= self->now) {
        s_command_t *command = &self->schedule [self->schedule_next++];
        s_log ("schedule: at %.3f s: %s", (double) command->at / 1000, command->text);
        s_apply (self, command);
    }
}

//  --------------------------------------------------------------------------
//  Listener, signals, loop

//  Accepts every pending client. Out of file descriptors, pauses accepting
//  for 100 ms (the listener is level-triggered).
static void
s_accept (s_proxy_t *self)
{
    while (true) {
        int fd = accept4 (self->listener.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            s_conn_new (self, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            s_log ("cannot accept a client: %s; pausing accepts for 100 ms", strerror (errno));
            epoll_ctl (self->epfd, EPOLL_CTL_DEL, self->listener.fd, NULL);
            self->accept_resume = self->now + 100;
        }
        else
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            s_log ("cannot accept a client: %s", strerror (errno));
        return;
    }
}

//  Reads the signalfd: SIGTERM and SIGINT stop the loop, SIGUSR1 writes
//  the stats.
static void
s_signal_read (s_proxy_t *self)
{
    struct signalfd_siginfo info;
    while (read (self->signals.fd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGUSR1)
            s_write_stats (self);
        else
            self->stop = true;
    }
}

//  Returns the epoll_wait timeout: until the nearest connection wake,
//  schedule entry or accept resumption; -1 when there is none.
static int
s_timeout (s_proxy_t *self)
{
    int64_t next = self->accept_resume? self->accept_resume: S_NEVER;
    if (self->schedule_next < self->schedule_len
    &&  self->start + self->schedule [self->schedule_next].at < next)
        next = self->start + self->schedule [self->schedule_next].at;
    for (s_conn_t *conn = self->conns; conn; conn = conn->next)
        if (conn->wake < next)
            next = conn->wake;
    if (next == S_NEVER)
        return -1;
    int64_t now = s_clock_ms ();
    return next <= now? 0: next - now > 60000? 60000: (int) (next - now);
}

//  One turn of the loop: wait, dispatch events, run due timers.
static void
s_turn (s_proxy_t *self)
{
    struct epoll_event events [64];
    int count = epoll_wait (self->epfd, events, 64, s_timeout (self));
    if (count < 0 && errno != EINTR) {
        s_log ("epoll_wait failed: %s; stopping", strerror (errno));
        self->stop = true;
        return;
    }
    self->now = s_clock_ms ();
    for (int i = 0; i < count; i++) {
        s_handle_t *handle = events [i].data.ptr;
        if (handle->kind == S_H_LISTEN)
            s_accept (self);
        else if (handle->kind == S_H_CONTROL)
            s_control_read (self);
        else if (handle->kind == S_H_SIGNAL)
            s_signal_read (self);
        else
            s_side_event (self, handle, events [i].events);
    }
    if (self->accept_resume && self->accept_resume <= self->now) {
        self->accept_resume = 0;
        s_watch (self, &self->listener, EPOLLIN);
    }
    s_run_schedule (self);
    s_pump_due (self);
    s_bury (self);
}

//  --------------------------------------------------------------------------
//  Setup and teardown

//  Opens the listening socket on address (text for messages) and writes
//  its port to port_file (when given). Exits 1 when it cannot.
static void
s_listen (s_proxy_t *self, struct sockaddr_storage address, socklen_t length,
          const char *text, const char *port_file)
{
    int fd = socket (address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind (fd, (struct sockaddr *) &address, length) || listen (fd, 512)) {
        fprintf (stderr, "zc-proxy: cannot listen on %s: %s (pick another port, or 0)\n", text, strerror (errno));
        exit (1);
    }
    self->listener = (s_handle_t) { .kind = S_H_LISTEN, .fd = fd };
    length = sizeof address;
    getsockname (fd, (struct sockaddr *) &address, &length);
    int port = ntohs (address.ss_family == AF_INET?
                      ((struct sockaddr_in *) &address)->sin_port:
                      ((struct sockaddr_in6 *) &address)->sin6_port);
    char text_port [16];
    snprintf (text_port, sizeof text_port, "%d\n", port);
    if (s_watch (self, &self->listener, EPOLLIN)
    ||  (port_file && s_write_atomic (port_file, text_port)))
        exit (1);
    s_log ("listening on port %d, forwarding to %s", port, self->to_text);
}

//  Opens (creating it when missing) the control FIFO, read side and a
//  write side of our own, so that it never reports an end of file when a
//  writer such as `echo` closes it. Exits 1 when it cannot, 2 when the
//  path is not a FIFO.
static void
s_control_open (s_proxy_t *self)
{
    struct stat status;
    const char *path = self->control_path;
    if (stat (path, &status) && errno == ENOENT) {
        if (mkfifo (path, 0600)) {
            fprintf (stderr, "zc-proxy: cannot create the FIFO %s: %s\n", path, strerror (errno));
            exit (1);
        }
        self->control_created = true;
    }
    else
    if (stat (path, &status) == 0 && !S_ISFIFO (status.st_mode))
        s_usage_error ("--control %s: exists and is not a FIFO (remove it, or name a new path)", path);
    int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    self->control_writer = fd < 0? -1: open (path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || self->control_writer < 0) {
        fprintf (stderr, "zc-proxy: cannot open the FIFO %s: %s\n", path, strerror (errno));
        exit (1);
    }
    self->control = (s_handle_t) { .kind = S_H_CONTROL, .fd = fd };
    if (s_watch (self, &self->control, EPOLLIN))
        exit (1);
}

//  Blocks SIGTERM, SIGINT and SIGUSR1 and receives them on a signalfd;
//  ignores SIGPIPE. Exits 1 when it cannot.
static void
s_signals_open (s_proxy_t *self)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGUSR1);
    signal (SIGPIPE, SIG_IGN);
    int fd = -1;
    if (sigprocmask (SIG_BLOCK, &set, NULL) == 0)
        fd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        fprintf (stderr, "zc-proxy: cannot receive signals: %s\n", strerror (errno));
        exit (1);
    }
    self->signals = (s_handle_t) { .kind = S_H_SIGNAL, .fd = fd };
    if (s_watch (self, &self->signals, EPOLLIN))
        exit (1);
}

//  Writes the final stats, closes everything and frees all memory.
static void
s_shutdown (s_proxy_t *self)
{
    s_write_stats (self);
    while (self->conns)
        s_conn_close (self, self->conns, false);
    s_bury (self);
    if (self->control_path) {
        close (self->control.fd);
        close (self->control_writer);
        if (self->control_created)
            unlink (self->control_path);
    }
    close (self->signals.fd);
    close (self->listener.fd);
    close (self->epfd);
    free (self->schedule);
    s_log ("stopped: up %" PRIu64 ", down %" PRIu64 ", connections %" PRIu64 ", resets %" PRIu64,
           self->up, self->down, self->accepted, self->resets);
}

int
main (int argc, char **argv)
{
    s_proxy_t proxy = { .buffer_max = S_BUFFER_DEFAULT, .mode = S_PASS };
    s_proxy_t *self = &proxy;
    const char *listen_text = NULL, *port_file = NULL;
    struct sockaddr_storage listen_address;
    socklen_t listen_length;
    s_parse_args (self, argc, argv, &listen_text, &port_file);
    s_parse_endpoint ("--listen", listen_text, true, &listen_address, &listen_length);
    s_parse_endpoint ("--to", self->to_text, false, &self->to, &self->to_len);
    srandom ((unsigned) (time (NULL) ^ getpid ()));
    self->epfd = epoll_create1 (EPOLL_CLOEXEC);
    if (self->epfd < 0) {
        fprintf (stderr, "zc-proxy: epoll_create1: %s\n", strerror (errno));
        return 1;
    }
    self->now = self->start = s_clock_ms ();
    s_signals_open (self);
    if (self->control_path)
        s_control_open (self);
    s_listen (self, listen_address, listen_length, listen_text, port_file);
    while (!self->stop)
        s_turn (self);
    s_shutdown (self);
    return 0;
}
