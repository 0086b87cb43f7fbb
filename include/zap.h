/*  zap.h — the hub's ZAP handler (RFC 27) over an in-memory keyring.

    Answers libzmq's questions about the handshakes of the CURVE sockets
    whose ZAP domain is 'domain' (zsock_set_zap_domain); must exist before
    the hub binds them. Several handlers may share a process (zap.c).
    It accepts a CURVE client only if its key is in the keyring, and
    answers with User-Id = the client's Z85 public key, so every later
    message can be looked up again in the current keyring (a revoked key
    stops at once).
*/
#ifndef ZC_ZAP_H
#define ZC_ZAP_H
#include <czmq.h>
#include "keys.h"

typedef struct _zc_zap_t zc_zap_t;

//  NULL when libzmq's ZAP endpoint is taken by something else.
zc_zap_t *zc_zap_new (const char *domain);
void zc_zap_destroy (zc_zap_t **self_p);
//  The socket to poll for requests; it belongs to self.
zsock_t *zc_zap_socket (zc_zap_t *self);
//  Reads and answers one ZAP request against 'keyring'. Returns 0, or -1
//  when the request was malformed (it is answered with status 500).
int zc_zap_handle (zc_zap_t *self, zc_keyring_t *keyring);
//  Refuses the handshakes of a key until the monotonic time 'until' (ms):
//  a peer sending malformed traffic is kept out for a while.
void zc_zap_suspend (zc_zap_t *self, const char *public_txt, int64_t until);
//  True while a key is suspended.
bool zc_zap_suspended (zc_zap_t *self, const char *public_txt);
//  Handshakes refused since start.
uint64_t zc_zap_refused (zc_zap_t *self);
//  Asked about each handshake of a key that is not in the keyring (and
//  not suspended): true lets it complete, with the key as User-Id like a
//  trusted one, as a pending key (enroll.h); the hub then tells the two
//  apart by the keyring. Without it (the default) such keys are refused.
typedef bool (zc_zap_admit_fn) (const char *public_txt, void *arg);
void zc_zap_set_admit (zc_zap_t *self, zc_zap_admit_fn *admit, void *arg);
//  Handshakes of unknown keys let in by 'admit' since start.
uint64_t zc_zap_admitted (zc_zap_t *self);

int zc_zap_test (bool verbose);
#endif
