#!/bin/sh
test_description='the startup folder: its messages are submitted once per start of the agent'
. "$(dirname "$0")/test-lib.sh"

# n1 has a startup folder; s1 is a remote node on the same hub.
STARTUP=$SCRATCH/startup.d

# jobs_of NAME STATE: how many jobs sent from NAME are in STATE.
jobs_of () {
	zcnc_as "$1" jobs --json | grep -c "\"state\":\"$2\"" || :
}

test_expect_success 'setup: a hub, s1, and a startup folder for n1' '
	make_keys --hub hub1 &&
	make_keys n1 s1 &&
	start_hub hub1 &&
	start_agent s1 &&
	mkdir "$STARTUP" &&
	echo "{\"to\": \"n1\", \"args\": [\"echo self >>$SCRATCH/self.marker\"]}" >"$STARTUP/10-self.json" &&
	cat >"$STARTUP/20-remote.json" <<-EOF &&
	[{"to": "s1", "args": ["echo remote >>$SCRATCH/remote.marker"]},
	 {"to": "s1", "args": ["true"], "colour": "blue"},
	 {"to": "s*", "args": ["echo glob >>$SCRATCH/glob.marker"]}]
	EOF
	printf "{\"to\": \"n1\",\n \"args\": [\"echo never\"\n" >"$STARTUP/15-bad.json" &&
	echo "{\"to\": \"n1\", \"args\": [\"echo hidden >>$SCRATCH/hidden.marker\"]}" >"$STARTUP/.hidden.json" &&
	echo "not read" >"$STARTUP/README"
'

test_expect_success 'zcnc agent -n names each startup file that is not valid' '
	write_config n1.cfg "zcnc/name = n1" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n1" \
		"agent/hub = hub1@$(hub_endpoint hub1)" "agent/startup = $STARTUP" &&
	test_expect_code 1 "$ZCNC" agent -n -c n1.cfg 2>err &&
	grep "n1.cfg: agent/startup: $STARTUP/15-bad.json: line 3: " err &&
	grep "n1.cfg: agent/startup: $STARTUP/20-remote.json: message 2 of 3: unknown field \"colour\"" err &&
	test_line_count = 2 err
'

test_expect_success 'at start, the valid messages are submitted: local, remote and a glob' '
	start_agent n1 hub1 "agent/startup = $STARTUP" &&
	grep "startup: $STARTUP/20-remote.json: message 3 of 3 cannot be taken now: the node directory is on its way" n1.log &&
	wait_for test -s self.marker &&
	wait_for test -s remote.marker &&
	wait_for test -s glob.marker &&
	wait_for "test \$(jobs_of n1 done) = 3" &&
	test_line_count = 1 self.marker &&
	test_line_count = 1 remote.marker &&
	test_line_count = 1 glob.marker &&
	test_must_fail test -e hidden.marker &&
	test -e "$STARTUP/10-self.json" && test -e "$STARTUP/20-remote.json"
'

test_expect_success 'each bad file and refused message is logged as an error naming its file' '
	grep "error: startup: $STARTUP/15-bad.json: line 3: .*; none of its messages was submitted" n1.log &&
	grep "error: startup: $STARTUP/20-remote.json: message 2 of 3 refused: unknown field \"colour\"" n1.log &&
	grep "startup: 3 message(s) from $STARTUP submitted (3 file(s); 1 message(s) refused, 1 file(s) unreadable)" n1.log
'

test_expect_success 'after a restart they run once more: once per start' '
	stop_agent n1 &&
	start_agent n1 hub1 "agent/startup = $STARTUP" &&
	wait_for "test \$(jobs_of n1 done) = 6" &&
	test_line_count = 2 self.marker &&
	test_line_count = 2 remote.marker &&
	test_line_count = 2 glob.marker &&
	test $(grep -c "error: startup: $STARTUP/15-bad.json" n1.log) = 2
'

test_expect_success 'an empty startup folder submits nothing' '
	mkdir empty.d &&
	stop_agent n1 &&
	start_agent n1 hub1 "agent/startup = $SCRATCH/empty.d" &&
	grep "startup: 0 message(s) from $SCRATCH/empty.d submitted" n1.log &&
	test $(jobs_of n1 done) = 6
'

test_expect_success 'a missing startup folder stops the agent at start, and -n says so' '
	stop_agent n1 &&
	write_config n1.cfg "zcnc/name = n1" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n1" \
		"agent/hub = hub1@$(hub_endpoint hub1)" "agent/startup = $SCRATCH/missing.d" &&
	test_expect_code 1 "$ZCNC" agent -n -c n1.cfg 2>err &&
	grep "n1.cfg: agent/startup: $SCRATCH/missing.d: No such file or directory" err &&
	test_expect_code 1 "$ZCNC" agent -c n1.cfg 2>err &&
	grep "n1.cfg: agent/startup: $SCRATCH/missing.d: No such file or directory (create the folder, or remove the key)" err
'

test_done
