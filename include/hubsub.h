/*  hubsub.h — a hub's pub/sub: who wants which subjects, here and beyond
    its links to other hubs; where a PUB goes; the retained messages.

    Interest. The hub's agents say what they subscribe to (SUB, UNSUB;
    a SUB flagged FULL is all of an agent's patterns). Hubs tell each
    other which hub wants which pattern (INTEREST), as they tell each
    other routes (src/routes.c): an entry "hub H wants pattern P" carries
    the hub path to H, is never advertised back to the link it came
    from, is refused when its path loops through this hub, and goes when
    the link does. So interest is soft state: a hub that restarts, or a
    link that comes back, gets it all again (FULL), and withdrawing one
    never counts to infinity in a mesh with loops.

    Where a PUB goes. A PUB from an agent (or the hub's own) goes to the
    local agents that want its subject, and once to each next hop towards
    the hubs that want it, naming those hubs in 'to'; a hub that finds
    itself in 'to' delivers to its own agents and passes the rest on.
    So a message crosses a link only when some hub beyond it wants it,
    and at most once however many subscribers are beyond. Best effort:
    a link that will not take it (over its budget) loses it, counted.

    Retained messages (retain > 0) are kept by every hub: they are
    flooded to all hubs, a hub keeping the newest per subject (by message
    ID, which starts with its time) and passing on only what was new to
    it. A hub gives an agent the retained messages (and clears) that
    match a pattern it starts to subscribe to, and a neighbour hub all of
    them when the link comes up. A retained message flagged CLEAR clears
    the subject: it is kept as a marker for its retain time, so that an
    older copy does not come back, and agents get it to forget their
    copy (never delivered to a client).

    Links are the hub's (agents, downstream hubs, uplinks); this module
    sees them as pointers and uses the hub's callbacks to send.
*/
#ifndef ZC_HUBSUB_H
#define ZC_HUBSUB_H
#include <czmq.h>
#include "wire.h"

typedef struct _zc_hubsub_t zc_hubsub_t;

typedef struct {
    //  Sends an encoded message over a link; destroys *frames_p. 0, or -1
    //  when the link would not take it.
    int (*send) (void *link, zmsg_t **frames_p, void *arg);
    //  The neighbour hubs that are up (a new zlist of links).
    zlist_t *(*hubs) (void *arg);
    //  A link's name (the agent's or the neighbour hub's).
    const char *(*name) (void *link, void *arg);
    //  The link of a local agent, or NULL when it is not connected here.
    void *(*agent) (const char *name, void *arg);
    void *arg;
} zc_hubsub_links_t;

typedef struct {
    uint64_t published;         //  PUBs taken from agents and made here
    uint64_t delivered;         //  copies sent to agents
    uint64_t forwarded;         //  copies sent to hubs
    uint64_t lost;              //  copies a link would not take
    uint64_t refused;           //  PUBs, SUBs and UNSUBs refused (see the log)
    uint64_t retained;          //  subjects retained now
} zc_hubsub_stats_t;

//  'name' is the hub's; 'sign_secret' (64 bytes, copied) signs what it
//  publishes itself, NULL for unsigned.
zc_hubsub_t *zc_hubsub_new (const char *name, const uint8_t *sign_secret,
                            const zc_hubsub_links_t *links);
void zc_hubsub_destroy (zc_hubsub_t **self_p);

//  A SUB or UNSUB from an agent. -1 with *problem (static) when refused
//  (more patterns than an agent may have).
int zc_hubsub_on_subscribe (zc_hubsub_t *self, void *agent, zc_wire_t *msg, const char **problem);
//  True when agent 'agent' subscribes to exactly 'pattern'.
bool zc_hubsub_agent_has (zc_hubsub_t *self, const char *agent, const char *pattern);
//  An agent went offline: its interest goes.
void zc_hubsub_agent_gone (zc_hubsub_t *self, const char *agent);

//  An INTEREST from a neighbour hub. -1 when its payload is malformed
//  (the caller counts and logs it).
int zc_hubsub_on_interest (zc_hubsub_t *self, void *hub, zc_wire_t *msg);
//  At most 'cap' entries through one neighbour hub (default 200,000;
//  more are ignored, counted as refused and logged once).
void zc_hubsub_set_interest_cap (zc_hubsub_t *self, size_t cap);
//  A neighbour hub came up (it gets all interest and retained messages)
//  or went (the interest learned through it goes).
void zc_hubsub_hub_up (zc_hubsub_t *self, void *hub);
void zc_hubsub_hub_down (zc_hubsub_t *self, void *hub);

//  A PUB from an agent ('from' already its authenticated name) or a
//  neighbour hub (from_hub). -1 with *problem (static) when refused: an
//  agent publishing under "$sys." or naming targets, a hub's PUB
//  without a publisher.
int zc_hubsub_on_pub (zc_hubsub_t *self, void *arrival, bool from_hub, zc_wire_t *msg,
                      const char **problem);
//  Publishes a message of the hub's own (presence), signed.
void zc_hubsub_publish (zc_hubsub_t *self, const char *subject, const char *data);

//  Sends interest changes to the neighbour hubs (batched: call it every
//  100 ms or so) and drops expired retained messages; 'now' in monotonic ms.
void zc_hubsub_tick (zc_hubsub_t *self, int64_t now);

zc_hubsub_stats_t zc_hubsub_stats (zc_hubsub_t *self);
//  Patterns wanted here (by local agents) and known for other hubs.
size_t zc_hubsub_local_patterns (zc_hubsub_t *self);
size_t zc_hubsub_remote_entries (zc_hubsub_t *self);

int zc_hubsub_test (bool verbose);
#endif
