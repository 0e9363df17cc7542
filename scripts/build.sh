#!/usr/bin/env bash
# Configures and builds sevwatch into ${BUILD_DIR:-build} (Release, warnings as errors).
# Extra arguments go to cmake's configure step, e.g. -DSEVWATCH_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} -DSEVWATCH_WERROR=ON "$@" >/dev/null
else
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} -DSEVWATCH_WERROR=ON "$@" >/dev/null
fi
cmake --build "$build_dir" -j"${JOBS:-2}"
