#!/bin/sh
#  bench/bulk.sh BUILD_DIR — the benchmarks of issue 12 (bounds in bytes,
#  no head-of-line blocking): big jobs and results next to small ones.
#
#  Each part sets up its own throwaway mesh under /tmp (one hub on
#  tcp://127.0.0.1:*, agents n1 and n2, CURVE on every link, durable
#  stores, keys from `zcnc keygen`), waits until n1 sees n2 online, runs,
#  prints the hub's counters and stops it all again. From n1 to n2:
#    latency       one job whose stdin is 50 MB (`cat >/dev/null`, with
#                  `zcnc send`), then at once `zcnc trigger n2:'echo hi'`:
#                  the time from submitting the one-liner until its output
#                  is printed, 5 runs (median, max); then the issue's own
#                  case: five 50 MB jobs, then the one-liner;
#    slowlink      n2 reaches the hub through tests/zc-proxy at 8000 B/s
#                  (64 kbit/s) each way; a job on n2 prints 1 MiB (its
#                  result crawls up the link); 1 s later, the time of
#                  `zcnc trigger n2:'echo hi'` from n1 (capped at 300 s);
#                  then when the 1 MiB result arrived (capped at 300 s);
#    throughput    500 MB through the hub: 8 jobs of 62.5 MB stdin each
#                  (`wc -c`, a job carries at most 64 MiB), submitted one
#                  after the other; from the first submit until all 8
#                  results are in at n1 (each must print 62500000): MB/s,
#                  and the daemons' CPU time; then the delivery through
#                  the hub apart from submitting: for each job, from its
#                  first "sent" to its "acked" (the target stored it) in
#                  n1's audit log: MB/s of the median, the median and the
#                  shortest, and from the first send of all to the last ACK;
#    slowconsumer  n2 frozen (SIGSTOP) once online, the hub's peer_timeout
#                  600 s ($ZCNC_BENCH_HUB_PEER_TIMEOUT) so n2 stays online
#                  there; N jobs of 10 MB stdin
#                  sent to it from n1; the hub's VmRSS sampled every 0.5 s:
#                  the peak and VmHWM once all N were submitted and 20 s
#                  passed; then n2 thawed (SIGCONT): how many of the N end
#                  `done` within 300 s, and whether any ran twice (each job
#                  appends its $ZCNC_JOB_ID to a file; the lines are
#                  counted). n1 gets queue_max_bytes = 4000000000, since the
#                  default (1 GiB) would refuse N = 300 jobs of 10 MB.
#  Prints the figures; asserts nothing. Stops exactly the processes it
#  started and removes its directory.
#
#  Environment: ZCNC_BENCH_BULK (which parts in which order, default
#  "latency slowlink throughput slowconsumer"); ZCNC_BENCH_SLOW_JOBS (N of
#  slowconsumer, default 300; lowered, and said so, when the file system of
#  /tmp cannot hold ~2.5 x N x 10 MB + 1 GB).
#  Exit status: 0; 1 when a mesh did not come up or a step failed; 2 on a
#  usage error.

set -u
build=${1:-}
parts=${ZCNC_BENCH_BULK:-latency slowlink throughput slowconsumer}
slow_jobs=${ZCNC_BENCH_SLOW_JOBS:-300}
usage () {
    echo "usage: sh bench/bulk.sh BUILD_DIR (with BUILD_DIR/zcnc and BUILD_DIR/tests/zc-proxy built: make zcnc tests/zc-proxy)" >&2
    exit 2
}
[ $# -eq 1 ] && [ -x "$build/zcnc" ] || usage
for part in $parts; do
    case $part in
        slowlink) [ -x "$build/tests/zc-proxy" ] || usage ;;
        latency|throughput|slowconsumer) ;;
        *) echo "bench: unknown part '$part' in ZCNC_BENCH_BULK (latency, slowlink, throughput, slowconsumer)" >&2; exit 2 ;;
    esac
done
case $slow_jobs in
    ''|*[!0-9]*|0) echo "bench: ZCNC_BENCH_SLOW_JOBS is a whole number >= 1 ('$slow_jobs' is not)" >&2; exit 2 ;;
esac
build=$(cd "$build" && pwd)
zcnc=$build/zcnc
proxy=$build/tests/zc-proxy
dir=$(mktemp -d /tmp/zcnc-bulk.XXXXXX) || exit 1
pids=

. "$(dirname "$0")/lib.sh"

#  Writes a message for n2 to a file: exec COMMAND with SIZE bytes of 'x'
#  as its stdin ("data"). json_job FILE SIZE COMMAND (no '"' or '\' in it).
json_job () {
    {
        printf '{"to":"n2","args":["%s"],"data":"' "$3"
        head -c "$2" /dev/zero | tr '\0' x
        printf '"}\n'
    } >"$1"
}

#  Submits the message in FILE (or - for stdin) from n1, bounded; prints
#  its job ID, nothing when it was refused.
submit () {
    timeout 60 "$zcnc" send -c "$dir/n1.cfg" "$1" 2>>"$dir/submit.err" | awk '{ print $1; exit }'
}

#  The state of job ID sent from n1.
job_state () {
    "$zcnc" jobs -c "$dir/n1.cfg" --json "$1" 2>/dev/null |
        sed -n 's/.*"state":"\([a-z]*\)".*/\1/p' | head -n 1
}

#  Waits until job ID has a final state, at most LIMIT seconds; prints the
#  last state seen. wait_final ID LIMIT
wait_final () {
    deadline=$(($(date +%s) + $2))
    while :; do
        state=$(job_state "$1")
        case $state in
            done|failed|expired|interrupted|denied|cancelled) break ;;
        esac
        [ "$(date +%s)" -ge "$deadline" ] && break
        sleep 0.1
    done
    echo "${state:-unknown}"
}

#  The jobs sent from n1, counted by state: "done=3 sent=2".
state_counts () {
    "$zcnc" jobs -c "$dir/n1.cfg" --json 2>/dev/null |
        sed -n 's/.*"state":"\([a-z]*\)".*/\1/p' | sort | uniq -c |
        awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }'
}

#  Jobs accepted and sends (first tries and resends) in n1's audit log, and
#  the times n1's link to the hub went down: "accepted A, sent S, link down L".
n1_sends () {
    echo "$(awk '$2 == "accepted" { a++ } $2 == "sent" { s++ } END { printf "accepted %d, sent %d", a, s }' "$dir/n1/audit.log" 2>/dev/null)," \
        "link to the hub down $(grep -c 'link to hub .* down' "$dir/n1.log") times"
}

n2_online () {
    "$zcnc" nodes -c "$dir/n1.cfg" --json | grep -q '"name":"n2","online":true'
}

#  Starts the mesh of one part, with fresh data directories: hub1, n1 (its
#  agent section ending with the lines given), and n2, through a proxy of
#  RATE bytes/s each way when RATE is not 0 (sets proxy_pid). Waits until n1
#  sees n2 online. mesh_up RATE [N1_LINE...]
mesh_up () {
    rate=$1
    shift
    rm -rf "$dir/hub1" "$dir/n1" "$dir/n2" "$dir"/*.log "$dir/proxy."*
    start_hub1
    start_agent n1 "$@"
    if [ "$rate" != 0 ]; then
        "$proxy" --listen 127.0.0.1:0 --to "${endpoint#tcp://}" --port-file "$dir/proxy.port" \
            --rate "$rate" --stats "$dir/proxy.stats" 2>"$dir/proxy.log" </dev/null &
        proxy_pid=$!
        pids="$pids $proxy_pid"
        wait_for test -s "$dir/proxy.port" || fail "the proxy wrote no port file"
        hub_endpoint=$endpoint
        endpoint=tcp://127.0.0.1:$(cat "$dir/proxy.port")
        start_agent n2
        endpoint=$hub_endpoint
    else
        start_agent n2
    fi
    wait_for n2_online || fail "n1 does not see n2 online after 10 s"
}

#  Stops the mesh: the hub first, to print its counters ("dropped" counts
#  messages lost to a full peer queue), then everything else started here.
mesh_down () {
    stop_one "$hub_pid"
    sed -n 's/.*info: \(hub hub1 stopped .*\)/  \1/p' "$dir/hub1.log"
    stop_all
}

#  Peak VmRSS of the hub (kB) in the samples of $dir/rss with a time from
#  FROM to TO (seconds since the epoch). rss_peak FROM TO
rss_peak () {
    awk -v from="$1" -v to="$2" '$1 >= from && $1 <= to && $2 > peak { peak = $2 } END { print peak + 0 }' "$dir/rss"
}

#  From n1's audit log, for each job ID given (in that order) with both
#  lines: "job ID SECONDS" from its first "sent" to its first "acked"; then
#  "all FIRST LAST": the first of those sends and the last of those ACKs,
#  in seconds since the epoch (UTC). A line's key is the job ID, or the job
#  ID, '.' and the target. delivery_times "ID..."
delivery_times () {
    awk -v ids="$1" '
        #  "2026-12-06T06:33:29.990Z" in seconds since the epoch.
        function stamp (s,    y, m, d, era, yoe, doy, doe) {
            y = substr(s, 1, 4) + 0; m = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
            if (m <= 2) y--
            era = int(y / 400); yoe = y - era * 400
            doy = int((153 * (m > 2? m - 3: m + 9) + 2) / 5) + d - 1
            doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
            return (era * 146097 + doe - 719468) * 86400 + substr(s, 12, 2) * 3600 + substr(s, 15, 2) * 60 + substr(s, 18, 6)
        }
        BEGIN { n = split(ids, id, " "); for (i = 1; i <= n; i++) sub(/\..*/, "", id[i]) }
        $2 == "sent" || $2 == "acked" {
            key = $3; sub(/\..*/, "", key)
            if ($2 == "sent" && !(key in sent)) sent[key] = stamp($1)
            if ($2 == "acked" && !(key in acked)) acked[key] = stamp($1)
        }
        END {
            for (i = 1; i <= n; i++) {
                k = id[i]
                if (!(k in sent) || !(k in acked)) continue
                printf "job %s %.3f\n", k, acked[k] - sent[k]
                if (first == "" || sent[k] < first) first = sent[k]
                if (last == "" || acked[k] > last) last = acked[k]
            }
            if (first != "") printf "all %.3f %.3f\n", first, last
        }' "$dir/n1/audit.log" 2>/dev/null
}

#  Megabytes (10^6) of a number of kB (2^10 bytes).
mb () {
    calc "$1 * 1024 / 1000000"
}

mkdir "$dir/keys"
"$zcnc" keygen --hub hub1 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen n1 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen n2 -d "$dir/keys" >/dev/null || fail "zcnc keygen failed"

echo "zcnc bulk benchmarks (issue 12): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "source tree: commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown); build: $build (commit $(git -C "$build" rev-parse --short HEAD 2>/dev/null || echo unknown))"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/^MemAvailable/ { printf "%.1f GB", $2 * 1024 / 1e9 }' /proc/meminfo) available, Linux $(uname -r), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "data in $dir ($(df -T "$dir" | awk 'NR == 2 { print $2 " on " $1 ", " int($5 / 1048576) " GB free" }'))"
status=0

for part in $parts; do
part_start=$(now)
case $part in
latency)
    echo
    echo "== latency: 'echo hi' to n2 right behind 50 MB jobs to n2 (n1 -> hub1 -> n2, loopback)"
    json_job "$dir/big50.json" 50000000 "cat >/dev/null"
    mesh_up 0
    hi_all=
    run=1
    while [ $run -le 5 ]; do
        t0=$(now)
        big=$(submit "$dir/big50.json")
        t1=$(now)
        [ -n "$big" ] || { echo "bench: the 50 MB job was refused: $(tail -n 1 "$dir/submit.err")" >&2; status=1; break; }
        out=$(timeout 300 "$zcnc" trigger -t 600 -c "$dir/n1.cfg" 'n2:echo hi' 2>&1)
        rc=$?
        t2=$(now)
        [ $rc -eq 124 ] && hi=">300000" || hi=$(calc "($t2 - $t1) * 1000")
        [ "$out" = hi ] || [ $rc -eq 124 ] || { echo "bench: run $run: 'echo hi' gave '$out' (exit $rc)" >&2; status=1; }
        state=$(wait_final "$big" 300)
        t3=$(now)
        printf '  run %d: 50 MB job stored in %6.1f ms; echo hi %8s ms after its submit; the 50 MB job %s %6.1f ms after its submit\n' \
            "$run" "$(calc "($t1 - $t0) * 1000")" "$hi" "$state" "$(calc "($t3 - $t0) * 1000")"
        hi_all="$hi_all $hi"
        run=$((run + 1))
    done
    printf '%s\n' $hi_all | sed 's/>//' | sort -n | awk '
        { v[NR] = $1 }
        END { printf "echo_hi_behind_50MB      median=%.1fms max=%.1fms min=%.1fms n=%d\n", v[int((NR + 1) / 2)], v[NR], v[1], NR }'
    #  The issue's case: five 50 MB jobs, then the one-liner.
    t0=$(now)
    bigs=
    for i in 1 2 3 4 5; do
        bigs="$bigs $(submit "$dir/big50.json")"
    done
    t1=$(now)
    #  (Each `zcnc send` returns once its job is stored, so the first ones
    #  may be well on their way when the one-liner goes: their states then.)
    before=
    for big in $bigs; do
        before="$before $(job_state "$big")"
    done
    t1=$(now)
    out=$(timeout 300 "$zcnc" trigger -t 600 -c "$dir/n1.cfg" 'n2:echo hi' 2>&1)
    rc=$?
    t2=$(now)
    [ $rc -eq 124 ] && hi=">300000" || hi=$(calc "($t2 - $t1) * 1000")
    [ "$out" = hi ] || [ $rc -eq 124 ] || { echo "bench: 'echo hi' gave '$out' (exit $rc)" >&2; status=1; }
    echo "  the five 50 MB jobs when the one-liner was submitted:$before"
    states=
    for big in $bigs; do
        states="$states $(wait_final "$big" 300)"
    done
    t3=$(now)
    echo "echo_hi_behind_5x50MB    ${hi}ms after its submit (the five 50 MB jobs took $(calc "($t1 - $t0) * 1000") ms to store; they ended$states, $(calc "($t3 - $t0) * 1000") ms after the first submit)"
    mesh_down
    ;;
slowlink)
    echo
    echo "== slowlink: 'echo hi' to n2 while n2's 1 MiB result crosses a 8000 B/s link (n2 -> proxy -> hub1)"
    mesh_up 8000
    t0=$(now)
    big=$("$zcnc" trigger --async -c "$dir/n1.cfg" "n2:head -c 1048576 /dev/zero | tr '\\0' x" 2>&1 | awk '{ print $1; exit }')
    sleep 1                         #  the job runs; its result is on its way
    echo "  1 MiB job $big: $(job_state "$big") 1 s after its submit"
    t1=$(now)
    out=$(timeout 300 "$zcnc" trigger -t 600 -c "$dir/n1.cfg" 'n2:echo hi' 2>&1)
    rc=$?
    t2=$(now)
    if [ $rc -eq 124 ]; then
        echo "echo_hi_slowlink         >300 s (cut off by timeout)"
    else
        [ "$out" = hi ] || { echo "bench: 'echo hi' gave '$out' (exit $rc)" >&2; status=1; }
        echo "echo_hi_slowlink         $(calc "$t2 - $t1") s"
    fi
    #  The 1 MiB result itself: at 8000 B/s, 131 s at the very least.
    left=$((300 - ${t2%.*} + ${t0%.*}))
    [ $left -lt 1 ] && left=1
    state=$(wait_final "$big" "$left")
    t3=$(now)
    size=$("$zcnc" jobs -c "$dir/n1.cfg" --json "$big" 2>/dev/null | grep -o '"stdout":"x*' | awk '{ print length($0) - 10 }')
    echo "bulk_result_slowlink     the 1 MiB job $state $(calc "$t3 - $t0") s after its submit (stdout ${size:-0} bytes; floor 1048576 / 8000 = 131 s)"
    mesh_down
    [ -s "$dir/proxy.stats" ] && echo "  proxy: $(cat "$dir/proxy.stats") (bytes forwarded each way over the part)"
    ;;
throughput)
    echo
    echo "== throughput: 500 MB through hub1, n1 -> n2, as 8 jobs of 62.5 MB stdin ('wc -c')"
    json_job "$dir/big62.json" 62500000 "wc -c"
    mesh_up 0
    cpu_before="$(cpu_ms "$hub_pid") $(cpu_ms "$n1_pid") $(cpu_ms "$n2_pid")"
    t0=$(now)
    ids=
    for i in 1 2 3 4 5 6 7 8; do
        id=$(submit "$dir/big62.json")
        [ -n "$id" ] || { echo "bench: job $i was refused: $(tail -n 1 "$dir/submit.err")" >&2; status=1; }
        ids="$ids $id"
    done
    t1=$(now)
    good=0
    for id in $ids; do
        state=$(wait_final "$id" 300)
        if [ "$state" = "done" ] &&
           "$zcnc" jobs -c "$dir/n1.cfg" --json "$id" | grep -q '"stdout":"62500000\\n"'; then
            good=$((good + 1))
        else
            echo "bench: job $id ended $state, stdout $("$zcnc" jobs -c "$dir/n1.cfg" --json "$id" | grep -o '"stdout":"[^"]*"')" >&2
            status=1
        fi
    done
    t2=$(now)
    cpu_after="$(cpu_ms "$hub_pid") $(cpu_ms "$n1_pid") $(cpu_ms "$n2_pid")"
    echo "bulk_throughput          $(calc "500 / ($t2 - $t0)") MB/s: 500 MB in $(calc "$t2 - $t0") s ($good of 8 results right; submitting all 8 took $(calc "$t1 - $t0") s)"
    set -- $cpu_before $cpu_after
    echo "  CPU time over it: hub $(calc "($4 - $1) / 1000") s, n1 $(calc "($5 - $2) / 1000") s, n2 $(calc "($6 - $3) / 1000") s"
    echo "  n1: $(n1_sends)"
    #  (n1 flushes its audit log at each commit: the ACK lines are in it
    #  once the results are stored.)
    delivery_times "$ids" >"$dir/delivery"
    count=$(awk '$1 == "job" { n++ } END { print n + 0 }' "$dir/delivery")
    if [ "$count" -gt 0 ]; then
        med=$(awk '$1 == "job" { print $3 }' "$dir/delivery" | sort -n |
            awk '{ v[NR] = $1 } END { print (NR % 2)? v[(NR + 1) / 2]: (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
        min=$(awk '$1 == "job" { print $3 }' "$dir/delivery" | sort -n | head -n 1)
        echo "bulk_delivery            $(calc "62.5 / $med") MB/s: 62.5 MB per job from first send to the target's ACK (median of $count: $(calc "$med") s; min $(calc "$min") s)"
        set -- $(awk '$1 == "all" { print $2, $3 }' "$dir/delivery")
        echo "  all $count: first send to last ACK $(calc "$2 - $1") s ($(calc "62.5 * $count / ($2 - $1)") MB/s); per job (s, in submit order):$(awk '$1 == "job" { printf " %.1f", $3 }' "$dir/delivery")"
    else
        echo "bulk_delivery            no job with both a \"sent\" and an \"acked\" line in n1's audit log"
        status=1
    fi
    [ "$count" -eq 8 ] || { echo "bench: bulk_delivery: $count of 8 jobs with both lines in n1's audit log" >&2; status=1; }
    mesh_down
    ;;
slowconsumer)
    echo
    echo "== slowconsumer: jobs of 10 MB stdin from n1 to n2, n2 frozen (SIGSTOP); hub1's memory"
    n=$slow_jobs
    #  n1's store holds the N jobs, n2's those it takes, plus the 10 MB
    #  message file and LMDB's slack: ~2.5 x N x 10 MB + 1 GB.
    avail_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
    need_kb=$((n * 25000 + 1000000))
    if [ "$avail_kb" -lt "$need_kb" ]; then
        n=$(((avail_kb - 1000000) / 25000))
        [ $n -ge 1 ] || { echo "bench: slowconsumer skipped: $((avail_kb / 1024)) MiB free in $dir" >&2; continue; }
        echo "  (N lowered from $slow_jobs to $n: $((avail_kb / 1024)) MiB free in $dir)"
    fi
    #  The hub keeps n2 online while it is frozen (peer_timeout 600 s): a
    #  peer whose connection lives but which reads nothing, as a hung
    #  process or a stalled link is; with the default 10 s the hub takes
    #  it offline and answers NOROUTE instead.
    hub_peer_timeout=${ZCNC_BENCH_HUB_PEER_TIMEOUT:-600}
    mesh_up 0 "queue_max_bytes = 4000000000"
    hub_peer_timeout=
    ran=$dir/ran.n2
    : >"$ran"
    head -c 10000000 /dev/zero | tr '\0' x >"$dir/body10"
    #  Samples "time VmRSS VmHWM" (kB) of the hub and VmRSS of n1 every
    #  0.5 s. A guard: either one over 3/4 of the machine's memory is
    #  killed (SIGKILL) before the OOM killer picks something else.
    mem_cap=$(awk '/^MemTotal/ { print int($2 * 3 / 4) }' /proc/meminfo)
    (
        while kill -0 "$hub_pid" 2>/dev/null; do
            hub_mem=$(awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { print r + 0, h + 0 }' "/proc/$hub_pid/status" 2>/dev/null)
            n1_mem=$(awk '/^VmRSS/ { print $2 }' "/proc/$n1_pid/status" 2>/dev/null)
            hub_mem=${hub_mem:-0 0}
            printf '%s %s %s\n' "$(now)" "$hub_mem" "${n1_mem:-0}"
            for guard in "$hub_pid ${hub_mem%% *} hub1" "$n1_pid ${n1_mem:-0} n1"; do
                set -- $guard
                if [ "$2" -gt "$mem_cap" ]; then
                    kill -9 "$1"
                    echo "  GUARD: $3 killed at VmRSS $(mb "$2") MB (over 3/4 of MemTotal)" >>"$dir/guard"
                fi
            done
            sleep 0.5
        done
    ) >"$dir/rss" &
    sampler_pid=$!
    pids="$pids $sampler_pid"
    kill -STOP "$n2_pid"
    t0=$(now)
    ids=
    refused=0
    i=1
    #  Bounded: submitting stops after 300 s (an origin busy resending may
    #  take minutes per job); the figures are then about those submitted.
    deadline=$(($(date +%s) + 300))
    while [ $i -le $n ] && [ "$(date +%s)" -lt "$deadline" ]; do
        id=$({
            printf '{"to":"n2","args":["cat >/dev/null; echo $ZCNC_JOB_ID >>%s"],"data":"' "$ran"
            cat "$dir/body10"
            printf '"}\n'
        } | submit -)
        if [ -n "$id" ]; then
            ids="$ids $id"
        else
            refused=$((refused + 1))
        fi
        i=$((i + 1))
    done
    t1=$(now)
    accepted=$((i - 1 - refused))
    echo "  submitted $accepted of $n in $(calc "$t1 - $t0") s$([ $refused -gt 0 ] && echo " ($refused refused or timed out: $(tail -n 1 "$dir/submit.err"))")$([ $i -le $n ] && echo "; stopped after 300 s")"
    sleep 20
    t2=$(now)
    #  (Still stopped? A process group that becomes orphaned, e.g. when the
    #  script runs detached and its parent exits, gets SIGHUP and SIGCONT.)
    n2_state=$(awk '/^State/ { print $2 }' "/proc/$n2_pid/status")
    [ "$n2_state" = T ] || echo "  WARNING: n2 is no longer stopped (state $n2_state): something sent it SIGCONT"
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$hub_pid/status")
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$hub_pid/status")
    peak=$(rss_peak "$t0" "$t2")
    n1_peak=$(awk -v to="$t2" '$1 <= to && $4 > p { p = $4 } END { print p + 0 }' "$dir/rss")
    echo "hub_rss_frozen_consumer  peak VmRSS $(mb "$peak") MB, VmHWM $(mb "$hwm") MB, VmRSS now $(mb "$rss") MB (from the first submit to 20 s after the last; $((accepted * 10)) MB submitted; n1's peak VmRSS $(mb "$n1_peak") MB)"
    echo "  n1's jobs 20 s after the last submit: $(state_counts); n1 sees n2 $(n2_online && echo online || echo offline); n1: $(n1_sends)"
    kill -CONT "$n2_pid"
    deadline=$(($(date +%s) + 300))
    done_count=0
    while [ "$done_count" -lt "$accepted" ] && [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 1
        done_count=$("$zcnc" jobs -c "$dir/n1.cfg" --json 2>/dev/null | grep -c '"state":"done"')
    done
    t3=$(now)
    lines=$(wc -l <"$ran")
    distinct=$(sort -u "$ran" | wc -l)
    printf '%s\n' $ids | sort -u >"$dir/ids.sorted"
    sort -u "$ran" >"$dir/ran.sorted"
    ours=$(comm -12 "$dir/ids.sorted" "$dir/ran.sorted" | wc -l)
    echo "slowconsumer_after_thaw  $done_count of $accepted done $(calc "$t3 - $t2") s after SIGCONT (waited at most 300 s); n1's jobs: $(state_counts)"
    echo "  runs on n2: $lines lines, $distinct distinct job IDs, $ours of them ours: $((lines - distinct)) ran more than once"
    echo "  hub peak VmRSS after the thaw $(mb "$(rss_peak "$t2" "$(now)")") MB, VmHWM $(mb "$(awk '/^VmHWM/ { print $2 }' "/proc/$hub_pid/status")") MB; n1's peak VmRSS over the part $(mb "$(awk '$4 > p { p = $4 } END { print p + 0 }' "$dir/rss")") MB; n1: $(n1_sends)"
    [ -s "$dir/guard" ] && cat "$dir/guard"
    mesh_down
    rm -f "$dir/body10"
    ;;
esac
echo "  (part $part took $(calc "$(now) - $part_start") s)"
done
exit $status
