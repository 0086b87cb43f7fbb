#!/bin/sh
test_description='zcnc send: messages from a file or stdin, one connection'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a hub and two agents' '
	make_keys --hub hub1 &&
	make_keys n1 n2 &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent n2 &&
	wait_for nodes_online n1 n1 n2
'

test_expect_success 'one object: one "ID NODE" line per job' '
	echo "{\"to\": \"n1,n2\", \"args\": [\"true\"]}" >one.json &&
	zcnc_as n1 send one.json >out &&
	test_line_count = 2 out &&
	grep -q "^[0-9A-Z]\{26\}\.n1 n1$" out &&
	grep -q "^[0-9A-Z]\{26\}\.n2 n2$" out
'

test_expect_success 'an array and JSON lines from stdin; -w prints each job as JSON' '
	cat >lines.json <<-\EOF &&
	{"to": "n1", "args": ["echo a"]}

	{"to": "n2", "args": ["echo b"]}
	EOF
	zcnc_as n1 send -w -t 20 - <lines.json >out &&
	grep -v "^{" out >ids &&
	test_line_count = 2 ids &&
	grep "^{" out >jobs &&
	test_json jobs "[(j[\"node\"], j[\"stdout\"], j[\"state\"]) for j in L] == [(\"n1\", \"a\\n\", \"done\"), (\"n2\", \"b\\n\", \"done\")]" &&
	echo "[{\"to\": \"n1\", \"args\": [\"true\"]}, {\"to\": \"n2\", \"args\": [\"true\"]}]" |
		zcnc_as n1 send -w >out &&
	test_line_count = 4 out
'

test_expect_success 'with -w, a job exiting non-zero makes send exit 1' '
	echo "{\"to\": \"n2\", \"args\": [\"exit 4\"]}" >fail.json &&
	test_expect_code 1 zcnc_as n1 send -w fail.json >out &&
	grep "^{" out >jobs &&
	test_json jobs "L[0][\"exit\"] == 4"
'

test_expect_success 'with -w, a job still running at the end exits 124 and stays queued' '
	echo "{\"to\": \"n2\", \"args\": [\"sleep 2\"]}" >slow.json &&
	test_expect_code 124 zcnc_as n1 send -w -t 0.2 slow.json >out 2>err &&
	grep -q "stays queued" err
'

test_expect_success 'a bad input sends nothing and exits 2, naming the line' '
	zcnc_as n1 jobs | cut -d" " -f1 >before &&
	printf "%s\n" "{\"to\": \"n1\", \"args\": [\"true\"]}" "{\"to\": " >bad.json &&
	test_expect_code 2 zcnc_as n1 send bad.json 2>err &&
	grep -q "^zcnc: bad.json: line 2: " err &&
	zcnc_as n1 jobs | cut -d" " -f1 >after &&
	test_cmp before after &&
	echo "   " | test_expect_code 2 zcnc_as n1 send 2>err &&
	grep -q "no message in input" err
'

test_expect_success 'a refused message is reported and the others are sent' '
	cat >mixed.json <<-\EOF &&
	{"to": "n1", "args": ["true"], "colour": "red"}
	{"to": "n1", "args": ["true"]}
	EOF
	test_expect_code 2 zcnc_as n1 send mixed.json >out 2>err &&
	grep -q "^zcnc: message 1: unknown field \"colour\"$" err &&
	test_line_count = 1 out
'

test_expect_success 'no target is exit 3; never-seen names are reported' '
	echo "{\"to\": \"nosuch-*\", \"args\": [\"true\"]}" >none.json &&
	test_expect_code 3 zcnc_as n1 send none.json 2>err &&
	grep -q "^zcnc: message 1: " err &&
	echo "{\"to\": \"n9\", \"args\": [\"true\"]}" | zcnc_as n1 send >out 2>err &&
	grep -q "^zcnc: n9: never seen; queued as $(cut -d" " -f1 out)$" err
'

test_expect_success 'usage errors exit 2; no agent exits 125' '
	test_expect_code 2 zcnc_as n1 send a b &&
	test_expect_code 2 zcnc_as n1 send -t 5 one.json &&
	test_expect_code 2 zcnc_as n1 send nosuchfile.json 2>err &&
	grep -q "cannot open nosuchfile.json" err &&
	zcnc_as n1 send --help >out &&
	grep -q "^usage: zcnc send" out &&
	stop_agent n2 &&
	test_expect_code 125 zcnc_as n2 send one.json
'

test_done
