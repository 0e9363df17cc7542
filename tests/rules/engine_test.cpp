#include "rules/engine.h"

#include <catch2/catch.hpp>
#include <map>

using namespace sevwatch;
using detectors::AccessEvent;
using detectors::Action;
using detectors::ObjectLevel;
using rules::Audience;
using rules::Evidence;

namespace {

const char* kContext = R"(
organization:
  domains: [example.com]
  principals: ["*"]
sensitivity:
  transcripts: high
  internal: low
audiences:
  internet: [allUsers]
  company: [public]
groups:
  mci-eng: [alice, svc-pipe]
objects:
  - match: "hive.mci_a.t1"
    sensitivity: transcripts
    owner: mci-eng
    audience: [mci-eng]
  - match: "hive.mci_a.t2"
    sensitivity: transcripts
    owner: mci-eng
    audience: [mci-eng]
  - match: "hive.mci_b.t1"
    sensitivity: transcripts
    owner: mci-eng
    audience: [mci-eng]
  - match: "hive.ads.t1"
    sensitivity: internal
    owner: ads
  - match: "hive.mci_*"
    sensitivity: transcripts
    owner: mci-eng
    audience: [mci-eng]
  - match: "*"
    sensitivity: internal
)";

struct Collect : rules::FindingSink {
  std::vector<rules::Finding> all;
  std::map<std::string, rules::Finding> last;
  // Exposure findings only: the pack's stateful rules (which carry a
  // sev_hint) have their own tests.
  void on_finding(const rules::Finding& f) override {
    if (f.sev_hint) return;
    all.push_back(f);
    last[f.group_key] = f;
  }
};

constexpr std::int64_t kMin = 60'000;

AccessEvent grant_db(const std::string& db, std::int64_t t, Action a = Action::grant) {
  AccessEvent e;
  e.time_ms = t;
  e.action = a;
  e.result = detectors::Result::allowed;
  e.principal = "svc-pipe";
  e.grant.privileges = {"SELECT"};
  e.grant.grantees.push_back({detectors::GranteeKind::group, "public"});
  e.grant.target = {"hive." + db, ObjectLevel::schema, ""};
  e.object = e.grant.target;
  return e;
}

AccessEvent read(const std::string& who, const std::string& object, std::int64_t t) {
  AccessEvent e;
  e.time_ms = t;
  e.action = Action::read;
  e.result = detectors::Result::allowed;
  e.principal = who;
  e.object = {object, ObjectLevel::table, ""};
  return e;
}

struct Fixture {
  std::unique_ptr<rules::Context> ctx;
  rules::RuleSet set;
  Collect sink;
  std::unique_ptr<rules::Engine> engine;
  Fixture() {
    rules::Diagnostics d;
    ctx = rules::Context::load_string(kContext, "ctx.yaml", d);
    rules::load_shipped_rules(set, d);
    INFO(d.to_text());
    REQUIRE(ctx);
    REQUIRE_FALSE(d.has_errors());
    engine = std::make_unique<rules::Engine>(*ctx, set, sink);
  }
};

}  // namespace

TEST_CASE("one rollout of several grants is one finding", "[engine]") {
  Fixture f;
  f.engine->process(grant_db("mci_a", 10 * kMin));
  f.engine->process(grant_db("mci_b", 12 * kMin));
  f.engine->process(read("alice", "hive.mci_a.t1", 13 * kMin));
  f.engine->finish();
  REQUIRE(f.sink.last.size() == 1);
  const auto& fin = f.sink.last.begin()->second;
  CHECK(fin.rule_id == "broad_exposure_sensitive");
  CHECK(fin.objects == 3);
  CHECK(fin.first_ms == 10 * kMin);
  CHECK(fin.audience == Audience::company);
  CHECK(fin.level == rules::Level::high);
  CHECK(fin.sensitivity == std::vector<std::string>{"transcripts"});
  CHECK(fin.grantees == std::vector<std::string>{"public"});
  CHECK(fin.actors == std::vector<std::string>{"svc-pipe"});
  CHECK(fin.evidence == Evidence::none);
  CHECK(fin.outsider_reads == 0);
  REQUIRE(fin.readers.size() == 1);
  CHECK(fin.readers[0].principal == "alice");
  CHECK_FALSE(fin.readers[0].outsider);

  // Every object reached the sink once, across the updates.
  std::vector<std::string> objects;
  for (const auto& u : f.sink.all)
    objects.insert(objects.end(), u.new_objects.begin(), u.new_objects.end());
  std::sort(objects.begin(), objects.end());
  CHECK(objects == std::vector<std::string>{"hive.mci_a.t1", "hive.mci_a.t2", "hive.mci_b.t1"});
}

TEST_CASE("outsider reads become evidence, reported as they happen", "[engine]") {
  Fixture f;
  f.engine->process(grant_db("mci_a", 10 * kMin));
  auto exposure_updates = [&] {
    std::vector<rules::Finding> out;
    for (const auto& x : f.sink.all) {
      if (x.rule_id == "broad_exposure_sensitive") out.push_back(x);
    }
    return out;
  };
  const auto before = exposure_updates().size();
  f.engine->process(read("dana", "hive.mci_a.t1", 70 * kMin));
  REQUIRE(exposure_updates().size() == before + 1);  // urgent: SEV may change
  const auto u = exposure_updates().back();
  CHECK(u.evidence == Evidence::improper);
  CHECK(u.outsider_reads == 1);
  CHECK(u.outsiders == std::vector<std::string>{"dana"});
  REQUIRE(u.notes.size() == 1);
  CHECK(u.notes[0].kind == "evidence");
  CHECK(u.notes[0].at_ms == 70 * kMin);

  f.engine->process(read("dana", "hive.mci_a.t2", 71 * kMin));
  f.engine->process(read("mallory@evil.test", "hive.mci_a.t2", 72 * kMin));
  f.engine->finish();
  const auto& fin = f.sink.last.begin()->second;
  CHECK(fin.outsider_reads == 3);
  CHECK(fin.evidence == Evidence::external);
  CHECK(fin.outsiders == std::vector<std::string>{"dana", "mallory@evil.test"});
}

TEST_CASE("reads of objects that are not exposed are not evidence", "[engine]") {
  Fixture f;
  f.engine->process(read("dana", "hive.mci_a.t1", 1 * kMin));  // before the grant
  f.engine->process(grant_db("mci_a", 10 * kMin));
  f.engine->process(read("dana", "hive.ads.t1", 11 * kMin));  // another object
  f.engine->finish();
  REQUIRE(f.sink.last.size() == 1);
  CHECK(f.sink.last.begin()->second.outsider_reads == 0);
}

TEST_CASE("a revoke ends the exposure; a later grant is a new finding", "[engine]") {
  Fixture f;
  f.engine->process(grant_db("mci_a", 10 * kMin));
  f.engine->process(grant_db("mci_a", 20 * kMin, Action::revoke));
  f.engine->process(read("dana", "hive.mci_a.t1", 21 * kMin));  // no longer exposed
  f.engine->process(grant_db("mci_a", 200 * kMin));
  f.engine->finish();
  REQUIRE(f.sink.last.size() == 2);
  const auto& first = f.sink.last.begin()->second;
  CHECK_FALSE(first.exposure_active);
  CHECK(first.outsider_reads == 0);
  CHECK(std::next(f.sink.last.begin())->second.exposure_active);
}

TEST_CASE("low-sensitivity objects are not broad-exposure findings", "[engine]") {
  Fixture f;
  AccessEvent e = grant_db("ads", 10 * kMin);
  f.engine->process(e);
  f.engine->finish();
  CHECK(f.sink.last.empty());
}

TEST_CASE("the finding's key is stable across replays", "[engine]") {
  Fixture a, b;
  for (auto* fx : {&a, &b}) {
    fx->engine->process(grant_db("mci_a", 10 * kMin));
    fx->engine->process(read("dana", "hive.mci_a.t1", 11 * kMin));
    fx->engine->finish();
  }
  REQUIRE(a.sink.last.size() == 1);
  CHECK(a.sink.last.begin()->first == b.sink.last.begin()->first);
  CHECK(a.sink.last.begin()->second.outsider_reads == b.sink.last.begin()->second.outsider_reads);
}

TEST_CASE("exceptions suppress matches and count what they suppressed", "[engine]") {
  const char* yaml = R"(- rule: reads
  kind: aggregate
  condition: action = read
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 2, sev: 4}]}
  exceptions:
    - {name: etl, owner: dp, reason: batch, expires: 2099-01-01, fields: [principal], values: [svc-etl]}
)";
  rules::RuleSet set;
  rules::Diagnostics d;
  rules::load_rules_string(yaml, "x.yaml", set, d);
  rules::check_rule_set(set, d);
  REQUIRE_FALSE(d.has_errors());
  auto ctx = rules::Context::builtin_default();
  struct All : rules::FindingSink {
    std::map<std::string, rules::Finding> last;
    void on_finding(const rules::Finding& f) override { last[f.group_key] = f; }
  } sink;
  rules::Engine engine(*ctx, set, sink);
  for (int i = 0; i < 3; ++i) {
    engine.process(read("svc-etl", "hive.a.t" + std::to_string(i), i * kMin));
    engine.process(read("dana", "hive.a.t" + std::to_string(i), i * kMin));
  }
  engine.finish();
  REQUIRE(sink.last.size() == 1);
  CHECK(sink.last.begin()->second.actors == std::vector<std::string>{"dana"});
  CHECK(sink.last.begin()->second.events == 3);
  CHECK(sink.last.begin()->second.sev_hint == 4);
  const auto stats = engine.exception_stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].suppressed == 3);
}

TEST_CASE("aggregate limits, lateness and first_seen baselines", "[engine]") {
  const char* yaml = R"(- rule: distinct
  kind: aggregate
  condition: action = read
  aggregate: {function: count_distinct, field: object, group_by: [principal], window: 10m,
              tiers: [{gte: 3, sev: 5}, {gte: 5, sev: 3}], max_groups: 1, overflow: drop_new,
              lateness: 1m}
- rule: novel
  kind: first_seen
  condition: action = read
  first_seen: {key: [principal, object.catalog], lookback: 30d, learn: 1d, sev: 4}
)";
  rules::RuleSet set;
  rules::Diagnostics d;
  rules::load_rules_string(yaml, "x.yaml", set, d);
  rules::check_rule_set(set, d);
  REQUIRE_FALSE(d.has_errors());
  auto ctx = rules::Context::builtin_default();
  struct All : rules::FindingSink {
    std::map<std::string, rules::Finding> last;
    void on_finding(const rules::Finding& f) override { last[f.group_key] = f; }
  } sink;
  std::string baseline;
  {
    rules::Engine engine(*ctx, set, sink);
    for (int i = 0; i < 6; ++i)
      engine.process(read("dana", "hive.a.t" + std::to_string(i), 30 * kMin + i * kMin));
    engine.process(read("eli", "hive.a.t1", 36 * kMin));   // max_groups 1: dropped
    engine.process(read("dana", "hive.a.t9", 30 * kMin));  // 6 min late: dropped
    engine.finish();
    const auto stats = engine.stateful_stats();
    REQUIRE(stats.size() == 2);
    CHECK(stats[0].groups_dropped == 1);
    CHECK(stats[0].late_dropped == 1);
    baseline = engine.serialize_baselines();
  }
  REQUIRE(sink.last.size() == 1);
  const auto& f = sink.last.begin()->second;
  CHECK(f.objects == 6);
  CHECK(f.sev_hint == 3);
  CHECK(f.group_key.rfind("distinct|dana@", 0) == 0);

  // The baseline survives a restart: dana/hive is known, eli/hr is new.
  All sink2;
  rules::Engine engine(*ctx, set, sink2);
  REQUIRE(engine.load_baselines(baseline));
  engine.process(read("dana", "hive.b.t1", 3 * 1440 * kMin));
  engine.process(read("eli", "hr.x.t1", 3 * 1440 * kMin));
  engine.finish();
  std::vector<std::string> novel;
  for (const auto& [k, x] : sink2.last) {
    if (x.rule_id == "novel") novel.push_back(k);
  }
  REQUIRE(novel.size() == 1);
  CHECK(novel[0].find("novel|eli|hr@") == 0);
}

TEST_CASE("a broader grant on objects already exposed joins the same finding", "[engine]") {
  Fixture f;
  f.engine->process(grant_db("mci_a", 10 * kMin));
  AccessEvent wider = grant_db("mci_a", 30 * kMin);
  wider.grant.grantees = {{detectors::GranteeKind::group, "allUsers"}};
  f.engine->process(wider);
  f.engine->finish();
  REQUIRE(f.sink.last.size() == 1);
  const auto& fin = f.sink.last.begin()->second;
  CHECK(fin.audience == Audience::internet);
  CHECK(fin.objects == 2);
  CHECK(fin.grantees == std::vector<std::string>{"allUsers", "public"});
}
