/*  message.c — JSON <-> the message model (see message.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "prelude.h"
#include "httpget.h"
#include "message.h"
#include "replyto.h"
#include "facts.h"
#include "target.h"
#include "testing.h"

#define S_MAX_ARGS 16
#define S_MAX_REPLY_ARGS  256       //  strings in reply_args ...
#define S_MAX_REPLY_BYTES 65536     //  ... and their bytes in all

void
zc_message_destroy (zc_message_t **self_p)
{
    if (*self_p) {
        zc_message_t *self = *self_p;
        free (self->to);
        zlist_destroy (&self->args);
        free (self->data);
        zc_reply_spec_clear (&self->reply);
        free (self->relay_via);
        zlist_destroy (&self->where);
        free (self);
        *self_p = NULL;
    }
}

//  Reads a list of strings (a JSON array of strings, or with 'allow_string'
//  one string) into a new zlist. NULL when the value has another shape.
static zlist_t *
s_string_list (json_t *value, bool allow_string)
{
    zlist_t *list = zlist_new ();
    zlist_autofree (list);
    if (json_is_string (value) && allow_string) {
        zlist_append (list, (void *) json_string_value (value));
        return list;
    }
    if (!json_is_array (value) || json_array_size (value) > S_MAX_ARGS * 1024) {
        zlist_destroy (&list);
        return NULL;
    }
    size_t index;
    json_t *item;
    json_array_foreach (value, index, item) {
        //  Strings with NUL bytes cannot become C strings.
        if (!json_is_string (item) || strlen (json_string_value (item)) != json_string_length (item)) {
            zlist_destroy (&list);
            return NULL;
        }
        zlist_append (list, (void *) json_string_value (item));
    }
    return list;
}

//  The bytes of a list's strings, in all.
static size_t
s_list_bytes (zlist_t *list)
{
    size_t size = 0;
    for (char *item = zlist_first (list); item; item = zlist_next (list))
        size += strlen (item);
    return size;
}

//  Reads a non-negative number of seconds within [min, max].
static int
s_seconds (json_t *value, double min, double max, double *out)
{
    if (!json_is_number (value))
        return -1;
    double number = json_number_value (value);
    if (!isfinite (number) || number < min || number > max)
        return -1;
    *out = number;
    return 0;
}

//  "where": {"KEY": "GLOB", ...} into a new list of "KEY=GLOB". Returns
//  NULL, or a malloc'd error.
static char *
s_where (json_t *value, zlist_t **where)
{
    if (!json_is_object (value) || json_object_size (value) == 0
    ||  json_object_size (value) > ZC_FACTS_MAX_WHERE)
        return zsys_sprintf ("\"where\" must be an object of 1 to %d KEY: GLOB members, e.g."
                             " {\"env\": \"prod\", \"os\": \"debian*\"}", ZC_FACTS_MAX_WHERE);
    zlist_destroy (where);
    *where = zlist_new ();
    zlist_autofree (*where);
    const char *key;
    json_t *glob;
    json_object_foreach (value, key, glob) {
        const char *text = json_string_value (glob);
        if (!text || strlen (text) != json_string_length (glob))
            return zsys_sprintf ("\"where\": the value of \"%s\" must be a string (a glob)", key);
        char *item = zsys_sprintf ("%s=%s", key, text);
        const char *problem = strchr (key, '=')? "a key holds only letters, digits, '.', '_' and '-'"
                                               : zc_facts_where_problem (item);
        if (problem) {
            free (item);
            return zsys_sprintf ("\"where\": bad member \"%s\": %s", key, problem);
        }
        zlist_append (*where, item);
        free (item);
    }
    return NULL;
}

//  A whole number of seconds within [min, max] (an integer, or a real
//  without a fraction). 0 or -1.
static int
s_whole_seconds (json_t *value, double min, double max, uint32_t *out)
{
    double number;
    if (s_seconds (value, min, max, &number) != 0 || number != floor (number))
        return -1;
    *out = (uint32_t) number;
    return 0;
}

//  "schedule": [INTERVAL, TOTAL] into a schedule of ceil (TOTAL /
//  INTERVAL) runs. Returns NULL, or a malloc'd error.
static char *
s_schedule (json_t *value, zc_schedule_spec_t *schedule)
{
    uint32_t interval, total;
    if (!json_is_array (value) || json_array_size (value) != 2
    ||  s_whole_seconds (json_array_get (value, 0), 0, 1e12, &interval) != 0
    ||  s_whole_seconds (json_array_get (value, 1), 0, 1e12, &total) != 0)
        return zc_strdup ("\"schedule\" must be [INTERVAL, TOTAL] in whole seconds: a run every"
                          " INTERVAL while less than TOTAL passed, e.g. [60, 3600]");
    if (interval < 1)
        return zc_strdup ("schedule: INTERVAL must be at least 1 second");
    if (total < interval)
        return zc_strdup ("schedule: TOTAL must be at least INTERVAL (the first run is at 0,"
                          " the next at INTERVAL)");
    if (total > ZC_SCHEDULE_MAX_SPAN)
        return zsys_sprintf ("schedule: TOTAL must be at most %u seconds (30 days)", ZC_SCHEDULE_MAX_SPAN);
    schedule->interval = interval;
    schedule->count = total / interval + (total % interval? 1: 0);
    if (schedule->count > ZC_SCHEDULE_MAX_RUNS)
        return zsys_sprintf ("schedule: [%u, %u] makes %u runs, more than %d (raise INTERVAL or lower TOTAL)",
                             interval, total, schedule->count, ZC_SCHEDULE_MAX_RUNS);
    return NULL;
}

static bool
s_ignored (const char *key, const char **ignore)
{
    for (; ignore && *ignore; ignore++)
        if (strcmp (key, *ignore) == 0)
            return true;
    return false;
}

//  An absolute path without NUL (a copy's ends).
static bool
s_absolute (const char *path)
{
    return path && path [0] == '/' && strlen (path) < 4096;
}

zc_message_t *
zc_message_from_json (json_t *object, const char **ignore, char **error, const char **field)
{
    *error = NULL;
    *field = NULL;
    if (!json_is_object (object)) {
        *error = zc_strdup ("a message must be a JSON object");
        return NULL;
    }
    zc_message_t *self = zc_calloc (1, sizeof *self);
    self->method = ZC_METHOD_EXEC;
    self->ack_timeout = 10;
    self->retries = 30;
    self->retry_wait = 2;
    self->method_timeout = 30;
    self->expire = 86400;

    const char *key;
    json_t *value;
    json_object_foreach (object, key, value) {
        if (s_ignored (key, ignore))
            continue;
        *field = key;
        if (streq (key, "to")) {
            zlist_t *items = s_string_list (value, true);
            if (!items || zlist_size (items) == 0) {
                zlist_destroy (&items);
                *error = zc_strdup ("\"to\" must be a target string or a non-empty array of them");
                break;
            }
            size_t size = 1;
            for (char *item = zlist_first (items); item; item = zlist_next (items))
                size += strlen (item) + 1;
            self->to = zc_calloc (1, size);
            for (char *item = zlist_first (items); item; item = zlist_next (items)) {
                if (*self->to)
                    strcat (self->to, ",");
                strcat (self->to, item);
            }
            zlist_destroy (&items);
        }
        else
        if (streq (key, "method")) {
            if (!json_is_string (value) || !(self->method = zc_method_parse (json_string_value (value)))) {
                *error = zc_strdup ("unknown method (one of exec, exec_stream, tail, http_get, copy, ping, jobs,"
                                    " cancel, call)");
                break;
            }
        }
        else
        if (streq (key, "args")) {
            zlist_destroy (&self->args);
            self->args = s_string_list (value, false);
            if (!self->args || zlist_size (self->args) > S_MAX_ARGS) {
                *error = zc_strdup ("\"args\" must be an array of at most 16 strings");
                break;
            }
        }
        else
        if (streq (key, "data") || streq (key, "data_b64")) {
            if (self->data) {
                *error = zc_strdup ("give either \"data\" or \"data_b64\", not both");
                break;
            }
            if (!json_is_string (value)) {
                *error = zsys_sprintf ("\"%s\" must be a string", key);
                break;
            }
            const char *text = json_string_value (value);
            size_t length = json_string_length (value);
            if (streq (key, "data")) {
                self->data = zc_malloc (length + 1);
                memcpy (self->data, text, length);
                self->data_size = length;
            }
            else {
                self->data = zc_malloc (length / 4 * 3 + 3);
                if (sodium_base642bin (self->data, length / 4 * 3 + 3, text, length, " \n",
                                       &self->data_size, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
                    *error = zc_strdup ("\"data_b64\" is not valid base64");
                    break;
                }
            }
        }
        else
        if (streq (key, "reply_method")) {
            const char *text = json_string_value (value);
            if (!text || zc_reply_method_parse (text, &self->reply.method) != 0) {
                *error = zc_strdup ("reply_method must be one of console, file, file_append, none, exec");
                break;
            }
        }
        else
        if (streq (key, "reply_args")) {
            zlist_destroy (&self->reply.args);
            self->reply.args = s_string_list (value, false);
            if (!self->reply.args || zlist_size (self->reply.args) > S_MAX_REPLY_ARGS
            ||  s_list_bytes (self->reply.args) > S_MAX_REPLY_BYTES) {
                *error = zsys_sprintf ("\"reply_args\" must be an array of at most %d strings"
                                       " of %d bytes in all", S_MAX_REPLY_ARGS, S_MAX_REPLY_BYTES);
                break;
            }
        }
        else
        if (streq (key, "ack_timeout")) {
            if (s_seconds (value, 0.1, 86400, &self->ack_timeout)) {
                *error = zc_strdup ("ack_timeout must be a number of seconds from 0.1 to 86400");
                break;
            }
        }
        else
        if (streq (key, "retry_wait")) {
            if (s_seconds (value, 0.1, 3600, &self->retry_wait)) {
                *error = zc_strdup ("retry_wait must be a number of seconds from 0.1 to 3600");
                break;
            }
        }
        else
        if (streq (key, "method_timeout")) {
            if (s_seconds (value, 0.1, 30 * 86400, &self->method_timeout)) {
                *error = zc_strdup ("method_timeout must be a number of seconds from 0.1 to 2592000");
                break;
            }
        }
        else
        if (streq (key, "expire")) {
            if (s_seconds (value, 1, 365 * 86400, &self->expire)) {
                *error = zc_strdup ("expire must be a number of seconds from 1 to 31536000");
                break;
            }
        }
        else
        if (streq (key, "retries")) {
            if (!json_is_integer (value) || json_integer_value (value) < 0 || json_integer_value (value) > 100000) {
                *error = zc_strdup ("retries must be an integer from 0 to 100000");
                break;
            }
            self->retries = (int) json_integer_value (value);
        }
        else
        if (streq (key, "relay_via") || streq (key, "directory") || streq (key, "file_name")) {
            if (!json_is_string (value)) {
                *error = zsys_sprintf ("\"%s\" must be a string", key);
                break;
            }
            if (streq (key, "relay_via") && !zc_name_valid (json_string_value (value))) {
                *error = zc_strdup ("\"relay_via\" must be a node name: the agent that takes custody of the job");
                break;
            }
            char **slot = streq (key, "relay_via")? &self->relay_via
                        : streq (key, "directory")? &self->reply.directory: &self->reply.file_name;
            //  "" is the default (SPEC.md shows it as one).
            if (*json_string_value (value))
                *slot = zc_strdup (json_string_value (value));
        }
        else
        if (streq (key, "where")) {
            if ((*error = s_where (value, &self->where)))
                break;
        }
        else
        if (streq (key, "schedule")) {
            if ((*error = s_schedule (value, &self->schedule)))
                break;
        }
        else {
            *error = zsys_sprintf ("unknown field \"%s\"", key);
            break;
        }
        *field = NULL;
    }
    if (!*error) {
        if (!self->to) {
            *field = "to";
            *error = zc_strdup ("\"to\" is missing");
        }
        else
        if ((self->method == ZC_METHOD_EXEC || self->method == ZC_METHOD_EXEC_STREAM)
        &&  (!self->args || zlist_size (self->args) != 1)) {
            *field = "args";
            *error = zc_strdup ("exec takes exactly one string in \"args\": the shell command");
        }
        else
        if (self->method == ZC_METHOD_HTTP_GET) {
            *field = "args";
            if (!self->args || zlist_size (self->args) != 1)
                *error = zc_strdup ("http_get takes exactly one string in \"args\": the URL");
            else
                *error = zc_httpget_url_check (zlist_first (self->args));
            if (!*error)
                *field = NULL;
        }
        else
        if (self->method == ZC_METHOD_COPY
        &&  (!self->args || zlist_size (self->args) != 3 || !s_absolute (zlist_first (self->args))
             || !zc_name_valid (zlist_next (self->args)) || !s_absolute (zlist_next (self->args)))) {
            *field = "args";
            *error = zc_strdup ("copy takes [SOURCE, NODE, DESTINATION]: an absolute path on the target,"
                                " the node to copy to, and an absolute path there");
        }
        else
        if (self->method == ZC_METHOD_CALL
        &&  (!self->args || zlist_size (self->args) == 0 || !zc_name_valid (zlist_first (self->args)))) {
            *field = "args";
            *error = zc_strdup ("call takes the function's name first in \"args\" (a name such as"
                                " machine-info), then at most 15 arguments");
        }
        if (!*error && self->schedule.count) {
            //  What runs something, and answers from the target itself.
            *field = "schedule";
            if (self->method != ZC_METHOD_EXEC && self->method != ZC_METHOD_CALL
            &&  self->method != ZC_METHOD_HTTP_GET)
                *error = zsys_sprintf ("schedule: only exec, call and http_get jobs can be scheduled, not %s",
                                       zc_method_name (self->method));
            else
            if (self->relay_via)
                *error = zc_strdup ("schedule: a scheduled job cannot go through a relay (relay_via)");
            else
                *field = NULL;
        }
        if (!*error)
            zc_replyto_check (&self->reply, error, field);
    }
    if (*error) {
        //  'field' points into the object, which the caller still holds.
        zc_message_destroy (&self);
        return NULL;
    }
    if (!self->args) {
        self->args = zlist_new ();
        zlist_autofree (self->args);
    }
    return self;
}

void
zc_message_set_output (json_t *object, const char *name, const uint8_t *bytes, size_t size)
{
    json_t *text = json_stringn ((const char *) (bytes? bytes: (const uint8_t *) ""), size);
    if (text) {
        json_object_set_new (object, name, text);
        return;
    }
    size_t encoded_size = sodium_base64_ENCODED_LEN (size, sodium_base64_VARIANT_ORIGINAL);
    char *encoded = zc_malloc (encoded_size);
    sodium_bin2base64 (encoded, encoded_size, bytes, size, sodium_base64_VARIANT_ORIGINAL);
    char key [32];
    snprintf (key, sizeof key, "%s_b64", name);
    json_object_set_new (object, key, json_string (encoded));
    free (encoded);
}

json_t *
zc_message_job_json (const char *job_id, const char *node, zc_method_t method,
                     zc_state_t state, const zc_result_t *result, uint64_t created_ms)
{
    json_t *object = json_pack ("{s:s, s:s, s:s, s:s, s:f}",
        "id", job_id, "node", node, "method", zc_method_name (method)? zc_method_name (method): "?",
        "state", zc_state_name (state), "created", created_ms / 1000.0);
    if (result) {
        bool ran = result->finished_ms > 0 && (result->state == ZC_STATE_DONE || result->signal || result->exit_code);
        json_object_set_new (object, "exit", ran? json_integer (result->exit_code): json_null ());
        json_object_set_new (object, "signal", result->signal? json_integer (result->signal): json_null ());
        zc_message_set_output (object, "stdout", result->out, result->out_size);
        zc_message_set_output (object, "stderr", result->err, result->err_size);
        json_object_set_new (object, "truncated",
            json_boolean (result->stdout_truncated || result->stderr_truncated));
        json_object_set_new (object, "error", result->error? json_string (result->error): json_null ());
        json_object_set_new (object, "finished",
            result->finished_ms? json_real (result->finished_ms / 1000.0): json_null ());
        if (method == ZC_METHOD_HTTP_GET)
            json_object_set_new (object, "http_status",
                                 result->http_status? json_integer (result->http_status): json_null ());
    }
    else {
        json_object_set_new (object, "exit", json_null ());
        json_object_set_new (object, "signal", json_null ());
        json_object_set_new (object, "stdout", json_string (""));
        json_object_set_new (object, "stderr", json_string (""));
        json_object_set_new (object, "truncated", json_false ());
        json_object_set_new (object, "error", json_null ());
        json_object_set_new (object, "finished", json_null ());
        if (method == ZC_METHOD_HTTP_GET)
            json_object_set_new (object, "http_status", json_null ());
    }
    return object;
}

json_t *
zc_message_error_json (const char *text, const char *code, const char *field)
{
    json_t *object = json_pack ("{s:s, s:s}", "error", text, "code", code);
    if (field)
        json_object_set_new (object, "field", json_string (field));
    return object;
}

//  Whether text holds only JSON whitespace.
static bool
s_blank (const char *text, size_t size)
{
    for (size_t index = 0; index < size; index++)
        if (text [index] != ' ' && text [index] != '\t' && text [index] != '\r' && text [index] != '\n')
            return false;
    return true;
}

//  The length of the line at text (without its newline).
static size_t
s_line_length (const char *text, size_t size)
{
    const char *newline = memchr (text, '\n', size);
    return newline? (size_t) (newline - text): size;
}

//  Parses one object per line, blank lines skipped. A new array, or NULL
//  with *error naming the line.
static json_t *
s_split_lines (const char *text, size_t size, char **error)
{
    json_t *messages = json_array ();
    size_t offset = 0, number = 0;
    while (offset < size) {
        size_t length = s_line_length (text + offset, size - offset);
        number++;
        if (!s_blank (text + offset, length)) {
            json_error_t parse_error;
            json_t *object = json_loadb (text + offset, length, JSON_REJECT_DUPLICATES, &parse_error);
            if (!json_is_object (object)) {
                *error = object? zsys_sprintf ("line %zu: not a JSON object (give one object per line)", number)
                               : zsys_sprintf ("line %zu: %s", number, parse_error.text);
                json_decref (object);
                json_decref (messages);
                return NULL;
            }
            json_array_append_new (messages, object);
        }
        offset += length + 1;
    }
    return messages;
}

json_t *
zc_message_split (const char *text, size_t size, char **error)
{
    *error = NULL;
    //  A UTF-8 byte order mark, as some editors write one, is not JSON.
    if (size >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        size -= 3;
    }
    if (s_blank (text, size)) {
        *error = zc_strdup ("no message in input");
        return NULL;
    }
    json_error_t parse_error;
    json_t *whole = json_loadb (text, size, JSON_REJECT_DUPLICATES, &parse_error);
    if (!whole) {
        //  Not one JSON text. It is JSON lines when its first non-blank
        //  line is an object of its own; then errors name their line.
        //  Otherwise the whole text's error is the one to show.
        size_t offset = 0, length = 0;
        while (offset < size && s_blank (text + offset, length = s_line_length (text + offset, size - offset)))
            offset += length + 1;
        json_t *first = json_loadb (text + offset, length, JSON_REJECT_DUPLICATES, NULL);
        bool lines = json_is_object (first);
        json_decref (first);
        if (lines)
            return s_split_lines (text, size, error);
        *error = parse_error.line > 0? zsys_sprintf ("line %d: %s", parse_error.line, parse_error.text)
                                     : zc_strdup (parse_error.text);
        return NULL;
    }
    if (json_is_object (whole)) {
        json_t *messages = json_array ();
        json_array_append_new (messages, whole);
        return messages;
    }
    //  json_loadb gives an object or an array; this is an array.
    if (json_array_size (whole) == 0)
        *error = zc_strdup ("no message in input (an empty array)");
    size_t index;
    json_t *item;
    json_array_foreach (whole, index, item) {
        if (!json_is_object (item)) {
            *error = zsys_sprintf ("item %zu of the array is not a JSON object", index + 1);
            break;
        }
    }
    if (*error) {
        json_decref (whole);
        return NULL;
    }
    return whole;
}

//  Parses text into a message, for the self-test.
static zc_message_t *
s_parse (const char *text, char **error, const char **field)
{
    json_t *object = json_loads (text, 0, NULL);
    static const char *ignore [] = { "wait", "tag", NULL };
    zc_message_t *message = zc_message_from_json (object, ignore, error, field);
    static char field_copy [64];
    if (*field) {
        snprintf (field_copy, sizeof field_copy, "%s", *field);
        *field = field_copy;
    }
    json_decref (object);
    return message;
}

#define S_SCHEDULE_SHAPE "\"schedule\" must be [INTERVAL, TOTAL] in whole seconds: a run every" \
                         " INTERVAL while less than TOTAL passed, e.g. [60, 3600]"

int
zc_message_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char *error;
    const char *field;
    zc_message_t *message = s_parse ("{\"to\": \"n1\", \"args\": [\"uptime\"], \"wait\": 5, \"tag\": \"x\"}",
                                     &error, &field);
    ZC_CHECK (message && !error);
    if (message) {
        ZC_CHECK_STR (message->to, "n1");
        ZC_CHECK (message->method == ZC_METHOD_EXEC);
        ZC_CHECK_STR (zlist_first (message->args), "uptime");
        ZC_CHECK (message->ack_timeout == 10 && message->retries == 30 && message->retry_wait == 2);
        ZC_CHECK (message->method_timeout == 30 && message->expire == 86400);
        ZC_CHECK (message->reply.method == ZC_REPLY_CONSOLE && !message->reply.args);
        ZC_CHECK (!message->reply.directory && !message->reply.file_name);
        zc_message_destroy (&message);
    }
    message = s_parse ("{\"to\": [\"a\", \"web-*\"], \"args\": [\"cat\"], \"data_b64\": \"aGk=\","
                       " \"method_timeout\": 2.5, \"retries\": 0, \"relay_via\": \"gw1\"}", &error, &field);
    ZC_CHECK (message != NULL);
    if (message) {
        ZC_CHECK_STR (message->to, "a,web-*");
        ZC_CHECK_STR (message->relay_via, "gw1");
        ZC_CHECK (message->data_size == 2 && memcmp (message->data, "hi", 2) == 0);
        ZC_CHECK (message->method_timeout == 2.5 && message->retries == 0);
        ZC_CHECK (message->where == NULL);
        zc_message_destroy (&message);
    }
    //  A call: the function's name, then its arguments; "where" as items.
    message = s_parse ("{\"to\": \"ALL\", \"method\": \"call\", \"args\": [\"machine-info\", \"a;b\"],"
                       " \"where\": {\"env\": \"prod\", \"os\": \"debian*\"}}", &error, &field);
    ZC_CHECK (message && message->method == ZC_METHOD_CALL && zlist_size (message->args) == 2);
    if (message) {
        ZC_CHECK (zlist_size (message->where) == 2);
        ZC_CHECK_STR (zlist_first (message->where), "env=prod");
        ZC_CHECK_STR (zlist_next (message->where), "os=debian*");
        zc_message_destroy (&message);
    }
    //  Reply fields: "" is the default; exec's argv as given.
    message = s_parse ("{\"to\": \"n1\", \"args\": [\"x\"], \"reply_method\": \"exec\","
                       " \"reply_args\": [\"/bin/cat\", \"-\"], \"directory\": \"\", \"file_name\": \"f\"}",
                       &error, &field);
    ZC_CHECK (message != NULL);
    if (message) {
        ZC_CHECK (message->reply.method == ZC_REPLY_EXEC && message->reply.directory == NULL);
        ZC_CHECK_STR (message->reply.file_name, "f");
        ZC_CHECK (zlist_size (message->reply.args) == 2);
        ZC_CHECK_STR (zlist_first (message->reply.args), "/bin/cat");
        zc_message_destroy (&message);
    }
    struct { const char *text, *field, *error; } bad [] = {
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"colour\": 1}", "colour", "unknown field \"colour\"" },
        { "{\"args\": [\"x\"]}", "to", "\"to\" is missing" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"relay_via\": \"ALL\"}", "relay_via",
          "\"relay_via\" must be a node name: the agent that takes custody of the job" },
        { "{\"to\": [], \"args\": [\"x\"]}", "to", "\"to\" must be a target string or a non-empty array of them" },
        { "{\"to\": \"n1\", \"args\": [\"x\", \"y\"]}", "args", "exec takes exactly one string in \"args\": the shell command" },
        { "{\"to\": \"n1\", \"method\": \"dance\"}", "method", "unknown method (one of exec, exec_stream, tail, http_get, copy, ping, jobs, cancel, call)" },
        { "{\"to\": \"n1\", \"method\": \"call\"}", "args", "call takes the function's name first in \"args\" (a name such as machine-info), then at most 15 arguments" },
        { "{\"to\": \"n1\", \"method\": \"call\", \"args\": [\"a b\"]}", "args", "call takes the function's name first in \"args\" (a name such as machine-info), then at most 15 arguments" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"where\": []}", "where", "\"where\" must be an object of 1 to 16 KEY: GLOB members, e.g. {\"env\": \"prod\", \"os\": \"debian*\"}" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"where\": {}}", "where", "\"where\" must be an object of 1 to 16 KEY: GLOB members, e.g. {\"env\": \"prod\", \"os\": \"debian*\"}" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"where\": {\"env\": 1}}", "where", "\"where\": the value of \"env\" must be a string (a glob)" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"where\": {\"-env\": \"x\"}}", "where", "\"where\": bad member \"-env\": a key must start with a letter or digit" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"where\": {\"a=b\": \"x\"}}", "where", "\"where\": bad member \"a=b\": a key holds only letters, digits, '.', '_' and '-'" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"expire\": -1}", "expire", "expire must be a number of seconds from 1 to 31536000" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"retries\": 1.5}", "retries", "retries must be an integer from 0 to 100000" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"data_b64\": \"!!\"}", "data_b64", "\"data_b64\" is not valid base64" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"reply_method\": \"mail\"}", "reply_method", "reply_method must be one of console, file, file_append, none, exec" },
        { "{\"to\": \"n1\", \"method\": \"http_get\"}", "args", "http_get takes exactly one string in \"args\": the URL" },
        { "{\"to\": \"n1\", \"method\": \"http_get\", \"args\": [\"http://a\", \"http://b\"]}", "args",
          "http_get takes exactly one string in \"args\": the URL" },
        { "{\"to\": \"n1\", \"method\": \"http_get\", \"args\": [\"file:///etc/passwd\"]}", "args",
          "http_get: only http and https URLs" },
        { "{\"to\": \"n1\", \"args\": [\"ftp://x/y\"], \"method\": \"http_get\"}", "args",
          "http_get: only http and https URLs" },
        { "{\"to\": \"n1\", \"method\": \"http_get\", \"args\": [\"http://\"]}", "args",
          "http_get: bad URL: No host part in the URL" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"reply_method\": \"file\", \"directory\": \"a/../../b\"}", "directory",
          "\"directory\" must not contain a '..' component: give a directory under the data directory's results/"
          " (relative), or an absolute one" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"file_name\": \"/etc/passwd\"}", "file_name",
          "\"file_name\" must be a relative path: the file goes under \"directory\"/NODE/ (give the directory in \"directory\")" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"reply_method\": \"exec\", \"reply_args\": []}", "reply_args",
          "reply_method exec needs the command in reply_args: [\"PROGRAM\", \"ARG\", ...], run without a shell;"
          " \"{{DATA}}\" in an argument stands for the result" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"reply_args\": \"cat\"}", "reply_args",
          "\"reply_args\" must be an array of at most 256 strings of 65536 bytes in all" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": 60}", "schedule", S_SCHEDULE_SHAPE },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [60]}", "schedule", S_SCHEDULE_SHAPE },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [60, 90, 3]}", "schedule", S_SCHEDULE_SHAPE },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [1.5, 90]}", "schedule", S_SCHEDULE_SHAPE },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [\"60\", 90]}", "schedule", S_SCHEDULE_SHAPE },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [-1, 90]}", "schedule", S_SCHEDULE_SHAPE },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [0, 90]}", "schedule",
          "schedule: INTERVAL must be at least 1 second" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [60, 30]}", "schedule",
          "schedule: TOTAL must be at least INTERVAL (the first run is at 0, the next at INTERVAL)" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [60, 2592001]}", "schedule",
          "schedule: TOTAL must be at most 2592000 seconds (30 days)" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [1, 10001]}", "schedule",
          "schedule: [1, 10001] makes 10001 runs, more than 10000 (raise INTERVAL or lower TOTAL)" },
        { "{\"to\": \"n1\", \"method\": \"ping\", \"schedule\": [1, 10]}", "schedule",
          "schedule: only exec, call and http_get jobs can be scheduled, not ping" },
        { "{\"to\": \"n1\", \"method\": \"exec_stream\", \"args\": [\"x\"], \"schedule\": [1, 10]}", "schedule",
          "schedule: only exec, call and http_get jobs can be scheduled, not exec_stream" },
        { "{\"to\": \"n1\", \"method\": \"cancel\", \"args\": [\"x\"], \"schedule\": [1, 10]}", "schedule",
          "schedule: only exec, call and http_get jobs can be scheduled, not cancel" },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"relay_via\": \"gw1\", \"schedule\": [1, 10]}", "schedule",
          "schedule: a scheduled job cannot go through a relay (relay_via)" },
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        message = s_parse (bad [index].text, &error, &field);
        ZC_CHECK (message == NULL);
        ZC_CHECK_STR (error, bad [index].error);
        ZC_CHECK_STR (field, bad [index].field);
        free (error);
    }
    message = s_parse ("{\"to\": \"n1\", \"method\": \"http_get\", \"args\": [\"https://example.com/x\"]}",
                       &error, &field);
    ZC_CHECK (message && message->method == ZC_METHOD_HTTP_GET && !error && !field);
    ZC_CHECK (message && message->schedule.count == 0);
    zc_message_destroy (&message);
    //  A schedule: ceil (TOTAL / INTERVAL) runs.
    struct { const char *text; uint32_t interval, count; } schedules [] = {
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [1, 5]}", 1, 5 },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [60, 90.0]}", 60, 2 },
        { "{\"to\": \"n1\", \"args\": [\"x\"], \"schedule\": [60, 60]}", 60, 1 },
        { "{\"to\": \"n1\", \"method\": \"call\", \"args\": [\"f\"], \"schedule\": [1, 10000]}", 1, 10000 },
        { "{\"to\": \"n1\", \"method\": \"http_get\", \"args\": [\"http://a/\"], \"schedule\": [259200, 2592000]}",
          259200, 10 },
    };
    for (size_t index = 0; index < sizeof schedules / sizeof schedules [0]; index++) {
        message = s_parse (schedules [index].text, &error, &field);
        ZC_CHECK (message && message->schedule.interval == schedules [index].interval
                  && message->schedule.count == schedules [index].count);
        zc_message_destroy (&message);
    }

    //  Splitting a file or stream into messages: one object, an array,
    //  JSON lines; and what is not one of these.
    struct { const char *text; size_t count; const char *error; } split [] = {
        { "{\"to\": \"a\",\n \"args\": [\"x\"]}\n", 1, NULL },
        { "\xEF\xBB\xBF{\"to\": \"a\"}", 1, NULL },
        { " [{\"to\": \"a\"},\n  {\"to\": \"b\"}]\n", 2, NULL },
        { "{\"to\": \"a\"}\n\n  \n{\"to\": \"b\"}\r\n{\"to\": \"c\"}", 3, NULL },
        { "", 0, "no message in input" },
        { " \n\t\n", 0, "no message in input" },
        { "[]", 0, "no message in input (an empty array)" },
        { "[{\"to\": \"a\"}, 7]", 0, "item 2 of the array is not a JSON object" },
        { "{\"to\": \"a\"}\n{\"to\": \n{\"to\": \"c\"}\n", 0,
          "line 2: unexpected token near end of file" },
        { "{\"to\": \"a\"}\n[{\"to\": \"b\"}]\n", 0, "line 2: not a JSON object (give one object per line)" },
        { "\n{\"to\": \"a\"}\n\n{\"to\": \"b\", \"to\": \"c\"}\n", 0,
          "line 4: duplicate object key near '\"to\"'" },
        { "{\n  \"to\": \"a\",\n  \"args\": [\"x\"\n}\n", 0, "line 4: ']' expected near '}'" },
        { "\"to\"", 0, "line 1: '[' or '{' expected near '\"to\"'" },
    };
    for (size_t index = 0; index < sizeof split / sizeof split [0]; index++) {
        json_t *messages = zc_message_split (split [index].text, strlen (split [index].text), &error);
        if (split [index].error) {
            ZC_CHECK (messages == NULL);
            ZC_CHECK_STR (error, split [index].error);
            free (error);
        }
        else {
            ZC_CHECK (messages && !error && json_array_size (messages) == split [index].count);
            ZC_CHECK_STR (json_string_value (json_object_get (json_array_get (messages, 0), "to")), "a");
            json_decref (messages);
        }
    }
    //  Bytes after a NUL are input too.
    json_t *messages = zc_message_split ("{\"to\": \"a\"}\n\0{", 15, &error);
    ZC_CHECK (messages == NULL && error && strncmp (error, "line 2: ", 8) == 0);
    free (error);
    json_t *object = zc_message_error_json ("no", "usage", NULL);
    ZC_CHECK (json_object_get (object, "field") == NULL);
    ZC_CHECK_STR (json_string_value (json_object_get (object, "code")), "usage");
    json_decref (object);

    //  A job object: text output as text, bytes as base64.
    zc_result_t *result = zc_result_new ();
    result->state = ZC_STATE_DONE;
    result->exit_code = 7;
    result->finished_ms = 2000;
    result->out = (uint8_t *) zc_strdup ("hello\n");
    result->out_size = 6;
    result->err = zc_malloc (2);
    memcpy (result->err, "\xff\xfe", 2);
    result->err_size = 2;
    object = zc_message_job_json ("ID.n1", "n1", ZC_METHOD_EXEC, ZC_STATE_DONE, result, 1000);
    ZC_CHECK_STR (json_string_value (json_object_get (object, "stdout")), "hello\n");
    ZC_CHECK_STR (json_string_value (json_object_get (object, "stderr_b64")), "//4=");
    ZC_CHECK (json_object_get (object, "stderr") == NULL);
    ZC_CHECK (json_integer_value (json_object_get (object, "exit")) == 7);
    ZC_CHECK (json_is_null (json_object_get (object, "signal")));
    ZC_CHECK_STR (json_string_value (json_object_get (object, "state")), "done");
    ZC_CHECK (json_object_get (object, "http_status") == NULL);
    json_decref (object);
    //  An http_get job says its HTTP status; null when there was none.
    result->http_status = 404;
    object = zc_message_job_json ("ID.n1", "n1", ZC_METHOD_HTTP_GET, ZC_STATE_DONE, result, 1000);
    ZC_CHECK (json_integer_value (json_object_get (object, "http_status")) == 404);
    json_decref (object);
    result->http_status = 0;
    object = zc_message_job_json ("ID.n1", "n1", ZC_METHOD_HTTP_GET, ZC_STATE_FAILED, result, 1000);
    ZC_CHECK (json_is_null (json_object_get (object, "http_status")));
    json_decref (object);
    object = zc_message_job_json ("ID.n1", "n1", ZC_METHOD_HTTP_GET, ZC_STATE_QUEUED, NULL, 1000);
    ZC_CHECK (json_is_null (json_object_get (object, "http_status")));
    json_decref (object);
    zc_result_destroy (&result);
    return ZC_TEST_END;
}
