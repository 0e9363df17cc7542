// DecoderOptions::keep_raw: events carry their source record (JSON formats
// only) for rules' raw.<path> fields.
#include "detectors/raw_record.h"

#include <string>
#include <vector>

#include "detectors/input_reader.h"
#include "tests/detectors/event_render.h"
#include "tests/test_support.h"

using namespace sevwatch::detectors;
using sevwatch::detectors::testing::CollectingSink;

namespace {

CollectingSink decode(const std::string& fixture, const std::string& format, bool keep_raw) {
  DecoderRegistry registry;
  register_builtin_decoders(registry);
  DecoderOptions options;
  options.keep_raw = keep_raw;
  CollectingSink sink;
  const auto r =
      read_input(sevwatch::testing::fixture(fixture).string(), format, registry, options, sink);
  INFO(r.error);
  REQUIRE(r.ok);
  REQUIRE_FALSE(sink.events.empty());
  return sink;
}

std::vector<std::string> lines_of(const std::string& fixture) {
  std::vector<std::string> out;
  std::string text = sevwatch::testing::read_file(sevwatch::testing::fixture(fixture));
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto nl = std::min(text.find('\n', pos), text.size());
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("raw_json_record: a JSON object's text, trimmed; anything else is no record", "[raw]") {
  CHECK(raw_json_record("  {\"a\":1}\r") == "{\"a\":1}");
  CHECK(raw_json_record("{}") == "{}");
  CHECK(raw_json_record("2026-08-20 09:00:00 UTC LOG:  AUDIT: SESSION,1") == "");
  CHECK(raw_json_record("[1,2]") == "");
  CHECK(raw_json_record("   ") == "");
}

TEST_CASE("without keep_raw no event carries its record", "[raw]") {
  for (const auto& e : decode("aws_cloudtrail/sample_s3.jsonl", "aws_cloudtrail", false).events) {
    CHECK(e.raw.empty());
  }
  for (const auto& e : decode("ranger_audit/sample.jsonl", "ranger_audit", false).events) {
    CHECK(e.raw.empty());
  }
}

TEST_CASE("keep_raw: a JSON-line event carries its line", "[raw]") {
  for (const auto& [fixture, format] : std::vector<std::pair<std::string, std::string>>{
           {"ranger_audit/sample.jsonl", "ranger_audit"},
           {"gcp_bigquery/sample.jsonl", "gcp_bigquery"},
           {"databricks_uc/sample.jsonl", "databricks_uc"}}) {
    INFO(fixture);
    const auto lines = lines_of(fixture);
    for (const auto& e : decode(fixture, format, true).events) {
      REQUIRE(e.pos.line >= 1);
      REQUIRE(e.pos.line <= lines.size());
      CHECK(e.raw == raw_json_record(lines[e.pos.line - 1]));
      CHECK_FALSE(e.raw.empty());
    }
  }
}

TEST_CASE("keep_raw: a CloudTrail event carries its own record, also inside Records", "[raw]") {
  const auto lines = decode("aws_cloudtrail/sample_s3.jsonl", "aws_cloudtrail", true);
  for (const auto& e : lines.events) {
    INFO(e.raw);
    CHECK(e.raw.find("\"eventID\":\"" + e.event_uid + "\"") != std::string::npos);
    CHECK(e.raw.front() == '{');
  }
  // A pretty-printed {"Records": [...]} document: one record per event, not
  // the document (nor its last line).
  const auto pretty = decode("aws_cloudtrail/records_pretty.json", "aws_cloudtrail", true);
  REQUIRE(pretty.events.size() >= 2);
  for (const auto& e : pretty.events) {
    INFO(e.raw);
    CHECK(e.raw.rfind("{\"eventVersion\"", 0) == 0);
    CHECK(e.raw.find("Records") == std::string::npos);
    CHECK(e.raw.find("\"eventID\":\"" + e.event_uid + "\"") != std::string::npos);
  }
  CHECK(pretty.events[0].raw.find("pretty-2") == std::string::npos);
}

TEST_CASE("keep_raw: events of text formats never carry a record", "[raw]") {
  for (const auto& [fixture, format] :
       std::vector<std::pair<std::string, std::string>>{{"pgaudit/sample_stderr.log", "pgaudit"},
                                                        {"pgaudit/multiline.log", "pgaudit"},
                                                        {"pgaudit/multiline.csv", "pgaudit_csv"},
                                                        {"hive_hs2/sample.log", "hive_hs2"},
                                                        {"hive_hms/sample.log", "hive_hms"}}) {
    INFO(fixture);
    for (const auto& e : decode(fixture, format, true).events) CHECK(e.raw.empty());
  }
}
