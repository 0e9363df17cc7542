// A decoder turns the records of one log format into AccessEvents.
//
// Decoders know nothing of I/O: a source hands them one line at a time (with
// its position) and they call the sink. A decoder may be stateful per stream
// (multi-line records such as pgaudit STATEMENT continuations or quoted CSV
// fields spanning lines), so each input gets its own instance from a factory;
// `finish()` flushes what is pending at the end of the stream.
//
// Malformed input never throws: the decoder reports a named data-quality
// event ("weird", after Zeek) with a stable reason and carries on.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/access_event.h"

namespace sevwatch::detectors {

// Stable reason names for rejected input, used as keys in scan summaries.
namespace weird {
inline constexpr std::string_view kTruncatedJson = "truncated_json";
inline constexpr std::string_view kInvalidJson = "invalid_json";
inline constexpr std::string_view kInvalidUtf8 = "invalid_utf8";
inline constexpr std::string_view kLineTooLong = "line_too_long";
inline constexpr std::string_view kNestingTooDeep = "nesting_too_deep";
inline constexpr std::string_view kNotAnObject = "not_an_object";
inline constexpr std::string_view kMissingField = "missing_field";
inline constexpr std::string_view kBadTimestamp = "bad_timestamp";
inline constexpr std::string_view kBadGrantStatement = "bad_grant_statement";
inline constexpr std::string_view kUnknownShape = "unknown_shape";
inline constexpr std::string_view kUnknownFormat = "unknown_format";
inline constexpr std::string_view kTruncatedInput =
    "truncated_input";  // e.g. a cut-off gzip stream
}  // namespace weird

struct Weird {
  std::string_view reason;  // one of the names in `weird`
  SourcePos pos;
  std::string detail;  // human words, e.g. "missing field 'evtTime'"
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(AccessEvent&& event) = 0;
  virtual void on_weird(Weird&& weird) = 0;
  // True once the sink wants nothing more from this input: read_input then
  // stops within 1,024 lines (its result covers what it read).
  virtual bool done() const { return false; }
};

struct DecoderOptions {
  std::size_t max_line_bytes = 1 << 20;  // longer records are rejected as line_too_long
  std::size_t max_depth = 64;            // deeper JSON nesting is rejected as nesting_too_deep
  // The zone of zone-less timestamps (Ranger evtTime) as minutes east of UTC:
  // 120 means the log's wall clock is UTC+2, so 12:00 in the log is 10:00 UTC.
  int assumed_utc_offset_minutes = 0;
  // The catalog part of object names for sources whose log names none (Hive
  // metastore and HiveServer2 logs; set it to the Ranger service name to line
  // them up with Ranger events). Empty: the format's default ("hive").
  std::string catalog;
  // json_mapped: the YAML file mapping JSON fields to AccessEvent fields.
  std::string mapping_file;
  // Keep each event's source record in AccessEvent::raw (JSON records only;
  // see raw_record.h). Set when the rules use `raw.<path>` fields: it costs a
  // copy of every record.
  bool keep_raw = false;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::string_view name() const = 0;
  // One physical line, without its newline. `pos` is the line's position.
  virtual void decode_line(std::string_view line, const SourcePos& pos, EventSink& sink) = 0;
  // The same, for a line followed by at least kLinePadding readable bytes
  // (the input's own next bytes, any content): a JSON decoder may parse it in
  // place rather than copy it into a padded buffer. By default decode_line.
  virtual void decode_padded_line(std::string_view line, const SourcePos& pos, EventSink& sink) {
    decode_line(line, pos, sink);
  }
  // End of stream: emit or reject anything still pending.
  virtual void finish(EventSink& sink) { (void)sink; }
  // Where the oldest record the decoder still holds (lines taken but not yet
  // emitted or rejected: a multi-line record, a pretty-printed document)
  // starts, or null when it holds none. A checkpoint must not pass it: a
  // restart from there reads the record again whole.
  virtual const SourcePos* pending_from() const { return nullptr; }
};

// What the registry knows about one format.
struct DecoderInfo {
  std::string name;
  std::string description;
  // How sure the format is that these first lines are its own: 0 (no) .. 100.
  std::function<int(const std::vector<std::string_view>& first_lines)> sniff;
  std::function<std::unique_ptr<Decoder>(const DecoderOptions&)> make;
  // How long one physical line that starts with `head` (its first bytes, up
  // to kLineHeadBytes) may be, when the format allows more than
  // `max_line_bytes` for some lines (a one-line CloudTrail `Records` file).
  // Empty: `max_line_bytes` for every line.
  std::function<std::size_t(std::string_view head, const DecoderOptions&)> line_cap;

  std::size_t max_line_for(std::string_view head, const DecoderOptions& options) const {
    return line_cap ? line_cap(head, options) : options.max_line_bytes;
  }
  // Each line decodes on its own: the decoder holds nothing between lines
  // (no multi-line records, no mode learnt from earlier lines), so any
  // instance may decode any line. `scan --threads 2` shares such lines out.
  bool independent_lines = false;
};

// How many readable bytes past a line's end decode_padded_line() may rely on
// (simdjson's SIMDJSON_PADDING).
inline constexpr std::size_t kLinePadding = 64;

// How many first non-empty lines format `auto` reads to pick a decoder.
inline constexpr std::size_t kSniffLines = 20;

// How many first bytes of a line framers hand to DecoderInfo::line_cap.
inline constexpr std::size_t kLineHeadBytes = 64;

class DecoderRegistry {
 public:
  void add(DecoderInfo info);
  const DecoderInfo* find(std::string_view name) const;
  // The best-scoring format for these lines, or nullptr when none claims them.
  const DecoderInfo* detect(const std::vector<std::string_view>& first_lines) const;
  std::vector<std::string> names() const;
  // The largest DecoderInfo::max_line_for of any format: the cap of a line
  // whose format is still to be detected.
  std::size_t max_line_for(std::string_view head, const DecoderOptions& options) const;

 private:
  std::vector<DecoderInfo> infos_;
};

// The one place every built-in decoder is listed.
void register_builtin_decoders(DecoderRegistry& registry);

}  // namespace sevwatch::detectors
