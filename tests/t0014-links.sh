#!/bin/sh
test_description='links: a slow satellite uplink, dual-homed agents failing over, a broadcast crossing an uplink once'
. "$(dirname "$0")/test-lib.sh"

test -x "$ZC_PROXY" || bail_out "no zc-proxy at $ZC_PROXY (build it: make tests/zc-proxy)"

# --------------------------------------------------------------------------
# Helpers (the proxy ones are in test-lib.sh)

# jobs_final AGENT IDS: true when every job listed in IDS ("ID NODE"
# lines, as zcnc send prints them), sent from AGENT, is in a final state
# (not queued, sent or running). Leaves AGENT's jobs in ./jobs.json.
jobs_final () {
	zcnc_as "$1" jobs --json >jobs.json 2>/dev/null &&
	python3 -c '
import json, sys
state = {}
for line in open("jobs.json"):
    job = json.loads(line)
    state[job["id"]] = job["state"]
ids = [line.split()[0] for line in open(sys.argv[1]) if line.strip()]
sys.exit(any(state.get(i, "queued") in ("queued", "sent", "running") for i in ids))
' "$2"
}

# wait_jobs_final AGENT IDS SECS: jobs_final, polled twice a second for at
# most SECS seconds. Prints how many are not final yet when it gives up.
wait_jobs_final () {
	local tries=$(($3 * 2))
	while ! jobs_final "$1" "$2"; do
		tries=$((tries - 1))
		if test "$tries" -le 0; then
			echo "wait_jobs_final: jobs of $2 still not final after $3 s:" >&2
			grep -c '"state":"\(queued\|sent\|running\)"' jobs.json >&2
			return 1
		fi
		sleep 0.5
	done
}

# --------------------------------------------------------------------------
# 1. A satellite link: central <- 600 ms, 64 kbit/s -> site

# The hubs heartbeat every second and give a silent peer 10 s: the link's
# round trip is 1.2 s, plus the time a heartbeat waits behind the bytes
# queued at 8000 bytes/s (a few seconds while 100 jobs and their results
# cross), which 10 s covers with room. The agents sit on their hubs' LAN
# and keep test-lib's fast 0.5 s / 3 s. Measured on loopback: the 100
# jobs take ~3 s, ~16.5 kB crossing towards the site and ~12 kB back.
sat_timers="zcnc/heartbeat = 1"
sat_timeout="zcnc/peer_timeout = 10"
# ZCNC_BIG_RESULT (default 60000; `make check-slow`: 300000) is the size
# of the large result in bytes: 7.5 s of the link at 8000 bytes/s, four
# chunks, so that a small job is sent while it crosses.
big_result=${ZCNC_BIG_RESULT:-60000}

test_expect_success 'setup: central and site, the uplink through the proxy, 3 site agents' '
	make_keys --hub central site &&
	make_keys c1 s1 s2 s3 &&
	start_hub central "$sat_timers" "$sat_timeout" &&
	central=$(hub_endpoint central) &&
	start_proxy px --to "${central#tcp://}" &&
	start_hub site "$sat_timers" "$sat_timeout" \
		"hub/uplink = central@tcp://127.0.0.1:$(cat px.port)" &&
	start_agent c1 central &&
	start_agent s1 site &&
	start_agent s2 site &&
	start_agent s3 site &&
	wait_for nodes_online c1 c1 s1 s2 s3 &&
	wait_for nodes_online s1 c1 s1 s2 s3
'

test_expect_success 'at 600 ms and 64 kbit/s, 100 jobs to the site nodes all complete, each with its own result' '
	proxy_ctl px "delay 600" "rate 8000" &&
	proxy_stats px &&
	i=1 &&
	while test $i -le 100; do
		echo "{\"to\": \"s$(( (i - 1) % 3 + 1 ))\", \"args\": [\"echo job-$i\"]}" || return 1
		i=$((i + 1))
	done >slow.json &&
	start=$(now_ms) &&
	zcnc_as c1 send slow.json >slow.ids &&
	test_line_count = 100 slow.ids &&
	wait_jobs_final c1 slow.ids 75 &&
	echo "100 jobs over the satellite link: $(($(now_ms) - start)) ms" &&
	python3 -c "
import json, sys
jobs = dict((j[\"id\"], j) for j in map(json.loads, open(\"jobs.json\")))
bad = []
for n, line in enumerate(open(\"slow.ids\"), 1):
    jid, node = line.split()
    j = jobs[jid]
    want = (\"s%d\" % ((n - 1) % 3 + 1), \"done\", 0, \"job-%d\n\" % n)
    got = (j[\"node\"], j[\"state\"], j.get(\"exit\"), j.get(\"stdout\"))
    if got != want or node != want[0]:
        bad.append((jid, want, got))
for b in bad:
    print(\"wrong: %s want %r got %r\" % b)
sys.exit(1 if bad else 0)
" &&
	proxy_stats px &&
	cat stats &&
	test_json stats "J[\"resets\"] == 0"
'

test_expect_success 'a large result goes in chunks: a small job behind it is not held up' '
	zcnc_as c1 trigger --async "s1:head -c $big_result /dev/zero | tr \"\\\\000\" x" >big.id &&
	sleep 3 &&
	start=$(now_ms) &&
	zcnc_as c1 trigger -t 30 "s2:echo small" >out &&
	small=$(($(now_ms) - start)) &&
	echo "small job behind a $big_result-byte result at 8000 bytes/s: $small ms" &&
	echo small >expect &&
	test_cmp expect out &&
	test $small -lt 15000 &&
	WAIT_TRIES=900 wait_for job_state_is c1 "$(cat big.id)" done &&
	zcnc_as c1 jobs --json "$(cat big.id)" >big.json &&
	test_json big.json "len(J[\"stdout\"]) == $big_result and set(J[\"stdout\"]) == {\"x\"}"
'

test_expect_success 'the satellite link stayed up throughout (no peer timed out)' '
	! grep "is offline" central.log site.log
'

test_expect_success 'the slow link is torn down' '
	proxy_ctl px "delay 0" "rate 0" &&
	stop_agent c1 && stop_agent s1 && stop_agent s2 && stop_agent s3 &&
	stop_hub site && stop_hub central
'

# --------------------------------------------------------------------------
# 2. Dual-homed agents: a hub dies under a stream of jobs

# hubs_connected AGENT N: AGENT's status shows N hubs, all connected.
hubs_connected () {
	zcnc_as "$1" status --json >status.json 2>/dev/null &&
	test_json status.json "len(J[\"hubs\"]) == $2 and all(h[\"connected\"] for h in J[\"hubs\"])" 2>/dev/null
}

test_expect_success 'setup: hubs h1 and h2, agents a1 and a2 dialling both' '
	make_keys --hub h1 h2 &&
	make_keys a1 a2 &&
	start_hub h1 &&
	start_hub h2 &&
	home1="agent/hub = h1@$(hub_endpoint h1)" &&
	home2="agent/hub = h2@$(hub_endpoint h2)" &&
	start_agent a1 h1 "$home1" "$home2" &&
	start_agent a2 h1 "$home1" "$home2" &&
	test $(grep -c "^    hub = " a1.cfg) = 2 &&
	wait_for hubs_connected a1 2 &&
	wait_for hubs_connected a2 2 &&
	wait_for nodes_online a1 a1 a2
'

# 20 batches of 10 jobs, 0.1 s apart; each job takes 0.2 s, so some run,
# some are on their way and some wait for their ACK when h1 goes, after
# the 8th batch.
test_expect_success 'h1 killed during a stream of 200 jobs: all complete, each marker once' '
	: >stream.ids &&
	batch=1 &&
	while test $batch -le 20; do
		i=1 &&
		while test $i -le 10; do
			echo "{\"to\": \"a2\", \"args\": [\"sleep 0.2; echo m-$batch-$i >>markers\"]}" || return 1
			i=$((i + 1))
		done >batch.json &&
		zcnc_as a1 send batch.json >>stream.ids || return 1
		if test $batch = 8; then kill_hub h1 || return 1; fi
		sleep 0.1
		batch=$((batch + 1))
	done &&
	test_line_count = 200 stream.ids &&
	wait_jobs_final a1 stream.ids 60 &&
	test_json jobs.json "sum(j[\"state\"] == \"done\" for j in L) == 200 and len(L) == 200" &&
	batch=1 &&
	while test $batch -le 20; do
		i=1 &&
		while test $i -le 10; do
			echo "m-$batch-$i" || return 1
			i=$((i + 1))
		done
		batch=$((batch + 1))
	done | sort >expect &&
	sort a2/markers >actual &&
	test_cmp expect actual
'

test_expect_success 'after the failover both agents run on h2; jobs still flow' '
	zcnc_as a1 status --json >status.json &&
	test_json status.json "[(h[\"name\"], h[\"connected\"]) for h in J[\"hubs\"]] == [(\"h1\", False), (\"h2\", True)]" &&
	zcnc_as a1 trigger -t 20 "a2:echo still here" >out &&
	echo "still here" >expect &&
	test_cmp expect out
'

test_expect_success 'the dual-homed mesh is torn down' '
	stop_agent a1 && stop_agent a2 && stop_hub h2
'

# --------------------------------------------------------------------------
# 3. A broadcast crosses the uplink once

# The hubs bc (central) and bs (site), bs dialling bc through the proxy
# bx with no delay. Rather than `trigger ALL:true`, whose REQ is about
# the size of the ACKs that come back down for its results, the message
# carries 4000 bytes of base64 noise as its data (so it cannot shrink, and
# dwarfs heartbeats): one message to one node behind bs, then one to all
# ten; the bytes the proxy carried towards bs ("down") for each are
# compared. Measured on loopback (payload bytes, CURVE and ZMTP framing
# included): one node, 4301 down and 247 up; ten nodes, 4781 down (the
# REQ once, plus an ACK per result) and 1030 up (ten ACKs and results).
# Sent once per node, the REQ alone would be over 40000 bytes.
test_expect_success 'setup: bc and bs chained through a proxy, 10 agents behind bs' '
	make_keys --hub bc bs &&
	make_keys b0 t01 t02 t03 t04 t05 t06 t07 t08 t09 t10 &&
	start_hub bc &&
	bc=$(hub_endpoint bc) &&
	start_proxy bx --to "${bc#tcp://}" &&
	start_hub bs "hub/uplink = bc@tcp://127.0.0.1:$(cat bx.port)" &&
	start_agent b0 bc &&
	for t in t01 t02 t03 t04 t05 t06 t07 t08 t09 t10; do
		start_agent $t bs || return 1
	done &&
	wait_for nodes_online b0 b0 t01 t02 t03 t04 t05 t06 t07 t08 t09 t10
'

test_expect_success 'a job to 10 nodes behind bs sends less than 3x the bytes of a job to 1 towards bs' '
	noise=$(head -c 3000 /dev/urandom | base64 -w 0) &&
	echo "{\"to\": \"t01\", \"args\": [\"wc -c\"], \"data\": \"$noise\"}" >one.json &&
	echo "{\"to\": \"t*\", \"args\": [\"wc -c\"], \"data\": \"$noise\"}" >all.json &&
	up0=$(proxy_figure bx up) && down0=$(proxy_figure bx down) &&
	zcnc_as b0 send -w -t 30 one.json >one.out &&
	up1=$(proxy_figure bx up) && down1=$(proxy_figure bx down) &&
	zcnc_as b0 send -w -t 30 all.json >all.out &&
	up2=$(proxy_figure bx up) && down2=$(proxy_figure bx down) &&
	single_down=$((down1 - down0)) && single_up=$((up1 - up0)) &&
	all_down=$((down2 - down1)) && all_up=$((up2 - up1)) &&
	echo "one node: down $single_down up $single_up; ten nodes: down $all_down up $all_up" &&
	grep "^{" all.out >all.jobs &&
	test_json all.jobs "len(L) == 10 and all(j[\"state\"] == \"done\" and j[\"stdout\"].strip() == \"4000\" for j in L)" &&
	test "$single_down" -ge 4000 &&
	test "$all_down" -lt $((3 * single_down)) &&
	test "$all_up" -gt "$single_up"
'

test_done
