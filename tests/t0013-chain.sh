#!/bin/sh
test_description='chained hubs: central <- site <- sub, routes both ways, NOROUTE across the chain, a DAG'
. "$(dirname "$0")/test-lib.sh"

# Hubs heartbeat fast here, so that a hub that goes away is noticed
# within seconds.
fast="zcnc/heartbeat = 0.5"
timeout="zcnc/peer_timeout = 3"

test_expect_success 'setup: three hubs in a chain, an agent on each' '
	make_keys --hub central site sub &&
	make_keys c1 s1 u1 &&
	start_hub central "$fast" "$timeout" &&
	start_hub site "$fast" "$timeout" "hub/uplink = central@$(hub_endpoint central)" &&
	start_hub sub "$fast" "$timeout" "hub/uplink = site@$(hub_endpoint site)" &&
	start_agent c1 central &&
	start_agent s1 site &&
	start_agent u1 sub
'

test_expect_success 'every agent sees every node online, never a hub' '
	wait_for nodes_online c1 c1 s1 u1 &&
	wait_for nodes_online s1 c1 s1 u1 &&
	wait_for nodes_online u1 c1 s1 u1 &&
	zcnc_as c1 nodes --json >nodes.json &&
	! grep -q "\"name\":\"site\"" nodes.json &&
	! grep -q "\"name\":\"sub\"" nodes.json
'

test_expect_success 'zcnc nodes shows the hub path to each node' '
	zcnc_as c1 nodes --json >nodes.json &&
	test_json nodes.json "dict((n[\"name\"], n[\"via\"]) for n in L) == {\"c1\": \"central\", \"s1\": \"central>site\", \"u1\": \"central>site>sub\"}" &&
	zcnc_as u1 nodes >nodes.txt &&
	grep -q "^c1 .*sub>site>central$" nodes.txt
'

test_expect_success 'ALL from the sub-site reaches every node' '
	zcnc_as u1 trigger "ALL:echo hi" >out &&
	sort out >sorted &&
	printf "c1: hi\ns1: hi\nu1: hi\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'ALL from central reaches every node' '
	zcnc_as c1 trigger "ALL:pwd" >out &&
	sort out >sorted &&
	printf "c1: $SCRATCH/c1\ns1: $SCRATCH/s1\nu1: $SCRATCH/u1\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'a job from the sub-site reaches central, and back' '
	zcnc_as u1 trigger "c1:pwd" >out &&
	echo "$SCRATCH/c1" >expect &&
	test_cmp expect out &&
	zcnc_as c1 trigger "u1:pwd" >out &&
	echo "$SCRATCH/u1" >expect &&
	test_cmp expect out
'

test_expect_success 'ping crosses the chain' '
	zcnc_as c1 ping u1 >out &&
	grep -q "u1" out
'

test_expect_success 'a node that leaves is withdrawn along the chain' '
	stop_agent u1 &&
	wait_for nodes_offline c1 u1
'

test_expect_success 'a job for it waits at the origin, and runs once when it is back' '
	zcnc_as c1 trigger --async "u1:echo once >>chain.marker" >id &&
	job=$(cat id) &&
	sleep 1 &&
	job_state_is c1 "$job" queued &&
	start_agent u1 sub &&
	wait_for job_state_is c1 "$job" done &&
	test_line_count = 1 u1/chain.marker
'

test_expect_success 'a job for a node no hub knows yet runs once it joins below the sub-site' '
	zcnc_as c1 trigger --async "late1:echo ran >>late.marker" >id &&
	job=$(cat id) &&
	sleep 1 &&
	job_state_is c1 "$job" queued &&
	make_keys late1 &&
	sleep 1.5 &&
	start_agent late1 sub &&
	wait_for job_state_is c1 "$job" done &&
	test_line_count = 1 late1/late.marker
'

test_expect_success 'a child hub its parent dropped (key out, then back) sends its routes again' '
	mv keys/sub.cert sub.cert.aside &&
	wait_for nodes_offline c1 u1 &&
	mv sub.cert.aside keys/sub.cert &&
	wait_for nodes_online c1 u1 late1 &&
	zcnc_as c1 trigger "u1:echo back" >out &&
	echo back >expect &&
	test_cmp expect out
'

test_expect_success 'a hub with two uplinks (a DAG): ALL reaches each node once' '
	make_keys --hub side &&
	make_keys d1 &&
	start_hub side "$fast" "$timeout" \
		"hub/uplink = central@$(hub_endpoint central)" \
		"hub/uplink = sub@$(hub_endpoint sub)" &&
	start_agent d1 side &&
	wait_for nodes_online c1 c1 s1 u1 d1 &&
	wait_for nodes_online u1 c1 s1 u1 d1 &&
	wait_for nodes_online d1 c1 s1 u1 d1 late1 &&
	zcnc_as u1 trigger "ALL:echo hi" >out &&
	sort out >sorted &&
	printf "c1: hi\nd1: hi\nlate1: hi\ns1: hi\nu1: hi\n" >expect &&
	test_cmp expect sorted &&
	zcnc_as d1 trigger "ALL:echo hi" >out &&
	sort out >sorted &&
	test_cmp expect sorted
'

test_expect_success 'with the middle hub gone, the DAG still routes around it' '
	stop_hub site &&
	wait_for nodes_offline c1 s1 &&
	zcnc_as c1 trigger "u1:echo via-side" >out &&
	echo via-side >expect &&
	test_cmp expect out
'

test_done
