/*  hubctl.h — what a hub tells its operator: the control socket that
    `zcnc hub-status` asks (OpenBSD's ctl pattern) and, with
    hub/metrics, the Prometheus page (zcnc.conf(5)).

    The socket (hub/socket, default DATA/hub.sock; mode 0600, or 0660
    for hub/socket_group) speaks JSON lines like the agent's: a request
    {"op": "status"} (with an optional "tag", echoed) is answered with
    the hub's status object, whose fields zcnc(1) documents ("HUB
    STATUS"). An unknown op is answered with an error; a line that is
    not a JSON object, or longer than ZC_HUBCTL_MAX_LINE, with an error,
    and the connection is closed. Both the answer and the page are made
    from one status object, which the hub fills when asked (hub.c).
*/
#ifndef ZC_HUBCTL_H
#define ZC_HUBCTL_H
#include <czmq.h>
#include <jansson.h>
#include "config.h"

#define ZC_HUBCTL_MAX_LINE  65536       //  bytes in a request line

typedef struct _zc_hubctl_t zc_hubctl_t;

//  The hub's status now: a new object (zcnc(1), "HUB STATUS").
typedef json_t *(zc_hubctl_status_fn) (void *arg);

//  Listens on config->hub_socket and, when config->hub_metrics is set,
//  serves the metrics there. A default socket path too long for a unix
//  socket is logged and gone without. NULL with *error (malloc'd) when
//  it cannot listen.
zc_hubctl_t *zc_hubctl_new (zloop_t *loop, const zc_config_t *config, zc_hubctl_status_fn *status,
                            void *arg, char **error);
void zc_hubctl_destroy (zc_hubctl_t **self_p);

//  The metrics page for a status object: a malloc'd text and its size.
char *zc_hubctl_metrics (json_t *status, size_t *size);

int zc_hubctl_test (bool verbose);
#endif
