#!/usr/bin/env bash
# Builds the benchmarks if needed, generates the inputs, runs everything and
# prints a table with ratios. See bench/README.md.
#
#   bench/run.sh                 # everything
#   BENCH_EVENTS=500000 bench/run.sh
#
# Environment: BUILD (build dir, default build-bench), BENCH_WORK (inputs and
# outputs, default /tmp/sevwatch-bench), BENCH_EVENTS (ordinary events of the
# end-to-end file, default 2000000), BENCH_JOBS (build -j, default 1),
# BENCH_SKIP_FORMATS=1 (skip the per-format decoder runs).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
WORK=${BENCH_WORK:-/tmp/sevwatch-bench}
EVENTS=${BENCH_EVENTS:-2000000}
JOBS=${BENCH_JOBS:-1}
mkdir -p "$WORK"

log() { printf '== %s\n' "$*" >&2; }
val() { grep -m1 "^$1=" "$2" | cut -d= -f2; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }

# --- build -----------------------------------------------------------------
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build "$BUILD" --target decoder_bench engine_bench sevwatch -j"$JOBS" >&2
DB=$BUILD/bench/decoder_bench
EB=$BUILD/bench/engine_bench
SW=$BUILD/sevwatch

# --- inputs ----------------------------------------------------------------
gen() {  # gen EVENTS NAME
  if [[ ! -s $WORK/$2.jsonl ]]; then
    log "generating $2 ($1 ordinary events)"
    rm -rf "${WORK:?}/$2"
    "$DB" --generate "$WORK/$2.jsonl" "$1" "$WORK/$2" >&2
  fi
}
gen 1000000 demo1m
gen "$EVENTS" demo_e2e
E2E=$WORK/demo_e2e.jsonl
E2E_LINES=$(wc -l <"$E2E")
E2E_MB=$(calc "$(stat -c %s "$E2E") / 1e6" 0)

# A fixture format's files, concatenated again and again to >= 50 MB (< 100 MB).
replicate() {  # replicate OUT FILE...
  local out=$1
  shift
  [[ -s $out ]] && return
  cat "$@" >"$out.tmp"
  while (($(stat -c %s "$out.tmp") < 50000000)); do  # doubling: few processes
    cat "$out.tmp" "$out.tmp" >"$out.tmp2" && mv "$out.tmp2" "$out.tmp"
  done
  mv "$out.tmp" "$out"
}

# --- 1. decoders -----------------------------------------------------------
FX=$ROOT/tests/fixtures
declare -A FILES=(
  [aws_cloudtrail]="$FX/aws_cloudtrail/*.jsonl"
  [gcp_bigquery]="$FX/gcp_bigquery/*.jsonl"
  [snowflake]="$FX/snowflake/*.jsonl"
  [databricks_uc]="$FX/databricks_uc/*.jsonl"
  [pgaudit]="$FX/pgaudit/*.log"
  [pgaudit_csv]="$FX/pgaudit/*.csv"
)
DEC_ROWS=()
decoder_row() {  # decoder_row FORMAT FILE LABEL
  local out=$WORK/decoder_$1_$3.txt
  log "decoder_bench $1 ($3)"
  "$DB" "$2" "$1" >"$out"
  local limit=n/a ratio=n/a
  if grep -q '^limit_mb_s=' "$out"; then
    limit="$(val limit_mb_s "$out") MB/s"
    ratio=$(val ratio "$out")
  fi
  DEC_ROWS+=("$(printf '| %-14s | %-12s | %8s MB | %14s | %9s MB/s | %9s | %9s | %6s |' "$1" "$3" \
    "$(calc "$(val bytes "$out") / 1e6" 0)" "$limit" "$(val decoder_mb_s "$out")" \
    "$(val decoder_lines_s "$out")" "$(val decoder_events_s "$out")" "$ratio")")
}
decoder_row ranger_audit "$WORK/demo1m.jsonl" demo_1m
if [[ ${BENCH_SKIP_FORMATS:-0} != 1 ]]; then
  for f in aws_cloudtrail gcp_bigquery snowflake databricks_uc pgaudit pgaudit_csv; do
    # shellcheck disable=SC2086  # the globs are meant to expand
    replicate "$WORK/fixture_$f.txt" ${FILES[$f]}
    decoder_row "$f" "$WORK/fixture_$f.txt" fixtures
  done
fi
# The limit on the end-to-end file (also the decoder on it).
decoder_row ranger_audit "$E2E" e2e
LIMIT_S=$(val limit_seconds "$WORK/decoder_ranger_audit_e2e.txt")

# --- 2. engine -------------------------------------------------------------
log "engine_bench"
"$EB" "$WORK/demo1m" 1000 >"$WORK/engine.txt"

# --- 3. end to end ---------------------------------------------------------
scan() {  # scan THREADS NAME ARGS...: best of 3 (a fresh store each time)
  local threads=$1 name=$2 best="" i
  shift 2
  log "sevwatch scan --threads $threads ($name)"
  for i in 1 2 3; do
    rm -f "$WORK/$name.db"
    "$SW" scan --json --threads "$threads" --context "$WORK/demo_e2e/context.yaml" \
      --store "sqlite:$WORK/$name.db" "$@" >"$WORK/$name.try.json"
    local s
    s=$(jq -r .seconds "$WORK/$name.try.json")
    if [[ -z $best ]] || awk "BEGIN { exit !($s < $best) }"; then
      best=$s
      mv "$WORK/$name.try.json" "$WORK/$name.json"
    fi
  done
  rm -f "$WORK/$name.try.json"
  jq -r '"events=\(.events)\nseconds=\(.seconds)\nmode=\(.mode)"' "$WORK/$name.json" >"$WORK/$name.txt"
}
scan 1 scan_t1 "$E2E"
scan 2 scan_t2 "$E2E"
# Inputs in time order stream through a decoder thread and the engine's; two
# halves of the file are read one after the other in the same way.
if [[ ! -s $WORK/demo_e2e.part1 ]]; then
  (cd "$WORK" && split -n l/2 -d -a 1 demo_e2e.jsonl demo_e2e.half && mv demo_e2e.half0 demo_e2e.part1 &&
    mv demo_e2e.half1 demo_e2e.part2)
fi
scan 2 scan_t2_halves "$WORK/demo_e2e.part1" "$WORK/demo_e2e.part2"
# The machine's own two-core capacity, as a control: two one-thread scans at
# once. On a shared VM two vCPUs may give much less than twice one.
log "two one-thread scans at once (control)"
PAR_T0=$(date +%s.%N)
for half in a b; do
  rm -f "$WORK/scan_par_$half.db"
  "$SW" scan --json --threads 1 --context "$WORK/demo_e2e/context.yaml" \
    --store "sqlite:$WORK/scan_par_$half.db" "$E2E" >"$WORK/scan_par_$half.json" &
done
wait
PAR_S=$(calc "$(date +%s.%N) - $PAR_T0" 3)
# The shipped pack plus the 1,000 generated rules of engine_bench.
"$EB" --write-rules "$WORK/generated_1000.yaml" 1000
scan 1 scan_t1_1000 --rules "$ROOT/rules/pack" --rules "$WORK/generated_1000.yaml" "$E2E"

if ! command -v jq >/dev/null; then
  apt-get install -y jq >&2
fi
log "jq"
JQ_T0=$(date +%s.%N)
jq -c 'select(.result==0)' "$E2E" >/dev/null
JQ_S=$(calc "$(date +%s.%N) - $JQ_T0" 3)

DUCK_S="" DUCK_TOTAL_S="" DUCK_NOTE=""
if [[ ! -d $ROOT/bench/node_modules/@duckdb/node-api ]]; then
  log "npm install @duckdb/node-api"
  (cd "$ROOT/bench" && npm install --no-save --no-package-lock --no-audit --no-fund \
    @duckdb/node-api >&2) || DUCK_NOTE="npm install failed (no network?): DuckDB skipped"
fi
if [[ -z $DUCK_NOTE ]]; then
  log "duckdb (1 thread)"
  if (cd "$ROOT/bench" && node duckdb_count.mjs "$E2E" 1) >"$WORK/duckdb.txt"; then
    DUCK_S=$(val duckdb_query_seconds "$WORK/duckdb.txt")
    DUCK_TOTAL_S=$(val duckdb_total_seconds "$WORK/duckdb.txt")
  else
    DUCK_NOTE="DuckDB run failed: DuckDB skipped"
  fi
fi

# --- table -----------------------------------------------------------------
S1=$(val seconds "$WORK/scan_t1.txt")
S2=$(val seconds "$WORK/scan_t2.txt")
S2H=$(val seconds "$WORK/scan_t2_halves.txt")
S1K=$(val seconds "$WORK/scan_t1_1000.txt")
EV=$(val events "$WORK/scan_t1.txt")
rate() { calc "$E2E_LINES / $1" 0; }

echo
echo "## Decoders (in memory, best of 3)"
echo
echo "| format | input | size | simdjson limit | decoder | lines/s | AccessEvents/s | decoder/limit |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${DEC_ROWS[@]}"
echo
echo "## Engine alone (events pre-decoded, demo with 1M ordinary events, best of 3)"
echo
echo "| rule set | rules | events/s |"
echo "|---|---:|---:|"
echo "| shipped pack | $(val shipped_rules "$WORK/engine.txt") | $(val shipped_events_s "$WORK/engine.txt") |"
echo "| shipped + 1000 generated | $(val big_rules "$WORK/engine.txt") | $(val big_events_s "$WORK/engine.txt") |"
echo
echo "Loading and checking the 1,000 extra rules: $(val big_compile_seconds "$WORK/engine.txt") s;" \
  "big/shipped time ratio $(val ratio "$WORK/engine.txt")."
echo
echo "State memory: a count_distinct rule holding $(val state_values "$WORK/engine.txt") live values" \
  "in one group costs $(val state_bytes_per_value "$WORK/engine.txt") bytes per value (target <= 64)."
echo
echo "## End to end on $E2E_LINES Ranger lines ($E2E_MB MB; scan produced $EV AccessEvents)"
echo
echo "Rates are input lines per second over each tool's own time (scan: its JSON \`seconds\`;"
echo "simdjson: in memory; jq: process wall; DuckDB: query time, process wall in brackets)."
echo
echo "| measurement | seconds | lines/s |"
echo "|---|---:|---:|"
echo "| simdjson On-Demand, every field (limit) | $(calc "$LIMIT_S" 3) | $(rate "$LIMIT_S") |"
echo "| sevwatch scan --threads 1 | $(calc "$S1" 3) | $(rate "$S1") |"
echo "| sevwatch scan --threads 2 (one file) | $(calc "$S2" 3) | $(rate "$S2") |"
echo "| sevwatch scan --threads 2 (two halves) | $(calc "$S2H" 3) | $(rate "$S2H") |"
echo "| sevwatch scan --threads 1, pack + 1,000 rules | $(calc "$S1K" 3) | $(rate "$S1K") |"
echo "| jq -c 'select(.result==0)' | $JQ_S | $(rate "$JQ_S") |"
if [[ -n $DUCK_S ]]; then
  echo "| DuckDB 1 thread, count(DISTINCT resource) | $DUCK_S ($DUCK_TOTAL_S) | $(rate "$DUCK_S") ($(rate "$DUCK_TOTAL_S")) |"
fi
echo
echo "scan phases, 1 thread ($(val mode "$WORK/scan_t1.txt")): $(jq -c .phase_seconds "$WORK/scan_t1.json")"
echo
echo "| ratio | value |"
echo "|---|---:|"
echo "| scan/limit (target >= 0.30) | $(calc "$LIMIT_S / $S1" 3) |"
echo "| scan with 1,000 rules/limit (target >= 0.12) | $(calc "$LIMIT_S / $S1K" 3) |"
echo "| scan/jq (target >= 10) | $(calc "$JQ_S / $S1") |"
if [[ -n $DUCK_S ]]; then
  echo "| scan/DuckDB (query time; process wall) | $(calc "$DUCK_S / $S1") ; $(calc "$DUCK_TOTAL_S / $S1") |"
else
  echo "| scan/DuckDB | ${DUCK_NOTE} |"
fi
echo "| 2-thread/1-thread (one file) | $(calc "$S1 / $S2") |"
echo "| 2-thread/1-thread (two halves) | $(calc "$S1 / $S2H") |"
echo "| control: two 1-thread scans at once, throughput vs one (the machine's 2-core capacity) | $(calc "2 * $S1 / $PAR_S") |"
