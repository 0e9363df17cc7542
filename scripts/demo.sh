#!/usr/bin/env bash
# Quickstart, command 1: install what is needed, build, and run `sevwatch demo`.
# Arguments go to the demo (e.g. --outsiders).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec ./build/sevwatch demo "$@"
