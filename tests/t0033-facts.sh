#!/bin/sh
test_description='targeting by facts: nodes advertise built-in facts and labels; --where narrows any target expression at the origin'
. "$(dirname "$0")/test-lib.sh"

# hub1 (central) with the origin c1 and web-1, web-2; hub "site" chained
# to hub1 with db-1, db-2: their facts reach c1 across two hubs.

# fact AGENT NODE KEY: prints the value of fact KEY of NODE in AGENT's
# directory (nothing when it has none).
fact () {
	zcnc_as "$1" nodes --json >"$SCRATCH/.facts" &&
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    node = json.loads(line)
    if node["name"] == sys.argv[2] and sys.argv[3] in node["facts"]:
        print(node["facts"][sys.argv[3]])
' "$SCRATCH/.facts" "$2" "$3"
}

# fact_is AGENT NODE KEY VALUE: for wait_for.
fact_is () {
	test "$(fact "$1" "$2" "$3")" = "$4"
}

test_expect_success 'setup: two chained hubs, nodes with labels on both' '
	make_keys --hub hub1 site &&
	make_keys c1 c2 web-1 web-2 db-1 db-2 &&
	endpoint=tcp://127.0.0.1:$(pick_port) &&
	start_hub hub1 "hub/bind = $endpoint" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_hub site "hub/uplink = hub1@$endpoint" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_agent c1 hub1 &&
	start_agent web-1 hub1 "agent/label env = prod" "agent/label role = \"web server\"" &&
	start_agent web-2 hub1 "agent/label env = staging" &&
	start_agent db-1 site "agent/label env = prod" &&
	start_agent db-2 site "agent/label env = test" &&
	wait_for nodes_online c1 c1 web-1 web-2 db-1 db-2
'

test_expect_success 'an origin sees the labels and built-in facts of nodes behind one hub and two' '
	wait_for fact_is c1 db-1 env prod &&
	wait_for fact_is c1 web-1 env prod &&
	test "$(fact c1 web-1 role)" = "web server" &&
	test "$(fact c1 db-2 env)" = test &&
	test "$(fact c1 db-1 arch)" = "$(uname -m)" &&
	test "$(fact c1 web-2 kernel)" = "$(uname -r)" &&
	test "$(fact c1 db-2 hostname)" = "$(hostname)" &&
	test "$(fact c1 web-1 zcnc)" = "$("$ZCNC" --version | cut -d" " -f2)" &&
	if test -r /etc/os-release; then
		test "$(fact c1 db-1 os)" = "$(. /etc/os-release && echo "$ID")"
	fi
'

test_expect_success 'nodes --facts shows them under each node; --json has "facts" and "functions"' '
	zcnc_as c1 nodes --facts >out &&
	grep -A1 "^web-1 " out >web1 &&
	grep "^    facts: .*arch=$(uname -m) env=prod .*role=\"web server\" " web1 &&
	zcnc_as c1 nodes --json >nodes.json &&
	test_json nodes.json "all(\"facts\" in n and n[\"functions\"] == [] for n in L)"
'

test_expect_success '--where narrows ALL to the nodes with that label, wherever they are' '
	zcnc_as c1 trigger -t 20 --where env=prod "ALL:echo ran" >out &&
	sort out >sorted &&
	printf "db-1: ran\nweb-1: ran\n" >expect &&
	test_cmp expect sorted
'

test_expect_success '--where with a glob value, combined with a target glob' '
	zcnc_as c1 trigger -t 20 --where "env=*t*" "db-*:echo ran" >out &&
	echo "db-2: ran" >expect &&
	test_cmp expect out &&
	zcnc_as c1 trigger -t 20 --where "env=prod" "web-*,db-2:echo ran" >out &&
	echo "web-1: ran" >expect &&
	test_cmp expect out
'

test_expect_success 'several --where must all match; built-in facts count like labels' '
	zcnc_as c1 trigger -t 20 --where "arch=$(uname -m)" --where "env=p*" --where "zcnc=*" \
		"ALL:echo ran" >out &&
	sort out >sorted &&
	printf "db-1: ran\nweb-1: ran\n" >expect &&
	test_cmp expect sorted &&
	zcnc_as c1 trigger -t 20 --where "hostname=$(hostname)" --where "kernel=$(uname -r)" \
		"ALL:true" >out &&
	test_line_count = 0 out
'

test_expect_success 'a node without the key does not match' '
	test_expect_code 3 zcnc_as c1 trigger -t 20 --where role=* "db-*:echo ran" 2>err &&
	grep "zcnc: --where role=\* matched none of the 2 node(s) of .db-\*." err
'

test_expect_success '--where matching none is exit 3 with a message; nothing is sent' '
	test_expect_code 3 zcnc_as c1 trigger -t 20 --where env=nosuch "ALL:touch $SCRATCH/never" 2>err &&
	grep "zcnc: --where env=nosuch matched none of the 5 node(s) of .ALL." err &&
	test_expect_code 3 zcnc_as c1 trigger -t 20 --where env=prod --where os=nosuch "web-1:true" 2>err &&
	grep "zcnc: --where env=prod --where os=nosuch matched none of the 1 node(s) of .web-1." err &&
	zcnc_as c1 jobs --json >jobs &&
	! grep -q never jobs &&
	test ! -e never
'

test_expect_success 'an exact name is narrowed too, and keeps raw output' '
	zcnc_as c1 trigger -t 20 --where env=staging "web-2:echo raw" >out &&
	echo raw >expect &&
	test_cmp expect out &&
	test_expect_code 3 zcnc_as c1 trigger -t 20 --where env=staging "web-1:true" 2>err &&
	grep "matched none of the 1 node(s) of .web-1." err
'

test_expect_success 'a bad --where is a usage error' '
	test_expect_code 2 zcnc_as c1 trigger --where env "ALL:true" 2>err &&
	grep "zcnc: bad --where .env.: expected KEY=GLOB" err &&
	test_expect_code 2 zcnc_as c1 trigger --where "-x=1" "ALL:true" 2>err &&
	grep "a key must start with a letter or digit" err &&
	test_expect_code 2 zcnc_as c1 trigger --where env=a --where env=b "ALL:true" 2>err &&
	grep "zcnc: --where env given twice" err &&
	set -- &&
	for index in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17; do
		set -- "$@" --where "k$index=v"
	done &&
	test_expect_code 2 zcnc_as c1 trigger "$@" "ALL:true" 2>err &&
	grep "zcnc: more than 16 --where" err
'

test_expect_success 'the socket takes "where" as an object; a bad one names the field' '
	submit c1 "{\"to\": \"ALL\", \"args\": [\"true\"], \"where\": {\"env\": \"prod\", \"role\": \"web*\"}}" >ids &&
	test_line_count = 1 ids &&
	test_json .submit "[i[\"node\"] for i in J[\"ids\"]] == [\"web-1\"]" &&
	printf "%s\n" "{\"to\": \"ALL\", \"args\": [\"true\"], \"where\": {\"env\": 7}}" |
		sock_talk c1/zcnc.sock 1 >answer &&
	test_json answer "J[\"field\"] == \"where\" and J[\"code\"] == \"usage\"" &&
	printf "%s\n" "{\"to\": \"ALL\", \"args\": [\"true\"], \"where\": {\"env\": \"nosuch\"}}" |
		sock_talk c1/zcnc.sock 1 >answer &&
	test_json answer "J[\"code\"] == \"nomatch\" and \"matched none\" in J[\"error\"]"
'

test_expect_success 'a label changed in the config reaches the origin after SIGHUP (one hub and two)' '
	sed -i "s/label env = staging/label env = prod/" web-2.cfg &&
	sed -i "s/label env = test/label env = prod/" db-2.cfg &&
	kill -HUP "$(daemon_pid web-2)" "$(daemon_pid db-2)" &&
	wait_for grep -q "labels and functions reloaded: 1 label(s), 0 function(s)" web-2.log &&
	wait_for grep -q "labels and functions reloaded" db-2.log &&
	wait_for fact_is c1 web-2 env prod &&
	wait_for fact_is c1 db-2 env prod &&
	zcnc_as c1 trigger -t 20 --where env=prod "ALL:echo ran" >out &&
	sort out >sorted &&
	printf "db-1: ran\ndb-2: ran\nweb-1: ran\nweb-2: ran\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'a label added on reload reaches the origin; a label removed goes' '
	sed -i "s/label env = prod/label tier = gold/" web-2.cfg &&
	kill -HUP "$(daemon_pid web-2)" &&
	wait_for fact_is c1 web-2 tier gold &&
	test -z "$(fact c1 web-2 env)"
'

test_expect_success 'a config that does not load on SIGHUP keeps the labels before, and says why' '
	cp web-2.cfg web-2.good &&
	sed -i "s/label tier = gold/label os = mine/" web-2.cfg &&
	kill -HUP "$(daemon_pid web-2)" &&
	wait_for grep -q "cannot reload labels and functions: .*web-2.cfg:[0-9]*: agent/label: label os would hide the built-in fact os" web-2.log &&
	cp web-2.good web-2.cfg &&
	zcnc_as c1 trigger -t 20 --where tier=gold "ALL:echo still" >out &&
	echo "web-2: still" >expect &&
	test_cmp expect out
'

test_expect_success 'a label that would hide a built-in fact is refused at start' '
	write_config bad.cfg "zcnc/name = bad" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/bad" \
		"agent/hub = hub1@$endpoint" "agent/label arch = mine" &&
	test_must_fail "$ZCNC" agent -n -c bad.cfg 2>err &&
	grep "bad.cfg:[0-9]*: agent/label: label arch would hide the built-in fact arch" err
'

test_expect_success 'a restarted hub learns the facts again (a new origin sees them at once)' '
	kill_hub hub1 &&
	start_hub hub1 "hub/bind = $endpoint" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	wait_for nodes_online c1 web-1 db-1 &&
	start_agent c2 hub1 &&
	wait_for fact_is c2 web-1 env prod &&
	wait_for fact_is c2 db-1 env prod &&
	zcnc_as c2 trigger -t 20 --where env=prod --where "role=web *" "ALL:echo again" >out &&
	echo "web-1: again" >expect &&
	test_cmp expect out
'

# big advertises some 2 KB; its link to hub1 goes through the proxy bx,
# which counts the bytes.
test_expect_success 'the facts go with the first HELLO and after a change, not with every heartbeat' '
	start_proxy bx --to "$(echo "$endpoint" | sed "s|tcp://||")" &&
	value=$(printf "%0250d" 0) &&
	set -- &&
	for index in 1 2 3 4 5 6 7 8; do
		set -- "$@" "agent/label big$index = $value"
	done &&
	write_config big.cfg "$@" -- "zcnc/name = big" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/big" 		"zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" "agent/workdir = $SCRATCH/big" 		"agent/hub = hub1@tcp://127.0.0.1:$(cat bx.port)" &&
	make_keys big &&
	zc_start big agent &&
	zc_wait_started big "agent_connected big" &&
	wait_for fact_is c1 big big8 "$value" &&
	joined=$(proxy_figure bx up) &&
	test "$joined" -gt 2000 &&
	sleep 5 &&
	idle=$(( $(proxy_figure bx up) - joined )) &&
	echo "10 heartbeats took $idle bytes" &&
	test "$idle" -lt 4000 &&
	sed -i "s/big8 = 0*/big8 = changed/" big.cfg &&
	before=$(proxy_figure bx up) &&
	kill -HUP "$(daemon_pid big)" &&
	wait_for fact_is c1 big big8 changed &&
	test $(( $(proxy_figure bx up) - before )) -gt 1800
'

test_done
