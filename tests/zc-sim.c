/*  zc-sim.c — a node simulator: many agents in one process (issue 14).

        zc-sim keygen --keys DIR --prefix NAME --count N [--first K]
        zc-sim run --keys DIR --hub HUB@ENDPOINT --prefix NAME --count N [options]

    `keygen` writes the key pairs of nodes NAME-00001 ... (from K, five
    digits at least) into DIR, in exactly the format of `zcnc keygen`
    (it calls the same function, zc_keygen): NAME.cert and
    NAME.cert_secret, with the CURVE pair and the Ed25519 signing pair.
    A hub accepts a node only when its NAME.cert is in the hub's keys
    directory.

    `run` makes each node a real agent's link to ONE hub: its own key
    pair and cert, its own DEALER and CURVE session, and on that link
    what a real agent sends and answers (src/uplink.c, src/agent.c,
    src/runner.c), through the project's own codecs and envelopes
    (libzcnc.a):
      - HELLO (flagged FULL until welcomed) when the handshake completes
        and every heartbeat; the hub's welcome (PONG flagged FULL) takes
        the link up, and is answered with a SUB flagged FULL (--sub
        patterns, possibly none), as the agent's pub/sub does; a hub
        silent for peer_timeout, or saying NOT_HELLO, takes it down;
      - flow control (src/flow.c): marks after what it sends, each
        heartbeat while bytes are unmarked, and echoes of the hub's marks;
      - a PING for the node is answered PONG;
      - a REQ is opened with the node's seal (src/seal.c: a tag or a
        sealed envelope, the origin's cert from the keys directory); one
        that does not open gets the denied REPLY flagged REFUSED; a new
        `ping` or `exec` is answered with its REPLY (which counts as the
        ACK, as the agent does for a job done within 50 ms), a job still
        running after 50 ms with STARTED first; a resent REQ is ACKed
        and its REPLY sent again, never run twice (from a small cache of
        each node's last jobs); a REPLY is sent again every 10 s until
        the origin ACKs it, at once on a PRESENCE of the origin and when
        the link comes back, after 60 s on a NOROUTE; ACKs with batches
        of IDs count for each; jobs and results through a custody relay
        (RELAYED) are answered through it, sealed twice; large REQs and
        REPLYs travel in chunks (src/bulk.c);
      - at exit (SIGTERM, SIGINT) a BYE from each welcomed node.

    What it skips, compared with a real agent (also in --help). These
    make its figures differ where said:
      - No store (LMDB): jobs, results and dedup entries live in memory.
        ACKs and STARTED leave at once, not after a committed (fsync'd)
        batch: round trips through it lack that commit. A restarted
        simulator forgets everything (a job resent after that runs again).
      - The dedup cache holds the last --cache jobs of each node (default
        16, more while their results are not ACKed); a real agent
        remembers each job until its expire plus skew.
      - No outbox (durable retry queue): it never originates jobs. Results
        not yet ACKed are resent from memory and lost at exit.
      - No policy: every trusted origin may run ping and exec.
      - exec without --fork is not run: it is answered at once as done,
        exit 0, empty output (so exec figures then measure zcnc alone).
        With --fork the command really runs through the project's exec
        module (/bin/sh -c, its own process group, output captured), with
        a default context (no run_as_user, workdir, env, pass_env), and
        at most --max-procs at once (the others wait their turn).
      - Other methods (exec_stream, tail, http_get, copy, jobs, cancel)
        are answered failed, "not supported by zc-sim".
      - No custody: a REQ flagged CUSTODY (relay_via naming a simulated
        node) is counted and dropped.
      - No socket, readfolder, startup messages, node directory (NODES
        are counted), pub/sub delivery (PUBs are counted, not verified),
        log shipping, error_node events, audit log; one hub per node.
      - Handshakes: a node's socket monitor (two more sockets) lives only
        while its handshake is under way, for at most --pending nodes at
        once; a refused key is dialled again after 1 s, doubling to 60 s,
        as the agent's link does. A node beyond that (one that lost its
        connection, or when descriptors run short) infers a refusal from
        no handshake within --handshake + 5 s. A handshake is seen as
        the DEALER becoming writable (ZMQ_IMMEDIATE gives it a pipe only
        then), a lost connection as it ceasing to be.
      - Memory and CPU per node are the simulator's, not an agent's:
        one process, one libzmq context for all nodes.

    Scale. Each node costs two file descriptors (its socket's mailbox and
    its TCP connection): RLIMIT_NOFILE is raised to its hard limit, and
    the nodes beyond what it allows are counted as could not start (run
    several processes with --first). The nodes dial at most --rate per
    second and while fewer than --pending handshakes are under way, so
    the join goes at the hub's pace. The loop does not poll every socket
    each turn: each socket's ZMQ_FD sits in one epoll set, polled by a
    zloop as one fd, and only sockets whose fd fired, or that were sent
    to since (a send may take the signal of a message that arrived), are
    looked at. libzmq 4.3.4 cancels a timer in time linear in the timers
    of its I/O thread, and each link's heartbeats add and cancel some:
    the nodes are spread over several I/O threads (--io-threads).

    Output (stdout): "up N of N in S s" once every node that started is
    welcomed; a status line (--json: a JSON object) every --status-every
    seconds, on SIGUSR1 and at exit. Logs go to stderr.

    Bytes received per node: libzmq reads each node's TCP connection on
    its I/O thread and hands over whole messages, so the byte count of a
    node's socket is out of reach here. Each node counts instead what it
    receives from libzmq: the messages and the sum of their frames' sizes
    (zcnc's headers and payloads, after CURVE). What TCP carried is more:
    the CURVE handshake and, per frame, ZMTP's framing and CURVE's box
    (about 35 bytes), and libzmq's own PINGs and PONGs, none of which
    libzmq hands over. The counts start with the run and start again on
    SIGUSR2 (a window: from a hub's restart until all are back up, say);
    the status gives their sum, the most one node received and the
    median over the nodes started, and --received-file writes each
    node's, to combine several processes.
*/
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include "prelude.h"
#include "bulk.h"
#include "config.h"
#include "daemon.h"
#include "exec.h"
#include "flow.h"
#include "id.h"
#include "job.h"
#include "keys.h"
#include "log.h"
#include "runner.h"
#include "seal.h"
#include "signals.h"
#include "subject.h"
#include "uplink.h"
#include "wire.h"

//  As a real agent does (src/runner.c, src/uplink.c, src/agent.c).
#define S_REPLY_RESEND_MS   10000   //  a REPLY not ACKed is sent again after this
#define S_ACK_GRACE_MS      50      //  a job done by then sends only its REPLY
#define S_NOROUTE_RETRY_MS  60000   //  a result the hub could not route is tried again
#define S_REDIAL_MIN_MS     1000    //  first wait before dialling again after a refusal
#define S_REDIAL_MAX_MS     60000
#define S_BYE_LINGER_MS     500     //  how long a closing link may take to send its BYE
#define S_LINK_BUDGET       (32u << 20)     //  what a link to the hub may hold (flow.h)
//  The simulator's own.
#define S_TICK_MS           50      //  dial waves, heartbeats, resends
#define S_RECV_BATCH        64      //  messages taken from one node per visit
#define S_VISITS_PER_TURN   4096    //  node visits per turn of the loop
#define S_EPOLL_BATCH       512
#define S_HANDSHAKE_GRACE_MS 5000   //  beyond the handshake interval: refused
#define S_FD_RESERVE        16      //  descriptors kept for the rest (logs, /proc, ...)
#define S_FDS_PER_PROC      8       //  ... and per command running at once (pipes, pidfd)
#define S_NAME_DIGITS       5
#define S_NODES_PER_IO_THREAD 2000  //  by default: one more I/O thread per this many, at most 4
#define S_KICK_KEY          UINT64_MAX  //  the wake-up fd's key in the epoll set; a
                                        //  node's are 2 x its index (+1: its monitor)

static const char *s_usage =
"usage: zc-sim keygen --keys DIR --prefix NAME --count N [--first K]\n"
"       zc-sim run --keys DIR --hub HUB@ENDPOINT --prefix NAME --count N [options]\n"
"\n"
"keygen writes the key pairs of NAME-00001 ... NAME-0000N (from K with --first)\n"
"into DIR, as `zcnc keygen NAME -d DIR` does for each.\n"
"\n"
"run holds N simulated agents (nodes NAME-0000K ...), each with its own key pair,\n"
"DEALER and CURVE session to the hub HUB at ENDPOINT (DIR/HUB.cert pins its key;\n"
"DIR also holds the nodes' secrets and the certs of the agents sending jobs).\n"
"Options of run:\n"
"  --cache N            jobs remembered per node for dedup (default 16)\n"
"  --count N            how many nodes (1..100000)\n"
"  --first K            number of the first node (default 1)\n"
"  --fork               really run exec jobs (/bin/sh -c); default: answer them\n"
"                       done, exit 0, empty output, without running anything\n"
"  --handshake SECS     CURVE handshake limit (default 30); a refused handshake,\n"
"                       or none within SECS + 5, is dialled again after 1 s,\n"
"                       doubling up to 60 s\n"
"  --heartbeat SECS     HELLO interval (default 2, as an agent)\n"
"  --io-threads N       libzmq I/O threads (default: one per 2000 nodes, 1 to 4)\n"
"  --json               status lines as JSON objects\n"
"  --max-procs N        with --fork: commands running at once (default 32)\n"
"  --no-e2e             as an agent with e2e = off (takes and sends clear envelopes)\n"
"  --no-zmtp-heartbeats a diagnostic, not what an agent does: no libzmq PING/PONG\n"
"                       from the nodes (zcnc's HELLOs still go)\n"
"  --peer-timeout SECS  a hub silent this long is gone (default 10)\n"
"  --pending N          handshakes under way at most (default 256): a node dials\n"
"                       when one of them is done, at most --rate per second\n"
"  --rate N             nodes dialled per second (default 500)\n"
"  --received-file FILE with each status, FILE gets a line per node started:\n"
"                       NAME BYTES MESSAGES received in the window (below)\n"
"  --reconnect SECS     libzmq's reconnect interval (default 0.1, max 5)\n"
"  --status-every SECS  print the counters this often (default: on SIGUSR1 only)\n"
"  --sub PATTERN        subscribe every node to PATTERN (repeatable)\n"
"  -v, --verbose        debug lines on stderr\n"
"\n"
"Output: \"up N of N in S s\" once every node that started is welcomed by the\n"
"hub; the counters on SIGUSR1, every --status-every and at exit (SIGTERM, SIGINT).\n"
"Bytes received per node (rx_*): the messages libzmq hands over and the sizes of\n"
"their frames (after CURVE; without the handshake, framing and libzmq's PINGs),\n"
"counted from the start and again from each SIGUSR2 (a window).\n"
"\n"
"What a node skips, compared with a real agent:\n"
"  - no store (LMDB): jobs and results live in memory; ACKs and STARTED leave\n"
"    at once, not after an fsync'd commit (round trips lack that commit)\n"
"  - dedup from the last --cache jobs per node, not until expire + skew\n"
"  - no outbox (durable retry queue): it never sends jobs; unACKed results are\n"
"    resent from memory and lost at exit\n"
"  - no policy: every trusted origin may run ping and exec\n"
"  - exec without --fork is not run (done, exit 0, empty output); with --fork it\n"
"    runs with a default exec context, at most --max-procs at once\n"
"  - other methods are answered failed; custody (relay_via) is not taken\n"
"  - no socket, readfolder, directory, pub/sub delivery (PUBs counted), logs\n"
"  - handshakes are watched (socket monitor) only while under way, --pending at\n"
"    most; a node beyond that infers a refusal from no handshake within\n"
"    --handshake + 5 s; a lost connection is seen as the socket ceasing to be\n"
"    writable\n"
"  - memory and CPU are one process's for all nodes, not an agent's each\n";

typedef struct _s_sim_t s_sim_t;
typedef struct _s_node_t s_node_t;
typedef struct _s_task_t s_task_t;

//  A job received by a node: answered, running, or waiting its turn to
//  fork; kept for dedup after its result is ACKed.
struct _s_task_t {
    s_node_t *node;
    s_task_t *next;             //  the node's tasks, newest first
    zc_id_t id;
    char origin [ZC_NAME_SIZE];
    char relay [ZC_NAME_SIZE];  //  the custody relay it came through, or ""
    uint8_t method;
    uint32_t method_timeout;
    zc_result_t *result;        //  NULL until it finished
    zc_exec_t *proc;            //  --fork: the command (kept until the task goes)
    char *command;              //  --fork, waiting its turn: what to run
    uint8_t *data;
    size_t data_size;
    bool queued;                //  in the fork queue
    bool reply_acked;
    uint64_t reply_next_try;    //  monotonic ms; 0 = wait for the origin's presence
    int grace_timer;            //  the 50 ms before STARTED, or -1
    void *unacked_handle;       //  in sim->unacked while its REPLY waits for an ACK
};

struct _s_node_t {
    s_sim_t *sim;
    uint32_t number;
    char name [ZC_NAME_SIZE];
    zsock_t *dealer;            //  NULL until dialled (or when it could not be)
    zsock_t *monitor;           //  the DEALER's events while a handshake is under way, or NULL
    zc_seal_t *seal;
    zc_flow_t *flow;
    zc_bulk_t *bulk;            //  large messages, made when the first comes
    bool failed;                //  could not start (keys, descriptors)
    bool handshaken;            //  the DEALER has a pipe: a handshake completed
    bool up;                    //  the hub welcomed us
    bool in_ready;              //  in the ready queue
    s_node_t *ready_next;
    uint64_t dialled_at;        //  monotonic ms of the dial, or of the last loss
    uint64_t last_heard;
    uint64_t next_heartbeat;
    uint64_t redial_at;         //  0, or when to dial again after no handshake
    int redial_backoff;
    bool refusal_counted;       //  this no-handshake episode is counted
    uint32_t logged_codes;      //  ERROR codes from the hub already logged
    s_task_t *tasks;            //  newest first
    size_t task_count;
    uint32_t reqs;              //  new jobs taken (each job once)
    uint64_t rx_bytes;          //  frames' bytes received in the window (SIGUSR2 starts one)
    uint64_t rx_messages;       //  messages received in the window
};

typedef struct {
    uint64_t could_not_start, handshakes, disconnects, welcomed, downs, no_handshake, redials;
    uint64_t reqs, duplicates, refused, unsupported, custody;
    uint64_t replies, reply_resends, started, acks_sent, acks_received, acks_unknown;
    uint64_t pongs, pubs, nodes, credits, hub_errors, malformed, send_failed, ignored;
    uint64_t forked, fork_failed, chunks;
} s_counters_t;

struct _s_sim_t {
    zc_config_t *config;        //  link settings, range-checked by the config module
    const char *keys, *prefix, *hub_arg;
    char hub_name [ZC_NAME_SIZE];
    const char *endpoint;
    zc_key_t hub_key;
    zc_keyring_t *keyring;      //  DIR's certs: the origins of jobs
    uint64_t keyring_stamp;
    int64_t keyring_read_at;
    uint32_t first, count;
    uint32_t fit;               //  nodes (and monitors: two descriptors each) that fit
    s_node_t *nodes;
    zloop_t *loop;
    int epoll_fd, kick_fd, user_fd, smaps_fd;   //  user_fd: SIGUSR1 and SIGUSR2
    s_node_t *ready_head, *ready_tail;
    uint32_t next_dial;         //  index of the next node to dial
    size_t monitors;            //  nodes whose handshake is watched (at most 'pending')
    uint64_t monitor_serial;
    size_t pending;             //  handshakes under way at most (--pending)
    double rate;
    int64_t start_ms;           //  monotonic, when dialling began
    uint64_t dial_credit_at;
    size_t up_now, started_nodes;
    bool all_up_said;
    size_t cache;
    bool fork;
    size_t max_procs, running;
    zlist_t *fork_queue;        //  s_task_t waiting their turn
    zlist_t *subs;              //  patterns (char *, not owned)
    double status_every;
    int64_t next_status;
    bool json;
    bool zmtp_heartbeats;       //  libzmq's own PING/PONG on each link, as agents have
    bool stopping;
    zlistx_t *unacked;          //  s_task_t with a REPLY not ACKed
    zlist_t *bulky;             //  s_node_t with a bulk module
    zc_log_once_t *logged;
    s_counters_t stats;
    int64_t rx_window_at;       //  monotonic ms: when the nodes' rx counts began
    const char *received_path;  //  --received-file, or NULL
};

static int s_node_send (zc_wire_t **msg_p, void *arg);
static void s_node_message (s_node_t *node, zc_wire_t *msg);
static void s_send_reply (s_task_t *task);

//  ---------------------------------------------------------------------
//  Small helpers

static uint64_t
s_now (void)
{
    return (uint64_t) zclock_mono ();
}

//  Milliseconds from 'then' to 'now'; 0 when 'then' is later (it was
//  taken during a turn that began at 'now').
static uint64_t
s_since (uint64_t now, uint64_t then)
{
    return now > then? now - then: 0;
}

//  "PREFIX-00042" into name (ZC_NAME_SIZE bytes). -1 when it is too long.
static int
s_node_name (const char *prefix, uint32_t number, char *name)
{
    int size = snprintf (name, ZC_NAME_SIZE, "%s-%0*u", prefix, S_NAME_DIGITS, number);
    return size > 0 && size <= ZC_NAME_MAX? 0: -1;
}

//  Parses a whole unsigned number in [low, high] from an option. -1 when
//  it is not one.
static int
s_parse_count (const char *text, uint32_t low, uint32_t high, uint32_t *value)
{
    char *end;
    errno = 0;
    unsigned long number = strtoul (text, &end, 10);
    if (errno || end == text || *end || *text == '-' || number < low || number > high)
        return -1;
    *value = (uint32_t) number;
    return 0;
}

//  True when text is a plain decimal number of seconds (what the config
//  module then range-checks).
static bool
s_is_seconds (const char *text)
{
    char *end;
    errno = 0;
    double value = strtod (text, &end);
    return !errno && end != text && !*end && value >= 0 && !strchr (text, '\n');
}

//  Resident and private (dirty) memory of this process, in KiB, from
//  'fd' (/proc/self/smaps_rollup, opened at start: when every other
//  descriptor is taken, the status still says how much memory is used).
static void
s_memory (int fd, uint64_t *rss_kb, uint64_t *private_kb)
{
    *rss_kb = *private_kb = 0;
    char text [2048];
    ssize_t size = fd == -1? -1: pread (fd, text, sizeof text - 1, 0);
    if (size <= 0)
        return;
    text [size] = 0;
    for (char *line = text; line; line = strchr (line, '\n')) {
        unsigned long long value;
        line += *line == '\n';
        if (sscanf (line, "Rss: %llu kB", &value) == 1)
            *rss_kb = value;
        else
        if (sscanf (line, "Private_Dirty: %llu kB", &value) == 1)
            *private_kb = value;
    }
}

//  How many descriptors this process has open now.
static size_t
s_open_fds (void)
{
    size_t count = 0;
    DIR *dir = opendir ("/proc/self/fd");
    struct dirent *entry;
    while (dir && (entry = readdir (dir)))
        count += entry->d_name [0] != '.';
    if (dir)
        closedir (dir);
    return count;
}

//  ---------------------------------------------------------------------
//  The ready queue: nodes whose socket must be looked at. A node goes in
//  when its ZMQ_FD fired, and after anything was sent on its socket (a
//  send processes the socket's commands, and may take the signal of a
//  message that arrived meanwhile: its fd would not fire again).

static void
s_ready (s_node_t *node)
{
    if (node->in_ready || !node->dealer)
        return;
    s_sim_t *sim = node->sim;
    node->in_ready = true;
    node->ready_next = NULL;
    if (sim->ready_tail)
        sim->ready_tail->ready_next = node;
    else
        sim->ready_head = node;
    sim->ready_tail = node;
}

static s_node_t *
s_ready_pop (s_sim_t *sim)
{
    s_node_t *node = sim->ready_head;
    if (node) {
        sim->ready_head = node->ready_next;
        if (!sim->ready_head)
            sim->ready_tail = NULL;
        node->in_ready = false;
    }
    return node;
}

//  ---------------------------------------------------------------------
//  Sending, as the agent's link does: HELLO only while not welcomed,
//  large REQs and REPLYs in chunks, everything through the flow.

//  The flow's way out: the node's DEALER.
static int
s_sink (zmsg_t **frames_p, void *arg)
{
    s_node_t *node = arg;
    int rc = zmsg_send (frames_p, node->dealer);
    if (rc != 0) {
        int saved = errno;
        zmsg_destroy (frames_p);
        node->sim->stats.send_failed += saved != EAGAIN;
        errno = saved;
    }
    s_ready (node);
    return rc;
}

//  Sends a message on the node's link; destroys it either way. -1 when
//  the link is down (only HELLO goes then) or would not take it.
static int
s_node_send (zc_wire_t **msg_p, void *arg)
{
    s_node_t *node = arg;
    zc_wire_t *msg = *msg_p;
    if (!node->dealer || (!node->up && msg->type != ZC_MSG_HELLO)) {
        zc_wire_destroy (msg_p);
        errno = ENOTCONN;
        return -1;
    }
    bool large = (msg->type == ZC_MSG_REQ || msg->type == ZC_MSG_REPLY)
              && !(msg->flags & ZC_FLAG_CHUNK) && msg->payload
              && zframe_size (msg->payload) > ZC_BULK_CHUNK;
    if (large) {
        if (!node->bulk) {
            node->bulk = zc_bulk_new (s_node_send, node);
            zlist_append (node->sim->bulky, node);
        }
        int taken = zc_bulk_send (node->bulk, msg_p);
        if (taken != -1)
            return taken? 0: -1;
    }
    bool bulk;
    zmsg_t *frames = zc_wire_encode_take (msg_p, &bulk);
    return frames? zc_flow_send (node->flow, &frames, bulk, s_now ()): -1;
}

static void
s_send_hello (s_node_t *node)
{
    zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
    snprintf (hello->name, sizeof hello->name, "%s", node->name);
    //  Until the hub has welcomed us, ask for everything.
    if (!node->up)
        hello->flags |= ZC_FLAG_FULL;
    s_node_send (&hello, node);
}

//  Everything this node subscribes to, flagged FULL, in batches (what
//  the agent's pub/sub sends on every welcome, patterns or none).
static void
s_send_subscriptions (s_node_t *node)
{
    zlist_t *subs = node->sim->subs;
    const char *pattern = zlist_first (subs);
    bool first = true;
    while (first || pattern) {
        zc_wire_t *msg = zc_wire_new (ZC_MSG_SUB);
        if (first)
            msg->flags |= ZC_FLAG_FULL;
        for (; pattern && zlist_size (msg->patterns) < ZC_WIRE_MAX_PATTERNS; pattern = zlist_next (subs))
            zlist_append (msg->patterns, (void *) pattern);
        s_node_send (&msg, node);
        first = false;
    }
}

//  ---------------------------------------------------------------------
//  Tasks: what the runner keeps about a job received

static void
s_address (zc_wire_t *msg, s_task_t *task)
{
    zc_runner_address (msg, task->origin, task->relay);
}

//  Sends an ACK or STARTED for a task.
static void
s_send_notice (s_task_t *task, zc_msg_type_t type)
{
    zc_wire_t *msg = zc_wire_new (type);
    msg->id = task->id;
    s_address (msg, task);
    if (type == ZC_MSG_ACK)
        task->node->sim->stats.acks_sent++;
    else
        task->node->sim->stats.started++;
    s_node_send (&msg, task->node);
}


static void
s_send_reply (s_task_t *task)
{
    s_node_t *node = task->node;
    zc_wire_t *msg = zc_wire_new (ZC_MSG_REPLY);
    msg->id = task->id;
    s_address (msg, task);
    msg->payload = zc_runner_reply_payload (node->seal, node->name, &task->id, task->origin, task->relay,
                                            task->result, false);
    if (task->reply_next_try)
        node->sim->stats.reply_resends++;
    else
        node->sim->stats.replies++;
    task->reply_next_try = s_now () + S_REPLY_RESEND_MS;
    s_node_send (&msg, node);
}

static void
s_task_destroy (s_task_t **task_p)
{
    s_task_t *task = *task_p;
    if (!task)
        return;
    s_sim_t *sim = task->node->sim;
    if (task->grace_timer != -1)
        zloop_timer_end (sim->loop, task->grace_timer);
    if (task->unacked_handle)
        zlistx_delete (sim->unacked, task->unacked_handle);
    if (task->queued)
        zlist_remove (sim->fork_queue, task);
    zc_exec_destroy (&task->proc);
    zc_result_destroy (&task->result);
    free (task->command);
    free (task->data);
    free (task);
    *task_p = NULL;
}

//  A task has its result: kept until the origin ACKs it, and sent.
static void
s_task_finish (s_task_t *task, zc_result_t *result)
{
    s_sim_t *sim = task->node->sim;
    task->result = result;
    if (task->grace_timer != -1) {
        zloop_timer_end (sim->loop, task->grace_timer);
        task->grace_timer = -1;
    }
    if (sim->stopping)
        return;
    task->unacked_handle = zlistx_add_end (sim->unacked, task);
    s_send_reply (task);
}

//  Finishes a task at once with a result made here.
static void
s_task_answer (s_task_t *task, zc_state_t state, const char *error)
{
    zc_result_t *result = zc_result_new ();
    result->state = state;
    result->started_ms = result->finished_ms = zc_wall_ms ();
    result->error = error? zc_strdup (error): NULL;
    s_task_finish (task, result);
}

//  The grace time passed with the job still running (or waiting its
//  turn): the origin hears that it started, which is also its ACK.
static int
s_grace_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    s_task_t *task = arg;
    task->grace_timer = -1;
    if (!task->result)
        s_send_notice (task, ZC_MSG_STARTED);
    return 0;
}

//  The task whose job is (id, origin) at this node, or NULL.
static s_task_t *
s_task_find (s_node_t *node, const zc_id_t *id, const char *origin)
{
    for (s_task_t *task = node->tasks; task; task = task->next)
        if (zc_id_equal (&task->id, id) && streq (task->origin, origin))
            return task;
    return NULL;
}

//  A new task, newest of the node's; the oldest one done with (finished,
//  result ACKed) goes when the node holds more than the cache.
static s_task_t *
s_task_new (s_node_t *node, const zc_id_t *id, const char *origin, const char *relay)
{
    s_task_t *task = zc_calloc (1, sizeof *task);
    task->node = node;
    task->id = *id;
    snprintf (task->origin, sizeof task->origin, "%s", origin);
    snprintf (task->relay, sizeof task->relay, "%s", relay);
    task->grace_timer = -1;
    task->next = node->tasks;
    node->tasks = task;
    node->task_count++;
    if (node->task_count > node->sim->cache) {
        s_task_t **oldest = NULL;
        for (s_task_t **link = &node->tasks; *link; link = &(*link)->next)
            if ((*link)->result && (*link)->reply_acked)
                oldest = link;
        if (oldest) {
            s_task_t *gone = *oldest;
            *oldest = gone->next;
            node->task_count--;
            s_task_destroy (&gone);
        }
    }
    return task;
}

//  ---------------------------------------------------------------------
//  Running exec for real (--fork), through the project's exec module

static void s_fork_next (s_sim_t *sim);

static void
s_fork_done (zc_exec_t *proc, zc_result_t *result, void *arg)
{
    (void) proc;
    s_task_t *task = arg;
    s_sim_t *sim = task->node->sim;
    sim->running--;
    //  The process object stays with the task (freed with it): this may
    //  run inside zc_exec_interrupt, which must not see it freed.
    s_task_finish (task, result);
    if (!sim->stopping)
        s_fork_next (sim);
}

//  Starts a task's command now. Its failure to start is its result.
static void
s_fork_start (s_task_t *task)
{
    s_sim_t *sim = task->node->sim;
    char job_id [ZC_JOB_ID_MAX];
    zc_job_id_format (&task->id, task->node->name, job_id);
    zc_exec_spec_t spec = {
        .command = task->command, .data = task->data, .data_size = task->data_size,
        .timeout = task->method_timeout, .max_output = sim->config->max_output,
        .context = NULL, .job_id = job_id, .origin = task->origin
    };
    char *error = NULL;
    task->proc = zc_exec_start (sim->loop, &spec, s_fork_done, task, &error);
    zstr_free (&task->command);
    free (task->data);
    task->data = NULL;
    if (task->proc) {
        sim->running++;
        sim->stats.forked++;
    }
    else {
        sim->stats.fork_failed++;
        s_task_answer (task, ZC_STATE_FAILED, error? error: "cannot start the command");
        free (error);
    }
}

//  Starts waiting tasks while fewer than --max-procs run.
static void
s_fork_next (s_sim_t *sim)
{
    while (sim->running < sim->max_procs && zlist_size (sim->fork_queue)) {
        s_task_t *task = zlist_pop (sim->fork_queue);
        task->queued = false;
        s_fork_start (task);
    }
}

//  ---------------------------------------------------------------------
//  Jobs arriving (src/runner.c's zc_runner_request, without the store)

//  A copy of a job that must not run (it did not open): its sender gets
//  a denied result flagged REFUSED, nothing is kept. Logged once per
//  origin.
static void
s_refuse (s_node_t *node, zc_wire_t *msg, const char *origin, const char *relay, const char *reason)
{
    s_sim_t *sim = node->sim;
    sim->stats.refused++;
    char what [ZC_NAME_SIZE + 16];
    snprintf (what, sizeof what, "refused:%s", origin);
    char job_id [ZC_JOB_ID_MAX];
    zc_job_id_format (&msg->id, node->name, job_id);
    zc_warn_once (sim->logged, what, "refused job %s from %s%s%s: %s (logged once per origin)",
                  job_id, origin, *relay? " via ": "", relay, reason);
    zc_wire_t *reply = zc_runner_refusal (node->seal, node->name, &msg->id, origin, relay, reason);
    s_node_send (&reply, node);
}

//  Runs a new task's method: ping and exec; anything else is answered
//  failed.
static void
s_task_start (s_task_t *task, zframe_t *payload)
{
    s_sim_t *sim = task->node->sim;
    zlist_t *args = NULL;
    uint8_t *data = NULL;
    size_t data_size = 0;
    if (zc_wire_req_payload_decode (payload, &args, &data, &data_size) != 0)
        s_task_answer (task, ZC_STATE_FAILED, "malformed job payload");
    else
    if (task->method == ZC_METHOD_PING)
        s_task_answer (task, ZC_STATE_DONE, NULL);
    else
    if (task->method == ZC_METHOD_EXEC && zlist_size (args) == 1 && !sim->fork)
        s_task_answer (task, ZC_STATE_DONE, NULL);      //  "ran" in no time, said nothing
    else
    if (task->method == ZC_METHOD_EXEC && zlist_size (args) == 1) {
        task->command = zc_strdup (zlist_first (args));
        task->data = data;
        task->data_size = data_size;
        data = NULL;
        task->grace_timer = zloop_timer (sim->loop, S_ACK_GRACE_MS, 1, s_grace_timer, task);
        task->queued = true;
        zlist_append (sim->fork_queue, task);
        s_fork_next (sim);
    }
    else {
        sim->stats.unsupported++;
        char reason [120];
        snprintf (reason, sizeof reason, "method %s is not supported by zc-sim",
                  zc_method_name (task->method)? zc_method_name (task->method): "?");
        s_task_answer (task, ZC_STATE_FAILED, reason);
    }
    zlist_destroy (&args);
    free (data);
}

static void
s_on_req (s_node_t *node, zc_wire_t *msg)
{
    s_sim_t *sim = node->sim;
    if (msg->flags & ZC_FLAG_CUSTODY) {
        //  relay_via naming a simulated node: a real agent would take
        //  custody; the origin keeps resending it.
        sim->stats.custody++;
        zc_warn_once (sim->logged, "custody", "a job asked %s to take custody (relay_via): zc-sim"
                      " does not; dropped (logged once)", node->name);
        return;
    }
    bool relayed = (msg->flags & ZC_FLAG_RELAYED) && zlist_size (msg->names);
    const char *origin = relayed? zlist_first (msg->names): msg->from;
    const char *relay = relayed? msg->from: "";
    //  Before anything else: is it what its origin made, for us?
    zc_seal_about_t about = {
        .id = &msg->id, .origin = origin, .target = node->name, .relay = relay,
        .method = msg->method, .method_timeout = msg->method_timeout, .expire = msg->expire
    };
    zframe_t *payload = NULL;
    char reason [256];
    if (zc_seal_open_req (node->seal, &about, msg->payload, zc_wire_tag (msg, node->name),
                          &payload, reason, sizeof reason) != 0) {
        s_refuse (node, msg, origin, relay, reason);
        return;
    }
    s_task_t *task = s_task_find (node, &msg->id, origin);
    if (task) {
        //  A resend or a replay: ACKed and answered again, never run twice.
        sim->stats.duplicates++;
        zframe_destroy (&payload);
        snprintf (task->relay, sizeof task->relay, "%s", relay);
        s_send_notice (task, ZC_MSG_ACK);
        if (task->result)
            s_send_reply (task);
        return;
    }
    task = s_task_new (node, &msg->id, origin, relay);
    task->method = msg->method;
    task->method_timeout = msg->method_timeout;
    node->reqs++;
    sim->stats.reqs++;
    //  Too old, or from the future, to be told apart from a replay.
    uint64_t created = zc_id_time_ms (&msg->id), now = zc_wall_ms ();
    uint64_t skew_ms = (uint64_t) (sim->config->skew * 1000);
    if (now > created + (uint64_t) msg->expire * 1000 + skew_ms)
        s_task_answer (task, ZC_STATE_EXPIRED, "arrived after its expire time; not run");
    else
    if (created > now + skew_ms)
        s_task_answer (task, ZC_STATE_DENIED, "created in the future (check the clocks); not run");
    else
        s_task_start (task, payload);
    zframe_destroy (&payload);
}

//  The origin (or relay) stored our result: only the fact that the job
//  ran is kept, for dedup.
static void
s_task_acked (s_node_t *node, const zc_id_t *id, const char *origin, const char *relay)
{
    s_task_t *task = s_task_find (node, id, origin);
    if (!task || !streq (task->relay, relay? relay: "") || !task->result || task->reply_acked) {
        node->sim->stats.acks_unknown++;
        return;
    }
    node->sim->stats.acks_received++;
    task->reply_acked = true;
    zlistx_delete (node->sim->unacked, task->unacked_handle);
    task->unacked_handle = NULL;
    free (task->result->out);
    free (task->result->err);
    task->result->out = task->result->err = NULL;
    task->result->out_size = task->result->err_size = 0;
}

static void
s_on_ack (s_node_t *node, zc_wire_t *msg)
{
    if (msg->flags & (ZC_FLAG_CUSTODY | ZC_FLAG_RELAYED)) {
        if (node->bulk)
            zc_bulk_forget (node->bulk, &msg->id, msg->from, zlist_first (msg->names));
        if ((msg->flags & ZC_FLAG_RELAYED) && zlist_size (msg->names))
            s_task_acked (node, &msg->id, zlist_first (msg->names), msg->from);
        else
            node->sim->stats.acks_unknown++;        //  we hold nothing in custody
        return;
    }
    zc_id_t *more = NULL;
    size_t count = 0;
    if (msg->payload && zc_wire_ids_payload_decode (msg->payload, &more, &count) != 0) {
        node->sim->stats.malformed++;
        return;
    }
    for (size_t index = 0; index <= count; index++) {
        const zc_id_t *id = index? &more [index - 1]: &msg->id;
        s_task_acked (node, id, msg->from, NULL);
        if (node->bulk)
            zc_bulk_forget (node->bulk, id, msg->from, NULL);
    }
    free (more);
}

//  Makes the node's unACKed results for 'peer' (all when NULL) due:
//  'when' is now (sent at once) or later.
static void
s_replies_due (s_node_t *node, const char *peer, const zc_id_t *id, uint64_t when)
{
    for (s_task_t *task = node->tasks; task; task = task->next) {
        if (!task->unacked_handle || (id && !zc_id_equal (&task->id, id)))
            continue;
        if (peer && !streq (*task->relay? task->relay: task->origin, peer))
            continue;
        if (when)
            task->reply_next_try = when;
        else
        if (node->up)
            s_send_reply (task);
    }
}

static void
s_on_noroute (s_node_t *node, zc_wire_t *msg)
{
    for (char *name = zlist_first (msg->names); name; name = zlist_next (msg->names))
        s_replies_due (node, name, &msg->id, s_now () + S_NOROUTE_RETRY_MS);
}

static void
s_on_presence (s_node_t *node, zc_wire_t *msg)
{
    if (msg->online)
        for (char *name = zlist_first (msg->names); name; name = zlist_next (msg->names))
            s_replies_due (node, name, NULL, 0);
}

//  ---------------------------------------------------------------------
//  Handshakes

//  Watches the DEALER's handshake events, as the agent's link does (a
//  refused key is dialled again: libzmq does not), while fewer than
//  --pending are watched and descriptors are spare; beyond that the node
//  goes without, and a refusal is only inferred (s_node_check_handshake).
//  Call before the connect whose handshake it is for.
static void
s_monitor_start (s_node_t *node)
{
    s_sim_t *sim = node->sim;
    if (node->monitor || sim->monitors >= sim->pending
    ||  sim->started_nodes + sim->monitors + 1 > sim->fit)
        return;                 //  a monitor costs two descriptors, as a node does
    //  A new name each time: a closed monitor's may not be free yet.
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://zc-sim-monitor-%u-%" PRIu64, node->number,
              sim->monitor_serial++);
    if (zmq_socket_monitor (zsock_resolve (node->dealer), endpoint,
                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
        return;
    node->monitor = zsock_new (ZMQ_PAIR);
    struct epoll_event event = { .events = EPOLLIN,
                                 .data.u64 = (uint64_t) (node - sim->nodes) * 2 + 1 };
    if (!node->monitor || zsock_connect (node->monitor, "%s", endpoint) != 0
    ||  epoll_ctl (sim->epoll_fd, EPOLL_CTL_ADD, zsock_fd (node->monitor), &event) != 0) {
        zmq_socket_monitor (zsock_resolve (node->dealer), NULL, 0);
        zsock_destroy (&node->monitor);
        return;
    }
    sim->monitors++;
    //  Its pipe signals a message only once a reader found it empty:
    //  look at it once now.
    zsock_events (node->monitor);
}

static void
s_monitor_stop (s_node_t *node)
{
    if (!node->monitor)
        return;
    zmq_socket_monitor (zsock_resolve (node->dealer), NULL, 0);
    epoll_ctl (node->sim->epoll_fd, EPOLL_CTL_DEL, zsock_fd (node->monitor), NULL);
    zsock_destroy (&node->monitor);
    node->sim->monitors--;
}

//  The hub refused the handshake (or it failed): counted, logged once,
//  and dialled again after a backoff, 1 s doubling up to 60 s (as the
//  agent's link does).
static void
s_node_refused (s_node_t *node, uint64_t now, const char *why)
{
    s_sim_t *sim = node->sim;
    s_monitor_stop (node);
    if (!node->refusal_counted) {
        node->refusal_counted = true;
        sim->stats.no_handshake++;
        zc_warn_once (sim->logged, "no-handshake", "%s: %s: is %s.cert in the keys directory of hub %s,"
                      " and is the hub at %s? (logged once)", node->name, why, node->name, sim->hub_name,
                      sim->endpoint);
    }
    if (node->redial_at)
        return;
    node->redial_backoff = node->redial_backoff? node->redial_backoff * 2: S_REDIAL_MIN_MS;
    if (node->redial_backoff > S_REDIAL_MAX_MS)
        node->redial_backoff = S_REDIAL_MAX_MS;
    node->redial_at = now + (uint64_t) node->redial_backoff
                    + randombytes_uniform ((uint32_t) node->redial_backoff / 4 + 1);
}

//  An event of a watched handshake.
static void
s_monitor_event (s_node_t *node)
{
    for (int taken = 0; node->monitor && taken < 16; taken++) {
        if (!(zsock_events (node->monitor) & ZMQ_POLLIN))
            return;
        zmsg_t *event = zmsg_recv (node->monitor);
        if (!event)
            return;
        zframe_t *frame = zmsg_first (event);
        uint16_t number = 0;
        if (frame && zframe_size (frame) >= 2)
            memcpy (&number, zframe_data (frame), 2);      //  host order, per zmq_socket_monitor
        zmsg_destroy (&event);
        if (number == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            s_node_refused (node, s_now (), "the hub refused its key");
        else
        if (number == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            s_node_refused (node, s_now (), "the CURVE handshake with the hub failed");
    }
}

//  ---------------------------------------------------------------------
//  The link's states

static void
s_node_set_down (s_node_t *node, const char *why)
{
    if (!node->up)
        return;
    zc_debug ("%s: link to hub %s down (%s)", node->name, node->sim->hub_name, why);
    node->up = false;
    node->sim->up_now--;
    node->sim->stats.downs++;
}

//  The hub welcomed us: the link is up; it hears what we subscribe to,
//  and results it may have lost go again.
static void
s_node_set_up (s_node_t *node)
{
    s_sim_t *sim = node->sim;
    zc_debug ("%s: connected to hub %s", node->name, sim->hub_name);
    node->up = true;
    node->logged_codes = 0;
    sim->up_now++;
    sim->stats.welcomed++;
    zc_flow_pump (node->flow, s_now ());
    s_send_subscriptions (node);
    s_replies_due (node, NULL, NULL, 0);
}

//  The DEALER got a pipe: a CURVE handshake completed. Say HELLO.
static void
s_node_handshaken (s_node_t *node)
{
    node->handshaken = true;
    s_monitor_stop (node);
    node->redial_backoff = 0;
    node->redial_at = 0;
    node->refusal_counted = false;
    node->sim->stats.handshakes++;
    zc_flow_reset (node->flow);         //  a new connection: nothing of ours is on it
    s_send_hello (node);
}

//  The DEALER lost its pipe: the connection is gone (libzmq dials again).
static void
s_node_lost (s_node_t *node)
{
    node->handshaken = false;
    node->dialled_at = s_now ();
    node->sim->stats.disconnects++;
    s_node_set_down (node, "connection lost; reconnecting");
}

//  ---------------------------------------------------------------------
//  Messages from the hub

static void
s_on_credit (s_node_t *node, zc_wire_t *msg)
{
    node->sim->stats.credits++;
    if (msg->flags & ZC_FLAG_ECHO)
        zc_flow_on_echo (node->flow, msg->credit, s_now ());
    else {
        zc_wire_t *echo = zc_flow_echo_of (msg);
        zc_wire_send (&echo, node->dealer, NULL);
        s_ready (node);
    }
}

//  A chunk of a large REQ, or how much of ours arrived.
static void
s_on_chunk (s_node_t *node, zc_wire_t *msg)
{
    s_sim_t *sim = node->sim;
    sim->stats.chunks++;
    if (!node->bulk) {
        node->bulk = zc_bulk_new (s_node_send, node);
        zlist_append (sim->bulky, node);
    }
    if (msg->type == ZC_MSG_ACK)
        zc_bulk_on_ack (node->bulk, msg);
    else
    if (msg->type == ZC_MSG_REQ || msg->type == ZC_MSG_REPLY) {
        bool malformed = false;
        zc_wire_t *whole = zc_bulk_on_chunk (node->bulk, msg, &malformed);
        sim->stats.malformed += malformed;
        if (whole)
            s_node_message (node, whole);
        zc_wire_destroy (&whole);
    }
    else
        sim->stats.ignored++;
}

static void
s_on_error (s_node_t *node, zc_wire_t *msg)
{
    s_sim_t *sim = node->sim;
    if (*msg->from || msg->code >= 32) {
        sim->stats.ignored++;           //  an error event for an error_node
        return;
    }
    sim->stats.hub_errors++;
    if (msg->code == ZC_ERR_NOT_HELLO) {
        //  The hub lost track of us (it restarted): introduce ourselves
        //  again.
        s_node_set_down (node, "the hub does not know us");
        s_send_hello (node);
        return;
    }
    if (!(node->logged_codes & (1u << msg->code))) {
        node->logged_codes |= 1u << msg->code;
        char what [32];
        snprintf (what, sizeof what, "error:%u", msg->code);
        zc_warn_once (sim->logged, what, "hub %s refused %s: %s (logged once per code)",
                      sim->hub_name, node->name, msg->text? msg->text: "?");
    }
}

//  Handles one decoded message from the hub.
static void
s_node_message (s_node_t *node, zc_wire_t *msg)
{
    s_sim_t *sim = node->sim;
    if (msg->type == ZC_MSG_CREDIT) {
        s_on_credit (node, msg);
        return;
    }
    if (msg->flags & ZC_FLAG_CHUNK) {
        s_on_chunk (node, msg);
        return;
    }
    switch (msg->type) {
        case ZC_MSG_REQ:      s_on_req (node, msg); break;
        case ZC_MSG_ACK:      s_on_ack (node, msg); break;
        case ZC_MSG_NOROUTE:  s_on_noroute (node, msg); break;
        case ZC_MSG_PRESENCE: s_on_presence (node, msg); break;
        case ZC_MSG_ERROR:    s_on_error (node, msg); break;
        case ZC_MSG_PUB:      sim->stats.pubs++; break;
        case ZC_MSG_NODES:    sim->stats.nodes++; break;
        case ZC_MSG_PING:
            //  One with no target is the hub's probe of the connection.
            if (zlist_size (msg->to)) {
                zc_wire_t *pong = zc_wire_new (ZC_MSG_PONG);
                pong->id = msg->id;
                zlist_append (pong->to, msg->from);
                sim->stats.pongs++;
                s_node_send (&pong, node);
            }
            break;
        case ZC_MSG_PONG:
            if (*msg->from)
                sim->stats.ignored++;           //  we never ping nodes
            else
            if (msg->flags & ZC_FLAG_FULL) {
                if (node->up)
                    //  Welcomed again while up: the hub forgot us without
                    //  the connection dropping; it hears it all again.
                    s_send_subscriptions (node);
                else
                    s_node_set_up (node);
            }
            break;
        default:
            sim->stats.ignored++;
            zc_debug ("%s: ignored %s from the hub", node->name, zc_wire_type_name (msg->type));
    }
}

//  Looks at one node's socket: its handshake or loss, and up to a batch
//  of messages (it goes back into the queue when more wait).
static void
s_node_service (s_node_t *node)
{
    s_sim_t *sim = node->sim;
    for (int taken = 0; node->dealer; taken++) {
        int events = zsock_events (node->dealer);
        bool writable = (events & ZMQ_POLLOUT) != 0;
        if (writable && !node->handshaken)
            s_node_handshaken (node);
        else
        if (!writable && node->handshaken)
            s_node_lost (node);
        if (!(events & ZMQ_POLLIN))
            return;
        if (taken == S_RECV_BATCH) {
            s_ready (node);
            return;
        }
        zmsg_t *frames = zmsg_recv (node->dealer);
        if (!frames)
            return;
        node->rx_bytes += zmsg_content_size (frames);
        node->rx_messages++;
        node->last_heard = s_now ();
        const char *reason = NULL;
        zc_wire_t *msg = zc_wire_decode (frames, zmsg_first (frames), &reason);
        zmsg_destroy (&frames);
        if (!msg) {
            sim->stats.malformed++;
            char what [80];
            snprintf (what, sizeof what, "malformed:%s", reason? reason: "?");
            zc_warn_once (sim->logged, what, "%s: dropped a malformed message from hub %s: %s"
                          " (logged once per reason)", node->name, sim->hub_name, reason? reason: "?");
            continue;
        }
        s_node_message (node, msg);
        zc_wire_destroy (&msg);
    }
}

//  The epoll set fired: the nodes whose ZMQ_FD did are looked at, with
//  those queued already, up to a bound per turn (timers keep running).
static int
s_epoll_event (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop, (void) item;
    s_sim_t *sim = arg;
    struct epoll_event events [S_EPOLL_BATCH];
    int count = epoll_wait (sim->epoll_fd, events, S_EPOLL_BATCH, 0);
    for (int index = 0; index < count; index++) {
        uint64_t key = events [index].data.u64;
        if (key == S_KICK_KEY) {
            uint64_t value;
            if (read (sim->kick_fd, &value, sizeof value) < 0 && errno != EAGAIN)
                zc_warn ("cannot read the wake-up fd: %s", strerror (errno));
        }
        else
        if (key / 2 < sim->count) {
            s_node_t *node = &sim->nodes [key / 2];
            if (key % 2)
                s_monitor_event (node);
            else
                s_ready (node);
        }
    }
    s_node_t *node;
    for (int visits = 0; visits < S_VISITS_PER_TURN && (node = s_ready_pop (sim)); visits++)
        s_node_service (node);
    //  More to do: the epoll set stays readable, so the loop comes back.
    if (sim->ready_head && eventfd_write (sim->kick_fd, 1) != 0)
        zc_warn ("cannot write the wake-up fd: %s", strerror (errno));
    return 0;
}

//  ---------------------------------------------------------------------
//  Keys

//  The keys directory was read again: every seal uses the new table.
static void
s_keys_changed (s_sim_t *sim)
{
    for (uint32_t index = 0; index < sim->count; index++)
        if (sim->nodes [index].seal)
            zc_seal_set_keyring (sim->nodes [index].seal, sim->keyring);
}

//  Asked by a seal before a job from an origin without a cert here is
//  refused: when KEYS/NAME.cert exists and the directory changed, it is
//  read again (at most once a second). As zc_daemon_refresh does.
static bool
s_keys_refresh (const char *name, void *arg)
{
    s_sim_t *sim = arg;
    char *path = zsys_sprintf ("%s/%s.cert", sim->keys, name);
    struct stat st;
    bool exists = stat (path, &st) == 0;
    free (path);
    int64_t now = zclock_mono ();
    if (!exists || now - sim->keyring_read_at < 1000
    ||  zc_keyring_dir_stamp (sim->keys) == sim->keyring_stamp)
        return false;
    sim->keyring_read_at = now;
    if (!zc_keyring_reload (&sim->keyring, &sim->keyring_stamp, sim->keys, "a cert appeared"))
        return false;
    s_keys_changed (sim);
    return true;
}

//  ---------------------------------------------------------------------
//  Dialling

//  Gives a node its keys, seal, socket and flow, and dials the hub.
//  -1 (counted, logged once per reason) when it cannot start.
static int
s_node_dial (s_node_t *node)
{
    s_sim_t *sim = node->sim;
    char *error = NULL;
    uint8_t sign_secret [64];
    zcert_t *cert = NULL;
    if (sim->started_nodes + sim->monitors >= sim->fit)
        error = zsys_sprintf ("no file descriptors left for it (RLIMIT_NOFILE: two per node)");
    else
        cert = zc_key_load_own_signing (sim->keys, node->name, sign_secret, &error);
    if (cert) {
        node->seal = zc_seal_new (node->name, zcert_secret_key (cert), sign_secret, sim->keyring,
                                  sim->config->e2e);
        sodium_memzero (sign_secret, sizeof sign_secret);
        zc_seal_set_refresh (node->seal, s_keys_refresh, sim);
        node->dealer = zsock_new (ZMQ_DEALER);
        if (!node->dealer)
            error = zsys_sprintf ("cannot create its socket: %s (%zu descriptors open, two per node)",
                                  zmq_strerror (zmq_errno ()), s_open_fds ());
    }
    if (!node->dealer) {
        sim->stats.could_not_start++;
        node->failed = true;
        char what [64];
        snprintf (what, sizeof what, "start:%.40s", error? error: "?");
        zc_warn_once (sim->logged, what, "node %s cannot start: %s (logged once per reason)",
                      node->name, error? error: "?");
        free (error);
        zcert_destroy (&cert);
        zc_seal_destroy (&node->seal);
        return -1;
    }
    zcert_apply (cert, node->dealer);
    zcert_destroy (&cert);
    zsock_set_curve_serverkey (node->dealer, sim->hub_key.public_txt);
    zc_uplink_tune (node->dealer, sim->config);
    //  The same PINGs go out as an agent's, but libzmq arms no timer per
    //  PING: it cancels that timer on the next message in, and libzmq 4.3
    //  finds a timer to cancel by walking all of its I/O thread's, which
    //  with thousands of connections in one process took most of the
    //  simulator's time (an agent has one). A silent hub is still found,
    //  by peer_timeout, as an agent's link finds it.
    zsock_set_heartbeat_timeout (node->dealer, 0);
    if (!sim->zmtp_heartbeats) {
        //  A diagnostic (--no-zmtp-heartbeats), not what an agent does.
        zsock_set_heartbeat_ivl (node->dealer, 0);
        zsock_set_heartbeat_timeout (node->dealer, 0);
        zsock_set_heartbeat_ttl (node->dealer, 0);
    }
    zsock_set_sndhwm (node->dealer, 100000);
    zsock_set_immediate (node->dealer, 1);      //  a pipe only once the handshake is done
    zsock_set_rcvtimeo (node->dealer, 0);
    node->flow = zc_flow_new (S_LINK_BUDGET, NULL, s_sink, node);
    struct epoll_event event = { .events = EPOLLIN, .data.u64 = (uint64_t) (node - sim->nodes) * 2 };
    if (epoll_ctl (sim->epoll_fd, EPOLL_CTL_ADD, zsock_fd (node->dealer), &event) != 0)
        zc_error ("%s: cannot watch its socket: %s", node->name, strerror (errno));
    s_monitor_start (node);
    if (zsock_connect (node->dealer, "%s", sim->endpoint) != 0)
        zc_error ("%s: cannot dial %s: %s", node->name, sim->endpoint, zmq_strerror (zmq_errno ()));
    uint64_t now = s_now ();
    node->dialled_at = node->last_heard = now;
    node->next_heartbeat = now + (uint64_t) (sim->config->heartbeat * 1000);
    sim->started_nodes++;
    s_ready (node);
    return 0;
}

//  A node without a handshake for the handshake interval and a grace,
//  whose handshake is not watched (or no event came), was refused, or
//  the hub is away: it is dialled again with a backoff.
static void
s_node_check_handshake (s_node_t *node, uint64_t now)
{
    s_sim_t *sim = node->sim;
    uint64_t limit = (uint64_t) (sim->config->handshake * 1000) + S_HANDSHAKE_GRACE_MS;
    if (!node->handshaken && !node->redial_at && s_since (now, node->dialled_at) >= limit) {
        char why [80];
        snprintf (why, sizeof why, "no handshake with the hub within %.0f s", (double) limit / 1000);
        s_node_refused (node, now, why);
    }
}

//  A node's heartbeat, as the agent's link has it: a silent hub is
//  gone; HELLO (asking for the welcome while not up); marks for what
//  is unmarked.
static void
s_node_heartbeat (s_node_t *node, uint64_t now)
{
    s_sim_t *sim = node->sim;
    if (node->redial_at && now >= node->redial_at) {
        node->redial_at = 0;
        node->dialled_at = now;
        sim->stats.redials++;
        zsock_disconnect (node->dealer, "%s", sim->endpoint);
        s_monitor_start (node);
        zsock_connect (node->dealer, "%s", sim->endpoint);
    }
    if (node->up && s_since (now, node->last_heard) > (uint64_t) (sim->config->peer_timeout * 1000))
        s_node_set_down (node, "the hub is silent");
    s_send_hello (node);
    if (node->up)
        zc_flow_tick (node->flow, now);
}

//  ---------------------------------------------------------------------
//  Status

//  The lowest and highest count of jobs taken by a started node.
static void
s_reqs_range (s_sim_t *sim, uint32_t *low, uint32_t *high)
{
    *low = UINT32_MAX;
    *high = 0;
    for (uint32_t index = 0; index < sim->count; index++) {
        s_node_t *node = &sim->nodes [index];
        if (!node->dealer)
            continue;
        if (node->reqs < *low)
            *low = node->reqs;
        if (node->reqs > *high)
            *high = node->reqs;
    }
    if (*low == UINT32_MAX)
        *low = 0;
}

//  What the started nodes received in the window: sums, the most one
//  node received (and its name) and the median (the lower middle one for
//  an even count).
typedef struct {
    uint64_t bytes, messages, node_max, node_median;
    const char *max_name;
} s_received_t;

static int
s_compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y? -1: x > y;
}

//  Sums what the started nodes received in the window into 'received'
//  and, with --received-file, writes each one's (through a temporary
//  file renamed over it: a reader never sees half of it).
static void
s_received (s_sim_t *sim, s_received_t *received)
{
    *received = (s_received_t) { .max_name = "" };
    uint64_t *sizes = zc_malloc ((sim->count? sim->count: 1) * sizeof (uint64_t));
    size_t started = 0;
    char *temporary = sim->received_path? zsys_sprintf ("%s.tmp", sim->received_path): NULL;
    FILE *file = temporary? fopen (temporary, "w"): NULL;
    if (temporary && !file)
        zc_warn_once (sim->logged, "received-file", "cannot write %s: %s (logged once)", temporary,
                      strerror (errno));
    for (uint32_t index = 0; index < sim->count; index++) {
        s_node_t *node = &sim->nodes [index];
        if (!node->dealer)
            continue;
        sizes [started++] = node->rx_bytes;
        received->bytes += node->rx_bytes;
        received->messages += node->rx_messages;
        if (node->rx_bytes > received->node_max || !*received->max_name) {
            received->node_max = node->rx_bytes;
            received->max_name = node->name;
        }
        if (file)
            fprintf (file, "%s %" PRIu64 " %" PRIu64 "\n", node->name, node->rx_bytes, node->rx_messages);
    }
    if (started) {
        qsort (sizes, started, sizeof (uint64_t), s_compare_u64);
        received->node_median = sizes [(started - 1) / 2];
    }
    if (file && (fclose (file) != 0 || rename (temporary, sim->received_path) != 0))
        zc_warn_once (sim->logged, "received-file", "cannot write %s: %s (logged once)",
                      sim->received_path, strerror (errno));
    free (temporary);
    free (sizes);
}

//  SIGUSR2: the nodes' received counts start again (a new window).
static void
s_received_restart (s_sim_t *sim)
{
    for (uint32_t index = 0; index < sim->count; index++)
        sim->nodes [index].rx_bytes = sim->nodes [index].rx_messages = 0;
    sim->rx_window_at = zclock_mono ();
    zc_info ("received counts start again (SIGUSR2)");
}

static void
s_status (s_sim_t *sim, const char *why)
{
    s_counters_t *c = &sim->stats;
    uint64_t rss_kb, private_kb;
    s_memory (sim->smaps_fd, &rss_kb, &private_kb);
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
               + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    uint32_t low, high;
    s_reqs_range (sim, &low, &high);
    uint64_t errors = c->could_not_start + c->malformed + c->hub_errors + c->send_failed
                    + c->unsupported + c->custody + c->fork_failed;
    double elapsed = sim->start_ms? (zclock_mono () - sim->start_ms) / 1000.0: 0;
    s_received_t received;
    s_received (sim, &received);
    double window = sim->rx_window_at? (zclock_mono () - sim->rx_window_at) / 1000.0: 0;
    if (sim->json) {
        json_t *status = json_pack ("{s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
            "status", why, "elapsed", elapsed, "nodes", (json_int_t) sim->count,
            "started", (json_int_t) sim->started_nodes, "could_not_start", (json_int_t) c->could_not_start,
            "up", (json_int_t) sim->up_now, "handshakes", (json_int_t) c->handshakes,
            "disconnects", (json_int_t) c->disconnects, "welcomed", (json_int_t) c->welcomed,
            "downs", (json_int_t) c->downs, "no_handshake", (json_int_t) c->no_handshake,
            "redials", (json_int_t) c->redials);
        json_t *more = json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                                  " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
            "reqs", (json_int_t) c->reqs, "reqs_min", (json_int_t) low, "reqs_max", (json_int_t) high,
            "duplicates", (json_int_t) c->duplicates, "refused", (json_int_t) c->refused,
            "replies", (json_int_t) c->replies, "reply_resends", (json_int_t) c->reply_resends,
            "started_sent", (json_int_t) c->started, "acks_sent", (json_int_t) c->acks_sent,
            "acks_received", (json_int_t) c->acks_received, "acks_unknown", (json_int_t) c->acks_unknown,
            "pongs", (json_int_t) c->pongs, "pubs", (json_int_t) c->pubs,
            "nodes_messages", (json_int_t) c->nodes, "credits", (json_int_t) c->credits,
            "chunks", (json_int_t) c->chunks, "forked", (json_int_t) c->forked,
            "running", (json_int_t) sim->running, "errors", (json_int_t) errors,
            "malformed", (json_int_t) c->malformed, "hub_errors", (json_int_t) c->hub_errors,
            "unsupported", (json_int_t) c->unsupported, "custody", (json_int_t) c->custody,
            "rss_kb", (json_int_t) rss_kb, "private_kb", (json_int_t) private_kb, "cpu_s", cpu);
        json_object_update (status, more);
        json_decref (more);
        more = json_pack ("{s:f, s:I, s:I, s:I, s:I, s:s}",
            "rx_window_s", window, "rx_bytes", (json_int_t) received.bytes,
            "rx_messages", (json_int_t) received.messages, "rx_node_max", (json_int_t) received.node_max,
            "rx_node_median", (json_int_t) received.node_median, "rx_node_max_name", received.max_name);
        json_object_update (status, more);
        json_decref (more);
        char *text = json_dumps (status, JSON_COMPACT);
        printf ("%s\n", text);
        free (text);
        json_decref (status);
    }
    else
        printf ("status (%s) after %.1f s: %u nodes, %zu started, %zu up; welcomed %" PRIu64
                ", reqs %" PRIu64 " (%u to %u per node), duplicates %" PRIu64 ", refused %" PRIu64
                ", replies %" PRIu64 " (resent %" PRIu64 "), acks %" PRIu64 ", errors %" PRIu64
                " (could not start %" PRIu64 ", no handshake %" PRIu64 ", malformed %" PRIu64
                "), forked %" PRIu64 ", pongs %" PRIu64 ", pubs %" PRIu64 "; received in the last %.1f s"
                " %" PRIu64 " bytes in %" PRIu64 " messages, most by one node %" PRIu64 " (%s), median %"
                PRIu64 "; rss %" PRIu64 " KiB (private %" PRIu64 " KiB), cpu %.2f s\n",
                why, elapsed, sim->count, sim->started_nodes, sim->up_now, c->welcomed, c->reqs,
                low, high, c->duplicates, c->refused, c->replies, c->reply_resends, c->acks_received,
                errors, c->could_not_start, c->no_handshake, c->malformed, c->forked, c->pongs,
                c->pubs, window, received.bytes, received.messages, received.node_max,
                *received.max_name? received.max_name: "-", received.node_median, rss_kb, private_kb, cpu);
    fflush (stdout);
}

//  ---------------------------------------------------------------------
//  The loop's timers and signals

//  Every S_TICK_MS: the next wave of dials, due heartbeats and
//  handshake checks, due resends, large transfers, the status.
static int
s_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop, (void) timer_id;
    s_sim_t *sim = arg;
    uint64_t now = s_now ();
    //  Dials at --rate per second, from when dialling began.
    uint64_t allowed = (uint64_t) ((double) (now - (uint64_t) sim->start_ms) * sim->rate / 1000.0) + 1;
    while (sim->next_dial < sim->count && sim->next_dial < allowed && sim->monitors < sim->pending) {
        if (sim->monitors && sim->started_nodes + sim->monitors >= sim->fit)
            break;              //  the descriptors of handshakes under way come back
        s_node_dial (&sim->nodes [sim->next_dial++]);
    }
    uint64_t heartbeat = (uint64_t) (sim->config->heartbeat * 1000);
    for (uint32_t index = 0; index < sim->next_dial; index++) {
        s_node_t *node = &sim->nodes [index];
        if (!node->dealer)
            continue;
        s_node_check_handshake (node, now);
        if (now >= node->next_heartbeat) {
            node->next_heartbeat += heartbeat;
            if (node->next_heartbeat <= now)
                node->next_heartbeat = now + heartbeat;
            s_node_heartbeat (node, now);
        }
    }
    //  Results not ACKed in time go again (only on links that are up).
    for (s_task_t *task = zlistx_first (sim->unacked); task; task = zlistx_next (sim->unacked))
        if (task->node->up && task->reply_next_try && now >= task->reply_next_try)
            s_send_reply (task);
    for (s_node_t *node = zlist_first (sim->bulky); node; node = zlist_next (sim->bulky))
        zc_bulk_tick (node->bulk, now);
    if (!sim->all_up_said && sim->next_dial == sim->count && sim->up_now
    &&  sim->up_now == sim->started_nodes) {
        sim->all_up_said = true;
        printf ("up %zu of %u in %.2f s", sim->up_now, sim->count, (now - (uint64_t) sim->start_ms) / 1000.0);
        if (sim->stats.could_not_start)
            printf (" (%" PRIu64 " could not start: see the log)", sim->stats.could_not_start);
        printf ("\n");
        fflush (stdout);
    }
    if (sim->status_every > 0 && (int64_t) now >= sim->next_status) {
        sim->next_status = (int64_t) now + (int64_t) (sim->status_every * 1000);
        s_status (sim, "periodic");
    }
    //  Sends above took signals of the sockets they used: look at them.
    if (sim->ready_head && eventfd_write (sim->kick_fd, 1) != 0)
        zc_warn ("cannot write the wake-up fd: %s", strerror (errno));
    return 0;
}

//  SIGTERM and SIGINT end the loop; SIGHUP reads the keys again.
static int
s_signal_event (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    s_sim_t *sim = arg;
    int signal = zc_signals_read (item->fd);
    if (signal == SIGTERM || signal == SIGINT) {
        zc_info ("stopping on signal %d", signal);
        return -1;
    }
    if (signal == SIGHUP && zc_keyring_reload (&sim->keyring, &sim->keyring_stamp, sim->keys, "SIGHUP"))
        s_keys_changed (sim);
    return 0;
}

//  SIGUSR1 prints the status; SIGUSR2 starts the received counts again.
static int
s_user_signal_event (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    struct signalfd_siginfo info;
    while (read (item->fd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGUSR2)
            s_received_restart (arg);
        else
            s_status (arg, "SIGUSR1");
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Start and stop

//  The link settings, as an agent's config would give them: the config
//  module checks their ranges (czmq's setters assert on bad values).
static zc_config_t *
s_config (s_sim_t *sim, const char *first_name, char **options, bool e2e)
{
    char *text = zsys_sprintf (
        "zcnc\n    name = %s\n    keys = %s\n    data = /nonexistent/zc-sim\n"
        "    heartbeat = %s\n    peer_timeout = %s\n    handshake = %s\n    reconnect = %s\n"
        "agent\n    hub = %s\n    e2e = %s\n",
        first_name, sim->keys, options [0], options [1], options [2], options [3], sim->hub_arg,
        e2e? "on": "off");
    char *error = NULL;
    zc_config_t *config = zc_config_parse (text, strlen (text), "zc-sim's options", ZC_ROLE_AGENT, &error);
    if (!config) {
        fprintf (stderr, "zc-sim: %s\n", error);
        free (error);
    }
    free (text);
    return config;
}

//  Raises the descriptor limit to its hard limit, and returns how many
//  nodes fit: two descriptors each, after those open now, libzmq's own
//  (its reaper's and each I/O thread's mailbox and epoll set) and
//  'reserve'. Says so when that is fewer than 'count'.
static uint32_t
s_raise_fd_limit (uint32_t count, uint32_t io_threads, size_t reserve)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
        return count;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
            zc_warn ("cannot raise RLIMIT_NOFILE to %lu: %s", (unsigned long) limit.rlim_max, strerror (errno));
        getrlimit (RLIMIT_NOFILE, &limit);
    }
    size_t taken = s_open_fds () + 2 + 2 * (size_t) io_threads + reserve;
    size_t fit = limit.rlim_cur > taken? (limit.rlim_cur - taken) / 2: 0;
    if (fit >= count)
        return count;
    zc_warn ("%u nodes need %u file descriptors (two each: the socket's mailbox and its TCP"
             " connection) and %zu are free (RLIMIT_NOFILE %lu, hard limit %lu, %zu taken or kept):"
             " %zu nodes fit in this process; the other %zu are counted as could not start (run"
             " several processes with --first, or raise the hard limit)",
             count, count * 2, fit * 2, (unsigned long) limit.rlim_cur, (unsigned long) limit.rlim_max,
             taken, fit, count - fit);
    return (uint32_t) fit;
}

static void
s_sim_destroy (s_sim_t *sim)
{
    sim->stopping = true;
    //  Jobs still running are killed with their process groups.
    for (uint32_t index = 0; sim->nodes && index < sim->count; index++)
        for (s_task_t *task = sim->nodes [index].tasks; task; task = task->next)
            if (task->proc && !task->result)
                zc_exec_interrupt (task->proc);
    for (uint32_t index = 0; sim->nodes && index < sim->count; index++) {
        s_node_t *node = &sim->nodes [index];
        while (node->tasks) {
            s_task_t *task = node->tasks;
            node->tasks = task->next;
            s_task_destroy (&task);
        }
        if (node->dealer) {
            s_monitor_stop (node);
            if (node->up) {
                //  A clean exit: the hub takes the node offline at once.
                zc_wire_t *bye = zc_wire_new (ZC_MSG_BYE);
                zc_wire_send (&bye, node->dealer, NULL);
                zsock_set_linger (node->dealer, S_BYE_LINGER_MS);
            }
            zsock_destroy (&node->dealer);
        }
        zc_flow_destroy (&node->flow);
        zc_bulk_destroy (&node->bulk);
        zc_seal_destroy (&node->seal);
    }
    free (sim->nodes);
    zlist_destroy (&sim->fork_queue);
    zlist_destroy (&sim->subs);
    zlist_destroy (&sim->bulky);
    zlistx_destroy (&sim->unacked);
    zloop_destroy (&sim->loop);
    if (sim->epoll_fd != -1)
        close (sim->epoll_fd);
    if (sim->kick_fd != -1)
        close (sim->kick_fd);
    if (sim->user_fd != -1)
        close (sim->user_fd);
    if (sim->smaps_fd != -1)
        close (sim->smaps_fd);
    zc_keyring_destroy (&sim->keyring);
    zc_config_destroy (&sim->config);
    zc_log_once_destroy (&sim->logged);
}

//  Parses one seconds option into options [slot]. -1 when it is no number.
static int
s_seconds_option (const char *name, const char *value, char **options, int slot)
{
    if (!s_is_seconds (value)) {
        fprintf (stderr, "zc-sim: --%s: '%s' is not a number of seconds\n", name, value);
        return -1;
    }
    options [slot] = (char *) value;
    return 0;
}

static int
s_run (int argc, char *argv [])
{
    static struct option longs [] = {
        { "cache", 1, NULL, 'C' }, { "count", 1, NULL, 'n' }, { "first", 1, NULL, 'f' },
        { "fork", 0, NULL, 'F' }, { "handshake", 1, NULL, 'H' }, { "heartbeat", 1, NULL, 'b' },
        { "hub", 1, NULL, 'h' }, { "io-threads", 1, NULL, 'i' }, { "json", 0, NULL, 'j' },
        { "keys", 1, NULL, 'k' }, { "max-procs", 1, NULL, 'm' }, { "no-e2e", 0, NULL, 'E' },
        { "peer-timeout", 1, NULL, 't' }, { "pending", 1, NULL, 'P' }, { "prefix", 1, NULL, 'p' }, { "rate", 1, NULL, 'r' },
        { "received-file", 1, NULL, 'O' },
        { "reconnect", 1, NULL, 'R' }, { "status-every", 1, NULL, 's' }, { "sub", 1, NULL, 'S' },
        { "no-zmtp-heartbeats", 0, NULL, 'Z' }, { "verbose", 0, NULL, 'v' }, { "help", 0, NULL, '?' }, { NULL, 0, NULL, 0 }
    };
    s_sim_t sim_ = { .epoll_fd = -1, .kick_fd = -1, .user_fd = -1, .smaps_fd = -1, .first = 1, .cache = 16,
                     .max_procs = 32, .rate = 500, .pending = 256, .zmtp_heartbeats = true }, *sim = &sim_;
    char *link_options [4] = { "2", "10", "30", "0.1" };    //  heartbeat, peer_timeout, handshake, reconnect
    uint32_t value, io_threads = 0;
    bool verbose = false, e2e = true;
    zlist_t *subs = zlist_new ();
    int option, status = 2;
    optind = 1;
    while ((option = getopt_long (argc, argv, "v", longs, NULL)) != -1) {
        switch (option) {
            case 'k': sim->keys = optarg; break;
            case 'h': sim->hub_arg = optarg; break;
            case 'p': sim->prefix = optarg; break;
            case 'O': sim->received_path = optarg; break;
            case 'F': sim->fork = true; break;
            case 'j': sim->json = true; break;
            case 'E': e2e = false; break;
            case 'Z': sim->zmtp_heartbeats = false; break;
            case 'v': verbose = true; break;
            case 'S': zlist_append (subs, optarg); break;
            case 'n': case 'f': case 'C': case 'm': case 'i': case 'P':
                if (s_parse_count (optarg, option == 'f'? 0: 1, option == 'n'? 100000: 1000000, &value) != 0) {
                    fprintf (stderr, "zc-sim: bad number '%s'\n%s", optarg, s_usage);
                    goto done;
                }
                if (option == 'n') sim->count = value;
                if (option == 'f') sim->first = value;
                if (option == 'C') sim->cache = value;
                if (option == 'm') sim->max_procs = value;
                if (option == 'i') io_threads = value;
                if (option == 'P') sim->pending = value;
                break;
            case 'r':
                if (!s_is_seconds (optarg) || (sim->rate = atof (optarg)) <= 0) {
                    fprintf (stderr, "zc-sim: --rate: '%s' is not a positive number\n", optarg);
                    goto done;
                }
                break;
            case 's':
                if (!s_is_seconds (optarg) || (sim->status_every = atof (optarg)) <= 0) {
                    fprintf (stderr, "zc-sim: --status-every: '%s' is not a positive number\n", optarg);
                    goto done;
                }
                break;
            case 'b': if (s_seconds_option ("heartbeat", optarg, link_options, 0)) goto done; break;
            case 't': if (s_seconds_option ("peer-timeout", optarg, link_options, 1)) goto done; break;
            case 'H': if (s_seconds_option ("handshake", optarg, link_options, 2)) goto done; break;
            case 'R': if (s_seconds_option ("reconnect", optarg, link_options, 3)) goto done; break;
            default:
                fprintf (option == '?' && !optopt? stdout: stderr, "%s", s_usage);
                status = option == '?' && !optopt? 0: 2;
                goto done;
        }
    }
    if (optind < argc || !sim->keys || !sim->hub_arg || !sim->prefix || !sim->count) {
        fprintf (stderr, "zc-sim: run needs --keys, --hub, --prefix and --count\n%s", s_usage);
        goto done;
    }
    const char *at = strchr (sim->hub_arg, '@');
    if (!at || at == sim->hub_arg || (size_t) (at - sim->hub_arg) > ZC_NAME_MAX) {
        fprintf (stderr, "zc-sim: --hub: '%s' is not HUB@ENDPOINT\n", sim->hub_arg);
        goto done;
    }
    snprintf (sim->hub_name, sizeof sim->hub_name, "%.*s", (int) (at - sim->hub_arg), sim->hub_arg);
    sim->endpoint = at + 1;
    char first_name [ZC_NAME_SIZE], last_name [ZC_NAME_SIZE];
    if (s_node_name (sim->prefix, sim->first, first_name) != 0
    ||  s_node_name (sim->prefix, sim->first + sim->count - 1, last_name) != 0) {
        fprintf (stderr, "zc-sim: --prefix: '%s' makes names over %d bytes\n", sim->prefix, ZC_NAME_MAX);
        goto done;
    }
    for (const char *pattern = zlist_first (subs); pattern; pattern = zlist_next (subs)) {
        const char *problem = NULL;
        if (zc_subject_check (pattern, true, &problem) != 0) {
            fprintf (stderr, "zc-sim: --sub: '%s' is not a valid pattern: %s\n", pattern, problem? problem: "?");
            goto done;
        }
    }
    sim->subs = subs;
    subs = NULL;
    status = 1;

    //  The process: signals through signalfds (SIGUSR1 and SIGUSR2 too,
    //  blocked before any thread exists), czmq without its handler,
    //  sockets beyond czmq's 1024 and descriptors up to the hard limit.
    zc_log_init ("zc-sim", verbose);
    sigset_t user_signals;
    sigemptyset (&user_signals);
    sigaddset (&user_signals, SIGUSR1);
    sigaddset (&user_signals, SIGUSR2);
    if (sigprocmask (SIG_BLOCK, &user_signals, NULL) != 0
    ||  (sim->user_fd = signalfd (-1, &user_signals, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
        fprintf (stderr, "zc-sim: cannot watch SIGUSR1 and SIGUSR2: %s\n", strerror (errno));
        goto done;
    }
    if (zc_daemon_init () != 0)
        goto done;
    //  libzmq cancels a timer in time linear in the timers of its I/O
    //  thread, and each link's heartbeats add and cancel some: nodes
    //  spread over threads cost less than all on one.
    if (!io_threads)
        io_threads = sim->count / S_NODES_PER_IO_THREAD + 1 > 4? 4: sim->count / S_NODES_PER_IO_THREAD + 1;
    zsys_set_max_sockets (0);
    zsys_set_io_threads (io_threads);
    sim->smaps_fd = open ("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
    sim->fit = s_raise_fd_limit (sim->count, io_threads,
                                 S_FD_RESERVE + (sim->fork? S_FDS_PER_PROC * sim->max_procs: 0));
    setvbuf (stdout, NULL, _IOLBF, 0);

    if (!(sim->config = s_config (sim, first_name, link_options, e2e)))
        goto done;
    char *error = NULL;
    char *path = zsys_sprintf ("%s/%s.cert", sim->keys, sim->hub_name);
    int rc = zc_key_load (path, &sim->hub_key, &error);
    free (path);
    if (rc != 0) {
        fprintf (stderr, "zc-sim: cannot pin the key of hub %s: %s (copy %s.cert into %s)\n",
                 sim->hub_name, error, sim->hub_name, sim->keys);
        free (error);
        goto done;
    }
    if (sim->hub_key.role != ZC_KEY_HUB)
        zc_warn ("%s/%s.cert has role agent; expected a hub's cert", sim->keys, sim->hub_name);
    sim->keyring_stamp = zc_keyring_dir_stamp (sim->keys);
    if (!(sim->keyring = zc_keyring_load (sim->keys, &error))) {
        fprintf (stderr, "zc-sim: %s\n", error);
        free (error);
        goto done;
    }
    //  The first node's keys are looked at now: a wrong directory or
    //  prefix is said at once, not once per node.
    uint8_t sign_secret [64];
    zcert_t *cert = zc_key_load_own_signing (sim->keys, first_name, sign_secret, &error);
    sodium_memzero (sign_secret, sizeof sign_secret);
    if (!cert) {
        fprintf (stderr, "zc-sim: %s (run: zc-sim keygen --keys %s --prefix %s --count %u --first %u)\n",
                 error, sim->keys, sim->prefix, sim->count, sim->first);
        free (error);
        goto done;
    }
    zcert_destroy (&cert);

    sim->logged = zc_log_once_new (1000);
    sim->nodes = zc_calloc (sim->count, sizeof (s_node_t));
    for (uint32_t index = 0; index < sim->count; index++) {
        s_node_t *node = &sim->nodes [index];
        node->sim = sim;
        node->number = sim->first + index;
        s_node_name (sim->prefix, node->number, node->name);
    }
    sim->fork_queue = zlist_new ();
    sim->unacked = zlistx_new ();
    sim->bulky = zlist_new ();
    sim->loop = zloop_new ();
    sim->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    sim->kick_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event kick = { .events = EPOLLIN, .data.u64 = S_KICK_KEY };
    if (sim->epoll_fd == -1 || sim->kick_fd == -1
    ||  epoll_ctl (sim->epoll_fd, EPOLL_CTL_ADD, sim->kick_fd, &kick) != 0) {
        fprintf (stderr, "zc-sim: cannot make the epoll set: %s\n", strerror (errno));
        goto done;
    }
    zmq_pollitem_t items [3] = {
        { NULL, sim->epoll_fd, ZMQ_POLLIN, 0 },
        { NULL, zc_daemon_signal_fd (), ZMQ_POLLIN, 0 },
        { NULL, sim->user_fd, ZMQ_POLLIN, 0 }
    };
    zloop_poller (sim->loop, &items [0], s_epoll_event, sim);
    zloop_poller (sim->loop, &items [1], s_signal_event, sim);
    zloop_poller (sim->loop, &items [2], s_user_signal_event, sim);
    zloop_timer (sim->loop, S_TICK_MS, 0, s_tick, sim);
    zc_info ("%u node(s) %s ... %s dial hub %s at %s, %.0f per second%s", sim->count, first_name,
             last_name, sim->hub_name, sim->endpoint, sim->rate,
             sim->fork? "; exec runs for real": "; exec answered without running");
    sim->start_ms = sim->rx_window_at = zclock_mono ();
    if (sim->status_every > 0)
        sim->next_status = sim->start_ms + (int64_t) (sim->status_every * 1000);
    zloop_start (sim->loop);
    s_status (sim, "exit");
    status = 0;
done:
    zlist_destroy (&subs);
    s_sim_destroy (sim);
    return status;
}

//  ---------------------------------------------------------------------
//  keygen: zc_keygen per node, from a few threads, since each pair costs
//  two fsyncs (about 1 ms here): 10,000 pairs take seconds, not tens.

#define S_KEYGEN_THREADS    8

typedef struct {
    const char *keys, *prefix;
    uint32_t first, count;
    uint32_t next;              //  the next index to write (atomic)
    int failed;                 //  set by the first thread that fails (atomic)
    char *error;                //  its message
} s_keygen_t;

static void *
s_keygen_thread (void *arg)
{
    s_keygen_t *job = arg;
    uint32_t index;
    while (!__atomic_load_n (&job->failed, __ATOMIC_SEQ_CST)
    &&     (index = __atomic_fetch_add (&job->next, 1, __ATOMIC_SEQ_CST)) < job->count) {
        char name [ZC_NAME_SIZE], *error = NULL;
        s_node_name (job->prefix, job->first + index, name);
        if (zc_keygen (job->keys, name, false, &error) != 0) {
            int expected = 0;
            if (__atomic_compare_exchange_n (&job->failed, &expected, 1, false,
                                             __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                job->error = error;
            else
                free (error);
        }
    }
    return NULL;
}

static int
s_keygen (int argc, char *argv [])
{
    static struct option longs [] = {
        { "keys", 1, NULL, 'k' }, { "prefix", 1, NULL, 'p' }, { "count", 1, NULL, 'n' },
        { "first", 1, NULL, 'f' }, { "help", 0, NULL, '?' }, { NULL, 0, NULL, 0 }
    };
    s_keygen_t job = { .first = 1 };
    int option;
    optind = 1;
    while ((option = getopt_long (argc, argv, "", longs, NULL)) != -1) {
        switch (option) {
            case 'k': job.keys = optarg; break;
            case 'p': job.prefix = optarg; break;
            case 'n':
            case 'f':
                if (s_parse_count (optarg, option == 'f'? 0: 1, 1000000,
                                   option == 'n'? &job.count: &job.first) != 0) {
                    fprintf (stderr, "zc-sim: bad number '%s'\n%s", optarg, s_usage);
                    return 2;
                }
                break;
            default:
                fprintf (option == '?' && !optopt? stdout: stderr, "%s", s_usage);
                return option == '?' && !optopt? 0: 2;
        }
    }
    if (optind < argc || !job.keys || !job.prefix || !job.count) {
        fprintf (stderr, "zc-sim: keygen needs --keys, --prefix and --count\n%s", s_usage);
        return 2;
    }
    char first_name [ZC_NAME_SIZE], last_name [ZC_NAME_SIZE];
    if (s_node_name (job.prefix, job.first, first_name) != 0
    ||  s_node_name (job.prefix, job.first + job.count - 1, last_name) != 0) {
        fprintf (stderr, "zc-sim: --prefix: '%s' makes names over %d bytes\n", job.prefix, ZC_NAME_MAX);
        return 2;
    }
    //  The directory first, so the threads do not race to make it.
    char *error = NULL;
    if (zc_keygen (job.keys, first_name, false, &error) != 0) {
        fprintf (stderr, "zc-sim: %s\n", error);
        free (error);
        return 1;
    }
    int64_t start = zclock_mono ();
    job.next = 1;
    pthread_t threads [S_KEYGEN_THREADS];
    size_t started = 0;
    for (; started < S_KEYGEN_THREADS && started + 1 < job.count; started++)
        if (pthread_create (&threads [started], NULL, s_keygen_thread, &job) != 0)
            break;
    s_keygen_thread (&job);
    for (size_t index = 0; index < started; index++)
        pthread_join (threads [index], NULL);
    if (job.failed) {
        fprintf (stderr, "zc-sim: %s\n", job.error);
        free (job.error);
        return 1;
    }
    printf ("wrote %u key pair(s), %s to %s, into %s in %.2f s\n", job.count, first_name, last_name,
            job.keys, (zclock_mono () - start) / 1000.0);
    return 0;
}

int
main (int argc, char *argv [])
{
    zc_alloc_init ();
    if (argc >= 2 && streq (argv [1], "keygen"))
        return s_keygen (argc - 1, argv + 1);
    if (argc >= 2 && streq (argv [1], "run"))
        return s_run (argc - 1, argv + 1);
    if (argc >= 2 && (streq (argv [1], "--help") || streq (argv [1], "-h"))) {
        printf ("%s", s_usage);
        return 0;
    }
    fprintf (stderr, "%s", s_usage);
    return 2;
}
