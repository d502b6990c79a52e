# bench/sections/httpsrv.sh - the HTTP server figures (issue 12, S18/S21):
# cio::http's bench/http_server (GET / and /json through the router,
# request and response objects and cJSON, one loop) side by side with the
# shared peer harness (../shared/bench/run-peers --http-target): c-epoll
# (the practical limit), h2o (HTTP/1, static), httptools+uvloop (sanic's
# core), aiohttp (uvloop and asyncio), Node's http and fastify (npm,
# bench/peers/http_fastify.js, installed under build/bench/npm on first
# use) and Go's net/http; then
# 16-deep pipelining with c-epoll, httptools+uvloop and h2o.
# Sourced by bench/run (section httpsrv); also usable alone:
#   bash -c 'source bench/sections/httpsrv.sh; bench_httpsrv'
#
# Environment: BUILD or CIO_BUILD_DIR (default ./build), HTTPSRV_ROUNDS
# (default 5), HTTPSRV_DURATION (seconds per case, default 5),
# HTTPSRV_ONLY (run-peers --only regex for the non-pipelined run; default
# the peers the figures need), HTTPSRV_CONNS (default 100), RUN_PEERS (the
# harness, default ../shared/bench/run-peers), HTTPSRV_BASE (another
# http_server binary, e.g. built from the commit before a change: it runs
# as target cio-base in the same rounds, and http_srv_ratio_vs_base etc.
# compare the two).
#
# cio runs twice in the same rounds: target cio on the default backend
# (epoll) and target cio-uring with CIO_BACKEND=uring (io_uring: the
# connections' reads are completion-based there, docs/design.md section
# 45); the hand-written c-uring peer runs beside them. The plain figures
# are the epoll target's; the same names with a _uring suffix are the
# cio-uring target's (against the same peers), and http_ratio_vs_curing_uring
# compares cio-uring with c-uring.
#
# Ratios are the peer's server CPU per request divided by cio's
# (srv_us_per_req, median over the rounds), so > 1 means cio spends less
# CPU per request; that figure does not depend on whether wrk was the
# bottleneck (it was, for c-epoll and cio, on this 2-core VM). Prints one
# "BENCH <figure> <value> <unit>" line per figure.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# _bh_rows FILE...: run-peers' ok HTTP rows (no errors, a CPU figure), one
# "name path pipeline round srv_us_per_req" line each.
_bh_rows() {
    awk '
        $1 == "RESULT" {
            delete kv
            for (i = 2; i <= NF; i++) { split($i, q, "="); kv[q[1]] = q[2] }
            if (kv["suite"] == "http" && kv["status"] == "ok" &&
                kv["errors"] == 0 && kv["srv_us_per_req"] != "")
                print kv["name"], kv["path"], kv["pipeline"], kv["round"],
                    kv["srv_us_per_req"]
        }' "$@"
}

# _bh_us NAME PATH PIPELINE FILE: median srv_us_per_req of NAME's ok rows.
_bh_us() {
    _bh_rows "$4" |
        awk -v n="$1" -v p="$2" -v d="$3" '$1 == n && $2 == p && $3 == d { print $5 }' |
        bs_median
}

# _bh_rounds FILE...: for runs that straddle a target, the ratio of each
# round's own pair (peer us/req / cio us/req, cio and cio-uring against
# every peer; c-epoll and c-uring against h2o and aiohttp, as the
# http_limit_* figures), from the ok rows; "-" where a round lacks one.
_bh_rounds() {
    _bh_rows "$@" | awk '
        {
            k = $2 " pipeline=" $3
            us[k, $1, $4] = $5
            cases[k] = 1
            names[$1] = 1
            if ($4 + 0 > nr) nr = $4 + 0
        }
        END {
            for (k in cases)
                for (c in names) {
                    lim = c == "c-epoll" || c == "c-uring"
                    if (c != "cio" && c != "cio-uring" && !lim) continue
                    for (p in names) {
                        if (p ~ /^cio/) continue
                        # the hand-written servers against the two peers
                        # whose targets they bound (http_limit_*)
                        if (lim && p != "h2o-static" && p != "aiohttp-uvloop") continue
                        line = ""
                        seen = 0
                        for (r = 1; r <= nr; r++) {
                            a = us[k, p, r]; b = us[k, c, r]
                            if (a != "" && b != "" && b > 0) {
                                line = line sprintf(" %.2f", a / b); seen = 1
                            } else line = line " -"
                        }
                        if (seen) printf("httpsrv rounds: %s %s / %s:%s\n", k, p, c, line)
                    }
                }
        }' | sort
}

bench_httpsrv() {
    local root build rp rounds dur conns tmp out srv
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    build=${BUILD:-${CIO_BUILD_DIR:-$root/build}}
    # The harness beside the checkout (or, from a worktree one level
    # deeper, beside its parent); RUN_PEERS overrides.
    rp=${RUN_PEERS:-$root/../shared/bench/run-peers}
    [[ -x $rp || -n ${RUN_PEERS-} ]] || rp=$root/../../shared/bench/run-peers
    rounds=${HTTPSRV_ROUNDS:-5}
    dur=${HTTPSRV_DURATION:-5}
    conns=${HTTPSRV_CONNS:-100}
    srv=$build/bench/http_server
    if [[ ! -x $srv ]]; then
        echo "note: $srv missing (run make bench)" >&2
        return 1
    fi
    if [[ ! -x $rp ]]; then
        echo "note: HTTP peer run skipped: no $rp" >&2
        return 0
    fi
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/cio-httpsrv.XXXXXX") || return 1
    local only=${HTTPSRV_ONLY-'c-epoll|c-uring|h2o-static|node-http|go-nethttp|py-httptools-uvloop|aiohttp-uvloop|aiohttp-asyncio'}
    local uring=(--http-target "cio-uring=env CIO_BACKEND=uring $srv --port {port}")
    # Node's fastify (npm), installed under the build tree on first use
    local fy=() npmdir=$build/bench/npm
    if command -v node >/dev/null && command -v npm >/dev/null; then
        if [[ ! -d $npmdir/node_modules/fastify ]]; then
            mkdir -p "$npmdir" &&
                npm install --no-audit --no-fund --prefix "$npmdir" fastify@5 \
                    >"$tmp/npm.log" 2>&1
        fi
        if [[ -d $npmdir/node_modules/fastify ]]; then
            fy=(--http-target "fastify=env NODE_PATH=$npmdir/node_modules node $root/bench/peers/http_fastify.js {port}")
        else
            echo "note: fastify peer skipped: npm install fastify failed ($(tail -n 1 "$tmp/npm.log" 2>/dev/null))" >&2
        fi
    else
        echo "note: fastify peer skipped (no node/npm)" >&2
    fi
    local base=()
    [[ -n ${HTTPSRV_BASE-} ]] && base=(--http-target "cio-base=$HTTPSRV_BASE --port {port}")
    local args=(--suite http --http-target "cio=$srv --port {port}" "${uring[@]}" "${base[@]}" "${fy[@]}"
        --http-conns "$conns" --paths "/ /json" --rounds "$rounds"
        --http-duration "$dur" --only "$only" --out "$tmp/plain.md")
    echo "bench: httpsrv: run-peers ${args[*]}" >&2
    "$rp" "${args[@]}" >"$tmp/plain.out" 2>"$tmp/plain.err" ||
        echo "note: run-peers exited with $?: $(tail -n 3 "$tmp/plain.err" | tr '\n' ' ')" >&2
    args=(--suite http --http-target "cio=$srv --port {port}" "${uring[@]}" "${base[@]}"
        --http-conns "$conns" --paths "/" --http-pipeline 16
        --rounds "$rounds" --http-duration "$dur"
        --only 'c-epoll|c-uring|py-httptools-uvloop|h2o-static' --out "$tmp/pipe.md")
    echo "bench: httpsrv: run-peers ${args[*]}" >&2
    "$rp" "${args[@]}" >"$tmp/pipe.out" 2>"$tmp/pipe.err" ||
        echo "note: run-peers exited with $?: $(tail -n 3 "$tmp/pipe.err" | tr '\n' ' ')" >&2
    out=$tmp/all
    cat "$tmp"/plain.md "$tmp"/pipe.md "$tmp"/plain.out "$tmp"/pipe.out 2>/dev/null |
        sort -u >"$out"
    cat "$tmp/plain.out" "$tmp/pipe.out" >&2
    _bh_rounds "$tmp/plain.out" "$tmp/pipe.out" >&2
    echo "bench: httpsrv: reports in $tmp" >&2

    local path sfx cio lim lus peer
    for path in / /json; do
        sfx=""
        [[ $path == /json ]] && sfx="_json"
        cio=$(_bh_us cio "$path" 1 "$out")
        bs_emit "http${sfx}_srv_us_per_req" "$cio" us ""
        bs_emit "http${sfx}_ratio_vs_cepoll" "$(bs_ratio "$(_bh_us c-epoll "$path" 1 "$out")" "$cio")" x ">= 0.9"
        bs_emit "http${sfx}_ratio_vs_h2o" "$(bs_ratio "$(_bh_us h2o-static "$path" 1 "$out")" "$cio")" x ">= 1.4"
        bs_emit "http${sfx}_ratio_vs_node" "$(bs_ratio "$(_bh_us node-http "$path" 1 "$out")" "$cio")" x ">= 2.5"
        bs_emit "http${sfx}_ratio_vs_aiohttp" "$(bs_ratio "$(_bh_us aiohttp-uvloop "$path" 1 "$out")" "$cio")" x ">= 5"
        bs_emit "http${sfx}_ratio_vs_aiohttp_asyncio" "$(bs_ratio "$(_bh_us aiohttp-asyncio "$path" 1 "$out")" "$cio")" x ""
        bs_emit "http${sfx}_ratio_vs_httptools" "$(bs_ratio "$(_bh_us py-httptools-uvloop "$path" 1 "$out")" "$cio")" x ""
        bs_emit "http${sfx}_ratio_vs_go" "$(bs_ratio "$(_bh_us go-nethttp "$path" 1 "$out")" "$cio")" x ""
        bs_emit "http${sfx}_ratio_vs_fastify" "$(bs_ratio "$(_bh_us fastify "$path" 1 "$out")" "$cio")" x ""
        [[ -n ${HTTPSRV_BASE-} ]] &&
            bs_emit "http${sfx}_ratio_vs_base" "$(bs_ratio "$(_bh_us cio-base "$path" 1 "$out")" "$cio")" x ""
        # the same figures for cio on io_uring (target cio-uring)
        cio=$(_bh_us cio-uring "$path" 1 "$out")
        bs_emit "http${sfx}_srv_us_per_req_uring" "$cio" us ""
        bs_emit "http${sfx}_ratio_vs_cepoll_uring" "$(bs_ratio "$(_bh_us c-epoll "$path" 1 "$out")" "$cio")" x ">= 0.9"
        bs_emit "http${sfx}_ratio_vs_curing_uring" "$(bs_ratio "$(_bh_us c-uring "$path" 1 "$out")" "$cio")" x ""
        bs_emit "http${sfx}_ratio_vs_h2o_uring" "$(bs_ratio "$(_bh_us h2o-static "$path" 1 "$out")" "$cio")" x ">= 1.4"
        bs_emit "http${sfx}_ratio_vs_node_uring" "$(bs_ratio "$(_bh_us node-http "$path" 1 "$out")" "$cio")" x ">= 2.5"
        bs_emit "http${sfx}_ratio_vs_aiohttp_uring" "$(bs_ratio "$(_bh_us aiohttp-uvloop "$path" 1 "$out")" "$cio")" x ">= 5"
        bs_emit "http${sfx}_ratio_vs_httptools_uring" "$(bs_ratio "$(_bh_us py-httptools-uvloop "$path" 1 "$out")" "$cio")" x ""
        bs_emit "http${sfx}_ratio_vs_go_uring" "$(bs_ratio "$(_bh_us go-nethttp "$path" 1 "$out")" "$cio")" x ""
        bs_emit "http${sfx}_ratio_vs_fastify_uring" "$(bs_ratio "$(_bh_us fastify "$path" 1 "$out")" "$cio")" x ""
        # The practical limit's own ratios, same rounds: what the
        # hand-written servers reach against the two peers whose targets
        # (h2o 1.4, aiohttp 5) cio has not met; a target above these is
        # above what one loop on this kernel does per request.
        for lim in c-epoll c-uring; do
            lus=$(_bh_us "$lim" "$path" 1 "$out")
            for peer in h2o-static aiohttp-uvloop; do
                bs_emit "http${sfx}_limit_${lim//[-]/}_ratio_vs_${peer%%-*}" \
                    "$(bs_ratio "$(_bh_us "$peer" "$path" 1 "$out")" "$lus")" x ""
            done
        done
    done
    cio=$(_bh_us cio / 16 "$out")
    bs_emit http_pipelined_srv_us_per_req "$cio" us ""
    bs_emit http_pipelined_ratio_vs_cepoll "$(bs_ratio "$(_bh_us c-epoll / 16 "$out")" "$cio")" x ">= 0.8"
    bs_emit http_pipelined_ratio_vs_httptools "$(bs_ratio "$(_bh_us py-httptools-uvloop / 16 "$out")" "$cio")" x ">= 2"
    bs_emit http_pipelined_ratio_vs_h2o "$(bs_ratio "$(_bh_us h2o-static / 16 "$out")" "$cio")" x ""
    [[ -n ${HTTPSRV_BASE-} ]] &&
        bs_emit http_pipelined_ratio_vs_base "$(bs_ratio "$(_bh_us cio-base / 16 "$out")" "$cio")" x ""
    cio=$(_bh_us cio-uring / 16 "$out")
    bs_emit http_pipelined_srv_us_per_req_uring "$cio" us ""
    bs_emit http_pipelined_ratio_vs_cepoll_uring "$(bs_ratio "$(_bh_us c-epoll / 16 "$out")" "$cio")" x ">= 0.8"
    bs_emit http_pipelined_ratio_vs_curing_uring "$(bs_ratio "$(_bh_us c-uring / 16 "$out")" "$cio")" x ""
    bs_emit http_pipelined_ratio_vs_httptools_uring "$(bs_ratio "$(_bh_us py-httptools-uvloop / 16 "$out")" "$cio")" x ">= 2"
    bs_emit http_pipelined_ratio_vs_h2o_uring "$(bs_ratio "$(_bh_us h2o-static / 16 "$out")" "$cio")" x ""
    return 0
}
