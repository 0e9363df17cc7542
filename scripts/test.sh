#!/usr/bin/env bash
# Quickstart, command 2: install what is needed, build, and run the whole test
# suite: the Release build (warnings as errors), then the unit tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer. The PostgreSQL store
# tests run against a temporary server (scripts/pg-test-server.sh) unless
# SEVWATCH_TEST_PG_URL already names one.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
# A throwaway PostgreSQL server for the PostgreSQL store tests, stopped on exit.
if [ -z "${SEVWATCH_TEST_PG_URL:-}" ]; then
  SEVWATCH_PG_DIR=$(mktemp -d /tmp/sevwatch-pg-test.XXXXXX)
  export SEVWATCH_PG_DIR
  trap './scripts/pg-test-server.sh stop' EXIT
  SEVWATCH_TEST_PG_URL=$(./scripts/pg-test-server.sh start)
  export SEVWATCH_TEST_PG_URL
fi
(cd build && ctest --output-on-failure -j2)
if [ "${SEVWATCH_SKIP_SANITIZE:-0}" != "1" ]; then
  BUILD_DIR=build-asan BUILD_TYPE=Debug ./scripts/build.sh -DSEVWATCH_SANITIZE=ON
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j2 -E '^app$')
fi
echo "all tests passed"
