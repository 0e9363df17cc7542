#include "rules/event_fields.h"

#include <simdjson.h>

#include <charconv>

#include "detectors/event_time.h"

namespace sevwatch::rules {
namespace {

namespace dom = simdjson::dom;

// The last source record parsed on this thread (EventFields::raw_values).
struct RawRecord {
  dom::parser parser;
  std::string text;  // a copy of the record, with SIMDJSON_PADDING bytes of capacity after it
  dom::element root;
  bool ok = false;
  std::uint64_t parse = 0;  // counts parses
  std::string json;         // an object or array value, minified
};

RawRecord& raw_record() {
  thread_local RawRecord r;
  return r;
}

// The record `text` parsed (at most once per distinct text in a row).
RawRecord& parsed(std::string_view text, std::uint64_t& seen) {
  RawRecord& r = raw_record();
  if (seen != 0 && seen == r.parse) return r;
  if (r.parse == 0 || r.text != text) {
    r.text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
    r.text.assign(text);
    r.ok = r.parser.parse(r.text.data(), r.text.size(), false).get(r.root) == simdjson::SUCCESS;
    ++r.parse;
  }
  seen = r.parse;
  return r;
}

// One step down: a key of an object, or an index of an array.
bool step(dom::element& at, const std::string& key) {
  if (at.is_object()) {
    return at.get_object().value_unsafe().at_key(key).get(at) == simdjson::SUCCESS;
  }
  if (at.is_array()) {
    std::size_t i = 0;
    const auto r = std::from_chars(key.data(), key.data() + key.size(), i);
    if (r.ec != std::errc() || r.ptr != key.data() + key.size()) return false;
    return at.get_array().value_unsafe().at(i).get(at) == simdjson::SUCCESS;
  }
  return false;
}

template <typename T>
std::string_view number_text(T v, char (&buf)[32]) {
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return r.ec == std::errc() ? std::string_view(buf, static_cast<std::size_t>(r.ptr - buf))
                             : std::string_view();
}

std::string_view catalog_part(std::string_view name) {
  return name.substr(0, name.find('.'));
}

std::string_view schema_part(std::string_view name) {
  const auto a = name.find('.');
  if (a == std::string_view::npos) return {};
  return name.substr(0, name.find('.', a + 1));
}

}  // namespace

int EventFields::code(Field f) const {
  switch (f) {
    case Field::action:
      return static_cast<int>(e_.action);
    case Field::result:
      return static_cast<int>(e_.result);
    case Field::object_level:
      return object_ ? static_cast<int>(exposure_.info(*object_).level) : kAbsentCode;
    default:
      return kNoCode;
  }
}

void EventFields::values(Field f, std::vector<std::string_view>& out) const {
  auto add = [&](std::string_view v) {
    if (!v.empty()) out.push_back(v);
  };
  switch (f) {
    case Field::action:
      return add(detectors::to_string(e_.action));
    case Field::result:
      return add(detectors::to_string(e_.result));
    case Field::principal:
      return add(e_.principal);
    case Field::object:
      return add(e_.object.name);
    case Field::format:
      return add(e_.format);
    case Field::operation:
      return add(e_.operation);
    case Field::client_ip:
      return add(e_.client_ip);
    case Field::grantee:
      for (const auto& g : e_.grant.grantees) add(g.name);
      return;
    case Field::query:
      return add(e_.query);
    case Field::session:
      return add(e_.session);
    case Field::policy:
      return add(e_.policy);
    case Field::event_uid:
      return add(e_.event_uid);
    case Field::columns:
      return add(e_.object.columns);
    case Field::principal_group:
      for (const auto& g : e_.principal_groups) add(g);
      return;
    case Field::grant_privilege:
      for (const auto& p : e_.grant.privileges) add(p);
      return;
    case Field::grant_target:
      return add(e_.grant.target.name);
    case Field::grant_target_type:
      return add(e_.grant.target_type);
    case Field::object_catalog:
      return add(catalog_part(e_.object.name));
    case Field::object_schema:
      return add(schema_part(e_.object.name));
    case Field::hour: {
      const auto day_ms = ((e_.time_ms % 86'400'000) + 86'400'000) % 86'400'000;
      const int h = static_cast<int>(day_ms / 3'600'000);
      hour_[0] = static_cast<char>('0' + h / 10);
      hour_[1] = static_cast<char>('0' + h % 10);
      return add(h < 10 ? std::string_view(hour_ + 1, 1) : std::string_view(hour_, 2));
    }
    default:
      break;
  }
  if (!object_) return;
  const auto& info = exposure_.info(*object_);
  switch (f) {
    case Field::object_sensitivity:
      return add(info.sensitivity);
    case Field::object_level:
      return add(to_string(info.level));
    case Field::object_owner:
      return add(info.owner);
    case Field::object_exposed:
      return add(exposure_.exposure(*object_) ? "true" : "false");
    case Field::exposure_audience:
      if (const auto exp = exposure_.exposure(*object_)) add(to_string(exp->audience));
      return;
    case Field::principal_outsider:
      return add(context_.is_intended_reader(e_.principal, e_.principal_groups, info) ? "false"
                                                                                      : "true");
    case Field::principal_external:
      return add(context_.is_external(e_.principal) ? "true" : "false");
    default:
      return;
  }
}

void EventFields::raw_values(std::span<const std::string> path,
                             std::vector<std::string_view>& out) const {
  if (e_.raw.empty() || path.empty()) return;
  RawRecord& r = parsed(e_.raw, raw_parse_);
  if (!r.ok) return;
  dom::element at = r.root;
  for (const auto& key : path) {
    if (!step(at, key)) return;
  }
  switch (at.type()) {
    case dom::element_type::STRING:
      out.push_back(at.get_string().value_unsafe());
      return;
    case dom::element_type::INT64:
      out.push_back(number_text(at.get_int64().value_unsafe(), number_));
      return;
    case dom::element_type::UINT64:
      out.push_back(number_text(at.get_uint64().value_unsafe(), number_));
      return;
    case dom::element_type::DOUBLE:
      out.push_back(number_text(at.get_double().value_unsafe(), number_));
      return;
    case dom::element_type::BOOL:
      out.push_back(at.get_bool().value_unsafe() ? "true" : "false");
      return;
    case dom::element_type::NULL_VALUE:
      return;  // null: absent
    case dom::element_type::OBJECT:
    case dom::element_type::ARRAY:
      r.json = simdjson::minify(at);
      out.push_back(r.json);
      return;
  }
}

void field_values(const FieldSource& source, const FieldRef& field,
                  std::vector<std::string_view>& out) {
  if (field.is_raw()) {
    source.raw_values(field.raw, out);
  } else {
    source.values(field.field, out);
  }
}

void append_group_key(const FieldSource& source, const std::vector<FieldRef>& fields,
                      std::string& out) {
  thread_local std::vector<std::string_view> vals;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += '|';
    vals.clear();
    field_values(source, fields[i], vals);
    for (std::size_t j = 0; j < vals.size(); ++j) {
      if (j > 0) out += ',';
      out += vals[j];
    }
  }
}

}  // namespace sevwatch::rules
