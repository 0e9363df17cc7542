// Hive's log4j lines: the `%d{ISO8601} %5p [%t] %c{2}: %m%n` prefix, and the
// assembly of a message that spans lines (multi-line SQL, stack traces): a
// line without the prefix continues the previous message.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

struct Log4jLine {
  std::int64_t wall_ms = 0;  // the line's wall-clock time read as UTC
  std::string_view level, thread, logger, message;
};

// "2026-08-20T09:14:01,882  INFO [pool-6-thread-12] HiveMetaStore.audit: ugi=..."
// ('T' or ' ' between date and time, ',' or '.' before the milliseconds).
bool parse_log4j_line(std::string_view line, Log4jLine& out);

// Collects one message and its continuation lines; hands each complete
// record (the first line's prefix, the message with '\n'-joined
// continuations) to `on_record`. Records longer than `max_bytes` are
// line_too_long weirds.
class Log4jAssembler {
 public:
  using Handler =
      std::function<void(const Log4jLine&, std::string_view message, const SourcePos&, EventSink&)>;
  // `wants(message)`: whether a record is worth keeping (others are skipped
  // with their continuations, unbuffered).
  Log4jAssembler(std::size_t max_bytes, std::function<bool(std::string_view)> wants,
                 Handler on_record)
      : max_(max_bytes), wants_(std::move(wants)), on_record_(std::move(on_record)) {}

  void line(std::string_view line, const SourcePos& pos, EventSink& sink);
  void finish(EventSink& sink);
  // The start of the record being assembled, or null (Decoder::pending_from).
  const SourcePos* pending_from() const { return pending_ ? &pos_ : nullptr; }

 private:
  std::size_t max_;
  std::function<bool(std::string_view)> wants_;
  Handler on_record_;
  bool pending_ = false;
  bool seen_head_ = false;  // stray text before the first record is unknown_shape
  Log4jLine head_;
  std::string head_text_;  // the first line (head_'s views point into it)
  std::string message_;
  SourcePos pos_;
};

}  // namespace sevwatch::detectors
