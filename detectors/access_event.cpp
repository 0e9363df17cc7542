#include "detectors/access_event.h"

#include <utility>

#include "detectors/field_count.h"

namespace sevwatch::detectors {

void swap(AccessEvent& a, AccessEvent& b) noexcept {
  using detail::field_count;
  static_assert(field_count<AccessEvent>() == 17 && field_count<SourcePos>() == 3 &&
                    field_count<ObjectRef>() == 3 && field_count<GrantInfo>() == 5,
                "AccessEvent changed: swap the new member in swap()");
  using std::swap;
  swap(a.time_ms, b.time_ms);
  swap(a.time_zone_assumed, b.time_zone_assumed);
  a.format.swap(b.format);
  a.pos.file.swap(b.pos.file);
  swap(a.pos.line, b.pos.line);
  swap(a.pos.offset, b.pos.offset);
  a.event_uid.swap(b.event_uid);
  a.principal.swap(b.principal);
  a.principal_groups.swap(b.principal_groups);
  swap(a.action, b.action);
  a.operation.swap(b.operation);
  a.object.name.swap(b.object.name);
  swap(a.object.level, b.object.level);
  a.object.columns.swap(b.object.columns);
  a.grant.privileges.swap(b.grant.privileges);
  a.grant.grantees.swap(b.grant.grantees);
  a.grant.target.name.swap(b.grant.target.name);
  swap(a.grant.target.level, b.grant.target.level);
  a.grant.target.columns.swap(b.grant.target.columns);
  a.grant.target_type.swap(b.grant.target_type);
  swap(a.grant.with_grant_option, b.grant.with_grant_option);
  swap(a.result, b.result);
  a.client_ip.swap(b.client_ip);
  a.query.swap(b.query);
  a.session.swap(b.session);
  a.policy.swap(b.policy);
  a.raw.swap(b.raw);
}

std::string_view to_string(Action a) {
  switch (a) {
    case Action::other:
      return "other";
    case Action::read:
      return "read";
    case Action::write:
      return "write";
    case Action::grant:
      return "grant";
    case Action::revoke:
      return "revoke";
    case Action::alter:
      return "alter";
    case Action::create:
      return "create";
    case Action::drop:
      return "drop";
    case Action::export_data:
      return "export";
    case Action::policy_change:
      return "policy_change";
    case Action::audit_change:
      return "audit_change";
    case Action::login:
      return "login";
    case Action::metadata:
      return "metadata";
  }
  return "other";
}

std::string_view to_string(Result r) {
  switch (r) {
    case Result::unknown:
      return "unknown";
    case Result::allowed:
      return "allowed";
    case Result::denied:
      return "denied";
  }
  return "unknown";
}

std::string_view to_string(GranteeKind k) {
  switch (k) {
    case GranteeKind::unknown:
      return "unknown";
    case GranteeKind::user:
      return "user";
    case GranteeKind::group:
      return "group";
    case GranteeKind::role:
      return "role";
  }
  return "unknown";
}

std::string_view to_string(ObjectLevel l) {
  switch (l) {
    case ObjectLevel::none:
      return "none";
    case ObjectLevel::catalog:
      return "catalog";
    case ObjectLevel::schema:
      return "schema";
    case ObjectLevel::table:
      return "table";
  }
  return "none";
}

}  // namespace sevwatch::detectors
