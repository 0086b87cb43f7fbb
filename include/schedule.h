/*  schedule.h — the schedules received on this node (zcnc-trigger(1)
    "schedule"), for the runner.

    A job whose REQ carries a schedule of COUNT runs INTERVAL seconds
    apart is its run 0. Run k (0 < k < COUNT) is a job of its own, with
    the message ID id.h derives (zc_id_scheduled), due at START + k *
    INTERVAL on the wall clock, where START is when run 0 started here.
    This module keeps, per schedule, what its runs need (method,
    timeouts, the payload without its schedule) and the next run to
    start, in the store (table schedule, keyed by run 0's ULID.origin).
    The runner stores run k as a task in the same batch that advances
    'next' (zc_schedules_advance), so after a crash a run is neither lost
    (its time passed: it starts late) nor started twice.

    A schedule whose runs all started (or were answered) stays, without
    its payload, until its last run could no longer come again: the
    record says that the schedule was set up here once.
*/
#ifndef ZC_SCHEDULE_H
#define ZC_SCHEDULE_H
#include <czmq.h>
#include "id.h"
#include "store.h"
#include "wire.h"

typedef struct {
    char key [ZC_JOB_ID_MAX];           //  run 0's task key: ULID.origin
    zc_id_t base;                       //  run 0's message ID
    char origin [ZC_NAME_SIZE];
    zc_schedule_record_t record;        //  what is stored; its payload is owned
} zc_schedule_t;

typedef struct _zc_schedules_t zc_schedules_t;

zc_schedules_t *zc_schedules_new (zc_store_t *store);
void zc_schedules_destroy (zc_schedules_t **self_p);
//  Brings back the schedules kept in the store. Returns how many, or -1
//  when the store could not be read (a record that is unreadable is
//  logged and skipped).
int zc_schedules_load (zc_schedules_t *self);

//  Keeps the schedule of run 0 'key' (ULID.origin) as 'record' says
//  (its payload is copied), saving it in the current batch. Returns it,
//  or NULL when 'key' is not a job key or the record is not valid.
zc_schedule_t *zc_schedules_add (zc_schedules_t *self, const char *key,
                                 const zc_schedule_record_t *record);
//  The schedule whose run 0 is task 'key', or NULL.
zc_schedule_t *zc_schedules_lookup (zc_schedules_t *self, const char *key);
//  The schedule of 'origin' that job 'id' is a run of, with the run's
//  index in *run; NULL when there is none.
zc_schedule_t *zc_schedules_find (zc_schedules_t *self, const zc_id_t *id, const char *origin,
                                  uint32_t *run);

//  Run 'run' of a schedule: its message ID and task key (ULID.origin).
//  -1 when its time would not fit an ID (a record made here never has such runs).
int zc_schedule_run_key (const zc_schedule_t *schedule, uint32_t run, zc_id_t *id,
                         char key [ZC_JOB_ID_MAX]);
//  When run 'run' is due: wall clock, ms since the epoch.
uint64_t zc_schedule_due_ms (const zc_schedule_t *schedule, uint32_t run);

//  Whether a schedule's next run must wait (the run before it still
//  runs): the runner answers.
typedef bool (zc_schedule_busy_fn) (zc_schedule_t *schedule, void *arg);
//  The earliest time a run that may start is due (wall ms), or 0 when no
//  schedule has a run to start that is not waiting.
uint64_t zc_schedules_next_due (zc_schedules_t *self, zc_schedule_busy_fn *busy, void *arg);
//  A schedule whose next run is due at 'wall' and may start, or NULL.
zc_schedule_t *zc_schedules_due (zc_schedules_t *self, uint64_t wall, zc_schedule_busy_fn *busy,
                                 void *arg);
//  Its next run was stored as a task (in the current batch): the next
//  one is next. Once all are, the payload goes.
void zc_schedules_advance (zc_schedules_t *self, zc_schedule_t *schedule);
//  No run of it starts any more.
void zc_schedules_stop (zc_schedules_t *self, zc_schedule_t *schedule);
//  Schedules with runs still to start.
size_t zc_schedules_pending (zc_schedules_t *self);
//  Forgets the schedules whose runs all started and whose last run is
//  past its expire plus 'skew' seconds at 'wall' (ms), as the runner
//  forgets its tasks.
void zc_schedules_prune (zc_schedules_t *self, uint64_t wall, double skew);

int zc_schedules_test (bool verbose);
#endif
