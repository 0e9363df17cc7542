// StreamDecoder with DecoderOptions::keep_raw: live sources' events carry
// their source record for rules' raw.<path> fields.
#include "detectors/sources/stream_decoder.h"
#include "tests/sources/sources_support.h"

using namespace sevwatch::testing;

namespace {

struct RawSink : src::IngestSink {
  std::vector<std::string> raws;
  void on_event(sevwatch::detectors::AccessEvent&& e) override { raws.push_back(e.raw); }
  void on_reject(src::Reject&&) override {}
};

}  // namespace

TEST_CASE("stream decoder: events carry their line only with keep_raw", "[raw]") {
  for (const bool keep : {false, true}) {
    SourceHarness h;
    RawSink sink;
    h.ctx.sink = &sink;
    h.ctx.decoder_options.keep_raw = keep;
    src::StreamDecoder d(h.ctx, "ranger", "stream-1", "ranger_audit");
    const std::string line = ranger_line("r-1");
    d.line("  " + line + " ", 1, 0);
    d.line("", 2, line.size() + 4);
    d.finish();
    REQUIRE(sink.raws.size() == 1);
    CHECK(sink.raws[0] == (keep ? line : std::string()));
  }
}

TEST_CASE("stream decoder: a CloudTrail Records line gives each event its record", "[raw]") {
  SourceHarness h;
  RawSink sink;
  h.ctx.sink = &sink;
  h.ctx.decoder_options.keep_raw = true;
  src::StreamDecoder d(h.ctx, "trail", "stream-1", "aws_cloudtrail");
  const std::string rec =
      R"({"eventTime":"2026-08-20T10:30:00Z","eventSource":"s3.amazonaws.com",)"
      R"("eventName":"GetObject","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"},)"
      R"("requestParameters":{"bucketName":"b","key":"k"},"eventID":"ID"})";
  auto with_id = [&](const std::string& id) {
    std::string r = rec;
    r.replace(r.find("\"ID\""), 4, "\"" + id + "\"");
    return r;
  };
  d.line(R"({"Records":[)" + with_id("one") + "," + with_id("two") + "]}", 1, 0);
  d.finish();
  REQUIRE(sink.raws.size() == 2);
  CHECK(sink.raws[0] == with_id("one"));
  CHECK(sink.raws[1] == with_id("two"));
}
