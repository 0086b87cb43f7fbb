#!/bin/sh
#  bench/pubsub.sh BUILD_DIR — the pub/sub benchmark of issue 13, with
#  NATS and MQTT measured beside zcnc in the same run (`make bench`).
#
#  Sets up a throwaway mesh under /tmp (keys from `zcnc keygen`, one hub
#  on tcp://127.0.0.1:*, CURVE on every link as always): agents p1 (the
#  publisher's), s1 (the subscriber's) and f1..fN (fan-out), all on the
#  one hub; waits until p1 sees them all online. When they are installed
#  and BUILD_DIR/bench/bench-pubsub was built with their client libraries
#  (`bench-pubsub features`), it also starts, on 127.0.0.1 only:
#    nats-server   twice: without TLS, and with TLS (a self-signed
#                  certificate for localhost made with openssl here), each
#                  on a port it picks itself (port -1, read from its log);
#    mosquitto     one listener on a port that was free a moment before
#                  (three tries), anonymous, no persistence, defaults
#                  otherwise.
#  A baseline that cannot run is skipped with a note. Then, with
#  BUILD_DIR/bench/bench-pubsub (its header says exactly what it measures):
#    throughput  one publisher -> one subscriber through one broker,
#                $ZCNC_BENCH_PUBS messages of $ZCNC_BENCH_PUB_SIZE bytes,
#                $ZCNC_BENCH_PUBSUB_RUNS runs each (the table has the
#                median): zcnc signed (the default) and --unsigned (p1's
#                socket -> hub -> s1's socket), pipelined (1000 requests
#                in flight), then both with one request in flight (a
#                tenth of the messages), then both batched: requests of
#                $ZCNC_BENCH_PUB_BATCH messages ("data":[...]), at most
#                1000 / that many of them in flight (at least 4), to a
#                "batch":true subscription (a line per publication
#                batch); NATS, NATS over TLS, MQTT QoS 0; with the
#                servers' CPU time per message (from /proc);
#    fanout      one message to $ZCNC_BENCH_FANOUT_SUBS subscriptions,
#                $ZCNC_BENCH_FANOUT_ROUNDS rounds: zcnc signed and unsigned
#                with the subscriptions spread over f1..fN, one per socket
#                connection, zcnc signed with all of an agent's on one
#                connection, and zcnc signed with a connection per
#                subscription again, each with "batch":true; NATS and
#                NATS over TLS with them spread over 10 connections,
#                NATS over TLS with a connection per subscription;
#                MQTT QoS 0 with a client connection per
#                subscription (an MQTT client gets one copy per message).
#  Prints the date, the source tree's commit, the machine and the
#  versions first, the figures as they come, the hub's counters, and one
#  table at the end. Stops exactly the processes it started (SIGTERM,
#  SIGKILL after 5 s) and removes its directory, also on failure or a
#  signal.
#
#  Environment: ZCNC_BENCH_PUBSUB (parts, default "throughput fanout");
#  ZCNC_BENCH_PUBS (messages per throughput run, default 100000);
#  ZCNC_BENCH_PUBSUB_RUNS (runs per throughput figure, default 3);
#  ZCNC_BENCH_PUB_SIZE (bytes per message, default 100);
#  ZCNC_BENCH_PUB_BATCH (messages per request in the batched zcnc rows,
#  default 100, at most 1024 and a request line of at most 64 KiB);
#  ZCNC_BENCH_FANOUT_SUBS (default 1000), ZCNC_BENCH_FANOUT_AGENTS
#  (agents f1..fN holding them, default 10), ZCNC_BENCH_FANOUT_ROUNDS
#  (default 50); ZCNC_BENCH_PERF=1 records the hub, p1 and s1 with
#  `perf record -g` during one zcnc throughput row and prints their top
#  symbols: ZCNC_BENCH_PERF_ROW (default "signed"; e.g. "unsigned,
#  batched"), their perf.data files copied into ZCNC_BENCH_PERF_KEEP
#  (a directory) when set; ZCNC_BENCH_ROWS, a regular expression, keeps only the zcnc
#  throughput rows it matches (default: all).
#  Exit status: 0 once the figures are printed; 1 when the mesh did not
#  come up or a zcnc measurement failed; 2 on a usage error.

set -u
build=${1:-}
parts=${ZCNC_BENCH_PUBSUB:-throughput fanout}
count=${ZCNC_BENCH_PUBS:-100000}
size=${ZCNC_BENCH_PUB_SIZE:-100}
pub_batch=${ZCNC_BENCH_PUB_BATCH:-100}
subs=${ZCNC_BENCH_FANOUT_SUBS:-1000}
fan_agents=${ZCNC_BENCH_FANOUT_AGENTS:-10}
rounds=${ZCNC_BENCH_FANOUT_ROUNDS:-50}
runs=${ZCNC_BENCH_PUBSUB_RUNS:-3}
perf_row=${ZCNC_BENCH_PERF_ROW:-signed}
row_filter=${ZCNC_BENCH_ROWS:-.}
usage () {
    echo "usage: sh bench/pubsub.sh BUILD_DIR (with BUILD_DIR/zcnc and BUILD_DIR/bench/bench-pubsub built: make zcnc bench/bench-pubsub)" >&2
    exit 2
}
[ $# -eq 1 ] && [ -x "$build/zcnc" ] && [ -x "$build/bench/bench-pubsub" ] || usage
for part in $parts; do
    case $part in
        throughput|fanout) ;;
        *) echo "bench: unknown part '$part' in ZCNC_BENCH_PUBSUB (throughput, fanout)" >&2; exit 2 ;;
    esac
done
for value in "$count" "$size" "$pub_batch" "$subs" "$fan_agents" "$rounds" "$runs"; do
    case $value in
        ''|*[!0-9]*|0) echo "bench: the ZCNC_BENCH_PUB* and ZCNC_BENCH_FANOUT_* settings are whole numbers >= 1 ('$value' is not)" >&2; exit 2 ;;
    esac
done
[ "$fan_agents" -le 60 ] || { echo "bench: ZCNC_BENCH_FANOUT_AGENTS is at most 60" >&2; exit 2; }
[ "$runs" -le 32 ] || { echo "bench: ZCNC_BENCH_PUBSUB_RUNS is at most 32" >&2; exit 2; }
[ "$pub_batch" -le 1024 ] || { echo "bench: ZCNC_BENCH_PUB_BATCH is at most 1024" >&2; exit 2; }
#  Batched requests in flight: about as many messages as the pipelined
#  rows' 1000 requests, and at least 4 requests.
batch_window=$(( (1000 + pub_batch - 1) / pub_batch ))
[ "$batch_window" -ge 4 ] || batch_window=4
build=$(cd "$build" && pwd)
zcnc=$build/zcnc
bp=$build/bench/bench-pubsub
dir=$(mktemp -d /tmp/zcnc-pubsub.XXXXXX) || exit 1
pids=

. "$(dirname "$0")/lib.sh"

features=$("$bp" features)
fan_names=
i=1
while [ $i -le "$fan_agents" ]; do
    fan_names="$fan_names f$i"
    i=$((i + 1))
done

mkdir "$dir/keys"
"$zcnc" keygen --hub hub1 -d "$dir/keys" >/dev/null || fail "zcnc keygen failed"
for name in p1 s1 $fan_names; do
    "$zcnc" keygen "$name" -d "$dir/keys" >/dev/null || fail "zcnc keygen $name failed"
done
start_hub1
for name in p1 s1 $fan_names; do
    start_agent "$name"
done
all_online () {
    [ "$("$zcnc" nodes -c "$dir/p1.cfg" --json | grep -o '"online":true' | wc -l)" -ge $((fan_agents + 2)) ]
}
wait_tenths=300
wait_for all_online || fail "p1 does not see all $((fan_agents + 2)) agents online after 30 s"
wait_tenths=100

#  The table's rows: FIGURE<TAB>SYSTEM<TAB>VALUE<TAB>DETAIL.
rows=$dir/rows
: >"$rows"
row () {
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$rows"
}
#  A baseline that cannot run: a note now and a row in the table.
skip () {
    echo "  skipped: $2 ($3)"
    row "$1" "$2" "skipped" "$3"
}

echo "zcnc pub/sub benchmark (issue 13): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
src=$(dirname "$0")/..
changed=
git -C "$src" diff --quiet HEAD -- src include 2>/dev/null || changed=" with uncommitted changes in src/ or include/"
echo "source tree: commit $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)$changed (BUILD_DIR may be older)"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "mesh: p1, s1,$fan_names -> hub1 ($endpoint, CURVE); bench-pubsub built with: $features"

#  ---------------------------------------------------------------------
#  The baselines' servers

#  Debian puts mosquitto in /usr/sbin, which a user's PATH may lack.
mosquitto=$(command -v mosquitto 2>/dev/null || { [ -x /usr/sbin/mosquitto ] && echo /usr/sbin/mosquitto; })
nats_why= mqtt_why=
case " $features " in
    *" nats "*) ;;
    *) nats_why="bench-pubsub built without libnats (apt-get install libnats-dev, then make bench/bench-pubsub)" ;;
esac
case " $features " in
    *" mqtt "*) [ -n "$mosquitto" ] || mqtt_why="mosquitto not installed (apt-get install mosquitto)" ;;
    *) mqtt_why="bench-pubsub built without libmosquitto (apt-get install libmosquitto-dev, then make bench/bench-pubsub)" ;;
esac
start_nats_baselines "$nats_why"
mqtt_version=
if [ -z "$mqtt_why" ]; then
    mqtt_version=$("$mosquitto" -h 2>&1 | head -n 1)
    tries=0
    mqtt_port=
    while [ -z "$mqtt_port" ] && [ $tries -lt 3 ]; do
        tries=$((tries + 1))
        port=$("$bp" free-port) || break
        printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n' \
            "$port" >"$dir/mosquitto.conf"
        "$mosquitto" -c "$dir/mosquitto.conf" 2>"$dir/mosquitto.log" &
        mqtt_pid=$!
        pids="$pids $mqtt_pid"
        mqtt_running () {
            grep -q ' running$' "$dir/mosquitto.log" || ! kill -0 "$mqtt_pid"
        }
        wait_for mqtt_running
        if grep -q ' running$' "$dir/mosquitto.log" && kill -0 "$mqtt_pid" 2>/dev/null; then
            mqtt_port=$port
        else
            stop_one "$mqtt_pid"
        fi
    done
    [ -n "$mqtt_port" ] || { mqtt_why="mosquitto did not start"; tail -n 5 "$dir/mosquitto.log"; }
fi
echo "baselines: ${nats_version:-no NATS}; ${mqtt_version:-no mosquitto}; $(openssl version 2>/dev/null || echo no openssl)"
status=0

#  Runs bench-pubsub: its lines printed, its rows kept. bench ARGS...
bench () {
    "$bp" "$@" >"$dir/bench.out" 2>"$dir/bench.err"
    rc=$?
    grep -v '^row' "$dir/bench.out"
    sed 's/^/  /' "$dir/bench.err"
    sed -n 's/^row\t//p' "$dir/bench.out" >>"$rows"
    return $rc
}

#  The CPU time of each argument, in ms, space-separated; an argument is
#  a PID or PIDs joined by commas (their sum).
cpu_of () {
    for group in "$@"; do
        sum=0
        for pid in $(echo "$group" | tr ',' ' '); do
            sum=$(awk -v a="$sum" -v b="$(cpu_ms "$pid")" 'BEGIN { print a + b }')
        done
        printf '%s ' "$sum"
    done
}
#  The CPU time per message of NAME=PID pairs (PID may be PID,PID,...:
#  their sum) over a command, as a row of the table after the figure's.
#  cpu_per_message SYSTEM MESSAGES NAME=PID... -- COMMAND...
cpu_per_message () {
    system=$1 messages=$2
    shift 2
    names= cpu_pids=
    while [ "$1" != -- ]; do
        names="$names ${1%%=*}"
        cpu_pids="$cpu_pids ${1#*=}"
        shift
    done
    shift
    before=$(cpu_of $cpu_pids)
    "$@"
    rc=$?
    after=$(cpu_of $cpu_pids)
    text=$(echo "$names|$before|$after" | awk -F '|' -v n="$messages" '{
        k = split($1, name, " "); split($2, b, " "); split($3, a, " ")
        for (i = 1; i <= k; i++) printf "%s%s %.1f", (i > 1 ? ", " : ""), name[i], (a[i] - b[i]) * 1000 / n
    }')
    echo "  server CPU per message (us, /proc, 10 ms ticks): $text"
    row "" "  $system: server CPU/msg" "$text us" "user+system CPU time over the figure, per message published"
    return $rc
}

#  perf record of the hub, p1 and s1 while a command runs, when asked
#  for and perf works; their top symbols after.
perf_ok=false
if [ "${ZCNC_BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null 2>&1 &&
   perf record -o /dev/null true >/dev/null 2>&1; then
    perf_ok=true
fi
profiled () {
    perf_pids=
    if $perf_ok; then
        for node in hub p1 s1; do
            eval "pid=\$${node}_pid"
            perf record -g -o "$dir/perf.$node" -p "$pid" >/dev/null 2>&1 &
            perf_pids="$perf_pids $!"
        done
        sleep 0.5                   #  perf attaches
    fi
    "$@"
    rc=$?
    for pid in $perf_pids; do
        kill -INT "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if $perf_ok; then
        for node in hub p1 s1; do
            echo "  perf, $node: top symbols (self, % of its samples)"
            perf report -i "$dir/perf.$node" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
                grep -v '^#' | grep '%' | head -n 15 | sed 's/[ -]*$//; s/^/    /'
            [ -n "${ZCNC_BENCH_PERF_KEEP:-}" ] && cp "$dir/perf.$node" "$ZCNC_BENCH_PERF_KEEP/"
        done
    fi
    return $rc
}

throughput_figure="throughput, 1 pub -> 1 sub, $size B"
fanout_figure="fan-out to $subs, last copy"
fan_sockets=
for name in $fan_names; do
    fan_sockets="$fan_sockets --sub $dir/$name/zcnc.sock"
done
per_agent=$(( (subs + fan_agents - 1) / fan_agents ))

for part in $parts; do
case $part in
throughput)
    echo
    echo "== throughput: one publisher -> one subscriber through one broker, $count messages of $size bytes"
    common="--count $count --size $size --runs $runs"
    #  Pipelined (the agent batches what one turn of its loop takes), then
    #  one request at a time (a tenth of the messages: a round trip each),
    #  then batched (requests of $pub_batch messages to a "batch":true
    #  subscription, as a NATS client writes many messages at once).
    for variant in signed unsigned "signed, 1 in flight" "unsigned, 1 in flight" \
                   "signed, batched" "unsigned, batched"; do
        echo "$variant" | grep -Eq -- "$row_filter" || continue
        flag= n=$count window=1000
        case $variant in unsigned*) flag=--unsigned ;; esac
        case $variant in *flight) window=1 n=$(( count / 10 > 1000? count / 10: 1000 )) ;; esac
        case $variant in *batched) window=$batch_window flag="$flag --pub-batch $pub_batch --sub-batch" ;; esac
        run=cpu_per_message
        [ "$variant" = "$perf_row" ] && run="profiled cpu_per_message"
        $run "zcnc $variant" "$((n * runs))" hub="$hub_pid" p1="$p1_pid" s1="$s1_pid" -- \
            bench zcnc-throughput --label "zcnc $variant" --pub "$dir/p1/zcnc.sock" --sub "$dir/s1/zcnc.sock" \
                $flag --window $window --count $n --size "$size" --runs "$runs" ||
            { echo "bench: zcnc $variant throughput failed" >&2; status=1; }
    done
    if [ -z "$nats_why" ]; then
        cpu_per_message "NATS" "$((count * runs))" nats-server="$nats_plain_pid" -- \
            bench nats-throughput --label "NATS" --url "$nats_url" $common ||
            echo "bench: the NATS throughput failed" >&2
    else
        skip "$throughput_figure" "NATS" "$nats_why"
    fi
    if [ -z "$nats_tls_why" ]; then
        cpu_per_message "NATS TLS" "$((count * runs))" nats-server="$nats_tls_pid" -- \
            bench nats-throughput --label "NATS TLS" --url "$nats_tls_url" --ca "$dir/tls.crt" $common ||
            echo "bench: the NATS TLS throughput failed" >&2
    else
        skip "$throughput_figure" "NATS TLS" "$nats_tls_why"
    fi
    if [ -z "$mqtt_why" ]; then
        cpu_per_message "MQTT QoS 0" "$((count * runs))" mosquitto="$mqtt_pid" -- \
            bench mqtt-throughput --label "MQTT QoS 0 (mosquitto)" --port "$mqtt_port" $common ||
            echo "bench: the MQTT throughput failed" >&2
    else
        skip "$throughput_figure" "MQTT QoS 0 (mosquitto)" "$mqtt_why"
    fi
    ;;
fanout)
    echo
    echo "== fan-out: one message to $subs subscriptions, $rounds rounds (+5 warm-up), time until the last has it"
    common="--subs $subs --rounds $rounds --size $size"
    #  CPU per message published (all rounds, warm-up and probes too:
    #  about rounds + 6), for all its copies.
    n=$((rounds + 6))
    fan_pids=
    for name in $fan_names; do
        eval "fan_pids=\"\$fan_pids,\$${name}_pid\""
    done
    fan_pids=${fan_pids#,}
    for variant in signed unsigned "signed, 1 conn/agent" "signed, batch subs"; do
        flag= per_conn=1
        [ "$variant" = unsigned ] && flag=--unsigned
        case $variant in *agent) per_conn=$per_agent ;; esac
        case $variant in *subs) flag=--sub-batch ;; esac
        cpu_per_message "zcnc $variant" "$n" hub="$hub_pid" p1="$p1_pid" "f1..f$fan_agents"="$fan_pids" -- \
            bench zcnc-fanout --label "zcnc $variant" $flag --per-conn "$per_conn" \
                --pub "$dir/p1/zcnc.sock" $fan_sockets $common ||
            { echo "bench: zcnc fan-out ($variant) failed" >&2; status=1; }
    done
    if [ -z "$nats_why" ]; then
        cpu_per_message "NATS" "$n" nats-server="$nats_plain_pid" -- \
            bench nats-fanout --label "NATS" --url "$nats_url" $common ||
            echo "bench: the NATS fan-out failed" >&2
    else
        skip "$fanout_figure" "NATS" "$nats_why"
    fi
    if [ -z "$nats_tls_why" ]; then
        cpu_per_message "NATS TLS" "$n" nats-server="$nats_tls_pid" -- \
            bench nats-fanout --label "NATS TLS" --url "$nats_tls_url" --ca "$dir/tls.crt" $common ||
            echo "bench: the NATS TLS fan-out failed" >&2
        #  As zcnc's first rows: a connection per subscription (as 1000
        #  subscriber processes would hold; libnats reads each on a
        #  thread of its own).
        cpu_per_message "NATS TLS, 1 conn/sub" "$n" nats-server="$nats_tls_pid" -- \
            bench nats-fanout --label "NATS TLS, 1 conn/sub" --url "$nats_tls_url" --ca "$dir/tls.crt" \
                --conns "$subs" $common ||
            echo "bench: the NATS TLS fan-out with a connection per subscription failed" >&2
    else
        skip "$fanout_figure" "NATS TLS" "$nats_tls_why"
    fi
    if [ -z "$mqtt_why" ]; then
        cpu_per_message "MQTT QoS 0" "$n" mosquitto="$mqtt_pid" -- \
            bench mqtt-fanout --label "MQTT QoS 0 (mosquitto)" --port "$mqtt_port" $common ||
            echo "bench: the MQTT fan-out failed" >&2
    else
        skip "$fanout_figure" "MQTT QoS 0 (mosquitto)" "$mqtt_why"
    fi
    ;;
esac
done

#  The hub's counters: "publications lost" counts copies a full link lost.
echo
stop_one "$hub_pid"
sed -n 's/.*info: \(hub hub1 stopped .*\)/\1/p' "$dir/hub1.log"

echo
echo "== pub/sub (issue 13): the table"
awk -F '\t' '
    { figure[NR] = $1; system_[NR] = $2; value[NR] = $3; detail[NR] = $4
      if (length($1) > w1) w1 = length($1); if (length($2) > w2) w2 = length($2)
      if (length($3) > w3) w3 = length($3) }
    END {
        printf "%-" w1 "s  %-" w2 "s  %-" w3 "s  %s\n", "figure", "system", "value", "detail"
        for (i = 1; i <= NR; i++) {
            printf "%-" w1 "s  %-" w2 "s  %-" w3 "s  %s\n", figure[i] == last? "": figure[i], system_[i], value[i], detail[i]
            if (figure[i] != "")
                last = figure[i]
        }
    }' "$rows"
exit $status
