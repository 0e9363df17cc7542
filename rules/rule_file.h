// Rule files: YAML documents whose top level is a list of items. The reader
// validates every key and collects all problems as FILE:LINE:COL diagnostics
// with stable codes. See docs/rules.md for the format.
//
//   - list: broad_grantees                    # named values, usable in `in (...)`
//     items: [public, PUBLIC, allUsers]
//   - macro: is_read                          # a named condition fragment
//     condition: action in (read, export) and result = allowed
//   - list: broad_grantees                    # a later file extends it...
//     items: [all_employees]
//     append: true                            # ...or override: {items: replace}
//   - rule: broad_exposure_sensitive          # id, unique across files
//     kind: exposure                          # exposure | exposure_evidence |
//                                             # aggregate | sequence | first_seen
//     condition: action in (grant, revoke)
//     exposure: {...}                         # one spec per kind
//     exceptions: [...]                       # structured, with owner and expiry
//     tests: [...]                            # run by `sevwatch rules test`
//   - rule: broad_exposure_sensitive          # a later file tunes a rule
//     override: {exceptions: append}
//     exceptions: [...]
//   - test_context: small_org                 # a context for in-file tests
//     context: {...}                          # (spec/context.md)
//
// Loading is two steps: load_* collects items from every file, then
// compile_rule_set() (also run by check_rule_set() and load_shipped_rules())
// resolves lists and macros across files and compiles conditions. Rules with
// errors are dropped from the set.
#pragma once

#include <bitset>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/condition_passes.h"
#include "rules/diagnostic.h"
#include "rules/rule.h"

namespace sevwatch::rules {

struct TestContext {
  std::string name;
  std::string yaml;
  SourceLoc loc;
};

struct SigmaState;  // rules/sigma_reader.h

struct RuleSet {
  std::vector<Rule> rules;
  Definitions defs;
  std::map<std::string, TestContext, std::less<>> test_contexts;
  std::vector<std::string> used_names;  // lists and macros referenced (after compile)
  // Sigma files (sigma_reader.h): the mapping they use and the Sigma rules
  // loaded so far, for correlations across files. Null until the first one.
  std::shared_ptr<SigmaState> sigma;
  // Some rule's condition, sequence step or exception names a raw.<path>
  // field (after compile): decoders must keep the source record
  // (detectors::DecoderOptions::keep_raw).
  bool uses_raw = false;
  // The catalog fields (condition_fields.h) some rule reads, after compile: in
  // a condition, a sequence step or an exception, or as an aggregate field or
  // a group_by/by/key field. `sevwatch run` keeps an event's free text (query,
  // session...) in its grant journal only when a rule reads it.
  std::bitset<kFieldCount> fields_used;
  bool uses(Field f) const { return fields_used.test(static_cast<std::size_t>(f)); }
  const Rule* find(std::string_view id) const;
  Rule* find(std::string_view id);
};

// Adds the items of one YAML document to `set`. `name` is used in diagnostics.
// A file of Sigma documents (top-level `detection:` or `correlation:`, `---`
// between documents) is translated by sigma_reader.h.
void load_rules_string(std::string_view yaml, const std::string& name, RuleSet& set,
                       Diagnostics& diags);
// A file, or every *.yaml file of a directory (sorted by name; the SEV rubric
// file sev_rubric.yaml is not a rule file and is skipped).
void load_rules_path(const std::string& path, RuleSet& set, Diagnostics& diags);
// The shipped pack, compiled into the binary (and compiled).
void load_shipped_rules(RuleSet& set, Diagnostics& diags);
// Resolves names and compiles every rule's conditions and exceptions; rules
// with errors are removed. Idempotent.
void compile_rule_set(RuleSet& set, Diagnostics& diags);
// compile_rule_set(), then cross-file checks (attach_to targets, duplicate
// ids) and lints: unused lists and macros (W_UNUSED_LIST, W_UNUSED_MACRO),
// exceptions expired by `now_ms` (W_EXPIRED_EXCEPTION; 0: the current time).
void check_rule_set(RuleSet& set, Diagnostics& diags, std::int64_t now_ms = 0);

// "90s", "15m", "1h", "7d" -> milliseconds; nullopt when malformed.
std::optional<std::int64_t> parse_duration_ms(std::string_view text);

}  // namespace sevwatch::rules
