/*  enroll.h — key enrollment, like salt-key: a hub with `enroll = on`
    lets unknown CURVE keys in as *pending* keys, whose only message it
    acts on is ENROLL (doc/PROTOCOL.md, Enrollment); an operator on the
    hub's host lists, accepts, rejects and revokes them (`zcnc keys`).

    Files: a pending request is DATA/pending/NAME.cert, a public cert in
    the keys directory's format (keys.h) with its key's fingerprint; to
    accept it is to write it as KEYS/NAME.cert, which the hub reads again
    within a second (daemon.h); to revoke a cert is to move it to
    KEYS/revoked/, where it is no longer trusted and cannot enroll again.

    Bounds: at most ZC_ENROLL_MAX_PENDING requests (each file about 600
    bytes); the hub admits handshakes of unknown keys, and acts on their
    ENROLLs, at most 'rate' a minute between them (a token bucket of
    'rate' tokens, refilled evenly).
*/
#ifndef ZC_ENROLL_H
#define ZC_ENROLL_H
#include "prelude.h"
#include <stdbool.h>
#include <czmq.h>
#include "keys.h"

#define ZC_ENROLL_MAX_PENDING 256

//  ---------------------------------------------------------------------
//  The hub's side

typedef struct _zc_enroll_t zc_enroll_t;

//  For the hub 'hub_name' with data directory 'data' and keys directory
//  'keys' (both borrowed, must outlive it); 'rate' per minute (>= 1).
zc_enroll_t *zc_enroll_new (const char *data, const char *keys, const char *hub_name, size_t rate);
void zc_enroll_destroy (zc_enroll_t **self_p);
//  Takes a token at monotonic time 'now' (ms): true while under the
//  rate. The ZAP handler asks it for every handshake of an unknown key.
bool zc_enroll_admit (zc_enroll_t *self, int64_t now);
//  An ENROLL that arrived with the pending key 'public_txt' and claims
//  'key' (name, role, keys). Stores the request, or finds it stored
//  already, and returns 0 with *answer (malloc'd) the text of the hub's
//  ERROR PENDING. Returns -1 with *answer (malloc'd) why it was refused,
//  for the hub's log: over the rate, keys that do not match the
//  connection's, a name that is the hub's or taken by another key, a
//  revoked key, too many requests, a file that cannot be written.
int zc_enroll_take (zc_enroll_t *self, const char *public_txt, const zc_key_t *key,
                    zc_keyring_t *keyring, int64_t now, char **answer);
//  Messages other than ENROLL from pending keys, which the hub dropped
//  (it counts them here).
void zc_enroll_count_dropped (zc_enroll_t *self);
uint64_t zc_enroll_dropped (zc_enroll_t *self);
//  Requests stored since start.
uint64_t zc_enroll_stored (zc_enroll_t *self);

//  ---------------------------------------------------------------------
//  The operator's side (`zcnc keys`). Each returns 0, or -1 with *error
//  (malloc'd) saying what to do.

//  One pending request.
typedef struct {
    zc_key_t key;
    char fingerprint [ZC_FINGERPRINT_SIZE];
    int64_t since;              //  s since the epoch: when it was stored
} zc_pending_t;

//  The pending requests of the hub whose data directory is 'data', in
//  name order: *list a new zlist of zc_pending_t. A missing
//  DATA/pending is an empty list. zlist_destroy frees the entries.
int zc_enroll_list (const char *data, zlist_t **list, char **error);
//  Trusts the pending key of NAME: writes KEYS/NAME.cert, then removes
//  the request. Refuses when KEYS/NAME.cert exists or the key is trusted
//  under another name.
int zc_enroll_accept (const char *data, const char *keys, const char *name, char **error);
//  Removes the pending request of NAME.
int zc_enroll_reject (const char *data, const char *name, char **error);
//  Moves KEYS/NAME.cert to KEYS/revoked/ (as NAME.cert, or NAME.cert.N
//  when that exists). Refuses this host's own key (NAME.cert_secret is
//  beside it).
int zc_enroll_revoke (const char *keys, const char *name, char **error);

int zc_enroll_test (bool verbose);
#endif
