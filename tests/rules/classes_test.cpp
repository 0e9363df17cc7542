#include "rules/classes.h"

#include <catch2/catch.hpp>

#include "rules/diagnostic.h"

using namespace sevwatch::rules;

TEST_CASE("levels round-trip through their names", "[classes]") {
  for (auto v : {Level::critical, Level::high, Level::medium, Level::low, Level::public_}) {
    CHECK(parse_level(to_string(v)) == v);
  }
  CHECK(to_string(Level::public_) == "public");
  CHECK(parse_level("public") == Level::public_);
  CHECK_FALSE(parse_level("High").has_value());
  CHECK_FALSE(parse_level("").has_value());
  CHECK(Level::critical < Level::low);
}

TEST_CASE("audiences round-trip through their names", "[classes]") {
  for (auto v : {Audience::internet, Audience::external, Audience::company, Audience::department,
                 Audience::narrow, Audience::ineffective}) {
    CHECK(parse_audience(to_string(v)) == v);
  }
  CHECK(to_string(Audience::company) == "company");
  CHECK_FALSE(parse_audience("everyone").has_value());
}

TEST_CASE("evidence round-trips through its names", "[classes]") {
  for (auto v : {Evidence::exfiltration, Evidence::external, Evidence::improper, Evidence::none}) {
    CHECK(parse_evidence(to_string(v)) == v);
  }
  CHECK(to_string(Evidence::improper) == "improper");
  CHECK_FALSE(parse_evidence("bad").has_value());
}

TEST_CASE("diagnostics print compiler-style and collect", "[diagnostic]") {
  Diagnostics d;
  CHECK_FALSE(d.has_errors());
  d.warning("W_X", {"a.yaml", 3, 4}, "careful");
  CHECK_FALSE(d.has_errors());
  d.error("E_UNKNOWN_KEY", {"a.yaml", 10, 2}, "unknown key 'x'");
  CHECK(d.has_errors());
  CHECK(format_diagnostic(d.all()[1]) == "a.yaml:10:2: error[E_UNKNOWN_KEY]: unknown key 'x'");
  CHECK(d.to_text() ==
        "a.yaml:3:4: warning[W_X]: careful\n"
        "a.yaml:10:2: error[E_UNKNOWN_KEY]: unknown key 'x'\n");
  Diagnostics e;
  e.error("E_IO", {"b.yaml", 0, 0}, "cannot read");
  CHECK(e.to_text() == "b.yaml: error[E_IO]: cannot read\n");
  d.append(e);
  CHECK(d.all().size() == 3);
}
