#!/bin/sh
test_description='the control socket under abuse: bounded input, no client holds the loop, every request answered'
. "$(dirname "$0")/test-lib.sh"

# The bounds (include/jsonl.h, zcnc(1) "The socket"): a connection may
# buffer a line of 1 MiB; all clients together 96 MiB beyond that; one
# line at most 64 MiB; an op request at most 64 KiB; 256 clients.
# ZCNC_ABUSERS (default 10) clients each write a 60 MB line without a
# newline, 1 MB at a time, while another client asks for the status
# every 20 ms. The agent's RSS must stay under 250 MB (it idles at ~10 MB;
# 96 MiB of budget, 1 MiB per client, 64 KiB read at a time), no status
# may take 100 ms or more, and each abuser must get one error line.
abusers=${ZCNC_ABUSERS:-10}

test_expect_success 'setup: a hub and an agent' '
	make_keys --hub hub1 &&
	make_keys n1 &&
	start_hub hub1 &&
	start_agent n1
'

# watch SOCKET PID STOPFILE: asks for the status every 20 ms until
# STOPFILE exists, in a process of its own (so that the abusers cannot
# slow it down); prints the count, the slowest answer and the agent's
# peak RSS as JSON.
watch () {
	python3 -c "$zc_py_watch" "$@"
}

zc_py_watch='
import json, os, socket, sys, time
path, pid, stop = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX)
s.connect(path)
f = s.makefile("rb")
latencies, rss = [], 0
deadline = time.monotonic() + 110
while not os.path.exists(stop) and time.monotonic() < deadline:
    start = time.monotonic()
    s.sendall(b"{\"op\": \"status\"}\n")
    f.readline()
    latencies.append(time.monotonic() - start)
    with open("/proc/%s/status" % pid) as st:
        for line in st:
            if line.startswith("VmRSS:"):
                rss = max(rss, int(line.split()[1]) * 1024)
    time.sleep(0.02)
print(json.dumps({"statuses": len(latencies), "max_ms": round(max(latencies) * 1000, 1),
                  "rss_mb": round(rss / 1e6, 1)}))
'

# abuse SOCKET ABUSERS: that many clients each write a 60 MB line
# without its newline, 1 MB at a time, then close their side; prints
# what each was answered, as a JSON array.
abuse () {
	python3 -c "$zc_py_abuse" "$@"
}

zc_py_abuse='
import json, socket, sys, threading
path, count = sys.argv[1], int(sys.argv[2])
line_size, chunk = 60 * 1000 * 1000, b"x" * (1000 * 1000)
answers = [None] * count

def abuser(index):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(60)
    sent = 0
    try:
        while sent < line_size:
            s.sendall(chunk)
            sent += len(chunk)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    data = b""
    try:
        while b"\n" not in data:
            more = s.recv(65536)
            if not more:
                break
            data += more
    except OSError:
        pass
    try:
        answers[index] = json.loads(data.decode(errors="replace").strip())
    except ValueError:
        answers[index] = {"unparsed": data.decode(errors="replace")[:200]}

threads = [threading.Thread(target=abuser, args=(i,)) for i in range(count)]
for t in threads:
    t.start()
for t in threads:
    t.join(120)
print(json.dumps(answers))
'

test_expect_success "$abusers clients with 60 MB partial lines: RSS bounded, status always within 100 ms, each gets an error line" '
	rm -f stop &&
	{ watch "$SCRATCH/n1/zcnc.sock" "$(daemon_pid n1)" "$SCRATCH/stop" >watched & } &&
	watcher=$! &&
	abuse "$SCRATCH/n1/zcnc.sock" "$abusers" >answers &&
	sleep 0.3 &&
	touch stop &&
	wait $watcher &&
	cat watched answers &&
	test_json watched "J[\"statuses\"] > 10 and J[\"max_ms\"] < 100 and J[\"rss_mb\"] < 250" &&
	test_json answers "len(J) == $abusers and all(a and a.get(\"error\") for a in J)
		and any(\"large requests from its clients\" in a[\"error\"] for a in J)" &&
	zcnc_as n1 status >/dev/null
'

# nested DEPTH: a status request whose tag is DEPTH arrays deep.
nested () {
	python3 -c 'import sys; d = int(sys.argv[1]); print("{\"op\": \"status\", \"tag\": " + "[" * d + "]" * d + "}")' "$1"
}

test_expect_success 'a tag nested too deep to write back gets an error line, not silence' '
	nested 300 | sock_talk n1/zcnc.sock 1 >out &&
	test_json out "J[\"code\"] == \"internal\" and \"could not be written as JSON\" in J[\"error\"]" &&
	nested 5000 | sock_talk n1/zcnc.sock 1 >out &&
	test_json out "J[\"code\"] == \"usage\" and J[\"error\"].startswith(\"malformed JSON request\")"
'

test_expect_success 'an op request over 64 KiB is refused, naming the bound' '
	python3 -c "print(\"{\\\"op\\\": \\\"status\\\", \\\"tag\\\": \\\"\" + \"x\" * 70000 + \"\\\"}\")" |
		sock_talk n1/zcnc.sock 1 >out &&
	test_json out "J[\"code\"] == \"usage\" and \"at most 65536 bytes\" in J[\"error\"]"
'

test_expect_success 'a line over 64 MiB is refused and its client closed, unparsed' '
	python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    for _ in range(70):
        s.sendall(b\"y\" * (1 << 20))
except OSError:
    pass
print(s.makefile(\"rb\").readline().decode().strip())
" n1/zcnc.sock >out &&
	test_json out "J[\"code\"] == \"usage\" and J[\"error\"] == \"request line longer than 67108864 bytes (64 MiB)\""
'

test_expect_success 'a large message (8 MB of stdin data) still goes through, parsed off the loop' '
	python3 -c "
import base64, json
print(json.dumps({\"to\": \"n1\", \"args\": [\"wc -c\"], \"data_b64\": base64.b64encode(b\"z\" * 8000000).decode(), \"wait\": 20}))
" | sock_talk n1/zcnc.sock 2 30 >out &&
	test_json out "L[1][\"state\"] == \"done\" and L[1][\"stdout\"].strip() == \"8000000\""
'

test_expect_success 'the 257th client at once is told there are too many' '
	python3 -c "
import socket, sys
held = []
for _ in range(256):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    held.append(s)
extra = socket.socket(socket.AF_UNIX)
extra.connect(sys.argv[1])
extra.settimeout(5)
print(extra.makefile(\"rb\").readline().decode().strip())
" n1/zcnc.sock >out &&
	test_json out "J[\"code\"] == \"full\" and J[\"error\"].startswith(\"too many clients\")" &&
	zcnc_as n1 status >/dev/null
'

test_done
