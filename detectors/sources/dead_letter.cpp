#include "detectors/sources/dead_letter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace sevwatch::detectors::sources {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
    n = 2;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
  } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
    n = 4;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

std::string iso_ms(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

}  // namespace

std::string json_quote_bytes(std::string_view raw, std::size_t max) {
  std::string out = "\"";
  std::size_t i = 0;
  while (i < raw.size()) {
    const std::size_t n = utf8_len(raw, i);
    if (n == 0) {
      if (i + 1 > max) break;
      out += fmt::format("\\u00{:02x}", static_cast<unsigned char>(raw[i]));
      ++i;
      continue;
    }
    if (i + n > max) break;
    const char c = raw[i];
    if (n > 1) {
      out.append(raw.substr(i, n));
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
    i += n;
  }
  out += '"';
  return out;
}

DeadLetterFile::DeadLetterFile(const std::string& path, std::size_t max_raw_bytes)
    : path_(path), max_raw_(max_raw_bytes) {
  if (path_.empty()) return;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || (f_ = ::fdopen(fd, "a")) == nullptr) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error(fmt::format("dead-letter file {}: {}", path_, std::strerror(errno)));
  }
}

DeadLetterFile::~DeadLetterFile() {
  if (f_ != nullptr) std::fclose(f_);
}

void DeadLetterFile::write(const Reject& r, std::int64_t now_ms) {
  if (f_ == nullptr) return;
  const std::string line = fmt::format(
      "{{\"at\":\"{}\",\"source\":{},\"stream\":{},\"line\":{},\"offset\":{},\"reason\":{},"
      "\"detail\":{},\"raw\":{},\"raw_bytes\":{},\"raw_truncated\":{}}}\n",
      iso_ms(now_ms), json_quote_bytes(r.source, 1024), json_quote_bytes(r.pos.file, 4096),
      r.pos.line, r.pos.offset, json_quote_bytes(r.reason, 256), json_quote_bytes(r.detail, 1024),
      json_quote_bytes(r.raw, max_raw_), r.raw.size(), r.raw.size() > max_raw_ ? "true" : "false");
  std::fwrite(line.data(), 1, line.size(), f_);
  ++written_;
  dirty_ = true;
}

void DeadLetterFile::sync() {
  if (f_ == nullptr || !dirty_) return;
  if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0) {
    throw std::runtime_error(fmt::format("dead-letter file {}: {}", path_, std::strerror(errno)));
  }
  dirty_ = false;
}

}  // namespace sevwatch::detectors::sources
