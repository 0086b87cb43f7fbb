#!/bin/sh
test_description='keygen, config checking (-n), usage errors and --help'
. "$(dirname "$0")/test-lib.sh"

# A config for the checks below: FILE [section/key = value]...
good_hub () {
	write_config "$1" -- "zcnc/name = hub1" "zcnc/keys = $KEYS" \
		"zcnc/data = $SCRATCH/hub1" "hub/bind = tcp://127.0.0.1:*"
}

good_agent () {
	write_config "$1" -- "zcnc/name = n1" "zcnc/keys = $KEYS" \
		"zcnc/data = $SCRATCH/n1" "agent/hub = hub1@tcp://127.0.0.1:7710"
}

test_expect_success 'keygen writes NAME.cert and NAME.cert_secret and names them' '
	mkdir k &&
	"$ZCNC" keygen n1 -d k >out &&
	printf "k/n1.cert\nk/n1.cert_secret\n" >expect &&
	test_cmp expect out &&
	test -f k/n1.cert &&
	test -f k/n1.cert_secret
'

test_expect_success 'the secret file is readable by its owner only (0600)' '
	test "$(stat -c %a k/n1.cert_secret)" = 600
'

test_expect_success 'the public file holds no secret key' '
	grep "public-key = " k/n1.cert &&
	grep "sign-key = " k/n1.cert &&
	! grep "secret" k/n1.cert &&
	grep "secret-key = " k/n1.cert_secret &&
	grep "sign-secret = " k/n1.cert_secret
'

test_expect_success 'certs carry the name and the role (agent, or hub with --hub)' '
	grep "name = \"n1\"" k/n1.cert &&
	grep "role = \"agent\"" k/n1.cert &&
	"$ZCNC" keygen --hub hub1 -d k >/dev/null &&
	grep "name = \"hub1\"" k/hub1.cert &&
	grep "role = \"hub\"" k/hub1.cert &&
	grep "role = \"hub\"" k/hub1.cert_secret
'

test_expect_success 'keygen defaults to the current directory' '
	mkdir here &&
	(cd here && "$ZCNC" keygen n2 >/dev/null) &&
	test -f here/n2.cert &&
	test -f here/n2.cert_secret
'

test_expect_success 'keygen refuses to overwrite a key, and says so' '
	cp k/n1.cert_secret before &&
	test_expect_code 1 "$ZCNC" keygen n1 -d k 2>err &&
	grep "k/n1.cert exists; refusing to overwrite" err &&
	test_cmp before k/n1.cert_secret
'

test_expect_success 'keygen refuses an invalid name (exit 2)' '
	test_expect_code 2 "$ZCNC" keygen "bad/name" -d k 2>err &&
	grep "not a valid name" err &&
	test_expect_code 2 "$ZCNC" keygen ALL -d k 2>err &&
	test_expect_code 2 "$ZCNC" keygen -d k 2>err &&
	grep "usage: zcnc keygen" err
'

test_expect_success 'keygen creates a missing keys directory and its parents, mode 0700' '
	"$ZCNC" keygen n7 -d new/etc/keys >out &&
	test -f new/etc/keys/n7.cert_secret &&
	test "$(stat -c %a new/etc/keys)" = 700 &&
	test "$(stat -c %a new/etc)" = 700 &&
	: >afile &&
	test_must_fail "$ZCNC" keygen n7 -d afile/keys 2>err &&
	grep "cannot create directory $SCRATCH/afile\|cannot create directory afile" err
'

test_expect_success 'hub -n and agent -n report a missing own key, naming the keygen to run' '
	good_hub hub.cfg &&
	test_must_fail "$ZCNC" hub -n -c hub.cfg 2>err &&
	grep "hub1.cert_secret" err && grep "zcnc keygen hub1" err &&
	good_agent agent.cfg &&
	test_must_fail "$ZCNC" agent -n -c agent.cfg 2>err &&
	grep "n1.cert_secret" err
'

test_expect_success 'agent -n reports a hub cert it cannot pin' '
	mkdir -p $KEYS &&
	"$ZCNC" keygen n1 -d $KEYS >/dev/null &&
	good_agent agent.cfg &&
	test_must_fail "$ZCNC" agent -n -c agent.cfg 2>err &&
	grep "agent/hub: cannot pin the key of hub hub1" err
'

test_expect_success 'hub -n and agent -n accept a good config (exit 0)' '
	"$ZCNC" keygen --hub hub1 -d $KEYS >/dev/null &&
	good_hub hub.cfg &&
	"$ZCNC" hub -n -c hub.cfg >out &&
	grep "hub.cfg: configuration is valid" out &&
	good_agent agent.cfg &&
	"$ZCNC" agent -n -c agent.cfg >out &&
	grep "agent.cfg: configuration is valid" out
'

test_expect_success '-n reads $ZCNC_CONFIG when -c is not given' '
	ZCNC_CONFIG=$SCRATCH/agent.cfg "$ZCNC" agent -n >out &&
	grep "agent.cfg: configuration is valid" out
'

test_expect_success 'an unknown key is an error naming the file, the line and the key' '
	write_config bad.cfg "zcnc/colour = blue" -- "zcnc/name = n1" \
		"zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n1" "agent/hub = hub1@tcp://127.0.0.1:7710" &&
	test_must_fail "$ZCNC" agent -n -c bad.cfg 2>err &&
	grep "bad.cfg:2: unknown key .zcnc/colour." err
'

test_expect_success 'a missing config file is an error naming the file' '
	test_must_fail "$ZCNC" hub -n -c nosuch.cfg 2>err &&
	grep "nosuch.cfg: No such file or directory" err
'

test_expect_success 'a bad bind endpoint is an error naming hub/bind' '
	write_config bad.cfg "hub/bind = tcp://127.0.0.1" -- "zcnc/name = hub1" \
		"zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/hub1" &&
	test_must_fail "$ZCNC" hub -n -c bad.cfg 2>err &&
	grep "bad.cfg:[0-9]*: hub/bind: bad endpoint" err
'

test_expect_success 'a bad hub address is an error naming agent/hub' '
	write_config bad.cfg "agent/hub = tcp://127.0.0.1:7710" -- "zcnc/name = n1" \
		"zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n1" &&
	test_must_fail "$ZCNC" agent -n -c bad.cfg 2>err &&
	grep "bad.cfg:[0-9]*: agent/hub: bad value" err &&
	write_config bad.cfg "agent/hub = hub1@tcp://127.0.0.1:*" -- "zcnc/name = n1" \
		"zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n1" &&
	test_must_fail "$ZCNC" agent -n -c bad.cfg 2>err &&
	grep "bad.cfg:[0-9]*: agent/hub: bad endpoint" err
'

test_expect_success 'a bad value is an error naming the key and the accepted range' '
	write_config bad.cfg "zcnc/heartbeat = often" -- "zcnc/name = n1" \
		"zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n1" "agent/hub = hub1@tcp://127.0.0.1:7710" &&
	test_must_fail "$ZCNC" agent -n -c bad.cfg 2>err &&
	grep "bad.cfg:[0-9]*: zcnc/heartbeat: bad value .often." err &&
	write_config bad.cfg "zcnc/name = no/slash" -- "zcnc/keys = $KEYS" \
		"zcnc/data = $SCRATCH/n1" "agent/hub = hub1@tcp://127.0.0.1:7710" &&
	test_must_fail "$ZCNC" agent -n -c bad.cfg 2>err &&
	grep "bad.cfg:[0-9]*: zcnc/name: bad name" err
'

test_expect_success 'a missing required key is an error naming it' '
	write_config bad.cfg -- "zcnc/name = hub1" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/hub1" &&
	test_must_fail "$ZCNC" hub -n -c bad.cfg 2>err &&
	grep "bad.cfg: hub/bind is missing" err
'

test_expect_success '-n reports a data directory that cannot be created; start-up creates a missing one' '
	: >blocker &&
	write_config blocked.cfg -- "zcnc/name = hub1" "zcnc/keys = $KEYS" \
		"zcnc/data = $SCRATCH/blocker/hub1" "hub/bind = tcp://127.0.0.1:*" &&
	test_must_fail "$ZCNC" hub -n -c blocked.cfg 2>err &&
	grep "zcnc/data: cannot create the data directory $SCRATCH/blocker/hub1: $SCRATCH/blocker is not a directory" err &&
	test_must_fail "$ZCNC" hub -c blocked.cfg 2>err &&
	grep "cannot create directory $SCRATCH/blocker" err &&
	write_config deep.cfg -- "zcnc/name = hub1" "zcnc/keys = $KEYS" \
		"zcnc/data = $SCRATCH/var/lib/zcnc/hub1" "hub/bind = tcp://127.0.0.1:*" &&
	"$ZCNC" hub -n -c deep.cfg >out &&
	test ! -e var &&
	{ "$ZCNC" hub -c deep.cfg 2>err & } &&
	pid=$! && zc_pids="$zc_pids $pid" &&
	wait_for "test -s var/lib/zcnc/hub1/endpoints" &&
	kill $pid && wait $pid && zc_forget_pid $pid &&
	test "$(stat -c %a var/lib/zcnc/hub1)" = 700 &&
	test "$(stat -c %a var/lib/zcnc)" = 700
'

test_expect_success 'a hub without its secret key exits non-zero, saying how to make one' '
	mkdir nokeys &&
	write_config nokeys.cfg -- "zcnc/name = hub1" "zcnc/keys = $SCRATCH/nokeys" \
		"zcnc/data = $SCRATCH/hub1" "hub/bind = tcp://127.0.0.1:*" &&
	test_must_fail "$ZCNC" hub -c nokeys.cfg 2>err &&
	grep "hub1.cert_secret" err &&
	grep "zcnc keygen hub1" err
'

test_expect_success 'a hub that cannot bind its endpoint exits non-zero, naming it' '
	start_hub hub1 &&
	endpoint=$(hub_endpoint hub1) &&
	write_config taken.cfg "hub/bind = $endpoint" -- "zcnc/name = hub1" \
		"zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/hub2" &&
	test_must_fail "$ZCNC" hub -c taken.cfg 2>err &&
	grep "cannot bind $endpoint" err &&
	stop_hub hub1
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 "$ZCNC" 2>err &&
	test_expect_code 2 "$ZCNC" frobnicate 2>err &&
	grep "unknown command .frobnicate." err &&
	test_expect_code 2 "$ZCNC" hub -x 2>err &&
	test_expect_code 2 "$ZCNC" agent extra 2>err &&
	test_expect_code 2 "$ZCNC" trigger 2>err &&
	grep "usage: zcnc trigger" err &&
	test_expect_code 2 "$ZCNC" trigger -c agent.cfg no-colon 2>err &&
	grep "is not TARGET:COMMAND" err &&
	test_expect_code 2 "$ZCNC" trigger -c agent.cfg n1: 2>err &&
	test_expect_code 2 "$ZCNC" trigger -c agent.cfg -t soon n1:true 2>err &&
	grep "wants a number of seconds" err &&
	test_expect_code 2 "$ZCNC" ping -c agent.cfg 2>err &&
	test_expect_code 2 "$ZCNC" ping -c agent.cfg "no/such" 2>err &&
	test_expect_code 2 "$ZCNC" nodes -c agent.cfg extra 2>err &&
	test_expect_code 2 "$ZCNC" status -c agent.cfg extra 2>err &&
	test_expect_code 2 "$ZCNC" jobs -c agent.cfg a b 2>err
'

test_expect_success 'client commands exit 125 with a clear message when no agent runs' '
	test_expect_code 125 "$ZCNC" trigger -c agent.cfg n1:true 2>err &&
	grep "cannot connect to the agent socket $SCRATCH/n1/zcnc.sock" err &&
	grep "is .zcnc agent. running" err &&
	test_expect_code 125 "$ZCNC" nodes -c agent.cfg 2>err &&
	test_expect_code 125 "$ZCNC" status -c agent.cfg 2>err &&
	test_expect_code 125 "$ZCNC" jobs -c agent.cfg 2>err &&
	test_expect_code 125 "$ZCNC" ping -c agent.cfg n1 2>err
'

test_expect_success 'client commands exit 125 on a bad config' '
	test_expect_code 125 "$ZCNC" trigger -c nosuch.cfg n1:true 2>err &&
	grep "nosuch.cfg" err
'

test_expect_success '--help of every command prints its usage and exits 0' '
	"$ZCNC" --help >out &&
	grep "^usage: zcnc COMMAND" out &&
	for command in hub agent keygen trigger nodes ping jobs status
	do
		"$ZCNC" $command --help >out 2>err &&
		grep "^usage: zcnc $command" out &&
		test ! -s err || return 1
	done
'

test_done
