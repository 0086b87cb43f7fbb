/*  delivery.c — the outbox: jobs sent from this agent (see delivery.h). */
#include <math.h>
#include <time.h>
#include "prelude.h"
#include "audit.h"
#include "delivery.h"
#include "keys.h"
#include "log.h"
#include "seal.h"
#include "testing.h"

#define S_MAX_BACKOFF_S     60
#define S_RESULT_RESEND_MS  10000   //  a relay resends a result not ACKed by its origin
#define S_NOROUTE_RETRY_MS  60000   //  a job the hub could not route is tried again
#define S_REFUSAL_GRACE_MS  2000    //  a target's refusal of a copy waits this long for a result

typedef struct {
    char key [ZC_JOB_ID_MAX];   //  printed job ID
    zc_id_t id;
    char node [ZC_NAME_SIZE];
    zc_method_t method;
    zc_state_t state;
    zframe_t *payload;          //  REQ payload (args, data) until final
    uint32_t method_timeout, expire;
    double ack_timeout, retry_wait;
    int retries;                //  resends allowed after the first try
    int tries;                  //  sends the hub accepted so far
    uint64_t next_try;          //  monotonic ms of the next resend; 0 = none due
    uint64_t created_ms;
    zc_result_t *result;
    void *order_handle;         //  in self->order
    void *active_handle;        //  in self->active while not final
    //  Custody (relay_via). At the origin: the relay that holds the job.
    //  At the relay: the origin it holds the job for, and whether that
    //  origin stored the result yet.
    char relay [ZC_NAME_SIZE];
    char custody_for [ZC_NAME_SIZE];
    bool result_delivered;
    uint64_t result_next_try;   //  monotonic ms; 0 = wait for the origin's presence
    void *forward_handle;       //  in self->forwarding while the result is not delivered
    //  At the relay: the result as sealed for the origin (by the target,
    //  or by us when we gave up); 'result' then only tells the state.
    zframe_t *envelope;
    bool refused;               //  at the relay: that result is the target's refusal
                                //  of a copy (state DENIED), which a result replaces
    //  At the origin: the target refused a copy of the job it could not
    //  authenticate. A forged copy may have come ahead of the real one:
    //  the job ends denied with this only if no result comes within
    //  S_REFUSAL_GRACE_MS (next_try).
    zc_result_t *refusal;
    //  At the origin: what to do with the result (replyto.h), and
    //  whether that is still to be done (from the result's record until
    //  zc_delivery_reply_done).
    zc_reply_spec_t reply;
    bool reply_pending;
    //  At the origin, a run of a schedule (count 0: none): which one. Run
    //  0 is sent; the later runs (state SCHEDULED) wait for the results
    //  the target sends them.
    zc_schedule_spec_t schedule;
    uint32_t run;
} s_job_t;

struct _zc_delivery_t {
    zc_store_t *store;
    char name [ZC_NAME_SIZE];             //  this agent, the origin of every job here
    zc_queue_cap_t cap;
    size_t queued_jobs, queued_bytes;   //  jobs not final, and their payloads
    zhashx_t *jobs;             //  key -> s_job_t (owned)
    zlistx_t *order;            //  keys in submission order
    zlistx_t *active;           //  s_job_t not final yet, in submission order
    zlistx_t *forwarding;       //  s_job_t held in custody, final, result not delivered
    zc_seal_t *seal;            //  end-to-end envelopes; NULL: payloads as they are
    zc_link_send_fn *send;
    zc_job_final_fn *on_final;
    void *arg;
    struct { uint64_t forged, malformed; } count;   //  REPLYs dropped
    uint64_t tick_now;          //  during a tick: its time (zclock_mono), else 0
    zc_result_hook_fn *result_hook;     //  sees a result before it is recorded, or NULL
    void *result_hook_arg;
};
//  The time schedules are made from: the tick's while one runs (a self-
//  test steps it), else the clock.
static uint64_t
s_now (zc_delivery_t *self)
{
    return self->tick_now? self->tick_now: (uint64_t) zclock_mono ();
}


static void
s_job_destroy (void **item)
{
    s_job_t *job = *item;
    zframe_destroy (&job->payload);
    zframe_destroy (&job->envelope);
    zc_result_destroy (&job->result);
    zc_result_destroy (&job->refusal);
    zc_reply_spec_clear (&job->reply);
    free (job);
    *item = NULL;
}

zc_delivery_t *
zc_delivery_new (zc_store_t *store, const char *name, zc_queue_cap_t cap,
                 zc_link_send_fn *send, zc_job_final_fn *on_final, void *arg)
{
    zc_delivery_t *self = zc_calloc (1, sizeof *self);
    self->store = store;
    snprintf (self->name, sizeof self->name, "%s", name);
    self->cap = cap;
    self->jobs = zhashx_new ();
    zhashx_set_destructor (self->jobs, s_job_destroy);
    self->order = zlistx_new ();
    self->active = zlistx_new ();
    self->forwarding = zlistx_new ();
    self->send = send;
    self->on_final = on_final;
    self->arg = arg;
    return self;
}

void
zc_delivery_destroy (zc_delivery_t **self_p)
{
    if (*self_p) {
        zc_delivery_t *self = *self_p;
        zlistx_destroy (&self->order);
        zlistx_destroy (&self->active);
        zlistx_destroy (&self->forwarding);
        zhashx_destroy (&self->jobs);
        free (self);
        *self_p = NULL;
    }
}

static void
s_audit (zc_delivery_t *self, const char *event, s_job_t *job, const char *detail)
{
    zc_audit (event, job->key, self->name, job->node, zc_method_name (job->method), detail);
}

//  Writes the job's current state into the store's batch.
static void
s_job_save (zc_delivery_t *self, s_job_t *job)
{
    zc_job_record_t record = {
        .state = (uint8_t) job->state, .method = (uint8_t) job->method,
        .tries = (uint32_t) job->tries, .retries = (uint32_t) job->retries,
        .method_timeout = job->method_timeout, .expire = job->expire,
        .ack_timeout_ms = (uint32_t) (job->ack_timeout * 1000),
        .retry_wait_ms = (uint32_t) (job->retry_wait * 1000),
        .payload = job->payload,
        .result = job->envelope? zframe_dup (job->envelope)
                : job->result? zc_wire_result_payload (job->result): NULL
    };
    strcpy (record.node, job->node);            //  all ZC_NAME_SIZE bytes
    strcpy (record.relay, job->relay);
    strcpy (record.custody_for, job->custody_for);
    record.result_delivered = job->result_delivered;
    record.reply = job->reply;                  //  read, not taken
    record.reply_pending = job->reply_pending;
    record.schedule = job->schedule;
    record.run = job->run;
    zframe_t *frame = zc_wire_job_record (&record);
    if (frame)
        zc_store_put (self->store, ZC_TABLE_OUTBOX, job->key, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    zframe_destroy (&record.result);
}

//  Adds a job to the tables (and the queue counts while it is not final).
static void
s_job_insert (zc_delivery_t *self, s_job_t *job)
{
    zhashx_insert (self->jobs, job->key, job);
    job->order_handle = zlistx_add_end (self->order, job->key);
    if (!zc_state_final (job->state)) {
        job->active_handle = zlistx_add_end (self->active, job);
        self->queued_jobs++;
        self->queued_bytes += job->payload? zframe_size (job->payload): 0;
    }
}

static json_t *
s_job_json (s_job_t *job)
{
    return zc_message_job_json (job->key, job->node, job->method, job->state,
                                job->result, job->created_ms);
}

//  A relay sends a result it holds in custody to the job's origin; the
//  origin's ACK ends it (zc_delivery_on_custody_ack).
static void
s_forward_result (zc_delivery_t *self, s_job_t *job)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REPLY);
    msg->id = job->id;
    msg->flags |= ZC_FLAG_CUSTODY;
    if (job->refused)
        msg->flags |= ZC_FLAG_REFUSED;
    zlist_append (msg->to, job->custody_for);
    zlist_append (msg->names, job->node);
    msg->payload = zframe_dup (job->envelope);
    job->result_next_try = s_now (self) + S_RESULT_RESEND_MS;
    self->send (&msg, self->arg);
}

static void s_end_later_runs (zc_delivery_t *self, s_job_t *job);

//  Gives a job its final state; a result made here when it has none. The
//  payload is no longer needed then. 'quiet': a later run of a schedule
//  that ends with the run before it, which was reported already.
static void
s_job_end (zc_delivery_t *self, s_job_t *job, zc_state_t state, const char *error, bool quiet)
{
    if (!zc_state_final (job->state)) {
        zlistx_delete (self->active, job->active_handle);
        job->active_handle = NULL;
        self->queued_jobs--;
        self->queued_bytes -= job->payload? zframe_size (job->payload): 0;
        zframe_destroy (&job->payload);
    }
    if (!job->result) {
        job->result = zc_result_new ();
        job->result->finished_ms = zc_wall_ms ();
    }
    job->result->state = state;
    if (error) {
        free (job->result->error);
        job->result->error = zc_strdup (error);
    }
    job->state = state;
    job->next_try = 0;
    //  At the origin, a reply method that acts does so on this result
    //  once it is on disk (the callee hears of it in on_final).
    if (!*job->custody_for && zc_reply_method_acts (job->reply.method))
        job->reply_pending = true;
    if (*job->custody_for && !job->envelope) {
        //  A relay's own result (it gave up): sealed for the origin by us.
        job->envelope = zc_wire_result_payload (job->result);
        if (self->seal) {
            zc_seal_about_t about = { .id = &job->id, .origin = job->custody_for,
                                      .target = job->node, .relay = self->name };
            zframe_t *plain = job->envelope;
            job->envelope = zc_seal_reply (self->seal, &about, true, plain);
            zframe_destroy (&plain);
        }
    }
    s_job_save (self, job);
    s_audit (self, state == ZC_STATE_DONE? "result": zc_state_name (state), job, error);
    zc_debug ("job %s %s%s%s", job->key, zc_state_name (state), error? ": ": "", error? error: "");
    bool given_up = error && !quiet && (state == ZC_STATE_FAILED || state == ZC_STATE_EXPIRED);
    self->on_final (self, job->key, given_up, self->arg);
    if (!quiet)
        s_end_later_runs (self, job);
    //  A relay owes the result to the job's origin.
    if (*job->custody_for && !job->result_delivered && !job->forward_handle) {
        job->forward_handle = zlistx_add_end (self->forwarding, job);
        s_forward_result (self, job);
    }
}

static void
s_job_finish (zc_delivery_t *self, s_job_t *job, zc_state_t state, const char *error)
{
    s_job_end (self, job, state, error, false);
}

//  Run 'run' of the schedule that 'job' is a run of, when it is here.
static s_job_t *
s_run_of (zc_delivery_t *self, s_job_t *job, uint32_t run)
{
    zc_id_t base, id;
    char key [ZC_JOB_ID_MAX];
    if (zc_id_shifted (&job->id, -(int64_t) job->run * job->schedule.interval * 1000, &base) != 0
    ||  zc_id_scheduled (&base, job->schedule.interval, run, &id) != 0)
        return NULL;
    zc_job_id_format (&id, job->node, key);
    return zhashx_lookup (self->jobs, key);
}

//  A run of a schedule ended without reaching its target (its result was
//  made here, or is a refusal: it never started), or run 0 ended expired
//  (the target refuses a run 0 that comes after its expire): the target
//  will not run the later runs, so those still waiting end the same way.
//  Their results are made here, so one the target sends after all still
//  replaces them (as it does for run 0).
static void
s_end_later_runs (zc_delivery_t *self, s_job_t *job)
{
    if (job->run + 1 >= job->schedule.count
    ||  (job->result->started_ms && !(job->run == 0 && job->state == ZC_STATE_EXPIRED)))
        return;
    char *error = zsys_sprintf ("not run: run %u of its schedule (%s) ended %s%s%s", job->run, job->key,
                                zc_state_name (job->state), job->result->error? ": ": "",
                                job->result->error? job->result->error: "");
    for (uint32_t run = job->run + 1; run < job->schedule.count; run++) {
        s_job_t *later = s_run_of (self, job, run);
        if (later && later->state == ZC_STATE_SCHEDULED)
            s_job_end (self, later, job->state, error, true);
    }
    free (error);
}

//  What a relay shows of a result it holds sealed for the origin.
static zc_result_t *
s_sealed_result (zc_state_t state)
{
    zc_result_t *result = zc_result_new ();
    result->state = state;
    result->finished_ms = zc_wall_ms ();
    result->error = zc_strdup ("the result is sealed for the job's origin");
    return result;
}

//  Brings back one stored job.
static int
s_load_job (const char *key, const void *value, size_t size, void *arg)
{
    zc_delivery_t *self = arg;
    zframe_t *frame = zframe_new (value, size);
    zc_job_record_t record;
    s_job_t *job = zc_calloc (1, sizeof *job);
    char node [ZC_NAME_SIZE];
    if (zc_wire_job_record_decode (frame, &record) != 0
    ||  zc_job_id_parse (key, &job->id, node) != 0
    ||  strcmp (node, record.node) != 0) {
        zc_error ("store: outbox record %s is unreadable; skipped", key);
        zframe_destroy (&frame);
        zframe_destroy (&record.payload);
        zframe_destroy (&record.result);
        zc_reply_spec_clear (&record.reply);
        free (job);
        return 0;
    }
    zframe_destroy (&frame);
    snprintf (job->key, sizeof job->key, "%s", key);
    snprintf (job->node, sizeof job->node, "%s", record.node);
    job->method = record.method;
    job->state = record.state;
    job->payload = record.payload;
    job->method_timeout = record.method_timeout;
    job->expire = record.expire;
    job->ack_timeout = record.ack_timeout_ms / 1000.0;
    job->retry_wait = record.retry_wait_ms / 1000.0;
    job->retries = (int) record.retries;
    job->tries = (int) record.tries;
    job->created_ms = zc_id_time_ms (&job->id);
    snprintf (job->relay, sizeof job->relay, "%s", record.relay);
    snprintf (job->custody_for, sizeof job->custody_for, "%s", record.custody_for);
    job->result_delivered = record.result_delivered;
    job->reply = record.reply;                  //  taken
    job->reply_pending = record.reply_pending && zc_state_final (job->state);
    job->schedule = record.schedule;
    job->run = record.run;
    if (*job->custody_for && record.result) {
        //  A relay keeps the result sealed as it is; it knows its state.
        job->envelope = record.result;
        record.result = NULL;
        job->result = s_sealed_result (job->state);
        job->refused = job->state == ZC_STATE_DENIED;
    }
    else
    if (record.result && zc_wire_result_payload_decode (record.result, &job->result) != 0)
        zc_error ("store: the result of %s is unreadable", key);
    zframe_destroy (&record.result);
    if (zc_state_final (job->state) && !job->result) {
        //  Every final job has a result: a stand-in for one lost.
        job->result = zc_result_new ();
        job->result->state = job->state;
        job->result->finished_ms = zc_wall_ms ();
        job->result->error = zc_strdup ("the stored result was unreadable");
    }
    //  A job sent before the restart is due again at once.
    if (job->state == ZC_STATE_SENT)
        job->next_try = 1;
    s_job_insert (self, job);
    //  So is a result a relay still owes its origin.
    if (*job->custody_for && zc_state_final (job->state) && !job->result_delivered && job->envelope) {
        job->result_next_try = 1;
        job->forward_handle = zlistx_add_end (self->forwarding, job);
    }
    return 0;
}

int
zc_delivery_load (zc_delivery_t *self)
{
    if (zc_store_each (self->store, ZC_TABLE_OUTBOX, s_load_job, self) != 0)
        return -1;
    return (int) zhashx_size (self->jobs);
}

//  When a job is due again after its latest try: ack_timeout, then
//  retry_wait doubling with each try, capped at 60 s.
static uint64_t
s_next_try (zc_delivery_t *self, s_job_t *job)
{
    double backoff = job->retry_wait * pow (2, job->tries > 1? job->tries - 1: 0);
    if (backoff > S_MAX_BACKOFF_S)
        backoff = S_MAX_BACKOFF_S;
    return s_now (self) + (uint64_t) ((job->ack_timeout + backoff) * 1000);
}

//  A job this node cannot protect end to end yet: the cert of its target
//  (or relay) is not in the keys directory. It waits, like a job for an
//  absent node, until the keys change (zc_delivery_keys_changed) or it
//  expires; no try is spent.
static bool
s_untrusted (zc_delivery_t *self, s_job_t *job)
{
    if (!self->seal || !zc_seal_e2e (self->seal) || *job->custody_for)
        return false;
    const char *party = !zc_seal_trusts (self->seal, job->node)? job->node
                      : *job->relay && !zc_seal_trusts (self->seal, job->relay)? job->relay: NULL;
    if (!party)
        return false;
    zc_warn ("job %s waits for %s.cert in the keys directory: without it the job cannot"
             " be sealed nor its result checked", job->key, party);
    if (job->state == ZC_STATE_SENT) {
        job->state = ZC_STATE_QUEUED;
        s_job_save (self, job);
    }
    job->next_try = 0;
    return true;
}

//  The payload of REQ 'msg' (its targets set): at the origin, sealed for
//  its one target, or tagged for each of several (the tags go into msg's
//  header); a job for a relay is then sealed again for that relay. At a
//  relay: as the origin made it. NULL (logged) when it cannot be sealed.
static zframe_t *
s_req_payload (zc_delivery_t *self, s_job_t *first, size_t count, zc_wire_t *msg)
{
    if (!self->seal || *first->custody_for)
        return zframe_dup (first->payload);
    zc_seal_about_t about = {
        .id = &first->id, .origin = self->name, .target = first->node,
        .relay = first->relay, .method = (uint8_t) first->method,
        .method_timeout = first->method_timeout, .expire = first->expire
    };
    char reason [256];
    zframe_t *payload = count == 1? zc_seal_req (self->seal, &about, first->payload, reason, sizeof reason)
                      : zc_seal_req_tagged (self->seal, &about, first->payload, msg, reason, sizeof reason);
    if (payload && *first->relay) {
        //  Sealed again for the relay, which checks that it comes from us
        //  before it takes custody.
        zc_seal_about_t hop = about;
        hop.target = first->relay;
        hop.relay = "";
        zframe_t *inner = payload;
        payload = zc_seal_req (self->seal, &hop, inner, reason, sizeof reason);
        zframe_destroy (&inner);
    }
    if (!payload)
        zc_error ("cannot seal %s: %s", first->key, reason);
    return payload;
}

//  Sends jobs of one message (same ID and payload) as one REQ; the hub
//  fans it out. A relay sends the jobs it holds one by one: each carries
//  its target's tag. While the link is down nothing changes: the jobs go
//  out when it comes back.
static int
s_send_jobs (zc_delivery_t *self, zlist_t *candidates)
{
    zlist_t *jobs = zlist_new ();
    for (s_job_t *job = zlist_first (candidates); job; job = zlist_next (candidates))
        if (!s_untrusted (self, job))
            zlist_append (jobs, job);
    s_job_t *first = zlist_first (jobs);
    int rc = 0;
    if (zlist_size (jobs) > 1 && *first->custody_for) {
        for (s_job_t *job = first; job; job = zlist_next (jobs)) {
            zlist_t *alone = zlist_new ();
            zlist_append (alone, job);
            rc |= s_send_jobs (self, alone);
            zlist_destroy (&alone);
        }
        zlist_destroy (&jobs);
        return rc;
    }
    if (!first) {
        zlist_destroy (&jobs);
        return 0;
    }
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REQ);
    msg->id = first->id;
    msg->method = first->method;
    msg->method_timeout = first->method_timeout;
    msg->expire = first->expire;
    if (*first->relay) {
        //  To the relay that will take custody, naming the targets.
        msg->flags |= ZC_FLAG_CUSTODY;
        zlist_append (msg->to, first->relay);
        for (s_job_t *job = first; job; job = zlist_next (jobs))
            zlist_append (msg->names, job->node);
    }
    else {
        for (s_job_t *job = first; job; job = zlist_next (jobs))
            zlist_append (msg->to, job->node);
        //  A relay delivering a job in custody names its origin.
        if (*first->custody_for) {
            msg->flags |= ZC_FLAG_RELAYED;
            zlist_append (msg->names, first->custody_for);
        }
    }
    msg->payload = s_req_payload (self, first, zlist_size (jobs), msg);
    if (!msg->payload) {
        zc_wire_destroy (&msg);         //  logged; s_untrusted makes this rare
        zlist_destroy (&jobs);
        return 0;
    }
    if (self->send (&msg, self->arg) != 0) {
        zlist_destroy (&jobs);
        return -1;
    }
    for (s_job_t *job = zlist_first (jobs); job; job = zlist_next (jobs)) {
        job->tries++;
        if (job->state == ZC_STATE_QUEUED)
            job->state = ZC_STATE_SENT;
        job->next_try = s_next_try (self, job);
        s_job_save (self, job);
        s_audit (self, "sent", job, NULL);
    }
    zlist_destroy (&jobs);
    return 0;
}

static int
s_send_job (zc_delivery_t *self, s_job_t *job)
{
    zlist_t *jobs = zlist_new ();
    zlist_append (jobs, job);
    int rc = s_send_jobs (self, jobs);
    zlist_destroy (&jobs);
    return rc;
}

//  Adds run 'run' of the schedule of 'first' (run 0, just made): a job
//  that is never sent, stored as scheduled; its result comes from the
//  target, which derives the same ID (zc_id_scheduled).
static s_job_t *
s_add_later_run (zc_delivery_t *self, s_job_t *first, uint32_t run)
{
    s_job_t *job = zc_calloc (1, sizeof *job);
    zc_id_scheduled (&first->id, first->schedule.interval, run, &job->id);     //  checked by the caller
    zc_job_id_format (&job->id, first->node, job->key);
    snprintf (job->node, sizeof job->node, "%s", first->node);
    job->method = first->method;
    job->state = ZC_STATE_SCHEDULED;
    job->method_timeout = first->method_timeout;
    job->expire = first->expire;
    job->ack_timeout = first->ack_timeout;
    job->retry_wait = first->retry_wait;
    job->retries = first->retries;
    job->created_ms = zc_id_time_ms (&job->id);
    zc_reply_spec_copy (&job->reply, &first->reply);
    job->schedule = first->schedule;
    job->run = run;
    s_job_insert (self, job);
    s_job_save (self, job);
    return job;
}

static s_job_t *
s_lookup (zc_delivery_t *self, const zc_id_t *id, const char *node)
{
    char key [ZC_JOB_ID_MAX];
    zc_job_id_format (id, node, key);
    return zhashx_lookup (self->jobs, key);
}

zlist_t *
zc_delivery_submit (zc_delivery_t *self, zc_message_t *message, zlist_t *targets, char **error)
{
    zframe_t *payload = zc_wire_req_payload_scheduled (message->args, message->data, message->data_size,
                                                       &message->schedule);
    if (!payload) {
        *error = zc_strdup ("the message's args and data cannot be encoded");
        return NULL;
    }
    //  Every run of a schedule is a job of its own; only run 0 is sent.
    uint32_t runs = message->schedule.count? message->schedule.count: 1;
    size_t count = zlist_size (targets) * runs;
    if (self->queued_jobs + count > self->cap.max_jobs
    ||  self->queued_bytes + zlist_size (targets) * zframe_size (payload) > self->cap.max_bytes) {
        *error = zsys_sprintf ("the queue is full (%zu jobs, %zu bytes queued; caps %zu jobs, %zu bytes);"
                               " try again once jobs complete, or purge it (zcnc queue purge)",
                               self->queued_jobs, self->queued_bytes, self->cap.max_jobs, self->cap.max_bytes);
        zframe_destroy (&payload);
        return NULL;
    }
    zc_id_t id, last;
    zc_id_generate (&id);
    if (zc_id_scheduled (&id, message->schedule.interval, runs - 1, &last) != 0) {
        *error = zc_strdup ("the schedule's last run would be past the year 10000");
        zframe_destroy (&payload);
        return NULL;
    }
    zlist_t *keys = zlist_new ();
    zlist_autofree (keys);
    zlist_t *jobs = zlist_new ();
    for (char *node = zlist_first (targets); node; node = zlist_next (targets)) {
        s_job_t *job = zc_calloc (1, sizeof *job);
        zc_job_id_format (&id, node, job->key);
        job->id = id;
        snprintf (job->node, sizeof job->node, "%s", node);
        job->method = message->method;
        job->state = ZC_STATE_QUEUED;
        job->payload = zframe_dup (payload);
        job->method_timeout = (uint32_t) ceil (message->method_timeout);
        job->expire = (uint32_t) ceil (message->expire);
        job->ack_timeout = message->ack_timeout;
        job->retry_wait = message->retry_wait;
        job->retries = message->retries;
        job->created_ms = zc_id_time_ms (&id);
        zc_reply_spec_copy (&job->reply, &message->reply);
        //  Relaying through ourselves would be no relay at all.
        if (message->relay_via && !streq (message->relay_via, self->name))
            snprintf (job->relay, sizeof job->relay, "%s", message->relay_via);
        job->schedule = message->schedule;
        s_job_insert (self, job);
        s_audit (self, "accepted", job, NULL);
        zlist_append (jobs, job);
        zlist_append (keys, job->key);
        for (uint32_t run = 1; run < runs; run++)
            zlist_append (keys, s_add_later_run (self, job, run)->key);
    }
    //  Sending saves the jobs it sent; those the link did not take are
    //  saved as queued. Either way they are in this batch.
    s_send_jobs (self, jobs);
    for (s_job_t *job = zlist_first (jobs); job; job = zlist_next (jobs))
        if (job->state == ZC_STATE_QUEUED)
            s_job_save (self, job);
    zlist_destroy (&jobs);
    zframe_destroy (&payload);
    return keys;
}

//  A relay tells a job's origin that it holds the job now.
static void
s_custody_ack (zc_delivery_t *self, s_job_t *job)
{
    zc_wire_t *ack = zc_wire_new (ZC_MSG_ACK);
    ack->id = job->id;
    ack->flags |= ZC_FLAG_CUSTODY;
    zlist_append (ack->to, job->custody_for);
    zlist_append (ack->names, job->node);
    self->send (&ack, self->arg);
}

int
zc_delivery_take_custody (zc_delivery_t *self, zc_wire_t *msg)
{
    //  Only what its origin sealed for us: the job inside is sealed for
    //  its target, and we keep it as it is.
    zframe_t *inner = NULL;
    if (self->seal) {
        zc_seal_about_t hop = {
            .id = &msg->id, .origin = msg->from, .target = self->name, .relay = "",
            .method = msg->method, .method_timeout = msg->method_timeout, .expire = msg->expire
        };
        char reason [256];
        if (zc_seal_open_req (self->seal, &hop, msg->payload, NULL, &inner, reason, sizeof reason) != 0) {
            zc_warn ("refused custody of a job from %s: %s", msg->from, reason);
            return 0;
        }
    }
    else
        inner = msg->payload? zframe_dup (msg->payload): zframe_new (NULL, 0);
    int taken = 0;
    zlist_t *fresh = zlist_new ();
    for (char *node = zlist_first (msg->names); node; node = zlist_next (msg->names)) {
        char key [ZC_JOB_ID_MAX];
        zc_job_id_format (&msg->id, node, key);
        s_job_t *job = zhashx_lookup (self->jobs, key);
        if (job) {
            //  Sent again: our ACK was lost; a result we hold goes too.
            if (!streq (job->custody_for, msg->from)) {
                zc_warn ("refused custody of %s for %s: the ID is taken", key, msg->from);
                continue;
            }
            s_custody_ack (self, job);
            if (job->forward_handle)
                s_forward_result (self, job);
            continue;
        }
        //  A tagged job needs its target's tag: a hub may have dropped
        //  it, or added a target.
        const uint8_t *tag = zc_wire_tag (msg, node);
        bool tagged = zc_seal_is_tagged (inner);
        if (tagged && !tag) {
            zc_warn ("refused custody of %s for %s: no tag for %s (altered on the way?)", key, msg->from, node);
            continue;
        }
        size_t size = zframe_size (inner) + (tagged? ZC_WIRE_TAG_SIZE: 0);
        if (self->queued_jobs + 1 > self->cap.max_jobs || self->queued_bytes + size > self->cap.max_bytes) {
            zc_warn ("refused custody of %s for %s: the queue is full; the origin tries again", key, msg->from);
            continue;
        }
        job = zc_calloc (1, sizeof *job);
        snprintf (job->key, sizeof job->key, "%s", key);
        job->id = msg->id;
        snprintf (job->node, sizeof job->node, "%s", node);
        snprintf (job->custody_for, sizeof job->custody_for, "%s", msg->from);
        job->method = msg->method;
        job->state = ZC_STATE_QUEUED;
        //  A tagged job gets its target's tag (zc_seal_tag_one).
        job->payload = tagged? zc_seal_tag_one (inner, tag): zframe_dup (inner);
        job->method_timeout = msg->method_timeout;
        job->expire = msg->expire;
        job->ack_timeout = ZC_CUSTODY_ACK_TIMEOUT;
        job->retry_wait = ZC_CUSTODY_RETRY_WAIT;
        job->retries = ZC_CUSTODY_RETRIES;
        job->created_ms = zc_id_time_ms (&job->id);
        s_job_insert (self, job);
        s_audit (self, "custody", job, msg->from);
        zlist_append (fresh, job);
        taken++;
    }
    s_send_jobs (self, fresh);
    for (s_job_t *job = zlist_first (fresh); job; job = zlist_next (fresh)) {
        if (job->state == ZC_STATE_QUEUED)
            s_job_save (self, job);
        s_custody_ack (self, job);      //  leaves after the commit that holds the job
    }
    zlist_destroy (&fresh);
    zframe_destroy (&inner);
    return taken;
}

//  False when job (id, node) exists and was not handed to 'relay': only
//  the relay that holds a job may answer for it. (An unknown job is
//  answered with an ACK all the same, so that its sender stops.)
static bool
s_may_answer (zc_delivery_t *self, const zc_id_t *id, const char *node, const char *relay)
{
    s_job_t *job = node? s_lookup (self, id, node): NULL;
    return !job || streq (job->relay, relay);
}

void
zc_delivery_on_custody_ack (zc_delivery_t *self, const zc_id_t *id, const char *from, zlist_t *names)
{
    for (char *node = zlist_first (names); node; node = zlist_next (names)) {
        s_job_t *job = s_lookup (self, id, node);
        if (!job)
            continue;
        if (streq (job->relay, from)
        &&  (job->state == ZC_STATE_SENT || job->state == ZC_STATE_QUEUED)) {
            //  At the origin: the relay holds the job now.
            job->state = ZC_STATE_RUNNING;
            job->next_try = 0;
            s_job_save (self, job);
            s_audit (self, "acked", job, from);
        }
        else
        if (streq (job->custody_for, from) && job->forward_handle) {
            //  At the relay: the origin stored the result.
            zlistx_delete (self->forwarding, job->forward_handle);
            job->forward_handle = NULL;
            job->result_delivered = true;
            s_job_save (self, job);
            s_audit (self, "delivered", job, from);
        }
    }
}

//  Sends again every job still waiting for 'node' (any node when NULL).
//  Cancels go ahead of the jobs that waited with them: a cancel that
//  reaches its target first leaves the job it names a tombstone there,
//  so a job cancelled while it waited here, at an origin or at a custody
//  relay, never runs.
static void
s_flush (zc_delivery_t *self, const char *node)
{
    for (int cancels = 1; cancels >= 0; cancels--)
        for (s_job_t *job = zlistx_first (self->active); job; job = zlistx_next (self->active)) {
            if ((job->method == ZC_METHOD_CANCEL) == cancels
            &&  (job->state == ZC_STATE_QUEUED || job->state == ZC_STATE_SENT)
            &&  (!node || streq (*job->relay? job->relay: job->node, node)))
                s_send_job (self, job);
        }
    for (s_job_t *job = zlistx_first (self->forwarding); job; job = zlistx_next (self->forwarding))
        if (!node || streq (job->custody_for, node))
            s_forward_result (self, job);
}

//  The hub answered our HELLO: what it may have lost while the link was
//  down is sent again (targets dedup).
void
zc_delivery_link_up (zc_delivery_t *self)
{
    s_flush (self, NULL);
}

void
zc_delivery_on_presence (zc_delivery_t *self, const char *name)
{
    s_flush (self, name);
}

void
zc_delivery_on_ack (zc_delivery_t *self, const zc_id_t *id, const char *from)
{
    s_job_t *job = s_lookup (self, id, from);
    //  A later run of a schedule hears only STARTED, when its target started it.
    if (job && (job->state == ZC_STATE_SENT || job->state == ZC_STATE_QUEUED
                || job->state == ZC_STATE_SCHEDULED)) {
        job->state = ZC_STATE_RUNNING;
        job->next_try = 0;
        s_job_save (self, job);
        s_audit (self, "acked", job, NULL);
    }
}

//  A result arrived. It is recorded once; a result for a job given up
//  here (failed for want of an ACK, or expired) still turns it done.
void
zc_delivery_on_reply (zc_delivery_t *self, const zc_id_t *id, const char *from, zc_result_t **result_p)
{
    s_job_t *job = s_lookup (self, id, from);
    //  A final job takes a result still when that result was made here
    //  (we gave up), by its relay, or was the target's refusal of a copy:
    //  none of those had started.
    bool replaceable = job && (job->state == ZC_STATE_FAILED || job->state == ZC_STATE_EXPIRED
                               || job->state == ZC_STATE_DENIED)
                       && !job->result->started_ms;
    bool refusal = (*result_p)->state == ZC_STATE_DENIED && !(*result_p)->started_ms;
    if (job && refusal) {
        //  Never replaces a result; waits a moment for one.
        if (!zc_state_final (job->state) && !job->refusal) {
            job->refusal = *result_p;
            *result_p = NULL;
            job->next_try = s_now (self) + S_REFUSAL_GRACE_MS;
        }
        zc_result_destroy (result_p);
        return;
    }
    if (job && (!zc_state_final (job->state) || replaceable)) {
        if (self->result_hook) {
            char job_id [ZC_JOB_ID_MAX];
            zc_job_id_format (id, from, job_id);
            self->result_hook (job_id, *result_p, self->result_hook_arg);
        }
        zc_result_destroy (&job->result);
        job->result = *result_p;
        *result_p = NULL;
        s_job_finish (self, job, job->result->state, NULL);
    }
    zc_result_destroy (result_p);
}

void
zc_delivery_on_envelope (zc_delivery_t *self, const zc_id_t *id, const char *from, zframe_t *envelope,
                         bool refused)
{
    s_job_t *job = s_lookup (self, id, from);
    if (!job || !*job->custody_for || !envelope)
        return;
    //  A final job takes a result still: after we gave up, or after the
    //  target refused a copy (a forged one may come first). A refusal
    //  never replaces anything.
    bool replaceable = job->refused || (job->state != ZC_STATE_DONE && job->state != ZC_STATE_DENIED);
    if (zc_state_final (job->state) && (refused || !replaceable))
        return;
    zframe_destroy (&job->envelope);
    job->envelope = zframe_dup (envelope);
    job->refused = refused;
    zc_state_t state = refused? ZC_STATE_DENIED: ZC_STATE_DONE;
    zc_result_destroy (&job->result);
    job->result = s_sealed_result (state);
    if (zc_state_final (job->state)) {
        //  Replacing a result the origin may have: it goes again.
        job->state = state;
        job->result_delivered = false;
        s_job_save (self, job);
        if (!job->forward_handle)
            job->forward_handle = zlistx_add_end (self->forwarding, job);
        s_forward_result (self, job);
    }
    else
        s_job_finish (self, job, state, NULL);
}

//  A REPLY a relay sent us for a job it held in custody from us as
//  origin, or that a target sealed for us around the origin's envelope
//  (flag RELAYED): checked, then kept sealed for the origin.
static void
s_on_relayed_reply (zc_delivery_t *self, zc_wire_t *msg, bool refused)
{
    char reason [256];
    zc_seal_about_t hop = { .id = &msg->id, .origin = self->name, .target = msg->from,
                            .relay = "", .method = refused };
    zframe_t *inner = NULL;
    if (!self->seal)
        inner = zframe_dup (msg->payload);
    else
    if (zc_seal_open_reply (self->seal, &hop, msg->payload, &inner, NULL, reason, sizeof reason) != 0) {
        zc_warn ("dropped a result for a job held for %s: %s",
                 zlist_size (msg->names)? (char *) zlist_first (msg->names): "?", reason);
        self->count.forged++;
        return;
    }
    zc_delivery_on_envelope (self, &msg->id, msg->from, inner, refused);
    zframe_destroy (&inner);
}

//  A REPLY for a job sent from here: opened, checked and recorded.
//  Returns false when it is not authentic (no ACK then).
static bool
s_on_own_reply (zc_delivery_t *self, zc_wire_t *msg, bool custody, bool refused)
{
    char reason [256];
    //  A relay's REPLY names the target whose result it carries; only
    //  the relay that holds a job answers for its target.
    const char *target = custody? zlist_first (msg->names): msg->from;
    if (!target) {
        self->count.malformed++;
        return false;
    }
    if (custody && !s_may_answer (self, &msg->id, target, msg->from)) {
        zc_warn ("dropped a result for %s from %s, which does not hold that job", target, msg->from);
        self->count.forged++;
        return false;
    }
    zc_seal_about_t about = { .id = &msg->id, .origin = self->name, .target = target,
                              .relay = custody? msg->from: "", .method = refused };
    zframe_t *payload = NULL;
    bool by_relay = false;
    if (!self->seal)
        payload = zframe_dup (msg->payload);
    else
    if (zc_seal_open_reply (self->seal, &about, msg->payload, &payload, &by_relay,
                            reason, sizeof reason) != 0) {
        //  Not from the target: a hub or relay made or altered it.
        zc_warn ("dropped a result for a job on %s: %s", target, reason);
        self->count.forged++;
        return false;
    }
    zc_result_t *result = NULL;
    int rc = zc_wire_result_payload_decode (payload, &result);
    zframe_destroy (&payload);
    //  A relay only reports that it gave up or dropped the job; a
    //  refusal is a denial that never started. Anything else is
    //  authentic but wrong: ACKed, so that it stops, and not recorded.
    bool acceptable = rc == 0 && zc_state_final (result->state)
        && (!by_relay || result->state == ZC_STATE_FAILED || result->state == ZC_STATE_EXPIRED
                      || result->state == ZC_STATE_CANCELLED)
        && (!refused || (result->state == ZC_STATE_DENIED && !result->started_ms));
    if (acceptable)
        zc_delivery_on_reply (self, &msg->id, target, &result);
    else {
        zc_warn ("dropped a result for a job on %s that %s could not make", target,
                 by_relay? msg->from: target);
        self->count.malformed++;
        zc_result_destroy (&result);
    }
    return true;
}

void
zc_delivery_on_reply_message (zc_delivery_t *self, zc_wire_t *msg)
{
    bool custody = (msg->flags & ZC_FLAG_CUSTODY) != 0;
    bool relayed = (msg->flags & ZC_FLAG_RELAYED) != 0;
    bool refused = (msg->flags & ZC_FLAG_REFUSED) != 0;
    if (relayed)
        s_on_relayed_reply (self, msg, refused);
    else
    if (!s_on_own_reply (self, msg, custody, refused))
        return;
    //  Stored first; the ACK, also for a duplicate, then waits for the
    //  commit that holds it (the link's send takes care of that).
    zc_wire_t *ack = zc_wire_new (ZC_MSG_ACK);
    ack->id = msg->id;
    zlist_append (ack->to, msg->from);
    ack->flags = msg->flags & (ZC_FLAG_CUSTODY | ZC_FLAG_RELAYED);
    for (char *name = zlist_first (msg->names); ack->flags && name; name = zlist_next (msg->names))
        zlist_append (ack->names, name);
    self->send (&ack, self->arg);
}

void
zc_delivery_rejected (zc_delivery_t *self, uint64_t *forged, uint64_t *malformed)
{
    *forged = self->count.forged;
    *malformed = self->count.malformed;
}

void
zc_delivery_keys_changed (zc_delivery_t *self)
{
    s_flush (self, NULL);
}

bool
zc_delivery_is_final (zc_delivery_t *self, const char *job_id)
{
    s_job_t *job = zhashx_lookup (self->jobs, job_id);
    return job && zc_state_final (job->state);
}

int
zc_delivery_job_brief (zc_delivery_t *self, const char *job_id, zc_state_t *state,
                       char node [ZC_NAME_SIZE], char relay [ZC_NAME_SIZE])
{
    s_job_t *job = zhashx_lookup (self->jobs, job_id);
    if (!job || *job->custody_for)
        return -1;
    *state = job->state;
    //  A later run of a schedule whose run 0 has not left is queued here
    //  as much as run 0 is.
    s_job_t *first = job->run? s_run_of (self, job, 0): NULL;
    if (job->state == ZC_STATE_SCHEDULED && first && first->state == ZC_STATE_QUEUED)
        *state = ZC_STATE_QUEUED;
    snprintf (node, ZC_NAME_SIZE, "%s", job->node);
    snprintf (relay, ZC_NAME_SIZE, "%s", job->relay);
    return 0;
}

zc_method_t
zc_delivery_job_method (zc_delivery_t *self, const zc_id_t *id, const char *node)
{
    s_job_t *job = s_lookup (self, id, node);
    return job && !zc_state_final (job->state) && !*job->custody_for? job->method: 0;
}

void
zc_delivery_set_result_hook (zc_delivery_t *self, zc_result_hook_fn *hook, void *arg)
{
    self->result_hook = hook;
    self->result_hook_arg = arg;
}

void
zc_delivery_set_seal (zc_delivery_t *self, zc_seal_t *seal)
{
    self->seal = seal;
}

//  A job's target (or relay) cannot be reached: it waits for its
//  presence, and the refused try is not spent.
static void
s_noroute_job (zc_delivery_t *self, s_job_t *job)
{
    if (job->state == ZC_STATE_SENT) {
        job->state = ZC_STATE_QUEUED;
        //  PRESENCE sends it at once; a PRESENCE lost on the way (or a
        //  hub that could not note us down) costs at most this wait.
        job->next_try = s_now (self) + S_NOROUTE_RETRY_MS;
        job->tries--;
        s_job_save (self, job);
    }
}

//  The hub cannot reach 'name' now: its job waits for its PRESENCE, and
//  the refused try is not spent.
void
zc_delivery_on_noroute (zc_delivery_t *self, const zc_id_t *id, const char *name)
{
    s_job_t *job = s_lookup (self, id, name);
    if (job && !*job->relay)
        s_noroute_job (self, job);
    //  Jobs handed to a relay that is absent, and results a relay owes
    //  an absent origin.
    for (job = zlistx_first (self->active); job; job = zlistx_next (self->active))
        if (zc_id_equal (&job->id, id) && streq (job->relay, name))
            s_noroute_job (self, job);
    for (job = zlistx_first (self->forwarding); job; job = zlistx_next (self->forwarding))
        if (zc_id_equal (&job->id, id) && streq (job->custody_for, name))
            job->result_next_try = s_now (self) + S_NOROUTE_RETRY_MS;
}

void
zc_delivery_tick (zc_delivery_t *self, uint64_t now, uint64_t wall)
{
    self->tick_now = now? now: 1;
    //  Collected first: finishing a job takes it off the active list.
    zlist_t *expired = zlist_new (), *due = zlist_new ();
    for (s_job_t *job = zlistx_first (self->active); job; job = zlistx_next (self->active)) {
        if (job->state != ZC_STATE_QUEUED && job->state != ZC_STATE_SENT)
            continue;
        if (wall > job->created_ms + (uint64_t) job->expire * 1000)
            zlist_append (expired, job);
        else
        if (job->next_try && now >= job->next_try) {
            if (job->method == ZC_METHOD_CANCEL)
                zlist_push (due, job);      //  ahead of what it may cancel (s_flush)
            else
                zlist_append (due, job);
        }
    }
    for (s_job_t *job = zlist_first (expired); job; job = zlist_next (expired))
        s_job_finish (self, job, ZC_STATE_EXPIRED, "not delivered before it expired");
    for (s_job_t *job = zlist_first (due); job; job = zlist_next (due)) {
        if (job->refusal) {
            //  No result came after the target refused a copy: denied.
            zc_result_destroy (&job->result);
            job->result = job->refusal;
            job->refusal = NULL;
            s_job_finish (self, job, ZC_STATE_DENIED, NULL);
        }
        else
        if (job->tries > job->retries) {
            char reason [160];
            snprintf (reason, sizeof reason, "no ACK from %s after %d tries", job->node, job->tries);
            s_job_finish (self, job, ZC_STATE_FAILED, reason);
        }
        else
        if (s_send_job (self, job) != 0)
            job->next_try = 0;          //  no link: it goes when one comes up
    }
    zlist_destroy (&expired);
    zlist_destroy (&due);
    for (s_job_t *job = zlistx_first (self->forwarding); job; job = zlistx_next (self->forwarding))
        if (job->result_next_try && now >= job->result_next_try)
            s_forward_result (self, job);
    self->tick_now = 0;
}

int
zc_delivery_cancel (zc_delivery_t *self, const char *job_id, char **error)
{
    s_job_t *job = zhashx_lookup (self->jobs, job_id);
    if (!job) {
        *error = zsys_sprintf ("no job %s was sent from this agent", job_id);
        return -1;
    }
    if (zc_state_final (job->state)) {
        *error = zsys_sprintf ("job %s is already %s", job_id, zc_state_name (job->state));
        return -1;
    }
    //  A run of a schedule takes the later runs with it; while run 0 has
    //  not left, that is all of them.
    s_job_t *first = job->run? s_run_of (self, job, 0): NULL;
    if (job->state == ZC_STATE_SCHEDULED && first && first->state == ZC_STATE_QUEUED)
        job = first;
    s_job_finish (self, job, ZC_STATE_CANCELLED, "cancelled by zcnc queue");
    return 0;
}

size_t
zc_delivery_purge (zc_delivery_t *self, double older_than)
{
    uint64_t limit = zc_wall_ms () - (uint64_t) (older_than * 1000);
    zlist_t *old = zlist_new ();
    //  Without an age, every job: also the later runs of a schedule,
    //  whose creation is the time they are due.
    for (s_job_t *job = zlistx_first (self->active); job; job = zlistx_next (self->active))
        if (older_than <= 0 || job->created_ms <= limit)
            zlist_append (old, job);
    for (s_job_t *job = zlist_first (old); job; job = zlist_next (old))
        if (!zc_state_final (job->state))       //  not ended with an earlier run
            s_job_finish (self, job, ZC_STATE_CANCELLED, "purged by zcnc queue");
    size_t count = zlist_size (old);
    zlist_destroy (&old);
    return count;
}

void
zc_delivery_prune (zc_delivery_t *self, double results_ttl)
{
    uint64_t wall = zc_wall_ms ();
    zlist_t *gone = zlist_new ();
    //  A result a relay still owes its origin is kept until delivered,
    //  one whose reply is pending until it was given.
    for (s_job_t *job = zhashx_first (self->jobs); job; job = zhashx_next (self->jobs))
        if (zc_state_final (job->state) && !job->forward_handle && !job->reply_pending
        &&  wall > job->result->finished_ms + (uint64_t) (results_ttl * 1000))
            zlist_append (gone, job->key);
    for (char *key = zlist_first (gone); key; key = zlist_next (gone)) {
        s_job_t *job = zhashx_lookup (self->jobs, key);
        zc_store_del (self->store, ZC_TABLE_OUTBOX, key);
        zlistx_delete (self->order, job->order_handle);
        zhashx_delete (self->jobs, key);
    }
    zlist_destroy (&gone);
}

const zc_reply_spec_t *
zc_delivery_reply_due (zc_delivery_t *self, const char *job_id, const char **node,
                       const zc_result_t **result)
{
    s_job_t *job = zhashx_lookup (self->jobs, job_id);
    if (!job || !job->reply_pending)
        return NULL;
    *node = job->node;
    *result = job->result;
    return &job->reply;
}

void
zc_delivery_reply_done (zc_delivery_t *self, const char *job_id)
{
    s_job_t *job = zhashx_lookup (self->jobs, job_id);
    if (job && job->reply_pending) {
        job->reply_pending = false;
        s_job_save (self, job);
    }
}

zlist_t *
zc_delivery_replies_pending (zc_delivery_t *self)
{
    zlist_t *pending = zlist_new ();
    zlist_autofree (pending);
    for (const char *key = zlistx_first (self->order); key; key = zlistx_next (self->order)) {
        s_job_t *job = zhashx_lookup (self->jobs, key);
        if (job->reply_pending)
            zlist_append (pending, job->key);
    }
    return pending;
}

json_t *
zc_delivery_job_json (zc_delivery_t *self, const char *job_id)
{
    s_job_t *job = zhashx_lookup (self->jobs, job_id);
    return job? s_job_json (job): NULL;
}

json_t *
zc_delivery_jobs_json (zc_delivery_t *self)
{
    json_t *jobs = json_array ();
    for (const char *key = zlistx_first (self->order); key; key = zlistx_next (self->order))
        json_array_append_new (jobs, s_job_json (zhashx_lookup (self->jobs, key)));
    return jobs;
}

json_t *
zc_delivery_queue_json (zc_delivery_t *self)
{
    json_t *jobs = json_array ();
    for (s_job_t *job = zlistx_first (self->active); job; job = zlistx_next (self->active))
        json_array_append_new (jobs, s_job_json (job));
    return jobs;
}

void
zc_delivery_counts (zc_delivery_t *self, size_t *queued, size_t *inflight)
{
    *queued = *inflight = 0;
    for (s_job_t *job = zlistx_first (self->active); job; job = zlistx_next (self->active))
        if (job->state == ZC_STATE_QUEUED)
            (*queued)++;
        else
        if (job->state == ZC_STATE_SENT || job->state == ZC_STATE_RUNNING)
            (*inflight)++;
}

void
zc_delivery_states (zc_delivery_t *self, size_t counts [ZC_STATE_COUNT], uint64_t *oldest_ms)
{
    memset (counts, 0, ZC_STATE_COUNT * sizeof counts [0]);
    for (s_job_t *job = zhashx_first (self->jobs); job; job = zhashx_next (self->jobs))
        if (job->state < ZC_STATE_COUNT)
            counts [job->state]++;
    *oldest_ms = 0;
    for (s_job_t *job = zlistx_first (self->active); job && !*oldest_ms; job = zlistx_next (self->active))
        if (job->state == ZC_STATE_QUEUED || job->state == ZC_STATE_SENT)
            *oldest_ms = job->created_ms? job->created_ms: 1;
}

//  Self-test: a fake link records what the outbox sends.

typedef struct {
    zlist_t *sent;              //  zc_wire_t * the outbox sent
    bool link_down;
    zlist_t *finals;            //  job ID strings that became final
    char last_state [16];
} s_test_link_t;

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    s_test_link_t *link = arg;
    if (link->link_down) {
        zc_wire_destroy (msg_p);
        return -1;
    }
    zlist_append (link->sent, *msg_p);
    *msg_p = NULL;
    return 0;
}

static void
s_test_final (zc_delivery_t *delivery, const char *job_id, bool given_up, void *arg)
{
    s_test_link_t *link = arg;
    zlist_append (link->finals, (void *) job_id);
    json_t *job = zc_delivery_job_json (delivery, job_id);
    snprintf (link->last_state, sizeof link->last_state, "%s",
              json_string_value (json_object_get (job, "state")));
    json_decref (job);
}

//  Takes the oldest sent message (the caller destroys it), or NULL.
static zc_wire_t *
s_test_take (s_test_link_t *link)
{
    return zlist_pop (link->sent);
}

static zc_message_t *
s_test_message (const char *text)
{
    json_t *object = json_loads (text, 0, NULL);
    char *error = NULL;
    const char *field = NULL;
    zc_message_t *message = zc_message_from_json (object, NULL, &error, &field);
    free (error);
    json_decref (object);
    return message;
}

//  A custody job for two targets, sealed as an origin makes it, reaches
//  relay 'relay' (its store in 'dir'): with 'strip', a hub dropped the
//  tags on the way. Returns how many jobs the relay took; *acks gets the
//  ACKs it sent the origin, *opened the copies the targets could open.
static int
s_test_custody (const char *dir, zc_seal_t **seals, bool strip, size_t *acks, size_t *opened)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REQ);
    strcpy (msg->from, "o1");
    msg->flags = ZC_FLAG_CUSTODY;
    msg->method = ZC_METHOD_EXEC;
    msg->expire = 3600;
    zlist_append (msg->to, "r1");
    zlist_append (msg->names, "t1");
    zlist_append (msg->names, "t2");
    zframe_t *plain = zframe_new ("cmd", 3);
    zc_seal_about_t about = { .id = &msg->id, .origin = "o1", .target = "t1", .relay = "r1",
                              .method = msg->method, .expire = msg->expire };
    char reason [256];
    zframe_t *inner = zc_seal_req_tagged (seals [0], &about, plain, msg, reason, sizeof reason);
    zc_seal_about_t hop = about;
    hop.target = "r1";
    hop.relay = "";
    msg->payload = zc_seal_req (seals [0], &hop, inner, reason, sizeof reason);
    zframe_destroy (&inner);
    zframe_destroy (&plain);
    if (strip) {
        msg->flags &= (uint8_t) ~ZC_FLAG_TAGS;
        zhashx_destroy (&msg->tags);
    }
    zmsg_t *frames = zc_wire_encode (msg);
    zc_wire_t *got = frames? zc_wire_decode (frames, zmsg_first (frames), NULL): NULL;
    zmsg_destroy (&frames);
    s_test_link_t link = { .sent = zlist_new (), .finals = zlist_new () };
    zc_store_t *store = zc_store_open (dir, false, NULL);
    zc_queue_cap_t cap = { .max_jobs = 10, .max_bytes = 1 << 20 };
    zc_delivery_t *relay = zc_delivery_new (store, "r1", cap, s_test_send, s_test_final, &link);
    zc_delivery_set_seal (relay, seals [1]);
    int taken = got? zc_delivery_take_custody (relay, got): -1;
    *acks = *opened = 0;
    zc_wire_t *out;
    while ((out = s_test_take (&link))) {
        if (out->type == ZC_MSG_ACK)
            (*acks)++;
        else {
            const char *target = zlist_first (out->to);
            zc_seal_about_t there = about;
            there.target = target;
            zframe_t *job = NULL;
            *opened += zc_seal_open_req (seals [streq (target, "t1")? 2: 3], &there, out->payload,
                                         zc_wire_tag (out, target), &job, reason, sizeof reason) == 0;
            zframe_destroy (&job);
        }
        zc_wire_destroy (&out);
    }
    zc_delivery_destroy (&relay);
    zc_store_close (&store);
    zlist_destroy (&link.sent);
    zlist_destroy (&link.finals);
    zc_wire_destroy (&got);
    zc_wire_destroy (&msg);
    return taken;
}

//  Custody with end-to-end envelopes: the relay gives each target its
//  tag; without the tags (a hub dropped them) it takes nothing, ACKs
//  nothing, and the origin sends the job again.
static int
s_test_sealed_custody (void)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zcnc-custody-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    const char *names [] = { "o1", "r1", "t1", "t2" };
    for (int index = 0; index < 4; index++)
        ZC_CHECK (zc_keygen (dir, names [index], false, NULL) == 0);
    zc_keyring_t *keyring = zc_keyring_load (dir, NULL);
    zc_seal_t *seals [4];
    for (int index = 0; index < 4; index++) {
        seals [index] = zc_seal_load (dir, names [index], keyring, true, NULL);
        ZC_CHECK (seals [index]);
    }
    char *stores [2] = { zsys_sprintf ("%s/store-a", dir), zsys_sprintf ("%s/store-b", dir) };
    size_t acks, opened;
    ZC_CHECK (s_test_custody (stores [0], seals, false, &acks, &opened) == 2);
    ZC_CHECK (acks == 2 && opened == 2);
    ZC_CHECK (s_test_custody (stores [1], seals, true, &acks, &opened) == 0);
    ZC_CHECK (acks == 0 && opened == 0);
    for (int index = 0; index < 4; index++)
        zc_seal_destroy (&seals [index]);
    zc_keyring_destroy (&keyring);
    zstr_free (&stores [0]);
    zstr_free (&stores [1]);
    char *command = zsys_sprintf ("rm -rf %s", dir);
    ZC_CHECK (system (command) == 0);
    free (command);
    return ZC_TEST_END;
}

//  The state of job 'key' as its "jobs" object says it.
static char *
s_test_state (zc_delivery_t *delivery, const char *key)
{
    json_t *job = zc_delivery_job_json (delivery, key);
    char *state = zc_strdup (job? json_string_value (json_object_get (job, "state")): "none");
    json_decref (job);
    return state;
}

//  An outbox "o1" with room for 100 jobs, on a store of its own in a
//  scratch directory, its link recorded.
typedef struct {
    char dir [32];
    s_test_link_t link;
    zc_store_t *store;
    zc_delivery_t *delivery;
} s_test_outbox_t;

static int
s_test_outbox_open (s_test_outbox_t *self)
{
    self->link = (s_test_link_t) { .sent = zlist_new (), .finals = zlist_new () };
    zlist_autofree (self->link.finals);
    snprintf (self->dir, sizeof self->dir, "/tmp/zcnc-outbox-XXXXXX");
    if (!mkdtemp (self->dir))
        return -1;
    self->store = zc_store_open (self->dir, false, NULL);
    zc_queue_cap_t cap = { .max_jobs = 100, .max_bytes = 1 << 20 };
    self->delivery = zc_delivery_new (self->store, "o1", cap, s_test_send, s_test_final, &self->link);
    return self->store? 0: -1;
}

//  0, or -1 when the scratch directory could not be removed.
static int
s_test_outbox_close (s_test_outbox_t *self)
{
    zc_delivery_destroy (&self->delivery);
    zc_store_close (&self->store);
    zc_wire_t *msg;
    while ((msg = s_test_take (&self->link)))
        zc_wire_destroy (&msg);
    zlist_destroy (&self->link.sent);
    zlist_destroy (&self->link.finals);
    char *command = zsys_sprintf ("rm -rf %s", self->dir);
    int status = system (command);
    free (command);
    return status == 0? 0: -1;
}

//  A schedule: one job per run and target, run k's ID derived from run
//  0's; only run 0 is sent, the later runs wait for their results; when
//  run 0 never reaches its target they end with it.
static int
s_test_schedule (void)
{
    ZC_TEST_BEGIN;
    s_test_outbox_t outbox;
    ZC_CHECK (s_test_outbox_open (&outbox) == 0);
    s_test_link_t *link = &outbox.link;
    zc_delivery_t *delivery = outbox.delivery;
    zc_message_t *message = s_test_message ("{\"to\": \"n1,n2\", \"args\": [\"date\"],"
                                            " \"schedule\": [10, 25]}");
    zlist_t *targets = zlist_new ();
    zlist_append (targets, "n1");
    zlist_append (targets, "n2");
    char *error = NULL;
    zlist_t *ids = zc_delivery_submit (delivery, message, targets, &error);
    ZC_CHECK (zlist_size (ids) == 6);
    zc_wire_t *req = s_test_take (link);
    ZC_CHECK (req && req->type == ZC_MSG_REQ && zlist_size (req->to) == 2);
    ZC_CHECK (s_test_take (link) == NULL);
    zc_schedule_spec_t schedule;
    ZC_CHECK (req && zc_wire_req_payload_schedule (req->payload, &schedule) == 0
              && schedule.interval == 10 && schedule.count == 3);
    //  Target by target, run by run; run k is run 0 plus k * 10 s.
    char keys [6] [ZC_JOB_ID_MAX];
    int index = 0;
    for (char *key = zlist_first (ids); key && index < 6; key = zlist_next (ids))
        snprintf (keys [index++], ZC_JOB_ID_MAX, "%s", key);
    zc_id_t run_id;
    char expected [ZC_JOB_ID_MAX];
    for (index = 0; index < 6 && req; index++) {
        zc_id_scheduled (&req->id, 10, (uint32_t) index % 3, &run_id);
        zc_job_id_format (&run_id, index < 3? "n1": "n2", expected);
        ZC_CHECK_STR (keys [index], expected);
        char *state = s_test_state (delivery, keys [index]);
        ZC_CHECK_STR (state, index % 3? "scheduled": "sent");
        free (state);
    }
    size_t queued, inflight;
    zc_delivery_counts (delivery, &queued, &inflight);
    ZC_CHECK (queued == 0 && inflight == 2);
    json_t *queue = zc_delivery_queue_json (delivery);
    ZC_CHECK (json_array_size (queue) == 6);
    json_decref (queue);
    //  n1 ACKs run 0, starts run 1 and sends the results: each run
    //  ends on its own.
    zc_delivery_on_ack (delivery, &req->id, "n1");
    zc_id_scheduled (&req->id, 10, 1, &run_id);
    zc_delivery_on_ack (delivery, &run_id, "n1");           //  its STARTED
    char *state = s_test_state (delivery, keys [1]);
    ZC_CHECK_STR (state, "running");
    free (state);
    for (uint32_t run = 0; run < 3; run++) {
        zc_result_t *result = zc_result_new ();
        result->state = ZC_STATE_DONE;
        result->started_ms = result->finished_ms = zc_wall_ms ();
        zc_id_scheduled (&req->id, 10, run, &run_id);
        zc_delivery_on_reply (delivery, &run_id, "n1", &result);
    }
    ZC_CHECK (zlist_size (link->finals) == 3);
    //  n2 never gets run 0: when it expires, so do its later runs, once
    //  reported (given up) for run 0 only; a result that comes after
    //  all still replaces theirs.
    ZC_CHECK (req && zc_delivery_job_method (delivery, &req->id, "n2") == ZC_METHOD_EXEC);
    zc_delivery_tick (delivery, zclock_mono (), zc_wall_ms () + 86401 * 1000);
    ZC_CHECK (zlist_size (link->finals) == 6);
    state = s_test_state (delivery, keys [5]);
    ZC_CHECK_STR (state, "expired");
    free (state);
    json_t *job = zc_delivery_job_json (delivery, keys [4]);
    const char *text = json_string_value (json_object_get (job, "error"));
    ZC_CHECK (text && strncmp (text, "not run: run 0 of its schedule (", 32) == 0
              && strstr (text, ") ended expired: not delivered before it expired"));
    json_decref (job);
    zc_result_t *late = zc_result_new ();
    late->state = ZC_STATE_DONE;
    late->started_ms = late->finished_ms = zc_wall_ms ();
    zc_id_scheduled (&req->id, 10, 2, &run_id);
    zc_delivery_on_reply (delivery, &run_id, "n2", &late);
    state = s_test_state (delivery, keys [5]);
    ZC_CHECK_STR (state, "done");
    free (state);
    zc_wire_destroy (&req);
    zlist_destroy (&ids);

    //  A later run that its target started too late (expired there) does
    //  not end the runs after it: the target runs those.
    zlist_t *one = zlist_new ();
    zlist_append (one, "n5");
    ids = zc_delivery_submit (delivery, message, one, &error);
    req = s_test_take (link);
    late = zc_result_new ();
    late->state = ZC_STATE_EXPIRED;
    late->started_ms = late->finished_ms = zc_wall_ms ();
    zc_id_scheduled (&req->id, 10, 1, &run_id);
    zc_delivery_on_reply (delivery, &run_id, "n5", &late);
    state = s_test_state (delivery, zlist_last (ids));
    ZC_CHECK_STR (state, "scheduled");
    free (state);
    zc_wire_destroy (&req);
    zlist_destroy (&ids);
    zlist_destroy (&one);

    //  While run 0 has not left, its later runs are queued here as much
    //  as it is: cancelling one cancels them all. The runs and their
    //  schedule survive a restart.
    link->link_down = true;
    ids = zc_delivery_submit (delivery, message, targets, &error);
    ZC_CHECK (zlist_size (ids) == 6);
    ZC_CHECK (zc_store_commit (outbox.store) == 0);
    zc_delivery_destroy (&delivery);
    delivery = zc_delivery_new (outbox.store, "o1", (zc_queue_cap_t) { .max_jobs = 100, .max_bytes = 1 << 20 }, s_test_send, s_test_final, link);
    ZC_CHECK (zc_delivery_load (delivery) == 15);
    const char *n1_first = zlist_first (ids), *n1_last = zlist_next (ids);
    n1_last = zlist_next (ids);
    zc_state_t brief;
    char node [ZC_NAME_SIZE], relay [ZC_NAME_SIZE];
    ZC_CHECK (zc_delivery_job_brief (delivery, n1_last, &brief, node, relay) == 0
              && brief == ZC_STATE_QUEUED && streq (node, "n1"));
    size_t finals = zlist_size (link->finals);
    ZC_CHECK (zc_delivery_cancel (delivery, n1_last, &error) == 0);
    ZC_CHECK (zlist_size (link->finals) == finals + 3);
    state = s_test_state (delivery, n1_first);
    ZC_CHECK_STR (state, "cancelled");
    free (state);
    //  Sent now, n2's run 0 takes its later runs with it when it is cancelled.
    link->link_down = false;
    zc_delivery_link_up (delivery);
    int to_n1 = 0, to_n2 = 0;
    while ((req = s_test_take (link))) {
        to_n1 += streq (zlist_first (req->to), "n1");
        to_n2 += streq (zlist_first (req->to), "n2");
        zc_wire_destroy (&req);
    }
    ZC_CHECK (to_n1 == 0 && to_n2 == 1);
    ZC_CHECK (zc_delivery_purge (delivery, 0) == 5);     //  n2's 3, n5's runs 0 and 2
    zc_delivery_counts (delivery, &queued, &inflight);
    ZC_CHECK (queued == 0 && inflight == 0);
    zlist_destroy (&ids);

    zc_message_destroy (&message);
    zlist_destroy (&targets);
    outbox.delivery = delivery;
    ZC_CHECK (s_test_outbox_close (&outbox) == 0);
    return ZC_TEST_END;
}

//  Jobs that waited for their target go out cancels first, at link up,
//  at its presence and on a resend: a cancel must reach the target ahead
//  of the job it names, or that job runs.
static int
s_test_cancels_first (void)
{
    ZC_TEST_BEGIN;
    s_test_outbox_t outbox;
    ZC_CHECK (s_test_outbox_open (&outbox) == 0);
    s_test_link_t *link = &outbox.link;
    zc_delivery_t *delivery = outbox.delivery;
    zlist_t *targets = zlist_new ();
    zlist_append (targets, "n1");
    const char *texts [] = {
        "{\"to\": \"n1\", \"args\": [\"true\"]}",
        "{\"to\": \"n1\", \"method\": \"cancel\", \"args\": [\"01JDQ8ABCDEFGHJKMNPQRSTVWX.n1\"]}",
        "{\"to\": \"n1\", \"args\": [\"false\"]}"
    };
    link->link_down = true;
    for (size_t index = 0; index < 3; index++) {
        zc_message_t *message = s_test_message (texts [index]);
        char *error = NULL;
        zlist_t *ids = zc_delivery_submit (delivery, message, targets, &error);
        ZC_CHECK (ids && zlist_size (ids) == 1);
        zlist_destroy (&ids);
        zc_message_destroy (&message);
    }
    link->link_down = false;
    for (int round = 0; round < 3; round++) {
        if (round == 0)
            zc_delivery_link_up (delivery);
        else
        if (round == 1)
            zc_delivery_on_presence (delivery, "n1");
        else
            zc_delivery_tick (delivery, zclock_mono () + 3600 * 1000, zc_wall_ms ());
        zc_wire_t *req;
        zc_method_t methods [3];
        size_t count = 0;
        while ((req = s_test_take (link))) {
            if (count < 3)
                methods [count] = req->method;
            count++;
            zc_wire_destroy (&req);
        }
        ZC_CHECK (count == 3);
        ZC_CHECK (methods [0] == ZC_METHOD_CANCEL);
        ZC_CHECK (methods [1] == ZC_METHOD_EXEC && methods [2] == ZC_METHOD_EXEC);
    }
    zlist_destroy (&targets);
    ZC_CHECK (s_test_outbox_close (&outbox) == 0);
    return ZC_TEST_END;
}

int
zc_delivery_test (bool verbose)
{
    ZC_TEST_BEGIN;
    s_test_link_t link = { .sent = zlist_new (), .finals = zlist_new () };
    zlist_autofree (link.finals);
    char dir [] = "/tmp/zcnc-delivery-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *error = NULL;
    zc_store_t *store = zc_store_open (dir, false, &error);
    ZC_CHECK (store != NULL);
    zc_queue_cap_t cap = { .max_jobs = 3, .max_bytes = 1 << 20 };
    zc_delivery_t *delivery = zc_delivery_new (store, "o1", cap, s_test_send, s_test_final, &link);

    //  One message to two targets goes out as one REQ.
    zc_message_t *message = s_test_message ("{\"to\": \"n1,n2\", \"args\": [\"true\"], \"ack_timeout\": 0.1,"
                                            " \"retry_wait\": 0.1, \"retries\": 1}");
    zlist_t *targets = zlist_new ();
    zlist_append (targets, "n1");
    zlist_append (targets, "n2");
    zlist_t *ids = zc_delivery_submit (delivery, message, targets, &error);
    ZC_CHECK (zlist_size (ids) == 2);
    zc_wire_t *req = s_test_take (&link);
    ZC_CHECK (req && req->type == ZC_MSG_REQ && zlist_size (req->to) == 2 && req->payload);
    ZC_CHECK (s_test_take (&link) == NULL);
    const char *n1_job = zlist_first (ids), *n2_job = zlist_next (ids);
    char *n1_job_copy = zc_strdup (n1_job);
    json_t *queue;
    size_t queued, inflight;
    zc_delivery_counts (delivery, &queued, &inflight);
    ZC_CHECK (queued == 0 && inflight == 2);

    //  n2 is absent: its job waits for n2's presence, without spending a try.
    zc_delivery_on_noroute (delivery, &req->id, "n2");
    zc_delivery_counts (delivery, &queued, &inflight);
    ZC_CHECK (queued == 1 && inflight == 1);
    size_t states [ZC_STATE_COUNT];
    uint64_t oldest_ms = 0;
    zc_delivery_states (delivery, states, &oldest_ms);
    ZC_CHECK (states [ZC_STATE_QUEUED] == 1 && states [ZC_STATE_SENT] == 1 && states [ZC_STATE_DONE] == 0);
    ZC_CHECK (oldest_ms > 0 && oldest_ms <= zc_wall_ms ());
    uint64_t sent_at = zclock_mono ();         //  at most the resend's time (see below)
    zc_delivery_on_presence (delivery, "n2");
    zc_wire_t *resend = s_test_take (&link);
    ZC_CHECK (resend && resend->type == ZC_MSG_REQ && zlist_size (resend->to) == 1
              && streq (zlist_first (resend->to), "n2") && zc_id_equal (&resend->id, &req->id));
    zc_wire_destroy (&resend);

    //  n1 ACKs and replies: its job is final once, duplicates change nothing.
    zc_delivery_on_ack (delivery, &req->id, "n1");
    zc_result_t *result = zc_result_new ();
    result->state = ZC_STATE_DONE;
    result->exit_code = 3;
    result->finished_ms = 1;
    zc_delivery_on_reply (delivery, &req->id, "n1", &result);
    ZC_CHECK (result == NULL);
    ZC_CHECK (zlist_size (link.finals) == 1 && streq (zlist_first (link.finals), n1_job));
    ZC_CHECK_STR (link.last_state, "done");
    result = zc_result_new ();
    zc_delivery_on_reply (delivery, &req->id, "n1", &result);
    ZC_CHECK (zlist_size (link.finals) == 1 && result == NULL);
    json_t *job = zc_delivery_job_json (delivery, n1_job);
    ZC_CHECK (job && json_integer_value (json_object_get (job, "exit")) == 3);
    json_decref (job);
    ZC_CHECK (zc_delivery_job_json (delivery, "nonsense") == NULL);

    //  n2 never ACKs: one resend after ack_timeout + retry_wait (0.2 s
    //  from its presence), then failed after another ack_timeout plus the
    //  doubled retry_wait (0.3 s). Time is the tick's parameter: no sleep.
    uint64_t wall = zc_wall_ms ();
    zc_delivery_tick (delivery, sent_at + 150, wall);
    ZC_CHECK (s_test_take (&link) == NULL);
    zc_delivery_tick (delivery, sent_at + 250, wall);
    resend = s_test_take (&link);
    ZC_CHECK (resend && resend->type == ZC_MSG_REQ && streq (zlist_first (resend->to), "n2"));
    zc_wire_destroy (&resend);
    ZC_CHECK (zlist_size (link.finals) == 1);
    zc_delivery_tick (delivery, sent_at + 400, wall);
    ZC_CHECK (zlist_size (link.finals) == 1 && s_test_take (&link) == NULL);
    zc_delivery_tick (delivery, sent_at + 600, wall);
    ZC_CHECK (zlist_size (link.finals) == 2 && streq (zlist_last (link.finals), n2_job));
    ZC_CHECK_STR (link.last_state, "failed");
    job = zc_delivery_job_json (delivery, n2_job);
    ZC_CHECK_STR (json_string_value (json_object_get (job, "error")), "no ACK from n2 after 2 tries");
    json_decref (job);
    zlist_destroy (&ids);
    zc_wire_destroy (&req);
    zc_message_destroy (&message);

    //  While the link is down nothing is lost: jobs stay queued, then go
    //  out when it is up; undelivered jobs expire.
    link.link_down = true;
    message = s_test_message ("{\"to\": \"n3\", \"args\": [\"true\"], \"expire\": 1}");
    zlist_purge (targets);
    zlist_append (targets, "n3");
    ids = zc_delivery_submit (delivery, message, targets, &error);
    zc_delivery_counts (delivery, &queued, &inflight);
    ZC_CHECK (queued == 1);
    link.link_down = false;
    zc_delivery_link_up (delivery);
    req = s_test_take (&link);
    ZC_CHECK (req && streq (zlist_first (req->to), "n3"));
    //  Expiry is by the wall clock, from the job's creation.
    zc_delivery_tick (delivery, zclock_mono (), zc_wall_ms () + 900);
    ZC_CHECK (zlist_size (link.finals) == 2);
    zc_delivery_tick (delivery, zclock_mono (), zc_wall_ms () + 1100);
    ZC_CHECK (zlist_size (link.finals) == 3);
    ZC_CHECK_STR (link.last_state, "expired");
    //  A result that comes after all turns the expired job done.
    result = zc_result_new ();
    result->state = ZC_STATE_DONE;
    result->started_ms = result->finished_ms = 5;
    zc_delivery_on_reply (delivery, &req->id, "n3", &result);
    ZC_CHECK (zlist_size (link.finals) == 4);
    ZC_CHECK_STR (link.last_state, "done");
    json_t *jobs = zc_delivery_jobs_json (delivery);
    ZC_CHECK (json_array_size (jobs) == 3);
    json_decref (jobs);
    zlist_destroy (&ids);
    zc_wire_destroy (&req);
    zc_message_destroy (&message);

    //  The queue cap: beyond it, submission fails and says why.
    link.link_down = true;
    message = s_test_message ("{\"to\": \"n4\", \"args\": [\"true\"]}");
    zlist_purge (targets);
    zlist_append (targets, "n4");
    zlist_append (targets, "n5");
    ids = zc_delivery_submit (delivery, message, targets, &error);
    ZC_CHECK (zlist_size (ids) == 2);
    zlist_destroy (&ids);
    zlist_purge (targets);
    zlist_append (targets, "n6");
    zlist_append (targets, "n7");
    ids = zc_delivery_submit (delivery, message, targets, &error);
    ZC_CHECK (ids == NULL && error && strstr (error, "the queue is full (2 jobs"));
    free (error);
    error = NULL;
    queue = zc_delivery_queue_json (delivery);
    ZC_CHECK (json_array_size (queue) == 2);
    json_decref (queue);

    //  Everything survives a restart: the store brings the jobs back.
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_delivery_destroy (&delivery);
    delivery = zc_delivery_new (store, "o1", cap, s_test_send, s_test_final, &link);
    ZC_CHECK (zc_delivery_load (delivery) == 5);
    json_t *job_n1 = zc_delivery_job_json (delivery, n1_job_copy);
    ZC_CHECK (job_n1 && json_integer_value (json_object_get (job_n1, "exit")) == 3);
    json_decref (job_n1);
    queue = zc_delivery_queue_json (delivery);
    ZC_CHECK (json_array_size (queue) == 2);
    const char *n4_job = json_string_value (json_object_get (json_array_get (queue, 0), "id"));
    //  Cancel one, purge the rest.
    ZC_CHECK (zc_delivery_cancel (delivery, n4_job, &error) == 0);
    ZC_CHECK_STR (link.last_state, "cancelled");
    ZC_CHECK (zc_delivery_cancel (delivery, n4_job, &error) == -1);
    ZC_CHECK (error && strstr (error, "is already cancelled"));
    free (error);
    ZC_CHECK (zc_delivery_cancel (delivery, "01ARZ3NDEKTSV4RRFFQ69G5FAV.x", &error) == -1);
    ZC_CHECK_STR (error, "no job 01ARZ3NDEKTSV4RRFFQ69G5FAV.x was sent from this agent");
    free (error);
    json_decref (queue);
    ZC_CHECK (zc_delivery_purge (delivery, 3600) == 0);
    ZC_CHECK (zc_delivery_purge (delivery, 0) == 1);
    queue = zc_delivery_queue_json (delivery);
    ZC_CHECK (json_array_size (queue) == 0);
    json_decref (queue);
    zlist_destroy (&ids);
    zc_message_destroy (&message);

    //  Custody, at the relay: a REQ from o9 for s1 is taken, ACKed to o9
    //  and sent to s1 naming o9; s1's result goes back to o9 until o9
    //  ACKs it, and is never pruned before.
    zc_wire_t *msg;
    while ((msg = s_test_take (&link)))
        zc_wire_destroy (&msg);
    link.link_down = false;
    zc_wire_t *held = zc_wire_new (ZC_MSG_REQ);
    held->flags = ZC_FLAG_CUSTODY;
    strcpy (held->from, "o9");
    zlist_append (held->names, "s1");
    held->method = ZC_METHOD_EXEC;
    held->expire = 3600;
    held->payload = zframe_new ("p", 1);
    ZC_CHECK (zc_delivery_take_custody (delivery, held) == 1);
    zc_wire_t *out = s_test_take (&link);
    ZC_CHECK (out && out->type == ZC_MSG_REQ && (out->flags & ZC_FLAG_RELAYED)
              && streq (zlist_first (out->to), "s1") && streq (zlist_first (out->names), "o9"));
    zc_wire_destroy (&out);
    out = s_test_take (&link);
    ZC_CHECK (out && out->type == ZC_MSG_ACK && (out->flags & ZC_FLAG_CUSTODY)
              && streq (zlist_first (out->to), "o9") && streq (zlist_first (out->names), "s1"));
    zc_wire_destroy (&out);
    ZC_CHECK (zc_delivery_take_custody (delivery, held) == 0);      //  a resend: ACKed again
    out = s_test_take (&link);
    ZC_CHECK (out && out->type == ZC_MSG_ACK && (out->flags & ZC_FLAG_CUSTODY));
    zc_wire_destroy (&out);
    //  The target's result is forwarded as it came: the relay cannot read it.
    zframe_t *sealed = zframe_new ("sealed result", 13);
    zc_delivery_on_envelope (delivery, &held->id, "s1", sealed, false);
    out = s_test_take (&link);
    ZC_CHECK (out && out->type == ZC_MSG_REPLY && (out->flags & ZC_FLAG_CUSTODY)
              && streq (zlist_first (out->to), "o9") && streq (zlist_first (out->names), "s1"));
    ZC_CHECK (out && zframe_eq (out->payload, sealed));
    zc_wire_destroy (&out);
    zframe_destroy (&sealed);
    zclock_sleep (2);
    zc_delivery_prune (delivery, 0);            //  not delivered: kept
    zc_delivery_on_presence (delivery, "o9");   //  sent again
    out = s_test_take (&link);
    ZC_CHECK (out && out->type == ZC_MSG_REPLY && (out->flags & ZC_FLAG_CUSTODY));
    zc_wire_destroy (&out);
    zlist_t *s1_only = zlist_new ();
    zlist_append (s1_only, "s1");
    zc_delivery_on_custody_ack (delivery, &held->id, "o7", s1_only);    //  not its origin
    zc_delivery_on_presence (delivery, "o9");
    out = s_test_take (&link);
    ZC_CHECK (out && out->type == ZC_MSG_REPLY);
    zc_wire_destroy (&out);
    zc_delivery_on_custody_ack (delivery, &held->id, "o9", s1_only);
    zc_delivery_on_presence (delivery, "o9");
    ZC_CHECK (s_test_take (&link) == NULL);     //  delivered: nothing more
    char held_key [ZC_JOB_ID_MAX];
    zc_job_id_format (&held->id, "s1", held_key);
    json_t *held_json = zc_delivery_job_json (delivery, held_key);
    ZC_CHECK (held_json != NULL);
    json_decref (held_json);
    zclock_sleep (2);
    zc_delivery_prune (delivery, 0);            //  delivered: forgotten
    ZC_CHECK (zc_delivery_job_json (delivery, held_key) == NULL);
    zlist_destroy (&s1_only);
    zc_wire_destroy (&held);

    zlist_destroy (&targets);
    while ((msg = s_test_take (&link)))
        zc_wire_destroy (&msg);
    zlist_destroy (&link.sent);
    zlist_destroy (&link.finals);
    zc_delivery_destroy (&delivery);
    zc_store_close (&store);
    char *command = zsys_sprintf ("rm -rf %s", dir);
    ZC_CHECK (system (command) == 0);
    free (command);
    free (n1_job_copy);
    ZC_CHECK (s_test_sealed_custody () == 0);
    ZC_CHECK (s_test_schedule () == 0);
    ZC_CHECK (s_test_cancels_first () == 0);
    return ZC_TEST_END;
}
