#!/bin/bash
# bench/sections/tls_one.sh - one TLS measurement for bench/run's tls
# section: starts a TLS echo server on CPU 0, runs bench/tls_load against
# it (on the CPU this script runs on: bench/run pins it to CPU 1), prints
# the load's figure line, stops the server.
# Usage: tls_one.sh MODE LOAD_BIN -- SERVER_CMD...
#   MODE: echo (50 x 1 KiB ping-pong, 5 s) or handshake (16 at a time, 5 s)
#   The word PORT in SERVER_CMD is replaced by a port below the ephemeral
#   range (other programs' connections cannot hold it); a port the server
#   cannot bind is retried with another, up to 5 times.
set -uo pipefail
mode=$1 load=$2
shift 3
srv=""
trap '[[ -n $srv ]] && { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }' EXIT
for ((try = 0; try < 5; try++)); do
    port=$((10000 + RANDOM % 20000))
    cmd=()
    for a in "$@"; do cmd+=("${a//PORT/$port}"); done
    taskset -c 0 "${cmd[@]}" >/dev/null 2>&1 &
    srv=$!
    up=0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$srv" 2>/dev/null || break
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { up=1; break; }
        sleep 0.1
    done
    ((up)) && break
    kill "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    srv=""
done
[[ -n $srv ]] || { echo "tls_one: the server did not start: ${cmd[*]}" >&2; exit 1; }
# $srv is the server itself: taskset and env exec it
if [[ $mode == echo ]]; then
    "$load" echo "$port" "$srv" 50 1024 5
else
    "$load" handshake "$port" "$srv" 16 5
fi
