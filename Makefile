# Entry points: `make run` (install deps, build, run) and `make test` (every test).
BUILD      ?= build
ASAN_BUILD ?= build-asan
CMAKE_ARGS ?=
JOBS       ?= $(shell nproc)

.PHONY: all deps build run test test-asan test-tsan fuzz bench clean

all: build

deps:
	@scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

# The daemon in the foreground with its default settings (API on 127.0.0.1:8000, jobs in
# ./chime.db, ./.env read if present); Ctrl-C stops it. `chimed --help` lists the settings.
run: build
	$(BUILD)/chimed

# Every test runs with a throw-away PostgreSQL cluster (scripts/with_pg.sh exports
# CHIME_TEST_PG_URL, stops and removes the cluster afterwards).
test: build
	scripts/with_pg.sh ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	CC=clang cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCHIME_SANITIZE=address,undefined $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  scripts/with_pg.sh ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -L 'unit|daemon-asan'

TSAN_BUILD ?= build-tsan
# The threaded modules (clock, pool, scheduler, store, executor: processes and
# webhooks, HTTP server) under ThreadSanitizer.
test-tsan: deps
	CC=clang cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCHIME_SANITIZE=thread $(CMAKE_ARGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1 scripts/with_pg.sh ctest --test-dir $(TSAN_BUILD) --output-on-failure -j $(JOBS) \
	  -R 'test_(clock|pool|sched|scheduler_embed|time|store|process|webhook|builtin_exec|http|http_watch|metrics|chime_metrics)$$'

fuzz: deps
	scripts/fuzz.sh

bench: build
	bench/run

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-fuzz
