// Exceptions and in-file tests of a rule. See rule_reader.h.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "detectors/event_time.h"
#include "rules/rule_reader.h"

namespace sevwatch::rules::detail {
namespace {

// "2026-12-31" -> the end of that day (UTC), in ms; nullopt when malformed.
std::optional<std::int64_t> end_of_day_ms(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int y = 0, m = 0, d = 0;
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    const auto r = std::from_chars(s.data() + pos, s.data() + pos + len, out);
    return r.ec == std::errc() && r.ptr == s.data() + pos + len;
  };
  if (!num(0, 4, y) || !num(5, 2, m) || !num(8, 2, d)) return std::nullopt;
  if (m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  return detectors::to_epoch_ms(y, m, d, 0, 0, 0, 0) + 86'400'000;
}

constexpr std::string_view kEventKeys[] = {
    "at",      "repeat",      "every",     "action",    "result",   "principal",
    "groups",  "object",      "operation", "client_ip", "query",    "format",
    "session", "policy",      "columns",   "grantee",   "grantees", "privileges",
    "target",  "target_type", "event_uid", "raw"};

// A JSON number as the JSON grammar has it (YAML plain scalars that are one
// stay numbers in a test event's `raw`).
bool json_number(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    const auto from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

void json_quote(std::string_view s, std::string& out) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  out += '"';
}

// A test event's `raw` written as YAML, as JSON text: plain scalars that read
// as numbers, true, false or null stay so; everything else is a string.
void yaml_to_json(const YAML::Node& n, std::string& out) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : n) {
        if (!first) out += ',';
        first = false;
        json_quote(kv.first.Scalar(), out);
        out += ':';
        yaml_to_json(kv.second, out);
      }
      out += '}';
      return;
    }
    case YAML::NodeType::Sequence: {
      out += '[';
      for (std::size_t i = 0; i < n.size(); ++i) {
        if (i > 0) out += ',';
        yaml_to_json(n[i], out);
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Scalar: {
      const std::string& v = n.Scalar();
      const bool plain = n.Tag() != "!";
      if (plain && (v == "true" || v == "false" || v == "null" || json_number(v))) {
        out += v;
      } else {
        json_quote(v, out);
      }
      return;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out += "null";
      return;
  }
}

}  // namespace

void RuleReader::read_exceptions(const YAML::Node& n, std::vector<RuleException>& out) {
  if (!n.IsSequence()) {
    diags_.error("E_TYPE", loc(n), "'exceptions' must be a list");
    return;
  }
  for (const auto& item : n) {
    RuleException ex;
    ex.loc = loc(item);
    if (!item.IsMap()) {
      diags_.error("E_TYPE", ex.loc,
                   "an exception is a mapping (name, owner, reason, expires, "
                   "fields, values)");
      continue;
    }
    const std::size_t before = error_count();
    YAML::Node values;
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      const auto& v = kv.second;
      if (key == "name") {
        scalar(v, "name", ex.name);
      } else if (key == "owner") {
        scalar(v, "owner", ex.owner);
      } else if (key == "reason") {
        scalar(v, "reason", ex.reason);
      } else if (key == "ticket") {
        scalar(v, "ticket", ex.ticket);
      } else if (key == "expires") {
        if (!scalar(v, "expires", ex.expires)) continue;
        const auto ms = end_of_day_ms(ex.expires);
        if (!ms) {
          diags_.error("E_BAD_DATE", loc(v),
                       fmt::format("expires '{}' must be a date YYYY-MM-DD", ex.expires));
          continue;
        }
        ex.expires_ms = *ms;
      } else if (key == "fields") {
        string_list(v, "fields", ex.fields);
      } else if (key == "comps") {
        string_list(v, "comps", ex.comps);
      } else if (key == "values") {
        values = v;
      } else {
        unknown_key(kv.first, "exception");
      }
    }
    for (const char* required : {"name", "owner", "reason", "expires", "fields", "values"}) {
      if (!item[required]) {
        diags_.error("E_MISSING_KEY", ex.loc,
                     fmt::format("exception '{}' needs '{}:' (every exception has a name, an "
                                 "owner, a reason and an expiry date)",
                                 ex.name, required));
      }
    }
    if (!ex.comps.empty() && ex.comps.size() != ex.fields.size()) {
      diags_.error("E_BAD_EXCEPTION", ex.loc, "'comps' needs one operator per field");
    }
    if (values && !values.IsSequence()) {
      diags_.error("E_TYPE", loc(values), "'values' must be a list");
    } else if (values) {
      for (const auto& tuple : values) {
        std::vector<ast::Value> row;
        if (ex.fields.size() == 1 && tuple.IsScalar()) {
          row.push_back(ast::Value{tuple.Scalar(), loc(tuple), true});
        } else if (tuple.IsSequence() && tuple.size() == ex.fields.size()) {
          for (const auto& v : tuple) {
            std::string s;
            if (scalar(v, "values", s)) row.push_back(ast::Value{s, loc(v), true});
          }
        } else {
          diags_.error("E_BAD_EXCEPTION", loc(tuple),
                       fmt::format("each value must be a list of {} item(s), one per field",
                                   ex.fields.size()));
          continue;
        }
        ex.values.push_back(std::move(row));
      }
    }
    if (error_count() == before) out.push_back(std::move(ex));
  }
}

bool RuleReader::read_test_event(const YAML::Node& n, TestEvent& ev) {
  ev.loc = loc(n);
  if (!n.IsMap()) {
    diags_.error("E_TYPE", ev.loc, "a test event is a mapping of event fields");
    return false;
  }
  bool ok = true;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const auto& v = kv.second;
    if (std::find(std::begin(kEventKeys), std::end(kEventKeys), key) == std::end(kEventKeys)) {
      unknown_key(kv.first, "test event");
      ok = false;
      continue;
    }
    if (key == "at") {
      std::string s;
      if (!scalar(v, "at", s)) continue;
      if (!s.empty() && s[0] == '+') s.erase(0, 1);
      const auto ms = s == "0" ? std::optional<std::int64_t>(0) : parse_duration_ms(s);
      if (!ms) {
        diags_.error("E_BAD_DURATION", loc(v), fmt::format("bad offset '{}' (e.g. +5m)", s));
        ok = false;
        continue;
      }
      ev.at_ms = *ms;
    } else if (key == "every") {
      ok = duration(v, "every", ev.every_ms) && ok;
    } else if (key == "repeat") {
      long long r = 0;
      if (integer(v, "repeat", r) && r >= 1 && r <= 1'000'000) ev.repeat = static_cast<int>(r);
    } else if (key == "raw") {
      // The source record: JSON text, or YAML written as the JSON it stands for.
      std::string json;
      if (v.IsScalar()) {
        json = v.Scalar();
      } else {
        yaml_to_json(v, json);
      }
      ev.fields.emplace_back(key, std::vector<std::string>{std::move(json)});
    } else {
      std::vector<std::string> vals;
      if (string_list(v, key.c_str(), vals)) ev.fields.emplace_back(key, std::move(vals));
    }
  }
  return ok;
}

bool RuleReader::read_expect(const YAML::Node& n, TestExpect& ex) {
  if (n.IsScalar() && n.Scalar() == "none") {
    ex.none = true;
    return true;
  }
  if (!n.IsMap()) {
    diags_.error("E_TYPE", loc(n), "'expect' is 'none' or a mapping");
    return false;
  }
  bool ok = true;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const auto& v = kv.second;
    long long x = 0;
    if (key == "findings") {
      if (integer(v, "findings", x)) ex.findings = static_cast<std::size_t>(x);
    } else if (key == "rule") {
      scalar(v, "rule", ex.rule);
    } else if (key == "objects") {
      if (integer(v, "objects", x)) ex.objects = static_cast<std::uint64_t>(x);
    } else if (key == "sev_hint") {
      if (integer(v, "sev_hint", x)) ex.sev_hint = static_cast<int>(x);
    } else if (key == "evidence") {
      std::string s;
      if (!scalar(v, "evidence", s)) continue;
      ex.evidence = parse_evidence(s);
      if (!ex.evidence) {
        diags_.error("E_BAD_VALUE", loc(v),
                     fmt::format("evidence '{}' (none, improper, external, exfiltration)", s));
        ok = false;
      }
    } else {
      unknown_key(kv.first, "expect");
      ok = false;
    }
  }
  return ok;
}

void RuleReader::read_tests(const YAML::Node& n, std::vector<RuleTest>& out) {
  if (!n.IsSequence()) {
    diags_.error("E_TYPE", loc(n), "'tests' must be a list");
    return;
  }
  for (const auto& item : n) {
    RuleTest t;
    t.loc = loc(item);
    if (!item.IsMap()) {
      diags_.error("E_TYPE", t.loc, "a test is a mapping (name, events, expect)");
      continue;
    }
    bool ok = true;
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      const auto& v = kv.second;
      if (key == "name") {
        scalar(v, "name", t.name);
      } else if (key == "context") {
        if (v.IsScalar()) {
          t.context_ref = v.Scalar();
        } else if (v.IsMap()) {
          YAML::Emitter em;
          em << v;
          t.context_yaml = em.c_str();
        } else {
          diags_.error("E_TYPE", loc(v), "'context' is a test_context name or a mapping");
          ok = false;
        }
      } else if (key == "events") {
        if (!v.IsSequence()) {
          diags_.error("E_TYPE", loc(v), "'events' must be a list");
          ok = false;
          continue;
        }
        for (const auto& e : v) {
          TestEvent ev;
          if (read_test_event(e, ev)) {
            t.events.push_back(std::move(ev));
          } else {
            ok = false;
          }
        }
      } else if (key == "expect") {
        ok = read_expect(v, t.expect) && ok;
      } else {
        unknown_key(kv.first, "test");
      }
    }
    if (!item["expect"]) {
      diags_.error("E_MISSING_KEY", t.loc, "a test needs 'expect:'");
      ok = false;
    }
    if (t.name.empty()) t.name = fmt::format("test at line {}", t.loc.line);
    if (ok) out.push_back(std::move(t));
  }
}

}  // namespace sevwatch::rules::detail
