/*  zap.h — the hub's ZAP handler (RFC 27) over an in-memory keyring.

    Owns a REP socket bound to inproc://zeromq.zap.01; must exist before the
    hub binds its CURVE sockets. It accepts a CURVE client only if its key
    is in the keyring, and answers with User-Id = the client's Z85 public
    key, so every later message can be looked up again in the current
    keyring (a revoked key stops at once).
*/
#ifndef ZC_ZAP_H
#define ZC_ZAP_H
#include <czmq.h>
#include "keys.h"

typedef struct _zc_zap_t zc_zap_t;

zc_zap_t *zc_zap_new (void);
void zc_zap_destroy (zc_zap_t **self_p);
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

int zc_zap_test (bool verbose);
#endif
