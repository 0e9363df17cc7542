// Turns findings into incidents: looks the finding's group key up as a dedup
// key, opens or updates the incident, recomputes the SEV with the rubric
// (automatic changes only ever make it more severe), and writes the timeline.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "rules/finding.h"
#include "triage/incident_store.h"
#include "triage/sev_rubric.h"

namespace sevwatch::triage {

struct TriageStats {
  std::uint64_t findings = 0;
  std::uint64_t incidents_opened = 0;
  std::uint64_t incidents_updated = 0;
};

class IncidentManager : public rules::FindingSink {
 public:
  // `now_ms` gives the wall clock (injected for tests).
  IncidentManager(IncidentStore& store, const SevRubric& rubric,
                  std::function<std::int64_t()> now_ms);

  void on_finding(const rules::Finding& finding) override;
  // Writes every pending change in one transaction.
  void flush();
  const TriageStats& stats() const { return stats_; }

 private:
  IncidentStore& store_;
  const SevRubric& rubric_;
  std::function<std::int64_t()> now_ms_;
  TriageStats stats_;
  struct Pending;
  std::unordered_map<std::string, std::shared_ptr<Pending>> pending_;
};

// Human acts: each writes the timeline with the actor. Returns false (and sets
// `error`) when the incident does not exist or the transition is not allowed.
bool acknowledge(IncidentStore& store, std::int64_t id, const std::string& by,
                 const std::string& note, std::int64_t now_ms, std::string& error);
bool resolve(IncidentStore& store, std::int64_t id, const std::string& by, const std::string& note,
             std::int64_t now_ms, std::string& error);
// open or acknowledged → contained; sets contained_at. (Containment actions
// with plan/execute/verify/revert are not part of this.)
bool contain(IncidentStore& store, std::int64_t id, const std::string& by, const std::string& note,
             std::int64_t now_ms, std::string& error);
// Sets the assignee (any status); refused when `to` already is the assignee.
bool assign(IncidentStore& store, std::int64_t id, const std::string& to, const std::string& by,
            std::int64_t now_ms, std::string& error);
// Adds a `note` timeline entry (any status); `text` must not be blank.
bool add_note(IncidentStore& store, std::int64_t id, const std::string& by, const std::string& text,
              std::int64_t now_ms, std::string& error);
// A human sets the SEV (usually lowering it, which nothing automatic does).
// `reason` must be non-empty; it becomes sev_reason and goes on the timeline.
// Later automatic escalation happens only on evidence more severe than what
// the rubric had already rated.
bool set_sev(IncidentStore& store, std::int64_t id, int sev, const std::string& by,
             const std::string& reason, std::int64_t now_ms, std::string& error);

}  // namespace sevwatch::triage
