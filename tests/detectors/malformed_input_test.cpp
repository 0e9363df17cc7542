// Bad input never stops decoding: each bad record is counted under its reason
// and every good record around it is still decoded.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "detectors/decoder.h"
#include "detectors/input_reader.h"
#include "detectors/ranger_decoder.h"
#include "tests/detectors/event_render.h"
#include "tests/test_support.h"

using namespace sevwatch::detectors;
using sevwatch::detectors::testing::CollectingSink;
using sevwatch::detectors::testing::render_all;

namespace {

std::string good(int i) {
  return R"({"repoType":3,"repo":"prod_hive","reqUser":"u)" + std::to_string(i) +
         R"(","evtTime":"2026-08-20 09:00:00.000","access":"SELECT","resource":"db/t","result":1,"id":"good-)" +
         std::to_string(i) + R"("})";
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_CASE("malformed Ranger lines are counted by reason, good lines survive", "[malformed]") {
  std::string text;
  int good_lines = 0;
  auto add_good = [&] { text += good(good_lines++) + "\n"; };
  add_good();
  text += R"({"repoType":3,"repo":"prod_hive","reqUser":"x","evtTi)"
          "\n";  // truncated
  add_good();
  text +=
      "{\"reqUser\":\"bad\xff\xfe\",\"evtTime\":\"2026-08-20 "
      "09:00:00.000\",\"access\":\"SELECT\"}\n";
  add_good();
  text += "{\"reqUser\":\"" + std::string(2 * 1024 * 1024, 'x') + "\"}\n";  // 2 MiB line
  add_good();
  text += repeat("[", 5000) + "\n";  // deep and unclosed
  add_good();
  text += repeat("{\"a\":", 5000) + "1" + repeat("}", 5000) + "\n";  // deep and complete
  add_good();
  text += repeat("[", 5000) + repeat("]", 5000) + "\n";
  add_good();
  text += "null\n[]\n42\n";
  add_good();
  text += "   \n\n";  // blank lines: silently skipped
  add_good();
  text +=
      R"({"repoType":3,"reqUser":"x","evtTime":"2026-08-20 09:00:00.000","access":"SELECT"} trailing)"
      "\n";
  add_good();
  text += R"({"reqUser":"x","evtTime":"2026-08-20 09:00:00.000","access":"SELECT" "oops":1})"
          "\n";
  add_good();
  // Truncated right after a complete value, and inside an ignored array.
  text += R"({"repoType":3,"reqUser":"x","evtTime":"2026-08-20 09:00:00.000","access":"SELECT")"
          "\n";
  add_good();
  text +=
      R"({"repoType":3,"reqUser":"x","evtTime":"2026-08-20 09:00:00.000","access":"SELECT","tags":["a",)"
      "\n";
  add_good();
  text +=
      R"({"repoType":3,"reqUser":"x","evtTime":"2026-08-20 09:00:00.000","access":"SELECT","tags":{"a":[)"
      "\n";
  add_good();

  sevwatch::testing::TempDir dir("malformed");
  const auto path = dir.path() / "mixed.jsonl";
  sevwatch::testing::write_file(path, text);

  DecoderRegistry registry;
  register_builtin_decoders(registry);
  CollectingSink sink;
  const InputResult r = read_input(path.string(), "auto", registry, DecoderOptions{}, sink);
  INFO(r.error);
  REQUIRE(r.ok);
  CHECK(r.format == "ranger_audit");
  CHECK(r.bytes == text.size());
  REQUIRE(sink.events.size() == static_cast<std::size_t>(good_lines));
  for (int i = 0; i < good_lines; ++i) {
    CHECK(sink.events[static_cast<std::size_t>(i)].event_uid == "good-" + std::to_string(i));
  }
  CHECK(sink.count(weird::kTruncatedJson) == 4);
  CHECK(sink.count(weird::kInvalidUtf8) == 1);
  CHECK(sink.count(weird::kLineTooLong) == 1);
  CHECK(sink.count(weird::kNestingTooDeep) == 3);
  CHECK(sink.count(weird::kNotAnObject) == 3);
  CHECK(sink.count(weird::kInvalidJson) == 2);
  CHECK(sink.weirds.size() == 14);
  // The 2 MiB line is reported at its own position.
  for (const auto& w : sink.weirds) {
    if (w.reason == weird::kLineTooLong) CHECK(w.pos.line == 6);
  }
}

TEST_CASE("the small malformed fixture", "[malformed]") {
  DecoderRegistry registry;
  register_builtin_decoders(registry);
  CollectingSink sink;
  const auto path = sevwatch::testing::fixture("malformed/ranger_small.jsonl");
  const InputResult r = read_input(path.string(), "ranger_audit", registry, DecoderOptions{}, sink);
  REQUIRE(r.ok);
  REQUIRE(sink.events.size() == 3);
  CHECK(sink.events[0].principal == "ok1");
  CHECK(sink.events[2].principal == "ok3");
  CHECK(sink.count(weird::kTruncatedJson) == 1);
  CHECK(sink.count(weird::kNotAnObject) == 4);  // null, [], 42, "just a string"
  CHECK(sink.count(weird::kInvalidJson) == 4);  // hello world, trailing, bad escape, missing value
  CHECK(sink.count(weird::kInvalidUtf8) == 1);
}

TEST_CASE("the decoder itself enforces the record cap and depth limit", "[malformed]") {
  DecoderOptions opts;
  opts.max_line_bytes = 100;
  opts.max_depth = 3;
  auto dec = make_ranger_decoder(opts);
  CollectingSink sink;
  SourcePos pos{"x", 1, 0};
  dec->decode_line(std::string(200, ' ') + "{}" + std::string(200, ' '), pos, sink);  // trimmed
  dec->decode_line("{\"a\":\"" + std::string(200, 'x') + "\"}", pos, sink);
  dec->decode_line(R"({"a":{"b":{"c":1}}})", pos, sink);
  dec->decode_line(R"({"a":{"b":{"c":{"d":1}}}})", pos, sink);
  dec->decode_line(R"({"s":"[[[[[[[[[[{{{{{{{"})", pos, sink);  // brackets inside strings
  dec->decode_line(R"({"s":"\"[[[[[[[[\\"})", pos, sink);
  CHECK(sink.count(weird::kLineTooLong) == 1);
  CHECK(sink.count(weird::kNestingTooDeep) == 1);
  CHECK(sink.count(weird::kMissingField) == 4);  // {}, the 3-deep one, two string ones
  CHECK(sink.events.empty());
}

TEST_CASE("a padded line decodes in place exactly as a copied one, whatever follows it",
          "[malformed]") {
  const std::vector<std::string> lines = {
      good(1),
      good(2) + "   ",
      R"({"repoType":3,"repo":"prod_hive","reqUser":"x","evtTi)",
      R"({"repoType":3,"reqUser":"x","evtTime":"2026-08-20 09:00:00.000","access":"SELECT")",
      R"({"repoType":3,"reqUser":"x","evtTime":"2026-08-20 09:00:00.000","access":"SELECT"} trailing)",
      R"({"reqUser":"esc\"aped \\ \u00e9","evtTime":"2026-08-20 09:00:00.000","access":"SELECT","result":1})",
      R"({"reqUser":"n","evtTime":"2026-08-20 09:00:00.000","access":"SELECT","result":12)",
      R"({"reqUser":"n","evtTime":"2026-08-20 09:00:00.000","access":"SELECT","seq_num":7})",
      "{\"reqUser\":\"bad\xff\",\"evtTime\":\"2026-08-20 09:00:00.000\",\"access\":\"SELECT\"}",
      repeat("[", 100),
      "{" + repeat("\"a\":{", 70) + repeat("}", 70) + "}",
      "null",
      "{}",
  };
  // What follows the record in the input: digits, quotes and brackets that
  // would change the record if the parser read past its end.
  const std::string follow = "\n" + repeat("9\"}]{[,:", 16);
  auto copied = make_ranger_decoder(DecoderOptions{});
  auto in_place = make_ranger_decoder(DecoderOptions{});
  CollectingSink a, b;
  SourcePos pos{"x", 1, 0};
  for (const auto& line : lines) {
    INFO(line);
    copied->decode_line(line, pos, a);
    const std::string buffer = line + follow;
    REQUIRE(buffer.size() - line.size() >= kLinePadding);
    in_place->decode_padded_line(std::string_view(buffer.data(), line.size()), pos, b);
    ++pos.line;
  }
  CHECK(a.events.size() == 4);
  CHECK(render_all(b) == render_all(a));
}

TEST_CASE("every JSON format decodes a padded line in place exactly as a copied one",
          "[malformed]") {
  DecoderRegistry registry;
  register_builtin_decoders(registry);
  const std::string follow = "\n" + repeat("9\"}]{[,:", 16);
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"ranger_audit", "ranger_audit/hive_hdfs_misc.jsonl"},
      {"aws_cloudtrail", "aws_cloudtrail/edge_cases.jsonl"},
      {"aws_cloudtrail", "aws_cloudtrail/sample_lakeformation.jsonl"},
      {"gcp_bigquery", "gcp_bigquery/sample.jsonl"},
      {"snowflake", "snowflake/sample.jsonl"},
      {"databricks_uc", "databricks_uc/sample.jsonl"},
      {"ranger_admin", "ranger_admin/sample.jsonl"},
  };
  for (const auto& [format, file] : inputs) {
    const auto path = sevwatch::testing::fixture(file);
    if (!std::filesystem::exists(path)) FAIL("missing fixture " << file);
    INFO(file);
    std::string text = sevwatch::testing::read_file(path);
    // Damaged copies of every line too: cut in half, and a stray byte.
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(start, end - start);
      lines.push_back(line);
      lines.push_back(line.substr(0, line.size() / 2));
      lines.push_back(line + "x");
      start = end + 1;
    }
    auto copied = registry.find(format)->make(DecoderOptions{});
    auto in_place = registry.find(format)->make(DecoderOptions{});
    CollectingSink a, b;
    SourcePos pos{file, 1, 0};
    for (const auto& line : lines) {
      copied->decode_line(line, pos, a);
      const std::string buffer = line + follow;
      in_place->decode_padded_line(std::string_view(buffer.data(), line.size()), pos, b);
      ++pos.line;
    }
    copied->finish(a);
    in_place->finish(b);
    CHECK_FALSE(a.events.empty());
    CHECK_FALSE(a.weirds.empty());
    CHECK(render_all(b) == render_all(a));
  }
}
