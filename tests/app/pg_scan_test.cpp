// `sevwatch scan --store postgresql://…` end to end with the real binary: two
// processes scanning the same logs into one database at the same time open
// one incident between them. Needs SEVWATCH_TEST_PG_URL (scripts/test.sh
// starts a server), else skipped with a warning.
#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <thread>

#include "app/demo_generator.h"
#include "tests/app/cli_runner.h"
#include "tests/triage/pg_test_db.h"

using namespace sevwatch::testing;
namespace json = boost::json;

namespace {

// A small day of the demo warehouse (with outsider reads).
const sevwatch::app::DemoFiles& pg_small_demo() {
  static TempDir tmp("pgscan");
  static sevwatch::app::DemoFiles files = [] {
    sevwatch::app::DemoOptions o;
    o.outsiders = true;
    o.ordinary_events = 20'000;
    return sevwatch::app::write_demo(tmp.path() / "demo", o);
  }();
  return files;
}

std::vector<std::string> scan_args(const std::string& store) {
  return {"scan",
          "--json",
          "--context",
          pg_small_demo().context.string(),
          "--store",
          store,
          pg_small_demo().logs.string()};
}

// Runs the binary from any thread (no Catch assertions inside); stderr goes
// to `err_file`.
CliResult run_plain(const std::vector<std::string>& args, const std::filesystem::path& err_file) {
  std::string cmd = shell_quote(SEVWATCH_BINARY);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2> " + shell_quote(err_file.string());
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 65536> buf;
  std::size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), got);
  const int rc = ::pclose(p);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.err = read_file(err_file);
  return r;
}

}  // namespace

// Every incident of a store by dedup key, as `show --json` gives it, without
// what differs between stores and runs (id, wall-clock times, the timeline,
// which is checked apart).
std::map<std::string, json::object> incidents_by_key(const std::string& store) {
  std::map<std::string, json::object> out;
  const auto list = run_cli({"incidents", "list", "--store", store, "--json"});
  REQUIRE(list.status == 0);
  const auto listed = parse_json(list.out);
  for (const auto& v : listed.as_array()) {
    const auto id = v.as_object().at("id").as_int64();
    const auto show =
        run_cli({"incidents", "show", std::to_string(id), "--store", store, "--json"});
    REQUIRE(show.status == 0);
    auto o = parse_json(show.out).as_object();
    long opened = 0;
    for (const auto& e : o.at("timeline").as_array()) {
      opened += e.as_object().at("kind").as_string() == "opened" ? 1 : 0;
    }
    INFO(store << " incident " << id);
    CHECK(opened == 1);
    for (const char* k : {"id", "detected_at", "updated_at", "timeline", "metrics"}) o.erase(k);
    const std::string key(o.at("dedup_key").as_string());
    CHECK(out.emplace(key, std::move(o)).second);
  }
  return out;
}

TEST_CASE("two sevwatch processes scanning into one PostgreSQL open each incident once",
          "[scan][pg][concurrency]") {
  const auto base = pg_test_url();
  if (!base) return;
  PgTestDb db(*base);
  const std::string store = db.url();
  TempDir tmp("pgscan-err");

  // What one process alone makes of the logs (SQLite).
  const std::string reference = "sqlite:" + (tmp.path() / "reference.db").string();
  const auto ref_scan = run_cli(scan_args(reference));
  INFO(ref_scan.err);
  REQUIRE(ref_scan.status == 0);
  const auto expected = incidents_by_key(reference);
  REQUIRE_FALSE(expected.empty());

  std::array<CliResult, 2> results;
  {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < results.size(); ++i) {
      threads.emplace_back([&, i] {
        results[i] =
            run_plain(scan_args(store), tmp.path() / ("err-" + std::to_string(i) + ".txt"));
      });
    }
    for (auto& t : threads) t.join();
  }
  std::int64_t opened = 0;
  for (const auto& r : results) {
    INFO(r.err);
    REQUIRE(r.status == 0);
    opened += parse_json(r.out).as_object().at("incidents_opened").as_int64();
  }
  CHECK(opened == static_cast<std::int64_t>(expected.size()));

  // Once more, after both: nothing new.
  const auto again = run_cli(scan_args(store));
  INFO(again.err);
  REQUIRE(again.status == 0);
  CHECK(parse_json(again.out).as_object().at("incidents_opened").as_int64() == 0);

  // The same incidents as one process makes, each once.
  const auto got = incidents_by_key(store);
  CHECK(got.size() == expected.size());
  for (const auto& [key, inc] : expected) {
    INFO(key);
    const auto it = got.find(key);
    REQUIRE(it != got.end());
    CHECK(json::serialize(it->second) == json::serialize(inc));
  }
  CHECK(db.query("SELECT COUNT(*) FROM incidents") == std::to_string(expected.size()));
}

TEST_CASE("scan reports an unreachable PostgreSQL store without its password", "[scan][pg]") {
  const auto r = run_cli({"scan", "--store",
                          "postgresql://alice:hunter2secret@127.0.0.1:1/x?connect_timeout=2",
                          (pg_small_demo().logs / "ranger-audit-2026-08-20-10.jsonl").string()});
  CHECK(r.status == 1);
  CHECK(r.err.find("postgresql://alice:***@127.0.0.1:1/x") != std::string::npos);
  CHECK(r.err.find("hunter2") == std::string::npos);
  CHECK(r.out.find("hunter2") == std::string::npos);
}
