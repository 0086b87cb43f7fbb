/*  sha256.c — SHA-256 through libcrypto (see sha256.h). */
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>
#include "prelude.h"
#include "sha256.h"
#include "testing.h"

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
    if (!self->ctx)
        s_check ((self->ctx = EVP_MD_CTX_new ()) != NULL);
    s_check (EVP_DigestInit_ex (self->ctx, EVP_sha256 (), NULL));
}

void
zc_sha256_update (zc_sha256_t *self, const void *bytes, size_t size)
{
    s_check (EVP_DigestUpdate (self->ctx, bytes, size));
}

void
zc_sha256_final (zc_sha256_t *self, uint8_t hash [ZC_SHA256_SIZE])
{
    s_check (EVP_DigestFinal_ex (self->ctx, hash, NULL));
}

void
zc_sha256_free (zc_sha256_t *self)
{
    EVP_MD_CTX_free (self->ctx);
    self->ctx = NULL;
}

void
zc_sha256 (uint8_t hash [ZC_SHA256_SIZE], const void *bytes, size_t size)
{
    s_check (EVP_Digest (bytes, size, hash, NULL, EVP_sha256 (), NULL));
}

//  ---------------------------------------------------------------------
//  Self-test: the same hashes as libsodium's, at once and in pieces.

int
zc_sha256_test (bool verbose)
{
    ZC_TEST_BEGIN;
    size_t size = 100000;
    uint8_t *bytes = zc_malloc (size);
    randombytes_buf (bytes, size);
    uint8_t ours [ZC_SHA256_SIZE], theirs [ZC_SHA256_SIZE];
    //  The empty input: FIPS 180-2's e3b0c442...
    zc_sha256 (ours, "", 0);
    crypto_hash_sha256 (theirs, (const uint8_t *) "", 0);
    ZC_CHECK (memcmp (ours, theirs, sizeof ours) == 0 && ours [0] == 0xe3 && ours [31] == 0x55);
    zc_sha256 (ours, bytes, size);
    crypto_hash_sha256 (theirs, bytes, size);
    ZC_CHECK (memcmp (ours, theirs, sizeof ours) == 0);
    //  In uneven pieces, twice with one state.
    zc_sha256_t state = { 0 };
    for (int round = 0; round < 2; round++) {
        zc_sha256_init (&state);
        for (size_t at = 0, piece = 1; at < size; at += piece, piece = piece * 3 + 1)
            zc_sha256_update (&state, bytes + at, at + piece < size? piece: size - at);
        memset (ours, 0, sizeof ours);
        zc_sha256_final (&state, ours);
        ZC_CHECK (memcmp (ours, theirs, sizeof ours) == 0);
    }
    zc_sha256_free (&state);
    zc_sha256_free (&state);        //  twice: harmless
    free (bytes);
    return ZC_TEST_END;
}
