// Loads what every command that evaluates rules needs: the context, the rule
// set and the SEV rubric, from the user's files or the shipped defaults.
// Diagnostics are printed FILE:LINE:COL to `err`.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "rules/context.h"
#include "rules/rule_file.h"
#include "triage/incident_store.h"
#include "triage/sev_rubric.h"

namespace sevwatch::app {

struct Pipeline {
  std::unique_ptr<rules::Context> context;
  rules::RuleSet rules;
  std::unique_ptr<triage::SevRubric> rubric;
};

// The wall clock, in milliseconds since the epoch.
std::int64_t wall_ms();

// Opens the store for `sevwatch <command>`; on failure prints one line naming
// the store (never its password) and returns nullptr.
std::unique_ptr<triage::IncidentStore> open_store(const std::string& command,
                                                  const std::string& url, std::ostream& err);

// `sigma_mapping_path`: the Sigma mapping for Sigma rule files (empty: the
// shipped rules/sigma/mapping.yaml).
bool load_pipeline(const std::string& context_path, const std::vector<std::string>& rule_paths,
                   const std::string& rubric_path, Pipeline& out, std::ostream& err,
                   const std::string& sigma_mapping_path = {});

// load_pipeline in two steps, for a caller that starts work in between (scan
// starts decoding once it knows what the rules read, and loads the context
// meanwhile). Each adds its problems to `diags` and returns false on errors;
// the caller prints them.
bool load_rule_side(const std::vector<std::string>& rule_paths, const std::string& rubric_path,
                    const std::string& sigma_mapping_path, Pipeline& out,
                    rules::Diagnostics& diags);
bool load_context_side(const std::string& context_path, Pipeline& out, rules::Diagnostics& diags);

}  // namespace sevwatch::app
