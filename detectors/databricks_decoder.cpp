#include "detectors/databricks_decoder.h"

#include <algorithm>
#include <string>
#include <utility>

#include "detectors/json_record.h"
#include "detectors/sql_lexer.h"

namespace sevwatch::detectors {
namespace {

// The first of the spellings (delivered logs are camelCase, the system
// table snake_case) present in the record, as json_text would give it: a
// view into the document, or into `scratch` for a number or boolean.
std::string_view first_text(dom::element rec, std::initializer_list<std::string_view> paths,
                            std::string& scratch) {
  for (std::string_view p : paths) {
    dom::element v;
    if (json_at(rec, p).get(v)) continue;
    const std::string_view t = json_text_view(v, scratch);
    if (!t.empty()) return t;
  }
  return {};
}

ObjectLevel securable_level(std::string_view type) {
  if (iequals(type, "catalog")) return ObjectLevel::catalog;
  if (iequals(type, "schema")) return ObjectLevel::schema;
  if (iequals(type, "table") || iequals(type, "view") || iequals(type, "materialized_view")) {
    return ObjectLevel::table;
  }
  return ObjectLevel::none;
}

Grantee uc_principal(std::string name) {
  // Users are e-mail addresses; service principals application ids; the
  // rest (`account users`, groups) are groups.
  const bool uuid = name.size() == 36 && name[8] == '-' && name[13] == '-';
  const GranteeKind kind =
      name.find('@') != std::string::npos || uuid ? GranteeKind::user : GranteeKind::group;
  return Grantee{kind, std::move(name)};
}

std::string uc_privilege(std::string p) {
  p = to_upper(p);
  for (char& c : p) {
    if (c == ' ') c = '_';
  }
  return p == "ALL_PRIVILEGES" ? "ALL" : p;
}

class DatabricksDecoder final : public JsonRecordDecoder {
 public:
  explicit DatabricksDecoder(const DecoderOptions& o) : JsonRecordDecoder(o, kDatabricksFormat) {}

 private:
  void on_record(dom::element rec, const SourcePos& pos, EventSink& sink) override {
    const std::string_view service = first_text(rec, {"serviceName", "service_name"}, service_);
    const std::string_view action = first_text(rec, {"actionName", "action_name"}, action_);
    if (service.empty() || action.empty()) {
      return reject(sink, weird::kMissingField, pos, "missing field 'serviceName' or 'actionName'");
    }
    if (service != "unityCatalog") return;  // workspace, clusters, notebooks: not data access
    dom::element time;
    auto t = rec["timestamp"];
    if (t.get(time)) t = rec["event_time"];
    // One event per decoder, reused: its strings keep their capacity unless
    // the sink moves them away.
    AccessEvent& ev = ev_;
    reset_event(ev);
    if (!start_event(ev, t, "timestamp", pos, sink)) return;
    ev.operation.assign(action);
    ev.principal.assign(first_text(
        rec, {"userIdentity.email", "user_identity.email", "identity_metadata.run_as"}, text_));
    ev.client_ip.assign(first_text(rec, {"sourceIPAddress", "source_ip_address"}, text_));
    ev.event_uid.assign(first_text(rec, {"requestId", "request_id", "event_id"}, text_));
    ev.session.assign(first_text(rec, {"sessionId", "session_id"}, text_));
    status_.assign(first_text(rec, {"response.statusCode", "response.status_code"}, text_));
    const int code = status_.empty() ? 0 : std::atoi(status_.c_str());
    ev.result = code == 0 ? Result::unknown : code >= 400 ? Result::denied : Result::allowed;
    dom::element params;
    if (rec["requestParams"].get(params) && rec["request_params"].get(params)) {
      return reject(sink, weird::kMissingField, pos, "missing field 'requestParams'");
    }
    // The first non-empty parameter among `keys` (json_text), into `scratch`.
    auto param = [&](std::initializer_list<std::string_view> keys, std::string& scratch) {
      return first_text(params, keys, scratch);
    };

    if (action == "updatePermissions") {
      const std::string type(param({"securable_type"}, text_));
      ObjectRef target{
          std::string(param({"securable_full_name", "full_name_arg", "full_name"}, text2_)),
          securable_level(type), ""};
      return permissions(params, target, to_upper(type), ev, sink);
    }
    ev.object.name.assign(
        param({"full_name_arg", "table_full_name", "securable_full_name", "full_name"}, text_));
    const auto dots = std::count(ev.object.name.begin(), ev.object.name.end(), '.');
    ev.object.level = dots == 2 ? ObjectLevel::table : ObjectLevel::none;  // catalog.schema.table
    if (action == "generateTemporaryTableCredential") {
      const std::string_view op = param({"operation"}, text_);
      ev.action = op == "READ" ? Action::read : Action::write;
    } else if (action == "getTable" || action == "getCatalog" || action == "getSchema" ||
               action.substr(0, 4) == "list") {
      ev.action = Action::metadata;
    } else if (action == "createTable" || action == "createSchema" || action == "createCatalog") {
      ev.action = Action::create;
    } else if (action == "deleteTable" || action == "deleteSchema" || action == "deleteCatalog") {
      ev.action = Action::drop;
    } else if (action == "updateTables" || action == "updateTable" || action == "updateSchema") {
      ev.action = Action::alter;
    } else if (action.substr(0, 12) == "deltaSharing") {
      ev.action = Action::export_data;
    }
    sink.on_event(std::move(ev));
  }

  // changes: a JSON string (delivered logs) or an array:
  // [{"principal": "...", "add": ["SELECT"], "remove": [...]}]
  void permissions(dom::element params, const ObjectRef& target, const std::string& type,
                   AccessEvent& ev, EventSink& sink) {
    dom::element changes;
    if (json_at(params, "changes").get(changes)) {
      return reject(sink, weird::kMissingField, ev.pos, "missing field 'changes'");
    }
    if (changes.is_string()) {
      const std::string text(changes.get_string().value_unsafe());
      if (!parse_inner(text, changes)) {
        return reject(sink, weird::kInvalidJson, ev.pos, "changes is not JSON");
      }
    }
    if (!changes.is_array()) {
      return reject(sink, weird::kUnknownShape, ev.pos, "changes is not an array");
    }
    ev.object = target;
    ev.grant.target = target;
    ev.grant.target_type = type;
    for (dom::element c : dom::array(changes.get_array().value_unsafe())) {
      const std::string who = json_text(c, "principal");
      if (who.empty()) {
        reject(sink, weird::kMissingField, ev.pos, "a change without 'principal'");
        continue;
      }
      for (const auto& [key, action] :
           {std::pair{"add", Action::grant}, std::pair{"remove", Action::revoke}}) {
        std::vector<std::string> privs;
        for (auto& p : json_strings(c, key)) privs.push_back(uc_privilege(std::move(p)));
        if (privs.empty()) continue;
        AccessEvent one = ev;
        one.action = action;
        one.grant.privileges = std::move(privs);
        one.grant.grantees.push_back(uc_principal(who));
        sink.on_event(std::move(one));
      }
    }
  }

  AccessEvent ev_;  // the record's event (on_record())
  std::string service_, action_, status_, text_, text2_;
};

}  // namespace

std::unique_ptr<Decoder> make_databricks_decoder(const DecoderOptions& options) {
  return std::make_unique<DatabricksDecoder>(options);
}

int sniff_databricks(const std::vector<std::string_view>& first_lines) {
  return sniff_lines(first_lines, [](std::string_view l) {
    return json_line_has(l, {"\"serviceName\"", "\"actionName\"", "\"requestParams\""}) ||
           json_line_has(l, {"\"service_name\"", "\"action_name\"", "\"request_params\""});
  });
}

DecoderInfo databricks_decoder_info() {
  return DecoderInfo{
      std::string(kDatabricksFormat),
      "Databricks Unity Catalog audit log JSON lines (updatePermissions, credential vending)",
      sniff_databricks,
      make_databricks_decoder,
  };
}

}  // namespace sevwatch::detectors
