/*  collect.c — log shipping, the storing end (collect.h).

    The last number written of a stream is the STATE record
    "collect:HASH" (HASH: 16 hex digits of a hash of the file, publisher
    and subject), a big-endian u64. A crash between writing lines and
    committing that number writes them again after the restart; nothing
    is acknowledged before both.
*/
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>
#include "prelude.h"
#include "collect.h"
#include "publine.h"
#include "lastseq.h"
#include "log.h"
#include "testing.h"

typedef struct {
    zc_collect_t *owner;
    char *pattern, *path;
    FILE *file;
    uint64_t written, skipped;
} s_target_t;

struct _zc_collect_t {
    zc_store_t *store;
    zc_pubsub_t *pubsub;
    zlist_t *targets;           //  s_target_t
    zc_lastseq_t *last;         //  state key -> last number written
    zc_log_once_t *logged;
    zc_collect_send_fn *send;
    void *arg;
};

static void
s_state_key (s_target_t *target, const char *from, const char *subject, uint64_t seq, char key [32])
{
    //  A stream's numbers start at a random epoch (bits 40 and up): a
    //  publisher that lost its state starts a stream of its own.
    uint8_t epoch [3] = { (uint8_t) (seq >> 56), (uint8_t) (seq >> 48), (uint8_t) (seq >> 40) };
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, 8);
    crypto_generichash_update (&state, (const uint8_t *) target->path, strlen (target->path) + 1);
    crypto_generichash_update (&state, (const uint8_t *) from, strlen (from) + 1);
    crypto_generichash_update (&state, (const uint8_t *) subject, strlen (subject) + 1);
    crypto_generichash_update (&state, epoch, sizeof epoch);
    uint8_t hash [8];
    crypto_generichash_final (&state, hash, sizeof hash);
    char hex [17];
    sodium_bin2hex (hex, sizeof hex, hash, sizeof hash);
    snprintf (key, 32, "collect:%s", hex);
}

//  A message on a collected subject: its new lines to the file, and the
//  publisher told what is stored.
static void
s_on_message (zc_wire_t *msg, const zc_pub_item_t *items, size_t count, zc_pub_auth_t auth, void *arg)
{
    s_target_t *target = arg;
    zc_collect_t *self = target->owner;
    char key [32];
    uint64_t last = 0;
    if (msg->seq && auth != ZC_PUB_VERIFIED) {
        //  A log stream's numbers decide what is written and forgotten at
        //  its publisher: only its own, checked, count.
        char what [ZC_NAME_SIZE + 32];
        snprintf (what, sizeof what, "unverified:%s", msg->from);
        zc_log_once_t *once = self->logged;
        zc_warn_once (once, what, "collect: lines of %s from %s dropped: not verified (%s; is %s.cert"
                      " in the keys directory?) (logged once per publisher)", msg->subject, msg->from,
                      zc_pubseal_auth_name (auth), msg->from);
        target->skipped += count;
        return;
    }
    if (msg->seq) {
        s_state_key (target, msg->from, msg->subject, msg->seq, key);
        last = zc_lastseq_get (self->last, key);
        if (last && msg->seq > last + 1 && !(msg->flags & ZC_FLAG_GAP)) {
            //  Lines between are on their way, or were lost on it: the
            //  publisher is asked for them again (it sends from what is
            //  stored), unless it says they are gone.
            target->skipped += count;
            zc_wire_t *stored = zc_wire_new (ZC_MSG_STORED);
            zlist_append (stored->to, msg->from);
            stored->subject = zc_strdup (msg->subject);
            stored->seq = last;
            self->send (&stored, self->arg);
            return;
        }
    }
    size_t fresh = 0;
    zc_publine_t *lines = zc_publine_new (msg, items, count, auth);
    for (size_t index = 0; index < count; index++) {
        if (msg->seq && msg->seq + index <= last) {
            target->skipped++;
            continue;
        }
        size_t size;
        const char *line = zc_publine_item (lines, index, 0, NULL, &size);
        fwrite (line, 1, size, target->file);
        fputc ('\n', target->file);
        fresh++;
    }
    zc_publine_destroy (&lines);
    if (fresh && (fflush (target->file) != 0 || fdatasync (fileno (target->file)) != 0)) {
        zc_error ("collect %s: cannot write: %s; its publishers send again", target->path,
                  strerror (errno));
        clearerr (target->file);
        return;
    }
    target->written += fresh;
    if (!msg->seq)
        return;
    uint64_t end = msg->seq + count - 1;
    if (end > last)
        zc_lastseq_set (self->last, key, end);
    zc_wire_t *stored = zc_wire_new (ZC_MSG_STORED);
    zlist_append (stored->to, msg->from);
    stored->subject = zc_strdup (msg->subject);
    stored->seq = end > last? end: last;
    self->send (&stored, self->arg);
}

//  Opens a file for appending (created mode 0640); NULL with errno.
static FILE *
s_open_append (const char *path)
{
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    FILE *file = fd >= 0? fdopen (fd, "a"): NULL;
    if (!file && fd >= 0)
        close (fd);
    return file;
}

zc_collect_t *
zc_collect_new (zc_store_t *store, zlist_t *collects, zc_pubsub_t *pubsub,
                zc_collect_send_fn *send, void *arg, char **error)
{
    zc_collect_t *self = zc_calloc (1, sizeof *self);
    self->store = store;
    self->pubsub = pubsub;
    self->targets = zlist_new ();
    self->last = zc_lastseq_new (store);
    self->logged = zc_log_once_new (1000);
    self->send = send;
    self->arg = arg;
    for (const char *line = zlist_first (collects); line; line = zlist_next (collects)) {
        const char *space = strchr (line, ' ');
        if (!space)
            continue;               //  the config checked it
        s_target_t *target = zc_calloc (1, sizeof *target);
        target->owner = self;
        target->pattern = zc_strdup (line);
        target->pattern [space - line] = 0;
        target->path = zc_strdup (space + 1);
        zlist_append (self->targets, target);
        target->file = s_open_append (target->path);
        if (!target->file) {
            zc_fail (error, "collect %s: cannot open %s for appending: %s", target->pattern,
                     target->path, strerror (errno));
            zc_collect_destroy (&self);
            return NULL;
        }
    }
    for (s_target_t *target = zlist_first (self->targets); target; target = zlist_next (self->targets))
        zc_pubsub_handle (pubsub, target->pattern, s_on_message, target);
    return self;
}

void
zc_collect_destroy (zc_collect_t **self_p)
{
    if (*self_p) {
        zc_collect_t *self = *self_p;
        s_target_t *target;
        while ((target = zlist_pop (self->targets))) {
            zc_pubsub_unhandle (self->pubsub, target);
            if (target->file)
                fclose (target->file);
            free (target->pattern);
            free (target->path);
            free (target);
        }
        zlist_destroy (&self->targets);
        zc_lastseq_destroy (&self->last);
        zc_log_once_destroy (&self->logged);
        free (self);
        *self_p = NULL;
    }
}

void
zc_collect_reopen (zc_collect_t *self)
{
    for (s_target_t *target = zlist_first (self->targets); target; target = zlist_next (self->targets)) {
        FILE *file = s_open_append (target->path);
        if (!file) {
            zc_error ("collect %s: cannot open %s again: %s; writing on to the old one",
                      target->pattern, target->path, strerror (errno));
            continue;
        }
        fclose (target->file);
        target->file = file;
    }
}

json_t *
zc_collect_status (zc_collect_t *self)
{
    json_t *targets = json_array ();
    for (s_target_t *target = zlist_first (self->targets); target; target = zlist_next (self->targets))
        json_array_append_new (targets, json_pack ("{s:s, s:s, s:I, s:I}", "subject", target->pattern,
            "file", target->path, "written", (json_int_t) target->written,
            "skipped", (json_int_t) target->skipped));
    return targets;
}

//  ---------------------------------------------------------------------
//  Self-test: messages through a pub/sub with fake links, into a file.

static int
s_test_send (zc_wire_t **msg_p, void *arg)
{
    zc_wire_destroy (msg_p);
    return 0;
}

static int
s_test_send_to (void *uplink, zc_wire_t **msg_p, void *arg)
{
    return s_test_send (msg_p, arg);
}

static zlist_t *
s_test_uplinks (void *arg)
{
    return zlist_new ();
}

static zc_keyring_t *s_test_ring;          //  n1's cert
static uint8_t s_test_secret [64];          //  n1's signing key

static zc_keyring_t *
s_test_keyring (void *arg)
{
    return s_test_ring;
}

static void
s_test_answer (zc_jsonl_conn_t *conn, const char *line, size_t size, void *arg)
{
}

static size_t
s_test_backlog (zc_jsonl_conn_t *conn, void *arg)
{
    return 0;
}

//  STORED messages: "TO SUBJECT SEQ" (autofree list).
static void
s_test_stored (zc_wire_t **msg_p, void *arg)
{
    char line [400];
    snprintf (line, sizeof line, "%s %s %" PRIu64, (char *) zlist_first ((*msg_p)->to),
              (*msg_p)->subject, (*msg_p)->seq);
    zlist_append ((zlist_t *) arg, line);
    zc_wire_destroy (msg_p);
}

static zc_wire_t *
s_test_line (const char *from, const char *subject, uint64_t seq, const char *first, const char *second)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_PUB);
    snprintf (msg->from, sizeof msg->from, "%s", from);
    msg->subject = zc_strdup (subject);
    msg->seq = seq;
    zlist_t *items = zlist_new ();
    zlist_append (items, zframe_new (first, strlen (first)));
    if (second)
        zlist_append (items, zframe_new (second, strlen (second)));
    msg->payload = zc_pubseal_make (s_test_secret, msg, from, items);
    zc_pubseal_items_destroy (&items);
    return msg;
}

int
zc_collect_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-collect-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *error = NULL, store_dir [300], file [300], line [400];
    snprintf (store_dir, sizeof store_dir, "%s/store", dir);
    snprintf (file, sizeof file, "%s/logs.jsonl", dir);
    zc_store_t *store = zc_store_open (store_dir, false, &error);
    char keys [300];
    snprintf (keys, sizeof keys, "%s/keys", dir);
    ZC_CHECK (zc_keygen (keys, "n1", false, &error) == 0);
    zcert_t *cert = zc_key_load_own_signing (keys, "n1", s_test_secret, &error);
    zcert_destroy (&cert);
    s_test_ring = zc_keyring_load (keys, &error);
    uint8_t secret [64], public_key [32];
    crypto_sign_keypair (public_key, secret);
    zc_pubsub_links_t links = { s_test_send, s_test_send_to, s_test_uplinks, s_test_keyring,
                                s_test_answer, s_test_backlog, NULL, NULL, NULL };
    zc_pubsub_t *pubsub = zc_pubsub_new ("central", secret, store, &links);
    zlist_t *collects = zlist_new ();
    zlist_autofree (collects);
    snprintf (line, sizeof line, "logs.> %s", file);
    zlist_append (collects, line);
    zlist_t *stored = zlist_new ();
    zlist_autofree (stored);
    zc_collect_t *collect = zc_collect_new (store, collects, pubsub, s_test_stored, stored, &error);
    ZC_CHECK (collect != NULL);

    //  Lines 1-2, then 2-3 again (a resend): 3 lines written, each once;
    //  STORED says 2, then 3. A plain message is written, not answered.
    zc_wire_t *msg = s_test_line ("n1", "logs.app", 1, "one", "two");
    zc_pubsub_on_pub (pubsub, msg);
    zc_wire_destroy (&msg);
    msg = s_test_line ("n1", "logs.app", 2, "two", "three");
    zc_pubsub_on_pub (pubsub, msg);
    zc_wire_destroy (&msg);
    msg = s_test_line ("n2", "logs.other", 0, "plain", NULL);
    zc_pubsub_on_pub (pubsub, msg);
    zc_wire_destroy (&msg);
    ZC_CHECK_STR ((char *) zlist_first (stored), "n1 logs.app 2");
    ZC_CHECK_STR ((char *) zlist_next (stored), "n1 logs.app 3");
    ZC_CHECK (zlist_size (stored) == 2);
    //  After a restart it still has them: a resend is answered, not written.
    zc_collect_destroy (&collect);
    zc_store_commit (store);
    zlist_purge (stored);
    collect = zc_collect_new (store, collects, pubsub, s_test_stored, stored, &error);
    msg = s_test_line ("n1", "logs.app", 3, "three", NULL);
    zc_pubsub_on_pub (pubsub, msg);
    zc_wire_destroy (&msg);
    ZC_CHECK_STR ((char *) zlist_first (stored), "n1 logs.app 3");
    json_t *status = zc_collect_status (collect);
    ZC_CHECK (json_integer_value (json_object_get (json_array_get (status, 0), "skipped")) == 1);
    json_decref (status);
    //  Line 5 before 4: not written, and 4 asked for again (STORED 3);
    //  flagged GAP (4 is gone at the publisher), written.
    zlist_purge (stored);
    msg = s_test_line ("n1", "logs.app", 5, "five", NULL);
    zc_pubsub_on_pub (pubsub, msg);
    zc_wire_destroy (&msg);
    ZC_CHECK_STR ((char *) zlist_first (stored), "n1 logs.app 3");
    msg = s_test_line ("n1", "logs.app", 5, "five", NULL);
    msg->flags |= ZC_FLAG_GAP;
    zframe_destroy (&msg->payload);
    zlist_t *five = zlist_new ();
    zlist_append (five, zframe_new ("five", 4));
    msg->payload = zc_pubseal_make (s_test_secret, msg, "n1", five);
    zc_pubseal_items_destroy (&five);
    zc_pubsub_on_pub (pubsub, msg);
    zc_wire_destroy (&msg);
    ZC_CHECK_STR ((char *) zlist_last (stored), "n1 logs.app 5");
    FILE *input = fopen (file, "r");
    char text [4000] = "";
    size_t size = input? fread (text, 1, sizeof text - 1, input): 0;
    text [size] = 0;
    if (input)
        fclose (input);
    ZC_CHECK (strstr (text, "\"data\":\"one\"") && strstr (text, "\"seq\":3")
           && strstr (text, "\"data\":\"plain\"") && strstr (text, "\"seq\":5"));
    int lines = 0;
    for (char *at = text; (at = strchr (at, '\n')); at++)
        lines++;
    ZC_CHECK (lines == 5);
    //  A file that cannot be opened is said at once.
    zlist_purge (collects);
    zlist_append (collects, "logs.> /nonexistent/dir/x.jsonl");
    zc_collect_t *bad = zc_collect_new (store, collects, pubsub, s_test_stored, stored, &error);
    ZC_CHECK (!bad && error && strstr (error, "cannot open /nonexistent/dir/x.jsonl for appending"));
    zstr_free (&error);

    //  A stream line nobody can check is not written.
    msg = s_test_line ("n1", "logs.app", 6, "six", NULL);
    snprintf (msg->from, sizeof msg->from, "n2");
    zc_pubsub_on_pub (pubsub, msg);
    zc_wire_destroy (&msg);
    ZC_CHECK_STR ((char *) zlist_last (stored), "n1 logs.app 5");

    zc_collect_destroy (&collect);
    zc_pubsub_destroy (&pubsub);
    zc_keyring_destroy (&s_test_ring);
    sodium_memzero (s_test_secret, sizeof s_test_secret);
    zc_store_close (&store);
    zlist_destroy (&collects);
    zlist_destroy (&stored);
    char command [400];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    ZC_CHECK (system (command) == 0);
    return ZC_TEST_END;
}
