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
  out.context = context_path.empty() ? rules::Context::builtin_default()
                                     : rules::Context::load_file(context_path, diags);
  if (rule_paths.empty()) {
    rules::load_shipped_rules(out.rules, diags);
  } else if (rules::use_sigma_mapping_file(out.rules, sigma_mapping_path, diags)) {
    for (const auto& p : rule_paths) rules::load_rules_path(p, out.rules, diags);
  }
  rules::check_rule_set(out.rules, diags);
  out.rubric = rubric_path.empty() ? triage::SevRubric::builtin_default()
                                   : triage::SevRubric::load_file(rubric_path, diags);
  if (!diags.all().empty()) err << diags.to_text();
  return !diags.has_errors() && out.context && out.rubric;
}

}  // namespace sevwatch::app
