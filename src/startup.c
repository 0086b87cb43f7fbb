/*  startup.c — the agent's startup folder (see startup.h). */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "prelude.h"
#include "log.h"
#include "message.h"
#include "startup.h"
#include "testing.h"

//  One message of a file, waiting to be submitted.
typedef struct {
    char *path;                 //  its file
    size_t number, count;       //  its place in the file (1-based), of how many
    json_t *message;
} s_item_t;

struct _zc_startup_t {
    zloop_t *loop;
    char *dir;
    zc_readfolder_submit_fn *submit;
    void *arg;
    zlistx_t *items;            //  s_item_t, in file and message order
    int timer_id;               //  -1, or the retry timer
    int interval_ms;
    bool busy_logged;           //  "cannot be taken now" was logged
    size_t files, accepted, refused, unreadable;
};

static void
s_item_destroy (void **item_p)
{
    s_item_t *item = *item_p;
    free (item->path);
    json_decref (item->message);
    free (item);
    *item_p = NULL;
}

char *
zc_startup_problem (const char *dir)
{
    DIR *handle = opendir (dir);
    if (!handle)
        return zsys_sprintf ("%s: %s", dir, strerror (errno));
    closedir (handle);
    return NULL;
}

static int
s_compare_names (const void *one, const void *two)
{
    return strcmp (*(char *const *) one, *(char *const *) two);
}

//  The names of the folder's message files, in name order (a new list),
//  or NULL with *error malloc'd when the folder cannot be read.
static zlist_t *
s_file_names (const char *dir, char **error)
{
    DIR *handle = opendir (dir);
    if (!handle) {
        *error = zsys_sprintf ("%s: %s", dir, strerror (errno));
        return NULL;
    }
    size_t count = 0, capacity = 16;
    char **names = zc_malloc (capacity * sizeof (char *));
    struct dirent *entry;
    while ((entry = readdir (handle)))
        if (zc_readfolder_wanted (entry->d_name)) {
            if (count == capacity)
                names = zc_realloc (names, (capacity *= 2) * sizeof (char *));
            names [count++] = zc_strdup (entry->d_name);
        }
    closedir (handle);
    qsort (names, count, sizeof (char *), s_compare_names);
    zlist_t *list = zlist_new ();
    zlist_autofree (list);
    for (size_t index = 0; index < count; index++) {
        zlist_append (list, names [index]);
        free (names [index]);
    }
    free (names);
    return list;
}

//  The messages of one file (a new array), or NULL with *error malloc'd.
static json_t *
s_read_messages (const char *path, char **error)
{
    size_t size = 0;
    char *text = zc_readfolder_read (path, true, &size);
    if (!text) {
        *error = errno == EFBIG? zsys_sprintf ("larger than %u MiB", ZC_READFOLDER_MAX_FILE >> 20)
               : errno == EINVAL? zc_strdup ("not a regular file")
               : zsys_sprintf ("cannot read it: %s", strerror (errno));
        return NULL;
    }
    json_t *messages = zc_message_split (text, size, error);
    free (text);
    return messages;
}

char *
zc_startup_check (const char *dir)
{
    char *error = NULL;
    zlist_t *names = s_file_names (dir, &error);
    if (!names)
        return error;
    zchunk_t *problems = zchunk_new (NULL, 0);
    for (char *name = zlist_first (names); name; name = zlist_next (names)) {
        char *path = zsys_sprintf ("%s/%s", dir, name);
        json_t *messages = s_read_messages (path, &error);
        char *line = NULL;
        if (!messages)
            line = zsys_sprintf ("%s: %s\n", path, error);
        size_t index;
        json_t *object;
        json_array_foreach (messages, index, object) {
            const char *field = NULL;
            zc_message_t *message = zc_message_from_json (object, NULL, &error, &field);
            if (!message) {
                line = zsys_sprintf ("%s: message %zu of %zu: %s\n", path, index + 1,
                                     json_array_size (messages), error);
                break;
            }
            zc_message_destroy (&message);
        }
        if (line)
            zchunk_extend (problems, line, strlen (line));
        free (line);
        zstr_free (&error);
        json_decref (messages);
        free (path);
    }
    zlist_destroy (&names);
    char *text = NULL;
    if (zchunk_size (problems))
        text = zsys_sprintf ("%.*s", (int) zchunk_size (problems) - 1, (char *) zchunk_data (problems));
    zchunk_destroy (&problems);
    return text;
}

//  Submits what waits, in order, until a message cannot be taken now.
//  Returns 0 when nothing waits any more.
static int
s_submit (zc_startup_t *self)
{
    s_item_t *item;
    while ((item = zlistx_first (self->items))) {
        char *error = NULL;
        int rc = self->submit (item->message, &error, self->arg);
        if (rc > 0) {
            if (!self->busy_logged)
                zc_warn ("startup: %s: message %zu of %zu cannot be taken now: %s; trying again"
                         " every %g s", item->path, item->number, item->count,
                         error? error: "no reason given", self->interval_ms / 1000.0);
            self->busy_logged = true;
            free (error);
            return -1;
        }
        if (rc < 0) {
            zc_error ("startup: %s: message %zu of %zu refused: %s", item->path, item->number,
                      item->count, error? error: "no reason given");
            self->refused++;
        }
        else
            self->accepted++;
        free (error);
        zlistx_delete (self->items, NULL);
    }
    zc_info ("startup: %zu message(s) from %s submitted (%zu file(s); %zu message(s) refused,"
             " %zu file(s) unreadable)", self->accepted, self->dir, self->files, self->refused,
             self->unreadable);
    return 0;
}

static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_startup_t *self = arg;
    if (s_submit (self) == 0) {
        zloop_timer_end (loop, timer_id);
        self->timer_id = -1;
    }
    return 0;
}

zc_startup_t *
zc_startup_new (zloop_t *loop, const char *dir, int interval_ms,
                zc_readfolder_submit_fn *submit, void *arg, char **error)
{
    zlist_t *names = s_file_names (dir, error);
    if (!names)
        return NULL;
    zc_startup_t *self = zc_calloc (1, sizeof *self);
    self->loop = loop;
    self->dir = zc_strdup (dir);
    self->submit = submit;
    self->arg = arg;
    self->interval_ms = interval_ms;
    self->timer_id = -1;
    self->items = zlistx_new ();
    zlistx_set_destructor (self->items, s_item_destroy);
    for (char *name = zlist_first (names); name; name = zlist_next (names)) {
        char *path = zsys_sprintf ("%s/%s", dir, name);
        char *problem = NULL;
        json_t *messages = s_read_messages (path, &problem);
        self->files++;
        if (!messages) {
            zc_error ("startup: %s: %s; none of its messages was submitted", path, problem);
            self->unreadable++;
        }
        size_t index;
        json_t *message;
        json_array_foreach (messages, index, message) {
            s_item_t *item = zc_calloc (1, sizeof *item);
            item->path = zc_strdup (path);
            item->number = index + 1;
            item->count = json_array_size (messages);
            item->message = json_incref (message);
            zlistx_add_end (self->items, item);
        }
        json_decref (messages);
        free (problem);
        free (path);
    }
    zlist_destroy (&names);
    if (s_submit (self) != 0)
        self->timer_id = zloop_timer (loop, (size_t) interval_ms, 0, s_on_timer, self);
    return self;
}

void
zc_startup_destroy (zc_startup_t **self_p)
{
    zc_startup_t *self = *self_p;
    if (!self)
        return;
    if (self->timer_id != -1)
        zloop_timer_end (self->loop, self->timer_id);
    if (zlistx_size (self->items))
        zc_warn ("startup: %zu message(s) from %s were never taken", zlistx_size (self->items), self->dir);
    zlistx_destroy (&self->items);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

size_t
zc_startup_waiting (zc_startup_t *self)
{
    return zlistx_size (self->items);
}

//  ---------------------------------------------------------------------
//  Self-test

typedef struct {
    int busy;                   //  "not now" answers left to give
    char taken [512];           //  the "to" of each message taken, space-separated
} s_test_sink_t;

static int
s_test_submit (json_t *message, char **error, void *arg)
{
    s_test_sink_t *sink = arg;
    const char *to = json_string_value (json_object_get (message, "to"));
    if (sink->busy > 0) {
        sink->busy--;
        *error = zc_strdup ("the queue is full");
        return 1;
    }
    if (to && streq (to, "refuse-me")) {
        *error = zc_strdup ("refused for the test");
        return -1;
    }
    strcat (sink->taken, to? to: "?");
    strcat (sink->taken, " ");
    return 0;
}

static void
s_test_write (const char *dir, const char *name, const char *text)
{
    char *path = zsys_sprintf ("%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    if (file) {
        fputs (text, file);
        fclose (file);
    }
    free (path);
}

static int
s_test_poll (zloop_t *loop, int timer_id, void *arg)
{
    return zc_startup_waiting (arg) == 0? -1: 0;
}

static int
s_test_give_up (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

int
zc_startup_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zcnc-startup-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    s_test_write (dir, "20-two.json", "[{\"to\": \"b\", \"args\": [\"x\"]},"
                                      " {\"to\": \"refuse-me\", \"args\": [\"x\"]}, {\"to\": \"c\", \"args\": [\"x\"]}]");
    s_test_write (dir, "10-one.json", "{\"to\": \"a\", \"args\": [\"x\"]}\n");
    s_test_write (dir, "15-bad.json", "{\"to\": \n");
    s_test_write (dir, "30-lines.json", "{\"to\": \"d\", \"args\": [\"x\"]}\n{\"to\": \"e\", \"args\": [\"x\"]}\n");
    s_test_write (dir, ".hidden.json", "{\"to\": \"hidden\"}");
    s_test_write (dir, "notes.txt", "{\"to\": \"txt\"}");
    char *linked = zsys_sprintf ("%s/40-link.json", dir), *target = zsys_sprintf ("%s/elsewhere", dir);
    s_test_write (dir, "elsewhere", "{\"to\": \"f\", \"args\": [\"x\"]}");
    ZC_CHECK (symlink (target, linked) == 0);

    //  In name order, files kept, the bad one and the refused message
    //  skipped; a "not now" waits and is tried again.
    zloop_t *loop = zloop_new ();
    s_test_sink_t sink = { .busy = 2 };
    char *error = NULL;
    zc_startup_t *startup = zc_startup_new (loop, dir, 20, s_test_submit, &sink, &error);
    ZC_CHECK (startup && !error);
    ZC_CHECK_STR (sink.taken, "");
    ZC_CHECK (zc_startup_waiting (startup) == 7);
    int poll = zloop_timer (loop, 10, 0, s_test_poll, startup);
    int give_up = zloop_timer (loop, 5000, 1, s_test_give_up, NULL);
    zloop_start (loop);
    zloop_timer_end (loop, poll);
    zloop_timer_end (loop, give_up);
    ZC_CHECK (zc_startup_waiting (startup) == 0);
    ZC_CHECK_STR (sink.taken, "a b c d e f ");
    zc_startup_destroy (&startup);
    ZC_CHECK (startup == NULL);
    char *path = zsys_sprintf ("%s/10-one.json", dir);
    ZC_CHECK (access (path, F_OK) == 0);
    free (path);

    //  A second start submits them all again.
    memset (&sink, 0, sizeof sink);
    startup = zc_startup_new (loop, dir, 20, s_test_submit, &sink, &error);
    ZC_CHECK (startup && zc_startup_waiting (startup) == 0);
    ZC_CHECK_STR (sink.taken, "a b c d e f ");
    zc_startup_destroy (&startup);

    //  What -n says: the bad file, and the message that is not one.
    s_test_write (dir, "50-field.json", "{\"to\": \"g\", \"args\": [\"x\"], \"colour\": 1}");
    char *problems = zc_startup_check (dir);
    char *want = zsys_sprintf ("%s/15-bad.json: line 2: unexpected token near end of file\n"
                               "%s/50-field.json: message 1 of 1: unknown field \"colour\"", dir, dir);
    ZC_CHECK_STR (problems, want);
    free (want);
    free (problems);

    //  A folder that is missing or not a folder
    char *missing = zsys_sprintf ("%s/missing", dir);
    startup = zc_startup_new (loop, missing, 20, s_test_submit, &sink, &error);
    want = zsys_sprintf ("%s: No such file or directory", missing);
    ZC_CHECK (startup == NULL);
    ZC_CHECK_STR (error, want);
    free (error);
    free (want);
    problems = zc_startup_problem (missing);
    ZC_CHECK (problems && strstr (problems, "No such file or directory"));
    free (problems);
    problems = zc_startup_check (target);
    want = zsys_sprintf ("%s: Not a directory", target);
    ZC_CHECK_STR (problems, want);
    free (want);
    free (problems);
    ZC_CHECK (zc_startup_problem (dir) == NULL);
    free (missing);

    zloop_destroy (&loop);
    free (linked);
    free (target);
    char *command = zsys_sprintf ("rm -rf %s", dir);
    ZC_CHECK (system (command) == 0);
    free (command);
    return ZC_TEST_END;
}
