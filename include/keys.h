/*  keys.h — certificates and the trusted-keys table (SPEC.md "Keys").

    A cert is czmq's zcert text format: NAME.cert holds the CURVE public key
    and metadata name, role (agent|hub) and sign-key (Ed25519 public key,
    Z85); NAME.cert_secret (mode 0600) also holds the CURVE secret key and
    the Ed25519 secret key (metadata sign-secret), which never appears in
    the public file. Files are read with the project's own ZPL reader, never
    with zconfig (see NOTES: it prints to stdout and loses line numbers).
*/
#ifndef ZC_KEYS_H
#define ZC_KEYS_H
#include "prelude.h"
#include <stdbool.h>
#include <czmq.h>

typedef enum { ZC_KEY_AGENT, ZC_KEY_HUB } zc_key_role_t;

//  One cert's public facts.
typedef struct {
    char name [ZC_NAME_SIZE];
    zc_key_role_t role;
    char public_txt [41];           //  CURVE public key, Z85
    uint8_t public_key [32];
    uint8_t sign_key [32];          //  Ed25519 public key
} zc_key_t;

//  Writes DIR/NAME.cert and DIR/NAME.cert_secret, creating DIR and its
//  missing parents (0700) first. Refuses to overwrite.
//  Returns 0, or -1 with *error a malloc'd message.
int zc_keygen (const char *dir, const char *name, bool hub, char **error);

//  Loads one public cert file. Returns 0 or -1 with *error malloc'd.
int zc_key_load (const char *path, zc_key_t *key, char **error);

//  The fingerprint of a CURVE public key (32 bytes): the first 16 bytes
//  of its BLAKE2b hash, lowercase hex in groups of four joined by ':'
//  ("3f2a:91bc:..."), what an operator compares on both sides of an
//  enrollment (doc/PROTOCOL.md, Enrollment).
#define ZC_FINGERPRINT_SIZE 40      //  39 characters and the NUL
void zc_key_fingerprint (const uint8_t *public_key, char *fingerprint);
//  Writes a public cert for 'key' at 'path' (mode 0644), in the format
//  zc_keygen writes, with the key's fingerprint as a comment; never
//  replaces a file. 0, or -1 with *error malloc'd.
int zc_key_save (const char *path, const zc_key_t *key, char **error);

//  Loads this process's own NAME.cert_secret from the keys directory as a
//  zcert (CURVE keypair, metadata name and role). NULL with *error set.
zcert_t *zc_key_load_own (const char *keys_dir, const char *name, char **error);
//  The same, and the Ed25519 secret key into sign_secret (64 bytes; the
//  caller wipes it with sodium_memzero when done).
zcert_t *zc_key_load_own_signing (const char *keys_dir, const char *name, uint8_t *sign_secret,
                                  char **error);

//  The trusted-keys table: every top-level *.cert in a directory.
typedef struct _zc_keyring_t zc_keyring_t;

//  Reads the directory. Files that fail to parse and duplicate keys or
//  names are left out and each is logged once with its reason (a
//  duplicate of a key already in the table keeps the first file, in
//  sorted file-name order). Returns NULL with *error only when the
//  directory itself cannot be read.
zc_keyring_t *zc_keyring_load (const char *dir, char **error);
void zc_keyring_destroy (zc_keyring_t **self_p);
//  Lookups; NULL when absent. Results belong to the keyring.
const zc_key_t *zc_keyring_by_public (zc_keyring_t *self, const char *public_txt);
const zc_key_t *zc_keyring_by_name (zc_keyring_t *self, const char *name);
size_t zc_keyring_size (zc_keyring_t *self);
//  A fingerprint of the directory's top-level *.cert files (names, sizes,
//  mtimes); differs when a reload would see something new.
uint64_t zc_keyring_dir_stamp (const char *dir);
//  Reads 'dir' again ('why' goes to the log): replaces *keyring (freeing
//  the old one) and *stamp, and returns true; or logs why it cannot and
//  keeps both (false).
bool zc_keyring_reload (zc_keyring_t **keyring, uint64_t *stamp, const char *dir, const char *why);

int zc_keys_test (bool verbose);
#endif
