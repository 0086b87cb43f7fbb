/*  pubseal.h — who published a PUB: the publisher's signature over it
    (doc/PROTOCOL.md "PUB envelope").

    A publisher signs each PUB it makes with its Ed25519 key (from its
    cert_secret; `zcnc keygen`): one signature for all the items of the
    message, over a label, the message ID, the publisher's name, the
    subject and the items. Hubs stamp the authenticated name as 'from'
    and forward the payload as it is; a subscriber that holds the
    publisher's cert checks the signature, so no hub or relay can forge a
    message, alter one, or pass it off as another publisher's (the
    subject and a log stream's numbers are covered too). The retain
    time is not covered: hubs count it down as they keep the message.

    A subscriber tells three cases apart: verified (signed, and the
    signature checks with the cert it holds), unsigned (published with
    signing off: nothing proves who made it, a hub may have), and unknown
    (signed by a name it has no cert for). Only verified messages run a
    subscriber's command or enter a collector's log stream.
    A signature that does not check, or a "$sys." subject from a name
    whose cert is not a hub's, is a forgery: the message is refused.
*/
#ifndef ZC_PUBSEAL_H
#define ZC_PUBSEAL_H
#include <czmq.h>
#include "keys.h"
#include "wire.h"

typedef enum {
    ZC_PUB_VERIFIED,            //  signed; checked with the publisher's cert
    ZC_PUB_UNSIGNED,            //  published without a signature
    ZC_PUB_UNKNOWN              //  signed by a publisher whose cert is not here
} zc_pub_auth_t;

//  The payload of PUB 'msg' (its ID, subject, seq and flags CLEAR and GAP
//  are covered) with these items (zframe_t, borrowed), signed with
//  'sign_secret' (64 bytes) as 'from', or unsigned when sign_secret is
//  NULL. NULL (logged) when the items do not fit one PUB (wire.h).
zframe_t *zc_pubseal_make (const uint8_t *sign_secret, const zc_wire_t *msg, const char *from,
                           zlist_t *items);

//  Opens a received PUB (from stamped by the hubs): its items in
//  opened->item and opened->count, pointing into msg->payload (the caller
//  frees them with zc_wire_pub_payload_clear), and how it was
//  authenticated against 'keyring'. -1 with *problem (static text) when
//  it is malformed or forged (nothing to free then).
int zc_pubseal_open (zc_keyring_t *keyring, const zc_wire_t *msg, zc_pub_payload_t *opened,
                     zc_pub_auth_t *auth, const char **problem);
//  Destroys a list of items (zframe_t) and its frames.
void zc_pubseal_items_destroy (zlist_t **items_p);
//  "verified", "unsigned", "unknown".
const char *zc_pubseal_auth_name (zc_pub_auth_t auth);

int zc_pubseal_test (bool verbose);
#endif
