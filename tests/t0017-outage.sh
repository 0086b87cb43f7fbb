#!/bin/sh
test_description='a satellite link blackholed for a minute while jobs are submitted: nothing lost, nothing twice'
. "$(dirname "$0")/test-lib.sh"

# central (agent c1) <- link through the proxy sat -> site (gateway gw1,
# nodes s1 and s2). ZCNC_OUTAGE_SECS (default 8; `make check-slow`: 60)
# is how long the link stays blackholed: no byte either way, no FIN, no
# RST. 8 s is over twice the hubs' peer_timeout (3 s) and longer than the
# jobs' ack_timeout (5 s here), so both hubs give the link up, the jobs
# sent into it go unanswered and are sent again, as in a longer outage.
test -x "$ZC_PROXY" || bail_out "no zc-proxy at $ZC_PROXY (build it: make tests/zc-proxy)"
outage=${ZCNC_OUTAGE_SECS:-8}

# submit ORIGIN TARGET MARKER [RELAY]: one job appending MARKER to
# SCRATCH/TARGET/outage.marker; appends its ID to ids.
submit_job () {
	local relay=
	test -n "$4" && relay=", \"relay_via\": \"$4\""
	printf '{"to": "%s", "args": ["echo %s >>outage.marker"], "ack_timeout": 5%s}\n' "$2" "$3" "$relay" |
		zcnc_as "$1" send - | cut -d " " -f 1 >>ids
}

# all_done: every job in ids is done at c1.
all_done () {
	local id
	for id in $(cat ids); do
		job_state_is c1 "$id" done || return 1
	done
}

test_expect_success 'setup: central and site hubs, the link through a proxy' '
	start_satellite c1 gw1 s1 s2 &&
	: >ids
'

test_expect_success 'before the outage: s2 is away; the gateway takes custody of its jobs' '
	stop_agent s2 &&
	for n in 1 2 3 4 5; do submit_job c1 s2 "before-$n" gw1 || return 1; done &&
	wait_for "test \$(grep -c \" custody \" gw1/audit.log) -ge 5"
'

test_expect_success 'during the outage: jobs are submitted, direct and through the gateway' '
	proxy_ctl sat blackhole &&
	for n in 1 2 3 4 5; do
		submit_job c1 s1 "direct-$n" &&
		submit_job c1 s2 "relayed-$n" gw1 || return 1
	done &&
	test_line_count = 15 ids
'

test_expect_success 'custody jobs for site nodes complete while the link is still down' '
	start_agent s2 site &&
	wait_for "test \$(count_lines \"before-.*\" s2/outage.marker) -eq 5" &&
	test ! -e s1/outage.marker
'

test_expect_success "the link comes back after $outage s; every job completes" '
	sleep $outage &&
	proxy_ctl sat pass &&
	WAIT_TRIES=600 wait_for all_done
'

test_expect_success 'the direct jobs sent into the dead link were sent again' '
	test $(grep -c " sent .* target=s1 " c1/audit.log) -gt 5
'

test_expect_success 'none ran twice, none was lost' '
	for n in 1 2 3 4 5; do
		test $(count_lines "before-$n" s2/outage.marker) -eq 1 &&
		test $(count_lines "relayed-$n" s2/outage.marker) -eq 1 &&
		test $(count_lines "direct-$n" s1/outage.marker) -eq 1 || return 1
	done
'

test_done
