// What only the PostgreSQL store does: URLs without passwords in errors,
// migrations under a lock when several processes open at once, several
// managers sharing one database opening each incident once, reconnecting.
// The contract every store keeps is in store_suite.h. Needs a server:
// SEVWATCH_TEST_PG_URL (scripts/test.sh starts one), else skipped with a warning.
#include "triage/pg_store.h"

#include <thread>

#include "tests/test_support.h"
#include "tests/triage/pg_test_db.h"
#include "tests/triage/store_test_support.h"
#include "tests/triage/triage_fixtures.h"
#include "triage/incident_manager.h"

using namespace sevwatch;
using testing::PgTestDb;
using triage::Incident;
using triage::IncidentManager;
using triage::IncidentStore;
using triage::PgStore;

TEST_CASE("pg store: URLs are shown without their password", "[store][pg]") {
  CHECK(PgStore::redact_url("postgresql://alice:s3cret@db.example:5432/sevwatch") ==
        "postgresql://alice:***@db.example:5432/sevwatch");
  CHECK(PgStore::redact_url("postgres://alice:p%40ss@db/x?sslmode=require") ==
        "postgres://alice:***@db/x?sslmode=require");
  CHECK(PgStore::redact_url("postgresql://alice@db/x?password=s3cret&sslmode=require") ==
        "postgresql://alice@db/x?password=***&sslmode=require");
  CHECK(PgStore::redact_url("postgresql://db/x?sslmode=require&PASSWORD=s3cret") ==
        "postgresql://db/x?sslmode=require&PASSWORD=***");
  // A raw '/' or '@' in the password still stays out.
  CHECK(PgStore::redact_url("postgresql://alice:a/b@c@db/x") == "postgresql://alice:***@db/x");
  CHECK(PgStore::redact_url("postgresql://db:5432/x") == "postgresql://db:5432/x");
  CHECK(PgStore::redact_url("postgresql://alice@db/x") == "postgresql://alice@db/x");
}

TEST_CASE("pg store: a failed open names the URL, without the password, on one line",
          "[store][pg]") {
  // Nothing listens on port 1.
  std::string error;
  auto s = IncidentStore::open(
      "postgresql://alice:hunter2secret@127.0.0.1:1/sevwatch?connect_timeout=2&password=other",
      error);
  CHECK_FALSE(s);
  INFO(error);
  CHECK(error.find("postgresql://alice:***@127.0.0.1:1/sevwatch?connect_timeout=2&password=***: "
                   "cannot connect: ") == 0);
  CHECK(error.find("hunter2") == std::string::npos);
  CHECK(error.find("other") == std::string::npos);
  CHECK(error.find('\n') == std::string::npos);

  error.clear();
  CHECK_FALSE(IncidentStore::open("postgresql://alice:pw@127.0.0.1:1/x?nonsense=1", error));
  CHECK(error.find("postgresql://alice:***@127.0.0.1:1/x?nonsense=1: ") == 0);
}

TEST_CASE("pg store: wrong credentials and a missing database are errors naming the URL",
          "[store][pg]") {
  const auto base = testing::pg_test_url();
  if (!base) return;
  std::string error;
  const std::string url = *base + (base->find('?') == std::string::npos ? "?" : "&");
  CHECK_FALSE(IncidentStore::open(url + "dbname=no_such_db_here", error));
  CHECK(error.find("cannot connect") != std::string::npos);
  CHECK(error.find("no_such_db_here") != std::string::npos);
  CHECK(error.find('\n') == std::string::npos);
}

TEST_CASE("pg store: migrations are applied once, also when processes open at once",
          "[store][pg]") {
  const auto base = testing::pg_test_url();
  if (!base) return;
  PgTestDb db(*base);
  constexpr int kOpeners = 4;
  std::vector<std::string> errors(kOpeners);
  std::vector<int> versions(kOpeners, -1);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kOpeners; ++i) {
      threads.emplace_back([&, i] {
        try {
          PgStore s(db.url());
          versions[i] = s.schema_version();
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  for (int i = 0; i < kOpeners; ++i) {
    INFO(errors[i]);
    CHECK(versions[i] == PgStore::latest_schema_version());
  }
  CHECK(db.query("SELECT COUNT(*) || '/' || MAX(version) FROM schema_version") ==
        fmt::format("{0}/{0}", PgStore::latest_schema_version()));
  // A database from a newer build is refused.
  db.query("INSERT INTO schema_version VALUES (999, 0)");
  try {
    PgStore s(db.url());
    FAIL("opened a database with a newer schema");
  } catch (const triage::StoreError& e) {
    CHECK(std::string(e.what()).find("schema version 999 is newer") != std::string::npos);
  }
}

TEST_CASE("pg store: a NUL byte in a name is stored as U+FFFD, not an error", "[store][pg]") {
  const auto base = testing::pg_test_url();
  if (!base) return;
  PgTestDb db(*base);
  PgStore store(db.url());
  Incident inc = testing::sample_incident(std::string("k\0ey", 4));
  store.insert(inc);
  CHECK(store.add_objects(inc.id, {std::string("a\0b", 3)}) == 1);
  auto got = store.get(inc.id, true);
  REQUIRE(got);
  CHECK(got->dedup_key ==
        "k\xEF\xBF\xBD"
        "ey");
  CHECK(got->object_names == std::vector<std::string>{"a\xEF\xBF\xBD"
                                                      "b"});
}

TEST_CASE("pg store: a lost connection is re-established between transactions", "[store][pg]") {
  const auto base = testing::pg_test_url();
  if (!base) return;
  PgTestDb db(*base);
  PgStore store(db.url() + "&application_name=sevwatch_reconnect_test");
  Incident inc = testing::sample_incident("k");
  store.insert(inc);
  db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
      "'sevwatch_reconnect_test'");
  // The first statement after the loss may fail; the store then reconnects.
  std::size_t n = 0;
  for (int attempt = 0; attempt < 2 && n == 0; ++attempt) {
    try {
      n = store.list(std::nullopt).size();
    } catch (const triage::StoreError& e) {
      CHECK(std::string(e.what()).find("postgresql://") == 0);
    }
  }
  CHECK(n == 1);
  store.begin();
  store.add_objects(inc.id, {"x"});
  store.commit();
  CHECK(store.get(inc.id, true)->object_names.size() == 1);
}

TEST_CASE("pg store: managers in several processes open each incident exactly once",
          "[store][pg][concurrency]") {
  const auto base = testing::pg_test_url();
  if (!base) return;
  PgTestDb db(*base);
  { PgStore migrate(db.url()); }
  auto rubric = triage::SevRubric::builtin_default();
  constexpr int kWriters = 4;
  constexpr int kKeys = 6;
  // Every writer gets the same findings for kKeys incidents, each writer in
  // its own order, flushing every few findings (several keys per flush).
  auto findings_for = [](int writer) {
    std::vector<rules::Finding> out;
    for (int dbs = 1; dbs <= 12; ++dbs) {
      for (int k = 0; k < kKeys; ++k) {
        auto f = testing::seed_finding(dbs);
        f.group_key = fmt::format("grant-broad-audience:key{}", (k + writer) % kKeys);
        out.push_back(std::move(f));
      }
    }
    if (writer % 2 == 1) std::reverse(out.begin(), out.end());
    return out;
  };
  std::vector<triage::TriageStats> stats(kWriters);
  std::vector<std::string> errors(kWriters);
  {
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        try {
          PgStore store(db.url());  // a connection of its own, as a process would have
          IncidentManager m(store, *rubric, [] { return std::int64_t{1'787'300'000'000}; });
          int n = 0;
          for (const auto& f : findings_for(w)) {
            m.on_finding(f);
            if (++n % 5 == 0) m.flush();
          }
          m.flush();
          stats[w] = m.stats();
        } catch (const std::exception& e) {
          errors[w] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  std::uint64_t opened = 0;
  for (int w = 0; w < kWriters; ++w) {
    INFO("writer " << w << ": " << errors[w]);
    CHECK(errors[w].empty());
    opened += stats[w].incidents_opened;
  }
  CHECK(opened == kKeys);
  PgStore store(db.url());
  const auto all = store.list(std::nullopt);
  REQUIRE(all.size() == kKeys);
  for (const auto& summary : all) {
    auto inc = store.get(summary.id, true);
    REQUIRE(inc);
    INFO(inc->dedup_key);
    CHECK(inc->objects == 12 * 500);
    CHECK(inc->object_names.size() == 12 * 500);
    CHECK(inc->events == 12);
    long opened_entries = 0;
    for (const auto& e : inc->timeline) opened_entries += e.kind == "opened" ? 1 : 0;
    CHECK(opened_entries == 1);
    CHECK(inc->readers.size() == 1);
  }
  CHECK(db.query("SELECT COUNT(*) FROM outbox_events WHERE event = 'opened'") ==
        std::to_string(kKeys));
}

namespace {

// A store that, once, does not see an incident that exists: what a manager
// sees when another process opens the incident between its lookup and its
// insert (without the key lock PgStore takes).
class BlindOnceStore final : public IncidentStore {
 public:
  explicit BlindOnceStore(IncidentStore& s) : s_(s) {}
  int blind = 2;  // lookups still to hide (on_finding's, then flush's)

  void begin() override { s_.begin(); }
  void commit() override { s_.commit(); }
  void rollback() override { s_.rollback(); }
  std::optional<Incident> find_by_dedup_key(const std::string& key) override {
    auto found = s_.find_by_dedup_key(key);
    if (found && blind > 0) {
      --blind;
      return std::nullopt;
    }
    return found;
  }
  void insert(Incident& incident) override { s_.insert(incident); }
  void update(const Incident& incident) override { s_.update(incident); }
  std::uint64_t add_objects(std::int64_t id, const std::vector<std::string>& objects) override {
    return s_.add_objects(id, objects);
  }
  std::size_t add_timeline(std::int64_t id,
                           const std::vector<triage::TimelineEntry>& entries) override {
    return s_.add_timeline(id, entries);
  }
  void put_readers(std::int64_t id, const std::vector<triage::Reader>& readers) override {
    s_.put_readers(id, readers);
  }
  std::vector<triage::Reader> get_readers(std::int64_t id) override { return s_.get_readers(id); }
  std::vector<Incident> list(std::optional<triage::Status> status) override {
    return s_.list(status);
  }
  std::optional<Incident> get(std::int64_t id, bool full) override { return s_.get(id, full); }
  int schema_version() override { return s_.schema_version(); }
  bool add_outbox_event(triage::OutboxEvent& event) override { return s_.add_outbox_event(event); }

 private:
  IncidentStore& s_;
};

}  // namespace

TEST_CASE("pg store: a manager whose insert meets an existing incident updates it",
          "[store][pg][manager]") {
  const auto base = testing::pg_test_url();
  if (!base) return;
  PgTestDb db(*base);
  PgStore store(db.url());
  auto rubric = triage::SevRubric::builtin_default();
  {
    IncidentManager first(store, *rubric, [] { return std::int64_t{1'000}; });
    first.on_finding(testing::seed_finding(1));
    first.flush();
    CHECK(first.stats().incidents_opened == 1);
  }
  BlindOnceStore blind(store);
  IncidentManager second(blind, *rubric, [] { return std::int64_t{2'000}; });
  second.on_finding(testing::seed_finding(2));
  second.flush();
  CHECK(blind.blind == 0);
  CHECK(second.stats().incidents_opened == 0);
  CHECK(second.stats().incidents_updated == 1);
  const auto all = store.list(std::nullopt);
  REQUIRE(all.size() == 1);
  auto inc = store.get(all[0].id, true);
  REQUIRE(inc);
  CHECK(inc->detected_at_ms == 1'000);  // the first opener's
  CHECK(inc->objects == 1000);
  CHECK(inc->events == 2);
  long opened_entries = 0;
  for (const auto& e : inc->timeline) opened_entries += e.kind == "opened" ? 1 : 0;
  CHECK(opened_entries == 1);
  CHECK(db.query("SELECT COUNT(*) FROM outbox_events WHERE event = 'opened'") == "1");
}
