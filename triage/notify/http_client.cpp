#include "triage/notify/http_client.h"

#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <ctime>

namespace sevwatch::triage::notify {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::optional<Url> parse_url(const std::string& url) {
  Url u;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.https = true;
    rest = url.substr(8);
  } else {
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
    if (u.port.empty() || u.port.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
  } else {
    u.host = authority;
    u.port = u.https ? "443" : "80";
  }
  if (u.host.empty()) return std::nullopt;
  return u;
}

namespace {

// Retry-After: delay-seconds or an IMF-fixdate.
std::optional<std::int64_t> parse_retry_after(std::string_view v) {
  if (v.empty()) return std::nullopt;
  if (v.find_first_not_of("0123456789") == std::string_view::npos && v.size() < 10) {
    return std::stoll(std::string(v)) * 1000;
  }
  std::tm tm{};
  const std::string s(v);
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
  const auto when = timegm(&tm);
  const auto now = std::time(nullptr);
  return when > now ? static_cast<std::int64_t>(when - now) * 1000 : 0;
}

template <typename Stream>
net::awaitable<void> exchange(Stream& stream, http::request<http::string_body>& req,
                              HttpResult& out) {
  co_await http::async_write(stream, req, net::use_awaitable);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  boost::system::error_code ec;
  co_await http::async_read(stream, buf, parser, net::redirect_error(net::use_awaitable, ec));
  if (ec && ec != http::error::body_limit) throw boost::system::system_error(ec);
  const auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  if (auto it = res.find(http::field::retry_after); it != res.end()) {
    out.retry_after_ms = parse_retry_after(it->value());
  }
}

net::awaitable<void> post(const Url& url, http::request<http::string_body>& req,
                          std::int64_t timeout_ms, net::ssl::context* tls, HttpResult& out) {
  auto ex = co_await net::this_coro::executor;
  tcp::resolver resolver(ex);
  const auto results = co_await resolver.async_resolve(url.host, url.port, net::use_awaitable);
  const auto deadline = std::chrono::milliseconds(timeout_ms);
  if (tls == nullptr) {
    beast::tcp_stream stream(ex);
    stream.expires_after(deadline);
    co_await stream.async_connect(results, net::use_awaitable);
    co_await exchange(stream, req, out);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(ex, *tls);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    throw boost::system::system_error(boost::system::error_code(static_cast<int>(::ERR_get_error()),
                                                                net::error::get_ssl_category()));
  }
  stream.set_verify_callback(net::ssl::host_name_verification(url.host));
  beast::get_lowest_layer(stream).expires_after(deadline);
  co_await beast::get_lowest_layer(stream).async_connect(results, net::use_awaitable);
  co_await stream.async_handshake(net::ssl::stream_base::client, net::use_awaitable);
  co_await exchange(stream, req, out);
  boost::system::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

HttpResult http_post(const Url& url, const Headers& headers, const std::string& body,
                     std::int64_t timeout_ms, const std::string& ca_file) {
  HttpResult out;
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  const bool default_port = url.port == (url.https ? "443" : "80");
  req.set(http::field::host, default_port ? url.host : url.host + ":" + url.port);
  req.set(http::field::user_agent, "sevwatch");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();

  net::io_context ioc;
  std::optional<net::ssl::context> tls;
  try {
    if (url.https) {
      tls.emplace(net::ssl::context::tls_client);
      tls->set_verify_mode(net::ssl::verify_peer);
      tls->set_default_verify_paths();
      if (!ca_file.empty()) tls->load_verify_file(ca_file);
    }
  } catch (const std::exception& e) {
    out.error = std::string("TLS setup: ") + e.what();
    return out;
  }
  std::exception_ptr failure;
  bool done = false;
  net::co_spawn(ioc, post(url, req, timeout_ms, tls ? &*tls : nullptr, out),
                [&](std::exception_ptr e) {
                  failure = e;
                  done = true;
                });
  // The stream deadline bounds connect/write/read; this bounds name resolution.
  ioc.run_for(std::chrono::milliseconds(timeout_ms + 1000));
  if (!done) {
    out.status = 0;
    out.error = "timed out";
    return out;
  }
  if (failure) {
    out.status = 0;
    try {
      std::rethrow_exception(failure);
    } catch (const boost::system::system_error& e) {
      out.error = e.code() == beast::error::timeout ? "timed out" : e.code().message();
    } catch (const std::exception& e) {
      out.error = e.what();
    }
  }
  return out;
}

}  // namespace sevwatch::triage::notify
