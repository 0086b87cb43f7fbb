#!/bin/sh
#  bench/copy.sh BUILD_DIR — `zcnc cp` throughput node to node beside
#  cat and scp (issue 15; run by `make bench`, skipped there with
#  ZCNC_BENCH_COPY=0).
#
#  Sets up a throwaway mesh under /tmp: hub1 on tcp://127.0.0.1:*, the
#  origin n1, the source n2 and the destination n3 on it, hub2 whose
#  uplink is hub1 and the destination n4 on hub2; CURVE on every link,
#  end-to-end sealing on (the default), default agent settings. Writes
#  one file of B = ZCNC_BENCH_COPY_BYTES (500000000) random bytes in the
#  scratch directory, then, in the same run, each figure the median of
#  ZCNC_BENCH_COPY_RUNS (3) runs of the whole command's wall time, with
#  the load average (1 minute) when its runs began:
#    local        `cat FILE >/dev/null`, the file in the page cache
#                 (warm); with ZCNC_BENCH_COPY_COLD=1, as root, also
#                 with the page cache dropped before each run (`sync;
#                 echo 3 >/proc/sys/vm/drop_caches`: it slows every
#                 process of the machine for a while, hence opt-in;
#                 the first run is given apart: in a VM, the later ones
#                 may read from the host's cache of the disk);
#                 and `cp FILE DIR/ && sync DIR/FILE`, the local copy
#                 with the fsync a `zcnc cp` does before its rename.
#    copy         `zcnc cp -c n1.cfg n2:FILE n3:DST` (n2 -> hub1 -> n3,
#                 asked from n1): the result line must say B bytes
#                 stored with the file's SHA-256; DST and any partial
#                 file .NAME.zcnc-*.part are removed before each run.
#                 The peak RSS (VmHWM, reset before the runs through
#                 /proc/PID/clear_refs) of n2, n3 and hub1, the CPU time
#                 per MB of each daemon and of the `zcnc cp` process,
#                 and the bytes the source sent (more than B: it was
#                 asked again what the destination had).
#    chain        the same to n4, through hub1 and hub2.
#    scp          `scp FILE 127.0.0.1:DIR/` through a throwaway sshd
#                 (start_sshd in bench/lib.sh: ZCNC_BENCH_SSHD,
#                 ZCNC_BENCH_SFTP_SERVER, ZCNC_BENCH_SSH_USER) with the
#                 default cipher and protocol (SFTP since OpenSSH 9.0),
#                 with `-c aes128-gcm@openssh.com`, and with `-O` (the
#                 old scp protocol); the file there must have B bytes.
#                 The CPU time per MB of scp and ssh (that of sshd's
#                 session processes does not show in sshd's /proc
#                 figures, so it is not given). Skipped, with the reason, when
#                 there is no sshd or it cannot start.
#  With ZCNC_BENCH_COPY_PERF=DIR, one more copy n2 -> hub1 -> n3,
#  untimed, is profiled with `perf record` on n2, n3 and hub1
#  (DIR/perf.n2.data ...; ZCNC_BENCH_COPY_PERF_OPTS, default "-F 999
#  -g", are perf record's options), and the top symbols of each are
#  printed.
#  Prints the date, the commit, the machine and the figures, then the
#  daemons' warnings and hub1's counters. Stops exactly the processes
#  it started and removes its directory (with the file).
#
#  Environment: ZCNC_BENCH_COPY (0: print that it is skipped and exit),
#  ZCNC_BENCH_COPY_PARTS (which parts in which order, default "local
#  copy chain scp"), ZCNC_BENCH_COPY_BYTES, ZCNC_BENCH_COPY_RUNS,
#  ZCNC_BENCH_COPY_COLD, ZCNC_BENCH_COPY_PERF, ZCNC_BENCH_COPY_PERF_OPTS,
#  and start_sshd's.
#  Exit status: 0; 1 when the mesh did not come up or a run went wrong;
#  2 on a usage error.

set -u
build=${1:-}
bytes=${ZCNC_BENCH_COPY_BYTES:-500000000}
runs=${ZCNC_BENCH_COPY_RUNS:-3}
parts=${ZCNC_BENCH_COPY_PARTS:-local copy chain scp}
cold=${ZCNC_BENCH_COPY_COLD:-0}
perf_dir=${ZCNC_BENCH_COPY_PERF:-}
perf_opts=${ZCNC_BENCH_COPY_PERF_OPTS:--F 999 -g}
[ $# -eq 1 ] && [ -x "$build/zcnc" ] || {
    echo "usage: sh bench/copy.sh BUILD_DIR (with BUILD_DIR/zcnc built: make zcnc)" >&2
    exit 2
}
for value in "$bytes" "$runs"; do
    case $value in
        ''|*[!0-9]*|0) echo "bench: ZCNC_BENCH_COPY_BYTES and ZCNC_BENCH_COPY_RUNS are whole numbers >= 1 ('$value' is not)" >&2; exit 2 ;;
    esac
done
for part in $parts; do
    case $part in
        local|copy|chain|scp) ;;
        *) echo "bench: unknown part '$part' in ZCNC_BENCH_COPY_PARTS (local, copy, chain, scp)" >&2; exit 2 ;;
    esac
done
if [ "${ZCNC_BENCH_COPY:-1}" = 0 ]; then
    echo "zcnc copy benchmark: skipped (ZCNC_BENCH_COPY=0)"
    exit 0
fi
if [ -n "$perf_dir" ]; then
    mkdir -p "$perf_dir" && perf_dir=$(cd "$perf_dir" && pwd) || exit 2
fi
build=$(cd "$build" && pwd)
zcnc=$build/zcnc
dir=$(mktemp -d /tmp/zcnc-copy.XXXXXX) || exit 1
pids=
. "$(dirname "$0")/lib.sh"

#  Runs COMMAND (a shell command line) $runs times, PREPARE (evaluated
#  here) before each and CHECK (evaluated here, with the command's
#  output in $dir/timed.out) after each: a run that fails or fails its
#  check sets status 1. Sets t to the median wall time in seconds,
#  times to every run's, load0 to the load average before the first,
#  and client_ms to the CPU time (ms) of the command's own processes
#  over all runs. timed PREPARE COMMAND CHECK
timed () {
    times=
    client_ms=0
    load0=$(load)
    run=1
    while [ $run -le "$runs" ]; do
        eval "$1"
        t0=$(now)
        sh -c "$2; rc=\$?; times >&2; exit \$rc" >"$dir/timed.out" 2>"$dir/timed.err"
        rc=$?
        t1=$(now)
        #  The last line of `times`: the user and system time of the
        #  command's processes, as "0m1.230000s 0m0.450000s".
        client_ms=$(add_times_ms "$client_ms" "$dir/timed.err")
        if [ $rc -ne 0 ] || ! eval "$3"; then
            echo "bench: run $run of '$2' went wrong (status $rc): $(head -c 300 "$dir/timed.out") $(head -c 300 "$dir/timed.err")" >&2
            status=1
        fi
        times="$times $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
        run=$((run + 1))
    done
    t=$(median $times)
}

#  A figure's line: NAME SECONDS EXTRA.
figure () {
    printf '%-22s %7s MB/s (%s s; runs:%s; load %s%s)\n' "$1" "$(rate "$bytes" "$2")" "$2" "$times" "$load0" "${3:+; $3}"
}

mkdir "$dir/keys" "$dir/src" "$dir/local" "$dir/in"
for name in n1 n2 n3 n4; do
    "$zcnc" keygen "$name" -d "$dir/keys" >/dev/null || fail "zcnc keygen failed"
done
"$zcnc" keygen --hub hub1 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen --hub hub2 -d "$dir/keys" >/dev/null || fail "zcnc keygen failed"

start_hub1
hub1_pid=$hub_pid
hub1_endpoint=$endpoint
start_agent n1
start_agent n2
start_agent n3
cat >"$dir/hub2.cfg" <<EOF
zcnc
    name = hub2
    keys = $dir/keys
    data = $dir/hub2
hub
    bind = tcp://127.0.0.1:*
    uplink = hub1@$hub1_endpoint
EOF
"$zcnc" hub -c "$dir/hub2.cfg" 2>"$dir/hub2.log" &
hub2_pid=$!
pids="$pids $hub2_pid"
wait_for test -s "$dir/hub2/endpoints" || fail "hub2 wrote no $dir/hub2/endpoints"
hub2_endpoint=$(head -n 1 "$dir/hub2/endpoints")
printf 'zcnc\n    name = n4\n    keys = %s/keys\n    data = %s/n4\nagent\n    hub = hub2@%s\n' \
    "$dir" "$dir" "$hub2_endpoint" >"$dir/n4.cfg"
"$zcnc" agent -c "$dir/n4.cfg" 2>"$dir/n4.log" &
n4_pid=$!
pids="$pids $n4_pid"
online () {
    json=$("$zcnc" nodes -c "$dir/n1.cfg" --json) &&
    for node in n2 n3 n4; do
        echo "$json" | grep -q "\"name\":\"$node\",\"online\":true" || return 1
    done
}
wait_tenths=200
wait_for online || fail "n1 does not see n2, n3 and n4 online after 20 s"

file=$dir/src/file.bin
head -c "$bytes" /dev/urandom >"$file" || fail "cannot write $bytes bytes to $file"
sha=$(sha256sum "$file" | cut -d ' ' -f 1)
cat "$file" >/dev/null

echo "zcnc copy benchmark (issue 15): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "source tree: commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown); build: $build"
machine
echo "file: $bytes random bytes in $dir/src ($(df -PT "$dir" | awk 'NR == 2 { print $2 " on " $1 }')), sha256 $sha"
echo "mesh: n2 -> hub1 ($hub1_endpoint) -> n3; n2 -> hub1 -> hub2 ($hub2_endpoint) -> n4; asked from n1; CURVE, e2e on"
echo "each figure: the median wall time of $runs runs of the whole command; MB = 10^6 bytes"
status=0
mb=$(calc "$bytes / 1000000")

#  One copy from n2 to NODE:DST, timed; prints its figures under NAME.
#  copy_part NAME NODE DST PID_NAMES...
copy_part () {
    name=$1 node=$2 dst=$3
    shift 3
    names="$*"
    pid_list=
    for n in $names; do
        eval "pid_list=\"\$pid_list \$${n}_pid\""
        eval "reset_peak \$${n}_pid"
    done
    before=$(cpu_now $pid_list)
    timed "rm -f '$dst' '$(dirname "$dst")'/.$(basename "$dst").zcnc-*.part" \
          "'$zcnc' cp -c '$dir/n1.cfg' -t 600 'n2:$file' '$node:$dst'" \
          "grep -q ': $bytes bytes stored at $dst (sha256 $sha)' '$dir/timed.out'"
    after=$(cpu_now $pid_list)
    sent=$(sed -n 's/.*; \([0-9]*\) bytes sent$/\1/p' "$dir/timed.out")
    figure "$name" "$t" "last run sent ${sent:-?} bytes"
    rss=
    for n in $names; do
        eval "rss=\"\$rss\${rss:+, }$n \$(peak_rss \$${n}_pid) kB\""
    done
    echo "  peak RSS: $rss"
    echo "  $(cpu_per_mb "$before" "$after" "$(calc "$mb * $runs")" $names); zcnc cp $(calc "$client_ms / ($mb * $runs)")"
}

for part in $parts; do
case $part in
local)
    echo
    echo "== local: the file read, and copied with an fsync, on this machine"
    timed : "cat '$file' >/dev/null" :
    figure cat_warm "$t" "cat: $(calc "$client_ms / ($mb * $runs)") ms of CPU per MB"
    if [ "$cold" = 1 ] && [ -w /proc/sys/vm/drop_caches ]; then
        timed "sync; echo 3 >/proc/sys/vm/drop_caches" "cat '$file' >/dev/null" :
        first=$(echo $times | cut -d ' ' -f 1)
        figure cat_cold "$t" "page cache dropped before each run; the first run $(rate "$bytes" "$first") MB/s (in a VM, later runs may read from the host's cache)"
    elif [ "$cold" = 1 ]; then
        echo "cat_cold               skipped: /proc/sys/vm/drop_caches is not writable (root only)"
    fi
    timed "rm -f '$dir/local/file.bin'" "cp '$file' '$dir/local/' && sync '$dir/local/file.bin'" \
          "test \$(stat -c %s '$dir/local/file.bin') = $bytes"
    figure cp_fsync "$t" "cp, then sync FILE"
    rm -f "$dir/local/file.bin"
    ;;
copy)
    echo
    echo "== copy: n2 -> hub1 -> n3, zcnc cp from n1"
    copy_part copy_one_hub n3 "$dir/in/one.bin" n2 n3 hub1
    rm -f "$dir/in/one.bin"
    ;;
chain)
    echo
    echo "== chain: n2 -> hub1 -> hub2 -> n4, zcnc cp from n1"
    copy_part copy_two_hubs n4 "$dir/in/two.bin" n2 n4 hub1 hub2
    rm -f "$dir/in/two.bin"
    ;;
scp)
    echo
    echo "== scp: 127.0.0.1, a throwaway sshd"
    [ -n "${sshd_pid:-}" ] || [ -n "${ssh_why:-}" ] || start_sshd
    if [ -n "$ssh_why" ]; then
        echo "scp                    skipped: $ssh_why"
        continue
    fi
    scp_to=$ssh_dir/in/file.bin
    echo "$(ssh -V 2>&1); sshd $sshd; sftp-server ${sftp_server:-none}; user $ssh_user"
    for variant in default aes128-gcm legacy; do
        case $variant in
            default) flags= ; label=scp ;;
            aes128-gcm) flags="-c aes128-gcm@openssh.com" ; label=scp_aes128_gcm ;;
            legacy) flags=-O ; label=scp_legacy_O ;;
        esac
        if [ $variant != legacy ] && [ -z "$sftp_server" ]; then
            echo "$label skipped: no sftp-server for scp's default protocol (ZCNC_BENCH_SFTP_SERVER)"
            continue
        fi
        cipher=$(ssh $ssh_opts ${flags%-O} -v -p "$ssh_port" "$ssh_dest" true 2>&1 |
                 sed -n 's/.*kex: server->client cipher: \([^ ]*\).*/\1/p' | head -n 1)
        timed "rm -f '$scp_to'" "scp -q $ssh_opts $flags -P $ssh_port '$file' '$ssh_dest:$scp_to'" \
              "test \$(stat -c %s '$scp_to') = $bytes"
        figure "$label" "$t" "cipher ${cipher:-?}; scp and ssh $(calc "$client_ms / ($mb * $runs)") ms of CPU per MB"
    done
    [ -s "$scp_to" ] && [ "$(sha256sum "$scp_to" | cut -d ' ' -f 1)" != "$sha" ] && {
        echo "bench: the file scp wrote differs" >&2
        status=1
    }
    rm -f "$scp_to"
    ;;
esac
done

if [ -n "$perf_dir" ]; then
    echo
    echo "== profile: one more copy n2 -> hub1 -> n3 under perf record $perf_opts ($perf_dir)"
    perf_pids=
    for node in n2 n3 hub1; do
        eval "pid=\$${node}_pid"
        perf record $perf_opts -o "$perf_dir/perf.$node.data" -p "$pid" 2>"$dir/perf.$node.log" &
        perf_pids="$perf_pids $!"
    done
    sleep 0.5
    rm -f "$dir/in/perf.bin"
    "$zcnc" cp -c "$dir/n1.cfg" -t 600 "n2:$file" "n3:$dir/in/perf.bin" >"$dir/perf.out" 2>&1 ||
        { echo "bench: the profiled copy failed: $(cat "$dir/perf.out")" >&2; status=1; }
    for pid in $perf_pids; do
        kill -INT "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -f "$dir/in/perf.bin"
    for node in n2 n3 hub1; do
        echo "-- $node: top symbols (self, all threads)"
        perf report -i "$perf_dir/perf.$node.data" --no-children --sort dso,sym --percent-limit 1.5 \
            --stdio -g none 2>/dev/null | grep -v '^#' | sed '/^$/d' | head -n 25
    done
fi

#  What went wrong on the way: the daemons' warnings.
grep -h -E ' (warn|error):' "$dir"/hub1.log "$dir"/hub2.log "$dir"/n[1234].log 2>/dev/null | head -n 20 |
    sed 's/^/  log: /'
stop_one "$hub1_pid"
sed -n 's/.*info: \(hub hub1 stopped .*\)/\1/p' "$dir/hub1.log"
exit $status
