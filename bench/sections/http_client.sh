# bench/sections/http_client.sh - the HTTP client figures (issue 13):
# keep-alive GET / requests per second of client CPU, 50 connections,
# against the c-epoll HTTP server of the shared harness (a copy:
# bench/peers/c_epoll_server.c) pinned to CPU 0, each client pinned to
# bench/run's CPU (1): cio's client (build/bench/http_client) side by side,
# round after round, with wrk (bench/peers/wrk_cpu.sh), aiohttp's client
# (Debian python3-aiohttp), Node's undici (npm, installed under
# build/bench/npm on first use) and Go's net/http client.
#
# Each program prints its own CPU time (user + system) per request; the
# ratios are peer CPU per request / cio CPU per request (> 1: cio spends
# less CPU per request), medians of the rounds. The figure does not depend
# on which side was the bottleneck on a loaded machine.
#
# Sourced by bench/run (section_http_client), which provides sample,
# report_cost, report_ratio, note, BIN, PEERS, TMP, PIN, ROUNDS, PY.

_hc_server_pid=""

_hc_stop_server() {
    if [[ -n $_hc_server_pid ]]; then
        kill "$_hc_server_pid" 2>/dev/null
        wait "$_hc_server_pid" 2>/dev/null
        _hc_server_pid=""
    fi
}

# _hc_start_server: compiles and starts the c-epoll HTTP server on a free
# port; sets HC_PORT.
_hc_start_server() {
    local exe=$TMP/c_epoll_server
    cc -O2 -o "$exe" "$PEERS/c_epoll_server.c" 2>"$TMP/c_epoll.err" || {
        note "http_client: c-epoll server did not compile: $(head -n 2 "$TMP/c_epoll.err")"
        return 1
    }
    HC_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    local spin=()
    if ((${#PIN[@]})) && taskset -c 0 true 2>/dev/null; then
        spin=(taskset -c 0)
    fi
    # bounded: it dies by itself if bench/run is killed before stopping it
    PORT=$HC_PORT timeout -k 5 1800 "${spin[@]}" "$exe" http "$HC_PORT" \
        >/dev/null 2>&1 &
    _hc_server_pid=$!
    for _ in $(seq 1 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$HC_PORT") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    note "http_client: c-epoll server did not listen"
    _hc_stop_server
    return 1
}

bench_http_client() {
    local cio r go="" undici=0 aio=0 wrk=0 npmdir=$BIN/npm
    cio_bin http_client || return 1
    cio=$REPLY
    _hc_start_server || return 1
    command -v wrk >/dev/null && wrk=1 || note "wrk peer skipped (Debian: wrk)"
    "$PY" -c 'import aiohttp' 2>/dev/null && aio=1 ||
        note "aiohttp peer skipped (Debian: python3-aiohttp)"
    go_peer http_client_go && go=$REPLY
    if command -v node >/dev/null; then
        if [[ ! -d $npmdir/node_modules/undici ]] && command -v npm >/dev/null; then
            mkdir -p "$npmdir" &&
                npm install --no-audit --no-fund --prefix "$npmdir" undici@6 \
                    >"$TMP/npm.log" 2>&1
        fi
        [[ -d $npmdir/node_modules/undici ]] && undici=1 ||
            note "undici peer skipped: npm install undici failed ($(tail -n 1 "$TMP/npm.log" 2>/dev/null))"
    else
        note "undici peer skipped (no node)"
    fi
    local f=http_client_cpu_ns_per_req p=$HC_PORT
    for ((r = 1; r <= ROUNDS; r++)); do
        progress http_client "$r"
        sample cio/http_client $f 120 "$cio" --port "$p" --conns 50 \
            --requests 100000 --warmup 10000
        ((wrk)) && sample wrk/http_client $f 120 "$PEERS/wrk_cpu.sh" "$p" 50 5
        ((aio)) && sample aiohttp/http_client $f 300 "$PY" -E -s -B \
            "$PEERS/http_client_aiohttp.py" --port "$p" --requests 5000 \
            --warmup 1000
        ((undici)) && sample undici/http_client $f 120 \
            env NODE_PATH="$npmdir/node_modules" node \
            "$PEERS/http_client_undici.js" --port "$p" --requests 50000 \
            --warmup 5000
        [[ -n $go ]] && sample go/http_client $f 120 "$go" -port "$p" \
            -requests 50000 -warmup 5000
    done
    _hc_stop_server
    report_cost http_client_cpu_ns_per_req cio/http_client
    report_ratio http_client_cpu_ns_per_req cio/http_client wrk \
        wrk/http_client wrk_http_client_cpu_ns_per_req \
        http_client_ratio_vs_wrk ">= 0.8"
    report_ratio http_client_cpu_ns_per_req cio/http_client aiohttp \
        aiohttp/http_client aiohttp_http_client_cpu_ns_per_req \
        http_client_ratio_vs_aiohttp ">= 10"
    report_ratio http_client_cpu_ns_per_req cio/http_client undici \
        undici/http_client undici_http_client_cpu_ns_per_req \
        http_client_ratio_vs_undici ">= 2"
    report_ratio http_client_cpu_ns_per_req cio/http_client "Go net/http" \
        go/http_client go_http_client_cpu_ns_per_req \
        http_client_ratio_vs_go ">= 1.5"
    return 0
}
