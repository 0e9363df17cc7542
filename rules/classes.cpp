#include "rules/classes.h"

#include <array>
#include <cstddef>
#include <utility>

namespace sevwatch::rules {
namespace {

constexpr std::array<std::pair<Level, std::string_view>, 5> kLevels{{
    {Level::critical, "critical"},
    {Level::high, "high"},
    {Level::medium, "medium"},
    {Level::low, "low"},
    {Level::public_, "public"},
}};

constexpr std::array<std::pair<Audience, std::string_view>, 6> kAudiences{{
    {Audience::internet, "internet"},
    {Audience::external, "external"},
    {Audience::company, "company"},
    {Audience::department, "department"},
    {Audience::narrow, "narrow"},
    {Audience::ineffective, "ineffective"},
}};

constexpr std::array<std::pair<Evidence, std::string_view>, 4> kEvidence{{
    {Evidence::exfiltration, "exfiltration"},
    {Evidence::external, "external"},
    {Evidence::improper, "improper"},
    {Evidence::none, "none"},
}};

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E v) {
  for (const auto& [value, name] : table) {
    if (value == v) return name;
  }
  return "unknown";
}

template <typename E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view s) {
  for (const auto& [value, name] : table) {
    if (name == s) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Level v) {
  return name_of(kLevels, v);
}
std::string_view to_string(Audience v) {
  return name_of(kAudiences, v);
}
std::string_view to_string(Evidence v) {
  return name_of(kEvidence, v);
}

std::optional<Level> parse_level(std::string_view s) {
  return value_of(kLevels, s);
}
std::optional<Audience> parse_audience(std::string_view s) {
  return value_of(kAudiences, s);
}
std::optional<Evidence> parse_evidence(std::string_view s) {
  return value_of(kEvidence, s);
}

}  // namespace sevwatch::rules
