// engine_bench: the rule engine alone, on events decoded beforehand.
//
//   engine_bench DEMO_DIR [EXTRA_RULES]
//   engine_bench --write-rules FILE [EXTRA_RULES]   (the generated rules, for
//                                                   `sevwatch scan --rules`)
//
// DEMO_DIR is what `sevwatch demo --dir` (or `decoder_bench --generate`)
// wrote: context.yaml and logs/*.jsonl. Every log is decoded once into memory
// and put in event-time order (as `sevwatch scan` does); then
// `Engine::process` + `finish` is timed (best of 3, a fresh engine each time;
// one run when a run takes over 10 s)
// with (a) the shipped pack and (b) the shipped pack plus EXTRA_RULES
// (default 1000) generated aggregate and exposure-evidence rules with
// distinct principal/object glob conditions. Findings go to a sink that
// counts them.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "app/wiring.h"
#include "detectors/decoder.h"
#include "detectors/input_reader.h"
#include "rules/engine.h"
#include "rules/rule_file.h"

namespace {

using sevwatch::detectors::AccessEvent;
namespace rules = sevwatch::rules;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct CollectSink : sevwatch::detectors::EventSink {
  std::vector<AccessEvent>* events = nullptr;
  std::uint64_t weirds = 0;
  void on_event(AccessEvent&& e) override { events->push_back(std::move(e)); }
  void on_weird(sevwatch::detectors::Weird&&) override { ++weirds; }
};

struct CountFindings : rules::FindingSink {
  std::uint64_t findings = 0;
  void on_finding(const rules::Finding&) override { ++findings; }
};

// Rules in the shape of the shipped ones, over the demo's names: principals
// "<team>-NN", objects "dw_hive.<team>_NN.<table>".
std::string generated_rules(int count) {
  static const char* const kTeams[] = {"ads", "sales", "infra"};
  static const char* const kPrefixes[] = {"campaign", "orders", "metrics"};
  std::ostringstream y;
  for (int i = 0; i < count; ++i) {
    const int t = i % 3;
    const int db = (i / 3) % 25 + 1;
    const int k = (i / 75) % 10;
    const char* principal_glob = i < 750 ? "-*" : "-0*";
    char object_glob[96];
    std::snprintf(object_glob, sizeof object_glob, "dw_hive.%s_%02d.%s_0%d*", kTeams[t], db,
                  kPrefixes[t], k);
    if (i % 10 < 7) {
      y << "- rule: bench_aggregate_" << i << "\n"
        << "  title: \"generated aggregate " << i << "\"\n"
        << "  owner: bench\n"
        << "  kind: aggregate\n"
        << "  condition: action = read and result = allowed and principal glob '" << kTeams[t]
        << principal_glob << "' and object glob '" << object_glob << "'\n"
        << "  aggregate:\n";
      if (i % 2 == 0) {
        y << "    function: count_distinct\n    field: object\n";
      } else {
        y << "    function: count\n";
      }
      y << "    group_by: [principal]\n"
        << "    window: " << (i % 4 == 0 ? "10m" : "1h") << "\n"
        << "    tiers: [{gte: " << 100000 + i << ", sev: 4}]\n";
    } else {
      y << "- rule: bench_evidence_" << i << "\n"
        << "  title: \"generated exposure evidence " << i << "\"\n"
        << "  owner: bench\n"
        << "  kind: exposure_evidence\n"
        << "  condition: action in (read, export) and result = allowed and principal glob '"
        << kTeams[t] << principal_glob << "' and object glob '" << object_glob << "'\n"
        << "  evidence:\n"
        << "    attach_to: [broad_exposure_sensitive, narrow_exposure_sensitive]\n";
    }
  }
  return y.str();
}

struct EngineResult {
  double seconds = 1e300;
  std::uint64_t findings = 0;
  std::uint64_t exposed_reads = 0;
  int runs = 0;
};

EngineResult time_engine(const rules::Context& context, const rules::RuleSet& set,
                         const std::vector<AccessEvent>& events) {
  EngineResult r;
  for (int run = 0; run < 3; ++run) {
    CountFindings sink;
    rules::Engine engine(context, set, sink);
    const double t0 = now_s();
    for (const auto& e : events) engine.process(e);
    engine.finish();
    r.seconds = std::min(r.seconds, now_s() - t0);
    r.findings = sink.findings;
    r.exposed_reads = engine.stats().exposed_reads;
    ++r.runs;
    if (now_s() - t0 > 10) break;  // slow configurations: one run is enough
  }
  return r;
}

// Memory per live distinct value: one count_distinct rule (sliding 1 h window,
// one group) fed `values` events, each with a new session id, all within the
// window. The heap in use before the events and after them, per value.
struct StateMemory {
  std::size_t values = 0;
  double bytes_per_value = 0;
};

StateMemory state_memory(const rules::Context& context, std::size_t values = 1'000'000) {
  rules::RuleSet set;
  rules::Diagnostics diags;
  rules::load_rules_string(
      "- rule: bench_distinct_sessions\n"
      "  title: distinct sessions\n"
      "  owner: bench\n"
      "  kind: aggregate\n"
      "  condition: action = read\n"
      "  aggregate:\n"
      "    function: count_distinct\n"
      "    field: session\n"
      "    group_by: [principal]\n"
      "    window: 1h\n"
      "    window_type: sliding\n"
      "    tiers: [{gte: 100000000, sev: 4}]\n"
      "    max_values: 10000000\n",
      "bench_state.yaml", set, diags);
  rules::check_rule_set(set, diags);
  if (diags.has_errors()) {
    std::cerr << diags.to_text();
    return {};
  }
  CountFindings sink;
  rules::Engine engine(context, set, sink);
  AccessEvent e;
  e.format = "ranger_audit";
  e.principal = "svc-agent";
  e.action = sevwatch::detectors::Action::read;
  e.result = sevwatch::detectors::Result::allowed;
  e.object.name = "dw_hive.bench.t";
  e.object.level = sevwatch::detectors::ObjectLevel::table;
  e.time_ms = 1'780'000'000'000;
  engine.process(e);  // the group and the object exist before the count starts
  // In use: small chunks (uordblks) and mmap()ed big ones (hblkhd).
  auto heap = [] {
    const auto mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
  };
  const auto before = heap();
  for (std::size_t i = 0; i < values; ++i) {
    e.session = "s" + std::to_string(i);
    e.time_ms += 1;  // 1,000,000 values span 1,000 s: all live in the 1 h window
    engine.process(e);
  }
  const auto after = heap();
  StateMemory m;
  m.values = values;
  m.bytes_per_value = static_cast<double>(after - before) / static_cast<double>(values);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && argc <= 4 && std::string_view(argv[1]) == "--write-rules") {
    std::ofstream(argv[2]) << generated_rules(argc == 4 ? std::stoi(argv[3]) : 1000);
    return 0;
  }
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: engine_bench DEMO_DIR [EXTRA_RULES]\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const int extra = argc == 3 ? std::stoi(argv[2]) : 1000;

  // Decode once.
  sevwatch::detectors::DecoderRegistry registry;
  sevwatch::detectors::register_builtin_decoders(registry);
  std::vector<std::filesystem::path> logs;
  for (const auto& e : std::filesystem::directory_iterator(dir / "logs")) {
    if (e.is_regular_file()) logs.push_back(e.path());
  }
  std::sort(logs.begin(), logs.end());
  std::vector<AccessEvent> events;
  CollectSink collect;
  collect.events = &events;
  double t0 = now_s();
  for (const auto& p : logs) {
    const auto result =
        sevwatch::detectors::read_input(p.string(), "ranger_audit", registry, {}, collect);
    if (!result.ok) {
      std::cerr << "engine_bench: " << result.error << "\n";
      return 1;
    }
  }
  std::stable_sort(events.begin(), events.end(), [](const AccessEvent& a, const AccessEvent& b) {
    return a.time_ms < b.time_ms;
  });
  std::printf("decoded %zu events from %zu logs in %.2f s (%llu weird)\n", events.size(),
              logs.size(), now_s() - t0, static_cast<unsigned long long>(collect.weirds));

  // (a) the shipped pack, with the demo's context.
  sevwatch::app::Pipeline pipeline;
  if (!sevwatch::app::load_pipeline((dir / "context.yaml").string(), {}, "", pipeline, std::cerr)) {
    return 1;
  }
  const std::size_t shipped = pipeline.rules.rules.size();
  const EngineResult a = time_engine(*pipeline.context, pipeline.rules, events);

  // (b) the shipped pack plus generated rules.
  rules::RuleSet big;
  rules::Diagnostics diags;
  t0 = now_s();
  rules::load_shipped_rules(big, diags);
  rules::load_rules_string(generated_rules(extra), "bench_generated.yaml", big, diags);
  rules::check_rule_set(big, diags);
  const double compile_s = now_s() - t0;
  if (diags.has_errors()) {
    std::cerr << diags.to_text().substr(0, 4000);
    return 1;
  }
  const EngineResult b = time_engine(*pipeline.context, big, events);

  const StateMemory mem = state_memory(*pipeline.context);

  const auto n = static_cast<double>(events.size());
  std::printf("engine (best of up to 3, events pre-decoded, in event-time order)\n");
  std::printf("  shipped pack          %5zu rules: %10.0f events/s  %.3f s  (%llu findings)\n",
              shipped, n / a.seconds, a.seconds, static_cast<unsigned long long>(a.findings));
  std::printf(
      "  pack + %d generated %5zu rules: %10.0f events/s  %.3f s  (%llu findings; "
      "load+check %.2f s; %d run(s))\n",
      extra, big.rules.size(), n / b.seconds, b.seconds,
      static_cast<unsigned long long>(b.findings), compile_s, b.runs);
  std::printf("  ratio big/shipped: %.2f\n", a.seconds / b.seconds);
  std::printf(
      "state: a count_distinct rule holding %zu live values in one group: %.1f bytes per value "
      "(heap in use, malloc's count)\n",
      mem.values, mem.bytes_per_value);
  std::printf("state_values=%zu\nstate_bytes_per_value=%.1f\n", mem.values, mem.bytes_per_value);
  std::printf(
      "events=%zu\nshipped_rules=%zu\nshipped_events_s=%.0f\nbig_rules=%zu\n"
      "big_events_s=%.0f\nbig_compile_seconds=%.3f\nratio=%.3f\n",
      events.size(), shipped, n / a.seconds, big.rules.size(), n / b.seconds, compile_s,
      a.seconds / b.seconds);
  return 0;
}
