// The SQLite incident store: one file, WAL, synchronous=FULL, foreign keys,
// a versioned schema migrated at open, cached prepared statements.
#pragma once

#include <memory>
#include <string>

#include "triage/incident_store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sevwatch::triage {

class SqliteStore final : public IncidentStore {
 public:
  // Opens or creates the database at `path` and applies pending migrations.
  // Throws StoreError.
  explicit SqliteStore(const std::string& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void begin() override;
  void commit() override;
  void rollback() override;

  std::optional<Incident> find_by_dedup_key(const std::string& key) override;
  void insert(Incident& incident) override;
  void update(const Incident& incident) override;
  std::uint64_t add_objects(std::int64_t id, const std::vector<std::string>& objects) override;
  std::size_t add_timeline(std::int64_t id, const std::vector<TimelineEntry>& entries) override;
  void put_readers(std::int64_t id, const std::vector<Reader>& readers) override;
  std::vector<Reader> get_readers(std::int64_t id) override;
  std::vector<Incident> list(std::optional<Status> status) override;
  std::optional<Incident> get(std::int64_t id, bool full) override;
  int schema_version() override;
  void put_checkpoints(const std::vector<SourceCheckpoint>& checkpoints) override;
  std::vector<SourceCheckpoint> get_checkpoints(const std::string& source) override;
  void append_journal(const std::string& name, std::vector<JournalRow>& rows) override;
  std::vector<JournalRow> load_journal(const std::string& name, std::int64_t after_seq,
                                       std::size_t limit) override;
  std::uint64_t compact_journal(const std::string& name, const std::vector<std::int64_t>& remove,
                                const std::vector<JournalRow>& rewrite) override;
  void put_state(const std::string& key, const std::string& value, std::int64_t now_ms) override;
  std::optional<std::string> get_state(const std::string& key) override;

  bool add_outbox_event(OutboxEvent& event) override;
  std::vector<OutboxEvent> unrouted_outbox_events(std::size_t limit) override;
  void mark_outbox_event_routed(std::int64_t event_id, std::int64_t now_ms) override;
  void add_deliveries(std::vector<Delivery>& deliveries) override;
  std::vector<Delivery> claim_deliveries(std::int64_t now_ms, std::int64_t lease_ms,
                                         std::size_t limit) override;
  std::vector<Delivery> pending_digest(const std::string& receiver, std::size_t limit) override;
  std::optional<std::int64_t> last_digest_ms(const std::string& receiver) override;
  void update_delivery(const Delivery& delivery) override;
  std::vector<Delivery> list_deliveries(std::int64_t incident_id,
                                        std::optional<DeliveryState> state) override;
  std::vector<OutboxEvent> list_outbox_events(std::int64_t incident_id) override;
  void add_silence(Silence& silence) override;
  std::vector<Silence> list_silences(bool include_inactive, std::int64_t now_ms) override;
  bool expire_silence(std::int64_t id, const std::string& by, std::int64_t now_ms) override;

  // The latest schema version this build knows.
  static int latest_schema_version();
  // PRAGMA journal_mode, e.g. "wal" (for checks and tests).
  std::string journal_mode();
  const std::string& name() const { return name_; }

 private:
  class Stmt;
  Stmt prepare(const char* sql);
  void exec(const char* sql);
  [[noreturn]] void fail(const std::string& what) const;
  void migrate();
  bool in_transaction() const;
  Incident read_summary(Stmt& s);

  std::string name_;  // "sqlite:PATH", used in error messages
  sqlite3* db_ = nullptr;
  struct Cache;
  std::unique_ptr<Cache> cache_;
};

}  // namespace sevwatch::triage
