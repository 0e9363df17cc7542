#!/usr/bin/env bash
# Quickstart, command 2: install what is needed, build, and run the whole test
# suite: the Release build (warnings as errors), then the unit tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
(cd build && ctest --output-on-failure -j2)
if [ "${SEVWATCH_SKIP_SANITIZE:-0}" != "1" ]; then
  BUILD_DIR=build-asan BUILD_TYPE=Debug ./scripts/build.sh -DSEVWATCH_SANITIZE=ON
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j2 -E '^app$')
fi
echo "all tests passed"
