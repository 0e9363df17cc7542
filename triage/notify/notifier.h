// The outbox worker. Each round:
//   1. route: every outbox event not routed yet becomes deliveries, one per
//      receiver its (rule, SEV) routes to, in one transaction; a silenced event
//      becomes 'suppressed' deliveries carrying the silence id and a
//      'suppressed' timeline entry instead;
//   2. send: claims due deliveries with a lease, sends them, marks them
//      delivered ('notified' timeline entry), or schedules a retry with
//      exponential backoff and jitter (429, 408, 5xx, network errors; Retry-After
//      respected), or marks them failed with the error kept (any other 4xx, or
//      max_attempts reached);
//   3. digest: sends each digest receiver's pending items as one message, at
//      most once per digest interval.
// A crash between sending and marking resends the same body with the same
// PagerDuty dedup_key / Idempotency-Key: at-least-once, deduplicated downstream.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>

#include "triage/incident_store.h"
#include "triage/notify/http_client.h"
#include "triage/notify/routes.h"
#include "triage/sev_rubric.h"

namespace sevwatch::triage::notify {

struct NotifierOptions {
  std::int64_t lease_ms = 60'000;  // must exceed the longest receiver timeout
  std::size_t batch = 50;
  std::function<std::int64_t()> now_ms;  // wall clock; injected by tests
  std::function<double()> jitter;        // uniform in [0, 1); default random
  std::ostream* log = nullptr;           // one line per send; never secrets
};

struct NotifierStats {
  std::uint64_t routed = 0;     // events routed
  std::uint64_t delivered = 0;  // deliveries (digest items count each)
  std::uint64_t retried = 0;    // attempts scheduled again
  std::uint64_t failed = 0;
  std::uint64_t suppressed = 0;  // deliveries suppressed by a silence
  std::uint64_t rate_limited = 0;
};

class Notifier {
 public:
  Notifier(IncidentStore& store, const Routes& routes, const SevRubric& rubric,
           NotifierOptions options = {});

  std::size_t route_pending();
  std::size_t send_due();
  std::size_t send_digests();
  // route + send + digests; returns how many things happened.
  std::size_t run_once();
  // True when nothing is pending that could be sent now or later (retries and
  // digests waiting count as pending).
  bool idle();
  const NotifierStats& stats() const { return stats_; }

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t at_ms = 0;
    bool init = false;
  };
  std::int64_t now();
  bool take_token(const Receiver& r, std::int64_t now_ms);
  std::int64_t backoff_ms(const Receiver& r, int attempts);
  HttpResult send(const Receiver& r, const std::string& body, const std::string& key);
  // Applies one HTTP result to the deliveries it carried.
  void settle(const Receiver& r, std::vector<Delivery>& ds, const HttpResult& res);
  void log(const std::string& line);

  IncidentStore& store_;
  const Routes& routes_;
  const SevRubric& rubric_;
  NotifierOptions opt_;
  NotifierStats stats_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace sevwatch::triage::notify
