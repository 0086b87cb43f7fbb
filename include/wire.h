/*  wire.h — the byte layout of every message between agents and hubs
    (doc/PROTOCOL.md is the reference; this is the only module that knows
    it). A message is one ZeroMQ frame: a header (fixed part, addressing
    and small typed fields) and, for some types, an opaque payload that
    hubs forward without looking inside. (One frame, not two: CURVE seals
    every frame on its own, so a second frame cost a second box at every
    hop, and its bytes.)

    Decoders never trust their input: every length is bounded, names are
    validated, and a malformed message returns -1 (the caller counts and
    drops it).
*/
#ifndef ZC_WIRE_H
#define ZC_WIRE_H
#include "prelude.h"
#include <czmq.h>
#include "id.h"
#include "job.h"

#define ZC_WIRE_SIGNATURE 0xC5
#define ZC_WIRE_VERSION   6             //  2: the payload shares the header's frame;
                                        //  3: CREDIT, REQs in chunks, no whole payload over 16 KiB;
                                        //  4: PUB, SUB, UNSUB, INTEREST;
                                        //  5: STREAM (output chunks and their ACKs), http_status
                                        //     in a REPLY, facts in HELLO/NODES/ROUTES;
                                        //  6: STREAM chunks up to 256 KiB on fast paths;
                                        //     ENROLL (key enrollment, enroll.h)
#define ZC_WIRE_HOPS      8             //  initial hop limit
#define ZC_WIRE_MAX_TARGETS 65535
#define ZC_WIRE_MAX_PAYLOAD (64u << 20)
//  A REQ or REPLY whose payload is larger travels in chunks (bulk.h) of
//  at most this many bytes of it.
#define ZC_WIRE_MAX_WHOLE   (16u << 10)
//  A hub path ("via"): at most ZC_PATH_MAX_HUBS hub names joined by '>'
//  (a message crosses at most ZC_WIRE_HOPS - 1 hubs).
#define ZC_PATH_MAX_HUBS    (ZC_WIRE_HOPS - 1)
#define ZC_VIA_MAX          (ZC_PATH_MAX_HUBS * ZC_NAME_SIZE)  //  bytes
//  A PUB's subject, a SUB's pattern: at most this many bytes (subject.h
//  checks the rest).
#define ZC_WIRE_MAX_SUBJECT 256
//  A result's HTTP status (http_get): 0 (none) up to this.
#define ZC_WIRE_MAX_HTTP_STATUS 999

typedef enum {
    ZC_MSG_HELLO = 1,       //  peer -> hub: my name; on handshake and periodically
    ZC_MSG_NODES,           //  hub -> agent: directory entries (payload)
    ZC_MSG_ROUTES,          //  hub <-> hub: names reachable through the sender (payload as NODES)
    ZC_MSG_PRESENCE,        //  hub -> origin: names now reachable (online=1) or gone
    ZC_MSG_REQ,             //  origin -> targets: a job (payload: args, data)
    ZC_MSG_ACK,             //  target -> origin: job stored; origin -> target: reply stored
    ZC_MSG_NOROUTE,         //  hub -> origin: these targets are not reachable now
    ZC_MSG_STARTED,         //  target -> origin: job is running
    ZC_MSG_REPLY,           //  target -> origin: the result (payload)
    ZC_MSG_STREAM,          //  target -> origin: an output chunk 'seq' (payload);
                            //  flagged STREAM_ACK, origin -> target: chunks up to 'seq' taken
    ZC_MSG_CANCEL,          //  origin -> target (reserved)
    ZC_MSG_ERROR,           //  hub -> peer: a refusal with a code and text
    ZC_MSG_PUB,             //  a publication on a subject (payload: pub envelope)
    ZC_MSG_SUB,             //  agent -> hub: patterns it subscribes to
    ZC_MSG_UNSUB,           //  agent -> hub: patterns it no longer subscribes to
    ZC_MSG_PING,            //  to a node (or, with no target, to the hub)
    ZC_MSG_PONG,
    ZC_MSG_BYE,             //  peer -> hub: leaving (a clean exit): offline now
    ZC_MSG_CREDIT,          //  link-local: a flow-control mark, or its echo (flow.h)
    ZC_MSG_INTEREST,        //  hub <-> hub: which hubs want which patterns (payload)
    ZC_MSG_STORED,          //  collector -> publisher: a log stream stored up to 'seq'
    ZC_MSG_ENROLL,          //  agent -> hub: trust my key (name, role, keys; enroll.h)
    ZC_MSG_TYPE_COUNT
} zc_msg_type_t;

//  Flags.
#define ZC_FLAG_FULL  0x01          //  NODES, ROUTES, INTEREST: the whole table, not a delta;
                                    //  SUB: all the sender subscribes to (the rest goes);
                                    //  HELLO: please answer with the whole directory
#define ZC_FLAG_ECHO  0x01          //  CREDIT: the answer to the peer's mark (flow.h)
//  REQ, ACK, STARTED, REPLY about a job in a relay's custody (relay_via);
//  'names' then holds the other party:
#define ZC_FLAG_CUSTODY 0x02        //  between origin and relay: the final targets
#define ZC_FLAG_RELAYED 0x04        //  between relay and target: the origin
#define ZC_FLAG_MORE    0x10        //  ROUTES, INTEREST flagged FULL: more of the table follows
#define ZC_FLAG_CHUNK   0x08        //  REQ, REPLY: a chunk of a large one; ACK: how
                                    //  much of it arrived (src/bulk.c)
#define ZC_FLAG_TAGS    0x40        //  REQ: a 16-byte tag per target follows the header
                                    //  fields (src/seal.c: a job for several targets)
#define ZC_FLAG_CLEAR   0x20        //  PUB: a retained one that clears its subject
#define ZC_FLAG_STREAM_ACK 0x01      //  STREAM: an acknowledgment (no payload), not a chunk
#define ZC_FLAG_GAP     0x01        //  PUB of a log stream: the lines before 'seq' are gone
                                    //  (dropped at the publisher): a collector goes on from it;
                                    //  ERROR JOB_EVENT: likewise for error events
#define ZC_FLAG_REFUSED 0x20        //  REPLY: the target refused a copy of the job
                                    //  it could not authenticate (a later result of
                                    //  the job replaces this one); covered by the
                                    //  envelope (src/seal.c)

//  ERROR codes.
#define ZC_ERR_BAD_NAME     1       //  HELLO claimed a name its key is not bound to
#define ZC_ERR_MALFORMED    2
#define ZC_ERR_NOT_HELLO    3       //  traffic before a valid HELLO
#define ZC_ERR_DUPLICATE    4       //  the name is connected already, on another live connection
#define ZC_ERR_REFUSED      5       //  a PUB, SUB or UNSUB the hub does not take (text: why)
#define ZC_ERR_VERSION      6       //  the message was of another wire version (text: both)
#define ZC_ERR_PENDING      7       //  ENROLL taken: the key waits for an operator (text: how)
#define ZC_ERR_JOB_EVENT    100     //  agent -> its error_node: an error event (text: JSON;
                                    //  flag GAP: none before it; errqueue.h)

typedef struct {
    uint8_t type, flags, hops;
    zc_id_t id;
    char from [ZC_NAME_SIZE];             //  stamped by the first hub; "" from an agent
    zlist_t *to;                //  target names (char *, autofree); may be empty
    //  Typed header fields; which ones a type uses is in PROTOCOL.md.
    char name [ZC_NAME_SIZE];             //  HELLO: claimed name
    uint8_t method;             //  REQ: zc_method_t
    uint32_t method_timeout;    //  REQ: s
    uint32_t expire;            //  REQ: s after creation
    uint8_t online;             //  PRESENCE
    zlist_t *names;             //  NOROUTE, PRESENCE; CUSTODY, RELAYED (char *, autofree)
    uint16_t code;              //  ERROR
    uint64_t credit;            //  CREDIT: the mark's serial number
    char *subject;              //  PUB, STORED: the subject (malloc'd)
    uint32_t retain;            //  PUB: s the hubs keep it (0: not kept)
    uint64_t seq;               //  PUB: the first item's number in its log stream (0:
                                //  not a stream); STORED: the last one stored;
                                //  STREAM: the chunk's number (from 1), or with
                                //  STREAM_ACK the last one taken
    zlist_t *patterns;          //  SUB, UNSUB (char *, autofree)
    char *text;                 //  ERROR (malloc'd)
    uint8_t role;               //  ENROLL: 0 agent, 1 hub (the cert's role)
    uint8_t curve_key [32];     //  ENROLL: the sender's CURVE public key
    uint8_t sign_key [32];      //  ENROLL: the sender's Ed25519 public key
    zframe_t *payload;          //  REQ, REPLY, NODES, ROUTES, PUB, INTEREST; ACK and HELLO
                                //  (optional: more IDs; the facts set, facts.h); NULL when absent
    zhashx_t *tags;             //  REQ flagged TAGS: target name -> its tag; NULL otherwise
} zc_wire_t;

#define ZC_WIRE_TAG_SIZE 16
//  A REQ flagged TAGS carries one tag per target in 'to' (with flag
//  CUSTODY: per final target in 'names'), in its order; a hub that sends
//  a copy to some of the targets sends only their tags.
//  Sets (copies) the tag of 'name'.
void zc_wire_set_tag (zc_wire_t *self, const char *name, const uint8_t *tag);
//  The tag of 'name', or NULL.
const uint8_t *zc_wire_tag (zc_wire_t *self, const char *name);

//  A new empty message of a type with a fresh ID and full hop limit.
zc_wire_t *zc_wire_new (zc_msg_type_t type);
void zc_wire_destroy (zc_wire_t **self_p);
//  A copy of every field but the payload; with 'only', addressed to that
//  one target (and, for a tagged REQ, carrying only its tag).
zc_wire_t *zc_wire_dup_header (zc_wire_t *self, const char *only);

//  Encodes into a new zmsg of one frame (header, then the payload if
//  any, copied); self is unchanged.
zmsg_t *zc_wire_encode (zc_wire_t *self);
//  Encodes *self_p and destroys it; *bulk says whether it was a chunk
//  (zc_wire_is_bulk). NULL (errno EINVAL) when it could not be encoded.
zmsg_t *zc_wire_encode_take (zc_wire_t **self_p, bool *bulk);
//  Decodes the frame 'first' of msg, which must be its last (the frames
//  before it, e.g. a ROUTER's routing id, are not looked at). NULL when
//  malformed; *reason (optional) gets a static description for the log.
zc_wire_t *zc_wire_decode (zmsg_t *msg, zframe_t *first, const char **reason);
//  The wire version of a zcnc message that 'first' starts (its second
//  byte, after the signature), or -1 when it does not start like one: a
//  peer of another release is then told so, not that it sent garbage.
int zc_wire_version_of (zframe_t *first);
//  Sends and destroys *self_p on a socket, after 'routing_id' if non-NULL.
//  Returns 0, or -1 when the socket would not take it (errno kept).
int zc_wire_send (zc_wire_t **self_p, zsock_t *sock, zframe_t *routing_id);
const char *zc_wire_type_name (uint8_t type);
//  True for a chunk of a large REQ or REPLY: bulk, which links let small
//  messages pass (flow.h).
bool zc_wire_is_bulk (const zc_wire_t *self);

//  Payload codecs. Each encoder returns a new frame; each decoder returns
//  0 or -1 on malformed input, leaving outputs NULL on failure.
//  REQ: the argument strings and the stdin data.
zframe_t *zc_wire_req_payload (zlist_t *args, const uint8_t *data, size_t size);
//  The same with a schedule section when schedule is not NULL and has
//  runs (NULL, logged, when that schedule is not valid).
zframe_t *zc_wire_req_payload_scheduled (zlist_t *args, const uint8_t *data, size_t size,
                                         const zc_schedule_spec_t *schedule);
//  Decodes the arguments and data; a schedule section is checked, not
//  returned (zc_wire_req_payload_schedule reads it).
int zc_wire_req_payload_decode (zframe_t *frame, zlist_t **args, uint8_t **data, size_t *size);
//  The schedule of a REQ payload (count 0 when it has none), without
//  copying its arguments or data. 0, or -1 (schedule zeroed) when the
//  payload is malformed.
int zc_wire_req_payload_schedule (zframe_t *frame, zc_schedule_spec_t *schedule);
//  REPLY: a result.
zframe_t *zc_wire_result_payload (const zc_result_t *result);
int zc_wire_result_payload_decode (zframe_t *frame, zc_result_t **result);
//  STREAM: one chunk of a job's output (inside the end-to-end envelope):
//  which stream it is from (ZC_STREAM_STDOUT or _STDERR) and its bytes.
#define ZC_STREAM_STDOUT 1
#define ZC_STREAM_STDERR 2
//  A piece of a file a copy sends (copy.h): its 32-byte SHA-256, then
//  its bytes (at most ZC_STREAM_MAX_CHUNK - 32).
#define ZC_STREAM_COPY   3
#define ZC_STREAM_HASH   32
//  Bytes of output in one chunk at most: with its stream byte and the
//  envelope it stays within ZC_WIRE_MAX_STREAM. The sender cuts chunks
//  by the rate its acknowledgments come back at (streamout.h): on a slow
//  path they stay at ZC_STREAM_SMALL_CHUNK, within ZC_WIRE_MAX_WHOLE, so
//  a small job waits behind no more than one of them on a slow link.
#define ZC_WIRE_MAX_STREAM    (256u << 10)
#define ZC_STREAM_MAX_CHUNK   (ZC_WIRE_MAX_STREAM - 64)
#define ZC_STREAM_SMALL_CHUNK (ZC_WIRE_MAX_WHOLE - 64)
zframe_t *zc_wire_stream_payload (int stream, const uint8_t *bytes, size_t size);
//  Points *bytes into 'frame'. -1 for an unknown stream, an empty frame,
//  more than ZC_STREAM_MAX_CHUNK bytes, or a COPY piece without its hash.
int zc_wire_stream_payload_decode (zframe_t *frame, int *stream, const uint8_t **bytes, size_t *size);
//  ACK: the IDs of more jobs this ACK acknowledges besides its own ID, so
//  that one message answers a whole batch. 16 bytes each, at most:
#define ZC_WIRE_MAX_ACK_IDS 1024
zframe_t *zc_wire_ids_payload (const zc_id_t *ids, size_t count);
int zc_wire_ids_payload_decode (zframe_t *frame, zc_id_t **ids, size_t *count);
//  NODES (hub -> agent) and ROUTES (hub <-> hub): directory entries.
typedef struct {
    char name [ZC_NAME_SIZE];
    bool online;
    uint64_t last_seen;         //  s since the epoch
    char via [ZC_VIA_MAX];      //  the hub path that reaches it: "hub1>site2", or ""
    //  What the node advertises, a facts set (facts.h), or NULL (size 0)
    //  when not known here or, in a NODES change, not changed. Borrowed:
    //  it points into what the entry came from (a decoded frame, the
    //  directory), which must outlive it.
    const uint8_t *facts;
    size_t facts_size;
    bool facts_changed;         //  zc_directory_take_changes: the facts changed too
} zc_node_entry_t;
//  Encodes entries; NULL (logged) when a name, via or facts set is invalid.
zframe_t *zc_wire_nodes_payload (const zc_node_entry_t *entries, size_t count);
//  Decodes entries; their facts point into 'frame'.
int zc_wire_nodes_payload_decode (zframe_t *frame, zc_node_entry_t **entries, size_t *count);

//  SUB and UNSUB: at most this many patterns in one message.
#define ZC_WIRE_MAX_PATTERNS 1024

//  INTEREST (hub <-> hub): hub 'hub' wants what matches 'pattern', and
//  is reached through the hub path 'via' (which ends with it), or no
//  longer (online false).
typedef struct {
    char hub [ZC_NAME_SIZE];
    char pattern [ZC_WIRE_MAX_SUBJECT + 1];
    bool online;
    char via [ZC_VIA_MAX];
} zc_interest_entry_t;
zframe_t *zc_wire_interest_payload (const zc_interest_entry_t *entries, size_t count);
int zc_wire_interest_payload_decode (zframe_t *frame, zc_interest_entry_t **entries, size_t *count);

//  PUB: the publisher's envelope (src/pubseal.c: mode and signature) and
//  its items, the messages it publishes at once on that subject (each
//  possibly empty). Encoded at most ZC_WIRE_MAX_WHOLE bytes.
#define ZC_WIRE_PUB_SIGNATURE 64
#define ZC_WIRE_MAX_ITEMS     1024
typedef struct {
    const uint8_t *data;
    size_t size;
} zc_pub_item_t;
typedef struct {
    uint8_t mode;                           //  0 unsigned, 1 signed (src/pubseal.c)
    uint8_t signature [ZC_WIRE_PUB_SIGNATURE];  //  when signed
    zlist_t *items;                         //  to encode: zframe_t (owned), or NULL and then...
    zc_pub_item_t *item;                    //  ...'count' items; decoded: these, pointing
    size_t count;                           //  into the frame (the array owned)
    const uint8_t *covered;                 //  decoded: the bytes the signature covers
    size_t covered_size;                    //  (in the decoded frame)
} zc_pub_payload_t;
//  Encodes the items after the mode (and signature); the covered bytes
//  are the items' encoding, which zc_wire_pub_items gives alone.
zframe_t *zc_wire_pub_payload (const zc_pub_payload_t *payload);
zframe_t *zc_wire_pub_items (zlist_t *items);
//  Decodes into *payload: its items point into 'frame', which must
//  outlive them; no copy is made (zc_wire_pub_payload_clear frees the
//  array). 'covered' points into 'frame' too.
int zc_wire_pub_payload_decode (zframe_t *frame, zc_pub_payload_t *payload);
//  Frees the decoded array and the list to encode with its frames.
void zc_wire_pub_payload_clear (zc_pub_payload_t *payload);

//  Storage records: what the agent's store keeps, in the same careful
//  codec. Frames in a record are owned by whoever holds the record.
//  A job sent from here (outbox); its key is the job ID.
typedef struct {
    uint8_t state;              //  zc_state_t
    uint8_t method;
    char node [ZC_NAME_SIZE];             //  the target
    uint32_t tries, retries, method_timeout, expire;
    uint32_t ack_timeout_ms, retry_wait_ms;
    zframe_t *payload;          //  the REQ payload (args, data); NULL once final
    zframe_t *result;           //  a REPLY payload, or NULL
    char relay [ZC_NAME_SIZE];            //  the agent holding it in custody (relay_via), or ""
    char custody_for [ZC_NAME_SIZE];      //  at a relay: the origin it holds the job for, or ""
    bool result_delivered;      //  at a relay: the origin ACKed the result
    //  At the origin: the message's reply method, and whether it still
    //  has to act on the result (replyto.h). Decoding makes a new spec
    //  (zc_reply_spec_clear frees it); encoding only reads it.
    zc_reply_spec_t reply;
    bool reply_pending;
    //  At the origin, a run of a schedule: the schedule (count 0: the
    //  job has none) and which run it is (0: the one sent).
    zc_schedule_spec_t schedule;
    uint32_t run;
} zc_job_record_t;
zframe_t *zc_wire_job_record (const zc_job_record_t *record);
int zc_wire_job_record_decode (zframe_t *frame, zc_job_record_t *record);

//  A job received to run here (inbox); its key is ULID.origin.
//  STARTING: stored before its process is spawned (after that commit), so
//  a crash in between is seen as "may have run", never run again.
typedef enum { ZC_TASK_RECEIVED, ZC_TASK_RUNNING, ZC_TASK_FINISHED, ZC_TASK_STARTING } zc_task_state_t;
typedef struct {
    uint8_t state;              //  zc_task_state_t
    bool reply_acked;
    uint8_t method;
    uint32_t method_timeout, expire;
    int32_t pgid;               //  while running: its process group
    uint64_t start_ticks;       //  and the leader's start time (clock ticks since boot)
    zframe_t *payload;          //  the REQ payload until the job started
    zframe_t *result;           //  a REPLY payload once finished
    char relay [ZC_NAME_SIZE];            //  the relay it came through (answers go there), or ""
} zc_task_record_t;
zframe_t *zc_wire_task_record (const zc_task_record_t *record);
int zc_wire_task_record_decode (zframe_t *frame, zc_task_record_t *record);
//  Only the fixed fields (state to start_ticks; payload and result stay
//  NULL), without copying: what a scan of many records needs.
int zc_wire_task_record_peek (const void *data, size_t size, zc_task_record_t *record);

//  A schedule received here (schedule.h); its key is its run 0's,
//  ULID.origin. What every later run needs, and how far it went.
typedef struct {
    uint8_t method;
    uint32_t method_timeout, expire;
    zc_schedule_spec_t schedule;
    uint32_t next;              //  the next run to start; schedule.count once all did
    uint64_t start_ms;          //  wall clock, ms since the epoch: when run 0 started
    zframe_t *payload;          //  the REQ payload without its schedule section
} zc_schedule_record_t;
zframe_t *zc_wire_schedule_record (const zc_schedule_record_t *record);
int zc_wire_schedule_record_decode (zframe_t *frame, zc_schedule_record_t *record);

//  A directory entry; its key is the name. Decoded facts point into 'frame'.
zframe_t *zc_wire_node_record (const zc_node_entry_t *entry);
int zc_wire_node_record_decode (zframe_t *frame, zc_node_entry_t *entry);

//  The payload of a REQ or REPLY flagged CHUNK (bulk.h): [u32 offset][u32 total]
//  and 'size' bytes of the whole payload from 'offset'. Decoding points
//  *bytes into the frame; -1 (fields zeroed) when it is too short for
//  the two counts. The caller checks the counts against each other.
zframe_t *zc_wire_chunk_payload (size_t offset, size_t total, const uint8_t *bytes, size_t size);
int zc_wire_chunk_payload_decode (zframe_t *frame, size_t *offset, size_t *total,
                                  const uint8_t **bytes, size_t *size);
//  The payload of an ACK flagged CHUNK: the type of the chunked message
//  (REQ or REPLY) and the u32 count of bytes held in a row. -1 unless it
//  is exactly that.
zframe_t *zc_wire_count_payload (uint8_t type, size_t count);
int zc_wire_count_payload_decode (zframe_t *frame, uint8_t *type, size_t *count);

//  How a module hands a message to the hub link: destroys it either
//  way; -1 when the link would not take it (it is down).
typedef int (zc_link_send_fn) (zc_wire_t **msg_p, void *arg);

int zc_wire_test (bool verbose);
#endif
