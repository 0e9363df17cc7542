// A store, the default rubric, a settable clock and a routes file pointing at
// real local receivers, for the notification tests.
#pragma once

#include <fmt/format.h>

#include <boost/json.hpp>

#include "tests/notify/http_receiver.h"
#include "tests/test_support.h"
#include "tests/triage/triage_fixtures.h"
#include "triage/incident_manager.h"
#include "triage/notify/notifier.h"
#include "triage/notify/routes.h"
#include "triage/sqlite_store.h"

namespace sevwatch::testing {

inline constexpr const char* kRoutingKey = "R0UTINGKEYCANARY0000000000000042";

struct NotifyWorld {
  TempDir dir{"notify"};
  std::unique_ptr<triage::SqliteStore> store;
  std::unique_ptr<triage::SevRubric> rubric = triage::SevRubric::builtin_default();
  std::int64_t clock = kTen + 10 * kHour;
  std::unique_ptr<triage::notify::Routes> routes;
  std::ostringstream log;

  NotifyWorld() { store = std::make_unique<triage::SqliteStore>(db_path()); }
  std::string db_path() const { return (dir.path() / "sevwatch.db").string(); }

  void load_routes(const std::string& yaml) {
    rules::Diagnostics d;
    routes = triage::notify::Routes::load_string(yaml, "routes.yaml", d);
    INFO(d.to_text());
    REQUIRE(routes);
  }

  // A PagerDuty receiver for SEV 0-2 at `url`, with short backoffs.
  static std::string pagerduty_routes(const std::string& url, const std::string& extra = "") {
    return fmt::format(R"(receivers:
  - name: pd
    type: pagerduty
    url: {}
    routing_key: {}
    initial_backoff: 100ms
    max_backoff: 1s
    max_attempts: 6
    timeout: 2s
{}routes:
  - match: {{sev: 0-2}}
    receivers: [pd]
)",
                       url, kRoutingKey, extra);
  }

  triage::notify::Notifier notifier() {
    triage::notify::NotifierOptions o;
    o.now_ms = [this] { return clock; };
    o.jitter = [] { return 0.5; };
    o.log = &log;
    o.lease_ms = 10'000;
    return triage::notify::Notifier(*store, *routes, *rubric, o);
  }

  triage::IncidentManager manager() {
    return triage::IncidentManager(*store, *rubric, [this] { return clock; });
  }

  // The seed exposure: 90 databases x 500 tables = 45,000 objects, flushed
  // in three batches as a streaming scan would.
  void open_seed(const std::string& group_key = "grant-broad-audience:mci") {
    auto m = manager();
    for (int d = 1; d <= 90; ++d) {
      auto f = seed_finding(d);
      f.group_key = group_key;
      m.on_finding(f);
      if (d % 30 == 0) m.flush();
    }
  }

  void escalate_seed(const std::string& group_key = "grant-broad-audience:mci") {
    auto m = manager();
    auto f = outsider_finding();
    f.group_key = group_key;
    m.on_finding(f);
    m.flush();
  }

  // Runs rounds, advancing the clock, until nothing is pending (or `rounds`).
  void drain(triage::notify::Notifier& n, int rounds = 50, std::int64_t step_ms = 2'000) {
    for (int i = 0; i < rounds; ++i) {
      n.run_once();
      if (n.idle()) return;
      clock += step_ms;
    }
  }
};

inline boost::json::object body_of(const HttpReceiver::Request& r) {
  return boost::json::parse(r.body).as_object();
}

inline std::string str(const boost::json::value& v) {
  return std::string(v.as_string().c_str());
}

}  // namespace sevwatch::testing
