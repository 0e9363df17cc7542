#include "detectors/sources/line_framer.h"

#include <algorithm>
#include <cstring>

#include "detectors/decoder.h"

namespace sevwatch::detectors::sources {

LineFramer::LineFramer(std::size_t max_line_bytes, std::size_t keep_prefix)
    : max_(max_line_bytes), keep_(keep_prefix), line_max_(max_line_bytes) {}

void LineFramer::reset(std::uint64_t offset, std::uint64_t line) {
  end_line();
  consumed_ = offset;
  lines_ = line;
}

void LineFramer::ask_cap(std::string_view head) {
  if (cap_asked_ || !cap_fn_) return;
  cap_asked_ = true;
  line_max_ = std::max(max_, cap_fn_(head.substr(0, kLineHeadBytes)));
}

bool LineFramer::over_cap(std::string_view piece) {
  if (!cap_asked_ && cap_fn_) {
    std::string head = carry_.substr(0, kLineHeadBytes);
    head.append(piece.substr(0, kLineHeadBytes - head.size()));
    ask_cap(head);
  }
  return pending_len_ > line_max_ + 1;  // +1: a trailing '\r' does not count
}

void LineFramer::feed(std::string_view bytes, const Fn& on_line) {
  while (!bytes.empty()) {
    const auto* nl = static_cast<const char*>(std::memchr(bytes.data(), '\n', bytes.size()));
    const std::size_t seg =
        nl == nullptr ? bytes.size() : static_cast<std::size_t>(nl - bytes.data());
    std::string_view piece = bytes.substr(0, seg);
    pending_len_ += seg;
    if (!too_long_ && pending_len_ > line_max_ + 1 && over_cap(piece)) {
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
  l.limit = line_max_;
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
    if (text.size() > line_max_) ask_cap(text);
    if (text.size() > line_max_) {
      l.too_long = true;
      l.length = text.size();
      text = text.substr(0, keep_);
    }
  }
  l.text = text;
  on_line(l);
  end_line();
}

void LineFramer::end_line() {
  // A long line's buffer (a Records file) is given back, not kept for the next.
  if (carry_.capacity() > max_ + keep_) {
    std::string().swap(carry_);
  } else {
    carry_.clear();
  }
  pending_len_ = 0;
  too_long_ = false;
  line_max_ = max_;
  cap_asked_ = false;
}

}  // namespace sevwatch::detectors::sources
