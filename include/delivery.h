/*  delivery.h — the outbox: jobs sent from this agent, from submission to
    their final result. Sends each message's jobs as one REQ, tracks ACKs,
    resends after ack_timeout with doubling retry_wait (capped at 60 s) up
    to 'retries', parks jobs for absent targets until their PRESENCE, and
    expires what was not delivered in time.

    Every change to a job is written to the store (table outbox) in the
    current batch; the agent commits the batch before anything that
    depends on it leaves the process. After a restart, zc_delivery_load
    brings back every job, and unfinished ones are sent again when the
    hub link is up.
*/
#ifndef ZC_DELIVERY_H
#define ZC_DELIVERY_H
#include <czmq.h>
#include <jansson.h>
#include "message.h"
#include "seal.h"
#include "store.h"
#include "wire.h"

//  A job reached its final state; zc_delivery_job_json (delivery, job_id)
//  gives its "jobs" object when the callee needs it (building it costs
//  more than the rest of a job's bookkeeping). 'given_up' is true when
//  this agent gave up on it (no ACK after its retries, or not delivered
//  before it expired).
typedef struct _zc_delivery_t zc_delivery_t;
typedef void (zc_job_final_fn) (zc_delivery_t *delivery, const char *job_id, bool given_up,
                                void *arg);

//  The queue cap: jobs not yet final, and the bytes of their payloads.
typedef struct {
    size_t max_jobs, max_bytes;
} zc_queue_cap_t;

zc_delivery_t *zc_delivery_new (zc_store_t *store, const char *name, zc_queue_cap_t cap,
                                zc_link_send_fn *send, zc_job_final_fn *on_final, void *arg);
//  From now on, jobs are sealed (one target) or signed (several) with
//  'seal' (borrowed) as they leave; a job whose target (or relay) has no
//  cert here waits for one (or its expiry). Without one, payloads go as they are
//  (the module's self-test).
void zc_delivery_set_seal (zc_delivery_t *self, zc_seal_t *seal);
void zc_delivery_destroy (zc_delivery_t **self_p);

//  Brings back the jobs kept in the store. Returns how many, or -1 when a
//  record could not be read (logged; that record is skipped).
int zc_delivery_load (zc_delivery_t *self);

//  Creates one job per target for a validated message, sends them, and
//  returns the job IDs in target order (a new zlist of char *, autofree).
//  NULL with *error malloc'd when the queue cap would be passed.
zlist_t *zc_delivery_submit (zc_delivery_t *self, zc_message_t *message, zlist_t *targets,
                             char **error);

//  Where job 'job_id' sent from here is: its state, its target and the
//  relay holding it ("" when none). -1 when there is no such job.
int zc_delivery_job_brief (zc_delivery_t *self, const char *job_id, zc_state_t *state,
                           char node [ZC_NAME_SIZE], char relay [ZC_NAME_SIZE]);
//  The method of job (id, node) sent from here while it is not final,
//  else 0 (unknown, final, or held here in custody for another origin).
zc_method_t zc_delivery_job_method (zc_delivery_t *self, const zc_id_t *id, const char *node);
//  Called with a job's result from its target before it is recorded
//  (it may add to it: the output a stream carried, streamin.h).
typedef void (zc_result_hook_fn) (const char *job_id, zc_result_t *result, void *arg);
void zc_delivery_set_result_hook (zc_delivery_t *self, zc_result_hook_fn *hook, void *arg);

//  Cancels a job that is not final yet: it ends 'cancelled' (a queued job
//  is never sent again; one already running at its target is not stopped
//  by this version). 0, or -1 with *error malloc'd.
int zc_delivery_cancel (zc_delivery_t *self, const char *job_id, char **error);
//  Cancels every job not final yet that was created more than
//  'older_than' s ago. Returns how many.
size_t zc_delivery_purge (zc_delivery_t *self, double older_than);
//  The jobs that are not final, oldest first (a new array of "jobs" objects).
json_t *zc_delivery_queue_json (zc_delivery_t *self);

//  Events from the hub link.
void zc_delivery_link_up (zc_delivery_t *self);
void zc_delivery_on_ack (zc_delivery_t *self, const zc_id_t *id, const char *from);
//  A REPLY from the hub: at the origin, a result of a job sent from here
//  (from its target, or from the custody relay holding it), opened and
//  checked (zc_seal_open_reply), then recorded; at a relay, a result of
//  a job it holds (flag RELAYED), checked and kept sealed for the origin.
//  Either way it is ACKed through the link's send once stored; what is
//  not authentic is dropped without an ACK, logged and counted.
void zc_delivery_on_reply_message (zc_delivery_t *self, zc_wire_t *msg);
//  REPLYs dropped: not authentic (forged), or authentic but impossible.
void zc_delivery_rejected (zc_delivery_t *self, uint64_t *forged, uint64_t *malformed);
//  The decoded result of job (id, from), as the function above records
//  it (also for self-tests).
void zc_delivery_on_reply (zc_delivery_t *self, const zc_id_t *id, const char *from, zc_result_t **result_p);
//  At a relay: the result of job (id, from) that 'from' sealed for the
//  job's origin (copied); it is kept and forwarded as it is. 'refused':
//  it is the target's refusal of a copy it could not authenticate, which
//  a later result of the job replaces (as one does a result we made when
//  we gave up).
void zc_delivery_on_envelope (zc_delivery_t *self, const zc_id_t *id, const char *from,
                              zframe_t *envelope, bool refused);
void zc_delivery_on_noroute (zc_delivery_t *self, const zc_id_t *id, const char *name);
void zc_delivery_on_presence (zc_delivery_t *self, const char *name);
//  The keys directory was read again: jobs waiting for a cert try again.
void zc_delivery_keys_changed (zc_delivery_t *self);

//  Custody (relay_via). A message with relay_via goes to the relay, which
//  takes custody of it: stores one job per target, ACKs each to the
//  origin, delivers them with its own retries (SPEC defaults below) and
//  sends each result back to the origin until the origin ACKs it.
#define ZC_CUSTODY_ACK_TIMEOUT  10      //  s
#define ZC_CUSTODY_RETRY_WAIT   2       //  s, doubling up to 60
#define ZC_CUSTODY_RETRIES      30
//  At the relay: a REQ with flag CUSTODY from an origin ('names': the
//  targets), sealed for us by that origin (else refused, logged). A job
//  held already is ACKed again (and its result resent). Returns how many
//  jobs it took now.
int zc_delivery_take_custody (zc_delivery_t *self, zc_wire_t *msg);
//  An ACK with flag CUSTODY from 'from' for the jobs (id, each of
//  'names'): at the origin, the relay took them; at the relay, the
//  origin stored their results.
void zc_delivery_on_custody_ack (zc_delivery_t *self, const zc_id_t *id, const char *from,
                                 zlist_t *names);
//  Resends overdue jobs, fails those out of retries, expires old ones:
//  as of 'now' (zclock_mono: retries) and 'wall' (ms since the epoch:
//  expiry), so that a self-test can step time without sleeping.
void zc_delivery_tick (zc_delivery_t *self, uint64_t now, uint64_t wall);
//  Forgets the jobs whose result is older than results_ttl seconds.
void zc_delivery_prune (zc_delivery_t *self, double results_ttl);

//  Reply methods (replyto.h). A job whose reply method acts (file,
//  file_append, exec) is marked "reply pending" in the record of each
//  final result recorded here, as origin. For such a job: its reply
//  spec, its target in *node and its result in *result (all belong to
//  the outbox); NULL for any other job.
const zc_reply_spec_t *zc_delivery_reply_due (zc_delivery_t *self, const char *job_id,
                                              const char **node, const zc_result_t **result);
//  The reply of a job was given: the mark goes (in the current batch).
void zc_delivery_reply_done (zc_delivery_t *self, const char *job_id);
//  The jobs whose reply is pending, in submission order (a new list of
//  job IDs): after zc_delivery_load, those a stop or crash interrupted.
zlist_t *zc_delivery_replies_pending (zc_delivery_t *self);

bool zc_delivery_is_final (zc_delivery_t *self, const char *job_id);
//  The "jobs" object of one job (new), or NULL when it is not ours.
json_t *zc_delivery_job_json (zc_delivery_t *self, const char *job_id);
//  All jobs in submission order (a new array).
json_t *zc_delivery_jobs_json (zc_delivery_t *self);
void zc_delivery_counts (zc_delivery_t *self, size_t *queued, size_t *inflight);
//  For metrics: the jobs kept here in each state (counts indexed by
//  zc_state_t), and when the oldest job its target has not ACKed yet
//  (queued or sent) was created, in wall ms (0 when none).
void zc_delivery_states (zc_delivery_t *self, size_t counts [ZC_STATE_COUNT], uint64_t *oldest_ms);

int zc_delivery_test (bool verbose);
#endif
