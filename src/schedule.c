/*  schedule.c — the schedules received on this node (see schedule.h). */
#include <stdlib.h>
#include <string.h>
#include "prelude.h"
#include "log.h"
#include "schedule.h"
#include "testing.h"

struct _zc_schedules_t {
    zc_store_t *store;
    zhashx_t *schedules;        //  key -> zc_schedule_t (owned)
};

static void
s_schedule_destroy (void **item)
{
    zc_schedule_t *schedule = *item;
    zframe_destroy (&schedule->record.payload);
    free (schedule);
    *item = NULL;
}

zc_schedules_t *
zc_schedules_new (zc_store_t *store)
{
    zc_schedules_t *self = zc_calloc (1, sizeof *self);
    self->store = store;
    self->schedules = zhashx_new ();
    zhashx_set_destructor (self->schedules, s_schedule_destroy);
    return self;
}

void
zc_schedules_destroy (zc_schedules_t **self_p)
{
    if (*self_p) {
        zc_schedules_t *self = *self_p;
        zhashx_destroy (&self->schedules);
        free (self);
        *self_p = NULL;
    }
}

//  Writes a schedule into the store's batch.
static void
s_save (zc_schedules_t *self, zc_schedule_t *schedule)
{
    zframe_t *frame = zc_wire_schedule_record (&schedule->record);
    if (frame)
        zc_store_put (self->store, ZC_TABLE_SCHEDULE, schedule->key, zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
}

//  A schedule in memory for run 0 'key'; takes the record's payload.
//  NULL when 'key' is not a job key.
static zc_schedule_t *
s_insert (zc_schedules_t *self, const char *key, zc_schedule_record_t *record)
{
    zc_schedule_t *schedule = zc_calloc (1, sizeof *schedule);
    if (zc_job_id_parse (key, &schedule->base, schedule->origin) != 0) {
        free (schedule);
        return NULL;
    }
    snprintf (schedule->key, sizeof schedule->key, "%s", key);
    schedule->record = *record;
    record->payload = NULL;
    zhashx_update (self->schedules, key, schedule);
    return schedule;
}

static int
s_load_one (const char *key, const void *value, size_t size, void *arg)
{
    zc_schedules_t *self = arg;
    zframe_t *frame = zframe_new (value, size);
    zc_schedule_record_t record;
    if (zc_wire_schedule_record_decode (frame, &record) != 0 || !s_insert (self, key, &record)) {
        zc_error ("store: schedule record %s is unreadable; skipped (its later runs will not start)", key);
        zframe_destroy (&record.payload);
    }
    zframe_destroy (&frame);
    return 0;
}

int
zc_schedules_load (zc_schedules_t *self)
{
    if (zc_store_each (self->store, ZC_TABLE_SCHEDULE, s_load_one, self) != 0)
        return -1;
    return (int) zhashx_size (self->schedules);
}

zc_schedule_t *
zc_schedules_add (zc_schedules_t *self, const char *key, const zc_schedule_record_t *record)
{
    if (!zc_schedule_spec_valid (&record->schedule) || record->next > record->schedule.count)
        return NULL;
    zc_schedule_record_t copy = *record;
    copy.payload = record->payload && record->next < record->schedule.count? zframe_dup (record->payload): NULL;
    zc_schedule_t *schedule = s_insert (self, key, &copy);
    if (schedule)
        s_save (self, schedule);
    zframe_destroy (&copy.payload);
    return schedule;
}

zc_schedule_t *
zc_schedules_lookup (zc_schedules_t *self, const char *key)
{
    return zhashx_lookup (self->schedules, key);
}

zc_schedule_t *
zc_schedules_find (zc_schedules_t *self, const zc_id_t *id, const char *origin, uint32_t *run)
{
    for (zc_schedule_t *schedule = zhashx_first (self->schedules); schedule;
         schedule = zhashx_next (self->schedules))
        if (streq (schedule->origin, origin)
        &&  zc_id_schedule_run (&schedule->base, schedule->record.schedule.interval,
                                schedule->record.schedule.count, id, run) == 0)
            return schedule;
    return NULL;
}

int
zc_schedule_run_key (const zc_schedule_t *schedule, uint32_t run, zc_id_t *id, char key [ZC_JOB_ID_MAX])
{
    if (zc_id_scheduled (&schedule->base, schedule->record.schedule.interval, run, id) != 0)
        return -1;
    zc_job_id_format (id, schedule->origin, key);
    return 0;
}

uint64_t
zc_schedule_due_ms (const zc_schedule_t *schedule, uint32_t run)
{
    return schedule->record.start_ms + (uint64_t) run * schedule->record.schedule.interval * 1000;
}

//  True when the schedule has a run to start that need not wait.
static bool
s_ready (zc_schedule_t *schedule, zc_schedule_busy_fn *busy, void *arg)
{
    return schedule->record.next < schedule->record.schedule.count && !busy (schedule, arg);
}

uint64_t
zc_schedules_next_due (zc_schedules_t *self, zc_schedule_busy_fn *busy, void *arg)
{
    uint64_t earliest = 0;
    for (zc_schedule_t *schedule = zhashx_first (self->schedules); schedule;
         schedule = zhashx_next (self->schedules)) {
        uint64_t due = zc_schedule_due_ms (schedule, schedule->record.next);
        if (s_ready (schedule, busy, arg) && (!earliest || due < earliest))
            earliest = due;
    }
    return earliest;
}

zc_schedule_t *
zc_schedules_due (zc_schedules_t *self, uint64_t wall, zc_schedule_busy_fn *busy, void *arg)
{
    for (zc_schedule_t *schedule = zhashx_first (self->schedules); schedule;
         schedule = zhashx_next (self->schedules))
        if (zc_schedule_due_ms (schedule, schedule->record.next) <= wall && s_ready (schedule, busy, arg))
            return schedule;
    return NULL;
}

void
zc_schedules_advance (zc_schedules_t *self, zc_schedule_t *schedule)
{
    if (schedule->record.next < schedule->record.schedule.count)
        schedule->record.next++;
    if (schedule->record.next == schedule->record.schedule.count)
        zframe_destroy (&schedule->record.payload);
    s_save (self, schedule);
}

void
zc_schedules_stop (zc_schedules_t *self, zc_schedule_t *schedule)
{
    schedule->record.next = schedule->record.schedule.count;
    zframe_destroy (&schedule->record.payload);
    s_save (self, schedule);
}

size_t
zc_schedules_pending (zc_schedules_t *self)
{
    size_t pending = 0;
    for (zc_schedule_t *schedule = zhashx_first (self->schedules); schedule;
         schedule = zhashx_next (self->schedules))
        pending += schedule->record.next < schedule->record.schedule.count;
    return pending;
}

void
zc_schedules_prune (zc_schedules_t *self, uint64_t wall, double skew)
{
    zlist_t *gone = zlist_new ();
    for (zc_schedule_t *schedule = zhashx_first (self->schedules); schedule;
         schedule = zhashx_next (self->schedules)) {
        const zc_schedule_record_t *record = &schedule->record;
        zc_id_t last;
        char key [ZC_JOB_ID_MAX];
        if (record->next == record->schedule.count
        &&  zc_schedule_run_key (schedule, record->schedule.count - 1, &last, key) == 0
        &&  wall > zc_id_time_ms (&last) + (uint64_t) ((record->expire + skew) * 1000))
            zlist_append (gone, schedule->key);
    }
    for (const char *key = zlist_first (gone); key; key = zlist_next (gone)) {
        zc_store_del (self->store, ZC_TABLE_SCHEDULE, key);
        zhashx_delete (self->schedules, key);
    }
    zlist_destroy (&gone);
}

//  Self-test

static bool
s_test_busy (zc_schedule_t *schedule, void *arg)
{
    const char *busy_key = arg;
    return busy_key && streq (schedule->key, busy_key);
}

int
zc_schedules_test (bool verbose)
{
    ZC_TEST_BEGIN;
    char dir [] = "/tmp/zcnc-schedules-XXXXXX";
    ZC_CHECK (mkdtemp (dir) != NULL);
    zc_store_t *store = zc_store_open (dir, false, NULL);
    zc_schedules_t *schedules = zc_schedules_new (store);

    //  Run 0 started at 'start': run k is due k * 10 s later.
    zc_id_t base;
    zc_id_generate (&base);
    char key [ZC_JOB_ID_MAX];
    zc_job_id_format (&base, "o1", key);
    uint64_t start = zc_id_time_ms (&base) + 500;
    zc_schedule_record_t record = {
        .method = ZC_METHOD_EXEC, .method_timeout = 30, .expire = 60,
        .schedule = { .interval = 10, .count = 3 }, .next = 1, .start_ms = start,
        .payload = zframe_new ("args", 4)
    };
    zc_schedule_t *schedule = zc_schedules_add (schedules, key, &record);
    ZC_CHECK (schedule && streq (schedule->origin, "o1") && zc_id_equal (&schedule->base, &base));
    ZC_CHECK (zc_schedules_lookup (schedules, key) == schedule);
    ZC_CHECK (zc_schedules_pending (schedules) == 1);
    ZC_CHECK (zc_schedule_due_ms (schedule, 2) == start + 20000);
    ZC_CHECK (zc_schedules_next_due (schedules, s_test_busy, NULL) == start + 10000);
    ZC_CHECK (zc_schedules_due (schedules, start + 9999, s_test_busy, NULL) == NULL);
    ZC_CHECK (zc_schedules_due (schedules, start + 10000, s_test_busy, NULL) == schedule);
    //  While the run before it runs, the next one waits.
    ZC_CHECK (zc_schedules_due (schedules, start + 10000, s_test_busy, key) == NULL);
    ZC_CHECK (zc_schedules_next_due (schedules, s_test_busy, key) == 0);
    //  A run of it: found by its ID and origin only.
    zc_id_t run_id;
    char run_key [ZC_JOB_ID_MAX];
    ZC_CHECK (zc_schedule_run_key (schedule, 2, &run_id, run_key) == 0);
    ZC_CHECK (zc_id_time_ms (&run_id) == zc_id_time_ms (&base) + 20000);
    uint32_t run = 0;
    ZC_CHECK (zc_schedules_find (schedules, &run_id, "o1", &run) == schedule && run == 2);
    ZC_CHECK (zc_schedules_find (schedules, &run_id, "o2", &run) == NULL);
    ZC_CHECK (zc_schedules_find (schedules, &base, "o1", &run) == schedule && run == 0);
    //  Not a job key, or not a valid record: nothing kept.
    ZC_CHECK (zc_schedules_add (schedules, "nonsense", &record) == NULL);
    record.next = 4;
    ZC_CHECK (zc_schedules_add (schedules, run_key, &record) == NULL);
    record.next = 1;
    zframe_destroy (&record.payload);

    //  Advancing is stored: after a restart the next run is the one due.
    zc_schedules_advance (schedules, schedule);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_schedules_destroy (&schedules);
    schedules = zc_schedules_new (store);
    ZC_CHECK (zc_schedules_load (schedules) == 1);
    schedule = zc_schedules_lookup (schedules, key);
    ZC_CHECK (schedule && schedule->record.next == 2 && schedule->record.payload
              && zframe_streq (schedule->record.payload, "args"));
    ZC_CHECK (zc_schedules_next_due (schedules, s_test_busy, NULL) == start + 20000);
    //  The last run started: nothing more is due and the payload goes,
    //  but the schedule stays until its last run is past its expire.
    zc_schedules_advance (schedules, schedule);
    ZC_CHECK (schedule->record.next == 3 && !schedule->record.payload);
    ZC_CHECK (zc_schedules_pending (schedules) == 0);
    ZC_CHECK (zc_schedules_due (schedules, start + 100000, s_test_busy, NULL) == NULL);
    ZC_CHECK (zc_schedules_next_due (schedules, s_test_busy, NULL) == 0);
    uint64_t last = zc_id_time_ms (&base) + 20000;
    zc_schedules_prune (schedules, last + 60000 + 300000, 300);
    ZC_CHECK (zc_schedules_lookup (schedules, key) == schedule);
    zc_schedules_prune (schedules, last + 60000 + 300000 + 1, 300);
    ZC_CHECK (zc_schedules_lookup (schedules, key) == NULL);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_schedules_destroy (&schedules);
    schedules = zc_schedules_new (store);
    ZC_CHECK (zc_schedules_load (schedules) == 0);

    //  A stopped schedule starts nothing more; an unreadable record is skipped.
    record.payload = zframe_new ("p", 1);
    schedule = zc_schedules_add (schedules, key, &record);
    zframe_destroy (&record.payload);
    ZC_CHECK (schedule && zc_schedules_pending (schedules) == 1);
    zc_schedules_stop (schedules, schedule);
    ZC_CHECK (zc_schedules_pending (schedules) == 0 && !schedule->record.payload);
    zc_store_put (store, ZC_TABLE_SCHEDULE, run_key, "bad", 3);
    ZC_CHECK (zc_store_commit (store) == 0);
    zc_schedules_destroy (&schedules);
    schedules = zc_schedules_new (store);
    ZC_CHECK (zc_schedules_load (schedules) == 1);
    schedule = zc_schedules_lookup (schedules, key);
    ZC_CHECK (schedule && schedule->record.next == 3);

    zc_schedules_destroy (&schedules);
    zc_store_close (&store);
    char *command = zsys_sprintf ("rm -rf %s", dir);
    ZC_CHECK (system (command) == 0);
    free (command);
    if (verbose)
        printf ("# schedules: ok\n");
    return ZC_TEST_END;
}
