#include "rules/glob.h"

#include <fmt/format.h>

namespace sevwatch::rules {
namespace {

bool fail(Glob::Error* error, std::string message, std::size_t offset) {
  if (error != nullptr) {
    error->message = std::move(message);
    error->offset = offset;
  }
  return false;
}

// Parses the class starting at pattern[i] == '['; on success sets `end` to the
// index just past the closing ']'.
bool parse_class(std::string_view p, std::size_t i, std::bitset<256>& set, std::size_t& end,
                 Glob::Error* error) {
  const std::size_t open = i;
  ++i;
  bool negate = false;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
    negate = true;
    ++i;
  }
  bool first = true;
  bool any = false;
  while (true) {
    if (i >= p.size()) return fail(error, "unclosed '[' in glob", open);
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c == ']' && !first) break;
    first = false;
    if (c == '\\') {
      if (i + 1 >= p.size()) return fail(error, "trailing '\\' in glob", i);
      c = static_cast<unsigned char>(p[++i]);
    }
    ++i;
    // A range a-z, unless the '-' is the last character before ']'.
    if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
      std::size_t j = i + 1;
      unsigned char hi = static_cast<unsigned char>(p[j]);
      if (hi == '\\') {
        if (j + 1 >= p.size()) return fail(error, "trailing '\\' in glob", j);
        hi = static_cast<unsigned char>(p[++j]);
      }
      if (hi < c) {
        return fail(error,
                    fmt::format("reversed range '{}-{}' in glob", static_cast<char>(c),
                                static_cast<char>(hi)),
                    i - 1);
      }
      for (unsigned v = c; v <= hi; ++v) set.set(v);
      i = j + 1;
    } else {
      set.set(c);
    }
    any = true;
  }
  if (!any) return fail(error, "empty character class in glob", open);
  if (negate) set.flip();
  end = i + 1;
  return true;
}

}  // namespace

std::optional<Glob> Glob::compile(std::string_view p, Error* error) {
  Glob g;
  g.pattern_ = std::string(p);
  bool leading = true;  // still in the leading literal part
  std::size_t i = 0;
  auto add_char = [&g](char c) {
    if (g.tokens_.empty() || g.tokens_.back().type != Token::lit) {
      g.tokens_.push_back(Token{Token::lit, static_cast<std::uint32_t>(g.text_.size()), 0});
    }
    g.text_ += c;
    ++g.tokens_.back().size;
  };
  while (i < p.size()) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) {
        fail(error, "trailing '\\' in glob", i);
        return std::nullopt;
      }
      add_char(p[i + 1]);
      if (leading) g.literal_ += p[i + 1];
      i += 2;
    } else if (c == '*') {
      leading = false;
      // Consecutive stars are one star.
      if (g.tokens_.empty() || g.tokens_.back().type != Token::star) {
        g.tokens_.push_back(Token{Token::star, 0, 0});
      }
      ++i;
    } else if (c == '?') {
      leading = false;
      g.tokens_.push_back(Token{Token::one, 0, 0});
      ++i;
    } else if (c == '[') {
      leading = false;
      std::bitset<256> set;
      std::size_t end = 0;
      if (!parse_class(p, i, set, end, error)) return std::nullopt;
      g.tokens_.push_back(Token{Token::cls, static_cast<std::uint32_t>(g.classes_.size()), 0});
      g.classes_.push_back(set);
      i = end;
    } else {
      add_char(c);
      if (leading) g.literal_ += c;
      ++i;
    }
  }
  const auto& t = g.tokens_;
  if (t.empty() || (t.size() == 1 && t[0].type == Token::lit)) {
    g.kind_ = Kind::literal;
  } else if (t.size() == 1 && t[0].type == Token::star) {
    g.kind_ = Kind::any;
  } else if (t.size() == 2 && t[0].type == Token::lit && t[1].type == Token::star) {
    g.kind_ = Kind::prefix;
  } else {
    g.kind_ = Kind::general;
  }
  return g;
}

bool Glob::matches(std::string_view s) const {
  switch (kind_) {
    case Kind::literal:
      return s == literal_;
    case Kind::any:
      return true;
    case Kind::prefix:
      return s.starts_with(literal_);
    case Kind::general:
      break;
  }
  return match_general(s);
}

// Greedy matching with backtracking to the last star only: every token but the
// star has a fixed width, for which this is exact, in O(|s| * |pattern|).
bool Glob::match_general(std::string_view s) const {
  const std::size_t nt = tokens_.size();
  const std::size_t ns = s.size();
  std::size_t ti = 0;
  std::size_t si = 0;
  std::size_t star_ti = nt;  // none yet
  std::size_t star_si = 0;
  const std::string_view text(text_);
  while (ti < nt || si < ns) {
    if (ti < nt) {
      const Token& tok = tokens_[ti];
      switch (tok.type) {
        case Token::star:
          star_ti = ti;
          star_si = si;
          ++ti;
          continue;
        case Token::one:
          if (si < ns) {
            ++si;
            ++ti;
            continue;
          }
          break;
        case Token::cls:
          if (si < ns && classes_[tok.index].test(static_cast<unsigned char>(s[si]))) {
            ++si;
            ++ti;
            continue;
          }
          break;
        case Token::lit:
          if (s.substr(si).starts_with(text.substr(tok.index, tok.size))) {
            si += tok.size;
            ++ti;
            continue;
          }
          break;
      }
    }
    if (star_ti < nt && star_si < ns) {
      ++star_si;
      si = star_si;
      ti = star_ti + 1;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace sevwatch::rules
