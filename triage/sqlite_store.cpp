// The SQLite incident store. Lists (sensitivity, grantees, actors, outsiders)
// are JSON arrays in the incidents row; objects, readers and the timeline have
// their own tables. Migrations are applied in order at open, each in its own
// transaction, and recorded in schema_version.
#include "triage/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "triage/sqlite_store_detail.h"

namespace sevwatch::triage {

namespace {

// Migration N (1-based) is kMigrations[N - 1]. Only ever append.
constexpr const char* kMigrations[] = {
    // 1: the initial schema.
    R"sql(
CREATE TABLE incidents (
  id             INTEGER PRIMARY KEY,
  dedup_key      TEXT NOT NULL UNIQUE,
  sev            INTEGER NOT NULL CHECK (sev BETWEEN 0 AND 5),
  rubric_sev     INTEGER NOT NULL CHECK (rubric_sev BETWEEN 0 AND 5),
  status         TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'contained', 'resolved')),
  rule           TEXT NOT NULL,
  title          TEXT NOT NULL,
  runbook        TEXT NOT NULL DEFAULT '',
  opened_at      INTEGER NOT NULL,
  detected_at    INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  contained_at   INTEGER,
  resolved_at    INTEGER,
  sev_reason     TEXT NOT NULL DEFAULT '',
  objects        INTEGER NOT NULL DEFAULT 0,
  sensitivity    TEXT NOT NULL DEFAULT '[]',
  level          TEXT NOT NULL DEFAULT '',
  audience       TEXT,
  grantees       TEXT NOT NULL DEFAULT '[]',
  actors         TEXT NOT NULL DEFAULT '[]',
  evidence_class TEXT NOT NULL DEFAULT 'none',
  events         INTEGER NOT NULL DEFAULT 0,
  outsider_reads INTEGER NOT NULL DEFAULT 0,
  outsiders      TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX incidents_by_status ON incidents (status, id);
CREATE TABLE incident_objects (
  incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  object      TEXT NOT NULL,
  PRIMARY KEY (incident_id, object)
) WITHOUT ROWID;
CREATE TABLE incident_readers (
  incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  principal   TEXT NOT NULL,
  reads       INTEGER NOT NULL,
  objects     INTEGER NOT NULL,
  outsider    INTEGER NOT NULL,
  first_at    INTEGER NOT NULL,
  last_at     INTEGER NOT NULL,
  PRIMARY KEY (incident_id, principal)
) WITHOUT ROWID;
CREATE TABLE timeline (
  incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  "by"        TEXT NOT NULL,
  text        TEXT NOT NULL,
  PRIMARY KEY (incident_id, seq),
  UNIQUE (incident_id, at, kind, text)
);
)sql",
    // 2: the notification outbox and silences (triage/outbox.h).
    R"sql(
CREATE TABLE outbox_events (
  id          INTEGER PRIMARY KEY,
  key         TEXT NOT NULL UNIQUE,
  incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  event       TEXT NOT NULL
              CHECK (event IN ('opened', 'reopened', 'escalated', 'acknowledged', 'resolved')),
  sev         INTEGER NOT NULL CHECK (sev BETWEEN 0 AND 5),
  from_sev    INTEGER CHECK (from_sev BETWEEN 0 AND 5),
  "by"        TEXT NOT NULL,
  note        TEXT NOT NULL DEFAULT '',
  at          INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  routed_at   INTEGER
);
CREATE INDEX outbox_events_unrouted ON outbox_events (id) WHERE routed_at IS NULL;
CREATE TABLE silences (
  id         INTEGER PRIMARY KEY,
  rule       TEXT NOT NULL,
  sev_min    INTEGER NOT NULL CHECK (sev_min BETWEEN 0 AND 5),
  sev_max    INTEGER NOT NULL CHECK (sev_max BETWEEN 0 AND 5),
  object     TEXT NOT NULL,
  created_by TEXT NOT NULL,
  comment    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  starts_at  INTEGER NOT NULL,
  ends_at    INTEGER NOT NULL,
  expired_by TEXT
);
CREATE TABLE notify_deliveries (
  id           INTEGER PRIMARY KEY,
  event_id     INTEGER NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
  incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  receiver     TEXT NOT NULL,
  key          TEXT NOT NULL UNIQUE,
  dedup_key    TEXT NOT NULL DEFAULT '',
  action       TEXT NOT NULL,
  digest       INTEGER NOT NULL DEFAULT 0,
  summary      TEXT NOT NULL DEFAULT '',
  body         TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'suppressed')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  next_at      INTEGER NOT NULL,
  lease_until  INTEGER,
  last_error   TEXT NOT NULL DEFAULT '',
  silence_id   INTEGER REFERENCES silences (id),
  created_at   INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (state, next_at);
CREATE INDEX notify_deliveries_by_incident ON notify_deliveries (incident_id, receiver, id);
)sql",
    // 3: source checkpoints for `sevwatch run` (file offsets with identity).
    R"sql(
CREATE TABLE checkpoints (
  source            TEXT NOT NULL,
  stream            TEXT NOT NULL,
  inode             INTEGER NOT NULL,
  fingerprint       TEXT NOT NULL,
  fingerprint_bytes INTEGER NOT NULL,
  "offset"          INTEGER NOT NULL,
  line              INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  PRIMARY KEY (source, stream)
) WITHOUT ROWID;
)sql",
    // 4: lifecycle: who owns the incident, and when it was acknowledged (TTA).
    R"sql(
ALTER TABLE incidents ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN acknowledged_at INTEGER;
)sql",
    // 5: the rule engine's state for `sevwatch run`: the grant journal (the
    // events that rebuild the exposure state, per journal name, in order) and
    // named values (first_seen baselines).
    R"sql(
CREATE TABLE grant_journal (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  journal TEXT NOT NULL,
  at      INTEGER NOT NULL,
  event   TEXT NOT NULL
);
CREATE INDEX grant_journal_by_name ON grant_journal (journal, seq);
CREATE TABLE engine_state (
  key        TEXT NOT NULL PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
};

constexpr int kLatestVersion = static_cast<int>(std::size(kMigrations));

constexpr const char* kSummaryColumns =
    "id, dedup_key, sev, rubric_sev, status, rule, title, runbook, opened_at, detected_at, "
    "updated_at, contained_at, resolved_at, sev_reason, objects, sensitivity, level, audience, "
    "grantees, actors, evidence_class, events, outsider_reads, outsiders, assignee, "
    "acknowledged_at";

std::string to_json_array(const std::vector<std::string>& v) {
  boost::json::array a;
  a.reserve(v.size());
  for (const auto& s : v) a.emplace_back(s);
  return boost::json::serialize(a);
}

std::vector<std::string> from_json_array(std::string_view text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  const auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.as_array()) {
    if (e.is_string()) out.emplace_back(e.as_string().c_str(), e.as_string().size());
  }
  return out;
}

}  // namespace

namespace {

constexpr std::size_t kObjectRowsPerInsert = 500;

// INSERT of kObjectRowsPerInsert objects of one incident (?1).
const std::string& insert_objects_sql() {
  static const std::string sql = [] {
    std::string s = "INSERT OR IGNORE INTO incident_objects (incident_id, object) VALUES ";
    for (std::size_t i = 0; i < kObjectRowsPerInsert; ++i) {
      s += fmt::format("{}(?1, ?{})", i == 0 ? "" : ", ", i + 2);
    }
    return s;
  }();
  return sql;
}

}  // namespace

// The cached prepared statements, by SQL text.
struct SqliteStore::Cache {
  std::unordered_map<const char*, sqlite3_stmt*> stmts;
};

SqliteStore::SqliteStore(const std::string& path)
    : name_("sqlite:" + path), cache_(std::make_unique<Cache>()) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(fmt::format("{}: cannot open: {}", name_, msg));
  }
  try {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    // Room for a large incident's transaction (45,000 object rows are about
    // 3 MB of pages): with the default 2 MB cache, SQLite spills dirty pages
    // to the WAL mid-transaction and reads them back. Pages are allocated as
    // used, so this is a ceiling, not a reservation.
    exec("PRAGMA cache_size=-65536");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteStore::~SqliteStore() {
  if (db_ == nullptr) return;
  for (auto& [sql, s] : cache_->stmts) sqlite3_finalize(s);
  if (!in_transaction()) {
    sqlite3_close(db_);
    return;
  }
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db_);
}

void SqliteStore::fail(const std::string& what) const {
  std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : "not open";
  for (auto& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  throw StoreError(fmt::format("{}: {}: {}", name_, what, msg));
}

void SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    throw StoreError(fmt::format("{}: executing \"{:.40}\": {}", name_, sql, msg));
  }
}

// Statements are keyed by the address of their (string literal) SQL text.
SqliteStore::Stmt SqliteStore::prepare(const char* sql) {
  auto it = cache_->stmts.find(sql);
  if (it == cache_->stmts.end()) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      fail(fmt::format("preparing \"{:.40}\"", sql));
    }
    it = cache_->stmts.emplace(sql, s).first;
  }
  return Stmt(*this, it->second);
}

bool SqliteStore::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

void SqliteStore::migrate() {
  exec(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at "
      "INTEGER NOT NULL)");
  for (int v = schema_version() + 1; v <= kLatestVersion; ++v) {
    // BEGIN IMMEDIATE takes the write lock first, so two processes opening a
    // fresh file at once do not both apply a migration.
    exec("BEGIN IMMEDIATE");
    try {
      if (schema_version() < v) {
        exec(kMigrations[v - 1]);
        prepare(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, "
            "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))")
            .bind(1, v)
            .run();
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  if (schema_version() > kLatestVersion) {
    throw StoreError(fmt::format("{}: schema version {} is newer than this build knows ({})", name_,
                                 schema_version(), kLatestVersion));
  }
}

int SqliteStore::schema_version() {
  auto s = prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  s.step();
  return static_cast<int>(s.i64(0));
}

int SqliteStore::latest_schema_version() {
  return kLatestVersion;
}

std::string SqliteStore::journal_mode() {
  auto s = prepare("PRAGMA journal_mode");
  return s.step() ? s.text(0) : std::string();
}

void SqliteStore::begin() {
  exec("BEGIN IMMEDIATE");
}
void SqliteStore::commit() {
  exec("COMMIT");
}
void SqliteStore::rollback() {
  if (in_transaction()) exec("ROLLBACK");
}

Incident SqliteStore::read_summary(Stmt& s) {
  Incident inc;
  inc.id = s.i64(0);
  inc.dedup_key = s.text(1);
  inc.sev = static_cast<int>(s.i64(2));
  inc.rubric_sev = static_cast<int>(s.i64(3));
  inc.status = parse_status(s.text(4)).value_or(Status::open);
  inc.rule = s.text(5);
  inc.title = s.text(6);
  inc.runbook = s.text(7);
  inc.opened_at_ms = s.i64(8);
  inc.detected_at_ms = s.i64(9);
  inc.updated_at_ms = s.i64(10);
  inc.contained_at_ms = s.opt_i64(11);
  inc.resolved_at_ms = s.opt_i64(12);
  inc.sev_reason = s.text(13);
  inc.objects = s.u64(14);
  inc.sensitivity = from_json_array(s.text(15));
  inc.level = s.text(16);
  if (!s.is_null(17)) inc.audience = s.text(17);
  inc.grantees = from_json_array(s.text(18));
  inc.actors = from_json_array(s.text(19));
  inc.evidence_class = s.text(20);
  inc.events = s.u64(21);
  inc.outsider_reads = s.u64(22);
  inc.outsiders = from_json_array(s.text(23));
  inc.assignee = s.text(24);
  inc.acknowledged_at_ms = s.opt_i64(25);
  return inc;
}

namespace {
// Binds the summary columns after id as parameters 2..26 (1 is id/dedup key).
template <typename S>
void bind_summary(S& s, const Incident& inc) {
  s.bind(2, inc.dedup_key)
      .bind(3, inc.sev)
      .bind(4, inc.rubric_sev)
      .bind(5, to_string(inc.status))
      .bind(6, inc.rule)
      .bind(7, inc.title)
      .bind(8, inc.runbook)
      .bind(9, inc.opened_at_ms)
      .bind(10, inc.detected_at_ms)
      .bind(11, inc.updated_at_ms)
      .bind(12, inc.contained_at_ms)
      .bind(13, inc.resolved_at_ms)
      .bind(14, inc.sev_reason)
      .bind(15, inc.objects)
      .bind(16, to_json_array(inc.sensitivity))
      .bind(17, inc.level)
      .bind(18, inc.audience)
      .bind(19, to_json_array(inc.grantees))
      .bind(20, to_json_array(inc.actors))
      .bind(21, inc.evidence_class)
      .bind(22, inc.events)
      .bind(23, inc.outsider_reads)
      .bind(24, to_json_array(inc.outsiders))
      .bind(25, inc.assignee)
      .bind(26, inc.acknowledged_at_ms);
}
}  // namespace

std::optional<Incident> SqliteStore::find_by_dedup_key(const std::string& key) {
  static const std::string sql =
      fmt::format("SELECT {} FROM incidents WHERE dedup_key = ?1", kSummaryColumns);
  auto s = prepare(sql.c_str());
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return read_summary(s);
}

void SqliteStore::insert(Incident& inc) {
  auto s = prepare(
      "INSERT INTO incidents (dedup_key, sev, rubric_sev, status, rule, title, runbook, "
      "opened_at, detected_at, updated_at, contained_at, resolved_at, sev_reason, objects, "
      "sensitivity, level, audience, grantees, actors, evidence_class, events, outsider_reads, "
      "outsiders, assignee, acknowledged_at) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
      "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)");
  bind_summary(s, inc);
  s.run();
  inc.id = sqlite3_last_insert_rowid(db_);
}

void SqliteStore::update(const Incident& inc) {
  auto s = prepare(
      "UPDATE incidents SET dedup_key = ?2, sev = ?3, rubric_sev = ?4, status = ?5, rule = ?6, "
      "title = ?7, runbook = ?8, opened_at = ?9, detected_at = ?10, updated_at = ?11, "
      "contained_at = ?12, resolved_at = ?13, sev_reason = ?14, objects = ?15, sensitivity = "
      "?16, level = ?17, audience = ?18, grantees = ?19, actors = ?20, evidence_class = ?21, "
      "events = ?22, outsider_reads = ?23, outsiders = ?24, assignee = ?25, acknowledged_at = ?26 "
      "WHERE id = ?1");
  s.bind(1, inc.id);
  bind_summary(s, inc);
  s.run();
  if (sqlite3_changes(db_) != 1) {
    throw StoreError(fmt::format("{}: update: no incident {}", name_, inc.id));
  }
}

std::uint64_t SqliteStore::add_objects(std::int64_t id, const std::vector<std::string>& objects) {
  const bool own_tx = !in_transaction() && !objects.empty();
  if (own_tx) begin();
  try {
    // In key order, each row lands beside the one before; and many rows to a
    // statement, which spares most of the per-statement work (45,000 objects:
    // 36 ms one row at a time, 14 ms 500 at a time).
    std::vector<const std::string*> sorted;
    sorted.reserve(objects.size());
    for (const auto& o : objects) sorted.push_back(&o);
    std::sort(sorted.begin(), sorted.end(),
              [](const std::string* a, const std::string* b) { return *a < *b; });
    std::size_t i = 0;
    if (sorted.size() >= kObjectRowsPerInsert) {
      auto many = prepare(insert_objects_sql().c_str());
      for (; i + kObjectRowsPerInsert <= sorted.size(); i += kObjectRowsPerInsert) {
        many.bind(1, id);
        for (std::size_t j = 0; j < kObjectRowsPerInsert; ++j) {
          many.bind(static_cast<int>(j + 2), *sorted[i + j]);
        }
        many.run();
        many.reset();
      }
    }
    auto one =
        prepare("INSERT OR IGNORE INTO incident_objects (incident_id, object) VALUES (?1, ?2)");
    for (; i < sorted.size(); ++i) {
      one.bind(1, id).bind(2, *sorted[i]).run();
      one.reset();
    }
    auto c = prepare("SELECT COUNT(*) FROM incident_objects WHERE incident_id = ?1");
    c.bind(1, id);
    c.step();
    const auto n = c.u64(0);
    if (own_tx) commit();
    return n;
  } catch (...) {
    if (own_tx) rollback();
    throw;
  }
}

std::size_t SqliteStore::add_timeline(std::int64_t id, const std::vector<TimelineEntry>& entries) {
  std::size_t added = 0;
  for (const auto& e : entries) {
    prepare(
        "INSERT OR IGNORE INTO timeline (incident_id, seq, at, kind, \"by\", text) SELECT ?1, "
        "COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5 FROM timeline WHERE incident_id = ?1")
        .bind(1, id)
        .bind(2, e.at_ms)
        .bind(3, e.kind)
        .bind(4, e.by)
        .bind(5, e.text)
        .run();
    added += static_cast<std::size_t>(sqlite3_changes(db_));
  }
  return added;
}

void SqliteStore::put_readers(std::int64_t id, const std::vector<Reader>& readers) {
  for (const auto& r : readers) {
    prepare(
        "INSERT OR REPLACE INTO incident_readers (incident_id, principal, reads, objects, "
        "outsider, first_at, last_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .bind(1, id)
        .bind(2, r.principal)
        .bind(3, r.reads)
        .bind(4, r.objects)
        .bind(5, r.outsider)
        .bind(6, r.first_ms)
        .bind(7, r.last_ms)
        .run();
  }
}

std::vector<Reader> SqliteStore::get_readers(std::int64_t id) {
  std::vector<Reader> out;
  auto s = prepare(
      "SELECT principal, reads, objects, outsider, first_at, last_at FROM incident_readers "
      "WHERE incident_id = ?1 ORDER BY principal");
  s.bind(1, id);
  while (s.step()) {
    out.push_back(Reader{s.text(0), s.u64(1), s.u64(2), s.i64(3) != 0, s.i64(4), s.i64(5)});
  }
  return out;
}

std::vector<Incident> SqliteStore::list(std::optional<Status> status) {
  static const std::string all_sql =
      fmt::format("SELECT {} FROM incidents ORDER BY id DESC", kSummaryColumns);
  static const std::string by_status_sql =
      fmt::format("SELECT {} FROM incidents WHERE status = ?1 ORDER BY id DESC", kSummaryColumns);
  std::vector<Incident> out;
  auto s = prepare(status ? by_status_sql.c_str() : all_sql.c_str());
  if (status) s.bind(1, to_string(*status));
  while (s.step()) out.push_back(read_summary(s));
  return out;
}

std::optional<Incident> SqliteStore::get(std::int64_t id, bool full) {
  static const std::string sql =
      fmt::format("SELECT {} FROM incidents WHERE id = ?1", kSummaryColumns);
  std::optional<Incident> inc;
  {
    auto s = prepare(sql.c_str());
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    inc = read_summary(s);
  }
  if (!full) return inc;
  {
    auto s = prepare("SELECT object FROM incident_objects WHERE incident_id = ?1 ORDER BY object");
    s.bind(1, id);
    inc->object_names.reserve(inc->objects);
    while (s.step()) inc->object_names.push_back(s.text(0));
  }
  inc->readers = get_readers(id);
  {
    auto s = prepare(
        "SELECT at, kind, \"by\", text FROM timeline WHERE incident_id = ?1 ORDER BY at, seq");
    s.bind(1, id);
    while (s.step())
      inc->timeline.push_back(TimelineEntry{s.i64(0), s.text(1), s.text(2), s.text(3)});
  }
  return inc;
}

// The notification outbox, silences and source checkpoints are in
// sqlite_store_outbox.cpp; the grant journal and engine state in
// sqlite_store_journal.cpp.

}  // namespace sevwatch::triage
