/*  follow.c — log shipping, the sending end (follow.h).

    Store layout. A stream is keyed by a hash of its subject (16 hex
    digits, KEY): its lines are spool records "KEY:NNNNNNNNNNNNNNNNNNNN"
    (the line's number, 20 digits, so that keys sort by number) holding
    the line's bytes, and its state is the STATE record "follow:KEY":
    dev, inode and position of the file read, the next number, the last
    number a collector stored and the lines dropped, each a big-endian
    u64.
*/
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "prelude.h"
#include "follow.h"
#include "log.h"
#include "pubseal.h"
#include "testing.h"

#define S_READ_MAX      (1u << 20)      //  bytes read from one file per tick
#define S_WINDOW_LINES  4096            //  lines sent and not stored yet, per stream
#define S_RESEND_MS     5000            //  no progress this long: send again ...
#define S_RESEND_MAX_MS 60000           //  ... backing off to this
#define S_PUB_BUDGET    (ZC_WIRE_MAX_WHOLE - 1024)  //  bytes of lines in one PUB
#define S_MAX_ITEMS     1024
#define S_STATE_FIELDS  6
#define S_DROP_LOG_MS   60000

typedef struct {
    char *path, *subject;
    char key [17];                  //  the stream's store key
    int fd;                         //  the file read, or -1
    uint64_t dev, ino, offset;
    char partial [ZC_FOLLOW_MAX_LINE];  //  a line without its newline yet
    size_t partial_size;
    uint64_t next;                  //  the number of the next line (from 1)
    uint64_t first;                 //  the oldest line spooled (next when none)
    uint64_t stored;                //  the last line a collector stored
    uint64_t sent;                  //  the last line sent since the link came up
    uint64_t sent_max;              //  the last line sent since the agent started
    uint64_t dropped, unsaid;       //  lines dropped, and not said yet
    uint16_t *sizes;                //  ring: sizes of lines first .. next - 1
    size_t sizes_head, sizes_cap;
    int64_t progress, resend_ms;    //  when 'stored' last moved; the wait before resending
    int64_t drop_logged;
    bool not_regular_logged;
    bool dirty;                     //  the state record must be written
} s_stream_t;

struct _zc_follow_t {
    zc_store_t *store;
    zlist_t *streams;               //  s_stream_t
    size_t spool_max, spooled;      //  bytes of lines in the spool
    char name [ZC_NAME_SIZE];
    uint8_t sign_secret [64];
    zc_follow_send_fn *send;
    void *arg;
};

//  ---------------------------------------------------------------------
//  The ring of line sizes

static size_t
s_count (s_stream_t *stream)
{
    return (size_t) (stream->next - stream->first);
}

static void
s_sizes_push (s_stream_t *stream, uint16_t size)
{
    size_t count = s_count (stream);        //  before this line
    if (count == stream->sizes_cap) {
        size_t cap = stream->sizes_cap? stream->sizes_cap * 2: 1024;
        uint16_t *sizes = zc_malloc (cap * sizeof *sizes);
        for (size_t index = 0; index < count; index++)
            sizes [index] = stream->sizes [(stream->sizes_head + index) % stream->sizes_cap];
        free (stream->sizes);
        stream->sizes = sizes;
        stream->sizes_cap = cap;
        stream->sizes_head = 0;
    }
    stream->sizes [(stream->sizes_head + count) % stream->sizes_cap] = size;
}

static uint16_t
s_sizes_pop (s_stream_t *stream)
{
    uint16_t size = stream->sizes [stream->sizes_head];
    stream->sizes_head = (stream->sizes_head + 1) % stream->sizes_cap;
    return size;
}

//  ---------------------------------------------------------------------
//  The store

static void
s_line_key (s_stream_t *stream, uint64_t number, char key [40])
{
    snprintf (key, 40, "%s:%020" PRIu64, stream->key, number);
}

static void
s_save_state (zc_follow_t *self, s_stream_t *stream)
{
    //  The position saved is the start of the line not complete yet: it
    //  is read again after a restart.
    uint64_t fields [S_STATE_FIELDS] = { stream->dev, stream->ino, stream->offset - stream->partial_size,
                                         stream->next, stream->stored, stream->dropped };
    char key [32];
    snprintf (key, sizeof key, "follow:%s", stream->key);
    zc_store_put_numbers (self->store, ZC_TABLE_STATE, key, fields, S_STATE_FIELDS);
    stream->dirty = false;
}

static int
s_load_state (const char *key, const void *value, size_t size, void *arg)
{
    s_stream_t *stream = arg;
    uint64_t fields [S_STATE_FIELDS];
    if (!zc_store_numbers (value, size, fields, S_STATE_FIELDS))
        return 0;
    stream->dev = fields [0];
    stream->ino = fields [1];
    stream->offset = fields [2];
    stream->next = fields [3] > 0? fields [3]: 1;
    stream->stored = fields [4];
    stream->dropped = fields [5];
    return 0;
}

typedef struct {
    zc_follow_t *self;
    s_stream_t *stream;
    size_t prefix;
} s_scan_t;

//  A spooled line of the stream being loaded: its size goes in the ring.
static int
s_load_line (const char *key, const void *value, size_t size, void *arg)
{
    s_scan_t *scan = arg;
    s_stream_t *stream = scan->stream;
    if (strncmp (key, stream->key, scan->prefix) != 0 || key [scan->prefix] != ':')
        return -1;                                  //  past this stream's lines
    uint64_t number = strtoull (key + scan->prefix + 1, NULL, 10);
    if (stream->first == stream->next) {
        stream->first = number;                     //  the first one
        stream->next = number;
    }
    if (number != stream->next) {
        zc_warn ("spool: line %" PRIu64 " of %s missing; the stream goes on from %" PRIu64,
                 stream->next, stream->subject, number);
        //  What comes before the gap goes too (counted, and out of the store).
        char old [40];
        while (s_count (stream)) {
            s_line_key (stream, stream->first, old);
            zc_store_del (scan->self->store, ZC_TABLE_SPOOL, old);
            scan->self->spooled -= s_sizes_pop (stream);
            stream->first++;
        }
        stream->first = stream->next = number;
    }
    s_sizes_push (stream, (uint16_t) size);
    stream->next = number + 1;
    scan->self->spooled += size;
    return 0;
}

//  ---------------------------------------------------------------------
//  Reading

//  Appends one line to the stream's spool; the oldest go when it is full.
static void
s_append (zc_follow_t *self, s_stream_t *stream, const char *bytes, size_t size)
{
    char key [40];
    s_line_key (stream, stream->next, key);
    zc_store_put (self->store, ZC_TABLE_SPOOL, key, bytes, size);
    s_sizes_push (stream, (uint16_t) size);
    stream->next++;
    self->spooled += size;
    stream->dirty = true;
    while (self->spooled > self->spool_max && s_count (stream) > 1) {
        s_line_key (stream, stream->first, key);
        zc_store_del (self->store, ZC_TABLE_SPOOL, key);
        self->spooled -= s_sizes_pop (stream);
        stream->first++;
        stream->dropped++;
        stream->unsaid++;
    }
}

//  Takes lines out of what was read; a line longer than the most goes in
//  pieces.
static void
s_split (zc_follow_t *self, s_stream_t *stream, const char *data, size_t size)
{
    while (size > 0) {
        const char *newline = memchr (data, '\n', size);
        size_t piece = newline? (size_t) (newline - data): size;
        size_t room = sizeof stream->partial - stream->partial_size;
        size_t take = piece < room? piece: room;
        memcpy (stream->partial + stream->partial_size, data, take);
        stream->partial_size += take;
        data += take;
        size -= take;
        if (newline && take == piece) {
            data++;                                 //  the newline
            size--;
            s_append (self, stream, stream->partial, stream->partial_size);
            stream->partial_size = 0;
        }
        else
        if (stream->partial_size == sizeof stream->partial) {
            s_append (self, stream, stream->partial, stream->partial_size);
            stream->partial_size = 0;
        }
    }
}

//  Reads the open file from its position, at most 'limit' bytes. True
//  when it read to the end.
static bool
s_drain (zc_follow_t *self, s_stream_t *stream, size_t limit)
{
    char buffer [65536];
    size_t total = 0;
    while (total < limit) {
        ssize_t got = pread (stream->fd, buffer, sizeof buffer, (off_t) stream->offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return true;
        stream->offset += (uint64_t) got;
        stream->dirty = true;
        s_split (self, stream, buffer, (size_t) got);
        total += (size_t) got;
    }
    return false;
}

//  Opens the file at 'path'; at its end when 'at_end'.
static void
s_open (s_stream_t *stream, bool at_end)
{
    //  Never blocking (a FIFO put in the file's place would hold the
    //  agent), and only a regular file.
    int fd = open (stream->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        if (fd >= 0 && !stream->not_regular_logged) {
            zc_warn ("follow %s: not a regular file; not read (logged once)", stream->path);
            stream->not_regular_logged = true;
        }
        if (fd >= 0)
            close (fd);
        return;
    }
    stream->not_regular_logged = false;
    stream->fd = fd;
    stream->dev = (uint64_t) st.st_dev;
    stream->ino = (uint64_t) st.st_ino;
    stream->offset = at_end? (uint64_t) st.st_size: 0;
    stream->partial_size = 0;
    stream->dirty = true;
}

//  What the file gained: truncated in place, it is read again from the
//  start; renamed away, the old one is read to its end, then the new one
//  from its start.
static void
s_read (zc_follow_t *self, s_stream_t *stream)
{
    struct stat named;
    bool exists = stat (stream->path, &named) == 0 && S_ISREG (named.st_mode);
    if (stream->fd >= 0) {
        struct stat open_st;
        if (fstat (stream->fd, &open_st) == 0 && (uint64_t) open_st.st_size < stream->offset) {
            stream->offset = 0;
            stream->partial_size = 0;
            stream->dirty = true;
        }
        bool ended = s_drain (self, stream, S_READ_MAX);
        bool replaced = !exists || (uint64_t) named.st_ino != stream->ino
                     || (uint64_t) named.st_dev != stream->dev;
        if (replaced && ended && exists) {
            if (stream->partial_size) {
                s_append (self, stream, stream->partial, stream->partial_size);
                stream->partial_size = 0;
            }
            close (stream->fd);
            stream->fd = -1;
        }
    }
    if (stream->fd < 0 && exists) {
        s_open (stream, false);                     //  created since: from its start
        if (stream->fd >= 0)
            s_drain (self, stream, S_READ_MAX);
    }
}

//  ---------------------------------------------------------------------
//  Sending

typedef struct {
    s_stream_t *stream;
    uint64_t expected;
    zlist_t *items;
    size_t bytes;
} s_batch_t;

static int
s_batch_line (const char *key, const void *value, size_t size, void *arg)
{
    s_batch_t *batch = arg;
    size_t prefix = strlen (batch->stream->key);
    if (strncmp (key, batch->stream->key, prefix) != 0 || key [prefix] != ':'
    ||  strtoull (key + prefix + 1, NULL, 10) != batch->expected
    ||  (zlist_size (batch->items) && batch->bytes + size + 4 > S_PUB_BUDGET)
    ||  zlist_size (batch->items) >= S_MAX_ITEMS)
        return -1;
    zlist_append (batch->items, zframe_new (value, size));
    batch->bytes += size + 4;
    batch->expected++;
    return 0;
}

static int
s_publish (zc_follow_t *self, const char *subject, uint64_t seq, bool gap, zlist_t *items)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_PUB);
    msg->subject = zc_strdup (subject);
    msg->seq = seq;
    if (gap)
        msg->flags |= ZC_FLAG_GAP;
    msg->payload = zc_pubseal_make (self->sign_secret, msg, self->name, items);
    if (!msg->payload) {
        zc_wire_destroy (&msg);
        return -1;
    }
    return self->send (&msg, self->arg);
}

//  Sends the lines of a stream not sent yet, within the window.
static void
s_send_stream (zc_follow_t *self, s_stream_t *stream, int64_t now)
{
    uint64_t floor = stream->stored > stream->first - 1? stream->stored: stream->first - 1;
    if (stream->sent < floor)
        stream->sent = floor;
    if (stream->sent > floor && now - stream->progress > stream->resend_ms) {
        //  Nobody said they stored what went: again, waiting longer.
        stream->sent = floor;
        stream->progress = now;
        stream->resend_ms = stream->resend_ms * 2 < S_RESEND_MAX_MS? stream->resend_ms * 2: S_RESEND_MAX_MS;
    }
    while (stream->sent + 1 < stream->next && stream->sent - floor < S_WINDOW_LINES) {
        s_batch_t batch = { stream, stream->sent + 1, zlist_new (), 0 };
        char key [40];
        s_line_key (stream, batch.expected, key);
        zc_store_scan (self->store, ZC_TABLE_SPOOL, key, S_MAX_ITEMS, s_batch_line, &batch);
        size_t count = zlist_size (batch.items);
        //  The first line after lines dropped (and never stored) says so.
        bool gap = stream->sent == floor && floor > stream->stored;
        int rc = count? s_publish (self, stream->subject, stream->sent + 1, gap, batch.items): -1;
        zc_pubseal_items_destroy (&batch.items);
        if (rc != 0)
            break;                  //  not committed yet, or the link would not take it
        if (stream->sent == floor)
            stream->progress = now;
        stream->sent += count;
        if (stream->sent > stream->sent_max)
            stream->sent_max = stream->sent;
    }
}

//  ---------------------------------------------------------------------
//  The object

zc_follow_t *
zc_follow_new (zc_store_t *store, zlist_t *follows, size_t spool_max, const char *name,
               const uint8_t *sign_secret, zc_follow_send_fn *send, void *arg)
{
    zc_follow_t *self = zc_calloc (1, sizeof *self);
    self->store = store;
    self->streams = zlist_new ();
    self->spool_max = spool_max;
    snprintf (self->name, sizeof self->name, "%s", name);
    memcpy (self->sign_secret, sign_secret, sizeof self->sign_secret);
    self->send = send;
    self->arg = arg;
    for (const char *line = zlist_first (follows); line; line = zlist_next (follows)) {
        const char *space = strrchr (line, ' ');
        if (!space)
            continue;               //  the config checked it
        s_stream_t *stream = zc_calloc (1, sizeof *stream);
        stream->path = zc_strdup (line);
        stream->path [space - line] = 0;
        stream->subject = zc_strdup (space + 1);
        uint8_t hash [8];
        crypto_generichash (hash, sizeof hash, (const uint8_t *) stream->subject,
                            strlen (stream->subject), NULL, 0);
        sodium_bin2hex (stream->key, sizeof stream->key, hash, sizeof hash);
        stream->fd = -1;
        //  A new stream's numbers start at a random epoch (22 bits, shifted
        //  by 40, so numbers fit a signed 64-bit JSON integer): collectors
        //  tell it from one that lost its state.
        stream->next = stream->first = (uint64_t) randombytes_uniform (1u << 22) << 40 | 1;
        stream->resend_ms = S_RESEND_MS;
        char key [32];
        snprintf (key, sizeof key, "follow:%s", stream->key);
        bool known = zc_store_get (store, ZC_TABLE_STATE, key, s_load_state, stream) == 1;
        stream->first = stream->next;
        s_scan_t scan = { self, stream, strlen (stream->key) };
        char from [40];
        s_line_key (stream, 0, from);
        zc_store_scan (store, ZC_TABLE_SPOOL, from, 0, s_load_line, &scan);
        zlist_append (self->streams, stream);
        //  Where it was, if that is still the file; the end of a file
        //  followed for the first time; the start of one that replaced it.
        struct stat st;
        if (stat (stream->path, &st) != 0)
            continue;
        if (known && (uint64_t) st.st_dev == stream->dev && (uint64_t) st.st_ino == stream->ino) {
            uint64_t offset = stream->offset;
            s_open (stream, false);
            if (stream->fd >= 0)
                stream->offset = offset <= (uint64_t) st.st_size? offset: 0;
        }
        else
            s_open (stream, !known);
    }
    return self;
}

void
zc_follow_destroy (zc_follow_t **self_p)
{
    if (*self_p) {
        zc_follow_t *self = *self_p;
        s_stream_t *stream;
        while ((stream = zlist_pop (self->streams))) {
            if (stream->fd >= 0)
                close (stream->fd);
            free (stream->path);
            free (stream->subject);
            free (stream->sizes);
            free (stream);
        }
        zlist_destroy (&self->streams);
        sodium_memzero (self->sign_secret, sizeof self->sign_secret);
        free (self);
        *self_p = NULL;
    }
}

void
zc_follow_tick (zc_follow_t *self, int64_t now, bool link_up)
{
    for (s_stream_t *stream = zlist_first (self->streams); stream; stream = zlist_next (self->streams)) {
        uint64_t dropped = stream->dropped;
        s_read (self, stream);
        if (stream->unsaid) {
            //  Said in the stream itself, where the lines went missing:
            //  a line like any other, kept and sent like them.
            char text [400];
            snprintf (text, sizeof text, "zcnc: %" PRIu64 " line(s) of %s dropped: the spool"
                      " (follow_spool, %zu bytes) was full", stream->unsaid, stream->path, self->spool_max);
            s_append (self, stream, text, strlen (text));
            stream->unsaid = 0;
        }
        if (stream->dropped > dropped && (!stream->drop_logged || now - stream->drop_logged >= S_DROP_LOG_MS)) {
            stream->drop_logged = now;
            zc_warn ("follow %s: the spool is full (follow_spool = %zu bytes): %" PRIu64 " line(s)"
                     " dropped so far, the oldest first (logged once a minute)", stream->path,
                     self->spool_max, stream->dropped);
        }
        if (stream->dirty)
            s_save_state (self, stream);
        if (link_up)
            s_send_stream (self, stream, now);
    }
}

void
zc_follow_link_up (zc_follow_t *self)
{
    for (s_stream_t *stream = zlist_first (self->streams); stream; stream = zlist_next (self->streams)) {
        stream->sent = 0;           //  from what is stored, at the next tick
        stream->resend_ms = S_RESEND_MS;
    }
}

void
zc_follow_on_stored (zc_follow_t *self, const char *subject, uint64_t seq, int64_t now)
{
    s_stream_t *stream = zlist_first (self->streams);
    while (stream && strcmp (stream->subject, subject) != 0)
        stream = zlist_next (self->streams);
    if (!stream)
        return;
    //  Never past what was sent: what a collector cannot have had stays.
    if (seq > stream->next - 1)
        seq = stream->next - 1;
    if (seq > stream->sent_max) {
        zc_debug ("follow %s: a STORED for line %" PRIu64 ", not sent since the start (up to %" PRIu64 ")",
                  stream->path, seq, stream->sent_max);
        seq = stream->sent_max;
    }
    if (seq <= stream->stored)
        return;
    char key [40];
    while (stream->first <= seq) {
        s_line_key (stream, stream->first, key);
        zc_store_del (self->store, ZC_TABLE_SPOOL, key);
        self->spooled -= s_sizes_pop (stream);
        stream->first++;
    }
    stream->stored = seq;
    stream->progress = now;
    stream->resend_ms = S_RESEND_MS;
    s_save_state (self, stream);
}

json_t *
zc_follow_status (zc_follow_t *self)
{
    json_t *streams = json_array ();
    for (s_stream_t *stream = zlist_first (self->streams); stream; stream = zlist_next (self->streams))
        json_array_append_new (streams, json_pack ("{s:s, s:s, s:I, s:I, s:I, s:I}",
            "path", stream->path, "subject", stream->subject, "next", (json_int_t) stream->next,
            "stored", (json_int_t) stream->stored, "spooled", (json_int_t) s_count (stream),
            "dropped", (json_int_t) stream->dropped));
    return streams;
}

//  ---------------------------------------------------------------------
//  Self-test

typedef struct {
    bool up;
    zlist_t *sent;              //  "SEQ:item,item" per PUB (autofree), SEQ from the epoch
    uint64_t base;              //  the stream's epoch: its numbers start after it
} s_test_t;

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    s_test_t *test = arg;
    zc_wire_t *msg = *msg_p;
    int rc = -1;
    zc_pub_payload_t payload;
    if (test->up && zc_wire_pub_payload_decode (msg->payload, &payload) == 0) {
        char line [65536];
        if (msg->seq && !test->base)
            test->base = msg->seq >> 40 << 40;
        int size = snprintf (line, sizeof line, "%" PRIu64 ":", msg->seq? msg->seq - test->base: 0);
        for (size_t index = 0; index < payload.count && size < 60000; index++) {
            const zc_pub_item_t *item = &payload.item [index];
            size += snprintf (line + size, sizeof line - size, "%s%.*s", line [size - 1] != ':'? ",": "",
                              (int) (item->size < 40? item->size: 40), (const char *) item->data);
        }
        zlist_append (test->sent, line);
        zc_wire_pub_payload_clear (&payload);
        rc = 0;
    }
    zc_wire_destroy (msg_p);
    return rc;
}

//  What was sent since the last call, "; "-separated.
static char *
s_test_sent (s_test_t *test)
{
    size_t size = 1 << 20, used = 0;
    char *all = zc_malloc (size);
    all [0] = 0;
    char *line;
    while ((line = zlist_pop (test->sent))) {
        used += snprintf (all + used, size - used, "%s%s", used? "; ": "", line);
        free (line);
    }
    return all;
}

static void
s_test_append (const char *path, const char *text)
{
    FILE *file = fopen (path, "a");
    if (file) {
        fputs (text, file);
        fclose (file);
    }
}

//  Ticks, commits, ticks again: what was read is spooled, then sent.
static char *
s_test_cycle (zc_follow_t *follow, zc_store_t *store, s_test_t *test, int64_t now)
{
    zc_follow_tick (follow, now, test->up);
    zc_store_commit (store);
    zc_follow_tick (follow, now, test->up);
    zc_store_commit (store);
    return s_test_sent (test);
}

#define S_CHECK_SENT(expression, expected) do { \
        char *text_ = (expression); \
        ZC_CHECK_STR (text_, expected); \
        free (text_); \
    } while (0)

int
zc_follow_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-follow-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *error = NULL, path [300], rotated [300], store_dir [300];
    snprintf (path, sizeof path, "%s/app.log", dir);
    snprintf (rotated, sizeof rotated, "%s/app.log.1", dir);
    snprintf (store_dir, sizeof store_dir, "%s/store", dir);
    zc_store_t *store = zc_store_open (store_dir, false, &error);
    ZC_CHECK (store != NULL);
    s_test_append (path, "before\n");
    zlist_t *follows = zlist_new ();
    zlist_autofree (follows);
    char line [400];
    snprintf (line, sizeof line, "%s logs.app", path);
    zlist_append (follows, line);
    uint8_t secret [64] = { 0 }, public_key [32];
    crypto_sign_keypair (public_key, secret);
    s_test_t test = { .up = true, .sent = zlist_new () };
    zlist_autofree (test.sent);
    zc_follow_t *follow = zc_follow_new (store, follows, 1 << 20, "n1", secret, s_test_send, &test);
    int64_t now = 1000;

    //  A new follow starts at the end; lines leave once stored, in order,
    //  a partial line when its newline comes.
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "");
    s_test_append (path, "a\nb\npart");
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "1:a,b");
    s_test_append (path, "ial\n");
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "3:partial");
    //  Stored by a collector: gone from the spool.
    zc_follow_on_stored (follow, "logs.app", test.base + 3, now);
    json_t *status = zc_follow_status (follow);
    ZC_CHECK (json_integer_value (json_object_get (json_array_get (status, 0), "spooled")) == 0
           && (uint64_t) json_integer_value (json_object_get (json_array_get (status, 0), "stored")) == test.base + 3);
    json_decref (status);
    //  Rotated by rename: the old file is read to its end, then the new.
    ZC_CHECK (rename (path, rotated) == 0);
    s_test_append (rotated, "c\n");
    s_test_append (path, "d\n");
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "4:c,d");
    //  Truncated in place: read again from its start.
    FILE *file = fopen (path, "w");
    if (file)
        fclose (file);
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "");
    s_test_append (path, "e\n");
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "6:e");
    //  Nobody stored them: sent again after a while.
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now + S_RESEND_MS + 1), "4:c,d,e");
    //  The link down: lines wait in the spool, and go when it is back.
    test.up = false;
    s_test_append (path, "f\ng\n");
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "");
    test.up = true;
    zc_follow_link_up (follow);
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "4:c,d,e,f,g");
    //  A restart: nothing read twice, nothing lost; the spool comes back.
    zc_follow_destroy (&follow);
    s_test_append (path, "h\n");
    follow = zc_follow_new (store, follows, 1 << 20, "n1", secret, s_test_send, &test);
    zc_follow_link_up (follow);
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "4:c,d,e,f,g; 9:h");
    zc_follow_on_stored (follow, "logs.app", test.base + 9, now);
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now + 10 * S_RESEND_MS), "");
    //  Half a line when it stops: read again, whole, after the restart.
    s_test_append (path, "first half ");
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "");
    zc_follow_destroy (&follow);
    s_test_append (path, "second half\n");
    follow = zc_follow_new (store, follows, 1 << 20, "n1", secret, s_test_send, &test);
    zc_follow_link_up (follow);
    S_CHECK_SENT (s_test_cycle (follow, store, &test, now), "10:first half second half");
    zc_follow_on_stored (follow, "logs.app", test.base + 10, now);
    zc_follow_destroy (&follow);
    //  A FIFO in the file's place is not opened (it would block the agent).
    char fifo [320];
    snprintf (fifo, sizeof fifo, "%s/fifo", dir);
    ZC_CHECK (mkfifo (fifo, 0600) == 0);
    zlist_t *fifos = zlist_new ();
    zlist_autofree (fifos);
    snprintf (line, sizeof line, "%s logs.fifo", fifo);
    zlist_append (fifos, line);
    zc_follow_t *blocked = zc_follow_new (store, fifos, 1 << 20, "n1", secret, s_test_send, &test);
    S_CHECK_SENT (s_test_cycle (blocked, store, &test, now), "");
    zc_follow_destroy (&blocked);
    zlist_destroy (&fifos);

    //  A full spool: the oldest lines go, and that is said.
    follow = zc_follow_new (store, follows, 65536, "n1", secret, s_test_send, &test);
    test.up = false;
    char hundred [102];
    memset (hundred, 'x', 100);
    hundred [100] = '\n';
    hundred [101] = 0;
    for (int index = 0; index < 1000; index++)
        s_test_append (path, hundred);
    free (s_test_cycle (follow, store, &test, now));
    status = zc_follow_status (follow);
    json_t *stream = json_array_get (status, 0);
    ZC_CHECK (json_integer_value (json_object_get (stream, "dropped")) > 300
           && json_integer_value (json_object_get (stream, "spooled")) * 100 <= 65536);
    json_decref (status);
    test.up = true;
    zc_follow_link_up (follow);
    char *sent = s_test_cycle (follow, store, &test, now);
    ZC_CHECK (sent && strstr (sent, "zcnc: ") && strstr (sent, " line(s) of "));
    free (sent);
    zc_follow_destroy (&follow);

    zc_store_close (&store);
    zlist_destroy (&follows);
    zlist_destroy (&test.sent);
    char command [400];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    ZC_CHECK (system (command) == 0);
    return ZC_TEST_END;
}
