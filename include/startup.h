/*  startup.h — the agent's startup folder (the `startup` key): the JSON
    messages in it are submitted once each time the agent starts.

    The files are read as the drop folder's are (readfolder.h): only
    names ending in ".json" and not starting with "."; each holds one
    message, an array of them, or one per line (zc_message_split); at
    most ZC_READFOLDER_MAX_FILE bytes. Unlike the drop folder's, they are
    read in name order (10-a.json before 20-b.json), through symbolic
    links, and left where they are: they are submitted again at the next
    start.

    A file that cannot be read or parsed is logged as an error naming it,
    and none of its messages is submitted; a message that is refused is
    logged with its place in its file. Either way every other message and
    file is still submitted. A message that cannot be taken now (a full
    queue, the node directory on its way) waits, with those after it, and
    is tried again every interval until it can.
*/
#ifndef ZC_STARTUP_H
#define ZC_STARTUP_H
#include <stdbool.h>
#include <czmq.h>
#include "readfolder.h"

typedef struct _zc_startup_t zc_startup_t;

//  NULL when 'dir' is a folder this process can read; else a malloc'd
//  reason ("/etc/zcnc/startup.d: No such file or directory").
char *zc_startup_problem (const char *dir);

//  What `zcnc agent -n` checks: the folder, then each file, read, split
//  and each message parsed (zc_message_from_json; targets and policy are
//  the running agent's business). NULL when all is well; else a malloc'd
//  text of one line per problem, each naming its file.
char *zc_startup_check (const char *dir);

//  Reads 'dir' and submits its messages now through 'submit' (the drop
//  folder's contract: 0 taken, -1 refused, 1 not now); those not taken
//  now are tried again every interval_ms on 'loop'. Returns NULL with
//  *error malloc'd when the folder cannot be read (a problem with a file
//  is only logged).
zc_startup_t *zc_startup_new (zloop_t *loop, const char *dir, int interval_ms,
                              zc_readfolder_submit_fn *submit, void *arg, char **error);
void zc_startup_destroy (zc_startup_t **self_p);
//  Messages still waiting to be taken.
size_t zc_startup_waiting (zc_startup_t *self);

int zc_startup_test (bool verbose);
#endif
