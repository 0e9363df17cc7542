// The demo's conclusions (spec/scenario-mci.md), asserted on what the real
// binary writes to its store, for both variants.
#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "tests/app/cli_runner.h"

using namespace sevwatch::testing;
namespace json = boost::json;

namespace {

struct DemoRun {
  std::filesystem::path dir;
  CliResult demo;
  json::array incidents;
  json::object exposure;  // `incidents show --json` of the exposure incident
  std::int64_t first_grant_ms = 0;
};

std::int64_t parse_ms(std::string_view iso) {
  // "2026-08-20T10:00:03.123Z" or Ranger's "2026-08-20 10:00:03.123"
  auto num = [&](std::size_t pos, std::size_t len) {
    return std::stoll(std::string(iso.substr(pos, len)));
  };
  const std::int64_t day = num(8, 2) - 20;  // the demo's day is 2026-08-20
  return (((day * 24 + num(11, 2)) * 60 + num(14, 2)) * 60 + num(17, 2)) * 1000 + num(20, 3);
}

const DemoRun& demo(bool outsiders) {
  static std::map<bool, std::unique_ptr<DemoRun>> runs;
  static TempDir tmp("demo");
  auto& slot = runs[outsiders];
  if (slot) return *slot;
  slot = std::make_unique<DemoRun>();
  DemoRun& r = *slot;
  r.dir = tmp.path() / (outsiders ? "outsiders" : "plain");
  std::vector<std::string> args = {"demo", "--dir", r.dir.string()};
  if (outsiders) args.push_back("--outsiders");
  r.demo = run_cli(args);
  INFO(r.demo.err);
  REQUIRE(r.demo.status == 0);
  const std::string store = "sqlite:" + (r.dir / "sevwatch.db").string();
  const auto list = run_cli({"incidents", "list", "--store", store, "--json"});
  REQUIRE(list.status == 0);
  r.incidents = parse_json(list.out).as_array();
  for (const auto& v : r.incidents) {
    const auto& inc = v.as_object();
    if (inc.at("rule").as_string() == "broad_exposure_sensitive") {
      const auto show = run_cli({"incidents", "show", std::to_string(inc.at("id").as_int64()),
                                 "--store", store, "--json"});
      REQUIRE(show.status == 0);
      REQUIRE(r.exposure.empty());
      r.exposure = parse_json(show.out).as_object();
    }
  }
  // The first GRANT ... TO GROUP public in the generated logs.
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  for (const auto& entry : std::filesystem::directory_iterator(r.dir / "logs")) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("TO GROUP public") == std::string::npos) continue;
      const auto at = line.find("\"evtTime\":\"");
      first = std::min(first, parse_ms(std::string_view(line).substr(at + 11, 23)));
    }
  }
  r.first_grant_ms = first;
  return r;
}

std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& s : v.as_array()) out.emplace_back(s.as_string());
  std::sort(out.begin(), out.end());
  return out;
}

void common_conclusions(const DemoRun& r) {
  REQUIRE_FALSE(r.exposure.empty());
  const auto& inc = r.exposure;
  const auto& scope = inc.at("scope").as_object();
  CHECK(scope.at("objects").as_int64() == 45000);
  CHECK(scope.at("audience").as_string() == "company");
  CHECK(strings(scope.at("sensitivity")) ==
        std::vector<std::string>{"activity_capture", "people_performance", "private_conversations",
                                 "prompts_transcripts"});
  const auto actors = strings(scope.at("actors"));
  CHECK(std::count(actors.begin(), actors.end(), "svc-mci-pipeline") == 1);
  const auto grantees = strings(scope.at("grantees"));
  CHECK(std::count(grantees.begin(), grantees.end(), "public") == 1);
  CHECK(inc.at("objects").as_array().size() == 45000);
  const std::string reason(inc.at("sev_reason").as_string());
  CHECK(reason.find("high") != std::string::npos);
  CHECK(reason.find("company") != std::string::npos);

  // opened_at within a second of the first grant's event time.
  const auto opened = parse_ms(inc.at("opened_at").as_string());
  CHECK(std::llabs(opened - r.first_grant_ms) <= 1000);

  // Exactly one incident for the exposure; nothing else at SEV 3 or worse.
  int exposure_incidents = 0;
  for (const auto& v : r.incidents) {
    const auto& o = v.as_object();
    if (o.at("rule").as_string() == "broad_exposure_sensitive") {
      ++exposure_incidents;
    } else {
      INFO("other incident: " << json::serialize(o));
      CHECK(o.at("sev").as_int64() > 3);
    }
  }
  CHECK(exposure_incidents == 1);

  // The demo says how fast it scanned and how to look further.
  CHECK(r.demo.out.find("events/s") != std::string::npos);
  CHECK(r.demo.out.find("incidents show") != std::string::npos);
}

}  // namespace

TEST_CASE("demo: one SEV 2 incident, and evidence that nobody outside read it", "[demo]") {
  const auto& r = demo(false);
  common_conclusions(r);
  const auto& inc = r.exposure;
  CHECK(inc.at("sev").as_int64() == 2);
  const auto& ev = inc.at("evidence").as_object();
  CHECK(ev.at("outsider_reads").as_int64() == 0);
  CHECK(ev.at("outsiders").as_array().empty());
  // Readers were recorded, and none is an outsider: the evidence behind "nobody".
  const auto& readers = inc.at("readers").as_array();
  CHECK_FALSE(readers.empty());
  for (const auto& rd : readers) CHECK_FALSE(rd.as_object().at("outsider").as_bool());
}

TEST_CASE("demo --outsiders: the same incident escalates to SEV 1", "[demo]") {
  const auto& r = demo(true);
  common_conclusions(r);
  const auto& inc = r.exposure;
  CHECK(inc.at("sev").as_int64() == 1);
  const auto& ev = inc.at("evidence").as_object();
  CHECK(ev.at("outsider_reads").as_int64() == 12);
  CHECK(strings(ev.at("outsiders")) == std::vector<std::string>{"dana", "eli", "fern"});

  // The timeline shows the escalation, when and why.
  bool opened_at_sev2 = false;
  bool escalated = false;
  for (const auto& t : inc.at("timeline").as_array()) {
    const auto& e = t.as_object();
    const std::string kind(e.at("kind").as_string());
    const std::string text(e.at("text").as_string());
    if (kind == "opened" && text.find("SEV 2") != std::string::npos) opened_at_sev2 = true;
    if (kind == "escalated") {
      escalated = true;
      CHECK(text.find("SEV 1") != std::string::npos);
      CHECK(text.find("improper") != std::string::npos);
      const auto at = parse_ms(e.at("at").as_string());
      CHECK(at >= 11 * 3600 * 1000LL);
      CHECK(at < 12 * 3600 * 1000LL);
    }
  }
  CHECK(opened_at_sev2);
  CHECK(escalated);
}
