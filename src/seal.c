/*  seal.c — end-to-end envelopes of REQ and REPLY payloads (seal.h).

    An envelope is a mode byte, then:
      PLAIN   the payload                           (e2e off at the sender)
      SEALED  8 nonce bytes, the payload encrypted (XChaCha20-Poly1305,
              16-byte tag); the nonce is the message ID then those 8
              bytes, a per-process counter from a random start
      SIGNED  a 64-byte Ed25519 signature, the payload (a REPLY to an
              origin the target has no cert for: a denial)
      TAGGED  the payload; the REQ's header carries a 16-byte tag per
              target (wire.h, flag TAGS): keyed BLAKE2b with the pair's
              key over the associated data (with that target's name) and
              a hash of the payload
      TAGGED_ONE  that target's tag, then the payload: what a custody
              relay sends each target of a tagged job
    with BY_RELAY or'ed into a REPLY's mode when its relay made it. The
    associated data, never sent, is rebuilt by both ends from the header
    (s_about_bytes); a signature covers it followed by the payload.
*/
#include <sodium.h>
#include "prelude.h"
#include "seal.h"
#include "log.h"
#include "testing.h"
#include "wire.h"

#define S_PLAIN     0
#define S_SEALED    1
#define S_SIGNED    2
#define S_TAGGED    3
#define S_TAGGED_ONE 4
#define S_MODE_MASK 0x0F
#define S_BY_RELAY  0x10

#define S_TAIL      8       //  nonce bytes sent with a sealed payload (a counter)
#define S_TAG       crypto_aead_xchacha20poly1305_ietf_ABYTES
#define S_SIG       crypto_sign_BYTES
//  The associated data: a label, type, mode, ID, three names with their
//  lengths, method and two u32s; for STREAM, the chunk's u64 number.
#define S_LABEL     "zcnc-e2e-1"
#define S_ABOUT_MAX (sizeof S_LABEL + 2 + ZC_ID_SIZE + 2 * ZC_NAME_SIZE + 2 + 64 + 9 + 8)

typedef struct {
    uint8_t key [crypto_aead_xchacha20poly1305_ietf_KEYBYTES];     //  for SEALED
    uint8_t tag_key [crypto_generichash_KEYBYTES];                  //  for TAGGED
} s_pair_t;

struct _zc_seal_t {
    char name [ZC_NAME_SIZE];
    uint8_t curve_secret [32], curve_public [32];
    uint64_t nonce_tail;        //  counts up from a random start: never twice per process
    uint8_t sign_secret [64];
    zc_keyring_t *keyring;
    zc_seal_refresh_fn *refresh;    //  asked when a peer's cert is missing, or NULL
    void *refresh_arg;
    zhashx_t *pairs;            //  peer name -> s_pair_t: the key shared with it
    bool e2e;
};

static void
s_pair_destroy (void **item)
{
    sodium_memzero (*item, sizeof (s_pair_t));
    free (*item);
    *item = NULL;
}

zc_seal_t *
zc_seal_new (const char *name, const uint8_t curve_secret [32], const uint8_t sign_secret [64],
             zc_keyring_t *keyring, bool e2e)
{
    if (sodium_init () < 0)
        return NULL;
    zc_seal_t *self = zc_calloc (1, sizeof *self);
    snprintf (self->name, sizeof self->name, "%s", name);
    memcpy (self->curve_secret, curve_secret, sizeof self->curve_secret);
    crypto_scalarmult_base (self->curve_public, self->curve_secret);
    memcpy (self->sign_secret, sign_secret, sizeof self->sign_secret);
    randombytes_buf (&self->nonce_tail, sizeof self->nonce_tail);
    self->keyring = keyring;
    self->pairs = zhashx_new ();
    zhashx_set_destructor (self->pairs, s_pair_destroy);
    self->e2e = e2e;
    return self;
}

zc_seal_t *
zc_seal_load (const char *keys_dir, const char *name, zc_keyring_t *keyring, bool e2e, char **error)
{
    uint8_t sign [64];
    zcert_t *cert = zc_key_load_own_signing (keys_dir, name, sign, error);
    zc_seal_t *seal = cert? zc_seal_new (name, zcert_secret_key (cert), sign, keyring, e2e): NULL;
    zcert_destroy (&cert);
    sodium_memzero (sign, sizeof sign);
    return seal;
}

void
zc_seal_destroy (zc_seal_t **self_p)
{
    zc_seal_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->pairs);
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

void
zc_seal_set_keyring (zc_seal_t *self, zc_keyring_t *keyring)
{
    self->keyring = keyring;
    zhashx_purge (self->pairs);
}

void
zc_seal_set_refresh (zc_seal_t *self, zc_seal_refresh_fn *refresh, void *arg)
{
    self->refresh = refresh;
    self->refresh_arg = arg;
}

//  The cert of 'name', or NULL. A cert missing from the keyring may have
//  been added a moment ago: the owner gets a chance to read it first.
//  (The result is valid until the next lookup, which may reload.)
static const zc_key_t *
s_key (zc_seal_t *self, const char *name)
{
    const zc_key_t *key = zc_keyring_by_name (self->keyring, name);
    if (!key && self->refresh && self->refresh (name, self->refresh_arg))
        key = zc_keyring_by_name (self->keyring, name);
    return key;
}

bool
zc_seal_e2e (zc_seal_t *self)
{
    return self->e2e;
}

bool
zc_seal_trusts (zc_seal_t *self, const char *name)
{
    const zc_key_t *key = s_key (self, name);
    return key && key->role == ZC_KEY_AGENT;
}

//  The keys this node shares with the peer whose cert is 'key', cached;
//  NULL for a degenerate public key.
static const s_pair_t *
s_pair_key (zc_seal_t *self, const zc_key_t *key)
{
    s_pair_t *pair = zhashx_lookup (self->pairs, key->name);
    if (pair)
        return pair;
    uint8_t shared [crypto_scalarmult_BYTES];
    if (crypto_scalarmult (shared, self->curve_secret, key->public_key) != 0)
        return NULL;            //  a degenerate public key
    //  Both public keys, in a fixed order, so both ends hash the same.
    bool mine_first = memcmp (self->curve_public, key->public_key, 32) < 0;
    crypto_generichash_state state;
    crypto_generichash_init (&state, (const uint8_t *) "zcnc-pair-1", 11, sizeof pair->key);
    crypto_generichash_update (&state, shared, sizeof shared);
    crypto_generichash_update (&state, mine_first? self->curve_public: key->public_key, 32);
    crypto_generichash_update (&state, mine_first? key->public_key: self->curve_public, 32);
    pair = zc_calloc (1, sizeof *pair);
    crypto_generichash_final (&state, pair->key, sizeof pair->key);
    crypto_generichash (pair->tag_key, sizeof pair->tag_key, (const uint8_t *) "zcnc-tag-1", 10,
                        pair->key, sizeof pair->key);
    sodium_memzero (shared, sizeof shared);
    zhashx_insert (self->pairs, key->name, pair);
    return pair;
}

static size_t
s_put_name (uint8_t *out, const char *name)
{
    size_t size = strnlen (name? name: "", 64);
    out [0] = (uint8_t) size;
    memcpy (out + 1, name? name: "", size);
    return 1 + size;
}

//  The associated data of an envelope into 'out' (S_ABOUT_MAX bytes).
static size_t
s_about_bytes (uint8_t type, uint8_t mode, const zc_seal_about_t *about, uint8_t *out)
{
    size_t size = 0;
    memcpy (out, S_LABEL, sizeof S_LABEL);
    size += sizeof S_LABEL;
    out [size++] = type;
    out [size++] = mode;
    memcpy (out + size, about->id->bytes, ZC_ID_SIZE);
    size += ZC_ID_SIZE;
    size += s_put_name (out + size, about->origin);
    size_t target_size = strnlen (about->target, 64);
    out [size++] = (uint8_t) (target_size >> 8);
    out [size++] = (uint8_t) target_size;
    memcpy (out + size, about->target, target_size);
    size += target_size;
    size += s_put_name (out + size, about->relay);
    out [size++] = about->method;
    for (int shift = 24; shift >= 0; shift -= 8)
        out [size++] = (uint8_t) (about->method_timeout >> shift);
    for (int shift = 24; shift >= 0; shift -= 8)
        out [size++] = (uint8_t) (about->expire >> shift);
    if (type == ZC_MSG_STREAM)
        for (int shift = 56; shift >= 0; shift -= 8)
            out [size++] = (uint8_t) (about->seq >> shift);
    return size;
}

//  SEALED envelope of 'payload' with 'key'. The nonce is the message ID
//  and 8 bytes that differ every time (a counter from a random start: no
//  system call per message), so no two messages share one.
static zframe_t *
s_seal (zc_seal_t *self, uint8_t type, uint8_t mode, const zc_seal_about_t *about,
        const uint8_t *key, zframe_t *payload)
{
    uint8_t ad [S_ABOUT_MAX];
    size_t ad_size = s_about_bytes (type, mode, about, ad);
    size_t plain_size = payload? zframe_size (payload): 0;
    zframe_t *envelope = zframe_new (NULL, 1 + S_TAIL + plain_size + S_TAG);
    uint8_t *out = zframe_data (envelope);
    out [0] = mode;
    uint8_t nonce [crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    memcpy (nonce, about->id->bytes, ZC_ID_SIZE);
    uint64_t tail = self->nonce_tail++;
    memcpy (nonce + ZC_ID_SIZE, &tail, S_TAIL);
    memcpy (out + 1, nonce + ZC_ID_SIZE, S_TAIL);
    crypto_aead_xchacha20poly1305_ietf_encrypt (out + 1 + S_TAIL, NULL,
        payload? zframe_data (payload): NULL, plain_size, ad, ad_size, NULL, nonce, key);
    return envelope;
}

static int
s_open (uint8_t type, uint8_t mode, const zc_seal_about_t *about, const uint8_t *key,
        zframe_t *envelope, zframe_t **payload)
{
    size_t size = zframe_size (envelope);
    if (size < 1 + S_TAIL + S_TAG)
        return -1;
    uint8_t ad [S_ABOUT_MAX];
    size_t ad_size = s_about_bytes (type, mode, about, ad);
    const uint8_t *in = zframe_data (envelope);
    uint8_t nonce [crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    memcpy (nonce, about->id->bytes, ZC_ID_SIZE);
    memcpy (nonce + ZC_ID_SIZE, in + 1, S_TAIL);
    size_t plain_size = size - 1 - S_TAIL - S_TAG;
    zframe_t *plain = zframe_new (NULL, plain_size);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt (zframe_data (plain), NULL, NULL,
            in + 1 + S_TAIL, size - 1 - S_TAIL, ad, ad_size, nonce, key) != 0) {
        zframe_destroy (&plain);
        return -1;
    }
    *payload = plain;
    return 0;
}

//  The bytes a signature covers: the associated data, then the payload.
static uint8_t *
s_signed_bytes (uint8_t type, uint8_t mode, const zc_seal_about_t *about,
                const uint8_t *payload, size_t payload_size, size_t *size)
{
    uint8_t *bytes = zc_malloc (S_ABOUT_MAX + payload_size);
    size_t ad_size = s_about_bytes (type, mode, about, bytes);
    if (payload_size)
        memcpy (bytes + ad_size, payload, payload_size);
    *size = ad_size + payload_size;
    return bytes;
}

//  SIGNED envelope.
static zframe_t *
s_sign (zc_seal_t *self, uint8_t type, uint8_t mode, const zc_seal_about_t *about, zframe_t *payload)
{
    size_t plain_size = payload? zframe_size (payload): 0;
    zframe_t *envelope = zframe_new (NULL, 1 + S_SIG + plain_size);
    uint8_t *out = zframe_data (envelope);
    out [0] = mode;
    if (plain_size)
        memcpy (out + 1 + S_SIG, zframe_data (payload), plain_size);
    size_t size;
    uint8_t *bytes = s_signed_bytes (type, mode, about, out + 1 + S_SIG, plain_size, &size);
    crypto_sign_detached (out + 1, NULL, bytes, size, self->sign_secret);
    free (bytes);
    return envelope;
}

//  Checks a SIGNED envelope with 'sign_key'.
static int
s_verify (uint8_t type, uint8_t mode, const zc_seal_about_t *about, const uint8_t *sign_key,
          zframe_t *envelope, zframe_t **payload)
{
    size_t head = 1;
    size_t size = zframe_size (envelope);
    if (size < head + S_SIG)
        return -1;
    const uint8_t *in = zframe_data (envelope);
    size_t plain_size = size - head - S_SIG, signed_size;
    uint8_t *bytes = s_signed_bytes (type, mode, about, in + head + S_SIG, plain_size, &signed_size);
    int rc = crypto_sign_verify_detached (in + head, bytes, signed_size, sign_key);
    free (bytes);
    if (rc != 0)
        return -1;
    *payload = zframe_new (in + head + S_SIG, plain_size);
    return 0;
}

static zframe_t *
s_plain (zframe_t *payload)
{
    size_t size = payload? zframe_size (payload): 0;
    zframe_t *envelope = zframe_new (NULL, 1 + size);
    uint8_t *out = zframe_data (envelope);
    out [0] = S_PLAIN;
    if (size)
        memcpy (out + 1, zframe_data (payload), size);
    return envelope;
}

zframe_t *
zc_seal_req (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *payload,
             char *reason, size_t reason_size)
{
    if (!self->e2e)
        return s_plain (payload);
    const zc_key_t *key = s_key (self, about->target);
    const s_pair_t *pair = key? s_pair_key (self, key): NULL;
    if (!pair) {
        snprintf (reason, reason_size, "%s has no usable cert in this node's keys directory;"
                  " its jobs cannot be sealed until one is added", about->target);
        return NULL;
    }
    return s_seal (self, ZC_MSG_REQ, S_SEALED, about, pair->key, payload);
}

//  The tag of a TAGGED REQ for 'target', whose cert is 'key': keyed
//  BLAKE2b over the associated data and the payload's hash.
static int
s_tag (zc_seal_t *self, const zc_seal_about_t *about, const zc_key_t *key, const uint8_t *hash,
       uint8_t tag [ZC_WIRE_TAG_SIZE])
{
    const s_pair_t *pair = s_pair_key (self, key);
    if (!pair)
        return -1;
    uint8_t ad [S_ABOUT_MAX];
    size_t ad_size = s_about_bytes (ZC_MSG_REQ, S_TAGGED, about, ad);
    crypto_generichash_state state;
    crypto_generichash_init (&state, pair->tag_key, sizeof pair->tag_key, ZC_WIRE_TAG_SIZE);
    crypto_generichash_update (&state, ad, ad_size);
    crypto_generichash_update (&state, hash, crypto_generichash_BYTES);
    crypto_generichash_final (&state, tag, ZC_WIRE_TAG_SIZE);
    return 0;
}

static void
s_hash (zframe_t *payload, uint8_t hash [crypto_generichash_BYTES])
{
    crypto_generichash (hash, crypto_generichash_BYTES, payload? zframe_data (payload): NULL,
                        payload? zframe_size (payload): 0, NULL, 0);
}

zframe_t *
zc_seal_req_tagged (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *payload,
                    zc_wire_t *msg, char *reason, size_t reason_size)
{
    if (!self->e2e)
        return s_plain (payload);
    uint8_t hash [crypto_generichash_BYTES];
    s_hash (payload, hash);
    zlist_t *targets = (msg->flags & ZC_FLAG_CUSTODY)? msg->names: msg->to;
    for (char *target = zlist_first (targets); target; target = zlist_next (targets)) {
        const zc_key_t *key = s_key (self, target);
        zc_seal_about_t each = *about;
        each.target = target;
        uint8_t tag [ZC_WIRE_TAG_SIZE];
        if (!key || s_tag (self, &each, key, hash, tag) != 0) {
            snprintf (reason, reason_size, "%s has no usable cert in this node's keys directory;"
                      " its jobs cannot be sealed until one is added", target);
            return NULL;
        }
        zc_wire_set_tag (msg, target, tag);
    }
    msg->flags |= ZC_FLAG_TAGS;
    zframe_t *envelope = s_plain (payload);
    zframe_data (envelope) [0] = S_TAGGED;
    return envelope;
}

bool
zc_seal_is_tagged (zframe_t *envelope)
{
    return envelope && zframe_size (envelope) && zframe_data (envelope) [0] == S_TAGGED;
}

zframe_t *
zc_seal_tag_one (zframe_t *envelope, const uint8_t *tag)
{
    size_t size = envelope? zframe_size (envelope): 0;
    if (size < 1 || zframe_data (envelope) [0] != S_TAGGED || !tag)
        return NULL;
    zframe_t *one = zframe_new (NULL, size + ZC_WIRE_TAG_SIZE);
    uint8_t *out = zframe_data (one);
    out [0] = S_TAGGED_ONE;
    memcpy (out + 1, tag, ZC_WIRE_TAG_SIZE);
    memcpy (out + 1 + ZC_WIRE_TAG_SIZE, zframe_data (envelope) + 1, size - 1);
    return one;
}

int
zc_seal_open_req (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *envelope,
                  const uint8_t *tag, zframe_t **payload, char *reason, size_t reason_size)
{
    *payload = NULL;
    size_t size = envelope? zframe_size (envelope): 0;
    uint8_t mode = size? zframe_data (envelope) [0]: 0xFF;
    //  Who the origin is, before anything else: also with e2e off, an
    //  origin without a cert here, or a hub, never gets a job run.
    const zc_key_t *key = s_key (self, about->origin);
    if (!key) {
        snprintf (reason, reason_size, "origin %s is not trusted here (no %s.cert in the keys directory)",
                  about->origin, about->origin);
        return -1;
    }
    if (key->role == ZC_KEY_HUB) {
        snprintf (reason, reason_size, "origin %s is a hub; hubs never originate jobs", about->origin);
        return -1;
    }
    if (mode == S_PLAIN) {
        if (!self->e2e) {
            *payload = zframe_new (zframe_data (envelope) + 1, size - 1);
            return 0;
        }
        snprintf (reason, reason_size, "the job carries no authenticator (is e2e off at %s?)",
                  about->origin);
        return -1;
    }
    size_t skip = 1;            //  the bytes before a TAGGED payload
    if (mode == S_TAGGED_ONE && size >= 1 + ZC_WIRE_TAG_SIZE) {
        tag = zframe_data (envelope) + 1;
        skip += ZC_WIRE_TAG_SIZE;
        mode = S_TAGGED;
    }
    if ((mode != S_SEALED && mode != S_TAGGED) || (mode == S_TAGGED && !tag)) {
        snprintf (reason, reason_size, "the job's authenticator is malformed");
        return -1;
    }
    int rc = -1;
    if (mode == S_SEALED) {
        const s_pair_t *pair = s_pair_key (self, key);
        rc = pair? s_open (ZC_MSG_REQ, mode, about, pair->key, envelope, payload): -1;
    }
    else {
        zframe_t *plain = zframe_new (zframe_data (envelope) + skip, size - skip);
        uint8_t hash [crypto_generichash_BYTES], expected [ZC_WIRE_TAG_SIZE];
        s_hash (plain, hash);
        if (s_tag (self, about, key, hash, expected) == 0
        &&  sodium_memcmp (expected, tag, ZC_WIRE_TAG_SIZE) == 0) {
            *payload = plain;
            rc = 0;
        }
        else
            zframe_destroy (&plain);
    }
    if (rc != 0)
        snprintf (reason, reason_size, "bad authenticator: the job was altered on its way"
                  " or was not made by %s", about->origin);
    return rc;
}

zframe_t *
zc_seal_reply (zc_seal_t *self, const zc_seal_about_t *about, bool by_relay, zframe_t *payload)
{
    if (!self->e2e)
        return s_plain (payload);
    uint8_t relay_bit = by_relay? S_BY_RELAY: 0;
    const zc_key_t *key = s_key (self, about->origin);
    const s_pair_t *pair = key? s_pair_key (self, key): NULL;
    if (pair)
        return s_seal (self, ZC_MSG_REPLY, S_SEALED | relay_bit, about, pair->key, payload);
    return s_sign (self, ZC_MSG_REPLY, S_SIGNED | relay_bit, about, payload);
}

int
zc_seal_open_reply (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *envelope,
                    zframe_t **payload, bool *by_relay, char *reason, size_t reason_size)
{
    *payload = NULL;
    size_t size = envelope? zframe_size (envelope): 0;
    uint8_t mode = size? zframe_data (envelope) [0]: 0xFF;
    bool relay_made = (mode & S_BY_RELAY) != 0;
    if (by_relay)
        *by_relay = relay_made;
    if (mode == S_PLAIN) {
        if (!self->e2e) {
            *payload = zframe_new (zframe_data (envelope) + 1, size - 1);
            return 0;
        }
        snprintf (reason, reason_size, "the result from %s carries no authenticator", about->target);
        return -1;
    }
    const char *maker = relay_made? about->relay: about->target;
    if ((mode & S_MODE_MASK) != S_SEALED && (mode & S_MODE_MASK) != S_SIGNED) {
        snprintf (reason, reason_size, "the result from %s has a malformed authenticator", about->target);
        return -1;
    }
    if (!maker || !*maker) {
        snprintf (reason, reason_size, "the result from %s claims a relay made it, but it had none",
                  about->target);
        return -1;
    }
    const zc_key_t *key = s_key (self, maker);
    if (!key || key->role == ZC_KEY_HUB) {
        snprintf (reason, reason_size, "the result from %s cannot be checked: %s is not a trusted agent here",
                  about->target, maker);
        return -1;
    }
    int rc;
    if ((mode & S_MODE_MASK) == S_SEALED) {
        const s_pair_t *pair = s_pair_key (self, key);
        rc = pair? s_open (ZC_MSG_REPLY, mode, about, pair->key, envelope, payload): -1;
    }
    else
        rc = s_verify (ZC_MSG_REPLY, mode, about, key->sign_key, envelope, payload);
    if (rc != 0)
        snprintf (reason, reason_size, "the result from %s has a bad authenticator", about->target);
    return rc;
}

zframe_t *
zc_seal_stream (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *payload)
{
    if (!self->e2e)
        return s_plain (payload);
    const zc_key_t *key = s_key (self, about->origin);
    const s_pair_t *pair = key? s_pair_key (self, key): NULL;
    if (pair)
        return s_seal (self, ZC_MSG_STREAM, S_SEALED, about, pair->key, payload);
    return s_sign (self, ZC_MSG_STREAM, S_SIGNED, about, payload);
}

int
zc_seal_open_stream (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *envelope,
                     zframe_t **payload, char *reason, size_t reason_size)
{
    *payload = NULL;
    size_t size = envelope? zframe_size (envelope): 0;
    uint8_t mode = size? zframe_data (envelope) [0]: 0xFF;
    if (mode == S_PLAIN) {
        if (!self->e2e) {
            *payload = zframe_new (zframe_data (envelope) + 1, size - 1);
            return 0;
        }
        snprintf (reason, reason_size, "output from %s carries no authenticator", about->target);
        return -1;
    }
    const zc_key_t *key = s_key (self, about->target);
    if (!key || key->role == ZC_KEY_HUB) {
        snprintf (reason, reason_size, "output from %s cannot be checked: it is not a trusted agent here",
                  about->target);
        return -1;
    }
    int rc = -1;
    if (mode == S_SEALED) {
        const s_pair_t *pair = s_pair_key (self, key);
        rc = pair? s_open (ZC_MSG_STREAM, mode, about, pair->key, envelope, payload): -1;
    }
    else
    if (mode == S_SIGNED)
        rc = s_verify (ZC_MSG_STREAM, mode, about, key->sign_key, envelope, payload);
    if (rc != 0)
        snprintf (reason, reason_size, "output from %s has a bad authenticator", about->target);
    return rc;
}

//  --------------------------------------------------------------------
//  Self-test

static bool
s_test_same (zframe_t *frame, const char *text)
{
    return frame && zframe_size (frame) == strlen (text)
        && memcmp (zframe_data (frame), text, strlen (text)) == 0;
}

int
zc_seal_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-seal-XXXXXX";
    ZC_CHECK (mkdtemp (dir));
    const char *names [] = { "o1", "t1", "t2", "relay1", "hub1", "stranger" };
    for (size_t index = 0; index < 6; index++)
        ZC_CHECK (zc_keygen (dir, names [index], streq (names [index], "hub1"), NULL) == 0);
    //  'stranger' is trusted by nobody.
    char *stranger_cert = zsys_sprintf ("%s/stranger.cert", dir);
    char *stranger_moved = zsys_sprintf ("%s/stranger.moved", dir);
    ZC_CHECK (rename (stranger_cert, stranger_moved) == 0);
    zc_keyring_t *keyring = zc_keyring_load (dir, NULL);
    ZC_CHECK (keyring && zc_keyring_size (keyring) == 5);
    zc_seal_t *origin = zc_seal_load (dir, "o1", keyring, true, NULL);
    zc_seal_t *target = zc_seal_load (dir, "t1", keyring, true, NULL);
    zc_seal_t *other = zc_seal_load (dir, "t2", keyring, true, NULL);
    zc_seal_t *relay = zc_seal_load (dir, "relay1", keyring, true, NULL);
    zc_seal_t *hub = zc_seal_load (dir, "hub1", keyring, true, NULL);
    zc_seal_t *stranger = zc_seal_load (dir, "stranger", keyring, true, NULL);
    ZC_CHECK (origin && target && other && relay && hub && stranger);

    zc_id_t id;
    zc_id_generate (&id);
    zc_seal_about_t about = { .id = &id, .origin = "o1", .target = "t1", .relay = "", .method = 1, .method_timeout = 30, .expire = 86400 };
    zframe_t *payload = zframe_new ("uptime", 6), *plain = NULL;
    char reason [256] = "";

    //  Sealed for one target: it opens there, and the command is not in clear.
    zframe_t *sealed = zc_seal_req (origin, &about, payload, reason, sizeof reason);
    ZC_CHECK (sealed && zframe_size (sealed) == 1 + 8 + 6 + 16);
    ZC_CHECK (sealed && !memmem (zframe_data (sealed), zframe_size (sealed), "uptime", 6));
    ZC_CHECK (zc_seal_open_req (target, &about, sealed, NULL, &plain, reason, sizeof reason) == 0);
    ZC_CHECK (s_test_same (plain, "uptime"));
    zframe_destroy (&plain);
    //  A stream chunk: sealed for the origin; its number is covered, so
    //  a hub can neither reorder chunks nor pass one off as another.
    {
        zc_seal_about_t chunk = { .id = &id, .origin = "o1", .target = "t1", .relay = "", .seq = 7 };
        zframe_t *envelope = zc_seal_stream (target, &chunk, payload);
        ZC_CHECK (envelope && !memmem (zframe_data (envelope), zframe_size (envelope), "uptime", 6));
        ZC_CHECK (zc_seal_open_stream (origin, &chunk, envelope, &plain, reason, sizeof reason) == 0);
        ZC_CHECK (s_test_same (plain, "uptime"));
        zframe_destroy (&plain);
        zc_seal_about_t moved = chunk;
        moved.seq = 8;
        ZC_CHECK (zc_seal_open_stream (origin, &moved, envelope, &plain, reason, sizeof reason) == -1);
        ZC_CHECK (strstr (reason, "bad authenticator") && !plain);
        moved = chunk;
        moved.target = "t2";
        ZC_CHECK (zc_seal_open_stream (origin, &moved, envelope, &plain, reason, sizeof reason) == -1);
        zframe_destroy (&envelope);
        zc_seal_about_t from_hub = chunk;
        from_hub.target = "hub1";
        envelope = zc_seal_stream (hub, &from_hub, payload);
        ZC_CHECK (zc_seal_open_stream (origin, &from_hub, envelope, &plain, reason, sizeof reason) == -1);
        ZC_CHECK (strstr (reason, "not a trusted agent"));
        zframe_destroy (&envelope);
    }
    //  Not at another target, nor with any covered field changed.
    zc_seal_about_t changed = about;
    changed.target = "t2";
    ZC_CHECK (zc_seal_open_req (other, &changed, sealed, NULL, &plain, reason, sizeof reason) == -1);
    ZC_CHECK (strstr (reason, "bad authenticator") && !plain);
    changed = about;
    changed.expire = 86401;
    ZC_CHECK (zc_seal_open_req (target, &changed, sealed, NULL, &plain, reason, sizeof reason) == -1);
    changed = about;
    changed.method = 2;
    ZC_CHECK (zc_seal_open_req (target, &changed, sealed, NULL, &plain, reason, sizeof reason) == -1);
    changed = about;
    changed.relay = "relay1";
    ZC_CHECK (zc_seal_open_req (target, &changed, sealed, NULL, &plain, reason, sizeof reason) == -1);
    zc_id_t other_id = id;
    other_id.bytes [15] ^= 1;
    changed = about;
    changed.id = &other_id;
    ZC_CHECK (zc_seal_open_req (target, &changed, sealed, NULL, &plain, reason, sizeof reason) == -1);
    //  One flipped bit anywhere in the envelope.
    for (size_t at = 1; sealed && at < zframe_size (sealed); at += 5) {
        zframe_t *flipped = zframe_dup (sealed);
        zframe_data (flipped) [at] ^= 0x40;
        ZC_CHECK (zc_seal_open_req (target, &about, flipped, NULL, &plain, reason, sizeof reason) == -1);
        zframe_destroy (&flipped);
    }
    //  A hub claiming to be the origin cannot make a valid one.
    zframe_t *forged = zc_seal_req (hub, &about, payload, reason, sizeof reason);
    ZC_CHECK (zc_seal_open_req (target, &about, forged, NULL, &plain, reason, sizeof reason) == -1);
    zframe_destroy (&forged);
    zframe_destroy (&sealed);

    //  Origins the target must refuse: unknown, a hub, no authenticator.
    zc_seal_about_t from_stranger = about;
    from_stranger.origin = "stranger";
    sealed = zc_seal_req (stranger, &from_stranger, payload, reason, sizeof reason);
    ZC_CHECK (zc_seal_open_req (target, &from_stranger, sealed, NULL, &plain, reason, sizeof reason) == -1);
    ZC_CHECK_STR (reason, "origin stranger is not trusted here (no stranger.cert in the keys directory)");
    zframe_destroy (&sealed);
    zc_seal_about_t from_hub = about;
    from_hub.origin = "hub1";
    sealed = zc_seal_req (hub, &from_hub, payload, reason, sizeof reason);
    ZC_CHECK (zc_seal_open_req (target, &from_hub, sealed, NULL, &plain, reason, sizeof reason) == -1);
    ZC_CHECK_STR (reason, "origin hub1 is a hub; hubs never originate jobs");
    zframe_destroy (&sealed);
    zc_seal_t *clear = zc_seal_load (dir, "o1", keyring, false, NULL);
    sealed = zc_seal_req (clear, &about, payload, reason, sizeof reason);
    ZC_CHECK (sealed && zframe_size (sealed) == 7);
    ZC_CHECK (zc_seal_open_req (target, &about, sealed, NULL, &plain, reason, sizeof reason) == -1);
    ZC_CHECK_STR (reason, "the job carries no authenticator (is e2e off at o1?)");
    ZC_CHECK (zc_seal_open_req (clear, &about, sealed, NULL, &plain, reason, sizeof reason) == 0);
    ZC_CHECK (s_test_same (plain, "uptime"));
    zframe_destroy (&plain);
    zframe_destroy (&sealed);
    zframe_t *junk = zframe_new ("\x07xyz", 4);
    ZC_CHECK (zc_seal_open_req (target, &about, junk, NULL, &plain, reason, sizeof reason) == -1);
    ZC_CHECK_STR (reason, "the job's authenticator is malformed");
    zframe_destroy (&junk);
    //  No cert for the target: nothing to seal with.
    zc_seal_about_t to_stranger = about;
    to_stranger.target = "stranger";
    ZC_CHECK (zc_seal_req (origin, &to_stranger, payload, reason, sizeof reason) == NULL);
    ZC_CHECK (strstr (reason, "stranger has no usable cert"));

    //  Tagged for several targets: each opens it with its own tag from
    //  the header; nobody with another's tag, nor without one.
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REQ);
    zlist_append (msg->to, "t1");
    zlist_append (msg->to, "t2");
    zframe_t *tagged = zc_seal_req_tagged (origin, &about, payload, msg, reason, sizeof reason);
    ZC_CHECK (tagged && (msg->flags & ZC_FLAG_TAGS) && zframe_size (tagged) == 1 + 6);
    ZC_CHECK (zc_wire_tag (msg, "t1") && zc_wire_tag (msg, "t2")
              && memcmp (zc_wire_tag (msg, "t1"), zc_wire_tag (msg, "t2"), ZC_WIRE_TAG_SIZE));
    ZC_CHECK (zc_seal_open_req (target, &about, tagged, zc_wire_tag (msg, "t1"),
                                &plain, reason, sizeof reason) == 0);
    ZC_CHECK (s_test_same (plain, "uptime"));
    zframe_destroy (&plain);
    changed = about;
    changed.target = "t2";
    ZC_CHECK (zc_seal_open_req (other, &changed, tagged, zc_wire_tag (msg, "t2"),
                                &plain, reason, sizeof reason) == 0);
    zframe_destroy (&plain);
    ZC_CHECK (zc_seal_open_req (target, &about, tagged, zc_wire_tag (msg, "t2"),
                                &plain, reason, sizeof reason) == -1);
    ZC_CHECK (strstr (reason, "bad authenticator"));
    ZC_CHECK (zc_seal_open_req (target, &about, tagged, NULL, &plain, reason, sizeof reason) == -1);
    ZC_CHECK_STR (reason, "the job's authenticator is malformed");
    changed = about;
    changed.expire = 1;
    ZC_CHECK (zc_seal_open_req (target, &changed, tagged, zc_wire_tag (msg, "t1"),
                                &plain, reason, sizeof reason) == -1);
    zframe_data (tagged) [zframe_size (tagged) - 1] ^= 1;      //  the command
    ZC_CHECK (zc_seal_open_req (target, &about, tagged, zc_wire_tag (msg, "t1"),
                                &plain, reason, sizeof reason) == -1);
    zframe_data (tagged) [zframe_size (tagged) - 1] ^= 1;
    //  Through a custody relay: the tags travel with the final targets,
    //  and the relay gives each target its own in the envelope.
    zc_wire_t *custody = zc_wire_new (ZC_MSG_REQ);
    custody->flags = ZC_FLAG_CUSTODY;
    zlist_append (custody->to, "relay1");
    zlist_append (custody->names, "t1");
    zlist_append (custody->names, "t2");
    zframe_t *held = zc_seal_req_tagged (origin, &about, payload, custody, reason, sizeof reason);
    zframe_t *one = zc_seal_tag_one (held, zc_wire_tag (custody, "t1"));
    ZC_CHECK (one && zframe_size (one) == 1 + ZC_WIRE_TAG_SIZE + 6);
    ZC_CHECK (zc_seal_open_req (target, &about, one, NULL, &plain, reason, sizeof reason) == 0);
    ZC_CHECK (s_test_same (plain, "uptime"));
    zframe_destroy (&plain);
    ZC_CHECK (zc_seal_open_req (other, &changed, one, NULL, &plain, reason, sizeof reason) == -1);
    ZC_CHECK (zc_seal_tag_one (one, zc_wire_tag (custody, "t1")) == NULL);      //  only from TAGGED
    zframe_destroy (&one);
    zframe_destroy (&held);
    zc_wire_destroy (&custody);
    zframe_destroy (&tagged);
    zlist_append (msg->to, "stranger");
    ZC_CHECK (zc_seal_req_tagged (origin, &about, payload, msg, reason, sizeof reason) == NULL);
    ZC_CHECK (strstr (reason, "stranger has no usable cert"));
    zc_wire_destroy (&msg);

    //  Results: sealed from target to origin; made by a relay; signed
    //  when the target does not know the origin.
    zframe_t *result = zframe_new ("exit 0", 6);
    zframe_t *reply = zc_seal_reply (target, &about, false, result);
    bool by_relay = true;
    ZC_CHECK (reply && !memmem (zframe_data (reply), zframe_size (reply), "exit 0", 6));
    ZC_CHECK (zc_seal_open_reply (origin, &about, reply, &plain, &by_relay, reason, sizeof reason) == 0);
    ZC_CHECK (s_test_same (plain, "exit 0") && !by_relay);
    zframe_destroy (&plain);
    changed = about;
    changed.target = "t2";          //  passed off as another target's
    ZC_CHECK (zc_seal_open_reply (origin, &changed, reply, &plain, NULL, reason, sizeof reason) == -1);
    ZC_CHECK_STR (reason, "the result from t2 has a bad authenticator");
    zframe_destroy (&reply);
    zc_seal_about_t relayed = about;
    relayed.relay = "relay1";
    reply = zc_seal_reply (relay, &relayed, true, result);
    ZC_CHECK (zc_seal_open_reply (origin, &relayed, reply, &plain, &by_relay, reason, sizeof reason) == 0);
    ZC_CHECK (by_relay && s_test_same (plain, "exit 0"));
    zframe_destroy (&plain);
    ZC_CHECK (zc_seal_open_reply (origin, &about, reply, &plain, NULL, reason, sizeof reason) == -1);
    ZC_CHECK_STR (reason, "the result from t1 claims a relay made it, but it had none");
    zframe_destroy (&reply);
    zc_seal_about_t to_unknown = about;
    to_unknown.origin = "stranger";
    reply = zc_seal_reply (target, &to_unknown, false, result);
    ZC_CHECK (reply && zframe_size (reply) == 1 + 64 + 6);
    ZC_CHECK (zc_seal_open_reply (stranger, &to_unknown, reply, &plain, NULL, reason, sizeof reason) == 0);
    ZC_CHECK (s_test_same (plain, "exit 0"));
    zframe_destroy (&plain);
    zframe_destroy (&reply);

    //  A revoked target: after a reload without its cert, nothing is
    //  sealed for it or accepted from it, cached keys notwithstanding.
    char *t1_cert = zsys_sprintf ("%s/t1.cert", dir);
    char *t1_moved = zsys_sprintf ("%s/t1.moved", dir);
    ZC_CHECK (rename (t1_cert, t1_moved) == 0);
    zc_keyring_t *reloaded = zc_keyring_load (dir, NULL);
    zc_seal_set_keyring (origin, reloaded);
    ZC_CHECK (zc_seal_req (origin, &about, payload, reason, sizeof reason) == NULL);
    reply = zc_seal_reply (target, &about, false, result);
    ZC_CHECK (zc_seal_open_reply (origin, &about, reply, &plain, NULL, reason, sizeof reason) == -1);
    ZC_CHECK_STR (reason, "the result from t1 cannot be checked: t1 is not a trusted agent here");
    zframe_destroy (&reply);

    if (verbose)
        printf ("# seal: envelopes checked\n");
    zframe_destroy (&result);
    zframe_destroy (&payload);
    zc_seal_destroy (&origin);
    zc_seal_destroy (&target);
    zc_seal_destroy (&other);
    zc_seal_destroy (&relay);
    zc_seal_destroy (&hub);
    zc_seal_destroy (&stranger);
    zc_seal_destroy (&clear);
    zc_keyring_destroy (&keyring);
    zc_keyring_destroy (&reloaded);
    const char *files [] = { "o1.cert", "t1.moved", "t2.cert", "relay1.cert", "hub1.cert", "stranger.moved" };
    for (size_t index = 0; index < 6; index++) {
        char *path = zsys_sprintf ("%s/%s", dir, files [index]);
        unlink (path);
        zstr_free (&path);
        path = zsys_sprintf ("%s/%s.cert_secret", dir, names [index]);
        unlink (path);
        zstr_free (&path);
    }
    rmdir (dir);
    zstr_free (&stranger_cert);
    zstr_free (&stranger_moved);
    zstr_free (&t1_cert);
    zstr_free (&t1_moved);
    return ZC_TEST_END;
}
