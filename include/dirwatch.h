/*  dirwatch.h — has a directory's set of certs changed? (inotify)

    The daemons read their keys directory again when it changes. Finding
    out by stat'ing every cert each second cost an agent or a hub with
    10,000 certs a fifth of a core at rest; the kernel says it instead.
    Only files named *.cert count, and anything the kernel cannot say
    precisely (its queue overflowed, the directory itself went away)
    counts as a change. Where inotify is not to be had (no descriptor
    left), every question is answered "maybe": the caller then compares
    its stamp (keys.h) as before.
*/
#ifndef ZC_DIRWATCH_H
#define ZC_DIRWATCH_H
#include <stdbool.h>

typedef struct _zc_dirwatch_t zc_dirwatch_t;

//  Starts watching 'dir' (it need not exist yet). Never NULL.
zc_dirwatch_t *zc_dirwatch_new (const char *dir);
void zc_dirwatch_destroy (zc_dirwatch_t **self_p);
//  True when a *.cert file of the directory may have changed since the
//  last call (the first call says true). Does not block.
bool zc_dirwatch_changed (zc_dirwatch_t *self);
//  True while the kernel watches (false: every call says true).
bool zc_dirwatch_is_watching (zc_dirwatch_t *self);

int zc_dirwatch_test (bool verbose);
#endif
