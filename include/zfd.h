/*  zfd.h — a ZeroMQ socket read in a zloop through its ZMQ_FD.

    zloop hands every ZeroMQ socket it reads to zmq_poll, which asks each
    one for its events on every turn of the loop: a system call per
    socket per turn (two before src/getpid.c), whether it has anything or
    not. A socket that is seldom busy (a monitor, the ZAP handler's) costs
    nothing like this until it has something: its ZMQ_FD is polled as a
    plain descriptor, and when it wakes the handler is called while the
    socket has a message.

    Only for a socket that nothing else uses between two turns: a send or
    a receive elsewhere may take the wake-up of a message that came in
    meanwhile, which would then wait for the next one. The handler itself
    may send on it (the events are asked again after each call).
*/
#ifndef ZC_ZFD_H
#define ZC_ZFD_H
#include <czmq.h>

typedef struct _zc_zfd_t zc_zfd_t;

//  Calls 'handler' (as a zloop reader's) while 'sock' has a message to
//  read; -1 from it ends the loop, as from a reader. NULL when zloop
//  refused the poller.
zc_zfd_t *zc_zfd_reader (zloop_t *loop, zsock_t *sock, zloop_reader_fn handler, void *arg);
//  Stops reading and frees it (NULL is fine).
void zc_zfd_reader_end (zloop_t *loop, zc_zfd_t **self_p);
#endif
