#!/bin/sh
test_description='pub/sub: subjects and wildcards across three chained hubs, interest that decides what crosses a link, the remote semaphore in both orders, presence with reasons, publishers known and filtered'
. "$(dirname "$0")/test-lib.sh"

test -x "$ZC_PROXY" || bail_out "no zc-proxy at $ZC_PROXY (build it: make tests/zc-proxy)"

# h1 <- h2 <- (proxy px) <- h3: h2's uplink is h1, h3's is h2 through
# the proxy, so that the bytes crossing h2 -> h3 are counted ("down").
# Agents: a1 on h1; a2 on h2; a3 and b3 on h3.

test_expect_success 'setup: three chained hubs, the lower link through a proxy, four agents' '
	make_keys --hub h1 h2 h3 &&
	make_keys a1 a2 a3 b3 a4 a5 a6 &&
	start_hub h1 "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_hub h2 "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" "hub/uplink = h1@$(hub_endpoint h1)" &&
	start_proxy px --to "$(hub_endpoint h2 | sed "s|tcp://||")" &&
	start_hub h3 "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" \
		"hub/uplink = h2@tcp://127.0.0.1:$(cat "$SCRATCH/px.port")" &&
	start_agent a1 h1 &&
	start_agent a2 h2 &&
	start_agent a3 h3 &&
	start_agent b3 h3 &&
	wait_for nodes_online a1 a1 a2 a3 b3
'

test_expect_success 'wildcards: a.*.c and a.> across the chain, each message once' '
	start_sub star a3 --json "a.*.c" &&
	start_sub rest b3 --json "a.>" &&
	reach a1 a.probe.c star &&
	reach a1 a.probe rest &&
	zcnc_as a1 pub a.b.c one &&
	zcnc_as a1 pub a.x.y.c two &&
	zcnc_as a1 pub a.b.d three &&
	zcnc_as a1 pub b.b.c four &&
	wait_for "grep -q three $SCRATCH/rest.out" &&
	sleep 0.5 &&
	stop_sub star && stop_sub rest &&
	grep -v probe "$SCRATCH/star.out" >star &&
	test_json star "len(L) == 1 and J[\"subject\"] == \"a.b.c\" and J[\"data\"] == \"one\" and J[\"from\"] == \"a1\" and J[\"auth\"] == \"verified\"" &&
	grep -v probe "$SCRATCH/rest.out" >rest &&
	test_json rest "[m[\"data\"] for m in L] == [\"one\", \"two\", \"three\"]"
'

test_expect_success 'a subject nobody beyond a link wants does not cross it; one that 50 subscribers behind it want crosses once' '
	payload=$(head -c 8000 /dev/zero | tr "\\0" x) &&
	down=$(proxy_figure px down) &&
	for i in 1 2 3 4 5 6 7 8 9 10; do zcnc_as a1 pub nobody.here "$payload" || return 1; done &&
	sleep 1 &&
	after=$(proxy_figure px down) &&
	say "# 10 x 8000 bytes nobody wants: $((after - down)) bytes crossed px" &&
	test $((after - down)) -lt 20000 &&
	for i in $(seq 1 25); do start_sub many$i a3 wanted.here; start_sub more$i b3 wanted.here; done &&
	reach a1 wanted.here many25 && reach a1 wanted.here more25 &&
	sleep 0.5 &&
	down=$(proxy_figure px down) &&
	zcnc_as a1 pub wanted.here "$payload" &&
	wait_for "test \$(grep -l xxxx $SCRATCH/many*.out $SCRATCH/more*.out | wc -l) = 50" &&
	after=$(proxy_figure px down) &&
	say "# one 8000-byte message for 50 subscribers behind px: $((after - down)) bytes crossed" &&
	test $((after - down)) -ge 8000 && test $((after - down)) -lt 16000 &&
	for i in $(seq 1 25); do stop_sub many$i; stop_sub more$i; done
'

test_expect_success 'the semaphore, sub first: sub -o waits on h3 until a1 on h1 publishes' '
	start_sub wait1 a3 -o upload.done &&
	sleep 1 &&
	zc_alive $(cat "$SCRATCH/wait1.sub") &&
	zcnc_as a1 pub --retain 60 upload.done v1 &&
	WAIT_TRIES=100 wait_for "sub_ended wait1" &&
	echo "upload.done: v1" >expect &&
	test_cmp expect "$SCRATCH/wait1.out"
'

test_expect_success 'the semaphore, pub first: a later sub anywhere gets the retained message' '
	zcnc_as a1 pub --retain 60 build.done v7 &&
	sleep 0.5 &&
	zcnc_as a3 sub -o -t 10 build.done >out &&
	echo "build.done: v7" >expect &&
	test_cmp expect out &&
	zcnc_as a3 sub -o -t 10 build.done >out &&
	test_cmp expect out &&
	zcnc_as a2 sub -o -t 10 --json build.done >out &&
	test_json out "J[\"data\"] == \"v7\" and J[\"retained\"] is True"
'

test_expect_success 'pub --clear clears the subject; a retained message without data is one like any other' '
	zcnc_as a1 pub --clear build.done &&
	sleep 0.5 &&
	test_expect_code 1 zcnc_as a3 sub -t 1 build.done >out &&
	test_must_fail test -s out &&
	test_expect_code 2 zcnc_as a1 pub --clear build.done data 2>err &&
	grep "pub --clear needs a SUBJECT and no DATA" err &&
	zcnc_as a1 pub --retain 60 build.done &&
	zcnc_as a3 sub -o -t 10 build.done >out &&
	echo "build.done: " >expect &&
	test_cmp expect out
'

test_expect_success 'sub -t with no message exits 1; -- COMMAND gets ZCNC_SUBJECT, ZCNC_FROM, ZCNC_DATA' '
	test_expect_code 1 zcnc_as a2 sub -t 1 nothing.comes &&
	zcnc_as a1 pub --retain 60 cmd.test "a b \$(c)" &&
	zcnc_as a3 sub -o -t 10 cmd.test -- sh -c "printf \"%s|%s|%s\\n\" \"\$ZCNC_SUBJECT\" \"\$ZCNC_FROM\" \"\$ZCNC_DATA\"; exit 3" >out;
	test $? = 3 &&
	echo "cmd.test|a1|a b \$(c)" >expect &&
	test_cmp expect out
'

test_expect_success 'an agent may not publish under $sys.; bad subjects and patterns are refused clearly' '
	test_expect_code 2 zcnc_as a1 pub "\$sys.online.a1" x 2>err &&
	grep "only hubs publish under \$sys." err &&
	test_expect_code 2 zcnc_as a1 pub "a.*" x 2>err &&
	grep "bad subject" err &&
	test_expect_code 2 zcnc_as a1 pub "a..b" x 2>err &&
	grep "bad subject" err &&
	test_expect_code 2 zcnc_as a1 sub -t 1 "a.>.b" 2>err &&
	grep "bad subject" err &&
	test_expect_code 2 zcnc_as a1 pub --retain -1 a.b x 2>err &&
	grep "retain wants whole seconds" err
'

test_expect_success '--from takes only those publishers' '
	start_sub from a3 --from a2 --json from.test &&
	reach a2 from.test from &&
	zcnc_as a1 pub from.test by-a1 &&
	zcnc_as a2 pub from.test by-a2 &&
	wait_for "grep -q by-a2 $SCRATCH/from.out" &&
	sleep 0.5 &&
	stop_sub from &&
	! grep by-a1 "$SCRATCH/from.out"
'

# pub_many.py SUB_SOCKET PUB_SOCKET: subscribes in batches on one agent,
# publishes 5 messages in one request on another until they come.
cat >"$SCRATCH/pub_many.py" <<'EOF'
import json, socket, sys, time
sub = socket.socket (socket.AF_UNIX, socket.SOCK_STREAM)
sub.connect (sys.argv[1])
sub.sendall (b'{"op":"sub","subject":"many.at.once","batch":true}\n')
sub.settimeout (0.3)
buffered, lines = b"", []
def more ():
    global buffered
    try:
        buffered += sub.recv (65536)
    except socket.timeout:
        pass
    while b"\n" in buffered:
        line, buffered = buffered.split (b"\n", 1)
        lines.append (json.loads (line))
more ()
assert lines.pop (0) == {"subscribed": "many.at.once"}, lines
got, answers = [], []
deadline = time.time () + 15
while time.time () < deadline and len (got) < 5:
    pub = socket.socket (socket.AF_UNIX, socket.SOCK_STREAM)
    pub.connect (sys.argv[2])
    request = {"op": "pub", "subject": "many.at.once", "data": ["m%d" % i for i in range (5)]}
    pub.sendall ((json.dumps (request) + "\n").encode ())
    answers.append (json.loads (pub.makefile ().readline ()))
    pub.close ()
    more ()
    if lines:
        got = lines.pop (0)["data"]
assert answers[-1].get ("count") == 5 and answers[-1].get ("subject") == "many.at.once", answers
assert got == ["m0", "m1", "m2", "m3", "m4"], got
EOF

test_expect_success 'several messages in one pub request; a subscription in batches gets a line per publication' '
	python3 "$SCRATCH/pub_many.py" "$SCRATCH/a3/zcnc.sock" "$SCRATCH/a1/zcnc.sock" &&
	echo "{\"op\":\"pub\",\"subject\":\"x.y\",\"data\":[\"a\",2]}" | sock_talk "$SCRATCH/a1/zcnc.sock" 1 >out &&
	test_json out "J[\"code\"] == \"usage\" and J[\"error\"] == \"\\\"data\\\" must be 1 to 1024 strings\""
'

test_expect_success 'presence: online, clean exit, killed, and a blackholed link, each with its reason, across the chain' '
	start_sub presence a1 --json "\$sys.>" &&
	sleep 1 &&
	start_agent a4 h3 &&
	wait_for "grep -q \"sys.online.a4\" $SCRATCH/presence.out" &&
	stop_agent a4 &&
	wait_for "grep -q \"sys.offline.a4\" $SCRATCH/presence.out" &&
	start_agent a5 h3 &&
	kill_agent a5 &&
	WAIT_TRIES=50 wait_for "grep -q \"sys.offline.a5\" $SCRATCH/presence.out" &&
	start_proxy px6 --to "$(hub_endpoint h3 | sed "s|tcp://||")" &&
	write_config "$SCRATCH/a6.cfg" -- "zcnc/name = a6" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/a6" \
		"zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" \
		"agent/hub = h3@tcp://127.0.0.1:$(cat "$SCRATCH/px6.port")" &&
	zc_start a6 agent && zc_wait_started a6 "agent_connected a6" &&
	wait_for "grep -q \"sys.online.a6\" $SCRATCH/presence.out" &&
	proxy_ctl px6 blackhole &&
	WAIT_TRIES=100 wait_for "grep -q \"sys.offline.a6\" $SCRATCH/presence.out" &&
	stop_sub presence &&
	test_json "$SCRATCH/presence.out" "
		[(m[\"subject\"], json.loads(m[\"data\"])[\"reason\"]) for m in L if m[\"subject\"].split(\".\")[-1] in (\"a4\", \"a5\", \"a6\")] ==
		[(\"\$sys.online.a4\", \"connected\"), (\"\$sys.offline.a4\", \"clean exit\"),
		 (\"\$sys.online.a5\", \"connected\"), (\"\$sys.offline.a5\", \"link lost\"),
		 (\"\$sys.online.a6\", \"connected\"), (\"\$sys.offline.a6\", \"heartbeat timeout\")]
		and all(m[\"from\"] == \"h3\" and m[\"auth\"] == \"verified\" for m in L)" &&
	proxy_ctl px6 pass
'

test_expect_success 'a retained message survives a restart of its hub: the publisher gives it back' '
	make_keys --hub hx && make_keys x1 x2 &&
	port=$(pick_port) &&
	start_hub hx "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" "hub/bind = tcp://127.0.0.1:$port" &&
	start_agent x1 hx &&
	zcnc_as x1 pub --retain 600 deploy.ready yes &&
	stop_hub hx &&
	start_hub hx "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" "hub/bind = tcp://127.0.0.1:$port" &&
	start_agent x2 hx &&
	zcnc_as x2 sub -o -t 10 deploy.ready >out &&
	echo "deploy.ready: yes" >expect &&
	test_cmp expect out
'

test_expect_success 'without a hub, a first nodes waits 5 s for the directory, then answers with what there is' '
	make_keys lonely &&
	port=$(pick_port) &&
	write_config "$SCRATCH/lonely.cfg" -- "zcnc/name = lonely" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/lonely" \
		"agent/hub = h1@tcp://127.0.0.1:$port" &&
	zc_start lonely agent &&
	zc_wait_started lonely "zcnc_as lonely status >/dev/null 2>&1" &&
	start=$(now_ms) &&
	zcnc_as lonely nodes --json >out &&
	took=$(($(now_ms) - start)) &&
	say "# the first nodes without a hub took $took ms" &&
	test $took -ge 4500 && test $took -lt 10000 &&
	test_must_fail test -s out &&
	zcnc_as lonely status --json >status &&
	test_json status "J[\"directory\"][\"subscribed\"] and J[\"directory\"][\"messages\"] == 0"
'

test_done
