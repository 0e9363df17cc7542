// The SQLite store's notification outbox, silences and source checkpoints
// (the incidents themselves are in sqlite_store.cpp).
#include <fmt/format.h>
#include <sqlite3.h>

#include "triage/sqlite_store.h"
#include "triage/sqlite_store_detail.h"

namespace sevwatch::triage {

// ---- Notification outbox and silences.

namespace {
constexpr const char* kEventColumns =
    "id, key, incident_id, event, sev, from_sev, \"by\", note, at, created_at, routed_at";
constexpr const char* kDeliveryColumns =
    "id, event_id, incident_id, receiver, key, dedup_key, action, digest, summary, body, state, "
    "attempts, next_at, last_error, silence_id, created_at, delivered_at";
constexpr const char* kSilenceColumns =
    "id, rule, sev_min, sev_max, object, created_by, comment, created_at, starts_at, ends_at, "
    "expired_by";

template <typename S>
OutboxEvent read_event(S& s) {
  OutboxEvent e;
  e.id = s.i64(0);
  e.key = s.text(1);
  e.incident_id = s.i64(2);
  e.event = s.text(3);
  e.sev = static_cast<int>(s.i64(4));
  if (auto f = s.opt_i64(5)) e.from_sev = static_cast<int>(*f);
  e.by = s.text(6);
  e.note = s.text(7);
  e.at_ms = s.i64(8);
  e.created_ms = s.i64(9);
  e.routed_ms = s.opt_i64(10);
  return e;
}

template <typename S>
Delivery read_delivery(S& s) {
  Delivery d;
  d.id = s.i64(0);
  d.event_id = s.i64(1);
  d.incident_id = s.i64(2);
  d.receiver = s.text(3);
  d.key = s.text(4);
  d.dedup_key = s.text(5);
  d.action = s.text(6);
  d.digest = s.i64(7) != 0;
  d.summary = s.text(8);
  d.body = s.text(9);
  d.state = parse_delivery_state(s.text(10)).value_or(DeliveryState::pending);
  d.attempts = static_cast<int>(s.i64(11));
  d.next_at_ms = s.i64(12);
  d.last_error = s.text(13);
  d.silence_id = s.opt_i64(14);
  d.created_ms = s.i64(15);
  d.delivered_ms = s.opt_i64(16);
  return d;
}

template <typename S>
Silence read_silence(S& s) {
  Silence x;
  x.id = s.i64(0);
  x.rule = s.text(1);
  x.sev_min = static_cast<int>(s.i64(2));
  x.sev_max = static_cast<int>(s.i64(3));
  x.object = s.text(4);
  x.created_by = s.text(5);
  x.comment = s.text(6);
  x.created_ms = s.i64(7);
  x.starts_ms = s.i64(8);
  x.ends_ms = s.i64(9);
  if (!s.is_null(10)) x.expired_by = s.text(10);
  return x;
}
}  // namespace

bool SqliteStore::add_outbox_event(OutboxEvent& e) {
  auto s = prepare(
      "INSERT OR IGNORE INTO outbox_events (key, incident_id, event, sev, from_sev, \"by\", note, "
      "at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  s.bind(1, e.key).bind(2, e.incident_id).bind(3, e.event).bind(4, e.sev);
  s.bind(5, e.from_sev ? std::optional<std::int64_t>(*e.from_sev) : std::nullopt);
  s.bind(6, e.by).bind(7, e.note).bind(8, e.at_ms).bind(9, e.created_ms);
  s.run();
  if (sqlite3_changes(db_) == 0) return false;
  e.id = sqlite3_last_insert_rowid(db_);
  return true;
}

std::vector<OutboxEvent> SqliteStore::unrouted_outbox_events(std::size_t limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM outbox_events WHERE routed_at IS NULL ORDER BY id LIMIT ?1", kEventColumns);
  auto s = prepare(sql.c_str());
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<OutboxEvent> out;
  while (s.step()) out.push_back(read_event(s));
  return out;
}

void SqliteStore::mark_outbox_event_routed(std::int64_t event_id, std::int64_t now_ms) {
  prepare("UPDATE outbox_events SET routed_at = ?2 WHERE id = ?1")
      .bind(1, event_id)
      .bind(2, now_ms)
      .run();
}

std::vector<OutboxEvent> SqliteStore::list_outbox_events(std::int64_t incident_id) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM outbox_events WHERE ?1 <= 0 OR incident_id = ?1 ORDER BY id", kEventColumns);
  auto s = prepare(sql.c_str());
  s.bind(1, incident_id);
  std::vector<OutboxEvent> out;
  while (s.step()) out.push_back(read_event(s));
  return out;
}

void SqliteStore::add_deliveries(std::vector<Delivery>& ds) {
  for (auto& d : ds) {
    auto s = prepare(
        "INSERT OR IGNORE INTO notify_deliveries (event_id, incident_id, receiver, key, "
        "dedup_key, action, digest, summary, body, state, attempts, next_at, last_error, "
        "silence_id, created_at, delivered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
        "?11, ?12, ?13, ?14, ?15, ?16)");
    s.bind(1, d.event_id).bind(2, d.incident_id).bind(3, d.receiver).bind(4, d.key);
    s.bind(5, d.dedup_key).bind(6, d.action).bind(7, d.digest).bind(8, d.summary).bind(9, d.body);
    s.bind(10, to_string(d.state)).bind(11, d.attempts).bind(12, d.next_at_ms);
    s.bind(13, d.last_error).bind(14, d.silence_id).bind(15, d.created_ms);
    s.bind(16, d.delivered_ms);
    s.run();
    if (sqlite3_changes(db_) == 1) d.id = sqlite3_last_insert_rowid(db_);
  }
}

std::vector<Delivery> SqliteStore::claim_deliveries(std::int64_t now_ms, std::int64_t lease_ms,
                                                    std::size_t limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM notify_deliveries d WHERE d.state = 'pending' AND d.digest = 0 AND "
      "d.next_at <= ?1 AND (d.lease_until IS NULL OR d.lease_until <= ?1) AND NOT EXISTS "
      "(SELECT 1 FROM notify_deliveries e WHERE e.incident_id = d.incident_id AND e.receiver = "
      "d.receiver AND e.id < d.id AND e.state = 'pending' AND e.digest = 0) ORDER BY d.id LIMIT "
      "?2",
      kDeliveryColumns);
  const bool own_tx = !in_transaction();
  if (own_tx) begin();
  try {
    std::vector<Delivery> out;
    {
      auto s = prepare(sql.c_str());
      s.bind(1, now_ms).bind(2, static_cast<std::int64_t>(limit));
      while (s.step()) out.push_back(read_delivery(s));
    }
    for (const auto& d : out) {
      prepare("UPDATE notify_deliveries SET lease_until = ?2 WHERE id = ?1")
          .bind(1, d.id)
          .bind(2, now_ms + lease_ms)
          .run();
    }
    if (own_tx) commit();
    return out;
  } catch (...) {
    if (own_tx) rollback();
    throw;
  }
}

std::vector<Delivery> SqliteStore::pending_digest(const std::string& receiver, std::size_t limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM notify_deliveries WHERE receiver = ?1 AND digest = 1 AND state = 'pending' "
      "ORDER BY id LIMIT ?2",
      kDeliveryColumns);
  auto s = prepare(sql.c_str());
  s.bind(1, receiver).bind(2, static_cast<std::int64_t>(limit));
  std::vector<Delivery> out;
  while (s.step()) out.push_back(read_delivery(s));
  return out;
}

std::optional<std::int64_t> SqliteStore::last_digest_ms(const std::string& receiver) {
  auto s = prepare(
      "SELECT MAX(delivered_at) FROM notify_deliveries WHERE receiver = ?1 AND digest = 1 AND "
      "state = 'delivered'");
  s.bind(1, receiver);
  if (!s.step()) return std::nullopt;
  return s.opt_i64(0);
}

void SqliteStore::update_delivery(const Delivery& d) {
  auto s = prepare(
      "UPDATE notify_deliveries SET state = ?2, attempts = ?3, next_at = ?4, last_error = ?5, "
      "silence_id = ?6, delivered_at = ?7, lease_until = NULL WHERE id = ?1");
  s.bind(1, d.id).bind(2, to_string(d.state)).bind(3, d.attempts).bind(4, d.next_at_ms);
  s.bind(5, d.last_error).bind(6, d.silence_id).bind(7, d.delivered_ms);
  s.run();
  if (sqlite3_changes(db_) != 1) {
    throw StoreError(fmt::format("{}: update_delivery: no delivery {}", name_, d.id));
  }
}

std::vector<Delivery> SqliteStore::list_deliveries(std::int64_t incident_id,
                                                   std::optional<DeliveryState> state) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM notify_deliveries WHERE (?1 <= 0 OR incident_id = ?1) AND (?2 IS NULL OR "
      "state = ?2) ORDER BY id",
      kDeliveryColumns);
  auto s = prepare(sql.c_str());
  s.bind(1, incident_id);
  s.bind(2, state ? std::optional<std::string>(std::string(to_string(*state))) : std::nullopt);
  std::vector<Delivery> out;
  while (s.step()) out.push_back(read_delivery(s));
  return out;
}

void SqliteStore::add_silence(Silence& x) {
  auto s = prepare(
      "INSERT INTO silences (rule, sev_min, sev_max, object, created_by, comment, created_at, "
      "starts_at, ends_at, expired_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  s.bind(1, x.rule).bind(2, x.sev_min).bind(3, x.sev_max).bind(4, x.object);
  s.bind(5, x.created_by).bind(6, x.comment).bind(7, x.created_ms).bind(8, x.starts_ms);
  s.bind(9, x.ends_ms).bind(10, x.expired_by);
  s.run();
  x.id = sqlite3_last_insert_rowid(db_);
}

std::vector<Silence> SqliteStore::list_silences(bool include_inactive, std::int64_t now_ms) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM silences WHERE ?1 OR (starts_at <= ?2 AND ?2 < ends_at) ORDER BY id DESC",
      kSilenceColumns);
  auto s = prepare(sql.c_str());
  s.bind(1, include_inactive).bind(2, now_ms);
  std::vector<Silence> out;
  while (s.step()) out.push_back(read_silence(s));
  return out;
}

bool SqliteStore::expire_silence(std::int64_t id, const std::string& by, std::int64_t now_ms) {
  prepare(
      "UPDATE silences SET ends_at = ?2, expired_by = ?3 WHERE id = ?1 AND ends_at > ?2 AND "
      "starts_at <= ?2")
      .bind(1, id)
      .bind(2, now_ms)
      .bind(3, by)
      .run();
  return sqlite3_changes(db_) == 1;
}

// ---- Source checkpoints.

void SqliteStore::put_checkpoints(const std::vector<SourceCheckpoint>& checkpoints) {
  const bool own_tx = !in_transaction() && !checkpoints.empty();
  if (own_tx) begin();
  try {
    for (const auto& c : checkpoints) {
      prepare(
          "INSERT OR REPLACE INTO checkpoints (source, stream, inode, fingerprint, "
          "fingerprint_bytes, \"offset\", line, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
          "?8)")
          .bind(1, c.source)
          .bind(2, c.stream)
          .bind(3, c.inode)
          .bind(4, c.fingerprint)
          .bind(5, c.fingerprint_bytes)
          .bind(6, c.offset)
          .bind(7, c.line)
          .bind(8, c.updated_at_ms)
          .run();
    }
    if (own_tx) commit();
  } catch (...) {
    if (own_tx) rollback();
    throw;
  }
}

std::vector<SourceCheckpoint> SqliteStore::get_checkpoints(const std::string& source) {
  std::vector<SourceCheckpoint> out;
  auto s = prepare(
      "SELECT source, stream, inode, fingerprint, fingerprint_bytes, \"offset\", line, updated_at "
      "FROM checkpoints WHERE source = ?1 ORDER BY stream");
  s.bind(1, source);
  while (s.step()) {
    out.push_back(SourceCheckpoint{s.text(0), s.text(1), s.u64(2), s.text(3), s.u64(4), s.u64(5),
                                   s.u64(6), s.i64(7)});
  }
  return out;
}

}  // namespace sevwatch::triage
