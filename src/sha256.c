/*  sha256.c — SHA-256: libcrypto's, loaded on first use, else
    libsodium's (see sha256.h). */
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include "prelude.h"
#include "dynlib.h"
#include "log.h"
#include "sha256.h"
#include "testing.h"

#define S_LIBRARY "libcrypto.so.3"

//  What is used of libcrypto: its EVP digest interface.
typedef struct {
    EVP_MD_CTX *(*ctx_new) (void);
    void (*ctx_free) (EVP_MD_CTX *ctx);
    const EVP_MD *(*sha256) (void);
    int (*init) (EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *engine);
    int (*update) (EVP_MD_CTX *ctx, const void *bytes, size_t size);
    int (*final) (EVP_MD_CTX *ctx, unsigned char *hash, unsigned int *size);
} s_evp_t;

static s_evp_t s_table;
static const s_evp_t *s_evp;            //  NULL: libsodium's code is used
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_load (void)
{
    s_evp_t *evp = &s_table;
    zc_dynlib_symbol_t symbols [] = {
        { "EVP_MD_CTX_new", &evp->ctx_new },
        { "EVP_MD_CTX_free", &evp->ctx_free },
        { "EVP_sha256", &evp->sha256 },
        { "EVP_DigestInit_ex", &evp->init },
        { "EVP_DigestUpdate", &evp->update },
        { "EVP_DigestFinal_ex", &evp->final },
    };
    char why [256];
    bool usable = zc_dynlib_load (S_LIBRARY, symbols, sizeof symbols / sizeof symbols [0], why, sizeof why);
    if (usable) {
        //  Loaded is not enough: its providers (OPENSSL_CONF, a FIPS
        //  setting) may offer no SHA-256 at all.
        EVP_MD_CTX *ctx = evp->ctx_new ();
        usable = ctx && evp->init (ctx, evp->sha256 (), NULL);
        if (ctx)
            evp->ctx_free (ctx);
        if (!usable)
            snprintf (why, sizeof why, "%s gives no SHA-256 (its providers; OPENSSL_CONF)", S_LIBRARY);
    }
    if (usable)
        s_evp = evp;
    else
        zc_warn ("SHA-256 by libsodium's code, about 4 times slower: %s", why);
}

//  libcrypto's table, loaded on the first call; NULL without it.
static const s_evp_t *
s_libcrypto (void)
{
    pthread_once (&s_once, s_load);
    return s_evp;
}

//  libcrypto fails only when out of memory.
static void
s_check (int ok)
{
    if (!ok) {
        fprintf (stderr, "zcnc: libcrypto's SHA-256 failed (out of memory)\n");
        abort ();
    }
}

void
zc_sha256_init (zc_sha256_t *self)
{
    const s_evp_t *evp = s_libcrypto ();
    if (!evp) {
        crypto_hash_sha256_init (&self->sodium);
        return;
    }
    if (!self->ctx)
        s_check ((self->ctx = evp->ctx_new ()) != NULL);
    s_check (evp->init (self->ctx, evp->sha256 (), NULL));
}

void
zc_sha256_update (zc_sha256_t *self, const void *bytes, size_t size)
{
    const s_evp_t *evp = s_libcrypto ();
    if (evp)
        s_check (evp->update (self->ctx, bytes, size));
    else
        crypto_hash_sha256_update (&self->sodium, bytes, size);
}

void
zc_sha256_final (zc_sha256_t *self, uint8_t hash [ZC_SHA256_SIZE])
{
    const s_evp_t *evp = s_libcrypto ();
    if (evp)
        s_check (evp->final (self->ctx, hash, NULL));
    else
        crypto_hash_sha256_final (&self->sodium, hash);
}

void
zc_sha256_free (zc_sha256_t *self)
{
    const s_evp_t *evp = s_libcrypto ();
    if (evp && self->ctx)
        evp->ctx_free (self->ctx);
    self->ctx = NULL;
}

void
zc_sha256 (uint8_t hash [ZC_SHA256_SIZE], const void *bytes, size_t size)
{
    zc_sha256_t state = { 0 };
    zc_sha256_init (&state);
    zc_sha256_update (&state, bytes, size);
    zc_sha256_final (&state, hash);
    zc_sha256_free (&state);
}

//  ---------------------------------------------------------------------
//  Self-test: the same hashes as libsodium's one-shot function, at once
//  and in pieces, through libcrypto and through the fallback.

//  Whether zc_sha256 and a state fed in uneven pieces give 'expected'.
static bool
s_hashes_agree (const uint8_t *bytes, size_t size, const uint8_t expected [ZC_SHA256_SIZE])
{
    uint8_t ours [ZC_SHA256_SIZE];
    zc_sha256 (ours, bytes, size);
    bool agree = memcmp (ours, expected, sizeof ours) == 0;
    //  Twice with one state: init starts again.
    zc_sha256_t state = { 0 };
    for (int round = 0; round < 2; round++) {
        zc_sha256_init (&state);
        for (size_t at = 0, piece = 1; at < size; at += piece, piece = piece * 3 + 1)
            zc_sha256_update (&state, bytes + at, at + piece < size? piece: size - at);
        memset (ours, 0, sizeof ours);
        zc_sha256_final (&state, ours);
        agree = agree && memcmp (ours, expected, sizeof ours) == 0;
    }
    zc_sha256_free (&state);
    zc_sha256_free (&state);        //  twice: harmless
    return agree;
}

int
zc_sha256_test (bool verbose)
{
    ZC_TEST_BEGIN;
    size_t size = 100000;
    uint8_t *bytes = zc_malloc (size);
    randombytes_buf (bytes, size);
    uint8_t empty [ZC_SHA256_SIZE], expected [ZC_SHA256_SIZE];
    crypto_hash_sha256 (empty, (const uint8_t *) "", 0);
    crypto_hash_sha256 (expected, bytes, size);
    //  FIPS 180-2's hash of nothing: e3b0c442...b855.
    ZC_CHECK (empty [0] == 0xe3 && empty [31] == 0x55);

    //  libcrypto is there (a build without it would copy at a quarter
    //  of the speed, and should be noticed).
    ZC_CHECK (s_libcrypto () != NULL);
    ZC_CHECK (s_hashes_agree ((const uint8_t *) "", 0, empty));
    ZC_CHECK (s_hashes_agree (bytes, size, expected));

    //  The fallback, as a process without libcrypto runs it.
    const s_evp_t *loaded = s_evp;
    s_evp = NULL;
    ZC_CHECK (s_hashes_agree ((const uint8_t *) "", 0, empty));
    ZC_CHECK (s_hashes_agree (bytes, size, expected));
    s_evp = loaded;
    free (bytes);
    return ZC_TEST_END;
}
