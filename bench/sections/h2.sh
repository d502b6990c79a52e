# bench/sections/h2.sh - the HTTP/2 figures (issue 13): h2load -c 50 -m 10
# GET / against cio::http's HTTP/2 server (build/bench/http_h2_server),
# h2o and Node's http2 module (bench/peers/h2_server.js), in the same run,
# rounds interleaved. Sourced by bench/run (section h2), which calls
# bench_h2; also usable alone:
#   bash -c 'source bench/sections/h2.sh; bench_h2'
#
# All three are served as h2c (HTTP/2 over cleartext TCP, prior knowledge):
# h2 over TLS (ALPN, design.md section 38) is not measured here.
#
# Each server runs pinned to CPU 0 (taskset), h2load to CPU 1. The figure
# is requests per second of SERVER CPU: h2load's succeeded requests divided
# by the user+system CPU time the server process used during the
# measured run (from /proc/PID/stat), so a load generator that cannot
# saturate the server (2 shared cores) does not decide the figure. A run
# with a failed or errored request does not count.
#
# Environment: BUILD or CIO_BUILD_DIR (default ./build), H2_ROUNDS
# (default 5), H2_SECONDS (measured seconds per run, default 5), H2_BASE
# (optional: another http_h2_server binary, e.g. main's, run in the same
# rounds right after cio's; its figure and cio / base per round are
# printed as h2_base_rps_per_cpu_s and h2_cio_vs_base, for A/B runs).
# Figures: h2_rps_per_cpu_s (cio, h2o, node),
#   h2_ratio_vs_h2o = cio / h2o (target >= 1.2),
#   h2_ratio_vs_node = cio / node (target >= 3).

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# _h2_cpu_ticks PID: user+system ticks of the server process (all its
# threads; the three servers run as one process each: h2o with
# num-threads 1, Node, cio).
_h2_cpu_ticks() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    # comm may hold spaces: count the fields after the last ")"
    awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' <<<"$s"
}

# _h2_start NAME CMD...: starts CMD in its own process group on CPU 0,
# waits (<= 15 s) for $H2_PORT; sets H2_PID.
_h2_start() {
    local name=$1 i
    shift
    setsid taskset -c 0 "$@" >"$H2_TMP/$name.log" 2>&1 &
    H2_PID=$!
    for ((i = 0; i < 150; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$H2_PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "note: h2: $name did not listen on $H2_PORT: $(tail -n 3 "$H2_TMP/$name.log" | tr '\n' ' ')" >&2
    _h2_stop
    return 1
}

_h2_stop() {
    [[ -n ${H2_PID:-} ]] || return 0
    kill -TERM -- "-$H2_PID" 2>/dev/null
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$H2_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$H2_PID" 2>/dev/null
    wait "$H2_PID" 2>/dev/null
    H2_PID=
}

# _h2_measure NAME: one warm-up and one measured h2load run against the
# server on $H2_PORT; prints requests per server-CPU second (or nothing).
_h2_measure() {
    local name=$1 url="http://127.0.0.1:$H2_PORT/" t0 t1 out ok hz
    hz=$(getconf CLK_TCK)
    timeout -k 5 30 taskset -c 1 h2load -c 50 -m 10 -D 1 "$url" >/dev/null 2>&1
    t0=$(_h2_cpu_ticks "$H2_PID")
    out=$(timeout -k 5 $((H2_SECONDS + 30)) taskset -c 1 \
        h2load -c 50 -m 10 -D "$H2_SECONDS" "$url" 2>&1)
    t1=$(_h2_cpu_ticks "$H2_PID")
    ok=$(awk '/^requests:/ { if ($10 == 0 && $12 == 0) print $8 }' <<<"$out")
    [[ ${VERBOSE:-0} == 1 ]] && echo "h2: $name: $(grep -E '^(finished|requests)' <<<"$out" | tr '\n' ' ') cpu_ticks=$((t1 - t0))" >&2
    if [[ -z $ok || $((t1 - t0)) -le 0 ]]; then
        echo "note: h2: $name run failed: $(grep -E '^requests:' <<<"$out")" >&2
        return 0
    fi
    awk -v n="$ok" -v t="$((t1 - t0))" -v hz="$hz" 'BEGIN { printf("%.0f", n / (t / hz)) }'
}

# _h2_launch NAME ROOT CIO: starts the server NAME on $H2_PORT (status 0),
# 1 if it did not listen, 2 if it is not installed.
_h2_launch() {
    local name=$1 root=$2 cio=$3
    case $name in
    cio) _h2_start cio "$cio" --port "$H2_PORT" ;;
    base) _h2_start base "$H2_BASE" --port "$H2_PORT" ;;
    h2o)
        command -v h2o >/dev/null || return 2
        {
            echo "num-threads: 1"
            echo "listen:"
            echo "  host: 127.0.0.1"
            echo "  port: $H2_PORT"
            [[ $(id -u) == 0 ]] && echo "user: nobody"
            echo "hosts:"
            echo "  default:"
            echo "    paths:"
            echo "      /:"
            echo "        file.file: $H2_TMP/hello.txt"
        } >"$H2_TMP/h2o.conf"
        _h2_start h2o h2o -c "$H2_TMP/h2o.conf" ;;
    node)
        command -v node >/dev/null || return 2
        _h2_start node node "$root/bench/peers/h2_server.js" "$H2_PORT" ;;
    esac
}

# _h2_median "V V ...": the median of a round list.
_h2_median() {
    tr ' ' '\n' <<<"$1" | sed '/^$/d' | bs_median
}

# _h2_per_round LABEL "A A ..." "B B ...": each round's A / B on stderr,
# for runs that straddle a target; only when both lists have every round
# (a missing one would pair the wrong rounds).
_h2_per_round() {
    local na nb
    na=$(wc -w <<<"$2")
    nb=$(wc -w <<<"$3")
    if ((na > 0 && na == nb)); then
        echo "h2: per round $1: $(paste -d' ' <(tr ' ' '\n' <<<"$2" | sed '/^$/d') <(tr ' ' '\n' <<<"$3" | sed '/^$/d') | awk '{ printf("%.3f ", $1 / $2) }')" >&2
    else
        echo "h2: per round $1: not paired ($na and $nb rounds)" >&2
    fi
}

bench_h2() {
    local root build rounds r name v
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    build=${BUILD:-${CIO_BUILD_DIR:-$root/build}}
    rounds=${H2_ROUNDS:-5}
    H2_SECONDS=${H2_SECONDS:-5}
    local cio=$build/bench/http_h2_server
    if ! command -v h2load >/dev/null; then
        echo "note: h2: h2load missing (Debian nghttp2-client): not measured" >&2
        return 0
    fi
    if [[ ! -x $cio ]]; then
        echo "note: h2: $cio missing (run make bench)" >&2
        return 1
    fi
    H2_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cio-h2.XXXXXX") || return 1
    # h2o's file handler serves hello.txt; as root h2o runs as nobody, so
    # the directory must be world-readable.
    chmod 755 "$H2_TMP"
    printf 'Hello, World!' >"$H2_TMP/hello.txt"
    chmod 644 "$H2_TMP/hello.txt"
    declare -A h2v=()
    for ((r = 1; r <= rounds; r++)); do
        echo "bench: h2 round $r/$rounds" >&2
        local names="cio h2o node"
        [[ -n ${H2_BASE:-} ]] && names="cio base h2o node"
        for name in $names; do
            # A random port can be taken (an ephemeral port of an earlier
            # run's connections): up to three ports are tried.
            local try started=0
            for try in 1 2 3; do
                H2_PORT=$((20000 + RANDOM % 20000))
                _h2_launch "$name" "$root" "$cio" && { started=1; break; }
                [[ $? == 2 ]] && break # not installed
            done
            ((started)) || continue
            v=$(_h2_measure "$name")
            _h2_stop
            [[ -n $v ]] && h2v[$name]+="$v "
        done
    done
    local c h n
    c=$(_h2_median "${h2v[cio]:-}")
    h=$(_h2_median "${h2v[h2o]:-}")
    n=$(_h2_median "${h2v[node]:-}")
    echo "h2: requests per server-CPU second, rounds: cio ${h2v[cio]:-} h2o ${h2v[h2o]:-} node ${h2v[node]:-}" >&2
    _h2_per_round cio/h2o "${h2v[cio]:-}" "${h2v[h2o]:-}"
    if [[ -n ${H2_BASE:-} ]]; then
        local b
        b=$(_h2_median "${h2v[base]:-}")
        echo "h2: base ($H2_BASE) rounds: ${h2v[base]:-}" >&2
        _h2_per_round cio/base "${h2v[cio]:-}" "${h2v[base]:-}"
        bs_emit h2_base_rps_per_cpu_s "$b" req/cpu-s ""
        [[ -n $c && -n $b ]] && bs_emit h2_cio_vs_base \
            "$(awk -v a="$c" -v b="$b" 'BEGIN { printf("%.3g", a / b) }')" x ""
    fi
    [[ -z $h ]] && echo "note: h2: h2o not measured (Debian h2o missing or failed)" >&2
    [[ -z $n ]] && echo "note: h2: Node not measured (nodejs missing or failed)" >&2
    bs_emit h2_cio_rps_per_cpu_s "$c" req/cpu-s ""
    bs_emit h2_h2o_rps_per_cpu_s "$h" req/cpu-s ""
    bs_emit h2_node_rps_per_cpu_s "$n" req/cpu-s ""
    [[ -n $c && -n $h ]] && bs_emit h2_ratio_vs_h2o \
        "$(awk -v a="$c" -v b="$h" 'BEGIN { printf("%.3g", a / b) }')" x ">= 1.2"
    [[ -n $c && -n $n ]] && bs_emit h2_ratio_vs_node \
        "$(awk -v a="$c" -v b="$n" 'BEGIN { printf("%.3g", a / b) }')" x ">= 3"
    rm -rf "$H2_TMP"
    [[ -n $c ]]
}
