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

// The value at a dotted path ("protoPayload.authenticationInfo.principalEmail")
// or an error (NO_SUCH_FIELD, INCORRECT_TYPE) when a step is missing.
simdjson::simdjson_result<dom::element> json_at(dom::element root, std::string_view path);

// The string at `path`; numbers and booleans as their JSON text; "" for
// missing, null, objects and arrays.
std::string json_text(dom::element root, std::string_view path);
std::string json_text(dom::element value);

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
  void decode_line(std::string_view raw, const SourcePos& pos, EventSink& sink) override;

 protected:
  virtual void on_record(dom::element record, const SourcePos& pos, EventSink& sink) = 0;

  // Checks and parses one complete JSON text (a line, or a buffered document
  // when `cap` allows more than a line). Reports the weird and returns false
  // when the text is rejected.
  bool parse_text(std::string_view text, std::size_t cap, const SourcePos& pos, EventSink& sink,
                  dom::element& out);

  // Parses JSON carried as a string inside a record (Ranger changeInfo,
  // Databricks `changes`, Glue policyInJson) with a second parser, so the
  // outer document stays valid.
  bool parse_inner(std::string_view text, dom::element& out);

  static void reject(EventSink& sink, std::string_view reason, const SourcePos& pos,
                     std::string detail) {
    sink.on_weird(Weird{reason, pos, std::move(detail)});
  }

  // An event with format, position and (when `time` parses) time filled in;
  // reports bad_timestamp / missing_field and returns false otherwise.
  bool start_event(AccessEvent& ev, simdjson::simdjson_result<dom::element> time_value,
                   std::string_view time_field, const SourcePos& pos, EventSink& sink);

  DecoderOptions opts_;
  std::string format_;
  dom::parser parser_;
  dom::parser inner_;
};

}  // namespace sevwatch::detectors
