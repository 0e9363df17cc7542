#include "detectors/ranger_admin_decoder.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "detectors/json_record.h"
#include "detectors/sql_lexer.h"

namespace sevwatch::detectors {
namespace {

constexpr std::int64_t kClassPolicy = 1020;

struct PolicyItem {
  std::vector<Grantee> grantees;
  std::vector<std::string> privileges;  // upper case, allowed accesses only
};

struct Resources {
  bool known = false;
  std::map<std::string, std::vector<std::string>> values;  // resource name -> values
  std::set<std::string> excluded;                          // resources with isExcludes
};

struct Policy {
  std::string service;
  Resources resources;
  std::vector<PolicyItem> items;
  bool items_known = false;
};

std::vector<PolicyItem> read_items(dom::element arr) {
  std::vector<PolicyItem> out;
  if (!arr.is_array()) return out;
  for (dom::element item : dom::array(arr.get_array().value_unsafe())) {
    PolicyItem pi;
    dom::array accesses;
    if (!item["accesses"].get_array().get(accesses)) {
      for (dom::element a : accesses) {
        const bool allowed = json_bool(a, "isAllowed", true);
        std::string type = json_text(a, "type");
        if (allowed && !type.empty()) pi.privileges.push_back(to_upper(type));
      }
    }
    const std::pair<const char*, GranteeKind> kinds[] = {
        {"users", GranteeKind::user}, {"groups", GranteeKind::group}, {"roles", GranteeKind::role}};
    for (const auto& [key, kind] : kinds) {
      for (auto& name : json_strings(item, key)) pi.grantees.push_back(Grantee{kind, name});
    }
    if (!pi.privileges.empty() && !pi.grantees.empty()) out.push_back(std::move(pi));
  }
  return out;
}

Resources read_resources(dom::element obj) {
  Resources r;
  dom::object o;
  if (obj.get_object().get(o)) return r;
  r.known = true;
  for (const auto field : o) {
    std::string key(field.key);
    r.values[key] = json_strings(field.value, "values");
    if (json_bool(field.value, "isExcludes", false)) r.excluded.insert(key);
  }
  return r;
}

// Values of one resource; an excluded list ("every x but these") counts as
// "*": the policy still covers everything else (conservative).
std::vector<std::string> values_of(const Resources& r, const std::string& key) {
  auto it = r.values.find(key);
  if (it == r.values.end()) return {};
  if (r.excluded.count(key) != 0) return {"*"};
  return it->second;
}

bool is_star(const std::vector<std::string>& v) {
  return v.empty() || std::find(v.begin(), v.end(), "*") != v.end();
}

// Objects the policy's resources name (see README: database `*` is the whole
// catalog = service, `x/*` the schema `service.x`, `x/t` a table).
std::vector<ObjectRef> targets_of(const Policy& p) {
  std::vector<ObjectRef> out;
  const Resources& r = p.resources;
  if (r.values.count("database") != 0) {
    const auto dbs = values_of(r, "database");
    if (is_star(dbs)) return {ObjectRef{p.service, ObjectLevel::catalog, ""}};
    const auto tables = values_of(r, "table");
    const auto cols = values_of(r, "column");
    const std::string columns = is_star(cols) ? "" : join(cols, ",");
    for (const auto& db : dbs) {
      if (r.values.count("table") == 0 || is_star(tables)) {
        if (r.values.count("udf") != 0) continue;  // a UDF policy grants no data
        out.push_back(ObjectRef{p.service + "." + db, ObjectLevel::schema, ""});
        continue;
      }
      for (const auto& t : tables) {
        out.push_back(ObjectRef{p.service + "." + db + "." + t, ObjectLevel::table, columns});
      }
    }
    return out;
  }
  if (r.values.count("path") != 0) {  // HDFS
    for (const auto& path : values_of(r, "path")) {
      std::string name = "hdfs://" + p.service;
      if (path.empty() || path[0] != '/') name += '/';
      out.push_back(ObjectRef{name + path, ObjectLevel::none, ""});
    }
    return out;
  }
  for (const auto& [key, vals] : r.values) {  // another service: service:key=value
    for (const auto& v : vals) {
      out.push_back(ObjectRef{p.service + ":" + key + "=" + v, ObjectLevel::none, ""});
    }
  }
  return out;
}

std::string grantee_key(const Grantee& g) {
  return std::string(to_string(g.kind)) + ":" + g.name;
}

// (grantee -> privileges) of a list of items, merged.
std::map<std::string, std::pair<Grantee, std::set<std::string>>> by_grantee(
    const std::vector<PolicyItem>& items) {
  std::map<std::string, std::pair<Grantee, std::set<std::string>>> out;
  for (const auto& item : items) {
    for (const auto& g : item.grantees) {
      auto& slot = out[grantee_key(g)];
      slot.first = g;
      slot.second.insert(item.privileges.begin(), item.privileges.end());
    }
  }
  return out;
}

class RangerAdminDecoder final : public JsonRecordDecoder {
 public:
  explicit RangerAdminDecoder(const DecoderOptions& o) : JsonRecordDecoder(o, kRangerAdminFormat) {}

 private:
  void on_record(dom::element rec, const SourcePos& pos, EventSink& sink) override {
    dom::element ignored;
    if (!rec["objectClassType"].get(ignored) || !rec["changeInfo"].get(ignored)) {
      return trx(rec, pos, sink);
    }
    if (!rec["policyItems"].get(ignored) || !rec["resources"].get(ignored)) {
      return policy_export(rec, pos, sink);
    }
    reject(sink, weird::kUnknownShape, pos,
           "neither a transaction log entry (objectClassType, changeInfo) nor a policy "
           "(resources, policyItems)");
  }

  // A RangerPolicy: its allow items as grants (revokes when disabled).
  void policy_export(dom::element rec, const SourcePos& pos, EventSink& sink) {
    const std::string id = json_text(rec, "id");
    Policy p;
    p.service = json_text(rec, "service");
    if (p.service.empty()) {
      return reject(sink, weird::kMissingField, pos, "missing field 'service'");
    }
    dom::element resources, items;
    if (rec["resources"].get(resources) || rec["policyItems"].get(items)) {
      return reject(sink, weird::kMissingField, pos,
                    "a policy needs 'resources' and 'policyItems'");
    }
    p.resources = read_resources(resources);
    p.items = read_items(items);
    p.items_known = true;
    const bool enabled = json_bool(rec, "isEnabled", true);

    AccessEvent ev;
    ev.format = format_;
    ev.pos = pos;
    // An export has no event time: updateTime / createTime when present,
    // else 0 (the policy predates everything in the logs).
    for (const char* key : {"updateTime", "createTime"}) {
      dom::element t;
      if (!rec[key].get(t) && parse_time_value(t, ev.time_ms, ev.time_zone_assumed)) break;
    }
    ev.principal = json_text(rec, "updatedBy");
    if (ev.principal.empty()) ev.principal = json_text(rec, "createdBy");
    ev.operation = "policy export";
    ev.event_uid = id;
    ev.policy = id;
    ev.result = Result::allowed;
    emit_items(ev, p, p.items, enabled ? Action::grant : Action::revoke, "POLICY", sink);
    if (!id.empty()) known_[id] = std::move(p);
  }

  // A VXTrxLogV2 entry.
  void trx(dom::element rec, const SourcePos& pos, EventSink& sink) {
    AccessEvent ev;
    if (!start_event(ev, rec["createDate"], "createDate", pos, sink)) return;
    const std::string action = json_text(rec, "action");
    const std::string object_id = json_text(rec, "objectId");
    ev.principal = json_text(rec, "createdBy");
    ev.event_uid = json_text(rec, "id");
    ev.session = json_text(rec, "sessionId");
    ev.result = Result::allowed;
    const std::int64_t cls = json_int(rec, "objectClassType", 0);
    if (cls != kClassPolicy) {  // users, groups, services...: kept as a policy change
      ev.action = Action::policy_change;
      ev.operation = "class " + std::to_string(cls) + " " + action;
      return sink.on_event(std::move(ev));
    }
    ev.operation = "policy " + action;
    ev.policy = object_id;

    // Copy the attribute texts out first: each is parsed with the inner parser.
    struct Attr {
      std::string name, old_value, new_value;
    };
    std::vector<Attr> attrs;
    dom::element change_info;
    if (rec["changeInfo"].get(change_info)) {
      return reject(sink, weird::kMissingField, pos, "missing field 'changeInfo'");
    }
    if (change_info.is_string()) {
      std::string text(change_info.get_string().value_unsafe());
      if (!parse_inner(text, change_info)) {
        return reject(sink, weird::kInvalidJson, pos, "changeInfo is not JSON");
      }
    }
    dom::array list;
    if (!json_at(change_info, "attributes").get_array().get(list)) {
      for (dom::element a : list) {
        attrs.push_back(Attr{json_text(a, "attributeName"), json_text(a, "oldValue"),
                             json_text(a, "newValue")});
      }
    }

    Policy& before = known_[object_id];
    if (before.service.empty()) before.service = json_text(rec, "parentObjectName");
    Policy after = before;
    bool items_changed = false;
    bool resources_changed = false;
    for (const Attr& a : attrs) {
      dom::element v;
      if (a.name == "Policy Items") {
        if (!a.old_value.empty() && parse_inner(a.old_value, v)) {
          before.items = read_items(v);
          before.items_known = true;
        }
        if (!a.new_value.empty() && parse_inner(a.new_value, v)) {
          after.items = read_items(v);
          after.items_known = true;
        }
        items_changed = true;
      } else if (a.name == "Policy Resources") {
        if (!a.old_value.empty() && parse_inner(a.old_value, v))
          before.resources = read_resources(v);
        if (!a.new_value.empty() && parse_inner(a.new_value, v))
          after.resources = read_resources(v);
        resources_changed = true;
      }
    }
    if (!before.resources.known && after.resources.known && !resources_changed) {
      before.resources = after.resources;
    }
    if (!after.resources.known && !resources_changed) after.resources = before.resources;

    if (action == "delete") {
      emit_items(ev, before, before.items, Action::revoke, "POLICY", sink);
      known_.erase(object_id);
      return;
    }
    if (action == "create" || resources_changed) {
      // Everything the old version gave on its resources goes; the new
      // version's items are granted on the new resources.
      if (action != "create") emit_items(ev, before, before.items, Action::revoke, "POLICY", sink);
      emit_items(ev, after, after.items, Action::grant, "POLICY", sink);
    } else if (items_changed) {
      diff_items(ev, after, before.items, after.items, sink);
    } else {
      ev.action = Action::policy_change;  // name, description, conditions...
      sink.on_event(std::move(ev));
    }
    if (after.items_known || after.resources.known) known_[object_id] = std::move(after);
  }

  // Grants for (grantee, privilege) pairs only in `now`, revokes for those
  // only in `was`.
  void diff_items(const AccessEvent& ev, const Policy& p, const std::vector<PolicyItem>& was,
                  const std::vector<PolicyItem>& now, EventSink& sink) {
    const auto old_map = by_grantee(was);
    const auto new_map = by_grantee(now);
    std::vector<PolicyItem> added, removed;
    auto diff = [](const auto& a, const auto& b, std::vector<PolicyItem>& out) {
      for (const auto& [key, entry] : a) {
        PolicyItem item;
        item.grantees.push_back(entry.first);
        auto it = b.find(key);
        for (const auto& priv : entry.second) {
          if (it == b.end() || it->second.second.count(priv) == 0) item.privileges.push_back(priv);
        }
        if (!item.privileges.empty()) out.push_back(std::move(item));
      }
    };
    diff(new_map, old_map, added);
    diff(old_map, new_map, removed);
    emit_items(ev, p, removed, Action::revoke, "POLICY", sink);
    emit_items(ev, p, added, Action::grant, "POLICY", sink);
  }

  // One event per (item x target); items with the same privileges share one.
  void emit_items(const AccessEvent& proto, const Policy& p, const std::vector<PolicyItem>& items,
                  Action action, std::string_view target_type, EventSink& sink) {
    if (items.empty()) return;
    std::vector<ObjectRef> targets;
    std::string type(target_type);
    if (p.resources.known) {
      targets = targets_of(p);
    } else {
      // Neither this entry nor an earlier one in the stream says what the
      // policy covers: assume the whole service (a policy edit could expose
      // anything in it); the target type says so.
      targets.push_back(ObjectRef{p.service, ObjectLevel::catalog, ""});
      type = "POLICY (resources not logged)";
    }
    std::map<std::vector<std::string>, std::vector<Grantee>> groups;
    std::vector<std::vector<std::string>> order;
    for (const auto& item : items) {
      auto [it, inserted] = groups.try_emplace(item.privileges);
      if (inserted) order.push_back(item.privileges);
      for (const auto& g : item.grantees) it->second.push_back(g);
    }
    for (const auto& privs : order) {
      for (const auto& t : targets) {
        AccessEvent ev = proto;
        ev.action = action;
        ev.object = t;
        ev.grant.target = t;
        ev.grant.target_type = type;
        ev.grant.privileges = privs;
        ev.grant.grantees = groups[privs];
        sink.on_event(std::move(ev));
      }
    }
  }

  std::map<std::string, Policy> known_;  // policy id -> last known version
};

}  // namespace

std::unique_ptr<Decoder> make_ranger_admin_decoder(const DecoderOptions& options) {
  return std::make_unique<RangerAdminDecoder>(options);
}

int sniff_ranger_admin(const std::vector<std::string_view>& first_lines) {
  return sniff_lines(first_lines, [](std::string_view l) {
    return json_line_has(l, {"\"objectClassType\"", "\"changeInfo\""}) ||
           json_line_has(l, {"\"policyItems\"", "\"resources\"", "\"service\""});
  });
}

DecoderInfo ranger_admin_decoder_info() {
  return DecoderInfo{
      std::string(kRangerAdminFormat),
      "Apache Ranger Admin policy transaction log (VXTrxLogV2) and RangerPolicy exports",
      sniff_ranger_admin,
      make_ranger_admin_decoder,
  };
}

}  // namespace sevwatch::detectors
