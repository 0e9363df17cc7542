// Internal to rule_file.cpp / rule_reader_specs.cpp: the YAML reader of one
// rule file. Not part of the rules library's interface.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "rules/diagnostic.h"
#include "rules/rule_file.h"

namespace sevwatch::rules::detail {

SourceLoc loc_of(const std::string& file, const YAML::Node& node);

class RuleReader {
 public:
  RuleReader(const std::string& file, Diagnostics& diags) : file_(file), diags_(diags) {}
  void read_document(const YAML::Node& root, RuleSet& set);

 private:
  // rule_file.cpp
  void read_list(const YAML::Node& item, RuleSet& set);
  void read_macro(const YAML::Node& item, RuleSet& set);
  void read_test_context(const YAML::Node& item, RuleSet& set);
  bool read_rule(const YAML::Node& item, Rule& rule);
  void read_override(const YAML::Node& item, RuleSet& set);
  // rule_reader_specs.cpp
  void read_exposure(const YAML::Node& n, ExposureSpec& spec);
  void read_aggregate(const YAML::Node& n, AggregateSpec& spec);
  void read_sequence(const YAML::Node& n, SequenceSpec& spec);
  void read_first_seen(const YAML::Node& n, FirstSeenSpec& spec);
  bool read_limits_key(const std::string& key, const YAML::Node& v, StateLimits& limits);
  void read_exceptions(const YAML::Node& n, std::vector<RuleException>& out);
  void read_tests(const YAML::Node& n, std::vector<RuleTest>& out);
  bool read_test_event(const YAML::Node& n, TestEvent& ev);
  bool read_expect(const YAML::Node& n, TestExpect& ex);

  // helpers
  SourceLoc loc(const YAML::Node& n) const { return loc_of(file_, n); }
  bool scalar(const YAML::Node& n, const char* what, std::string& out);
  bool string_list(const YAML::Node& n, const char* what, std::vector<std::string>& out);
  bool duration(const YAML::Node& n, const char* what, std::int64_t& out);
  bool integer(const YAML::Node& n, const char* what, long long& out);
  bool boolean(const YAML::Node& n, const char* what, bool& out);
  bool fields(const YAML::Node& n, const char* what, std::vector<FieldRef>& out);
  void unknown_key(const YAML::Node& key, const char* where);
  std::size_t error_count() const;

  std::string file_;
  Diagnostics& diags_;
};

}  // namespace sevwatch::rules::detail
