/*  id.c — message IDs (time + randomness) and their printed forms.

    The ULID text is the 128-bit ID read as a 130-bit big-endian number
    (two leading zero bits) in Crockford base32: 26 characters, the first
    of which is therefore 0-7. Lexical order of ULIDs is time order.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <sodium.h>
#include "id.h"
#include "log.h"
#include "target.h"
#include "testing.h"

static const char s_alphabet [] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

//  The 5-bit value of a ULID character, or -1. Accepts lower case and
//  Crockford's look-alikes (I, L for 1; O for 0); U is not a digit.
static int
s_digit_value (char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char) (c - 'a' + 'A');
    if (c == 'I' || c == 'L')
        return 1;
    if (c == 'O')
        return 0;
    const char *found = c? strchr (s_alphabet, c): NULL;
    return found? (int) (found - s_alphabet): -1;
}

//  Random bytes for IDs, drawn from libsodium 4 KiB at a time: a getrandom
//  call per ID was a tenth of a job's system calls. A pool per thread (a
//  daemon makes its IDs on one; the self-tests run several daemons, each
//  on its own thread), so it needs no lock.
static __thread uint8_t s_pool [4096];
static __thread size_t s_pool_used = sizeof s_pool;

//  A forked child must not hand out its parent's bytes again.
static void
s_pool_forget (void)
{
    s_pool_used = sizeof s_pool;
}

//  Takes 'size' bytes from the pool, refilling it when needed. Aborts only
//  if libsodium cannot initialise (no entropy source), since every ID
//  would then be guessable.
static void
s_random_bytes (uint8_t *out, size_t size)
{
    static __thread bool registered;
    if (!registered) {
        pthread_atfork (NULL, NULL, s_pool_forget);
        registered = true;
    }
    if (s_pool_used + size > sizeof s_pool) {
        if (sodium_init () < 0) {
            zc_error ("cannot initialise libsodium: no source of random bytes");
            abort ();
        }
        randombytes_buf (s_pool, sizeof s_pool);
        s_pool_used = 0;
    }
    memcpy (out, s_pool + s_pool_used, size);
    sodium_memzero (s_pool + s_pool_used, size);
    s_pool_used += size;
}

//  Writes a 48-bit time into an ID's first six bytes.
static void
s_set_time (zc_id_t *id, uint64_t ms)
{
    for (int index = 0; index < 6; index++)
        id->bytes [index] = (uint8_t) (ms >> (8 * (5 - index)));
}

//  Fills id with the current wall-clock milliseconds and 80 random bits;
//  within one millisecond (or while the clock is behind the last ID) a
//  thread's IDs count up from the last one instead, so that they sort in
//  the order they were made.
void
zc_id_generate (zc_id_t *id)
{
    static _Thread_local zc_id_t last;
    static _Thread_local uint64_t last_ms;
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    uint64_t ms = (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
    if (last_ms && ms <= last_ms) {
        *id = last;
        for (int index = ZC_ID_SIZE - 1; index >= 0; index--)
            if (++id->bytes [index] != 0)
                break;                  //  no carry (into the time, when it does)
        last = *id;
        last_ms = zc_id_time_ms (id);
        return;
    }
    s_set_time (id, ms);
    s_random_bytes (id->bytes + 6, ZC_ID_SIZE - 6);
    last = *id;
    last_ms = ms;
}

//  The 48-bit timestamp of the ID: milliseconds since the epoch.
uint64_t
zc_id_time_ms (const zc_id_t *id)
{
    uint64_t ms = 0;
    for (int index = 0; index < 6; index++)
        ms = (ms << 8) | id->bytes [index];
    return ms;
}

//  Writes the 26 ULID characters and a NUL into out: the last character
//  holds the lowest 5 bits, each one before it the next 5.
void
zc_id_to_ulid (const zc_id_t *id, char out [ZC_ULID_LEN + 1])
{
    unsigned __int128 number = 0;
    for (int index = 0; index < ZC_ID_SIZE; index++)
        number = (number << 8) | id->bytes [index];
    for (int index = ZC_ULID_LEN - 1; index >= 0; index--) {
        out [index] = s_alphabet [number & 31];
        number >>= 5;
    }
    out [ZC_ULID_LEN] = 0;
}

//  Parses exactly 26 ULID characters. Returns 0, or -1 (id untouched) for
//  a wrong length, a character outside the alphabet, or a first character
//  above 7 (more than 128 bits).
int
zc_id_from_ulid (zc_id_t *id, const char *text)
{
    if (!text || strlen (text) != ZC_ULID_LEN)
        return -1;
    zc_id_t parsed;
    memset (&parsed, 0, sizeof parsed);
    for (int index = 0; index < ZC_ULID_LEN; index++) {
        int value = s_digit_value (text [index]);
        if (value < 0 || (index == 0 && value > 7))
            return -1;
        for (int bit = 0; bit < 5; bit++) {
            int position = 129 - (5 * index + bit);
            if ((value >> (4 - bit)) & 1 && position < 128)
                parsed.bytes [15 - position / 8] |= (uint8_t) (1 << (position % 8));
        }
    }
    *id = parsed;
    return 0;
}

//  Writes "ULID.node" into out. A node longer than 64 characters (a
//  caller's bug: names are validated on entry) is cut to fit.
void
zc_job_id_format (const zc_id_t *id, const char *node, char out [ZC_JOB_ID_MAX])
{
    zc_id_to_ulid (id, out);
    out [ZC_ULID_LEN] = '.';
    size_t length = strnlen (node, 64);
    memcpy (out + ZC_ULID_LEN + 1, node, length);
    out [ZC_ULID_LEN + 1 + length] = 0;
}

//  Splits "ULID.node": the first 26 characters are the ID, the 27th a
//  dot, the rest a valid node name (which may itself contain dots).
//  Returns 0, or -1 leaving id and node untouched.
int
zc_job_id_parse (const char *text, zc_id_t *id, char node [ZC_NAME_SIZE])
{
    if (!text || strlen (text) < ZC_ULID_LEN + 2 || text [ZC_ULID_LEN] != '.')
        return -1;
    char ulid [ZC_ULID_LEN + 1];
    memcpy (ulid, text, ZC_ULID_LEN);
    ulid [ZC_ULID_LEN] = 0;
    const char *name = text + ZC_ULID_LEN + 1;
    zc_id_t parsed;
    if (zc_id_from_ulid (&parsed, ulid) || !zc_name_valid (name))
        return -1;
    *id = parsed;
    strcpy (node, name);
    return 0;
}

bool
zc_id_equal (const zc_id_t *a, const zc_id_t *b)
{
    return memcmp (a->bytes, b->bytes, ZC_ID_SIZE) == 0;
}

int
zc_id_shifted (const zc_id_t *id, int64_t ms, zc_id_t *out)
{
    int64_t time = (int64_t) zc_id_time_ms (id) + ms;
    if (time < 0 || (time >> 48))
        return -1;
    *out = *id;
    s_set_time (out, (uint64_t) time);
    return 0;
}

int
zc_id_scheduled (const zc_id_t *base, uint32_t interval, uint32_t run, zc_id_t *out)
{
    return zc_id_shifted (base, (int64_t) run * interval * 1000, out);
}

int
zc_id_schedule_run (const zc_id_t *base, uint32_t interval, uint32_t count,
                    const zc_id_t *id, uint32_t *run)
{
    uint64_t base_ms = zc_id_time_ms (base), ms = zc_id_time_ms (id);
    uint64_t step = (uint64_t) interval * 1000;
    if (memcmp (base->bytes + 6, id->bytes + 6, ZC_ID_SIZE - 6) != 0
    ||  step == 0 || ms < base_ms || (ms - base_ms) % step != 0
    ||  (ms - base_ms) / step >= count)
        return -1;
    *run = (uint32_t) ((ms - base_ms) / step);
    return 0;
}

int
zc_id_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char ulid [ZC_ULID_LEN + 1];
    zc_id_t id, back;

    //  Known vectors.
    memset (&id, 0, sizeof id);
    zc_id_to_ulid (&id, ulid);
    ZC_CHECK_STR (ulid, "00000000000000000000000000");
    memset (&id, 0xFF, sizeof id);
    zc_id_to_ulid (&id, ulid);
    ZC_CHECK_STR (ulid, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    ZC_CHECK (zc_id_from_ulid (&back, ulid) == 0 && zc_id_equal (&id, &back));
    //  The last bit is the last character's lowest bit.
    memset (&id, 0, sizeof id);
    id.bytes [15] = 1;
    zc_id_to_ulid (&id, ulid);
    ZC_CHECK_STR (ulid, "00000000000000000000000001");
    //  The highest bit is the first character's value 4.
    memset (&id, 0, sizeof id);
    id.bytes [0] = 0x80;
    zc_id_to_ulid (&id, ulid);
    ZC_CHECK_STR (ulid, "40000000000000000000000000");
    //  The ULID spec's example: time 1469918176385 -> "01ARYZ6S41".
    memset (&id, 0, sizeof id);
    uint64_t ms = 1469918176385ULL;
    for (int index = 0; index < 6; index++)
        id.bytes [index] = (uint8_t) (ms >> (8 * (5 - index)));
    zc_id_to_ulid (&id, ulid);
    ZC_CHECK (strncmp (ulid, "01ARYZ6S41", 10) == 0);
    ZC_CHECK_STR (ulid + 10, "0000000000000000");
    ZC_CHECK (zc_id_time_ms (&id) == ms);

    //  Generated IDs: current time, time prefix, distinct, round trip.
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    uint64_t before = (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
    zc_id_t first, second;
    zc_id_generate (&first);
    zc_id_generate (&second);
    clock_gettime (CLOCK_REALTIME, &now);
    uint64_t after = (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
    ZC_CHECK (zc_id_time_ms (&first) >= before && zc_id_time_ms (&second) <= after);
    ZC_CHECK (!zc_id_equal (&first, &second));
    //  Many IDs in (mostly) the same millisecond are all different.
    zc_id_t many [1000];     //  more than two refills of the pool
    for (int index = 0; index < 1000; index++)
        zc_id_generate (&many [index]);
    int unordered = 0;
    for (int index = 1; index < 1000; index++)
        unordered += memcmp (many [index - 1].bytes, many [index].bytes, ZC_ID_SIZE) >= 0;
    ZC_CHECK (unordered == 0);
    int duplicates = 0;
    for (int index = 0; index < 1000; index++)
        for (int other = index + 1; other < 1000; other++)
            duplicates += zc_id_equal (&many [index], &many [other]);
    ZC_CHECK (duplicates == 0);
    for (int index = 0; index < 1000; index++) {
        zc_id_to_ulid (&many [index], ulid);
        ZC_CHECK (strlen (ulid) == ZC_ULID_LEN && ulid [0] >= '0' && ulid [0] <= '7');
        ZC_CHECK (zc_id_from_ulid (&back, ulid) == 0 && zc_id_equal (&back, &many [index]));
    }
    //  IDs with the same time share their first 10 characters.
    zc_id_t same = first;
    same.bytes [6] ^= 0xFF;
    same.bytes [15] ^= 0xFF;
    char ulid_same [ZC_ULID_LEN + 1];
    zc_id_to_ulid (&first, ulid);
    zc_id_to_ulid (&same, ulid_same);
    ZC_CHECK (strncmp (ulid, ulid_same, 10) == 0 && strcmp (ulid, ulid_same) != 0);
    if (verbose)
        printf ("# id: generated %s\n", ulid);

    //  Parsing: case, look-alikes.
    ZC_CHECK (zc_id_from_ulid (&back, "01arYZ6S41000000000000000o") == 0);
    zc_id_to_ulid (&back, ulid);
    ZC_CHECK_STR (ulid, "01ARYZ6S410000000000000000");
    ZC_CHECK (zc_id_from_ulid (&back, "0000000000000000000000000I") == 0);
    ZC_CHECK (back.bytes [15] == 1);
    ZC_CHECK (zc_id_from_ulid (&back, "0000000000000000000000000l") == 0);
    ZC_CHECK (back.bytes [15] == 1);
    //  Parse errors leave the ID untouched.
    memset (&back, 0xAA, sizeof back);
    zc_id_t untouched = back;
    ZC_CHECK (zc_id_from_ulid (&back, "") == -1);
    ZC_CHECK (zc_id_from_ulid (&back, NULL) == -1);
    ZC_CHECK (zc_id_from_ulid (&back, "0000000000000000000000000") == -1);     //  25
    ZC_CHECK (zc_id_from_ulid (&back, "000000000000000000000000000") == -1);   //  27
    ZC_CHECK (zc_id_from_ulid (&back, "0000000000000000000000000U") == -1);
    ZC_CHECK (zc_id_from_ulid (&back, "000000000000-0000000000000") == -1);
    ZC_CHECK (zc_id_from_ulid (&back, "0000000000000000000000000 ") == -1);
    ZC_CHECK (zc_id_from_ulid (&back, "80000000000000000000000000") == -1);
    ZC_CHECK (zc_id_from_ulid (&back, "Z0000000000000000000000000") == -1);
    ZC_CHECK (zc_id_equal (&back, &untouched));
    ZC_CHECK (zc_id_from_ulid (&back, "70000000000000000000000000") == 0);
    ZC_CHECK (back.bytes [0] == 0xE0);

    //  Job IDs.
    char job [ZC_JOB_ID_MAX], node [ZC_NAME_SIZE];
    zc_job_id_format (&first, "web-1", job);
    zc_id_to_ulid (&first, ulid);
    ZC_CHECK (strncmp (job, ulid, ZC_ULID_LEN) == 0);
    ZC_CHECK_STR (job + ZC_ULID_LEN, ".web-1");
    ZC_CHECK (zc_job_id_parse (job, &back, node) == 0);
    ZC_CHECK (zc_id_equal (&back, &first));
    ZC_CHECK_STR (node, "web-1");
    //  A node name with dots.
    zc_job_id_format (&first, "n1.site1.example", job);
    ZC_CHECK (zc_job_id_parse (job, &back, node) == 0);
    ZC_CHECK_STR (node, "n1.site1.example");
    ZC_CHECK (zc_id_equal (&back, &first));
    //  The longest name fits.
    char longest [ZC_NAME_SIZE];
    memset (longest, 'a', 64);
    longest [64] = 0;
    zc_job_id_format (&first, longest, job);
    ZC_CHECK (strlen (job) == ZC_JOB_ID_MAX - 1);
    ZC_CHECK (zc_job_id_parse (job, &back, node) == 0);
    ZC_CHECK_STR (node, longest);
    //  Bad job IDs.
    strcpy (node, "unchanged");
    char text [200];
    ZC_CHECK (zc_job_id_parse (ulid, &back, node) == -1);              //  no node
    snprintf (text, sizeof text, "%s.", ulid);
    ZC_CHECK (zc_job_id_parse (text, &back, node) == -1);              //  empty node
    snprintf (text, sizeof text, "%s-web", ulid);
    ZC_CHECK (zc_job_id_parse (text, &back, node) == -1);              //  no dot
    snprintf (text, sizeof text, "%s..web", ulid);
    ZC_CHECK (zc_job_id_parse (text, &back, node) == -1);              //  name starts with '.'
    snprintf (text, sizeof text, "%s.ALL", ulid);
    ZC_CHECK (zc_job_id_parse (text, &back, node) == -1);              //  reserved
    snprintf (text, sizeof text, "%s.web 1", ulid);
    ZC_CHECK (zc_job_id_parse (text, &back, node) == -1);
    snprintf (text, sizeof text, "%s.%sa", ulid, longest);
    ZC_CHECK (zc_job_id_parse (text, &back, node) == -1);              //  65 characters
    ZC_CHECK (zc_job_id_parse ("8ZZZZZZZZZZZZZZZZZZZZZZZZZ.web", &back, node) == -1);
    ZC_CHECK (zc_job_id_parse ("short.web", &back, node) == -1);
    ZC_CHECK (zc_job_id_parse ("", &back, node) == -1);
    ZC_CHECK_STR (node, "unchanged");

    //  The runs of a schedule: the time moves by run * interval s, the
    //  random part stays; run 0 is the base itself.
    zc_id_t base, run_id;
    ZC_CHECK (zc_id_from_ulid (&base, "01ARYZ6S41TSV4RRFFQ69G5FAV") == 0);
    ZC_CHECK (zc_id_scheduled (&base, 60, 0, &run_id) == 0 && zc_id_equal (&run_id, &base));
    ZC_CHECK (zc_id_scheduled (&base, 60, 3, &run_id) == 0);
    ZC_CHECK (zc_id_time_ms (&run_id) == zc_id_time_ms (&base) + 180000);
    ZC_CHECK (memcmp (run_id.bytes + 6, base.bytes + 6, 10) == 0);
    zc_id_to_ulid (&run_id, ulid);
    ZC_CHECK_STR (ulid, "01ARYZC8X1TSV4RRFFQ69G5FAV");
    uint32_t run = 99;
    ZC_CHECK (zc_id_schedule_run (&base, 60, 4, &run_id, &run) == 0 && run == 3);
    ZC_CHECK (zc_id_schedule_run (&base, 60, 4, &base, &run) == 0 && run == 0);
    run = 99;
    ZC_CHECK (zc_id_schedule_run (&base, 60, 3, &run_id, &run) == -1 && run == 99);   //  past the last
    ZC_CHECK (zc_id_schedule_run (&base, 7, 100, &run_id, &run) == -1);   //  not on the grid
    ZC_CHECK (zc_id_schedule_run (&run_id, 60, 4, &base, &run) == -1);    //  before run 0
    ZC_CHECK (zc_id_schedule_run (&base, 60, 4, &first, &run) == -1);     //  another message
    //  A time past 48 bits is refused, the output untouched.
    memset (&base, 0xFF, 6);
    zc_id_t unchanged = run_id;
    ZC_CHECK (zc_id_scheduled (&base, 1, 1, &run_id) == -1 && zc_id_equal (&run_id, &unchanged));
    ZC_CHECK (zc_id_shifted (&base, -1, &run_id) == 0 && zc_id_time_ms (&run_id) == (1ULL << 48) - 2);
    memset (&base, 0, 6);
    ZC_CHECK (zc_id_shifted (&base, -1, &run_id) == -1);
    ZC_CHECK (zc_id_shifted (&base, 5, &run_id) == 0 && zc_id_time_ms (&run_id) == 5);
    return ZC_TEST_END;
}
