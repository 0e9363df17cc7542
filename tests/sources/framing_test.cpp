// LineFramer and the syslog envelope/framing parsers.
#include <catch2/catch.hpp>

#include "detectors/sources/dead_letter.h"
#include "detectors/sources/line_framer.h"
#include "detectors/sources/syslog_parse.h"

using namespace sevwatch::detectors::sources;

namespace {
struct Got {
  std::string text;
  std::uint64_t line, offset, end;
  bool too_long;
};
std::vector<Got> frame(LineFramer& f, const std::vector<std::string>& pieces, bool finish) {
  std::vector<Got> out;
  auto fn = [&](const FramedLine& l) {
    out.push_back(Got{std::string(l.text), l.line, l.offset, l.end, l.too_long});
  };
  for (const auto& p : pieces) f.feed(p, fn);
  if (finish) f.finish(fn);
  return out;
}
}  // namespace

TEST_CASE("LineFramer splits pieces into lines with offsets", "[framer]") {
  LineFramer f(100);
  auto got = frame(f, {"ab", "c\r\nde", "f\n\ngh"}, false);
  REQUIRE(got.size() == 3);
  CHECK(got[0].text == "abc");
  CHECK(got[0].offset == 0);
  CHECK(got[0].end == 5);
  CHECK(got[1].text == "def");
  CHECK(got[1].line == 2);
  CHECK(got[1].offset == 5);
  CHECK(got[2].text.empty());
  CHECK(f.consumed() == 10);
  CHECK(f.pending() == 2);
  auto rest = frame(f, {}, true);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].text == "gh");
  CHECK(rest[0].end == 12);
}

TEST_CASE("LineFramer rejects long lines without buffering them", "[framer]") {
  LineFramer f(10, 4);
  auto got = frame(f, {"0123456789ABCDEF", std::string(1000, 'x'), "\nok\n"}, false);
  REQUIRE(got.size() == 2);
  CHECK(got[0].too_long);
  CHECK(got[0].text == "0123");
  CHECK(got[1].text == "ok");
  CHECK(got[1].offset == 1017);
  // Exactly at the cap, with a CR, is fine.
  LineFramer g(3);
  auto ok = frame(g, {"abc\r\n"}, false);
  REQUIRE(ok.size() == 1);
  CHECK_FALSE(ok[0].too_long);
  CHECK(ok[0].text == "abc");
}

TEST_CASE("LineFramer resumes at a checkpoint", "[framer]") {
  LineFramer f(100);
  f.reset(500, 7);
  auto got = frame(f, {"x\n"}, false);
  REQUIRE(got.size() == 1);
  CHECK(got[0].line == 8);
  CHECK(got[0].offset == 500);
  CHECK(f.consumed() == 502);
}

TEST_CASE("RFC 5424 envelope", "[syslog]") {
  std::string err;
  auto m = parse_syslog(
      "<165>1 2026-08-20T10:00:00.000Z hs2-01 ranger 42 audit [exampleSDID@32473 iut=\"3\" "
      "eventSource=\"App\\]\"][x@1 a=\"b\"] {\"json\":1}",
      err);
  REQUIRE(m);
  CHECK(m->rfc5424);
  CHECK(m->priority == 165);
  CHECK(m->hostname == "hs2-01");
  CHECK(m->app_name == "ranger");
  CHECK(m->message == "{\"json\":1}");
  auto nil = parse_syslog("<14>1 - - - - - - \xEF\xBB\xBFhello", err);
  REQUIRE(nil);
  CHECK(nil->message == "hello");
  CHECK_FALSE(parse_syslog("<14>1 2026-08-20T10:00:00Z host", err));
  CHECK_FALSE(parse_syslog("<14>1 - - - - - [unterminated", err));
}

TEST_CASE("RFC 3164 envelope", "[syslog]") {
  std::string err;
  auto m = parse_syslog("<134>Aug 20 10:00:00 db-01 postgres[123]: 2026-08-20 hello", err);
  REQUIRE(m);
  CHECK_FALSE(m->rfc5424);
  CHECK(m->hostname == "db-01");
  CHECK(m->app_name == "postgres");
  CHECK(m->message == "2026-08-20 hello");
  auto bare = parse_syslog("<13>just a message", err);
  REQUIRE(bare);
  CHECK(bare->message == "just a message");
  CHECK_FALSE(parse_syslog("no pri", err));
  CHECK_FALSE(parse_syslog("<999>x", err));
  CHECK_FALSE(parse_syslog("<>x", err));
}

TEST_CASE("syslog TCP framing: octet counting and newlines", "[syslog]") {
  SyslogTcpFramer f(20);
  f.append("5 <1>ab7 <1>c\nde<2>line\r\n30 ");
  std::vector<std::pair<SyslogTcpFramer::Kind, std::string>> got;
  while (auto o = f.next()) got.emplace_back(o->kind, std::string(o->frame));
  REQUIRE(got.size() == 4);
  CHECK(got[0].second == "<1>ab");
  CHECK(got[1].second == "<1>c\nde");
  CHECK(got[2].second == "<2>line");
  CHECK(got[3].first == SyslogTcpFramer::Kind::oversize);
  f.append(std::string(30, 'z') + "4 <1>q");
  got.clear();
  while (auto o = f.next()) got.emplace_back(o->kind, std::string(o->frame));
  REQUIRE(got.size() == 1);
  CHECK(got[0].second == "<1>q");
  SyslogTcpFramer bad(20);
  bad.append("12x <1>a\n");
  auto o = bad.next();
  REQUIRE(o);
  CHECK(o->kind == SyslogTcpFramer::Kind::bad_count);
}

TEST_CASE("dead-letter quoting keeps bytes and caps length", "[dead_letter]") {
  CHECK(json_quote_bytes("a\"b\\\n", 100) == "\"a\\\"b\\\\\\n\"");
  CHECK(json_quote_bytes("\xff"
                         "ok",
                         100) == "\"\\u00ffok\"");
  CHECK(json_quote_bytes("h\xC3\xA9llo", 2) == "\"h\"");  // never cuts a UTF-8 sequence
  CHECK(json_quote_bytes(std::string(50, 'x'), 10) == "\"" + std::string(10, 'x') + "\"");
}
