#!/bin/sh
test_description='pub/sub under abuse: garbage and refused PUB/SUB/UNSUB/INTEREST frames from a raw client, forged publications from a tampering hub, a subscriber that stops reading during 100,000 messages, and the commands of subscribers under a policy'
. "$(dirname "$0")/test-lib.sh"

for tool in "$ZC_RAWSEND" "$ZC_TESTHUB"; do
	test -x "$tool" || bail_out "no $tool (make check builds it)"
done

# Four independent meshes, one per part (each stopped when its part is
# done, so the load test runs alone):
#  - ha with agents pa and sa, and raw clients with the keys rawa (an
#    agent's) and rawh (a hub's): tests/zc-rawsend --pubsub;
#  - hr with agents pr and sr, and three tampering hubs below it
#    (tests/zc-testhub): hf flips a bit of every PUB (agent sf), hg says
#    every PUB is from pk (agent sg; pk is a trusted agent's cert that
#    nobody runs), hu says every PUB is from ghost, a name nobody has a
#    cert for (agent su);
#  - hs with ps publishing to ss, where subscribers read or do not;
#    hq with pq flooding sq;
#  - hp with ok-pub and bad-pub publishing, and runner, whose policy
#    lets only ok-pub on deploy.web run a subscriber's command.

# The number of messages of the slow-subscriber and flood tests (more
# than the few thousand a client's socket and its 256 KiB backlog at the
# agent hold, so that the slow one loses some), and the bound on the RSS
# of their hubs and agents, in kB.
ZCNC_SLOW_MESSAGES=${ZCNC_SLOW_MESSAGES:-100000}
ZCNC_RSS_BOUND_KB=${ZCNC_RSS_BOUND_KB:-102400}

# start_sub, stop_sub and reach are in test-lib.sh.

# pubsub_figure AGENT KEY: one figure of the pubsub object of AGENT's
# status.
pubsub_figure () {
	zcnc_as "$1" status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["pubsub"][sys.argv[1]])' "$2"
}

# stop_line_figure HUB WHAT: the number after WHAT in the line the hub
# logged when it stopped ("malformed", "pub/sub refused", ...).
stop_line_figure () {
	sed -n "s|.* hub $1 stopped (.*[(,;] *$2 \([0-9]*\)[,)].*|\1|p" "$SCRATCH/$1.log"
}

# start_testhub NAME VAR=VALUE [section/key = value]...: NAME as
# tests/zc-testhub with VAR set, a child of hr.
start_testhub () {
	local name=$1 setting=$2 status
	shift 2
	unset ZC_TESTHUB_FLIP ZC_TESTHUB_FROM
	export "$setting"
	zc_program=$ZC_TESTHUB
	start_hub "$name" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" "hub/uplink = hr@$(hub_endpoint hr)" "$@"
	status=$?
	unset zc_program ZC_TESTHUB_FLIP ZC_TESTHUB_FROM
	return $status
}

# rss_kb PID: the resident set of a process, in kB.
rss_kb () {
	sed -n "s/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p" "/proc/$1/status"
}

# ---------------------------------------------------------------------------
# 1. Garbage and refused frames from a raw client

test_expect_success 'setup: hub ha, agents pa and sa, raw keys of an agent and of a hub' '
	make_keys --hub ha rawh &&
	make_keys pa sa rawa &&
	start_hub ha "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_agent pa ha &&
	start_agent sa ha &&
	start_sub watch sa --json "test.>" &&
	reach pa test.probe watch
'

test_expect_success 'a raw agent: malformed PUB/SUB/UNSUB/INTEREST frames are dropped; well-formed ones it may not send are answered ERROR REFUSED' '
	"$ZC_RAWSEND" --pubsub "$(hub_endpoint ha)" "$KEYS/ha.cert" "$KEYS/rawa.cert_secret" >raw-agent.out 2>raw-agent.err &&
	grep "handshake succeeded" raw-agent.err &&
	agent_malformed=$(sed -n "s/^malformed //p" raw-agent.out) &&
	agent_refused=$(sed -n "s/^refused //p" raw-agent.out) &&
	say "# the raw agent sent $agent_malformed malformed frames and $agent_refused to be refused" &&
	test "$agent_malformed" -ge 18 && test "$agent_refused" = 5 &&
	grep "^passed 1$" raw-agent.out &&
	cat >expect <<-\EOF &&
	error 5: PUB refused: only hubs publish under $sys.
	error 5: PUB refused: a PUB from a node names no targets
	error 5: PUB refused: a PUB whose payload is malformed
	error 5: INTEREST refused: INTEREST is for hubs
	error 5: INTEREST refused: INTEREST is for hubs
	errors 5
	EOF
	grep "^error" raw-agent.out >actual &&
	test_cmp expect actual &&
	zc_alive "$(daemon_pid ha)"
'

test_expect_success 'a raw hub key: SUB and UNSUB from a hub, a PUB without its publisher or targets, a retained one that does not decode: refused, no ERROR to a hub' '
	"$ZC_RAWSEND" --pubsub "$(hub_endpoint ha)" "$KEYS/ha.cert" "$KEYS/rawh.cert_secret" >raw-hub.out 2>raw-hub.err &&
	grep "handshake succeeded" raw-hub.err &&
	hub_malformed=$(sed -n "s/^malformed //p" raw-hub.out) &&
	hub_refused=$(sed -n "s/^refused //p" raw-hub.out) &&
	test "$hub_malformed" -ge 18 && test "$hub_refused" = 5 &&
	grep "^passed 0$" raw-hub.out &&
	grep "^errors 0$" raw-hub.out &&
	zc_alive "$(daemon_pid ha)"
'

test_expect_success 'afterwards pa and sa still publish and subscribe; what the raw agent published came stamped with its name; a payload nobody could open was refused by the hub' '
	zcnc_as pa pub test.after fine &&
	wait_for "grep -q fine $SCRATCH/watch.out" &&
	stop_sub watch &&
	grep -v "\"data\":\"probe\"" "$SCRATCH/watch.out" >got &&
	test_json got "[(m[\"subject\"], m[\"from\"], m[\"auth\"], m[\"data\"]) for m in L] ==
		[(\"test.spoof\", \"rawa\", \"unsigned\", \"spoofed\"), (\"test.after\", \"pa\", \"verified\", \"fine\")]" &&
	test "$(pubsub_figure sa forged)" = 0 &&
	grep "refused a PUB from rawa: a PUB whose payload is malformed (logged once per reason)" ha.log &&
	start_sub again sa -o -t 10 test.again &&
	WAIT_TRIES=50 wait_for "zcnc_as pa pub test.again twice >/dev/null && grep -q twice $SCRATCH/again.out" &&
	zc_wait_gone "$(cat "$SCRATCH/again.sub")" 50 &&
	echo "test.again: twice" >expect &&
	test_cmp expect "$SCRATCH/again.out"
'

test_expect_success 'the hub logged each refusal once and its stop line counts every malformed frame and every refusal' '
	grep "refused a PUB from rawa: only hubs publish under \$sys. (logged once per reason)" ha.log &&
	grep "refused a PUB from rawa: a PUB from a node names no targets (logged once per reason)" ha.log &&
	test "$(grep -c "refused an INTEREST from rawa: INTEREST is for hubs" ha.log)" = 1 &&
	grep "refused a SUB from rawh: SUB and UNSUB are for nodes" ha.log &&
	grep "refused a PUB from rawh: a PUB from a hub without its publisher" ha.log &&
	grep "refused a PUB from rawh: a PUB from a hub without target hubs" ha.log &&
	grep "refused a PUB from rawh: malformed PUB payload" ha.log &&
	grep "dropped a malformed message from rawa: bad PUB subject (logged once per key)" ha.log &&
	grep "dropped a malformed message from rawh: bad PUB subject (logged once per key)" ha.log &&
	stop_agent pa && stop_agent sa &&
	stop_hub ha &&
	grep "hub ha stopped" ha.log | zc_comment &&
	test "$(stop_line_figure ha malformed)" = $((agent_malformed + hub_malformed)) &&
	test "$(stop_line_figure ha "pub/sub refused")" = $((agent_refused + hub_refused))
'

# A neighbour hub whose INTEREST payloads do not decode: the hub drops
# them, logs it once per hub and counts them as malformed.
test_expect_success 'setup: hub hi, and a raw hub key sending it three INTERESTs that do not decode' '
	make_keys --hub hi &&
	start_hub hi "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	"$ZC_RAWSEND" --bad-interest 3 "$(hub_endpoint hi)" "$KEYS/hi.cert" "$KEYS/rawh.cert_secret" \
		>bad-interest.out 2>bad-interest.err &&
	grep "^bad-interest 3$" bad-interest.out &&
	wait_for "grep -q \"dropped a malformed INTEREST from hub rawh\" hi.log" &&
	sleep 0.5 &&
	stop_hub hi &&
	grep "hub hi stopped" hi.log | zc_comment
'

test_expect_success 'INTERESTs from a hub that do not decode are logged once, not each time' '
	test "$(grep -c "malformed INTEREST from hub rawh" hi.log)" = 1
'

test_expect_success 'INTERESTs from a hub that do not decode are counted in the stop line' '
	test $(($(stop_line_figure hi malformed) + $(stop_line_figure hi "pub/sub refused"))) = 3
'

# ---------------------------------------------------------------------------
# 2. Forged publications

test_expect_success 'setup: hub hr with pr and sr; tampering hubs hf (flips a bit), hg (from pk), hu (from ghost) below it with sf, sg, su' '
	make_keys --hub hr hf hg hu &&
	make_keys pr sr sf sg su pk &&
	start_hub hr "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_testhub hf ZC_TESTHUB_FLIP=pub &&
	start_testhub hg ZC_TESTHUB_FROM=pk &&
	start_testhub hu ZC_TESTHUB_FROM=ghost &&
	start_agent pr hr &&
	start_agent sr hr &&
	start_agent sf hf &&
	start_agent sg hg &&
	start_agent su hu &&
	wait_for nodes_online pr pr sr sf sg su &&
	start_sub genuine sr --json --from pr "news.>" &&
	start_sub flipped sf --json "news.>" &&
	start_sub as-pk sg --json "news.>" &&
	start_sub from-pk sg --json --from pk "news.>" &&
	start_sub ghost su --json "news.>" &&
	start_sub ghost-from-pr su --json --from pr "news.>" &&
	start_sub ghost-verified su --json --verified "news.>" &&
	reach pr news.probe genuine &&
	reach pr news.probe ghost &&
	WAIT_TRIES=50 wait_for "zcnc_as pr pub news.probe probe >/dev/null &&
		grep -q \"testhub: flipped a bit of a PUB payload on news.probe from pr\" hf.log &&
		grep -q \"testhub: a PUB on news.probe from pr now claims to be from pk\" hg.log"
'

test_expect_success 'a hub that flips a bit of a PUB: the subscriber prints nothing, counts it forged and logs a bad signature' '
	zcnc_as pr pub news.real genuine-data &&
	wait_for "grep -q genuine-data $SCRATCH/genuine.out" &&
	wait_for "grep -q \"flipped a bit of a PUB payload on news.real from pr\" hf.log" &&
	flipped=$(grep -c "testhub: flipped a bit of a PUB payload" hf.log) &&
	wait_for "test \$(pubsub_figure sf forged) = $flipped" &&
	test ! -s "$SCRATCH/flipped.out" &&
	grep "dropped a message on news.probe from pr: bad signature (forged or altered on the way)" sf.log &&
	grep -v "\"data\":\"probe\"" "$SCRATCH/genuine.out" >got &&
	test_json got "len(L) == 1 and J[\"data\"] == \"genuine-data\" and J[\"auth\"] == \"verified\" and J[\"from\"] == \"pr\""
'

test_expect_success 'a hub that passes a PUB off as pk (whose cert the subscriber has): dropped, also by sub --from pk, and counted' '
	wait_for "grep -q \"a PUB on news.real from pr now claims to be from pk\" hg.log" &&
	relabelled=$(grep -c "now claims to be from pk" hg.log) &&
	wait_for "test \$(pubsub_figure sg forged) = $relabelled" &&
	test ! -s "$SCRATCH/as-pk.out" &&
	test ! -s "$SCRATCH/from-pk.out" &&
	grep "dropped a message on news.probe from pk: bad signature (forged or altered on the way)" sg.log
'

test_expect_success 'a hub that passes a PUB off as ghost (no cert here): delivered as "unknown" from ghost; --from pr and --verified do not take it' '
	wait_for "grep -q genuine-data $SCRATCH/ghost.out" &&
	grep genuine-data "$SCRATCH/ghost.out" >got &&
	test_json got "len(L) == 1 and J[\"from\"] == \"ghost\" and J[\"auth\"] == \"unknown\"" &&
	test "$(pubsub_figure su forged)" = 0 &&
	test ! -s "$SCRATCH/ghost-from-pr.out" &&
	test ! -s "$SCRATCH/ghost-verified.out"
'

test_expect_success 'an unsigned PUB is not protected: the one hf flipped arrives altered, marked "unsigned"' '
	zcnc_as pr pub --unsigned news.plain abc &&
	wait_for "grep -q news.plain $SCRATCH/flipped.out" &&
	test_json "$SCRATCH/flipped.out" "len(L) == 1 and J[\"data\"] == \"abb\" and J[\"auth\"] == \"unsigned\"" &&
	for name in genuine flipped as-pk from-pk ghost ghost-from-pr ghost-verified; do stop_sub $name; done &&
	for name in pr sr sf sg su; do stop_agent $name || return 1; done &&
	for name in hf hg hu hr; do stop_hub $name || return 1; done
'

# ---------------------------------------------------------------------------
# 3. A subscriber that does not read

# The load: publishes COUNT messages load.x (data m0, m1, ...) from the
# agent at PUB_SOCKET in batches, each once the two fast readers got the
# one before (a python client of SUB_SOCKET, and FILE, what a `zcnc sub
# --json` writes), while a third client of SUB_SOCKET subscribes and
# reads nothing. Then the slow one reads what waited for it, and one more
# message (load.end) whose "dropped" says how many it lost. Samples the
# RSS of the NAME=PID processes after every batch. Prints a JSON summary.
zc_py_load='
import json, socket, sys, time
pub_path, sub_path, file_path = sys.argv[1], sys.argv[2], sys.argv[3]
count, batch, limit = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
watched = dict(item.split("=") for item in sys.argv[7].split(","))
start = time.time()
deadline = start + limit

class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
    def send(self, data):
        self.sock.settimeout(max(0.1, deadline - time.time()))
        self.sock.sendall(data)
    def lines(self, wait):
        self.sock.settimeout(max(0.001, wait))
        try:
            chunk = self.sock.recv(1 << 20)
        except socket.timeout:
            return []
        if not chunk:
            raise SystemExit("load: the agent closed a connection")
        self.buf += chunk
        *done, self.buf = self.buf.split(b"\n")
        return [json.loads(line) for line in done]
    def first(self, wait):
        end = time.time() + wait
        while time.time() < end:
            got = self.lines(end - time.time())
            if got:
                return got[0]
        raise SystemExit("load: no answer within %s s" % wait)

def rss_kb(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:\t"):
                return int(line.split()[1])
    raise SystemExit("load: no VmRSS for %s" % pid)

peak = dict((name, 0) for name in watched)
def sample():
    for name, pid in watched.items():
        peak[name] = max(peak[name], rss_kb(pid))

subscribe = b"{\"op\":\"sub\",\"subject\":\"load.>\"}\n"
slow = Client(sub_path)
slow.send(subscribe)
assert slow.first(10) == {"subscribed": "load.>"}
fast = Client(sub_path)
fast.send(subscribe)
assert fast.first(10) == {"subscribed": "load.>"}
pub = Client(pub_path)

fast_got = set()
fast_lines = fast_dropped = 0
def read_fast(wait):
    global fast_lines, fast_dropped
    for event in fast.lines(wait):
        if event.get("subject") == "load.x":
            fast_lines += 1
            fast_got.add(event["data"])
        fast_dropped = max(fast_dropped, event.get("dropped", 0))

file_pos = file_lines = 0
def read_file():
    global file_pos, file_lines
    with open(file_path, "rb") as f:
        f.seek(file_pos)
        data = f.read()
    end = data.rfind(b"\n") + 1
    file_lines += data[:end].count(b"\"subject\":\"load.x\"")
    file_pos += end

published = sent = 0
refused = {}
stalled = None
while sent < count and not stalled:
    n = min(batch, count - sent)
    pub.send(b"".join(b"{\"op\":\"pub\",\"subject\":\"load.x\",\"data\":\"m%d\"}\n" % (sent + i) for i in range(n)))
    sent += n
    answers = 0
    while answers < n and time.time() < deadline:
        for answer in pub.lines(deadline - time.time()):
            answers += 1
            if "id" in answer:
                published += 1
            else:
                refused[answer.get("code")] = refused.get(answer.get("code"), 0) + 1
    if answers < n:
        stalled = "answers to the publisher"
        break
    wait_end = min(deadline, time.time() + 20)
    while (fast_lines < published or file_lines < published) and time.time() < wait_end:
        read_fast(0.02)
        read_file()
    sample()
    if fast_lines < published or file_lines < published:
        stalled = "readers after %d published (python %d, zcnc sub %d)" % (published, fast_lines, file_lines)

slow_lines = slow_dropped_before = 0
quiet_until = time.time() + 1.0
while time.time() < min(quiet_until, deadline):
    got = slow.lines(0.2)
    if got:
        quiet_until = time.time() + 1.0
    for event in got:
        slow_lines += event.get("subject") == "load.x"
        slow_dropped_before = max(slow_dropped_before, event.get("dropped", 0))
pub.send(b"{\"op\":\"pub\",\"subject\":\"load.end\",\"data\":\"end\"}\n")
end_published = "id" in pub.first(10)
end_dropped = None
end_by = min(deadline, time.time() + 10)
while end_dropped is None and time.time() < end_by:
    for event in slow.lines(end_by - time.time()):
        if event.get("subject") == "load.end":
            end_dropped = event.get("dropped", 0)
        elif event.get("subject") == "load.x":
            slow_lines += 1
sample()
print(json.dumps({
    "count": count, "published": published, "refused": refused, "stalled": stalled,
    "fast_lines": fast_lines, "fast_distinct": len(fast_got), "fast_dropped": fast_dropped,
    "file_lines": file_lines, "slow_lines": slow_lines, "slow_dropped_before": slow_dropped_before,
    "end_published": end_published, "end_dropped": end_dropped,
    "rss_kb": peak, "secs": round(time.time() - start, 1)}))
'

# The flood: COUNT pub requests to the agent at PUB_SOCKET, as fast as
# it answers (at most 5000 unanswered). Prints how many were published.
zc_py_flood='
import json, socket, sys, time
path, count, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.time() + limit
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
sent = answered = published = 0
buf = b""
while answered < count and time.time() < deadline:
    if sent < count and sent - answered < 5000:
        n = min(1000, count - sent)
        s.settimeout(max(0.1, deadline - time.time()))
        s.sendall(b"".join(b"{\"op\":\"pub\",\"subject\":\"flood.x\",\"data\":\"m%d\"}\n" % (sent + i) for i in range(n)))
        sent += n
    s.settimeout(max(0.01, min(1.0, deadline - time.time())))
    try:
        chunk = s.recv(1 << 20)
    except socket.timeout:
        continue
    if not chunk:
        break
    buf += chunk
    *lines, buf = buf.split(b"\n")
    for line in lines:
        answered += 1
        published += "id" in json.loads(line)
print(published)
'

test_expect_success 'setup: hub hs with publisher ps and subscriber ss' '
	make_keys --hub hs &&
	make_keys ps ss &&
	start_hub hs "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_agent ps hs &&
	start_agent ss hs &&
	start_sub fast ss --json "load.>" &&
	reach ps load.probe fast
'

test_expect_success "a subscriber that stops reading during $ZCNC_SLOW_MESSAGES messages: the others get every one, it is told how many it lost, memory stays under $ZCNC_RSS_BOUND_KB kB" '
	python3 -c "$zc_py_load" "$SCRATCH/ps/zcnc.sock" "$SCRATCH/ss/zcnc.sock" "$SCRATCH/fast.out" \
		"$ZCNC_SLOW_MESSAGES" 250 100 "hs=$(daemon_pid hs),ps=$(daemon_pid ps),ss=$(daemon_pid ss)" >load.json
	zc_comment <load.json
	ss_dropped=$(pubsub_figure ss dropped)
	stop_sub fast
	stop_agent ps; stop_agent ss
	stop_hub hs
	grep "hub hs stopped" hs.log | zc_comment
	grep "link to hub" ps.log ss.log | zc_comment
	test_json load.json "J[\"stalled\"] is None and J[\"published\"] == J[\"count\"] == $ZCNC_SLOW_MESSAGES
		and J[\"fast_lines\"] == J[\"fast_distinct\"] == J[\"count\"] and J[\"fast_dropped\"] == 0
		and J[\"file_lines\"] == J[\"count\"]
		and J[\"end_published\"] and J[\"end_dropped\"] > 0 and J[\"slow_dropped_before\"] == 0
		and J[\"slow_lines\"] + J[\"end_dropped\"] == J[\"count\"]
		and max(J[\"rss_kb\"].values()) < $ZCNC_RSS_BOUND_KB" &&
	! grep -q "\"dropped\"" "$SCRATCH/fast.out" &&
	end_dropped=$(python3 -c "import json; print(json.load(open(\"load.json\"))[\"end_dropped\"])") &&
	test "$ss_dropped" = "$end_dropped" &&
	test "$(stop_line_figure hs "publications lost")" = 0
'

# Each message is printed, dropped at the agent (counted per message) or
# lost at the hub (counted per PUB). While an agent sends each message in
# a PUB of its own (an ID each), the sum is exact.
test_expect_success "a publisher flooding $ZCNC_SLOW_MESSAGES messages faster than the subscriber's agent takes them: what is not printed is counted, dropped at the agent or lost at the hub" '
	make_keys --hub hq &&
	make_keys pq sq &&
	start_hub hq "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_agent pq hq &&
	start_agent sq hq &&
	start_sub flood sq --json "flood.>" &&
	reach pq flood.probe flood &&
	published=$(python3 -c "$zc_py_flood" "$SCRATCH/pq/zcnc.sock" "$ZCNC_SLOW_MESSAGES" 60) &&
	test "$published" = "$ZCNC_SLOW_MESSAGES" &&
	rss_hub=$(rss_kb "$(daemon_pid hq)") && rss_pub=$(rss_kb "$(daemon_pid pq)") && rss_sub=$(rss_kb "$(daemon_pid sq)") &&
	before=-1 && tries=60 &&
	while test $tries -gt 0; do
		now=$(wc -l <"$SCRATCH/flood.out")
		test "$now" = "$before" && break
		before=$now; tries=$((tries - 1)); sleep 1
	done &&
	test $tries -gt 0 &&
	printed=$(grep -c "\"subject\":\"flood.x\"" "$SCRATCH/flood.out") &&
	probes=$(grep -c "\"subject\":\"flood.probe\"" "$SCRATCH/flood.out") &&
	dropped=$(pubsub_figure sq dropped) &&
	stop_sub flood &&
	stop_agent pq && stop_agent sq &&
	stop_hub hq &&
	grep "hub hq stopped" hq.log | zc_comment &&
	delivered=$(stop_line_figure hq delivered) &&
	lost=$(stop_line_figure hq "publications lost") &&
	say "# flood of $published: printed $printed, dropped at the agent $dropped, lost at the hub $lost; RSS kB: hub $rss_hub, publisher $rss_pub, subscriber $rss_sub" &&
	test $((printed + dropped)) -le "$published" &&
	ids=$(grep "\"subject\":\"flood.x\"" "$SCRATCH/flood.out" | sed "s/.*\"id\":\"\([^\"]*\)\".*/\1/" | sort -u | wc -l) &&
	if test "$ids" = "$printed"; then
		test $((printed + dropped + lost)) = "$published" &&
		test "$delivered" = $((printed + probes + dropped))
	else
		say "# several messages per PUB ($ids IDs for $printed messages): the hub counts PUBs" &&
		if test $((printed + dropped)) -lt "$published"; then test "$lost" -gt 0; fi
	fi &&
	test "$rss_hub" -lt "$ZCNC_RSS_BOUND_KB" && test "$rss_pub" -lt "$ZCNC_RSS_BOUND_KB" &&
	test "$rss_sub" -lt "$ZCNC_RSS_BOUND_KB"
'

# ---------------------------------------------------------------------------
# 4. Subscribers' commands under a policy

test_expect_success 'setup: hub hp, publishers ok-pub and bad-pub, runner with a policy for method sub' '
	cat >"$SCRATCH/runner.policy" <<-\EOF &&
	# t0027
	allow ok-pub sub deploy.web
	deny  *      sub
	EOF
	make_keys --hub hp &&
	make_keys ok-pub bad-pub runner &&
	start_hub hp "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_agent ok-pub hp &&
	start_agent bad-pub hp &&
	start_agent runner hp "agent/policy = $SCRATCH/runner.policy" &&
	start_sub printed runner --json "deploy.*" &&
	reach ok-pub deploy.probe printed &&
	start_sub command runner "deploy.*" -- sh -c "echo \"\$ZCNC_FROM \$ZCNC_SUBJECT \$ZCNC_DATA\" >>\"$SCRATCH/ran\"" &&
	wait_for "test \$(pubsub_figure runner subscriptions) = 2"
'

test_expect_success 'sub -- COMMAND runs only what the policy allows: not another publisher, not another subject, not unsigned; denied ones are counted and logged' '
	zcnc_as bad-pub pub deploy.web from-bad &&
	wait_for "test \$(pubsub_figure runner denied) = 1" &&
	zcnc_as ok-pub pub deploy.db wrong-subject &&
	wait_for "test \$(pubsub_figure runner denied) = 2" &&
	zcnc_as ok-pub pub --unsigned deploy.web unsigned &&
	wait_for "grep -q \"\\\"data\\\":\\\"unsigned\\\"\" $SCRATCH/printed.out" &&
	zcnc_as ok-pub pub deploy.web v1 &&
	wait_for "grep -q v1 $SCRATCH/ran" &&
	echo "ok-pub deploy.web v1" >expect &&
	test_cmp expect "$SCRATCH/ran" &&
	test "$(pubsub_figure runner denied)" = 2 &&
	grep "a message from bad-pub on deploy.web does not run a subscriber.s command: denied by $SCRATCH/runner.policy:3 (deny \* sub)" runner.log &&
	grep "a message from ok-pub on deploy.db does not run a subscriber.s command: denied by $SCRATCH/runner.policy:3" runner.log &&
	grep -v "\"data\":\"probe\"" "$SCRATCH/printed.out" >got &&
	test_json got "[m[\"data\"] for m in L] == [\"from-bad\", \"wrong-subject\", \"unsigned\", \"v1\"]" &&
	stop_sub command && stop_sub printed
'

test_done
