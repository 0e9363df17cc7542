// Incident lifecycle on every store (SQLite always, PostgreSQL when
// SEVWATCH_TEST_PG_URL is set): assign, note, contain, acknowledged_at, the
// response metrics, and the schema migration that added them.
#include <sqlite3.h>

#include "tests/triage/store_test_support.h"
#include "tests/triage/triage_fixtures.h"
#include "triage/incident_json.h"
#include "triage/incident_manager.h"

namespace {
using sevwatch::triage::Incident;
using sevwatch::triage::Status;
using sevwatch::triage::TimelineEntry;

constexpr std::int64_t kNow = 1'787'300'000'000;  // the sample's detected_at

const TimelineEntry* find_entry(const Incident& inc, const std::string& kind) {
  for (const auto& t : inc.timeline) {
    if (t.kind == kind) return &t;
  }
  return nullptr;
}
}  // namespace

#define LIFECYCLE_OPEN(backend, store) \
  TestType backend;                    \
  if (!backend.available()) return;    \
  auto store = sevwatch::testing::open_store_at(backend.url())

TEMPLATE_TEST_CASE("lifecycle: assign sets the assignee, on the timeline", "[store][lifecycle]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  namespace t = sevwatch::triage;
  LIFECYCLE_OPEN(b, store);
  Incident inc = sevwatch::testing::sample_incident("k");
  store->insert(inc);
  CHECK(store->get(inc.id, false)->assignee.empty());

  std::string error;
  CHECK(t::assign(*store, inc.id, "alice", "bob", kNow + 1000, error));
  auto got = store->get(inc.id, true);
  REQUIRE(got);
  CHECK(got->assignee == "alice");
  CHECK(got->updated_at_ms == kNow + 1000);
  CHECK(got->status == Status::open);  // assigning is not acknowledging
  const auto* e = find_entry(*got, "assigned");
  REQUIRE(e);
  CHECK(e->by == "bob");
  CHECK(e->at_ms == kNow + 1000);
  CHECK(e->text == "assigned to alice by bob");
  // Shown in summaries (list) too.
  const auto listed = store->list(std::nullopt);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].assignee == "alice");

  CHECK_FALSE(t::assign(*store, inc.id, "alice", "bob", kNow + 2000, error));
  CHECK(error.find("already assigned to alice") != std::string::npos);
  CHECK(t::assign(*store, inc.id, "carol", "alice", kNow + 3000, error));
  got = store->get(inc.id, true);
  CHECK(got->assignee == "carol");
  CHECK(got->timeline.back().text == "reassigned from alice to carol by alice");

  CHECK_FALSE(t::assign(*store, inc.id, "", "bob", kNow, error));
  CHECK_FALSE(t::assign(*store, inc.id, "dan", "", kNow, error));
  CHECK_FALSE(t::assign(*store, 999, "dan", "bob", kNow, error));
  CHECK(error == "no incident 999");
}

TEMPLATE_TEST_CASE("lifecycle: notes go on the timeline with actor and time", "[store][lifecycle]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  namespace t = sevwatch::triage;
  LIFECYCLE_OPEN(b, store);
  Incident inc = sevwatch::testing::sample_incident("k");
  store->insert(inc);
  std::string error;
  CHECK(t::add_note(*store, inc.id, "alice", "asked the owner about the grant", kNow + 10, error));
  CHECK(t::add_note(*store, inc.id, "bob", "owner confirms: a mistake", kNow + 20, error));
  CHECK_FALSE(t::add_note(*store, inc.id, "bob", "  \n", kNow + 30, error));
  CHECK(error == "a note needs text");
  CHECK_FALSE(t::add_note(*store, inc.id, "", "x", kNow + 30, error));
  auto got = store->get(inc.id, true);
  REQUIRE(got);
  REQUIRE(got->timeline.size() == 2);
  CHECK(got->timeline[0].kind == "note");
  CHECK(got->timeline[0].by == "alice");
  CHECK(got->timeline[0].at_ms == kNow + 10);
  CHECK(got->timeline[0].text == "asked the owner about the grant");
  CHECK(got->timeline[1].by == "bob");
  CHECK(got->updated_at_ms == kNow + 20);
  // A note on a resolved incident is still allowed (post-incident notes).
  CHECK(t::resolve(*store, inc.id, "bob", "", kNow + 40, error));
  CHECK(t::add_note(*store, inc.id, "bob", "follow-up filed", kNow + 50, error));
}

TEMPLATE_TEST_CASE("lifecycle: contain from open or acknowledged only", "[store][lifecycle]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  namespace t = sevwatch::triage;
  LIFECYCLE_OPEN(b, store);
  Incident a = sevwatch::testing::sample_incident("a");
  Incident c = sevwatch::testing::sample_incident("c");
  store->insert(a);
  store->insert(c);
  std::string error;

  // open → contained
  CHECK(t::contain(*store, a.id, "alice", "revoked the public grant", kNow + 100, error));
  auto got = store->get(a.id, true);
  REQUIRE(got);
  CHECK(got->status == Status::contained);
  CHECK(got->contained_at_ms == kNow + 100);
  const auto* e = find_entry(*got, "contained");
  REQUIRE(e);
  CHECK(e->by == "alice");
  CHECK(e->text == "contained by alice: revoked the public grant");
  // Not again, and acknowledging a contained incident is refused.
  CHECK_FALSE(t::contain(*store, a.id, "alice", "", kNow + 200, error));
  CHECK(error == "incident " + std::to_string(a.id) + " is contained, not open or acknowledged");
  CHECK_FALSE(t::acknowledge(*store, a.id, "alice", "", kNow + 200, error));
  CHECK(store->get(a.id, false)->contained_at_ms == kNow + 100);
  // contained → resolved
  CHECK(t::resolve(*store, a.id, "alice", "", kNow + 300, error));
  CHECK_FALSE(t::contain(*store, a.id, "alice", "", kNow + 400, error));

  // open → acknowledged (records acknowledged_at) → contained
  CHECK(t::acknowledge(*store, c.id, "bob", "", kNow + 10, error));
  CHECK(store->get(c.id, false)->acknowledged_at_ms == kNow + 10);
  CHECK(t::contain(*store, c.id, "bob", "", kNow + 20, error));
  got = store->get(c.id, true);
  CHECK(got->status == Status::contained);
  CHECK(got->acknowledged_at_ms == kNow + 10);
  CHECK(find_entry(*got, "contained")->text == "contained by bob");
  CHECK_FALSE(t::contain(*store, c.id, "", "", kNow, error));
  CHECK_FALSE(t::contain(*store, 999, "bob", "", kNow, error));
}

TEMPLATE_TEST_CASE("lifecycle: response metrics from the stored times", "[store][lifecycle]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  namespace t = sevwatch::triage;
  LIFECYCLE_OPEN(b, store);
  Incident inc = sevwatch::testing::sample_incident("k");  // opened 10:00, detected +80,000 s
  store->insert(inc);
  auto m = t::response_metrics(*store->get(inc.id, false));
  CHECK(m.ttd_ms == std::optional<std::int64_t>(80'000'000));
  CHECK_FALSE(m.tta_ms);
  CHECK_FALSE(m.ttc_ms);
  CHECK_FALSE(m.ttr_ms);
  std::string error;
  REQUIRE(t::acknowledge(*store, inc.id, "a", "", kNow + 60'000, error));
  REQUIRE(t::contain(*store, inc.id, "a", "", kNow + 120'000, error));
  REQUIRE(t::resolve(*store, inc.id, "a", "", kNow + 180'000, error));
  const auto full = store->get(inc.id, true);
  m = t::response_metrics(*full);
  CHECK(m.ttd_ms == std::optional<std::int64_t>(80'000'000));
  CHECK(m.tta_ms == std::optional<std::int64_t>(80'060'000));
  CHECK(m.ttc_ms == std::optional<std::int64_t>(80'120'000));
  CHECK(m.ttr_ms == std::optional<std::int64_t>(80'180'000));
  const auto j = t::to_json(*full, true);
  const auto& jm = j.at("metrics").as_object();
  CHECK(jm.at("ttd_seconds").as_double() == 80'000.0);
  CHECK(jm.at("tta_seconds").as_double() == 80'060.0);
  CHECK(jm.at("ttc_seconds").as_double() == 80'120.0);
  CHECK(jm.at("ttr_seconds").as_double() == 80'180.0);
  CHECK(j.at("acknowledged_at").as_string() == "2026-08-21T08:14:20.000Z");
}

TEMPLATE_TEST_CASE("lifecycle: the manager keeps the assignee and acknowledged_at",
                   "[store][lifecycle][manager]", sevwatch::testing::SqliteBackend,
                   sevwatch::testing::PgBackend) {
  namespace t = sevwatch::triage;
  LIFECYCLE_OPEN(b, store);
  auto rubric = t::SevRubric::builtin_default();
  std::int64_t now = kNow;
  {
    t::IncidentManager m(*store, *rubric, [&] { return now; });
    m.on_finding(sevwatch::testing::seed_finding(1));
    m.flush();
  }
  const auto id = store->list(std::nullopt).at(0).id;
  std::string error;
  REQUIRE(t::assign(*store, id, "alice", "bob", now + 1, error));
  REQUIRE(t::acknowledge(*store, id, "alice", "", now + 2, error));
  now += 10'000;
  {
    t::IncidentManager m(*store, *rubric, [&] { return now; });
    m.on_finding(sevwatch::testing::seed_finding(2));
    m.flush();
    CHECK(m.stats().incidents_updated == 1);
  }
  const auto got = store->get(id, false);
  REQUIRE(got);
  CHECK(got->objects == 1000);
  CHECK(got->assignee == "alice");
  CHECK(got->acknowledged_at_ms == kNow + 2);
  CHECK(got->status == Status::acknowledged);
}

TEST_CASE("lifecycle: a version-3 SQLite database is migrated, its incidents kept",
          "[store][lifecycle][sqlite]") {
  sevwatch::testing::SqliteBackend b;
  std::int64_t id = 0;
  {
    auto store = sevwatch::testing::open_store_at(b.url());
    Incident inc = sevwatch::testing::sample_incident("old");
    store->insert(inc);
    id = inc.id;
  }
  // Back to version 3: drop the new columns (SQLite ≥ 3.35) and tables, and the
  // records.
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((b.dir.path() / "i.db").string().c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "ALTER TABLE incidents DROP COLUMN assignee; ALTER TABLE incidents DROP "
                         "COLUMN acknowledged_at; DROP TABLE grant_journal; DROP TABLE "
                         "engine_state; DELETE FROM schema_version WHERE version >= 4;",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = sevwatch::testing::open_store_at(b.url());
  CHECK(store->schema_version() == sevwatch::testing::SqliteBackend::latest());
  const auto got = store->get(id, false);
  REQUIRE(got);
  CHECK(got->dedup_key == "old");
  CHECK(got->assignee.empty());
  CHECK_FALSE(got->acknowledged_at_ms);
}

TEST_CASE("lifecycle: a version-3 PostgreSQL database is migrated, its incidents kept",
          "[store][lifecycle][pg]") {
  sevwatch::testing::PgBackend b;
  if (!b.available()) return;
  std::int64_t id = 0;
  {
    auto store = sevwatch::testing::open_store_at(b.url());
    Incident inc = sevwatch::testing::sample_incident("old");
    store->insert(inc);
    id = inc.id;
  }
  b.db->query(
      "ALTER TABLE incidents DROP COLUMN assignee; ALTER TABLE incidents DROP COLUMN "
      "acknowledged_at; DROP TABLE grant_journal; DROP TABLE engine_state; DELETE FROM "
      "schema_version WHERE version >= 4");
  auto store = sevwatch::testing::open_store_at(b.url());
  CHECK(store->schema_version() == sevwatch::testing::PgBackend::latest());
  const auto got = store->get(id, false);
  REQUIRE(got);
  CHECK(got->dedup_key == "old");
  CHECK(got->assignee.empty());
  CHECK_FALSE(got->acknowledged_at_ms);
}
