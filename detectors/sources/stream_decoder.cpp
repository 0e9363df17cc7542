#include "detectors/sources/stream_decoder.h"

#include <fmt/format.h>

#include <stdexcept>

#include "detectors/raw_record.h"

namespace sevwatch::detectors::sources {

const DecoderInfo& require_format(const DecoderRegistry& registry, const std::string& source,
                                  const std::string& format) {
  const DecoderInfo* info = format.empty() ? nullptr : registry.find(format);
  if (info == nullptr) {
    std::string known;
    for (const auto& n : registry.names()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument(fmt::format(
        "source '{}': {} (known formats: {})", source,
        format.empty() ? std::string("no format given") : "unknown format '" + format + "'",
        known));
  }
  return *info;
}

StreamDecoder::StreamDecoder(const SourceContext& context, std::string source, std::string stream,
                             const std::string& format)
    : sink_(*context.sink),
      source_(std::move(source)),
      stream_(std::move(stream)),
      max_line_(context.decoder_options.max_line_bytes),
      keep_raw_(context.decoder_options.keep_raw),
      decoder_(require_format(*context.registry, source_, format).make(context.decoder_options)) {}

void StreamDecoder::line(std::string_view text, std::uint64_t line_no, std::uint64_t offset) {
  if (text.size() > max_line_) {
    reject(weird::kLineTooLong, line_no, offset,
           fmt::format("line of {} bytes (limit {})", text.size(), max_line_), text);
    return;
  }
  current_ = text;
  decoder_->decode_line(text, SourcePos{stream_, line_no, offset}, *this);
  current_ = {};
}

void StreamDecoder::framed(const FramedLine& l) {
  if (l.too_long) {
    reject(weird::kLineTooLong, l.line, l.offset,
           fmt::format("line of {} bytes (limit {})", l.length, max_line_), l.text);
    return;
  }
  line(l.text, l.line, l.offset);
}

void StreamDecoder::reject(std::string_view reason, std::uint64_t line_no, std::uint64_t offset,
                           std::string detail, std::string_view raw) {
  ++rejects_;
  sink_.on_reject(Reject{source_, SourcePos{stream_, line_no, offset}, std::string(reason),
                         std::move(detail), std::string(raw)});
}

void StreamDecoder::finish() {
  decoder_->finish(*this);
}

void StreamDecoder::on_event(AccessEvent&& event) {
  ++events_;
  if (keep_raw_ && event.raw.empty()) event.raw.assign(raw_json_record(current_));
  sink_.on_event(std::move(event));
}

void StreamDecoder::on_weird(Weird&& w) {
  ++rejects_;
  sink_.on_reject(Reject{source_, std::move(w.pos), std::string(w.reason), std::move(w.detail),
                         std::string(current_)});
}

}  // namespace sevwatch::detectors::sources
