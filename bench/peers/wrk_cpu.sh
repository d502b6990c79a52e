#!/bin/bash
# wrk_cpu.sh PORT CONNS SECONDS - the wrk peer of bench/http_client.c: runs
# `wrk -t1 -cCONNS -dSECONDS http://127.0.0.1:PORT/` (keep-alive GET /) and
# prints wrk's own CPU time (user + system, from bash's `time`) per request:
#     http_client_cpu_ns_per_req <ns>
set -uo pipefail
port=$1 conns=${2:-50} secs=${3:-5}
out=$(mktemp) tm=$(mktemp)
trap 'rm -f "$out" "$tm"' EXIT
TIMEFORMAT='%3U %3S'
{ time wrk -t1 -c"$conns" -d"${secs}s" "http://127.0.0.1:$port/" >"$out" 2>&1; } 2>"$tm" || exit 1
n=$(awk '/requests in/ { print $1 }' "$out")
errs=$(awk '/Non-2xx|Socket errors/' "$out")
[[ -n $errs ]] && { echo "wrk: $errs" >&2; exit 1; }
read -r u s <"$tm"
[[ -n $n && $n -gt 0 ]] || { cat "$out" >&2; exit 1; }
awk -v u="$u" -v s="$s" -v n="$n" 'BEGIN { printf("http_client_cpu_ns_per_req %.1f\n", (u + s) * 1e9 / n) }'
