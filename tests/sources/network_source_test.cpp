// Syslog over real UDP and TCP sockets and HTTP ingest over a real
// connection, all on 127.0.0.1, with a named format and with format auto.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "detectors/sources/http_source.h"
#include "detectors/sources/syslog_source.h"
#include "tests/http_exchange.h"
#include "tests/records_file.h"
#include "tests/sources/sources_support.h"

using namespace sevwatch::testing;
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace sevwatch::detectors::sources;

namespace {

SyslogOptions syslog_options() {
  SyslogOptions o;
  o.name = "syslog";
  o.format = "ranger_audit";
  o.listen = "127.0.0.1:0";
  o.max_message_bytes = 2048;
  return o;
}

std::string post(const std::string& token, const std::string& body,
                 const std::string& path = "/ingest") {
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += "Content-Type: application/x-ndjson\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
  return req;
}

}  // namespace

TEST_CASE("syslog over a real UDP socket: 5424 and 3164, drops counted", "[syslog][udp]") {
  SourceHarness h;
  SyslogUdpSource s(syslog_options(), h.ctx);
  s.start();
  REQUIRE(s.local_port() != 0);
  CHECK(h.log_text().find("not at-least-once") != std::string::npos);

  asio::io_context client_io;
  udp::socket client(client_io, udp::endpoint(udp::v4(), 0));
  const udp::endpoint to(asio::ip::make_address("127.0.0.1"), s.local_port());
  client.send_to(asio::buffer("<134>1 2026-08-20T10:00:00Z hs2 ranger - - - " + ranger_line("u1")),
                 to);
  client.send_to(asio::buffer("<134>Aug 20 10:00:00 hs2 ranger[7]: " + ranger_line("u2") + "\n"),
                 to);
  client.send_to(asio::buffer(std::string("no envelope")), to);
  client.send_to(asio::buffer("<134>1 - - - - - - " + std::string(3000, 'x')), to);
  client.send_to(asio::buffer("<134>1 - - - - - - {\"not\":\"ranger\"}"), to);
  REQUIRE(h.run_until([&] { return h.sink.ids.size() + h.sink.rejects.size() >= 5; }));
  CHECK(h.sink.ids == std::vector<std::string>{"u1", "u2"});
  CHECK(s.counters().messages == 3);
  CHECK(s.counters().dropped.at("malformed_syslog") == 1);
  CHECK(s.counters().dropped.at("oversize_datagram") == 1);
  REQUIRE(h.sink.rejects.size() == 3);
  CHECK(h.sink.rejects[0].raw == "no envelope");
  s.stop();
}

TEST_CASE("syslog over a real TCP connection: octet counting and newlines", "[syslog][tcp]") {
  SourceHarness h;
  SyslogTcpSource s(syslog_options(), h.ctx);
  s.start();
  REQUIRE(s.local_port() != 0);
  const std::string m1 = "<134>1 2026-08-20T10:00:00Z hs2 ranger - - - " + ranger_line("t1");
  const std::string m2 = "<134>Aug 20 10:00:00 hs2 ranger: " + ranger_line("t2");
  const std::string stream = std::to_string(m1.size()) + " " + m1 + m2 + "\n" + "9999 " +
                             std::string(100, 'y');  // oversize, then the peer leaves
  std::thread client([&] {
    asio::io_context io;
    tcp::socket c(io);
    c.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.local_port()));
    // In small pieces, so frames straddle reads.
    for (std::size_t i = 0; i < stream.size(); i += 7) {
      asio::write(c, asio::buffer(stream.substr(i, 7)));
    }
  });
  REQUIRE(h.run_until([&] { return h.sink.ids.size() >= 2 && !h.sink.rejects.empty(); }));
  client.join();
  CHECK(h.sink.ids == std::vector<std::string>{"t1", "t2"});
  CHECK(s.counters().dropped.at("oversize_frame") == 1);
  s.stop();
}

TEST_CASE("HTTP ingest: bearer token, 413, 200 only after the commit", "[http]") {
  SourceHarness h;
  HttpOptions o;
  o.name = "http";
  o.format = "ranger_audit";
  o.listen = "127.0.0.1:0";
  o.token = "s3cret-token";
  o.max_body_bytes = 4096;
  HttpSource s(o, h.ctx);
  s.start();
  const auto port = s.local_port();
  REQUIRE(port != 0);
  CHECK(h.log_text().find("s3cret") == std::string::npos);

  auto run_async = [&](std::string request) {
    return std::async(std::launch::async, [port, request] { return http_exchange(port, request); });
  };
  auto wait = [&](std::future<std::string>& f) {
    REQUIRE(h.run_until(
        [&] { return f.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready; }));
    return f.get();
  };

  SECTION("no token, wrong token, wrong path, too large") {
    auto r1 = run_async(post("", ranger_line("x") + "\n"));
    CHECK(wait(r1).rfind("HTTP/1.1 401", 0) == 0);
    auto r2 = run_async(post("s3cret-tokeN", ranger_line("x") + "\n"));
    CHECK(wait(r2).rfind("HTTP/1.1 401", 0) == 0);
    auto r3 = run_async(post("s3cret-token", "{}", "/other"));
    CHECK(wait(r3).rfind("HTTP/1.1 404", 0) == 0);
    auto r4 = run_async(post("s3cret-token", std::string(5000, 'x')));
    CHECK(wait(r4).rfind("HTTP/1.1 413", 0) == 0);
    CHECK(h.sink.ids.empty());
    CHECK(s.counters().refused.at(401) == 2);
  }

  SECTION("accepted batch is answered after on_durable") {
    auto r = run_async(
        post("s3cret-token", ranger_line("h1") + "\n" + ranger_line("h2") + "\nnot json\n"));
    REQUIRE(h.run_until([&] { return h.sink.ids.size() == 2; }));
    // Decoded, but not committed: no answer yet.
    h.run_until([] { return false; }, 200);
    CHECK(r.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
    s.on_durable();  // the pipeline's commit
    const auto response = wait(r);
    CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(response.find("\"accepted\":3,\"events\":2,\"rejected\":1") != std::string::npos);
    CHECK(h.sink.rejects.size() == 1);
  }
  s.stop();
}

TEST_CASE("constant-time compare", "[http]") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK_FALSE(constant_time_equal("", "a"));
  CHECK(constant_time_equal("", ""));
}

TEST_CASE("HTTP ingest with format auto: each record to the format that claims it",
          "[http][auto]") {
  SourceHarness h;
  HttpOptions o;
  o.name = "http";
  o.format = "auto";
  o.listen = "127.0.0.1:0";
  o.token = "s3cret-token";
  HttpSource s(o, h.ctx);
  s.start();
  const auto port = s.local_port();
  REQUIRE(port != 0);
  const std::string body = ranger_line("h1") + "\n" +  // picks ranger_audit
                           trail_record(5) + "\n" +    // CloudTrail claims it
                           R"({"repoType":3,"reqUser":"bob","access":"SELECT"})" +
                           "\n" +                  // Ranger's, but bad
                           "not a log at all\n" +  // nobody's
                           "2026-08-20 09:14:03.000 UTC alice dw [4821]: LOG:  AUDIT: "  // pgaudit
                           "SESSION,3,1,READ,SELECT,TABLE,sales.orders,SELECT 1,<not logged>\n"
                           "garbage after pgaudit\n" +  // nobody's, held by the pgaudit decoder
                           ranger_line("h2") +
                           "\n";
  auto f = std::async(std::launch::async, [port, req = post("s3cret-token", body)] {
    return http_exchange(port, req);
  });
  REQUIRE(h.run_until([&] { return h.sink.ids.size() == 4; }));
  s.on_durable();
  REQUIRE(h.run_until(
      [&] { return f.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready; }));
  const std::string response = f.get();
  CHECK(response.find("\"accepted\":7,\"events\":4,\"rejected\":3") != std::string::npos);
  CHECK(h.sink.ids == std::vector<std::string>{"h1", "ev-000005", "4821:3:1", "h2"});
  CHECK(h.sink.formats() ==
        std::map<std::string, int>{{"aws_cloudtrail", 1}, {"pgaudit", 1}, {"ranger_audit", 2}});
  REQUIRE(h.sink.rejects.size() == 3);
  CHECK(h.sink.rejects[0].reason == "missing_field");
  CHECK(h.sink.rejects[0].pos.line == 3);
  CHECK(h.sink.rejects[1].reason == "unknown_format");
  CHECK(h.sink.rejects[1].raw == "not a log at all");
  CHECK(h.sink.rejects[1].pos.line == 4);
  CHECK(h.sink.rejects[2].reason == "unknown_format");
  CHECK(h.sink.rejects[2].raw == "garbage after pgaudit");
  CHECK(h.sink.rejects[2].pos.line == 6);
  s.stop();
}

TEST_CASE("syslog over UDP with format auto: detected from the first message, re-sniffed",
          "[syslog][udp][auto]") {
  SourceHarness h;
  auto o = syslog_options();
  o.format = "auto";
  o.max_message_bytes = 4096;
  SyslogUdpSource s(o, h.ctx);
  s.start();
  asio::io_context client_io;
  udp::socket client(client_io, udp::endpoint(udp::v4(), 0));
  const udp::endpoint to(asio::ip::make_address("127.0.0.1"), s.local_port());
  auto send = [&](const std::string& message) {
    client.send_to(asio::buffer("<134>1 2026-08-20T10:00:00Z host app - - - " + message), to);
    // In order: one datagram at a time.
    const auto before = h.sink.ids.size() + h.sink.rejects.size();
    h.run_until([&] { return h.sink.ids.size() + h.sink.rejects.size() > before; }, 2000);
  };
  send(ranger_line("u1"));
  send(trail_record(9));
  send("{\"neither\":\"ranger nor anything\"}");
  send(ranger_line("u2"));
  CHECK(h.sink.ids == std::vector<std::string>{"u1", "ev-000009", "u2"});
  REQUIRE(h.sink.rejects.size() == 1);
  CHECK(h.sink.rejects[0].reason == "unknown_format");
  CHECK(h.sink.rejects[0].detail.find("aws_cloudtrail") != std::string::npos);
  s.stop();
}
