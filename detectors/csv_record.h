// RFC 4180 field splitting for one CSV record (which may contain newlines
// inside quoted fields): "" inside quotes is one quote.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sevwatch::detectors {

// Fills `fields` (reusing its strings). Returns false when a quoted field is
// not closed. Stray quotes inside an unquoted field are kept as text.
bool split_csv_record(std::string_view record, std::vector<std::string>& fields,
                      std::size_t& count);

// True when the quotes seen so far leave a quoted field open (odd count).
inline bool odd_quote_count(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += c == '"' ? 1 : 0;
  return n % 2 == 1;
}

}  // namespace sevwatch::detectors
