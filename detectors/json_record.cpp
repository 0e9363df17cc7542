#include "detectors/json_record.h"

#include <charconv>
#include <cstddef>
#include <utility>

#include "detectors/field_count.h"
#include "detectors/json_guard.h"
#include "detectors/sql_lexer.h"
#include "detectors/time_parse.h"

namespace sevwatch::detectors {

void reset_event(AccessEvent& ev) {
  // Every member, by name (faster than assigning a default event, which
  // would also free the buffers). A new member: reset it here, then update.
  using detail::field_count;
  static_assert(field_count<AccessEvent>() == 17 && field_count<SourcePos>() == 3 &&
                    field_count<ObjectRef>() == 3 && field_count<GrantInfo>() == 5,
                "AccessEvent changed: reset the new member in reset_event()");
  ev.time_ms = 0;
  ev.time_zone_assumed = false;
  ev.format.clear();
  ev.pos.file.clear();
  ev.pos.line = 0;
  ev.pos.offset = 0;
  ev.event_uid.clear();
  ev.principal.clear();
  ev.principal_groups.clear();
  ev.action = Action::other;
  ev.operation.clear();
  ev.object.name.clear();
  ev.object.level = ObjectLevel::none;
  ev.object.columns.clear();
  ev.grant.privileges.clear();
  ev.grant.grantees.clear();
  ev.grant.target.name.clear();
  ev.grant.target.level = ObjectLevel::none;
  ev.grant.target.columns.clear();
  ev.grant.target_type.clear();
  ev.grant.with_grant_option = false;
  ev.result = Result::unknown;
  ev.client_ip.clear();
  ev.query.clear();
  ev.session.clear();
  ev.policy.clear();
  ev.raw.clear();
}

simdjson::simdjson_result<dom::element> json_at(dom::element root, std::string_view path) {
  dom::element cur = root;
  while (!path.empty()) {
    const auto dot = path.find('.');
    const std::string_view key = path.substr(0, dot);
    dom::object obj;
    if (auto e = cur.get_object().get(obj)) return e;
    if (auto e = obj[key].get(cur)) return e;
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return cur;
}
std::string json_text(dom::element v) {
  switch (v.type()) {
    case dom::element_type::STRING:
      return std::string(v.get_string().value_unsafe());
    case dom::element_type::INT64:
      return std::to_string(v.get_int64().value_unsafe());
    case dom::element_type::UINT64:
      return std::to_string(v.get_uint64().value_unsafe());
    case dom::element_type::DOUBLE: {
      char buf[64];
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get_double().value_unsafe());
      return std::string(buf, r.ptr);
    }
    case dom::element_type::BOOL:
      return v.get_bool().value_unsafe() ? "true" : "false";
    default:
      return {};
  }
}

std::string_view json_text_view(dom::element v, std::string& scratch) {
  switch (v.type()) {
    case dom::element_type::STRING:
      return v.get_string().value_unsafe();
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
    case dom::element_type::BOOL:
      json_text_into(v, scratch);
      return scratch;
    default:
      return {};
  }
}

void json_text_into(dom::element v, std::string& out) {
  char buf[64];
  switch (v.type()) {
    case dom::element_type::STRING:
      out.assign(v.get_string().value_unsafe());
      return;
    case dom::element_type::INT64: {
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64().value_unsafe());
      out.assign(buf, r.ptr);
      return;
    }
    case dom::element_type::UINT64: {
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64().value_unsafe());
      out.assign(buf, r.ptr);
      return;
    }
    case dom::element_type::DOUBLE: {
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get_double().value_unsafe());
      out.assign(buf, r.ptr);
      return;
    }
    case dom::element_type::BOOL:
      out.assign(v.get_bool().value_unsafe() ? "true" : "false");
      return;
    default:
      out.clear();
      return;
  }
}

std::string json_text(dom::element root, std::string_view path) {
  dom::element v;
  if (json_at(root, path).get(v)) return {};
  return json_text(v);
}

std::string_view json_str(dom::element root, std::string_view path) {
  std::string_view s;
  if (json_at(root, path).get_string().get(s)) return {};
  return s;
}

bool json_bool(dom::element root, std::string_view path, bool fallback) {
  dom::element v;
  if (json_at(root, path).get(v)) return fallback;
  if (v.is_bool()) return v.get_bool().value_unsafe();
  if (v.is_string()) {
    const std::string_view s = v.get_string().value_unsafe();
    if (iequals(s, "true")) return true;
    if (iequals(s, "false")) return false;
  }
  return fallback;
}

std::int64_t json_int(dom::element root, std::string_view path, std::int64_t fallback) {
  dom::element v;
  if (json_at(root, path).get(v)) return fallback;
  std::int64_t n = 0;
  if (v.is_int64()) return v.get_int64().value_unsafe();
  if (v.is_string()) {
    const std::string_view s = v.get_string().value_unsafe();
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && ptr == s.data() + s.size()) return n;
  }
  return fallback;
}

std::vector<std::string> json_strings(dom::element root, std::string_view path) {
  std::vector<std::string> out;
  dom::element v;
  if (json_at(root, path).get(v)) return out;
  if (v.is_array()) {
    for (dom::element item : dom::array(v.get_array().value_unsafe())) {
      std::string t = json_text(item);
      if (!t.empty()) out.push_back(std::move(t));
    }
  } else {
    std::string t = json_text(v);
    if (!t.empty()) out.push_back(std::move(t));
  }
  return out;
}

simdjson::simdjson_result<dom::element> json_field_ci(dom::object obj, std::string_view key) {
  for (const auto field : obj) {
    if (iequals(field.key, key))
      return simdjson::simdjson_result<dom::element>(dom::element(field.value));
  }
  return simdjson::NO_SUCH_FIELD;
}

bool parse_zoned_time(std::string_view s, std::int64_t& ms, bool& zone_assumed) {
  std::int64_t wall = 0;
  const std::size_t n = parse_civil_time(s, wall);
  if (n == 0) return false;
  std::string_view zone = s.substr(n);
  while (!zone.empty() && zone.front() == ' ') zone.remove_prefix(1);
  if (zone.empty()) {
    ms = wall;
    zone_assumed = true;
    return true;
  }
  int offset = 0;
  if (!parse_zone(zone, offset)) return false;
  ms = wall - static_cast<std::int64_t>(offset) * 60000;
  zone_assumed = false;
  return true;
}

bool parse_time_value(dom::element v, std::int64_t& ms, bool& zone_assumed) {
  std::int64_t n = 0;
  if (v.is_string()) {
    const std::string_view s = v.get_string().value_unsafe();
    // "2026-08-20...": from_chars could never consume that '-' (only a
    // leading sign), so such a string is not a number: no need to try.
    if (s.size() > 4 && s[4] == '-') return parse_zoned_time(s, ms, zone_assumed);
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      return parse_zoned_time(s, ms, zone_assumed);
    }
  } else if (v.is_int64()) {
    n = v.get_int64().value_unsafe();
  } else if (v.is_uint64() || v.is_double()) {
    const double d = v.get_double().value_unsafe();
    if (!(d >= 0 && d < 1e16)) return false;
    n = static_cast<std::int64_t>(d);
  } else {
    return false;
  }
  if (n < 0 || n > 9'999'999'999'999LL) return false;
  ms = n < 100'000'000'000LL ? n * 1000 : n;
  zone_assumed = false;
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

bool json_line_has(std::string_view line, std::initializer_list<std::string_view> keys) {
  line = trim_json_ws(line);
  if (line.empty() || line[0] != '{') return false;
  for (std::string_view k : keys) {
    if (line.find(k) == std::string_view::npos) return false;
  }
  return true;
}

JsonRecordDecoder::JsonRecordDecoder(const DecoderOptions& options, std::string_view format)
    : opts_(options), format_(format) {
  // simdjson's DOM parser rejects documents nested deeper than its max depth
  // minus one: set to max_depth + 1, a document it accepts cannot be too deep
  // for scan_json_shape either, so accepted records skip the bracket count.
  constexpr std::size_t kInitialCapacity = 4096;  // grows with the records (keeping the depth)
  depth_checked_ = opts_.max_depth < (std::size_t{1} << 20) &&
                   parser_.allocate(kInitialCapacity, opts_.max_depth + 1) == simdjson::SUCCESS &&
                   inner_.allocate(kInitialCapacity, opts_.max_depth + 1) == simdjson::SUCCESS;
}

bool JsonRecordDecoder::maybe_too_deep(std::string_view text) const {
  return !depth_checked_ && count_open_brackets(text) > opts_.max_depth;
}

void JsonRecordDecoder::decode_json_line(std::string_view raw, const SourcePos& pos,
                                         EventSink& sink, bool padded) {
  static_assert(kLinePadding >= simdjson::SIMDJSON_PADDING);
  dom::element record;
  // Whitespace around a JSON text changes nothing when it parses, so a line
  // that parses as it is needs no trimming (which would touch its last,
  // still uncached, bytes first). Anything else takes the checked path.
  prefetch_following(raw);
  simdjson::error_code err = simdjson::UNINITIALIZED;
  if (raw.size() <= opts_.max_line_bytes) {
    err = parser_.parse(raw.data(), raw.size(), /*realloc_if_needed=*/!padded).get(record);
    if (!err) {
      if (maybe_too_deep(raw) && !shape_ok(raw, pos, sink)) return;
      if (!record.is_object()) {
        return reject(sink, weird::kNotAnObject, pos, "top-level JSON value is not an object");
      }
      return on_record(record, pos, sink);
    }
  }
  const std::string_view line = trim_json_ws(raw);
  if (line.empty()) return;
  // Without blanks to trim, the line was parsed as it is: reuse the error.
  const simdjson::error_code known = line.size() == raw.size() ? err : simdjson::UNINITIALIZED;
  if (!parse_text(line, opts_.max_line_bytes, pos, sink, record, known)) return;
  on_record(record, pos, sink);
}

bool JsonRecordDecoder::parse_text(std::string_view text, std::size_t cap, const SourcePos& pos,
                                   EventSink& sink, dom::element& out,
                                   simdjson::error_code known_error) {
  if (text.size() > cap) {
    reject(sink, weird::kLineTooLong, pos, "record of " + std::to_string(text.size()) + " bytes");
    return false;
  }
  // Parse first: simdjson validates UTF-8 and the whole document, so the
  // cheap checks below only run again to name why a record failed (in the
  // order invalid_utf8, nesting_too_deep / truncated_json, invalid_json).
  const simdjson::error_code err = known_error != simdjson::UNINITIALIZED
                                       ? known_error
                                       : parser_.parse(text.data(), text.size()).get(out);
  if (err) {
    if (!simdjson::validate_utf8(text.data(), text.size())) {
      reject(sink, weird::kInvalidUtf8, pos, "record is not valid UTF-8");
      return false;
    }
    if (!shape_ok(text, pos, sink)) return false;
    reject(sink, weird::kInvalidJson, pos, simdjson::error_message(err));
    return false;
  }
  // A valid document is never truncated, but may nest deeper than the limit
  // (unless the parser checked: see the constructor).
  if (maybe_too_deep(text) && !shape_ok(text, pos, sink)) return false;
  if (!out.is_object()) {
    reject(sink, weird::kNotAnObject, pos, "top-level JSON value is not an object");
    return false;
  }
  return true;
}

bool JsonRecordDecoder::shape_ok(std::string_view text, const SourcePos& pos, EventSink& sink) {
  switch (scan_json_shape(text, opts_.max_depth)) {
    case JsonShape::too_deep:
      reject(sink, weird::kNestingTooDeep, pos,
             "nesting deeper than " + std::to_string(opts_.max_depth));
      return false;
    case JsonShape::truncated:
      reject(sink, weird::kTruncatedJson, pos, "record ends inside a string or object");
      return false;
    case JsonShape::ok:
      break;
  }
  return true;
}

bool JsonRecordDecoder::parse_inner(std::string_view text, dom::element& out) {
  text = trim_json_ws(text);
  if (text.empty() || text.size() > opts_.max_line_bytes) return false;
  // Parsed first: a text simdjson accepts is never truncated (nor too deep
  // when the parser checks the depth), so only then is the shape scanned.
  if (inner_.parse(text.data(), text.size()).get(out) != simdjson::SUCCESS) return false;
  return !maybe_too_deep(text) || scan_json_shape(text, opts_.max_depth) == JsonShape::ok;
}

bool JsonRecordDecoder::start_event(AccessEvent& ev,
                                    simdjson::simdjson_result<dom::element> time_value,
                                    std::string_view time_field, const SourcePos& pos,
                                    EventSink& sink) {
  dom::element tv;
  if (time_value.get(tv) || tv.is_null()) {
    reject(sink, weird::kMissingField, pos, {"missing field '", time_field, "'"});
    return false;
  }
  if (!parse_time_value(tv, ev.time_ms, ev.time_zone_assumed)) {
    reject(sink, weird::kBadTimestamp, pos,
           {time_field, " '", json_text_view(tv, weird_text_), "' is not a timestamp"});
    return false;
  }
  if (ev.time_zone_assumed) {
    ev.time_ms -= static_cast<std::int64_t>(opts_.assumed_utc_offset_minutes) * 60000;
  }
  ev.format = format_;
  ev.pos = pos;
  return true;
}

}  // namespace sevwatch::detectors
