#!/bin/sh
#  bench/stream.sh BUILD_DIR — exec_stream throughput (issue 15; run by
#  `make bench`, skipped there with ZCNC_BENCH_STREAM=0).
#
#  Sets up a throwaway mesh under /tmp: hub1 on tcp://127.0.0.1:*, the
#  origin n1 and the target n2 on it, hub2 whose uplink is hub1 and the
#  target n3 on hub2; CURVE on every link, end-to-end sealing on (the
#  default), default agent settings (max_output 1 MiB). Then, in the
#  same run, each figure the median of ZCNC_BENCH_STREAM_RUNS (3) runs of
#  the whole command's wall time, for B = ZCNC_BENCH_STREAM_BYTES
#  (200000000) bytes:
#    local        `yes | head -c B | wc -c`: the raw pipe rate.
#    stream       `zcnc trigger --stream n2:'yes | head -c B' | wc -c` from
#                 n1: MB/s at the origin; the peak RSS (VmHWM, reset
#                 before the runs through /proc/PID/clear_refs) of n1 and
#                 n2, and the CPU time per MB of hub1, n1, n2 and the
#                 command's own processes (`zcnc trigger` and wc).
#    chain        the same to n3, through hub1 and hub2.
#    small        per-byte cost beside plain exec, both with max_output
#                 (1 MiB) bytes: `zcnc trigger n2:'yes | head -c 1048576'`
#                 and the same with --stream, beside `zcnc trigger n2:true`
#                 (the fixed cost); 3 x ZCNC_BENCH_STREAM_RUNS runs each.
#    ssh          `ssh 127.0.0.1 'yes | head -c B' | wc -c` (and `ssh
#                 127.0.0.1 true`, the fixed cost) through a
#                 throwaway sshd (ZCNC_BENCH_SSHD, else sshd on the PATH
#                 or /usr/sbin/sshd) on a free port of 127.0.0.1, with a
#                 throwaway host key, client key and config in the
#                 scratch directory (the system's ssh configuration is
#                 not read); skipped, with the reason, when there is no
#                 sshd or it refuses the config (as root it needs its
#                 privilege separation user `sshd`, which installing
#                 openssh-server creates).
#  Every command must print B (the count is checked). With
#  ZCNC_BENCH_STREAM_PERF=DIR, one more stream run, untimed, is profiled
#  with `perf record` on n1, n2, hub1 and the `zcnc trigger` process
#  (DIR/perf.n1.data ... perf.client.data; ZCNC_BENCH_STREAM_PERF_OPTS,
#  default "-F 999 -g", are perf record's options), and the top symbols
#  of each are printed.
#  Prints the date, the commit, the machine and the figures, then the
#  daemons' warnings (a hub refusing chunks over a link's budget: their
#  target sends them again) and hub1's counters. Stops exactly the
#  processes it started and removes its directory.
#
#  Environment: ZCNC_BENCH_STREAM (0: print that it is skipped and exit),
#  ZCNC_BENCH_STREAM_PARTS (which parts in which order, default "local
#  stream chain small ssh"), ZCNC_BENCH_STREAM_BYTES, ZCNC_BENCH_STREAM_RUNS,
#  ZCNC_BENCH_SSHD, ZCNC_BENCH_STREAM_PERF, ZCNC_BENCH_STREAM_PERF_OPTS.
#  Exit status: 0; 1 when the mesh did not come up or a command did not
#  print B; 2 on a usage error.

set -u
build=${1:-}
bytes=${ZCNC_BENCH_STREAM_BYTES:-200000000}
runs=${ZCNC_BENCH_STREAM_RUNS:-3}
parts=${ZCNC_BENCH_STREAM_PARTS:-local stream chain small ssh}
perf_dir=${ZCNC_BENCH_STREAM_PERF:-}
perf_opts=${ZCNC_BENCH_STREAM_PERF_OPTS:--F 999 -g}
[ $# -eq 1 ] && [ -x "$build/zcnc" ] || {
    echo "usage: sh bench/stream.sh BUILD_DIR (with BUILD_DIR/zcnc built: make zcnc)" >&2
    exit 2
}
for value in "$bytes" "$runs"; do
    case $value in
        ''|*[!0-9]*|0) echo "bench: ZCNC_BENCH_STREAM_BYTES and ZCNC_BENCH_STREAM_RUNS are whole numbers >= 1 ('$value' is not)" >&2; exit 2 ;;
    esac
done
for part in $parts; do
    case $part in
        local|stream|chain|small|ssh) ;;
        *) echo "bench: unknown part '$part' in ZCNC_BENCH_STREAM_PARTS (local, stream, chain, small, ssh)" >&2; exit 2 ;;
    esac
done
if [ "${ZCNC_BENCH_STREAM:-1}" = 0 ]; then
    echo "zcnc stream benchmark: skipped (ZCNC_BENCH_STREAM=0)"
    exit 0
fi
if [ -n "$perf_dir" ]; then
    mkdir -p "$perf_dir" && perf_dir=$(cd "$perf_dir" && pwd) || exit 2
fi
build=$(cd "$build" && pwd)
zcnc=$build/zcnc
dir=$(mktemp -d /tmp/zcnc-stream.XXXXXX) || exit 1
pids=
. "$(dirname "$0")/lib.sh"

#  Runs COMMAND (a shell command line printing a byte count) $runs times;
#  each must print EXPECTED (else status 1). Sets t to the median wall
#  time in seconds, times to every run's, and client_ms to the CPU time
#  (ms) of the command's own processes over all runs. timed EXPECTED COMMAND
timed () {
    expected=$1
    times=
    client_ms=0
    run=1
    while [ $run -le "$runs" ]; do
        t0=$(now)
        got=$(sh -c "$2; times >&2" 2>"$dir/timed.err")
        t1=$(now)
        #  The last line of `times`: the user and system time of the
        #  command's processes, as "0m1.230000s 0m0.450000s".
        client_ms=$(add_times_ms "$client_ms" "$dir/timed.err")
        got=$(echo $got)
        if [ "$got" != "$expected" ]; then
            echo "bench: '$2' printed '$got', not $expected: $(head -c 300 "$dir/timed.err")" >&2
            status=1
        fi
        times="$times $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
        run=$((run + 1))
    done
    t=$(median $times)
}

mkdir "$dir/keys"
"$zcnc" keygen --hub hub1 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen --hub hub2 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen n1 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen n2 -d "$dir/keys" >/dev/null &&
"$zcnc" keygen n3 -d "$dir/keys" >/dev/null || fail "zcnc keygen failed"

start_hub1
hub1_pid=$hub_pid
hub1_endpoint=$endpoint
start_agent n1
start_agent n2
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
printf 'zcnc\n    name = n3\n    keys = %s/keys\n    data = %s/n3\nagent\n    hub = hub2@%s\n' \
    "$dir" "$dir" "$hub2_endpoint" >"$dir/n3.cfg"
"$zcnc" agent -c "$dir/n3.cfg" 2>"$dir/n3.log" &
n3_pid=$!
pids="$pids $n3_pid"
online () {
    json=$("$zcnc" nodes -c "$dir/n1.cfg" --json) &&
    echo "$json" | grep -q '"name":"n2","online":true' &&
    echo "$json" | grep -q '"name":"n3","online":true'
}
wait_tenths=200
wait_for online || fail "n1 does not see n2 and n3 online after 20 s"

echo "zcnc stream benchmark (issue 15): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "source tree: commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown); build: $build"
machine
echo "mesh: n1 -> hub1 ($hub1_endpoint) -> n2; n1 -> hub1 -> hub2 ($hub2_endpoint) -> n3; CURVE, e2e on"
echo "each figure: the median wall time of $runs runs of the whole command, $bytes bytes"
status=0
mb=$(calc "$bytes / 1000000")
trigger="$zcnc trigger -c $dir/n1.cfg -t 600"

for part in $parts; do
case $part in
local)
    echo
    echo "== local: yes | head -c $bytes | wc -c"
    timed "$bytes" "yes | head -c $bytes | wc -c"
    echo "local_pipe              $(rate "$bytes" "$t") MB/s ($t s; runs:$times; yes, head and wc: $(calc "$client_ms / ($mb * $runs)") ms of CPU per MB)"
    ;;
stream)
    echo
    echo "== stream: n1 -> hub1 -> n2"
    for pid in "$n1_pid" "$n2_pid" "$hub1_pid"; do reset_peak "$pid"; done
    before=$(cpu_now "$hub1_pid" "$n1_pid" "$n2_pid")
    timed "$bytes" "$trigger --stream \"n2:yes | head -c $bytes\" | wc -c"
    after=$(cpu_now "$hub1_pid" "$n1_pid" "$n2_pid")
    echo "stream_one_hub          $(rate "$bytes" "$t") MB/s ($t s; runs:$times)"
    echo "  peak RSS: origin n1 $(peak_rss "$n1_pid") kB, target n2 $(peak_rss "$n2_pid") kB, hub1 $(peak_rss "$hub1_pid") kB"
    echo "  $(cpu_per_mb "$before" "$after" "$(calc "$mb * $runs")" hub1 n1 n2); client (zcnc trigger, wc) $(calc "$client_ms / ($mb * $runs)")"
    ;;
chain)
    echo
    echo "== chain: n1 -> hub1 -> hub2 -> n3"
    for pid in "$n1_pid" "$n3_pid" "$hub1_pid" "$hub2_pid"; do reset_peak "$pid"; done
    before=$(cpu_now "$hub1_pid" "$hub2_pid" "$n1_pid" "$n3_pid")
    timed "$bytes" "$trigger --stream \"n3:yes | head -c $bytes\" | wc -c"
    after=$(cpu_now "$hub1_pid" "$hub2_pid" "$n1_pid" "$n3_pid")
    echo "stream_two_hubs         $(rate "$bytes" "$t") MB/s ($t s; runs:$times)"
    echo "  peak RSS: origin n1 $(peak_rss "$n1_pid") kB, target n3 $(peak_rss "$n3_pid") kB, hub1 $(peak_rss "$hub1_pid") kB, hub2 $(peak_rss "$hub2_pid") kB"
    echo "  $(cpu_per_mb "$before" "$after" "$(calc "$mb * $runs")" hub1 hub2 n1 n3); client (zcnc trigger, wc) $(calc "$client_ms / ($mb * $runs)")"
    ;;
small)
    echo
    echo "== small: 1048576 bytes (max_output), exec beside exec_stream, n1 -> hub1 -> n2"
    runs_saved=$runs
    runs=$((runs * 3))
    timed 0 "$trigger n2:true | wc -c"
    t_true=$t true_times=$times
    timed 1048576 "$trigger \"n2:yes | head -c 1048576\" | wc -c"
    t_exec=$t exec_times=$times
    timed 1048576 "$trigger --stream \"n2:yes | head -c 1048576\" | wc -c"
    t_stream=$t
    runs=$runs_saved
    echo "exec_true               $t_true s (runs:$true_times): the fixed cost of a whole \`zcnc trigger\`"
    echo "exec_1MiB               $(rate 1048576 "$t_exec") MB/s ($t_exec s; runs:$exec_times)"
    echo "stream_1MiB             $(rate 1048576 "$t_stream") MB/s ($t_stream s; runs:$times)"
    ;;
ssh)
    echo
    echo "== ssh: 127.0.0.1, a throwaway sshd"
    sshd=${ZCNC_BENCH_SSHD:-$(command -v sshd 2>/dev/null || { [ -x /usr/sbin/sshd ] && echo /usr/sbin/sshd; })}
    ssh_why=
    if [ -z "$sshd" ]; then
        ssh_why="no sshd (apt-get install openssh-server, or ZCNC_BENCH_SSHD=PATH)"
    elif ! command -v ssh >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1; then
        ssh_why="no ssh or ssh-keygen (apt-get install openssh-client)"
    elif ! ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_key" </dev/null ||
         ! ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_client_key" </dev/null; then
        ssh_why="ssh-keygen failed"
    else
        cp "$dir/ssh_client_key.pub" "$dir/authorized_keys"
        chmod 600 "$dir/authorized_keys"
        #  A free port: bind to 0 and read what the kernel chose.
        ssh_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)
        cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port ${ssh_port:-0}
HostKey $dir/ssh_host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PrintMotd no
EOF
        if [ -z "$ssh_port" ]; then
            ssh_why="no free port (python3 picks it)"
        elif ! "$sshd" -t -f "$dir/sshd_config" >"$dir/sshd-t.log" 2>&1; then
            ssh_why="$sshd refuses the throwaway config: $(tr '\n' ' ' <"$dir/sshd-t.log")"
        else
            "$sshd" -D -e -f "$dir/sshd_config" 2>"$dir/sshd.log" &
            sshd_pid=$!
            pids="$pids $sshd_pid"
            ssh="ssh -F /dev/null -i $dir/ssh_client_key -o IdentitiesOnly=yes -o BatchMode=yes"
            ssh="$ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=$dir/known_hosts -o LogLevel=ERROR"
            ssh="$ssh -p $ssh_port $(id -un)@127.0.0.1"
            wait_for $ssh true || ssh_why="ssh to the throwaway sshd failed: $(tail -n 3 "$dir/sshd.log" | tr '\n' ' ')"
        fi
    fi
    if [ -n "$ssh_why" ]; then
        echo "ssh                     skipped: $ssh_why"
    else
        cipher=$($ssh -v true 2>&1 | sed -n 's/.*kex: server->client cipher: \([^ ]*\).*/\1/p' | head -n 1)
        timed 0 "$ssh true | wc -c"
        ssh_setup=$t
        timed "$bytes" "$ssh 'yes | head -c $bytes' | wc -c"
        echo "ssh                     $(rate "$bytes" "$t") MB/s ($t s; runs:$times; $($ssh -V 2>&1), cipher ${cipher:-?}; ssh and wc: $(calc "$client_ms / ($mb * $runs)") ms of CPU per MB; \`ssh true\` alone: $ssh_setup s)"
    fi
    ;;
esac
done

if [ -n "$perf_dir" ]; then
    echo
    echo "== profile: one more stream run n1 -> hub1 -> n2 under perf record $perf_opts ($perf_dir)"
    perf_pids=
    for node in n1 n2 hub1; do
        eval "pid=\$${node}_pid"
        perf record $perf_opts -o "$perf_dir/perf.$node.data" -p "$pid" 2>"$dir/perf.$node.log" &
        perf_pids="$perf_pids $!"
    done
    sleep 0.5
    got=$(perf record $perf_opts -o "$perf_dir/perf.client.data" -- \
          $trigger --stream "n2:yes | head -c $bytes" 2>"$dir/perf.client.log" | wc -c)
    for pid in $perf_pids; do
        kill -INT "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    [ "$(echo $got)" = "$bytes" ] || { echo "bench: the profiled run printed '$got'" >&2; status=1; }
    for node in n1 n2 hub1 client; do
        echo "-- $node: top symbols (self, all threads)"
        perf report -i "$perf_dir/perf.$node.data" --no-children --sort dso,sym --percent-limit 1.5 \
            --stdio -g none 2>/dev/null | grep -v '^#' | sed '/^$/d' | head -n 25
    done
fi

#  What went wrong on the way: the daemons' warnings (a hub refusing
#  chunks over a link's budget: their target sends them again later).
grep -h -E ' (warn|error):' "$dir"/hub1.log "$dir"/hub2.log "$dir"/n[123].log 2>/dev/null | head -n 20 |
    sed 's/^/  log: /'
stop_one "$hub1_pid"
sed -n 's/.*info: \(hub hub1 stopped .*\)/\1/p' "$dir/hub1.log"
exit $status
