#!/bin/sh
#  bench/mesh.sh BUILD_DIR — the benchmarks of issue 4 (the mesh).
#
#  Two throwaway meshes under /tmp, CURVE on every link, every hub on
#  tcp://127.0.0.1:*, with tests/zc-proxy on the link whose bytes or
#  outages matter. Figures:
#    bytes_per_roundtrip  mesh A: n1 reaches hub central through proxy pa,
#                         n2 directly; K sequential `zcnc trigger n2:true`
#                         from n1; the bytes pa forwarded each way, minus
#                         the idle traffic of the same duration, / K;
#    broadcast_crossings  mesh A: hub site (N agents s1..sN) chains to
#                         central through proxy pu; c1 (at central) runs
#                         `sleep 1` on s1, then on s* (all N): the bytes of
#                         the request toward site, taken before any result
#                         can exist, for 1 and for N targets, and their
#                         ratio; broadcast_results gives the bytes each
#                         target's STARTED, REPLY and ACK cost;
#    convergence_ms       mesh B (heartbeat 0.5 s, peer_timeout 3 s): hub
#                         edge (M agents e1..eM) chains to hq through proxy
#                         pc; with the link blackholed, then passed again,
#                         the time until h1 (at hq) sees e1..eM online.
#  Mesh A runs with heartbeat 30 s and peer_timeout 90 s, so that no
#  heartbeat falls into its short measuring windows; the idle traffic is
#  still measured and subtracted. Prints the figures and a breakdown;
#  stops exactly the processes it started and removes its directory.
#
#  Environment: ZCNC_MESH_COUNT (round trips, default 50),
#  ZCNC_MESH_AGENTS (agents behind site, default 100), ZCNC_MESH_BROADCASTS
#  (jobs per broadcast case, default 3: the median is taken),
#  ZCNC_MESH_EDGE_AGENTS (agents behind edge, default 10),
#  ZCNC_MESH_ROUNDS (convergence rounds, default 5), ZCNC_MESH_IDLE
#  (seconds of idle traffic measured, default 3).
#  Exit status: 0; 1 when a mesh did not come up or a measurement failed;
#  2 on a usage error.

set -u
build=${1:-}
usage () {
    echo "usage: sh bench/mesh.sh BUILD_DIR (with BUILD_DIR/zcnc and BUILD_DIR/tests/zc-proxy built: make zcnc tests/zc-proxy)" >&2
    exit 2
}
[ $# -eq 1 ] && [ -x "$build/zcnc" ] && [ -x "$build/tests/zc-proxy" ] || usage
count=${ZCNC_MESH_COUNT:-50}
agents=${ZCNC_MESH_AGENTS:-100}
broadcasts=${ZCNC_MESH_BROADCASTS:-3}
edge_agents=${ZCNC_MESH_EDGE_AGENTS:-10}
rounds=${ZCNC_MESH_ROUNDS:-5}
idle=${ZCNC_MESH_IDLE:-3}
for value in "$count" "$agents" "$broadcasts" "$edge_agents" "$rounds" "$idle"; do
    case $value in
        ''|*[!0-9]*|0) echo "bench: ZCNC_MESH_* values are whole numbers >= 1 ('$value' is not)" >&2; exit 2 ;;
    esac
done
build=$(cd "$build" && pwd)
zcnc=$build/zcnc
proxy=$build/tests/zc-proxy
dir=$(mktemp -d /tmp/zcnc-mesh.XXXXXX) || exit 1
pids=

. "$(dirname "$0")/lib.sh"

#  Prints the logs of the hubs, proxies and origin agents, and fails.
fail () {
    echo "bench: $*" >&2
    for log in "$dir"/*.log; do
        case ${log##*/} in
            [sen][0-9]*.log) continue ;;   #  the many target agents
        esac
        [ -s "$log" ] || continue
        echo "--- $log" >&2
        tail -n 10 "$log" >&2
    done
    exit 1
}

now_ms () {
    echo $(($(date +%s%N) / 1000000))
}

#  Milliseconds since the epoch of the last log line matching a pattern,
#  0 when none does.
log_ms () {
    line=$(grep "$1" "$2" | tail -n 1)
    [ -n "$line" ] || { echo 0; return; }
    date -u -d "$(echo "$line" | cut -d ' ' -f 1)" +%s%3N
}

#  Writes a config: config NAME HEARTBEAT PEER_TIMEOUT SECTION-LINES...
config () {
    name=$1 heartbeat=$2 timeout=$3
    shift 3
    {
        printf 'zcnc\n    name = %s\n    keys = %s\n    data = %s\n' "$name" "$dir/keys" "$dir/$name"
        printf '    heartbeat = %s\n    peer_timeout = %s\n' "$heartbeat" "$timeout"
        printf '%s\n' "$@"
    } >"$dir/$name.cfg"
}

#  Starts a hub from its config; sets endpoint to the first it bound.
start_hub () {
    "$zcnc" hub -c "$dir/$1.cfg" 2>"$dir/$1.log" &
    pids="$pids $!"
    wait_for test -s "$dir/$1/endpoints" || fail "hub $1 wrote no $dir/$1/endpoints"
    endpoint=$(head -n 1 "$dir/$1/endpoints")
}

#  Starts an agent from its config, without waiting.
start_agent () {
    "$zcnc" agent -c "$dir/$1.cfg" 2>"$dir/$1.log" &
    pids="$pids $!"
}

#  Starts agents PREFIX1 .. PREFIXCOUNT on HUB (NAME@endpoint), with the
#  heartbeat and peer_timeout given, without waiting for them.
start_agents () {
    prefix=$1 count=$2 hub=$3 heartbeat=$4 timeout=$5
    i=1
    while [ $i -le "$count" ]; do
        config "$prefix$i" "$heartbeat" "$timeout" agent "    hub = $hub"
        start_agent "$prefix$i"
        i=$((i + 1))
    done
}

#  Starts proxy NAME forwarding to ENDPOINT (tcp://HOST:PORT), with its
#  control FIFO NAME.ctl and stats NAME.stats; sets endpoint to its own.
start_proxy () {
    "$proxy" --listen 127.0.0.1:0 --to "${2#tcp://}" --port-file "$dir/$1.port" \
        --control "$dir/$1.ctl" --stats "$dir/$1.stats" 2>"$dir/$1.log" </dev/null &
    pids="$pids $!"
    wait_for test -s "$dir/$1.port" || fail "proxy $1 wrote no port file"
    endpoint=tcp://127.0.0.1:$(cat "$dir/$1.port")
}

#  Sends a command to proxy NAME. Bounded: opening a FIFO nobody reads
#  would block.
proxy_ctl () {
    timeout 5 sh -c 'printf "%s\n" "$2" >"$1"' sh "$dir/$1.ctl" "$2"
}

#  Has proxy NAME write its stats now; sets up, down (bytes forwarded so
#  far each way), mode and at (ms, when asked). Fails when no stats come.
stats () {
    rm -f "$dir/$1.stats"
    at=$(now_ms)
    proxy_ctl "$1" stats || fail "proxy $1 does not read its control FIFO"
    tries=0
    until [ -s "$dir/$1.stats" ]; do
        tries=$((tries + 1))
        [ $tries -ge 500 ] && fail "proxy $1 wrote no stats within 5 s"
        sleep 0.01
    done
    set -- $(sed -n 's/.*"up":\([0-9]*\),"down":\([0-9]*\),.*"mode":"\([a-z]*\)".*/\1 \2 \3/p' "$dir/$1.stats")
    [ $# -eq 3 ] || fail "unreadable proxy stats: $(cat "$dir/$1.stats")"
    up=$1 down=$2 mode=$3
}

#  The idle traffic of proxy NAME over $idle s; sets idle_up and
#  idle_down (bytes per ms).
idle_rate () {
    stats "$1"
    up0=$up down0=$down at0=$at
    sleep "$idle"
    stats "$1"
    idle_up=$(awk "BEGIN { print ($up - $up0) / ($at - $at0) }")
    idle_down=$(awk "BEGIN { print ($down - $down0) / ($at - $at0) }")
}

#  Bytes of one direction in a window, minus the idle rate over it:
#  window_bytes FROM TO RATE FROM_MS TO_MS.
window_bytes () {
    calc "$2 - $1 - $3 * ($5 - $4)"
}

#  How many of the names PREFIX1..PREFIXn are online in AGENT's directory:
#  online_count AGENT PREFIX.
online_count () {
    "$zcnc" nodes -c "$dir/$1.cfg" --json 2>/dev/null | grep -c "^{\"name\":\"$2[0-9]*\",\"online\":true"
}
all_online () {
    [ "$(online_count "$1" "$2")" -eq "$3" ]
}
none_online () {
    [ "$(online_count "$1" "$2")" -eq 0 ]
}

#  Whether edge's log says more than N times that its uplink went down.
edge_downs_above () {
    [ "$(grep -c 'link to hub hq down' "$dir/edge.log")" -gt "$1" ]
}

verdict () {
    if [ "$1" = 1 ]; then echo met; else echo "not met"; fi
}

echo "zcnc mesh benchmarks (issue 4): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "source tree: commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown) (BUILD_DIR may be older)"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r), load $(cut -d ' ' -f 1-3 /proc/loadavg)"

mkdir "$dir/keys"
for hub in central site hq edge; do
    "$zcnc" keygen --hub "$hub" -d "$dir/keys" >/dev/null || fail "zcnc keygen --hub $hub failed"
done
i=1
while [ $i -le "$agents" ] || [ $i -le "$edge_agents" ]; do
    [ $i -le "$agents" ] && { "$zcnc" keygen "s$i" -d "$dir/keys" >/dev/null || fail "zcnc keygen s$i failed"; }
    [ $i -le "$edge_agents" ] && { "$zcnc" keygen "e$i" -d "$dir/keys" >/dev/null || fail "zcnc keygen e$i failed"; }
    i=$((i + 1))
done
for node in n1 n2 c1 h1; do
    "$zcnc" keygen "$node" -d "$dir/keys" >/dev/null || fail "zcnc keygen $node failed"
done

#  ---------------------------------------------------------------------
#  Mesh A: central (n1 through pa, n2, c1), later site (s1..sN) through pu.

hb_a=30 pt_a=90
config central $hb_a $pt_a hub "    bind = tcp://127.0.0.1:*"
start_hub central
central=$endpoint
start_proxy pa "$central"
pa=$endpoint
for node in n1 n2 c1; do
    endpoint=$central
    [ $node = n1 ] && endpoint=$pa
    config $node $hb_a $pt_a agent "    hub = central@$endpoint"
    start_agent $node
done
wait_for all_online n1 n 2 || fail "n1 does not see n1 and n2 online after 10 s"
wait_for all_online n1 c 1 || fail "n1 does not see c1 online after 10 s"

echo
echo "== mesh A: n1 -> proxy pa -> central ($central) -> n2; heartbeat ${hb_a} s, peer_timeout ${pt_a} s"
for i in 1 2 3; do
    "$zcnc" trigger -c "$dir/n1.cfg" n2:true >/dev/null || fail "warm-up job n1 -> n2 failed"
done
sleep 0.5
idle_rate pa
stats pa
up0=$up down0=$down at0=$at
i=1
while [ $i -le "$count" ]; do
    out=$("$zcnc" trigger -c "$dir/n1.cfg" n2:true 2>&1) || fail "zcnc trigger n2:true failed: $out"
    i=$((i + 1))
done
sleep 0.3                           #  the ACK of the last REPLY leaves n1
stats pa
rt_up=$(calc "$(window_bytes "$up0" "$up" "$idle_up" "$at0" "$at") / $count")
rt_down=$(calc "$(window_bytes "$down0" "$down" "$idle_down" "$at0" "$at") / $count")
rt=$(calc "$rt_up + $rt_down")
printf 'bytes_per_roundtrip    %s bytes (up %s toward the hub, down %s back; %d sequential zcnc trigger n2:true in %d ms, idle %s bytes/s subtracted) (target <= 400: %s)\n' \
    "$rt" "$rt_up" "$rt_down" "$count" "$((at - at0))" "$(calc "($idle_up + $idle_down) * 1000")" \
    "$(verdict "$(calc "($rt <= 400)" | cut -d . -f 1)")"

#  The site hub chains to central through pu; N agents behind it.
start_proxy pu "$central"
pu=$endpoint
config site $hb_a $pt_a hub "    bind = tcp://127.0.0.1:*" "    uplink = central@$pu"
start_hub site
site=$endpoint
start=$(now_ms)
start_agents s "$agents" "site@$site" $hb_a $pt_a
wait_tenths=600
wait_for all_online c1 s "$agents" ||
    fail "c1 sees $(online_count c1 s) of the $agents site agents online after 60 s"
wait_tenths=100
echo
echo "== mesh A: c1 -> central -> proxy pu -> site ($site) -> s1..s$agents; all $agents online at c1 $(($(now_ms) - start)) ms after starting them"
sleep 1
idle_rate pu

#  One job to TARGETS; sets req (bytes toward site until the snapshot, 0.4
#  s after submitting: the request, before any result can exist),
#  started (up until then: the STARTED messages), reply and ack (up and
#  down after it). broadcast TARGETS EXPECTED-JOBS
broadcast () {
    stats pu
    up0=$up down0=$down at0=$at
    "$zcnc" trigger -c "$dir/c1.cfg" -t 60 --json "$1:sleep 1" >"$dir/broadcast.out" 2>&1 &
    trigger=$!
    pids="$pids $trigger"
    sleep 0.4
    stats pu
    up1=$up down1=$down at1=$at
    wait "$trigger"
    rc=$?
    forget "$trigger"
    [ $rc -eq 0 ] || fail "zcnc trigger '$1:sleep 1' exited $rc: $(head -n 3 "$dir/broadcast.out")"
    sleep 0.3                       #  the ACKs of the last REPLYs leave c1
    stats pu
    finished=$(grep -c '"state":"done"' "$dir/broadcast.out")
    [ "$finished" -eq "$2" ] || fail "$finished of $2 jobs to '$1' ended done"
    first=$(sed -n 's/.*"finished":\([0-9.]*\).*/\1/p' "$dir/broadcast.out" | sort -n | head -n 1)
    [ "$(calc "($first * 1000 > $at1)")" = 1.0 ] ||
        fail "a job to '$1' finished at $first s, before the snapshot of its request at $at1 ms"
    req=$(window_bytes "$down0" "$down1" "$idle_down" "$at0" "$at1")
    started=$(window_bytes "$up0" "$up1" "$idle_up" "$at0" "$at1")
    reply=$(window_bytes "$up1" "$up" "$idle_up" "$at1" "$at")
    ack=$(window_bytes "$down1" "$down" "$idle_down" "$at1" "$at")
}
#  $broadcasts jobs to TARGETS; sets reqs (each one's request bytes) and
#  the medians m_req, m_started, m_reply, m_ack. broadcast_median TARGETS JOBS
broadcast_median () {
    reqs='' starteds='' replies='' acks=''
    i=1
    while [ $i -le "$broadcasts" ]; do
        broadcast "$1" "$2"
        reqs="$reqs $req" starteds="$starteds $started" replies="$replies $reply" acks="$acks $ack"
        i=$((i + 1))
    done
    m_req=$(median $reqs) m_started=$(median $starteds)
    m_reply=$(median $replies) m_ack=$(median $acks)
}
broadcast_median s1 1
one_reqs=$reqs one_req=$m_req one_started=$m_started one_reply=$m_reply one_ack=$m_ack
broadcast_median 's*' "$agents"
all_reqs=$reqs all_req=$m_req all_started=$m_started all_reply=$m_reply all_ack=$m_ack
#  One message to N targets differs from the one to s1 by the names
#  s2..sN in its target list (1 + length bytes each), by a 16-byte tag
#  per target (end-to-end security; the one to s1 is sealed instead, 24
#  bytes more), and by ZeroMQ's frame header: 9 bytes instead of 2 for
#  a frame over 255 bytes.
names=$(awk -v n="$agents" 'BEGIN { for (i = 2; i <= n; i++) b += 1 + length ("s" i); print b }')
tags=$((16 * agents))
ratio=$(awk "BEGIN { printf \"%.2f\", $all_req / $one_req }")
excess=$(calc "$all_req - $one_req - $names - $tags")
printf 'broadcast_crossings    ratio %s (request toward site, median of %d: 1 target %s bytes, %d targets %s bytes = %s + %d bytes of target names + %d of tags + %s; as %d requests it would be ~%d) (target: the request crosses the uplink once: %s)\n' \
    "$ratio" "$broadcasts" "$one_req" "$agents" "$all_req" "$one_req" "$names" "$tags" "$excess" "$agents" \
    "$(calc "$one_req * $agents" | cut -d . -f 1)" \
    "$(verdict "$(calc "($all_req - $names - $tags < 1.5 * $one_req)" | cut -d . -f 1)")"
printf 'broadcast_results      per target: STARTED %s, REPLY %s bytes up, ACK %s bytes down (with %d targets; with 1: %s, %s, %s)\n' \
    "$(calc "$all_started / $agents")" "$(calc "$all_reply / $agents")" "$(calc "$all_ack / $agents")" "$agents" \
    "$one_started" "$one_reply" "$one_ack"
echo "  requests toward site, each job (bytes):$one_reqs (1 target);$all_reqs ($agents targets); idle $(calc "($idle_up + $idle_down) * 1000") bytes/s subtracted"
stop_all                            #  mesh A's CPU is not mesh B's

#  ---------------------------------------------------------------------
#  Mesh B: hq (h1), edge (e1..eM) chained to hq through pc, blackholed.

hb_b=0.5 pt_b=3
config hq $hb_b $pt_b hub "    bind = tcp://127.0.0.1:*"
start_hub hq
hq=$endpoint
start_proxy pc "$hq"
pc=$endpoint
proxy_ctl pc blackhole
stats pc
[ "$mode" = blackhole ] || fail "proxy pc is in mode $mode, not blackhole"
config h1 $hb_b $pt_b agent "    hub = hq@$hq"
start_agent h1
config edge $hb_b $pt_b hub "    bind = tcp://127.0.0.1:*" "    uplink = hq@$pc"
start_hub edge
edge=$endpoint
start_agents e "$edge_agents" "edge@$edge" $hb_b $pt_b
wait_tenths=300
wait_for all_online e1 e "$edge_agents" || fail "e1 does not see e1..e$edge_agents online after 30 s"
wait_for all_online h1 h 1 || fail "h1 is not online after 30 s"
wait_tenths=100
none_online h1 e || fail "h1 sees edge's agents through a blackholed link"
echo
echo "== mesh B: h1 -> hq ($hq) <- proxy pc <- edge ($edge) <- e1..e$edge_agents; heartbeat ${hb_b} s, peer_timeout ${pt_b} s"
sleep 1
convs=
round=1
while [ $round -le "$rounds" ]; do
    if [ $round -gt 1 ]; then
        downs=$(grep -c 'link to hub hq down' "$dir/edge.log")
        proxy_ctl pc blackhole
        wait_tenths=150
        wait_for none_online h1 e || fail "h1 still sees edge's agents 15 s after blackholing the link"
        wait_for edge_downs_above "$downs" ||
            fail "edge does not take hq for gone 15 s after blackholing the link"
        wait_tenths=100
        sleep 1                     #  edge redials into the blackhole
    fi
    passed=$(now_ms)
    proxy_ctl pc pass
    until all_online h1 e "$edge_agents"; do
        [ $(($(now_ms) - passed)) -gt 15000 ] &&
            fail "h1 sees $(online_count h1 e) of edge's $edge_agents agents 15 s after the link came back"
        sleep 0.01
    done
    seen=$(now_ms)
    conv=$((seen - passed))
    hq_saw=$(log_ms 'hub edge is online' "$dir/hq.log")
    edge_up=$(log_ms 'connected to hub hq' "$dir/edge.log")
    printf '  round %d: converged %5d ms = hq hears edge %4d + edge uplink up %4d + h1 sees all %4d (ms)\n' \
        "$round" "$conv" "$((hq_saw - passed))" "$((edge_up - hq_saw))" "$((seen - edge_up))"
    convs="$convs $conv"
    round=$((round + 1))
done
#  What the link costs when idle at these settings.
idle_rate pc
echo "  idle traffic over the link hq <- edge: up $(calc "$idle_up * 1000") bytes/s, down $(calc "$idle_down * 1000") bytes/s (heartbeat $hb_b s: $(calc "($idle_up + $idle_down) * 1000 * $hb_b") bytes per heartbeat, both ways)"
printf '%s\n' $convs | sort -n | awk -v m="$edge_agents" -v hb="$hb_b" -v pt="$pt_b" '
    { v[NR] = $1 }
    END { p50 = v[int((NR + 1) / 2)]; printf "convergence_ms         p50=%d max=%d min=%d n=%d (%d nodes behind edge; from the proxy passing the link again to h1 seeing all online, polled every 10 ms; heartbeat %s s, peer_timeout %s s) (target <= 1000 ms: %s)\n", p50, v[NR], v[1], NR, m, hb, pt, v[NR] <= 1000? "met": "not met" }'
exit 0
