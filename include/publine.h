/*  publine.h — the JSON lines of a received pub/sub message, as a
    subscriber on the agent's socket and a collector's file get them (the
    message object of zcnc-pubsub(1), "sub --json").

    A message is written once, however many subscribers take it: its
    fields (subject, from, time, auth, retained, id) and each item's
    "data" ("data_b64" when the item is not UTF-8) are turned into text
    when the message arrives; a subscriber's line adds only what is its
    own (its drop count, its tag). With 100 subscriptions on one agent,
    that is one message's worth of JSON work, not a hundred.
*/
#ifndef ZC_PUBLINE_H
#define ZC_PUBLINE_H
#include <jansson.h>
#include "pubseal.h"
#include "wire.h"

typedef struct _zc_publine_t zc_publine_t;

//  The lines of 'msg', whose 'count' items (borrowed, as 'msg': both
//  must outlive the lines) were authenticated so.
zc_publine_t *zc_publine_new (const zc_wire_t *msg, const zc_pub_item_t *items, size_t count,
                              zc_pub_auth_t auth);
void zc_publine_destroy (zc_publine_t **self_p);
//  The line of item 'index' alone (a log stream's "seq" its own), for a
//  subscriber that lost 'dropped' messages before (0: no "dropped") and
//  tags its lines with 'tag' (NULL: none). Without a newline, *size
//  bytes, valid until the next call.
const char *zc_publine_item (zc_publine_t *self, size_t index, uint64_t dropped, const json_t *tag,
                             size_t *size);
//  One line for the items from 'skip' on, "data" an array of them
//  ("data_b64", all in base64, when one is not UTF-8). NULL when no item
//  is left.
const char *zc_publine_batch (zc_publine_t *self, size_t skip, uint64_t dropped, const json_t *tag,
                              size_t *size);
int zc_publine_test (bool verbose);
#endif
