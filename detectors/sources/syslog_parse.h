// The syslog envelope: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD
// MSG`) and RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOST TAG: MSG`), and RFC 6587
// octet-counting framing for TCP. Only the message part goes to a decoder.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sevwatch::detectors::sources {

struct SyslogMessage {
  int priority = 0;  // facility * 8 + severity
  bool rfc5424 = false;
  std::string_view timestamp;  // as written ("-" or empty when absent)
  std::string_view hostname;
  std::string_view app_name;  // 5424 APP-NAME, 3164 TAG (without "[pid]")
  std::string_view message;   // what the decoder gets
};

// Parses one syslog message; nullopt (with `error` set) when it has no valid
// `<PRI>` or a broken RFC 5424 header. Views point into `text`.
std::optional<SyslogMessage> parse_syslog(std::string_view text, std::string& error);

// Incremental TCP framing (RFC 6587): a frame starting with a digit is
// octet-counted (`LEN SP MSG`), anything else ends at '\n' (a trailing '\r'
// dropped). Frames over `max_frame` are reported, not buffered.
class SyslogTcpFramer {
 public:
  enum class Kind { frame, oversize, bad_count };
  struct Out {
    Kind kind;
    std::string_view frame;  // for oversize/bad_count: a prefix, for the dead letter
    std::uint64_t length;    // the declared or measured length
  };

  explicit SyslogTcpFramer(std::size_t max_frame) : max_(max_frame) {}

  // Appends received bytes; call next() until it returns nullopt.
  void append(std::string_view bytes) { buf_.append(bytes); }
  std::optional<Out> next();
  // Bytes of an incomplete frame left when the peer closed.
  std::size_t leftover() const { return buf_.size() - pos_; }
  std::string_view leftover_bytes() const { return std::string_view(buf_).substr(pos_); }

 private:
  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;
  std::uint64_t skip_ = 0;   // bytes of an oversize frame still to discard
  bool skip_to_nl_ = false;  // discarding an oversize newline frame
  std::string scratch_;
  void compact();
};

}  // namespace sevwatch::detectors::sources
