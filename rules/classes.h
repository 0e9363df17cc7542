// The vocabularies shared by context, rules and the SEV rubric: sensitivity
// levels, audience breadth classes and access-evidence classes. Each enum is
// ordered from most to least severe, so a smaller value is "broader"/"worse".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sevwatch::rules {

enum class Level : std::uint8_t { critical, high, medium, low, public_ };

enum class Audience : std::uint8_t {
  internet,     // anonymous
  external,     // authenticated principals outside the organization
  company,      // everyone inside
  department,   // a large internal group beyond need-to-know
  narrow,       // a few principals beyond need-to-know
  ineffective,  // a grant that does not take effect
};

enum class Evidence : std::uint8_t { exfiltration, external, improper, none };

std::string_view to_string(Level v);
std::string_view to_string(Audience v);
std::string_view to_string(Evidence v);
std::optional<Level> parse_level(std::string_view s);
std::optional<Audience> parse_audience(std::string_view s);
std::optional<Evidence> parse_evidence(std::string_view s);

}  // namespace sevwatch::rules
