# bench/sections/echo.sh - the echo-server figures (S14/S15/S21): cio's
# protocol, streams and socket echo servers measured side by side with the
# shared peer harness (../shared/bench/run-peers: c-epoll, uvloop...).
# Sourced by bench/run, which calls bench_echo; also usable alone:
#   bash -c 'source bench/sections/echo.sh; bench_echo'
#
# Environment: BUILD or CIO_BUILD_DIR (the build tree, default ./build),
# ECHO_ROUNDS (default 5), ECHO_ONLY (run-peers --only regex for the
# peers; default empty: every peer the harness has - asyncio, uvloop,
# Node.js, Go, libuv, c-epoll, c-uring - about 40 minutes for 5 rounds;
# 'c-epoll|py-uvloop' keeps the ones the target figures need, about 20),
# ECHO_IDLE_CONNS (default 10000).
#
# Ratios are c-epoll's (or uvloop's) server CPU per message divided by
# cio's (srv_us_per_msg, the median over the rounds), so > 1 means cio
# spends less CPU per message; the server-CPU figure does not depend on
# whether the load generator was the bottleneck. Prints one
# "BENCH <figure> <value> <unit>" line per figure; if bench/run's BENCH
# array and row function exist, the figures join its table too.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# _be_us NAME CONNS SIZE RATE FILE: median srv_us_per_msg of NAME's ok
# RESULT lines for that case.
_be_us() {
    awk -v n="$1" -v c="$2" -v s="$3" -v r="$4" '
        $1 == "RESULT" {
            delete kv
            for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
            if (kv["suite"] == "echo" && kv["name"] == n && kv["conns"] == c &&
                kv["size"] == s && kv["rate"] == r && kv["status"] == "ok" &&
                kv["errors"] == 0 && kv["srv_us_per_msg"] != "")
                print kv["srv_us_per_msg"]
        }' "$5" | bs_median
}

# _be_idle_rss BIN: resident bytes per idle connection, at N connections
# from one client process, loopback only.
_be_idle_rss() {
    local bin=$1 n=${ECHO_IDLE_CONNS:-10000} port pid rss0 rss1 py=/usr/bin/python3
    [[ -x $py ]] || { echo "note: idle RSS skipped: no $py" >&2; return 0; }
    port=$((20000 + RANDOM % 20000))
    (ulimit -n 20000 2>/dev/null; exec "$bin" --port "$port") >/dev/null 2>&1 &
    pid=$!
    local i
    for ((i = 0; i < 50; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    sleep 0.3
    rss0=$(awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$pid/status")
    rss1=$( (ulimit -n 20000 2>/dev/null
        exec "$py" -c '
import socket, sys, time, os
n, port, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    socks.append(s)
time.sleep(1.0)
with open("/proc/%s/status" % pid) as f:
    for line in f:
        if line.startswith("VmRSS"):
            print(int(line.split()[1]) * 1024)
for s in socks:
    s.close()
' "$n" "$port" "$pid") 2>/dev/null)
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [[ -n $rss0 && -n $rss1 ]] || return 0
    awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN { printf("%.0f", (b - a) / n) }'
}

bench_echo() {
    local root build rp rounds only tmp out
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    build=${BUILD:-${CIO_BUILD_DIR:-$root/build}}
    rp=$root/../shared/bench/run-peers
    rounds=${ECHO_ROUNDS:-5}
    only=${ECHO_ONLY-}
    local proto=$build/bench/echo_protocol streams=$build/bench/echo_streams
    local sock=$build/bench/echo_sock
    if [[ ! -x $proto || ! -x $streams ]]; then
        echo "note: $build/bench/echo_protocol or echo_streams missing (run make bench)" >&2
        return 1
    fi
    local idle_p idle_s
    idle_p=$(_be_idle_rss "$proto")
    idle_s=$(_be_idle_rss "$streams")
    if [[ ! -x $rp ]]; then
        echo "note: echo peer run skipped: no $rp" >&2
        bs_emit idle_conn_rss_bytes "$idle_p" bytes ""
        [[ -n $idle_s ]] && echo "BENCH idle_conn_rss_bytes_streams $idle_s bytes"
        return 0
    fi
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/cio-echo.XXXXXX") || return 1
    local args=(--suite echo
        --echo-target "cio-protocol=$proto --port {port}"
        --echo-target "cio-protocol-uring=$proto --backend uring --port {port}"
        --echo-target "cio-streams=$streams --port {port}")
    [[ -x $sock ]] && args+=(--echo-target "cio-sock=$sock --port {port}")
    args+=(--echo-cases "50x1024 500x1024 50x65536 50x1024@50000 500x1024@50000"
        --rounds "$rounds" --out "$tmp/report.md")
    [[ -n $only ]] && args+=(--only "$only")
    echo "bench: echo: run-peers ${args[*]}" >&2
    "$rp" "${args[@]}" >"$tmp/stdout" 2>"$tmp/stderr"
    local rc=$?
    cat "$tmp/stdout" >&2
    out=$tmp/all
    cat "$tmp/report.md" "$tmp/stdout" 2>/dev/null | sort -u >"$out"
    ((rc == 0)) || echo "note: run-peers exited with $rc: $(tail -n 3 "$tmp/stderr" | tr '\n' ' ')" >&2

    local ce cp cu cur cs ck uvp uvs best c64 p64 u64 s64 k64 b64
    ce=$(_be_us c-epoll 50 1024 0 "$out")
    cp=$(_be_us cio-protocol 50 1024 0 "$out")
    cu=$(_be_us cio-protocol-uring 50 1024 0 "$out")
    cur=$(_be_us c-uring 50 1024 0 "$out")
    cs=$(_be_us cio-streams 50 1024 0 "$out")
    ck=$(_be_us cio-sock 50 1024 0 "$out")
    uvp=$(_be_us py-uvloop-protocol 50 1024 0 "$out")
    uvs=$(_be_us py-uvloop-streams 50 1024 0 "$out")
    # cio's best API: the protocol server on either backend, streams or
    # sockets, whichever spends the least CPU per message
    best=$(printf '%s\n' $cp $cu $cs $ck | sort -g | head -n 1)
    c64=$(_be_us c-epoll 50 65536 0 "$out")
    p64=$(_be_us cio-protocol 50 65536 0 "$out")
    u64=$(_be_us cio-protocol-uring 50 65536 0 "$out")
    s64=$(_be_us cio-streams 50 65536 0 "$out")
    k64=$(_be_us cio-sock 50 65536 0 "$out")
    b64=$(printf '%s\n' $p64 $u64 $s64 $k64 | sort -g | head -n 1)

    bs_emit echo_protocol_ratio_vs_cepoll "$(bs_ratio "$ce" "$cp")" x ">= 0.95"
    # io_uring against its own practical limit, the hand-written server
    bs_emit echo_protocol_uring_ratio_vs_curing "$(bs_ratio "$cur" "$cu")" x ""
    bs_emit echo_protocol_uring_ratio_vs_cepoll "$(bs_ratio "$ce" "$cu")" x ""
    bs_emit echo_streams_ratio_vs_cepoll "$(bs_ratio "$ce" "$cs")" x ">= 0.85"
    [[ -x $sock ]] && bs_emit echo_sock_ratio_vs_cepoll "$(bs_ratio "$ce" "$ck")" x ">= 0.85"
    bs_emit echo_best_ratio_vs_uvloop "$(bs_ratio "$uvp" "$best")" x ">= 1.3"
    bs_emit echo_streams_ratio_vs_uvloop_streams "$(bs_ratio "$uvs" "$cs")" x ">= 1.5"
    bs_emit echo_64k_ratio_vs_cepoll "$(bs_ratio "$c64" "$b64")" x ">= 0.9"
    bs_emit idle_conn_rss_bytes "$idle_p" bytes ""
    [[ -n $idle_s ]] && echo "BENCH idle_conn_rss_bytes_streams $idle_s bytes"
    # The other peers of the run, against cio's best API (no targets).
    local n peer v fig
    for n in py-asyncio-protocol:asyncio py-asyncio-streams:asyncio_streams \
        node-net:node go-net:go libuv:libuv c-uring:curing; do
        peer=${n%%:*} fig=${n#*:}
        v=$(_be_us "$peer" 50 1024 0 "$out")
        [[ -n $v ]] && bs_emit "echo_best_ratio_vs_$fig" "$(bs_ratio "$v" "$best")" x ""
    done
    for peer in c-epoll c-uring libuv go-net node-net py-uvloop-protocol \
        py-uvloop-streams py-asyncio-protocol py-asyncio-streams \
        cio-protocol cio-protocol-uring cio-streams cio-sock; do
        v=$(_be_us "$peer" 50 1024 0 "$out")
        [[ -n $v ]] && echo "BENCH echo_srv_us_per_msg_50x1024_$peer $v us"
    done
    for n in "c-epoll:$c64" "cio-protocol:$p64" "cio-protocol-uring:$u64" \
        "cio-streams:$s64" "cio-sock:$k64"; do
        [[ -n ${n#*:} ]] && echo "BENCH echo_srv_us_per_msg_50x65536_${n%%:*} ${n#*:} us"
    done
    echo "note: echo report kept in $tmp/report.md" >&2
    return 0
}
