// The rule engine: feeds events (in event-time order) through the exposure
// state and the rules, and reports findings.
//
// Exposure rules watch how grants change objects' exposure; grants that share
// the rule's `group_by` values within its `rollout_gap` become one finding.
// Evidence rules attach reads of exposed objects to the finding that exposed
// them: every reader is recorded, and reads by principals outside the objects'
// intended audience are evidence.
//
// A finding is reported at once when it opens or changes in a way that can
// change its SEV (scope, audience, evidence, revocation); changes that cannot
// (another read by a known reader) are reported by flush().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "detectors/access_event.h"
#include "rules/context.h"
#include "rules/exposure_state.h"
#include "rules/finding.h"
#include "rules/rule_file.h"
#include "rules/rule_index.h"
#include "rules/stateful_rules.h"

namespace sevwatch::rules {

struct EngineStats {
  std::uint64_t events = 0;
  std::uint64_t grants = 0;         // grant and revoke events applied
  std::uint64_t exposed_reads = 0;  // reads of objects while exposed
  std::uint64_t findings_reported = 0;
  std::uint64_t suppressed = 0;  // rule matches an exception suppressed
};

// What one exception suppressed so far.
struct ExceptionStat {
  std::string rule_id;
  std::string name;
  std::string owner;
  std::string expires;
  std::uint64_t suppressed = 0;
};

class Engine {
 public:
  Engine(const Context& context, const RuleSet& rules, FindingSink& sink);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void process(const detectors::AccessEvent& event);
  // A hint that `event` will be processed soon: starts loading the state it
  // will look up. Callers that hold events in a queue call it a few events
  // ahead (the object table outgrows the caches; its lookup is a cache miss).
  void prefetch(const detectors::AccessEvent& event) const {
    if (interns_object(event)) exposure_.prefetch(event.object.name);
  }
  // Reports every finding with unreported changes.
  void flush();
  // End of input: closes open rollouts (their summary goes on the timeline)
  // and flushes.
  void finish();

  const EngineStats& stats() const { return stats_; }
  std::vector<ExceptionStat> exception_stats() const;
  std::vector<StatefulStats> stateful_stats() const;

  // The first_seen baselines, as text the app can store and give back to
  // load_baselines() after a restart (sections per rule id; unknown rules
  // are skipped). Returns false when the text is malformed.
  std::string serialize_baselines() const;
  bool load_baselines(std::string_view text);

  // Why `rule`'s condition (and exceptions) match `event` or not, one line
  // per sub-condition, against the engine's current state.
  std::string explain(const Rule& rule, const detectors::AccessEvent& event);
  const ExposureState& exposure() const { return exposure_; }

  // ---- For the journal compaction of `sevwatch run` (app/journal_compaction.h).

  // Learns an object name as an event naming it would (a grant on its
  // container then reaches it), and does nothing else.
  void know_object(std::string_view name) { exposure_.intern(name); }

  // What of the exposure side (the model and the exposure findings) events
  // with an event time at or after `floor_ms` can still observe or change.
  // An exposure finding is live while an object of it is still exposed, a
  // grant in force attaches reads to it, or a grant could still join its
  // rollout (it is the latest of its group_by values and its last grant is
  // within `rollout_gap` of `floor_ms`); every other one can never change
  // again. `text` describes the model and the live findings (every field, in
  // the engine's order) canonically: two engines whose texts are equal
  // report the same exposure findings for the same events from `floor_ms`.
  // Call after flush().
  struct ExposureSnapshot {
    std::vector<std::string> live_keys;  // dedup keys of the live findings, sorted
    std::string text;
  };
  ExposureSnapshot exposure_snapshot(std::int64_t floor_ms) const;

 private:
  struct Group;
  // The rule's condition holds and none of its (unexpired) exceptions does.
  bool passes(std::size_t rule_index, const FieldSource& fields, std::int64_t time_ms);
  void on_exposure_changes(const Rule& rule, std::size_t rule_index,
                           const detectors::AccessEvent& event,
                           const std::vector<ObjectChange>& changes);
  void on_read(std::size_t rule_index, const detectors::AccessEvent& event, ObjectId object);
  // The index of the group a newly exposed object joins (a new one if none).
  std::size_t group_for(const Rule& rule, const detectors::AccessEvent& event,
                        const ActiveGrant& grant, ObjectId object, Audience audience);
  bool rule_covers(const Rule& rule, Audience audience, ObjectId object) const;
  // Whether process() interns the event's object (table-level objects).
  static bool interns_object(const detectors::AccessEvent& e) {
    return !e.object.name.empty() && (e.object.level == detectors::ObjectLevel::table ||
                                      e.object.level == detectors::ObjectLevel::none);
  }
  void report(Group& group);
  void close_rollout(Group& group);

  const Context& context_;
  const RuleSet& rules_;
  FindingSink& sink_;
  ExposureState exposure_;
  EngineStats stats_;
  std::vector<std::unique_ptr<Group>> groups_;
  // group tuple -> the latest group for it
  std::unordered_map<std::string, std::size_t> latest_group_;
  // (grant id, rule index) -> group
  std::unordered_map<std::uint64_t, std::size_t> grant_group_;
  std::vector<std::size_t> urgent_;
  // Stateful rules (aggregate, sequence, first_seen), indexed by action.
  std::vector<std::unique_ptr<StatefulRule>> stateful_;
  std::vector<std::size_t> stateful_rule_;  // stateful_[i] is rules_.rules[stateful_rule_[i]]
  std::vector<std::uint32_t> advancing_;    // stateful_ positions with deadlines to advance
  // Which rules an event can meet: exposure and evidence rules by their index
  // in rules_.rules, stateful rules by their position in stateful_.
  RuleIndex exposure_index_;
  RuleIndex evidence_index_;
  RuleIndex stateful_index_;
  std::vector<std::vector<std::size_t>> attach_targets_;  // [rule] -> exposure rule indexes
  std::vector<std::uint32_t> candidates_;                 // scratch
  std::vector<std::uint32_t> touched_;                    // scratch
  std::vector<std::vector<std::uint64_t>> suppressed_;    // [rule][exception]
};

}  // namespace sevwatch::rules
