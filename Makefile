# cio - a thin front end: everything real happens in CMake and CTest.
#
#   make [lib]       the library alone in build-lib/ (no tests, examples or
#                    benchmarks): needs only a compiler, CMake, pkg-config
#                    (scripts/bootstrap lib; liburing-dev optional: without
#                    it cio is built with epoll only and says so)
#   make install     make lib, then install it into $(PREFIX) (DESTDIR
#                    honoured); runs ldconfig when root and not under DESTDIR
#   make uninstall   removes what make install installed (build-lib/'s
#                    install_manifest.txt), then ldconfig as install does
#   make build       bootstrap test, configure build/ (gcc, RelWithDebInfo,
#                    tests, examples, bench), build
#   make check       build, then the quick ctest in build/ (no valgrind)
#   make test        the CI gate, five stages, stopping at the first failure:
#                      1. gcc:      build/ + full ctest (both backends)
#                      2. clang:    build-clang/, -Werror, unit tests but
#                                   stress (both backends)
#                      3. asan:     build-asan/, address,undefined, all but
#                                   stress (both backends)
#                      4. tsan:     build-tsan/, thread, unit + core but
#                                   stress, epoll only
#                      5. valgrind: build/, core tests under memcheck (epoll)
#                    Every unit and integration case is registered in CTest
#                    twice, on epoll and as uring.<name> on io_uring (label
#                    uring; cmake/CioTesting.cmake), so each ctest run below
#                    covers both backends unless it excludes the label.
#                    (each stage is also a target: make test-asan, ...)
#                    The stress tests (10,000 connections, 1,000 children,
#                    100 MiB pipes; label stress) run in stage 1 only, as
#                    the developers' guide asks: under ASan/TSan/valgrind they
#                    would take most of CI's 30-minute budget; the same
#                    code paths run there through the smaller unit and
#                    integration cases.
#   make demo        the library and examples/ in build-demo/ (bootstrap
#                    demo), then run the examples of examples/demo.list
#   make bench       build, then bench/run $(BENCH_ARGS) (bootstrap bench)
#   make docs        the API reference from the header comments (Doxygen):
#                    build-lib/docs/html/index.html and man pages in
#                    build-lib/docs/man/man3 (needs doxygen)
#   make fuzz        libFuzzer (clang) on tests/fuzz/fuzz_*.c and the Redis
#                    reply parser (tests/redis/fuzz_reply.c), FUZZ_SECONDS
#                    (60) each; the corpora are replayed by ctest anyway
#   make format      clang-format -i every C source; check-format only checks
#   make clean       remove every build directory
#
# Only make check/test*/build/bench install the test tools and peers (Go,
# Node, qemu-user, cross compilers, valgrind...); see scripts/bootstrap.
#
# Variables: PREFIX (/usr/local), DESTDIR, JOBS (2), BUILD_DIR (build),
# LIB_BUILD_DIR (build-lib), DEMO_BUILD_DIR (build-demo),
# BENCH_ARGS (e.g. "--only ctxswitch --rounds 1").

SHELL := /bin/bash
.DEFAULT_GOAL := lib
# Stages run one after the other even under make -j; cmake and ctest do the
# parallel work.
.NOTPARALLEL:
MAKEFLAGS += --no-print-directory

PREFIX ?= /usr/local
JOBS ?= 2
BUILD_DIR ?= build
LIB_BUILD_DIR ?= build-lib
DEMO_BUILD_DIR ?= build-demo
CMAKE ?= cmake
CTEST ?= ctest

GCC := -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++
CLANG := -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
RELEASE := -DCMAKE_BUILD_TYPE=RelWithDebInfo
# Sanitizer builds keep assertions (no NDEBUG) and run at -O1.
SANITIZED := -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g"

CTEST_RUN := $(CTEST) --output-on-failure -j $(JOBS) --test-dir

# build/ is always configured the same way, whichever target asks for it.
MAIN_CONFIG := $(GCC) $(RELEASE) -DCMAKE_INSTALL_PREFIX=$(PREFIX) \
	-DCIO_SANITIZE= -DCIO_VALGRIND=ON -DCIO_TEST_TIMEOUT_MULTIPLIER=1 \
	-DCIO_BUILD_TESTS=ON -DCIO_BUILD_EXAMPLES=ON -DCIO_BUILD_BENCH=ON

# The library alone (make lib, install, uninstall) and the tour (make demo):
# nothing that needs the test or bench packages is configured.
LEAN := -DCIO_SANITIZE= -DCIO_VALGRIND=OFF -DCIO_BUILD_TESTS=OFF \
	-DCIO_BUILD_BENCH=OFF
LIB_CONFIG := $(RELEASE) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(LEAN) \
	-DCIO_BUILD_EXAMPLES=OFF
DEMO_CONFIG := $(RELEASE) $(LEAN) -DCIO_BUILD_EXAMPLES=ON

define banner
	@printf '\n%s\n== %s\n%s\n' \
		'========================================================================' \
		'$(1)' \
		'========================================================================'
endef

.PHONY: docs all lib build configure check test test-gcc test-clang test-asan \
	test-tsan test-valgrind demo bench fuzz install uninstall format \
	check-format clean bootstrap help

all: lib

help:
	@sed -n '1,/^$$/s/^# \{0,1\}//p' Makefile

# Every target names the package group it needs (scripts/bootstrap).
BOOTSTRAP_GROUP ?= test
bootstrap:
	@bash scripts/bootstrap $(BOOTSTRAP_GROUP)

lib:
	@bash scripts/bootstrap lib
	$(CMAKE) -S . -B $(LIB_BUILD_DIR) $(LIB_CONFIG)
	$(CMAKE) --build $(LIB_BUILD_DIR) -j $(JOBS)

docs: lib
	$(CMAKE) --build $(LIB_BUILD_DIR) --target docs

configure: bootstrap
	$(CMAKE) -S . -B $(BUILD_DIR) $(MAIN_CONFIG)

build: configure
	$(CMAKE) --build $(BUILD_DIR) -j $(JOBS)

check: build
	$(CTEST_RUN) $(BUILD_DIR) -LE valgrind

test: bootstrap test-gcc test-clang test-asan test-tsan test-valgrind

test-gcc: bootstrap
	$(call banner,[1/5] gcc: build $(BUILD_DIR)/ and run the full test suite on epoll and io_uring)
	$(CMAKE) -S . -B $(BUILD_DIR) $(MAIN_CONFIG)
	$(CMAKE) --build $(BUILD_DIR) -j $(JOBS)
	$(CTEST_RUN) $(BUILD_DIR) -LE valgrind

test-clang: bootstrap
	$(call banner,[2/5] clang: -Werror build of everything + unit tests)
	$(CMAKE) -S . -B build-clang $(CLANG) $(RELEASE) -DCIO_WERROR=ON \
		-DCIO_SANITIZE= -DCIO_VALGRIND=OFF -DCIO_TEST_TIMEOUT_MULTIPLIER=1
	$(CMAKE) --build build-clang -j $(JOBS)
	$(CTEST_RUN) build-clang -L unit -LE stress

test-asan: export ASAN_OPTIONS = detect_leaks=1:abort_on_error=1
test-asan: export UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1
test-asan: bootstrap
	$(call banner,[3/5] asan: address+undefined sanitizers - all tests but stress, epoll and io_uring)
	$(CMAKE) -S . -B build-asan $(GCC) $(SANITIZED) \
		-DCIO_SANITIZE=address,undefined -DCIO_VALGRIND=OFF \
		-DCIO_BUILD_BENCH=OFF -DCIO_TEST_TIMEOUT_MULTIPLIER=3
	$(CMAKE) --build build-asan -j $(JOBS)
	$(CTEST_RUN) build-asan -LE stress

test-tsan: export TSAN_OPTIONS = halt_on_error=1
test-tsan: bootstrap
	$(call banner,[4/5] tsan: thread sanitizer - unit + core tests)
	$(CMAKE) -S . -B build-tsan $(GCC) $(SANITIZED) \
		-DCIO_SANITIZE=thread -DCIO_VALGRIND=OFF \
		-DCIO_BUILD_EXAMPLES=OFF -DCIO_BUILD_BENCH=OFF \
		-DCIO_TEST_TIMEOUT_MULTIPLIER=5
	$(CMAKE) --build build-tsan -j $(JOBS)
	$(CTEST_RUN) build-tsan -L 'unit|core' -LE 'stress|uring'

test-valgrind: bootstrap
	$(call banner,[5/5] valgrind: core tests under memcheck)
	$(CMAKE) -S . -B $(BUILD_DIR) $(MAIN_CONFIG)
	$(CMAKE) --build $(BUILD_DIR) -j $(JOBS)
	$(CTEST_RUN) $(BUILD_DIR) -L valgrind

demo:
	@bash scripts/bootstrap demo
	$(CMAKE) -S . -B $(DEMO_BUILD_DIR) $(DEMO_CONFIG)
	$(CMAKE) --build $(DEMO_BUILD_DIR) -j $(JOBS)
	@bash scripts/demo $(DEMO_BUILD_DIR)

bench: BOOTSTRAP_GROUP = bench
bench: build
	@if [ -f bench/run ]; then \
		echo "make bench: running bench/run (binaries in $(BUILD_DIR)/bench)"; \
		if [ -x bench/run ]; then run=(bench/run); else run=(bash bench/run); fi; \
		CIO_BUILD_DIR="$(abspath $(BUILD_DIR))" "$${run[@]}" $(BENCH_ARGS); \
	else \
		echo "make bench: bench/run does not exist yet; benchmarks are" \
			"built in $(BUILD_DIR)/bench but there is nothing to run them"; \
	fi

FUZZ_SECONDS ?= 60
fuzz: bootstrap
	bash scripts/fuzz $(FUZZ_SECONDS)

# ldconfig refreshes the loader's cache so programs find the new
# libcio.so.X.Y at once; a staged install (DESTDIR) is not the system's.
define ldconfig_if_system
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then \
		echo "ldconfig"; ldconfig; \
	elif [ -z "$(DESTDIR)" ]; then \
		echo "note: not root; run ldconfig as root if $(PREFIX) is a" \
			"system prefix"; \
	fi
endef

install: lib
	DESTDIR="$(DESTDIR)" $(CMAKE) --install $(LIB_BUILD_DIR) --prefix "$(PREFIX)"
	$(call ldconfig_if_system)

uninstall:
	@m="$(LIB_BUILD_DIR)/install_manifest.txt"; \
	if [ ! -f "$$m" ]; then \
		echo "make uninstall: $$m not found (nothing installed by" \
			"make install from $(LIB_BUILD_DIR))" >&2; exit 1; \
	fi; \
	dirs=(); \
	while IFS= read -r f || [ -n "$$f" ]; do \
		[ -n "$$f" ] || continue; \
		if [ -e "$$f" ] || [ -L "$$f" ]; then rm -f -- "$$f" && echo "removed $$f"; fi; \
		d=$$(dirname -- "$$f"); \
		case "$$d" in */cio) dirs+=("$$d") ;; esac; \
	done <"$$m"; \
	for d in "$${dirs[@]}"; do rmdir -- "$$d" 2>/dev/null || true; done
	$(call ldconfig_if_system)

FORMAT_FILES = $(shell find src include tests examples bench \
	-path tests/fuzz/corpus -prune -o \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -print \
	2>/dev/null | sort)

format:
	clang-format -i $(FORMAT_FILES)

check-format:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD_DIR) $(LIB_BUILD_DIR) $(DEMO_BUILD_DIR) build-clang \
		build-asan build-tsan build-fuzz
