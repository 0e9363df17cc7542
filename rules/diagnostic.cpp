#include "rules/diagnostic.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace sevwatch::rules {

void Diagnostics::error(std::string code, SourceLoc loc, std::string message) {
  items_.push_back(
      Diagnostic{DiagSeverity::error, std::move(code), std::move(loc), std::move(message)});
}

void Diagnostics::warning(std::string code, SourceLoc loc, std::string message) {
  items_.push_back(
      Diagnostic{DiagSeverity::warning, std::move(code), std::move(loc), std::move(message)});
}

bool Diagnostics::has_errors() const {
  return std::any_of(items_.begin(), items_.end(),
                     [](const Diagnostic& d) { return d.severity == DiagSeverity::error; });
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

std::string Diagnostics::to_text() const {
  std::string out;
  for (const auto& d : items_) {
    out += format_diagnostic(d);
    out += '\n';
  }
  return out;
}

// "file:line:col: error[CODE]: message"; the position parts that are unknown
// (0) are left out, so a file-level problem prints as "file: error[...]".
std::string format_diagnostic(const Diagnostic& d) {
  std::string where = d.loc.file.empty() ? std::string("<input>") : d.loc.file;
  if (d.loc.line > 0) {
    where += fmt::format(":{}", d.loc.line);
    if (d.loc.col > 0) where += fmt::format(":{}", d.loc.col);
  }
  const char* sev = d.severity == DiagSeverity::error ? "error" : "warning";
  return fmt::format("{}: {}[{}]: {}", where, sev, d.code, d.message);
}

}  // namespace sevwatch::rules
