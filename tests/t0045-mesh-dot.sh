#!/bin/sh
test_description='zcnc nodes --dot: the mesh as the local agent sees it, in Graphviz language that dot renders'
. "$(dirname "$0")/test-lib.sh"

command -v dot >/dev/null 2>&1 && test_set_prereq DOT

# hub1 with n1 and n2; the hub site chained to hub1, with s1 and s2.
test_expect_success 'setup: two chained hubs and four agents' '
	make_keys --hub hub1 site &&
	make_keys n1 n2 s1 s2 &&
	start_hub hub1 "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_hub site "hub/uplink = hub1@$(hub_endpoint hub1)" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_agent n1 hub1 &&
	start_agent n2 hub1 &&
	start_agent s1 site &&
	start_agent s2 site &&
	wait_for nodes_online n1 n1 n2 s1 s2
'

test_expect_success 'an offline node and jobs queued for it and for a name never seen' '
	stop_agent s2 &&
	wait_for nodes_offline n1 s2 &&
	zcnc_as n1 trigger --async s2:true >/dev/null &&
	zcnc_as n1 trigger --async s2:true >/dev/null &&
	zcnc_as n1 trigger --async n9:true >/dev/null 2>&1
'

test_expect_success 'the graph has the hubs, the nodes with their state and queue, and the links' '
	zcnc_as n1 nodes --dot >mesh.dot &&
	head -n 1 mesh.dot >first &&
	echo "graph zcnc {" >expect &&
	test_cmp expect first &&
	grep -q "label=\"the zcnc mesh as n1 sees it\"" mesh.dot &&
	grep -q "^    \"hub:hub1\" \\[label=\"hub1\", shape=box" mesh.dot &&
	grep -q "^    \"hub:site\" \\[label=\"site\", shape=box" mesh.dot &&
	grep -q "^    \"node:n1\" \\[label=\"n1 (this agent)\\\\nonline\"" mesh.dot &&
	grep -q "^    \"node:s1\" \\[label=\"s1\\\\nonline\"" mesh.dot &&
	grep -q "^    \"node:s2\" \\[label=\"s2\\\\noffline, 2 queued\"" mesh.dot &&
	grep -q "^    \"node:n9\" \\[label=\"n9\\\\nnever seen, 1 queued\", style=\"filled,dotted\"" mesh.dot &&
	grep -q "^    \"hub:hub1\" -- \"node:n1\";" mesh.dot &&
	grep -q "^    \"hub:hub1\" -- \"node:n2\";" mesh.dot &&
	grep -q "^    \"hub:hub1\" -- \"hub:site\";" mesh.dot &&
	grep -q "^    \"hub:site\" -- \"node:s1\";" mesh.dot &&
	grep -q "^    \"hub:site\" -- \"node:s2\" \\[style=dashed\\];" mesh.dot &&
	test "$(grep -c " -- " mesh.dot)" = 5 &&
	tail -n 1 mesh.dot >last &&
	echo "}" >expect &&
	test_cmp expect last
'

test_expect_success DOT 'dot parses it and draws every hub and node' '
	dot -Tsvg mesh.dot >mesh.svg 2>dot.err &&
	test ! -s dot.err &&
	grep -q "<svg" mesh.svg &&
	for name in hub:hub1 hub:site node:n1 node:n2 node:s1 node:s2 node:n9; do
		grep -q "<title>$name</title>" mesh.svg || return 1
	done &&
	grep -c "class=\"edge\"" mesh.svg >count &&
	echo 5 >expect &&
	test_cmp expect count
'

test_expect_success 'a node on the far hub sees the same mesh from its side' '
	zcnc_as s1 nodes --dot >s1.dot &&
	grep -q "^    \"hub:site\" -- \"node:s1\";" s1.dot &&
	grep -q "^    \"hub:site\" -- \"hub:hub1\";" s1.dot &&
	grep -q "^    \"hub:hub1\" -- \"node:n1\";" s1.dot &&
	! grep -q queued s1.dot
'

test_expect_success '--dot is not for --json, --facts or --functions' '
	test_expect_code 2 zcnc_as n1 nodes --dot --json 2>err &&
	grep -q "^zcnc: --dot draws the mesh: not with --json, --facts or --functions" err &&
	test_expect_code 2 zcnc_as n1 nodes --facts --dot 2>err &&
	grep -q "^usage: zcnc nodes \\[-c FILE\\] \\[--dot\\]" err
'

test_expect_success '--dot without a running agent: exit 125 and why' '
	stop_agent n2 &&
	test_expect_code 125 zcnc_as n2 nodes --dot >out 2>err &&
	test ! -s out &&
	grep -q "^zcnc: cannot connect to the agent socket" err
'

test_done
