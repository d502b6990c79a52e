# bench/sections/proc.sh - the subprocess figures; sourced by bench/run,
# which calls bench_proc. Also usable alone:
#   bash -c 'source bench/sections/proc.sh; bench_proc'
#
# Spawn: 1,000 `true` children spawned and awaited one at a time by cio
# (build/bench/spawn cio), by a bare posix_spawnp + waitpid loop (spawn
# bare), by Python asyncio (bench/peers/spawn.py with /usr/bin/python3)
# and by Node's child_process (bench/peers/spawn.js with node). Each round
# runs all four one after the other, so drift on a noisy machine hits them
# alike; figures are medians over ROUNDS rounds (default 5, at least 5).
# Pipe: build/bench/pipe reads 1 GiB from a `cat` child through cio's
# stream reader and times the shell's `cat file | cat > /dev/null` in
# the same rounds (its own medians). Prints one "BENCH <figure> <value>
# <unit>" line per figure; if bench/run's BENCH array and row function
# exist, the figures are added to its table too. Returns 1 if a cio
# program is missing or fails. Runs unpinned: a child and its parent on
# one CPU would measure the scheduler, not the spawn path.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_proc() {
    local root build bin pipebin py node rounds n=1000 status=0 i out
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    build=${BUILD:-${CIO_BUILD_DIR:-$root/build}}
    bin=$build/bench/spawn
    pipebin=$build/bench/pipe
    py=${PY:-/usr/bin/python3}
    node=$(command -v node || true)
    rounds=${ROUNDS:-5}
    ((rounds >= 5)) || rounds=5
    if [[ ! -x $bin || ! -x $pipebin ]]; then
        echo "note: $build/bench/spawn or pipe missing (run make bench)" >&2
        return 1
    fi
    [[ -x $py ]] || { echo "note: Python peer skipped: no $py" >&2; py=""; }
    [[ -n $node ]] || echo "note: Node peer skipped: no node" >&2
    echo "bench: proc" >&2
    local c_ms=() b_ms=() p_ms=() n_ms=()
    for ((i = 0; i < rounds; i++)); do
        out=$(timeout -k 5 300 "$bin" both "$n" 1) || { status=1; break; }
        c_ms+=("$(bs_get spawn_cio_ms "$out")")
        b_ms+=("$(bs_get spawn_bare_ms "$out")")
        if [[ -n $py ]]; then
            out=$(timeout -k 5 300 "$py" -E -s -B "$root/bench/peers/spawn.py" "$n" 1) &&
                p_ms+=("$(bs_get py_spawn_ms "$out")")
        fi
        if [[ -n $node ]]; then
            out=$(timeout -k 5 300 "$node" "$root/bench/peers/spawn.js" "$n" 1) &&
                n_ms+=("$(bs_get node_spawn_ms "$out")")
        fi
    done
    local cio bare pyv nodev pipeout pcio pshell
    cio=$(printf '%s\n' "${c_ms[@]}" | bs_median_upper)
    bare=$(printf '%s\n' "${b_ms[@]}" | bs_median_upper)
    pyv=$( ((${#p_ms[@]})) && printf '%s\n' "${p_ms[@]}" | bs_median_upper)
    nodev=$( ((${#n_ms[@]})) && printf '%s\n' "${n_ms[@]}" | bs_median_upper)
    pipeout=$(timeout -k 5 600 "$pipebin" "$rounds") || status=1
    pcio=$(bs_get pipe_cio_gib_s "$pipeout")
    pshell=$(bs_get pipe_shell_gib_s "$pipeout")
    bs_emit spawn_ratio_vs_bare "$(bs_ratio "$bare" "$cio")" x ">= 0.87"
    bs_emit spawn_ratio_vs_asyncio "$(bs_ratio "$pyv" "$cio")" x ">= 1.3"
    bs_emit spawn_ratio_vs_node "$(bs_ratio "$nodev" "$cio")" x ""
    bs_emit pipe_ratio_vs_cat "$(bs_ratio "$pcio" "$pshell")" x ">= 0.9"
    bs_emit spawn_per_s "$([[ -n $cio ]] && awk -v c="$cio" 'BEGIN { if (c > 0) printf("%.0f", 1000 / c) }')" children/s ""
    bs_emit pipe_gib_per_s "$pcio" GiB/s ""
    local p1m
    p1m=$(bs_get pipe_cio_pipesize_1m_gib_s "$pipeout")
    bs_emit pipe_ratio_vs_cat_pipesize_1m "$(bs_ratio "$p1m" "$pshell")" x ""
    [[ -n $cio ]] && echo "BENCH spawn_cio_ms $cio ms"
    [[ -n $bare ]] && echo "BENCH spawn_bare_ms $bare ms"
    [[ -n $pyv ]] && echo "BENCH py_spawn_ms $pyv ms"
    [[ -n $nodev ]] && echo "BENCH node_spawn_ms $nodev ms"
    [[ -n $pshell ]] && echo "BENCH pipe_shell_gib_s $pshell GiB/s"
    return $status
}
