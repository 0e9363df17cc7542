#include "detectors/sources/http_source.h"

#include <fmt/format.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "detectors/sources/line_framer.h"
#include "detectors/sources/stream_decoder.h"
#include "detectors/sources/syslog_source.h"

namespace sevwatch::detectors::sources {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Runs over the longer length whatever the content; differs in length -> false.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

namespace {
std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

HttpOptions HttpOptions::from(const SourceSpec& spec) {
  HttpOptions o;
  o.name = spec.name;
  o.format = spec.format;
  o.listen = spec.get("listen", o.listen);
  o.path = spec.get("path", o.path);
  o.max_body_bytes = spec.get_u64("max_body_bytes", o.max_body_bytes);
  o.max_connections = spec.get_u64("max_connections", o.max_connections);
  if (const auto env = spec.get("token_env"); !env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (v == nullptr || *v == '\0') {
      throw std::invalid_argument(fmt::format(
          "source '{}': environment variable {} (token_env) is not set", spec.name, env));
    }
    o.token = v;
  } else if (const auto file = spec.get("token_file"); !file.empty()) {
    std::ifstream in(file);
    if (!in) {
      throw std::invalid_argument(
          fmt::format("source '{}': cannot read token_file {}", spec.name, file));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    o.token = trim(ss.str());
  } else {
    o.token = spec.get("token");
  }
  if (o.token.empty()) {
    throw std::invalid_argument(fmt::format(
        "source '{}': the HTTP source needs a bearer token (token_env or token_file)", spec.name));
  }
  return o;
}

class HttpSource::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpSource& owner, tcp::socket socket, std::uint64_t id)
      : owner_(owner), stream_(std::move(socket)), id_(id) {
    boost::system::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? std::string("?") : fmt::format("{}:{}", peer.address().to_string(), peer.port());
  }

  void start() { read_header(); }
  void close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // The batch is committed: answer 200.
  void durable() {
    respond(http::status::ok,
            fmt::format("{{\"accepted\":{},\"events\":{},\"rejected\":{}}}\n", lines_, events_,
                        rejected_),
            keep_alive_);
    ++owner_.counters_.accepted;
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(owner_.options_.max_body_bytes);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::body_limit) {  // Content-Length over the limit
      ++owner_.counters_.requests;
      if (!authorized())
        return refuse(http::status::unauthorized, "missing or wrong bearer token\n");
      return refuse(http::status::payload_too_large,
                    fmt::format("body over {} bytes\n", owner_.options_.max_body_bytes));
    }
    if (ec) return finish_session();
    ++owner_.counters_.requests;
    const auto& req = parser_->get();
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    if (target != owner_.options_.path) return refuse(http::status::not_found, "no such path\n");
    if (req.method() != http::verb::post) {
      return refuse(http::status::method_not_allowed, "POST NDJSON here\n");
    }
    if (!authorized()) return refuse(http::status::unauthorized, "missing or wrong bearer token\n");
    if (const auto len = parser_->content_length(); len && *len > owner_.options_.max_body_bytes) {
      return refuse(http::status::payload_too_large,
                    fmt::format("body over {} bytes\n", owner_.options_.max_body_bytes));
    }
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
  }

  bool authorized() const {
    const auto auth = parser_->get()[http::field::authorization];
    std::string_view given(auth.data(), auth.size());
    constexpr std::string_view kBearer = "Bearer ";
    return given.size() > kBearer.size() && given.substr(0, kBearer.size()) == kBearer &&
           constant_time_equal(given.substr(kBearer.size()), owner_.options_.token);
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return refuse(http::status::payload_too_large,
                    fmt::format("body over {} bytes\n", owner_.options_.max_body_bytes));
    }
    if (ec) return finish_session();
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    ++requests_;
    const auto& ctx = owner_.context_;
    StreamDecoder dec(ctx, owner_.options_.name, fmt::format("http:{}#{}", peer_, requests_),
                      owner_.options_.format, Sniffing::record);
    LineFramer framer(ctx.decoder_options.max_line_bytes);
    framer.set_line_cap([&dec](std::string_view head) { return dec.line_cap(head); });
    lines_ = 0;
    auto on_line = [&](const FramedLine& l) {
      if (!l.too_long && l.text.find_first_not_of(" \t") == std::string_view::npos) return;
      ++lines_;
      dec.framed(l);
    };
    framer.feed(req.body(), on_line);
    framer.finish(on_line);
    dec.finish();
    events_ = dec.events();
    rejected_ = dec.rejects();
    parser_.reset();
    // The answer waits for the commit that covers these events.
    owner_.waiting_.push_back(weak_from_this());
  }

  void refuse(http::status status, std::string body) {
    ++owner_.counters_.refused[static_cast<int>(status)];
    respond(status, std::move(body), /*keep_alive=*/false);
  }

  void respond(http::status status, std::string body, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "sevwatch");
    res->set(http::field::content_type,
             status == http::status::ok ? "application/json" : "text/plain");
    res->set(http::field::cache_control, "no-store");
    if (status == http::status::unauthorized) res->set(http::field::www_authenticate, "Bearer");
    res->keep_alive(keep_alive);
    res->body() = std::move(body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (!ec && keep_alive && !self->owner_.stopped_) return self->read_header();
          self->linger();
        });
  }

  // Half-closes, then reads and discards what the client still sends (a body
  // we refused, up to 1 MiB or 5 s) so that closing does not reset the
  // connection before the client has read our answer.
  void linger() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(5));
    drain_ = std::make_shared<std::array<char, 16384>>();
    drain();
  }
  void drain() {
    stream_.async_read_some(asio::buffer(*drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (!ec && self->drained_ < (1u << 20)) return self->drain();
                              self->close();
                              self->finish_session();
                            });
  }

  void finish_session() { owner_.sessions_.erase(id_); }

  HttpSource& owner_;
  beast::tcp_stream stream_;
  std::uint64_t id_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = false;
  std::uint64_t requests_ = 0;
  std::uint64_t lines_ = 0, events_ = 0, rejected_ = 0;
  std::shared_ptr<std::array<char, 16384>> drain_;
  std::size_t drained_ = 0;
};

HttpSource::HttpSource(HttpOptions options, SourceContext& context)
    : options_(std::move(options)), context_(context), acceptor_(context.executor) {
  require_format(*context_.registry, options_.name, options_.format);
}

HttpSource::~HttpSource() {
  for (auto& [id, s] : sessions_) s->close();
}

void HttpSource::start() {
  std::string host;
  std::uint16_t port = 0;
  split_host_port(options_.name, options_.listen, host, port);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    throw std::invalid_argument(
        fmt::format("source '{}': listen address '{}' is not an IP address", options_.name, host));
  }
  const tcp::endpoint ep(addr, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("source '{}': cannot listen on {}: {}", options_.name,
                                         options_.listen, ec.message()));
  }
  stopped_ = false;
  context_.log("info", fmt::format("source {}: HTTP ingest on http://{}:{}{} (bearer token "
                                   "required; 200 only after the batch is committed)",
                                   options_.name, host, local_port(), options_.path));
  if (!addr.is_loopback()) {
    context_.log("warn", fmt::format("source {}: listening beyond loopback without TLS; put a "
                                     "TLS proxy in front",
                                     options_.name));
  }
  accept();
}

void HttpSource::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
}

std::uint16_t HttpSource::local_port() const {
  boost::system::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpSource::on_durable() {
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& w : waiting) {
    if (auto s = w.lock()) s->durable();
  }
}

void HttpSource::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopped_) return;
    if (!ec) {
      if (sessions_.size() >= options_.max_connections) {
        boost::system::error_code ignore;
        socket.close(ignore);
      } else {
        const auto id = next_id_++;
        auto s = std::make_shared<Session>(*this, std::move(socket), id);
        sessions_[id] = s;
        s->start();
      }
    }
    accept();
  });
}

}  // namespace sevwatch::detectors::sources
