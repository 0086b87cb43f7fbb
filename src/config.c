/*  config.c — reads and checks the config files of SPEC.md ("Config files").

    The file is read with zpl.c, so every error can name the file and the
    line. Each known key is a row of s_keys: its kind says how the value is
    checked and its offset where it is stored. Every value is checked here,
    before any of them reaches a czmq setter (which would assert).
*/
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "subject.h"
#include <sys/un.h>
#include <unistd.h>
#include "prelude.h"
#include "config.h"
#include "facts.h"
#include "httpserve.h"
#include "log.h"
#include "zpl.h"
#include "testing.h"

typedef enum {
    S_NAME,             //  a node or hub name
    S_PATH,             //  a file or directory, as written
    S_GROUP,            //  a unix group name
    S_SECONDS,          //  decimal seconds in [min, max]
    S_BYTES,            //  an integer in [min, max]: a size in bytes
    S_COUNT,            //  an integer in [min, max]: a number of things
    S_BIND,             //  an endpoint to bind, appended to a list
    S_PEER,             //  NAME@endpoint to connect to, appended to a list
    S_USER,             //  a unix user name or uid
    S_DIR,              //  an absolute directory
    S_SEARCH_PATH,      //  absolute directories separated by ':' (PATH)
    S_ENV,              //  NAME=VALUE, appended to a list
    S_ENV_NAME,         //  NAME of an environment variable, appended to a list
    S_SWITCH,           //  on or off
    S_DIRECTORY_MODE,   //  on_demand or always (a bool: always)
    S_FOLLOW,           //  PATH SUBJECT, appended to a list
    S_COLLECT,          //  SUBJECT FILE (SUBJECT may be a pattern), appended to a list
    S_LABEL,            //  label KEY = VALUE: "KEY=VALUE" appended to a list
    S_FUNCTION,         //  function NAME = COMMAND: "NAME=COMMAND" appended to a list
    S_LISTEN            //  HOST:PORT to listen on (numeric HOST; httpserve.h)
} s_kind_t;

typedef struct {
    const char *key;    //  "section/name"
    s_kind_t kind;
    size_t offset;      //  of the field in zc_config_t
    bool repeatable;
    double min, max;
} s_key_t;

#define S_FIELD(field) offsetof (zc_config_t, field)
static const s_key_t s_keys [] = {
    //  key                  kind       field                  repeat min  max
    { "zcnc/name",          S_NAME,    S_FIELD (name),         false, 0,   0 },
    { "zcnc/keys",          S_PATH,    S_FIELD (keys),         false, 0,   0 },
    { "zcnc/data",          S_PATH,    S_FIELD (data),         false, 0,   0 },
    { "zcnc/heartbeat",     S_SECONDS, S_FIELD (heartbeat),    false, 0.1, 300 },
    { "zcnc/peer_timeout",  S_SECONDS, S_FIELD (peer_timeout), false, 0.5, 3600 },
    { "zcnc/skew",          S_SECONDS, S_FIELD (skew),         false, 0, 86400 },
    { "zcnc/handshake",     S_SECONDS, S_FIELD (handshake),    false, 1, 3600 },
    { "zcnc/reconnect",     S_SECONDS, S_FIELD (reconnect),    false, 0.01, 600 },
    { "zcnc/reconnect_max", S_SECONDS, S_FIELD (reconnect_max), false, 0.01, 3600 },
    { "zcnc/tcp_keepalive", S_SECONDS, S_FIELD (tcp_keepalive), false, 0, 7200 },
    { "hub/bind",           S_BIND,    S_FIELD (binds),        true,  0,   0 },
    { "hub/uplink",         S_PEER,    S_FIELD (uplinks),      true,  0,   0 },
    //  what a hub holds for one agent, one hub link, all links (flow.h)
    { "hub/peer_budget",    S_BYTES,   S_FIELD (peer_budget),  false, 262144, 1073741824 },
    { "hub/hub_link_budget", S_BYTES,  S_FIELD (hub_link_budget), false, 262144, 4294967296.0 },
    { "hub/total_budget",   S_BYTES,   S_FIELD (total_budget), false, 1048576, 68719476736.0 },
    { "hub/socket",         S_PATH,    S_FIELD (hub_socket),   false, 0,   0 },
    { "hub/socket_group",   S_GROUP,   S_FIELD (hub_socket_group), false, 0, 0 },
    { "hub/metrics",        S_LISTEN,  S_FIELD (hub_metrics),  false, 0,   0 },
    { "hub/metrics_public", S_SWITCH,  S_FIELD (hub_metrics_public), false, 0, 0 },
    { "agent/metrics",      S_LISTEN,  S_FIELD (metrics),      false, 0,   0 },
    { "agent/metrics_public", S_SWITCH, S_FIELD (metrics_public), false, 0, 0 },
    { "agent/hub",          S_PEER,    S_FIELD (hubs),         true,  0,   0 },
    { "agent/socket",       S_PATH,    S_FIELD (socket),       false, 0,   0 },
    { "agent/socket_group", S_GROUP,   S_FIELD (socket_group), false, 0,   0 },
    { "agent/readfolder",   S_PATH,    S_FIELD (readfolder),   false, 0,   0 },
    { "agent/policy",       S_PATH,    S_FIELD (policy),       false, 0,   0 },
    { "agent/startup",      S_PATH,    S_FIELD (startup),      false, 0,   0 },
    { "agent/error_node",   S_NAME,    S_FIELD (error_node),   false, 0,   0 },
    { "agent/error_queue",  S_COUNT,   S_FIELD (error_queue),  false, 1,   1000000 },
    //  stdout and stderr of one job must fit a REPLY (64 MiB): 16 MiB each
    { "agent/max_output",   S_BYTES,   S_FIELD (max_output),   false, 1024, 16777216 },
    { "agent/forget_after", S_SECONDS, S_FIELD (forget_after), false, 60, 3650 * 86400.0 },
    { "agent/results_ttl",  S_SECONDS, S_FIELD (results_ttl),  false, 60, 3650 * 86400.0 },
    { "agent/reply_timeout", S_SECONDS, S_FIELD (reply_timeout), false, 0.1, 86400 },
    { "agent/queue_max_jobs", S_COUNT, S_FIELD (queue_max_jobs), false, 1, 100000000 },
    { "agent/queue_max_bytes", S_BYTES, S_FIELD (queue_max_bytes), false, 1024, 1099511627776.0 },
    { "agent/run_as_user",  S_USER,    S_FIELD (run_as_user),  false, 0,   0 },
    { "agent/run_as_group", S_GROUP,   S_FIELD (run_as_group), false, 0,   0 },
    { "agent/workdir",      S_DIR,     S_FIELD (workdir),      false, 0,   0 },
    { "agent/path",         S_SEARCH_PATH, S_FIELD (job_path), false, 0,   0 },
    { "agent/env",          S_ENV,     S_FIELD (job_env),      true,  0,   0 },
    { "agent/pass_env",     S_ENV_NAME, S_FIELD (pass_env),    true,  0,   0 },
    { "agent/e2e",          S_SWITCH,  S_FIELD (e2e),          false, 0,   0 },
    { "agent/directory",    S_DIRECTORY_MODE, S_FIELD (directory_always), false, 0, 0 },
    { "agent/follow",       S_FOLLOW,  S_FIELD (follow),       true,  0,   0 },
    { "agent/follow_spool", S_BYTES,   S_FIELD (follow_spool), false, 65536, 68719476736.0 },
    { "agent/collect",      S_COLLECT, S_FIELD (collect),      true,  0,   0 },
    { "agent/label",        S_LABEL,   S_FIELD (labels),       true,  0,   0 },
    { "agent/function",     S_FUNCTION, S_FIELD (functions),   true,  0,   0 },
};
#define S_KEY_COUNT (sizeof s_keys / sizeof s_keys [0])

#define S_NAME_RULE "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit; not ALL"
#define S_ENV_NAME_RULE "use letters, digits and '_', not starting with a digit"
#define S_SUN_PATH_SIZE sizeof (((struct sockaddr_un *) 0)->sun_path)

//  True when name matches [A-Za-z0-9][A-Za-z0-9._-]{0,63} and is not ALL
//  (the rule of target.c's zc_name_valid, kept here so config does not
//  depend on the target module).
static bool
s_name_valid (const char *name)
{
    size_t size = strlen (name);
    if (size == 0 || size > 64 || strcmp (name, "ALL") == 0)
        return false;
    for (size_t pos = 0; pos < size; pos++) {
        char c = name [pos];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (pos == 0 || !strchr ("._-", c)))
            return false;
    }
    return true;
}

//  True when name matches [A-Za-z_][A-Za-z0-9_]* (an environment
//  variable a shell can use).
static bool
s_env_name_valid (const char *name, size_t size)
{
    if (size == 0 || (name [0] >= '0' && name [0] <= '9'))
        return false;
    for (size_t pos = 0; pos < size; pos++) {
        char c = name [pos];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

//  Checks an environment variable's name for env and pass_env; the
//  variables zcnc sets per job are not for the config. Returns 0, or -1
//  with *problem set.
static int
s_env_name_check (const char *name, size_t size, const char *entry, char **problem)
{
    if (!s_env_name_valid (name, size))
        return zc_fail (problem, "bad variable name '%.*s'%s%s%s (" S_ENV_NAME_RULE ")",
                       (int) size, name, entry? " in '": "", entry? entry: "", entry? "'": "");
    if ((size == 11 && memcmp (name, "ZCNC_JOB_ID", 11) == 0)
    ||  (size == 11 && memcmp (name, "ZCNC_ORIGIN", 11) == 0))
        return zc_fail (problem, "%.*s is set by zcnc for each job (remove the line)", (int) size, name);
    return 0;
}

//  Checks an env = NAME=VALUE line against the earlier ones. 0 or -1.
static int
s_env_check (zlist_t *earlier, const char *entry, char **problem)
{
    const char *equals = strchr (entry, '=');
    if (!equals)
        return zc_fail (problem, "bad value '%s' (expected NAME=VALUE, e.g. TZ=UTC)", entry);
    size_t size = (size_t) (equals - entry);
    if (s_env_name_check (entry, size, entry, problem))
        return -1;
    for (const char *other = zlist_first (earlier); other; other = zlist_next (earlier))
        if (strncmp (other, entry, size) == 0 && other [size] == '=')
            return zc_fail (problem, "%.*s is set twice (keep one env line for it)", (int) size, entry);
    return 0;
}

//  Checks a PATH: absolute directories separated by ':', none empty (an
//  empty or relative one would look for commands wherever a job runs).
static int
s_search_path_check (const char *value, char **problem)
{
    const char *start = value;
    while (true) {
        size_t size = strcspn (start, ":");
        if (size == 0 || *start != '/')
            return zc_fail (problem, "bad directory '%.*s' in '%s' (give absolute directories"
                           " separated by ':', e.g. /usr/bin:/bin)", (int) size, start, value);
        if (start [size] == 0)
            return 0;
        start += size + 1;
    }
}

//  Checks the PORT of a tcp endpoint.
static const char *
s_port_problem (const char *port, bool binding)
{
    if (strcmp (port, "*") == 0)
        return binding? NULL: "PORT * is only for binding; give the port number to connect to";
    size_t size = strspn (port, "0123456789");
    if (size == 0 || size > 5 || port [size] || atoi (port) < 1 || atoi (port) > 65535)
        return "PORT must be a number from 1 to 65535";
    return NULL;
}

//  Checks a zmq endpoint: tcp://HOST:PORT (HOST may be [IPv6]; HOST and
//  PORT may be * when binding) or ipc://PATH (shorter than sun_path). Returns NULL when good,
//  else a static reason in words a config error can quote.
const char *
zc_endpoint_problem (const char *endpoint, bool binding)
{
    if (!endpoint)
        return "no endpoint";
    if (strncmp (endpoint, "ipc://", 6) == 0) {
        const char *path = endpoint + 6;
        if (*path == 0)
            return "PATH is empty; expected ipc://PATH";
        if (strlen (path) >= S_SUN_PATH_SIZE)
            return "PATH is too long for a unix socket; use fewer than 108 bytes";
        return NULL;
    }
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return "expected tcp://HOST:PORT or ipc://PATH";
    const char *host = endpoint + 6;
    const char *colon;
    if (*host == '[') {
        const char *close = strchr (host, ']');
        if (!close)
            return "missing ']' after an IPv6 HOST; expected tcp://[ADDRESS]:PORT";
        if (close == host + 1)
            return "HOST is empty; expected tcp://HOST:PORT";
        for (const char *c = host + 1; c < close; c++)
            if (!isalnum ((unsigned char) *c) && !strchr (":.%", *c))
                return "bad character in IPv6 HOST; expected tcp://[ADDRESS]:PORT";
        if (close [1] != ':')
            return "expected tcp://HOST:PORT";
        colon = close + 1;
    }
    else {
        colon = strrchr (host, ':');
        if (!colon)
            return "expected tcp://HOST:PORT";
        if (colon == host)
            return "HOST is empty; expected tcp://HOST:PORT";
        if (memchr (host, ':', (size_t) (colon - host)))
            return "an IPv6 HOST needs brackets; expected tcp://[ADDRESS]:PORT";
        if (colon == host + 1 && *host == '*') {
            if (!binding)
                return "HOST * is only for binding; give the host to connect to";
        }
        else {
            for (const char *c = host; c < colon; c++)
                if (!isalnum ((unsigned char) *c) && !strchr ("._-", *c))
                    return "bad character in HOST; expected a host name, an address or [IPv6]";
        }
    }
    return s_port_problem (colon + 1, binding);
}

//  Parses decimal seconds ("2", "0.5", ".5"). Returns 0 or -1 when the
//  text is anything else (signs, exponents, nan and inf included).
static int
s_parse_seconds (const char *text, double *seconds)
{
    double value = 0, scale = 1;
    bool point = false, digits = false;
    for (const char *c = text; *c; c++) {
        if (*c == '.' && !point)
            point = true;
        else
        if (*c >= '0' && *c <= '9' && (c - text) < 20) {
            digits = true;
            if (point)
                value += (*c - '0') * (scale /= 10);
            else
                value = value * 10 + (*c - '0');
        }
        else
            return -1;
    }
    *seconds = value;
    return digits? 0: -1;
}

//  Parses a count of bytes, saturating above 'max'. Returns 0 or -1.
static int
s_parse_bytes (const char *text, double max, size_t *bytes)
{
    size_t size = strspn (text, "0123456789");
    if (size == 0 || text [size])
        return -1;
    double value = 0;
    for (const char *c = text; *c && value <= max; c++)
        value = value * 10 + (*c - '0');
    *bytes = value <= max? (size_t) value: (size_t) max + 1;
    return 0;
}

//  Parses NAME@endpoint into a new peer (the caller frees it and its
//  endpoint). Returns NULL with *problem a malloc'd message otherwise.
static zc_peer_addr_t *
s_parse_peer (const char *value, char **problem)
{
    const char *at = strchr (value, '@');
    if (!at) {
        zc_fail (problem, "bad value '%s' (expected NAME@tcp://HOST:PORT, e.g. hub0@tcp://10.0.0.1:7710)", value);
        return NULL;
    }
    char name [ZC_NAME_SIZE];
    size_t name_size = (size_t) (at - value);
    snprintf (name, sizeof name, "%.*s", (int) (name_size < 64? name_size: 64), value);
    if (name_size > 64 || !s_name_valid (name)) {
        zc_fail (problem, "bad name '%.*s' in '%s' (" S_NAME_RULE ")", (int) name_size, value, value);
        return NULL;
    }
    const char *reason = zc_endpoint_problem (at + 1, false);
    if (reason) {
        zc_fail (problem, "bad endpoint '%s' (%s)", at + 1, reason);
        return NULL;
    }
    zc_peer_addr_t *peer = zc_calloc (1, sizeof (zc_peer_addr_t));
    if (peer) {
        strcpy (peer->name, name);
        peer->endpoint = zc_strdup (at + 1);
    }
    if (!peer || !peer->endpoint) {
        free (peer);
        zc_fail (problem, "out of memory");
        return NULL;
    }
    return peer;
}

//  The bytes the labels and functions of a config add to what the node
//  advertises (facts.h), with 'key' = 'value' more (value NULL: a
//  function named key).
static size_t
s_advert_size (zc_config_t *self, const char *key, const char *value)
{
    size_t size = 2 + zc_facts_entry_size (key, value);
    //  A label "KEY=VALUE" takes u8 + KEY + u16 + VALUE; a function u8 + NAME.
    for (const char *label = zlist_first (self->labels); label; label = zlist_next (self->labels))
        size += 1 + strlen (label) - 1 + 2;
    for (const char *function = zlist_first (self->functions); function;
         function = zlist_next (self->functions))
        size += 1 + (size_t) (strchr (function, '=') - function);
    return size;
}

//  The entry of 'list' ("NAME=...") for 'name', or NULL.
static const char *
s_named_entry (zlist_t *list, const char *name)
{
    size_t size = strlen (name);
    for (const char *entry = zlist_first (list); entry; entry = zlist_next (list))
        if (strncmp (entry, name, size) == 0 && entry [size] == '=')
            return entry;
    return NULL;
}

//  label KEY = VALUE and function NAME = COMMAND: what a node advertises
//  with its directory entry (facts.h) must stay within its bounds.
static int
s_advert_value (zc_config_t *self, const s_key_t *key, const char *name, const char *value,
                char **problem)
{
    bool label = key->kind == S_LABEL;
    const char *what = label? "label": "function";
    const char *rule = label? zc_facts_key_problem (name): s_name_valid (name)? NULL: S_NAME_RULE;
    if (rule)
        return zc_fail (problem, "bad %s name '%s' (%s)", what, name, rule);
    if (label && zc_facts_is_builtin (name))
        return zc_fail (problem, "label %s would hide the built-in fact %s (the built-in facts are"
                        " arch, hostname, kernel, os, os_version and zcnc; use another name)", name, name);
    zlist_t *list = label? self->labels: self->functions;
    if (s_named_entry (list, name))
        return zc_fail (problem, "%s %s is set twice (keep one %s line for it)", what, name, what);
    if (*value == 0)
        return zc_fail (problem, "%s %s has an empty %s (give one, or remove the line)", what, name,
                        label? "value": "command");
    const char *bad = label? zc_facts_value_problem (value): NULL;
    if (bad)
        return zc_fail (problem, "label %s: %s", name, bad);
    size_t most = label? ZC_FACTS_MAX_FACTS - ZC_FACTS_BUILTIN_COUNT: ZC_FACTS_MAX_FUNCTIONS;
    if (zlist_size (list) == most)
        return zc_fail (problem, "more than %zu %ss (at %s %s; remove some)", most, what, what, name);
    if (s_advert_size (self, name, label? value: NULL) > ZC_FACTS_CONFIG_MAX)
        return zc_fail (problem, "the labels and functions take more than %d bytes to advertise"
                        " (at %s %s; shorten or remove some)", ZC_FACTS_CONFIG_MAX, what, name);
    char *entry = zsys_sprintf ("%s=%s", name, value);
    zlist_append (list, entry);
    free (entry);
    return 0;
}

//  Checks one value and stores it in self. Returns 0, or -1 with *problem
//  a malloc'd "problem (what to do)" that the caller prefixes with the
//  file, line and key. 'qualifier' is the word before "=" of a label or
//  function line (NULL for the other keys).
static int
s_set_value (zc_config_t *self, const s_key_t *key, const char *qualifier, const char *value,
             char **problem)
{
    void *field = (char *) self + key->offset;
    switch (key->kind) {
        case S_LABEL:
        case S_FUNCTION:
            return s_advert_value (self, key, qualifier, value, problem);
        case S_NAME:
            if (!s_name_valid (value))
                return zc_fail (problem, "bad name '%s' (" S_NAME_RULE ")", value);
            break;
        case S_PATH:
            if (*value == 0)
                return zc_fail (problem, "empty value (give a path, or remove the line)");
            break;
        case S_GROUP:
            if (*value == 0 || strpbrk (value, " \t:"))
                return zc_fail (problem, "bad group name '%s' (give a unix group, or remove the line)", value);
            break;
        case S_USER:
            if (*value == 0 || strpbrk (value, " \t:"))
                return zc_fail (problem, "bad user name '%s' (give a unix user or uid, or remove the line)", value);
            break;
        case S_DIR:
            if (*value != '/')
                return zc_fail (problem, "'%s' is not an absolute path (give one starting with /, or remove the line)", value);
            break;
        case S_SEARCH_PATH:
            if (s_search_path_check (value, problem))
                return -1;
            break;
        case S_ENV:
        case S_ENV_NAME: {
            zlist_t *list = *(zlist_t **) field;
            if (key->kind == S_ENV && s_env_check (list, value, problem))
                return -1;
            if (key->kind == S_ENV_NAME && s_env_name_check (value, strlen (value), NULL, problem))
                return -1;
            if (zlist_append (list, (char *) value))
                return zc_fail (problem, "out of memory");
            return 0;
        }
        case S_SWITCH:
            if (!streq (value, "on") && !streq (value, "off"))
                return zc_fail (problem, "bad value '%s' (expected on or off)", value);
            *(bool *) field = streq (value, "on");
            return 0;
        case S_FOLLOW:
        case S_COLLECT: {
            //  PATH SUBJECT (the path may hold spaces: the last word is
            //  the subject) or SUBJECT FILE (the first word).
            bool follow = key->kind == S_FOLLOW;
            const char *space = follow? strrchr (value, ' '): strchr (value, ' ');
            if (!space)
                return zc_fail (problem, "bad value '%s' (expected %s)", value,
                                follow? "PATH SUBJECT, e.g. /var/log/syslog logs.web1.syslog"
                                      : "SUBJECT FILE, e.g. logs.> /var/log/zcnc/logs.jsonl");
            char *path = follow? zsys_sprintf ("%.*s", (int) (space - value), value): zc_strdup (space + 1);
            char *subject = follow? zc_strdup (space + 1): zsys_sprintf ("%.*s", (int) (space - value), value);
            const char *what = NULL;
            int rc = 0;
            if (*path != '/')
                rc = zc_fail (problem, "'%s' is not an absolute path", path);
            else
            if (zc_subject_check (subject, !follow, &what) != 0)
                rc = zc_fail (problem, "bad subject '%s': %s", subject, what);
            else
            if (follow && zc_subject_is_system (subject))
                rc = zc_fail (problem, "subjects under $sys. are the hubs' (use another subject)");
            zlist_t *list = *(zlist_t **) field;
            for (const char *other = zlist_first (list); other && rc == 0 && follow; other = zlist_next (list))
                if (streq (strrchr (other, ' ') + 1, subject))
                    rc = zc_fail (problem, "another follow line publishes on %s already (one file per subject)",
                                  subject);
            free (path);
            free (subject);
            if (rc == 0 && zlist_append (list, (char *) value))
                rc = zc_fail (problem, "out of memory");
            return rc;
        }
        case S_DIRECTORY_MODE:
            if (!streq (value, "on_demand") && !streq (value, "always"))
                return zc_fail (problem, "bad value '%s' (expected on_demand or always)", value);
            *(bool *) field = streq (value, "always");
            return 0;
        case S_SECONDS: {
            double seconds;
            if (s_parse_seconds (value, &seconds))
                return zc_fail (problem, "bad value '%s' (expected seconds from %g to %g, e.g. 2 or 0.5)",
                               value, key->min, key->max);
            if (seconds < key->min || seconds > key->max)
                return zc_fail (problem, "%s is out of range (expected seconds from %g to %g)",
                               value, key->min, key->max);
            *(double *) field = seconds;
            return 0;
        }
        case S_BYTES:
        case S_COUNT: {
            const char *unit = key->kind == S_BYTES? "bytes"
                             : streq (key->key, "agent/error_queue")? "events": "jobs";
            size_t bytes;
            if (s_parse_bytes (value, key->max, &bytes))
                return zc_fail (problem, "bad value '%s' (expected a number of %s from %.0f to %.0f)",
                               value, unit, key->min, key->max);
            if (bytes < key->min || bytes > key->max)
                return zc_fail (problem, "%s is out of range (expected %s from %.0f to %.0f)",
                               value, unit, key->min, key->max);
            *(size_t *) field = bytes;
            return 0;
        }
        case S_LISTEN: {
            const char *reason = zc_httpserve_address_problem (value, NULL);
            if (reason)
                return zc_fail (problem, "bad address '%s' (%s)", value, reason);
            break;
        }
        case S_BIND: {
            const char *reason = zc_endpoint_problem (value, true);
            if (reason)
                return zc_fail (problem, "bad endpoint '%s' (%s)", value, reason);
            if (zlist_append (*(zlist_t **) field, (char *) value))
                return zc_fail (problem, "out of memory");
            return 0;
        }
        case S_PEER: {
            zc_peer_addr_t *peer = s_parse_peer (value, problem);
            if (!peer)
                return -1;
            if (zlist_append (*(zlist_t **) field, peer)) {
                free (peer->endpoint);
                free (peer);
                return zc_fail (problem, "out of memory");
            }
            return 0;
        }
    }
    //  The string kinds
    char **string = (char **) field;
    free (*string);
    *string = zc_strdup (value);
    return *string? 0: zc_fail (problem, "out of memory");
}

//  Reads every section of the tree into self; lines [i] gets the line
//  where s_keys [i] was first set. Returns 0 or -1 with *error set.
static int
s_read_tree (zc_config_t *self, zc_zpl_t *root, int *lines, char **error)
{
    const char *path = self->path;
    for (zc_zpl_t *section = zc_zpl_child (root); section; section = zc_zpl_next (section)) {
        const char *section_name = zc_zpl_name (section);
        if (strcmp (section_name, "zcnc") && strcmp (section_name, "hub") && strcmp (section_name, "agent"))
            return zc_fail (error, "%s:%d: unknown key '%s' (the sections are zcnc, hub and agent)",
                           path, zc_zpl_line (section), section_name);
        if (zc_zpl_value (section))
            return zc_fail (error, "%s:%d: %s: a section has no value (put its keys on the lines below, indented 4 spaces)",
                           path, zc_zpl_line (section), section_name);

        for (zc_zpl_t *node = zc_zpl_child (section); node; node = zc_zpl_next (node)) {
            int line = zc_zpl_line (node);
            char key_name [256];
            snprintf (key_name, sizeof key_name, "%s/%s", section_name, zc_zpl_name (node));
            size_t index = 0;
            while (index < S_KEY_COUNT && strcmp (s_keys [index].key, key_name))
                index++;
            if (index == S_KEY_COUNT)
                return zc_fail (error, "%s:%d: unknown key '%s' (see zcnc.conf(5))", path, line, key_name);
            const s_key_t *key = &s_keys [index];
            zc_zpl_t *below = zc_zpl_child (node);
            if (below)
                return zc_fail (error, "%s:%d: unknown key '%s/%s' (%s takes no keys below it)",
                               path, zc_zpl_line (below), key_name, zc_zpl_name (below), key->key);
            const char *value = zc_zpl_value (node);
            const char *qualifier = zc_zpl_qualifier (node);
            bool qualified = key->kind == S_LABEL || key->kind == S_FUNCTION;
            if (qualified && !qualifier)
                return zc_fail (error, "%s:%d: %s: no %s name (write '%s NAME = %s')", path, line,
                               key->key, zc_zpl_name (node), zc_zpl_name (node),
                               key->kind == S_LABEL? "VALUE": "COMMAND");
            if (!qualified && qualifier)
                return zc_fail (error, "%s:%d: %s: '%s' before '=' (write '%s = VALUE')", path, line,
                               key->key, qualifier, zc_zpl_name (node));
            if (!value)
                return zc_fail (error, "%s:%d: %s: no value (write '%s = VALUE')",
                               path, line, key->key, zc_zpl_name (node));
            if (lines [index] && !key->repeatable)
                return zc_fail (error, "%s:%d: %s: repeated (first set on line %d; keep one)",
                               path, line, key->key, lines [index]);
            if (!lines [index])
                lines [index] = line;
            char *problem = NULL;
            if (s_set_value (self, key, qualifier, value, &problem)) {
                zc_fail (error, "%s:%d: %s: %s", path, line, key->key, problem? problem: "out of memory");
                free (problem);
                return -1;
            }
        }
    }
    return 0;
}

static int
s_key_line (const int *lines, const char *key_name)
{
    for (size_t index = 0; index < S_KEY_COUNT; index++)
        if (strcmp (s_keys [index].key, key_name) == 0)
            return lines [index];
    assert (false);
    return 0;
}

//  Parses a uid or gid in digits. Returns 0, or -1 when text is not one.
static int
s_parse_id (const char *text, unsigned long *id)
{
    size_t size = strspn (text, "0123456789");
    if (size == 0 || size > 10 || text [size])
        return -1;
    *id = strtoul (text, NULL, 10);
    return *id < (unsigned long) (uid_t) -1? 0: -1;
}

//  Why a user or group look-up found nothing: "" when there is no such
//  entry (getpwnam(3) lists what errno may then hold), else ": REASON".
static const char *
s_lookup_failure (int error)
{
    static char text [128];
    if (error == 0 || error == ENOENT || error == ESRCH || error == EBADF || error == EPERM)
        return "";
    snprintf (text, sizeof text, ": %s", strerror (error));
    return text;
}

//  Looks up the job user of an agent: run_as_user and run_as_group,
//  else the agent's own user, with the supplementary groups of that
//  user (getgrouplist). Decides whether jobs switch to it, which only
//  root can do. Returns 0 or -1 with *error set.
static int
s_resolve_job_user (zc_config_t *self, const int *lines, char **error)
{
    const char *path = self->path;
    int user_line = s_key_line (lines, "agent/run_as_user");
    int group_line = s_key_line (lines, "agent/run_as_group");
    uid_t own_uid = geteuid ();
    gid_t own_gid = getegid ();
    struct passwd *entry;
    unsigned long id;
    errno = 0;
    if (!self->run_as_user) {
        self->job_uid = own_uid;
        entry = getpwuid (own_uid);
    }
    else
    if (s_parse_id (self->run_as_user, &id) == 0) {
        self->job_uid = (uid_t) id;
        entry = getpwuid (self->job_uid);
    }
    else {
        entry = getpwnam (self->run_as_user);
        if (!entry)
            return zc_fail (error, "%s:%d: agent/run_as_user: no such user '%s'%s (create it, or give an existing user or a uid)",
                           path, user_line, self->run_as_user, s_lookup_failure (errno));
        self->job_uid = entry->pw_uid;
    }
    if (self->run_as_group) {
        struct group *group = NULL;
        if (s_parse_id (self->run_as_group, &id) == 0)
            self->job_gid = (gid_t) id;
        else {
            errno = 0;
            group = getgrnam (self->run_as_group);
            if (!group)
                return zc_fail (error, "%s:%d: agent/run_as_group: no such group '%s'%s (create it, or give an existing group or a gid)",
                               path, group_line, self->run_as_group, s_lookup_failure (errno));
            self->job_gid = group->gr_gid;
        }
        //  getgrnam may have reused the buffer of getpwnam: look again.
        entry = getpwuid (self->job_uid);
    }
    else
    if (entry)
        self->job_gid = entry->pw_gid;
    else
    if (self->run_as_user)
        return zc_fail (error, "%s:%d: agent/run_as_user: uid %s has no passwd entry, hence no primary group (set agent/run_as_group)",
                       path, user_line, self->run_as_user);
    else
        self->job_gid = own_gid;

    //  Name, home and groups of the user; a uid without an entry gets
    //  only the group above.
    //  The groups matter only to jobs that switch (below): an agent that
    //  runs them as itself does not ask for them, which would load every
    //  NSS module (libnss_systemd: a fifth of a megabyte of an idle
    //  agent's memory).
    bool switching = self->run_as_user || self->run_as_group;
    if (entry && entry->pw_name && *entry->pw_name) {
        self->job_user = zc_strdup (entry->pw_name);
        self->job_home = zc_strdup (entry->pw_dir && *entry->pw_dir? entry->pw_dir: "/");
        int count = 16;
        if (!switching) {
            self->job_groups = zc_malloc (sizeof (gid_t));
            self->job_groups [0] = self->job_gid;
            self->job_group_count = 1;
        }
        for (int tries = 0; tries < 8 && switching; tries++) {
            free (self->job_groups);
            self->job_groups = zc_malloc ((size_t) count * sizeof (gid_t));
            if (!self->job_groups)
                break;
            int found = count;
            if (getgrouplist (entry->pw_name, self->job_gid, self->job_groups, &found) != -1) {
                self->job_group_count = (size_t) found;
                break;
            }
            count = found > count? found: count * 2;
        }
    }
    else {
        self->job_user = zsys_sprintf ("%u", (unsigned) self->job_uid);
        self->job_home = zc_strdup ("/");
        self->job_groups = zc_malloc (sizeof (gid_t));
        if (self->job_groups) {
            self->job_groups [0] = self->job_gid;
            self->job_group_count = 1;
        }
    }
    if (!self->job_user || !self->job_home || !self->job_groups || !self->job_group_count)
        return zc_fail (error, "%s: cannot look up the groups of user %s: %s", path,
                       self->job_user? self->job_user: "?", errno? strerror (errno): "out of memory");

    //  Root switches to whatever is set (even to itself: the groups
    //  change); anyone else only runs jobs as itself.
    if (!self->run_as_user && !self->run_as_group)
        return 0;
    if (own_uid == 0) {
        self->job_switch = true;
        return 0;
    }
    if (self->job_uid == own_uid && self->job_gid == own_gid)
        return 0;
    bool user_differs = self->job_uid != own_uid;
    return zc_fail (error, "%s:%d: agent/%s: the agent must run as root to switch jobs to %s %s"
                   " (it runs as uid %u, gid %u; start it as root, or remove the line)",
                   path, user_differs? user_line: group_line,
                   user_differs? "run_as_user": "run_as_group",
                   user_differs? "user": "group",
                   user_differs? self->run_as_user: self->run_as_group,
                   (unsigned) own_uid, (unsigned) own_gid);
}

//  A metrics page on an address that is not loopback tells node names
//  and counts to anyone who connects: only with metrics_public = on.
static int
s_metrics_check (zc_config_t *self, const int *lines, char **error)
{
    for (int hub = 0; hub < 2; hub++) {
        const char *address = hub? self->hub_metrics: self->metrics;
        bool loopback = true;
        if (!address || (hub? self->hub_metrics_public: self->metrics_public))
            continue;
        zc_httpserve_address_problem (address, &loopback);
        if (!loopback)
            return zc_fail (error, "%s:%d: %s/metrics: %s is not a loopback address, and the metrics"
                            " tell node names and counts to anyone who connects (use 127.0.0.1, or"
                            " set %s/metrics_public = on to serve them there)", self->path,
                            s_key_line (lines, hub? "hub/metrics": "agent/metrics"), hub? "hub": "agent",
                            address, hub? "hub": "agent");
    }
    return 0;
}

//  The hub's control socket: DATA/hub.sock unless hub/socket says; a
//  hub whose default path is too long runs without one (it says so),
//  one set too long is an error. 0 or -1 with *error set.
static int
s_hub_socket_check (zc_config_t *self, zc_role_t role, const int *lines, char **error)
{
    if (!self->hub_socket && self->data) {
        size_t size = strlen (self->data);
        self->hub_socket = zsys_sprintf ("%s%shub.sock", self->data,
                                         size && self->data [size - 1] == '/'? "": "/");
        return 0;
    }
    if (role == ZC_ROLE_HUB && self->hub_socket && strlen (self->hub_socket) >= S_SUN_PATH_SIZE)
        return zc_fail (error, "%s:%d: hub/socket: '%s' is %zu bytes, too long for a unix socket"
                        " (use a path shorter than %zu bytes)", self->path, s_key_line (lines, "hub/socket"),
                        self->hub_socket, strlen (self->hub_socket), S_SUN_PATH_SIZE);
    return 0;
}

//  Checks what needs more than one key: timers, required keys, the socket
//  path (defaulting it to DATA/zcnc.sock). Returns 0 or -1 with *error set.
static int
s_check (zc_config_t *self, zc_role_t role, const int *lines, char **error)
{
    const char *path = self->path;
    if (self->peer_timeout <= self->heartbeat) {
        int timeout_line = s_key_line (lines, "zcnc/peer_timeout");
        if (timeout_line)
            return zc_fail (error, "%s:%d: zcnc/peer_timeout: %g must be greater than zcnc/heartbeat (%g) (raise peer_timeout or lower heartbeat)",
                           path, timeout_line, self->peer_timeout, self->heartbeat);
        return zc_fail (error, "%s:%d: zcnc/heartbeat: %g must be less than zcnc/peer_timeout (%g by default) (lower heartbeat or set peer_timeout)",
                       path, s_key_line (lines, "zcnc/heartbeat"), self->heartbeat, self->peer_timeout);
    }
    if (self->reconnect_max < self->reconnect) {
        int max_line = s_key_line (lines, "zcnc/reconnect_max");
        return zc_fail (error, "%s:%d: zcnc/%s: reconnect_max (%g) must not be less than reconnect (%g)",
                       path, max_line? max_line: s_key_line (lines, "zcnc/reconnect"),
                       max_line? "reconnect_max": "reconnect", self->reconnect_max, self->reconnect);
    }
    if (role != ZC_ROLE_CLIENT) {
        const char *required [] = { "name", "keys", "data" };
        for (size_t index = 0; index < 3; index++) {
            char key_name [32];
            snprintf (key_name, sizeof key_name, "zcnc/%s", required [index]);
            if (!s_key_line (lines, key_name))
                return zc_fail (error, "%s: %s is missing (add it under 'zcnc')", path, key_name);
        }
    }
    if (role == ZC_ROLE_HUB && zlist_size (self->binds) == 0)
        return zc_fail (error, "%s: hub/bind is missing (add one or more under 'hub', e.g. bind = tcp://*:7710)", path);
    if (role == ZC_ROLE_AGENT && zlist_size (self->hubs) == 0)
        return zc_fail (error, "%s: agent/hub is missing (add one or more under 'agent', e.g. hub = hub1@tcp://127.0.0.1:7710)", path);
    if (!self->socket && !self->data)
        return zc_fail (error, "%s: zcnc/data is missing (add it under 'zcnc', or set agent/socket)", path);
    if (role == ZC_ROLE_AGENT && s_resolve_job_user (self, lines, error))
        return -1;

    if (s_metrics_check (self, lines, error) != 0 || s_hub_socket_check (self, role, lines, error) != 0)
        return -1;
    bool socket_default = self->socket == NULL;
    if (socket_default) {
        size_t size = strlen (self->data);
        const char *slash = size && self->data [size - 1] == '/'? "": "/";
        if (asprintf (&self->socket, "%s%szcnc.sock", self->data, slash) < 0) {
            self->socket = NULL;
            return zc_fail (error, "%s: out of memory", path);
        }
    }
    size_t size = strlen (self->socket);
    if (role != ZC_ROLE_HUB && size >= S_SUN_PATH_SIZE) {
        if (socket_default)
            return zc_fail (error, "%s:%d: zcnc/data: the socket path '%s' is %zu bytes, too long for a unix socket (set agent/socket to a path shorter than %zu bytes)",
                           path, s_key_line (lines, "zcnc/data"), self->socket, size, S_SUN_PATH_SIZE);
        return zc_fail (error, "%s:%d: agent/socket: '%s' is %zu bytes, too long for a unix socket (use a path shorter than %zu bytes)",
                       path, s_key_line (lines, "agent/socket"), self->socket, size, S_SUN_PATH_SIZE);
    }
    return 0;
}

//  Returns a config with the defaults, owning a copy of path, or NULL.
static zc_config_t *
s_config_new (const char *path)
{
    zc_config_t *self = zc_calloc (1, sizeof (zc_config_t));
    if (!self)
        return NULL;
    self->path = zc_strdup (path);
    self->heartbeat = 2;
    self->peer_timeout = 10;
    self->max_output = 1024 * 1024;
    self->forget_after = 7 * 86400;
    self->results_ttl = 7 * 86400;
    self->reply_timeout = 60;
    self->skew = 300;
    self->e2e = true;
    self->handshake = 30;
    self->reconnect = 0.1;
    self->reconnect_max = 5;
    self->tcp_keepalive = 0;
    self->queue_max_jobs = 100000;
    self->error_queue = 1000;
    self->queue_max_bytes = 1ull << 30;
    self->peer_budget = 4u << 20;
    self->hub_link_budget = 32u << 20;
    self->total_budget = 256u << 20;
    self->binds = zlist_new ();
    self->uplinks = zlist_new ();
    self->hubs = zlist_new ();
    self->job_env = zlist_new ();
    self->pass_env = zlist_new ();
    self->follow = zlist_new ();
    self->collect = zlist_new ();
    self->labels = zlist_new ();
    self->functions = zlist_new ();
    self->follow_spool = 64u << 20;
    if (!self->path || !self->binds || !self->uplinks || !self->hubs
    ||  !self->job_env || !self->pass_env) {
        zc_config_destroy (&self);
        return NULL;
    }
    zlist_autofree (self->follow);
    zlist_autofree (self->collect);
    zlist_autofree (self->labels);
    zlist_autofree (self->functions);
    zlist_autofree (self->binds);
    zlist_autofree (self->job_env);
    zlist_autofree (self->pass_env);
    return self;
}

//  Reads and checks a parsed config for a role; 'path' names it in
//  errors. Returns a new config or NULL with *error set. Takes the tree.
static zc_config_t *
s_config_from_tree (zc_zpl_t **root_p, const char *path, zc_role_t role, char **error)
{
    zc_config_t *self = s_config_new (path);
    if (!self)
        zc_fail (error, "%s: out of memory", path);
    else {
        int lines [S_KEY_COUNT] = { 0 };
        if (s_read_tree (self, *root_p, lines, error) || s_check (self, role, lines, error))
            zc_config_destroy (&self);
    }
    zc_zpl_destroy (root_p);
    return self;
}

//  Loads and checks the config file at path for a role. Returns a new
//  config (the caller destroys it) or NULL with *error a malloc'd
//  "FILE:LINE: key: problem (what to do)" (the caller frees it).
zc_config_t *
zc_config_load (const char *path, zc_role_t role, char **error)
{
    assert (path);
    assert (error);
    *error = NULL;
    zc_zpl_t *root = zc_zpl_load (path, error);
    return root? s_config_from_tree (&root, path, role, error): NULL;
}

//  The same for config text held in memory, named 'origin' in errors.
zc_config_t *
zc_config_parse (const char *text, size_t size, const char *origin, zc_role_t role, char **error)
{
    assert (origin);
    assert (error);
    *error = NULL;
    zc_zpl_t *root = zc_zpl_parse (text, size, origin, error);
    return root? s_config_from_tree (&root, origin, role, error): NULL;
}

//  Returns the file a command reads: option (-c FILE) when given, else
//  $ZCNC_CONFIG when set and not empty, else the role's default (clients
//  read the agent's file). Points into its arguments, the environment or
//  static text.
const char *
zc_config_path (const char *option, zc_role_t role)
{
    if (option)
        return option;
    const char *variable = getenv ("ZCNC_CONFIG");
    if (variable && *variable)
        return variable;
    return role == ZC_ROLE_HUB? ZC_HUB_CONFIG_DEFAULT: ZC_AGENT_CONFIG_DEFAULT;
}

static void
s_peers_destroy (zlist_t **list_p)
{
    if (*list_p) {
        zc_peer_addr_t *peer;
        while ((peer = (zc_peer_addr_t *) zlist_pop (*list_p))) {
            free (peer->endpoint);
            free (peer);
        }
        zlist_destroy (list_p);
    }
}

//  Frees a config and everything it holds, and NULLs the caller's pointer.
void
zc_config_destroy (zc_config_t **self_p)
{
    assert (self_p);
    zc_config_t *self = *self_p;
    if (self) {
        free (self->path);
        free (self->name);
        free (self->keys);
        free (self->data);
        zlist_destroy (&self->binds);
        s_peers_destroy (&self->uplinks);
        s_peers_destroy (&self->hubs);
        free (self->socket);
        free (self->socket_group);
        free (self->hub_socket);
        free (self->hub_socket_group);
        free (self->hub_metrics);
        free (self->metrics);
        free (self->readfolder);
        free (self->policy);
        free (self->startup);
        free (self->error_node);
        free (self->run_as_user);
        free (self->run_as_group);
        free (self->workdir);
        free (self->job_path);
        zlist_destroy (&self->job_env);
        zlist_destroy (&self->pass_env);
        zlist_destroy (&self->follow);
        zlist_destroy (&self->collect);
        zlist_destroy (&self->labels);
        zlist_destroy (&self->functions);
        free (self->job_groups);
        free (self->job_user);
        free (self->job_home);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Self-test

//  Writes text to DIR/NAME; returns the path in a static buffer.
static const char *
s_write (const char *dir, const char *name, const char *text)
{
    static char path [256];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    assert (file);
    fputs (text, file);
    fclose (file);
    return path;
}

//  Loads text as a config for role and checks that it fails with
//  "PATH" followed by want. Returns 0 when it does.
static int
s_expect_error (const char *dir, zc_role_t role, const char *text, const char *want, bool verbose)
{
    ZC_TEST_BEGIN;
    const char *path = s_write (dir, "bad.cfg", text);
    char *error = NULL;
    zc_config_t *config = zc_config_load (path, role, &error);
    ZC_CHECK (config == NULL);
    char full [1024];
    snprintf (full, sizeof full, "%s%s", path, want);
    ZC_CHECK_STR (error, full);
    if (verbose && error)
        printf ("# %s\n", error);
    zc_config_destroy (&config);
    free (error);
    unlink (path);
    return ZC_TEST_END;
}

//  Loads text as a config for role; NULL (and a diagnostic) on error.
static zc_config_t *
s_load_ok (const char *dir, zc_role_t role, const char *text)
{
    const char *path = s_write (dir, "good.cfg", text);
    char *error = NULL;
    zc_config_t *config = zc_config_load (path, role, &error);
    if (!config)
        printf ("# unexpected error: %s\n", error? error: "(null)");
    free (error);
    unlink (path);
    return config;
}

//  label KEY = VALUE and function NAME = COMMAND: what the node
//  advertises, in file order, within its bounds.
static int
s_test_advert_keys (const char *dir, bool verbose)
{
    ZC_TEST_BEGIN;
    const char *head = "zcnc\n    name = n1\n    keys = k\n    data = d\nagent\n    hub = h@tcp://h:1\n";
    char text [8192];
    snprintf (text, sizeof text, "%s"
              "    label env = prod\n"
              "    function machine-info = uname -a\n"
              "    label role = 'web server'   # quoted\n"
              "    function greet = printf 'hello %%s\\n' \"$1\"\n", head);
    zc_config_t *config = s_load_ok (dir, ZC_ROLE_AGENT, text);
    ZC_CHECK (config && zlist_size (config->labels) == 2 && zlist_size (config->functions) == 2);
    if (config) {
        ZC_CHECK_STR ((char *) zlist_first (config->labels), "env=prod");
        ZC_CHECK_STR ((char *) zlist_next (config->labels), "role=web server");
        ZC_CHECK_STR ((char *) zlist_first (config->functions), "machine-info=uname -a");
        ZC_CHECK_STR ((char *) zlist_next (config->functions), "greet=printf 'hello %s\\n' \"$1\"");
    }
    zc_config_destroy (&config);

    struct {
        const char *body;       //  after head (lines 7 on)
        const char *error;      //  after the path
    } bad [] = {
        { "    label = prod\n", ":7: agent/label: no label name (write 'label NAME = VALUE')" },
        { "    function = uname\n", ":7: agent/function: no function name (write 'function NAME = COMMAND')" },
        { "    socket env = x\n", ":7: agent/socket: 'env' before '=' (write 'socket = VALUE')" },
        { "    label os = debian\n", ":7: agent/label: label os would hide the built-in fact os (the built-in"
          " facts are arch, hostname, kernel, os, os_version and zcnc; use another name)" },
        { "    label env = prod\n    label env = test\n",
          ":8: agent/label: label env is set twice (keep one label line for it)" },
        { "    label env = ''\n", ":7: agent/label: label env has an empty value (give one, or remove the line)" },
        { "    label -x = 1\n", ":7: agent/label: bad label name '-x' (a key must start with a letter or digit)" },
        { "    label a*b = 1\n", ":7: agent/label: bad label name 'a*b' (a key holds only letters, digits,"
          " '.', '_' and '-')" },
        { "    label env = caf\xc3\n", ":7: agent/label: label env: a value is not valid UTF-8" },
        { "    function ALL = true\n", ":7: agent/function: bad function name 'ALL' (" S_NAME_RULE ")" },
        { "    function f = a\n    function f = b\n",
          ":8: agent/function: function f is set twice (keep one function line for it)" },
        { "    function f = ''\n", ":7: agent/function: function f has an empty command (give one, or remove"
          " the line)" },
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        snprintf (text, sizeof text, "%s%s", head, bad [index].body);
        ZC_CHECK (s_expect_error (dir, ZC_ROLE_AGENT, text, bad [index].error, verbose) == 0);
    }
    //  Too long a value; too many; too large all together.
    char value [300];
    memset (value, 'v', 257);
    value [257] = 0;
    snprintf (text, sizeof text, "%s    label big = %s\n", head, value);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_AGENT, text,
                              ":7: agent/label: label big: a value longer than 256 bytes", verbose) == 0);
    size_t used = (size_t) snprintf (text, sizeof text, "%s", head);
    for (int index = 0; index < 59; index++)
        used += (size_t) snprintf (text + used, sizeof text - used, "    label k%d = v\n", index);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_AGENT, text,
                              ":65: agent/label: more than 58 labels (at label k58; remove some)", verbose) == 0);
    used = (size_t) snprintf (text, sizeof text, "%s", head);
    for (int index = 0; index < 65; index++)
        used += (size_t) snprintf (text + used, sizeof text - used, "    function f%d = true\n", index);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_AGENT, text,
                              ":71: agent/function: more than 64 functions (at function f64; remove some)",
                              verbose) == 0);
    memset (value, 'v', 250);
    value [250] = 0;
    used = (size_t) snprintf (text, sizeof text, "%s", head);
    for (int index = 0; index < 14; index++)
        used += (size_t) snprintf (text + used, sizeof text - used, "    label k%02d = %s\n", index, value);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_AGENT, text,
                              ":20: agent/label: the labels and functions take more than 3584 bytes to"
                              " advertise (at label k13; shorten or remove some)", verbose) == 0);
    //  One less fits, and so does the whole set with the built-in facts.
    used = (size_t) snprintf (text, sizeof text, "%s", head);
    for (int index = 0; index < 13; index++)
        used += (size_t) snprintf (text + used, sizeof text - used, "    label k%02d = %s\n", index, value);
    config = s_load_ok (dir, ZC_ROLE_AGENT, text);
    ZC_CHECK (config && zlist_size (config->labels) == 13);
    zc_facts_t *facts = zc_facts_new ();
    zc_facts_add_builtin (facts, NULL);
    for (char *label = config? zlist_first (config->labels): NULL; label; label = zlist_next (config->labels)) {
        *strchr (label, '=') = 0;
        ZC_CHECK (zc_facts_set (facts, label, label + strlen (label) + 1, NULL) == 0);
    }
    zframe_t *encoded = zc_facts_encode (facts);
    ZC_CHECK (encoded && zframe_size (encoded) <= ZC_FACTS_MAX_SIZE);
    zframe_destroy (&encoded);
    zc_facts_destroy (&facts);
    zc_config_destroy (&config);
    return ZC_TEST_END;
}

//  The keys of how jobs run, and the look-up of the job user (an agent's
//  config only).
static int
s_test_job_keys (const char *dir, bool verbose)
{
    ZC_TEST_BEGIN;
    const char *head = "zcnc\n    name = n1\n    keys = k\n    data = d\nagent\n    hub = h@tcp://h:1\n";
    char text [1024];

    //  Without run_as keys, jobs run as the agent's own user
    snprintf (text, sizeof text, "%s", head);
    zc_config_t *config = s_load_ok (dir, ZC_ROLE_AGENT, text);
    ZC_CHECK (config);
    if (config) {
        struct passwd *own = getpwuid (geteuid ());
        ZC_CHECK (!config->job_switch && config->job_uid == geteuid ());
        ZC_CHECK (config->run_as_user == NULL && config->run_as_group == NULL);
        ZC_CHECK (config->workdir == NULL && config->job_path == NULL);
        ZC_CHECK (zlist_size (config->job_env) == 0 && zlist_size (config->pass_env) == 0);
        ZC_CHECK (own && streq (config->job_user, own->pw_name) && streq (config->job_home, own->pw_dir));
        ZC_CHECK (own && config->job_gid == own->pw_gid && config->job_group_count >= 1);
        ZC_CHECK (config->e2e);         //  on unless turned off
        zc_config_destroy (&config);
    }
    snprintf (text, sizeof text, "%s    e2e = off\n", head);
    config = s_load_ok (dir, ZC_ROLE_AGENT, text);
    ZC_CHECK (config && !config->e2e);
    zc_config_destroy (&config);

    //  The keys as written; env and pass_env in file order
    snprintf (text, sizeof text, "%s"
              "    workdir = /srv/jobs\n"
              "    path = /opt/bin:/usr/bin:/bin\n"
              "    env = TZ=UTC\n"
              "    pass_env = http_proxy\n"
              "    env = \"GREETING=hello, world = x\"\n"
              "    pass_env = LC_ALL\n"
              "    env = EMPTY=\n", head);
    config = s_load_ok (dir, ZC_ROLE_AGENT, text);
    ZC_CHECK (config);
    if (config) {
        ZC_CHECK_STR (config->workdir, "/srv/jobs");
        ZC_CHECK_STR (config->job_path, "/opt/bin:/usr/bin:/bin");
        ZC_CHECK (zlist_size (config->job_env) == 3 && zlist_size (config->pass_env) == 2);
        ZC_CHECK_STR ((char *) zlist_first (config->job_env), "TZ=UTC");
        ZC_CHECK_STR ((char *) zlist_next (config->job_env), "GREETING=hello, world = x");
        ZC_CHECK_STR ((char *) zlist_next (config->job_env), "EMPTY=");
        ZC_CHECK_STR ((char *) zlist_first (config->pass_env), "http_proxy");
        ZC_CHECK_STR ((char *) zlist_next (config->pass_env), "LC_ALL");
        zc_config_destroy (&config);
    }

    //  Clients and hubs look nobody up
    config = s_load_ok (dir, ZC_ROLE_CLIENT, "agent\n    socket = s\n    run_as_user = zc-no-such-user\n");
    ZC_CHECK (config && config->job_user == NULL && !config->job_switch);
    zc_config_destroy (&config);

    //  Bad values, unknown users and groups
    struct {
        const char *body;       //  after head (lines 7 on)
        const char *error;      //  after the path
    } bad [] = {
        { "    run_as_user = zc-no-such-user\n",
          ":7: agent/run_as_user: no such user 'zc-no-such-user' (create it, or give an existing user or a uid)" },
        { "    run_as_group = zc-no-such-group\n",
          ":7: agent/run_as_group: no such group 'zc-no-such-group' (create it, or give an existing group or a gid)" },
        { "    run_as_user = 4000000\n",
          ":7: agent/run_as_user: uid 4000000 has no passwd entry, hence no primary group (set agent/run_as_group)" },
        { "    run_as_user = 'a b'\n",
          ":7: agent/run_as_user: bad user name 'a b' (give a unix user or uid, or remove the line)" },
        { "    run_as_group = a:b\n",
          ":7: agent/run_as_group: bad group name 'a:b' (give a unix group, or remove the line)" },
        { "    workdir = jobs\n",
          ":7: agent/workdir: 'jobs' is not an absolute path (give one starting with /, or remove the line)" },
        { "    path = /bin::/usr/bin\n",
          ":7: agent/path: bad directory '' in '/bin::/usr/bin' (give absolute directories separated by ':', e.g. /usr/bin:/bin)" },
        { "    path = /bin:bin\n",
          ":7: agent/path: bad directory 'bin' in '/bin:bin' (give absolute directories separated by ':', e.g. /usr/bin:/bin)" },
        { "    path = ''\n",
          ":7: agent/path: bad directory '' in '' (give absolute directories separated by ':', e.g. /usr/bin:/bin)" },
        { "    env = TZ\n", ":7: agent/env: bad value 'TZ' (expected NAME=VALUE, e.g. TZ=UTC)" },
        { "    env = 1X=2\n", ":7: agent/env: bad variable name '1X' in '1X=2' (" S_ENV_NAME_RULE ")" },
        { "    env = =2\n", ":7: agent/env: bad variable name '' in '=2' (" S_ENV_NAME_RULE ")" },
        { "    env = 'A B=2'\n", ":7: agent/env: bad variable name 'A B' in 'A B=2' (" S_ENV_NAME_RULE ")" },
        { "    env = ZCNC_JOB_ID=x\n", ":7: agent/env: ZCNC_JOB_ID is set by zcnc for each job (remove the line)" },
        { "    env = A=1\n    env = B=2\n    env = A=3\n", ":9: agent/env: A is set twice (keep one env line for it)" },
        { "    pass_env = BAD-NAME\n", ":7: agent/pass_env: bad variable name 'BAD-NAME' (" S_ENV_NAME_RULE ")" },
        { "    pass_env = ZCNC_ORIGIN\n", ":7: agent/pass_env: ZCNC_ORIGIN is set by zcnc for each job (remove the line)" },
        { "    run_as_user = root\n    run_as_user = root\n",
          ":8: agent/run_as_user: repeated (first set on line 7; keep one)" },
        { "    e2e = no\n", ":7: agent/e2e: bad value 'no' (expected on or off)" },
        { "    directory = yes\n", ":7: agent/directory: bad value 'yes' (expected on_demand or always)" },
        { "    follow = /var/log/syslog\n",
          ":7: agent/follow: bad value '/var/log/syslog' (expected PATH SUBJECT, e.g. /var/log/syslog logs.web1.syslog)" },
        { "    follow = var/log logs.x\n", ":7: agent/follow: 'var/log' is not an absolute path" },
        { "    follow = /var/log logs.*\n", ":7: agent/follow: bad subject 'logs.*': a wildcard in a subject to publish on" },
        { "    follow = /var/log $sys.x\n", ":7: agent/follow: subjects under $sys. are the hubs' (use another subject)" },
        { "    follow = /a logs.x\n    follow = /b logs.x\n",
          ":8: agent/follow: another follow line publishes on logs.x already (one file per subject)" },
        { "    collect = logs.> log.jsonl\n", ":7: agent/collect: 'log.jsonl' is not an absolute path" },
        { "    follow_spool = 100\n", ":7: agent/follow_spool: 100 is out of range (expected bytes from 65536 to 68719476736)" },
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        snprintf (text, sizeof text, "%s%s", head, bad [index].body);
        ZC_CHECK (s_expect_error (dir, ZC_ROLE_AGENT, text, bad [index].error, verbose) == 0);
    }

    //  Switching users needs root. Root can check that too: as nobody
    //  for a moment (effective ids only, with the directory open to
    //  nobody meanwhile).
    bool root = geteuid () == 0;
    ZC_CHECK (!root || (chmod (dir, 0777) == 0 && setegid (65534) == 0 && seteuid (65534) == 0));
    char want [512];
    snprintf (want, sizeof want, ":7: agent/run_as_user: the agent must run as root to switch jobs to"
              " user root (it runs as uid %u, gid %u; start it as root, or remove the line)",
              (unsigned) geteuid (), (unsigned) getegid ());
    snprintf (text, sizeof text, "%s    run_as_user = root\n", head);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_AGENT, text, want, verbose) == 0);
    snprintf (want, sizeof want, ":8: agent/run_as_group: the agent must run as root to switch jobs to"
              " group 0 (it runs as uid %u, gid %u; start it as root, or remove the line)",
              (unsigned) geteuid (), (unsigned) getegid ());
    snprintf (text, sizeof text, "%s    run_as_user = %u\n    run_as_group = 0\n", head, (unsigned) geteuid ());
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_AGENT, text, want, verbose) == 0);
    //  Its own ids are fine: nothing to switch
    snprintf (text, sizeof text, "%s    run_as_user = %u\n", head, (unsigned) geteuid ());
    config = s_load_ok (dir, ZC_ROLE_AGENT, text);
    ZC_CHECK (config && !config->job_switch && config->job_uid == geteuid ());
    zc_config_destroy (&config);
    ZC_CHECK (!root || (seteuid (0) == 0 && setegid (0) == 0 && chmod (dir, 0700) == 0));
    if (!root) {
        printf ("# SKIP run_as as root: not root\n");
        return ZC_TEST_END;
    }

    //  Root switches to a user by name, with its primary group and its
    //  groups, or to a group given by name or number
    snprintf (text, sizeof text, "%s    run_as_user = nobody\n", head);
    config = s_load_ok (dir, ZC_ROLE_AGENT, text);
    struct passwd *nobody = getpwnam ("nobody");
    ZC_CHECK (config && nobody);
    if (config && nobody) {
        ZC_CHECK (config->job_switch && config->job_uid == nobody->pw_uid && config->job_gid == nobody->pw_gid);
        ZC_CHECK_STR (config->job_user, "nobody");
        ZC_CHECK_STR (config->job_home, nobody->pw_dir);
        gid_t groups [64];
        int count = 64;
        ZC_CHECK (getgrouplist ("nobody", nobody->pw_gid, groups, &count) >= 1);
        ZC_CHECK (config->job_group_count == (size_t) count
                  && memcmp (config->job_groups, groups, (size_t) count * sizeof (gid_t)) == 0);
        ZC_CHECK (config->job_groups [0] == nobody->pw_gid);
        ZC_CHECK_STR (config->run_as_user, "nobody");
    }
    zc_config_destroy (&config);
    snprintf (text, sizeof text, "%s    run_as_group = 4000001\n    run_as_user = nobody\n", head);
    config = s_load_ok (dir, ZC_ROLE_AGENT, text);
    ZC_CHECK (config && config->job_switch && config->job_gid == 4000001);
    ZC_CHECK (config && config->job_group_count >= 1 && config->job_groups [0] == 4000001);
    zc_config_destroy (&config);
    snprintf (text, sizeof text, "%s    run_as_user = 4000000\n    run_as_group = root\n", head);
    config = s_load_ok (dir, ZC_ROLE_AGENT, text);
    ZC_CHECK (config && config->job_switch && config->job_uid == 4000000 && config->job_gid == 0);
    if (config) {
        ZC_CHECK_STR (config->job_user, "4000000");
        ZC_CHECK_STR (config->job_home, "/");
        ZC_CHECK (config->job_group_count == 1 && config->job_groups [0] == 0);
    }
    zc_config_destroy (&config);
    //  Root to root: a switch all the same (the groups are set)
    snprintf (text, sizeof text, "%s    run_as_user = 0\n", head);
    config = s_load_ok (dir, ZC_ROLE_AGENT, text);
    ZC_CHECK (config && config->job_switch && config->job_uid == 0 && streq (config->job_user, "root"));
    zc_config_destroy (&config);
    return ZC_TEST_END;
}

int
zc_config_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-config-test-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);

    //  The sample of SPEC.md, comments and all, read by each role
    const char *sample =
        "zcnc\n"
        "    name = central                     # this process's name\n"
        "    keys = /etc/zcnc/keys              # own NAME.cert_secret + trusted *.cert\n"
        "    data = /var/lib/zcnc/central       # LMDB environment, logs, results\n"
        "hub                                    # read by `zcnc hub`\n"
        "    bind = tcp://*:7710                # repeatable; port * = any free port,\n"
        "                                       # the bound endpoints are written to DATA/endpoints\n"
        "    uplink = hub0@tcp://10.0.0.1:7710  # repeatable: chain to a parent hub;\n"
        "                                       # hub0.cert in keys pins its server key\n"
        "agent                                  # read by `zcnc agent`\n"
        "    hub = hub1@tcp://127.0.0.1:7710    # repeatable\n"
        "    socket = /var/lib/zcnc/central/zcnc.sock   # default: DATA/zcnc.sock\n"
        "    socket_group = zcnc                # optional: socket mode 0660 for that group (default 0600)\n"
        "    readfolder = /var/lib/zcnc/central/in      # optional: JSON files dropped here are sent\n"
        "    policy = /etc/zcnc/policy          # optional: who may run what here\n"
        "    startup = /etc/zcnc/startup.d      # optional: JSON messages submitted at start\n"
        "    error_node = central               # optional: where error events go\n";
    zc_role_t roles [] = { ZC_ROLE_HUB, ZC_ROLE_AGENT, ZC_ROLE_CLIENT };
    for (size_t index = 0; index < 3; index++) {
        zc_config_t *config = s_load_ok (dir, roles [index], sample);
        ZC_CHECK (config);
        if (!config)
            continue;
        ZC_CHECK (strstr (config->path, "/good.cfg") != NULL);
        ZC_CHECK_STR (config->name, "central");
        ZC_CHECK_STR (config->keys, "/etc/zcnc/keys");
        ZC_CHECK_STR (config->data, "/var/lib/zcnc/central");
        ZC_CHECK (config->heartbeat == 2 && config->peer_timeout == 10);
        ZC_CHECK (config->handshake == 30 && config->reconnect == 0.1 && config->reconnect_max == 5);
        ZC_CHECK (config->tcp_keepalive == 0);
        ZC_CHECK (zlist_size (config->binds) == 1);
        ZC_CHECK_STR ((char *) zlist_first (config->binds), "tcp://*:7710");
        ZC_CHECK (zlist_size (config->uplinks) == 1);
        zc_peer_addr_t *peer = (zc_peer_addr_t *) zlist_first (config->uplinks);
        ZC_CHECK (peer);
        if (peer) {
            ZC_CHECK_STR (peer->name, "hub0");
            ZC_CHECK_STR (peer->endpoint, "tcp://10.0.0.1:7710");
        }
        ZC_CHECK (zlist_size (config->hubs) == 1);
        peer = (zc_peer_addr_t *) zlist_first (config->hubs);
        ZC_CHECK (peer);
        if (peer) {
            ZC_CHECK_STR (peer->name, "hub1");
            ZC_CHECK_STR (peer->endpoint, "tcp://127.0.0.1:7710");
        }
        ZC_CHECK_STR (config->socket, "/var/lib/zcnc/central/zcnc.sock");
        ZC_CHECK_STR (config->socket_group, "zcnc");
        ZC_CHECK_STR (config->readfolder, "/var/lib/zcnc/central/in");
        ZC_CHECK_STR (config->policy, "/etc/zcnc/policy");
        ZC_CHECK_STR (config->startup, "/etc/zcnc/startup.d");
        ZC_CHECK_STR (config->error_node, "central");
        ZC_CHECK (config->max_output == 1048576);
        ZC_CHECK (config->forget_after == 604800 && config->results_ttl == 604800);
        ZC_CHECK (config->reply_timeout == 60);
        ZC_CHECK (config->skew == 300);
        ZC_CHECK (config->queue_max_jobs == 100000 && config->queue_max_bytes == 1073741824);
        ZC_CHECK (config->error_queue == 1000);
        zc_config_destroy (&config);
        ZC_CHECK (config == NULL);
    }

    //  A hub: repeated binds and uplinks in file order, the extra keys,
    //  relative paths kept as written, sections split in two
    zc_config_t *config = s_load_ok (dir, ZC_ROLE_HUB,
        "zcnc\n"
        "    name = hub-1.site_a\n"
        "    keys = keys\n"
        "    data = \"./data dir/\"\n"
        "    heartbeat = 0.5\n"
        "    peer_timeout = 3600\n"
        "    handshake = 20\n"
        "    reconnect = 1\n"
        "    reconnect_max = 60\n"
        "    tcp_keepalive = 30\n"
        "hub\n"
        "    bind = tcp://*:7710\n"
        "    bind = tcp://127.0.0.1:*\n"
        "    bind = 'tcp://[::1]:7711'\n"
        "    bind = ipc:///tmp/zcnc.ipc\n"
        "    uplink = hub0@tcp://10.0.0.1:7710\n"
        "    peer_budget = 1048576\n"
        "    total_budget = 1073741824\n"
        "hub\n"
        "    uplink = root@tcp://[fe80::1%eth0]:1\n"
        "agent\n"
        "    max_output = 1024\n");
    ZC_CHECK (config);
    if (config) {
        ZC_CHECK_STR (config->name, "hub-1.site_a");
        ZC_CHECK_STR (config->keys, "keys");
        ZC_CHECK_STR (config->data, "./data dir/");
        ZC_CHECK_STR (config->socket, "./data dir/zcnc.sock");
        ZC_CHECK (config->heartbeat == 0.5);
        ZC_CHECK (config->peer_timeout == 3600);
        ZC_CHECK (config->handshake == 20 && config->reconnect == 1 && config->reconnect_max == 60);
        ZC_CHECK (config->tcp_keepalive == 30);
        ZC_CHECK (config->max_output == 1024);
        ZC_CHECK (config->peer_budget == 1048576 && config->total_budget == 1073741824);
        ZC_CHECK (config->hub_link_budget == 32u << 20);
        const char *binds [] = { "tcp://*:7710", "tcp://127.0.0.1:*", "tcp://[::1]:7711",
                                 "ipc:///tmp/zcnc.ipc" };
        ZC_CHECK (zlist_size (config->binds) == 4);
        char *bind = (char *) zlist_first (config->binds);
        for (size_t index = 0; index < 4 && bind; index++, bind = (char *) zlist_next (config->binds))
            ZC_CHECK_STR (bind, binds [index]);
        ZC_CHECK (zlist_size (config->uplinks) == 2);
        zc_peer_addr_t *peer = (zc_peer_addr_t *) zlist_first (config->uplinks);
        ZC_CHECK (peer && streq (peer->name, "hub0"));
        peer = (zc_peer_addr_t *) zlist_next (config->uplinks);
        ZC_CHECK (peer && streq (peer->name, "root") && streq (peer->endpoint, "tcp://[fe80::1%eth0]:1"));
        ZC_CHECK (zlist_size (config->hubs) == 0);
        ZC_CHECK (config->socket_group == NULL && config->readfolder == NULL && config->policy == NULL);
        ZC_CHECK (config->startup == NULL && config->error_node == NULL);
        zc_config_destroy (&config);
    }

    //  An agent with several hubs, the default socket and the largest values
    config = s_load_ok (dir, ZC_ROLE_AGENT,
        "zcnc\n"
        "    name = n1\n"
        "    keys = /k\n"
        "    data = /var/lib/zcnc/n1\n"
        "    heartbeat = 300\n"
        "agent\n"
        "    hub = hub1@tcp://127.0.0.1:7710\n"
        "    hub = hub2@tcp://example.org:7711\n"
        "    hub = hub3@ipc://@abstract\n"
        "    max_output = 16777216\n"
        "zcnc\n"
        "    peer_timeout = 300.5\n");
    ZC_CHECK (config);
    if (config) {
        ZC_CHECK_STR (config->socket, "/var/lib/zcnc/n1/zcnc.sock");
        ZC_CHECK (config->heartbeat == 300 && config->peer_timeout == 300.5);
        ZC_CHECK (config->max_output == 16777216);
        ZC_CHECK (zlist_size (config->binds) == 0);
        ZC_CHECK (zlist_size (config->hubs) == 3);
        const char *names [] = { "hub1", "hub2", "hub3" };
        const char *endpoints [] = { "tcp://127.0.0.1:7710", "tcp://example.org:7711", "ipc://@abstract" };
        zc_peer_addr_t *peer = (zc_peer_addr_t *) zlist_first (config->hubs);
        for (size_t index = 0; index < 3 && peer; index++, peer = (zc_peer_addr_t *) zlist_next (config->hubs)) {
            ZC_CHECK_STR (peer->name, names [index]);
            ZC_CHECK_STR (peer->endpoint, endpoints [index]);
        }
        zc_config_destroy (&config);
    }

    //  A client needs only a way to the socket
    config = s_load_ok (dir, ZC_ROLE_CLIENT, "agent\n    socket = s.sock\n");
    ZC_CHECK (config && streq (config->socket, "s.sock") && config->name == NULL);
    zc_config_destroy (&config);
    config = s_load_ok (dir, ZC_ROLE_CLIENT, "zcnc\n    data = /d/\n");
    ZC_CHECK (config && streq (config->socket, "/d/zcnc.sock"));
    zc_config_destroy (&config);
    //  A hub does not care how long the agent's socket path would be
    char long_data [200];
    memset (long_data, 'd', sizeof long_data - 1);
    long_data [sizeof long_data - 1] = 0;
    char text [512];
    snprintf (text, sizeof text,
              "zcnc\n    name = h\n    keys = k\n    data = %s\nhub\n    bind = tcp://*:1\n", long_data);
    config = s_load_ok (dir, ZC_ROLE_HUB, text);
    ZC_CHECK (config && config->hub_socket && strlen (config->hub_socket) > 200);
    zc_config_destroy (&config);
    //  ... but a hub/socket set too long is an error.
    snprintf (text, sizeof text, "zcnc\n    name = h\n    keys = k\n    data = d\nhub\n    bind = tcp://*:1\n"
              "    socket = %s\n", long_data);
    char *long_error = NULL;
    config = zc_config_parse (text, strlen (text), "t.cfg", ZC_ROLE_HUB, &long_error);
    ZC_CHECK (config == NULL && long_error && strstr (long_error, "t.cfg:7: hub/socket: 'ddd")
              && strstr (long_error, "' is 199 bytes, too long for a unix socket (use a path shorter than 108 bytes)"));
    free (long_error);
    //  The hub's socket and metrics, and the agent's metrics: off by
    //  default, a loopback address, any address when public.
    config = s_load_ok (dir, ZC_ROLE_HUB, "zcnc\n    name = h\n    keys = k\n    data = /d/\nhub\n    bind = tcp://*:1\n");
    ZC_CHECK (config && streq (config->hub_socket, "/d/hub.sock") && !config->hub_socket_group);
    ZC_CHECK (config && !config->hub_metrics && !config->metrics);
    zc_config_destroy (&config);
    config = s_load_ok (dir, ZC_ROLE_HUB, "zcnc\n    name = h\n    keys = k\n    data = /d\nhub\n    bind = tcp://*:1\n"
                        "    socket = /run/h.sock\n    socket_group = zcnc\n    metrics = [::1]:9710\n"
                        "agent\n    metrics = 10.1.2.3:0\n    metrics_public = on\n");
    ZC_CHECK (config && streq (config->hub_socket, "/run/h.sock") && streq (config->hub_socket_group, "zcnc"));
    ZC_CHECK (config && streq (config->hub_metrics, "[::1]:9710") && !config->hub_metrics_public);
    ZC_CHECK (config && streq (config->metrics, "10.1.2.3:0") && config->metrics_public);
    zc_config_destroy (&config);

    //  Errors: each names the file, the line and the key
    const char *head = "zcnc\n    name = n1\n    keys = k\n    data = d\n";
    struct {
        zc_role_t role;
        const char *body;       //  after head (lines 5 on)
        const char *error;      //  after the path
    } bad [] = {
        { ZC_ROLE_HUB, "hub\n    foo = 1\n", ":6: unknown key 'hub/foo' (see zcnc.conf(5))" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n    bind\n", ":7: hub/bind: no value (write 'bind = VALUE')" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n        x = 1\n", ":7: unknown key 'hub/bind/x' (hub/bind takes no keys below it)" },
        { ZC_ROLE_HUB, "web\n    x = 1\n", ":5: unknown key 'web' (the sections are zcnc, hub and agent)" },
        { ZC_ROLE_HUB, "hub = 1\n", ":5: hub: a section has no value (put its keys on the lines below, indented 4 spaces)" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://x\n", ":6: hub/bind: bad endpoint 'tcp://x' (expected tcp://HOST:PORT)" },
        { ZC_ROLE_HUB, "hub\n    bind = udp://x:1\n", ":6: hub/bind: bad endpoint 'udp://x:1' (expected tcp://HOST:PORT or ipc://PATH)" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://x:0\n", ":6: hub/bind: bad endpoint 'tcp://x:0' (PORT must be a number from 1 to 65535)" },
        { ZC_ROLE_HUB, "hub\n    bind =\n", ":6: hub/bind: bad endpoint '' (expected tcp://HOST:PORT or ipc://PATH)" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n    uplink = tcp://h:1\n",
          ":7: hub/uplink: bad value 'tcp://h:1' (expected NAME@tcp://HOST:PORT, e.g. hub0@tcp://10.0.0.1:7710)" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n    uplink = ALL@tcp://h:1\n",
          ":7: hub/uplink: bad name 'ALL' in 'ALL@tcp://h:1' (" S_NAME_RULE ")" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n    uplink = h@tcp://*:1\n",
          ":7: hub/uplink: bad endpoint 'tcp://*:1' (HOST * is only for binding; give the host to connect to)" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n    peer_budget = 1000\n",
          ":7: hub/peer_budget: 1000 is out of range (expected bytes from 262144 to 1073741824)" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n    total_budget = lots\n",
          ":7: hub/total_budget: bad value 'lots' (expected a number of bytes from 1048576 to 68719476736)" },
        { ZC_ROLE_AGENT, "agent\n    hub = h1@tcp://h:*\n",
          ":6: agent/hub: bad endpoint 'tcp://h:*' (PORT * is only for binding; give the port number to connect to)" },
        { ZC_ROLE_AGENT, "agent\n    hub = @tcp://h:1\n",
          ":6: agent/hub: bad name '' in '@tcp://h:1' (" S_NAME_RULE ")" },
        { ZC_ROLE_AGENT, "zcnc\n    name = n2\n", ":6: zcnc/name: repeated (first set on line 2; keep one)" },
        { ZC_ROLE_AGENT, "agent\n    socket = a\n    socket = b\n", ":7: agent/socket: repeated (first set on line 6; keep one)" },
        { ZC_ROLE_AGENT, "agent\n    error_node = -x\n", ":6: agent/error_node: bad name '-x' (" S_NAME_RULE ")" },
        { ZC_ROLE_AGENT, "agent\n    error_queue = 0\n",
          ":6: agent/error_queue: 0 is out of range (expected events from 1 to 1000000)" },
        { ZC_ROLE_AGENT, "agent\n    error_queue = many\n",
          ":6: agent/error_queue: bad value 'many' (expected a number of events from 1 to 1000000)" },
        { ZC_ROLE_AGENT, "agent\n    policy = ''\n", ":6: agent/policy: empty value (give a path, or remove the line)" },
        { ZC_ROLE_AGENT, "agent\n    socket_group = a b\n", ":6: agent/socket_group: bad group name 'a b' (give a unix group, or remove the line)" },
        { ZC_ROLE_AGENT, "zcnc\n    heartbeat = fast\n",
          ":6: zcnc/heartbeat: bad value 'fast' (expected seconds from 0.1 to 300, e.g. 2 or 0.5)" },
        { ZC_ROLE_AGENT, "zcnc\n    heartbeat = 1e1\n",
          ":6: zcnc/heartbeat: bad value '1e1' (expected seconds from 0.1 to 300, e.g. 2 or 0.5)" },
        { ZC_ROLE_AGENT, "zcnc\n    heartbeat = .\n",
          ":6: zcnc/heartbeat: bad value '.' (expected seconds from 0.1 to 300, e.g. 2 or 0.5)" },
        { ZC_ROLE_AGENT, "zcnc\n    heartbeat = 0.05\n", ":6: zcnc/heartbeat: 0.05 is out of range (expected seconds from 0.1 to 300)" },
        { ZC_ROLE_AGENT, "zcnc\n    heartbeat = 300.01\n", ":6: zcnc/heartbeat: 300.01 is out of range (expected seconds from 0.1 to 300)" },
        { ZC_ROLE_AGENT, "zcnc\n    peer_timeout = 0.4\n", ":6: zcnc/peer_timeout: 0.4 is out of range (expected seconds from 0.5 to 3600)" },
        { ZC_ROLE_AGENT, "zcnc\n    peer_timeout = 2\n",
          ":6: zcnc/peer_timeout: 2 must be greater than zcnc/heartbeat (2) (raise peer_timeout or lower heartbeat)" },
        { ZC_ROLE_AGENT, "zcnc\n    heartbeat = 20\n",
          ":6: zcnc/heartbeat: 20 must be less than zcnc/peer_timeout (10 by default) (lower heartbeat or set peer_timeout)" },
        { ZC_ROLE_AGENT, "zcnc\n    reconnect = 10\n",
          ":6: zcnc/reconnect: reconnect_max (5) must not be less than reconnect (10)" },
        { ZC_ROLE_AGENT, "zcnc\n    reconnect = 1\n    reconnect_max = 0.5\n",
          ":7: zcnc/reconnect_max: reconnect_max (0.5) must not be less than reconnect (1)" },
        { ZC_ROLE_AGENT, "zcnc\n    handshake = 0.5\n", ":6: zcnc/handshake: 0.5 is out of range (expected seconds from 1 to 3600)" },
        { ZC_ROLE_AGENT, "zcnc\n    tcp_keepalive = -1\n",
          ":6: zcnc/tcp_keepalive: bad value '-1' (expected seconds from 0 to 7200, e.g. 2 or 0.5)" },
        { ZC_ROLE_AGENT, "agent\n    max_output = 1023\n",
          ":6: agent/max_output: 1023 is out of range (expected bytes from 1024 to 16777216)" },
        { ZC_ROLE_AGENT, "agent\n    max_output = 99999999999999999999999\n",
          ":6: agent/max_output: 99999999999999999999999 is out of range (expected bytes from 1024 to 16777216)" },
        { ZC_ROLE_AGENT, "agent\n    max_output = 1M\n",
          ":6: agent/max_output: bad value '1M' (expected a number of bytes from 1024 to 16777216)" },
        { ZC_ROLE_AGENT, "agent\n    max_output = -1\n",
          ":6: agent/max_output: bad value '-1' (expected a number of bytes from 1024 to 16777216)" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n    metrics = localhost:9710\n",
          ":7: hub/metrics: bad address 'localhost:9710' (HOST must be a numeric address, e.g. 127.0.0.1 or [::1] (no host names))" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n    metrics = 127.0.0.1\n",
          ":7: hub/metrics: bad address '127.0.0.1' (expected HOST:PORT, e.g. 127.0.0.1:9710)" },
        { ZC_ROLE_AGENT, "agent\n    hub = h@tcp://h:1\n    metrics = 127.0.0.1:70000\n",
          ":7: agent/metrics: bad address '127.0.0.1:70000' (PORT must be a number from 0 (any free port) to 65535)" },
        { ZC_ROLE_AGENT, "agent\n    hub = h@tcp://h:1\n    metrics = 0.0.0.0:9710\n",
          ":7: agent/metrics: 0.0.0.0:9710 is not a loopback address, and the metrics tell node names and"
          " counts to anyone who connects (use 127.0.0.1, or set agent/metrics_public = on to serve them there)" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n    metrics = [::]:1\n    metrics_public = yes\n",
          ":8: hub/metrics_public: bad value 'yes' (expected on or off)" },
        { ZC_ROLE_HUB, "hub\n    bind = tcp://*:1\n    socket_group = a:b\n",
          ":7: hub/socket_group: bad group name 'a:b' (give a unix group, or remove the line)" },
        { ZC_ROLE_HUB, "", ": hub/bind is missing (add one or more under 'hub', e.g. bind = tcp://*:7710)" },
        { ZC_ROLE_AGENT, "hub\n    bind = tcp://*:1\n",
          ": agent/hub is missing (add one or more under 'agent', e.g. hub = hub1@tcp://127.0.0.1:7710)" },
        //  A bad line in the ZPL itself
        { ZC_ROLE_AGENT, "agent\n\thub = h@tcp://h:1\n", ":6: tab in indentation (indent with 4 spaces per level)" },
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        snprintf (text, sizeof text, "%s%s", head, bad [index].body);
        ZC_CHECK (s_expect_error (dir, bad [index].role, text, bad [index].error, verbose) == 0);
    }
    //  Missing required keys, each named with its section
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_HUB, "", ": zcnc/name is missing (add it under 'zcnc')", verbose) == 0);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_AGENT, "zcnc\n    name = n\n    data = d\n",
                              ": zcnc/keys is missing (add it under 'zcnc')", verbose) == 0);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_HUB, "zcnc\n    name = n\n    keys = k\nhub\n    bind = tcp://*:1\n",
                              ": zcnc/data is missing (add it under 'zcnc')", verbose) == 0);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_CLIENT, "zcnc\n    name = n\n",
                              ": zcnc/data is missing (add it under 'zcnc', or set agent/socket)", verbose) == 0);
    //  Unknown keys and bad values are errors for every role
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_CLIENT, "agent\n    socket = s\nhub\n    bind = tcp://x\n",
                              ":4: hub/bind: bad endpoint 'tcp://x' (expected tcp://HOST:PORT)", verbose) == 0);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_CLIENT, "agent\n    socket = s\n    sockett = t\n",
                              ":3: unknown key 'agent/sockett' (see zcnc.conf(5))", verbose) == 0);

    //  Socket paths that do not fit in sun_path
    char want [512];
    snprintf (text, sizeof text, "zcnc\n    data = %s\n", long_data);
    snprintf (want, sizeof want, ":2: zcnc/data: the socket path '%s/zcnc.sock' is 209 bytes, too long for a unix socket (set agent/socket to a path shorter than 108 bytes)",
              long_data);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_CLIENT, text, want, verbose) == 0);
    long_data [108] = 0;
    snprintf (text, sizeof text, "%sagent\n    hub = h@tcp://h:1\n    socket = %s\n", head, long_data);
    snprintf (want, sizeof want, ":7: agent/socket: '%s' is 108 bytes, too long for a unix socket (use a path shorter than 108 bytes)",
              long_data);
    ZC_CHECK (s_expect_error (dir, ZC_ROLE_AGENT, text, want, verbose) == 0);
    long_data [107] = 0;        //  107 bytes and the NUL fit
    snprintf (text, sizeof text, "agent\n    socket = %s\n", long_data);
    config = s_load_ok (dir, ZC_ROLE_CLIENT, text);
    ZC_CHECK (config);
    zc_config_destroy (&config);

    //  A missing file
    char path [300];
    char *error = NULL;
    snprintf (path, sizeof path, "%s/none.cfg", dir);
    ZC_CHECK (zc_config_load (path, ZC_ROLE_HUB, &error) == NULL);
    snprintf (want, sizeof want, "%s: No such file or directory", path);
    ZC_CHECK_STR (error, want);
    free (error);

    //  Endpoints
    struct {
        const char *endpoint;
        bool binding;
        const char *problem;    //  NULL: good
    } endpoints [] = {
        { "tcp://127.0.0.1:7710", false, NULL },
        { "tcp://host-1.example.org:65535", false, NULL },
        { "tcp://[::1]:1", false, NULL },
        { "tcp://*:*", true, NULL },
        { "tcp://eth0:7710", true, NULL },
        { "ipc://zcnc.ipc", false, NULL },
        { "ipc://", true, "PATH is empty; expected ipc://PATH" },
        { "tcp://*:1", false, "HOST * is only for binding; give the host to connect to" },
        { "tcp://[*]:1", true, "bad character in IPv6 HOST; expected tcp://[ADDRESS]:PORT" },
        { "tcp://h:*", false, "PORT * is only for binding; give the port number to connect to" },
        { "tcp://h:65536", true, "PORT must be a number from 1 to 65535" },
        { "tcp://h:077777", true, "PORT must be a number from 1 to 65535" },
        { "tcp://h:", true, "PORT must be a number from 1 to 65535" },
        { "tcp://h:1x", true, "PORT must be a number from 1 to 65535" },
        { "tcp://h", true, "expected tcp://HOST:PORT" },
        { "tcp://:1", true, "HOST is empty; expected tcp://HOST:PORT" },
        { "tcp://[]:1", true, "HOST is empty; expected tcp://HOST:PORT" },
        { "tcp://[::1:1", true, "missing ']' after an IPv6 HOST; expected tcp://[ADDRESS]:PORT" },
        { "tcp://[::1]", true, "expected tcp://HOST:PORT" },
        { "tcp://::1:1", true, "an IPv6 HOST needs brackets; expected tcp://[ADDRESS]:PORT" },
        { "tcp://a b:1", true, "bad character in HOST; expected a host name, an address or [IPv6]" },
        { "tcp://eth0;h:1", false, "bad character in HOST; expected a host name, an address or [IPv6]" },
        { "inproc://x", true, "expected tcp://HOST:PORT or ipc://PATH" },
        { "TCP://h:1", true, "expected tcp://HOST:PORT or ipc://PATH" },
        { NULL, true, "no endpoint" },
    };
    for (size_t index = 0; index < sizeof endpoints / sizeof endpoints [0]; index++) {
        const char *problem = zc_endpoint_problem (endpoints [index].endpoint, endpoints [index].binding);
        if (endpoints [index].problem)
            ZC_CHECK_STR (problem, endpoints [index].problem);
        else
            ZC_CHECK (problem == NULL);
    }
    memset (long_data, 'p', 120);
    memcpy (long_data, "ipc://", 6);
    long_data [6 + 108] = 0;
    ZC_CHECK_STR (zc_endpoint_problem (long_data, true), "PATH is too long for a unix socket; use fewer than 108 bytes");
    long_data [6 + 107] = 0;
    ZC_CHECK (zc_endpoint_problem (long_data, true) == NULL);

    //  Which file: -c, else $ZCNC_CONFIG unless empty, else the role's default
    char *saved = getenv ("ZCNC_CONFIG")? zc_strdup (getenv ("ZCNC_CONFIG")): NULL;
    unsetenv ("ZCNC_CONFIG");
    ZC_CHECK_STR (zc_config_path (NULL, ZC_ROLE_HUB), "/etc/zcnc/hub.cfg");
    ZC_CHECK_STR (zc_config_path (NULL, ZC_ROLE_AGENT), "/etc/zcnc/agent.cfg");
    ZC_CHECK_STR (zc_config_path (NULL, ZC_ROLE_CLIENT), "/etc/zcnc/agent.cfg");
    setenv ("ZCNC_CONFIG", "", 1);
    ZC_CHECK_STR (zc_config_path (NULL, ZC_ROLE_HUB), "/etc/zcnc/hub.cfg");
    setenv ("ZCNC_CONFIG", "env.cfg", 1);
    ZC_CHECK_STR (zc_config_path (NULL, ZC_ROLE_HUB), "env.cfg");
    ZC_CHECK_STR (zc_config_path (NULL, ZC_ROLE_CLIENT), "env.cfg");
    ZC_CHECK_STR (zc_config_path ("opt.cfg", ZC_ROLE_AGENT), "opt.cfg");
    if (saved)
        setenv ("ZCNC_CONFIG", saved, 1);
    else
        unsetenv ("ZCNC_CONFIG");
    free (saved);

    ZC_CHECK (s_test_job_keys (dir, verbose) == 0);
    ZC_CHECK (s_test_advert_keys (dir, verbose) == 0);
    ZC_CHECK (rmdir (dir) == 0);
    return ZC_TEST_END;
}
