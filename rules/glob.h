// Shell-style globs over object and principal names, compiled once.
//
//   *      any run of characters, dots and slashes included (possibly empty)
//   ?      exactly one character (byte)
//   [abc]  one of a, b, c; [a-z] a range; [!a-z] or [^a-z] negated; a `]`
//          right after `[` (or `[!`) is literal
//   \c     the character c literally (also inside a class)
//
// Matching is case-sensitive and bytewise. A malformed pattern (an unclosed
// `[`, an empty or reversed range, a trailing `\`) does not compile.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sevwatch::rules {

class Glob {
 public:
  struct Error {
    std::string message;
    std::size_t offset = 0;  // 0-based byte offset into the pattern
  };

  // Returns nullopt for a malformed pattern and, when `error` is given, says why.
  static std::optional<Glob> compile(std::string_view pattern, Error* error = nullptr);

  bool matches(std::string_view text) const;

  // True when the pattern has no metacharacters: it matches exactly literal().
  bool is_literal() const { return kind_ == Kind::literal; }
  // The unescaped text: the whole name for a literal pattern, the leading
  // literal part otherwise.
  const std::string& literal() const { return literal_; }
  const std::string& pattern() const { return pattern_; }

 private:
  enum class Kind : std::uint8_t { literal, any, prefix, general };
  struct Token {
    enum Type : std::uint8_t { lit, one, cls, star } type;
    std::uint32_t index = 0;  // lit: offset into text_; cls: index into classes_
    std::uint32_t size = 0;   // lit: length
  };

  bool match_general(std::string_view s) const;

  Kind kind_ = Kind::general;
  std::string pattern_;
  std::string literal_;
  std::string text_;  // concatenated literal runs
  std::vector<Token> tokens_;
  std::vector<std::bitset<256>> classes_;
};

}  // namespace sevwatch::rules
