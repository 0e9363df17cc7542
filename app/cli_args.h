// A small argument reader for subcommands: `--flag VALUE`, `--flag=VALUE`,
// booleans and positionals. Usage errors are printed once, naming the
// subcommand; the caller exits 2 when failed().
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace sevwatch::app {

class ArgParser {
 public:
  ArgParser(std::string command, const std::vector<std::string>& args, std::ostream& err);

  bool more() const { return !failed_ && i_ < args_.size(); }
  // True (and consumes it) when the current argument is `name` or `name=...`.
  bool flag(const std::string& name);
  std::string value();  // the flag's value
  int int_value(int min, int max);
  std::string positional();  // the current argument, which must not look like a flag
  bool failed() const { return failed_; }
  void fail(const std::string& message);

 private:
  std::string command_;
  std::vector<std::string> args_;
  std::ostream& err_;
  std::size_t i_ = 0;
  std::string current_flag_;
  std::optional<std::string> inline_value_;
  bool failed_ = false;
};

// An incident id: a positive decimal number.
bool parse_incident_id(const std::string& text, std::int64_t& id);

}  // namespace sevwatch::app
