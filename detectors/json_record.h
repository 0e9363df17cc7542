// Shared machinery for the JSON-per-line warehouse decoders (ranger_admin,
// aws_cloudtrail, gcp_bigquery, snowflake, databricks_uc, json_mapped):
// line framing with the same weirds as the Ranger decoder (line_too_long,
// invalid_utf8, nesting_too_deep, truncated_json, not_an_object,
// invalid_json), a simdjson DOM parse (these formats are nested and
// low-volume, so the tree API is worth its cost), dotted-path lookups and
// timestamp helpers.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

namespace dom = simdjson::dom;

// Empties every field of `ev` but keeps its strings' and vectors' capacity,
// so a decoder that reuses one event per record allocates only when a value
// outgrows the last one (the sink may also have moved the event away: then
// this is a plain reset).
void reset_event(AccessEvent& ev);

// Asks the CPU to start loading the bytes after `line`. Records usually
// arrive back to back in one buffer (read_input's chunks, a file read whole),
// and a decoder spends long enough on each for the hardware prefetcher to
// fall behind: this keeps the next records on their way from memory. A
// prefetch never faults, so what follows `line` need not be readable.
// Each call asks for about as many bytes as `line` holds, kAhead bytes on:
// over a run of records, every cache line once.
inline void prefetch_following(std::string_view line) {
  constexpr std::size_t kAhead = 2048;  // bytes; a few records
  const auto next = reinterpret_cast<std::uintptr_t>(line.data() + line.size());
  const std::size_t n = line.size() < kAhead ? line.size() : kAhead;
  for (std::size_t i = kAhead - n; i < kAhead; i += 64) {
    __builtin_prefetch(reinterpret_cast<const void*>(next + i));
  }
}

// The value at a dotted path ("protoPayload.authenticationInfo.principalEmail")
// or an error (NO_SUCH_FIELD, INCORRECT_TYPE) when a step is missing.
simdjson::simdjson_result<dom::element> json_at(dom::element root, std::string_view path);

// The string at `path`; numbers and booleans as their JSON text; "" for
// missing, null, objects and arrays.
std::string json_text(dom::element root, std::string_view path);
std::string json_text(dom::element value);

// json_text into `out` (replaced): no allocation when `out` has the room.
void json_text_into(dom::element value, std::string& out);

// json_text as a view: into the document for strings, else into `scratch`
// (numbers, booleans); "" for null, objects and arrays.
std::string_view json_text_view(dom::element value, std::string& scratch);

// The string at `path` as a view into the parsed document ("" unless a string).
std::string_view json_str(dom::element root, std::string_view path);

// A boolean (also "true"/"false" strings) or integer at `path`, else `fallback`.
bool json_bool(dom::element root, std::string_view path, bool fallback);
std::int64_t json_int(dom::element root, std::string_view path, std::int64_t fallback);

// Strings of the array at `path` (a lone string counts as a one-element array).
std::vector<std::string> json_strings(dom::element root, std::string_view path);

// Case-insensitive member lookup (Snowflake exports differ in key case).
simdjson::simdjson_result<dom::element> json_field_ci(dom::object obj, std::string_view key);

// "2026-08-20T09:14:02Z", "2026-08-20T09:14:02.912345678Z", "2026-08-20
// 09:14:01.882 +0000", "...+02:00": UTC ms. A timestamp without a zone is
// read as UTC and sets `zone_assumed`. False when not a timestamp.
bool parse_zoned_time(std::string_view s, std::int64_t& ms, bool& zone_assumed);

// A time value that is either such a string or a number of epoch
// milliseconds (seconds when below 1e11).
bool parse_time_value(dom::element v, std::int64_t& ms, bool& zone_assumed);

// Splits on a single character, keeping empty parts.
std::vector<std::string_view> split(std::string_view s, char sep);

// Joins with `sep`.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// The Ranger-style sniff score: 0 when no non-blank line satisfies `mine`,
// else 40 + 60 * hits / non-blank lines.
template <typename Pred>
int sniff_lines(const std::vector<std::string_view>& first_lines, Pred mine) {
  std::size_t total = 0;
  std::size_t hits = 0;
  for (std::string_view l : first_lines) {
    if (l.find_first_not_of(" \t\r\n") == std::string_view::npos) continue;
    ++total;
    if (mine(l)) ++hits;
  }
  if (hits == 0) return 0;
  return static_cast<int>(40 + 60 * hits / total);
}

// True when `line` is a JSON object line holding every one of `keys`
// (quoted, e.g. "\"eventSource\"").
bool json_line_has(std::string_view line, std::initializer_list<std::string_view> keys);

// Base class: one JSON object per line, handed to `on_record`.
class JsonRecordDecoder : public Decoder {
 public:
  JsonRecordDecoder(const DecoderOptions& options, std::string_view format);
  std::string_view name() const override { return format_; }
  void decode_line(std::string_view raw, const SourcePos& pos, EventSink& sink) override {
    decode_json_line(raw, pos, sink, /*padded=*/false);
  }
  void decode_padded_line(std::string_view raw, const SourcePos& pos, EventSink& sink) override {
    decode_json_line(raw, pos, sink, /*padded=*/true);
  }

 protected:
  // `padded`: kLinePadding readable bytes follow `raw`, so simdjson parses it
  // where it lies instead of copying it into its own padded buffer.
  void decode_json_line(std::string_view raw, const SourcePos& pos, EventSink& sink, bool padded);

  virtual void on_record(dom::element record, const SourcePos& pos, EventSink& sink) = 0;

  // Checks and parses one complete JSON text (a line, or a buffered document
  // when `cap` allows more than a line). Reports the weird and returns false
  // when the text is rejected.
  // `known_error`: the parse of `text` already failed with it (no second
  // parse); UNINITIALIZED when `text` is still to be parsed.
  bool parse_text(std::string_view text, std::size_t cap, const SourcePos& pos, EventSink& sink,
                  dom::element& out, simdjson::error_code known_error = simdjson::UNINITIALIZED);

  // Reports nesting_too_deep / truncated_json (json_guard.h) and returns
  // false for such texts.
  bool shape_ok(std::string_view text, const SourcePos& pos, EventSink& sink);

  // Parses JSON carried as a string inside a record (Ranger changeInfo,
  // Databricks `changes`, Glue policyInJson) with a second parser, so the
  // outer document stays valid.
  bool parse_inner(std::string_view text, dom::element& out);

  // Reports a weird. The Weird is the decoder's, reused from call to call:
  // its strings keep their capacity unless the sink moves them away.
  void reject(EventSink& sink, std::string_view reason, const SourcePos& pos,
              std::string_view detail) {
    weird_.reason = reason;
    weird_.pos = pos;
    weird_.detail.assign(detail);
    sink.on_weird(std::move(weird_));
  }
  // The same with the detail in parts (no temporary string to join them).
  void reject(EventSink& sink, std::string_view reason, const SourcePos& pos,
              std::initializer_list<std::string_view> detail) {
    weird_.reason = reason;
    weird_.pos = pos;
    weird_.detail.clear();
    for (const std::string_view part : detail) weird_.detail.append(part);
    sink.on_weird(std::move(weird_));
  }

  // An event with format, position and (when `time` parses) time filled in;
  // reports bad_timestamp / missing_field and returns false otherwise.
  bool start_event(AccessEvent& ev, simdjson::simdjson_result<dom::element> time_value,
                   std::string_view time_field, const SourcePos& pos, EventSink& sink);

  // True when `text`, which the parser accepted, needs the shape scan for
  // nesting_too_deep.
  bool maybe_too_deep(std::string_view text) const;

  DecoderOptions opts_;
  std::string format_;
  dom::parser parser_;
  dom::parser inner_;
  bool depth_checked_ = false;  // the parsers enforce opts_.max_depth (constructor)
  Weird weird_;                 // reject()
  std::string weird_text_;      // start_event(): a bad timestamp's text
};

}  // namespace sevwatch::detectors
