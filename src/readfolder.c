/*  readfolder.c — a drop folder for messages (see readfolder.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "prelude.h"
#include "log.h"
#include "message.h"
#include "readfolder.h"
#include "testing.h"

//  Files handled per scan, so that a full folder does not hold the loop
//  for long; a scan that stops there goes on at the next turn of the loop.
#define S_MAX_FILES 64
//  Suffixes tried for a name already taken in failed/.
#define S_MAX_SUFFIX 10000

struct _zc_readfolder_t {
    zloop_t *loop;              //  NULL: scans only when asked
    char *dir, *failed;
    zc_readfolder_submit_fn *submit;
    void *arg;
    int timer_id;               //  the periodic scan, or -1
    int again_id;               //  a one-shot scan soon, or -1
    int inotify_fd;             //  -1 without inotify
    zhashx_t *stuck;            //  name -> identity: files that could be neither
                                //  removed nor moved aside, skipped while unchanged
    bool defer;                 //  act on files only after the next commit
    zlistx_t *actions;          //  s_action_t waiting for that commit
    zhashx_t *deferred;         //  their names: not read again meanwhile
    bool busy;                  //  the last scan met a "not now"
    bool unreadable;            //  the last scan could not read the folder
};

//  A file found by a scan.
typedef struct {
    char *name;
    struct stat stat;
} s_entry_t;

//  What became of a file: removed or moved aside; still there (gone
//  before it was read, or stuck); waiting for a "not now" to pass.
typedef enum { S_HANDLED, S_LEFT, S_WAITING } s_outcome_t;

static int s_on_timer (zloop_t *loop, int timer_id, void *arg);

bool
zc_readfolder_wanted (const char *name)
{
    size_t length = strlen (name);
    return name [0] != '.' && length > 5 && streq (name + length - 5, ".json");
}

//  What identifies one version of a file: a changed file is read again.
static char *
s_identity (const struct stat *stat)
{
    return zsys_sprintf ("%lld.%09ld %lld %llu", (long long) stat->st_mtim.tv_sec, stat->st_mtim.tv_nsec,
                         (long long) stat->st_size, (unsigned long long) stat->st_ino);
}

//  Logs that a file can be neither removed nor moved aside, and skips it
//  until it changes: reading it again would send its messages again.
static void
s_stuck (zc_readfolder_t *self, const char *name, const struct stat *stat, const char *what)
{
    zc_error ("readfolder: %s: %s; it is left in place and not read again until it changes "
              "or the agent restarts", name, what);
    zhashx_update (self->stuck, name, s_identity (stat));
}

//  Whether a path is free: 1 yes, 0 taken, -1 cannot tell (errno).
static int
s_free_path (const char *path)
{
    struct stat stat;
    if (lstat (path, &stat) == 0)
        return 0;
    return errno == ENOENT? 1: -1;
}

//  Finds a free name in failed/ for 'name' and its .error twin: NAME,
//  NAME.1, NAME.2... Returns it malloc'd, or NULL with *why malloc'd.
static char *
s_failed_name (zc_readfolder_t *self, const char *name, char **why)
{
    for (int suffix = 0; suffix < S_MAX_SUFFIX; suffix++) {
        char *candidate = suffix? zsys_sprintf ("%s.%d", name, suffix): zc_strdup (name);
        char *path = zsys_sprintf ("%s/%s", self->failed, candidate);
        char *error_path = zsys_sprintf ("%s.error", path);
        int free_path = s_free_path (path);
        if (free_path == 1)
            free_path = s_free_path (error_path);
        if (free_path == -1)
            *why = zsys_sprintf ("cannot use %s: %s", path, strerror (errno));
        free (path);
        free (error_path);
        if (free_path == 1)
            return candidate;
        free (candidate);
        if (free_path == -1)
            return NULL;
    }
    *why = zsys_sprintf ("%s/%s.1 to .%d are all taken", self->failed, name, S_MAX_SUFFIX - 1);
    return NULL;
}

//  Moves a file to failed/, writes its .error file ('reason', then the
//  lines of 'details' when not NULL) and logs the reason. Returns
//  S_HANDLED, or S_LEFT when the file could not be moved.
static s_outcome_t
s_move_aside (zc_readfolder_t *self, const char *name, const struct stat *stat,
              const char *reason, const char *details)
{
    //  Someone may have removed failed/ since: make it again.
    char *why = NULL;
    if (mkdir (self->failed, 0700) == -1 && errno != EEXIST)
        why = zsys_sprintf ("cannot create %s: %s", self->failed, strerror (errno));
    char *failed_name = why? NULL: s_failed_name (self, name, &why);
    char *path = zsys_sprintf ("%s/%s", self->dir, name);
    char *failed_path = failed_name? zsys_sprintf ("%s/%s", self->failed, failed_name): NULL;
    if (failed_path && rename (path, failed_path) == -1)
        why = zsys_sprintf ("cannot move it to %s: %s", failed_path, strerror (errno));
    if (why) {
        char *what = zsys_sprintf ("%s, and %s", reason, why);
        s_stuck (self, name, stat, what);
        free (what);
        free (why);
    }
    else {
        zc_error ("readfolder: %s: %s; moved to failed/%s", name, reason, failed_name);
        char *error_path = zsys_sprintf ("%s.error", failed_path);
        FILE *file = fopen (error_path, "w");
        bool written = file && fprintf (file, "%s\n%s", reason, details? details: "") >= 0;
        if (file && fclose (file) != 0)
            written = false;
        if (!written)
            zc_error ("readfolder: cannot write %s: %s (the reason is the line above)",
                      error_path, strerror (errno));
        free (error_path);
    }
    free (path);
    free (failed_path);
    free (failed_name);
    return why? S_LEFT: S_HANDLED;
}

char *
zc_readfolder_read (const char *path, bool follow, size_t *size)
{
    int fd = open (path, O_RDONLY | (follow? 0: O_NOFOLLOW) | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1)
        return NULL;
    struct stat stat;
    int error = fstat (fd, &stat) == -1? errno
              : !S_ISREG (stat.st_mode)? EINVAL
              : stat.st_size > ZC_READFOLDER_MAX_FILE? EFBIG: 0;
    if (error) {
        close (fd);
        errno = error;
        return NULL;
    }
    //  One byte more than the limit tells a file that grew too large.
    char *buffer = zc_malloc ((size_t) stat.st_size + 1);
    size_t max = (size_t) stat.st_size + 1;
    *size = 0;
    while (true) {
        if (*size == max) {
            if (max > ZC_READFOLDER_MAX_FILE)
                break;
            max = max * 2 > ZC_READFOLDER_MAX_FILE + 1? ZC_READFOLDER_MAX_FILE + 1: max * 2;
            buffer = zc_realloc (buffer, max);
        }
        ssize_t got = read (fd, buffer + *size, max - *size);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0) {
            error = errno;
            close (fd);
            if (got == 0)
                return buffer;
            free (buffer);
            errno = error;
            return NULL;
        }
        *size += got;
    }
    close (fd);
    free (buffer);
    errno = EFBIG;
    return NULL;
}

//  Makes the changes to the folder's entries durable: a file that came
//  back after a power loss would be sent again.
static void
s_sync_dir (zc_readfolder_t *self)
{
    int dir_fd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd != -1) {
        fsync (dir_fd);
        close (dir_fd);
    }
}

//  Replaces a file, atomically and durably, with 'messages' as JSON lines,
//  keeping its modification time (and so its place in the order).
//  0 or -1 (errno).
static int
s_rewrite (zc_readfolder_t *self, const char *name, const struct stat *stat, json_t *messages)
{
    char *path = zsys_sprintf ("%s/%s", self->dir, name);
    char *temporary = zsys_sprintf ("%s/.%s.rewrite", self->dir, name);
    int rc = -1;
    FILE *file = fopen (temporary, "w");
    if (file) {
        bool written = true;
        for (size_t index = 0; index < json_array_size (messages) && written; index++)
            written = json_dumpf (json_array_get (messages, index), file, JSON_COMPACT) == 0
                   && fputc ('\n', file) != EOF;
        struct timespec times [2] = { { .tv_nsec = UTIME_OMIT }, stat->st_mtim };
        written = written && fflush (file) == 0 && futimens (fileno (file), times) == 0
               && fsync (fileno (file)) == 0;
        int error = errno;
        written = fclose (file) == 0 && written;
        if (written && rename (temporary, path) == 0) {
            s_sync_dir (self);
            rc = 0;
        }
        else {
            error = written? errno: error;
            unlink (temporary);
            errno = error;
        }
    }
    free (path);
    free (temporary);
    return rc;
}

//  What becomes of a file once the messages accepted from it are stored.
typedef enum { S_REMOVE, S_MOVE_ASIDE, S_REWRITE } s_action_kind_t;

typedef struct {
    s_action_kind_t kind;
    char *name;
    struct stat stat;           //  of the version that was read
    size_t sent;                //  S_REMOVE: how many messages were sent
    char *reason, *details;     //  S_MOVE_ASIDE, and S_REWRITE when that fails
    json_t *messages;           //  S_REWRITE: the messages not accepted
} s_action_t;

static void
s_action_destroy (s_action_t **self_p)
{
    if (*self_p) {
        s_action_t *self = *self_p;
        free (self->name);
        free (self->reason);
        free (self->details);
        json_decref (self->messages);
        free (self);
        *self_p = NULL;
    }
}

//  Carries out an action. Returns S_HANDLED when the file left the
//  folder, S_LEFT when it stays (rewritten to wait, or stuck).
static s_outcome_t
s_act (zc_readfolder_t *self, s_action_t *action)
{
    const char *name = action->name;
    if (action->kind == S_MOVE_ASIDE)
        return s_move_aside (self, name, &action->stat, action->reason, action->details);
    if (action->kind == S_REWRITE) {
        if (s_rewrite (self, name, &action->stat, action->messages) == 0)
            return S_LEFT;
        //  It cannot wait without its sent messages: move it aside, with
        //  the account of what was sent.
        char *reason = zsys_sprintf ("%s, and it cannot be rewritten without the messages sent: %s",
                                     action->reason, strerror (errno));
        s_outcome_t outcome = s_move_aside (self, name, &action->stat, reason, action->details);
        free (reason);
        return outcome;
    }
    char *path = zsys_sprintf ("%s/%s", self->dir, name);
    s_outcome_t outcome = S_HANDLED;
    if (unlink (path) == 0)
        zc_info ("readfolder: %s: %zu message(s) sent", name, action->sent);
    else {
        char *what = zsys_sprintf ("its %zu message(s) were sent, but it cannot be removed: %s",
                                   action->sent, strerror (errno));
        s_stuck (self, name, &action->stat, what);
        free (what);
        outcome = S_LEFT;
    }
    free (path);
    return outcome;
}

//  Submits the messages of one file and decides what becomes of it:
//  removed when all were accepted; moved aside when one was refused;
//  rewritten without the accepted ones when one could not be taken now.
//  The decision is carried out at once, or after the next commit.
static s_outcome_t
s_handle (zc_readfolder_t *self, s_entry_t *entry)
{
    const char *name = entry->name;
    if (!S_ISREG (entry->stat.st_mode))
        return s_move_aside (self, name, &entry->stat, "not a regular file", NULL);
    char *path = zsys_sprintf ("%s/%s", self->dir, name);
    size_t size = 0;
    char *text = zc_readfolder_read (path, false, &size);
    free (path);
    if (!text) {
        if (errno == ENOENT)
            return S_LEFT;
        char *reason = errno == EFBIG? zsys_sprintf ("larger than %u MiB", ZC_READFOLDER_MAX_FILE >> 20)
                     : errno == EINVAL? zc_strdup ("not a regular file")
                     : zsys_sprintf ("cannot read it: %s", strerror (errno));
        s_outcome_t outcome = s_move_aside (self, name, &entry->stat, reason, NULL);
        free (reason);
        return outcome;
    }
    char *error = NULL;
    json_t *messages = zc_message_split (text, size, &error);
    free (text);
    if (!messages) {
        s_outcome_t outcome = s_move_aside (self, name, &entry->stat, error, NULL);
        free (error);
        return outcome;
    }
    //  Each message on its own: one refused does not hold back the others,
    //  and the account (in 'lines') says which were sent.
    size_t count = json_array_size (messages), accepted = 0, refused = 0;
    json_t *remaining = json_array ();
    char *first_refusal = NULL;
    zchunk_t *lines = zchunk_new (NULL, 0);
    zchunk_t *accepted_list = zchunk_new (NULL, 0);
    bool busy = false;
    for (size_t index = 0; index < count; index++) {
        json_t *message = json_array_get (messages, index);
        char *line = NULL;
        error = NULL;
        int rc = busy? 1: self->submit (message, &error, self->arg);
        if (rc == 0) {
            line = zsys_sprintf ("%s%zu", accepted? ", ": "", index + 1);
            zchunk_extend (accepted_list, line, strlen (line));
            accepted++;
        }
        else
        if (rc > 0 && !busy) {
            //  Not now: this message and the rest wait in the file.
            if (!self->busy)
                zc_warn ("readfolder: %s: message %zu cannot be taken now: %s; trying again at each scan",
                         name, index + 1, error? error: "no reason given");
            if (!first_refusal)
                first_refusal = zsys_sprintf ("message %zu of %zu not sent now: %s", index + 1, count,
                                              error? error: "no reason given");
            line = zsys_sprintf ("message %zu and later: not sent (%s)\n", index + 1,
                                 error? error: "not now");
            zchunk_extend (lines, line, strlen (line));
            busy = true;
        }
        else
        if (rc < 0) {
            line = zsys_sprintf ("message %zu refused: %s\n", index + 1, error? error: "no reason given");
            zchunk_extend (lines, line, strlen (line));
            if (!first_refusal)
                first_refusal = zsys_sprintf ("message %zu of %zu refused: %s", index + 1, count,
                                              error? error: "no reason given");
            refused++;
        }
        if (rc != 0)
            json_array_append (remaining, message);
        free (line);
        free (error);
    }
    if (busy)
        self->busy = true;

    s_action_t *action = zc_calloc (1, sizeof *action);
    action->name = zc_strdup (name);
    action->stat = entry->stat;
    action->sent = accepted;
    if (busy || refused) {
        action->kind = busy? S_REWRITE: S_MOVE_ASIDE;
        action->reason = refused > 1? zsys_sprintf ("%s (and %zu more, see the .error file)", first_refusal, refused - 1)
                                    : zc_strdup (first_refusal);
        action->details = zsys_sprintf ("%.*saccepted and sent, do not send again: %s%.*s\n",
                                        (int) zchunk_size (lines), (char *) zchunk_data (lines),
                                        accepted? "messages ": "none",
                                        (int) zchunk_size (accepted_list), (char *) zchunk_data (accepted_list));
        action->messages = remaining;
        remaining = NULL;
    }
    else
        action->kind = S_REMOVE;
    free (first_refusal);
    zchunk_destroy (&lines);
    zchunk_destroy (&accepted_list);
    json_decref (remaining);
    json_decref (messages);

    s_outcome_t outcome = busy? S_WAITING: S_HANDLED;
    if (busy && !accepted)
        s_action_destroy (&action);     //  the file waits as it is
    else
    if (self->defer && accepted) {
        //  Until the commit that stores them, the file stays and is not
        //  read again.
        zhashx_update (self->deferred, name, "");
        zlistx_add_end (self->actions, action);
    }
    else {
        s_outcome_t acted = s_act (self, action);
        s_action_destroy (&action);
        if (!busy)
            outcome = acted;
    }
    return outcome;
}

static int
s_compare_entries (const void *one, const void *two)
{
    const s_entry_t *a = one, *b = two;
    if (a->stat.st_mtim.tv_sec != b->stat.st_mtim.tv_sec)
        return a->stat.st_mtim.tv_sec < b->stat.st_mtim.tv_sec? -1: 1;
    if (a->stat.st_mtim.tv_nsec != b->stat.st_mtim.tv_nsec)
        return a->stat.st_mtim.tv_nsec < b->stat.st_mtim.tv_nsec? -1: 1;
    return strcmp (a->name, b->name);
}

int
zc_readfolder_scan (zc_readfolder_t *self)
{
    assert (self);
    DIR *dir = opendir (self->dir);
    if (!dir) {
        if (!self->unreadable)
            zc_error ("readfolder: cannot read %s: %s (files dropped there wait until it can be read)",
                      self->dir, strerror (errno));
        self->unreadable = true;
        return -1;
    }
    if (self->unreadable)
        zc_info ("readfolder: %s can be read again", self->dir);
    self->unreadable = false;

    size_t count = 0, max = 16;
    s_entry_t *entries = zc_malloc (max * sizeof *entries);
    zhashx_t *seen = zhashx_new ();
    struct dirent *dirent;
    while ((dirent = readdir (dir))) {
        if (!zc_readfolder_wanted (dirent->d_name))
            continue;
        s_entry_t entry = { .name = dirent->d_name };
        if (fstatat (dirfd (dir), entry.name, &entry.stat, AT_SYMLINK_NOFOLLOW) == -1)
            continue;           //  gone since
        if (zhashx_lookup (self->deferred, entry.name))
            continue;
        zhashx_insert (seen, entry.name, "");
        char *stuck = zhashx_lookup (self->stuck, entry.name);
        char *identity = stuck? s_identity (&entry.stat): NULL;
        bool skip = stuck && streq (stuck, identity);
        free (identity);
        if (skip)
            continue;
        if (count == max) {
            max *= 2;
            entries = zc_realloc (entries, max * sizeof *entries);
        }
        entry.name = zc_strdup (entry.name);
        entries [count++] = entry;
    }
    closedir (dir);
    //  A stuck file that went away or changed is forgotten.
    zlistx_t *stuck_names = zhashx_keys (self->stuck);
    for (char *name = zlistx_first (stuck_names); name; name = zlistx_next (stuck_names))
        if (!zhashx_lookup (seen, name))
            zhashx_delete (self->stuck, name);
    zlistx_destroy (&stuck_names);
    zhashx_destroy (&seen);

    qsort (entries, count, sizeof *entries, s_compare_entries);
    int handled = 0;
    bool waiting = false;
    size_t index;
    for (index = 0; index < count && index < S_MAX_FILES && !waiting; index++) {
        zhashx_delete (self->stuck, entries [index].name);
        s_outcome_t outcome = s_handle (self, &entries [index]);
        if (outcome == S_HANDLED)
            handled++;
        waiting = outcome == S_WAITING;
    }
    if (handled > 0)
        s_sync_dir (self);
    if (!waiting && self->busy) {
        zc_info ("readfolder: messages are taken again");
        self->busy = false;
    }
    //  More files than one scan takes: go on soon, after other events.
    if (index < count && !waiting && self->loop && self->again_id == -1)
        self->again_id = zloop_timer (self->loop, 1, 1, s_on_timer, self);
    for (index = 0; index < count; index++)
        free (entries [index].name);
    free (entries);
    return handled;
}

static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_readfolder_t *self = arg;
    if (timer_id == self->again_id)
        self->again_id = -1;        //  a one-shot timer is gone once it fired
    zc_readfolder_scan (self);
    return 0;
}

//  Files were written or renamed into the folder: scan when one of them
//  is one to read (or when events were lost).
static int
s_on_inotify (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_readfolder_t *self = arg;
    char buffer [4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
    bool wanted = false;
    ssize_t size;
    while ((size = read (self->inotify_fd, buffer, sizeof buffer)) > 0) {
        for (char *cursor = buffer; cursor < buffer + size; ) {
            struct inotify_event *event = (struct inotify_event *) cursor;
            if ((event->mask & IN_Q_OVERFLOW) || (event->len && zc_readfolder_wanted (event->name)))
                wanted = true;
            cursor += sizeof *event + event->len;
        }
    }
    if (wanted)
        zc_readfolder_scan (self);
    return 0;
}

//  Creates a directory when missing; checks that it is one we may use.
static int
s_make_dir (const char *path, char **error)
{
    if (mkdir (path, 0700) == -1 && errno != EEXIST) {
        *error = zsys_sprintf ("cannot create %s: %s (create it, or fix readfolder in the config)",
                               path, strerror (errno));
        return -1;
    }
    struct stat info;
    if (stat (path, &info) == -1 || !S_ISDIR (info.st_mode)) {
        *error = zsys_sprintf ("%s is not a directory", path);
        return -1;
    }
    //  Files are moved and removed there: it must be writable.
    if (access (path, R_OK | W_OK | X_OK) == -1) {
        *error = zsys_sprintf ("%s: %s (the agent reads, moves and removes files there)",
                               path, strerror (errno));
        return -1;
    }
    return 0;
}

zc_readfolder_t *
zc_readfolder_new (zloop_t *loop, const char *dir, int interval_ms,
                   zc_readfolder_submit_fn *submit, void *arg, char **error)
{
    assert (dir && submit && interval_ms > 0);
    *error = NULL;
    if (!*dir) {
        *error = zc_strdup ("the folder name is empty");
        return NULL;
    }
    char *failed = zsys_sprintf ("%s/failed", dir);
    if (s_make_dir (dir, error) != 0 || s_make_dir (failed, error) != 0) {
        free (failed);
        return NULL;
    }
    zc_readfolder_t *self = zc_calloc (1, sizeof *self);
    self->loop = loop;
    self->dir = zc_strdup (dir);
    self->failed = failed;
    self->submit = submit;
    self->arg = arg;
    self->timer_id = self->again_id = self->inotify_fd = -1;
    self->stuck = zhashx_new ();
    zhashx_set_destructor (self->stuck, (zhashx_destructor_fn *) zstr_free);
    self->actions = zlistx_new ();
    zlistx_set_destructor (self->actions, (zlistx_destructor_fn *) s_action_destroy);
    self->deferred = zhashx_new ();
    if (loop) {
        self->timer_id = zloop_timer (loop, interval_ms, 0, s_on_timer, self);
        self->again_id = zloop_timer (loop, 1, 1, s_on_timer, self);
        //  inotify only makes scans prompt; without it the timer does.
        self->inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
        if (self->inotify_fd != -1 && inotify_add_watch (self->inotify_fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) == -1) {
            int error_number = errno;
            close (self->inotify_fd);
            self->inotify_fd = -1;
            errno = error_number;
        }
        zmq_pollitem_t item = { NULL, self->inotify_fd, ZMQ_POLLIN, 0 };
        if (self->inotify_fd == -1 || zloop_poller (loop, &item, s_on_inotify, self) == -1) {
            zc_debug ("readfolder: no inotify for %s (%s); scanning every %d ms", dir, strerror (errno), interval_ms);
            if (self->inotify_fd != -1)
                close (self->inotify_fd);
            self->inotify_fd = -1;
        }
    }
    return self;
}

void
zc_readfolder_destroy (zc_readfolder_t **self_p)
{
    if (*self_p) {
        zc_readfolder_t *self = *self_p;
        if (self->timer_id != -1)
            zloop_timer_end (self->loop, self->timer_id);
        if (self->again_id != -1)
            zloop_timer_end (self->loop, self->again_id);
        if (self->inotify_fd != -1) {
            zmq_pollitem_t item = { NULL, self->inotify_fd, ZMQ_POLLIN, 0 };
            zloop_poller_end (self->loop, &item);
            close (self->inotify_fd);
        }
        zhashx_destroy (&self->stuck);
        zlistx_destroy (&self->actions);
        zhashx_destroy (&self->deferred);
        free (self->dir);
        free (self->failed);
        free (self);
        *self_p = NULL;
    }
}

void
zc_readfolder_defer (zc_readfolder_t *self)
{
    assert (self);
    self->defer = true;
}

void
zc_readfolder_committed (zc_readfolder_t *self)
{
    assert (self);
    s_action_t *action;
    bool acted = false;
    while ((action = zlistx_detach (self->actions, NULL))) {
        zhashx_delete (self->deferred, action->name);
        //  A file replaced since it was read is not the one whose messages
        //  were sent: it stays, to be read.
        char *path = zsys_sprintf ("%s/%s", self->dir, action->name);
        struct stat now;
        if (lstat (path, &now) == 0) {
            char *then_identity = s_identity (&action->stat), *now_identity = s_identity (&now);
            if (streq (then_identity, now_identity))
                s_act (self, action);
            else
                zc_warn ("readfolder: %s changed while the messages read from it were being stored; "
                         "it is read again (replace files by rename, never rewrite them in place)",
                         action->name);
            free (then_identity);
            free (now_identity);
            acted = true;
        }
        free (path);
        s_action_destroy (&action);
    }
    if (acted)
        s_sync_dir (self);
}

//  ---------------------------------------------------------------------
//  Self-test

typedef struct {
    zlistx_t *submitted;        //  compact JSON of each accepted message
    int accept_before_busy;     //  when >= 0, how many more to accept
                                //  before saying "not now"
} s_test_sink_t;

//  Accepts every message but those to "refuse-me", unless it is busy.
static int
s_test_submit (json_t *message, char **error, void *arg)
{
    s_test_sink_t *sink = arg;
    if (sink->accept_before_busy == 0) {
        *error = zc_strdup ("the queue is full");
        return 1;
    }
    if (sink->accept_before_busy > 0)
        sink->accept_before_busy--;
    if (streq (json_string_value (json_object_get (message, "to")), "refuse-me")) {
        *error = zc_strdup ("refused by the test");
        return -1;
    }
    zlistx_add_end (sink->submitted, json_dumps (message, JSON_COMPACT | JSON_SORT_KEYS));
    return 0;
}

//  Writes a file with the given modification time (seconds after 1e9).
static void
s_test_write (const char *dir, const char *name, const char *text, int age)
{
    char *path = zsys_sprintf ("%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    assert (file);
    fputs (text, file);
    fclose (file);
    struct timespec times [2] = { { .tv_sec = 1000000000 + age }, { .tv_sec = 1000000000 + age } };
    utimensat (AT_FDCWD, path, times, 0);
    free (path);
}

//  The contents of a file (malloc'd), or NULL.
static char *
s_test_read (const char *dir, const char *name)
{
    char *path = zsys_sprintf ("%s/%s", dir, name);
    size_t size;
    char *text = zc_readfolder_read (path, false, &size);
    free (path);
    if (text) {
        text = zc_realloc (text, size + 1);
        text [size] = 0;
    }
    return text;
}

static bool
s_test_exists (const char *dir, const char *name)
{
    char *path = zsys_sprintf ("%s/%s", dir, name);
    struct stat stat;
    bool exists = lstat (path, &stat) == 0;
    free (path);
    return exists;
}

//  The accepted messages, joined by spaces, as one string (malloc'd).
static char *
s_test_submitted (s_test_sink_t *sink)
{
    char *all = zc_strdup ("");
    for (char *item = zlistx_first (sink->submitted); item; item = zlistx_next (sink->submitted)) {
        char *joined = zsys_sprintf ("%s%s%s", all, *all? " ": "", item);
        free (all);
        all = joined;
    }
    zlistx_purge (sink->submitted);
    return all;
}

static int
s_test_rmtree_entry (const char *path, const struct stat *stat, int flag, struct FTW *ftw)
{
    return remove (path);
}

//  Ends the test loop once 'name' is gone from the folder.
typedef struct {
    const char *dir, *name, *rename_from;
    bool dropped;
} s_test_wait_t;

static int
s_test_poll (zloop_t *loop, int timer_id, void *arg)
{
    s_test_wait_t *wait = arg;
    if (wait->rename_from && !wait->dropped)
        return 0;
    return s_test_exists (wait->dir, wait->name)? 0: -1;
}

static int
s_test_give_up (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

//  Drops a file in as a writer should: written as a dotfile, renamed.
static int
s_test_drop (zloop_t *loop, int timer_id, void *arg)
{
    s_test_wait_t *wait = arg;
    char *from = zsys_sprintf ("%s/%s", wait->dir, wait->rename_from);
    char *to = zsys_sprintf ("%s/%s", wait->dir, wait->name);
    int rc = rename (from, to);
    wait->dropped = true;
    free (from);
    free (to);
    return rc;
}

//  Runs the loop until wait->name is gone or max_ms passed; the time taken.
static int64_t
s_test_run (zloop_t *loop, s_test_wait_t *wait, int max_ms)
{
    int64_t start = zclock_mono ();
    int poll_id = zloop_timer (loop, 5, 0, s_test_poll, wait);
    int give_up_id = zloop_timer (loop, max_ms, 1, s_test_give_up, NULL);
    zloop_start (loop);
    zloop_timer_end (loop, poll_id);
    zloop_timer_end (loop, give_up_id);
    return zclock_mono () - start;
}

int
zc_readfolder_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char base [] = "/tmp/zc-readfolder-test-XXXXXX";
    ZC_CHECK (mkdtemp (base) != NULL);
    char *dir = zsys_sprintf ("%s/in", base);
    char *failed = zsys_sprintf ("%s/failed", dir);
    s_test_sink_t sink = { .submitted = zlistx_new (), .accept_before_busy = -1 };
    zlistx_set_destructor (sink.submitted, (zlistx_destructor_fn *) zstr_free);

    //  The folder and failed/ are created, mode 0700; a folder that
    //  cannot be one is an error.
    char *error = NULL;
    zc_readfolder_t *folder = zc_readfolder_new (NULL, dir, 1000, s_test_submit, &sink, &error);
    ZC_CHECK (folder && !error);
    struct stat stat;
    ZC_CHECK (lstat (dir, &stat) == 0 && S_ISDIR (stat.st_mode) && (stat.st_mode & 0777) == 0700);
    ZC_CHECK (lstat (failed, &stat) == 0 && S_ISDIR (stat.st_mode));
    char *nested = zsys_sprintf ("%s/no/such", base);
    ZC_CHECK (zc_readfolder_new (NULL, nested, 1000, s_test_submit, &sink, &error) == NULL);
    char *want = zsys_sprintf ("cannot create %s: No such file or directory "
                               "(create it, or fix readfolder in the config)", nested);
    ZC_CHECK_STR (error, want);
    free (want);
    free (nested);
    free (error);

    //  Oldest first; each form of file; bad files moved aside, the rest
    //  removed; other names left alone.
    s_test_write (dir, "c.json", "{\"to\": \"c1\"}\n\n{\"to\": \"c2\"}\n{\"to\": \"c3\"}\n", 3);
    s_test_write (dir, "a.json", "{\"to\": \"a\",\n \"args\": [\"x\"]}\n", 1);
    s_test_write (dir, "b.json", "[{\"to\": \"b1\"}, {\"to\": \"b2\"}]", 2);
    s_test_write (dir, "d.json", "{\"to\": \"d1\"}\n{\"to\": \n", 4);
    s_test_write (dir, "e.json", "{\"to\": \"e1\"}\n{\"to\": \"refuse-me\"}\n{\"to\": \"e3\"}\n", 5);
    s_test_write (dir, "f.txt", "{\"to\": \"f\"}", 0);
    s_test_write (dir, ".g.json", "{\"to\": \"g\"}", 0);
    s_test_write (dir, "h.json", "[{\"to\": \"refuse-me\"}, {\"to\": \"refuse-me\"}]", 6);
    ZC_CHECK (zc_readfolder_scan (folder) == 6);
    char *submitted = s_test_submitted (&sink);
    ZC_CHECK_STR (submitted, "{\"args\":[\"x\"],\"to\":\"a\"} {\"to\":\"b1\"} {\"to\":\"b2\"} "
                             "{\"to\":\"c1\"} {\"to\":\"c2\"} {\"to\":\"c3\"} {\"to\":\"e1\"} {\"to\":\"e3\"}");
    free (submitted);
    ZC_CHECK (!s_test_exists (dir, "a.json") && !s_test_exists (dir, "b.json") && !s_test_exists (dir, "c.json"));
    ZC_CHECK (s_test_exists (dir, "f.txt") && s_test_exists (dir, ".g.json"));
    ZC_CHECK (!s_test_exists (dir, "d.json") && !s_test_exists (dir, "e.json"));
    char *text = s_test_read (failed, "d.json");
    ZC_CHECK_STR (text, "{\"to\": \"d1\"}\n{\"to\": \n");
    free (text);
    text = s_test_read (failed, "d.json.error");
    ZC_CHECK_STR (text, "line 2: unexpected token near end of file\n");
    free (text);
    text = s_test_read (failed, "e.json.error");
    ZC_CHECK_STR (text, "message 2 of 3 refused: refused by the test\n"
                        "message 2 refused: refused by the test\n"
                        "accepted and sent, do not send again: messages 1, 3\n");
    free (text);
    text = s_test_read (failed, "h.json.error");
    ZC_CHECK_STR (text, "message 1 of 2 refused: refused by the test (and 1 more, see the .error file)\n"
                        "message 1 refused: refused by the test\n"
                        "message 2 refused: refused by the test\n"
                        "accepted and sent, do not send again: none\n");
    free (text);

    //  Nothing is read twice; a name taken in failed/ gets a suffix; what
    //  is not a regular file or is too large is moved aside too.
    ZC_CHECK (zc_readfolder_scan (folder) == 0);
    s_test_write (dir, "d.json", "nonsense", 7);
    char *path = zsys_sprintf ("%s/dir.json", dir);
    ZC_CHECK (mkdir (path, 0700) == 0);
    free (path);
    path = zsys_sprintf ("%s/big.json", dir);
    int fd = open (path, O_WRONLY | O_CREAT, 0600);
    ZC_CHECK (fd != -1 && ftruncate (fd, ZC_READFOLDER_MAX_FILE + 1) == 0);
    close (fd);
    free (path);
    ZC_CHECK (zc_readfolder_scan (folder) == 3);
    text = s_test_read (failed, "d.json.1.error");
    ZC_CHECK_STR (text, "line 1: '[' or '{' expected near 'nonsense'\n");
    free (text);
    text = s_test_read (failed, "dir.json.error");
    ZC_CHECK_STR (text, "not a regular file\n");
    free (text);
    text = s_test_read (failed, "big.json.error");
    ZC_CHECK_STR (text, "larger than 64 MiB\n");
    free (text);
    ZC_CHECK (zlistx_size (sink.submitted) == 0);

    //  A file that cannot be moved aside stays, and is not read again
    //  (its accepted messages would be sent twice) until it changes.
    char *saved = zsys_sprintf ("%s/failed.saved", base);
    ZC_CHECK (rename (failed, saved) == 0);
    s_test_write (dir, "failed", "not a directory", 0);
    s_test_write (dir, "p.json", "[{\"to\": \"p\"}, {\"to\": \"refuse-me\"}]", 9);
    ZC_CHECK (zc_readfolder_scan (folder) == 0);
    ZC_CHECK (zc_readfolder_scan (folder) == 0);
    submitted = s_test_submitted (&sink);
    ZC_CHECK_STR (submitted, "{\"to\":\"p\"}");
    free (submitted);
    ZC_CHECK (s_test_exists (dir, "p.json"));
    ZC_CHECK (unlink (failed) == 0 && rename (saved, failed) == 0);
    free (saved);
    s_test_write (dir, "p.json", "{\"to\": \"refuse-me\"}", 9);
    ZC_CHECK (zc_readfolder_scan (folder) == 1);
    ZC_CHECK (s_test_exists (failed, "p.json") && !s_test_exists (dir, "p.json"));

    //  "Not now": the file keeps the messages not yet accepted, and its
    //  place in the order; later files wait behind it.
    s_test_write (dir, "k.json", "{\"to\": \"k1\"}\n{\"to\": \"refuse-me\"}\n{\"to\": \"k3\"}\n", 10);
    s_test_write (dir, "l.json", "{\"to\": \"l\"}", 11);
    sink.accept_before_busy = 2;            //  k1, the refusal, then "not now"
    ZC_CHECK (zc_readfolder_scan (folder) == 0);
    submitted = s_test_submitted (&sink);
    ZC_CHECK_STR (submitted, "{\"to\":\"k1\"}");
    free (submitted);
    text = s_test_read (dir, "k.json");
    ZC_CHECK_STR (text, "{\"to\":\"refuse-me\"}\n{\"to\":\"k3\"}\n");
    free (text);
    path = zsys_sprintf ("%s/k.json", dir);
    ZC_CHECK (lstat (path, &stat) == 0 && stat.st_mtim.tv_sec == 1000000010);
    free (path);
    ZC_CHECK (s_test_exists (dir, "l.json"));
    sink.accept_before_busy = 0;
    ZC_CHECK (zc_readfolder_scan (folder) == 0);
    ZC_CHECK (zlistx_size (sink.submitted) == 0);
    sink.accept_before_busy = -1;
    ZC_CHECK (zc_readfolder_scan (folder) == 2);
    submitted = s_test_submitted (&sink);
    ZC_CHECK_STR (submitted, "{\"to\":\"k3\"} {\"to\":\"l\"}");
    free (submitted);
    text = s_test_read (failed, "k.json.error");
    ZC_CHECK_STR (text, "message 1 of 2 refused: refused by the test\n"
                        "message 1 refused: refused by the test\n"
                        "accepted and sent, do not send again: messages 2\n");
    free (text);
    //  A file that cannot be rewritten is moved aside with its account.
    s_test_write (dir, "w.json", "{\"to\": \"w1\"}\n{\"to\": \"w2\"}\n", 14);
    path = zsys_sprintf ("%s/.w.json.rewrite", dir);
    ZC_CHECK (mkdir (path, 0700) == 0);
    sink.accept_before_busy = 1;
    ZC_CHECK (zc_readfolder_scan (folder) == 0);
    sink.accept_before_busy = -1;
    ZC_CHECK (rmdir (path) == 0);
    free (path);
    text = s_test_read (failed, "w.json.error");
    ZC_CHECK_STR (text, "message 2 of 2 not sent now: the queue is full, and it cannot be rewritten "
                        "without the messages sent: Is a directory\n"
                        "message 2 and later: not sent (the queue is full)\n"
                        "accepted and sent, do not send again: messages 1\n");
    free (text);
    submitted = s_test_submitted (&sink);
    ZC_CHECK_STR (submitted, "{\"to\":\"w1\"}");
    free (submitted);

    //  Deferred (group commit): a file with accepted messages is acted on
    //  only after the commit, and is not read again before it.
    zc_readfolder_defer (folder);
    s_test_write (dir, "q.json", "[{\"to\": \"q1\"}, {\"to\": \"q2\"}]", 15);
    s_test_write (dir, "r.json", "{\"to\": \"refuse-me\"}\n{\"to\": \"r2\"}\n", 16);
    s_test_write (dir, "s.json", "nonsense", 17);
    s_test_write (dir, "t.json", "{\"to\": \"refuse-me\"}", 18);
    ZC_CHECK (zc_readfolder_scan (folder) == 4);
    ZC_CHECK (s_test_exists (failed, "s.json") && s_test_exists (failed, "t.json"));
    ZC_CHECK (s_test_exists (dir, "q.json") && s_test_exists (dir, "r.json"));
    ZC_CHECK (zc_readfolder_scan (folder) == 0);
    submitted = s_test_submitted (&sink);
    ZC_CHECK_STR (submitted, "{\"to\":\"q1\"} {\"to\":\"q2\"} {\"to\":\"r2\"}");
    free (submitted);
    zc_readfolder_committed (folder);
    ZC_CHECK (!s_test_exists (dir, "q.json") && !s_test_exists (dir, "r.json"));
    text = s_test_read (failed, "r.json.error");
    ZC_CHECK_STR (text, "message 1 of 2 refused: refused by the test\n"
                        "message 1 refused: refused by the test\n"
                        "accepted and sent, do not send again: messages 2\n");
    free (text);
    //  A file changed before the commit is read again.
    s_test_write (dir, "u.json", "{\"to\": \"u1\"}", 19);
    ZC_CHECK (zc_readfolder_scan (folder) == 1);
    s_test_write (dir, "u.json", "{\"to\": \"u2\"}", 20);
    zc_readfolder_committed (folder);
    ZC_CHECK (s_test_exists (dir, "u.json"));
    ZC_CHECK (zc_readfolder_scan (folder) == 1);
    zc_readfolder_committed (folder);
    ZC_CHECK (!s_test_exists (dir, "u.json"));
    submitted = s_test_submitted (&sink);
    ZC_CHECK_STR (submitted, "{\"to\":\"u1\"} {\"to\":\"u2\"}");
    free (submitted);
    //  "Not now": the rewrite waits for the commit too.
    s_test_write (dir, "v.json", "{\"to\": \"v1\"}\n{\"to\": \"v2\"}\n", 21);
    sink.accept_before_busy = 1;
    ZC_CHECK (zc_readfolder_scan (folder) == 0);
    text = s_test_read (dir, "v.json");
    ZC_CHECK_STR (text, "{\"to\": \"v1\"}\n{\"to\": \"v2\"}\n");
    free (text);
    zc_readfolder_committed (folder);
    text = s_test_read (dir, "v.json");
    ZC_CHECK_STR (text, "{\"to\":\"v2\"}\n");
    free (text);
    sink.accept_before_busy = -1;
    ZC_CHECK (zc_readfolder_scan (folder) == 1);
    zc_readfolder_committed (folder);
    ZC_CHECK (!s_test_exists (dir, "v.json"));
    submitted = s_test_submitted (&sink);
    ZC_CHECK_STR (submitted, "{\"to\":\"v1\"} {\"to\":\"v2\"}");
    free (submitted);

    zc_readfolder_destroy (&folder);
    ZC_CHECK (folder == NULL);

    //  In a loop: files already there are read at once; a file renamed
    //  in is read promptly (inotify), long before the 60 s timer.
    zloop_t *loop = zloop_new ();
    s_test_write (dir, "m.json", "{\"to\": \"m\"}", 12);
    folder = zc_readfolder_new (loop, dir, 60000, s_test_submit, &sink, &error);
    ZC_CHECK (folder != NULL);
    s_test_wait_t wait = { .dir = dir, .name = "m.json" };
    ZC_CHECK (s_test_run (loop, &wait, 5000) < 2000);
    s_test_write (dir, ".n.json.tmp", "{\"to\": \"n\"}", 13);
    wait = (s_test_wait_t) { .dir = dir, .name = "n.json", .rename_from = ".n.json.tmp" };
    int drop_id = zloop_timer (loop, 20, 1, s_test_drop, &wait);
    ZC_CHECK (s_test_run (loop, &wait, 5000) < 2000);
    zloop_timer_end (loop, drop_id);
    submitted = s_test_submitted (&sink);
    ZC_CHECK_STR (submitted, "{\"to\":\"m\"} {\"to\":\"n\"}");
    free (submitted);
    zc_readfolder_destroy (&folder);

    //  The timer: a file that had to wait is read at a later tick.
    folder = zc_readfolder_new (loop, dir, 50, s_test_submit, &sink, &error);
    ZC_CHECK (folder != NULL);
    s_test_write (dir, "o.json", "{\"to\": \"o\"}", 14);
    sink.accept_before_busy = 0;
    wait = (s_test_wait_t) { .dir = dir, .name = "o.json" };
    ZC_CHECK (s_test_run (loop, &wait, 300) >= 300);
    ZC_CHECK (s_test_exists (dir, "o.json"));
    sink.accept_before_busy = -1;
    ZC_CHECK (s_test_run (loop, &wait, 5000) < 2000);
    submitted = s_test_submitted (&sink);
    ZC_CHECK_STR (submitted, "{\"to\":\"o\"}");
    free (submitted);
    zc_readfolder_destroy (&folder);
    zloop_destroy (&loop);

    zlistx_destroy (&sink.submitted);
    nftw (base, s_test_rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
    free (dir);
    free (failed);
    return ZC_TEST_END;
}
