/*  init.h — `zcnc init hub|agent NAME`: a node's key pair, its config
    file and its data directory, with owners and modes, and the exact
    commands that put its cert where it must go (zcnc(1), INIT).

    Layout under DIR (default SYSCONFDIR/zcnc, where the daemons and the
    clients look for their configs: /etc/zcnc in the Debian package):
    DIR/hub.cfg or DIR/agent.cfg, DIR/keys/ (mode 0700: NAME.cert_secret
    0600, NAME.cert 0644), and the data directory (mode 0700)
    /var/lib/zcnc/NAME, or DIR/data when DIR is given. Nothing is
    replaced: an existing config or key file stops it before anything is
    written.
*/
#ifndef ZC_INIT_H
#define ZC_INIT_H
#include <stdbool.h>
#include <stdio.h>
#include "config.h"

#define ZC_INIT_DIR_DEFAULT   ZC_SYSCONFDIR "/zcnc"
#define ZC_INIT_DATA_DEFAULT  "/var/lib/zcnc"
#define ZC_INIT_BIND_DEFAULT  "tcp://*:7710"

typedef struct {
    bool hub;                   //  a hub, else an agent
    const char *name;
    const char *dir;            //  NULL: ZC_INIT_DIR_DEFAULT
    const char *bind;           //  hub: NULL is ZC_INIT_BIND_DEFAULT
    const char *hub_peer;       //  agent: HUBNAME@ENDPOINT
    const char *hub_dir;        //  agent: the hub's DIR (NULL: ZC_INIT_DIR_DEFAULT)
    const char *user;           //  owner of keys and data, or NULL: whoever runs it
    bool enroll;                //  hub: accept enrollment requests; agent: send one
} zc_init_spec_t;

//  Makes what 'spec' describes and prints to 'out' what was made and
//  the commands to run next. Returns 0; -1 with *error (malloc'd) when
//  it made nothing (a file exists, a bad user) or could not finish.
//  A bad name, endpoint or directory in 'spec' is also such an error:
//  the command line checks them first to exit with its usage status.
int zc_init_node (const zc_init_spec_t *spec, FILE *out, char **error);

//  `zcnc init hub|agent ...`: the arguments after "init"; returns the
//  exit status (0, 1 when it failed, 2 on a usage error).
int zc_cli_init (int argc, char *argv []);

int zc_init_test (bool verbose);
#endif
