/*  readfolder.h — a drop folder for messages (the agent's `readfolder`
    key): JSON files put into it are sent, then removed.

    Only files whose name ends in ".json" and does not start with "." are
    read. A writer must therefore create the file under another name in
    the same folder (".NAME.json.tmp", say) and rename(2) it to NAME.json
    when it is complete: the rename is atomic, so no file is read while it
    is being written. Files are taken oldest modification time first; each
    holds one message object, an array of them, or one per line (see
    zc_message_split), and each message is passed to the submit function.

    A file whose messages were all accepted is removed. A file that is not
    a regular file, is larger than 64 MiB, cannot be read or parsed, or
    holds a message that was refused is moved to DIR/failed/NAME (NAME.1,
    NAME.2... when that is taken), and DIR/failed/NAME.error says why; the
    same reason is logged as an error. When some messages of a refused
    file were accepted all the same, the .error file lists them (1-based,
    counting in the file as moved): they were sent and must not be sent
    again. Nothing is dropped silently.

    The submit function may also answer "not now" (a full queue): the scan
    stops there, and the file is rewritten (atomically, keeping its
    modification time) without the messages already accepted, to be tried
    again at the next scan.

    Storing the accepted messages and removing their file are two steps:
    a crash between them sends those messages again after the restart.
    The window is short: a file is acted on right after submit said its
    messages are durable, or, with zc_readfolder_defer, right after the
    owner's commit that holds them (a crash before that commit loses the
    batch but not the file).
*/
#ifndef ZC_READFOLDER_H
#define ZC_READFOLDER_H
#include <stdbool.h>
#include <czmq.h>
#include <jansson.h>

#define ZC_READFOLDER_MAX_FILE (64u << 20)     //  bytes in one file

typedef struct _zc_readfolder_t zc_readfolder_t;

//  Submits one message object read from a file ('message' is borrowed).
//  Returns 0 when it was accepted and stored durably (with
//  zc_readfolder_defer: put in the next commit's batch); -1 with *error
//  a malloc'd text when it was refused (the file is moved aside); 1, with
//  *error malloc'd or NULL, when it cannot be taken now (the file waits).
typedef int (zc_readfolder_submit_fn) (json_t *message, char **error, void *arg);

//  Watches 'dir', creating it (mode 0700, not its parents) and dir/failed/
//  when missing. With a loop, scans at once, then every interval_ms, and
//  also when a file is closed after writing or renamed into the folder
//  (inotify); with a NULL loop, only zc_readfolder_scan reads the folder.
//  Returns NULL with *error malloc'd when the folder cannot be used.
zc_readfolder_t *zc_readfolder_new (zloop_t *loop, const char *dir, int interval_ms,
                                    zc_readfolder_submit_fn *submit, void *arg, char **error);
void zc_readfolder_destroy (zc_readfolder_t **self_p);

//  Scans once now (also what the timer does). Returns the number of files
//  handled (removed or moved aside, or, with zc_readfolder_defer, to be),
//  or -1 when the folder cannot be read (logged once until it can be read
//  again).
int zc_readfolder_scan (zc_readfolder_t *self);

//  For an owner that commits in batches (group commit): from now on,
//  submit's 0 means "in the batch of the next commit", and a file whose
//  messages were accepted is acted on (removed, moved aside, rewritten)
//  only in zc_readfolder_committed; until then scans skip it.
void zc_readfolder_defer (zc_readfolder_t *self);
//  The owner's commit succeeded: everything accepted so far is durable,
//  and the files it came from are removed, moved aside or rewritten.
//  Call it after every successful commit, and after the last one before
//  zc_readfolder_destroy (which forgets what still waits: those files
//  would be read again).
void zc_readfolder_committed (zc_readfolder_t *self);

//  For the agent's startup folder (startup.h), which reads files the
//  same way. Whether a folder entry is one to read: NAME.json, NAME not
//  starting with '.'.
bool zc_readfolder_wanted (const char *name);
//  Reads a whole regular file of at most ZC_READFOLDER_MAX_FILE bytes,
//  through a symbolic link only with 'follow'. Returns it malloc'd
//  (*size its bytes), or NULL with errno set (EFBIG: too large, EINVAL:
//  not a regular file, ENOENT: gone, ELOOP: a symbolic link).
char *zc_readfolder_read (const char *path, bool follow, size_t *size);

int zc_readfolder_test (bool verbose);
#endif
