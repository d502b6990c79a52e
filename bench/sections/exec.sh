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

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
            v=$(bs_get process_pool_isprime_2w_s "$out")
            [[ -n $v ]] && cs+=("$v")
            cp=$(bs_get process_pool_isprime_primes "$out")
        else
            status=1
        fi
        [[ -x $py ]] || continue
        if out=$(timeout -k 5 300 "$py" -E -s -B "$root/bench/peers/exec.py" --isprime); then
            v=$(bs_get py_process_pool_isprime_2w_s "$out")
            [[ -n $v ]] && ps+=("$v")
            pp=$(bs_get py_process_pool_isprime_primes "$out")
        else
            echo "note: bench/peers/exec.py --isprime failed" >&2
        fi
        if [[ -n $cp && -n $pp && $cp != "$pp" ]]; then
            echo "note: is_prime counts differ (cio $cp, python $pp): ratio dropped" >&2
            ps=()
            break
        fi
    done
    ((${#cs[@]})) && echo "process_pool_isprime_2w_s $(printf '%s\n' "${cs[@]}" | bs_median_upper)"
    ((${#ps[@]})) && echo "py_process_pool_isprime_2w_s $(printf '%s\n' "${ps[@]}" | bs_median_upper)"
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
    rt=$(bs_get executor_roundtrip_us "$out")
    bare=$(bs_get bare_roundtrip_us "$out")
    burst=$(bs_get executor_burst_ns "$out")
    ts=$(bs_get threadsafe_calls_per_s "$out")
    sp=$(bs_get process_pool_isprime_speedup "$out")
    pyrt=$(bs_get py_executor_roundtrip_us "$pyout")
    pyburst=$(bs_get py_executor_burst_ns "$pyout")
    ip2=$(bs_get process_pool_isprime_2w_s "$out")
    pyip2=$(bs_get py_process_pool_isprime_2w_s "$out")
    bs_emit executor_roundtrip_us "$rt" us ""
    bs_emit executor_roundtrip_ratio_vs_bare "$(bs_ratio "$bare" "$rt")" x ">= 0.83"
    bs_emit executor_roundtrip_ratio_vs_python "$(bs_ratio "$pyrt" "$rt")" x ""
    bs_emit executor_throughput_ratio_vs_python "$(bs_ratio "$pyburst" "$burst")" x ">= 10"
    bs_emit threadsafe_calls_per_s "$ts" calls/s ""
    bs_emit process_pool_isprime_speedup "$sp" x ">= 1.8"
    bs_emit process_pool_isprime_ratio_vs_python "$(bs_ratio "$pyip2" "$ip2")" x ""
    [[ -n $bare ]] && echo "BENCH bare_roundtrip_us $bare us"
    [[ -n $burst ]] && echo "BENCH executor_burst_ns $burst ns"
    [[ -n $pyrt ]] && echo "BENCH py_executor_roundtrip_us $pyrt us"
    [[ -n $pyburst ]] && echo "BENCH py_executor_burst_ns $pyburst ns"
    [[ -n $ip2 ]] && echo "BENCH process_pool_isprime_2w_s $ip2 s"
    [[ -n $pyip2 ]] && echo "BENCH py_process_pool_isprime_2w_s $pyip2 s"
    return $status
}
