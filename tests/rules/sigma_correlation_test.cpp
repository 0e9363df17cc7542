// Sigma correlation rules as aggregate and sequence rules.
#include <catch2/catch.hpp>

#include "tests/rules/sigma_test_support.h"

using namespace sevwatch;
using namespace sevwatch::testing::sigma;

namespace {

AccessEvent denied(const std::string& who, std::int64_t at) {
  return event("pgaudit", Action::read, who, at, "SELECT", "dw.hr.salaries",
               "SELECT ssn FROM hr.salaries", Result::denied);
}

AccessEvent read(const std::string& who, const std::string& table, std::int64_t at) {
  return event("pgaudit", Action::read, who, at, "SELECT", table, "SELECT 1");
}

}  // namespace

TEST_CASE("event_count: an aggregate count over the correlated rules", "[sigma][correlation]") {
  auto l = load_fixture("sigma/database/mr_pg_permission_denied_burst.yml");
  INFO(l->text());
  REQUIRE(l->diags.all().empty());
  const auto& r = l->rule("8e7d6c5b-4a39-4827-9160-5f4e3d2c1b0a");
  CHECK(r.kind == rules::RuleKind::aggregate);
  CHECK(r.aggregate.function == rules::AggregateSpec::Function::count);
  CHECK(r.aggregate.group_by ==
        std::vector<rules::FieldRef>{rules::field_ref(rules::Field::principal)});
  CHECK(r.aggregate.window_ms == 10 * kMin);
  REQUIRE(r.aggregate.tiers.size() == 1);
  CHECK(r.aggregate.tiers[0].gte == 3);
  CHECK(r.aggregate.tiers[0].sev == 2);
  CHECK(r.condition_text == "sigma:2b3c4d5e-6f70-4819-a2b3-c4d5e6f70819");
  CHECK_FALSE(l->rule("2b3c4d5e-6f70-4819-a2b3-c4d5e6f70819").enabled);

  std::vector<AccessEvent> events;
  for (int i = 0; i < 3; ++i) events.push_back(denied("mallory", kT0 + i * 3 * kMin));
  for (int i = 0; i < 2; ++i) events.push_back(denied("bob", kT0 + i * kMin));
  for (int i = 0; i < 5; ++i) events.push_back(read("alice", "dw.hr.salaries", kT0 + i * kMin));
  // Three denials, but spread over more than ten minutes.
  for (int i = 0; i < 3; ++i) events.push_back(denied("eve", kT0 + i * 6 * kMin));
  std::stable_sort(events.begin(), events.end(), [](const AccessEvent& a, const AccessEvent& b) {
    return a.time_ms < b.time_ms;
  });
  const auto f = run(l->set, events);
  const auto burst = f.of("8e7d6c5b-4a39-4827-9160-5f4e3d2c1b0a");
  REQUIRE(burst.size() == 1);
  CHECK(burst[0].actors == std::vector<std::string>{"mallory"});
  CHECK(burst[0].events == 3);
  CHECK(burst[0].sev_hint == 2);
  CHECK(f.of("2b3c4d5e-6f70-4819-a2b3-c4d5e6f70819").empty());
}

TEST_CASE("value_count: count_distinct of the condition's field", "[sigma][correlation]") {
  auto l = load_fixture("sigma/database/mr_pg_many_tables_read.yml");
  INFO(l->text());
  REQUIRE(l->diags.all().empty());
  const auto& r = l->rule("4d5e6f70-8192-4a3b-8c4d-5e6f70819203");
  CHECK(r.aggregate.function == rules::AggregateSpec::Function::count_distinct);
  CHECK(r.aggregate.field == rules::field_ref(rules::Field::object));
  CHECK(r.aggregate.tiers.at(0).gte == 3);  // gt: 2
  CHECK(r.aggregate.tiers.at(0).sev == 3);

  std::vector<AccessEvent> events;
  for (int i = 0; i < 5; ++i) events.push_back(read("bob", "dw.sales.orders", kT0 + i * kMin));
  events.push_back(read("alice", "dw.sales.orders", kT0 + 5 * kMin));
  events.push_back(read("alice", "dw.sales.customers", kT0 + 6 * kMin));
  events.push_back(read("alice", "dw.hr.salaries", kT0 + 7 * kMin));
  const auto f = run(l->set, events).of("4d5e6f70-8192-4a3b-8c4d-5e6f70819203");
  REQUIRE(f.size() == 1);
  CHECK(f[0].actors == std::vector<std::string>{"alice"});
  CHECK(f[0].objects == 3);
}

TEST_CASE("temporal: both orders; generate keeps the rules reporting", "[sigma][correlation]") {
  auto l = load_text(R"(title: Grant then drop, any order
id: grant-drop
correlation:
    type: temporal
    rules: [pg_grant, pg_drop]
    group-by: [user]
    timespan: 5m
    generate: true
level: critical
---
title: Grant
name: pg_grant
id: pg-grant
logsource: {product: postgresql}
detection: {sel: {command: GRANT}, condition: sel}
level: informational
---
title: Drop
name: pg_drop
id: pg-drop
logsource: {product: postgresql}
detection: {sel: {command: DROP}, condition: sel}
level: informational
)");
  INFO(l->text());
  REQUIRE(l->diags.all().empty());
  const auto& fwd = l->rule("grant-drop");
  const auto& rev = l->rule("grant-drop.reverse");
  CHECK(fwd.kind == rules::RuleKind::sequence);
  CHECK(fwd.sequence.steps.at(0).condition_text == "sigma:pg-grant");
  CHECK(rev.sequence.steps.at(0).condition_text == "sigma:pg-drop");
  CHECK(fwd.sequence.within_ms == 5 * kMin);
  CHECK(fwd.sequence.sev == 1);
  CHECK(l->rule("pg-grant").enabled);

  auto op = [](const std::string& who, const std::string& verb, std::int64_t at) {
    return event("pgaudit", verb == "GRANT" ? Action::grant : Action::drop, who, at, verb);
  };
  std::vector<AccessEvent> events = {
      op("alice", "GRANT", kT0),         op("alice", "DROP", kT0 + kMin),
      op("bob", "DROP", kT0 + 2 * kMin), op("bob", "GRANT", kT0 + 3 * kMin),
      op("carol", "GRANT", kT0),         op("carol", "DROP", kT0 + 9 * kMin)};
  std::stable_sort(events.begin(), events.end(), [](const AccessEvent& x, const AccessEvent& y) {
    return x.time_ms < y.time_ms;
  });
  const auto f = run(l->set, events);
  const auto a = f.of("grant-drop");
  const auto b = f.of("grant-drop.reverse");
  REQUIRE(a.size() == 1);
  CHECK(a[0].actors == std::vector<std::string>{"alice"});
  REQUIRE(b.size() == 1);
  CHECK(b[0].actors == std::vector<std::string>{"bob"});
  CHECK(f.of("pg-grant").size() == 3);  // generate: true
}

TEST_CASE("a correlation may name rules of files loaded before or after it",
          "[sigma][correlation]") {
  const char* base = R"(title: Drop
name: pg_drop
id: pg-drop
logsource: {product: postgresql}
detection: {sel: {command: DROP}, condition: sel}
)";
  const char* corr = R"(title: Many drops
id: many-drops
correlation: {type: event_count, rules: [pg_drop], group-by: [principal], timespan: 1h,
              condition: {gte: 2}}
)";
  for (const bool corr_first : {false, true}) {
    INFO((corr_first ? "correlation file first" : "rule file first"));
    rules::RuleSet set;
    rules::Diagnostics d;
    rules::load_rules_string(corr_first ? corr : base, corr_first ? "b.yml" : "a.yml", set, d);
    rules::load_rules_string(corr_first ? base : corr, corr_first ? "a.yml" : "b.yml", set, d);
    rules::check_rule_set(set, d, kNow);
    INFO(d.to_text());
    REQUIRE(d.all().empty());
    const auto f = run(set, {event("pgaudit", Action::drop, "a", kT0, "DROP"),
                             event("pgaudit", Action::drop, "a", kT0 + kMin, "DROP")});
    CHECK(f.of("many-drops").size() == 1);
  }
  {  // A name no file defines.
    rules::RuleSet set;
    rules::Diagnostics d;
    rules::load_rules_string(corr, "b.yml", set, d);
    rules::check_rule_set(set, d, kNow);
    const auto text = d.to_text();
    INFO(text);
    CHECK(text.find("b.yml:3:42: error[E_SIGMA_UNKNOWN_RULE]") != std::string::npos);
  }
  {  // A correlation of a correlation (in a file read before the one it names).
    const char* chain = R"(title: Chain
id: chain
correlation: {type: event_count, rules: [many-drops], timespan: 1h, condition: {gte: 2}}
)";
    rules::RuleSet set;
    rules::Diagnostics d;
    rules::load_rules_string(chain, "c.yml", set, d);
    rules::load_rules_string(base, "a.yml", set, d);
    rules::load_rules_string(corr, "b.yml", set, d);
    rules::check_rule_set(set, d, kNow);
    const auto text = d.to_text();
    INFO(text);
    CHECK(text.find("c.yml:3:42: error[E_SIGMA_UNSUPPORTED_CORRELATION]") != std::string::npos);
  }
}

TEST_CASE("a correlation groups by a field the logsource maps to raw.<path>",
          "[sigma][correlation][raw]") {
  auto l = load_text(R"(title: S3 object read
id: 0d1e2f30-4152-4637-8899-aabbccddeeff
status: test
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventSource: s3.amazonaws.com
        eventName: GetObject
    condition: selection
level: low
---
title: One S3 object read again and again
id: 1e2f3041-5263-4748-99aa-bbccddeeff00
status: test
correlation:
    type: event_count
    rules: [0d1e2f30-4152-4637-8899-aabbccddeeff]
    group-by: [requestParameters.key]
    timespan: 1h
    condition: {gte: 2}
level: medium
)");
  INFO(l->text());
  REQUIRE_FALSE(l->diags.has_errors());
  const auto& r = l->rule("1e2f3041-5263-4748-99aa-bbccddeeff00");
  REQUIRE(r.aggregate.group_by.size() == 1);
  CHECK(r.aggregate.group_by[0].raw == std::vector<std::string>{"requestParameters", "key"});
  REQUIRE(l->set.uses_raw);

  // Root reads 2026/q3.csv twice; mallory and bi read other keys once each.
  const auto events = decode("aws_cloudtrail", "raw_fields/cloudtrail.jsonl", l->set.uses_raw);
  REQUIRE(events.size() == 4);
  const auto f = run(l->set, events).of("1e2f3041-5263-4748-99aa-bbccddeeff00");
  REQUIRE(f.size() == 1);
  CHECK(f[0].group_key.find("2026/q3.csv") != std::string::npos);
  CHECK(f[0].events == 2);
}
