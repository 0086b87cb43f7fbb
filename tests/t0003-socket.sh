#!/bin/sh
test_description='the agent socket: JSON lines any client can speak'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a hub and two agents' '
	make_keys --hub hub1 &&
	make_keys n1 n2 &&
	start_hub hub1 &&
	start_agent n1 &&
	start_agent n2 &&
	wait_for nodes_online n1 n1 n2 &&
	sock=n1/zcnc.sock
'

test_expect_success 'the socket is a unix socket of mode 0600' '
	test -S $sock &&
	test "$(stat -c %a $sock)" = 600
'

test_expect_success 'a malformed line gets a usage error; the connection stays usable' '
	printf "%s\n" "{bad" "{\"op\": \"nodes\"}" | sock_talk $sock 2 >out &&
	sed -n 1p out >first &&
	test_json first "J[\"code\"] == \"usage\" and J[\"error\"].startswith(\"malformed JSON request\")" &&
	sed -n 2p out >second &&
	test_json second "sorted(n[\"name\"] for n in J[\"nodes\"]) == [\"n1\", \"n2\"]"
'

test_expect_success 'a line that is JSON but not an object is refused' '
	printf "%s\n" "[1, 2]" "42" | sock_talk $sock 2 >out &&
	test_json out "all(j[\"code\"] == \"usage\" and j[\"error\"].startswith(\"malformed JSON request\") for j in L)"
'

test_expect_success 'the request tag is echoed, whatever its JSON type' '
	printf "%s\n" "{\"op\": \"status\", \"tag\": \"s\"}" \
		"{\"op\": \"nodes\", \"tag\": 7}" \
		"{\"op\": \"status\", \"tag\": {\"a\": [1]}}" | sock_talk $sock 3 >out &&
	test_json out "[j[\"tag\"] for j in L] == [\"s\", 7, {\"a\": [1]}] and L[0][\"name\"] == \"n1\""
'

test_expect_success 'an unknown field is an error naming the field, tag echoed' '
	echo "{\"to\": \"n2\", \"args\": [\"true\"], \"colour\": 1, \"tag\": \"t\"}" | sock_talk $sock 1 >out &&
	test_json out "J[\"code\"] == \"usage\" and J[\"field\"] == \"colour\" and J[\"tag\"] == \"t\"
		and \"colour\" in J[\"error\"]"
'

test_expect_success 'a bad value is an error naming its field' '
	printf "%s\n" "{\"args\": [\"true\"]}" \
		"{\"to\": \"n2\", \"args\": [\"a\", \"b\"]}" \
		"{\"to\": \"n2\", \"args\": [\"true\"], \"wait\": \"soon\"}" \
		"{\"to\": \"n2\", \"args\": [\"true\"], \"method_timeout\": -1}" \
		"{\"to\": \"n2\", \"args\": [\"true\"], \"method\": \"teleport\"}" \
		"{\"op\": \"ping\"}" | sock_talk $sock 6 >out &&
	test_json out "[j.get(\"field\") for j in L] == [\"to\", \"args\", \"wait\", \"method_timeout\", \"method\", \"node\"]
		and all(j[\"code\"] == \"usage\" for j in L)"
'

test_expect_success 'an unknown op is an error naming op' '
	echo "{\"op\": \"frobnicate\"}" | sock_talk $sock 1 >out &&
	test_json out "J[\"field\"] == \"op\" and \"frobnicate\" in J[\"error\"]"
'

test_expect_success 'ops nodes, status and jobs answer' '
	printf "%s\n" "{\"op\": \"nodes\"}" "{\"op\": \"status\"}" "{\"op\": \"jobs\"}" | sock_talk $sock 3 >out &&
	test_json out "len(L[0][\"nodes\"]) == 2 and L[1][\"name\"] == \"n1\" and isinstance(L[2][\"jobs\"], list)"
'

test_expect_success 'a message is answered with one ID per target and the unknown names' '
	echo "{\"to\": [\"n2\", \"n9\"], \"args\": [\"true\"], \"tag\": 1}" | sock_talk $sock 1 >out &&
	test_json out "sorted(i[\"node\"] for i in J[\"ids\"]) == [\"n2\", \"n9\"]
		and J[\"unknown\"] == [\"n9\"] and J[\"tag\"] == 1
		and all(i[\"id\"].endswith(\".\" + i[\"node\"]) for i in J[\"ids\"])"
'

test_expect_success 'with "wait", results follow the IDs, then an end line' '
	echo "{\"to\": \"n1,n2\", \"args\": [\"echo hi\"], \"wait\": 10, \"tag\": \"w\"}" | sock_talk $sock 4 >out &&
	test_json out "len(L) == 4 and all(j[\"tag\"] == \"w\" for j in L)
		and sorted(j[\"node\"] for j in L[1:3]) == [\"n1\", \"n2\"]
		and all(j[\"state\"] == \"done\" and j[\"stdout\"] == \"hi\\n\" for j in L[1:3])
		and L[3] == {\"end\": True, \"pending\": [], \"tag\": \"w\"}"
'

test_expect_success 'a wait that runs out lists the jobs still pending' '
	echo "{\"to\": \"n2\", \"args\": [\"sleep 3\"], \"wait\": 0.5}" | sock_talk $sock 2 >out &&
	test_json out "L[1][\"end\"] is True and L[1][\"pending\"] == [L[0][\"ids\"][0][\"id\"]]"
'

test_expect_success 'answers come in request order: a wait finishes before the next answer' '
	printf "%s\n" "{\"to\": \"n2\", \"args\": [\"sleep 1; echo slow\"], \"wait\": 10, \"tag\": \"w\"}" \
		"{\"op\": \"nodes\", \"tag\": \"n\"}" | sock_talk $sock 4 >out &&
	test_json out "[j[\"tag\"] for j in L] == [\"w\", \"w\", \"w\", \"n\"]
		and L[1][\"stdout\"] == \"slow\\n\" and L[2][\"end\"] is True and \"nodes\" in L[3]"
'

test_expect_success 'one connection carries many requests, answered in order' '
	for i in $(seq 1 50)
	do
		echo "{\"op\": \"status\", \"tag\": $i}"
	done | sock_talk $sock 50 >out &&
	test_json out "[j[\"tag\"] for j in L] == list(range(1, 51))"
'

test_expect_success 'a client that goes away during a wait does not disturb the agent' '
	echo "{\"to\": \"n2\", \"args\": [\"sleep 1\"], \"wait\": 10}" | sock_talk $sock 1 >out &&
	sleep 1.5 &&
	echo "{\"op\": \"status\"}" | sock_talk $sock 1 >out &&
	test_json out "J[\"name\"] == \"n1\""
'

test_expect_success NC 'nc -U is a client; a last line without newline is answered' '
	printf "{\"op\": \"status\"}" | timeout 10 nc -N -U $sock >out &&
	test_json out "J[\"name\"] == \"n1\""
'

test_expect_success NC 'a client that closes its side still gets every answer, then EOF' '
	printf "%s\n" "{\"to\": \"n2\", \"args\": [\"sleep 1; echo done\"], \"wait\": 10}" "{\"op\": \"status\"}" |
		timeout 10 nc -N -U $sock >out &&
	test_json out "len(L) == 4 and L[1][\"stdout\"] == \"done\\n\" and L[3][\"name\"] == \"n1\""
'

test_done
