// IncidentStore::open: picks the store implementation from the URL.
#include "triage/incident_store.h"

#include "triage/pg_store.h"
#include "triage/sqlite_store.h"

namespace sevwatch::triage {

namespace {
bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

namespace {
[[noreturn]] void no_engine_state() {
  throw StoreError("engine state not supported by this store");
}
}  // namespace

void IncidentStore::append_journal(const std::string&, std::vector<JournalRow>&) {
  no_engine_state();
}
std::vector<JournalRow> IncidentStore::load_journal(const std::string&, std::int64_t, std::size_t) {
  no_engine_state();
}
std::uint64_t IncidentStore::compact_journal(const std::string&, const std::vector<std::int64_t>&,
                                             const std::vector<JournalRow>&) {
  no_engine_state();
}
void IncidentStore::put_state(const std::string&, const std::string&, std::int64_t) {
  no_engine_state();
}
std::optional<std::string> IncidentStore::get_state(const std::string&) {
  no_engine_state();
}

std::unique_ptr<IncidentStore> IncidentStore::open(const std::string& url, std::string& error) {
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://")) {
    try {
      return std::make_unique<PgStore>(url);
    } catch (const StoreError& e) {
      error = e.what();  // names the URL without its password
      return nullptr;
    }
  }
  std::string path = url;
  if (starts_with(url, "sqlite:")) {
    path = url.substr(7);
    // Accept sqlite:///abs/path and sqlite://rel as well as sqlite:PATH.
    if (starts_with(path, "//")) path = path.substr(2);
  }
  if (path.empty()) {
    error = url + ": no database path";
    return nullptr;
  }
  try {
    return std::make_unique<SqliteStore>(path);
  } catch (const StoreError& e) {
    error = e.what();
    return nullptr;
  }
}

}  // namespace sevwatch::triage
