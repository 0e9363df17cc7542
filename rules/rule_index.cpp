#include "rules/rule_index.h"

#include <algorithm>

namespace sevwatch::rules {

void RuleIndex::PrefixTable::add(const std::string& prefix, std::uint32_t id) {
  auto& list = ids[prefix];
  if (list.empty() || list.back() != id) list.push_back(id);
  const auto at = std::lower_bound(lengths.begin(), lengths.end(), prefix.size());
  if (at == lengths.end() || *at != prefix.size()) lengths.insert(at, prefix.size());
}

void RuleIndex::PrefixTable::lookup(std::string_view name, std::vector<std::uint32_t>& out) const {
  for (const auto n : lengths) {
    if (n > name.size()) break;
    const auto it = ids.find(name.substr(0, n));
    if (it != ids.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
}

void RuleIndex::add(std::uint32_t id, const Rule& rule, ActionMask actions) {
  ++count_;
  const bool prefixed = rule.object_prefixes || rule.principal_prefixes;
  if (prefixed) ++prefixed_;
  for (std::size_t a = 0; a < kActionCount; ++a) {
    if (!actions.test(a)) continue;
    PerAction& per = actions_[a];
    if (rule.object_prefixes) {
      for (const auto& p : *rule.object_prefixes) per.by_object.add(p, id);
    } else if (rule.principal_prefixes) {
      for (const auto& p : *rule.principal_prefixes) per.by_principal.add(p, id);
    } else {
      per.always.push_back(id);
    }
  }
}

void RuleIndex::candidates(const detectors::AccessEvent& event,
                           std::vector<std::uint32_t>& out) const {
  out.clear();
  const auto a = static_cast<std::size_t>(event.action);
  if (a >= kActionCount) return;
  const PerAction& per = actions_[a];
  out.assign(per.always.begin(), per.always.end());
  const std::size_t plain = out.size();
  if (!per.by_object.empty()) per.by_object.lookup(event.object.name, out);
  if (!per.by_principal.empty()) per.by_principal.lookup(event.principal, out);
  if (out.size() > plain) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
}

}  // namespace sevwatch::rules
