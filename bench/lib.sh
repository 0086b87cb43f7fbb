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

#  ---------------------------------------------------------------------
#  NATS beside zcnc (bench/pubsub.sh, bench/fleet.sh)

#  Starts nats-server with config file CONF, its log in LOG; sets
#  nats_pid and nats_port (read from the log). 1 when it did not listen
#  within 10 s.
start_nats () {
    "$nats_server" -c "$1" 2>"$2" &
    nats_pid=$!
    pids="$pids $nats_pid"
    nats_listening () {
        grep -q 'Listening for client connections on' "$2"
    }
    wait_for nats_listening "$1" "$2" || return 1
    nats_port=$(sed -n 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$2" | head -n 1)
    [ -n "$nats_port" ]
}

#  start_nats_baselines [WHY_NOT]: nats-server twice on 127.0.0.1 (port
#  -1: it picks a free one), plain and with TLS (a self-signed P-256
#  certificate for localhost and 127.0.0.1, made with openssl in $dir:
#  $dir/tls.crt, which clients trust). Sets nats_url, nats_plain_pid,
#  nats_tls_url, nats_tls_pid and nats_version, or nats_why and
#  nats_tls_why saying why one cannot run (WHY_NOT, when given, for both:
#  the client side is missing).
start_nats_baselines () {
    nats_why=${1:-} nats_tls_why= nats_version=
    #  Debian puts it in /usr/sbin, which a user's PATH may lack.
    nats_server=$(command -v nats-server 2>/dev/null || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; })
    [ -n "$nats_why" ] || [ -n "$nats_server" ] || nats_why="nats-server not installed (apt-get install nats-server)"
    if [ -n "$nats_why" ]; then
        nats_tls_why=$nats_why
        return
    fi
    nats_version=$("$nats_server" --version 2>&1 | head -n 1)
    printf 'host: 127.0.0.1\nport: -1\n' >"$dir/nats.conf"
    if start_nats "$dir/nats.conf" "$dir/nats.log"; then
        nats_plain_pid=$nats_pid
        nats_url=nats://127.0.0.1:$nats_port
    else
        nats_why="nats-server did not start (see its log above)"
        tail -n 5 "$dir/nats.log"
    fi
    if ! command -v openssl >/dev/null 2>&1; then
        nats_tls_why="openssl not installed (it makes the certificate)"
    elif ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -keyout "$dir/tls.key" -out "$dir/tls.crt" >"$dir/openssl.log" 2>&1; then
        nats_tls_why="openssl could not make a certificate"
        tail -n 5 "$dir/openssl.log"
    else
        printf 'host: 127.0.0.1\nport: -1\ntls {\n  cert_file: "%s"\n  key_file: "%s"\n}\n' \
            "$dir/tls.crt" "$dir/tls.key" >"$dir/nats-tls.conf"
        if start_nats "$dir/nats-tls.conf" "$dir/nats-tls.log"; then
            nats_tls_pid=$nats_pid
            nats_tls_url=tls://127.0.0.1:$nats_port
        else
            nats_tls_why="nats-server with TLS did not start"
            tail -n 5 "$dir/nats-tls.log"
        fi
    fi
}
