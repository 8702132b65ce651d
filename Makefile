# Thin wrapper around CMake/CTest. `make run` and `make test` install what is
# missing (Debian packages), build, and do the rest; see README.md.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build test test-asan run bench soak fuzz stop status clean

all: build

deps:
	@bash deploy/local/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 300

$(BUILD_ASAN)/CMakeCache.txt:
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DANTT_ASAN=ON $(CMAKE_ARGS)

test-asan: deps $(BUILD_ASAN)/CMakeCache.txt
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) --timeout 600

# HA=1: PostgreSQL under Patroni and etcd, with standbys (deploy/ha/antt-ha)
run: build
	@bash deploy/local/antt-stack $(if $(HA),run-ha,run)

stop:
	@bash deploy/local/antt-stack stop

status:
	@bash deploy/local/antt-stack status

bench: build
	@bash tests/bench/run.sh $(BUILD)

# libFuzzer on every target for FUZZ_SECONDS each (clang, ASan, UBSan); new
# inputs go to $(BUILD_FUZZ)/corpus, the seeds in tests/fuzz/corpus are read
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = submit messages form text classify
fuzz:
	@bash deploy/local/deps.sh fuzz
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DANTT_ASAN=ON -DANTT_FUZZ=ON $(CMAKE_ARGS)
	cmake --build $(BUILD_FUZZ) -j$(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD_FUZZ)/corpus/$$t && \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s" && \
	  $(BUILD_FUZZ)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(BUILD_FUZZ)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# the long versions of the fault tests (the quick ones run in `make test`),
# each for ANTT_FAULT_SECONDS (600), on a PostgreSQL of their own; run
# directly rather than through ctest, whose per-test timeouts are the quick
# versions'
SOAK_TESTS = faults network partition abuse ha
soak: build
	@bash tests/pg/pg-fixture.sh start $(BUILD)/soakpg > /dev/null
	@rc=0; for t in $(SOAK_TESTS); do \
	  echo "== $$t ($${ANTT_FAULT_SECONDS:-600} s)"; \
	  (cd $(BUILD)/tests && ANTT_TEST_PGDIR=$(abspath $(BUILD))/soakpg \
	    ANTT_FAULT_SECONDS=$${ANTT_FAULT_SECONDS:-600} ./test_$$t) || rc=1; \
	done; bash tests/pg/pg-fixture.sh stop $(BUILD)/soakpg > /dev/null; exit $$rc

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
