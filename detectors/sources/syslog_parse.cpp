#include "detectors/sources/syslog_parse.h"

#include <cstring>

namespace sevwatch::detectors::sources {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The next space-delimited header field; false when there is none.
bool field(std::string_view& rest, std::string_view& out) {
  if (rest.empty()) return false;
  const auto sp = rest.find(' ');
  if (sp == 0) return false;
  out = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  return true;
}

bool rfc3164_time(std::string_view s) {
  // "Mmm dd hh:mm:ss" (day may be space-padded)
  static const char* kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (s.size() < 15) return false;
  bool month = false;
  for (int i = 0; i < 12; ++i)
    month = month || std::string_view(kMonths + i * 3, 3) == s.substr(0, 3);
  return month && s[3] == ' ' && (s[4] == ' ' || is_digit(s[4])) && is_digit(s[5]) && s[6] == ' ' &&
         is_digit(s[7]) && is_digit(s[8]) && s[9] == ':' && is_digit(s[10]) && is_digit(s[11]) &&
         s[12] == ':' && is_digit(s[13]) && is_digit(s[14]);
}

}  // namespace

std::optional<SyslogMessage> parse_syslog(std::string_view text, std::string& error) {
  SyslogMessage m;
  if (text.size() < 3 || text[0] != '<') {
    error = "no <PRI> at the start";
    return std::nullopt;
  }
  std::size_t i = 1;
  int pri = 0;
  while (i < text.size() && i <= 4 && is_digit(text[i])) pri = pri * 10 + (text[i++] - '0');
  if (i == 1 || i >= text.size() || text[i] != '>' || pri > 191) {
    error = "invalid <PRI>";
    return std::nullopt;
  }
  m.priority = pri;
  std::string_view rest = text.substr(i + 1);

  // RFC 5424: VERSION is "1" followed by a space.
  if (rest.size() >= 2 && rest[0] == '1' && rest[1] == ' ') {
    m.rfc5424 = true;
    rest.remove_prefix(2);
    std::string_view procid, msgid;
    if (!field(rest, m.timestamp) || !field(rest, m.hostname) || !field(rest, m.app_name) ||
        !field(rest, procid) || !field(rest, msgid)) {
      error = "RFC 5424 header cut short";
      return std::nullopt;
    }
    // STRUCTURED-DATA: "-" or one or more [..] elements ("\]" escapes).
    if (rest.empty()) {
      error = "RFC 5424 header without STRUCTURED-DATA";
      return std::nullopt;
    }
    if (rest[0] == '-') {
      rest.remove_prefix(1);
    } else if (rest[0] == '[') {
      std::size_t j = 0;
      while (j < rest.size() && rest[j] == '[') {
        ++j;
        bool in_quote = false;
        while (j < rest.size()) {
          const char c = rest[j];
          if (c == '\\' && j + 1 < rest.size()) {
            j += 2;
            continue;
          }
          if (c == '"') in_quote = !in_quote;
          if (c == ']' && !in_quote) break;
          ++j;
        }
        if (j >= rest.size()) {
          error = "unterminated STRUCTURED-DATA";
          return std::nullopt;
        }
        ++j;  // ']'
      }
      rest.remove_prefix(j);
    } else {
      error = "invalid STRUCTURED-DATA";
      return std::nullopt;
    }
    if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    if (rest.size() >= 3 && std::memcmp(rest.data(), "\xEF\xBB\xBF", 3) == 0) rest.remove_prefix(3);
    m.message = rest;
    return m;
  }

  // RFC 3164: TIMESTAMP HOSTNAME TAG: MSG; without a timestamp the whole rest
  // is the message (what a relay would do).
  if (rfc3164_time(rest)) {
    m.timestamp = rest.substr(0, 15);
    rest.remove_prefix(15);
    if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    field(rest, m.hostname);
    // TAG: up to 32 alphanumeric characters, ended by '[', ':' or ' '.
    std::size_t t = 0;
    while (t < rest.size() && t < 48 && rest[t] != ':' && rest[t] != '[' && rest[t] != ' ') ++t;
    if (t > 0 && t < rest.size() && (rest[t] == ':' || rest[t] == '[')) {
      m.app_name = rest.substr(0, t);
      const auto colon = rest.find(':', t);
      if (colon != std::string_view::npos && colon < t + 16) {
        rest.remove_prefix(colon + 1);
        if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
      }
    }
  }
  m.message = rest;
  return m;
}

void SyslogTcpFramer::compact() {
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ > (1u << 16))) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

std::optional<SyslogTcpFramer::Out> SyslogTcpFramer::next() {
  for (;;) {
    compact();
    std::string_view avail = std::string_view(buf_).substr(pos_);
    if (skip_ > 0) {
      const auto n = std::min<std::uint64_t>(skip_, avail.size());
      skip_ -= n;
      pos_ += n;
      if (skip_ > 0) return std::nullopt;
      continue;
    }
    if (skip_to_nl_) {
      const auto nl = avail.find('\n');
      if (nl == std::string_view::npos) {
        pos_ = buf_.size();
        return std::nullopt;
      }
      pos_ += nl + 1;
      skip_to_nl_ = false;
      continue;
    }
    if (avail.empty()) return std::nullopt;
    if (is_digit(avail[0])) {
      std::size_t d = 0;
      std::uint64_t len = 0;
      while (d < avail.size() && d < 10 && is_digit(avail[d])) len = len * 10 + (avail[d++] - '0');
      if (d == avail.size()) return std::nullopt;  // need more digits or the space
      if (avail[d] != ' ' || len == 0) {
        // Not a count: the rest of the connection cannot be trusted.
        Out o{Kind::bad_count, avail.substr(0, std::min<std::size_t>(avail.size(), 64)), len};
        scratch_.assign(o.frame);
        o.frame = scratch_;
        pos_ = buf_.size();
        skip_to_nl_ = true;
        return o;
      }
      if (len > max_) {
        scratch_.assign(avail.substr(d + 1, std::min<std::size_t>(avail.size() - d - 1, 512)));
        pos_ += d + 1;
        skip_ = len;
        return Out{Kind::oversize, scratch_, len};
      }
      if (avail.size() < d + 1 + len) return std::nullopt;
      pos_ += d + 1 + len;
      std::string_view frame = avail.substr(d + 1, len);
      if (!frame.empty() && frame.back() == '\n') frame.remove_suffix(1);
      return Out{Kind::frame, frame, len};
    }
    const auto nl = avail.find('\n');
    if (nl == std::string_view::npos) {
      if (avail.size() > max_) {
        scratch_.assign(avail.substr(0, 512));
        pos_ = buf_.size();
        skip_to_nl_ = true;
        return Out{Kind::oversize, scratch_, avail.size()};
      }
      return std::nullopt;
    }
    pos_ += nl + 1;
    std::string_view frame = avail.substr(0, nl);
    if (!frame.empty() && frame.back() == '\r') frame.remove_suffix(1);
    if (frame.size() > max_) {
      scratch_.assign(frame.substr(0, 512));
      return Out{Kind::oversize, scratch_, frame.size()};
    }
    if (frame.empty()) continue;
    return Out{Kind::frame, frame, frame.size()};
  }
}

}  // namespace sevwatch::detectors::sources
