/*  id.h — message IDs and printed job IDs.

    A message ID is 16 bytes: 48-bit big-endian milliseconds since the
    epoch, then 80 random bits; printed as a 26-character ULID (Crockford
    base32, upper case). A job is (message ID, target node); its printed
    form is the ULID, a '.', then the node name: "01JDQ8...Z.web-1". The
    ULID has a fixed length, so the name after it may contain dots.
*/
#ifndef ZC_ID_H
#define ZC_ID_H
#include "prelude.h"
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define ZC_ID_SIZE 16
#define ZC_ULID_LEN 26
#define ZC_JOB_ID_MAX (ZC_ULID_LEN + 1 + ZC_NAME_MAX + 1)     //  with the NUL

typedef struct { uint8_t bytes [ZC_ID_SIZE]; } zc_id_t;

//  A fresh ID stamped with the current wall-clock time; a thread's IDs
//  sort in the order it made them.
void zc_id_generate (zc_id_t *id);
//  The creation time in milliseconds since the epoch.
uint64_t zc_id_time_ms (const zc_id_t *id);
//  Writes the 26-character ULID and a NUL into out (27 bytes).
void zc_id_to_ulid (const zc_id_t *id, char out [ZC_ULID_LEN + 1]);
//  Parses a ULID (case-insensitive; I, L read as 1 and O as 0). 0 or -1.
int zc_id_from_ulid (zc_id_t *id, const char *text);
//  "ULID.node" into out (ZC_JOB_ID_MAX bytes).
void zc_job_id_format (const zc_id_t *id, const char *node, char out [ZC_JOB_ID_MAX]);
//  Splits a printed job ID; node receives the name (ZC_NAME_SIZE bytes). 0 or -1.
int zc_job_id_parse (const char *text, zc_id_t *id, char node [ZC_NAME_SIZE]);
bool zc_id_equal (const zc_id_t *a, const zc_id_t *b);
//  'id' with its time moved by 'ms' milliseconds (either way), its
//  random bits kept. 0, or -1 (out untouched) when the time would leave
//  the 48 bits.
int zc_id_shifted (const zc_id_t *id, int64_t ms, zc_id_t *out);
//  The message ID of run 'run' of a schedule whose run 0 has ID 'base'
//  and whose runs are 'interval' seconds apart (zcnc-trigger(1) "SCHEDULES"):
//  base's 48-bit time increased by run * interval * 1000 ms, its 80
//  random bits kept. Origin and target derive the same IDs. 0, or -1
//  (out untouched) when the time would pass 48 bits.
int zc_id_scheduled (const zc_id_t *base, uint32_t interval, uint32_t run, zc_id_t *out);
//  The run of that schedule that 'id' is (its index in *run), when the
//  schedule has 'count' runs: 0, or -1 when id is none of them.
int zc_id_schedule_run (const zc_id_t *base, uint32_t interval, uint32_t count,
                        const zc_id_t *id, uint32_t *run);

int zc_id_test (bool verbose);
#endif
