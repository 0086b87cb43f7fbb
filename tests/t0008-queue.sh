#!/bin/sh
test_description='the queue (list, cancel, purge), zcnc send, the readfolder'
. "$(dirname "$0")/test-lib.sh"

# n1 is the origin and n2 the target, offline while jobs are queued for
# it. n3 reads messages from the drop folder SCRATCH/in, with a queue cap
# of 2 jobs. A job is seen not to run by sending a later job to the same
# target and waiting for it: the earlier ones would have run by then.
# QUEUE_AGE (default 2, at least 2): the age, in seconds, of the jobs
# that `purge --older-than` must take; the cut is half a second short of
# it (1.5 s by default), newer jobs being a moment old.
tries=${QUEUE_TRIES:-200}
age=${QUEUE_AGE:-2}

# queue_ids AGENT: prints "ID NODE STATE" for each job AGENT's queue
# holds, from the socket's {"op": "queue", "action": "list"}.
queue_ids () {
	echo '{"op": "queue", "action": "list"}' | sock_talk "$SCRATCH/$1/zcnc.sock" 1 >"$SCRATCH/.queue" &&
	python3 -c '
import json, sys
for job in json.loads(open(sys.argv[1]).readline())["jobs"]:
    print(job["id"], job["node"], job["state"])
' "$SCRATCH/.queue"
}

# queue_op AGENT JSON: one queue request on AGENT's socket; the answer in
# the file answer.
queue_op () {
	printf '%s\n' "$2" | sock_talk "$SCRATCH/$1/zcnc.sock" 1 >answer
}

# barrier: n2 runs a job from n1 now (so those queued before have run).
barrier () {
	zcnc_as n1 trigger -t 30 "n2:echo barrier" >barrier.out &&
	echo barrier >barrier.expect &&
	test_cmp barrier.expect barrier.out
}

test_expect_success 'setup: a hub and three agents; n2 goes offline' '
	make_keys --hub hub1 &&
	make_keys n1 n2 n3 &&
	start_hub hub1 "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_agent n1 &&
	start_agent n2 &&
	mkdir in &&
	start_agent n3 hub1 "agent/readfolder = $SCRATCH/in" "agent/queue_max_jobs = 2" &&
	wait_for nodes_online n1 n1 n2 n3 &&
	stop_agent n2 &&
	WAIT_TRIES=100 wait_for "! nodes_online n1 n2"
'

# ---------------------------------------------------------------------------
# The queue through the socket ({"op": "queue"})

test_expect_success 'socket: the queue lists the jobs waiting for an offline node' '
	for name in a b c
	do
		submit n1 "{\"to\": \"n2\", \"args\": [\"echo $name >>sock.marker\"]}" >id.$name || return 1
	done &&
	for name in a b c
	do
		echo "$(cat id.$name) n2 queued" || return 1
	done >expect &&
	wait_for "queue_ids n1 >list && test_cmp expect list"
'

test_expect_success 'socket: cancel takes a queued job out; it is cancelled' '
	queue_op n1 "{\"op\": \"queue\", \"action\": \"cancel\", \"id\": \"$(cat id.b)\"}" &&
	test_json answer "J == {\"cancelled\": \"$(cat id.b)\"}" &&
	job_json n1 $(cat id.b) >job &&
	test_json job "J[\"state\"] == \"cancelled\"" &&
	queue_ids n1 >list &&
	printf "%s n2 queued\n" $(cat id.a id.c) >expect &&
	test_cmp expect list &&
	grep " cancelled $(cat id.b) origin=n1 target=n2 " n1/audit.log
'

test_expect_success 'socket: cancelling it again, or an unknown job, is an error' '
	queue_op n1 "{\"op\": \"queue\", \"action\": \"cancel\", \"id\": \"$(cat id.b)\"}" &&
	test_json answer "J[\"code\"] == \"usage\" and J[\"error\"] == \"job $(cat id.b) is already cancelled\"" &&
	queue_op n1 "{\"op\": \"queue\", \"action\": \"cancel\", \"id\": \"nosuchjob\"}" &&
	test_json answer "J[\"code\"] == \"usage\" and J[\"error\"] == \"no job nosuchjob was sent from this agent\"" &&
	queue_op n1 "{\"op\": \"queue\", \"action\": \"drop\"}" &&
	test_json answer "J[\"code\"] == \"usage\" and J[\"field\"] == \"action\""
'

test_expect_success 'socket: purge older_than cancels only the older jobs' '
	sleep $age &&
	submit n1 "{\"to\": \"n2\", \"args\": [\"echo d >>sock.marker\"]}" >id.d &&
	queue_op n1 "{\"op\": \"queue\", \"action\": \"purge\", \"older_than\": $((age - 1)).5}" &&
	test_json answer "J == {\"purged\": 2}" &&
	for name in a c
	do
		job_state_is n1 $(cat id.$name) cancelled || return 1
	done &&
	queue_ids n1 >list &&
	echo "$(cat id.d) n2 queued" >expect &&
	test_cmp expect list
'

test_expect_success 'socket: when the node comes up only the job left runs' '
	start_agent n2 &&
	WAIT_TRIES=$tries wait_for job_state_is n1 $(cat id.d) done &&
	barrier &&
	echo d >expect &&
	test_cmp expect n2/sock.marker &&
	for name in a b c
	do
		job_state_is n1 $(cat id.$name) cancelled || return 1
	done
'

# ---------------------------------------------------------------------------
# zcnc queue (the CLI)

# A job is "sent" until the hub's NOROUTE comes back: hence the waits.
test_expect_success 'zcnc queue list shows the queued jobs' '
	stop_agent n2 &&
	WAIT_TRIES=100 wait_for "! nodes_online n1 n2" &&
	for name in e f g
	do
		zcnc_as n1 trigger --async "n2:echo $name >>cli.marker" >id.$name || return 1
	done &&
	wait_for "zcnc_as n1 queue list >list && test \$(grep -c \" n2  *queued \" list) = 3" &&
	head -n 1 list | grep "^ID  *NODE  *STATE" &&
	test_line_count = 4 list &&
	for name in e f g
	do
		grep "^$(cat id.$name)  *n2  *queued " list || return 1
	done &&
	! grep "$(cat id.d)" list
'

test_expect_success 'zcnc queue list --json: one jobs object per queued job' '
	zcnc_as n1 queue list --json >list.json &&
	test_json list.json "sorted(j[\"id\"] for j in L) == sorted(\"$(cat id.e id.f id.g | tr "\n" " ")\".split())
		and all(j[\"state\"] == \"queued\" and j[\"node\"] == \"n2\" for j in L)"
'

test_expect_success 'zcnc queue cancel ID cancels a queued job' '
	zcnc_as n1 queue cancel $(cat id.f) >out &&
	echo "cancelled $(cat id.f)" >expect &&
	test_cmp expect out &&
	job_state_is n1 $(cat id.f) cancelled &&
	zcnc_as n1 queue list >list &&
	! grep "$(cat id.f)" list &&
	grep "$(cat id.e)" list
'

test_expect_success 'zcnc queue cancel fails on a job that is not queued' '
	test_expect_code 2 zcnc_as n1 queue cancel $(cat id.f) 2>err &&
	grep "job $(cat id.f) is already cancelled" err &&
	test_expect_code 2 zcnc_as n1 queue cancel $(cat id.d) 2>err &&
	grep "job $(cat id.d) is already done" err &&
	test_expect_code 2 zcnc_as n1 queue 2>err &&
	grep -i usage err
'

test_expect_success 'zcnc queue purge --older-than SECS cancels only older jobs' '
	sleep $age &&
	zcnc_as n1 trigger --async "n2:echo h >>cli.marker" >id.h &&
	zcnc_as n1 queue purge --older-than $((age - 1)).5 >out &&
	echo "purged 2 job(s)" >expect &&
	test_cmp expect out &&
	job_state_is n1 $(cat id.e) cancelled &&
	job_state_is n1 $(cat id.g) cancelled &&
	job_state_is n1 $(cat id.h) queued &&
	zcnc_as n1 queue list >list &&
	grep "$(cat id.h)" list &&
	! grep "$(cat id.e)" list
'

test_expect_success 'zcnc queue purge without --older-than empties the queue' '
	zcnc_as n1 queue purge >out &&
	echo "purged 1 job(s)" >expect &&
	test_cmp expect out &&
	job_state_is n1 $(cat id.h) cancelled &&
	queue_ids n1 >list &&
	test_line_count = 0 list
'

test_expect_success 'jobs cancelled with zcnc queue never run' '
	start_agent n2 &&
	barrier &&
	for name in e f g h
	do
		job_state_is n1 $(cat id.$name) cancelled || return 1
	done &&
	test ! -e n2/cli.marker
'

# ---------------------------------------------------------------------------
# zcnc send

test_expect_success 'zcnc send FILE: one object, one "ID NODE" line per target' '
	cat >one.json <<-\EOF &&
	{"to": ["n1", "n2"], "args": ["echo one >>send.marker"]}
	EOF
	zcnc_as n1 send one.json >out &&
	test_line_count = 2 out &&
	grep "^[0-9A-Z]\{26\}\.n1 n1$" out &&
	grep "^[0-9A-Z]\{26\}\.n2 n2$" out &&
	for id in $(cut -d" " -f1 out)
	do
		WAIT_TRIES=$tries wait_for job_state_is n1 $id done || return 1
	done &&
	echo one >expect &&
	test_cmp expect n1/send.marker &&
	test_cmp expect n2/send.marker
'

test_expect_success 'zcnc send: an array of objects, over several lines' '
	cat >array.json <<-\EOF &&
	[
	  {"to": "n2", "args": ["echo array1 >>send.marker"]},
	  {"to": "n2", "args": ["echo array2 >>send.marker"], "expire": 60}
	]
	EOF
	zcnc_as n1 send array.json >out &&
	test_line_count = 2 out &&
	test $(grep -c "^[0-9A-Z]\{26\}\.n2 n2$" out) = 2 &&
	for id in $(cut -d" " -f1 out)
	do
		WAIT_TRIES=$tries wait_for job_state_is n1 $id done || return 1
	done &&
	grep -x array1 n2/send.marker &&
	grep -x array2 n2/send.marker
'

test_expect_success 'zcnc send -: JSON lines on stdin, IDs in input order' '
	for i in 1 2 3
	do
		echo "{\"to\": \"n2\", \"args\": [\"echo line$i | tee -a send.marker\"]}" || return 1
	done >lines.json &&
	zcnc_as n1 send - <lines.json >out &&
	test_line_count = 3 out &&
	i=0 &&
	for id in $(cut -d" " -f1 out)
	do
		i=$((i + 1)) &&
		WAIT_TRIES=$tries wait_for job_state_is n1 $id done &&
		job_json n1 $id >job &&
		test_json job "J[\"stdout\"] == \"line$i\\n\"" &&
		test $(count_lines line$i n2/send.marker) = 1 || return 1
	done
'

test_expect_success 'zcnc send -w waits for the results and prints them' '
	echo "{\"to\": \"n2\", \"args\": [\"echo waited\"]}" >w.json &&
	zcnc_as n1 send -w -t 20 w.json >out &&
	test_line_count = 2 out &&
	sed -n 1p out | grep "^[0-9A-Z]\{26\}\.n2 n2$" &&
	sed -n 2p out >job &&
	test_json job "J[\"state\"] == \"done\" and J[\"stdout\"] == \"waited\\n\"
		and J[\"id\"] == \"$(sed -n "1s/ .*//p" out)\""
'

test_expect_success 'zcnc send -w fails when a job fails, 124 when it is not answered in time' '
	echo "{\"to\": \"n2\", \"args\": [\"exit 3\"]}" >fail.json &&
	test_must_fail zcnc_as n1 send -w -t 20 fail.json >out &&
	sed -n 2p out >job &&
	test_json job "J[\"exit\"] == 3" &&
	echo "{\"to\": \"n9\", \"args\": [\"true\"]}" >never.json &&
	test_expect_code 124 zcnc_as n1 send -w -t 1 never.json >out 2>err &&
	grep "\.n9 n9$" out
'

test_expect_success 'zcnc send: an unknown field is refused, naming it' '
	echo "{\"to\": \"n2\", \"args\": [\"echo bad >>send.marker\"], \"colour\": 1}" >bad.json &&
	test_expect_code 2 zcnc_as n1 send bad.json >out 2>err &&
	test ! -s out &&
	grep colour err &&
	echo "{\"to\": \"n2\"," >broken.json &&
	test_expect_code 2 zcnc_as n1 send broken.json >out 2>err &&
	test ! -s out &&
	grep "broken.json" err &&
	barrier &&
	! grep -x bad n2/send.marker
'

# ---------------------------------------------------------------------------
# The readfolder of n3 (agent/readfolder = SCRATCH/in)

# drop NAME: moves the file NAME, written beforehand, into the folder the
# way a writer should (rename within the folder).
drop () {
	mv "$1" "in/.$1.tmp" && mv "in/.$1.tmp" "in/$1"
}

test_expect_success 'readfolder: a JSON file dropped there is sent, then removed' '
	echo "{\"to\": \"n2\", \"args\": [\"echo folder1 >>folder.marker\"]}" >f1.json &&
	drop f1.json &&
	WAIT_TRIES=$tries wait_for "test ! -e in/f1.json && test -e n2/folder.marker" &&
	echo folder1 >expect &&
	WAIT_TRIES=$tries wait_for test_cmp expect n2/folder.marker &&
	grep "readfolder: f1.json: 1 message(s) sent" n3.log &&
	zcnc_as n3 jobs --json >jobs &&
	test_json jobs "len(L) == 1 and J[\"node\"] == \"n2\""
'

test_expect_success 'readfolder: a file with an array sends every message' '
	printf "[{\"to\": \"n2\", \"args\": [\"echo folder2 >>folder.marker\"]},\n {\"to\": \"n2\", \"args\": [\"echo folder3 >>folder.marker\"]}]\n" >f2.json &&
	drop f2.json &&
	WAIT_TRIES=$tries wait_for "test ! -e in/f2.json" &&
	WAIT_TRIES=$tries wait_for "grep -x folder3 n2/folder.marker && grep -x folder2 n2/folder.marker"
'

test_expect_success 'readfolder: a file that is not JSON is moved to failed/, with an error' '
	echo "this is not JSON" >bad.json &&
	drop bad.json &&
	WAIT_TRIES=$tries wait_for "test -e in/failed/bad.json" &&
	test ! -e in/bad.json &&
	echo "this is not JSON" >expect &&
	test_cmp expect in/failed/bad.json &&
	test -s in/failed/bad.json.error &&
	grep "readfolder: bad.json: .*moved to failed/bad.json" n3.log
'

test_expect_success 'readfolder: a refused message moves its file aside, saying why' '
	echo "{\"to\": \"n2\", \"args\": [\"echo refused >>folder.marker\"], \"colour\": 1}" >refused.json &&
	drop refused.json &&
	WAIT_TRIES=$tries wait_for "test -e in/failed/refused.json" &&
	grep colour in/failed/refused.json.error &&
	grep "readfolder: refused.json: .*colour" n3.log &&
	barrier &&
	! grep -x refused n2/folder.marker
'

test_expect_success 'readfolder: files not named *.json, or hidden, are left alone' '
	echo "{\"to\": \"n2\", \"args\": [\"echo hidden >>folder.marker\"]}" >in/.hidden.json &&
	echo "{\"to\": \"n2\", \"args\": [\"echo txt >>folder.marker\"]}" >in/notes.txt &&
	echo "{\"to\": \"n2\", \"args\": [\"echo after >>folder.marker\"]}" >f3.json &&
	drop f3.json &&
	WAIT_TRIES=$tries wait_for "grep -x after n2/folder.marker" &&
	test -e in/.hidden.json &&
	test -e in/notes.txt &&
	! grep -x hidden n2/folder.marker &&
	! grep -x txt n2/folder.marker
'

# n3 takes 2 jobs at most: with n2 offline, a file of 3 messages has 2
# sent; the third waits in the file until the queue drained.
test_expect_success 'readfolder: over a full queue, the rest of a file waits, then goes' '
	stop_agent n2 &&
	WAIT_TRIES=100 wait_for "! nodes_online n3 n2" &&
	for i in 1 2 3
	do
		echo "{\"to\": \"n2\", \"args\": [\"echo capped$i >>folder.marker\"]}" || return 1
	done >capped.json &&
	drop capped.json &&
	WAIT_TRIES=$tries wait_for "test \"\$(zcnc_as n3 jobs --json | grep -c queued)\" = 2" &&
	sleep 1 &&
	test -e in/capped.json &&
	grep capped3 in/capped.json &&
	! grep capped1 in/capped.json &&
	start_agent n2 &&
	WAIT_TRIES=$tries wait_for "test ! -e in/capped.json" &&
	WAIT_TRIES=$tries wait_for "grep -x capped3 n2/folder.marker" &&
	for i in 1 2 3
	do
		test $(count_lines capped$i n2/folder.marker) = 1 || return 1
	done
'

test_done
