#include "detectors/access_event.h"

namespace sevwatch::detectors {

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
