/*  bench-conns.c — what a bare libzmq ROUTER with CURVE costs per peer:
    the baseline of a hub's memory per node (issue 14, bench/fleet-sim.sh).

      bench-conns router [EXPECT]
          Binds a ROUTER, CURVE server with a fresh key pair, on
          tcp://127.0.0.1:* with the hub's options as far as they matter
          for memory (sndhwm 100000, no ZeroMQ heartbeats, its backlog and
          largest message), no ZAP handler (libzmq then takes any client
          key), and prints "endpoint ENDPOINT" and "server_key KEY". It
          sends each message back; once EXPECT have come it prints
          "received EXPECT messages in S s". The caller reads its memory
          in /proc.
      bench-conns dealers ENDPOINT SERVER_KEY N [ROUNDS]
          Opens N DEALERs, each with its own fresh CURVE key pair, dials
          ENDPOINT with them, sends one small message on each, prints
          "dialled N"; then ROUNDS times a message on each DEALER and its
          echo back (libzmq's memory per connection grows with the
          messages that went through it), prints "rounds ROUNDS done"
          and idles. Two descriptors a DEALER (its mailbox and its
          connection): split a larger fleet over several processes.

    Both run until SIGTERM or SIGINT. Exit status 0, 1 when they cannot
    start, 2 on a usage error.
*/
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define S_SNDHWM            100000          //  as the hub's ROUTER
#define S_MAX_FRAME         (8 << 20)       //  as the hub's
#define S_BACKLOG           4096            //  as the hub's
#define S_PER_IO_THREAD     2000            //  as tests/zc-sim

static int
s_router (long expect)
{
    zcert_t *cert = zcert_new ();
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    if (!cert || !router) {
        fprintf (stderr, "bench-conns: cannot create the ROUTER: %s\n", zmq_strerror (zmq_errno ()));
        return 1;
    }
    zcert_apply (cert, router);
    zsock_set_curve_server (router, 1);
    zsock_set_router_mandatory (router, 1);
    zsock_set_sndhwm (router, S_SNDHWM);
    zsock_set_heartbeat_ivl (router, 0);
    zsock_set_maxmsgsize (router, S_MAX_FRAME);
    zsock_set_backlog (router, S_BACKLOG);
    if (zsock_bind (router, "tcp://127.0.0.1:*") < 0) {
        fprintf (stderr, "bench-conns: cannot bind: %s\n", zmq_strerror (zmq_errno ()));
        return 1;
    }
    printf ("endpoint %s\nserver_key %s\n", zsock_endpoint (router), zcert_public_txt (cert));
    fflush (stdout);
    int64_t start = zclock_mono ();
    long received = 0;
    zmsg_t *msg;
    while ((msg = zmsg_recv (router))) {
        zmsg_send (&msg, router);
        if (++received == expect) {
            printf ("received %ld messages in %.2f s\n", received, (zclock_mono () - start) / 1000.0);
            fflush (stdout);
        }
    }
    zsock_destroy (&router);
    zcert_destroy (&cert);
    return 0;
}

static int
s_dealers (const char *endpoint, const char *server_key, long count, long rounds)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && (rlim_t) count * 2 + 64 > limit.rlim_cur) {
        fprintf (stderr, "bench-conns: %ld DEALERs need %ld descriptors, RLIMIT_NOFILE is %lu"
                 " (raise it: ulimit -n, or split them over processes)\n",
                 count, count * 2 + 64, (unsigned long) limit.rlim_cur);
        return 1;
    }
    zsock_t **dealers = calloc ((size_t) count, sizeof *dealers);
    for (long index = 0; index < count; index++) {
        zcert_t *cert = zcert_new ();
        zsock_t *dealer = zsock_new (ZMQ_DEALER);
        if (!cert || !dealer) {
            fprintf (stderr, "bench-conns: cannot create DEALER %ld: %s\n", index + 1,
                     zmq_strerror (zmq_errno ()));
            return 1;
        }
        zcert_apply (cert, dealer);
        zcert_destroy (&cert);
        zsock_set_curve_serverkey (dealer, server_key);
        zsock_set_heartbeat_ivl (dealer, 0);
        zsock_set_linger (dealer, 0);
        if (zsock_connect (dealer, "%s", endpoint) != 0) {
            fprintf (stderr, "bench-conns: cannot dial %s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
            return 1;
        }
        zstr_send (dealer, "hello");
        dealers [index] = dealer;
    }
    printf ("dialled %ld\n", count);
    fflush (stdout);
    //  The first echo, then a message and its echo per round and DEALER
    //  (a HELLO and its answer, as an agent's heartbeat).
    for (long round = 0; round <= rounds && !zsys_interrupted; round++) {
        for (long index = 0; index < count && round > 0; index++)
            zstr_send (dealers [index], "HELLO, about as long as an agent's heartbeat");
        for (long index = 0; index < count && !zsys_interrupted; index++) {
            char *echo = zstr_recv (dealers [index]);
            zstr_free (&echo);
        }
    }
    if (rounds && !zsys_interrupted) {
        printf ("rounds %ld done\n", rounds);
        fflush (stdout);
    }
    while (!zsys_interrupted)
        pause ();
    for (long index = 0; index < count; index++)
        zsock_destroy (&dealers [index]);
    free (dealers);
    return 0;
}

int
main (int argc, char **argv)
{
    long count = argc >= 5? atol (argv [4]): 0;
    long rounds = argc == 6? atol (argv [5]): 0;
    bool router = argc >= 2 && argc <= 3 && streq (argv [1], "router");
    bool dealers = (argc == 5 || argc == 6) && streq (argv [1], "dealers") && count > 0 && rounds >= 0;
    if (!router && !dealers) {
        fprintf (stderr, "usage: bench-conns router [EXPECT]\n"
                         "       bench-conns dealers ENDPOINT SERVER_KEY N [ROUNDS]\n");
        return 2;
    }
    //  As many sockets as descriptors allow, and I/O threads as the
    //  simulator has them; before the first socket.
    zsys_set_max_sockets (0);
    if (dealers)
        zsys_set_io_threads (count / S_PER_IO_THREAD + 1 > 4? 4: (size_t) (count / S_PER_IO_THREAD + 1));
    return router? s_router (argc == 3? atol (argv [2]): 0): s_dealers (argv [2], argv [3], count, rounds);
}
