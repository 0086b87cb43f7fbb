/*  waiters.h — who waits for which names, at a hub.

    A hub that cannot route a message to a name (nobody reaches it, or
    its link is over budget) answers NOROUTE and remembers that the
    message's origin waits for that name; when the name can take
    messages again the origins are told (PRESENCE), oldest first, as
    many at a time as the hub chooses: a thousand origins woken at once
    for one slow node would all send at once and fill it again.

    Bounded: at most 'max_names' names (the one waited for longest is
    forgotten first) and 'max_total' origins over all names (the oldest
    origin of the name being added to goes first, or, when that name has
    none, the name waited for longest). Origins forgotten try again on
    their own (doc/PROTOCOL.md).
*/
#ifndef ZC_WAITERS_H
#define ZC_WAITERS_H
#include <czmq.h>

typedef struct _zc_waiters_t zc_waiters_t;

zc_waiters_t *zc_waiters_new (size_t max_names, size_t max_total);
void zc_waiters_destroy (zc_waiters_t **self_p);
//  'origin' waits for 'name' (once, however often it is added).
void zc_waiters_add (zc_waiters_t *self, const char *name, const char *origin);
//  True when some origin waits for 'name'.
bool zc_waiters_has (zc_waiters_t *self, const char *name);
//  Takes up to 'count' of the origins that wait for 'name', oldest
//  first: a new list of strings (autofree; empty when none wait). The
//  name is forgotten with its last origin.
zlist_t *zc_waiters_take (zc_waiters_t *self, const char *name, size_t count);
//  Forgets who waits for 'name'.
void zc_waiters_forget (zc_waiters_t *self, const char *name);
//  The names waited for: a new list of strings (autofree).
zlist_t *zc_waiters_names (zc_waiters_t *self);
//  Origins remembered, over all names.
size_t zc_waiters_size (zc_waiters_t *self);

int zc_waiters_test (bool verbose);
#endif
