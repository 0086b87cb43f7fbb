#!/bin/sh
test_description='the README quick start works as written, followed literally'
# The README is read from the source tree, found before test-lib.sh moves
# into the scratch directory.
qs_readme=${ZCNC_SRC:-$(cd "$(dirname "$0")/.." && pwd)}/README.md
. "$(dirname "$0")/test-lib.sh"

# The quick start's commands are taken from README.md, section "Quick
# start", and run as they are written, with only these changes:
#   - every host named in a comment ("# on hub1") gets a root of its own,
#     $QS/HOST, and /etc/zcnc and /var/lib/zcnc in what runs there become
#     $QS/HOST/etc/zcnc and $QS/HOST/var/lib/zcnc; "scp HOST:PATH
#     HOST:PATH" copies between those roots (no ssh, no real scp);
#   - the hub binds tcp://127.0.0.1:PORT (a free port) instead of
#     tcp://*:PORT, and agents dial 127.0.0.1:PORT instead of
#     hub1.example.org:PORT: nothing listens beyond loopback;
#   - the README's commands read the default /etc/zcnc/hub.cfg and
#     agent.cfg; here each host's $ZCNC_CONFIG names its substituted
#     config, which is what -c FILE does (zcnc(1)), so that the lines run
#     unchanged;
#   - `zcnc hub` and `zcnc agent`, which the README runs in the
#     foreground, run in the background here, recorded by PID;
#   - "Use them" lines that need a real fleet (a jobs.json, n9, an ID)
#     are not run.
# `zcnc` is this build's, first on PATH. When a step of the README stops
# working, the test that runs it fails.

QS=$SCRATCH/host
mkdir -p "$SCRATCH/bin" "$SCRATCH/qs" &&
ln -s "$ZCNC" "$SCRATCH/bin/zcnc" || bail_out "cannot set up $SCRATCH/bin"
PATH=$SCRATCH/bin:$PATH
export PATH
PORT=$(pick_port) || bail_out "no free port"

# qs_extract: the fenced blocks of the README's "Quick start" section, as
# qs/block.1, qs/block.2, ..., and the section's prose as qs/text.
qs_extract () {
	awk -v dir="$SCRATCH/qs" '
		/^## / { inside = ($0 == "## Quick start"); next }
		!inside { next }
		/^```/ {
			if (fence) { fence = 0; close(file) }
			else { fence = 1; n++; file = dir "/block." n; printf "" >file }
			next
		}
		fence { print >file; next }
		{ print >(dir "/text") }
	' "$qs_readme"
}

# qs_block PATTERN: the one block with a line matching the basic regular
# expression PATTERN.
qs_block () {
	local found
	found=$(grep -l -e "$1" "$SCRATCH"/qs/block.* 2>/dev/null)
	case $found in
	"") echo "qs_block: no quick start block has a line matching '$1'" >&2; return 1 ;;
	*" "*|*"
"*) echo "qs_block: several quick start blocks match '$1': $found" >&2; return 1 ;;
	esac
	echo "$found"
}

# qs_line BLOCK PREFIX: the first line of BLOCK that starts with PREFIX
# (a fixed string).
qs_line () {
	awk -v prefix="$2" 'index($0, prefix) == 1 { print; found = 1; exit }
		END { if (!found) { print "qs_line: no line starts with " prefix >"/dev/stderr"; exit 1 } }' "$1"
}

# qs_hosts TEXT: the hosts the comment of TEXT names, one per line: each
# word after an "on" ("# on ops, and on web-1": ops, web-1).
qs_hosts () {
	printf '%s\n' "$1" | sed -n 's/^[^#]*#//p' | tr -s ' \t,;()' '\n' |
		awk 'prev == "on" { sub(/[.]+$/, ""); print } { prev = $0 }'
}

# qs_sorted WORDS...: the words, sorted, on one line.
qs_sorted () {
	printf '%s\n' $* | sort | tr '\n' ' '
}

qs_valid_host () {
	case $1 in
	""|[!A-Za-z0-9]*|*[!A-Za-z0-9._-]*)
		echo "not a host name: '$1'" >&2; return 1 ;;
	esac
}

# qs_local HOST: copies stdin to stdout with the paths of the real
# system replaced by HOST's root.
qs_local () {
	qs_valid_host "$1" &&
	sed -e "s|/etc/zcnc|$QS/$1/etc/zcnc|g" -e "s|/var/lib/zcnc|$QS/$1/var/lib/zcnc|g"
}

# qs_config HOST: the config HOST's daemon and client commands read.
qs_config () {
	if test -e "$QS/$1/etc/zcnc/hub.cfg"; then
		echo "$QS/$1/etc/zcnc/hub.cfg"
	else
		echo "$QS/$1/etc/zcnc/agent.cfg"
	fi
}

# qs_guard TEXT: fails when TEXT (a command about to run) still names a
# path of the real system.
qs_guard () {
	if printf '%s\n' "$1" | sed -e "s|$QS/[^ ]*||g" | grep -q -e '/etc/zcnc' -e '/var/lib/zcnc'; then
		echo "qs_guard: refusing to run, it names the real system: $*" >&2
		return 1
	fi
}

# qs_run HOST LINE: runs LINE as the README would on HOST: its paths
# moved to HOST's root, with HOST's config, from the scratch directory.
qs_run () {
	local line
	line=$(printf '%s\n' "$2" | qs_local "$1") &&
	qs_guard "$line" &&
	(ZCNC_CONFIG=$(qs_config "$1") && export ZCNC_CONFIG && cd "$SCRATCH" && eval "$line")
}

# qs_remote HOST:PATH: the file PATH of HOST, under HOST's root.
qs_remote () {
	local host path
	case $1 in
	*:/etc/zcnc/*|*:/var/lib/zcnc/*) ;;
	*) echo "qs_remote: not HOST:/etc/zcnc/... or HOST:/var/lib/zcnc/...: $1" >&2; return 1 ;;
	esac
	host=${1%%:*}
	path=${1#*:}
	qs_valid_host "$host" && test -d "$QS/$host" || {
		echo "qs_remote: no such host here: $host" >&2
		return 1
	}
	echo "$QS/$host$path"
}

# The README copies certs with "scp HOST:FILE HOST:DIR/"; here that is a
# copy between two hosts' roots. Anything else is refused, so the real
# scp never runs.
scp () {
	local from to
	if test $# != 2; then
		echo "scp: this test maps 'scp HOST:FILE HOST:DIR/' only, not: scp $*" >&2
		return 1
	fi
	from=$(qs_remote "$1") && to=$(qs_remote "$2") && cp "$from" "$to" || {
		echo "scp $*: failed" >>"$SCRATCH/qs/scp-failed"
		return 1
	}
}

# The README's nc line, bounded: an agent that never closes the
# connection fails the test instead of hanging it.
nc () {
	timeout 20 nc "$@"
}

# qs_loopback_only FILE: true when every endpoint in the config FILE is
# tcp://127.0.0.1:$PORT, and it has no uplink.
qs_loopback_only () {
	test -f "$1" &&
	! grep -e "^ *bind *=" "$1" | grep -v "= *tcp://127[.]0[.]0[.]1:$PORT *\(#.*\)\{0,1\}$" >&2 &&
	! grep -e "^ *hub *=" "$1" | grep -v "= *[A-Za-z0-9][A-Za-z0-9._-]*@tcp://127[.]0[.]0[.]1:$PORT *\(#.*\)\{0,1\}$" >&2 &&
	! grep -e "^ *uplink *=" "$1" >&2
}

# qs_start HOST LINE: runs the daemon command LINE ("zcnc hub") on HOST
# in the background, stderr to SCRATCH/HOST.log, its PID recorded in
# SCRATCH/HOST.pid and in the list of processes stopped at exit.
qs_start () {
	local pid line
	line=$(printf '%s\n' "$2" | qs_local "$1") && qs_guard "$line" || return 1
	case $line in
	"zcnc hub"|"zcnc agent") ;;
	*) echo "qs_start: not a daemon command: '$line'" >&2; return 1 ;;
	esac
	qs_loopback_only "$(qs_config "$1")" || {
		echo "qs_start: refusing to start $1: its config has an endpoint beyond 127.0.0.1:$PORT" >&2
		return 1
	}
	(ZCNC_CONFIG=$(qs_config "$1") && export ZCNC_CONFIG && cd "$SCRATCH" && eval "exec $line") \
		>>"$SCRATCH/$1.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$SCRATCH/$1.pid"
	zc_pids="$zc_pids $pid"
}

# qs_trim TEXT: TEXT without a comment and blanks around it.
qs_trim () {
	printf '%s\n' "$1" | sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'
}

# qs_data HOST: the data directory of HOST's config.
qs_data () {
	sed -n 's/^ *data *= *\([^ #]*\).*/\1/p' "$(qs_config "$1")"
}

# qs_status HOST: true when HOST's agent shows its hub connected.
qs_status () {
	(ZCNC_CONFIG=$(qs_config "$1") && export ZCNC_CONFIG && zcnc status --json) 2>/dev/null |
		grep -q '"connected":true'
}

# qs_online HOST NAME...: true when HOST's agent has every NAME online.
qs_online () {
	local host=$1 name
	shift
	(ZCNC_CONFIG=$(qs_config "$host") && export ZCNC_CONFIG && zcnc nodes --json) \
		>"$SCRATCH/qs/nodes" 2>/dev/null || return 1
	for name in "$@"; do
		grep -q "\"name\":\"$name\",\"online\":true" "$SCRATCH/qs/nodes" || return 1
	done
}

test_expect_success 'the README has a quick start: keys, certs, configs, start, use' '
	test -r "$qs_readme" &&
	qs_extract &&
	keygen_block=$(qs_block "^zcnc keygen ") &&
	certs_block=$(qs_block "scp ") &&
	hub_cfg_block=$(qs_block "^# /etc/zcnc/hub.cfg") &&
	agent_cfg_block=$(qs_block "^# /etc/zcnc/agent.cfg") &&
	start_block=$(qs_block "^zcnc hub -n") &&
	use_block=$(qs_block "^zcnc nodes") &&
	hub_host=$(qs_hosts "$(sed -n 1p "$hub_cfg_block")") &&
	agent_hosts=$(echo $(qs_hosts "$(sed -n 1p "$agent_cfg_block")")) &&
	console=$(sed -n "s/^Use them, from \([A-Za-z0-9][A-Za-z0-9._-]*\).*/\1/p" "$SCRATCH/qs/text") &&
	say "hub: $hub_host; agents: $agent_hosts; commands from: $console" &&
	test "$(echo $hub_host | wc -w)" = 1 &&
	test "$(echo $agent_hosts | wc -w)" -ge 2 &&
	case " $(echo $agent_hosts) " in *" $console "*) ;; *) false ;; esac
'

test_expect_success 'keygen -d creates a keys directory that does not exist yet (mode 0700)' '
	grep "^zcnc keygen " "$keygen_block" >keygen-lines &&
	while read -r line; do
		hosts=$(qs_hosts "$line") && test -n "$hosts" || return 1
		for host in $hosts; do
			! test -e "$QS/$host" &&
			mkdir -p "$QS/$host" &&
			qs_run "$host" "$line" &&
			test -d "$QS/$host/etc/zcnc/keys" &&
			test "$(stat -c %a "$QS/$host/etc/zcnc/keys")" = 700 &&
			test -f "$QS/$host/etc/zcnc/keys/$host.cert" &&
			test "$(stat -c %a "$QS/$host/etc/zcnc/keys/$host.cert_secret")" = 600 || return 1
		done
	done <keygen-lines &&
	for host in $hub_host $agent_hosts; do
		test -f "$QS/$host/etc/zcnc/keys/$host.cert_secret" || return 1
	done
'

test_expect_success 'the certs go where the README copies them: hub trusts agents, agents hold the hub and each other' '
	rm -f "$SCRATCH/qs/scp-failed" &&
	(cd "$SCRATCH" && set -e && eval "$(cat "$certs_block")") &&
	! test -e "$SCRATCH/qs/scp-failed" &&
	for agent in $agent_hosts; do
		test -f "$QS/$hub_host/etc/zcnc/keys/$agent.cert" &&
		test -f "$QS/$agent/etc/zcnc/keys/$hub_host.cert" || return 1
		for other in $agent_hosts; do
			test -f "$QS/$agent/etc/zcnc/keys/$other.cert" || return 1
		done
	done &&
	! ls "$QS"/*/etc/zcnc/keys/*.cert_secret | grep -v -e "/\([^/]*\)/etc/zcnc/keys/\1[.]cert_secret$"
'

# qs_write_config BLOCK HOST [FIRST]: writes the config BLOCK shows to
# HOST's root; for a HOST other than FIRST, the host the block is
# written for, with FIRST replaced by HOST (the README: "on ops the same
# with ops for web-1").
qs_write_config () {
	local file
	file=$(sed -n "1s|^# \(/etc/zcnc/[^ ]*\).*|\1|p" "$1" | qs_local "$2") &&
	test -n "$file" || return 1
	sed -e "s|tcp://[*]:[0-9][0-9]*|tcp://127.0.0.1:$PORT|g" \
	    -e "s|@tcp://hub1[.]example[.]org:[0-9][0-9]*|@tcp://127.0.0.1:$PORT|g" "$1" |
		if test -n "$3" && test "$2" != "$3"; then sed -e "s/$3/$2/g"; else cat; fi |
		qs_local "$2" >"$file.new" &&
	# Only a config that stays on loopback and off the real system is
	# kept.
	if qs_loopback_only "$file.new" &&
	   ! sed -e "s|$QS/[^ ]*||g" "$file.new" | grep -e "/etc/zcnc" -e "/var/lib/zcnc"; then
		mv "$file.new" "$file"
	else
		echo "qs_write_config: refusing $file:" >&2
		cat "$file.new" >&2
		rm -f "$file.new"
		return 1
	fi
}

test_expect_success 'the configs are written as the README shows them' '
	qs_write_config "$hub_cfg_block" "$hub_host" &&
	grep "^    bind = tcp://127.0.0.1:$PORT" "$QS/$hub_host/etc/zcnc/hub.cfg" &&
	first=$(echo $agent_hosts | cut -d" " -f1) &&
	for agent in $agent_hosts; do
		qs_write_config "$agent_cfg_block" "$agent" "$first" &&
		grep "^    name = $agent\$" "$QS/$agent/etc/zcnc/agent.cfg" &&
		grep "^    hub = $hub_host@tcp://127.0.0.1:$PORT" "$QS/$agent/etc/zcnc/agent.cfg" || return 1
	done
'

test_expect_success 'zcnc hub -n and zcnc agent -n pass before any data directory exists' '
	hub_line=$(qs_line "$start_block" "zcnc hub") &&
	agent_line=$(qs_line "$start_block" "zcnc agent") &&
	test "$(qs_hosts "$hub_line")" = "$hub_host" &&
	test "$(qs_sorted $(qs_hosts "$agent_line"))" = "$(qs_sorted $agent_hosts)" &&
	hub_check=$(qs_trim "${hub_line%%&&*}") &&
	agent_check=$(qs_trim "${agent_line%%&&*}") &&
	test "$hub_check" = "zcnc hub -n" &&
	test "$agent_check" = "zcnc agent -n" &&
	for host in $hub_host $agent_hosts; do
		! test -e "$QS/$host/var" || return 1
	done &&
	qs_run "$hub_host" "$hub_check" >out &&
	grep "hub.cfg: configuration is valid" out &&
	for agent in $agent_hosts; do
		qs_run "$agent" "$agent_check" >out &&
		grep "agent.cfg: configuration is valid" out || return 1
	done
'

test_expect_success 'zcnc hub starts, creates its data directory and parents (0700), binds loopback' '
	qs_start "$hub_host" "$(qs_trim "${hub_line#*&&}")" &&
	data=$(qs_data "$hub_host") &&
	zc_wait_started "$hub_host" "test -s \"$data/endpoints\"" &&
	test "$(stat -c %a "$data")" = 700 &&
	test -d "$QS/$hub_host/var/lib/zcnc" &&
	echo "tcp://127.0.0.1:$PORT" >expect &&
	test_cmp expect "$data/endpoints"
'

test_expect_success 'zcnc agent starts on every node, creates its data directory and reaches the hub' '
	for agent in $agent_hosts; do
		qs_start "$agent" "$(qs_trim "${agent_line#*&&}")" || return 1
	done &&
	for agent in $agent_hosts; do
		zc_wait_started "$agent" "qs_status $agent" &&
		test "$(stat -c %a "$(qs_data "$agent")")" = 700 &&
		test -S "$(qs_data "$agent")/zcnc.sock" || return 1
	done
'

# qs_use PREFIX: runs, on the console node, the "Use them" line that
# starts with PREFIX; its stdout goes to ./out, its stderr to ./err.
qs_use () {
	local line
	line=$(qs_line "$use_block" "$1") &&
	say "running: $line" &&
	qs_run "$console" "$line" >out 2>err
}

test_expect_success 'zcnc nodes lists every node online, and no hub' '
	wait_for qs_online "$console" $agent_hosts &&
	qs_use "zcnc nodes" &&
	cat out &&
	for agent in $agent_hosts; do
		grep "^$agent  *online " out || return 1
	done &&
	! grep "^$hub_host " out &&
	test_line_count = $(($(echo $agent_hosts | wc -w) + 1)) out
'

test_expect_success 'zcnc status names the agent and its connected hub' '
	qs_use "zcnc status" &&
	cat out &&
	grep "^name: *$console\$" out &&
	grep "^hub: *$hub_host tcp://127.0.0.1:$PORT (connected)\$" out &&
	grep "^queued: *0\$" out
'

test_expect_success 'zcnc trigger web-1:uptime prints the remote output raw and exits 0' '
	qs_use "zcnc trigger web-1:uptime" &&
	cat out err &&
	grep "load average" out &&
	! grep "^web-1: " out &&
	test_line_count = 1 out
'

test_expect_success 'zcnc trigger with a glob prefixes each line with the node' '
	qs_use "zcnc trigger '"'"'web-*:df -h /'"'"'" &&
	cat out err &&
	test_line_count -ge 2 out &&
	! grep -v "^web-1: " out
'

test_expect_success 'zcnc trigger --json ALL:uptime answers for every node, done, exit 0' '
	qs_use "zcnc trigger --json ALL:uptime" &&
	cat out err &&
	test_line_count = $(echo $agent_hosts | wc -w) out &&
	test_json out "sorted(j[\"node\"] for j in L) == sorted(\"$agent_hosts\".split()) and all(j[\"state\"] == \"done\" and j[\"exit\"] == 0 and \"load average\" in j[\"stdout\"] for j in L)"
'

test_expect_success 'zcnc jobs lists the jobs sent from here, all done' '
	qs_use "zcnc jobs" &&
	cat out &&
	head -n 1 out | grep "^ID  *NODE  *STATE  *EXIT" &&
	test_line_count = $((1 + 2 + $(echo $agent_hosts | wc -w))) out &&
	! sed 1d out | grep -v " done  *0\$"
'

test_expect_success 'zcnc queue list shows no job waiting' '
	qs_use "zcnc queue list" &&
	cat out &&
	test_line_count = 1 out &&
	grep "^ID  *NODE  *STATE  *EXIT" out
'

test_expect_success NC 'the socket answers {"op":"nodes"} through nc -N -U' '
	qs_use "echo '"'"'{\"op\":\"nodes\"}'"'"' | nc -N -U" &&
	cat out &&
	test_line_count = 1 out &&
	test_json out "sorted(n[\"name\"] for n in J[\"nodes\"]) == sorted(\"$agent_hosts\".split()) and all(n[\"online\"] for n in J[\"nodes\"])"
'

test_expect_success 'the agents and the hub stop cleanly on SIGTERM' '
	for agent in $agent_hosts; do
		zc_stop "$agent" TERM || return 1
	done &&
	zc_stop "$hub_host" TERM
'

test_done
