/*  publine.c — the JSON lines of a received pub/sub message (see
    publine.h). */
#include <inttypes.h>
#include <sodium.h>
#include "prelude.h"
#include "publine.h"
#include "id.h"
#include "jsonout.h"
#include "jsonparse.h"
#include "testing.h"

typedef struct {
    size_t at, size;            //  in 'texts'
    bool utf8;                  //  written as "data" (else "data_b64")
} s_text_t;

struct _zc_publine_t {
    const zc_wire_t *msg;
    const zc_pub_item_t *items;
    size_t count;
    char *head;                 //  the common fields: "{...", without the closing brace
    size_t head_size, head_capacity;
    char *texts;                //  each item's "data":... member
    size_t texts_size, texts_capacity;
    s_text_t *text;             //  'count' of them
    char *batch;                //  the "data":[...] member from 'batch_skip' on, or NULL
    size_t batch_size, batch_capacity, batch_skip;
    char *line;                 //  the last line asked for
    size_t line_size, line_capacity;
};

static void
s_append (char **data, size_t *size, size_t *capacity, const char *bytes, size_t length)
{
    if (length == 0)
        return;
    if (*size + length > *capacity) {
        size_t more = *capacity? *capacity: 256;
        while (more < *size + length)
            more *= 2;
        *data = zc_realloc (*data, more);
        *capacity = more;
    }
    memcpy (*data + *size, bytes, length);
    *size += length;
}

//  An item's value: a JSON string of its text, or of its base64.
static void
s_put_item (char **data, size_t *size, size_t *capacity, const zc_pub_item_t *item, bool utf8)
{
    if (utf8) {
        //  An empty item may point nowhere.
        zc_jsonout_string (item->size? (const char *) item->data: "", item->size, data, size, capacity);
        return;
    }
    size_t length = sodium_base64_encoded_len (item->size, sodium_base64_VARIANT_ORIGINAL);
    char *encoded = zc_malloc (length);
    sodium_bin2base64 (encoded, length, item->size? item->data: (const uint8_t *) "", item->size,
                       sodium_base64_VARIANT_ORIGINAL);
    s_append (data, size, capacity, "\"", 1);
    s_append (data, size, capacity, encoded, strlen (encoded));
    s_append (data, size, capacity, "\"", 1);
    free (encoded);
}

zc_publine_t *
zc_publine_new (const zc_wire_t *msg, const zc_pub_item_t *items, size_t count, zc_pub_auth_t auth)
{
    zc_publine_t *self = zc_calloc (1, sizeof *self);
    self->msg = msg;
    self->items = items;
    self->count = count;
    char ulid [ZC_ULID_LEN + 1];
    zc_id_to_ulid (&msg->id, ulid);
    json_t *head = json_pack ("{s:s, s:s, s:f, s:s, s:b, s:s}", "subject", msg->subject? msg->subject: "",
                              "from", msg->from, "time", (double) zc_id_time_ms (&msg->id) / 1000.0,
                              "auth", zc_pubseal_auth_name (auth), "retained", msg->retain > 0, "id", ulid);
    zc_jsonout_append (head, &self->head, &self->head_size, &self->head_capacity);
    json_decref (head);
    self->head_size--;                          //  the closing brace
    self->text = zc_calloc (count? count: 1, sizeof (s_text_t));
    for (size_t index = 0; index < count; index++) {
        s_text_t *text = &self->text [index];
        text->utf8 = items [index].size == 0
                  || zc_jsonparse_utf8 ((const char *) items [index].data, items [index].size);
        text->at = self->texts_size;
        const char *name = text->utf8? ",\"data\":": ",\"data_b64\":";
        s_append (&self->texts, &self->texts_size, &self->texts_capacity, name, strlen (name));
        s_put_item (&self->texts, &self->texts_size, &self->texts_capacity, &items [index], text->utf8);
        text->size = self->texts_size - text->at;
    }
    return self;
}

void
zc_publine_destroy (zc_publine_t **self_p)
{
    zc_publine_t *self = *self_p;
    if (!self)
        return;
    free (self->head);
    free (self->texts);
    free (self->text);
    free (self->batch);
    free (self->line);
    free (self);
    *self_p = NULL;
}

//  A line: the head, 'member', the numbers, the tag, the closing brace.
static const char *
s_line (zc_publine_t *self, const char *member, size_t member_size, uint64_t seq, uint64_t dropped,
        const json_t *tag, size_t *size)
{
    self->line_size = 0;
    s_append (&self->line, &self->line_size, &self->line_capacity, self->head, self->head_size);
    s_append (&self->line, &self->line_size, &self->line_capacity, member, member_size);
    char numbers [64];
    int length = 0;
    if (seq)
        length += snprintf (numbers + length, sizeof numbers - length, ",\"seq\":%" PRIu64, seq);
    if (dropped)
        length += snprintf (numbers + length, sizeof numbers - length, ",\"dropped\":%" PRIu64, dropped);
    s_append (&self->line, &self->line_size, &self->line_capacity, numbers, (size_t) length);
    if (tag) {
        size_t before = self->line_size;
        s_append (&self->line, &self->line_size, &self->line_capacity, ",\"tag\":", 7);
        if (zc_jsonout_append (tag, &self->line, &self->line_size, &self->line_capacity) != 0)
            self->line_size = before;           //  nested too deep to write: the line goes without it
    }
    s_append (&self->line, &self->line_size, &self->line_capacity, "}", 1);
    *size = self->line_size;
    return self->line;
}

const char *
zc_publine_item (zc_publine_t *self, size_t index, uint64_t dropped, const json_t *tag, size_t *size)
{
    if (index >= self->count)
        return NULL;
    const s_text_t *text = &self->text [index];
    uint64_t seq = self->msg->seq? self->msg->seq + index: 0;
    return s_line (self, self->texts + text->at, text->size, seq, dropped, tag, size);
}

const char *
zc_publine_batch (zc_publine_t *self, size_t skip, uint64_t dropped, const json_t *tag, size_t *size)
{
    if (skip >= self->count)
        return NULL;
    if (!self->batch || self->batch_skip != skip) {
        bool utf8 = true;
        for (size_t index = skip; index < self->count; index++)
            utf8 = utf8 && self->text [index].utf8;
        self->batch_size = 0;
        self->batch_skip = skip;
        const char *name = utf8? ",\"data\":[": ",\"data_b64\":[";
        s_append (&self->batch, &self->batch_size, &self->batch_capacity, name, strlen (name));
        for (size_t index = skip; index < self->count; index++) {
            if (index > skip)
                s_append (&self->batch, &self->batch_size, &self->batch_capacity, ",", 1);
            if (utf8 || !self->text [index].utf8) {
                //  The value as written for the item alone, after its name.
                const s_text_t *text = &self->text [index];
                size_t name_size = text->utf8? 8: 12;
                s_append (&self->batch, &self->batch_size, &self->batch_capacity,
                          self->texts + text->at + name_size, text->size - name_size);
            }
            else
                s_put_item (&self->batch, &self->batch_size, &self->batch_capacity, &self->items [index], false);
        }
        s_append (&self->batch, &self->batch_size, &self->batch_capacity, "]", 1);
    }
    uint64_t seq = self->msg->seq? self->msg->seq + skip: 0;
    return s_line (self, self->batch, self->batch_size, seq, dropped, tag, size);
}

//  ---------------------------------------------------------------------
//  Self-test

//  A line as a JSON value (jansson's decoder), or NULL: of item 'index',
//  or with 'batch' of the items from there on.
static json_t *
s_parsed (zc_publine_t *lines, bool batch, size_t index, uint64_t dropped, const json_t *tag)
{
    size_t size;
    const char *line = batch? zc_publine_batch (lines, index, dropped, tag, &size):
                              zc_publine_item (lines, index, dropped, tag, &size);
    return line? json_loadb (line, size, JSON_REJECT_DUPLICATES, NULL): NULL;
}

int
zc_publine_test (bool verbose)
{
    ZC_TEST_BEGIN;
    zc_wire_t *msg = zc_wire_new (ZC_MSG_PUB);
    msg->subject = zc_strdup ("logs.web-1");
    snprintf (msg->from, sizeof msg->from, "web-1");
    msg->seq = 41;
    zc_pub_item_t items [] = {
        { (const uint8_t *) "plain", 5 },
        { (const uint8_t *) "q\"uote\\ \n\x01 \xc3\xa9", 13 },
        { (const uint8_t *) "\xff\xfe", 2 },
        { (const uint8_t *) "", 0 },
    };
    zc_publine_t *lines = zc_publine_new (msg, items, 4, ZC_PUB_VERIFIED);
    char ulid [ZC_ULID_LEN + 1];
    zc_id_to_ulid (&msg->id, ulid);

    //  One item per line: its text, or base64; the stream's number.
    size_t size;
    json_t *line = s_parsed (lines, false, 1, 0, NULL);
    ZC_CHECK (line && json_object_size (line) == 8);
    ZC_CHECK_STR (json_string_value (json_object_get (line, "subject")), "logs.web-1");
    ZC_CHECK_STR (json_string_value (json_object_get (line, "from")), "web-1");
    ZC_CHECK_STR (json_string_value (json_object_get (line, "auth")), "verified");
    ZC_CHECK_STR (json_string_value (json_object_get (line, "id")), ulid);
    ZC_CHECK (json_is_false (json_object_get (line, "retained")));
    ZC_CHECK (json_real_value (json_object_get (line, "time")) == (double) zc_id_time_ms (&msg->id) / 1000.0);
    ZC_CHECK (json_integer_value (json_object_get (line, "seq")) == 42);
    const char *data = json_string_value (json_object_get (line, "data"));
    ZC_CHECK (data && json_string_length (json_object_get (line, "data")) == 13 && memcmp (data, items [1].data, 13) == 0);
    json_decref (line);
    line = s_parsed (lines, false, 2, 7, NULL);
    ZC_CHECK_STR (json_string_value (json_object_get (line, "data_b64")), "//4=");
    ZC_CHECK (!json_object_get (line, "data") && json_integer_value (json_object_get (line, "dropped")) == 7);
    json_decref (line);
    json_t *tag = json_pack ("{s:[i]}", "k", 1);
    line = s_parsed (lines, false, 3, 0, tag);
    ZC_CHECK (line && json_equal (json_object_get (line, "tag"), tag));
    ZC_CHECK_STR (json_string_value (json_object_get (line, "data")), "");
    json_decref (line);
    ZC_CHECK (zc_publine_item (lines, 4, 0, NULL, &size) == NULL);

    //  A batch: all as text, or all in base64 when one is not UTF-8.
    line = s_parsed (lines, true, 0, 0, NULL);
    json_t *array = json_object_get (line, "data_b64");
    ZC_CHECK (json_array_size (array) == 4 && !json_object_get (line, "data"));
    ZC_CHECK_STR (json_string_value (json_array_get (array, 0)), "cGxhaW4=");
    ZC_CHECK_STR (json_string_value (json_array_get (array, 2)), "//4=");
    ZC_CHECK (json_integer_value (json_object_get (line, "seq")) == 41);
    json_decref (line);
    line = s_parsed (lines, true, 3, 2, tag);
    array = json_object_get (line, "data");
    ZC_CHECK (json_array_size (array) == 1 && json_integer_value (json_object_get (line, "seq")) == 44);
    ZC_CHECK (json_integer_value (json_object_get (line, "dropped")) == 2 && json_equal (json_object_get (line, "tag"), tag));
    json_decref (line);
    zc_publine_destroy (&lines);

    //  Without a log stream's numbers, no "seq"; retained says so.
    msg->seq = 0;
    msg->retain = 60;
    lines = zc_publine_new (msg, items, 2, ZC_PUB_UNSIGNED);
    line = s_parsed (lines, true, 0, 0, NULL);
    array = json_object_get (line, "data");
    ZC_CHECK (json_array_size (array) == 2 && !json_object_get (line, "seq"));
    ZC_CHECK (json_is_true (json_object_get (line, "retained")));
    ZC_CHECK_STR (json_string_value (json_object_get (line, "auth")), "unsigned");
    ZC_CHECK_STR (json_string_value (json_array_get (array, 1)), "q\"uote\\ \n\x01 \xc3\xa9");
    json_decref (line);
    ZC_CHECK (zc_publine_batch (lines, 2, 0, NULL, &size) == NULL);
    zc_publine_destroy (&lines);
    zc_publine_destroy (&lines);
    json_decref (tag);
    zc_wire_destroy (&msg);
    return ZC_TEST_END;
}
