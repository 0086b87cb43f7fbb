/*  copysink.c — a copy's destination end (see copy.h).

    A session is one copy_open answered: its stream (the open job's ID
    and the source) is written, chunk after chunk in order, at the end
    of the partial file. The partial file is DIR/.NAME.zcnc-KEY.part
    next to DIR/NAME, KEY naming the source file, so that another copy
    of the same file goes on with it and a copy of a changed file does
    not.
*/
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "prelude.h"
#include "copy.h"
#include "log.h"
#include "sha256.h"
#include "streamin.h"

#define S_MAX_SESSIONS  256
#define S_KEY_HEX       32          //  characters of a copy's key
#define S_IDLE_MS       (10 * 60 * 1000)    //  a session that took nothing this long goes
                                            //  (its source asks again when it comes back)

typedef struct {
    char stream [ZC_JOB_ID_MAX];   //  the open job's ID and the source: "ULID.source"
    zc_id_t id;
    char source [ZC_NAME_SIZE];
    char *partial;              //  the partial file's path
    int fd;
    uint64_t offset;            //  bytes in the partial file
    uint64_t next_seq, acked;
    size_t unacked_bytes;       //  taken since the last acknowledgment
    bool ack_due;
    int64_t active;             //  monotonic ms: opened, or the last chunk taken
    //  The whole file's hash as it is written, when the session began
    //  at offset 0 (else the close reads the file).
    bool hashing;
    zc_sha256_t hash;
} s_session_t;

struct _zc_copysink_t {
    zloop_t *loop;
    char name [ZC_NAME_SIZE];
    zc_seal_t *seal;
    zc_link_send_fn *send;
    void *send_arg;
    zhashx_t *sessions;         //  stream -> s_session_t
    int timer_id;
};

static void
s_session_destroy (void **item)
{
    s_session_t *session = *item;
    if (session->fd >= 0)
        close (session->fd);
    zc_sha256_free (&session->hash);
    free (session->partial);
    free (session);
    *item = NULL;
}

zc_copysink_t *
zc_copysink_new (zloop_t *loop, const char *name, zc_link_send_fn *send, void *arg)
{
    zc_copysink_t *self = zc_calloc (1, sizeof *self);
    self->loop = loop;
    snprintf (self->name, sizeof self->name, "%s", name);
    self->send = send;
    self->send_arg = arg;
    self->sessions = zhashx_new ();
    zhashx_set_destructor (self->sessions, s_session_destroy);
    self->timer_id = -1;
    return self;
}

void
zc_copysink_destroy (zc_copysink_t **self_p)
{
    if (*self_p) {
        zc_copysink_t *self = *self_p;
        if (self->timer_id != -1)
            zloop_timer_end (self->loop, self->timer_id);
        zhashx_destroy (&self->sessions);
        free (self);
        *self_p = NULL;
    }
}

void
zc_copysink_set_seal (zc_copysink_t *self, zc_seal_t *seal)
{
    self->seal = seal;
}

size_t
zc_copysink_sessions (zc_copysink_t *self)
{
    return zhashx_size (self->sessions);
}

//  A result made here: done with 'out' on stdout, or failed with 'error'.
static zc_result_t *
s_result (const char *out, const char *error)
{
    zc_result_t *result = zc_result_new ();
    result->state = error? ZC_STATE_FAILED: ZC_STATE_DONE;
    result->exit_code = error? 1: 0;
    result->started_ms = result->finished_ms = zc_wall_ms ();
    result->error = error? zc_strdup (error): NULL;
    if (out) {
        result->out = (uint8_t *) zc_strdup (out);
        result->out_size = strlen (out);
    }
    return result;
}

//  A decimal number that fits in 63 bits, or -1.
static int64_t
s_number (const char *text, int base)
{
    if (!text || !*text || strlen (text) > 20)
        return -1;
    char *end;
    errno = 0;
    unsigned long long value = strtoull (text, &end, base);
    return *end || errno || value > INT64_MAX? -1: (int64_t) value;
}

static bool
s_key_valid (const char *key)
{
    if (!key || strlen (key) != S_KEY_HEX)
        return false;
    for (const char *c = key; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return false;
    return true;
}

//  The partial file's path for DST and KEY, or NULL with 'why' when DST
//  is not an absolute path to a file in an existing directory.
static char *
s_partial_path (const char *dst, const char *key, char *why, size_t why_size)
{
    size_t length = dst? strlen (dst): 0;
    if (length == 0 || dst [0] != '/' || dst [length - 1] == '/' || length > 4000) {
        snprintf (why, why_size, "copy: the destination must be an absolute path to a file, not '%.200s'",
                  dst? dst: "");
        return NULL;
    }
    char *copy = zc_strdup (dst), *copy2 = zc_strdup (dst);
    const char *dir = dirname (copy), *base = basename (copy2);
    struct stat st;
    char *path = NULL;
    if (streq (base, ".") || streq (base, ".."))
        snprintf (why, why_size, "copy: the destination must name a file, not '%.200s'", dst);
    else
    if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
        snprintf (why, why_size, "copy: no directory %.200s for %.200s on %s", dir, base,
                  errno == ENOENT || stat (dir, &st) != 0? "this node": "this node (not a directory)");
    else
    if (stat (dst, &st) == 0 && S_ISDIR (st.st_mode))
        snprintf (why, why_size, "copy: %.200s is a directory: give the file's path", dst);
    else
        path = zsys_sprintf ("%s/.%s.zcnc-%.16s.part", streq (dir, "/")? "": dir, base, key);
    free (copy);
    free (copy2);
    return path;
}

zc_result_t *
zc_copysink_open (zc_copysink_t *self, const zc_id_t *id, const char *source, zlist_t *args)
{
    char why [600];
    const char *dst = zlist_first (args), *key = zlist_next (args), *size_text = zlist_next (args);
    int64_t size = s_number (size_text, 10);
    if (zlist_size (args) != 3 || !s_key_valid (key) || size < 0)
        return s_result (NULL, "copy_open: malformed arguments");
    char *partial = s_partial_path (dst, key, why, sizeof why);
    if (!partial)
        return s_result (NULL, why);
    //  Sessions whose source went quiet long ago make room.
    zlist_t *idle = zlist_new ();
    for (s_session_t *other = zhashx_first (self->sessions); other; other = zhashx_next (self->sessions))
        if (zclock_mono () - other->active > S_IDLE_MS)
            zlist_append (idle, other->stream);
    for (char *stream = zlist_first (idle); stream; stream = zlist_next (idle))
        zhashx_delete (self->sessions, stream);
    zlist_destroy (&idle);
    if (zhashx_size (self->sessions) >= S_MAX_SESSIONS) {
        free (partial);
        return s_result (NULL, "copy: too many copies arriving here at once; try again later");
    }
    //  Another session on the same file (a copy asking again) ends.
    for (s_session_t *other = zhashx_first (self->sessions); other; other = zhashx_next (self->sessions))
        if (streq (other->partial, partial)) {
            zhashx_delete (self->sessions, other->stream);
            break;
        }
    int fd = open (partial, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        snprintf (why, sizeof why, "copy: cannot write %s: %s", partial, strerror (fd < 0? errno: EINVAL));
        if (fd >= 0)
            close (fd);
        free (partial);
        return s_result (NULL, why);
    }
    uint64_t offset = (uint64_t) st.st_size;
    if (offset > (uint64_t) size) {
        //  Longer than the file: not the file after all; from the start.
        if (ftruncate (fd, 0) != 0)
            zc_warn ("copy: cannot truncate %s: %s", partial, strerror (errno));
        offset = 0;
    }
    s_session_t *session = zc_calloc (1, sizeof *session);
    zc_job_id_format (id, source, session->stream);
    session->id = *id;
    snprintf (session->source, sizeof session->source, "%s", source);
    session->partial = partial;
    session->fd = fd;
    session->offset = offset;
    session->next_seq = 1;
    session->active = zclock_mono ();
    session->hashing = offset == 0;
    zc_sha256_init (&session->hash);
    zhashx_update (self->sessions, session->stream, session);
    zc_info ("copy from %s to %s: %s the partial file at %" PRIu64 " of %" PRId64 " bytes",
             source, dst, offset? "goes on with": "starts", offset, size);
    char out [32];
    snprintf (out, sizeof out, "%" PRIu64 "\n", offset);
    return s_result (out, NULL);
}

//  Acknowledges what a session took.
static void
s_acknowledge (zc_copysink_t *self, s_session_t *session)
{
    if (!session->ack_due)
        return;
    zc_wire_t *ack = zc_wire_new (ZC_MSG_STREAM);
    ack->flags = ZC_FLAG_STREAM_ACK;
    ack->id = session->id;
    ack->seq = session->next_seq - 1;
    zlist_append (ack->to, session->source);
    self->send (&ack, self->send_arg);
    session->acked = session->next_seq - 1;
    session->unacked_bytes = 0;
    session->ack_due = false;
}

static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_copysink_t *self = arg;
    self->timer_id = -1;
    for (s_session_t *session = zhashx_first (self->sessions); session; session = zhashx_next (self->sessions))
        s_acknowledge (self, session);
    return 0;
}

static void
s_arm (zc_copysink_t *self)
{
    if (self->timer_id == -1 && self->loop)
        self->timer_id = zloop_timer (self->loop, ZC_STREAMIN_ACK_DELAY_MS, 1, s_on_timer, self);
}

bool
zc_copysink_on_chunk (zc_copysink_t *self, zc_wire_t *msg)
{
    char stream [ZC_JOB_ID_MAX];
    zc_job_id_format (&msg->id, msg->from, stream);
    s_session_t *session = zhashx_lookup (self->sessions, stream);
    if (!session)
        return false;
    if (msg->seq != session->next_seq) {
        session->ack_due = true;        //  tells the source where we are
        s_arm (self);
        return true;
    }
    zframe_t *payload = NULL;
    if (self->seal) {
        char reason [256];
        zc_seal_about_t about = { .id = &msg->id, .origin = self->name, .target = msg->from,
                                  .relay = "", .seq = msg->seq };
        if (zc_seal_open_stream (self->seal, &about, msg->payload, &payload, reason, sizeof reason) != 0) {
            zc_warn ("copy from %s: dropped chunk %" PRIu64 ": %s", msg->from, msg->seq, reason);
            return true;
        }
    }
    else
        payload = zframe_dup (msg->payload);
    int kind;
    const uint8_t *bytes;
    size_t size;
    uint8_t hash [ZC_STREAM_HASH];
    if (zc_wire_stream_payload_decode (payload, &kind, &bytes, &size) != 0 || kind != ZC_STREAM_COPY) {
        zc_warn ("copy from %s: dropped chunk %" PRIu64 ": malformed", msg->from, msg->seq);
        zframe_destroy (&payload);
        return true;
    }
    zc_sha256 (hash, bytes + ZC_STREAM_HASH, size - ZC_STREAM_HASH);
    if (sodium_memcmp (hash, bytes, ZC_STREAM_HASH) != 0) {
        //  Not acknowledged: the source sends it again.
        zc_warn ("copy from %s: chunk %" PRIu64 " does not match its SHA-256; not taken", msg->from, msg->seq);
        zframe_destroy (&payload);
        return true;
    }
    size_t length = size - ZC_STREAM_HASH;
    ssize_t written = pwrite (session->fd, bytes + ZC_STREAM_HASH, length, (off_t) session->offset);
    if (written != (ssize_t) length) {
        //  Not acknowledged either; the source asks again in a while.
        zc_warn ("copy from %s: cannot write %s: %s", msg->from, session->partial,
                 written < 0? strerror (errno): "short write");
        zframe_destroy (&payload);
        return true;
    }
    if (session->hashing)
        zc_sha256_update (&session->hash, bytes + ZC_STREAM_HASH, length);
    zframe_destroy (&payload);
    session->offset += length;
    session->next_seq++;
    session->active = zclock_mono ();
    session->unacked_bytes += size;
    session->ack_due = true;
    if (session->next_seq - 1 - session->acked >= ZC_STREAMIN_ACK_EVERY
    ||  session->unacked_bytes >= ZC_STREAMIN_ACK_BYTES)
        s_acknowledge (self, session);
    else
        s_arm (self);
    return true;
}

//  The SHA-256 of a file (hex into 'hex'). 0, or -1 with errno.
static int
s_hash_file (int fd, char hex [2 * ZC_STREAM_HASH + 1])
{
    zc_sha256_t state = { 0 };
    zc_sha256_init (&state);
    uint8_t buffer [65536];
    off_t offset = 0;
    while (true) {
        ssize_t got = pread (fd, buffer, sizeof buffer, offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int error = errno;
            zc_sha256_free (&state);
            errno = error;
            return -1;
        }
        if (got == 0)
            break;
        zc_sha256_update (&state, buffer, (size_t) got);
        offset += got;
    }
    uint8_t hash [ZC_STREAM_HASH];
    zc_sha256_final (&state, hash);
    zc_sha256_free (&state);
    sodium_bin2hex (hex, 2 * ZC_STREAM_HASH + 1, hash, sizeof hash);
    return 0;
}

zc_result_t *
zc_copysink_close (zc_copysink_t *self, const char *source, zlist_t *args)
{
    char why [600];
    const char *dst = zlist_first (args), *key = zlist_next (args), *size_text = zlist_next (args),
               *mode_text = zlist_next (args), *expected = zlist_next (args);
    int64_t size = s_number (size_text, 10), mode = s_number (mode_text, 8);
    if (zlist_size (args) != 5 || !s_key_valid (key) || size < 0 || mode < 0 || mode > 07777
    ||  !expected || strlen (expected) != 2 * ZC_STREAM_HASH)
        return s_result (NULL, "copy_close: malformed arguments");
    char *partial = s_partial_path (dst, key, why, sizeof why);
    if (!partial)
        return s_result (NULL, why);
    //  The session that wrote it, if it is still here, knows the hash.
    s_session_t *writer = NULL;
    for (s_session_t *session = zhashx_first (self->sessions); session; session = zhashx_next (self->sessions))
        if (streq (session->partial, partial) && streq (session->source, source))
            writer = session;
    int fd = open (partial, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    char hex [2 * ZC_STREAM_HASH + 1];
    zc_result_t *result = NULL;
    if (fd < 0 || fstat (fd, &st) != 0)
        snprintf (why, sizeof why, "copy: the partial file %s is gone: %s; the copy starts over",
                  partial, strerror (errno));
    else
    if ((uint64_t) st.st_size != (uint64_t) size)
        snprintf (why, sizeof why, "copy: the partial file %s has %" PRIu64 " bytes, not %" PRId64
                  "; the copy starts over", partial, (uint64_t) st.st_size, size);
    else {
        if (writer && writer->hashing && writer->offset == (uint64_t) size) {
            uint8_t hash [ZC_STREAM_HASH];
            zc_sha256_final (&writer->hash, hash);
            writer->hashing = false;
            sodium_bin2hex (hex, sizeof hex, hash, sizeof hash);
        }
        else
        if (s_hash_file (fd, hex) != 0) {
            snprintf (why, sizeof why, "copy: cannot read %s: %s", partial, strerror (errno));
            result = s_result (NULL, why);
        }
        if (!result && !streq (hex, expected))
            snprintf (why, sizeof why, "copy: the file's SHA-256 is %s here, not %s as sent; the copy"
                      " starts over", hex, expected);
        else
        if (!result) {
            char *copy = zc_strdup (dst);
            int dir_fd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            free (copy);
            if (fchmod (fd, (mode_t) mode) != 0 || fsync (fd) != 0 || rename (partial, dst) != 0
            ||  (dir_fd >= 0 && fsync (dir_fd) != 0)) {
                snprintf (why, sizeof why, "copy: cannot move %s to %s: %s", partial, dst, strerror (errno));
                result = s_result (NULL, why);
            }
            else {
                char out [700];
                snprintf (out, sizeof out, "%" PRId64 " bytes stored at %s (sha256 %s)\n", size, dst, hex);
                result = s_result (out, NULL);
                zc_info ("copy from %s: %s", source, out);
            }
            if (dir_fd >= 0)
                close (dir_fd);
        }
    }
    if (!result) {
        //  Whatever went wrong with the partial file, it goes: the
        //  source sends the file again from its start.
        unlink (partial);
        result = s_result (NULL, why);
        zc_warn ("%s", why);
    }
    if (writer)
        zhashx_delete (self->sessions, writer->stream);
    if (fd >= 0)
        close (fd);
    free (partial);
    return result;
}
