// `sevwatch run` as a process: the example config drives a real run; SIGTERM
// commits and exits 0; SIGKILL mid-way and a restart from the committed
// checkpoint lose nothing (the incidents equal a full scan's).
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <regex>

#include "tests/app/daemon_runner.h"

using namespace sevwatch::testing;
namespace fs = std::filesystem;

namespace {

// Grant k makes table cK.dbK.t readable by GROUP public: one incident
// each (one rule, group_by catalog), so a lost line is a missing incident
// whatever the engine's in-memory state.
std::string grant_line(int k) {
  return fmt::format(
             R"({{"repoType":3,"repo":"c{:04}","reqUser":"etl","evtTime":"2026-08-20 {:02}:{:02}:{:02}.000","access":"grant","resource":"db{}/t/*","resType":"@column","action":"grant","result":1,"reqData":"GRANT SELECT ON TABLE db{}.t TO GROUP public","id":"g-{}"}})",
             k, 8 + k / 3600, (k / 60) % 60, k % 60, k, k, k) +
         "\n";
}

// (dedup_key, objects, sev) of every incident, sorted.
std::vector<std::string> incident_keys(const fs::path& db) {
  const auto r = run_cli({"incidents", "list", "--store", "sqlite:" + db.string(), "--json"});
  REQUIRE(r.status == 0);
  std::vector<std::string> out;
  const auto doc = parse_json(r.out);
  for (const auto& v : doc.as_array()) {
    const auto& o = v.as_object();
    out.push_back(fmt::format("{} objects={} sev={}", o.at("dedup_key").as_string().c_str(),
                              o.at("scope").as_object().at("objects").as_int64(),
                              o.at("sev").as_int64()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("sevwatch run with the example config follows a file; SIGTERM exits 0", "[run]") {
  TempDir dir("run-example");
  std::string cfg = read_file(source_dir() / "examples" / "sevwatch.yaml");
  // Free ports, a short commit interval.
  cfg = std::regex_replace(cfg, std::regex("127\\.0\\.0\\.1:55?1[45]|127\\.0\\.0\\.1:8088"),
                           "127.0.0.1:0");
  cfg = std::regex_replace(cfg, std::regex("flush_interval_ms: 1000"), "flush_interval_ms: 100");
  write_file(dir.path() / "sevwatch.yaml", cfg);
  const auto log = dir.path() / "logs" / "ranger" / "a.jsonl";
  write_file(log, read_file(fixture("ranger_audit/sample.jsonl")) + "garbage\n");
  const auto err = dir.path() / "err.txt";
  const pid_t pid = spawn({"run", "--config", (dir.path() / "sevwatch.yaml").string()}, err,
                          {"SEVWATCH_INGEST_TOKEN=canary-token-1234"});
  const auto db = dir.path() / "sevwatch.db";
  REQUIRE(wait_for([&] { return checkpoint_offset(db, "ranger") == fs::file_size(log); }, 20000));
  ::kill(pid, SIGTERM);
  CHECK(wait_exit(pid) == 0);
  const std::string text = read_file(err);
  INFO(text);
  CHECK(text.find("not at-least-once") != std::string::npos);
  CHECK(text.find("SIGTERM: stopping sources and committing") != std::string::npos);
  CHECK(text.find("canary-token-1234") == std::string::npos);
  const std::string dead = read_file(dir.path() / "dead-letter.jsonl");
  CHECK(dead.find("\"raw\":\"garbage\"") != std::string::npos);
  CHECK(dead.find("\"reason\":\"invalid_json\"") != std::string::npos);
  // Every line of the fixture went through (the incidents depend on the
  // shipped rule pack, checked elsewhere).
  CHECK(text.find("committed: 6 events, 1 rejected") != std::string::npos);
  CHECK(incident_keys(db).size() < 100);  // the store is readable by `incidents list`
}

TEST_CASE("sevwatch run: SIGKILL mid-way, restart from the checkpoint, nothing lost",
          "[run][crash]") {
  TempDir dir("run-crash");
  write_file(dir.path() / "context.yaml", run_context_all_confidential());
  write_file(dir.path() / "rules" / "exposure.yaml", run_exposure_rule());
  write_file(dir.path() / "run.yaml", R"(context: context.yaml
rules: [rules]
store: sqlite:live.db
dead_letter: dead.jsonl
flush_interval_ms: 100
sources:
  - name: audit
    type: file
    format: ranger_audit
    paths: [audit.jsonl]
    poll_interval_ms: 20
)");
  const auto log = dir.path() / "audit.jsonl";
  const auto db = dir.path() / "live.db";
  const auto err = dir.path() / "err.txt";
  constexpr int kTotal = 600;
  write_file(log, "");
  const std::vector<std::string> args = {"run", "--config", (dir.path() / "run.yaml").string()};

  pid_t pid = spawn(args, err);
  int next = 0;
  auto write_some = [&](int n) {
    std::string chunk;
    for (int i = 0; i < n && next < kTotal; ++i) chunk += grant_line(next++);
    append(log, chunk);
  };
  while (next < 250) {
    write_some(25);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  // At least one commit has happened; then more lines, and kill -9 while the
  // daemon is still reading them.
  REQUIRE(wait_for([&] { return checkpoint_offset(db, "audit") > 0; }, 20000));
  write_some(100);
  std::this_thread::sleep_for(std::chrono::milliseconds(15));
  ::kill(pid, SIGKILL);
  CHECK(wait_exit(pid) == 128 + SIGKILL);
  const auto at_kill = checkpoint_offset(db, "audit");
  CHECK(at_kill > 0);
  CHECK(at_kill < fs::file_size(log));  // the kill interrupted a run that had not caught up
  write_some(kTotal);                   // the rest, while it is down

  pid = spawn(args, err);
  const auto size = fs::file_size(log);
  REQUIRE(wait_for([&] { return checkpoint_offset(db, "audit") == size; }, 30000));
  ::kill(pid, SIGTERM);
  CHECK(wait_exit(pid) == 0);
  const std::string text = read_file(err);
  INFO(text);
  // The second run resumed from the committed checkpoint, not from 0.
  CHECK(text.find(fmt::format("from its checkpoint at offset {}", at_kill)) != std::string::npos);

  // A full scan of the same file with the same context and rules.
  const auto full = dir.path() / "full.db";
  const auto scan = run_cli({"scan", "--context", (dir.path() / "context.yaml").string(), "--rules",
                             (dir.path() / "rules").string(), "--store", "sqlite:" + full.string(),
                             "--format", "ranger_audit", log.string()});
  REQUIRE(scan.status == 0);
  const auto live = incident_keys(db);
  const auto expected = incident_keys(full);
  CHECK(expected.size() == static_cast<std::size_t>(kTotal));
  CHECK(live == expected);
}
