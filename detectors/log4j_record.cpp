#include "detectors/log4j_record.h"

#include "detectors/time_parse.h"

namespace sevwatch::detectors {
namespace {

// "dddd-dd-dd": a line that starts like a log line's date.
bool looks_dated(std::string_view s) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
  for (const std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

}  // namespace

bool parse_log4j_line(std::string_view line, Log4jLine& out) {
  if (line.size() < 24) return false;
  std::int64_t wall = 0;
  if (parse_civil_time(line.substr(0, 19), wall) != 19) return false;
  std::size_t p = 19;
  if (line[p] == ',' || line[p] == '.') {
    int ms = 0;
    std::size_t digits = 0;
    ++p;
    while (p < line.size() && line[p] >= '0' && line[p] <= '9') {
      if (digits < 3) ms = ms * 10 + (line[p] - '0');
      ++digits;
      ++p;
    }
    if (digits == 0) return false;
    for (std::size_t d = digits; d < 3; ++d) ms *= 10;
    wall += ms;
  }
  auto skip_spaces = [&] {
    while (p < line.size() && line[p] == ' ') ++p;
  };
  skip_spaces();
  const std::size_t level_start = p;
  while (p < line.size() && line[p] >= 'A' && line[p] <= 'Z') ++p;
  if (p == level_start || p >= line.size() || line[p] != ' ') return false;
  out.level = line.substr(level_start, p - level_start);
  skip_spaces();
  if (p >= line.size() || line[p] != '[') return false;
  const auto close = line.find("] ", p);
  if (close == std::string_view::npos) return false;
  out.thread = line.substr(p + 1, close - p - 1);
  p = close + 2;
  auto c = line.find(": ", p);
  if (c == std::string_view::npos && line.back() == ':') c = line.size() - 1;  // empty message
  if (c == std::string_view::npos || c == p) return false;
  out.logger = line.substr(p, c - p);
  if (out.logger.find(' ') != std::string_view::npos) return false;
  out.message = c + 2 <= line.size() ? line.substr(c + 2) : std::string_view();
  out.wall_ms = wall;
  return true;
}

void Log4jAssembler::line(std::string_view line, const SourcePos& pos, EventSink& sink) {
  Log4jLine parsed;
  if (!parse_log4j_line(line, parsed)) {  // a continuation, or a prefix with a bad date
    if (looks_dated(line)) {
      finish(sink);
      sink.on_weird(Weird{weird::kBadTimestamp, pos,
                          "log line time '" + std::string(line.substr(0, 23)) + "' is not valid"});
      return;
    }
    if (!pending_) {
      if (!seen_head_) {
        sink.on_weird(Weird{weird::kUnknownShape, pos, "line without the log4j prefix"});
      }
      return;  // a continuation of a record we skip
    }
    if (message_.size() + line.size() + 1 > max_) {
      sink.on_weird(Weird{weird::kLineTooLong, pos_,
                          "multi-line record longer than " + std::to_string(max_) + " bytes"});
      pending_ = false;
      return;
    }
    message_.push_back('\n');
    message_.append(line);
    return;
  }
  finish(sink);
  seen_head_ = true;
  if (!wants_(parsed.message)) return;
  pending_ = true;
  head_text_.assign(line);
  parse_log4j_line(head_text_, head_);
  message_.assign(head_.message);
  pos_ = pos;
}

void Log4jAssembler::finish(EventSink& sink) {
  if (!pending_) return;
  pending_ = false;
  on_record_(head_, message_, pos_, sink);
}

}  // namespace sevwatch::detectors
