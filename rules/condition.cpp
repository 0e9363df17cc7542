#include "rules/condition.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "rules/condition_parser.h"
#include "rules/glob.h"

namespace sevwatch::rules {
namespace {

using ast::Op;

void lower_into(std::string_view in, std::string& out) {
  out.assign(in);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string lowered(std::string_view in) {
  std::string out;
  lower_into(in, out);
  return out;
}

std::vector<std::string_view>& scratch_values() {
  thread_local std::vector<std::string_view> v;
  return v;
}

std::optional<double> number_of(std::string_view s) {
  double d = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return d;
}

void indent(std::string& out, int depth) {
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

// The compiled nodes; compile_ast() records which use raw.<path> fields.
class Node : public Condition {
 public:
  void set_uses_raw(bool v) { uses_raw_ = v; }
};

class AndNode : public Node {
 public:
  std::vector<std::unique_ptr<Condition>> kids;
  bool eval(const FieldSource& s) const override {
    for (const auto& k : kids) {
      if (!k->eval(s)) return false;
    }
    return true;
  }
  bool explain(const FieldSource& s, std::string& out, int depth) const override {
    const auto at = out.size();
    bool all = true;
    for (const auto& k : kids) all = k->explain(s, out, depth + 1) && all;
    std::string line;
    indent(line, depth);
    line += fmt::format("{} and ({} parts)\n", all ? "true " : "false", kids.size());
    out.insert(at, line);
    return all;
  }
};

class OrNode : public Node {
 public:
  std::vector<std::unique_ptr<Condition>> kids;
  bool eval(const FieldSource& s) const override {
    for (const auto& k : kids) {
      if (k->eval(s)) return true;
    }
    return false;
  }
  bool explain(const FieldSource& s, std::string& out, int depth) const override {
    const auto at = out.size();
    bool any = false;
    for (const auto& k : kids) any = k->explain(s, out, depth + 1) || any;
    std::string line;
    indent(line, depth);
    line += fmt::format("{} or ({} parts)\n", any ? "true " : "false", kids.size());
    out.insert(at, line);
    return any;
  }
};

class NotNode : public Node {
 public:
  std::unique_ptr<Condition> kid;
  bool eval(const FieldSource& s) const override { return !kid->eval(s); }
  bool explain(const FieldSource& s, std::string& out, int depth) const override {
    const auto at = out.size();
    const bool r = !kid->explain(s, out, depth + 1);
    std::string line;
    indent(line, depth);
    line += fmt::format("{} not\n", r ? "true " : "false");
    out.insert(at, line);
    return r;
  }
};

class CheckNode : public Node {
 public:
  Field field = Field::action;
  bool raw = false;               // a raw.<path> field: `path` instead of `field`
  std::vector<std::string> path;  // its steps
  std::string raw_name;           // as written, for explanations
  Op op = Op::eq;
  bool ordered_level = false;
  std::string text;                  // the check as written (normalized)
  std::vector<std::string> strings;  // eq/ne/in (sorted), string ops (lowered for i-ops)
  std::vector<Glob> globs;
  std::unique_ptr<RE2> re;
  std::unique_ptr<RE2::Set> re_set;
  std::vector<Cidr> cidrs;
  double number = 0;
  // A coded field (code_text) under = != in < <= > >=: the answer for every
  // code, worked out once by decide() on the code's text.
  bool coded = false;
  std::uint32_t accept = 0;  // bit c: the answer for code c
  bool absent_answer = false;

  void code_answers() {
    if (raw || !code_text(field, 0)) return;
    switch (op) {
      case Op::eq:
      case Op::ne:
      case Op::in:
      case Op::lt:
      case Op::le:
      case Op::gt:
      case Op::ge:
        break;
      default:
        return;
    }
    std::vector<std::string_view> one;
    for (int c = 0; c < kMaxCodes; ++c) {
      const auto t = code_text(field, c);
      if (!t) continue;
      one.clear();
      if (!t->empty()) one.push_back(*t);
      if (decide(one)) accept |= 1u << c;
    }
    one.clear();
    absent_answer = decide(one);
    coded = true;
  }

  bool eval(const FieldSource& s) const override {
    if (coded) {
      const int c = s.code(field);
      if (c >= 0 && c < kMaxCodes) return ((accept >> c) & 1u) != 0;
      if (c == kAbsentCode) return absent_answer;
    }
    auto& got = scratch_values();
    got.clear();
    fetch(s, got);
    return decide(got);
  }

  bool explain(const FieldSource& s, std::string& out, int depth) const override {
    std::vector<std::string_view> got;
    fetch(s, got);
    const bool r = decide(got);
    indent(out, depth);
    std::string seen;
    for (auto g : got) seen += (seen.empty() ? "" : ", ") + std::string(g);
    out += fmt::format("{} {}   [{}: {}]\n", r ? "true " : "false", text,
                       raw ? std::string_view(raw_name) : field_info(field).name,
                       got.empty() ? "(absent)" : seen);
    return r;
  }

 private:
  void fetch(const FieldSource& s, std::vector<std::string_view>& got) const {
    if (raw) {
      s.raw_values(path, got);
    } else {
      s.values(field, got);
    }
  }

  bool decide(const std::vector<std::string_view>& got) const {
    if (op == Op::exists) return !got.empty();
    if (op == Op::ne) {
      for (auto g : got) {
        if (g == strings[0]) return false;
      }
      return true;
    }
    for (auto g : got) {
      if (match_one(g)) return true;
    }
    return false;
  }

  bool match_one(std::string_view v) const {
    thread_local std::string low;
    switch (op) {
      case Op::eq:
        return v == strings[0];
      case Op::in:
        if (strings.size() <= 8)
          return std::find(strings.begin(), strings.end(), v) != strings.end();
        return std::binary_search(strings.begin(), strings.end(), v,
                                  [](std::string_view a, std::string_view b) { return a < b; });
      case Op::lt:
      case Op::le:
      case Op::gt:
      case Op::ge: {
        std::optional<double> x;
        if (ordered_level) {
          if (auto r = level_rank(v)) x = *r;
        } else {
          x = number_of(v);
        }
        if (!x) return false;
        return op == Op::lt   ? *x < number
               : op == Op::le ? *x <= number
               : op == Op::gt ? *x > number
                              : *x >= number;
      }
      case Op::contains:
        for (const auto& s : strings) {
          if (v.find(s) != std::string_view::npos) return true;
        }
        return false;
      case Op::startswith:
        for (const auto& s : strings) {
          if (v.starts_with(s)) return true;
        }
        return false;
      case Op::endswith:
        for (const auto& s : strings) {
          if (v.ends_with(s)) return true;
        }
        return false;
      case Op::icontains:
      case Op::istartswith:
      case Op::iendswith: {
        lower_into(v, low);
        const std::string_view lv = low;
        for (const auto& s : strings) {
          if (op == Op::icontains     ? lv.find(s) != std::string_view::npos
              : op == Op::istartswith ? lv.starts_with(s)
                                      : lv.ends_with(s)) {
            return true;
          }
        }
        return false;
      }
      case Op::glob:
        for (const auto& g : globs) {
          if (g.matches(v)) return true;
        }
        return false;
      case Op::iglob:
        lower_into(v, low);
        for (const auto& g : globs) {
          if (g.matches(low)) return true;
        }
        return false;
      case Op::regex:
        if (re_set) {
          thread_local std::vector<int> hits;
          hits.clear();
          return re_set->Match(re2::StringPiece(v.data(), v.size()), &hits);
        }
        return RE2::PartialMatch(re2::StringPiece(v.data(), v.size()), *re);
      case Op::cidr:
        for (const auto& c : cidrs) {
          if (cidr_contains(c, v)) return true;
        }
        return false;
      case Op::ne:
      case Op::exists:
        break;
    }
    return false;
  }
};

std::unique_ptr<Condition> compile_check(const ast::Expr& e) {
  auto node = std::make_unique<CheckNode>();
  node->op = e.op;
  node->text = ast::render(e);
  if (const FieldInfo* f = find_field(e.field)) {
    node->field = f->field;
    node->ordered_level = f->type == FieldType::level;
  } else {  // type-checked: a well-formed raw.<path>
    node->raw = true;
    node->path = raw_path(e.field).value_or(std::vector<std::string>{});
    node->raw_name = e.field;
    node->set_uses_raw(true);
  }
  const bool insensitive = e.op == Op::icontains || e.op == Op::istartswith ||
                           e.op == Op::iendswith || e.op == Op::iglob;
  for (const auto& v : e.values) {
    switch (e.op) {
      case Op::lt:
      case Op::le:
      case Op::gt:
      case Op::ge:
        if (node->ordered_level) {
          node->number = level_rank(v.text).value_or(0);
        } else {
          node->number = number_of(v.text).value_or(0);
        }
        break;
      case Op::glob:
      case Op::iglob:
        node->globs.push_back(*Glob::compile(insensitive ? lowered(v.text) : v.text));
        break;
      case Op::cidr:
        node->cidrs.push_back(*parse_cidr(v.text));
        break;
      default:
        node->strings.push_back(insensitive ? lowered(v.text) : v.text);
    }
  }
  if (e.op == Op::in) std::sort(node->strings.begin(), node->strings.end());
  if (e.op == Op::regex) {
    RE2::Options opt;
    opt.set_log_errors(false);
    if (node->strings.size() == 1) {
      node->re = std::make_unique<RE2>(node->strings[0], opt);
    } else {
      node->re_set = std::make_unique<RE2::Set>(opt, RE2::UNANCHORED);
      for (const auto& s : node->strings) node->re_set->Add(s, nullptr);
      node->re_set->Compile();
    }
  }
  node->code_answers();
  return node;
}

}  // namespace

std::unique_ptr<Condition> compile_ast(const ast::Expr& e) {
  switch (e.kind) {
    case ast::Expr::Kind::and_: {
      auto n = std::make_unique<AndNode>();
      for (const auto& k : e.kids) n->kids.push_back(compile_ast(*k));
      n->set_uses_raw(std::any_of(n->kids.begin(), n->kids.end(),
                                  [](const auto& k) { return k && k->uses_raw(); }));
      return n;
    }
    case ast::Expr::Kind::or_: {
      auto n = std::make_unique<OrNode>();
      for (const auto& k : e.kids) n->kids.push_back(compile_ast(*k));
      n->set_uses_raw(std::any_of(n->kids.begin(), n->kids.end(),
                                  [](const auto& k) { return k && k->uses_raw(); }));
      return n;
    }
    case ast::Expr::Kind::not_: {
      auto n = std::make_unique<NotNode>();
      n->kid = compile_ast(*e.kids.at(0));
      n->set_uses_raw(n->kid && n->kid->uses_raw());
      return n;
    }
    case ast::Expr::Kind::check:
      return compile_check(e);
    case ast::Expr::Kind::ref:
      break;
  }
  return nullptr;
}

std::unique_ptr<Condition> compile_condition(std::string_view text, const SourceLoc& loc,
                                             Diagnostics& diags, const Definitions* defs,
                                             ActionMask* actions) {
  auto expr = parse_condition(text, loc, diags);
  if (!expr) return nullptr;
  static const Definitions kNone;
  if (!resolve_names(expr, defs ? *defs : kNone, diags)) return nullptr;
  if (!type_check(*expr, diags)) return nullptr;
  if (actions != nullptr) *actions = possible_actions(*expr);
  return compile_ast(*expr);
}

std::vector<std::string> condition_field_names() {
  std::vector<std::string> out;
  for (const auto& f : field_catalog()) out.emplace_back(f.name);
  return out;
}

}  // namespace sevwatch::rules
