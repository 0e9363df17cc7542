#include "detectors/hive_hs2_decoder.h"

#include <string>
#include <utility>

#include "detectors/grant_statement_parser.h"
#include "detectors/hive_hms_decoder.h"
#include "detectors/log4j_record.h"
#include "detectors/sql_lexer.h"

namespace sevwatch::detectors {
namespace {

constexpr std::string_view kExecuting = "Executing command(queryId=";

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

std::string_view first_line(std::string_view s) {
  return s.substr(0, s.find('\n'));
}

bool is_denial(std::string_view message) {
  const std::string_view head = first_line(message);
  return starts_with(head, "FAILED: ") && head.find("Permission denied") != std::string_view::npos;
}

Action privilege_action(std::string_view p) {
  if (iequals(p, "SELECT") || iequals(p, "READ")) return Action::read;
  if (iequals(p, "INSERT") || iequals(p, "UPDATE") || iequals(p, "DELETE") || iequals(p, "WRITE") ||
      iequals(p, "TRUNCATE")) {
    return Action::write;
  }
  if (iequals(p, "CREATE")) return Action::create;
  if (iequals(p, "DROP")) return Action::drop;
  if (iequals(p, "ALTER")) return Action::alter;
  return Action::other;
}

Action statement_action(std::string_view verb) {
  if (iequals(verb, "SELECT") || iequals(verb, "WITH")) return Action::read;
  if (iequals(verb, "INSERT") || iequals(verb, "UPDATE") || iequals(verb, "DELETE") ||
      iequals(verb, "MERGE") || iequals(verb, "TRUNCATE") || iequals(verb, "LOAD")) {
    return Action::write;
  }
  if (iequals(verb, "CREATE")) return Action::create;
  if (iequals(verb, "DROP")) return Action::drop;
  if (iequals(verb, "ALTER") || iequals(verb, "MSCK")) return Action::alter;
  if (iequals(verb, "GRANT")) return Action::grant;
  if (iequals(verb, "REVOKE")) return Action::revoke;
  if (iequals(verb, "EXPORT")) return Action::export_data;
  if (iequals(verb, "SHOW") || iequals(verb, "DESCRIBE") || iequals(verb, "DESC") ||
      iequals(verb, "USE") || iequals(verb, "EXPLAIN")) {
    return Action::metadata;
  }
  return Action::other;
}

class HiveHs2Decoder final : public Decoder {
 public:
  explicit HiveHs2Decoder(const DecoderOptions& o)
      : opts_(o),
        catalog_(o.catalog.empty() ? std::string(kDefaultHiveCatalog) : o.catalog),
        asm_(
            o.max_line_bytes,
            [](std::string_view m) { return starts_with(m, kExecuting) || is_denial(m); },
            [this](const Log4jLine& l, std::string_view m, const SourcePos& p, EventSink& s) {
              record(l, m, p, s);
            }) {}

  std::string_view name() const override { return kHiveHs2Format; }
  void decode_line(std::string_view line, const SourcePos& pos, EventSink& sink) override {
    asm_.line(line, pos, sink);
  }
  void finish(EventSink& sink) override { asm_.finish(sink); }
  const SourcePos* pending_from() const override { return asm_.pending_from(); }

 private:
  AccessEvent base(const Log4jLine& l, const SourcePos& pos) const {
    AccessEvent ev;
    ev.time_ms = l.wall_ms - static_cast<std::int64_t>(opts_.assumed_utc_offset_minutes) * 60000;
    ev.time_zone_assumed = true;
    ev.format.assign(kHiveHs2Format);
    ev.pos = pos;
    return ev;
  }

  void record(const Log4jLine& l, std::string_view message, const SourcePos& pos, EventSink& sink) {
    if (is_denial(message)) return denial(l, first_line(message), pos, sink);
    std::string_view rest = message.substr(kExecuting.size());
    const auto close = rest.find("): ");
    if (close == std::string_view::npos) {
      sink.on_weird(Weird{weird::kUnknownShape, pos, "Executing command without '): <SQL>'"});
      return;
    }
    AccessEvent ev = base(l, pos);
    ev.event_uid.assign(rest.substr(0, close));
    ev.principal.assign(hive_query_id_user(ev.event_uid));
    std::string_view sql = rest.substr(close + 3);
    ev.query.assign(sql);
    ev.result = Result::allowed;  // HS2 authorizes at compile time, before executing
    LexResult lex = lex_sql(sql);
    std::string verb;
    for (const Token& t : lex.tokens) {
      if (t.is_word()) {
        verb = to_upper(t.text);
        break;
      }
    }
    ev.operation = verb;
    ev.action = statement_action(verb);
    if (ev.action == Action::grant || ev.action == Action::revoke) {
      return grant(std::move(ev), sink);
    }
    sink.on_event(std::move(ev));
  }

  void grant(AccessEvent ev, EventSink& sink) {
    GrantParseResult parsed = parse_grant_statement(ev.query);
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
      if (grantee.kind == GranteeKind::unknown) grantee.kind = GranteeKind::user;  // Hive default
    }
    for (std::size_t i = 0; i < g.targets.size(); ++i) {
      const GrantTarget& t = g.targets[i];
      AccessEvent one = i + 1 < g.targets.size() ? ev : std::move(ev);
      ObjectLevel level = t.level;
      if (t.type == "DATABASE" || t.type == "SCHEMA") level = ObjectLevel::schema;  // Hive
      one.grant.target_type = t.type;
      one.grant.target.level = level;
      one.grant.target.name = qualify_name(catalog_, "default", t.name_parts, level);
      one.grant.target.columns = g.columns;
      one.object = one.grant.target;
      sink.on_event(std::move(one));
    }
  }

  // SQL-standard: "Permission denied: Principal [name=U, type=USER] does not
  // have following privileges for operation QUERY [[SELECT] on Object
  // [type=TABLE_OR_VIEW, name=db.t], ...]". Ranger: "Permission denied: user
  // [U] does not have [SELECT] privilege on [db/t/c1,c2]".
  void denial(const Log4jLine& l, std::string_view m, const SourcePos& pos, EventSink& sink) {
    AccessEvent proto = base(l, pos);
    proto.result = Result::denied;
    if (auto at = m.find("Principal [name="); at != std::string_view::npos) {
      std::string_view rest = m.substr(at + 16);
      proto.principal.assign(rest.substr(0, rest.find_first_of(",]")));
      bool any = false;
      std::size_t from = 0;
      for (;;) {
        const auto on = m.find("] on Object [", from);
        if (on == std::string_view::npos) break;
        const auto open = m.rfind('[', on);
        std::string_view priv = m.substr(open + 1, on - open - 1);
        std::string_view obj = m.substr(on + 13);
        obj = obj.substr(0, obj.find(']'));
        from = on + 13;
        std::string_view type, name;
        for (std::string_view part : split_fields(obj)) {
          if (starts_with(part, "type=")) type = part.substr(5);
          if (starts_with(part, "name=")) name = part.substr(5);
        }
        AccessEvent ev = proto;
        ev.operation.assign(priv);
        ev.action = privilege_action(priv);
        if (type == "DATABASE") {
          ev.object.name = catalog_ + "." + std::string(name);
          ev.object.level = ObjectLevel::schema;
        } else if (type == "TABLE_OR_VIEW" || type.empty()) {
          ev.object.name = qualify_table(name);
          ev.object.level = ObjectLevel::table;
        } else {
          ev.object.name.assign(name);
        }
        sink.on_event(std::move(ev));
        any = true;
      }
      if (!any) sink.on_weird(Weird{weird::kUnknownShape, pos, "denial without an object"});
      return;
    }
    if (auto at = m.find("user ["); at != std::string_view::npos) {
      std::string_view rest = m.substr(at + 6);
      proto.principal.assign(rest.substr(0, rest.find(']')));
      const auto have = m.find("does not have [", at);
      const auto on = m.find("] privilege on [", at);
      if (have != std::string_view::npos && on != std::string_view::npos && on > have) {
        std::string_view priv = m.substr(have + 15, on - have - 15);
        std::string_view res = m.substr(on + 16);
        res = res.substr(0, res.find(']'));
        proto.operation = to_upper(priv);
        proto.action = privilege_action(priv);
        const auto parts = split(res, '/');
        if (!parts.empty() && !parts[0].empty() && parts[0] != "*") {
          proto.object.name = catalog_ + "." + std::string(parts[0]);
          proto.object.level = ObjectLevel::schema;
          if (parts.size() > 1 && !parts[1].empty() && parts[1] != "*") {
            proto.object.name += "." + std::string(parts[1]);
            proto.object.level = ObjectLevel::table;
            if (parts.size() > 2 && parts[2] != "*") proto.object.columns.assign(parts[2]);
          }
        }
        sink.on_event(std::move(proto));
        return;
      }
    }
    sink.on_weird(Weird{weird::kUnknownShape, pos, "unrecognized Permission denied message"});
  }

  static std::vector<std::string_view> split_fields(std::string_view s) {
    std::vector<std::string_view> out;
    for (std::string_view p : split(s, ',')) {
      while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
      out.push_back(p);
    }
    return out;
  }

  static std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
      const auto p = s.find(sep);
      out.push_back(s.substr(0, p));
      if (p == std::string_view::npos) break;
      s.remove_prefix(p + 1);
    }
    return out;
  }

  std::string qualify_table(std::string_view name) const {
    if (name.find('.') == std::string_view::npos) return catalog_ + ".default." + std::string(name);
    return catalog_ + "." + std::string(name);
  }

  DecoderOptions opts_;
  std::string catalog_;
  Log4jAssembler asm_;
};

}  // namespace

std::string_view hive_query_id_user(std::string_view qid) {
  // The last "_<14 digits>_" run: user names may hold '_' but not that.
  for (std::size_t i = qid.size(); i-- > 0;) {
    if (qid[i] != '_' || i + 15 >= qid.size() || qid[i + 15] != '_') continue;
    bool digits = true;
    for (std::size_t k = i + 1; k < i + 15; ++k) digits = digits && qid[k] >= '0' && qid[k] <= '9';
    if (digits) return qid.substr(0, i);
  }
  return {};
}

std::unique_ptr<Decoder> make_hive_hs2_decoder(const DecoderOptions& options) {
  return std::make_unique<HiveHs2Decoder>(options);
}

int sniff_hive_hs2(const std::vector<std::string_view>& first_lines) {
  std::size_t prefixed = 0;
  std::size_t hits = 0;
  std::size_t total = 0;
  for (std::string_view l : first_lines) {
    if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    ++total;
    Log4jLine p;
    if (!parse_log4j_line(l, p)) continue;
    ++prefixed;
    if (p.message.find("command(queryId=") != std::string_view::npos || is_denial(p.message)) {
      ++hits;
    }
  }
  if (hits == 0) return 0;
  return static_cast<int>(30 + 30 * prefixed / total + 30 * hits / total);
}

DecoderInfo hive_hs2_decoder_info() {
  return DecoderInfo{
      std::string(kHiveHs2Format),
      "HiveServer2 log (Executing command / Permission denied lines)",
      sniff_hive_hs2,
      make_hive_hs2_decoder,
  };
}

}  // namespace sevwatch::detectors
