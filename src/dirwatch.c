/*  dirwatch.c — has a directory's set of certs changed? (dirwatch.h) */
#include <errno.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <czmq.h>
#include "prelude.h"
#include "dirwatch.h"
#include "testing.h"

#define S_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE \
                  | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

struct _zc_dirwatch_t {
    char *dir;
    int fd;                     //  inotify, or -1
    int watch;                  //  the directory's watch, or -1
    bool first;                 //  not asked yet
};

static bool
s_is_cert (const char *name)
{
    size_t size = strlen (name);
    return size > 5 && streq (name + size - 5, ".cert");
}

//  (Re)adds the directory's watch; false when it cannot be watched now.
static bool
s_watch (zc_dirwatch_t *self)
{
    if (self->fd == -1)
        return false;
    if (self->watch == -1)
        self->watch = inotify_add_watch (self->fd, self->dir, S_EVENTS | IN_ONLYDIR);
    return self->watch != -1;
}

zc_dirwatch_t *
zc_dirwatch_new (const char *dir)
{
    zc_dirwatch_t *self = zc_calloc (1, sizeof *self);
    self->dir = zc_strdup (dir);
    self->fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
    self->watch = -1;
    self->first = true;
    s_watch (self);
    return self;
}

void
zc_dirwatch_destroy (zc_dirwatch_t **self_p)
{
    zc_dirwatch_t *self = *self_p;
    if (!self)
        return;
    if (self->fd != -1)
        close (self->fd);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

bool
zc_dirwatch_is_watching (zc_dirwatch_t *self)
{
    return self->fd != -1 && self->watch != -1;
}

bool
zc_dirwatch_changed (zc_dirwatch_t *self)
{
    bool changed = self->first;
    self->first = false;
    if (self->watch == -1) {
        //  Not watched (yet, or any more): it may have changed, and from
        //  now on the kernel tells, if it can.
        s_watch (self);
        return true;
    }
    char buffer [4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
    for (int reads = 0; reads < 64; reads++) {
        ssize_t size = read (self->fd, buffer, sizeof buffer);
        if (size <= 0)
            break;
        for (char *at = buffer; at < buffer + size; ) {
            const struct inotify_event *event = (const struct inotify_event *) at;
            at += sizeof *event + event->len;
            if (event->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                changed = true;
                if (event->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                    inotify_rm_watch (self->fd, self->watch);
                    self->watch = -1;
                }
            }
            else
            if (event->len && s_is_cert (event->name))
                changed = true;
        }
        if (reads == 63)
            changed = true;     //  more than we read: assume the worst
    }
    if (self->watch == -1)
        s_watch (self);
    return changed;
}

//  --------------------------------------------------------------------------
//  Self-test

static void
s_write (const char *dir, const char *name, const char *text)
{
    char *path = zsys_sprintf ("%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    assert (file);
    fputs (text, file);
    fclose (file);
    free (path);
}

int
zc_dirwatch_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zc-dirwatch-XXXXXX";
    if (!mkdtemp (dir)) {
        ZC_CHECK (!"mkdtemp");
        return ZC_TEST_END;
    }
    zc_dirwatch_t *watch = zc_dirwatch_new (dir);
    ZC_CHECK (zc_dirwatch_is_watching (watch));
    ZC_CHECK (zc_dirwatch_changed (watch));             //  the first call
    ZC_CHECK (!zc_dirwatch_changed (watch));
    s_write (dir, "notes.txt", "x");                     //  not a cert
    ZC_CHECK (!zc_dirwatch_changed (watch));
    s_write (dir, "n1.cert", "x");
    ZC_CHECK (zc_dirwatch_changed (watch));
    ZC_CHECK (!zc_dirwatch_changed (watch));
    char *from = zsys_sprintf ("%s/n1.cert", dir);
    char *to = zsys_sprintf ("%s/n2.cert", dir);
    ZC_CHECK (rename (from, to) == 0);
    ZC_CHECK (zc_dirwatch_changed (watch));
    ZC_CHECK (chmod (to, 0600) == 0);
    ZC_CHECK (zc_dirwatch_changed (watch));
    ZC_CHECK (unlink (to) == 0);
    ZC_CHECK (zc_dirwatch_changed (watch));
    ZC_CHECK (!zc_dirwatch_changed (watch));
    //  The directory goes away: every question is "maybe" until it is
    //  back, and then the kernel watches again.
    char *notes = zsys_sprintf ("%s/notes.txt", dir);
    ZC_CHECK (unlink (notes) == 0);
    ZC_CHECK (rmdir (dir) == 0);
    ZC_CHECK (zc_dirwatch_changed (watch));
    ZC_CHECK (!zc_dirwatch_is_watching (watch));
    ZC_CHECK (zc_dirwatch_changed (watch));
    ZC_CHECK (mkdir (dir, 0700) == 0);
    ZC_CHECK (zc_dirwatch_changed (watch));
    ZC_CHECK (zc_dirwatch_is_watching (watch));
    ZC_CHECK (!zc_dirwatch_changed (watch));
    s_write (dir, "n3.cert", "x");
    ZC_CHECK (zc_dirwatch_changed (watch));
    zc_dirwatch_destroy (&watch);
    zc_dirwatch_destroy (&watch);                        //  NULL is fine
    char *n3 = zsys_sprintf ("%s/n3.cert", dir);
    unlink (n3);
    rmdir (dir);
    free (n3);
    free (notes);
    free (from);
    free (to);
    if (verbose)
        printf ("# dirwatch: %s\n", zc_test_failures_? "failed": "ok");
    return ZC_TEST_END;
}
