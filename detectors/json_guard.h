// Cheap checks on one JSON line before handing it to simdjson: nesting depth
// and truncation, found by scanning brackets outside strings (no recursion,
// so a 5,000-deep "[[[[" costs one pass and nothing else).
#pragma once

#include <cstddef>
#include <string_view>

namespace sevwatch::detectors {

enum class JsonShape {
  ok,
  too_deep,   // more than max_depth nested objects/arrays
  truncated,  // a string or an object/array is still open at the end of the line
};

JsonShape scan_json_shape(std::string_view line, std::size_t max_depth);

// '{' and '[' bytes anywhere in the line (inside strings too): an upper bound
// on the nesting depth, counted in a loop the compiler vectorizes.
std::size_t count_open_brackets(std::string_view line);

// Drops leading and trailing JSON whitespace (space, tab, CR, LF).
std::string_view trim_json_ws(std::string_view s);

}  // namespace sevwatch::detectors
