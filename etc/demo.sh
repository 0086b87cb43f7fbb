#!/bin/sh
# shellcheck disable=SC2317  # functions run through s_wait_for look unreachable
#  A throwaway local mesh: one hub (hub1) and three agents (n1, n2, n3) on
#  loopback, in a scratch directory under /tmp. Prints `zcnc nodes` and
#  `zcnc trigger ALL:uname -a` as seen from n1, like a terminal transcript,
#  then stops exactly the processes it started and removes the directory.
#
#  usage: sh etc/demo.sh PATH_TO_ZCNC        (what `make demo` runs)
#         sh etc/demo.sh PATH_TO_ZCNC --dot FILE   (what `make mesh-svg` runs)
#  With --dot, no transcript: n3 is stopped and a job queued for it, then
#  `zcnc nodes --dot` (a Graphviz picture of the mesh as n1 sees it) is
#  written to FILE.
#  Exit status: the trigger's (with --dot: 0); 125 when the mesh could
#  not be set up.
#  Set ZCNC_DEMO_KEEP=1 to keep the scratch directory (logs, configs).

dot_file=""
if [ $# -eq 3 ] && [ "$2" = --dot ]; then
    dot_file=$3
elif [ $# -ne 1 ]; then
    echo "usage: sh etc/demo.sh PATH_TO_ZCNC [--dot FILE]" >&2
    exit 2
fi
zcnc=$1
case $zcnc in
    /*) ;;
    *) zcnc=$(pwd)/$zcnc ;;
esac
if [ ! -x "$zcnc" ]; then
    echo "demo: $zcnc is not an executable (build it first: make)" >&2
    exit 125
fi

dir=$(mktemp -d /tmp/zcnc-demo.XXXXXX) || exit 125
pids=""             #  every process this script started, and only those
agents="n1 n2 n3"

#  True while process $1 runs (a zombie that only waits to be reaped is
#  not running).
s_running () {
    if [ -r "/proc/$1/stat" ]; then
        state=$(cut -d ' ' -f 3 "/proc/$1/stat" 2>/dev/null)
        [ -n "$state" ] && [ "$state" != Z ]
    else
        kill -0 "$1" 2>/dev/null
    fi
}

#  Stops the processes we started: SIGTERM, up to 10 s to exit cleanly,
#  then SIGKILL for any that did not; then reaps them all.
s_stop () {
    for pid in $pids; do
        kill -TERM "$pid" 2>/dev/null
    done
    tries=0
    while [ $tries -lt 100 ]; do
        alive=""
        for pid in $pids; do
            s_running "$pid" && alive="$alive $pid"
        done
        [ -z "$alive" ] && break
        sleep 0.1
        tries=$((tries + 1))
    done
    for pid in $alive; do
        echo "demo: process $pid did not stop on SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    done
    for pid in $pids; do
        wait "$pid" 2>/dev/null
    done
    pids=""
}

s_cleanup () {
    s_stop
    if [ -n "${ZCNC_DEMO_KEEP:-}" ]; then
        echo "demo: kept $dir" >&2
    else
        rm -rf "$dir"
    fi
}

#  Says what went wrong, shows the end of the logs, cleans up, exits 125.
s_fail () {
    echo "demo: $*" >&2
    for log in "$dir"/*.log; do
        [ -s "$log" ] || continue
        echo "--- last lines of $log" >&2
        tail -n 5 "$log" >&2
    done
    s_cleanup
    exit 125
}

trap 's_cleanup; exit 130' INT
trap 's_cleanup; exit 143' TERM
trap 's_cleanup; exit 129' HUP
trap 's_cleanup; exit 141' PIPE     #  e.g. piped into head: still clean up

#  Prints a zcnc command like a transcript, then runs it.
s_zcnc () {
    printf '$ zcnc %s\n' "$*"
    "$zcnc" "$@"
}

#  Waits up to $1 tenths of a second for the command after it to succeed.
s_wait_for () {
    limit=$1
    shift
    tries=0
    until "$@"; do
        tries=$((tries + 1))
        [ $tries -ge "$limit" ] && return 1
        sleep 0.1
    done
}

#  Keys: each process gets a keys directory with its own secret and the
#  public certs it trusts: the hub trusts the agents, each agent pins the
#  hub's key and trusts the other agents (jobs and results are sealed
#  end to end between agents, so each needs the others' certs).
mkdir -p "$dir/hub1/keys" || s_fail "cannot create $dir/hub1/keys"
"$zcnc" keygen --hub hub1 -d "$dir/hub1/keys" >/dev/null || s_fail "keygen hub1 failed"
for node in $agents; do
    mkdir -p "$dir/$node/keys"
    "$zcnc" keygen "$node" -d "$dir/$node/keys" >/dev/null || s_fail "keygen $node failed"
    cp "$dir/$node/keys/$node.cert" "$dir/hub1/keys/" || s_fail "cannot copy $node.cert"
    cp "$dir/hub1/keys/hub1.cert" "$dir/$node/keys/" || s_fail "cannot copy hub1.cert"
done
for node in $agents; do
    for other in $agents; do
        [ "$other" = "$node" ] ||
            cp "$dir/$other/keys/$other.cert" "$dir/$node/keys/" || s_fail "cannot copy $other.cert"
    done
done

#  The hub binds any free loopback port and writes it to DATA/endpoints.
cat >"$dir/hub1.cfg" <<EOF
zcnc
    name = hub1
    keys = $dir/hub1/keys
    data = $dir/hub1/data
hub
    bind = tcp://127.0.0.1:*
EOF
"$zcnc" hub -c "$dir/hub1.cfg" >"$dir/hub1.log" 2>&1 &
hub_pid=$!
pids="$pids $hub_pid"

s_endpoint_ready () {
    s_running "$hub_pid" || s_fail "the hub exited at start"
    [ -s "$dir/hub1/data/endpoints" ]
}
s_wait_for 100 s_endpoint_ready || s_fail "the hub wrote no $dir/hub1/data/endpoints within 10 s"
endpoint=$(head -n 1 "$dir/hub1/data/endpoints")

agent_pids=""
for node in $agents; do
    cat >"$dir/$node.cfg" <<EOF
zcnc
    name = $node
    keys = $dir/$node/keys
    data = $dir/$node/data
agent
    hub = hub1@$endpoint
EOF
    "$zcnc" agent -c "$dir/$node.cfg" >"$dir/$node.log" 2>&1 &
    pids="$pids $!"
    agent_pids="$agent_pids $!"
done

#  The client commands below talk to n1's socket.
ZCNC_CONFIG=$dir/n1.cfg
export ZCNC_CONFIG
s_all_online () {
    for pid in $agent_pids; do
        s_running "$pid" || s_fail "an agent exited at start"
    done
    online=$("$zcnc" nodes --json 2>/dev/null | grep -c '"online":true')
    [ "$online" -eq 3 ]
}
s_wait_for 150 s_all_online || s_fail "n1 did not see 3 nodes online within 15 s"

#  The picture: one node offline with a job waiting for it.
if [ -n "$dot_file" ]; then
    n3_pid=${agent_pids##* }
    kill -TERM "$n3_pid"
    s_n3_offline () {
        "$zcnc" nodes --json 2>/dev/null | grep -q '"name":"n3","online":false'
    }
    s_wait_for 300 s_n3_offline || s_fail "n1 did not see n3 offline within 30 s"
    "$zcnc" trigger --async n3:uptime >/dev/null || s_fail "could not queue a job for n3"
    "$zcnc" nodes --dot >"$dot_file" || s_fail "zcnc nodes --dot failed"
    s_cleanup
    exit 0
fi

printf '# hub1 at %s; agents %s; scratch directory %s\n' "$endpoint" "$agents" "$dir"
printf '$ export ZCNC_CONFIG=%s\n' "$ZCNC_CONFIG"
s_zcnc nodes
s_zcnc trigger ALL:uname -a
status=$?
printf '# exit status %s\n' "$status"

s_cleanup
exit $status
