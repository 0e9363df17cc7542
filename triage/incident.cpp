// Status names as they appear in JSON, the store and the command line;
// response metrics.
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

ResponseMetrics response_metrics(const Incident& inc) {
  ResponseMetrics m;
  auto since_opened = [&](const std::optional<std::int64_t>& at) -> std::optional<std::int64_t> {
    if (!at) return std::nullopt;
    return *at - inc.opened_at_ms;
  };
  if (inc.detected_at_ms != 0) m.ttd_ms = inc.detected_at_ms - inc.opened_at_ms;
  m.tta_ms = since_opened(inc.acknowledged_at_ms);
  m.ttc_ms = since_opened(inc.contained_at_ms);
  m.ttr_ms = since_opened(inc.resolved_at_ms);
  return m;
}

}  // namespace sevwatch::triage
