#!/bin/sh
test_description='zcnc shell on a terminal (driven by tests/zc-pty) and on a pipe: triggers, sub between prompts, Ctrl-C cancels the job, errors, history, completion'
. "$(dirname "$0")/test-lib.sh"

ZC_PTY=$ZCNC_BUILD/tests/zc-pty
test -x "$ZC_PTY" || bail_out "no tests/zc-pty in $ZCNC_BUILD (make tests/zc-pty)"
STATE=$SCRATCH/state

# shell_pty NAME [ARGS...] <SCRIPT: runs `zcnc shell -c NAME.cfg` on a
# terminal, driven by the zc-pty script on stdin; its output goes to
# pty.out. The history goes under $STATE.
# NO_COLOR: the lines are compared as text; colour on a terminal is
# t0044's.
shell_pty () {
	local name=$1
	shift
	NO_COLOR=1 XDG_STATE_HOME=$STATE "$ZC_PTY" -o pty.out -t 20 -T 100 -- \
		"$ZCNC" shell -c "$SCRATCH/$name.cfg" "$@"
}

# no_process PATTERN: no process's command line matches PATTERN.
no_process () {
	! pgrep -f "$1" >/dev/null
}

test_expect_success 'setup: hub1 with n1, n2 and n3' '
	make_keys --hub hub1 &&
	make_keys n1 n2 n3 n4 &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent n2 &&
	start_agent n3 &&
	wait_for nodes_online n1 n1 n2 n3
'

test_expect_success 'a trigger line prints its result as trigger does; the next line is answered' '
	shell_pty n1 <<-\EOF &&
	expect n1>
	line n2: echo $((6*7))
	expect 42
	expect n1>
	line n2, n3: echo fan-$((1+1))
	expect n1>
	line n3: pwd
	expect /n3
	expect n1>
	line help
	expect A line is one of
	expect n1>
	line quit
	exit 0
	EOF
	tr -d "\r" <pty.out >out &&
	grep -q "^n2: fan-2$" out &&
	grep -q "^n3: fan-2$" out &&
	grep -q "^$SCRATCH/n3$" out
'

test_expect_success 'the history file holds the lines (vis(3)-encoded), for its owner only' '
	history=$STATE/zcnc/history &&
	test -f "$history" &&
	grep -q "^n3:.040pwd$" "$history" &&
	grep -q "quit" "$history" &&
	test "$(stat -c %a "$history")" = 600 &&
	test "$(stat -c %a "$STATE/zcnc")" = 700
'

test_expect_success 'the next shell recalls the history: Ctrl-P three times brings back n3: pwd' '
	shell_pty n1 <<-\EOF
	expect n1>
	raw
	send \x10\x10\x10\r
	expect /n3
	expect n1>
	raw
	send \x04
	exit 0
	EOF
'

test_expect_success 'sub: a message published by another process prints between prompts' '
	shell_pty n1 <<-EOF &&
	expect n1>
	line sub test.greeting
	expect n1>
	run "$ZCNC" pub -c "$SCRATCH/n2.cfg" test.greeting hi-there
	expect test.greeting: hi-there
	expect n1>
	line unsub test.greeting
	expect n1>
	line pub test.greeting not-for-us
	expect n1>
	run sleep 0.5
	line quit
	exit 0
	EOF
	tr -d "\r" <pty.out >out &&
	grep -q "test.greeting: hi-there$" out &&
	! grep -q "test.greeting: not-for-us" out
'

test_expect_success 'a message that comes while a line is typed: the line is drawn again and runs whole' '
	shell_pty n1 <<-EOF &&
	expect n1>
	line sub test.mid
	expect n1>
	raw
	send n2: echo par
	expect par
	run "$ZCNC" pub -c "$SCRATCH/n3.cfg" test.mid in-between
	expect test.mid: in-between
	expect n2: echo par
	send tial-\$((2+3))\r
	expect partial-5
	expect n1>
	line quit
	exit 0
	EOF
	tr -d "\r" <pty.out >out &&
	grep -q "^partial-5$" out
'

test_expect_success 'Ctrl-C during a job cancels it (no sleep is left) and the shell answers the next line' '
	shell_pty n1 <<-\EOF &&
	expect n1>
	line n2: sleep 4711
	run for i in $(seq 100); do pgrep -f "^sleep 4711$" >/dev/null && exit 0; sleep 0.1; done; exit 1
	send \x03
	expect cancelling 1 job(s)
	expect n1>
	line n3: echo $((40+2))
	expect 42
	expect n1>
	line quit
	exit 0
	EOF
	wait_for no_process "^sleep 4711$" &&
	zcnc_as n1 jobs --json >jobs &&
	grep -q "\"node\":\"n2\",\"method\":\"exec\",\"state\":\"cancelled\"" jobs
'

test_expect_success 'Ctrl-C at the prompt drops the line being typed; Ctrl-D leaves' '
	shell_pty n1 <<-\EOF
	expect n1>
	raw
	send n2: touch dropped
	send \x03
	expect ^C
	expect n1>
	line n2: echo $((7*7))
	expect 49
	expect n1>
	raw
	send \x04
	exit 0
	EOF
	test ! -e "$SCRATCH/n2/dropped"
'

test_expect_success 'Tab completes the shell words and node names' '
	shell_pty n1 <<-\EOF &&
	expect n1>
	raw
	send no\t\r
	expect LAST SEEN
	expect n1>
	raw
	send n\t
	expect n1  n2  n3
	send 3\techo $((8*8))\r
	expect 64
	expect n1>
	line quit
	exit 0
	EOF
	tr -d "\r" <pty.out >out &&
	grep -q "n3 *online" out
'

test_expect_success 'bad lines print their errors and the shell goes on' '
	shell_pty n1 <<-\EOF
	expect n1>
	line frobnicate now
	expect is neither a command of the shell nor TARGET: COMMAND
	expect n1>
	line : uptime
	expect no TARGET before
	expect n1>
	line sub
	expect sub takes one SUBJECT
	expect n1>
	line nomatch-*: true
	expect matches no known node
	expect n1>
	line bad/name: true
	expect bad target item
	expect n1>
	line unsub never.subscribed
	expect not subscribed to never.subscribed
	expect n1>
	line pub bad..subject x
	expect n1>
	line jobs 01JDQ8ABCDEFGHJKMNPQRSTVWX.n2
	expect n1>
	line n2: echo $((9*9))
	expect 81
	line quit
	exit 0
	EOF
'

test_expect_success 'an agent that is not running: the shell says so at start and at each line, and goes on' '
	write_config "$SCRATCH/n4.cfg" "zcnc/name = n4" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n4" \
		"agent/hub = hub1@$(hub_endpoint hub1)" &&
	shell_pty n4 <<-\EOF
	expect cannot connect to the agent socket
	expect n4>
	line n1: true
	expect is `zcnc agent` running?
	expect n4>
	line sub x.y
	expect is `zcnc agent` running?
	expect n4>
	line nodes
	expect is `zcnc agent` running?
	expect n4>
	line quit
	exit 125
	EOF
'

test_expect_success 'not a terminal: plain lines, the same results, the status of the last line' '
	printf "n2: echo \$((3*3))\nbogus\n# a comment\nn2: exit 3\n" >lines &&
	test_expect_code 3 "$ZCNC" shell -c "$SCRATCH/n1.cfg" <lines >out 2>err &&
	echo 9 >expect &&
	test_cmp expect out &&
	grep -q "'"'"'bogus'"'"' is neither" err &&
	printf "n2: echo ok\n" | "$ZCNC" shell -c "$SCRATCH/n1.cfg" >out &&
	echo ok >expect &&
	test_cmp expect out
'

test_expect_success 'usage errors of shell' '
	test_expect_code 2 "$ZCNC" shell -c "$SCRATCH/n1.cfg" extra </dev/null 2>err &&
	grep -q "shell takes no arguments" err &&
	test_expect_code 2 "$ZCNC" shell -t 0 </dev/null 2>err &&
	grep -q "\-t wants a positive number of seconds" err &&
	"$ZCNC" shell --help >out &&
	grep -q "usage: zcnc shell \[-c FILE\] \[-t SECS\]" out
'

test_expect_success 'the agent restarts: the shell says its subscriptions ended, goes on, and presence comes back' '
	shell_pty n1 >pty.err 2>&1 <<-EOF &
	expect n1>
	line sub test.again
	expect n1>
	run touch ready
	expect the agent closed the connection; 1 subscription(s) ended
	run for i in \$(seq 300); do test -e restarted && exit 0; sleep 0.1; done; exit 1
	line n2: echo \$((5+6))
	expect 11
	expect n1>
	run kill -TERM \$(cat "$SCRATCH/n3.pid")
	expect * n3 offline via hub1 (clean exit)
	expect n1>
	line presence off
	expect n1>
	line quit
	exit 0
	EOF
	pty_pid=$!
	# zc-pty ends on its own whatever happens here (its steps are bounded).
	wait_for "test -e ready" && stop_agent n1 && start_agent n1
	touch restarted
	wait $pty_pid || { cat pty.err; false; }
'

test_done
