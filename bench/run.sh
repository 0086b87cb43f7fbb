#!/bin/sh
#  bench/run.sh BUILD_DIR — the benchmarks of issues 2 and 3 (`make bench`).
#
#  Sets up a throwaway mesh under /tmp (one hub on tcp://127.0.0.1:*, two
#  agents n1 and n2, CURVE on every link, durable stores), waits until
#  both agents are connected, then runs, from n1 to n2:
#    latency     BUILD_DIR/bench/bench-latency: local spawn floors, exec
#                and ping round trips over the socket, whole `zcnc trigger`
#                processes (issue 2);
#    throughput  BUILD_DIR/bench/bench-throughput: the raw durable LMDB
#                commit rate in the mesh's directory, then ping jobs end to
#                end, pipelined on one connection and waited on many; with
#                the store commits (fdatasync calls, counted with perf when
#                it works) and the CPU time of each daemon (issue 3);
#    flush       reconnect flush: n2 is stopped; once n1 sees it offline,
#                a job that writes the time it ran is queued for it; the
#                time n2 is started again is taken, and flush = ran - start,
#                broken down with the times in n2's log (issue 3).
#  Prints the figures, then the hub's counters (stopping it); stops exactly
#  the processes it started and removes its directory.
#
#  Environment: ZCNC_BENCH (which parts in which order, default "latency
#  flush throughput flush": the flush with the few jobs the latency part
#  left in n2's store, then with the ~45,000 of the throughput part);
#  ZCNC_BENCH_COUNT (socket round trips, default 1000),
#  ZCNC_BENCH_RUNS (trigger processes, default 200); ZCNC_BENCH_JOBS (jobs
#  per throughput figure, default 20000), ZCNC_BENCH_CONNS (connections of
#  the waited figure, default 64); ZCNC_BENCH_FLUSHES (flush rounds,
#  default 5; each waits ~10 s for the hub to see n2 gone).
#  Exit status: 0; 1 when the mesh did not come up or a measurement failed;
#  2 on a usage error.

set -u
build=${1:-}
parts=${ZCNC_BENCH:-latency flush throughput flush}
usage () {
    echo "usage: sh bench/run.sh BUILD_DIR (with BUILD_DIR/zcnc, BUILD_DIR/bench/bench-latency and BUILD_DIR/bench/bench-throughput built: make bench)" >&2
    exit 2
}
[ -n "$build" ] && [ -x "$build/zcnc" ] || usage
for part in $parts; do
    case $part in
        latency)    [ -x "$build/bench/bench-latency" ] || usage ;;
        throughput) [ -x "$build/bench/bench-throughput" ] || usage ;;
        flush)      ;;
        *)          echo "bench: unknown part '$part' in ZCNC_BENCH (latency, throughput, flush)" >&2; exit 2 ;;
    esac
done
build=$(cd "$build" && pwd)
zcnc=$build/zcnc
count=${ZCNC_BENCH_COUNT:-1000}
runs=${ZCNC_BENCH_RUNS:-200}
jobs=${ZCNC_BENCH_JOBS:-20000}
conns=${ZCNC_BENCH_CONNS:-64}
flushes=${ZCNC_BENCH_FLUSHES:-5}
dir=$(mktemp -d /tmp/zcnc-bench.XXXXXX) || exit 1
pids=

. "$(dirname "$0")/lib.sh"

mkdir "$dir/keys"
"$zcnc" keygen --hub hub1 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen n1 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen n2 -d "$dir/keys" >/dev/null || fail "zcnc keygen failed"

start_hub1

start_agent n1
start_agent n2

#  Connected: n1's directory shows n2 online, which the hub reports once
#  both have said HELLO.
n2_online () {
    "$zcnc" nodes -c "$dir/n1.cfg" --json | grep -q '"name":"n2","online":true'
}
wait_for n2_online || fail "n1 does not see n2 online after 10 s"

echo "zcnc benchmarks: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "source tree: commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown) (BUILD_DIR may be older)"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "mesh: n1 -> hub1 ($endpoint, CURVE) -> n2; data in $dir ($(df -T "$dir" | awk 'NR == 2 { print $2 " on " $1 }'))"
status=0

#  Counts the fdatasync calls of the agents (one per LMDB commit) while
#  a command runs, when perf can; prints them and the daemons' CPU time
#  per job after the command's own output. measured JOBS COMMAND...
perf_ok=false
if command -v perf >/dev/null 2>&1 &&
   perf stat -e syscalls:sys_enter_fdatasync -x, -o /dev/null true >/dev/null 2>&1; then
    perf_ok=true
fi
measured () {
    njobs=$1
    shift
    perf_pids=
    if $perf_ok; then
        for node in n1 n2; do
            eval "pid=\$${node}_pid"
            perf stat -e syscalls:sys_enter_fdatasync -x, -o "$dir/perf.$node" -p "$pid" &
            perf_pids="$perf_pids $!"
        done
        sleep 0.3                   #  perf attaches
    fi
    cpu_before="$(cpu_ms "$hub_pid") $(cpu_ms "$n1_pid") $(cpu_ms "$n2_pid")"
    sends_before=$(audit_sends)
    "$@"
    rc=$?
    cpu_after="$(cpu_ms "$hub_pid") $(cpu_ms "$n1_pid") $(cpu_ms "$n2_pid")"
    sends_after=$(audit_sends)
    commits=
    for pid in $perf_pids; do
        kill -INT "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if $perf_ok; then
        for node in n1 n2; do
            count_=$(awk -F, '/fdatasync/ { print $1 }' "$dir/perf.$node" 2>/dev/null)
            commits="$commits $node=${count_:-?} ($(calc "${count_:-0} / $njobs") per job)"
        done
        echo "  store commits (fdatasync):$commits"
    fi
    set -- $cpu_before $cpu_after
    echo "  CPU per job: hub $(calc "($4 - $1) * 1000 / $njobs") us, n1 $(calc "($5 - $2) * 1000 / $njobs") us, n2 $(calc "($6 - $3) * 1000 / $njobs") us"
    set -- $sends_before $sends_after
    echo "  resent by n1 (audit log: sends beyond one per accepted job): $(( ($4 - $3) - ($2 - $1) ))"
    return $rc
}

#  Jobs accepted and sends (first tries and resends) in n1's audit log.
audit_sends () {
    awk '$2 == "accepted" { a++ } $2 == "sent" { s++ } END { print a + 0, s + 0 }' "$dir/n1/audit.log" 2>/dev/null ||
        echo 0 0
}

for part in $parts; do
case $part in
latency)
    echo
    echo "== latency (issue 2)"
    "$build/bench/bench-latency" --socket "$dir/n1/zcnc.sock" --node n2 --count "$count" \
        --zcnc "$zcnc" --config "$dir/n1.cfg" --runs "$runs"
    rc=$?
    [ $rc -eq 0 ] || { echo "bench: bench-latency failed (exit $rc)" >&2; status=1; }
    ;;
throughput)
    echo
    echo "== durable throughput (issue 3), ping jobs n1 -> n2"
    bt="$build/bench/bench-throughput --socket $dir/n1/zcnc.sock --node n2"
    measured "$jobs" $bt --lmdb-dir "$dir" --count 0 --stream "$jobs" ||
        { echo "bench: bench-throughput (stream) failed" >&2; status=1; }
    measured "$((jobs + jobs / 10))" $bt --lmdb-count 0 --stream 0 \
        --count "$jobs" --warmup "$((jobs / 10))" --conns "$conns" ||
        { echo "bench: bench-throughput (waited) failed" >&2; status=1; }
    echo "  (the waited figures above count its warm-up jobs too: $((jobs + jobs / 10)) jobs)"
    ;;
flush)
    echo
    echo "== reconnect flush (issue 3): n2 restarted with a job queued for it at n1"
    n2_offline () {
        "$zcnc" nodes -c "$dir/n1.cfg" --json | grep -q '"name":"n2","online":false'
    }
    #  Seconds.nanoseconds of the UTC timestamp (ms) of the first log line
    #  matching a pattern, 0 when none does.
    log_time () {
        line=$(grep -m 1 "$1" "$2") || { echo 0; return; }
        date -u -d "$(echo "$line" | cut -d ' ' -f 1)" +%s.%N
    }
    flush_all=
    round=1
    while [ $round -le "$flushes" ]; do
        flush_serial=$((${flush_serial:-0} + 1))
        stop_one "$n2_pid"
        wait_tenths=300
        wait_for n2_offline || fail "n1 does not see n2 offline 30 s after stopping it"
        wait_tenths=100
        ran_file="$dir/ran.$flush_serial"
        job=$("$zcnc" trigger --async -c "$dir/n1.cfg" "n2:date +%s.%N > $ran_file" 2>&1 |
              awk '{ print $1; exit }')
        sleep 0.3                   #  the hub's NOROUTE has parked the job
        log="$dir/n2.flush.$flush_serial.log"
        start=$(date +%s.%N)
        "$zcnc" agent -c "$dir/n2.cfg" 2>"$log" &
        n2_pid=$!
        pids="$pids $n2_pid"
        wait_for test -s "$ran_file" || fail "the job queued for n2 did not run 10 s after n2 started (job $job)"
        ran=$(cat "$ran_file")
        flush=$(calc "($ran - $start) * 1000")
        [ "$(calc "($ran >= $start)")" = 1.0 ] || fail "the job of round $round ran at $ran, before n2 started at $start"
        up=$(log_time "agent n2 started" "$log")
        loaded=$(log_time "store: .* came back" "$log")
        [ "$loaded" = 0 ] && loaded=$up
        records=$(sed -n 's/.*store: \([0-9]*\) job(s) sent from here and \([0-9]*\) received came back.*/\1+\2/p' "$log")
        connected=$(log_time "connected to hub" "$log")
        printf '  round %2d: flush %6.1f ms = store loaded %5.1f + agent up %4.1f + connected %4.1f + job ran %4.1f (ms; n2 loaded %s stored jobs+tasks)\n' \
            "$round" "$flush" "$(calc "($loaded - $start) * 1000")" "$(calc "($up - $loaded) * 1000")" \
            "$(calc "($connected - $up) * 1000")" "$(calc "($ran - $connected) * 1000")" "${records:-0}"
        state=$("$zcnc" jobs -c "$dir/n1.cfg" --json "$job" 2>/dev/null | grep -o '"state":"[a-z]*"')
        tries=0
        while [ "$state" != '"state":"done"' ] && [ $tries -lt 50 ]; do
            sleep 0.1
            tries=$((tries + 1))
            state=$("$zcnc" jobs -c "$dir/n1.cfg" --json "$job" 2>/dev/null | grep -o '"state":"[a-z]*"')
        done
        [ "$state" = '"state":"done"' ] || { echo "bench: flush job $job ended $state, not done" >&2; status=1; }
        flush_all="$flush_all $flush"
        round=$((round + 1))
    done
    echo "$flush_all" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk -v records="${records:-0}" '
        { v[NR] = $1 }
        END { p50 = v[int((NR + 1) / 2)]; printf "reconnect_flush        p50=%.1fms max=%.1fms min=%.1fms n=%d, n2 loading %s stored jobs+tasks (target <= 200 ms: %s)\n", p50, v[NR], v[1], NR, records, v[NR] <= 200? "met": "not met" }'
    ;;
esac
done

#  The hub's counters: "dropped" counts messages lost to a full peer queue
#  (their senders resend them after ack_timeout).
stop_one "$hub_pid"
sed -n 's/.*info: \(hub hub1 stopped .*\)/\1/p' "$dir/hub1.log"
exit $status
