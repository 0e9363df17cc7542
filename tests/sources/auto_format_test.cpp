// Format `auto` in the live sources: every source type takes it, and the
// StreamDecoder picks decoders per stream (files) or per record (messages),
// holding what it has not decided on so that checkpoints do not pass it.
#include <catch2/catch.hpp>

#include "detectors/sources/stream_decoder.h"
#include "tests/records_file.h"
#include "tests/sources/sources_support.h"

using namespace sevwatch::testing;
using sevwatch::detectors::sources::Sniffing;
using sevwatch::detectors::sources::StreamDecoder;

namespace {

std::string pg_line(int id) {
  return fmt::format(
      "2026-08-20 09:14:{:02}.000 UTC alice dw [4821]: LOG:  AUDIT: "
      "SESSION,{},1,READ,SELECT,TABLE,sales.orders,SELECT 1,<not logged>",
      id % 60, id);
}

}  // namespace

TEST_CASE("every source type takes format auto; other unknown names are refused", "[auto]") {
  SourceHarness h;
  src::SourceRegistry registry;
  src::register_builtin_sources(registry);
  for (const auto& type : registry.types()) {
    INFO(type);
    src::SourceSpec spec{"s-" + type, type, "auto", {}};
    spec.params["paths"] = {"/nonexistent/*.log"};
    spec.params["listen"] = {"127.0.0.1:0"};
    spec.params["token"] = {"t"};
    spec.params["brokers"] = {"localhost:1"};
    spec.params["topics"] = {"t"};
    CHECK_NOTHROW(registry.make(spec, h.ctx));
    spec.format = "cloudtrail";
    CHECK_THROWS_WITH(registry.make(spec, h.ctx),
                      Catch::Contains("unknown format 'cloudtrail' (known formats: auto, "));
  }
}

TEST_CASE("stream decoder, Sniffing::stream: held until enough lines, or settle()", "[auto]") {
  SourceHarness h;
  StreamDecoder d(h.ctx, "files", "a.log", "auto");
  CHECK(d.format().empty());
  std::uint64_t offset = 0;
  auto feed = [&](const std::string& text, std::uint64_t line) {
    d.line(text, line, offset);
    offset += text.size() + 1;
  };
  feed("", 1);
  feed(pg_line(1), 2);
  feed(pg_line(2), 3);
  // Nothing decided, nothing delivered; a checkpoint stays at the first line.
  CHECK(h.sink.ids.empty());
  REQUIRE(d.pending_from() != nullptr);
  CHECK(d.pending_from()->line == 1);
  CHECK(d.pending_from()->offset == 0);
  d.settle();
  CHECK(d.format() == "pgaudit");
  CHECK(h.sink.ids == std::vector<std::string>{"4821:1:1"});
  // The decoder holds record 2 (a continuation may follow).
  REQUIRE(d.pending_from() != nullptr);
  CHECK(d.pending_from()->line == 3);
  CHECK(h.log_text().find("a.log: format auto: pgaudit (from 2 line(s))") != std::string::npos);

  // kSniffLines non-empty lines decide without settle(); the format stays.
  StreamDecoder e(h.ctx, "files", "b.log", "auto");
  for (int i = 0; i < 20; ++i) e.line(ranger_line("r" + std::to_string(i)), i + 1, 0);
  CHECK(e.format() == "ranger_audit");
  e.line(pg_line(9), 21, 0);
  e.finish();
  CHECK(h.sink.formats().at("ranger_audit") == 20);
  REQUIRE(h.sink.rejects.size() == 1);
  CHECK(h.sink.rejects[0].reason == "invalid_json");  // a file keeps its format
}

TEST_CASE("stream decoder, Sniffing::stream: lines no format claims are unknown_format", "[auto]") {
  SourceHarness h;
  h.ctx.decoder_options.max_line_bytes = 1000;
  StreamDecoder d(h.ctx, "files", "junk.log", "auto");
  d.line("hello", 1, 0);
  d.line(std::string(5000, 'x'), 2, 6);  // over the line cap: held in its place
  CHECK(h.sink.rejects.empty());
  d.settle();
  CHECK(d.format().empty());
  CHECK(d.pending_from() == nullptr);
  REQUIRE(h.sink.rejects.size() == 2);
  CHECK(h.sink.rejects[0].reason == "unknown_format");
  CHECK(h.sink.rejects[0].raw == "hello");
  CHECK(h.sink.rejects[1].reason == "line_too_long");
  CHECK(h.sink.rejects[1].pos.line == 2);
  // Sniffing goes on with the next lines.
  d.line(ranger_line("later"), 3, 5013);
  d.finish();
  CHECK(d.format() == "ranger_audit");
  CHECK(h.sink.ids == std::vector<std::string>{"later"});
}

TEST_CASE("stream decoder, Sniffing::record: first record, then re-sniffed on failure", "[auto]") {
  SourceHarness h;
  StreamDecoder d(h.ctx, "syslog", "syslog-udp:x", "auto", Sniffing::record);
  std::uint64_t n = 0;
  auto feed = [&](const std::string& text) { d.line(text, ++n, 0); };
  feed(ranger_line("r1"));
  CHECK(d.format() == "ranger_audit");
  feed(trail_record(3));
  CHECK(d.format() == "aws_cloudtrail");
  feed(R"({"eventSource":"s3.amazonaws.com","eventName":"GetObject"})");  // CloudTrail's, bad
  feed("{\"a\":1}");
  feed(
      "2026-08-20 09:14:04.000 UTC alice dw [4821]: LOG:  AUDIT: "
      "SESSION,4,1,READ,SELECT,TABLE,sales.orders,\"SELECT 1");
  feed("\tFROM sales.orders\",<not logged>");  // a continuation: no format's, the decoder's
  feed(ranger_line("r2"));
  d.finish();
  CHECK(h.sink.ids == std::vector<std::string>{"r1", "ev-000003", "4821:4:1", "r2"});
  CHECK(h.sink.events[2].query == "SELECT 1\nFROM sales.orders");
  REQUIRE(h.sink.rejects.size() == 2);
  CHECK(h.sink.rejects[0].reason == "missing_field");
  CHECK(h.sink.rejects[0].pos.line == 3);
  CHECK(h.sink.rejects[1].reason == "unknown_format");
  CHECK(h.sink.rejects[1].raw == "{\"a\":1}");
  CHECK(h.sink.rejects[1].detail.find("as aws_cloudtrail") != std::string::npos);
}
