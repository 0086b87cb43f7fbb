/*  runner.h — jobs received to run on this node: ACK each on arrival,
    never run one twice (a resend is ACKed again and gets its result
    again), run it, and send its result back as a REPLY until the origin
    ACKs it. Every task is kept in the store (table inbox): after a
    restart, jobs received but not started run, jobs that were running
    have what is left of their process group killed and are reported
    interrupted, never run again, and results not yet ACKed are sent
    again. Tasks finished and ACKed are not kept in memory (nor loaded at
    start): a REQ that is not in memory is looked up in the store.
*/
#ifndef ZC_RUNNER_H
#define ZC_RUNNER_H
#include <czmq.h>
#include "policy.h"
#include "seal.h"
#include "exec.h"
#include "store.h"
#include "wire.h"

typedef struct _zc_runner_t zc_runner_t;

//  'name' is this node's name, for the log; 'skew' the clock difference
//  tolerated (s): a job older than its expire plus skew, or created more
//  than skew in the future, is refused, so that forgetting old jobs can
//  never let one run twice.
zc_runner_t *zc_runner_new (zloop_t *loop, zc_store_t *store, const char *name,
                            size_t max_output, double skew, zc_link_send_fn *send, void *arg);
//  A REPLY's payload from node 'name': the result, sealed with 'seal' for
//  the origin (not sealed when 'seal' is NULL) and, for a job that came
//  through a relay, sealed again for that relay, which checks that it
//  comes from us before it holds it for the origin; 'refused' marks the
//  answer to a REQ that was not run. NULL when it cannot be encoded.
zframe_t *zc_runner_reply_payload (zc_seal_t *seal, const char *name, const zc_id_t *id, const char *origin,
                                   const char *relay, const zc_result_t *result, bool refused);
//  Addresses an answer about a job (ACK, STARTED, REPLY) to its origin,
//  or, for a job that came through 'relay' (not ""), to the relay,
//  naming the origin.
void zc_runner_address (zc_wire_t *msg, const char *origin, const char *relay);
//  The REPLY (flagged REFUSED) that tells the origin, through 'relay' when
//  not "", that its job 'id' was refused for 'reason' and never ran.
zc_wire_t *zc_runner_refusal (zc_seal_t *seal, const char *name, const zc_id_t *id, const char *origin,
                              const char *relay, const char *reason);
//  From now on, every REQ is opened (and refused unless authentic) and
//  every result sealed with 'seal' (borrowed). Without one, payloads are
//  taken as they come (the module's self-test).
void zc_runner_set_seal (zc_runner_t *self, zc_seal_t *seal);
//  From now on, jobs are checked against 'policy' (borrowed; NULL: every
//  trusted origin may run anything) once they are authentic and stored;
//  one it does not allow is answered denied, with the rule's reason.
void zc_runner_set_policy (zc_runner_t *self, zc_policy_t *policy);
//  From now on, a call (method call) runs the shell command that
//  'functions' (borrowed: name -> char *; NULL: none) gives its first
//  argument, with the arguments as positional parameters; a name it
//  lacks fails with "no function NAME on this node".
void zc_runner_set_functions (zc_runner_t *self, zhashx_t *functions);
//  Jobs refused before they were stored (not authentic, not for us).
size_t zc_runner_refused (zc_runner_t *self);
//  From now on, 'fn' is told of each job refused here (NULL: nobody):
//  its job ID, origin, relay ("" when none), method name (NULL when not
//  known), cause ("authentication": not authentic; "policy"; "expired":
//  too old, a replay; "future") and reason. The log lines of refusals
//  are not tapped (log.h): this reports them.
typedef void (zc_runner_denied_fn) (const char *job_id, const char *origin, const char *relay,
                                    const char *method, const char *cause, const char *reason, void *arg);
void zc_runner_on_denied (zc_runner_t *self, zc_runner_denied_fn *fn, void *arg);
//  Jobs run as, where and with the environment 'context' says (the
//  caller keeps it until the runner is destroyed); without one, in
//  exec.h's minimal context.
void zc_runner_set_exec_context (zc_runner_t *self, const zc_exec_context_t *context);
//  Brings back the tasks kept in the store (see above). Returns how many
//  are in memory.
int zc_runner_load (zc_runner_t *self);
//  Kills jobs still running (they end as interrupted) and frees all.
void zc_runner_destroy (zc_runner_t **self_p);

//  A REQ addressed to this node. A job that needs a process is stored
//  as starting and spawned only by zc_runner_committed, once that record
//  is on disk: a crash can never make it run twice.
void zc_runner_request (zc_runner_t *self, zc_wire_t *msg);
//  The store committed: jobs waiting for that are started now.
void zc_runner_committed (zc_runner_t *self);
//  Events from the hub link.
void zc_runner_link_up (zc_runner_t *self);
//  The origin (or, for a job that came through a relay, that relay:
//  'relay' non-NULL) stored our result for job (id, origin).
void zc_runner_on_ack (zc_runner_t *self, const zc_id_t *id, const char *origin, const char *relay);
void zc_runner_on_noroute (zc_runner_t *self, const zc_id_t *id, const char *name);
//  A STREAM chunk: true when it was for a copy this node receives
//  (copy.h); other chunks are the origin's (streamin.h).
bool zc_runner_on_stream_chunk (zc_runner_t *self, zc_wire_t *msg);
//  Copies send jobs to their destinations with 'submit'.
#include "copy.h"
void zc_runner_set_submit (zc_runner_t *self, zc_copy_submit_fn *submit, void *arg);
//  Is job 'job_id', sent from here, one a copy waits for? Then its end
//  goes to zc_runner_job_final.
bool zc_runner_awaits (zc_runner_t *self, const char *job_id);
void zc_runner_job_final (zc_runner_t *self, const char *job_id, zc_state_t state, const char *out,
                          const char *error);
//  The origin took the output chunks of job (id, origin) up to 'seq'
//  (exec_stream, streamout.h).
void zc_runner_on_stream_ack (zc_runner_t *self, const zc_id_t *id, const char *origin, uint64_t seq);
void zc_runner_on_presence (zc_runner_t *self, const char *name);
//  Resends results not ACKed in time, as of 'now' (zclock_mono).
void zc_runner_tick (zc_runner_t *self, uint64_t now);
//  Forgets jobs whose resend would be refused as expired anyway: ACKed
//  ones older than their expire plus 'skew' seconds. Each call looks at
//  a bounded number of stored tasks, going on where the last one stopped.
void zc_runner_prune (zc_runner_t *self);
size_t zc_runner_running (zc_runner_t *self);
//  Tasks held in memory (for tests and status).
size_t zc_runner_remembered (zc_runner_t *self);

int zc_runner_test (bool verbose);
#endif
