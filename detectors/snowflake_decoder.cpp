#include "detectors/snowflake_decoder.h"

#include <algorithm>
#include <string>
#include <utility>

#include "detectors/grant_statement_parser.h"
#include "detectors/json_record.h"
#include "detectors/sql_lexer.h"

namespace sevwatch::detectors {
namespace {

// The row keys the decoder reads.
enum Key : unsigned {
  kDirectObjectsAccessed,
  kBaseObjectsAccessed,
  kObjectsModified,
  kGranteeName,
  kPrivilege,
  kQueryText,
  kQueryStartTime,
  kUserName,
  kQueryId,
  kDeletedOn,
  kCreatedOn,
  kGrantedBy,
  kGrantedOn,
  kName,
  kTableCatalog,
  kTableSchema,
  kGrantOption,
  kGrantedTo,
  kStartTime,
  kRoleName,
  kSessionId,
  kExecutionStatus,
  kQueryType,
  kDatabaseName,
  kSchemaName,
  kErrorMessage,
  kKeys
};
constexpr std::string_view kKeyNames[kKeys] = {"DIRECT_OBJECTS_ACCESSED",
                                               "BASE_OBJECTS_ACCESSED",
                                               "OBJECTS_MODIFIED",
                                               "GRANTEE_NAME",
                                               "PRIVILEGE",
                                               "QUERY_TEXT",
                                               "QUERY_START_TIME",
                                               "USER_NAME",
                                               "QUERY_ID",
                                               "DELETED_ON",
                                               "CREATED_ON",
                                               "GRANTED_BY",
                                               "GRANTED_ON",
                                               "NAME",
                                               "TABLE_CATALOG",
                                               "TABLE_SCHEMA",
                                               "GRANT_OPTION",
                                               "GRANTED_TO",
                                               "START_TIME",
                                               "ROLE_NAME",
                                               "SESSION_ID",
                                               "EXECUTION_STATUS",
                                               "QUERY_TYPE",
                                               "DATABASE_NAME",
                                               "SCHEMA_NAME",
                                               "ERROR_MESSAGE"};

// `key` (any case) equals `upper` (upper case, ASCII): what iequals (toupper
// in the "C" locale the process keeps) says, without a libc call per byte.
bool key_is(std::string_view key, std::string_view upper) {
  if (key.size() != upper.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    if ((c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c) != upper[i]) return false;
  }
  return true;
}

// Case-insensitive field access on a row (exports differ in key case): the
// first field matching each key, found in one pass (as json_field_ci would).
struct Row {
  explicit Row(dom::object obj) {
    for (const auto field : obj) {
      const std::string_view k = field.key;
      for (unsigned i = 0; i < kKeys; ++i) {
        if ((found & (1U << i)) == 0 && key_is(k, kKeyNames[i])) {
          values[i] = field.value;
          found |= 1U << i;
          break;
        }
      }
    }
  }
  simdjson::simdjson_result<dom::element> get(Key key) const {
    if ((found & (1U << key)) == 0) return simdjson::NO_SUCH_FIELD;
    return simdjson::simdjson_result<dom::element>(dom::element(values[key]));
  }
  bool has(Key key) const {
    dom::element v;
    return !get(key).get(v) && !v.is_null();
  }
  std::string text(Key key) const {
    dom::element v;
    if (get(key).get(v)) return {};
    return json_text(v);
  }

  dom::element values[kKeys];
  std::uint32_t found = 0;
};
static_assert(kKeys <= 32);

// An ASCII-upper-case copy of `s` in `out` (to_upper in the "C" locale).
std::string_view upper_into(std::string_view s, std::string& out) {
  out.assign(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// iequals for ASCII keywords (the "C" locale's toupper), without libc calls.
bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if ((x >= 'a' && x <= 'z' ? x - 32 : x) != (y >= 'a' && y <= 'z' ? y - 32 : y)) return false;
  }
  return true;
}

ObjectLevel domain_level(std::string_view domain) {
  if (ieq(domain, "Table") || ieq(domain, "View") || ieq(domain, "Materialized view") ||
      ieq(domain, "External table") || ieq(domain, "Dynamic table") ||
      ieq(domain, "Iceberg table") || ieq(domain, "Secure view")) {
    return ObjectLevel::table;
  }
  if (ieq(domain, "Schema")) return ObjectLevel::schema;
  if (ieq(domain, "Database")) return ObjectLevel::catalog;
  return ObjectLevel::none;
}

Action query_type_action(std::string_view t) {
  auto is = [&](std::string_view x) { return ieq(t, x); };
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
    if (!row.get(kDirectObjectsAccessed).get(ignored) ||
        !row.get(kBaseObjectsAccessed).get(ignored)) {
      return access_history(row, pos, sink);
    }
    if (!row.get(kGranteeName).get(ignored) && !row.get(kPrivilege).get(ignored)) {
      return grants_to_roles(row, pos, sink);
    }
    if (!row.get(kQueryText).get(ignored)) return query_history(row, pos, sink);
    reject(sink, weird::kUnknownShape, pos,
           "not an ACCESS_HISTORY, GRANTS_TO_ROLES or QUERY_HISTORY row");
  }

  // The row's event, reused from row to row (strings keep their capacity
  // unless the sink moves them away).
  AccessEvent& fresh_event() {
    reset_event(ev_);
    return ev_;
  }

  // json_text of the key's value into `out` ("" when absent).
  static void text_into(const Row& row, Key key, std::string& out) {
    dom::element v;
    if (row.get(key).get(v)) {
      out.clear();
    } else {
      json_text_into(v, out);
    }
  }

  void access_history(const Row& row, const SourcePos& pos, EventSink& sink) {
    AccessEvent& ev = fresh_event();
    if (!start_event(ev, row.get(kQueryStartTime), "QUERY_START_TIME", pos, sink)) return;
    text_into(row, kUserName, ev.principal);
    text_into(row, kQueryId, ev.event_uid);
    ev.result = Result::allowed;  // ACCESS_HISTORY has successful statements only
    ev.operation = "ACCESS_HISTORY";
    std::size_t seen = 0;  // the first `seen` of seen_: (action, object) already emitted
    auto objects = [&](Key key, Action action) {
      dom::element arr;
      if (row.get(key).get(arr) || !arr.is_array()) return;
      for (dom::element o : dom::array(arr.get_array().value_unsafe())) {
        dom::element name;
        std::string_view object;
        if (!json_at(o, "objectName").get(name)) object = json_text_view(name, text_);
        if (object.empty()) continue;
        bool dup = false;
        for (std::size_t i = 0; i < seen && !dup; ++i) {
          dup = seen_[i].first == action && seen_[i].second == object;
        }
        if (dup) continue;
        if (seen == seen_.size()) seen_.emplace_back();
        seen_[seen].first = action;
        seen_[seen].second.assign(object);
        ++seen;
        AccessEvent& one = one_;
        one = ev;
        one.action = action;
        one.object.name.assign(object);
        one.object.level = domain_level(json_str(o, "objectDomain"));
        one.object.columns.clear();
        dom::array columns;
        if (!json_at(o, "columns").get_array().get(columns)) {
          for (dom::element c : columns) {
            dom::element col;
            const std::string_view name_text =
                json_at(c, "columnName").get(col) ? std::string_view{} : json_text_view(col, text_);
            // join(): a comma before every part once the text is not empty.
            if (!one.object.columns.empty()) one.object.columns.push_back(',');
            one.object.columns.append(name_text);
          }
        }
        sink.on_event(std::move(one));
      }
    };
    objects(kDirectObjectsAccessed, Action::read);
    objects(kBaseObjectsAccessed, Action::read);
    objects(kObjectsModified, Action::write);
  }

  void grants_to_roles(const Row& row, const SourcePos& pos, EventSink& sink) {
    AccessEvent& ev = fresh_event();
    const bool deleted = row.has(kDeletedOn);
    const char* when = deleted ? "DELETED_ON" : "CREATED_ON";
    if (!start_event(ev, row.get(deleted ? kDeletedOn : kCreatedOn), when, pos, sink)) return;
    ev.action = deleted ? Action::revoke : Action::grant;
    ev.operation = "GRANTS_TO_ROLES";
    text_into(row, kGrantedBy, ev.principal);
    ev.result = Result::allowed;
    text_into(row, kGrantedOn, text_);
    const std::string_view on = upper_into(text_, upper_);
    text_into(row, kName, name_);
    text_into(row, kTableCatalog, db_);
    text_into(row, kTableSchema, schema_);
    const std::string& name = name_;
    const std::string& db = db_;
    const std::string& schema = schema_;
    ObjectRef& t = ev.grant.target;
    t.columns.clear();
    if (on == "DATABASE") {
      t.name.assign(name);
      t.level = ObjectLevel::catalog;
    } else if (on == "SCHEMA") {
      if (db.empty()) {
        t.name.assign(name);
      } else {
        t.name.assign(db).append(".").append(name);
      }
      t.level = ObjectLevel::schema;
    } else if (!db.empty() && !schema.empty()) {
      t.level = domain_level(on) == ObjectLevel::table || on.find("TABLE") != std::string::npos
                    ? ObjectLevel::table
                    : ObjectLevel::none;
      t.name.assign(db).append(".").append(schema).append(".").append(name);
    } else {
      t.name.assign(name);  // warehouse, role, integration, ...
      t.level = ObjectLevel::none;
    }
    ev.grant.target_type.assign(on);
    text_into(row, kPrivilege, text_);
    ev.grant.privileges.emplace_back(upper_into(text_, upper_));
    text_into(row, kGrantOption, text_);
    ev.grant.with_grant_option = text_ == "true";
    text_into(row, kGrantedTo, text_);
    const std::string_view to = upper_into(text_, upper_);
    const GranteeKind kind = to == "USER"                           ? GranteeKind::user
                             : to == "SHARE" || to == "APPLICATION" ? GranteeKind::group
                                                                    : GranteeKind::role;
    text_into(row, kGranteeName, text_);
    ev.grant.grantees.push_back(Grantee{kind, text_});
    ev.object = t;
    sink.on_event(std::move(ev));
  }

  void query_history(const Row& row, const SourcePos& pos, EventSink& sink) {
    AccessEvent& ev = fresh_event();
    if (!start_event(ev, row.get(kStartTime), "START_TIME", pos, sink)) return;
    text_into(row, kUserName, ev.principal);
    text_into(row, kRoleName, text_);
    if (!text_.empty()) ev.principal_groups.push_back(text_);
    text_into(row, kQueryId, ev.event_uid);
    text_into(row, kSessionId, ev.session);
    text_into(row, kQueryText, ev.query);
    text_into(row, kExecutionStatus, text_);
    const std::string_view status = upper_into(text_, upper_);
    ev.result = status == "SUCCESS" ? Result::allowed
                : status.empty()    ? Result::unknown
                                    : Result::denied;
    text_into(row, kQueryType, text_);
    upper_into(text_, ev.operation);
    if (ev.operation.empty() || ev.operation == "UNKNOWN") {
      // Failed early: the statement's first word.
      LexResult lex = lex_sql(ev.query);
      for (const Token& t : lex.tokens) {
        if (t.is_word()) {
          upper_into(t.text, ev.operation);
          break;
        }
      }
    }
    ev.action = query_type_action(ev.operation);
    text_into(row, kDatabaseName, db_);
    text_into(row, kSchemaName, schema_);
    if (ev.action == Action::grant || ev.action == Action::revoke) {
      return grant(ev, db_, schema_, sink);
    }
    if (ev.result == Result::denied) {
      // "Object 'HR.PUBLIC.SALARIES' does not exist or not authorized."
      text_into(row, kErrorMessage, text_);
      const std::string_view msg = text_;
      const auto at = msg.find("Object '");
      if (at != std::string_view::npos) {
        const auto end = msg.find('\'', at + 8);
        if (end != std::string_view::npos) {
          ev.object.name.assign(msg.substr(at + 8, end - at - 8));
          const auto dots = std::count(ev.object.name.begin(), ev.object.name.end(), '.');
          ev.object.level = dots == 2 ? ObjectLevel::table : ObjectLevel::none;
        }
      }
    }
    sink.on_event(std::move(ev));
  }

  void grant(AccessEvent& ev, const std::string& db, const std::string& schema, EventSink& sink) {
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

  AccessEvent ev_;   // the row's event (fresh_event())
  AccessEvent one_;  // access_history(): one per object
  std::vector<std::pair<Action, std::string>> seen_;
  std::string text_, upper_, name_, db_, schema_;
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
