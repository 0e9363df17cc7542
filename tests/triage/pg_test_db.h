// A fresh, empty PostgreSQL schema per test on the server named by
// SEVWATCH_TEST_PG_URL (scripts/pg-test-server.sh; scripts/test.sh sets it).
// The store is pointed at it with the URL's `options=-csearch_path=…`, so the
// tables it creates land there; the schema is dropped at the end.
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>

#include "tests/test_support.h"

namespace sevwatch::testing {

// The test server's URL, or nullopt (with a visible warning) when unset.
inline std::optional<std::string> pg_test_url() {
  const char* url = std::getenv("SEVWATCH_TEST_PG_URL");
  if (url == nullptr || *url == '\0') {
    WARN(
        "SEVWATCH_TEST_PG_URL is not set: PostgreSQL test skipped "
        "(scripts/test.sh starts a server; or: scripts/pg-test-server.sh start)");
    return std::nullopt;
  }
  return std::string(url);
}

// One direct libpq connection, for setting up and inspecting test databases.
class PgAdmin {
 public:
  explicit PgAdmin(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    INFO(PQerrorMessage(conn_));
    REQUIRE(PQstatus(conn_) == CONNECTION_OK);
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~PgAdmin() { PQfinish(conn_); }
  PgAdmin(const PgAdmin&) = delete;
  PgAdmin& operator=(const PgAdmin&) = delete;

  // Runs SQL without parameters (test-controlled text only); returns the first
  // column of the first row, or "".
  std::string query(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const auto st = PQresultStatus(r);
    const std::string err = PQresultErrorMessage(r);
    std::string v;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) v = PQgetvalue(r, 0, 0);
    PQclear(r);
    INFO(sql << ": " << err);
    REQUIRE((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK));
    return v;
  }

 private:
  PGconn* conn_;
};

// A uniquely named schema; url() opens stores inside it.
class PgTestDb {
 public:
  explicit PgTestDb(const std::string& base_url) : base_(base_url), admin_(base_url) {
    static std::atomic<int> counter{0};
    schema_ = "sevwatch_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    admin_.query("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    admin_.query("CREATE SCHEMA " + schema_);
  }
  ~PgTestDb() {
    try {
      admin_.query("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    } catch (...) {
    }
  }
  PgTestDb(const PgTestDb&) = delete;
  PgTestDb& operator=(const PgTestDb&) = delete;

  const std::string& schema() const { return schema_; }
  std::string url() const {
    const char sep = base_.find('?') == std::string::npos ? '?' : '&';
    return base_ + sep + "options=-csearch_path%3D" + schema_;
  }
  // SQL run with search_path set to this schema.
  std::string query(const std::string& sql) {
    return admin_.query("SET search_path TO " + schema_ + "; " + sql);
  }

 private:
  std::string base_;
  PgAdmin admin_;
  std::string schema_;
};

}  // namespace sevwatch::testing
