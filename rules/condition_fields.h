// The field catalog of the condition language: every field a condition may
// name, its type (which decides the operators it accepts) and, for fields
// with a closed vocabulary, the values it can take. Data, not code: the type
// checker, `rules check` and the docs all read it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sevwatch::rules {

// The fields a condition may name.
enum class Field : std::uint8_t {
  action,
  result,
  principal,
  object,
  format,
  operation,
  client_ip,
  grantee,             // any grantee of a grant/revoke
  object_sensitivity,  // the object's class from the context
  object_level,        // critical | high | medium | low | public
  object_exposed,      // "true" when the object is exposed beyond its audience now
  exposure_audience,   // the broadest audience class of the object now
  principal_outsider,  // "true" when the principal is outside the object's audience
  principal_external,  // "true" when the principal is outside the organization
  // Added with the extended language.
  query,
  session,
  policy,
  event_uid,
  columns,
  principal_group,  // any group of the principal, as the source gave them
  grant_privilege,  // any privilege of a grant/revoke (upper case)
  grant_target,     // the grant's target object or container
  grant_target_type,
  object_owner,
  object_catalog,  // first part of the object name
  object_schema,   // "catalog.schema"
  hour,            // hour of the event time, UTC, 0..23
};
inline constexpr std::size_t kFieldCount = static_cast<std::size_t>(Field::hour) + 1;

enum class FieldType : std::uint8_t {
  string,   // = != in contains startswith endswith glob regex (+ i-variants) exists
  ip,       // string operators, and cidr
  vocab,    // = != in exists; values must come from the vocabulary
  level,    // a vocab whose values are ordered: also < <= > >= (more sensitive = greater)
  boolean,  // = != exists; values true | false
  number,   // = != in < <= > >= exists
  raw,      // a raw.<path> field: every operator; ordering compares numbers
};

struct FieldInfo {
  std::string_view name;
  Field field;
  FieldType type;
  bool multi;  // may carry several values (any value matching is a match)
  std::string_view description;
  std::span<const std::string_view> vocabulary;  // for vocab/level/boolean
};

std::span<const FieldInfo> field_catalog();
const FieldInfo* find_field(std::string_view name);
const FieldInfo& field_info(Field f);
std::string_view to_string(FieldType t);

// Sensitivity rank for ordered comparisons: public 0 ... critical 4.
std::optional<int> level_rank(std::string_view level);

// `raw.<path>`: a path into the event's source record (JSON), outside the
// catalog. Steps are separated by '.'; a step is an object key or, on an
// array, a 0-based index; a step written in quotes (raw."a.b".c) may hold any
// character ('\' escapes the quote and itself).
inline constexpr std::string_view kRawPrefix = "raw.";
inline bool is_raw_field(std::string_view name) {
  return name.substr(0, kRawPrefix.size()) == kRawPrefix;
}
// The steps of a raw field's path; nullopt when `name` is not a well-formed
// raw field (no step, an empty step, an unterminated quote).
std::optional<std::vector<std::string>> raw_path(std::string_view name);

// Fields whose value is one member of a small enum (action, result,
// object.level): a FieldSource may give the member's code, and a compiled
// check then decides with one bit test instead of comparing text. A code's
// text (code_text) is exactly what FieldSource::values() gives for it.
inline constexpr int kNoCode = -1;      // the source cannot say: use values()
inline constexpr int kAbsentCode = -2;  // the field is absent
inline constexpr int kMaxCodes = 32;
// The text of `code` for `field`: nullopt when the field has no codes or the
// code is out of range; empty when values() gives nothing for it.
std::optional<std::string_view> code_text(Field field, int code);

// A field a rule reads values of outside its conditions (aggregate
// `group_by` and `field`, sequence `by` and `group_by`, first-seen `key`): a
// catalog field, or a raw.<path> (then `field` is unused and `raw` holds the
// path's steps).
struct FieldRef {
  Field field = Field::principal;
  std::vector<std::string> raw;
  bool is_raw() const { return !raw.empty(); }
  bool is(Field f) const { return !is_raw() && field == f; }
  bool operator==(const FieldRef&) const = default;
};
inline FieldRef field_ref(Field f) {
  return FieldRef{f, {}};
}
// The FieldRef `name` names: a catalog field or a well-formed raw.<path>.
std::optional<FieldRef> find_field_ref(std::string_view name);

}  // namespace sevwatch::rules
