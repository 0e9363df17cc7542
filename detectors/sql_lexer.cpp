#include "detectors/sql_lexer.h"

#include <cctype>

namespace sevwatch::detectors {
namespace {

bool is_word_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '_' || c == '$' || u >= 0x80;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool Token::is_keyword(std::string_view kw) const {
  return is_word() && iequals(text, kw);
}

LexResult lex_sql(std::string_view sql) {
  LexResult r;
  std::size_t i = 0;
  const std::size_t n = sql.size();
  while (i < n) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      const auto end = sql.find("*/", i + 2);
      if (end == std::string_view::npos) {
        r.error = "unterminated comment";
        return r;
      }
      i = end + 2;
      continue;
    }
    Token t;
    t.offset = i;
    if (c == '"' || c == '`' || c == '\'') {
      // Quoted: the quote character doubled inside stands for itself.
      t.kind = c == '\'' ? TokenKind::string_literal : TokenKind::quoted_ident;
      ++i;
      bool closed = false;
      while (i < n) {
        if (sql[i] == c) {
          if (i + 1 < n && sql[i + 1] == c) {
            t.text.push_back(c);
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        t.text.push_back(sql[i++]);
      }
      if (!closed) {
        r.error = c == '\'' ? "unterminated string literal" : "unterminated quoted identifier";
        return r;
      }
    } else if (is_word_char(c)) {
      const std::size_t start = i;
      while (i < n && (is_word_char(sql[i]) ||
                       (sql[i] == '-' && i + 1 < n && is_word_char(sql[i + 1]) && i > start))) {
        ++i;
      }
      t.kind = TokenKind::word;
      t.text.assign(sql.substr(start, i - start));
    } else {
      t.kind = TokenKind::punct;
      t.text.assign(1, c);
      ++i;
    }
    r.tokens.push_back(std::move(t));
  }
  return r;
}

}  // namespace sevwatch::detectors
