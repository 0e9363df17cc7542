// `sevwatch incidents assign|note|contain` and `list|show --format ocsf`, run
// as a user would, against a store made by the incident manager.
#include "tests/app/cli_runner.h"
#include "tests/triage/triage_fixtures.h"
#include "triage/incident_manager.h"
#include "triage/sqlite_store.h"

using namespace sevwatch::testing;
namespace json = boost::json;

namespace {

// One incident (id 1) opened from the first seed finding.
std::string make_store(const TempDir& tmp) {
  const auto path = tmp.path() / "s.db";
  sevwatch::triage::SqliteStore store(path.string());
  auto rubric = sevwatch::triage::SevRubric::builtin_default();
  sevwatch::triage::IncidentManager m(store, *rubric, [] { return kTen + kHour; });
  m.on_finding(seed_finding(1));
  m.flush();
  return "sqlite:" + path.string();
}

// Validates `doc` against spec/incident.schema.json with Python's jsonschema.
int validate(const TempDir& tmp, const std::string& doc) {
  write_file(tmp.path() / "doc.json", doc);
  write_file(
      tmp.path() / "v.py",
      "import json,sys\n"
      "from jsonschema import Draft202012Validator, FormatChecker\n"
      "v=Draft202012Validator(json.load(open(sys.argv[1])), format_checker=FormatChecker())\n"
      "errs=list(v.iter_errors(json.load(open(sys.argv[2]))))\n"
      "[print(e.json_path, e.message) for e in errs]\n"
      "sys.exit(1 if errs else 0)\n");
  const std::string cmd = "/usr/bin/python3 " + shell_quote((tmp.path() / "v.py").string()) + " " +
                          shell_quote((source_dir() / "spec" / "incident.schema.json").string()) +
                          " " + shell_quote((tmp.path() / "doc.json").string());
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("cli: assign, note, contain, resolve and the metrics", "[cli][lifecycle]") {
  TempDir tmp("lifecycle");
  const auto store = make_store(tmp);

  auto r = run_cli({"incidents", "assign", "1", "--to", "alice", "--by", "bob", "--store", store});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out == "incident 1 assigned to alice by bob\n");
  r = run_cli({"incidents", "assign", "1", "--to", "alice", "--by", "bob", "--store", store});
  CHECK(r.status == 1);
  CHECK(r.err == "sevwatch incidents assign: incident 1 is already assigned to alice\n");
  CHECK(run_cli({"incidents", "assign", "1", "--by", "bob", "--store", store}).status == 2);
  CHECK(run_cli({"incidents", "assign", "1", "--to", "x", "--store", store}).status == 2);

  r = run_cli(
      {"incidents", "note", "1", "--by", "alice", "--text", "owner paged", "--store", store});
  REQUIRE(r.status == 0);
  CHECK(r.out == "incident 1: note added by alice\n");
  CHECK(run_cli({"incidents", "note", "1", "--by", "alice", "--store", store}).status == 2);
  CHECK(run_cli({"incidents", "note", "9", "--by", "a", "--text", "x", "--store", store}).status ==
        1);

  // Before any human act the metrics but TTD are null.
  auto shown = parse_json(run_cli({"incidents", "show", "1", "--json", "--store", store}).out);
  CHECK(shown.at("assignee").as_string() == "alice");
  CHECK(shown.at("metrics").at("ttd_seconds").as_double() == 3600.0);
  CHECK(shown.at("metrics").at("tta_seconds").is_null());
  CHECK(shown.at("metrics").at("ttc_seconds").is_null());
  CHECK(shown.at("metrics").at("ttr_seconds").is_null());

  r = run_cli(
      {"incidents", "contain", "1", "--by", "alice", "--note", "revoked", "--store", store});
  REQUIRE(r.status == 0);
  CHECK(r.out == "incident 1 contained by alice\n");
  r = run_cli({"incidents", "contain", "1", "--by", "alice", "--store", store});
  CHECK(r.status == 1);
  CHECK(r.err == "sevwatch incidents contain: incident 1 is contained, not open or acknowledged\n");
  CHECK(run_cli({"incidents", "contain", "1", "--store", store}).status == 2);

  const auto listed = run_cli({"incidents", "list", "--store", store});
  CHECK(listed.out.find("ASSIGNEE") != std::string::npos);
  CHECK(listed.out.find(" contained ") != std::string::npos);
  CHECK(listed.out.find(" alice ") != std::string::npos);
  const auto listed_json =
      parse_json(run_cli({"incidents", "list", "--json", "--store", store}).out);
  CHECK(listed_json.at(0).at("assignee").as_string() == "alice");
  CHECK_FALSE(listed_json.at(0).as_object().contains("metrics"));

  const auto human = run_cli({"incidents", "show", "1", "--store", store});
  CHECK(human.out.find("  assignee:    alice\n") != std::string::npos);
  CHECK(human.out.find("time to detect 1h 0m 0s") != std::string::npos);
  CHECK(human.out.find("time to acknowledge not yet, contain ") != std::string::npos);
  CHECK(human.out.find("assigned   bob        assigned to alice by bob") != std::string::npos);
  CHECK(human.out.find("note       alice      owner paged") != std::string::npos);
  CHECK(human.out.find("contained  alice      contained by alice: revoked") != std::string::npos);

  REQUIRE(run_cli({"incidents", "resolve", "1", "--by", "alice", "--store", store}).status == 0);
  const auto shown_text = run_cli({"incidents", "show", "1", "--json", "--store", store}).out;
  shown = parse_json(shown_text);
  const auto& m = shown.at("metrics").as_object();
  CHECK(m.at("tta_seconds").is_null());  // never acknowledged
  CHECK(m.at("ttc_seconds").as_double() > 0);
  CHECK(m.at("ttr_seconds").as_double() >= m.at("ttc_seconds").as_double());
  CHECK(shown.at("contained_at").is_string());
  CHECK(validate(tmp, shown_text) == 0);
}

TEST_CASE("cli: incidents list|show --format ocsf", "[cli][ocsf]") {
  TempDir tmp("ocsf");
  const auto store = make_store(tmp);
  REQUIRE(run_cli({"incidents", "ack", "1", "--by", "alice", "--store", store}).status == 0);
  auto r = run_cli({"incidents", "show", "1", "--format", "ocsf", "--store", store});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto o = parse_json(r.out).as_object();
  CHECK(o.at("class_uid").as_int64() == 2005);
  CHECK(o.at("category_uid").as_int64() == 2);
  CHECK(o.at("type_uid").as_int64() == 200502);
  CHECK(o.at("status_id").as_int64() == 2);
  CHECK(o.at("metadata").at("product").at("name").as_string() == "sevwatch");
  CHECK(o.at("metadata").at("product").at("version").is_string());
  CHECK(o.at("metadata").at("version").as_string() == "1.1.0");
  const auto& f = o.at("finding_info_list").at(0).as_object();
  CHECK(f.at("uid").as_string() == "grant-broad-audience:mci");
  CHECK(f.at("first_seen_time").as_int64() == kTen);
  CHECK(o.at("unmapped").at("sev").is_int64());

  r = run_cli({"incidents", "list", "--format=ocsf", "--store", store});
  REQUIRE(r.status == 0);
  const auto a = parse_json(r.out).as_array();
  REQUIRE(a.size() == 1);
  CHECK(a[0].at("class_uid").as_int64() == 2005);
  CHECK(a[0].at("finding_info_list").at(0).at("last_seen_time") ==
        f.at("last_seen_time"));  // same as show

  // --json is unchanged; a bad format is a usage error.
  CHECK(parse_json(run_cli({"incidents", "show", "1", "--json", "--store", store}).out)
            .at("status")
            .as_string() == "acknowledged");
  CHECK(run_cli({"incidents", "show", "1", "--format", "xml", "--store", store}).status == 2);
}

TEST_CASE("cli: a human lowers the SEV only with a written reason", "[cli][lifecycle]") {
  TempDir tmp("cli-sev");
  const auto store = make_store(tmp);
  const auto before =
      parse_json(run_cli({"incidents", "show", "1", "--store", store, "--json"}).out);
  const auto sev = before.as_object().at("sev").as_int64();
  REQUIRE(sev < 5);
  // No reason, no --by, a SEV out of range: usage errors, nothing changes.
  CHECK(run_cli({"incidents", "sev", "1", "--to", "5", "--by", "alice", "--store", store}).status ==
        2);
  CHECK(run_cli({"incidents", "sev", "1", "--to", "5", "--reason", "x", "--store", store}).status ==
        2);
  CHECK(run_cli(
            {"incidents", "sev", "1", "--to", "9", "--by", "a", "--reason", "x", "--store", store})
            .status == 2);
  const auto r = run_cli({"incidents", "sev", "1", "--to", std::to_string(sev + 1), "--by", "alice",
                          "--reason", "only test tables were exposed", "--store", store});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto after =
      parse_json(run_cli({"incidents", "show", "1", "--store", store, "--json"}).out).as_object();
  CHECK(after.at("sev").as_int64() == sev + 1);
  bool on_timeline = false;
  for (const auto& t : after.at("timeline").as_array()) {
    const auto& e = t.as_object();
    if (e.at("kind").as_string() == "downgraded" && e.at("by").as_string() == "alice" &&
        std::string(e.at("text").as_string()).find("only test tables") != std::string::npos) {
      on_timeline = true;
    }
  }
  CHECK(on_timeline);
}
