// One stream's decoder (a file, a TCP connection, an HTTP request, a Kafka
// partition): feeds it lines with positions, forwards its events to the
// pipeline and turns its weirds into Rejects that carry the offending line.
#pragma once

#include <memory>
#include <string>

#include "detectors/decoder.h"
#include "detectors/sources/line_framer.h"
#include "detectors/sources/source.h"

namespace sevwatch::detectors::sources {

class StreamDecoder final : private EventSink {
 public:
  // `stream` names the stream in positions (SourcePos::file). Throws
  // std::invalid_argument when `format` is not a known decoder.
  StreamDecoder(const SourceContext& context, std::string source, std::string stream,
                const std::string& format);

  void line(std::string_view text, std::uint64_t line_no, std::uint64_t offset);
  // A framed line, including one over the length cap (rejected).
  void framed(const FramedLine& l);
  // A transport-level reject for this stream.
  void reject(std::string_view reason, std::uint64_t line_no, std::uint64_t offset,
              std::string detail, std::string_view raw);
  void finish();

  const std::string& stream() const { return stream_; }
  std::uint64_t events() const { return events_; }
  std::uint64_t rejects() const { return rejects_; }

 private:
  void on_event(AccessEvent&& event) override;
  void on_weird(Weird&& weird) override;

  IngestSink& sink_;
  std::string source_;
  std::string stream_;
  std::size_t max_line_;
  bool keep_raw_;  // DecoderOptions::keep_raw: events get current_ as `raw`
  std::unique_ptr<Decoder> decoder_;
  std::string_view current_;  // the line being decoded, for rejects
  std::uint64_t events_ = 0;
  std::uint64_t rejects_ = 0;
};

// The decoder named `format`, or throws std::invalid_argument naming the
// known ones ("auto" is not accepted for live sources).
const DecoderInfo& require_format(const DecoderRegistry& registry, const std::string& source,
                                  const std::string& format);

}  // namespace sevwatch::detectors::sources
