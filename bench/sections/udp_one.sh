#!/bin/bash
# bench/sections/udp_one.sh - one external UDP echo measurement for
# bench/run's udp section: starts an echo server on CPU 0, waits for its
# "port N" line, runs `udp_echo MODE PORT PID` against it (on the CPU this
# script runs on: bench/run pins it to CPU 1), prints the load's figure
# line ("udp_echo_srv_ns <server CPU ns per echo>" for MODE load, the
# default; "udp_echo_batched_srv_ns ..." for MODE load-batched),
# stops the server.
# Usage: udp_one.sh LOAD_BIN [MODE] -- SERVER_CMD...
set -uo pipefail
load=$1
mode=load
if [[ ${2:-} != -- ]]; then
    mode=$2
    shift
fi
shift 2
srv=""
out=$(mktemp "${TMPDIR:-/tmp}/udp_one.XXXXXX") || exit 1
trap '[[ -n $srv ]] && { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }; rm -f "$out"' EXIT
taskset -c 0 "$@" >"$out" 2>/dev/null &
srv=$! # the server itself: taskset and env exec it
port=""
for ((i = 0; i < 100; i++)); do
    port=$(awk '$1 == "port" { print $2; exit }' "$out")
    [[ -n $port ]] && break
    kill -0 "$srv" 2>/dev/null || break
    sleep 0.1
done
[[ -n $port ]] || { echo "udp_one: the server did not start: $*" >&2; exit 1; }
"$load" "$mode" "$port" "$srv"
