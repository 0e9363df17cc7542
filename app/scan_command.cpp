#include "app/scan_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <numeric>
#include <optional>
#include <set>
#include <thread>

#include "app/cli_args.h"
#include "app/event_spool.h"
#include "app/scan_stream.h"
#include "app/wiring.h"
#include "detectors/decoder.h"
#include "detectors/input_reader.h"
#include "rules/engine.h"
#include "triage/incident_manager.h"

namespace sevwatch::app {
namespace {

using detectors::AccessEvent;

// Collects one input's events and rejects.
struct InputSink : detectors::EventSink {
  EventSpool events;
  std::vector<std::pair<std::int64_t, EventSpool::Ref>> index;  // event time, record
  RejectTally rejects;

  void on_event(AccessEvent&& e) override { index.emplace_back(e.time_ms, events.append(e)); }
  void on_weird(detectors::Weird&& w) override { rejects.add(std::move(w)); }
};

struct DecodedInput {
  std::string path;
  detectors::InputResult result;
  InputSink sink;
};

// Files named on the command line; a directory stands for the regular files
// inside it (not recursive), sorted by name.
bool expand_paths(const std::vector<std::string>& paths, std::vector<std::string>& out,
                  std::string& error) {
  namespace fs = std::filesystem;
  for (const auto& p : paths) {
    std::error_code ec;
    if (p != "-" && fs::is_directory(p, ec)) {
      std::vector<std::string> inside;
      for (const auto& entry : fs::directory_iterator(p, ec)) {
        if (entry.is_regular_file()) inside.push_back(entry.path().string());
      }
      std::sort(inside.begin(), inside.end());
      out.insert(out.end(), inside.begin(), inside.end());
    } else if (p == "-" || fs::exists(p, ec)) {
      out.push_back(p);
    } else {
      error = fmt::format("{}: no such file or directory", p);
      return false;
    }
  }
  return true;
}

// Counts distinct findings on their way to triage.
struct CountingSink : rules::FindingSink {
  rules::FindingSink& next;
  std::set<std::string> keys;
  explicit CountingSink(rules::FindingSink& n) : next(n) {}
  void on_finding(const rules::Finding& f) override {
    keys.insert(f.group_key);
    next.on_finding(f);
  }
};

void print_human(const ScanReport& r, std::size_t inputs, std::ostream& out) {
  const double rate = r.seconds > 0 ? static_cast<double>(r.events) / r.seconds : 0;
  out << fmt::format("scanned {} input(s): {} events in {:.2f} s ({:.0f} events/s, {:.1f} MB/s)\n",
                     inputs, r.events, r.seconds, rate,
                     r.seconds > 0 ? static_cast<double>(r.bytes) / 1e6 / r.seconds : 0.0);
  for (const auto& [fmt_name, n] : r.by_format)
    out << fmt::format("  {}: {} events\n", fmt_name, n);
  std::string phases;
  for (const auto& [name, secs] : r.phase_seconds) {
    phases += fmt::format("{}{} {:.2f} s", phases.empty() ? "" : ", ", name, secs);
  }
  if (!phases.empty()) out << "  time: " << phases << " (" << r.mode << ")\n";
  std::uint64_t rejected = 0;
  for (const auto& [reason, n] : r.rejected) rejected += n;
  out << fmt::format("rejected: {}\n", rejected);
  for (const auto& [reason, n] : r.rejected) out << fmt::format("  {}: {}\n", reason, n);
  for (const auto& s : r.reject_samples) {
    out << fmt::format("  {}: {}: {}\n", s.where, s.reason, s.detail);
  }
  out << fmt::format("findings: {}\n", r.findings);
  out << fmt::format("incidents: {} opened, {} updated\n", r.incidents_opened, r.incidents_updated);
}

std::string to_json(const ScanReport& r) {
  boost::json::object o;
  o["events"] = r.events;
  boost::json::object rejected;
  for (const auto& [reason, n] : r.rejected) rejected[reason] = n;
  o["rejected"] = std::move(rejected);
  o["findings"] = r.findings;
  o["incidents_opened"] = r.incidents_opened;
  o["incidents_updated"] = r.incidents_updated;
  o["seconds"] = r.seconds;
  boost::json::object by_format;
  for (const auto& [name, n] : r.by_format) by_format[name] = n;
  o["by_format"] = std::move(by_format);
  boost::json::object phases;
  for (const auto& [name, secs] : r.phase_seconds) phases[name] = secs;
  o["phase_seconds"] = std::move(phases);
  o["mode"] = r.mode;
  o["shared_lines"] = r.shared_lines;
  return boost::json::serialize(o);
}

// The general path: decode every input (in parallel across inputs) into
// spools, order all events by (time, input name, line), then run the engine.
template <typename AddInput, typename AddRejects, typename Lap>
bool scan_sorted(const std::vector<std::string>& paths, const std::string& format,
                 const detectors::DecoderRegistry& registry,
                 const detectors::DecoderOptions& decoder_options, unsigned threads,
                 const Pipeline& pipeline, rules::FindingSink& findings, std::ostream& err,
                 AddInput add_input, AddRejects add_rejects, Lap lap) {
  std::vector<DecodedInput> inputs(paths.size());
  const KeptText keep = KeptText::read_by(pipeline.rules);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    inputs[i].path = paths[i];
    inputs[i].sink.events.set_file(paths[i]);
    inputs[i].sink.events.set_kept(keep);
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < inputs.size(); i = next++) {
      inputs[i].result =
          detectors::read_input(inputs[i].path, format, registry, decoder_options, inputs[i].sink);
    }
  };
  threads =
      std::min<unsigned>(threads, static_cast<unsigned>(std::max<std::size_t>(1, paths.size())));
  {
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
  }
  lap("decode");

  for (auto& in : inputs) {
    if (!in.result.ok) {
      err << "sevwatch scan: " << in.result.error << "\n";
      return false;
    }
    add_input(in.result, in.sink.events.size());
    add_rejects(in.sink.rejects);
  }

  // Event time drives everything: process in (time, input name, line) order,
  // so the result does not depend on the order inputs were named in.
  struct Ref {
    std::int64_t time;
    std::uint32_t input;  // rank of the input's name
    EventSpool::Ref record;
  };
  std::vector<Ref> order;
  std::size_t total = 0;
  for (const auto& in : inputs) total += in.sink.index.size();
  order.reserve(total);
  std::vector<std::size_t> by_name(inputs.size());
  std::iota(by_name.begin(), by_name.end(), 0);
  std::sort(by_name.begin(), by_name.end(),
            [&](std::size_t a, std::size_t b) { return inputs[a].path < inputs[b].path; });
  for (std::size_t rank = 0; rank < by_name.size(); ++rank) {
    for (const auto& [time, record] : inputs[by_name[rank]].sink.index) {
      order.push_back(Ref{time, static_cast<std::uint32_t>(rank), record});
    }
    std::vector<std::pair<std::int64_t, EventSpool::Ref>>().swap(inputs[by_name[rank]].sink.index);
  }
  // Stable: events of one input keep their order within the same millisecond.
  std::stable_sort(order.begin(), order.end(), [](const Ref& a, const Ref& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.input < b.input;
  });
  lap("order");

  rules::Engine engine(*pipeline.context, pipeline.rules, findings);
  AccessEvent event;  // reused: its strings keep their storage
  for (const auto& ref : order) {
    inputs[by_name[ref.input]].sink.events.read(ref.record, event);
    engine.process(event);
  }
  engine.finish();
  lap("rules");
  return true;
}

}  // namespace

int run_scan(const ScanOptions& options, std::ostream& out, std::ostream& err,
             ScanReport* report_out) {
  const auto started = std::chrono::steady_clock::now();
  auto mark = started;
  std::map<std::string, double> phases;
  auto lap = [&](const char* phase) {
    const auto now = std::chrono::steady_clock::now();
    phases[phase] += std::chrono::duration<double>(now - mark).count();
    mark = now;
  };
  std::string error;
  std::vector<std::string> paths;
  if (!expand_paths(options.paths, paths, error)) {
    err << "sevwatch scan: " << error << "\n";
    return 1;
  }

  // The rules first: they say what decoding keeps, so a second thread can
  // start decoding while the context loads and the store opens.
  Pipeline pipeline;
  rules::Diagnostics rule_diags, context_diags;
  const bool rules_ok = load_rule_side(options.rule_paths, options.rubric_path,
                                       options.sigma_mapping, pipeline, rule_diags);

  detectors::DecoderRegistry registry;
  detectors::register_builtin_decoders(registry);
  detectors::DecoderOptions decoder_options;
  decoder_options.max_line_bytes = options.max_line_bytes;
  decoder_options.catalog = options.catalog;
  decoder_options.mapping_file = options.mapping_file;
  decoder_options.assumed_utc_offset_minutes = options.utc_offset_minutes;
  decoder_options.keep_raw = pipeline.rules.uses_raw;  // raw.<path> fields need the records
  unsigned threads = options.threads > 0 ? static_cast<unsigned>(options.threads)
                                         : std::max(1u, std::thread::hardware_concurrency());

  // The fast path: inputs already in event-time order stream (scan_stream.h).
  const bool rereadable =
      std::none_of(paths.begin(), paths.end(), [](const std::string& p) { return p == "-"; });
  std::optional<InOrderStream> stream;
  if (rules_ok && rereadable) {
    std::vector<std::string> by_name = paths;
    std::sort(by_name.begin(), by_name.end());
    stream.emplace(std::move(by_name), options.format, registry, decoder_options,
                   KeptText::read_by(pipeline.rules), threads, options.stream_queue);
  }

  const bool context_ok = load_context_side(options.context_path, pipeline, context_diags);
  context_diags.append(rule_diags);
  if (!context_diags.all().empty()) err << context_diags.to_text();
  if (!rules_ok || !context_ok) return 1;
  auto store = triage::IncidentStore::open(options.store_url, error);
  if (!store) {
    err << "sevwatch scan: " << error << "\n";
    return 1;
  }

  lap("load");

  ScanReport report;
  triage::IncidentManager manager(*store, *pipeline.rubric, wall_ms);
  CountingSink counting(manager);
  auto add_rejects = [&](RejectTally& t) {
    for (const auto& [reason, n] : t.rejected) report.rejected[reason] += n;
    for (auto& s : t.samples) {
      if (report.reject_samples.size() < RejectTally::kMaxSamples)
        report.reject_samples.push_back(s);
    }
  };
  auto add_input = [&](const detectors::InputResult& r, std::uint64_t events) {
    report.bytes += r.bytes;
    report.by_format[r.format] += events;
    report.events += events;
  };

  try {
    if (stream) {
      HeldFindings held;
      rules::Engine engine(*pipeline.context, pipeline.rules, held);
      StreamOutcome streamed = stream->run(engine);
      if (streamed.in_order) {
        for (const auto& in : streamed.inputs) {
          if (!in.result.ok) {
            err << "sevwatch scan: " << in.result.error << "\n";
            return 1;
          }
          add_input(in.result, in.events);
        }
        add_rejects(streamed.rejects);
        engine.finish();
        lap("stream");
        report.mode = "streamed";
        report.shared_lines = streamed.shared_lines;
        held.release(counting);
      } else {
        lap("stream_abandoned");
      }
    }
    if (report.mode.empty()) {
      if (!scan_sorted(paths, options.format, registry, decoder_options, threads, pipeline,
                       counting, err, add_input, add_rejects, lap)) {
        return 1;
      }
      report.mode = "sorted";
    }
    manager.flush();
    lap("store");
  } catch (const std::exception& e) {
    err << "sevwatch scan: " << e.what() << "\n";
    return 1;
  }

  report.findings = counting.keys.size();
  report.incidents_opened = manager.stats().incidents_opened;
  report.incidents_updated = manager.stats().incidents_updated;
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report.phase_seconds = phases;

  if (options.json) {
    out << to_json(report) << "\n";
  } else {
    print_human(report, paths.size(), out);
  }
  if (report_out != nullptr) *report_out = report;

  if (options.fail_on_sev) {
    for (const auto& inc : store->list(std::nullopt)) {
      if (inc.status != triage::Status::resolved && inc.sev <= *options.fail_on_sev) return 3;
    }
  }
  return 0;
}

int scan_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ScanOptions o;
  ArgParser p("scan", args, err);
  while (p.more()) {
    if (p.flag("--context")) {
      o.context_path = p.value();
    } else if (p.flag("--rules")) {
      o.rule_paths.push_back(p.value());
    } else if (p.flag("--rubric")) {
      o.rubric_path = p.value();
    } else if (p.flag("--store")) {
      o.store_url = p.value();
    } else if (p.flag("--format")) {
      o.format = p.value();
    } else if (p.flag("--fail-on-sev")) {
      o.fail_on_sev = p.int_value(0, 5);
    } else if (p.flag("--catalog")) {
      o.catalog = p.value();
    } else if (p.flag("--mapping")) {
      o.mapping_file = p.value();
      if (o.format == "auto") o.format = "json_mapped";
    } else if (p.flag("--sigma-mapping")) {
      o.sigma_mapping = p.value();
    } else if (p.flag("--utc-offset-minutes")) {
      o.utc_offset_minutes = p.int_value(-14 * 60, 14 * 60);
    } else if (p.flag("--max-line-bytes")) {
      o.max_line_bytes = static_cast<std::size_t>(p.int_value(1024, 1 << 30));
    } else if (p.flag("--threads")) {
      o.threads = p.int_value(1, 256);
    } else if (p.flag("--stream-queue")) {
      o.stream_queue = static_cast<std::size_t>(p.int_value(2, 4096));
    } else if (p.flag("--json")) {
      o.json = true;
    } else {
      o.paths.push_back(p.positional());
    }
  }
  if (p.failed()) return 2;
  if (o.paths.empty()) {
    err << "sevwatch scan: no input (give one or more PATHs, or '-' for stdin)\n";
    return 2;
  }
  return run_scan(o, out, err);
}

}  // namespace sevwatch::app
