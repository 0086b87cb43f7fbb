#!/bin/sh
test_description='restarts: hubs and agents come and go, the mesh heals'
. "$(dirname "$0")/test-lib.sh"

# The hub gets the agents' quick heartbeat too, so it notices a dead
# agent within 3 s. It binds a port outside the ephemeral range (see
# pick_port), to be restarted on it.

test_expect_success 'setup: a hub and three agents' '
	make_keys --hub hub1 &&
	make_keys n1 n2 n3 &&
	for try in 1 2 3 4 5
	do
		endpoint=tcp://127.0.0.1:$(pick_port) &&
		start_hub hub1 "hub/bind = $endpoint" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
		break
	done &&
	test "$(hub_endpoint hub1)" = "$endpoint" &&
	start_agent n1 &&
	start_agent n2 &&
	start_agent n3 &&
	wait_for nodes_online n1 n1 n2 n3 &&
	agent_pids="$(daemon_pid n1) $(daemon_pid n2) $(daemon_pid n3)"
'

test_expect_success 'a hub killed with SIGKILL can be restarted on the same port' '
	kill_hub hub1 &&
	start_hub hub1 "hub/bind = $endpoint" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	test "$(hub_endpoint hub1)" = "$endpoint"
'

test_expect_success 'the agents reconnect by themselves and ALL: works again' '
	WAIT_TRIES=150 wait_for "agent_connected n1 && agent_connected n2 && agent_connected n3" &&
	wait_for nodes_online n1 n1 n2 n3 &&
	zcnc_as n1 trigger -t 10 "ALL:pwd" >out &&
	sort out >sorted &&
	printf "n1: $SCRATCH/n1\nn2: $SCRATCH/n2\nn3: $SCRATCH/n3\n" >expect &&
	test_cmp expect sorted &&
	test "$(daemon_pid n1) $(daemon_pid n2) $(daemon_pid n3)" = "$agent_pids"
'

test_expect_success 'a job submitted while the hub is down runs once it is back' '
	kill_hub hub1 &&
	zcnc_as n1 trigger --async "n2:echo ran >marker" >id &&
	test_line_count = 1 id &&
	sleep 1 &&
	test ! -e n2/marker &&
	start_hub hub1 "hub/bind = $endpoint" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	WAIT_TRIES=200 wait_for test -e n2/marker &&
	wait_for job_state_is n1 "$(cat id)" done
'

test_expect_success 'a hub stopped with SIGTERM exits 0' '
	stop_hub hub1 &&
	grep "hub hub1 stopped" hub1.log &&
	start_hub hub1 "hub/bind = $endpoint" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	WAIT_TRIES=150 wait_for "agent_connected n1 && agent_connected n2 && agent_connected n3"
'

test_expect_success 'an agent stopped with SIGTERM exits 0 and kills its running jobs' '
	zcnc_as n1 trigger --async "n2:sleep 100 & echo \$! >bg.pid; sleep 100 & echo \$! >fg.pid; wait" >id &&
	wait_for "test -s n2/bg.pid && test -s n2/fg.pid" &&
	bg=$(cat n2/bg.pid) && fg=$(cat n2/fg.pid) &&
	zc_alive $bg && zc_alive $fg &&
	stop_agent n2 &&
	grep "stopping on signal 15" n2.log &&
	WAIT_TRIES=40 wait_for "! zc_alive $bg && ! zc_alive $fg" &&
	test ! -e n2/zcnc.sock
'

test_expect_success 'the job it was running is reported interrupted to its origin' '
	wait_for job_state_is n1 "$(cat id)" interrupted
'

test_expect_success 'a stopped agent says BYE: the hub takes it offline at once' '
	grep "node n2 is offline (clean exit)" hub1.log &&
	WAIT_TRIES=10 wait_for "! nodes_online n1 n2" &&
	zcnc_as n1 nodes --json >out &&
	grep "\"name\":\"n2\",\"online\":false" out
'

test_expect_success 'a restarted agent rejoins and runs jobs' '
	start_agent n2 &&
	wait_for nodes_online n1 n2 &&
	zcnc_as n1 trigger -t 10 n2:pwd >out &&
	echo "$SCRATCH/n2" >expect &&
	test_cmp expect out
'

test_expect_success 'clients exit 125 when the agent died and left its socket file' '
	kill_agent n3 &&
	test -S n3/zcnc.sock &&
	test_expect_code 125 zcnc_as n3 status 2>err &&
	grep "cannot connect to the agent socket" err
'

test_expect_success 'the hub reports a killed agent offline (link lost) before peer_timeout' '
	WAIT_TRIES=60 wait_for "! nodes_online n1 n3" &&
	grep "node n3 is offline (link lost)" hub1.log
'

test_expect_success 'an agent restarted after SIGKILL replaces its stale socket file' '
	start_agent --offline n3 &&
	zcnc_as n3 status --json >out &&
	test_json out "J[\"name\"] == \"n3\""
'

# The hub still holds the killed agent's peer entry (same key, online):
# the HELLO on a new connection must count as a fresh join.
test_expect_success 'an agent restarted at once after SIGKILL rejoins the mesh' '
	WAIT_TRIES=100 wait_for agent_connected n3 &&
	zcnc_as n3 trigger -t 10 n1:pwd >out &&
	echo "$SCRATCH/n1" >expect &&
	test_cmp expect out
'

# n2copy runs with n2's key and name (a cloned host), its own data
# directory and socket.
test_expect_success 'a second agent with the key of a live one is refused and logged; 50 of 50 jobs run on the first' '
	write_config n2copy.cfg -- "zcnc/name = n2" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n2copy" \
		"zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" "agent/hub = hub1@$(hub_endpoint hub1)" \
		"agent/workdir = $SCRATCH/n2copy" &&
	zc_start n2copy agent &&
	wait_for "grep -q \"n2 is already connected from .*; refused another connection with its key from \" hub1.log" &&
	wait_for "grep -q \"hub hub1 refused us: n2 is already connected from \" n2copy.log" &&
	for i in $(seq 1 50); do echo "{\"to\": \"n2\", \"args\": [\"echo $i >>dup.marker\"]}"; done >dup.json &&
	zcnc_as n1 send -w -t 30 dup.json >out &&
	test_line_count = 50 n2/dup.marker &&
	test ! -e n2copy/dup.marker
'

test_expect_success 'its status says why it is not connected' '
	zcnc_as n2copy status --json >out &&
	test_json out "not J[\"hubs\"][0][\"connected\"] and \"refused this connection: n2 is already connected from\" in J[\"hubs\"][0][\"problem\"]"
'

test_expect_success 'once the first is killed, the second takes over within peer_timeout' '
	kill_agent n2 &&
	WAIT_TRIES=30 wait_for agent_connected n2copy &&
	zcnc_as n1 trigger -t 10 n2:pwd >out &&
	echo "$SCRATCH/n2copy" >expect &&
	test_cmp expect out
'

test_done
