/*  zc-rawsend.c — a hostile client for the integration tests.

    Connects a CURVE DEALER to a hub, as the client whose secret cert is
    given, and sends it what a well-behaved agent never would:

        zc-rawsend [-s SEED] [-t TARGET] ENDPOINT SERVER_CERT CLIENT_CERT_SECRET COUNT
            With -t, the client first says a valid HELLO under its own name
            (the cert's metadata) and sends TARGET requests and replies
            whose payloads never decode, so the hub routes them and
            TARGET's agent has to survive them too (nothing runs), and
            counts for 3 s what comes back ("received ACK 4, REPLY 4, ...").
            Then, up to COUNT messages in all: crafted ones aimed at the
            decoder's edges, then random ones (1 to 5 frames of 0 to 2000
            bytes, from SEED). A hub suspends a key that sends that many.
        zc-rawsend --big BYTES ENDPOINT SERVER_CERT CLIENT_CERT_SECRET
            one frame of BYTES bytes, after a HELLO (a hub's sockets refuse
            messages over 64 MiB: the connection is dropped).
        zc-rawsend --flood-self BYTES [--hold SECS] ENDPOINT SERVER_CERT CLIENT_CERT_SECRET
            a HELLO, then chunks of large REQs to itself (16 KiB each,
            transfers of 10 MB) until BYTES were sent, never reading what
            comes back; then keeps the connection open SECS (default 5)
            before it exits 0: a peer that stops reading its own traffic.
        zc-rawsend --hello NAME ENDPOINT SERVER_CERT CLIENT_CERT_SECRET
            one well-formed HELLO claiming NAME.
        zc-rawsend --ping ENDPOINT SERVER_CERT CLIENT_CERT_SECRET
            one PING for the hub, without any HELLO first.
        --version V, with --hello or --ping: that message with wire
            version V in its header, as a peer of another release sends.
        zc-rawsend --wire-version
            prints the wire version this build speaks (ZC_WIRE_VERSION),
            so a test can name the one before it.
        zc-rawsend --pubsub ENDPOINT SERVER_CERT CLIENT_CERT_SECRET
            a valid HELLO under the cert's name, then PUB, SUB, UNSUB and
            INTEREST frames built by hand (the encoder refuses them):
            malformed ones (a subject with a wildcard, over 256 bytes or
            cut short, a pattern count over 1024, truncated fields, a PUB
            payload over 16 KiB, ...); well-formed ones the hub refuses,
            chosen by the cert's role: from an agent, a PUB under $sys.,
            a PUB naming targets, a PUB whose payload does not decode (on
            test.garbage), INTEREST; from a hub, SUB, UNSUB, a PUB
            without a publisher or without targets, a retained PUB whose
            payload does not decode; and, from an agent, one the hub
            passes on: an unsigned PUB on test.spoof whose 'from' claims
            "someone-else".
            Prints on stdout "malformed N", "refused N" and "passed N"
            (what it sent of each), then, after reading answers for 3 s,
            each ERROR that came ("error CODE: TEXT") and "errors N".
        zc-rawsend --bad-interest COUNT ENDPOINT SERVER_CERT CLIENT_CERT_SECRET
            a valid HELLO, then COUNT INTERESTs whose payloads do not
            decode (a hub's cert: from an agent they are refused first).

    The handshake's outcome goes to stderr ("handshake succeeded" or
    "handshake refused"). Garbage mode exits 0 once everything was handed
    to the socket (or the socket stopped taking messages); --pubsub and
    --bad-interest exit 0 when the socket took everything. --hello and
    --ping print what came back ("error CODE: TEXT", or "got TYPE") and
    exit 0 when an ERROR came, 1 when none came within 3 s. Usage errors
    exit 2, certs that cannot be loaded 3.
*/
#include <czmq.h>
#include <getopt.h>
#include "id.h"
#include "wire.h"

#define S_HANDSHAKE_MS  5000    //  how long to wait for the CURVE handshake
#define S_ANSWER_MS     3000    //  how long answers are waited for
#define S_SEND_MS       1000    //  a send blocked longer than this ends the run
#define S_LINGER_MS     2000    //  time to flush queued messages at exit

static const char *s_usage =
    "usage: zc-rawsend [-s SEED] [-t TARGET] ENDPOINT SERVER_CERT CLIENT_CERT_SECRET COUNT\n"
    "       zc-rawsend --hello NAME ENDPOINT SERVER_CERT CLIENT_CERT_SECRET\n"
    "       zc-rawsend --ping ENDPOINT SERVER_CERT CLIENT_CERT_SECRET\n"
    "       (--hello and --ping take --version V: that wire version in the header)\n"
    "       zc-rawsend --wire-version\n"
    "       zc-rawsend --pubsub ENDPOINT SERVER_CERT CLIENT_CERT_SECRET\n"
    "       zc-rawsend --bad-interest COUNT ENDPOINT SERVER_CERT CLIENT_CERT_SECRET\n"
    "       zc-rawsend --big BYTES ENDPOINT SERVER_CERT CLIENT_CERT_SECRET\n"
    "       zc-rawsend --flood-self BYTES [--hold SECS] ENDPOINT SERVER_CERT CLIENT_CERT_SECRET\n";

//  xorshift64*: the same garbage on every libc, for a given seed.
static uint64_t s_state = 0x9E3779B97F4A7C15ull;

static uint32_t
s_random (uint32_t limit)
{
    s_state ^= s_state >> 12;
    s_state ^= s_state << 25;
    s_state ^= s_state >> 27;
    return limit? (uint32_t) ((s_state * 0x2545F4914F6CDD1Dull) >> 32) % limit: 0;
}

//  A frame of 'size' random bytes.
static zframe_t *
s_random_frame (size_t size)
{
    zframe_t *frame = zframe_new (NULL, size);
    byte *data = zframe_data (frame);
    for (size_t index = 0; index < size; index++)
        data [index] = (byte) s_random (256);
    return frame;
}

//  A frame holding exactly 'size' given bytes.
static zframe_t *
s_bytes_frame (const void *bytes, size_t size)
{
    return zframe_new (bytes, size);
}

//  Sends a message; false when the socket stopped taking messages.
static bool
s_send (zsock_t *dealer, zmsg_t **msg_p, size_t *sent)
{
    if (zmsg_send (msg_p, dealer) == 0) {
        (*sent)++;
        return true;
    }
    zmsg_destroy (msg_p);
    return false;
}

//  A random message: 1 to 5 frames of 0 to 2000 bytes. One in four starts
//  with a valid signature, version and type, so it reaches the decoder's
//  field parsing instead of failing on its first byte.
static zmsg_t *
s_random_msg (void)
{
    zmsg_t *msg = zmsg_new ();
    uint32_t frames = 1 + s_random (5);
    for (uint32_t index = 0; index < frames; index++) {
        zframe_t *frame = s_random_frame (s_random (2001));
        if (index == 0 && zframe_size (frame) >= 3 && s_random (4) == 0) {
            byte *data = zframe_data (frame);
            data [0] = ZC_WIRE_SIGNATURE;
            data [1] = ZC_WIRE_VERSION;
            data [2] = (byte) (1 + s_random (ZC_MSG_TYPE_COUNT - 1));
        }
        zmsg_append (msg, &frame);
    }
    return msg;
}

//  The fixed part of a header: signature, version, type, flags, hops, ID.
static size_t
s_put_fixed (byte *out, uint8_t type)
{
    zc_id_t id;
    zc_id_generate (&id);
    out [0] = ZC_WIRE_SIGNATURE;
    out [1] = ZC_WIRE_VERSION;
    out [2] = type;
    out [3] = 0;
    out [4] = ZC_WIRE_HOPS;
    memcpy (out + 5, id.bytes, ZC_ID_SIZE);
    return 5 + ZC_ID_SIZE;
}

//  A well-formed header (built by the wire module) for a message to
//  'target', with 'payload' (taken; may be NULL) as its payload.
static zmsg_t *
s_addressed (zc_msg_type_t type, const char *target, zframe_t *payload)
{
    zc_wire_t *wire = zc_wire_new (type);
    zlist_append (wire->to, (void *) target);
    if (type == ZC_MSG_REQ) {
        wire->method = 1;
        wire->method_timeout = 1;
        wire->expire = 60;
    }
    wire->payload = payload;
    zmsg_t *msg = zc_wire_encode (wire);
    zc_wire_destroy (&wire);
    return msg;
}

//  Appends a frame of the given bytes to msg.
static void
s_append (zmsg_t *msg, const void *bytes, size_t size)
{
    zframe_t *frame = s_bytes_frame (bytes, size);
    zmsg_append (msg, &frame);
}

//  The crafted messages, aimed at the decoder's edges. Their HELLO claims
//  'claimed', a name the client's key is not bound to.
static zlist_t *
s_crafted (const char *claimed)
{
    zlist_t *list = zlist_new ();
    byte header [512];
    size_t size;
    zmsg_t *msg;

    //  A valid signature and version, then nothing.
    msg = zmsg_new ();
    s_append (msg, (byte []) { ZC_WIRE_SIGNATURE, ZC_WIRE_VERSION, ZC_MSG_REQ }, 3);
    zlist_append (list, msg);

    //  The fixed header cut one byte short.
    size = s_put_fixed (header, ZC_MSG_HELLO);
    msg = zmsg_new ();
    s_append (msg, header, size - 1);
    zlist_append (list, msg);

    //  A HELLO whose name claims 255 bytes and has 3.
    size = s_put_fixed (header, ZC_MSG_HELLO);
    memcpy (header + size, (byte []) { 0, 0, 0, 255, 'a', 'b', 'c' }, 7);
    msg = zmsg_new ();
    s_append (msg, header, size + 7);
    zlist_append (list, msg);

    //  A HELLO with a name that is not a name.
    size = s_put_fixed (header, ZC_MSG_HELLO);
    memcpy (header + size, (byte []) { 0, 0, 0, 6, '.', '.', '/', 'e', 't', 'c' }, 10);
    msg = zmsg_new ();
    s_append (msg, header, size + 10);
    zlist_append (list, msg);

    //  A HELLO with a NUL inside the name.
    size = s_put_fixed (header, ZC_MSG_HELLO);
    memcpy (header + size, (byte []) { 0, 0, 0, 3, 'n', 0, '1' }, 7);
    msg = zmsg_new ();
    s_append (msg, header, size + 7);
    zlist_append (list, msg);

    //  A valid-looking HELLO claiming a name its key is not bound to.
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "%s", claimed);
    zlist_append (list, zc_wire_encode (hello));
    zc_wire_destroy (&hello);

    //  A REQ declaring 65535 targets, with two of them present.
    size = s_put_fixed (header, ZC_MSG_REQ);
    memcpy (header + size, (byte []) { 0, 0xFF, 0xFF, 2, 'n', '1', 2, 'n', '2' }, 9);
    msg = zmsg_new ();
    s_append (msg, header, size + 9);
    s_append (msg, "\x01", 1);
    zlist_append (list, msg);

    //  An ERROR whose text claims 65535 bytes.
    size = s_put_fixed (header, ZC_MSG_ERROR);
    memcpy (header + size, (byte []) { 0, 0, 0, 0, 1, 0xFF, 0xFF, 'x' }, 8);
    msg = zmsg_new ();
    s_append (msg, header, size + 8);
    zlist_append (list, msg);

    //  A PRESENCE with online = 7 and a NOROUTE with a huge name count.
    size = s_put_fixed (header, ZC_MSG_PRESENCE);
    memcpy (header + size, (byte []) { 0, 0, 0, 7, 0, 1, 2, 'n', '1' }, 9);
    msg = zmsg_new ();
    s_append (msg, header, size + 9);
    zlist_append (list, msg);
    size = s_put_fixed (header, ZC_MSG_NOROUTE);
    memcpy (header + size, (byte []) { 0, 0, 0, 0xFF, 0xFF, 1, 'x' }, 7);
    msg = zmsg_new ();
    s_append (msg, header, size + 7);
    zlist_append (list, msg);

    //  Payload-carrying types without their payload, and a HELLO with one.
    size = s_put_fixed (header, ZC_MSG_REPLY);
    memcpy (header + size, (byte []) { 0, 0, 0 }, 3);
    msg = zmsg_new ();
    s_append (msg, header, size + 3);
    zlist_append (list, msg);
    size = s_put_fixed (header, ZC_MSG_HELLO);
    memcpy (header + size, (byte []) { 0, 0, 0, 2, 'n', '1' }, 6);
    msg = zmsg_new ();
    s_append (msg, header, size + 6);
    s_append (msg, "payload", 7);
    zlist_append (list, msg);

    //  A NODES payload claiming 2^32-1 entries (hubs drop NODES from
    //  agents, but must not trip over it first).
    size = s_put_fixed (header, ZC_MSG_NODES);
    memcpy (header + size, (byte []) { 0, 0, 0 }, 3);
    msg = zmsg_new ();
    s_append (msg, header, size + 3);
    s_append (msg, (byte []) { 0xFF, 0xFF, 0xFF, 0xFF, 2, 'n', '1' }, 7);
    zlist_append (list, msg);

    //  An unknown type, and a version from the future.
    size = s_put_fixed (header, 0xEE);
    msg = zmsg_new ();
    s_append (msg, header, size);
    zlist_append (list, msg);
    size = s_put_fixed (header, ZC_MSG_PING);
    header [1] = 0x7F;
    memcpy (header + size, (byte []) { 0, 0, 0 }, 3);
    msg = zmsg_new ();
    s_append (msg, header, size + 3);
    zlist_append (list, msg);

    return list;
}

//  Well-routed messages to 'target' whose payloads never decode: REQs
//  declaring huge lengths, REPLYs with truncated or huge results, and
//  stray notices.
static zlist_t *
s_routed (const char *target)
{
    zlist_t *list = zlist_new ();
    zlist_append (list, s_addressed (ZC_MSG_REQ, target,
        s_bytes_frame ((byte []) { 1, 0xFF, 0xFF, 0xFF, 0xFF, 'l', 's' }, 7)));
    zlist_append (list, s_addressed (ZC_MSG_REQ, target,
        s_bytes_frame ((byte []) { 200, 0, 0, 0, 1, 'x' }, 6)));
    zlist_append (list, s_addressed (ZC_MSG_REQ, target,
        s_bytes_frame ((byte []) { 0, 0xFF, 0xFF, 0xFF, 0xF0 }, 5)));
    zlist_append (list, s_addressed (ZC_MSG_REQ, target, s_bytes_frame ("", 0)));
    //  REPLYs with truncated or huge results, and a stray ACK.
    zlist_append (list, s_addressed (ZC_MSG_REPLY, target,
        s_bytes_frame ((byte []) { 0xFF, 0, 0, 0, 0 }, 5)));
    byte result [40] = { 2 };       //  state, exit, signal, flags, times...
    memset (result + 23, 0xFF, 2);  //  ...then an error text of 65535 bytes
    zlist_append (list, s_addressed (ZC_MSG_REPLY, target, s_bytes_frame (result, sizeof result)));
    zlist_append (list, s_addressed (ZC_MSG_ACK, target, NULL));
    zlist_append (list, s_addressed (ZC_MSG_STARTED, target, NULL));
    zlist_append (list, s_addressed (ZC_MSG_PING, target, NULL));
    //  A REQ whose hop limit is spent: hubs drop it.
    zc_wire_t *spent = zc_wire_new (ZC_MSG_REQ);
    zlist_append (spent->to, (void *) target);
    spent->hops = 1;
    spent->payload = s_bytes_frame ("", 0);
    zlist_append (list, zc_wire_encode (spent));
    zc_wire_destroy (&spent);
    return list;
}

//  Waits for the CURVE handshake's outcome on the monitor. Returns 1
//  when it succeeded, 0 when refused, -1 when nothing happened in time.
static int
s_handshake (zsock_t *monitor)
{
    zpoller_t *poller = zpoller_new (monitor, NULL);
    int64_t deadline = zclock_mono () + S_HANDSHAKE_MS;
    int outcome = -1;
    while (outcome == -1 && zclock_mono () < deadline) {
        if (!zpoller_wait (poller, (int) (deadline - zclock_mono ())))
            break;
        zmsg_t *event = zmsg_recv (monitor);
        zframe_t *frame = event? zmsg_first (event): NULL;
        if (frame && zframe_size (frame) >= 2) {
            uint16_t number;
            memcpy (&number, zframe_data (frame), 2);
            if (number == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                outcome = 1;
            else
                outcome = 0;
        }
        zmsg_destroy (&event);
    }
    zpoller_destroy (&poller);
    return outcome;
}

//  Sends one message and prints what comes back within S_ANSWER_MS:
//  "error CODE: TEXT" on stdout for an ERROR, "got TYPE" for anything
//  else. Returns 0 when an ERROR came, else 1.
static int
s_probe (zsock_t *dealer, zc_wire_t *probe, int version)
{
    zmsg_t *encoded = zc_wire_encode (probe);
    zc_wire_destroy (&probe);
    if (encoded && version > 0)
        zframe_data (zmsg_first (encoded)) [1] = (byte) version;      //  a peer of another release
    if (!encoded || zmsg_send (&encoded, dealer) != 0) {
        zmsg_destroy (&encoded);
        fprintf (stderr, "zc-rawsend: cannot send (is the name valid?)\n");
        return 1;
    }
    zpoller_t *poller = zpoller_new (dealer, NULL);
    int64_t deadline = zclock_mono () + S_ANSWER_MS;
    int status = 1;
    while (status && zclock_mono () < deadline) {
        if (!zpoller_wait (poller, (int) (deadline - zclock_mono ())))
            break;
        zmsg_t *frames = zmsg_recv (dealer);
        zc_wire_t *msg = frames? zc_wire_decode (frames, zmsg_first (frames), NULL): NULL;
        if (msg && msg->type == ZC_MSG_ERROR) {
            printf ("error %u: %s\n", msg->code, msg->text? msg->text: "");
            status = 0;
        }
        else
        if (msg)
            printf ("got %s\n", zc_wire_type_name (msg->type));
        fflush (stdout);
        zc_wire_destroy (&msg);
        zmsg_destroy (&frames);
    }
    zpoller_destroy (&poller);
    if (status)
        fprintf (stderr, "zc-rawsend: no ERROR came within %d ms\n", S_ANSWER_MS);
    return status;
}

//  Sends every message of a list (destroying the list); false once the
//  socket stopped taking messages.
static bool
s_send_all (zsock_t *dealer, zlist_t **list_p, size_t *sent)
{
    bool going = true;
    zmsg_t *msg;
    while ((msg = zlist_pop (*list_p))) {
        if (going)
            going = s_send (dealer, &msg, sent);
        else
            zmsg_destroy (&msg);
    }
    zlist_destroy (list_p);
    return going;
}

//  Reads what comes back for 'ms' milliseconds and prints how many
//  messages of each type came ("zc-rawsend: received ACK 4, REPLY 4"),
//  which shows what the hub routed and the target answered.
static void
s_drain (zsock_t *dealer, int ms)
{
    size_t counts [ZC_MSG_TYPE_COUNT] = { 0 }, malformed = 0;
    zpoller_t *poller = zpoller_new (dealer, NULL);
    int64_t deadline = zclock_mono () + ms;
    while (zclock_mono () < deadline && zpoller_wait (poller, (int) (deadline - zclock_mono ()))) {
        zmsg_t *frames = zmsg_recv (dealer);
        zc_wire_t *msg = frames? zc_wire_decode (frames, zmsg_first (frames), NULL): NULL;
        if (msg)
            counts [msg->type]++;
        else
            malformed++;
        zc_wire_destroy (&msg);
        zmsg_destroy (&frames);
    }
    zpoller_destroy (&poller);
    fprintf (stderr, "zc-rawsend: received");
    for (int type = 1; type < ZC_MSG_TYPE_COUNT; type++)
        if (counts [type])
            fprintf (stderr, " %s %zu,", zc_wire_type_name ((uint8_t) type), counts [type]);
    fprintf (stderr, " malformed %zu\n", malformed);
}

//  Garbage mode: the crafted messages; with a target, a valid HELLO as
//  'own_name' and the routed ones; then random ones up to COUNT in all.
static int
s_garbage (zsock_t *dealer, long count, const char *own_name, const char *target)
{
    size_t sent = 0;
    bool going = true;
    if (target) {
        zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
        snprintf (hello->name, sizeof hello->name, "%s", own_name);
        zmsg_t *msg = zc_wire_encode (hello);
        zc_wire_destroy (&hello);
        if (!msg)
            fprintf (stderr, "zc-rawsend: the cert's name '%s' is not a valid name\n", own_name);
        else
            going = s_send (dealer, &msg, &sent);
        zlist_t *list = s_routed (target);
        going = going && s_send_all (dealer, &list, &sent);
        zlist_destroy (&list);
        s_drain (dealer, S_ANSWER_MS);
    }
    //  The crafted HELLO claims the target's name, or any name but ours.
    zlist_t *list = s_crafted (target && strcmp (target, own_name)? target: "someone-else");
    going = going && s_send_all (dealer, &list, &sent);
    zlist_destroy (&list);
    while (going && (long) sent < count) {
        zmsg_t *msg = s_random_msg ();
        going = s_send (dealer, &msg, &sent);
    }
    fprintf (stderr, "zc-rawsend: sent %zu messages%s\n", sent,
             going? "": " (then the socket stopped taking them)");
    return 0;
}

//  --big: a HELLO, then one frame of 'size' bytes.
static int
s_big (zsock_t *dealer, const char *own_name, size_t size)
{
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "%s", own_name);
    zc_wire_send (&hello, dealer, NULL);
    zmsg_t *msg = zmsg_new ();
    zframe_t *frame = zframe_new (NULL, size);
    memset (zframe_data (frame), 0xC5, size);
    zmsg_append (msg, &frame);
    size_t sent = 0;
    bool taken = s_send (dealer, &msg, &sent);
    fprintf (stderr, "zc-rawsend: %s a frame of %zu bytes\n", taken? "sent": "could not send", size);
    return taken? 0: 1;
}

//  --flood-self: a HELLO, then 'bytes' of REQ chunks to ourselves, never
//  reading; the connection stays 'hold' seconds.
static int
s_flood_self (zsock_t *dealer, const char *own_name, size_t bytes, long hold)
{
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "%s", own_name);
    zc_wire_send (&hello, dealer, NULL);
    const size_t transfer = 10000000;
    uint8_t *chunk_bytes = zc_calloc (1, ZC_WIRE_MAX_WHOLE);
    size_t sent = 0, messages = 0;
    zc_wire_t *header = NULL;
    bool going = true;
    for (size_t offset = 0; going && sent < bytes; offset = (offset + ZC_WIRE_MAX_WHOLE) % transfer) {
        if (offset == 0) {
            zc_wire_destroy (&header);
            header = zc_wire_new (ZC_MSG_REQ);      //  a new transfer, a new ID
            header->method = 1;
            header->flags = ZC_FLAG_CHUNK;
            zlist_append (header->to, (void *) own_name);
        }
        zc_wire_t *chunk = zc_wire_dup_header (header, NULL);
        size_t size = transfer - offset < ZC_WIRE_MAX_WHOLE? transfer - offset: ZC_WIRE_MAX_WHOLE;
        chunk->payload = zc_wire_chunk_payload (offset, transfer, chunk_bytes, size);
        zmsg_t *msg = zc_wire_encode (chunk);
        zc_wire_destroy (&chunk);
        size_t ignored = 0;
        going = s_send (dealer, &msg, &ignored);
        sent += size;
        messages++;
    }
    zc_wire_destroy (&header);
    free (chunk_bytes);
    fprintf (stderr, "zc-rawsend: sent %zu chunks (%zu bytes) to itself%s; holding %ld s\n", messages,
             sent, going? "": " (then the socket stopped taking them)", hold);
    zclock_sleep ((int) hold * 1000);
    return 0;
}

//  --pubsub: frames built byte by byte, for the PUB, SUB, UNSUB and
//  INTEREST layouts of doc/PROTOCOL.md.
typedef struct {
    byte *data;
    size_t size;
} s_bytes_t;

#define S_BYTES_MAX (64u << 10)

static void
s_put_bytes (s_bytes_t *out, const void *bytes, size_t size)
{
    assert (out->size + size <= S_BYTES_MAX);
    memcpy (out->data + out->size, bytes, size);
    out->size += size;
}

static void
s_put_int (s_bytes_t *out, uint64_t value, int width)
{
    for (int index = width - 1; index >= 0; index--) {
        byte octet = (byte) (value >> (8 * index));
        s_put_bytes (out, &octet, 1);
    }
}

//  A string with a length of 'width' bytes in front.
static void
s_put_text (s_bytes_t *out, const char *text, int width)
{
    s_put_int (out, strlen (text), width);
    s_put_bytes (out, text, strlen (text));
}

//  A new buffer holding the fixed header, 'from' (a name or "") and a
//  target list of 'to' (NULL: none).
static s_bytes_t
s_start (uint8_t type, uint8_t flags, const char *from, const char *to)
{
    s_bytes_t out = { zc_calloc (1, S_BYTES_MAX), 0 };
    out.size = s_put_fixed (out.data, type);
    out.data [3] = flags;
    s_put_text (&out, from, 1);
    s_put_int (&out, to? 1: 0, 2);
    if (to)
        s_put_text (&out, to, 1);
    return out;
}

//  A valid unsigned PUB payload of one item.
static void
s_put_unsigned_payload (s_bytes_t *out, const char *data)
{
    s_put_int (out, 0, 1);              //  mode 0: unsigned
    s_put_int (out, 1, 2);              //  one item
    s_put_text (out, data, 4);
}

//  Appends a message of the buffer (freed) to 'list'.
static void
s_finish (zlist_t *list, s_bytes_t *out)
{
    zmsg_t *msg = zmsg_new ();
    s_append (msg, out->data, out->size);
    zlist_append (list, msg);
    free (out->data);
    out->data = NULL;
}

//  A PUB header with a subject given as bytes (any: it may be invalid),
//  retain 0, then a valid payload.
static void
s_pub_with_subject (zlist_t *list, const char *subject)
{
    s_bytes_t out = s_start (ZC_MSG_PUB, 0, "", NULL);
    s_put_text (&out, subject, 2);
    s_put_int (&out, 0, 4);
    s_put_unsigned_payload (&out, "x");
    s_finish (list, &out);
}

//  PUB, SUB, UNSUB and INTEREST frames the decoder must call malformed,
//  whoever sends them.
static zlist_t *
s_pubsub_malformed (void)
{
    zlist_t *list = zlist_new ();
    char long_subject [300];
    //  Subjects: wildcards, an empty token, 257 bytes, a NUL inside.
    s_pub_with_subject (list, "logs.*.nginx");
    s_pub_with_subject (list, "logs.>");
    s_pub_with_subject (list, "a..b");
    memset (long_subject, 'a', sizeof long_subject);
    for (size_t index = 10; index < 257; index += 11)
        long_subject [index] = '.';
    long_subject [257] = 0;
    s_pub_with_subject (list, long_subject);
    s_bytes_t out = s_start (ZC_MSG_PUB, 0, "", NULL);
    s_put_bytes (&out, (byte []) { 0, 3, 'a', 0, 'b' }, 5);
    s_put_int (&out, 0, 4);
    s_put_unsigned_payload (&out, "x");
    s_finish (list, &out);
    //  A subject claiming 300 bytes in a frame that ends after 5.
    out = s_start (ZC_MSG_PUB, 0, "", NULL);
    s_put_int (&out, 300, 2);
    s_put_bytes (&out, "a.b.c", 5);
    s_finish (list, &out);
    //  A subject, then the frame ends inside 'retain'.
    out = s_start (ZC_MSG_PUB, 0, "", NULL);
    s_put_text (&out, "a.b", 2);
    s_put_int (&out, 0, 2);
    s_finish (list, &out);
    //  A valid header and a payload over 16 KiB.
    out = s_start (ZC_MSG_PUB, 0, "", NULL);
    s_put_text (&out, "test.big", 2);
    s_put_int (&out, 0, 4);
    s_put_int (&out, 0, 1);
    s_put_int (&out, 1, 2);
    s_put_int (&out, 17000, 4);
    out.size += 17000;                  //  zeros
    s_finish (list, &out);
    //  SUB: 1025 patterns (each valid), one over 1024.
    out = s_start (ZC_MSG_SUB, 0, "", NULL);
    s_put_int (&out, 1025, 2);
    for (int index = 0; index < 1025; index++)
        s_put_text (&out, "a", 2);
    s_finish (list, &out);
    //  SUB: two patterns announced, one present.
    out = s_start (ZC_MSG_SUB, 0, "", NULL);
    s_put_int (&out, 2, 2);
    s_put_text (&out, "a.b", 2);
    s_finish (list, &out);
    //  SUB: an empty pattern, one of 257 bytes, and an invalid one.
    out = s_start (ZC_MSG_SUB, 0, "", NULL);
    s_put_int (&out, 1, 2);
    s_put_text (&out, "", 2);
    s_finish (list, &out);
    out = s_start (ZC_MSG_SUB, 0, "", NULL);
    s_put_int (&out, 1, 2);
    s_put_text (&out, long_subject, 2);
    s_finish (list, &out);
    out = s_start (ZC_MSG_SUB, 0, "", NULL);
    s_put_int (&out, 1, 2);
    s_put_text (&out, "a.>.b", 2);
    s_finish (list, &out);
    //  SUB: a valid pattern and a byte after it.
    out = s_start (ZC_MSG_SUB, 0, "", NULL);
    s_put_int (&out, 1, 2);
    s_put_text (&out, "a.b", 2);
    s_put_int (&out, 0, 1);
    s_finish (list, &out);
    //  UNSUB: 65535 patterns announced, none present; one byte of a
    //  length; no count at all.
    out = s_start (ZC_MSG_UNSUB, 0, "", NULL);
    s_put_int (&out, 65535, 2);
    s_finish (list, &out);
    out = s_start (ZC_MSG_UNSUB, 0, "", NULL);
    s_put_int (&out, 1, 2);
    s_put_int (&out, 0, 1);
    s_finish (list, &out);
    out = s_start (ZC_MSG_UNSUB, 0, "", NULL);
    s_finish (list, &out);
    //  INTEREST whose 'from' is not a name (its payload is opaque to
    //  the header decoder).
    out = s_start (ZC_MSG_INTEREST, 0, "../x", NULL);
    s_put_int (&out, 0, 2);
    s_finish (list, &out);
    return list;
}

//  A well-formed PUB, encoded by the wire module (so that its header
//  follows wire.c's layout), with 'payload' (taken) as its payload:
//  hubs do not look inside a payload, so it may be any bytes.
static void
s_encoded_pub (zlist_t *list, const char *from, const char *to, const char *subject,
               uint32_t retain, zframe_t *payload)
{
    zc_wire_t *wire = zc_wire_new (ZC_MSG_PUB);
    snprintf (wire->from, sizeof wire->from, "%s", from);
    if (to)
        zlist_append (wire->to, (void *) to);
    wire->subject = zc_strdup (subject);
    wire->retain = retain;
    wire->payload = payload;
    zmsg_t *msg = zc_wire_encode (wire);
    zc_wire_destroy (&wire);
    assert (msg);
    zlist_append (list, msg);
}

//  A valid unsigned PUB payload of one item.
static zframe_t *
s_unsigned_payload (const char *data)
{
    zc_pub_payload_t payload = { .mode = 0, .items = zlist_new () };
    zframe_t *item = zframe_new (data, strlen (data));
    zlist_append (payload.items, item);
    zframe_t *frame = zc_wire_pub_payload (&payload);
    zframe_destroy (&item);
    zlist_destroy (&payload.items);
    return frame;
}

//  A well-formed SUB or UNSUB of one pattern.
static void
s_encoded_sub (zlist_t *list, zc_msg_type_t type, const char *pattern)
{
    zc_wire_t *wire = zc_wire_new (type);
    zlist_append (wire->patterns, (void *) pattern);
    zmsg_t *msg = zc_wire_encode (wire);
    zc_wire_destroy (&wire);
    assert (msg);
    zlist_append (list, msg);
}

//  Well-formed frames a hub refuses from an agent ('from_hub' false) or
//  from a hub.
static zlist_t *
s_pubsub_refused (bool from_hub)
{
    zlist_t *list = zlist_new ();
    if (!from_hub) {
        //  Under $sys.: only hubs publish there. A PUB naming targets.
        s_encoded_pub (list, "", NULL, "$sys.online.someone-else", 0, s_unsigned_payload ("x"));
        s_encoded_pub (list, "", "hub1", "test.targeted", 0, s_unsigned_payload ("x"));
        //  A payload no subscriber could open (mode 7): refused where it enters.
        s_encoded_pub (list, "", NULL, "test.garbage", 0,
                       s_bytes_frame ((byte []) { 7, 0, 1, 0, 0, 0, 1, 'g' }, 8));
        //  INTEREST, with a valid payload and with garbage: for hubs only.
        s_bytes_t out = s_start (ZC_MSG_INTEREST, 0, "", NULL);
        s_put_int (&out, 1, 2);
        s_put_int (&out, 1, 1);
        s_put_text (&out, "someone-else", 1);
        s_put_text (&out, "test.>", 2);
        s_put_int (&out, 1, 1);
        s_put_text (&out, "someone-else", 1);
        s_finish (list, &out);
        out = s_start (ZC_MSG_INTEREST, 0, "", NULL);
        s_put_bytes (&out, (byte []) { 0xFF, 0xFF, 1 }, 3);
        s_finish (list, &out);
        return list;
    }
    //  SUB and UNSUB: for nodes only.
    s_encoded_sub (list, ZC_MSG_SUB, "test.>");
    s_encoded_sub (list, ZC_MSG_UNSUB, "test.>");
    //  A PUB without its publisher, one without targets (not retained),
    //  a retained one whose payload does not decode.
    s_encoded_pub (list, "", "hub1", "test.anonymous", 0, s_unsigned_payload ("x"));
    s_encoded_pub (list, "someone-else", NULL, "test.nowhere", 0, s_unsigned_payload ("x"));
    s_encoded_pub (list, "someone-else", NULL, "test.garbage.retained", 60,
                   s_bytes_frame ((byte []) { 7, 0xFF }, 2));
    return list;
}

//  Well-formed PUBs from an agent the hub passes on to subscribers.
static zlist_t *
s_pubsub_passed (void)
{
    zlist_t *list = zlist_new ();
    //  An unsigned one claiming another publisher: the hub stamps ours.
    s_encoded_pub (list, "someone-else", NULL, "test.spoof", 0, s_unsigned_payload ("spoofed"));
    return list;
}

//  Sends a list, counting what was taken; false once the socket stopped.
static size_t
s_send_counted (zsock_t *dealer, zlist_t **list_p, bool *going)
{
    size_t sent = 0;
    zmsg_t *msg;
    while ((msg = zlist_pop (*list_p))) {
        if (*going)
            *going = s_send (dealer, &msg, &sent);
        else
            zmsg_destroy (&msg);
    }
    zlist_destroy (list_p);
    return sent;
}

static int
s_pubsub (zsock_t *dealer, const char *own_name, bool from_hub)
{
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "%s", own_name);
    if (zc_wire_send (&hello, dealer, NULL) != 0) {
        fprintf (stderr, "zc-rawsend: cannot say HELLO as '%s'\n", own_name);
        return 1;
    }
    bool going = true;
    zlist_t *malformed = s_pubsub_malformed ();
    zlist_t *refused = s_pubsub_refused (from_hub);
    zlist_t *passed = from_hub? zlist_new (): s_pubsub_passed ();
    size_t malformed_sent = s_send_counted (dealer, &malformed, &going);
    size_t refused_sent = s_send_counted (dealer, &refused, &going);
    size_t passed_sent = s_send_counted (dealer, &passed, &going);
    printf ("malformed %zu\nrefused %zu\npassed %zu\n", malformed_sent, refused_sent, passed_sent);
    fflush (stdout);
    //  What comes back: the ERRORs, and a count of the rest.
    size_t errors = 0, others = 0;
    zpoller_t *poller = zpoller_new (dealer, NULL);
    int64_t deadline = zclock_mono () + S_ANSWER_MS;
    while (zclock_mono () < deadline && zpoller_wait (poller, (int) (deadline - zclock_mono ()))) {
        zmsg_t *frames = zmsg_recv (dealer);
        zc_wire_t *msg = frames? zc_wire_decode (frames, zmsg_first (frames), NULL): NULL;
        if (msg && msg->type == ZC_MSG_ERROR) {
            printf ("error %u: %s\n", msg->code, msg->text? msg->text: "");
            errors++;
        }
        else
            others++;
        zc_wire_destroy (&msg);
        zmsg_destroy (&frames);
    }
    zpoller_destroy (&poller);
    printf ("errors %zu\n", errors);
    fprintf (stderr, "zc-rawsend: %zu other messages came back%s\n", others,
             going? "": " (the socket stopped taking messages)");
    return going? 0: 1;
}

//  --bad-interest: a HELLO, then 'count' INTERESTs whose payloads
//  claim more entries than they hold.
static int
s_bad_interest (zsock_t *dealer, const char *own_name, long count)
{
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "%s", own_name);
    if (zc_wire_send (&hello, dealer, NULL) != 0) {
        fprintf (stderr, "zc-rawsend: cannot say HELLO as '%s'\n", own_name);
        return 1;
    }
    zlist_t *list = zlist_new ();
    for (long index = 0; index < count; index++) {
        s_bytes_t out = s_start (ZC_MSG_INTEREST, 0, "", NULL);
        s_put_bytes (&out, (byte []) { 0, 2, 1, 1, 'x' }, 5);
        s_finish (list, &out);
    }
    bool going = true;
    size_t sent = s_send_counted (dealer, &list, &going);
    printf ("bad-interest %zu\n", sent);
    return going? 0: 1;
}

int
main (int argc, char *argv [])
{
    static struct option options [] = {
        { "big", required_argument, NULL, 'B' },
        { "flood-self", required_argument, NULL, 'F' },
        { "hold", required_argument, NULL, 'W' },
        { "hello", required_argument, NULL, 'H' },
        { "ping", no_argument, NULL, 'P' },
        { "version", required_argument, NULL, 'V' },
        { "wire-version", no_argument, NULL, 'N' },
        { "pubsub", no_argument, NULL, 'U' },
        { "bad-interest", required_argument, NULL, 'I' },
        { "seed", required_argument, NULL, 's' },
        { "target", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 }
    };
    const char *hello = NULL, *target = NULL;
    bool ping = false, pubsub = false;
    long big = 0, flood = 0, hold = 5, bad_interest = 0, version = 0;
    int option;
    while ((option = getopt_long (argc, argv, "s:t:", options, NULL)) != -1) {
        switch (option) {
            case 'B': big = strtol (optarg, NULL, 10); break;
            case 'F': flood = strtol (optarg, NULL, 10); break;
            case 'W': hold = strtol (optarg, NULL, 10); break;
            case 'H': hello = optarg; break;
            case 'P': ping = true; break;
            case 'V': version = strtol (optarg, NULL, 10); break;
            case 'N':
                if (argc != 2) {
                    fputs (s_usage, stderr);
                    return 2;
                }
                printf ("%d\n", ZC_WIRE_VERSION);
                return 0;
            case 'U': pubsub = true; break;
            case 'I': bad_interest = strtol (optarg, NULL, 10); break;
            case 's': s_state = strtoull (optarg, NULL, 0) | 1; break;
            case 't': target = optarg; break;
            default:
                fputs (s_usage, stderr);
                return 2;
        }
    }
    bool probe = hello || ping;
    int modes = (probe? 1: 0) + (big? 1: 0) + (flood? 1: 0) + (pubsub? 1: 0) + (bad_interest? 1: 0);
    if ((hello && ping) || version < 0 || version > 255 || (version && !probe) || big < 0 || flood < 0 || hold < 0 || bad_interest < 0 || modes > 1 || (modes && target)
    ||  argc - optind != (modes? 3: 4)) {
        fputs (s_usage, stderr);
        return 2;
    }
    const char *endpoint = argv [optind];
    long count = modes? 0: strtol (argv [optind + 3], NULL, 10);
    zsys_init ();
    zsys_handler_set (NULL);
    zcert_t *server = zcert_load (argv [optind + 1]);
    zcert_t *client = zcert_load (argv [optind + 2]);
    if (!server || !client) {
        fprintf (stderr, "zc-rawsend: cannot load %s\n", argv [optind + (server? 2: 1)]);
        zcert_destroy (&server);
        zcert_destroy (&client);
        return 3;
    }
    const char *own_name = zcert_meta (client, "name");
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zcert_apply (client, dealer);
    zsock_set_curve_serverkey (dealer, zcert_public_txt (server));
    zsock_set_sndhwm (dealer, 100000);
    zsock_set_sndtimeo (dealer, S_SEND_MS);
    zsock_set_linger (dealer, S_LINGER_MS);
    zsock_set_reconnect_ivl (dealer, 100);
    zsock_set_maxmsgsize (dealer, ZC_WIRE_MAX_PAYLOAD + 65536);
    zmq_socket_monitor (zsock_resolve (dealer), "inproc://zc-rawsend-monitor",
                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                        | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    zsock_t *monitor = zsock_new_pair (">inproc://zc-rawsend-monitor");
    int status = 0;
    if (zsock_connect (dealer, "%s", endpoint) == -1) {
        fprintf (stderr, "zc-rawsend: cannot connect to %s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
        status = 2;
    }
    else {
        int handshake = s_handshake (monitor);
        fprintf (stderr, "zc-rawsend: handshake %s\n",
                 handshake == 1? "succeeded": handshake == 0? "refused": "timed out");
        if (probe) {
            zc_wire_t *msg = zc_wire_new (hello? ZC_MSG_HELLO: ZC_MSG_PING);
            if (hello)
                snprintf (msg->name, sizeof msg->name, "%s", hello);
            if (handshake == 1)
                status = s_probe (dealer, msg, (int) version);
            else {
                zc_wire_destroy (&msg);
                status = 1;
            }
        }
        else
        if (bad_interest)
            status = handshake == 1? s_bad_interest (dealer, own_name? own_name: "", bad_interest): 1;
        else
        if (pubsub) {
            const char *role = zcert_meta (client, "role");
            status = handshake == 1? s_pubsub (dealer, own_name? own_name: "", role && streq (role, "hub")): 1;
        }
        else
        if (flood)
            status = handshake == 1? s_flood_self (dealer, own_name? own_name: "", (size_t) flood, hold): 1;
        else
        if (big)
            status = handshake == 1? s_big (dealer, own_name? own_name: "", (size_t) big): 1;
        else
            status = s_garbage (dealer, count, own_name? own_name: "", target);
    }
    zmq_socket_monitor (zsock_resolve (dealer), NULL, 0);
    zsock_destroy (&monitor);
    zsock_destroy (&dealer);
    zcert_destroy (&server);
    zcert_destroy (&client);
    return status;
}
