// `sevwatch scan`: read inputs to the end, in event time, through the rules
// into the incident store, and summarize.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace sevwatch::app {

struct ScanOptions {
  std::string context_path;             // empty: the shipped default context
  std::vector<std::string> rule_paths;  // empty: the shipped rule pack
  std::string rubric_path;              // empty: the shipped SEV rubric
  std::string store_url = "sqlite:sevwatch.db";
  std::string format = "auto";
  std::optional<int> fail_on_sev;
  bool json = false;
  std::vector<std::string> paths;  // files, directories (every file inside), or "-"
  int threads = 0;                 // decoding threads; 0: one per core
  std::size_t stream_queue = 256;  // two threads streaming: batches that may wait between them
  std::size_t max_line_bytes = 1 << 20;
  std::string catalog;         // catalog name for formats whose logs carry none (Hive)
  std::string mapping_file;    // field mapping for --format json_mapped
  std::string sigma_mapping;   // --sigma-mapping: for Sigma rule files (empty: the shipped one)
  int utc_offset_minutes = 0;  // zone of zone-less timestamps, minutes east of UTC
};

struct RejectSample {
  std::string where;  // file:line
  std::string reason;
  std::string detail;
};

struct ScanReport {
  std::uint64_t events = 0;
  std::map<std::string, std::uint64_t> rejected;  // reason -> count
  std::vector<RejectSample> reject_samples;       // the first few, for the human summary
  std::map<std::string, std::uint64_t> by_format;
  std::uint64_t findings = 0;  // distinct findings
  std::uint64_t incidents_opened = 0;
  std::uint64_t incidents_updated = 0;
  double seconds = 0;
  // Where the time went: load (context, rules, store), then stream (decode and
  // engine together) or decode, order and rules (engine); store (incident writes).
  std::map<std::string, double> phase_seconds;
  // How events reached the engine: "streamed" (inputs were already in event
  // time order, decoded straight into the engine) or "sorted" (decoded,
  // spooled and ordered first). A stream abandoned for a step back in time
  // shows as the phase "stream_abandoned".
  std::string mode;
  // Streamed on two threads: lines the engine thread decoded itself (of
  // formats whose lines decode on their own), to balance the threads.
  std::uint64_t shared_lines = 0;
  std::uint64_t bytes = 0;
};

// Runs a scan. Returns the process exit status (0, 1 runtime error, 3 fail-on-sev);
// writes the summary to `out` and errors to `err`. `report` receives the figures.
int run_scan(const ScanOptions& options, std::ostream& out, std::ostream& err,
             ScanReport* report = nullptr);

// The `scan` subcommand: parses argv (after "scan").
int scan_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sevwatch::app
