// Sigma rule files end to end with the real binary: `rules check` and
// `scan --rules <sigma file>` (docs/sigma.md).
#include "app/run_config.h"
#include "tests/app/cli_runner.h"

using namespace sevwatch::testing;
namespace json = boost::json;

namespace {

std::string fx(const std::string& rel) {
  return fixture(rel).string();
}

}  // namespace

TEST_CASE("rules check reads Sigma files", "[app][sigma]") {
  // The CloudTrail rules with a mapping that needs no raw.<path> fields.
  auto r = run_cli(
      {"rules", "check", "--sigma-mapping", fx("sigma/mapping_no_raw.yaml"), fx("sigma/cloud")});
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out == "ok: 6 rule(s)\n");
  CHECK(r.err.find("warning[W_SIGMA_FIELD_DROPPED]") != std::string::npos);

  // Keyword and correlation rules of the database category, shipped mapping.
  r = run_cli({"rules", "check", fx("sigma/database")});
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out == "ok: 5 rule(s)\n");
  CHECK(r.err.empty());

  // Unsupported Sigma: FILE:LINE:COL and a stable code, exit 1.
  r = run_cli({"rules", "check", fx("sigma/errors/old_aggregation.yml")});
  CHECK(r.status == 1);
  CHECK(r.err.find("old_aggregation.yml:8:26: error[E_SIGMA_UNSUPPORTED_AGGREGATION]: ") !=
        std::string::npos);
  r = run_cli({"rules", "check", "--json", fx("sigma/errors/old_aggregation.yml")});
  CHECK(r.status == 1);
  const auto a = parse_json(r.out).as_array();
  REQUIRE(a.size() == 1);
  CHECK(a[0].at("code").as_string() == "E_SIGMA_UNSUPPORTED_AGGREGATION");
  CHECK(a[0].at("line").as_int64() == 8);
  CHECK(a[0].at("col").as_int64() == 26);

  // A mapping that does not load stops the check.
  r = run_cli({"rules", "check", "--sigma-mapping", fx("sigma/nope.yaml"), fx("sigma/database")});
  CHECK(r.status == 1);
  CHECK(r.err.find("error[E_IO]") != std::string::npos);

  // Sigma files have no in-file tests; `rules test` still loads them.
  r = run_cli({"rules", "test", fx("sigma/database")});
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out == "0 test(s): 0 passed, 0 failed\n");
}

TEST_CASE("scan --rules takes a Sigma rule and opens its incident", "[app][sigma]") {
  TempDir tmp("sigma-scan");
  const std::string store = "sqlite:" + (tmp.path() / "s.db").string();
  const std::vector<std::string> args = {"scan",
                                         "--json",
                                         "--store",
                                         store,
                                         "--format",
                                         "aws_cloudtrail",
                                         "--rules",
                                         fx("sigma/cloud/aws_s3_bucket_made_public.yml"),
                                         "--sigma-mapping",
                                         fx("sigma/mapping_no_raw.yaml"),
                                         fx("aws_cloudtrail/sample_s3.jsonl")};
  auto r = run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto summary = parse_json(r.out).as_object();
  CHECK(summary.at("events").as_int64() == 7);
  CHECK(summary.at("findings").as_int64() >= 1);
  CHECK(summary.at("incidents_opened").as_int64() == 1);

  const auto list = run_cli({"incidents", "list", "--store", store, "--json"});
  REQUIRE(list.status == 0);
  const auto incidents = parse_json(list.out).as_array();
  REQUIRE(incidents.size() == 1);
  const auto& inc = incidents[0].as_object();
  CHECK(inc.at("rule").as_string() == "5f0c8a7e-3d1b-4c2a-9e6f-8b7a6c5d4e3f");
  CHECK(inc.at("sev").as_int64() == 2);  // level: high
  CHECK(std::string(inc.at("title").as_string()).find("AWS S3 Bucket Made Public") == 0);

  // The same scan again opens nothing new; as a CI gate, SEV 2 fails it.
  auto again = args;
  again.insert(again.begin() + 1, {"--fail-on-sev", "2"});
  r = run_cli(again);
  CHECK(r.status == 3);
  CHECK(parse_json(r.out).as_object().at("incidents_opened").as_int64() == 0);
}

TEST_CASE("the run config's sigma_mapping is a path relative to the config", "[app][sigma]") {
  TempDir dir("sigma-runcfg");
  write_file(dir.path() / "c.yaml",
             "rules: [sigma/]\nsigma_mapping: sigma/mapping.yaml\nsources:\n"
             "  - {type: file, format: aws_cloudtrail, paths: [trail.jsonl]}\n");
  sevwatch::app::RunConfig c;
  std::string error;
  REQUIRE(sevwatch::app::load_run_config((dir.path() / "c.yaml").string(), c, error));
  CHECK(c.sigma_mapping_path == (dir.path() / "sigma/mapping.yaml").lexically_normal().string());
}
