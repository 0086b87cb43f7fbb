#  bench/lib.sh — what the bench/*.sh scripts share: the
#  processes they start ($pids) and their scratch directory ($dir), both
#  set before this file is sourced, are stopped and removed on exit, also
#  on a signal; bounded waits.

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
    trap '' HUP INT PIPE TERM           #  a second signal must not cut it short
    stop_all
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

#  Drops a PID that has ended from $pids.
forget () {
    rest=
    for pid in $pids; do
        [ "$pid" = "$1" ] || rest="$rest $pid"
    done
    pids=$rest
}

#  Stops one process started here and drops it from $pids.
stop_one () {
    kill "$1" 2>/dev/null
    tries=0
    while kill -0 "$1" 2>/dev/null && [ $tries -lt 50 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    forget "$1"
}

#  Waits up to 10 s (or $wait_tenths tenths) for a command to succeed.
wait_for () {
    tries=0
    until "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ $tries -ge "${wait_tenths:-100}" ] && return 1
        sleep 0.1
    done
}

#  Prints the daemons' logs and fails (a script may define its own).
fail () {
    echo "bench: $*" >&2
    for log in "$dir"/*.log; do
        echo "--- $log" >&2
        tail -n 20 "$log" >&2
    done
    exit 1
}

#  Floating-point arithmetic for the shell: calc EXPRESSION.
calc () {
    awk "BEGIN { printf \"%.1f\", $1 }"
}

#  The median of the numbers given.
median () {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

#  CPU time (user + system) of a process, in ms.
cpu_ms () {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

#  Starts hub1 ($zcnc, keys in $dir/keys) on a free port of 127.0.0.1 and
#  sets hub_pid and endpoint; fails when it writes no endpoints in 10 s.
#  ($hub_peer_timeout, when set, is the hub's peer_timeout.)
start_hub1 () {
    cat >"$dir/hub1.cfg" <<EOF
zcnc
    name = hub1
    keys = $dir/keys
    data = $dir/hub1
${hub_peer_timeout:+    peer_timeout = $hub_peer_timeout}
hub
    bind = tcp://127.0.0.1:*
EOF
    "$zcnc" hub -c "$dir/hub1.cfg" 2>"$dir/hub1.log" &
    hub_pid=$!
    pids="$pids $hub_pid"
    wait_for test -s "$dir/hub1/endpoints" || fail "the hub wrote no $dir/hub1/endpoints"
    endpoint=$(head -n 1 "$dir/hub1/endpoints")
}

#  Starts agent NAME of hub1 (at $endpoint), its config's agent section
#  ending with the lines given, and sets NAME_pid.
start_agent () {
    name=$1
    shift
    {
        printf 'zcnc\n    name = %s\n    keys = %s/keys\n    data = %s/%s\n' "$name" "$dir" "$dir" "$name"
        printf 'agent\n    hub = hub1@%s\n' "$endpoint"
        for line in "$@"; do
            printf '    %s\n' "$line"
        done
    } >"$dir/$name.cfg"
    "$zcnc" agent -c "$dir/$name.cfg" 2>"$dir/$name.log" &
    pids="$pids $!"
    eval "${name}_pid=\$!"
}
