// Helpers for the live-source tests: Ranger lines with unique ids, and a sink
// that records what the sources delivered.
#pragma once

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "detectors/decoder.h"
#include "detectors/sources/source.h"
#include "tests/test_support.h"

namespace sevwatch::testing {

namespace src = detectors::sources;

// One Ranger read, event_uid = id.
inline std::string ranger_line(const std::string& id, int minute = 0) {
  return fmt::format(
      R"({{"repoType":3,"repo":"dw_hive","reqUser":"alice","evtTime":"2026-08-20 10:{:02}:00.000","access":"SELECT","resource":"sales/orders/amount","resType":"@column","action":"select","result":1,"id":"{}"}})",
      minute % 60, id);
}

struct RecordingSink : src::IngestSink {
  std::vector<std::string> ids;  // event_uid, in arrival order
  std::vector<detectors::AccessEvent> events;
  std::vector<src::Reject> rejects;
  void on_event(detectors::AccessEvent&& e) override {
    ids.push_back(e.event_uid);
    events.push_back(std::move(e));
  }
  // Events per format.
  std::map<std::string, int> formats() const {
    std::map<std::string, int> m;
    for (const auto& e : events) ++m[e.format];
    return m;
  }
  std::map<std::string, int> reasons() const {
    std::map<std::string, int> m;
    for (const auto& r : rejects) ++m[r.reason];
    return m;
  }
  void on_reject(src::Reject&& r) override { rejects.push_back(std::move(r)); }
  std::map<std::string, int> counts() const {
    std::map<std::string, int> m;
    for (const auto& id : ids) ++m[id];
    return m;
  }
};

struct SourceHarness {
  boost::asio::io_context io;
  detectors::DecoderRegistry registry;
  RecordingSink sink;
  src::MemoryCheckpointStore checkpoints;
  std::vector<std::string> log_lines;
  src::SourceContext ctx;

  SourceHarness() {
    detectors::register_builtin_decoders(registry);
    ctx.executor = io.get_executor();
    ctx.registry = &registry;
    ctx.sink = &sink;
    ctx.checkpoints = &checkpoints;
    ctx.log = [this](std::string_view level, std::string_view msg) {
      log_lines.push_back(std::string(level) + " " + std::string(msg));
    };
  }

  // Runs the io_context until `done` or the timeout.
  bool run_until(const std::function<bool()>& done, int timeout_ms = 10000) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  std::string log_text() const {
    std::string out;
    for (const auto& l : log_lines) out += l + "\n";
    return out;
  }
};

inline void append_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << text;
}

}  // namespace sevwatch::testing
