# bench/sections/exec.sh - the executor figures; sourced by bench/run,
# which calls bench_exec. Also usable alone:
#   bash -c 'source bench/sections/exec.sh; bench_exec'
#
# build/bench/exec and bench/peers/exec.py (with /usr/bin/python3) take
# internal medians of 5 rounds, so each runs once per mode. The process
# pool figures run unpinned: bench/run's CPU pinning would put both
# workers on one CPU. The process pool against Python's
# ProcessPoolExecutor (is_prime over the same 1,000,000 numbers in the
# same 200 chunks, 2 workers) takes ROUNDS rounds (at least 5), each
# running cio's round then Python's, and compares the medians; alone:
#   bash -c 'source bench/sections/exec.sh; _bx_isprime_vs_python \
#       build/bench/exec /usr/bin/python3 . 1' Prints one "BENCH <figure> <value> <unit>" line per
# figure; if bench/run's BENCH array and row function exist the figures
# are added to its table as well. Returns 1 if the cio program is missing
# or fails.

# _bx_get FIGURE TEXT: the value of FIGURE's line in TEXT.
_bx_get() {
    awk -v f="$1" '$1 == f && $2 ~ /^[0-9.eE+-]+$/ { v = $2 } END { print v }' <<<"$2"
}

# _bx_ratio A B: A / B, or "" when either is missing.
_bx_ratio() {
    [[ -n $1 && -n $2 ]] || return 0
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf("%.3g", a / b) }'
}

# _bx_emit FIGURE VALUE UNIT TARGET
_bx_emit() {
    local figure=$1 v=$2 unit=$3 target=$4 met=-
    [[ -n $v ]] || { echo "note: $figure not measured" >&2; return 0; }
    if [[ -n $target ]]; then
        met=$(awk -v v="$v" -v t="${target#>= }" 'BEGIN { print (v >= t) ? "yes" : "NO" }')
    fi
    echo "BENCH $figure $v $unit"
    if declare -p BENCH >/dev/null 2>&1 && declare -F row >/dev/null; then
        BENCH+=("BENCH $figure $v $unit")
        row "$figure" "$v $unit" - - - "${target:--}" "$met"
    fi
}

# _bx_median V...: the median (the upper one for an even count, as
# bench_median), or "" without values.
_bx_median() {
    (($#)) || return 0
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int(NR / 2) + 1] }'
}

# _bx_isprime_vs_python BIN PY ROOT ROUNDS: interleaved rounds of
# "BIN isprime2" and "PY bench/peers/exec.py --isprime"; prints
# process_pool_isprime_2w_s and py_process_pool_isprime_2w_s (medians of
# the rounds). Returns 1 if a cio round fails.
_bx_isprime_vs_python() {
    local bin=$1 py=$2 root=$3 rounds=$4 i out v status=0 cp pp
    local -a cs=() ps=()
    for ((i = 1; i <= rounds; i++)); do
        echo "bench: exec isprime vs python round $i/$rounds" >&2
        if out=$(timeout -k 5 300 "$bin" isprime2); then
            v=$(_bx_get process_pool_isprime_2w_s "$out")
            [[ -n $v ]] && cs+=("$v")
            cp=$(_bx_get process_pool_isprime_primes "$out")
        else
            status=1
        fi
        [[ -x $py ]] || continue
        if out=$(timeout -k 5 300 "$py" -E -s -B "$root/bench/peers/exec.py" --isprime); then
            v=$(_bx_get py_process_pool_isprime_2w_s "$out")
            [[ -n $v ]] && ps+=("$v")
            pp=$(_bx_get py_process_pool_isprime_primes "$out")
        else
            echo "note: bench/peers/exec.py --isprime failed" >&2
        fi
        if [[ -n $cp && -n $pp && $cp != "$pp" ]]; then
            echo "note: is_prime counts differ (cio $cp, python $pp): ratio dropped" >&2
            ps=()
            break
        fi
    done
    ((${#cs[@]})) && echo "process_pool_isprime_2w_s $(_bx_median "${cs[@]}")"
    ((${#ps[@]})) && echo "py_process_pool_isprime_2w_s $(_bx_median "${ps[@]}")"
    return $status
}

bench_exec() {
    local root build bin py out proc pyout status=0 pin=()
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    build=${BUILD:-${CIO_BUILD_DIR:-$root/build}}
    bin=$build/bench/exec
    [[ -d $build/bench && -x $build/bench/exec ]] || bin=$build/exec
    py=${PY:-/usr/bin/python3}
    declare -p PIN >/dev/null 2>&1 && pin=("${PIN[@]}")
    if [[ ! -x $bin ]]; then
        echo "note: $build/bench/exec missing (run make bench)" >&2
        return 1
    fi
    echo "bench: exec" >&2
    # Executors exist to use several cores: the thread figures run
    # unpinned, like the process pool, so a wake-up crosses cores as it
    # does in real use (pinned to one CPU it would measure same-core
    # context switches instead). bench/run's PIN applies to nothing here.
    pin=()
    out=$(timeout -k 5 300 "$bin" roundtrip &&
        timeout -k 5 300 "$bin" burst &&
        timeout -k 5 300 "$bin" threadsafe) || status=1
    proc=$(timeout -k 5 300 "$bin" process) || status=1
    out+=$'\n'$proc
    local rounds=${ROUNDS:-5}
    ((rounds >= 5)) || rounds=5
    proc=$(_bx_isprime_vs_python "$bin" "$py" "$root" "$rounds") || status=1
    out+=$'\n'$proc
    pyout=""
    if [[ -x $py ]]; then
        pyout=$(timeout -k 5 300 "${pin[@]}" "$py" -E -s -B "$root/bench/peers/exec.py") ||
            echo "note: bench/peers/exec.py failed" >&2
    else
        echo "note: Python peer skipped: no $py" >&2
    fi
    local rt bare burst ts sp pyrt pyburst ip2 pyip2
    rt=$(_bx_get executor_roundtrip_us "$out")
    bare=$(_bx_get bare_roundtrip_us "$out")
    burst=$(_bx_get executor_burst_ns "$out")
    ts=$(_bx_get threadsafe_calls_per_s "$out")
    sp=$(_bx_get process_pool_isprime_speedup "$out")
    pyrt=$(_bx_get py_executor_roundtrip_us "$pyout")
    pyburst=$(_bx_get py_executor_burst_ns "$pyout")
    ip2=$(_bx_get process_pool_isprime_2w_s "$out")
    pyip2=$(_bx_get py_process_pool_isprime_2w_s "$out")
    _bx_emit executor_roundtrip_us "$rt" us ""
    _bx_emit executor_roundtrip_ratio_vs_bare "$(_bx_ratio "$bare" "$rt")" x ">= 0.83"
    _bx_emit executor_roundtrip_ratio_vs_python "$(_bx_ratio "$pyrt" "$rt")" x ""
    _bx_emit executor_throughput_ratio_vs_python "$(_bx_ratio "$pyburst" "$burst")" x ">= 10"
    _bx_emit threadsafe_calls_per_s "$ts" calls/s ""
    _bx_emit process_pool_isprime_speedup "$sp" x ">= 1.8"
    _bx_emit process_pool_isprime_ratio_vs_python "$(_bx_ratio "$pyip2" "$ip2")" x ""
    [[ -n $bare ]] && echo "BENCH bare_roundtrip_us $bare us"
    [[ -n $burst ]] && echo "BENCH executor_burst_ns $burst ns"
    [[ -n $pyrt ]] && echo "BENCH py_executor_roundtrip_us $pyrt us"
    [[ -n $pyburst ]] && echo "BENCH py_executor_burst_ns $pyburst ns"
    [[ -n $ip2 ]] && echo "BENCH process_pool_isprime_2w_s $ip2 s"
    [[ -n $pyip2 ]] && echo "BENCH py_process_pool_isprime_2w_s $pyip2 s"
    return $status
}
