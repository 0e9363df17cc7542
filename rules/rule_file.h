// Rule files: YAML documents whose top level is a list of rules. The reader
// validates every key, compiles conditions, and collects all problems as
// FILE:LINE:COL diagnostics with stable codes. See docs/rules.md.
//
//   - rule: broad_exposure_sensitive          # id, unique across files
//     title: "..."                            # the finding's title
//     description: "..."
//     tags: [exposure]
//     status: stable                          # stable | experimental
//     owner: security
//     runbook: runbooks/broad_exposure_sensitive.md
//     kind: exposure                          # exposure | exposure_evidence
//     condition: action = grant               # optional filter on the event
//     exposure:                               # kind: exposure
//       audiences: [internet, external, company, department]
//       min_level: medium                     # objects at least this sensitive
//       group_by: [catalog, audience]         # one finding per group ...
//       rollout_gap: 1h                       # ... while grants keep coming
//     evidence:                               # kind: exposure_evidence
//       attach_to: [broad_exposure_sensitive]
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/classes.h"
#include "rules/condition.h"
#include "rules/diagnostic.h"

namespace sevwatch::rules {

enum class RuleKind : std::uint8_t { exposure, exposure_evidence };

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

struct Rule {
  std::string id;
  std::string title;
  std::string description;
  std::vector<std::string> tags;
  std::string status = "stable";
  std::string owner;
  std::string runbook;
  RuleKind kind = RuleKind::exposure;
  std::string condition_text;
  std::shared_ptr<const Condition> condition;  // null: every event
  ExposureSpec exposure;
  EvidenceSpec evidence;
  SourceLoc loc;
};

struct RuleSet {
  std::vector<Rule> rules;
  const Rule* find(std::string_view id) const;
};

// Adds the rules of one YAML document to `set`. `name` is used in diagnostics.
void load_rules_string(std::string_view yaml, const std::string& name, RuleSet& set,
                       Diagnostics& diags);
// A file, or every *.yaml file of a directory (sorted by name; the SEV rubric
// file sev_rubric.yaml is not a rule file and is skipped).
void load_rules_path(const std::string& path, RuleSet& set, Diagnostics& diags);
// The shipped pack, compiled into the binary.
void load_shipped_rules(RuleSet& set, Diagnostics& diags);
// Cross-file checks after everything is loaded (attach_to targets exist...).
void check_rule_set(const RuleSet& set, Diagnostics& diags);

// "90s", "15m", "1h", "7d" -> milliseconds; nullopt when malformed.
std::optional<std::int64_t> parse_duration_ms(std::string_view text);

}  // namespace sevwatch::rules
