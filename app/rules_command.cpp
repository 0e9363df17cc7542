#include "app/rules_command.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "app/cli_args.h"
#include "rules/context.h"
#include "rules/rule_file.h"
#include "rules/rule_test_runner.h"
#include "rules/sigma_reader.h"
#include "triage/sev_rubric.h"

namespace sevwatch::app {
namespace {

int check_cmd(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::vector<std::string> paths;
  std::string context_path;
  std::string rubric_path;
  std::string sigma_mapping;
  bool json = false;
  while (p.more()) {
    if (p.flag("--json")) {
      json = true;
    } else if (p.flag("--context")) {
      context_path = p.value();
    } else if (p.flag("--rubric")) {
      rubric_path = p.value();
    } else if (p.flag("--sigma-mapping")) {
      sigma_mapping = p.value();
    } else {
      paths.push_back(p.positional());
    }
  }
  if (p.failed()) return 2;
  rules::Diagnostics diags;
  rules::RuleSet set;
  if (paths.empty() && context_path.empty() && rubric_path.empty()) {
    rules::load_shipped_rules(set, diags);
  }
  if (rules::use_sigma_mapping_file(set, sigma_mapping, diags)) {
    for (const auto& path : paths) rules::load_rules_path(path, set, diags);
  }
  if (!set.rules.empty() || !set.defs.lists.empty() || !set.defs.macros.empty()) {
    rules::check_rule_set(set, diags);
  }
  if (!context_path.empty()) rules::Context::load_file(context_path, diags);
  if (!rubric_path.empty()) triage::SevRubric::load_file(rubric_path, diags);

  if (json) {
    boost::json::array a;
    for (const auto& d : diags.all()) {
      a.push_back(boost::json::object{
          {"file", d.loc.file},
          {"line", d.loc.line},
          {"col", d.loc.col},
          {"severity", d.severity == rules::DiagSeverity::error ? "error" : "warning"},
          {"code", d.code},
          {"message", d.message}});
    }
    out << boost::json::serialize(a) << "\n";
  } else {
    err << diags.to_text();
    if (!diags.has_errors()) out << fmt::format("ok: {} rule(s)\n", set.rules.size());
  }
  return diags.has_errors() ? 1 : 0;
}

// `rules test [--explain] [--context FILE] [--rule ID] DIR|FILE...`: runs the
// tests written in the rule files (the shipped pack when no path is given).
int test_cmd(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::vector<std::string> paths;
  std::string context_path;
  std::string sigma_mapping;
  rules::RuleTestOptions options;
  while (p.more()) {
    if (p.flag("--explain")) {
      options.explain = true;
    } else if (p.flag("--context")) {
      context_path = p.value();
    } else if (p.flag("--rule")) {
      options.only_rule = p.value();
    } else if (p.flag("--sigma-mapping")) {
      sigma_mapping = p.value();
    } else {
      paths.push_back(p.positional());
    }
  }
  if (p.failed()) return 2;
  rules::Diagnostics diags;
  rules::RuleSet set;
  if (paths.empty()) rules::load_shipped_rules(set, diags);
  if (rules::use_sigma_mapping_file(set, sigma_mapping, diags)) {
    for (const auto& path : paths) rules::load_rules_path(path, set, diags);
  }
  rules::check_rule_set(set, diags);
  std::unique_ptr<rules::Context> context;
  if (!context_path.empty()) {
    context = rules::Context::load_file(context_path, diags);
    options.context = context.get();
  }
  err << diags.to_text();
  if (diags.has_errors()) return 1;
  const auto report = rules::run_rule_tests(set, options, diags);
  for (const auto& f : report.failures) {
    err << fmt::format("{}:{}:{}: test '{}' of rule '{}' failed: {}\n", f.loc.file, f.loc.line,
                       f.loc.col, f.test_name, f.rule_id, f.message);
    if (!f.explanation.empty()) err << f.explanation;
  }
  out << fmt::format("{} test(s): {} passed, {} failed\n", report.run, report.passed,
                     report.failures.size());
  return report.failures.empty() ? 0 : 1;
}

}  // namespace

int rules_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << "sevwatch rules: needs a subcommand: check, test\n";
    return 2;
  }
  ArgParser p("rules " + args[0], std::vector<std::string>(args.begin() + 1, args.end()), err);
  if (args[0] == "check") return check_cmd(p, out, err);
  if (args[0] == "test") return test_cmd(p, out, err);
  err << "sevwatch rules: unknown subcommand '" << args[0] << "' (check, test)\n";
  return 2;
}

}  // namespace sevwatch::app
