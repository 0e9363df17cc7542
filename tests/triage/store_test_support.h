// Helpers for the store tests: the stores to run the suite against (a fresh
// database each), opening by URL, sample incidents.
#pragma once

#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/test_support.h"
#include "tests/triage/pg_test_db.h"
#include "triage/incident_store.h"
#include "triage/pg_store.h"
#include "triage/sqlite_store.h"

namespace sevwatch::testing {

struct SqliteBackend {
  TempDir dir{"store"};
  bool available() const { return true; }
  std::string url() const { return "sqlite:" + (dir.path() / "i.db").string(); }
  std::string prefix() const { return "sqlite:"; }
  static int latest() { return triage::SqliteStore::latest_schema_version(); }
};

struct PgBackend {
  std::optional<std::string> base = pg_test_url();
  std::unique_ptr<PgTestDb> db = base ? std::make_unique<PgTestDb>(*base) : nullptr;
  bool available() const { return db != nullptr; }
  std::string url() const { return db->url(); }
  std::string prefix() const { return "postgresql://"; }
  static int latest() { return triage::PgStore::latest_schema_version(); }
};

inline std::unique_ptr<triage::IncidentStore> open_store_at(const std::string& url) {
  std::string error;
  auto s = triage::IncidentStore::open(url, error);
  INFO(error);
  REQUIRE(s);
  return s;
}

inline triage::Incident sample_incident(const std::string& key) {
  triage::Incident inc;
  inc.sev = 2;
  inc.rubric_sev = 2;
  inc.rule = "grant-broad-audience";
  inc.title = "Sensitive tables readable company-wide";
  inc.dedup_key = key;
  inc.opened_at_ms = 1'787'220'000'000;
  inc.detected_at_ms = 1'787'300'000'000;
  inc.updated_at_ms = 1'787'300'000'000;
  inc.sev_reason = "high sensitivity × company audience → SEV 2 (base)";
  inc.runbook = "runbooks/grant-broad-audience.md";
  inc.objects = 0;
  inc.sensitivity = {"people_performance", "prompts_transcripts"};
  inc.level = "high";
  inc.audience = "company";
  inc.grantees = {"public"};
  inc.actors = {"svc-mci-pipeline"};
  return inc;
}

// The 90 databases × 500 tables of the seed incident.
inline std::vector<std::string> seed_object_names() {
  std::vector<std::string> names;
  names.reserve(45000);
  for (int db = 0; db < 90; ++db) {
    for (int t = 0; t < 500; ++t) names.push_back(fmt::format("dw_hive.mci_{:02}.t_{:03}", db, t));
  }
  return names;
}

}  // namespace sevwatch::testing
