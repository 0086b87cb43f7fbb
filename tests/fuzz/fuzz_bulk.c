/*  fuzz_bulk.c — libFuzzer target for the reassembly of large REQs and
    REPLYs from chunks (src/bulk.c), which agents and hubs run on chunks
    and chunk ACKs that peers sent.

    One zc_bulk_t per input, whose send callback checks and destroys what
    it is given (and, while the input says the link is down, returns -1).
    The input:
      byte 0   what goes out before the frames (zc_bulk_send): bits 0-2
               how many messages to peer o1 (0 to 4; 5 to 7 mean 4), IDs
               S_OUT_ID with the last byte 0, 1, ... (from the third on,
               they wait their turn); bit 3 REQs, else REPLYs; bit 4
               flagged RELAYED for party origin-9; bit 5 the first also
               to o2; bit 6 the link is down while they are taken; bit 7
               a larger payload (below), for one message at most.
      byte 1   their payload size: ZC_BULK_CHUNK + 1 + 256 * byte 1 (up
               to 5 chunks), or with bit 7, ZC_BULK_CHUNK + 1 + 4099 *
               byte 1 (up to 65 chunks: past a window; copies of large
               payloads are what costs most time).
      then up to S_MAX_FRAMES records [u8 control][u16 BE length][frame]
               (a short last frame is what is left). Control bit 0: the
               link is down while this frame is handled; bit 1: the owner
               sends the first message again first (S_MAX_AGAIN times
               at most: each is a copy of the payload); bits 2-7, when not
               0: zc_bulk_tick after the frame, at zclock_mono () +
               (value - 1) * 5 s (0 to 310 s).
    Each frame goes to zc_wire_decode. A REQ or REPLY flagged CHUNK goes
    to zc_bulk_on_chunk, an ACK flagged CHUNK to zc_bulk_on_ack, any
    other ACK to zc_bulk_forget (as its owner does when a job is ACKed);
    the rest is dropped. tests/fuzz-seed-wire writes the seeds.

    Memory: a chunk at offset 0 makes the receiver allocate the total it
    declares (up to 64 MiB, and under ASan each such block costs tens of
    ms). So the harness hands on at most S_MAX_LARGE (5) chunks per input
    at offset 0 that declare more than S_LARGE (1 MiB), and skips later
    ones: an input allocates at most 5 x 64 MiB plus 1 MiB per frame, and
    bulk itself holds at most ZC_BULK_MAX_BYTES (256 MiB) at once. Five,
    so that the refusal over that bound is still reached (seed budget).

    Besides not crashing, it checks (and aborts when one fails):
    - a chunk is reported malformed exactly when its counts are
      inconsistent (total not in (ZC_BULK_CHUNK, ZC_WIRE_MAX_PAYLOAD],
      bytes past the total), it names no sender or not one target;
    - each chunk not malformed is answered by exactly one ACK, flagged
      CHUNK, to its sender, about its type and ID, counting at most its
      total, and encodable; a malformed one by nothing;
    - a whole message comes back only from the chunk that completes it:
      its type, ID and sender, no CHUNK flag, a payload of exactly the
      declared total (> ZC_BULK_CHUNK, <= ZC_WIRE_MAX_PAYLOAD) that ends
      with that chunk's bytes, and the ACK counts the total;
    - zc_bulk_receiving never exceeds the transfers started (chunks at
      offset 0 not malformed) less the whole messages returned;
    - a REPLY of ZC_BULK_CHUNK bytes is not taken (-1, left alone); a
      large one is (1; 0 only while the link is down), and destroyed;
    - what goes out while sending, on an ACK, forget or tick is only
      chunks of our messages, to their peers, encodable, with the right
      total and exactly the bytes of the payload at their offset, at most
      ZC_BULK_WINDOW per ACK, forget or send to each peer, and
      ZC_BULK_PARALLEL windows per tick to each peer;
      zc_bulk_sending never exceeds the transfers taken (one per message
      and peer).

    Build and run: make fuzz (tests/fuzz/README.md).
*/
#include <czmq.h>
#include "bulk.h"

#define S_MAX_FRAMES    512
#define S_LARGE         (1u << 20)
#define S_MAX_LARGE     5
#define S_MAX_AGAIN     4
#define S_MAX_OUT_SIZE  (ZC_BULK_CHUNK + 1 + 4099 * 255)

//  The bytes of our payloads: the first 'size' of these.
static uint8_t s_pattern [S_MAX_OUT_SIZE];

//  The first 15 bytes of the outgoing messages' IDs (tests/fuzz/seed_wire.c
//  writes ACKs about them).
static const uint8_t S_OUT_ID [ZC_ID_SIZE] = "fuzz_bulk-out-0";

//  What the send callback expects, and what it saw.
typedef enum { S_OUTGOING, S_ANSWERING } s_phase_t;
static struct {
    s_phase_t phase;
    bool down;                  //  the link refuses what it is given
    zc_wire_t *chunk;           //  S_ANSWERING: the chunk being answered
    size_t chunk_total;
    size_t acks, last_count;    //  ACKs sent, the last one's count
    size_t chunks;              //  chunks sent
    size_t chunks_to [2];       //  of which to o1, to o2
    uint8_t out_type;           //  S_OUTGOING: our messages
    bool out_relayed;
    size_t out_ids;             //  IDs in use (last byte 0 .. out_ids - 1)
    zframe_t *out_payload;
} s_ctx;

static void
s_require (bool condition)
{
    if (!condition)
        abort ();
}

static bool
s_encodable (zc_wire_t *msg)
{
    zmsg_t *encoded = zc_wire_encode (msg);
    bool encodable = encoded != NULL;
    zmsg_destroy (&encoded);
    return encodable;
}

static bool
s_is_out_id (const zc_id_t *id)
{
    return memcmp (id->bytes, S_OUT_ID, ZC_ID_SIZE - 1) == 0
        && id->bytes [ZC_ID_SIZE - 1] < s_ctx.out_ids;
}

//  An ACK that answers s_ctx.chunk.
static void
s_check_ack (zc_wire_t *ack)
{
    zc_wire_t *chunk = s_ctx.chunk;
    s_require (ack->type == ZC_MSG_ACK);
    s_require (ack->flags == (chunk->flags & (ZC_FLAG_CHUNK | ZC_FLAG_CUSTODY | ZC_FLAG_RELAYED)));
    s_require (zc_id_equal (&ack->id, &chunk->id));
    s_require (zlist_size (ack->to) == 1 && streq (zlist_first (ack->to), chunk->from));
    uint8_t type;
    size_t count;
    s_require (zc_wire_count_payload_decode (ack->payload, &type, &count) == 0);
    s_require (type == chunk->type && count <= s_ctx.chunk_total);
    s_require (s_encodable (ack));
    s_ctx.acks++;
    s_ctx.last_count = count;
}

//  A chunk of one of our messages.
static void
s_check_chunk (zc_wire_t *chunk)
{
    s_require (chunk->type == s_ctx.out_type && (chunk->flags & ZC_FLAG_CHUNK));
    s_require (((chunk->flags & ZC_FLAG_RELAYED) != 0) == s_ctx.out_relayed);
    s_require (s_is_out_id (&chunk->id) && chunk->from [0] == 0);
    s_require (zlist_size (chunk->to) == 1);
    const char *peer = zlist_first (chunk->to);
    s_require (streq (peer, "o1") || streq (peer, "o2"));
    size_t offset, total, size;
    const uint8_t *bytes;
    s_require (zc_wire_chunk_payload_decode (chunk->payload, &offset, &total, &bytes, &size) == 0);
    size_t whole = zframe_size (s_ctx.out_payload);
    s_require (total == whole && offset < total);
    s_require (size == (total - offset < ZC_BULK_CHUNK? total - offset: ZC_BULK_CHUNK));
    s_require (memcmp (bytes, zframe_data (s_ctx.out_payload) + offset, size) == 0);
    s_require (s_encodable (chunk));
    s_ctx.chunks++;
    s_ctx.chunks_to [streq (peer, "o2")]++;
}

static int
s_send (zc_wire_t **msg_p, void *arg)
{
    (void) arg;
    if (s_ctx.phase == S_ANSWERING)
        s_check_ack (*msg_p);
    else
        s_check_chunk (*msg_p);
    zc_wire_destroy (msg_p);
    return s_ctx.down? -1: 0;
}

//  Our message number 'index' (0 .. 3), to o1 (and, 'both', o2).
static zc_wire_t *
s_out_message (size_t index, bool both)
{
    zc_wire_t *msg = zc_wire_new (s_ctx.out_type);
    memcpy (msg->id.bytes, S_OUT_ID, ZC_ID_SIZE - 1);
    msg->id.bytes [ZC_ID_SIZE - 1] = (uint8_t) index;
    zlist_append (msg->to, "o1");
    if (both)
        zlist_append (msg->to, "o2");
    if (s_ctx.out_relayed) {
        msg->flags |= ZC_FLAG_RELAYED;
        zlist_append (msg->names, "origin-9");
    }
    msg->payload = zframe_dup (s_ctx.out_payload);
    return msg;
}

//  Hands a message to send; checks that it was taken (or, with the link
//  down, perhaps not), and destroyed either way.
static void
s_send_out (zc_bulk_t *bulk, zc_wire_t *msg)
{
    s_ctx.phase = S_OUTGOING;
    s_ctx.chunks = s_ctx.chunks_to [0] = s_ctx.chunks_to [1] = 0;
    int taken = zc_bulk_send (bulk, &msg);
    s_require ((taken == 1 || (taken == 0 && s_ctx.down)) && msg == NULL);
    s_require (s_ctx.chunks_to [0] <= ZC_BULK_WINDOW && s_ctx.chunks_to [1] <= ZC_BULK_WINDOW);
}

//  The counts of a chunk, as zc_bulk_on_chunk must judge them.
static bool
s_well_formed (zc_wire_t *chunk, size_t *offset, size_t *total, const uint8_t **bytes,
               size_t *size)
{
    return zc_wire_chunk_payload_decode (chunk->payload, offset, total, bytes, size) == 0
        && *total > ZC_BULK_CHUNK && *total <= ZC_WIRE_MAX_PAYLOAD
        && *size <= ZC_BULK_CHUNK && *offset <= *total && *size <= *total - *offset
        && chunk->from [0] && zlist_size (chunk->to) == 1;
}

int
LLVMFuzzerTestOneInput (const uint8_t *input, size_t size)
{
    if (size < 2)
        return 0;
    memset (&s_ctx, 0, sizeof s_ctx);
    if (!s_pattern [1])
        for (size_t index = 0; index < S_MAX_OUT_SIZE; index++)
            s_pattern [index] = (uint8_t) (index * 7 + index / 251);
    uint8_t setup = input [0];
    size_t out_count = (setup & 7) < 4? setup & 7: 4;
    if ((setup & 128) && out_count > 1)
        out_count = 1;
    s_ctx.out_type = (setup & 8)? ZC_MSG_REQ: ZC_MSG_REPLY;
    s_ctx.out_relayed = (setup & 16) != 0;
    bool also_o2 = (setup & 32) != 0;
    s_ctx.out_ids = out_count;
    size_t out_size = ZC_BULK_CHUNK + 1 + ((setup & 128)? 4099: 256) * (size_t) input [1];
    s_ctx.out_payload = zframe_new (s_pattern, out_size);
    input += 2;
    size -= 2;

    zc_bulk_t *bulk = zc_bulk_new (s_send, NULL);
    zc_wire_t *small = zc_wire_new (ZC_MSG_REPLY);
    zlist_append (small->to, "o1");
    small->payload = zframe_new (s_pattern, ZC_BULK_CHUNK);
    s_require (zc_bulk_send (bulk, &small) == -1 && small);
    zc_wire_destroy (&small);
    s_ctx.down = (setup & 64) != 0;
    for (size_t index = 0; index < out_count; index++)
        s_send_out (bulk, s_out_message (index, index == 0 && also_o2));
    size_t taken = out_count + (out_count && also_o2);
    s_require (zc_bulk_sending (bulk) <= taken);

    size_t started = 0, wholes = 0, large = 0, again = 0;
    for (size_t frames = 0; frames < S_MAX_FRAMES && size >= 3; frames++) {
        uint8_t control = input [0];
        size_t length = (size_t) input [1] << 8 | input [2];
        input += 3;
        size -= 3;
        if (length > size)
            length = size;
        s_ctx.down = (control & 1) != 0;
        if ((control & 2) && out_count && again++ < S_MAX_AGAIN)
            s_send_out (bulk, s_out_message (0, also_o2));

        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, input, length);
        input += length;
        size -= length;
        const char *reason = NULL;
        zc_wire_t *wire = zc_wire_decode (msg, zmsg_first (msg), &reason);
        zmsg_destroy (&msg);
        s_require (wire || reason);

        size_t offset, total, bytes_size;
        const uint8_t *bytes;
        if (wire && zc_wire_is_bulk (wire)) {
            bool well_formed = s_well_formed (wire, &offset, &total, &bytes, &bytes_size);
            bool skip = false;
            if (well_formed && offset == 0 && total > S_LARGE)
                skip = large++ >= S_MAX_LARGE;
            if (!skip) {
                s_ctx.phase = S_ANSWERING;
                s_ctx.chunk = wire;
                s_ctx.chunk_total = total;
                s_ctx.acks = 0;
                bool malformed = false;
                zc_wire_t *whole = zc_bulk_on_chunk (bulk, wire, &malformed);
                s_ctx.chunk = NULL;
                s_require (malformed == !well_formed);
                s_require (s_ctx.acks == (malformed? 0: 1));
                started += well_formed && offset == 0;
                if (whole) {
                    wholes++;
                    s_require (!malformed && s_ctx.last_count == total);
                    s_require (whole->type == wire->type && !(whole->flags & ZC_FLAG_CHUNK));
                    s_require (zc_id_equal (&whole->id, &wire->id) && streq (whole->from, wire->from));
                    s_require (whole->payload && zframe_size (whole->payload) == total);
                    s_require (total > ZC_BULK_CHUNK && total <= ZC_WIRE_MAX_PAYLOAD);
                    s_require (offset + bytes_size == total);
                    s_require (memcmp (zframe_data (whole->payload) + offset, bytes, bytes_size) == 0);
                    zc_wire_destroy (&whole);
                }
            }
        }
        else
        if (wire && wire->type == ZC_MSG_ACK) {
            s_ctx.phase = S_OUTGOING;
            s_ctx.chunks = 0;
            if (wire->flags & ZC_FLAG_CHUNK)
                zc_bulk_on_ack (bulk, wire);
            else {
                const char *party = (wire->flags & (ZC_FLAG_CUSTODY | ZC_FLAG_RELAYED))?
                                    zlist_first (wire->names): NULL;
                zc_bulk_forget (bulk, &wire->id, wire->from, party);
            }
            s_require (s_ctx.chunks <= ZC_BULK_WINDOW);
        }
        zc_wire_destroy (&wire);

        if (control >> 2) {
            s_ctx.phase = S_OUTGOING;
            s_ctx.chunks = s_ctx.chunks_to [0] = s_ctx.chunks_to [1] = 0;
            zc_bulk_tick (bulk, zclock_mono () + (uint64_t) ((control >> 2) - 1) * 5000);
            s_require (s_ctx.chunks_to [0] <= ZC_BULK_PARALLEL * ZC_BULK_WINDOW
                    && s_ctx.chunks_to [1] <= ZC_BULK_PARALLEL * ZC_BULK_WINDOW);
        }
        s_require (wholes <= started && zc_bulk_receiving (bulk) <= started - wholes);
        s_require (zc_bulk_sending (bulk) <= taken);
    }
    zc_bulk_destroy (&bulk);
    zframe_destroy (&s_ctx.out_payload);
    return 0;
}
