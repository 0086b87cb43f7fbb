/*  fuzz_seal.c — libFuzzer target for the end-to-end envelopes (src/seal.c),
    which agents open on bytes a hub or relay handed them.

    Keys for an origin o1 and a target t1 are made once, in a scratch
    directory. The first input byte picks what the input is taken as:
    even, a REQ envelope that t1 opens (with bit 5 set, the header's tag
    for t1 is the first 16 bytes of the rest); odd, a REPLY envelope that
    o1 opens, or with bit 6 set a STREAM chunk from t1 that o1 opens
    (bit 7 and bits 2-4 its number); the other bits pick header fields
    (method, relay, the REFUSED bit) so that they vary too. The rest is the envelope. Besides not
    crashing: nothing a fuzzer makes may open (it has no key), except a
    PLAIN envelope at an end with e2e off, and what does open must give
    back exactly the bytes after the mode byte.

    Build and run: make fuzz (tests/fuzz/README.md).
*/
#include <stdlib.h>
#include <czmq.h>
#include <sodium.h>
#include "keys.h"
#include "seal.h"

static zc_keyring_t *s_keyring;
static zc_seal_t *s_origin, *s_target, *s_clear;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    zsys_init ();
    zsys_handler_set (NULL);
    char dir [] = "/tmp/zc-fuzz-seal-XXXXXX";
    if (!mkdtemp (dir) || zc_keygen (dir, "o1", false, NULL) || zc_keygen (dir, "t1", false, NULL))
        abort ();
    s_keyring = zc_keyring_load (dir, NULL);
    s_origin = zc_seal_load (dir, "o1", s_keyring, true, NULL);
    s_target = zc_seal_load (dir, "t1", s_keyring, true, NULL);
    s_clear = zc_seal_load (dir, "t1", s_keyring, false, NULL);
    if (!s_keyring || !s_origin || !s_target || !s_clear)
        abort ();
    const char *files [] = { "o1.cert", "o1.cert_secret", "t1.cert", "t1.cert_secret" };
    for (size_t index = 0; index < 4; index++) {
        char *path = zsys_sprintf ("%s/%s", dir, files [index]);
        unlink (path);
        zstr_free (&path);
    }
    rmdir (dir);
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *input, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t pick = input [0];
    const uint8_t *tag = NULL;
    if ((pick & 0x21) == 0x20 && size >= 1 + 16) {
        tag = input + 1;
        input += 16;
        size -= 16;
    }
    zframe_t *envelope = zframe_new (input + 1, size - 1);
    zc_id_t id;
    memset (&id, pick, sizeof id);
    zc_seal_about_t about = {
        .id = &id, .origin = "o1", .target = "t1", .relay = (pick & 2)? "gw1": "",
        .method = (pick >> 2) & 7, .method_timeout = 30, .expire = 86400
    };
    zframe_t *payload = NULL;
    char reason [256];
    bool opened, clear_opened = false;
    if ((pick & 1) == 0) {
        opened = zc_seal_open_req (s_target, &about, envelope, tag, &payload, reason, sizeof reason) == 0;
        zframe_destroy (&payload);
        clear_opened = zc_seal_open_req (s_clear, &about, envelope, tag, &payload, reason, sizeof reason) == 0;
    }
    else
    if (pick & 0x40) {
        about.relay = "";
        about.seq = 1 + ((pick >> 2) & 7) + (pick & 0x80);
        opened = zc_seal_open_stream (s_origin, &about, envelope, &payload, reason, sizeof reason) == 0;
        zframe_destroy (&payload);
        clear_opened = zc_seal_open_stream (s_clear, &about, envelope, &payload, reason, sizeof reason) == 0;
    }
    else {
        bool by_relay;
        opened = zc_seal_open_reply (s_origin, &about, envelope, &payload, &by_relay,
                                     reason, sizeof reason) == 0;
        zframe_destroy (&payload);
        clear_opened = zc_seal_open_reply (s_clear, &about, envelope, &payload, &by_relay,
                                           reason, sizeof reason) == 0;
    }
    bool plain = size >= 2 && input [1] == 0;
    //  Without keys nothing opens where e2e is on; in clear, only PLAIN.
    if (opened || clear_opened != plain)
        abort ();
    if (clear_opened && (zframe_size (payload) != size - 2 || memcmp (zframe_data (payload), input + 2, size - 2)))
        abort ();
    if (!opened && !clear_opened && strlen (reason) == 0)
        abort ();
    zframe_destroy (&payload);
    zframe_destroy (&envelope);
    return 0;
}
