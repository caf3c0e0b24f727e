# tbpay: `make run` and `make test` are all a new machine needs (see README.md).
BUILD_DIR ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps configure build run test bench package fuzz test-sanitize format clean

all: build

deps:
	@scripts/deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The main job on embedded defaults: SQLite file and JSON-lines events under ./var/. Builds
# only the binary it runs. The environment wins over config/dev.env's demo settings
# (LISTEN_ADDR=127.0.0.1:8081 make run): scripts/run-dev.sh.
run: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target tbpay
	@scripts/run-dev.sh $(BUILD_DIR)

# Every ctest test (unit, integration, Kafka mock cluster, Lambda, reliability), then each
# libFuzzer target for FUZZ_SMOKE_SECONDS under ASan+UBSan, two at a time (scripts/fuzz-smoke.sh,
# clang build in build-clang). The fuzz smoke runs even when a ctest test failed; `make test`
# fails if either did (with ctest's status first).
FUZZ_SMOKE_SECONDS ?= 30
test: build
	@status=0; \
	  BUILD_DIR=$(BUILD_DIR) scripts/test.sh || status=$$?; \
	  scripts/fuzz-smoke.sh $(FUZZ_SMOKE_SECONDS) || { rc=$$?; [ $$status -ne 0 ] || status=$$rc; }; \
	  exit $$status

clean:
	rm -rf $(BUILD_DIR)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

# Webhook throughput side by side with pgbench running the least work a callback needs and
# tbpay's own statement on a durable PostgreSQL, relay and Lambda figures (bench/README.md).
# Under ten minutes; not part of `make test` or CI.
# make bench BENCH_FLAGS="--rounds 5 --payments 1500000"
bench: configure
	BUILD_DIR=$(BUILD_DIR) scripts/bench.sh $(BENCH_FLAGS)

# libFuzzer targets (clang, ASan+UBSan) built in build-clang, each run for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

# AWS Lambda package (docs/lambda.md): bootstrap, the stripped binary, its libraries and the loader.
package: build
	scripts/package-lambda.sh $(BUILD_DIR)

# The unit tests under ASan+UBSan+LSan (clang, build-clang: the fuzz targets' build, so `src/`
# is compiled with clang once); CI runs the whole suite so (SANITIZE_LABELS=all) after `make test`.
# Other labels or the whole suite: make test-sanitize SANITIZE_LABELS="unit lambda" or =all
SANITIZE_LABELS ?= unit
test-sanitize: deps
	scripts/test-sanitize.sh $(SANITIZE_LABELS)
