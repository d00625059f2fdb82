# jukinet — the front door. The real build is CMake; these targets set it up and run it.
#   make          build build/jukinet and build/jukinetd
#   make demo     set up a fresh Debian 12 machine and run the demo: the network of four nodes
#                 on loopback (SQLite; `make demo PG=1` puts the prefecture and the nation on a
#                 private PostgreSQL server)
#   make check    set up and run every test: unit + CLI (normal build), unit under ASan+UBSan,
#                 fuzz corpora replayed through the libFuzzer builds, lint
#   make bench    the benchmarks in bench/ (prints rates and ratios)
#   make fuzz     fuzz every parser for FUZZ_SECONDS each (default 60)
#   make soak     the kill -9 test at full size: 40 kills while 100,000 notices flow
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all build bootstrap demo check check-unit check-asan check-fuzz bench fuzz soak clean

all: build

bootstrap:
	@scripts/bootstrap

build/CMakeCache.txt: | bootstrap
	cmake -S . -B build $(CMAKE_FLAGS) >/dev/null

build: bootstrap build/CMakeCache.txt
	cmake --build build -j$(JOBS) -- --no-print-directory

demo: build
	scripts/demo

soak: build
	KILLS=40 NOTICES=100000 CHUNK=2500 JUKINET=$(CURDIR)/build/jukinet JUKINETD=$(CURDIR)/build/jukinetd \
	  JK_SOURCE_DIR=$(CURDIR) JUKINET_TODAY=2026-11-23 bash tests/cli/test_killnet.sh

check: build
	cd build && ctest --output-on-failure -j$(JOBS)
	$(MAKE) --no-print-directory check-asan check-fuzz
	@echo "make check: all passed"

check-asan: bootstrap
	cmake -S . -B build-asan -DJK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j$(JOBS) -- --no-print-directory
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j$(JOBS) -L unit

check-fuzz: bootstrap
	CC=clang cmake -S . -B build-fuzz -DJK_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-fuzz -j$(JOBS) -- --no-print-directory
	@set -e; for f in build-fuzz/fuzz/fuzz_*; do \
	  n=$${f##*/fuzz_}; echo "replay corpus $$n"; \
	  $$f -runs=0 tests/fuzz/corpus/$$n >/dev/null 2>build-fuzz/replay-$$n.log || { cat build-fuzz/replay-$$n.log; exit 1; }; \
	done

bench: build
	bench/run

fuzz: check-fuzz
	@set -e; for f in build-fuzz/fuzz/fuzz_*; do \
	  n=$${f##*/fuzz_}; mkdir -p build-fuzz/corpus/$$n; \
	  echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus/$$n tests/fuzz/corpus/$$n; \
	done

clean:
	rm -rf build build-asan build-fuzz
