// The dead-letter file: one JSON object per rejected line
// {"at": "...Z", "source": NAME, "stream": "...", "line": N, "offset": N,
//  "reason": "...", "detail": "...", "raw": "...", "raw_bytes": N,
//  "raw_truncated": bool}
// appended as lines are rejected and synced before each checkpoint commit,
// so a rejected line is on disk before its position is committed.
// Non-UTF-8 bytes in `raw` are written as \u00XX escapes of Latin-1.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "detectors/sources/source.h"

namespace sevwatch::detectors::sources {

class DeadLetterFile {
 public:
  // Empty `path`: rejects are only counted. Throws std::runtime_error when the
  // file cannot be opened for appending.
  DeadLetterFile(const std::string& path, std::size_t max_raw_bytes);
  ~DeadLetterFile();
  DeadLetterFile(const DeadLetterFile&) = delete;
  DeadLetterFile& operator=(const DeadLetterFile&) = delete;

  void write(const Reject& reject, std::int64_t now_ms);
  // Flushes and fsyncs what was written. Throws std::runtime_error on failure.
  void sync();
  std::uint64_t written() const { return written_; }

 private:
  std::string path_;
  std::size_t max_raw_;
  std::FILE* f_ = nullptr;
  std::uint64_t written_ = 0;
  bool dirty_ = false;
};

// `raw` cut to at most `max` bytes at a UTF-8 boundary, as a JSON string
// literal (with quotes); bytes that are not UTF-8 become \u00XX.
std::string json_quote_bytes(std::string_view raw, std::size_t max);

}  // namespace sevwatch::detectors::sources
