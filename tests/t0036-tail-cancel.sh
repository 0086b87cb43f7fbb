#!/bin/sh
test_description='tail follows a file across rotation and truncation; cancel stops a running job or drops a queued one; jobs lists what runs'
. "$(dirname "$0")/test-lib.sh"

# no_process PATTERN: no process's command line matches PATTERN.
no_process () {
	! pgrep -f "$1" >/dev/null
}

test_expect_success 'setup: hub1 with n1 and n2; hub2 chained under hub1 with n4' '
	make_keys --hub hub1 hub2 &&
	make_keys n1 n2 n4 &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent n2 &&
	start_hub hub2 "hub/uplink = hub1@$(hub_endpoint hub1)" &&
	start_agent n4 hub2 &&
	wait_for nodes_online n1 n1 n2 n4
'

test_expect_success 'tail: new lines arrive, across a rename rotation and a truncation in place' '
	followed="$SCRATCH/app.log" &&
	echo "before the tail" >"$followed" || return 1
	zcnc_as n1 tail -t 12 "n2:$followed" >tail.out 2>tail.err &
	tail_pid=$! &&
	sleep 1 &&
	echo one >>"$followed" &&
	wait_for "grep -q one tail.out" &&
	echo two >>"$followed" &&
	mv "$followed" "$followed.1" &&
	echo three >"$followed" &&
	wait_for "grep -q three tail.out" &&
	: >"$followed" &&
	sleep 1 &&
	echo four >>"$followed" &&
	wait_for "grep -q four tail.out" &&
	wait $tail_pid &&
	printf "one\ntwo\nthree\nfour\n" >expect &&
	test_cmp expect tail.out &&
	grep -q "truncated" tail.err
'

test_expect_success 'tail through two chained hubs, of a path holding quotes and spaces' '
	followed="$SCRATCH/it'\''s a log" &&
	: >"$followed" || return 1
	zcnc_as n1 tail -t 6 "n4:$followed" >tail.out 2>tail.err &
	tail_pid=$! &&
	sleep 1 &&
	echo "far away" >>"$followed" &&
	wait $tail_pid &&
	echo "far away" >expect &&
	test_cmp expect tail.out
'

test_expect_success 'tail without -t runs until Ctrl-C, which cancels the remote job (exit 130)' '
	followed="$SCRATCH/forever.log" &&
	: >"$followed" || return 1
	zcnc_as n1 tail "n2:$followed" >tail.out 2>tail.err &
	tail_pid=$! &&
	wait_for "pgrep -f \"tail -F -n 0 -- $followed\" >/dev/null" &&
	echo alive >>"$followed" &&
	wait_for "grep -q alive tail.out" &&
	client=$(pgrep -P $tail_pid -f "zcnc tail") &&
	kill -INT $client &&
	test_expect_code 130 wait $tail_pid &&
	wait_for no_process "tail -F -n 0 -- $followed" &&
	zcnc_as n1 jobs --json >jobs &&
	grep "\"method\":\"tail\"" jobs | grep -q "\"state\":\"cancelled\""
'

test_expect_success 'usage errors of tail' '
	test_expect_code 2 zcnc_as n1 tail n2 2>err &&
	grep -q "is not NODE:PATH" err &&
	test_expect_code 2 zcnc_as n1 tail "n*:/tmp/x" 2>err &&
	grep -q "is not a node name" err &&
	test_expect_code 2 zcnc_as n1 tail -t 0 n2:/tmp/x 2>err &&
	grep -q "\-t wants a number of seconds" err
'

test_expect_success 'cancel: a running sleep 1000 is killed with its process group' '
	id=$(zcnc_as n1 trigger --async "n2:sleep 1000 | cat") &&
	wait_for "job_state_is n1 $id running" &&
	wait_for "pgrep -x -f \"sleep 1000\" >/dev/null" &&
	zcnc_as n1 cancel "$id" >out &&
	grep -q "cancelled while it ran" out &&
	wait_for "job_state_is n1 $id cancelled" &&
	wait_for no_process "^sleep 1000$"
'

test_expect_success 'cancel through two chained hubs' '
	id=$(zcnc_as n1 trigger --async "n4:sleep 999") &&
	wait_for "job_state_is n1 $id running" &&
	zcnc_as n1 cancel "$id" >out &&
	grep -q "cancelled while it ran" out &&
	wait_for "job_state_is n1 $id cancelled" &&
	wait_for no_process "^sleep 999$"
'

test_expect_success 'cancel: a job still queued here is dropped here and never sent' '
	id=$(zcnc_as n1 trigger --async "n9:touch $SCRATCH/n9-ran" 2>/dev/null) &&
	zcnc_as n1 cancel "$id" >out &&
	grep -q "cancelled here" out &&
	job_state_is n1 "$id" cancelled
'

test_expect_success 'cancel: errors name the job' '
	test_expect_code 2 zcnc_as n1 cancel 01JDQ8ABCDEFGHJKMNPQRSTVWX.n2 2>err &&
	grep -q "no job 01JDQ8ABCDEFGHJKMNPQRSTVWX.n2 was sent from this agent" err &&
	id=$(zcnc_as n1 trigger --async n2:true) &&
	wait_for "job_state_is n1 $id done" &&
	test_expect_code 2 zcnc_as n1 cancel "$id" 2>err &&
	grep -q "is already done" err &&
	test_expect_code 2 zcnc_as n1 cancel 2>err &&
	grep -q "cancel needs a job ID" err
'

test_expect_success 'jobs: the remote method lists what runs on a node' '
	id=$(zcnc_as n1 trigger --async "n2:sleep 998") &&
	wait_for "job_state_is n1 $id running" &&
	echo "{\"to\": \"n2\", \"method\": \"jobs\"}" >jobs.json &&
	zcnc_as n1 send -w -t 20 jobs.json >answers &&
	grep -q "$id" answers &&
	grep -q "origin" answers &&
	zcnc_as n1 cancel "$id" >/dev/null &&
	wait_for no_process "^sleep 998$"
'

test_expect_success 'jobs through two chained hubs: the far node answers with its running job' '
	id=$(zcnc_as n1 trigger --async "n4:sleep 997") &&
	wait_for "job_state_is n1 $id running" &&
	echo "{\"to\": \"n4\", \"method\": \"jobs\"}" >jobs.json &&
	zcnc_as n1 send -w -t 20 jobs.json >answers &&
	grep "^{" answers >results &&
	test_json results "len(L) == 1 and J[\"node\"] == \"n4\" and J[\"state\"] == \"done\"
	                   and any({\"id\": \"$id\", \"origin\": \"n1\", \"method\": \"exec\"}.items()
	                           <= json.loads(l).items() for l in J[\"stdout\"].splitlines())" &&
	zcnc_as n1 cancel "$id" >/dev/null &&
	wait_for no_process "^sleep 997$"
'

test_done
