#include "rules/exposure_state.h"

#include <catch2/catch.hpp>

#include "detectors/event_time.h"

using namespace sevwatch;
using detectors::AccessEvent;
using detectors::Action;
using detectors::GranteeKind;
using detectors::ObjectLevel;
using rules::Audience;

namespace {

const char* kContext = R"(
sensitivity:
  secret: high
  internal: low
audiences:
  company: [public]
  department: [eng-all]
groups:
  owners: [olga]
objects:
  - match: "hive.hr.salaries"
    sensitivity: secret
    owner: owners
    audience: [owners]
  - match: "hive.hr.reviews"
    sensitivity: secret
    owner: owners
    audience: [owners]
  - match: "hive.ads.clicks"
    sensitivity: internal
    owner: ads
  - match: "*"
    sensitivity: internal
)";

std::unique_ptr<rules::Context> context() {
  rules::Diagnostics d;
  auto ctx = rules::Context::load_string(kContext, "ctx.yaml", d);
  INFO(d.to_text());
  REQUIRE(ctx);
  return ctx;
}

AccessEvent grant(Action action, std::string target, ObjectLevel level, std::string grantee,
                  std::int64_t t, std::vector<std::string> privs = {"SELECT"}) {
  AccessEvent e;
  e.time_ms = t;
  e.action = action;
  e.principal = "admin";
  e.result = detectors::Result::allowed;
  e.grant.privileges = std::move(privs);
  e.grant.grantees.push_back({GranteeKind::group, std::move(grantee)});
  e.grant.target.name = std::move(target);
  e.grant.target.level = level;
  e.object = e.grant.target;
  return e;
}

}  // namespace

TEST_CASE("a schema grant to public exposes every known object inside it", "[exposure]") {
  auto ctx = context();
  rules::ExposureState state(*ctx);
  const auto salaries = *state.find("hive.hr.salaries");
  const auto reviews = *state.find("hive.hr.reviews");
  const auto clicks = *state.find("hive.ads.clicks");

  const auto changes =
      state.apply(grant(Action::grant, "hive.hr", ObjectLevel::schema, "public", 1000));
  REQUIRE(changes.size() == 2);
  for (const auto& c : changes) {
    CHECK_FALSE(c.before.has_value());
    CHECK(c.after == Audience::company);
  }
  REQUIRE(state.exposure(salaries));
  CHECK(state.exposure(salaries)->audience == Audience::company);
  CHECK(state.exposure(reviews)->audience == Audience::company);
  CHECK_FALSE(state.exposure(clicks));

  SECTION("the grant that holds is reported with its actor and time") {
    const auto* g = state.grant(state.exposure(salaries)->grant_id);
    REQUIRE(g != nullptr);
    CHECK(g->actor == "admin");
    CHECK(g->time_ms == 1000);
    CHECK(g->grantee == "public");
  }

  SECTION("a revoke recomputes the exposure") {
    const auto undone =
        state.apply(grant(Action::revoke, "hive.hr", ObjectLevel::schema, "PUBLIC", 2000));
    CHECK(undone.size() == 2);
    CHECK_FALSE(state.exposure(salaries));
    CHECK_FALSE(state.exposure(reviews));
  }

  SECTION("repeating a grant changes nothing") {
    CHECK(
        state.apply(grant(Action::grant, "hive.hr", ObjectLevel::schema, "public", 1500)).empty());
  }

  SECTION("an object first seen later inside the schema is exposed too") {
    const auto later = state.intern("hive.hr.bonuses");
    REQUIRE(state.exposure(later));
    CHECK(state.exposure(later)->audience == Audience::company);
  }
}

TEST_CASE("the broadest grant sets the exposure", "[exposure]") {
  auto ctx = context();
  rules::ExposureState state(*ctx);
  const auto salaries = *state.find("hive.hr.salaries");
  state.apply(grant(Action::grant, "hive.hr.salaries", ObjectLevel::table, "eng-all", 1));
  CHECK(state.exposure(salaries)->audience == Audience::department);
  state.apply(grant(Action::grant, "hive", ObjectLevel::catalog, "public", 2));
  CHECK(state.exposure(salaries)->audience == Audience::company);
  state.apply(grant(Action::revoke, "hive", ObjectLevel::catalog, "public", 3));
  CHECK(state.exposure(salaries)->audience == Audience::department);
}

TEST_CASE("grants to intended readers expose nothing; others are narrow", "[exposure]") {
  auto ctx = context();
  rules::ExposureState state(*ctx);
  const auto salaries = *state.find("hive.hr.salaries");
  CHECK(
      state.apply(grant(Action::grant, "hive.hr.salaries", ObjectLevel::table, "olga", 1)).empty());
  CHECK_FALSE(state.exposure(salaries));
  const auto c =
      state.apply(grant(Action::grant, "hive.hr.salaries", ObjectLevel::table, "ads", 2));
  REQUIRE(c.size() == 1);
  CHECK(c[0].after == Audience::narrow);
}

TEST_CASE("grants that do not allow reading change no exposure", "[exposure]") {
  auto ctx = context();
  rules::ExposureState state(*ctx);
  CHECK(state.apply(grant(Action::grant, "hive.hr", ObjectLevel::schema, "public", 1, {"INSERT"}))
            .empty());
  CHECK(rules::grants_read({"ALL"}));
  CHECK(rules::grants_read({"INSERT", "SELECT"}));
  CHECK_FALSE(rules::grants_read({"UPDATE"}));
}

TEST_CASE("denied grants change nothing", "[exposure]") {
  auto ctx = context();
  rules::ExposureState state(*ctx);
  auto e = grant(Action::grant, "hive.hr", ObjectLevel::schema, "public", 1);
  e.result = detectors::Result::denied;
  CHECK(state.apply(e).empty());
}
