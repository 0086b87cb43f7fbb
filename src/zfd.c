/*  zfd.c — a ZeroMQ socket read in a zloop through its ZMQ_FD (see
    zfd.h). */
#include "prelude.h"
#include "zfd.h"

struct _zc_zfd_t {
    zmq_pollitem_t item;        //  first: zloop passes it to the callback
    zsock_t *sock;
    zloop_reader_fn *handler;
    void *arg;
    int timer_id;               //  the first look, or -1
};

static int
s_wakes (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    zc_zfd_t *self = arg;
    //  The descriptor says "look", not "a message": ask the socket.
    while (zsock_events (self->sock) & ZMQ_POLLIN)
        if (self->handler (loop, self->sock, self->arg) != 0)
            return -1;
    return 0;
}

//  A first look, for what came before the poller: the descriptor need
//  not wake for it.
static int
s_first_look (zloop_t *loop, int timer_id, void *arg)
{
    zc_zfd_t *self = arg;
    self->timer_id = -1;
    return s_wakes (loop, NULL, self);
}

zc_zfd_t *
zc_zfd_reader (zloop_t *loop, zsock_t *sock, zloop_reader_fn handler, void *arg)
{
    zc_zfd_t *self = zc_calloc (1, sizeof *self);
    self->item = (zmq_pollitem_t) { .fd = zsock_fd (sock), .events = ZMQ_POLLIN };
    self->sock = sock;
    self->handler = handler;
    self->arg = arg;
    if (zloop_poller (loop, &self->item, s_wakes, self) != 0) {
        free (self);
        return NULL;
    }
    self->timer_id = zloop_timer (loop, 0, 1, s_first_look, self);
    return self;
}

void
zc_zfd_reader_end (zloop_t *loop, zc_zfd_t **self_p)
{
    if (*self_p) {
        if ((*self_p)->timer_id != -1)
            zloop_timer_end (loop, (*self_p)->timer_id);
        zloop_poller_end (loop, &(*self_p)->item);
        free (*self_p);
        *self_p = NULL;
    }
}
