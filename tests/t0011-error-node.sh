#!/bin/sh
test_description='error_node: jobs an origin gives up on are reported to it'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a hub, an origin reporting to n2, and n2' '
	make_keys --hub hub1 &&
	make_keys n1 n2 &&
	start_hub hub1 &&
	start_agent n1 hub1 "agent/error_node = n2" &&
	start_agent n2 &&
	wait_for nodes_online n1 n1 n2
'

test_expect_success 'a job that expires undelivered is reported to the error node' '
	submit n1 "{\"to\":\"n9\",\"args\":[\"true\"],\"expire\":1}" >id &&
	wait_for job_state_is n1 "$(cat id)" expired &&
	wait_for grep -q "\"kind\":\"job\"" n2/errors.log &&
	grep "\"kind\":\"job\"" n2/errors.log >jobs &&
	test_json jobs "len(L) == 1 and J[\"from\"] == \"n1\" and J[\"event\"][\"id\"] == \"$(cat id)\" and J[\"event\"][\"node\"] == \"n9\" and J[\"event\"][\"state\"] == \"expired\" and J[\"event\"][\"error\"] == \"not delivered before it expired\" and J[\"event\"][\"method\"] == \"exec\"" &&
	grep "error event from n1: .*\"kind\":\"job\".*$(cat id)" n2.log
'

test_expect_success 'a job its target reports failed is not reported (the origin did not give up)' '
	submit n1 "{\"to\":\"n2\",\"args\":[\"sleep 5\"],\"method_timeout\":0.5}" >id2 &&
	wait_for job_state_is n1 "$(cat id2)" failed &&
	sleep 0.5 &&
	grep "\"kind\":\"job\"" n2/errors.log >jobs &&
	test_line_count = 1 jobs
'

test_done
