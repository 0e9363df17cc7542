// A small SQL tokenizer: words, quoted identifiers ("x", `x`), string
// literals ('x'), single-character punctuation. Comments (-- and /* */) are
// skipped. Used by the GRANT/REVOKE parser and by decoders that need to find
// names in statement text. Never throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sevwatch::detectors {

enum class TokenKind { word, quoted_ident, string_literal, punct };

struct Token {
  TokenKind kind = TokenKind::word;
  std::string text;        // word as written; quoted identifier / literal unescaped; punct char
  std::size_t offset = 0;  // byte offset in the statement

  bool is_word() const { return kind == TokenKind::word; }
  // Case-insensitive keyword test (bare words only).
  bool is_keyword(std::string_view kw) const;
  bool is_punct(char c) const {
    return kind == TokenKind::punct && text.size() == 1 && text[0] == c;
  }
};

struct LexResult {
  std::vector<Token> tokens;
  std::string error;  // empty on success
};

// Bare words are [A-Za-z0-9_$] runs (a '-' inside a word is kept, so
// `mci-eng` is one word).
LexResult lex_sql(std::string_view sql);

bool iequals(std::string_view a, std::string_view b);
std::string to_upper(std::string_view s);

}  // namespace sevwatch::detectors
