// `sevwatch run` keeps its rule engine's state: after kill -9 and a restart
// the exposure state, the open exposure findings (with their readers) and the
// first_seen baselines are those of a run that never stopped; SIGHUP (or a
// changed rule file with `rules_reload: watch`) swaps in recompiled rules
// without losing them, and refuses rules that do not compile.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "tests/app/daemon_runner.h"
#include "triage/incident_json.h"

using namespace sevwatch::testing;
namespace fs = std::filesystem;

namespace {

constexpr const char* kContext = R"(organization:
  principals: ["*"]
sensitivity:
  secret: high
audiences:
  company: [public]
groups:
  team: [alice, bob]
objects:
  - match: "c*.db1.*"
    sensitivity: secret
    owner: team
    audience: [team]
)";

constexpr const char* kEvidenceRule = R"(- rule: outsider_read_during_exposure
  title: "Exposed data read by principals outside its audience"
  description: test copy of the shipped rule
  status: stable
  owner: security
  kind: exposure_evidence
  condition: action in (read, export) and result = allowed
  evidence:
    attach_to: [broad_exposure_sensitive]
)";

constexpr const char* kFirstSeenRule = R"(- rule: first_reader
  title: "A principal read for the first time"
  description: learns for a minute of event time
  status: stable
  owner: security
  kind: first_seen
  condition: action = read
  first_seen:
    key: [principal]
    lookback: 30d
    learn: 1m
    sev: 4
)";

std::string grant(const std::string& catalog, const std::string& table, const std::string& at) {
  return fmt::format(
      R"({{"repoType":3,"repo":"{}","reqUser":"etl","evtTime":"2026-08-20 {}.000","access":"grant","resource":"db1/{}/*","resType":"@column","action":"grant","result":1,"reqData":"GRANT SELECT ON TABLE db1.{} TO GROUP public","id":"g-{}-{}"}})"
      "\n",
      catalog, at, table, table, catalog, table);
}

std::string read(const std::string& who, const std::string& object, const std::string& at) {
  const auto dot = object.find('.');
  const auto dot2 = object.find('.', dot + 1);
  const std::string catalog = object.substr(0, dot);
  const std::string db = object.substr(dot + 1, dot2 - dot - 1);
  const std::string table = object.substr(dot2 + 1);
  return fmt::format(
      R"({{"repoType":3,"repo":"{}","reqUser":"{}","evtTime":"2026-08-20 {}.000","access":"SELECT","resource":"{}/{}/a","resType":"@column","action":"select","result":1,"reqData":"SELECT a FROM {}.{}","id":"r-{}-{}"}})"
      "\n",
      catalog, who, at, db, table, db, table, who, at);
}

std::string run_yaml(const std::string& extra = "") {
  return R"(context: context.yaml
rules: [rules]
store: sqlite:live.db
flush_interval_ms: 100
)" + extra +
         R"(sources:
  - name: audit
    type: file
    format: ranger_audit
    paths: [audit.jsonl]
    poll_interval_ms: 20
)";
}

// Every incident of a store, as comparable text: its JSON (objects, readers,
// timeline) without the wall-clock fields, and its outbox events.
std::vector<std::string> incidents_as_text(const fs::path& db) {
  std::string error;
  auto store = sevwatch::triage::IncidentStore::open("sqlite:" + db.string(), error);
  REQUIRE(store);
  std::vector<std::string> out;
  for (const auto& summary : store->list(std::nullopt)) {
    auto inc = store->get(summary.id, true);
    REQUIRE(inc);
    auto o = sevwatch::triage::to_json(*inc, true);
    for (const char* wall : {"id", "detected_at", "updated_at", "metrics"}) o.erase(wall);
    std::string text = boost::json::serialize(o);
    for (const auto& e : store->list_outbox_events(inc->id)) {
      text += fmt::format("\n  outbox {} sev {} from {} at {} by {}: {}", e.event, e.sev,
                          e.from_sev ? std::to_string(*e.from_sev) : "-", e.at_ms, e.by, e.note);
    }
    out.push_back(std::move(text));
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Daemon {
  fs::path dir;
  fs::path err;
  pid_t pid = -1;
  void start() { pid = spawn({"run", "--config", (dir / "run.yaml").string()}, err); }
  fs::path db() const { return dir / "live.db"; }
  fs::path log() const { return dir / "audit.jsonl"; }
  // Waits until everything in the log file is committed.
  void caught_up() {
    const auto size = fs::file_size(log());
    INFO(read_file(err));
    REQUIRE(wait_for([&] { return checkpoint_offset(db(), "audit") == size; }, 30000));
  }
  bool logged(const std::string& text, int timeout_ms = 20000) const {
    return wait_for([&] { return read_file(err).find(text) != std::string::npos; }, timeout_ms);
  }
  int stop(int sig) {
    ::kill(pid, sig);
    return wait_exit(pid);
  }
};

Daemon make_daemon(const fs::path& dir, const std::string& rules, const std::string& extra = "") {
  write_file(dir / "context.yaml", kContext);
  write_file(dir / "rules" / "rules.yaml", rules);
  write_file(dir / "run.yaml", run_yaml(extra));
  write_file(dir / "audit.jsonl", "");
  return Daemon{dir, dir / "err.txt"};
}

// Before the stop: zed and carol teach the first_seen baseline in its learning
// minute (carol's read is of a known, unexposed object: only the baseline
// remembers her); a rollout exposes three tables of c1; alice, an intended
// reader, reads one.
const std::string kPhase1 = read("zed", "c2.db1.x", "09:00:00") +
                            read("carol", "c2.db1.x", "09:00:30") + grant("c1", "t1", "10:00:00") +
                            grant("c1", "t2", "10:00:05") + grant("c1", "t3", "10:00:10") +
                            read("alice", "c1.db1.t1", "10:01:00");
// After it: the rollout goes on (same incident), outsiders read exposed tables
// (evidence, escalation), alice reads again, carol is not new.
const std::string kPhase2 =
    grant("c1", "t4", "10:20:00") + read("dana", "c1.db1.t1", "10:21:00") +
    read("dana", "c1.db1.t4", "10:22:00") + read("eli", "c1.db1.t2", "10:23:00") +
    read("alice", "c1.db1.t1", "10:24:00") + read("carol", "c2.db1.x", "10:30:00");

}  // namespace

TEST_CASE("sevwatch run: kill -9 and restart keep the engine state (journal and baselines)",
          "[run][crash][journal]") {
  const std::string rules = run_exposure_rule() + kEvidenceRule + kFirstSeenRule;

  // The reference: one process that never stops, fed in the same two steps.
  TempDir ref_dir("run-state-ref");
  Daemon ref = make_daemon(ref_dir.path(), rules);
  append(ref.log(), kPhase1);
  ref.start();
  ref.caught_up();
  append(ref.log(), kPhase2);
  ref.caught_up();
  CHECK(ref.stop(SIGTERM) == 0);

  // Killed after the first step, restarted for the second.
  TempDir dir("run-state");
  Daemon d = make_daemon(dir.path(), rules);
  append(d.log(), kPhase1);
  d.start();
  d.caught_up();
  CHECK(d.stop(SIGKILL) == 128 + SIGKILL);
  auto exposure_incident = [&] {
    std::string error;
    auto store = sevwatch::triage::IncidentStore::open("sqlite:" + d.db().string(), error);
    REQUIRE(store);
    for (const auto& i : store->list(std::nullopt)) {
      if (i.rule == "broad_exposure_sensitive") return *store->get(i.id, true);
    }
    FAIL("no exposure incident");
    return sevwatch::triage::Incident{};
  };
  const int sev_at_kill = exposure_incident().sev;
  append(d.log(), kPhase2);
  d.start();
  d.caught_up();
  CHECK(d.stop(SIGTERM) == 0);
  const std::string text = read_file(d.err);
  INFO(text);
  CHECK(text.find("engine state restored: 0 journal event(s) replayed") != std::string::npos);
  // zed's read (a new object), three grants, alice's read of an exposed table;
  // not carol's read of a known, unexposed object.
  CHECK(text.find("engine state restored: 5 journal event(s) replayed") != std::string::npos);
  CHECK(text.find("first_seen baselines loaded") != std::string::npos);

  // The exposure incident (one: the grant after the restart joined it) has the
  // outsiders' reads as evidence and escalated; it is the same incident,
  // timeline and pages as the reference's.
  std::string error;
  auto store = sevwatch::triage::IncidentStore::open("sqlite:" + d.db().string(), error);
  REQUIRE(store);
  const auto all = store->list(std::nullopt);
  CHECK(std::count_if(all.begin(), all.end(),
                      [](const auto& i) { return i.rule == "broad_exposure_sensitive"; }) == 1);
  const auto inc = exposure_incident();
  CHECK(inc.objects == 4);
  CHECK(inc.evidence_class == "improper");
  CHECK(inc.outsiders == std::vector<std::string>{"dana", "eli"});
  CHECK(inc.outsider_reads == 3);
  REQUIRE(inc.readers.size() == 3);
  CHECK(inc.readers[0].principal == "alice");
  CHECK(inc.readers[0].reads == 2);  // one read before the kill, one after
  CHECK(inc.sev < sev_at_kill);
  CHECK(std::any_of(inc.timeline.begin(), inc.timeline.end(), [](const auto& e) {
    return e.kind == "evidence" && e.text.rfind("dana ", 0) == 0;
  }));
  // first_seen: carol is known from before the kill; dana and eli are new.
  std::vector<std::string> first_seen;
  for (const auto& i : all) {
    if (i.rule == "first_reader") first_seen.push_back(i.dedup_key);
  }
  CHECK(first_seen.size() == 3);  // alice (after the learning minute), dana, eli
  for (const auto& key : first_seen) CHECK(key.find("carol") == std::string::npos);

  CHECK(incidents_as_text(d.db()) == incidents_as_text(ref.db()));
}

TEST_CASE("sevwatch run: SIGHUP reloads the rules; broken rules are refused", "[run][reload]") {
  TempDir dir("run-reload");
  Daemon d = make_daemon(dir.path(), run_exposure_rule());
  append(d.log(), grant("c1", "t1", "10:00:00"));
  d.start();
  REQUIRE(d.logged("running: 1 source(s), 1 rule(s)"));
  d.caught_up();
  // Without an evidence rule an outsider's read is nobody's business.
  append(d.log(), read("dana", "c1.db1.t1", "10:05:00"));
  d.caught_up();

  // A new rule: outsiders' reads of exposed data become evidence.
  write_file(dir.path() / "rules" / "rules.yaml", run_exposure_rule() + kEvidenceRule);
  ::kill(d.pid, SIGHUP);
  REQUIRE(
      d.logged("rules reloaded (SIGHUP): 2 rule(s); exposure state rebuilt from 1 journal "
               "event(s)"));
  append(d.log(), read("eli", "c1.db1.t1", "10:10:00"));
  d.caught_up();
  auto show = [&] {
    std::string error;
    auto store = sevwatch::triage::IncidentStore::open("sqlite:" + d.db().string(), error);
    REQUIRE(store);
    auto inc = store->get(1, true);
    REQUIRE(inc);
    return *inc;
  };
  auto inc = show();
  CHECK(inc.evidence_class == "improper");
  CHECK(inc.outsiders == std::vector<std::string>{"eli"});  // dana read before the rule existed
  const int sev_after_reload = inc.sev;

  // A broken file: refused with FILE:LINE:COL, the old rules keep running.
  const auto broken = dir.path() / "rules" / "zz_broken.yaml";
  write_file(broken, "- rule: half_written\n  kind: exposure\n  exposure: {audiences: [galaxy]}\n");
  ::kill(d.pid, SIGHUP);
  REQUIRE(d.logged("rules reload (SIGHUP) refused"));
  const std::string text = read_file(d.err);
  INFO(text);
  CHECK(text.find(broken.string() + ":") != std::string::npos);
  CHECK(text.find(": error[") != std::string::npos);
  CHECK(text.find("still running the previous 2 rule(s) (1 reload(s) refused so far)") !=
        std::string::npos);

  append(d.log(), read("fern", "c1.db1.t1", "10:15:00") + grant("c9", "t1", "10:16:00"));
  d.caught_up();
  CHECK(::kill(d.pid, 0) == 0);  // still running
  inc = show();
  CHECK(inc.outsiders == std::vector<std::string>{"eli", "fern"});
  CHECK(inc.sev <= sev_after_reload);
  {
    std::string error;
    auto store = sevwatch::triage::IncidentStore::open("sqlite:" + d.db().string(), error);
    REQUIRE(store);
    CHECK(store->list(std::nullopt).size() == 2);  // c9's exposure: a new incident
  }
  CHECK(d.stop(SIGTERM) == 0);
  CHECK(read_file(d.err).find("rules reloaded 1 time(s), 1 reload(s) refused") !=
        std::string::npos);
}

TEST_CASE("sevwatch run: rules_reload: watch reloads when a rule file changes", "[run][reload]") {
  TempDir dir("run-watch");
  Daemon d = make_daemon(dir.path(), run_exposure_rule(), "rules_reload: watch\n");
  append(d.log(), grant("c1", "t1", "10:00:00"));
  d.start();
  REQUIRE(d.logged("and so does a change of a rule file"));
  d.caught_up();
  write_file(dir.path() / "rules" / "evidence.yaml", kEvidenceRule);
  REQUIRE(d.logged("rules reloaded (rule files changed): 2 rule(s)"));
  append(d.log(), read("eli", "c1.db1.t1", "10:10:00"));
  d.caught_up();
  std::string error;
  auto store = sevwatch::triage::IncidentStore::open("sqlite:" + d.db().string(), error);
  REQUIRE(store);
  CHECK(store->get(1, false)->outsiders == std::vector<std::string>{"eli"});
  CHECK(d.stop(SIGTERM) == 0);
}

namespace {

// One Ranger audit line of `who` on `resource` (db/table/column) at `minute`
// of 2026-08-20.
std::string ranger(const std::string& catalog, const std::string& who, const std::string& access,
                   const std::string& resource, const std::string& req, int minute) {
  return fmt::format(
      R"({{"repoType":3,"repo":"{}","reqUser":"{}","evtTime":"2026-08-20 {:02}:{:02}:00.000","access":"{}","resource":"{}","resType":"@column","action":"{}","result":1,"reqData":"{}","id":"{}-{}-{}"}})"
      "\n",
      catalog, who, minute / 60, minute % 60, access, resource,
      access == "SELECT" ? "select" : access, req, access, who, minute);
}

// Every 90 minutes one of three tables of c1 is granted to public, read by
// an intended reader and an outsider, and revoked ten minutes later.
std::string exposure_cycle(int i) {
  const int m = i * 90;
  const std::string t = "t" + std::to_string(i % 3);
  const std::string grant_sql = "TABLE db1." + t + " TO GROUP public";
  return ranger("c1", "etl", "grant", "db1/" + t + "/*", "GRANT SELECT ON " + grant_sql, m) +
         ranger("c1", "alice", "SELECT", "db1/" + t + "/a", "SELECT a FROM db1." + t, m + 1) +
         ranger("c1", "dana", "SELECT", "db1/" + t + "/a", "SELECT a FROM db1." + t, m + 2) +
         ranger("c1", "etl", "revoke", "db1/" + t + "/*",
                "REVOKE SELECT ON TABLE db1." + t + " FROM GROUP public", m + 10);
}

std::size_t journal_rows(const fs::path& db) {
  std::string error;
  auto store = sevwatch::triage::IncidentStore::open("sqlite:" + db.string(), error);
  if (!store) return 0;
  std::size_t n = 0;
  std::int64_t after = 0;
  for (;;) {
    const auto page = store->load_journal("run", after, 1000);
    if (page.empty()) break;
    n += page.size();
    after = page.back().seq;
  }
  return n;
}

}  // namespace

TEST_CASE("sevwatch run: the journal is compacted; kill -9 after it loses nothing",
          "[run][crash][journal][compaction]") {
  const std::string rules = run_exposure_rule() + kEvidenceRule;
  constexpr int kCycles = 12;
  constexpr int kBeforeKill = 8;
  // After the kill: the database granted as a whole reaches its three tables,
  // which only the compacted journal's mention rows still name.
  const std::string after_kill =
      ranger("c1", "etl", "grant", "db1/*/*", "GRANT SELECT ON DATABASE db1 TO GROUP public",
             kCycles * 90) +
      ranger("c1", "eli", "SELECT", "db1/t2/a", "SELECT a FROM db1.t2", kCycles * 90 + 1);

  // The reference: never compacted, never stopped.
  TempDir ref_dir("run-compact-ref");
  Daemon ref = make_daemon(ref_dir.path(), rules, "engine_state: {compact_every: 0}\n");
  ref.start();
  std::size_t written = 0;
  for (int i = 0; i < kCycles; ++i) {
    append(ref.log(), exposure_cycle(i));
    ref.caught_up();
  }
  append(ref.log(), after_kill);
  ref.caught_up();
  CHECK(ref.stop(SIGTERM) == 0);
  written = journal_rows(ref.db());
  CHECK(written == 4 * kCycles + 2);  // grant, two reads, revoke per cycle; grant, read

  // Compacted after every committed batch, killed, restarted.
  TempDir dir("run-compact");
  Daemon d =
      make_daemon(dir.path(), rules, "engine_state: {compact_every: 1, compact_lateness: 1m}\n");
  d.start();
  std::size_t most = 0;
  for (int i = 0; i < kBeforeKill; ++i) {
    append(d.log(), exposure_cycle(i));
    d.caught_up();
    // The cycles before the last are dead: their grants were revoked more than
    // the rollout gap (1h) before the newest event. What stays: three mention
    // rows (the tables) and the last cycle (its finding may still grow).
    INFO(read_file(d.err));
    CHECK(wait_for([&] { return journal_rows(d.db()) <= 3 + 4; }, 20000));
    most = std::max(most, journal_rows(d.db()));
  }
  CHECK(d.logged("journal compacted (periodic)"));
  CHECK(d.stop(SIGKILL) == 128 + SIGKILL);
  const std::size_t at_kill = journal_rows(d.db());
  d.start();
  for (int i = kBeforeKill; i < kCycles; ++i) {
    append(d.log(), exposure_cycle(i));
    d.caught_up();
  }
  append(d.log(), after_kill);
  d.caught_up();
  CHECK(d.stop(SIGTERM) == 0);
  const std::string text = read_file(d.err);
  INFO(text);
  CHECK(text.find("journal compacted (at start)") != std::string::npos);
  CHECK(text.find("and 3 mention row(s) in") != std::string::npos);  // the replay after the kill
  CHECK(text.find("removed by compaction") != std::string::npos);
  const std::size_t at_end = journal_rows(d.db());
  WARN(
      fmt::format("journal rows: {} written without compaction; with it at most {} before the "
                  "kill, {} at the kill, {} at the end",
                  written, most, at_kill, at_end));
  CHECK(most <= 3 + 4);
  CHECK(at_end <= 3 + 4 + 2);

  // The same incidents, timelines and pages as the reference's; the last
  // exposure (the whole database) reaches the three tables.
  CHECK(incidents_as_text(d.db()) == incidents_as_text(ref.db()));
  std::string error;
  auto store = sevwatch::triage::IncidentStore::open("sqlite:" + d.db().string(), error);
  REQUIRE(store);
  const auto all = store->list(std::nullopt);
  CHECK(all.size() == kCycles + 1);
  bool whole_db = false;
  for (const auto& i : all) whole_db = whole_db || (i.objects == 3 && i.outsiders.size() == 1);
  CHECK(whole_db);
}
