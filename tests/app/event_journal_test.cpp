// The grant journal's event encoding: every field round-trips, whatever bytes
// the log carried, as printable ASCII; malformed rows are refused.
#include "app/event_journal.h"

#include <catch2/catch.hpp>

using sevwatch::detectors::AccessEvent;
using namespace sevwatch::app;

namespace {

AccessEvent full_event() {
  using namespace sevwatch::detectors;
  AccessEvent e;
  e.time_ms = 1'787'220'000'123;
  e.time_zone_assumed = true;
  e.format = "ranger_audit";
  e.pos = SourcePos{"/var/log/ranger/a|b,c%.jsonl", 42, 4096};
  e.event_uid = "g-1";
  e.principal = "dana\xc3\xa9\x01";  // UTF-8 and a control byte
  e.principal_groups = {"analysts", "", "a,b|c"};
  e.action = Action::grant;
  e.operation = "grant";
  e.object = ObjectRef{"c1.db1.t1", ObjectLevel::table, "a,b"};
  e.grant.privileges = {"SELECT", "INSERT"};
  e.grant.grantees = {{GranteeKind::group, "public"}, {GranteeKind::user, "bob,\n"}};
  e.grant.target = ObjectRef{"c1.db1", ObjectLevel::schema, ""};
  e.grant.target_type = "DATABASE";
  e.grant.with_grant_option = true;
  e.result = Result::allowed;
  e.client_ip = "10.0.0.1";
  e.query = std::string("GRANT SELECT ON DATABASE db1 TO GROUP public;\0\xff", 47);
  e.session = "s-1";
  e.policy = "42";
  e.raw = R"({"a":"b|c"})";
  return e;
}

void check_same(const AccessEvent& a, const AccessEvent& b) {
  CHECK(a.time_ms == b.time_ms);
  CHECK(a.time_zone_assumed == b.time_zone_assumed);
  CHECK(a.format == b.format);
  CHECK(a.pos.file == b.pos.file);
  CHECK(a.pos.line == b.pos.line);
  CHECK(a.pos.offset == b.pos.offset);
  CHECK(a.event_uid == b.event_uid);
  CHECK(a.principal == b.principal);
  CHECK(a.principal_groups == b.principal_groups);
  CHECK(a.action == b.action);
  CHECK(a.operation == b.operation);
  CHECK(a.object.name == b.object.name);
  CHECK(a.object.level == b.object.level);
  CHECK(a.object.columns == b.object.columns);
  CHECK(a.grant.privileges == b.grant.privileges);
  REQUIRE(a.grant.grantees.size() == b.grant.grantees.size());
  for (std::size_t i = 0; i < a.grant.grantees.size(); ++i) {
    CHECK(a.grant.grantees[i].kind == b.grant.grantees[i].kind);
    CHECK(a.grant.grantees[i].name == b.grant.grantees[i].name);
  }
  CHECK(a.grant.target.name == b.grant.target.name);
  CHECK(a.grant.target.level == b.grant.target.level);
  CHECK(a.grant.target.columns == b.grant.target.columns);
  CHECK(a.grant.target_type == b.grant.target_type);
  CHECK(a.grant.with_grant_option == b.grant.with_grant_option);
  CHECK(a.result == b.result);
  CHECK(a.client_ip == b.client_ip);
  CHECK(a.query == b.query);
  CHECK(a.session == b.session);
  CHECK(a.policy == b.policy);
  CHECK(a.raw == b.raw);
}

}  // namespace

TEST_CASE("journal encoding: every field round-trips as printable ASCII", "[journal]") {
  const AccessEvent e = full_event();
  const std::string text = encode_journal_event(e);
  INFO(text);
  for (char c : text) {
    CHECK((c >= 0x20 && c < 0x7f));
  }
  CHECK(text.rfind("1|1787220000123|3|3|1|ranger_audit|", 0) == 0);
  AccessEvent back;
  back.principal = "stale";
  back.grant.grantees = {{}, {}, {}};
  REQUIRE(decode_journal_event(text, back));
  check_same(e, back);

  // An empty event too (empty lists, empty last field).
  AccessEvent empty;
  AccessEvent back2 = full_event();
  REQUIRE(decode_journal_event(encode_journal_event(empty), back2));
  check_same(empty, back2);
}

TEST_CASE("journal encoding: malformed rows are refused", "[journal]") {
  const std::string good = encode_journal_event(full_event());
  AccessEvent e;
  CHECK_FALSE(decode_journal_event("", e));
  CHECK_FALSE(decode_journal_event("2" + good.substr(1), e));  // another version
  CHECK_FALSE(decode_journal_event(good + "|extra", e));       // too many fields
  CHECK_FALSE(decode_journal_event(good.substr(0, 40), e));    // cut
  CHECK_FALSE(decode_journal_event(good + "%4", e));           // bad escape
  std::string bad_action = good;
  bad_action.replace(bad_action.find("|3|1|"), 5, "|99|1|");  // no such action
  CHECK_FALSE(decode_journal_event(bad_action, e));
}

TEST_CASE("state text escaping keeps lines and round-trips any byte", "[journal]") {
  const std::string text =
      std::string("sevwatch-baselines 1\nrule r\n5\tdana\xc3\xa9 100%\x01\n", 43);
  const std::string esc = escape_state_text(text);
  CHECK(esc == "sevwatch-baselines 1\nrule r\n5\tdana%C3%A9 100%25%01\n");
  CHECK(unescape_state_text(esc) == text);
  CHECK_FALSE(unescape_state_text("100%"));
  CHECK_FALSE(unescape_state_text("%zz"));
}
