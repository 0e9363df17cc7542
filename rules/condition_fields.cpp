#include "rules/condition_fields.h"

#include <algorithm>
#include <array>

#include "detectors/access_event.h"
#include "rules/classes.h"

namespace sevwatch::rules {
namespace {

constexpr std::string_view kActions[] = {
    "other", "read",   "write",         "grant",        "revoke", "alter",   "create",
    "drop",  "export", "policy_change", "audit_change", "login",  "metadata"};
constexpr std::string_view kResults[] = {"unknown", "allowed", "denied"};
constexpr std::string_view kLevels[] = {"critical", "high", "medium", "low", "public"};
constexpr std::string_view kAudiences[] = {"internet",   "external", "company",
                                           "department", "narrow",   "ineffective"};
constexpr std::string_view kBools[] = {"true", "false"};

using T = FieldType;
const std::array<FieldInfo, kFieldCount> kCatalog{{
    {"action", Field::action, T::vocab, false, "the normalized action", kActions},
    {"result", Field::result, T::vocab, false, "allowed, denied or unknown", kResults},
    {"principal", Field::principal, T::string, false, "who acted (actor.user.name)", {}},
    {"object", Field::object, T::string, false, "the object name (catalog.schema.table)", {}},
    {"format", Field::format, T::string, false, "the decoder, e.g. ranger_audit, pgaudit", {}},
    {"operation", Field::operation, T::string, false, "the source's own verb", {}},
    {"client_ip", Field::client_ip, T::ip, false, "the client address", {}},
    {"grantee", Field::grantee, T::string, true, "any grantee of a grant or revoke", {}},
    {"object.sensitivity",
     Field::object_sensitivity,
     T::string,
     false,
     "the object's sensitivity class from the context",
     {}},
    {"object.level", Field::object_level, T::level, false,
     "the object's sensitivity level (ordered: critical > high > medium > low > public)", kLevels},
    {"object.exposed", Field::object_exposed, T::boolean, false,
     "true while the object is exposed beyond its intended audience", kBools},
    {"exposure.audience", Field::exposure_audience, T::vocab, false,
     "the broadest audience class the object is exposed to now", kAudiences},
    {"principal.outsider", Field::principal_outsider, T::boolean, false,
     "true when the principal is outside the object's intended audience", kBools},
    {"principal.external", Field::principal_external, T::boolean, false,
     "true when the principal is outside the organization", kBools},
    {"query", Field::query, T::string, false, "the statement text (sensitive)", {}},
    {"session", Field::session, T::string, false, "the source's session id", {}},
    {"policy", Field::policy, T::string, false, "the deciding policy id", {}},
    {"event_uid", Field::event_uid, T::string, false, "the source's event id", {}},
    {"columns", Field::columns, T::string, false, "the columns touched, comma-separated", {}},
    {"principal.group",
     Field::principal_group,
     T::string,
     true,
     "any group of the principal, as the source gave them",
     {}},
    {"grant.privilege",
     Field::grant_privilege,
     T::string,
     true,
     "any privilege of a grant or revoke (upper case)",
     {}},
    {"grant.target",
     Field::grant_target,
     T::string,
     false,
     "the object or container a grant or revoke names",
     {}},
    {"grant.target_type",
     Field::grant_target_type,
     T::string,
     false,
     "TABLE, DATABASE, SCHEMA, ... as written",
     {}},
    {"object.owner", Field::object_owner, T::string, false, "the object's owner (context)", {}},
    {"object.catalog",
     Field::object_catalog,
     T::string,
     false,
     "the first part of the object name",
     {}},
    {"object.schema",
     Field::object_schema,
     T::string,
     false,
     "the first two parts of the object name",
     {}},
    {"hour", Field::hour, T::number, false, "the hour of the event time, UTC (0..23)", {}},
}};

}  // namespace

std::span<const FieldInfo> field_catalog() {
  return kCatalog;
}

const FieldInfo* find_field(std::string_view name) {
  for (const auto& f : kCatalog) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FieldInfo& field_info(Field f) {
  return kCatalog[static_cast<std::size_t>(f)];
}

std::string_view to_string(FieldType t) {
  switch (t) {
    case T::string:
      return "string";
    case T::ip:
      return "ip";
    case T::vocab:
      return "vocabulary";
    case T::level:
      return "level";
    case T::boolean:
      return "boolean";
    case T::number:
      return "number";
    case T::raw:
      return "raw";
  }
  return "unknown";
}

std::optional<int> level_rank(std::string_view level) {
  for (int i = 0; i < 5; ++i) {
    if (kLevels[i] == level) return 4 - i;
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> raw_path(std::string_view name) {
  if (!is_raw_field(name)) return std::nullopt;
  std::vector<std::string> steps;
  std::size_t i = kRawPrefix.size();
  for (;;) {
    std::string step;
    if (i < name.size() && name[i] == '"') {
      for (++i; i < name.size() && name[i] != '"'; ++i) {
        if (name[i] == '\\' && i + 1 < name.size()) ++i;
        step += name[i];
      }
      if (i >= name.size()) return std::nullopt;  // unterminated
      ++i;
      if (i < name.size() && name[i] != '.') return std::nullopt;
    } else {
      const auto dot = std::min(name.find('.', i), name.size());
      step.assign(name.substr(i, dot - i));
      if (step.empty()) return std::nullopt;
      i = dot;
    }
    steps.push_back(std::move(step));
    if (i >= name.size()) return steps;
    ++i;                                        // the '.'
    if (i >= name.size()) return std::nullopt;  // a trailing '.'
  }
}

std::optional<std::string_view> code_text(Field field, int code) {
  if (code < 0 || code >= kMaxCodes) return std::nullopt;
  switch (field) {
    case Field::action:
      if (code >= detectors::kActionCount) return std::nullopt;
      return detectors::to_string(static_cast<detectors::Action>(code));
    case Field::result:
      if (code >= detectors::kResultCount) return std::nullopt;
      return detectors::to_string(static_cast<detectors::Result>(code));
    case Field::object_level:
      if (code > static_cast<int>(Level::public_)) return std::nullopt;
      return to_string(static_cast<Level>(code));
    default:
      return std::nullopt;
  }
}

std::optional<FieldRef> find_field_ref(std::string_view name) {
  if (const FieldInfo* f = find_field(name)) return field_ref(f->field);
  if (auto path = raw_path(name)) return FieldRef{Field::principal, std::move(*path)};
  return std::nullopt;
}

}  // namespace sevwatch::rules
