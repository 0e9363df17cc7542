// Which rules an event can meet at all, so that it is checked against those
// only. Rules are indexed by the actions their condition can match and, when
// the condition requires it (required_prefixes), by a literal prefix of the
// event's object name (else of its principal). A ruleset of a thousand rules
// over different tables then costs an event a few hash probes and the
// conditions of the handful of rules that name its table.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "detectors/access_event.h"
#include "rules/condition_passes.h"
#include "rules/rule.h"
#include "rules/string_map.h"

namespace sevwatch::rules {

class RuleIndex {
 public:
  // Adds the rule under the caller's id (a position in the caller's own
  // vector), for the actions in `actions`. Ids must be added in increasing
  // order.
  void add(std::uint32_t id, const Rule& rule, ActionMask actions);

  // Sets `out` to the ids of the rules `event` may match, in increasing order.
  void candidates(const detectors::AccessEvent& event, std::vector<std::uint32_t>& out) const;

  bool empty() const { return count_ == 0; }
  // How many rules went into a prefix table (the rest are checked for every
  // event of their actions).
  std::size_t prefix_indexed() const { return prefixed_; }

 private:
  struct PrefixTable {
    std::vector<std::size_t> lengths;  // distinct prefix lengths, increasing
    FlatStringMap<std::vector<std::uint32_t>> ids;
    bool empty() const { return lengths.empty(); }
    void add(const std::string& prefix, std::uint32_t id);
    // Appends the ids under every prefix of `name`.
    void lookup(std::string_view name, std::vector<std::uint32_t>& out) const;
  };
  struct PerAction {
    std::vector<std::uint32_t> always;  // no prefix constraint
    PrefixTable by_object;
    PrefixTable by_principal;
  };
  std::array<PerAction, kActionCount> actions_;
  std::size_t count_ = 0;
  std::size_t prefixed_ = 0;
};

}  // namespace sevwatch::rules
