# shellcheck shell=bash
# The one clang build (build-clang): AddressSanitizer and UndefinedBehaviorSanitizer on every
# target, libFuzzer's coverage on the libraries the fuzz targets link. The fuzz targets
# (scripts/fuzz.sh, the fuzz smoke of `make test`) and the sanitizer suite
# (scripts/test-sanitize.sh) are built in it, so that CI compiles src/ with clang once.
# The tests link those libraries too: their coverage hooks then call the sanitizer runtime's
# empty defaults, and a report fails the test as in any sanitizer build.
# -O1 with line tables: what the sanitizers and libFuzzer recommend (their stack traces need no
# more), and much quicker to build than -O2 -g. Debug keeps assertions on.
clang_build_dir=${CLANG_BUILD_DIR:-build-clang}

configure_clang_build() {  # $1: the build directory
  if [ ! -f "$1/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_C_FLAGS_DEBUG="-O1 -gline-tables-only" \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" \
      -DTBPAY_SANITIZE=ON -DTBPAY_FUZZ=ON -DTBPAY_BUILD_BENCH=OFF >/dev/null
  fi
  cmake "$1" >/dev/null  # picks up test and fuzz folders added since the last configure
}

# The fuzz targets to build and run: FUZZ_TARGETS (space-separated), else every fuzz_* target.
fuzz_targets() {  # $1: the build directory
  echo "${FUZZ_TARGETS:-$(ninja -C "$1" -t targets all |
    sed -n 's/^\(fuzz_[A-Za-z0-9_]*\): phony$/\1/p' | sort -u)}"
}
