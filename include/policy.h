/*  policy.h — the policy file of SPEC.md ("Policy file") and
    zcnc-policy(5): which origin may run which method and command here.

    One rule per line, "allow|deny FROM METHOD [COMMAND]". The first rule
    whose FROM, METHOD and COMMAND patterns all match a job decides; when
    none does, the job is denied. Wildcards in a COMMAND pattern never match
    a shell metacharacter, except a COMMAND of exactly "*" (any command).
    Whether a policy applies at all (the agent's "policy" key) is the
    caller's business: without one, every trusted origin may run anything.
*/
#ifndef ZC_POLICY_H
#define ZC_POLICY_H
#include <stdbool.h>
#include <stddef.h>

typedef struct _zc_policy_t zc_policy_t;

//  Parses policy text of 'size' bytes; 'origin' (the file's path) names it
//  in errors and verdicts. An empty policy is valid and denies everything.
//  Returns NULL with *error a malloc'd "ORIGIN:LINE: problem (what to do)"
//  message, which the caller frees.
zc_policy_t *zc_policy_parse (const char *text, size_t size, const char *origin, char **error);

//  Reads and parses a policy file of at most 1 MiB. Returns NULL with
//  *error malloc'd; "PATH: cannot read: REASON" when it cannot be read.
zc_policy_t *zc_policy_load (const char *path, char **error);

//  Frees the policy and sets *self_p to NULL; nothing when it is NULL.
void zc_policy_destroy (zc_policy_t **self_p);

//  The number of rules.
size_t zc_policy_size (zc_policy_t *self);

typedef struct {
    bool allowed;
    //  "allowed by /etc/zcnc/policy:2 (allow central exec *)",
    //  "denied by /etc/zcnc/policy:7 (deny * *)" or "no rule in
    //  /etc/zcnc/policy matched"; cut with "..." to fit, always UTF-8.
    char reason [256];
} zc_policy_verdict_t;

//  Decides whether node 'origin' may run 'method' ("exec", "tail", ...)
//  with 'command': the shell command of exec and exec_stream, the path of
//  tail, the url of http_get, the source path of copy; NULL or "" for the
//  other methods. An unknown method matches no rule, so it is denied.
void zc_policy_check (zc_policy_t *self, const char *origin, const char *method,
                      const char *command, zc_policy_verdict_t *verdict);

int zc_policy_test (bool verbose);
#endif
