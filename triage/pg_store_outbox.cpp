// The PostgreSQL store's notification outbox, silences and source
// checkpoints: the same tables and meaning as in the SQLite store (migrations
// 2 and 3 in pg_store.cpp), safe with several processes sharing the database.
#include <algorithm>

#include "triage/pg_store.h"
#include "triage/pg_store_detail.h"

namespace sevwatch::triage {

using namespace pg;  // NOLINT: the parameter helpers

namespace {

constexpr const char* kEventColumns =
    "id, key, incident_id, event, sev, from_sev, \"by\", note, at, created_at, routed_at";
constexpr const char* kDeliveryColumns =
    "id, event_id, incident_id, receiver, key, dedup_key, action, digest, summary, body, state, "
    "attempts, next_at, last_error, silence_id, created_at, delivered_at";
constexpr const char* kSilenceColumns =
    "id, rule, sev_min, sev_max, object, created_by, comment, created_at, starts_at, ends_at, "
    "expired_by";

template <typename R>
OutboxEvent read_event(const R& r, int i) {
  OutboxEvent e;
  e.id = r.i64(i, 0);
  e.key = r.text(i, 1);
  e.incident_id = r.i64(i, 2);
  e.event = r.text(i, 3);
  e.sev = static_cast<int>(r.i64(i, 4));
  if (auto f = r.opt_i64(i, 5)) e.from_sev = static_cast<int>(*f);
  e.by = r.text(i, 6);
  e.note = r.text(i, 7);
  e.at_ms = r.i64(i, 8);
  e.created_ms = r.i64(i, 9);
  e.routed_ms = r.opt_i64(i, 10);
  return e;
}

template <typename R>
Delivery read_delivery(const R& r, int i) {
  Delivery d;
  d.id = r.i64(i, 0);
  d.event_id = r.i64(i, 1);
  d.incident_id = r.i64(i, 2);
  d.receiver = r.text(i, 3);
  d.key = r.text(i, 4);
  d.dedup_key = r.text(i, 5);
  d.action = r.text(i, 6);
  d.digest = r.boolean(i, 7);
  d.summary = r.text(i, 8);
  d.body = r.text(i, 9);
  d.state = parse_delivery_state(r.text(i, 10)).value_or(DeliveryState::pending);
  d.attempts = static_cast<int>(r.i64(i, 11));
  d.next_at_ms = r.i64(i, 12);
  d.last_error = r.text(i, 13);
  d.silence_id = r.opt_i64(i, 14);
  d.created_ms = r.i64(i, 15);
  d.delivered_ms = r.opt_i64(i, 16);
  return d;
}

template <typename R>
Silence read_silence(const R& r, int i) {
  Silence x;
  x.id = r.i64(i, 0);
  x.rule = r.text(i, 1);
  x.sev_min = static_cast<int>(r.i64(i, 2));
  x.sev_max = static_cast<int>(r.i64(i, 3));
  x.object = r.text(i, 4);
  x.created_by = r.text(i, 5);
  x.comment = r.text(i, 6);
  x.created_ms = r.i64(i, 7);
  x.starts_ms = r.i64(i, 8);
  x.ends_ms = r.i64(i, 9);
  if (!r.is_null(i, 10)) x.expired_by = r.text(i, 10);
  return x;
}

template <typename T, typename R, typename F>
std::vector<T> read_all(const R& r, F read) {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read(r, i));
  return out;
}

std::string limit_param(std::size_t limit) {
  return std::to_string(std::min<std::size_t>(limit, INT64_MAX));
}

}  // namespace

bool PgStore::add_outbox_event(OutboxEvent& e) {
  auto r =
      run("INSERT INTO outbox_events (key, incident_id, event, sev, from_sev, \"by\", note, at, "
          "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key) DO NOTHING "
          "RETURNING id",
          {no_nul(e.key), num(e.incident_id), no_nul(e.event), std::to_string(e.sev),
           e.from_sev ? Param(std::to_string(*e.from_sev)) : std::nullopt, no_nul(e.by),
           no_nul(e.note), num(e.at_ms), num(e.created_ms)});
  if (r.rows() == 0) return false;
  e.id = r.i64(0, 0);
  return true;
}

std::vector<OutboxEvent> PgStore::unrouted_outbox_events(std::size_t limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM outbox_events WHERE routed_at IS NULL ORDER BY id LIMIT $1::bigint",
      kEventColumns);
  return read_all<OutboxEvent>(run(sql, {limit_param(limit)}),
                               [](const Result& r, int i) { return read_event(r, i); });
}

void PgStore::mark_outbox_event_routed(std::int64_t event_id, std::int64_t now_ms) {
  run("UPDATE outbox_events SET routed_at = $2::bigint WHERE id = $1::bigint",
      {num(event_id), num(now_ms)});
}

std::vector<OutboxEvent> PgStore::list_outbox_events(std::int64_t incident_id) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM outbox_events WHERE $1::bigint <= 0 OR incident_id = $1::bigint ORDER BY id",
      kEventColumns);
  return read_all<OutboxEvent>(run(sql, {num(incident_id)}),
                               [](const Result& r, int i) { return read_event(r, i); });
}

void PgStore::add_deliveries(std::vector<Delivery>& ds) {
  for (auto& d : ds) {
    auto r = run(
        "INSERT INTO notify_deliveries (event_id, incident_id, receiver, key, dedup_key, action, "
        "digest, summary, body, state, attempts, next_at, last_error, silence_id, created_at, "
        "delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
        "$16) ON CONFLICT (key) DO NOTHING RETURNING id",
        {num(d.event_id), num(d.incident_id), no_nul(d.receiver), no_nul(d.key),
         no_nul(d.dedup_key), no_nul(d.action), std::string(d.digest ? "t" : "f"),
         no_nul(d.summary), no_nul(d.body), std::string(to_string(d.state)),
         std::to_string(d.attempts), num(d.next_at_ms), no_nul(d.last_error), opt_num(d.silence_id),
         num(d.created_ms), opt_num(d.delivered_ms)});
    if (r.rows() == 1) d.id = r.i64(0, 0);
  }
}

std::vector<Delivery> PgStore::claim_deliveries(std::int64_t now_ms, std::int64_t lease_ms,
                                                std::size_t limit) {
  // One statement: pick and lease. Rows another process is leasing right now
  // are skipped, not waited for.
  static const std::string sql = fmt::format(
      "UPDATE notify_deliveries SET lease_until = $1::bigint + $2::bigint WHERE id IN (SELECT d.id "
      "FROM notify_deliveries d WHERE d.state = 'pending' AND NOT d.digest AND d.next_at <= "
      "$1::bigint AND (d.lease_until IS NULL OR d.lease_until <= $1::bigint) AND NOT EXISTS "
      "(SELECT 1 FROM notify_deliveries e WHERE e.incident_id = d.incident_id AND e.receiver = "
      "d.receiver AND e.id < d.id AND e.state = 'pending' AND NOT e.digest) ORDER BY d.id LIMIT "
      "$3::bigint FOR UPDATE SKIP LOCKED) RETURNING {}",
      kDeliveryColumns);
  auto out = read_all<Delivery>(run(sql, {num(now_ms), num(lease_ms), limit_param(limit)}),
                                [](const Result& r, int i) { return read_delivery(r, i); });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<Delivery> PgStore::pending_digest(const std::string& receiver, std::size_t limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM notify_deliveries WHERE receiver = $1::text AND digest AND state = "
      "'pending' ORDER BY id LIMIT $2::bigint",
      kDeliveryColumns);
  return read_all<Delivery>(run(sql, {no_nul(receiver), limit_param(limit)}),
                            [](const Result& r, int i) { return read_delivery(r, i); });
}

std::optional<std::int64_t> PgStore::last_digest_ms(const std::string& receiver) {
  auto r = run(
      "SELECT MAX(delivered_at) FROM notify_deliveries WHERE receiver = $1::text AND digest AND "
      "state = 'delivered'",
      {no_nul(receiver)});
  if (r.rows() == 0) return std::nullopt;
  return r.opt_i64(0, 0);
}

void PgStore::update_delivery(const Delivery& d) {
  auto r = run(
      "UPDATE notify_deliveries SET state = $2, attempts = $3, next_at = $4, last_error = $5, "
      "silence_id = $6, delivered_at = $7, lease_until = NULL WHERE id = $1",
      {num(d.id), std::string(to_string(d.state)), std::to_string(d.attempts), num(d.next_at_ms),
       no_nul(d.last_error), opt_num(d.silence_id), opt_num(d.delivered_ms)});
  if (r.affected() != 1) {
    throw StoreError(fmt::format("{}: update_delivery: no delivery {}", name_, d.id));
  }
}

std::vector<Delivery> PgStore::list_deliveries(std::int64_t incident_id,
                                               std::optional<DeliveryState> state) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM notify_deliveries WHERE ($1::bigint <= 0 OR incident_id = $1::bigint) AND "
      "($2::text IS NULL OR state = $2::text) ORDER BY id",
      kDeliveryColumns);
  return read_all<Delivery>(
      run(sql, {num(incident_id), state ? Param(std::string(to_string(*state))) : std::nullopt}),
      [](const Result& r, int i) { return read_delivery(r, i); });
}

void PgStore::add_silence(Silence& x) {
  auto r =
      run("INSERT INTO silences (rule, sev_min, sev_max, object, created_by, comment, created_at, "
          "starts_at, ends_at, expired_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
          "RETURNING id",
          {no_nul(x.rule), std::to_string(x.sev_min), std::to_string(x.sev_max), no_nul(x.object),
           no_nul(x.created_by), no_nul(x.comment), num(x.created_ms), num(x.starts_ms),
           num(x.ends_ms), x.expired_by ? Param(no_nul(*x.expired_by)) : std::nullopt});
  x.id = r.i64(0, 0);
}

std::vector<Silence> PgStore::list_silences(bool include_inactive, std::int64_t now_ms) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM silences WHERE $1::boolean OR (starts_at <= $2::bigint AND $2::bigint < "
      "ends_at) ORDER BY id DESC",
      kSilenceColumns);
  return read_all<Silence>(run(sql, {std::string(include_inactive ? "t" : "f"), num(now_ms)}),
                           [](const Result& r, int i) { return read_silence(r, i); });
}

bool PgStore::expire_silence(std::int64_t id, const std::string& by, std::int64_t now_ms) {
  return run("UPDATE silences SET ends_at = $2::bigint, expired_by = $3::text WHERE id = "
             "$1::bigint AND ends_at > $2::bigint AND starts_at <= $2::bigint",
             {num(id), num(now_ms), no_nul(by)})
             .affected() == 1;
}

void PgStore::put_checkpoints(const std::vector<SourceCheckpoint>& checkpoints) {
  if (checkpoints.empty()) return;
  std::vector<std::string> source, stream, fingerprint;
  std::vector<std::int64_t> inode, fp_bytes, offset, line, updated;
  for (const auto& c : checkpoints) {
    source.push_back(c.source);
    stream.push_back(c.stream);
    fingerprint.push_back(c.fingerprint);
    inode.push_back(static_cast<std::int64_t>(c.inode));
    fp_bytes.push_back(static_cast<std::int64_t>(c.fingerprint_bytes));
    offset.push_back(static_cast<std::int64_t>(c.offset));
    line.push_back(static_cast<std::int64_t>(c.line));
    updated.push_back(c.updated_at_ms);
  }
  auto arr = [](const std::vector<std::string>& v) {
    return text_array(v.data(), v.data() + v.size());
  };
  // One statement, so atomic on its own; a repeated (source, stream) keeps the last.
  run("INSERT INTO checkpoints (source, stream, inode, fingerprint, fingerprint_bytes, "
      "\"offset\", line, updated_at) SELECT DISTINCT ON (c.source, c.stream) c.source, c.stream, "
      "c.inode, c.fingerprint, c.fp_bytes, c.off, c.line, c.updated FROM unnest($1::text[], "
      "$2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], "
      "$8::bigint[]) WITH ORDINALITY AS c(source, stream, inode, fingerprint, fp_bytes, off, "
      "line, updated, n) ORDER BY c.source, c.stream, c.n DESC ON CONFLICT (source, stream) DO "
      "UPDATE SET inode = excluded.inode, fingerprint = excluded.fingerprint, fingerprint_bytes = "
      "excluded.fingerprint_bytes, \"offset\" = excluded.\"offset\", line = excluded.line, "
      "updated_at = excluded.updated_at",
      {arr(source), arr(stream), number_array(inode), arr(fingerprint), number_array(fp_bytes),
       number_array(offset), number_array(line), number_array(updated)});
}

std::vector<SourceCheckpoint> PgStore::get_checkpoints(const std::string& source) {
  auto r = run(
      "SELECT source, stream, inode, fingerprint, fingerprint_bytes, \"offset\", line, updated_at "
      "FROM checkpoints WHERE source = $1::text ORDER BY stream COLLATE \"C\"",
      {no_nul(source)});
  std::vector<SourceCheckpoint> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(SourceCheckpoint{r.text(i, 0), r.text(i, 1), r.u64(i, 2), r.text(i, 3),
                                   r.u64(i, 4), r.u64(i, 5), r.u64(i, 6), r.i64(i, 7)});
  }
  return out;
}

}  // namespace sevwatch::triage
