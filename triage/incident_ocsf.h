// The incident as an OCSF Incident Finding (class_uid 2005, category 2
// Findings, OCSF 1.1.0): `incidents list|show --format ocsf`. The SEV maps to
// severity_id / priority_id / impact_id by the proposed mapping in
// research/formats.md §8; the SEV itself and our scope and evidence go in
// `unmapped`.
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

#include "triage/incident.h"

namespace sevwatch::triage {

inline constexpr int kOcsfIncidentFindingClass = 2005;
inline constexpr const char* kOcsfSchemaVersion = "1.1.0";

struct OcsfSevMapping {
  int severity_id;
  int priority_id;
  int impact_id;
};
// SEV0 → 5/4/4, SEV1 → 5/4/3, SEV2 → 4/3/3, SEV3 → 3/2/2, SEV4 → 2/1/1, SEV5 → 1/1/1.
// (§8 gives impact only for SEV0 and SEV1; below that impact follows priority.)
OcsfSevMapping ocsf_sev_mapping(int sev);

// open → 1 New, acknowledged → 2 In Progress, contained → 3 On Hold, resolved → 4 Resolved.
int ocsf_status_id(Status status);

// 1 Create (never changed since it was opened), 2 Update, 3 Close (resolved).
int ocsf_activity_id(const Incident& incident);

// The finding. With a full incident (get(id, true)) last_seen_time is the
// latest evidence time known (readers, automatic timeline entries); with a
// summary it is the first evidence time.
boost::json::object to_ocsf(const Incident& incident, std::string_view product_version);

}  // namespace sevwatch::triage
