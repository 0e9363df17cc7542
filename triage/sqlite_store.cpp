// The SQLite incident store. Lists (sensitivity, grantees, actors, outsiders)
// are JSON arrays in the incidents row; objects, readers and the timeline have
// their own tables. Migrations are applied in order at open, each in its own
// transaction, and recorded in schema_version.
#include "triage/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <unordered_map>

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
};

constexpr int kLatestVersion = static_cast<int>(std::size(kMigrations));

constexpr const char* kSummaryColumns =
    "id, dedup_key, sev, rubric_sev, status, rule, title, runbook, opened_at, detected_at, "
    "updated_at, contained_at, resolved_at, sev_reason, objects, sensitivity, level, audience, "
    "grantees, actors, evidence_class, events, outsider_reads, outsiders";

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

// The cached prepared statements, by SQL text.
struct SqliteStore::Cache {
  std::unordered_map<const char*, sqlite3_stmt*> stmts;
};

// A borrowed cached statement; resets itself when it goes out of scope.
class SqliteStore::Stmt {
 public:
  Stmt(const SqliteStore& store, sqlite3_stmt* s) : store_(store), s_(s) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  Stmt& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  Stmt& bind(int i, std::uint64_t v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, bool v) { return bind(i, static_cast<std::int64_t>(v ? 1 : 0)); }
  Stmt& bind(int i, std::string_view v) {
    check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const std::optional<std::int64_t>& v) {
    if (v) return bind(i, *v);
    check(sqlite3_bind_null(s_, i));
    return *this;
  }
  Stmt& bind(int i, const std::optional<std::string>& v) {
    if (v) return bind(i, *v);
    check(sqlite3_bind_null(s_, i));
    return *this;
  }

  // True while a row is available.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    store_.fail(fmt::format("executing \"{:.40}\"", sqlite3_sql(s_)));
  }
  void run() {
    while (step()) {
    }
  }

  std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  std::uint64_t u64(int col) const { return static_cast<std::uint64_t>(i64(col)); }
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(s_, col));
  }
  std::optional<std::int64_t> opt_i64(int col) const {
    if (is_null(col)) return std::nullopt;
    return i64(col);
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) store_.fail("binding a parameter");
  }
  const SqliteStore& store_;
  sqlite3_stmt* s_;
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
  return inc;
}

namespace {
// Binds the summary columns after id as parameters 2..24 (1 is id/dedup key).
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
      .bind(24, to_json_array(inc.outsiders));
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
      "outsiders) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
      "?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)");
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
      "events = ?22, outsider_reads = ?23, outsiders = ?24 WHERE id = ?1");
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
    for (const auto& o : objects) {
      prepare("INSERT OR IGNORE INTO incident_objects (incident_id, object) VALUES (?1, ?2)")
          .bind(1, id)
          .bind(2, o)
          .run();
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
          "fingerprint_bytes, \"offset\", line, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
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
