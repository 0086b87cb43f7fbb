#!/bin/sh
test_description='readfolder: JSON files dropped into it are sent, bad ones moved aside'
. "$(dirname "$0")/test-lib.sh"

# drop NAME TEXT: writes a file the way writers should: a dot name, renamed.
drop () {
	printf '%s\n' "$2" >"$IN/.$1.tmp" &&
	mv "$IN/.$1.tmp" "$IN/$1"
}

# The states of n1's jobs to NODE, as "NODE:STATE" lines, sorted.
job_states () {
	zcnc_as n1 jobs --json >jobs.out &&
	python3 -c '
import json, sys
for line in open("jobs.out"):
    job = json.loads(line)
    print("%s:%s" % (job["node"], job["state"]))' | sort
}

test_expect_success 'setup: a hub and two agents, n1 with a readfolder' '
	make_keys --hub hub1 &&
	make_keys n1 n2 &&
	start_hub hub1 &&
	IN=$SCRATCH/in &&
	start_agent n1 hub1 "agent/readfolder = $IN" &&
	start_agent n2 &&
	wait_for nodes_online n1 n1 n2 &&
	test -d "$IN/failed" &&
	test "$(stat -c %a "$IN")" = 700
'

test_expect_success 'a file of JSON lines is sent, then removed' '
	drop two.json "{\"to\": \"n2\", \"args\": [\"echo one >>ran\"]}
{\"to\": \"n1\", \"args\": [\"echo two >>ran\"]}" &&
	wait_for "test ! -e $IN/two.json" &&
	wait_for "test -s n2/ran && test -s n1/ran" &&
	wait_for "job_states | grep -c :done | grep -qx 2" &&
	grep -q "readfolder: two.json: 2 message(s) sent" n1.log
'

test_expect_success 'a file that does not parse is moved to failed/ with its reason' '
	drop bad.json "{\"to\": \"n2\", \"args\": [\"true\"]}
{\"to\": " &&
	wait_for "test -e $IN/failed/bad.json" &&
	test ! -e "$IN/bad.json" &&
	echo "line 2: unexpected token near end of file" >expect &&
	test_cmp expect "$IN/failed/bad.json.error" &&
	grep -q "error: readfolder: bad.json: line 2: unexpected token near end of file; moved to failed/bad.json" n1.log &&
	test_line_count = 2 "$IN/failed/bad.json"
'

test_expect_success 'a refused message: the others are sent, the .error file says which' '
	drop mixed.json "[{\"to\": \"n2\", \"args\": [\"echo mixed >>ran\"], \"colour\": 1},
 {\"to\": \"n2\", \"args\": [\"echo mixed2 >>ran\"]},
 {\"to\": \"nosuch-*\", \"args\": [\"true\"]}]" &&
	wait_for "test -e $IN/failed/mixed.json.error" &&
	cat >expect <<-\EOF &&
	message 1 of 3 refused: unknown field "colour" (and 1 more, see the .error file)
	message 1 refused: unknown field "colour"
	message 3 refused: '"'"'nosuch-*'"'"' matches no known node
	accepted and sent, do not send again: messages 2
	EOF
	test_cmp expect "$IN/failed/mixed.json.error" &&
	wait_for "grep -qx mixed2 n2/ran" &&
	! grep -qx mixed n2/ran
'

test_expect_success 'other names and dotfiles are left alone' '
	echo "{\"to\": \"n2\", \"args\": [\"true\"]}" >"$IN/notes.txt" &&
	echo "{\"to\": \"n2\", \"args\": [\"true\"]}" >"$IN/.hidden.json" &&
	sleep 1.5 &&
	test -e "$IN/notes.txt" && test -e "$IN/.hidden.json"
'

test_expect_success 'files dropped while the agent is stopped are sent when it starts' '
	stop_agent n1 &&
	drop later.json "{\"to\": \"n2\", \"args\": [\"echo later >>ran\"]}" &&
	start_agent n1 hub1 "agent/readfolder = $IN" &&
	wait_for "test ! -e $IN/later.json" &&
	wait_for "grep -qx later n2/ran"
'

test_expect_success 'a readfolder that cannot be created stops the agent with one line' '
	stop_agent n1 &&
	sed "s|readfolder = .*|readfolder = $SCRATCH/no/such/in|" n1.cfg >bad.cfg &&
	test_expect_code 1 "$ZCNC" agent -c bad.cfg 2>err &&
	grep -q "bad.cfg: agent/readfolder: cannot create $SCRATCH/no/such/in: No such file or directory" err
'

test_done
