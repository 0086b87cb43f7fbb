#!/bin/sh
test_description='the client commands'\'' error messages, word for word, with their exit status: usage errors (no agent needed), then those that need an agent'
. "$(dirname "$0")/test-lib.sh"

ZC_PTY=$ZCNC_BUILD/tests/zc-pty

# fails CODE LINE ARGS...: `zcnc ARGS` exits CODE and its stderr has LINE
# as a whole line (fixed text). Commands that read stdin get /dev/null.
fails () {
	local code=$1 line=$2
	shift 2
	test_expect_code "$code" "$ZCNC" "$@" </dev/null >out 2>err &&
	has_line "$line" err
}

# usage_fails LINE ARGS...: a usage error: exit 2, LINE, then a usage
# line of the command on stderr.
usage_fails () {
	fails 2 "$@" &&
	grep -q "^usage: zcnc $2 " err
}

# has_line LINE FILE: FILE has LINE as a whole line; prints FILE when not.
has_line () {
	grep -q -x -F -e "$1" "$2" && return 0
	echo "has_line: no line '$1' in $2:" >&2
	cat "$2" >&2
	return 1
}

# No agent runs yet: every usage error below must come before zcnc
# looks for one (a config that does not exist would say so instead).
NOCFG=$SCRATCH/none.cfg

test_expect_success 'query commands: operands, -t and --json they do not take' '
	usage_fails "zcnc: status takes no arguments" status -c "$NOCFG" extra &&
	usage_fails "zcnc: nodes takes no arguments" nodes -c "$NOCFG" extra &&
	usage_fails "zcnc: jobs takes at most one ID" jobs -c "$NOCFG" id1 id2 &&
	usage_fails "zcnc: ping needs exactly one NODE" ping -c "$NOCFG" &&
	usage_fails "zcnc: ping needs exactly one NODE" ping -c "$NOCFG" n1 n2 &&
	usage_fails "zcnc: -t wants a positive number of seconds" ping -c "$NOCFG" -t 0 n1 &&
	usage_fails "zcnc: -t wants a positive number of seconds" ping -c "$NOCFG" -t soon n1 &&
	usage_fails "zcnc: this command has no --json" ping -c "$NOCFG" --json n1 &&
	usage_fails "zcnc: this command has no --timeout" status -c "$NOCFG" --timeout 5 &&
	usage_fails "zcnc: this command has no --timeout" jobs -c "$NOCFG" --timeout=5 &&
	usage_fails "zcnc: --older-than wants a number of seconds, not '\''yesterday'\''" \
		queue -c "$NOCFG" purge --older-than yesterday
'

test_expect_success 'trigger, call and send: missing operands, bad -t, options that do not go together' '
	usage_fails "zcnc: trigger needs TARGET:COMMAND" trigger -c "$NOCFG" &&
	usage_fails "zcnc: -t wants a number of seconds, not '\''1m'\''" trigger -c "$NOCFG" -t 1m n1:true &&
	usage_fails "zcnc: -t wants a number of seconds, not '\''-1'\''" call -c "$NOCFG" -t -1 n1 f &&
	usage_fails "zcnc: call has no --stream (a function'\''s output comes when it ends)" \
		call -c "$NOCFG" --stream n1 f &&
	usage_fails "zcnc: send takes at most one FILE" send -c "$NOCFG" a.json b.json &&
	usage_fails "zcnc: -t wants a number of seconds, not '\''x'\''" send -c "$NOCFG" -w -t x &&
	usage_fails "zcnc: -t is how long -w waits; give -w too" send -c "$NOCFG" -t 5 a.json
'

test_expect_success 'send: a FILE, or stdin, that cannot be read is a usage error and sends nothing' '
	mkdir adir &&
	fails 2 "zcnc: cannot read $SCRATCH/adir: Is a directory" send -c "$NOCFG" "$SCRATCH/adir" &&
	test_expect_code 2 "$ZCNC" send -c "$NOCFG" - <adir 2>err &&
	has_line "zcnc: cannot read standard input: Is a directory" err
'

test_expect_success 'tail, cancel and cp: -t bounds, NODE:PATH, SRC and DST' '
	usage_fails "zcnc: -t wants a number of seconds from 0.1 to 2591940, not '\''0'\''" \
		tail -c "$NOCFG" -t 0 n1:/var/log/syslog &&
	usage_fails "zcnc: tail follows a file on one node: '\''web-*'\'' is not a node name" \
		tail -c "$NOCFG" "web-*:/var/log/syslog" &&
	usage_fails "zcnc: -t wants a number of seconds from 0 to 2591940, not '\''-1'\''" \
		cancel -c "$NOCFG" -t -1 some-id &&
	usage_fails "zcnc: -t wants a number of seconds from 1 to 2591940, not '\''0.5'\''" \
		cp -c "$NOCFG" -t 0.5 n1:/a n2:/b &&
	usage_fails "zcnc: cp takes SRC and DST" cp -c "$NOCFG" n1:/a &&
	usage_fails "zcnc: cp takes SRC and DST" cp -c "$NOCFG" n1:/a n2:/b n3:/c &&
	usage_fails "zcnc: one of SRC and DST must be NODE:PATH (cp copies between nodes)" \
		cp -c "$NOCFG" ./a:b /tmp/c &&
	usage_fails "zcnc: SRC and DST need a path" cp -c "$NOCFG" n1: n2:/b &&
	usage_fails "zcnc: SRC and DST need a path" cp -c "$NOCFG" n1:/a "" &&
	usage_fails "zcnc: a node'\''s path must be absolute: n2:b" cp -c "$NOCFG" n1:/a n2:b
'

test_expect_success 'pub and sub: SUBJECT, -t, what may follow SUBJECT, the data on stdin' '
	usage_fails "zcnc: sub needs a SUBJECT" sub -c "$NOCFG" &&
	usage_fails "zcnc: after SUBJECT only -- COMMAND ARGS..." sub -c "$NOCFG" a.b extra &&
	usage_fails "zcnc: after SUBJECT only -- COMMAND ARGS..." sub -c "$NOCFG" a.b -- &&
	usage_fails "zcnc: -t wants a positive number of seconds" sub -c "$NOCFG" -t 0 a.b &&
	# One byte over the limit (zcnc-pubsub(1): at most 15872 bytes);
	# nothing looks for the agent before.
	head -c 15873 /dev/zero >toobig &&
	test_expect_code 2 "$ZCNC" pub -c "$NOCFG" a.b - <toobig 2>err &&
	has_line "zcnc: a message may have at most 15872 bytes of data" err &&
	test_expect_code 2 "$ZCNC" pub -c "$NOCFG" a.b - <adir 2>err &&
	has_line "zcnc: cannot read the data from stdin: Is a directory" err
'

test_expect_success 'keygen, init, hub, agent and shell: operands they do not take, shell -t' '
	usage_fails "zcnc: keygen needs exactly one NAME" keygen -d keys2 &&
	usage_fails "zcnc: keygen needs exactly one NAME" keygen -d keys2 n1 n2 &&
	! test -e keys2 &&
	fails 2 "zcnc: init needs '\''hub'\'' or '\''agent'\'' and a NAME" init -d init1 &&
	fails 2 "zcnc: init needs '\''hub'\'' or '\''agent'\'' and a NAME" init -d init1 relay r1 &&
	grep -q "^usage: zcnc init hub NAME" err &&
	! test -e init1 &&
	fails 2 "zcnc: unexpected argument '\''extra'\''" hub -c "$NOCFG" extra &&
	grep -q "^usage: zcnc hub \[-c FILE\]" err &&
	fails 2 "zcnc: unexpected argument '\''extra'\''" agent -c "$NOCFG" -n extra &&
	grep -q "^usage: zcnc agent \[-c FILE\]" err &&
	usage_fails "zcnc: -t wants a positive number of seconds, not '\''0'\''" shell -c "$NOCFG" -t 0 &&
	usage_fails "zcnc: shell takes no arguments (type its lines at its prompt)" shell -c "$NOCFG" n1:true
'

test_expect_success 'shell: a line that is not valid UTF-8 is a usage error, checked before the agent' '
	printf "n1: echo \\377\\n" >badline &&
	test_expect_code 2 "$ZCNC" shell -c "$NOCFG" <badline >out 2>err &&
	has_line "zcnc: the target or the command is not valid UTF-8" err
'

test_expect_success 'setup: a hub and one agent' '
	make_keys --hub hub1 &&
	make_keys n1 &&
	start_hub hub1 &&
	start_agent n1
'

test_expect_success 'keys list with no request: says where it looked, exits 0' '
	"$ZCNC" keys -c "$SCRATCH/hub1.cfg" list >out 2>err &&
	has_line "zcnc: no pending requests (hub hub1, $SCRATCH/hub1/pending)" err &&
	! test -s out
'

test_expect_success 'sub -o -- COMMAND that cannot be run: says so, exits 125' '
	zcnc_as n1 pub --retain 60 run.test hello &&
	test_expect_code 125 zcnc_as n1 sub -o -t 10 run.test -- "$SCRATCH/no-such-command" >out 2>err &&
	has_line "zcnc: cannot run $SCRATCH/no-such-command: No such file or directory" err
'

# A node never seen: its job is queued, and nothing answers it.
# ghost_job: the ID of the one job n1 has queued for ghost (from n1's
# queue, not from the message under test).
ghost_job () {
	zcnc_as n1 queue --json list >queue.out &&
	python3 -c "$zc_py_ghost_job" queue.out
}
zc_py_ghost_job='
import json, sys
ids = [job["id"] for job in map(json.loads, open(sys.argv[1])) if job.get("node") == "ghost"]
if len(ids) != 1:
    sys.exit("ghost_job: %d jobs queued for ghost" % len(ids))
print(ids[0])
'

test_expect_success 'cp that does not end within -t: says the copy goes on, under which job; exits 124' '
	test_expect_code 124 zcnc_as n1 cp -t 1 ghost:/etc/hostname "n1:$SCRATCH/copied" >out 2>err &&
	id=$(ghost_job) &&
	zcnc_as n1 queue cancel "$id" >/dev/null &&
	has_line "zcnc: the copy did not end within 1 s; it goes on as $id (see: zcnc jobs $id)" err
'

test_expect_success 'shell: a line without an answer within -t says the job stays queued; status 124' '
	echo "ghost: true" >lines &&
	test_expect_code 124 "$ZCNC" shell -c "$SCRATCH/n1.cfg" -t 1 <lines >out 2>err &&
	id=$(ghost_job) &&
	zcnc_as n1 queue cancel "$id" >/dev/null &&
	has_line "zcnc: no answer within 1 s; $id stays queued (see: zcnc jobs $id)" err
'

# The history file is written after each line typed on a terminal; a
# HOME that does not exist makes that fail. It needs libedit (without
# it the shell reads plain lines and keeps no history: t0052).
if test -x "$ZC_PTY"; then
	"$ZC_PTY" -o probe.out -t 10 -T 20 -- "$ZCNC" shell -c "$NOCFG" >/dev/null 2>&1 <<-\EOF &&
	expect >
	raw
	send \x04
	exit 0
	EOF
	! grep -q "cannot set up line editing" probe.out &&
	test_set_prereq LIBEDIT
fi

test_expect_success LIBEDIT 'shell on a terminal: a history file that cannot be written is said once, the shell goes on' '
	env -u XDG_STATE_HOME HOME="$SCRATCH/no-home" NO_COLOR=1 \
		"$ZC_PTY" -o pty.out -t 20 -T 60 -- "$ZCNC" shell -c "$SCRATCH/n1.cfg" <<-\EOF &&
	expect n1>
	line n1: echo $((6*7))
	expect 42
	expect n1>
	line n1: echo $((7*8))
	expect 56
	expect n1>
	line quit
	exit 0
	EOF
	tr -d "\r" <pty.out >out &&
	has_line "zcnc: cannot write the history to $SCRATCH/no-home/.zcnc_history: No such file or directory" out &&
	test "$(grep -c "cannot write the history" out)" = 1 &&
	! test -e "$SCRATCH/no-home"
'

test_done
