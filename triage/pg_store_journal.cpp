// The PostgreSQL store's rule engine state (migration 5): the grant journal
// and named values, the same tables and meaning as in the SQLite store.
#include <algorithm>

#include "triage/pg_store.h"
#include "triage/pg_store_detail.h"

namespace sevwatch::triage {

using namespace pg;  // NOLINT: the parameter helpers

void PgStore::append_journal(const std::string& name, std::vector<JournalRow>& rows) {
  // Bounded statements, in the caller's transaction or in one of its own.
  constexpr std::size_t kChunk = 5000;
  const bool own_tx = !tx_open_ && rows.size() > kChunk;
  if (own_tx) begin();
  try {
    append_chunks(name, rows, kChunk);
    if (own_tx) commit();
  } catch (...) {
    if (own_tx) rollback();
    throw;
  }
}

void PgStore::append_chunks(const std::string& name, std::vector<JournalRow>& rows,
                            std::size_t chunk) {
  for (std::size_t first = 0; first < rows.size(); first += chunk) {
    const std::size_t last = std::min(rows.size(), first + chunk);
    std::vector<std::int64_t> at;
    std::vector<std::string> event;
    at.reserve(last - first);
    event.reserve(last - first);
    for (std::size_t i = first; i < last; ++i) {
      at.push_back(rows[i].at_ms);
      event.push_back(rows[i].event);
    }
    // The identity is drawn in the order the rows come out of the sorted
    // SELECT, so seq follows the order given; RETURNING gives them back.
    auto r = run(
        "INSERT INTO grant_journal (journal, at, event) SELECT $1::text, j.at, j.event FROM "
        "unnest($2::bigint[], $3::text[]) WITH ORDINALITY AS j(at, event, n) ORDER BY j.n "
        "RETURNING seq",
        {no_nul(name), number_array(at), text_array(event.data(), event.data() + event.size())});
    std::vector<std::int64_t> seqs;
    seqs.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) seqs.push_back(r.i64(i, 0));
    std::sort(seqs.begin(), seqs.end());
    if (seqs.size() != last - first) {
      throw StoreError(fmt::format("{}: append_journal: {} rows written of {}", name_, seqs.size(),
                                   last - first));
    }
    for (std::size_t i = first; i < last; ++i) rows[i].seq = seqs[i - first];
  }
}

std::vector<JournalRow> PgStore::load_journal(const std::string& name, std::int64_t after_seq,
                                              std::size_t limit) {
  auto r =
      run("SELECT seq, at, event FROM grant_journal WHERE journal = $1::text AND seq > $2::bigint "
          "ORDER BY seq LIMIT $3::bigint",
          {no_nul(name), num(after_seq), num(static_cast<std::uint64_t>(limit))});
  std::vector<JournalRow> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    out.push_back(JournalRow{r.i64(i, 0), r.i64(i, 1), r.text(i, 2)});
  return out;
}

std::uint64_t PgStore::compact_journal(const std::string& name,
                                       const std::vector<std::int64_t>& remove,
                                       const std::vector<JournalRow>& rewrite) {
  constexpr std::size_t kChunk = 5000;  // values per statement
  const bool own_tx = !tx_open_ && (!remove.empty() || !rewrite.empty());
  if (own_tx) begin();
  std::uint64_t removed = 0;
  try {
    for (std::size_t first = 0; first < remove.size(); first += kChunk) {
      const std::vector<std::int64_t> seqs(
          remove.begin() + static_cast<std::ptrdiff_t>(first),
          remove.begin() + static_cast<std::ptrdiff_t>(std::min(remove.size(), first + kChunk)));
      removed += run("DELETE FROM grant_journal WHERE journal = $1::text AND seq = "
                     "ANY($2::bigint[])",
                     {no_nul(name), number_array(seqs)})
                     .affected();
    }
    for (std::size_t first = 0; first < rewrite.size(); first += kChunk) {
      const std::size_t last = std::min(rewrite.size(), first + kChunk);
      std::vector<std::int64_t> seqs;
      std::vector<std::string> events;
      for (std::size_t i = first; i < last; ++i) {
        seqs.push_back(rewrite[i].seq);
        events.push_back(rewrite[i].event);
      }
      run("UPDATE grant_journal AS g SET event = u.event FROM unnest($2::bigint[], $3::text[]) "
          "AS u(seq, event) WHERE g.journal = $1::text AND g.seq = u.seq",
          {no_nul(name), number_array(seqs),
           text_array(events.data(), events.data() + events.size())});
    }
    if (own_tx) commit();
  } catch (...) {
    if (own_tx) rollback();
    throw;
  }
  return removed;
}

void PgStore::put_state(const std::string& key, const std::string& value, std::int64_t now_ms) {
  run("INSERT INTO engine_state (key, value, updated_at) VALUES ($1::text, $2::text, $3::bigint) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      {no_nul(key), no_nul(value), num(now_ms)});
}

std::optional<std::string> PgStore::get_state(const std::string& key) {
  auto r = run("SELECT value FROM engine_state WHERE key = $1::text", {no_nul(key)});
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

}  // namespace sevwatch::triage
