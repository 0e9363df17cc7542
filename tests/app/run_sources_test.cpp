// `sevwatch run` (and `scan`) with the real binary on the input shapes of the
// warehouse audit feeds: format auto over a glob of files in different
// formats and over HTTP, one-line CloudTrail `Records` files of several MB
// (plain and gzipped), and a multi-line pgaudit statement that straddles a
// commit when the process is killed.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <map>
#include <regex>

#include "tests/app/daemon_runner.h"
#include "tests/http_exchange.h"
#include "tests/records_file.h"

using namespace sevwatch::testing;
namespace fs = std::filesystem;

namespace {

std::string ranger_grant(int k) {
  return fmt::format(
      R"({{"repoType":3,"repo":"c{}","reqUser":"etl","evtTime":"2026-08-20 09:00:{:02}.000","access":"grant","resource":"db/t/*","resType":"@column","action":"grant","result":1,"reqData":"GRANT SELECT ON TABLE db.t TO GROUP public","id":"g-{}"}})"
      "\n",
      k, k % 60, k);
}

// A one-line pgaudit record (statement id `id`).
std::string pg_line(int id) {
  return fmt::format(
      "2026-08-20 09:14:{:02}.000 UTC alice dw [4821]: LOG:  AUDIT: "
      "SESSION,{},1,READ,SELECT,TABLE,sales.orders,SELECT 1 FROM sales.orders,<not logged>\n",
      id % 60, id);
}

// The run config: the given sources, a store and dead letter in `dir`.
void write_config(const fs::path& dir, const std::string& sources) {
  write_file(dir / "context.yaml", run_context_all_confidential());
  write_file(dir / "rules" / "exposure.yaml", run_exposure_rule());
  write_file(dir / "run.yaml", R"(context: context.yaml
rules: [rules]
store: sqlite:live.db
dead_letter: dead.jsonl
flush_interval_ms: 100
sources:
)" + sources);
}

// Stream -> committed offset of a source's checkpoints.
std::map<std::string, std::uint64_t> checkpoints(const fs::path& db, const std::string& source) {
  std::map<std::string, std::uint64_t> out;
  if (!fs::exists(db)) return out;
  std::string error;
  auto store = sevwatch::triage::IncidentStore::open("sqlite:" + db.string(), error);
  if (!store) return out;
  try {
    for (const auto& c : store->get_checkpoints(source)) out[c.stream] = c.offset;
  } catch (const std::exception&) {
  }
  return out;
}

std::string http_post(std::uint16_t port, const std::string& token, const std::string& body) {
  return http_exchange(port,
                       "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                       "Authorization: Bearer " +
                           token + "\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\n\r\n" + body);
}

}  // namespace

TEST_CASE("sevwatch run, format auto: a glob of files in different formats, and HTTP",
          "[run][auto]") {
  TempDir dir("run-auto");
  write_config(dir.path(), R"(  - name: files
    type: file
    format: auto
    paths: ["logs/*"]
    poll_interval_ms: 20
  - name: ingest
    type: http
    format: auto
    listen: 127.0.0.1:0
    token_env: SEVWATCH_TEST_TOKEN
)");
  const auto logs = dir.path() / "logs";
  const int n = records_for(3 << 20);
  write_file(logs / "ranger.jsonl", ranger_grant(1) + ranger_grant(2));
  write_file(logs / "postgresql.log", pg_line(1) + pg_line(2) + pg_line(3));
  write_file(logs / "trail.json", records_line(n));
  write_gzip_file(logs / "old-trail.json.gz", records_line(n));
  write_file(logs / "notes.txt", "remember the milk\n");
  const auto err = dir.path() / "err.txt";
  const auto db = dir.path() / "live.db";
  const pid_t pid = spawn({"run", "--config", (dir.path() / "run.yaml").string()}, err,
                          {"SEVWATCH_TEST_TOKEN=tok-123"});
  // Every file committed; pgaudit's last record is held (it may go on), so
  // its checkpoint stays at that record's start.
  const auto pg_held = fs::file_size(logs / "postgresql.log") - pg_line(3).size();
  REQUIRE(wait_for(
      [&] {
        auto c = checkpoints(db, "files");
        return c.size() == 5 &&
               c[(logs / "ranger.jsonl").string()] == fs::file_size(logs / "ranger.jsonl") &&
               c[(logs / "postgresql.log").string()] == pg_held &&
               c[(logs / "trail.json").string()] == fs::file_size(logs / "trail.json") &&
               c[(logs / "notes.txt").string()] == fs::file_size(logs / "notes.txt");
      },
      30000));

  std::smatch m;
  std::string text = read_file(err);
  REQUIRE(std::regex_search(text, m, std::regex("HTTP ingest on http://127\\.0\\.0\\.1:(\\d+)/")));
  const auto port = static_cast<std::uint16_t>(std::stoi(m[1].str()));
  const std::string response =
      http_post(port, "tok-123",
                ranger_grant(3) + trail_record(1) + "\n" + "not a log line\n" + ranger_grant(4));
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(response.find("\"accepted\":4,\"events\":3,\"rejected\":1") != std::string::npos);
  ::kill(pid, SIGTERM);
  CHECK(wait_exit(pid) == 0);
  text = read_file(err);
  INFO(text);
  CHECK(text.find("ranger.jsonl: format auto: ranger_audit") != std::string::npos);
  CHECK(text.find("postgresql.log: format auto: pgaudit") != std::string::npos);
  CHECK(text.find("trail.json: format auto: aws_cloudtrail") != std::string::npos);
  // Files: 2 + 2 + n + n; HTTP: 3. Rejected: the notes line, the HTTP junk line.
  CHECK(text.find(fmt::format("stopped: {} events, 2 rejected", 2 + 2 + 2 * n + 3)) !=
        std::string::npos);
  const std::string dead = read_file(dir.path() / "dead.jsonl");
  CHECK(dead.find("\"raw\":\"remember the milk\"") != std::string::npos);
  CHECK(dead.find("\"raw\":\"not a log line\"") != std::string::npos);
  CHECK(dead.find("\"reason\":\"unknown_format\"") != std::string::npos);
  CHECK(dead.find("line_too_long") == std::string::npos);
}

TEST_CASE("sevwatch scan decodes a 3 MB one-line Records file, plain and gzip",
          "[scan][cloudtrail]") {
  TempDir dir("scan-records");
  const int n = records_for(3 << 20);
  write_file(dir.path() / "trail.json", records_line(n));
  write_gzip_file(dir.path() / "trail2.json.gz", records_line(n));
  for (const char* format : {"auto", "aws_cloudtrail"}) {
    INFO(format);
    const auto r = run_cli({"scan", "--json", "--store",
                            "sqlite:" + (dir.path() / (std::string(format) + ".db")).string(),
                            "--format", format, (dir.path() / "trail.json").string(),
                            (dir.path() / "trail2.json.gz").string()});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto o = parse_json(r.out).as_object();
    CHECK(o.at("events").as_int64() == 2 * n);
    CHECK(o.at("rejected").as_object().empty());
  }
}

TEST_CASE("sevwatch run: a multi-line pgaudit statement across a commit survives kill -9",
          "[run][crash][pgaudit]") {
  TempDir dir("run-pg-straddle");
  write_config(dir.path(), R"(  - name: pg
    type: file
    format: pgaudit
    paths: [postgresql.log]
    poll_interval_ms: 20
)");
  const auto log = dir.path() / "postgresql.log";
  const auto db = dir.path() / "live.db";
  const auto err = dir.path() / "err.txt";
  const std::vector<std::string> args = {"run", "--config", (dir.path() / "run.yaml").string()};
  const std::string before = pg_line(1) + pg_line(2);
  // GRANT SELECT ON TABLE sales.orders TO PUBLIC, over three physical lines.
  const std::string head =
      "2026-08-20 09:15:00.000 UTC etl dw [4900]: LOG:  AUDIT: SESSION,7,1,ROLE,GRANT,,,\"GRANT "
      "SELECT\n";
  const std::string middle = "\tON TABLE sales.orders\n";
  const std::string tail = "\tTO PUBLIC\",<not logged>\n";
  write_file(log, before + head + middle);

  pid_t pid = spawn(args, err);
  // Records 1 and 2 are committed; the statement is held, so the checkpoint
  // stays at its start however often the pipeline commits.
  REQUIRE(wait_for([&] { return checkpoint_offset(db, "pg") == before.size(); }, 20000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // more commits
  CHECK(checkpoint_offset(db, "pg") == before.size());
  ::kill(pid, SIGKILL);
  CHECK(wait_exit(pid) == 128 + SIGKILL);

  append(log, tail + pg_line(8));
  pid = spawn(args, err);
  const auto held = fs::file_size(log) - pg_line(8).size();  // record 8 waits for more
  REQUIRE(wait_for([&] { return checkpoint_offset(db, "pg") == held; }, 20000));
  ::kill(pid, SIGTERM);
  CHECK(wait_exit(pid) == 0);
  const std::string text = read_file(err);
  INFO(text);
  CHECK(text.find(fmt::format("from its checkpoint at offset {} (line 2)", before.size())) !=
        std::string::npos);
  // The second run: the statement whole, once, and nothing rejected.
  CHECK(text.find("stopped: 1 events, 0 rejected") != std::string::npos);
  const auto dead = dir.path() / "dead.jsonl";
  CHECK((!fs::exists(dead) || read_file(dead).empty()));
  // The GRANT to PUBLIC opened its exposure incident on dw.sales.orders.
  const auto r = run_cli({"incidents", "list", "--store", "sqlite:" + db.string(), "--json"});
  REQUIRE(r.status == 0);
  const auto incidents = parse_json(r.out).as_array();
  REQUIRE(incidents.size() == 1);
  CHECK(incidents[0].as_object().at("scope").as_object().at("objects").as_int64() == 1);
}
