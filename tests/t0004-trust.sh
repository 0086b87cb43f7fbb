#!/bin/sh
test_description='trust: only keys in the hub keys directory join the mesh'
. "$(dirname "$0")/test-lib.sh"

# The hub and n1, n2 share $KEYS. mallory has its own keys directory
# holding its secret and the hub's cert; the hub's keys lack mallory.cert
# until a test copies it there. fuzz is a trusted key that zc-rawsend
# uses; eve is never trusted.

test -x "$ZC_RAWSEND" || bail_out "no zc-rawsend at $ZC_RAWSEND (make check builds it)"

test_expect_success 'setup: a hub, two trusted agents and an untrusted one' '
	make_keys --hub hub1 &&
	make_keys n1 n2 fuzz &&
	make_keys -d "$SCRATCH/mkeys" mallory eve &&
	cp "$KEYS/hub1.cert" mkeys/ &&
	start_hub hub1 &&
	endpoint=$(hub_endpoint hub1) &&
	start_agent n1 &&
	start_agent n2 &&
	start_agent --offline mallory hub1 "zcnc/keys = $SCRATCH/mkeys" &&
	wait_for nodes_online n1 n1 n2
'

test_expect_success 'an agent whose key the hub does not trust says so in its log' '
	wait_for grep -q "hub hub1 refused our key (is mallory.cert in the hub.s keys directory?)" mallory.log &&
	! agent_connected mallory
'

test_expect_success 'the hub logs the refused key' '
	wait_for grep -q "refused .* from" hub1.log
'

test_expect_success 'an untrusted agent never appears in nodes' '
	sleep 1 &&
	zcnc_as n1 nodes --json >out &&
	! grep mallory out &&
	zcnc_as n2 nodes --json >out &&
	! grep mallory out
'

test_expect_success 'a job for an untrusted agent does not run (exit 124 after -t 1)' '
	test_expect_code 124 zcnc_as n1 trigger -t 1 "mallory:touch $SCRATCH/marker" 2>err &&
	grep "mallory: never seen; queued as" err &&
	sleep 0.5 &&
	test ! -e marker
'

test_expect_success 'an untrusted agent cannot run jobs on trusted nodes' '
	test_expect_code 124 zcnc_as mallory trigger -t 1 "n1:touch $SCRATCH/marker2" 2>err &&
	sleep 0.5 &&
	test ! -e marker2
'

test_expect_success 'the hub trusts a cert copied into its keys directory, without a restart' '
	hub_pid=$(daemon_pid hub1) &&
	cp "$KEYS/n1.cert" "$KEYS/n2.cert" mkeys/ &&
	cp mkeys/mallory.cert "$KEYS/" &&
	wait_for grep -q "keys reloaded (keys directory changed)" hub1.log &&
	test "$(daemon_pid hub1)" = "$hub_pid" && zc_alive "$hub_pid"
'

test_expect_success 'an agent refused earlier joins once its cert is trusted, without a restart' '
	wait_for agent_connected mallory
'

test_expect_success 'and the other nodes see it online' '
	wait_for nodes_online n1 mallory
'

test_expect_success 'a job queued for it while it was untrusted runs once it joins' '
	wait_for test -e marker
'

test_expect_success 'the newly trusted agent runs triggers' '
	zcnc_as n1 trigger -t 10 mallory:pwd >out &&
	echo "$SCRATCH/mallory" >expect &&
	test_cmp expect out
'

test_expect_success 'a key claiming another node'\''s name in HELLO gets ERROR BAD_NAME' '
	"$ZC_RAWSEND" --hello n2 "$endpoint" "$KEYS/hub1.cert" mkeys/mallory.cert_secret >out 2>err &&
	cat err &&
	grep "handshake succeeded" err &&
	echo "error 1: this key belongs to '\''mallory'\'', not '\''n2'\''" >expect &&
	test_cmp expect out &&
	grep "refused HELLO from the key of mallory claiming to be '\''n2'\''" hub1.log
'

test_expect_success 'and the real n2 keeps its name: jobs for n2 still run on n2' '
	zcnc_as n1 trigger -t 10 n2:pwd >out &&
	echo "$SCRATCH/n2" >expect &&
	test_cmp expect out &&
	zcnc_as n1 nodes --json >nodes &&
	grep "\"name\":\"n2\",\"online\":true" nodes
'

test_expect_success 'a trusted key that sends traffic before HELLO gets ERROR NOT_HELLO' '
	"$ZC_RAWSEND" --ping "$endpoint" "$KEYS/hub1.cert" "$KEYS/fuzz.cert_secret" >out 2>err
	cat out err &&
	grep "^error 3: " out
'

test_expect_success 'a trusted key that never said HELLO does not become a node' '
	sleep 0.5 &&
	zcnc_as n1 nodes --json >out &&
	! grep "\"name\":\"fuzz\"" out
'

# refused_version V: a HELLO of wire version V from fuzz gets ERROR
# VERSION naming this hub's version and V, the hub logs both, and fuzz
# does not become a node.
refused_version () {
	"$ZC_RAWSEND" --version "$1" --hello fuzz "$endpoint" "$KEYS/hub1.cert" "$KEYS/fuzz.cert_secret" >out 2>err &&
	cat out err &&
	echo "error 6: this hub speaks zcnc wire version $wire; your message was version $1: run the same zcnc release on both" >expect &&
	test_cmp expect out &&
	grep "fuzz speaks zcnc wire version $1, this hub version $wire: its messages are refused" hub1.log &&
	zcnc_as n1 nodes --json >out &&
	! grep "\"name\":\"fuzz\"" out
}

# The wire version of this build, from the same header the hub is built
# with: the previous one follows it through every version bump.
wire=$("$ZC_RAWSEND" --wire-version) || bail_out "zc-rawsend --wire-version failed"
previous=$((wire - 1))

test_expect_success "a peer of the previous release (wire version $previous) is refused with both versions named" '
	test "$previous" -ge 1 &&
	refused_version "$previous"
'

test_expect_success 'so is a peer of an older one (wire version 3)' '
	test "$previous" -gt 3 &&
	refused_version 3
'

test_expect_success 'a duplicate cert file plus SIGHUP does not take the hub down' '
	hub_pid=$(daemon_pid hub1) &&
	cp "$KEYS/n1.cert" "$KEYS/n1-copy.cert" &&
	kill -HUP "$hub_pid" &&
	wait_for grep -q "keys reloaded (SIGHUP)" hub1.log &&
	grep "n1.cert: duplicate public key of .*/n1-copy.cert; ignored" hub1.log &&
	zc_alive "$hub_pid" &&
	zcnc_as n2 trigger -t 10 n1:pwd >out &&
	echo "$SCRATCH/n1" >expect &&
	test_cmp expect out
'

test_expect_success 'garbage from a trusted key leaves the hub and the agents up' '
	hub_pid=$(daemon_pid hub1) &&
	"$ZC_RAWSEND" -t n1 "$endpoint" "$KEYS/hub1.cert" "$KEYS/fuzz.cert_secret" 3000 2>err &&
	cat err &&
	grep "handshake succeeded" err &&
	grep "sent 3[0-9]* messages$" err &&
	wait_for grep -q "dropped a malformed message from fuzz" hub1.log &&
	grep "received .*REPLY [1-9]" err &&
	zc_alive "$hub_pid" &&
	zc_alive "$(daemon_pid n1)" &&
	zc_alive "$(daemon_pid n2)"
'

test_expect_success 'a key that sent that many malformed messages is suspended: its new handshakes are refused' '
	wait_for grep -q "suspended the key of fuzz for 60 s: more than 100 malformed messages in 10 s" hub1.log &&
	test_expect_code 1 "$ZC_RAWSEND" --ping "$endpoint" "$KEYS/hub1.cert" "$KEYS/fuzz.cert_secret" 2>err &&
	grep "handshake refused" err
'

test_expect_success 'a frame over the size limit drops the sender, not the hub' '
	"$ZC_RAWSEND" --big 70000000 "$endpoint" "$KEYS/hub1.cert" "$KEYS/n2.cert_secret" 2>err &&
	grep "sent a frame of 70000000 bytes" err &&
	zc_alive "$(daemon_pid hub1)" &&
	wait_for agent_connected n2
'

test_expect_success 'and triggers keep working after it' '
	zcnc_as n2 trigger -t 10 "n1,n2,mallory:echo ok" >out &&
	sort out >sorted &&
	printf "mallory: ok\nn1: ok\nn2: ok\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'garbage from an untrusted key is refused at the handshake' '
	hub_pid=$(daemon_pid hub1) &&
	"$ZC_RAWSEND" "$endpoint" "$KEYS/hub1.cert" mkeys/eve.cert_secret 500 2>err &&
	cat err &&
	grep "handshake refused" err &&
	zc_alive "$hub_pid" &&
	zcnc_as n2 trigger -t 10 "n1,n2:echo ok" >out &&
	sort out >sorted &&
	printf "n1: ok\nn2: ok\n" >expect &&
	test_cmp expect sorted
'

test_expect_success 'a cert moved to keys/revoked/ is no longer trusted' '
	mkdir -p "$KEYS/revoked" &&
	mv "$KEYS/mallory.cert" "$KEYS/revoked/" &&
	wait_for "! nodes_online n1 mallory" &&
	test_expect_code 124 zcnc_as n1 trigger -t 1 "mallory:touch $SCRATCH/marker3" &&
	sleep 0.5 &&
	test ! -e marker3
'

test_done
