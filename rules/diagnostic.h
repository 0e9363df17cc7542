// Load-time problems, collected rather than thrown: each has a stable code and
// a FILE:LINE:COL position (1-based), printed compiler-style.
#pragma once

#include <string>
#include <vector>

namespace sevwatch::rules {

struct SourceLoc {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int col = 0;   // 1-based; 0 when unknown
};

enum class DiagSeverity { error, warning };

struct Diagnostic {
  DiagSeverity severity = DiagSeverity::error;
  std::string code;  // stable, e.g. "E_UNKNOWN_KEY"
  SourceLoc loc;
  std::string message;
};

class Diagnostics {
 public:
  void error(std::string code, SourceLoc loc, std::string message);
  void warning(std::string code, SourceLoc loc, std::string message);
  bool has_errors() const;
  const std::vector<Diagnostic>& all() const { return items_; }
  void append(const Diagnostics& other);
  // "file:line:col: error[CODE]: message", one per line.
  std::string to_text() const;

 private:
  std::vector<Diagnostic> items_;
};

std::string format_diagnostic(const Diagnostic& d);

}  // namespace sevwatch::rules
