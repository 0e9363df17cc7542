#include "rules/condition_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "rules/condition_fields.h"

namespace sevwatch::rules {
namespace {

using ast::Expr;
using ast::ExprPtr;
using ast::Op;

enum class Tok { ident, string, number, lparen, rparen, comma, cmp, end, bad };

struct Token {
  Tok kind = Tok::end;
  std::string text;
  std::size_t pos = 0;
  std::size_t end = 0;  // one past the token's last character
};

struct OpName {
  std::string_view name;
  Op op;
};
constexpr OpName kWordOps[] = {
    {"in", Op::in},
    {"contains", Op::contains},
    {"icontains", Op::icontains},
    {"startswith", Op::startswith},
    {"istartswith", Op::istartswith},
    {"endswith", Op::endswith},
    {"iendswith", Op::iendswith},
    {"glob", Op::glob},
    {"iglob", Op::iglob},
    {"regex", Op::regex},
    {"cidr", Op::cidr},
    {"exists", Op::exists},
};

bool word_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.' ||
         ch == '*' || ch == '?' || ch == ':' || ch == '/' || ch == '@';
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

class Parser {
 public:
  Parser(std::string_view text, const SourceLoc& loc, Diagnostics& diags)
      : text_(text), loc_(loc), diags_(diags), cursor_loc_(loc) {
    next();
  }

  ExprPtr parse() {
    auto e = parse_or(0);
    if (!failed_ && tok_.kind != Tok::end) fail(tok_.pos, "unexpected '" + tok_.text + "'");
    return failed_ ? nullptr : std::move(e);
  }

 private:
  // Positions only move forward while parsing; keep a cursor so mapping an
  // offset to line:col is linear over the whole condition.
  SourceLoc where(std::size_t pos) {
    if (pos < cursor_pos_) {
      cursor_pos_ = 0;
      cursor_loc_ = loc_;
    }
    for (; cursor_pos_ < pos && cursor_pos_ < text_.size(); ++cursor_pos_) {
      if (text_[cursor_pos_] == '\n') {
        ++cursor_loc_.line;
        cursor_loc_.col = 1;
      } else {
        ++cursor_loc_.col;
      }
    }
    return cursor_loc_;
  }

  void fail(std::size_t pos, std::string msg) {
    if (failed_) return;
    failed_ = true;
    diags_.error("E_CONDITION", where(pos), std::move(msg));
  }

  static bool keyword(const Token& t, std::string_view kw) {
    return t.kind == Tok::ident && iequals(t.text, kw);
  }

  void next() {
    lex();
    tok_.end = i_;
  }

  void lex() {
    while (i_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[i_]))) ++i_;
    tok_ = Token{Tok::end, "", i_};
    if (i_ >= text_.size()) return;
    const char c = text_[i_];
    auto take = [&](Tok k, std::size_t n) {
      tok_ = Token{k, std::string(text_.substr(i_, n)), i_};
      i_ += n;
    };
    const char c2 = i_ + 1 < text_.size() ? text_[i_ + 1] : '\0';
    if (c == '(') return take(Tok::lparen, 1);
    if (c == ')') return take(Tok::rparen, 1);
    if (c == ',') return take(Tok::comma, 1);
    if (c == '=') return take(Tok::cmp, c2 == '=' ? 2 : 1);
    if (c == '!' && c2 == '=') return take(Tok::cmp, 2);
    if (c == '<' || c == '>') return take(Tok::cmp, c2 == '=' ? 2 : 1);
    if (c == '"' || c == '\'') {
      const std::size_t start = i_++;
      std::string s;
      while (i_ < text_.size() && text_[i_] != c) {
        if (text_[i_] == '\\' && i_ + 1 < text_.size()) {
          // Keep regex escapes intact: only the quote and the backslash
          // itself are unescaped.
          const char n = text_[i_ + 1];
          if (n == c || n == '\\') ++i_;
        }
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
    if (word_char(c)) {
      const std::size_t start = i_;
      while (i_ < text_.size() && word_char(text_[i_])) ++i_;
      std::string w(text_.substr(start, i_ - start));
      const bool digits = std::all_of(w.begin(), w.end(), [](char ch) {
        return std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-';
      });
      tok_ = Token{digits ? Tok::number : Tok::ident, std::move(w), start};
      return;
    }
    tok_ = Token{Tok::bad, std::string(1, c), i_};
  }

  ExprPtr parse_or(int depth) {
    auto first = parse_and(depth);
    if (failed_ || !keyword(tok_, "or")) return first;
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::or_;
    node->loc = first->loc;
    node->kids.push_back(std::move(first));
    while (!failed_ && keyword(tok_, "or")) {
      next();
      node->kids.push_back(parse_and(depth));
    }
    return node;
  }

  ExprPtr parse_and(int depth) {
    auto first = parse_not(depth);
    if (failed_ || !keyword(tok_, "and")) return first;
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::and_;
    node->loc = first->loc;
    node->kids.push_back(std::move(first));
    while (!failed_ && keyword(tok_, "and")) {
      next();
      node->kids.push_back(parse_not(depth));
    }
    return node;
  }

  ExprPtr parse_not(int depth) {
    if (depth > kMaxConditionDepth) {
      fail(tok_.pos, fmt::format("condition nested deeper than {} levels", kMaxConditionDepth));
      return nullptr;
    }
    if (keyword(tok_, "not")) {
      auto node = std::make_unique<Expr>();
      node->kind = Expr::Kind::not_;
      node->loc = where(tok_.pos);
      next();
      auto kid = parse_not(depth + 1);
      if (!kid) return nullptr;
      node->kids.push_back(std::move(kid));
      return node;
    }
    if (tok_.kind == Tok::lparen) {
      next();
      auto inner = parse_or(depth + 1);
      if (failed_) return nullptr;
      if (tok_.kind != Tok::rparen) {
        fail(tok_.pos, "expected ')'");
        return nullptr;
      }
      next();
      return inner;
    }
    return parse_check();
  }

  bool parse_value(std::vector<ast::Value>& out) {
    if (tok_.kind == Tok::ident || tok_.kind == Tok::string || tok_.kind == Tok::number) {
      out.push_back(ast::Value{tok_.text, where(tok_.pos), tok_.kind == Tok::string});
      next();
      return true;
    }
    fail(tok_.pos, tok_.kind == Tok::end ? "expected a value, found the end of the condition"
                                         : "expected a value, found '" + tok_.text + "'");
    return false;
  }

  bool parse_list(Expr& node) {
    node.list_syntax = true;
    next();  // (
    for (;;) {
      if (!parse_value(node.values)) return false;
      if (tok_.kind == Tok::comma) {
        next();
        continue;
      }
      if (tok_.kind == Tok::rparen) {
        next();
        return true;
      }
      fail(tok_.pos, "expected ',' or ')' in list");
      return false;
    }
  }

  ExprPtr parse_check() {
    if (tok_.kind != Tok::ident) {
      fail(tok_.pos, tok_.kind == Tok::end ? "expected a field, found the end of the condition"
                                           : "expected a field, found '" + tok_.text + "'");
      return nullptr;
    }
    auto node = std::make_unique<Expr>();
    node->loc = where(tok_.pos);
    node->field = tok_.text;
    const std::size_t field_end = tok_.end;
    next();
    if (is_raw_field(node->field)) join_quoted_steps(node->field, field_end);
    if (tok_.kind == Tok::cmp) {
      static const std::pair<std::string_view, Op> kCmp[] = {
          {"=", Op::eq},  {"==", Op::eq}, {"!=", Op::ne}, {"<", Op::lt},
          {"<=", Op::le}, {">", Op::gt},  {">=", Op::ge}};
      for (const auto& [s, op] : kCmp) {
        if (tok_.text == s) node->op = op;
      }
      next();
      if (!parse_value(node->values)) return nullptr;
      return node;
    }
    const OpName* word = nullptr;
    if (tok_.kind == Tok::ident) {
      for (const auto& w : kWordOps) {
        if (iequals(tok_.text, w.name)) word = &w;
      }
    }
    if (word == nullptr) {
      // A bare name: a macro reference (or a boolean field).
      if (tok_.kind == Tok::end || tok_.kind == Tok::rparen || keyword(tok_, "and") ||
          keyword(tok_, "or")) {
        node->kind = Expr::Kind::ref;
        node->name = std::move(node->field);
        node->field.clear();
        return node;
      }
      fail(tok_.pos,
           fmt::format("expected an operator after '{}' (= != < <= > >= in contains startswith "
                       "endswith glob regex cidr exists, or i-variants), found '{}'",
                       node->field, tok_.text));
      return nullptr;
    }
    node->op = word->op;
    next();
    if (node->op == Op::exists) return node;
    if (tok_.kind == Tok::lparen) {
      if (!parse_list(*node)) return nullptr;
      return node;
    }
    if (node->op == Op::in) {
      fail(tok_.pos, "expected '(' after 'in'");
      return nullptr;
    }
    if (!parse_value(node->values)) return nullptr;
    return node;
  }

  // A raw field's quoted steps (raw."a.b".c) lex as separate tokens with no
  // space between them: join them back into the field, quotes kept.
  void join_quoted_steps(std::string& field, std::size_t at) {
    for (;;) {
      if (tok_.pos != at) return;
      if (tok_.kind == Tok::string && field.back() == '.') {
        field += '"';
        for (char c : tok_.text) {
          if (c == '"' || c == '\\') field += '\\';
          field += c;
        }
        field += '"';
      } else if ((tok_.kind == Tok::ident || tok_.kind == Tok::number) && tok_.text[0] == '.' &&
                 field.back() == '"') {  // ".key", ".0", "."
        field += tok_.text;
      } else {
        return;
      }
      at = tok_.end;
      next();
    }
  }

  std::string_view text_;
  SourceLoc loc_;
  Diagnostics& diags_;
  std::size_t i_ = 0;
  Token tok_;
  bool failed_ = false;
  std::size_t cursor_pos_ = 0;
  SourceLoc cursor_loc_;
};

}  // namespace

ast::ExprPtr parse_condition(std::string_view text, const SourceLoc& loc, Diagnostics& diags) {
  Parser p(text, loc, diags);
  return p.parse();
}

}  // namespace sevwatch::rules

namespace sevwatch::rules {

std::optional<ast::Op> parse_operator(std::string_view text) {
  static const std::pair<std::string_view, ast::Op> kCmp[] = {
      {"=", ast::Op::eq},  {"==", ast::Op::eq}, {"!=", ast::Op::ne}, {"<", ast::Op::lt},
      {"<=", ast::Op::le}, {">", ast::Op::gt},  {">=", ast::Op::ge}};
  for (const auto& [s, op] : kCmp) {
    if (s == text) return op;
  }
  for (const auto& w : kWordOps) {
    if (iequals(text, w.name)) return w.op;
  }
  return std::nullopt;
}

}  // namespace sevwatch::rules
