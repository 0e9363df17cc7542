#include "detectors/json_guard.h"

#include <cstdint>
#include <cstring>

namespace sevwatch::detectors {

JsonShape scan_json_shape(std::string_view line, std::size_t max_depth) {
  std::size_t depth = 0;
  const char* p = line.data();
  const char* const end = p + line.size();
  while (p < end) {
    const char c = *p++;
    switch (c) {
      case '"': {
        // Jump to the closing quote: one that is preceded by an even number
        // of backslashes. memchr does the long runs of string bytes.
        for (;;) {
          const auto* q =
              static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
          if (q == nullptr) return JsonShape::truncated;
          std::size_t backslashes = 0;
          for (const char* b = q; b > p && b[-1] == '\\'; --b) ++backslashes;
          p = q + 1;
          if (backslashes % 2 == 0) break;
        }
        break;
      }
      case '{':
      case '[':
        if (++depth > max_depth) return JsonShape::too_deep;
        break;
      case '}':
      case ']':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return depth == 0 ? JsonShape::ok : JsonShape::truncated;
}

std::size_t count_open_brackets(std::string_view line) {
  // Byte-wide counters over fixed blocks: the compiler keeps the loop in
  // byte lanes (no widening of every byte to 64 bits, no scalar tail per
  // block); 128 fits a byte counter.
  constexpr std::size_t kBlock = 128;
  auto open = [](char c) { return static_cast<std::uint8_t>((c == '{') | (c == '[')); };
  std::size_t n = 0;
  const char* p = line.data();
  std::size_t left = line.size();
  for (; left >= kBlock; p += kBlock, left -= kBlock) {
    std::uint8_t count = 0;
    for (std::size_t i = 0; i < kBlock; ++i) count = static_cast<std::uint8_t>(count + open(p[i]));
    n += count;
  }
  for (std::size_t i = 0; i < left; ++i) n += open(p[i]);
  return n;
}

std::string_view trim_json_ws(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && ws(s[b])) ++b;
  while (e > b && ws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace sevwatch::detectors
