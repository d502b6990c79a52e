# cio - a thin front end: everything real happens in CMake and CTest.
#
#   make [build]     bootstrap, configure build/ (gcc, RelWithDebInfo), build
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
#   make demo        build, then run the examples of examples/demo.list
#   make bench       build, then bench/run $(BENCH_ARGS)
#   make install     install build/ into $(PREFIX) (DESTDIR honoured)
#   make fuzz        libFuzzer (clang) on tests/fuzz/fuzz_*.c, FUZZ_SECONDS
#                    (60) each; the corpora are replayed by ctest anyway
#   make format      clang-format -i every C source; check-format only checks
#   make clean       remove every build directory
#
# Variables: PREFIX (/usr/local), DESTDIR, JOBS (2), BUILD_DIR (build),
# BENCH_ARGS (e.g. "--only ctxswitch --rounds 1").

SHELL := /bin/bash
.DEFAULT_GOAL := build
# Stages run one after the other even under make -j; cmake and ctest do the
# parallel work.
.NOTPARALLEL:
MAKEFLAGS += --no-print-directory

PREFIX ?= /usr/local
JOBS ?= 2
BUILD_DIR ?= build
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

define banner
	@printf '\n%s\n== %s\n%s\n' \
		'========================================================================' \
		'$(1)' \
		'========================================================================'
endef

.PHONY: all build configure check test test-gcc test-clang test-asan \
	test-tsan test-valgrind demo bench fuzz install format check-format clean \
	bootstrap help

all: build

help:
	@sed -n '1,/^$$/s/^# \{0,1\}//p' Makefile

bootstrap:
	@bash scripts/bootstrap

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

demo: build
	@bash scripts/demo $(BUILD_DIR)

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

install: build
	DESTDIR="$(DESTDIR)" $(CMAKE) --install $(BUILD_DIR) --prefix "$(PREFIX)"

FORMAT_FILES = $(shell find src include tests examples bench \
	-path tests/fuzz/corpus -prune -o \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -print \
	2>/dev/null | sort)

format:
	clang-format -i $(FORMAT_FILES)

check-format:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD_DIR) build-clang build-asan build-tsan build-fuzz
