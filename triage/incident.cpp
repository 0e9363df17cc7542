// Status names as they appear in JSON, the store and the command line.
#include "triage/incident.h"

#include <array>

namespace sevwatch::triage {

namespace {
constexpr std::array<std::string_view, 4> kStatusNames = {"open", "acknowledged", "contained",
                                                          "resolved"};
}  // namespace

std::string_view to_string(Status s) {
  return kStatusNames.at(static_cast<std::size_t>(s));
}

std::optional<Status> parse_status(std::string_view s) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == s) return static_cast<Status>(i);
  }
  return std::nullopt;
}

}  // namespace sevwatch::triage
