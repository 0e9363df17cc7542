#include "detectors/sources/line_framer.h"

#include <cstring>

namespace sevwatch::detectors::sources {

LineFramer::LineFramer(std::size_t max_line_bytes, std::size_t keep_prefix)
    : max_(max_line_bytes), keep_(keep_prefix) {}

void LineFramer::reset(std::uint64_t offset, std::uint64_t line) {
  carry_.clear();
  pending_len_ = 0;
  too_long_ = false;
  consumed_ = offset;
  lines_ = line;
}

void LineFramer::feed(std::string_view bytes, const Fn& on_line) {
  while (!bytes.empty()) {
    const auto* nl = static_cast<const char*>(std::memchr(bytes.data(), '\n', bytes.size()));
    const std::size_t seg =
        nl == nullptr ? bytes.size() : static_cast<std::size_t>(nl - bytes.data());
    std::string_view piece = bytes.substr(0, seg);
    pending_len_ += seg;
    if (!too_long_ && pending_len_ > max_ + 1) {  // +1: a trailing '\r' does not count
      too_long_ = true;
      carry_.append(piece);
      if (carry_.size() > keep_) carry_.resize(keep_);
      piece = {};
    }
    if (nl == nullptr) {
      if (!too_long_) {
        carry_.append(piece);
      }
      return;
    }
    bytes.remove_prefix(seg + 1);
    deliver(piece, /*newline=*/true, on_line);
  }
}

void LineFramer::finish(const Fn& on_line) {
  if (pending_len_ == 0 && !too_long_ && carry_.empty()) return;
  deliver({}, /*newline=*/false, on_line);
}

void LineFramer::deliver(std::string_view last_piece, bool newline, const Fn& on_line) {
  FramedLine l;
  l.line = ++lines_;
  l.offset = consumed_;
  l.length = pending_len_;
  consumed_ += pending_len_ + (newline ? 1 : 0);
  l.end = consumed_;
  std::string_view text;
  if (too_long_) {
    l.too_long = true;
    text = carry_;
  } else if (carry_.empty()) {
    text = last_piece;
  } else {
    carry_.append(last_piece);
    text = carry_;
  }
  if (!l.too_long) {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.size() > max_) {
      l.too_long = true;
      l.length = text.size();
      text = text.substr(0, keep_);
    }
  }
  l.text = text;
  on_line(l);
  carry_.clear();
  pending_len_ = 0;
  too_long_ = false;
}

}  // namespace sevwatch::detectors::sources
