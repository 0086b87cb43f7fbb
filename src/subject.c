/*  subject.c — pub/sub subjects and interest (see subject.h). */
#include "prelude.h"
#include "subject.h"
#include "testing.h"

//  True for a byte a token may hold.
static bool
s_token_byte (char c)
{
    return c > ' ' && c < 0x7F && c != '.' && c != '*' && c != '>';
}

int
zc_subject_check (const char *text, bool pattern, const char **problem)
{
    const char *ignored;
    if (!problem)
        problem = &ignored;
    size_t size = text? strlen (text): 0;
    if (size == 0) {
        *problem = "an empty subject";
        return -1;
    }
    if (size > ZC_SUBJECT_MAX) {
        *problem = "a subject longer than 256 bytes";
        return -1;
    }
    size_t tokens = 0;
    for (const char *token = text; ; ) {
        const char *end = strchr (token, '.');
        size_t length = end? (size_t) (end - token): strlen (token);
        if (++tokens > ZC_SUBJECT_MAX_TOKENS) {
            *problem = "a subject of more than 16 tokens";
            return -1;
        }
        if (length == 0) {
            *problem = "an empty token (two dots, or a dot at either end)";
            return -1;
        }
        bool star = length == 1 && token [0] == '*';
        bool rest = length == 1 && token [0] == '>';
        if ((star || rest) && !pattern) {
            *problem = "a wildcard in a subject to publish on";
            return -1;
        }
        if (rest && end) {
            *problem = "'>' is not the last token";
            return -1;
        }
        if (!star && !rest)
            for (size_t index = 0; index < length; index++)
                if (!s_token_byte (token [index])) {
                    *problem = (token [index] == '*' || token [index] == '>')
                             ? "a wildcard that is not a whole token"
                             : "a byte that is not printable ASCII (or a space)";
                    return -1;
                }
        if (!end)
            break;
        token = end + 1;
    }
    return 0;
}

bool
zc_subject_is_system (const char *text)
{
    size_t size = strlen (ZC_SUBJECT_SYSTEM);
    return strncmp (text, ZC_SUBJECT_SYSTEM, size) == 0 && (text [size] == 0 || text [size] == '.');
}

bool
zc_subject_matches (const char *pattern, const char *subject)
{
    if (zc_subject_is_system (subject) && !zc_subject_is_system (pattern))
        return false;
    const char *want = pattern, *have = subject;
    while (true) {
        const char *want_end = strchr (want, '.');
        size_t want_size = want_end? (size_t) (want_end - want): strlen (want);
        const char *have_end = strchr (have, '.');
        size_t have_size = have_end? (size_t) (have_end - have): strlen (have);
        if (want_size == 1 && want [0] == '>')
            return true;                    //  one or more tokens: 'have' has one here
        if (!(want_size == 1 && want [0] == '*')
        &&  (want_size != have_size || memcmp (want, have, want_size) != 0))
            return false;
        if (!want_end || !have_end)
            return !want_end && !have_end;  //  both end here, or the lengths differ
        want = want_end + 1;
        have = have_end + 1;
    }
}

//  ---------------------------------------------------------------------
//  Interest: pattern -> (owner -> count). Matching walks every pattern:
//  fine for the thousands of patterns of one hub; a token tree when a
//  benchmark says otherwise.

struct _zc_interest_t {
    zhashx_t *patterns;         //  pattern -> zhashx_t of owner -> (void *) count
};

static void
s_owners_destroy (void **item)
{
    zhashx_t *owners = *item;
    zhashx_destroy (&owners);
    *item = NULL;
}

zc_interest_t *
zc_interest_new (void)
{
    zc_interest_t *self = zc_calloc (1, sizeof *self);
    self->patterns = zhashx_new ();
    zhashx_set_destructor (self->patterns, s_owners_destroy);
    return self;
}

void
zc_interest_destroy (zc_interest_t **self_p)
{
    if (*self_p) {
        zc_interest_t *self = *self_p;
        zhashx_destroy (&self->patterns);
        free (self);
        *self_p = NULL;
    }
}

bool
zc_interest_add (zc_interest_t *self, const char *pattern, const char *owner)
{
    zhashx_t *owners = zhashx_lookup (self->patterns, pattern);
    bool fresh = owners == NULL;
    if (fresh) {
        owners = zhashx_new ();
        zhashx_insert (self->patterns, pattern, owners);
    }
    size_t count = (size_t) zhashx_lookup (owners, owner);
    zhashx_update (owners, owner, (void *) (count + 1));
    return fresh;
}

bool
zc_interest_remove (zc_interest_t *self, const char *pattern, const char *owner)
{
    zhashx_t *owners = zhashx_lookup (self->patterns, pattern);
    size_t count = owners? (size_t) zhashx_lookup (owners, owner): 0;
    if (count == 0)
        return false;                   //  not subscribed: nothing changes
    if (count > 1)
        zhashx_update (owners, owner, (void *) (count - 1));
    else
        zhashx_delete (owners, owner);
    if (zhashx_size (owners))
        return false;
    zhashx_delete (self->patterns, pattern);
    return true;
}

zlist_t *
zc_interest_remove_owner (zc_interest_t *self, const char *owner)
{
    zlist_t *gone = zlist_new ();
    zlist_autofree (gone);
    zlist_comparefn (gone, (zlist_compare_fn *) strcmp);
    for (zhashx_t *owners = zhashx_first (self->patterns); owners; owners = zhashx_next (self->patterns)) {
        zhashx_delete (owners, owner);
        if (zhashx_size (owners) == 0)
            zlist_append (gone, (void *) zhashx_cursor (self->patterns));
    }
    for (const char *pattern = zlist_first (gone); pattern; pattern = zlist_next (gone))
        zhashx_delete (self->patterns, pattern);
    return gone;
}

void
zc_interest_each_match (zc_interest_t *self, const char *subject, zc_interest_match_fn *fn, void *arg)
{
    for (zhashx_t *owners = zhashx_first (self->patterns); owners; owners = zhashx_next (self->patterns)) {
        const char *pattern = zhashx_cursor (self->patterns);
        if (!zc_subject_matches (pattern, subject))
            continue;
        for (void *count = zhashx_first (owners); count; count = zhashx_next (owners))
            fn (pattern, (const char *) zhashx_cursor (owners), arg);
    }
}

typedef struct {
    zlist_t *matched;
    zhashx_t *seen;
} s_match_t;

static void
s_collect (const char *pattern, const char *owner, void *arg)
{
    s_match_t *match = arg;
    if (zhashx_insert (match->seen, owner, (void *) 1) == 0)
        zlist_append (match->matched, (void *) owner);
}

zlist_t *
zc_interest_match (zc_interest_t *self, const char *subject)
{
    s_match_t match = { zlist_new (), zhashx_new () };
    zlist_autofree (match.matched);
    zlist_comparefn (match.matched, (zlist_compare_fn *) strcmp);
    zc_interest_each_match (self, subject, s_collect, &match);
    zhashx_destroy (&match.seen);
    return match.matched;
}

bool
zc_interest_has (zc_interest_t *self, const char *pattern, const char *owner)
{
    zhashx_t *owners = zhashx_lookup (self->patterns, pattern);
    return owners && zhashx_lookup (owners, owner);
}

zlist_t *
zc_interest_patterns (zc_interest_t *self)
{
    zlist_t *patterns = zlist_new ();
    zlist_autofree (patterns);
    zlist_comparefn (patterns, (zlist_compare_fn *) strcmp);
    for (void *owners = zhashx_first (self->patterns); owners; owners = zhashx_next (self->patterns))
        zlist_append (patterns, (void *) zhashx_cursor (self->patterns));
    return patterns;
}

size_t
zc_interest_size (zc_interest_t *self)
{
    return zhashx_size (self->patterns);
}

//  ---------------------------------------------------------------------
//  Self-test

//  True when the list holds exactly these names, in any order.
static bool
s_test_names (zlist_t *names, const char *expected [], size_t count)
{
    if (zlist_size (names) != count)
        return false;
    for (size_t index = 0; index < count; index++)
        if (!zlist_exists (names, (void *) expected [index]))
            return false;
    return true;
}

int
zc_subject_test (bool verbose)
{
    ZC_TEST_BEGIN;
    (void) verbose;
    //  Valid and invalid subjects and patterns, with the reason.
    const char *problem = NULL;
    ZC_CHECK (zc_subject_check ("logs.web-1.nginx", false, &problem) == 0);
    ZC_CHECK (zc_subject_check ("upload.done", false, NULL) == 0);
    ZC_CHECK (zc_subject_check ("$sys.online.n1.site", false, NULL) == 0);
    ZC_CHECK (zc_subject_check ("a.*.c", true, NULL) == 0);
    ZC_CHECK (zc_subject_check ("a.>", true, NULL) == 0);
    ZC_CHECK (zc_subject_check (">", true, NULL) == 0);
    ZC_CHECK (zc_subject_check ("*", true, NULL) == 0);
    struct { const char *text; bool pattern; const char *problem; } bad [] = {
        { "", true, "an empty subject" },
        { "a..b", true, "an empty token (two dots, or a dot at either end)" },
        { ".a", true, "an empty token (two dots, or a dot at either end)" },
        { "a.", false, "an empty token (two dots, or a dot at either end)" },
        { "a.*", false, "a wildcard in a subject to publish on" },
        { "a.>", false, "a wildcard in a subject to publish on" },
        { "a.>.b", true, "'>' is not the last token" },
        { "a.b*", true, "a wildcard that is not a whole token" },
        { "a>", true, "a wildcard that is not a whole token" },
        { "a b", false, "a byte that is not printable ASCII (or a space)" },
        { "a\tb", false, "a byte that is not printable ASCII (or a space)" },
        { "caf\xc3\xa9", false, "a byte that is not printable ASCII (or a space)" },
        { "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q", false, "a subject of more than 16 tokens" },
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        problem = NULL;
        ZC_CHECK (zc_subject_check (bad [index].text, bad [index].pattern, &problem) == -1);
        ZC_CHECK_STR (problem, bad [index].problem);
    }
    ZC_CHECK (zc_subject_check ("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p", false, NULL) == 0);
    char longest [ZC_SUBJECT_MAX + 2];
    memset (longest, 'x', ZC_SUBJECT_MAX);
    longest [ZC_SUBJECT_MAX] = 0;
    ZC_CHECK (zc_subject_check (longest, false, NULL) == 0);
    longest [ZC_SUBJECT_MAX] = 'x';
    longest [ZC_SUBJECT_MAX + 1] = 0;
    ZC_CHECK (zc_subject_check (longest, false, &problem) == -1);
    ZC_CHECK_STR (problem, "a subject longer than 256 bytes");
    ZC_CHECK (zc_subject_check (NULL, false, &problem) == -1);

    //  Matching: NATS's rules, and "$sys" only for patterns of "$sys".
    struct { const char *pattern, *subject; bool matches; } cases [] = {
        { "a.b.c", "a.b.c", true },
        { "a.b.c", "a.b", false },
        { "a.b", "a.b.c", false },
        { "a.b.c", "a.b.cd", false },
        { "a.*.c", "a.b.c", true },
        { "a.*.c", "a.b.b.c", false },
        { "a.*.c", "a.c", false },
        { "a.*", "a.b", true },
        { "a.*", "a", false },
        { "a.>", "a.b", true },
        { "a.>", "a.b.c.d", true },
        { "a.>", "a", false },
        { "*.>", "a.b", true },
        { "*.>", "a", false },
        { "*", "a", true },
        { "*", "a.b", false },
        { ">", "a.b.c", true },
        { ">", "$sys.online.n1", false },
        { "*.online.n1", "$sys.online.n1", false },
        { "$sys.online.>", "$sys.online.n1.site", true },
        { "$sys.online.>", "$sys.offline.n1", false },
        { "$sys.>", "$sys.online.n1", true },
        { "$sysx.a", "$sysx.a", true },
        { ">", "$sysx.a", true },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++)
        if (zc_subject_matches (cases [index].pattern, cases [index].subject) != cases [index].matches) {
            printf ("# %s vs %s\n", cases [index].pattern, cases [index].subject);
            ZC_CHECK (false);
        }

    //  Interest: counted per owner and pattern; each owner matched once.
    zc_interest_t *interest = zc_interest_new ();
    ZC_CHECK (zc_interest_add (interest, "logs.>", "c1"));
    ZC_CHECK (!zc_interest_add (interest, "logs.>", "c1"));    //  twice: two removals
    ZC_CHECK (!zc_interest_add (interest, "logs.>", "hub2"));
    ZC_CHECK (zc_interest_add (interest, "logs.*.nginx", "c1"));
    ZC_CHECK (zc_interest_add (interest, "$sys.online.>", "c2"));
    ZC_CHECK (zc_interest_size (interest) == 3);
    zlist_t *owners = zc_interest_match (interest, "logs.web-1.nginx");
    const char *both [] = { "c1", "hub2" };
    ZC_CHECK (s_test_names (owners, both, 2));
    zlist_destroy (&owners);
    owners = zc_interest_match (interest, "$sys.online.n1");
    const char *c2 [] = { "c2" };
    ZC_CHECK (s_test_names (owners, c2, 1));
    zlist_destroy (&owners);
    owners = zc_interest_match (interest, "metrics.cpu");
    ZC_CHECK (zlist_size (owners) == 0);
    zlist_destroy (&owners);
    ZC_CHECK (!zc_interest_remove (interest, "logs.>", "c1"));
    ZC_CHECK (!zc_interest_remove (interest, "logs.>", "c1"));
    ZC_CHECK (!zc_interest_remove (interest, "logs.>", "c1"));  //  not subscribed any more
    ZC_CHECK (!zc_interest_remove (interest, "nothing", "c1"));
    owners = zc_interest_match (interest, "logs.a.b");
    const char *hub2 [] = { "hub2" };
    ZC_CHECK (s_test_names (owners, hub2, 1));
    zlist_destroy (&owners);
    ZC_CHECK (zc_interest_remove (interest, "logs.>", "hub2"));
    ZC_CHECK (zc_interest_size (interest) == 2);
    //  An owner that goes takes its subscriptions along.
    zc_interest_add (interest, "$sys.online.>", "c1");
    zlist_t *gone = zc_interest_remove_owner (interest, "c1");
    const char *nginx [] = { "logs.*.nginx" };
    ZC_CHECK (s_test_names (gone, nginx, 1));
    zlist_destroy (&gone);
    zlist_t *patterns = zc_interest_patterns (interest);
    const char *online [] = { "$sys.online.>" };
    ZC_CHECK (s_test_names (patterns, online, 1));
    zlist_destroy (&patterns);
    zc_interest_destroy (&interest);
    ZC_CHECK (interest == NULL);
    return ZC_TEST_END;
}
