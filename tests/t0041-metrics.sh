#!/bin/sh
test_description='metrics: the Prometheus page of agents and hubs (agent/metrics, hub/metrics)'
. "$(dirname "$0")/test-lib.sh"

command -v curl >/dev/null 2>&1 && test_set_prereq CURL

# scrape NAME ROLE [PATH]: the page of daemon NAME (ROLE hub or agent),
# at the address it wrote to DATA/ROLE.metrics.
scrape () {
	curl -sS --max-time 10 "http://$(cat "$SCRATCH/$1/$2.metrics")${3:-/metrics}"
}

# value FILE SAMPLE: the value of the sample line that starts with SAMPLE
# and a space.
value () {
	awk -v sample="$2" '$1 == sample { print $2 }' "$1"
}

# well_formed FILE: every line is a HELP or TYPE line or a sample of a
# family its TYPE line named; every family has HELP and TYPE once;
# counters end in _total.
well_formed () {
	python3 - "$1" <<-'EOF'
	import re, sys
	sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? ([0-9.eE+-]+)$')
	helps, types, current = {}, {}, None
	for number, line in enumerate(open(sys.argv[1]), 1):
	    line = line.rstrip("\n")
	    where = "%s:%d: %r" % (sys.argv[1], number, line)
	    if line.startswith("# HELP "):
	        name = line.split(" ")[2]
	        if name in helps: sys.exit("HELP twice: " + where)
	        helps[name] = True
	    elif line.startswith("# TYPE "):
	        parts = line.split(" ")
	        if len(parts) != 4 or parts[3] not in ("counter", "gauge"): sys.exit("bad TYPE: " + where)
	        if parts[2] in types: sys.exit("TYPE twice: " + where)
	        if parts[3] == "counter" and not parts[2].endswith("_total"): sys.exit("counter without _total: " + where)
	        types[parts[2]] = parts[3]
	        current = parts[2]
	    else:
	        match = sample.match(line)
	        if not match: sys.exit("not a sample line: " + where)
	        if match.group(1) != current: sys.exit("sample outside its family: " + where)
	        float(match.group(3))
	if set(helps) != set(types) or not types: sys.exit("HELP and TYPE differ: %s" % (set(helps) ^ set(types)))
	EOF
}

test_expect_success 'setup: a hub and two agents serving metrics on loopback' '
	make_keys --hub hub1 &&
	make_keys n1 n2 &&
	start_hub hub1 "hub/metrics = 127.0.0.1:0" &&
	start_agent n1 hub1 "agent/metrics = 127.0.0.1:0" &&
	start_agent n2 &&
	wait_for nodes_online n1 n1 n2 &&
	grep "^127\.0\.0\.1:[1-9][0-9]*$" "$SCRATCH/hub1/hub.metrics" &&
	grep "^127\.0\.0\.1:[1-9][0-9]*$" "$SCRATCH/n1/agent.metrics" &&
	grep "metrics on http://127.0.0.1:[0-9]*/metrics" "$SCRATCH/hub1.log" &&
	test ! -e "$SCRATCH/n2/agent.metrics"
'

test_expect_success CURL 'the agent serves the exposition format, with its content type' '
	curl -sS --max-time 10 -D headers -o agent.txt "http://$(cat "$SCRATCH/n1/agent.metrics")/metrics" &&
	grep "^HTTP/1.1 200 OK" headers &&
	grep -i "^Content-Type: text/plain; version=0.0.4; charset=utf-8" headers &&
	well_formed agent.txt &&
	grep "^zcnc_agent_hub_up{hub=\"hub1\"} 1$" agent.txt &&
	grep "^# TYPE zcnc_agent_jobs gauge$" agent.txt &&
	grep "^zcnc_agent_jobs{state=\"done\"} 0$" agent.txt &&
	grep "^zcnc_agent_store_used_bytes [1-9]" agent.txt &&
	grep "^zcnc_agent_store_file_bytes [1-9]" agent.txt &&
	grep "^process_resident_memory_bytes [1-9]" agent.txt &&
	grep "^zcnc_agent_oldest_unacked_job_seconds 0$" agent.txt
'

test_expect_success CURL 'the hub serves the exposition format' '
	scrape hub1 hub >hub.txt &&
	well_formed hub.txt &&
	grep "^zcnc_hub_nodes_connected 2$" hub.txt &&
	grep "^# TYPE zcnc_hub_messages_forwarded_total counter$" hub.txt &&
	grep "^zcnc_hub_routes 2$" hub.txt
'

test_expect_success CURL 'values follow the traffic' '
	zcnc_as n1 trigger n2:true &&
	zcnc_as n1 trigger n2:true &&
	scrape n1 agent >agent2.txt &&
	well_formed agent2.txt &&
	test "$(value agent2.txt "zcnc_agent_jobs{state=\"done\"}")" = 2 &&
	test "$(value agent2.txt zcnc_agent_jobs_submitted_total)" = 2 &&
	test "$(value agent2.txt zcnc_agent_store_commits_total)" -gt "$(value agent.txt zcnc_agent_store_commits_total)" &&
	scrape hub1 hub >hub2.txt &&
	test "$(value hub2.txt zcnc_hub_messages_forwarded_total)" -ge \
		$(($(value hub.txt zcnc_hub_messages_forwarded_total) + 6))
'

test_expect_success CURL 'a job that cannot be delivered shows its age' '
	make_keys n3 &&
	zcnc_as n1 trigger --async n3:true >id 2>/dev/null &&
	sleep 1.2 &&
	scrape n1 agent >agent3.txt &&
	python3 -c "import sys; sys.exit(not float(sys.argv[1]) >= 1.0)" \
		"$(value agent3.txt zcnc_agent_oldest_unacked_job_seconds)" &&
	test "$(value agent3.txt zcnc_agent_outbox_jobs)" = 1
'

test_expect_success CURL 'a hub link that goes down shows as 0' '
	stop_hub hub1 &&
	wait_for "scrape n1 agent | grep -q \"^zcnc_agent_hub_up{hub=\\\"hub1\\\"} 0$\""
'

test_expect_success CURL 'another path: 404; another method: 405; HEAD: headers only' '
	curl -sS --max-time 10 -o body -w "%{http_code}\n" "http://$(cat "$SCRATCH/n1/agent.metrics")/" >code &&
	echo 404 >expect && test_cmp expect code &&
	grep "^not found: this server has only /metrics$" body &&
	curl -sS --max-time 10 -o body -w "%{http_code}\n" -X POST -d x "http://$(cat "$SCRATCH/n1/agent.metrics")/metrics" >code &&
	echo 405 >expect && test_cmp expect code &&
	curl -sS --max-time 10 -I "http://$(cat "$SCRATCH/n1/agent.metrics")/metrics" >head &&
	grep "^HTTP/1.1 200 OK" head && ! grep "^zcnc_" head
'

test_expect_success 'what is not HTTP gets a 400, and a silent client does not hold the others' '
	python3 - "$(cat "$SCRATCH/n1/agent.metrics")" <<-\EOF
	import socket, sys
	host, port = sys.argv[1].rsplit(":", 1)
	silent = socket.create_connection((host, int(port)))
	s = socket.create_connection((host, int(port)), timeout=10)
	s.sendall(b"hello there\r\n\r\n")
	answer = s.makefile("rb").read()
	assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer
	s = socket.create_connection((host, int(port)), timeout=10)
	s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
	answer = s.makefile("rb").read()
	assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"\nzcnc_agent_jobs{" in answer, answer[:200]
	silent.close()
	EOF
'

test_expect_success 'a bad metrics value is refused by -n, with its line' '
	write_config bad.cfg "zcnc/name = x" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/x" \
		"hub/bind = tcp://127.0.0.1:*" "hub/metrics = localhost:9710" &&
	test_expect_code 1 "$ZCNC" hub -n -c bad.cfg 2>err &&
	grep "^zcnc: bad.cfg:[0-9]*: hub/metrics: bad address '"'"'localhost:9710'"'"' (HOST must be a numeric address, e.g. 127.0.0.1 or \[::1\] (no host names))$" err &&
	write_config bad.cfg "zcnc/name = x" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/x" \
		"agent/hub = hub1@tcp://127.0.0.1:1" "agent/metrics = 127.0.0.1:99999" &&
	test_expect_code 1 "$ZCNC" agent -n -c bad.cfg 2>err &&
	grep "^zcnc: bad.cfg:[0-9]*: agent/metrics: bad address '"'"'127.0.0.1:99999'"'"' (PORT must be a number from 0 (any free port) to 65535)$" err
'

test_expect_success 'an address that is not loopback needs metrics_public = on' '
	write_config bad.cfg "zcnc/name = x" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/x" \
		"agent/hub = hub1@tcp://127.0.0.1:1" "agent/metrics = 0.0.0.0:9710" &&
	test_expect_code 1 "$ZCNC" agent -n -c bad.cfg 2>err &&
	grep "^zcnc: bad.cfg:[0-9]*: agent/metrics: 0.0.0.0:9710 is not a loopback address, and the metrics tell node names and counts to anyone who connects (use 127.0.0.1, or set agent/metrics_public = on to serve them there)$" err &&
	write_config good.cfg "zcnc/name = n2" "zcnc/keys = $KEYS" "zcnc/data = $SCRATCH/n2" \
		"agent/hub = hub1@tcp://127.0.0.1:1" "agent/metrics = 0.0.0.0:9710" "agent/metrics_public = on" &&
	"$ZCNC" agent -n -c good.cfg
'

test_expect_success 'a metrics port that is taken: the daemon does not start, and says why' '
	port=$(cat "$SCRATCH/n1/agent.metrics") &&
	make_keys --hub hub2 &&
	start_hub hub2 "hub/metrics = $port" 2>/dev/null;
	wait_for "grep -q \"hub/metrics: cannot listen on $port: Address already in use\" \"$SCRATCH/hub2.log\""
'

test_done
