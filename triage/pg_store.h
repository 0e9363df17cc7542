// The PostgreSQL incident store, over libpq: one database shared by several
// sevwatch processes. Same tables and migrations as the SQLite store, applied
// at open under an advisory lock; parameterized prepared statements only.
//
// Several writers: inside a transaction, find_by_dedup_key takes a
// transaction-scoped advisory lock on the key and locks the row (FOR UPDATE),
// so find → insert/update → commit is atomic per incident across processes;
// insert is also `ON CONFLICT (dedup_key) DO NOTHING` and, when the key exists
// anyway, sets the id of the existing incident instead of failing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "triage/incident_store.h"

struct pg_conn;
struct pg_result;

namespace sevwatch::triage {

class PgStore final : public IncidentStore {
 public:
  // `url` is a libpq URL (postgresql://user[:password]@host[:port]/db?...).
  // Connects and applies pending migrations. Throws StoreError naming the URL
  // without its password.
  explicit PgStore(const std::string& url);
  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

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

  // Notification outbox, silences and source checkpoints (pg_store_outbox.cpp).
  bool add_outbox_event(OutboxEvent& event) override;
  std::vector<OutboxEvent> unrouted_outbox_events(std::size_t limit) override;
  void mark_outbox_event_routed(std::int64_t event_id, std::int64_t now_ms) override;
  void add_deliveries(std::vector<Delivery>& deliveries) override;
  // Several processes may claim at once: each delivery goes to one of them
  // (FOR UPDATE SKIP LOCKED).
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
  void put_checkpoints(const std::vector<SourceCheckpoint>& checkpoints) override;
  std::vector<SourceCheckpoint> get_checkpoints(const std::string& source) override;
  // The grant journal and engine state (pg_store_journal.cpp).
  void append_journal(const std::string& name, std::vector<JournalRow>& rows) override;
  std::vector<JournalRow> load_journal(const std::string& name, std::int64_t after_seq,
                                       std::size_t limit) override;
  std::uint64_t compact_journal(const std::string& name, const std::vector<std::int64_t>& remove,
                                const std::vector<JournalRow>& rewrite) override;
  void put_state(const std::string& key, const std::string& value, std::int64_t now_ms) override;
  std::optional<std::string> get_state(const std::string& key) override;

  // The latest schema version this build knows.
  static int latest_schema_version();
  // `url` with the password (user:PASS@ and password=PASS) replaced by "***".
  static std::string redact_url(const std::string& url);
  const std::string& name() const { return name_; }

 private:
  class Result;
  // Runs `sql` (a prepared statement, cached by its text) with text parameters.
  Result run(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  void exec(const char* sql);
  [[noreturn]] void fail(const std::string& what, const pg_result* res) const;
  void connect();
  void migrate();
  void append_chunks(const std::string& name, std::vector<JournalRow>& rows, std::size_t chunk);
  bool in_transaction() const;

  std::string name_;  // the URL without its password, used in error messages
  pg_conn* conn_ = nullptr;
  bool tx_open_ = false;  // between begin() and commit()/rollback()
  struct Cache;
  std::unique_ptr<Cache> cache_;
};

}  // namespace sevwatch::triage
