// OCSF Incident Finding (2005) for an incident; see incident_ocsf.h.
#include "triage/incident_ocsf.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>

namespace sevwatch::triage {

namespace json = boost::json;

namespace {

constexpr int kCategoryFindings = 2;
constexpr std::array<const char*, 4> kActivityNames = {"Unknown", "Create", "Update", "Close"};
constexpr std::array<const char*, 6> kSeverityNames = {"Unknown", "Informational", "Low",
                                                       "Medium",  "High",          "Critical"};
constexpr std::array<const char*, 5> kLevelNames = {"Unknown", "Low", "Medium", "High", "Critical"};
constexpr std::array<const char*, 5> kStatusNames = {"Unknown", "New", "In Progress", "On Hold",
                                                     "Resolved"};

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  a.reserve(v.size());
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::int64_t last_seen_ms(const Incident& inc) {
  std::int64_t last = inc.opened_at_ms;
  for (const auto& r : inc.readers) last = std::max(last, r.last_ms);
  // Automatic entries are at event time; human ones at wall clock.
  for (const auto& t : inc.timeline) {
    if (t.by == "sevwatch") last = std::max(last, t.at_ms);
  }
  return last;
}

}  // namespace

OcsfSevMapping ocsf_sev_mapping(int sev) {
  static constexpr std::array<OcsfSevMapping, 6> kMap = {
      OcsfSevMapping{5, 4, 4}, OcsfSevMapping{5, 4, 3}, OcsfSevMapping{4, 3, 3},
      OcsfSevMapping{3, 2, 2}, OcsfSevMapping{2, 1, 1}, OcsfSevMapping{1, 1, 1}};
  return kMap.at(static_cast<std::size_t>(std::clamp(sev, 0, 5)));
}

int ocsf_status_id(Status status) {
  switch (status) {
    case Status::open:
      return 1;
    case Status::acknowledged:
      return 2;
    case Status::contained:
      return 3;
    case Status::resolved:
      return 4;
  }
  return 0;
}

int ocsf_activity_id(const Incident& inc) {
  if (inc.status == Status::resolved) return 3;
  return inc.updated_at_ms == inc.detected_at_ms ? 1 : 2;
}

json::object to_ocsf(const Incident& inc, std::string_view product_version) {
  const int activity = ocsf_activity_id(inc);
  const auto m = ocsf_sev_mapping(inc.sev);
  const int status = ocsf_status_id(inc.status);
  json::object o;
  o["class_uid"] = kOcsfIncidentFindingClass;
  o["class_name"] = "Incident Finding";
  o["category_uid"] = kCategoryFindings;
  o["category_name"] = "Findings";
  o["activity_id"] = activity;
  o["activity_name"] = kActivityNames.at(static_cast<std::size_t>(activity));
  o["type_uid"] = kOcsfIncidentFindingClass * 100 + activity;
  o["type_name"] =
      fmt::format("Incident Finding: {}", kActivityNames.at(static_cast<std::size_t>(activity)));
  o["time"] = inc.updated_at_ms;
  o["severity_id"] = m.severity_id;
  o["severity"] = kSeverityNames.at(static_cast<std::size_t>(m.severity_id));
  o["priority_id"] = m.priority_id;
  o["priority"] = kLevelNames.at(static_cast<std::size_t>(m.priority_id));
  o["impact_id"] = m.impact_id;
  o["impact"] = kLevelNames.at(static_cast<std::size_t>(m.impact_id));
  o["status_id"] = status;
  o["status"] = kStatusNames.at(static_cast<std::size_t>(status));
  o["is_suspected_breach"] = inc.sev == 0;
  o["desc"] = fmt::format("SEV {}: {}", inc.sev, inc.title);
  o["start_time"] = inc.opened_at_ms;
  if (inc.resolved_at_ms) o["end_time"] = *inc.resolved_at_ms;
  if (!inc.assignee.empty()) o["assignee"] = json::object{{"name", inc.assignee}};

  json::object finding;
  finding["uid"] = inc.dedup_key;
  finding["title"] = inc.title;
  finding["desc"] = inc.sev_reason;
  finding["first_seen_time"] = inc.opened_at_ms;
  finding["last_seen_time"] = last_seen_ms(inc);
  finding["types"] = json::array{json::value(inc.rule)};
  finding["tags"] =
      json::array{json::object{{"name", "sev"}, {"value", fmt::format("SEV{}", inc.sev)}}};
  o["finding_info_list"] = json::array{std::move(finding)};

  json::object product;
  product["name"] = "sevwatch";
  product["vendor_name"] = "sevwatch";
  product["version"] = product_version;
  json::object metadata;
  metadata["product"] = std::move(product);
  metadata["version"] = kOcsfSchemaVersion;
  o["metadata"] = std::move(metadata);

  json::object unmapped;
  unmapped["incident_id"] = inc.id;
  unmapped["sev"] = inc.sev;
  unmapped["sev_reason"] = inc.sev_reason;
  json::object scope;
  scope["objects"] = inc.objects;
  scope["sensitivity"] = strings(inc.sensitivity);
  scope["level"] = inc.level.empty() ? json::value(nullptr) : json::value(inc.level);
  scope["audience"] = inc.audience ? json::value(*inc.audience) : json::value(nullptr);
  scope["grantees"] = strings(inc.grantees);
  scope["actors"] = strings(inc.actors);
  unmapped["scope"] = std::move(scope);
  json::object evidence;
  evidence["class"] = inc.evidence_class;
  evidence["events"] = inc.events;
  evidence["outsider_reads"] = inc.outsider_reads;
  evidence["outsiders"] = strings(inc.outsiders);
  unmapped["evidence"] = std::move(evidence);
  o["unmapped"] = std::move(unmapped);
  return o;
}

}  // namespace sevwatch::triage
