#  bench/lib.sh — what the bench/*.sh scripts share: the
#  processes they start ($pids) and their scratch directory ($dir), both
#  set before this file is sourced, are stopped and removed on exit, also
#  on a signal; bounded waits.

#  Stops the processes started here: SIGTERM, up to 5 s, then SIGKILL.
stop_all () {
    for pid in $pids; do
        kill "$pid" 2>/dev/null
    done
    for pid in $pids; do
        tries=0
        while kill -0 "$pid" 2>/dev/null && [ $tries -lt 50 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    pids=
}
cleanup () {
    trap '' HUP INT PIPE TERM           #  a second signal must not cut it short
    stop_all
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

#  Drops a PID that has ended from $pids.
forget () {
    rest=
    for pid in $pids; do
        [ "$pid" = "$1" ] || rest="$rest $pid"
    done
    pids=$rest
}

#  Stops one process started here and drops it from $pids.
stop_one () {
    kill "$1" 2>/dev/null
    tries=0
    while kill -0 "$1" 2>/dev/null && [ $tries -lt 50 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    forget "$1"
}

#  Waits up to 10 s (or $wait_tenths tenths) for a command to succeed.
wait_for () {
    tries=0
    until "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ $tries -ge "${wait_tenths:-100}" ] && return 1
        sleep 0.1
    done
}

#  Prints the daemons' logs and fails (a script may define its own).
fail () {
    echo "bench: $*" >&2
    for log in "$dir"/*.log; do
        echo "--- $log" >&2
        tail -n 20 "$log" >&2
    done
    exit 1
}

#  Floating-point arithmetic for the shell: calc EXPRESSION.
calc () {
    awk "BEGIN { printf \"%.1f\", $1 }"
}

#  The median of the numbers given.
median () {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

#  CPU time (user + system) of a process, in ms.
cpu_ms () {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

#  Seconds since the epoch, with nanoseconds.
now () {
    date +%s.%N
}

#  The load average of the last minute.
load () {
    cut -d ' ' -f 1 /proc/loadavg
}

#  The machine line of a benchmark's header: cores, CPU model, memory,
#  kernel, load.
machine () {
    echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
}

#  Peak resident set (kB) of a process since its last reset.
peak_rss () {
    sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"
}

#  Resets it (Linux 4.0 and later; ignored where it cannot).
reset_peak () {
    echo 5 >"/proc/$1/clear_refs" 2>/dev/null
}

#  SUM plus the user and system time (ms) on the last line of FILE, where
#  the shell's `times` wrote them as "0m1.230000s 0m0.450000s":
#  add_times_ms SUM FILE.
add_times_ms () {
    tail -n 1 "$2" | awk -v sum="$1" '{
        for (i = 1; i <= 2; i++) { split ($i, p, "m"); sum += (p[1] * 60 + p[2]) * 1000 }
        print sum }'
}

#  MB/s (10^6 bytes) of BYTES in SECONDS.
rate () {
    calc "$1 / 1000000 / $2"
}

#  The CPU time (ms) of each process given, space-separated: cpu_now PID...
cpu_now () {
    for pid in "$@"; do
        printf '%s ' "$(cpu_ms "$pid")"
    done
}

#  CPU ms per MB between two cpu_now lists, for the names given:
#  cpu_per_mb "BEFORE" "AFTER" MB NAME...
cpu_per_mb () {
    before=$1 after=$2 mbs=$3
    shift 3
    set -- "$@" -- $before -- $after
    awk -v mbs="$mbs" 'BEGIN {
        n = 0; part = 0
        for (i = 1; i < ARGC; i++) {
            if (ARGV[i] == "--") { part++; k = 0; continue }
            if (part == 0) name[++n] = ARGV[i]
            else if (part == 1) b[++k] = ARGV[i]
            else a[++k] = ARGV[i]
        }
        for (i = 1; i <= n; i++) printf "%s%s %.2f", (i > 1 ? ", " : ""), name[i], (a[i] - b[i]) / mbs
        printf " ms of CPU per MB"
    }' "$@"
}

#  Starts hub1 ($zcnc, keys in $dir/keys) on a free port of 127.0.0.1 and
#  sets hub_pid and endpoint; fails when it writes no endpoints in 10 s.
#  ($hub_peer_timeout, when set, is the hub's peer_timeout.)
start_hub1 () {
    cat >"$dir/hub1.cfg" <<EOF
zcnc
    name = hub1
    keys = $dir/keys
    data = $dir/hub1
${hub_peer_timeout:+    peer_timeout = $hub_peer_timeout}
hub
    bind = tcp://127.0.0.1:*
EOF
    "$zcnc" hub -c "$dir/hub1.cfg" 2>"$dir/hub1.log" &
    hub_pid=$!
    pids="$pids $hub_pid"
    wait_for test -s "$dir/hub1/endpoints" || fail "the hub wrote no $dir/hub1/endpoints"
    endpoint=$(head -n 1 "$dir/hub1/endpoints")
}

#  Starts agent NAME of hub1 (at $endpoint), its config's agent section
#  ending with the lines given, and sets NAME_pid.
start_agent () {
    name=$1
    shift
    {
        printf 'zcnc\n    name = %s\n    keys = %s/keys\n    data = %s/%s\n' "$name" "$dir" "$dir" "$name"
        printf 'agent\n    hub = hub1@%s\n' "$endpoint"
        for line in "$@"; do
            printf '    %s\n' "$line"
        done
    } >"$dir/$name.cfg"
    "$zcnc" agent -c "$dir/$name.cfg" 2>"$dir/$name.log" &
    pids="$pids $!"
    eval "${name}_pid=\$!"
}

#  ---------------------------------------------------------------------
#  NATS beside zcnc (bench/pubsub.sh, bench/fleet.sh)

#  Starts nats-server with config file CONF, its log in LOG; sets
#  nats_pid and nats_port (read from the log). 1 when it did not listen
#  within 10 s.
start_nats () {
    "$nats_server" -c "$1" 2>"$2" &
    nats_pid=$!
    pids="$pids $nats_pid"
    nats_listening () {
        grep -q 'Listening for client connections on' "$2"
    }
    wait_for nats_listening "$1" "$2" || return 1
    nats_port=$(sed -n 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$2" | head -n 1)
    [ -n "$nats_port" ]
}

#  start_nats_baselines [WHY_NOT]: nats-server twice on 127.0.0.1 (port
#  -1: it picks a free one), plain and with TLS (a self-signed P-256
#  certificate for localhost and 127.0.0.1, made with openssl in $dir:
#  $dir/tls.crt, which clients trust). Sets nats_url, nats_plain_pid,
#  nats_tls_url, nats_tls_pid and nats_version, or nats_why and
#  nats_tls_why saying why one cannot run (WHY_NOT, when given, for both:
#  the client side is missing).
start_nats_baselines () {
    nats_why=${1:-} nats_tls_why= nats_version=
    #  Debian puts it in /usr/sbin, which a user's PATH may lack.
    nats_server=$(command -v nats-server 2>/dev/null || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; })
    [ -n "$nats_why" ] || [ -n "$nats_server" ] || nats_why="nats-server not installed (apt-get install nats-server)"
    if [ -n "$nats_why" ]; then
        nats_tls_why=$nats_why
        return
    fi
    nats_version=$("$nats_server" --version 2>&1 | head -n 1)
    printf 'host: 127.0.0.1\nport: -1\n' >"$dir/nats.conf"
    if start_nats "$dir/nats.conf" "$dir/nats.log"; then
        nats_plain_pid=$nats_pid
        nats_url=nats://127.0.0.1:$nats_port
    else
        nats_why="nats-server did not start (see its log above)"
        tail -n 5 "$dir/nats.log"
    fi
    if ! command -v openssl >/dev/null 2>&1; then
        nats_tls_why="openssl not installed (it makes the certificate)"
    elif ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -keyout "$dir/tls.key" -out "$dir/tls.crt" >"$dir/openssl.log" 2>&1; then
        nats_tls_why="openssl could not make a certificate"
        tail -n 5 "$dir/openssl.log"
    else
        printf 'host: 127.0.0.1\nport: -1\ntls {\n  cert_file: "%s"\n  key_file: "%s"\n}\n' \
            "$dir/tls.crt" "$dir/tls.key" >"$dir/nats-tls.conf"
        if start_nats "$dir/nats-tls.conf" "$dir/nats-tls.log"; then
            nats_tls_pid=$nats_pid
            nats_tls_url=tls://127.0.0.1:$nats_port
        else
            nats_tls_why="nats-server with TLS did not start"
            tail -n 5 "$dir/nats-tls.log"
        fi
    fi
}

#  ---------------------------------------------------------------------
#  A throwaway sshd on 127.0.0.1 (bench/copy.sh)

#  start_sshd: sshd -D on a free port of 127.0.0.1 with a host key, a
#  client key and a config of its own under $dir/ssh (nothing of the
#  system's ssh configuration is read or changed). sshd comes from
#  ZCNC_BENCH_SSHD, else the PATH or /usr/sbin/sshd; its SFTP server
#  (what scp speaks by default since OpenSSH 9.0) from
#  ZCNC_BENCH_SFTP_SERVER, else lib/openssh/sftp-server beside sshd's
#  directory or /usr/lib/openssh/sftp-server. As root, sshd needs its
#  privilege separation user `sshd` (installing openssh-server creates
#  it); without one, ZCNC_BENCH_SSH_USER names an unprivileged user to
#  run sshd as, who is then the only one it lets in. Sets ssh_opts (the
#  options every ssh and scp command needs), ssh_dest (USER@127.0.0.1),
#  ssh_port, ssh_dir (a directory that user may write), sshd_pid and
#  sftp_server (empty when there is none); or ssh_why, saying why not.
start_sshd () {
    ssh_why= sftp_server=
    sshd=${ZCNC_BENCH_SSHD:-$(command -v sshd 2>/dev/null || { [ -x /usr/sbin/sshd ] && echo /usr/sbin/sshd; })}
    ssh_user=$(id -un)
    as_user=
    if [ -z "$sshd" ]; then
        ssh_why="no sshd (apt-get install openssh-server, or ZCNC_BENCH_SSHD=PATH: bench/README.md says how to unpack one)"
        return
    fi
    case $sshd in /*) ;; *) sshd=$(command -v "$sshd") ;; esac    #  sshd wants an absolute path
    if ! command -v ssh >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1; then
        ssh_why="no ssh or ssh-keygen (apt-get install openssh-client)"
        return
    fi
    if [ "$(id -u)" = 0 ] && ! getent passwd sshd >/dev/null 2>&1; then
        if [ -z "${ZCNC_BENCH_SSH_USER:-}" ]; then
            ssh_why="as root, sshd needs its privilege separation user sshd, which is missing (set ZCNC_BENCH_SSH_USER to an unprivileged user to run sshd as)"
            return
        fi
        ssh_user=$ZCNC_BENCH_SSH_USER
        getent passwd "$ssh_user" >/dev/null 2>&1 || { ssh_why="no user $ssh_user (ZCNC_BENCH_SSH_USER)"; return; }
        #  setpriv execs sshd itself: $sshd_pid is sshd's.
        as_user="setpriv --reuid=$ssh_user --regid=$(id -g "$ssh_user") --init-groups --"
    fi
    for candidate in "${ZCNC_BENCH_SFTP_SERVER:-}" "$(dirname "$(dirname "$sshd")")/lib/openssh/sftp-server" \
                     /usr/lib/openssh/sftp-server; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            sftp_server=$candidate
            break
        fi
    done
    ssh_dir=$dir/ssh
    mkdir -p "$ssh_dir/in"
    if ! ssh-keygen -q -t ed25519 -N '' -f "$ssh_dir/host_key" </dev/null ||
       ! ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_client_key" </dev/null; then
        ssh_why="ssh-keygen failed"
        return
    fi
    cp "$dir/ssh_client_key.pub" "$ssh_dir/authorized_keys"
    chmod 600 "$ssh_dir/authorized_keys"
    #  A free port: bind to 0 and read what the kernel chose.
    ssh_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)
    if [ -z "$ssh_port" ]; then
        ssh_why="no free port (python3 picks it)"
        return
    fi
    cat >"$ssh_dir/sshd_config" <<EOC
ListenAddress 127.0.0.1
Port $ssh_port
HostKey $ssh_dir/host_key
PidFile $ssh_dir/sshd.pid
AuthorizedKeysFile $ssh_dir/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PrintMotd no
${sftp_server:+Subsystem sftp $sftp_server}
EOC
    if [ -n "$as_user" ]; then
        chmod 711 "$dir"
        chown -R "$ssh_user" "$ssh_dir" || { ssh_why="cannot give $ssh_dir to $ssh_user"; return; }
    fi
    if ! $as_user "$sshd" -t -f "$ssh_dir/sshd_config" >"$dir/sshd-t.log" 2>&1; then
        ssh_why="$sshd refuses the throwaway config: $(tr '\n' ' ' <"$dir/sshd-t.log")"
        return
    fi
    $as_user "$sshd" -D -e -f "$ssh_dir/sshd_config" 2>"$dir/sshd.log" &
    sshd_pid=$!
    pids="$pids $sshd_pid"
    ssh_opts="-F /dev/null -i $dir/ssh_client_key -o IdentitiesOnly=yes -o BatchMode=yes"
    ssh_opts="$ssh_opts -o StrictHostKeyChecking=no -o UserKnownHostsFile=$dir/known_hosts -o LogLevel=ERROR"
    ssh_dest=$ssh_user@127.0.0.1
    wait_for ssh $ssh_opts -p "$ssh_port" "$ssh_dest" true ||
        ssh_why="ssh to the throwaway sshd failed: $(tail -n 3 "$dir/sshd.log" | tr '\n' ' ')"
}
