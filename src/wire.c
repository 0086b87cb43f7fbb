/*  wire.c — encoding and decoding of every message between agents and
    hubs. doc/PROTOCOL.md describes the layout byte by byte; this file is
    the only one that knows it.

    Integers are big-endian. A name is a u8 length and that many bytes.
    Decoders read through a bounds-checked reader that records the first
    problem and then refuses everything, so a decoder checks once at the
    end instead of after every field.
*/
#include "prelude.h"
#include "wire.h"
#include "facts.h"
#include "subject.h"
#include "log.h"
#include "target.h"
#include "testing.h"

#define ZC_WIRE_HEADER_FIXED 21         //  signature .. message ID
#define ZC_WIRE_MAX_TEXT  1024          //  ERROR text
#define ZC_WIRE_MAX_ARGS  16            //  REQ arguments
#define ZC_WIRE_MAX_ARG   (1u << 20)    //  bytes per REQ argument

static const char *s_type_names [ZC_MSG_TYPE_COUNT] = {
    NULL, "HELLO", "NODES", "ROUTES", "PRESENCE", "REQ", "ACK", "NOROUTE",
    "STARTED", "REPLY", "STREAM", "CANCEL", "ERROR", "PUB", "SUB", "UNSUB",
    "PING", "PONG", "BYE", "CREDIT", "INTEREST", "STORED", "ENROLL"
};

//  The name of a message type, or "UNKNOWN" for a value outside the enum.
const char *
zc_wire_type_name (uint8_t type)
{
    return type > 0 && type < ZC_MSG_TYPE_COUNT? s_type_names [type]: "UNKNOWN";
}

bool
zc_wire_is_bulk (const zc_wire_t *self)
{
    if (self->type == ZC_MSG_STREAM)
        return !(self->flags & ZC_FLAG_STREAM_ACK);
    return (self->type == ZC_MSG_REQ || self->type == ZC_MSG_REPLY) && (self->flags & ZC_FLAG_CHUNK);
}

//  True when a REQ or REPLY payload of 'size' bytes must travel in
//  chunks (or, flagged CHUNK, is larger than one chunk and its counts).
static bool
s_whole_too_large (uint8_t type, uint8_t flags, size_t size)
{
    if (type == ZC_MSG_STREAM)
        return size > ZC_WIRE_MAX_STREAM;
    if (type == ZC_MSG_PUB)
        return size > ZC_WIRE_MAX_WHOLE;
    if (type != ZC_MSG_REQ && type != ZC_MSG_REPLY)
        return false;
    return size > ZC_WIRE_MAX_WHOLE + ((flags & ZC_FLAG_CHUNK)? 8: 0);
}

//  True for the messages that always carry a payload: by type, and a
//  STREAM chunk (not its acknowledgment).
static bool
s_has_payload (uint8_t type, uint8_t flags)
{
    if (type == ZC_MSG_STREAM)
        return !(flags & ZC_FLAG_STREAM_ACK);
    return type == ZC_MSG_REQ || type == ZC_MSG_REPLY || type == ZC_MSG_NODES
        || type == ZC_MSG_ROUTES || type == ZC_MSG_PUB || type == ZC_MSG_INTEREST;
}

//  True for a message about a job in custody (flag CUSTODY or RELAYED):
//  it carries the names of the other party after its typed fields.
static bool
s_relayed (uint8_t type, uint8_t flags)
{
    return (flags & (ZC_FLAG_CUSTODY | ZC_FLAG_RELAYED))
        && (type == ZC_MSG_REQ || type == ZC_MSG_ACK || type == ZC_MSG_STARTED || type == ZC_MSG_REPLY);
}

//  True for the types whose payload is optional: ACK (the IDs of more
//  jobs it acknowledges) and HELLO (what the node advertises).
static bool
s_payload_optional (uint8_t type)
{
    return type == ZC_MSG_ACK || type == ZC_MSG_HELLO;
}

//  True when a message of this type may carry a payload: the types that
//  must, and those that may.
static bool
s_payload_allowed (uint8_t type, uint8_t flags, bool present)
{
    return s_has_payload (type, flags) == present || (s_payload_optional (type) && present);
}

//  --------------------------------------------------------------------------
//  Writer: a growing buffer that remembers the first reason it failed.

typedef struct {
    uint8_t *data;
    size_t size, capacity;
    const char *problem;
} s_writer_t;

static void
s_fail (s_writer_t *writer, const char *problem)
{
    if (!writer->problem)
        writer->problem = problem;
}

static void
s_put (s_writer_t *writer, const void *bytes, size_t size)
{
    if (writer->problem || size == 0)
        return;
    if (writer->size + size > writer->capacity) {
        size_t capacity = writer->capacity? writer->capacity: 256;
        while (capacity < writer->size + size)
            capacity *= 2;
        uint8_t *data = zc_realloc (writer->data, capacity);
        if (!data) {
            s_fail (writer, "out of memory");
            return;
        }
        writer->data = data;
        writer->capacity = capacity;
    }
    memcpy (writer->data + writer->size, bytes, size);
    writer->size += size;
}

//  Appends the low 'width' bytes of value, most significant first.
static void
s_put_uint (s_writer_t *writer, uint64_t value, int width)
{
    uint8_t bytes [8];
    for (int index = 0; index < width; index++)
        bytes [index] = (uint8_t) (value >> (8 * (width - 1 - index)));
    s_put (writer, bytes, (size_t) width);
}

//  Appends a name (u8 length + bytes); it must be valid, or empty when
//  allow_empty. NULL counts as empty.
static void
s_put_name (s_writer_t *writer, const char *name, bool allow_empty)
{
    size_t length = name? strnlen (name, ZC_NAME_MAX + 1): 0;
    if (length > ZC_NAME_MAX || (length == 0 && !allow_empty)
    ||  (length > 0 && !zc_name_valid (name)))
        s_fail (writer, "invalid name");
    s_put_uint (writer, length, 1);
    s_put (writer, name, length);
}

//  Appends a hub path ("a>b>c", or "" for none) as a u8 count and its names.
static void
s_put_path (s_writer_t *writer, const char *path)
{
    char copy [ZC_VIA_MAX];
    size_t length = strnlen (path, sizeof copy);
    if (length == sizeof copy) {
        s_fail (writer, "hub path too long");
        return;
    }
    memcpy (copy, path, length + 1);
    const char *names [ZC_PATH_MAX_HUBS + 1];
    size_t count = 0;
    for (char *cursor = length? copy: NULL; cursor && count <= ZC_PATH_MAX_HUBS; ) {
        names [count++] = cursor;
        cursor = strchr (cursor, '>');
        if (cursor)
            *cursor++ = 0;
    }
    if (count > ZC_PATH_MAX_HUBS)
        s_fail (writer, "hub path longer than 7 hubs");
    s_put_uint (writer, count, 1);
    for (size_t index = 0; index < count && index < ZC_PATH_MAX_HUBS; index++)
        s_put_name (writer, names [index], false);
}

//  Appends a u16 count and the names of a list (NULL: none).
static void
s_put_names (s_writer_t *writer, zlist_t *list)
{
    size_t count = list? zlist_size (list): 0;
    if (count > ZC_WIRE_MAX_TARGETS)
        s_fail (writer, "more than 65535 names");
    s_put_uint (writer, count, 2);
    for (const char *name = count? zlist_first (list): NULL; name; name = zlist_next (list))
        s_put_name (writer, name, false);
}

//  Appends a u32 (or u16 when width is 2) length and the bytes.
static void
s_put_blob (s_writer_t *writer, const void *bytes, size_t size, int width)
{
    if (size > (width == 2? 0xFFFFu: 0xFFFFFFFFu))
        s_fail (writer, "field too long");
    s_put_uint (writer, size, width);
    s_put (writer, bytes, size);
}

//  Appends a u16 count and the patterns of a list (each a u16 length and
//  its bytes; valid patterns, subject.h).
static void
s_put_patterns (s_writer_t *writer, zlist_t *list)
{
    if (zlist_size (list) > ZC_WIRE_MAX_PATTERNS)
        s_fail (writer, "more than 1024 patterns");
    s_put_uint (writer, zlist_size (list), 2);
    for (const char *pattern = zlist_first (list); pattern; pattern = zlist_next (list)) {
        if (zc_subject_check (pattern, true, NULL) != 0)
            s_fail (writer, "invalid pattern");
        else
            s_put_blob (writer, pattern, strlen (pattern), 2);
    }
}

//  The writer's bytes as a new frame, or NULL (logged) when it failed.
//  Frees the buffer either way.
static zframe_t *
s_writer_frame (s_writer_t *writer, const char *what)
{
    zframe_t *frame = NULL;
    if (writer->size > ZC_WIRE_MAX_PAYLOAD)
        s_fail (writer, "larger than 64 MiB");
    if (writer->problem)
        zc_error ("cannot encode %s: %s", what, writer->problem);
    else
        frame = zframe_new (writer->data, writer->size);
    free (writer->data);
    return frame;
}

//  --------------------------------------------------------------------------
//  Reader: bounds-checked, remembers the first problem.

typedef struct {
    const uint8_t *data;
    size_t size, pos;
    const char *problem;
} s_reader_t;

static void
s_reader_init (s_reader_t *reader, zframe_t *frame)
{
    reader->data = zframe_data (frame);
    reader->size = zframe_size (frame);
    reader->pos = 0;
    reader->problem = NULL;
}

static void
s_bad (s_reader_t *reader, const char *problem)
{
    if (!reader->problem)
        reader->problem = problem;
}

//  The next 'size' bytes, or NULL (problem set) when fewer remain.
static const uint8_t *
s_get (s_reader_t *reader, size_t size, const char *problem)
{
    if (reader->problem)
        return NULL;
    if (reader->size - reader->pos < size) {
        s_bad (reader, problem);
        return NULL;
    }
    const uint8_t *bytes = reader->data + reader->pos;
    reader->pos += size;
    return bytes;
}

//  The next big-endian integer of 'width' bytes; 0 when truncated.
static uint64_t
s_get_uint (s_reader_t *reader, int width, const char *problem)
{
    const uint8_t *bytes = s_get (reader, (size_t) width, problem);
    uint64_t value = 0;
    for (int index = 0; bytes && index < width; index++)
        value = (value << 8) | bytes [index];
    return value;
}

//  Reads a name into out (ZC_NAME_SIZE bytes): it must be valid, or empty when
//  allow_empty. On a problem, out is "".
static void
s_get_name (s_reader_t *reader, char *out, bool allow_empty, const char *problem)
{
    size_t length = s_get_uint (reader, 1, problem);
    const uint8_t *bytes = s_get (reader, length, problem);
    out [0] = 0;
    if (!bytes)
        return;
    if (length > ZC_NAME_MAX || memchr (bytes, 0, length)) {
        s_bad (reader, problem);
        return;
    }
    memcpy (out, bytes, length);
    out [length] = 0;
    if ((length > 0 || !allow_empty) && !zc_name_valid (out)) {
        out [0] = 0;
        s_bad (reader, problem);
    }
}

//  Reads a hub path: a u8 count (at most ZC_PATH_MAX_HUBS) of valid names,
//  joined with '>' into out (ZC_VIA_MAX bytes).
static void
s_get_path (s_reader_t *reader, char *out, const char *problem)
{
    out [0] = 0;
    size_t count = s_get_uint (reader, 1, problem);
    if (count > ZC_PATH_MAX_HUBS)
        s_bad (reader, problem);
    size_t used = 0;
    for (size_t index = 0; index < count && !reader->problem; index++) {
        char name [ZC_NAME_MAX + 1];
        s_get_name (reader, name, false, problem);
        if (reader->problem)
            break;
        if (index)
            out [used++] = '>';
        size_t length = strlen (name);
        memcpy (out + used, name, length + 1);
        used += length;
    }
    if (reader->problem)
        out [0] = 0;
}

//  Reads a u16 count and that many valid names onto list.
static void
s_get_names (s_reader_t *reader, zlist_t *list, const char *problem)
{
    size_t count = s_get_uint (reader, 2, problem);
    for (size_t index = 0; index < count && !reader->problem; index++) {
        char name [ZC_NAME_MAX + 1];
        s_get_name (reader, name, false, problem);
        if (!reader->problem)
            zlist_append (list, name);
    }
}

//  Reads a length of 'width' bytes, at most 'max', then that many bytes
//  that must not contain NUL. Returns a malloc'd NUL-terminated copy, or
//  NULL (problem set).
static char *
s_get_string (s_reader_t *reader, int width, size_t max, const char *problem)
{
    size_t length = s_get_uint (reader, width, problem);
    if (length > max)
        s_bad (reader, problem);
    const uint8_t *bytes = s_get (reader, length, problem);
    if (!bytes)
        return NULL;
    if (memchr (bytes, 0, length)) {
        s_bad (reader, problem);
        return NULL;
    }
    char *string = zc_malloc (length + 1);
    if (!string) {
        s_bad (reader, "out of memory");
        return NULL;
    }
    memcpy (string, bytes, length);
    string [length] = 0;
    return string;
}

//  Reads a u16 count and that many patterns (at most ZC_WIRE_MAX_PATTERNS,
//  each valid) into 'list'.
static void
s_get_patterns (s_reader_t *reader, zlist_t *list, const char *problem)
{
    size_t count = s_get_uint (reader, 2, problem);
    if (count > ZC_WIRE_MAX_PATTERNS)
        s_bad (reader, problem);
    for (size_t index = 0; index < count && !reader->problem; index++) {
        char *pattern = s_get_string (reader, 2, ZC_WIRE_MAX_SUBJECT, problem);
        if (pattern && zc_subject_check (pattern, true, NULL) != 0)
            s_bad (reader, problem);
        else
        if (pattern)
            zlist_append (list, pattern);
        free (pattern);
    }
}

//  Reads a u32 length and that many bytes into a malloc'd copy (NULL when
//  empty). Returns 0, or -1 (problem set).
static int
s_get_blob (s_reader_t *reader, uint8_t **out, size_t *size, const char *problem)
{
    *out = NULL;
    *size = s_get_uint (reader, 4, problem);
    const uint8_t *bytes = s_get (reader, *size, problem);
    if (!bytes) {
        *size = 0;
        return -1;
    }
    if (*size > 0) {
        *out = zc_malloc (*size);
        if (!*out) {
            s_bad (reader, "out of memory");
            *size = 0;
            return -1;
        }
        memcpy (*out, bytes, *size);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Messages

//  A new message with a zero ID, the full hop limit and empty lists, for
//  the decoder (which reads the ID) and for zc_wire_new.
static zc_wire_t *
s_wire_alloc (zc_msg_type_t type)
{
    assert (type > 0 && type < ZC_MSG_TYPE_COUNT);
    zc_wire_t *self = zc_calloc (1, sizeof (zc_wire_t));
    if (!self)
        return NULL;
    self->type = (uint8_t) type;
    self->hops = ZC_WIRE_HOPS;
    self->to = zlist_new ();
    self->names = zlist_new ();
    self->patterns = zlist_new ();
    if (!self->to || !self->names || !self->patterns) {
        zc_wire_destroy (&self);
        return NULL;
    }
    zlist_autofree (self->to);
    zlist_autofree (self->names);
    zlist_autofree (self->patterns);
    return self;
}

//  A new message with a fresh ID, the full hop limit and empty lists.
//  Returns NULL when out of memory. The caller destroys it.
zc_wire_t *
zc_wire_new (zc_msg_type_t type)
{
    zc_wire_t *self = s_wire_alloc (type);
    if (self)
        zc_id_generate (&self->id);
    return self;
}

//  The names a tagged REQ's tags go with: the final targets ('names') of
//  one for a custody relay, else its targets.
static zlist_t *
s_tagged_names (zc_wire_t *self)
{
    return (self->flags & ZC_FLAG_CUSTODY)? self->names: self->to;
}

void
zc_wire_set_tag (zc_wire_t *self, const char *name, const uint8_t *tag)
{
    if (!self->tags) {
        self->tags = zhashx_new ();
        zhashx_set_destructor (self->tags, (zhashx_destructor_fn *) zstr_free);
        zhashx_set_duplicator (self->tags, NULL);
    }
    uint8_t *copy = zc_malloc (ZC_WIRE_TAG_SIZE);
    assert (copy);
    memcpy (copy, tag, ZC_WIRE_TAG_SIZE);
    zhashx_update (self->tags, name, copy);
}

const uint8_t *
zc_wire_tag (zc_wire_t *self, const char *name)
{
    return self->tags? zhashx_lookup (self->tags, name): NULL;
}

zc_wire_t *
zc_wire_dup_header (zc_wire_t *self, const char *only)
{
    zc_wire_t *copy = s_wire_alloc ((zc_msg_type_t) self->type);
    copy->id = self->id;
    copy->flags = self->flags;
    copy->hops = self->hops;
    snprintf (copy->from, sizeof copy->from, "%s", self->from);
    if (only)
        zlist_append (copy->to, (void *) only);
    else
        for (char *name = zlist_first (self->to); name; name = zlist_next (self->to))
            zlist_append (copy->to, name);
    for (char *name = zlist_first (self->names); name; name = zlist_next (self->names))
        zlist_append (copy->names, name);
    snprintf (copy->name, sizeof copy->name, "%s", self->name);
    copy->method = self->method;
    copy->method_timeout = self->method_timeout;
    copy->expire = self->expire;
    copy->online = self->online;
    copy->code = self->code;
    copy->credit = self->credit;
    copy->text = self->text? zc_strdup (self->text): NULL;
    copy->subject = self->subject? zc_strdup (self->subject): NULL;
    copy->retain = self->retain;
    copy->seq = self->seq;
    for (char *pattern = zlist_first (self->patterns); pattern; pattern = zlist_next (self->patterns))
        zlist_append (copy->patterns, pattern);
    zlist_t *tagged = s_tagged_names (copy);
    for (char *name = zlist_first (tagged); name && self->tags; name = zlist_next (tagged))
        if (zc_wire_tag (self, name))
            zc_wire_set_tag (copy, name, zc_wire_tag (self, name));
    return copy;
}

void
zc_wire_destroy (zc_wire_t **self_p)
{
    if (*self_p) {
        zc_wire_t *self = *self_p;
        zlist_destroy (&self->to);
        zlist_destroy (&self->names);
        zlist_destroy (&self->patterns);
        free (self->text);
        free (self->subject);
        zframe_destroy (&self->payload);
        zhashx_destroy (&self->tags);
        free (self);
        *self_p = NULL;
    }
}

//  Encodes the message as one frame: the header, then (for REQ, REPLY,
//  NODES and a batched ACK) a copy of the payload. Returns a new zmsg, or
//  NULL (logged) when a field breaks the protocol's rules (an invalid
//  name, a missing or unexpected payload, a text too long): that is a bug
//  in the caller.
zmsg_t *
zc_wire_encode (zc_wire_t *self)
{
    s_writer_t writer = { NULL, 0, 0, NULL };
    if (self->type == 0 || self->type >= ZC_MSG_TYPE_COUNT)
        s_fail (&writer, "unknown type");
    if (!s_payload_allowed (self->type, self->flags, self->payload != NULL))
        s_fail (&writer, self->payload? "this type has no payload": "payload missing");
    if (self->payload && zframe_size (self->payload) > ZC_WIRE_MAX_PAYLOAD)
        s_fail (&writer, "payload larger than 64 MiB");
    if (self->payload && s_whole_too_large (self->type, self->flags, zframe_size (self->payload)))
        s_fail (&writer, "a payload over 16 KiB not in chunks");

    uint8_t fixed [5] = { ZC_WIRE_SIGNATURE, ZC_WIRE_VERSION, self->type, self->flags, self->hops };
    s_put (&writer, fixed, sizeof fixed);
    s_put (&writer, self->id.bytes, ZC_ID_SIZE);
    s_put_name (&writer, self->from, true);
    s_put_names (&writer, self->to);

    switch (self->type) {
        case ZC_MSG_HELLO:
            s_put_name (&writer, self->name, false);
            if (self->payload
            &&  zc_facts_check (zframe_data (self->payload), zframe_size (self->payload), NULL) != 0)
                s_fail (&writer, "a HELLO payload that is not a facts set");
            break;
        case ZC_MSG_REQ:
            s_put_uint (&writer, self->method, 1);
            s_put_uint (&writer, self->method_timeout, 4);
            s_put_uint (&writer, self->expire, 4);
            break;
        case ZC_MSG_PRESENCE:
            if (self->online > 1)
                s_fail (&writer, "online must be 0 or 1");
            s_put_uint (&writer, self->online, 1);
            s_put_names (&writer, self->names);
            break;
        case ZC_MSG_NOROUTE:
            s_put_names (&writer, self->names);
            break;
        case ZC_MSG_ERROR: {
            size_t length = self->text? strlen (self->text): 0;
            if (length > ZC_WIRE_MAX_TEXT)
                s_fail (&writer, "error text longer than 1024 bytes");
            s_put_uint (&writer, self->code, 2);
            s_put_blob (&writer, self->text, length, 2);
            break;
        }
        case ZC_MSG_CREDIT:
            s_put_uint (&writer, self->credit, 8);
            break;
        case ZC_MSG_PUB:
            if (!self->subject || zc_subject_check (self->subject, false, NULL) != 0)
                s_fail (&writer, "invalid subject");
            else
                s_put_blob (&writer, self->subject, strlen (self->subject), 2);
            s_put_uint (&writer, self->retain, 4);
            s_put_uint (&writer, self->seq, 8);
            break;
        case ZC_MSG_STORED:
            if (!self->subject || zc_subject_check (self->subject, false, NULL) != 0)
                s_fail (&writer, "invalid subject");
            else
                s_put_blob (&writer, self->subject, strlen (self->subject), 2);
            s_put_uint (&writer, self->seq, 8);
            break;
        case ZC_MSG_STREAM:
            s_put_uint (&writer, self->seq, 8);
            break;
        case ZC_MSG_ENROLL:
            s_put_name (&writer, self->name, false);
            if (self->role > 1)
                s_fail (&writer, "role must be 0 or 1");
            s_put_uint (&writer, self->role, 1);
            s_put (&writer, self->curve_key, sizeof self->curve_key);
            s_put (&writer, self->sign_key, sizeof self->sign_key);
            break;
        case ZC_MSG_SUB:
        case ZC_MSG_UNSUB:
            s_put_patterns (&writer, self->patterns);
            break;
        default:
            break;
    }
    if (s_relayed (self->type, self->flags)) {
        if (zlist_size (self->names) == 0)
            s_fail (&writer, "a relayed message names no party");
        s_put_names (&writer, self->names);
    }
    if (self->type == ZC_MSG_REQ && (self->flags & ZC_FLAG_TAGS)) {
        zlist_t *tagged = s_tagged_names (self);
        for (char *name = zlist_first (tagged); name; name = zlist_next (tagged)) {
            const uint8_t *tag = zc_wire_tag (self, name);
            if (!tag) {
                s_fail (&writer, "a target of a tagged REQ has no tag");
                break;
            }
            s_put (&writer, tag, ZC_WIRE_TAG_SIZE);
        }
    }
    if (self->payload)
        s_put (&writer, zframe_data (self->payload), zframe_size (self->payload));
    zframe_t *frame = s_writer_frame (&writer, zc_wire_type_name (self->type));
    if (!frame)
        return NULL;
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &frame);
    return msg;
}

//  Decodes the frame 'first' of msg, which must be its last; msg keeps its
//  frames (only its cursor moves). Returns a new message the caller destroys, or NULL
//  with *reason (if given) a static text for the log.
int
zc_wire_version_of (zframe_t *first)
{
    if (!first || zframe_size (first) < 2 || zframe_data (first) [0] != ZC_WIRE_SIGNATURE)
        return -1;
    return zframe_data (first) [1];
}

zc_wire_t *
zc_wire_decode (zmsg_t *msg, zframe_t *first, const char **reason)
{
    const char *ignored;
    if (!reason)
        reason = &ignored;
    *reason = NULL;
    if (!msg || !first) {
        *reason = "no header frame";
        return NULL;
    }
    zframe_t *frame = zmsg_first (msg);
    while (frame && frame != first)
        frame = zmsg_next (msg);
    if (!frame) {
        *reason = "header frame not in the message";
        return NULL;
    }
    bool extra = zmsg_next (msg) != NULL;

    s_reader_t reader;
    s_reader_init (&reader, first);
    const uint8_t *fixed = s_get (&reader, ZC_WIRE_HEADER_FIXED, "header too short");
    if (!fixed)
        *reason = reader.problem;
    else
    if (fixed [0] != ZC_WIRE_SIGNATURE)
        *reason = "bad signature";
    else
    if (fixed [1] != ZC_WIRE_VERSION)
        *reason = "unsupported version";
    else
    if (fixed [2] == 0 || fixed [2] >= ZC_MSG_TYPE_COUNT)
        *reason = "unknown type";
    else
    if (extra)
        *reason = "wrong number of frames";
    if (*reason)
        return NULL;

    zc_wire_t *self = s_wire_alloc ((zc_msg_type_t) fixed [2]);
    if (!self) {
        *reason = "out of memory";
        return NULL;
    }
    self->flags = fixed [3];
    self->hops = fixed [4];
    memcpy (self->id.bytes, fixed + 5, ZC_ID_SIZE);
    s_get_name (&reader, self->from, true, "bad from");
    s_get_names (&reader, self->to, "bad target list");

    switch (self->type) {
        case ZC_MSG_HELLO:
            s_get_name (&reader, self->name, false, "bad HELLO name");
            break;
        case ZC_MSG_REQ:
            self->method = (uint8_t) s_get_uint (&reader, 1, "truncated REQ fields");
            self->method_timeout = (uint32_t) s_get_uint (&reader, 4, "truncated REQ fields");
            self->expire = (uint32_t) s_get_uint (&reader, 4, "truncated REQ fields");
            break;
        case ZC_MSG_PRESENCE:
            self->online = (uint8_t) s_get_uint (&reader, 1, "truncated PRESENCE fields");
            if (self->online > 1)
                s_bad (&reader, "PRESENCE online not 0 or 1");
            s_get_names (&reader, self->names, "bad PRESENCE names");
            break;
        case ZC_MSG_NOROUTE:
            s_get_names (&reader, self->names, "bad NOROUTE names");
            break;
        case ZC_MSG_ERROR:
            self->code = (uint16_t) s_get_uint (&reader, 2, "bad ERROR fields");
            self->text = s_get_string (&reader, 2, ZC_WIRE_MAX_TEXT, "bad ERROR text");
            break;
        case ZC_MSG_CREDIT:
            self->credit = s_get_uint (&reader, 8, "truncated CREDIT count");
            break;
        case ZC_MSG_PUB:
            self->subject = s_get_string (&reader, 2, ZC_WIRE_MAX_SUBJECT, "bad PUB subject");
            if (self->subject && zc_subject_check (self->subject, false, NULL) != 0)
                s_bad (&reader, "bad PUB subject");
            self->retain = (uint32_t) s_get_uint (&reader, 4, "truncated PUB fields");
            self->seq = s_get_uint (&reader, 8, "truncated PUB fields");
            break;
        case ZC_MSG_STORED:
            self->subject = s_get_string (&reader, 2, ZC_WIRE_MAX_SUBJECT, "bad STORED subject");
            if (self->subject && zc_subject_check (self->subject, false, NULL) != 0)
                s_bad (&reader, "bad STORED subject");
            self->seq = s_get_uint (&reader, 8, "truncated STORED fields");
            break;
        case ZC_MSG_STREAM:
            self->seq = s_get_uint (&reader, 8, "truncated STREAM fields");
            if (!reader.problem && self->seq == 0)
                s_bad (&reader, "STREAM seq 0");
            break;
        case ZC_MSG_ENROLL: {
            s_get_name (&reader, self->name, false, "bad ENROLL name");
            self->role = (uint8_t) s_get_uint (&reader, 1, "truncated ENROLL fields");
            if (!reader.problem && self->role > 1)
                s_bad (&reader, "ENROLL role not 0 or 1");
            const uint8_t *keys = s_get (&reader, 64, "truncated ENROLL keys");
            if (keys) {
                memcpy (self->curve_key, keys, 32);
                memcpy (self->sign_key, keys + 32, 32);
            }
            break;
        }
        case ZC_MSG_SUB:
        case ZC_MSG_UNSUB:
            s_get_patterns (&reader, self->patterns, "bad patterns");
            break;
        default:
            break;
    }
    if (s_relayed (self->type, self->flags)) {
        s_get_names (&reader, self->names, "bad relay names");
        if (!reader.problem && zlist_size (self->names) == 0)
            s_bad (&reader, "bad relay names");
    }
    if (self->type == ZC_MSG_REQ && (self->flags & ZC_FLAG_TAGS)) {
        zlist_t *tagged = s_tagged_names (self);
        for (char *name = zlist_first (tagged); name && !reader.problem; name = zlist_next (tagged)) {
            const uint8_t *tag = s_get (&reader, ZC_WIRE_TAG_SIZE, "truncated tags");
            if (tag && zc_wire_tag (self, name))
                s_bad (&reader, "a tagged REQ names a target twice");
            else
            if (tag)
                zc_wire_set_tag (self, name, tag);
        }
    }
    //  The rest of the frame is the payload, for the types that have one.
    size_t rest = reader.size - reader.pos;
    bool with_payload = s_has_payload (self->type, self->flags) || (s_payload_optional (self->type) && rest > 0);
    if (!reader.problem && self->type == ZC_MSG_HELLO && rest > 0
    &&  zc_facts_check (reader.data + reader.pos, rest, NULL) != 0)
        s_bad (&reader, "bad HELLO facts");
    if (!reader.problem && !with_payload && rest > 0)
        s_bad (&reader, "trailing bytes in header");
    if (!reader.problem && with_payload && rest > ZC_WIRE_MAX_PAYLOAD)
        s_bad (&reader, "payload larger than 64 MiB");
    if (!reader.problem && s_whole_too_large (self->type, self->flags, rest))
        s_bad (&reader, "a payload over 16 KiB not in chunks");
    if (!reader.problem && with_payload) {
        self->payload = zframe_new (reader.data + reader.pos, rest);
        if (!self->payload)
            s_bad (&reader, "out of memory");
    }
    if (reader.problem) {
        *reason = reader.problem;
        zc_wire_destroy (&self);
    }
    return self;
}

zmsg_t *
zc_wire_encode_take (zc_wire_t **self_p, bool *bulk)
{
    *bulk = zc_wire_is_bulk (*self_p);
    zmsg_t *msg = zc_wire_encode (*self_p);
    zc_wire_destroy (self_p);
    if (!msg)
        errno = EINVAL;
    return msg;
}

//  Encodes *self_p and sends it on sock, after a copy of routing_id when
//  given; destroys *self_p in every case. Returns 0, or -1 when it could
//  not be encoded (errno EINVAL) or the socket refused it (errno as
//  zmsg_send left it, e.g. EHOSTUNREACH or EAGAIN).
int
zc_wire_send (zc_wire_t **self_p, zsock_t *sock, zframe_t *routing_id)
{
    zmsg_t *msg = zc_wire_encode (*self_p);
    zc_wire_destroy (self_p);
    if (!msg) {
        errno = EINVAL;
        return -1;
    }
    if (routing_id) {
        zframe_t *copy = zframe_dup (routing_id);
        zmsg_prepend (msg, &copy);
    }
    if (zmsg_send (&msg, sock) == 0)
        return 0;
    int saved = errno;
    zmsg_destroy (&msg);
    errno = saved;
    return -1;
}

//  --------------------------------------------------------------------------
//  Payloads

//  The one kind of section that may follow a REQ payload's data.
#define S_REQ_SECTION_SCHEDULE 1

//  The REQ payload: the argument strings (a list of char *, NULL for none)
//  and the stdin data, then the schedule section when 'schedule' has
//  runs. Returns a new frame, or NULL (logged) with more than 16
//  arguments, an argument over 1 MiB, a total over 64 MiB or a schedule
//  that is not valid.
zframe_t *
zc_wire_req_payload_scheduled (zlist_t *args, const uint8_t *data, size_t size,
                               const zc_schedule_spec_t *schedule)
{
    s_writer_t writer = { NULL, 0, 0, NULL };
    size_t argc = args? zlist_size (args): 0;
    if (argc > ZC_WIRE_MAX_ARGS)
        s_fail (&writer, "more than 16 arguments");
    s_put_uint (&writer, argc, 1);
    for (const char *arg = argc? zlist_first (args): NULL; arg; arg = zlist_next (args)) {
        size_t length = strlen (arg);
        if (length > ZC_WIRE_MAX_ARG)
            s_fail (&writer, "an argument is longer than 1 MiB");
        s_put_blob (&writer, arg, length, 4);
    }
    if (size > ZC_WIRE_MAX_PAYLOAD)
        s_fail (&writer, "data larger than 64 MiB");
    s_put_blob (&writer, data, size, 4);
    if (schedule && schedule->count) {
        if (!zc_schedule_spec_valid (schedule))
            s_fail (&writer, "a schedule out of range");
        s_put_uint (&writer, S_REQ_SECTION_SCHEDULE, 1);
        s_put_uint (&writer, schedule->interval, 4);
        s_put_uint (&writer, schedule->count, 4);
    }
    return s_writer_frame (&writer, "REQ payload");
}

zframe_t *
zc_wire_req_payload (zlist_t *args, const uint8_t *data, size_t size)
{
    return zc_wire_req_payload_scheduled (args, data, size, NULL);
}

//  Reads a REQ payload: the arguments onto 'list' and the data into
//  *data (a malloc'd copy, NULL when empty) when they are given, else
//  only over them; then the schedule section, if any. The reader holds
//  the first problem.
static void
s_get_req (s_reader_t *reader, zlist_t *list, uint8_t **data, size_t *size,
           zc_schedule_spec_t *schedule)
{
    size_t argc = s_get_uint (reader, 1, "truncated");
    if (argc > ZC_WIRE_MAX_ARGS)
        s_bad (reader, "too many arguments");
    for (size_t index = 0; index < argc && !reader->problem; index++) {
        if (list) {
            char *arg = s_get_string (reader, 4, ZC_WIRE_MAX_ARG, "bad argument");
            if (arg)
                zlist_append (list, arg);
            free (arg);
            continue;
        }
        size_t length = s_get_uint (reader, 4, "bad argument");
        const uint8_t *bytes = length > ZC_WIRE_MAX_ARG? NULL: s_get (reader, length, "bad argument");
        if (!bytes || memchr (bytes, 0, length))
            s_bad (reader, "bad argument");
    }
    if (data)
        s_get_blob (reader, data, size, "bad data");
    else
        s_get (reader, s_get_uint (reader, 4, "bad data"), "bad data");
    memset (schedule, 0, sizeof *schedule);
    if (!reader->problem && reader->pos < reader->size) {
        if (s_get_uint (reader, 1, "truncated") != S_REQ_SECTION_SCHEDULE)
            s_bad (reader, "unknown section");
        schedule->interval = (uint32_t) s_get_uint (reader, 4, "truncated");
        schedule->count = (uint32_t) s_get_uint (reader, 4, "truncated");
        if (!reader->problem && !zc_schedule_spec_valid (schedule))
            s_bad (reader, "schedule out of range");
    }
    if (!reader->problem && reader->pos != reader->size)
        s_bad (reader, "trailing bytes");
}

//  Decodes a REQ payload. On success returns 0 with *args a new list of
//  strings (autofree) and *data a malloc'd copy of the data (NULL when
//  empty) of *size bytes; the caller owns both. Returns -1 with the
//  outputs NULL/0 when malformed.
int
zc_wire_req_payload_decode (zframe_t *frame, zlist_t **args, uint8_t **data, size_t *size)
{
    *args = NULL;
    *data = NULL;
    *size = 0;
    if (!frame)
        return -1;
    s_reader_t reader;
    s_reader_init (&reader, frame);
    zlist_t *list = zlist_new ();
    if (!list)
        return -1;
    zlist_autofree (list);
    uint8_t *bytes = NULL;
    size_t length = 0;
    zc_schedule_spec_t schedule;
    s_get_req (&reader, list, &bytes, &length, &schedule);
    if (reader.problem) {
        zlist_destroy (&list);
        free (bytes);
        return -1;
    }
    *args = list;
    *data = bytes;
    *size = length;
    return 0;
}

int
zc_wire_req_payload_schedule (zframe_t *frame, zc_schedule_spec_t *schedule)
{
    memset (schedule, 0, sizeof *schedule);
    if (!frame)
        return -1;
    s_reader_t reader;
    s_reader_init (&reader, frame);
    s_get_req (&reader, NULL, NULL, NULL, schedule);
    if (reader.problem) {
        memset (schedule, 0, sizeof *schedule);
        return -1;
    }
    return 0;
}

//  The REPLY payload for a result. Returns a new frame, or NULL (logged)
//  for a state, signal or HTTP status out of range, an error text over
//  65535 bytes or output that makes the frame larger than 64 MiB.
zframe_t *
zc_wire_result_payload (const zc_result_t *result)
{
    s_writer_t writer = { NULL, 0, 0, NULL };
    //  A result is never of a later run still to come.
    if ((unsigned) result->state >= ZC_STATE_SCHEDULED)
        s_fail (&writer, "state out of range");
    if (result->signal < 0 || result->signal > 255)
        s_fail (&writer, "signal out of range");
    if (result->http_status < 0 || result->http_status > ZC_WIRE_MAX_HTTP_STATUS)
        s_fail (&writer, "HTTP status out of range");
    if (result->out_size > ZC_WIRE_MAX_PAYLOAD || result->err_size > ZC_WIRE_MAX_PAYLOAD)
        s_fail (&writer, "output larger than 64 MiB");
    s_put_uint (&writer, (uint8_t) result->state, 1);
    s_put_uint (&writer, (uint32_t) result->exit_code, 4);
    s_put_uint (&writer, (uint8_t) result->signal, 1);
    s_put_uint (&writer, (result->stdout_truncated? 1: 0) | (result->stderr_truncated? 2: 0), 1);
    s_put_uint (&writer, result->started_ms, 8);
    s_put_uint (&writer, result->finished_ms, 8);
    s_put_blob (&writer, result->error, result->error? strlen (result->error): 0, 2);
    s_put_blob (&writer, result->out, result->out_size, 4);
    s_put_blob (&writer, result->err, result->err_size, 4);
    s_put_uint (&writer, (uint16_t) result->http_status, 2);
    return s_writer_frame (&writer, "REPLY payload");
}

zframe_t *
zc_wire_stream_payload (int stream, const uint8_t *bytes, size_t size)
{
    assert (stream == ZC_STREAM_STDOUT || stream == ZC_STREAM_STDERR || stream == ZC_STREAM_COPY);
    assert (size <= ZC_STREAM_MAX_CHUNK);
    zframe_t *frame = zframe_new (NULL, 1 + size);
    uint8_t *data = zframe_data (frame);
    data [0] = (uint8_t) stream;
    if (size)
        memcpy (data + 1, bytes, size);
    return frame;
}

int
zc_wire_stream_payload_decode (zframe_t *frame, int *stream, const uint8_t **bytes, size_t *size)
{
    size_t frame_size = frame? zframe_size (frame): 0;
    const uint8_t *data = frame_size? zframe_data (frame): NULL;
    if (frame_size == 0 || frame_size - 1 > ZC_STREAM_MAX_CHUNK
    ||  (data [0] != ZC_STREAM_STDOUT && data [0] != ZC_STREAM_STDERR && data [0] != ZC_STREAM_COPY)
    ||  (data [0] == ZC_STREAM_COPY && frame_size - 1 < ZC_STREAM_HASH))
        return -1;
    *stream = data [0];
    *bytes = data + 1;
    *size = frame_size - 1;
    return 0;
}

//  Decodes a REPLY payload into a new result (*result, the caller
//  destroys it). Returns 0, or -1 with *result NULL when malformed.
int
zc_wire_result_payload_decode (zframe_t *frame, zc_result_t **result)
{
    *result = NULL;
    if (!frame)
        return -1;
    s_reader_t reader;
    s_reader_init (&reader, frame);
    zc_result_t *self = zc_result_new ();
    if (!self)
        return -1;
    self->state = (zc_state_t) s_get_uint (&reader, 1, "truncated");
    if ((unsigned) self->state >= ZC_STATE_SCHEDULED)
        s_bad (&reader, "state out of range");
    self->exit_code = (int32_t) (uint32_t) s_get_uint (&reader, 4, "truncated");
    self->signal = (int) s_get_uint (&reader, 1, "truncated");
    uint64_t flags = s_get_uint (&reader, 1, "truncated");
    if (flags & ~3u)
        s_bad (&reader, "unknown flags");
    self->stdout_truncated = flags & 1;
    self->stderr_truncated = (flags & 2) != 0;
    self->started_ms = s_get_uint (&reader, 8, "truncated");
    self->finished_ms = s_get_uint (&reader, 8, "truncated");
    self->error = s_get_string (&reader, 2, 0xFFFF, "bad error text");
    if (self->error && !self->error [0])
        zstr_free (&self->error);
    if (!reader.problem)
        s_get_blob (&reader, &self->out, &self->out_size, "bad stdout");
    if (!reader.problem)
        s_get_blob (&reader, &self->err, &self->err_size, "bad stderr");
    if (!reader.problem)
        self->http_status = (int) s_get_uint (&reader, 2, "truncated");
    if (self->http_status > ZC_WIRE_MAX_HTTP_STATUS)
        s_bad (&reader, "HTTP status out of range");
    if (!reader.problem && reader.pos != reader.size)
        s_bad (&reader, "trailing bytes");
    if (reader.problem) {
        zc_result_destroy (&self);
        return -1;
    }
    *result = self;
    return 0;
}

//  --------------------------------------------------------------------------
//  Storage records. Each starts with a record version byte (1); blobs are
//  u32 length + bytes, length 0 meaning absent.

#define S_RECORD_VERSION 1

//  Appends a frame's bytes as a blob (an absent frame as length 0).
static void
s_put_frame (s_writer_t *writer, zframe_t *frame)
{
    s_put_blob (writer, frame? zframe_data (frame): NULL, frame? zframe_size (frame): 0, 4);
}

//  Reads a blob into a new frame (NULL when absent).
static zframe_t *
s_get_frame (s_reader_t *reader, const char *problem)
{
    size_t size = s_get_uint (reader, 4, problem);
    const uint8_t *bytes = s_get (reader, size, problem);
    return bytes && size? zframe_new (bytes, size): NULL;
}

//  Since the HTTP status of http_get: a record ends with this byte, and
//  the result it holds ends with the status. An older record's result
//  ends after stderr.
#define S_RESULT_LAYOUT 1

//  Reads the result layout byte, when there is one, and brings the
//  result of an older record to the current layout (an http_status of
//  0). 'opaque' when the result is a sealed envelope (a custody relay's),
//  which is passed on as it is.
static void
s_get_result_layout (s_reader_t *reader, zframe_t **result, bool opaque)
{
    bool current = false;
    if (!reader->problem && reader->pos < reader->size) {
        if (s_get_uint (reader, 1, "truncated") != S_RESULT_LAYOUT)
            s_bad (reader, "unknown result layout");
        current = true;
    }
    if (reader->problem || current || !*result || opaque)
        return;
    size_t size = zframe_size (*result);
    zframe_t *upgraded = zframe_new (NULL, size + 2);
    memcpy (zframe_data (upgraded), zframe_data (*result), size);
    zframe_data (upgraded) [size] = zframe_data (upgraded) [size + 1] = 0;
    zframe_destroy (result);
    *result = upgraded;
}

//  Finishes decoding a record: trailing bytes are a problem. 0 or -1.
static int
s_reader_done (s_reader_t *reader)
{
    if (!reader->problem && reader->pos != reader->size)
        s_bad (reader, "trailing bytes");
    return reader->problem? -1: 0;
}

zframe_t *
zc_wire_job_record (const zc_job_record_t *record)
{
    s_writer_t writer = { 0 };
    s_put_uint (&writer, S_RECORD_VERSION, 1);
    s_put_uint (&writer, record->state, 1);
    s_put_uint (&writer, record->method, 1);
    s_put_name (&writer, record->node, false);
    s_put_uint (&writer, record->tries, 4);
    s_put_uint (&writer, record->retries, 4);
    s_put_uint (&writer, record->method_timeout, 4);
    s_put_uint (&writer, record->expire, 4);
    s_put_uint (&writer, record->ack_timeout_ms, 4);
    s_put_uint (&writer, record->retry_wait_ms, 4);
    s_put_frame (&writer, record->payload);
    s_put_frame (&writer, record->result);
    //  Since custody relays: absent from older records.
    s_put_name (&writer, record->relay, true);
    s_put_name (&writer, record->custody_for, true);
    s_put_uint (&writer, record->result_delivered, 1);
    s_put_uint (&writer, S_RESULT_LAYOUT, 1);
    //  Since reply methods, and only when not the default, so that a
    //  record without one still reads in a version without them.
    //  A schedule section follows it, so a job with one has it too.
    const zc_reply_spec_t *reply = &record->reply;
    if (reply->method != ZC_REPLY_CONSOLE || record->reply_pending || record->schedule.count) {
        s_put_uint (&writer, reply->method, 1);
        s_put_uint (&writer, record->reply_pending, 1);
        s_put_blob (&writer, reply->directory, reply->directory? strlen (reply->directory): 0, 2);
        s_put_blob (&writer, reply->file_name, reply->file_name? strlen (reply->file_name): 0, 2);
        s_put_uint (&writer, reply->args? zlist_size (reply->args): 0, 2);
        for (char *arg = reply->args? zlist_first (reply->args): NULL; arg; arg = zlist_next (reply->args))
            s_put_blob (&writer, arg, strlen (arg), 4);
    }
    //  Since schedules: the run of a schedule a job is.
    if (record->schedule.count) {
        if (!zc_schedule_spec_valid (&record->schedule) || record->run >= record->schedule.count)
            s_fail (&writer, "a schedule out of range");
        s_put_uint (&writer, record->schedule.interval, 4);
        s_put_uint (&writer, record->schedule.count, 4);
        s_put_uint (&writer, record->run, 4);
    }
    return s_writer_frame (&writer, "job record");
}

//  Reads the reply section of a job record into record->reply.
static void
s_get_reply (s_reader_t *reader, zc_job_record_t *record)
{
    zc_reply_spec_t *reply = &record->reply;
    reply->method = (zc_reply_method_t) s_get_uint (reader, 1, "truncated");
    if (reply->method >= ZC_REPLY_COUNT)
        s_bad (reader, "reply method out of range");
    uint64_t pending = s_get_uint (reader, 1, "truncated");
    if (pending > 1)
        s_bad (reader, "reply_pending not 0 or 1");
    record->reply_pending = pending == 1;
    reply->directory = s_get_string (reader, 2, 0xFFFF, "bad reply directory");
    reply->file_name = s_get_string (reader, 2, 0xFFFF, "bad reply file_name");
    if (reply->directory && !*reply->directory)
        zstr_free (&reply->directory);
    if (reply->file_name && !*reply->file_name)
        zstr_free (&reply->file_name);
    size_t count = s_get_uint (reader, 2, "truncated");
    for (size_t index = 0; index < count && !reader->problem; index++) {
        char *arg = s_get_string (reader, 4, 0xFFFFFF, "bad reply argument");
        if (!arg)
            break;
        if (!reply->args) {
            reply->args = zlist_new ();
            zlist_autofree (reply->args);
        }
        zlist_append (reply->args, arg);
        free (arg);
    }
}

int
zc_wire_job_record_decode (zframe_t *frame, zc_job_record_t *record)
{
    memset (record, 0, sizeof *record);
    s_reader_t reader;
    s_reader_init (&reader, frame);
    if (s_get_uint (&reader, 1, "truncated") != S_RECORD_VERSION)
        s_bad (&reader, "unknown record version");
    record->state = (uint8_t) s_get_uint (&reader, 1, "truncated");
    if (record->state >= ZC_STATE_COUNT)
        s_bad (&reader, "state out of range");
    record->method = (uint8_t) s_get_uint (&reader, 1, "truncated");
    s_get_name (&reader, record->node, false, "bad node");
    record->tries = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->retries = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->method_timeout = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->expire = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->ack_timeout_ms = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->retry_wait_ms = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->payload = s_get_frame (&reader, "bad payload");
    record->result = s_get_frame (&reader, "bad result");
    if (!reader.problem && reader.pos < reader.size) {
        s_get_name (&reader, record->relay, true, "bad relay");
        s_get_name (&reader, record->custody_for, true, "bad custody_for");
        uint64_t delivered = s_get_uint (&reader, 1, "truncated");
        if (delivered > 1)
            s_bad (&reader, "result_delivered not 0 or 1");
        record->result_delivered = delivered == 1;
    }
    s_get_result_layout (&reader, &record->result, *record->custody_for != 0);
    if (!reader.problem && reader.pos < reader.size)
        s_get_reply (&reader, record);
    if (!reader.problem && reader.pos < reader.size) {
        record->schedule.interval = (uint32_t) s_get_uint (&reader, 4, "truncated");
        record->schedule.count = (uint32_t) s_get_uint (&reader, 4, "truncated");
        record->run = (uint32_t) s_get_uint (&reader, 4, "truncated");
        if (!reader.problem && (!zc_schedule_spec_valid (&record->schedule)
                                || record->run >= record->schedule.count))
            s_bad (&reader, "schedule out of range");
    }
    if (s_reader_done (&reader) != 0) {
        zframe_destroy (&record->payload);
        zframe_destroy (&record->result);
        zc_reply_spec_clear (&record->reply);
        return -1;
    }
    return 0;
}

zframe_t *
zc_wire_task_record (const zc_task_record_t *record)
{
    s_writer_t writer = { 0 };
    s_put_uint (&writer, S_RECORD_VERSION, 1);
    s_put_uint (&writer, record->state, 1);
    s_put_uint (&writer, record->reply_acked, 1);
    s_put_uint (&writer, record->method, 1);
    s_put_uint (&writer, record->method_timeout, 4);
    s_put_uint (&writer, record->expire, 4);
    s_put_uint (&writer, (uint32_t) record->pgid, 4);
    s_put_uint (&writer, record->start_ticks, 8);
    s_put_frame (&writer, record->payload);
    s_put_frame (&writer, record->result);
    s_put_name (&writer, record->relay, true);      //  since custody relays
    s_put_uint (&writer, S_RESULT_LAYOUT, 1);
    return s_writer_frame (&writer, "task record");
}

//  Reads a task record's fixed fields, up to start_ticks.
static void
s_get_task_fields (s_reader_t *reader, zc_task_record_t *record)
{
    if (s_get_uint (reader, 1, "truncated") != S_RECORD_VERSION)
        s_bad (reader, "unknown record version");
    record->state = (uint8_t) s_get_uint (reader, 1, "truncated");
    if (record->state > ZC_TASK_STARTING)
        s_bad (reader, "state out of range");
    record->reply_acked = s_get_uint (reader, 1, "truncated") != 0;
    record->method = (uint8_t) s_get_uint (reader, 1, "truncated");
    record->method_timeout = (uint32_t) s_get_uint (reader, 4, "truncated");
    record->expire = (uint32_t) s_get_uint (reader, 4, "truncated");
    record->pgid = (int32_t) (uint32_t) s_get_uint (reader, 4, "truncated");
    record->start_ticks = s_get_uint (reader, 8, "truncated");
}

int
zc_wire_task_record_peek (const void *data, size_t size, zc_task_record_t *record)
{
    memset (record, 0, sizeof *record);
    s_reader_t reader = { .data = data, .size = size };
    s_get_task_fields (&reader, record);
    return reader.problem? -1: 0;
}

int
zc_wire_task_record_decode (zframe_t *frame, zc_task_record_t *record)
{
    memset (record, 0, sizeof *record);
    s_reader_t reader;
    s_reader_init (&reader, frame);
    s_get_task_fields (&reader, record);
    record->payload = s_get_frame (&reader, "bad payload");
    record->result = s_get_frame (&reader, "bad result");
    if (!reader.problem && reader.pos < reader.size)
        s_get_name (&reader, record->relay, true, "bad relay");
    s_get_result_layout (&reader, &record->result, false);
    if (s_reader_done (&reader) != 0) {
        zframe_destroy (&record->payload);
        zframe_destroy (&record->result);
        return -1;
    }
    return 0;
}

zframe_t *
zc_wire_schedule_record (const zc_schedule_record_t *record)
{
    s_writer_t writer = { 0 };
    if (!zc_schedule_spec_valid (&record->schedule) || record->next > record->schedule.count)
        s_fail (&writer, "a schedule out of range");
    s_put_uint (&writer, S_RECORD_VERSION, 1);
    s_put_uint (&writer, record->method, 1);
    s_put_uint (&writer, record->method_timeout, 4);
    s_put_uint (&writer, record->expire, 4);
    s_put_uint (&writer, record->schedule.interval, 4);
    s_put_uint (&writer, record->schedule.count, 4);
    s_put_uint (&writer, record->next, 4);
    s_put_uint (&writer, record->start_ms, 8);
    s_put_frame (&writer, record->payload);
    return s_writer_frame (&writer, "schedule record");
}

int
zc_wire_schedule_record_decode (zframe_t *frame, zc_schedule_record_t *record)
{
    memset (record, 0, sizeof *record);
    s_reader_t reader;
    s_reader_init (&reader, frame);
    if (s_get_uint (&reader, 1, "truncated") != S_RECORD_VERSION)
        s_bad (&reader, "unknown record version");
    record->method = (uint8_t) s_get_uint (&reader, 1, "truncated");
    record->method_timeout = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->expire = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->schedule.interval = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->schedule.count = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->next = (uint32_t) s_get_uint (&reader, 4, "truncated");
    record->start_ms = s_get_uint (&reader, 8, "truncated");
    if (!reader.problem && (!zc_schedule_spec_valid (&record->schedule)
                            || record->next > record->schedule.count))
        s_bad (&reader, "schedule out of range");
    record->payload = s_get_frame (&reader, "bad payload");
    if (s_reader_done (&reader) != 0) {
        zframe_destroy (&record->payload);
        return -1;
    }
    return 0;
}

//  Appends what a node advertises (a facts set, facts.h) as a u16 length
//  and its bytes; length 0 when not known.
static void
s_put_facts (s_writer_t *writer, const zc_node_entry_t *entry)
{
    size_t size = entry->facts? entry->facts_size: 0;
    if (size && zc_facts_check (entry->facts, size, NULL) != 0)
        s_fail (writer, "facts that are not a facts set");
    s_put_blob (writer, entry->facts, size, 2);
}

//  Reads what s_put_facts wrote: entry->facts points into the reader's
//  frame (NULL when the length is 0).
static void
s_get_facts (s_reader_t *reader, zc_node_entry_t *entry, const char *problem)
{
    size_t size = s_get_uint (reader, 2, problem);
    const uint8_t *bytes = s_get (reader, size, problem);
    if (!bytes || size == 0)
        return;
    if (zc_facts_check (bytes, size, NULL) != 0)
        s_bad (reader, problem);
    else {
        entry->facts = bytes;
        entry->facts_size = size;
    }
}

zframe_t *
zc_wire_node_record (const zc_node_entry_t *entry)
{
    s_writer_t writer = { 0 };
    s_put_uint (&writer, S_RECORD_VERSION, 1);
    s_put_name (&writer, entry->name, false);
    s_put_uint (&writer, entry->online, 1);
    s_put_uint (&writer, entry->last_seen, 8);
    s_put_path (&writer, entry->via);
    s_put_facts (&writer, entry);           //  since facts: absent from older records
    return s_writer_frame (&writer, "node record");
}

int
zc_wire_node_record_decode (zframe_t *frame, zc_node_entry_t *entry)
{
    memset (entry, 0, sizeof *entry);
    s_reader_t reader;
    s_reader_init (&reader, frame);
    if (s_get_uint (&reader, 1, "truncated") != S_RECORD_VERSION)
        s_bad (&reader, "unknown record version");
    s_get_name (&reader, entry->name, false, "bad name");
    entry->online = s_get_uint (&reader, 1, "truncated") != 0;
    entry->last_seen = s_get_uint (&reader, 8, "truncated");
    s_get_path (&reader, entry->via, "bad via");
    if (!reader.problem && reader.pos < reader.size)
        s_get_facts (&reader, entry, "bad facts");
    if (s_reader_done (&reader) != 0) {
        entry->facts = NULL;
        entry->facts_size = 0;
        return -1;
    }
    return 0;
}

//  The NODES payload for 'count' directory entries. Returns a new frame,
//  or NULL (logged) when a name or via is invalid.
zframe_t *
zc_wire_nodes_payload (const zc_node_entry_t *entries, size_t count)
{
    s_writer_t writer = { NULL, 0, 0, NULL };
    if (count > 0xFFFFFFFFu)
        s_fail (&writer, "too many entries");
    s_put_uint (&writer, count, 4);
    for (size_t index = 0; index < count; index++) {
        s_put_name (&writer, entries [index].name, false);
        s_put_uint (&writer, entries [index].online? 1: 0, 1);
        s_put_uint (&writer, entries [index].last_seen, 8);
        s_put_path (&writer, entries [index].via);
        s_put_facts (&writer, &entries [index]);
    }
    return s_writer_frame (&writer, "NODES payload");
}

//  Decodes a NODES payload. Returns 0 with *entries a malloc'd array
//  (NULL when *count is 0; the caller frees it), or -1 with *entries NULL
//  and *count 0 when malformed.
int
zc_wire_nodes_payload_decode (zframe_t *frame, zc_node_entry_t **entries, size_t *count)
{
    *entries = NULL;
    *count = 0;
    if (!frame)
        return -1;
    s_reader_t reader;
    s_reader_init (&reader, frame);
    size_t total = s_get_uint (&reader, 4, "truncated");
    //  The smallest entry is 14 bytes: check before allocating.
    if (total > (reader.size - reader.pos) / 14)
        s_bad (&reader, "count larger than the frame");
    zc_node_entry_t *array = NULL;
    if (!reader.problem && total > 0) {
        array = zc_calloc (total, sizeof (zc_node_entry_t));
        if (!array)
            s_bad (&reader, "out of memory");
    }
    for (size_t index = 0; index < total && !reader.problem; index++) {
        zc_node_entry_t *entry = &array [index];
        s_get_name (&reader, entry->name, false, "bad name");
        uint64_t online = s_get_uint (&reader, 1, "truncated");
        if (online > 1)
            s_bad (&reader, "online not 0 or 1");
        entry->online = online == 1;
        entry->last_seen = s_get_uint (&reader, 8, "truncated");
        s_get_path (&reader, entry->via, "bad via");
        s_get_facts (&reader, entry, "bad facts");
    }
    if (!reader.problem && reader.pos != reader.size)
        s_bad (&reader, "trailing bytes");
    if (reader.problem) {
        free (array);
        return -1;
    }
    *entries = array;
    *count = total;
    return 0;
}

//  The INTEREST payload: u16 count, then per entry online (u8), the hub's
//  name, the pattern (u16 length + bytes) and the hub path (like NODES).
//  Returns a new frame, or NULL (logged) when an entry is invalid.
zframe_t *
zc_wire_interest_payload (const zc_interest_entry_t *entries, size_t count)
{
    s_writer_t writer = { NULL, 0, 0, NULL };
    if (count > 0xFFFF)
        s_fail (&writer, "too many entries");
    s_put_uint (&writer, count, 2);
    for (size_t index = 0; index < count && !writer.problem; index++) {
        const zc_interest_entry_t *entry = &entries [index];
        s_put_uint (&writer, entry->online? 1: 0, 1);
        s_put_name (&writer, entry->hub, false);
        if (zc_subject_check (entry->pattern, true, NULL) != 0)
            s_fail (&writer, "invalid pattern");
        s_put_blob (&writer, entry->pattern, strlen (entry->pattern), 2);
        s_put_path (&writer, entry->via);
    }
    return s_writer_frame (&writer, "INTEREST payload");
}

//  Decodes an INTEREST payload: 0 with *entries malloc'd (NULL when
//  *count is 0), or -1 with both cleared.
int
zc_wire_interest_payload_decode (zframe_t *frame, zc_interest_entry_t **entries, size_t *count)
{
    *entries = NULL;
    *count = 0;
    if (!frame)
        return -1;
    s_reader_t reader;
    s_reader_init (&reader, frame);
    size_t total = s_get_uint (&reader, 2, "truncated");
    //  The smallest entry is 6 bytes: check before allocating.
    if (total > (reader.size - reader.pos) / 6)
        s_bad (&reader, "count larger than the frame");
    zc_interest_entry_t *array = NULL;
    if (!reader.problem && total > 0)
        array = zc_calloc (total, sizeof (zc_interest_entry_t));
    for (size_t index = 0; index < total && !reader.problem; index++) {
        zc_interest_entry_t *entry = &array [index];
        uint64_t online = s_get_uint (&reader, 1, "truncated");
        if (online > 1)
            s_bad (&reader, "online not 0 or 1");
        entry->online = online == 1;
        s_get_name (&reader, entry->hub, false, "bad hub name");
        char *pattern = s_get_string (&reader, 2, ZC_WIRE_MAX_SUBJECT, "bad pattern");
        if (pattern && zc_subject_check (pattern, true, NULL) != 0)
            s_bad (&reader, "bad pattern");
        else
        if (pattern)
            snprintf (entry->pattern, sizeof entry->pattern, "%s", pattern);
        free (pattern);
        s_get_path (&reader, entry->via, "bad via");
    }
    if (!reader.problem && reader.pos != reader.size)
        s_bad (&reader, "trailing bytes");
    if (reader.problem) {
        free (array);
        return -1;
    }
    *entries = array;
    *count = total;
    return 0;
}

//  A PUB's items: u16 count, then each a u32 length and its bytes; from
//  a list of frames, or else from an array of 'count'.
static void
s_put_items (s_writer_t *writer, zlist_t *items, const zc_pub_item_t *item, size_t count)
{
    if (items)
        count = zlist_size (items);
    if (count == 0 || count > ZC_WIRE_MAX_ITEMS)
        s_fail (writer, "a PUB carries 1 to 1024 items");
    s_put_uint (writer, count, 2);
    if (items)
        for (zframe_t *frame = count? zlist_first (items): NULL; frame; frame = zlist_next (items))
            s_put_blob (writer, zframe_data (frame), zframe_size (frame), 4);
    else
        for (size_t index = 0; index < count; index++)
            s_put_blob (writer, item [index].data, item [index].size, 4);
}

zframe_t *
zc_wire_pub_items (zlist_t *items)
{
    s_writer_t writer = { NULL, 0, 0, NULL };
    s_put_items (&writer, items, NULL, 0);
    return s_writer_frame (&writer, "PUB items");
}

//  The PUB payload: mode (u8), with mode 1 the 64-byte signature, then
//  the items. NULL (logged) with no item, too many, an unknown mode or
//  more than ZC_WIRE_MAX_WHOLE bytes in all.
zframe_t *
zc_wire_pub_payload (const zc_pub_payload_t *payload)
{
    s_writer_t writer = { NULL, 0, 0, NULL };
    if (payload->mode > 1)
        s_fail (&writer, "unknown PUB mode");
    s_put_uint (&writer, payload->mode, 1);
    if (payload->mode == 1)
        s_put (&writer, payload->signature, ZC_WIRE_PUB_SIGNATURE);
    s_put_items (&writer, payload->items, payload->item, payload->count);
    if (writer.size > ZC_WIRE_MAX_WHOLE)
        s_fail (&writer, "a PUB payload over 16 KiB");
    return s_writer_frame (&writer, "PUB payload");
}

int
zc_wire_pub_payload_decode (zframe_t *frame, zc_pub_payload_t *payload)
{
    memset (payload, 0, sizeof *payload);
    if (!frame)
        return -1;
    s_reader_t reader;
    s_reader_init (&reader, frame);
    if (zframe_size (frame) > ZC_WIRE_MAX_WHOLE)
        s_bad (&reader, "larger than 16 KiB");
    payload->mode = (uint8_t) s_get_uint (&reader, 1, "truncated");
    if (payload->mode > 1)
        s_bad (&reader, "unknown mode");
    if (payload->mode == 1) {
        const uint8_t *signature = s_get (&reader, ZC_WIRE_PUB_SIGNATURE, "truncated signature");
        if (signature)
            memcpy (payload->signature, signature, ZC_WIRE_PUB_SIGNATURE);
    }
    payload->covered = reader.data + reader.pos;
    payload->covered_size = reader.size - reader.pos;
    size_t count = s_get_uint (&reader, 2, "truncated");
    if (!reader.problem && (count == 0 || count > ZC_WIRE_MAX_ITEMS))
        s_bad (&reader, "item count not 1 to 1024");
    payload->item = reader.problem? NULL: zc_malloc (count * sizeof (zc_pub_item_t));
    for (size_t index = 0; index < count && !reader.problem; index++) {
        size_t size = s_get_uint (&reader, 4, "truncated");
        const uint8_t *bytes = s_get (&reader, size, "truncated item");
        payload->item [index] = (zc_pub_item_t) { bytes, size };
    }
    payload->count = reader.problem? 0: count;
    if (!reader.problem && reader.pos != reader.size)
        s_bad (&reader, "trailing bytes");
    if (reader.problem) {
        zc_wire_pub_payload_clear (payload);
        return -1;
    }
    return 0;
}

void
zc_wire_pub_payload_clear (zc_pub_payload_t *payload)
{
    if (payload->items) {
        zframe_t *item;
        while ((item = zlist_pop (payload->items)))
            zframe_destroy (&item);
        zlist_destroy (&payload->items);
    }
    free (payload->item);
    payload->item = NULL;
    payload->count = 0;
    payload->covered = NULL;
    payload->covered_size = 0;
}

//  The ACK payload for 'count' more job IDs, 16 bytes each. Returns a new
//  frame, or NULL (logged) when count is 0 or above ZC_WIRE_MAX_ACK_IDS.
zframe_t *
zc_wire_ids_payload (const zc_id_t *ids, size_t count)
{
    if (count == 0 || count > ZC_WIRE_MAX_ACK_IDS) {
        zc_error ("wire: cannot encode an ACK payload of %zu IDs (1 to %d)", count, ZC_WIRE_MAX_ACK_IDS);
        return NULL;
    }
    return zframe_new (ids, count * sizeof (zc_id_t));
}

//  Decodes an ACK payload. Returns 0 with *ids a malloc'd array (the
//  caller frees it) and *count, or -1 with *ids NULL and *count 0 when the
//  size is not a whole number of IDs, or they are none or too many.
int
zc_wire_ids_payload_decode (zframe_t *frame, zc_id_t **ids, size_t *count)
{
    *ids = NULL;
    *count = 0;
    size_t size = frame? zframe_size (frame): 0;
    if (size == 0 || size % sizeof (zc_id_t) || size / sizeof (zc_id_t) > ZC_WIRE_MAX_ACK_IDS)
        return -1;
    *ids = zc_malloc (size);
    if (!*ids)
        return -1;
    memcpy (*ids, zframe_data (frame), size);
    *count = size / sizeof (zc_id_t);
    return 0;
}

static void
s_put_u32_at (uint8_t *at, size_t value)
{
    at [0] = (uint8_t) (value >> 24);
    at [1] = (uint8_t) (value >> 16);
    at [2] = (uint8_t) (value >> 8);
    at [3] = (uint8_t) value;
}

static size_t
s_get_u32_at (const uint8_t *at)
{
    return (size_t) at [0] << 24 | (size_t) at [1] << 16 | (size_t) at [2] << 8 | at [3];
}

zframe_t *
zc_wire_chunk_payload (size_t offset, size_t total, const uint8_t *bytes, size_t size)
{
    zframe_t *frame = zframe_new (NULL, 8 + size);
    uint8_t *out = zframe_data (frame);
    s_put_u32_at (out, offset);
    s_put_u32_at (out + 4, total);
    if (size)
        memcpy (out + 8, bytes, size);
    return frame;
}

int
zc_wire_chunk_payload_decode (zframe_t *frame, size_t *offset, size_t *total,
                              const uint8_t **bytes, size_t *size)
{
    size_t frame_size = frame? zframe_size (frame): 0;
    if (frame_size < 8) {
        *offset = *total = *size = 0;
        *bytes = NULL;
        return -1;
    }
    const uint8_t *data = zframe_data (frame);
    *offset = s_get_u32_at (data);
    *total = s_get_u32_at (data + 4);
    *bytes = data + 8;
    *size = frame_size - 8;
    return 0;
}

zframe_t *
zc_wire_count_payload (uint8_t type, size_t count)
{
    zframe_t *frame = zframe_new (NULL, 5);
    zframe_data (frame) [0] = type;
    s_put_u32_at (zframe_data (frame) + 1, count);
    return frame;
}

int
zc_wire_count_payload_decode (zframe_t *frame, uint8_t *type, size_t *count)
{
    *type = 0;
    *count = 0;
    if (!frame || zframe_size (frame) != 5
    ||  (zframe_data (frame) [0] != ZC_MSG_REQ && zframe_data (frame) [0] != ZC_MSG_REPLY))
        return -1;
    *type = zframe_data (frame) [0];
    *count = s_get_u32_at (zframe_data (frame) + 1);
    return 0;
}

//  --------------------------------------------------------------------------
//  Self-test

//  Where tests point decoder outputs, to see that a failed decode resets them.
static char s_sentinel;

//  True when the frame holds exactly these bytes.
static bool
s_frame_is (zframe_t *frame, const uint8_t *bytes, size_t size)
{
    return frame && zframe_size (frame) == size
        && (size == 0 || memcmp (zframe_data (frame), bytes, size) == 0);
}

//  A message of one frame: the header bytes, then the payload bytes when
//  with_payload.
static zmsg_t *
s_msg_of (const uint8_t *header, size_t header_size, const uint8_t *payload, size_t payload_size,
          bool with_payload)
{
    size_t size = header_size + (with_payload? payload_size: 0);
    zframe_t *frame = zframe_new (NULL, size);
    if (header_size)
        memcpy (zframe_data (frame), header, header_size);
    if (with_payload && payload_size)
        memcpy (zframe_data (frame) + header_size, payload, payload_size);
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &frame);
    return msg;
}

//  Decodes a message given as bytes (header, then payload); returns the
//  reason ("ok" when it decoded).
static const char *
s_decode_reason (const uint8_t *header, size_t size, const uint8_t *payload,
                 size_t payload_size, bool with_payload)
{
    zmsg_t *msg = s_msg_of (header, size, payload, payload_size, with_payload);
    const char *reason = NULL;
    zc_wire_t *wire = zc_wire_decode (msg, zmsg_first (msg), &reason);
    zmsg_destroy (&msg);
    bool decoded = wire != NULL;
    zc_wire_destroy (&wire);
    return decoded? "ok": reason? reason: "(no reason)";
}

//  A message of each type with every field it uses set, for round trips.
static zc_wire_t *
s_sample (uint8_t type)
{
    zc_wire_t *self = zc_wire_new ((zc_msg_type_t) type);
    self->flags = ZC_FLAG_FULL;
    self->hops = 5;
    strcpy (self->from, "hub-1");
    zlist_append (self->to, "web-1");
    zlist_append (self->to, "n1.site1");
    if (type == ZC_MSG_HELLO)
        strcpy (self->name, "agent.7");
    if (type == ZC_MSG_REQ) {
        self->method = ZC_METHOD_EXEC;
        self->method_timeout = 30;
        self->expire = 86400;
    }
    if (type == ZC_MSG_PRESENCE) {
        self->online = 1;
        zlist_append (self->names, "web-2");
    }
    if (type == ZC_MSG_NOROUTE) {
        zlist_append (self->names, "n9");
        zlist_append (self->names, "n10");
    }
    if (type == ZC_MSG_ERROR) {
        self->code = ZC_ERR_BAD_NAME;
        self->text = zc_strdup ("name web-1 is not bound to this key");
    }
    if (type == ZC_MSG_PUB || type == ZC_MSG_STORED) {
        self->subject = zc_strdup ("logs.web-1.nginx");
        self->retain = type == ZC_MSG_PUB? 3600: 0;
        self->seq = 1234567890123ull;
    }
    if (type == ZC_MSG_SUB || type == ZC_MSG_UNSUB) {
        zlist_append (self->patterns, "logs.*.nginx");
        zlist_append (self->patterns, "$sys.online.>");
    }
    if (type == ZC_MSG_STREAM) {
        self->flags = 0;                //  a chunk (STREAM_ACK shares FULL's bit)
        self->seq = 77;
    }
    if (type == ZC_MSG_ENROLL) {
        strcpy (self->name, "web-9");
        self->role = 0;
        for (int index = 0; index < 32; index++) {
            self->curve_key [index] = (uint8_t) index;
            self->sign_key [index] = (uint8_t) (255 - index);
        }
    }
    if (s_has_payload (type, self->flags))
        self->payload = zframe_new ("\x00\x01payload", 9);
    return self;
}

//  True when two lists of strings are equal.
static bool
s_lists_equal (zlist_t *a, zlist_t *b)
{
    if (zlist_size (a) != zlist_size (b))
        return false;
    const char *x = zlist_first (a), *y = zlist_first (b);
    for (; x && y; x = zlist_next (a), y = zlist_next (b))
        if (strcmp (x, y))
            return false;
    return true;
}

//  A deterministic pseudo-random generator (xorshift64*).
static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

//  Mutates bytes in place (buffer capacity 'capacity'); returns the new
//  size.
static size_t
s_mutate (uint8_t *bytes, size_t size, size_t capacity, uint64_t *state)
{
    int rounds = 1 + (int) (s_random (state) % 4);
    for (int round = 0; round < rounds; round++) {
        uint64_t pick = s_random (state);
        size_t position = size? (size_t) (s_random (state) % size): 0;
        switch (pick % 7) {
            case 0:                                 //  a random byte
                if (size)
                    bytes [position] = (uint8_t) s_random (state);
                break;
            case 1:                                 //  one bit
                if (size)
                    bytes [position] ^= (uint8_t) (1 << (s_random (state) % 8));
                break;
            case 2:                                 //  truncate
                size = position;
                break;
            case 3: {                               //  extend
                size_t more = 1 + (size_t) (s_random (state) % 8);
                for (; more && size < capacity; more--)
                    bytes [size++] = (uint8_t) s_random (state);
                break;
            }
            case 4:                                 //  a boundary value
                if (size)
                    bytes [position] = (uint8_t []) { 0, 1, 0x7F, 0x80, 0xFF, 64, 65 } [s_random (state) % 7];
                break;
            case 5:                                 //  delete a byte
                if (size) {
                    memmove (bytes + position, bytes + position + 1, size - position - 1);
                    size--;
                }
                break;
            default:                                //  insert a byte
                if (size < capacity) {
                    memmove (bytes + position + 1, bytes + position, size - position);
                    bytes [position] = (uint8_t) s_random (state);
                    size++;
                }
                break;
        }
    }
    return size;
}

//  Runs every payload decoder over a frame; a payload that decodes must
//  encode back to the same bytes. Returns the number of mismatches.
static int
s_check_payload_decoders (zframe_t *frame)
{
    int mismatches = 0;
    zlist_t *args;
    uint8_t *data;
    size_t size;
    zc_schedule_spec_t schedule;
    if (zc_wire_req_payload_decode (frame, &args, &data, &size) == 0) {
        mismatches += zc_wire_req_payload_schedule (frame, &schedule) != 0;
        zframe_t *again = zc_wire_req_payload_scheduled (args, data, size, &schedule);
        mismatches += !zframe_eq (again, frame);
        zframe_destroy (&again);
        zlist_destroy (&args);
        free (data);
    }
    else
        mismatches += args != NULL || data != NULL || size != 0
                    || zc_wire_req_payload_schedule (frame, &schedule) == 0;
    zc_result_t *result;
    if (zc_wire_result_payload_decode (frame, &result) == 0) {
        zframe_t *again = zc_wire_result_payload (result);
        mismatches += !zframe_eq (again, frame);
        zframe_destroy (&again);
        zc_result_destroy (&result);
    }
    else
        mismatches += result != NULL;
    zc_node_entry_t *entries;
    size_t count;
    if (zc_wire_nodes_payload_decode (frame, &entries, &count) == 0) {
        zframe_t *again = zc_wire_nodes_payload (entries, count);
        mismatches += !zframe_eq (again, frame);
        zframe_destroy (&again);
        free (entries);
    }
    else
        mismatches += entries != NULL || count != 0;
    zc_interest_entry_t *interest;
    if (zc_wire_interest_payload_decode (frame, &interest, &count) == 0) {
        zframe_t *again = zc_wire_interest_payload (interest, count);
        mismatches += !zframe_eq (again, frame);
        zframe_destroy (&again);
        free (interest);
    }
    else
        mismatches += interest != NULL || count != 0;
    zc_pub_payload_t pub;
    if (zc_wire_pub_payload_decode (frame, &pub) == 0) {
        zframe_t *again = zc_wire_pub_payload (&pub);
        mismatches += !zframe_eq (again, frame);
        zlist_t *list = zlist_new ();
        for (size_t index = 0; index < pub.count; index++)
            zlist_append (list, zframe_new (pub.item [index].data, pub.item [index].size));
        zframe_t *items = zc_wire_pub_items (list);
        while (zlist_size (list)) {
            zframe_t *item = zlist_pop (list);
            zframe_destroy (&item);
        }
        zlist_destroy (&list);
        mismatches += !items || zframe_size (items) != pub.covered_size
                    || memcmp (zframe_data (items), pub.covered, pub.covered_size) != 0;
        zframe_destroy (&items);
        zframe_destroy (&again);
        zc_wire_pub_payload_clear (&pub);
    }
    else
        mismatches += pub.item != NULL || pub.count != 0;
    return mismatches;
}

//  Schedules: the REQ payload's section (the payload without one still
//  reads the same), a job record's section and the schedule record.
static int
s_test_schedules (void)
{
    ZC_TEST_BEGIN;
    zc_schedule_spec_t limits [] = {
        { 1, 1 }, { 1, ZC_SCHEDULE_MAX_RUNS }, { ZC_SCHEDULE_MAX_SPAN, 1 }, { 300, 8640 },
        { 0, 5 }, { 1, 0 }, { 1, ZC_SCHEDULE_MAX_RUNS + 1 }, { ZC_SCHEDULE_MAX_SPAN + 1, 1 },
        { 86400, 31 }, { 3600, 721 }
    };
    for (size_t index = 0; index < sizeof limits / sizeof limits [0]; index++)
        ZC_CHECK (zc_schedule_spec_valid (&limits [index]) == (index < 4));

    zlist_t *args = zlist_new ();
    zlist_append (args, "date");
    zc_schedule_spec_t schedule = { .interval = 60, .count = 24 }, got;
    zframe_t *plain = zc_wire_req_payload (args, (const uint8_t *) "in", 2);
    zframe_t *frame = zc_wire_req_payload_scheduled (args, (const uint8_t *) "in", 2, &schedule);
    const uint8_t section [] = { 1, 0, 0, 0, 60, 0, 0, 0, 24 };
    ZC_CHECK (frame && zframe_size (frame) == zframe_size (plain) + sizeof section
              && memcmp (zframe_data (frame), zframe_data (plain), zframe_size (plain)) == 0
              && memcmp (zframe_data (frame) + zframe_size (plain), section, sizeof section) == 0);
    ZC_CHECK (zc_wire_req_payload_schedule (frame, &got) == 0 && got.interval == 60 && got.count == 24);
    ZC_CHECK (zc_wire_req_payload_schedule (plain, &got) == 0 && got.count == 0);
    zlist_t *args_got;
    uint8_t *data;
    size_t size;
    ZC_CHECK (zc_wire_req_payload_decode (frame, &args_got, &data, &size) == 0);
    ZC_CHECK (args_got && zlist_size (args_got) == 1 && streq (zlist_first (args_got), "date")
              && size == 2 && memcmp (data, "in", 2) == 0);
    zlist_destroy (&args_got);
    free (data);
    //  An empty schedule is no section; one out of range is not encoded.
    zc_schedule_spec_t none = { 0 }, bad = { .interval = 0, .count = 3 };
    zframe_t *again = zc_wire_req_payload_scheduled (args, (const uint8_t *) "in", 2, &none);
    ZC_CHECK (again && zframe_eq (again, plain));
    zframe_destroy (&again);
    ZC_CHECK (zc_wire_req_payload_scheduled (args, NULL, 0, &bad) == NULL);
    //  Malformed sections: an unknown kind, out of range, cut, or more after it.
    size_t base = zframe_size (plain);
    struct { uint8_t bytes [12]; size_t size; } wrong [] = {
        { { 2, 0, 0, 0, 60, 0, 0, 0, 24 }, 9 },
        { { 1, 0, 0, 0, 0, 0, 0, 0, 24 }, 9 },
        { { 1, 0, 0, 0, 60, 0, 0, 0, 0 }, 9 },
        { { 1, 0, 0, 0, 1, 0, 0, 0x27, 0x11 }, 9 },       //  10001 runs
        { { 1, 0, 0, 0, 60, 0, 0, 0 }, 8 },
        { { 1 }, 1 },
        { { 1, 0, 0, 0, 60, 0, 0, 0, 24, 0 }, 10 },
    };
    for (size_t index = 0; index < sizeof wrong / sizeof wrong [0]; index++) {
        zframe_t *bent = zframe_new (NULL, base + wrong [index].size);
        memcpy (zframe_data (bent), zframe_data (plain), base);
        memcpy (zframe_data (bent) + base, wrong [index].bytes, wrong [index].size);
        got.count = 7;
        ZC_CHECK (zc_wire_req_payload_schedule (bent, &got) == -1 && got.count == 0);
        ZC_CHECK (zc_wire_req_payload_decode (bent, &args_got, &data, &size) == -1 && !args_got);
        zframe_destroy (&bent);
    }
    //  The schedule reader walks the arguments as the decoder does.
    zframe_t *nul = zframe_new ("\x01\x00\x00\x00\x03" "a\0b" "\0\0\0\0", 12);
    ZC_CHECK (zc_wire_req_payload_schedule (nul, &got) == -1);
    ZC_CHECK (zc_wire_req_payload_schedule (NULL, &got) == -1);
    zframe_destroy (&nul);
    zframe_destroy (&plain);
    zframe_destroy (&frame);
    zlist_destroy (&args);

    //  A job record keeps the run of a schedule a job is; its reply
    //  section is written then even for the default reply method.
    zc_job_record_t job = {
        .state = ZC_STATE_SCHEDULED, .method = ZC_METHOD_EXEC, .node = "web-1",
        .expire = 86400, .schedule = { .interval = 5, .count = 12 }, .run = 11
    };
    frame = zc_wire_job_record (&job);
    zc_job_record_t job_back;
    ZC_CHECK (frame && zc_wire_job_record_decode (frame, &job_back) == 0);
    ZC_CHECK (job_back.state == ZC_STATE_SCHEDULED && job_back.schedule.interval == 5
              && job_back.schedule.count == 12 && job_back.run == 11
              && job_back.reply.method == ZC_REPLY_CONSOLE && !job_back.reply_pending);
    zframe_destroy (&frame);
    job.run = 12;
    ZC_CHECK (zc_wire_job_record (&job) == NULL);
    job.run = 0;
    job.schedule.count = 0;
    frame = zc_wire_job_record (&job);
    ZC_CHECK (frame && zc_wire_job_record_decode (frame, &job_back) == 0 && job_back.schedule.count == 0);
    zframe_destroy (&frame);

    //  The schedule record.
    zc_schedule_record_t record = {
        .method = ZC_METHOD_HTTP_GET, .method_timeout = 30, .expire = 600,
        .schedule = { .interval = 10, .count = 6 }, .next = 2, .start_ms = 1700000000123ULL,
        .payload = zframe_new ("p", 1)
    };
    frame = zc_wire_schedule_record (&record);
    zc_schedule_record_t record_back;
    ZC_CHECK (frame && zc_wire_schedule_record_decode (frame, &record_back) == 0);
    ZC_CHECK (record_back.method == ZC_METHOD_HTTP_GET && record_back.method_timeout == 30
              && record_back.expire == 600 && record_back.schedule.interval == 10
              && record_back.schedule.count == 6 && record_back.next == 2
              && record_back.start_ms == 1700000000123ULL
              && record_back.payload && zframe_streq (record_back.payload, "p"));
    zframe_destroy (&record_back.payload);
    for (size_t cut = 0; frame && cut < zframe_size (frame); cut++) {
        zframe_t *short_one = zframe_new (zframe_data (frame), cut);
        ZC_CHECK (zc_wire_schedule_record_decode (short_one, &record_back) == -1 && !record_back.payload);
        zframe_destroy (&short_one);
    }
    zframe_destroy (&frame);
    record.next = 7;
    ZC_CHECK (zc_wire_schedule_record (&record) == NULL);
    zframe_destroy (&record.payload);
    return ZC_TEST_END;
}

//  Storage records round-trip, and every truncation of them is refused.
static int
s_test_records (void)
{
    ZC_TEST_BEGIN;
    zc_job_record_t job = {
        .state = ZC_STATE_SENT, .method = ZC_METHOD_EXEC, .node = "web-1",
        .tries = 2, .retries = 30, .method_timeout = 30, .expire = 86400,
        .ack_timeout_ms = 10000, .retry_wait_ms = 2000,
        .payload = zframe_new ("args", 4), .result = NULL,
        .relay = "gw1", .custody_for = "", .result_delivered = true
    };
    zframe_t *frame = zc_wire_job_record (&job);
    zc_job_record_t back;
    ZC_CHECK (frame && zc_wire_job_record_decode (frame, &back) == 0);
    ZC_CHECK (back.state == ZC_STATE_SENT && back.tries == 2 && back.retries == 30
              && back.expire == 86400 && back.ack_timeout_ms == 10000 && back.retry_wait_ms == 2000);
    ZC_CHECK_STR (back.node, "web-1");
    ZC_CHECK_STR (back.relay, "gw1");
    ZC_CHECK (back.custody_for [0] == 0 && back.result_delivered);
    ZC_CHECK (back.payload && zframe_streq (back.payload, "args") && back.result == NULL);
    ZC_CHECK (back.reply.method == ZC_REPLY_CONSOLE && !back.reply_pending && !back.reply.args);
    zframe_destroy (&back.payload);
    //  Without a reply method the record ends there, as older versions
    //  wrote it; with one, its reply section follows.
    size_t plain = frame? zframe_size (frame): 0;
    zframe_destroy (&frame);
    job.reply.method = ZC_REPLY_EXEC;
    job.reply.file_name = (char *) "f";
    job.reply.args = zlist_new ();
    zlist_append (job.reply.args, "/bin/cat");
    zlist_append (job.reply.args, "{{DATA}}");
    job.reply_pending = true;
    frame = zc_wire_job_record (&job);
    ZC_CHECK (frame && zc_wire_job_record_decode (frame, &back) == 0);
    ZC_CHECK (back.reply.method == ZC_REPLY_EXEC && back.reply_pending);
    ZC_CHECK (back.reply.directory == NULL && back.reply.file_name && streq (back.reply.file_name, "f"));
    ZC_CHECK (back.reply.args && zlist_size (back.reply.args) == 2
              && streq (zlist_first (back.reply.args), "/bin/cat")
              && streq (zlist_next (back.reply.args), "{{DATA}}"));
    ZC_CHECK_STR (back.relay, "gw1");
    zframe_destroy (&back.payload);
    zc_reply_spec_clear (&back.reply);
    //  Every truncation is refused, but for a record without the custody
    //  fields (here 1 + 3, 1 and 1 bytes), the result layout (1) and the
    //  reply section, as older versions wrote them: a record ends after
    //  any of those.
    size_t older = plain - 7, newer = plain - 1;
    for (size_t size = 0; frame && size < zframe_size (frame); size++) {
        zframe_t *cut = zframe_new (zframe_data (frame), size);
        bool valid = size == older || size == newer || size == plain;
        ZC_CHECK (zc_wire_job_record_decode (cut, &back) == (valid? 0: -1));
        if (size == older)
            ZC_CHECK (back.relay [0] == 0 && back.custody_for [0] == 0 && !back.result_delivered);
        if (valid) {
            ZC_CHECK (back.reply.method == ZC_REPLY_CONSOLE && !back.reply_pending);
            zframe_destroy (&back.payload);
        }
        if (size == newer)
            ZC_CHECK_STR (back.relay, "gw1");
        zframe_destroy (&cut);
    }
    zframe_destroy (&frame);
    zframe_destroy (&job.payload);
    zlist_destroy (&job.reply.args);
    job.reply = (zc_reply_spec_t) { .method = ZC_REPLY_CONSOLE };
    job.reply_pending = false;
    //  The result of a record without the result layout gets the HTTP
    //  status it did not have (0), unless it is a relay's sealed envelope.
    zc_result_t *stored = zc_result_new ();
    stored->state = ZC_STATE_DONE;
    stored->out = (uint8_t *) zc_strdup ("old");
    stored->out_size = 3;
    zframe_t *current = zc_wire_result_payload (stored);
    zc_result_destroy (&stored);
    const char *custody [2] = { "", "o1" };
    for (int index = 0; index < 2; index++) {
        job.result = zframe_new (zframe_data (current), zframe_size (current) - 2);
        snprintf (job.custody_for, sizeof job.custody_for, "%s", custody [index]);
        frame = zc_wire_job_record (&job);
        zframe_t *cut = zframe_new (zframe_data (frame), zframe_size (frame) - 1);
        ZC_CHECK (zc_wire_job_record_decode (cut, &back) == 0);
        ZC_CHECK (back.result && zframe_eq (back.result, index? job.result: current));
        zframe_destroy (&back.payload);
        zframe_destroy (&back.result);
        zframe_destroy (&cut);
        zframe_destroy (&frame);
        zframe_destroy (&job.result);
    }
    ZC_CHECK (zc_wire_result_payload_decode (current, &stored) == 0 && stored->out_size == 3);
    zc_result_destroy (&stored);

    zc_task_record_t task = {
        .state = ZC_TASK_RUNNING, .reply_acked = false, .method = ZC_METHOD_EXEC,
        .method_timeout = 5, .expire = 60, .pgid = 4242, .start_ticks = 123456789,
        .payload = NULL, .result = zframe_new ("result", 6)
    };
    frame = zc_wire_task_record (&task);
    zc_task_record_t task_back;
    ZC_CHECK (frame && zc_wire_task_record_decode (frame, &task_back) == 0);
    ZC_CHECK (task_back.state == ZC_TASK_RUNNING && task_back.pgid == 4242
              && task_back.start_ticks == 123456789 && task_back.expire == 60);
    ZC_CHECK (task_back.payload == NULL && task_back.result && zframe_streq (task_back.result, "result"));
    zframe_destroy (&task_back.result);
    zframe_t *extended = zframe_new (NULL, zframe_size (frame) + 1);
    memcpy (zframe_data (extended), zframe_data (frame), zframe_size (frame));
    ZC_CHECK (zc_wire_task_record_decode (extended, &task_back) == -1);
    zframe_destroy (&extended);
    //  An older task record's result gets the HTTP status it did not
    //  have; an unknown result layout is refused.
    zframe_destroy (&task.result);
    task.result = zframe_new (zframe_data (current), zframe_size (current) - 2);
    zframe_t *older_task = zc_wire_task_record (&task);
    zframe_t *cut = zframe_new (zframe_data (older_task), zframe_size (older_task) - 1);
    ZC_CHECK (zc_wire_task_record_decode (cut, &task_back) == 0);
    ZC_CHECK (task_back.result && zframe_eq (task_back.result, current));
    zframe_destroy (&task_back.result);
    zframe_destroy (&cut);
    zframe_data (older_task) [zframe_size (older_task) - 1] = 2;
    ZC_CHECK (zc_wire_task_record_decode (older_task, &task_back) == -1);
    zframe_destroy (&older_task);
    zframe_destroy (&current);
    //  A peek reads the fixed fields only, and refuses a cut header.
    ZC_CHECK (zc_wire_task_record_peek (zframe_data (frame), zframe_size (frame), &task_back) == 0);
    ZC_CHECK (task_back.state == ZC_TASK_RUNNING && !task_back.reply_acked && task_back.expire == 60
              && task_back.start_ticks == 123456789 && !task_back.payload && !task_back.result);
    ZC_CHECK (zc_wire_task_record_peek (zframe_data (frame), 23, &task_back) == -1);
    uint8_t bad_state [24] = { 0 };
    memcpy (bad_state, zframe_data (frame), sizeof bad_state);
    bad_state [1] = ZC_TASK_STARTING + 1;
    ZC_CHECK (zc_wire_task_record_peek (bad_state, sizeof bad_state, &task_back) == -1);
    zframe_destroy (&frame);
    zframe_destroy (&task.result);

    zc_node_entry_t entry = { .name = "db1", .online = true, .last_seen = 1700000000, .via = "hub1" };
    frame = zc_wire_node_record (&entry);
    zc_node_entry_t entry_back;
    ZC_CHECK (frame && zc_wire_node_record_decode (frame, &entry_back) == 0);
    ZC_CHECK (streq (entry_back.name, "db1") && entry_back.online
              && entry_back.last_seen == 1700000000 && streq (entry_back.via, "hub1")
              && !entry_back.facts);
    //  A record of an older release, without facts, still reads.
    zframe_t *old_record = zframe_new (zframe_data (frame), zframe_size (frame) - 2);
    ZC_CHECK (zc_wire_node_record_decode (old_record, &entry_back) == 0 && streq (entry_back.name, "db1")
              && !entry_back.facts && entry_back.facts_size == 0);
    zframe_destroy (&old_record);
    zframe_destroy (&frame);
    //  With facts: kept, pointing into the record; a bad set is refused.
    const uint8_t facts [] = { 1, 1, 'a', 0, 1, 'b', 0 };
    entry.facts = facts;
    entry.facts_size = sizeof facts;
    frame = zc_wire_node_record (&entry);
    ZC_CHECK (frame && zc_wire_node_record_decode (frame, &entry_back) == 0);
    ZC_CHECK (entry_back.facts_size == sizeof facts && entry_back.facts
              && memcmp (entry_back.facts, facts, sizeof facts) == 0);
    zframe_data (frame) [zframe_size (frame) - 3] = '-';        //  key "-"
    ZC_CHECK (zc_wire_node_record_decode (frame, &entry_back) == -1 && !entry_back.facts);
    zframe_destroy (&frame);

    return ZC_TEST_END;
}

//  ACK payloads: more job IDs, 16 bytes each, 1 to ZC_WIRE_MAX_ACK_IDS.
static int
s_test_ack_ids (void)
{
    ZC_TEST_BEGIN;
    zc_id_t acked [3];
    for (int index = 0; index < 3; index++)
        zc_id_generate (&acked [index]);
    zc_wire_t *wire = zc_wire_new (ZC_MSG_ACK);
    zlist_append (wire->to, "n1");
    wire->payload = zc_wire_ids_payload (acked, 3);
    zmsg_t *msg = zc_wire_encode (wire);
    ZC_CHECK (msg && zmsg_size (msg) == 1);
    zc_wire_t *got = msg? zc_wire_decode (msg, zmsg_first (msg), NULL): NULL;
    zc_id_t *ids = (zc_id_t *) &s_sentinel;
    size_t id_count = 99;
    ZC_CHECK (got && zc_wire_ids_payload_decode (got->payload, &ids, &id_count) == 0);
    ZC_CHECK (id_count == 3 && ids && memcmp (ids, acked, sizeof acked) == 0);
    free (ids);
    zc_wire_destroy (&got);
    zmsg_destroy (&msg);
    zc_wire_destroy (&wire);
    ZC_CHECK (zc_wire_ids_payload (acked, 0) == NULL);
    ZC_CHECK (zc_wire_ids_payload (acked, ZC_WIRE_MAX_ACK_IDS + 1) == NULL);
    size_t bad_sizes [] = { 0, 15, 17, 16 * (ZC_WIRE_MAX_ACK_IDS + 1) };
    uint8_t *zeros = zc_calloc (1, 16 * (ZC_WIRE_MAX_ACK_IDS + 1));
    for (size_t index = 0; index < sizeof bad_sizes / sizeof bad_sizes [0]; index++) {
        zframe_t *frame = zframe_new (zeros, bad_sizes [index]);
        ids = (zc_id_t *) &s_sentinel;
        id_count = 99;
        ZC_CHECK (zc_wire_ids_payload_decode (frame, &ids, &id_count) == -1);
        ZC_CHECK (ids == NULL && id_count == 0);
        zframe_destroy (&frame);
    }
    free (zeros);
    ids = (zc_id_t *) &s_sentinel;
    ZC_CHECK (zc_wire_ids_payload_decode (NULL, &ids, &id_count) == -1 && ids == NULL);
    return ZC_TEST_END;
}

//  A REQ flagged TAGS carries one tag per target, and a copy for some of
//  the targets only theirs.
static int
s_test_tags (void)
{
    ZC_TEST_BEGIN;
    zc_wire_t *wire = zc_wire_new (ZC_MSG_REQ);
    wire->flags = ZC_FLAG_TAGS;
    wire->payload = zframe_new ("pay", 3);
    uint8_t tag1 [ZC_WIRE_TAG_SIZE], tag2 [ZC_WIRE_TAG_SIZE];
    memset (tag1, 1, sizeof tag1);
    memset (tag2, 2, sizeof tag2);
    zlist_append (wire->to, "n1");
    zlist_append (wire->to, "n2");
    zc_wire_set_tag (wire, "n1", tag1);
    zc_wire_set_tag (wire, "n2", tag2);
    zmsg_t *msg = zc_wire_encode (wire);
    ZC_CHECK (msg && zframe_size (zmsg_first (msg)) > 2 * ZC_WIRE_TAG_SIZE);
    zc_wire_t *got = msg? zc_wire_decode (msg, zmsg_first (msg), NULL): NULL;
    ZC_CHECK (got && zc_wire_tag (got, "n1") && memcmp (zc_wire_tag (got, "n1"), tag1, sizeof tag1) == 0);
    ZC_CHECK (got && zc_wire_tag (got, "n2") && memcmp (zc_wire_tag (got, "n2"), tag2, sizeof tag2) == 0);
    ZC_CHECK (got && zframe_streq (got->payload, "pay"));
    size_t both = msg? zframe_size (zmsg_first (msg)): 0;
    zmsg_destroy (&msg);
    //  A copy for n2 alone carries only n2's tag.
    if (got) {
        zlist_t *all = got->to;
        got->to = zlist_new ();
        zlist_autofree (got->to);
        zlist_append (got->to, "n2");
        msg = zc_wire_encode (got);
        zlist_destroy (&got->to);
        got->to = all;
        zc_wire_t *one = msg? zc_wire_decode (msg, zmsg_first (msg), NULL): NULL;
        ZC_CHECK (one && !zc_wire_tag (one, "n1") && zc_wire_tag (one, "n2"));
        ZC_CHECK (msg && zframe_size (zmsg_first (msg)) == both - ZC_WIRE_TAG_SIZE - 3);
        zc_wire_destroy (&one);
        zmsg_destroy (&msg);
    }
    zc_wire_destroy (&got);
    //  A target without a tag cannot be encoded; a target named twice,
    //  or tags cut short, cannot be decoded.
    zlist_append (wire->to, "n3");
    ZC_CHECK (zc_wire_encode (wire) == NULL);
    zlist_remove (wire->to, zlist_last (wire->to));
    zframe_destroy (&wire->payload);
    wire->payload = zframe_new (NULL, 0);       //  the tags end the frame
    msg = zc_wire_encode (wire);
    const char *reason = NULL;
    if (msg) {
        zframe_t *frame = zmsg_first (msg);
        zframe_t *short_frame = zframe_new (zframe_data (frame), zframe_size (frame) - 1);
        zmsg_t *cut = zmsg_new ();
        zmsg_append (cut, &short_frame);
        ZC_CHECK (zc_wire_decode (cut, zmsg_first (cut), &reason) == NULL);
        ZC_CHECK_STR (reason, "truncated tags");
        zmsg_destroy (&cut);
    }
    zmsg_destroy (&msg);
    zlist_append (wire->to, "n1");
    msg = zc_wire_encode (wire);
    ZC_CHECK (msg && zc_wire_decode (msg, zmsg_first (msg), &reason) == NULL);
    ZC_CHECK_STR (reason, "a tagged REQ names a target twice");
    zmsg_destroy (&msg);
    zc_wire_destroy (&wire);
    return ZC_TEST_END;
}

//  Relayed messages (flags CUSTODY, RELAYED) carry the other party's names.
static int
s_test_relay (void)
{
    ZC_TEST_BEGIN;
    uint8_t types [] = { ZC_MSG_REQ, ZC_MSG_ACK, ZC_MSG_STARTED, ZC_MSG_REPLY };
    for (size_t index = 0; index < sizeof types; index++) {
        zc_wire_t *wire = zc_wire_new ((zc_msg_type_t) types [index]);
        wire->flags = index % 2? ZC_FLAG_CUSTODY: ZC_FLAG_RELAYED;
        zlist_append (wire->to, "gw1");
        zlist_append (wire->names, "s1");
        zlist_append (wire->names, "s2");
        if (s_has_payload (wire->type, 0))
            wire->payload = zframe_new ("pay", 3);
        zmsg_t *msg = zc_wire_encode (wire);
        zc_wire_t *got = msg? zc_wire_decode (msg, zmsg_first (msg), NULL): NULL;
        ZC_CHECK (got && got->flags == wire->flags && s_lists_equal (got->names, wire->names));
        ZC_CHECK (got && (!wire->payload || zframe_eq (got->payload, wire->payload)));
        zc_wire_destroy (&got);
        //  The same bytes without the flag: the names are trailing bytes
        //  (or, before a payload, part of it).
        if (msg && !s_has_payload (wire->type, 0)) {
            uint8_t *bytes = zframe_data (zmsg_first (msg));
            bytes [3] = 0;
            const char *reason = NULL;
            got = zc_wire_decode (msg, zmsg_first (msg), &reason);
            ZC_CHECK (wire->type == ZC_MSG_ACK? got && got->payload: got == NULL);
            zc_wire_destroy (&got);
        }
        zmsg_destroy (&msg);
        //  A relay flag with no names: refused both ways.
        zlist_purge (wire->names);
        ZC_CHECK (zc_wire_encode (wire) == NULL);
        wire->flags = 0;
        msg = zc_wire_encode (wire);
        uint8_t *bytes = msg? zframe_data (zmsg_first (msg)): NULL;
        if (bytes)
            bytes [3] = ZC_FLAG_CUSTODY;
        const char *reason = NULL;
        ZC_CHECK (msg && zc_wire_decode (msg, zmsg_first (msg), &reason) == NULL);
        ZC_CHECK (reason && (streq (reason, "bad relay names")));
        zmsg_destroy (&msg);
        zc_wire_destroy (&wire);
    }
    return ZC_TEST_END;
}

//  An INTEREST payload of two entries.
static zframe_t *
s_sample_interest_payload (void)
{
    zc_interest_entry_t entries [2] = {
        { .hub = "site1", .pattern = "logs.>", .online = true, .via = "hub0>site1" },
        { .hub = "hub0", .pattern = "$sys.online.*", .online = false, .via = "" }
    };
    return zc_wire_interest_payload (entries, 2);
}

//  A signed PUB payload of two items, one empty.
static zframe_t *
s_sample_pub_payload (void)
{
    zc_pub_payload_t payload = { .mode = 1, .items = zlist_new () };
    memset (payload.signature, 0x5A, sizeof payload.signature);
    zlist_append (payload.items, zframe_new ("hello", 5));
    zlist_append (payload.items, zframe_new (NULL, 0));
    zframe_t *frame = zc_wire_pub_payload (&payload);
    zc_wire_pub_payload_clear (&payload);
    return frame;
}

//  PUB, SUB, UNSUB and INTEREST: their fields and payloads, and what is
//  refused.
static int
s_test_pubsub (void)
{
    ZC_TEST_BEGIN;
    //  INTEREST entries round-trip; a bad pattern is refused both ways.
    zframe_t *frame = s_sample_interest_payload ();
    zc_interest_entry_t *entries = NULL;
    size_t count = 0;
    ZC_CHECK (frame && zc_wire_interest_payload_decode (frame, &entries, &count) == 0 && count == 2);
    ZC_CHECK (entries && streq (entries [0].hub, "site1") && streq (entries [0].pattern, "logs.>")
           && entries [0].online && streq (entries [0].via, "hub0>site1"));
    ZC_CHECK (entries && streq (entries [1].pattern, "$sys.online.*") && !entries [1].online
           && streq (entries [1].via, ""));
    if (entries) {
        strcpy (entries [1].pattern, "a.>.b");
        ZC_CHECK (zc_wire_interest_payload (entries, 2) == NULL);
    }
    free (entries);
    for (size_t cut = 0; frame && cut < zframe_size (frame); cut++) {
        zframe_t *truncated = zframe_new (zframe_data (frame), cut);
        ZC_CHECK (zc_wire_interest_payload_decode (truncated, &entries, &count) == -1 && !entries);
        zframe_destroy (&truncated);
    }
    zframe_destroy (&frame);

    //  A PUB payload: the signature, the items, and the bytes it covers.
    frame = s_sample_pub_payload ();
    zc_pub_payload_t pub;
    ZC_CHECK (frame && zc_wire_pub_payload_decode (frame, &pub) == 0);
    ZC_CHECK (pub.mode == 1 && pub.signature [0] == 0x5A && pub.count == 2 && !pub.items);
    ZC_CHECK (pub.covered == zframe_data (frame) + 1 + ZC_WIRE_PUB_SIGNATURE
           && pub.covered_size == zframe_size (frame) - 1 - ZC_WIRE_PUB_SIGNATURE);
    ZC_CHECK (pub.item && pub.item [0].size == 5 && memcmp (pub.item [0].data, "hello", 5) == 0
           && pub.item [0].data == zframe_data (frame) + 1 + ZC_WIRE_PUB_SIGNATURE + 2 + 4
           && pub.item [1].size == 0);
    zc_wire_pub_payload_clear (&pub);
    for (size_t cut = 0; frame && cut < zframe_size (frame); cut++) {
        zframe_t *truncated = zframe_new (zframe_data (frame), cut);
        ZC_CHECK (zc_wire_pub_payload_decode (truncated, &pub) == -1 && !pub.item && !pub.count);
        zframe_destroy (&truncated);
    }
    zframe_destroy (&frame);
    //  No items, an unknown mode, over 16 KiB: refused.
    pub = (zc_pub_payload_t) { .mode = 0, .items = zlist_new () };
    ZC_CHECK (zc_wire_pub_payload (&pub) == NULL);
    zlist_append (pub.items, zframe_new (NULL, ZC_WIRE_MAX_WHOLE));
    ZC_CHECK (zc_wire_pub_payload (&pub) == NULL);
    zc_wire_pub_payload_clear (&pub);
    pub = (zc_pub_payload_t) { .mode = 2, .items = zlist_new () };
    zlist_append (pub.items, zframe_new ("x", 1));
    ZC_CHECK (zc_wire_pub_payload (&pub) == NULL);
    zc_wire_pub_payload_clear (&pub);
    uint8_t unknown_mode [] = { 2, 0, 1, 0, 0, 0, 1, 'x' };
    frame = zframe_new (unknown_mode, sizeof unknown_mode);
    ZC_CHECK (zc_wire_pub_payload_decode (frame, &pub) == -1);
    unknown_mode [0] = 0;
    zframe_reset (frame, unknown_mode, sizeof unknown_mode);
    ZC_CHECK (zc_wire_pub_payload_decode (frame, &pub) == 0 && pub.mode == 0 && pub.count == 1);
    //  Decoded items encode again (from the array) to the same bytes.
    zframe_t *again = zc_wire_pub_payload (&pub);
    ZC_CHECK (again && zframe_eq (again, frame));
    zframe_destroy (&again);
    zc_wire_pub_payload_clear (&pub);
    zframe_destroy (&frame);

    //  A PUB's subject must be a valid one, without wildcards; a SUB's
    //  patterns valid patterns, at most 1024.
    zc_wire_t *wire = zc_wire_new (ZC_MSG_PUB);
    wire->subject = zc_strdup ("a.*.c");
    wire->payload = s_sample_pub_payload ();
    ZC_CHECK (zc_wire_encode (wire) == NULL);
    free (wire->subject);
    wire->subject = zc_strdup ("a.b.c");
    zmsg_t *msg = zc_wire_encode (wire);
    ZC_CHECK (msg != NULL);
    //  The same bytes with a wildcard in the subject are refused.
    uint8_t *bytes = msg? zframe_data (zmsg_first (msg)): NULL;
    uint8_t *at = bytes? memmem (bytes, zframe_size (zmsg_first (msg)), "a.b.c", 5): NULL;
    if (at)
        at [2] = '*';
    const char *reason = NULL;
    ZC_CHECK (msg && zc_wire_decode (msg, zmsg_first (msg), &reason) == NULL);
    ZC_CHECK (reason && streq (reason, "bad PUB subject"));
    zmsg_destroy (&msg);
    zc_wire_destroy (&wire);
    wire = zc_wire_new (ZC_MSG_SUB);
    zlist_append (wire->patterns, "a..b");
    ZC_CHECK (zc_wire_encode (wire) == NULL);
    zlist_purge (wire->patterns);
    for (int index = 0; index <= ZC_WIRE_MAX_PATTERNS; index++)
        zlist_append (wire->patterns, "a.b");
    ZC_CHECK (zc_wire_encode (wire) == NULL);
    free (zlist_pop (wire->patterns));
    msg = zc_wire_encode (wire);
    zc_wire_t *got = msg? zc_wire_decode (msg, zmsg_first (msg), NULL): NULL;
    ZC_CHECK (got && zlist_size (got->patterns) == ZC_WIRE_MAX_PATTERNS);
    zc_wire_destroy (&got);
    zmsg_destroy (&msg);
    zc_wire_destroy (&wire);
    return ZC_TEST_END;
}

//  A HELLO may carry what its node advertises: a facts set, or nothing.
static int
s_test_hello_facts (void)
{
    ZC_TEST_BEGIN;
    zc_facts_t *facts = zc_facts_new ();
    zc_facts_set (facts, "env", "prod", NULL);
    zc_facts_add_function (facts, "machine-info", NULL);
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    strcpy (hello->name, "n1");
    hello->payload = zc_facts_encode (facts);
    zmsg_t *msg = zc_wire_encode (hello);
    zc_wire_t *got = msg? zc_wire_decode (msg, zmsg_first (msg), NULL): NULL;
    ZC_CHECK (got && streq (got->name, "n1") && got->payload && zframe_eq (got->payload, hello->payload));
    zc_wire_destroy (&got);
    zmsg_destroy (&msg);
    //  Without one, as every periodic HELLO goes.
    zframe_destroy (&hello->payload);
    msg = zc_wire_encode (hello);
    got = msg? zc_wire_decode (msg, zmsg_first (msg), NULL): NULL;
    ZC_CHECK (got && got->payload == NULL);
    zc_wire_destroy (&got);
    zmsg_destroy (&msg);
    //  Anything else is not sent.
    hello->payload = zframe_new ("\x01", 1);
    ZC_CHECK (zc_wire_encode (hello) == NULL);
    zc_wire_destroy (&hello);
    zc_facts_destroy (&facts);
    return ZC_TEST_END;
}

int
zc_wire_test (bool verbose)
{
    ZC_TEST_BEGIN;
    ZC_CHECK (s_test_hello_facts () == 0);
    ZC_CHECK (s_test_records () == 0);
    ZC_CHECK (s_test_schedules () == 0);
    ZC_CHECK (s_test_pubsub () == 0);
    ZC_CHECK (s_test_ack_ids () == 0);
    ZC_CHECK (s_test_relay () == 0);
    ZC_CHECK (s_test_tags () == 0);
    ZC_CHECK_STR (zc_wire_type_name (ZC_MSG_HELLO), "HELLO");
    ZC_CHECK_STR (zc_wire_type_name (ZC_MSG_PONG), "PONG");
    ZC_CHECK_STR (zc_wire_type_name (ZC_MSG_NOROUTE), "NOROUTE");
    ZC_CHECK_STR (zc_wire_type_name (0), "UNKNOWN");
    ZC_CHECK_STR (zc_wire_type_name (ZC_MSG_TYPE_COUNT), "UNKNOWN");

    //  A new message.
    zc_wire_t *wire = zc_wire_new (ZC_MSG_PING);
    ZC_CHECK (wire && wire->type == ZC_MSG_PING && wire->hops == ZC_WIRE_HOPS);
    ZC_CHECK (wire->flags == 0 && wire->from [0] == 0 && wire->payload == NULL);
    ZC_CHECK (zlist_size (wire->to) == 0 && zlist_size (wire->names) == 0);
    ZC_CHECK (zc_id_time_ms (&wire->id) > 1700000000000ULL);
    zc_wire_destroy (&wire);
    ZC_CHECK (wire == NULL);

    //  The exact bytes of a PING and of a REQ header.
    wire = zc_wire_new (ZC_MSG_PING);
    for (int index = 0; index < ZC_ID_SIZE; index++)
        wire->id.bytes [index] = (uint8_t) (index + 1);
    zlist_append (wire->to, "n1");
    zmsg_t *msg = zc_wire_encode (wire);
    const uint8_t ping [] = {
        0xC5, ZC_WIRE_VERSION, ZC_MSG_PING, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        0, 0, 1, 2, 'n', '1' };
    ZC_CHECK (msg && zmsg_size (msg) == 1);
    ZC_CHECK (msg && s_frame_is (zmsg_first (msg), ping, sizeof ping));
    zmsg_destroy (&msg);
    wire->type = ZC_MSG_REQ;
    strcpy (wire->from, "h");
    wire->method = ZC_METHOD_EXEC;
    wire->method_timeout = 0x01020304;
    wire->expire = 86400;
    wire->payload = zframe_new ("p", 1);
    msg = zc_wire_encode (wire);
    const uint8_t req [] = {
        0xC5, ZC_WIRE_VERSION, ZC_MSG_REQ, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        1, 'h', 0, 1, 2, 'n', '1', 1, 1, 2, 3, 4, 0, 1, 0x51, 0x80 };
    const uint8_t req_and_payload [] = {
        0xC5, ZC_WIRE_VERSION, ZC_MSG_REQ, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        1, 'h', 0, 1, 2, 'n', '1', 1, 1, 2, 3, 4, 0, 1, 0x51, 0x80, 'p' };
    ZC_CHECK (msg && zmsg_size (msg) == 1);
    ZC_CHECK (msg && s_frame_is (zmsg_first (msg), req_and_payload, sizeof req_and_payload));
    zmsg_destroy (&msg);
    zc_wire_destroy (&wire);

    //  Every type survives a round trip, after a routing id frame; the
    //  message keeps its frames.
    for (uint8_t type = 1; type < ZC_MSG_TYPE_COUNT; type++) {
        zc_wire_t *sent = s_sample (type);
        msg = zc_wire_encode (sent);
        ZC_CHECK (msg && zmsg_size (msg) == 1);
        if (!msg) {
            zc_wire_destroy (&sent);
            continue;
        }
        zmsg_pushstrf (msg, "routing-id");
        zframe_t *routing = zmsg_first (msg);
        const char *reason = "unset";
        zc_wire_t *got = zc_wire_decode (msg, zmsg_next (msg), &reason);
        ZC_CHECK (got != NULL && reason == NULL);
        ZC_CHECK (zmsg_size (msg) == 2 && zmsg_first (msg) == routing);
        if (got) {
            ZC_CHECK (got->type == type && got->flags == sent->flags && got->hops == 5);
            ZC_CHECK (zc_id_equal (&got->id, &sent->id));
            ZC_CHECK_STR (got->from, "hub-1");
            ZC_CHECK (s_lists_equal (got->to, sent->to));
            ZC_CHECK_STR (got->name, sent->name);
            ZC_CHECK (got->method == sent->method && got->method_timeout == sent->method_timeout
                   && got->expire == sent->expire);
            ZC_CHECK (got->online == sent->online && s_lists_equal (got->names, sent->names));
            ZC_CHECK (got->code == sent->code);
            if (type == ZC_MSG_ERROR)
                ZC_CHECK_STR (got->text, sent->text);
            else
                ZC_CHECK (got->text == NULL);
            ZC_CHECK (got->retain == sent->retain && s_lists_equal (got->patterns, sent->patterns));
            ZC_CHECK (got->seq == sent->seq);
            ZC_CHECK (got->role == sent->role
                   && memcmp (got->curve_key, sent->curve_key, 32) == 0
                   && memcmp (got->sign_key, sent->sign_key, 32) == 0);
            ZC_CHECK ((!got->subject && !sent->subject)
                   || (got->subject && sent->subject && streq (got->subject, sent->subject)));
            ZC_CHECK (s_has_payload (type, sent->flags)? zframe_eq (got->payload, sent->payload): !got->payload);
        }
        zc_wire_destroy (&got);
        zc_wire_destroy (&sent);
        zmsg_destroy (&msg);
    }
    //  ENROLL: every byte of its fixed fields counts; a role other than
    //  0 or 1, a byte short or a byte more is malformed.
    {
        zc_wire_t *enroll = s_sample (ZC_MSG_ENROLL);
        zmsg_t *good = zc_wire_encode (enroll);
        ZC_CHECK (good != NULL);
        enroll->role = 2;
        ZC_CHECK (zc_wire_encode (enroll) == NULL);
        zc_wire_destroy (&enroll);
        zframe_t *frame = good? zmsg_first (good): NULL;
        size_t size = frame? zframe_size (frame): 0;
        for (int round = 0; frame && round < 3; round++) {
            zframe_t *bad = zframe_new (NULL, size + 1);
            memcpy (zframe_data (bad), zframe_data (frame), size);
            zframe_data (bad) [size] = 0;
            size_t bad_size = round == 0? size - 1: size + 1;
            if (round == 2)
                zframe_data (bad) [size - 65] = 2;      //  the role byte
            zframe_t *cut = zframe_new (zframe_data (bad), round == 2? size: bad_size);
            zmsg_t *cut_msg = zmsg_new ();
            zmsg_append (cut_msg, &cut);
            const char *reason = NULL;
            zc_wire_t *got = zc_wire_decode (cut_msg, zmsg_first (cut_msg), &reason);
            ZC_CHECK (got == NULL && reason != NULL);
            if (verbose && reason)
                printf ("#   ENROLL %s: %s\n", round == 0? "a byte short": round == 1? "a byte more": "role 2", reason);
            zc_wire_destroy (&got);
            zmsg_destroy (&cut_msg);
            zframe_destroy (&bad);
        }
        zmsg_destroy (&good);
    }
    //  Empty from, no targets, empty ERROR text.
    wire = zc_wire_new (ZC_MSG_ERROR);
    wire->code = ZC_ERR_NOT_HELLO;
    msg = zc_wire_encode (wire);
    zc_wire_t *got = zc_wire_decode (msg, zmsg_first (msg), NULL);
    ZC_CHECK (got && got->from [0] == 0 && zlist_size (got->to) == 0 && got->code == ZC_ERR_NOT_HELLO);
    ZC_CHECK (got && got->text && streq (got->text, ""));
    zc_wire_destroy (&got);
    zmsg_destroy (&msg);
    zc_wire_destroy (&wire);

    //  The encoder refuses what the decoder would refuse.
    const char *bad_names [] = { "", "ALL", "-x", "a b", NULL };
    for (int index = 0; bad_names [index]; index++) {
        wire = zc_wire_new (ZC_MSG_ACK);
        zlist_append (wire->to, (void *) bad_names [index]);
        msg = zc_wire_encode (wire);
        ZC_CHECK (msg == NULL);
        zc_wire_destroy (&wire);
    }
    //  STREAM: a chunk has a payload and a number; its acknowledgment
    //  neither a payload nor number 0; a chunk is bulk, an ACK not.
    {
        zc_wire_t *chunk = zc_wire_new (ZC_MSG_STREAM);
        zlist_append (chunk->to, "o1");
        chunk->seq = 1;
        ZC_CHECK (zc_wire_encode (chunk) == NULL);
        chunk->payload = zc_wire_stream_payload (ZC_STREAM_STDERR, (const uint8_t *) "oops\n", 5);
        ZC_CHECK (zc_wire_is_bulk (chunk));
        zmsg_t *encoded = zc_wire_encode (chunk);
        zc_wire_t *decoded = encoded? zc_wire_decode (encoded, zmsg_first (encoded), NULL): NULL;
        int stream = 0;
        const uint8_t *bytes = NULL;
        size_t size = 0;
        ZC_CHECK (decoded && decoded->seq == 1
                  && zc_wire_stream_payload_decode (decoded->payload, &stream, &bytes, &size) == 0
                  && stream == ZC_STREAM_STDERR && size == 5 && memcmp (bytes, "oops\n", 5) == 0);
        zc_wire_destroy (&decoded);
        zmsg_destroy (&encoded);
        //  A chunk may be larger than a whole REQ, up to ZC_WIRE_MAX_STREAM.
        for (size_t extra = 0; extra < 2; extra++) {
            zframe_t *big = zframe_new (NULL, ZC_WIRE_MAX_STREAM + extra);
            memset (zframe_data (big), 0, zframe_size (big));
            zframe_t *small = chunk->payload;
            chunk->payload = big;
            encoded = zc_wire_encode (chunk);
            ZC_CHECK ((encoded != NULL) == (extra == 0));
            decoded = encoded? zc_wire_decode (encoded, zmsg_first (encoded), NULL): NULL;
            ZC_CHECK ((decoded != NULL) == (extra == 0));
            zc_wire_destroy (&decoded);
            zmsg_destroy (&encoded);
            zframe_destroy (&big);
            chunk->payload = small;
        }
        chunk->flags = ZC_FLAG_STREAM_ACK;
        ZC_CHECK (zc_wire_encode (chunk) == NULL);      //  an ACK carries no payload
        zframe_destroy (&chunk->payload);
        ZC_CHECK (!zc_wire_is_bulk (chunk));
        encoded = zc_wire_encode (chunk);
        ZC_CHECK (encoded);
        zmsg_destroy (&encoded);
        chunk->seq = 0;
        encoded = zc_wire_encode (chunk);
        const char *reason = NULL;
        decoded = encoded? zc_wire_decode (encoded, zmsg_first (encoded), &reason): NULL;
        ZC_CHECK (!decoded && reason && streq (reason, "STREAM seq 0"));
        zmsg_destroy (&encoded);
        zc_wire_destroy (&chunk);
        zframe_t *bad = zframe_new ("\x03x", 2);
        ZC_CHECK (zc_wire_stream_payload_decode (bad, &stream, &bytes, &size) == -1);
        zframe_destroy (&bad);
        bad = zframe_new (NULL, 0);
        ZC_CHECK (zc_wire_stream_payload_decode (bad, &stream, &bytes, &size) == -1);
        zframe_destroy (&bad);
        bad = zframe_new (NULL, ZC_STREAM_MAX_CHUNK + 2);
        zframe_data (bad) [0] = ZC_STREAM_STDOUT;
        ZC_CHECK (zc_wire_stream_payload_decode (bad, &stream, &bytes, &size) == -1);
        zframe_destroy (&bad);
    }
    wire = zc_wire_new (ZC_MSG_REQ);                //  no payload
    ZC_CHECK (zc_wire_encode (wire) == NULL);
    wire->type = ZC_MSG_PONG;                       //  unexpected payload
    wire->payload = zframe_new ("x", 1);
    ZC_CHECK (zc_wire_encode (wire) == NULL);
    zframe_destroy (&wire->payload);
    wire->type = ZC_MSG_HELLO;                      //  HELLO without a name
    ZC_CHECK (zc_wire_encode (wire) == NULL);
    strcpy (wire->from, "bad name");
    strcpy (wire->name, "n1");
    ZC_CHECK (zc_wire_encode (wire) == NULL);
    wire->from [0] = 0;
    wire->type = ZC_MSG_ERROR;                      //  text too long
    wire->text = zc_malloc (1026);
    memset (wire->text, 'e', 1025);
    wire->text [1025] = 0;
    ZC_CHECK (zc_wire_encode (wire) == NULL);
    wire->text [1024] = 0;
    msg = zc_wire_encode (wire);
    ZC_CHECK (msg != NULL);
    got = msg? zc_wire_decode (msg, zmsg_first (msg), NULL): NULL;
    ZC_CHECK (got && got->text && strlen (got->text) == 1024);
    zc_wire_destroy (&got);
    zmsg_destroy (&msg);
    zc_wire_destroy (&wire);

    //  Specific malformed headers. 'good' is a valid HELLO from "" to
    //  "n1" named "a".
    uint8_t good [] = {
        0xC5, ZC_WIRE_VERSION, ZC_MSG_HELLO, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        0, 0, 1, 2, 'n', '1', 1, 'a' };
    uint8_t bad [sizeof good + 8];
    ZC_CHECK_STR (s_decode_reason (good, sizeof good, NULL, 0, false), "ok");
    ZC_CHECK_STR (s_decode_reason (good, 20, NULL, 0, false), "header too short");
    ZC_CHECK_STR (s_decode_reason (good, 0, NULL, 0, false), "header too short");
    ZC_CHECK_STR (s_decode_reason (good, sizeof good, (const uint8_t *) "x", 1, true),
                  "bad HELLO facts");                //  a HELLO's payload is a facts set
    ZC_CHECK_STR (s_decode_reason (good, sizeof good, (const uint8_t *) "\0\0", 2, true), "ok");
    ZC_CHECK_STR (s_decode_reason (good, sizeof good, (const uint8_t *) "\0\0\0", 3, true),
                  "bad HELLO facts");
    memcpy (bad, good, sizeof good);
    bad [0] = 0xC6;
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "bad signature");
    memcpy (bad, good, sizeof good);
    bad [1] = 1;                                    //  version 1: payload in a second frame
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "unsupported version");
    bad [1] = 2;                                    //  version 2: no CREDIT, whole large payloads
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "unsupported version");
    bad [1] = ZC_WIRE_VERSION;
    bad [2] = 0;
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "unknown type");
    bad [2] = ZC_MSG_TYPE_COUNT;
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "unknown type");
    bad [2] = ZC_MSG_REQ;                           //  REQ fields missing
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "truncated REQ fields");
    bad [2] = ZC_MSG_HELLO;
    memcpy (bad + sizeof good, "!", 1);             //  one byte too many: not a facts set
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good + 1, NULL, 0, false), "bad HELLO facts");
    bad [2] = ZC_MSG_PONG;                          //  a type without a payload
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good + 1, NULL, 0, false), "trailing bytes in header");
    bad [2] = ZC_MSG_HELLO;
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good - 1, NULL, 0, false), "bad HELLO name");
    bad [sizeof good - 1] = '-';                    //  name "-"
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "bad HELLO name");
    bad [sizeof good - 1] = 0;                      //  name with a NUL
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "bad HELLO name");
    memcpy (bad, good, sizeof good);
    bad [21] = 65;                                  //  from longer than 64
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "bad from");
    memcpy (bad, good, sizeof good);
    bad [23] = 3;                                   //  three targets, two present
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "bad target list");
    memcpy (bad, good, sizeof good);
    bad [24] = 0;                                   //  empty target name
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "bad target list");
    memcpy (bad, good, sizeof good);
    bad [25] = '.';                                 //  target ".1"
    ZC_CHECK_STR (s_decode_reason (bad, sizeof good, NULL, 0, false), "bad target list");
    //  An ERROR whose text holds a NUL or is too long.
    uint8_t error [ZC_WIRE_HEADER_FIXED + 3 + 4 + 1100];
    memcpy (error, good, ZC_WIRE_HEADER_FIXED + 3);
    error [2] = ZC_MSG_ERROR;
    error [22] = error [23] = 0;                    //  no targets
    memcpy (error + 24, "\x00\x02\x00\x03" "a\0b", 7);
    ZC_CHECK_STR (s_decode_reason (error, 31, NULL, 0, false), "bad ERROR text");
    error [29] = 'c';
    ZC_CHECK_STR (s_decode_reason (error, 31, NULL, 0, false), "ok");
    memcpy (error + 26, "\x04\x01", 2);             //  1025 bytes
    memset (error + 28, 'x', 1025);
    ZC_CHECK_STR (s_decode_reason (error, 28 + 1025, NULL, 0, false), "bad ERROR text");
    memcpy (error + 26, "\x04\x00", 2);             //  1024 bytes
    ZC_CHECK_STR (s_decode_reason (error, 28 + 1024, NULL, 0, false), "ok");
    //  PRESENCE online must be 0 or 1.
    uint8_t presence [] = {
        0xC5, ZC_WIRE_VERSION, ZC_MSG_PRESENCE, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        0, 0, 0, 1, 0, 1, 2, 'n', '2' };
    ZC_CHECK_STR (s_decode_reason (presence, sizeof presence, NULL, 0, false), "ok");
    presence [24] = 2;
    ZC_CHECK_STR (s_decode_reason (presence, sizeof presence, NULL, 0, false), "PRESENCE online not 0 or 1");
    //  A payload over 64 MiB.
    zframe_t *frame;
    uint8_t nodes_header [] = {
        0xC5, ZC_WIRE_VERSION, ZC_MSG_NODES, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        0, 0, 0 };
    ZC_CHECK_STR (s_decode_reason (nodes_header, sizeof nodes_header, (const uint8_t *) "", 0, true), "ok");
    frame = zframe_new (NULL, sizeof nodes_header + ZC_WIRE_MAX_PAYLOAD + 1);
    memcpy (zframe_data (frame), nodes_header, sizeof nodes_header);
    msg = zmsg_new ();
    zmsg_append (msg, &frame);
    const char *reason = NULL;
    ZC_CHECK (zc_wire_decode (msg, zmsg_first (msg), &reason) == NULL);
    ZC_CHECK_STR (reason, "payload larger than 64 MiB");
    zmsg_destroy (&msg);
    //  A REQ or REPLY payload over 16 KiB travels in chunks; a chunk holds
    //  at most 16 KiB and its two counts.
    for (int chunked = 0; chunked < 2; chunked++) {
        zc_wire_t *large = zc_wire_new (ZC_MSG_REPLY);
        zlist_append (large->to, "o1");
        large->flags = chunked? ZC_FLAG_CHUNK: 0;
        size_t limit = ZC_WIRE_MAX_WHOLE + (chunked? 8: 0);
        large->payload = zframe_new (NULL, limit);
        memset (zframe_data (large->payload), 0, limit);
        msg = zc_wire_encode (large);
        ZC_CHECK (msg != NULL);
        zc_wire_t *back = msg? zc_wire_decode (msg, zmsg_first (msg), &reason): NULL;
        ZC_CHECK (back && zframe_size (back->payload) == limit);
        zc_wire_destroy (&back);
        zmsg_destroy (&msg);
        zframe_destroy (&large->payload);
        large->payload = zframe_new (NULL, limit + 1);
        memset (zframe_data (large->payload), 0, limit + 1);
        ZC_CHECK (zc_wire_encode (large) == NULL);
        //  What a version-2 peer (or a hostile one) would send: the
        //  header of a small one, then too many bytes.
        zframe_destroy (&large->payload);
        large->payload = zframe_new ("0123456789", 10);
        msg = zc_wire_encode (large);
        zframe_t *small = zmsg_pop (msg);
        zmsg_destroy (&msg);
        uint8_t *bytes = zc_calloc (1, limit + 1);
        msg = s_msg_of (zframe_data (small), zframe_size (small) - 10, bytes, limit + 1, true);
        free (bytes);
        zframe_destroy (&small);
        ZC_CHECK (zc_wire_decode (msg, zmsg_first (msg), &reason) == NULL);
        ZC_CHECK_STR (reason, "a payload over 16 KiB not in chunks");
        zmsg_destroy (&msg);
        zc_wire_destroy (&large);
    }
    //  CREDIT: a 64-bit count, nothing after it.
    zc_wire_t *credit = zc_wire_new (ZC_MSG_CREDIT);
    credit->credit = 0x0102030405060708ull;
    msg = zc_wire_encode (credit);
    zc_wire_destroy (&credit);
    credit = msg? zc_wire_decode (msg, zmsg_first (msg), &reason): NULL;
    ZC_CHECK (credit && credit->credit == 0x0102030405060708ull);
    zc_wire_destroy (&credit);
    if (msg) {
        zframe_t *whole = zmsg_pop (msg);
        zmsg_destroy (&msg);
        msg = s_msg_of (zframe_data (whole), zframe_size (whole) - 1, NULL, 0, false);
        ZC_CHECK (zc_wire_decode (msg, zmsg_first (msg), &reason) == NULL);
        ZC_CHECK_STR (reason, "truncated CREDIT count");
        zmsg_destroy (&msg);
        zframe_destroy (&whole);
    }
    //  A copy of a tagged REQ's header for one of its targets keeps only
    //  that target's tag.
    zc_wire_t *tagged = zc_wire_new (ZC_MSG_REQ);
    tagged->flags = ZC_FLAG_TAGS;
    tagged->method = 1;
    tagged->method_timeout = 30;
    tagged->expire = 600;
    uint8_t tag_a [ZC_WIRE_TAG_SIZE], tag_b [ZC_WIRE_TAG_SIZE];
    memset (tag_a, 0xA, sizeof tag_a);
    memset (tag_b, 0xB, sizeof tag_b);
    zlist_append (tagged->to, "a");
    zlist_append (tagged->to, "b");
    zc_wire_set_tag (tagged, "a", tag_a);
    zc_wire_set_tag (tagged, "b", tag_b);
    zc_wire_t *one = zc_wire_dup_header (tagged, "b");
    ZC_CHECK (zlist_size (one->to) == 1 && streq (zlist_first (one->to), "b"));
    ZC_CHECK (zc_wire_tag (one, "b") && memcmp (zc_wire_tag (one, "b"), tag_b, sizeof tag_b) == 0);
    ZC_CHECK (!zc_wire_tag (one, "a"));
    ZC_CHECK (one->method == 1 && one->method_timeout == 30 && one->expire == 600);
    ZC_CHECK (zc_id_equal (&one->id, &tagged->id));
    msg = zc_wire_encode (one);
    ZC_CHECK (msg == NULL);                         //  a REQ needs its payload
    zc_wire_destroy (&one);
    zc_wire_destroy (&tagged);

    //  Two frames, a frame not in the message, no frame.
    msg = s_msg_of (nodes_header, sizeof nodes_header, (const uint8_t *) "", 0, true);
    zmsg_addstr (msg, "extra");
    ZC_CHECK (zc_wire_decode (msg, zmsg_first (msg), &reason) == NULL);
    ZC_CHECK_STR (reason, "wrong number of frames");
    zframe_t *stranger = zframe_new (good, sizeof good);
    ZC_CHECK (zc_wire_decode (msg, stranger, &reason) == NULL);
    ZC_CHECK_STR (reason, "header frame not in the message");
    ZC_CHECK (zc_wire_decode (msg, NULL, &reason) == NULL);
    ZC_CHECK_STR (reason, "no header frame");
    zframe_destroy (&stranger);
    zmsg_destroy (&msg);

    //  REQ payloads.
    zlist_t *args = zlist_new ();
    zlist_autofree (args);
    zlist_append (args, "uptime");
    zlist_append (args, "");
    frame = zc_wire_req_payload (args, (const uint8_t *) "in\0put", 6);
    const uint8_t req_payload [] = {
        2, 0, 0, 0, 6, 'u', 'p', 't', 'i', 'm', 'e', 0, 0, 0, 0, 0, 0, 0, 6, 'i', 'n', 0, 'p', 'u', 't' };
    ZC_CHECK (s_frame_is (frame, req_payload, sizeof req_payload));
    zlist_t *args_got;
    uint8_t *data;
    size_t size;
    ZC_CHECK (zc_wire_req_payload_decode (frame, &args_got, &data, &size) == 0);
    ZC_CHECK (args_got && s_lists_equal (args_got, args));
    ZC_CHECK (size == 6 && data && memcmp (data, "in\0put", 6) == 0);
    zlist_destroy (&args_got);
    free (data);
    zframe_destroy (&frame);
    frame = zc_wire_req_payload (NULL, NULL, 0);    //  nothing at all
    ZC_CHECK (zc_wire_req_payload_decode (frame, &args_got, &data, &size) == 0);
    ZC_CHECK (args_got && zlist_size (args_got) == 0 && data == NULL && size == 0);
    zlist_destroy (&args_got);
    zframe_destroy (&frame);
    //  Limits: 16 arguments of 1 MiB pass; 17, or one byte more, do not.
    char *big = zc_malloc (ZC_WIRE_MAX_ARG + 2);
    memset (big, 'a', ZC_WIRE_MAX_ARG + 1);
    big [ZC_WIRE_MAX_ARG] = 0;
    while (zlist_size (args) < 16)
        zlist_append (args, big);
    frame = zc_wire_req_payload (args, NULL, 0);
    ZC_CHECK (frame && zc_wire_req_payload_decode (frame, &args_got, &data, &size) == 0);
    ZC_CHECK (args_got && zlist_size (args_got) == 16);
    zlist_destroy (&args_got);
    zframe_destroy (&frame);
    zlist_append (args, "x");
    ZC_CHECK (zc_wire_req_payload (args, NULL, 0) == NULL);
    zlist_destroy (&args);
    args = zlist_new ();
    big [ZC_WIRE_MAX_ARG] = 'a';
    big [ZC_WIRE_MAX_ARG + 1] = 0;
    zlist_append (args, big);
    ZC_CHECK (zc_wire_req_payload (args, NULL, 0) == NULL);
    zlist_destroy (&args);
    free (big);
    //  Malformed REQ payloads.
    struct { const char *bytes; size_t size; } bad_req [] = {
        { "", 0 },                                              //  empty
        { "\x11", 1 },                                          //  17 arguments
        { "\x01\x00\x00\x00\x03" "a\0b" "\0\0\0\0", 12 },       //  NUL in an argument
        { "\x01\x00\x10\x00\x01", 5 },                          //  argument over 1 MiB
        { "\x00\x00\x00\x00\x02" "a", 6 },                      //  data truncated
        { "\x00\x00\x00\x00\x00" "!", 6 },                      //  trailing byte
        { "\x01\x00\x00\x00\x01" "a", 6 },                      //  no data length
    };
    for (size_t index = 0; index < sizeof bad_req / sizeof bad_req [0]; index++) {
        frame = zframe_new (bad_req [index].bytes, bad_req [index].size);
        args_got = (zlist_t *) &s_sentinel;
        ZC_CHECK (zc_wire_req_payload_decode (frame, &args_got, &data, &size) == -1);
        ZC_CHECK (args_got == NULL && data == NULL && size == 0);
        zframe_destroy (&frame);
    }
    ZC_CHECK (zc_wire_req_payload_decode (NULL, &args_got, &data, &size) == -1);

    //  REPLY payloads.
    zc_result_t *result = zc_result_new ();
    result->state = ZC_STATE_DONE;
    result->exit_code = -2;
    result->signal = 9;
    result->stderr_truncated = true;
    result->started_ms = 1700000000123ULL;
    result->finished_ms = 1700000000456ULL;
    result->error = zc_strdup ("killed");
    result->out = (uint8_t *) zc_strdup ("hi\n");
    result->out_size = 3;
    result->http_status = 404;
    frame = zc_wire_result_payload (result);
    const uint8_t result_payload [] = {
        ZC_STATE_DONE, 0xFF, 0xFF, 0xFF, 0xFE, 9, 2,
        0, 0, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x7B, 0, 0, 0x01, 0x8B, 0xCF, 0xE5, 0x69, 0xC8,
        0, 6, 'k', 'i', 'l', 'l', 'e', 'd', 0, 0, 0, 3, 'h', 'i', '\n', 0, 0, 0, 0, 0x01, 0x94 };
    ZC_CHECK (s_frame_is (frame, result_payload, sizeof result_payload));
    zc_result_t *result_got;
    ZC_CHECK (zc_wire_result_payload_decode (frame, &result_got) == 0);
    ZC_CHECK (result_got && result_got->state == ZC_STATE_DONE && result_got->exit_code == -2
           && result_got->signal == 9 && !result_got->stdout_truncated
           && result_got->stderr_truncated && result_got->started_ms == result->started_ms
           && result_got->finished_ms == result->finished_ms);
    ZC_CHECK (result_got && result_got->error && streq (result_got->error, "killed"));
    ZC_CHECK (result_got && result_got->out_size == 3 && memcmp (result_got->out, "hi\n", 3) == 0);
    ZC_CHECK (result_got && result_got->err_size == 0 && result_got->err == NULL);
    ZC_CHECK (result_got && result_got->http_status == 404);
    zc_result_destroy (&result_got);
    zframe_destroy (&frame);
    //  No error text decodes as NULL.
    zstr_free (&result->error);
    result->stdout_truncated = true;
    frame = zc_wire_result_payload (result);
    ZC_CHECK (zc_wire_result_payload_decode (frame, &result_got) == 0);
    ZC_CHECK (result_got && result_got->error == NULL && result_got->stdout_truncated);
    zc_result_destroy (&result_got);
    zframe_destroy (&frame);
    //  The encoder refuses bad states and signals.
    result->state = ZC_STATE_COUNT;
    ZC_CHECK (zc_wire_result_payload (result) == NULL);
    result->state = ZC_STATE_FAILED;
    result->signal = 256;
    ZC_CHECK (zc_wire_result_payload (result) == NULL);
    result->signal = 0;
    result->http_status = ZC_WIRE_MAX_HTTP_STATUS + 1;
    ZC_CHECK (zc_wire_result_payload (result) == NULL);
    zc_result_destroy (&result);
    //  Malformed REPLY payloads: patch a valid one.
    uint8_t patched [sizeof result_payload + 1];
    struct { size_t offset; uint8_t value; size_t size; } bad_result [] = {
        { 0, ZC_STATE_COUNT, sizeof result_payload },           //  state
        { 6, 4, sizeof result_payload },                        //  unknown flag
        { 26, 0, sizeof result_payload },                       //  NUL in error
        { 24, 7, sizeof result_payload },                       //  error length
        { sizeof result_payload - 2, 4, sizeof result_payload },   //  HTTP status 1172
        { 0, ZC_STATE_DONE, sizeof result_payload - 2 },        //  no HTTP status
        { 0, ZC_STATE_DONE, sizeof result_payload - 1 },        //  truncated
        { 0, ZC_STATE_DONE, sizeof result_payload + 1 },        //  trailing
        { 0, ZC_STATE_DONE, 5 },
    };
    for (size_t index = 0; index < sizeof bad_result / sizeof bad_result [0]; index++) {
        memcpy (patched, result_payload, sizeof result_payload);
        patched [sizeof result_payload] = 0;
        patched [bad_result [index].offset] = bad_result [index].value;
        frame = zframe_new (patched, bad_result [index].size);
        result_got = (zc_result_t *) &s_sentinel;
        ZC_CHECK (zc_wire_result_payload_decode (frame, &result_got) == -1);
        ZC_CHECK (result_got == NULL);
        zframe_destroy (&frame);
    }

    //  NODES payloads.
    zc_node_entry_t entries [3] = {
        { .name = "web-1", .online = true, .last_seen = 1700000000, .via = "hub1" },
        { .name = "n1.site1", .online = false, .last_seen = 0, .via = "" },
        { .name = "central", .online = true, .last_seen = UINT64_MAX, .via = "hub1>gw.site1>sub-2" } };
    frame = zc_wire_nodes_payload (entries, 3);
    const uint8_t nodes_start [] = {
        0, 0, 0, 3, 5, 'w', 'e', 'b', '-', '1', 1, 0, 0, 0, 0, 0x65, 0x53, 0xF1, 0x00,
        1, 4, 'h', 'u', 'b', '1', 0, 0, 8 };
    ZC_CHECK (frame && zframe_size (frame) > sizeof nodes_start
           && memcmp (zframe_data (frame), nodes_start, sizeof nodes_start) == 0);
    zc_node_entry_t *entries_got;
    size_t count;
    ZC_CHECK (zc_wire_nodes_payload_decode (frame, &entries_got, &count) == 0);
    ZC_CHECK (count == 3 && entries_got);
    for (size_t index = 0; entries_got && index < 3; index++) {
        ZC_CHECK_STR (entries_got [index].name, entries [index].name);
        ZC_CHECK_STR (entries_got [index].via, entries [index].via);
        ZC_CHECK (entries_got [index].online == entries [index].online);
        ZC_CHECK (entries_got [index].last_seen == entries [index].last_seen);
        ZC_CHECK (entries_got [index].facts == NULL && entries_got [index].facts_size == 0);
    }
    free (entries_got);
    //  Malformed NODES payloads: patch the valid one.
    size_t nodes_size = zframe_size (frame);
    uint8_t *nodes_bytes = zc_malloc (nodes_size + 1);
    struct { size_t offset; uint8_t value; size_t size; } bad_nodes [] = {
        { 3, 4, nodes_size },                   //  count one more than present
        { 0, 1, nodes_size },                   //  count larger than the frame
        { 4, 0, nodes_size },                   //  empty name
        { 5, '_', nodes_size },                 //  name "_eb-1"
        { 8, 0, nodes_size },                   //  NUL in a name
        { 10, 2, nodes_size },                  //  online 2
        { 21, '/', nodes_size },                //  via "/ub1"
        { 19, 8, nodes_size },                  //  via of 8 hubs
        { 19, 2, nodes_size },                  //  via of 2 hubs, 1 present
        { 25, 1, nodes_size },                  //  facts of 256 bytes, fewer present
        { 26, 2, nodes_size },                  //  facts of 2 bytes: not a facts set
        { 0, 0, nodes_size + 1 },               //  trailing
        { 0, 0, nodes_size - 1 },               //  truncated
        { 0, 0, 2 },
    };
    for (size_t index = 0; index < sizeof bad_nodes / sizeof bad_nodes [0]; index++) {
        memcpy (nodes_bytes, zframe_data (frame), nodes_size);
        nodes_bytes [nodes_size] = 0;
        nodes_bytes [bad_nodes [index].offset] = bad_nodes [index].value;
        zframe_t *patched_frame = zframe_new (nodes_bytes, bad_nodes [index].size);
        entries_got = (zc_node_entry_t *) &s_sentinel;
        ZC_CHECK (zc_wire_nodes_payload_decode (patched_frame, &entries_got, &count) == -1);
        ZC_CHECK (entries_got == NULL && count == 0);
        zframe_destroy (&patched_frame);
    }
    free (nodes_bytes);
    zframe_destroy (&frame);
    frame = zc_wire_nodes_payload (NULL, 0);
    ZC_CHECK (zc_wire_nodes_payload_decode (frame, &entries_got, &count) == 0);
    ZC_CHECK (entries_got == NULL && count == 0);
    zframe_destroy (&frame);
    const char *bad_paths [] = { "ALL", "hub1>", ">hub1", "a>>b", "a>b>c>d>e>f>g>h", NULL };
    for (int index = 0; bad_paths [index]; index++) {
        strcpy (entries [1].via, bad_paths [index]);
        ZC_CHECK (zc_wire_nodes_payload (entries, 3) == NULL);
    }
    strcpy (entries [1].via, "a>b>c>d>e>f>g");       //  7 hubs: the longest path
    frame = zc_wire_nodes_payload (entries, 3);
    ZC_CHECK (frame && zc_wire_nodes_payload_decode (frame, &entries_got, &count) == 0);
    ZC_CHECK (count == 3 && entries_got && streq (entries_got [1].via, "a>b>c>d>e>f>g"));
    free (entries_got);
    zframe_destroy (&frame);
    //  Entries carry what their node advertises (a facts set), which the
    //  decoded entries point at in the frame; a bad set is refused.
    const uint8_t facts [] = { 1, 3, 'e', 'n', 'v', 0, 4, 'p', 'r', 'o', 'd', 1, 4, 'd', 'i', 's', 'k' };
    entries [2].facts = facts;
    entries [2].facts_size = sizeof facts;
    frame = zc_wire_nodes_payload (entries, 3);
    ZC_CHECK (frame && zframe_size (frame) > sizeof facts
              && memcmp (zframe_data (frame) + zframe_size (frame) - sizeof facts, facts, sizeof facts) == 0
              && zframe_data (frame) [zframe_size (frame) - sizeof facts - 1] == sizeof facts);
    ZC_CHECK (frame && zc_wire_nodes_payload_decode (frame, &entries_got, &count) == 0);
    ZC_CHECK (count == 3 && entries_got && entries_got [2].facts_size == sizeof facts
              && entries_got [2].facts == zframe_data (frame) + zframe_size (frame) - sizeof facts
              && !entries_got [0].facts && !entries_got [1].facts);
    free (entries_got);
    zframe_destroy (&frame);
    const uint8_t bad_facts [] = { 1, 3, 'e', 'n', 'v', 0, 1, '\n', 0 };
    entries [2].facts = bad_facts;
    entries [2].facts_size = sizeof bad_facts;
    ZC_CHECK (zc_wire_nodes_payload (entries, 3) == NULL);

    //  Sending: DEALER -> ROUTER -> back to the DEALER by routing id; a
    //  send to an unknown peer fails with EHOSTUNREACH and still frees.
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_router_mandatory (router, 1);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_rcvtimeo (dealer, 5000);
    zsock_set_rcvtimeo (router, 5000);
    ZC_CHECK (port > 0 && zsock_connect (dealer, "tcp://127.0.0.1:%d", port) == 0);
    wire = s_sample (ZC_MSG_REQ);
    zc_id_t req_id = wire->id;
    ZC_CHECK (zc_wire_send (&wire, dealer, NULL) == 0);
    ZC_CHECK (wire == NULL);
    msg = zmsg_recv (router);
    ZC_CHECK (msg && zmsg_size (msg) == 2);
    zframe_t *routing_id = msg? zframe_dup (zmsg_first (msg)): NULL;
    got = msg? zc_wire_decode (msg, zmsg_next (msg), NULL): NULL;
    ZC_CHECK (got && got->type == ZC_MSG_REQ && zc_id_equal (&got->id, &req_id));
    zc_wire_destroy (&got);
    zmsg_destroy (&msg);
    wire = zc_wire_new (ZC_MSG_ACK);
    wire->id = req_id;
    ZC_CHECK (zc_wire_send (&wire, router, routing_id) == 0);
    msg = zmsg_recv (dealer);
    ZC_CHECK (msg && zmsg_size (msg) == 1);
    got = msg? zc_wire_decode (msg, zmsg_first (msg), NULL): NULL;
    ZC_CHECK (got && got->type == ZC_MSG_ACK && zc_id_equal (&got->id, &req_id));
    zc_wire_destroy (&got);
    zmsg_destroy (&msg);
    zframe_t *nobody = zframe_new ("nobody", 6);
    wire = zc_wire_new (ZC_MSG_PONG);
    errno = 0;
    ZC_CHECK (zc_wire_send (&wire, router, nobody) == -1 && errno == EHOSTUNREACH);
    ZC_CHECK (wire == NULL);
    wire = zc_wire_new (ZC_MSG_REQ);                //  cannot be encoded
    ZC_CHECK (zc_wire_send (&wire, router, routing_id) == -1 && errno == EINVAL);
    ZC_CHECK (wire == NULL);
    zframe_destroy (&nobody);
    zframe_destroy (&routing_id);
    zsock_destroy (&dealer);
    zsock_destroy (&router);

    //  Mutations of valid encodings never crash a decoder, and whatever
    //  still decodes encodes back to exactly the same bytes.
    zframe_t *seeds [ZC_MSG_TYPE_COUNT + 6] [2];
    size_t seed_count = 0;
    for (uint8_t type = 1; type < ZC_MSG_TYPE_COUNT; type++) {
        zc_wire_t *sample = s_sample (type);
        msg = zc_wire_encode (sample);
        seeds [seed_count] [0] = zmsg_pop (msg);     //  header and payload
        seeds [seed_count++] [1] = NULL;
        zmsg_destroy (&msg);
        zc_wire_destroy (&sample);
    }
    args = zlist_new ();
    zlist_append (args, "echo");
    zlist_append (args, "a b");
    seeds [seed_count] [0] = zframe_new (req, sizeof req);
    seeds [seed_count++] [1] = zc_wire_req_payload (args, (const uint8_t *) "stdin", 5);
    zc_schedule_spec_t seed_schedule = { .interval = 60, .count = 24 };
    seeds [seed_count] [0] = zframe_new (req, sizeof req);
    seeds [seed_count++] [1] = zc_wire_req_payload_scheduled (args, NULL, 0, &seed_schedule);
    zlist_destroy (&args);
    seeds [seed_count] [0] = zframe_new (req, sizeof req);
    seeds [seed_count++] [1] = zframe_new (result_payload, sizeof result_payload);
    seeds [seed_count] [0] = zframe_new (nodes_header, sizeof nodes_header);
    seeds [seed_count++] [1] = zc_wire_nodes_payload (entries, 2);
    seeds [seed_count] [0] = zframe_new (nodes_header, sizeof nodes_header);
    seeds [seed_count++] [1] = s_sample_interest_payload ();
    seeds [seed_count] [0] = zframe_new (nodes_header, sizeof nodes_header);
    seeds [seed_count++] [1] = s_sample_pub_payload ();
    uint64_t state = 0x5EED5EED12345678ULL;
    int decoded = 0, mismatches = 0;
    for (int iteration = 0; iteration < 20000; iteration++) {
        size_t which = (size_t) (s_random (&state) % seed_count);
        uint8_t header [256], payload [256];
        size_t header_size = zframe_size (seeds [which] [0]);
        memcpy (header, zframe_data (seeds [which] [0]), header_size);
        size_t payload_size = seeds [which] [1]? zframe_size (seeds [which] [1]): 0;
        if (payload_size)
            memcpy (payload, zframe_data (seeds [which] [1]), payload_size);
        bool with_payload = seeds [which] [1] != NULL;
        uint64_t target = s_random (&state) % 3;    //  header, payload, both
        if (target != 1)
            header_size = s_mutate (header, header_size, sizeof header, &state);
        if (target != 0)
            payload_size = s_mutate (payload, payload_size, sizeof payload, &state);
        if (s_random (&state) % 16 == 0)
            with_payload = !with_payload;
        msg = s_msg_of (header, header_size, payload, payload_size, with_payload);
        if (s_random (&state) % 32 == 0)
            zmsg_addstr (msg, "extra");
        const char *why = NULL;
        got = zc_wire_decode (msg, zmsg_first (msg), &why);
        mismatches += got == NULL && why == NULL;
        if (got) {
            decoded++;
            zmsg_t *again = zc_wire_encode (got);
            mismatches += !again || !zframe_eq (zmsg_first (again), zmsg_first (msg));
            mismatches += !again || zmsg_size (again) != zmsg_size (msg);
            zmsg_destroy (&again);
            zc_wire_destroy (&got);
        }
        mismatches += s_check_payload_decoders (zmsg_first (msg));
        if (with_payload) {
            zframe_t *alone = zframe_new (payload, payload_size);
            mismatches += s_check_payload_decoders (alone);
            zframe_destroy (&alone);
        }
        zmsg_destroy (&msg);
    }
    if (verbose)
        printf ("# wire: %d of 20000 mutated messages still decoded\n", decoded);
    ZC_CHECK (mismatches == 0);
    ZC_CHECK (decoded > 100 && decoded < 20000);
    for (size_t index = 0; index < seed_count; index++) {
        zframe_destroy (&seeds [index] [0]);
        zframe_destroy (&seeds [index] [1]);
    }
    return ZC_TEST_END;
}
