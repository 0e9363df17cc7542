// One stream's decoder (a file, a TCP connection, an HTTP request, a Kafka
// partition): feeds it lines with positions, forwards its events to the
// pipeline and turns its weirds into Rejects that carry the offending line.
//
// Format `auto` picks the decoder from the content (DecoderRegistry::detect,
// as `scan --format auto` does), in one of two ways (Sniffing). Lines are
// held until the format is known; a record no format claims is rejected as
// unknown_format.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "detectors/decoder.h"
#include "detectors/sources/line_framer.h"
#include "detectors/sources/sniff_buffer.h"
#include "detectors/sources/source.h"

namespace sevwatch::detectors::sources {

// How format `auto` finds a stream's decoder.
enum class Sniffing {
  // Files: the first non-empty lines (kSniffLines, or those there are when
  // settle() is called) pick the format once for the whole stream.
  stream,
  // Messages (syslog, HTTP, Kafka, stdin): the first record picks it. A record
  // that fails under it, or that its format does not recognize, is sniffed
  // alone and goes to the format that claims it; if none does, it is
  // rejected as unknown_format.
  record,
};

class StreamDecoder final : private EventSink {
 public:
  // `stream` names the stream in positions (SourcePos::file). Throws
  // std::invalid_argument when `format` is neither "auto" nor a known decoder.
  StreamDecoder(const SourceContext& context, std::string source, std::string stream,
                const std::string& format, Sniffing sniffing = Sniffing::stream);

  void line(std::string_view text, std::uint64_t line_no, std::uint64_t offset);
  // A framed line, including one over the length cap (rejected).
  void framed(const FramedLine& l);
  // A transport-level reject for this stream.
  void reject(std::string_view reason, std::uint64_t line_no, std::uint64_t offset,
              std::string detail, std::string_view raw);
  // No more input for now (a file read to its current end): format `auto`
  // decides from the lines it holds.
  void settle();
  void finish();

  // Where the oldest line whose record is not delivered yet starts (held to
  // sniff the format, or by the decoder: Decoder::pending_from), or null.
  // A checkpoint must not pass it.
  const SourcePos* pending_from() const;
  // How long a line starting with `head` may be (LineFramer::set_line_cap).
  std::size_t line_cap(std::string_view head) const;

  const std::string& stream() const { return stream_; }
  // The decoder in use; empty while format `auto` has not decided.
  std::string_view format() const;
  std::uint64_t events() const { return events_; }
  std::uint64_t rejects() const { return rejects_; }

 private:
  struct Captured {
    Weird weird;
    std::string raw;
  };
  // A record no format recognizes, given to the decoder in use (`format`).
  struct Unknown {
    SourcePos pos;
    std::string text;
    std::string_view format;
  };

  void on_event(AccessEvent&& event) override;
  void on_weird(Weird&& weird) override;

  void take(HeldLine&& held);
  void too_long(const SourcePos& pos, std::uint64_t length, std::size_t limit,
                std::string_view prefix);
  void decide();
  void use(const DecoderInfo& info);
  void decode(std::string_view text, const SourcePos& pos);
  void decode_record(std::string_view text, const SourcePos& pos);
  void run(std::string_view text, const SourcePos& pos);
  void forward(Captured&& c);
  static bool same_place(const SourcePos& a, const SourcePos& b);

  IngestSink& sink_;
  const DecoderRegistry& registry_;
  DecoderOptions options_;
  LogFn log_;
  std::string source_;
  std::string stream_;
  bool auto_;
  Sniffing sniffing_;
  const DecoderInfo* info_ = nullptr;
  std::unique_ptr<Decoder> decoder_;
  SniffBuffer held_;
  std::string_view current_;  // the line being decoded, for rejects
  bool capture_ = false;      // weirds go to captured_ (Sniffing::record)
  std::vector<Captured> captured_;
  std::vector<Unknown> unknown_;  // such records the decoder may still hold
  std::uint64_t events_ = 0;
  std::uint64_t rejects_ = 0;
};

// The decoder named `format`, or nullptr for "auto"; throws
// std::invalid_argument naming the known ones for anything else.
const DecoderInfo* require_format(const DecoderRegistry& registry, const std::string& source,
                                  const std::string& format);

}  // namespace sevwatch::detectors::sources
