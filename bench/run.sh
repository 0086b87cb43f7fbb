#!/bin/sh
#  bench/run.sh BUILD_DIR — the latency benchmark of issue 2 (`make bench`).
#
#  Sets up a throwaway mesh under /tmp (one hub on tcp://127.0.0.1:*, two
#  agents n1 and n2, CURVE on every link), waits until both agents are
#  connected, then runs BUILD_DIR/bench/bench-latency from n1's socket to
#  n2: local spawn floors, exec and ping round trips over the socket, and
#  whole `zcnc trigger n2:true` processes. Prints the figures; stops
#  exactly the processes it started and removes its directory.
#
#  Environment: ZCNC_BENCH_COUNT (socket round trips, default 1000),
#  ZCNC_BENCH_RUNS (trigger processes, default 200).
#  Exit status: 0; 1 when the mesh did not come up or a measurement failed;
#  2 on a usage error.

set -u
build=${1:-}
if [ -z "$build" ] || [ ! -x "$build/zcnc" ] || [ ! -x "$build/bench/bench-latency" ]; then
    echo "usage: sh bench/run.sh BUILD_DIR (with BUILD_DIR/zcnc and BUILD_DIR/bench/bench-latency built: make bench)" >&2
    exit 2
fi
build=$(cd "$build" && pwd)
zcnc=$build/zcnc
count=${ZCNC_BENCH_COUNT:-1000}
runs=${ZCNC_BENCH_RUNS:-200}
dir=$(mktemp -d /tmp/zcnc-bench.XXXXXX) || exit 1
pids=

#  Stops the processes started here: SIGTERM, up to 5 s, then SIGKILL.
stop_all () {
    for pid in $pids; do
        kill "$pid" 2>/dev/null
    done
    for pid in $pids; do
        tries=0
        while kill -0 "$pid" 2>/dev/null && [ $tries -lt 50 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    pids=
}
cleanup () {
    stop_all
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

#  Waits up to 10 s for a command to succeed.
wait_for () {
    tries=0
    until "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ $tries -ge 100 ] && return 1
        sleep 0.1
    done
}

#  Prints the daemons' logs and fails.
fail () {
    echo "bench: $*" >&2
    for log in "$dir"/*.log; do
        echo "--- $log" >&2
        tail -n 20 "$log" >&2
    done
    exit 1
}

mkdir "$dir/keys"
"$zcnc" keygen --hub hub1 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen n1 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen n2 -d "$dir/keys" >/dev/null || fail "zcnc keygen failed"

cat >"$dir/hub1.cfg" <<EOF
zcnc
    name = hub1
    keys = $dir/keys
    data = $dir/hub1
hub
    bind = tcp://127.0.0.1:*
EOF
"$zcnc" hub -c "$dir/hub1.cfg" 2>"$dir/hub1.log" &
pids="$pids $!"
wait_for test -s "$dir/hub1/endpoints" || fail "the hub wrote no $dir/hub1/endpoints"
endpoint=$(head -n 1 "$dir/hub1/endpoints")

for node in n1 n2; do
    cat >"$dir/$node.cfg" <<EOF
zcnc
    name = $node
    keys = $dir/keys
    data = $dir/$node
agent
    hub = hub1@$endpoint
EOF
    "$zcnc" agent -c "$dir/$node.cfg" 2>"$dir/$node.log" &
    pids="$pids $!"
done

#  Connected: n1's directory shows n2 online, which the hub reports once
#  both have said HELLO.
n2_online () {
    "$zcnc" nodes -c "$dir/n1.cfg" --json | grep -q '"name":"n2","online":true'
}
wait_for n2_online || fail "n1 does not see n2 online after 10 s"

echo "zcnc latency benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
echo "mesh: n1 -> hub1 ($endpoint, CURVE) -> n2"
"$build/bench/bench-latency" --socket "$dir/n1/zcnc.sock" --node n2 --count "$count" \
    --zcnc "$zcnc" --config "$dir/n1.cfg" --runs "$runs"
status=$?
[ $status -eq 0 ] || fail "bench-latency failed (exit $status)"
exit $status
