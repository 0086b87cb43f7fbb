/*  bench-pubsub.c — pub/sub throughput and fan-out (issue 13): zcnc
    through its agents' sockets and, in the same run, NATS (libnats) and
    MQTT (libmosquitto) when this program was built with them.

    usage: bench-pubsub zcnc-throughput --pub SOCKET --sub SOCKET [--unsigned]
                                        [--window N] [--pub-batch K] [--sub-batch]
                                        [COMMON]
           bench-pubsub zcnc-fanout --pub SOCKET --sub SOCKET [--sub SOCKET ...]
                                    [--per-conn N] [--unsigned] [--sub-batch]
                                    [COMMON]
           bench-pubsub nats-throughput --url URL [--ca FILE] [COMMON]
           bench-pubsub nats-fanout --url URL [--ca FILE] [--conns N]
                                    [--threads N] [COMMON]
           bench-pubsub mqtt-throughput --port PORT [COMMON]
           bench-pubsub mqtt-fanout --port PORT [COMMON]
           bench-pubsub features
           bench-pubsub free-port
    COMMON: [--label TEXT] [--count N] [--size BYTES] [--runs N] [--subs N]
            [--rounds N] [--warmup N] [--timeout SECS]

    Throughput (`*-throughput`): one publisher sends --count (100000)
    messages of --size (100) bytes to one subject as fast as its client
    takes them; one subscriber on another connection counts what arrives.
    The figure is messages received / (last received - first published):
    what got through, at the rate it got through. Messages lost on the way
    (a subscriber's backlog over its bound, a broker's queue) are counted,
    not resent. With --runs N the figure is measured N times and its row
    gives the median run and the range.
    zcnc: the publisher is a client of one agent's socket that pipelines
    {"op":"pub"} requests, at most --window (1000) unanswered (the agent
    sends what one turn of its loop took on one subject as one PUB under
    one signature, so the window decides how much is batched; --window 1
    publishes one message at a time); a request the agent refuses (its
    link to the hub full) is counted as refused and not sent again. The
    subscriber is a client of another agent's socket with one
    {"op":"sub"}; the agent tells it in "dropped" what its 1 MiB
    backlog lost. With --pub-batch K each request publishes K messages
    ({"op":"pub","data":[...]}, answered with their "count"; the last
    request may hold fewer), and --window counts requests, not messages.
    With --sub-batch the subscription asks for "batch":true: a line per
    publication batch the agent received, its messages in a "data"
    array (counted one by one, as single lines are). NATS: natsConnection_Publish on one connection, an
    asynchronous subscription on another (libnats' default pending
    limits: what they drop is counted). MQTT: QoS 0, libmosquitto's
    threaded network loop on both clients.

    Fan-out (`*-fanout`): --subs (1000) subscriptions to one subject, all
    held by this process; --warmup (5) then --rounds (50) rounds of one
    message each; per round the time from publishing until the first and
    until the last subscription has its copy (p50, p99, min, max), and
    the copies that did not come within --timeout (5) seconds. zcnc: the
    subscriptions are spread evenly over the agents given with --sub,
    --per-conn (1) subscriptions on each socket connection (so 1000
    connections by default: as many `zcnc sub` processes would hold);
    --sub-batch subscribes with "batch":true (a line per publication
    batch, here one message each).
    NATS: --conns (10) connections, the subscriptions spread evenly
    over them, delivered by libnats' global delivery pool of --threads (1)
    threads (one thread per subscription, libnats' default, would be 1000
    threads); the publisher's connection sends at once (SendAsap).
    MQTT: a client connection per subscription (a client gets one copy
    of a message however many of its subscriptions match), all driven
    by this thread with libmosquitto's non-threaded calls.

    Before measuring, each zcnc figure publishes probes until every
    subscription had one (the interest has reached the hubs), at most
    20 s. Every figure prints a line, and a line "row<TAB>FIGURE<TAB>
    SYSTEM<TAB>VALUE<TAB>DETAIL" that bench/pubsub.sh gathers into its
    table. Exit status: 0 when the figure was measured (lost messages
    included), 1 when it could not be (no connection, no interest,
    errors), 2 on a usage error or a system this build cannot drive.
*/
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#ifdef ZC_BENCH_NATS
#   include "bench-nats.h"
#endif
#ifdef ZC_BENCH_MQTT
#   include <mosquitto.h>
#endif
#include "bench-stats.h"

#define S_MAX_SIZE          15000       //  bytes of data (zcnc takes 15872)
#define S_MAX_SOCKETS       64          //  --sub options of zcnc-fanout
#define S_MAX_AGENT_CONNS   250         //  an agent takes 256 clients
#define S_IDLE_MS           2000        //  end a throughput run this long after the last message
#define S_RUN_LIMIT_MS      300000      //  and in any case after this
#define S_INTEREST_MS       20000       //  probes until the interest is in place
#define S_ROUND_GAP_MS      10          //  pause between fan-out rounds
#define S_MAX_PUB_BATCH     1024        //  messages in one pub request
#define S_MAX_REQUEST       65536       //  bytes of a request line, its newline included
#define S_TP_SUBJECT        "bench.tp.%d"

typedef struct {
    const char *label;
    size_t count, size;
    int subs, rounds, warmup, timeout_s;
    int runs;                   //  of a throughput figure
    //  zcnc
    const char *pub_socket;
    const char *sub_sockets [S_MAX_SOCKETS];
    int sub_socket_count;
    int window, per_conn;
    int pub_batch;              //  messages per pub request ("data":[...]), 0: one as "data":"..."
    bool unsigned_, sub_batch;
    //  NATS, MQTT
    const char *url, *ca;
    int conns, threads, port;
} s_args_t;

//  ---------------------------------------------------------------------
//  What the subscriber of a throughput run received. Data is 'm' and the
//  sequence number in 8 digits, padded with 'x'; anything else (probes)
//  is not counted. Callers from other threads hold 'lock'.

typedef struct {
    pthread_mutex_t lock;
    size_t count;               //  sequence numbers 0 .. count-1
    uint8_t *got;               //  got [seq] once received
    size_t received, duplicates, foreign;
    uint64_t dropped;           //  what the subscriber's side said it lost
    double last_ms;             //  when the last message came
} s_sink_t;

static void
s_sink_init (s_sink_t *self, size_t count)
{
    memset (self, 0, sizeof *self);
    pthread_mutex_init (&self->lock, NULL);
    self->count = count;
    self->got = calloc (count, 1);
    if (!self->got) {
        fprintf (stderr, "bench-pubsub: out of memory\n");
        exit (1);
    }
}

static void
s_sink_fini (s_sink_t *self)
{
    free (self->got);
    pthread_mutex_destroy (&self->lock);
}

//  Takes one message's data (not necessarily terminated).
static void
s_sink_take (s_sink_t *self, const char *data, size_t size)
{
    size_t seq = 0;
    bool ours = size >= 9 && data [0] == 'm';
    for (size_t index = 1; ours && index < 9; index++) {
        if (data [index] < '0' || data [index] > '9')
            ours = false;
        seq = seq * 10 + (size_t) (data [index] - '0');
    }
    double now = s_now_ms ();
    if (!ours || seq >= self->count)
        self->foreign++;
    else
    if (self->got [seq])
        self->duplicates++;
    else {
        self->got [seq] = 1;
        self->received++;
        self->last_ms = now;
    }
}

//  Fills 'data' with message 'seq' of 'size' bytes (and a terminating
//  null).
static void
s_message (char *data, size_t size, char kind, size_t seq)
{
    memset (data, 'x', size);
    char head [16];
    snprintf (head, sizeof head, "%c%08zu", kind, seq % 100000000);
    memcpy (data, head, 9);
    data [size] = 0;
}

//  The runs of a throughput figure (--runs): the row gives the median.
#define S_MAX_RUNS  32
typedef struct {
    double rate, publish_rate;
    size_t received, sent, lost, refused;
} s_result_t;
static s_result_t s_results [S_MAX_RUNS];
static int s_result_count;

//  Prints one run of a throughput figure and keeps it for the row:
//  'sent' messages the publisher's client took from first_ms, the last
//  taken at published_ms.
static void
s_throughput_report (const s_args_t *args, s_sink_t *sink, size_t sent, size_t refused,
                     double first_ms, double published_ms, const char *note)
{
    double seconds = sink->received? (sink->last_ms - first_ms) / 1000: 0;
    double rate = seconds > 0? sink->received / seconds: 0;
    double publish_rate = published_ms > first_ms? sent / ((published_ms - first_ms) / 1000): 0;
    size_t lost = sent > sink->received? sent - sink->received: 0;
    printf ("throughput %-28s %.0f msgs/s: received %zu of %zu sent in %.3f s (lost %zu",
            args->label, rate, sink->received, sent, seconds, lost);
    if (sink->dropped)
        printf (", the subscriber was told %" PRIu64 " dropped", sink->dropped);
    if (refused)
        printf (", %zu refused to the publisher", refused);
    if (sink->duplicates)
        printf (", %zu duplicates", sink->duplicates);
    printf ("); published at %.0f msgs/s%s%s\n", publish_rate, note? "; ": "", note? note: "");
    if (s_result_count < S_MAX_RUNS)
        s_results [s_result_count++] = (s_result_t) {
            .rate = rate, .publish_rate = publish_rate, .received = sink->received,
            .sent = sent, .lost = lost, .refused = refused
        };
}

static int
s_result_compare (const void *a, const void *b)
{
    double x = ((const s_result_t *) a)->rate, y = ((const s_result_t *) b)->rate;
    return (x > y) - (x < y);
}

//  The table's row of a throughput figure: its median run (the lower of
//  the middle two for an even count), and the range over the runs.
static void
s_throughput_row (const s_args_t *args)
{
    if (s_result_count == 0) {
        printf ("row\tthroughput, 1 pub -> 1 sub, %zu B\t%s\tnone\tno run completed\n",
                args->size, args->label);
        return;
    }
    qsort (s_results, s_result_count, sizeof s_results [0], s_result_compare);
    s_result_t *median = &s_results [(s_result_count - 1) / 2];
    char runs [96] = "", refusals [64] = "", batches [96] = "";
    if (args->pub_batch)
        snprintf (batches, sizeof batches, "%d msgs per request, at most %d requests in flight; ",
                  args->pub_batch, args->window);
    if (s_result_count > 1)
        snprintf (runs, sizeof runs, "median of %d runs (%.0f-%.0f); ", s_result_count,
                  s_results [0].rate, s_results [s_result_count - 1].rate);
    if (median->refused)
        snprintf (refusals, sizeof refusals, ", %zu more refused by the agent", median->refused);
    //  The median run's losses need not be the others': all runs' too,
    //  when some run lost messages.
    size_t all_lost = 0, all_sent = 0;
    for (int index = 0; index < s_result_count; index++) {
        all_lost += s_results [index].lost;
        all_sent += s_results [index].sent;
    }
    char overall [96] = "";
    if (s_result_count > 1 && all_lost)
        snprintf (overall, sizeof overall, "; all %d runs lost %zu of %zu (%.1f %%)", s_result_count,
                  all_lost, all_sent, 100.0 * all_lost / all_sent);
    printf ("row\tthroughput, 1 pub -> 1 sub, %zu B\t%s\t%.0f msgs/s\t%s%sreceived %zu of %zu sent,"
            " lost %zu (%.1f %%)%s%s; publisher %.0f msgs/s\n", args->size, args->label, median->rate, batches,
            runs, median->received, median->sent, median->lost,
            median->sent? 100.0 * median->lost / median->sent: 0.0, refusals, overall, median->publish_rate);
}

//  ---------------------------------------------------------------------
//  A fan-out round: copies of one message counted as they arrive. Data
//  is 'r' and the round's number, padded; copies of other rounds (late
//  ones after a timeout) are not counted. Callers from other threads
//  hold 'lock'.

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t done;        //  signalled when the last copy came
    size_t round;               //  round being counted
    size_t expected, got;
    double first_ms, last_ms;
    uint64_t dropped;           //  the most any subscription was told
    size_t errors;
} s_fan_t;

static void
s_fan_init (s_fan_t *self, size_t expected)
{
    memset (self, 0, sizeof *self);
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->done, NULL);
    self->expected = expected;
    self->round = (size_t) -1;
}

static void
s_fan_fini (s_fan_t *self)
{
    pthread_mutex_destroy (&self->lock);
    pthread_cond_destroy (&self->done);
}

//  Starts counting round 'round' (the caller holds the lock, or is the
//  only thread).
static void
s_fan_start (s_fan_t *self, size_t round)
{
    self->round = round;
    self->got = 0;
    self->first_ms = self->last_ms = 0;
}

static void
s_fan_take (s_fan_t *self, const char *data, size_t size)
{
    size_t round = 0;
    bool ours = size >= 9 && data [0] == 'r';
    for (size_t index = 1; ours && index < 9; index++) {
        if (data [index] < '0' || data [index] > '9')
            ours = false;
        round = round * 10 + (size_t) (data [index] - '0');
    }
    if (!ours || round != self->round)
        return;
    double now = s_now_ms ();
    if (self->got++ == 0)
        self->first_ms = now;
    if (self->got == self->expected) {
        self->last_ms = now;
        pthread_cond_signal (&self->done);
    }
}

//  The measured rounds: when the first and the last copy came after
//  the publish, per round (ms), and the copies that did not come.
typedef struct {
    double *first, *last;
    int done;
    size_t missing;
} s_rounds_t;

static void
s_fan_report (const s_args_t *args, s_rounds_t *rounds, s_fan_t *fan, const char *arrangement)
{
    if (rounds->done == 0) {
        printf ("fanout %-28s no round completed (%zu copies missing)\n", args->label, rounds->missing);
        printf ("row\tfan-out to %zu, last copy\t%s\tnone\tno round completed\n", fan->expected, args->label);
        return;
    }
    int count = rounds->done;
    qsort (rounds->first, count, sizeof (double), s_compare);
    qsort (rounds->last, count, sizeof (double), s_compare);
    double p50 = s_percentile (rounds->last, count, 0.50), p99 = s_percentile (rounds->last, count, 0.99);
    double first50 = s_percentile (rounds->first, count, 0.50);
    printf ("fanout %-28s last copy p50=%.3fms p99=%.3fms min=%.3fms max=%.3fms;"
            " first copy p50=%.3fms p99=%.3fms; n=%d rounds of %zu subscriptions (%s)",
            args->label, p50, p99, rounds->last [0], rounds->last [count - 1],
            first50, s_percentile (rounds->first, count, 0.99), count, fan->expected, arrangement);
    if (rounds->missing)
        printf ("; %zu copies missing after %d s", rounds->missing, args->timeout_s);
    if (fan->dropped)
        printf ("; subscribers told %" PRIu64 " dropped", fan->dropped);
    printf ("\n");
    char missing [64] = "";
    if (rounds->missing)
        snprintf (missing, sizeof missing, ", %zu copies missing", rounds->missing);
    printf ("row\tfan-out to %zu, last copy\t%s\tp50 %.2f ms, p99 %.2f ms\tfirst copy p50 %.2f ms;"
            " max %.2f ms; %d rounds%s\n",
            fan->expected, args->label, p50, p99, first50, rounds->last [count - 1], count, missing);
    fflush (stdout);
}

//  ---------------------------------------------------------------------
//  zcnc: connections to agent sockets, lines in and out, non-blocking.

typedef struct _s_conn_t s_conn_t;
typedef void (s_line_fn) (s_conn_t *conn, char *line, size_t size, void *arg);

struct _s_conn_t {
    int fd;
    char *in;                   //  bytes read, not yet a whole line
    size_t in_used, in_size;
    char *out;                  //  bytes to write
    size_t out_used, out_sent, out_size;
    bool want_out;              //  registered for EPOLLOUT
    s_line_fn *on_line;
    void *arg;
};

//  Connects to an agent socket. NULL after printing why.
static s_conn_t *
s_conn_new (const char *path, s_line_fn *on_line, void *arg)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof address.sun_path) {
        fprintf (stderr, "bench-pubsub: socket path too long: %s\n", path);
        return NULL;
    }
    strcpy (address.sun_path, path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1 || connect (fd, (struct sockaddr *) &address, sizeof address) == -1) {
        fprintf (stderr, "bench-pubsub: cannot connect to %s: %s\n", path, strerror (errno));
        if (fd != -1)
            close (fd);
        return NULL;
    }
    fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
    s_conn_t *self = calloc (1, sizeof *self);
    self->fd = fd;
    self->in_size = 32768;          //  grows when a read could not fill 16 KiB
    self->in = malloc (self->in_size);
    self->out_size = 4096;
    self->out = malloc (self->out_size);
    self->on_line = on_line;
    self->arg = arg;
    return self;
}

static void
s_conn_destroy (s_conn_t **self_p)
{
    s_conn_t *self = *self_p;
    if (self) {
        close (self->fd);
        free (self->in);
        free (self->out);
        free (self);
        *self_p = NULL;
    }
}

//  Appends text to what the connection will write.
static void
s_conn_queue (s_conn_t *self, const char *text, size_t size)
{
    if (self->out_sent == self->out_used)
        self->out_sent = self->out_used = 0;
    if (self->out_used + size > self->out_size) {
        memmove (self->out, self->out + self->out_sent, self->out_used - self->out_sent);
        self->out_used -= self->out_sent;
        self->out_sent = 0;
        while (self->out_used + size > self->out_size)
            self->out_size *= 2;
        self->out = realloc (self->out, self->out_size);
    }
    memcpy (self->out + self->out_used, text, size);
    self->out_used += size;
}

//  Writes what it can without blocking. 0, or -1 when the connection broke.
static int
s_conn_flush (s_conn_t *self)
{
    while (self->out_sent < self->out_used) {
        ssize_t rc = write (self->fd, self->out + self->out_sent, self->out_used - self->out_sent);
        if (rc > 0)
            self->out_sent += (size_t) rc;
        else
        if (rc == -1 && errno == EINTR)
            continue;
        else
        if (rc == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        else
            return -1;
    }
    return 0;
}

static bool
s_conn_pending (s_conn_t *self)
{
    return self->out_sent < self->out_used;
}

//  Reads what is there and hands each whole line to the connection's
//  handler. 0, or -1 when the agent closed the connection.
static int
s_conn_read (s_conn_t *self)
{
    while (true) {
        if (self->in_size - self->in_used < 16384) {
            self->in_size *= 2;
            self->in = realloc (self->in, self->in_size);
        }
        ssize_t rc = read (self->fd, self->in + self->in_used, self->in_size - self->in_used - 1);
        if (rc == -1 && errno == EINTR)
            continue;
        if (rc == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (rc <= 0)
            return -1;
        self->in_used += (size_t) rc;
        char *start = self->in, *end = self->in + self->in_used, *newline;
        while ((newline = memchr (start, '\n', (size_t) (end - start)))) {
            *newline = 0;
            self->on_line (self, start, (size_t) (newline - start), self->arg);
            start = newline + 1;
        }
        self->in_used = (size_t) (end - start);
        memmove (self->in, start, self->in_used);
        if ((size_t) rc < 16384)
            return 0;               //  most likely drained
    }
}

//  The value of "data" in a message line, or NULL; *size its length
//  (our data has no escapes).
static const char *
s_line_data (const char *line, size_t *size)
{
    const char *data = strstr (line, "\"data\":\"");
    if (!data)
        return NULL;
    data += 8;
    const char *end = strchr (data, '"');
    *size = end? (size_t) (end - data): 0;
    return data;
}

//  The "dropped" count of a message line, 0 when it has none.
static uint64_t
s_line_dropped (const char *line)
{
    const char *dropped = strstr (line, "\"dropped\":");
    return dropped? strtoull (dropped + 10, NULL, 10): 0;
}

//  The first 'needle' in [start, end), or NULL.
static const char *
s_find (const char *start, const char *end, const char *needle)
{
    size_t length = strlen (needle);
    while (end - start >= (ptrdiff_t) length) {
        const char *found = memchr (start, needle [0], (size_t) (end - start) - length + 1);
        if (!found)
            return NULL;
        if (memcmp (found, needle, length) == 0)
            return found;
        start = found + 1;
    }
    return NULL;
}

//  The data of a message line in a "batch":true subscription: "data" (or
//  "data_b64") is an array of strings. Read item by item, in place,
//  without a JSON parser; escapes are left as they are (ours have none,
//  and an item with one is not ours: counted as foreign).
typedef struct {
    const char *line, *end;
    const char *key;            //  where "data" starts
    const char *next;           //  the rest of the array
    const char *after;          //  past the array, once read to its end
    bool b64;                   //  "data_b64": the items are base64
} s_items_t;

//  Finds a line's data array. false when the line has none (an answer,
//  an error, or a message line of a subscription without "batch").
static bool
s_items_start (s_items_t *self, const char *line, size_t size)
{
    memset (self, 0, sizeof *self);
    self->line = line;
    self->end = line + size;
    const char *key = s_find (line, self->end, "\"data\":");
    const char *value = key? key + 7: NULL;
    if (!key && (key = s_find (line, self->end, "\"data_b64\":"))) {
        value = key + 11;
        self->b64 = true;
    }
    while (value && value < self->end && *value == ' ')
        value++;
    if (!value || value == self->end || *value != '[')
        return false;
    self->key = key;
    self->next = value + 1;
    return true;
}

//  The next item of the array: *data and *size its bytes between the
//  quotes. false at the end of the array (or of a broken line).
static bool
s_items_next (s_items_t *self, const char **data, size_t *size)
{
    const char *cursor = self->next;
    while (cursor < self->end && (*cursor == ' ' || *cursor == ','))
        cursor++;
    if (cursor == self->end || *cursor != '"') {
        self->after = cursor < self->end? cursor + 1: self->end;
        self->next = self->end;
        return false;
    }
    const char *start = ++cursor;
    while (true) {
        const char *quote = memchr (cursor, '"', (size_t) (self->end - cursor));
        if (!quote) {
            self->after = self->next = self->end;
            return false;
        }
        //  A quote after an odd number of backslashes is in the string.
        size_t backslashes = 0;
        while (quote - backslashes > start && quote [-1 - (ptrdiff_t) backslashes] == '\\')
            backslashes++;
        cursor = quote + 1;
        if (backslashes % 2 == 0) {
            *data = start;
            *size = (size_t) (quote - start);
            self->next = cursor;
            return true;
        }
    }
}

//  The "dropped" count of a line whose array was read to its end: looked
//  for before the array and after it only (not through the data).
static uint64_t
s_items_dropped (const s_items_t *self)
{
    const char *dropped = s_find (self->line, self->key, "\"dropped\":");
    if (!dropped && self->after)
        dropped = s_find (self->after, self->end, "\"dropped\":");
    return dropped? strtoull (dropped + 10, NULL, 10): 0;
}

//  Prints the first few unexpected lines.
static void
s_unexpected (const char *what, const char *line)
{
    static int printed = 0;
    if (printed++ < 5)
        fprintf (stderr, "bench-pubsub: %s: %.300s\n", what, line);
}

//  One epoll set over connections, with EPOLLOUT only while a
//  connection has bytes it could not write.
typedef struct {
    int fd;
} s_poller_t;

static int
s_poller_add (s_poller_t *self, s_conn_t *conn)
{
    struct epoll_event event = { .events = EPOLLIN, .data.ptr = conn };
    return epoll_ctl (self->fd, EPOLL_CTL_ADD, conn->fd, &event);
}

//  Writes a connection's queue and watches for writability while some
//  is left. 0, or -1 when it broke.
static int
s_poller_flush (s_poller_t *self, s_conn_t *conn)
{
    if (s_conn_flush (conn) != 0)
        return -1;
    bool want = s_conn_pending (conn);
    if (want != conn->want_out) {
        struct epoll_event event = { .events = EPOLLIN | (want? EPOLLOUT: 0), .data.ptr = conn };
        epoll_ctl (self->fd, EPOLL_CTL_MOD, conn->fd, &event);
        conn->want_out = want;
    }
    return 0;
}

//  Waits up to timeout_ms for events and handles them. 0, or -1 when a
//  connection broke (after printing it).
static int
s_poller_run (s_poller_t *self, int timeout_ms)
{
    struct epoll_event events [256];
    int count = epoll_wait (self->fd, events, 256, timeout_ms);
    if (count == -1)
        return errno == EINTR? 0: -1;
    for (int index = 0; index < count; index++) {
        s_conn_t *conn = events [index].data.ptr;
        if ((events [index].events & EPOLLOUT) && s_poller_flush (self, conn) != 0) {
            fprintf (stderr, "bench-pubsub: the agent closed a connection\n");
            return -1;
        }
        if ((events [index].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && s_conn_read (conn) != 0) {
            fprintf (stderr, "bench-pubsub: the agent closed a connection\n");
            return -1;
        }
    }
    return 0;
}

//  Runs the poller until *done is true or 'limit_ms' passed. 0 when
//  done, 1 on timeout, -1 when a connection broke.
static int
s_poller_until (s_poller_t *self, volatile bool *done, double limit_ms)
{
    double deadline = s_now_ms () + limit_ms;
    while (!*done) {
        double left = deadline - s_now_ms ();
        if (left <= 0)
            return 1;
        if (s_poller_run (self, left > 100? 100: (int) left + 1) != 0)
            return -1;
    }
    return 0;
}

//  A pub request line.
static size_t
s_pub_request (char *buffer, size_t size, const char *subject, const char *data, bool unsigned_)
{
    int length = snprintf (buffer, size, "{\"op\":\"pub\",\"subject\":\"%s\",\"data\":\"%s\"%s}\n",
                           subject, data, unsigned_? ",\"unsigned\":true": "");
    return length > 0 && (size_t) length < size? (size_t) length: 0;
}

//  A pub request line of 'count' messages (data 'm' and the sequence
//  numbers from 'first', 'msg_size' bytes each) in one "data" array.
//  Its length, or 0 when it does not fit in 'size'.
static size_t
s_pub_batch_request (char *buffer, size_t size, const char *subject, size_t first, size_t count,
                     size_t msg_size, bool unsigned_)
{
    int head = snprintf (buffer, size, "{\"op\":\"pub\",\"subject\":\"%s\",\"data\":[", subject);
    const char *tail = unsigned_? "],\"unsigned\":true}\n": "]}\n";
    size_t tail_size = strlen (tail);
    if (head <= 0 || (size_t) head + count * (msg_size + 3) + tail_size > size)
        return 0;
    char *cursor = buffer + head;
    for (size_t index = 0; index < count; index++) {
        if (index)
            *cursor++ = ',';
        *cursor++ = '"';
        s_message (cursor, msg_size, 'm', first + index);
        cursor += msg_size;
        *cursor++ = '"';
    }
    memcpy (cursor, tail, tail_size);
    return (size_t) (cursor - buffer) + tail_size;
}

//  ---------------------------------------------------------------------
//  zcnc throughput

typedef struct {
    s_sink_t sink;
    size_t subscribed;
    size_t probes;              //  probe messages the subscriber got
    size_t answered;            //  requests answered
    size_t accepted, refused;   //  messages in them
    size_t failed;              //  requests
    size_t miscounted;          //  batches answered with another "count"
    double answered_ms;         //  when the last answer came
    size_t pending;             //  answers to skip (probes')
    size_t count, per_request;  //  messages in all, in each request
    bool sub_batch;             //  lines with a "data" array
    bool done;
} s_zcnc_tp_t;

//  A line of a "batch":true subscription: each item counted.
static void
s_zcnc_tp_sub_batch_line (s_zcnc_tp_t *self, char *line, size_t size)
{
    s_items_t items;
    if (!s_items_start (&items, line, size)) {
        if (strstr (line, "\"subscribed\""))
            self->subscribed++;
        else
            s_unexpected ("subscriber", line);
        return;
    }
    if (items.b64)
        s_unexpected ("subscriber (data not UTF-8, counted as foreign)", line);
    const char *data;
    size_t data_size;
    while (s_items_next (&items, &data, &data_size))
        if (data_size == 5 && memcmp (data, "probe", 5) == 0)
            self->probes++;
        else
        if (items.b64)
            self->sink.foreign++;
        else
            s_sink_take (&self->sink, data, data_size);
    uint64_t dropped = s_items_dropped (&items);
    if (dropped > self->sink.dropped)
        self->sink.dropped = dropped;
}

static void
s_zcnc_tp_sub_line (s_conn_t *conn, char *line, size_t size, void *arg)
{
    s_zcnc_tp_t *self = arg;
    if (self->sub_batch) {
        s_zcnc_tp_sub_batch_line (self, line, size);
        return;
    }
    size_t data_size;
    const char *data = s_line_data (line, &data_size);
    if (data) {
        if (strncmp (data, "probe", 5) == 0)
            self->probes++;
        else
            s_sink_take (&self->sink, data, data_size);
        uint64_t dropped = s_line_dropped (line);
        if (dropped > self->sink.dropped)
            self->sink.dropped = dropped;
    }
    else
    if (strstr (line, "\"subscribed\""))
        self->subscribed++;
    else
        s_unexpected ("subscriber", line);
}

static void
s_zcnc_tp_pub_line (s_conn_t *conn, char *line, size_t size, void *arg)
{
    s_zcnc_tp_t *self = arg;
    if (self->pending) {
        self->pending--;
        return;
    }
    //  Request i holds messages i * per_request on (the last one fewer).
    size_t first = self->answered++ * self->per_request;
    size_t messages = first < self->count? self->count - first: 0;
    if (messages > self->per_request)
        messages = self->per_request;
    self->answered_ms = s_now_ms ();
    if (!strstr (line, "\"error\"")) {
        self->accepted += messages;
        if (self->per_request > 1) {
            const char *count = strstr (line, "\"count\":");
            if (!count || strtoull (count + 8, NULL, 10) != messages) {
                self->miscounted++;
                s_unexpected ("publisher (not the request's count)", line);
            }
        }
    }
    else {
        //  A request of several is refused from its message N on ("message
        //  N of M: ..."): those before it were published.
        const char *which = self->per_request > 1? strstr (line, "message "): NULL;
        size_t before = which? strtoull (which + 8, NULL, 10): 0;
        if (before > 0 && before <= messages) {
            self->accepted += before - 1;
            messages -= before - 1;
        }
        if (strstr (line, "\"code\":\"full\""))
            self->refused += messages;
        else {
            self->failed++;
            s_unexpected ("publisher", line);
        }
    }
}

//  Publishes probes on 'subject' through 'pub' until 'probes' grows
//  (the subscriber's interest reached the hub), then lets late probes
//  drain. 0, or -1 after printing why not.
static int
s_zcnc_interest (s_poller_t *poller, s_conn_t *pub, const char *subject, size_t *probes,
                 size_t *pending, size_t wanted)
{
    char request [512];
    double deadline = s_now_ms () + S_INTEREST_MS;
    while (*probes < wanted) {
        if (s_now_ms () > deadline) {
            fprintf (stderr, "bench-pubsub: no probe on %s reached every subscription in %d s\n",
                     subject, S_INTEREST_MS / 1000);
            return -1;
        }
        s_conn_queue (pub, request, s_pub_request (request, sizeof request, subject, "probe", false));
        (*pending)++;
        if (s_poller_flush (poller, pub) != 0)
            return -1;
        double until = s_now_ms () + 200;
        while (*probes < wanted && s_now_ms () < until)
            if (s_poller_run (poller, 20) != 0)
                return -1;
    }
    double until = s_now_ms () + 300;
    while (s_now_ms () < until || *pending)
        if (s_poller_run (poller, 20) != 0 || s_now_ms () > until + 10000)
            return -1;
    return 0;
}

static int
s_zcnc_throughput (const s_args_t *args)
{
    s_zcnc_tp_t self;
    memset (&self, 0, sizeof self);
    s_sink_init (&self.sink, args->count);
    self.count = args->count;
    self.per_request = args->pub_batch? (size_t) args->pub_batch: 1;
    self.sub_batch = args->sub_batch;
    size_t requests = (args->count + self.per_request - 1) / self.per_request;
    int rc = 1;
    s_poller_t poller = { .fd = epoll_create1 (EPOLL_CLOEXEC) };
    s_conn_t *pub = s_conn_new (args->pub_socket, s_zcnc_tp_pub_line, &self);
    s_conn_t *sub = s_conn_new (args->sub_sockets [0], s_zcnc_tp_sub_line, &self);
    char subject [64], line [S_MAX_SIZE + 256], *data = malloc (args->size + 1);
    char *request = args->pub_batch? malloc (S_MAX_REQUEST): NULL;
    snprintf (subject, sizeof subject, S_TP_SUBJECT, (int) getpid ());
    if (!pub || !sub || s_poller_add (&poller, pub) || s_poller_add (&poller, sub))
        goto out;
    int length = snprintf (line, sizeof line, "{\"op\":\"sub\",\"subject\":\"%s\"%s}\n", subject,
                           args->sub_batch? ",\"batch\":true": "");
    s_conn_queue (sub, line, (size_t) length);
    bool subscribed = false;
    if (s_poller_flush (&poller, sub) != 0)
        goto out;
    double deadline = s_now_ms () + 5000;
    while (!(subscribed = self.subscribed > 0) && s_now_ms () < deadline)
        if (s_poller_run (&poller, 50) != 0)
            goto out;
    if (!subscribed) {
        fprintf (stderr, "bench-pubsub: the subscriber's agent did not answer its sub\n");
        goto out;
    }
    if (s_zcnc_interest (&poller, pub, subject, &self.probes, &self.pending, 1) != 0)
        goto out;

    //  Pipelined publishing, at most 'window' requests unanswered, while
    //  the subscriber is read; at most 256 messages queued at a time (or
    //  one request of more).
    size_t next = 0, sent = 0;
    double first_ms = s_now_ms (), limit = first_ms + S_RUN_LIMIT_MS;
    while (true) {
        size_t queued = 0;
        while (sent < requests && sent - self.answered < (size_t) args->window && queued < 256) {
            if (args->pub_batch) {
                size_t messages = args->count - next < self.per_request? args->count - next: self.per_request;
                size_t size = s_pub_batch_request (request, S_MAX_REQUEST, subject, next, messages,
                                                   args->size, args->unsigned_);
                if (size == 0) {
                    fprintf (stderr, "bench-pubsub: %zu messages of %zu bytes make a request over %d bytes\n",
                             messages, args->size, S_MAX_REQUEST);
                    goto out;
                }
                s_conn_queue (pub, request, size);
                next += messages;
                queued += messages;
            }
            else {
                s_message (data, args->size, 'm', next++);
                s_conn_queue (pub, line, s_pub_request (line, sizeof line, subject, data, args->unsigned_));
                queued++;
            }
            sent++;
        }
        if (s_poller_flush (&poller, pub) != 0 || s_poller_run (&poller, 10) != 0)
            goto out;
        double now = s_now_ms ();
        if (self.answered == requests) {
            double latest = self.sink.last_ms > self.answered_ms? self.sink.last_ms: self.answered_ms;
            if (self.sink.received >= self.accepted || now - latest > S_IDLE_MS)
                break;
        }
        if (now > limit) {
            fprintf (stderr, "bench-pubsub: stopped after %d s\n", S_RUN_LIMIT_MS / 1000);
            break;
        }
    }
    s_throughput_report (args, &self.sink, self.accepted, self.refused, first_ms, self.answered_ms, NULL);
    if (self.failed)
        fprintf (stderr, "bench-pubsub: %zu publications failed\n", self.failed);
    if (self.miscounted)
        fprintf (stderr, "bench-pubsub: %zu pub requests answered with another count than they held\n",
                 self.miscounted);
    rc = self.failed || self.miscounted || self.sink.received == 0? 1: 0;
out:
    s_conn_destroy (&pub);
    s_conn_destroy (&sub);
    close (poller.fd);
    free (data);
    free (request);
    s_sink_fini (&self.sink);
    return rc;
}

//  ---------------------------------------------------------------------
//  zcnc fan-out

typedef struct {
    s_fan_t fan;
    size_t subscribed;
    size_t answers;             //  to the publisher
    size_t failed;
    bool sub_batch;             //  lines with a "data" array
    bool done;
} s_zcnc_fan_t;

static void
s_zcnc_fan_sub_line (s_conn_t *conn, char *line, size_t size, void *arg)
{
    s_zcnc_fan_t *self = arg;
    s_items_t items;
    if (self->sub_batch && s_items_start (&items, line, size)) {
        const char *data;
        size_t data_size;
        while (s_items_next (&items, &data, &data_size))
            s_fan_take (&self->fan, data, data_size);
        self->done = self->fan.got >= self->fan.expected;
        uint64_t dropped = s_items_dropped (&items);
        if (dropped > self->fan.dropped)
            self->fan.dropped = dropped;
        return;
    }
    size_t data_size;
    const char *data = s_line_data (line, &data_size);
    if (data) {
        s_fan_take (&self->fan, data, data_size);
        self->done = self->fan.got >= self->fan.expected;
        uint64_t dropped = s_line_dropped (line);
        if (dropped > self->fan.dropped)
            self->fan.dropped = dropped;
    }
    else
    if (strstr (line, "\"subscribed\""))
        self->subscribed++;
    else {
        self->fan.errors++;
        s_unexpected ("subscriber", line);
    }
}

static void
s_zcnc_fan_pub_line (s_conn_t *conn, char *line, size_t size, void *arg)
{
    s_zcnc_fan_t *self = arg;
    self->answers++;
    if (strstr (line, "\"error\"")) {
        self->failed++;
        s_unexpected ("publisher", line);
    }
}

static int
s_zcnc_fanout (const s_args_t *args)
{
    s_zcnc_fan_t self;
    memset (&self, 0, sizeof self);
    s_fan_init (&self.fan, (size_t) args->subs);
    self.sub_batch = args->sub_batch;
    int rc = 1;
    s_poller_t poller = { .fd = epoll_create1 (EPOLL_CLOEXEC) };
    int agents = args->sub_socket_count;
    int conn_count = 0;
    s_conn_t **conns = calloc ((size_t) args->subs, sizeof (s_conn_t *));
    s_conn_t *pub = s_conn_new (args->pub_socket, s_zcnc_fan_pub_line, &self);
    char subject [64], line [S_MAX_SIZE + 256], *data = malloc (args->size + 1);
    snprintf (subject, sizeof subject, "bench.fan.%d", (int) getpid ());
    int length = snprintf (line, sizeof line, "{\"op\":\"sub\",\"subject\":\"%s\"%s}\n", subject,
                           args->sub_batch? ",\"batch\":true": "");
    if (!pub || s_poller_add (&poller, pub))
        goto out;
    //  Agent a holds subscriptions a, a + agents, ...: spread evenly.
    for (int agent = 0; agent < agents; agent++) {
        int mine = args->subs / agents + (agent < args->subs % agents);
        if ((mine + args->per_conn - 1) / args->per_conn > S_MAX_AGENT_CONNS) {
            fprintf (stderr, "bench-pubsub: %d connections to one agent: more than it takes (%d);"
                     " give more --sub sockets or a larger --per-conn\n",
                     (mine + args->per_conn - 1) / args->per_conn, S_MAX_AGENT_CONNS);
            goto out;
        }
        for (int done = 0; done < mine; ) {
            s_conn_t *conn = s_conn_new (args->sub_sockets [agent], s_zcnc_fan_sub_line, &self);
            if (!conn)
                goto out;
            conns [conn_count++] = conn;
            if (s_poller_add (&poller, conn) != 0)
                goto out;
            for (int index = 0; index < args->per_conn && done < mine; index++, done++)
                s_conn_queue (conn, line, (size_t) length);
            if (s_poller_flush (&poller, conn) != 0)
                goto out;
        }
    }
    double deadline = s_now_ms () + 10000;
    while (self.subscribed < (size_t) args->subs && s_now_ms () < deadline)
        if (s_poller_run (&poller, 50) != 0)
            goto out;
    if (self.subscribed < (size_t) args->subs) {
        fprintf (stderr, "bench-pubsub: %zu of %d subscriptions answered in 10 s\n",
                 self.subscribed, args->subs);
        goto out;
    }
    //  Probe rounds until one reaches every subscription, then the
    //  warm-up and the measured rounds; each round has its own number.
    size_t round = 0;
    bool ready = false;
    deadline = s_now_ms () + S_INTEREST_MS;
    while (!ready && s_now_ms () < deadline) {
        s_fan_start (&self.fan, round);
        self.done = false;
        s_message (data, args->size, 'r', round++);
        s_conn_queue (pub, line, s_pub_request (line, sizeof line, subject, data, args->unsigned_));
        if (s_poller_flush (&poller, pub) != 0)
            goto out;
        int waited = s_poller_until (&poller, &self.done, 500);
        if (waited < 0)
            goto out;
        ready = waited == 0;
    }
    if (!ready) {
        fprintf (stderr, "bench-pubsub: no probe reached all %d subscriptions in %d s (the last: %zu)\n",
                 args->subs, S_INTEREST_MS / 1000, self.fan.got);
        goto out;
    }
    s_rounds_t rounds = {
        .first = calloc ((size_t) args->rounds, sizeof (double)),
        .last = calloc ((size_t) args->rounds, sizeof (double))
    };
    for (int index = 0; index < args->warmup + args->rounds; index++) {
        double gap = s_now_ms () + S_ROUND_GAP_MS;
        while (s_now_ms () < gap)
            if (s_poller_run (&poller, 2) != 0)
                goto out_rounds;
        s_fan_start (&self.fan, round);
        self.done = false;
        s_message (data, args->size, 'r', round++);
        size_t request = s_pub_request (line, sizeof line, subject, data, args->unsigned_);
        double start = s_now_ms ();
        s_conn_queue (pub, line, request);
        if (s_poller_flush (&poller, pub) != 0)
            goto out_rounds;
        int waited = s_poller_until (&poller, &self.done, args->timeout_s * 1000.0);
        if (waited < 0)
            goto out_rounds;
        if (index < args->warmup)
            continue;
        if (waited == 0) {
            rounds.first [rounds.done] = self.fan.first_ms - start;
            rounds.last [rounds.done++] = self.fan.last_ms - start;
        }
        else
            rounds.missing += self.fan.expected - self.fan.got;
    }
    char arrangement [160];
    snprintf (arrangement, sizeof arrangement, "%d agents, %d socket connections, %d subscription%s each%s",
              agents, conn_count, args->per_conn, args->per_conn == 1? "": "s",
              args->sub_batch? ", \"batch\":true": "");
    s_fan_report (args, &rounds, &self.fan, arrangement);
    rc = self.failed || self.fan.errors? 1: 0;
out_rounds:
    free (rounds.first);
    free (rounds.last);
out:
    for (int index = 0; index < conn_count; index++)
        s_conn_destroy (&conns [index]);
    free (conns);
    s_conn_destroy (&pub);
    close (poller.fd);
    free (data);
    s_fan_fini (&self.fan);
    return rc;
}

//  ---------------------------------------------------------------------
//  NATS (libnats)

#ifdef ZC_BENCH_NATS
//  Connects to args->url, with TLS when args->ca names the CA file.
//  NULL after printing why.
static natsConnection *
s_nats_connect (const s_args_t *args, bool send_asap, bool global_delivery)
{
    return s_nats_open ("bench-pubsub", args->url, args->ca, send_asap, global_delivery);
}

static void
s_nats_tp_message (natsConnection *connection, natsSubscription *subscription, natsMsg *msg, void *arg)
{
    s_sink_t *sink = arg;
    pthread_mutex_lock (&sink->lock);
    s_sink_take (sink, natsMsg_GetData (msg), (size_t) natsMsg_GetDataLength (msg));
    pthread_mutex_unlock (&sink->lock);
    natsMsg_Destroy (msg);
}

static int
s_nats_throughput (const s_args_t *args)
{
    s_sink_t sink;
    s_sink_init (&sink, args->count);
    int rc = 1;
    natsSubscription *subscription = NULL;
    natsConnection *sub = s_nats_connect (args, false, false);
    natsConnection *pub = sub? s_nats_connect (args, false, false): NULL;
    char subject [64], *data = malloc (args->size + 1);
    snprintf (subject, sizeof subject, "bench.tp.%d", (int) getpid ());
    if (!pub)
        goto out;
    //  The flush's round trip: the server has the subscription.
    if (natsConnection_Subscribe (&subscription, sub, subject, s_nats_tp_message, &sink) != NATS_OK
    ||  natsConnection_Flush (sub) != NATS_OK) {
        fprintf (stderr, "bench-pubsub: cannot subscribe at NATS: %s\n", nats_GetLastError (NULL));
        goto out;
    }
    size_t sent = 0, failed = 0;
    double first_ms = s_now_ms ();
    for (size_t seq = 0; seq < args->count; seq++) {
        s_message (data, args->size, 'm', seq);
        if (natsConnection_Publish (pub, subject, data, (int) args->size) == NATS_OK)
            sent++;
        else
            failed++;
    }
    natsConnection_FlushTimeout (pub, 60000);
    double published_ms = s_now_ms ();
    double limit = first_ms + S_RUN_LIMIT_MS;
    while (true) {
        pthread_mutex_lock (&sink.lock);
        bool all = sink.received >= sent;
        double last = sink.last_ms > published_ms? sink.last_ms: published_ms;
        pthread_mutex_unlock (&sink.lock);
        double now = s_now_ms ();
        if (all || now - last > S_IDLE_MS || now > limit)
            break;
        usleep (1000);
    }
    int64_t dropped = 0;
    natsSubscription_GetDropped (subscription, &dropped);
    natsSubscription_Unsubscribe (subscription);
    pthread_mutex_lock (&sink.lock);
    sink.dropped = (uint64_t) dropped;
    char note [64] = "";
    if (failed)
        snprintf (note, sizeof note, "%zu publish calls failed", failed);
    s_throughput_report (args, &sink, sent, 0, first_ms, published_ms, failed? note: NULL);
    pthread_mutex_unlock (&sink.lock);
    rc = sink.received? 0: 1;
out:
    natsSubscription_Destroy (subscription);
    natsConnection_Destroy (pub);
    natsConnection_Destroy (sub);
    free (data);
    s_sink_fini (&sink);
    return rc;
}

static void
s_nats_fan_message (natsConnection *connection, natsSubscription *subscription, natsMsg *msg, void *arg)
{
    s_fan_t *fan = arg;
    pthread_mutex_lock (&fan->lock);
    s_fan_take (fan, natsMsg_GetData (msg), (size_t) natsMsg_GetDataLength (msg));
    pthread_mutex_unlock (&fan->lock);
    natsMsg_Destroy (msg);
}

//  Waits until the round's last copy or 'timeout_ms'. 0 when it came.
static int
s_fan_wait (s_fan_t *fan, int timeout_ms)
{
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long) (timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock (&fan->lock);
    int rc = 0;
    while (fan->got < fan->expected && rc == 0)
        rc = pthread_cond_timedwait (&fan->done, &fan->lock, &until);
    bool all = fan->got >= fan->expected;
    pthread_mutex_unlock (&fan->lock);
    return all? 0: -1;
}

static int
s_nats_fanout (const s_args_t *args)
{
    s_fan_t fan;
    s_fan_init (&fan, (size_t) args->subs);
    int rc = 1;
    natsConnection *pub = NULL;
    natsConnection **conns = calloc ((size_t) args->conns, sizeof (natsConnection *));
    natsSubscription **subs = calloc ((size_t) args->subs, sizeof (natsSubscription *));
    char subject [64], *data = malloc (args->size + 1);
    snprintf (subject, sizeof subject, "bench.fan.%d", (int) getpid ());
    s_rounds_t rounds = {
        .first = calloc ((size_t) args->rounds, sizeof (double)),
        .last = calloc ((size_t) args->rounds, sizeof (double))
    };
    nats_SetMessageDeliveryPoolSize (args->threads);
    for (int index = 0; index < args->conns; index++)
        if (!(conns [index] = s_nats_connect (args, false, true)))
            goto out;
    for (int index = 0; index < args->subs; index++)
        if (natsConnection_Subscribe (&subs [index], conns [index % args->conns], subject,
                                      s_nats_fan_message, &fan) != NATS_OK) {
            fprintf (stderr, "bench-pubsub: cannot subscribe at NATS: %s\n", nats_GetLastError (NULL));
            goto out;
        }
    for (int index = 0; index < args->conns; index++)
        if (natsConnection_Flush (conns [index]) != NATS_OK)
            goto out;
    if (!(pub = s_nats_connect (args, true, false)))
        goto out;
    size_t round = 0;
    for (int index = 0; index < args->warmup + args->rounds; index++) {
        usleep (S_ROUND_GAP_MS * 1000);
        pthread_mutex_lock (&fan.lock);
        s_fan_start (&fan, round);
        pthread_mutex_unlock (&fan.lock);
        s_message (data, args->size, 'r', round++);
        double start = s_now_ms ();
        if (natsConnection_Publish (pub, subject, data, (int) args->size) != NATS_OK) {
            fprintf (stderr, "bench-pubsub: cannot publish at NATS: %s\n", nats_GetLastError (NULL));
            goto out;
        }
        int waited = s_fan_wait (&fan, args->timeout_s * 1000);
        pthread_mutex_lock (&fan.lock);
        if (index >= args->warmup) {
            if (waited == 0) {
                rounds.first [rounds.done] = fan.first_ms - start;
                rounds.last [rounds.done++] = fan.last_ms - start;
            }
            else
                rounds.missing += fan.expected - fan.got;
        }
        pthread_mutex_unlock (&fan.lock);
    }
    for (int index = 0; index < args->subs; index++) {
        int64_t dropped = 0;
        natsSubscription_GetDropped (subs [index], &dropped);
        fan.dropped += (uint64_t) dropped;
    }
    char arrangement [160];
    snprintf (arrangement, sizeof arrangement, "%d connections, %d subscriptions each,"
              " %d delivery thread(s)", args->conns, args->subs / args->conns, args->threads);
    s_fan_report (args, &rounds, &fan, arrangement);
    rc = 0;
out:
    for (int index = 0; index < args->subs; index++)
        if (subs [index]) {
            natsSubscription_Unsubscribe (subs [index]);
            natsSubscription_Destroy (subs [index]);
        }
    for (int index = 0; index < args->conns; index++)
        natsConnection_Destroy (conns [index]);
    natsConnection_Destroy (pub);
    free (subs);
    free (conns);
    free (data);
    free (rounds.first);
    free (rounds.last);
    s_fan_fini (&fan);
    return rc;
}
#endif

//  ---------------------------------------------------------------------
//  MQTT (libmosquitto), QoS 0

#ifdef ZC_BENCH_MQTT
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool connected, subscribed;
    int connect_rc;
    const char *topic;
    s_sink_t *sink;
} s_mqtt_t;

static void
s_mqtt_on_connect (struct mosquitto *client, void *arg, int rc)
{
    s_mqtt_t *self = arg;
    pthread_mutex_lock (&self->lock);
    self->connected = rc == 0;
    self->connect_rc = rc;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
}

static void
s_mqtt_on_subscribe (struct mosquitto *client, void *arg, int mid, int count, const int *granted)
{
    s_mqtt_t *self = arg;
    pthread_mutex_lock (&self->lock);
    self->subscribed = count == 1 && granted [0] == 0;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
}

static void
s_mqtt_on_message (struct mosquitto *client, void *arg, const struct mosquitto_message *msg)
{
    s_mqtt_t *self = arg;
    pthread_mutex_lock (&self->sink->lock);
    s_sink_take (self->sink, msg->payload, (size_t) msg->payloadlen);
    pthread_mutex_unlock (&self->sink->lock);
}

//  Waits up to 10 s until *flag. 0 when it is set.
static int
s_mqtt_wait (s_mqtt_t *self, bool *flag)
{
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock (&self->lock);
    int rc = 0;
    while (!*flag && rc == 0)
        rc = pthread_cond_timedwait (&self->changed, &self->lock, &until);
    bool set = *flag;
    pthread_mutex_unlock (&self->lock);
    return set? 0: -1;
}

//  A client connected to 127.0.0.1:port, its network loop started.
//  NULL after printing why.
static struct mosquitto *
s_mqtt_client (const s_args_t *args, s_mqtt_t *state)
{
    struct mosquitto *client = mosquitto_new (NULL, true, state);
    if (!client)
        return NULL;
    mosquitto_connect_callback_set (client, s_mqtt_on_connect);
    mosquitto_subscribe_callback_set (client, s_mqtt_on_subscribe);
    mosquitto_message_callback_set (client, s_mqtt_on_message);
    int rc = mosquitto_connect (client, "127.0.0.1", args->port, 60);
    bool looping = false;
    if (rc == MOSQ_ERR_SUCCESS)
        looping = (rc = mosquitto_loop_start (client)) == MOSQ_ERR_SUCCESS;
    if (rc != MOSQ_ERR_SUCCESS || s_mqtt_wait (state, &state->connected) != 0) {
        fprintf (stderr, "bench-pubsub: cannot connect to MQTT at 127.0.0.1:%d: %s\n",
                 args->port, rc != MOSQ_ERR_SUCCESS? mosquitto_strerror (rc)
                                                   : mosquitto_connack_string (state->connect_rc));
        if (looping)
            mosquitto_loop_stop (client, true);
        mosquitto_destroy (client);
        return NULL;
    }
    return client;
}

static void
s_mqtt_close (struct mosquitto **client_p)
{
    if (*client_p) {
        mosquitto_disconnect (*client_p);
        mosquitto_loop_stop (*client_p, false);
        mosquitto_destroy (*client_p);
        *client_p = NULL;
    }
}

static int
s_mqtt_throughput (const s_args_t *args)
{
    s_sink_t sink;
    s_sink_init (&sink, args->count);
    char topic [64], *data = malloc (args->size + 1);
    snprintf (topic, sizeof topic, "bench/tp/%d", (int) getpid ());
    s_mqtt_t sub_state = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER,
                           .topic = topic, .sink = &sink };
    s_mqtt_t pub_state = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER,
                           .topic = topic, .sink = &sink };
    int rc = 1;
    mosquitto_lib_init ();
    struct mosquitto *pub = NULL, *sub = s_mqtt_client (args, &sub_state);
    if (!sub)
        goto out;
    //  The SUBACK: the broker has the subscription.
    if (mosquitto_subscribe (sub, NULL, topic, 0) != MOSQ_ERR_SUCCESS
    ||  s_mqtt_wait (&sub_state, &sub_state.subscribed) != 0) {
        fprintf (stderr, "bench-pubsub: cannot subscribe at MQTT\n");
        goto out;
    }
    if (!(pub = s_mqtt_client (args, &pub_state)))
        goto out;
    size_t sent = 0, failed = 0;
    double first_ms = s_now_ms ();
    for (size_t seq = 0; seq < args->count; seq++) {
        s_message (data, args->size, 'm', seq);
        if (mosquitto_publish (pub, NULL, topic, (int) args->size, data, 0, false) == MOSQ_ERR_SUCCESS)
            sent++;
        else
            failed++;
    }
    //  No flush in libmosquitto: the publisher's network thread writes
    //  its queue; the end is when the subscriber has all, or is idle.
    double published_ms = s_now_ms ();
    double limit = first_ms + S_RUN_LIMIT_MS;
    while (true) {
        pthread_mutex_lock (&sink.lock);
        bool all = sink.received >= sent;
        double last = sink.last_ms > published_ms? sink.last_ms: published_ms;
        pthread_mutex_unlock (&sink.lock);
        double now = s_now_ms ();
        if (all || now - last > S_IDLE_MS || now > limit)
            break;
        usleep (1000);
    }
    pthread_mutex_lock (&sink.lock);
    char note [96];
    snprintf (note, sizeof note, "publish calls return before the bytes leave%s",
              failed? ", some failed": "");
    s_throughput_report (args, &sink, sent, 0, first_ms, published_ms, note);
    pthread_mutex_unlock (&sink.lock);
    rc = sink.received? 0: 1;
out:
    s_mqtt_close (&pub);
    s_mqtt_close (&sub);
    mosquitto_lib_cleanup ();
    free (data);
    s_sink_fini (&sink);
    return rc;
}

//  MQTT fan-out: a client gets one copy of a message however many of
//  its subscriptions match, so each subscription is a client of its
//  own. This thread drives them all (libmosquitto without its threads):
//  one epoll set, each client read when its socket is readable.
typedef struct {
    s_fan_t *fan;
    const char *topic;
    size_t connected, subscribed, failed;
} s_mqtt_fan_t;

static void
s_mqtt_fan_on_connect (struct mosquitto *client, void *arg, int rc)
{
    s_mqtt_fan_t *self = arg;
    if (rc == 0) {
        self->connected++;
        mosquitto_subscribe (client, NULL, self->topic, 0);
    }
    else
        self->failed++;
}

static void
s_mqtt_fan_on_subscribe (struct mosquitto *client, void *arg, int mid, int count, const int *granted)
{
    s_mqtt_fan_t *self = arg;
    self->subscribed++;
}

static void
s_mqtt_fan_on_message (struct mosquitto *client, void *arg, const struct mosquitto_message *msg)
{
    s_mqtt_fan_t *self = arg;
    s_fan_take (self->fan, msg->payload, (size_t) msg->payloadlen);
}

//  Registers a client's socket, for writing too while it has output.
static void
s_mqtt_watch (int epfd, struct mosquitto *client, int op)
{
    struct epoll_event event = {
        .events = EPOLLIN | (mosquitto_want_write (client)? EPOLLOUT: 0), .data.ptr = client
    };
    epoll_ctl (epfd, op, mosquitto_socket (client), &event);
}

//  Handles the clients' events for up to timeout_ms. 0, or -1 when a
//  connection broke.
static int
s_mqtt_pump (int epfd, int timeout_ms)
{
    struct epoll_event events [256];
    int count = epoll_wait (epfd, events, 256, timeout_ms);
    for (int index = 0; index < count; index++) {
        struct mosquitto *client = events [index].data.ptr;
        int rc = MOSQ_ERR_SUCCESS;
        if (events [index].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            rc = mosquitto_loop_read (client, 1);
        if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write (client))
            rc = mosquitto_loop_write (client, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf (stderr, "bench-pubsub: an MQTT connection broke: %s\n", mosquitto_strerror (rc));
            return -1;
        }
        s_mqtt_watch (epfd, client, EPOLL_CTL_MOD);
    }
    return 0;
}

static int
s_mqtt_fanout (const s_args_t *args)
{
    s_fan_t fan;
    s_fan_init (&fan, (size_t) args->subs);
    char topic [64], *data = malloc (args->size + 1);
    snprintf (topic, sizeof topic, "bench/fan/%d", (int) getpid ());
    s_mqtt_fan_t self = { .fan = &fan, .topic = topic };
    s_mqtt_fan_t publisher = { .fan = &fan, .topic = "bench/none" };
    int rc = 1, epfd = epoll_create1 (EPOLL_CLOEXEC), count = 0;
    s_rounds_t rounds = {
        .first = calloc ((size_t) args->rounds, sizeof (double)),
        .last = calloc ((size_t) args->rounds, sizeof (double))
    };
    mosquitto_lib_init ();
    struct mosquitto **clients = calloc ((size_t) args->subs, sizeof (struct mosquitto *));
    struct mosquitto *pub = mosquitto_new (NULL, true, &publisher);
    if (!pub || mosquitto_connect (pub, "127.0.0.1", args->port, 600) != MOSQ_ERR_SUCCESS)
        goto refused;
    mosquitto_connect_callback_set (pub, s_mqtt_fan_on_connect);
    s_mqtt_watch (epfd, pub, EPOLL_CTL_ADD);
    for (count = 0; count < args->subs; count++) {
        struct mosquitto *client = clients [count] = mosquitto_new (NULL, true, &self);
        if (!client || mosquitto_connect (client, "127.0.0.1", args->port, 600) != MOSQ_ERR_SUCCESS) {
            count += client != NULL;
            goto refused;
        }
        mosquitto_connect_callback_set (client, s_mqtt_fan_on_connect);
        mosquitto_subscribe_callback_set (client, s_mqtt_fan_on_subscribe);
        mosquitto_message_callback_set (client, s_mqtt_fan_on_message);
        s_mqtt_watch (epfd, client, EPOLL_CTL_ADD);
    }
    //  CONNACKs (each client then subscribes) and SUBACKs.
    double deadline = s_now_ms () + 20000;
    while ((self.subscribed < (size_t) args->subs || publisher.connected == 0)
    &&     !self.failed && s_now_ms () < deadline)
        if (s_mqtt_pump (epfd, 50) != 0)
            goto out;
    if (self.subscribed < (size_t) args->subs || publisher.connected == 0) {
        fprintf (stderr, "bench-pubsub: %zu of %d MQTT subscriptions confirmed in 20 s\n",
                 self.subscribed, args->subs);
        goto out;
    }
    size_t round = 0;
    for (int index = 0; index < args->warmup + args->rounds; index++) {
        double gap = s_now_ms () + S_ROUND_GAP_MS;
        while (s_now_ms () < gap)
            if (s_mqtt_pump (epfd, 2) != 0)
                goto out;
        s_fan_start (&fan, round);
        s_message (data, args->size, 'r', round++);
        double start = s_now_ms ();
        //  Written at once (no network thread), the rest when writable.
        if (mosquitto_publish (pub, NULL, topic, (int) args->size, data, 0, false) != MOSQ_ERR_SUCCESS) {
            fprintf (stderr, "bench-pubsub: cannot publish at MQTT\n");
            goto out;
        }
        s_mqtt_watch (epfd, pub, EPOLL_CTL_MOD);
        double limit = start + args->timeout_s * 1000.0;
        while (fan.got < fan.expected && s_now_ms () < limit)
            if (s_mqtt_pump (epfd, 100) != 0)
                goto out;
        if (index < args->warmup)
            continue;
        if (fan.got >= fan.expected) {
            rounds.first [rounds.done] = fan.first_ms - start;
            rounds.last [rounds.done++] = fan.last_ms - start;
        }
        else
            rounds.missing += fan.expected - fan.got;
    }
    char arrangement [160];
    snprintf (arrangement, sizeof arrangement, "%d client connections, one subscription each", args->subs);
    s_fan_report (args, &rounds, &fan, arrangement);
    rc = 0;
    goto out;
refused:
    fprintf (stderr, "bench-pubsub: cannot connect to MQTT at 127.0.0.1:%d (connection %d)\n",
             args->port, count + 1);
out:
    for (int index = 0; index < count; index++)
        if (clients [index]) {
            mosquitto_disconnect (clients [index]);
            mosquitto_destroy (clients [index]);
        }
    if (pub) {
        mosquitto_disconnect (pub);
        mosquitto_destroy (pub);
    }
    free (clients);
    mosquitto_lib_cleanup ();
    close (epfd);
    free (data);
    free (rounds.first);
    free (rounds.last);
    s_fan_fini (&fan);
    return rc;
}
#endif

//  ---------------------------------------------------------------------

//  Prints a TCP port of 127.0.0.1 that is free now (for a broker that
//  cannot tell the port it bound). 0, or 1.
static int
s_free_port (void)
{
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = 0 };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd == -1 || bind (fd, (struct sockaddr *) &address, sizeof address) == -1
    ||  getsockname (fd, (struct sockaddr *) &address, &size) == -1) {
        fprintf (stderr, "bench-pubsub: cannot bind 127.0.0.1: %s\n", strerror (errno));
        return 1;
    }
    printf ("%d\n", ntohs (address.sin_port));
    close (fd);
    return 0;
}

static void
s_usage (void)
{
    fprintf (stderr,
        "usage: bench-pubsub zcnc-throughput --pub SOCKET --sub SOCKET [--unsigned] [--window N]\n"
        "                                    [--pub-batch K] [--sub-batch] [COMMON]\n"
        "       bench-pubsub zcnc-fanout --pub SOCKET --sub SOCKET [--sub SOCKET ...] [--per-conn N]\n"
        "                                [--unsigned] [--sub-batch] [COMMON]\n"
        "       bench-pubsub nats-throughput --url URL [--ca FILE] [COMMON]\n"
        "       bench-pubsub nats-fanout --url URL [--ca FILE] [--conns N] [--threads N] [COMMON]\n"
        "       bench-pubsub mqtt-throughput --port PORT [COMMON]\n"
        "       bench-pubsub mqtt-fanout --port PORT [COMMON]\n"
        "       bench-pubsub features | free-port\n"
        "COMMON: [--label TEXT] [--count N] [--size BYTES] [--runs N] [--subs N] [--rounds N]\n"
        "        [--warmup N] [--timeout SECS]\n");
}

int
main (int argc, char *argv [])
{
    if (argc < 2) {
        s_usage ();
        return 2;
    }
    const char *mode = argv [1];
    s_args_t args = {
        .label = mode, .count = 100000, .size = 100, .subs = 1000, .rounds = 50, .warmup = 5,
        .timeout_s = 5, .runs = 1, .window = 1000, .per_conn = 1, .conns = 10, .threads = 1
    };
    static struct option options [] = {
        { "ca",       required_argument, NULL, 'a' },
        { "conns",    required_argument, NULL, 'C' },
        { "count",    required_argument, NULL, 'n' },
        { "label",    required_argument, NULL, 'l' },
        { "per-conn", required_argument, NULL, 'e' },
        { "port",     required_argument, NULL, 'P' },
        { "pub",      required_argument, NULL, 'p' },
        { "pub-batch", required_argument, NULL, 'B' },
        { "rounds",   required_argument, NULL, 'r' },
        { "runs",     required_argument, NULL, 'R' },
        { "size",     required_argument, NULL, 'z' },
        { "sub",      required_argument, NULL, 's' },
        { "sub-batch", no_argument,      NULL, 'b' },
        { "subs",     required_argument, NULL, 'S' },
        { "threads",  required_argument, NULL, 'T' },
        { "timeout",  required_argument, NULL, 't' },
        { "unsigned", no_argument,       NULL, 'U' },
        { "url",      required_argument, NULL, 'u' },
        { "warmup",   required_argument, NULL, 'w' },
        { "window",   required_argument, NULL, 'W' },
        { NULL, 0, NULL, 0 }
    };
    optind = 2;
    int option;
    while ((option = getopt_long (argc, argv, "", options, NULL)) != -1)
        switch (option) {
            case 'a': args.ca = optarg; break;
            case 'C': args.conns = atoi (optarg); break;
            case 'n': args.count = (size_t) atol (optarg); break;
            case 'l': args.label = optarg; break;
            case 'e': args.per_conn = atoi (optarg); break;
            case 'P': args.port = atoi (optarg); break;
            case 'p': args.pub_socket = optarg; break;
            case 'B': args.pub_batch = atoi (optarg); break;
            case 'b': args.sub_batch = true; break;
            case 'r': args.rounds = atoi (optarg); break;
            case 'R': args.runs = atoi (optarg); break;
            case 'z': args.size = (size_t) atol (optarg); break;
            case 's':
                if (args.sub_socket_count == S_MAX_SOCKETS) {
                    fprintf (stderr, "bench-pubsub: at most %d --sub sockets\n", S_MAX_SOCKETS);
                    return 2;
                }
                args.sub_sockets [args.sub_socket_count++] = optarg;
                break;
            case 'S': args.subs = atoi (optarg); break;
            case 'T': args.threads = atoi (optarg); break;
            case 't': args.timeout_s = atoi (optarg); break;
            case 'U': args.unsigned_ = true; break;
            case 'u': args.url = optarg; break;
            case 'w': args.warmup = atoi (optarg); break;
            case 'W': args.window = atoi (optarg); break;
            default: s_usage (); return 2;
        }
    if (optind < argc || args.count < 1 || args.count > 100000000 || args.size < 16
    ||  args.size > S_MAX_SIZE || args.subs < 1 || args.rounds < 1 || args.warmup < 0
    ||  args.timeout_s < 1 || args.window < 1 || args.per_conn < 1 || args.conns < 1
    ||  args.threads < 1 || args.runs < 1 || args.runs > S_MAX_RUNS
    ||  args.pub_batch < 0 || args.pub_batch > S_MAX_PUB_BATCH) {
        s_usage ();
        return 2;
    }
    if (args.pub_batch) {
        //  The longest request: the subject with the largest PID.
        char subject [64], *request = malloc (S_MAX_REQUEST);
        snprintf (subject, sizeof subject, S_TP_SUBJECT, 2147483647);
        size_t size = s_pub_batch_request (request, S_MAX_REQUEST, subject, 0, (size_t) args.pub_batch,
                                           args.size, true);
        free (request);
        if (size == 0) {
            fprintf (stderr, "bench-pubsub: %d messages of %zu bytes make a pub request over %d bytes\n",
                     args.pub_batch, args.size, S_MAX_REQUEST);
            return 2;
        }
    }
    signal (SIGPIPE, SIG_IGN);
    //  A fan-out holds a connection per subscription (zcnc by default,
    //  MQTT always): more descriptors than the usual soft limit of 1024.
    struct rlimit files;
    if (getrlimit (RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit (RLIMIT_NOFILE, &files);
    }
    setvbuf (stdout, NULL, _IOLBF, 0);
    if (strcmp (mode, "free-port") == 0)
        return s_free_port ();
    if (strcmp (mode, "features") == 0) {
        printf ("zcnc%s%s\n",
#ifdef ZC_BENCH_NATS
                " nats",
#else
                "",
#endif
#ifdef ZC_BENCH_MQTT
                " mqtt"
#else
                ""
#endif
        );
        return 0;
    }
    if (strcmp (mode, "zcnc-throughput") == 0 || strcmp (mode, "zcnc-fanout") == 0) {
        if (!args.pub_socket || args.sub_socket_count == 0
        ||  (strcmp (mode, "zcnc-throughput") == 0 && args.sub_socket_count != 1)) {
            s_usage ();
            return 2;
        }
        if (mode [5] != 't')
            return s_zcnc_fanout (&args);
        int rc = 0;
        for (int run = 0; run < args.runs; run++)
            rc |= s_zcnc_throughput (&args);
        s_throughput_row (&args);
        return rc;
    }
    if (strcmp (mode, "nats-throughput") == 0 || strcmp (mode, "nats-fanout") == 0) {
        if (!args.url || args.subs % args.conns != 0) {
            s_usage ();
            return 2;
        }
#ifdef ZC_BENCH_NATS
        int rc = 0;
        if (mode [5] != 't')
            rc = s_nats_fanout (&args);
        else {
            for (int run = 0; run < args.runs; run++)
                rc |= s_nats_throughput (&args);
            s_throughput_row (&args);
        }
        nats_Close ();
        return rc;
#else
        fprintf (stderr, "bench-pubsub: built without libnats (install libnats-dev and rebuild)\n");
        return 2;
#endif
    }
    if (strcmp (mode, "mqtt-throughput") == 0 || strcmp (mode, "mqtt-fanout") == 0) {
        if (args.port < 1 || args.port > 65535) {
            s_usage ();
            return 2;
        }
#ifdef ZC_BENCH_MQTT
        if (mode [5] != 't')
            return s_mqtt_fanout (&args);
        int rc = 0;
        for (int run = 0; run < args.runs; run++)
            rc |= s_mqtt_throughput (&args);
        s_throughput_row (&args);
        return rc;
#else
        fprintf (stderr, "bench-pubsub: built without libmosquitto (install libmosquitto-dev and rebuild)\n");
        return 2;
#endif
    }
    s_usage ();
    return 2;
}
