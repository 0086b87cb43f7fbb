#!/bin/sh
test_description='log shipping: followed files reach a collector in order, once each, across a blackholed link, rotation, truncation, a full spool and a restart; a FIFO is not followed'
. "$(dirname "$0")/test-lib.sh"

test -x "$ZC_PROXY" || bail_out "no zc-proxy at $ZC_PROXY (build it: make tests/zc-proxy)"

# ZCNC_BLACKHOLE_SECS (default 30) is how long n1's link is held.
blackhole=${ZCNC_BLACKHOLE_SECS:-30}

# central collects logs.> into collected.jsonl; n1 follows app.log and
# b.log through the proxy px; n2 (through px2) has a small spool.

# collected SUBJECT: the data of the collected lines of SUBJECT, in order.
collected () {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m["subject"] == sys.argv[2]:
        print(m.get("data", ""))
' "$SCRATCH/collected.jsonl" "$1"
}

# count_collected SUBJECT: how many lines of SUBJECT were collected.
count_collected () {
	collected "$1" | wc -l
}

# write_lines FILE FROM TO: appends "line N" for N in FROM..TO.
write_lines () {
	seq -f "line %g" "$2" "$3" >>"$1"
}

# start_follower NAME PROXY [LINE...]: an agent of h1 through PROXY.
start_follower () {
	local name=$1 proxy=$2
	shift 2
	write_config "$SCRATCH/$name.cfg" "$@" -- "zcnc/name = $name" "zcnc/keys = $KEYS" \
		"zcnc/data = $SCRATCH/$name" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" \
		"agent/hub = h1@tcp://127.0.0.1:$(cat "$SCRATCH/$proxy.port")" &&
	zc_start "$name" agent &&
	zc_wait_started "$name" "agent_connected $name"
}

test_expect_success 'setup: a hub, a collector, a follower of two files behind a proxy' '
	make_keys --hub h1 &&
	make_keys central n1 n2 &&
	start_hub h1 "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_agent central h1 "agent/collect = logs.> $SCRATCH/collected.jsonl" &&
	start_proxy px --to "$(hub_endpoint h1 | sed "s|tcp://||")" &&
	: >"$SCRATCH/app.log" && : >"$SCRATCH/b.log" && mkfifo "$SCRATCH/fifo" &&
	start_follower n1 px "agent/follow = $SCRATCH/app.log logs.n1.app" \
		"agent/follow = $SCRATCH/b.log logs.n1.b" "agent/follow = $SCRATCH/fifo logs.n1.fifo"
'

test_expect_success 'a FIFO in a followed file'"'"'s place is left alone, said once (the agent came up: it did not block on it)' '
	test "$(grep -c "follow $SCRATCH/fifo: not a regular file; not read (logged once)" n1.log)" = 1
'

test_expect_success 'new lines reach the collector in order' '
	write_lines "$SCRATCH/app.log" 1 100 &&
	WAIT_TRIES=100 wait_for "test \$(count_collected logs.n1.app) -ge 100" &&
	collected logs.n1.app >got &&
	seq -f "line %g" 1 100 >expect &&
	test_cmp expect got
'

test_expect_success "lines written during a ${blackhole} s blackhole of the link all arrive after it, in order, none twice" '
	proxy_ctl px blackhole &&
	i=101 &&
	end=$(($(date +%s) + blackhole)) &&
	while test $(date +%s) -lt $end && test $i -le 2000; do
		write_lines "$SCRATCH/app.log" $i $((i + 9)) && i=$((i + 10)) && sleep 0.1 || return 1
	done &&
	say "# $((i - 101)) lines written during the blackhole" &&
	test $(count_collected logs.n1.app) = 100 &&
	proxy_ctl px pass &&
	WAIT_TRIES=300 wait_for "test \$(count_collected logs.n1.app) -ge $((i - 1))" &&
	sleep 1 &&
	collected logs.n1.app >got &&
	seq -f "line %g" 1 $((i - 1)) >expect &&
	test_cmp expect got &&
	WAIT_TRIES=100 wait_for "zcnc_as n1 status --json | grep -q \"\\\"spooled\\\":0,\\\"dropped\\\":0}.*\\\"spooled\\\":0\""
'

test_expect_success 'a file rotated by rename is read to its end, then the new one from its start' '
	before=$(count_collected logs.n1.app) &&
	mv "$SCRATCH/app.log" "$SCRATCH/app.log.1" &&
	echo "last of the old" >>"$SCRATCH/app.log.1" &&
	echo "first of the new" >"$SCRATCH/app.log" &&
	WAIT_TRIES=100 wait_for "test \$(count_collected logs.n1.app) -ge $((before + 2))" &&
	collected logs.n1.app | tail -2 >got &&
	printf "%s\n" "last of the old" "first of the new" >expect &&
	test_cmp expect got
'

test_expect_success 'a file truncated in place is read again from its start' '
	write_lines "$SCRATCH/b.log" 1 20 &&
	WAIT_TRIES=100 wait_for "test \$(count_collected logs.n1.b) -ge 20" &&
	: >"$SCRATCH/b.log" &&
	sleep 1 &&
	echo "after truncation" >>"$SCRATCH/b.log" &&
	WAIT_TRIES=100 wait_for "test \$(count_collected logs.n1.b) -ge 21" &&
	collected logs.n1.b | tail -1 >got &&
	echo "after truncation" >expect &&
	test_cmp expect got
'

test_expect_success 'a follower restarted while its file grows ships every line once' '
	stop_agent n1 &&
	echo "while stopped" >>"$SCRATCH/app.log" &&
	zc_start n1 agent && zc_wait_started n1 "agent_connected n1" &&
	echo "after the restart" >>"$SCRATCH/app.log" &&
	WAIT_TRIES=100 wait_for "collected logs.n1.app | grep -q \"after the restart\"" &&
	sleep 1 &&
	collected logs.n1.app | tail -3 >got &&
	printf "%s\n" "first of the new" "while stopped" "after the restart" >expect &&
	test_cmp expect got
'

test_expect_success 'a full spool drops the oldest lines, counts them and says so on the subject' '
	start_proxy px2 --to "$(hub_endpoint h1 | sed "s|tcp://||")" &&
	: >"$SCRATCH/c.log" &&
	start_follower n2 px2 "agent/follow = $SCRATCH/c.log logs.n2.c" "agent/follow_spool = 65536" &&
	proxy_ctl px2 blackhole &&
	for i in $(seq 1 20); do
		seq -f "%05g xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" $(( (i - 1) * 100 + 1 )) $((i * 100)) >>"$SCRATCH/c.log" || return 1
	done &&
	sleep 2 &&
	proxy_ctl px2 pass &&
	WAIT_TRIES=200 wait_for "collected logs.n2.c | grep -q \"^02000 \"" &&
	WAIT_TRIES=50 wait_for "collected logs.n2.c | grep -q \"line(s) of .*c.log dropped\"" &&
	collected logs.n2.c | grep -c "^[0-9]" >count &&
	say "# $(cat count) of 2000 lines kept by a 64 KiB spool" &&
	test $(cat count) -lt 2000 && test $(cat count) -gt 300 &&
	collected logs.n2.c | grep "^[0-9]" | sort -c &&
	zcnc_as n2 status --json >status &&
	test_json status "J[\"follow\"][0][\"dropped\"] > 0" &&
	grep "follow $SCRATCH/c.log: the spool is full" n2.log
'

test_expect_success 'the collector counts what it wrote and skipped' '
	zcnc_as central status --json >status &&
	lines=$(wc -l <"$SCRATCH/collected.jsonl") &&
	test_json status "J[\"collect\"][0][\"written\"] == $lines and J[\"collect\"][0][\"skipped\"] >= 0
		and J[\"collect\"][0][\"file\"].endswith(\"collected.jsonl\")"
'

test_expect_success 'after logrotate moved its file, SIGHUP makes the collector write a new one' '
	mv "$SCRATCH/collected.jsonl" "$SCRATCH/collected.jsonl.1" &&
	kill -HUP "$(daemon_pid central)" &&
	sleep 0.5 &&
	echo "after the rotation" >>"$SCRATCH/app.log" &&
	WAIT_TRIES=100 wait_for "collected logs.n1.app | grep -q \"after the rotation\"" &&
	! grep -q "after the rotation" "$SCRATCH/collected.jsonl.1"
'

# blind_sees: writes a line to app.log and says whether the collector
# without n1's cert has logged why it drops n1's lines.
blind_sees () {
	echo "a line blind cannot verify" >>"$SCRATCH/app.log"
	grep -q "collect: lines of logs.n1.app from n1 dropped: not verified (unknown; is n1.cert in the keys directory?)" \
		"$SCRATCH/blind.log"
}

test_expect_success 'a collector without the follower'"'"'s cert writes none of its lines, and says why' '
	make_keys blind &&
	mkdir "$SCRATCH/blind-keys" &&
	cp "$KEYS"/* "$SCRATCH/blind-keys/" &&
	rm "$SCRATCH/blind-keys/n1.cert" &&
	start_agent blind h1 "zcnc/keys = $SCRATCH/blind-keys" "agent/collect = logs.n1.> $SCRATCH/blind.jsonl" &&
	WAIT_TRIES=100 wait_for blind_sees &&
	test ! -s "$SCRATCH/blind.jsonl" &&
	zcnc_as blind status --json >status &&
	test_json status "J[\"collect\"][0][\"written\"] == 0 and J[\"collect\"][0][\"skipped\"] >= 1" &&
	test $(grep -c "not verified" "$SCRATCH/blind.log") = 1
'

test_expect_success 'a collector that cannot open its file again on SIGHUP writes on to the old one, and says why' '
	mv "$SCRATCH/collected.jsonl" "$SCRATCH/collected.jsonl.2" &&
	mkdir "$SCRATCH/collected.jsonl" &&
	kill -HUP "$(daemon_pid central)" &&
	WAIT_TRIES=50 wait_for "grep -q \"collect logs.>: cannot open $SCRATCH/collected.jsonl again: Is a directory; writing on to the old one\" \"$SCRATCH/central.log\"" &&
	echo "after a failed reopen" >>"$SCRATCH/app.log" &&
	WAIT_TRIES=100 wait_for "grep -q \"after a failed reopen\" \"$SCRATCH/collected.jsonl.2\""
'

test_done
