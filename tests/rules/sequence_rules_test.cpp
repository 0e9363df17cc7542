// Sequence rules and a repeated first step: an A that no B can follow on time
// any more gives way to a newer A of the same key ("A then B within T"); with
// absence, an A that arrives when its key's previous A is due starts its own
// wait ("A not followed by B within T" holds for both).
#include <catch2/catch.hpp>

#include "rules/engine.h"

using namespace sevwatch;
using detectors::AccessEvent;
using detectors::Action;

namespace {

constexpr std::int64_t kMin = 60'000;

struct Count final : rules::FindingSink {
  std::vector<rules::Finding> all;
  void on_finding(const rules::Finding& f) override { all.push_back(f); }
  std::size_t notes(std::string_view kind) const {
    std::size_t n = 0;
    for (const auto& f : all) {
      for (const auto& note : f.notes) n += note.kind == kind ? 1 : 0;
    }
    return n;
  }
};

AccessEvent event(Action a, std::int64_t minute, const std::string& target = "hive.db") {
  AccessEvent e;
  e.time_ms = minute * kMin;
  e.action = a;
  e.result = detectors::Result::allowed;
  e.principal = "svc";
  e.grant.privileges = {"SELECT"};
  e.grant.grantees.push_back({detectors::GranteeKind::group, "public"});
  e.grant.target = {target, detectors::ObjectLevel::schema, ""};
  return e;
}

std::size_t fired(bool absent, const std::vector<AccessEvent>& events) {
  const std::string yaml = std::string(R"(- rule: seq
  title: t
  description: d
  owner: o
  kind: sequence
  sequence:
    by: [grant.target]
    within: 15m
    absent: )") + (absent ? "true" : "false") +
                           R"(
    steps:
      - {name: grant, condition: "action = grant"}
      - {name: revoke, condition: "action = revoke"}
)";
  rules::RuleSet set;
  rules::Diagnostics d;
  rules::load_rules_string(yaml, "seq.yaml", set, d);
  rules::check_rule_set(set, d);
  INFO(d.to_text());
  REQUIRE_FALSE(d.has_errors());
  auto ctx = rules::Context::builtin_default();
  Count sink;
  rules::Engine engine(*ctx, set, sink);
  for (const auto& e : events) engine.process(e);
  engine.flush();
  return sink.notes("sequence");
}

}  // namespace

TEST_CASE("sequence: a stale first step gives way to a newer one", "[sequence]") {
  // A at 0 was never followed; A at 20, B at 25: A then B within 15m.
  CHECK(fired(false,
              {event(Action::grant, 0), event(Action::grant, 20), event(Action::revoke, 25)}) == 1);
  // An A still waiting is not replaced: B at 14 follows the A at 0.
  CHECK(fired(false,
              {event(Action::grant, 0), event(Action::grant, 10), event(Action::revoke, 14)}) == 1);
  // Other keys are not affected.
  CHECK(fired(false, {event(Action::grant, 0), event(Action::grant, 20, "hive.other"),
                      event(Action::revoke, 25)}) == 0);
}

TEST_CASE("sequence absent: an A arriving when the previous one is due waits on its own",
          "[sequence]") {
  // A at 0 is due at 15; the next event is the A at 20: both go unreverted.
  CHECK(fired(true, {event(Action::grant, 0), event(Action::grant, 20), event(Action::read, 40)}) ==
        2);
  // Reverted in time: nothing.
  CHECK(fired(true, {event(Action::grant, 0), event(Action::revoke, 10), event(Action::grant, 20),
                     event(Action::revoke, 30), event(Action::read, 60)}) == 0);
}
