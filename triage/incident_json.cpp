// The incident's JSON form (spec/incident.schema.json).
#include "triage/incident_json.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <ctime>

#include "detectors/event_time.h"

namespace sevwatch::triage {

namespace json = boost::json;

std::string format_time(std::int64_t ms) {
  return detectors::format_rfc3339_ms(ms);
}

namespace {

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  a.reserve(v.size());
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::value optional_time(const std::optional<std::int64_t>& ms) {
  if (!ms) return nullptr;
  return json::string(format_time(*ms));
}

json::value seconds(const std::optional<std::int64_t>& ms) {
  if (!ms) return nullptr;
  return static_cast<double>(*ms) / 1000.0;
}

}  // namespace

json::object metrics_json(const ResponseMetrics& m) {
  json::object o;
  o["ttd_seconds"] = seconds(m.ttd_ms);
  o["tta_seconds"] = seconds(m.tta_ms);
  o["ttc_seconds"] = seconds(m.ttc_ms);
  o["ttr_seconds"] = seconds(m.ttr_ms);
  return o;
}

json::object to_json(const Incident& inc, bool full) {
  json::object o;
  o["id"] = inc.id;
  o["sev"] = inc.sev;
  o["status"] = json::string(to_string(inc.status));
  o["rule"] = inc.rule;
  o["title"] = inc.title;
  o["dedup_key"] = inc.dedup_key;
  o["opened_at"] = format_time(inc.opened_at_ms);
  o["detected_at"] = format_time(inc.detected_at_ms);
  o["updated_at"] = format_time(inc.updated_at_ms);
  o["acknowledged_at"] = optional_time(inc.acknowledged_at_ms);
  o["contained_at"] = optional_time(inc.contained_at_ms);
  o["resolved_at"] = optional_time(inc.resolved_at_ms);
  o["sev_reason"] = inc.sev_reason;
  o["runbook"] = inc.runbook;
  // Extras beyond the schema's required set: the rubric inputs D and E.
  o["level"] = inc.level.empty() ? json::value(nullptr) : json::value(inc.level);
  o["evidence_class"] = inc.evidence_class;
  o["assignee"] = inc.assignee.empty() ? json::value(nullptr) : json::value(inc.assignee);

  json::object scope;
  scope["objects"] = inc.objects;
  scope["sensitivity"] = strings(inc.sensitivity);
  scope["audience"] = inc.audience ? json::value(*inc.audience) : json::value(nullptr);
  scope["grantees"] = strings(inc.grantees);
  scope["actors"] = strings(inc.actors);
  o["scope"] = std::move(scope);

  json::object evidence;
  evidence["events"] = inc.events;
  evidence["outsider_reads"] = inc.outsider_reads;
  evidence["outsiders"] = strings(inc.outsiders);
  o["evidence"] = std::move(evidence);

  if (full) {
    o["objects"] = strings(inc.object_names);
    json::array readers;
    readers.reserve(inc.readers.size());
    for (const auto& r : inc.readers) {
      json::object jr;
      jr["principal"] = r.principal;
      jr["reads"] = r.reads;
      jr["objects"] = r.objects;
      jr["outsider"] = r.outsider;
      jr["first"] = format_time(r.first_ms);
      jr["last"] = format_time(r.last_ms);
      readers.emplace_back(std::move(jr));
    }
    o["readers"] = std::move(readers);
    json::array timeline;
    timeline.reserve(inc.timeline.size());
    for (const auto& e : inc.timeline) {
      json::object je;
      je["at"] = format_time(e.at_ms);
      je["kind"] = e.kind;
      je["by"] = e.by;
      je["text"] = e.text;
      timeline.emplace_back(std::move(je));
    }
    o["timeline"] = std::move(timeline);
    o["metrics"] = metrics_json(response_metrics(inc));
  }
  return o;
}

}  // namespace sevwatch::triage
