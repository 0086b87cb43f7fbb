/*  errqueue.h — error events, the sending end: what an agent reports to
    its error_node (zcnc.conf(5)): the jobs it gave up on, the jobs (and
    pub/sub messages) it refused, and its own warning and error lines.

    An event is a JSON object {"time","node","kind","text",...}, kind one
    of "job", "denied", "warning", "error", at most ZC_ERRQUEUE_EVENT_MAX
    bytes (its longest strings are cut to fit). Raising one never blocks
    and never fails: it waits in memory for the next tick, which numbers
    it ("seq", in a stream of this agent's that starts at a random epoch
    like a log stream's, follow.h) and puts it in the store (table spool,
    keys "errqueue:N"), so that the queue survives a restart.
    The queue holds at most 'max_events' events: past that the oldest
    go, counted ("dropped" in status), and the next one sent says how
    many went before it ("dropped" in the event). The oldest event
    queued is sent flagged GAP (nothing before it will come: the error
    node takes it even when it lacks some before it).

    Events leave once committed, in order, while a link is up, as ERROR
    messages with code JOB_EVENT to the error node, at most
    ZC_ERRQUEUE_WINDOW of them not acknowledged; the error node writes
    each once and answers STORED (subject ZC_ERRQUEUE_SUBJECT, 'seq' the
    last one it has); only then do they leave the store. What was not
    acknowledged goes again, from the first: when a link comes up, when
    the error node comes back (a PRESENCE, after the NOROUTE that said it
    was away: nothing is sent in between, for at most a minute), and
    when nothing was acknowledged for 5 s (doubling to 60 s).

    Warnings, errors and denials are rate limited: the same text at most
    once a minute, and at most ZC_ERRQUEUE_RATE of them a minute in all;
    what is left out is counted ("suppressed" in status, and in the next
    event let through). Jobs given up on are not limited (the outbox
    bounds them). The module's own lines never make events (log.h, the
    tap's pause).
*/
#ifndef ZC_ERRQUEUE_H
#define ZC_ERRQUEUE_H
#include <czmq.h>
#include <jansson.h>
#include "store.h"
#include "wire.h"

#define ZC_ERRQUEUE_SUBJECT     "$sys.errors"   //  what a STORED for error events names
#define ZC_ERRQUEUE_EVENT_MAX   900             //  bytes of an event as stored (the wire takes 1024)
#define ZC_ERRQUEUE_WINDOW      64              //  events sent and not acknowledged
#define ZC_ERRQUEUE_RATE        60              //  warnings, errors and denials a minute
#define ZC_ERRQUEUE_DEFAULT     1000            //  events queued (agent/error_queue)

typedef struct _zc_errqueue_t zc_errqueue_t;

//  Sends a message to the hub in use (destroys it): 0, or -1.
typedef int (zc_errqueue_send_fn) (zc_wire_t **msg_p, void *arg);

//  Events of agent 'name' for 'error_node', at most 'max_events' queued.
//  Events can be raised at once; they are stored and sent once
//  zc_errqueue_load gave the queue its store.
zc_errqueue_t *zc_errqueue_new (const char *name, const char *error_node, size_t max_events,
                                zc_errqueue_send_fn *send, void *arg);
//  Puts what waits in memory into the store (when it has one), and frees.
void zc_errqueue_destroy (zc_errqueue_t **self_p);
//  Brings back the queue kept in 'store' (borrowed from now on).
void zc_errqueue_load (zc_errqueue_t *self, zc_store_t *store);
//  For an agent without an error_node: the events an earlier
//  configuration left in 'store' go (logged when there were some).
void zc_errqueue_forget (zc_store_t *store);

//  A job this agent gave up on: 'job' is its jobs object (borrowed,
//  zcnc-jobs(1) "JSON OUTPUTS"); the event keeps its id, node, method, state
//  and error.
void zc_errqueue_job (zc_errqueue_t *self, json_t *job);
//  Something this agent refused: a job (job_id set) or a message on a
//  subject (subject set); 'now' in monotonic ms.
typedef struct {
    const char *job_id;         //  the job refused, or NULL
    const char *subject;        //  the pub/sub subject refused, or NULL
    const char *origin;         //  who sent it (the publisher)
    const char *relay;          //  the relay it came through, or NULL / ""
    const char *method;         //  "exec", ...; "sub" for a subscriber's command
    const char *cause;          //  "policy", "authentication", "expired", "future"
    const char *reason;         //  why, for humans
} zc_errqueue_denial_t;
void zc_errqueue_denied (zc_errqueue_t *self, const zc_errqueue_denial_t *denial, int64_t now);
//  A warning (an error when 'error') line of this agent's log, without
//  its time stamp (log.h, the tap); 'now' in monotonic ms.
void zc_errqueue_log (zc_errqueue_t *self, bool error, const char *text, int64_t now);

//  Stores what was raised, and sends what waits while 'link_up'; 'now'
//  in monotonic ms.
void zc_errqueue_tick (zc_errqueue_t *self, int64_t now, bool link_up);
//  A link to a hub came up: what was not acknowledged goes again.
void zc_errqueue_link_up (zc_errqueue_t *self);
//  A hub could not reach 'name' (NOROUTE) / 'name' is reachable again
//  (PRESENCE): the error node's, or another's (ignored).
void zc_errqueue_on_noroute (zc_errqueue_t *self, const char *name, int64_t now);
void zc_errqueue_on_presence (zc_errqueue_t *self, const char *name);
//  A STORED from 'from': the error node has our events up to 'seq'. One
//  from another node is ignored.
void zc_errqueue_on_stored (zc_errqueue_t *self, const char *from, uint64_t seq, int64_t now);

//  For status: {"error_node","queued","bytes","sent","dropped",
//  "suppressed","waiting"}.
json_t *zc_errqueue_status (zc_errqueue_t *self);

int zc_errqueue_test (bool verbose);
#endif
