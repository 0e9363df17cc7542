#include "detectors/bigquery_decoder.h"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "detectors/json_record.h"

namespace sevwatch::detectors {
namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// Roles whose holders can read table data.
bool role_reads_data(std::string_view role) {
  return role == "roles/bigquery.dataViewer" || role == "roles/bigquery.dataEditor" ||
         role == "roles/bigquery.dataOwner" || role == "roles/bigquery.admin" ||
         role == "roles/owner" || role == "roles/editor" || role == "roles/viewer" ||
         role == "roles/bigquery.filteredDataViewer" || role == "READER" || role == "WRITER" ||
         role == "OWNER";
}

std::vector<std::string> role_privileges(const std::string& role) {
  if (role_reads_data(role)) return {"SELECT", role};
  return {role};
}

using Binding = std::pair<std::string, std::string>;  // (role, member)

std::set<Binding> policy_bindings(dom::element policy) {
  std::set<Binding> out;
  dom::array bindings;
  if (json_at(policy, "bindings").get_array().get(bindings)) return out;
  for (dom::element b : bindings) {
    const std::string role = json_text(b, "role");
    for (auto& m : json_strings(b, "members")) out.emplace(role, std::move(m));
  }
  return out;
}

// bigquery_object() into `out`, reusing its strings.
void bigquery_object_into(std::string_view name, ObjectRef& out) {
  // split(name, '/'): the number of parts and the first six.
  std::string_view parts[6];
  std::size_t n = 0;
  for (std::string_view rest = name;;) {
    const auto slash = rest.find('/');
    if (n < 6) parts[n] = rest.substr(0, slash);
    ++n;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  auto strip = [](std::string_view t) {  // table decorators: t$20260101, t@123
    return t.substr(0, t.find_first_of("$@"));
  };
  out.columns.clear();
  if (n >= 2 && parts[0] == "projects") {
    out.name.assign(parts[1]);
    out.level = ObjectLevel::catalog;
    if (n == 2) return;
    if (n >= 4 && parts[2] == "datasets") {
      out.name.append(".").append(parts[3]);
      out.level = ObjectLevel::schema;
      if (n == 4) return;
      if (n == 6 && parts[4] == "tables") {
        out.name.append(".").append(strip(parts[5]));
        out.level = ObjectLevel::table;
        return;
      }
    }
  }
  out.name.assign(name);
  out.level = ObjectLevel::none;
}

class BigQueryDecoder final : public JsonRecordDecoder {
 public:
  explicit BigQueryDecoder(const DecoderOptions& o) : JsonRecordDecoder(o, kBigQueryFormat) {}

 private:
  void on_record(dom::element rec, const SourcePos& pos, EventSink& sink) override {
    dom::element p;
    if (rec["protoPayload"].get(p) || !p.is_object()) {
      return reject(sink, weird::kMissingField, pos, "missing field 'protoPayload'");
    }
    // One event per decoder, reused: its strings keep their capacity unless
    // the sink moves them away.
    AccessEvent& ev = ev_;
    reset_event(ev);
    if (!start_event(ev, rec["timestamp"], "timestamp", pos, sink)) return;
    text_into(rec, "insertId", ev.event_uid);
    text_into(p, "authenticationInfo.principalEmail", ev.principal);
    text_into(p, "requestMetadata.callerIp", ev.client_ip);
    text_into(p, "methodName", ev.operation);
    const std::string& method = ev.operation;
    ev.result = Result::allowed;
    if (json_int(p, "status.code", 0) != 0) ev.result = Result::denied;
    std::vector<std::string> denied_resources;
    dom::array authz;
    if (!json_at(p, "authorizationInfo").get_array().get(authz)) {
      for (dom::element a : authz) {
        if (!json_bool(a, "granted", true)) {
          ev.result = Result::denied;
          denied_resources.push_back(json_text(a, "resource"));
        }
      }
    }
    text_into(p, "resourceName", resource_);
    const std::string& resource = resource_;
    bigquery_object_into(resource, ev.object);

    dom::element m;
    const bool has_meta = !json_at(p, "metadata").get(m) && m.is_object();
    dom::element deltas;
    if (!json_at(p, "serviceData.policyDelta.bindingDeltas").get(deltas) && deltas.is_array()) {
      return binding_deltas(deltas, ev, sink);
    }
    dom::element policy;
    if (ends_with(method, "SetIamPolicy") && !json_at(p, "request.policy").get(policy)) {
      return full_policy(
          policy,
          json_text(p, "request.resource").empty() ? resource : json_text(p, "request.resource"),
          ev, sink);
    }
    if (has_meta && !json_at(m, "datasetChange.dataset.acl.policy").get(policy)) {
      return full_policy(policy, json_text(m, "datasetChange.dataset.datasetName"), ev, sink);
    }
    if (has_meta) return metadata(m, denied_resources, ev, sink);
    sink.on_event(std::move(ev));
  }

  void binding_deltas(dom::element deltas, AccessEvent& ev, EventSink& sink) {
    for (dom::element d : dom::array(deltas.get_array().value_unsafe())) {
      AccessEvent one = ev;
      one.action = json_str(d, "action") == "REMOVE" ? Action::revoke : Action::grant;
      one.grant.target = ev.object;
      one.grant.target_type = "IAM POLICY";
      one.grant.privileges = role_privileges(json_text(d, "role"));
      one.grant.grantees.push_back(bigquery_member(json_text(d, "member")));
      sink.on_event(std::move(one));
    }
  }

  // A whole new policy: bindings not in the last policy seen for the
  // resource are grants, bindings gone from it revokes. The first policy
  // seen for a resource is all grants (nothing is known to be removed).
  void full_policy(dom::element policy, const std::string& resource, AccessEvent& ev,
                   EventSink& sink) {
    if (!resource.empty()) ev.object = bigquery_object(resource);
    std::set<Binding> now = policy_bindings(policy);
    auto it = policies_.find(ev.object.name);
    const std::set<Binding> empty;
    const std::set<Binding>& was = it == policies_.end() ? empty : it->second;
    std::map<std::pair<Action, std::string>, std::vector<Grantee>> changes;
    for (const auto& b : now) {
      if (was.count(b) == 0) changes[{Action::grant, b.first}].push_back(bigquery_member(b.second));
    }
    for (const auto& b : was) {
      if (now.count(b) == 0)
        changes[{Action::revoke, b.first}].push_back(bigquery_member(b.second));
    }
    if (ev.result != Result::denied) policies_[ev.object.name] = std::move(now);
    if (changes.empty()) {
      ev.action = Action::policy_change;
      return sink.on_event(std::move(ev));
    }
    for (auto& [key, grantees] : changes) {
      AccessEvent one = ev;
      one.action = key.first;
      one.grant.target = ev.object;
      one.grant.target_type = "IAM POLICY";
      one.grant.privileges = role_privileges(key.second);
      one.grant.grantees = std::move(grantees);
      sink.on_event(std::move(one));
    }
  }

  void metadata(dom::element m, const std::vector<std::string>& denied, AccessEvent& ev,
                EventSink& sink) {
    dom::element v;
    if (!m["tableDataRead"].get(v)) {
      ev.action = Action::read;
      ev.object.columns = join(json_strings(v, "fields"), ",");
      return sink.on_event(std::move(ev));
    }
    if (!m["tableDataChange"].get(v)) {
      ev.action = Action::write;
      return sink.on_event(std::move(ev));
    }
    if (!m["jobChange"].get(v) || !m["jobInsertion"].get(v)) {
      const bool done =
          json_str(v, "after") == "DONE" || json_str(v, "job.jobStatus.jobState") == "DONE";
      // One set of events per job: when it is done, or when it was refused.
      if (!done && ev.result != Result::denied) return;
      return job(v, denied, ev, sink);
    }
    const std::pair<const char*, Action> ddl[] = {
        {"tableCreation", Action::create}, {"tableDeletion", Action::drop},
        {"tableChange", Action::alter},    {"datasetCreation", Action::create},
        {"datasetDeletion", Action::drop}, {"datasetChange", Action::alter},
        {"modelDeletion", Action::drop},   {"routineCreation", Action::create},
    };
    for (const auto& [key, action] : ddl) {
      if (!m[key].get(v)) {
        ev.action = action;
        break;
      }
    }
    sink.on_event(std::move(ev));
  }

  void job(dom::element change, const std::vector<std::string>& denied, AccessEvent& ev,
           EventSink& sink) {
    dom::element job;
    if (change["job"].get(job)) return sink.on_event(std::move(ev));
    ev.event_uid = json_text(job, "jobName").empty() ? ev.event_uid : json_text(job, "jobName");
    const std::string type = json_text(job, "jobConfig.type");
    std::vector<std::string> tables;
    if (type == "EXPORT") {
      ev.action = Action::export_data;
      // The destination is evidence a responder needs: kept as the query text.
      ev.query =
          "EXTRACT TO " + join(json_strings(job, "jobConfig.extractConfig.destinationUris"), ",");
      tables = json_strings(job, "jobConfig.extractConfig.sourceTable");
      if (tables.empty()) tables = json_strings(job, "jobConfig.extractConfig.sourceTables");
    } else if (type == "QUERY") {
      ev.query = json_text(job, "jobConfig.queryConfig.query");
      ev.action = json_str(job, "jobConfig.queryConfig.statementType") == "EXPORT_DATA"
                      ? Action::export_data
                      : Action::read;
      tables = json_strings(job, "jobStats.queryStats.referencedTables");
    } else if (type == "COPY") {
      ev.action = Action::read;
      tables = json_strings(job, "jobConfig.tableCopyConfig.sourceTables");
    } else {
      ev.action = Action::other;
    }
    if (tables.empty()) {
      for (const auto& r : denied) {
        if (r.find("/tables/") != std::string::npos) tables.push_back(r);
      }
    }
    if (tables.empty()) {
      ev.object = ObjectRef{};
      return sink.on_event(std::move(ev));
    }
    for (std::size_t i = 0; i < tables.size(); ++i) {
      AccessEvent one = i + 1 < tables.size() ? ev : std::move(ev);
      one.object = bigquery_object(tables[i]);
      sink.on_event(std::move(one));
    }
  }

  // json_text(root, path) into `out`.
  static void text_into(dom::element root, std::string_view path, std::string& out) {
    dom::element v;
    if (json_at(root, path).get(v)) {
      out.clear();
    } else {
      json_text_into(v, out);
    }
  }

  std::map<std::string, std::set<Binding>> policies_;  // object -> last policy seen
  AccessEvent ev_;                                     // the record's event (on_record())
  std::string resource_;
};

}  // namespace

ObjectRef bigquery_object(std::string_view name) {
  ObjectRef out;
  bigquery_object_into(name, out);
  return out;
}

Grantee bigquery_member(std::string_view m) {
  const std::pair<std::string_view, GranteeKind> prefixes[] = {
      {"user:", GranteeKind::user},
      {"serviceAccount:", GranteeKind::user},
      {"group:", GranteeKind::group},
  };
  for (const auto& [prefix, kind] : prefixes) {
    if (starts_with(m, prefix)) return Grantee{kind, std::string(m.substr(prefix.size()))};
  }
  // allUsers, allAuthenticatedUsers, domain:x, projectViewer:p, principalSet://...
  return Grantee{GranteeKind::group, std::string(m)};
}

std::unique_ptr<Decoder> make_bigquery_decoder(const DecoderOptions& options) {
  return std::make_unique<BigQueryDecoder>(options);
}

int sniff_bigquery(const std::vector<std::string_view>& first_lines) {
  return sniff_lines(first_lines, [](std::string_view l) {
    return json_line_has(l, {"\"protoPayload\"", "\"methodName\""});
  });
}

DecoderInfo bigquery_decoder_info() {
  return DecoderInfo{
      std::string(kBigQueryFormat),
      "Google Cloud Audit Logs for BigQuery (LogEntry JSON lines)",
      sniff_bigquery,
      make_bigquery_decoder,
  };
}

}  // namespace sevwatch::detectors
