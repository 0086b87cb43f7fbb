/*  commit.c — the group commit (commit.h). */
#include "prelude.h"
#include "commit.h"
#include "testing.h"

#define S_RETRY_MS      100     //  after the disk refused a commit
#define S_MAX_HOOKS     8

//  Something that waits for the commit: a message for the hub, or an
//  answer for a client. A queued ACK also carries the IDs of the ACKs to
//  the same node that were queued after it.
typedef struct {
    zc_wire_t *msg;
    zc_jsonl_conn_t *conn;
    json_t *answer;
    char *text;                 //  or an answer's line, ready
    size_t text_size;
    zc_id_t *more_ids;
    size_t more_count;
} s_output_t;

struct _zc_commit_t {
    zloop_t *loop;
    zc_store_t *store;
    zc_link_send_fn *send;
    void *send_arg;
    zlist_t *outgoing;          //  s_output_t, in order
    zhashx_t *ack_batches;      //  node name -> its queued ACK (in outgoing) that takes more IDs
    int timer_id;               //  -1, or the pending commit's timer
    struct { zc_commit_fn *fn; void *arg; } hooks [S_MAX_HOOKS];
    size_t hook_count;
};

static int s_commit_timer (zloop_t *loop, int timer_id, void *arg);

//  Commits at the end of this turn of the loop ('delay_ms' 0), or later.
static void
s_commit_soon (zc_commit_t *self, size_t delay_ms)
{
    if (self->timer_id == -1)
        self->timer_id = zloop_timer (self->loop, delay_ms, 1, s_commit_timer, self);
}

static void
s_on_pending (void *arg)
{
    s_commit_soon (arg, 0);
}

zc_commit_t *
zc_commit_new (zloop_t *loop, zc_store_t *store, zc_link_send_fn *send, void *arg)
{
    zc_commit_t *self = zc_calloc (1, sizeof *self);
    self->loop = loop;
    self->store = store;
    self->send = send;
    self->send_arg = arg;
    self->outgoing = zlist_new ();
    self->ack_batches = zhashx_new ();
    self->timer_id = -1;
    zc_store_set_pending_hook (store, s_on_pending, self);
    if (zc_store_pending (store))
        s_commit_soon (self, 0);
    return self;
}

static void
s_output_destroy (s_output_t **output_p)
{
    s_output_t *output = *output_p;
    zc_wire_destroy (&output->msg);
    json_decref (output->answer);
    free (output->text);
    free (output->more_ids);
    free (output);
    *output_p = NULL;
}

void
zc_commit_destroy (zc_commit_t **self_p)
{
    zc_commit_t *self = *self_p;
    if (!self)
        return;
    zc_commit_now (self);
    if (self->timer_id != -1)
        zloop_timer_end (self->loop, self->timer_id);
    zc_store_set_pending_hook (self->store, NULL, NULL);
    s_output_t *output;
    while ((output = zlist_pop (self->outgoing)))
        s_output_destroy (&output);       //  the disk refused to the end: nothing promised leaves
    zlist_destroy (&self->outgoing);
    zhashx_destroy (&self->ack_batches);
    free (self);
    *self_p = NULL;
}

void
zc_commit_on_done (zc_commit_t *self, zc_commit_fn *fn, void *arg)
{
    assert (self->hook_count < S_MAX_HOOKS);
    self->hooks [self->hook_count].fn = fn;
    self->hooks [self->hook_count].arg = arg;
    self->hook_count++;
}

//  True when an answer for 'conn' (or, with conn NULL, a message for the
//  hub) must queue behind what is queued already, to keep its order.
static bool
s_queued_before (zc_commit_t *self, zc_jsonl_conn_t *conn)
{
    for (s_output_t *output = zlist_first (self->outgoing); output; output = zlist_next (self->outgoing))
        if (output->conn == conn)
            return true;
    return false;
}

static void
s_queue (zc_commit_t *self, zc_wire_t *msg, zc_jsonl_conn_t *conn, json_t *answer)
{
    s_output_t *output = zc_calloc (1, sizeof *output);
    output->msg = msg;
    output->conn = conn;
    output->answer = answer;
    zlist_append (self->outgoing, output);
    s_commit_soon (self, 0);
}

//  Folds an ACK into the ACK already queued for the same node, if there
//  is one with room. Returns true when it did (and took *msg_p).
static bool
s_ack_batched (zc_commit_t *self, zc_wire_t **msg_p)
{
    zc_wire_t *msg = *msg_p;
    if (msg->type != ZC_MSG_ACK || msg->payload || msg->flags || zlist_size (msg->to) != 1)
        return false;
    const char *node = zlist_first (msg->to);
    s_output_t *batch = zhashx_lookup (self->ack_batches, node);
    if (!batch) {
        s_queue (self, msg, NULL, NULL);
        zhashx_insert (self->ack_batches, node, zlist_last (self->outgoing));
    }
    else {
        if (!batch->more_ids)
            batch->more_ids = zc_malloc (ZC_WIRE_MAX_ACK_IDS * sizeof (zc_id_t));
        batch->more_ids [batch->more_count++] = msg->id;
        if (batch->more_count == ZC_WIRE_MAX_ACK_IDS)
            zhashx_delete (self->ack_batches, node);       //  full: the next starts one
        zc_wire_destroy (msg_p);
    }
    *msg_p = NULL;
    return true;
}

void
zc_commit_send (zc_commit_t *self, zc_wire_t **msg_p)
{
    if (!zc_store_pending (self->store) && !s_queued_before (self, NULL))
        self->send (msg_p, self->send_arg);
    else
    if (!s_ack_batched (self, msg_p)) {
        s_queue (self, *msg_p, NULL, NULL);
        *msg_p = NULL;
    }
}

void
zc_commit_answer (zc_commit_t *self, zc_jsonl_conn_t *conn, json_t *answer, bool durable)
{
    if ((durable && zc_store_pending (self->store)) || s_queued_before (self, conn))
        s_queue (self, NULL, conn, answer);
    else {
        zc_jsonl_send (conn, answer);
        json_decref (answer);
    }
}

void
zc_commit_answer_text (zc_commit_t *self, zc_jsonl_conn_t *conn, const char *text, size_t size)
{
    if (s_queued_before (self, conn)) {
        s_queue (self, NULL, conn, NULL);
        s_output_t *output = zlist_last (self->outgoing);
        output->text = zc_malloc (size? size: 1);
        memcpy (output->text, text, size);
        output->text_size = size;
    }
    else
        zc_jsonl_queue_text (conn, text, size);
}

void
zc_commit_forget (zc_commit_t *self, zc_jsonl_conn_t *conn)
{
    zlist_t *gone = zlist_new ();
    for (s_output_t *output = zlist_first (self->outgoing); output; output = zlist_next (self->outgoing))
        if (output->conn == conn)
            zlist_append (gone, output);
    for (s_output_t *output = zlist_first (gone); output; output = zlist_next (gone)) {
        zlist_remove (self->outgoing, output);
        s_output_destroy (&output);
    }
    zlist_destroy (&gone);
}

int
zc_commit_now (zc_commit_t *self)
{
    if (zc_store_commit (self->store) != 0) {
        //  The disk refused: nothing leaves; try again shortly.
        s_commit_soon (self, S_RETRY_MS);
        return -1;
    }
    zhashx_purge (self->ack_batches);
    s_output_t *output;
    while ((output = zlist_pop (self->outgoing))) {
        if (output->msg) {
            if (output->more_count)
                output->msg->payload = zc_wire_ids_payload (output->more_ids, output->more_count);
            self->send (&output->msg, self->send_arg);
        }
        else {
            //  Answers to one client leave together, in one write.
            if (output->text)
                zc_jsonl_queue_text (output->conn, output->text, output->text_size);
            else
                zc_jsonl_queue (output->conn, output->answer);
            s_output_t *next = zlist_first (self->outgoing);
            if (!next || next->conn != output->conn)
                zc_jsonl_flush (output->conn);
        }
        s_output_destroy (&output);
    }
    for (size_t index = 0; index < self->hook_count; index++)
        self->hooks [index].fn (self->hooks [index].arg);
    return 0;
}

static int
s_commit_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_commit_t *self = arg;
    self->timer_id = -1;
    zc_commit_now (self);
    return 0;
}

//  ---------------------------------------------------------------------
//  Self-test

typedef struct {
    zlist_t *sent;              //  zc_wire_t, in order
    size_t hooks;
} s_test_t;

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    s_test_t *test = arg;
    zlist_append (test->sent, *msg_p);
    *msg_p = NULL;
    return 0;
}

static void
s_test_hook (void *arg)
{
    ((s_test_t *) arg)->hooks++;
}

static zc_wire_t *
s_test_ack (const char *node, uint8_t id_byte)
{
    zc_wire_t *ack = zc_wire_new (ZC_MSG_ACK);
    ack->id.bytes [0] = id_byte;
    zlist_append (ack->to, (void *) node);
    return ack;
}

static int
s_test_stop (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

int
zc_commit_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-commit-test-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *error = NULL;
    zc_store_t *store = zc_store_open (dir, false, &error);
    ZC_CHECK (store != NULL);
    zloop_t *loop = zloop_new ();
    s_test_t test = { .sent = zlist_new () };
    zc_commit_t *commit = zc_commit_new (loop, store, s_test_send, &test);
    zc_commit_on_done (commit, s_test_hook, &test);

    //  Nothing pending: an ACK goes at once.
    zc_wire_t *ack = s_test_ack ("n1", 1);
    zc_commit_send (commit, &ack);
    ZC_CHECK (ack == NULL && zlist_size (test.sent) == 1);
    zc_wire_t *msg = zlist_pop (test.sent);
    zc_wire_destroy (&msg);

    //  A change pending: ACKs wait; two to n1 become one, n2's its own.
    zc_store_put (store, ZC_TABLE_INBOX, "k1", "v", 1);
    ack = s_test_ack ("n1", 2);
    zc_commit_send (commit, &ack);
    ack = s_test_ack ("n2", 3);
    zc_commit_send (commit, &ack);
    ack = s_test_ack ("n1", 4);
    zc_commit_send (commit, &ack);
    ZC_CHECK (zlist_size (test.sent) == 0 && test.hooks == 0);
    //  The store asked for a commit at the end of this turn of the loop:
    //  one turn does it (the stop timer fires later).
    zloop_timer (loop, 20, 1, s_test_stop, NULL);
    zloop_start (loop);
    ZC_CHECK (!zc_store_pending (store) && test.hooks == 1);
    ZC_CHECK (zlist_size (test.sent) == 2);
    msg = zlist_pop (test.sent);
    ZC_CHECK (msg && streq (zlist_first (msg->to), "n1") && msg->id.bytes [0] == 2);
    zc_id_t *more = NULL;
    size_t count = 0;
    ZC_CHECK (msg && msg->payload && zc_wire_ids_payload_decode (msg->payload, &more, &count) == 0);
    ZC_CHECK (count == 1 && more && more [0].bytes [0] == 4);
    free (more);
    zc_wire_destroy (&msg);
    msg = zlist_pop (test.sent);
    ZC_CHECK (msg && streq (zlist_first (msg->to), "n2") && !msg->payload);
    zc_wire_destroy (&msg);

    //  A message that is not an ACK keeps its place behind those queued.
    zc_store_put (store, ZC_TABLE_INBOX, "k2", "v", 1);
    ack = s_test_ack ("n1", 5);
    zc_commit_send (commit, &ack);
    zc_wire_t *started = zc_wire_new (ZC_MSG_STARTED);
    zlist_append (started->to, "n1");
    zc_commit_send (commit, &started);
    ZC_CHECK (zc_commit_now (commit) == 0 && test.hooks == 2);
    msg = zlist_pop (test.sent);
    ZC_CHECK (msg && msg->type == ZC_MSG_ACK);
    zc_wire_destroy (&msg);
    msg = zlist_pop (test.sent);
    ZC_CHECK (msg && msg->type == ZC_MSG_STARTED);
    zc_wire_destroy (&msg);

    //  What waits when the commit is destroyed still goes (it commits).
    zc_store_put (store, ZC_TABLE_INBOX, "k3", "v", 1);
    ack = s_test_ack ("n3", 6);
    zc_commit_send (commit, &ack);
    zc_commit_destroy (&commit);
    ZC_CHECK (commit == NULL && zlist_size (test.sent) == 1 && test.hooks == 3);
    msg = zlist_pop (test.sent);
    zc_wire_destroy (&msg);
    if (verbose)
        printf ("# commit: %zu commits\n", zc_store_commits (store));

    zlist_destroy (&test.sent);
    zloop_destroy (&loop);
    zc_store_close (&store);
    char *command = zsys_sprintf ("rm -rf '%s'", dir);
    ZC_CHECK (system (command) == 0);
    free (command);
    return ZC_TEST_END;
}
