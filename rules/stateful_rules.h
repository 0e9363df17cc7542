// The state of the stateful rule kinds, fed by the engine (engine.h):
//
//   aggregate   count | count_distinct(field) | sum(field) over sliding or
//               tumbling event-time windows, grouped by fields; one open
//               finding per group that grows while events keep coming within
//               a window of each other, its sev_hint rising with the tiers.
//   sequence    A then B within T by key; or (absent: true) A NOT followed by
//               B within T, found when event time passes A + T.
//   first_seen  a key (e.g. principal x sensitivity class) not seen in the
//               last `lookback`, once the baseline has learnt for `learn`.
//
// Every rule declares its state limits (max groups, max distinct values per
// group) and what happens when they are reached (drop_new | evict_oldest),
// and its allowed lateness: events older than the newest seen minus the
// lateness are dropped. All of it is counted (StatefulStats).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/event_fields.h"
#include "rules/finding.h"
#include "rules/rule.h"

namespace sevwatch::rules {

struct StatefulStats {
  std::string rule_id;
  std::uint64_t matched = 0;         // events that matched the rule's condition
  std::uint64_t late_dropped = 0;    // older than the allowed lateness
  std::uint64_t groups_dropped = 0;  // drop_new at max_groups: events not counted
  std::uint64_t groups_evicted = 0;  // evict_oldest at max_groups
  std::uint64_t values_dropped = 0;  // drop_new at max_values
  std::uint64_t values_evicted = 0;  // evict_oldest at max_values
  std::uint64_t non_numeric = 0;     // sum: values that were not numbers
  std::uint64_t findings_opened = 0;
  std::size_t groups = 0;  // held now
};

class StatefulRule {
 public:
  virtual ~StatefulRule() = default;
  // An event the rule's index routed here (condition and exceptions are
  // checked by the caller for aggregate/first_seen; sequence checks its
  // steps itself).
  virtual void on_event(const EventFields& fields, std::int64_t time_ms) = 0;
  // Every event: lets time-driven rules (absence) fire.
  virtual void advance(std::int64_t /*time_ms*/) {}
  // Reports changed findings: urgent ones only, or all.
  virtual void report(FindingSink& sink, bool all) = 0;
  virtual const StatefulStats& stats() const = 0;
  // first_seen baselines; others have none.
  virtual void serialize(std::string& /*out*/) const {}
  virtual bool deserialize(std::string_view /*section*/) { return true; }
  const Rule& rule() const { return *rule_; }

 protected:
  explicit StatefulRule(const Rule& rule) : rule_(&rule) {}
  const Rule* rule_;
};

std::unique_ptr<StatefulRule> make_stateful_rule(const Rule& rule);

}  // namespace sevwatch::rules
