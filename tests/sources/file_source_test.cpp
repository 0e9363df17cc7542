// The file source over real files: growth, partial lines, rename rotation,
// copytruncate, restart from checkpoints, rotation while stopped, gzip,
// format auto per file, one-line CloudTrail Records files, and multi-line
// records across a checkpoint.
#include "detectors/sources/file_source.h"

#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>

#include "tests/records_file.h"
#include "tests/sources/sources_support.h"

using namespace sevwatch::testing;
using sevwatch::detectors::sources::Checkpoint;
using sevwatch::detectors::sources::FileSource;
using sevwatch::detectors::sources::FileSourceOptions;

namespace {

FileSourceOptions options(const std::string& glob) {
  FileSourceOptions o;
  o.name = "ranger";
  o.format = "ranger_audit";
  o.paths = {glob};
  o.poll_interval_ms = 10;
  return o;
}

std::string lines(const std::string& prefix, int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out += ranger_line(prefix + std::to_string(i), i) + "\n";
  return out;
}

// Every id exactly once.
void check_exactly_once(const RecordingSink& sink, const std::vector<std::string>& expected) {
  auto counts = sink.counts();
  for (const auto& id : expected) {
    INFO("id " << id);
    CHECK(counts[id] == 1);
  }
  CHECK(sink.ids.size() == expected.size());
}

std::vector<std::string> ids(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

void save(SourceHarness& h, FileSource& s) {
  std::vector<Checkpoint> cps;
  s.collect_checkpoints(cps);
  h.checkpoints.save(cps);
}

}  // namespace

TEST_CASE("file source follows growth and holds partial lines", "[file]") {
  TempDir dir("filesrc-grow");
  const auto f = dir.path() / "audit.jsonl";
  write_file(f, lines("a", 0, 3));
  SourceHarness h;
  FileSource s(options((dir.path() / "*.jsonl").string()), h.ctx);
  s.start();
  CHECK(h.sink.ids.size() == 3);
  const std::string next = ranger_line("a3");
  append_file(f, next.substr(0, 20));  // a writer mid-line
  s.poll();
  CHECK(h.sink.ids.size() == 3);
  append_file(f, next.substr(20) + "\n" + lines("a", 4, 6));
  s.poll();
  check_exactly_once(h.sink, ids("a", 0, 6));
  CHECK(h.sink.rejects.empty());
  s.stop();
}

TEST_CASE("file source survives rename rotation and copytruncate without loss or duplicates",
          "[file][rotation]") {
  TempDir dir("filesrc-rotate");
  const auto f = dir.path() / "audit.log";
  SourceHarness h;
  FileSource s(options(f.string()), h.ctx);
  write_file(f, lines("r", 0, 10));
  s.start();

  // Rename rotation: lines appended to the old file after the rename (the
  // writer has not reopened yet) are still read, then the new file from 0.
  std::filesystem::rename(f, dir.path() / "audit.log.1");
  append_file(dir.path() / "audit.log.1", lines("r", 10, 15) + ranger_line("r15"));  // no newline
  write_file(f, lines("r", 16, 20));
  s.poll();
  s.poll();
  append_file(f, lines("r", 20, 25));
  s.poll();

  // copytruncate: copy, truncate in place, keep writing to the same inode.
  std::filesystem::copy_file(f, dir.path() / "audit.log.2");
  ::truncate(f.c_str(), 0);
  s.poll();
  append_file(f, lines("r", 25, 30));
  s.poll();

  // Truncated and refilled past the old size between two polls: the
  // fingerprint of the first bytes changes, so it is read from 0.
  const auto before = ::access(f.c_str(), F_OK);
  CHECK(before == 0);
  ::truncate(f.c_str(), 0);
  append_file(f, lines("q", 0, 40));
  s.poll();

  auto expected = ids("r", 0, 30);
  auto more = ids("q", 0, 40);
  expected.insert(expected.end(), more.begin(), more.end());
  check_exactly_once(h.sink, expected);
  CHECK(h.log_text().find("rotated") != std::string::npos);
  CHECK(h.log_text().find("truncated") != std::string::npos);
  s.stop();
}

TEST_CASE("file source resumes from checkpoints, also after rotation while stopped",
          "[file][checkpoint]") {
  TempDir dir("filesrc-ckpt");
  const auto f = dir.path() / "audit.log";
  SourceHarness h;
  write_file(f, lines("c", 0, 5) + ranger_line("c5").substr(0, 30));
  {
    FileSource s(options((dir.path() / "audit.log*").string()), h.ctx);
    s.start();
    save(h, s);  // the pipeline commits
    s.stop();
  }
  CHECK(h.sink.ids.size() == 5);
  const auto cps = h.checkpoints.load("ranger");
  REQUIRE(cps.size() == 1);
  CHECK(cps[0].line == 5);
  CHECK(cps[0].offset < std::filesystem::file_size(f));  // the partial line is not covered

  // While stopped: the partial line is completed, more lines, then a rename
  // rotation and a new file.
  append_file(f, ranger_line("c5").substr(30) + "\n" + lines("c", 6, 8));
  std::filesystem::rename(f, dir.path() / "audit.log.1");
  write_file(f, lines("n", 0, 3));
  {
    FileSource s(options((dir.path() / "audit.log*").string()), h.ctx);
    s.start();
    save(h, s);
    s.stop();
  }
  auto expected = ids("c", 0, 8);
  auto more = ids("n", 0, 3);
  expected.insert(expected.end(), more.begin(), more.end());
  check_exactly_once(h.sink, expected);
  CHECK(h.log_text().find("rotated from") != std::string::npos);

  // A third start reads nothing again.
  {
    FileSource s(options((dir.path() / "audit.log*").string()), h.ctx);
    s.start();
    s.stop();
  }
  CHECK(h.sink.ids.size() == expected.size());

  // A replaced file (same path, different content) is read from 0.
  std::filesystem::remove(dir.path() / "audit.log.1");
  std::filesystem::remove(f);
  write_file(f, lines("z", 0, 2));
  {
    FileSource s(options(f.string()), h.ctx);
    s.start();
    s.stop();
  }
  CHECK(h.sink.counts()["z0"] == 1);
  CHECK(h.sink.counts()["z1"] == 1);
}

TEST_CASE("file source reads gzip files whole, once", "[file][gzip]") {
  TempDir dir("filesrc-gz");
  const auto gz = dir.path() / "old.jsonl.gz";
  {
    gzFile out = gzopen(gz.c_str(), "wb");
    const std::string text = lines("g", 0, 4) + "not json\n";
    gzwrite(out, text.data(), static_cast<unsigned>(text.size()));
    gzclose(out);
  }
  SourceHarness h;
  {
    FileSource s(options((dir.path() / "*.gz").string()), h.ctx);
    s.start();
    s.poll();
    save(h, s);
    s.stop();
  }
  check_exactly_once(h.sink, ids("g", 0, 4));
  REQUIRE(h.sink.rejects.size() == 1);
  {
    FileSource s(options((dir.path() / "*.gz").string()), h.ctx);
    s.start();
    s.stop();
  }
  CHECK(h.sink.ids.size() == 4);
}

TEST_CASE("file source rejects long and malformed lines with the raw line", "[file]") {
  TempDir dir("filesrc-bad");
  const auto f = dir.path() / "a.jsonl";
  write_file(f, "{\"broken\n" + std::string(5000, 'x') + "\n" + ranger_line("ok") + "\n");
  SourceHarness h;
  h.ctx.decoder_options.max_line_bytes = 1000;
  FileSource s(options(f.string()), h.ctx);
  s.start();
  CHECK(h.sink.ids == std::vector<std::string>{"ok"});
  REQUIRE(h.sink.rejects.size() == 2);
  CHECK(h.sink.rejects[0].raw == "{\"broken");
  CHECK(h.sink.rejects[0].pos.line == 1);
  CHECK(h.sink.rejects[1].reason == "line_too_long");
  CHECK(h.sink.rejects[1].pos.line == 2);
  CHECK(h.sink.rejects[1].raw.size() <= 512);
  s.stop();
}

TEST_CASE("file source follows a file through its timer", "[file]") {
  TempDir dir("filesrc-timer");
  const auto f = dir.path() / "a.jsonl";
  write_file(f, "");
  SourceHarness h;
  FileSource s(options(f.string()), h.ctx);
  s.start();
  append_file(f, lines("t", 0, 3));
  CHECK(h.run_until([&] { return h.sink.ids.size() == 3; }, 5000));
  s.stop();
}

namespace {

// A pgaudit stderr record (one line) with statement id `id`.
std::string pg_line(int id, const std::string& statement = "SELECT 1 FROM sales.orders") {
  return fmt::format(
      "2026-08-20 09:14:{:02}.000 UTC alice dw [4821]: LOG:  AUDIT: "
      "SESSION,{},1,READ,SELECT,TABLE,sales.orders,{},<not logged>\n",
      id % 60, id, statement);
}

FileSourceOptions auto_options(const std::string& glob) {
  auto o = options(glob);
  o.name = "mixed";
  o.format = "auto";
  return o;
}

}  // namespace

TEST_CASE("file source with format auto: each file of a glob in its own format", "[file][auto]") {
  TempDir dir("filesrc-auto");
  write_file(dir.path() / "ranger.log", lines("a", 0, 3));
  write_file(dir.path() / "pg.log", pg_line(1) + pg_line(2) + pg_line(3));
  write_file(dir.path() / "trail.log", records_line(40));
  write_file(dir.path() / "junk.log", "hello\nthis is not a log\n");
  SourceHarness h;
  FileSource s(auto_options((dir.path() / "*.log").string()), h.ctx);
  s.start();
  // pgaudit's last record waits for the next line (it may continue).
  CHECK(h.sink.formats() ==
        std::map<std::string, int>{{"aws_cloudtrail", 40}, {"pgaudit", 2}, {"ranger_audit", 3}});
  CHECK(h.sink.reasons() == std::map<std::string, int>{{"unknown_format", 2}});
  CHECK(h.sink.rejects[0].raw == "hello");
  CHECK(h.sink.rejects[0].pos.file == (dir.path() / "junk.log").string());
  const std::string log = h.log_text();
  CHECK(log.find("ranger.log: format auto: ranger_audit") != std::string::npos);
  CHECK(log.find("pg.log: format auto: pgaudit") != std::string::npos);
  CHECK(log.find("trail.log: format auto: aws_cloudtrail") != std::string::npos);

  // Growth keeps each file's format; a new file is sniffed on its own.
  append_file(dir.path() / "pg.log", pg_line(4));
  append_file(dir.path() / "ranger.log", lines("a", 3, 5));
  write_file(dir.path() / "late.log", lines("late", 0, 2));
  s.poll();
  CHECK(h.sink.formats() ==
        std::map<std::string, int>{{"aws_cloudtrail", 40}, {"pgaudit", 3}, {"ranger_audit", 7}});

  // A rotated file and a truncated one start fresh: sniffed again.
  std::filesystem::rename(dir.path() / "ranger.log", dir.path() / "ranger.log.1");
  write_file(dir.path() / "ranger.log", pg_line(10) + pg_line(11));
  ::truncate((dir.path() / "trail.log").c_str(), 0);
  append_file(dir.path() / "trail.log", lines("t", 0, 2));
  s.poll();
  CHECK(h.sink.formats() ==
        std::map<std::string, int>{{"aws_cloudtrail", 40}, {"pgaudit", 4}, {"ranger_audit", 9}});
  CHECK(h.sink.counts()["t1"] == 1);
  CHECK(h.sink.reasons() == std::map<std::string, int>{{"unknown_format", 2}});
  s.stop();
}

TEST_CASE("file source decodes a 3 MB one-line Records file, plain and gzip",
          "[file][cloudtrail]") {
  TempDir dir("filesrc-records");
  const int n = records_for(3 << 20);
  const std::string text = records_line(n);
  write_file(dir.path() / "a.json", text);
  write_gzip_file(dir.path() / "b.json.gz", text);
  for (const char* format : {"aws_cloudtrail", "auto"}) {
    INFO(format);
    SourceHarness h;
    auto o = options((dir.path() / "*.json*").string());
    o.format = format;
    {
      FileSource s(o, h.ctx);
      s.start();
      save(h, s);
      s.stop();
    }
    CHECK(h.sink.rejects.empty());
    CHECK(h.sink.formats() == std::map<std::string, int>{{"aws_cloudtrail", 2 * n}});
    CHECK(h.sink.counts()[fmt::format("ev-{:06}", n - 1)] == 2);
    for (const auto& c : h.checkpoints.load("ranger")) {
      CHECK(c.offset == std::filesystem::file_size(c.stream));
    }
  }
}

TEST_CASE("file source: a Records line over the document cap is one reject, nothing else lost",
          "[file][cloudtrail]") {
  TempDir dir("filesrc-records-cap");
  const auto f = dir.path() / "trail.json";
  const std::string over = records_line(records_for(80 << 10));
  write_file(f, over + records_line(3));
  write_gzip_file(dir.path() / "trail.json.gz", over + records_line(3));
  SourceHarness h;
  h.ctx.decoder_options.max_line_bytes = 1024;  // document cap 64 KiB
  auto o = options((dir.path() / "trail.json*").string());
  o.format = "aws_cloudtrail";
  FileSource s(o, h.ctx);
  s.start();
  s.poll();
  CHECK(h.sink.formats() == std::map<std::string, int>{{"aws_cloudtrail", 6}});
  REQUIRE(h.sink.rejects.size() == 2);
  for (const auto& r : h.sink.rejects) {
    CHECK(r.reason == "line_too_long");
    CHECK(r.pos.line == 1);
    CHECK(r.detail.find("limit 65536") != std::string::npos);
  }
  s.stop();
}

TEST_CASE(
    "file source: a multi-line pgaudit record across a checkpoint arrives whole after an "
    "abrupt stop",
    "[file][checkpoint]") {
  TempDir dir("filesrc-pg-straddle");
  const auto f = dir.path() / "postgresql.log";
  const std::string head =
      "2026-08-20 09:15:00.000 UTC etl dw [4900]: LOG:  AUDIT: SESSION,7,1,ROLE,GRANT,,,\"GRANT "
      "SELECT\n";
  const std::string middle = "\tON TABLE sales.orders\n";
  const std::string tail = "\tTO PUBLIC\",<not logged>\n";
  for (const char* format : {"pgaudit", "auto"}) {
    INFO(format);
    write_file(f, pg_line(1) + pg_line(2) + head + middle);
    SourceHarness h;
    auto o = options(f.string());
    o.format = format;
    {
      // The pipeline commits while the statement is half written, then the
      // process dies (no finish: the decoder's pending lines are gone).
      FileSource s(o, h.ctx);
      s.start();
      save(h, s);
    }
    const auto cps = h.checkpoints.load("ranger");
    REQUIRE(cps.size() == 1);
    CHECK(cps[0].offset == pg_line(1).size() + pg_line(2).size());  // the statement's start
    CHECK(cps[0].line == 2);
    append_file(f, tail + pg_line(8));
    {
      FileSource s(o, h.ctx);
      s.start();
      save(h, s);
      s.stop();
    }
    CHECK(h.sink.rejects.empty());
    REQUIRE(h.sink.events.size() == 3);  // record 8 waits for the next line
    CHECK(h.sink.ids[0] == "4821:1:1");
    CHECK(h.sink.ids[1] == "4821:2:1");
    const auto& grant = h.sink.events[2];
    CHECK(grant.event_uid == "4900:7:1");
    CHECK(grant.query == "GRANT SELECT\nON TABLE sales.orders\nTO PUBLIC");
    CHECK(grant.object.name == "dw.sales.orders");
    CHECK(grant.pos.line == 3);
  }
}
