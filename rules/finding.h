// What the rule engine tells triage. Triage knows rules only through this.
//
// A finding is keyed by `group_key` (the incident's dedup key). The engine
// emits an update each time a finding changes; each update carries the
// finding's full aggregates (counts, sets, evidence) as of that moment plus the
// objects newly added to its scope since the previous update, so that triage
// can apply updates idempotently: replaying the same input yields the same
// aggregates and the same object set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rules/classes.h"

namespace sevwatch::rules {

struct ReaderStat {
  std::string principal;
  std::uint64_t reads = 0;    // read events of in-scope objects while exposed
  std::uint64_t objects = 0;  // distinct objects among them
  bool outsider = false;      // outside the objects' intended audience
  bool external = false;      // outside the organization
  std::int64_t first_ms = 0;
  std::int64_t last_ms = 0;
};

// A timeline-worthy happening, in event time.
struct FindingNote {
  std::int64_t at_ms = 0;
  std::string kind;  // "exposure", "scope", "evidence", "revoke"
  std::string text;
};

struct Finding {
  std::string rule_id;
  std::string title;
  std::string runbook;        // path of the rule's runbook, e.g. "runbooks/<rule>.md"
  std::string group_key;      // the incident's dedup key
  std::int64_t first_ms = 0;  // event time of the first evidence
  std::int64_t last_ms = 0;

  // Scope: what is exposed.
  std::uint64_t objects = 0;             // distinct objects in scope
  std::vector<std::string> new_objects;  // added to scope since the last update
  std::vector<std::string> sensitivity;  // classes in scope, sorted
  std::optional<Level> level;            // most sensitive level in scope
  std::optional<Audience> audience;      // broadest audience class
  std::vector<std::string> grantees;     // sorted
  std::vector<std::string> actors;       // sorted
  bool exposure_active = true;           // false once every in-scope object was revoked

  // Evidence: who read it while it was exposed.
  Evidence evidence = Evidence::none;
  std::uint64_t events = 0;  // events that make up the finding
  std::uint64_t outsider_reads = 0;
  std::vector<std::string> outsiders;  // sorted
  std::vector<ReaderStat> readers;     // sorted by principal

  std::vector<FindingNote> notes;  // new since the last update

  // For findings that have no sensitivity level x audience to rate (aggregate,
  // sequence and first_seen rules): the SEV the rule suggests, 0..5. Triage
  // uses it when `level` and `audience` are absent. Unset for exposure rules.
  std::optional<int> sev_hint;
};

class FindingSink {
 public:
  virtual ~FindingSink() = default;
  virtual void on_finding(const Finding& finding) = 0;
};

}  // namespace sevwatch::rules
