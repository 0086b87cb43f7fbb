/*  message.h — JSON <-> the message model (SPEC.md "Messages" and
    "JSON outputs"). The only module that knows JSON field names.
*/
#ifndef ZC_MESSAGE_H
#define ZC_MESSAGE_H
#include <jansson.h>
#include <czmq.h>
#include "id.h"
#include "job.h"

typedef struct {
    char *to;                   //  target expression; an array is joined with ','
    zc_method_t method;
    zlist_t *args;              //  char *, autofree
    uint8_t *data;  size_t data_size;
    //  reply_method, reply_args, directory, file_name: checked by
    //  zc_replyto_check (a path that leaves its directory is refused)
    zc_reply_spec_t reply;
    double ack_timeout, retry_wait, method_timeout, expire;
    int retries;
    char *relay_via;            //  NULL when absent
    zlist_t *where;             //  "KEY=GLOB" (char *, autofree): only the targets
                                //  whose facts match all; NULL when absent (facts.h)
    //  "schedule": [INTERVAL, TOTAL]: runs every INTERVAL s while less
    //  than TOTAL s passed, so ceil (TOTAL / INTERVAL) runs; count 0
    //  when absent.
    zc_schedule_spec_t schedule;
} zc_message_t;

//  Builds a message from a JSON object, applying SPEC.md's defaults.
//  Unknown fields and bad values are errors: returns NULL with *error a
//  malloc'd text and *field the offending field name (static or NULL).
//  The fields listed in 'ignore' (NULL-terminated, may be NULL) are
//  skipped: the socket passes its own fields ("wait", "tag") there.
zc_message_t *zc_message_from_json (json_t *object, const char **ignore,
                                    char **error, const char **field);
void zc_message_destroy (zc_message_t **self_p);

//  A "jobs" object (SPEC.md) for one job; result may be NULL.
//  Output that is not valid UTF-8 goes into stdout_b64/stderr_b64.
//  Adds output to a JSON object as "NAME" when it is valid UTF-8 text,
//  else base64-encoded as "NAME_b64".
void zc_message_set_output (json_t *object, const char *name, const uint8_t *bytes, size_t size);
json_t *zc_message_job_json (const char *job_id, const char *node,
                             zc_method_t method, zc_state_t state,
                             const zc_result_t *result, uint64_t created_ms);

//  An error answer: {"error": text, "code": code, "field": field}.
json_t *zc_message_error_json (const char *text, const char *code, const char *field);

//  Splits the contents of a file or stream given to `zcnc send` or a
//  readfolder into message objects. The text may hold one JSON object
//  (over any number of lines), an array of objects, or one object per
//  line (JSON lines; blank lines are skipped). The objects are not
//  validated as messages. Returns a new array of at least one object, or
//  NULL with *error a malloc'd text naming the problem and, when it
//  knows it, the line ("line 3: ...").
json_t *zc_message_split (const char *text, size_t size, char **error);

int zc_message_test (bool verbose);
#endif
