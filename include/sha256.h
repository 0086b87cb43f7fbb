/*  sha256.h — SHA-256 for the copy method (its chunks and whole files),
    through OpenSSL's libcrypto, which uses the CPU's SHA extensions
    (x86 SHA-NI, ARMv8 SHA2) where there are some: about 4 times as fast
    as libsodium's portable code on the machine of bench/README.md.
    libcrypto is loaded (dlopen of libcrypto.so.3) by the first hash, not
    linked: it held 1.4 MB of every idle agent's RSS, and only copies use
    it. Where it cannot be loaded, libsodium's code computes the same
    hashes, slower.
*/
#ifndef ZC_SHA256_H
#define ZC_SHA256_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define ZC_SHA256_SIZE  32

//  A hash being computed. Zeroed, it is ready for zc_sha256_init.
typedef struct {
    void *ctx;                  //  libcrypto's EVP_MD_CTX, made on first use
    crypto_hash_sha256_state sodium;    //  without libcrypto
} zc_sha256_t;

//  Starts (or starts again) a hash.
void zc_sha256_init (zc_sha256_t *self);
void zc_sha256_update (zc_sha256_t *self, const void *bytes, size_t size);
//  Writes the hash; zc_sha256_init starts another.
void zc_sha256_final (zc_sha256_t *self, uint8_t hash [ZC_SHA256_SIZE]);
//  Frees what the hash holds (a zeroed one too).
void zc_sha256_free (zc_sha256_t *self);
//  The hash of 'bytes' at once.
void zc_sha256 (uint8_t hash [ZC_SHA256_SIZE], const void *bytes, size_t size);

int zc_sha256_test (bool verbose);
#endif
