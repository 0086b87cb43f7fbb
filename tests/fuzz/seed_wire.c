/*  seed_wire.c — writes the seed corpus of fuzz_wire: one encoded
    message of each type, in the input layout fuzz_wire.c expects (five
    bytes saying how to cut frames, then the frames), and each payload
    codec's output as a frame of its own.

    Run it again when the wire layout changes:
      make tests/fuzz-seed-wire && tests/fuzz-seed-wire tests/fuzz/corpus/fuzz_wire
*/
#include <czmq.h>
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

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: %s DIR\n", argv [0]);
        return 2;
    }
    s_dir = argv [1];

    zc_wire_t *wire = zc_wire_new (ZC_MSG_HELLO);
    strcpy (wire->name, "agent.7");
    wire->flags = ZC_FLAG_FULL;
    s_message ("hello", &wire);

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

    zc_node_entry_t entries [2] = { { "web-1", true, 1700000000, "" },
                                    { "n1.site1", false, 1700000100, "hub1>site1" } };
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

    zframe_t *payload = zc_wire_req_payload (args, (const uint8_t *) "", 0);
    s_payload ("payload-req", &payload);
    payload = zc_wire_result_payload (result);
    s_payload ("payload-reply", &payload);
    payload = zc_wire_ids_payload (ids, 1);
    s_payload ("payload-ack", &payload);
    payload = zc_wire_nodes_payload (entries, 2);
    s_payload ("payload-nodes", &payload);

    zlist_destroy (&args);
    zc_result_destroy (&result);
    return 0;
}
