/*  client.h — the CLI's side of the agent socket: connect, write one
    JSON request, read JSON answers line by line.
*/
#ifndef ZC_CLIENT_H
#define ZC_CLIENT_H
#include <stdbool.h>
#include <jansson.h>

typedef struct _zc_client_t zc_client_t;

//  Connects to the agent socket. NULL with *error malloc'd.
zc_client_t *zc_client_new (const char *path, char **error);
//  The same for the socket of daemon 'server' ("agent", "hub"), named
//  in the error.
zc_client_t *zc_client_open (const char *path, const char *server, char **error);
void zc_client_destroy (zc_client_t **self_p);
//  Sends one object as a line. 0 or -1.
int zc_client_send (zc_client_t *self, json_t *request);
//  Sends bytes as they are (tests that send what is not JSON). 0 or -1.
int zc_client_send_raw (zc_client_t *self, const void *bytes, size_t size);
//  Reads the next answer line; waits at most timeout_ms (-1 = forever).
//  Returns a new object, or NULL on timeout (*timed_out set), a closed
//  connection or unparseable input (*error malloc'd).
json_t *zc_client_recv (zc_client_t *self, int timeout_ms, bool *timed_out, char **error);
#endif
