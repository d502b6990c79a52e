#!/usr/bin/env bash
# bench/peers/llhttp_parse.sh - http_parse_ns_llhttp: cio's parser against
# Node's llhttp on the same 545-byte request, interleaved rounds.
#
# llhttp is not part of cio and its code is never committed here: point
# LLHTTP_DIR at a copy of its generated C (the `release` branch of
# github.com/nodejs/llhttp, or node's deps/llhttp: include/llhttp.h and
# src/{api,http,llhttp}.c). Without it the script prints a note and exits
# 0. The peer is compiled with the same compiler and -O2 as cio's
# RelWithDebInfo build (-O2 -g), into $BUILD/bench/peers/.
#
# Usage: LLHTTP_DIR=/path/to/llhttp bench/peers/llhttp_parse.sh
#   [BUILD=build] [ROUNDS=5] [N=1000000]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD:-${CIO_BUILD_DIR:-$root/build}}
rounds=${ROUNDS:-5}
n=${N:-1000000}
cio_prog=$build/bench/http_parse
if [[ -z ${LLHTTP_DIR-} || ! -f ${LLHTTP_DIR}/include/llhttp.h ||
      ! -f ${LLHTTP_DIR}/src/llhttp.c ]]; then
    echo "note: http_parse_ns_llhttp skipped: set LLHTTP_DIR to llhttp's release sources" >&2
    exit 0
fi
[[ -x $cio_prog ]] || { echo "note: $cio_prog missing (make bench)" >&2; exit 1; }
mkdir -p "$build/bench/peers"
peer=$build/bench/peers/http_parse_llhttp
${CC:-cc} -O2 -g -I"$LLHTTP_DIR/include" -o "$peer" \
    "$root/bench/peers/http_parse_llhttp.c" \
    "$LLHTTP_DIR"/src/api.c "$LLHTTP_DIR"/src/http.c "$LLHTTP_DIR"/src/llhttp.c
pin=(taskset -c 1)
command -v taskset >/dev/null || pin=()
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
cio_v=() ll_v=()
for ((r = 1; r <= rounds; r++)); do
    cio_v+=("$("${pin[@]}" "$cio_prog" -n "$n" | awk '$1 == "http_parse_ns" {print $2}')")
    ll_v+=("$("${pin[@]}" "$peer" -n "$n" | awk '$1 == "http_parse_ns_llhttp" {print $2}')")
    echo "round $r: cio ${cio_v[-1]} ns, llhttp ${ll_v[-1]} ns" >&2
done
c=$(printf '%s\n' "${cio_v[@]}" | median)
l=$(printf '%s\n' "${ll_v[@]}" | median)
echo "BENCH http_parse_ns $c ns"
echo "BENCH http_parse_ns_llhttp $l ns"
awk -v a="$l" -v b="$c" 'BEGIN { printf("BENCH http_parse_ratio_vs_llhttp %.3g x\n", a / b) }'
