#!/bin/sh
#  bench/fleet.sh BUILD_DIR — issue 14's figures and their baselines,
#  measured side by side in one run, printed as one table (`make bench`).
#
#  Sets up a throwaway mesh under /tmp: one hub on tcp://127.0.0.1:*,
#  agents n1 (the origin, its socket the client's) and n2 (the target),
#  CURVE on every link and end-to-end sealing as always; and, where they
#  can run, nats-server plain and with TLS on 127.0.0.1 (bench/lib.sh).
#  Then, in this order:
#    latency     bench-latency from n1's socket to n2: `ping` and
#                `exec true` round trips (one at a time, persistent
#                connection) beside posix_spawn of /bin/sh -c true; whole
#                `zcnc trigger n2:true` processes beside bench-thin, a
#                process that sends the same request and reads the same
#                answer linking only jansson;
#                bench-reqrep: NATS request/reply round trips (plain, TLS)
#                and a bare DEALER -> ROUTER -> DEALER relay with CURVE.
#    relay       answers per second with up to ZCNC_BENCH_WINDOW (100)
#                unanswered: zcnc `ping` through the hub (bench-reqrep
#                zcnc-throughput), the bare relay with CURVE, NATS
#                request/reply with TLS.
#    durable     durable exec jobs, e2e on, pipelined on one connection
#                (bench-throughput --stream: issue 3's figure).
#    memory      an idle agent (n3, started for it, 5 s after it is up):
#                RSS and private memory (/proc/PID/smaps_rollup); the hub
#                with its 3 agents.
#    fleet       with everything above stopped, bench/fleet-sim.sh: the
#                node simulator (tests/zc-sim) holds 1,000 and 10,000
#                nodes for the join, the hub's memory per node beside a
#                bare ROUTER with CURVE (bench/bench-conns), broadcasts
#                from an origin on the hub and one uplink away, exec
#                with real forks, the reconnect storm; its rows end this
#                table. Skipped with ZCNC_BENCH_SIM=0, or when tests/zc-sim
#                or bench/bench-conns is not built (the rows say so).
#  Prints the date, the commit, the machine, every figure as it comes,
#  and the table: figure, zcnc, baseline, ratio, issue 14's target, met.
#  Stops exactly the processes it started and removes its directory.
#
#  Environment: ZCNC_BENCH_COUNT (round trips per latency figure, default
#  1000), ZCNC_BENCH_RUNS (CLI processes, default 100), ZCNC_BENCH_RELAY
#  (requests per relay figure, default 20000), ZCNC_BENCH_WINDOW (100),
#  ZCNC_BENCH_JOBS (durable jobs, default 20000), ZCNC_BENCH_SIM (1; 0:
#  no simulated fleet) and fleet-sim.sh's own (ZCNC_BENCH_SIM_N, the
#  node counts, "1000 10000"; ZCNC_BENCH_SIM_RUNS, ZCNC_BENCH_SIM_FORK).
#  Exit status: 0 once the table is printed; 1 when the mesh did not come
#  up or a zcnc measurement failed (fleet-sim.sh's included); 2 on a
#  usage error.

set -u
build=${1:-}
count=${ZCNC_BENCH_COUNT:-1000}
runs=${ZCNC_BENCH_RUNS:-100}
relay_count=${ZCNC_BENCH_RELAY:-20000}
window=${ZCNC_BENCH_WINDOW:-100}
jobs=${ZCNC_BENCH_JOBS:-20000}
usage () {
    echo "usage: sh bench/fleet.sh BUILD_DIR (with zcnc and bench/bench-{latency,throughput,reqrep,thin} built: make bench)" >&2
    exit 2
}
[ -n "$build" ] || usage
for program in zcnc bench/bench-latency bench/bench-throughput bench/bench-reqrep bench/bench-thin; do
    [ -x "$build/$program" ] || usage
done
build=$(cd "$build" && pwd)
zcnc=$build/zcnc
reqrep=$build/bench/bench-reqrep
dir=$(mktemp -d /tmp/zcnc-fleet.XXXXXX) || exit 1
pids=
. "$(dirname "$0")/lib.sh"

mkdir "$dir/keys"
for name in n1 n2 n3; do
    "$zcnc" keygen "$name" -d "$dir/keys" >/dev/null || fail "zcnc keygen $name failed"
done
"$zcnc" keygen --hub hub1 -d "$dir/keys" >/dev/null || fail "zcnc keygen --hub failed"
start_hub1
start_agent n1
start_agent n2
n2_online () {
    "$zcnc" nodes -c "$dir/n1.cfg" --json | grep -q '"name":"n2","online":true'
}
wait_for n2_online || fail "n1 does not see n2 online after 10 s"
case " $("$reqrep" features) " in
    *" nats "*) start_nats_baselines ;;
    *) start_nats_baselines "bench-reqrep built without libnats (apt-get install libnats-dev, then make bench/bench-reqrep)" ;;
esac

echo "zcnc fleet benchmark (issue 14): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "source tree: commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown) (BUILD_DIR may be older)"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "mesh: n1 -> hub1 ($endpoint, CURVE) -> n2; baselines: ${nats_version:-no NATS ($nats_why)}${nats_tls_why:+; no NATS TLS ($nats_tls_why)}"
status=0
out=$dir/figures
: >"$out"

#  Runs a measuring command, prints and keeps its output.
measure () {
    "$@" >"$dir/last" 2>"$dir/last.err"
    rc=$?
    cat "$dir/last" "$dir/last.err"
    cat "$dir/last" >>"$out"
    return $rc
}
#  The value of KEY= on the line of FIGURE in the figures, in ms; or "".
p_of () {
    awk -v figure="$1" -v key="$2=" '$1 == figure { for (i = 2; i <= NF; i++) if (index ($i, key) == 1) {
        v = substr ($i, length (key) + 1); sub (/ms$/, "", v); print v; exit } }' "$out"
}
#  Answers (or jobs) per second of FIGURE.
rate_of () {
    awk -v figure="$1" '$1 == figure { print $2; exit }' "$out"
}

echo
echo "== latency: one request at a time"
measure "$build/bench/bench-latency" --socket "$dir/n1/zcnc.sock" --node n2 --count "$count" \
    --zcnc "$zcnc" --config "$dir/n1.cfg" --runs "$runs" --thin "$build/bench/bench-thin" ||
    { echo "bench: bench-latency failed" >&2; status=1; }
if [ -z "$nats_why" ]; then
    measure "$reqrep" nats-rtt --url "$nats_url" --count $((count * 5)) --label nats_rtt ||
        echo "bench: the NATS round trips failed" >&2
fi
if [ -z "$nats_tls_why" ]; then
    measure "$reqrep" nats-rtt --url "$nats_tls_url" --ca "$dir/tls.crt" --count $((count * 5)) --label nats_tls_rtt ||
        echo "bench: the NATS TLS round trips failed" >&2
fi
measure "$reqrep" zmq-rtt --count $((count * 5)) --label zmq_relay_rtt ||
    echo "bench: the bare relay's round trips failed" >&2

echo
echo "== relay: up to $window requests unanswered"
measure "$reqrep" zcnc-throughput --socket "$dir/n1/zcnc.sock" --node n2 --count "$relay_count" \
    --window "$window" --label zcnc_ping_relay || { echo "bench: the zcnc relay figure failed" >&2; status=1; }
measure "$reqrep" zmq-throughput --count "$relay_count" --window "$window" --label zmq_relay ||
    echo "bench: the bare relay's throughput failed" >&2
if [ -z "$nats_tls_why" ]; then
    measure "$reqrep" nats-throughput --url "$nats_tls_url" --ca "$dir/tls.crt" --count "$relay_count" \
        --window "$window" --label nats_tls_reqrep || echo "bench: the NATS TLS throughput failed" >&2
fi

echo
echo "== durable: exec jobs stored, sent, run and answered, pipelined"
measure "$build/bench/bench-throughput" --socket "$dir/n1/zcnc.sock" --node n2 --count 0 \
    --stream "$jobs" --lmdb-count 0 || { echo "bench: bench-throughput failed" >&2; status=1; }

echo
echo "== memory"
start_agent n3
n3_online () {
    "$zcnc" nodes -c "$dir/n1.cfg" --json | grep -q '"name":"n3","online":true'
}
wait_for n3_online || fail "n3 did not come online"
sleep 5
#  kB of RSS and private (clean + dirty) memory of PID.
memory_of () {
    awk '/^Rss:/ { rss = $2 } /^Private_(Clean|Dirty):/ { private += $2 } END { print rss, private }' \
        "/proc/$1/smaps_rollup"
}
set -- $(memory_of "$n3_pid")
agent_rss=$1 agent_private=$2
set -- $(memory_of "$hub_pid")
hub_rss=$1 hub_private=$2
echo "idle_agent                 rss=${agent_rss}kB private=${agent_private}kB"
echo "hub_with_3_agents          rss=${hub_rss}kB private=${hub_private}kB"

stop_one "$hub_pid"

#  The fleet of simulated nodes, alone on the machine: its own mesh.
sim_why=
if [ "${ZCNC_BENCH_SIM:-1}" = 0 ]; then
    sim_why="ZCNC_BENCH_SIM=0"
elif [ ! -x "$build/tests/zc-sim" ] || [ ! -x "$build/bench/bench-conns" ]; then
    sim_why="needs tests/zc-sim and bench/bench-conns: make tests/zc-sim bench/bench-conns"
else
    stop_all
    echo
    echo "== fleet: simulated nodes (bench/fleet-sim.sh)"
    ZCNC_BENCH_SIM_ROWS=$dir/sim-rows sh "$(dirname "$0")/fleet-sim.sh" "$build" ||
        { echo "bench: bench/fleet-sim.sh failed" >&2; status=1; }
    [ -s "$dir/sim-rows" ] || sim_why="bench/fleet-sim.sh measured nothing (see its output)"
fi

#  ---------------------------------------------------------------------
#  The table

#  row FIGURE ZCNC BASELINE RATIO TARGET MET
table=$dir/table
printf '%s\t%s\t%s\t%s\t%s\t%s\n' figure zcnc baseline ratio "target (issue 14)" met >"$table"
row () {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$table"
}
#  ratio A B: A / B with 2 decimals, or "-" when either is missing.
ratio () {
    if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo -; fi
}
#  met RATIO OP LIMIT: "yes" or "no" (or "-" without a ratio).
met () {
    [ "$1" = - ] && { echo -; return; }
    awk -v r="$1" -v op="$2" -v limit="$3" 'BEGIN { ok = op == "<=" ? r <= limit : r >= limit; print ok ? "yes" : "no" }'
}

ping=$(p_of ping_rt p50) nats=$(p_of nats_rtt p50) nats_tls=$(p_of nats_tls_rtt p50) bare=$(p_of zmq_relay_rtt p50)
r=$(ratio "$ping" "$nats")
row "ping p50 (ms)" "${ping:--}" "NATS req/reply ${nats:--}" "$r" "<= 1 x NATS" "$(met "$r" "<=" 1)"
row "" "" "NATS TLS ${nats_tls:--}" "$(ratio "$ping" "$nats_tls")" "" ""
row "" "" "bare relay, CURVE ${bare:--}" "$(ratio "$ping" "$bare")" "" ""
row "ping p99 (ms)" "$(p_of ping_rt p99)" "NATS $(p_of nats_rtt p99); TLS $(p_of nats_tls_rtt p99)" "" "" ""
exec_p50=$(p_of exec_true_rt p50) spawn=$(p_of local_spawn_sh_true p50)
r=$(ratio "$exec_p50" "$spawn")
row "exec true p50 (ms)" "${exec_p50:--}" "local posix_spawn ${spawn:--}" "$r" "<= 1.5 x local" "$(met "$r" "<=" 1.5)"
row "exec true p99 (ms)" "$(p_of exec_true_rt p99)" "local $(p_of local_spawn_sh_true p99)" "" "" ""
trigger=$(p_of zcnc_trigger_true p50) thin=$(p_of thin_client_trigger p50)
r=$(ratio "$trigger" "$thin")
row "zcnc trigger process p50 (ms)" "${trigger:--}" "bench-thin ${thin:--}" "$r" "<= 2 x thin" "$(met "$r" "<=" 2)"
row "" "" "zcnc --version $(p_of spawn_zcnc_version p50)" "" "" ""
relay=$(rate_of zcnc_ping_relay) bare_tp=$(rate_of zmq_relay) nats_tp=$(rate_of nats_tls_reqrep)
r=$(ratio "$relay" "$nats_tp")
row "relay, answers/s (window $window)" "${relay:--}" "NATS TLS req/reply ${nats_tp:--}" "$r" ">= 1 x NATS TLS" "$(met "$r" ">=" 1)"
row "" "" "bare relay, CURVE ${bare_tp:--}" "$(ratio "$relay" "$bare_tp")" "" ""
durable=$(rate_of stream_all_done)
r=$(ratio "$durable" 20000)
row "durable exec jobs/s, e2e" "${durable:--}" "20000 (target)" "$r" ">= 20,000" "$(met "$r" ">=" 1)"
row "idle agent RSS (kB)" "$agent_rss" "8192 (target; Choria 11.5 MB)" "$(ratio "$agent_rss" 8192)" "<= 8 MB" "$(met "$(ratio "$agent_rss" 8192)" "<=" 1)"
row "idle agent private (kB)" "$agent_private" "2048 (target)" "$(ratio "$agent_private" 2048)" "<= 2 MB" "$(met "$(ratio "$agent_private" 2048)" "<=" 1)"
row "hub with 3 agents (kB)" "rss $hub_rss, private $hub_private" "" "" "" ""
if [ -z "$sim_why" ]; then
    cat "$dir/sim-rows" >>"$table"     #  fleet-sim.sh's rows, in the same columns
else
    row "broadcast ping to 10,000 nodes" "-" "" "" "<= 1 s" "- ($sim_why)"
    row "hub memory per node" "-" "bare ROUTER with CURVE ~39 KB" "" "<= 30 KB" "- ($sim_why)"
    row "reconnect storm, 10,000 nodes" "-" "" "" "<= 30 s, peak RSS < 2x" "- ($sim_why)"
fi

echo
echo "== fleet (issue 14): the table"
awk -F '\t' '{ for (i = 1; i <= NF; i++) if (length ($i) > w [i]) w [i] = length ($i); line [NR] = $0 }
    END { for (n = 1; n <= NR; n++) { k = split (line [n], f, "\t"); out = "";
          for (i = 1; i <= k; i++) out = out sprintf ("%-" w [i] "s  ", f [i]); sub (/ +$/, "", out); print out } }' "$table"
exit $status
