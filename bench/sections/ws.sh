# bench/sections/ws.sh - the WebSocket echo figures (issue 13): server CPU
# per echoed message, 1 KiB binary messages, 50 connections each keeping
# one message in flight, for cio (build/bench/http_ws_echo), Node's `ws`
# package (bench/peers/ws_echo_node.js; npm installs `ws` into
# build/bench/node_ws, from npm's cache when offline) and aiohttp on
# uvloop (bench/peers/ws_echo_aiohttp.py, Debian python3-aiohttp). One
# load generator for all: build/bench/ws_load (plain C + epoll), which
# reads the server's utime+stime from /proc over the measured window.
# The server runs pinned to $CPU, the load generator on another CPU.
# Sourced by bench/run (section_ws); uses its sample/report helpers.

# _ws_round KEY LOADGEN SERVER_CMD...: starts the server on a free port,
# waits until it accepts, samples one ws_load run against it, stops it.
_ws_round() {
    local key=$1 load=$2
    shift 2
    [[ -n ${BROKEN[$key]:-} ]] && return 1
    local port pid i other=0
    [[ $CPU == 0 ]] && other=1
    # A port the kernel just handed out (free now; a collision with
    # another program is unlikely, and the wait below notices it).
    port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)
    [[ -n $port ]] || port=$((20000 + RANDOM % 30000))
    local args=()
    for a in "$@"; do args+=("${a//\{port\}/$port}"); done
    "${PIN[@]}" "${args[@]}" >"$TMP/ws-server.out" 2>"$TMP/ws-server.err" &
    pid=$!
    # Up to 30 s (a loaded machine starts Python slowly), while it lives.
    for ((i = 0; i < 300; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if ! kill -0 "$pid" 2>/dev/null; then
        note "$key: the server exited at start: $(tail -n 3 "$TMP/ws-server.err" | tr '\n' ' ')"
        wait "$pid" 2>/dev/null
        return 1
    fi
    local lpin=()
    [[ ${#PIN[@]} -gt 0 && $CPU != none ]] && lpin=(taskset -c "$other")
    sample "$key" ws_echo_srv_ns_per_msg 60 "${lpin[@]}" "$load" \
        --port "$port" --pid "$pid" --conns 50 --size 1024 --warmup 1 --secs 3
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

section_ws() {
    local srv load node_dir node_ok=0 aio_ok=0 r
    cio_bin http_ws_echo && srv=$REPLY
    cio_bin ws_load && load=$REPLY
    [[ -z ${srv:-} || -z ${load:-} ]] && return 0
    node_dir=$BIN/node_ws
    if command -v node >/dev/null && command -v npm >/dev/null; then
        mkdir -p "$node_dir"
        if [[ -f $node_dir/node_modules/ws/package.json ]] ||
            npm install --prefix "$node_dir" --no-audit --no-fund --offline ws >/dev/null 2>&1 ||
            npm install --prefix "$node_dir" --no-audit --no-fund ws >/dev/null 2>&1; then
            node_ok=1
        else
            note "Node ws peer skipped: npm could not install the ws package into $node_dir"
        fi
    else
        note "Node ws peer skipped: no node/npm (Debian: nodejs npm)"
    fi
    if "$PY" -c 'import aiohttp, uvloop' 2>/dev/null; then
        aio_ok=1
    else
        note "aiohttp ws peer skipped: $PY cannot import aiohttp and uvloop (Debian: python3-aiohttp python3-uvloop)"
    fi
    for ((r = 1; r <= ROUNDS; r++)); do
        progress ws "$r"
        _ws_round cio/ws_echo "$load" "$srv" --port '{port}'
        ((node_ok)) && _ws_round node_ws/ws_echo "$load" \
            env NODE_PATH="$node_dir/node_modules" node "$PEERS/ws_echo_node.js" --port '{port}'
        ((aio_ok)) && _ws_round aiohttp/ws_echo "$load" \
            "$PY" -E -s -B "$PEERS/ws_echo_aiohttp.py" --port '{port}'
    done
    # The codec alone against libwslay's (docs/design.md section 29).
    local codec wslay_ok=0
    if cio_bin http_ws_codec; then
        codec=$REPLY
        if "$codec" --wslay >/dev/null 2>&1; then
            wslay_ok=1
        else
            note "wslay codec peer skipped: http_ws_codec built without libwslay-dev"
        fi
        for ((r = 1; r <= ROUNDS; r++)); do
            sample cio/ws_codec ws_codec_ns_per_frame 60 "$codec" --cio
            ((wslay_ok)) && sample wslay/ws_codec wslay_ns_per_frame 60 "$codec" --wslay
        done
    fi
    report_cost ws_echo_srv_ns_per_msg cio/ws_echo
    report_ratio ws_echo_srv_ns_per_msg cio/ws_echo node-ws node_ws/ws_echo \
        node_ws_echo_srv_ns_per_msg ws_echo_ratio_vs_node_ws ">= 2"
    report_ratio ws_echo_srv_ns_per_msg cio/ws_echo uvloop+aiohttp aiohttp/ws_echo \
        aiohttp_ws_echo_srv_ns_per_msg ws_echo_ratio_vs_aiohttp ""
    report_cost ws_codec_ns_per_frame cio/ws_codec
    report_ratio ws_codec_ns_per_frame cio/ws_codec wslay wslay/ws_codec \
        wslay_ns_per_frame ws_codec_ratio_vs_wslay ""
    return 0
}
