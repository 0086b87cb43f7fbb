/*  bench-nats.h — a connection to the NATS baseline, as the benchmarks
    that measure zcnc beside NATS open it (bench-pubsub, bench-reqrep). */
#ifndef ZC_BENCH_NATS_H
#define ZC_BENCH_NATS_H
#include <stdbool.h>
#include <stdio.h>
#include <nats/nats.h>

//  Connects to 'url'; with 'ca', over TLS, trusting that certificate
//  (made for "localhost": we connect to 127.0.0.1). 'send_asap': what is
//  published leaves at once (no flusher thread between); 'global_delivery':
//  messages are handed out by libnats' delivery pool, not a thread per
//  subscription. NULL (said on stderr, naming 'program') when it fails.
static inline natsConnection *
s_nats_open (const char *program, const char *url, const char *ca, bool send_asap, bool global_delivery)
{
    natsOptions *options = NULL;
    natsConnection *connection = NULL;
    natsStatus status = natsOptions_Create (&options);
    if (status == NATS_OK)
        status = natsOptions_SetURL (options, url);
    if (status == NATS_OK && ca) {
        status = natsOptions_SetSecure (options, true);
        if (status == NATS_OK)
            status = natsOptions_LoadCATrustedCertificates (options, ca);
        if (status == NATS_OK)
            status = natsOptions_SetExpectedHostname (options, "localhost");
    }
    if (status == NATS_OK && send_asap)
        status = natsOptions_SetSendAsap (options, true);
    if (status == NATS_OK && global_delivery)
        status = natsOptions_UseGlobalMessageDelivery (options, true);
    if (status == NATS_OK)
        status = natsConnection_Connect (&connection, options);
    if (status != NATS_OK) {
        fprintf (stderr, "%s: cannot connect to NATS at %s: %s (%s)\n", program, url,
                 natsStatus_GetText (status), nats_GetLastError (NULL));
        connection = NULL;
    }
    natsOptions_Destroy (options);
    return connection;
}
#endif
