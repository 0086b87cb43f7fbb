/*  target.c — node names and the resolution of target expressions.

    Resolution happens once, at the origin, over its node directory
    ('known'): ALL and globs expand over it; exact names are targets
    whether known or not, and the unknown ones are reported apart so the
    caller can warn "never seen".
*/
#include <fnmatch.h>
#include "prelude.h"
#include "target.h"
#include "testing.h"

#define ZC_GLOB_MAX 255

static bool
s_name_char (char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

//  True when name matches [A-Za-z0-9][A-Za-z0-9._-]{0,63} and is not ALL.
bool
zc_name_valid (const char *name)
{
    if (!name || !name [0] || !s_name_char (name [0])
    ||  name [0] == '.' || name [0] == '_' || name [0] == '-')
        return false;
    size_t length = 1;
    while (name [length]) {
        if (length == ZC_NAME_MAX || !s_name_char (name [length]))
            return false;
        length++;
    }
    return strcmp (name, "ALL") != 0;
}

//  True when the expression is a single exact name: no comma, no glob
//  characters, not ALL. A valid name contains none of those.
bool
zc_target_is_single (const char *expression)
{
    return zc_name_valid (expression);
}

//  Checks one item. Returns NULL when it is usable, else a static text
//  saying what is wrong with it.
static const char *
s_item_problem (const char *item, bool *glob)
{
    *glob = strpbrk (item, "*?[") != NULL;
    if (!*item)
        return "empty item (remove the extra comma)";
    if (streq (item, "ALL"))
        return NULL;
    if (!*glob)
        return zc_name_valid (item)? NULL:
            "not a valid node name (names match [A-Za-z0-9][A-Za-z0-9._-]{0,63}; "
            "globs use * ? [...])";
    if (strlen (item) > ZC_GLOB_MAX)
        return "glob longer than 255 characters";
    for (const char *c = item; *c; c++)
        if (!s_name_char (*c) && !strchr ("*?[]!^", *c))
            return "a glob may contain only name characters and * ? [ ] ! ^";
    return NULL;
}

//  Appends a copy of name to list unless 'seen' already has it.
static void
s_add (zlist_t *list, zhash_t *seen, const char *name)
{
    if (zhash_insert (seen, name, (void *) "") == 0)
        zlist_append (list, (void *) name);
}

//  Resolves 'expression' over 'known' (may be NULL: no node known; a
//  NULL expression is treated as empty, an error).
//  Returns 0 with new lists in *targets and *unknown (unknown may be a
//  NULL pointer when not wanted), or -1 with *error a malloc'd message
//  (error may be NULL) and both outputs NULL. The caller owns the lists.
int
zc_target_resolve (const char *expression, zlist_t *known,
                   zlist_t **targets, zlist_t **unknown, char **error)
{
    *targets = NULL;
    if (unknown)
        *unknown = NULL;
    if (error)
        *error = NULL;

    //  A set of known names, for the unknown test.
    zhash_t *known_set = zhash_new ();
    for (const char *name = known? zlist_first (known): NULL; name; name = zlist_next (known))
        zhash_insert (known_set, name, (void *) "");

    zlist_t *found = zlist_new ();
    zlist_autofree (found);
    zlist_t *strangers = zlist_new ();
    zlist_autofree (strangers);
    zhash_t *seen = zhash_new ();
    zhash_t *seen_stranger = zhash_new ();

    char *copy = zc_strdup (expression? expression: "");
    char *rest = copy;
    int rc = 0;
    while (rest) {
        char *item = rest;
        char *comma = strchr (rest, ',');
        if (comma)
            *comma = 0;
        rest = comma? comma + 1: NULL;

        bool glob;
        const char *problem = s_item_problem (item, &glob);
        if (problem) {
            if (error)
                *error = zsys_sprintf ("bad target item '%s': %s", item, problem);
            rc = -1;
            break;
        }
        if (streq (item, "ALL") || glob) {
            for (const char *name = known? zlist_first (known): NULL; name; name = zlist_next (known))
                if (streq (item, "ALL") || fnmatch (item, name, 0) == 0)
                    s_add (found, seen, name);
        }
        else {
            s_add (found, seen, item);
            if (!zhash_lookup (known_set, item))
                s_add (strangers, seen_stranger, item);
        }
    }
    free (copy);
    zhash_destroy (&known_set);
    zhash_destroy (&seen);
    zhash_destroy (&seen_stranger);
    if (rc == -1) {
        zlist_destroy (&found);
        zlist_destroy (&strangers);
        return -1;
    }
    *targets = found;
    if (unknown)
        *unknown = strangers;
    else
        zlist_destroy (&strangers);
    return 0;
}

//  The list as "a b c", for comparisons in tests.
static char *
s_joined (zlist_t *list)
{
    char *text = zc_strdup ("");
    for (const char *name = zlist_first (list); name; name = zlist_next (list)) {
        char *longer = zsys_sprintf ("%s%s%s", text, *text? " ": "", name);
        free (text);
        text = longer;
    }
    return text;
}

//  Resolves and checks the result. With want_rc -1, want_targets is a
//  text the error message must contain.
static int
s_check_resolve (zlist_t *known, const char *expression, int want_rc,
                 const char *want_targets, const char *want_unknown, bool verbose)
{
    ZC_TEST_BEGIN;
    zlist_t *targets, *unknown;
    char *error;
    int rc = zc_target_resolve (expression, known, &targets, &unknown, &error);
    if (verbose)
        printf ("# target: '%s' -> %d %s\n", expression, rc, error? error: "");
    ZC_CHECK (rc == want_rc);
    if (rc == 0) {
        ZC_CHECK (error == NULL);
        char *got = s_joined (targets);
        ZC_CHECK_STR (got, want_targets);
        free (got);
        got = s_joined (unknown);
        ZC_CHECK_STR (got, want_unknown);
        free (got);
    }
    else {
        ZC_CHECK (targets == NULL && unknown == NULL);
        ZC_CHECK (error && strstr (error, want_targets));
    }
    free (error);
    zlist_destroy (&targets);
    zlist_destroy (&unknown);
    if (ZC_TEST_END)
        printf ("#   (expression '%s')\n", expression);
    return ZC_TEST_END;
}

int
zc_target_test (bool verbose)
{
    ZC_TEST_BEGIN;
    //  Names.
    ZC_CHECK (zc_name_valid ("web-1"));
    ZC_CHECK (zc_name_valid ("a"));
    ZC_CHECK (zc_name_valid ("9"));
    ZC_CHECK (zc_name_valid ("n1.site1.example_host-2"));
    ZC_CHECK (zc_name_valid ("all"));
    ZC_CHECK (zc_name_valid ("ALLx"));
    ZC_CHECK (!zc_name_valid ("ALL"));
    ZC_CHECK (!zc_name_valid (""));
    ZC_CHECK (!zc_name_valid (NULL));
    ZC_CHECK (!zc_name_valid (".web"));
    ZC_CHECK (!zc_name_valid ("-web"));
    ZC_CHECK (!zc_name_valid ("_web"));
    ZC_CHECK (!zc_name_valid ("web 1"));
    ZC_CHECK (!zc_name_valid ("web/1"));
    ZC_CHECK (!zc_name_valid ("web*"));
    ZC_CHECK (!zc_name_valid ("a,b"));
    ZC_CHECK (!zc_name_valid ("w\xc3\xa9"));
    char name [80];
    memset (name, 'x', sizeof name);
    name [64] = 0;
    ZC_CHECK (zc_name_valid (name));
    name [64] = 'x';
    name [ZC_NAME_SIZE] = 0;
    ZC_CHECK (!zc_name_valid (name));

    //  Single exact names.
    ZC_CHECK (zc_target_is_single ("web-1"));
    ZC_CHECK (zc_target_is_single ("n1.site1"));
    ZC_CHECK (!zc_target_is_single ("ALL"));
    ZC_CHECK (!zc_target_is_single ("web-*"));
    ZC_CHECK (!zc_target_is_single ("db[12]"));
    ZC_CHECK (!zc_target_is_single ("web-1,web-2"));
    ZC_CHECK (!zc_target_is_single ("web-1,"));
    ZC_CHECK (!zc_target_is_single (""));

    zlist_t *known = zlist_new ();
    const char *names [] = { "web-1", "web-2", "db1", "db2", "db3",
                             "site1.gw", "site1.n1", "site2.n1", "central" };
    for (size_t index = 0; index < sizeof names / sizeof names [0]; index++)
        zlist_append (known, (void *) names [index]);

    //  Resolution.
    int failures = 0;
    failures += s_check_resolve (known, "web-1", 0, "web-1", "", verbose);
    failures += s_check_resolve (known, "n9", 0, "n9", "n9", verbose);
    failures += s_check_resolve (known, "web-*", 0, "web-1 web-2", "", verbose);
    failures += s_check_resolve (known, "site1.*", 0, "site1.gw site1.n1", "", verbose);
    failures += s_check_resolve (known, "*.n1", 0, "site1.n1 site2.n1", "", verbose);
    failures += s_check_resolve (known, "db[12]", 0, "db1 db2", "", verbose);
    failures += s_check_resolve (known, "db[!12]", 0, "db3", "", verbose);
    failures += s_check_resolve (known, "db?", 0, "db1 db2 db3", "", verbose);
    failures += s_check_resolve (known, "ALL", 0,
        "web-1 web-2 db1 db2 db3 site1.gw site1.n1 site2.n1 central", "", verbose);
    //  Lists keep first-seen order and drop duplicates.
    failures += s_check_resolve (known, "db2,web-*,db[12],n9,web-1,n9", 0,
        "db2 web-1 web-2 db1 n9", "n9", verbose);
    failures += s_check_resolve (known, "central,ALL", 0,
        "central web-1 web-2 db1 db2 db3 site1.gw site1.n1 site2.n1", "", verbose);
    failures += s_check_resolve (known, "n8,n9,n8", 0, "n8 n9", "n8 n9", verbose);
    //  Nothing matched: success with no targets.
    failures += s_check_resolve (known, "mail-*", 0, "", "", verbose);
    failures += s_check_resolve (known, "mail-*,x[yz]", 0, "", "", verbose);
    failures += s_check_resolve (NULL, "ALL", 0, "", "", verbose);
    failures += s_check_resolve (NULL, "web-1,web-*", 0, "web-1", "web-1", verbose);
    //  Errors name the item and the problem.
    failures += s_check_resolve (known, "a,,b", -1,
        "bad target item '': empty item (remove the extra comma)", NULL, verbose);
    failures += s_check_resolve (known, "", -1, "bad target item '': empty item", NULL, verbose);
    failures += s_check_resolve (known, "web-1,", -1, "bad target item '': empty", NULL, verbose);
    failures += s_check_resolve (known, "web 1", -1,
        "bad target item 'web 1': not a valid node name", NULL, verbose);
    failures += s_check_resolve (known, "web-1,-x", -1,
        "bad target item '-x': not a valid node name", NULL, verbose);
    failures += s_check_resolve (known, "web-*,web/*", -1,
        "bad target item 'web/*': a glob may contain only name characters", NULL, verbose);
    failures += s_check_resolve (known, "{a,b}*", -1, "bad target item '{a': not a valid", NULL, verbose);
    char item [300];
    memset (item, 'x', sizeof item);
    item [0] = '*';
    item [256] = 0;
    failures += s_check_resolve (known, item, -1, "glob longer than 255 characters", NULL, verbose);
    item [255] = 0;
    failures += s_check_resolve (known, item, 0, "", "", verbose);
    memset (item, 'x', sizeof item);
    item [ZC_NAME_SIZE] = 0;
    failures += s_check_resolve (known, item, -1, "not a valid node name", NULL, verbose);
    ZC_CHECK (failures == 0);

    //  Optional outputs; duplicates in 'known' appear once.
    zlist_append (known, (void *) "web-1");
    zlist_t *targets;
    ZC_CHECK (zc_target_resolve ("web-*,n9", known, &targets, NULL, NULL) == 0);
    char *got = s_joined (targets);
    ZC_CHECK_STR (got, "web-1 web-2 n9");
    free (got);
    zlist_destroy (&targets);
    ZC_CHECK (zc_target_resolve ("a,,b", known, &targets, NULL, NULL) == -1);
    ZC_CHECK (targets == NULL);
    zlist_destroy (&known);

    return ZC_TEST_END;
}
