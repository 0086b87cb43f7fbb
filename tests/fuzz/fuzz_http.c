/*  fuzz_http.c — libFuzzer target for the request line of the metrics
    page's HTTP server (src/httpserve.c): what any local client sends.

    The input is cut where the server cuts it (at the first NUL, CR or
    LF). zc_httpserve_request_line may not fault nor read past the line;
    when it takes the line, the method and the target are non-empty,
    hold no blank, lie inside the line, and written back with the
    version they give the line again.

    Build and run: `make fuzz FUZZ_TARGETS=fuzz_http` (tests/fuzz/README.md).
*/
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpserve.h"

#define S_MAX_LINE 8192

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size > S_MAX_LINE)
        return 0;
    char *line = malloc (size + 1);
    memcpy (line, data, size);
    line [size] = 0;
    line [strcspn (line, "\r\n")] = 0;
    char *original = strdup (line);
    size_t length = strlen (line);
    char *method = NULL, *target = NULL;
    if (zc_httpserve_request_line (line, &method, &target) == 0) {
        assert (method == line && *method && !strchr (method, ' '));
        assert (target > line && target < line + length && *target && !strchr (target, ' '));
        char *again = malloc (length + 1);
        int written = snprintf (again, length + 1, "%s %s %s", method, target,
                                target + strlen (target) + 1);
        assert (written == (int) length && strcmp (again, original) == 0);
        free (again);
    }
    free (original);
    free (line);
    return 0;
}
