#!/bin/sh
test_description='custody relay (relay_via): the site gateway holds jobs and results while the satellite link is down'
. "$(dirname "$0")/test-lib.sh"

# central (agent c1) <- satellite link through the proxy sat -> site (agents
# gw1, the gateway, and s1). Jobs for s1 go with "relay_via": "gw1".
test -x "$ZC_PROXY" || bail_out "no zc-proxy at $ZC_PROXY (build it: make tests/zc-proxy)"

# relay_job ORIGIN TARGET COMMAND: sends one job with relay_via gw1 and
# prints its ID.
relay_job () {
	printf '{"to": "%s", "args": ["%s"], "relay_via": "gw1"}\n' "$2" "$3" |
		zcnc_as "$1" send - | cut -d " " -f 1
}

test_expect_success 'setup: central and site hubs, the satellite link through a proxy' '
	start_satellite c1 gw1 s1
'

test_expect_success 'a job with relay_via runs on its target; the origin gets its result' '
	id=$(relay_job c1 s1 "echo relayed; pwd") &&
	test -n "$id" &&
	wait_for job_state_is c1 "$id" done &&
	zcnc_as c1 jobs --json "$id" >job &&
	test_json job "J[\"node\"] == \"s1\" and J[\"stdout\"] == \"relayed\\n$SCRATCH/s1\\n\"" &&
	grep -q "custody $id .*origin=gw1 target=s1" gw1/audit.log
'

test_expect_success 'the gateway takes custody while the target is away' '
	stop_agent s1 &&
	id=$(relay_job c1 s1 "echo once >>custody.marker") &&
	wait_for job_state_is c1 "$id" running &&
	grep -q "acked $id .*gw1" c1/audit.log
'

test_expect_success 'with the satellite link down, the job runs when the target returns' '
	proxy_ctl sat blackhole &&
	start_agent s1 site &&
	wait_for test -s s1/custody.marker &&
	test_line_count = 1 s1/custody.marker &&
	job_state_is c1 "$id" running
'

test_expect_success 'once the link is back, the origin gets the result, and it ran once' '
	proxy_ctl sat pass &&
	wait_for job_state_is c1 "$id" done &&
	test_line_count = 1 s1/custody.marker &&
	wait_for grep -q "delivered $id .*c1" gw1/audit.log
'

test_expect_success 'a gateway killed -9 while it holds a job delivers it after its restart' '
	stop_agent s1 &&
	id=$(relay_job c1 s1 "echo again >>restart.marker") &&
	wait_for job_state_is c1 "$id" running &&
	kill_agent gw1 &&
	start_agent gw1 site &&
	start_agent s1 site &&
	wait_for job_state_is c1 "$id" done &&
	test_line_count = 1 s1/restart.marker
'

test_expect_success 'a job cancelled while the gateway holds it never runs: the cancel goes first' '
	stop_agent s1 &&
	id=$(relay_job c1 s1 "echo ran >>cancelled.marker") &&
	wait_for job_state_is c1 "$id" running &&
	test_expect_code 124 zcnc_as c1 cancel -t 1 "$id" 2>err &&
	cancel_id=$(sed -n "s/.*the cancel stays queued as //p" err) &&
	test -n "$cancel_id" &&
	wait_for job_state_is c1 "$cancel_id" running &&
	start_agent s1 site &&
	wait_for job_state_is c1 "$id" cancelled &&
	wait_for job_state_is c1 "$cancel_id" done &&
	zcnc_as c1 jobs --json "$id" >job &&
	test_json job "J[\"error\"] in (\"cancelled by c1 before it came\", \"cancelled by c1 before it started\")" &&
	zcnc_as c1 jobs --json "$cancel_id" >job &&
	test_json job "\": cancelled before it\" in J[\"stdout\"]" &&
	test ! -e s1/cancelled.marker
'

test_expect_success 'relay_via must name a node' '
	echo "{\"to\": \"s1\", \"args\": [\"true\"], \"relay_via\": \"-gw\"}" >bad.json &&
	test_must_fail zcnc_as c1 send bad.json 2>err &&
	grep -q "relay_via" err
'

test_done
