// The extended condition language: operators, types, lists and macros.
#include <catch2/catch.hpp>
#include <map>

#include "rules/condition.h"
#include "rules/rule_file.h"

using namespace sevwatch::rules;

namespace {

struct MapSource : FieldSource {
  std::multimap<Field, std::string> m;
  void values(Field f, std::vector<std::string_view>& out) const override {
    auto [a, b] = m.equal_range(f);
    for (auto it = a; it != b; ++it) out.push_back(it->second);
  }
};

MapSource event() {
  MapSource ev;
  ev.m.emplace(Field::action, "read");
  ev.m.emplace(Field::principal, "svc-Agent-7");
  ev.m.emplace(Field::object, "hive.mci_a.keystrokes_2026");
  ev.m.emplace(Field::client_ip, "10.1.2.3");
  ev.m.emplace(Field::object_level, "high");
  ev.m.emplace(Field::hour, "14");
  ev.m.emplace(Field::object_exposed, "true");
  return ev;
}

}  // namespace

TEST_CASE("string, ordering, regex, cidr and case-insensitive operators", "[condition]") {
  const auto ev = event();
  auto check = [&](const std::string& text) {
    Diagnostics d;
    auto c = compile_condition(text, SourceLoc{"r.yaml", 1, 1}, d);
    INFO(text << "\n" << d.to_text());
    REQUIRE(c);
    return c->eval(ev);
  };
  CHECK(check("object contains keystrokes"));
  CHECK(check("object startswith (hive.hr, hive.mci_)"));
  CHECK(check("object endswith _2026"));
  CHECK_FALSE(check("principal contains agent"));
  CHECK(check("principal icontains agent"));
  CHECK(check("principal istartswith SVC-"));
  CHECK(check("principal iendswith -7"));
  CHECK(check("object glob 'hive.mci_*.*'"));
  CHECK(check("principal iglob 'svc-agent-*'"));
  CHECK(check("object regex '^hive\\.mci_[a-z]+\\.'"));
  CHECK(check("principal regex ('^x', 'Agent-[0-9]+$')"));  // RE2::Set
  CHECK(check("client_ip cidr 10.0.0.0/8"));
  CHECK_FALSE(check("client_ip cidr (192.168.0.0/16, 2001:db8::/32)"));
  CHECK(check("object.level >= high and object.level < critical"));
  CHECK_FALSE(check("object.level > high"));
  CHECK(check("hour >= 9 and hour < 18"));
  CHECK(check("object.exposed"));  // a bare boolean field means "= true"
  CHECK(check("object == hive.mci_a.keystrokes_2026"));
}

TEST_CASE("type errors, bad regexes and bad CIDRs are diagnostics with positions", "[condition]") {
  auto first = [](const std::string& text) {
    Diagnostics d;
    auto c = compile_condition(text, SourceLoc{"r.yaml", 2, 10}, d);
    CHECK_FALSE(c);
    REQUIRE_FALSE(d.all().empty());
    return d.all()[0];
  };
  CHECK(first("action = raed").code == "E_BAD_VALUE");
  CHECK(first("principal > 3").code == "E_TYPE");
  CHECK(first("action contains re").code == "E_TYPE");
  CHECK(first("principal cidr 10.0.0.0/8").code == "E_TYPE");
  CHECK(first("client_ip cidr 10.0.0.0/33").code == "E_CIDR");
  CHECK(first("hour = noon").code == "E_BAD_VALUE");
  const auto re = first("action = read and principal regex '(unclosed'");
  CHECK(re.code == "E_REGEX");
  CHECK(re.loc.line == 2);
  CHECK(re.loc.col == 10 + 34);
  CHECK(first("principal regex 'a{1000}{1000}'").code == "E_REGEX");
  CHECK(first("raw.requestParameters..x = 1").code == "E_RAW_PATH");
  CHECK(first("undefined_macro").code == "E_UNKNOWN_MACRO");
  CHECK(first("object glob 'a[z-a]'").code == "E_GLOB");
}

TEST_CASE("lists and macros work across files, with append and override", "[rule_file]") {
  RuleSet set;
  Diagnostics d;
  load_rules_string(R"(- list: broad
  items: [public]
- macro: is_read
  condition: action = read
- rule: r
  kind: aggregate
  condition: is_read and grantee in (broad)
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 1, sev: 4}]}
)",
                    "a.yaml", set, d);
  load_rules_string(R"(- list: broad
  items: [allUsers]
  append: true
- macro: is_read
  condition: or action = export
  override: {condition: append}
)",
                    "b.yaml", set, d);
  check_rule_set(set, d);
  INFO(d.to_text());
  REQUIRE_FALSE(d.has_errors());
  REQUIRE(set.find("r"));
  const auto& c = *set.find("r")->condition;
  MapSource ev;
  ev.m.emplace(Field::action, "export");
  ev.m.emplace(Field::grantee, "allUsers");
  CHECK(c.eval(ev));
  // The index knows the rule can only match reads and exports.
  CHECK(set.find("r")->actions.count() == 2);

  Diagnostics d2;
  RuleSet twice;
  load_rules_string("- list: x\n  items: [a]\n- list: x\n  items: [b]\n", "c.yaml", twice, d2);
  CHECK(d2.to_text().find("c.yaml:3:3: error[E_DUPLICATE_DEFINITION]") != std::string::npos);
  Diagnostics d3;
  RuleSet cyc;
  load_rules_string(
      "- macro: m1\n  condition: m2\n- macro: m2\n  condition: m1\n- rule: r\n  kind: "
      "first_seen\n  condition: m1\n  first_seen: {key: [principal]}\n",
      "d.yaml", cyc, d3);
  check_rule_set(cyc, d3);
  CHECK(d3.to_text().find("E_MACRO_CYCLE") != std::string::npos);
  CHECK(cyc.find("r") == nullptr);
}

TEST_CASE("exceptions need governance and warn when expired", "[rule_file]") {
  const char* yaml = R"(- rule: r
  kind: aggregate
  condition: action = read
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 1, sev: 4}]}
  exceptions:
    - name: etl
      owner: data-platform
      reason: nightly ETL reads everything
      expires: 2026-03-01
      fields: [principal, object]
      comps: [=, glob]
      values: [[svc-etl, "hive.staging.*"]]
- rule: r2
  kind: first_seen
  first_seen: {key: [principal]}
  exceptions:
    - name: no_owner
      reason: x
      expires: 2026-03-01
      fields: principal
      values: [a]
)";
  RuleSet set;
  Diagnostics d;
  load_rules_string(yaml, "e.yaml", set, d);
  const auto now = 1'800'000'000'000LL;  // 2027
  check_rule_set(set, d, now);
  const auto text = d.to_text();
  INFO(text);
  CHECK(text.find("e.yaml:17:7: error[E_MISSING_KEY]") != std::string::npos);
  CHECK(text.find("e.yaml:6:7: warning[W_EXPIRED_EXCEPTION]") != std::string::npos);
}
