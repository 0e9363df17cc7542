#include "detectors/snowflake_decoder.h"

#include <set>
#include <string>
#include <utility>

#include "detectors/grant_statement_parser.h"
#include "detectors/json_record.h"
#include "detectors/sql_lexer.h"

namespace sevwatch::detectors {
namespace {

// Case-insensitive field access on a row (exports differ in key case).
struct Row {
  dom::object obj;
  simdjson::simdjson_result<dom::element> get(std::string_view key) const {
    return json_field_ci(obj, key);
  }
  bool has(std::string_view key) const {
    dom::element v;
    return !get(key).get(v) && !v.is_null();
  }
  std::string text(std::string_view key) const {
    dom::element v;
    if (get(key).get(v)) return {};
    return json_text(v);
  }
};

ObjectLevel domain_level(std::string_view domain) {
  if (iequals(domain, "Table") || iequals(domain, "View") || iequals(domain, "Materialized view") ||
      iequals(domain, "External table") || iequals(domain, "Dynamic table") ||
      iequals(domain, "Iceberg table") || iequals(domain, "Secure view")) {
    return ObjectLevel::table;
  }
  if (iequals(domain, "Schema")) return ObjectLevel::schema;
  if (iequals(domain, "Database")) return ObjectLevel::catalog;
  return ObjectLevel::none;
}

Action query_type_action(std::string_view t) {
  auto is = [&](std::string_view x) { return iequals(t, x); };
  if (is("SELECT")) return Action::read;
  if (is("UNLOAD")) return Action::export_data;
  if (is("INSERT") || is("UPDATE") || is("DELETE") || is("MERGE") || is("COPY") ||
      is("TRUNCATE_TABLE") || is("MULTI_TABLE_INSERT")) {
    return Action::write;
  }
  if (t.substr(0, 6) == "CREATE") return Action::create;
  if (t.substr(0, 4) == "DROP") return Action::drop;
  if (t.substr(0, 5) == "ALTER") return Action::alter;
  if (is("GRANT")) return Action::grant;
  if (is("REVOKE")) return Action::revoke;
  if (is("SHOW") || is("DESCRIBE")) return Action::metadata;
  return Action::other;
}

class SnowflakeDecoder final : public JsonRecordDecoder {
 public:
  explicit SnowflakeDecoder(const DecoderOptions& o) : JsonRecordDecoder(o, kSnowflakeFormat) {}

 private:
  void on_record(dom::element rec, const SourcePos& pos, EventSink& sink) override {
    const Row row{rec.get_object().value_unsafe()};
    dom::element ignored;
    if (!row.get("DIRECT_OBJECTS_ACCESSED").get(ignored) ||
        !row.get("BASE_OBJECTS_ACCESSED").get(ignored)) {
      return access_history(row, pos, sink);
    }
    if (!row.get("GRANTEE_NAME").get(ignored) && !row.get("PRIVILEGE").get(ignored)) {
      return grants_to_roles(row, pos, sink);
    }
    if (!row.get("QUERY_TEXT").get(ignored)) return query_history(row, pos, sink);
    reject(sink, weird::kUnknownShape, pos,
           "not an ACCESS_HISTORY, GRANTS_TO_ROLES or QUERY_HISTORY row");
  }

  void access_history(const Row& row, const SourcePos& pos, EventSink& sink) {
    AccessEvent ev;
    if (!start_event(ev, row.get("QUERY_START_TIME"), "QUERY_START_TIME", pos, sink)) return;
    ev.principal = row.text("USER_NAME");
    ev.event_uid = row.text("QUERY_ID");
    ev.result = Result::allowed;  // ACCESS_HISTORY has successful statements only
    ev.operation = "ACCESS_HISTORY";
    std::set<std::string> seen;
    auto objects = [&](std::string_view key, Action action) {
      dom::element arr;
      if (row.get(key).get(arr) || !arr.is_array()) return;
      for (dom::element o : dom::array(arr.get_array().value_unsafe())) {
        AccessEvent one = ev;
        one.action = action;
        one.object.name = json_text(o, "objectName");
        if (one.object.name.empty()) continue;
        if (!seen.insert(std::to_string(static_cast<int>(action)) + one.object.name).second) {
          continue;
        }
        one.object.level = domain_level(json_str(o, "objectDomain"));
        std::vector<std::string> cols;
        dom::array columns;
        if (!json_at(o, "columns").get_array().get(columns)) {
          for (dom::element c : columns) cols.push_back(json_text(c, "columnName"));
        }
        one.object.columns = join(cols, ",");
        sink.on_event(std::move(one));
      }
    };
    objects("DIRECT_OBJECTS_ACCESSED", Action::read);
    objects("BASE_OBJECTS_ACCESSED", Action::read);
    objects("OBJECTS_MODIFIED", Action::write);
  }

  void grants_to_roles(const Row& row, const SourcePos& pos, EventSink& sink) {
    AccessEvent ev;
    const bool deleted = row.has("DELETED_ON");
    const char* when = deleted ? "DELETED_ON" : "CREATED_ON";
    if (!start_event(ev, row.get(when), when, pos, sink)) return;
    ev.action = deleted ? Action::revoke : Action::grant;
    ev.operation = "GRANTS_TO_ROLES";
    ev.principal = row.text("GRANTED_BY");
    ev.result = Result::allowed;
    const std::string on = to_upper(row.text("GRANTED_ON"));
    const std::string name = row.text("NAME");
    const std::string db = row.text("TABLE_CATALOG");
    const std::string schema = row.text("TABLE_SCHEMA");
    ObjectRef& t = ev.grant.target;
    if (on == "DATABASE") {
      t = ObjectRef{name, ObjectLevel::catalog, ""};
    } else if (on == "SCHEMA") {
      t = ObjectRef{db.empty() ? name : db + "." + name, ObjectLevel::schema, ""};
    } else if (!db.empty() && !schema.empty()) {
      const ObjectLevel level =
          domain_level(on) == ObjectLevel::table || on.find("TABLE") != std::string::npos
              ? ObjectLevel::table
              : ObjectLevel::none;
      t = ObjectRef{db + "." + schema + "." + name, level, ""};
    } else {
      t = ObjectRef{name, ObjectLevel::none, ""};  // warehouse, role, integration, ...
    }
    ev.grant.target_type = on;
    ev.grant.privileges.push_back(to_upper(row.text("PRIVILEGE")));
    ev.grant.with_grant_option = row.text("GRANT_OPTION") == "true";
    const std::string to = to_upper(row.text("GRANTED_TO"));
    const GranteeKind kind = to == "USER"                           ? GranteeKind::user
                             : to == "SHARE" || to == "APPLICATION" ? GranteeKind::group
                                                                    : GranteeKind::role;
    ev.grant.grantees.push_back(Grantee{kind, row.text("GRANTEE_NAME")});
    ev.object = t;
    sink.on_event(std::move(ev));
  }

  void query_history(const Row& row, const SourcePos& pos, EventSink& sink) {
    AccessEvent ev;
    if (!start_event(ev, row.get("START_TIME"), "START_TIME", pos, sink)) return;
    ev.principal = row.text("USER_NAME");
    std::string role = row.text("ROLE_NAME");
    if (!role.empty()) ev.principal_groups.push_back(std::move(role));
    ev.event_uid = row.text("QUERY_ID");
    ev.session = row.text("SESSION_ID");
    ev.query = row.text("QUERY_TEXT");
    const std::string status = to_upper(row.text("EXECUTION_STATUS"));
    ev.result = status == "SUCCESS" ? Result::allowed
                : status.empty()    ? Result::unknown
                                    : Result::denied;
    std::string type = to_upper(row.text("QUERY_TYPE"));
    if (type.empty() || type == "UNKNOWN") {  // failed early: the statement's first word
      LexResult lex = lex_sql(ev.query);
      for (const Token& t : lex.tokens) {
        if (t.is_word()) {
          type = to_upper(t.text);
          break;
        }
      }
    }
    ev.operation = type;
    ev.action = query_type_action(type);
    const std::string db = row.text("DATABASE_NAME");
    const std::string schema = row.text("SCHEMA_NAME");
    if (ev.action == Action::grant || ev.action == Action::revoke) {
      return grant(std::move(ev), db, schema, sink);
    }
    if (ev.result == Result::denied) {
      // "Object 'HR.PUBLIC.SALARIES' does not exist or not authorized."
      const std::string msg = row.text("ERROR_MESSAGE");
      const auto at = msg.find("Object '");
      if (at != std::string::npos) {
        const auto end = msg.find('\'', at + 8);
        if (end != std::string::npos) {
          ev.object.name = msg.substr(at + 8, end - at - 8);
          ev.object.level =
              split(ev.object.name, '.').size() == 3 ? ObjectLevel::table : ObjectLevel::none;
        }
      }
    }
    sink.on_event(std::move(ev));
  }

  void grant(AccessEvent ev, const std::string& db, const std::string& schema, EventSink& sink) {
    GrantParseResult parsed = parse_grant_statement(ev.query);
    if (!parsed.ok) {
      return reject(sink, weird::kBadGrantStatement, ev.pos, parsed.error);
    }
    ParsedGrant& g = parsed.grant;
    ev.action = g.is_revoke ? Action::revoke : Action::grant;
    ev.grant.privileges = std::move(g.privileges);
    ev.grant.with_grant_option = g.with_grant_option;
    ev.grant.grantees = std::move(g.grantees);
    for (Grantee& grantee : ev.grant.grantees) {
      if (grantee.kind == GranteeKind::unknown) grantee.kind = GranteeKind::role;
    }
    for (std::size_t i = 0; i < g.targets.size(); ++i) {
      const GrantTarget& t = g.targets[i];
      AccessEvent one = i + 1 < g.targets.size() ? ev : std::move(ev);
      one.grant.target_type = t.type;
      one.grant.target.level = t.level;
      std::vector<std::string> parts = t.name_parts;
      // Fill what the statement leaves out from the session's database/schema.
      const std::size_t want = t.level == ObjectLevel::table    ? 3
                               : t.level == ObjectLevel::schema ? 2
                                                                : parts.size();
      if (parts.size() < want && want == 3 && parts.size() == 1 && !schema.empty()) {
        parts.insert(parts.begin(), schema);
      }
      if (parts.size() < want && !db.empty()) parts.insert(parts.begin(), db);
      one.grant.target.name = join(parts, ".");
      one.grant.target.columns = g.columns;
      one.object = one.grant.target;
      sink.on_event(std::move(one));
    }
  }
};

bool has_ci(std::string_view line, std::string_view key) {
  if (key.size() > line.size()) return false;
  for (std::size_t i = 0; i + key.size() <= line.size(); ++i) {
    if (iequals(line.substr(i, key.size()), key)) return true;
  }
  return false;
}

}  // namespace

std::unique_ptr<Decoder> make_snowflake_decoder(const DecoderOptions& options) {
  return std::make_unique<SnowflakeDecoder>(options);
}

int sniff_snowflake(const std::vector<std::string_view>& first_lines) {
  return sniff_lines(first_lines, [](std::string_view l) {
    if (!json_line_has(l, {})) return false;
    return (has_ci(l, "\"QUERY_ID\"") &&
            (has_ci(l, "\"DIRECT_OBJECTS_ACCESSED\"") || has_ci(l, "\"QUERY_TEXT\""))) ||
           (has_ci(l, "\"GRANTEE_NAME\"") && has_ci(l, "\"GRANTED_ON\""));
  });
}

DecoderInfo snowflake_decoder_info() {
  return DecoderInfo{
      std::string(kSnowflakeFormat),
      "Snowflake ACCOUNT_USAGE rows as JSON lines (ACCESS_HISTORY, GRANTS_TO_ROLES, "
      "QUERY_HISTORY)",
      sniff_snowflake,
      make_snowflake_decoder,
  };
}

}  // namespace sevwatch::detectors
