#include "rules/rule_file.h"

#include <catch2/catch.hpp>

#include "tests/test_support.h"

using namespace sevwatch::rules;

TEST_CASE("the shipped pack loads without diagnostics", "[rule_file]") {
  RuleSet set;
  Diagnostics d;
  load_shipped_rules(set, d);
  check_rule_set(set, d);
  INFO(d.to_text());
  CHECK(d.all().empty());
  REQUIRE(set.find("broad_exposure_sensitive") != nullptr);
  const Rule& broad = *set.find("broad_exposure_sensitive");
  CHECK(broad.kind == RuleKind::exposure);
  CHECK(broad.exposure.min_level == Level::medium);
  CHECK(broad.exposure.audiences.size() == 4);
  CHECK(broad.exposure.rollout_gap_ms == 3'600'000);
  CHECK(broad.runbook == "runbooks/broad_exposure_sensitive.md");
  REQUIRE(set.find("outsider_read_during_exposure") != nullptr);
  CHECK(set.find("outsider_read_during_exposure")->evidence.attach_to.size() == 2);
}

TEST_CASE("every shipped rule has a runbook", "[rule_file]") {
  RuleSet set;
  Diagnostics d;
  load_shipped_rules(set, d);
  for (const auto& r : set.rules) {
    INFO(r.id);
    CHECK(std::filesystem::exists(sevwatch::testing::source_dir() / r.runbook));
  }
}

TEST_CASE("rule file problems are all reported with positions and codes", "[rule_file]") {
  const char* yaml = R"(- rule: a
  kind: exposure
  colour: blue
  exposure:
    audiences: [company, everyone]
    min_level: secret
    rollout_gap: soon
- rule: b
  kind: exposure_evidence
  condition: action = read and
  evidence:
    attach_to: [nope]
- rule: a
  kind: exposure
  exposure: {audiences: [internet]}
)";
  RuleSet set;
  Diagnostics d;
  load_rules_string(yaml, "bad.yaml", set, d);
  check_rule_set(set, d);
  const std::string text = d.to_text();
  INFO(text);
  CHECK(text.find("bad.yaml:3:3: error[E_UNKNOWN_KEY]") != std::string::npos);
  CHECK(text.find("bad.yaml:5:26: error[E_UNKNOWN_AUDIENCE]") != std::string::npos);
  CHECK(text.find("bad.yaml:6:16: error[E_UNKNOWN_LEVEL]") != std::string::npos);
  CHECK(text.find("bad.yaml:7:18: error[E_BAD_DURATION]") != std::string::npos);
  CHECK(text.find("bad.yaml:10:31: error[E_CONDITION]") != std::string::npos);
  CHECK(text.find("E_DUPLICATE_RULE") == std::string::npos);  // 'a' #1 had errors: not kept
}

TEST_CASE("YAML syntax errors and duplicates are reported", "[rule_file]") {
  RuleSet set;
  Diagnostics d;
  load_rules_string("- rule: [unclosed\n", "syn.yaml", set, d);
  REQUIRE(d.has_errors());
  CHECK(d.all()[0].code == "E_YAML");
  CHECK(d.all()[0].loc.file == "syn.yaml");

  RuleSet dup;
  Diagnostics d2;
  const char* twice = "- rule: x\n  kind: exposure\n  exposure: {audiences: [company]}\n";
  load_rules_string(twice, "one.yaml", dup, d2);
  load_rules_string(twice, "two.yaml", dup, d2);
  check_rule_set(dup, d2);
  CHECK(d2.to_text().find("E_DUPLICATE_RULE") != std::string::npos);
}

TEST_CASE("durations", "[rule_file]") {
  CHECK(parse_duration_ms("90s") == 90'000);
  CHECK(parse_duration_ms("15m") == 900'000);
  CHECK(parse_duration_ms("1h") == 3'600'000);
  CHECK(parse_duration_ms("7d") == 7 * 86'400'000LL);
  CHECK_FALSE(parse_duration_ms("h"));
  CHECK_FALSE(parse_duration_ms("10"));
  CHECK_FALSE(parse_duration_ms("10w"));
}
