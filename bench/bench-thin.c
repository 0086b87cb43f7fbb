/*  bench-thin.c — the thinnest client of an agent's socket: what a whole
    `zcnc trigger NODE:COMMAND` process is measured against (issue 14,
    bench/fleet.sh). It links jansson and nothing of czmq's: it connects
    to the socket, writes the request `zcnc trigger` writes
    ({"to":NODE,"args":[COMMAND],"wait":60}), reads lines until the one
    that ends the answer, and exits 0 when the job's result came back
    with exit status 0.

      bench-thin SOCKET NODE COMMAND
*/
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
    if (argc != 4) {
        fprintf (stderr, "usage: bench-thin SOCKET NODE COMMAND\n");
        return 2;
    }
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen (argv [1]) >= sizeof address.sun_path) {
        fprintf (stderr, "bench-thin: socket path too long\n");
        return 2;
    }
    strcpy (address.sun_path, argv [1]);
    int fd = socket (AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect (fd, (struct sockaddr *) &address, sizeof address) != 0) {
        perror ("bench-thin: connect");
        return 1;
    }
    json_t *request = json_pack ("{s:s, s:[s], s:i}", "to", argv [2], "args", argv [3], "wait", 60);
    char *text = json_dumps (request, JSON_COMPACT);
    json_decref (request);
    size_t length = strlen (text);
    text [length] = '\n';           //  json_dumps' NUL becomes the newline
    ssize_t written = write (fd, text, length + 1);
    free (text);
    if (written != (ssize_t) length + 1) {
        perror ("bench-thin: write");
        return 1;
    }
    FILE *answers = fdopen (fd, "r");
    char *line = NULL;
    size_t capacity = 0;
    int status = 1;
    while (getline (&line, &capacity, answers) > 0) {
        json_t *answer = json_loads (line, 0, NULL);
        if (json_is_string (json_object_get (answer, "error"))) {
            fprintf (stderr, "bench-thin: %s", line);
            json_decref (answer);
            break;
        }
        json_t *exit_code = json_object_get (answer, "exit");
        if (exit_code && json_integer_value (exit_code) == 0)
            status = 0;
        bool end = json_object_get (answer, "end") != NULL;
        json_decref (answer);
        if (end)
            break;
    }
    free (line);
    fclose (answers);
    return status;
}
