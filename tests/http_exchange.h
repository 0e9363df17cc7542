// A blocking HTTP/1.1 exchange with a server on 127.0.0.1, for tests that
// talk to a real listening socket: sends `request` as written and returns the
// raw response (status line, headers, body) read until the server closes.
#pragma once

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <string>

namespace sevwatch::testing {

inline std::string http_exchange(std::uint16_t port, const std::string& request) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(s, asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  std::array<char, 4096> buf;
  for (;;) {
    const auto n = s.read_some(asio::buffer(buf), ec);
    response.append(buf.data(), n);
    if (ec) break;
  }
  return response;
}

}  // namespace sevwatch::testing
