#!/bin/sh
test_description='zcnc init brings up a mesh from its own output; key enrollment (zcnc keys)'
. "$(dirname "$0")/test-lib.sh"

test -x "$ZC_RAWSEND" || bail_out "no zc-rawsend at $ZC_RAWSEND (make check builds it)"

# `zcnc` in the printed commands is this build's.
mkdir -p "$SCRATCH/bin" && ln -s "$ZCNC" "$SCRATCH/bin/zcnc" || bail_out "cannot set up $SCRATCH/bin"
PATH=$SCRATCH/bin:$PATH
export PATH
PORT=$(pick_port) || bail_out "no free port"
M=$SCRATCH/m

# run_bg NAME LINE: runs the daemon command after the '&&' of a printed
# "zcnc ROLE -n -c FILE && zcnc ROLE -c FILE" line in the background,
# after running its check part; stderr to NAME.log, PID recorded.
run_bg () {
	local check=${2%% &&*} run=${2#*&& } pid
	test -n "$check" && test "$run" != "$2" || { echo "run_bg: not a start line: $2" >&2; return 1; }
	eval "$check" || return 1
	(eval "exec $run") >>"$SCRATCH/$1.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$SCRATCH/$1.pid"
	zc_pids="$zc_pids $pid"
}

test_expect_success 'init hub: keys, config and data with their modes, and what to do next' '
	zcnc init hub hub1 -d "$M/hub1" --bind tcp://127.0.0.1:$PORT >hub1.out &&
	test "$(stat -c %a "$M/hub1/keys")" = 700 &&
	test "$(stat -c %a "$M/hub1/keys/hub1.cert_secret")" = 600 &&
	test "$(stat -c %a "$M/hub1/keys/hub1.cert")" = 644 &&
	test "$(stat -c %a "$M/hub1/data")" = 700 &&
	grep -q "^zcnc hub -n -c $M/hub1/hub.cfg && zcnc hub -c $M/hub1/hub.cfg\$" hub1.out &&
	grep -q "^zcnc init agent NAME --hub hub1@tcp://127.0.0.1:$PORT --hub-dir $M/hub1\$" hub1.out
'

test_expect_success 'init agent, twice, with the line init hub printed' '
	line=$(grep "^zcnc init agent NAME " hub1.out) &&
	for n in n1 n2; do
		eval "$(echo "$line" | sed "s/ NAME / $n /") -d \"\$M/\$n\"" >$n.out || return 1
	done &&
	test "$(stat -c %a "$M/n1/keys/n1.cert_secret")" = 600 &&
	grep -q "^#   key fingerprint [0-9a-f:]*\$" n1.out &&
	test "$(grep -c "^cp " n2.out)" = 3
'

test_expect_success 'the printed copy commands and start lines bring up the mesh' '
	for pass in 1 2; do
		for n in n1 n2; do
			grep "^cp " $n.out >copy.sh && sh -e copy.sh || return 1
		done
	done &&
	test -e "$M/hub1/keys/n2.cert" && test -e "$M/n1/keys/n2.cert" && test -e "$M/n2/keys/hub1.cert" &&
	run_bg hub1 "$(grep "^zcnc hub -n " hub1.out)" &&
	run_bg n1 "$(grep "^zcnc agent -n " n1.out)" &&
	run_bg n2 "$(grep "^zcnc agent -n " n2.out)" &&
	WAIT_TRIES=300 wait_for "zcnc nodes --json -c $M/n1/agent.cfg 2>/dev/null | grep -c \"\\\"online\\\":true\" | grep -qx 2"
'

test_expect_success 'zcnc trigger ALL:true works on the mesh init made' '
	zcnc trigger -t 30 -c "$M/n1/agent.cfg" ALL:"echo hi" >out &&
	sort out >sorted &&
	printf "n1: hi\nn2: hi\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'init refuses to replace a config or keys, and says so' '
	test_expect_code 1 zcnc init hub hub1 -d "$M/hub1" 2>err &&
	grep -q "^zcnc: $M/hub1/hub.cfg exists; refusing to overwrite it (move it away, or give another -d DIR)\$" err &&
	rm "$M/n2/agent.cfg" &&
	test_expect_code 1 zcnc init agent n2 --hub hub1@tcp://127.0.0.1:1 -d "$M/n2" 2>err &&
	grep -q "^zcnc: $M/n2/keys/n2.cert exists; refusing to overwrite it" err &&
	test ! -e "$M/n2/agent.cfg"
'

test_expect_success 'every usage error of zcnc init shows its message (exit 2)' '
	test_expect_code 2 zcnc init 2>err && grep -q "^zcnc: init needs .hub. or .agent. and a NAME" err &&
	test_expect_code 2 zcnc init node x 2>err && grep -q "^zcnc: init needs .hub. or .agent. and a NAME" err &&
	test_expect_code 2 zcnc init hub ALL -d x 2>err && grep -q "^zcnc: .ALL. is not a valid name" err &&
	test_expect_code 2 zcnc init agent a1 -d x 2>err && grep -q "^zcnc: init agent needs --hub HUBNAME@ENDPOINT" err &&
	test_expect_code 2 zcnc init agent a1 --hub tcp://h:1 -d x 2>err && grep -q "^zcnc: --hub wants HUBNAME@ENDPOINT" err &&
	test_expect_code 2 zcnc init agent a1 --hub h@tcp://h:* -d x 2>err &&
	grep -q "^zcnc: bad endpoint .tcp://h:\*. in --hub (PORT \* is only for binding" err &&
	test_expect_code 2 zcnc init agent a1 --hub a1@tcp://h:1 -d x 2>err && grep -q "both named .a1." err &&
	test_expect_code 2 zcnc init hub h1 --bind nowhere -d x 2>err && grep -q "^zcnc: bad endpoint .nowhere. for --bind" err &&
	test_expect_code 2 zcnc init hub h1 --hub h@tcp://h:1 2>err && grep -q "^zcnc: --hub and --hub-dir are for init agent" err &&
	test_expect_code 2 zcnc init agent a1 --hub h@tcp://h:1 --bind tcp://*:1 2>err && grep -q "^zcnc: --bind is for init hub" err &&
	test_expect_code 2 zcnc init hub h1 --nope 2>err && grep -q "^usage: zcnc init hub" err &&
	test_expect_code 1 zcnc init hub h1 -d x --user no-such-user-zc 2>err &&
	grep -q "^zcnc: no such user .no-such-user-zc." err &&
	test ! -e x &&
	zcnc init --help >out && grep -q "^usage: zcnc init hub NAME" out
'

test "$(id -u)" = 0 && getent passwd nobody >/dev/null && test_set_prereq ROOT_NOBODY

test_expect_success ROOT_NOBODY 'init --user gives the keys and the data directory to that user' '
	zcnc init agent n9 --hub hub1@tcp://127.0.0.1:$PORT --hub-dir "$M/hub1" -d "$M/n9" --user nobody >out &&
	test "$(stat -c %U "$M/n9/keys")" = nobody &&
	test "$(stat -c %U "$M/n9/keys/n9.cert_secret")" = nobody &&
	test "$(stat -c %U "$M/n9/keys/n9.cert")" = nobody &&
	test "$(stat -c %U "$M/n9/data")" = nobody &&
	test "$(stat -c %a "$M/n9/keys/n9.cert_secret")" = 600
'

# Enrollment: hub2 with enroll on and its keys directory $H; t1, a
# trusted agent, with its own ($T); e1 dials hub2 with enroll = on, its
# keys directory ($E) holding hub2.cert. t1 and e1 hold each other's
# certs beforehand, as two agents that send each other jobs need (jobs
# are sealed end to end); enrollment is about the hub's trust only.
H=$SCRATCH/h2keys
T=$SCRATCH/t1keys
E=$SCRATCH/e1keys

test_expect_success 'setup: a hub with enrollment on, an agent it trusts and one asking to be trusted' '
	make_keys -d "$H" --hub hub2 &&
	make_keys -d "$T" t1 &&
	make_keys -d "$E" e1 &&
	cp "$H/hub2.cert" "$T/" && cp "$H/hub2.cert" "$E/" &&
	cp "$T/t1.cert" "$H/" && cp "$T/t1.cert" "$E/" && cp "$E/e1.cert" "$T/" &&
	start_hub hub2 "zcnc/keys = $H" "hub/enroll = on" "hub/enroll_rate = 600" &&
	start_agent t1 hub2 "zcnc/keys = $T" &&
	start_agent --offline e1 hub2 "zcnc/keys = $E" "agent/enroll = on" &&
	grep -q "enrollment is on" hub2.log
'

test_expect_success 'the agent logs its fingerprint and that it waits; keys list shows the same' '
	fp=$(sed -n "s/.*enroll = on: hub hub2 is asked to trust e1, key fingerprint \([0-9a-f:]*\)\$/\1/p" e1.log) &&
	test -n "$fp" &&
	wait_for "grep -q \"hub hub2 has not accepted our key yet\" e1.log" &&
	grep -q "key fingerprint $fp; it waits for an operator" e1.log &&
	zcnc keys list -c hub2.cfg >out &&
	grep -q "^e1  *agent $fp " out &&
	zcnc keys list --json -c hub2.cfg >out.json &&
	test_json out.json "J[\"name\"] == \"e1\" and J[\"fingerprint\"] == \"$fp\" and J[\"role\"] == \"agent\"" &&
	! agent_connected e1 &&
	zcnc_as e1 status --json >out &&
	test_json out "\"has not accepted our key yet\" in J[\"hubs\"][0][\"problem\"]"
'

test_expect_success 'a pending key reaches nothing but ENROLL: its REQs are dropped and counted' '
	make_keys -d "$SCRATCH/rkeys" r1 &&
	r1key=$(sed -n "s/^ *public-key = \"\(.*\)\"\$/\1/p" rkeys/r1.cert) &&
	"$ZC_RAWSEND" -t t1 "$(hub_endpoint hub2)" "$H/hub2.cert" "$SCRATCH/rkeys/r1.cert_secret" 20 >out 2>err &&
	grep -q "handshake succeeded" err &&
	printf "dropped HELLO from pending key %s\n" "$r1key" >dropped-line &&
	wait_for "grep -qFf dropped-line hub2.log" &&
	! grep -q "received ACK\|received REPLY" out &&
	! grep -q "r1" t1.log &&
	zcnc_as t1 nodes --json >out && ! grep -q "\"r1\"" out &&
	test_expect_code 124 zcnc_as e1 trigger -t 1 "t1:touch $SCRATCH/marker" 2>/dev/null &&
	test ! -e marker
'

test_expect_success 'accept: the agent works without a restart' '
	zcnc keys accept e1 -c hub2.cfg >out &&
	grep -q "^accepted e1 (key fingerprint $fp): $H/e1.cert; hub hub2 trusts it within a second\$" out &&
	test ! -e hub2/pending/e1.cert &&
	WAIT_TRIES=200 wait_for agent_connected e1 &&
	zcnc_as e1 trigger -t 30 "t1:echo from e1" >out &&
	echo "from e1" >expect &&
	test_cmp expect out
'

test_expect_success 'revoke: the node is cut off at once; its jobs queue' '
	zcnc keys revoke e1 -c hub2.cfg >out &&
	grep -q "^revoked e1: its cert is in $H/revoked/; hub hub2 drops its traffic within a second\$" out &&
	test -e "$H/revoked/e1.cert" && test ! -e "$H/e1.cert" &&
	wait_for "grep -q \"e1.*key revoked\" hub2.log" &&
	test_expect_code 124 zcnc_as e1 trigger -t 2 "t1:touch $SCRATCH/marker2" 2>/dev/null &&
	test ! -e marker2 &&
	test_expect_code 124 zcnc_as t1 trigger -t 2 "e1:touch $SCRATCH/marker3" 2>/dev/null &&
	test ! -e marker3
'

test_expect_success 'a revoked key cannot enroll again' '
	stop_agent e1 &&
	start_agent --offline e1 hub2 "zcnc/keys = $E" "agent/enroll = on" &&
	wait_for "grep -q \"refused the ENROLL of pending key .* as .e1.: the key was revoked\" hub2.log" &&
	zcnc keys list -c hub2.cfg >out 2>err && ! grep -q e1 out
'

test_expect_success 'reject removes a pending request' '
	make_keys -d "$SCRATCH/e2keys" e2 &&
	cp "$H/hub2.cert" "$SCRATCH/e2keys/" &&
	start_agent --offline e2 hub2 "zcnc/keys = $SCRATCH/e2keys" "agent/enroll = on" &&
	wait_for "test -e hub2/pending/e2.cert" &&
	zcnc keys reject e2 -c hub2.cfg >out &&
	grep -q "^rejected e2 (key fingerprint [0-9a-f:]*): its request is removed\$" out &&
	test ! -e hub2/pending/e2.cert
'

test_expect_success 'enrollment off (the default): an unknown key is refused at the handshake' '
	make_keys -d "$SCRATCH/ukeys" u1 &&
	{ "$ZC_RAWSEND" --ping tcp://127.0.0.1:$PORT "$M/hub1/keys/hub1.cert" "$SCRATCH/ukeys/u1.cert_secret" \
		>out 2>err || :; } &&
	grep -q "handshake refused" err &&
	grep -q "refused CURVE key" hub1.log &&
	! test -d "$M/hub1/data/pending"
'

test_expect_success 'over enroll_rate, handshakes of unknown keys are refused' '
	make_keys -d "$H" --hub hub3 &&
	start_hub hub3 "zcnc/keys = $H" "hub/enroll = on" "hub/enroll_rate = 1" &&
	make_keys -d "$SCRATCH/vkeys" v1 v2 &&
	{ "$ZC_RAWSEND" --ping "$(hub_endpoint hub3)" "$H/hub3.cert" "$SCRATCH/vkeys/v1.cert_secret" \
		>out 2>err || :; } &&
	grep -q "handshake succeeded" err &&
	{ "$ZC_RAWSEND" --ping "$(hub_endpoint hub3)" "$H/hub3.cert" "$SCRATCH/vkeys/v2.cert_secret" \
		>out 2>err || :; } &&
	grep -q "handshake refused" err &&
	grep -q "refused the handshake of unknown key .*: more than 1 a minute (hub/enroll_rate)" hub3.log
'

test_expect_success 'the hub counts what it dropped from pending keys in its stop line' '
	stop_hub hub2 &&
	n=$(sed -n "s/.*from pending keys dropped \([0-9]*\)\$/\1/p" hub2.log) &&
	test "$n" -ge 3
'

test_expect_success 'every user error of zcnc keys shows its message' '
	test_expect_code 2 zcnc keys -c hub2.cfg 2>err && grep -q "^zcnc: keys needs an action" err &&
	test_expect_code 2 zcnc keys -c hub2.cfg frob 2>err && grep -q "^zcnc: unknown keys action .frob." err &&
	test_expect_code 2 zcnc keys -c hub2.cfg accept 2>err && grep -q "^zcnc: keys accept needs exactly one NAME" err &&
	test_expect_code 2 zcnc keys -c hub2.cfg list x 2>err && grep -q "^zcnc: keys list takes no NAME" err &&
	test_expect_code 2 zcnc keys -c hub2.cfg --json revoke x 2>err && grep -q "^zcnc: --json is for keys list" err &&
	test_expect_code 125 zcnc keys -c nosuch.cfg list 2>err &&
	grep -q "^zcnc: nosuch.cfg: .*(zcnc keys reads the hub.s config: give it with -c FILE)" err &&
	test_expect_code 1 zcnc keys -c hub2.cfg accept nobody 2>err &&
	grep -q "^zcnc: no pending request from nobody (see zcnc keys list)" err &&
	test_expect_code 1 zcnc keys -c hub2.cfg reject nobody 2>err &&
	grep -q "^zcnc: no pending request from nobody (see zcnc keys list)" err &&
	test_expect_code 1 zcnc keys -c hub2.cfg revoke nobody 2>err &&
	grep -q "^zcnc: $H/nobody.cert: No such file or directory (nobody is not trusted here)" err &&
	test_expect_code 1 zcnc keys -c hub2.cfg revoke hub2 2>err &&
	grep -q "^zcnc: hub2 is this host.s own key" err &&
	test_expect_code 1 zcnc keys -c hub2.cfg accept ALL 2>err && grep -q "^zcnc: .ALL. is not a valid name" err &&
	zcnc keys -c hub2.cfg list >out 2>err && grep -q "^zcnc: no pending requests" err &&
	zcnc keys --help >out && grep -q "^usage: zcnc keys" out
'

test_expect_success 'an agent with enroll = on needs its own public cert' '
	stop_agent e1 &&
	rm "$E/e1.cert" &&
	test_expect_code 1 zcnc agent -c e1.cfg 2>err &&
	grep -q "agent/enroll: .*e1.cert.*(enrollment sends this node.s cert" err
'

test_done
