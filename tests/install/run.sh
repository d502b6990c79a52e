#!/usr/bin/env bash
# run.sh - the CTest test install.consumer.
#
# Usage: tests/install/run.sh BUILD_DIR SOURCE_DIR
#
# Installs BUILD_DIR into a temporary prefix (and once more under DESTDIR),
# then builds tests/install/consumer.c against the installed files only:
#   1. cc $(pkg-config --cflags --libs cio)     -> shared libcio
#   2. cmake with find_package(cio)             -> cio::cio, cio::cio_static
# and runs all three programs; then builds every examples/*.c alone with
# the command printed at its top (-std=c11 -Wall -Wextra -pedantic, no
# warning allowed). Uses $CC (default cc).
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cc=${CC:-cc}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cio-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { printf '\n--- install.consumer: %s\n' "$*"; }

step "cmake --install --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; exit 1; }

[ -f "$prefix/include/cio.h" ] || { echo "missing include/cio.h"; exit 1; }
for h in "$src"/include/cio/*.h; do
    [ -e "$h" ] || continue
    [ -f "$prefix/include/cio/$(basename "$h")" ] ||
        { echo "missing include/cio/$(basename "$h")"; exit 1; }
done
pc=$(find "$prefix" -name cio.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || { echo "cio.pc was not installed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
for f in libcio.a libcio.so; do
    [ -e "$libdir/$f" ] || { echo "missing $libdir/$f"; exit 1; }
done
[ -f "$libdir/cmake/cio/cioConfig.cmake" ] ||
    { echo "missing cioConfig.cmake"; exit 1; }
[ -f "$libdir/cmake/cio/cioConfigVersion.cmake" ] ||
    { echo "missing cioConfigVersion.cmake"; exit 1; }
grep -qx 'License: MIT' "$pc" || { echo "cio.pc states no licence"; exit 1; }
grep -q 'cio_LICENSE "MIT"' "$libdir/cmake/cio/cioConfig.cmake" ||
    { echo "cioConfig.cmake states no licence"; exit 1; }
[ -f "$prefix/share/doc/cio/LICENSE" ] ||
    { echo "missing share/doc/cio/LICENSE"; exit 1; }
if grep -q "$build" "$pc"; then
    echo "cio.pc refers to the build tree:"; cat "$pc"; exit 1
fi

step "DESTDIR staging"
DESTDIR=$tmp/stage cmake --install "$build" --prefix /opt/cio >/dev/null
[ -f "$tmp/stage/opt/cio/include/cio.h" ] ||
    { echo "DESTDIR was not honoured"; exit 1; }
stagepc=$(find "$tmp/stage" -name cio.pc | head -n 1)
grep -q '^prefix=/opt/cio$' "$stagepc" ||
    { echo "cio.pc prefix is wrong under DESTDIR:"; cat "$stagepc"; exit 1; }

step "pkg-config build"
export PKG_CONFIG_PATH=$libdir/pkgconfig
flags=$(pkg-config --cflags --libs cio)
echo "pkg-config --cflags --libs cio: $flags"
pkg-config --static --libs cio | grep -q -- '-lpthread' ||
    { echo "pkg-config --static lacks -lpthread"; exit 1; }
# shellcheck disable=SC2086 # word splitting of $flags is intended
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror \
    "$src/tests/install/consumer.c" $flags -o "$tmp/consumer_pc"
LD_LIBRARY_PATH=$libdir "$tmp/consumer_pc"

step "every example built alone with the command at its top"
# Each examples/*.c is copied into an empty directory (no tree headers
# within reach) and built with the command its header comment prints,
# against the installed cio; a warning fails like an error.
exdir=$tmp/examples
mkdir -p "$exdir"
nex=0
for ex in "$src"/examples/*.c; do
    [ -e "$ex" ] || continue
    name=$(basename "$ex" .c)
    cmd=$(awk '/Build alone/ { on = 1; next }
        on && /^ \*     / { sub(/^ \*     +/, ""); sub(/\\$/, "");
                            printf "%s ", $0; next }
        on { exit }' "$ex")
    want="cc -std=c11 -Wall -Wextra -pedantic $name.c -o $name "
    if [ "${cmd#"$want"}" = "$cmd" ]; then
        echo "$name.c: no build command at its top (want: $want...)"
        exit 1
    fi
    cp "$ex" "$exdir/"
    if ! (cd "$exdir" && eval "$cc ${cmd#cc }") 2>"$exdir/$name.err" ||
        [ -s "$exdir/$name.err" ]; then
        echo "$name.c does not build alone with: $cmd"
        cat "$exdir/$name.err"
        exit 1
    fi
    [ -x "$exdir/$name" ] || { echo "$name was not built"; exit 1; }
    nex=$((nex + 1))
done
[ "$nex" -gt 0 ] || { echo "no examples found"; exit 1; }
echo "$nex examples built alone"

step "docs/tutorial.md: every program builds alone and runs"
tutdir=$tmp/tutorial
mkdir -p "$tutdir"
awk -v d="$tutdir" '/^```c$/ { n++; f = sprintf("%s/prog%d.c", d, n); on = 1; next }
    /^```$/ { on = 0; next }
    on { print > f }' "$src/docs/tutorial.md"
ntut=0
for prog in "$tutdir"/prog*.c; do
    [ -e "$prog" ] || continue
    name=$(basename "$prog" .c)
    # shellcheck disable=SC2086 # word splitting of $flags is intended
    if ! "$cc" -std=c11 -Wall -Wextra -pedantic "$prog" -o "$tutdir/$name" \
        $flags 2>"$tutdir/$name.err" || [ -s "$tutdir/$name.err" ]; then
        echo "tutorial $name does not build:"; cat "$tutdir/$name.err"; exit 1
    fi
    LD_LIBRARY_PATH=$libdir timeout 60 "$tutdir/$name" >"$tutdir/$name.out" ||
        { echo "tutorial $name failed:"; cat "$tutdir/$name.out"; exit 1; }
    ntut=$((ntut + 1))
done
[ "$ntut" -ge 4 ] || { echo "only $ntut tutorial programs found"; exit 1; }
echo "$ntut tutorial programs built and ran"

step "find_package(cio) build"
# The version asked for is this tree's MAJOR.MINOR (before 1.0 each minor
# version is its own ABI, so the package accepts only its own minor).
want=$(sed -nE 's/^#define CIO_VERSION_(MAJOR|MINOR) +([0-9]+).*/\2/p' \
    "$src/include/cio.h" | paste -sd.)
cmake -S "$src/tests/install" -B "$tmp/cmake-build" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCIO_WANT_VERSION="$want" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tmp/configure.log" ||
    { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/cmake-build" -j 2 >"$tmp/build.log" ||
    { cat "$tmp/build.log"; exit 1; }
LD_LIBRARY_PATH=$libdir "$tmp/cmake-build/consumer_shared"
"$tmp/cmake-build/consumer_static"
if readelf -d "$tmp/cmake-build/consumer_static" | grep -q 'libcio\.so'; then
    echo "consumer_static is linked against libcio.so"; exit 1
fi
readelf -d "$tmp/cmake-build/consumer_shared" | grep -q 'NEEDED.*libcio\.so' ||
    { echo "consumer_shared is not linked against libcio.so"; exit 1; }

step "ok"
