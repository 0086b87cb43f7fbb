#!/bin/sh
#  bench/directory.sh BUILD_DIR — issue 13's presence figure: the bytes a
#  hub sends when it is restarted under N agents until all are back,
#  with every agent subscribed to the node directory (what every agent got
#  before version 4: `directory = always` on all) and with the directory
#  on demand (the default: one console agent subscribed, the others only
#  run jobs).
#
#  For each N in ZCNC_BENCH_DIRECTORY_SIZES (default "50 100 200") and
#  each mode: a hub on a fixed port of 127.0.0.1, N agents (heartbeat 2 s,
#  reconnect 1 s, as t0015) and a console agent c1 with `directory =
#  always`; once c1 sees all N online, the hub is stopped and started
#  again on its port, and the bytes its TCP connections sent (ss
#  bytes_sent, CURVE included) are summed once c1 sees all N online again.
#  Heartbeats, welcomes and flow marks are in both figures; the difference
#  is the directory.
set -u
build=${1:-.}
zcnc=$build/zcnc
sizes=${ZCNC_BENCH_DIRECTORY_SIZES:-50 100 200}
dir=$(mktemp -d /tmp/zcnc-bench-directory.XXXXXX)
pids=
. "$(dirname "$0")/lib.sh"

echo "== directory: bytes a restarted hub sends until N agents are back (commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo ?), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"

mkdir -p "$dir/keys"
"$zcnc" keygen --hub hub1 -d "$dir/keys" >/dev/null
"$zcnc" keygen c1 -d "$dir/keys" >/dev/null

#  A free port of 127.0.0.1.
free_port () {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_fixed_hub () {
    cat >"$dir/hub1.cfg" <<CFG
zcnc
    name = hub1
    keys = $dir/keys
    data = $dir/hub1
hub
    bind = tcp://127.0.0.1:$port
CFG
    rm -f "$dir/hub1/endpoints"
    "$zcnc" hub -c "$dir/hub1.cfg" 2>>"$dir/hub1.log" &
    hub_pid=$!
    pids="$pids $hub_pid"
    wait_for test -s "$dir/hub1/endpoints" || fail "the hub did not start"
}

#  How many agents c1 sees online.
online () {
    "$zcnc" nodes --json -c "$dir/c1.cfg" 2>/dev/null | grep -c '"online":true'
}

#  The bytes sent by the TCP connections on the hub's port.
hub_bytes () {
    ss -Htin state established "( sport = :$port )" 2>/dev/null |
        grep -o 'bytes_sent:[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }'
}

for n in $sizes; do
    for mode in always on_demand; do
        port=$(free_port)
        endpoint=tcp://127.0.0.1:$port
        start_fixed_hub
        for index in $(seq 1 "$n"); do
            name=$(printf 'n%03d' "$index")
            [ -f "$dir/keys/$name.cert" ] || "$zcnc" keygen "$name" -d "$dir/keys" >/dev/null
            rm -rf "$dir/$name"
            printf 'zcnc\n    name = %s\n    keys = %s/keys\n    data = %s/%s\n    heartbeat = 2\n    reconnect = 1\nagent\n    hub = hub1@%s\n    directory = %s\n' \
                "$name" "$dir" "$dir" "$name" "$endpoint" "$mode" >"$dir/$name.cfg"
            "$zcnc" agent -c "$dir/$name.cfg" 2>>"$dir/$name.log" &
            pids="$pids $!"
        done
        rm -rf "$dir/c1"
        start_agent c1 "directory = always"
        wait_tenths=1200 wait_for test "$(online)" -ge "$((n + 1))" ||
            { sleep 5; [ "$(online)" -ge "$((n + 1))" ] || fail "only $(online) of $((n + 1)) online"; }
        stop_one "$hub_pid"
        : >"$dir/hub1.log"
        started=$(date +%s%N)
        start_fixed_hub
        tries=0
        while [ "$(grep -c ' is online$' "$dir/hub1.log")" -lt "$((n + 1))" ] && [ $tries -lt 1200 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
        took=$(( ($(date +%s%N) - started) / 1000000 ))
        sleep 1                 #  the last directory changes go out every 100 ms
        bytes=$(hub_bytes)
        printf 'directory_restart      N=%-4d %-10s %9d bytes sent by the hub until all %d back (%d ms, then 1 s)\n' \
            "$n" "$mode" "$bytes" "$((n + 1))" "$took"
        stop_all
    done
done
