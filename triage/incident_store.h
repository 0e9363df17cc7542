// Where incidents live. SQLite is the default (WAL, synchronous=FULL, one
// writer, versioned schema); the interface is what a PostgreSQL store will
// also implement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "triage/incident.h"
#include "triage/outbox.h"

namespace sevwatch::triage {

// A store failure (I/O, corruption, constraint); the message is one line that
// names the store.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a source has durably got to in one of its streams (a file: offset,
// inode and a fingerprint of its first bytes, so a rotated or replaced file is
// recognized). Written only after the events before `offset` are committed.
struct SourceCheckpoint {
  std::string source;  // the source's name in the run config
  std::string stream;  // e.g. the file's path
  std::uint64_t inode = 0;
  std::string fingerprint;              // hex hash of the first `fingerprint_bytes` bytes
  std::uint64_t fingerprint_bytes = 0;  // 0: the file was empty
  std::uint64_t offset = 0;             // bytes consumed (a line boundary)
  std::uint64_t line = 0;               // lines consumed
  std::int64_t updated_at_ms = 0;
};

// One row of a rule engine's grant journal (`sevwatch run`): an event that the
// engine needs again to rebuild its exposure state after a restart or a rules
// reload, in the order the engine processed it.
struct JournalRow {
  std::int64_t seq = 0;    // set by the store: increasing within a journal
  std::int64_t at_ms = 0;  // the event's time (for people reading the table)
  std::string event;       // the event, as app/event_journal.h encodes it (ASCII)
};

// Methods throw StoreError on failure.
class IncidentStore {
 public:
  virtual ~IncidentStore() = default;

  // "sqlite:PATH" (or a bare path). On failure returns nullptr and sets `error`
  // to one line naming the URL.
  static std::unique_ptr<IncidentStore> open(const std::string& url, std::string& error);

  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;

  virtual std::optional<Incident> find_by_dedup_key(const std::string& key) = 0;
  // Inserts the incident's summary columns and sets `incident.id`.
  virtual void insert(Incident& incident) = 0;
  // Replaces the summary columns of an existing incident.
  virtual void update(const Incident& incident) = 0;
  // Adds objects to the incident's scope; existing ones are ignored.
  // Returns how many objects the incident has afterwards.
  virtual std::uint64_t add_objects(std::int64_t id, const std::vector<std::string>& objects) = 0;
  // Appends entries; an entry equal to an existing one (at, kind, text) is ignored.
  // Returns how many entries were new.
  virtual std::size_t add_timeline(std::int64_t id, const std::vector<TimelineEntry>& entries) = 0;
  // Inserts or replaces reader rows by principal.
  virtual void put_readers(std::int64_t id, const std::vector<Reader>& readers) = 0;
  // The incident's reader rows, sorted by principal.
  virtual std::vector<Reader> get_readers(std::int64_t id) = 0;

  // Summaries, newest first; `status` filters when set.
  virtual std::vector<Incident> list(std::optional<Status> status) = 0;
  // With `full`, also objects, readers and timeline.
  virtual std::optional<Incident> get(std::int64_t id, bool full) = 0;

  virtual int schema_version() = 0;

  // ---- Source checkpoints (`sevwatch run`). The defaults throw
  // StoreError("checkpoints not supported by this store").

  // Inserts or replaces checkpoints by (source, stream), atomically: in the
  // caller's transaction when one is open, else in one of its own.
  virtual void put_checkpoints(const std::vector<SourceCheckpoint>& checkpoints) {
    (void)checkpoints;
    throw StoreError("checkpoints not supported by this store");
  }
  // One source's checkpoints, sorted by stream.
  virtual std::vector<SourceCheckpoint> get_checkpoints(const std::string& source) {
    (void)source;
    throw StoreError("checkpoints not supported by this store");
  }

  // ---- Rule engine state (`sevwatch run`): the grant journal and named text
  // values (first_seen baselines). The defaults throw
  // StoreError("engine state not supported by this store").

  // Appends rows to journal `name`, in order, and sets their `seq`:
  // atomically, in the caller's transaction when one is open.
  virtual void append_journal(const std::string& name, std::vector<JournalRow>& rows);
  // Rows of journal `name` with seq > `after_seq`, in seq order, at most `limit`.
  virtual std::vector<JournalRow> load_journal(const std::string& name, std::int64_t after_seq,
                                               std::size_t limit);
  // A compaction of journal `name` (app/journal_compaction.h), atomically: in
  // the caller's transaction when one is open, else in one of its own.
  // Deletes the rows whose seq is in `remove` and replaces the event text of
  // the rows in `rewrite` (by seq; `at_ms` is not changed). Rows of other
  // journals are never touched. Returns how many rows were deleted.
  virtual std::uint64_t compact_journal(const std::string& name,
                                        const std::vector<std::int64_t>& remove,
                                        const std::vector<JournalRow>& rewrite);
  // Inserts or replaces a value (printable text) by key, in the caller's
  // transaction when one is open.
  virtual void put_state(const std::string& key, const std::string& value, std::int64_t now_ms);
  virtual std::optional<std::string> get_state(const std::string& key);

  // ---- Notification outbox (triage/outbox.h). The defaults throw
  // StoreError("outbox not supported by this store"); SqliteStore implements
  // them. Callers use begin()/commit() around them as for the methods above.

  // Queues an event; ignored when its key exists. Sets `event.id` and returns
  // true when it was new.
  virtual bool add_outbox_event(OutboxEvent& event);
  // Events not yet routed, oldest first.
  virtual std::vector<OutboxEvent> unrouted_outbox_events(std::size_t limit);
  virtual void mark_outbox_event_routed(std::int64_t event_id, std::int64_t now_ms);
  // Inserts deliveries; one whose key exists is ignored. Sets ids of the new ones.
  virtual void add_deliveries(std::vector<Delivery>& deliveries);
  // Claims up to `limit` pending deliveries due at `now_ms` (digest ones
  // excluded) whose lease is free, for `lease_ms`. A delivery is not claimed
  // while an earlier one to the same receiver about the same incident is still
  // pending, so a trigger always goes out before its resolve.
  virtual std::vector<Delivery> claim_deliveries(std::int64_t now_ms, std::int64_t lease_ms,
                                                 std::size_t limit);
  // Pending digest deliveries of one receiver, oldest first (not leased).
  virtual std::vector<Delivery> pending_digest(const std::string& receiver, std::size_t limit);
  // Wall clock of the last delivered digest message of a receiver, if any.
  virtual std::optional<std::int64_t> last_digest_ms(const std::string& receiver);
  // Writes state, attempts, next_at, last_error, delivered_at and releases the lease.
  virtual void update_delivery(const Delivery& delivery);
  // Deliveries, oldest first; filtered by incident (when > 0) and state.
  virtual std::vector<Delivery> list_deliveries(std::int64_t incident_id,
                                                std::optional<DeliveryState> state);
  virtual std::vector<OutboxEvent> list_outbox_events(std::int64_t incident_id);

  // ---- Silences.
  virtual void add_silence(Silence& silence);  // sets id
  // With `include_inactive` also expired and future ones; newest first.
  virtual std::vector<Silence> list_silences(bool include_inactive, std::int64_t now_ms);
  // Sets ends_ms to now; false when there is no such active silence.
  virtual bool expire_silence(std::int64_t id, const std::string& by, std::int64_t now_ms);
};

}  // namespace sevwatch::triage
