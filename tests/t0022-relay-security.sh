#!/bin/sh
test_description='custody relays and end-to-end security: a relay checks who sealed a job for it, forwards results it cannot read, and reports what it gave up'
. "$(dirname "$0")/test-lib.sh"

# c1 at central sends through the custody relay gw1 at the site to s1
# (start_satellite; everyone shares $KEYS). rogue is an agent that gw1
# does not trust: it is added to the hubs' keys only, after gw1 started
# with its own copy of the keys directory.

relay_job () {
	printf '{"to": "%s", "args": ["%s"], "relay_via": "gw1"}\n' "$2" "$3" |
		zcnc_as "$1" send - | cut -d " " -f 1
}

test_expect_success 'setup: c1 -> central ~ site -> gw1, s1, s2' '
	start_satellite c1 gw1 s1 s2
'

test_expect_success 'a custody job for two targets: the relay gives each its own tag; both run and answer' '
	printf "{\"to\": [\"s1\", \"s2\"], \"args\": [\"echo both\"], \"relay_via\": \"gw1\"}\n" |
		zcnc_as c1 send -w -t 20 >out &&
	test "$(grep -c "\"state\":\"done\"" out)" = 2 &&
	test "$(grep -c "\"stdout\":\"both\\\\n\"" out)" = 2
'

test_expect_success 'a custody job runs and its sealed result reaches the origin through the relay' '
	id=$(relay_job c1 s1 "echo through-the-relay") &&
	wait_for job_state_is c1 "$id" done &&
	job_json c1 "$id" | grep -q "\"stdout\":\"through-the-relay\\\\n\"" &&
	zcnc_as gw1 jobs --json >relay-jobs &&
	grep -q "the result is sealed for the job.s origin" relay-jobs &&
	! grep -q "through-the-relay" relay-jobs
'

test_expect_success 'a job its relay purges before delivery ends cancelled at the origin' '
	stop_agent s1 &&
	id=$(relay_job c1 s1 "true") &&
	wait_for job_state_is c1 "$id" running &&
	zcnc_as gw1 queue purge &&
	wait_for job_state_is c1 "$id" cancelled
'

test_expect_success 'a relay refuses custody of a job from an origin it does not trust' '
	mkdir gwkeys &&
	cp "$KEYS"/* gwkeys/ &&
	make_keys rogue &&
	stop_agent gw1 &&
	sed -i "s|keys = $KEYS|keys = $SCRATCH/gwkeys|" gw1.cfg &&
	zc_start gw1 agent && zc_wait_started gw1 "agent_connected gw1" &&
	start_agent rogue central &&
	wait_for nodes_online rogue gw1 &&
	relay_job rogue gw1 "touch $SCRATCH/marker-rogue" >/dev/null &&
	wait_for grep -q "refused custody of a job from rogue: origin rogue is not trusted here" gw1.log &&
	test ! -e marker-rogue
'

test_done
