#include "app/demo_command.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "app/cli_args.h"
#include "app/demo_generator.h"
#include "app/incidents_command.h"
#include "app/scan_command.h"
#include "triage/incident_json.h"
#include "triage/incident_store.h"

namespace sevwatch::app {
namespace {

namespace fs = std::filesystem;
constexpr const char* kMarker = ".sevwatch-demo";

// The demo owns its directory: it may wipe one it made before, never anything else.
bool prepare_dir(const fs::path& dir, std::ostream& err) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      err << "sevwatch demo: " << dir.string() << " exists and is not a directory\n";
      return false;
    }
    const bool empty = fs::is_empty(dir, ec);
    if (!empty && !fs::exists(dir / kMarker, ec)) {
      err << "sevwatch demo: " << dir.string()
          << " is not empty and was not made by the demo; choose another --dir\n";
      return false;
    }
    fs::remove_all(dir, ec);
    if (ec) {
      err << "sevwatch demo: cannot clear " << dir.string() << ": " << ec.message() << "\n";
      return false;
    }
  }
  fs::create_directories(dir, ec);
  if (ec) {
    err << "sevwatch demo: cannot create " << dir.string() << ": " << ec.message() << "\n";
    return false;
  }
  std::ofstream(dir / kMarker) << "made by sevwatch demo; the demo may delete this directory\n";
  return true;
}

}  // namespace

int demo_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  DemoOptions options;
  fs::path dir = "sevwatch-demo";
  bool json = false;
  ArgParser p("demo", args, err);
  while (p.more()) {
    if (p.flag("--outsiders")) {
      options.outsiders = true;
    } else if (p.flag("--dir")) {
      dir = p.value();
    } else if (p.flag("--events")) {
      options.ordinary_events = static_cast<std::uint64_t>(p.int_value(0, 100'000'000));
    } else if (p.flag("--json")) {
      json = true;
    } else {
      p.fail("unexpected argument '" + p.positional() + "'");
    }
  }
  if (p.failed()) return 2;
  if (!prepare_dir(dir, err)) return 1;

  const auto t0 = std::chrono::steady_clock::now();
  DemoFiles files;
  try {
    files = write_demo(dir, options);
  } catch (const std::exception& e) {
    err << "sevwatch demo: " << e.what() << "\n";
    return 1;
  }
  const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!json) {
    out << fmt::format(
        "sevwatch demo{}: wrote {} Ranger audit events (a day of dw_hive, 60,000 tables) and the "
        "context to {} in {:.1f} s\n\n",
        options.outsiders ? " --outsiders" : "", files.events, dir.string(), gen_s);
  }

  ScanOptions scan;
  scan.context_path = files.context.string();
  scan.store_url = "sqlite:" + (dir / "sevwatch.db").string();
  scan.paths = {files.logs.string()};
  scan.json = json;
  ScanReport report;
  const int rc = run_scan(scan, out, err, &report);
  if (rc != 0) return rc;

  std::string error;
  auto store = triage::IncidentStore::open(scan.store_url, error);
  if (!store) {
    err << "sevwatch demo: " << error << "\n";
    return 1;
  }
  const auto incidents = store->list(std::nullopt);
  if (json) return 0;
  out << fmt::format("\nscan speed: {:.0f} events/s ({} events in {:.2f} s)\n\n",
                     report.seconds > 0 ? static_cast<double>(report.events) / report.seconds : 0,
                     report.events, report.seconds);
  if (incidents.empty()) {
    out << "no incident was opened\n";
    return 0;
  }
  const triage::Incident* worst = &incidents.front();
  for (const auto& inc : incidents) {
    if (inc.sev < worst->sev) worst = &inc;
  }
  if (auto full = store->get(worst->id, true)) print_incident(*full, out);
  out << fmt::format(
      "\nfirst grant at {}; the incident's opened_at is the event time of that grant.\n",
      triage::format_time(files.first_grant_ms));
  const std::string store_arg = "--store " + scan.store_url;
  out << "\nLook at it:\n";
  out << fmt::format("  sevwatch incidents list {}\n", store_arg);
  out << fmt::format("  sevwatch incidents show {} {}\n", worst->id, store_arg);
  out << fmt::format("  sevwatch incidents show {} {} --json\n", worst->id, store_arg);
  out << fmt::format("  sevwatch incidents ack {} --by you {}\n", worst->id, store_arg);
  return 0;
}

}  // namespace sevwatch::app
