#include "detectors/sources/syslog_source.h"

#include <fmt/format.h>

#include <array>
#include <boost/asio/ip/address.hpp>

#include "detectors/sources/syslog_parse.h"

namespace sevwatch::detectors::sources {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

void split_host_port(const std::string& source, const std::string& listen, std::string& host,
                     std::uint16_t& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    throw std::invalid_argument(
        fmt::format("source '{}': listen must be HOST:PORT, not '{}'", source, listen));
  }
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string p = listen.substr(colon + 1);
  unsigned long v = 0;
  try {
    std::size_t used = 0;
    v = std::stoul(p, &used);
    if (used != p.size() || v > 65535) throw std::out_of_range(p);
  } catch (const std::exception&) {
    throw std::invalid_argument(fmt::format("source '{}': bad port in '{}'", source, listen));
  }
  port = static_cast<std::uint16_t>(v);
}

namespace {

asio::ip::address parse_address(const std::string& source, const std::string& host) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    throw std::invalid_argument(
        fmt::format("source '{}': listen address '{}' is not an IP address", source, host));
  }
  return a;
}

// Parses the envelope and hands the message to the decoder, or drops it.
void deliver(std::string_view text, StreamDecoder& dec, SyslogCounters& counters,
             std::uint64_t seq) {
  std::string error;
  auto m = parse_syslog(text, error);
  if (!m) {
    ++counters.dropped[std::string(drop::kMalformedSyslog)];
    dec.reject(drop::kMalformedSyslog, seq, 0, error, text);
    return;
  }
  ++counters.messages;
  dec.line(m->message, seq, 0);
}

}  // namespace

SyslogOptions SyslogOptions::from(const SourceSpec& spec) {
  SyslogOptions o;
  o.name = spec.name;
  o.format = spec.format;
  o.listen = spec.get("listen", o.listen);
  o.max_message_bytes = spec.get_u64("max_message_bytes", o.max_message_bytes);
  o.max_connections = spec.get_u64("max_connections", o.max_connections);
  return o;
}

// ---- UDP

SyslogUdpSource::SyslogUdpSource(SyslogOptions options, SourceContext& context)
    : options_(std::move(options)),
      context_(context),
      socket_(context.executor),
      buf_(options_.max_message_bytes + 1) {
  dec_ = std::make_unique<StreamDecoder>(context_, options_.name, "syslog-udp:" + options_.name,
                                         options_.format, Sniffing::record);
}

void SyslogUdpSource::start() {
  std::string host;
  std::uint16_t port = 0;
  split_host_port(options_.name, options_.listen, host, port);
  const udp::endpoint ep(parse_address(options_.name, host), port);
  boost::system::error_code ec;
  socket_.open(ep.protocol(), ec);
  if (!ec) socket_.bind(ep, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("source '{}': cannot bind UDP {}: {}", options_.name,
                                         options_.listen, ec.message()));
  }
  socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
  stopped_ = false;
  context_.log("warn", fmt::format("source {}: syslog over UDP on {}:{} is best effort, not "
                                   "at-least-once: datagrams lost in the network or the kernel "
                                   "are not seen; drops we see are counted",
                                   options_.name, host, local_port()));
  receive();
}

void SyslogUdpSource::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
}

std::uint16_t SyslogUdpSource::local_port() const {
  boost::system::error_code ec;
  const auto ep = socket_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void SyslogUdpSource::receive() {
  socket_.async_receive_from(asio::buffer(buf_), peer_,
                             [this](const boost::system::error_code& ec, std::size_t n) {
                               if (ec == asio::error::operation_aborted || stopped_) return;
                               if (!ec) handle(n);
                               receive();
                             });
}

void SyslogUdpSource::handle(std::size_t n) {
  ++seq_;
  std::string_view text(buf_.data(), n);
  if (n > options_.max_message_bytes) {
    ++counters_.dropped[std::string(drop::kOversizeDatagram)];
    dec_->reject(drop::kOversizeDatagram, seq_, 0,
                 fmt::format("datagram over {} bytes from {}", options_.max_message_bytes,
                             peer_.address().to_string()),
                 text.substr(0, 512));
    return;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == '\0')) {
    text.remove_suffix(1);
  }
  deliver(text, *dec_, counters_, seq_);
}

// ---- TCP

class SyslogTcpSource::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(SyslogTcpSource& owner, tcp::socket socket, std::uint64_t id)
      : owner_(owner),
        socket_(std::move(socket)),
        id_(id),
        framer_(owner.options_.max_message_bytes) {
    boost::system::error_code ec;
    const auto peer = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("?") : fmt::format("{}:{}", peer.address().to_string(), peer.port());
    dec_ = std::make_unique<StreamDecoder>(owner_.context_, owner_.options_.name,
                                           "syslog-tcp:" + peer_, owner_.options_.format,
                                           Sniffing::record);
  }

  void start() { read(); }
  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buf_), [self](const boost::system::error_code& ec,
                                                       std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      framer_.append(std::string_view(buf_.data(), n));
      bool broken = false;
      while (auto out = framer_.next()) {
        ++seq_;
        auto& counters = owner_.counters_;
        if (out->kind == SyslogTcpFramer::Kind::frame) {
          deliver(out->frame, *dec_, counters, seq_);
        } else if (out->kind == SyslogTcpFramer::Kind::oversize) {
          ++counters.dropped[std::string(drop::kOversizeFrame)];
          dec_->reject(drop::kOversizeFrame, seq_, 0,
                       fmt::format("frame of {} bytes (limit {})", out->length,
                                   owner_.options_.max_message_bytes),
                       out->frame);
        } else {
          ++counters.dropped[std::string(drop::kBadFrame)];
          dec_->reject(drop::kBadFrame, seq_, 0, "octet count not followed by a space", out->frame);
          broken = true;
          break;
        }
      }
      if (!broken && !owner_.stopped_) {
        read();
        return;
      }
    } else if (framer_.leftover() > 0) {
      // The peer went away mid-frame: what it sent of it is lost.
      ++seq_;
      ++owner_.counters_.dropped[std::string(drop::kTruncatedFrame)];
      dec_->reject(
          drop::kTruncatedFrame, seq_, 0,
          fmt::format("connection closed with {} bytes of an unfinished frame", framer_.leftover()),
          framer_.leftover_bytes().substr(0, 512));
    }
    dec_->finish();
    close();
    owner_.connections_.erase(id_);
  }

  SyslogTcpSource& owner_;
  tcp::socket socket_;
  std::uint64_t id_;
  std::string peer_;
  SyslogTcpFramer framer_;
  std::unique_ptr<StreamDecoder> dec_;
  std::array<char, 16384> buf_{};
  std::uint64_t seq_ = 0;
};

SyslogTcpSource::SyslogTcpSource(SyslogOptions options, SourceContext& context)
    : options_(std::move(options)), context_(context), acceptor_(context.executor) {
  require_format(*context_.registry, options_.name, options_.format);
}

SyslogTcpSource::~SyslogTcpSource() {
  for (auto& [id, c] : connections_) c->close();
}

void SyslogTcpSource::start() {
  std::string host;
  std::uint16_t port = 0;
  split_host_port(options_.name, options_.listen, host, port);
  const tcp::endpoint ep(parse_address(options_.name, host), port);
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("source '{}': cannot listen on TCP {}: {}", options_.name,
                                         options_.listen, ec.message()));
  }
  stopped_ = false;
  context_.log("warn", fmt::format("source {}: syslog over TCP on {}:{} is best effort, not "
                                   "at-least-once: a frame in flight when a connection breaks "
                                   "is lost; drops we see are counted",
                                   options_.name, host, local_port()));
  accept();
}

void SyslogTcpSource::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  for (auto& [id, c] : connections_) c->close();
}

std::uint16_t SyslogTcpSource::local_port() const {
  boost::system::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void SyslogTcpSource::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopped_) return;
    if (!ec) {
      if (connections_.size() >= options_.max_connections) {
        ++counters_.dropped["connection_refused"];
        boost::system::error_code ignore;
        socket.close(ignore);
      } else {
        const auto id = next_id_++;
        auto c = std::make_shared<Connection>(*this, std::move(socket), id);
        connections_[id] = c;
        c->start();
      }
    }
    accept();
  });
}

}  // namespace sevwatch::detectors::sources
