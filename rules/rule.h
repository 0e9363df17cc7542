// A rule as loaded from YAML (docs/rules.md): metadata, the kind-specific
// spec, structured exceptions and in-file tests. rule_file.h reads them;
// compile_rule_set() (rule_file.h) fills the compiled parts.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/classes.h"
#include "rules/condition.h"
#include "rules/diagnostic.h"

namespace sevwatch::rules {

enum class RuleKind : std::uint8_t { exposure, exposure_evidence, aggregate, sequence, first_seen };
std::string_view to_string(RuleKind k);

enum class GroupField : std::uint8_t { catalog, audience, grantee, actor };

struct ExposureSpec {
  std::vector<Audience> audiences;
  Level min_level = Level::medium;
  std::vector<GroupField> group_by{GroupField::catalog, GroupField::audience};
  std::int64_t rollout_gap_ms = 3600 * 1000;
};

struct EvidenceSpec {
  std::vector<std::string> attach_to;  // ids of exposure rules
};

// What a stateful rule does when a declared limit is reached.
enum class Overflow : std::uint8_t { drop_new, evict_oldest };

struct StateLimits {
  std::size_t max_groups = 10'000;   // groups (keys) held at once
  std::size_t max_values = 100'000;  // distinct values per group (count_distinct)
  Overflow overflow = Overflow::drop_new;
  std::int64_t lateness_ms = 0;  // events older than the newest seen minus this are dropped
};

// A finding's severity hint once the aggregate reaches `gte`.
struct Tier {
  double gte = 0;
  int sev = 5;
};

struct AggregateSpec {
  enum class Function : std::uint8_t { count, count_distinct, sum };
  Function function = Function::count;
  std::optional<FieldRef> field;  // count_distinct, sum
  std::vector<FieldRef> group_by;
  std::int64_t window_ms = 3'600'000;
  bool sliding = true;      // false: tumbling windows aligned on the epoch
  std::vector<Tier> tiers;  // ascending; the first opens the finding
  StateLimits limits;
};

struct SequenceStep {
  std::string name;
  std::string condition_text;
  SourceLoc loc;
  std::shared_ptr<const Condition> condition;  // compiled
  ActionMask actions;
};

struct SequenceSpec {
  std::vector<FieldRef> by;        // pairs A with B
  std::vector<FieldRef> group_by;  // findings (default: by)
  std::int64_t within_ms = 900'000;
  std::vector<SequenceStep> steps;  // exactly two: A, B
  bool absent = false;              // fire when B does NOT follow A within `within`
  int sev = 4;
  StateLimits limits;
};

struct FirstSeenSpec {
  std::vector<FieldRef> key;  // e.g. [principal, object.sensitivity]
  std::int64_t lookback_ms = 30LL * 86'400'000;
  std::int64_t learn_ms = 7LL * 86'400'000;  // no findings while the baseline is this young
  int sev = 4;
  StateLimits limits;
};

// A structured exception (Falco-style tuples) with governance metadata.
struct RuleException {
  std::string name;
  std::string owner;
  std::string reason;
  std::string ticket;
  std::string expires;          // YYYY-MM-DD; empty: never
  std::int64_t expires_ms = 0;  // end of that day, UTC; 0: never
  std::vector<std::string> fields;
  std::vector<std::string> comps;  // one per field; default "=" ("in" for a single field)
  std::vector<std::vector<ast::Value>> values;
  SourceLoc loc;
  std::shared_ptr<const Condition> matcher;  // compiled: OR over tuples of AND
};

// One event of an in-file test. Field values are strings (lists for
// multi-valued fields); `{i}` in a value is replaced by the repetition index.
struct TestEvent {
  std::int64_t at_ms = 0;  // offset from the test's start
  std::vector<std::pair<std::string, std::vector<std::string>>> fields;
  int repeat = 1;
  std::int64_t every_ms = 0;  // spacing between repetitions
  SourceLoc loc;
};

struct TestExpect {
  bool none = false;
  std::optional<std::size_t> findings;
  std::string rule;  // default: the rule under test
  std::optional<std::uint64_t> objects;
  std::optional<Evidence> evidence;
  std::optional<int> sev_hint;
};

struct RuleTest {
  std::string name;
  SourceLoc loc;
  std::string context_yaml;  // inline context (YAML text), or
  std::string context_ref;   // the name of a `test_context` item
  std::vector<TestEvent> events;
  TestExpect expect;
};

struct Rule {
  std::string id;
  std::string title;
  std::string description;
  std::vector<std::string> tags;
  std::string status = "stable";
  std::string owner;
  std::string runbook;
  bool enabled = true;
  RuleKind kind = RuleKind::exposure;
  std::string condition_text;
  SourceLoc condition_loc;
  std::shared_ptr<const Condition> condition;  // null: every event
  ActionMask actions = ActionMask().set();     // the actions the condition can match
  // Literal prefixes the event's object / principal must start with for the
  // condition to hold (required_prefixes); the rule index uses them.
  std::optional<std::vector<std::string>> object_prefixes;
  std::optional<std::vector<std::string>> principal_prefixes;
  ExposureSpec exposure;
  EvidenceSpec evidence;
  AggregateSpec aggregate;
  SequenceSpec sequence;
  FirstSeenSpec first_seen;
  std::vector<RuleException> exceptions;
  std::vector<RuleTest> tests;
  SourceLoc loc;
};

}  // namespace sevwatch::rules
