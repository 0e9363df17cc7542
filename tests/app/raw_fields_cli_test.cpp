// raw.<path> rule fields end to end: the spool keeps the record, and the real
// binary checks, tests and scans with rules that read CloudTrail records.
#include "app/event_spool.h"
#include "tests/app/cli_runner.h"

using namespace sevwatch::testing;
namespace json = boost::json;

namespace {

// The rule ids of the incidents in `store`, sorted.
std::vector<std::string> incident_rules(const std::string& store) {
  const auto r = run_cli({"incidents", "list", "--store", store, "--json"});
  REQUIRE(r.status == 0);
  std::vector<std::string> out;
  const auto doc = parse_json(r.out);
  for (const auto& v : doc.as_array()) {
    out.emplace_back(v.as_object().at("rule").as_string().c_str());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("the event spool keeps an event's raw record", "[raw][spool]") {
  sevwatch::app::EventSpool spool;
  spool.set_file("in.jsonl");
  sevwatch::detectors::AccessEvent with, without;
  with.principal = "alice";
  with.raw = R"({"userIdentity":{"type":"Root"}})";
  without.principal = "bob";
  const auto a = spool.append(with);
  const auto b = spool.append(without);
  sevwatch::detectors::AccessEvent out;
  spool.read(a, out);
  CHECK(out.principal == "alice");
  CHECK(out.raw == with.raw);
  spool.read(b, out);  // reusing `out`: the earlier record does not linger
  CHECK(out.principal == "bob");
  CHECK(out.raw.empty());
}

TEST_CASE("sevwatch rules check/test and scan with raw.<path> rules", "[raw][cli]") {
  const auto rules = fixture("raw_fields/rules.yaml").string();
  const auto check = run_cli({"rules", "check", rules});
  INFO(check.out << check.err);
  CHECK(check.status == 0);

  const auto test = run_cli({"rules", "test", rules});
  INFO(test.out << test.err);
  CHECK(test.status == 0);
  CHECK(test.out.find("4 passed, 0 failed") != std::string::npos);

  TempDir dir("raw-scan");
  const std::string store = "sqlite:" + (dir.path() / "s.db").string();
  const auto scan = run_cli({"scan", "--json", "--rules", rules, "--store", store,
                             fixture("raw_fields/cloudtrail.jsonl").string()});
  INFO(scan.out << scan.err);
  REQUIRE(scan.status == 0);
  const auto summary = parse_json(scan.out).as_object();
  CHECK(summary.at("events").as_int64() == 4);
  CHECK(summary.at("findings").as_int64() == 2);
  // Root read prod-ledger from 10.20.30.9 (not from 198.51.100.9); mallory
  // downloaded 8 MB (Athena's 8 MB is an exception).
  CHECK(incident_rules(store) ==
        std::vector<std::string>{"large_object_download", "root_reads_prod_bucket"});
}

TEST_CASE("sevwatch scan: raw fields of records inside a CloudTrail Records file", "[raw][cli]") {
  TempDir dir("raw-records");
  const auto rules = dir.path() / "acl.yaml";
  write_file(rules, R"(- rule: public_read_acl_by_iam_user
  title: "An IAM user made a bucket public-read"
  description: a canned public-read ACL set by a long-lived IAM user
  owner: security
  kind: aggregate
  condition: >
    action = grant and raw.userIdentity.type = IAMUser
    and raw.requestParameters.x-amz-acl.0 = public-read
    and raw.eventID = pretty-2
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 1, sev: 3}]}
- rule: anonymous_get
  title: "An anonymous caller read an object"
  description: CloudTrail userIdentity.accountId anonymous
  owner: security
  kind: aggregate
  condition: raw.userIdentity.accountId = anonymous and raw.eventName = GetObject
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 1, sev: 4}]}
)");
  const std::string store = "sqlite:" + (dir.path() / "s.db").string();
  const auto scan =
      run_cli({"scan", "--json", "--rules", rules.string(), "--store", store, "--format",
               "aws_cloudtrail", fixture("aws_cloudtrail/records_pretty.json").string()});
  INFO(scan.out << scan.err);
  REQUIRE(scan.status == 0);
  CHECK(incident_rules(store) ==
        std::vector<std::string>{"anonymous_get", "public_read_acl_by_iam_user"});
}

TEST_CASE("sevwatch scan: raw fields never match events of text formats", "[raw][cli]") {
  TempDir dir("raw-pgaudit");
  const auto rules = dir.path() / "any.yaml";
  write_file(rules, R"(- rule: has_record
  title: "An event with a record"
  description: raw.* of a text format
  owner: security
  kind: aggregate
  condition: raw.AUDIT exists or raw.0 exists
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 1, sev: 4}]}
)");
  const std::string store = "sqlite:" + (dir.path() / "s.db").string();
  const auto scan = run_cli({"scan", "--json", "--rules", rules.string(), "--store", store,
                             "--format", "pgaudit", fixture("pgaudit/sample_stderr.log").string()});
  INFO(scan.out << scan.err);
  REQUIRE(scan.status == 0);
  CHECK(parse_json(scan.out).as_object().at("events").as_int64() > 0);
  CHECK(parse_json(scan.out).as_object().at("findings").as_int64() == 0);
}
