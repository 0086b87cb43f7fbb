#!/bin/sh
test_description='error_node: denials and warnings of every agent reach it, queued while it is away, each once'
. "$(dirname "$0")/test-lib.sh"

# central is the error node of n1 (a target with a policy), n3 (a queue
# of 5 events) and n5 (whose error node, ghost, never exists); n2 sends
# jobs, n4 is n5's twin without an error node, n8 has a key and never
# starts (jobs for it expire). The hub binds a port of its own, to be
# restarted on it.

# errors_has EXPR: true when a line L of central/errors.log makes the
# Python expression EXPR (over e, a line) true.
errors_has () {
	test -s central/errors.log &&
	test_json central/errors.log "any(($1) for e in L)" 2>/dev/null
}

# error_figure AGENT FIELD: a figure of AGENT's error_events in status.
error_figure () {
	zcnc_as "$1" status --json |
	python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["error_events"][sys.argv[1]]))' "$2"
}

# errors_of NODE KIND: the lines of central/errors.log from NODE of KIND,
# one JSON object a line, in errors_of.out.
errors_of () {
	python3 -c '
import json, sys
for line in open("central/errors.log"):
    e = json.loads(line)
    if e["from"] == sys.argv[1] and e["event"].get("kind") == sys.argv[2]:
        print(json.dumps(e, separators=(",", ":")))' "$1" "$2" >errors_of.out
}

start_hub1 () {
	start_hub hub1 "hub/bind = $endpoint" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3"
}

test_expect_success 'setup: a hub, the error node central, agents reporting to it' '
	cat >"$SCRATCH/n1.policy" <<-\EOF &&
	# t0038
	allow n2 exec echo *
	EOF
	make_keys --hub hub1 &&
	make_keys central n1 n2 n3 n4 n5 n8 &&
	for try in 1 2 3 4 5
	do
		endpoint=tcp://127.0.0.1:$(pick_port) &&
		start_hub1 &&
		break
	done &&
	start_agent central &&
	start_agent n1 hub1 "agent/error_node = central" "agent/policy = $SCRATCH/n1.policy" &&
	start_agent n2 &&
	start_agent n3 hub1 "agent/error_node = central" "agent/error_queue = 5" &&
	start_agent n4 &&
	start_agent n5 hub1 "agent/error_node = ghost" "agent/error_queue = 10" &&
	wait_for nodes_online n2 central n1 n2 n3 n4 n5
'

test_expect_success 'a job refused by the policy of its target reaches the error node as a denial' '
	test_expect_code 126 zcnc_as n2 trigger -t 10 --json "n1:touch $SCRATCH/marker" >out &&
	test ! -e marker &&
	id=$(python3 -c "import json; print(json.load(open(\"out\"))[\"id\"])") &&
	wait_for errors_has "e[\"from\"] == \"n1\" and e[\"event\"].get(\"id\") == \"$id\"" &&
	errors_of n1 denied &&
	test_json errors_of.out "len(L) == 1 and J[\"event\"][\"id\"] == \"$id\" and J[\"event\"][\"node\"] == \"n1\"
		and J[\"event\"][\"origin\"] == \"n2\" and J[\"event\"][\"method\"] == \"exec\"
		and J[\"event\"][\"cause\"] == \"policy\" and \"no rule in\" in J[\"event\"][\"reason\"]
		and J[\"event\"][\"text\"].startswith(\"refused job $id from n2: \") and J[\"time\"] > 0" &&
	grep "error event from n1: .*\"kind\":\"denied\"" central.log &&
	grep "refused job $id from n2" n1.log &&
	! errors_has "e[\"event\"].get(\"kind\") == \"warning\" and \"refused job\" in e[\"event\"][\"text\"]"
'

test_expect_success 'a warning and an error of an agent reach the error node' '
	submit n1 "{\"to\":\"n9\",\"args\":[\"true\"],\"expire\":2}" >id &&
	wait_for errors_has "e[\"from\"] == \"n1\" and e[\"event\"][\"kind\"] == \"warning\" and \"waits for n9.cert\" in e[\"event\"][\"text\"]" &&
	echo "allow everything" >"$SCRATCH/n1.policy" &&
	kill -HUP "$(daemon_pid n1)" &&
	wait_for errors_has "e[\"from\"] == \"n1\" and e[\"event\"][\"kind\"] == \"error\" and e[\"event\"][\"text\"].startswith(\"cannot reload the policy: \")" &&
	printf "allow n2 exec echo *\n" >"$SCRATCH/n1.policy" &&
	kill -HUP "$(daemon_pid n1)" &&
	wait_for errors_has "e[\"event\"].get(\"id\") == \"$(cat id)\" and e[\"event\"][\"kind\"] == \"job\" and e[\"event\"][\"state\"] == \"expired\""
'

test_expect_success 'a message the policy keeps from a subscriber command is reported as a denial' '
	start_sub printed n1 --json "deploy.*" &&
	start_sub command n1 "deploy.*" -- touch "$SCRATCH/ran" &&
	reach n2 deploy.probe printed &&
	zcnc_as n2 pub deploy.web v1 &&
	wait_for errors_has "e[\"event\"].get(\"subject\") == \"deploy.web\"" &&
	errors_of n1 denied &&
	grep "\"subject\":\"deploy.web\"" errors_of.out >denied &&
	test_json denied "len(L) == 1 and J[\"event\"][\"origin\"] == \"n2\" and J[\"event\"][\"method\"] == \"sub\"
		and J[\"event\"][\"cause\"] == \"policy\" and \"id\" not in J[\"event\"]" &&
	test ! -e ran &&
	stop_sub command && stop_sub printed
'

test_expect_success 'events raised while the error node is away arrive once each when it is back, across a kill -9 of their agent and of the hub' '
	stop_agent central &&
	: >ids &&
	for n in 1 2 3 4 5
	do
		test_expect_code 126 zcnc_as n2 trigger -t 10 --json "n1:touch $SCRATCH/away$n" >out &&
		python3 -c "import json; print(json.load(open(\"out\"))[\"id\"])" >>ids || return 1
	done &&
	wait_for "test \$(error_figure n1 queued) -ge 5" &&
	sleep 1 &&
	kill_agent n1 &&
	start_agent n1 hub1 "agent/error_node = central" "agent/policy = $SCRATCH/n1.policy" &&
	test "$(error_figure n1 queued)" -ge 5 &&
	kill_hub hub1 &&
	start_hub1 &&
	WAIT_TRIES=150 wait_for "agent_connected n1 && agent_connected n2" &&
	wait_for nodes_online n2 n1 &&
	for n in 6 7
	do
		test_expect_code 126 zcnc_as n2 trigger -t 10 --json "n1:touch $SCRATCH/away$n" >out &&
		python3 -c "import json; print(json.load(open(\"out\"))[\"id\"])" >>ids || return 1
	done &&
	test_line_count = 7 ids &&
	start_agent central &&
	WAIT_TRIES=200 wait_for "test \$(error_figure n1 queued) = 0" &&
	errors_of n1 denied &&
	test_json errors_of.out "sorted(e[\"event\"][\"id\"] for e in L if e[\"event\"].get(\"id\") in open(\"ids\").read().split()) == sorted(open(\"ids\").read().split())" &&
	test_json central/errors.log "len(set((e[\"from\"], e[\"event\"][\"seq\"]) for e in L)) == len(L)" &&
	grep "error events: .* queued for central" n1.log
'

test_expect_success 'the queue is bounded: the oldest events go, and the next one delivered says how many' '
	submit n3 "{\"to\":\"n8\",\"args\":[\"true\"],\"expire\":1}" >first &&
	wait_for errors_has "e[\"event\"].get(\"id\") == \"$(cat first)\"" &&
	wait_for "test \$(error_figure n3 queued) = 0" &&
	stop_agent central &&
	for n in 1 2 3 4 5 6 7 8 9 10 11 12
	do
		submit n3 "{\"to\":\"n8\",\"args\":[\"true\"],\"expire\":1}" >>jobs || return 1
	done &&
	wait_for "test \$(error_figure n3 dropped) = 7" &&
	test "$(error_figure n3 queued)" = 5 &&
	zcnc_as n3 status >status &&
	grep "^errors:   5 event(s) queued for central, 7 dropped, 0 suppressed" status &&
	grep "error events: the queue for central is full (error_queue = 5)" n3.log &&
	start_agent central &&
	WAIT_TRIES=150 wait_for "test \$(error_figure n3 queued) = 0" &&
	errors_of n3 job &&
	test_json errors_of.out "len(L) == 6 and L[0][\"event\"][\"id\"] == \"$(cat first)\"
		and L[1][\"dropped\"] == 7 and L[1][\"event\"][\"dropped\"] == 7
		and all(\"dropped\" not in e for e in L[2:])
		and [e[\"event\"][\"seq\"] for e in L[1:]] == list(range(L[0][\"event\"][\"seq\"] + 8, L[0][\"event\"][\"seq\"] + 13))
		and all(e[\"event\"][\"id\"] in open(\"jobs\").read().split() for e in L[1:])" &&
	grep "error event from n3: .*(7 event(s) before it never came: dropped at n3)" central.log
'

test_expect_success 'an agent whose error node cannot be reached runs jobs as fast as one without' '
	for n in $(seq 30)
	do
		printf "{\"to\":\"n8\",\"args\":[\"true\"],\"expire\":1}\n"
	done >burst &&
	zcnc_as n5 send burst >/dev/null &&
	wait_for "test \$(error_figure n5 dropped) -ge 20" &&
	wait_for "test \$(error_figure n5 waiting) = true" &&
	test "$(error_figure n5 queued)" = 10 &&
	start=$(now_ms) &&
	for n in $(seq 20); do zcnc_as n2 trigger -t 10 "n4:true" || return 1; done &&
	baseline=$(($(now_ms) - start)) &&
	zcnc_as n5 send burst >/dev/null &&
	start=$(now_ms) &&
	for n in $(seq 20); do zcnc_as n2 trigger -t 10 "n5:true" || return 1; done &&
	elapsed=$(($(now_ms) - start)) &&
	say "# 20 jobs: $baseline ms on n4, $elapsed ms on n5 (error node unreachable)" &&
	test "$elapsed" -lt $((3 * baseline + 2000))
'

test_done
