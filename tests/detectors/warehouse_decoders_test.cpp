// The warehouse decoders (ranger_admin, hive_hms, hive_hs2, aws_cloudtrail,
// gcp_bigquery, snowflake, databricks_uc, json_mapped): goldens per fixture
// directory, auto-detection of every vendor sample, and unit checks.
#include <zlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "detectors/bigquery_decoder.h"
#include "detectors/cloudtrail_decoder.h"
#include "detectors/decoder.h"
#include "detectors/hive_hs2_decoder.h"
#include "detectors/input_reader.h"
#include "detectors/json_mapped_decoder.h"
#include "tests/detectors/event_render.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace sevwatch::detectors;
using sevwatch::detectors::testing::CollectingSink;
using sevwatch::detectors::testing::render_all;

namespace {

DecoderRegistry builtin() {
  DecoderRegistry registry;
  register_builtin_decoders(registry);
  return registry;
}

std::string golden_text(const fs::path& p, const InputResult& r, const CollectingSink& sink) {
  return "# " + p.filename().string() + " lines=" + std::to_string(r.lines) +
         " bytes=" + std::to_string(r.bytes) + "\n" + render_all(sink);
}

// Every input in tests/fixtures/<format>/ decoded as <format>, compared with
// <input>.golden; auto-detection must pick the same format.
void check_format_dir(const std::string& format, std::initializer_list<std::string> exts) {
  const DecoderRegistry registry = builtin();
  int inputs = 0;
  for (const auto& entry : fs::directory_iterator(sevwatch::testing::fixture(format))) {
    const fs::path& p = entry.path();
    bool wanted = false;
    for (const auto& e : exts) wanted = wanted || p.extension() == e;
    if (!wanted) continue;
    ++inputs;
    SECTION(p.filename().string()) {
      CollectingSink sink;
      const InputResult r = read_input(p.string(), format, registry, DecoderOptions{}, sink);
      INFO(r.error);
      REQUIRE(r.ok);
      CollectingSink auto_sink;
      const InputResult ra = read_input(p.string(), "auto", registry, DecoderOptions{}, auto_sink);
      CHECK(ra.format == format);
      sevwatch::testing::check_golden(fs::path(p.string() + ".golden"), golden_text(p, r, sink));
    }
  }
  CHECK(inputs > 0);
}

}  // namespace

TEST_CASE("ranger_admin fixtures match their goldens", "[golden][ranger_admin]") {
  check_format_dir("ranger_admin", {".jsonl"});
}
TEST_CASE("hive_hms fixtures match their goldens", "[golden][hive]") {
  check_format_dir("hive_hms", {".log"});
}
TEST_CASE("hive_hs2 fixtures match their goldens", "[golden][hive]") {
  check_format_dir("hive_hs2", {".log"});
}
TEST_CASE("aws_cloudtrail fixtures match their goldens", "[golden][cloudtrail]") {
  check_format_dir("aws_cloudtrail", {".jsonl", ".json"});
}
TEST_CASE("gcp_bigquery fixtures match their goldens", "[golden][bigquery]") {
  check_format_dir("gcp_bigquery", {".jsonl"});
}
TEST_CASE("snowflake fixtures match their goldens", "[golden][snowflake]") {
  check_format_dir("snowflake", {".jsonl"});
}
TEST_CASE("databricks_uc fixtures match their goldens", "[golden][databricks]") {
  check_format_dir("databricks_uc", {".jsonl"});
}

TEST_CASE("json_mapped decodes with its YAML mapping", "[golden][json_mapped]") {
  const DecoderRegistry registry = builtin();
  const fs::path p = sevwatch::testing::fixture("json_mapped/sample.jsonl");
  DecoderOptions opts;
  opts.mapping_file = sevwatch::testing::fixture("json_mapped/mapping.yaml").string();
  CollectingSink sink;
  const InputResult r = read_input(p.string(), "json_mapped", registry, opts, sink);
  INFO(r.error);
  REQUIRE(r.ok);
  sevwatch::testing::check_golden(fs::path(p.string() + ".golden"), golden_text(p, r, sink));

  SECTION("never auto-detected") {
    CollectingSink s;
    const InputResult ra = read_input(p.string(), "auto", registry, opts, s);
    CHECK(ra.format != "json_mapped");
  }
  SECTION("a missing mapping is one weird, not one per line") {
    CollectingSink s;
    REQUIRE(read_input(p.string(), "json_mapped", registry, DecoderOptions{}, s).ok);
    CHECK(s.events.empty());
    CHECK(s.count(weird::kUnknownFormat) == 1);
  }
}

TEST_CASE("json mappings are checked", "[json_mapped]") {
  JsonMapping m;
  std::string error;
  CHECK_FALSE(parse_json_mapping("principal: a", m, error));
  CHECK(error == "the mapping needs 'time'");
  CHECK_FALSE(parse_json_mapping("time: {path: t, format: iso}", m, error));
  CHECK_FALSE(parse_json_mapping("time: t\naction: {path: v, values: {X: reed}}", m, error));
  INFO(error);
  CHECK(error.find("unknown action 'reed'") != std::string::npos);
  CHECK_FALSE(parse_json_mapping("time: t\nbogus: x", m, error));
  CHECK_FALSE(parse_json_mapping("[1, 2", m, error));
  CHECK_FALSE(load_json_mapping("/nonexistent/m.yaml", m, error));
  JsonMapping ok;
  CHECK(parse_json_mapping("time: {path: a.b, format: epoch_ms}\nobject: {path: o, level: table}",
                           ok, error));
  CHECK(ok.time_path == "a.b");
  CHECK(ok.object_level == "table");

  std::int64_t ms = 0;
  bool assumed = false;
  CHECK(parse_time_format("20/08/2026 10:00", "%d/%m/%Y %H:%M", ms, assumed));
  CHECK(testing::iso_time(ms) == "2026-08-20T10:00:00.000Z");
  CHECK(assumed);
  CHECK_FALSE(parse_time_format("20/08/2026 10:00 extra", "%d/%m/%Y %H:%M", ms, assumed));
  CHECK_FALSE(parse_time_format("2026-13-01", "%Y-%m-%d", ms, assumed));
}

TEST_CASE("every vendor sample is auto-detected as its format", "[detect]") {
  const DecoderRegistry registry = builtin();
  const std::pair<const char*, const char*> samples[] = {
      {"ranger_audit/sample.jsonl", "ranger_audit"},
      {"ranger_admin/sample.jsonl", "ranger_admin"},
      {"hive_hms/sample.log", "hive_hms"},
      {"hive_hs2/sample.log", "hive_hs2"},
      {"aws_cloudtrail/sample_lakeformation.jsonl", "aws_cloudtrail"},
      {"aws_cloudtrail/sample_s3.jsonl", "aws_cloudtrail"},
      {"aws_cloudtrail/sample_glue_athena.jsonl", "aws_cloudtrail"},
      {"aws_cloudtrail/records_pretty.json", "aws_cloudtrail"},
      {"gcp_bigquery/sample.jsonl", "gcp_bigquery"},
      {"snowflake/sample.jsonl", "snowflake"},
      {"databricks_uc/sample.jsonl", "databricks_uc"},
      {"pgaudit/sample_stderr.log", "pgaudit"},
      {"pgaudit/sample_csvlog.csv", "pgaudit_csv"},
  };
  for (const auto& [file, format] : samples) {
    CollectingSink sink;
    const InputResult r = read_input(sevwatch::testing::fixture(file).string(), "auto", registry,
                                     DecoderOptions{}, sink);
    INFO(file << ": " << r.error);
    CHECK(r.format == format);
    CHECK(sink.weirds.empty());
    CHECK_FALSE(sink.events.empty());
  }
}

TEST_CASE("a gzipped one-line CloudTrail Records file", "[cloudtrail]") {
  const std::string text = sevwatch::testing::read_file(
      sevwatch::testing::fixture("aws_cloudtrail/records_pretty.json"));
  std::string one_line;
  for (char c : text) {
    if (c != '\n') one_line.push_back(c);
  }
  sevwatch::testing::TempDir dir("cloudtrail");
  const auto path = dir.path() / "111122223333_CloudTrail_us-east-1_20260820T1030Z_x.json.gz";
  gzFile gz = gzopen(path.string().c_str(), "wb");
  REQUIRE(gz != nullptr);
  gzwrite(gz, one_line.data(), static_cast<unsigned>(one_line.size()));
  gzclose(gz);
  CollectingSink sink;
  const DecoderRegistry registry = builtin();
  const InputResult r = read_input(path.string(), "auto", registry, DecoderOptions{}, sink);
  REQUIRE(r.ok);
  CHECK(r.format == "aws_cloudtrail");
  REQUIRE(sink.events.size() == 3);  // GetObject; PutBucketAcl: grant AllUsers, revoke the other
  CHECK(sink.events[0].principal == "anonymous");
  CHECK(sink.events[0].object.name == "s3://acme-dw-exports/sales/orders/part-0.csv");
  CHECK(sink.events[1].action == Action::grant);
  CHECK(sink.events[1].grant.grantees.at(0).name == "AllUsers");
}

TEST_CASE("a pretty-printed document over the cap is one weird", "[cloudtrail]") {
  DecoderOptions opts;
  opts.max_line_bytes = 16;  // document cap 16 x 64 = 1 KiB
  auto dec = make_cloudtrail_decoder(opts);
  CollectingSink sink;
  SourcePos pos;
  dec->decode_line("{", pos, sink);
  dec->decode_line("\"Records\": [", pos, sink);
  for (int i = 0; i < 200; ++i) dec->decode_line("{\"a\": \"0123456789\"},", pos, sink);
  dec->decode_line("{}]}", pos, sink);
  dec->finish(sink);
  CHECK(sink.events.empty());
  CHECK(sink.count(weird::kLineTooLong) == 1);
  CHECK(sink.weirds.size() == 1);
}

TEST_CASE("naming helpers", "[warehouse]") {
  CHECK(hive_query_id_user("hive_20260820091401_3f6c1c9e-7a51") == "hive");
  CHECK(hive_query_id_user("svc_etl_20260820091401_3f6c") == "svc_etl");
  CHECK(hive_query_id_user("nodate") == "");
  CHECK(bigquery_object("projects/p/datasets/d/tables/t$2026").name == "p.d.t");
  CHECK(bigquery_object("projects/p/datasets/d").level == ObjectLevel::schema);
  CHECK(bigquery_object("projects/p").level == ObjectLevel::catalog);
  CHECK(bigquery_object("projects/p/jobs/j").level == ObjectLevel::none);
  CHECK(bigquery_member("user:a@x").kind == GranteeKind::user);
  CHECK(bigquery_member("user:a@x").name == "a@x");
  CHECK(bigquery_member("allUsers").name == "allUsers");
  CHECK(bigquery_member("domain:x.com").name == "domain:x.com");
  CHECK(lake_formation_grantee("111122223333:IAMPrincipals").kind == GranteeKind::group);
  CHECK(lake_formation_grantee("arn:aws:iam::1:role/r").kind == GranteeKind::role);
  CHECK(lake_formation_grantee("arn:aws:iam::1:user/u").kind == GranteeKind::user);
}

// Every prefix of every fixture line, and the line with one byte flipped, fed
// to every decoder: nothing throws or crashes (ASan builds check the rest).
TEST_CASE("decoders survive cut and mangled lines", "[warehouse][robust]") {
  const DecoderRegistry registry = builtin();
  std::vector<std::string> lines;
  for (const char* dir : {"ranger_admin", "hive_hms", "hive_hs2", "aws_cloudtrail", "gcp_bigquery",
                          "snowflake", "databricks_uc", "json_mapped"}) {
    for (const auto& entry : fs::directory_iterator(sevwatch::testing::fixture(dir))) {
      if (entry.path().extension() == ".golden") continue;
      const std::string text = sevwatch::testing::read_file(entry.path());
      std::size_t start = 0;
      while (start < text.size()) {
        const auto nl = text.find('\n', start);
        lines.push_back(text.substr(start, nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
    }
  }
  DecoderOptions opts;
  opts.mapping_file = sevwatch::testing::fixture("json_mapped/mapping.yaml").string();
  for (const auto& name : registry.names()) {
    auto dec = registry.find(name)->make(opts);
    CollectingSink sink;
    SourcePos pos;
    for (const auto& line : lines) {
      for (std::size_t n = 0; n <= line.size(); n += 7) {
        dec->decode_line(std::string_view(line).substr(0, n), pos, sink);
      }
      std::string flipped = line;
      if (!flipped.empty()) flipped[flipped.size() / 2] ^= 0x5a;
      dec->decode_line(flipped, pos, sink);
    }
    dec->finish(sink);
    SUCCEED(name);
  }
}
