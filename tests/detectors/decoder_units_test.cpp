// Unit tests for the small pieces behind the decoders: timestamps, CSV
// splitting, the JSON shape scan, and decoder options.
#include <catch2/catch.hpp>
#include <string>

#include "detectors/csv_record.h"
#include "detectors/json_guard.h"
#include "detectors/pgaudit_decoder.h"
#include "detectors/pgaudit_record.h"
#include "detectors/ranger_decoder.h"
#include "detectors/time_parse.h"
#include "tests/detectors/event_render.h"

using namespace sevwatch::detectors;
using sevwatch::detectors::testing::CollectingSink;

TEST_CASE("parse_civil_time", "[time]") {
  std::int64_t ms = 0;
  CHECK(parse_civil_time("1970-01-01 00:00:00.000", ms) == 23);
  CHECK(ms == 0);
  CHECK(parse_civil_time("2026-08-20 09:14:02.311", ms) == 23);
  CHECK(ms == 1787217242311);
  CHECK(parse_civil_time("2026-08-20T09:14:02", ms) == 19);
  CHECK(ms == 1787217242000);
  CHECK(parse_civil_time("2026-08-20 09:14:02.3119999 UTC", ms) == 27);
  CHECK(ms == 1787217242311);
  CHECK(parse_civil_time("2024-02-29 23:59:59.999", ms) == 23);
  CHECK(parse_civil_time("2023-02-29 00:00:00", ms) == 0);
  CHECK(parse_civil_time("2026-00-10 00:00:00", ms) == 0);
  CHECK(parse_civil_time("2026-04-31 00:00:00", ms) == 0);
  CHECK(parse_civil_time("2026-01-01 00:60:00", ms) == 0);
  CHECK(parse_civil_time("2026-01-01 00:00:00.", ms) == 0);
  CHECK(parse_civil_time("2026-1-01 00:00:00", ms) == 0);
  CHECK(parse_civil_time("", ms) == 0);
}

TEST_CASE("parse_zone and parse_pg_timestamp", "[time]") {
  int off = 1;
  CHECK(parse_zone("UTC", off));
  CHECK(off == 0);
  CHECK(parse_zone("+02", off));
  CHECK(off == 120);
  CHECK(parse_zone("-0530", off));
  CHECK(off == -330);
  CHECK(parse_zone("+05:45", off));
  CHECK(off == 345);
  CHECK(parse_zone("CEST", off));
  CHECK(off == 120);
  CHECK_FALSE(parse_zone("IST", off));  // ambiguous: India, Ireland, Israel
  CHECK_FALSE(parse_zone("+2", off));
  CHECK_FALSE(parse_zone("+99", off));

  std::int64_t ms = 0;
  bool assumed = true;
  CHECK(parse_pg_timestamp("2026-08-20 11:14:02.311 +02 bob", ms, assumed) == 27);
  CHECK(ms == 1787217242311);
  CHECK_FALSE(assumed);
  CHECK(parse_pg_timestamp("2026-08-20 09:14:02.311 XYZ,", ms, assumed) == 27);
  CHECK(assumed);
  CHECK(ms == 1787217242311);
  CHECK(parse_pg_timestamp("2026-08-20 09:14:02.311", ms, assumed) == 0);
}

TEST_CASE("split_csv_record", "[csv]") {
  std::vector<std::string> f;
  std::size_t n = 0;
  REQUIRE(split_csv_record(R"(a,"b,c","say ""hi""",,"multi
line")",
                           f, n));
  REQUIRE(n == 5);
  CHECK(f[0] == "a");
  CHECK(f[1] == "b,c");
  CHECK(f[2] == "say \"hi\"");
  CHECK(f[3].empty());
  CHECK(f[4] == "multi\nline");
  REQUIRE(split_csv_record("x,", f, n));
  CHECK(n == 2);
  CHECK(f[1].empty());
  CHECK_FALSE(split_csv_record(R"(a,"open)", f, n));
  CHECK(odd_quote_count(R"(a,"open)"));
  CHECK_FALSE(odd_quote_count(R"(a,"x""y")"));
}

TEST_CASE("scan_json_shape", "[json]") {
  CHECK(scan_json_shape(R"({"a":[1,{"b":"]]]}}}"}]})", 3) == JsonShape::ok);
  CHECK(scan_json_shape(R"({"a":[1,{"b":{}}]})", 3) == JsonShape::too_deep);
  CHECK(scan_json_shape(R"({"a":"x\"}"})", 1) == JsonShape::ok);
  CHECK(scan_json_shape(R"({"a":"x\\"})", 1) == JsonShape::ok);
  CHECK(scan_json_shape(R"({"a":"x\\\"})", 1) == JsonShape::truncated);
  CHECK(scan_json_shape(R"({"a":1)", 1) == JsonShape::truncated);
  CHECK(scan_json_shape(std::string(100000, '['), 64) == JsonShape::too_deep);
}

TEST_CASE("Ranger evtTime uses the assumed UTC offset", "[ranger]") {
  DecoderOptions opts;
  opts.assumed_utc_offset_minutes = 120;  // the plugin's JVM ran on UTC+2
  auto dec = make_ranger_decoder(opts);
  CollectingSink sink;
  dec->decode_line(
      R"({"repoType":3,"repo":"r","reqUser":"u","evtTime":"2026-08-20 12:00:00.000","access":"SELECT"})",
      SourcePos{"f", 1, 0}, sink);
  REQUIRE(sink.events.size() == 1);
  CHECK(sink.events[0].time_ms == 1787220000000);  // 10:00:00Z
  CHECK(sink.events[0].time_zone_assumed);
  CHECK(sink.events[0].object.name.empty());  // no resource, no object
}

TEST_CASE("Ranger access mapping", "[ranger]") {
  CHECK(ranger_access_to_action("SELECT", false) == Action::read);
  CHECK(ranger_access_to_action("truncate", false) == Action::write);
  CHECK(ranger_access_to_action("grant", false) == Action::grant);
  CHECK(ranger_access_to_action("REVOKE", false) == Action::revoke);
  CHECK(ranger_access_to_action("METADATA OPERATION", false) == Action::metadata);
  CHECK(ranger_access_to_action("LOCK", false) == Action::other);
  CHECK(ranger_access_to_action("open", true) == Action::read);
  CHECK(ranger_access_to_action("append", true) == Action::write);
  CHECK(ranger_access_to_action("setPermission", true) == Action::other);
}

TEST_CASE("sniffers tell the three formats apart", "[sniff]") {
  const std::string_view ranger =
      R"({"repoType":3,"repo":"r","reqUser":"u","evtTime":"2026-08-20 12:00:00.000"})";
  const std::string_view stderr_line =
      "2026-08-20 09:14:02.311 UTC alice dw [48213]: LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,x,y";
  const std::string_view csv_line = "2026-08-20 09:14:02.311 UTC,\"alice\",\"dw\",48213,\"x\"";
  CHECK(sniff_ranger({ranger}) == 100);
  CHECK(sniff_ranger({stderr_line, csv_line}) == 0);
  CHECK(sniff_pgaudit_stderr({stderr_line}) == 100);
  CHECK(sniff_pgaudit_stderr({ranger, csv_line}) == 0);
  CHECK(sniff_pgaudit_csv({csv_line}) == 100);
  CHECK(sniff_pgaudit_csv({ranger, stderr_line}) == 0);
  // Mostly ours, with a stray line: still claimed, with a lower score.
  CHECK(sniff_ranger({ranger, "garbage"}) == 70);
}

TEST_CASE("pgaudit stderr: an oversized multi-line record is dropped whole", "[pgaudit]") {
  DecoderOptions opts;
  opts.max_line_bytes = 200;
  auto dec = make_pgaudit_stderr_decoder(opts);
  CollectingSink sink;
  SourcePos pos{"f", 1, 0};
  dec->decode_line(
      "2026-08-20 09:14:02.311 UTC a dw [1]: LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,s.t,\"x",
      pos, sink);
  for (int i = 0; i < 10; ++i) dec->decode_line("\t" + std::string(50, 'y'), pos, sink);
  dec->decode_line("\tend\",<none>", pos, sink);
  dec->decode_line(
      "2026-08-20 09:14:03.311 UTC a dw [1]: LOG:  AUDIT: "
      "SESSION,2,1,READ,SELECT,TABLE,s.t,x,<none>",
      pos, sink);
  dec->finish(sink);
  CHECK(sink.count(weird::kLineTooLong) == 1);
  REQUIRE(sink.events.size() == 1);
  CHECK(sink.events[0].event_uid == "1:2:1");
}

TEST_CASE("pgaudit csv: an oversized quoted record does not desync the rest", "[pgaudit]") {
  DecoderOptions opts;
  opts.max_line_bytes = 300;
  auto dec = make_pgaudit_csv_decoder(opts);
  CollectingSink sink;
  SourcePos pos{"f", 1, 0};
  const std::string head = R"(2026-08-20 09:14:02.311 UTC,"a","dw",1,"1.2.3.4:5",s1,)";
  const std::string tail = R"(,"SELECT",2026-08-20 09:13:40 UTC,5/2,0,LOG,00000,)";
  dec->decode_line(head + "1" + tail + "\"AUDIT: SESSION,1,1,READ,SELECT,TABLE,s.t,\"\"x", pos,
                   sink);
  for (int i = 0; i < 10; ++i) dec->decode_line(std::string(50, 'y') + ",\"\"", pos, sink);
  dec->decode_line("\"\",<none>\",,,,,,,,,\"psql\"", pos, sink);
  dec->decode_line(
      head + "2" + tail + "\"AUDIT: SESSION,2,1,READ,SELECT,TABLE,s.t,x,<none>\",,,,,,,,,\"psql\"",
      pos, sink);
  dec->finish(sink);
  CHECK(sink.count(weird::kLineTooLong) == 1);
  REQUIRE(sink.events.size() == 1);
  CHECK(sink.events[0].event_uid == "s1:2");
  CHECK(sink.events[0].client_ip == "1.2.3.4");
}
