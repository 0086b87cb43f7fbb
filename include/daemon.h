/*  daemon.h — what the hub and the agent share around their loops: the
    process set-up (signals, czmq, rand), the data directory, and the
    keys directory, watched and read again when it changes.

    main() calls zc_daemon_init first; a daemon object (zc_hub_t,
    zc_agent_t) then makes one zc_daemon_t on its loop, which owns the
    trusted-keys table. Without zc_daemon_init (a self-test running
    daemons as actors in one process) no signal is watched.
*/
#ifndef ZC_DAEMON_H
#define ZC_DAEMON_H
#include <czmq.h>
#include "config.h"
#include "keys.h"

//  Once per process, before any ZeroMQ context or thread exists: blocks
//  SIGTERM, SIGINT and SIGHUP for every thread (they are read from a
//  signalfd in the loop), starts czmq without its signal handler, and
//  seeds rand() from libsodium (libzmq spreads reconnects with it, and
//  czmq seeds it with the time in seconds: peers started in the same
//  second would all come back at the same moment after a hub restart).
//  0, or -1 when the signals cannot be set up (logged).
int zc_daemon_init (void);
//  The process's limit on open descriptors (raised to its hard limit by
//  zc_daemon_init), SIZE_MAX when unlimited.
size_t zc_daemon_descriptor_limit (void);

//  What start-up with 'config' would fail on, for `-n`: the keys
//  directory unreadable, this node's own key pair missing or broken, the
//  data directory impossible to create. 0, or -1 with *error malloc'd.
int zc_daemon_check (const zc_config_t *config, char **error);

typedef struct _zc_daemon_t zc_daemon_t;
typedef void (zc_daemon_fn) (void *arg);

//  Creates the data directory (with its parents, 0700) and reads the
//  keys directory. From then on, on 'loop': the keys directory is read
//  again when it changed (checked every second) and on SIGHUP, and
//  on_keys is called after every such reading; SIGHUP also calls
//  on_hangup (may be NULL); SIGTERM and SIGINT end the loop. NULL with
//  *error when the data directory cannot be made or the keys directory
//  read.
zc_daemon_t *zc_daemon_new (zloop_t *loop, const zc_config_t *config, zc_daemon_fn *on_keys,
                            zc_daemon_fn *on_hangup, void *arg, char **error);
void zc_daemon_destroy (zc_daemon_t **self_p);
//  The current trusted-keys table (replaced by every reading: do not
//  keep pointers into it across a turn of the loop).
zc_keyring_t *zc_daemon_keyring (zc_daemon_t *self);
//  A peer 'name' is not in the keyring: when KEYS/NAME.cert exists and
//  the directory changed since it was read, reads it now (on_keys is
//  called). True when it did. Cheap when there is no such file: one stat.
bool zc_daemon_refresh (zc_daemon_t *self, const char *name);
//  For a daemon run as a czmq actor (the self-tests): after its _new,
//  with its zc_daemon_t, or NULL when _new failed (*error is then logged
//  and freed). Signals the pipe (zactor_new waits for that), sends "0"
//  when started or "1" when not, and, once started,
//  watches it on the daemon's loop: "$TERM" ends the loop; any other
//  command goes to on_command (may be NULL) with the daemon's 'arg',
//  which answers on the pipe. 0 when the caller should run its loop, -1
//  when it could not start.
typedef void (zc_daemon_command_fn) (const char *command, zsock_t *pipe, void *arg);
int zc_daemon_actor_start (zsock_t *pipe, zc_daemon_t *self, char **error,
                           zc_daemon_command_fn *on_command);
//  The process-wide signalfd made by zc_daemon_init, or -1.
int zc_daemon_signal_fd (void);
#endif
