#include "rules/event_fields.h"

#include "detectors/event_time.h"

namespace sevwatch::rules {
namespace {

std::string_view catalog_part(std::string_view name) {
  return name.substr(0, name.find('.'));
}

std::string_view schema_part(std::string_view name) {
  const auto a = name.find('.');
  if (a == std::string_view::npos) return {};
  return name.substr(0, name.find('.', a + 1));
}

}  // namespace

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

void append_group_key(const FieldSource& source, const std::vector<Field>& fields,
                      std::string& out) {
  thread_local std::vector<std::string_view> vals;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += '|';
    vals.clear();
    source.values(fields[i], vals);
    for (std::size_t j = 0; j < vals.size(); ++j) {
      if (j > 0) out += ',';
      out += vals[j];
    }
  }
}

}  // namespace sevwatch::rules
