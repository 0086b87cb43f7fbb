/*  enroll.c — key enrollment (enroll.h): the hub's pending requests and
    the operator's `zcnc keys` operations on them.

    Everything lives in files, none in the hub's memory but the rate's
    token bucket and counters: a hub restart loses no request, and the
    operator's command needs no connection to the hub. A request is
    written under a temporary name and linked into place, so a reader
    never sees half a cert, and a name never replaces another's.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "prelude.h"
#include "enroll.h"
#include "dirs.h"
#include "keys.h"
#include "log.h"
#include "target.h"
#include "testing.h"

struct _zc_enroll_t {
    const char *data, *keys, *hub_name;
    double rate;                //  tokens a minute, and the bucket's size
    double tokens;
    int64_t refilled;           //  monotonic ms of the last refill
    uint64_t dropped, stored;
};

zc_enroll_t *
zc_enroll_new (const char *data, const char *keys, const char *hub_name, size_t rate)
{
    assert (data && keys && hub_name && rate >= 1);
    zc_enroll_t *self = zc_calloc (1, sizeof *self);
    self->data = data;
    self->keys = keys;
    self->hub_name = hub_name;
    self->rate = (double) rate;
    self->tokens = self->rate;
    self->refilled = -1;
    return self;
}

void
zc_enroll_destroy (zc_enroll_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

bool
zc_enroll_admit (zc_enroll_t *self, int64_t now)
{
    if (self->refilled >= 0 && now > self->refilled)
        self->tokens += (double) (now - self->refilled) * self->rate / 60000.0;
    if (self->tokens > self->rate)
        self->tokens = self->rate;
    self->refilled = now;
    if (self->tokens < 1)
        return false;
    self->tokens -= 1;
    return true;
}

void
zc_enroll_count_dropped (zc_enroll_t *self)
{
    self->dropped++;
}

uint64_t
zc_enroll_dropped (zc_enroll_t *self)
{
    return self->dropped;
}

uint64_t
zc_enroll_stored (zc_enroll_t *self)
{
    return self->stored;
}

//  True when 'file' is NAME.cert with a valid NAME (written into 'name').
static bool
s_cert_name (const char *file, char *name)
{
    size_t size = strlen (file);
    if (size <= 5 || size - 5 > ZC_NAME_MAX || strcmp (file + size - 5, ".cert") != 0)
        return false;
    memcpy (name, file, size - 5);
    name [size - 5] = 0;
    return zc_name_valid (name);
}

//  The certs in 'dir' (top level, NAME.cert) as a zlist of zc_pending_t
//  in name order; NULL with errno when the directory cannot be read (a
//  missing one is an empty list). Files that do not load are skipped
//  and, when 'problems' is not NULL, appended to it as messages.
static zlist_t *
s_read_certs (const char *dir, zlist_t *problems)
{
    zlist_t *list = zlist_new ();
    DIR *handle = opendir (dir);
    if (!handle) {
        if (errno == ENOENT)
            return list;
        int saved = errno;
        zlist_destroy (&list);
        errno = saved;
        return NULL;
    }
    zlist_t *names = zlist_new ();
    zlist_autofree (names);
    struct dirent *entry;
    char name [ZC_NAME_SIZE];
    while ((entry = readdir (handle)))
        if (s_cert_name (entry->d_name, name))
            zlist_append (names, name);
    closedir (handle);
    zlist_sort (names, (zlist_compare_fn *) strcmp);
    for (char *one = zlist_first (names); one; one = zlist_next (names)) {
        char *path = zsys_sprintf ("%s/%s.cert", dir, one);
        zc_pending_t pending;
        memset (&pending, 0, sizeof pending);
        char *problem = NULL;
        struct stat st;
        if (zc_key_load (path, &pending.key, &problem) == 0 && stat (path, &st) == 0) {
            zc_key_fingerprint (pending.key.public_key, pending.fingerprint);
            pending.since = (int64_t) st.st_mtime;
            zc_pending_t *copy = zc_calloc (1, sizeof *copy);
            *copy = pending;
            zlist_append (list, copy);
            zlist_freefn (list, copy, free, true);
        }
        else
        if (problems)
            zlist_append (problems, problem? problem: strerror (errno));
        free (problem);
        zstr_free (&path);
    }
    zlist_destroy (&names);
    return list;
}

//  The entry of 'list' with this public key, or NULL.
static zc_pending_t *
s_find_key (zlist_t *list, const char *public_txt)
{
    for (zc_pending_t *one = zlist_first (list); one; one = zlist_next (list))
        if (streq (one->key.public_txt, public_txt))
            return one;
    return NULL;
}

//  Writes a cert for 'key' at 'path' without ever showing a partial file
//  or replacing one: a temporary file, linked into place. 0, or -1 with
//  *error (EEXIST: "PATH exists").
static int
s_place (const char *path, const zc_key_t *key, char **error)
{
    char *temporary = zsys_sprintf ("%s.%d.tmp", path, (int) getpid ());
    unlink (temporary);
    int rc = zc_key_save (temporary, key, error);
    if (rc == 0 && link (temporary, path) == -1)
        rc = errno == EEXIST? zc_fail (error, "%s exists", path)
                            : zc_fail (error, "cannot create %s: %s", path, strerror (errno));
    unlink (temporary);
    zstr_free (&temporary);
    return rc;
}

int
zc_enroll_take (zc_enroll_t *self, const char *public_txt, const zc_key_t *key,
                zc_keyring_t *keyring, int64_t now, char **answer)
{
    assert (self && public_txt && key && answer);
    *answer = NULL;
    if (!streq (key->public_txt, public_txt))
        return zc_fail (answer, "its CURVE key is not the key of its connection");
    if (!zc_name_valid (key->name) || streq (key->name, self->hub_name))
        return zc_fail (answer, "the name '%s' is this hub's or not a node name", key->name);
    const zc_key_t *trusted = keyring? zc_keyring_by_name (keyring, key->name): NULL;
    if (trusted)
        return zc_fail (answer, "the name '%s' belongs to another trusted key", key->name);
    if (!zc_enroll_admit (self, now))
        return zc_fail (answer, "more than %.0f handshakes and ENROLLs of unknown keys a minute"
                        " (hub/enroll_rate)", self->rate);

    char *revoked_dir = zsys_sprintf ("%s/revoked", self->keys);
    zlist_t *revoked = s_read_certs (revoked_dir, NULL);
    zstr_free (&revoked_dir);
    bool was_revoked = revoked && s_find_key (revoked, public_txt);
    zlist_destroy (&revoked);
    if (was_revoked)
        return zc_fail (answer, "the key was revoked (it is in %s/revoked)", self->keys);

    char *dir = zsys_sprintf ("%s/pending", self->data);
    zlist_t *pending = s_read_certs (dir, NULL);
    int rc = 0;
    char fingerprint [ZC_FINGERPRINT_SIZE];
    zc_key_fingerprint (key->public_key, fingerprint);
    zc_pending_t *same = pending? s_find_key (pending, public_txt): NULL;
    if (!pending)
        rc = zc_fail (answer, "cannot read %s: %s", dir, strerror (errno));
    else
    if (same && !streq (same->key.name, key->name))
        rc = zc_fail (answer, "the key is pending already as '%s'", same->key.name);
    else
    if (!same && zlist_size (pending) >= ZC_ENROLL_MAX_PENDING)
        rc = zc_fail (answer, "%d requests are pending already (accept or reject some)",
                      ZC_ENROLL_MAX_PENDING);
    else
    if (!same && zc_dirs_make (dir, answer) != 0)
        rc = -1;
    else
    if (!same) {
        char *path = zsys_sprintf ("%s/%s.cert", dir, key->name);
        char *problem = NULL;
        rc = s_place (path, key, &problem);
        if (rc != 0)
            zc_fail (answer, "%s (another key is pending under the name '%s'?)", problem, key->name);
        else {
            self->stored++;
            zc_info ("enrollment request from %s stored in %s, key fingerprint %s (zcnc keys accept %s)",
                     key->name, path, fingerprint, key->name);
        }
        free (problem);
        zstr_free (&path);
    }
    if (rc == 0)
        *answer = zsys_sprintf ("hub %s holds the enrollment request of %s, key fingerprint %s;"
                                " it waits for an operator (zcnc keys accept %s on the hub's host)",
                                self->hub_name, key->name, fingerprint, key->name);
    zlist_destroy (&pending);
    zstr_free (&dir);
    return rc;
}

//  ---------------------------------------------------------------------
//  The operator's side

int
zc_enroll_list (const char *data, zlist_t **list, char **error)
{
    char *dir = zsys_sprintf ("%s/pending", data);
    zlist_t *problems = zlist_new ();
    zlist_autofree (problems);
    *list = s_read_certs (dir, problems);
    int rc = 0;
    if (!*list)
        rc = zc_fail (error, "cannot read %s: %s", dir, strerror (errno));
    for (char *problem = zlist_first (problems); problem; problem = zlist_next (problems))
        fprintf (stderr, "zcnc: skipped %s\n", problem);
    zlist_destroy (&problems);
    zstr_free (&dir);
    return rc;
}

//  Checks NAME for the commands. 0, or -1 with *error.
static int
s_name_check (const char *name, char **error)
{
    if (!zc_name_valid (name))
        return zc_fail (error, "'%s' is not a valid name ([A-Za-z0-9][A-Za-z0-9._-]{0,63}, not ALL)",
                        name);
    return 0;
}

int
zc_enroll_accept (const char *data, const char *keys, const char *name, char **error)
{
    if (s_name_check (name, error))
        return -1;
    char *pending_path = zsys_sprintf ("%s/pending/%s.cert", data, name);
    char *path = zsys_sprintf ("%s/%s.cert", keys, name);
    zc_key_t key;
    char *problem = NULL;
    zc_keyring_t *keyring = NULL;
    const zc_key_t *other = NULL;
    int rc = -1;
    if (access (pending_path, F_OK) == -1 && errno == ENOENT)
        zc_fail (error, "no pending request from %s (see zcnc keys list)", name);
    else
    if (zc_key_load (pending_path, &key, &problem) != 0)
        zc_fail (error, "%s (remove it with zcnc keys reject %s)", problem, name);
    else
    if (!streq (key.name, name))
        zc_fail (error, "%s names '%s', not %s (remove it with zcnc keys reject %s)",
                 pending_path, key.name, name, name);
    else
    if (access (path, F_OK) == 0)
        zc_fail (error, "%s exists: %s is trusted already (revoke it first to trust another key"
                 " under that name: zcnc keys revoke %s)", path, name, name);
    else
    if (!(keyring = zc_keyring_load (keys, &problem)))
        zc_fail (error, "%s", problem);
    else
    if ((other = zc_keyring_by_public (keyring, key.public_txt)))
        zc_fail (error, "the key of %s is trusted already, as %s (zcnc keys reject %s)",
                 name, other->name, name);
    else
    if (s_place (path, &key, error) == 0) {
        if (unlink (pending_path) == -1)
            fprintf (stderr, "zcnc: cannot remove %s: %s\n", pending_path, strerror (errno));
        rc = 0;
    }
    zc_keyring_destroy (&keyring);
    free (problem);
    zstr_free (&pending_path);
    zstr_free (&path);
    return rc;
}

int
zc_enroll_reject (const char *data, const char *name, char **error)
{
    if (s_name_check (name, error))
        return -1;
    char *path = zsys_sprintf ("%s/pending/%s.cert", data, name);
    int rc = 0;
    if (unlink (path) == -1)
        rc = errno == ENOENT? zc_fail (error, "no pending request from %s (see zcnc keys list)", name)
                            : zc_fail (error, "cannot remove %s: %s", path, strerror (errno));
    zstr_free (&path);
    return rc;
}

int
zc_enroll_revoke (const char *keys, const char *name, char **error)
{
    if (s_name_check (name, error))
        return -1;
    char *path = zsys_sprintf ("%s/%s.cert", keys, name);
    char *secret = zsys_sprintf ("%s/%s.cert_secret", keys, name);
    char *dir = zsys_sprintf ("%s/revoked", keys);
    char *target = zsys_sprintf ("%s/%s.cert", dir, name);
    int rc = -1;
    struct stat st;
    if (lstat (path, &st) == -1)
        zc_fail (error, "%s: %s (%s is not trusted here)", path, strerror (errno), name);
    else
    if (access (secret, F_OK) == 0)
        zc_fail (error, "%s is this host's own key (%s is beside it); refusing to revoke it",
                 name, secret);
    else
    if (mkdir (dir, 0700) == -1 && errno != EEXIST)
        zc_fail (error, "cannot create %s: %s", dir, strerror (errno));
    else {
        for (int copy = 1; access (target, F_OK) == 0 && copy < 1000; copy++) {
            zstr_free (&target);
            target = zsys_sprintf ("%s/%s.cert.%d", dir, name, copy);
        }
        if (rename (path, target) == -1)
            zc_fail (error, "cannot move %s to %s: %s", path, target, strerror (errno));
        else
            rc = 0;
    }
    zstr_free (&path);
    zstr_free (&secret);
    zstr_free (&dir);
    zstr_free (&target);
    return rc;
}

//  ---------------------------------------------------------------------
//  Self-test

static int
s_rmtree_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove (path);
}

//  Makes a key pair NAME in 'dir' and loads its public cert into *key.
static void
s_make_key (const char *dir, const char *name, zc_key_t *key)
{
    int rc = zc_keygen (dir, name, false, NULL);
    assert (rc == 0);
    char *path = zsys_sprintf ("%s/%s.cert", dir, name);
    rc = zc_key_load (path, key, NULL);
    assert (rc == 0);
    (void) rc;
    zstr_free (&path);
}

//  True when error holds want; says what it holds when not.
static bool
s_error_has (const char *error, const char *want)
{
    bool ok = error && strstr (error, want);
    if (!ok)
        printf ("# error is \"%s\", want \"%s\" in it\n", error? error: "(null)", want);
    return ok;
}

int
zc_enroll_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char root [] = "/tmp/zc-enroll-test-XXXXXX";
    if (!mkdtemp (root)) {
        printf ("# cannot make %s: %s\n", root, strerror (errno));
        return -1;
    }
    char *keys = zsys_sprintf ("%s/keys", root);
    char *data = zsys_sprintf ("%s/data", root);
    char *elsewhere = zsys_sprintf ("%s/elsewhere", root);
    ZC_CHECK (zc_keygen (keys, "hub1", true, NULL) == 0);
    zc_key_t n1, n2, n3, hub1;
    s_make_key (elsewhere, "n1", &n1);
    s_make_key (elsewhere, "n2", &n2);
    s_make_key (elsewhere, "n3", &n3);
    char *n3_trusted = zsys_sprintf ("%s/n3.cert", keys);
    ZC_CHECK (zc_key_save (n3_trusted, &n3, NULL) == 0);    //  trusted from the start
    zstr_free (&n3_trusted);
    char *hub_cert = zsys_sprintf ("%s/hub1.cert", keys);
    ZC_CHECK (zc_key_load (hub_cert, &hub1, NULL) == 0);
    zstr_free (&hub_cert);
    zc_keyring_t *keyring = zc_keyring_load (keys, NULL);
    assert (keyring);

    //  The rate: a bucket of 'rate' tokens, refilled evenly.
    zc_enroll_t *enroll = zc_enroll_new (data, keys, "hub1", 3);
    ZC_CHECK (zc_enroll_admit (enroll, 1000) && zc_enroll_admit (enroll, 1000));
    ZC_CHECK (zc_enroll_admit (enroll, 1000) && !zc_enroll_admit (enroll, 1000));
    ZC_CHECK (!zc_enroll_admit (enroll, 20000));
    ZC_CHECK (zc_enroll_admit (enroll, 21000) && !zc_enroll_admit (enroll, 21000));
    ZC_CHECK (zc_enroll_admit (enroll, 10000000) && zc_enroll_admit (enroll, 10000000));
    ZC_CHECK (zc_enroll_admit (enroll, 10000000) && !zc_enroll_admit (enroll, 10000000));
    int64_t now = 20000000;

    //  An ENROLL is stored once; again it answers the same.
    char *answer = NULL;
    ZC_CHECK (zc_enroll_take (enroll, n1.public_txt, &n1, keyring, now, &answer) == 0);
    char fingerprint [ZC_FINGERPRINT_SIZE];
    zc_key_fingerprint (n1.public_key, fingerprint);
    ZC_CHECK (answer && strstr (answer, fingerprint) && strstr (answer, "zcnc keys accept n1"));
    zstr_free (&answer);
    ZC_CHECK (zc_enroll_take (enroll, n1.public_txt, &n1, keyring, now + 60000, &answer) == 0);
    zstr_free (&answer);
    ZC_CHECK (zc_enroll_stored (enroll) == 1);
    char *pending_n1 = zsys_sprintf ("%s/pending/n1.cert", data);
    zc_key_t stored;
    ZC_CHECK (zc_key_load (pending_n1, &stored, NULL) == 0);
    ZC_CHECK (memcmp (&stored, &n1, sizeof stored) == 0);

    //  What is refused, and why.
    char *error = NULL;
    now += 120000;
    zc_key_t forged = n2;
    ZC_CHECK (zc_enroll_take (enroll, n1.public_txt, &forged, keyring, now, &error) == -1);
    ZC_CHECK (s_error_has (error, "not the key of its connection"));
    zstr_free (&error);
    zc_key_t renamed = n2;
    strcpy (renamed.name, "hub1");
    ZC_CHECK (zc_enroll_take (enroll, n2.public_txt, &renamed, keyring, now, &error) == -1);
    ZC_CHECK (s_error_has (error, "this hub's"));
    zstr_free (&error);
    strcpy (renamed.name, "n3");
    ZC_CHECK (zc_enroll_take (enroll, n2.public_txt, &renamed, keyring, now, &error) == -1);
    ZC_CHECK (s_error_has (error, "belongs to another trusted key"));
    zstr_free (&error);
    strcpy (renamed.name, "n1");
    ZC_CHECK (zc_enroll_take (enroll, n2.public_txt, &renamed, keyring, now, &error) == -1);
    ZC_CHECK (s_error_has (error, "another key is pending under the name 'n1'"));
    zstr_free (&error);
    renamed = n1;
    strcpy (renamed.name, "n1b");
    ZC_CHECK (zc_enroll_take (enroll, n1.public_txt, &renamed, keyring, now, &error) == -1);
    ZC_CHECK (s_error_has (error, "pending already as 'n1'"));
    zstr_free (&error);
    //  Over the rate (the bucket is empty at this instant).
    while (zc_enroll_admit (enroll, now))
        ;
    ZC_CHECK (zc_enroll_take (enroll, n2.public_txt, &n2, keyring, now, &error) == -1);
    ZC_CHECK (s_error_has (error, "hub/enroll_rate"));
    zstr_free (&error);

    //  The operator's list shows the request with its fingerprint.
    zlist_t *list = NULL;
    ZC_CHECK (zc_enroll_list (data, &list, NULL) == 0);
    ZC_CHECK (list && zlist_size (list) == 1);
    zc_pending_t *first = list? zlist_first (list): NULL;
    ZC_CHECK (first && streq (first->key.name, "n1") && streq (first->fingerprint, fingerprint));
    zlist_destroy (&list);

    //  Accept: the cert is trusted, the request gone; twice is an error.
    ZC_CHECK (zc_enroll_accept (data, keys, "n1", NULL) == 0);
    ZC_CHECK (access (pending_n1, F_OK) == -1);
    zc_keyring_t *after = zc_keyring_load (keys, NULL);
    ZC_CHECK (after && zc_keyring_by_public (after, n1.public_txt));
    zc_keyring_destroy (&after);
    ZC_CHECK (zc_enroll_accept (data, keys, "n1", &error) == -1);
    ZC_CHECK (s_error_has (error, "no pending request from n1"));
    zstr_free (&error);
    ZC_CHECK (zc_enroll_accept (data, keys, "ALL", &error) == -1);
    ZC_CHECK (s_error_has (error, "not a valid name"));
    zstr_free (&error);

    //  A request for a name trusted meanwhile, or a key trusted as
    //  another name, is not accepted.
    now += 600000;
    ZC_CHECK (zc_enroll_take (enroll, n2.public_txt, &n2, NULL, now, &answer) == 0);
    if (verbose)
        printf ("#   %s\n", answer);
    zstr_free (&answer);
    char *n2_trusted = zsys_sprintf ("%s/n2.cert", keys);
    ZC_CHECK (zc_key_save (n2_trusted, &n3, NULL) == 0);
    ZC_CHECK (zc_enroll_accept (data, keys, "n2", &error) == -1);
    ZC_CHECK (s_error_has (error, "n2 is trusted already"));
    zstr_free (&error);
    unlink (n2_trusted);
    zc_key_t n2_as_n3 = n3;
    strcpy (n2_as_n3.name, "n2");
    char *pending_n2 = zsys_sprintf ("%s/pending/n2.cert", data);
    unlink (pending_n2);
    ZC_CHECK (zc_key_save (pending_n2, &n2_as_n3, NULL) == 0);
    ZC_CHECK (zc_enroll_accept (data, keys, "n2", &error) == -1);
    ZC_CHECK (s_error_has (error, "trusted already, as n3"));
    zstr_free (&error);

    //  Reject removes the request; twice is an error.
    ZC_CHECK (zc_enroll_reject (data, "n2", NULL) == 0);
    ZC_CHECK (access (pending_n2, F_OK) == -1);
    ZC_CHECK (zc_enroll_reject (data, "n2", &error) == -1);
    ZC_CHECK (s_error_has (error, "no pending request from n2"));
    zstr_free (&error);

    //  Revoke moves the cert away; a revoked key cannot enroll again;
    //  the hub's own key is not revoked.
    ZC_CHECK (zc_enroll_revoke (keys, "n1", NULL) == 0);
    char *revoked_n1 = zsys_sprintf ("%s/revoked/n1.cert", keys);
    ZC_CHECK (access (revoked_n1, F_OK) == 0);
    ZC_CHECK (zc_enroll_revoke (keys, "n1", &error) == -1);
    ZC_CHECK (s_error_has (error, "n1 is not trusted here"));
    zstr_free (&error);
    now += 600000;
    ZC_CHECK (zc_enroll_take (enroll, n1.public_txt, &n1, NULL, now, &error) == -1);
    ZC_CHECK (s_error_has (error, "the key was revoked"));
    zstr_free (&error);
    ZC_CHECK (zc_enroll_revoke (keys, "hub1", &error) == -1);
    ZC_CHECK (s_error_has (error, "this host's own key"));
    zstr_free (&error);
    //  A second revocation of a name keeps the first file.
    ZC_CHECK (zc_enroll_revoke (keys, "n3", NULL) == 0);
    char *n3_again = zsys_sprintf ("%s/n3.cert", keys);
    ZC_CHECK (zc_key_save (n3_again, &n3, NULL) == 0);
    ZC_CHECK (zc_enroll_revoke (keys, "n3", NULL) == 0);
    char *revoked_n3 = zsys_sprintf ("%s/revoked/n3.cert.1", keys);
    ZC_CHECK (access (revoked_n3, F_OK) == 0);

    //  The bound on pending requests.
    zc_enroll_t *many = zc_enroll_new (data, keys, "hub1", 600);
    char *pending_dir = zsys_sprintf ("%s/pending", data);
    for (int index = 0; index < ZC_ENROLL_MAX_PENDING; index++) {
        zc_key_t fake = n2;
        snprintf (fake.name, sizeof fake.name, "f%d", index);
        fake.public_key [0] = (uint8_t) index;
        fake.public_key [1] = (uint8_t) (index >> 8);
        zmq_z85_encode (fake.public_txt, fake.public_key, 32);
        char *path = zsys_sprintf ("%s/f%d.cert", pending_dir, index);
        ZC_CHECK (zc_key_save (path, &fake, NULL) == 0);
        zstr_free (&path);
    }
    ZC_CHECK (zc_enroll_take (many, n2.public_txt, &n2, NULL, 0, &error) == -1);
    ZC_CHECK (s_error_has (error, "requests are pending already"));
    zstr_free (&error);
    if (verbose)
        printf ("#   %" PRIu64 " request(s) stored\n", zc_enroll_stored (enroll));
    zc_enroll_count_dropped (enroll);
    ZC_CHECK (zc_enroll_dropped (enroll) == 1);
    zc_enroll_destroy (&many);
    zc_enroll_destroy (&enroll);
    ZC_CHECK (enroll == NULL);

    zstr_free (&pending_dir);
    zstr_free (&revoked_n3);
    zstr_free (&n3_again);
    zstr_free (&revoked_n1);
    zstr_free (&pending_n2);
    zstr_free (&n2_trusted);
    zstr_free (&pending_n1);
    zc_keyring_destroy (&keyring);
    zstr_free (&keys);
    zstr_free (&data);
    zstr_free (&elsewhere);
    nftw (root, s_rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
    ZC_CHECK (access (root, F_OK) == -1);
    return ZC_TEST_END;
}
