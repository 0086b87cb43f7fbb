#!/bin/sh
test_description='zcnc trigger on a hub with three agents: modes, targets, exit codes'
. "$(dirname "$0")/test-lib.sh"

# Jobs run in their agent's data directory (see start_agent), so `pwd`
# in a command tells which node ran it.

test_expect_success 'setup: a hub and three agents that see each other' '
	make_keys --hub hub1 &&
	make_keys n1 n2 n3 &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent n2 &&
	start_agent n3 &&
	wait_for nodes_online n1 n1 n2 n3
'

test_expect_success 'raw mode: the remote stdout comes out unchanged, exit 0' '
	zcnc_as n1 trigger "n2:echo hello; printf \"no newline\"" >out 2>err &&
	printf "hello\nno newline" >expect &&
	test_cmp expect out &&
	test ! -s err
'

test_expect_success 'raw mode: NUL bytes in the output come out unchanged' '
	zcnc_as n1 trigger "n2:printf \"a\\000b\"" >out &&
	printf "a\000b" >expect &&
	cmp expect out
'

test_expect_success 'raw mode: the job runs on the node it names' '
	zcnc_as n1 trigger n2:pwd >out &&
	echo "$SCRATCH/n2" >expect &&
	test_cmp expect out
'

test_expect_success 'raw mode: the exit status is the remote one' '
	test_expect_code 7 zcnc_as n1 trigger "n2:exit 7" &&
	test_expect_code 1 zcnc_as n1 trigger n3:false
'

test_expect_success 'raw mode: a command killed by signal 9 exits 137' '
	test_expect_code 137 zcnc_as n1 trigger "n2:kill -9 \$\$"
'

test_expect_success 'raw mode: remote stderr goes to stderr, stdout to stdout' '
	zcnc_as n1 trigger "n3:echo out; echo err >&2" >out 2>err &&
	echo out >expect &&
	test_cmp expect out &&
	echo err >expect &&
	test_cmp expect err
'

test_expect_success 'raw mode: binary (non-UTF-8) output arrives byte for byte' '
	zcnc_as n1 trigger "n2:printf \"\\377\\376\\000x\\n\"" >out &&
	printf "\377\376\000x\n" >expect &&
	cmp expect out
'

test_expect_success 'words after TARGET:COMMAND are joined with spaces, as ssh does' '
	zcnc_as n1 trigger n2:echo a "b  c" >out &&
	echo "a b c" >expect &&
	test_cmp expect out
'

test_expect_success 'a job reading stdin gets end-of-file at once' '
	zcnc_as n1 trigger -t 10 "n2:cat; echo read-all" >out &&
	echo read-all >expect &&
	test_cmp expect out
'

test_expect_success 'a pipeline whose reader quits early (yes | head -1) finishes' '
	zcnc_as n1 trigger -t 10 "n2:yes | head -1" >out &&
	echo y >expect &&
	test_cmp expect out
'

test_expect_success 'ALL: one prefixed answer per node, exit 0' '
	zcnc_as n1 trigger "ALL:echo hi" >out &&
	sort out >sorted &&
	printf "n1: hi\nn2: hi\nn3: hi\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'ALL: exit 1 when one node exits non-zero; the others still answer' '
	test_expect_code 1 zcnc_as n1 trigger "ALL:case \$(pwd) in */n2) exit 5;; esac; echo ok" >out &&
	sort out >sorted &&
	printf "n1: ok\nn3: ok\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'a list of exact names is prefixed too, and exits 1 on any failure' '
	test_expect_code 1 zcnc_as n1 trigger "n1,n2:echo x; exit 3" >out &&
	sort out >sorted &&
	printf "n1: x\nn2: x\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'prefixed mode: every line is prefixed, stderr lines on stderr' '
	zcnc_as n1 trigger "n1,n3:printf \"a\\nb\"; echo e >&2" >out 2>err &&
	sort out >sorted &&
	printf "n1: a\nn1: b\nn3: a\nn3: b\n" >expect &&
	test_cmp expect sorted &&
	sort err >sorted &&
	printf "n1: e\nn3: e\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'a glob target reaches the matching nodes only' '
	zcnc_as n1 trigger "n[12]:pwd" >out &&
	sort out >sorted &&
	printf "n1: $SCRATCH/n1\nn2: $SCRATCH/n2\n" >expect &&
	test_cmp expect sorted &&
	zcnc_as n1 trigger "n*:true" >out &&
	test_line_count = 0 out
'

test_expect_success 'a glob matching no known node exits 3 and says so' '
	test_expect_code 3 zcnc_as n1 trigger "x*:true" >out 2>err &&
	grep "x\\*. matches no known node" err &&
	test ! -s out
'

test_expect_success 'a name never seen is queued: stderr says so, -t 2 then exits 124' '
	test_expect_code 124 zcnc_as n1 trigger -t 2 n9:true >out 2>err &&
	grep "^zcnc: n9: never seen; queued as [0-9A-Z]*\\.n9$" err &&
	id=$(sed -n "s/^zcnc: n9: never seen; queued as //p" err) &&
	grep "$id stays queued (see: zcnc jobs $id)" err &&
	zcnc_as n1 jobs --json "$id" >job &&
	test_json job "J[\"state\"] == \"queued\" and J[\"node\"] == \"n9\""
'

test_expect_success '--json: one parsable jobs object per target' '
	zcnc_as n1 trigger --json "n1,n2:echo x" >out &&
	test_json out "len(L) == 2 and sorted(j[\"node\"] for j in L) == [\"n1\", \"n2\"]
		and all(j[\"state\"] == \"done\" and j[\"exit\"] == 0 and j[\"stdout\"] == \"x\\n\"
		        and j[\"method\"] == \"exec\" and j[\"id\"].endswith(\".\" + j[\"node\"])
		        and j[\"signal\"] is None and j[\"truncated\"] is False for j in L)"
'

test_expect_success '--json tells a signal from an exit status' '
	test_expect_code 137 zcnc_as n1 trigger --json "n2:kill -9 \$\$" >out &&
	test_json out "J[\"exit\"] == 137 and J[\"signal\"] == 9"
'

test_expect_success 'output beyond 1 MiB is cut and flagged truncated' '
	zcnc_as n1 trigger --json "n2:head -c 1100000 /dev/zero | tr \"\\0\" y" >out &&
	test_json out "J[\"truncated\"] is True and len(J[\"stdout\"]) == 1048576"
'

test_expect_success '--async prints the job IDs at once; zcnc jobs ID shows the result later' '
	zcnc_as n1 trigger --async "n2,n3:sleep 1; echo later" >ids &&
	test_line_count = 2 ids &&
	grep "^[0-9A-Z]\{26\}\.n2$" ids &&
	grep "^[0-9A-Z]\{26\}\.n3$" ids &&
	for id in $(cat ids)
	do
		wait_for job_state_is n1 "$id" done &&
		zcnc_as n1 jobs --json "$id" >job &&
		test_json job "J[\"stdout\"] == \"later\\n\"" &&
		zcnc_as n1 jobs "$id" >shown &&
		grep "^state: done$" shown &&
		grep "^later$" shown || return 1
	done
'

test_expect_success 'zcnc jobs lists the jobs sent from this agent' '
	zcnc_as n1 jobs >list &&
	head -n 1 list | grep "^ID  *NODE  *STATE  *EXIT" &&
	for id in $(cat ids)
	do
		grep "^$id  *n[23]  *done  *0$" list || return 1
	done
'

test_expect_success 'a background child does not keep the job open, and is killed' '
	start=$(date +%s) &&
	timeout 10 "$ZCNC" trigger -c "$SCRATCH/n1.cfg" "n2:sleep 100 & echo \$! >bg.pid; echo started" >out &&
	test $(($(date +%s) - start)) -lt 5 &&
	echo started >expect &&
	test_cmp expect out &&
	bg=$(cat n2/bg.pid) &&
	WAIT_TRIES=40 wait_for "! zc_alive $bg"
'

test_expect_success 'method_timeout kills the whole process group and fails the job' '
	cat >request <<-\EOF &&
	{"to": "n1", "args": ["sleep 100 & echo $! >a.pid; echo $$ >b.pid; exec sleep 100"], "method_timeout": 1, "wait": 10}
	EOF
	start=$(date +%s) &&
	sock_talk n1/zcnc.sock 3 15 <request >out &&
	test $(($(date +%s) - start)) -lt 6 &&
	sed -n 2p out >job &&
	test_json job "J[\"state\"] == \"failed\" and \"method_timeout\" in J[\"error\"]" &&
	a=$(cat n1/a.pid) && b=$(cat n1/b.pid) &&
	WAIT_TRIES=40 wait_for "! zc_alive $a && ! zc_alive $b"
'

test_expect_success '20 concurrent triggers all get their own answer' '
	pids= &&
	for i in $(seq 1 20)
	do
		zcnc_as n1 trigger -t 30 "n2:echo $i" >out.$i 2>&1 &
		pids="$pids $!"
	done &&
	for pid in $pids
	do
		wait $pid || return 1
	done &&
	for i in $(seq 1 20)
	do
		echo $i >expect &&
		test_cmp expect out.$i || return 1
	done
'

test_expect_success 'ping: a node online answers pong, exit 0' '
	zcnc_as n1 ping n3 >out &&
	grep "^pong from n3 in [0-9.]* ms$" out
'

test_expect_success 'ping: an unknown node fails with a message' '
	test_must_fail zcnc_as n1 ping -t 2 n9 >out 2>err &&
	grep "n9" err &&
	test ! -s out
'

# The job for n9 above is still queued.
test_expect_success 'status --json: name, hubs, queued, inflight' '
	zcnc_as n1 status --json >out &&
	test_json out "J[\"name\"] == \"n1\" and J[\"hubs\"][0][\"name\"] == \"hub1\"
		and J[\"hubs\"][0][\"connected\"] is True
		and J[\"queued\"] >= 1 and J[\"inflight\"] >= 0" &&
	zcnc_as n1 status >out &&
	grep "^name: *n1$" out &&
	grep "^hub: *hub1 tcp://127.0.0.1:[0-9]* (connected)$" out
'

test_expect_success 'nodes --json lists the agents online, never the hub' '
	zcnc_as n2 nodes --json >out &&
	test_json out "sorted(j[\"name\"] for j in L) == [\"n1\", \"n2\", \"n3\"]
		and all(j[\"online\"] is True and j[\"via\"] == \"hub1\"
		        and isinstance(j[\"last_seen\"], int) for j in L)" &&
	zcnc_as n2 nodes >out &&
	grep "^n3  *online .* hub1$" out &&
	! grep "^hub1 " out
'

test_done
