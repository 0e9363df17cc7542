// Incremental line framing for streams that arrive in pieces (a file that
// grows, a TCP connection, an HTTP body): bytes go in as they come, complete
// lines come out with their line number and byte offset. Same rules as
// read_input's framing: split on '\n', drop one trailing '\r', and a line over
// the cap is reported as too long with its length, never buffered whole (only
// a short prefix is kept, for the dead-letter file). A line may get a larger
// cap from its first bytes (set_line_cap: a one-line CloudTrail Records file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sevwatch::detectors::sources {

struct FramedLine {
  std::string_view text;     // without the newline; for too_long, a prefix
  std::uint64_t line = 0;    // 1-based
  std::uint64_t offset = 0;  // byte offset of the line's start
  std::uint64_t end = 0;     // byte offset just past the newline
  bool too_long = false;
  std::uint64_t length = 0;  // bytes in the line (without the newline)
  std::uint64_t limit = 0;   // the cap this line was held to
};

class LineFramer {
 public:
  using Fn = std::function<void(const FramedLine&)>;
  // The cap of a line from its first bytes (up to kLineHeadBytes).
  using CapFn = std::function<std::size_t(std::string_view head)>;

  explicit LineFramer(std::size_t max_line_bytes, std::size_t keep_prefix = 512);

  // Asked once per line that grows past max_line_bytes; a larger answer lets
  // that line grow to it (DecoderInfo::line_cap).
  void set_line_cap(CapFn fn) { cap_fn_ = std::move(fn); }

  // Feeds the next bytes of the stream; calls `on_line` for each complete line.
  void feed(std::string_view bytes, const Fn& on_line);
  // End of stream: a pending unterminated line (if any) is delivered.
  void finish(const Fn& on_line);
  // Forgets any partial line and continues as if the stream started at
  // `offset` after `line` lines (resume from a checkpoint, or 0 after a
  // truncation).
  void reset(std::uint64_t offset = 0, std::uint64_t line = 0);

  // Offset just past the last delivered line: where to resume.
  std::uint64_t consumed() const { return consumed_; }
  std::uint64_t lines() const { return lines_; }
  // Bytes received but not yet delivered (a partial line).
  std::uint64_t pending() const { return pending_len_; }

 private:
  void deliver(std::string_view last_piece, bool newline, const Fn& on_line);
  // The line has just grown past line_max_ + 1: true when it is too long.
  bool over_cap(std::string_view piece);
  void ask_cap(std::string_view head);  // once per line: line_max_ from its first bytes
  void end_line();

  std::size_t max_;
  std::size_t keep_;
  CapFn cap_fn_;
  std::size_t line_max_;  // the current line's cap
  bool cap_asked_ = false;
  std::string carry_;
  std::uint64_t pending_len_ = 0;  // length of the partial line so far
  bool too_long_ = false;
  std::uint64_t consumed_ = 0;
  std::uint64_t lines_ = 0;
};

}  // namespace sevwatch::detectors::sources
