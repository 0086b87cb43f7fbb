#!/bin/sh
test_description='the terminal: a progress line and colour on a TTY only, NO_COLOR, the options-after-TARGET:COMMAND warning, --json on listings'
. "$(dirname "$0")/test-lib.sh"

# `script` (util-linux) gives a command a pseudo-terminal: its stdout and
# stderr are the terminal, and what the terminal showed comes out on
# script's own stdout. A redirection inside the command takes that
# stream off the terminal.
command -v script >/dev/null 2>&1 && test_set_prereq SCRIPT
ESC=$(printf '\033')

# on_tty [VAR=VALUE...] ARGS: zcnc ARGS (one string, read by the shell;
# n1's config) on a terminal, with TERM=xterm and the environment given;
# the terminal's output in tty.out. Its exit status is zcnc's.
on_tty () {
	local env=
	while case $1 in *=*) true ;; *) false ;; esac; do
		env="$env $1"
		shift
	done
	env TERM=xterm ZCNC_CONFIG="$SCRATCH/n1.cfg" $env script -qefc "$ZCNC $*" /dev/null >tty.out </dev/null
}

# queue_empty: n1 waits for no result.
queue_empty () {
	zcnc_as n1 queue --json list >queue.out && ! test -s queue.out
}

# has_esc FILE: FILE holds an ESC byte.
has_esc () {
	grep -q "$ESC" "$1"
}

test_expect_success 'setup: a hub and three agents' '
	make_keys --hub hub1 &&
	make_keys n1 n2 n3 &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent n2 &&
	start_agent n3 &&
	wait_for nodes_online n1 n1 n2 n3
'

test_expect_success SCRIPT 'a fan-out on a terminal shows a progress line, cleared before the results' '
	on_tty "trigger \"n*:sleep 0.5; echo hi\"" &&
	grep -q "zcnc: ${ESC}\\[32m0${ESC}\\[0m/3 answered, ${ESC}\\[33m3 pending${ESC}\\[0m, 0.0 s" tty.out &&
	grep -q "zcnc: ${ESC}\\[32m3${ESC}\\[0m/3 answered, 0 pending" tty.out &&
	grep -q "${ESC}\\[K" tty.out &&
	# each result line comes after a clear, with its prefix painted green
	grep -c "${ESC}\\[K${ESC}\\[32mn[123]:${ESC}\\[0m hi" tty.out >count &&
	echo 3 >expect &&
	test_cmp expect count
'

# SIGTERM here: a command started in the background ignores SIGINT, and
# zcnc leaves it so; Ctrl-C's SIGINT takes the same path. The shell that
# script starts ($SHELL: a POSIX one here) writes its PID, then becomes
# zcnc. tty.out is removed
# first: the background job truncates it only when it gets to run, and
# the old one already says "3 pending".
test_expect_success SCRIPT 'SIGTERM or SIGINT during a fan-out: the progress line is cleared, then zcnc dies of it' '
	rm -f tty.out trigger.pid || return 1
	env TERM=xterm SHELL=/bin/sh ZCNC_CONFIG="$SCRATCH/n1.cfg" \
		script -qefc "echo \$\$ >trigger.pid; exec $ZCNC trigger \"n*:sleep 3\"" /dev/null \
		>tty.out </dev/null &
	script_pid=$! &&
	wait_for "test -s trigger.pid && grep -q \"3 pending\" tty.out" &&
	kill -TERM "$(cat trigger.pid)" &&
	# script ends when zcnc has, after copying all it showed to tty.out
	wait_for "! kill -0 $script_pid 2>/dev/null" &&
	# the last bytes on the terminal are the clear, nothing after it
	tail -c 4 tty.out | od -An -c | tr -s " " >last &&
	printf "%s\\n" " \\r 033 [ K" >expect &&
	{ test_cmp expect last || { od -c tty.out | tail -n 8 >&2; false; }; } &&
	# the jobs end on their own: the queue belongs to the next tests
	{ WAIT_TRIES=300 wait_for queue_empty || { cat queue.out >&2; false; }; }
'

test_expect_success SCRIPT 'the progress line counts failures, and their prefix is red' '
	test_expect_code 1 on_tty "trigger \"n*:exit 3\"" &&
	grep -q "answered${ESC}\\[1;31m (1 failed)" tty.out &&
	test_expect_code 1 on_tty "trigger \"n*:echo x; exit 3\"" &&
	grep -q "${ESC}\\[1;31mn2:${ESC}\\[0m x" tty.out
'

test_expect_success SCRIPT 'send -w: a message for several nodes shows the progress line, one for one node none' '
	echo "{\"to\": \"n*\", \"args\": [\"echo sent\"]}" >fan-out.json &&
	NO_COLOR=1 on_tty "send -w fan-out.json" &&
	grep -q "zcnc: 0/3 answered, 3 pending" tty.out &&
	grep -q "zcnc: 3/3 answered, 0 pending" tty.out &&
	test "$(grep -c "\"stdout\":\"sent\\\\n\"" tty.out)" = 3 &&
	echo "{\"to\": \"n2\", \"args\": [\"echo one\"]}" >one.json &&
	NO_COLOR=1 on_tty "send -w one.json" &&
	grep -q "\"stdout\":\"one\\\\n\"" tty.out &&
	! grep -q "answered" tty.out
'

test_expect_success SCRIPT 'NO_COLOR: the progress line still, but not one ESC byte' '
	NO_COLOR=1 on_tty "trigger \"n*:echo hi\"" &&
	grep -q "zcnc: 0/3 answered, 3 pending" tty.out &&
	grep -q "zcnc: 3/3 answered, 0 pending" tty.out &&
	grep -q "n1: hi" tty.out &&
	! has_esc tty.out &&
	NO_COLOR=1 on_tty nodes &&
	grep -q "^n2  *online" tty.out &&
	! has_esc tty.out
'

test_expect_success SCRIPT 'NO_COLOR set but empty does not count (no-color.org)' '
	on_tty NO_COLOR= nodes &&
	has_esc tty.out
'

test_expect_success SCRIPT 'TERM=dumb: no escape sequences either' '
	on_tty TERM=dumb "trigger \"n*:echo hi\"" &&
	grep -q "answered" tty.out &&
	! has_esc tty.out
'

test_expect_success SCRIPT 'stderr not a terminal: no progress line and no escapes on it' '
	on_tty "trigger \"n*:echo hi; echo oops >&2\" 2>err" &&
	! grep -q answered err &&
	! has_esc err &&
	grep -q "^n2: oops" err &&
	grep -q "n2:" tty.out &&
	! grep -q answered tty.out
'

test_expect_success 'on pipes and files: no progress line, no escape byte at all' '
	zcnc_as n1 trigger "n*:echo hi; exit 2" >out 2>err
	test $? = 1 &&
	test_line_count = 3 out &&
	! has_esc out && ! has_esc err &&
	! grep -q answered err &&
	zcnc_as n1 nodes >out && ! has_esc out &&
	zcnc_as n1 jobs >out && ! has_esc out &&
	zcnc_as n1 status >out && ! has_esc out
'

test_expect_success SCRIPT 'one exact name (raw mode) has no progress line' '
	on_tty "trigger n2:echo hi" &&
	! grep -q answered tty.out &&
	grep -q "^hi" tty.out
'

test_expect_success SCRIPT 'colour on a terminal: nodes, status, jobs and the job view' '
	on_tty nodes &&
	grep -q "^n1  *${ESC}\\[32monline${ESC}\\[0m  " tty.out &&
	on_tty status &&
	grep -q "(${ESC}\\[32mconnected${ESC}\\[0m)" tty.out &&
	on_tty jobs &&
	grep -q "${ESC}\\[32mdone${ESC}\\[0m  *0" tty.out &&
	grep -q "${ESC}\\[1;31mdone${ESC}\\[0m  *${ESC}\\[1;31m3${ESC}\\[0m" tty.out &&
	id=$(zcnc_as n1 trigger --async n2:true) &&
	wait_for job_state_is n1 "$id" done &&
	on_tty jobs "$id" &&
	grep -q "^state: ${ESC}\\[32mdone${ESC}\\[0m" tty.out
'

test_expect_success SCRIPT 'an offline node is red in nodes, its queued job yellow in queue list' '
	queue_empty &&
	stop_agent n3 &&
	wait_for nodes_offline n1 n3 &&
	zcnc_as n1 trigger --async n3:true >id &&
	on_tty nodes &&
	grep -q "^n3  *${ESC}\\[1;31moffline${ESC}\\[0m " tty.out &&
	on_tty queue list &&
	grep -q "$(cat id) *n3 *${ESC}\\[33mqueued${ESC}\\[0m" tty.out &&
	zcnc_as n1 queue list >out &&
	grep -q "$(cat id) *n3 *queued *-$" out
'

test_expect_success 'queue list, cancel and purge take --json' '
	zcnc_as n1 queue --json list >out &&
	test_json out "len(L) == 1 and J[\"node\"] == \"n3\" and J[\"state\"] == \"queued\"" &&
	zcnc_as n1 queue --json cancel "$(cat id)" >out &&
	test_json out "J == {\"cancelled\": \"$(cat id)\"}" &&
	zcnc_as n1 trigger --async n3:true >/dev/null &&
	zcnc_as n1 queue --json purge >out &&
	test_json out "J == {\"purged\": 1}"
'

test_expect_success 'trigger --async --json and send --json print {"node","id"} lines' '
	zcnc_as n1 trigger --async --json "n[12]:true" >out &&
	test_json out "len(L) == 2 and sorted(j[\"node\"] for j in L) == [\"n1\", \"n2\"]
	               and all(j[\"id\"].endswith(\".\" + j[\"node\"]) for j in L)" &&
	zcnc_as n1 trigger --async n2:true >out &&
	grep -q "^[0-9A-Z]*\\.n2$" out &&
	echo "{\"to\": [\"n1\", \"n2\"], \"method\": \"exec\", \"args\": [\"true\"]}" >msg.json &&
	zcnc_as n1 send --json msg.json >out &&
	test_json out "len(L) == 2 and set(j[\"node\"] for j in L) == {\"n1\", \"n2\"}" &&
	zcnc_as n1 send msg.json >out &&
	grep -q "^[0-9A-Z]*\\.n1 n1$" out
'

test_expect_success 'options after TARGET:COMMAND: a warning that shows the line meant' '
	zcnc_as n1 trigger n2:echo hi -t 2 >out 2>err &&
	echo "hi -t 2" >expect &&
	test_cmp expect out &&
	grep -q "^zcnc: warning: .-t 2. after TARGET:COMMAND goes to the target as part of the command;" err &&
	grep -q "zcnc trigger -c $SCRATCH/n1.cfg -t 2 n2:echo hi " err &&
	zcnc_as n1 trigger "n[12]:echo x" --json --timeout=5 >out 2>err &&
	grep -q "^n1: x --json --timeout=5$" out &&
	grep -q "warning: .--json --timeout=5. after" err
'

test_expect_success 'the correct forms: options first, or -- before TARGET:COMMAND, warn of nothing' '
	zcnc_as n1 trigger -t 5 n2:echo hi >out 2>err &&
	echo hi >expect &&
	test_cmp expect out &&
	test ! -s err &&
	zcnc_as n1 trigger -t 5 -- n2:echo hi -t 2 >out 2>err &&
	echo "hi -t 2" >expect &&
	test_cmp expect out &&
	test ! -s err
'

test_expect_success 'words of the command that only look like options are no warning' '
	zcnc_as n1 trigger n2:ls -t >out 2>err &&
	test ! -s err &&
	zcnc_as n1 trigger "n2:echo a,b" | cut -d , -f 2 >out 2>err &&
	test ! -s err &&
	zcnc_as n1 trigger n2:sort -t , /dev/null 2>err &&
	test ! -s err
'

test_expect_success 'call warns the same way for options after FUNCTION' '
	zcnc_as n1 call -t 5 n2 nosuch a --json -t 2 >out 2>err
	grep -q "^zcnc: warning: .--json -t 2. after FUNCTION goes to the target as arguments of the function; zcnc.s options go first: zcnc call -c $SCRATCH/n1.cfg -t 5 --json -t 2 n2 nosuch a " err &&
	zcnc_as n1 call -t 5 -- n2 nosuch a --json >out 2>err
	! grep -q warning err
'

# zcnc cp draws "STORED / TOTAL MiB  RATE MiB/s  ETA M:SS" over itself
# on a terminal (zcnc-cp(1)), from the progress its copy job reports
# every half second; through a proxy at 1 MB/s, a 3 MiB file takes about
# 3 s. Not "n*": the fan-outs above count three nodes.
test_expect_success SCRIPT 'cp on a terminal: a progress line with the bytes, the rate and the time left' '
	test -x "$ZC_PROXY" &&
	start_proxy px --to "$(hub_endpoint hub1 | sed "s|tcp://||")" &&
	make_keys far &&
	start_agent far hub1 "agent/hub = hub1@tcp://127.0.0.1:$(cat px.port)" &&
	wait_for nodes_online n1 far &&
	proxy_ctl px "rate 1000000" &&
	mkdir -p dropbox &&
	head -c 3145728 /dev/urandom >three-mib &&
	on_tty cp -t 60 three-mib "far:$SCRATCH/dropbox/tty" &&
	cmp three-mib dropbox/tty &&
	tr "\r" "\n" <tty.out >lines &&
	grep -E "^ +[0-9]+\.[0-9] / 3\.0 MiB +([1-9][0-9]*\.[0-9]|0\.[1-9]) MiB/s  ETA [0-9]+:[0-5][0-9] *$" lines >progress &&
	grep -q -v "^ +3\.0 / " progress &&
	grep -q "copied $SCRATCH/three-mib to far: 3145728 bytes stored at $SCRATCH/dropbox/tty" lines
'

# The pipe case of a fast copy is in t0039 ("nothing but one line on a
# pipe"); this is the same slow copy as above.
test_expect_success SCRIPT 'cp with stdout not a terminal: the result line only, no progress' '
	zcnc_as n1 cp -t 60 three-mib "far:$SCRATCH/dropbox/pipe" >out 2>err &&
	cmp three-mib dropbox/pipe &&
	test_line_count = 1 out &&
	grep -q "^copied $SCRATCH/three-mib to far: 3145728 bytes stored at $SCRATCH/dropbox/pipe" out &&
	test "$(tr -dc "\r" <out | wc -c)" = 0 &&
	! grep -q "MiB/s" out &&
	test ! -s err &&
	proxy_ctl px "rate 0"
'

test_done
