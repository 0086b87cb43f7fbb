/*  seed_wire.c — writes the seed corpus of fuzz_wire: one encoded
    message of each type, in the input layout fuzz_wire.c expects (five
    bytes saying how to cut frames, then the frames), and each payload
    codec's output as a frame of its own. Given a second directory, also
    that of fuzz_bulk: transfers in chunks and chunk ACKs, in the input
    layout fuzz_bulk.c expects.

    Run it again when the wire layout changes (a seed the decoder rejects
    only tests the rejection):
      make tests/fuzz-seed-wire && tests/fuzz-seed-wire tests/fuzz/corpus/fuzz_wire \
          tests/fuzz/corpus/fuzz_bulk
*/
#include <czmq.h>
#include "bulk.h"
#include "facts.h"
#include "wire.h"

static const char *s_dir;

//  Writes byte 0 (frames, routing id), the cut after 'first_size', and
//  the bytes of two parts, as the file DIR/name.
static void
s_write (const char *name, uint8_t layout, const void *first, size_t first_size,
         const void *second, size_t second_size)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    FILE *file = fopen (path, "wb");
    if (!file) {
        fprintf (stderr, "seed_wire: cannot write %s\n", path);
        exit (1);
    }
    uint8_t prefix [5] = { layout, (uint8_t) (first_size >> 8), (uint8_t) first_size, 0, 0 };
    fwrite (prefix, 1, sizeof prefix, file);
    fwrite (first, 1, first_size, file);
    if (second_size)
        fwrite (second, 1, second_size, file);
    fclose (file);
}

//  One message, encoded, as one frame (and, for some, after a routing id).
static void
s_message (const char *name, zc_wire_t **wire_p)
{
    zmsg_t *msg = zc_wire_encode (*wire_p);
    zframe_t *frame = zmsg_first (msg);
    s_write (name, 1, zframe_data (frame), zframe_size (frame), NULL, 0);
    char routed [256];
    snprintf (routed, sizeof routed, "%s-routed", name);
    s_write (routed, 1 | 4, zframe_data (frame), zframe_size (frame), NULL, 0);
    zmsg_destroy (&msg);
    zc_wire_destroy (wire_p);
}

//  A PING and a payload frame, as two frames: fuzz_wire gives every
//  frame to every payload decoder.
static void
s_payload (const char *name, zframe_t **payload_p)
{
    zc_wire_t *wire = zc_wire_new (ZC_MSG_PING);
    zlist_append (wire->to, "n1");
    zmsg_t *msg = zc_wire_encode (wire);
    zframe_t *header = zmsg_first (msg);
    s_write (name, 2, zframe_data (header), zframe_size (header),
             zframe_data (*payload_p), zframe_size (*payload_p));
    zmsg_destroy (&msg);
    zc_wire_destroy (&wire);
    zframe_destroy (payload_p);
}

//  fuzz_bulk's input: [setup][size] and records [control][u16 length][frame].
static zchunk_t *s_bulk;

//  Starts an input; 'setup' and 'size' are fuzz_bulk's bytes 0 and 1.
static void
s_bulk_begin (uint8_t setup, uint8_t size)
{
    s_bulk = zchunk_new (NULL, 0);
    uint8_t head [2] = { setup, size };
    zchunk_extend (s_bulk, head, 2);
}

//  Appends a frame of the message (encoded; it must encode) and its control byte.
static void
s_bulk_frame (uint8_t control, zc_wire_t *wire)
{
    zmsg_t *msg = zc_wire_encode (wire);
    if (!msg) {
        fprintf (stderr, "seed_wire: a %s does not encode\n", zc_wire_type_name (wire->type));
        exit (1);
    }
    zframe_t *frame = zmsg_first (msg);
    uint8_t head [3] = { control, (uint8_t) (zframe_size (frame) >> 8), (uint8_t) zframe_size (frame) };
    zchunk_extend (s_bulk, head, 3);
    zchunk_extend (s_bulk, zframe_data (frame), zframe_size (frame));
    zmsg_destroy (&msg);
}

//  Writes the input as the file DIR/name.
static void
s_bulk_end (const char *dir, const char *name)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (zchunk_data (s_bulk), 1, zchunk_size (s_bulk), file) != zchunk_size (s_bulk)
    ||  fclose (file) != 0) {
        fprintf (stderr, "seed_wire: cannot write %s\n", path);
        exit (1);
    }
    zchunk_destroy (&s_bulk);
}

//  The ID of fuzz_bulk's outgoing message 'index' (as fuzz_bulk.c makes it).
static zc_id_t
s_bulk_out_id (uint8_t index)
{
    zc_id_t id;
    memcpy (id.bytes, "fuzz_bulk-out-0", ZC_ID_SIZE - 1);
    id.bytes [ZC_ID_SIZE - 1] = index;
    return id;
}

//  The chunk of 'size' bytes at 'offset' of a message of 'total' bytes
//  coming in from 'from' (stamped as a hub does); 'relayed': for party
//  origin-9.
static zc_wire_t *
s_bulk_chunk (uint8_t type, bool relayed, const char *from, size_t offset, size_t total,
              size_t size)
{
    zc_wire_t *chunk = zc_wire_new (type);
    memcpy (chunk->id.bytes, "fuzz_bulk-in-000", ZC_ID_SIZE);
    chunk->flags = ZC_FLAG_CHUNK;
    strcpy (chunk->from, from);
    zlist_append (chunk->to, "o1");
    if (relayed) {
        chunk->flags |= ZC_FLAG_RELAYED;
        zlist_append (chunk->names, "origin-9");
    }
    if (type == ZC_MSG_REQ) {
        chunk->method = ZC_METHOD_EXEC;
        chunk->method_timeout = 30;
        chunk->expire = 3600;
    }
    uint8_t *bytes = malloc (size);
    for (size_t index = 0; index < size; index++)
        bytes [index] = (uint8_t) ((offset + index) * 13);
    chunk->payload = zc_wire_chunk_payload (offset, total, bytes, size);
    free (bytes);
    return chunk;
}

//  Feeds the chunks at these offsets (in units of ZC_BULK_CHUNK; -1 ends).
static void
s_bulk_chunks (uint8_t type, bool relayed, size_t total, const int *offsets, uint8_t last_control)
{
    for (size_t index = 0; offsets [index] >= 0; index++) {
        size_t offset = (size_t) offsets [index] * ZC_BULK_CHUNK;
        size_t size = total - offset < ZC_BULK_CHUNK? total - offset: ZC_BULK_CHUNK;
        zc_wire_t *chunk = s_bulk_chunk (type, relayed, "t1", offset, total, size);
        s_bulk_frame (offsets [index + 1] < 0? last_control: 0, chunk);
        zc_wire_destroy (&chunk);
    }
}

//  An ACK from 'peer' about our message 'index': flagged CHUNK with
//  'count', or (count < 0) the message's own.
static void
s_bulk_ack (uint8_t control, uint8_t type, bool relayed, const char *peer, uint8_t index, long count)
{
    zc_wire_t *ack = zc_wire_new (ZC_MSG_ACK);
    ack->id = s_bulk_out_id (index);
    strcpy (ack->from, peer);
    zlist_append (ack->to, "n1");
    if (relayed) {
        ack->flags |= ZC_FLAG_RELAYED;
        zlist_append (ack->names, "origin-9");
    }
    if (count >= 0) {
        ack->flags |= ZC_FLAG_CHUNK;
        ack->payload = zc_wire_count_payload (type, (size_t) count);
    }
    s_bulk_frame (control, ack);
    zc_wire_destroy (&ack);
}

//  fuzz_bulk's control byte: tick after the frame at + 'seconds' (a
//  multiple of 5, at most 310), bit 1 the first message sent again, bit
//  0 the link down.
#define S_TICK(seconds) ((uint8_t) (((seconds) / 5 + 1) << 2))
#define S_AGAIN 2
#define S_DOWN  1

static void
s_bulk_seeds (const char *dir)
{
    //  Coming in: a REPLY of three chunks, in order; out of order (the
    //  third before the second, then again); each chunk twice, then
    //  forgotten after 310 s and a chunk past the start.
    size_t total = 2 * ZC_BULK_CHUNK + 100;
    s_bulk_begin (0, 0);
    s_bulk_chunks (ZC_MSG_REPLY, false, total, (int []) { 0, 1, 2, -1 }, S_TICK (0));
    s_bulk_end (dir, "reply-in-order");
    s_bulk_begin (0, 0);
    s_bulk_chunks (ZC_MSG_REPLY, false, total, (int []) { 0, 2, 1, 2, -1 }, 0);
    s_bulk_end (dir, "reply-out-of-order");
    s_bulk_begin (0, 0);
    s_bulk_chunks (ZC_MSG_REPLY, false, total, (int []) { 0, 0, 1, 1, 2, 2, -1 }, S_TICK (310));
    s_bulk_chunks (ZC_MSG_REPLY, false, total, (int []) { 1, -1 }, 0);
    s_bulk_end (dir, "reply-repeat");
    //  A REQ for a relay's target, and another of a different total
    //  under the same ID halfway through (the first is dropped), and
    //  once that one is complete, a third.
    s_bulk_begin (0, 0);
    s_bulk_chunks (ZC_MSG_REQ, true, total, (int []) { 0, -1 }, 0);
    s_bulk_chunks (ZC_MSG_REQ, true, total + 1, (int []) { 0, 1, 2, -1 }, S_TICK (5));
    s_bulk_chunks (ZC_MSG_REQ, true, total + 2, (int []) { 0, -1 }, 0);
    s_bulk_end (dir, "req-relayed-restarted");
    //  Five beginnings of 64 MiB REPLYs from five senders: the fifth is
    //  over the budget of partial messages (answered 0); 310 s later
    //  all are forgotten.
    s_bulk_begin (0, 0);
    for (int sender = 1; sender <= 5; sender++) {
        char from [8];
        snprintf (from, sizeof from, "t%d", sender);
        zc_wire_t *chunk = s_bulk_chunk (ZC_MSG_REPLY, false, from, 0, ZC_WIRE_MAX_PAYLOAD, 16);
        s_bulk_frame (sender == 5? S_TICK (310): 0, chunk);
        zc_wire_destroy (&chunk);
    }
    s_bulk_end (dir, "budget");

    //  Going out: a REPLY of three chunks (size byte 80: 36865 bytes) to
    //  o1. Progress; none (a lost chunk: back to the gap); the receiver
    //  lost it all; a stall; all there; the job's own ACK.
    size_t out_total = ZC_BULK_CHUNK + 1 + 256 * 80;
    s_bulk_begin (1, 80);
    s_bulk_ack (0, ZC_MSG_REPLY, false, "o1", 0, ZC_BULK_CHUNK);
    s_bulk_ack (0, ZC_MSG_REPLY, false, "o1", 0, ZC_BULK_CHUNK);
    s_bulk_ack (S_TICK (10), ZC_MSG_REPLY, false, "o1", 0, 0);
    s_bulk_ack (0, ZC_MSG_REPLY, false, "o1", 0, (long) out_total);
    s_bulk_ack (0, ZC_MSG_REPLY, false, "o1", 0, -1);
    s_bulk_end (dir, "acks-reply");
    //  Four relayed REQs to o1 (the third and fourth wait their turn),
    //  the first also to o2: the first ends at o1 and the third goes; o2
    //  moves on; the owner sends the first again (it waits at o1) and
    //  the second's job is ACKed (the fourth goes); 155 s later the owner
    //  no longer wants any of them.
    s_bulk_begin (4 | 8 | 16 | 32, 80);
    s_bulk_ack (0, ZC_MSG_REQ, true, "o1", 0, (long) out_total);
    s_bulk_ack (0, ZC_MSG_REQ, true, "o2", 0, 2 * ZC_BULK_CHUNK);
    s_bulk_ack (S_AGAIN, ZC_MSG_REQ, true, "o1", 1, -1);
    s_bulk_ack (S_TICK (155), ZC_MSG_REQ, true, "o1", 2, ZC_BULK_CHUNK);
    s_bulk_end (dir, "acks-req-waiting");
    //  The link down: the REPLY is not taken, nor when sent again; then
    //  it is; an ACK while the link is down again; a stall.
    s_bulk_begin (1 | 64, 80);
    s_bulk_ack (S_DOWN | S_AGAIN, ZC_MSG_REPLY, false, "o1", 0, 0);
    s_bulk_ack (S_AGAIN, ZC_MSG_REPLY, false, "o1", 0, 0);
    s_bulk_ack (S_DOWN, ZC_MSG_REPLY, false, "o1", 0, ZC_BULK_CHUNK);
    s_bulk_ack (S_TICK (10), ZC_MSG_REPLY, false, "o1", 0, ZC_BULK_CHUNK);
    s_bulk_end (dir, "link-down");
    //  A REPLY of 65 chunks (size byte 255, large: 1061630 bytes): the
    //  window holds it at 32 chunks; progress lets 5 more go, then the
    //  receiver holds it all.
    s_bulk_begin (1 | 128, 255);
    s_bulk_ack (0, ZC_MSG_REPLY, false, "o1", 0, 5 * ZC_BULK_CHUNK);
    s_bulk_ack (0, ZC_MSG_REPLY, false, "o1", 0, ZC_BULK_CHUNK + 1 + 4099 * 255);
    s_bulk_end (dir, "window");
}

int
main (int argc, char *argv [])
{
    if (argc != 2 && argc != 3) {
        fprintf (stderr, "usage: %s WIRE-DIR [BULK-DIR]\n", argv [0]);
        return 2;
    }
    s_dir = argv [1];
    if (argc == 3)
        s_bulk_seeds (argv [2]);

    zc_wire_t *wire = zc_wire_new (ZC_MSG_HELLO);
    strcpy (wire->name, "agent.7");
    wire->flags = ZC_FLAG_FULL;
    s_message ("hello", &wire);

    //  Version 5: what a node advertises, in its HELLO and in NODES.
    zc_facts_t *facts = zc_facts_new ();
    const char *problem;
    if (zc_facts_set (facts, "arch", "x86_64", &problem) || zc_facts_set (facts, "env", "prod", &problem)
    ||  zc_facts_add_function (facts, "machine-info", &problem)) {
        fprintf (stderr, "seed_wire: facts: %s\n", problem);
        return 1;
    }
    zframe_t *facts_frame = zc_facts_encode (facts);
    zc_facts_destroy (&facts);
    wire = zc_wire_new (ZC_MSG_HELLO);
    strcpy (wire->name, "web-1");
    wire->flags = ZC_FLAG_FULL;
    wire->payload = zframe_dup (facts_frame);
    s_message ("hello-facts", &wire);

    wire = zc_wire_new (ZC_MSG_REQ);
    strcpy (wire->from, "hub-1");
    zlist_append (wire->to, "web-1");
    zlist_append (wire->to, "n1.site1");
    wire->method = ZC_METHOD_EXEC;
    wire->method_timeout = 30;
    wire->expire = 86400;
    zlist_t *args = zlist_new ();
    zlist_append (args, "uptime");
    wire->payload = zc_wire_req_payload (args, (const uint8_t *) "stdin", 5);
    s_message ("req", &wire);

    wire = zc_wire_new (ZC_MSG_REQ);
    zlist_append (wire->to, "web-1");
    wire->method = ZC_METHOD_EXEC;
    wire->expire = 86400;
    zc_schedule_spec_t schedule = { .interval = 60, .count = 24 };
    wire->payload = zc_wire_req_payload_scheduled (args, NULL, 0, &schedule);
    s_message ("req-schedule", &wire);

    wire = zc_wire_new (ZC_MSG_REQ);
    wire->flags = ZC_FLAG_CUSTODY;
    zlist_append (wire->to, "relay1");
    zlist_append (wire->names, "n2");
    wire->method = ZC_METHOD_PING;
    wire->payload = zc_wire_req_payload (NULL, NULL, 0);
    s_message ("req-custody", &wire);

    zc_result_t *result = zc_result_new ();
    result->state = ZC_STATE_DONE;
    result->exit_code = 3;
    result->finished_ms = 1700000000000ULL;
    result->out = (uint8_t *) strdup ("hello\n");
    result->out_size = 6;
    result->error = strdup ("exit 3");
    result->http_status = 200;
    wire = zc_wire_new (ZC_MSG_REPLY);
    zlist_append (wire->to, "origin");
    wire->payload = zc_wire_result_payload (result);
    s_message ("reply", &wire);

    zc_id_t ids [2];
    zc_id_generate (&ids [0]);
    zc_id_generate (&ids [1]);
    wire = zc_wire_new (ZC_MSG_ACK);
    zlist_append (wire->to, "origin");
    wire->payload = zc_wire_ids_payload (ids, 2);
    s_message ("ack", &wire);

    zc_node_entry_t entries [2] = {
        { .name = "web-1", .online = true, .last_seen = 1700000000, .via = "",
          .facts = zframe_data (facts_frame), .facts_size = zframe_size (facts_frame) },
        { .name = "n1.site1", .online = false, .last_seen = 1700000100, .via = "hub1>site1" }
    };
    wire = zc_wire_new (ZC_MSG_NODES);
    wire->flags = ZC_FLAG_FULL;
    wire->payload = zc_wire_nodes_payload (entries, 2);
    s_message ("nodes", &wire);

    wire = zc_wire_new (ZC_MSG_PRESENCE);
    wire->online = 1;
    zlist_append (wire->names, "web-2");
    s_message ("presence", &wire);

    wire = zc_wire_new (ZC_MSG_NOROUTE);
    zlist_append (wire->names, "n9");
    s_message ("noroute", &wire);

    wire = zc_wire_new (ZC_MSG_ERROR);
    wire->code = ZC_ERR_BAD_NAME;
    wire->text = strdup ("name web-1 is not bound to this key");
    s_message ("error", &wire);

    wire = zc_wire_new (ZC_MSG_PING);
    zlist_append (wire->to, "n1");
    s_message ("ping", &wire);

    //  Version 3: CREDIT marks and their echoes, chunks and their ACKs.
    wire = zc_wire_new (ZC_MSG_CREDIT);
    wire->credit = 0x0102030405060708ULL;
    s_message ("credit", &wire);
    wire = zc_wire_new (ZC_MSG_CREDIT);
    wire->flags = ZC_FLAG_ECHO;
    wire->credit = 42;
    s_message ("credit-echo", &wire);

    uint8_t bytes [100];
    for (size_t index = 0; index < sizeof bytes; index++)
        bytes [index] = (uint8_t) index;
    wire = zc_wire_new (ZC_MSG_REPLY);
    wire->flags = ZC_FLAG_CHUNK;
    strcpy (wire->from, "t1");
    zlist_append (wire->to, "origin");
    wire->payload = zc_wire_chunk_payload (2 * ZC_BULK_CHUNK, 2 * ZC_BULK_CHUNK + 100, bytes, 100);
    s_message ("reply-chunk", &wire);
    wire = zc_wire_new (ZC_MSG_REQ);
    wire->flags = ZC_FLAG_CHUNK | ZC_FLAG_RELAYED;
    zlist_append (wire->to, "t1");
    zlist_append (wire->names, "origin");
    wire->method = ZC_METHOD_EXEC;
    wire->payload = zc_wire_chunk_payload (0, 2 * ZC_BULK_CHUNK, bytes, 100);
    s_message ("req-chunk-relayed", &wire);
    wire = zc_wire_new (ZC_MSG_ACK);
    wire->flags = ZC_FLAG_CHUNK;
    zlist_append (wire->to, "t1");
    wire->payload = zc_wire_count_payload (ZC_MSG_REPLY, ZC_BULK_CHUNK);
    s_message ("ack-chunk", &wire);

    //  Version 6: ENROLL (key enrollment).
    wire = zc_wire_new (ZC_MSG_ENROLL);
    strcpy (wire->name, "web-9");
    for (int index = 0; index < 32; index++) {
        wire->curve_key [index] = (uint8_t) (index * 7);
        wire->sign_key [index] = (uint8_t) (index * 13);
    }
    s_message ("enroll", &wire);
    wire = zc_wire_new (ZC_MSG_ERROR);
    wire->code = ZC_ERR_PENDING;
    wire->text = strdup ("hub hub1 holds the enrollment request of web-9");
    s_message ("error-pending", &wire);

    //  Version 4: pub/sub.
    zlist_t *items = zlist_new ();
    zlist_append (items, zframe_new ("a line", 6));
    zlist_append (items, zframe_new ("", 0));
    zc_pub_payload_t pub = { .mode = 1, .items = items };
    memset (pub.signature, 7, sizeof pub.signature);
    wire = zc_wire_new (ZC_MSG_PUB);
    strcpy (wire->from, "n1");
    wire->subject = strdup ("logs.n1.app");
    wire->retain = 60;
    wire->seq = 41;
    wire->payload = zc_wire_pub_payload (&pub);
    s_message ("pub", &wire);
    wire = zc_wire_new (ZC_MSG_PUB);
    strcpy (wire->from, "h1");
    zlist_append (wire->to, "h2");
    wire->subject = strdup ("$sys.online.n1");
    pub.mode = 0;
    wire->payload = zc_wire_pub_payload (&pub);
    s_message ("pub-hubs", &wire);
    wire = zc_wire_new (ZC_MSG_SUB);
    wire->flags = ZC_FLAG_FULL;
    zlist_append (wire->patterns, "logs.*.app");
    zlist_append (wire->patterns, "$sys.nodes");
    s_message ("sub", &wire);
    wire = zc_wire_new (ZC_MSG_UNSUB);
    zlist_append (wire->patterns, "a.>");
    s_message ("unsub", &wire);
    zc_interest_entry_t interest [2] = {
        { .hub = "h3", .pattern = "logs.>", .online = true, .via = "h2>h3" },
        { .hub = "h2", .pattern = "a.*", .online = false, .via = "" }
    };
    wire = zc_wire_new (ZC_MSG_INTEREST);
    wire->flags = ZC_FLAG_FULL | ZC_FLAG_MORE;
    wire->payload = zc_wire_interest_payload (interest, 2);
    s_message ("interest", &wire);
    wire = zc_wire_new (ZC_MSG_STORED);
    zlist_append (wire->to, "n1");
    wire->subject = strdup ("logs.n1.app");
    wire->seq = 1000;
    s_message ("stored", &wire);

    //  Version 5: a STREAM chunk (its payload sealed for the origin in
    //  life, in clear here) and its acknowledgment.
    zc_id_generate (&ids [0]);
    wire = zc_wire_new (ZC_MSG_STREAM);
    wire->id = ids [0];
    strcpy (wire->from, "t1");
    zlist_append (wire->to, "o1");
    wire->seq = 7;
    wire->payload = zc_wire_stream_payload (ZC_STREAM_STDOUT, (const uint8_t *) "line\n", 5);
    s_message ("stream", &wire);
    wire = zc_wire_new (ZC_MSG_STREAM);
    wire->id = ids [0];
    wire->flags = ZC_FLAG_STREAM_ACK;
    strcpy (wire->from, "o1");
    zlist_append (wire->to, "t1");
    wire->seq = 7;
    s_message ("stream-ack", &wire);

    zframe_t *payload = zc_wire_req_payload (args, (const uint8_t *) "", 0);
    s_payload ("payload-req", &payload);
    payload = zc_wire_result_payload (result);
    s_payload ("payload-reply", &payload);
    payload = zc_wire_ids_payload (ids, 1);
    s_payload ("payload-ack", &payload);
    payload = zc_wire_nodes_payload (entries, 2);
    s_payload ("payload-nodes", &payload);
    payload = zc_wire_interest_payload (interest, 2);
    s_payload ("payload-interest", &payload);
    pub.mode = 1;
    payload = zc_wire_pub_payload (&pub);
    s_payload ("payload-pub", &payload);
    payload = zframe_dup (facts_frame);
    s_payload ("payload-facts", &payload);
    payload = zc_wire_stream_payload (ZC_STREAM_STDOUT, (const uint8_t *) "y\ny\n", 4);
    s_payload ("payload-stream", &payload);
    payload = zc_wire_stream_payload (ZC_STREAM_STDERR, bytes, sizeof bytes);
    s_payload ("payload-stream-stderr", &payload);
    zframe_t *item;
    while ((item = zlist_pop (items)))
        zframe_destroy (&item);
    zlist_destroy (&items);

    zlist_destroy (&args);
    zc_result_destroy (&result);
    zframe_destroy (&facts_frame);
    return 0;
}
