// The SQLite store's rule engine state (migration 5): the grant journal and
// named values, for `sevwatch run` (app/live_engine.h).
#include <sqlite3.h>

#include "triage/sqlite_store.h"
#include "triage/sqlite_store_detail.h"

namespace sevwatch::triage {

void SqliteStore::append_journal(const std::string& name, std::vector<JournalRow>& rows) {
  const bool own_tx = !in_transaction() && !rows.empty();
  if (own_tx) begin();
  try {
    for (auto& r : rows) {
      prepare("INSERT INTO grant_journal (journal, at, event) VALUES (?1, ?2, ?3)")
          .bind(1, name)
          .bind(2, r.at_ms)
          .bind(3, r.event)
          .run();
      r.seq = sqlite3_last_insert_rowid(db_);
    }
    if (own_tx) commit();
  } catch (...) {
    if (own_tx) rollback();
    throw;
  }
}

std::vector<JournalRow> SqliteStore::load_journal(const std::string& name, std::int64_t after_seq,
                                                  std::size_t limit) {
  std::vector<JournalRow> out;
  auto s = prepare(
      "SELECT seq, at, event FROM grant_journal WHERE journal = ?1 AND seq > ?2 ORDER BY seq "
      "LIMIT ?3");
  s.bind(1, name).bind(2, after_seq).bind(3, static_cast<std::uint64_t>(limit));
  while (s.step()) out.push_back(JournalRow{s.i64(0), s.i64(1), s.text(2)});
  return out;
}

std::uint64_t SqliteStore::compact_journal(const std::string& name,
                                           const std::vector<std::int64_t>& remove,
                                           const std::vector<JournalRow>& rewrite) {
  const bool own_tx = !in_transaction() && (!remove.empty() || !rewrite.empty());
  if (own_tx) begin();
  std::uint64_t removed = 0;
  try {
    for (const auto seq : remove) {
      prepare("DELETE FROM grant_journal WHERE journal = ?1 AND seq = ?2")
          .bind(1, name)
          .bind(2, seq)
          .run();
      removed += static_cast<std::uint64_t>(sqlite3_changes(db_));
    }
    for (const auto& r : rewrite) {
      prepare("UPDATE grant_journal SET event = ?3 WHERE journal = ?1 AND seq = ?2")
          .bind(1, name)
          .bind(2, r.seq)
          .bind(3, r.event)
          .run();
    }
    if (own_tx) commit();
  } catch (...) {
    if (own_tx) rollback();
    throw;
  }
  return removed;
}

void SqliteStore::put_state(const std::string& key, const std::string& value, std::int64_t now_ms) {
  prepare("INSERT OR REPLACE INTO engine_state (key, value, updated_at) VALUES (?1, ?2, ?3)")
      .bind(1, key)
      .bind(2, value)
      .bind(3, now_ms)
      .run();
}

std::optional<std::string> SqliteStore::get_state(const std::string& key) {
  auto s = prepare("SELECT value FROM engine_state WHERE key = ?1");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

}  // namespace sevwatch::triage
