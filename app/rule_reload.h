// Rules for `sevwatch run`, loaded at start and again on reload (SIGHUP, or
// `rules_reload: watch` when a rule file changes).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rules/diagnostic.h"
#include "rules/rule_file.h"

namespace sevwatch::app {

// Reads and compiles the rule files as `run` does at start (the rule steps of
// load_pipeline in wiring.cpp; keep them in step): every path (a file, or a
// directory's *.yaml files, Sigma ones with the shipped mapping), or the
// shipped pack when `paths` is empty, then the cross-file checks. The set may
// be used only when `diags` has no errors.
// `sigma_mapping_path`: the Sigma mapping for Sigma rule files (empty: the
// shipped one).
std::unique_ptr<rules::RuleSet> load_rule_set(const std::vector<std::string>& paths,
                                              rules::Diagnostics& diags,
                                              const std::string& sigma_mapping_path = {});

// What `rules_reload: watch` compares between flush intervals: the path,
// size and modification time of every rule file (a directory's *.yaml and
// *.yml files, and the directory itself). "" for the shipped pack.
std::string rule_files_signature(const std::vector<std::string>& paths);

}  // namespace sevwatch::app
