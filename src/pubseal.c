/*  pubseal.c — signatures of PUB payloads (pubseal.h).

    The signed bytes, never sent as such, are

        "zcnc-pub-1\0" id(16) u8+from u16+subject seq(u64) flags(u8) items

    where flags are the message's CLEAR and GAP bits (wire.h).

    where items is the payload's item list exactly as sent (wire.h:
    zc_wire_pub_items), so a subscriber verifies the bytes it received
    without encoding anything again.
*/
#include <sodium.h>
#include "prelude.h"
#include "pubseal.h"
#include "log.h"
#include "subject.h"
#include "testing.h"

#define S_LABEL "zcnc-pub-1"

//  The bytes a signature covers (a new buffer of *size bytes).
//  The flags a signature covers: CLEAR and GAP.
static uint8_t
s_marks (const zc_wire_t *msg)
{
    return msg->flags & (ZC_FLAG_CLEAR | ZC_FLAG_GAP);
}

static uint8_t *
s_signed_bytes (const zc_id_t *id, const char *from, const char *subject, uint64_t seq, uint8_t marks,
                const uint8_t *items, size_t items_size, size_t *size)
{
    size_t from_size = strlen (from), subject_size = strlen (subject);
    *size = sizeof S_LABEL + ZC_ID_SIZE + 1 + from_size + 2 + subject_size + 8 + 1 + items_size;
    uint8_t *bytes = zc_malloc (*size), *at = bytes;
    memcpy (at, S_LABEL, sizeof S_LABEL);
    at += sizeof S_LABEL;
    memcpy (at, id->bytes, ZC_ID_SIZE);
    at += ZC_ID_SIZE;
    *at++ = (uint8_t) from_size;
    memcpy (at, from, from_size);
    at += from_size;
    *at++ = (uint8_t) (subject_size >> 8);
    *at++ = (uint8_t) subject_size;
    memcpy (at, subject, subject_size);
    at += subject_size;
    for (int index = 0; index < 8; index++)
        *at++ = (uint8_t) (seq >> (56 - 8 * index));
    *at++ = marks;
    memcpy (at, items, items_size);
    return bytes;
}

zframe_t *
zc_pubseal_make (const uint8_t *sign_secret, const zc_wire_t *msg, const char *from, zlist_t *items)
{
    zc_pub_payload_t payload = { .mode = sign_secret? 1: 0, .items = items };
    if (sign_secret) {
        zframe_t *encoded = zc_wire_pub_items (items);
        if (!encoded)
            return NULL;
        size_t size;
        uint8_t *bytes = s_signed_bytes (&msg->id, from, msg->subject, msg->seq, s_marks (msg),
                                         zframe_data (encoded), zframe_size (encoded), &size);
        crypto_sign_detached (payload.signature, NULL, bytes, size, sign_secret);
        free (bytes);
        zframe_destroy (&encoded);
    }
    return zc_wire_pub_payload (&payload);
}

int
zc_pubseal_open (zc_keyring_t *keyring, const zc_wire_t *msg, zc_pub_payload_t *opened,
                 zc_pub_auth_t *auth, const char **problem)
{
    memset (opened, 0, sizeof *opened);
    *auth = ZC_PUB_UNKNOWN;
    zc_pub_payload_t payload;
    if (!msg->subject || !*msg->from || zc_wire_pub_payload_decode (msg->payload, &payload) != 0) {
        *problem = "malformed PUB";
        return -1;
    }
    const zc_key_t *key = keyring? zc_keyring_by_name (keyring, msg->from): NULL;
    if (zc_subject_is_system (msg->subject) && key && key->role != ZC_KEY_HUB) {
        *problem = "a $sys. subject published by a node (only hubs publish there)";
        zc_wire_pub_payload_clear (&payload);
        return -1;
    }
    if (payload.mode == 0)
        *auth = ZC_PUB_UNSIGNED;
    else
    if (key) {
        size_t size;
        uint8_t *bytes = s_signed_bytes (&msg->id, msg->from, msg->subject, msg->seq, s_marks (msg),
                                         payload.covered, payload.covered_size, &size);
        int rc = crypto_sign_verify_detached (payload.signature, bytes, size, key->sign_key);
        free (bytes);
        if (rc != 0) {
            *problem = "bad signature (forged or altered on the way)";
            zc_wire_pub_payload_clear (&payload);
            return -1;
        }
        *auth = ZC_PUB_VERIFIED;
    }
    *opened = payload;
    return 0;
}

void
zc_pubseal_items_destroy (zlist_t **items_p)
{
    if (*items_p) {
        zframe_t *item;
        while ((item = zlist_pop (*items_p)))
            zframe_destroy (&item);
        zlist_destroy (items_p);
    }
}

const char *
zc_pubseal_auth_name (zc_pub_auth_t auth)
{
    return auth == ZC_PUB_VERIFIED? "verified": auth == ZC_PUB_UNSIGNED? "unsigned": "unknown";
}

//  ---------------------------------------------------------------------
//  Self-test

//  A PUB from 'from' on 'subject' with one item, signed with 'secret'.
static zc_wire_t *
s_test_pub (const uint8_t *secret, const char *from, const char *subject, const char *data)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_PUB);
    snprintf (msg->from, sizeof msg->from, "%s", from);
    msg->subject = zc_strdup (subject);
    zlist_t *items = zlist_new ();
    zlist_append (items, zframe_new (data, strlen (data)));
    msg->payload = zc_pubseal_make (secret, msg, from, items);
    zc_pubseal_items_destroy (&items);
    return msg;
}

//  The result of opening msg: "verified:DATA", "unsigned:DATA",
//  "unknown:DATA" or the problem.
static void
s_test_open (zc_keyring_t *keyring, zc_wire_t *msg, char *out, size_t size)
{
    zc_pub_payload_t opened;
    zc_pub_auth_t auth;
    const char *problem = NULL;
    if (zc_pubseal_open (keyring, msg, &opened, &auth, &problem) != 0) {
        snprintf (out, size, "%s", problem);
        return;
    }
    snprintf (out, size, "%s:%.*s", zc_pubseal_auth_name (auth), (int) opened.item [0].size,
              (const char *) opened.item [0].data);
    zc_wire_pub_payload_clear (&opened);
}

int
zc_pubseal_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-pubseal-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *error = NULL;
    ZC_CHECK (zc_keygen (dir, "pub1", false, &error) == 0);
    ZC_CHECK (zc_keygen (dir, "hub1", true, &error) == 0);
    uint8_t pub1 [64], hub1 [64], stranger [64], stranger_public [32];
    zcert_t *cert = zc_key_load_own_signing (dir, "pub1", pub1, &error);
    zcert_destroy (&cert);
    cert = zc_key_load_own_signing (dir, "hub1", hub1, &error);
    zcert_destroy (&cert);
    crypto_sign_keypair (stranger_public, stranger);
    zc_keyring_t *keyring = zc_keyring_load (dir, &error);
    ZC_CHECK (keyring != NULL);
    char result [200];

    zc_wire_t *msg = s_test_pub (pub1, "pub1", "build.done", "v1.2");
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "verified:v1.2");
    //  The payload survives the wire as it is.
    zmsg_t *frames = zc_wire_encode (msg);
    zc_wire_t *got = frames? zc_wire_decode (frames, zmsg_first (frames), NULL): NULL;
    ZC_CHECK (got != NULL);
    if (got) {
        s_test_open (keyring, got, result, sizeof result);
        ZC_CHECK_STR (result, "verified:v1.2");
    }
    zc_wire_destroy (&got);
    zmsg_destroy (&frames);
    //  A hub that passes it off as another's, alters its subject, its ID
    //  or a byte of its data: refused.
    snprintf (msg->from, sizeof msg->from, "hub1");
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "bad signature (forged or altered on the way)");
    snprintf (msg->from, sizeof msg->from, "pub1");
    free (msg->subject);
    msg->subject = zc_strdup ("build.failed");
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "bad signature (forged or altered on the way)");
    free (msg->subject);
    msg->subject = zc_strdup ("build.done");
    zc_id_generate (&msg->id);
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "bad signature (forged or altered on the way)");
    zc_wire_destroy (&msg);
    msg = s_test_pub (pub1, "pub1", "build.done", "v1.2");
    msg->seq = 7;                               //  a log stream's numbers are covered
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "bad signature (forged or altered on the way)");
    zc_wire_destroy (&msg);
    msg = s_test_pub (pub1, "pub1", "build.done", "v1.2");
    uint8_t *last = zframe_data (msg->payload) + zframe_size (msg->payload) - 1;
    *last ^= 1;
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "bad signature (forged or altered on the way)");
    zc_wire_destroy (&msg);
    //  Unsigned, from a name without a cert here and from one with; signed
    //  by a name without a cert here.
    msg = s_test_pub (NULL, "other", "build.done", "plain");
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "unsigned:plain");
    zc_wire_destroy (&msg);
    msg = s_test_pub (NULL, "pub1", "build.done", "plain");
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "unsigned:plain");            //  marked: any hub could have made it
    zc_wire_destroy (&msg);
    msg = s_test_pub (stranger, "stranger", "build.done", "who");
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "unknown:who");
    zc_wire_destroy (&msg);
    //  $sys. is the hubs': a node's is refused, signed or not.
    msg = s_test_pub (hub1, "hub1", "$sys.online.pub1", "{}");
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "verified:{}");
    zc_wire_destroy (&msg);
    msg = s_test_pub (pub1, "pub1", "$sys.online.pub1", "{}");
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "a $sys. subject published by a node (only hubs publish there)");
    zc_wire_destroy (&msg);
    //  Garbage payloads are malformed.
    msg = s_test_pub (pub1, "pub1", "a", "x");
    zframe_reset (msg->payload, "\x01\x02", 2);
    s_test_open (keyring, msg, result, sizeof result);
    ZC_CHECK_STR (result, "malformed PUB");
    zc_wire_destroy (&msg);

    sodium_memzero (pub1, sizeof pub1);
    sodium_memzero (hub1, sizeof hub1);
    zc_keyring_destroy (&keyring);
    zsys_dir_delete ("%s", dir);
    char path [300];
    const char *files [] = { "pub1.cert", "pub1.cert_secret", "hub1.cert", "hub1.cert_secret" };
    for (size_t index = 0; index < 4; index++) {
        snprintf (path, sizeof path, "%s/%s", dir, files [index]);
        unlink (path);
    }
    rmdir (dir);
    return ZC_TEST_END;
}
