# bench/sections/lib.sh - the helpers every section script shares (medians,
# ratios, the BENCH line and the row in bench/run's table). Sourced by the
# section scripts; defines functions only.

# bs_median: the median of the numbers on stdin (the mean of the middle
# two for an even count), or nothing without numbers.
bs_median() {
    sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

# bs_median_upper: the same, but the upper middle one for an even count
# (as bench/run's bench_median), or nothing.
bs_median_upper() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int(NR / 2) + 1] }'
}

# bs_get FIGURE TEXT: the value of FIGURE's "<figure> <value>" line in TEXT.
bs_get() {
    awk -v f="$1" '$1 == f && $2 ~ /^[0-9.eE+-]+$/ { v = $2 } END { print v }' <<<"$2"
}

# bs_ratio A B: A / B (3 significant digits), or "" when either is missing.
bs_ratio() {
    [[ -n $1 && -n $2 ]] || return 0
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf("%.3g", a / b) }'
}

# bs_emit FIGURE VALUE UNIT TARGET: prints "BENCH FIGURE VALUE UNIT" (a
# note when VALUE is empty); TARGET is ">= X", "<= X" or empty. Inside
# bench/run the figure also joins its BENCH array and table.
bs_emit() {
    local figure=$1 v=$2 unit=$3 target=$4 met=-
    [[ -n $v ]] || { echo "note: $figure not measured" >&2; return 0; }
    if [[ -n $target ]]; then
        met=$(awk -v v="$v" -v op="${target% *}" -v t="${target#* }" \
            'BEGIN { print ((op == ">=" ? v >= t : v <= t) ? "yes" : "NO") }')
    fi
    echo "BENCH $figure $v $unit"
    if declare -p BENCH >/dev/null 2>&1 && declare -F row >/dev/null; then
        BENCH+=("BENCH $figure $v $unit")
        row "$figure" "$v $unit" - - - "${target:--}" "$met"
    fi
}
