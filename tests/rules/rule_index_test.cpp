// The rule index: which rules an event meets, by action and by a literal
// prefix of its object or principal.
#include "rules/rule_index.h"

#include <catch2/catch.hpp>

#include "rules/rule_file.h"

using namespace sevwatch::rules;
using sevwatch::detectors::AccessEvent;
using sevwatch::detectors::Action;

namespace {

RuleSet compile(const char* yaml) {
  RuleSet set;
  Diagnostics d;
  load_rules_string(yaml, "x.yaml", set, d);
  compile_rule_set(set, d);
  REQUIRE_FALSE(d.has_errors());
  return set;
}

const char* kRules = R"(- rule: by_glob
  kind: aggregate
  condition: action = read and object glob 'hive.ads_01.camp*' and principal glob 'ads-*'
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 2, sev: 4}]}
- rule: by_in
  kind: aggregate
  condition: action in (read, export) and (object in ('hive.a.t1', 'hive.a.t2') or object startswith 'hive.b.')
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 2, sev: 4}]}
- rule: by_principal
  kind: aggregate
  condition: action = read and principal startswith 'svc-'
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 2, sev: 4}]}
- rule: unindexable
  kind: aggregate
  condition: action = read and (object istartswith 'HIVE.' or principal = 'x') and not object glob 'z*'
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 2, sev: 4}]}
- rule: any_glob
  kind: aggregate
  condition: action = read and object glob '*.keystrokes'
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 2, sev: 4}]}
)";

AccessEvent ev(Action a, std::string principal, std::string object) {
  AccessEvent e;
  e.action = a;
  e.principal = std::move(principal);
  e.object.name = std::move(object);
  return e;
}

}  // namespace

TEST_CASE("required prefixes follow and/or/not and case sensitivity", "[rule_index]") {
  const RuleSet set = compile(kRules);
  REQUIRE(set.rules.size() == 5);
  CHECK(set.rules[0].object_prefixes == std::vector<std::string>{"hive.ads_01.camp"});
  CHECK(set.rules[0].principal_prefixes == std::vector<std::string>{"ads-"});
  CHECK(set.rules[1].object_prefixes ==
        std::vector<std::string>{"hive.a.t1", "hive.a.t2", "hive.b."});
  CHECK_FALSE(set.rules[2].object_prefixes);
  CHECK(set.rules[2].principal_prefixes == std::vector<std::string>{"svc-"});
  CHECK_FALSE(set.rules[3].object_prefixes);  // case-insensitive, or-with-other-field, not
  CHECK_FALSE(set.rules[3].principal_prefixes);
  CHECK_FALSE(set.rules[4].object_prefixes);  // a glob that starts with a wildcard
}

TEST_CASE("an event meets only the rules its action and names can match", "[rule_index]") {
  const RuleSet set = compile(kRules);
  RuleIndex index;
  for (std::uint32_t i = 0; i < set.rules.size(); ++i)
    index.add(i, set.rules[i], set.rules[i].actions);
  CHECK(index.prefix_indexed() == 3);
  std::vector<std::uint32_t> got;

  index.candidates(ev(Action::read, "ads-07", "hive.ads_01.campaign_003"), got);
  CHECK(got == std::vector<std::uint32_t>{0, 3, 4});
  index.candidates(ev(Action::read, "svc-etl", "hive.a.t2"), got);
  CHECK(got == std::vector<std::uint32_t>{1, 2, 3, 4});
  index.candidates(ev(Action::read, "svc-etl", "hive.b.x"), got);
  CHECK(got == std::vector<std::uint32_t>{1, 2, 3, 4});
  index.candidates(ev(Action::export_data, "svc-etl", "hive.b.x"), got);
  CHECK(got == std::vector<std::uint32_t>{1});
  index.candidates(ev(Action::grant, "svc-etl", "hive.b.x"), got);
  CHECK(got.empty());
  // Object prefixes shorter than the name only; an empty name meets none.
  index.candidates(ev(Action::read, "dana", "hive.ads_01.cam"), got);
  CHECK(got == std::vector<std::uint32_t>{3, 4});
  index.candidates(ev(Action::read, "dana", ""), got);
  CHECK(got == std::vector<std::uint32_t>{3, 4});
}
