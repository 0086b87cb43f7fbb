/*  bench-reqrep.c — the request/reply baselines zcnc is measured against
    (issue 14, bench/fleet.sh): NATS request/reply and a bare ZeroMQ
    relay, the ceiling of a hub's design on this machine.

      bench-reqrep nats-rtt --url URL [--ca FILE] [COMMON]
          One connection answers requests on a subject (it publishes the
          request's data back to its reply subject); another asks, one
          request at a time (natsConnection_Request): the round trips'
          p50/p99.
      bench-reqrep nats-throughput --url URL [--ca FILE] [--window W] [COMMON]
          The same, with up to W requests unanswered
          (natsConnection_PublishRequest to one reply subject the asker
          subscribes to): answers per second.
      bench-reqrep zmq-rtt|zmq-throughput [--plain] [--window W] [COMMON]
          A bare relay in three processes, like a hub between two agents:
          a DEALER (here) -> a ROUTER (a child: it forwards each message to
          the echo's routing id, and the echo's answers back to the asker)
          -> a DEALER that echoes (another child); CURVE on both links
          unless --plain. Round trips one at a time (p50/p99), or with W
          unanswered (answers per second).
      bench-reqrep zcnc-throughput --socket PATH --node NAME [--window W] [COMMON]
          zcnc's figure beside those: {"op":"ping","node":NAME} requests to
          an agent's socket, up to W unanswered (one on each of W
          connections: an agent answers a connection's requests one at a
          time): the agent, the hub and the target agent relay each one
          and its answer (CURVE and end-to-end sealing as always). Answers
          per second; an answer that is an error fails the figure.
      COMMON: --count N (requests, default 20000; a round-trip figure
          takes a fifth, at least 1000), --size B (bytes of a request,
          default 16), --label TEXT.

    Prints one line per figure, as bench-latency does:
      LABEL p50=…ms p99=…ms min=…ms max=…ms n=N
      LABEL N answers/s in S s (window W)
    Exit status 0, 1 when a figure could not be measured, 2 on a usage
    error. The NATS commands exist when libnats was found at build time
    (`bench-reqrep features` says).
*/
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef ZC_BENCH_NATS
#include "bench-nats.h"
#endif
#include "bench-stats.h"

typedef struct {
    const char *url, *ca, *label, *socket, *node;
    int count, size, window;
    bool plain;
} s_args_t;

static void
s_print_rtt (const char *label, double *samples, int count)
{
    qsort (samples, (size_t) count, sizeof (double), s_compare);
    printf ("%-26s p50=%.3fms p99=%.3fms min=%.3fms max=%.3fms n=%d\n", label,
            s_percentile (samples, count, 0.50), s_percentile (samples, count, 0.99),
            samples [0], samples [count - 1], count);
}

static void
s_print_throughput (const char *label, int count, double elapsed_ms, int window)
{
    printf ("%-26s %.0f answers/s in %.3f s (window %d)\n", label, count / (elapsed_ms / 1000.0),
            elapsed_ms / 1000.0, window);
}

//  ---------------------------------------------------------------------
//  A bare ZeroMQ relay

//  The relay: a ROUTER on 127.0.0.1 (CURVE server with 'secret' unless
//  plain); writes its endpoint to 'pipe_fd', then relays until killed.
static void
s_relay (const s_args_t *args, const uint8_t *public_key, const uint8_t *secret_key, int pipe_fd)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_router_mandatory (router, 1);
    if (!args->plain) {
        zsock_set_curve_server (router, 1);
        zsock_set_curve_publickey_bin (router, public_key);
        zsock_set_curve_secretkey_bin (router, secret_key);
    }
    if (zsock_bind (router, "tcp://127.0.0.1:*") < 0)
        _exit (1);
    const char *endpoint = zsock_endpoint (router);
    if (write (pipe_fd, endpoint, strlen (endpoint) + 1) < 0)
        _exit (1);
    close (pipe_fd);
    for (;;) {
        zmsg_t *msg = zmsg_recv (router);
        if (!msg)
            break;
        //  [asker, data] -> [echo, asker, data]; [echo, asker, data] -> [asker, data]
        zframe_t *from = zmsg_pop (msg);
        if (zframe_streq (from, "echo"))
            zframe_destroy (&from);
        else {
            zmsg_prepend (msg, &from);
            zmsg_pushstr (msg, "echo");
        }
        zmsg_send (&msg, router);
    }
    _exit (0);
}

//  A DEALER with routing id 'name', connected to the relay at 'endpoint'.
static zsock_t *
s_dealer (const s_args_t *args, const char *name, const char *endpoint, const uint8_t *server_key)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_identity (dealer, name);
    if (!args->plain) {
        zcert_t *cert = zcert_new ();
        zcert_apply (cert, dealer);
        zsock_set_curve_serverkey_bin (dealer, server_key);
        zcert_destroy (&cert);
    }
    zsock_connect (dealer, "%s", endpoint);
    return dealer;
}

//  The echo: answers every message with itself.
static void
s_echo (const s_args_t *args, const char *endpoint, const uint8_t *server_key)
{
    zsock_t *dealer = s_dealer (args, "echo", endpoint, server_key);
    for (;;) {
        zmsg_t *msg = zmsg_recv (dealer);
        if (!msg)
            break;
        zmsg_send (&msg, dealer);
    }
    _exit (0);
}

static int
s_zmq (const s_args_t *args, bool throughput)
{
    //  Keys and children before this process makes a ZeroMQ context.
    zcert_t *relay_cert = zcert_new ();     //  no context: zmq_curve_keypair
    uint8_t public_key [32], secret_key [32];
    memcpy (public_key, zcert_public_key (relay_cert), 32);
    memcpy (secret_key, zcert_secret_key (relay_cert), 32);
    zcert_destroy (&relay_cert);
    int fds [2];
    if (pipe (fds) != 0)
        return 1;
    pid_t relay = fork ();
    if (relay == 0) {
        close (fds [0]);
        s_relay (args, public_key, secret_key, fds [1]);
    }
    close (fds [1]);
    char endpoint [256] = "";
    ssize_t got = read (fds [0], endpoint, sizeof endpoint - 1);
    close (fds [0]);
    int rc = 1;
    pid_t echo = got > 0? fork (): -1;
    if (echo == 0)
        s_echo (args, endpoint, public_key);
    if (echo > 0) {
        zsock_t *asker = s_dealer (args, "asker", endpoint, public_key);
        char *data = calloc (1, (size_t) args->size);
        //  Probes until one is answered: both links are up (the relay
        //  drops what it cannot route yet); then the late answers go.
        zmsg_t *first = NULL;
        zsock_set_rcvtimeo (asker, 100);
        for (int probe = 0; probe < 50 && !first; probe++) {
            zsock_send (asker, "b", data, (size_t) args->size);
            first = zmsg_recv (asker);
        }
        for (zmsg_t *late = first? zmsg_recv (asker): NULL; late; late = zmsg_recv (asker))
            zmsg_destroy (&late);
        zsock_set_rcvtimeo (asker, 5000);
        if (first) {
            zmsg_destroy (&first);
            if (throughput) {
                int window = args->window, sent = 0, answered = 0;
                double start = s_now_ms ();
                while (answered < args->count) {
                    while (sent < args->count && sent - answered < window) {
                        zsock_send (asker, "b", data, (size_t) args->size);
                        sent++;
                    }
                    zmsg_t *answer = zmsg_recv (asker);
                    if (!answer)
                        break;
                    zmsg_destroy (&answer);
                    answered++;
                }
                if (answered == args->count) {
                    s_print_throughput (args->label, answered, s_now_ms () - start, window);
                    rc = 0;
                }
            }
            else {
                double *samples = calloc ((size_t) args->count, sizeof (double));
                int done = 0;
                for (; done < args->count; done++) {
                    double start = s_now_ms ();
                    zsock_send (asker, "b", data, (size_t) args->size);
                    zmsg_t *answer = zmsg_recv (asker);
                    if (!answer)
                        break;
                    samples [done] = s_now_ms () - start;
                    zmsg_destroy (&answer);
                }
                if (done == args->count) {
                    s_print_rtt (args->label, samples, done);
                    rc = 0;
                }
                free (samples);
            }
        }
        if (rc != 0)
            fprintf (stderr, "bench-reqrep: the relay did not answer within 5 s\n");
        free (data);
        zsock_destroy (&asker);
    }
    kill (relay, SIGKILL);
    waitpid (relay, NULL, 0);
    if (echo > 0) {
        kill (echo, SIGKILL);
        waitpid (echo, NULL, 0);
    }
    return rc;
}

//  ---------------------------------------------------------------------
//  zcnc: pings through an agent's socket

//  One connection to the agent's socket, or -1.
static int
s_zcnc_connect (const char *path)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    snprintf (address.sun_path, sizeof address.sun_path, "%s", path);
    int fd = socket (AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect (fd, (struct sockaddr *) &address, sizeof address) != 0) {
        close (fd);
        fd = -1;
    }
    if (fd < 0)
        fprintf (stderr, "bench-reqrep: cannot connect to %s: %s\n", path, strerror (errno));
    return fd;
}

//  An agent answers one request of a connection at a time (its answers
//  keep the order of the requests), so W unanswered pings are W
//  connections with one each; the agent, the hub and the target take
//  them all at once.
static int
s_zcnc (const s_args_t *args)
{
    int conns = args->window < args->count? args->window: args->count;
    struct pollfd *polled = calloc ((size_t) conns, sizeof (struct pollfd));
    char request [300];
    int length = snprintf (request, sizeof request, "{\"op\":\"ping\",\"node\":\"%s\",\"timeout\":5}\n", args->node);
    int rc = 1, sent = 0, answered = 0, errors = 0;
    for (int index = 0; index < conns; index++) {
        polled [index].fd = s_zcnc_connect (args->socket);
        polled [index].events = POLLIN;
        if (polled [index].fd < 0)
            goto done;
    }
    double start = s_now_ms ();
    for (int index = 0; index < conns; index++, sent++)
        if (write (polled [index].fd, request, (size_t) length) != length)
            goto done;
    while (answered < args->count) {
        if (poll (polled, (nfds_t) conns, 5000) <= 0) {
            fprintf (stderr, "bench-reqrep: no answer within 5 s (%d of %d)\n", answered, args->count);
            goto done;
        }
        for (int index = 0; index < conns; index++) {
            if (!(polled [index].revents & (POLLIN | POLLHUP)))
                continue;
            //  One answer line per request: it fits one read.
            char buffer [4096];
            ssize_t got = read (polled [index].fd, buffer, sizeof buffer);
            if (got <= 0) {
                fprintf (stderr, "bench-reqrep: the agent closed a connection after %d answers\n", answered);
                goto done;
            }
            for (char *at = buffer; (at = memchr (at, '\n', (size_t) (buffer + got - at))); at++)
                answered++;
            if (memmem (buffer, (size_t) got, "\"error\"", 7))
                errors++;
            if (sent < args->count) {
                if (write (polled [index].fd, request, (size_t) length) != length)
                    goto done;
                sent++;
            }
        }
    }
    if (errors)
        fprintf (stderr, "bench-reqrep: %d of %d pings answered with an error\n", errors, answered);
    else {
        s_print_throughput (args->label, answered, s_now_ms () - start, conns);
        rc = 0;
    }
done:
    for (int index = 0; index < conns; index++)
        if (polled [index].fd > 0)
            close (polled [index].fd);
    free (polled);
    return rc;
}

//  ---------------------------------------------------------------------
//  NATS request/reply

#ifdef ZC_BENCH_NATS
//  Requests leave at once, as a zcnc client's do.
static natsConnection *
s_nats_connect (const s_args_t *args)
{
    return s_nats_open ("bench-reqrep", args->url, args->ca, true, false);
}

//  The answering side: the request's data back to its reply subject.
static void
s_nats_answer (natsConnection *connection, natsSubscription *subscription, natsMsg *msg, void *arg)
{
    natsConnection_Publish (connection, natsMsg_GetReply (msg), natsMsg_GetData (msg),
                            natsMsg_GetDataLength (msg));
    natsMsg_Destroy (msg);
}

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int answered;
} s_answers_t;

static void
s_nats_answered (natsConnection *connection, natsSubscription *subscription, natsMsg *msg, void *arg)
{
    s_answers_t *answers = arg;
    pthread_mutex_lock (&answers->lock);
    answers->answered++;
    pthread_cond_signal (&answers->changed);
    pthread_mutex_unlock (&answers->lock);
    natsMsg_Destroy (msg);
}

static int
s_nats (const s_args_t *args, bool throughput)
{
    natsConnection *server = s_nats_connect (args), *asker = server? s_nats_connect (args): NULL;
    natsSubscription *service = NULL, *inbox = NULL;
    int rc = 1;
    if (!asker
    ||  natsConnection_Subscribe (&service, server, "bench.service", s_nats_answer, NULL) != NATS_OK
    ||  natsConnection_Flush (server) != NATS_OK)
        goto done;
    char *data = calloc (1, (size_t) args->size);
    if (throughput) {
        s_answers_t answers = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
        if (natsConnection_Subscribe (&inbox, asker, "bench.answers", s_nats_answered, &answers) != NATS_OK
        ||  natsSubscription_SetPendingLimits (inbox, -1, -1) != NATS_OK
        ||  natsConnection_Flush (asker) != NATS_OK) {
            free (data);
            goto done;
        }
        double start = s_now_ms ();
        int sent = 0;
        bool stalled = false;
        pthread_mutex_lock (&answers.lock);
        while (answers.answered < args->count && !stalled) {
            while (sent < args->count && sent - answers.answered < args->window) {
                pthread_mutex_unlock (&answers.lock);
                natsConnection_PublishRequest (asker, "bench.service", "bench.answers", data, args->size);
                sent++;
                pthread_mutex_lock (&answers.lock);
            }
            if (answers.answered < args->count) {
                struct timespec until;
                clock_gettime (CLOCK_REALTIME, &until);
                until.tv_sec += 5;
                stalled = pthread_cond_timedwait (&answers.changed, &answers.lock, &until) != 0;
            }
        }
        int answered = answers.answered;
        pthread_mutex_unlock (&answers.lock);
        if (answered == args->count) {
            s_print_throughput (args->label, answered, s_now_ms () - start, args->window);
            rc = 0;
        }
        else
            fprintf (stderr, "bench-reqrep: %d of %d answers within 5 s of the last\n", answered, args->count);
        natsSubscription_Unsubscribe (inbox);
    }
    else {
        double *samples = calloc ((size_t) args->count, sizeof (double));
        int done = 0;
        for (; done < args->count; done++) {
            natsMsg *reply = NULL;
            double start = s_now_ms ();
            if (natsConnection_Request (&reply, asker, "bench.service", data, args->size, 5000) != NATS_OK)
                break;
            samples [done] = s_now_ms () - start;
            natsMsg_Destroy (reply);
        }
        if (done == args->count) {
            s_print_rtt (args->label, samples, done);
            rc = 0;
        }
        else
            fprintf (stderr, "bench-reqrep: request %d had no answer within 5 s\n", done + 1);
        free (samples);
    }
    free (data);
done:
    natsSubscription_Destroy (inbox);
    natsSubscription_Destroy (service);
    natsConnection_Destroy (asker);
    natsConnection_Destroy (server);
    return rc;
}
#endif

//  ---------------------------------------------------------------------

static void
s_usage (void)
{
    fprintf (stderr,
        "usage: bench-reqrep nats-rtt|nats-throughput --url URL [--ca FILE] [--window W] [COMMON]\n"
        "       bench-reqrep zmq-rtt|zmq-throughput [--plain] [--window W] [COMMON]\n"
        "       bench-reqrep zcnc-throughput --socket PATH --node NAME [--window W] [COMMON]\n"
        "       bench-reqrep features\n"
        "COMMON: [--count N] [--size B] [--label TEXT]\n");
    exit (2);
}

int
main (int argc, char **argv)
{
    if (argc < 2)
        s_usage ();
    const char *command = argv [1];
    if (streq (command, "features")) {
#ifdef ZC_BENCH_NATS
        printf ("zmq nats\n");
#else
        printf ("zmq\n");
#endif
        return 0;
    }
    s_args_t args = { .count = 20000, .size = 16, .window = 100, .label = command };
    static struct option options [] = {
        { "url",    required_argument, NULL, 'u' },
        { "ca",     required_argument, NULL, 'a' },
        { "count",  required_argument, NULL, 'n' },
        { "size",   required_argument, NULL, 's' },
        { "window", required_argument, NULL, 'w' },
        { "label",  required_argument, NULL, 'l' },
        { "plain",  no_argument,       NULL, 'p' },
        { "socket", required_argument, NULL, 'S' },
        { "node",   required_argument, NULL, 'N' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    optind = 2;
    while ((option = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (option) {
            case 'u': args.url = optarg; break;
            case 'a': args.ca = optarg; break;
            case 'n': args.count = atoi (optarg); break;
            case 's': args.size = atoi (optarg); break;
            case 'w': args.window = atoi (optarg); break;
            case 'l': args.label = optarg; break;
            case 'p': args.plain = true; break;
            case 'S': args.socket = optarg; break;
            case 'N': args.node = optarg; break;
            default:  s_usage ();
        }
    }
    if (optind != argc || args.count < 1 || args.size < 1 || args.window < 1)
        s_usage ();
    bool throughput = strstr (command, "throughput") != NULL;
    if (!throughput) {
        args.count /= 5;
        if (args.count < 1000)
            args.count = 1000;
    }
    if (streq (command, "zcnc-throughput")) {
        if (!args.socket || !args.node)
            s_usage ();
        return s_zcnc (&args);
    }
    if (streq (command, "zmq-rtt") || streq (command, "zmq-throughput"))
        return s_zmq (&args, throughput);
    if (streq (command, "nats-rtt") || streq (command, "nats-throughput")) {
#ifdef ZC_BENCH_NATS
        if (!args.url)
            s_usage ();
        return s_nats (&args, throughput);
#else
        fprintf (stderr, "bench-reqrep: built without libnats (apt-get install libnats-dev)\n");
        return 1;
#endif
    }
    s_usage ();
    return 2;
}
