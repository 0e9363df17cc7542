// SigmaHQ-style CloudTrail rules (tests/fixtures/sigma/cloud/) over the
// decoded CloudTrail fixtures (tests/fixtures/aws_cloudtrail/).
#include <catch2/catch.hpp>

#include "tests/rules/sigma_test_support.h"

using namespace sevwatch;
using namespace sevwatch::testing::sigma;

namespace {

const std::string kEtlAdmin = "arn:aws:sts::111122223333:assumed-role/dl-admin/etl_admin";
const std::string kBucketPublic = "5f0c8a7e-3d1b-4c2a-9e6f-8b7a6c5d4e3f";
const std::string kLakeFormation = "0b9e2d4c-6a1f-4f3e-8d2c-7e6f5a4b3c2d";
const std::string kDeleteBlock = "9c8b7a6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d";
const std::string kCorrelation = "3e2d1c0b-9a8f-4e7d-6c5b-4a3f2e1d0c9b";

std::vector<AccessEvent> cloudtrail_day(bool keep_raw) {
  std::vector<AccessEvent> all;
  for (const char* f :
       {"aws_cloudtrail/sample_s3.jsonl", "aws_cloudtrail/sample_lakeformation.jsonl",
        "aws_cloudtrail/sample_glue_athena.jsonl"}) {
    auto events = decode("aws_cloudtrail", f, keep_raw);
    all.insert(all.end(), events.begin(), events.end());
  }
  std::stable_sort(all.begin(), all.end(), [](const AccessEvent& a, const AccessEvent& b) {
    return a.time_ms < b.time_ms;
  });
  return all;
}

// What the fixture rules must find in the fixture day, however they were mapped.
void check_cloud_findings(const Loaded& l, const Findings& f) {
  const auto pub = f.of(kBucketPublic);
  REQUIRE(pub.size() == 1);  // etl_admin; the break-glass role's ACL reset is filtered out
  CHECK(pub[0].actors == std::vector<std::string>{kEtlAdmin});
  CHECK(pub[0].events == 3);  // PutBucketAcl (two grants) and PutBucketPolicy
  CHECK(pub[0].sev_hint == 2);
  CHECK(pub[0].title == "AWS S3 Bucket Made Public Through Policy or ACL: " + kEtlAdmin);

  const auto lf = f.of(kLakeFormation);
  REQUIRE(lf.size() == 1);  // BatchGrant to <acct>:IAMPrincipals, Grant to IAM_ALLOWED_PRINCIPALS
  CHECK(lf[0].actors == std::vector<std::string>{kEtlAdmin});
  CHECK(lf[0].events == 2);
  CHECK(lf[0].sev_hint == 1);  // critical

  const auto del = f.of(kDeleteBlock);
  REQUIRE(del.size() == 1);
  CHECK(del[0].sev_hint == 3);  // medium

  // The correlation: DeleteBucketPublicAccessBlock at 10:05:02, then
  // PutBucketPolicy at 10:07:40 by the same identity.
  const auto seq = f.of(kCorrelation);
  REQUIRE(seq.size() == 1);
  CHECK(seq[0].sev_hint == 1);
  CHECK(seq[0].actors == std::vector<std::string>{kEtlAdmin});
  // The rules it correlates do not report on their own (no `generate: true`).
  CHECK_FALSE(l.rule("6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2e").enabled);
  CHECK(f.of("6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2e").empty());
  CHECK(f.of("1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9").empty());
}

}  // namespace

TEST_CASE("CloudTrail Sigma rules find the fixture's public bucket and lake grants",
          "[sigma][aws]") {
  // eventSource dropped by the mapping: no raw.<path> fields needed.
  auto l = load_fixture("sigma/cloud", no_raw_mapping());
  INFO(l->text());
  REQUIRE_FALSE(l->diags.has_errors());
  for (const auto& d : l->diags.all()) CHECK(d.code == "W_SIGMA_FIELD_DROPPED");
  CHECK(l->set.rules.size() == 6);
  CHECK(l->condition(kLakeFormation) ==
        "format = aws_cloudtrail and action exists and operation istartswith (Grant, "
        "BatchGrant) and grantee iendswith (IAM_ALLOWED_PRINCIPALS, :IAMPrincipals)");
  CHECK(l->rule(kBucketPublic).tags == std::vector<std::string>{"sigma", "sigma.level.high",
                                                                "attack.exfiltration",
                                                                "attack.t1537"});
  check_cloud_findings(*l, run(l->set, cloudtrail_day(false)));
}

TEST_CASE("the shipped mapping reads other CloudTrail fields as raw.<path>", "[sigma][aws][raw]") {
  if (!raw_supported()) {
    WARN("raw.<path> fields are not in this build yet: skipped");
    return;
  }
  auto l = load_fixture("sigma/cloud");
  INFO(l->text());
  REQUIRE(l->diags.all().empty());
  CHECK(l->condition(kDeleteBlock) ==
        "format = aws_cloudtrail and raw.eventSource iglob s3.amazonaws.com and operation iglob "
        "DeleteBucketPublicAccessBlock");
  // The translation docs/sigma.md shows.
  CHECK(l->condition(kBucketPublic) ==
        "format = aws_cloudtrail and raw.eventSource iglob s3.amazonaws.com and operation iglob "
        "(PutBucketPolicy, PutBucketAcl) and not principal icontains "
        ":assumed-role/secops-breakglass/");
  const auto events = cloudtrail_day(true);
  check_cloud_findings(*l, run(l->set, events));

  // Fields no normalized one carries: the request's bucket, the error code.
  auto denied = load_text(R"(title: Denied S3 Read Of The Data Lake
id: s3-denied-lake-read
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventSource: s3.amazonaws.com
        requestParameters.bucketName: ACME-DW-LAKE
        errorCode|exists: true
    condition: selection
level: low
)");
  INFO(denied->text());
  REQUIRE(denied->diags.all().empty());
  const auto f = run(denied->set, events).of("s3-denied-lake-read");
  REQUIRE(f.size() == 1);
  CHECK(f[0].actors ==
        std::vector<std::string>{"arn:aws:sts::111122223333:assumed-role/data-eng/mallory"});
  CHECK(f[0].events == 1);
}
