#include "rules/condition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

namespace sevwatch::rules {
namespace {

constexpr int kMaxDepth = 64;

struct FieldName {
  std::string_view name;
  Field field;
};
constexpr FieldName kFields[] = {
    {"action", Field::action},
    {"result", Field::result},
    {"principal", Field::principal},
    {"object", Field::object},
    {"format", Field::format},
    {"operation", Field::operation},
    {"client_ip", Field::client_ip},
    {"grantee", Field::grantee},
    {"object.sensitivity", Field::object_sensitivity},
    {"object.level", Field::object_level},
    {"object.exposed", Field::object_exposed},
    {"exposure.audience", Field::exposure_audience},
    {"principal.outsider", Field::principal_outsider},
    {"principal.external", Field::principal_external},
};

// --- compiled form -------------------------------------------------------

class AndNode : public Condition {
 public:
  std::vector<std::unique_ptr<Condition>> kids;
  bool eval(const FieldSource& s) const override {
    return std::all_of(kids.begin(), kids.end(), [&](const auto& k) { return k->eval(s); });
  }
};

class OrNode : public Condition {
 public:
  std::vector<std::unique_ptr<Condition>> kids;
  bool eval(const FieldSource& s) const override {
    return std::any_of(kids.begin(), kids.end(), [&](const auto& k) { return k->eval(s); });
  }
};

class NotNode : public Condition {
 public:
  std::unique_ptr<Condition> kid;
  bool eval(const FieldSource& s) const override { return !kid->eval(s); }
};

// field = v, field in (v...), field != v, field exists. A multi-valued field
// matches `=`/`in` when any value does; `!=` holds when no value equals.
class CheckNode : public Condition {
 public:
  enum class Op { eq, ne, in, exists };
  Field field = Field::action;
  Op op = Op::eq;
  std::vector<std::string> values;
  bool eval(const FieldSource& s) const override {
    thread_local std::vector<std::string_view> got;
    got.clear();
    s.values(field, got);
    if (op == Op::exists) return !got.empty();
    bool any = false;
    for (auto g : got) {
      for (const auto& v : values) {
        if (g == v) {
          any = true;
          break;
        }
      }
      if (any) break;
    }
    return op == Op::ne ? !any : any;
  }
};

// --- lexer and parser ----------------------------------------------------

enum class Tok { ident, string, number, lparen, rparen, comma, eq, ne, end, bad };

struct Token {
  Tok kind = Tok::end;
  std::string text;
  std::size_t pos = 0;
};

class Parser {
 public:
  Parser(std::string_view text, const SourceLoc& loc, Diagnostics& diags)
      : text_(text), loc_(loc), diags_(diags) {
    next();
  }

  std::unique_ptr<Condition> parse() {
    auto e = parse_or(0);
    if (!failed_ && tok_.kind != Tok::end) fail(tok_.pos, "unexpected '" + tok_.text + "'");
    return failed_ ? nullptr : std::move(e);
  }

 private:
  SourceLoc where(std::size_t pos) const {
    SourceLoc l = loc_;
    for (std::size_t i = 0; i < pos && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++l.line;
        l.col = 1;
      } else {
        ++l.col;
      }
    }
    return l;
  }

  void fail(std::size_t pos, std::string msg) {
    if (failed_) return;
    failed_ = true;
    diags_.error("E_CONDITION", where(pos), std::move(msg));
  }

  static bool keyword(const Token& t, std::string_view kw) {
    if (t.kind != Tok::ident || t.text.size() != kw.size()) return false;
    for (std::size_t i = 0; i < kw.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(t.text[i])) != kw[i]) return false;
    }
    return true;
  }

  void next() {
    while (i_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[i_]))) ++i_;
    tok_ = Token{Tok::end, "", i_};
    if (i_ >= text_.size()) return;
    const char c = text_[i_];
    auto single = [&](Tok k) {
      tok_ = Token{k, std::string(1, c), i_};
      ++i_;
    };
    if (c == '(') return single(Tok::lparen);
    if (c == ')') return single(Tok::rparen);
    if (c == ',') return single(Tok::comma);
    if (c == '=') return single(Tok::eq);
    if (c == '!' && i_ + 1 < text_.size() && text_[i_ + 1] == '=') {
      tok_ = Token{Tok::ne, "!=", i_};
      i_ += 2;
      return;
    }
    if (c == '"' || c == '\'') {
      const std::size_t start = i_++;
      std::string s;
      while (i_ < text_.size() && text_[i_] != c) {
        if (text_[i_] == '\\' && i_ + 1 < text_.size()) ++i_;
        s += text_[i_++];
      }
      if (i_ >= text_.size()) {
        tok_ = Token{Tok::bad, "unterminated string", start};
        return;
      }
      ++i_;
      tok_ = Token{Tok::string, std::move(s), start};
      return;
    }
    auto word = [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.' ||
             ch == '*' || ch == ':' || ch == '/' || ch == '@';
    };
    if (word(c)) {
      const std::size_t start = i_;
      while (i_ < text_.size() && word(text_[i_])) ++i_;
      const std::string w(text_.substr(start, i_ - start));
      const bool digits = std::all_of(w.begin(), w.end(), [](char ch) {
        return std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-';
      });
      tok_ = Token{digits ? Tok::number : Tok::ident, w, start};
      return;
    }
    tok_ = Token{Tok::bad, std::string(1, c), i_};
  }

  std::unique_ptr<Condition> parse_or(int depth) {
    auto first = parse_and(depth);
    if (!keyword(tok_, "or")) return first;
    auto node = std::make_unique<OrNode>();
    node->kids.push_back(std::move(first));
    while (!failed_ && keyword(tok_, "or")) {
      next();
      node->kids.push_back(parse_and(depth));
    }
    return node;
  }

  std::unique_ptr<Condition> parse_and(int depth) {
    auto first = parse_not(depth);
    if (!keyword(tok_, "and")) return first;
    auto node = std::make_unique<AndNode>();
    node->kids.push_back(std::move(first));
    while (!failed_ && keyword(tok_, "and")) {
      next();
      node->kids.push_back(parse_not(depth));
    }
    return node;
  }

  std::unique_ptr<Condition> parse_not(int depth) {
    if (depth > kMaxDepth) {
      fail(tok_.pos, fmt::format("condition nested deeper than {} levels", kMaxDepth));
      return nullptr;
    }
    if (keyword(tok_, "not")) {
      next();
      auto node = std::make_unique<NotNode>();
      node->kid = parse_not(depth + 1);
      return node;
    }
    if (tok_.kind == Tok::lparen) {
      next();
      auto inner = parse_or(depth + 1);
      if (tok_.kind != Tok::rparen) {
        fail(tok_.pos, "expected ')'");
        return nullptr;
      }
      next();
      return inner;
    }
    return parse_check();
  }

  std::optional<std::string> parse_value() {
    if (tok_.kind == Tok::ident || tok_.kind == Tok::string || tok_.kind == Tok::number) {
      std::string v = tok_.text;
      next();
      return v;
    }
    fail(tok_.pos, tok_.kind == Tok::end ? "expected a value, found the end of the condition"
                                         : "expected a value, found '" + tok_.text + "'");
    return std::nullopt;
  }

  std::unique_ptr<Condition> parse_check() {
    if (tok_.kind != Tok::ident) {
      fail(tok_.pos, tok_.kind == Tok::end ? "expected a field, found the end of the condition"
                                           : "expected a field, found '" + tok_.text + "'");
      return nullptr;
    }
    auto node = std::make_unique<CheckNode>();
    const auto it = std::find_if(std::begin(kFields), std::end(kFields),
                                 [&](const FieldName& f) { return f.name == tok_.text; });
    if (it == std::end(kFields)) {
      std::string known;
      for (const auto& f : kFields) known += (known.empty() ? "" : ", ") + std::string(f.name);
      diags_.error("E_UNKNOWN_FIELD", where(tok_.pos),
                   fmt::format("unknown field '{}' (known: {})", tok_.text, known));
      failed_ = true;
      return nullptr;
    }
    node->field = it->field;
    next();
    if (tok_.kind == Tok::eq || tok_.kind == Tok::ne) {
      node->op = tok_.kind == Tok::eq ? CheckNode::Op::eq : CheckNode::Op::ne;
      next();
      auto v = parse_value();
      if (!v) return nullptr;
      node->values.push_back(std::move(*v));
      return node;
    }
    if (keyword(tok_, "exists")) {
      node->op = CheckNode::Op::exists;
      next();
      return node;
    }
    if (keyword(tok_, "in")) {
      node->op = CheckNode::Op::in;
      next();
      if (tok_.kind != Tok::lparen) {
        fail(tok_.pos, "expected '(' after 'in'");
        return nullptr;
      }
      next();
      for (;;) {
        auto v = parse_value();
        if (!v) return nullptr;
        node->values.push_back(std::move(*v));
        if (tok_.kind == Tok::comma) {
          next();
          continue;
        }
        if (tok_.kind == Tok::rparen) {
          next();
          return node;
        }
        fail(tok_.pos, "expected ',' or ')' in list");
        return nullptr;
      }
    }
    fail(tok_.pos, "expected '=', '!=', 'in' or 'exists' after the field");
    return nullptr;
  }

  std::string_view text_;
  SourceLoc loc_;
  Diagnostics& diags_;
  std::size_t i_ = 0;
  Token tok_;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<Condition> compile_condition(std::string_view text, const SourceLoc& loc,
                                             Diagnostics& diags) {
  Parser p(text, loc, diags);
  return p.parse();
}

std::vector<std::string> condition_field_names() {
  std::vector<std::string> out;
  for (const auto& f : kFields) out.emplace_back(f.name);
  return out;
}

}  // namespace sevwatch::rules
