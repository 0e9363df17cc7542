// The SEV rubric: spec/sev-rubric.md's worked cases and every modifier edge,
// the shipped YAML, replacement rubrics, and load errors with positions.
#include "triage/sev_rubric.h"

#include <fmt/format.h>

#include <algorithm>

#include "tests/test_support.h"

using namespace sevwatch;
using rules::Audience;
using rules::Evidence;
using rules::Level;
using triage::SevInputs;
using triage::SevRubric;

namespace {

const SevRubric& shipped() {
  static const auto rubric = SevRubric::builtin_default();
  return *rubric;
}

bool has_diag(const rules::Diagnostics& d, const std::string& code, int line, int col) {
  return std::any_of(d.all().begin(), d.all().end(), [&](const rules::Diagnostic& x) {
    return x.code == code && x.loc.line == line && (col == 0 || x.loc.col == col);
  });
}

}  // namespace

TEST_CASE("rubric: the worked cases of spec/sev-rubric.md", "[rubric]") {
  struct Case {
    const char* name;
    Level d;
    Audience a;
    Evidence e;
    std::uint64_t objects;
    int sev;
  };
  const Case cases[] = {
      {"seed: 45,000 tables readable company-wide", Level::high, Audience::company, Evidence::none,
       45000, 2},
      {"seed + 3 insiders read 12 tables", Level::high, Audience::company, Evidence::improper,
       45000, 1},
      {"seed tables readable by allUsers", Level::high, Audience::internet, Evidence::none, 45000,
       0},
      {"4 confidential tables company-wide", Level::medium, Audience::company, Evidence::none, 4,
       4},
      {"1 people-data table to one extra team", Level::high, Audience::narrow, Evidence::none, 1,
       5},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto d = shipped().decide(SevInputs{c.d, c.a, c.e, c.objects});
    CHECK(d.sev == c.sev);
    CHECK(d.reason.find(fmt::format("{} sensitivity × {} audience", rules::to_string(c.d),
                                    rules::to_string(c.a))) != std::string::npos);
  }
}

TEST_CASE("rubric: the seed reason names the lines applied in words", "[rubric]") {
  const auto d = shipped().decide(SevInputs{Level::high, Audience::company, Evidence::none, 45000});
  CHECK(d.reason ==
        "high sensitivity × company audience → SEV 2 (base); evidence none: no change; 45000 "
        "objects: no scale change");
  const auto e =
      shipped().decide(SevInputs{Level::high, Audience::company, Evidence::improper, 45000});
  CHECK(e.reason ==
        "high sensitivity × company audience → SEV 2 (base); evidence improper: 1 step more "
        "severe → SEV 1; 45000 objects: no scale change");
}

TEST_CASE("rubric: every base cell of the matrix", "[rubric]") {
  // Rows critical..public, columns internet..ineffective, as in the spec.
  const int matrix[5][6] = {{0, 0, 1, 2, 3, 4},
                            {0, 1, 2, 3, 4, 5},
                            {1, 2, 3, 4, 5, 5},
                            {3, 4, 5, 5, 5, 5},
                            {5, 5, 5, 5, 5, 5}};
  for (int l = 0; l < 5; ++l) {
    for (int a = 0; a < 6; ++a) {
      const auto d = shipped().decide(
          SevInputs{static_cast<Level>(l), static_cast<Audience>(a), Evidence::none, 1000});
      INFO(d.reason);
      CHECK(d.sev == matrix[l][a]);
    }
  }
}

TEST_CASE("rubric: modifier edges", "[rubric]") {
  struct Case {
    const char* name;
    Level d;
    Audience a;
    Evidence e;
    std::uint64_t objects;
    int sev;
    const char* reason_part;
  };
  const Case cases[] = {
      // Scale.
      {"exactly 1 object: two less severe", Level::critical, Audience::company, Evidence::none, 1,
       3, "1 object (exactly 1): 2 steps less severe → SEV 3"},
      {"2 objects: one less severe", Level::critical, Audience::company, Evidence::none, 2, 2,
       "2 objects (at most 10): 1 step less severe → SEV 2"},
      {"10 objects: one less severe", Level::critical, Audience::company, Evidence::none, 10, 2,
       "(at most 10)"},
      {"11 objects: no scale change", Level::critical, Audience::company, Evidence::none, 11, 1,
       "11 objects: no scale change"},
      {"0 objects: at most 10", Level::critical, Audience::company, Evidence::none, 0, 2,
       "0 objects (at most 10)"},
      {"clamp at 5", Level::high, Audience::narrow, Evidence::none, 1, 5, "→ SEV 5 (clamped)"},
      {"clamp at 5 from 5", Level::public_, Audience::internet, Evidence::none, 3, 5, "(clamped)"},
      // Evidence.
      {"improper at SEV 0 clamps", Level::critical, Audience::internet, Evidence::improper, 1000, 0,
       "→ SEV 0 (clamped)"},
      {"improper then scale", Level::high, Audience::company, Evidence::improper, 5, 2,
       "evidence improper: 1 step more severe → SEV 1; 5 objects (at most 10): 1 step less "
       "severe → SEV 2"},
      {"external with medium D: SEV 0", Level::medium, Audience::narrow, Evidence::external, 1000,
       0, "evidence external with medium or more sensitive data: set SEV 0"},
      {"external with critical D: SEV 0", Level::critical, Audience::ineffective,
       Evidence::external, 1000, 0, "set SEV 0"},
      {"external with low D: two more severe", Level::low, Audience::company, Evidence::external,
       1000, 3, "evidence external: 2 steps more severe → SEV 3"},
      {"external with public D", Level::public_, Audience::narrow, Evidence::external, 1000, 3,
       "2 steps more severe"},
      {"external low D clamps at 0", Level::low, Audience::internet, Evidence::external, 1000, 1,
       "→ SEV 1"},
      {"exfiltration with high D: SEV 0", Level::high, Audience::narrow, Evidence::exfiltration,
       1000, 0, "evidence exfiltration with high or more sensitive data: set SEV 0"},
      {"exfiltration with medium D: two more severe", Level::medium, Audience::company,
       Evidence::exfiltration, 1000, 1, "evidence exfiltration: 2 steps more severe → SEV 1"},
      {"exfiltration of 1 medium object", Level::medium, Audience::department,
       Evidence::exfiltration, 1, 4, "2 steps less severe → SEV 4"},
      {"exfiltration SEV 0 then 1 object", Level::high, Audience::narrow, Evidence::exfiltration, 1,
       2, "set SEV 0; 1 object (exactly 1): 2 steps less severe → SEV 2"},
      {"clamp below 0", Level::low, Audience::internet, Evidence::exfiltration, 100, 1, "SEV 1"},
  };
  for (const auto& c : cases) {
    const auto d = shipped().decide(SevInputs{c.d, c.a, c.e, c.objects});
    INFO(c.name << ": " << d.reason);
    CHECK(d.sev == c.sev);
    CHECK(d.reason.find(c.reason_part) != std::string::npos);
  }
}

TEST_CASE("rubric: clamping below SEV 0", "[rubric]") {
  const auto d =
      shipped().decide(SevInputs{Level::low, Audience::internet, Evidence::exfiltration, 100});
  // low x internet = 3; exfiltration with low D: two more severe -> 1.
  CHECK(d.sev == 1);
  const auto e =
      shipped().decide(SevInputs{Level::medium, Audience::internet, Evidence::exfiltration, 100});
  CHECK(e.sev == 0);
  CHECK(e.reason.find("→ SEV 0 (clamped)") != std::string::npos);
}

TEST_CASE("rubric: routing per SEV", "[rubric]") {
  CHECK(shipped().route(0).pagerduty_severity == "critical");
  CHECK(shipped().route(0).how == "page");
  CHECK(shipped().route(0).who == "security on-call and incident commander");
  CHECK(shipped().route(1).pagerduty_severity == "critical");
  CHECK(shipped().route(2).pagerduty_severity == "error");
  CHECK(shipped().route(2).how == "page");
  CHECK(shipped().route(2).who.find("data owner informed") != std::string::npos);
  CHECK(shipped().route(3).pagerduty_severity == "warning");
  CHECK(shipped().route(3).how == "notify");
  CHECK(shipped().route(3).who == "triage queue");
  CHECK(shipped().route(4).how == "ticket");
  CHECK(shipped().route(5).pagerduty_severity == "info");
  CHECK(shipped().route(5).who == "data owner");
}

TEST_CASE("rubric: the shipped file loads clean and equals the built-in", "[rubric]") {
  rules::Diagnostics diags;
  const auto path = testing::source_dir() / "rules" / "pack" / "sev_rubric.yaml";
  auto r = SevRubric::load_file(path.string(), diags);
  INFO(diags.to_text());
  REQUIRE(r);
  CHECK(diags.all().empty());
  for (int l = 0; l < 5; ++l) {
    for (int a = 0; a < 6; ++a) {
      for (int e = 0; e < 4; ++e) {
        for (std::uint64_t n : {1, 5, 10, 11, 45000}) {
          const SevInputs in{static_cast<Level>(l), static_cast<Audience>(a),
                             static_cast<Evidence>(e), n};
          CHECK(r->decide(in).reason == shipped().decide(in).reason);
        }
      }
    }
  }
}

TEST_CASE("rubric: a replacement rubric is obeyed", "[rubric]") {
  rules::Diagnostics diags;
  auto r = SevRubric::load_file(testing::fixture("rubric/strict.yaml").string(), diags);
  INFO(diags.to_text());
  REQUIRE(r);
  CHECK(r->decide(SevInputs{Level::high, Audience::company, Evidence::none, 45000}).sev == 1);
  CHECK(r->decide(SevInputs{Level::high, Audience::narrow, Evidence::none, 1}).sev == 3);
  CHECK(r->decide(SevInputs{Level::low, Audience::narrow, Evidence::improper, 1}).sev == 2);
  CHECK(r->decide(SevInputs{Level::public_, Audience::narrow, Evidence::external, 1}).sev == 0);
  CHECK(r->decide(SevInputs{Level::low, Audience::narrow, Evidence::exfiltration, 1}).sev == 4);
  CHECK(r->route(3).who == "queue");
}

TEST_CASE("rubric: load errors carry codes and FILE:LINE:COL", "[rubric]") {
  rules::Diagnostics diags;
  const auto path = testing::fixture("rubric/errors.yaml").string();
  auto r = SevRubric::load_file(path, diags);
  const std::string text = diags.to_text();
  INFO(text);
  CHECK_FALSE(r);
  CHECK(has_diag(diags, "E_RUBRIC_MISSING_CELL", 3, 3));
  CHECK(text.find("high sensitivity x ineffective audience") != std::string::npos);
  CHECK(has_diag(diags, "E_BAD_SEV", 5, 91));
  CHECK(has_diag(diags, "E_UNKNOWN_LEVEL", 8, 3));
  CHECK(has_diag(diags, "E_UNKNOWN_EVIDENCE", 12, 22));
  CHECK(has_diag(diags, "E_UNKNOWN_LEVEL", 14, 43));
  CHECK(has_diag(diags, "E_UNKNOWN_KEY", 17, 35));
  CHECK(has_diag(diags, "E_BAD_SEV", 24, 3));
  CHECK(has_diag(diags, "E_RUBRIC_MISSING_ROUTE", 19, 3));
  CHECK(has_diag(diags, "E_UNKNOWN_KEY", 25, 1));
  CHECK(text.find(path + ":25:1: error[E_UNKNOWN_KEY]") != std::string::npos);
}

TEST_CASE("rubric: YAML syntax errors and empty input", "[rubric]") {
  {
    rules::Diagnostics diags;
    CHECK_FALSE(SevRubric::load_file(testing::fixture("rubric/syntax.yaml").string(), diags));
    REQUIRE(diags.all().size() == 1);
    CHECK(diags.all()[0].code == "E_YAML_SYNTAX");
    CHECK(diags.all()[0].loc.line > 0);
  }
  {
    rules::Diagnostics diags;
    CHECK_FALSE(SevRubric::load_string("", "empty.yaml", diags));
    CHECK(diags.has_errors());
  }
  {
    rules::Diagnostics diags;
    CHECK_FALSE(SevRubric::load_file("/nonexistent/rubric.yaml", diags));
    REQUIRE(diags.has_errors());
    CHECK(diags.all()[0].code == "E_RUBRIC_UNREADABLE");
  }
  {
    rules::Diagnostics diags;
    CHECK_FALSE(SevRubric::load_string("version: 1\nmatrix: {}\n", "m.yaml", diags));
    // 30 missing cells and a missing routing.
    CHECK(std::count_if(diags.all().begin(), diags.all().end(),
                        [](const auto& d) { return d.code == "E_RUBRIC_MISSING_CELL"; }) == 30);
    CHECK(has_diag(diags, "E_RUBRIC_MISSING_KEY", 1, 1));
  }
  {
    rules::Diagnostics diags;
    const char* yaml =
        "matrix: {}\n"
        "evidence:\n"
        "  - when: improper\n"
        "    set: 0\n"
        "    adjust: -1\n"
        "scale:\n"
        "  - {max_objects: 3, adjust: -1}\n"
        "routing: {}\n";
    CHECK_FALSE(SevRubric::load_string(yaml, "x.yaml", diags));
    INFO(diags.to_text());
    CHECK(has_diag(diags, "E_BAD_VALUE", 5, 5));  // both set and adjust
    CHECK(has_diag(diags, "E_BAD_VALUE", 7, 5));  // scale may not raise the SEV
  }
}
