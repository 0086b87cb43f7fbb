/*  daemon.c — the set-up the hub and the agent share (daemon.h). */
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "prelude.h"
#include "daemon.h"
#include "dirs.h"
#include "dirwatch.h"
#include "log.h"
#include "signals.h"
#include "uplink.h"

#define S_KEYS_CHECK_MS 1000        //  how often the keys directory is checked for changes

static int s_signal_fd = -1;

struct _zc_daemon_t {
    const zc_config_t *config;
    zloop_t *loop;
    zc_keyring_t *keyring;
    uint64_t keys_stamp;        //  of the keys directory when it was read
    zc_dirwatch_t *keys_watch;  //  says when to compare the stamp
    zc_daemon_fn *on_keys, *on_hangup;
    void *arg;
    zmq_pollitem_t signal_item;
    int keys_timer;
    zsock_t *pipe;              //  as an actor: its pipe, else NULL
    zc_daemon_command_fn *on_command;
};

//  A hub holds a descriptor per connected peer, and the soft limit is
//  often 1024 (systemd's default for services): raised to the hard one.
static void
s_raise_descriptor_limit (void)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max)
        return;
    rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit (RLIMIT_NOFILE, &limit) == 0)
        zc_debug ("descriptors: limit raised from %llu to %llu", (unsigned long long) before,
                  (unsigned long long) limit.rlim_cur);
}

size_t
zc_daemon_descriptor_limit (void)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return SIZE_MAX;
    return (size_t) limit.rlim_cur;
}

int
zc_daemon_init (void)
{
    s_raise_descriptor_limit ();
    s_signal_fd = zc_signals_open ();
    if (s_signal_fd == -1) {
        zc_error ("cannot set up signal handling: %s", strerror (errno));
        return -1;
    }
    zsys_init ();
    zsys_handler_set (NULL);
    zc_uplink_seed_random ();
    return 0;
}

int
zc_daemon_signal_fd (void)
{
    return s_signal_fd;
}

//  Each hub of 'hubs' has its cert in the keys directory. 0, or -1.
static int
s_check_pins (const zc_config_t *config, zlist_t *hubs, const char *key_name, char **error)
{
    for (zc_peer_addr_t *hub = hubs? zlist_first (hubs): NULL; hub; hub = zlist_next (hubs)) {
        char *path = zsys_sprintf ("%s/%s.cert", config->keys, hub->name);
        zc_key_t key;
        char *problem = NULL;
        int rc = zc_key_load (path, &key, &problem);
        free (path);
        if (rc != 0) {
            zc_fail (error, "%s: %s: cannot pin the key of hub %s: %s", config->path, key_name,
                     hub->name, problem);
            free (problem);
            return -1;
        }
    }
    return 0;
}

int
zc_daemon_check (const zc_config_t *config, char **error)
{
    zcert_t *cert = zc_key_load_own (config->keys, config->name, error);
    if (!cert)
        return -1;
    zcert_destroy (&cert);
    zc_keyring_t *keyring = zc_keyring_load (config->keys, error);
    if (!keyring)
        return -1;
    zc_keyring_destroy (&keyring);
    //  The certs that pin the keys of the hubs we dial.
    if (s_check_pins (config, config->hubs, "agent/hub", error) != 0
    ||  s_check_pins (config, config->uplinks, "hub/uplink", error) != 0)
        return -1;
    char *problem = zc_dirs_problem (config->data);
    if (problem) {
        zc_fail (error, "%s: zcnc/data: cannot create the data directory %s: %s",
                 config->path, config->data, problem);
        free (problem);
        return -1;
    }
    return 0;
}

//  Reads the keys directory again; a broken one keeps the old table.
static void
s_keys_reload (zc_daemon_t *self, const char *why)
{
    if (zc_keyring_reload (&self->keyring, &self->keys_stamp, self->config->keys, why)
    &&  self->on_keys)
        self->on_keys (self->arg);
}

static int
s_keys_timer (zloop_t *loop, int timer_id, void *arg)
{
    zc_daemon_t *self = arg;
    if (zc_dirwatch_changed (self->keys_watch)
    &&  zc_keyring_dir_stamp (self->config->keys) != self->keys_stamp)
        s_keys_reload (self, "keys directory changed");
    return 0;
}

static int
s_signal_event (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_daemon_t *self = arg;
    int signal = zc_signals_read (item->fd);
    if (signal == SIGHUP) {
        s_keys_reload (self, "SIGHUP");
        if (self->on_hangup)
            self->on_hangup (self->arg);
        return 0;
    }
    if (signal) {
        zc_info ("stopping on signal %d", signal);
        return -1;
    }
    return 0;
}

zc_daemon_t *
zc_daemon_new (zloop_t *loop, const zc_config_t *config, zc_daemon_fn *on_keys,
               zc_daemon_fn *on_hangup, void *arg, char **error)
{
    if (zc_dirs_make (config->data, error) != 0)
        return NULL;
    //  The stamp before the reading: a change during it is seen next time.
    zc_dirwatch_t *keys_watch = zc_dirwatch_new (config->keys);
    zc_dirwatch_changed (keys_watch);
    uint64_t stamp = zc_keyring_dir_stamp (config->keys);
    zc_keyring_t *keyring = zc_keyring_load (config->keys, error);
    if (!keyring) {
        zc_dirwatch_destroy (&keys_watch);
        return NULL;
    }
    zc_daemon_t *self = zc_calloc (1, sizeof *self);
    self->keys_watch = keys_watch;
    self->config = config;
    self->loop = loop;
    self->keyring = keyring;
    self->keys_stamp = stamp;
    self->on_keys = on_keys;
    self->on_hangup = on_hangup;
    self->arg = arg;
    self->keys_timer = zloop_timer (loop, S_KEYS_CHECK_MS, 0, s_keys_timer, self);
    if (s_signal_fd != -1) {
        self->signal_item = (zmq_pollitem_t) { .fd = s_signal_fd, .events = ZMQ_POLLIN };
        zloop_poller (loop, &self->signal_item, s_signal_event, self);
    }
    return self;
}

void
zc_daemon_destroy (zc_daemon_t **self_p)
{
    zc_daemon_t *self = *self_p;
    if (!self)
        return;
    zloop_timer_end (self->loop, self->keys_timer);
    if (self->pipe)
        zloop_reader_end (self->loop, self->pipe);
    if (s_signal_fd != -1)
        zloop_poller_end (self->loop, &self->signal_item);
    zc_keyring_destroy (&self->keyring);
    zc_dirwatch_destroy (&self->keys_watch);
    free (self);
    *self_p = NULL;
}

zc_keyring_t *
zc_daemon_keyring (zc_daemon_t *self)
{
    return self->keyring;
}

bool
zc_daemon_refresh (zc_daemon_t *self, const char *name)
{
    char *path = zsys_sprintf ("%s/%s.cert", self->config->keys, name);
    struct stat st;
    bool present = stat (path, &st) == 0;
    free (path);
    if (!present || !zc_dirwatch_changed (self->keys_watch)
    ||  zc_keyring_dir_stamp (self->config->keys) == self->keys_stamp)
        return false;
    uint64_t before = self->keys_stamp;
    s_keys_reload (self, "a cert was added");
    return self->keys_stamp != before;
}

//  ---------------------------------------------------------------------
//  As an actor

static int
s_pipe_event (zloop_t *loop, zsock_t *pipe, void *arg)
{
    zc_daemon_t *self = arg;
    char *command = zstr_recv (pipe);
    bool stop = !command || streq (command, "$TERM");
    if (!stop && self->on_command)
        self->on_command (command, pipe, self->arg);
    zstr_free (&command);
    return stop? -1: 0;
}

int
zc_daemon_actor_start (zsock_t *pipe, zc_daemon_t *self, char **error,
                       zc_daemon_command_fn *on_command)
{
    if (!self) {
        zc_error ("%s", *error? *error: "cannot start");
        free (*error);
        *error = NULL;
        zsock_signal (pipe, 0);         //  zactor_new waits for it
        zstr_send (pipe, "1");
        return -1;
    }
    self->on_command = on_command;
    self->pipe = pipe;
    zloop_reader (self->loop, pipe, s_pipe_event, self);
    zsock_signal (pipe, 0);
    zstr_send (pipe, "0");
    return 0;
}
