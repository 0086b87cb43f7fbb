/*  streamin.c — the receiving end of job output streams (see streamin.h). */
#include "prelude.h"
#include "log.h"
#include "streamin.h"
#include "testing.h"

#define S_NOT_READY_RETRY_MS    50  //  a held acknowledgment is tried again after this

//  Output kept for the result.
typedef struct {
    uint8_t *data;
    size_t size;
    bool truncated;
} s_kept_t;

typedef struct {
    char job_id [ZC_JOB_ID_MAX];
    zc_id_t id;
    char target [ZC_NAME_SIZE];
    uint64_t next_seq;          //  the chunk taken next
    uint64_t acked;             //  the last number acknowledged
    size_t unacked_bytes;       //  taken since
    bool ack_due;               //  something to acknowledge (again)
    s_kept_t kept [2];          //  stdout, stderr
} s_stream_t;

struct _zc_streamin_t {
    zc_streamin_spec_t spec;
    char name [ZC_NAME_SIZE];
    zc_seal_t *seal;
    zhashx_t *streams;          //  job ID -> s_stream_t
    int timer_id;               //  the acknowledgment timer, or -1
    zc_streamin_counts_t counts;
};

static void
s_stream_destroy (void **item)
{
    s_stream_t *stream = *item;
    free (stream->kept [0].data);
    free (stream->kept [1].data);
    free (stream);
    *item = NULL;
}

zc_streamin_t *
zc_streamin_new (const zc_streamin_spec_t *spec)
{
    zc_streamin_t *self = zc_calloc (1, sizeof *self);
    self->spec = *spec;
    snprintf (self->name, sizeof self->name, "%s", spec->name);
    self->spec.name = self->name;
    self->streams = zhashx_new ();
    zhashx_set_destructor (self->streams, s_stream_destroy);
    self->timer_id = -1;
    return self;
}

void
zc_streamin_destroy (zc_streamin_t **self_p)
{
    if (*self_p) {
        zc_streamin_t *self = *self_p;
        if (self->timer_id != -1)
            zloop_timer_end (self->spec.loop, self->timer_id);
        zhashx_destroy (&self->streams);
        free (self);
        *self_p = NULL;
    }
}

void
zc_streamin_set_seal (zc_streamin_t *self, zc_seal_t *seal)
{
    self->seal = seal;
}

static bool
s_ready (zc_streamin_t *self, s_stream_t *stream)
{
    return !self->spec.ready || self->spec.ready (stream->job_id, self->spec.arg);
}

//  Acknowledges what a stream took, unless its clients are full.
//  Returns false when it had to wait for them.
static bool
s_acknowledge (zc_streamin_t *self, s_stream_t *stream)
{
    if (!stream->ack_due)
        return true;
    if (!s_ready (self, stream))
        return false;
    zc_wire_t *ack = zc_wire_new (ZC_MSG_STREAM);
    ack->flags = ZC_FLAG_STREAM_ACK;
    ack->id = stream->id;
    ack->seq = stream->next_seq - 1;
    zlist_append (ack->to, stream->target);
    //  Lost with the link: the target sends its chunks again, and those
    //  already taken are acknowledged then.
    self->spec.send (&ack, self->spec.send_arg);
    stream->acked = stream->next_seq - 1;
    stream->unacked_bytes = 0;
    stream->ack_due = false;
    return true;
}

static int s_on_timer (zloop_t *loop, int timer_id, void *arg);

static void
s_arm (zc_streamin_t *self, size_t delay_ms)
{
    if (self->timer_id == -1 && self->spec.loop)
        self->timer_id = zloop_timer (self->spec.loop, delay_ms, 1, s_on_timer, self);
}

//  Acknowledges every stream that has something due; what must wait
//  for its clients is tried again a little later.
static void
s_acknowledge_all (zc_streamin_t *self)
{
    bool waiting = false;
    for (s_stream_t *stream = zhashx_first (self->streams); stream; stream = zhashx_next (self->streams))
        if (!s_acknowledge (self, stream))
            waiting = true;
    if (waiting)
        s_arm (self, S_NOT_READY_RETRY_MS);
}

static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_streamin_t *self = arg;
    self->timer_id = -1;            //  a one-shot timer is gone once it fired
    s_acknowledge_all (self);
    return 0;
}

void
zc_streamin_poke (zc_streamin_t *self)
{
    s_acknowledge_all (self);
}

static void
s_keep (s_kept_t *kept, size_t max_output, const uint8_t *bytes, size_t size)
{
    size_t room = max_output > kept->size? max_output - kept->size: 0;
    size_t take = size < room? size: room;
    if (take) {
        uint8_t *data = zc_realloc (kept->data, kept->size + take);
        if (data) {
            memcpy (data + kept->size, bytes, take);
            kept->data = data;
            kept->size += take;
        }
        else
            take = 0;
    }
    if (take < size)
        kept->truncated = true;
}

//  The stream of a job, made on its first chunk; NULL (counted) when
//  (id, from) is no streaming job of ours.
static s_stream_t *
s_stream_for (zc_streamin_t *self, zc_wire_t *msg, const char *job_id)
{
    s_stream_t *stream = zhashx_lookup (self->streams, job_id);
    if (stream)
        return stream;
    if (!self->spec.known (&msg->id, msg->from, self->spec.arg)) {
        self->counts.rejected++;
        zc_debug ("dropped output chunk %" PRIu64 " of %s: no streaming job of ours", msg->seq, job_id);
        return NULL;
    }
    stream = zc_calloc (1, sizeof *stream);
    snprintf (stream->job_id, sizeof stream->job_id, "%s", job_id);
    stream->id = msg->id;
    snprintf (stream->target, sizeof stream->target, "%s", msg->from);
    //  The first chunk seen starts the stream: 1, or after a restart
    //  of this agent whatever comes next.
    stream->next_seq = msg->seq;
    stream->acked = msg->seq - 1;
    zhashx_insert (self->streams, job_id, stream);
    return stream;
}

void
zc_streamin_on_chunk (zc_streamin_t *self, zc_wire_t *msg)
{
    if (!*msg->from || (msg->flags & ZC_FLAG_STREAM_ACK) || !msg->payload) {
        self->counts.rejected++;
        return;
    }
    char job_id [ZC_JOB_ID_MAX];
    zc_job_id_format (&msg->id, msg->from, job_id);
    s_stream_t *stream = s_stream_for (self, msg, job_id);
    if (!stream)
        return;
    if (msg->seq != stream->next_seq) {
        if (msg->seq < stream->next_seq)
            self->counts.duplicates++;
        else
            self->counts.out_of_order++;
        stream->ack_due = true;     //  tells the target where we are
        s_arm (self, ZC_STREAMIN_ACK_DELAY_MS);
        return;
    }
    zframe_t *payload = NULL;
    if (self->seal) {
        char reason [256];
        zc_seal_about_t about = { .id = &msg->id, .origin = self->name, .target = msg->from,
                                  .relay = "", .seq = msg->seq };
        if (zc_seal_open_stream (self->seal, &about, msg->payload, &payload, reason, sizeof reason) != 0) {
            zc_warn ("dropped output chunk %" PRIu64 " of %s: %s", msg->seq, job_id, reason);
            self->counts.rejected++;
            return;
        }
    }
    else
        payload = zframe_dup (msg->payload);
    int kind;
    const uint8_t *bytes;
    size_t size;
    if (zc_wire_stream_payload_decode (payload, &kind, &bytes, &size) != 0 || kind == ZC_STREAM_COPY) {
        zc_warn ("dropped output chunk %" PRIu64 " of %s: malformed", msg->seq, job_id);
        self->counts.rejected++;
        zframe_destroy (&payload);
        return;
    }
    stream->next_seq++;
    stream->unacked_bytes += size;
    stream->ack_due = true;
    self->counts.chunks++;
    s_keep (&stream->kept [kind == ZC_STREAM_STDOUT? 0: 1], self->spec.max_output, bytes, size);
    self->spec.output (job_id, kind, bytes, size, self->spec.arg);
    zframe_destroy (&payload);
    if (stream->next_seq - 1 - stream->acked >= ZC_STREAMIN_ACK_EVERY
    ||  stream->unacked_bytes >= ZC_STREAMIN_ACK_BYTES) {
        if (!s_acknowledge (self, stream))
            s_arm (self, S_NOT_READY_RETRY_MS);
    }
    else
        s_arm (self, ZC_STREAMIN_ACK_DELAY_MS);
}

void
zc_streamin_finish (zc_streamin_t *self, const char *job_id, zc_result_t *result)
{
    s_stream_t *stream = zhashx_lookup (self->streams, job_id);
    if (!stream)
        return;
    if (result && !result->out_size && !result->err_size) {
        result->out = stream->kept [0].data;
        result->out_size = stream->kept [0].size;
        result->stdout_truncated = result->stdout_truncated || stream->kept [0].truncated;
        result->err = stream->kept [1].data;
        result->err_size = stream->kept [1].size;
        result->stderr_truncated = result->stderr_truncated || stream->kept [1].truncated;
        stream->kept [0].data = stream->kept [1].data = NULL;
    }
    zhashx_delete (self->streams, job_id);
}

zc_streamin_counts_t
zc_streamin_counts (zc_streamin_t *self)
{
    return self->counts;
}

size_t
zc_streamin_size (zc_streamin_t *self)
{
    return zhashx_size (self->streams);
}

//  ---------------------------------------------------------------------
//  Self-test

typedef struct {
    zlist_t *acks;              //  zc_wire_t sent
    zchunk_t *out;              //  what the output callback got, in order
    bool ready;
    bool known;
} s_test_state_t;

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    s_test_state_t *state = arg;
    zlist_append (state->acks, *msg_p);
    *msg_p = NULL;
    return 0;
}

static bool
s_test_known (const zc_id_t *id, const char *from, void *arg)
{
    return ((s_test_state_t *) arg)->known && streq (from, "t1");
}

static void
s_test_output (const char *job_id, int stream, const uint8_t *bytes, size_t size, void *arg)
{
    zchunk_extend (((s_test_state_t *) arg)->out, bytes, size);
}

static bool
s_test_ready (const char *job_id, void *arg)
{
    return ((s_test_state_t *) arg)->ready;
}

static int
s_test_stop (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

static zc_wire_t *
s_test_chunk (const zc_id_t *id, const char *from, uint64_t seq, int stream, const char *text)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_STREAM);
    msg->id = *id;
    msg->seq = seq;
    snprintf (msg->from, sizeof msg->from, "%s", from);
    zlist_append (msg->to, "o1");
    msg->payload = zc_wire_stream_payload (stream, (const uint8_t *) text, strlen (text));
    return msg;
}

static void
s_test_feed (zc_streamin_t *self, const zc_id_t *id, const char *from, uint64_t seq, int stream,
             const char *text)
{
    zc_wire_t *msg = s_test_chunk (id, from, seq, stream, text);
    zc_streamin_on_chunk (self, msg);
    zc_wire_destroy (&msg);
}

//  The last acknowledgment sent, or 0.
static uint64_t
s_test_last_ack (s_test_state_t *state)
{
    zc_wire_t *ack = zlist_last (state->acks);
    return ack && (ack->flags & ZC_FLAG_STREAM_ACK) && streq (zlist_first (ack->to), "t1")? ack->seq: 0;
}

int
zc_streamin_test (bool verbose)
{
    ZC_TEST_BEGIN;
    zloop_t *loop = zloop_new ();
    s_test_state_t state = { .acks = zlist_new (), .out = zchunk_new (NULL, 0), .ready = true,
                             .known = true };
    zc_streamin_spec_t spec = { .loop = loop, .name = "o1", .max_output = 8, .send = s_test_send,
                                .send_arg = &state, .known = s_test_known, .output = s_test_output,
                                .ready = s_test_ready, .arg = &state };
    zc_streamin_t *self = zc_streamin_new (&spec);
    zc_id_t id;
    zc_id_generate (&id);

    //  In order, whatever the arrival: 2 before 1 is dropped, then taken
    //  when it comes again; duplicates are not taken twice.
    s_test_feed (self, &id, "t1", 1, ZC_STREAM_STDOUT, "one ");
    s_test_feed (self, &id, "t1", 3, ZC_STREAM_STDOUT, "three ");
    s_test_feed (self, &id, "t1", 2, ZC_STREAM_STDERR, "two ");
    s_test_feed (self, &id, "t1", 2, ZC_STREAM_STDERR, "two ");
    s_test_feed (self, &id, "t1", 3, ZC_STREAM_STDOUT, "three ");
    ZC_CHECK (zchunk_size (state.out) == 14 && memcmp (zchunk_data (state.out), "one two three ", 14) == 0);
    zc_streamin_counts_t counts = zc_streamin_counts (self);
    ZC_CHECK (counts.chunks == 3 && counts.duplicates == 1 && counts.out_of_order == 1);
    //  Acknowledged a few ms later, once, up to the last one taken.
    ZC_CHECK (zlist_size (state.acks) == 0);
    zloop_timer (loop, 30, 1, s_test_stop, NULL);
    zloop_start (loop);
    ZC_CHECK (zlist_size (state.acks) == 1 && s_test_last_ack (&state) == 3);
    //  Not from the job's target, or not a job of ours: dropped.
    s_test_feed (self, &id, "t2", 4, ZC_STREAM_STDOUT, "x");
    state.known = false;
    zc_id_t other;
    zc_id_generate (&other);
    s_test_feed (self, &other, "t1", 1, ZC_STREAM_STDOUT, "x");
    state.known = true;
    ZC_CHECK (zc_streamin_counts (self).rejected == 2 && zc_streamin_size (self) == 1);
    //  Malformed inside: dropped, not taken.
    zc_wire_t *bad = s_test_chunk (&id, "t1", 4, ZC_STREAM_STDOUT, "x");
    zframe_data (bad->payload) [0] = 9;
    zc_streamin_on_chunk (self, bad);
    zc_wire_destroy (&bad);
    ZC_CHECK (zc_streamin_counts (self).rejected == 3 && zc_streamin_counts (self).chunks == 3);

    //  Clients that cannot take more hold the acknowledgment; after
    //  eight chunks it would go at once otherwise.
    state.ready = false;
    for (uint64_t seq = 4; seq < 4 + ZC_STREAMIN_ACK_EVERY; seq++)
        s_test_feed (self, &id, "t1", seq, ZC_STREAM_STDOUT, "x");
    ZC_CHECK (s_test_last_ack (&state) == 3);
    state.ready = true;
    zc_streamin_poke (self);
    ZC_CHECK (s_test_last_ack (&state) == 3 + ZC_STREAMIN_ACK_EVERY);

    //  The result gets the output kept: max_output bytes per stream.
    zc_result_t *result = zc_result_new ();
    char job_id [ZC_JOB_ID_MAX];
    zc_job_id_format (&id, "t1", job_id);
    zc_streamin_finish (self, job_id, result);
    ZC_CHECK (result->out_size == 8 && memcmp (result->out, "one thre", 8) == 0 && result->stdout_truncated);
    ZC_CHECK (result->err_size == 4 && memcmp (result->err, "two ", 4) == 0 && !result->stderr_truncated);
    ZC_CHECK (zc_streamin_size (self) == 0);
    zc_result_destroy (&result);
    zc_streamin_finish (self, job_id, NULL);        //  twice: nothing

    //  After a restart, a stream goes on from the chunk that comes next.
    s_test_feed (self, &other, "t1", 40, ZC_STREAM_STDOUT, "late");
    ZC_CHECK (zc_streamin_size (self) == 1 && zc_streamin_counts (self).chunks == 4 + ZC_STREAMIN_ACK_EVERY);

    zc_wire_t *ack;
    while ((ack = zlist_pop (state.acks)))
        zc_wire_destroy (&ack);
    zlist_destroy (&state.acks);
    zchunk_destroy (&state.out);
    zc_streamin_destroy (&self);
    zloop_destroy (&loop);
    return ZC_TEST_END;
}
