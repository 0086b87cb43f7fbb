#!/bin/sh
test_description='zcnc hub-status: what a hub tells its operator through its control socket'
. "$(dirname "$0")/test-lib.sh"

# root (n2) <- uplink - site (n1): a job from n1 to n2 crosses both hubs.

hub_status () {
	zcnc_as site hub-status "$@"
}

test_expect_success 'setup: a root hub and a site hub with one agent each' '
	make_keys --hub root site &&
	make_keys n1 n2 n3 &&
	start_hub root "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_hub site "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" "hub/uplink = root@$(hub_endpoint root)" &&
	start_agent n1 site &&
	start_agent n2 root &&
	wait_for nodes_online n1 n1 n2
'

test_expect_success 'the control socket is in the data directory, for the hub user only' '
	test -S "$SCRATCH/site/hub.sock" &&
	test "$(stat -c %a "$SCRATCH/site/hub.sock")" = 600
'

test_expect_success 'after traffic, --json shows nodes, uplinks, routes and counters' '
	zcnc_as n1 trigger n2:true &&
	zcnc_as n1 trigger n2:true &&
	hub_status --json >status.json &&
	test_line_count = 1 status.json &&
	test_json status.json "J[\"name\"] == \"site\"
		and [(n[\"name\"], n[\"kind\"], n[\"online\"]) for n in J[\"nodes\"]] == [(\"n1\", \"node\", True)]
		and J[\"nodes\"][0][\"address\"] == \"127.0.0.1\" and J[\"nodes\"][0][\"since\"] > 1.5e9
		and all(isinstance(J[\"nodes\"][0][k], int) for k in (\"in_flight\", \"queued\", \"refused\"))
		and [(u[\"name\"], u[\"up\"]) for u in J[\"uplinks\"]] == [(\"root\", True)]
		and {(r[\"node\"], r[\"hub\"], r[\"next\"], r[\"via\"]) for r in J[\"routes\"]}
		    == {(\"n1\", \"site\", \"n1\", \"site\"), (\"n2\", \"root\", \"root\", \"site>root\")}
		and J[\"counters\"][\"forwarded\"] >= 6 and J[\"counters\"][\"malformed\"] == 0
		and J[\"counters\"][\"unknown_key\"] == 0 and J[\"suspended\"] == []
		and J[\"waiters\"] == {\"names\": 0, \"origins\": 0, \"waited\": []}
		and J[\"budget\"][\"limit\"] == 256 << 20 and J[\"directory\"] == 2
		and set(J[\"pubsub\"]) >= {\"published\", \"delivered\", \"forwarded\", \"lost\", \"refused\", \"retained\"}"
'

test_expect_success 'the counters grow with traffic' '
	forwarded=$(python3 -c "import json; print(json.load(open(\"status.json\"))[\"counters\"][\"forwarded\"])") &&
	zcnc_as n1 trigger n2:true &&
	hub_status --json >again.json &&
	test_json again.json "J[\"counters\"][\"forwarded\"] >= $forwarded + 3"
'

# n3 has a key (a job for it leaves its origin) but never connects: the
# site passes the job up and remembers n1 waits; the root answers NOROUTE.
test_expect_success 'a job for an absent node shows up as a waiter and a noroute' '
	zcnc_as n1 trigger --async n3:true >id 2>/dev/null &&
	wait_for "hub_status --json >waiting.json && grep -q \"\\\"waited\\\":\\[\\\"n3\\\"\\]\" waiting.json" &&
	test_json waiting.json "J[\"waiters\"] == {\"names\": 1, \"origins\": 1, \"waited\": [\"n3\"]}" &&
	zcnc_as root hub-status --json >root.json &&
	test_json root.json "J[\"counters\"][\"noroute\"] >= 1 and J[\"waiters\"][\"waited\"] == [\"n3\"]"
'

test_expect_success 'the root hub shows the site hub as a downstream hub' '
	zcnc_as root hub-status --json >root.json &&
	test_json root.json "sorted((n[\"name\"], n[\"kind\"]) for n in J[\"nodes\"] if n[\"online\"])
		== [(\"n2\", \"node\"), (\"site\", \"hub\")] and J[\"uplinks\"] == []"
'

test_expect_success 'human output: a summary line and tables' '
	hub_status >out &&
	grep "^hub site: 1 node(s) and 0 downstream hub(s) connected, 1 of 1 uplink(s) up$" out &&
	grep "^PEER  *KIND  *STATE  *SINCE  *ADDRESS  *IN FLIGHT  *QUEUED  *REFUSED$" out &&
	grep "^n1  *node  *online  *20[0-9-]*T[0-9:]*Z  *127.0.0.1  *[0-9]*  *[0-9]*  *0$" out &&
	grep "^root  *tcp://127.0.0.1:[0-9]*  *up  " out &&
	grep "^n2  *root  *root  *site>root$" out &&
	grep "^messages:  forwarded [1-9][0-9]*, noroute 0, malformed 0, dropped 0, refused over a budget 0$" out &&
	grep "^waiters:   [1-9][0-9]* origin(s) wait for 1 absent name(s): n3$" out &&
	grep "^suspended: none$" out
'

test_expect_success 'a client that sends garbage gets an error and is closed' '
	echo "hello" | sock_talk "$SCRATCH/site/hub.sock" 1 >answer &&
	test_json answer "len(L) == 1 and L[0][\"code\"] == \"usage\"
		and L[0][\"error\"].startswith(\"a request is a JSON object on one line\")"
'

test_expect_success 'an unknown op is answered with an error, with its tag' '
	echo "{\"op\": \"restart\", \"tag\": 7}" | sock_talk "$SCRATCH/site/hub.sock" 1 >answer &&
	test_json answer "J == {\"error\": \"unknown op '"'"'restart'"'"' (the hub'"'"'s socket answers {\\\"op\\\": \\\"status\\\"})\",
		\"code\": \"usage\", \"field\": \"op\", \"tag\": 7}"
'

test_expect_success 'a request line over 64 KiB is refused and the connection closed' '
	python3 -c "print(\"{\\\"op\\\": \\\"\" + \"x\" * 70000 + \"\\\"}\")" |
		sock_talk "$SCRATCH/site/hub.sock" 1 >answer &&
	test_json answer "L == [{\"error\": \"request line longer than 65536 bytes\", \"code\": \"usage\"}]"
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 hub_status extra 2>err &&
	grep "^zcnc: hub-status takes no arguments$" err &&
	test_expect_code 2 hub_status --frobnicate 2>err &&
	grep "^usage: zcnc hub-status \[-c FILE\] \[--json\]$" err
'

test_expect_success 'a config that is not there: exit 125 and the reason' '
	test_expect_code 125 "$ZCNC" hub-status -c "$SCRATCH/nothere.cfg" 2>err &&
	grep "^zcnc: $SCRATCH/nothere.cfg: No such file or directory" err
'

test_expect_success 'the config of an agent is not a hub config' '
	test_expect_code 125 zcnc_as n1 hub-status 2>err &&
	grep "^zcnc: $SCRATCH/n1.cfg: hub/bind is missing" err
'

test_expect_success 'a hub that is not running: exit 125, and what to check' '
	stop_hub site &&
	test_expect_code 125 hub_status 2>err &&
	grep "^zcnc: cannot connect to the hub socket $SCRATCH/site/hub.sock: .* (is \`zcnc hub\` running?)$" err
'

test_expect_success 'hub/socket and hub/socket_group place the socket and open it to a group' '
	group=$(id -gn) &&
	start_hub site "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" "hub/uplink = root@$(hub_endpoint root)" \
		"hub/socket = $SCRATCH/ctl.sock" "hub/socket_group = $group" &&
	test "$(stat -c %a "$SCRATCH/ctl.sock")" = 660 &&
	test ! -e "$SCRATCH/site/hub.sock" &&
	hub_status --json >moved.json &&
	test_json moved.json "J[\"name\"] == \"site\""
'

test_expect_success 'a socket path taken by something else: the hub does not start, and says why' '
	stop_hub site &&
	mkdir -p "$SCRATCH/site" && : >"$SCRATCH/site/hub.sock" &&
	write_config bad.cfg "zcnc/name = site" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/site" \
		"hub/bind = tcp://127.0.0.1:*" &&
	test_expect_code 1 "$ZCNC" hub -c bad.cfg 2>err &&
	grep "bad.cfg: hub/socket: $SCRATCH/site/hub.sock exists and is not a socket (move it away)" err
'

test_done
