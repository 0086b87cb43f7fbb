/*  seal.h — end-to-end protection of jobs and results (DESIGN.md
    "Security", doc/PROTOCOL.md "End-to-end envelope").

    Hubs and relays forward a REQ's or REPLY's payload without being able
    to read or alter it: the payload travels in an envelope that only the
    two ends can open.
    - A job for one target, and every result, is encrypted and
      authenticated (XChaCha20-Poly1305) with the key the two ends share:
      X25519 of one's CURVE secret key and the other's CURVE public key
      (from its cert in the keys directory), hashed with both public keys.
      The key is computed once per peer and cached.
    - A job for several targets (one message fanned out by the hubs)
      carries a tag per target in its header: keyed BLAKE2b with the key
      the origin shares with that target, over the header fields and a
      hash of the payload. A hub sending a copy to some of the targets
      sends only their tags. Its payload stays readable.
      Through a custody relay the tags travel with the final targets, and
      the relay puts each target's own into what it sends it.
    Both cover every header field that matters (ID, hence creation time;
    origin; target; relay; method; method timeout; expire), so a
    hub can neither forge, alter nor redirect a job, nor pass a result off
    as another's.

    With e2e off (a benchmark's baseline; zcnc.conf(5)), envelopes are
    sent in clear; a receiver accepts clear ones only when e2e is off
    there too.
*/
#ifndef ZC_SEAL_H
#define ZC_SEAL_H
#include <czmq.h>
#include "id.h"
#include "keys.h"
#include "wire.h"

typedef struct _zc_seal_t zc_seal_t;

//  The header fields an envelope covers.
typedef struct {
    const zc_id_t *id;
    const char *origin;         //  who made the job
    const char *target;         //  the target
    const char *relay;          //  the agent that held it in custody, or ""
    uint8_t method;             //  REQ: the method; REPLY: 1 when it is a refusal
                                //  (flag REFUSED), else 0
    uint32_t method_timeout, expire;    //  REQ only
    uint64_t seq;               //  STREAM only: the chunk's number
} zc_seal_about_t;

//  This node's keys: its name, CURVE secret key and Ed25519 secret key
//  (copied), and the trusted-keys table (borrowed; see set_keyring).
zc_seal_t *zc_seal_new (const char *name, const uint8_t curve_secret [32],
                        const uint8_t sign_secret [64], zc_keyring_t *keyring, bool e2e);
void zc_seal_destroy (zc_seal_t **self_p);
//  The seal of node 'name' from its NAME.cert_secret in 'keys_dir' (the
//  secret keys are copied and wiped). NULL with *error (when error is not
//  NULL) set when the file cannot be loaded.
zc_seal_t *zc_seal_load (const char *keys_dir, const char *name, zc_keyring_t *keyring, bool e2e,
                         char **error);
//  Uses a reloaded keyring from now on (the old one may be freed after
//  this call); cached keys are dropped, so a revoked peer's go too.
void zc_seal_set_keyring (zc_seal_t *self, zc_keyring_t *keyring);
//  Asked with the name of a peer whose cert is not in the keyring, before
//  a job or result of its is refused for that: it may read the keys
//  directory again (and call zc_seal_set_keyring); returns true when it
//  did. Without one, the keyring is all there is.
typedef bool (zc_seal_refresh_fn) (const char *name, void *arg);
void zc_seal_set_refresh (zc_seal_t *self, zc_seal_refresh_fn *refresh, void *arg);
bool zc_seal_e2e (zc_seal_t *self);
//  True when 'name' has a cert here with role agent: jobs can be sealed
//  for it and its results checked.
bool zc_seal_trusts (zc_seal_t *self, const char *name);

//  At the origin: a REQ payload for about->target alone. NULL with
//  'reason' when that target's cert is not in the keys directory.
zframe_t *zc_seal_req (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *payload,
                       char *reason, size_t reason_size);
//  At the origin: a REQ payload for every target in msg->to (with flag
//  CUSTODY: in msg->names); each gets a tag in the message's header
//  (wire.h, flag TAGS) and the payload stays readable. NULL with 'reason'
//  when a target's cert is missing.
zframe_t *zc_seal_req_tagged (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *payload,
                              zc_wire_t *msg, char *reason, size_t reason_size);
//  True when 'envelope' is a tagged job's (for several targets), which
//  a custody relay gives each target its own tag in.
bool zc_seal_is_tagged (zframe_t *envelope);
//  At a custody relay: the envelope of a tagged job for one of its
//  targets, with that target's tag in it (new), or NULL when 'envelope'
//  is not a tagged one.
zframe_t *zc_seal_tag_one (zframe_t *envelope, const uint8_t *tag);
//  At a target (about->target is this node): checks a REQ envelope (and
//  'tag', this node's tag from the header, or NULL) and returns its plain
//  payload (new) in *payload. -1 with 'reason' (for the job's denied
//  result) when the job must not run.
int zc_seal_open_req (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *envelope,
                      const uint8_t *tag, zframe_t **payload, char *reason, size_t reason_size);

//  At a target, or a relay answering for a job it gave up ('by_relay'):
//  a REPLY payload for about->origin. Encrypted when the origin's cert is
//  here; otherwise (a job from an unknown origin is denied) signed.
zframe_t *zc_seal_reply (zc_seal_t *self, const zc_seal_about_t *about, bool by_relay,
                         zframe_t *payload);
//  At the origin: checks a REPLY envelope from about->target (or its
//  relay) and returns the plain payload (new). *by_relay (optional) tells
//  who made it. -1 with 'reason' when it is not authentic.
int zc_seal_open_reply (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *envelope,
                        zframe_t **payload, bool *by_relay, char *reason, size_t reason_size);

//  At a target: a STREAM chunk's payload for about->origin (about->seq
//  its number), sealed like a REPLY's.
zframe_t *zc_seal_stream (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *payload);
//  At the origin: checks a STREAM chunk from about->target and returns
//  its plain payload (new). -1 with 'reason' when it is not authentic.
int zc_seal_open_stream (zc_seal_t *self, const zc_seal_about_t *about, zframe_t *envelope,
                         zframe_t **payload, char *reason, size_t reason_size);
int zc_seal_test (bool verbose);
#endif
