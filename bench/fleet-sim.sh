#!/bin/sh
#  bench/fleet-sim.sh BUILD_DIR [N...] — issue 14's fleet figures, with
#  the node simulator (tests/zc-sim, doc/zc-sim.md) holding N nodes:
#  the figures bench/fleet.sh cannot measure with real agents. By
#  default N is 1000 and 10000; bench/fleet.sh runs it last.
#
#  For each N, in a throwaway directory under /tmp, with keys for hub1,
#  hub2, n1, n2 and the N nodes in one keys directory:
#    bare        the baseline: bench/bench-conns, a bare libzmq ROUTER
#                with CURVE (the hub's options as far as they matter for
#                memory) and N DEALERs with their own keys, one message
#                each: the ROUTER's RSS and private dirty memory per peer.
#    join        hub1 on tcp://127.0.0.1:*, the origin agent n1 on it,
#                then the simulators (one per ZCNC_BENCH_SIM_SPLIT nodes:
#                each needs two descriptors per node):
#                how long until each says "up N of N".
#    memory      10 s after that, hub1's RSS and private dirty memory
#                (/proc/PID/smaps_rollup) less its own with only n1, per
#                node, beside the bare ROUTER's; hub1's CPU over 10 s idle.
#    fan-out     from n1, ZCNC_BENCH_SIM_RUNS (3) times each, `zcnc
#                trigger --json ALL:true` (answered by the simulator
#                without a process) and `zcnc send -w` of a broadcast
#                `ping`: wall time of the command (the median), every
#                node's result in and done. A simulated node commits
#                nothing to a store (a real agent's LMDB commit, fsync'd,
#                comes before its ACK) and, but in the fork run, forks
#                nothing: the broadcast times lack both on each node's
#                side (doc/zc-sim.md, "What it skips"); the join, the
#                hub's memory and CPU and the storm are not affected.
#    uplink      the same from n2, on hub2 whose uplink is hub1.
#    fork        for N = ZCNC_BENCH_SIM_FORK (1000) only: a simulator run
#                with --fork (real /bin/sh -c true on each node) and
#                `trigger ALL:true`, beside N spawns one after another
#                (bench-latency's local_spawn_sh_true p50 x N, measured
#                with n1 as its target).
#    storm       for the largest N only: hub1 killed (SIGKILL) and started
#                again on the same endpoint; how long until every node is
#                welcomed again, and until a broadcast ping from n1 has
#                every result; the new hub's peak RSS (VmHWM) beside its
#                RSS 10 s later; the bytes it sent until all were up,
#                and per node beside the bare ROUTER's CURVE handshake
#                (tcp_info's bytes_sent through ss; /proc/PID/io's wchar,
#                also shown, counts write()s, its logs, not libzmq's
#                send()s). What one node received in that window (the
#                simulators' counts start again on SIGUSR2, sent between
#                the kill and the restart): the most and the median over
#                the nodes, of the messages libzmq handed each node (the
#                sizes of their frames, after CURVE: libzmq hides what
#                each socket read); and the most and the median each
#                simulated node's TCP connection to hub1 read (tcp_info's
#                bytes_received through ss: with the CURVE handshake,
#                framing and libzmq's PINGs).
#  Prints every figure as it comes, then the table: figure, value,
#  baseline, ratio, issue 14's target, met (as bench/fleet.sh's; with
#  ZCNC_BENCH_SIM_ROWS=FILE the rows also go to FILE, which fleet.sh
#  puts in its own table). Stops exactly the processes it started and
#  removes its directory.
#
#    traffic     for the smallest N only: the bare ROUTER again after
#                ZCNC_BENCH_SIM_ROUNDS (300) round trips per peer, and
#                hub1 after as many broadcast pings from n1: libzmq's
#                memory per connection grows with the messages that went
#                through it.
#  Environment: ZCNC_BENCH_SIM_N (the N list when none is given, default
#  "1000 10000"), ZCNC_BENCH_SIM_RUNS (3), ZCNC_BENCH_SIM_FORK (1000; 0:
#  no fork run), ZCNC_BENCH_SIM_SPLIT (nodes per simulator process, 5000:
#  two descriptors each under the hard RLIMIT_NOFILE, 20,000 here; the
#  hub needs one per node), ZCNC_BENCH_SIM_ROWS. Exit status: 0 once the table is printed; 1 when the mesh did not
#  come up or a broadcast missed results (the table is printed still);
#  2 on a usage error.

set -u
build=${1:-}
[ $# -gt 0 ] && shift
sizes=${*:-${ZCNC_BENCH_SIM_N:-1000 10000}}
runs=${ZCNC_BENCH_SIM_RUNS:-3}
fork_n=${ZCNC_BENCH_SIM_FORK:-1000}
rows_file=${ZCNC_BENCH_SIM_ROWS:-}
split=${ZCNC_BENCH_SIM_SPLIT:-5000}
usage () {
    echo "usage: sh bench/fleet-sim.sh BUILD_DIR [N...] (with zcnc, tests/zc-sim and bench/bench-conns built: make bench)" >&2
    exit 2
}
[ -n "$build" ] || usage
for program in zcnc tests/zc-sim bench/bench-conns; do
    [ -x "$build/$program" ] || usage
done
for n in $sizes $split; do
    case $n in ''|*[!0-9]*) usage ;; esac
    [ "$n" -ge 1 ] || usage
done
build=$(cd "$build" && pwd)
zcnc=$build/zcnc
sim=$build/tests/zc-sim
conns=$build/bench/bench-conns
latency=$build/bench/bench-latency
dir=$(mktemp -d /tmp/zcnc-fleet-sim.XXXXXX) || exit 1
pids= d=$dir
. "$(dirname "$0")/lib.sh"
ulimit -n "$(ulimit -H -n)" 2>/dev/null
largest=$(printf '%s\n' $sizes | sort -n | tail -n 1)
smallest=$(printf '%s\n' $sizes | sort -n | head -n 1)
rounds=${ZCNC_BENCH_SIM_ROUNDS:-300}
status=0

#  The logs of the current N ($d), then the table so far, and exit 1.
fail () {
    echo "bench: $*" >&2
    for log in "$d"/*.log; do
        [ -f "$log" ] || continue
        echo "--- $log" >&2
        tail -n 20 "$log" >&2
    done
    status=1
    finish
}

now_ms () {
    date +%s%3N
}
#  alive PID NAME: fails unless the process is still there.
alive () {
    kill -0 "$1" 2>/dev/null || fail "$2 (pid $1) has exited"
}
#  "RSS PRIVATE_DIRTY" of PID, in kB.
memory_of () {
    awk '/^Rss:/ { rss = $2 } /^Private_Dirty:/ { dirty = $2 } END { print rss, dirty }' "/proc/$1/smaps_rollup"
}
#  The value of "KEY": in the JSON object LINE (numbers only).
field () {
    printf '%s\n' "$2" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"
}
#  (A - B) / N with 1 decimal.
per () {
    awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (a - b) / n }'
}

#  "SENT RECEIVED": bytes over the TCP connections accepted on PORT,
#  summed (tcp_info through ss: /proc/PID/io's wchar does not count
#  libzmq's send()s, only write()s such as logs).
tcp_bytes () {
    ss -tinH state established "( sport = :$1 )" |
        awk '{ for (i = 1; i <= NF; i++) { if ($i ~ /^bytes_sent:/) { sub (/.*:/, "", $i); sent += $i }
                                            if ($i ~ /^bytes_received:/) { sub (/.*:/, "", $i); received += $i } } }
             END { print sent + 0, received + 0 }'
}

#  start_hub NAME BIND [UPLINK]: hub NAME (its log appended to), bound to
#  BIND, with an uplink when given; sets hub_pid and hub_endpoint.
#  1 when it exited or wrote no endpoints within 10 s.
start_hub () {
    {
        printf 'zcnc\n    name = %s\n    keys = %s/keys\n    data = %s/%s\n' "$1" "$d" "$d" "$1"
        printf 'hub\n    bind = %s\n' "$2"
        [ -n "${3:-}" ] && printf '    uplink = %s\n' "$3"
    } >"$d/$1.cfg"
    rm -f "$d/$1/endpoints"
    "$zcnc" hub -c "$d/$1.cfg" 2>>"$d/$1.log" &
    hub_pid=$!
    pids="$pids $hub_pid"
    hub_started () {
        test -s "$d/$1/endpoints" || ! kill -0 "$hub_pid"
    }
    wait_for hub_started "$1"
    if ! kill -0 "$hub_pid" 2>/dev/null || ! test -s "$d/$1/endpoints"; then
        stop_one "$hub_pid"
        return 1
    fi
    hub_endpoint=$(head -n 1 "$d/$1/endpoints")
}

#  start_agent NAME HUB ENDPOINT: an origin agent (heartbeat 0.5 s,
#  peer_timeout 3 s) of HUB; sets agent_pid; fails when it is not
#  connected within 10 s.
start_agent () {
    printf 'zcnc\n    name = %s\n    keys = %s/keys\n    data = %s/%s\n    heartbeat = 0.5\n    peer_timeout = 3\nagent\n    hub = %s@%s\n' \
        "$1" "$d" "$d" "$1" "$2" "$3" >"$d/$1.cfg"
    "$zcnc" agent -c "$d/$1.cfg" 2>"$d/$1.log" &
    agent_pid=$!
    pids="$pids $agent_pid"
    wait_for connected "$1" || fail "agent $1 is not connected to $2 after 10 s"
}
connected () {
    "$zcnc" status -c "$d/$1.cfg" --json | grep -q '"connected":true'
}

#  start_sims [OPTION...]: $n nodes against hub1 at $endpoint, in
#  $sim_count simulators; sets sim_pids, and writes $d/simK.out (stdout)
#  and $d/simK.log.
start_sims () {
    sim_pids= first=1
    k=1
    while [ $k -le $sim_count ]; do
        count=$((n / sim_count))
        [ $k -eq $sim_count ] && count=$((n - first + 1))
        "$sim" run --keys "$d/keys" --hub "hub1@$endpoint" --prefix sim --first $first --count $count \
            --json --received-file "$d/sim$k.received" "$@" >"$d/sim$k.out" 2>"$d/sim$k.log" &
        sim_pids="$sim_pids $!"
        pids="$pids $!"
        first=$((first + count))
        k=$((k + 1))
    done
}
#  Waits up to SECS for every simulator's "up N of N" line; prints them
#  and the wall time since START_MS. 1 when one is missing or short.
wait_sims_up () {
    limit=$(($(now_ms) + $1 * 1000))
    while :; do
        all=1
        k=1
        while [ $k -le $sim_count ]; do
            grep -q '^up ' "$d/sim$k.out" || all=0
            k=$((k + 1))
        done
        [ $all = 1 ] && break
        [ "$(now_ms)" -ge $limit ] && break
        sleep 0.1
    done
    join_ms=$(($(now_ms) - $2))
    k=1 ok=0
    while [ $k -le $sim_count ]; do
        line=$(grep '^up ' "$d/sim$k.out" || echo "sim$k: not up after $1 s")
        echo "  sim$k: $line"
        printf '%s\n' "$line" | awk '$1 == "up" && $2 == $4 && !/could not start/ { exit 0 } { exit 1 }' || ok=1
        k=$((k + 1))
    done
    return $ok
}
#  The last JSON status line of simulator K, after a SIGUSR1 (waits up
#  to 2 s for it).
sim_status () {
    pid=$(echo $sim_pids | cut -d ' ' -f "$1")
    lines=$(wc -l <"$d/sim$1.out")
    kill -USR1 "$pid" 2>/dev/null
    tries=0
    while [ "$(wc -l <"$d/sim$1.out")" -le "$lines" ] && [ $tries -lt 20 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
    grep '^{' "$d/sim$1.out" | tail -n 1
}
#  sims_sum FIELD...: the sum of each FIELD over every simulator's
#  status now, on one line.
sims_sum () {
    k=1 lines=
    while [ $k -le $sim_count ]; do
        lines="$lines$(sim_status $k)
"
        k=$((k + 1))
    done
    for name in "$@"; do
        printf '%s' "$lines" | sed -n "s/.*\"$name\":\([0-9]*\).*/\1/p" | awk '{ s += $1 } END { printf "%d ", s }'
    done
    echo
}

#  received_restart: every simulator's received counts start again
#  (SIGUSR2); waits up to 5 s for each to say so in its log.
received_restart () {
    k=1
    for pid in $sim_pids; do
        said=$(grep -c 'received counts start again' "$d/sim$k.log")
        kill -USR2 "$pid" 2>/dev/null
        wait_tenths=50
        wait_for restarted "$d/sim$k.log" "$said" ||
            echo "bench: simulator $k (pid $pid) did not start its received counts again" >&2
        unset wait_tenths
        k=$((k + 1))
    done
}
#  restarted LOG BEFORE: LOG says more than BEFORE times that the counts
#  started again.
restarted () {
    [ "$(grep -c 'received counts start again' "$1")" -gt "$2" ]
}
#  "COUNT MAX MEDIAN TOTAL MAX_NAME" over the values read on stdin, one
#  per line as NAME VALUE (the lower middle one for an even count).
spread () {
    sort -k 2,2n | awk '{ name [NR] = $1; v [NR] = $2; total += $2 }
        END { if (NR == 0) print 0, "-", "-", 0, "-"; else print NR, v [NR], v [int ((NR + 1) / 2)], total, name [NR] }'
}
#  "NAME BYTES" per simulated node: what its TCP connection to PORT has
#  read (tcp_info's bytes_received, through ss; the simulators' sockets
#  only, by their process name).
tcp_received_per_node () {
    ss -tinpH state established "( dport = :$1 )" |
        awk '/users:\(\(/ { ours = index ($0, "\"zc-sim\"") > 0; connection = $4; next }
             ours { received = 0
                    for (i = 1; i <= NF; i++) if ($i ~ /^bytes_received:/) { sub (/.*:/, "", $i); received = $i }
                    print connection, received; ours = 0 }'
}

#  wait_directory AGENT COUNT: waits up to 30 s for AGENT's node
#  directory to hold COUNT nodes online. An agent subscribes to the
#  directory when a client first needs it (`zcnc nodes`, a broadcast) and
#  holds that request until it is in: without this, the first broadcast
#  would measure the directory's transfer too.
wait_directory () {
    online=0 tries=0
    while [ $tries -lt 60 ]; do
        online=$("$zcnc" nodes -c "$d/$1.cfg" --json 2>/dev/null | grep -o '"online":true' | wc -l)
        [ "$online" -ge "$2" ] && return 0
        tries=$((tries + 1))
        sleep 0.5
    done
    fail "$1's node directory holds $online nodes online of $2 after 30 s"
}

#  broadcast LABEL AGENT WANT trigger|ping: one broadcast from AGENT,
#  every one of WANT results in and done; prints its line and sets
#  wall_ms. 1 when results are missing.
broadcast () {
    out=$d/$1.$(now_ms).out
    start=$(now_ms)
    if [ "$4" = trigger ]; then
        "$zcnc" trigger -c "$d/$2.cfg" -t 120 --json ALL:true >"$out" 2>"$out.err"
    else
        echo '{"to":"ALL","method":"ping"}' | "$zcnc" send -c "$d/$2.cfg" -w -t 120 - >"$out" 2>"$out.err"
    fi
    rc=$?
    wall_ms=$(($(now_ms) - start))
    results=$(grep -c '"node":' "$out")
    done=$(grep -c '"state":"done"' "$out")
    echo "  $1: $wall_ms ms, exit $rc, $results results of $3, $done done"
    [ "$results" -eq "$3" ] && [ "$done" -eq "$3" ] && return 0
    echo "bench: $1 from $2: $results results, $done done, of $3 (exit $rc; $(head -c 300 "$out.err"))" >&2
    status=1
    return 1
}
#  fan_out LABEL AGENT WANT trigger|ping: $runs broadcasts, 2 s apart;
#  sets median_ms (with "!" appended when one missed results).
fan_out () {
    times= missed=
    i=1
    while [ $i -le "$runs" ]; do
        broadcast "$1 #$i" "$2" "$3" "$4" || missed='!'
        times="$times $wall_ms"
        i=$((i + 1))
        [ $i -le "$runs" ] && sleep 2
    done
    median_ms=$(median $times)$missed
    echo "$1 median of $runs: $median_ms ms"
}

#  row FIGURE VALUE BASELINE RATIO TARGET MET
table=$dir/table
printf '%s\t%s\t%s\t%s\t%s\t%s\n' figure value baseline ratio "target (issue 14)" met >"$table"
row () {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$table"
}
#  ratio A B: A / B with 2 decimals, or "-".
ratio () {
    case "${1:-}${2:-}" in *[!0-9.]*|'') echo -; return ;; esac
    [ -n "${1:-}" ] && [ -n "${2:-}" ] || { echo -; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'
}
#  met VALUE LIMIT: "yes" when VALUE <= LIMIT, "no", or "-".
met () {
    case "${1:-}" in ''|-|*[!0-9.]*) echo -; return ;; esac
    awk -v v="$1" -v limit="$2" 'BEGIN { print v <= limit ? "yes" : "no" }'
}

#  Prints the table (and writes its rows to $rows_file) and exits.
finish () {
    echo
    echo "== fleet with simulated nodes (issue 14): the table"
    awk -F '\t' '{ for (i = 1; i <= NF; i++) if (length ($i) > w [i]) w [i] = length ($i); line [NR] = $0 }
        END { for (n = 1; n <= NR; n++) { k = split (line [n], f, "\t"); out = "";
              for (i = 1; i <= k; i++) out = out sprintf ("%-" w [i] "s  ", f [i]); sub (/ +$/, "", out); print out } }' "$table"
    [ -n "$rows_file" ] && tail -n +2 "$table" >"$rows_file"
    exit $status
}

echo "zcnc fleet with simulated nodes (issue 14): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "source tree: commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown) (BUILD_DIR may be older)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), load $(cut -d ' ' -f 1-3 /proc/loadavg), RLIMIT_NOFILE $(ulimit -n)"
echo "N: $sizes; $runs runs per broadcast figure"

for n in $sizes; do
    d=$dir/$n
    sim_count=$(((n + split - 1) / split))     #  processes, for the nodes and the DEALERs
    mkdir -p "$d/keys"
    echo
    echo "== $n nodes"
    for name in hub1 hub2; do
        "$zcnc" keygen --hub "$name" -d "$d/keys" >/dev/null || fail "zcnc keygen --hub $name failed"
    done
    for name in n1 n2; do
        "$zcnc" keygen "$name" -d "$d/keys" >/dev/null || fail "zcnc keygen $name failed"
    done
    "$sim" keygen --keys "$d/keys" --prefix sim --count "$n" >/dev/null || fail "zc-sim keygen failed"

    #  The baseline first, alone on the machine.
    "$conns" router "$n" >"$d/bare.out" 2>"$d/bare.log" &
    bare_pid=$!
    pids="$pids $bare_pid"
    wait_for grep -q '^server_key ' "$d/bare.out" || fail "bench-conns router did not start"
    sleep 1
    alive $bare_pid "bench-conns router"
    set -- $(memory_of $bare_pid)
    bare_rss0=$1 bare_dirty0=$2
    bare_endpoint=$(sed -n 's/^endpoint //p' "$d/bare.out")
    bare_key=$(sed -n 's/^server_key //p' "$d/bare.out")
    dealer_pids= k=1
    while [ $k -le $sim_count ]; do
        count=$((n / sim_count))
        [ $k -eq $sim_count ] && count=$((n - (sim_count - 1) * (n / sim_count)))
        "$conns" dealers "$bare_endpoint" "$bare_key" "$count" >/dev/null 2>>"$d/bare-dealers.log" &
        dealer_pids="$dealer_pids $!"
        pids="$pids $!"
        k=$((k + 1))
    done
    wait_tenths=1200
    wait_for grep -q '^received ' "$d/bare.out" ||
        fail "the bare ROUTER did not get a message from each of $n DEALERs in 120 s"
    unset wait_tenths
    sleep 5
    alive $bare_pid "bench-conns router"
    set -- $(tcp_bytes "${bare_endpoint##*:}")
    bare_sent=$(($1 / n))
    set -- $(memory_of $bare_pid)
    bare_rss=$(per "$1" "$bare_rss0" "$n") bare_dirty=$(per "$2" "$bare_dirty0" "$n")
    echo "bare ROUTER with CURVE, $n peers: $(sed -n 's/^received //p' "$d/bare.out"); rss ${1} kB (${bare_rss0} empty), private dirty ${2} kB (${bare_dirty0} empty): per peer rss ${bare_rss} kB, private ${bare_dirty} kB; $bare_sent bytes sent per peer (the CURVE handshake)"
    for pid in $dealer_pids; do
        stop_one "$pid"
    done
    if [ "$n" = "$smallest" ] && [ "$rounds" -gt 0 ]; then
        #  libzmq's memory per connection grows with the messages that
        #  went through it (its pipes' 16 KB chunks are touched as they
        #  fill, and a spare is kept): the same after $rounds round trips.
        "$conns" dealers "$bare_endpoint" "$bare_key" "$n" "$rounds" >"$d/bare-rounds.out" 2>>"$d/bare-dealers.log" &
        rounds_pid=$!
        pids="$pids $rounds_pid"
        wait_tenths=3000
        wait_for grep -q '^rounds ' "$d/bare-rounds.out" ||
            fail "$n DEALERs did not finish $rounds round trips each with the bare ROUTER in 300 s"
        unset wait_tenths
        sleep 2
        set -- $(memory_of $bare_pid)
        bare_rss_busy=$(per "$1" "$bare_rss0" "$n") bare_dirty_busy=$(per "$2" "$bare_dirty0" "$n")
        echo "bare ROUTER with CURVE, $n peers after $rounds round trips each: per peer rss ${bare_rss_busy} kB, private ${bare_dirty_busy} kB"
        stop_one "$rounds_pid"
    fi
    stop_one "$bare_pid"

    start_hub hub1 'tcp://127.0.0.1:*' || fail "hub1 did not start"
    hub1_pid=$hub_pid endpoint=$hub_endpoint
    start_agent n1 hub1 "$endpoint"
    sleep 1
    alive $hub1_pid hub1
    set -- $(memory_of $hub1_pid)
    hub_rss0=$1 hub_dirty0=$2
    echo "hub1 with n1: rss $hub_rss0 kB, private dirty $hub_dirty0 kB ($endpoint)"

    echo "join: $n nodes dial hub1 (each simulator dials at most 500 a second, its --rate: a bound on this figure)"
    start=$(now_ms)
    start_sims
    wait_sims_up 300 "$start" || fail "the $n simulated nodes were not all up in 300 s"
    join_s=$(calc "$join_ms / 1000")
    echo "join: all $n up in $join_s s (wall, from the simulators' start)"
    row "$n nodes: join (s)" "$join_s" "" "" "" ""

    sleep 10
    alive $hub1_pid hub1
    set -- $(memory_of $hub1_pid)
    hub_rss=$(per "$1" "$hub_rss0" "$n") hub_dirty=$(per "$2" "$hub_dirty0" "$n")
    echo "memory: hub1 rss $1 kB, private dirty $2 kB: per node rss $hub_rss kB, private $hub_dirty kB (bare ROUTER: $bare_rss, $bare_dirty)"
    for pid in $sim_pids; do
        echo "  simulator $pid: rss/private dirty $(memory_of "$pid") kB"
    done
    cpu0=$(cpu_ms $hub1_pid)
    sleep 10
    hub_cpu=$(calc "($(cpu_ms $hub1_pid) - $cpu0) / 100")      #  ms in 10 s, as %
    echo "idle: hub1 CPU $hub_cpu % over 10 s"
    row "$n nodes: hub RSS per node (kB)" "$hub_rss" "bare ROUTER, CURVE $bare_rss" "$(ratio "$hub_rss" "$bare_rss")" "<= 30 KB" "$(met "$hub_rss" 30)"
    row "$n nodes: hub private per node (kB)" "$hub_dirty" "bare ROUTER, CURVE $bare_dirty" "$(ratio "$hub_dirty" "$bare_dirty")" "" ""
    row "$n nodes: idle hub CPU (%)" "$hub_cpu" "" "" "" ""

    echo "fan-out from n1 (hub1)"
    echo "  (simulated nodes commit nothing to LMDB before their ACK and, but in the fork run, fork nothing: the trigger and ping times lack both on the nodes' side; join, hub memory and CPU and the storm are not affected)"
    wait_directory n1 $((n + 1))
    fan_out "trigger ALL:true from n1" n1 $((n + 1)) trigger
    trigger1=$median_ms
    fan_out "ping ALL from n1" n1 $((n + 1)) ping
    ping1=$median_ms
    row "$n nodes: trigger ALL:true (ms)" "$trigger1" "" "" "" ""
    row "$n nodes: broadcast ping (ms)" "$ping1" "" "" "<= 1 s" "$(met "$ping1" 1000)"

    if [ "$n" = "$smallest" ] && [ "$rounds" -gt 0 ]; then
        #  Each broadcast ping is a REQ, a REPLY and an ACK through each
        #  node's connection: the hub after as many as the bare ROUTER's
        #  round trips.
        echo "memory after traffic: $rounds broadcast pings from n1"
        i=1
        while [ $i -le "$rounds" ]; do
            echo '{"to":"ALL","method":"ping"}' | "$zcnc" send -c "$d/n1.cfg" -w -t 120 - >/dev/null 2>>"$d/rounds.err" ||
                fail "broadcast $i of $rounds from n1 failed: $(tail -n 1 "$d/rounds.err")"
            i=$((i + 1))
        done
        sleep 2
        alive $hub1_pid hub1
        set -- $(memory_of $hub1_pid)
        hub_rss_busy=$(per "$1" "$hub_rss0" "$n") hub_dirty_busy=$(per "$2" "$hub_dirty0" "$n")
        echo "memory: hub1 after $rounds broadcasts: per node rss $hub_rss_busy kB, private $hub_dirty_busy kB (bare ROUTER after $rounds round trips: $bare_rss_busy, $bare_dirty_busy)"
        row "$n nodes: hub RSS per node after $rounds broadcasts (kB)" "$hub_rss_busy" "bare, $rounds round trips $bare_rss_busy" "$(ratio "$hub_rss_busy" "$bare_rss_busy")" "<= 30 KB" "$(met "$hub_rss_busy" 30)"
    fi

    echo "fan-out from n2, on hub2 one uplink away"
    start_hub hub2 'tcp://127.0.0.1:*' "hub1@$endpoint" || fail "hub2 did not start"
    hub2_endpoint=$hub_endpoint
    start_agent n2 hub2 "$hub2_endpoint"
    wait_directory n2 $((n + 2))
    fan_out "trigger ALL:true from n2" n2 $((n + 2)) trigger
    trigger2=$median_ms
    fan_out "ping ALL from n2" n2 $((n + 2)) ping
    ping2=$median_ms
    row "$n nodes: trigger ALL:true via uplink (ms)" "$trigger2" "from hub1 $trigger1" "$(ratio "$trigger2" "$trigger1")" "" ""
    row "$n nodes: broadcast ping via uplink (ms)" "$ping2" "from hub1 $ping1" "$(ratio "$ping2" "$ping1")" "" ""

    if [ "$n" = "$largest" ]; then
        echo "reconnect storm: hub1 killed and started again on $endpoint"
        k=1
        while [ $k -le $sim_count ]; do
            line=$(sim_status $k)
            echo "  before: sim$k up $(field up "$line"), welcomed $(field welcomed "$line"), downs $(field downs "$line"), errors $(field errors "$line")"
            k=$((k + 1))
        done
        welcomed0=$(sims_sum welcomed)
        welcomed0=${welcomed0% }
        echo "  before: hub1 wrote $(awk '/^wchar/ { print $2 }' /proc/$hub1_pid/io) bytes with write() (wchar)"
        kill -9 $hub1_pid
        wait $hub1_pid 2>/dev/null
        forget $hub1_pid
        #  Nothing reaches the nodes until the new hub is up: what they
        #  receive from here on is the storm's.
        received_restart
        restart=$(now_ms)
        until start_hub hub1 "$endpoint"; do
            [ $(($(now_ms) - restart)) -lt 5000 ] || fail "hub1 could not bind $endpoint again in 5 s"
            sleep 0.2
        done
        hub1_pid=$hub_pid
        all_up () {
            set -- $(sims_sum up welcomed)
            up=$1 welcomed=$2
            [ "$up" -eq "$n" ] && [ $((welcomed - welcomed0)) -ge "$n" ]
        }
        limit=$((restart + 120000)) storm_up=no
        while [ "$(now_ms)" -lt $limit ]; do
            all_up && { storm_up=yes; break; }
            sleep 0.5
        done
        up_ms=$(($(now_ms) - restart))
        wchar=$(awk '/^wchar/ { print $2 }' /proc/$hub1_pid/io)
        set -- $(tcp_bytes "${endpoint##*:}")
        storm_sent=$1 storm_received=$2
        set -- $(tcp_received_per_node "${endpoint##*:}" | spread)
        wire_nodes=$1 wire_max=$2 wire_median=$3
        #  The simulators wrote their files with the statuses all_up
        #  asked for last.
        set -- $(cat "$d"/sim*.received | spread)
        rx_nodes=$1 rx_max=$2 rx_median=$3 rx_total=$4 rx_name=$5
        rx_average=$((rx_total / (rx_nodes > 0 ? rx_nodes : 1)))
        echo "  all up again: $up_ms ms after the restart ($up up, $((welcomed - welcomed0)) welcomed since)"
        echo "  the new hub until then: sent $storm_sent bytes, received $storm_received over its connections; wrote $wchar bytes with write() (wchar: its logs)"
        echo "  storm: most bytes one node received $rx_max ($rx_name), median $rx_median, average $rx_average over $rx_nodes nodes (the hub sent $((storm_sent / n)) per node): the messages libzmq handed each node, their frames' sizes after CURVE"
        echo "  storm: most bytes one node's connection read $wire_max, median $wire_median over $wire_nodes connections (tcp_info's bytes_received: with the CURVE handshake and the framing; the bare ROUTER sent $bare_sent per peer, its handshake and one echo)"
        up_s=$(calc "$up_ms / 1000")
        if [ $storm_up = no ]; then
            echo "bench: the nodes were not all up again 120 s after the restart" >&2
            status=1 up_s=-
        fi
        wait_for connected n1 || echo "bench: n1 is not connected to the new hub1 after 10 s" >&2
        ping_ok=
        broadcast "storm: ping ALL from n1" n1 $((n + 2)) ping || ping_ok='!'
        storm_ping=$(calc "($(now_ms) - $restart) / 1000")$ping_ok
        echo "  a broadcast ping from n1 had every result $storm_ping s after the restart"
        sleep 10
        alive $hub1_pid "the new hub1"
        steady=$(awk '/^VmRSS/ { print $2 }' /proc/$hub1_pid/status)
        peak=$(awk '/^VmHWM/ { print $2 }' /proc/$hub1_pid/status)
        echo "  the new hub: peak RSS $peak kB, RSS 10 s later $steady kB; $((storm_sent / n)) bytes sent per node until all were up"
        row "$n nodes: storm, all up again (s)" "$up_s" "" "" "<= 30 s" "$(met "$up_s" 30)"
        row "$n nodes: storm, broadcast ping all in (s)" "$storm_ping" "" "" "" ""
        r=$(ratio "$peak" "$steady")
        row "$n nodes: storm, new hub peak RSS (kB)" "$peak" "10 s later $steady" "$r" "< 2 x" "$(awk -v r="$r" 'BEGIN { print r == "-" ? "-" : r < 2 ? "yes" : "no" }')"
        row "$n nodes: storm, bytes hub sent until up" "$storm_sent" "" "" "" ""
        row "$n nodes: storm, bytes sent per node" "$((storm_sent / n))" "bare CURVE handshake $bare_sent" "$(ratio $((storm_sent / n)) "$bare_sent")" "" ""
        row "$n nodes: storm, most bytes one node received (messages)" "$rx_max" "median $rx_median, average $rx_average" "$(ratio "$rx_max" "$rx_median")" "a few KB (<= 4096)" "$(met "$rx_max" 4096)"
        row "$n nodes: storm, most bytes one node's TCP read" "$wire_max" "median $wire_median" "$(ratio "$wire_max" "$wire_median")" "a few KB (<= 4096)" "$(met "$wire_max" 4096)"
        row "$n nodes: storm, hub wchar until up (logs)" "$wchar" "" "" "" ""
    fi

    if [ "$n" = "$fork_n" ]; then
        echo "fork: $n nodes that run /bin/sh -c true for real"
        for pid in $sim_pids; do
            stop_one "$pid"
        done
        start=$(now_ms)
        start_sims --fork
        wait_sims_up 300 "$start" || fail "the $n forking nodes were not all up in 300 s"
        forked0=$(sims_sum forked)
        forked0=${forked0% }
        fan_out "trigger ALL:true, forking nodes, from n1" n1 $((n + 2)) trigger
        forkt=$median_ms
        forked=$(sims_sum forked)
        echo "  commands forked by the simulator(s): $((${forked% } - forked0))"
        spawn=
        if [ -x "$latency" ]; then
            "$latency" --socket "$d/n1/zcnc.sock" --node n1 --count 200 >"$d/latency.out" 2>"$d/latency.log"
            spawn=$(awk '$1 == "local_spawn_sh_true" { sub (/^p50=/, "", $2); sub (/ms$/, "", $2); print $2 }' "$d/latency.out")
        fi
        if [ -n "$spawn" ]; then
            spawns=$(calc "$spawn * $n")
            echo "  $n posix_spawn of /bin/sh -c true one after another: $spawns ms ($spawn ms each, bench-latency p50 of 200)"
            row "$n nodes: trigger ALL:true, --fork (ms)" "$forkt" "$n spawns in a row $spawns" "$(ratio "$forkt" "$spawns")" "" ""
        else
            echo "  no spawn baseline (bench/bench-latency not built, or it failed: $d/latency.log)"
            row "$n nodes: trigger ALL:true, --fork (ms)" "$forkt" "- (no bench-latency)" "" "" ""
        fi
    fi

    #  What went wrong, as the logs say (bench-conns logs only problems).
    for log in "$d"/*.log; do
        lines=$(grep -c -E '\] (warn|error): |^bench-conns' "$log")
        [ "$lines" -gt 0 ] || continue
        echo "  $(basename "$log"): $lines warnings or errors, first: $(grep -m 1 -E '\] (warn|error): |^bench-conns' "$log" | cut -c 1-240)"
    done
    stop_all
    rm -rf "$d"
done

finish
