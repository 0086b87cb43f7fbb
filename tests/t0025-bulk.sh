#!/bin/sh
test_description='bounds in bytes: large payloads travel in chunks that small
messages pass on every link, a hub holds a bounded number of bytes for a peer
that does not read, and a transfer goes on from where a broken link or a
restarted hub left it'
. "$(dirname "$0")/test-lib.sh"

# Sizes: make check-slow sets the issue's full ones.
slow_jobs=${ZCNC_SLOW_JOBS:-30}             # 10 MB jobs for a stopped peer
flood_bytes=${ZCNC_FLOOD_BYTES:-300000000}  # a key sending to itself

# hub_rss NAME: the hub's resident set now, in KiB.
hub_rss () {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$(daemon_pid "$1")/status"
}

# hub_peak NAME: the most it was resident, in KiB.
hub_peak () {
	sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$(daemon_pid "$1")/status"
}

# big_job FILE NODE SIZE COMMAND: writes a socket request for a job to
# NODE with SIZE bytes of stdin.
big_job () {
	python3 -c '
import json, sys
print(json.dumps({"to": sys.argv[1], "method": "exec", "args": [sys.argv[3]],
                  "data": "x" * int(sys.argv[2]), "retries": 100}))' "$2" "$3" "$4" >"$1"
}

# stdout_size AGENT ID: the length of a finished job's stdout.
stdout_size () {
	job_json "$1" "$2" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["stdout"]))'
}

test_expect_success 'setup: a hub and two agents' '
	make_keys --hub hub1 hubs hubr &&
	make_keys n1 n2 n3 s1 s2 r1 r2 &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent n2 &&
	wait_for nodes_online n1 n2
'

test_expect_success 'a one-line job to a node is answered within 200 ms while a 50 MB job travels to it' '
	big_job big.json n2 50000000 "wc -c" &&
	best=999999 &&
	for attempt in 1 2 3; do
		sock_talk n1/zcnc.sock 1 30 <big.json >big.answer &&
		start=$(now_ms) &&
		zcnc_as n1 trigger -t 30 n2:"echo small" >small.out &&
		took=$(($(now_ms) - start)) &&
		echo small >expect && test_cmp expect small.out &&
		say "# one-line job answered in $took ms" &&
		if test $took -lt $best; then best=$took; fi &&
		id=$(python3 -c "import json; print(json.load(open(\"big.answer\"))[\"ids\"][0][\"id\"])") &&
		WAIT_TRIES=600 wait_for job_state_is n1 $id done &&
		job_json n1 $id >big.job &&
		test_json big.job "J[\"stdout\"].strip() == \"50000000\"" || return 1
	done &&
	test $best -lt 200
'

test_expect_success 'a key that sends chunks to itself and never reads: the hub holds no more than its budget' '
	before=$(hub_rss hub1) &&
	{ "$ZC_RAWSEND" --flood-self $flood_bytes --hold 3 "$(hub_endpoint hub1)" \
		"$KEYS/hub1.cert" "$KEYS/n3.cert_secret" 2>flood.err & } &&
	flooder=$! &&
	peak=0 &&
	for tick in $(seq 1 300); do
		rss=$(hub_rss hub1) &&
		if test $rss -gt $peak; then peak=$rss; fi &&
		zc_alive $flooder || break
		sleep 0.1
	done &&
	wait $flooder &&
	cat flood.err &&
	grep "sent .* chunks" flood.err &&
	say "# hub RSS $before KiB before, at most $peak KiB while $flood_bytes bytes came" &&
	test $((peak - before)) -lt 65536 &&
	grep "node n3 is not taking messages fast enough" hub1.log &&
	grep "peer_budget" hub1.log
'

test_expect_success 'a stopped peer while another sends it 10 MB jobs: the hub stays bounded, the jobs wait and run once each' '
	start_hub hubs "zcnc/peer_timeout = 600" &&
	start_agent s1 hubs "agent/queue_max_bytes = 4000000000" &&
	start_agent s2 hubs "zcnc/peer_timeout = 600" &&
	wait_for nodes_online s1 s2 &&
	kill -STOP $(daemon_pid s2) &&
	big_job ten.json s2 10000000 "wc -c >>ran" &&
	for job in $(seq 1 $slow_jobs); do
		sock_talk s1/zcnc.sock 1 30 <ten.json >>ten.answers || return 1
	done &&
	sleep 5 &&
	rss=$(hub_rss hubs) &&
	hwm=$(hub_peak hubs) &&
	say "# hub RSS $rss KiB, peak $hwm KiB, with $slow_jobs jobs of 10 MB for a stopped peer" &&
	test $hwm -lt 131072 &&
	kill -CONT $(daemon_pid s2) &&
	python3 -c "
import json
for line in open(\"ten.answers\"):
    print(json.loads(line)[\"ids\"][0][\"id\"])" >ten.ids &&
	test_line_count = $slow_jobs ten.ids &&
	for id in $(cat ten.ids); do
		WAIT_TRIES=1200 wait_for job_state_is s1 $id done || return 1
	done &&
	test_line_count = $slow_jobs s2/ran &&
	test "$(sort -u s2/ran)" = 10000000
'

test_expect_success 'through a 64 kbit/s link, a small job behind a 1 MiB output is answered within seconds' '
	start_proxy sat --to "$(hub_endpoint hub1 | sed "s|tcp://||")" --rate 8000 &&
	write_config "$SCRATCH/n4.cfg" -- "zcnc/name = n4" "zcnc/keys = $KEYS" \
		"zcnc/data = $SCRATCH/n4" "zcnc/heartbeat = 1" "zcnc/peer_timeout = 20" \
		"agent/hub = hub1@tcp://127.0.0.1:$(cat sat.port)" "agent/workdir = $SCRATCH/n4" &&
	make_keys n4 &&
	zc_start n4 agent && zc_wait_started n4 "agent_connected n4" &&
	wait_for nodes_online n1 n4 &&
	zcnc_as n1 trigger --async n4:"head -c 1048576 /dev/zero | tr \"\\0\" x" >large.id &&
	sleep 3 &&
	start=$(now_ms) &&
	zcnc_as n1 trigger -t 60 n4:"echo small" >small.out &&
	took=$(($(now_ms) - start)) &&
	say "# small job answered in $took ms behind a 1 MiB output at 64 kbit/s" &&
	test $took -lt 10000 &&
	! job_state_is n1 $(cat large.id) done &&
	zcnc_as n4 status --json >status.json &&
	test_json status.json "J[\"hubs\"][0][\"sending\"][\"queued\"] > 0 and J[\"hubs\"][0][\"sending\"][\"window\"] <= 65536" &&
	zcnc_as n4 status >status.txt &&
	grep "^sending:  [0-9]* bytes on their way, [1-9][0-9]* queued, 0 messages refused over the budget$" status.txt &&
	proxy_ctl sat "rate 0" &&
	WAIT_TRIES=600 wait_for job_state_is n1 $(cat large.id) done &&
	test "$(stdout_size n1 $(cat large.id))" = 1048576
'

test_expect_success 'a transfer broken by a link drop and by a hub restart goes on from where it stopped' '
	port=$(pick_port) &&
	start_hub hubr "hub/bind = tcp://127.0.0.1:$port" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_agent r1 hubr &&
	start_proxy link --to 127.0.0.1:$port --rate 1000000 &&
	write_config "$SCRATCH/r2.cfg" -- "zcnc/name = r2" "zcnc/keys = $KEYS" \
		"zcnc/data = $SCRATCH/r2" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" \
		"agent/max_output = 8388608" \
		"agent/hub = hubr@tcp://127.0.0.1:$(cat link.port)" "agent/workdir = $SCRATCH/r2" &&
	zc_start r2 agent && zc_wait_started r2 "agent_connected r2" &&
	wait_for nodes_online r1 r2 &&
	up_before=$(proxy_figure link up) &&
	zcnc_as r1 trigger --async r2:"head -c 8388608 /dev/zero | tr \"\\0\" y" >moved.id &&
	sleep 4 &&
	proxy_ctl link reset &&
	sleep 2 &&
	kill_hub hubr &&
	zc_start hubr hub &&
	WAIT_TRIES=900 wait_for job_state_is r1 $(cat moved.id) done &&
	test "$(stdout_size r1 $(cat moved.id))" = 8388608 &&
	up=$(($(proxy_figure link up) - up_before)) &&
	say "# $up bytes crossed the link for an 8 MiB result" &&
	test $up -lt $((8388608 + 2097152))
'

test_done
