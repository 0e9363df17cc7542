#include "rules/sigma_condition.h"

#include <fmt/format.h>

#include <cctype>

#include "rules/condition_parser.h"
#include "rules/glob.h"

namespace sevwatch::rules::sigma {
namespace {

enum class Tok { word, lparen, rparen, end, bad };

struct Token {
  Tok kind = Tok::end;
  std::string text;
  std::size_t pos = 0;
};

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == '*' || c == '?' || c == ':' || c == '/' || c == '@';
}

bool is(const Token& t, std::string_view kw) {
  if (t.kind != Tok::word || t.text.size() != kw.size()) return false;
  for (std::size_t i = 0; i < kw.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(t.text[i])) != kw[i]) return false;
  }
  return true;
}

class Parser {
 public:
  Parser(std::string_view text, const Locator& where, Diagnostics& diags)
      : text_(text), where_(where), diags_(diags) {
    next();
  }

  std::unique_ptr<CondNode> parse() {
    auto e = parse_or(0);
    if (!failed_ && tok_.kind != Tok::end) fail("E_SIGMA_CONDITION", tok_.pos, unexpected());
    return failed_ ? nullptr : std::move(e);
  }

 private:
  std::string unexpected() const {
    return tok_.kind == Tok::end ? std::string("unexpected end of the condition")
                                 : fmt::format("unexpected '{}'", tok_.text);
  }

  void fail(const char* code, std::size_t pos, std::string msg) {
    if (failed_) return;
    failed_ = true;
    diags_.error(code, where_(pos), std::move(msg));
  }

  void next() {
    while (i_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[i_]))) ++i_;
    tok_ = Token{Tok::end, "", i_};
    if (i_ >= text_.size()) return;
    const char c = text_[i_];
    if (c == '(' || c == ')') {
      tok_ = Token{c == '(' ? Tok::lparen : Tok::rparen, std::string(1, c), i_++};
      return;
    }
    if (c == '|') {
      // The obsolete aggregation syntax: `selection | count() by x > 5`.
      std::size_t j = i_ + 1;
      while (j < text_.size() && std::isspace(static_cast<unsigned char>(text_[j]))) ++j;
      const bool near = text_.substr(j, 4) == "near";
      fail(near ? "E_SIGMA_UNSUPPORTED_NEAR" : "E_SIGMA_UNSUPPORTED_AGGREGATION", i_,
           near ? "'| near' (the obsolete temporal syntax) is not supported: write a Sigma "
                  "correlation rule of type temporal"
                : "aggregations in the condition ('| count() ...') are not supported: write a "
                  "Sigma correlation rule (event_count, value_count)");
      tok_ = Token{Tok::bad, "|", i_};
      i_ = text_.size();
      return;
    }
    if (word_char(c)) {
      const std::size_t start = i_;
      while (i_ < text_.size() && word_char(text_[i_])) ++i_;
      tok_ = Token{Tok::word, std::string(text_.substr(start, i_ - start)), start};
      return;
    }
    tok_ = Token{Tok::bad, std::string(1, c), i_++};
  }

  std::unique_ptr<CondNode> node(CondNode::Kind kind, std::size_t pos) {
    auto n = std::make_unique<CondNode>();
    n->kind = kind;
    n->offset = pos;
    return n;
  }

  std::unique_ptr<CondNode> parse_or(int depth) {
    auto first = parse_and(depth);
    if (failed_ || !is(tok_, "or")) return first;
    auto n = node(CondNode::Kind::or_, first->offset);
    n->kids.push_back(std::move(first));
    while (!failed_ && is(tok_, "or")) {
      next();
      auto k = parse_and(depth);
      if (!k) return nullptr;
      n->kids.push_back(std::move(k));
    }
    return n;
  }

  std::unique_ptr<CondNode> parse_and(int depth) {
    auto first = parse_not(depth);
    if (failed_ || !is(tok_, "and")) return first;
    auto n = node(CondNode::Kind::and_, first->offset);
    n->kids.push_back(std::move(first));
    while (!failed_ && is(tok_, "and")) {
      next();
      auto k = parse_not(depth);
      if (!k) return nullptr;
      n->kids.push_back(std::move(k));
    }
    return n;
  }

  std::unique_ptr<CondNode> parse_not(int depth) {
    if (depth > kMaxConditionDepth) {
      fail("E_SIGMA_CONDITION", tok_.pos,
           fmt::format("condition nested deeper than {} levels", kMaxConditionDepth));
      return nullptr;
    }
    if (failed_) return nullptr;
    if (is(tok_, "not")) {
      auto n = node(CondNode::Kind::not_, tok_.pos);
      next();
      auto k = parse_not(depth + 1);
      if (!k) return nullptr;
      n->kids.push_back(std::move(k));
      return n;
    }
    if (tok_.kind == Tok::lparen) {
      next();
      auto inner = parse_or(depth + 1);
      if (failed_) return nullptr;
      if (tok_.kind != Tok::rparen) {
        fail("E_SIGMA_CONDITION", tok_.pos, "expected ')', " + unexpected());
        return nullptr;
      }
      next();
      return inner;
    }
    if (tok_.kind != Tok::word || is(tok_, "and") || is(tok_, "or") || is(tok_, "of")) {
      fail("E_SIGMA_CONDITION", tok_.pos, "expected a selection name, " + unexpected());
      return nullptr;
    }
    Token first = tok_;
    next();
    if (is(tok_, "of")) {
      const bool all = is(first, "all");
      if (!all && first.text != "1") {
        fail("E_SIGMA_CONDITION", first.pos,
             fmt::format("'{} of' is not Sigma: write '1 of' or 'all of'", first.text));
        return nullptr;
      }
      next();
      if (tok_.kind != Tok::word) {
        fail("E_SIGMA_CONDITION", tok_.pos, "expected a selection pattern or 'them' after 'of'");
        return nullptr;
      }
      auto n = node(all ? CondNode::Kind::all_of : CondNode::Kind::one_of, first.pos);
      n->name = is(tok_, "them") ? "them" : tok_.text;
      // Where the pattern is, for "matches no selection".
      n->offset = tok_.pos;
      next();
      return n;
    }
    auto n = node(CondNode::Kind::ident, first.pos);
    n->name = std::move(first.text);
    return n;
  }

  std::string_view text_;
  const Locator& where_;
  Diagnostics& diags_;
  std::size_t i_ = 0;
  Token tok_;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<CondNode> parse_condition(std::string_view text, const Locator& where,
                                          Diagnostics& diags) {
  return Parser(text, where, diags).parse();
}

ast::ExprPtr combine(ast::Expr::Kind kind, std::vector<ast::ExprPtr> kids, const SourceLoc& loc) {
  if (kids.size() == 1) return std::move(kids[0]);
  auto e = std::make_unique<ast::Expr>();
  e->kind = kind;
  e->loc = kids.empty() ? loc : kids[0]->loc;
  for (auto& k : kids) {
    if (k->kind == kind) {  // (a and b) and c -> a and b and c
      for (auto& kk : k->kids) e->kids.push_back(std::move(kk));
    } else {
      e->kids.push_back(std::move(k));
    }
  }
  return e;
}

ast::ExprPtr negate(ast::ExprPtr e) {
  if (e->kind == ast::Expr::Kind::not_) return std::move(e->kids[0]);
  auto n = std::make_unique<ast::Expr>();
  n->kind = ast::Expr::Kind::not_;
  n->loc = e->loc;
  n->kids.push_back(std::move(e));
  return n;
}

ast::ExprPtr expand_condition(const CondNode& node, const Selections& selections,
                              const Locator& where, Diagnostics& diags) {
  using K = CondNode::Kind;
  switch (node.kind) {
    case K::and_:
    case K::or_: {
      std::vector<ast::ExprPtr> kids;
      bool ok = true;
      for (const auto& k : node.kids) {
        auto e = expand_condition(*k, selections, where, diags);
        if (!e) {
          ok = false;
          continue;
        }
        kids.push_back(std::move(e));
      }
      if (!ok) return nullptr;
      return combine(node.kind == K::and_ ? ast::Expr::Kind::and_ : ast::Expr::Kind::or_,
                     std::move(kids), where(node.offset));
    }
    case K::not_: {
      auto e = expand_condition(*node.kids.at(0), selections, where, diags);
      return e ? negate(std::move(e)) : nullptr;
    }
    case K::ident:
      for (const auto& [name, expr] : selections) {
        if (name == node.name) return ast::clone(*expr);
      }
      diags.error("E_SIGMA_UNKNOWN_IDENTIFIER", where(node.offset),
                  fmt::format("'{}' is not a selection of this detection", node.name));
      return nullptr;
    case K::one_of:
    case K::all_of: {
      std::vector<ast::ExprPtr> kids;
      if (node.name == "them") {
        for (const auto& [name, expr] : selections) {
          if (!name.starts_with('_')) kids.push_back(ast::clone(*expr));
        }
      } else {
        Glob::Error err;
        const auto glob = Glob::compile(node.name, &err);
        if (!glob) {
          diags.error("E_SIGMA_CONDITION", where(node.offset + err.offset),
                      fmt::format("bad selection pattern '{}': {}", node.name, err.message));
          return nullptr;
        }
        for (const auto& [name, expr] : selections) {
          if (glob->matches(name)) kids.push_back(ast::clone(*expr));
        }
      }
      if (kids.empty()) {
        diags.error("E_SIGMA_UNKNOWN_IDENTIFIER", where(node.offset),
                    fmt::format("'{}' matches no selection of this detection", node.name));
        return nullptr;
      }
      return combine(node.kind == K::all_of ? ast::Expr::Kind::and_ : ast::Expr::Kind::or_,
                     std::move(kids), where(node.offset));
    }
  }
  return nullptr;
}

}  // namespace sevwatch::rules::sigma
