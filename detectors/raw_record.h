// Keeping the source record on events (DecoderOptions::keep_raw), for rules'
// `raw.<path>` fields.
//
// Decoders do not copy their input themselves: the caller that hands a line
// to decode_line() wraps its sink in a RawLineSink, which gives every event
// emitted during that call the line as its `raw`. Only JSON records are kept
// (the line's first non-blank character is '{'), so events of text formats
// (pgaudit, Hive logs) and events emitted by finish() never carry one. A
// decoder that knows a better record (a CloudTrail `Records` entry, a record
// of a pretty-printed document) sets `raw` itself; a non-empty `raw` is never
// replaced.
#pragma once

#include <string_view>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

// `line` without leading and trailing JSON whitespace when it is a JSON
// object's text, else empty.
inline std::string_view raw_json_record(std::string_view line) {
  const auto first = line.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || line[first] != '{') return {};
  const auto last = line.find_last_not_of(" \t\r\n");
  return line.substr(first, last - first + 1);
}

class RawLineSink final : public EventSink {
 public:
  explicit RawLineSink(EventSink& inner) : inner_(inner) {}
  // The line the next decode_line() call decodes ({} around finish()).
  void set_line(std::string_view line) { line_ = raw_json_record(line); }

  void on_event(AccessEvent&& event) override {
    if (event.raw.empty()) event.raw.assign(line_);
    inner_.on_event(std::move(event));
  }
  void on_weird(Weird&& weird) override { inner_.on_weird(std::move(weird)); }

 private:
  EventSink& inner_;
  std::string_view line_;
};

}  // namespace sevwatch::detectors
