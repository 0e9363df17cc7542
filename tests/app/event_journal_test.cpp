// The grant journal's event encoding: every field round-trips, whatever bytes
// the log carried, as printable ASCII; malformed rows are refused; free text no
// rule reads is not written; mention rows round-trip object names.
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

namespace {

sevwatch::rules::RuleSet rule_set(const std::string& yaml) {
  sevwatch::rules::RuleSet set;
  sevwatch::rules::Diagnostics d;
  sevwatch::rules::load_rules_string(yaml, "r.yaml", set, d);
  sevwatch::rules::check_rule_set(set, d);
  INFO(d.to_text());
  REQUIRE_FALSE(d.has_errors());
  return set;
}

std::string rule(const std::string& kind_and_spec) {
  return "- rule: r\n  title: t\n  description: d\n  owner: o\n" + kind_and_spec;
}

}  // namespace

TEST_CASE("journal rows keep only the free text the rules read", "[journal]") {
  const AccessEvent e = full_event();
  auto through = [&](const sevwatch::rules::RuleSet& set) {
    AccessEvent back;
    REQUIRE(decode_journal_event(encode_journal_event(e, KeptText::read_by(set)), back));
    return back;
  };

  // The shipped pack reads none of it but the operation (audit changes).
  sevwatch::rules::RuleSet shipped;
  sevwatch::rules::Diagnostics d;
  sevwatch::rules::load_shipped_rules(shipped, d);
  REQUIRE_FALSE(d.has_errors());
  CHECK_FALSE(shipped.uses(sevwatch::rules::Field::query));
  const AccessEvent bare = through(shipped);
  CHECK(bare.query.empty());
  CHECK(bare.session.empty());
  CHECK(bare.policy.empty());
  CHECK(bare.client_ip.empty());
  CHECK(bare.event_uid.empty());
  CHECK(shipped.uses(sevwatch::rules::Field::operation));
  CHECK(bare.operation == e.operation);
  CHECK(bare.format.empty());
  CHECK(bare.object.columns.empty());
  CHECK(bare.grant.target_type.empty());
  CHECK(bare.raw.empty());
  CHECK(bare.pos.file.empty());
  CHECK(bare.pos.line == 0);
  // What the engine reads stays.
  CHECK(bare.time_ms == e.time_ms);
  CHECK(bare.time_zone_assumed);
  CHECK(bare.principal == e.principal);
  CHECK(bare.principal_groups == e.principal_groups);
  CHECK(bare.action == e.action);
  CHECK(bare.result == e.result);
  CHECK(bare.object.name == e.object.name);
  CHECK(bare.object.level == e.object.level);
  CHECK(bare.grant.privileges == e.grant.privileges);
  REQUIRE(bare.grant.grantees.size() == 2);
  CHECK(bare.grant.grantees[1].name == "bob,\n");
  CHECK(bare.grant.target.name == e.grant.target.name);
  CHECK(bare.grant.target.level == e.grant.target.level);
  CHECK(bare.grant.with_grant_option);

  // A rule that reads the query (in a condition, an exception or as a
  // group_by field) keeps it; raw.<path> keeps the record.
  const auto by_query = through(
      rule_set(rule("  kind: aggregate\n  condition: query icontains \"grant\"\n  aggregate:\n    "
                    "group_by: [principal]\n    window: 1h\n    tiers: [{gte: 5, sev: 4}]\n")));
  CHECK(by_query.query == e.query);
  CHECK(by_query.session.empty());
  CHECK(by_query.raw.empty());
  const auto by_exception = through(rule_set(rule(
      "  kind: exposure\n  condition: action in (grant, revoke)\n  exposure: {audiences: "
      "[company]}\n  exceptions:\n    - name: ops\n      owner: o\n      reason: r\n      expires: "
      "2099-12-31\n      fields: [session]\n"
      "      values: [[s-1]]\n")));
  CHECK(by_exception.session == e.session);
  CHECK(by_exception.query.empty());
  const auto by_group = through(
      rule_set(rule("  kind: aggregate\n  condition: action = read\n  aggregate:\n    group_by: "
                    "[client_ip, policy]\n    window: 1h\n    tiers: [{gte: 5, sev: 4}]\n")));
  CHECK(by_group.client_ip == e.client_ip);
  CHECK(by_group.policy == e.policy);
  CHECK(by_group.query.empty());
  const auto by_raw = through(
      rule_set(rule("  kind: aggregate\n  condition: raw.a = \"b|c\"\n  aggregate:\n    group_by: "
                    "[principal]\n    window: 1h\n    tiers: [{gte: 5, sev: 4}]\n")));
  CHECK(by_raw.raw == e.raw);
  CHECK(by_raw.query.empty());
}

TEST_CASE("journal mention rows round-trip object names", "[journal]") {
  const std::vector<std::string> names{"c1.db1.t1", "s3://b/a,b|c%\x01"};
  const std::string text = encode_journal_mention(names);
  CHECK(text == "M|c1.db1.t1,s3://b/a%2Cb%7Cc%25%01,");
  std::vector<std::string> back;
  REQUIRE(decode_journal_mention(text, back));
  CHECK(back == names);
  AccessEvent e;
  CHECK_FALSE(decode_journal_event(text, e));  // not an event
  CHECK_FALSE(decode_journal_mention(encode_journal_event(full_event()), back));
  CHECK_FALSE(decode_journal_mention("M|unterminated", back));
  REQUIRE(decode_journal_mention("M|", back));
  CHECK(back.empty());
}
