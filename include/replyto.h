/*  replyto.h — reply methods at the origin: what the agent that sent a
    job does with its result once the result is recorded (SPEC.md
    "Messages", zcnc-trigger(1) "REPLY METHODS").

    console and none need nothing here: the result is in the outbox, the
    waiting client and `zcnc jobs` show it. The others act once per
    recorded result, after the commit that holds it:

    file, file_append: the job's stdout is written under a directory per
    node (zc_replyto_path): "file" replaces the file atomically (a
    temporary name in the same directory, fsync, rename, fsync of the
    directory), "file_append" appends and fsyncs. Missing directories are
    made, mode 0700 like the rest of zcnc's own. Only a result with state
    done writes; any other final state is logged and writes nothing.

    exec: reply_args is the argv of a local command, run directly, without
    a shell, in a process group of its own, as the agent's jobs run (the
    same user, working directory and clean environment, exec.h), with the
    job's stdout, exactly, on its stdin; every "{{DATA}}" inside an
    argument is replaced by that stdout without its NUL bytes (an argument
    cannot hold one). Its environment adds ZCNC_ID, ZCNC_NODE,
    ZCNC_STATE, ZCNC_EXIT, ZCNC_SIGNAL, ZCNC_ERROR and ZCNC_TRUNCATED. It
    gets reply_timeout seconds; its output goes to the log, cut short, and
    a failure is logged. At most ZC_REPLYTO_RUNNING commands run at once,
    the others wait their turn. With a policy, the command must be allowed
    as method exec from this node itself (zc_replyto_allowed).

    A reply runs at least once: the outbox keeps a "reply pending" mark
    from the commit of the result until zc_replyto_done_fn said it was
    carried out; after a crash or a stop in between, the agent gives the
    reply again at its next start. Failures (a disk full, a command that
    exits non-zero) are logged and count as carried out: they are not
    tried again.
*/
#ifndef ZC_REPLYTO_H
#define ZC_REPLYTO_H
#include <czmq.h>
#include "exec.h"
#include "job.h"
#include "policy.h"

#define ZC_REPLYTO_RUNNING  8           //  reply commands at once
#define ZC_REPLYTO_OUTPUT   4096        //  bytes of a command's stdout or stderr logged
#define ZC_REPLYTO_DATA     "{{DATA}}"  //  the placeholder in reply_args

typedef struct _zc_replyto_t zc_replyto_t;

//  What a reply acts on, asked for when it acts (the module keeps no
//  copy of a result): returns the job's reply spec, with its target in
//  *node and its result in *result (all the owner's, read at once), or
//  NULL when the job's reply is not due (any more).
typedef const zc_reply_spec_t *(zc_replyto_lookup_fn) (const char *job_id, const char **node,
                                                       const zc_result_t **result, void *arg);
//  A job's reply was carried out, or given up with its reason logged:
//  it is not due any more.
typedef void (zc_replyto_done_fn) (const char *job_id, void *arg);

//  Replies of agent 'name' whose relative directories go under
//  DATA/results ('data' is the data directory); command replies run on
//  'loop'. Never NULL.
zc_replyto_t *zc_replyto_new (zloop_t *loop, const char *data, const char *name,
                              zc_replyto_lookup_fn *lookup, zc_replyto_done_fn *done, void *arg);
//  Kills the commands still running (their replies stay pending in the
//  outbox: given again at the next start) and frees.
void zc_replyto_destroy (zc_replyto_t **self_p);
//  How commands run: as the agent's jobs ('context', borrowed; NULL: the
//  exec module's minimal one), at most 'timeout' seconds.
void zc_replyto_set_exec (zc_replyto_t *self, const zc_exec_context_t *context, double timeout);
//  The policy commands are checked against (borrowed; NULL: none).
void zc_replyto_set_policy (zc_replyto_t *self, zc_policy_t *policy);

//  Checks a message's reply fields: a directory with a ".." component, a
//  file_name that is absolute, has a ".." component or names no file,
//  and exec without a command are refused. 0, or -1 with *error malloc'd
//  and *field the message field at fault (static).
int zc_replyto_check (const zc_reply_spec_t *spec, char **error, const char **field);
//  With a policy, whether this node may run the reply command of 'spec'
//  (method exec, from itself, COMMAND the reply_args joined by spaces as
//  written). 0, or -1 with *error malloc'd giving the verdict. Always 0
//  for other reply methods and without a policy.
int zc_replyto_allowed (zc_replyto_t *self, const zc_reply_spec_t *spec, char **error);

//  Where a file reply of job 'job_id' on 'node' writes: an absolute
//  directory D gives D/NODE/FILE, a relative one D gives
//  DATA/results/D/NODE/FILE, none DATA/results/NODE/FILE; FILE is
//  file_name, by default ULID.out (the job's message ID) for file and
//  "output" for file_append. Returns a new string, or NULL with *error
//  malloc'd when the spec fails zc_replyto_check or the path would be
//  longer than PATH_MAX.
char *zc_replyto_path (const char *data, const zc_reply_spec_t *spec, const char *node,
                       const char *job_id, char **error);
//  An argument of a reply command: 'arg' with every "{{DATA}}" replaced
//  by the 'size' bytes of 'data' less their NUL bytes. A new string, or
//  NULL when it would be longer than 'max' bytes.
char *zc_replyto_expand (const char *arg, const uint8_t *data, size_t size, size_t max);

//  Job 'job_id' has a recorded result whose reply is due. It is carried
//  out after zc_replyto_committed (the result must be on disk first), on
//  the result the lookup gives then: a result that replaces one whose
//  reply still waits here is the one acted on, once; one that replaces a
//  result whose command runs gets a command of its own once that ends.
void zc_replyto_add (zc_replyto_t *self, const char *job_id);
//  Everything added so far is on disk: files are written now (at most
//  64 in one turn of the loop, the rest in the next ones), commands start
//  (up to ZC_REPLYTO_RUNNING at once).
void zc_replyto_committed (zc_replyto_t *self);
//  Replies added and not carried out yet (waiting or running).
size_t zc_replyto_pending (zc_replyto_t *self);

int zc_replyto_test (bool verbose);
#endif
