/*  pubsub.h — an agent's pub/sub: what its socket clients subscribe to
    and publish (zcnc-pubsub(1)), what it asks its hubs for, and
    the retained messages it published, which it keeps in its store and
    gives its hub again after a restart of either.

    Subscriptions belong to socket connections. The agent subscribes at
    every hub it is connected to, once per pattern however many clients
    want it (a SUB flagged FULL when a link comes up, then SUB and UNSUB
    as patterns come and go), and drops a message it already had from
    another hub (by ID). A message goes to each matching subscription as
    a JSON line; a subscriber that does not read loses what does not fit
    its backlog (ZC_PUBSUB_BACKLOG bytes unsent), and the loss is counted
    and reported in its next line ("dropped") and in status.

    Who published: a message's signature is checked against the
    publisher's cert when this agent has it (pubseal.h); a forged one is
    dropped and counted. A subscription may take only verified messages,
    only some publishers (a glob), and, when it runs a command per
    message, only what the policy allows ("allow FROM sub SUBJECT").
*/
#ifndef ZC_PUBSUB_H
#define ZC_PUBSUB_H
#include <czmq.h>
#include <jansson.h>
#include "jsonl.h"
#include "keys.h"
#include "store.h"
#include "wire.h"

#define ZC_PUBSUB_BACKLOG       (1u << 20)      //  unsent bytes a subscriber may have
#define ZC_PUBSUB_MAX_SUBS      4096            //  subscriptions of all clients
#define ZC_PUBSUB_MAX_RETAINED  1024            //  subjects this agent retains
#define ZC_PUBSUB_MAX_DATA      (ZC_WIRE_MAX_WHOLE - 512)   //  bytes of one message

typedef struct _zc_pubsub_t zc_pubsub_t;

typedef struct {
    //  Sends to the hub in use (destroys the message): 0, or -1 when no
    //  hub is connected.
    int (*send) (zc_wire_t **msg_p, void *arg);
    //  Sends to one hub link (destroys the message).
    int (*send_to) (void *uplink, zc_wire_t **msg_p, void *arg);
    //  The hub links that are up (a new zlist).
    zlist_t *(*uplinks) (void *arg);
    //  The trusted certs now.
    zc_keyring_t *(*keyring) (void *arg);
    //  Sends a JSON line ('size' bytes, no newline; copied) to a socket
    //  client, after the answers it waits for.
    void (*answer) (zc_jsonl_conn_t *conn, const char *line, size_t size, void *arg);
    //  Bytes a socket client has not read yet.
    size_t (*backlog) (zc_jsonl_conn_t *conn, void *arg);
    //  May 'from' trigger a subscription's command with a message on
    //  'subject'? NULL: no policy, yes. 'reason' gets why not.
    bool (*may_run) (const char *from, const char *subject, char *reason, size_t size, void *arg);
    void *arg;
    //  The loop whose turn a batch of publications waits for the end of;
    //  NULL: each goes at once.
    zloop_t *loop;
} zc_pubsub_links_t;

//  'name' is this agent's; 'sign_secret' (64 bytes, copied) signs what it
//  publishes; 'store' (borrowed) keeps its retained messages.
zc_pubsub_t *zc_pubsub_new (const char *name, const uint8_t *sign_secret, zc_store_t *store,
                            const zc_pubsub_links_t *links);
void zc_pubsub_destroy (zc_pubsub_t **self_p);

//  Publishes 'size' bytes on 'subject', kept at the hubs for 'retain' s
//  (0: not kept), signed unless ZC_PUBSUB_UNSIGNED is in 'options'; with
//  ZC_PUBSUB_CLEAR, clears the subject's retained message instead (kept
//  as a marker for 'retain' s, a day when 0). Returns 0 with *id set, or -1 with *error (malloc'd) and
//  *code (a socket error code) when refused: a bad subject, "$sys.",
//  too large, no hub connected (a plain publish is not queued), too many
//  retained subjects. A retained one is stored (answer after the commit).
//  Plain publications of one turn of the loop on one subject leave
//  together at its end, as one PUB (they share its ID); a link that will
//  not take it loses them (counted as "unsent").
#define ZC_PUBSUB_UNSIGNED      1       //  options: not signed
#define ZC_PUBSUB_CLEAR         2       //  a retained clear of the subject (no data)
#define ZC_PUBSUB_CLEAR_RETAIN  86400   //  s a clear is kept when no retain is given
int zc_pubsub_publish (zc_pubsub_t *self, const char *subject, const uint8_t *data, size_t size,
                       uint32_t retain, unsigned options, zc_id_t *id, char **error, const char **code);
//  The same for 'count' plain messages at once (the subject checked
//  once): *id is the first one's, *published how many were (those before
//  one refused for its size).
int zc_pubsub_publish_many (zc_pubsub_t *self, const char *subject, const char *const *datas,
                            const size_t *sizes, size_t count, unsigned options, zc_id_t *id,
                            size_t *published, char **error, const char **code);
//  Sends the publications waiting for the end of the turn now.
void zc_pubsub_flush (zc_pubsub_t *self);

typedef struct {
    const char *pattern;
    const char *from;           //  a glob of publishers, or NULL for any
    bool verified;              //  only messages whose signature was checked here
    bool command;               //  it runs a command per message: verified, and the policy
    bool batch;                 //  a line per publication batch ("data": [...]), not per message
} zc_pubsub_filter_t;
//  Subscribes a connection; its messages are answered with 'tag' (may be
//  NULL). -1 with *error (malloc'd) when refused.
int zc_pubsub_subscribe (zc_pubsub_t *self, zc_jsonl_conn_t *conn, const zc_pubsub_filter_t *filter,
                         json_t *tag, char **error);
//  The agent itself subscribes to 'pattern', for good (the node
//  directory); its messages are the owner's business, not a client's.
void zc_pubsub_keep (zc_pubsub_t *self, const char *pattern);
//  The agent itself takes the messages that match 'pattern' (a
//  collector): 'fn' gets each one that is not forged, with its items
//  (borrowed), also one it had already (a log stream sent again: the
//  handler acknowledges it again).
#include "pubseal.h"
typedef void (zc_pubsub_handler_fn) (zc_wire_t *msg, const zc_pub_item_t *items, size_t count,
                                     zc_pub_auth_t auth, void *arg);
void zc_pubsub_handle (zc_pubsub_t *self, const char *pattern, zc_pubsub_handler_fn *fn, void *arg);
//  The handlers with this 'arg' go (their patterns stay subscribed).
void zc_pubsub_unhandle (zc_pubsub_t *self, void *arg);
//  Ends a connection's subscriptions to 'pattern'; returns how many.
size_t zc_pubsub_unsubscribe (zc_pubsub_t *self, zc_jsonl_conn_t *conn, const char *pattern);
//  A connection went away.
void zc_pubsub_conn_closed (zc_pubsub_t *self, zc_jsonl_conn_t *conn);

//  A PUB from a hub.
void zc_pubsub_on_pub (zc_pubsub_t *self, zc_wire_t *msg);
//  A hub link came up: it gets our subscriptions and retained messages.
void zc_pubsub_link_up (zc_pubsub_t *self, void *uplink);

//  For status: {"subscriptions", "patterns", "delivered", "dropped",
//  "forged", "published", "retained"}.
json_t *zc_pubsub_status (zc_pubsub_t *self);

int zc_pubsub_test (bool verbose);
#endif
