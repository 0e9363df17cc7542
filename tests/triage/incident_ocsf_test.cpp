// `--format ocsf`: the incident as an OCSF Incident Finding (class 2005), the
// SEV and status mappings, and a golden document.
#include "triage/incident_ocsf.h"

#include <boost/json.hpp>

#include "tests/test_support.h"
#include "tests/triage/triage_fixtures.h"

using namespace sevwatch;
using triage::Incident;
using triage::Status;
namespace json = boost::json;

namespace {

Incident sample() {
  Incident inc;
  inc.id = 7;
  inc.sev = 1;
  inc.rubric_sev = 1;
  inc.status = Status::acknowledged;
  inc.rule = "grant-broad-audience";
  inc.title = "Sensitive tables readable company-wide";
  inc.dedup_key = "grant-broad-audience:mci";
  inc.opened_at_ms = testing::kTen;
  inc.detected_at_ms = testing::kTen + 5 * testing::kMinute;
  inc.updated_at_ms = testing::kTen + 30 * testing::kMinute;
  inc.acknowledged_at_ms = testing::kTen + 30 * testing::kMinute;
  inc.sev_reason = "high sensitivity × company audience, improper reads → SEV 1";
  inc.runbook = "runbooks/grant-broad-audience.md";
  inc.assignee = "alice";
  inc.objects = 45000;
  inc.sensitivity = {"people_performance", "prompts_transcripts"};
  inc.level = "high";
  inc.audience = "company";
  inc.grantees = {"public"};
  inc.actors = {"svc-mci-pipeline"};
  inc.evidence_class = "improper";
  inc.events = 102;
  inc.outsider_reads = 12;
  inc.outsiders = {"dana", "eli", "fern"};
  inc.readers = {{"dana", 4, 4, true, testing::kTen + testing::kHour,
                  testing::kTen + testing::kHour + 10 * testing::kMinute}};
  inc.timeline = {
      {testing::kTen, "opened", "sevwatch", "opened at SEV 2"},
      {testing::kTen + 2 * testing::kHour, "escalated", "sevwatch", "SEV 2 → SEV 1"},
      // A human entry at wall clock does not count as evidence.
      {testing::kTen + 3 * testing::kHour, "acknowledged", "alice", "acknowledged by alice"},
  };
  return inc;
}

}  // namespace

TEST_CASE("ocsf: SEV → severity/priority/impact per formats.md §8", "[ocsf]") {
  const int expected[6][3] = {{5, 4, 4}, {5, 4, 3}, {4, 3, 3}, {3, 2, 2}, {2, 1, 1}, {1, 1, 1}};
  for (int sev = 0; sev <= 5; ++sev) {
    INFO("SEV " << sev);
    const auto m = triage::ocsf_sev_mapping(sev);
    CHECK(m.severity_id == expected[sev][0]);
    CHECK(m.priority_id == expected[sev][1]);
    CHECK(m.impact_id == expected[sev][2]);
    Incident inc = sample();
    inc.sev = sev;
    const auto o = triage::to_ocsf(inc, "1.2.3");
    CHECK(o.at("severity_id").as_int64() == expected[sev][0]);
    CHECK(o.at("priority_id").as_int64() == expected[sev][1]);
    CHECK(o.at("impact_id").as_int64() == expected[sev][2]);
    CHECK(o.at("is_suspected_breach").as_bool() == (sev == 0));
    CHECK(o.at("unmapped").at("sev").as_int64() == sev);
  }
}

TEST_CASE("ocsf: status and activity", "[ocsf]") {
  CHECK(triage::ocsf_status_id(Status::open) == 1);
  CHECK(triage::ocsf_status_id(Status::acknowledged) == 2);
  CHECK(triage::ocsf_status_id(Status::contained) == 3);
  CHECK(triage::ocsf_status_id(Status::resolved) == 4);

  Incident inc = sample();
  inc.status = Status::open;
  inc.updated_at_ms = inc.detected_at_ms;  // never changed since opened
  auto o = triage::to_ocsf(inc, "x");
  CHECK(o.at("activity_id").as_int64() == 1);
  CHECK(o.at("type_uid").as_int64() == 200501);
  CHECK(o.at("status_id").as_int64() == 1);
  CHECK(o.at("status").as_string() == "New");
  CHECK_FALSE(o.contains("end_time"));

  inc.status = Status::contained;
  inc.updated_at_ms += 1000;
  inc.contained_at_ms = inc.updated_at_ms;
  o = triage::to_ocsf(inc, "x");
  CHECK(o.at("activity_id").as_int64() == 2);
  CHECK(o.at("type_uid").as_int64() == 200502);
  CHECK(o.at("status_id").as_int64() == 3);
  CHECK(o.at("status").as_string() == "On Hold");

  inc.status = Status::resolved;
  inc.resolved_at_ms = inc.updated_at_ms + 5000;
  inc.updated_at_ms = *inc.resolved_at_ms;
  o = triage::to_ocsf(inc, "x");
  CHECK(o.at("activity_id").as_int64() == 3);
  CHECK(o.at("type_uid").as_int64() == 200503);
  CHECK(o.at("status_id").as_int64() == 4);
  CHECK(o.at("end_time").as_int64() == *inc.resolved_at_ms);
}

TEST_CASE("ocsf: the required Incident Finding fields", "[ocsf]") {
  const Incident inc = sample();
  const auto o = triage::to_ocsf(inc, "1.2.3");
  // Base event + Incident Finding required attributes.
  for (const char* k : {"activity_id", "category_uid", "class_uid", "type_uid", "time",
                        "severity_id", "metadata", "finding_info_list", "status_id"}) {
    INFO(k);
    CHECK(o.contains(k));
  }
  CHECK(o.at("class_uid").as_int64() == 2005);
  CHECK(o.at("category_uid").as_int64() == 2);
  CHECK(o.at("activity_id").as_int64() == 2);
  CHECK(o.at("type_uid").as_int64() == 200502);
  CHECK(o.at("time").as_int64() == inc.updated_at_ms);
  CHECK(o.at("status_id").as_int64() == 2);
  CHECK(o.at("status").as_string() == "In Progress");
  CHECK(o.at("start_time").as_int64() == inc.opened_at_ms);
  CHECK(o.at("assignee").at("name").as_string() == "alice");
  CHECK(o.at("desc").is_string());
  const auto& md = o.at("metadata").as_object();
  CHECK(md.at("version").as_string() == "1.1.0");
  CHECK(md.at("product").at("name").as_string() == "sevwatch");
  CHECK(md.at("product").at("vendor_name").as_string() == "sevwatch");
  CHECK(md.at("product").at("version").as_string() == "1.2.3");
  const auto& list = o.at("finding_info_list").as_array();
  REQUIRE(list.size() == 1);
  const auto& f = list[0].as_object();
  CHECK(f.at("uid").as_string() == inc.dedup_key);
  CHECK(f.at("title").as_string() == inc.title);
  CHECK(f.at("desc").as_string() == inc.sev_reason);
  CHECK(f.at("first_seen_time").as_int64() == inc.opened_at_ms);
  // The latest evidence: the escalation at 12:00 (after dana's last read at 11:10).
  CHECK(f.at("last_seen_time").as_int64() == testing::kTen + 2 * testing::kHour);
  CHECK(f.at("types").as_array() == json::array{"grant-broad-audience"});
  const auto& u = o.at("unmapped").as_object();
  CHECK(u.at("sev").as_int64() == 1);
  CHECK(u.at("sev_reason").as_string() == inc.sev_reason);
  CHECK(u.at("scope").at("objects").to_number<std::int64_t>() == 45000);
  CHECK(u.at("evidence").at("outsider_reads").to_number<std::int64_t>() == 12);

  // The whole document, for reading by eye: tests/triage/golden/incident_ocsf.json
  // (pretty-printed; compared as JSON).
  const auto golden = testing::source_dir() / "tests/triage/golden/incident_ocsf.json";
  INFO("golden file: " << golden.string() << "\nactual: " << json::serialize(o));
  CHECK(json::parse(testing::read_file(golden)) == json::value(o));
}
