#include "rules/condition.h"

#include <catch2/catch.hpp>
#include <map>

using namespace sevwatch::rules;

namespace {

struct MapSource : FieldSource {
  std::multimap<Field, std::string> m;
  void values(Field f, std::vector<std::string_view>& out) const override {
    auto [a, b] = m.equal_range(f);
    for (auto it = a; it != b; ++it) out.push_back(it->second);
  }
};

std::unique_ptr<Condition> compile(const std::string& text, Diagnostics& d) {
  return compile_condition(text, SourceLoc{"r.yaml", 3, 14}, d);
}

}  // namespace

TEST_CASE("conditions evaluate and/or/not, in, != and exists", "[condition]") {
  MapSource ev;
  ev.m.emplace(Field::action, "read");
  ev.m.emplace(Field::result, "allowed");
  ev.m.emplace(Field::grantee, "public");
  ev.m.emplace(Field::grantee, "ads");
  Diagnostics d;
  auto check = [&](const std::string& text) {
    auto c = compile(text, d);
    INFO(text << "\n" << d.to_text());
    REQUIRE(c);
    return c->eval(ev);
  };
  CHECK(check("action = read"));
  CHECK_FALSE(check("action = grant"));
  CHECK(check("action in (grant, read) and result = allowed"));
  CHECK(check("not action = grant"));
  CHECK(check("action = grant or (result = allowed and not action != read)"));
  CHECK(check("grantee = ads"));
  CHECK(check("grantee in ('x', \"public\")"));
  CHECK_FALSE(check("grantee != ads"));
  CHECK(check("grantee exists"));
  CHECK_FALSE(check("principal exists"));
}

TEST_CASE("condition errors name the line and column", "[condition]") {
  Diagnostics d;
  CHECK_FALSE(compile("action = read and", d));
  REQUIRE(d.all().size() == 1);
  CHECK(d.all()[0].code == "E_CONDITION");
  CHECK(d.all()[0].loc.line == 3);
  CHECK(d.all()[0].loc.col == 14 + 17);

  Diagnostics d2;
  CHECK_FALSE(compile("actor = x", d2));
  REQUIRE(d2.all().size() == 1);
  CHECK(d2.all()[0].code == "E_UNKNOWN_FIELD");
  CHECK(d2.all()[0].loc.col == 14);

  Diagnostics d3;
  CHECK_FALSE(compile("action in (read", d3));
  CHECK(d3.has_errors());
  Diagnostics d4;
  CHECK_FALSE(compile("action = 'open", d4));
  CHECK(d4.has_errors());
}

TEST_CASE("deep nesting is refused, not a stack overflow", "[condition]") {
  Diagnostics d;
  std::string text(5000, '(');
  text += "action = read";
  text += std::string(5000, ')');
  CHECK_FALSE(compile(text, d));
  CHECK(d.has_errors());
  Diagnostics d2;
  std::string nots;
  for (int i = 0; i < 5000; ++i) nots += "not ";
  CHECK_FALSE(compile(nots + "action = read", d2));
}
