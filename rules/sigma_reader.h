// Sigma rules (https://sigmahq.io) as sevwatch rules (docs/sigma.md). A rule
// file whose YAML documents have a top-level `detection:` or `correlation:`
// is read here instead of as a sevwatch rule list (rule_file.h does the
// dispatch), so `rules check`, `rules test`, `scan --rules` and `run` take
// Sigma files as they are.
//
// A detection rule becomes an `aggregate` rule (count >= 1, grouped and
// windowed by the mapping's defaults, SEV hint from `level`) whose condition
// is the macro `sigma:<id>`: the logsource's formats AND the translated
// detection. Other rules may use that macro too. Correlations become:
//
//   event_count       aggregate count          (condition gte | gt)
//   value_count       aggregate count_distinct (condition field + gte | gt)
//   value_sum         aggregate sum
//   temporal_ordered  sequence of two rules
//   temporal          two sequences (A then B, `<id>.reverse`: B then A)
//
// A correlation names rules (by id or name) of the same file or of a file
// loaded before; unless it says `generate: true` they no longer report on
// their own. Problems are diagnostics with E_SIGMA_* codes (sigma_detection.h,
// sigma_condition.h and the ones below), never exceptions.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/diagnostic.h"
#include "rules/rule_file.h"
#include "rules/sigma_mapping.h"

namespace sevwatch::rules {

// What the loader keeps between Sigma files of one rule set.
struct SigmaState {
  std::shared_ptr<const SigmaMapping> mapping;
  struct Known {
    std::string rule_id;
    std::string macro;                             // "sigma:<id>"
    const SigmaLogsourceMap* logsource = nullptr;  // null for correlations
    std::shared_ptr<const SigmaMapping> mapping;   // keeps `logsource` alive
  };
  std::map<std::string, Known, std::less<>> by_ref;  // Sigma id and name -> rule
  // Correlations wait until every file is read (resolve_sigma_correlations),
  // so they may name rules of files loaded after theirs.
  struct PendingCorrelation {
    YAML::Node document;
    std::string file;
    std::shared_ptr<const std::string> text;  // the file's content, for positions
  };
  std::vector<PendingCorrelation> pending;
};

// Turns the correlations read so far into rules, now that the rules they name
// are known. compile_rule_set() calls it first.
void resolve_sigma_correlations(RuleSet& set, Diagnostics& diags);

// Sigma rules loaded into `set` from now on use `mapping` (the shipped
// mapping when never called).
void use_sigma_mapping(RuleSet& set, std::shared_ptr<const SigmaMapping> mapping);
// The same with a mapping file (`--sigma-mapping FILE`); an empty path keeps
// the shipped mapping. False (with diagnostics) when the file does not load.
bool use_sigma_mapping_file(RuleSet& set, const std::string& path, Diagnostics& diags);

// True when any document is a Sigma rule, correlation or filter.
bool is_sigma_file(const std::vector<YAML::Node>& documents);

// Adds the Sigma documents of one file (`text` is its content, for
// positions) to `set`.
void read_sigma_documents(const std::vector<YAML::Node>& documents, const std::string& file,
                          std::string_view text, RuleSet& set, Diagnostics& diags);

}  // namespace sevwatch::rules
