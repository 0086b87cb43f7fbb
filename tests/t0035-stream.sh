#!/bin/sh
test_description='exec_stream: output reaches the origin while the command runs, in order, complete across reconnects and hub restarts'
. "$(dirname "$0")/test-lib.sh"

test -x "$ZC_PROXY" || bail_out "no zc-proxy at $ZC_PROXY (build it: make tests/zc-proxy)"

# Bytes a command writes in the large-output test (check-slow: 1 GB).
STREAM_BYTES=${ZCNC_STREAM_BYTES:-200000000}

# paced N MS: a command printing 1..N, one line every MS ms (sleep of
# coreutils takes fractions).
paced () {
	echo "i=1; while [ \$i -le $1 ]; do echo \$i; i=\$((i+1)); sleep 0.$2; done"
}

# peak_rss NAME: the highest resident set (kB) daemon NAME has had.
peak_rss () {
	sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$(daemon_pid "$1")/status"
}

test_expect_success 'setup: hub1 with n1 and n2; n3 behind a proxy; hub2 chained under hub1 with n4' '
	make_keys --hub hub1 hub2 &&
	make_keys n1 n2 n3 n4 &&
	hub1_endpoint=tcp://127.0.0.1:$(pick_port) &&
	start_hub hub1 "hub/bind = $hub1_endpoint" &&
	start_agent n1 &&
	start_agent n2 &&
	start_proxy px --to "${hub1_endpoint#tcp://}" &&
	start_agent n3 hub1 "agent/hub = hub1@tcp://127.0.0.1:$(cat px.port)" &&
	start_hub hub2 "hub/uplink = hub1@$hub1_endpoint" &&
	start_agent n4 hub2 &&
	wait_for nodes_online n1 n1 n2 n3 n4
'

test_expect_success 'raw mode: the output and the exit status, as with exec' '
	test_expect_code 3 zcnc_as n1 trigger --stream -t 30 "n2:echo one; echo two >&2; printf three; exit 3" >out 2>err &&
	printf "one\nthree" >expect &&
	test_cmp expect out &&
	echo two >expect &&
	test_cmp expect err
'

test_expect_success 'output arrives while the command still runs' '
	rm -f "$SCRATCH/go" || return 1
	zcnc_as n1 trigger --stream -t 60 "n2:echo started; while ! test -e $SCRATCH/go; do sleep 0.05; done; echo finished" >live.out 2>live.err &
	trigger=$! &&
	wait_for "grep -q started live.out" &&
	! grep -q finished live.out &&
	touch "$SCRATCH/go" &&
	wait $trigger &&
	printf "started\nfinished\n" >expect &&
	test_cmp expect live.out
'

test_expect_success 'prefixed mode: each line whole, prefixed with its node' '
	zcnc_as n1 trigger --stream -t 30 "n2,n4:printf \"a\"; sleep 0.3; printf \"b\\nc\\n\"; printf tail" >out &&
	sort out >sorted &&
	printf "n2: ab\nn2: c\nn2: tail\nn4: ab\nn4: c\nn4: tail\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'through two chained hubs, in order' '
	zcnc_as n1 trigger --stream -t 60 "n4:seq 1 100000" >out &&
	seq 1 100000 >expect &&
	test_cmp expect out
'

test_expect_success 'on the socket: chunks as {"id","node","stream","data"} lines, then the job' '
	echo "{\"to\": \"n2\", \"method\": \"exec_stream\", \"args\": [\"echo hi; sleep 0.2; echo ho >&2\"], \"wait\": 30}" |
	sock_talk "$SCRATCH/n1/zcnc.sock" 5 30 >answers &&
	test_json answers "L[1][\"node\"] == \"n2\" and L[1][\"stream\"] == \"stdout\" and L[1][\"data\"] == \"hi\\n\"" &&
	grep -q "\"stream\":\"stderr\",\"data\":\"ho\\\\n\"" answers &&
	grep -q "\"state\":\"done\"" answers &&
	grep -q "\"end\":true" answers
'

test_expect_success 'the result keeps the first output, as exec does (zcnc jobs)' '
	zcnc_as n1 trigger --stream --json -t 30 "n2:echo kept" >answers &&
	id=$(sed -n "s/.*\"id\":\"\([^\"]*\)\".*\"state\".*/\1/p" answers | head -n 1) &&
	zcnc_as n1 jobs --json "$id" >job &&
	grep -q "\"stdout\":\"kept\\\\n\"" job
'

test_expect_success 'an agent-hub reconnect in mid-stream loses and repeats nothing' '
	: >out || return 1
	zcnc_as n1 trigger --stream -t 90 "n3:$(paced 300 01)" >out 2>err &
	trigger=$! &&
	wait_for "test \$(wc -l <out) -ge 50" &&
	proxy_ctl px reset &&
	wait_for "test \$(wc -l <out) -ge 150" &&
	proxy_ctl px blackhole &&
	sleep 4 &&
	proxy_ctl px pass &&
	wait $trigger &&
	seq 1 300 >expect &&
	test_cmp expect out
'

test_expect_success 'a hub restart in mid-stream loses and repeats nothing' '
	: >out || return 1
	zcnc_as n1 trigger --stream -t 90 "n2:$(paced 300 01)" >out 2>err &
	trigger=$! &&
	wait_for "test \$(wc -l <out) -ge 50" &&
	kill_hub hub1 &&
	start_hub hub1 "hub/bind = $hub1_endpoint" &&
	wait $trigger &&
	seq 1 300 >expect &&
	test_cmp expect out
'

test_expect_success 'method_timeout ends it; the children of its pipelines die with it' '
	cat >msg.json <<-EOF &&
	{"to": "n2", "method": "exec_stream", "method_timeout": 2,
	 "args": ["echo begun; yes zc-stream-yes | cat >/dev/null & sleep 1000 | cat; echo never"]}
	EOF
	test_expect_code 1 zcnc_as n1 send -w -t 30 msg.json >answers &&
	grep -q "\"state\":\"failed\"" answers &&
	grep -q "method_timeout of 2 s exceeded" answers &&
	wait_for "! pgrep -f zc-stream-yes >/dev/null && ! pgrep -x -f \"sleep 1000\" >/dev/null"
'

test_expect_success "a command writing $STREAM_BYTES bytes: all of them arrive, memory stays bounded at both ends" '
	zcnc_as n1 trigger --stream -t 110 "n2:yes zcnc | head -c $STREAM_BYTES" | wc -c >count &&
	echo "$STREAM_BYTES" >expect &&
	test_cmp expect count &&
	echo "peak RSS: origin $(peak_rss n1) kB, target $(peak_rss n2) kB" &&
	test "$(peak_rss n1)" -lt 100000 &&
	test "$(peak_rss n2)" -lt 100000
'

test_done
