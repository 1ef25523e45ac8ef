#!/usr/bin/env bash
# test.sh — install what is needed, build, and run every test: the unit and
# end-to-end tests on the normal build (warnings are errors), then the same
# suite again under AddressSanitizer and UBSan.  `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --tests
jobs=$(nproc)

echo "== build (warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
echo "== tests"
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)

echo "== build with ASan/UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTC_SANITIZE=ON -DTC_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs"
echo "== tests under ASan/UBSan"
# The trainer's training runs are checked by the normal build; under the
# sanitizers its unit tests still run.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j "$jobs" --timeout 900 -E 'fmnist/(e2e|accuracy)')
