// Loads what every command that evaluates rules needs: the context, the rule
// set and the SEV rubric, from the user's files or the shipped defaults.
// Diagnostics are printed FILE:LINE:COL to `err`.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "rules/context.h"
#include "rules/rule_file.h"
#include "triage/sev_rubric.h"

namespace sevwatch::app {

struct Pipeline {
  std::unique_ptr<rules::Context> context;
  rules::RuleSet rules;
  std::unique_ptr<triage::SevRubric> rubric;
};

bool load_pipeline(const std::string& context_path, const std::vector<std::string>& rule_paths,
                   const std::string& rubric_path, Pipeline& out, std::ostream& err);

}  // namespace sevwatch::app
