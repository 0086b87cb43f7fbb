#!/bin/sh
test_description='reply methods at the origin: console, none, file, file_append and exec, through one hub and two chained hubs'
. "$(dirname "$0")/test-lib.sh"

# o1 (the origin) and n1 on hub1; s1 on hub2, whose uplink is hub1: a job
# from o1 to n1 crosses one hub, to s1 two.

# msg TO COMMAND [EXTRA]: a message as one JSON line; EXTRA, a JSON
# object, adds or replaces fields.
msg () {
	python3 -c '
import json, sys
message = {"to": sys.argv[1], "args": [sys.argv[2]]}
if len(sys.argv) > 3:
    message.update(json.loads(sys.argv[3]))
print(json.dumps(message))' "$@"
}

# exec_reply ARG...: the EXTRA of a message whose reply runs ARG...
exec_reply () {
	python3 -c 'import json, sys; print(json.dumps({"reply_method": "exec", "reply_args": sys.argv[1:]}))' "$@"
}

# send_msg TO COMMAND [EXTRA]: sends it from o1; prints the job ID.
send_msg () {
	msg "$@" | zcnc_as o1 send - | cut -d " " -f 1
}

# done_job ID: waits until job ID, sent from o1, is done.
done_job () {
	wait_for job_state_is o1 "$1" done
}

test_expect_success 'setup: o1 and n1 on hub1, s1 on hub2 chained to hub1' '
	make_keys --hub hub1 hub2 &&
	make_keys o1 n1 s1 &&
	start_hub hub1 &&
	start_hub hub2 "hub/uplink = hub1@$(hub_endpoint hub1)" &&
	start_agent o1 hub1 "agent/reply_timeout = 2" &&
	start_agent n1 hub1 &&
	start_agent s1 hub2 &&
	wait_for nodes_online o1 o1 n1 s1
'

for node in n1 s1
do

test_expect_success "console ($node): the waiting client prints the result, nothing is written" '
	msg $node "echo console-$node" | zcnc_as o1 send -w -t 20 - >out &&
	grep -q "\"stdout\":\"console-$node\\\\n\"" out &&
	! grep -r -q console-$node o1/results 2>/dev/null
'

test_expect_success "none ($node): recorded for zcnc jobs, nothing written or run" '
	id=$(send_msg $node "echo none-$node" "{\"reply_method\": \"none\"}") &&
	done_job "$id" &&
	job_json o1 "$id" >job &&
	test_json job "J[\"stdout\"] == \"none-$node\\n\"" &&
	! grep -r -q none-$node o1/results 2>/dev/null &&
	! grep "reply of $id" o1.log
'

test_expect_success "file ($node): stdout byte for byte in DATA/results/NODE/ULID.out" '
	printf "bin\\000ary\\377\\nend" >expect.$node &&
	id=$(send_msg $node "printf \"bin\\\\000ary\\\\377\\\\nend\"" "{\"reply_method\": \"file\"}") &&
	done_job "$id" &&
	wait_for test -e "o1/results/$node/${id%%.*}.out" &&
	cmp expect.$node "o1/results/$node/${id%%.*}.out"
'

test_expect_success "file ($node): directory and file_name; a later result replaces the file" '
	for word in first second
	do
		id=$(send_msg $node "echo $word" "{\"reply_method\": \"file\", \"directory\": \"up/time\", \"file_name\": \"now.txt\"}") &&
		done_job "$id" || return 1
	done &&
	wait_for "grep -q second o1/results/up/time/$node/now.txt" &&
	echo second >expect &&
	cmp expect o1/results/up/time/$node/now.txt &&
	test "$(ls -A o1/results/up/time/$node)" = now.txt
'

test_expect_success "file_append ($node): results appended under an absolute directory" '
	for word in one two three
	do
		id=$(send_msg $node "printf \"$word\\\\n\"" "{\"reply_method\": \"file_append\", \"directory\": \"$SCRATCH/appended\"}") &&
		done_job "$id" || return 1
	done &&
	printf "one\\ntwo\\nthree\\n" >expect &&
	wait_for "cmp -s expect appended/$node/output" &&
	cmp expect appended/$node/output
'

test_expect_success "file ($node): a job that failed writes nothing, and says so in the log" '
	id=$(send_msg $node "sleep 5" "{\"reply_method\": \"file\", \"file_name\": \"slow\", \"method_timeout\": 0.5}") &&
	wait_for job_state_is o1 "$id" failed &&
	wait_for "grep -q \"reply of $id: nothing written to .*/results/$node/slow: the job ended failed\" o1.log" &&
	test_must_fail test -e o1/results/$node/slow
'

done

# The remote output: quotes, command substitutions, a newline, then a
# NUL byte and more (the remote command adds those with printf).
cat >payload <<\EOF
it's "quoted" $(touch pwned-dollar) `touch pwned-tick` ; touch pwned-semi
EOF
printf "line 2 | \$HOME" >>payload

for node in n1 s1
do

test_expect_success "exec ($node): the result on stdin exactly, {{DATA}} without its NUL, no shell" '
	printf "\\000tail" >nul-tail &&
	cat payload nul-tail >expect.stdin.$node &&
	cat payload >expect.arg.$node && printf "tail" >>expect.arg.$node &&
	reply=$(exec_reply /bin/sh -c "cat >$SCRATCH/stdin.$node; printf %s \"\$1\" >$SCRATCH/arg.$node; env | grep ^ZCNC_ | sort >$SCRATCH/env.$node" sh "{{DATA}}") &&
	id=$(send_msg $node "cd $SCRATCH && cat payload; printf \"\\\\000tail\"" "$reply") &&
	done_job "$id" &&
	wait_for test -s env.$node &&
	cmp expect.stdin.$node stdin.$node &&
	cmp expect.arg.$node arg.$node &&
	grep -x "ZCNC_ID=$id" env.$node &&
	grep -x "ZCNC_JOB_ID=$id" env.$node &&
	grep -x "ZCNC_NODE=$node" env.$node &&
	grep -x "ZCNC_STATE=done" env.$node &&
	grep -x "ZCNC_EXIT=0" env.$node &&
	grep -x "ZCNC_ORIGIN=o1" env.$node &&
	test_must_fail test -e pwned-dollar &&
	test_must_fail test -e pwned-tick &&
	test_must_fail test -e pwned-semi &&
	test_must_fail test -e o1/pwned-dollar &&
	test_must_fail test -e $node/pwned-dollar
'

test_expect_success "exec ($node): a command exiting non-zero is logged with its output" '
	id=$(send_msg $node "echo out-$node" "$(exec_reply /bin/sh -c "echo said \$1; exit 3" sh "{{DATA}}")") &&
	done_job "$id" &&
	wait_for "grep -q \"reply of $id: command /bin/sh exited 3\" o1.log" &&
	grep "reply of $id: command stdout: said out-$node" o1.log
'

done

test_expect_success 'exec: the program is found in PATH; one that is not is logged' '
	id=$(send_msg n1 "echo via-path" "$(exec_reply tee "$SCRATCH/teed")") &&
	done_job "$id" &&
	wait_for test -s teed &&
	echo via-path >expect &&
	cmp expect teed &&
	id=$(send_msg n1 "true" "$(exec_reply zc-no-such-program)") &&
	done_job "$id" &&
	wait_for "grep -q \"reply of $id not run: cannot run zc-no-such-program: not found in PATH\" o1.log"
'

test_expect_success 'exec: a command over reply_timeout is killed and logged' '
	id=$(send_msg n1 "true" "$(exec_reply sleep 30)") &&
	done_job "$id" &&
	wait_for "grep -q \"reply of $id: command sleep failed: reply_timeout of 2 s exceeded; process group killed\" o1.log"
'

test_expect_success 'a directory escaping with .. is refused at once (exit 2, the reason shown)' '
	msg n1 "echo x" "{\"reply_method\": \"file\", \"directory\": \"../../etc\"}" >bad.json &&
	test_expect_code 2 zcnc_as o1 send bad.json 2>err &&
	grep "directory.* must not contain a .\.\.. component" err &&
	msg s1 "echo x" "{\"reply_method\": \"file_append\", \"file_name\": \"a/../../../x\"}" >bad.json &&
	test_expect_code 2 zcnc_as o1 send bad.json 2>err &&
	grep "file_name.* must not contain a .\.\.. component" err &&
	msg n1 "echo x" "{\"reply_method\": \"file\", \"file_name\": \"/etc/passwd\"}" >bad.json &&
	test_expect_code 2 zcnc_as o1 send bad.json 2>err &&
	grep "file_name.* must be a relative path" err &&
	test_must_fail test -e etc
'

test_expect_success 'the socket names the field at fault; exec without reply_args is refused' '
	msg n1 "echo x" "{\"reply_method\": \"file\", \"directory\": \"a/..\"}" |
		sock_talk o1/zcnc.sock 1 >answer &&
	test_json answer "J[\"code\"] == \"usage\" and J[\"field\"] == \"directory\"" &&
	msg n1 "echo x" "{\"reply_method\": \"exec\"}" | sock_talk o1/zcnc.sock 1 >answer &&
	test_json answer "J[\"code\"] == \"usage\" and J[\"field\"] == \"reply_args\" and \"needs the command in reply_args\" in J[\"error\"]" &&
	msg n1 "echo x" "{\"reply_method\": \"exec\", \"reply_args\": []}" >bad.json &&
	test_expect_code 2 zcnc_as o1 send bad.json 2>err &&
	grep "reply_method exec needs the command in reply_args" err
'

test_expect_success 'the reply method survives a restart of the origin before the result comes' '
	stop_agent s1 &&
	id=$(send_msg s1 "echo after-restart" "{\"reply_method\": \"file\", \"file_name\": \"restart.out\"}") &&
	test -n "$id" &&
	stop_agent o1 &&
	start_agent o1 hub1 "agent/reply_timeout = 2" &&
	start_agent s1 hub2 &&
	done_job "$id" &&
	wait_for test -e o1/results/s1/restart.out &&
	echo after-restart >expect &&
	cmp expect o1/results/s1/restart.out
'

test_expect_success 'a reply interrupted by a crash of the origin is given again at its start (at least once)' '
	stop_agent o1 &&
	start_agent o1 hub1 "agent/reply_timeout = 60" &&
	id=$(send_msg n1 "echo again" "$(exec_reply /bin/sh -c "echo \$\$ >>$SCRATCH/again.pids; echo run >>$SCRATCH/again.runs; exec sleep 60")") &&
	wait_for test -s again.pids &&
	zc_pids="$zc_pids $(cat again.pids)" &&
	kill_agent o1 &&
	start_agent o1 hub1 "agent/reply_timeout = 60" &&
	grep "reply of $id was not given before the agent stopped: given now" o1.log &&
	wait_for "test \$(wc -l <again.runs) = 2" &&
	wait_for "test \$(wc -l <again.pids) = 2" &&
	zc_pids="$zc_pids $(sed -n 2p again.pids)" &&
	kill $(cat again.pids) &&
	wait_for "grep -q \"reply of $id: command /bin/sh killed by signal 15\" o1.log" &&
	stop_agent o1 &&
	start_agent o1 hub1 "agent/reply_timeout = 2" &&
	test $(grep -c "reply of $id was not given" o1.log) = 1 &&
	test_line_count = 2 again.runs
'

test_expect_success 'with a policy, a reply command it does not allow is refused (126)' '
	cat >o1.policy <<-EOF &&
	allow o1 exec /bin/echo {{DATA}}
	EOF
	stop_agent o1 &&
	start_agent o1 hub1 "agent/policy = $SCRATCH/o1.policy" &&
	msg n1 "echo x" "$(exec_reply /bin/sh -c true)" >denied.json &&
	test_expect_code 126 zcnc_as o1 send denied.json 2>err &&
	grep "the reply command ./bin/sh -c true. may not run here: no rule in .*o1.policy matched" err &&
	id=$(send_msg n1 "echo allowed" "$(exec_reply /bin/echo "{{DATA}}")") &&
	done_job "$id" &&
	wait_for "grep -q \"reply of $id: command stdout: allowed\" o1.log"
'

test_done
