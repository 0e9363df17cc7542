#include "app/rule_reload.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "rules/sigma_reader.h"

namespace sevwatch::app {

namespace {
namespace fs = std::filesystem;

void describe(const fs::path& p, std::vector<std::string>& out) {
  std::error_code ec;
  const auto size = fs::is_regular_file(p, ec) ? fs::file_size(p, ec) : 0;
  const auto mtime = fs::last_write_time(p, ec);
  if (ec) {
    out.push_back(p.string() + " missing");
    return;
  }
  out.push_back(fmt::format("{} {} {}", p.string(), size, mtime.time_since_epoch().count()));
}
}  // namespace

std::unique_ptr<rules::RuleSet> load_rule_set(const std::vector<std::string>& paths,
                                              rules::Diagnostics& diags,
                                              const std::string& sigma_mapping_path) {
  auto set = std::make_unique<rules::RuleSet>();
  if (paths.empty()) {
    rules::load_shipped_rules(*set, diags);
  } else if (rules::use_sigma_mapping_file(*set, sigma_mapping_path, diags)) {
    for (const auto& p : paths) rules::load_rules_path(p, *set, diags);
  }
  rules::check_rule_set(*set, diags);
  return set;
}

std::string rule_files_signature(const std::vector<std::string>& paths) {
  std::vector<std::string> parts;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      describe(path, parts);
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        const auto& p = entry.path();
        if ((p.extension() == ".yaml" || p.extension() == ".yml") &&
            p.filename() != "sev_rubric.yaml") {
          files.push_back(p);
        }
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) describe(f, parts);
    } else {
      describe(path, parts);
    }
  }
  return fmt::format("{}", fmt::join(parts, "\n"));
}

}  // namespace sevwatch::app
