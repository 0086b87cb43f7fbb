/*  delivery.c — the outbox: jobs sent from this agent (see delivery.h). */
#include <math.h>
#include <time.h>
#include "delivery.h"
#include "log.h"
#include "testing.h"

#define S_MAX_BACKOFF_S     60
#define S_RESULTS_TTL_S     (7 * 86400)

typedef struct {
    char key [ZC_JOB_ID_MAX];   //  printed job ID
    zc_id_t id;
    char node [65];
    zc_method_t method;
    zc_state_t state;
    zframe_t *payload;          //  REQ payload: args and data
    uint32_t method_timeout, expire;
    double ack_timeout, retry_wait;
    int retries;                //  resends allowed after the first try
    int tries;                  //  sends the hub accepted so far
    uint64_t next_try;          //  monotonic ms of the next resend; 0 = none due
    uint64_t created_ms;
    zc_result_t *result;
} s_job_t;

struct _zc_delivery_t {
    zhashx_t *jobs;             //  key -> s_job_t (owned)
    zlistx_t *order;            //  keys in submission order
    zc_link_send_fn *send;
    zc_job_final_fn *on_final;
    void *arg;
};

static uint64_t
s_wall_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void
s_job_destroy (void **item)
{
    s_job_t *job = *item;
    zframe_destroy (&job->payload);
    zc_result_destroy (&job->result);
    free (job);
    *item = NULL;
}

zc_delivery_t *
zc_delivery_new (zc_link_send_fn *send, zc_job_final_fn *on_final, void *arg)
{
    zc_delivery_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->jobs = zhashx_new ();
    zhashx_set_destructor (self->jobs, s_job_destroy);
    self->order = zlistx_new ();
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
        zhashx_destroy (&self->jobs);
        free (self);
        *self_p = NULL;
    }
}

static json_t *
s_job_json (s_job_t *job)
{
    return zc_message_job_json (job->key, job->node, job->method, job->state,
                                job->result, job->created_ms);
}

//  Gives a job its final state; a result made here when it has none.
static void
s_job_finish (zc_delivery_t *self, s_job_t *job, zc_state_t state, const char *error)
{
    if (!job->result) {
        job->result = zc_result_new ();
        job->result->finished_ms = s_wall_ms ();
    }
    job->result->state = state;
    if (error) {
        free (job->result->error);
        job->result->error = strdup (error);
    }
    job->state = state;
    job->next_try = 0;
    zc_debug ("job %s %s%s%s", job->key, zc_state_name (state), error? ": ": "", error? error: "");
    json_t *object = s_job_json (job);
    self->on_final (job->key, object, self->arg);
    json_decref (object);
}

//  When a job is due again after its latest try: ack_timeout, then
//  retry_wait doubling with each try, capped at 60 s.
static uint64_t
s_next_try (s_job_t *job)
{
    double backoff = job->retry_wait * pow (2, job->tries > 1? job->tries - 1: 0);
    if (backoff > S_MAX_BACKOFF_S)
        backoff = S_MAX_BACKOFF_S;
    return zclock_mono () + (uint64_t) ((job->ack_timeout + backoff) * 1000);
}

//  Sends jobs of one message (same ID and payload) as one REQ; the hub
//  fans it out. While the link is down nothing changes: the jobs go out
//  when it comes back.
static void
s_send_jobs (zc_delivery_t *self, zlist_t *jobs)
{
    s_job_t *first = zlist_first (jobs);
    if (!first)
        return;
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REQ);
    msg->id = first->id;
    msg->method = first->method;
    msg->method_timeout = first->method_timeout;
    msg->expire = first->expire;
    msg->payload = zframe_dup (first->payload);
    for (s_job_t *job = first; job; job = zlist_next (jobs))
        zlist_append (msg->to, job->node);
    if (self->send (&msg, self->arg) != 0)
        return;
    for (s_job_t *job = zlist_first (jobs); job; job = zlist_next (jobs)) {
        job->tries++;
        if (job->state == ZC_STATE_QUEUED)
            job->state = ZC_STATE_SENT;
        job->next_try = s_next_try (job);
    }
}

static void
s_send_job (zc_delivery_t *self, s_job_t *job)
{
    zlist_t *jobs = zlist_new ();
    zlist_append (jobs, job);
    s_send_jobs (self, jobs);
    zlist_destroy (&jobs);
}

static s_job_t *
s_lookup (zc_delivery_t *self, const zc_id_t *id, const char *node)
{
    char key [ZC_JOB_ID_MAX];
    zc_job_id_format (id, node, key);
    return zhashx_lookup (self->jobs, key);
}

zlist_t *
zc_delivery_submit (zc_delivery_t *self, zc_message_t *message, zlist_t *targets)
{
    zc_id_t id;
    zc_id_generate (&id);
    zframe_t *payload = zc_wire_req_payload (message->args, message->data, message->data_size);
    zlist_t *keys = zlist_new ();
    zlist_autofree (keys);
    zlist_t *jobs = zlist_new ();
    for (char *node = zlist_first (targets); node; node = zlist_next (targets)) {
        s_job_t *job = calloc (1, sizeof *job);
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
        zhashx_insert (self->jobs, job->key, job);
        zlistx_add_end (self->order, job->key);
        zlist_append (jobs, job);
        zlist_append (keys, job->key);
    }
    s_send_jobs (self, jobs);
    zlist_destroy (&jobs);
    zframe_destroy (&payload);
    return keys;
}

//  Sends again every job still waiting for 'node' (any node when NULL).
static void
s_flush (zc_delivery_t *self, const char *node)
{
    for (const char *key = zlistx_first (self->order); key; key = zlistx_next (self->order)) {
        s_job_t *job = zhashx_lookup (self->jobs, key);
        if ((job->state == ZC_STATE_QUEUED || job->state == ZC_STATE_SENT)
        &&  (!node || streq (job->node, node)))
            s_send_job (self, job);
    }
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
    if (job && (job->state == ZC_STATE_SENT || job->state == ZC_STATE_QUEUED)) {
        job->state = ZC_STATE_RUNNING;
        job->next_try = 0;
    }
}

//  A result arrived; a duplicate of one already recorded is ignored.
void
zc_delivery_on_reply (zc_delivery_t *self, const zc_id_t *id, const char *from, zc_result_t **result_p)
{
    s_job_t *job = s_lookup (self, id, from);
    if (job && !zc_state_final (job->state)) {
        zc_result_destroy (&job->result);
        job->result = *result_p;
        *result_p = NULL;
        s_job_finish (self, job, job->result->state, NULL);
    }
    zc_result_destroy (result_p);
}

//  The hub cannot reach 'name' now: its job waits for its PRESENCE, and
//  the refused try is not spent.
void
zc_delivery_on_noroute (zc_delivery_t *self, const zc_id_t *id, const char *name)
{
    s_job_t *job = s_lookup (self, id, name);
    if (job && job->state == ZC_STATE_SENT) {
        job->state = ZC_STATE_QUEUED;
        job->next_try = 0;
        job->tries--;
    }
}

void
zc_delivery_tick (zc_delivery_t *self)
{
    uint64_t now = zclock_mono ();
    uint64_t wall = s_wall_ms ();
    for (const char *key = zlistx_first (self->order); key; key = zlistx_next (self->order)) {
        s_job_t *job = zhashx_lookup (self->jobs, key);
        if (job->state != ZC_STATE_QUEUED && job->state != ZC_STATE_SENT)
            continue;
        if (wall > job->created_ms + (uint64_t) job->expire * 1000)
            s_job_finish (self, job, ZC_STATE_EXPIRED, "not delivered before it expired");
        else
        if (job->state == ZC_STATE_SENT && job->next_try && now >= job->next_try) {
            if (job->tries > job->retries) {
                char reason [160];
                snprintf (reason, sizeof reason, "no ACK from %s after %d tries", job->node, job->tries);
                s_job_finish (self, job, ZC_STATE_FAILED, reason);
            }
            else
                s_send_job (self, job);
        }
    }
}

void
zc_delivery_prune (zc_delivery_t *self)
{
    uint64_t wall = s_wall_ms ();
    zlist_t *gone = zlist_new ();
    for (s_job_t *job = zhashx_first (self->jobs); job; job = zhashx_next (self->jobs))
        if (zc_state_final (job->state) && wall > job->result->finished_ms + S_RESULTS_TTL_S * 1000ull)
            zlist_append (gone, job->key);
    for (char *key = zlist_first (gone); key; key = zlist_next (gone)) {
        zlistx_delete (self->order, zlistx_find (self->order, key));
        zhashx_delete (self->jobs, key);
    }
    zlist_destroy (&gone);
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

bool
zc_delivery_job_final (zc_delivery_t *self, const char *job_id)
{
    s_job_t *job = zhashx_lookup (self->jobs, job_id);
    return job && zc_state_final (job->state);
}

void
zc_delivery_counts (zc_delivery_t *self, size_t *queued, size_t *inflight)
{
    *queued = *inflight = 0;
    for (s_job_t *job = zhashx_first (self->jobs); job; job = zhashx_next (self->jobs))
        if (job->state == ZC_STATE_QUEUED)
            (*queued)++;
        else
        if (job->state == ZC_STATE_SENT || job->state == ZC_STATE_RUNNING)
            (*inflight)++;
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
s_test_final (const char *job_id, json_t *job, void *arg)
{
    s_test_link_t *link = arg;
    zlist_append (link->finals, (void *) job_id);
    snprintf (link->last_state, sizeof link->last_state, "%s",
              json_string_value (json_object_get (job, "state")));
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

int
zc_delivery_test (bool verbose)
{
    ZC_TEST_BEGIN;
    s_test_link_t link = { .sent = zlist_new (), .finals = zlist_new () };
    zlist_autofree (link.finals);
    zc_delivery_t *delivery = zc_delivery_new (s_test_send, s_test_final, &link);

    //  One message to two targets goes out as one REQ.
    zc_message_t *message = s_test_message ("{\"to\": \"n1,n2\", \"args\": [\"true\"], \"ack_timeout\": 0.1,"
                                            " \"retry_wait\": 0.1, \"retries\": 1}");
    zlist_t *targets = zlist_new ();
    zlist_append (targets, "n1");
    zlist_append (targets, "n2");
    zlist_t *ids = zc_delivery_submit (delivery, message, targets);
    ZC_CHECK (zlist_size (ids) == 2);
    zc_wire_t *req = s_test_take (&link);
    ZC_CHECK (req && req->type == ZC_MSG_REQ && zlist_size (req->to) == 2 && req->payload);
    ZC_CHECK (s_test_take (&link) == NULL);
    const char *n1_job = zlist_first (ids), *n2_job = zlist_next (ids);
    size_t queued, inflight;
    zc_delivery_counts (delivery, &queued, &inflight);
    ZC_CHECK (queued == 0 && inflight == 2);

    //  n2 is absent: its job waits for n2's presence, without spending a try.
    zc_delivery_on_noroute (delivery, &req->id, "n2");
    zc_delivery_counts (delivery, &queued, &inflight);
    ZC_CHECK (queued == 1 && inflight == 1);
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
    ZC_CHECK (zc_delivery_job_final (delivery, n1_job));
    ZC_CHECK (zc_delivery_job_json (delivery, "nonsense") == NULL);

    //  n2 never ACKs: one resend after ack_timeout + retry_wait, then failed.
    for (int round = 0; round < 40 && zlist_size (link.finals) < 2; round++) {
        zclock_sleep (50);
        zc_delivery_tick (delivery);
        zc_wire_t *msg;
        while ((msg = s_test_take (&link))) {
            ZC_CHECK (msg->type == ZC_MSG_REQ && streq (zlist_first (msg->to), "n2"));
            zc_wire_destroy (&msg);
        }
    }
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
    ids = zc_delivery_submit (delivery, message, targets);
    zc_delivery_counts (delivery, &queued, &inflight);
    ZC_CHECK (queued == 1);
    link.link_down = false;
    zc_delivery_link_up (delivery);
    req = s_test_take (&link);
    ZC_CHECK (req && streq (zlist_first (req->to), "n3"));
    zc_wire_destroy (&req);
    for (int round = 0; round < 40 && zlist_size (link.finals) < 3; round++) {
        zclock_sleep (50);
        zc_delivery_tick (delivery);
    }
    ZC_CHECK (zlist_size (link.finals) == 3);
    ZC_CHECK_STR (link.last_state, "expired");
    json_t *jobs = zc_delivery_jobs_json (delivery);
    ZC_CHECK (json_array_size (jobs) == 3);
    json_decref (jobs);
    zlist_destroy (&ids);
    zc_message_destroy (&message);

    zlist_destroy (&targets);
    zc_wire_t *msg;
    while ((msg = s_test_take (&link)))
        zc_wire_destroy (&msg);
    zlist_destroy (&link.sent);
    zlist_destroy (&link.finals);
    zc_delivery_destroy (&delivery);
    return ZC_TEST_END;
}
