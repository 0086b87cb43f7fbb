/*  fuzz_message.c — libFuzzer target for the JSON side of messages.

    The input goes the ways JSON from users goes into zcnc:
    - zc_message_split, as `zcnc send` and the readfolder split a file,
      then zc_message_from_json on every object it returns;
    - the agent's socket: the input cut into lines as jsonl.c cuts them
      (a line ends at '\n', a '\r' before it is dropped, empty lines are
      skipped), each line parsed as agent.c parses a request, turned
      into a message with the socket's own fields ignored, and its "to"
      resolved; the answer echoes the request's "tag";
    - the whole input as one object, without split's checks.
    A message that parses becomes a jobs object (zc_message_job_json)
    with its data as output. Besides not crashing: a refusal has an error
    text and names a field of the object (or "to"/"args"), an accepted
    message has its targets and arguments, targets resolve to valid
    names, and zc_jsonout writes what json_dumps writes.

    `make fuzz` builds and runs it; `make check` replays its corpus and
    regressions (tests/fuzz/replay.c).
*/
#include <czmq.h>
#include "jsonout.h"
#include "message.h"
#include "replyto.h"
#include "target.h"

#define S_MAX_DEPTH 256             //  zc_jsonout's nesting limit

static const char *s_socket_fields [] = { "wait", "tag", NULL };

static size_t
s_depth (const json_t *value)
{
    size_t deepest = 0, index;
    const char *key;
    json_t *member;
    if (json_is_object (value))
        json_object_foreach ((json_t *) value, key, member) {
            size_t depth = s_depth (member);
            deepest = depth > deepest? depth: deepest;
        }
    else
    if (json_is_array (value))
        json_array_foreach (value, index, member) {
            size_t depth = s_depth (member);
            deepest = depth > deepest? depth: deepest;
        }
    else
        return 0;
    return deepest + 1;
}

//  Aborts unless zc_jsonout writes the text json_dumps writes (the
//  agent's answers go out through zc_jsonout), or refuses a value
//  nested deeper than it allows.
static void
s_require_jsonout (const json_t *value)
{
    char *ours = zc_jsonout_text (value);
    if (!ours) {
        if (s_depth (value) <= S_MAX_DEPTH)
            abort ();
        return;
    }
    char *theirs = json_dumps (value, JSON_COMPACT | JSON_REAL_PRECISION (13) | JSON_ENCODE_ANY);
    if (theirs && strcmp (ours, theirs) != 0)
        abort ();
    free (ours);
    free (theirs);
}

//  A jobs object for the message: its first target, its data as stdout
//  and its first argument as stderr, in a state picked by the data size.
static void
s_job_json (zc_message_t *message, const char *node)
{
    zc_result_t *result = zc_result_new ();
    result->state = (zc_state_t) (message->data_size % ZC_STATE_COUNT);
    result->exit_code = message->retries;
    result->finished_ms = (uint64_t) (message->expire * 1000);
    result->out = message->data_size? malloc (message->data_size): NULL;
    if (result->out)
        memcpy (result->out, message->data, message->data_size);
    result->out_size = result->out? message->data_size: 0;
    char *first = zlist_first (message->args);
    result->err = (uint8_t *) (first? strdup (first): NULL);
    result->err_size = first? strlen (first): 0;
    json_t *job = zc_message_job_json ("01JC0000000000000000000000.n1", node, message->method,
                                       result->state, message->retries % 2? result: NULL,
                                       (uint64_t) (message->method_timeout * 1000));
    if (!job)
        abort ();
    s_require_jsonout (job);
    json_decref (job);
    zc_result_destroy (&result);
}

//  Builds a message from one object and checks what comes back.
static void
s_message (json_t *object, const char **ignore)
{
    char *error = NULL;
    const char *field = NULL;
    zc_message_t *message = zc_message_from_json (object, ignore, &error, &field);
    if (!message) {
        if (!error)
            abort ();
        //  A missing "to", "args" or (for reply_method exec)
        //  "reply_args" is named though absent.
        if (field && !streq (field, "to") && !streq (field, "args") && !streq (field, "reply_args")
        &&  !json_object_get (object, field))
            abort ();
        json_t *answer = zc_message_error_json (error, "usage", field);
        s_require_jsonout (answer);
        json_decref (answer);
        free (error);
        return;
    }
    if (error || !message->to || !message->args)
        abort ();
    //  What is accepted has reply fields that pass their check: no path
    //  that leaves its directory, a program for exec.
    const char *reply_field = NULL;
    if (zc_replyto_check (&message->reply, &error, &reply_field) != 0)
        abort ();

    zlist_t *known = zlist_new ();
    zlist_append (known, "n1");
    zlist_append (known, "web-1");
    zlist_append (known, "web-2");
    zlist_t *targets, *unknown;
    if (zc_target_resolve (message->to, known, &targets, &unknown, &error) == 0) {
        if (error || !targets || !unknown || zlist_size (unknown) > zlist_size (targets))
            abort ();
        for (char *name = zlist_first (targets); name; name = zlist_next (targets))
            if (!zc_name_valid (name))
                abort ();
        s_job_json (message, zlist_size (targets)? zlist_first (targets): "n1");
        zlist_destroy (&targets);
        zlist_destroy (&unknown);
    }
    else {
        if (!error || targets)
            abort ();
        free (error);
    }
    zlist_destroy (&known);
    zc_message_destroy (&message);
}

//  What the agent does with one line from its socket (agent.c s_on_line
//  and s_request_message), short of submitting the job.
static void
s_socket_line (const char *line, size_t size)
{
    json_error_t parse_error;
    json_t *request = json_loadb (line, size, JSON_REJECT_DUPLICATES, &parse_error);
    if (!json_is_object (request)) {
        json_decref (request);
        return;
    }
    //  Answers carry the request's tag, whatever JSON it is.
    json_t *answer = json_object ();
    json_t *tag = json_object_get (request, "tag");
    if (tag)
        json_object_set (answer, "tag", tag);
    s_require_jsonout (answer);
    json_decref (answer);
    s_require_jsonout (request);
    if (!json_object_get (request, "op"))
        s_message (request, s_socket_fields);
    json_decref (request);
}

int
LLVMFuzzerTestOneInput (const uint8_t *input, size_t size)
{
    const char *text = (const char *) input;
    char *error = NULL;
    json_t *messages = zc_message_split (text, size, &error);
    if (messages) {
        if (error || !json_is_array (messages) || json_array_size (messages) == 0)
            abort ();
        size_t index;
        json_t *object;
        json_array_foreach (messages, index, object) {
            if (!json_is_object (object))
                abort ();
            s_message (object, NULL);
        }
        json_decref (messages);
    }
    else
    if (!error)
        abort ();
    free (error);

    size_t offset = 0;
    while (offset < size) {
        const char *newline = memchr (text + offset, '\n', size - offset);
        size_t length = newline? (size_t) (newline - (text + offset)): size - offset;
        size_t line_size = length;
        if (line_size && text [offset + line_size - 1] == '\r')
            line_size--;
        if (line_size)
            s_socket_line (text + offset, line_size);
        offset += length + 1;
    }

    json_t *whole = json_loadb (text, size, 0, NULL);
    s_message (whole, s_socket_fields);
    json_decref (whole);
    return 0;
}
