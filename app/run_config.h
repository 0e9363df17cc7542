// The `sevwatch run` configuration file (YAML): sources, context, rules,
// store, dead-letter file, limits and the commit interval. See
// examples/sevwatch.yaml for a commented example. Relative paths are relative
// to the config file's directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "detectors/sources/source.h"

namespace sevwatch::app {

// When `run` re-reads its rule files: on SIGHUP only, or also when one of
// them changes (checked every flush interval).
enum class RulesReload { signal, watch };

struct RunConfig {
  std::string context_path;             // empty: the shipped default context
  std::vector<std::string> rule_paths;  // empty: the shipped rule pack
  std::string rubric_path;              // empty: the shipped rubric
  std::string sigma_mapping_path;       // for Sigma rule files; empty: the shipped mapping
  std::string store_url = "sqlite:sevwatch.db";
  std::string dead_letter_path;  // empty: rejects are only counted
  std::size_t dead_letter_max_raw_bytes = 4096;
  std::uint64_t flush_interval_ms = 1000;
  std::size_t max_line_bytes = 1 << 20;
  std::size_t max_depth = 64;
  int assumed_utc_offset_minutes = 0;
  std::vector<detectors::sources::SourceSpec> sources;  // enabled ones only
  // The name of this process's grant journal and baselines in the store
  // (engine_state.name); processes sharing one store need different names.
  std::string state_name = "run";
  // Journal compaction (app/journal_compaction.h): at start and every this
  // many committed batches (0: never), for events arriving up to
  // `compact_lateness_ms` behind the newest event time.
  std::uint64_t compact_every = 600;
  std::int64_t compact_lateness_ms = 3'600'000;
  RulesReload rules_reload = RulesReload::signal;
};

// Loads and checks the file. On failure returns false with `error` set to one
// line naming the file (and the key when one is at fault).
bool load_run_config(const std::string& path, RunConfig& out, std::string& error);

// The URL with any password replaced by "***" (postgresql://u:pw@h/db,
// password=... in a conninfo string), for logs.
std::string redact_url(const std::string& url);

}  // namespace sevwatch::app
