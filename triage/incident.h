// An incident: one deduplicated exposure or misuse, with its SEV (0 = most
// severe), lifecycle status, scope, evidence and timeline.
// Its JSON form is spec/incident.schema.json (see incident_json.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sevwatch::triage {

enum class Status : std::uint8_t { open, acknowledged, contained, resolved };
std::string_view to_string(Status s);
std::optional<Status> parse_status(std::string_view s);

struct TimelineEntry {
  std::int64_t at_ms = 0;
  std::string kind;  // opened, escalated, acknowledged, assigned, note, contained, resolved...
  std::string by;    // "sevwatch" for automatic changes, else the human
  std::string text;
};

struct Reader {
  std::string principal;
  std::uint64_t reads = 0;
  std::uint64_t objects = 0;
  bool outsider = false;
  std::int64_t first_ms = 0;
  std::int64_t last_ms = 0;
};

struct Incident {
  std::int64_t id = 0;
  int sev = 5;
  Status status = Status::open;
  std::string rule;
  std::string title;
  std::string dedup_key;
  std::int64_t opened_at_ms = 0;                   // event time of the first evidence
  std::int64_t detected_at_ms = 0;                 // wall clock when opened
  std::int64_t updated_at_ms = 0;                  // wall clock of the last change
  std::optional<std::int64_t> acknowledged_at_ms;  // wall clock of the (first) acknowledgement
  std::optional<std::int64_t> contained_at_ms;
  std::optional<std::int64_t> resolved_at_ms;
  std::string sev_reason;
  std::string runbook;
  // The most severe SEV the rubric has decided so far. Automatic escalation
  // happens only when a decision beats both this and `sev`, so a human
  // downgrade is not undone by the evidence it already took into account.
  int rubric_sev = 5;
  std::string assignee;  // who owns the response; empty when unassigned

  // scope
  std::uint64_t objects = 0;
  std::vector<std::string> sensitivity;
  std::string level;  // most sensitive level in scope ("high"...), empty if unknown
  std::optional<std::string> audience;
  std::vector<std::string> grantees;
  std::vector<std::string> actors;

  // evidence
  std::string evidence_class = "none";  // none | improper | external | exfiltration
  std::uint64_t events = 0;
  std::uint64_t outsider_reads = 0;
  std::vector<std::string> outsiders;

  // Filled by IncidentStore::get(id, /*full=*/true) only.
  std::vector<std::string> object_names;
  std::vector<Reader> readers;
  std::vector<TimelineEntry> timeline;
};

// Response times of an incident, in milliseconds; nullopt while not reached.
// TTD: first exposure event (opened_at) → detection (detected_at, wall clock;
// large for replayed logs). TTA, TTC, TTR: opened_at → acknowledged_at,
// contained_at, resolved_at.
struct ResponseMetrics {
  std::optional<std::int64_t> ttd_ms;
  std::optional<std::int64_t> tta_ms;
  std::optional<std::int64_t> ttc_ms;
  std::optional<std::int64_t> ttr_ms;
};
ResponseMetrics response_metrics(const Incident& incident);

}  // namespace sevwatch::triage
