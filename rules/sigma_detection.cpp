#include "rules/sigma_detection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "rules/condition_fields.h"
#include "rules/sigma_condition.h"

namespace sevwatch::rules::sigma {
namespace {

using ast::Expr;
using ast::ExprPtr;
using ast::Op;

constexpr std::size_t kMaxWindashFlags = 4;  // 5^4 = 625 variants of one value

enum class Match { exact, contains, startswith, endswith };
enum class Encoding { none, base64, base64offset };

struct Mods {
  Match match = Match::exact;
  bool match_set = false;
  bool all = false;
  bool cased = false;
  bool re = false;
  std::string re_flags;  // i, m, s
  bool cidr = false;
  bool exists = false;
  bool neq = false;
  bool windash = false;
  Encoding encoding = Encoding::none;
  std::optional<Op> order;
};

// One string a value stands for, after the modifiers' transformations:
// literal text, or (wild) a glob with Sigma's wildcards.
struct Pattern {
  std::string text;
  bool wild = false;
};

// One Sigma value: absent (null or empty), or its alternatives (OR).
struct Alt {
  bool absent = false;
  std::vector<Pattern> patterns;
  SourceLoc loc;
};

std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Sigma's string syntax: `*` and `?` are wildcards, `\*` `\?` `\\` escape
// them; any other backslash is itself.
Pattern parse_sigma_string(std::string_view s) {
  std::string glob;
  std::string literal;
  bool wild = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
      literal += s[++i];
      glob += '\\';
      glob += s[i];
    } else if (c == '*' || c == '?') {
      wild = true;
      glob += c;
    } else {
      literal += c;
      glob += glob_escape(std::string_view(&c, 1));
    }
  }
  return wild ? Pattern{glob, true} : Pattern{literal, false};
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// The three encodings of `s` at byte offsets 0, 1 and 2 of a base64 stream,
// without the characters that depend on the neighbours (as pySigma does).
std::vector<std::string> base64_offsets(std::string_view s) {
  static constexpr int kStart[] = {0, 2, 3};
  static constexpr int kEndTrim[] = {0, 3, 2};  // characters dropped at the end
  std::vector<std::string> out;
  for (int i = 0; i < 3; ++i) {
    const std::string enc = base64(std::string(static_cast<std::size_t>(i), ' ') + std::string(s));
    const int trim = kEndTrim[(s.size() + static_cast<std::size_t>(i)) % 3];
    const int len = static_cast<int>(enc.size()) - kStart[i] - trim;
    if (len > 0)
      out.push_back(enc.substr(static_cast<std::size_t>(kStart[i]), static_cast<std::size_t>(len)));
  }
  return out;
}

bool word(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Every spelling of the value's command-line flags (`-x` or `/x` at a word
// start) with -, /, en dash, em dash and horizontal bar.
std::vector<std::string> windash_variants(const std::string& s, std::size_t& flags) {
  static const std::string kDashes[] = {"-", "/", "\u2013", "\u2014", "\u2015"};
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == '-' || s[i] == '/') && (i == 0 || !word(s[i - 1])) && i + 1 < s.size() &&
        word(s[i + 1])) {
      at.push_back(i);
    }
  }
  flags = at.size();
  std::vector<std::string> out{""};
  if (at.size() > kMaxWindashFlags) return {s};
  std::size_t prev = 0;
  for (const auto pos : at) {
    std::vector<std::string> next;
    for (const auto& o : out) {
      for (const auto& d : kDashes) next.push_back(o + s.substr(prev, pos - prev) + d);
    }
    out = std::move(next);
    prev = pos + 1;
  }
  for (auto& o : out) o += s.substr(prev);
  return out;
}

ExprPtr make_check(const std::string& field, Op op, std::vector<ast::Value> values,
                   const SourceLoc& loc) {
  auto c = std::make_unique<Expr>();
  c->kind = Expr::Kind::check;
  c->loc = loc;
  c->field = field;
  if (op == Op::eq && values.size() > 1) op = Op::in;
  c->op = op;
  c->list_syntax = op == Op::in || values.size() > 1;
  c->values = std::move(values);
  return c;
}

ExprPtr absent(const std::string& field, const SourceLoc& loc) {
  return negate(make_check(field, Op::exists, {}, loc));
}

class Translator {
 public:
  Translator(const Source& src, const SigmaLogsourceMap& ls, Diagnostics& diags)
      : src_(src), ls_(ls), diags_(diags) {}

  ExprPtr selection(const YAML::Node& name, const YAML::Node& n) {
    if (n.IsMap()) return field_map(n);
    if (n.IsSequence()) {
      std::vector<ExprPtr> kids;
      std::vector<YAML::Node> keywords;
      bool ok = true;
      for (const auto& item : n) {
        if (item.IsMap()) {
          auto e = field_map(item);
          ok = ok && e;
          if (e) kids.push_back(std::move(e));
        } else if (item.IsSequence()) {
          error("E_SIGMA_DETECTION", item, "a selection list holds maps or values, not lists");
          ok = false;
        } else {
          keywords.push_back(item);
        }
      }
      if (!keywords.empty()) {
        auto e = keyword_search(n, keywords, Mods{}, src_.at(n));
        ok = ok && e;
        if (e) kids.push_back(std::move(e));
      }
      if (!ok) return nullptr;
      if (kids.empty()) {
        error("E_SIGMA_DETECTION", n, "an empty selection matches nothing");
        return nullptr;
      }
      return combine(Expr::Kind::or_, std::move(kids), src_.at(n));
    }
    if (is_null(n)) {
      error("E_SIGMA_DETECTION", name,
            fmt::format("selection '{}' is empty", name.IsScalar() ? name.Scalar() : ""));
      return nullptr;
    }
    return keyword_search(n, {n}, Mods{}, src_.at(n));
  }

 private:
  void error(const char* code, const YAML::Node& at, std::string msg) {
    diags_.error(code, src_.at(at), std::move(msg));
  }

  // AND of `field|mods: values` items.
  ExprPtr field_map(const YAML::Node& n) {
    if (n.size() == 0) {
      error("E_SIGMA_DETECTION", n, "an empty selection matches nothing");
      return nullptr;
    }
    std::vector<ExprPtr> kids;
    bool ok = true;
    for (const auto& kv : n) {
      auto e = field_item(kv.first, kv.second);
      ok = ok && e;
      if (e) kids.push_back(std::move(e));
    }
    if (!ok) return nullptr;
    return combine(Expr::Kind::and_, std::move(kids), src_.at(n));
  }

  bool parse_key(const YAML::Node& key, std::string& field, Mods& m) {
    const std::string& k = key.Scalar();
    std::size_t bar = k.find('|');
    field = k.substr(0, bar);
    bool ok = true;
    while (bar != std::string::npos) {
      const std::size_t start = bar + 1;
      bar = k.find('|', start);
      const std::string mod = k.substr(start, bar == std::string::npos ? bar : bar - start);
      const SourceLoc at = src_.inside(key, start);
      ok = apply_modifier(mod, at, m) && ok;
    }
    return ok;
  }

  bool apply_modifier(const std::string& mod, const SourceLoc& at, Mods& m) {
    const auto conflict = [&](std::string_view why) {
      diags_.error("E_SIGMA_MODIFIER_CONFLICT", at,
                   fmt::format("modifier '{}' cannot be combined with {}", mod, why));
      return false;
    };
    const bool is_match = mod == "contains" || mod == "startswith" || mod == "endswith";
    const bool typed = m.re || m.cidr || m.exists || m.order;
    if (is_match) {
      if (m.match_set) return conflict("another of contains, startswith, endswith");
      if (typed) return conflict("re, cidr, exists or a comparison");
      m.match_set = true;
      m.match = mod == "contains"     ? Match::contains
                : mod == "startswith" ? Match::startswith
                                      : Match::endswith;
      return true;
    }
    if (mod == "all" || mod == "cased" || mod == "neq") {
      (mod == "all" ? m.all : mod == "cased" ? m.cased : m.neq) = true;
      return true;
    }
    if (mod == "re" || mod == "cidr" || mod == "exists" || mod == "lt" || mod == "lte" ||
        mod == "gt" || mod == "gte") {
      if (typed || m.match_set || m.encoding != Encoding::none || m.windash) {
        return conflict("other matching modifiers");
      }
      if (mod == "re") m.re = true;
      if (mod == "cidr") m.cidr = true;
      if (mod == "exists") m.exists = true;
      if (mod == "lt") m.order = Op::lt;
      if (mod == "lte") m.order = Op::le;
      if (mod == "gt") m.order = Op::gt;
      if (mod == "gte") m.order = Op::ge;
      return true;
    }
    if (mod == "i" || mod == "m" || mod == "s") {
      if (!m.re) return conflict("anything but 're' (it is a flag of re: re|i)");
      if (m.re_flags.find(mod) == std::string::npos) m.re_flags += mod;
      return true;
    }
    if (mod == "base64" || mod == "base64offset" || mod == "windash") {
      if (typed) return conflict("re, cidr, exists or a comparison");
      if (mod == "windash") {
        m.windash = true;
      } else {
        if (m.encoding != Encoding::none) return conflict("another encoding");
        m.encoding = mod == "base64" ? Encoding::base64 : Encoding::base64offset;
      }
      return true;
    }
    static const std::pair<std::string_view, std::string_view> kUnsupported[] = {
        {"utf16le", "sevwatch events hold text, not UTF-16 bytes"},
        {"utf16be", "sevwatch events hold text, not UTF-16 bytes"},
        {"utf16", "sevwatch events hold text, not UTF-16 bytes"},
        {"wide", "sevwatch events hold text, not UTF-16 bytes"},
        {"expand", "placeholders are not supported; use a list in a sevwatch rule"},
        {"fieldref", "comparing two fields of an event is not supported"},
        {"minute", "time parts of fields are not supported (the 'hour' field is)"},
        {"hour", "time parts of fields are not supported (the 'hour' field is)"},
        {"day", "time parts of fields are not supported"},
        {"week", "time parts of fields are not supported"},
        {"month", "time parts of fields are not supported"},
        {"year", "time parts of fields are not supported"},
    };
    for (const auto& [name, why] : kUnsupported) {
      if (mod == name) {
        diags_.error("E_SIGMA_UNSUPPORTED_MODIFIER", at,
                     fmt::format("modifier '{}' is not supported: {}", mod, why));
        return false;
      }
    }
    diags_.error("E_SIGMA_UNSUPPORTED_MODIFIER", at,
                 fmt::format("unknown modifier '{}'", mod.empty() ? std::string("(empty)") : mod));
    return false;
  }

  ExprPtr field_item(const YAML::Node& key, const YAML::Node& value) {
    if (!key.IsScalar()) {
      error("E_SIGMA_DETECTION", key, "a selection's keys are field names");
      return nullptr;
    }
    std::string field;
    Mods m;
    if (!parse_key(key, field, m)) return nullptr;
    const SourceLoc at = src_.inside(key, 0);
    if (field.empty()) {  // '|all': [...] - keywords with modifiers
      std::vector<YAML::Node> values;
      if (value.IsSequence()) {
        for (const auto& v : value) values.push_back(v);
      } else {
        values.push_back(value);
      }
      return keyword_search(key, values, m, at);
    }
    const auto target = map_sigma_field(ls_, field);
    if (!target.found) {
      diags_.error("E_SIGMA_UNMAPPED_FIELD", at,
                   fmt::format("Sigma field '{}' has no mapping for logsource ({}); map it under "
                               "that logsource's 'fields:' in the Sigma mapping",
                               field, ls_.describe()));
      return nullptr;
    }
    if (target.dropped) {
      diags_.warning("W_SIGMA_FIELD_DROPPED", at,
                     fmt::format("Sigma field '{}' is mapped to null: its checks are left out, "
                                 "so the rule matches more than it says",
                                 field));
      return always(at);
    }
    if (m.exists) return exists_check(target.fields, value, m, at);
    std::vector<Alt> alts;
    if (!read_values(value, m, alts)) return nullptr;
    return for_targets(target.fields, m, alts, at);
  }

  ExprPtr exists_check(const std::vector<std::string>& targets, const YAML::Node& value,
                       const Mods& m, const SourceLoc& at) {
    std::string v = value.IsScalar() ? value.Scalar() : "";
    std::transform(v.begin(), v.end(), v.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    if (v != "true" && v != "false") {
      error("E_SIGMA_VALUE", value, "'exists' takes true or false");
      return nullptr;
    }
    std::vector<ExprPtr> kids;
    for (const auto& t : targets) kids.push_back(make_check(t, Op::exists, {}, at));
    auto any = combine(Expr::Kind::or_, std::move(kids), at);
    return (v == "true") != m.neq ? std::move(any) : negate(std::move(any));
  }

  // Keyword selections: the values searched in the logsource's keyword fields.
  ExprPtr keyword_search(const YAML::Node& at_node, const std::vector<YAML::Node>& values, Mods m,
                         const SourceLoc& at) {
    if (ls_.keywords.empty()) {
      error("E_SIGMA_UNSUPPORTED_KEYWORDS", at_node,
            fmt::format("keyword searches need fields to search: logsource ({}) has no "
                        "'keywords:' in the Sigma mapping",
                        ls_.describe()));
      return nullptr;
    }
    if (m.exists) {
      error("E_SIGMA_MODIFIER_CONFLICT", at_node, "'exists' needs a field");
      return nullptr;
    }
    if (!m.match_set && !m.re && !m.cidr && !m.order) m.match = Match::contains;
    std::vector<Alt> alts;
    for (const auto& v : values) {
      if (!read_values(v, m, alts)) return nullptr;
    }
    return for_targets(ls_.keywords, m, alts, at);
  }

  bool read_values(const YAML::Node& v, const Mods& m, std::vector<Alt>& out) {
    if (v.IsSequence()) {
      if (v.size() == 0) {
        error("E_SIGMA_VALUE", v, "an empty list of values matches nothing");
        return false;
      }
      bool ok = true;
      for (const auto& item : v) ok = read_value(item, m, out) && ok;
      return ok;
    }
    return read_value(v, m, out);
  }

  bool read_value(const YAML::Node& v, const Mods& m, std::vector<Alt>& out) {
    if (v.IsMap() || v.IsSequence()) {
      error("E_SIGMA_VALUE", v, "a value must be a scalar (or a list of scalars)");
      return false;
    }
    Alt a;
    a.loc = src_.inside(v, 0);
    if (is_null(v) || v.Scalar().empty()) {
      a.absent = true;
      out.push_back(std::move(a));
      return true;
    }
    const std::string& s = v.Scalar();
    if (m.re || m.cidr || m.order) {
      a.patterns.push_back(Pattern{s, false});
      out.push_back(std::move(a));
      return true;
    }
    std::vector<std::string> variants{s};
    if (m.windash) {
      std::size_t flags = 0;
      variants = windash_variants(s, flags);
      if (flags > kMaxWindashFlags) {
        error(
            "E_SIGMA_VALUE", v,
            fmt::format("windash on a value with {} flags (at most {})", flags, kMaxWindashFlags));
        return false;
      }
    }
    for (const auto& text : variants) {
      Pattern p = parse_sigma_string(text);
      if (m.encoding == Encoding::none) {
        a.patterns.push_back(std::move(p));
        continue;
      }
      if (p.wild) {
        error("E_SIGMA_VALUE", v, "base64 of a value with wildcards cannot be matched");
        return false;
      }
      if (m.encoding == Encoding::base64) {
        a.patterns.push_back(Pattern{base64(p.text), false});
      } else {
        for (auto& e : base64_offsets(p.text)) a.patterns.push_back(Pattern{std::move(e), false});
      }
    }
    out.push_back(std::move(a));
    return true;
  }

  // The values on every target field (any may match), `all` and `neq` applied.
  ExprPtr for_targets(const std::vector<std::string>& targets, const Mods& m,
                      const std::vector<Alt>& alts, const SourceLoc& at) {
    std::vector<ExprPtr> per_target;
    for (const auto& t : targets) {
      if (m.all && alts.size() > 1) {
        std::vector<ExprPtr> each;
        for (const auto& a : alts) each.push_back(any_of(t, m, {a}, at));
        per_target.push_back(combine(Expr::Kind::and_, std::move(each), at));
      } else {
        per_target.push_back(any_of(t, m, alts, at));
      }
    }
    auto e = combine(Expr::Kind::or_, std::move(per_target), at);
    return m.neq ? negate(std::move(e)) : std::move(e);
  }

  // One field matching any of `alts`: values grouped into as few checks as
  // their operators allow.
  ExprPtr any_of(const std::string& field, const Mods& m, const std::vector<Alt>& alts,
                 const SourceLoc& at) {
    const FieldInfo* fi = find_field(field);
    const bool stringy =
        fi == nullptr || fi->type == FieldType::string || fi->type == FieldType::ip;
    const bool sensitive = m.cased || m.encoding != Encoding::none;
    std::vector<std::pair<Op, std::vector<ast::Value>>> groups;
    const auto add = [&](Op op, std::string text, const SourceLoc& loc) {
      auto it =
          std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == op; });
      if (it == groups.end()) {
        groups.emplace_back(op, std::vector<ast::Value>{});
        it = std::prev(groups.end());
      }
      it->second.push_back(ast::Value{std::move(text), loc, true});
    };
    std::vector<ExprPtr> kids;
    for (const auto& a : alts) {
      if (a.absent) {
        kids.push_back(absent(field, at));
        continue;
      }
      for (const auto& p : a.patterns) {
        if (m.re) {
          add(Op::regex, m.re_flags.empty() ? p.text : "(?" + m.re_flags + ")" + p.text, a.loc);
        } else if (m.cidr) {
          add(Op::cidr, p.text, a.loc);
        } else if (m.order) {
          add(*m.order, p.text, a.loc);
        } else if (!stringy && !p.wild && m.match == Match::exact) {
          // Vocabularies (action, result, levels, booleans) are lower case.
          std::string v = p.text;
          if (fi->type != FieldType::number) {
            std::transform(v.begin(), v.end(), v.begin(),
                           [](char c) { return static_cast<char>(std::tolower(c)); });
          }
          add(Op::eq, std::move(v), a.loc);
        } else if (p.wild) {
          const std::string g = m.match == Match::contains     ? "*" + p.text + "*"
                                : m.match == Match::startswith ? p.text + "*"
                                : m.match == Match::endswith   ? "*" + p.text
                                                               : p.text;
          add(sensitive ? Op::glob : Op::iglob, g, a.loc);
        } else {
          switch (m.match) {
            case Match::exact:
              if (sensitive) {
                add(Op::eq, p.text, a.loc);
              } else {
                add(Op::iglob, glob_escape(p.text), a.loc);
              }
              break;
            case Match::contains:
              add(sensitive ? Op::contains : Op::icontains, p.text, a.loc);
              break;
            case Match::startswith:
              add(sensitive ? Op::startswith : Op::istartswith, p.text, a.loc);
              break;
            case Match::endswith:
              add(sensitive ? Op::endswith : Op::iendswith, p.text, a.loc);
              break;
          }
        }
      }
    }
    for (auto& [op, values] : groups) {
      if (op == Op::lt || op == Op::le || op == Op::gt || op == Op::ge) {
        for (auto& v : values) kids.push_back(make_check(field, op, {std::move(v)}, at));
      } else {
        kids.push_back(make_check(field, op, std::move(values), at));
      }
    }
    return combine(Expr::Kind::or_, std::move(kids), at);
  }

  const Source& src_;
  const SigmaLogsourceMap& ls_;
  Diagnostics& diags_;
};

std::size_t errors(const Diagnostics& d) {
  return static_cast<std::size_t>(
      std::count_if(d.all().begin(), d.all().end(),
                    [](const Diagnostic& x) { return x.severity == DiagSeverity::error; }));
}

}  // namespace

ast::ExprPtr always(const SourceLoc& loc) {
  return make_check("action", Op::exists, {}, loc);
}

ast::ExprPtr translate_detection(const YAML::Node& detection, const Source& src,
                                 const SigmaLogsourceMap& logsource, Diagnostics& diags) {
  if (!detection.IsMap()) {
    diags.error("E_SIGMA_DETECTION", src.at(detection),
                "'detection' must be a mapping of selections and a 'condition'");
    return nullptr;
  }
  const std::size_t before = errors(diags);
  Translator t(src, logsource, diags);
  Selections selections;
  const YAML::Node condition = detection["condition"];  // undefined when absent
  for (const auto& kv : detection) {
    const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (name == "condition") {
      continue;
    } else if (name == "timeframe") {
      diags.warning("W_SIGMA_TIMEFRAME_IGNORED", src.at(kv.first),
                    "'timeframe' only applies to condition aggregations, which are not "
                    "supported; it is ignored (use a correlation rule's 'timespan')");
    } else {
      auto e = t.selection(kv.first, kv.second);
      if (e) selections.emplace_back(name, std::move(e));
    }
  }
  if (!condition) {
    diags.error("E_SIGMA_CONDITION", src.at(detection), "the detection has no 'condition'");
    return nullptr;
  }
  std::vector<YAML::Node> texts;
  if (condition.IsSequence()) {
    for (const auto& c : condition) texts.push_back(c);
  } else {
    texts.push_back(condition);
  }
  std::vector<ast::ExprPtr> alternatives;
  for (const auto& c : texts) {
    if (!c.IsScalar() || c.Scalar().empty()) {
      diags.error("E_SIGMA_CONDITION", src.at(c), "a condition is a text (or a list of texts)");
      continue;
    }
    const Locator where = [&](std::size_t offset) { return src.inside(c, offset); };
    auto tree = parse_condition(c.Scalar(), where, diags);
    if (!tree || errors(diags) != before) continue;
    auto e = expand_condition(*tree, selections, where, diags);
    if (e) alternatives.push_back(std::move(e));
  }
  if (errors(diags) != before || alternatives.empty()) return nullptr;
  return combine(ast::Expr::Kind::or_, std::move(alternatives), src.at(condition));
}

}  // namespace sevwatch::rules::sigma
