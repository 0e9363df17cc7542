// The SQLite incident store: round trips, dedup of objects and timeline,
// readers, schema version, durability across reopen, WAL, errors, speed.
#include "triage/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>

#include "tests/test_support.h"
#include "triage/incident_store.h"

using namespace sevwatch;
using triage::Incident;
using triage::IncidentStore;
using triage::Reader;
using triage::SqliteStore;
using triage::Status;
using triage::TimelineEntry;

namespace {

Incident sample(const std::string& key) {
  Incident inc;
  inc.sev = 2;
  inc.rubric_sev = 2;
  inc.rule = "grant-broad-audience";
  inc.title = "Sensitive tables readable company-wide";
  inc.dedup_key = key;
  inc.opened_at_ms = 1'787'220'000'000;
  inc.detected_at_ms = 1'787'300'000'000;
  inc.updated_at_ms = 1'787'300'000'000;
  inc.sev_reason = "high sensitivity × company audience → SEV 2 (base)";
  inc.runbook = "runbooks/grant-broad-audience.md";
  inc.objects = 0;
  inc.sensitivity = {"people_performance", "prompts_transcripts"};
  inc.level = "high";
  inc.audience = "company";
  inc.grantees = {"public"};
  inc.actors = {"svc-mci-pipeline"};
  return inc;
}

std::unique_ptr<IncidentStore> open_store(const std::filesystem::path& p) {
  std::string error;
  auto s = IncidentStore::open("sqlite:" + p.string(), error);
  INFO(error);
  REQUIRE(s);
  return s;
}

}  // namespace

TEST_CASE("store: insert, get, find, update round trip", "[store]") {
  testing::TempDir dir("store");
  auto store = open_store(dir.path() / "i.db");
  Incident inc = sample("k1");
  inc.contained_at_ms = 1'787'400'000'000;
  store->insert(inc);
  CHECK(inc.id == 1);

  auto got = store->get(inc.id, false);
  REQUIRE(got);
  CHECK(got->dedup_key == "k1");
  CHECK(got->sev == 2);
  CHECK(got->status == Status::open);
  CHECK(got->sev_reason == inc.sev_reason);
  CHECK(got->sensitivity == inc.sensitivity);
  CHECK(got->audience == std::optional<std::string>("company"));
  CHECK(got->grantees == std::vector<std::string>{"public"});
  CHECK(got->actors == std::vector<std::string>{"svc-mci-pipeline"});
  CHECK(got->contained_at_ms == inc.contained_at_ms);
  CHECK_FALSE(got->resolved_at_ms);
  CHECK(got->level == "high");
  CHECK(got->evidence_class == "none");

  CHECK_FALSE(store->find_by_dedup_key("nope"));
  auto found = store->find_by_dedup_key("k1");
  REQUIRE(found);
  CHECK(found->id == inc.id);

  found->sev = 1;
  found->status = Status::acknowledged;
  found->audience.reset();
  found->outsiders = {"dana", "eli"};
  found->outsider_reads = 12;
  found->evidence_class = "improper";
  store->update(*found);
  auto again = store->get(inc.id, false);
  REQUIRE(again);
  CHECK(again->sev == 1);
  CHECK(again->status == Status::acknowledged);
  CHECK_FALSE(again->audience);
  CHECK(again->outsiders == std::vector<std::string>{"dana", "eli"});
  CHECK(again->outsider_reads == 12);
  CHECK(again->evidence_class == "improper");

  CHECK_FALSE(store->get(999, true));
  Incident ghost = sample("ghost");
  ghost.id = 999;
  CHECK_THROWS_AS(store->update(ghost), triage::StoreError);
}

TEST_CASE("store: dedup keys are unique", "[store]") {
  testing::TempDir dir("store");
  auto store = open_store(dir.path() / "i.db");
  Incident a = sample("same");
  store->insert(a);
  Incident b = sample("same");
  try {
    store->insert(b);
    FAIL("a second incident with the same dedup key was inserted");
  } catch (const triage::StoreError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("sqlite:") == 0);
    CHECK(msg.find("UNIQUE") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
  }
}

TEST_CASE("store: list newest first, filtered by status", "[store]") {
  testing::TempDir dir("store");
  auto store = open_store(dir.path() / "i.db");
  for (int i = 0; i < 3; ++i) {
    Incident inc = sample("k" + std::to_string(i));
    if (i == 1) inc.status = Status::resolved;
    store->insert(inc);
  }
  const auto all = store->list(std::nullopt);
  REQUIRE(all.size() == 3);
  CHECK(all[0].dedup_key == "k2");
  CHECK(all[2].dedup_key == "k0");
  const auto open = store->list(Status::open);
  REQUIRE(open.size() == 2);
  CHECK(open[0].dedup_key == "k2");
  CHECK(open[1].dedup_key == "k0");
  const auto resolved = store->list(Status::resolved);
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0].dedup_key == "k1");
  CHECK(store->list(Status::contained).empty());
  // Summaries carry no detail lists.
  CHECK(all[0].object_names.empty());
  CHECK(all[0].timeline.empty());
}

TEST_CASE("store: objects are deduplicated", "[store]") {
  testing::TempDir dir("store");
  auto store = open_store(dir.path() / "i.db");
  Incident inc = sample("k");
  store->insert(inc);
  CHECK(store->add_objects(inc.id, {"hive.db1.t1", "hive.db1.t2"}) == 2);
  CHECK(store->add_objects(inc.id, {"hive.db1.t2", "hive.db1.t3", "hive.db1.t3"}) == 3);
  CHECK(store->add_objects(inc.id, {}) == 3);
  // Inside an explicit transaction too.
  store->begin();
  CHECK(store->add_objects(inc.id, {"hive.db1.t0"}) == 4);
  store->commit();
  auto full = store->get(inc.id, true);
  REQUIRE(full);
  CHECK(full->object_names ==
        std::vector<std::string>{"hive.db1.t0", "hive.db1.t1", "hive.db1.t2", "hive.db1.t3"});
}

TEST_CASE("store: timeline entries are deduplicated and ordered by time", "[store]") {
  testing::TempDir dir("store");
  auto store = open_store(dir.path() / "i.db");
  Incident inc = sample("k");
  store->insert(inc);
  const std::vector<TimelineEntry> entries = {
      {2000, "escalated", "sevwatch", "SEV 2 → SEV 1"},
      {1000, "opened", "sevwatch", "opened"},
  };
  CHECK(store->add_timeline(inc.id, entries) == 2);
  CHECK(store->add_timeline(inc.id, entries) == 0);
  // Same at/kind/text by someone else is still the same entry.
  CHECK(store->add_timeline(inc.id, {{1000, "opened", "alice", "opened"}}) == 0);
  CHECK(store->add_timeline(inc.id, {{1500, "note", "alice", "looking"}}) == 1);
  auto full = store->get(inc.id, true);
  REQUIRE(full);
  REQUIRE(full->timeline.size() == 3);
  CHECK(full->timeline[0].kind == "opened");
  CHECK(full->timeline[1].kind == "note");
  CHECK(full->timeline[1].by == "alice");
  CHECK(full->timeline[2].kind == "escalated");
  CHECK(full->timeline[2].text == "SEV 2 → SEV 1");
}

TEST_CASE("store: readers are replaced by principal", "[store]") {
  testing::TempDir dir("store");
  auto store = open_store(dir.path() / "i.db");
  Incident inc = sample("k");
  store->insert(inc);
  store->put_readers(inc.id, {{"eli", 3, 2, true, 100, 200}, {"dana", 5, 5, true, 50, 300}});
  store->put_readers(inc.id, {{"eli", 7, 4, true, 100, 400}});
  const auto readers = store->get_readers(inc.id);
  REQUIRE(readers.size() == 2);
  CHECK(readers[0].principal == "dana");
  CHECK(readers[1].principal == "eli");
  CHECK(readers[1].reads == 7);
  CHECK(readers[1].objects == 4);
  CHECK(readers[1].outsider);
  CHECK(readers[1].last_ms == 400);
  auto full = store->get(inc.id, true);
  REQUIRE(full);
  CHECK(full->readers.size() == 2);
}

TEST_CASE("store: schema version, WAL, and data kept across reopen", "[store]") {
  testing::TempDir dir("store");
  const auto path = dir.path() / "i.db";
  std::int64_t id = 0;
  {
    auto store = open_store(path);
    CHECK(store->schema_version() == SqliteStore::latest_schema_version());
    CHECK(store->schema_version() >= 1);
    auto* sq = dynamic_cast<SqliteStore*>(store.get());
    REQUIRE(sq);
    CHECK(sq->journal_mode() == "wal");
    Incident inc = sample("persist");
    store->begin();
    store->insert(inc);
    store->add_objects(inc.id, {"a", "b"});
    store->add_timeline(inc.id, {{1, "opened", "sevwatch", "x"}});
    store->commit();
    id = inc.id;
    // A rolled-back transaction leaves nothing.
    Incident gone = sample("gone");
    store->begin();
    store->insert(gone);
    store->rollback();
  }
  {
    auto store = open_store(path);
    CHECK(store->schema_version() == SqliteStore::latest_schema_version());
    auto got = store->get(id, true);
    REQUIRE(got);
    CHECK(got->dedup_key == "persist");
    CHECK(got->object_names.size() == 2);
    CHECK(got->timeline.size() == 1);
    CHECK_FALSE(store->find_by_dedup_key("gone"));
  }
  // The migration is recorded once.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.string().c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT COUNT(*), MAX(version) FROM schema_version", -1, &s,
                             nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(sqlite3_column_int(s, 0) == SqliteStore::latest_schema_version());
  CHECK(sqlite3_column_int(s, 1) == SqliteStore::latest_schema_version());
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_CASE("store: open by URL", "[store]") {
  testing::TempDir dir("store");
  std::string error;
  auto bare = IncidentStore::open((dir.path() / "bare.db").string(), error);
  CHECK(bare);
  CHECK(std::filesystem::exists(dir.path() / "bare.db"));

  auto pg = IncidentStore::open("postgresql://localhost/sevwatch", error);
  CHECK_FALSE(pg);
  CHECK(error == "postgresql://localhost/sevwatch: PostgreSQL store not built yet");

  error.clear();
  auto bad = IncidentStore::open("sqlite:/nonexistent-dir/x/i.db", error);
  CHECK_FALSE(bad);
  CHECK(error.find("sqlite:/nonexistent-dir/x/i.db") == 0);
  CHECK(error.find('\n') == std::string::npos);

  error.clear();
  CHECK_FALSE(IncidentStore::open("sqlite:", error));
  CHECK_FALSE(error.empty());
}

TEST_CASE("store: add_objects of 45,000 names in one transaction is fast", "[store][perf]") {
  testing::TempDir dir("store");
  auto store = open_store(dir.path() / "i.db");
  Incident inc = sample("big");
  store->insert(inc);
  std::vector<std::string> names;
  names.reserve(45000);
  for (int db = 0; db < 90; ++db) {
    for (int t = 0; t < 500; ++t) names.push_back(fmt::format("dw_hive.mci_{:02}.t_{:03}", db, t));
  }
  const auto t0 = std::chrono::steady_clock::now();
  store->begin();
  const auto n = store->add_objects(inc.id, names);
  store->commit();
  const auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  WARN("add_objects(45,000) + commit: " << ms << " ms");
  CHECK(n == 45000);
  CHECK(ms < 1500);  // target < 150 ms; generous here for loaded CI machines
  // Adding them again adds nothing.
  CHECK(store->add_objects(inc.id, names) == 45000);
}
