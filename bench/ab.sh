#!/usr/bin/env bash
# Compares `sevwatch scan` binaries on the end-to-end file by alternating
# runs (A B A B ...), so that a VM's drifting speed falls on each alike, and
# prints each binary's best and median `seconds`.
#
#   bench/ab.sh N BINARY...          # N runs of each, one thread
#   THREADS=2 bench/ab.sh N BINARY...
#
# Uses the inputs bench/run.sh generates (BENCH_WORK, default
# /tmp/sevwatch-bench: demo_e2e.jsonl and demo_e2e/context.yaml).
set -euo pipefail
n=${1:?usage: bench/ab.sh N BINARY...}
shift
work=${BENCH_WORK:-/tmp/sevwatch-bench}
declare -A times
for _ in $(seq "$n"); do
  for bin in "$@"; do
    rm -f "$work/ab.db"
    s=$("$bin" scan --json --threads "${THREADS:-1}" --context "$work/demo_e2e/context.yaml" \
      --store "sqlite:$work/ab.db" "$work/demo_e2e.jsonl" | jq .seconds)
    times[$bin]="${times[$bin]:-} $s"
  done
done
for bin in "$@"; do
  printf '%s: ' "$bin"
  tr ' ' '\n' <<<"${times[$bin]}" | grep . | sort -n |
    awk '{a[NR] = $1} END {printf "best %.3f s, median %.3f s, %d runs\n", a[1], a[int((NR + 1) / 2)], NR}'
done
