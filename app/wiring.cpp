#include "app/wiring.h"

#include <chrono>

#include "rules/sigma_reader.h"

namespace sevwatch::app {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<triage::IncidentStore> open_store(const std::string& command,
                                                  const std::string& url, std::ostream& err) {
  std::string error;
  auto store = triage::IncidentStore::open(url, error);
  if (!store) err << "sevwatch " << command << ": " << error << "\n";
  return store;
}

bool load_pipeline(const std::string& context_path, const std::vector<std::string>& rule_paths,
                   const std::string& rubric_path, Pipeline& out, std::ostream& err,
                   const std::string& sigma_mapping_path) {
  rules::Diagnostics diags;
  const bool context_ok = load_context_side(context_path, out, diags);
  const bool rules_ok = load_rule_side(rule_paths, rubric_path, sigma_mapping_path, out, diags);
  if (!diags.all().empty()) err << diags.to_text();
  return context_ok && rules_ok;
}

bool load_rule_side(const std::vector<std::string>& rule_paths, const std::string& rubric_path,
                    const std::string& sigma_mapping_path, Pipeline& out,
                    rules::Diagnostics& diags) {
  rules::Diagnostics local;
  if (rule_paths.empty()) {
    rules::load_shipped_rules(out.rules, local);
  } else if (rules::use_sigma_mapping_file(out.rules, sigma_mapping_path, local)) {
    for (const auto& p : rule_paths) rules::load_rules_path(p, out.rules, local);
  }
  rules::check_rule_set(out.rules, local);
  out.rubric = rubric_path.empty() ? triage::SevRubric::builtin_default()
                                   : triage::SevRubric::load_file(rubric_path, local);
  diags.append(local);
  return !local.has_errors() && out.rubric;
}

bool load_context_side(const std::string& context_path, Pipeline& out, rules::Diagnostics& diags) {
  rules::Diagnostics local;
  out.context = context_path.empty() ? rules::Context::builtin_default()
                                     : rules::Context::load_file(context_path, local);
  diags.append(local);
  return !local.has_errors() && out.context;
}

}  // namespace sevwatch::app
