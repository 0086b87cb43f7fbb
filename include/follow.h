/*  follow.h — log shipping, the sending end: files an agent follows
    ("follow = PATH SUBJECT", zcnc.conf(5)) and whose new lines it
    publishes on SUBJECT as a log stream.

    Each line gets the next number of its stream and is stored in the
    spool (the store's table "spool") in the same commit that moves the
    file position on, so a restart neither loses nor repeats one. Lines
    leave (PUB with 'seq', up to 1024 a message) only once stored, in
    order, while the agent's link is up, and stay in the spool until a
    collector says it stored them (STORED): then they go. A link that
    comes back, or no answer for a while, sends again from the first line
    not stored: a collector drops the numbers it has.
    A followed file may be rotated (renamed, a new one created: the old
    one is read to its end first) or truncated in place (read again from
    the start). A new follow starts at the end of the file.
    The spool is bounded (follow_spool bytes): when full, the oldest lines
    of the stream that grows go, counted, logged, and said in the stream
    itself: a line "zcnc: N line(s) of PATH dropped: ..." after them.
*/
#ifndef ZC_FOLLOW_H
#define ZC_FOLLOW_H
#include <czmq.h>
#include <jansson.h>
#include "store.h"
#include "wire.h"

#define ZC_FOLLOW_MAX_LINE  8192    //  bytes of a line; a longer one goes in pieces

typedef struct _zc_follow_t zc_follow_t;

//  Sends a message to the hub in use (destroys it): 0, or -1.
typedef int (zc_follow_send_fn) (zc_wire_t **msg_p, void *arg);

//  Follows each "PATH SUBJECT" of 'follows' (a list of strings, checked
//  by the config), spooling in 'store' (borrowed) at most 'spool_max'
//  bytes of lines; publishes as 'name', signed with 'sign_secret' (64
//  bytes, copied).
zc_follow_t *zc_follow_new (zc_store_t *store, zlist_t *follows, size_t spool_max, const char *name,
                            const uint8_t *sign_secret, zc_follow_send_fn *send, void *arg);
void zc_follow_destroy (zc_follow_t **self_p);

//  Reads what the files gained, and sends what waits while 'link_up';
//  'now' in monotonic ms.
void zc_follow_tick (zc_follow_t *self, int64_t now, bool link_up);
//  A link to a hub came up: what no collector stored goes again.
void zc_follow_link_up (zc_follow_t *self);
//  A collector stored the stream 'subject' up to 'seq'.
void zc_follow_on_stored (zc_follow_t *self, const char *subject, uint64_t seq, int64_t now);

//  For status: [{"path","subject","next","stored","spooled","dropped"}].
json_t *zc_follow_status (zc_follow_t *self);

int zc_follow_test (bool verbose);
#endif
