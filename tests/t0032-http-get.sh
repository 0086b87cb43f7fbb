#!/bin/sh
test_description='http_get: a node fetches a URL and the origin gets the body and the HTTP status'
. "$(dirname "$0")/test-lib.sh"

# hub1 with n1 (the target; max_output 1024), n2 (the origin) and n4 (a
# target with a policy); hub2, chained to hub1, with n3. tests/zc-httpd
# serves on 127.0.0.1 and logs each request it gets to requests.log.
ZC_HTTPD=$ZCNC_BUILD/tests/zc-httpd
test -x "$ZC_HTTPD" || bail_out "no zc-httpd at $ZC_HTTPD (make check builds it)"
# The agents fetch directly, whatever the environment running the tests says.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

# start_httpd: starts zc-httpd (its /big is 5000 bytes) and waits for its port.
start_httpd () {
	local pid
	rm -f "$SCRATCH/httpd.port"
	"$ZC_HTTPD" --port-file "$SCRATCH/httpd.port" --log "$SCRATCH/requests.log" --big 5000 \
		>>"$SCRATCH/httpd.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$SCRATCH/httpd.pid"
	zc_pids="$zc_pids $pid"
	zc_wait_started httpd "test -s '$SCRATCH/httpd.port'"
}

# requests_are N PATH: true when the server got N requests for PATH.
requests_are () {
	test "$(count_lines "GET $2" "$SCRATCH/requests.log")" = "$1"
}

# http_get ORIGIN TARGET URL [MORE]: sends an http_get job from ORIGIN
# (MORE: more fields, e.g. ', "method_timeout": 2') and waits for its
# result; its jobs object goes to ./job, the rest of the output to ./out
# and ./err. Returns send -w's exit status.
http_get () {
	local status
	printf '{"to": "%s", "method": "http_get", "args": ["%s"]%s}\n' "$2" "$3" "$4" |
		zcnc_as "$1" send -w -t 30 >out 2>err
	status=$?
	grep "^{" out >job
	return $status
}

test_expect_success 'setup: two chained hubs, four agents, an HTTP server' '
	make_keys --hub hub1 hub2 &&
	make_keys n1 n2 n3 n4 forger &&
	cat >n4.policy <<-EOF &&
	allow n2 http_get http://127.0.0.1:*/ok
	allow n2 http_get http://127.0.0.1:*/public/*
	EOF
	start_hub hub1 &&
	start_hub hub2 "hub/uplink = hub1@$(hub_endpoint hub1)" &&
	start_agent n1 hub1 "agent/max_output = 1024" &&
	start_agent n2 &&
	start_agent n3 hub2 &&
	start_agent n4 hub1 "agent/policy = $SCRATCH/n4.policy" &&
	wait_for nodes_online n2 n1 n2 n3 n4 &&
	start_httpd &&
	URL=http://127.0.0.1:$(cat httpd.port)
'

test_expect_success 'a 200: the body, http_status 200, exit 0' '
	http_get n2 n1 "$URL/ok" &&
	test_json job "J[\"method\"] == \"http_get\" and J[\"state\"] == \"done\" and J[\"exit\"] == 0
		and J[\"http_status\"] == 200 and J[\"stdout\"] == \"hello from zc-httpd\\n\"
		and J[\"truncated\"] is False and J[\"error\"] is None" &&
	grep -q "^GET /ok$" requests.log
'

test_expect_success 'a 404 or a 500: done with exit 1, its status in http_status, the body kept' '
	test_expect_code 1 http_get n2 n1 "$URL/missing" &&
	test_json job "J[\"state\"] == \"done\" and J[\"exit\"] == 1 and J[\"http_status\"] == 404
		and J[\"stdout\"] == \"no such page: /missing\\n\" and J[\"error\"] is None" &&
	test_expect_code 1 http_get n2 n1 "$URL/fail" &&
	test_json job "J[\"state\"] == \"done\" and J[\"exit\"] == 1 and J[\"http_status\"] == 500
		and J[\"stdout\"] == \"it broke\\n\""
'

test_expect_success 'a body that is not UTF-8 comes back base64-encoded in stdout_b64' '
	http_get n2 n1 "$URL/binary" &&
	test_json job "J[\"state\"] == \"done\" and J[\"http_status\"] == 200 and \"stdout\" not in J
		and J[\"stdout_b64\"] == \"AP/+gMMoCgE=\""
'

test_expect_success 'a body over max_output is cut at max_output and marked truncated' '
	http_get n2 n1 "$URL/big" &&
	test_json job "J[\"state\"] == \"done\" and J[\"exit\"] == 0 and J[\"http_status\"] == 200
		and J[\"truncated\"] is True and J[\"stdout\"] == \"0123456789ABCDE\\n\" * 64" &&
	http_get n2 n3 "$URL/big" &&
	test_json job "J[\"truncated\"] is False and len(J[\"stdout\"]) == 5000"
'

test_expect_success 'a server that never answers: failed once method_timeout passes, saying so' '
	start=$(now_ms) &&
	test_expect_code 1 http_get n2 n1 "$URL/slow" ", \"method_timeout\": 2" &&
	took=$(($(now_ms) - start)) &&
	echo "took $took ms" &&
	test "$took" -ge 1900 && test "$took" -lt 6000 &&
	test_json job "J[\"state\"] == \"failed\" and J[\"exit\"] is None and J[\"http_status\"] is None
		and J[\"error\"].startswith(\"http_get timed out after 2 s (method_timeout): \")"
'

test_expect_success 'redirects are followed, up to 5, and never to another scheme' '
	http_get n2 n1 "$URL/redirect" &&
	test_json job "J[\"http_status\"] == 200 and J[\"stdout\"] == \"hello from zc-httpd\\n\"" &&
	test_expect_code 1 http_get n2 n1 "$URL/loop" &&
	test_json job "J[\"state\"] == \"failed\" and \"Maximum (5) redirects followed\" in J[\"error\"]" &&
	requests_are 6 /loop &&
	test_expect_code 1 http_get n2 n1 "$URL/redirect-file" &&
	test_json job "J[\"state\"] == \"failed\" and \"file\" in J[\"error\"] and \"root:\" not in J[\"stdout\"]"
'

# (Without DNS, the name look-up may time out instead of failing.)
test_expect_success 'a connection refused, a name not found: failed, with libcurl'\''s reason' '
	port=$(pick_port) &&
	test_expect_code 1 http_get n2 n1 "http://127.0.0.1:$port/" &&
	test_json job "J[\"state\"] == \"failed\" and J[\"error\"].startswith(\"http_get failed: \")
		and \"127.0.0.1 port $port\" in J[\"error\"]" &&
	test_expect_code 1 http_get n2 n1 "http://no-such-host.invalid/" ", \"method_timeout\": 5" &&
	test_json job "J[\"state\"] == \"failed\" and J[\"http_status\"] is None and (
		J[\"error\"] == \"http_get failed: Could not resolve host: no-such-host.invalid\"
		or J[\"error\"].startswith(\"http_get timed out after 5 s (method_timeout): Resolving\"))"
'

test_expect_success 'a URL that is not http or https is refused at submission (exit 2), naming the field' '
	echo "{\"to\": \"n1\", \"method\": \"http_get\", \"args\": [\"file:///etc/passwd\"]}" >file.json &&
	test_expect_code 2 zcnc_as n2 send file.json >out 2>err &&
	grep "^zcnc: message 1: http_get: only http and https URLs" err &&
	test_must_fail grep . out &&
	echo "{\"to\": \"n1\", \"method\": \"http_get\", \"args\": [\"ftp://127.0.0.1/x\"]}" |
		test_expect_code 2 zcnc_as n2 send 2>err &&
	grep "^zcnc: message 1: http_get: only http and https URLs" err &&
	echo "{\"to\": \"n1\", \"method\": \"http_get\", \"args\": [\"file:///etc/passwd\"], \"tag\": 7}" |
		sock_talk n2/zcnc.sock 1 >answer &&
	test_json answer "J == {\"error\": \"http_get: only http and https URLs\", \"code\": \"usage\",
		\"field\": \"args\", \"tag\": 7}" &&
	echo "{\"to\": \"n1\", \"method\": \"http_get\", \"args\": []}" |
		test_expect_code 2 zcnc_as n2 send 2>err &&
	grep "^zcnc: message 1: http_get takes exactly one string in \"args\": the URL" err
'

test_expect_success 'a job forged past the origin'\''s check is refused at the target, never fetched' '
	"$ZC_FORGE" --method http_get "$(hub_endpoint hub1)" "$KEYS/hub1.cert" "$KEYS" forger n1 \
		"file:///etc/passwd" >out &&
	grep "^REPLY state=failed error=http_get: only http and https URLs$" out &&
	"$ZC_FORGE" --method http_get "$(hub_endpoint hub1)" "$KEYS/hub1.cert" "$KEYS" forger n1 \
		"gopher://127.0.0.1:$(cat httpd.port)/forged" >out &&
	grep "^REPLY state=failed error=http_get: only http and https URLs$" out &&
	test_must_fail grep forged requests.log
'

test_expect_success 'a policy allows some URLs only: another is denied (126) and never fetched' '
	http_get n2 n4 "$URL/ok" &&
	test_json job "J[\"state\"] == \"done\" and J[\"http_status\"] == 200" &&
	test_expect_code 126 http_get n2 n4 "$URL/not-allowed" &&
	test_json job "J[\"state\"] == \"denied\" and J[\"http_status\"] is None
		and J[\"error\"] == \"no rule in $SCRATCH/n4.policy matched\"" &&
	test_must_fail grep not-allowed requests.log
'

test_expect_success 'a policy judges the URL as it is fetched: no user@host or .. past its patterns' '
	port=$(cat httpd.port) &&
	test_expect_code 1 http_get n2 n4 "$URL/public/page" &&
	test_json job "J[\"state\"] == \"done\" and J[\"http_status\"] == 404" &&
	test_expect_code 126 http_get n2 n4 "$URL/public/../secret" &&
	test_json job "J[\"state\"] == \"denied\"" &&
	test_expect_code 126 http_get n2 n4 "http://127.0.0.1:$port@localhost:$port/public/secret" &&
	test_json job "J[\"state\"] == \"denied\"" &&
	test_must_fail grep secret requests.log
'

test_expect_success 'through two chained hubs: n3, behind hub2, fetches for n2' '
	http_get n2 n3 "$URL/ok" &&
	test_json job "J[\"node\"] == \"n3\" and J[\"state\"] == \"done\" and J[\"http_status\"] == 200
		and J[\"stdout\"] == \"hello from zc-httpd\\n\"" &&
	test_expect_code 1 http_get n3 n1 "$URL/missing" &&
	test_json job "J[\"node\"] == \"n1\" and J[\"http_status\"] == 404"
'

test_expect_success 'an agent stopped while it fetches reports the job interrupted, and it is not fetched again' '
	before=$(count_lines "GET /slow" requests.log) &&
	echo "{\"to\": \"n1\", \"method\": \"http_get\", \"args\": [\"$URL/slow\"], \"method_timeout\": 600}" |
		zcnc_as n2 send >ids &&
	id=$(cut -d " " -f 1 ids) &&
	wait_for requests_are $((before + 1)) /slow &&
	stop_agent n1 &&
	start_agent n1 hub1 "agent/max_output = 1024" &&
	wait_for job_state_is n2 "$id" interrupted &&
	job_json n2 "$id" >job &&
	test_json job "J[\"error\"] == \"agent stopped while the job ran\"" &&
	requests_are $((before + 1)) /slow
'

test_done
