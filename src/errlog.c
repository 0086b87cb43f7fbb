/*  errlog.c — error events, the error node's end (errlog.h).

    The last number written of a sender's stream is the STATE record
    "errlog:FROM:EPOCH" (EPOCH the number's bits 40 and up, in hex), a
    big-endian u64. A crash between writing a line and committing its
    number writes that line again after the restart; nothing is answered
    before both.
*/
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include "prelude.h"
#include "errlog.h"
#include "errqueue.h"
#include "lastseq.h"
#include "jsonout.h"
#include "log.h"
#include "testing.h"

#define S_WRITE_LOG_MS  60000           //  a file that cannot be written: logged this often

struct _zc_errlog_t {
    zc_store_t *store;
    char *path;
    FILE *file;                     //  NULL when it could not be opened
    zc_lastseq_t *last;             //  state key -> last number written
    zc_errlog_send_fn *send;
    void *arg;
    uint64_t written, duplicates, waiting;
    int64_t write_logged;           //  when a write error was logged
};

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

static void
s_state_key (const char *from, uint64_t seq, char key [96])
{
    snprintf (key, 96, "errlog:%s:%" PRIx64, from, seq >> 40);
}

//  Tells 'to' that its stream is written up to 'seq'.
static void
s_answer (zc_errlog_t *self, const char *to, uint64_t seq)
{
    zc_wire_t *stored = zc_wire_new (ZC_MSG_STORED);
    zlist_append (stored->to, (void *) to);
    stored->subject = zc_strdup (ZC_ERRQUEUE_SUBJECT);
    stored->seq = seq;
    self->send (&stored, self->arg);
}

//  Writes the line of an event; 'dropped' (when not 0) says how many of
//  its sender's events before it never came. 0, or -1 (logged) when it
//  is not on disk.
static int
s_write (zc_errlog_t *self, const char *from, json_t *event, uint64_t dropped)
{
    if (!self->file)
        self->file = s_open_append (self->path);     //  made writable since?
    if (!self->file) {
        int64_t now = zclock_mono ();
        if (!self->write_logged || now - self->write_logged >= S_WRITE_LOG_MS) {
            self->write_logged = now;
            zc_error ("error events: cannot open %s: %s; events are not written, and their senders"
                      " send them again (logged once a minute)", self->path, strerror (errno));
        }
        return -1;
    }
    json_t *line = json_pack ("{s:s, s:I, s:O}", "from", from, "time", (json_int_t) time (NULL), "event", event);
    if (dropped)
        json_object_set_new (line, "dropped", json_integer ((json_int_t) dropped));
    char *text = json_dumps (line, JSON_COMPACT);
    json_decref (line);
    int rc = text && fprintf (self->file, "%s\n", text) > 0 && fflush (self->file) == 0
          && fdatasync (fileno (self->file)) == 0? 0: -1;
    free (text);
    if (rc != 0) {
        int64_t now = zclock_mono ();
        if (!self->write_logged || now - self->write_logged >= S_WRITE_LOG_MS) {
            self->write_logged = now;
            zc_error ("error events: cannot write %s: %s; their senders send them again"
                      " (logged once a minute)", self->path, strerror (errno));
        }
        clearerr (self->file);
    }
    return rc;
}

void
zc_errlog_on_event (zc_errlog_t *self, zc_wire_t *msg)
{
    const char *text = msg->text? msg->text: "";
    zc_log_tap_pause (true);
    //  The text should be a JSON object; anything else is kept as a string.
    json_t *event = json_loads (text, 0, NULL);
    if (!json_is_object (event)) {
        json_decref (event);
        event = zc_jsonout_lossy_string (text);
    }
    //  Logged as JSON: a text cannot break the log's lines.
    char *shown = json_dumps (event, JSON_COMPACT | JSON_ENCODE_ANY);
    if (shown)
        text = shown;
    json_t *number = json_object_get (event, "seq");
    json_int_t seq = json_is_integer (number)? json_integer_value (number): 0;
    if (seq <= 0) {
        //  Not numbered: written as it comes, not answered.
        zc_warn ("error event from %s: %s", msg->from, text);
        if (s_write (self, msg->from, event, 0) == 0)
            self->written++;
        json_decref (event);
        free (shown);
        zc_log_tap_pause (false);
        return;
    }
    char key [96];
    s_state_key (msg->from, (uint64_t) seq, key);
    uint64_t last = zc_lastseq_get (self->last, key), dropped = 0;
    if (last && (uint64_t) seq <= last) {
        self->duplicates++;                         //  sent again: it has it
        s_answer (self, msg->from, last);
    }
    else
    if (last && (uint64_t) seq > last + 1 && !(msg->flags & ZC_FLAG_GAP)) {
        self->waiting++;                            //  one before it is on its way, or lost
        s_answer (self, msg->from, last);
    }
    else {
        if (last && (uint64_t) seq > last + 1)
            dropped = (uint64_t) seq - last - 1;
        if (dropped)
            zc_warn ("error event from %s: %s (%" PRIu64 " event(s) before it never came: dropped"
                     " at %s)", msg->from, text, dropped, msg->from);
        else
            zc_warn ("error event from %s: %s", msg->from, text);
        if (s_write (self, msg->from, event, dropped) == 0) {
            self->written++;
            zc_lastseq_set (self->last, key, (uint64_t) seq);
            s_answer (self, msg->from, (uint64_t) seq);
        }
    }
    json_decref (event);
    free (shown);
    zc_log_tap_pause (false);
}

zc_errlog_t *
zc_errlog_new (zc_store_t *store, const char *path, zc_errlog_send_fn *send, void *arg)
{
    zc_errlog_t *self = zc_calloc (1, sizeof *self);
    self->store = store;
    self->path = zc_strdup (path);
    self->last = zc_lastseq_new (store);
    self->send = send;
    self->arg = arg;
    self->file = s_open_append (path);
    if (!self->file)
        zc_warn ("cannot open %s for appending: %s; error events from other agents are logged,"
                 " not written (their senders keep them and send them again)", path, strerror (errno));
    return self;
}

void
zc_errlog_destroy (zc_errlog_t **self_p)
{
    if (*self_p) {
        zc_errlog_t *self = *self_p;
        if (self->file)
            fclose (self->file);
        zc_lastseq_destroy (&self->last);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

void
zc_errlog_reopen (zc_errlog_t *self)
{
    FILE *file = s_open_append (self->path);
    if (!file) {
        zc_error ("cannot open %s again: %s; error events are written on to the old one",
                  self->path, strerror (errno));
        return;
    }
    if (self->file)
        fclose (self->file);
    self->file = file;
}

json_t *
zc_errlog_status (zc_errlog_t *self)
{
    return json_pack ("{s:I, s:I, s:I}", "written", (json_int_t) self->written,
                      "duplicates", (json_int_t) self->duplicates, "waiting", (json_int_t) self->waiting);
}

//  ---------------------------------------------------------------------
//  Self-test

//  STORED messages: "TO SUBJECT SEQ" (autofree list), SEQ from the epoch.
static void
s_test_stored (zc_wire_t **msg_p, void *arg)
{
    char line [400];
    snprintf (line, sizeof line, "%s %s %" PRIu64, (char *) zlist_first ((*msg_p)->to),
              (*msg_p)->subject, (uint64_t) ((*msg_p)->seq & ((1ull << 40) - 1)));
    zlist_append ((zlist_t *) arg, line);
    zc_wire_destroy (msg_p);
}

#define S_TEST_EPOCH (5ull << 40)

//  What the log tap got.
static void
s_test_tap (bool error, const char *text, void *arg)
{
    snprintf (arg, 512, "%s", text);
}

//  An event from 'from' numbered 'seq' (from the epoch; 0: none) saying
//  'text', flagged 'flags'.
static zc_wire_t *
s_test_event (const char *from, uint64_t seq, const char *text, uint8_t flags)
{
    zc_wire_t *msg = zc_wire_new (ZC_MSG_ERROR);
    snprintf (msg->from, sizeof msg->from, "%s", from);
    msg->code = ZC_ERR_JOB_EVENT;
    msg->flags = flags;
    if (seq)
        msg->text = zsys_sprintf ("{\"kind\":\"warning\",\"text\":\"%s\",\"seq\":%" PRIu64 "}", text,
                                  S_TEST_EPOCH | seq);
    else
        msg->text = zc_strdup (text);
    return msg;
}

static void
s_test_feed (zc_errlog_t *errlog, zc_wire_t *msg)
{
    zc_errlog_on_event (errlog, msg);
    zc_wire_destroy (&msg);
}

//  The lines of 'path' as one string.
static char *
s_test_read (const char *path)
{
    char *text = zc_calloc (1, 65536);
    FILE *file = fopen (path, "r");
    if (file) {
        size_t size = fread (text, 1, 65535, file);
        text [size] = 0;
        fclose (file);
    }
    return text;
}

int
zc_errlog_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-errlog-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    char *error = NULL, store_dir [300], path [300];
    snprintf (store_dir, sizeof store_dir, "%s/store", dir);
    snprintf (path, sizeof path, "%s/errors.log", dir);
    zc_store_t *store = zc_store_open (store_dir, false, &error);
    ZC_CHECK (store != NULL);
    zlist_t *stored = zlist_new ();
    zlist_autofree (stored);
    zc_errlog_t *errlog = zc_errlog_new (store, path, s_test_stored, stored);

    //  In order, each written once and answered; a resend is answered,
    //  not written again.
    s_test_feed (errlog, s_test_event ("n1", 1, "one", ZC_FLAG_GAP));
    s_test_feed (errlog, s_test_event ("n1", 2, "two", 0));
    s_test_feed (errlog, s_test_event ("n1", 2, "two", 0));
    ZC_CHECK_STR ((char *) zlist_first (stored), "n1 $sys.errors 1");
    ZC_CHECK_STR ((char *) zlist_next (stored), "n1 $sys.errors 2");
    ZC_CHECK_STR ((char *) zlist_next (stored), "n1 $sys.errors 2");
    //  One after a missing one is not written; the answer asks for it.
    zlist_purge (stored);
    s_test_feed (errlog, s_test_event ("n1", 4, "four", 0));
    ZC_CHECK_STR ((char *) zlist_first (stored), "n1 $sys.errors 2");
    //  After a restart it still knows what it wrote.
    zc_errlog_destroy (&errlog);
    zc_store_commit (store);
    errlog = zc_errlog_new (store, path, s_test_stored, stored);
    zlist_purge (stored);
    s_test_feed (errlog, s_test_event ("n1", 2, "two", 0));
    ZC_CHECK_STR ((char *) zlist_first (stored), "n1 $sys.errors 2");
    //  Flagged GAP (3 went at n1), it is written, saying so.
    s_test_feed (errlog, s_test_event ("n1", 4, "four", ZC_FLAG_GAP));
    ZC_CHECK_STR ((char *) zlist_last (stored), "n1 $sys.errors 4");
    //  Another sender has a stream of its own; the first event of a
    //  stream not known is written whatever its number.
    s_test_feed (errlog, s_test_event ("n2", 7, "seven", 0));
    ZC_CHECK_STR ((char *) zlist_last (stored), "n2 $sys.errors 7");
    //  An event without a number, and text that is not JSON: written,
    //  not answered.
    size_t answers = zlist_size (stored);
    s_test_feed (errlog, s_test_event ("n3", 0, "{\"id\":\"x\",\"state\":\"expired\"}", 0));
    s_test_feed (errlog, s_test_event ("n3", 0, "not json \xff", 0));
    ZC_CHECK (zlist_size (stored) == answers);
    json_t *status = zc_errlog_status (errlog);
    //  (Counted since the restart.)
    ZC_CHECK (json_integer_value (json_object_get (status, "written")) == 4
           && json_integer_value (json_object_get (status, "duplicates")) == 1
           && json_integer_value (json_object_get (status, "waiting")) == 0);
    json_decref (status);

    char *text = s_test_read (path);
    int lines = 0;
    for (char *at = text; (at = strchr (at, '\n')); at++)
        lines++;
    ZC_CHECK (lines == 6);
    ZC_CHECK (strstr (text, "{\"from\":\"n1\",\"time\":") == text);
    ZC_CHECK (strstr (text, "\"text\":\"one\"") && strstr (text, "\"text\":\"two\"")
           && strstr (text, "\"text\":\"seven\""));
    char *four = strstr (text, "\"text\":\"four\"");
    ZC_CHECK (four && strstr (four, "\"dropped\":1}\n"));
    ZC_CHECK (strstr (text, "\"event\":{\"id\":\"x\",\"state\":\"expired\"}"));
    ZC_CHECK (strstr (text, "\"event\":\"not json ?\""));
    free (text);

    //  A file that cannot be written: said at once; the event is not
    //  answered, so its sender sends it again.
    zc_errlog_destroy (&errlog);
    zc_store_commit (store);
    char logged [512] = "";
    zc_log_tap (s_test_tap, logged);
    errlog = zc_errlog_new (store, dir, s_test_stored, stored);       //  a directory
    zc_log_tap (NULL, NULL);
    ZC_CHECK (strstr (logged, "cannot open /tmp/zc-errlog-") && strstr (logged, "Is a directory"));
    answers = zlist_size (stored);
    s_test_feed (errlog, s_test_event ("n1", 5, "five", 0));
    ZC_CHECK (zlist_size (stored) == answers);
    zc_errlog_destroy (&errlog);

    zc_store_close (&store);
    zlist_destroy (&stored);
    char command [400];
    snprintf (command, sizeof command, "rm -rf '%s'", dir);
    ZC_CHECK (system (command) == 0);
    if (verbose)
        printf ("# errlog: events written once, in order\n");
    return ZC_TEST_END;
}
