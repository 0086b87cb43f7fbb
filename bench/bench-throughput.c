/*  bench-throughput.c — durable job throughput through a running mesh,
    beside the raw durable commit rate of LMDB on the same filesystem.

    usage: bench-throughput --socket PATH --node NAME [--conns N] [--count N]
                            [--warmup N] [--stream N] [--window N]
                            [--lmdb-dir DIR] [--lmdb-count N]

    Every job is {"to":NODE,"method":"ping"}: the whole job protocol (the
    job stored at the origin, sent, stored at the target, answered, the
    result stored at the origin; every store change fsync'd before what
    depends on it leaves the process) without a process.

    Figures, in the order they are measured:
      lmdb_durable_commit   a fresh LMDB environment in a directory under
                            --lmdb-dir (put it on the agents' filesystem):
                            --lmdb-count transactions, each one 100-byte put
                            and a commit with the default (synced) flags;
                            commits/s and the per-commit p50/p99
      stream                one connection submits --stream jobs without
                            "wait", pipelined (at most --window unanswered),
                            then asks for the last job's state until it is
                            final, then lists the origin's queue (its jobs
                            not final) until none of them is left in it;
                            finally, untimed, checks that all ended done.
                            Figures: accepted/s (first request to the last
                            "ids" answer), jobs/s to the last job seen done,
                            and jobs/s to the queue listing without any of
                            them: the end-to-end figure (jobs complete out
                            of order when a message was lost and resent)
      waited                --conns connections, each in a loop: one request
                            with "wait", read its ids, job and end lines,
                            next request; --warmup jobs first, untimed, then
                            --count jobs; jobs/s = count / wall time from the
                            first request to the last end line, and the
                            per-job round trip p50/p99

    Each job must end "done" (and a wait with nothing pending). Exits 0
    when every job did, 1 otherwise (the figures are printed either way),
    2 on a usage error.
*/
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <jansson.h>
#include <lmdb.h>
#include "bench-stats.h"

#define S_STALL_MS      90000       //  no progress for this long: give up
#define S_JOB_WAIT_S    60          //  server-side wait of a waited job
#define S_TARGET        20000       //  jobs/s, issue 3

//  Prints the first few unexpected answers, so a failing run says why.
static void
s_unexpected (json_t *answer, const char *why)
{
    static int printed = 0;
    if (printed++ < 5) {
        char *text = answer? json_dumps (answer, JSON_COMPACT): NULL;
        fprintf (stderr, "bench-throughput: %s: %s\n", why, text? text: "(no answer)");
        free (text);
    }
}

//  ---------------------------------------------------------------------
//  Raw LMDB: durable single-put commits

//  Measures 'count' durable commits of one 100-byte value in a fresh
//  environment under 'parent'; prints the figure. 0, or -1 on failure.
static int
s_lmdb_rate (const char *parent, int count)
{
    char dir [4096];
    snprintf (dir, sizeof dir, "%s/lmdb-bench.XXXXXX", parent);
    if (!mkdtemp (dir)) {
        fprintf (stderr, "bench-throughput: cannot create a directory under %s: %s\n",
                 parent, strerror (errno));
        return -1;
    }
    MDB_env *env = NULL;
    MDB_dbi dbi;
    int rc = mdb_env_create (&env);
    if (rc == 0)
        rc = mdb_env_set_mapsize (env, 64u << 20);
    if (rc == 0)
        rc = mdb_env_open (env, dir, 0, 0600);      //  default flags: synced commits
    double *samples = calloc (count, sizeof (double));
    int done = 0;
    double started = s_now_ms ();
    for (int index = 0; rc == 0 && index < count; index++) {
        double start = s_now_ms ();
        MDB_txn *txn;
        rc = mdb_txn_begin (env, NULL, 0, &txn);
        if (rc == 0 && index == 0)
            rc = mdb_dbi_open (txn, NULL, 0, &dbi);
        char key_bytes [16], value_bytes [100];
        snprintf (key_bytes, sizeof key_bytes, "%010d", index);
        memset (value_bytes, 'v', sizeof value_bytes);
        MDB_val key = { 10, key_bytes }, value = { sizeof value_bytes, value_bytes };
        if (rc == 0)
            rc = mdb_put (txn, dbi, &key, &value, 0);
        if (rc == 0)
            rc = mdb_txn_commit (txn);
        else
            mdb_txn_abort (txn);
        if (rc == 0)
            samples [done++] = s_now_ms () - start;
    }
    double elapsed = s_now_ms () - started;
    if (rc != 0)
        fprintf (stderr, "bench-throughput: LMDB in %s failed: %s\n", dir, mdb_strerror (rc));
    if (env)
        mdb_env_close (env);
    char path [4200];
    snprintf (path, sizeof path, "%s/data.mdb", dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/lock.mdb", dir);
    unlink (path);
    rmdir (dir);
    if (done > 0) {
        qsort (samples, done, sizeof *samples, s_compare);
        printf ("%-22s %.0f commits/s  p50=%.3fms p99=%.3fms n=%d (one 100-byte put each, fsync'd, in %s)\n",
                "lmdb_durable_commit", done / (elapsed / 1e3), s_percentile (samples, done, 0.5),
                s_percentile (samples, done, 0.99), done, parent);
        fflush (stdout);
    }
    free (samples);
    return rc == 0? 0: -1;
}

//  ---------------------------------------------------------------------
//  Connections to the agent socket: non-blocking, buffered both ways

typedef struct {
    int fd;
    char *in;
    size_t in_size, in_max;
    char *out;
    size_t out_size, out_sent, out_max;
    //  Waited mode: the request in flight.
    bool busy;
    double sent_ms;
    int done;                   //  job lines that said "done"
} s_conn_t;

//  Connects to the agent socket. 0, or -1 after printing why.
static int
s_conn_open (s_conn_t *conn, const char *path)
{
    memset (conn, 0, sizeof *conn);
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof address.sun_path) {
        fprintf (stderr, "bench-throughput: socket path too long: %s\n", path);
        return -1;
    }
    strcpy (address.sun_path, path);
    conn->fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (conn->fd == -1
    ||  connect (conn->fd, (struct sockaddr *) &address, sizeof address) == -1) {
        fprintf (stderr, "bench-throughput: cannot connect to %s: %s (is the agent running?)\n",
                 path, strerror (errno));
        if (conn->fd != -1)
            close (conn->fd);
        conn->fd = -1;
        return -1;
    }
    fcntl (conn->fd, F_SETFL, fcntl (conn->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

static void
s_conn_close (s_conn_t *conn)
{
    if (conn->fd != -1)
        close (conn->fd);
    free (conn->in);
    free (conn->out);
    memset (conn, 0, sizeof *conn);
    conn->fd = -1;
}

//  Writes what the socket takes of the queued output. -1 on a dead peer.
static int
s_conn_flush (s_conn_t *conn)
{
    while (conn->out_sent < conn->out_size) {
        ssize_t rc = send (conn->fd, conn->out + conn->out_sent,
                           conn->out_size - conn->out_sent, MSG_NOSIGNAL);
        if (rc == -1) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            fprintf (stderr, "bench-throughput: cannot write to the agent: %s\n", strerror (errno));
            return -1;
        }
        conn->out_sent += rc;
    }
    conn->out_size = conn->out_sent = 0;
    return 0;
}

//  Queues a line for the next flush.
static void
s_conn_queue (s_conn_t *conn, const char *line, size_t size)
{
    if (conn->out_size + size > conn->out_max) {
        conn->out_max = (conn->out_size + size) * 2;
        conn->out = realloc (conn->out, conn->out_max);
    }
    memcpy (conn->out + conn->out_size, line, size);
    conn->out_size += size;
}

//  Queues a line and writes what the socket takes. -1 on a dead peer.
static int
s_conn_send (s_conn_t *conn, const char *line, size_t size)
{
    s_conn_queue (conn, line, size);
    return s_conn_flush (conn);
}

//  Reads what has arrived and calls fn for each complete line, parsed;
//  fn returns 0, or -1 to stop everything. 0, or -1 on a closed
//  connection, unparseable input or fn's -1.
typedef int (s_line_fn) (s_conn_t *conn, json_t *answer, void *arg);

static int
s_conn_read (s_conn_t *conn, s_line_fn *fn, void *arg)
{
    if (conn->in_max - conn->in_size < 65536) {
        conn->in_max = conn->in_max? conn->in_max * 2: 262144;
        conn->in = realloc (conn->in, conn->in_max);
    }
    ssize_t rc = recv (conn->fd, conn->in + conn->in_size, conn->in_max - conn->in_size, 0);
    if (rc == -1 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (rc <= 0) {
        fprintf (stderr, "bench-throughput: the agent closed the connection\n");
        return -1;
    }
    conn->in_size += rc;
    size_t start = 0;
    int result = 0;
    char *newline;
    while (result == 0
    &&    (newline = memchr (conn->in + start, '\n', conn->in_size - start))) {
        size_t size = newline - (conn->in + start);
        json_error_t error;
        json_t *answer = json_loadb (conn->in + start, size, 0, &error);
        start += size + 1;
        if (!json_is_object (answer)) {
            fprintf (stderr, "bench-throughput: unparseable answer: %s\n", error.text);
            result = -1;
        }
        else
            result = fn (conn, answer, arg);
        json_decref (answer);
    }
    memmove (conn->in, conn->in + start, conn->in_size - start);
    conn->in_size -= start;
    return result;
}

//  An error answer to a request (not a job's error field).
static bool
s_is_refusal (json_t *answer)
{
    return json_object_get (answer, "error") && !json_object_get (answer, "id");
}

//  ---------------------------------------------------------------------
//  Waited mode: many connections, one waited request each at a time

typedef struct {
    const char *request;        //  the line, with its newline
    size_t request_size;
    int issued, completed, failed, target;
    double *latencies;          //  per completed job, when measuring
    int measured;
    double last_progress;
} s_waited_t;

//  Sends the connection's next request, when jobs remain to be issued.
static int
s_waited_next (s_waited_t *run, s_conn_t *conn)
{
    if (run->issued >= run->target)
        return 0;
    run->issued++;
    conn->busy = true;
    conn->done = 0;
    conn->sent_ms = s_now_ms ();
    return s_conn_send (conn, run->request, run->request_size);
}

//  A request ends with its "end" line, or with a refusal.
static int
s_waited_line (s_conn_t *conn, json_t *answer, void *arg)
{
    s_waited_t *run = arg;
    if (!conn->busy) {
        s_unexpected (answer, "an answer to no request");
        return -1;
    }
    run->last_progress = s_now_ms ();
    bool end = false;
    if (s_is_refusal (answer)) {
        s_unexpected (answer, "the agent refused a job");
        run->failed++;
        end = true;
    }
    else
    if (json_object_get (answer, "ids")) {
        if (json_array_size (json_object_get (answer, "ids")) != 1)
            s_unexpected (answer, "not one job ID");
    }
    else
    if (json_object_get (answer, "id")) {
        const char *state = json_string_value (json_object_get (answer, "state"));
        if (state && strcmp (state, "done") == 0)
            conn->done++;
        else
            s_unexpected (answer, "a job not done");
    }
    else
    if (json_is_true (json_object_get (answer, "end"))) {
        end = true;
        if (conn->done != 1 || json_array_size (json_object_get (answer, "pending")) > 0) {
            s_unexpected (answer, "a wait that ended without its job done");
            run->failed++;
        }
        else {
            if (run->latencies)
                run->latencies [run->measured++] = s_now_ms () - conn->sent_ms;
            run->completed++;
        }
    }
    else
        s_unexpected (answer, "an unknown answer");
    if (end) {
        conn->busy = false;
        return s_waited_next (run, conn);
    }
    return 0;
}

//  Runs 'target' waited jobs over the connections. Returns the wall time
//  in ms from the first request to the last end line, or -1 when the
//  connections broke or stalled.
static double
s_waited_run (s_waited_t *run, s_conn_t *conns, int count)
{
    struct pollfd *items = calloc (count, sizeof *items);
    run->last_progress = s_now_ms ();
    double started = s_now_ms ();
    int rc = 0;
    for (int index = 0; index < count && rc == 0; index++)
        rc = s_waited_next (run, &conns [index]);
    while (rc == 0 && run->completed + run->failed < run->target) {
        for (int index = 0; index < count; index++)
            items [index] = (struct pollfd) {
                .fd = conns [index].fd,
                .events = POLLIN | (conns [index].out_size > conns [index].out_sent? POLLOUT: 0) };
        if (poll (items, count, 1000) == -1 && errno != EINTR)
            rc = -1;
        for (int index = 0; index < count && rc == 0; index++) {
            if (items [index].revents & POLLOUT)
                rc = s_conn_flush (&conns [index]);
            if (rc == 0 && items [index].revents & (POLLIN | POLLERR | POLLHUP))
                rc = s_conn_read (&conns [index], s_waited_line, run);
        }
        if (s_now_ms () - run->last_progress > S_STALL_MS) {
            fprintf (stderr, "bench-throughput: no answer for %d s; giving up\n", S_STALL_MS / 1000);
            rc = -1;
        }
    }
    free (items);
    return rc == 0? s_now_ms () - started: -1;
}

//  ---------------------------------------------------------------------
//  Stream mode: one connection, requests without wait, pipelined

typedef struct {
    char **ids;                 //  job IDs in submission order
    int count, answered, failed;
    //  Phase 2 and 3: the answer to the one query in flight.
    json_t *reply;
} s_stream_t;

static int
s_stream_line (s_conn_t *conn, json_t *answer, void *arg)
{
    s_stream_t *run = arg;
    if (run->answered == run->count) {
        //  Phases 2 and 3: the answer to the query in flight.
        if (run->reply) {
            s_unexpected (answer, "an answer to no request");
            return -1;
        }
        run->reply = json_incref (answer);
        return 0;
    }
    json_t *ids = json_object_get (answer, "ids");
    const char *id = json_string_value (json_object_get (json_array_get (ids, 0), "id"));
    if (id && json_array_size (ids) == 1)
        run->ids [run->answered] = strdup (id);
    else {
        s_unexpected (answer, s_is_refusal (answer)? "the agent refused a job": "not one job ID");
        run->failed++;
    }
    run->answered++;
    return 0;
}

//  Sends one query and waits for its answer (the caller owns it).
//  NULL on a broken connection or a stall.
static json_t *
s_stream_query (s_stream_t *run, s_conn_t *conn, const char *line)
{
    if (s_conn_send (conn, line, strlen (line)) != 0)
        return NULL;
    double started = s_now_ms ();
    while (!run->reply) {
        struct pollfd item = { .fd = conn->fd,
                               .events = POLLIN | (conn->out_size > conn->out_sent? POLLOUT: 0) };
        if (poll (&item, 1, 1000) == -1 && errno != EINTR)
            return NULL;
        if ((item.revents & POLLOUT) && s_conn_flush (conn) != 0)
            return NULL;
        if ((item.revents & (POLLIN | POLLERR | POLLHUP)) && s_conn_read (conn, s_stream_line, run) != 0)
            return NULL;
        if (s_now_ms () - started > S_STALL_MS) {
            fprintf (stderr, "bench-throughput: no answer to a jobs query for %d s\n", S_STALL_MS / 1000);
            return NULL;
        }
    }
    json_t *reply = run->reply;
    run->reply = NULL;
    return reply;
}

static int
s_compare_strings (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

//  States "queued", "sent", "running" are not final.
static bool
s_final (const char *state)
{
    return state && strcmp (state, "queued") != 0 && strcmp (state, "sent") != 0
        && strcmp (state, "running") != 0;
}

//  Submits 'count' jobs on one connection with at most 'window'
//  unanswered, waits until all are final, prints the figures. 0 when
//  every job ended done, -1 otherwise.
static int
s_stream (const char *path, const char *node, int count, int window)
{
    s_conn_t conn;
    if (s_conn_open (&conn, path) != 0)
        return -1;
    s_stream_t run = { .ids = calloc (count, sizeof (char *)), .count = count };
    char request [300];
    int request_size = snprintf (request, sizeof request, "{\"to\":\"%s\",\"method\":\"ping\"}\n", node);
    //  Phase 1: submit, pipelined.
    double started = s_now_ms (), last_progress = started;
    int sent = 0, rc = 0;
    while (rc == 0 && run.answered < count) {
        while (sent < count && sent - run.answered < window
        &&     conn.out_size - conn.out_sent < 65536) {
            s_conn_queue (&conn, request, request_size);
            sent++;
        }
        rc = s_conn_flush (&conn);
        struct pollfd item = { .fd = conn.fd,
                               .events = POLLIN | (conn.out_size > conn.out_sent? POLLOUT: 0) };
        if (rc == 0 && poll (&item, 1, 1000) == -1 && errno != EINTR)
            rc = -1;
        if (rc == 0 && (item.revents & POLLOUT))
            rc = s_conn_flush (&conn);
        int before = run.answered;
        if (rc == 0 && (item.revents & (POLLIN | POLLERR | POLLHUP)))
            rc = s_conn_read (&conn, s_stream_line, &run);
        if (run.answered > before)
            last_progress = s_now_ms ();
        else
        if (s_now_ms () - last_progress > S_STALL_MS) {
            fprintf (stderr, "bench-throughput: no answer for %d s; giving up\n", S_STALL_MS / 1000);
            rc = -1;
        }
    }
    double accepted = s_now_ms ();
    //  Phase 2: the last job's state until it is final.
    const char *last_id = NULL;
    for (int index = count - 1; index >= 0 && !last_id; index--)
        last_id = run.ids [index];
    double last_done = 0;
    int queries = 0;
    char line [400];
    snprintf (line, sizeof line, "{\"op\":\"jobs\",\"id\":\"%s\"}\n", last_id? last_id: "");
    while (rc == 0 && last_id && !last_done) {
        json_t *reply = s_stream_query (&run, &conn, line);
        queries++;
        if (!reply || !json_object_get (reply, "jobs")) {
            s_unexpected (reply, "a jobs query failed");
            rc = -1;
        }
        else
        if (s_final (json_string_value (json_object_get (
                json_array_get (json_object_get (reply, "jobs"), 0), "state"))))
            last_done = s_now_ms ();
        else
        if (s_now_ms () - accepted > S_STALL_MS) {
            fprintf (stderr, "bench-throughput: the last job is not final after %d s\n", S_STALL_MS / 1000);
            rc = -1;
        }
        else
            usleep (500);
        json_decref (reply);
    }
    //  Phase 3: the origin's queue (its jobs not final, a cheap query)
    //  until it holds none of ours: then every job is final.
    int valid = 0;
    for (int index = 0; index < count; index++)
        if (run.ids [index])
            run.ids [valid++] = run.ids [index];
    qsort (run.ids, valid, sizeof (char *), s_compare_strings);
    double all_done = 0;
    int late = -1, queue_polls = 0;
    while (rc == 0 && valid > 0 && !all_done) {
        json_t *reply = s_stream_query (&run, &conn, "{\"op\":\"queue\",\"action\":\"list\"}\n");
        queue_polls++;
        if (!reply || !json_object_get (reply, "jobs")) {
            s_unexpected (reply, "a queue query failed");
            json_decref (reply);
            rc = -1;
            break;
        }
        int pending = 0;
        json_t *job;
        size_t index;
        json_array_foreach (json_object_get (reply, "jobs"), index, job) {
            const char *id = json_string_value (json_object_get (job, "id"));
            if (id && bsearch (&id, run.ids, valid, sizeof (char *), s_compare_strings)) {
                if (pending++ == 0 && late == -1)
                    s_unexpected (job, "a job still pending after the last one was done");
            }
        }
        json_decref (reply);
        if (late == -1)
            late = pending;
        if (pending == 0)
            all_done = s_now_ms ();
        else
        if (s_now_ms () - accepted > S_STALL_MS) {
            fprintf (stderr, "bench-throughput: %d job(s) not final after %d s\n", pending, S_STALL_MS / 1000);
            rc = -1;
        }
        else
            usleep (queue_polls < 50? 2000: 50000);     //  the scan costs the origin CPU
    }
    //  Phase 4, untimed: every job of ours ended "done".
    int done = 0;
    if (rc == 0 && valid > 0) {
        json_t *reply = s_stream_query (&run, &conn, "{\"op\":\"jobs\"}\n");
        json_t *job;
        size_t index;
        json_array_foreach (json_object_get (reply, "jobs"), index, job) {
            const char *id = json_string_value (json_object_get (job, "id"));
            if (!id || !bsearch (&id, run.ids, valid, sizeof (char *), s_compare_strings))
                continue;
            const char *state = json_string_value (json_object_get (job, "state"));
            if (state && strcmp (state, "done") == 0)
                done++;
            else
                s_unexpected (job, "a job not done");
        }
        if (!reply)
            rc = -1;
        json_decref (reply);
    }
    printf ("%-22s %.0f jobs/s accepted (%d jobs, window %d, %.1f ms)\n", "stream_accept",
            count / ((accepted - started) / 1e3), count, window, accepted - started);
    if (last_done)
        printf ("%-22s %.0f jobs/s (%.1f ms from the first request to the last job seen done, %d polls)\n",
                "stream_last_done", count / ((last_done - started) / 1e3), last_done - started, queries);
    if (all_done) {
        double rate = count / ((all_done - started) / 1e3);
        printf ("%-22s %.0f jobs/s (%.1f ms to the first queue listing without any of them; %d still pending"
                " when the last was done; %d done) (target >= %d: %s)\n",
                "stream_all_done", rate, all_done - started, late, done,
                S_TARGET, rate >= S_TARGET? "met": "not met");
    }
    if (run.failed || done != count)
        printf ("%-22s %d refused, %d of %d done\n", "stream_failures", run.failed, done, count);
    fflush (stdout);
    for (int index = 0; index < valid; index++)
        free (run.ids [index]);
    free (run.ids);
    json_decref (run.reply);
    s_conn_close (&conn);
    return rc == 0 && run.failed == 0 && done == count? 0: -1;
}

//  ---------------------------------------------------------------------

static void
s_usage (void)
{
    fprintf (stderr, "usage: bench-throughput --socket PATH --node NAME [--conns N] [--count N]\n"
                     "                        [--warmup N] [--stream N] [--window N]\n"
                     "                        [--lmdb-dir DIR] [--lmdb-count N]\n"
                     "  --stream 0 skips the stream figures, --count 0 the waited ones,\n"
                     "  --lmdb-count 0 the LMDB figure\n");
}

int
main (int argc, char *argv [])
{
    const char *socket_path = NULL, *node = NULL, *lmdb_dir = "/tmp";
    int conns = 64, count = 20000, warmup = 2000, stream = 20000, window = 1000, lmdb_count = 2000;
    static struct option options [] = {
        { "conns",      required_argument, NULL, 'C' },
        { "count",      required_argument, NULL, 'n' },
        { "lmdb-count", required_argument, NULL, 'L' },
        { "lmdb-dir",   required_argument, NULL, 'l' },
        { "node",       required_argument, NULL, 'N' },
        { "socket",     required_argument, NULL, 's' },
        { "stream",     required_argument, NULL, 'S' },
        { "warmup",     required_argument, NULL, 'w' },
        { "window",     required_argument, NULL, 'W' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "", options, NULL)) != -1)
        switch (option) {
            case 'C': conns = atoi (optarg); break;
            case 'n': count = atoi (optarg); break;
            case 'L': lmdb_count = atoi (optarg); break;
            case 'l': lmdb_dir = optarg; break;
            case 'N': node = optarg; break;
            case 's': socket_path = optarg; break;
            case 'S': stream = atoi (optarg); break;
            case 'w': warmup = atoi (optarg); break;
            case 'W': window = atoi (optarg); break;
            default: s_usage (); return 2;
        }
    if (!socket_path || !node || strlen (node) > 64 || strchr (node, '"') || strchr (node, '\\')
    ||  conns < 1 || count < 0 || warmup < 0 || stream < 0 || window < 1 || lmdb_count < 0
    ||  optind < argc) {
        s_usage ();
        return 2;
    }
    int status = 0;
    if (lmdb_count > 0 && s_lmdb_rate (lmdb_dir, lmdb_count) != 0)
        status = 1;

    //  The stream goes first, while the origin's job list is short: its
    //  last phase lists every job the agent has.
    if (stream > 0 && s_stream (socket_path, node, stream, window) != 0)
        status = 1;

    if (count > 0) {
        s_conn_t *pool = calloc (conns, sizeof *pool);
        int opened = 0;
        while (opened < conns && s_conn_open (&pool [opened], socket_path) == 0)
            opened++;
        char request [300];
        int size = snprintf (request, sizeof request, "{\"to\":\"%s\",\"method\":\"ping\",\"wait\":%d}\n",
                             node, S_JOB_WAIT_S);
        if (opened < conns)
            status = 1;
        else {
            s_waited_t run = { .request = request, .request_size = size, .target = warmup };
            if (warmup > 0 && s_waited_run (&run, pool, conns) < 0)
                status = 1;
            int warmup_failed = run.failed;
            double *latencies = calloc (count, sizeof (double));
            run = (s_waited_t) { .request = request, .request_size = size, .target = count,
                                 .latencies = latencies };
            double elapsed = status == 0? s_waited_run (&run, pool, conns): -1;
            if (elapsed < 0)
                status = 1;
            if (run.failed || warmup_failed)
                status = 1;
            if (run.measured > 0) {
                qsort (latencies, run.measured, sizeof (double), s_compare);
                double rate = run.completed / (elapsed / 1e3);
                printf ("%-22s %.0f jobs/s (%d jobs, %d connections, %.1f ms)  per job p50=%.3fms p99=%.3fms max=%.3fms"
                        " (target >= %d: %s)\n", "waited", rate, run.completed, conns, elapsed,
                        s_percentile (latencies, run.measured, 0.5),
                        s_percentile (latencies, run.measured, 0.99), latencies [run.measured - 1],
                        S_TARGET, rate >= S_TARGET? "met": "not met");
            }
            if (run.failed || warmup_failed)
                printf ("%-22s %d failed (%d in the warm-up)\n", "waited_failures",
                        run.failed, warmup_failed);
            free (latencies);
        }
        for (int index = 0; index < opened; index++)
            s_conn_close (&pool [index]);
        free (pool);
    }
    return status;
}
