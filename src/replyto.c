/*  replyto.c — reply methods at the origin (see replyto.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "prelude.h"
#include "dirs.h"
#include "id.h"
#include "log.h"
#include "replyto.h"
#include "target.h"
#include "testing.h"

#define S_MAX_PATH_FIELD    1024        //  bytes of a directory or file_name
#define S_MAX_ARG           131071      //  bytes of one argument (Linux: 32 pages, with the NUL)
#define S_MAX_ARGV          (1u << 20)  //  bytes of all arguments, well under ARG_MAX
#define S_LOG_LINES         10          //  lines of a command's output logged per stream
#define S_LOG_LINE          300         //  bytes of one such line
#define S_WRITES_PER_TURN   64          //  file replies carried out in one turn of the loop

//  One reply due. What it acts on is looked up in the outbox when it
//  acts (so a queue of replies holds no copies of results).
typedef struct {
    char job_id [ZC_JOB_ID_MAX];
    char *program;              //  its command's, while it runs
    zc_exec_t *proc;
    zc_replyto_t *owner;
} s_reply_t;

struct _zc_replyto_t {
    zloop_t *loop;
    char *data;                 //  the data directory
    char name [ZC_NAME_SIZE];   //  this agent
    zc_replyto_lookup_fn *lookup;
    zc_replyto_done_fn *done;
    void *arg;
    const zc_exec_context_t *context;
    double timeout;
    zc_policy_t *policy;
    zlistx_t *added;            //  s_reply_t whose result is not known to be on disk
    zlistx_t *waiting;          //  on disk: files waiting their turn, commands a slot
    zlistx_t *running;          //  commands running
    int pump_timer;             //  -1, or the timer that carries out more
    bool stopping;              //  being destroyed: commands killed are not done
};

static void
s_reply_destroy (s_reply_t **self_p)
{
    s_reply_t *self = *self_p;
    if (self) {
        free (self->program);
        free (self);
        *self_p = NULL;
    }
}

zc_replyto_t *
zc_replyto_new (zloop_t *loop, const char *data, const char *name,
                zc_replyto_lookup_fn *lookup, zc_replyto_done_fn *done, void *arg)
{
    zc_replyto_t *self = zc_calloc (1, sizeof *self);
    self->loop = loop;
    self->data = zc_strdup (data);
    snprintf (self->name, sizeof self->name, "%s", name);
    self->lookup = lookup;
    self->done = done;
    self->arg = arg;
    self->timeout = 60;
    self->added = zlistx_new ();
    self->waiting = zlistx_new ();
    self->running = zlistx_new ();
    self->pump_timer = -1;
    return self;
}

//  Empties a list of replies, freeing them.
static void
s_purge (zlistx_t *list)
{
    s_reply_t *reply;
    while ((reply = zlistx_detach (list, NULL)))
        s_reply_destroy (&reply);
}

void
zc_replyto_destroy (zc_replyto_t **self_p)
{
    zc_replyto_t *self = *self_p;
    if (!self)
        return;
    self->stopping = true;
    if (self->pump_timer != -1)
        zloop_timer_end (self->loop, self->pump_timer);
    //  Each command ends at once; its done callback frees its reply.
    s_reply_t *reply;
    while ((reply = zlistx_detach (self->running, NULL))) {
        zc_exec_t *proc = reply->proc;
        reply->proc = NULL;
        zc_exec_destroy (&proc);
    }
    zlistx_destroy (&self->running);
    s_purge (self->added);
    s_purge (self->waiting);
    zlistx_destroy (&self->added);
    zlistx_destroy (&self->waiting);
    free (self->data);
    free (self);
    *self_p = NULL;
}

void
zc_replyto_set_exec (zc_replyto_t *self, const zc_exec_context_t *context, double timeout)
{
    self->context = context;
    self->timeout = timeout;
}

void
zc_replyto_set_policy (zc_replyto_t *self, zc_policy_t *policy)
{
    self->policy = policy;
}

//  ---------------------------------------------------------------------
//  Checking and building paths

//  True when 'path' has a ".." component.
static bool
s_climbs (const char *path)
{
    for (const char *part = path; *part; ) {
        size_t length = strcspn (part, "/");
        if (length == 2 && part [0] == '.' && part [1] == '.')
            return true;
        part += length;
        part += *part == '/';
    }
    return false;
}

//  The last component of a path ("" when it ends with '/').
static const char *
s_last (const char *path)
{
    const char *slash = strrchr (path, '/');
    return slash? slash + 1: path;
}

int
zc_replyto_check (const zc_reply_spec_t *spec, char **error, const char **field)
{
    *error = NULL;
    *field = NULL;
    const char *directory = spec->directory, *file_name = spec->file_name;
    if (directory && (strlen (directory) > S_MAX_PATH_FIELD || s_climbs (directory))) {
        *field = "directory";
        *error = strlen (directory) > S_MAX_PATH_FIELD
            ? zsys_sprintf ("\"directory\" is longer than %d bytes", S_MAX_PATH_FIELD)
            : zc_strdup ("\"directory\" must not contain a '..' component: give a directory under"
                         " the data directory's results/ (relative), or an absolute one");
        return -1;
    }
    if (file_name) {
        const char *last = s_last (file_name);
        *field = "file_name";
        if (strlen (file_name) > S_MAX_PATH_FIELD)
            *error = zsys_sprintf ("\"file_name\" is longer than %d bytes", S_MAX_PATH_FIELD);
        else
        if (file_name [0] == '/')
            *error = zc_strdup ("\"file_name\" must be a relative path: the file goes under"
                                " \"directory\"/NODE/ (give the directory in \"directory\")");
        else
        if (s_climbs (file_name))
            *error = zc_strdup ("\"file_name\" must not contain a '..' component: the file"
                                " stays under \"directory\"/NODE/");
        else
        if (!*last || streq (last, "."))
            *error = zc_strdup ("\"file_name\" must name a file, not a directory");
        if (*error)
            return -1;
        *field = NULL;
    }
    if (spec->method == ZC_REPLY_EXEC) {
        const char *program = spec->args? zlist_first (spec->args): NULL;
        if (!program || !*program) {
            *field = "reply_args";
            *error = zc_strdup (program
                ? "reply_args[0] must name the program that gets the result"
                : "reply_method exec needs the command in reply_args: [\"PROGRAM\", \"ARG\", ...],"
                  " run without a shell; \"{{DATA}}\" in an argument stands for the result");
            return -1;
        }
    }
    return 0;
}

//  The reply command as one line, its arguments joined by spaces.
static char *
s_command_text (const zc_reply_spec_t *spec)
{
    size_t size = 1;
    for (char *arg = zlist_first (spec->args); arg; arg = zlist_next (spec->args))
        size += strlen (arg) + 1;
    char *text = zc_calloc (1, size);
    for (char *arg = zlist_first (spec->args); arg; arg = zlist_next (spec->args)) {
        if (*text)
            strcat (text, " ");
        strcat (text, arg);
    }
    return text;
}

int
zc_replyto_allowed (zc_replyto_t *self, const zc_reply_spec_t *spec, char **error)
{
    if (!self->policy || spec->method != ZC_REPLY_EXEC || !spec->args)
        return 0;
    char *command = s_command_text (spec);
    zc_policy_verdict_t verdict;
    zc_policy_check (self->policy, self->name, "exec", command, &verdict);
    if (!verdict.allowed)
        *error = zsys_sprintf ("the reply command '%s' may not run here: %s (the policy must allow"
                               " method exec from %s itself)", command, verdict.reason, self->name);
    free (command);
    return verdict.allowed? 0: -1;
}

char *
zc_replyto_path (const char *data, const zc_reply_spec_t *spec, const char *node,
                 const char *job_id, char **error)
{
    const char *field;
    if (zc_replyto_check (spec, error, &field) != 0)
        return NULL;
    //  Node names cannot hold a '/' or be "..": still, no path from a
    //  name that is not one.
    if (!zc_name_valid (node)) {
        *error = zsys_sprintf ("'%s' is not a node name", node);
        return NULL;
    }
    char file [ZC_ULID_LEN + 8];
    snprintf (file, sizeof file, "%.*s.out", ZC_ULID_LEN, job_id);
    const char *file_name = spec->file_name? spec->file_name
                          : spec->method == ZC_REPLY_FILE_APPEND? "output": file;
    const char *directory = spec->directory;
    char *path = !directory? zsys_sprintf ("%s/results/%s/%s", data, node, file_name)
               : directory [0] == '/'? zsys_sprintf ("%s/%s/%s", directory, node, file_name)
               : zsys_sprintf ("%s/results/%s/%s/%s", data, directory, node, file_name);
    if (strlen (path) >= PATH_MAX) {
        *error = zsys_sprintf ("the path %.60s... is longer than %d bytes", path, PATH_MAX - 1);
        zstr_free (&path);
    }
    return path;
}

char *
zc_replyto_expand (const char *arg, const uint8_t *data, size_t size, size_t max)
{
    size_t placeholder = strlen (ZC_REPLYTO_DATA), nuls = 0, count = 0;
    for (size_t index = 0; index < size; index++)
        nuls += data [index] == 0;
    for (const char *at = strstr (arg, ZC_REPLYTO_DATA); at; at = strstr (at + placeholder, ZC_REPLYTO_DATA))
        count++;
    size_t clean = size - nuls, length = strlen (arg) - count * placeholder;
    if (length > max || (count && clean > (max - length) / count))
        return NULL;
    length += count * clean;
    char *expanded = zc_malloc (length + 1), *out = expanded;
    for (const char *at = arg; *at; ) {
        if (strncmp (at, ZC_REPLYTO_DATA, placeholder) == 0) {
            for (size_t index = 0; index < size; index++)
                if (data [index])
                    *out++ = (char) data [index];
            at += placeholder;
        }
        else
            *out++ = *at++;
    }
    *out = 0;
    return expanded;
}

//  ---------------------------------------------------------------------
//  Carrying replies out

//  The reply is carried out (or given up, logged): the owner hears of it
//  unless a newer result of the same job waits here.
static void
s_finished (zc_replyto_t *self, s_reply_t *reply)
{
    bool newer = false;
    zlistx_t *lists [] = { self->added, self->waiting };
    for (size_t index = 0; index < 2 && !newer; index++)
        for (s_reply_t *other = zlistx_first (lists [index]); other && !newer; other = zlistx_next (lists [index]))
            newer = streq (other->job_id, reply->job_id);
    if (!newer)
        self->done (reply->job_id, self->arg);
    s_reply_destroy (&reply);
}

//  Writes all of 'data' to fd. 0, or -1 with errno.
static int
s_write_all (int fd, const uint8_t *data, size_t size)
{
    while (size) {
        ssize_t written = write (fd, data, size);
        if (written == -1 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        data += written;
        size -= (size_t) written;
    }
    return 0;
}

//  Makes a directory's entries durable. 0, or -1 with errno.
static int
s_sync_dir (const char *dir)
{
    int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    int rc = fsync (fd);
    int saved = errno;
    close (fd);
    errno = saved;
    return rc;
}

//  Appends data to 'path' (created mode 0600) and syncs it. 0, or -1
//  with *error malloc'd.
static int
s_append (const char *path, const char *dir, const uint8_t *data, size_t size, char **error)
{
    struct stat info;
    bool existed = lstat (path, &info) == 0;
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd == -1)
        return zc_fail (error, "cannot open %s: %s", path, strerror (errno));
    if (s_write_all (fd, data, size) != 0 || fsync (fd) != 0) {
        zc_fail (error, "cannot write %s: %s", path, strerror (errno));
        close (fd);
        return -1;
    }
    if (close (fd) != 0)
        return zc_fail (error, "cannot write %s: %s", path, strerror (errno));
    if (!existed && s_sync_dir (dir) != 0)
        return zc_fail (error, "cannot sync directory %s: %s", dir, strerror (errno));
    return 0;
}

//  Replaces 'path' with data: written to a temporary name in the same
//  directory (with the old file's mode, else 0600), synced, renamed over
//  it, the directory synced. 0, or -1 with *error malloc'd (nothing left
//  behind).
static int
s_replace (const char *path, const char *dir, const uint8_t *data, size_t size, char **error)
{
    uint32_t random = randombytes_random ();
    char *temp = zsys_sprintf ("%s/.%s.tmp-%d-%08x", dir, s_last (path), (int) getpid (), random);
    int fd = open (temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd == -1) {
        zc_fail (error, "cannot create %s: %s", temp, strerror (errno));
        free (temp);
        return -1;
    }
    struct stat old;
    int rc = 0;
    if (lstat (path, &old) == 0 && S_ISREG (old.st_mode) && fchmod (fd, old.st_mode & 07777) != 0)
        rc = zc_fail (error, "cannot set the mode of %s: %s", temp, strerror (errno));
    if (rc == 0 && (s_write_all (fd, data, size) != 0 || fsync (fd) != 0))
        rc = zc_fail (error, "cannot write %s: %s", temp, strerror (errno));
    if (close (fd) != 0 && rc == 0)
        rc = zc_fail (error, "cannot write %s: %s", temp, strerror (errno));
    if (rc == 0 && rename (temp, path) != 0)
        rc = zc_fail (error, "cannot rename %s to %s: %s", temp, path, strerror (errno));
    if (rc != 0)
        unlink (temp);
    else
    if (s_sync_dir (dir) != 0)
        rc = zc_fail (error, "cannot sync directory %s: %s", dir, strerror (errno));
    free (temp);
    return rc;
}

//  A file reply of job_id on 'node': the job's stdout written (done) or
//  not (other states).
static void
s_write_reply (zc_replyto_t *self, const char *job_id, const char *node,
               const zc_reply_spec_t *spec, const zc_result_t *result)
{
    char *error = NULL;
    char *path = zc_replyto_path (self->data, spec, node, job_id, &error);
    if (!path)
        zc_error ("reply of %s not written: %s", job_id, error);
    else
    if (result->state != ZC_STATE_DONE)
        zc_info ("reply of %s: nothing written to %s: the job ended %s%s%s", job_id, path,
                 zc_state_name (result->state), result->error? ": ": "", result->error? result->error: "");
    else {
        char *dir = zc_strdup (path);
        *strrchr (dir, '/') = 0;
        int rc = zc_dirs_make (dir, &error);
        if (rc == 0)
            rc = spec->method == ZC_REPLY_FILE_APPEND
                ? s_append (path, dir, result->out, result->out_size, &error)
                : s_replace (path, dir, result->out, result->out_size, &error);
        if (rc == 0)
            zc_debug ("reply of %s: %zu byte(s) %s %s", job_id, result->out_size,
                      spec->method == ZC_REPLY_FILE_APPEND? "appended to": "written to", path);
        else
            zc_error ("reply of %s not written to %s: %s", job_id, path, error);
        free (dir);
    }
    free (error);
    free (path);
}

//  Logs what a reply command printed on one stream: at most S_LOG_LINES
//  lines of S_LOG_LINE bytes, control characters as '?'.
static void
s_log_output (const char *job_id, const char *stream, const uint8_t *bytes, size_t size, bool truncated)
{
    size_t offset = 0, lines = 0;
    while (offset < size && lines < S_LOG_LINES) {
        const uint8_t *newline = memchr (bytes + offset, '\n', size - offset);
        size_t length = newline? (size_t) (newline - bytes - offset): size - offset;
        char line [S_LOG_LINE + 1];
        size_t kept = length < S_LOG_LINE? length: S_LOG_LINE;
        for (size_t index = 0; index < kept; index++) {
            uint8_t byte = bytes [offset + index];
            line [index] = byte < 0x20 || byte == 0x7f? '?': (char) byte;
        }
        line [kept] = 0;
        zc_info ("reply of %s: command %s: %s%s", job_id, stream, line, kept < length? " [cut]": "");
        offset += length + 1;
        lines++;
    }
    if (offset < size || truncated)
        zc_info ("reply of %s: command %s: [more not logged]", job_id, stream);
}

static void s_pump (zc_replyto_t *self);

//  A reply command ended.
static void
s_command_done (zc_exec_t *proc, zc_result_t *result, void *arg)
{
    s_reply_t *reply = arg;
    zc_replyto_t *self = reply->owner;
    reply->proc = NULL;
    void *handle = zlistx_find (self->running, reply);
    if (handle)
        zlistx_detach (self->running, handle);
    zc_exec_destroy (&proc);
    if (self->stopping) {
        //  Killed as the agent stops: still pending, given again at the
        //  next start.
        zc_info ("reply of %s: command stopped with the agent; it runs again at the next start",
                 reply->job_id);
        s_reply_destroy (&reply);
        zc_result_destroy (&result);
        return;
    }
    const char *program = reply->program;
    s_log_output (reply->job_id, "stdout", result->out, result->out_size, result->stdout_truncated);
    s_log_output (reply->job_id, "stderr", result->err, result->err_size, result->stderr_truncated);
    if (result->error)
        zc_warn ("reply of %s: command %s failed: %s", reply->job_id, program, result->error);
    else
    if (result->signal)
        zc_warn ("reply of %s: command %s killed by signal %d", reply->job_id, program, result->signal);
    else
    if (result->exit_code)
        zc_warn ("reply of %s: command %s exited %d", reply->job_id, program, result->exit_code);
    else
        zc_debug ("reply of %s: command %s exited 0", reply->job_id, program);
    zc_result_destroy (&result);
    s_finished (self, reply);
    s_pump (self);
}

//  "NAME=VALUE", for a command's environment (malloc'd).
static char *
s_env_entry (const char *name, const char *value)
{
    return zsys_sprintf ("%s=%s", name, value? value: "");
}

//  Starts the command of a reply (its spec and result looked up now).
//  False when it did not start (logged; the reply is finished).
static bool
s_start_command (zc_replyto_t *self, s_reply_t *reply, const char *node,
                 const zc_reply_spec_t *spec, const zc_result_t *result)
{
    char *error = NULL;
    const char *field;
    //  Checked when the message came; a stored spec is checked again.
    if (zc_replyto_check (spec, &error, &field) != 0) {
        zc_error ("reply of %s not run: %s", reply->job_id, error);
        free (error);
        return false;
    }
    const char *program = zlist_first (spec->args);
    if (zc_replyto_allowed (self, spec, &error) != 0) {
        zc_warn ("reply of %s not run: %s", reply->job_id, error);
        free (error);
        return false;
    }
    size_t count = zlist_size (spec->args), total = 0, index = 0;
    char **argv = zc_calloc (count + 1, sizeof (char *));
    bool fits = true;
    for (char *arg = zlist_first (spec->args); arg && fits; arg = zlist_next (spec->args)) {
        argv [index] = zc_replyto_expand (arg, result->out, result->out_size, S_MAX_ARG);
        fits = argv [index] && (total += strlen (argv [index]) + 1) <= S_MAX_ARGV;
        index++;
    }
    if (!fits)
        zc_error ("reply of %s not run: with the result for {{DATA}}, argument %zu of %s would be"
                  " longer than %d bytes, or all of them longer than %u (read the result on stdin"
                  " instead)", reply->job_id, index, program, S_MAX_ARG, S_MAX_ARGV);
    //  The exit status means something when the command ran (as the
    //  jobs object says: message.c).
    bool ran = result->state == ZC_STATE_DONE || result->signal || result->exit_code;
    char exit_text [16] = "", signal_text [16] = "";
    if (ran)
        snprintf (exit_text, sizeof exit_text, "%d", result->exit_code);
    if (result->signal)
        snprintf (signal_text, sizeof signal_text, "%d", result->signal);
    char *env [] = {
        s_env_entry ("ZCNC_ID", reply->job_id), s_env_entry ("ZCNC_NODE", node),
        s_env_entry ("ZCNC_STATE", zc_state_name (result->state)), s_env_entry ("ZCNC_EXIT", exit_text),
        s_env_entry ("ZCNC_SIGNAL", signal_text), s_env_entry ("ZCNC_ERROR", result->error),
        s_env_entry ("ZCNC_TRUNCATED", result->stdout_truncated? "1": "0"), NULL
    };
    if (fits) {
        zc_exec_spec_t exec = {
            .argv = argv, .data = result->out, .data_size = result->out_size,
            .timeout = self->timeout, .max_output = ZC_REPLYTO_OUTPUT, .context = self->context,
            .job_id = reply->job_id, .origin = self->name, .env = env, .timeout_name = "reply_timeout"
        };
        reply->proc = zc_exec_start (self->loop, &exec, s_command_done, reply, &error);
        if (!reply->proc)
            zc_error ("reply of %s not run: %s", reply->job_id, error);
        free (error);
    }
    for (index = 0; index < count; index++)
        free (argv [index]);
    free (argv);
    for (index = 0; env [index]; index++)
        free (env [index]);
    if (!reply->proc)
        return false;
    zc_debug ("reply of %s: command %s started", reply->job_id, program);
    reply->program = zc_strdup (program);
    zlistx_add_end (self->running, reply);
    return true;
}

static bool s_queued (zlistx_t *list, const char *job_id);

static int
s_on_pump (zloop_t *loop, int timer_id, void *arg)
{
    zc_replyto_t *self = arg;
    self->pump_timer = -1;
    s_pump (self);
    return 0;
}

//  Carries out what waits, in order: files, at most S_WRITES_PER_TURN
//  in a turn of the loop (the rest in the next turns, so that a
//  broadcast's thousand results do not hold the loop), and commands
//  while there is room; a command for a job whose command still runs
//  (for the result it replaced) waits for it.
static void
s_pump (zc_replyto_t *self)
{
    zlist_t *gone = zlist_new (), *files = zlist_new (), *commands = zlist_new ();
    size_t slots = ZC_REPLYTO_RUNNING - zlistx_size (self->running);
    bool more = false;
    //  Chosen first, acted on after: acting looks at the lists.
    for (s_reply_t *reply = zlistx_first (self->waiting); reply; reply = zlistx_next (self->waiting)) {
        const char *node;
        const zc_result_t *result;
        const zc_reply_spec_t *spec = self->lookup (reply->job_id, &node, &result, self->arg);
        zlist_t *into = !spec? gone
                      : spec->method != ZC_REPLY_EXEC? (zlist_size (files) < S_WRITES_PER_TURN? files: NULL)
                      : slots > zlist_size (commands) && !s_queued (self->running, reply->job_id)? commands
                      : NULL;
        more |= spec && spec->method != ZC_REPLY_EXEC && !into;
        if (into) {
            zlistx_detach_cur (self->waiting);
            zlist_append (into, reply);
        }
    }
    s_reply_t *reply;
    while ((reply = zlist_pop (gone)))
        s_finished (self, reply);
    while ((reply = zlist_pop (files))) {
        const char *node;
        const zc_result_t *result;
        const zc_reply_spec_t *spec = self->lookup (reply->job_id, &node, &result, self->arg);
        s_write_reply (self, reply->job_id, node, spec, result);
        s_finished (self, reply);
    }
    while ((reply = zlist_pop (commands))) {
        const char *node;
        const zc_result_t *result;
        const zc_reply_spec_t *spec = self->lookup (reply->job_id, &node, &result, self->arg);
        if (!s_start_command (self, reply, node, spec, result))
            s_finished (self, reply);
    }
    zlist_destroy (&gone);
    zlist_destroy (&files);
    zlist_destroy (&commands);
    if (more && self->pump_timer == -1)
        self->pump_timer = zloop_timer (self->loop, 1, 1, s_on_pump, self);
}

//  True when a reply of 'job_id' is in 'list'.
static bool
s_queued (zlistx_t *list, const char *job_id)
{
    for (s_reply_t *reply = zlistx_first (list); reply; reply = zlistx_next (list))
        if (streq (reply->job_id, job_id))
            return true;
    return false;
}

void
zc_replyto_add (zc_replyto_t *self, const char *job_id)
{
    //  Once is enough: the result is looked up when the reply acts, so
    //  a newer one takes the place of the one it replaced.
    if (s_queued (self->added, job_id) || s_queued (self->waiting, job_id))
        return;
    s_reply_t *reply = zc_calloc (1, sizeof *reply);
    reply->owner = self;
    snprintf (reply->job_id, sizeof reply->job_id, "%s", job_id);
    zlistx_add_end (self->added, reply);
}

void
zc_replyto_committed (zc_replyto_t *self)
{
    s_reply_t *reply;
    while ((reply = zlistx_detach (self->added, NULL)))
        zlistx_add_end (self->waiting, reply);
    s_pump (self);
}

size_t
zc_replyto_pending (zc_replyto_t *self)
{
    return zlistx_size (self->added) + zlistx_size (self->waiting) + zlistx_size (self->running);
}

//  ---------------------------------------------------------------------
//  Self-test

//  A stand-in for the outbox: the jobs whose reply is due, and the
//  replies done, as "ID ID ...".
#define S_TEST_JOBS 128
typedef struct {
    struct {
        char job_id [ZC_JOB_ID_MAX];
        const char *node;
        const zc_reply_spec_t *spec;
        const zc_result_t *result;
    } jobs [S_TEST_JOBS];
    size_t count;
    char done [8192];
} s_test_outbox_t;

static const zc_reply_spec_t *
s_test_lookup (const char *job_id, const char **node, const zc_result_t **result, void *arg)
{
    s_test_outbox_t *outbox = arg;
    for (size_t index = 0; index < outbox->count; index++)
        if (streq (outbox->jobs [index].job_id, job_id) && outbox->jobs [index].spec) {
            *node = outbox->jobs [index].node;
            *result = outbox->jobs [index].result;
            return outbox->jobs [index].spec;
        }
    return NULL;
}

static void
s_test_done (const char *job_id, void *arg)
{
    s_test_outbox_t *outbox = arg;
    strcat (outbox->done, job_id);
    strcat (outbox->done, " ");
    for (size_t index = 0; index < outbox->count; index++)
        if (streq (outbox->jobs [index].job_id, job_id))
            outbox->jobs [index].spec = NULL;       //  not due any more
}

//  A result of job_id is recorded (replacing one of the same job): its
//  reply is due.
static void
s_test_due (s_test_outbox_t *outbox, zc_replyto_t *replyto, const char *job_id, const char *node,
            const zc_reply_spec_t *spec, const zc_result_t *result)
{
    size_t index = 0;
    while (index < outbox->count && !streq (outbox->jobs [index].job_id, job_id))
        index++;
    assert (index < S_TEST_JOBS);
    if (index == outbox->count)
        outbox->count++;
    snprintf (outbox->jobs [index].job_id, ZC_JOB_ID_MAX, "%s", job_id);
    outbox->jobs [index].node = node;
    outbox->jobs [index].spec = spec;
    outbox->jobs [index].result = result;
    zc_replyto_add (replyto, job_id);
}

//  A spec from its parts; args a NULL-terminated array or NULL.
static zc_reply_spec_t
s_test_spec (zc_reply_method_t method, const char *directory, const char *file_name, const char **args)
{
    zc_reply_spec_t spec = { .method = method };
    spec.directory = directory? zc_strdup (directory): NULL;
    spec.file_name = file_name? zc_strdup (file_name): NULL;
    if (args) {
        spec.args = zlist_new ();
        zlist_autofree (spec.args);
        for (; *args; args++)
            zlist_append (spec.args, (void *) *args);
    }
    return spec;
}

//  The whole contents of a file (malloc'd, NUL-terminated; *size the
//  bytes), or NULL.
static char *
s_test_read (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    char *text = zc_malloc (65536);
    *size = fread (text, 1, 65535, file);
    text [*size] = 0;
    fclose (file);
    return text;
}

static int
s_test_give_up (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

static int
s_test_poll (zloop_t *loop, int timer_id, void *arg)
{
    return zc_replyto_pending (arg) == 0? -1: 0;
}

//  Runs the loop until no reply is pending, 10 s at most.
static void
s_test_wait (zloop_t *loop, zc_replyto_t *replyto)
{
    int poll = zloop_timer (loop, 10, 0, s_test_poll, replyto);
    int give_up = zloop_timer (loop, 10000, 1, s_test_give_up, NULL);
    zloop_start (loop);
    zloop_timer_end (loop, poll);
    zloop_timer_end (loop, give_up);
}

//  Paths: the layout, the defaults, and what is refused.
static int
s_test_paths (void)
{
    ZC_TEST_BEGIN;
    const char *job = "01JDQ8AAAAAAAAAAAAAAAAAAAA.web-1";
    struct {
        zc_reply_method_t method;
        const char *directory, *file_name, *path, *field, *error;
    } cases [] = {
        { ZC_REPLY_FILE, NULL, NULL, "/d/results/web-1/01JDQ8AAAAAAAAAAAAAAAAAAAA.out", NULL, NULL },
        { ZC_REPLY_FILE_APPEND, NULL, NULL, "/d/results/web-1/output", NULL, NULL },
        { ZC_REPLY_FILE, "uptime", "now.txt", "/d/results/uptime/web-1/now.txt", NULL, NULL },
        { ZC_REPLY_FILE, "a/./b", "sub/x", "/d/results/a/./b/web-1/sub/x", NULL, NULL },
        { ZC_REPLY_FILE_APPEND, "/srv/out", "log", "/srv/out/web-1/log", NULL, NULL },
        { ZC_REPLY_FILE, "...", "..x", "/d/results/.../web-1/..x", NULL, NULL },
        { ZC_REPLY_FILE, "../etc", NULL, NULL, "directory",
          "\"directory\" must not contain a '..' component: give a directory under the data"
          " directory's results/ (relative), or an absolute one" },
        { ZC_REPLY_FILE, "a/../../b", NULL, NULL, "directory", NULL },
        { ZC_REPLY_FILE, "/srv/..", NULL, NULL, "directory", NULL },
        { ZC_REPLY_FILE, NULL, "/etc/passwd", NULL, "file_name",
          "\"file_name\" must be a relative path: the file goes under \"directory\"/NODE/"
          " (give the directory in \"directory\")" },
        { ZC_REPLY_FILE, NULL, "x/../../y", NULL, "file_name",
          "\"file_name\" must not contain a '..' component: the file stays under \"directory\"/NODE/" },
        { ZC_REPLY_FILE, NULL, "..", NULL, "file_name", NULL },
        { ZC_REPLY_FILE, NULL, "x/", NULL, "file_name", "\"file_name\" must name a file, not a directory" },
        { ZC_REPLY_FILE, NULL, "x/.", NULL, "file_name", NULL },
        { ZC_REPLY_EXEC, NULL, NULL, NULL, "reply_args",
          "reply_method exec needs the command in reply_args: [\"PROGRAM\", \"ARG\", ...], run"
          " without a shell; \"{{DATA}}\" in an argument stands for the result" },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        zc_reply_spec_t spec = s_test_spec (cases [index].method, cases [index].directory,
                                            cases [index].file_name, NULL);
        char *error = NULL;
        const char *field = NULL;
        int rc = zc_replyto_check (&spec, &error, &field);
        ZC_CHECK (rc == (cases [index].field? -1: 0));
        if (cases [index].field)
            ZC_CHECK_STR (field, cases [index].field);
        if (cases [index].error)
            ZC_CHECK_STR (error, cases [index].error);
        free (error);
        error = NULL;
        char *path = zc_replyto_path ("/d", &spec, "web-1", job, &error);
        if (cases [index].path)
            ZC_CHECK_STR (path, cases [index].path);
        else
            ZC_CHECK (path == NULL && error != NULL);
        free (path);
        free (error);
        zc_reply_spec_clear (&spec);
    }
    //  exec: an empty program; no path from a bad node name; a path too long
    const char *empty [] = { "", NULL };
    zc_reply_spec_t spec = s_test_spec (ZC_REPLY_EXEC, NULL, NULL, empty);
    char *error = NULL;
    const char *field;
    ZC_CHECK (zc_replyto_check (&spec, &error, &field) == -1);
    ZC_CHECK_STR (error, "reply_args[0] must name the program that gets the result");
    free (error);
    zc_reply_spec_clear (&spec);
    spec = s_test_spec (ZC_REPLY_FILE, NULL, NULL, NULL);
    char *path = zc_replyto_path ("/d", &spec, "../x", job, &error);
    ZC_CHECK (path == NULL);
    ZC_CHECK_STR (error, "'../x' is not a node name");
    free (error);
    char *deep = zc_malloc (1000);
    memset (deep, 'a', 999);
    deep [999] = 0;
    char *data = zsys_sprintf ("/%s/%s/%s/%s/%s", deep, deep, deep, deep, deep);
    path = zc_replyto_path (data, &spec, "web-1", job, &error);
    ZC_CHECK (path == NULL && error && strstr (error, "is longer than 4095 bytes"));
    free (error);
    free (data);
    free (deep);
    zc_reply_spec_clear (&spec);
    return ZC_TEST_END;
}

//  {{DATA}}: every occurrence, NUL bytes dropped, the bound kept.
static int
s_test_expand (void)
{
    ZC_TEST_BEGIN;
    const uint8_t data [] = { 'a', 0, '\'', '$', '(', 'x', ')', '\n', 0 };
    char *expanded = zc_replyto_expand ("<{{DATA}}|{{DATA}}>{{DATA", data, sizeof data, 100);
    ZC_CHECK_STR (expanded, "<a'$(x)\n|a'$(x)\n>{{DATA");
    free (expanded);
    expanded = zc_replyto_expand ("plain", data, sizeof data, 100);
    ZC_CHECK_STR (expanded, "plain");
    free (expanded);
    expanded = zc_replyto_expand ("{{DATA}}", NULL, 0, 100);
    ZC_CHECK_STR (expanded, "");
    free (expanded);
    ZC_CHECK (zc_replyto_expand ("{{DATA}}{{DATA}}", data, sizeof data, 13) == NULL);
    expanded = zc_replyto_expand ("{{DATA}}{{DATA}}", data, sizeof data, 14);
    ZC_CHECK (expanded && strlen (expanded) == 14);
    free (expanded);
    ZC_CHECK (zc_replyto_expand ("123456", NULL, 0, 5) == NULL);
    return ZC_TEST_END;
}

//  A result of 'size' bytes of 'out' in state 'state'.
static zc_result_t *
s_test_result (zc_state_t state, const char *out, size_t size)
{
    zc_result_t *result = zc_result_new ();
    result->state = state;
    result->exit_code = 3;
    result->finished_ms = 1;
    result->out = zc_malloc (size + 1);
    memcpy (result->out, out, size);
    result->out_size = size;
    return result;
}

//  Replies carried out: files written and appended after the commit, a
//  command fed the result, policy, order and replacement.
static int
s_test_replies (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zcnc-replyto-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    zloop_t *loop = zloop_new ();
    s_test_outbox_t *outbox = zc_calloc (1, sizeof *outbox);
    zc_replyto_t *replyto = zc_replyto_new (loop, dir, "o1", s_test_lookup, s_test_done, outbox);
    zc_replyto_set_exec (replyto, NULL, 5);
    char *error = NULL;

    //  file: nothing before the commit, then exactly the bytes
    const char *job = "01JDQ8AAAAAAAAAAAAAAAAAAAA.n1";
    zc_reply_spec_t file = s_test_spec (ZC_REPLY_FILE, "r", NULL, NULL);
    zc_result_t *bytes = s_test_result (ZC_STATE_DONE, "one\0two\n", 8);
    s_test_due (outbox, replyto, job, "n1", &file, bytes);
    char *path = zsys_sprintf ("%s/results/r/n1/01JDQ8AAAAAAAAAAAAAAAAAAAA.out", dir);
    ZC_CHECK (access (path, F_OK) == -1 && zc_replyto_pending (replyto) == 1);
    zc_replyto_committed (replyto);
    size_t size = 0;
    char *text = s_test_read (path, &size);
    ZC_CHECK (text && size == 8 && memcmp (text, "one\0two\n", 8) == 0);
    free (text);
    ZC_CHECK_STR (outbox->done, "01JDQ8AAAAAAAAAAAAAAAAAAAA.n1 ");
    ZC_CHECK (zc_replyto_pending (replyto) == 0);
    //  replaced, keeping the file's mode; no temporary file left
    chmod (path, 0640);
    zc_result_t *other = s_test_result (ZC_STATE_DONE, "three", 5);
    s_test_due (outbox, replyto, job, "n1", &file, other);
    zc_replyto_committed (replyto);
    struct stat info;
    ZC_CHECK (stat (path, &info) == 0 && (info.st_mode & 0777) == 0640 && info.st_size == 5);
    char *listing = zsys_sprintf ("test $(ls -A %s/results/r/n1 | wc -l) = 1", dir);
    ZC_CHECK (system (listing) == 0);
    free (listing);

    //  file_append: appended; a failed job writes nothing
    zc_reply_spec_t append = s_test_spec (ZC_REPLY_FILE_APPEND, NULL, "log", NULL);
    zc_result_t *a = s_test_result (ZC_STATE_DONE, "a\n", 2), *b = s_test_result (ZC_STATE_DONE, "b\n", 2);
    zc_result_t *failed = s_test_result (ZC_STATE_FAILED, "c\n", 2);
    s_test_due (outbox, replyto, "01JDQ8CCCCCCCCCCCCCCCCCCCC.n2", "n2", &append, a);
    s_test_due (outbox, replyto, "01JDQ8BBBBBBBBBBBBBBBBBBBB.n2", "n2", &append, b);
    s_test_due (outbox, replyto, "01JDQ8DDDDDDDDDDDDDDDDDDDD.n2", "n2", &append, failed);
    zc_replyto_committed (replyto);
    free (path);
    path = zsys_sprintf ("%s/results/n2/log", dir);
    text = s_test_read (path, &size);
    ZC_CHECK_STR (text, "a\nb\n");
    free (text);
    //  A file in the way of the node's directory: logged, done, no crash.
    char *blocker = zsys_sprintf ("%s/results/n3", dir);
    FILE *in_the_way = fopen (blocker, "w");
    if (in_the_way)
        fclose (in_the_way);
    outbox->done [0] = 0;
    s_test_due (outbox, replyto, "01JDQ8EEEEEEEEEEEEEEEEEEEE.n3", "n3", &append, a);
    zc_replyto_committed (replyto);
    ZC_CHECK_STR (outbox->done, "01JDQ8EEEEEEEEEEEEEEEEEEEE.n3 ");
    free (blocker);
    //  Many results at once: 64 files in a turn of the loop, the rest in
    //  the next turns, in order.
    zc_reply_spec_t many = s_test_spec (ZC_REPLY_FILE_APPEND, NULL, "many", NULL);
    zc_result_t *numbers [70];
    char *want = zc_calloc (1, 300);
    for (int index = 0; index < 70; index++) {
        char id [ZC_JOB_ID_MAX], line [8];
        snprintf (id, sizeof id, "01JDQ8NNNNNNNNNNNNNNNNNN%02d.n8", index);
        snprintf (line, sizeof line, "%d\n", index);
        strcat (want, line);
        numbers [index] = s_test_result (ZC_STATE_DONE, line, strlen (line));
        s_test_due (outbox, replyto, id, "n8", &many, numbers [index]);
    }
    zc_replyto_committed (replyto);
    ZC_CHECK (zc_replyto_pending (replyto) == 6);
    s_test_wait (loop, replyto);
    ZC_CHECK (zc_replyto_pending (replyto) == 0);
    free (path);
    path = zsys_sprintf ("%s/results/n8/many", dir);
    text = s_test_read (path, &size);
    ZC_CHECK_STR (text, want);
    free (text);
    free (want);
    for (int index = 0; index < 70; index++)
        zc_result_destroy (&numbers [index]);
    zc_reply_spec_clear (&many);
    outbox->count = 0;

    //  A reply no longer due by the time it acts is dropped quietly.
    zc_replyto_add (replyto, "01JDQ8KKKKKKKKKKKKKKKKKKKK.n3");
    zc_replyto_committed (replyto);
    ZC_CHECK (zc_replyto_pending (replyto) == 0);

    //  exec: stdin exact, {{DATA}} without NULs, the environment; a
    //  newer result replaces one still waiting, and the reply acts once.
    char *out_path = zsys_sprintf ("%s/stdin", dir), *arg_path = zsys_sprintf ("%s/arg", dir);
    char *script = zsys_sprintf ("cat >%s; printf '%%s|%%s|%%s|%%s|%%s' \"$1\" \"$ZCNC_ID\" \"$ZCNC_NODE\""
                                 " \"$ZCNC_STATE\" \"$ZCNC_EXIT\" >>%s", out_path, arg_path);
    const char *args [] = { "/bin/sh", "-c", script, "sh", "[{{DATA}}]", NULL };
    zc_reply_spec_t exec = s_test_spec (ZC_REPLY_EXEC, NULL, NULL, args);
    s_test_due (outbox, replyto, "01JDQ8FFFFFFFFFFFFFFFFFFFF.n4", "n4", &exec, failed);
    static const char awkward [] = "q'\"$(touch x)\n\0z";
    zc_result_t *result = s_test_result (ZC_STATE_DONE, awkward, sizeof awkward - 1);
    s_test_due (outbox, replyto, "01JDQ8FFFFFFFFFFFFFFFFFFFF.n4", "n4", &exec, result);
    ZC_CHECK (zc_replyto_pending (replyto) == 1);
    outbox->done [0] = 0;
    zc_replyto_committed (replyto);
    s_test_wait (loop, replyto);
    ZC_CHECK_STR (outbox->done, "01JDQ8FFFFFFFFFFFFFFFFFFFF.n4 ");
    text = s_test_read (out_path, &size);
    ZC_CHECK (text && size == sizeof awkward - 1 && memcmp (text, awkward, size) == 0);
    free (text);
    text = s_test_read (arg_path, &size);
    ZC_CHECK_STR (text, "[q'\"$(touch x)\nz]|01JDQ8FFFFFFFFFFFFFFFFFFFF.n4|n4|done|3");
    free (text);

    //  A policy that does not allow the command: not run, but done.
    zc_policy_t *policy = zc_policy_parse ("allow o1 exec /bin/true\n", 24, "p", &error);
    ZC_CHECK (policy != NULL);
    zc_replyto_set_policy (replyto, policy);
    ZC_CHECK (zc_replyto_allowed (replyto, &exec, &error) == -1);
    ZC_CHECK (error && strstr (error, "may not run here: no rule in p matched (the policy must allow"
                                      " method exec from o1 itself)"));
    free (error);
    error = NULL;
    unlink (arg_path);
    outbox->done [0] = 0;
    s_test_due (outbox, replyto, "01JDQ8GGGGGGGGGGGGGGGGGGGG.n4", "n4", &exec, a);
    zc_replyto_committed (replyto);
    ZC_CHECK_STR (outbox->done, "01JDQ8GGGGGGGGGGGGGGGGGGGG.n4 ");
    ZC_CHECK (access (arg_path, F_OK) == -1);
    const char *allowed [] = { "/bin/true", NULL };
    zc_reply_spec_t truth = s_test_spec (ZC_REPLY_EXEC, NULL, NULL, allowed);
    ZC_CHECK (zc_replyto_allowed (replyto, &truth, &error) == 0);
    zc_replyto_set_policy (replyto, NULL);
    zc_policy_destroy (&policy);

    //  More commands than may run at once: all run, in turn; one that
    //  cannot start is done too.
    const char *sleeper [] = { "sleep", "0.1", NULL };
    zc_reply_spec_t sleeps = s_test_spec (ZC_REPLY_EXEC, NULL, NULL, sleeper);
    const char *missing [] = { "zc-replyto-test-missing", NULL };
    zc_reply_spec_t absent = s_test_spec (ZC_REPLY_EXEC, NULL, NULL, missing);
    outbox->done [0] = 0;
    for (int index = 0; index < ZC_REPLYTO_RUNNING + 3; index++) {
        char id [ZC_JOB_ID_MAX];
        snprintf (id, sizeof id, "01JDQ8HHHHHHHHHHHHHHHHHH%02d.n5", index);
        s_test_due (outbox, replyto, id, "n5", index == 2? &absent: &sleeps, a);
    }
    zc_replyto_committed (replyto);
    ZC_CHECK (zc_replyto_pending (replyto) == ZC_REPLYTO_RUNNING + 2);
    s_test_wait (loop, replyto);
    ZC_CHECK (zc_replyto_pending (replyto) == 0 && strlen (outbox->done) == (ZC_REPLYTO_RUNNING + 3) * 30);
    //  A result that replaces one whose command runs gets a command of
    //  its own, after it; the reply is done once, at the end.
    const char *counter [] = { "/bin/sh", "-c", script, "sh", "{{DATA}}", NULL };
    zc_reply_spec_t counting = s_test_spec (ZC_REPLY_EXEC, NULL, NULL, counter);
    unlink (arg_path);
    outbox->done [0] = 0;
    s_test_due (outbox, replyto, "01JDQ8MMMMMMMMMMMMMMMMMMMM.n7", "n7", &counting, a);
    zc_replyto_committed (replyto);
    s_test_due (outbox, replyto, "01JDQ8MMMMMMMMMMMMMMMMMMMM.n7", "n7", &counting, b);
    zc_replyto_committed (replyto);
    ZC_CHECK (zc_replyto_pending (replyto) == 2);
    s_test_wait (loop, replyto);
    ZC_CHECK_STR (outbox->done, "01JDQ8MMMMMMMMMMMMMMMMMMMM.n7 ");
    text = s_test_read (arg_path, &size);
    ZC_CHECK_STR (text, "a\n|01JDQ8MMMMMMMMMMMMMMMMMMMM.n7|n7|done|3b\n|01JDQ8MMMMMMMMMMMMMMMMMMMM.n7|n7|done|3");
    free (text);
    //  A command still running when we stop is killed and not done.
    const char *longer [] = { "sleep", "30", NULL };
    zc_reply_spec_t lasting = s_test_spec (ZC_REPLY_EXEC, NULL, NULL, longer);
    outbox->done [0] = 0;
    s_test_due (outbox, replyto, "01JDQ8JJJJJJJJJJJJJJJJJJJJ.n6", "n6", &lasting, a);
    zc_replyto_committed (replyto);
    ZC_CHECK (zc_replyto_pending (replyto) == 1);
    zc_replyto_destroy (&replyto);
    ZC_CHECK (replyto == NULL && outbox->done [0] == 0);

    zc_result_destroy (&bytes);
    zc_result_destroy (&other);
    zc_result_destroy (&a);
    zc_result_destroy (&b);
    zc_result_destroy (&failed);
    zc_result_destroy (&result);
    zc_reply_spec_clear (&file);
    zc_reply_spec_clear (&append);
    zc_reply_spec_clear (&exec);
    zc_reply_spec_clear (&truth);
    zc_reply_spec_clear (&sleeps);
    zc_reply_spec_clear (&absent);
    zc_reply_spec_clear (&counting);
    zc_reply_spec_clear (&lasting);
    free (outbox);
    free (script);
    free (out_path);
    free (arg_path);
    free (path);
    zloop_destroy (&loop);
    char *command = zsys_sprintf ("rm -rf %s", dir);
    ZC_CHECK (system (command) == 0);
    free (command);
    return ZC_TEST_END;
}

int
zc_replyto_test (bool verbose)
{
    ZC_TEST_BEGIN;
    ZC_CHECK (s_test_paths () == 0);
    ZC_CHECK (s_test_expand () == 0);
    ZC_CHECK (s_test_replies (verbose) == 0);
    return ZC_TEST_END;
}
