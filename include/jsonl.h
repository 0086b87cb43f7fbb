/*  jsonl.h — the agent's local socket: a unix stream socket carrying one
    JSON object per line in each direction (SPEC.md "The agent's socket").

    The server checks each peer's credentials (SO_PEERCRED): root, the
    agent's own user, and, with a socket group, members of that group.
    Requests are handed to the owner parsed, one at a time; while a
    connection is held (a request still being answered), further lines
    wait, so answers always come in request order.

    Bounded under abuse: a connection may always buffer a request line
    of up to ZC_JSONL_SMALL_LINE bytes; what clients buffer beyond that,
    all together, is limited to ZC_JSONL_INPUT_BUDGET, and one line to
    ZC_JSONL_MAX_LINE. A client over a bound gets one error line and is
    closed; its partial line is never parsed. Lines longer than
    ZC_JSONL_SMALL_LINE are parsed on a thread of their own, so that a
    large request never holds the loop that answers the others. At most
    ZC_JSONL_MAX_CLIENTS connections are open at once.
*/
#ifndef ZC_JSONL_H
#define ZC_JSONL_H
#include <czmq.h>
#include <jansson.h>

#define ZC_JSONL_MAX_LINE       (64u << 20)     //  bytes in one request line
#define ZC_JSONL_SMALL_LINE     (1u << 20)      //  bytes any connection may buffer
#define ZC_JSONL_INPUT_BUDGET   (96u << 20)     //  bytes beyond that, all clients together
#define ZC_JSONL_MAX_CLIENTS    256

typedef struct _zc_jsonl_t zc_jsonl_t;
typedef struct _zc_jsonl_conn_t zc_jsonl_conn_t;

//  A request line arrived: 'request' is its JSON value (the callee may
//  keep a reference), or NULL when the line is not JSON, and then
//  'error' says why. 'size' is the line's length in bytes.
typedef void (zc_jsonl_line_fn) (zc_jsonl_conn_t *conn, json_t *request, const char *error,
                                 size_t size, void *arg);
//  The connection is going away; forget every reference to it.
typedef void (zc_jsonl_close_fn) (zc_jsonl_conn_t *conn, void *arg);

//  Listens on 'path' (an existing socket file is replaced), mode 0600, or
//  0660 with group ownership when 'group' is non-NULL. NULL with *error.
zc_jsonl_t *zc_jsonl_new (zloop_t *loop, const char *path, const char *group,
                          zc_jsonl_line_fn *on_line, zc_jsonl_close_fn *on_close,
                          void *arg, char **error);
//  Closes every connection (calling on_close) and removes the socket file.
void zc_jsonl_destroy (zc_jsonl_t **self_p);

//  Lines longer than 'bytes' (less than ZC_JSONL_MAX_LINE: a control
//  socket that takes small requests) are refused as those over
//  ZC_JSONL_MAX_LINE are: one error line, then the connection closes.
void zc_jsonl_set_max_line (zc_jsonl_t *self, size_t bytes);
//  Closes a connection once what is queued for it is written; nothing
//  more is read from it (a client that sent garbage).
void zc_jsonl_close (zc_jsonl_conn_t *conn);

//  Queues one object as a line; never blocks. The lines queued on a
//  connection in one turn of the loop leave together at its end, in one
//  write where the socket takes them. A client that does not read and
//  lets more than 64 MiB pile up is disconnected. An object that cannot
//  be written as JSON (nested too deep) is answered with an error line
//  instead.
void zc_jsonl_send (zc_jsonl_conn_t *conn, json_t *object);
//  The same (kept for callers that queue several, then flush).
void zc_jsonl_queue (zc_jsonl_conn_t *conn, json_t *object);
//  The same for a line written already: 'size' bytes of JSON without
//  the newline (copied).
void zc_jsonl_queue_text (zc_jsonl_conn_t *conn, const char *text, size_t size);
//  Writes what is queued now.
void zc_jsonl_flush (zc_jsonl_conn_t *conn);
//  Bytes queued for the client that it has not read yet.
size_t zc_jsonl_unsent (zc_jsonl_conn_t *conn);
//  While held, no further lines are delivered; releasing delivers the
//  lines that waited. Holds count: each hold (true) needs its release
//  (false), so that two owners may hold a connection at once.
void zc_jsonl_hold (zc_jsonl_conn_t *conn, bool hold);
//  Owner data for a connection.
void zc_jsonl_set_data (zc_jsonl_conn_t *conn, void *data);
void *zc_jsonl_data (zc_jsonl_conn_t *conn);
#endif
