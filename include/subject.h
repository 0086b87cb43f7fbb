/*  subject.h — pub/sub subjects (NATS rules) and who is interested in
    them.

    A subject is tokens separated by '.': "logs.web-1.nginx". A pattern
    (what a subscription names) may use '*' for exactly one token and '>',
    as its last token, for one or more tokens: "logs.*.nginx", "logs.>".
    Subjects whose first token is "$sys" are the hubs' own (presence,
    directory); a pattern matches them only when its first token is
    "$sys" too, so a subscription to ">" does not get them.

    Bounded: at most ZC_SUBJECT_MAX bytes and ZC_SUBJECT_MAX_TOKENS
    tokens, each token non-empty and made of printable ASCII other than
    space, '.', '*' and '>' (a wildcard is a whole token, never part of
    one).

    An interest table maps patterns to the owners interested in them (a
    subscriber, a link to another hub), counting how many times each
    owner subscribed each pattern, so that it unsubscribes as often.
*/
#ifndef ZC_SUBJECT_H
#define ZC_SUBJECT_H
#include <czmq.h>

#define ZC_SUBJECT_MAX          256     //  bytes of a subject or pattern
#define ZC_SUBJECT_MAX_TOKENS   16
#define ZC_SUBJECT_SYSTEM       "$sys"  //  the first token of the hubs' subjects
//  An agent that subscribes to this exact pattern gets the node directory
//  (NODES messages) from its hub; others get none.
#define ZC_SUBJECT_DIRECTORY    "$sys.nodes"

//  0 when 'text' is a valid subject to publish on (no wildcard) or, with
//  'pattern', a valid pattern to subscribe to; -1 with *problem (static
//  text) otherwise.
int zc_subject_check (const char *text, bool pattern, const char **problem);
//  True when the subject (valid, no wildcard) matches the pattern (valid).
bool zc_subject_matches (const char *pattern, const char *subject);
//  True for a subject or pattern of the hubs' own ("$sys" or "$sys.…").
bool zc_subject_is_system (const char *text);

typedef struct _zc_interest_t zc_interest_t;

zc_interest_t *zc_interest_new (void);
void zc_interest_destroy (zc_interest_t **self_p);
//  'owner' subscribes to 'pattern' (once more). Returns true when this is
//  the first subscription to the pattern by anyone: the interest is new
//  (a hub then tells its neighbours).
bool zc_interest_add (zc_interest_t *self, const char *pattern, const char *owner);
//  One subscription of 'owner' to 'pattern' less. Returns true when
//  nobody subscribes to the pattern any more.
bool zc_interest_remove (zc_interest_t *self, const char *pattern, const char *owner);
//  Every subscription of 'owner' goes (its link went away). Returns the
//  patterns nobody subscribes to any more (the caller destroys the list).
zlist_t *zc_interest_remove_owner (zc_interest_t *self, const char *owner);
//  The owners interested in 'subject', each once (the caller destroys
//  the list; its strings are the owners' names). Lists returned here
//  compare their items as strings (zlist_exists).
zlist_t *zc_interest_match (zc_interest_t *self, const char *subject);
//  Calls fn for every (pattern, owner) whose pattern matches 'subject'
//  (an owner once per pattern it subscribed), in no particular order;
//  fn must not change the table.
typedef void (zc_interest_match_fn) (const char *pattern, const char *owner, void *arg);
void zc_interest_each_match (zc_interest_t *self, const char *subject, zc_interest_match_fn *fn, void *arg);
//  True when 'owner' subscribes to 'pattern'.
bool zc_interest_has (zc_interest_t *self, const char *pattern, const char *owner);
//  The patterns subscribed by anyone (the caller destroys the list): what
//  a hub tells a neighbour that comes up.
zlist_t *zc_interest_patterns (zc_interest_t *self);
//  Patterns subscribed by anyone.
size_t zc_interest_size (zc_interest_t *self);

int zc_subject_test (bool verbose);
#endif
