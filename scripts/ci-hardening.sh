#!/usr/bin/env bash
# Hardening checks of the native core (issue 9), run by .ci/run and by hand:
#   1. one clang build of the core, its ctest tests and the libFuzzer harnesses, with ASan +
#      UBSan (+ LSan) and libFuzzer's coverage instrumentation (EKMS_SANITIZE=ON EKMS_FUZZ=ON);
#   2. ctest under the sanitizers, including canaries that prove ASan, LSan and UBSan are live;
#   3. each fuzzer, from generated seeds, bounded by time AND by runs.
# It never touches build/ (the addon other tests load); everything goes to $EKMS_HARDENING_DIR.
#
# Knobs (environment):
#   EKMS_HARDENING_DIR   build and corpus folder          default /tmp/ekms-hardening
#   EKMS_FUZZ_SECONDS    time per fuzzer                   default 8
#   EKMS_FUZZ_RUNS       max inputs per fuzzer (-runs)     default 2000000
#   EKMS_FUZZ_TARGETS    space-separated subset            default: all built harnesses
#   EKMS_FUZZ_JOBS       parallel fuzzing jobs per target  default 1
#   EKMS_SKIP_FUZZ=1     sanitizer build + ctest only (e.g. without clang: uses g++ then)
#   EKMS_KEEP_CORPUS=1   keep the corpus between runs (longer runs by hand build on it)
#   EKMS_SOURCE_DIR      source tree to build              default: this script's checkout
# A longer run by hand:  EKMS_FUZZ_SECONDS=3600 EKMS_KEEP_CORPUS=1 scripts/ci-hardening.sh
# Reproduce a finding:   $EKMS_HARDENING_DIR/build/native/fuzz/fuzz_<name> <crash-file>
# fuzz_token (the token layer against a scripted fake PKCS#11 module) runs both of its modes;
# EKMS_FUZZ_TOKEN_MODE=strict or lax keeps it to one (native/fuzz/fuzz_token.cpp).
# The last line is `hardening: N passed, N failed`.
set -uo pipefail
root="${EKMS_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
dir="${EKMS_HARDENING_DIR:-/tmp/ekms-hardening}"
seconds="${EKMS_FUZZ_SECONDS:-8}"
runs="${EKMS_FUZZ_RUNS:-2000000}"
jobs="${EKMS_FUZZ_JOBS:-1}"
build="$dir/build"
# A build folder configured from another checkout cannot be reused (CMake refuses): start over.
if [ -f "$build/CMakeCache.txt" ] && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$root" "$build/CMakeCache.txt"; then
  rm -rf "$build"
fi
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }
finish() { echo "hardening: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

fuzz=1
if [ "${EKMS_SKIP_FUZZ:-}" = 1 ]; then fuzz=0; fi
if command -v clang++ >/dev/null 2>&1; then
  export CC=clang CXX=clang++
elif [ "$fuzz" = 1 ]; then
  echo "clang++ not found: the fuzzers need clang and libFuzzer (Debian: apt-get install clang libclang-rt-N-dev, N being clang's major version)," \
    "or set EKMS_SKIP_FUZZ=1 for the sanitizer build alone (with g++)"
  fail "clang available"
  finish
fi

mkdir -p "$dir"
[ "${EKMS_KEEP_CORPUS:-}" = 1 ] || rm -rf "$dir/corpus"
# Others' clang-only warnings must not hide memory errors here; npm's g++ build keeps -Werror.
cmake_args=(-S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEKMS_BUILD_ADDON=OFF -DEKMS_WERROR=OFF -DEKMS_SANITIZE=ON)
[ "$fuzz" = 1 ] && cmake_args+=(-DEKMS_FUZZ=ON)
start=$SECONDS
# Only what runs here: the native tests (with what they depend on), the canaries and the
# fuzzers; not, say, benchmarks, whose own flags are not ours to keep clang-clean.
build_dirs=("$build/native/tests")
[ "$fuzz" = 1 ] && build_dirs+=("$build/native/fuzz")
build_all() {
  cmake -G "Unix Makefiles" "${cmake_args[@]}" >"$dir/configure.log" 2>&1 || return 1
  make -C "$build" -j"$(nproc)" sanitizer_canary >"$dir/build.log" 2>&1 || return 1
  for d in "${build_dirs[@]}"; do make -C "$d" -j"$(nproc)" >>"$dir/build.log" 2>&1 || return 1; done
}
if build_all; then
  pass "sanitizer build ($(( SECONDS - start ))s, ${CXX:-c++})"
else
  tail -n 40 "$dir/configure.log" "$dir/build.log"
  fail "sanitizer build (see $dir/build.log)"
  finish
fi

# Sanitizer runtime options: every report is fatal, leaks included.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
supp="$root/native/fuzz/lsan.supp"
[ -f "$supp" ] && export LSAN_OPTIONS="suppressions=$supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

if ctest --test-dir "$build" --output-on-failure >"$dir/ctest.log" 2>&1; then
  pass "ctest under ASan+UBSan+LSan ($(grep -Eo '[0-9]+ tests passed|tests passed, [0-9]+ tests failed out of [0-9]+' "$dir/ctest.log" | tail -1))"
else
  tail -n 60 "$dir/ctest.log"
  fail "ctest under ASan+UBSan+LSan (see $dir/ctest.log)"
fi

if [ "$fuzz" = 1 ]; then
  fuzzdir="$build/native/fuzz"
  "$fuzzdir/make_seeds" "$dir/seeds" >/dev/null
  targets="${EKMS_FUZZ_TARGETS:-$(tr '\n' ' ' <"$build/fuzz-targets.txt")}"
  for t in $targets; do
    name="${t#fuzz_}"
    mkdir -p "$dir/corpus/$name" "$dir/artifacts/$name"
    seeds="$dir/seeds/$name"
    [ -d "$seeds" ] || seeds=""
    log="$dir/$t.log"
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: unbounded memory is a finding.
    parallel=()
    [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
    (cd "$dir" && "$fuzzdir/$t" -max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      "${parallel[@]}" -print_final_stats=1 -artifact_prefix="$dir/artifacts/$name/" \
      "$dir/corpus/$name" $seeds) >"$log" 2>&1
    rc=$?
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | awk '{s+=$1} END {print s+0}')
    if [ $rc -eq 0 ] && ! grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|PROPERTY VIOLATED' "$log"; then
      pass "$t: $execs inputs in ${seconds}s, no finding"
    else
      grep -E -A25 'ERROR:|runtime error:|PROPERTY VIOLATED|unexpected exception' "$log" | head -60
      fail "$t (rc $rc; log $log; reproduce with: $fuzzdir/$t $(ls "$dir/artifacts/$name/"* 2>/dev/null | head -1))"
    fi
  done
fi
finish
