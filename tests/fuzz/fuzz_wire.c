/*  fuzz_wire.c — libFuzzer target for the wire decoders.

    The input is cut into one to three frames and given to zc_wire_decode
    (sometimes after a routing id frame, as a ROUTER receives it) and to
    every payload decoder (REQ, REPLY, ACK ids, NODES, INTEREST, PUB and
    STREAM chunks). Besides not crashing, whatever decodes must encode
    back to exactly the same bytes: the encoding is canonical.

    Build and run (from the top of the tree):
      clang -g -O1 -fsanitize=fuzzer,address -D_GNU_SOURCE -Iinclude \
          tests/fuzz/fuzz_wire.c src/wire.c src/subject.c src/id.c src/target.c \
          src/job.c src/log.c -lczmq -lzmq -lsodium -o fuzz_wire
      ./fuzz_wire -max_total_time=60 [CORPUS_DIR]
*/
#include <czmq.h>
#include "wire.h"

//  Aborts (a finding for libFuzzer) when frame and the re-encoding differ.
static void
s_require_same (zframe_t *again, zframe_t *frame)
{
    if (!zframe_eq (again, frame))
        abort ();
}

static void
s_payload_decoders (zframe_t *frame)
{
    zlist_t *args;
    uint8_t *data;
    size_t size;
    zc_schedule_spec_t schedule;
    if (zc_wire_req_payload_decode (frame, &args, &data, &size) == 0) {
        if (zc_wire_req_payload_schedule (frame, &schedule) != 0)
            abort ();
        zframe_t *again = zc_wire_req_payload_scheduled (args, data, size, &schedule);
        s_require_same (again, frame);
        zframe_destroy (&again);
        zlist_destroy (&args);
        free (data);
    }
    else
    if (zc_wire_req_payload_schedule (frame, &schedule) == 0)
        abort ();
    zc_result_t *result;
    if (zc_wire_result_payload_decode (frame, &result) == 0) {
        zframe_t *again = zc_wire_result_payload (result);
        s_require_same (again, frame);
        zframe_destroy (&again);
        zc_result_destroy (&result);
    }
    zc_id_t *ids;
    size_t id_count;
    if (zc_wire_ids_payload_decode (frame, &ids, &id_count) == 0) {
        zframe_t *again = zc_wire_ids_payload (ids, id_count);
        s_require_same (again, frame);
        zframe_destroy (&again);
        free (ids);
    }
    zc_node_entry_t *entries;
    size_t count;
    if (zc_wire_nodes_payload_decode (frame, &entries, &count) == 0) {
        zframe_t *again = zc_wire_nodes_payload (entries, count);
        s_require_same (again, frame);
        zframe_destroy (&again);
        free (entries);
    }
    zc_interest_entry_t *interest;
    if (zc_wire_interest_payload_decode (frame, &interest, &count) == 0) {
        zframe_t *again = zc_wire_interest_payload (interest, count);
        s_require_same (again, frame);
        zframe_destroy (&again);
        free (interest);
    }
    zc_pub_payload_t pub;
    if (zc_wire_pub_payload_decode (frame, &pub) == 0) {
        zframe_t *again = zc_wire_pub_payload (&pub);
        s_require_same (again, frame);
        zframe_destroy (&again);
        zc_wire_pub_payload_clear (&pub);
    }
    //  A STREAM chunk's payload (what the origin reads once the envelope
    //  is open): the bytes must lie inside the frame, within the limit.
    int stream;
    const uint8_t *bytes;
    if (zc_wire_stream_payload_decode (frame, &stream, &bytes, &size) == 0) {
        if ((stream != ZC_STREAM_STDOUT && stream != ZC_STREAM_STDERR && stream != ZC_STREAM_COPY)
        ||  (stream == ZC_STREAM_COPY && size < ZC_STREAM_HASH) || size > ZC_STREAM_MAX_CHUNK
        ||  bytes < zframe_data (frame) || bytes + size > zframe_data (frame) + zframe_size (frame))
            abort ();
        zframe_t *again = zc_wire_stream_payload (stream, bytes, size);
        s_require_same (again, frame);
        zframe_destroy (&again);
    }
}

//  Byte 0: bits 0-1 the frame count (0 and 3 both mean 3), bit 2 a
//  routing id frame in front. Bytes 1-2 and 3-4: where the second and
//  third frames start (modulo the remaining length).
int
LLVMFuzzerTestOneInput (const uint8_t *input, size_t size)
{
    if (size < 5)
        return 0;
    size_t frames = input [0] & 3? input [0] & 3: 3;
    bool routed = (input [0] & 4) != 0;
    size_t cut1 = (size_t) input [1] << 8 | input [2];
    size_t cut2 = (size_t) input [3] << 8 | input [4];
    input += 5;
    size -= 5;
    size_t first_size = frames > 1? cut1 % (size + 1): size;
    size_t rest = size - first_size;
    size_t second_size = frames > 2? cut2 % (rest + 1): rest;

    zmsg_t *msg = zmsg_new ();
    if (routed)
        zmsg_addstr (msg, "routing-id");
    zmsg_addmem (msg, input, first_size);
    if (frames > 1)
        zmsg_addmem (msg, input + first_size, second_size);
    if (frames > 2)
        zmsg_addmem (msg, input + first_size + second_size, rest - second_size);

    zframe_t *header = zmsg_first (msg);
    if (routed)
        header = zmsg_next (msg);
    const char *reason = NULL;
    zc_wire_t *wire = zc_wire_decode (msg, header, &reason);
    if (wire) {
        zmsg_t *again = zc_wire_encode (wire);
        if (!again)
            abort ();
        s_require_same (zmsg_first (again), header);
        zc_wire_destroy (&wire);
        zmsg_destroy (&again);
    }
    else
    if (!reason)
        abort ();
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg))
        s_payload_decoders (frame);
    zmsg_destroy (&msg);
    return 0;
}
