// The incident's JSON form: spec/incident.schema.json.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

#include "triage/incident.h"

namespace sevwatch::triage {

// RFC 3339 UTC with milliseconds, e.g. "2026-08-20T10:00:00.000Z".
std::string format_time(std::int64_t ms);

// {ttd_seconds, tta_seconds, ttc_seconds, ttr_seconds}, each null when not reached.
boost::json::object metrics_json(const ResponseMetrics& metrics);

// `full` adds objects, readers, timeline and metrics (incidents show). Beyond
// the schema's properties: level, evidence_class, assignee, acknowledged_at.
boost::json::object to_json(const Incident& incident, bool full);

}  // namespace sevwatch::triage
