#include "detectors/pgaudit_record.h"

#include <utility>

#include "detectors/csv_record.h"
#include "detectors/grant_statement_parser.h"
#include "detectors/sql_lexer.h"
#include "detectors/time_parse.h"

namespace sevwatch::detectors {
namespace {

constexpr std::string_view kDefaultSchema = "public";

// pgaudit columns after "AUDIT: ".
enum AuditField : std::size_t {
  kAuditType = 0,
  kStatementId,
  kSubstatementId,
  kClass,
  kCommand,
  kObjectType,
  kObjectName,
  kStatement,
  kMinAuditFields,
};

// "sales.orders" or `public."Odd Name"` -> parts.
std::vector<std::string> split_pg_name(std::string_view name) {
  std::vector<std::string> parts;
  if (name.find('"') == std::string_view::npos) {
    for (;;) {
      const auto dot = name.find('.');
      parts.emplace_back(name.substr(0, dot));
      if (dot == std::string_view::npos) break;
      name.remove_prefix(dot + 1);
    }
    return parts;
  }
  for (const Token& t : lex_sql(name).tokens) {
    if (t.kind == TokenKind::word || t.kind == TokenKind::quoted_ident) parts.push_back(t.text);
  }
  return parts;
}

ObjectLevel pg_object_level(std::string_view object_type) {
  if (object_type == "TABLE" || object_type == "VIEW" || object_type == "MATERIALIZED VIEW" ||
      object_type == "FOREIGN TABLE" || object_type == "PARTITIONED TABLE") {
    return ObjectLevel::table;
  }
  if (object_type == "SCHEMA") return ObjectLevel::schema;
  return ObjectLevel::none;
}

AccessEvent base_event(const PgRecordContext& ctx) {
  AccessEvent ev;
  ev.time_ms = ctx.time_ms;
  ev.time_zone_assumed = ctx.time_zone_assumed;
  ev.format.assign(ctx.format);
  ev.pos = ctx.pos;
  ev.principal.assign(ctx.user);
  ev.client_ip.assign(ctx.client_ip);
  ev.session.assign(ctx.session);
  ev.event_uid.assign(ctx.event_uid);
  return ev;
}

// The first word of a statement, upper case ("SELECT").
std::string first_keyword(std::string_view statement) {
  LexResult lex = lex_sql(statement);
  for (const Token& t : lex.tokens) {
    if (t.is_word()) return to_upper(t.text);
    if (!t.is_punct('(')) break;
  }
  return {};
}

}  // namespace

std::size_t parse_pg_timestamp(std::string_view s, std::int64_t& utc_ms, bool& zone_assumed) {
  std::int64_t wall = 0;
  std::size_t n = parse_civil_time(s, wall);
  if (n == 0 || n >= s.size() || s[n] != ' ') return 0;
  ++n;
  std::size_t end = n;
  while (end < s.size() && s[end] != ' ' && s[end] != ',') ++end;
  if (end == n) return 0;
  int offset = 0;
  zone_assumed = !parse_zone(s.substr(n, end - n), offset);
  utc_ms = wall - static_cast<std::int64_t>(offset) * 60000;
  return end;
}

Action pg_command_to_action(std::string_view audit_class, std::string_view command) {
  if (command == "GRANT") return Action::grant;
  if (command == "REVOKE") return Action::revoke;
  if (audit_class == "READ") return Action::read;
  if (audit_class == "WRITE") return Action::write;
  if (audit_class == "DDL" || audit_class == "ROLE") {
    if (command.starts_with("CREATE")) return Action::create;
    if (command.starts_with("DROP")) return Action::drop;
    if (command.starts_with("ALTER")) return Action::alter;
  }
  return Action::other;
}

void PgAuditInterpreter::emit_audit(const PgRecordContext& ctx, std::string_view payload,
                                    EventSink& sink) {
  std::size_t count = 0;
  if (!split_csv_record(payload, fields_, count) || count < kMinAuditFields) {
    sink.on_weird(Weird{
        weird::kUnknownShape, ctx.pos,
        "pgaudit AUDIT payload has " + std::to_string(count) + " fields, expected at least 9"});
    return;
  }
  AccessEvent ev = base_event(ctx);
  if (ev.event_uid.empty()) {
    ev.event_uid.reserve(ctx.pid.size() + fields_[kStatementId].size() +
                         fields_[kSubstatementId].size() + 2);
    ev.event_uid.assign(ctx.pid)
        .append(":")
        .append(fields_[kStatementId])
        .append(":")
        .append(fields_[kSubstatementId]);
  }
  ev.result = Result::allowed;  // pgaudit logs only statements that ran
  ev.operation = fields_[kCommand];
  ev.query = fields_[kStatement];
  const std::string& command = fields_[kCommand];
  if (command == "GRANT" || command == "REVOKE" || command == "ALTER DEFAULT PRIVILEGES") {
    std::string statement = std::move(fields_[kStatement]);
    return emit_grant(ctx, std::move(ev), statement, sink);
  }
  ev.action = pg_command_to_action(fields_[kClass], command);
  const std::string& object_name = fields_[kObjectName];
  if (!object_name.empty()) {
    const ObjectLevel level = pg_object_level(fields_[kObjectType]);
    const std::vector<std::string> parts = split_pg_name(object_name);
    ev.object.level = level;
    ev.object.name = qualify_name(ctx.database, kDefaultSchema, parts,
                                  level == ObjectLevel::none ? ObjectLevel::table : level);
  }
  sink.on_event(std::move(ev));
}

void PgAuditInterpreter::emit_grant(const PgRecordContext& ctx, AccessEvent ev,
                                    std::string_view statement, EventSink& sink) {
  GrantParseResult parsed = parse_grant_statement(statement);
  if (!parsed.ok) {
    sink.on_weird(Weird{weird::kBadGrantStatement, ev.pos, parsed.error});
    return;
  }
  ParsedGrant& g = parsed.grant;
  ev.action = g.is_revoke ? Action::revoke : Action::grant;
  ev.grant.privileges = std::move(g.privileges);
  ev.grant.with_grant_option = g.with_grant_option;
  ev.grant.grantees = std::move(g.grantees);
  for (Grantee& grantee : ev.grant.grantees) {
    if (grantee.kind == GranteeKind::unknown) grantee.kind = GranteeKind::role;  // all PG roles
  }
  for (std::size_t i = 0; i < g.targets.size(); ++i) {
    const GrantTarget& t = g.targets[i];
    AccessEvent one = i + 1 < g.targets.size() ? ev : std::move(ev);
    one.grant.target_type = t.type;
    one.grant.target.level = t.level;
    one.grant.target.columns = g.columns;
    if (t.level == ObjectLevel::none) {
      one.grant.target.name = qualify_name("", "", t.name_parts, ObjectLevel::none);
    } else {
      one.grant.target.name = qualify_name(ctx.database, kDefaultSchema, t.name_parts, t.level);
    }
    one.object = one.grant.target;
    sink.on_event(std::move(one));
  }
}

bool PgAuditInterpreter::parse_permission_denied(std::string_view message, std::string& kind,
                                                 std::string& name) {
  constexpr std::string_view kPrefix = "permission denied for ";
  if (!message.starts_with(kPrefix)) return false;
  message.remove_prefix(kPrefix.size());
  static constexpr std::string_view kKinds[] = {
      "materialized view ", "foreign table ", "relation ", "table ", "view ", "schema "};
  for (std::string_view k : kKinds) {
    if (message.starts_with(k)) {
      kind.assign(k.substr(0, k.size() - 1));
      message.remove_prefix(k.size());
      const std::vector<std::string> parts = split_pg_name(message);
      if (parts.empty() || parts.back().empty()) return false;
      name = parts.back();
      return true;
    }
  }
  return false;
}

void PgAuditInterpreter::emit_denial(const PgRecordContext& ctx, std::string_view kind,
                                     std::string_view name, std::string_view statement,
                                     std::string_view command_tag, EventSink& sink) {
  AccessEvent ev = base_event(ctx);
  ev.result = Result::denied;
  ev.query.assign(statement);
  ev.operation = command_tag.empty() ? first_keyword(statement) : std::string(command_tag);
  const std::string& op = ev.operation;
  ev.action =
      (op == "INSERT" || op == "UPDATE" || op == "DELETE" || op == "MERGE" || op == "TRUNCATE")
          ? Action::write
          : Action::read;
  if (kind == "schema") {
    ev.object.level = ObjectLevel::schema;
    ev.object.name = qualify_name(ctx.database, "", {std::string(name)}, ObjectLevel::schema);
    sink.on_event(std::move(ev));
    return;
  }
  // The error names the relation unqualified; the statement may qualify it.
  std::string schema(kDefaultSchema);
  const LexResult lex = lex_sql(statement);
  const auto& toks = lex.tokens;
  for (std::size_t i = 2; i < toks.size(); ++i) {
    const Token& t = toks[i];
    const bool is_name =
        t.kind == TokenKind::quoted_ident ? t.text == name : t.is_word() && iequals(t.text, name);
    if (is_name && toks[i - 1].is_punct('.') &&
        (toks[i - 2].is_word() || toks[i - 2].kind == TokenKind::quoted_ident)) {
      schema = toks[i - 2].text;
      break;
    }
  }
  ev.object.level = ObjectLevel::table;
  ev.object.name = qualify_name(ctx.database, "", {schema, std::string(name)}, ObjectLevel::table);
  sink.on_event(std::move(ev));
}

}  // namespace sevwatch::detectors
