// Syslog over UDP and TCP (Boost.Asio). The envelope (RFC 5424 / RFC 3164) is
// parsed here and only the message part goes to the configured decoder.
//
// Delivery: best effort. UDP has no acknowledgement and plain TCP syslog loses
// what is in flight when a connection breaks, so neither can be at-least-once;
// the source says so at start-up and counts what it drops (malformed and
// oversize datagrams/frames, broken counts), each also kept as a Reject.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "detectors/sources/source.h"
#include "detectors/sources/stream_decoder.h"

namespace sevwatch::detectors::sources {

struct SyslogOptions {
  std::string name;
  std::string format;
  std::string listen = "127.0.0.1:514";  // HOST:PORT; port 0 picks a free one
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_connections = 256;  // TCP

  static SyslogOptions from(const SourceSpec& spec);
};

// Splits "HOST:PORT" ("[v6]:PORT" too); throws std::invalid_argument.
void split_host_port(const std::string& source, const std::string& listen, std::string& host,
                     std::uint16_t& port);

struct SyslogCounters {
  std::uint64_t messages = 0;                    // handed to the decoder
  std::map<std::string, std::uint64_t> dropped;  // by reason
};

class SyslogUdpSource final : public Source {
 public:
  SyslogUdpSource(SyslogOptions options, SourceContext& context);
  const std::string& name() const override { return options_.name; }
  void start() override;
  void stop() override;
  std::uint16_t local_port() const;
  const SyslogCounters& counters() const { return counters_; }

 private:
  void receive();
  void handle(std::size_t n);

  SyslogOptions options_;
  SourceContext& context_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp::endpoint peer_;
  std::vector<char> buf_;
  std::unique_ptr<StreamDecoder> dec_;
  SyslogCounters counters_;
  std::uint64_t seq_ = 0;
  bool stopped_ = true;
};

class SyslogTcpSource final : public Source {
 public:
  SyslogTcpSource(SyslogOptions options, SourceContext& context);
  ~SyslogTcpSource() override;
  const std::string& name() const override { return options_.name; }
  void start() override;
  void stop() override;
  std::uint16_t local_port() const;
  const SyslogCounters& counters() const { return counters_; }

 private:
  class Connection;
  void accept();

  SyslogOptions options_;
  SourceContext& context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  SyslogCounters counters_;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::uint64_t next_id_ = 0;
  bool stopped_ = true;
  friend class Connection;
};

}  // namespace sevwatch::detectors::sources
