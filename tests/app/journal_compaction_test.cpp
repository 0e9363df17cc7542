// The grant journal's compaction (app/journal_compaction.h), on SQLite and,
// when SEVWATCH_TEST_PG_URL names a server, PostgreSQL: grants revoked long
// ago go with their revokes and the reads of their exposure, objects they
// named first stay known as mention rows, a live exposure keeps every row;
// and replaying the compacted journal rebuilds the same exposure state and
// gives the same findings for the events that follow as the full journal.
#include "app/journal_compaction.h"

#include <fmt/format.h>

#include <array>
#include <catch2/catch.hpp>
#include <map>

#include "app/event_journal.h"
#include "app/live_engine.h"
#include "tests/triage/store_test_support.h"

using namespace sevwatch;
using detectors::AccessEvent;
using detectors::Action;
using detectors::ObjectLevel;

namespace {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kT0 = 1'787'184'000'000;  // 2026-08-20T00:00:00Z

constexpr const char* kContext = R"(organization:
  principals: ["*"]
sensitivity:
  secret: high
audiences:
  company: [public]
groups:
  team: [alice, bob]
objects:
  - match: "c1.db1.t1"
    sensitivity: secret
    owner: team
    audience: [team]
  - match: "c2.db1.t1"
    sensitivity: secret
    owner: team
    audience: [team]
  - match: "c4.db1.t1"
    sensitivity: secret
    owner: team
    audience: [team]
  - match: "c5.db1.t1"
    sensitivity: secret
    owner: team
    audience: [team]
  - match: "c*.db1.*"
    sensitivity: secret
    owner: team
    audience: [team]
)";

const std::string kRules = R"(- rule: broad_exposure
  title: exposure
  description: d
  owner: security
  kind: exposure
  condition: action in (grant, revoke)
  exposure:
    audiences: [internet, external, company, department]
    min_level: medium
    group_by: [catalog, audience]
    rollout_gap: 1h
- rule: outsider_read
  title: evidence
  description: d
  owner: security
  kind: exposure_evidence
  condition: action in (read, export) and result = allowed
  evidence:
    attach_to: [broad_exposure]
- rule: busy_reader
  title: many reads
  description: d
  owner: security
  kind: aggregate
  condition: action = read
  aggregate:
    function: count
    group_by: [principal]
    window: 10m
    tiers: [{gte: 2, sev: 4}, {gte: 3, sev: 3}]
- rule: not_reverted
  title: grant not reverted
  description: d
  owner: security
  kind: sequence
  sequence:
    by: [grant.target, grantee]
    group_by: [principal]
    within: 15m
    absent: true
    steps:
      - name: grant
        condition: action = grant and grantee = public
      - name: revoke
        condition: action = revoke
)";

AccessEvent grant(Action action, const std::string& schema, std::int64_t minute) {
  AccessEvent e;
  e.time_ms = kT0 + minute * kMin;
  e.action = action;
  e.result = detectors::Result::allowed;
  e.format = "ranger_audit";
  e.pos = {"/var/log/ranger/audit.jsonl", static_cast<std::uint64_t>(minute), 0};
  e.principal = "etl";
  e.grant.privileges = {"SELECT"};
  e.grant.grantees.push_back({detectors::GranteeKind::group, "public"});
  e.grant.target = {schema, ObjectLevel::schema, ""};
  e.object = e.grant.target;
  e.query = fmt::format("{} SELECT ON DATABASE {} {} GROUP public",
                        action == Action::grant ? "GRANT" : "REVOKE", schema,
                        action == Action::grant ? "TO" : "FROM");
  return e;
}

AccessEvent read(const std::string& who, const std::string& object, std::int64_t minute) {
  AccessEvent e;
  e.time_ms = kT0 + minute * kMin;
  e.action = Action::read;
  e.result = detectors::Result::allowed;
  e.format = "ranger_audit";
  e.principal = who;
  e.object = {object, ObjectLevel::table, ""};
  e.query = "SELECT secret_column FROM " + object + " WHERE patient = 'Jane Roe'";
  e.client_ip = "10.1.2.3";
  e.session = "s-" + who;
  return e;
}

std::string describe(const rules::Finding& f) {
  std::string s = fmt::format(
      "{} {} [{}..{}] objects {} new [{}] sens [{}] grantees [{}] actors [{}] active {} evidence "
      "{} events {} outsider_reads {} outsiders [{}] sev_hint {}",
      f.rule_id, f.group_key, f.first_ms, f.last_ms, f.objects, fmt::join(f.new_objects, ","),
      fmt::join(f.sensitivity, ","), fmt::join(f.grantees, ","), fmt::join(f.actors, ","),
      f.exposure_active, rules::to_string(f.evidence), f.events, f.outsider_reads,
      fmt::join(f.outsiders, ","), f.sev_hint ? *f.sev_hint : -1);
  for (const auto& r : f.readers) {
    s += fmt::format("\n  reader {} reads {} objects {} outsider {} [{}..{}]", r.principal, r.reads,
                     r.objects, r.outsider, r.first_ms, r.last_ms);
  }
  for (const auto& n : f.notes) s += fmt::format("\n  note {} {}: {}", n.at_ms, n.kind, n.text);
  return s;
}

struct Record final : rules::FindingSink {
  std::vector<std::string> seen;
  std::map<std::string, std::vector<std::string>> by_key;  // each finding's updates, in order
  void on_finding(const rules::Finding& f) override {
    seen.push_back(describe(f));
    by_key[f.group_key].push_back(seen.back());
  }
};

std::vector<triage::JournalRow> load_all(triage::IncidentStore& store) {
  std::vector<triage::JournalRow> all;
  std::int64_t after = 0;
  for (;;) {
    auto page = store.load_journal("run", after, 1000);
    if (page.empty()) break;
    after = page.back().seq;
    all.insert(all.end(), page.begin(), page.end());
  }
  return all;
}

// An engine rebuilt from journal rows, as `run` does at start.
struct Replayed {
  Record sink;
  rules::Engine engine;
  Replayed(const rules::Context& ctx, const rules::RuleSet& set,
           const std::vector<triage::JournalRow>& rows)
      : engine(ctx, set, sink) {
    AccessEvent e;
    app::ReplayCounts counts;
    for (const auto& row : rows) app::replay_journal_row(engine, row, e, counts);
    engine.flush();
    CHECK(counts.undecodable == 0);
    sink.seen.clear();  // muted, as at start
    sink.by_key.clear();
  }
  std::vector<std::string> feed(const std::vector<AccessEvent>& events) {
    for (const auto& e : events) engine.process(e);
    engine.flush();
    return sink.seen;
  }
  // The same, as each finding's updates in order: flush() reports different
  // findings in an order that is not state (the store merges them by key).
  std::map<std::string, std::vector<std::string>> feed_by_key(
      const std::vector<AccessEvent>& events) {
    feed(events);
    return sink.by_key;
  }
};

// One journal row, short: "grant c1.db1", "read dana c1.db1.t1", "mention c1.db1.t1,".
std::string row_text(const triage::JournalRow& row) {
  std::vector<std::string> names;
  if (app::decode_journal_mention(row.event, names)) {
    return fmt::format("mention {}", fmt::join(names, ","));
  }
  AccessEvent e;
  REQUIRE(app::decode_journal_event(row.event, e));
  if (e.action == Action::read) return fmt::format("read {} {}", e.principal, e.object.name);
  return fmt::format("{} {}", detectors::to_string(e.action), e.grant.target.name);
}

struct Setup {
  std::unique_ptr<rules::Context> ctx;
  rules::RuleSet set;
  explicit Setup(const std::string& extra = "") {
    rules::Diagnostics d;
    ctx = rules::Context::load_string(kContext, "ctx.yaml", d);
    rules::load_rules_string(kRules + extra, "rules.yaml", set, d);
    rules::check_rule_set(set, d);
    INFO(d.to_text());
    REQUIRE(ctx);
    REQUIRE_FALSE(d.has_errors());
    REQUIRE(set.rules.size() == (extra.empty() ? 4u : 5u));
  }
};

}  // namespace

TEMPLATE_TEST_CASE("journal compaction: what goes, what stays, and replay gives the same state",
                   "[journal][compaction]", sevwatch::testing::SqliteBackend,
                   sevwatch::testing::PgBackend) {
  TestType b;
  if (!b.available()) return;
  auto store = sevwatch::testing::open_store_at(b.url());
  Setup s;
  Record live_sink;
  app::LiveEngine live(*s.ctx, std::make_unique<rules::RuleSet>(s.set), live_sink, *store, "run");
  auto batch = [&](const std::vector<AccessEvent>& events) {
    for (const auto& e : events) live.process(e);
    live.flush();
    store->begin();
    live.save_state(1);
    store->commit();
    live.state_saved();
  };

  using A = Action;
  // Long ago: two exposures, read and revoked; an unexposed object seen.
  batch({grant(A::grant, "c1.db1", 0), read("dana", "c1.db1.t1", 5), read("alice", "c1.db1.t1", 6),
         read("dana", "c1.db1.t2", 7), grant(A::revoke, "c1.db1", 10)});
  batch({grant(A::grant, "c2.db1", 20), read("eli", "c2.db1.t1", 25),
         grant(A::revoke, "c2.db1", 30), read("bob", "c3.db1.x", 40),
         read("bob", "c3.db1.x", 50)});  // known and unexposed: not journaled
  // Now: an exposure still open, and one revoked within its rollout gap.
  batch({grant(A::grant, "c4.db1", 300), read("dana", "c4.db1.t1", 305),
         read("alice", "c4.db1.t1", 306), read("dana", "c4.db1.t1", 307)});
  batch({grant(A::grant, "c5.db1", 330), read("fern", "c5.db1.t1", 331),
         grant(A::revoke, "c5.db1", 335)});

  const auto full = load_all(*store);
  std::vector<std::string> full_text;
  for (const auto& r : full) full_text.push_back(row_text(r));
  CHECK(full_text == std::vector<std::string>{
                         "grant c1.db1", "read dana c1.db1.t1", "read alice c1.db1.t1",
                         "read dana c1.db1.t2", "revoke c1.db1", "grant c2.db1",
                         "read eli c2.db1.t1", "revoke c2.db1", "read bob c3.db1.x", "grant c4.db1",
                         "read dana c4.db1.t1", "read alice c4.db1.t1", "read dana c4.db1.t1",
                         "grant c5.db1", "read fern c5.db1.t1", "revoke c5.db1"});
  // No rule reads them: no query text, session, client address or source position.
  for (const auto& r : full) {
    INFO(r.event);
    CHECK(r.event.find("ON DATABASE") == std::string::npos);
    CHECK(r.event.find("secret_column") == std::string::npos);
    CHECK(r.event.find("Jane") == std::string::npos);
    CHECK(r.event.find("10.1.2.3") == std::string::npos);
    CHECK(r.event.find("audit.jsonl") == std::string::npos);
  }

  // The newest event is at 05:35; events may come up to an hour late.
  const auto c = live.compact(60 * kMin);
  REQUIRE(c);
  CHECK(c->plan.level == 0);
  CHECK(c->plan.floor_ms == kT0 + 275 * kMin);
  CHECK(c->removed == 7);
  CHECK(c->plan.to_mentions == 2);
  CHECK(c->plan.live_findings == 2);  // c4 (exposed) and c5 (a grant may still join it)
  const auto compacted = load_all(*store);
  std::vector<std::string> compacted_text;
  for (const auto& r : compacted) compacted_text.push_back(row_text(r));
  CHECK(compacted_text == std::vector<std::string>{
                              "mention c1.db1.t2", "mention c3.db1.x", "grant c4.db1",
                              "read dana c4.db1.t1", "read alice c4.db1.t1", "read dana c4.db1.t1",
                              "grant c5.db1", "read fern c5.db1.t1", "revoke c5.db1"});
  CHECK(live.journal_rows_removed() == 7);

  // Rebuilt from either journal: the same exposure state...
  Replayed from_full(*s.ctx, s.set, full);
  Replayed from_compacted(*s.ctx, s.set, compacted);
  const auto floor = c->plan.floor_ms;
  CHECK(from_compacted.engine.exposure_snapshot(floor).text ==
        from_full.engine.exposure_snapshot(floor).text);
  CHECK(from_compacted.engine.exposure().object_count() ==
        from_full.engine.exposure().object_count());

  // ...and the same findings for what comes next: c1 exposed again reaches
  // both its tables, the one the context lists and the one seen long ago; dana's third read of c4
  // counts her earlier two; a grant of c5 within its rollout gap joins its finding; grants not
  // reverted within 15 minutes; a burst of reads.
  const std::vector<AccessEvent> next{
      grant(A::grant, "c1.db1", 360), read("gina", "c1.db1.t1", 361),
      read("dana", "c4.db1.t1", 362), grant(A::revoke, "c4.db1", 363),
      grant(A::grant, "c5.db1", 364), read("hugo", "c2.db1.t1", 365),
      read("hugo", "c2.db1.t1", 366), read("hugo", "c3.db1.x", 367),
      read("alice", "c4.db1.t1", 400)};
  const auto want = from_full.feed(next);
  const auto got = from_compacted.feed(next);
  CHECK(got == want);
  const std::string all = fmt::format("{}", fmt::join(want, "\n"));
  INFO(all);
  CHECK(all.find("objects 2 new [c1.db1.t1,c1.db1.t2]") != std::string::npos);
  CHECK(all.find("reader dana reads 3 objects 1") != std::string::npos);
  CHECK(all.find("broad_exposure|c5|company@2026-08-20T05:30:00.000Z") != std::string::npos);
  CHECK(all.find("not_reverted") != std::string::npos);
  CHECK(all.find("busy_reader|hugo") != std::string::npos);

  // A second compaction finds nothing more to drop; it still checks.
  const auto again = live.compact(60 * kMin);
  REQUIRE(again);
  CHECK(again->removed == 0);
  CHECK(again->plan.rewrite.empty());
  CHECK(load_all(*store).size() == compacted.size());
}

TEST_CASE("journal compaction: rows stay within the rules' windows", "[journal][compaction]") {
  Setup s;
  // An old grant, a read and the revoke; then a burst of reads (each naming a
  // table first) that began long ago and has not stopped.
  std::vector<triage::JournalRow> rows;
  auto add = [&](const AccessEvent& e) {
    rows.push_back(triage::JournalRow{static_cast<std::int64_t>(rows.size() + 1), e.time_ms,
                                      app::encode_journal_event(e)});
  };
  add(grant(Action::grant, "c1.db1", 0));
  add(read("dana", "c1.db1.t9", 1));
  add(grant(Action::revoke, "c1.db1", 2));
  for (int m = 100; m <= 300; m += 5) add(read("zed", "c9.db1.t" + std::to_string(m), m));
  const auto plan = app::plan_compaction(rows, *s.ctx, s.set, app::CompactionSettings{0, 0});
  CHECK(plan.level == 0);
  // The grant and revoke go, the read becomes a mention row; the burst stays
  // whole (its aggregate finding keeps its first read, so its key), without
  // its query text.
  CHECK(plan.remove == std::vector<std::int64_t>{1, 3});
  CHECK(plan.to_mentions == 1);
  CHECK(plan.kept == rows.size() - 3);
  CHECK(plan.stripped == rows.size() - 3);

  // A gap longer than the window (10m) ends a burst: the reads before it go
  // (mention rows: they named their tables first).
  rows.erase(rows.begin() + 23, rows.begin() + 34);  // the reads from 200 to 250
  const auto plan2 = app::plan_compaction(rows, *s.ctx, s.set, app::CompactionSettings{0, 0});
  CHECK(plan2.remove == std::vector<std::int64_t>{1, 3});
  CHECK(plan2.kept == 10);  // 255 to 300
  CHECK(plan2.to_mentions == 21);

  // 100 minutes later only the newest row stays whole (the clock of the
  // absence rule).
  const auto late =
      app::plan_compaction(rows, *s.ctx, s.set, app::CompactionSettings{kT0 + 400 * kMin, 0});
  CHECK(late.kept == 1);
  CHECK(late.to_mentions == rows.size() - 3);
}

TEST_CASE("journal compaction: random journals replay to the same findings",
          "[journal][compaction]") {
  // Grants and revokes of tables and databases to two broad grantees, reads
  // by readers inside and outside the audience, with time running on (and
  // now and then a little back): whatever the compaction keeps, the engine
  // rebuilt from it reports what the one rebuilt from the full journal does
  // for the events that follow (from the floor on).
  // Also with a rule that sees the exposure state (object.exposed): then a
  // dropped grant may not surround a kept row.
  const bool sees_exposure = GENERATE(false, true);
  Setup s(sees_exposure ? R"(- rule: exposed_reads
  title: reads of exposed objects
  description: d
  owner: security
  kind: aggregate
  condition: action = read and object.exposed = true
  aggregate:
    group_by: [object]
    window: 20m
    lateness: 5m
    tiers: [{gte: 2, sev: 3}]
)"
                        : "");
  INFO("a rule sees the exposure state: " << sees_exposure);
  sevwatch::testing::TempDir dir(sees_exposure ? "compaction-random-x" : "compaction-random");
  auto store = sevwatch::testing::open_store_at("sqlite:" + (dir.path() / "j.db").string());
  std::uint64_t state = 42;
  auto next = [&](std::uint64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % n;
  };
  const std::vector<std::string> people{"alice", "bob", "dana", "eli"};
  auto random_event = [&](std::int64_t minute) {
    const std::string catalog = "c" + std::to_string(1 + next(3));
    const std::string table = catalog + ".db1.t" + std::to_string(next(4));
    switch (next(6)) {
      case 0:
      case 1: {
        auto e = grant(next(3) == 0 ? Action::revoke : Action::grant,
                       next(2) == 0 ? catalog + ".db1" : table, minute);
        if (e.grant.target.name == table) e.grant.target.level = ObjectLevel::table;
        e.object = e.grant.target;
        if (next(3) == 0) e.grant.grantees[0].name = "allUsers";
        return e;
      }
      default:
        return read(people[next(people.size())], table, minute);
    }
  };
  std::size_t rows_before = 0, rows_after = 0, checked = 0;
  std::array<int, 4> levels{};
  for (int round = 0; round < 300; ++round) {
    Record live_sink;
    const std::string name = "r" + std::to_string(round);
    app::LiveEngine live(*s.ctx, std::make_unique<rules::RuleSet>(s.set), live_sink, *store, name);
    std::int64_t minute = 0;
    const int n = 20 + static_cast<int>(next(120));
    for (int i = 0; i < n; ++i) {
      minute += static_cast<std::int64_t>(next(40)) - 3;  // sometimes a little back
      live.process(random_event(minute));
    }
    live.flush();
    store->begin();
    live.save_state(1);
    store->commit();
    live.state_saved();
    std::vector<triage::JournalRow> full;
    for (std::int64_t after = 0;;) {
      auto page = store->load_journal(name, after, 1000);
      if (page.empty()) break;
      after = page.back().seq;
      full.insert(full.end(), page.begin(), page.end());
    }
    const auto plan = app::plan_compaction(full, *s.ctx, s.set,
                                           app::CompactionSettings{kT0 + minute * kMin, 30 * kMin});
    INFO("round " << round << ", plan level " << plan.level);
    ++levels[static_cast<std::size_t>(plan.level)];
    std::vector<triage::JournalRow> compacted;
    for (const auto& row : full) {
      if (std::find(plan.remove.begin(), plan.remove.end(), row.seq) != plan.remove.end()) continue;
      auto kept = row;
      for (const auto& r : plan.rewrite) {
        if (r.seq == row.seq) kept.event = r.event;
      }
      compacted.push_back(kept);
    }
    rows_before += full.size();
    rows_after += compacted.size();
    Replayed from_full(*s.ctx, s.set, full);
    Replayed from_compacted(*s.ctx, s.set, compacted);
    std::vector<AccessEvent> following;
    std::int64_t t = (plan.floor_ms - kT0) / kMin;
    for (int i = 0; i < 60; ++i) {
      t += static_cast<std::int64_t>(next(20));
      following.push_back(random_event(t));
    }
    const auto want = from_full.feed_by_key(following);
    const auto got = from_compacted.feed_by_key(following);
    CHECK(got.size() == want.size());
    for (const auto& [key, updates] : want) {
      INFO(key);
      const auto it = got.find(key);
      REQUIRE(it != got.end());
      CHECK(it->second == updates);
    }
    checked += want.size();
  }
  WARN("random journals: " << rows_before << " rows, " << rows_after << " after compaction; "
                           << checked << " findings compared; plan levels 0-3: " << levels[0]
                           << ", " << levels[1] << ", " << levels[2] << ", " << levels[3]);
  CHECK(rows_after < rows_before);
  // Overlapping exposures are common in these journals, yet most take the
  // full plan and none has to fall back to stripping text only.
  CHECK(levels[0] >= 250);
  CHECK(levels[3] == 0);
}
