#include "detectors/grant_statement_parser.h"

#include <cstddef>
#include <utility>

#include "detectors/sql_lexer.h"

namespace sevwatch::detectors {
namespace {

// Words reserved in every dialect we read: never a bare name.
bool is_reserved(const Token& t) {
  static constexpr std::string_view kReserved[] = {"ALL",   "FROM", "GRANT", "ON",
                                                   "TABLE", "TO",   "WITH"};
  for (std::string_view kw : kReserved) {
    if (t.is_keyword(kw)) return true;
  }
  return false;
}

bool is_name_token(const Token& t) {
  return (t.kind == TokenKind::word && !is_reserved(t)) || t.kind == TokenKind::quoted_ident ||
         t.is_punct('*');
}

std::string describe(const Token* t) {
  if (t == nullptr) return "end of statement";
  return "'" + t->text + "'";
}

ObjectLevel level_for_type(std::string_view type) {
  if (type.empty() || type == "TABLE" || type == "VIEW" || type == "MATERIALIZED VIEW" ||
      type == "EXTERNAL TABLE" || type == "FOREIGN TABLE" || type == "DYNAMIC TABLE" ||
      type == "ICEBERG TABLE") {
    return ObjectLevel::table;
  }
  if (type == "SCHEMA") return ObjectLevel::schema;
  if (type == "DATABASE") return ObjectLevel::catalog;
  const bool bulk =
      type.starts_with("ALL ") || type.starts_with("FUTURE ") || type.starts_with("DEFAULT ");
  if (bulk && type.ends_with(" IN SCHEMA")) return ObjectLevel::schema;
  if (bulk && type.ends_with(" IN DATABASE")) return ObjectLevel::catalog;
  return ObjectLevel::none;
}

// A half-open range of token indexes.
struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool empty() const { return begin >= end; }
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  GrantParseResult run() {
    GrantParseResult r;
    if (parse()) {
      r.ok = true;
      r.grant = std::move(g_);
    } else {
      r.error = std::move(error_);
    }
    return r;
  }

 private:
  const Token* peek(std::size_t k = 0) const {
    return pos_ + k < toks_.size() ? &toks_[pos_ + k] : nullptr;
  }
  bool next_is_kw(std::string_view kw) const { return peek() != nullptr && peek()->is_keyword(kw); }
  bool accept_kw(std::string_view kw) {
    if (!next_is_kw(kw)) return false;
    ++pos_;
    return true;
  }
  bool accept_punct(char c) {
    if (peek() == nullptr || !peek()->is_punct(c)) return false;
    ++pos_;
    return true;
  }
  bool expect_kw(std::string_view kw, std::string_view where) {
    if (accept_kw(kw)) return true;
    return fail("expected " + std::string(kw) + " " + std::string(where) + ", got " +
                describe(peek()));
  }
  bool fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    return false;
  }
  bool at_direction_kw() const { return next_is_kw("TO") || next_is_kw("FROM"); }

  bool parse() {
    if (toks_.empty() || (toks_.size() == 1 && toks_[0].is_punct(';'))) {
      return fail("empty statement");
    }
    std::vector<std::vector<std::string>> default_schemas;
    if (accept_kw("ALTER")) {
      if (!expect_kw("DEFAULT", "after ALTER") || !expect_kw("PRIVILEGES", "after DEFAULT")) {
        return false;
      }
      g_.default_privileges = true;
      if (!parse_default_privileges_prefix(default_schemas)) return false;
    }
    if (accept_kw("REVOKE")) {
      g_.is_revoke = true;
      if (next_is_kw("GRANT") || next_is_kw("ADMIN")) {
        const Token* t2 = peek(1);
        if (t2 != nullptr && t2->is_keyword("OPTION")) {
          pos_ += 2;
          if (!expect_kw("FOR", "after OPTION")) return false;
          g_.with_grant_option = true;
        }
      }
    } else if (!accept_kw("GRANT")) {
      return fail("expected GRANT or REVOKE, got " + describe(peek()));
    }

    if (!parse_privileges()) return false;
    if (g_.default_privileges) {
      if (!g_.role_membership && !parse_default_targets(default_schemas)) return false;
      if (g_.role_membership) return fail("ALTER DEFAULT PRIVILEGES needs ON <object type>");
    }
    const std::string_view direction = g_.is_revoke ? "FROM" : "TO";
    if (!accept_kw(direction)) {
      if (at_direction_kw()) {
        return fail("expected " + std::string(direction) + ", got " + describe(peek()));
      }
      return fail("expected " + std::string(direction) + " after the object name, got " +
                  describe(peek()));
    }
    if (!parse_grantees()) return false;
    return parse_tail();
  }

  // [FOR ROLE|USER r, ...] [IN SCHEMA s, ...] in any order.
  bool parse_default_privileges_prefix(std::vector<std::vector<std::string>>& schemas) {
    for (;;) {
      if (accept_kw("FOR")) {
        if (!accept_kw("ROLE") && !accept_kw("USER")) {
          return fail("expected ROLE or USER after FOR, got " + describe(peek()));
        }
        do {
          std::vector<std::string> ignored;
          if (!parse_name(ignored)) return fail("expected a role name after FOR ROLE");
        } while (accept_punct(','));
      } else if (accept_kw("IN")) {
        if (!expect_kw("SCHEMA", "after IN")) return false;
        do {
          std::vector<std::string> parts;
          if (!parse_name(parts)) return fail("expected a schema name after IN SCHEMA");
          schemas.push_back(std::move(parts));
        } while (accept_punct(','));
      } else {
        return true;
      }
    }
  }

  // A dotted name at the cursor: ident ('.' ident)*.
  bool parse_name(std::vector<std::string>& parts) {
    const Token* t = peek();
    if (t == nullptr || !is_name_token(*t)) return false;
    parts.push_back(t->text);
    ++pos_;
    while (peek() != nullptr && peek()->is_punct('.')) {
      const Token* n = peek(1);
      if (n == nullptr || !is_name_token(*n)) return false;
      parts.push_back(n->text);
      pos_ += 2;
    }
    return true;
  }

  // Privileges (or roles, for role membership) up to ON / TO / FROM.
  bool parse_privileges() {
    struct Item {
      std::vector<const Token*> words;
      bool quoted = false;
    };
    std::vector<Item> items;
    std::string columns;
    for (;;) {
      Item item;
      while (peek() != nullptr && !peek()->is_punct(',') && !next_is_kw("ON") &&
             !at_direction_kw()) {
        const Token* t = peek();
        if (t->is_punct('(')) {
          ++pos_;
          do {
            const Token* c = peek();
            if (c == nullptr || !(c->is_word() || c->kind == TokenKind::quoted_ident)) {
              return fail("expected a column name in the column list, got " + describe(c));
            }
            if (!columns.empty()) columns.push_back(',');
            columns += c->text;
            ++pos_;
          } while (accept_punct(','));
          if (!accept_punct(')')) return fail("expected ')' after the column list");
          continue;
        }
        if (t->kind != TokenKind::word && t->kind != TokenKind::quoted_ident) {
          return fail("unexpected " + describe(t) + " in the privilege list");
        }
        if (t->kind == TokenKind::quoted_ident) item.quoted = true;
        item.words.push_back(t);
        ++pos_;
      }
      if (item.words.empty()) return fail("expected a privilege, got " + describe(peek()));
      items.push_back(std::move(item));
      if (!accept_punct(',')) break;
    }
    g_.columns = std::move(columns);

    if (accept_kw("ON")) {
      for (const Item& item : items) {
        if (item.quoted) return fail("a privilege cannot be a quoted name");
        std::string priv;
        for (const Token* w : item.words) {
          if (!priv.empty()) priv.push_back(' ');
          priv += to_upper(w->text);
        }
        if (priv == "ALL PRIVILEGES") priv = "ALL";
        g_.privileges.push_back(std::move(priv));
      }
      if (g_.default_privileges) return true;  // targets come from IN SCHEMA
      return parse_targets();
    }
    if (!at_direction_kw()) return fail("expected ON or TO, got " + describe(peek()));
    // GRANT role[, role] TO ... (Hive writes GRANT ROLE r TO ...).
    g_.role_membership = true;
    for (const Item& item : items) {
      std::size_t first = 0;
      if (item.words.size() == 2 && item.words[0]->is_keyword("ROLE")) first = 1;
      if (item.words.size() - first != 1) {
        return fail("expected ON after the privileges, got " + describe(peek()));
      }
      g_.targets.push_back({"ROLE", {item.words[first]->text}, ObjectLevel::none});
    }
    return true;
  }

  // ALTER DEFAULT PRIVILEGES ... ON TABLES|SEQUENCES|FUNCTIONS|... TO
  bool parse_default_targets(const std::vector<std::vector<std::string>>& schemas) {
    std::string kind;
    while (peek() != nullptr && peek()->is_word() && !at_direction_kw()) {
      if (!kind.empty()) kind.push_back(' ');
      kind += to_upper(peek()->text);
      ++pos_;
    }
    if (kind.empty()) return fail("expected an object type after ON, got " + describe(peek()));
    if (schemas.empty()) {
      g_.targets.push_back({"DEFAULT " + kind + " IN DATABASE", {}, ObjectLevel::catalog});
    }
    for (const auto& s : schemas) {
      g_.targets.push_back({"DEFAULT " + kind + " IN SCHEMA", s, ObjectLevel::schema});
    }
    return true;
  }

  // Splits the tokens up to TO/FROM into comma-separated items (outside
  // parentheses) and reads "[type words] name [(args)]" from each.
  bool parse_targets() {
    std::string type;
    bool first = true;
    for (;;) {
      Span item{pos_, pos_};
      int depth = 0;
      while (pos_ < toks_.size()) {
        const Token& t = toks_[pos_];
        if (depth == 0 && (t.is_punct(',') || t.is_keyword("TO") || t.is_keyword("FROM"))) break;
        if (t.is_punct('(')) ++depth;
        if (t.is_punct(')') && --depth < 0) return fail("unbalanced ')' in the object name");
        ++pos_;
      }
      item.end = pos_;
      if (depth != 0) return fail("unbalanced '(' in the object name");
      GrantTarget target;
      if (!read_target(item, target)) return false;
      if (first) {
        type = target.type;
        first = false;
      } else if (target.type.empty()) {
        target.type = type;
      }
      target.level = level_for_type(target.type);
      g_.targets.push_back(std::move(target));
      if (!accept_punct(',')) break;
    }
    return true;
  }

  bool read_target(Span s, GrantTarget& target) {
    if (s.empty()) return fail("expected an object name after ON, got " + describe(peek()));
    std::size_t end = s.end;
    if (toks_[end - 1].is_punct(')')) {  // function signature: drop "(args)"
      int depth = 0;
      while (end > s.begin) {
        --end;
        if (toks_[end].is_punct(')')) ++depth;
        if (toks_[end].is_punct('(') && --depth == 0) break;
      }
    }
    // The name is the longest suffix of the form ident ('.' ident)*.
    if (end == s.begin || !is_name_token(toks_[end - 1])) {
      return fail("expected an object name after ON, got " + describe(&toks_[s.begin]));
    }
    std::size_t name_begin = end - 1;
    while (name_begin >= s.begin + 2 && toks_[name_begin - 1].is_punct('.') &&
           is_name_token(toks_[name_begin - 2])) {
      name_begin -= 2;
    }
    for (std::size_t i = name_begin; i < end; i += 2) target.name_parts.push_back(toks_[i].text);
    for (std::size_t i = s.begin; i < name_begin; ++i) {
      if (!toks_[i].is_word()) {
        return fail("unexpected " + describe(&toks_[i]) + " in the object after ON");
      }
      if (!target.type.empty()) target.type.push_back(' ');
      target.type += to_upper(toks_[i].text);
    }
    return true;
  }

  bool at_tail_kw() const {
    static constexpr std::string_view kTail[] = {"WITH",     "GRANTED", "CASCADE",
                                                 "RESTRICT", "COPY",    "REVOKE"};
    for (std::string_view kw : kTail) {
      if (next_is_kw(kw)) return true;
    }
    return false;
  }

  bool parse_grantees() {
    for (;;) {
      std::vector<const Token*> words;
      while (peek() != nullptr && peek()->is_word() && !at_tail_kw()) {
        // Kind words are followed by more of the item; the name is the last part.
        const Token* n = peek(1);
        if (n == nullptr || !(n->is_word() || n->kind == TokenKind::quoted_ident)) break;
        if (n->is_word() &&
            (n->is_keyword("WITH") || n->is_keyword("GRANTED") || n->is_keyword("CASCADE") ||
             n->is_keyword("RESTRICT") || n->is_keyword("COPY"))) {
          break;
        }
        words.push_back(peek());
        ++pos_;
      }
      Grantee grantee;
      std::string kind;
      for (const Token* w : words) {
        if (!kind.empty()) kind.push_back(' ');
        kind += to_upper(w->text);
      }
      if (kind == "USER") {
        grantee.kind = GranteeKind::user;
      } else if (kind == "GROUP") {
        grantee.kind = GranteeKind::group;
      } else if (kind == "ROLE" || kind == "DATABASE ROLE" || kind == "APPLICATION ROLE") {
        grantee.kind = GranteeKind::role;
      } else if (kind == "SHARE" || kind == "APPLICATION") {
        grantee.kind = GranteeKind::unknown;
      } else if (!kind.empty()) {
        return fail("unknown grantee type '" + kind + "'");
      }
      const Token* name_tok = peek();
      std::vector<std::string> parts;
      if (!parse_name(parts)) return fail("expected a grantee, got " + describe(peek()));
      for (const auto& p : parts) {
        if (!grantee.name.empty()) grantee.name.push_back('.');
        grantee.name += p;
      }
      if (kind.empty() && parts.size() == 1 && name_tok->is_keyword("PUBLIC")) {
        grantee.kind = GranteeKind::group;  // PostgreSQL's every-role pseudo-role
      }
      g_.grantees.push_back(std::move(grantee));
      if (!accept_punct(',')) break;
    }
    return true;
  }

  bool parse_tail() {
    for (;;) {
      if (accept_kw("WITH")) {
        const Token* what = peek();
        if (what == nullptr || !what->is_word()) {
          return fail("expected GRANT OPTION after WITH, got " + describe(what));
        }
        ++pos_;
        if (accept_kw("OPTION") || accept_kw("TRUE")) {
          if (what->is_keyword("GRANT") || what->is_keyword("ADMIN")) g_.with_grant_option = true;
        } else if (!accept_kw("FALSE")) {
          return fail("expected OPTION after WITH " + what->text + ", got " + describe(peek()));
        }
      } else if (accept_kw("GRANTED")) {
        std::vector<std::string> ignored;
        if (!expect_kw("BY", "after GRANTED") || !parse_name(ignored)) {
          return fail("expected a role name after GRANTED BY");
        }
      } else if (accept_kw("CASCADE") || accept_kw("RESTRICT")) {
      } else if (accept_kw("COPY") || accept_kw("REVOKE")) {
        if (!expect_kw("CURRENT", "in the grant tail") || !expect_kw("GRANTS", "after CURRENT")) {
          return false;
        }
      } else {
        break;
      }
    }
    accept_punct(';');
    if (peek() != nullptr) {
      return fail("unexpected " + describe(peek()) + " after the grantees");
    }
    return true;
  }

  std::vector<Token> toks_;
  std::size_t pos_ = 0;
  ParsedGrant g_;
  std::string error_;
};

}  // namespace

GrantParseResult parse_grant_statement(std::string_view sql) {
  LexResult lex = lex_sql(sql);
  if (!lex.error.empty()) {
    GrantParseResult r;
    r.error = std::move(lex.error);
    return r;
  }
  return Parser(std::move(lex.tokens)).run();
}

std::string qualify_name(std::string_view catalog, std::string_view default_schema,
                         const std::vector<std::string>& parts, ObjectLevel level) {
  std::size_t needed = 0;
  switch (level) {
    case ObjectLevel::table:
      needed = 3;
      break;
    case ObjectLevel::schema:
      needed = 2;
      break;
    case ObjectLevel::catalog:
      needed = 1;
      break;
    case ObjectLevel::none:
      needed = parts.size();
      break;
  }
  std::string out;
  auto append = [&out](std::string_view p) {
    if (!out.empty()) out.push_back('.');
    out += p;
  };
  if (parts.size() < needed) {
    append(catalog);
    if (level == ObjectLevel::table && parts.size() == 1) append(default_schema);
  }
  for (const auto& p : parts) append(p);
  return out;
}

}  // namespace sevwatch::detectors
