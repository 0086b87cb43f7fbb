#!/bin/sh
test_description='durable delivery: offline targets, kill -9 of origins and targets, retries, expiry, queue caps, the audit log'
. "$(dirname "$0")/test-lib.sh"

# n1 is the origin, n2 and n3 targets, n4 an origin with a queue cap of
# 3 jobs. The hub binds a fixed port (see pick_port), to be restarted on
# it. Its peer_timeout is 8 s, so that it keeps routing to an agent
# stopped with SIGSTOP for that long (a killed or stopped agent's
# connection closes at once, and the hub answers NOROUTE for it).
#
# Parameters (environment): DURABLE_TRIES, the longest wait for a job's
# state, in tenths of seconds (default 200: 20 s); DURABLE_PAUSE, how
# long an agent is paused past its peer_timeout of 3 s (default 4.5).
tries=${DURABLE_TRIES:-200}

hub_up () {
	start_hub hub1 "hub/bind = $endpoint" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 8"
}

test_expect_success 'setup: a hub and four agents' '
	make_keys --hub hub1 &&
	make_keys n1 n2 n3 n4 &&
	for try in 1 2 3 4 5
	do
		endpoint=tcp://127.0.0.1:$(pick_port) &&
		hub_up &&
		break
	done &&
	test "$(hub_endpoint hub1)" = "$endpoint" &&
	start_agent n1 &&
	start_agent n2 &&
	start_agent n3 hub1 "zcnc/peer_timeout = 30" &&
	start_agent n4 hub1 "agent/queue_max_jobs = 3" &&
	wait_for nodes_online n1 n1 n2 n3 n4
'

test_expect_success 'a job to an offline node waits for it' '
	stop_agent n2 &&
	zcnc_as n1 trigger --async "n2:echo once >>offline.marker" >id &&
	test_line_count = 1 id &&
	offline_id=$(cat id) &&
	sleep 1 &&
	job_state_is n1 $offline_id queued &&
	test ! -e n2/offline.marker
'

test_expect_success 'it runs exactly once when the node comes up; zcnc jobs shows it done' '
	start_agent n2 &&
	WAIT_TRIES=$tries wait_for job_state_is n1 $offline_id done &&
	zcnc_as n1 jobs >list &&
	grep "^$offline_id  *n2  *done  *0$" list &&
	sleep 1 &&
	echo once >expect &&
	test_cmp expect n2/offline.marker
'

test_expect_success 'the origin logs accepted, sent and result for the job' '
	for event in accepted sent result
	do
		grep " $event $offline_id origin=n1 target=n2 method=exec\$" n1/audit.log || return 1
	done &&
	grep "^[0-9-]*T[0-9:.]*Z accepted $offline_id " n1/audit.log
'

test_expect_success 'the target logs received, started, finished and delivered for it' '
	for event in received started finished delivered
	do
		grep " $event $offline_id origin=n1 target=n2 method=exec\\( .*\\)\\?\$" n2/audit.log || return 1
	done &&
	! grep " $offline_id " n3/audit.log
'

# Ten jobs, the last five to a target that is down: the origin is killed
# with SIGKILL right after the agent accepted them (some may be running,
# some done, some queued), and restarted once the target is back.
test_expect_success 'jobs accepted by an origin then killed -9 complete after its restart' '
	stop_agent n3 &&
	: >ids &&
	for i in 1 2 3 4 5
	do
		submit n1 "{\"to\": \"n2\", \"args\": [\"sleep 0.2; echo $i >>origin.marker\"]}" >>ids &&
		submit n1 "{\"to\": \"n3\", \"args\": [\"echo $i >>origin.marker\"]}" >>ids || return 1
	done &&
	kill_agent n1 &&
	test_line_count = 10 ids &&
	start_agent n3 hub1 "zcnc/peer_timeout = 30" &&
	start_agent n1 &&
	for id in $(cat ids)
	do
		WAIT_TRIES=$tries wait_for job_state_is n1 $id done || return 1
	done &&
	seq 1 5 >expect &&
	sort -n n2/origin.marker >sorted &&
	test_cmp expect sorted &&
	sort -n n3/origin.marker >sorted &&
	test_cmp expect sorted
'

# n3 is stopped with SIGSTOP: the hub still routes to it (for its
# peer_timeout, 8 s), nobody ACKs. 3 tries take about 2 s. n3's own
# peer_timeout is 30 s, so that it does not take the hub for silent when
# it resumes (that case is a test of its own below).
test_expect_success 'retries exhausted: failed, "no ACK from n3 after 3 tries"' '
	wait_for nodes_online n1 n3 &&
	kill -STOP $(daemon_pid n3) &&
	submit n1 "{\"to\": \"n3\", \"args\": [\"echo late >>late.marker\"], \"ack_timeout\": 0.3, \"retry_wait\": 0.1, \"retries\": 2}" >id &&
	late_id=$(cat id) &&
	WAIT_TRIES=100 wait_for job_state_is n1 $late_id failed &&
	job_json n1 $late_id >job &&
	test_json job "J[\"state\"] == \"failed\" and J[\"error\"] == \"no ACK from n3 after 3 tries\"" &&
	grep " failed $late_id origin=n1 target=n3 method=exec no ACK from n3 after 3 tries\$" n1/audit.log &&
	test ! -e n3/late.marker
'

# The test above leaves n3 stopped, whatever its outcome.
test_expect_success 'a late result, after SIGCONT, turns the failed job done; it ran once' '
	kill -CONT $(daemon_pid n3) &&
	WAIT_TRIES=$tries wait_for job_state_is n1 $late_id done &&
	sleep 1 &&
	echo late >expect &&
	test_cmp expect n3/late.marker
'

# An agent that took its hub for silent (paused longer than its
# peer_timeout: SIGSTOP, a suspended VM, a stalled link) while the hub
# kept it online must get connected again: a HELLO answered with a mere
# PONG once left it sending no ACK, REPLY or REQ until the connection
# broke.
test_expect_success 'an agent paused past its peer_timeout works again once resumed' '
	kill -STOP $(daemon_pid n2) &&
	sleep ${DURABLE_PAUSE:-4.5} &&
	kill -CONT $(daemon_pid n2) &&
	zcnc_as n1 trigger -t 10 "n2:echo back" >out &&
	echo back >expect &&
	test_cmp expect out
'

# n2, paused or not by the test above, is resumed and stopped here.
test_expect_success 'a job not delivered before it expires is expired, and never runs' '
	kill -CONT $(daemon_pid n2) &&
	stop_agent n2 &&
	submit n1 "{\"to\": \"n2\", \"args\": [\"echo x >>expired.marker\"], \"expire\": 2}" >id &&
	expired_id=$(cat id) &&
	WAIT_TRIES=60 wait_for job_state_is n1 $expired_id expired &&
	job_json n1 $expired_id >job &&
	test_json job "J[\"state\"] == \"expired\" and \"expired\" in J[\"error\"]" &&
	grep " expired $expired_id origin=n1 target=n2 " n1/audit.log &&
	start_agent n2 &&
	zcnc_as n1 trigger -t 20 "n2:echo after" >out &&
	echo after >expect &&
	test_cmp expect out &&
	test ! -e n2/expired.marker
'

test_expect_success 'a full queue answers "full" (trigger exits 125)' '
	stop_agent n2 &&
	: >ids &&
	for i in 1 2 3
	do
		zcnc_as n4 trigger --async "n2:echo $i >>cap.marker" >>ids || return 1
	done &&
	test_line_count = 3 ids &&
	test_expect_code 125 zcnc_as n4 trigger --async "n2:echo 4 >>cap.marker" >out 2>err &&
	test ! -s out &&
	grep "the queue is full" err &&
	printf "%s\n" "{\"to\": \"n2\", \"args\": [\"echo 4 >>cap.marker\"]}" |
		sock_talk n4/zcnc.sock 1 >answer &&
	test_json answer "J[\"code\"] == \"full\" and J[\"error\"].startswith(\"the queue is full\")" &&
	zcnc_as n4 status --json >status &&
	test_json status "J[\"queued\"] == 3"
'

test_expect_success 'the full queue accepts again once it drained' '
	start_agent n2 &&
	for id in $(cat ids)
	do
		WAIT_TRIES=$tries wait_for job_state_is n4 $id done || return 1
	done &&
	zcnc_as n4 trigger -t 20 "n2:echo 5 >>cap.marker" &&
	printf "1\n2\n3\n5\n" >expect &&
	sort -n n2/cap.marker >sorted &&
	test_cmp expect sorted
'

test_expect_success 'a job whose agent is killed -9 while it runs keeps running meanwhile' '
	zcnc_as n1 trigger --async "n2:echo run >>kill.marker; sleep 100 & echo \$! >bg.pid; sleep 100 & echo \$! >fg.pid; wait" >id &&
	kill_id=$(cat id) &&
	WAIT_TRIES=$tries wait_for "test -s n2/bg.pid && test -s n2/fg.pid" &&
	bg=$(cat n2/bg.pid) && fg=$(cat n2/fg.pid) &&
	kill_agent n2 &&
	sleep 0.5 &&
	zc_alive $bg && zc_alive $fg
'

test_expect_success 'the restarted agent kills its leftovers; the job is interrupted, not re-run' '
	start_agent n2 &&
	WAIT_TRIES=50 wait_for "! zc_alive $bg && ! zc_alive $fg" &&
	WAIT_TRIES=$tries wait_for job_state_is n1 $kill_id interrupted &&
	sleep 1 &&
	echo run >expect &&
	test_cmp expect n2/kill.marker &&
	test "$(cat n2/bg.pid) $(cat n2/fg.pid)" = "$bg $fg" &&
	grep " finished $kill_id origin=n1 target=n2 method=exec state=interrupted\$" n2/audit.log
'

test_expect_success 'the node directory survives an agent restart while the hub is down' '
	kill_hub hub1 &&
	stop_agent n1 &&
	start_agent --offline n1 &&
	zcnc_as n1 nodes --json >nodes &&
	test_json nodes "set(j[\"name\"] for j in L) >= {\"n2\", \"n3\", \"n4\"}
		and all(not j[\"online\"] for j in L if j[\"name\"] != \"n1\")"
'

test_expect_success 'with the hub back, the mesh works again' '
	hub_up &&
	WAIT_TRIES=150 wait_for "agent_connected n1 && agent_connected n2" &&
	wait_for nodes_online n1 n2 &&
	zcnc_as n1 trigger -t 20 n2:pwd >out &&
	echo "$SCRATCH/n2" >expect &&
	test_cmp expect out
'

test_done
