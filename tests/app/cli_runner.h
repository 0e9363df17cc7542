// Runs the real sevwatch binary, as a user would, and captures its output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <string>

#include "tests/test_support.h"

namespace sevwatch::testing {

struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// `args` are passed to the binary, each quoted; `stdin_file` (optional) is fed
// on standard input.
inline CliResult run_cli(const std::vector<std::string>& args, const std::string& stdin_file = "") {
  static int n = 0;
  const auto err_file =
      std::filesystem::temp_directory_path() /
      ("sevwatch-cli-err-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::string cmd = shell_quote(SEVWATCH_BINARY);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  if (!stdin_file.empty()) cmd += " < " + shell_quote(stdin_file);
  cmd += " 2> " + shell_quote(err_file.string());
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 65536> buf;
  std::size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), got);
  const int rc = ::pclose(p);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.err = read_file(err_file);
  std::filesystem::remove(err_file);
  return r;
}

inline boost::json::value parse_json(const std::string& text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  INFO("not JSON: " << text.substr(0, 500));
  REQUIRE_FALSE(ec);
  return v;
}

}  // namespace sevwatch::testing
