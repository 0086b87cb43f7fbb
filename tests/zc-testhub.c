/*  zc-testhub.c — a hub that misbehaves on purpose, for the security tests.

        zc-testhub hub -c FILE

    runs a real hub (zcnc hub's code) from FILE, with what it relays
    tampered with as the environment says:
        ZC_TESTHUB_DUMP=PATH    appends every relayed message, as the hub
                                sees it after CURVE (header and payload),
                                to PATH: what a compromised hub could read
        ZC_TESTHUB_FLIP=1       flips one bit of the last byte of every
                                REQ's payload: a hub altering jobs
        ZC_TESTHUB_FLIP=reply   the same to every REPLY: a hub altering
                                results
        ZC_TESTHUB_FLIP=pub     the same to every PUB it takes (from its
                                agents or from other hubs): a hub
                                altering publications
        ZC_TESTHUB_FROM=NAME    rewrites the publisher ('from') of every
                                PUB it takes to NAME: a hub passing a
                                publication off as another node's
        ZC_TESTHUB_REPLAY=1     keeps a copy of the first REQ and relays it
                                again, byte for byte, along with the next
                                REQ: a hub replaying a job later
        ZC_TESTHUB_FORGE_FIRST=1  relays a copy of every REQ with a bit
                                flipped, then the REQ itself: a hub trying
                                to get a job refused that then runs
    Each tampering is logged on stderr ("testhub: flipped ...").
*/
#include <czmq.h>
#include "config.h"
#include "daemon.h"
#include "hub.h"
#include "log.h"
#include "wire.h"

static FILE *s_dump;
static bool s_flip, s_flip_replies, s_flip_pubs, s_replay, s_forge_first;
static const char *s_pub_from;      //  the publisher PUBs are given
static zc_wire_t *s_kept;           //  the REQ to replay
static bool s_replayed;

static zc_wire_t *
s_tap (zc_wire_t *msg)
{
    if (s_dump) {
        zmsg_t *encoded = zc_wire_encode (msg);
        zframe_t *frame = encoded? zmsg_first (encoded): NULL;
        if (frame)
            fwrite (zframe_data (frame), 1, zframe_size (frame), s_dump);
        fflush (s_dump);
        zmsg_destroy (&encoded);
    }
    if (s_flip_replies && msg->type == ZC_MSG_REPLY && msg->payload && zframe_size (msg->payload)) {
        zframe_data (msg->payload) [zframe_size (msg->payload) - 1] ^= 0x01;
        fprintf (stderr, "testhub: flipped a bit of a REPLY payload from %s\n", msg->from);
    }
    if (s_flip_pubs && msg->type == ZC_MSG_PUB && msg->payload && zframe_size (msg->payload)) {
        zframe_data (msg->payload) [zframe_size (msg->payload) - 1] ^= 0x01;
        fprintf (stderr, "testhub: flipped a bit of a PUB payload on %s from %s\n", msg->subject, msg->from);
    }
    if (s_pub_from && msg->type == ZC_MSG_PUB) {
        fprintf (stderr, "testhub: a PUB on %s from %s now claims to be from %s\n", msg->subject,
                 msg->from, s_pub_from);
        snprintf (msg->from, sizeof msg->from, "%s", s_pub_from);
    }
    if (msg->type != ZC_MSG_REQ)
        return NULL;
    if (s_forge_first && msg->payload && zframe_size (msg->payload)) {
        //  The genuine REQ goes second; a corrupted copy with the same
        //  header goes first.
        zmsg_t *encoded = zc_wire_encode (msg);
        zc_wire_t *genuine = zc_wire_decode (encoded, zmsg_first (encoded), NULL);
        zmsg_destroy (&encoded);
        zframe_data (msg->payload) [zframe_size (msg->payload) - 1] ^= 0x01;
        fprintf (stderr, "testhub: sent a corrupted copy of a REQ from %s first\n", msg->from);
        return genuine;
    }
    if (s_flip && msg->payload && zframe_size (msg->payload)) {
        zframe_data (msg->payload) [zframe_size (msg->payload) - 1] ^= 0x01;
        fprintf (stderr, "testhub: flipped a bit of a REQ payload from %s\n", msg->from);
    }
    if (s_replay && !s_replayed) {
        if (!s_kept) {
            zmsg_t *encoded = zc_wire_encode (msg);
            s_kept = zc_wire_decode (encoded, zmsg_first (encoded), NULL);
            zmsg_destroy (&encoded);
            return NULL;
        }
        s_replayed = true;
        fprintf (stderr, "testhub: replaying the first REQ from %s\n", s_kept->from);
        zc_wire_t *again = s_kept;
        s_kept = NULL;
        return again;
    }
    return NULL;
}

int
main (int argc, char *argv [])
{
    if (argc != 4 || strcmp (argv [1], "hub") || strcmp (argv [2], "-c")) {
        fprintf (stderr, "usage: zc-testhub hub -c FILE\n");
        return 2;
    }
    zc_log_init ("zc-testhub", false);
    const char *dump = getenv ("ZC_TESTHUB_DUMP");
    if (dump && !(s_dump = fopen (dump, "ab"))) {
        fprintf (stderr, "zc-testhub: cannot open %s: %s\n", dump, strerror (errno));
        return 1;
    }
    const char *flip = getenv ("ZC_TESTHUB_FLIP");
    s_flip = flip && strcmp (flip, "reply") != 0 && strcmp (flip, "pub") != 0;
    s_flip_replies = flip && strcmp (flip, "reply") == 0;
    s_flip_pubs = flip && strcmp (flip, "pub") == 0;
    s_pub_from = getenv ("ZC_TESTHUB_FROM");
    s_replay = getenv ("ZC_TESTHUB_REPLAY") != NULL;
    s_forge_first = getenv ("ZC_TESTHUB_FORGE_FIRST") != NULL;
    char *error = NULL;
    zc_config_t *config = zc_config_load (argv [3], ZC_ROLE_HUB, &error);
    if (!config) {
        fprintf (stderr, "zc-testhub: %s\n", error);
        free (error);
        return 1;
    }
    zc_hub_set_tap (s_tap);
    int status = 1;
    zc_hub_t *hub = zc_daemon_init () == 0? zc_hub_new (config, &error): NULL;
    if (hub)
        status = zc_hub_loop (hub);
    else
    if (error) {
        fprintf (stderr, "zc-testhub: %s\n", error);
        free (error);
    }
    zc_hub_destroy (&hub);
    zc_config_destroy (&config);
    zc_wire_destroy (&s_kept);
    if (s_dump)
        fclose (s_dump);
    return status;
}
