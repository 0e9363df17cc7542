// The Sigma mapping: the shipped file, logsource and field lookup, custom
// mappings and their diagnostics.
#include <catch2/catch.hpp>
#include <set>

#include "tests/rules/sigma_test_support.h"

using namespace sevwatch;
using namespace sevwatch::testing::sigma;

TEST_CASE("the shipped Sigma mapping loads and covers the warehouse formats", "[sigma][mapping]") {
  rules::Diagnostics d;
  const auto file = rules::load_sigma_mapping_file(
      (sevwatch::testing::source_dir() / "rules/sigma/mapping.yaml").string(), d);
  INFO(d.to_text());
  REQUIRE(file != nullptr);
  CHECK(d.all().empty());
  const auto shipped = rules::default_sigma_mapping();
  CHECK(shipped->logsources.size() == file->logsources.size());
  CHECK(shipped->window_ms == 3'600'000);
  CHECK(shipped->sev_of("critical") == 1);
  CHECK(shipped->sev_of("informational") == 5);

  const struct {
    const char *category, *product, *service, *format;
  } cases[] = {
      {"", "aws", "cloudtrail", "aws_cloudtrail"}, {"", "gcp", "gcp.audit", "gcp_bigquery"},
      {"", "databricks", "", "databricks_uc"},     {"", "snowflake", "", "snowflake"},
      {"", "postgresql", "", "pgaudit"},           {"", "hive", "", "ranger_audit"},
      {"", "ranger", "", "ranger_audit"},          {"database", "postgresql", "", "pgaudit"},
      {"", "AWS", "CloudTrail", "aws_cloudtrail"},
  };
  for (const auto& c : cases) {
    INFO(c.category << "/" << c.product << "/" << c.service);
    const auto* e = shipped->find_logsource(c.category, c.product, c.service);
    REQUIRE(e != nullptr);
    REQUIRE_FALSE(e->formats.empty());
    CHECK(e->formats[0] == c.format);
  }
  const auto* db = shipped->find_logsource("database", "", "");
  REQUIRE(db != nullptr);
  CHECK(db->formats.empty());  // any format with a statement
  CHECK(db->keywords == std::vector<std::string>{"query"});
  CHECK(shipped->find_logsource("", "windows", "security") == nullptr);
  CHECK(shipped->find_logsource("", "aws", "guardduty") == nullptr);
}

TEST_CASE("Sigma field lookup: exact, any case, prefixes, own fields, null", "[sigma][mapping]") {
  const auto shipped = rules::default_sigma_mapping();
  const auto& ct = *shipped->find_logsource("", "aws", "cloudtrail");
  auto f = rules::map_sigma_field(ct, "eventName");
  CHECK(f.found);
  CHECK(f.fields == std::vector<std::string>{"operation"});
  f = rules::map_sigma_field(ct, "EVENTNAME");  // case-insensitive fallback
  CHECK(f.fields == std::vector<std::string>{"operation"});
  f = rules::map_sigma_field(ct, "requestParameters.bucketName");  // "*": "raw.*"
  CHECK(f.fields == std::vector<std::string>{"raw.requestParameters.bucketName"});
  f = rules::map_sigma_field(ct, "principal");  // a condition field is itself
  CHECK(f.fields == std::vector<std::string>{"principal"});

  const auto& gcp = *shipped->find_logsource("", "gcp", "gcp.audit");
  f = rules::map_sigma_field(gcp, "data.protoPayload.serviceName");  // the longest prefix
  CHECK(f.fields == std::vector<std::string>{"raw.protoPayload.serviceName"});
  f = rules::map_sigma_field(gcp, "gcp.audit.unknown_thing");
  CHECK_FALSE(f.found);

  f = rules::map_sigma_field(*no_raw_mapping()->find_logsource("", "aws", "cloudtrail"),
                             "eventSource");
  CHECK(f.found);
  CHECK(f.dropped);
}

TEST_CASE("every shipped logsource reads its decoder's events", "[sigma][mapping]") {
  const struct {
    const char* logsource;
    const char* selection;
    const char* format;
    const char* fixture;
    std::set<std::string> actors;
  } cases[] = {
      {"{product: gcp, service: gcp.audit}",
       "{gcp.audit.method_name|endswith: SetIamPolicy}",
       "gcp_bigquery",
       "gcp_bigquery/sample.jsonl",
       {"etl-admin@acme.example", "secops-oncall@acme.example"}},
      {"{product: databricks}",
       "{actionName: updatePermissions}",
       "databricks_uc",
       "databricks_uc/sample.jsonl",
       {"etl_admin@acme.example", "secops_oncall@acme.example"}},
      {"{product: snowflake}",
       "{USER_NAME: mallory, QUERY_TYPE: select}",
       "snowflake",
       "snowflake/sample.jsonl",
       {"MALLORY"}},
      {"{product: postgresql}",
       "{user: MALLORY, command: select}",
       "pgaudit_csv",
       "pgaudit/sample_csvlog.csv",
       {"mallory"}},
      {"{product: hive}",
       "{reqUser: mallory, access: select}",
       "ranger_audit",
       "ranger_audit/sample.jsonl",
       {"mallory"}},
      {"{product: ranger}",
       "{reqUser: etl_admin, access: grant}",
       "ranger_audit",
       "ranger_audit/sample.jsonl",
       {"etl_admin"}},
  };
  for (const auto& c : cases) {
    INFO(c.logsource << " " << c.selection);
    auto l = load_text(std::string("title: t\nid: t1\nlogsource: ") + c.logsource +
                       "\ndetection: {sel: " + c.selection + ", condition: sel}\n");
    INFO(l->text());
    REQUIRE(l->diags.all().empty());
    std::set<std::string> actors;
    for (const auto& f : run(l->set, decode(c.format, c.fixture)).of("t1")) {
      actors.insert(f.actors.begin(), f.actors.end());
    }
    CHECK(actors == c.actors);
  }
}

TEST_CASE("a custom mapping sets formats, fields, grouping, window and levels",
          "[sigma][mapping]") {
  rules::Diagnostics d;
  auto m = rules::load_sigma_mapping_string(R"(version: 1
defaults:
  group_by: [principal, object]
  window: 30m
  levels: {high: 0}
  level: high
logsources:
  - logsource: {product: acme, service: vault}
    formats: [json_mapped]
    keywords: [query, operation]
    fields:
      who: [principal, principal.group]
      what: object
      noise: ~
)",
                                            "acme.yaml", d);
  INFO(d.to_text());
  REQUIRE(m != nullptr);
  auto l = load_text(R"(title: Vault secret read
id: vault-read
logsource: {product: acme, service: vault}
detection:
    sel:
        who: ops
        what|startswith: secret/
        noise: whatever
    keywords:
        - export
    condition: sel and keywords
)",
                     m);
  INFO(l->text());
  REQUIRE_FALSE(l->diags.has_errors());
  CHECK(l->has("W_SIGMA_FIELD_DROPPED", 8, 9));
  const auto& r = l->rule("vault-read");
  CHECK(r.aggregate.group_by ==
        std::vector<rules::FieldRef>{rules::field_ref(rules::Field::principal),
                                     rules::field_ref(rules::Field::object)});
  CHECK(r.aggregate.window_ms == 30 * kMin);
  CHECK(r.aggregate.tiers.at(0).sev == 0);  // no level: the mapping's default, high -> 0
  CHECK(l->condition("vault-read") ==
        "format = json_mapped and (principal iglob ops or principal.group iglob ops) and object "
        "istartswith secret/ and action exists and (query icontains export or operation "
        "icontains export)");
  auto e = event("json_mapped", Action::read, "alice", kT0, "EXPORT", "secret/db");
  e.principal_groups = {"ops"};
  CHECK(run(l->set, {e}).of("vault-read").size() == 1);
}

TEST_CASE("Sigma mapping problems are diagnostics with positions", "[sigma][mapping]") {
  rules::Diagnostics d;
  auto m = rules::load_sigma_mapping_string(R"(version: 2
defaults:
  group_by: [nobody]
  window: soon
  levels: {high: 9}
  colour: blue
logsources:
  - logsource: {product: acme, flavour: x}
    formats: [acme_log]
    keywords: [hour]
    fields:
      a: nowhere
      b*: principal
  - formats: [pgaudit]
)",
                                            "bad.yaml", d);
  CHECK(m == nullptr);
  const std::string text = d.to_text();
  INFO(text);
  for (const char* want : {
           "bad.yaml:1:10: error[E_SIGMA_MAPPING]",   // version
           "bad.yaml:3:13: error[E_UNKNOWN_FIELD]",   // group_by
           "bad.yaml:4:11: error[E_BAD_DURATION]",    // window
           "bad.yaml:5:18: error[E_SIGMA_MAPPING]",   // levels
           "bad.yaml:6:3: error[E_UNKNOWN_KEY]",      // colour
           "bad.yaml:8:32: error[E_UNKNOWN_KEY]",     // flavour
           "bad.yaml:9:15: error[E_SIGMA_MAPPING]",   // unknown format
           "bad.yaml:10:16: error[E_SIGMA_MAPPING]",  // keywords in a number field
           "bad.yaml:12:10: error[E_SIGMA_MAPPING]",  // not a field
           "bad.yaml:13:11: error[E_SIGMA_MAPPING]",  // prefix to a non-prefix
           "bad.yaml:14:5: error[E_MISSING_KEY]",     // no logsource
       }) {
    CHECK(text.find(want) != std::string::npos);
  }
  rules::Diagnostics io;
  CHECK(rules::load_sigma_mapping_file("/nonexistent/mapping.yaml", io) == nullptr);
  CHECK(io.all().at(0).code == "E_IO");
}
