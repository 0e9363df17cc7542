// The tests written inside the shipped pack's rule files, run as `sevwatch
// rules test` would run them.
#include <catch2/catch.hpp>

#include "rules/rule_file.h"
#include "rules/rule_test_runner.h"

using namespace sevwatch::rules;

TEST_CASE("every shipped rule's in-file tests pass", "[pack]") {
  RuleSet set;
  Diagnostics d;
  load_shipped_rules(set, d);
  check_rule_set(set, d);
  INFO(d.to_text());
  REQUIRE_FALSE(d.has_errors());
  RuleTestOptions options;
  options.explain = true;
  const auto report = run_rule_tests(set, options, d);
  for (const auto& f : report.failures) {
    INFO(f.loc.file << ":" << f.loc.line << ": " << f.rule_id << " / " << f.test_name << ": "
                    << f.message << "\n"
                    << f.explanation.substr(0, 4000));
    CHECK(false);
  }
  CHECK(report.run >= 15);  // disabled rules included
  CHECK(report.passed == report.run);
  // Every stateful rule of the pack has at least one test.
  for (const auto& r : set.rules) {
    if (r.kind == RuleKind::aggregate || r.kind == RuleKind::sequence ||
        r.kind == RuleKind::first_seen) {
      INFO(r.id);
      CHECK_FALSE(r.tests.empty());
    }
  }
}

TEST_CASE("a failing in-file test names its file, line and column", "[pack]") {
  const char* yaml = R"(- rule: many_reads
  kind: aggregate
  condition: action = read
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 3, sev: 4}]}
  tests:
    - name: wrong on purpose
      events:
        - {at: +0m, action: read, principal: a, object: x.y.z, repeat: 2}
      expect: {findings: 1}
    - name: right
      events:
        - {at: +0m, action: read, principal: a, object: x.y.z, repeat: 3}
      expect: {findings: 1, sev_hint: 4}
)";
  RuleSet set;
  Diagnostics d;
  load_rules_string(yaml, "t.yaml", set, d);
  check_rule_set(set, d);
  REQUIRE_FALSE(d.has_errors());
  RuleTestOptions options;
  options.explain = true;
  const auto report = run_rule_tests(set, options, d);
  CHECK(report.run == 2);
  CHECK(report.passed == 1);
  REQUIRE(report.failures.size() == 1);
  CHECK(report.failures[0].loc.file == "t.yaml");
  CHECK(report.failures[0].loc.line == 6);
  CHECK(report.failures[0].loc.col == 7);
  CHECK(report.failures[0].message.find("expected 1 finding(s)") != std::string::npos);
  CHECK(report.failures[0].explanation.find("true  action = read") != std::string::npos);
}
