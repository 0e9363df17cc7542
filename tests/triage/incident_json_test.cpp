// The incident JSON: times, nulls, and `incidents list` / `incidents show`
// output validated against spec/incident.schema.json with python-jsonschema.
#include "triage/incident_json.h"

#include <boost/json.hpp>
#include <cstdlib>
#include <regex>

#include "tests/test_support.h"
#include "tests/triage/triage_fixtures.h"
#include "triage/incident_manager.h"

using namespace sevwatch;
using triage::format_time;
using triage::Incident;
using triage::to_json;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

bool have_jsonschema() {
  static const bool ok =
      std::system((std::string(kPython) + " -c 'import jsonschema' >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

// Validates `doc` (an object, or an array of objects) against the schema.
// Returns the validator's output; empty when valid.
std::string validate(const boost::json::value& doc, const testing::TempDir& dir) {
  const auto schema = testing::source_dir() / "spec" / "incident.schema.json";
  REQUIRE(std::filesystem::exists(schema));
  const auto doc_path = dir.path() / "doc.json";
  const auto out_path = dir.path() / "out.txt";
  testing::write_file(doc_path, boost::json::serialize(doc));
  const std::string script =
      "import json, sys, jsonschema\n"
      "schema = json.load(open(sys.argv[1]))\n"
      "jsonschema.Draft202012Validator.check_schema(schema)\n"
      "v = jsonschema.Draft202012Validator(schema, "
      "format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)\n"
      "doc = json.load(open(sys.argv[2]))\n"
      "items = doc if isinstance(doc, list) else [doc]\n"
      "errs = [e for i in items for e in v.iter_errors(i)]\n"
      "for e in errs: print(list(e.absolute_path), e.message)\n"
      "sys.exit(1 if errs else 0)\n";
  testing::write_file(dir.path() / "check.py", script);
  const std::string cmd = std::string(kPython) + " " + (dir.path() / "check.py").string() + " " +
                          schema.string() + " " + doc_path.string() + " >" + out_path.string() +
                          " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string out = testing::read_file(out_path);
  if (rc != 0 && out.empty()) return "validator failed with status " + std::to_string(rc);
  return rc == 0 ? std::string() : out;
}

const std::regex kTime(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");

}  // namespace

TEST_CASE("json: RFC 3339 UTC times with milliseconds", "[json]") {
  CHECK(format_time(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_time(testing::kTen) == "2026-08-20T10:00:00.000Z");
  CHECK(format_time(testing::kTen + 1234) == "2026-08-20T10:00:01.234Z");
  CHECK(format_time(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_time(951'782'400'000) == "2000-02-29T00:00:00.000Z");
}

TEST_CASE("json: summary shape, nulls, and full detail", "[json]") {
  Incident inc;
  inc.id = 7;
  inc.sev = 2;
  inc.rule = "r";
  inc.title = "t";
  inc.dedup_key = "r:k";
  inc.opened_at_ms = testing::kTen;
  inc.detected_at_ms = testing::kTen + 5;
  inc.updated_at_ms = testing::kTen + 6;
  inc.sev_reason = "why";
  inc.runbook = "runbooks/r.md";
  inc.objects = 2;
  inc.sensitivity = {"a"};
  inc.object_names = {"x", "y"};
  inc.timeline = {{testing::kTen, "opened", "sevwatch", "opened"}};
  inc.readers = {{"ann", 3, 2, false, testing::kTen, testing::kTen + 1}};

  const auto j = to_json(inc, false);
  CHECK(j.at("id").as_int64() == 7);
  CHECK(j.at("status").as_string() == "open");
  CHECK(j.at("opened_at").as_string() == "2026-08-20T10:00:00.000Z");
  CHECK(j.at("contained_at").is_null());
  CHECK(j.at("resolved_at").is_null());
  CHECK(j.at("scope").at("audience").is_null());
  CHECK(j.at("scope").at("objects").as_uint64() == 2);
  CHECK(j.at("evidence").at("outsiders").as_array().empty());
  CHECK(j.at("evidence_class").as_string() == "none");
  CHECK_FALSE(j.contains("objects"));
  CHECK_FALSE(j.contains("timeline"));
  CHECK_FALSE(j.contains("readers"));

  inc.resolved_at_ms = testing::kTen + 60'000;
  inc.audience = "company";
  inc.status = triage::Status::resolved;
  const auto f = to_json(inc, true);
  CHECK(f.at("resolved_at").as_string() == "2026-08-20T10:01:00.000Z");
  CHECK(f.at("scope").at("audience").as_string() == "company");
  CHECK(f.at("objects").as_array().size() == 2);
  CHECK(f.at("timeline").as_array()[0].at("by").as_string() == "sevwatch");
  CHECK(f.at("readers").as_array()[0].at("first").as_string() == "2026-08-20T10:00:00.000Z");
}

TEST_CASE("json: list and show output validate against the schema", "[json][schema]") {
  if (!have_jsonschema()) {
    WARN("skipped: " << kPython << " has no jsonschema module");
    return;
  }
  testing::TempDir dir("json");
  std::string error;
  auto store = triage::IncidentStore::open("sqlite:" + (dir.path() / "i.db").string(), error);
  REQUIRE(store);
  auto rubric = triage::SevRubric::builtin_default();
  std::int64_t now = testing::kTen + testing::kHour;
  triage::IncidentManager m(*store, *rubric, [&] { return now; });
  for (int db = 1; db <= 3; ++db) m.on_finding(testing::seed_finding(db));
  m.on_finding(testing::outsider_finding());
  rules::Finding other = testing::seed_finding(1);
  other.group_key = "other";
  other.audience.reset();
  other.level.reset();
  m.on_finding(other);
  m.flush();
  REQUIRE(store->list(std::nullopt).size() == 2);
  const auto id = store->find_by_dedup_key("grant-broad-audience:mci")->id;
  REQUIRE(triage::resolve(*store, id, "bob", "revoked", now + 1, error));

  boost::json::array list;
  for (const auto& inc : store->list(std::nullopt)) list.push_back(to_json(inc, false));
  const std::string list_errors = validate(list, dir);
  INFO(boost::json::serialize(list));
  CHECK(list_errors == "");

  const auto shown = store->get(id, true);
  REQUIRE(shown);
  const boost::json::value show = to_json(*shown, true);
  CHECK(validate(show, dir) == "");
  CHECK(show.at("sev").as_int64() == 1);
  CHECK(show.at("objects").as_array().size() == 1500);
  CHECK(show.at("readers").as_array().size() == 4);
  CHECK(show.at("evidence").at("outsider_reads").to_number<std::int64_t>() == 12);
  for (const char* k : {"opened_at", "detected_at", "updated_at", "resolved_at"}) {
    CHECK(std::regex_match(std::string(show.at(k).as_string()), kTime));
  }

  // A broken document is caught, so the check above means something.
  boost::json::object bad = to_json(*shown, false);
  bad["sev"] = 9;
  bad["status"] = "closed";
  bad.erase("scope");
  const std::string bad_errors = validate(bad, dir);
  CHECK(bad_errors.find("9 is greater than the maximum of 5") != std::string::npos);
  CHECK(bad_errors.find("'closed' is not one of") != std::string::npos);
  CHECK(bad_errors.find("'scope' is a required property") != std::string::npos);
}
