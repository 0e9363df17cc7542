#include "app/rules_command.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "app/cli_args.h"
#include "rules/context.h"
#include "rules/rule_file.h"
#include "triage/sev_rubric.h"

namespace sevwatch::app {
namespace {

int check_cmd(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::vector<std::string> paths;
  std::string context_path;
  std::string rubric_path;
  bool json = false;
  while (p.more()) {
    if (p.flag("--json")) {
      json = true;
    } else if (p.flag("--context")) {
      context_path = p.value();
    } else if (p.flag("--rubric")) {
      rubric_path = p.value();
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
  for (const auto& path : paths) rules::load_rules_path(path, set, diags);
  if (!set.rules.empty()) rules::check_rule_set(set, diags);
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

}  // namespace

int rules_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << "sevwatch rules: needs a subcommand: check\n";
    return 2;
  }
  ArgParser p("rules " + args[0], std::vector<std::string>(args.begin() + 1, args.end()), err);
  if (args[0] == "check") return check_cmd(p, out, err);
  err << "sevwatch rules: unknown subcommand '" << args[0] << "' (check)\n";
  return 2;
}

}  // namespace sevwatch::app
