#!/bin/sh
test_description='soak: many jobs while the target agent is killed -9 three times and the hub once'
. "$(dirname "$0")/test-lib.sh"

# Parameters (environment):
#   ZCNC_SOAK_JOBS  how many jobs, 10 or more (default 200; `make
#                   check-slow` sets 5000)
#   ZCNC_SOAK_WAIT  seconds to wait, after the last submission, for every
#                   job to end (default 90)
#
# n1 sends JOBS jobs to n2 in 50 batches (at most), each batch one socket
# connection carrying one JSON message per line. Job I runs, in n2's data
# directory, `echo $$ >>pids; sleep S; echo I >>markers; sleep 0.2`,
# with S from 0 to 1.2 s (I mod 5 times 0.3 s), so that jobs are on
# their way, waiting or running whenever a kill comes, and some are
# still sleeping when the restarted agent kills what its previous life
# left running. After 20%, 40% and 60% of the batches the target is
# killed with SIGKILL, one more batch is submitted while it is down, and
# it is restarted; after 80% the hub is, on the same port. Then every job
# must end done (its marker exactly once) or interrupted (its marker at
# most once): none lost, none run twice; and no job's shell may still
# run.
jobs=${ZCNC_SOAK_JOBS:-200}
wait_secs=${ZCNC_SOAK_WAIT:-90}
batches=50
test "$jobs" -ge 10 2>/dev/null || bail_out "ZCNC_SOAK_JOBS must be a number of jobs, 10 or more (not '$jobs')"

# Short ACK timeouts, so that jobs sent into a dying connection are sent
# again within seconds (the defaults would take 10 s and more).
soak_fields='"ack_timeout": 2, "retry_wait": 0.5, "retries": 100'

hub_up () {
	start_hub hub1 "hub/bind = $endpoint" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3"
}

# soak_batch FIRST LAST: submits the jobs FIRST..LAST through n1's socket
# on one connection; appends their IDs, one "I ID" per line, to ids.
soak_batch () {
	local count=$(($2 - $1 + 1))
	seq "$1" "$2" | awk -v fields="$soak_fields" '{
		printf "{\"to\": \"n2\", \"args\": [\"echo $$ >>pids; sleep %.1f; echo %d >>markers; sleep 0.2\"], %s}\n",
			($1 % 5) * 0.3, $1, fields
	}' >batch &&
	sock_talk n1/zcnc.sock $count 30 <batch >answers &&
	python3 -c "$soak_py_ids" answers "$1" >>ids
}

soak_py_ids='
import json, sys
first = int(sys.argv[2])
for index, line in enumerate(open(sys.argv[1])):
    answer = json.loads(line)
    if not isinstance(answer.get("ids"), list) or len(answer["ids"]) != 1:
        sys.exit("job %d refused: %s" % (first + index, line.strip()))
    print(first + index, answer["ids"][0]["id"])
'

# soak_check [--final]: reads ids, n1's jobs (jobs.json), n2/markers and
# n2/pids. Without --final, true when every job reached a final state.
# With --final, prints the counts and fails on a lost, duplicated or
# unknown job, or a job's shell still running.
soak_check () {
	zcnc_as n1 jobs --json >jobs.json &&
	python3 -c "$soak_py_check" ids jobs.json n2/markers n2/pids "$jobs" "$@"
}

soak_py_check='
import collections, json, os, sys
ids_path, jobs_path, markers_path, pids_path, total = sys.argv[1:6]
final = "--final" in sys.argv[6:]
ids = dict(line.split() for line in open(ids_path))
states = {}
for line in open(jobs_path):
    job = json.loads(line)
    states[job["id"]] = job["state"]
ours = {token: states.get(job_id, "missing") for token, job_id in ids.items()}
if not final:
    sys.exit(0 if all(s not in ("queued", "sent", "running", "missing") for s in ours.values()) else 1)
markers = collections.Counter()
if os.path.exists(markers_path):
    markers.update(line.strip() for line in open(markers_path))
by_state = collections.Counter(ours.values())
print("# jobs %s: %s" % (total, ", ".join("%s %d" % kv for kv in sorted(by_state.items()))))
print("# marker lines %d, distinct %d; interrupted jobs without their marker %d"
      % (sum(markers.values()), len(markers),
         sum(1 for t, s in ours.items() if s == "interrupted" and not markers.get(t))))
bad = []
# A job shell still running (a zombie is gone: nobody reaps orphans here).
pids = open(pids_path).read().split() if os.path.exists(pids_path) else []
for pid in pids:
    try:
        stat = open("/proc/%s/stat" % pid).read()
        cmdline = open("/proc/%s/cmdline" % pid, "rb").read()
    except OSError:
        continue
    if stat.rsplit(")", 1)[1].split()[0] != "Z" and b">>markers" in cmdline:
        bad.append("job shell %s still runs: %r" % (pid, cmdline))
if len(ids) != int(total):
    bad.append("%d job IDs for %s jobs" % (len(ids), total))
for token, state in sorted(ours.items(), key=lambda kv: int(kv[0])):
    seen = markers.get(token, 0)
    if state == "done" and seen != 1:
        bad.append("job %s (%s) done, marker %d times" % (token, ids[token], seen))
    elif state == "interrupted" and seen > 1:
        bad.append("job %s (%s) interrupted, marker %d times" % (token, ids[token], seen))
    elif state not in ("done", "interrupted"):
        bad.append("job %s (%s) %s, marker %d times" % (token, ids[token], state, seen))
for token in markers:
    if token not in ids:
        bad.append("marker %r of no job" % token)
for line in bad[:20]:
    print(line)
if len(bad) > 20:
    print("... and %d more" % (len(bad) - 20))
sys.exit(1 if bad else 0)
'

test_expect_success 'setup: a hub, an origin and a target' '
	make_keys --hub hub1 &&
	make_keys n1 n2 &&
	for try in 1 2 3 4 5
	do
		endpoint=tcp://127.0.0.1:$(pick_port) &&
		hub_up &&
		break
	done &&
	test "$(hub_endpoint hub1)" = "$endpoint" &&
	start_agent n1 &&
	start_agent n2 &&
	wait_for nodes_online n1 n1 n2 &&
	: >ids
'

test_expect_success "$jobs jobs submitted while n2 is killed -9 three times and the hub once" '
	size=$(((jobs + batches - 1) / batches)) &&
	count=$(((jobs + size - 1) / size)) &&
	batch=1 && first=1 &&
	while test $first -le $jobs
	do
		last=$((first + size - 1)) &&
		if test $last -gt $jobs; then last=$jobs; fi &&
		case $((batch * 10 / count)):$(((batch - 1) * 10 / count)) in
		2:1|4:3|6:5)
			kill_agent n2 &&
			say "batch $batch: n2 killed at $(count_lines "[0-9]*" n2/markers) markers" &&
			soak_batch $first $last &&
			start_agent n2 ;;
		8:7)
			kill_hub hub1 &&
			say "batch $batch: hub1 killed at $(count_lines "[0-9]*" n2/markers) markers" &&
			soak_batch $first $last &&
			hub_up ;;
		*)
			soak_batch $first $last ;;
		esac || return 1
		first=$((last + 1)) &&
		batch=$((batch + 1))
	done &&
	test_line_count = $jobs ids
'

test_expect_success 'every job ends done or interrupted: none lost, none run twice' '
	deadline=$(($(date +%s) + wait_secs))
	until soak_check || test $(date +%s) -ge $deadline
	do
		sleep 0.5
	done
	soak_check --final >counts
	status=$?
	cat counts
	test $status = 0
'
test -e counts && grep "^#" counts

test_done
