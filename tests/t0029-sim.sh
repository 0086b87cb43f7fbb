#!/bin/sh
test_description='the node simulator: hundreds of simulated nodes beside real agents, each reached once, refused without a trusted key'
. "$(dirname "$0")/test-lib.sh"

# tests/zc-sim (doc/zc-sim.md) holds many agents' links in one process:
# each simulated node has its own key pair, DEALER and CURVE session,
# and answers ping and exec as an agent does (exec without running
# anything, unless --fork). Here: hub1 with $N simulated nodes sim-00001
# ... and two real agents, n1 and n2.
ZC_SIM=$ZCNC_BUILD/tests/zc-sim
test -x "$ZC_SIM" || skip_all "no simulator at $ZC_SIM (build tests/zc-sim: doc/zc-sim.md)"
test -x "$ZC_TESTHUB" && test_set_prereq TESTHUB
test -x "$ZC_RAWSEND" && test_set_prereq RAWSEND
N=${ZCNC_SIM_NODES:-300}

# start_sim NAME HUB ARGS...: runs `zc-sim run --json ARGS` against HUB in
# the background: its output (JSON status lines) in SCRATCH/NAME.out,
# its log in SCRATCH/NAME.log, its PID in SCRATCH/NAME.pid and, like a
# daemon's, in the list of processes stopped at exit.
start_sim () {
	local name=$1 hub=$2 pid
	shift 2
	"$ZC_SIM" run --json --hub "$hub@$(hub_endpoint "$hub")" "$@" \
		>"$SCRATCH/$name.out" 2>"$SCRATCH/$name.log" </dev/null &
	pid=$!
	echo "$pid" >"$SCRATCH/$name.pid"
	zc_pids="$zc_pids $pid"
}

# sim_up NAME COUNT: waits (bounded) until the simulator NAME said its
# COUNT nodes are all welcomed by their hub.
sim_up () {
	WAIT_TRIES=600 zc_wait_started "$1" "grep -q '^up $2 of $2 in' '$SCRATCH/$1.out'"
}

# sim_status NAME: has the simulator NAME print its counters (SIGUSR1)
# and prints them: one JSON object.
sim_status () {
	local before
	before=$(grep -c '^{' "$SCRATCH/$1.out")
	kill -USR1 "$(cat "$SCRATCH/$1.pid")" &&
	WAIT_TRIES=50 wait_for "test \$(grep -c '^{' '$SCRATCH/$1.out') -gt $before" &&
	grep '^{' "$SCRATCH/$1.out" | tail -n 1
}

# sim_counter NAME KEY: one of its counters, fresh.
sim_counter () {
	sim_status "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# sim_names PREFIX COUNT: PREFIX-00001 ... one per line.
sim_names () {
	seq -f "$1-%05g" 1 "$2"
}

test_expect_success "setup: hub1, $N simulated nodes and 2 real agents, all welcomed" '
	make_keys --hub hub1 &&
	make_keys n1 n2 rogue &&
	"$ZC_SIM" keygen --keys "$KEYS" --prefix sim --count $N &&
	test -s "$KEYS/sim-00001.cert" && test -s "$KEYS/sim-00001.cert_secret" &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent n2 &&
	start_sim sim hub1 --keys "$KEYS" --prefix sim --count $N --received-file "$SCRATCH/sim.received" &&
	sim_up sim $N &&
	grep "^up" sim.out
'

test_expect_success "the simulator writes key pairs as zcnc keygen does" '
	make_keys -d real one &&
	sed -e "s/\".*\"/\"\"/" real/one.cert >expect &&
	sed -e "s/\".*\"/\"\"/" "$KEYS/sim-00007.cert" >actual &&
	test_cmp expect actual &&
	sed -e "s/\".*\"/\"\"/" real/one.cert_secret >expect &&
	sed -e "s/\".*\"/\"\"/" "$KEYS/sim-00007.cert_secret" >actual &&
	test_cmp expect actual &&
	test "$(stat -c %a "$KEYS/sim-00007.cert_secret")" = 600 &&
	test_must_fail "$ZC_SIM" keygen --keys "$KEYS" --prefix sim --count 1 2>err &&
	grep "sim-00001.cert exists; refusing to overwrite" err
'

test_expect_success "trigger ALL from a real agent reaches each of the $((N + 2)) nodes exactly once, with every result" '
	zcnc_as n1 trigger -t 60 --json ALL:true >out &&
	test_line_count = $((N + 2)) out &&
	{ echo n1; echo n2; sim_names sim $N; } | sort >expect &&
	python3 -c "import json; [print(json.loads(l)[\"node\"]) for l in open(\"out\")]" | sort >actual &&
	test_cmp expect actual &&
	test_json out "all(j[\"state\"] == \"done\" and j[\"exit\"] == 0 for j in L)"
'

test_expect_success "the simulator counts $N jobs, one per node, no duplicate once the origin ACKed every result" '
	WAIT_TRIES=100 wait_for "test \$(sim_counter sim acks_received) = $N" &&
	sim_status sim >status &&
	cat status &&
	test_json status "J[\"reqs\"] == $N and J[\"reqs_min\"] == 1 and J[\"reqs_max\"] == 1" &&
	test_json status "J[\"duplicates\"] == 0 and J[\"refused\"] == 0 and J[\"errors\"] == 0" &&
	test_json status "J[\"replies\"] == $N and J[\"reply_resends\"] == 0 and J[\"up\"] == $N"
'

test_expect_success "a broadcast ping through the socket returns $((N + 2)) answers, each node once" '
	printf "%s\n" "{\"to\": \"ALL\", \"method\": \"ping\", \"wait\": 60}" |
		sock_talk "$SCRATCH/n2/zcnc.sock" $((N + 4)) 90 >answer &&
	python3 -c "
import json
lines = [json.loads(l) for l in open(\"answer\")]
jobs = [j for j in lines if \"state\" in j]
nodes = sorted(j[\"node\"] for j in jobs)
assert len(jobs) == $N + 2 and len(set(nodes)) == $N + 2, (len(jobs), len(set(nodes)))
assert all(j[\"state\"] == \"done\" and j[\"method\"] == \"ping\" for j in jobs)
assert lines[-1] == {\"end\": True, \"pending\": []}, lines[-1]
print(\"%d pings answered\" % len(jobs))
" &&
	WAIT_TRIES=100 wait_for "test \$(sim_counter sim acks_received) = $((2 * N))" &&
	sim_status sim >status &&
	test_json status "J[\"reqs\"] == 2 * $N and J[\"reqs_min\"] == 2 and J[\"reqs_max\"] == 2 and J[\"duplicates\"] == 0"
'

test_expect_success 'a PING for a simulated node gets its PONG' '
	zcnc_as n1 ping -t 10 sim-00123 >out &&
	grep "^pong from sim-00123 in" out
'

test_expect_success 'the simulator counts what each node received; SIGUSR2 starts the counts again' '
	sim_status sim >before &&
	test_json before "J[\"rx_node_median\"] > 0 and J[\"rx_node_max\"] >= J[\"rx_node_median\"]" &&
	test_json before "J[\"rx_bytes\"] >= $N * J[\"rx_node_median\"] and J[\"rx_messages\"] >= 2 * $N" &&
	kill -USR2 "$(cat "$SCRATCH/sim.pid")" &&
	WAIT_TRIES=50 wait_for "grep -q \"received counts start again (SIGUSR2)\" sim.log" &&
	zcnc_as n1 trigger -t 30 sim-00123:"true $(printf "%03000d" 0)" &&
	sim_status sim >after &&
	cat after &&
	test_json after "J[\"rx_node_max_name\"] == \"sim-00123\" and J[\"rx_node_max\"] > 3000" &&
	test_json after "J[\"rx_node_median\"] < 1000 and J[\"rx_window_s\"] < J[\"elapsed\"]" &&
	test_line_count = $N sim.received &&
	max=$(python3 -c "import json; print(json.load(open(\"after\"))[\"rx_node_max\"])") &&
	grep "^sim-00123 $max [0-9]*\$" sim.received
'

test_expect_success RAWSEND 'garbage for a simulated node from a trusted peer is refused or counted; the node goes on' '
	"$ZC_RAWSEND" -s 29 -t sim-00042 "$(hub_endpoint hub1)" "$KEYS/hub1.cert" "$KEYS/rogue.cert_secret" 300 &&
	sim_status sim >status &&
	test_json status "J[\"refused\"] >= 1 and J[\"up\"] == $N" &&
	grep "refused job [0-9A-Z]*\.sim-00042 from rogue" sim.log &&
	zcnc_as n1 trigger -t 30 sim-00042:true
'

test_expect_success 'a simulated node whose key the hub does not hold is refused, and never welcomed' '
	mkdir -p badkeys &&
	cp "$KEYS/hub1.cert" badkeys/ &&
	"$ZC_SIM" keygen --keys badkeys --prefix bad --count 1 &&
	key=$(sed -n "s/^ *public-key = \"\(.*\)\"\$/\1/p" badkeys/bad-00001.cert) &&
	test -n "$key" &&
	start_sim bad hub1 --keys badkeys --prefix bad --count 1 &&
	printf "refused CURVE key %s from 127.0.0.1\n" "$key" >refusal &&
	WAIT_TRIES=100 wait_for "grep -F -f refusal hub1.log" &&
	WAIT_TRIES=100 wait_for "test \$(sim_counter bad no_handshake) = 1" &&
	sim_status bad >status &&
	cat status &&
	test_json status "J[\"up\"] == 0 and J[\"welcomed\"] == 0 and J[\"handshakes\"] == 0" &&
	! grep "node bad-00001" hub1.log &&
	zcnc_as n1 nodes --json >nodes &&
	! grep bad-00001 nodes &&
	grep "bad-00001: the hub refused its key: is bad-00001.cert in the keys directory of hub hub1" bad.log
'

test_expect_success 'with --fork, exec really runs: output and exit status come back' '
	"$ZC_SIM" keygen --keys "$KEYS" --prefix fork --count 3 &&
	start_sim fork hub1 --keys "$KEYS" --prefix fork --count 3 --fork &&
	sim_up fork 3 &&
	WAIT_TRIES=100 wait_for nodes_online n1 fork-00001 fork-00002 fork-00003 &&
	test_expect_code 1 zcnc_as n1 trigger -t 30 "fork-*:echo ran as \$ZCNC_JOB_ID; exit 3" >out &&
	test_line_count = 3 out &&
	for name in fork-00001 fork-00002 fork-00003; do
		grep "^$name: ran as [0-9A-Z]*\.$name\$" out || return 1
	done &&
	test_expect_code 7 zcnc_as n1 trigger -t 30 --json fork-00002:"echo out; echo err >&2; exit 7" >json &&
	test_json json "J[\"exit\"] == 7 and J[\"stdout\"] == \"out\\n\" and J[\"stderr\"] == \"err\\n\"" &&
	test "$(sim_counter fork forked)" = 4
'

test_expect_success TESTHUB 'a job a hub replays is ACKed and answered again from memory, never run twice' '
	make_keys --hub hub2 &&
	make_keys n3 &&
	"$ZC_SIM" keygen --keys "$KEYS" --prefix rep --count 1 &&
	export ZC_TESTHUB_REPLAY=1 &&
	zc_program=$ZC_TESTHUB &&
	start_hub hub2 &&
	unset zc_program ZC_TESTHUB_REPLAY &&
	start_agent n3 hub2 &&
	start_sim rep hub2 --keys "$KEYS" --prefix rep --count 1 --fork &&
	sim_up rep 1 &&
	zcnc_as n3 trigger -t 30 rep-00001:"echo first >>$SCRATCH/ran" &&
	zcnc_as n3 trigger -t 30 rep-00001:"echo second >>$SCRATCH/ran" &&
	grep "testhub: replaying the first REQ" hub2.log &&
	WAIT_TRIES=100 wait_for "test \$(sim_counter rep duplicates) = 1" &&
	printf "%s\n" first second >expect &&
	test_cmp expect ran &&
	sim_status rep >status &&
	test_json status "J[\"reqs\"] == 2 and J[\"forked\"] == 2 and J[\"acks_sent\"] == 1"
'

test_expect_success 'SIGTERM: the simulator says its counters, says BYE for each node and exits 0' '
	zc_stop sim TERM &&
	tail -n 1 sim.out >status &&
	test_json status "J[\"status\"] == \"exit\" and J[\"nodes\"] == $N" &&
	WAIT_TRIES=100 wait_for "test \$(grep -c \"node sim-[0-9]* is offline (clean exit)\" hub1.log) = $N"
'

test_expect_success 'a hub raises its limit on open files to the hard limit, and warns when that is low' '
	hard=$(ulimit -H -n) &&
	test "$hard" -gt 1100 &&
	make_keys --hub hub3 hub4 &&
	printf "#!/bin/sh\nulimit -S -n 256 && exec \"%s\" \"\$@\"\n" "$ZCNC" >low-soft &&
	printf "#!/bin/sh\nulimit -n 1000 && exec \"%s\" \"\$@\"\n" "$ZCNC" >low-hard &&
	chmod +x low-soft low-hard &&
	zc_program=$SCRATCH/low-soft start_hub hub3 &&
	grep "^Max open files  *$hard  *$hard " /proc/$(daemon_pid hub3)/limits &&
	! grep "can hold about" hub3.log &&
	stop_hub hub3 &&
	zc_program=$SCRATCH/low-hard start_hub hub4 &&
	grep "this hub can hold about 936 peers: its limit on open files (RLIMIT_NOFILE) is 1000" hub4.log &&
	stop_hub hub4
'

test_done
