// The incident store contract, run against every store: SQLite always,
// PostgreSQL when SEVWATCH_TEST_PG_URL names a server (else each PostgreSQL
// case is skipped with a warning). Each case gets a fresh database (a new
// SQLite file, or a new PostgreSQL schema). Included by store_suite_test.cpp
// only; store-specific cases are in sqlite_store_test.cpp and pg_store_test.cpp.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "tests/triage/store_test_support.h"
#include "tests/triage/triage_fixtures.h"
#include "triage/incident_manager.h"

// Opens a store for one test case, or returns (skipping it) when the backend is unavailable.
#define STORE_SUITE_OPEN(backend, store) \
  TestType backend;                      \
  if (!backend.available()) return;      \
  auto store = sevwatch::testing::open_store_at(backend.url())

namespace sevwatch::testing::suite {
using triage::Incident;
using triage::Reader;
using triage::Status;
using triage::TimelineEntry;
}  // namespace sevwatch::testing::suite

TEMPLATE_TEST_CASE("store: insert, get, find, update round trip", "[store]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  STORE_SUITE_OPEN(b, store);
  Incident inc = sevwatch::testing::sample_incident("k1");
  inc.contained_at_ms = 1'787'400'000'000;
  store->insert(inc);
  CHECK(inc.id == 1);

  auto got = store->get(inc.id, false);
  REQUIRE(got);
  CHECK(got->dedup_key == "k1");
  CHECK(got->sev == 2);
  CHECK(got->rubric_sev == 2);
  CHECK(got->status == Status::open);
  CHECK(got->rule == inc.rule);
  CHECK(got->title == inc.title);
  CHECK(got->runbook == inc.runbook);
  CHECK(got->opened_at_ms == inc.opened_at_ms);
  CHECK(got->detected_at_ms == inc.detected_at_ms);
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
  found->objects = 45000;
  store->update(*found);
  auto again = store->get(inc.id, false);
  REQUIRE(again);
  CHECK(again->sev == 1);
  CHECK(again->status == Status::acknowledged);
  CHECK_FALSE(again->audience);
  CHECK(again->outsiders == std::vector<std::string>{"dana", "eli"});
  CHECK(again->outsider_reads == 12);
  CHECK(again->evidence_class == "improper");
  CHECK(again->objects == 45000);

  CHECK_FALSE(store->get(999, true));
  Incident ghost = sevwatch::testing::sample_incident("ghost");
  ghost.id = 999;
  try {
    store->update(ghost);
    FAIL("updating a missing incident succeeded");
  } catch (const sevwatch::triage::StoreError& e) {
    const std::string msg = e.what();
    CHECK(msg.find(b.prefix()) == 0);
    CHECK(msg.find('\n') == std::string::npos);
  }
}

TEMPLATE_TEST_CASE("store: a dedup key never gets a second incident", "[store]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  STORE_SUITE_OPEN(b, store);
  Incident a = sevwatch::testing::sample_incident("same");
  store->insert(a);
  Incident second = sevwatch::testing::sample_incident("same");
  second.sev = 0;
  try {
    // PostgreSQL (shared by several processes): the existing incident's id.
    store->insert(second);
    CHECK(second.id == a.id);
  } catch (const sevwatch::triage::StoreError& e) {
    // SQLite (one writer at a time): a constraint error naming the store.
    const std::string msg = e.what();
    CHECK(msg.find(b.prefix()) == 0);
    CHECK(msg.find('\n') == std::string::npos);
  }
  const auto all = store->list(std::nullopt);
  REQUIRE(all.size() == 1);
  CHECK(all[0].sev == 2);
}

TEMPLATE_TEST_CASE("store: list newest first, filtered by status", "[store]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  STORE_SUITE_OPEN(b, store);
  for (int i = 0; i < 3; ++i) {
    Incident inc = sevwatch::testing::sample_incident("k" + std::to_string(i));
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

TEMPLATE_TEST_CASE("store: objects are deduplicated", "[store]", sevwatch::testing::SqliteBackend,
                   sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  STORE_SUITE_OPEN(b, store);
  Incident inc = sevwatch::testing::sample_incident("k");
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

TEMPLATE_TEST_CASE("store: timeline entries are deduplicated and ordered by time", "[store]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  STORE_SUITE_OPEN(b, store);
  Incident inc = sevwatch::testing::sample_incident("k");
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
  // Equal times keep the order they were added in; a repeat within one call counts once.
  CHECK(store->add_timeline(inc.id, {{1500, "note", "bob", "b"},
                                     {1500, "note", "bob", "a"},
                                     {1500, "note", "bob", "b"}}) == 2);
  CHECK(store->add_timeline(inc.id, {}) == 0);
  auto full = store->get(inc.id, true);
  REQUIRE(full);
  REQUIRE(full->timeline.size() == 5);
  CHECK(full->timeline[0].kind == "opened");
  CHECK(full->timeline[1].text == "looking");
  CHECK(full->timeline[1].by == "alice");
  CHECK(full->timeline[2].text == "b");
  CHECK(full->timeline[3].text == "a");
  CHECK(full->timeline[4].kind == "escalated");
  CHECK(full->timeline[4].text == "SEV 2 → SEV 1");
}

TEMPLATE_TEST_CASE("store: readers are replaced by principal", "[store]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  STORE_SUITE_OPEN(b, store);
  Incident inc = sevwatch::testing::sample_incident("k");
  store->insert(inc);
  store->put_readers(inc.id, {{"eli", 3, 2, true, 100, 200}, {"dana", 5, 5, true, 50, 300}});
  store->put_readers(inc.id, {{"eli", 7, 4, false, 100, 400}});
  store->put_readers(inc.id, {});
  const auto readers = store->get_readers(inc.id);
  REQUIRE(readers.size() == 2);
  CHECK(readers[0].principal == "dana");
  CHECK(readers[0].outsider);
  CHECK(readers[0].first_ms == 50);
  CHECK(readers[1].principal == "eli");
  CHECK(readers[1].reads == 7);
  CHECK(readers[1].objects == 4);
  CHECK_FALSE(readers[1].outsider);
  CHECK(readers[1].last_ms == 400);
  auto full = store->get(inc.id, true);
  REQUIRE(full);
  CHECK(full->readers.size() == 2);
}

TEMPLATE_TEST_CASE("store: text is stored as given, quotes and all", "[store]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  STORE_SUITE_OPEN(b, store);
  const std::vector<std::string> odd = {
      "",           "NULL",      "a\"b", "c\\d",     "{x,y}", " spaced ",
      "it's",       "ünïcödé",   "a,b",  "\\\"\\\\", "{\"}",  "x'); DROP TABLE incidents;--",
      "line\nnext", "tab\there", "$1",   "[]"};
  Incident inc = sevwatch::testing::sample_incident("key with 'quotes' and \"dq\" \\ {}");
  inc.grantees = odd;
  inc.audience = "it's";
  store->insert(inc);
  CHECK(store->add_objects(inc.id, odd) == odd.size());
  std::vector<TimelineEntry> entries;
  std::vector<Reader> readers;
  for (std::size_t i = 0; i < odd.size(); ++i) {
    entries.push_back(TimelineEntry{static_cast<std::int64_t>(i), odd[i], odd[i], odd[i]});
    readers.push_back(Reader{odd[i] + "!", i, i, i % 2 == 0, 1, 2});
  }
  CHECK(store->add_timeline(inc.id, entries) == odd.size());
  store->put_readers(inc.id, readers);
  auto found = store->find_by_dedup_key(inc.dedup_key);
  REQUIRE(found);
  auto full = store->get(found->id, true);
  REQUIRE(full);
  CHECK(full->grantees == odd);
  CHECK(full->audience == std::optional<std::string>("it's"));
  auto sorted = odd;
  std::sort(sorted.begin(), sorted.end());
  CHECK(full->object_names == sorted);
  REQUIRE(full->timeline.size() == odd.size());
  for (std::size_t i = 0; i < odd.size(); ++i) {
    CHECK(full->timeline[i].kind == odd[i]);
    CHECK(full->timeline[i].by == odd[i]);
    CHECK(full->timeline[i].text == odd[i]);
  }
  REQUIRE(full->readers.size() == odd.size());
  for (std::size_t i = 1; i < full->readers.size(); ++i) {
    CHECK(full->readers[i - 1].principal < full->readers[i].principal);  // byte order
  }
  // The tables are all still there.
  CHECK(store->list(std::nullopt).size() == 1);
}

TEMPLATE_TEST_CASE("store: schema version, and data kept across reopen", "[store]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  TestType b;
  if (!b.available()) return;
  std::int64_t id = 0;
  {
    auto store = sevwatch::testing::open_store_at(b.url());
    CHECK(store->schema_version() == TestType::latest());
    CHECK(store->schema_version() >= 1);
    Incident inc = sevwatch::testing::sample_incident("persist");
    store->begin();
    store->insert(inc);
    store->add_objects(inc.id, {"a", "b"});
    store->add_timeline(inc.id, {{1, "opened", "sevwatch", "x"}});
    store->put_readers(inc.id, {{"ann", 1, 1, false, 1, 1}});
    store->commit();
    id = inc.id;
    // A rolled-back transaction leaves nothing.
    Incident gone = sevwatch::testing::sample_incident("gone");
    store->begin();
    store->insert(gone);
    store->add_objects(inc.id, {"c"});
    store->rollback();
    store->rollback();  // a second rollback is harmless
    CHECK_FALSE(store->find_by_dedup_key("gone"));
  }
  {
    auto store = sevwatch::testing::open_store_at(b.url());
    CHECK(store->schema_version() == TestType::latest());
    auto got = store->get(id, true);
    REQUIRE(got);
    CHECK(got->dedup_key == "persist");
    CHECK(got->object_names == std::vector<std::string>{"a", "b"});
    CHECK(got->timeline.size() == 1);
    CHECK(got->readers.size() == 1);
    CHECK_FALSE(store->find_by_dedup_key("gone"));
  }
}

TEMPLATE_TEST_CASE("store: the manager opens, escalates and replays through the store",
                   "[store][manager]", sevwatch::testing::SqliteBackend,
                   sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  using sevwatch::testing::kTen;
  STORE_SUITE_OPEN(b, store);
  auto rubric = sevwatch::triage::SevRubric::builtin_default();
  std::int64_t now = 1'787'300'000'000;
  auto feed = [&] {
    sevwatch::triage::IncidentManager m(*store, *rubric, [&] { return now; });
    for (int dbs = 1; dbs <= 90; ++dbs) {
      m.on_finding(sevwatch::testing::seed_finding(dbs));
      if (dbs % 30 == 0) m.flush();
    }
    m.on_finding(sevwatch::testing::outsider_finding());
    m.flush();
    return m.stats();
  };
  const auto first = feed();
  CHECK(first.incidents_opened == 1);
  const auto all = store->list(std::nullopt);
  REQUIRE(all.size() == 1);
  auto inc = store->get(all[0].id, true);
  REQUIRE(inc);
  CHECK(inc->objects == 45000);
  CHECK(inc->object_names.size() == 45000);
  CHECK(inc->sev == 1);
  CHECK(inc->opened_at_ms == kTen);
  CHECK(inc->outsiders == std::vector<std::string>{"dana", "eli", "fern"});
  CHECK(inc->readers.size() == 4);
  const auto timeline = inc->timeline.size();

  // Replaying the same findings changes nothing.
  now += 1000;
  const auto second = feed();
  CHECK(second.incidents_opened == 0);
  CHECK(second.incidents_updated == 0);
  auto again = store->get(all[0].id, true);
  REQUIRE(again);
  CHECK(again->timeline.size() == timeline);
  CHECK(again->updated_at_ms == inc->updated_at_ms);

  // Human acts go through the same store.
  std::string error;
  CHECK(sevwatch::triage::acknowledge(*store, inc->id, "alice", "looking", now, error));
  CHECK(sevwatch::triage::resolve(*store, inc->id, "alice", "revoked", now + 1, error));
  CHECK_FALSE(sevwatch::triage::resolve(*store, inc->id, "alice", "again", now + 2, error));
  CHECK(store->get(inc->id, false)->status == Status::resolved);
}

TEMPLATE_TEST_CASE("store: objects repeated across and within insert batches count once", "[store]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  STORE_SUITE_OPEN(b, store);
  Incident inc = sevwatch::testing::sample_incident("batches");
  store->insert(inc);
  CHECK(store->add_objects(inc.id, {"hive.db.t0007"}) == 1);
  // 1,201 distinct names, each given twice, spread so that some repeats fall
  // in the same many-row statement and some in another (SQLite inserts 500
  // rows to a statement), plus one already stored.
  std::vector<std::string> names, distinct;
  for (int i = 0; i < 1201; ++i) distinct.push_back(fmt::format("hive.db.t{:04}", i));
  for (int i = 0; i < 1201; ++i) names.push_back(distinct[(i * 7) % 1201]);
  for (int i = 0; i < 1201; ++i) names.push_back(distinct[(i * 13) % 1201]);
  CHECK(store->add_objects(inc.id, names) == 1201);
  auto full = store->get(inc.id, true);
  REQUIRE(full);
  CHECK(full->object_names == distinct);
}

TEMPLATE_TEST_CASE("store: add_objects of 45,000 names in one transaction is fast", "[store][perf]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  using namespace sevwatch::testing::suite;
  STORE_SUITE_OPEN(b, store);
  Incident inc = sevwatch::testing::sample_incident("big");
  store->insert(inc);
  const auto names = sevwatch::testing::seed_object_names();
  const auto t0 = std::chrono::steady_clock::now();
  store->begin();
  const auto n = store->add_objects(inc.id, names);
  store->commit();
  const auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  WARN(b.prefix() << " add_objects(45,000) + commit: " << ms << " ms");
  CHECK(n == 45000);
  CHECK(ms < 1500);  // target < 150 ms (SQLite), < 500 ms (PostgreSQL); generous for loaded CI
  // Adding them again adds nothing.
  CHECK(store->add_objects(inc.id, names) == 45000);
}
