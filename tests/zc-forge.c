/*  zc-forge.c — crafts one job the way a hostile or broken node would, for
    the security tests.

        zc-forge [--origin O] [--created SECS] [--expire SECS] [--method M] [--plain]
                 [--resend N] [--wait SECS] ENDPOINT HUB_CERT KEYS_DIR NAME TARGET COMMAND

    Connects to the hub at ENDPOINT as NAME (KEYS_DIR/NAME.cert_secret; an
    agent key, or a hub key, which the hub takes for a child hub), says
    HELLO, and sends one exec REQ of COMMAND for TARGET, sealed for TARGET
    with NAME's keys as a real origin would (TARGET's cert must be in
    KEYS_DIR), except:
        --method M      a job of method M (e.g. http_get), COMMAND its
                        one argument, unchecked: what the message parser
                        of a real origin would refuse
        --origin O      claims origin O (only a hub link can: the hub
                        stamps an agent's own name)
        --created SECS  creation time SECS from now (-172800: two days
                        ago; 3600: an hour ahead)
        --expire SECS   the job's expire (default 86400)
        --plain         no authenticator at all
        --resend N      sends the same bytes N times, 1 s apart
        --wait SECS     how long to wait for the REPLY (default 5; 0 when
                        the test expects none and looks elsewhere)
    Then waits SECS for the job's REPLY and prints it as
    "REPLY state=STATE error=TEXT" (or "REPLY not authentic: REASON"),
    or "no REPLY". Exit 0 when a REPLY came, 1 when none, 2 on bad usage,
    3 when NAME's keys cannot be loaded.
*/
#include <czmq.h>
#include <getopt.h>
#include <sodium.h>
#include "id.h"
#include "keys.h"
#include "seal.h"
#include "wire.h"

#define S_HANDSHAKE_MS  5000

static const char *s_usage =
    "usage: zc-forge [--origin O] [--created SECS] [--expire SECS] [--method M] [--plain] [--resend N]\n"
    "                [--wait SECS]\n"
    "                ENDPOINT HUB_CERT KEYS_DIR NAME TARGET COMMAND\n";

//  Waits until the dealer's connection completed its handshake (a HELLO
//  answered by anything).
static bool
s_hello (zsock_t *dealer, const char *name)
{
    zpoller_t *poller = zpoller_new (dealer, NULL);
    int64_t deadline = zclock_mono () + S_HANDSHAKE_MS;
    bool answered = false;
    while (!answered && zclock_mono () < deadline) {
        zc_wire_t *hello = zc_wire_new (ZC_MSG_HELLO);
        snprintf (hello->name, sizeof hello->name, "%s", name);
        zc_wire_send (&hello, dealer, NULL);
        if (zpoller_wait (poller, 500)) {
            zmsg_t *frames = zmsg_recv (dealer);
            answered = frames != NULL;
            zmsg_destroy (&frames);
        }
    }
    zpoller_destroy (&poller);
    return answered;
}

//  Prints the REPLY for 'id' if one comes in time. 0 when one came.
static int
s_await_reply (zsock_t *dealer, zc_seal_t *seal, const zc_id_t *id, const char *origin,
               const char *target, int64_t wait_ms)
{
    zpoller_t *poller = zpoller_new (dealer, NULL);
    int64_t deadline = zclock_mono () + wait_ms;
    int status = 1;
    while (status && zclock_mono () < deadline) {
        if (!zpoller_wait (poller, (int) (deadline - zclock_mono ())))
            break;
        zmsg_t *frames = zmsg_recv (dealer);
        zc_wire_t *msg = frames? zc_wire_decode (frames, zmsg_first (frames), NULL): NULL;
        if (msg && msg->type == ZC_MSG_REPLY && zc_id_equal (&msg->id, id)) {
            zc_seal_about_t about = { .id = id, .origin = origin, .target = target, .relay = "",
                                      .method = (msg->flags & ZC_FLAG_REFUSED) != 0 };
            zframe_t *payload = NULL;
            zc_result_t *result = NULL;
            char reason [256];
            if (zc_seal_open_reply (seal, &about, msg->payload, &payload, NULL, reason, sizeof reason) != 0)
                printf ("REPLY not authentic: %s\n", reason);
            else
            if (zc_wire_result_payload_decode (payload, &result) == 0)
                printf ("REPLY state=%s error=%s\n", zc_state_name (result->state),
                        result->error? result->error: "");
            else
                printf ("REPLY malformed\n");
            zframe_destroy (&payload);
            zc_result_destroy (&result);
            status = 0;
        }
        zc_wire_destroy (&msg);
        zmsg_destroy (&frames);
    }
    zpoller_destroy (&poller);
    if (status)
        printf ("no REPLY\n");
    fflush (stdout);
    return status;
}

int
main (int argc, char *argv [])
{
    static struct option options [] = {
        { "origin", required_argument, NULL, 'o' },
        { "created", required_argument, NULL, 'c' },
        { "expire", required_argument, NULL, 'e' },
        { "method", required_argument, NULL, 'm' },
        { "plain", no_argument, NULL, 'p' },
        { "resend", required_argument, NULL, 'r' },
        { "wait", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 }
    };
    const char *origin = NULL;
    double created = 0;
    long expire = 86400, resend = 1;
    double wait = 5;
    bool plain = false;
    zc_method_t method = ZC_METHOD_EXEC;
    int option;
    while ((option = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (option) {
            case 'o': origin = optarg; break;
            case 'c': created = strtod (optarg, NULL); break;
            case 'e': expire = strtol (optarg, NULL, 10); break;
            case 'm':
                if (!(method = zc_method_parse (optarg))) {
                    fprintf (stderr, "zc-forge: unknown method %s\n", optarg);
                    return 2;
                }
                break;
            case 'p': plain = true; break;
            case 'r': resend = strtol (optarg, NULL, 10); break;
            case 'w': wait = strtod (optarg, NULL); break;
            default:
                fputs (s_usage, stderr);
                return 2;
        }
    }
    if (argc - optind != 6 || resend < 1 || expire < 0 || !(wait >= 0 && wait <= 600)) {
        fputs (s_usage, stderr);
        return 2;
    }
    const char *endpoint = argv [optind], *hub_cert = argv [optind + 1];
    const char *keys_dir = argv [optind + 2], *name = argv [optind + 3];
    const char *target = argv [optind + 4], *command = argv [optind + 5];
    zsys_init ();
    zsys_handler_set (NULL);
    char *error = NULL;
    uint8_t sign_secret [64];
    zcert_t *own = zc_key_load_own_signing (keys_dir, name, sign_secret, &error);
    zc_keyring_t *keyring = own? zc_keyring_load (keys_dir, &error): NULL;
    zcert_t *server = zcert_load (hub_cert);
    if (!own || !keyring || !server) {
        fprintf (stderr, "zc-forge: %s\n", error? error: "cannot load the hub's cert");
        free (error);
        zcert_destroy (&own);
        zcert_destroy (&server);
        zc_keyring_destroy (&keyring);
        return 3;
    }
    bool is_hub = streq (zcert_meta (own, "role")? zcert_meta (own, "role"): "", "hub");
    zc_seal_t *seal = zc_seal_new (name, zcert_secret_key (own), sign_secret, keyring, !plain);
    sodium_memzero (sign_secret, sizeof sign_secret);

    //  The job, as an origin makes it, but with a creation time of our choosing.
    zc_id_t id;
    zc_id_generate (&id);
    uint64_t stamp = (uint64_t) ((double) zc_wall_ms () + created * 1000);
    for (int byte = 0; byte < 6; byte++)
        id.bytes [byte] = (uint8_t) (stamp >> (8 * (5 - byte)));
    if (!origin)
        origin = name;
    zlist_t *args = zlist_new ();
    zlist_append (args, (char *) command);
    zframe_t *payload = zc_wire_req_payload (args, NULL, 0);
    zlist_destroy (&args);
    zc_seal_about_t about = { .id = &id, .origin = origin, .target = target, .relay = "",
                              .method = method, .method_timeout = 30,
                              .expire = (uint32_t) expire };
    char reason [256];
    zframe_t *envelope = zc_seal_req (seal, &about, payload, reason, sizeof reason);
    zframe_destroy (&payload);
    int status = 1;
    if (!envelope)
        fprintf (stderr, "zc-forge: %s\n", reason);
    else {
        zsock_t *dealer = zsock_new (ZMQ_DEALER);
        zcert_apply (own, dealer);
        zsock_set_curve_serverkey (dealer, zcert_public_txt (server));
        zsock_set_linger (dealer, 1000);
        zsock_connect (dealer, "%s", endpoint);
        if (!s_hello (dealer, name))
            fprintf (stderr, "zc-forge: the hub did not answer our HELLO\n");
        else {
            zc_wire_t *req = zc_wire_new (ZC_MSG_REQ);
            req->id = id;
            req->method = method;
            req->method_timeout = 30;
            req->expire = (uint32_t) expire;
            zlist_append (req->to, (char *) target);
            if (is_hub)
                snprintf (req->from, sizeof req->from, "%s", origin);
            req->payload = envelope;
            envelope = NULL;
            zmsg_t *bytes = zc_wire_encode (req);
            zc_wire_destroy (&req);
            for (long round = 0; round < resend; round++) {
                if (round)
                    zclock_sleep (1000);
                zmsg_t *copy = zmsg_dup (bytes);
                zmsg_send (&copy, dealer);
            }
            zmsg_destroy (&bytes);
            status = s_await_reply (dealer, seal, &id, origin, target, (int64_t) (wait * 1000));
        }
        zsock_destroy (&dealer);
    }
    zframe_destroy (&envelope);
    zc_seal_destroy (&seal);
    zc_keyring_destroy (&keyring);
    zcert_destroy (&own);
    zcert_destroy (&server);
    return status;
}
