// What only the SQLite store does: constraint errors, WAL, the migration
// table, URLs. The contract every store keeps is in store_suite.h.
#include "triage/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include "tests/test_support.h"
#include "tests/triage/store_test_support.h"
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
  return testing::sample_incident(key);
}

std::unique_ptr<IncidentStore> open_store(const std::filesystem::path& p) {
  std::string error;
  auto s = IncidentStore::open("sqlite:" + p.string(), error);
  INFO(error);
  REQUIRE(s);
  return s;
}

}  // namespace

TEST_CASE("sqlite store: dedup keys are unique", "[store][sqlite]") {
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

TEST_CASE("sqlite store: schema version, WAL, and data kept across reopen", "[store][sqlite]") {
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

TEST_CASE("sqlite store: open by URL", "[store][sqlite]") {
  testing::TempDir dir("store");
  std::string error;
  auto bare = IncidentStore::open((dir.path() / "bare.db").string(), error);
  CHECK(bare);
  CHECK(std::filesystem::exists(dir.path() / "bare.db"));

  // postgresql:// and postgres:// URLs go to the PostgreSQL store (nothing listens on port 1).
  for (const std::string url : {"postgresql://127.0.0.1:1/sevwatch", "postgres://127.0.0.1:1/x"}) {
    error.clear();
    CHECK_FALSE(IncidentStore::open(url + "?connect_timeout=2", error));
    CHECK(error.find(url + "?connect_timeout=2: cannot connect: ") == 0);
    CHECK_FALSE(std::filesystem::exists(url));
  }

  error.clear();
  auto bad = IncidentStore::open("sqlite:/nonexistent-dir/x/i.db", error);
  CHECK_FALSE(bad);
  CHECK(error.find("sqlite:/nonexistent-dir/x/i.db") == 0);
  CHECK(error.find('\n') == std::string::npos);

  error.clear();
  CHECK_FALSE(IncidentStore::open("sqlite:", error));
  CHECK_FALSE(error.empty());
}
