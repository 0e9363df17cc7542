// The first lines of a stream whose format is `auto`, held (copied, with
// their positions) until they are enough to tell the format; then handed
// back in order to be decoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detectors/access_event.h"

namespace sevwatch::detectors::sources {

struct HeldLine {
  std::string text;  // for a too-long line, a prefix (for the dead-letter file)
  SourcePos pos;
  bool too_long = false;
  std::uint64_t length = 0;  // of a too-long line
  std::size_t limit = 0;     // the cap it went over
};

inline bool blank_line(std::string_view s) {
  return s.find_first_not_of(" \t\r") == std::string_view::npos;
}

class SniffBuffer {
 public:
  void add(HeldLine line) {
    if (!line.too_long && !blank_line(line.text)) ++non_empty_;
    lines_.push_back(std::move(line));
  }
  bool empty() const { return lines_.empty(); }
  // Lines that can vote on the format (not blank, not too long).
  std::size_t non_empty() const { return non_empty_; }
  const SourcePos& oldest() const { return lines_.front().pos; }

  // The voting lines, as views into the buffer.
  std::vector<std::string_view> sample() const {
    std::vector<std::string_view> out;
    for (const auto& l : lines_) {
      if (!l.too_long && !blank_line(l.text)) out.push_back(l.text);
    }
    return out;
  }

  // Every held line, in order; the buffer is empty afterwards.
  std::vector<HeldLine> take() {
    non_empty_ = 0;
    return std::exchange(lines_, {});
  }

 private:
  std::vector<HeldLine> lines_;
  std::size_t non_empty_ = 0;
};

}  // namespace sevwatch::detectors::sources
