// `scan`'s fast path: inputs that are already in event-time order go straight
// from the decoder to the engine, with no spool, no sort and no copy.
//
// `scan` processes events in (event time, input name, line) order. When the
// inputs, read one after another in name order, never step back in time, that
// order is the order they are read in, and a scan can stream. Whether they do
// is only known at the end, so the stream is optimistic: the engine's findings
// are held back, and the first event that steps back in time abandons the
// attempt (the caller then decodes, sorts and processes as before, and the
// findings held back are dropped). Audit logs are written in time order, so
// the fast path is the common one.
//
// With two or more threads, one thread decodes and the calling thread runs
// the engine; events pass between them in recycled batches. Lines of formats
// that decode line by line are shared out so that the engine thread decodes
// some itself, as much as keeps the two threads equally busy. Batches carry
// only the free text the rules read (KeptText).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "app/kept_text.h"
#include "app/scan_command.h"
#include "detectors/decoder.h"
#include "detectors/input_reader.h"
#include "rules/engine.h"
#include "rules/finding.h"

namespace sevwatch::app {

// Rejected records: counts per reason and the first few samples.
struct RejectTally {
  static constexpr std::size_t kMaxSamples = 10;
  std::map<std::string, std::uint64_t> rejected;
  std::vector<RejectSample> samples;

  void add(detectors::Weird&& w);
};

// Holds findings back until the stream is known to be in order.
class HeldFindings : public rules::FindingSink {
 public:
  void on_finding(const rules::Finding& f) override { held_.push_back(f); }
  void release(rules::FindingSink& to) const {
    for (const auto& f : held_) to.on_finding(f);
  }

 private:
  std::vector<rules::Finding> held_;
};

struct StreamedInput {
  std::string path;
  detectors::InputResult result;
  std::uint64_t events = 0;
};

struct StreamOutcome {
  bool in_order = true;               // false: abandoned; nothing it did counts
  std::vector<StreamedInput> inputs;  // in the order they were read (name order)
  RejectTally rejects;
  std::uint64_t shared_lines = 0;  // two threads: lines the engine thread decoded
};

// Reads `paths` (sorted by name; regular files, re-readable) one after another
// into `engine`, whose findings sink should be a HeldFindings. `threads` >= 2
// decodes on a second thread, and events cross to the engine thread without
// the free text `keep` does not keep. Engine exceptions propagate.
StreamOutcome stream_in_order(const std::vector<std::string>& paths, std::string_view format,
                              const detectors::DecoderRegistry& registry,
                              const detectors::DecoderOptions& options, const KeptText& keep,
                              rules::Engine& engine, unsigned threads);

}  // namespace sevwatch::app
