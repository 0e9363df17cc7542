#include "detectors/sources/stream_decoder.h"

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "detectors/raw_record.h"

namespace sevwatch::detectors::sources {

namespace {
constexpr std::string_view kAuto = "auto";
constexpr std::size_t kRawPrefix = 512;  // what a too-long line keeps for the dead letter
}  // namespace

const DecoderInfo* require_format(const DecoderRegistry& registry, const std::string& source,
                                  const std::string& format) {
  if (format == kAuto) return nullptr;
  const DecoderInfo* info = format.empty() ? nullptr : registry.find(format);
  if (info == nullptr) {
    std::string known;
    for (const auto& n : registry.names()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument(fmt::format(
        "source '{}': {} (known formats: auto, {})", source,
        format.empty() ? std::string("no format given") : "unknown format '" + format + "'",
        known));
  }
  return info;
}

StreamDecoder::StreamDecoder(const SourceContext& context, std::string source, std::string stream,
                             const std::string& format, Sniffing sniffing)
    : sink_(*context.sink),
      registry_(*context.registry),
      options_(context.decoder_options),
      log_(context.log),
      source_(std::move(source)),
      stream_(std::move(stream)),
      auto_(format == kAuto),
      sniffing_(sniffing) {
  if (const DecoderInfo* info = require_format(registry_, source_, format)) use(*info);
}

std::string_view StreamDecoder::format() const {
  return info_ == nullptr ? std::string_view() : std::string_view(info_->name);
}

std::size_t StreamDecoder::line_cap(std::string_view head) const {
  // A message stream may change format at any record.
  if (info_ == nullptr || (auto_ && sniffing_ == Sniffing::record)) {
    return registry_.max_line_for(head, options_);
  }
  return info_->max_line_for(head, options_);
}

const SourcePos* StreamDecoder::pending_from() const {
  if (!held_.empty()) return &held_.oldest();
  return decoder_ ? decoder_->pending_from() : nullptr;
}

void StreamDecoder::line(std::string_view text, std::uint64_t line_no, std::uint64_t offset) {
  const SourcePos pos{stream_, line_no, offset};
  if (text.size() > options_.max_line_bytes) {
    const std::size_t cap = line_cap(text.substr(0, kLineHeadBytes));
    if (text.size() > cap) return too_long(pos, text.size(), cap, text.substr(0, kRawPrefix));
  }
  if (decoder_) return decode(text, pos);
  take(HeldLine{std::string(text), pos});
}

void StreamDecoder::framed(const FramedLine& l) {
  const SourcePos pos{stream_, l.line, l.offset};
  if (l.too_long) {
    return too_long(pos, l.length, l.limit != 0 ? l.limit : options_.max_line_bytes, l.text);
  }
  if (decoder_) return decode(l.text, pos);
  take(HeldLine{std::string(l.text), pos});
}

void StreamDecoder::take(HeldLine&& held) {
  if (decoder_) return decode(held.text, held.pos);
  held_.add(std::move(held));
  const std::size_t enough = sniffing_ == Sniffing::record ? 1 : kSniffLines;
  if (held_.non_empty() >= enough) decide();
}

void StreamDecoder::too_long(const SourcePos& pos, std::uint64_t length, std::size_t limit,
                             std::string_view prefix) {
  if (!decoder_ && !held_.empty()) {  // keeps its place among the held lines
    return held_.add(HeldLine{std::string(prefix), pos, true, length, limit});
  }
  reject(weird::kLineTooLong, pos.line, pos.offset,
         fmt::format("line of {} bytes (limit {})", length, limit), prefix);
}

void StreamDecoder::reject(std::string_view reason, std::uint64_t line_no, std::uint64_t offset,
                           std::string detail, std::string_view raw) {
  ++rejects_;
  sink_.on_reject(Reject{source_, SourcePos{stream_, line_no, offset}, std::string(reason),
                         std::move(detail), std::string(raw)});
}

void StreamDecoder::settle() {
  if (!decoder_ && !held_.empty()) decide();
}

void StreamDecoder::finish() {
  settle();
  current_ = {};
  if (decoder_) decoder_->finish(*this);
  unknown_.clear();
}

void StreamDecoder::use(const DecoderInfo& info) {
  if (decoder_) {
    current_ = {};
    decoder_->finish(*this);  // what the previous format still holds
  }
  info_ = &info;
  decoder_ = info.make(options_);
}

void StreamDecoder::decide() {
  const std::vector<std::string_view> sample = held_.sample();
  auto held = held_.take();  // the buffer moves: the views stay valid
  const DecoderInfo* info = sample.empty() ? nullptr : registry_.detect(sample);
  if (info != nullptr) {
    use(*info);
    if (sniffing_ == Sniffing::stream && log_) {
      log_("info", fmt::format("source {}: {}: format auto: {} (from {} line(s))", source_, stream_,
                               info->name, sample.size()));
    }
  } else if (!sample.empty() && sniffing_ == Sniffing::stream && log_) {
    log_("warn", fmt::format("source {}: {}: format auto: no known format recognizes its first {} "
                             "line(s); rejected as unknown_format, sniffing again from the next",
                             source_, stream_, sample.size()));
  }
  for (auto& h : held) {
    if (h.too_long) {
      reject(weird::kLineTooLong, h.pos.line, h.pos.offset,
             fmt::format("line of {} bytes (limit {})", h.length, h.limit), h.text);
    } else if (decoder_) {
      decode(h.text, h.pos);
    } else if (!blank_line(h.text)) {
      reject(weird::kUnknownFormat, h.pos.line, h.pos.offset,
             "format auto: no known format recognizes this record", h.text);
    }
  }
}

void StreamDecoder::decode(std::string_view text, const SourcePos& pos) {
  if (auto_ && sniffing_ == Sniffing::record && !blank_line(text)) return decode_record(text, pos);
  run(text, pos);
}

void StreamDecoder::run(std::string_view text, const SourcePos& pos) {
  current_ = text;
  decoder_->decode_line(text, pos, *this);
  current_ = {};
}

void StreamDecoder::decode_record(std::string_view text, const SourcePos& pos) {
  const std::vector<std::string_view> one{text};
  // A record its format does not recognize goes to the format that does. One
  // that no format recognizes stays with the decoder (it may be part of a
  // multi-line record); if the decoder rejects it, now or when it lets go of
  // it, the reject is unknown_format.
  const bool mine = !info_->sniff || info_->sniff(one) > 0;
  const DecoderInfo* claimed = mine ? info_ : registry_.detect(one);
  if (claimed == nullptr) {
    unknown_.push_back(Unknown{pos, std::string(text), info_->name});
  } else if (claimed != info_) {
    use(*claimed);
  }
  const std::uint64_t events_before = events_;
  capture_ = true;
  run(text, pos);
  capture_ = false;
  std::vector<Captured> captured = std::move(captured_);
  captured_.clear();
  // Its format claims it, yet it failed: another format may claim it more.
  bool failed = false;
  for (const auto& c : captured) failed = failed || same_place(c.weird.pos, pos);
  const DecoderInfo* other =
      mine && failed && events_ == events_before ? registry_.detect(one) : info_;
  for (auto& c : captured) {
    if (other == info_ || !same_place(c.weird.pos, pos)) forward(std::move(c));
  }
  if (other != info_ && other != nullptr) {
    use(*other);
    run(text, pos);
  }
  // Forget the unrecognized lines the decoder no longer holds.
  const SourcePos* held = decoder_->pending_from();
  std::erase_if(unknown_,
                [&](const Unknown& u) { return held == nullptr || !same_place(u.pos, *held); });
}

bool StreamDecoder::same_place(const SourcePos& a, const SourcePos& b) {
  return a.line == b.line && a.offset == b.offset && a.file == b.file;
}

void StreamDecoder::forward(Captured&& c) {
  for (const auto& u : unknown_) {
    if (!same_place(u.pos, c.weird.pos)) continue;
    c.raw = u.text;
    c.weird.detail =
        fmt::format("format auto: no known format recognizes this record (as {}: {}: {})", u.format,
                    c.weird.reason, c.weird.detail);
    c.weird.reason = weird::kUnknownFormat;
    break;
  }
  ++rejects_;
  sink_.on_reject(Reject{source_, std::move(c.weird.pos), std::string(c.weird.reason),
                         std::move(c.weird.detail), std::move(c.raw)});
}

void StreamDecoder::on_event(AccessEvent&& event) {
  ++events_;
  if (options_.keep_raw && event.raw.empty()) event.raw.assign(raw_json_record(current_));
  sink_.on_event(std::move(event));
}

void StreamDecoder::on_weird(Weird&& w) {
  Captured c{std::move(w), std::string(current_)};
  if (capture_) {
    captured_.push_back(std::move(c));
    return;
  }
  forward(std::move(c));
}

}  // namespace sevwatch::detectors::sources
