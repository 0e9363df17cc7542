#include "app/demo_generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <vector>

#include "detectors/event_time.h"

namespace sevwatch::app {
namespace {

namespace fs = std::filesystem;

// splitmix64: tiny, fast, and the same on every platform (std distributions
// are not), so the demo's files are byte-identical everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t s_;
};

struct Kind {
  const char* sensitivity;
  const char* table_prefix;
};
constexpr std::array<Kind, 4> kMciKinds = {{{"activity_capture", "capture"},
                                            {"prompts_transcripts", "transcript"},
                                            {"private_conversations", "conversation"},
                                            {"people_performance", "review"}}};

struct Team {
  const char* name;  // database prefix
  const char* group;
  const char* sensitivity;
  const char* table_prefix;
};
constexpr std::array<Team, 3> kTeams = {{{"ads", "ads-team", "confidential", "campaign"},
                                         {"sales", "sales-team", "confidential", "orders"},
                                         {"infra", "infra-team", "internal", "metrics"}}};
constexpr int kTeamDatabases = 10;  // per team: 3 x 10 x 500 = 15,000 tables
constexpr int kTeamMembers = 40;

struct Database {
  std::string name;
  std::string sensitivity;
  std::string owner;
  std::string table_prefix;
  int team;  // index into kTeams, or -1 for mci
};

std::vector<Database> databases() {
  std::vector<Database> dbs;
  std::array<int, 4> per_kind{};
  for (int i = 0; i < kDemoMciDatabases; ++i) {
    const auto& k = kMciKinds[i % 4];
    dbs.push_back(Database{fmt::format("mci_{}_{:02}", k.sensitivity, ++per_kind[i % 4]),
                           k.sensitivity, "mci-eng", k.table_prefix, -1});
  }
  for (int t = 0; t < static_cast<int>(kTeams.size()); ++t) {
    for (int i = 1; i <= kTeamDatabases; ++i) {
      dbs.push_back(Database{fmt::format("{}_{:02}", kTeams[t].name, i), kTeams[t].sensitivity,
                             kTeams[t].group, kTeams[t].table_prefix, t});
    }
  }
  return dbs;
}

std::string table_name(const Database& db, int t) {
  return fmt::format("{}_{:04}", db.table_prefix, t + 1);
}

std::vector<std::string> mci_members() {
  std::vector<std::string> m = {"alice", "bob", "svc-mci-collector", kDemoPipelinePrincipal};
  for (int i = 1; i <= 8; ++i) m.push_back(fmt::format("mci-eng-{:02}", i));
  return m;
}

std::vector<std::string> team_members(int team) {
  std::vector<std::string> m;
  for (int i = 1; i <= kTeamMembers; ++i)
    m.push_back(fmt::format("{}-{:02}", kTeams[team].name, i));
  if (kTeams[team].name == std::string_view("sales")) {
    // The three employees of the --outsiders variant work in sales.
    m.insert(m.end(), {"dana", "eli", "fern"});
  }
  return m;
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

void write_context(const fs::path& dir, const std::vector<Database>& dbs) {
  std::string csv = "object,sensitivity,owner,audience\n";
  for (const auto& db : dbs) {
    const std::string audience = db.team < 0 ? "mci-eng;security" : db.owner;
    for (int t = 0; t < kDemoTablesPerDatabase; ++t) {
      fmt::format_to(std::back_inserter(csv), "{}.{}.{},{},{},{}\n", kDemoService, db.name,
                     table_name(db, t), db.sensitivity, db.owner, audience);
    }
  }
  write_text(dir / "inventory.csv", csv);

  std::string yaml = R"(# sevwatch demo context: the warehouse of spec/scenario-mci.md.
organization:
  domains: [example.com]
  principals: ["*"]
sensitivity:
  activity_capture: high
  prompts_transcripts: high
  private_conversations: high
  people_performance: high
  confidential: medium
  internal: low
audiences:
  internet: [allUsers, AllUsers, "*"]
  external: [allAuthenticatedUsers, AuthenticatedUsers]
  company: [public, PUBLIC, all_employees, "account users", IAM_ALLOWED_PRINCIPALS]
  department: [eng-all, sales-all]
groups:
)";
  auto list = [](const std::vector<std::string>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s + "]";
  };
  yaml += "  mci-eng: " + list(mci_members()) + "\n";
  yaml += "  security: [sec-oncall]\n";
  for (int t = 0; t < static_cast<int>(kTeams.size()); ++t) {
    yaml += fmt::format("  {}: {}\n", kTeams[t].group, list(team_members(t)));
  }
  yaml += R"(objects_csv: inventory.csv
objects:
  - match: "dw_hive.mci_*"
    sensitivity: prompts_transcripts
    owner: mci-eng
    audience: [mci-eng, security]
  - match: "*"
    sensitivity: internal
)";
  write_text(dir / "context.yaml", yaml);
}

// One audit record, before it is rendered.
struct Record {
  std::int64_t time_ms;
  std::string user;
  std::string db;
  std::string table;  // empty for database-level records
  enum Type { read, denied_read, write, grant_db, grant_table } type;
  std::string grantee;
};

std::string evt_time(std::int64_t ms) {
  // "2026-08-20T10:00:00.000Z" -> "2026-08-20 10:00:00.000" (Ranger's zone-less form)
  std::string s = detectors::format_rfc3339_ms(ms);
  s[10] = ' ';
  s.pop_back();
  return s;
}

void render(const Record& r, std::uint64_t seq, Rng& rng, std::string& out) {
  std::string_view access, action, res_type;
  std::string resource, req;
  int result = 1;
  int policy = 10 + static_cast<int>(rng.below(40));
  switch (r.type) {
    case Record::read:
    case Record::denied_read:
      access = "SELECT";
      action = "select";
      res_type = "@table";
      resource = r.db + "/" + r.table;
      req = fmt::format("SELECT * FROM {}.{} WHERE dt = '2026-08-19' LIMIT 1000", r.db, r.table);
      if (r.type == Record::denied_read) {
        result = 0;
        policy = -1;
      }
      break;
    case Record::write:
      access = "UPDATE";
      action = "update";
      res_type = "@table";
      resource = r.db + "/" + r.table;
      req = fmt::format("INSERT INTO {}.{} SELECT * FROM staging.batch_{}", r.db, r.table,
                        rng.below(1000));
      break;
    case Record::grant_db:
      access = "grant";
      action = "grant";
      res_type = "@column";
      resource = r.db + "/*/*";
      req = fmt::format("GRANT SELECT ON DATABASE {} TO GROUP {}", r.db, r.grantee);
      policy = 5;
      break;
    case Record::grant_table:
      access = "grant";
      action = "grant";
      res_type = "@column";
      resource = r.db + "/" + r.table + "/*";
      req = fmt::format("GRANT SELECT ON TABLE {}.{} TO GROUP {}", r.db, r.table, r.grantee);
      policy = 5;
      break;
  }
  const auto ip = rng.next();
  fmt::format_to(
      std::back_inserter(out),
      R"({{"repoType":3,"repo":"{}","reqUser":"{}","evtTime":"{}","access":"{}","resource":"{}",)"
      R"("resType":"{}","action":"{}","result":{},"agent":"hiveServer2","policy":{},)"
      R"("enforcer":"ranger-acl","sess":"{:016x}","cliType":"HIVESERVER2","cliIP":"10.{}.{}.{}",)"
      R"("reqData":"{}","agentHost":"hs2-{:02}.dw.example.internal","logType":"RangerAudit",)"
      R"("id":"5b1e7c0a-2f4d-4c8e-a1b2-{:012x}-{}","seq_num":{},"event_count":1,"event_dur_ms":0,)"
      R"("cluster_name":"dw","policy_version":1}})"
      "\n",
      kDemoService, r.user, evt_time(r.time_ms), access, resource, res_type, action, result, policy,
      rng.next(), (ip >> 8) % 250 + 1, (ip >> 16) % 250 + 1, (ip >> 24) % 250 + 1, req, ip % 4 + 1,
      seq & 0xffffffffffffULL, seq, seq);
}

}  // namespace

DemoFiles write_demo(const fs::path& dir, const DemoOptions& options) {
  fs::create_directories(dir / "logs");
  const auto dbs = databases();
  write_context(dir, dbs);

  Rng rng(options.seed);
  const std::int64_t day = detectors::to_epoch_ms(2026, 8, 20, 0, 0, 0, 0);
  const std::int64_t hour_ms = 3'600'000;
  const auto mci = mci_members();
  std::vector<std::vector<std::string>> teams;
  for (int t = 0; t < static_cast<int>(kTeams.size()); ++t) teams.push_back(team_members(t));
  const std::size_t first_team_db = kDemoMciDatabases;

  std::vector<std::vector<Record>> hours(24);
  // Ordinary traffic: each team reads (and its services write) its own tables;
  // a few reads of other teams' tables are denied.
  for (std::uint64_t i = 0; i < options.ordinary_events; ++i) {
    const std::int64_t t = day + static_cast<std::int64_t>(rng.below(24 * hour_ms));
    Record r{t, {}, {}, {}, Record::read, {}};
    const auto pick = rng.below(1000);
    const int tab = static_cast<int>(rng.below(kDemoTablesPerDatabase));
    if (pick < 250) {  // the program's own engineers and services on mci data
      const auto& db = dbs[rng.below(kDemoMciDatabases)];
      r.user = mci[rng.below(mci.size())];
      r.db = db.name;
      r.table = table_name(db, tab);
      if (rng.below(10) == 0) r.type = Record::write;
    } else {
      const int team = static_cast<int>(rng.below(kTeams.size()));
      const auto& members = teams[team];
      r.user = members[rng.below(kTeamMembers)];  // dana, eli and fern stay quiet here
      int db_index = static_cast<int>(first_team_db) + team * kTeamDatabases +
                     static_cast<int>(rng.below(kTeamDatabases));
      if (pick >= 995) {  // someone tries another team's table: denied
        const int other = (team + 1 + static_cast<int>(rng.below(kTeams.size() - 1))) %
                          static_cast<int>(kTeams.size());
        db_index = static_cast<int>(first_team_db) + other * kTeamDatabases +
                   static_cast<int>(rng.below(kTeamDatabases));
        r.type = Record::denied_read;
      } else if (pick >= 960) {
        r.type = Record::write;
      }
      r.db = dbs[db_index].name;
      r.table = table_name(dbs[db_index], tab);
    }
    hours[static_cast<std::size_t>((t - day) / hour_ms)].push_back(std::move(r));
  }
  // Narrow grants: a team lead shares one table with another team.
  for (int i = 0; i < 24; ++i) {
    const int team = i % static_cast<int>(kTeams.size());
    const int other = (team + 1) % static_cast<int>(kTeams.size());
    const auto& db = dbs[first_team_db + team * kTeamDatabases + rng.below(kTeamDatabases)];
    const std::int64_t t = day + i * hour_ms + static_cast<std::int64_t>(rng.below(hour_ms));
    hours[static_cast<std::size_t>(i)].push_back(
        Record{t, teams[team][0], db.name,
               table_name(db, static_cast<int>(rng.below(kDemoTablesPerDatabase))),
               Record::grant_table, kTeams[other].group});
  }
  // 10:00: the misconfigured rollout grants every mci database to `public`,
  // one statement every 10 s for 15 minutes.
  const std::int64_t rollout = day + 10 * hour_ms;
  for (int i = 0; i < kDemoMciDatabases; ++i) {
    hours[10].push_back(Record{rollout + i * 10'000 + static_cast<std::int64_t>(rng.below(500)),
                               kDemoPipelinePrincipal,
                               dbs[i].name,
                               {},
                               Record::grant_db,
                               "public"});
  }
  if (options.outsiders) {
    // 11:00-12:00: three employees outside the audience read 12 mci tables.
    const std::array<std::pair<const char*, int>, 3> readers = {
        {{"dana", 5}, {"eli", 4}, {"fern", 3}}};
    int n = 0;
    for (const auto& [who, count] : readers) {
      for (int k = 0; k < count; ++k, ++n) {
        const auto& db = dbs[static_cast<std::size_t>(n * 7 % kDemoMciDatabases)];
        hours[11].push_back(
            Record{day + 11 * hour_ms + n * 240'000 + static_cast<std::int64_t>(rng.below(60'000)),
                   who,
                   db.name,
                   table_name(db, n * 37 % kDemoTablesPerDatabase),
                   Record::read,
                   {}});
      }
    }
  }

  DemoFiles files{dir / "context.yaml", dir / "inventory.csv", dir / "logs", 0, rollout};
  files.first_grant_ms = std::numeric_limits<std::int64_t>::max();
  for (const auto& r : hours[10]) {
    if (r.type == Record::grant_db)
      files.first_grant_ms = std::min(files.first_grant_ms, r.time_ms);
  }
  std::uint64_t seq = 0;
  std::string buf;
  for (int h = 0; h < 24; ++h) {
    auto& recs = hours[static_cast<std::size_t>(h)];
    std::stable_sort(recs.begin(), recs.end(),
                     [](const Record& a, const Record& b) { return a.time_ms < b.time_ms; });
    buf.clear();
    buf.reserve(recs.size() * 480);
    for (const auto& r : recs) render(r, ++seq, rng, buf);
    write_text(dir / "logs" / fmt::format("ranger-audit-2026-08-20-{:02}.jsonl", h), buf);
    files.events += recs.size();
  }
  return files;
}

}  // namespace sevwatch::app
