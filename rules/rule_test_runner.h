// Runs the tests written inside rule files (`tests:` of a rule; see
// docs/rules.md): each test's events go through a fresh engine with the whole
// rule set, and the findings of the rule under test (or `expect: rule:`) are
// compared with `expect:`.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "rules/context.h"
#include "rules/diagnostic.h"
#include "rules/rule_file.h"

namespace sevwatch::rules {

struct RuleTestFailure {
  SourceLoc loc;  // the test's position
  std::string rule_id;
  std::string test_name;
  std::string message;
  std::string explanation;  // with explain: why each event matched or not
};

struct RuleTestReport {
  std::size_t run = 0;
  std::size_t passed = 0;
  std::vector<RuleTestFailure> failures;
};

struct RuleTestOptions {
  const Context* context = nullptr;  // for tests that name none (default: builtin)
  bool explain = false;              // explain every failing test's events
  std::string only_rule;             // run only this rule's tests
};

// The test events start at 2026-01-01T00:00:00Z plus their `at:` offsets.
RuleTestReport run_rule_tests(const RuleSet& set, const RuleTestOptions& options,
                              Diagnostics& diags);

}  // namespace sevwatch::rules
