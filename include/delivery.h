/*  delivery.h — the outbox: jobs sent from this agent, from submission to
    their final result. Sends each message's jobs as one REQ, tracks ACKs,
    resends after ack_timeout with doubling retry_wait (capped at 60 s) up
    to 'retries', parks jobs for absent targets until their PRESENCE, and
    expires what was not delivered in time.

    Jobs live in memory in this version (see agent.h).
*/
#ifndef ZC_DELIVERY_H
#define ZC_DELIVERY_H
#include <czmq.h>
#include <jansson.h>
#include "message.h"
#include "wire.h"

typedef struct _zc_delivery_t zc_delivery_t;

//  Hands a message to the hub link; destroys it either way. Returns -1
//  when the link would not take it (it is down).
typedef int (zc_link_send_fn) (zc_wire_t **msg_p, void *arg);
//  A job reached its final state; 'job' is its "jobs" object (borrowed).
typedef void (zc_job_final_fn) (const char *job_id, json_t *job, void *arg);

zc_delivery_t *zc_delivery_new (zc_link_send_fn *send, zc_job_final_fn *on_final, void *arg);
void zc_delivery_destroy (zc_delivery_t **self_p);

//  Creates one job per target for a validated message, sends them, and
//  returns the job IDs in target order (a new zlist of char *, autofree).
zlist_t *zc_delivery_submit (zc_delivery_t *self, zc_message_t *message, zlist_t *targets);

//  Events from the hub link.
void zc_delivery_link_up (zc_delivery_t *self);
void zc_delivery_on_ack (zc_delivery_t *self, const zc_id_t *id, const char *from);
void zc_delivery_on_reply (zc_delivery_t *self, const zc_id_t *id, const char *from, zc_result_t **result_p);
void zc_delivery_on_noroute (zc_delivery_t *self, const zc_id_t *id, const char *name);
void zc_delivery_on_presence (zc_delivery_t *self, const char *name);
//  Resends overdue jobs, fails those out of retries, expires old ones.
void zc_delivery_tick (zc_delivery_t *self);
//  Forgets results older than results_ttl.
void zc_delivery_prune (zc_delivery_t *self);

//  The "jobs" object of one job (new), or NULL when it is not ours.
json_t *zc_delivery_job_json (zc_delivery_t *self, const char *job_id);
//  All jobs in submission order (a new array).
json_t *zc_delivery_jobs_json (zc_delivery_t *self);
//  Whether a job is final (false when unknown).
bool zc_delivery_job_final (zc_delivery_t *self, const char *job_id);
void zc_delivery_counts (zc_delivery_t *self, size_t *queued, size_t *inflight);

int zc_delivery_test (bool verbose);
#endif
