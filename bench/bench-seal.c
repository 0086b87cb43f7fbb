/*  bench-seal.c — the CPU cost of end-to-end security per job and result.

    usage: bench-seal [--count N]

    Makes keys for an origin and two targets in a scratch directory, then
    times, in this process's CPU time, what the agents do per job with
    e2e on, against the same steps with e2e off (envelopes in clear):
      single   origin seals the REQ payload of `exec true` for one target,
               target opens it, target seals a 200-byte result, origin
               opens it (src/seal.c, as delivery, runner and agent call it)
      tagged   the same for a job sent to several targets directly: origin
               tags it for each target (keyed BLAKE2b over the header and
               the payload's hash), each target checks its tag; counted
               for a message to two targets (the origin's part halved)
    Each figure: µs of CPU per job and result, split origin / target,
    median of 5 runs of N jobs. The pair keys are computed once before
    timing, as the agents cache them. Also prints the one-off cost of a
    pair key (X25519 + BLAKE2b).
    Exits 0, or 1 when something failed to open (a bug), 2 on usage.
*/
#include <getopt.h>
#include <time.h>
#include <czmq.h>
#include <sodium.h>
#include "keys.h"
#include "seal.h"
#include "wire.h"

static double
s_cpu_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &now);
    return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

//  One run of 'count' jobs; adds the CPU µs per job of each side to
//  *origin_us and *target_us. Returns -1 when an envelope did not open.
typedef enum { S_SINGLE, S_TAGGED } s_kind_t;

static int
s_run (zc_seal_t *origin, zc_seal_t *target, s_kind_t kind, size_t count,
       double *origin_us, double *target_us)
{
    zlist_t *args = zlist_new ();
    zlist_append (args, "true");
    zframe_t *req = zc_wire_req_payload (args, NULL, 0);
    zlist_destroy (&args);
    zc_result_t result = { .state = ZC_STATE_DONE, .started_ms = 1, .finished_ms = 2 };
    uint8_t out [200];
    memset (out, 'x', sizeof out);
    result.out = out;
    result.out_size = sizeof out;
    zframe_t *reply = zc_wire_result_payload (&result);
    double origin_time = 0, target_time = 0;
    int rc = 0;
    char reason [256];
    for (size_t index = 0; index < count && rc == 0; index++) {
        zc_id_t id;
        zc_id_generate (&id);
        zc_seal_about_t about = { .id = &id, .origin = "o1", .target = "t1",
                                  .relay = "", .method = ZC_METHOD_EXEC, .method_timeout = 30,
                                  .expire = 86400 };
        zc_wire_t *msg = zc_wire_new (ZC_MSG_REQ);
        zlist_append (msg->to, "t1");
        zlist_append (msg->to, "t2");
        double start = s_cpu_us ();
        zframe_t *envelope = kind == S_TAGGED
                           ? zc_seal_req_tagged (origin, &about, req, msg, reason, sizeof reason)
                           : zc_seal_req (origin, &about, req, reason, sizeof reason);
        double sealed = s_cpu_us ();
        about.target = "t1";
        zframe_t *plain = NULL, *back = NULL, *opened = NULL;
        if (zc_seal_open_req (target, &about, envelope, zc_wire_tag (msg, "t1"), &plain,
                              reason, sizeof reason) != 0)
            rc = -1;
        zc_wire_destroy (&msg);
        zc_seal_about_t reply_about = { .id = &id, .origin = "o1", .target = "t1", .relay = "" };
        back = zc_seal_reply (target, &reply_about, false, reply);
        double answered = s_cpu_us ();
        if (zc_seal_open_reply (origin, &reply_about, back, &opened, NULL, reason, sizeof reason) != 0)
            rc = -1;
        double done = s_cpu_us ();
        //  One signature serves every target of a message: here the
        //  smallest broadcast, two targets, shares it.
        origin_time += (sealed - start) / (kind == S_SINGLE? 1: 2) + (done - answered);
        target_time += answered - sealed;
        zframe_destroy (&envelope);
        zframe_destroy (&plain);
        zframe_destroy (&back);
        zframe_destroy (&opened);
    }
    *origin_us = origin_time / count;
    *target_us = target_time / count;
    zframe_destroy (&req);
    zframe_destroy (&reply);
    return rc;
}

int
main (int argc, char *argv [])
{
    size_t count = 20000;
    static struct option options [] = {
        { "count", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (option != 'n' || atol (optarg) < 1) {
            fprintf (stderr, "usage: bench-seal [--count N]\n");
            return 2;
        }
        count = (size_t) atol (optarg);
    }
    zsys_init ();
    zsys_handler_set (NULL);
    char dir [] = "/tmp/zcnc-bench-seal-XXXXXX";
    if (!mkdtemp (dir))
        return 1;
    const char *names [] = { "o1", "t1", "t2" };    //  t2: the second target of a broadcast
    for (int index = 0; index < 3; index++)
        zc_keygen (dir, names [index], false, NULL);
    zc_keyring_t *keyring = zc_keyring_load (dir, NULL);
    int status = 0;
    printf ("end-to-end security, CPU per job and its result (median of 5 runs of %zu; us)\n", count);
    //  The one-off cost of a pair key: a fresh seal's first REQ less its second.
    {
        double fresh_us = 0, warm_us = 0;
        size_t rounds = 200;
        zlist_t *args = zlist_new ();
        zlist_append (args, "true");
        zframe_t *req = zc_wire_req_payload (args, NULL, 0);
        zlist_destroy (&args);
        char reason [256];
        for (size_t index = 0; index < rounds; index++) {
            zc_seal_t *origin = zc_seal_load (dir, "o1", keyring, true, NULL);
            zc_id_t id;
            zc_id_generate (&id);
            zc_seal_about_t about = { .id = &id, .origin = "o1", .target = "t1", .relay = "" };
            for (int pass = 0; pass < 2; pass++) {
                double start = s_cpu_us ();
                zframe_t *envelope = zc_seal_req (origin, &about, req, reason, sizeof reason);
                *(pass? &warm_us: &fresh_us) += s_cpu_us () - start;
                zframe_destroy (&envelope);
            }
            zc_seal_destroy (&origin);
        }
        zframe_destroy (&req);
        printf ("pair_key  %.1f us once per peer (X25519 and BLAKE2b, then cached)\n",
                (fresh_us - warm_us) / rounds);
    }
    const char *labels [] = { "single", "tagged" };
    for (int kind = 0; kind < 2; kind++) {
        double figures [2][2][5];       //  [e2e off, on][origin, target][run]
        for (int e2e = 0; e2e < 2; e2e++) {
            zc_seal_t *origin = zc_seal_load (dir, "o1", keyring, e2e, NULL);
            zc_seal_t *target = zc_seal_load (dir, "t1", keyring, e2e, NULL);
            double ignored [2];
            s_run (origin, target, (s_kind_t) kind, 100, &ignored [0], &ignored [1]);   //  warm, keys cached
            for (int run = 0; run < 5; run++)
                if (s_run (origin, target, (s_kind_t) kind, count, &figures [e2e][0][run],
                           &figures [e2e][1][run]) != 0) {
                    fprintf (stderr, "bench-seal: an envelope did not open\n");
                    status = 1;
                }
            zc_seal_destroy (&origin);
            zc_seal_destroy (&target);
        }
        double median [2][2];
        for (int e2e = 0; e2e < 2; e2e++)
            for (int side = 0; side < 2; side++) {
                qsort (figures [e2e][side], 5, sizeof (double), s_compare);
                median [e2e][side] = figures [e2e][side][2];
            }
        double added = (median [1][0] + median [1][1]) - (median [0][0] + median [0][1]);
        printf ("seal_%s  on: origin %.1f target %.1f; off: origin %.1f target %.1f;"
                " added per job+result %.1f us (target <= 100: %s)\n",
                labels [kind], median [1][0], median [1][1], median [0][0], median [0][1],
                added, added <= 100? "met": "not met");
    }
    zc_keyring_destroy (&keyring);
    for (int index = 0; index < 3; index++) {
        char *path = zsys_sprintf ("%s/%s.cert", dir, names [index]);
        unlink (path);
        zstr_free (&path);
        path = zsys_sprintf ("%s/%s.cert_secret", dir, names [index]);
        unlink (path);
        zstr_free (&path);
    }
    rmdir (dir);
    return status;
}
