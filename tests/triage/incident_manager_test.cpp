// The incident manager: open, update, escalate (never lower), replay
// idempotence, human acts.
#include "triage/incident_manager.h"

#include <algorithm>

#include "tests/test_support.h"
#include "tests/triage/triage_fixtures.h"
#include "triage/sqlite_store.h"

using namespace sevwatch;
using testing::kHour;
using testing::kTen;
using testing::outsider_finding;
using testing::seed_finding;
using triage::Incident;
using triage::IncidentManager;
using triage::IncidentStore;
using triage::SevRubric;
using triage::Status;

namespace {

constexpr std::int64_t kWall = 1'787'300'000'000;

struct Fixture {
  testing::TempDir dir{"manager"};
  std::unique_ptr<IncidentStore> store = open();
  std::unique_ptr<SevRubric> rubric = SevRubric::builtin_default();
  std::int64_t now = kWall;

  std::unique_ptr<IncidentStore> open() {
    std::string error;
    auto s = IncidentStore::open("sqlite:" + (dir.path() / "i.db").string(), error);
    INFO(error);
    REQUIRE(s);
    return s;
  }
  IncidentManager manager() {
    return IncidentManager(*store, *rubric, [this] { return now; });
  }
  Incident only() {
    auto all = store->list(std::nullopt);
    REQUIRE(all.size() == 1);
    auto full = store->get(all[0].id, true);
    REQUIRE(full);
    return *full;
  }
};

long count_kind(const Incident& inc, const std::string& kind) {
  return std::count_if(inc.timeline.begin(), inc.timeline.end(),
                       [&](const auto& e) { return e.kind == kind; });
}

}  // namespace

TEST_CASE("manager: the first finding opens an incident", "[manager]") {
  Fixture fx;
  auto m = fx.manager();
  m.on_finding(seed_finding(1));
  m.flush();
  CHECK(m.stats().findings == 1);
  CHECK(m.stats().incidents_opened == 1);
  CHECK(m.stats().incidents_updated == 0);

  const Incident inc = fx.only();
  CHECK(inc.dedup_key == "grant-broad-audience:mci");
  CHECK(inc.rule == "grant-broad-audience");
  CHECK(inc.runbook == "runbooks/grant-broad-audience.md");
  CHECK(inc.status == Status::open);
  CHECK(inc.opened_at_ms == kTen);
  CHECK(inc.detected_at_ms == kWall);
  CHECK(inc.updated_at_ms == kWall);
  CHECK(inc.objects == 500);
  CHECK(inc.object_names.size() == 500);
  CHECK(inc.sev == 2);
  CHECK(inc.sev_reason.find("high sensitivity × company audience") != std::string::npos);
  CHECK(inc.level == "high");
  CHECK(inc.audience == std::optional<std::string>("company"));
  CHECK(inc.grantees == std::vector<std::string>{"public"});
  CHECK(inc.actors == std::vector<std::string>{"svc-mci-pipeline"});
  CHECK(inc.outsiders.empty());
  CHECK(inc.outsider_reads == 0);
  REQUIRE(inc.timeline.size() == 2);
  CHECK(inc.timeline[0].kind == "opened");
  CHECK(inc.timeline[0].at_ms == kTen);
  CHECK(inc.timeline[0].by == "sevwatch");
  CHECK(inc.timeline[0].text.find("500 objects") != std::string::npos);
  CHECK(inc.timeline[0].text.find("company audience") != std::string::npos);
  CHECK(inc.timeline[0].text.find("public") != std::string::npos);
  CHECK(inc.timeline[1].kind == "scope");
  REQUIRE(inc.readers.size() == 1);
  CHECK(inc.readers[0].principal == "ann");
}

TEST_CASE("manager: 90 grants make one incident of 45,000 objects at SEV 2", "[manager]") {
  Fixture fx;
  auto m = fx.manager();
  for (int db = 1; db <= 90; ++db) {
    m.on_finding(seed_finding(db));
    if (db % 30 == 0) m.flush();
  }
  m.flush();
  CHECK(m.stats().findings == 90);
  CHECK(m.stats().incidents_opened == 1);
  CHECK(m.stats().incidents_updated == 2);
  const Incident inc = fx.only();
  CHECK(inc.objects == 45000);
  CHECK(inc.sev == 2);
  CHECK(inc.opened_at_ms == kTen);
  CHECK(inc.sensitivity.size() == 4);
  CHECK(count_kind(inc, "scope") == 90);
  CHECK(count_kind(inc, "opened") == 1);
  CHECK(count_kind(inc, "escalated") == 0);
}

TEST_CASE("manager: improper evidence escalates SEV 2 -> 1; never lowered", "[manager]") {
  Fixture fx;
  auto m = fx.manager();
  for (int db = 1; db <= 90; ++db) m.on_finding(seed_finding(db));
  m.flush();
  REQUIRE(fx.only().sev == 2);

  fx.now += kHour;
  m.on_finding(outsider_finding());
  m.flush();
  CHECK(m.stats().incidents_opened == 1);
  CHECK(m.stats().incidents_updated == 1);
  Incident inc = fx.only();
  CHECK(inc.sev == 1);
  CHECK(inc.evidence_class == "improper");
  CHECK(inc.sev_reason.find("evidence improper: 1 step more severe → SEV 1") != std::string::npos);
  CHECK(inc.outsiders == std::vector<std::string>{"dana", "eli", "fern"});
  CHECK(inc.outsider_reads == 12);
  CHECK(inc.updated_at_ms == kWall + kHour);
  CHECK(inc.detected_at_ms == kWall);
  REQUIRE(count_kind(inc, "escalated") == 1);
  const auto esc = std::find_if(inc.timeline.begin(), inc.timeline.end(),
                                [](const auto& e) { return e.kind == "escalated"; });
  CHECK(esc->at_ms == kTen + 2 * kHour);  // the event time of the evidence
  CHECK(esc->by == "sevwatch");
  CHECK(esc->text.rfind("SEV 2 → SEV 1: high sensitivity × company audience", 0) == 0);
  REQUIRE(inc.readers.size() == 4);
  CHECK(inc.readers[0].principal == "ann");
  CHECK(inc.readers[0].reads == 400);
  CHECK(inc.readers[0].first_ms == kTen + testing::kMinute);
  CHECK(inc.readers[1].outsider);

  // A later, milder view (say most grants revoked) never lowers the SEV.
  rules::Finding milder = outsider_finding();
  milder.audience = rules::Audience::narrow;
  milder.evidence = rules::Evidence::none;
  milder.outsiders.clear();
  milder.outsider_reads = 0;
  milder.readers.clear();
  milder.notes = {{kTen + 3 * kHour, "revoke", "grants to public revoked"}};
  milder.last_ms = kTen + 3 * kHour;
  m.on_finding(milder);
  m.flush();
  inc = fx.only();
  CHECK(inc.sev == 1);
  CHECK(inc.evidence_class == "improper");
  CHECK(inc.outsider_reads == 12);
  CHECK(inc.audience == std::optional<std::string>("company"));
  CHECK(count_kind(inc, "revoke") == 1);
  CHECK(count_kind(inc, "escalated") == 1);
}

TEST_CASE("manager: one batch still records the escalation in event time", "[manager]") {
  Fixture fx;
  auto m = fx.manager();
  for (int db = 1; db <= 90; ++db) m.on_finding(seed_finding(db));
  m.on_finding(outsider_finding());
  m.flush();
  CHECK(m.stats().incidents_opened == 1);
  CHECK(m.stats().incidents_updated == 0);
  const Incident inc = fx.only();
  CHECK(inc.sev == 1);
  CHECK(inc.objects == 45000);
  REQUIRE(inc.timeline.front().kind == "opened");
  CHECK(inc.timeline.front().at_ms == kTen);
  REQUIRE(count_kind(inc, "escalated") == 1);
  const auto esc = std::find_if(inc.timeline.begin(), inc.timeline.end(),
                                [](const auto& e) { return e.kind == "escalated"; });
  CHECK(esc->at_ms == kTen + 2 * kHour);
  CHECK(esc->text.rfind("SEV 2 → SEV 1:", 0) == 0);
}

TEST_CASE("manager: replaying the same findings into the same store changes nothing", "[manager]") {
  Fixture fx;
  std::vector<rules::Finding> findings;
  for (int db = 1; db <= 90; ++db) findings.push_back(seed_finding(db));
  findings.push_back(outsider_finding());
  {
    auto m = fx.manager();
    for (const auto& f : findings) m.on_finding(f);
    m.flush();
    CHECK(m.stats().incidents_opened == 1);
  }
  const Incident before = fx.only();

  fx.now += 5 * kHour;
  for (int flush_every : {1000, 7, 1}) {
    auto m = fx.manager();
    int n = 0;
    for (const auto& f : findings) {
      m.on_finding(f);
      if (++n % flush_every == 0) m.flush();
    }
    m.flush();
    INFO("flush every " << flush_every);
    CHECK(m.stats().findings == findings.size());
    CHECK(m.stats().incidents_opened == 0);
    CHECK(m.stats().incidents_updated == 0);
  }
  const Incident after = fx.only();
  CHECK(after.timeline.size() == before.timeline.size());
  CHECK(after.objects == 45000);
  CHECK(after.object_names.size() == 45000);
  CHECK(after.sev == 1);
  CHECK(after.events == before.events);
  CHECK(after.outsider_reads == 12);
  CHECK(after.updated_at_ms == before.updated_at_ms);
  CHECK(after.readers.size() == before.readers.size());
}

TEST_CASE("manager: separate keys are separate incidents", "[manager]") {
  Fixture fx;
  auto m = fx.manager();
  rules::Finding a = seed_finding(1);
  rules::Finding b = seed_finding(1);
  b.group_key = "grant-broad-audience:ads";
  b.level = rules::Level::medium;
  b.objects = 4;
  b.new_objects = {"dw_hive.ads.a", "dw_hive.ads.b", "dw_hive.ads.c", "dw_hive.ads.d"};
  m.on_finding(a);
  m.on_finding(b);
  m.flush();
  CHECK(m.stats().incidents_opened == 2);
  auto ads = fx.store->find_by_dedup_key("grant-broad-audience:ads");
  REQUIRE(ads);
  CHECK(ads->sev == 4);  // medium x company, 4 objects
  CHECK(ads->objects == 4);
}

TEST_CASE("manager: a human acknowledgement made before flush is kept", "[manager]") {
  Fixture fx;
  auto m = fx.manager();
  m.on_finding(seed_finding(1));
  m.flush();
  const auto id = fx.only().id;
  m.on_finding(seed_finding(2));  // pending, read the incident as open
  std::string error;
  REQUIRE(triage::acknowledge(*fx.store, id, "alice", "on it", kWall + 10, error));
  m.flush();
  const Incident inc = fx.only();
  CHECK(inc.status == Status::acknowledged);
  CHECK(inc.objects == 1000);
}

TEST_CASE("human acts: acknowledge and resolve", "[manager][human]") {
  Fixture fx;
  {
    auto m = fx.manager();
    m.on_finding(seed_finding(1));
    m.flush();
  }
  const auto id = fx.only().id;
  std::string error;
  CHECK_FALSE(triage::acknowledge(*fx.store, 999, "alice", "", kWall, error));
  CHECK(error == "no incident 999");
  CHECK_FALSE(triage::acknowledge(*fx.store, id, "", "", kWall, error));

  REQUIRE(triage::acknowledge(*fx.store, id, "alice", "looking at it", kWall + 1000, error));
  Incident inc = fx.only();
  CHECK(inc.status == Status::acknowledged);
  CHECK(inc.updated_at_ms == kWall + 1000);
  REQUIRE(count_kind(inc, "acknowledged") == 1);
  CHECK(inc.timeline.back().by == "alice");
  CHECK(inc.timeline.back().text.find("looking at it") != std::string::npos);

  CHECK_FALSE(triage::acknowledge(*fx.store, id, "bob", "", kWall + 2000, error));
  CHECK(error.find("acknowledged, not open") != std::string::npos);

  REQUIRE(triage::resolve(*fx.store, id, "bob", "grants revoked", kWall + 3000, error));
  inc = fx.only();
  CHECK(inc.status == Status::resolved);
  CHECK(inc.resolved_at_ms == std::optional<std::int64_t>(kWall + 3000));
  CHECK(inc.timeline.back().kind == "resolved");
  CHECK(inc.timeline.back().by == "bob");

  CHECK_FALSE(triage::resolve(*fx.store, id, "bob", "", kWall + 4000, error));
  CHECK(error.find("already resolved") != std::string::npos);
  CHECK_FALSE(triage::resolve(*fx.store, 12345, "bob", "", kWall, error));

  // Replaying the same finding does not reopen it.
  auto m = fx.manager();
  m.on_finding(seed_finding(1));
  m.flush();
  CHECK(fx.only().status == Status::resolved);
  CHECK(m.stats().incidents_updated == 0);
}

TEST_CASE("human acts: a resolved incident with new evidence reopens", "[manager][human]") {
  Fixture fx;
  {
    auto m = fx.manager();
    m.on_finding(seed_finding(90));
    m.flush();
  }
  std::string error;
  REQUIRE(triage::resolve(*fx.store, fx.only().id, "bob", "", kWall + 1, error));
  auto m = fx.manager();
  m.on_finding(outsider_finding());
  m.flush();
  const Incident inc = fx.only();
  CHECK(inc.status == Status::open);
  CHECK_FALSE(inc.resolved_at_ms);
  CHECK(inc.sev == 1);
  CHECK(count_kind(inc, "reopened") == 1);
}

TEST_CASE("human acts: set_sev needs a reason; automatic changes respect it", "[manager][human]") {
  Fixture fx;
  std::vector<rules::Finding> seed;
  for (int db = 1; db <= 90; ++db) seed.push_back(seed_finding(db));
  {
    auto m = fx.manager();
    for (const auto& f : seed) m.on_finding(f);
    m.flush();
  }
  const auto id = fx.only().id;
  std::string error;
  CHECK_FALSE(triage::set_sev(*fx.store, id, 4, "carol", "  ", kWall + 1, error));
  CHECK(error.find("reason") != std::string::npos);
  CHECK_FALSE(triage::set_sev(*fx.store, id, 6, "carol", "x", kWall + 1, error));
  CHECK_FALSE(triage::set_sev(*fx.store, 999, 4, "carol", "x", kWall + 1, error));
  CHECK_FALSE(triage::set_sev(*fx.store, id, 2, "carol", "x", kWall + 1, error));

  REQUIRE(triage::set_sev(*fx.store, id, 4, "carol", "test data only, verified with owner",
                          kWall + 1, error));
  Incident inc = fx.only();
  CHECK(inc.sev == 4);
  CHECK(inc.sev_reason == "set by carol: test data only, verified with owner");
  CHECK(inc.timeline.back().kind == "downgraded");
  CHECK(inc.timeline.back().by == "carol");
  CHECK(inc.timeline.back().text == "SEV 2 → SEV 4 by carol: test data only, verified with owner");

  // The same evidence again does not undo the human's decision...
  {
    auto m = fx.manager();
    for (const auto& f : seed) m.on_finding(f);
    m.flush();
  }
  CHECK(fx.only().sev == 4);
  // ...but evidence the rubric rates more severe escalates again.
  {
    auto m = fx.manager();
    m.on_finding(outsider_finding());
    m.flush();
  }
  inc = fx.only();
  CHECK(inc.sev == 1);
  // In event time, the evidence came before the downgrade's wall-clock entry.
  CHECK(std::any_of(inc.timeline.begin(), inc.timeline.end(), [](const auto& e) {
    return e.kind == "escalated" && e.at_ms == kTen + 2 * kHour &&
           e.text.rfind("SEV 4 → SEV 1:", 0) == 0;
  }));
}

TEST_CASE("manager: a finding without level or audience still opens", "[manager]") {
  Fixture fx;
  auto m = fx.manager();
  rules::Finding f;
  f.rule_id = "bulk-export";
  f.title = "Bulk export by a non-intended principal";
  f.group_key = "bulk-export:mallory";
  f.first_ms = kTen;
  f.last_ms = kTen + 1000;
  f.objects = 300;
  f.evidence = rules::Evidence::exfiltration;
  f.actors = {"mallory"};
  m.on_finding(f);
  m.flush();
  const Incident inc = fx.only();
  CHECK_FALSE(inc.audience);
  CHECK(inc.level.empty());
  CHECK(inc.objects == 300);  // the finding's count when it names no objects
  CHECK(inc.sev <= 3);
}

TEST_CASE("manager: findings without exposure scope take the rule's SEV hint", "[manager]") {
  Fixture fx;
  auto m = fx.manager();
  rules::Finding f;
  f.rule_id = "bulk_sensitive_reads";
  f.title = "Bulk reads";
  f.group_key = "bulk_sensitive_reads|agent-7@2026-08-20T10:00:00.000Z";
  f.first_ms = f.last_ms = kTen;
  f.objects = 5000;
  f.actors = {"agent-7"};
  f.sev_hint = 3;
  m.on_finding(f);
  m.flush();
  auto inc = fx.store->find_by_dedup_key(f.group_key);
  REQUIRE(inc);
  CHECK(inc->sev == 3);
  CHECK(inc->sev_reason.find("bulk_sensitive_reads") != std::string::npos);

  // A higher tier later escalates the same incident; a lower one never lowers it.
  f.objects = 45000;
  f.sev_hint = 1;
  f.last_ms = kTen + kHour;
  m.on_finding(f);
  m.flush();
  inc = fx.store->find_by_dedup_key(f.group_key);
  CHECK(inc->sev == 1);
  f.sev_hint = 4;
  m.on_finding(f);
  m.flush();
  CHECK(fx.store->find_by_dedup_key(f.group_key)->sev == 1);
}
