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

namespace sevwatch::rules {

struct EngineStats {
  std::uint64_t events = 0;
  std::uint64_t grants = 0;         // grant and revoke events applied
  std::uint64_t exposed_reads = 0;  // reads of objects while exposed
  std::uint64_t findings_reported = 0;
};

class Engine {
 public:
  Engine(const Context& context, const RuleSet& rules, FindingSink& sink);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void process(const detectors::AccessEvent& event);
  // Reports every finding with unreported changes.
  void flush();
  // End of input: closes open rollouts (their summary goes on the timeline)
  // and flushes.
  void finish();

  const EngineStats& stats() const { return stats_; }
  const ExposureState& exposure() const { return exposure_; }

 private:
  struct Group;
  struct EventFields;
  void on_exposure_changes(const Rule& rule, std::size_t rule_index,
                           const detectors::AccessEvent& event,
                           const std::vector<ObjectChange>& changes);
  void on_read(const Rule& rule, const detectors::AccessEvent& event, ObjectId object);
  // The index of the group a newly exposed object joins (a new one if none).
  std::size_t group_for(const Rule& rule, const detectors::AccessEvent& event,
                        const ActiveGrant& grant, ObjectId object, Audience audience);
  bool rule_covers(const Rule& rule, Audience audience, ObjectId object) const;
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
};

}  // namespace sevwatch::rules
