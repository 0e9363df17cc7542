#include "detectors/input_reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <string>

#include "detectors/decoder.h"
#include "tests/detectors/event_render.h"
#include "tests/records_file.h"
#include "tests/test_support.h"

using namespace sevwatch::detectors;
using sevwatch::detectors::testing::CollectingSink;
using sevwatch::detectors::testing::render_all;
namespace fs = std::filesystem;

namespace {

DecoderRegistry builtin() {
  DecoderRegistry r;
  register_builtin_decoders(r);
  return r;
}

std::string ranger_line(const std::string& user) {
  return R"({"repoType":3,"repo":"r","reqUser":")" + user +
         R"(","evtTime":"2026-08-20 09:00:00.000","access":"SELECT","resource":"db/t","result":1})";
}

void write_gzip(const fs::path& p, const std::string& text) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, text.data(), static_cast<unsigned>(text.size())) ==
          static_cast<int>(text.size()));
  gzclose(f);
}

}  // namespace

TEST_CASE("read_input: gzip input decodes like plain input", "[input]") {
  sevwatch::testing::TempDir dir("gz");
  const std::string text =
      sevwatch::testing::read_file(sevwatch::testing::fixture("ranger_audit/sample.jsonl"));
  write_gzip(dir.path() / "sample.jsonl.gz", text);
  const auto registry = builtin();
  CollectingSink plain, gz;
  const auto rp = read_input(sevwatch::testing::fixture("ranger_audit/sample.jsonl").string(),
                             "auto", registry, DecoderOptions{}, plain);
  const auto rg =
      read_input((dir.path() / "sample.jsonl.gz").string(), "auto", registry, DecoderOptions{}, gz);
  REQUIRE(rp.ok);
  REQUIRE(rg.ok);
  CHECK(rg.format == "ranger_audit");
  CHECK(rg.lines == rp.lines);
  CHECK(rg.bytes == text.size());
  CHECK(gz.events.size() == 6);
  CHECK(render_all(gz) == render_all(plain));
}

TEST_CASE("read_input: a cut-off gzip stream is reported, what came before is kept", "[input]") {
  sevwatch::testing::TempDir dir("gzcut");
  std::string text;
  for (int i = 0; i < 2000; ++i) text += ranger_line("u" + std::to_string(i)) + "\n";
  write_gzip(dir.path() / "full.gz", text);
  const std::string gz = sevwatch::testing::read_file(dir.path() / "full.gz");
  sevwatch::testing::write_file(dir.path() / "cut.gz", gz.substr(0, gz.size() / 2));
  CollectingSink sink;
  const auto r = read_input((dir.path() / "cut.gz").string(), "ranger_audit", builtin(),
                            DecoderOptions{}, sink);
  REQUIRE(r.ok);
  CHECK(sink.events.size() > 10);
  CHECK(sink.events.size() < 2000);
  CHECK(sink.count(weird::kTruncatedInput) == 1);
}

TEST_CASE("read_input: CRLF line ends, blank lines and positions", "[input]") {
  sevwatch::testing::TempDir dir("crlf");
  const std::string l1 = ranger_line("a");
  const std::string l3 = ranger_line("b");
  const std::string text = l1 + "\r\n\r\n" + l3 + "\r\n" + ranger_line("c");  // no final newline
  sevwatch::testing::write_file(dir.path() / "crlf.jsonl", text);
  CollectingSink sink;
  const auto r =
      read_input((dir.path() / "crlf.jsonl").string(), "auto", builtin(), DecoderOptions{}, sink);
  REQUIRE(r.ok);
  CHECK(r.lines == 4);
  CHECK(r.bytes == text.size());
  REQUIRE(sink.events.size() == 3);
  CHECK(sink.weirds.empty());
  CHECK(sink.events[0].pos.line == 1);
  CHECK(sink.events[0].pos.offset == 0);
  CHECK(sink.events[1].principal == "b");
  CHECK(sink.events[1].pos.line == 3);
  CHECK(sink.events[1].pos.offset == l1.size() + 4);
  CHECK(sink.events[2].pos.line == 4);
  CHECK(sink.events[2].pos.offset == l1.size() + 4 + l3.size() + 2);
  CHECK(sink.events[2].pos.file == (dir.path() / "crlf.jsonl").string());
}

TEST_CASE("read_input: lines across chunk boundaries and over the cap", "[input]") {
  sevwatch::testing::TempDir dir("long");
  // A 1.5 MiB record (valid, under a 2 MiB cap) spans two 1 MiB read chunks
  // (gzip is read in chunks; a plain file is one mapped window here).
  const std::string big =
      R"({"repoType":3,"repo":"r","reqUser":"big","evtTime":"2026-08-20 09:00:00.000","access":"SELECT","reqData":")" +
      std::string(1536 * 1024, 'q') + R"("})";
  const std::string huge(3 * 1024 * 1024, 'z');  // 3 MiB of junk
  const std::string text =
      ranger_line("a") + "\n" + big + "\n" + huge + "\n" + ranger_line("b") + "\n";
  sevwatch::testing::write_file(dir.path() / "long.jsonl", text);
  write_gzip(dir.path() / "long.jsonl.gz", text);
  const std::string name = GENERATE(as<std::string>{}, "long.jsonl", "long.jsonl.gz");
  INFO(name);
  DecoderOptions opts;
  opts.max_line_bytes = 2 * 1024 * 1024;
  CollectingSink sink;
  const auto r = read_input((dir.path() / name).string(), "auto", builtin(), opts, sink);
  REQUIRE(r.ok);
  CHECK(r.lines == 4);
  REQUIRE(sink.events.size() == 3);
  CHECK(sink.events[1].principal == "big");
  CHECK(sink.events[1].query.size() == 1536 * 1024);
  CHECK(sink.events[2].principal == "b");
  CHECK(sink.events[2].pos.line == 4);
  REQUIRE(sink.weirds.size() == 1);
  CHECK(sink.weirds[0].reason == weird::kLineTooLong);
  CHECK(sink.weirds[0].pos.line == 3);
  CHECK(sink.weirds[0].pos.offset == ranger_line("a").size() + 1 + big.size() + 1);
}

TEST_CASE("read_input: auto-detection of each format", "[input]") {
  const auto registry = builtin();
  const std::pair<const char*, const char*> cases[] = {
      {"ranger_audit/sample.jsonl", "ranger_audit"}, {"pgaudit/sample_stderr.log", "pgaudit"},
      {"pgaudit/sample_csvlog.csv", "pgaudit_csv"},  {"pgaudit/multiline.log", "pgaudit"},
      {"pgaudit/multiline.csv", "pgaudit_csv"},
  };
  for (const auto& [rel, expected] : cases) {
    CollectingSink sink;
    const auto r = read_input(sevwatch::testing::fixture(rel).string(), "auto", registry,
                              DecoderOptions{}, sink);
    INFO(rel << ": " << r.error);
    REQUIRE(r.ok);
    CHECK(r.format == expected);
    CHECK_FALSE(sink.events.empty());
  }
}

TEST_CASE("read_input: refusals name the path and the known formats", "[input]") {
  sevwatch::testing::TempDir dir("refuse");
  const auto registry = builtin();
  const auto junk = dir.path() / "junk.txt";
  sevwatch::testing::write_file(junk, "hello\nthis is not a log\n{\"a\":1}\n");
  CollectingSink sink;
  auto r = read_input(junk.string(), "auto", registry, DecoderOptions{}, sink);
  CHECK_FALSE(r.ok);
  CHECK(r.error == junk.string() +
                       ": cannot detect the log format (use --format NAME; known: ranger_audit, "
                       "pgaudit, pgaudit_csv, ranger_admin, hive_hms, hive_hs2, aws_cloudtrail, "
                       "gcp_bigquery, snowflake, databricks_uc, json_mapped)");
  CHECK(sink.events.empty());

  r = read_input(junk.string(), "cloudtrail", registry, DecoderOptions{}, sink);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find(junk.string()) == 0);
  CHECK(r.error.find("unknown format 'cloudtrail'") != std::string::npos);
  CHECK(r.error.find("ranger_audit, pgaudit, pgaudit_csv") != std::string::npos);

  const auto missing = dir.path() / "missing.jsonl";
  r = read_input(missing.string(), "auto", registry, DecoderOptions{}, sink);
  CHECK_FALSE(r.ok);
  CHECK(r.error == missing.string() + ": No such file or directory");

  r = read_input(dir.path().string(), "auto", registry, DecoderOptions{}, sink);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find(dir.path().string()) == 0);

  // A forced format reads anything, counting what it cannot use.
  r = read_input(junk.string(), "ranger_audit", registry, DecoderOptions{}, sink);
  CHECK(r.ok);
  CHECK(sink.count(weird::kInvalidJson) == 2);
  CHECK(sink.count(weird::kMissingField) == 1);

  // An empty input is fine: nothing to decode.
  sevwatch::testing::write_file(dir.path() / "empty.log", "\n\n");
  r = read_input((dir.path() / "empty.log").string(), "auto", registry, DecoderOptions{}, sink);
  CHECK(r.ok);
  CHECK(r.lines == 2);
}

TEST_CASE("read_input: '-' reads stdin", "[input]") {
  const auto path = sevwatch::testing::fixture("pgaudit/sample_csvlog.csv");
  const int saved = ::dup(STDIN_FILENO);
  const int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  ::dup2(fd, STDIN_FILENO);
  ::close(fd);
  CollectingSink sink;
  const auto r = read_input("-", "auto", builtin(), DecoderOptions{}, sink);
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  REQUIRE(r.ok);
  CHECK(r.format == "pgaudit_csv");
  REQUIRE(sink.events.size() == 4);
  CHECK(sink.events[0].pos.file == "-");
}

TEST_CASE("registry: names, find, detect", "[input]") {
  const auto registry = builtin();
  CHECK(registry.names() == std::vector<std::string>{"ranger_audit", "pgaudit", "pgaudit_csv",
                                                     "ranger_admin", "hive_hms", "hive_hs2",
                                                     "aws_cloudtrail", "gcp_bigquery", "snowflake",
                                                     "databricks_uc", "json_mapped"});
  CHECK(registry.find("pgaudit") != nullptr);
  CHECK(registry.find("nope") == nullptr);
  CHECK(registry.detect({}) == nullptr);
  CHECK(registry.detect({"random text"}) == nullptr);
  CHECK(registry.detect({"2026-08-20 09:14:02.311 UTC alice dw [1]: LOG:  hello"})->name ==
        "pgaudit");
  CHECK(registry.detect({"2026-08-20 09:14:02.311 UTC,\"alice\",\"dw\",1"})->name == "pgaudit_csv");
}

TEST_CASE("read_input: a 3 MB one-line Records file decodes every record, plain and gzip",
          "[input][cloudtrail]") {
  sevwatch::testing::TempDir dir("records-line");
  const int n = sevwatch::testing::records_for(3 << 20);
  const std::string text = sevwatch::testing::records_line(n);
  REQUIRE(text.size() > DecoderOptions{}.max_line_bytes * 2);  // over the line cap
  sevwatch::testing::write_file(dir.path() / "trail.json", text);
  sevwatch::testing::write_gzip_file(dir.path() / "trail.json.gz", text);
  const auto registry = builtin();
  for (const char* name : {"trail.json", "trail.json.gz"}) {
    for (const char* format : {"aws_cloudtrail", "auto"}) {
      INFO(name << " as " << format);
      CollectingSink sink;
      const auto r =
          read_input((dir.path() / name).string(), format, registry, DecoderOptions{}, sink);
      REQUIRE(r.ok);
      CHECK(r.format == "aws_cloudtrail");
      CHECK(r.lines == 1);
      CHECK(sink.weirds.empty());
      REQUIRE(sink.events.size() == static_cast<std::size_t>(n));
      CHECK(sink.events.front().object.name == "s3://acme-dw/exports/part-000000.csv");
      CHECK(sink.events.back().event_uid == fmt::format("ev-{:06}", n - 1));
      CHECK(sink.events.back().pos.line == 1);
    }
  }
}

TEST_CASE(
    "read_input: a Records line over the document cap is one weird; other lines keep the "
    "line cap",
    "[input][cloudtrail]") {
  sevwatch::testing::TempDir dir("records-cap");
  DecoderOptions opts;
  opts.max_line_bytes = 1024;  // document cap 64 KiB
  const std::string over =
      sevwatch::testing::records_line(sevwatch::testing::records_for(80 << 10));
  const std::string under = sevwatch::testing::records_line(100);  // ~50 KiB
  // A long line that is not a Records file: still capped at max_line_bytes.
  const std::string other = R"({"eventVersion":"1.09","junk":")" + std::string(4000, 'x') + "\"}\n";
  const std::string one = sevwatch::testing::trail_record(7) + "\n";
  const std::string text = over + under + other + one;
  sevwatch::testing::write_file(dir.path() / "trail.json", text);
  for (const char* format : {"aws_cloudtrail", "auto"}) {
    INFO(format);
    CollectingSink sink;
    const auto r = read_input((dir.path() / "trail.json").string(), format, builtin(), opts, sink);
    REQUIRE(r.ok);
    CHECK(r.lines == 4);
    CHECK(sink.events.size() == 101);
    REQUIRE(sink.weirds.size() == 2);
    CHECK(sink.weirds[0].reason == weird::kLineTooLong);
    CHECK(sink.weirds[0].pos.line == 1);
    CHECK(sink.weirds[0].detail.find("limit 65536") != std::string::npos);
    CHECK(sink.weirds[1].reason == weird::kLineTooLong);
    CHECK(sink.weirds[1].pos.line == 3);
    CHECK(sink.weirds[1].pos.offset == over.size() + under.size());
    CHECK(sink.weirds[1].detail.find("limit 1024") != std::string::npos);
  }
}

TEST_CASE("read_input: a sink that is done stops the read within 1,024 lines", "[input]") {
  sevwatch::testing::TempDir dir("done");
  std::string text;
  for (int i = 0; i < 10'000; ++i) text += ranger_line("u" + std::to_string(i)) + "\n";
  sevwatch::testing::write_file(dir.path() / "a.jsonl", text);
  struct StopAfter : CollectingSink {
    bool done() const override { return events.size() >= 3000; }
  };
  StopAfter sink;
  const auto r = read_input((dir.path() / "a.jsonl").string(), "ranger_audit", builtin(),
                            DecoderOptions{}, sink);
  REQUIRE(r.ok);
  CHECK(sink.events.size() >= 3000);
  CHECK(sink.events.size() <= 3000 + 1024);
  CHECK(r.lines < 10'000);
  CollectingSink all;  // the default: read to the end
  CHECK(read_input((dir.path() / "a.jsonl").string(), "ranger_audit", builtin(), DecoderOptions{},
                   all)
            .lines == 10'000);
  CHECK(all.events.size() == 10'000);
}
