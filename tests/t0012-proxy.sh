#!/bin/sh
test_description='zc-proxy, the fault-injecting TCP proxy, on the link between an agent and its hub'
. "$(dirname "$0")/test-lib.sh"

# n1 reaches hub1 through the proxy px, n2 directly: a job between them
# crosses the proxied link once each way. Timings are checked from below
# only (a loaded machine is slower, never faster).

test -x "$ZC_PROXY" || bail_out "no zc-proxy at $ZC_PROXY (build it: make tests/zc-proxy)"


# expect_reset PORT: connects to PORT of 127.0.0.1 and expects an RST
# (it may come before connect() returns).
expect_reset () {
	python3 -c '
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    data = s.recv(1)
except ConnectionResetError:
    sys.exit(0)
sys.exit("expected a reset, got %r" % data)
' "$1"
}

test_expect_success 'setup: a hub, n1 behind the proxy, n2 direct' '
	make_keys --hub hub1 &&
	make_keys n1 n2 &&
	start_hub hub1 &&
	hub=$(hub_endpoint hub1) &&
	start_proxy px --to "${hub#tcp://}" &&
	start_agent n1 hub1 "agent/hub = hub1@tcp://127.0.0.1:$(cat px.port)" &&
	start_agent n2 &&
	wait_for nodes_online n2 n1 n2
'

test_expect_success 'jobs flow through the proxy; its stats count bytes both ways' '
	proxy_stats px &&
	test_json stats "J[\"conns\"] >= 1 and J[\"resets\"] == 0 and J[\"mode\"] == \"pass\"" &&
	up=$(proxy_figure px up) && down=$(proxy_figure px down) &&
	zcnc_as n2 trigger -t 20 "n1:echo via proxy" >out &&
	echo "via proxy" >expect &&
	test_cmp expect out &&
	zcnc_as n1 trigger -t 20 "n2:echo and back" >out &&
	echo "and back" >expect &&
	test_cmp expect out &&
	proxy_stats px &&
	test_json stats "J[\"up\"] > $up and J[\"down\"] > $down"
'

test_expect_success 'with delay 300, a round trip across the proxy takes 600 ms or more' '
	proxy_ctl px "delay 300" &&
	proxy_stats px &&
	start=$(now_ms) &&
	zcnc_as n2 trigger -t 20 n1:true &&
	elapsed=$(($(now_ms) - start)) &&
	echo "round trip: $elapsed ms" &&
	test "$elapsed" -ge 600
'

test_expect_success 'with jitter, bytes still arrive whole and in order' '
	proxy_ctl px "delay 20" "jitter 80" &&
	zcnc_as n2 trigger -t 20 "n1:seq 1 20000" >out &&
	seq 1 20000 >expect &&
	test_cmp expect out &&
	proxy_ctl px "delay 0" "jitter 0"
'

# 1500 random bytes, 2000 in base64: even compressed, the result cannot
# cross at 1000 bytes/s (a bucket of 100 bytes) in less than 1.4 s.
test_expect_success 'with rate 1000, 2000 bytes of output take 1.4 s or more' '
	proxy_ctl px "rate 1000" &&
	proxy_stats px &&
	start=$(now_ms) &&
	zcnc_as n2 trigger -t 30 "n1:head -c 1500 /dev/urandom | base64 -w 0" >out &&
	elapsed=$(($(now_ms) - start)) &&
	echo "round trip: $elapsed ms" &&
	test "$(wc -c <out)" -ge 2000 &&
	test "$elapsed" -ge 1400 &&
	proxy_ctl px "rate 0"
'

test_expect_success 'blackhole: a trigger times out (124); after pass the held job runs once' '
	proxy_ctl px blackhole &&
	proxy_stats px &&
	test_json stats "J[\"mode\"] == \"blackhole\"" &&
	test_expect_code 124 zcnc_as n2 trigger -t 2 "n1:echo ran >>blackhole.marker" 2>err &&
	id=$(sed -n "s/^zcnc: no answer within .*; \\(.*\\) stays queued .*/\\1/p" err) &&
	test -n "$id" &&
	test ! -e n1/blackhole.marker &&
	proxy_ctl px pass &&
	WAIT_TRIES=300 wait_for job_state_is n2 "$id" done &&
	echo ran >expect &&
	test_cmp expect n1/blackhole.marker
'

test_expect_success 'reset: connections get an RST, the agent reconnects, jobs flow' '
	conns=$(proxy_figure px conns) &&
	resets=$(proxy_figure px resets) &&
	proxy_ctl px reset &&
	proxy_stats px &&
	test_json stats "J[\"resets\"] > $resets and J[\"mode\"] == \"pass\"" &&
	wait_for "test \$(proxy_figure px conns) -gt $conns" &&
	zcnc_as n2 trigger -t 20 "n1:echo reconnected" >out &&
	echo reconnected >expect &&
	test_cmp expect out
'

test_expect_success 'refuse: a new connection gets an RST, the open ones keep working' '
	resets=$(proxy_figure px resets) &&
	proxy_ctl px refuse &&
	proxy_stats px &&
	test_json stats "J[\"mode\"] == \"refuse\"" &&
	expect_reset $(cat px.port) &&
	proxy_stats px &&
	test_json stats "J[\"resets\"] >= $resets + 1" &&
	zcnc_as n2 trigger -t 20 "n1:echo still" >out &&
	echo still >expect &&
	test_cmp expect out &&
	proxy_ctl px pass
'

test_expect_success '--schedule runs its commands at their times, in time order' '
	start_proxy px2 --to "${hub#tcp://}" --schedule "0.4:stats;0.2:refuse; 0.6:pass" &&
	wait_for test -s px2.stats &&
	cp px2.stats stats &&
	test_json stats "J[\"mode\"] == \"refuse\"" &&
	wait_for "grep -q \"schedule: at 0.600 s: pass\" px2.log" &&
	proxy_stats px2 &&
	test_json stats "J[\"mode\"] == \"pass\""
'

test_expect_success 'SIGTERM ends the proxy with status 0 and final stats' '
	rm -f px2.stats &&
	zc_stop px2 TERM &&
	test_json px2.stats "J[\"mode\"] == \"pass\" and J[\"conns\"] == 0" &&
	test ! -e px2.ctl
'

test_expect_success 'an upstream refusing connections is logged; the client is closed, the proxy lives' '
	start_proxy px3 --to 127.0.0.1:$(pick_port) &&
	expect_reset $(cat px3.port) &&
	grep "cannot connect to 127.0.0.1:[0-9]*: Connection refused; closing the client" px3.log &&
	zc_alive $(daemon_pid px3) &&
	expect_reset $(cat px3.port) &&
	zc_alive $(daemon_pid px3)
'

test_expect_success 'a non-loopback address is refused with the reason, exit 2' '
	test_expect_code 2 "$ZC_PROXY" --listen 127.0.0.1:0 --to 192.0.2.1:80 2>err &&
	grep "^zc-proxy: --to .192.0.2.1:80.: 192.0.2.1 is not a loopback address" err &&
	test_expect_code 2 "$ZC_PROXY" --listen 0.0.0.0:0 --to 127.0.0.1:80 2>err &&
	grep "0.0.0.0 is not a loopback address" err &&
	test_expect_code 2 "$ZC_PROXY" --listen 127.0.0.1:0 --to "[2001:db8::1]:80" 2>err &&
	grep "2001:db8::1 is not a loopback address" err
'

test_expect_success 'a bad option or value exits 2 naming it; --help prints the usage' '
	test_expect_code 2 "$ZC_PROXY" --bogus 2>err &&
	grep "^zc-proxy: unknown option .--bogus." err &&
	test_expect_code 2 "$ZC_PROXY" --listen 127.0.0.1:0 --to 127.0.0.1:1 --delay soon 2>err &&
	grep "^zc-proxy: --delay: bad value .soon." err &&
	test_expect_code 2 "$ZC_PROXY" --listen 127.0.0.1:0 --to 127.0.0.1:1 --schedule "1:explode" 2>err &&
	grep "^zc-proxy: --schedule: unknown command .explode." err &&
	"$ZC_PROXY" --help >out &&
	grep "^usage: zc-proxy --listen HOST:PORT --to HOST:PORT" out
'

test_done
