// The rule engine's state in the store (migration 5), on SQLite and, when
// SEVWATCH_TEST_PG_URL names a server, PostgreSQL: the grant journal keeps
// rows in order per journal name, inside the caller's transaction (a rollback
// leaves nothing), and pages; engine_state values are replaced by key; a
// compaction deletes and rewrites rows of one journal, atomically.
#include <catch2/catch.hpp>

#include "tests/triage/store_test_support.h"

namespace {

using sevwatch::triage::JournalRow;

std::vector<JournalRow> rows(int from, int count) {
  std::vector<JournalRow> out;
  for (int i = from; i < from + count; ++i) {
    out.push_back(JournalRow{0, 1'787'220'000'000 + i, fmt::format("1|event {}|a%7Cb", i)});
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("store: grant journal append and load, in order, per name", "[store][journal]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  TestType b;
  if (!b.available()) return;
  auto store = sevwatch::testing::open_store_at(b.url());
  CHECK(store->schema_version() >= 5);
  CHECK(store->load_journal("run", 0, 100).empty());

  auto first = rows(0, 3);
  store->begin();
  store->append_journal("run", first);
  store->commit();
  CHECK(first[0].seq > 0);
  CHECK(first[0].seq < first[1].seq);
  CHECK(first[1].seq < first[2].seq);

  auto other = rows(100, 2);
  store->append_journal("other", other);  // no transaction: its own
  auto second = rows(3, 7000);            // more than one PostgreSQL statement
  store->append_journal("run", second);

  // A rolled back append leaves nothing.
  auto lost = rows(9000, 2);
  store->begin();
  store->append_journal("run", lost);
  store->rollback();

  std::vector<JournalRow> all;
  std::int64_t after = 0;
  int pages = 0;
  for (;;) {
    auto page = store->load_journal("run", after, 1000);
    if (page.empty()) break;
    ++pages;
    after = page.back().seq;
    all.insert(all.end(), page.begin(), page.end());
  }
  CHECK(pages == 8);
  REQUIRE(all.size() == 7003);
  for (std::size_t i = 0; i < all.size(); ++i) {
    INFO(i);
    REQUIRE(all[i].event == fmt::format("1|event {}|a%7Cb", i));
    REQUIRE(all[i].at_ms == 1'787'220'000'000 + static_cast<std::int64_t>(i));
    if (i > 0) REQUIRE(all[i].seq > all[i - 1].seq);
  }
  CHECK(all[3].seq == second[0].seq);
  const auto others = store->load_journal("other", 0, 100);
  REQUIRE(others.size() == 2);
  CHECK(others[1].event == "1|event 101|a%7Cb");

  // Kept across reopen.
  store.reset();
  store = sevwatch::testing::open_store_at(b.url());
  CHECK(store->load_journal("run", all[7000].seq, 100).size() == 2);
}

TEMPLATE_TEST_CASE("store: engine state values are replaced by key", "[store][journal]",
                   sevwatch::testing::SqliteBackend, sevwatch::testing::PgBackend) {
  TestType b;
  if (!b.available()) return;
  auto store = sevwatch::testing::open_store_at(b.url());
  CHECK_FALSE(store->get_state("baselines/run"));
  store->put_state("baselines/run", "sevwatch-baselines 1\nrule r\nsince 5\n", 1);
  store->begin();
  store->put_state("baselines/run", "sevwatch-baselines 1\n'quoted'\t\"x\"\n", 2);
  store->put_state("baselines/other", "", 2);
  store->commit();
  store->begin();
  store->put_state("baselines/run", "rolled back", 3);
  store->rollback();
  CHECK(store->get_state("baselines/run") ==
        std::optional<std::string>("sevwatch-baselines 1\n'quoted'\t\"x\"\n"));
  CHECK(store->get_state("baselines/other") == std::optional<std::string>(""));
}

TEMPLATE_TEST_CASE("store: a journal compaction deletes and rewrites rows of one journal",
                   "[store][journal]", sevwatch::testing::SqliteBackend,
                   sevwatch::testing::PgBackend) {
  TestType b;
  if (!b.available()) return;
  auto store = sevwatch::testing::open_store_at(b.url());
  auto run = rows(0, 6);
  auto other = rows(100, 2);
  store->append_journal("run", run);
  store->append_journal("other", other);
  const std::vector<std::int64_t> remove{run[1].seq, run[3].seq, other[0].seq};
  const std::vector<JournalRow> rewrite{JournalRow{run[2].seq, 0, "M|c1.db1.t1,"},
                                        JournalRow{other[1].seq, 0, "M|not,this,"}};

  // Rolled back with the caller's transaction: nothing changes.
  store->begin();
  CHECK(store->compact_journal("run", remove, rewrite) == 2);
  store->rollback();
  CHECK(store->load_journal("run", 0, 100).size() == 6);

  CHECK(store->compact_journal("run", remove, rewrite) == 2);  // a transaction of its own
  const auto left = store->load_journal("run", 0, 100);
  REQUIRE(left.size() == 4);
  CHECK(left[0].event == run[0].event);
  CHECK(left[1].seq == run[2].seq);
  CHECK(left[1].event == "M|c1.db1.t1,");
  CHECK(left[1].at_ms == run[2].at_ms);  // kept
  CHECK(left[2].event == run[4].event);
  CHECK(left[3].event == run[5].event);
  // Rows of another journal are never touched, even when named.
  const auto others = store->load_journal("other", 0, 100);
  REQUIRE(others.size() == 2);
  CHECK(others[1].event == other[1].event);
  // New rows still come after the kept ones.
  auto more = rows(6, 1);
  store->append_journal("run", more);
  CHECK(more[0].seq > run[5].seq);
  CHECK(store->compact_journal("run", {}, {}) == 0);
}
