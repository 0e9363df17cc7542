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

namespace sevwatch::triage {

// A store failure (I/O, corruption, constraint); the message is one line that
// names the store.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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
};

}  // namespace sevwatch::triage
