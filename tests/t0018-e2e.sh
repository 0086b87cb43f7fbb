#!/bin/sh
test_description='end to end: jobs and results are authenticated and sealed; hubs cannot read, forge, alter or replay them'
. "$(dirname "$0")/test-lib.sh"

# hub1 is tests/zc-testhub: a real hub that writes everything it relays,
# after CURVE, to hub1.dump, and, restarted on the same port, flips a bit
# of each job or replays one. n1's keys directory is its own: it trusts
# n2, n3, forger and the hub key hubx, not stranger. Everyone else
# shares $KEYS. forger is a trusted agent key that tests/zc-forge uses to
# craft jobs; hubx is a hub key (hub1 takes it for a child hub).
# (Untrusted keys and names claimed by another key: t0004.)

for tool in "$ZC_TESTHUB" "$ZC_FORGE"; do
	test -x "$tool" || bail_out "no $tool (make check builds it)"
done

# start_testhub [VAR=VALUE...]: (re)starts hub1 as the test hub on $port.
start_testhub () {
	local setting status
	unset ZC_TESTHUB_FLIP ZC_TESTHUB_REPLAY ZC_TESTHUB_FORGE_FIRST
	export ZC_TESTHUB_DUMP="$SCRATCH/hub1.dump"
	for setting; do export "$setting"; done
	zc_program=$ZC_TESTHUB
	start_hub hub1 "hub/bind = tcp://127.0.0.1:$port"
	status=$?
	unset zc_program
	return $status
}

# forge NAME TARGET COMMAND [OPTIONS...]: one crafted job through hub1,
# from NAME's keys in $KEYS; prints the REPLY line.
forge () {
	local name=$1 target=$2 command=$3
	shift 3
	"$ZC_FORGE" "$@" "$(hub_endpoint hub1)" "$KEYS/hub1.cert" "$KEYS" "$name" "$target" "$command"
}

test_expect_success 'setup: a tapping hub, n1 with its own keys, n2, n3' '
	make_keys --hub hub1 hubx &&
	make_keys n1 n2 n3 forger stranger p1 p2 &&
	mkdir n1keys &&
	cp "$KEYS/n1.cert" "$KEYS/n1.cert_secret" "$KEYS/n2.cert" "$KEYS/n3.cert" \
		"$KEYS/forger.cert" "$KEYS/hubx.cert" "$KEYS/hub1.cert" n1keys/ &&
	port=$(pick_port) &&
	start_testhub &&
	start_agent n1 hub1 "zcnc/keys = $SCRATCH/n1keys" &&
	start_agent n2 &&
	start_agent n3 &&
	start_agent stranger &&
	wait_for nodes_online n2 n1 n2 n3 stranger
'

test_expect_success 'a single-target job runs, and the hub never sees its command or output in clear' '
	: >hub1.dump &&
	zcnc_as n2 trigger -t 10 "n1:echo SECRET-COMMAND-7 | tr A-Z a-z" >out &&
	echo secret-command-7 >expect &&
	test_cmp expect out &&
	test -s hub1.dump &&
	! grep -a -q "SECRET-COMMAND-7" hub1.dump &&
	! grep -a -q "secret-command-7" hub1.dump
'

test_expect_success 'a broadcast is signed but readable at the hub (documented), and runs on each target' '
	: >hub1.dump &&
	zcnc_as n2 trigger -t 10 "n1,n3:echo VISIBLE-BROADCAST-9" >out &&
	printf "n1: VISIBLE-BROADCAST-9\nn3: VISIBLE-BROADCAST-9\n" >expect &&
	sort out >sorted &&
	test_cmp expect sorted &&
	grep -a -q "VISIBLE-BROADCAST-9" hub1.dump
'

test_expect_success 'a job from an origin the target has no cert for is denied (126) and does not run' '
	test_expect_code 126 zcnc_as stranger trigger -t 10 "n1:touch $SCRATCH/marker-stranger" 2>err &&
	grep "zcnc: n1: denied: origin stranger is not trusted here (no stranger.cert in the keys directory)" err &&
	grep "refused job .* from stranger: origin stranger is not trusted here" n1.log &&
	test ! -e marker-stranger
'

test_expect_success 'a hub key cannot originate jobs' '
	forge hubx n1 "touch $SCRATCH/marker-hubx" --wait 0 >out;
	wait_for grep -q "refused job .* from hubx: origin hubx is a hub; hubs never originate jobs" n1.log &&
	test ! -e marker-hubx
'

test_expect_success 'a hub link cannot pass a job off as another origin'\''s' '
	forge hubx n1 "touch $SCRATCH/marker-posed" --origin n2 --wait 0 >out;
	wait_for grep -q "refused job .* from n2: bad authenticator: the job was altered on its way or was not made by n2" n1.log &&
	test ! -e marker-posed
'

test_expect_success 'a job without an authenticator is denied' '
	forge forger n1 "touch $SCRATCH/marker-plain" --plain >out &&
	grep "^REPLY state=denied error=the job carries no authenticator" out &&
	test ! -e marker-plain
'

test_expect_success 'a correctly sealed crafted job runs (the forge tool works)' '
	forge forger n1 "touch $SCRATCH/marker-forger" >out &&
	grep "^REPLY state=done" out &&
	test -e marker-forger
'

test_expect_success 'a job created in the future (beyond skew) is refused' '
	forge forger n1 "touch $SCRATCH/marker-future" --created 3600 >out &&
	grep "^REPLY state=denied error=created in the future" out &&
	test ! -e marker-future
'

test_expect_success 'a job past its expire plus skew is refused' '
	forge forger n1 "touch $SCRATCH/marker-old" --created -172800 --expire 86400 >out &&
	grep "^REPLY state=expired error=arrived after its expire time; not run" out &&
	test ! -e marker-old
'

test_expect_success 'the same sealed bytes sent again later run once' '
	forge forger n1 "echo run >>$SCRATCH/counter-resend" --resend 3 >out &&
	grep "^REPLY state=done" out &&
	sleep 1 &&
	test "$(count_lines run counter-resend)" = 1
'

test_expect_success 'a hub that flips one bit of a job: it is denied (126) and does not run' '
	stop_hub hub1 &&
	start_testhub ZC_TESTHUB_FLIP=1 &&
	wait_for agent_connected n1 && wait_for agent_connected n2 &&
	test_expect_code 126 zcnc_as n2 trigger -t 10 "n1:touch $SCRATCH/marker-flip" 2>err &&
	grep "zcnc: n1: denied: bad authenticator: the job was altered on its way or was not made by n2" err &&
	grep "testhub: flipped" hub1.log &&
	test ! -e marker-flip
'

test_expect_success 'a flipped broadcast is denied by every target' '
	test_expect_code 126 zcnc_as n2 trigger -t 10 "n1,n3:touch $SCRATCH/marker-flip2" 2>err &&
	grep "zcnc: n1: denied: bad authenticator" err &&
	grep "zcnc: n3: denied: bad authenticator" err &&
	test ! -e marker-flip2
'

test_expect_success 'a hub that flips one bit of a result: the origin drops it and never records it' '
	stop_hub hub1 &&
	start_testhub ZC_TESTHUB_FLIP=reply &&
	wait_for agent_connected n1 && wait_for agent_connected n2 &&
	test_expect_code 124 zcnc_as n2 trigger -t 3 "n1:echo altered-result" >out 2>err &&
	grep "testhub: flipped a bit of a REPLY payload from n1" hub1.log &&
	grep "dropped a result for a job on n1: the result from n1 has a bad authenticator" n2.log &&
	! grep -q altered-result out
'

test_expect_success 'a hub that sends a corrupted copy ahead of a job: the job runs, and its real result is what the origin reports' '
	stop_hub hub1 &&
	start_testhub ZC_TESTHUB_FORGE_FIRST=1 &&
	wait_for agent_connected n1 && wait_for agent_connected n2 &&
	zcnc_as n2 trigger -t 10 "n1:echo ran >>$SCRATCH/counter-forged; echo real" >out &&
	echo real >expect &&
	test_cmp expect out &&
	grep "testhub: sent a corrupted copy" hub1.log &&
	test "$(count_lines ran counter-forged)" = 1
'

test_expect_success 'a hub that replays a job later: it runs once' '
	stop_hub hub1 &&
	start_testhub ZC_TESTHUB_REPLAY=1 &&
	wait_for agent_connected n1 && wait_for agent_connected n2 &&
	zcnc_as n2 trigger -t 10 "n1:echo run >>$SCRATCH/counter-replay" &&
	zcnc_as n2 trigger -t 10 "n1:true" &&
	wait_for grep -q "testhub: replaying the first REQ from n2" hub1.log &&
	sleep 1 &&
	test "$(count_lines run counter-replay)" = 1
'

test_expect_success 'an origin revoked at the target (cert moved out of keys): its jobs are denied at once' '
	mkdir -p n1keys/revoked &&
	mv n1keys/forger.cert n1keys/revoked/ &&
	wait_for grep -q "keys reloaded (keys directory changed)" n1.log &&
	forge forger n1 "touch $SCRATCH/marker-revoked" >out &&
	grep "^REPLY state=denied error=origin forger is not trusted here" out &&
	test ! -e marker-revoked
'

test_expect_success 'a target without a cert at the origin: the job waits for one, then runs' '
	mv "$KEYS/n3.cert" n3.cert.away &&
	wait_for grep -q "keys reloaded (keys directory changed)" n2.log &&
	id=$(zcnc_as n2 trigger --async "n3:echo late") &&
	wait_for grep -q "job $id waits for n3.cert in the keys directory" n2.log &&
	job_json n2 "$id" | grep -q "\"state\":\"queued\"" &&
	mv n3.cert.away "$KEYS/n3.cert" &&
	wait_for "job_json n2 $id | grep -q \"\\\"state\\\":\\\"done\\\"\"" &&
	job_json n2 "$id" | grep -q "\"stdout\":\"late\\\\n\""
'

test_expect_success 'agents with e2e off exchange jobs in clear; an agent with e2e on denies theirs' '
	start_agent p1 hub1 "agent/e2e = off" &&
	start_agent p2 hub1 "agent/e2e = off" &&
	grep "agent/e2e is off: jobs and results from here travel in clear" p1.log &&
	: >hub1.dump &&
	zcnc_as p1 trigger -t 10 "p2:echo CLEAR-TEXT-5" >out &&
	echo CLEAR-TEXT-5 >expect &&
	test_cmp expect out &&
	grep -a -q "CLEAR-TEXT-5" hub1.dump &&
	test_expect_code 126 zcnc_as p1 trigger -t 10 "n2:touch $SCRATCH/marker-clear" 2>err &&
	grep "zcnc: n2: denied: the job carries no authenticator (is e2e off at p1?)" err &&
	test ! -e marker-clear
'

test_expect_success 'an agent with e2e off still refuses jobs from hubs and unknown origins' '
	forge hubx p1 "touch $SCRATCH/marker-hub-clear" --plain --wait 0 >out;
	wait_for grep -q "refused job .* from hubx: origin hubx is a hub; hubs never originate jobs" p1.log &&
	test ! -e marker-hub-clear
'

test_expect_success 'the daemons are still up' '
	zc_alive "$(daemon_pid hub1)" &&
	zc_alive "$(daemon_pid n1)" &&
	zc_alive "$(daemon_pid n2)"
'

test_done
