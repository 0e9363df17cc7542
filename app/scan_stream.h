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
#include <memory>
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
// into an engine, whose findings sink should be a HeldFindings. With `threads`
// >= 2 a second thread decodes, and events cross to the engine thread without
// the free text `keep` does not keep; that thread starts at construction, so
// decoding overlaps whatever the caller does before run() (loading the
// context, building the engine, opening the store): up to `max_batches`
// batches of 512 events wait for the engine thread (256, ~130,000 events, is
// enough for that head start; more than 8 only while they hold under 64 MiB),
// which the engine thread then works off while the decoding thread keeps on,
// sharing fewer lines. `registry` must outlive the stream.
class InOrderStream {
 public:
  InOrderStream(std::vector<std::string> paths, std::string format,
                const detectors::DecoderRegistry& registry, detectors::DecoderOptions options,
                const KeptText& keep, unsigned threads, std::size_t max_batches);
  // A stream never run stops its thread (which finishes the file it is in).
  ~InOrderStream();
  InOrderStream(const InOrderStream&) = delete;
  InOrderStream& operator=(const InOrderStream&) = delete;

  // Runs every event through `engine`; once. Engine exceptions propagate.
  StreamOutcome run(rules::Engine& engine);

 private:
  struct Threads;
  std::vector<std::string> paths_;
  std::string format_;
  const detectors::DecoderRegistry& registry_;
  detectors::DecoderOptions options_;
  std::unique_ptr<Threads> threads_;  // null: one thread
};

}  // namespace sevwatch::app
