# Thin wrapper around CMake/CTest. `make run` and `make test` install what is
# missing (Debian packages), build, and do the rest; see README.md.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build test test-asan run bench soak stop status clean

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

run: build
	@bash deploy/local/antt-stack run

stop:
	@bash deploy/local/antt-stack stop

status:
	@bash deploy/local/antt-stack status

bench: build
	@bash tests/bench/run.sh $(BUILD)

# the long versions of the fault tests (the quick ones run in `make test`)
soak: build
	cd $(BUILD) && ANTT_FAULT_SECONDS=$${ANTT_FAULT_SECONDS:-600} ctest --output-on-failure -V \
	  -R '^(pg_start|faults_integration|pg_stop)$$' --timeout 3600

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
