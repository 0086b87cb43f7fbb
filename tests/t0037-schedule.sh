#!/bin/sh
test_description='schedule: a job runs every INTERVAL until TOTAL, each run a job and a result of its own, through hubs, exactly once across restarts of its target; cancel stops the runs to come'
. "$(dirname "$0")/test-lib.sh"

# The command each run executes: it appends its own job ID to NODE's
# marks (its workdir), then prints the time in nanoseconds.
run_command='echo "$ZCNC_JOB_ID" >>marks; date +%s%N'

# schedule_message TO INTERVAL TOTAL [MORE]: a scheduled exec message.
schedule_message () {
	printf '{"to": "%s", "args": [%s], "schedule": [%s, %s]%s}\n' "$1" \
		"$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$run_command")" "$2" "$3" "$4"
}

# ids_of FILE: the job IDs of `zcnc send` output (the lines "ID NODE").
ids_of () {
	sed -n 's/^\([0-9A-Z]\{26\}\.[^ ]*\) .*/\1/p' "$1"
}

# all_final AGENT IDFILE: every job in IDFILE is final at AGENT; their
# jobs objects are in AGENT.jobs, one a line.
all_final () {
	: >"$1.jobs" &&
	while read -r id; do
		job_json "$1" "$id" >>"$1.jobs" || return 1
	done <"$2" &&
	! grep -q '"state":"\(queued\|sent\|running\|scheduled\)"' "$1.jobs"
}

# check_runs IDFILE JOBFILE MARKS RUNS INTERVAL_MS: the IDs are RUNS
# runs of one schedule (the same random part, times INTERVAL_MS apart);
# each ended done or, at most one per restart, interrupted; MARKS names
# every run that ended done once, no run twice, and no other job.
check_runs () {
	python3 - "$@" <<-'EOF'
	import json, sys
	ids = open(sys.argv[1]).read().split()
	jobs = {j["id"]: j for j in map(json.loads, open(sys.argv[2]))}
	marks = open(sys.argv[3]).read().split()
	runs, interval = int(sys.argv[4]), int(sys.argv[5])
	A = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	def number(ulid):
	    n = 0
	    for c in ulid:
	        n = n * 32 + A.index(c)
	    return n
	values = [number(i[:26]) for i in ids]
	assert len(ids) == runs, ("runs", len(ids))
	assert len(set(v & ((1 << 80) - 1) for v in values)) == 1, "random parts differ"
	times = [v >> 80 for v in values]
	assert all(t - times[0] == k * interval for k, t in enumerate(times)), ("times", times)
	assert len(marks) == len(set(marks)), ("a run ran twice", marks)
	assert set(marks) <= set(ids), ("marks of other jobs", marks)
	states = [jobs[i]["state"] for i in ids]
	assert all(s in ("done", "interrupted") for s in states), states
	assert states.count("interrupted") <= 2, states
	for i in ids:
	    if jobs[i]["state"] == "done":
	        assert i in marks, ("done but no mark", i)
	EOF
}

test_expect_success 'setup: hub1 with n1 and n2; hub2 chained under hub1 with n4; n3 with a policy' '
	make_keys --hub hub1 hub2 &&
	make_keys n1 n2 n3 n4 &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent n2 &&
	printf "allow n1 ping\n" >"$SCRATCH/n3.policy" &&
	start_agent n3 hub1 "agent/policy = $SCRATCH/n3.policy" &&
	start_hub hub2 "hub/uplink = hub1@$(hub_endpoint hub1)" &&
	start_agent n4 hub2 &&
	wait_for nodes_online n1 n1 n2 n3 n4
'

test_expect_success 'a schedule [1, 5] gives 5 runs with IDs of their own, at 0, 1, ... 4 s, each with its own output' '
	schedule_message n2 1 5 >msg.json &&
	zcnc_as n1 send -w -t 30 msg.json >send.out &&
	ids_of send.out >ids &&
	test_line_count = 5 ids &&
	grep "^{" send.out >results &&
	test_json results "len(L) == 5 and all(j[\"state\"] == \"done\" and j[\"exit\"] == 0 for j in L)
		and sorted(j[\"id\"] for j in L) == sorted(open(\"ids\").read().split())" &&
	all_final n1 ids &&
	check_runs ids n1.jobs "$SCRATCH/n2/marks" 5 1000 &&
	test_line_count = 5 "$SCRATCH/n2/marks" &&
	test_json results "len(set(j[\"stdout\"] for j in L)) == 5" &&
	python3 -c "
import json
times = sorted(int(json.loads(l)[\"stdout\"]) for l in open(\"results\"))
offsets = [(t - times[0]) / 1e9 for t in times]
assert all(k - 0.5 <= o <= k + 2 for k, o in enumerate(offsets)) and offsets[-1] >= 3.5, offsets
"
'

test_expect_success 'the answer lists every run; a run not due yet is scheduled; zcnc jobs shows each' '
	printf "%s\n" "$(schedule_message n2 3 9)" | sock_talk "$SCRATCH/n1/zcnc.sock" 1 >answer &&
	test_json answer "len(J[\"ids\"]) == 3 and all(i[\"node\"] == \"n2\" for i in J[\"ids\"])" &&
	python3 -c "import json; [print(i[\"id\"]) for i in json.load(open(\"answer\"))[\"ids\"]]" >ids &&
	job_json n1 "$(sed -n 3p ids)" >last &&
	job_json n1 "$(sed -n 1p ids)" >>last &&
	test_json last "L[0][\"state\"] == \"scheduled\" and round(L[0][\"created\"] - L[1][\"created\"], 3) == 6" &&
	wait_for "all_final n1 ids" &&
	test_json n1.jobs "[j[\"state\"] for j in L] == [\"done\"] * 3"
'

test_expect_success 'zcnc trigger --schedule prints the output of every run (raw mode)' '
	zcnc_as n1 trigger -t 30 --schedule 1,3 "n2:echo run" >out &&
	printf "run\nrun\nrun\n" >expect &&
	test_cmp expect out &&
	test_expect_code 2 zcnc_as n1 trigger --schedule 5 n2:true 2>err &&
	grep -qF "zcnc: --schedule wants INTERVAL,TOTAL in whole seconds (a run every INTERVAL while less than TOTAL passed), e.g. 60,3600; not '\''5'\''" err &&
	test_expect_code 2 zcnc_as n1 trigger --schedule 0,5 n2:true 2>err &&
	grep -qF "schedule: INTERVAL must be at least 1 second" err &&
	test_expect_code 2 zcnc_as n1 trigger --stream --schedule 1,5 n2:true 2>err &&
	grep -qF "schedule: only exec, call and http_get jobs can be scheduled, not exec_stream" err
'

test_expect_success 'a schedule through two chained hubs' '
	rm -f "$SCRATCH/n4/marks" &&
	schedule_message n4 1 3 >msg.json &&
	zcnc_as n1 send -w -t 30 msg.json >send.out &&
	ids_of send.out >ids &&
	all_final n1 ids &&
	check_runs ids n1.jobs "$SCRATCH/n4/marks" 3 1000 &&
	test_line_count = 3 "$SCRATCH/n4/marks"
'

test_expect_success 'runs never overlap: a run due while the one before it runs starts when it ends' '
	printf "%s\n" "{\"to\": \"n2\", \"args\": [\"date +%s%N; sleep 1.6; date +%s%N\"], \"schedule\": [1, 3]}" >msg.json &&
	zcnc_as n1 send -w -t 30 msg.json >send.out &&
	grep "^{" send.out >results &&
	test_json results "len(L) == 3 and all(j[\"state\"] == \"done\" for j in L)" &&
	python3 -c "
import json
spans = sorted([int(t) for t in json.loads(l)[\"stdout\"].split()] for l in open(\"results\"))
assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:])), spans
"
'

# restart_test SIGNAL: a schedule [1, 8] whose target stops (SIGNAL)
# after two runs and comes back after 3 s: the runs due meanwhile run
# late, once; every run has one result.
restart_test () {
	rm -f "$SCRATCH/n2/marks" &&
	schedule_message n2 1 8 >msg.json &&
	zcnc_as n1 send msg.json >send.out &&
	ids_of send.out >ids &&
	test_line_count = 8 ids &&
	wait_for "test \$(count_lines \".*\" \"$SCRATCH/n2/marks\") -ge 2" || return 1
	zc_stop n2 "$1"
	test "$(cat "$SCRATCH/n2.status")" = "$2" &&
	sleep 3 &&
	start_agent n2 &&
	WAIT_TRIES=300 wait_for "all_final n1 ids" &&
	check_runs ids n1.jobs "$SCRATCH/n2/marks" 8 1000 &&
	test "$(grep -c "\"done\"" n1.jobs)" -ge 7
}

test_expect_success 'across a restart of the target (SIGTERM) no run is lost or doubled' '
	restart_test TERM 0
'

test_expect_success 'across a kill -9 of the target no run is lost or doubled' '
	restart_test KILL 137
'

test_expect_success 'zcnc cancel of a run stops the runs to come' '
	rm -f "$SCRATCH/n2/marks" &&
	schedule_message n2 1 30 >msg.json &&
	zcnc_as n1 send msg.json >send.out &&
	ids_of send.out >ids &&
	wait_for "test \$(count_lines \".*\" \"$SCRATCH/n2/marks\") -ge 2" &&
	zcnc_as n1 cancel "$(sed -n 20p ids)" >cancel.out &&
	grep -q "later run(s) of its schedule cancelled" cancel.out &&
	wait_for "all_final n1 ids" &&
	test_json n1.jobs "L[0][\"state\"] == \"done\" and L[-1][\"state\"] == \"cancelled\"
		and L[19][\"error\"] == \"cancelled by n1 before it came\"
		and L[-1][\"error\"] == \"cancelled by n1 with run 19 of its schedule\"
		and sum(j[\"state\"] == \"done\" for j in L) < 10" &&
	test "$(count_lines ".*" "$SCRATCH/n2/marks")" -lt 10
'

test_expect_success 'a schedule the target denies: every run is denied at once, none waits' '
	schedule_message n3 5 25 >msg.json &&
	test_expect_code 126 zcnc_as n1 send -w -t 10 msg.json >send.out &&
	grep "^{" send.out >results &&
	test_json results "len(L) == 5 and all(j[\"state\"] == \"denied\" for j in L)
		and sum(j[\"error\"] == \"not run: run 0 of its schedule ended denied: no rule in $SCRATCH/n3.policy matched\"
		        for j in L) == 4"
'

test_expect_success 'a schedule whose run 0 expires undelivered: its later runs expire with it' '
	schedule_message ghost 1 4 ", \"expire\": 1" >msg.json &&
	test_expect_code 124 zcnc_as n1 send -w -t 10 msg.json >send.out 2>send.err &&
	test_line_count = 1 send.err &&
	grep -q "^zcnc: ghost: never seen; queued as $(sed -n "1s/ .*//p" send.out)\$" send.err &&
	grep "^{" send.out >results &&
	test_json results "len(L) == 4 and all(j[\"state\"] == \"expired\" for j in L)
		and L[0][\"error\"] == \"not delivered before it expired\"
		and L[3][\"error\"].startswith(\"not run: run 0 of its schedule (\")
		and L[3][\"error\"].endswith(\".ghost) ended expired: not delivered before it expired\")"
'

test_expect_success 'bad schedules are refused with their reason (exit 2)' '
	for bad in "[0, 5]|schedule: INTERVAL must be at least 1 second" \
		"[5, 1]|schedule: TOTAL must be at least INTERVAL (the first run is at 0, the next at INTERVAL)" \
		"[1, 10001]|schedule: [1, 10001] makes 10001 runs, more than 10000 (raise INTERVAL or lower TOTAL)" \
		"[1, 2592001]|schedule: TOTAL must be at most 2592000 seconds (30 days)" \
		"\"often\"|\"schedule\" must be [INTERVAL, TOTAL] in whole seconds: a run every INTERVAL while less than TOTAL passed, e.g. [60, 3600]"
	do
		printf "{\"to\": \"n2\", \"args\": [\"true\"], \"schedule\": %s}\n" "${bad%%|*}" >bad.json &&
		test_expect_code 2 zcnc_as n1 send bad.json 2>err &&
		grep -qF "${bad#*|}" err || return 1
	done &&
	printf "{\"to\": \"n2\", \"method\": \"ping\", \"schedule\": [1, 5]}\n" >bad.json &&
	test_expect_code 2 zcnc_as n1 send bad.json 2>err &&
	grep -qF "schedule: only exec, call and http_get jobs can be scheduled, not ping" err &&
	printf "{\"to\": \"n2\", \"args\": [\"true\"], \"relay_via\": \"n4\", \"schedule\": [1, 5]}\n" >bad.json &&
	test_expect_code 2 zcnc_as n1 send bad.json 2>err &&
	grep -qF "schedule: a scheduled job cannot go through a relay (relay_via)" err
'

test_done
