// Sigma detections as sevwatch rules: selections, value modifiers,
// keywords and conditions, checked by running events through the engine.
#include <catch2/catch.hpp>

#include "tests/rules/sigma_test_support.h"

using namespace sevwatch;
using namespace sevwatch::testing::sigma;

namespace {

// A PostgreSQL (pgaudit) read.
AccessEvent pg(const std::string& query, const std::string& principal = "alice",
               const std::string& object = "dw.hr.salaries") {
  return event("pgaudit", Action::read, principal, kT0, "SELECT", object, query);
}

// Whether a Sigma rule with this detection (indented by two spaces) finds `e`.
bool matches(const std::string& detection, const AccessEvent& e,
             const std::string& logsource = "product: postgresql") {
  const std::string yaml =
      "title: t\nid: t1\nlogsource: {" + logsource + "}\ndetection:\n" + detection;
  auto l = load_text(yaml);
  INFO(yaml << "\n" << l->text());
  REQUIRE_FALSE(l->diags.has_errors());
  return !run(l->set, {e}).of("t1").empty();
}

}  // namespace

TEST_CASE("a Sigma rule becomes an aggregate rule carrying its metadata", "[sigma]") {
  auto l = load_text(R"(title: Reads of HR tables
id: 6f1d2c3b-hr-reads
status: stable
description: Someone reads the HR schema.
author: secops
tags:
    - attack.collection
falsepositives:
    - payroll batch
level: high
logsource:
    product: postgresql
detection:
    selection:
        command: SELECT
        object|startswith: dw.hr.
    condition: selection
)");
  INFO(l->text());
  REQUIRE(l->diags.all().empty());
  const auto& r = l->rule("6f1d2c3b-hr-reads");
  CHECK(r.kind == rules::RuleKind::aggregate);
  CHECK(r.title == "Reads of HR tables");
  CHECK(r.owner == "secops");
  CHECK(r.status == "stable");
  CHECK(r.enabled);
  CHECK(r.description == "Someone reads the HR schema.\n\nFalse positives: payroll batch");
  CHECK(r.tags == std::vector<std::string>{"sigma", "sigma.level.high", "attack.collection"});
  REQUIRE(r.aggregate.tiers.size() == 1);
  CHECK(r.aggregate.tiers[0].gte == 1);
  CHECK(r.aggregate.tiers[0].sev == 2);  // high
  CHECK(r.aggregate.function == rules::AggregateSpec::Function::count);
  CHECK(r.aggregate.group_by ==
        std::vector<rules::FieldRef>{rules::field_ref(rules::Field::principal)});
  CHECK(r.condition_text == "sigma:6f1d2c3b-hr-reads");
  CHECK(l->condition("6f1d2c3b-hr-reads") ==
        "format in (pgaudit, pgaudit_csv) and operation iglob SELECT and object istartswith "
        "dw.hr.");

  // Matching is case-insensitive, restricted to the logsource's formats, and
  // each principal gets one finding that grows with its matches.
  std::vector<AccessEvent> events = {
      event("pgaudit", Action::read, "alice", kT0, "select", "dw.hr.salaries"),
      event("pgaudit", Action::read, "alice", kT0 + kMin, "SELECT", "DW.HR.people"),
      event("pgaudit", Action::read, "bob", kT0 + 2 * kMin, "SELECT", "dw.sales.orders"),
      event("ranger_audit", Action::read, "carol", kT0 + 3 * kMin, "SELECT", "dw.hr.salaries"),
  };
  const auto found = run(l->set, events).of("6f1d2c3b-hr-reads");
  REQUIRE(found.size() == 1);
  CHECK(found[0].actors == std::vector<std::string>{"alice"});
  CHECK(found[0].events == 2);
  CHECK(found[0].sev_hint == 2);
  CHECK(found[0].title == "Reads of HR tables: alice");
}

TEST_CASE("Sigma levels map to SEV hints; no level is medium", "[sigma]") {
  const std::pair<const char*, int> cases[] = {{"critical", 1}, {"high", 2},          {"medium", 3},
                                               {"low", 4},      {"informational", 5}, {"", 3}};
  for (const auto& [level, sev] : cases) {
    std::string yaml =
        "title: t\nid: t1\nlogsource: {product: postgresql}\n"
        "detection: {sel: {command: DROP}, condition: sel}\n";
    if (*level) yaml += std::string("level: ") + level + "\n";
    auto l = load_text(yaml);
    INFO(level << "\n" << l->text());
    REQUIRE_FALSE(l->diags.has_errors());
    CHECK(l->rule("t1").aggregate.tiers.at(0).sev == sev);
    const auto f = run(l->set, {event("pgaudit", Action::drop, "a", kT0, "DROP")}).of("t1");
    REQUIRE(f.size() == 1);
    CHECK(f[0].sev_hint == sev);
  }
}

TEST_CASE("Sigma string modifiers", "[sigma]") {
  // contains / startswith / endswith, case-insensitive by default.
  CHECK(matches("  sel:\n    query|contains: 'FROM hr.'\n  condition: sel\n",
                pg("select * from HR.salaries")));
  CHECK_FALSE(matches("  sel:\n    query|contains: 'FROM hr.'\n  condition: sel\n",
                      pg("select * from sales.orders")));
  CHECK(matches("  sel:\n    query|startswith: 'select'\n  condition: sel\n", pg("SELECT 1")));
  CHECK_FALSE(matches("  sel:\n    query|startswith: 'select'\n  condition: sel\n",
                      pg("WITH x AS (SELECT 1) SELECT * FROM x")));
  CHECK(matches("  sel:\n    query|endswith: 'LIMIT 10'\n  condition: sel\n",
                pg("select * from t limit 10")));
  // cased: case-sensitive.
  CHECK_FALSE(matches("  sel:\n    query|contains|cased: 'FROM hr.'\n  condition: sel\n",
                      pg("select * from hr.salaries")));
  CHECK(matches("  sel:\n    query|contains|cased: 'FROM hr.'\n  condition: sel\n",
                pg("SELECT * FROM hr.salaries")));
  // A plain value is the whole field, case-insensitively.
  CHECK(matches("  sel:\n    query: 'SELECT 1'\n  condition: sel\n", pg("select 1")));
  CHECK_FALSE(matches("  sel:\n    query: 'SELECT 1'\n  condition: sel\n", pg("select 12")));
  // Lists are OR; `all` makes them AND.
  CHECK(matches("  sel:\n    query|contains: [ssn, iban]\n  condition: sel\n",
                pg("select iban from hr.pay")));
  CHECK(matches("  sel:\n    query|contains|all: [ssn, salaries]\n  condition: sel\n",
                pg("select ssn from hr.salaries")));
  CHECK_FALSE(matches("  sel:\n    query|contains|all: [ssn, salaries]\n  condition: sel\n",
                      pg("select name from hr.salaries")));
}

TEST_CASE("Sigma wildcards and escapes", "[sigma]") {
  CHECK(matches("  sel:\n    query: 'select * from t?'\n  condition: sel\n",
                pg("SELECT a, b FROM T1")));
  CHECK_FALSE(matches("  sel:\n    query: 'select * from t?'\n  condition: sel\n",
                      pg("SELECT a FROM t12")));
  // \* is a literal star (SigmaHQ's 'select \*').
  CHECK(matches("  sel:\n    query|contains: 'select \\*'\n  condition: sel\n",
                pg("SELECT * FROM t")));
  CHECK_FALSE(matches("  sel:\n    query|contains: 'select \\*'\n  condition: sel\n",
                      pg("SELECT a FROM t")));
  // A backslash before anything else is itself; brackets are not glob classes.
  CHECK(matches("  sel:\n    query|contains: 'C:\\Temp\\[x]'\n  condition: sel\n",
                pg("copy t to 'c:\\temp\\[x].csv'")));
  CHECK(matches("  sel:\n    query: 'a[1]'\n  condition: sel\n", pg("A[1]")));
  CHECK_FALSE(matches("  sel:\n    query: 'a[1]'\n  condition: sel\n", pg("a1")));
  // Wildcards inside contains/startswith keep their meaning.
  CHECK(matches("  sel:\n    query|startswith: 'select * from hr'\n  condition: sel\n",
                pg("SELECT ssn FROM hr.salaries")));
}

TEST_CASE("Sigma re, cidr, exists, null and comparison modifiers", "[sigma]") {
  // re is RE2, case-sensitive unless re|i, unanchored.
  CHECK(matches("  sel:\n    query|re: 'FROM hr\\.[a-z]+'\n  condition: sel\n",
                pg("SELECT x FROM hr.salaries")));
  CHECK_FALSE(matches("  sel:\n    query|re: 'FROM hr\\.[a-z]+'\n  condition: sel\n",
                      pg("select x from hr.salaries")));
  CHECK(matches("  sel:\n    query|re|i: 'FROM hr\\.[a-z]+'\n  condition: sel\n",
                pg("select x from hr.salaries")));
  auto from = [](const std::string& ip) {
    auto e = pg("select 1");
    e.client_ip = ip;
    return e;
  };
  CHECK(matches("  sel:\n    client_ip|cidr: 10.0.0.0/8\n  condition: sel\n", from("10.1.2.3")));
  CHECK_FALSE(
      matches("  sel:\n    client_ip|cidr: 10.0.0.0/8\n  condition: sel\n", from("192.168.1.1")));
  CHECK(matches("  sel:\n    client_ip|exists: false\n  condition: sel\n", from("")));
  CHECK_FALSE(matches("  sel:\n    client_ip|exists: false\n  condition: sel\n", from("10.0.0.1")));
  CHECK(matches("  sel:\n    remote_host|exists: true\n  condition: sel\n", from("10.0.0.1")));
  // null and '' mean the field is absent.
  CHECK(matches("  sel:\n    session_id: null\n  condition: sel\n", pg("select 1")));
  CHECK(matches("  sel:\n    session_id: ''\n  condition: sel\n", pg("select 1")));
  auto with_session = pg("select 1");
  with_session.session = "4242";
  CHECK_FALSE(matches("  sel:\n    session_id: null\n  condition: sel\n", with_session));
  CHECK(matches("  sel:\n    session_id:\n      - null\n      - '4242'\n  condition: sel\n",
                with_session));
  // neq negates; lt/lte/gt/gte order numbers.
  CHECK(matches("  sel:\n    user|neq: bob\n  condition: sel\n", pg("select 1", "alice")));
  CHECK_FALSE(matches("  sel:\n    user|neq: bob\n  condition: sel\n", pg("select 1", "bob")));
  auto late = pg("select 1");
  late.time_ms = kT0 + 13 * 60 * kMin;  // 23:00 UTC
  CHECK(matches("  sel:\n    hour|gte: 22\n  condition: sel\n", late));
  CHECK_FALSE(matches("  sel:\n    hour|lt: 6\n  condition: sel\n", late));
  // Vocabulary fields take their values case-insensitively.
  auto grant = pg("GRANT SELECT ON hr.salaries TO PUBLIC");
  grant.action = Action::grant;
  CHECK(matches("  sel:\n    action: GRANT\n  condition: sel\n", grant));
}

TEST_CASE("Sigma encoding modifiers: base64, base64offset, windash", "[sigma]") {
  CHECK(matches("  sel:\n    query|base64|contains: 'secret'\n  condition: sel\n",
                pg("select decode('c2VjcmV0', 'base64')")));
  // base64 text is case-sensitive.
  CHECK_FALSE(matches("  sel:\n    query|base64|contains: 'secret'\n  condition: sel\n",
                      pg("select decode('C2VJCMV0', 'base64')")));
  // 'whoami' at each of the three offsets of a base64 stream.
  for (const char* encoded :
       {"cnVuIHdob2FtaSBub3c=", "eHJ1biB3aG9hbWkgbm93", "eHlydW4gd2hvYW1pIG5vdw=="}) {
    INFO(encoded);
    CHECK(matches("  sel:\n    query|base64offset|contains: 'whoami'\n  condition: sel\n",
                  pg(std::string("select '") + encoded + "'")));
  }
  CHECK_FALSE(matches("  sel:\n    query|base64offset|contains: 'whoami'\n  condition: sel\n",
                      pg("select 'cnVuIGxzIG5vdw=='")));
  // windash: -f, /f, and the dash look-alikes.
  for (const char* q : {"pg_dump -f out.sql", "pg_dump /f out.sql", "pg_dump \u2013f out.sql"}) {
    INFO(q);
    CHECK(matches("  sel:\n    query|windash|contains: ' -f '\n  condition: sel\n", pg(q)));
  }
  CHECK_FALSE(matches("  sel:\n    query|windash|contains: ' -f '\n  condition: sel\n",
                      pg("pg_dump +f out.sql")));
}

TEST_CASE("Sigma selections: maps AND, lists of maps OR, keywords", "[sigma]") {
  const std::string either =
      "  sel:\n    - command: DROP\n    - command: TRUNCATE\n      object|contains: audit\n"
      "  condition: sel\n";
  auto drop = pg("drop table t");
  drop.operation = "DROP";
  auto truncate_audit = pg("truncate audit.log", "alice", "dw.audit.log");
  truncate_audit.operation = "TRUNCATE";
  auto truncate_other = pg("truncate sales.t", "alice", "dw.sales.t");
  truncate_other.operation = "TRUNCATE";
  CHECK(matches(either, drop));
  CHECK(matches(either, truncate_audit));
  CHECK_FALSE(matches(either, truncate_other));

  // Keywords search the logsource's keyword fields (query for databases).
  const std::string kw = "  keywords:\n    - 'drop'\n    - 'select \\*'\n  condition: keywords\n";
  CHECK(matches(kw, pg("DROP TABLE hr.salaries"), "category: database"));
  CHECK(matches(kw, pg("select * from t"), "category: database"));
  CHECK_FALSE(matches(kw, pg("select a from t"), "category: database"));
  const std::string all_kw =
      "  keywords:\n    '|all':\n      - 'ssn'\n      - 'salaries'\n  condition: keywords\n";
  CHECK(matches(all_kw, pg("select ssn from hr.salaries"), "category: database"));
  CHECK_FALSE(matches(all_kw, pg("select ssn from hr.people"), "category: database"));
}

TEST_CASE("Sigma conditions: and, or, not, parentheses, x of", "[sigma]") {
  const std::string sels =
      "  sel_read:\n    command: SELECT\n"
      "  sel_hr:\n    object|startswith: dw.hr.\n"
      "  filter_service:\n    user|startswith: svc-\n"
      "  _helper:\n    user: nobody\n";
  const auto with = [&](const std::string& condition) {
    return sels + "  condition: " + condition + "\n";
  };
  const auto alice_hr = pg("select 1", "alice", "dw.hr.salaries");
  const auto alice_sales = pg("select 1", "alice", "dw.sales.orders");
  const auto svc_hr = pg("select 1", "svc-etl", "dw.hr.salaries");

  CHECK(matches(with("all of sel_* and not filter_service"), alice_hr));
  CHECK_FALSE(matches(with("all of sel_* and not filter_service"), alice_sales));
  CHECK_FALSE(matches(with("all of sel_* and not filter_service"), svc_hr));
  CHECK(matches(with("1 of sel_* and not 1 of filter_*"), alice_sales));
  CHECK(matches(with("sel_read and (sel_hr or filter_service)"), svc_hr));
  CHECK_FALSE(matches(with("sel_read and not (sel_hr or filter_service)"), svc_hr));
  CHECK(matches(with("NOT sel_hr AND sel_read"), alice_sales));
  // `them` leaves out names starting with '_'.
  CHECK(matches(with("all of them"), svc_hr));
  CHECK(matches(with("1 of them"), alice_sales));
  CHECK_FALSE(matches(with("_helper"), alice_sales));

  // A list of conditions is OR.
  const std::string listed = sels +
                             "  condition:\n    - sel_hr and filter_service\n"
                             "    - sel_read and not sel_hr\n";
  CHECK(matches(listed, svc_hr));
  CHECK(matches(listed, alice_sales));
  CHECK_FALSE(matches(listed, alice_hr));
}

TEST_CASE("a Sigma rule's macro can be used by sevwatch rules", "[sigma]") {
  rules::RuleSet set;
  rules::Diagnostics d;
  rules::load_rules_string(R"(title: Drop
id: drop-any
logsource: {product: postgresql}
detection: {sel: {command: DROP}, condition: sel}
)",
                           "drop.yml", set, d);
  rules::load_rules_string(R"(- rule: drop_in_hr
  kind: aggregate
  condition: sigma:drop-any and object startswith dw.hr.
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 1, sev: 2}]}
)",
                           "mine.yaml", set, d);
  rules::check_rule_set(set, d, kNow);
  INFO(d.to_text());
  REQUIRE(d.all().empty());
  auto hr = event("pgaudit", Action::drop, "alice", kT0, "DROP", "dw.hr.salaries");
  auto sales = event("pgaudit", Action::drop, "bob", kT0, "DROP", "dw.sales.t");
  const auto f = run(set, {hr, sales});
  CHECK(f.of("drop_in_hr").size() == 1);
  CHECK(f.of("drop-any").size() == 2);
}
