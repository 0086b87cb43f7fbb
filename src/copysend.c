/*  copysend.c — a copy's source end (see copy.h), and the module's
    self-test (both ends, over a fake link).
*/
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "prelude.h"
#include "copy.h"
#include "log.h"
#include "sha256.h"
#include "streamout.h"
#include "testing.h"

#define S_STALL_MS      10000   //  nothing taken this long: ask the destination again
#define S_PROGRESS_MS   500     //  progress reported at most this often
#define S_ATTEMPTS      3       //  starts over after a failed check, at most

typedef enum { S_OPENING, S_SENDING, S_CLOSING, S_ENDED } s_phase_t;

struct _zc_copysend_t {
    zc_copysend_spec_t spec;
    char name [ZC_NAME_SIZE], node [ZC_NAME_SIZE];
    char *source, *destination;
    int fd;
    uint64_t size, mtime_ns;
    unsigned mode;
    char key [33];
    s_phase_t phase;
    char *job_id;               //  the copy_open or copy_close job waited for
    zc_streamout_t *stream;     //  the chunks, while sending
    zc_id_t stream_id;
    uint64_t offset;            //  where this session began
    uint64_t read_pos;          //  the next byte read
    zc_sha256_t whole;
    uint64_t progress_at;       //  monotonic ms of the last progress report
    int attempts;
    uint64_t sent_bytes;        //  file bytes sent in all sessions
    uint8_t *chunk;             //  a chunk being made: its hash, then file bytes
};

static void s_pump (zc_copysend_t *self);

//  The copy's key: which file of which node goes where, as 32 hex digits.
static void
s_make_key (zc_copysend_t *self)
{
    char text [8192];
    int length = snprintf (text, sizeof text, "%s%c%s%c%" PRIu64 "%c%" PRIu64 "%c%s%c%s", self->name, 0,
                           self->source, 0, self->size, 0, self->mtime_ns, 0, self->node, 0,
                           self->destination);
    uint8_t hash [ZC_STREAM_HASH];
    crypto_hash_sha256 (hash, (const uint8_t *) text, length > 0 && (size_t) length < sizeof text? (size_t) length: 0);
    sodium_bin2hex (self->key, sizeof self->key, hash, 16);
}

static void
s_end (zc_copysend_t *self, zc_state_t state, const char *out, const char *error)
{
    if (self->phase == S_ENDED)
        return;
    self->phase = S_ENDED;
    zc_streamout_destroy (&self->stream);
    zc_result_t *result = zc_result_new ();
    result->state = state;
    result->exit_code = state == ZC_STATE_DONE? 0: 1;
    result->started_ms = result->finished_ms = zc_wall_ms ();
    result->error = error? zc_strdup (error): NULL;
    if (out) {
        result->out = (uint8_t *) zc_strdup (out);
        result->out_size = strlen (out);
    }
    self->spec.done (self, result, self->spec.arg);
}

//  Sends a copy_open or copy_close; ends the copy when it cannot.
static void
s_submit (zc_copysend_t *self, zc_method_t method, zlist_t *args)
{
    free (self->job_id);
    char *error = NULL;
    self->job_id = self->spec.submit (method, self->node, args, self->spec.submit_arg);
    if (!self->job_id) {
        error = zsys_sprintf ("copy: cannot send to %s", self->node);
        s_end (self, ZC_STATE_FAILED, NULL, error);
        free (error);
    }
}

//  Asks the destination what it has.
static void
s_open (zc_copysend_t *self)
{
    zc_streamout_destroy (&self->stream);
    self->phase = S_OPENING;
    zlist_t *args = zlist_new ();
    zlist_autofree (args);
    char size [24];
    snprintf (size, sizeof size, "%" PRIu64, self->size);
    zlist_append (args, self->destination);
    zlist_append (args, self->key);
    zlist_append (args, size);
    s_submit (self, ZC_METHOD_COPY_OPEN, args);
    zlist_destroy (&args);
}

zc_copysend_t *
zc_copysend_start (const zc_copysend_spec_t *spec, char **error)
{
    int fd = open (spec->source, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        *error = zsys_sprintf ("copy: cannot read %s: %s", spec->source,
                               fd < 0? strerror (errno): "not a regular file");
        if (fd >= 0)
            close (fd);
        return NULL;
    }
    zc_copysend_t *self = zc_calloc (1, sizeof *self);
    self->spec = *spec;
    snprintf (self->name, sizeof self->name, "%s", spec->name);
    snprintf (self->node, sizeof self->node, "%s", spec->node);
    self->source = zc_strdup (spec->source);
    self->destination = zc_strdup (spec->destination);
    self->spec.name = self->name;
    self->spec.node = self->node;
    self->spec.source = self->source;
    self->spec.destination = self->destination;
    self->fd = fd;
    self->chunk = zc_malloc (ZC_STREAM_MAX_CHUNK);
    self->size = (uint64_t) st.st_size;
    self->mode = (unsigned) st.st_mode & 07777;
    self->mtime_ns = (uint64_t) st.st_mtim.tv_sec * 1000000000u + (uint64_t) st.st_mtim.tv_nsec;
    s_make_key (self);
    s_open (self);
    return self;
}

void
zc_copysend_destroy (zc_copysend_t **self_p)
{
    if (*self_p) {
        zc_copysend_t *self = *self_p;
        zc_streamout_destroy (&self->stream);
        if (self->fd >= 0)
            close (self->fd);
        zc_sha256_free (&self->whole);
        free (self->job_id);
        free (self->source);
        free (self->destination);
        free (self->chunk);
        free (self);
        *self_p = NULL;
    }
}

//  Reads [from, to) of the file into the whole file's hash. 0, or -1.
static int
s_hash_range (zc_copysend_t *self, uint64_t from, uint64_t to)
{
    uint8_t buffer [65536];
    while (from < to) {
        size_t want = to - from < sizeof buffer? (size_t) (to - from): sizeof buffer;
        ssize_t got = pread (self->fd, buffer, want, (off_t) from);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        zc_sha256_update (&self->whole, buffer, (size_t) got);
        from += (uint64_t) got;
    }
    return 0;
}

static void
s_report (zc_copysend_t *self, bool now)
{
    uint64_t time = (uint64_t) zclock_mono ();
    if (!self->spec.progress || (!now && time - self->progress_at < S_PROGRESS_MS))
        return;
    self->progress_at = time;
    uint64_t stored = self->offset;
    if (self->stream) {
        stored += zc_streamout_acked_bytes (self->stream) - zc_streamout_acked (self->stream) * ZC_STREAM_HASH;
        if (stored > self->size)
            stored = self->size;
    }
    self->spec.progress (self, stored, self->size, self->spec.arg);
}

static void
s_stream_room (zc_streamout_t *stream, void *arg)
{
    s_pump ((zc_copysend_t *) arg);
}

//  Every chunk is at the destination: the whole file's hash goes, for
//  it to check.
static void
s_stream_done (zc_streamout_t *stream, void *arg)
{
    zc_copysend_t *self = arg;
    if (self->phase != S_SENDING)
        return;
    self->phase = S_CLOSING;
    uint8_t hash [ZC_STREAM_HASH];
    char hex [2 * ZC_STREAM_HASH + 1], size [24], mode [8];
    zc_sha256_final (&self->whole, hash);
    sodium_bin2hex (hex, sizeof hex, hash, sizeof hash);
    snprintf (size, sizeof size, "%" PRIu64, self->size);
    snprintf (mode, sizeof mode, "%o", self->mode);
    zlist_t *args = zlist_new ();
    zlist_autofree (args);
    zlist_append (args, self->destination);
    zlist_append (args, self->key);
    zlist_append (args, size);
    zlist_append (args, mode);
    zlist_append (args, hex);
    s_report (self, true);
    s_submit (self, ZC_METHOD_COPY_CLOSE, args);
    zlist_destroy (&args);
}

//  Reads and sends while the window has room.
static void
s_pump (zc_copysend_t *self)
{
    uint8_t *chunk = self->chunk;
    while (self->phase == S_SENDING && self->stream && !zc_streamout_full (self->stream)
           && self->read_pos < self->size) {
        uint64_t left = self->size - self->read_pos;
        size_t piece = zc_streamout_chunk_size (self->stream) - ZC_STREAM_HASH;
        size_t want = left < piece? (size_t) left: piece;
        ssize_t got = pread (self->fd, chunk + ZC_STREAM_HASH, want, (off_t) self->read_pos);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            char *error = zsys_sprintf ("copy: cannot read %s at %" PRIu64 ": %s", self->source,
                                        self->read_pos, got < 0? strerror (errno): "it shrank");
            s_end (self, ZC_STATE_FAILED, NULL, error);
            free (error);
            return;
        }
        zc_sha256 (chunk, chunk + ZC_STREAM_HASH, (size_t) got);
        zc_sha256_update (&self->whole, chunk + ZC_STREAM_HASH, (size_t) got);
        self->read_pos += (uint64_t) got;
        self->sent_bytes += (uint64_t) got;
        zc_streamout_write (self->stream, ZC_STREAM_COPY, chunk, ZC_STREAM_HASH + (size_t) got);
    }
    if (self->phase == S_SENDING && self->stream && self->read_pos == self->size)
        zc_streamout_close (self->stream);      //  its done callback closes the copy
    s_report (self, false);
}

//  The destination said what it has: send the rest.
static void
s_opened (zc_copysend_t *self, const char *out)
{
    char *end = NULL;
    unsigned long long offset = out? strtoull (out, &end, 10): 0;
    if (!out || end == out || offset > self->size)
        offset = 0;
    self->offset = self->read_pos = offset;
    zc_sha256_init (&self->whole);
    if (s_hash_range (self, 0, offset) != 0) {
        char *error = zsys_sprintf ("copy: cannot read %s: %s", self->source, strerror (errno));
        s_end (self, ZC_STATE_FAILED, NULL, error);
        free (error);
        return;
    }
    char node [ZC_NAME_SIZE];
    zc_job_id_parse (self->job_id, &self->stream_id, node);
    zc_streamout_spec_t spec = {
        .seal = self->spec.seal, .name = self->name, .origin = self->node, .id = &self->stream_id,
        .send = self->spec.send, .send_arg = self->spec.send_arg, .on_room = s_stream_room,
        .on_done = s_stream_done, .arg = self
    };
    self->stream = zc_streamout_new (&spec);
    self->phase = S_SENDING;
    zc_debug ("copy of %s to %s:%s: the destination has %llu of %" PRIu64 " bytes",
              self->source, self->node, self->destination, offset, self->size);
    s_pump (self);
}

bool
zc_copysend_job_final (zc_copysend_t *self, const char *job_id, zc_state_t state,
                       const char *out, const char *error)
{
    if (!self->job_id || !streq (job_id, self->job_id) || self->phase == S_ENDED)
        return false;
    char *why = NULL;
    if (state == ZC_STATE_DONE && self->phase == S_OPENING)
        s_opened (self, out);
    else
    if (state == ZC_STATE_DONE && self->phase == S_CLOSING) {
        size_t length = out? strcspn (out, "\n"): 0;
        char *text = zsys_sprintf ("copied %s to %s: %.*s; %" PRIu64 " bytes sent\n", self->source,
                                   self->node, (int) length, out? out: "", self->sent_bytes);
        s_end (self, ZC_STATE_DONE, text, NULL);
        free (text);
    }
    else
    if (self->phase == S_CLOSING && state == ZC_STATE_FAILED && error && strstr (error, "starts over")
    &&  ++self->attempts < S_ATTEMPTS) {
        zc_warn ("copy of %s to %s: %s", self->source, self->node, error);
        s_open (self);
    }
    else {
        why = zsys_sprintf ("copy: %s answered %s: %s", self->node, zc_state_name (state),
                            error? error: "(no reason)");
        s_end (self, state == ZC_STATE_DENIED? ZC_STATE_DENIED: ZC_STATE_FAILED, NULL, why);
        free (why);
    }
    return true;
}

bool
zc_copysend_awaits (zc_copysend_t *self, const char *job_id)
{
    return self->job_id && self->phase != S_ENDED && streq (self->job_id, job_id);
}

bool
zc_copysend_on_ack (zc_copysend_t *self, const zc_id_t *id, const char *from, uint64_t seq)
{
    if (!self->stream || !streq (from, self->node) || !zc_id_equal (id, &self->stream_id))
        return false;
    zc_streamout_on_ack (self->stream, seq);
    s_pump (self);
    return true;
}

void
zc_copysend_resend (zc_copysend_t *self, const char *node)
{
    if (self->stream && (!node || streq (node, self->node)))
        zc_streamout_resend (self->stream);
}

void
zc_copysend_tick (zc_copysend_t *self, uint64_t now)
{
    if (self->phase != S_SENDING || !self->stream)
        return;
    zc_streamout_tick (self->stream, now);
    //  Sent, and nothing taken for a long while: the destination may
    //  have restarted and forgotten the session. It is asked again.
    if (!zc_streamout_done (self->stream) && zc_streamout_chunks (self->stream) > zc_streamout_acked (self->stream)
    &&  now - zc_streamout_last_ack (self->stream) > S_STALL_MS) {
        zc_info ("copy of %s to %s: nothing taken for %d s; asking what it has", self->source, self->node,
                 S_STALL_MS / 1000);
        s_open (self);
    }
    s_report (self, false);
}

//  ---------------------------------------------------------------------
//  Self-test: a source and a destination in one process; the link is a
//  list the test delivers by hand (or loses).

typedef struct {
    zc_copysink_t *sink;
    zc_copysend_t *copy;
    zlist_t *to_sink;           //  chunks on their way
    zlist_t *to_source;         //  acknowledgments on their way
    zlist_t *jobs;              //  (method, args) as submitted: zlist of zlist
    int job_count;
    zc_result_t *result;
    uint64_t last_stored;
} s_test_t;

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    s_test_t *test = arg;
    zc_wire_t *msg = *msg_p;
    *msg_p = NULL;
    if (msg->flags & ZC_FLAG_STREAM_ACK) {
        snprintf (msg->from, sizeof msg->from, "dst");
        zlist_append (test->to_source, msg);
    }
    else {
        snprintf (msg->from, sizeof msg->from, "src");
        zlist_append (test->to_sink, msg);
    }
    return 0;
}

static char *
s_test_submit (zc_method_t method, const char *node, zlist_t *args, void *arg)
{
    s_test_t *test = arg;
    zlist_t *job = zlist_dup (args);
    zlist_autofree (job);
    zlist_push (job, (void *) zc_method_name (method));
    zlist_append (test->jobs, job);
    zc_id_t id;
    zc_id_generate (&id);
    char job_id [ZC_JOB_ID_MAX];
    zc_job_id_format (&id, node, job_id);
    zlist_push (job, job_id);       //  first: the job's ID
    test->job_count++;
    return zc_strdup (job_id);
}

static void
s_test_done (zc_copysend_t *copy, zc_result_t *result, void *arg)
{
    ((s_test_t *) arg)->result = result;
}

static void
s_test_progress (zc_copysend_t *copy, uint64_t stored, uint64_t total, void *arg)
{
    ((s_test_t *) arg)->last_stored = stored;
}

//  Runs the jobs submitted so far at the sink, telling the copy their
//  results.
static void
s_test_run_jobs (s_test_t *test)
{
    zlist_t *job;
    while ((job = zlist_pop (test->jobs))) {
        char *job_id = zlist_pop (job), *method = zlist_pop (job);
        zc_id_t id;
        char node [ZC_NAME_SIZE];
        zc_job_id_parse (job_id, &id, node);
        zc_result_t *result = streq (method, "copy_open")? zc_copysink_open (test->sink, &id, "src", job)
                                                         : zc_copysink_close (test->sink, "src", job);
        zc_copysend_job_final (test->copy, job_id, result->state, (const char *) result->out, result->error);
        zc_result_destroy (&result);
        free (job_id);
        free (method);
        zlist_destroy (&job);
    }
}

//  Delivers the chunks on their way ('lose' of them are lost), then the
//  acknowledgments.
static void
s_test_deliver (s_test_t *test, int lose)
{
    zc_wire_t *msg;
    while ((msg = zlist_pop (test->to_sink))) {
        if (lose > 0)
            lose--;
        else
            zc_copysink_on_chunk (test->sink, msg);
        zc_wire_destroy (&msg);
    }
    while ((msg = zlist_pop (test->to_source))) {
        if (test->copy)
            zc_copysend_on_ack (test->copy, &msg->id, msg->from, msg->seq);
        zc_wire_destroy (&msg);
    }
}

//  Writes 'size' pseudo-random bytes to 'path'.
static void
s_test_file (const char *path, size_t size, mode_t mode)
{
    uint8_t *bytes = zc_malloc (size? size: 1);
    randombytes_buf (bytes, size);
    FILE *file = fopen (path, "wb");
    if (file) {
        fwrite (bytes, 1, size, file);
        fclose (file);
    }
    chmod (path, mode);
    free (bytes);
}

//  The partial file of 'name' in 'dir' (malloc'd), or NULL.
static char *
s_test_partial (const char *dir, const char *name)
{
    char *pattern = zsys_sprintf ("%s/.%s.zcnc-*.part", dir, name);
    glob_t found;
    char *path = glob (pattern, 0, NULL, &found) == 0 && found.gl_pathc == 1? zc_strdup (found.gl_pathv [0]): NULL;
    globfree (&found);
    free (pattern);
    return path;
}

static bool
s_test_same (const char *a, const char *b)
{
    char *command = zsys_sprintf ("cmp -s '%s' '%s'", a, b);
    int rc = system (command);
    free (command);
    return rc == 0;
}

int
zc_copy_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-copy-XXXXXX";
    ZC_CHECK (mkdtemp (dir));
    char *source = zsys_sprintf ("%s/source.bin", dir), *dest = zsys_sprintf ("%s/dest.bin", dir);
    size_t size = 40 * ZC_COPY_PIECE + 123;
    s_test_file (source, size, 0640);
    s_test_t test = { .to_sink = zlist_new (), .to_source = zlist_new (), .jobs = zlist_new () };
    test.sink = zc_copysink_new (NULL, "dst", s_test_send, &test);
    zc_copysend_spec_t spec = { .name = "src", .source = source, .node = "dst", .destination = dest,
                                .send = s_test_send, .send_arg = &test, .submit = s_test_submit, .submit_arg = &test,
                                .done = s_test_done, .progress = s_test_progress, .arg = &test };
    char *error = NULL;

    //  A first attempt: open, then half of the chunks arrive, and the
    //  destination "restarts" (its sessions are gone).
    test.copy = zc_copysend_start (&spec, &error);
    ZC_CHECK (test.copy && !error);
    s_test_run_jobs (&test);
    ZC_CHECK (zc_copysink_sessions (test.sink) == 1);
    s_test_deliver (&test, 0);
    zc_copysink_destroy (&test.sink);
    test.sink = zc_copysink_new (NULL, "dst", s_test_send, &test);
    s_test_deliver (&test, 0);          //  dropped: no session
    struct stat st;
    char *partial = s_test_partial (dir, "dest.bin");
    ZC_CHECK (partial && stat (partial, &st) == 0 && st.st_size > 0 && (size_t) st.st_size < size);
    uint64_t had = partial? (uint64_t) st.st_size: 0;
    //  Nothing taken for the stall time: the copy asks again, and goes
    //  on from what the destination has.
    zc_copysend_tick (test.copy, (uint64_t) zclock_mono () + S_STALL_MS + 1000);
    ZC_CHECK (zlist_size (test.jobs) == 1);
    size_t jobs_before = (size_t) test.job_count;
    s_test_run_jobs (&test);
    //  With some chunks lost on the way: the stall timer sends them again.
    s_test_deliver (&test, 2);
    for (int round = 0; round < 200 && !test.result; round++) {
        zc_copysend_tick (test.copy, (uint64_t) zclock_mono () + 5000 * (uint64_t) (round + 1));
        s_test_deliver (&test, 0);
        s_test_run_jobs (&test);
    }
    ZC_CHECK (test.result && test.result->state == ZC_STATE_DONE);
    ZC_CHECK (s_test_same (source, dest));
    ZC_CHECK (stat (dest, &st) == 0 && (st.st_mode & 07777) == 0640);
    ZC_CHECK (partial && stat (partial, &st) != 0);      //  moved into place
    if (verbose)
        printf ("# partial %s, result: %s\n", partial? partial: "-",
                test.result && test.result->out? (char *) test.result->out: "-");
    ZC_CHECK (test.last_stored == size);
    //  What the destination had was not sent again (but for the chunks
    //  that were on their way when it "restarted").
    ZC_CHECK (test.result && test.result->out);
    const char *sent = test.result && test.result->out? strrchr ((char *) test.result->out, ';'): NULL;
    uint64_t sent_bytes = sent? strtoull (sent + 1, NULL, 10): 0;
    ZC_CHECK (sent_bytes > 0 && sent_bytes <= 2 * size - had + 8 * ZC_COPY_PIECE);
    ZC_CHECK (test.job_count > (int) jobs_before);
    zc_result_destroy (&test.result);
    zc_copysend_destroy (&test.copy);

    //  A partial file changed on disk (corrupted at the destination)
    //  while the destination was down fails the whole file's check
    //  there: the copy starts over, and succeeds. (A destination that
    //  stays up checks the hash of the bytes as it took them, as rsync
    //  does; one that restarted hashes the file as it finds it.) Byte 7
    //  is never sent again but by a copy that starts over.
    char *other = zsys_sprintf ("%s/other.bin", dir);
    spec.destination = other;
    test.copy = zc_copysend_start (&spec, &error);
    s_test_run_jobs (&test);
    s_test_deliver (&test, 0);
    zc_copysink_destroy (&test.sink);
    test.sink = zc_copysink_new (NULL, "dst", s_test_send, &test);
    char *other_partial = s_test_partial (dir, "other.bin");
    ZC_CHECK (other_partial && stat (other_partial, &st) == 0 && st.st_size > 7 && (size_t) st.st_size < size);
    int fd = other_partial? open (other_partial, O_WRONLY): -1;
    ZC_CHECK (fd >= 0 && pwrite (fd, "X", 1, 7) == 1);
    if (fd >= 0)
        close (fd);
    free (other_partial);
    for (int round = 0; round < 200 && !test.result; round++) {
        s_test_run_jobs (&test);
        s_test_deliver (&test, 0);
        zc_copysend_tick (test.copy, (uint64_t) zclock_mono () + 5000 * (uint64_t) (round + 1));
    }
    ZC_CHECK (test.result && test.result->state == ZC_STATE_DONE);
    ZC_CHECK (s_test_same (source, other));
    zc_result_destroy (&test.result);
    zc_copysend_destroy (&test.copy);

    //  A chunk damaged on its way (its bytes no longer match its
    //  SHA-256) is not taken: nothing of it is written, nor of the
    //  chunks after it (out of order), and nothing is acknowledged past
    //  the chunk before it. Sent again at the retransmission timeout,
    //  it is taken, and the copy ends with the file whole.
    char *third = zsys_sprintf ("%s/third.bin", dir);
    spec.destination = third;
    test.copy = zc_copysend_start (&spec, &error);
    ZC_CHECK (test.copy && !error);
    s_test_run_jobs (&test);
    ZC_CHECK (zlist_size (test.to_sink) >= 3);
    zc_wire_t *first = zlist_first (test.to_sink), *damaged = zlist_next (test.to_sink);
    int kind = 0;
    const uint8_t *piece = NULL;
    size_t piece_size = 0;
    ZC_CHECK (first && zc_wire_stream_payload_decode (first->payload, &kind, &piece, &piece_size) == 0
              && kind == ZC_STREAM_COPY && piece_size > ZC_STREAM_HASH);
    uint64_t first_bytes = piece_size - ZC_STREAM_HASH;
    ZC_CHECK (damaged && damaged->seq == 2 && zframe_size (damaged->payload) > ZC_STREAM_HASH + 1);
    if (damaged)
        zframe_data (damaged->payload) [zframe_size (damaged->payload) - 1] ^= 0x01;
    zc_wire_t *msg;
    while ((msg = zlist_pop (test.to_sink))) {
        zc_copysink_on_chunk (test.sink, msg);
        zc_wire_destroy (&msg);
    }
    char *third_partial = s_test_partial (dir, "third.bin");
    ZC_CHECK (third_partial && stat (third_partial, &st) == 0 && (uint64_t) st.st_size == first_bytes);
    for (msg = zlist_first (test.to_source); msg; msg = zlist_next (test.to_source))
        ZC_CHECK (msg->seq <= 1);
    //  Past the retransmission timeout (5 s at first), the chunks go
    //  again from the damaged one, and are taken.
    s_test_deliver (&test, 0);
    zc_copysend_tick (test.copy, (uint64_t) zclock_mono () + 6000);
    s_test_deliver (&test, 0);
    ZC_CHECK (third_partial && stat (third_partial, &st) == 0 && (uint64_t) st.st_size > first_bytes);
    for (int round = 0; round < 200 && !test.result; round++) {
        s_test_run_jobs (&test);
        s_test_deliver (&test, 0);
        zc_copysend_tick (test.copy, (uint64_t) zclock_mono () + 6000 * (uint64_t) (round + 2));
    }
    ZC_CHECK (test.result && test.result->state == ZC_STATE_DONE);
    ZC_CHECK (s_test_same (source, third));
    zc_result_destroy (&test.result);
    zc_copysend_destroy (&test.copy);
    free (third_partial);
    free (third);

    //  Errors: a source that cannot be read; a destination directory
    //  that does not exist; malformed arguments.
    spec.source = "/nonexistent/zcnc";
    ZC_CHECK (zc_copysend_start (&spec, &error) == NULL);
    ZC_CHECK (error && strstr (error, "cannot read /nonexistent/zcnc"));
    free (error);
    error = NULL;
    zlist_t *args = zlist_new ();
    zlist_append (args, "/nonexistent/dir/file");
    zlist_append (args, "0123456789abcdef0123456789abcdef");
    zlist_append (args, "10");
    zc_id_t id;
    zc_id_generate (&id);
    zc_result_t *result = zc_copysink_open (test.sink, &id, "src", args);
    ZC_CHECK (result->state == ZC_STATE_FAILED && strstr (result->error, "no directory /nonexistent/dir"));
    zc_result_destroy (&result);
    zlist_destroy (&args);
    args = zlist_new ();
    zlist_append (args, "relative/path");
    zlist_append (args, "0123456789abcdef0123456789abcdef");
    zlist_append (args, "10");
    result = zc_copysink_open (test.sink, &id, "src", args);
    ZC_CHECK (result->state == ZC_STATE_FAILED && strstr (result->error, "must be an absolute path"));
    zc_result_destroy (&result);
    zlist_destroy (&args);
    args = zlist_new ();
    zlist_append (args, "/tmp/x");
    zlist_append (args, "not-a-key");
    zlist_append (args, "10");
    result = zc_copysink_open (test.sink, &id, "src", args);
    ZC_CHECK_STR (result->error, "copy_open: malformed arguments");
    zc_result_destroy (&result);
    zlist_destroy (&args);

    zc_copysink_destroy (&test.sink);
    zlist_destroy (&test.to_sink);
    zlist_destroy (&test.to_source);
    zlist_destroy (&test.jobs);
    free (partial);
    free (other);
    free (source);
    free (dest);
    char *remove = zsys_sprintf ("rm -rf '%s'", dir);
    ZC_CHECK (system (remove) == 0);
    free (remove);
    return ZC_TEST_END;
}
