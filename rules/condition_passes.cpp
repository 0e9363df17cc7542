#include "rules/condition_passes.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "rules/condition_fields.h"
#include "rules/glob.h"

namespace sevwatch::rules {
namespace {

using ast::Expr;
using ast::Op;

constexpr std::size_t kMaxExpansion = 32;

class Resolver {
 public:
  Resolver(const Definitions& defs, Diagnostics& diags, std::vector<std::string>* used)
      : defs_(defs), diags_(diags), used_(used) {}

  bool resolve(ast::ExprPtr& e) {
    switch (e->kind) {
      case Expr::Kind::and_:
      case Expr::Kind::or_:
      case Expr::Kind::not_: {
        bool ok = true;
        for (auto& k : e->kids) ok = resolve(k) && ok;
        return ok;
      }
      case Expr::Kind::ref:
        return resolve_ref(e);
      case Expr::Kind::check:
        return expand_values(*e);
    }
    return true;
  }

 private:
  void note_use(const std::string& name) {
    if (used_ != nullptr) used_->push_back(name);
  }

  bool resolve_ref(ast::ExprPtr& e) {
    const auto m = defs_.macros.find(e->name);
    if (m != defs_.macros.end() && m->second.expr) {
      if (std::find(stack_.begin(), stack_.end(), e->name) != stack_.end() ||
          stack_.size() >= kMaxExpansion) {
        diags_.error("E_MACRO_CYCLE", e->loc,
                     fmt::format("macro '{}' refers to itself (through {})", e->name,
                                 fmt::join(stack_, " -> ")));
        return false;
      }
      note_use(e->name);
      auto body = ast::clone(*m->second.expr);
      stack_.push_back(e->name);
      const bool ok = resolve(body);
      stack_.pop_back();
      e = std::move(body);
      return ok;
    }
    if (const FieldInfo* f = find_field(e->name)) {
      if (f->type == FieldType::boolean) {
        e->kind = Expr::Kind::check;
        e->field = e->name;
        e->op = Op::eq;
        e->values = {ast::Value{"true", e->loc, false}};
        return true;
      }
      diags_.error("E_CONDITION", e->loc,
                   fmt::format("field '{}' needs an operator (e.g. '{} = ...' or '{} exists')",
                               e->name, e->name, e->name));
      return false;
    }
    if (is_raw_field(e->name)) {
      diags_.error("E_CONDITION", e->loc,
                   fmt::format("field '{}' needs an operator (e.g. '{} = true' or '{} exists')",
                               e->name, e->name, e->name));
      return false;
    }
    diags_.error("E_UNKNOWN_MACRO", e->loc,
                 fmt::format("'{}' is neither a macro nor a boolean field", e->name));
    return false;
  }

  bool expand_values(Expr& e) {
    if (!e.list_syntax) return true;
    std::vector<ast::Value> out;
    std::vector<std::string> seen;
    const bool ok = expand_into(e.values, out, seen);
    e.values = std::move(out);
    return ok;
  }

  bool expand_into(const std::vector<ast::Value>& in, std::vector<ast::Value>& out,
                   std::vector<std::string>& seen) {
    bool ok = true;
    for (const auto& v : in) {
      const auto l = v.quoted ? defs_.lists.end() : defs_.lists.find(v.text);
      if (l == defs_.lists.end()) {
        out.push_back(v);
        continue;
      }
      if (std::find(seen.begin(), seen.end(), v.text) != seen.end() ||
          seen.size() >= kMaxExpansion) {
        diags_.error("E_LIST_CYCLE", v.loc, fmt::format("list '{}' contains itself", v.text));
        ok = false;
        continue;
      }
      note_use(v.text);
      seen.push_back(v.text);
      ok = expand_into(l->second.items, out, seen) && ok;
      seen.pop_back();
    }
    return ok;
  }

  const Definitions& defs_;
  Diagnostics& diags_;
  std::vector<std::string>* used_;
  std::vector<std::string> stack_;
};

bool is_string_op(Op op) {
  switch (op) {
    case Op::contains:
    case Op::icontains:
    case Op::startswith:
    case Op::istartswith:
    case Op::endswith:
    case Op::iendswith:
    case Op::glob:
    case Op::iglob:
    case Op::regex:
      return true;
    default:
      return false;
  }
}

bool is_order_op(Op op) {
  return op == Op::lt || op == Op::le || op == Op::gt || op == Op::ge;
}

bool is_number(std::string_view s) {
  double d = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

class TypeChecker {
 public:
  explicit TypeChecker(Diagnostics& diags) : diags_(diags) {}

  bool check(const Expr& e) {
    if (e.kind != Expr::Kind::check) {
      bool ok = true;
      for (const auto& k : e.kids) ok = check(*k) && ok;
      if (e.kind == Expr::Kind::ref) {
        diags_.error("E_UNKNOWN_MACRO", e.loc, fmt::format("unresolved name '{}'", e.name));
        return false;
      }
      return ok;
    }
    const FieldInfo* f = find_field(e.field);
    FieldInfo raw_info{e.field, Field::action, FieldType::raw, false, "", {}};
    if (f == nullptr && is_raw_field(e.field)) {
      if (!raw_path(e.field)) {
        diags_.error("E_RAW_PATH", e.loc,
                     fmt::format("'{}' is not a path into the source record (raw.key.key, "
                                 "raw.list.0.key, raw.\"key with.dots\".key)",
                                 e.field));
        return false;
      }
      f = &raw_info;
    }
    if (f == nullptr) {
      std::string known;
      for (const auto& fi : field_catalog()) {
        known += (known.empty() ? "" : ", ") + std::string(fi.name);
      }
      diags_.error("E_UNKNOWN_FIELD", e.loc,
                   fmt::format("unknown field '{}' (known: {})", e.field, known));
      return false;
    }
    const auto type = f->type;
    auto refuse = [&](std::string_view why) {
      diags_.error("E_TYPE", e.loc,
                   fmt::format("'{}' is a {} field: {} does not apply{}", e.field, to_string(type),
                               ast::to_string(e.op), why));
      return false;
    };
    if (e.op == Op::exists) return true;
    const bool raw = type == FieldType::raw;  // any operator
    if (is_order_op(e.op) && type != FieldType::number && type != FieldType::level && !raw) {
      return refuse(" (ordering needs a number, object.level or a raw.<path>)");
    }
    if (is_string_op(e.op) && type != FieldType::string && type != FieldType::ip && !raw) {
      return refuse(" (string operators need a string field; use = or in)");
    }
    if (e.op == Op::cidr && type != FieldType::ip && !raw) {
      return refuse(" (cidr needs client_ip or a raw.<path>)");
    }
    if (e.values.empty()) {
      diags_.error("E_CONDITION", e.loc, "an empty list matches nothing");
      return false;
    }
    if ((e.op == Op::eq || e.op == Op::ne || is_order_op(e.op)) && e.values.size() != 1) {
      return refuse(" to a list (use in)");
    }
    bool ok = true;
    for (const auto& v : e.values) ok = check_value(*f, e.op, v) && ok;
    return ok;
  }

 private:
  bool check_value(const FieldInfo& f, Op op, const ast::Value& v) {
    if (!f.vocabulary.empty()) {
      if (std::find(f.vocabulary.begin(), f.vocabulary.end(), v.text) == f.vocabulary.end()) {
        diags_.error("E_BAD_VALUE", v.loc,
                     fmt::format("'{}' is not a value of {} ({})", v.text, f.name,
                                 fmt::join(f.vocabulary, ", ")));
        return false;
      }
      return true;
    }
    if ((f.type == FieldType::number || (f.type == FieldType::raw && is_order_op(op))) &&
        !is_number(v.text)) {
      diags_.error("E_BAD_VALUE", v.loc, fmt::format("'{}' is not a number", v.text));
      return false;
    }
    if (op == Op::regex) {
      RE2::Options opt;
      opt.set_log_errors(false);
      RE2 re(v.text, opt);
      if (!re.ok()) {
        diags_.error("E_REGEX", v.loc, fmt::format("bad regex '{}': {}", v.text, re.error()));
        return false;
      }
      if (re.ProgramSize() > kMaxRegexProgramSize) {
        diags_.error("E_REGEX", v.loc,
                     fmt::format("regex '{}' compiles to a program of size {} (at most {})", v.text,
                                 re.ProgramSize(), kMaxRegexProgramSize));
        return false;
      }
    }
    if (op == Op::glob || op == Op::iglob) {
      Glob::Error err;
      if (!Glob::compile(v.text, &err)) {
        SourceLoc at = v.loc;
        if (!v.quoted) at.col += static_cast<int>(err.offset);
        diags_.error("E_GLOB", at, fmt::format("bad glob '{}': {}", v.text, err.message));
        return false;
      }
    }
    if (op == Op::cidr && !parse_cidr(v.text)) {
      diags_.error("E_CIDR", v.loc,
                   fmt::format("bad CIDR '{}' (e.g. 10.0.0.0/8, 2001:db8::/32)", v.text));
      return false;
    }
    return true;
  }

  Diagnostics& diags_;
};

std::optional<std::size_t> action_index(std::string_view name) {
  const auto& vocab = field_info(Field::action).vocabulary;
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    if (vocab[i] == name) return i;
  }
  return std::nullopt;
}

// The exact action set of a check on `action`, if it is one.
std::optional<ActionMask> exact_actions(const Expr& e) {
  if (e.kind != Expr::Kind::check || e.field != "action") return std::nullopt;
  if (e.op != Op::eq && e.op != Op::ne && e.op != Op::in) return std::nullopt;
  ActionMask m;
  for (const auto& v : e.values) {
    if (auto i = action_index(v.text)) m.set(*i);
  }
  if (e.op == Op::ne) m = ~m;
  return m;
}

}  // namespace

bool resolve_names(ast::ExprPtr& e, const Definitions& defs, Diagnostics& diags,
                   std::vector<std::string>* used) {
  return Resolver(defs, diags, used).resolve(e);
}

bool type_check(const ast::Expr& e, Diagnostics& diags) {
  return TypeChecker(diags).check(e);
}

ActionMask possible_actions(const ast::Expr& e) {
  ActionMask all;
  all.set();
  switch (e.kind) {
    case Expr::Kind::and_: {
      ActionMask m = all;
      for (const auto& k : e.kids) m &= possible_actions(*k);
      return m;
    }
    case Expr::Kind::or_: {
      ActionMask m;
      for (const auto& k : e.kids) m |= possible_actions(*k);
      return m;
    }
    case Expr::Kind::not_: {
      if (auto exact = exact_actions(*e.kids.at(0))) return ~*exact;
      return all;
    }
    case Expr::Kind::check:
      if (auto exact = exact_actions(e)) return *exact;
      return all;
    case Expr::Kind::ref:
      return all;
  }
  return all;
}

std::optional<std::vector<std::string>> required_prefixes(const ast::Expr& e,
                                                          std::string_view field) {
  using Prefixes = std::vector<std::string>;
  switch (e.kind) {
    case Expr::Kind::and_: {
      std::optional<Prefixes> best;
      auto shortest = [](const Prefixes& p) {
        std::size_t n = std::string::npos;
        for (const auto& s : p) n = std::min(n, s.size());
        return n;
      };
      for (const auto& k : e.kids) {
        auto p = required_prefixes(*k, field);
        if (!p) continue;
        // Fewer prefixes first, then longer ones: fewer candidates per event.
        if (!best || p->size() < best->size() ||
            (p->size() == best->size() && shortest(*p) > shortest(*best))) {
          best = std::move(p);
        }
      }
      return best;
    }
    case Expr::Kind::or_: {
      Prefixes all;
      for (const auto& k : e.kids) {
        auto p = required_prefixes(*k, field);
        if (!p) return std::nullopt;
        all.insert(all.end(), p->begin(), p->end());
      }
      std::sort(all.begin(), all.end());
      all.erase(std::unique(all.begin(), all.end()), all.end());
      return all;
    }
    case Expr::Kind::not_:
    case Expr::Kind::ref:
      return std::nullopt;
    case Expr::Kind::check:
      break;
  }
  if (e.field != field || e.values.empty()) return std::nullopt;
  Prefixes out;
  for (const auto& v : e.values) {
    switch (e.op) {
      case Op::eq:
      case Op::in:
      case Op::startswith:
        out.push_back(v.text);
        break;
      case Op::glob: {
        const auto g = Glob::compile(v.text);
        if (!g) return std::nullopt;
        out.push_back(g->literal());
        break;
      }
      default:
        return std::nullopt;
    }
    if (out.back().empty()) return std::nullopt;  // matches anything
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  Cidr c;
  std::string addr(text);
  int max_prefix = 0;
  const auto slash = addr.find('/');
  std::optional<int> prefix;
  if (slash != std::string::npos) {
    int p = 0;
    const auto tail = std::string_view(addr).substr(slash + 1);
    const auto r = std::from_chars(tail.data(), tail.data() + tail.size(), p);
    if (r.ec != std::errc() || r.ptr != tail.data() + tail.size() || tail.empty()) {
      return std::nullopt;
    }
    prefix = p;
    addr.resize(slash);
  }
  if (inet_pton(AF_INET, addr.c_str(), c.bytes) == 1) {
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), c.bytes) == 1) {
    c.v6 = true;
    max_prefix = 128;
  } else {
    return std::nullopt;
  }
  c.prefix = prefix.value_or(max_prefix);
  if (c.prefix < 0 || c.prefix > max_prefix) return std::nullopt;
  return c;
}

bool cidr_contains(const Cidr& range, std::string_view ip) {
  char buf[64];
  if (ip.empty() || ip.size() >= sizeof buf) return false;
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  unsigned char bytes[16];
  const int family = range.v6 ? AF_INET6 : AF_INET;
  if (inet_pton(family, buf, bytes) != 1) return false;
  const int full = range.prefix / 8;
  if (std::memcmp(bytes, range.bytes, static_cast<std::size_t>(full)) != 0) return false;
  const int rest = range.prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (bytes[full] & mask) == (range.bytes[full] & mask);
}

}  // namespace sevwatch::rules
