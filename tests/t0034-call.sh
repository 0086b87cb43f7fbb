#!/bin/sh
test_description='named functions: zcnc call runs a function of the target'\''s config, arguments as "$1"..., never as shell code'
. "$(dirname "$0")/test-lib.sh"

# hub1 with the origin c1, n1 and n2 (policy: exec yes, call only
# machine-info); hub site chained to hub1 with s1 and s2 (policy: call
# yes but not 'fails', exec no).

functions () {
	printf '%s\n' \
		"agent/function args = printf '[%s]\\n' \"\$@\"" \
		"agent/function first = printf '%s\\n' \"\$1\"" \
		"agent/function machine-info = uname -s" \
		"agent/function fails = echo failing >&2; exit 5"
}

test_expect_success 'setup: two chained hubs, nodes with functions and policies on both' '
	make_keys --hub hub1 site &&
	make_keys c1 n1 n2 s1 s2 &&
	start_hub hub1 "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	start_hub site "hub/uplink = hub1@$(hub_endpoint hub1)" "zcnc/heartbeat = 0.5" "zcnc/peer_timeout = 3" &&
	printf "allow c1 exec *\nallow c1 call machine-info\n" >n2.policy &&
	printf "deny c1 call fails\nallow c1 call *\nallow c1 ping\n" >s2.policy &&
	functions >fn.lines &&
	set -- &&
	while read -r line; do set -- "$@" "$line"; done <fn.lines &&
	start_agent c1 hub1 &&
	start_agent n1 hub1 "$@" &&
	start_agent n2 hub1 "$@" "agent/policy = $SCRATCH/n2.policy" &&
	start_agent s1 site "$@" &&
	start_agent s2 site "$@" "agent/policy = $SCRATCH/s2.policy" &&
	wait_for nodes_online c1 n1 n2 s1 s2
'

# functions_of AGENT NODE: the functions NODE offers, as AGENT sees them.
functions_of () {
	zcnc_as "$1" nodes --json >"$SCRATCH/.functions" &&
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    node = json.loads(line)
    if node["name"] == sys.argv[2]:
        print(" ".join(node["functions"]))
' "$SCRATCH/.functions" "$2"
}

test_expect_success 'nodes --functions lists what each node offers, behind one hub and two' '
	wait_for "test \"\$(functions_of c1 s1)\" = \"args fails first machine-info\"" &&
	test "$(functions_of c1 n1)" = "args fails first machine-info" &&
	test -z "$(functions_of c1 c1)" &&
	zcnc_as c1 nodes --functions >out &&
	grep -A1 "^s2 " out | grep "^    functions: args fails first machine-info$" &&
	grep -A1 "^c1 " out | grep "^    functions: (none)$"
'

cat >"$SCRATCH/expect.args" <<'EOF'
[it's]
[say "hi"]
[a; touch pwned]
[$(touch pwned)]
[`touch pwned`]
[  two  spaces ]
[]
[back\slash]
EOF

call_args () {
	zcnc_as c1 call -t 20 "$1" args "it's" 'say "hi"' 'a; touch pwned' '$(touch pwned)' \
		'`touch pwned`' '  two  spaces ' '' 'back\slash'
}

test_expect_success 'arguments holding quotes, ; and $(...) arrive as they are, through one hub' '
	call_args n1 >out &&
	test_cmp expect.args out &&
	test ! -e n1/pwned
'

test_expect_success '... and through two chained hubs' '
	call_args s1 >out &&
	test_cmp expect.args out &&
	test ! -e s1/pwned
'

test_expect_success 'one exact name: raw output and the remote exit status, as trigger' '
	test_expect_code 5 zcnc_as c1 call -t 20 s1 fails >out 2>err &&
	test_line_count = 0 out &&
	echo failing >expect &&
	test_cmp expect err
'

test_expect_success 'several targets: prefixed output; --json; --where narrows them' '
	zcnc_as c1 call -t 20 "n1,s*" first "a b" >out &&
	sort out >sorted &&
	printf "n1: a b\ns1: a b\ns2: a b\n" >expect &&
	test_cmp expect sorted &&
	zcnc_as c1 call -t 20 --json s1 first x >json &&
	test_json json "J[\"method\"] == \"call\" and J[\"state\"] == \"done\" and J[\"stdout\"] == \"x\\n\"" &&
	zcnc_as c1 call -t 20 --where "hostname=$(hostname)" --where "zcnc=*" "s*" first y >out &&
	sort out >sorted &&
	printf "s1: y\ns2: y\n" >expect &&
	test_cmp expect sorted &&
	test_expect_code 3 zcnc_as c1 call -t 20 --where env=none ALL first 2>err &&
	grep "zcnc: --where env=none matched none" err
'

test_expect_success 'an unknown function fails, saying so' '
	test_expect_code 1 zcnc_as c1 call -t 20 n1 nosuch 2>err &&
	grep "zcnc: n1: failed: no function nosuch on this node" err &&
	test_expect_code 1 zcnc_as c1 call -t 20 s1 nosuch 2>err &&
	grep "zcnc: s1: failed: no function nosuch on this node" err
'

test_expect_success 'a policy that allows exec but not a function denies the call (126), through one hub' '
	test_expect_code 126 zcnc_as c1 call -t 20 n2 first x 2>err &&
	grep "zcnc: n2: denied: no rule in $SCRATCH/n2.policy matched" err &&
	zcnc_as c1 call -t 20 n2 machine-info >out &&
	uname -s >expect &&
	test_cmp expect out &&
	zcnc_as c1 trigger -t 20 "n2:echo exec allowed" >out &&
	echo "exec allowed" >expect &&
	test_cmp expect out
'

test_expect_success '... and one that allows calls but not exec denies exec (126), through two hubs' '
	test_expect_code 126 zcnc_as c1 trigger -t 20 "s2:touch $SCRATCH/s2/ran" 2>err &&
	grep "zcnc: s2: denied: no rule in $SCRATCH/s2.policy matched" err &&
	test ! -e s2/ran &&
	test_expect_code 126 zcnc_as c1 call -t 20 s2 fails 2>err &&
	grep "zcnc: s2: denied: denied by $SCRATCH/s2.policy:1 (deny c1 call fails)" err &&
	zcnc_as c1 call -t 20 s2 first "allowed" >out &&
	echo allowed >expect &&
	test_cmp expect out
'

test_expect_success 'the socket: "method": "call", the function and its arguments in "args"' '
	printf "%s\n" "{\"to\": \"s1\", \"method\": \"call\", \"args\": [\"first\", \"x; y\"], \"wait\": 20}" |
		sock_talk c1/zcnc.sock 3 30 >answers &&
	sed -n 2p answers >job &&
	test_json job "J[\"node\"] == \"s1\" and J[\"stdout\"] == \"x; y\\n\"" &&
	printf "%s\n" "{\"to\": \"s1\", \"method\": \"call\", \"args\": [\"no such\"]}" |
		sock_talk c1/zcnc.sock 1 >answer &&
	test_json answer "J[\"field\"] == \"args\" and J[\"code\"] == \"usage\""
'

test_expect_success 'usage errors: no FUNCTION, a bad name, too many arguments' '
	test_expect_code 2 zcnc_as c1 call n1 2>err &&
	grep "zcnc: call needs TARGET and FUNCTION" err &&
	test_expect_code 2 zcnc_as c1 call n1 "a b" 2>err &&
	grep "zcnc: .a b. is not a function name" err &&
	test_expect_code 2 zcnc_as c1 call n1 args 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 2>err &&
	grep "zcnc: call takes at most 15 ARGs, not 16" err &&
	test_expect_code 2 zcnc_as c1 call n1 first "$(printf "caf\351")" 2>err &&
	grep "zcnc: the target, command or an argument is not valid UTF-8" err &&
	zcnc_as c1 call -t 20 n1 args 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 >out &&
	test_line_count = 15 out
'

test_expect_success 'a function added on SIGHUP is advertised and runs; one removed is gone' '
	sed -i "s/^    function first = .*/    function second = echo \"second:\$1\"/" s1.cfg &&
	kill -HUP "$(daemon_pid s1)" &&
	wait_for grep -q "labels and functions reloaded: 0 label(s), 4 function(s)" s1.log &&
	wait_for "test \"\$(functions_of c1 s1)\" = \"args fails machine-info second\"" &&
	zcnc_as c1 call -t 20 s1 second "z" >out &&
	echo "second:z" >expect &&
	test_cmp expect out &&
	test_expect_code 1 zcnc_as c1 call -t 20 s1 first x 2>err &&
	grep "no function first on this node" err
'

test_expect_success 'a function with a bad name is refused at start' '
	write_config bad.cfg "zcnc/name = bad" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/bad" \
		"agent/hub = hub1@$(hub_endpoint hub1)" "agent/function .x = true" &&
	test_must_fail "$ZCNC" agent -n -c bad.cfg 2>err &&
	grep "bad.cfg:[0-9]*: agent/function: bad function name .\.x." err
'

test_done
