#!/bin/sh
#  bench/security.sh BUILD_DIR — what end-to-end security costs (issue 5;
#  run by `make bench`).
#
#  1. BUILD_DIR/bench/bench-seal: CPU per job and result of sealing and
#     opening (and of signing and verifying a broadcast), e2e on vs off,
#     in one process.
#  2. One hub and four agents in a throwaway mesh under /tmp: s1 and s2
#     with e2e on (the default), p1 and p2 with `e2e = off` (envelopes in
#     clear: the baseline). In the same run, alternating rounds of
#     BUILD_DIR/bench/bench-latency measure the `exec true` round trip
#     s1 -> s2 and p1 -> p2 over the agent socket; the figure is the
#     median of the rounds' p50s for each, and the ratio on/off.
#  3. Durable throughput of ping jobs with e2e on (s1 -> s2) and off
#     (p1 -> p2), and each side's daemons' CPU per job.
#  Stops exactly the processes it started and removes its directory.
#
#  Environment: ZCNC_BENCH_ROUNDS (latency rounds per mode, default 9),
#  ZCNC_BENCH_COUNT (round trips per round, default 300), ZCNC_BENCH_JOBS
#  (jobs per throughput figure, default 20000).
#  Exit status: 0; 1 when the mesh did not come up or a measurement
#  failed; 2 on a usage error.

set -u
build=${1:-}
[ -n "$build" ] && [ -x "$build/zcnc" ] && [ -x "$build/bench/bench-latency" ] &&
    [ -x "$build/bench/bench-throughput" ] && [ -x "$build/bench/bench-seal" ] || {
    echo "usage: sh bench/security.sh BUILD_DIR (with zcnc and bench/bench-{latency,throughput,seal} built: make bench)" >&2
    exit 2
}
build=$(cd "$build" && pwd)
zcnc=$build/zcnc
rounds=${ZCNC_BENCH_ROUNDS:-9}
count=${ZCNC_BENCH_COUNT:-300}
jobs=${ZCNC_BENCH_JOBS:-20000}
dir=$(mktemp -d /tmp/zcnc-bench-sec.XXXXXX) || exit 1
pids=
. "$(dirname "$0")/lib.sh"

echo "zcnc security benchmarks: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "source tree: commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo
echo "== CPU of sealing and opening (bench-seal)"
"$build/bench/bench-seal" || fail "bench-seal failed"

mkdir "$dir/keys"
for name in s1 s2 p1 p2; do
    "$zcnc" keygen "$name" -d "$dir/keys" >/dev/null || fail "zcnc keygen failed"
done
"$zcnc" keygen --hub hub1 -d "$dir/keys" >/dev/null || fail "zcnc keygen failed"
start_hub1
start_agent s1
start_agent s2
start_agent p1 "e2e = off"
start_agent p2 "e2e = off"
all_online () {
    for node in s2 p2; do
        "$zcnc" nodes -c "$dir/${node%2}1.cfg" --json | grep -q "\"name\":\"$node\",\"online\":true" || return 1
    done
}
wait_for all_online || fail "the agents do not see each other online after 10 s"

echo
echo "== exec true round trip, e2e on (s1 -> s2) vs off (p1 -> p2), $rounds alternating rounds of $count"
on_all= off_all=
round=1
status=0
while [ $round -le "$rounds" ]; do
    for mode in on off; do
        case $mode in on) from=s1 to=s2 ;; off) from=p1 to=p2 ;; esac
        out=$("$build/bench/bench-latency" --socket "$dir/$from/zcnc.sock" --node "$to" --count "$count" --warmup 20) ||
            { echo "bench: bench-latency ($mode) failed" >&2; status=1; }
        p50=$(echo "$out" | sed -n 's/^exec_true_rt *p50=\([0-9.]*\)ms.*/\1/p')
        echo "  round $round, e2e $mode: exec_true_rt p50 ${p50:-?} ms"
        eval "${mode}_all=\"\$${mode}_all ${p50:-}\""
    done
    round=$((round + 1))
done
on=$(median $on_all)
off=$(median $off_all)
added=$(awk "BEGIN { printf \"%+.1f\", ($on / $off - 1) * 100 }")
echo "exec_true_rt  e2e on ${on} ms, off ${off} ms (medians of the rounds' p50): ${added}% (target <= +10%: $(awk "BEGIN { print ($on / $off - 1) * 100 <= 10? \"met\": \"not met\" }"))"

echo
echo "== durable throughput, ping jobs, e2e on (s1 -> s2) vs off (p1 -> p2), $jobs jobs each"
for mode in on off; do
    case $mode in on) from=s1 to=s2 ;; off) from=p1 to=p2 ;; esac
    eval "from_pid=\$${from}_pid to_pid=\$${to}_pid"
    before="$(cpu_ms "$from_pid") $(cpu_ms "$to_pid") $(cpu_ms "$hub_pid")"
    out=$("$build/bench/bench-throughput" --socket "$dir/$from/zcnc.sock" --node "$to" \
          --lmdb-count 0 --count 0 --stream "$jobs") ||
        { echo "bench: bench-throughput ($mode) failed" >&2; status=1; }
    after="$(cpu_ms "$from_pid") $(cpu_ms "$to_pid") $(cpu_ms "$hub_pid")"
    #  (bench-throughput's "target" is issue 3's, for the figure without e2e)
    echo "$out" | grep -i "stream" | sed "s/^/  e2e $mode: /"
    set -- $before $after
    echo "  e2e $mode: CPU per job: origin $(calc "($4 - $1) * 1000 / $jobs") us, target $(calc "($5 - $2) * 1000 / $jobs") us, hub $(calc "($6 - $3) * 1000 / $jobs") us"
done
exit $status
