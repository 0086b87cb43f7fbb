/*  fuzz_json.c — libFuzzer target for the socket's JSON decoder
    (src/jsonparse.c): every request line a local client sends.

    The input is given whole to zc_jsonparse and to jansson's json_loadb
    with the flags the decoder stands in for (JSON_REJECT_DUPLICATES).
    Besides not crashing, the two must agree: both refuse the input (and
    ours says why), or both give equal values whose compact texts, in
    member order, are the same. A disagreement aborts: a finding.
    The one known difference (jsonparse.h): jansson lets a NUL byte pass
    right after a number or a literal, ours refuses every NUL byte; for
    an input holding one, only that ours refuses it is checked.

    Build and run: `make fuzz FUZZ_TARGETS=fuzz_json` (tests/fuzz/README.md).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "jsonparse.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char error [ZC_JSONPARSE_ERROR_SIZE];
    json_t *ours = zc_jsonparse ((const char *) data, size, error);
    if (memchr (data, 0, size)) {
        if (ours || !*error)
            abort ();
        return 0;
    }
    json_t *theirs = json_loadb ((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!ours != !theirs || (!ours && !*error))
        abort ();
    if (ours) {
        if (!json_equal (ours, theirs))
            abort ();
        char *ours_text = json_dumps (ours, JSON_COMPACT);
        char *theirs_text = json_dumps (theirs, JSON_COMPACT);
        if (!ours_text || !theirs_text || strcmp (ours_text, theirs_text) != 0)
            abort ();
        free (ours_text);
        free (theirs_text);
    }
    json_decref (ours);
    json_decref (theirs);
    return 0;
}
