#!/bin/sh
test_description='policy: a target runs only what its policy file allows, first match wins, no match denies'
. "$(dirname "$0")/test-lib.sh"

# n1 has a policy; n2, n3 and ops-1 send it jobs. The policy file is
# rewritten and n1 sent SIGHUP to test reloads.

write_policy () {
	cat >"$SCRATCH/n1.policy"
}

test_expect_success 'setup: n1 with a policy, three origins' '
	write_policy <<-EOF &&
	# t0021
	allow n2     exec  echo *
	deny  ops-*  exec  echo *
	allow ops-*  exec  uname *
	deny  n3     exec  *
	allow n3     ping
	EOF
	make_keys --hub hub1 &&
	make_keys n1 n2 n3 ops-1 &&
	start_hub hub1 &&
	start_agent n1 hub1 "agent/policy = $SCRATCH/n1.policy" &&
	start_agent n2 &&
	start_agent n3 &&
	start_agent ops-1 &&
	wait_for nodes_online n2 n1 n2 n3 ops-1
'

test_expect_success 'an allowed origin and command run' '
	zcnc_as n2 trigger -t 10 "n1:echo allowed" >out &&
	echo allowed >expect &&
	test_cmp expect out
'

test_expect_success 'a command no rule matches is denied (126), naming the file, and does not run' '
	test_expect_code 126 zcnc_as n2 trigger -t 10 "n1:touch $SCRATCH/marker1" 2>err &&
	grep "zcnc: n1: denied: no rule in $SCRATCH/n1.policy matched" err &&
	grep "refused job .* from n2: no rule in .*n1.policy matched" n1.log &&
	test ! -e marker1
'

test_expect_success 'a wildcard never matches shell metacharacters: "echo *" does not allow "echo x; touch"' '
	test_expect_code 126 zcnc_as n2 trigger -t 10 "n1:echo x; touch $SCRATCH/marker2" 2>err &&
	grep "zcnc: n1: denied: no rule in" err &&
	test_expect_code 126 zcnc_as n2 trigger -t 10 "n1:echo \$(touch $SCRATCH/marker2)" 2>err &&
	test_expect_code 126 zcnc_as n2 trigger -t 10 "n1:echo x | tee $SCRATCH/marker2" 2>err &&
	test ! -e marker2
'

test_expect_success 'origin globs: a deny rule for ops-* names its line; the first match wins' '
	test_expect_code 126 zcnc_as ops-1 trigger -t 10 "n1:echo hello" 2>err &&
	grep "zcnc: n1: denied: denied by $SCRATCH/n1.policy:3 (deny ops-\* exec echo \*)" err &&
	zcnc_as ops-1 trigger -t 10 "n1:uname -s" >out &&
	uname -s >expect &&
	test_cmp expect out
'

test_expect_success 'methods: n3 may ping but not exec' '
	test_expect_code 126 zcnc_as n3 trigger -t 10 "n1:true" 2>err &&
	grep "zcnc: n1: denied: denied by $SCRATCH/n1.policy:5 (deny n3 exec \*)" err &&
	echo "{\"to\": \"n1\", \"method\": \"ping\"}" | zcnc_as n3 send -w -t 10 >out &&
	grep "\"method\":\"ping\",\"state\":\"done\"" out
'

test_expect_success 'a denied job is a final answer: its ID, sent again, is not run either' '
	test_expect_code 126 zcnc_as n2 trigger -t 10 --json "n1:touch $SCRATCH/marker3" >out &&
	grep "\"state\":\"denied\"" out &&
	test ! -e marker3
'

test_expect_success 'SIGHUP reloads the policy' '
	write_policy <<-EOF &&
	allow n2 exec touch *
	EOF
	kill -HUP "$(daemon_pid n1)" &&
	wait_for grep -q "policy reloaded: 1 rule(s) from $SCRATCH/n1.policy" n1.log &&
	zcnc_as n2 trigger -t 10 "n1:touch $SCRATCH/marker4" &&
	test -e marker4 &&
	test_expect_code 126 zcnc_as n2 trigger -t 10 "n1:echo no longer" 2>err
'

test_expect_success 'a broken policy on reload is logged and the old rules stay' '
	write_policy <<-EOF &&
	permit n2 exec *
	EOF
	kill -HUP "$(daemon_pid n1)" &&
	wait_for grep -q "cannot reload the policy: $SCRATCH/n1.policy:1: expected allow or deny, got .permit. .*; keeping the old rules" n1.log &&
	zcnc_as n2 trigger -t 10 "n1:touch $SCRATCH/marker5" &&
	test -e marker5
'

test_expect_success 'agent -n and agent start report a broken or missing policy file' '
	test_expect_code 1 "$ZCNC" agent -n -c "$SCRATCH/n1.cfg" 2>err &&
	grep "zcnc: $SCRATCH/n1.cfg: agent/policy: $SCRATCH/n1.policy:1: expected allow or deny, got .permit." err &&
	write_config bad.cfg "zcnc/name = n9" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n9" \
		"agent/hub = hub1@tcp://127.0.0.1:1" "agent/policy = $SCRATCH/absent.policy" &&
	make_keys n9 &&
	test_expect_code 1 "$ZCNC" agent -c bad.cfg 2>err &&
	grep "agent/policy: $SCRATCH/absent.policy: cannot read: No such file or directory" err
'

test_done
