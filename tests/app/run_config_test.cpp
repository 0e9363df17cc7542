// The run config: the shipped example loads, errors name the key, secrets are
// redacted from URLs.
#include "app/run_config.h"

#include <catch2/catch.hpp>
#include <cstdlib>

#include "tests/test_support.h"

using namespace sevwatch::app;
using namespace sevwatch::testing;

TEST_CASE("examples/sevwatch.yaml loads", "[run][config]") {
  RunConfig c;
  std::string error;
  const auto path = source_dir() / "examples" / "sevwatch.yaml";
  REQUIRE(load_run_config(path.string(), c, error));
  CHECK(error.empty());
  REQUIRE(c.sources.size() == 4);  // kafka is disabled
  CHECK(c.sources[0].type == "file");
  CHECK(c.sources[0].format == "ranger_audit");
  CHECK(c.sources[0].list("paths").at(0) ==
        (source_dir() / "examples" / "logs/ranger/*.jsonl").lexically_normal().string());
  CHECK(c.sources[1].type == "syslog_udp");
  CHECK(c.sources[2].type == "syslog_tcp");
  CHECK(c.sources[3].type == "http");
  CHECK(c.sources[3].format == "auto");
  CHECK(c.sources[3].get("token_env") == "SEVWATCH_INGEST_TOKEN");
  CHECK(c.flush_interval_ms == 1000);
  CHECK(c.max_line_bytes == 1048576);
  CHECK(c.max_depth == 64);
  CHECK(c.dead_letter_path ==
        (source_dir() / "examples" / "dead-letter.jsonl").lexically_normal().string());
  CHECK(c.store_url == "sqlite:" + (source_dir() / "examples" / "sevwatch.db").string());
}

TEST_CASE("run config errors name the file and key", "[run][config]") {
  TempDir dir("runcfg");
  auto check_error = [&](const std::string& yaml, const std::string& expected) {
    write_file(dir.path() / "c.yaml", yaml);
    RunConfig c;
    std::string error;
    CHECK_FALSE(load_run_config((dir.path() / "c.yaml").string(), c, error));
    INFO(error);
    CHECK(error.find(expected) != std::string::npos);
  };
  check_error("sources: []\n", "no (enabled) sources");
  check_error("bogus: 1\nsources: []\n", "unknown key 'bogus'");
  check_error("sources:\n  - type: file\n    paths: [a]\n", "has no format");
  check_error("sources:\n  - {type: file, format: cloudtrail, paths: [a]}\n",
              "sources[0].format: unknown format 'cloudtrail' (known: auto, ranger_audit,");
  check_error("flush_interval_ms: fast\nsources: []\n", "'flush_interval_ms' must be a number");
  check_error("limits: {max_lines: 3}\n", "unknown key 'limits.max_lines'");
  check_error("sources: [\n", "c.yaml:");
  RunConfig c;
  std::string error;
  CHECK_FALSE(load_run_config((dir.path() / "missing.yaml").string(), c, error));
}

TEST_CASE("run config: format auto is valid for every source type", "[run][config][auto]") {
  TempDir dir("runcfg-auto");
  write_file(dir.path() / "c.yaml", R"(sources:
  - {type: file, format: auto, paths: [a.log, "-"]}
  - {type: syslog_udp, format: auto, listen: "127.0.0.1:0"}
  - {type: syslog_tcp, format: auto, listen: "127.0.0.1:0"}
  - {type: http, format: auto, token: t}
  - {type: kafka, format: auto, brokers: "localhost:9092", topics: [t]}
)");
  RunConfig c;
  std::string error;
  REQUIRE(load_run_config((dir.path() / "c.yaml").string(), c, error));
  REQUIRE(c.sources.size() == 5);
  for (const auto& s : c.sources) CHECK(s.format == "auto");
}

TEST_CASE("store URLs are redacted for logs", "[run][config]") {
  CHECK(redact_url("postgresql://sev:hunter2@db:5432/sevwatch") ==
        "postgresql://sev:***@db:5432/sevwatch");
  CHECK(redact_url("postgresql://db/sevwatch?user=a&password=hunter2") ==
        "postgresql://db/sevwatch?user=a&password=***");
  CHECK(redact_url("sqlite:/var/lib/sevwatch.db") == "sqlite:/var/lib/sevwatch.db");
  CHECK(redact_url("host=db password=hunter2 dbname=x") == "host=db password=*** dbname=x");
}

TEST_CASE("run config: engine_state and rules_reload", "[run][config]") {
  TempDir dir("runcfg-state");
  const std::string sources = "sources:\n  - {type: file, format: pgaudit, paths: [a.log]}\n";
  RunConfig c;
  std::string error;
  write_file(dir.path() / "c.yaml", sources);
  REQUIRE(load_run_config((dir.path() / "c.yaml").string(), c, error));
  CHECK(c.state_name == "run");
  CHECK(c.rules_reload == RulesReload::signal);
  CHECK(c.compact_every == 600);
  CHECK(c.compact_lateness_ms == 3'600'000);

  write_file(dir.path() / "c.yaml",
             "engine_state: {name: eu-west.1}\nrules_reload: watch\n" + sources);
  REQUIRE(load_run_config((dir.path() / "c.yaml").string(), c, error));
  CHECK(c.state_name == "eu-west.1");
  CHECK(c.rules_reload == RulesReload::watch);

  write_file(dir.path() / "c.yaml",
             "engine_state: {compact_every: 0, compact_lateness: 15m}\n" + sources);
  REQUIRE(load_run_config((dir.path() / "c.yaml").string(), c, error));
  CHECK(c.compact_every == 0);
  CHECK(c.compact_lateness_ms == 15 * 60'000);

  auto check_error = [&](const std::string& yaml, const std::string& expected) {
    write_file(dir.path() / "c.yaml", yaml + sources);
    RunConfig bad;
    CHECK_FALSE(load_run_config((dir.path() / "c.yaml").string(), bad, error));
    INFO(error);
    CHECK(error.find(expected) != std::string::npos);
  };
  check_error("rules_reload: inotify\n", "'rules_reload' must be signal or watch");
  check_error("engine_state: {name: \"a b\"}\n", "'engine_state.name' must be");
  check_error("engine_state: {journal: off}\n", "unknown key 'engine_state.journal'");
  check_error("engine_state: run\n", "'engine_state' must be a mapping");
  check_error("engine_state: {compact_every: often}\n",
              "'engine_state.compact_every' must be a number");
  check_error("engine_state: {compact_lateness: soon}\n",
              "'engine_state.compact_lateness' must be a duration");
}
