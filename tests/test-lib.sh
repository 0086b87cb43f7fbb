# test-lib.sh — the library of zcnc's integration tests, after git's
# t/test-lib.sh. A test script reads:
#
#	#!/bin/sh
#	test_description='what this script covers'
#	. "$(dirname "$0")/test-lib.sh"
#
#	test_expect_success 'a title saying what a user relies on' '
#		start_hub hub1 &&
#		start_agent n1 &&
#		zcnc_as n1 trigger n1:true
#	'
#	test_done
#
# and prints TAP. Test bodies are eval'd in the script's own shell (no
# subshell), so variables they set and daemons they start outlive them;
# chain their commands with && (the body's status is its last command's).
#
# Environment:
#   ZCNC_BUILD    the build directory holding zcnc and tests/zc-rawsend;
#                 `make check` sets it. Default: the directory above the
#                 one holding the test script (an in-tree build).
#   ZCNC_KEEP     when set, the scratch directory survives a failed test.
#   ZCNC_VERBOSE  when set, every test's body and output are printed.
#
# Each script gets a scratch directory $SCRATCH (mktemp -d under /tmp, so
# that socket paths stay far below the 108-byte limit) and works in it.
# Daemons started with start_hub / start_agent get SCRATCH/NAME.cfg,
# SCRATCH/NAME/ as their data directory (and, with agent/workdir, an
# agent's jobs run there),
# SCRATCH/NAME.log for their stderr and SCRATCH/NAME.pid. On exit, every
# process the script started and that still runs is stopped, by PID, and
# the scratch directory is removed.

# --------------------------------------------------------------------------
# Setup

unset ZCNC_CONFIG CDPATH
LC_ALL=C
export LC_ALL

if test -z "$ZCNC_BUILD"; then
	ZCNC_BUILD=$(cd "$(dirname "$0")/.." && pwd)
fi
ZCNC=$ZCNC_BUILD/zcnc
ZC_RAWSEND=$ZCNC_BUILD/tests/zc-rawsend
ZC_PROXY=$ZCNC_BUILD/tests/zc-proxy
ZC_TESTHUB=$ZCNC_BUILD/tests/zc-testhub
ZC_FORGE=$ZCNC_BUILD/tests/zc-forge

zc_test_count=0
zc_test_failed=0
zc_test_broken=0
zc_test_fixed=0
zc_pids=
zc_prereqs=" "

say () {
	printf '%s\n' "$*"
}

# Ends the script at once, as TAP's "Bail out!".
bail_out () {
	say "Bail out! $*"
	exit 1
}

# Skips the whole script (call before the first test).
skip_all () {
	say "1..0 # SKIP $*"
	exit 0
}

test -x "$ZCNC" || bail_out "no zcnc at $ZCNC (build it, or set ZCNC_BUILD)"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is needed to check JSON"
# The interpreter itself, found once: a version manager's python3 (pyenv's
# shim) is a script that costs 0.4 s per call on some machines, and the
# tests call python3 hundreds of times.
ZC_PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
test -x "$ZC_PYTHON" || ZC_PYTHON=$(command -v python3)
python3 () {
	"$ZC_PYTHON" "$@"
}

SCRATCH=$(mktemp -d /tmp/zcnc-test.XXXXXX) || bail_out "cannot create a scratch directory"
KEYS=$SCRATCH/keys
ZC_OUT=$SCRATCH/.test-output
cd "$SCRATCH" || bail_out "cannot enter $SCRATCH"

# --------------------------------------------------------------------------
# Process bookkeeping

# True while PID runs (a zombie does not count).
zc_alive () {
	kill -0 "$1" 2>/dev/null || return 1
	test -r "/proc/$1/stat" || return 0
	test "$(sed -e 's/^.*) //' -e 's/ .*//' "/proc/$1/stat" 2>/dev/null)" != Z
}

# zc_wait_gone PID [TENTHS]: waits, at most TENTHS x 0.1 s (default 100),
# for PID to end. True when it did.
zc_wait_gone () {
	local tries=${2:-100}
	while zc_alive "$1"; do
		test "$tries" -gt 0 || return 1
		tries=$((tries - 1))
		sleep 0.1
	done
}

zc_forget_pid () {
	local pid keep=
	for pid in $zc_pids; do
		test "$pid" = "$1" || keep="$keep $pid"
	done
	zc_pids=$keep
}

# Stops every process this script started and that still runs: SIGTERM,
# up to 5 s to go, then SIGKILL. Never by name, only by recorded PID.
zc_stop_all () {
	local pid
	for pid in $zc_pids; do
		zc_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in $zc_pids; do
		zc_wait_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null
	done
	zc_pids=
}

zc_cleanup () {
	local status=$?
	zc_stop_all
	if test "$zc_test_failed" -gt 0 && test -n "$ZCNC_KEEP"; then
		say "# scratch directory kept: $SCRATCH"
	else
		cd / && rm -rf "$SCRATCH"
	fi
	exit $status
}
# Signals end the script through its EXIT trap, so nothing is left
# running (a closed pipe too: ./t0001-*.sh | head must not leak daemons).
trap zc_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'trap "" PIPE; exit 141' PIPE
trap 'exit 143' TERM

# --------------------------------------------------------------------------
# Running tests

# Prints text with every line prefixed '# '.
zc_comment () {
	sed -e 's/^/# /'
}

# Runs a test body in this shell, its output into $ZC_OUT.
zc_run_body () {
	{ eval "$1"; } >"$ZC_OUT" 2>&1 </dev/null
}

zc_show () {
	say "$1" | zc_comment
	zc_comment <"$ZC_OUT"
}

# test_expect_success [PREREQ] TITLE BODY
test_expect_success () {
	test $# = 3 && { zc_prereq_ok "$1" "$2" || return 0; shift; }
	test $# = 2 || bail_out "test_expect_success needs a title and a body"
	zc_test_count=$((zc_test_count + 1))
	if zc_run_body "$2"; then
		say "ok $zc_test_count - $1"
		test -z "$ZCNC_VERBOSE" || zc_show "$2"
	else
		zc_test_failed=$((zc_test_failed + 1))
		say "not ok $zc_test_count - $1"
		zc_show "$2"
	fi
}

# test_expect_failure [PREREQ] TITLE BODY: a test of a known bug. Its
# failure is reported as a TODO, which does not fail the script.
test_expect_failure () {
	test $# = 3 && { zc_prereq_ok "$1" "$2" || return 0; shift; }
	test $# = 2 || bail_out "test_expect_failure needs a title and a body"
	zc_test_count=$((zc_test_count + 1))
	if zc_run_body "$2"; then
		zc_test_fixed=$((zc_test_fixed + 1))
		say "ok $zc_test_count - $1 # TODO known breakage vanished"
	else
		zc_test_broken=$((zc_test_broken + 1))
		say "not ok $zc_test_count - $1 # TODO known breakage"
		test -z "$ZCNC_VERBOSE" || zc_show "$2"
	fi
}

test_set_prereq () {
	zc_prereqs="$zc_prereqs$1 "
}

test_have_prereq () {
	case $zc_prereqs in *" $1 "*) return 0 ;; esac
	return 1
}

# True when PREREQ holds; otherwise reports the test as skipped.
zc_prereq_ok () {
	test_have_prereq "$1" && return 0
	zc_test_count=$((zc_test_count + 1))
	say "ok $zc_test_count # skip $2 (missing $1)"
	return 1
}

# Ends the script: the plan, and a non-zero exit when a test failed.
test_done () {
	say "1..$zc_test_count"
	test "$zc_test_fixed" = 0 || say "# $zc_test_fixed known breakage(s) vanished; make them test_expect_success"
	test "$zc_test_broken" = 0 || say "# still have $zc_test_broken known breakage(s)"
	if test "$zc_test_failed" -gt 0; then
		say "# failed $zc_test_failed among $zc_test_count test(s)"
		exit 1
	fi
	exit 0
}

command -v nc >/dev/null 2>&1 && nc -h 2>&1 | grep -q -- -U && test_set_prereq NC

# --------------------------------------------------------------------------
# Assertions (they print what they saw when they fail)

# test_cmp EXPECTED ACTUAL
test_cmp () {
	diff -u "$1" "$2"
}

# test_line_count OP N FILE, e.g. test_line_count = 3 out
test_line_count () {
	local lines
	lines=$(wc -l <"$3")
	test "$lines" "$1" "$2" || {
		echo "test_line_count: $3 has $lines lines, expected $1 $2:"
		cat "$3"
		return 1
	}
}

# test_expect_code CODE COMMAND...: COMMAND must exit with CODE.
test_expect_code () {
	local want=$1 got
	shift
	"$@"
	got=$?
	test "$got" = "$want" && return 0
	echo "test_expect_code: '$*' exited $got, expected $want" >&2
	return 1
}

# test_must_fail COMMAND...: COMMAND must exit non-zero, and not because
# a signal killed it.
test_must_fail () {
	local got
	"$@"
	got=$?
	if test "$got" = 0; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	fi
	if test "$got" -gt 128 && test "$got" -lt 160; then
		echo "test_must_fail: '$*' died of signal $((got - 128))" >&2
		return 1
	fi
	return 0
}

# test_json FILE EXPR: FILE holds one JSON value per line; EXPR, a Python
# expression over L (the list of values) and J (the first one), must be
# true. Every line must parse. EXPR may span lines.
test_json () {
	python3 -c "$zc_py_test_json" "$1" "$2"
}

zc_py_test_json='
import json, sys
L = []
with open(sys.argv[1]) as f:
    for number, line in enumerate(f, 1):
        try:
            L.append(json.loads(line))
        except ValueError as e:
            sys.exit("test_json: %s:%d is not JSON (%s): %r" % (sys.argv[1], number, e, line))
J = L[0] if L else None
if not eval("(" + sys.argv[2] + ")", {"L": L, "J": J, "json": json}):
    sys.stderr.write("test_json: false: %s\n" % sys.argv[2])
    sys.stderr.writelines(json.dumps(v) + "\n" for v in L)
    sys.exit(1)
'

# sock_talk SOCKET LINES [SECS]: writes stdin to the unix socket in one
# go, then prints the answer lines until LINES came or SECS (default 10)
# passed. Fails when fewer than LINES came.
sock_talk () {
	python3 -c "$zc_py_sock_talk" "$1" "$2" "${3:-10}"
}

zc_py_sock_talk='
import socket, sys, time
path, want, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(sys.stdin.buffer.read())
deadline = time.time() + timeout
data = b""
while data.count(b"\n") < want:
    left = deadline - time.time()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    data += chunk
sys.stdout.buffer.write(data)
if data.count(b"\n") < want:
    sys.exit("sock_talk: %d of %d answer lines within %s s" % (data.count(b"\n"), want, timeout))
'

# wait_for COMMAND [ARGS...]: runs COMMAND until it succeeds, at most
# $WAIT_TRIES (default 100) times, 0.1 s apart. A single argument is
# eval'd, so it may be a compound command: wait_for 'test -e f && ...'.
wait_for () {
	local tries=${WAIT_TRIES:-100}
	while :; do
		if test $# = 1; then eval "$1"; else "$@"; fi && return 0
		tries=$((tries - 1))
		test "$tries" -gt 0 || break
		sleep 0.1
	done
	echo "wait_for: gave up after ${WAIT_TRIES:-100} tries: $*" >&2
	return 1
}

# --------------------------------------------------------------------------
# Keys, configs, daemons

# make_keys [-d DIR] [--hub] NAME...: key pairs, in $KEYS by default.
make_keys () {
	local dir=$KEYS hub= name
	while :; do
		case $1 in
		-d) dir=$2; shift 2 ;;
		--hub) hub=--hub; shift ;;
		*) break ;;
		esac
	done
	mkdir -p "$dir" || return 1
	for name in "$@"; do
		"$ZCNC" keygen $hub "$name" -d "$dir" >/dev/null || return 1
	done
}

# write_config FILE [LINE...] [-- DEFAULT...]: writes a ZPL config from
# lines "section/key = value" (sections zcnc, hub, agent), e.g.
#	write_config n1.cfg "zcnc/heartbeat = 1" -- "zcnc/name = n1" "zcnc/heartbeat = 0.5"
# A DEFAULT is dropped when a LINE sets the same key; LINEs may repeat a
# key (hub/bind). Write a file by hand to test malformed syntax.
write_config () {
	local file=$1 line key section
	shift
	: >"$file.lines"
	while test $# -gt 0 && test "$1" != --; do
		printf '%s\n' "$1" >>"$file.lines"
		shift
	done
	test $# -gt 0 && shift
	for line in "$@"; do
		key=${line%%=*}
		key=$(echo $key)
		grep -q "^$key *=" "$file.lines" || printf '%s\n' "$line" >>"$file.lines"
	done
	for section in zcnc hub agent; do
		grep -q "^$section/" "$file.lines" || continue
		echo "$section"
		sed -n "s|^$section/|    |p" "$file.lines"
	done >"$file"
	rm -f "$file.lines"
}

# zc_start NAME ROLE: starts `zcnc ROLE -c SCRATCH/NAME.cfg` in the
# background, in its data directory, stderr to SCRATCH/NAME.log, and
# records its PID. With zc_program set (e.g. zc_program=$ZC_TESTHUB
# start_hub ...), that program runs instead of zcnc.
zc_start () {
	local name=$1 role=$2 pid
	mkdir -p "$SCRATCH/$name" && chmod 700 "$SCRATCH/$name" || return 1
	(cd "$SCRATCH/$name" && exec "${zc_program:-$ZCNC}" "$role" -c "$SCRATCH/$name.cfg") \
		>>"$SCRATCH/$name.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$SCRATCH/$name.pid"
	zc_pids="$zc_pids $pid"
}

# zc_wait_started NAME CONDITION: waits (bounded) for CONDITION while the
# daemon NAME runs; prints its log when it died or the wait failed.
zc_wait_started () {
	local pid
	pid=$(cat "$SCRATCH/$1.pid")
	if wait_for "zc_alive $pid && { $2; }" 2>/dev/null; then
		return 0
	fi
	if zc_alive "$pid"; then
		echo "$1 did not get ready in time ($2); its log:" >&2
	else
		echo "$1 died; its log:" >&2
		zc_forget_pid "$pid"
	fi
	sed -e 's/^/    /' "$SCRATCH/$1.log" >&2
	return 1
}

# pick_port: prints a free TCP port of 127.0.0.1 outside the kernel's
# ephemeral range. A hub that is restarted on its old port needs one:
# while it is down, agents dialling it (or any outgoing connection) could
# otherwise get that port as their source port and keep it busy.
pick_port () {
	python3 -c "$zc_py_pick_port"
}

zc_py_pick_port='
import random, socket
try:
    low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
except (OSError, ValueError):
    low, high = 32768, 60999
ranges = [r for r in ((high + 1, 65535), (10000, low - 1)) if r[1] - r[0] >= 100]
for attempt in range(100):
    port = random.randint(*random.choice(ranges))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("pick_port: no free port found")
'

# start_hub NAME [section/key = value]...: starts a hub bound to a free
# port of 127.0.0.1 (unless a hub/bind line is given) and waits for it to
# write DATA/endpoints.
start_hub () {
	local name=$1
	shift
	write_config "$SCRATCH/$name.cfg" "$@" -- \
		"zcnc/name = $name" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/$name" \
		"hub/bind = tcp://127.0.0.1:*" || return 1
	rm -f "$SCRATCH/$name/endpoints"
	zc_start "$name" hub &&
	zc_wait_started "$name" "test -s '$SCRATCH/$name/endpoints'"
}

# hub_endpoint NAME: the first endpoint the hub bound.
hub_endpoint () {
	sed -n 1p "$SCRATCH/$1/endpoints"
}

# start_agent [--offline] NAME [HUB [section/key = value]...]: starts an
# agent of hub HUB (default hub1), with heartbeat 0.5 s, peer_timeout 3 s
# and its data directory as the jobs' working directory, and waits until
# its status shows the hub connected (with --offline, only until its
# socket answers).
start_agent () {
	local offline= name hub endpoint ready
	test "$1" = --offline && { offline=1; shift; }
	name=$1
	hub=${2:-hub1}
	test $# -ge 2 && shift
	shift
	endpoint=$(hub_endpoint "$hub") && test -n "$endpoint" || {
		echo "start_agent: hub $hub has no endpoints file" >&2
		return 1
	}
	write_config "$SCRATCH/$name.cfg" "$@" -- \
		"zcnc/name = $name" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/$name" \
		"zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" \
		"agent/hub = $hub@$endpoint" "agent/workdir = $SCRATCH/$name" || return 1
	# The socket answering, not its file existing: a killed agent's file
	# stays behind until the new agent replaces it.
	ready="agent_connected $name"
	test -z "$offline" ||
		ready="zcnc_as $name status >/dev/null 2>&1"
	zc_start "$name" agent &&
	zc_wait_started "$name" "$ready"
}

# agent_connected NAME: true when NAME's status shows its hub connected.
agent_connected () {
	zcnc_as "$1" status --json 2>/dev/null | grep -q '"connected":true'
}

# nodes_online AGENT NAME...: true when AGENT's directory shows every
# NAME online.
nodes_online () {
	local agent=$1 name
	shift
	zcnc_as "$agent" nodes --json >"$SCRATCH/.nodes" 2>/dev/null || return 1
	for name in "$@"; do
		grep -q "\"name\":\"$name\",\"online\":true" "$SCRATCH/.nodes" || return 1
	done
}
# nodes_offline AGENT NAME...: the agent's directory has these offline.
nodes_offline () {
	local agent=$1 name
	shift
	zcnc_as "$agent" nodes --json >"$SCRATCH/.nodes" 2>/dev/null || return 1
	for name in "$@"; do
		grep -q "\"name\":\"$name\",\"online\":false" "$SCRATCH/.nodes" || return 1
	done
}

# job_state_is AGENT ID STATE: true when the job ID, sent from AGENT, is
# in STATE (for wait_for).
job_state_is () {
	zcnc_as "$1" jobs --json "$2" 2>/dev/null | grep -q "\"state\":\"$3\""
}

# zc_stop NAME SIGNAL: signals the daemon NAME and waits (10 s at most)
# for it to end. Returns its exit status (1 when it would not end).
zc_stop () {
	local pid status
	rm -f "$SCRATCH/$1.status"
	pid=$(cat "$SCRATCH/$1.pid") || return 1
	kill "-$2" "$pid" || return 1
	if ! zc_wait_gone "$pid" 100; then
		echo "$1 (pid $pid) did not end within 10 s of SIG$2" >&2
		return 1
	fi
	zc_forget_pid "$pid"
	wait "$pid"
	status=$?
	echo "$status" >"$SCRATCH/$1.status"
	return $status
}

# stop_agent NAME / stop_hub [NAME]: SIGTERM; returns the daemon's exit
# status. kill_agent NAME / kill_hub [NAME]: SIGKILL; true once it is gone.
stop_agent () {
	zc_stop "$1" TERM
}

kill_agent () {
	zc_stop "$1" KILL
	test "$(cat "$SCRATCH/$1.status" 2>/dev/null)" = 137
}

stop_hub () {
	zc_stop "${1:-hub1}" TERM
}

kill_hub () {
	kill_agent "${1:-hub1}"
}

# daemon_pid NAME: the recorded PID of a daemon.
daemon_pid () {
	cat "$SCRATCH/$1.pid"
}

# zcnc_as NAME COMMAND [ARGS...]: zcnc COMMAND -c SCRATCH/NAME.cfg ARGS.
zcnc_as () {
	local who=$1 command=$2
	shift 2
	"$ZCNC" "$command" -c "$SCRATCH/$who.cfg" "$@"
}

# --------------------------------------------------------------------------
# Durable delivery helpers (t0006-t0008)

# submit AGENT MESSAGE: sends one JSON message through AGENT's socket and
# prints its job IDs, one per line. Fails, printing the answer, when the
# agent refused it (the answer is in SCRATCH/.submit either way).
submit () {
	printf '%s\n' "$2" | sock_talk "$SCRATCH/$1/zcnc.sock" 1 >"$SCRATCH/.submit" &&
	python3 -c "$zc_py_submit" "$SCRATCH/.submit"
}

zc_py_submit='
import json, sys
answer = json.loads(open(sys.argv[1]).readline())
if not isinstance(answer.get("ids"), list):
    sys.exit("submit: refused: %s" % json.dumps(answer))
for job in answer["ids"]:
    print(job["id"])
'

# job_json AGENT ID: prints the jobs object of ID, sent from AGENT, as one
# JSON line.
job_json () {
	zcnc_as "$1" jobs --json "$2"
}

# count_lines PATTERN FILE: prints how many lines of FILE the basic
# regular expression PATTERN matches as a whole line, e.g. a marker
# token (0 when FILE does not exist).
count_lines () {
	if test -e "$2"; then grep -c -x -e "$1" "$2" || :; else echo 0; fi
}

# --------------------------------------------------------------------------
# Pub/sub (t0026-t0028)

# start_sub NAME AGENT ARGS...: `zcnc sub ARGS` of AGENT in the
# background, its output in NAME.out and errors in NAME.err, its PID in
# NAME.sub (and stopped at the end like a daemon).
start_sub () {
	local name=$1 agent=$2 pid
	shift 2
	zcnc_as "$agent" sub "$@" >"$SCRATCH/$name.out" 2>"$SCRATCH/$name.err" </dev/null &
	pid=$!
	echo "$pid" >"$SCRATCH/$name.sub"
	zc_pids="$zc_pids $pid"
}

# stop_sub NAME: stops a background sub (SIGTERM), waits for it.
stop_sub () {
	local pid
	pid=$(cat "$SCRATCH/$1.sub") &&
	kill "$pid" 2>/dev/null
	zc_wait_gone "$pid" 50
	zc_forget_pid "$pid"
}

# sub_ended NAME: true once the background sub NAME exited.
sub_ended () {
	! zc_alive "$(cat "$SCRATCH/$1.sub")"
}

# reach AGENT SUBJECT NAME: publishes probes from AGENT on SUBJECT until
# the sub NAME printed one: its interest has reached AGENT's hub.
reach () {
	WAIT_TRIES=50 wait_for "zcnc_as $1 pub '$2' probe >/dev/null && grep -q probe '$SCRATCH/$3.out'"
}

# --------------------------------------------------------------------------
# The fault-injecting proxy (tests/zc-proxy, doc/zc-proxy.md)

# start_proxy NAME ARGS...: starts zc-proxy on a free port of 127.0.0.1,
# with ARGS (--to at least), the control FIFO SCRATCH/NAME.ctl, stats in
# SCRATCH/NAME.stats, and waits for SCRATCH/NAME.port. Its stderr goes to
# SCRATCH/NAME.log, its PID to SCRATCH/NAME.pid and, like a daemon's, to
# the list of processes stopped at exit.
start_proxy () {
	local name=$1 pid
	shift
	rm -f "$SCRATCH/$name.port" "$SCRATCH/$name.stats"
	"$ZC_PROXY" --listen 127.0.0.1:0 --port-file "$SCRATCH/$name.port" \
		--control "$SCRATCH/$name.ctl" --stats "$SCRATCH/$name.stats" "$@" \
		>>"$SCRATCH/$name.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$SCRATCH/$name.pid"
	zc_pids="$zc_pids $pid"
	zc_wait_started "$name" "test -s '$SCRATCH/$name.port'"
}

# proxy_ctl NAME COMMAND...: sends each COMMAND as a line to the proxy's
# control FIFO. Bounded: opening a FIFO nobody reads would block.
proxy_ctl () {
	local fifo=$SCRATCH/$1.ctl
	shift
	timeout 5 sh -c 'fifo=$1; shift; printf "%s\n" "$@" >"$fifo"' sh "$fifo" "$@"
}

# proxy_stats NAME: has the proxy write its stats (so, after carrying out
# every command sent before), and copies them to ./stats.
proxy_stats () {
	rm -f "$SCRATCH/$1.stats" &&
	proxy_ctl "$1" stats &&
	wait_for test -s "$SCRATCH/$1.stats" 2>/dev/null &&
	cp "$SCRATCH/$1.stats" stats
}

# proxy_figure NAME KEY: prints one figure of fresh stats.
proxy_figure () {
	proxy_stats "$1" &&
	python3 -c 'import json, sys; print(json.load(open("stats"))[sys.argv[1]])' "$2"
}

# now_ms: milliseconds since the epoch.
now_ms () {
	echo $(($(date +%s%N) / 1000000))
}

# start_satellite ORIGIN AGENT...: a central hub with agent ORIGIN, and a
# site hub whose uplink to central goes through the proxy sat (see
# start_proxy) with the AGENTs; hubs and agents heartbeat every 0.5 s
# and time out after 3 s. Waits until ORIGIN sees every agent online.
start_satellite () {
	local origin=$1 agent
	shift
	make_keys --hub central site &&
	make_keys "$origin" "$@" &&
	start_hub central "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_proxy sat --to "$(hub_endpoint central | sed "s|tcp://||")" &&
	start_hub site "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" \
		"hub/uplink = central@tcp://127.0.0.1:$(cat "$SCRATCH/sat.port")" &&
	start_agent "$origin" central || return 1
	for agent in "$@"; do
		start_agent "$agent" site || return 1
	done
	wait_for nodes_online "$origin" "$origin" "$@"
}
