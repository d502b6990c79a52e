#!/bin/bash
# bench/sections/tls_one.sh - one TLS measurement for bench/run's tls
# section: starts a TLS echo server on CPU 0, runs bench/tls_load against
# it (on the CPU this script runs on: bench/run pins it to CPU 1), prints
# the load's figure line, stops the server.
# Usage: tls_one.sh MODE LOAD_BIN PORT -- SERVER_CMD...
#   MODE: echo (50 x 1 KiB ping-pong, 5 s) or handshake (16 at a time, 5 s)
set -uo pipefail
mode=$1 load=$2 port=$3
shift 4
taskset -c 0 "$@" >/dev/null 2>&1 &
srv=$!
trap 'kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null' EXIT
for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$srv" 2>/dev/null || { echo "tls_one: server exited" >&2; exit 1; }
    sleep 0.1
done
((i < 100)) || { echo "tls_one: server not listening on $port" >&2; exit 1; }
# the server's own pid: bash -c / env wrappers exec, so $srv is it
if [[ $mode == echo ]]; then
    "$load" echo "$port" "$srv" 50 1024 5
else
    "$load" handshake "$port" "$srv" 16 5
fi
