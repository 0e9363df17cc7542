// Writes the demo scenario (spec/scenario-mci.md) into a directory: a context
// file with a 60,000-row inventory, and a day of Ranger plugin audit JSON in
// hourly files. Deterministic: the same options give byte-identical files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace sevwatch::app {

struct DemoOptions {
  bool outsiders = false;  // dana, eli, fern read 12 mci tables between 11:00 and 12:00
  std::uint64_t ordinary_events = 1'000'000;  // background reads, denials, narrow grants
  std::uint64_t seed = 20260820;
};

struct DemoFiles {
  std::filesystem::path context;    // context.yaml
  std::filesystem::path inventory;  // inventory.csv
  std::filesystem::path logs;       // directory of ranger-audit-*.jsonl
  std::uint64_t events = 0;         // lines written
  std::int64_t first_grant_ms = 0;  // event time of the first GRANT ... TO GROUP public
};

DemoFiles write_demo(const std::filesystem::path& dir, const DemoOptions& options);

// Names the scenario fixes.
inline constexpr const char* kDemoService = "dw_hive";
inline constexpr const char* kDemoPipelinePrincipal = "svc-mci-pipeline";
inline constexpr int kDemoMciDatabases = 90;
inline constexpr int kDemoTablesPerDatabase = 500;

}  // namespace sevwatch::app
