// The real binary: `sevwatch notify run` SIGKILLed while sending to a slow
// receiver, then restarted. Every page arrives, none under an unexpected key,
// triggers before resolves; the silence CLI.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <map>
#include <set>

#include "tests/app/cli_runner.h"
#include "tests/notify/notify_world.h"

extern char** environ;

using namespace sevwatch;
using namespace sevwatch::testing;

namespace {

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> full{SEVWATCH_BINARY};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return pid;
}

// Waits for the child; -1 when it did not exit within `ms`.
int wait_exit(pid_t pid, int ms) {
  for (int waited = 0; waited < ms; waited += 20) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

}  // namespace

TEST_CASE("kill -9 while sending, then restart: every page delivered, no unexpected key",
          "[notify][crash]") {
  HttpReceiver pd;
  pd.set_default({202, R"({"status":"success"})", "", 250});  // slow receiver
  NotifyWorld w;
  constexpr int kIncidents = 8;
  constexpr int kEscalated = 3;
  for (int i = 1; i <= kIncidents; ++i) w.open_seed(fmt::format("grant-broad-audience:db{}", i));
  for (int i = 1; i <= kEscalated; ++i)
    w.escalate_seed(fmt::format("grant-broad-audience:db{}", i));
  std::set<std::string> triggers, resolves;
  for (int i = 1; i <= kIncidents; ++i) triggers.insert(fmt::format("sevwatch-{}-sev2", i));
  for (int i = 1; i <= kEscalated; ++i) {
    triggers.insert(fmt::format("sevwatch-{}-sev1", i));
    resolves.insert(fmt::format("sevwatch-{}-sev2", i));
  }
  w.store.reset();  // the child owns the database now

  const auto routes = w.dir.path() / "routes.yaml";
  write_file(routes, NotifyWorld::pagerduty_routes(pd.url()));
  const auto log = (w.dir.path() / "notify.log").string();
  const std::vector<std::string> args{
      "notify",   "run",           "--store",      "sqlite:" + w.db_path(),
      "--routes", routes.string(), "--until-idle", "--lease",
      "3s",       "--poll",        "100ms"};

  pid_t pid = spawn(args, log);
  for (int i = 0; i < 500 && pd.count() < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(pd.count() >= 5);
  ::kill(pid, SIGKILL);  // mid-way: one request is being answered slowly
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  const std::size_t before_restart = pd.count();
  REQUIRE(before_restart < triggers.size() + resolves.size());

  pid = spawn(args, log);
  INFO(read_file(log));
  REQUIRE(wait_exit(pid, 60'000) == 0);

  std::map<std::string, int> trig_seen, res_seen;
  std::map<std::string, std::size_t> first_trigger, first_resolve;
  const auto reqs = pd.requests();
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    const auto b = body_of(reqs[i]);
    CHECK(str(b.at("routing_key")) == kRoutingKey);
    const auto key = str(b.at("dedup_key"));
    const auto action = str(b.at("event_action"));
    if (action == "trigger") {
      ++trig_seen[key];
      first_trigger.emplace(key, i);
    } else {
      CHECK(action == "resolve");
      ++res_seen[key];
      first_resolve.emplace(key, i);
    }
  }
  // Each expected key triggered at least once, nothing beyond the expected set.
  for (const auto& k : triggers) CHECK(trig_seen[k] >= 1);
  for (const auto& [k, n] : trig_seen) CHECK(triggers.count(k) == 1);
  for (const auto& k : resolves) CHECK(res_seen[k] >= 1);
  for (const auto& [k, n] : res_seen) CHECK(resolves.count(k) == 1);
  // At-least-once: only what was in flight at the kill can come twice.
  std::size_t duplicates = 0;
  for (const auto& [k, n] : trig_seen) duplicates += static_cast<std::size_t>(n - 1);
  for (const auto& [k, n] : res_seen) duplicates += static_cast<std::size_t>(n - 1);
  CHECK(duplicates <= 1);
  // An old tier is resolved only after the new tier was triggered.
  for (int i = 1; i <= kEscalated; ++i) {
    CHECK(first_trigger.at(fmt::format("sevwatch-{}-sev1", i)) <
          first_resolve.at(fmt::format("sevwatch-{}-sev2", i)));
  }
  triage::SqliteStore store(w.db_path());
  CHECK(store.list_deliveries(0, triage::DeliveryState::pending).empty());
  CHECK(store.list_deliveries(0, triage::DeliveryState::delivered).size() ==
        triggers.size() + resolves.size());
  CHECK(read_file(log).find(kRoutingKey) == std::string::npos);
}

TEST_CASE("sevwatch silence add, list, expire", "[notify][cli]") {
  TempDir dir("silence-cli");
  const std::string store = "sqlite:" + (dir.path() / "s.db").string();
  auto r = run_cli({"silence", "add", "--store", store, "--by", "bob", "--comment", "maintenance",
                    "--rule", "grant-*", "--sev", "2-5", "--object", "dw_hive.scratch.*", "--for",
                    "2h", "--json"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(parse_json(r.out).at("id").to_number<int>() == 1);
  r = run_cli({"silence", "list", "--store", store, "--json"});
  REQUIRE(r.status == 0);
  auto list = parse_json(r.out).as_array();
  REQUIRE(list.size() == 1);
  CHECK(list[0].at("rule").as_string() == "grant-*");
  CHECK(list[0].at("sev_min").to_number<int>() == 2);
  CHECK(list[0].at("active").as_bool());
  r = run_cli({"silence", "expire", "1", "--store", store, "--by", "carol"});
  CHECK(r.status == 0);
  r = run_cli({"silence", "list", "--store", store, "--json"});
  CHECK(parse_json(r.out).as_array().empty());
  r = run_cli({"silence", "list", "--store", store, "--all", "--json"});
  CHECK(parse_json(r.out).as_array().at(0).at("expired_by").as_string() == "carol");
  r = run_cli({"silence", "add", "--store", store, "--by", "bob", "--comment", "x"});
  CHECK(r.status == 2);
  CHECK(r.err.find("--for") != std::string::npos);
  r = run_cli({"silence", "expire", "1", "--store", store, "--by", "carol"});
  CHECK(r.status == 1);
}
