// The routes file: receivers (PagerDuty Events API v2, Slack incoming webhook,
// generic signed webhook) and routes from (rule, SEV) to receivers. See
// triage/notify/default_routes.yaml for the format and README.md for the rules.
//
// Secrets (PagerDuty routing keys, webhook HMAC secrets, Slack webhook URLs)
// are given as {env: NAME} or {file: PATH} (or inline, discouraged), resolved
// at load, and never printed: diagnostics name the receiver and the field only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/diagnostic.h"
#include "rules/glob.h"

namespace sevwatch::triage::notify {

enum class ReceiverType : std::uint8_t { pagerduty, slack, webhook };
std::string_view to_string(ReceiverType t);

struct Receiver {
  std::string name;
  ReceiverType type = ReceiverType::webhook;
  std::string url;          // secret for Slack (the URL is the credential)
  std::string routing_key;  // PagerDuty; secret
  std::string secret;       // webhook HMAC-SHA256 key; secret
  std::string source;       // PagerDuty payload.source; default "sevwatch"
  std::string ca_file;      // https: extra CA bundle (optional)
  double rate_per_minute = 60;
  double burst = 10;
  int max_attempts = 20;
  std::int64_t timeout_ms = 10'000;
  std::int64_t initial_backoff_ms = 1'000;
  std::int64_t max_backoff_ms = 5 * 60'000;
  std::int64_t digest_interval_ms = 60 * 60'000;
};

struct Route {
  std::vector<rules::Glob> rules;  // empty: any rule
  int sev_min = 0;
  int sev_max = 5;
  std::vector<std::string> receivers;
  bool digest = false;     // batch into one message per receiver per digest interval
  bool continue_ = false;  // keep matching later routes
};

struct RouteTarget {
  std::string receiver;
  bool digest = false;
};

class Routes {
 public:
  static std::unique_ptr<Routes> load_file(const std::string& path, rules::Diagnostics& diags);
  static std::unique_ptr<Routes> load_string(std::string_view yaml, const std::string& name,
                                             rules::Diagnostics& diags);

  // Receivers for an incident of `rule` at `sev`: the first matching route's
  // (and later ones' while `continue` is set), each receiver once.
  std::vector<RouteTarget> match(const std::string& rule, int sev) const;
  const Receiver* receiver(const std::string& name) const;
  const std::vector<Receiver>& receivers() const { return receivers_; }
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Receiver> receivers_;
  std::vector<Route> routes_;
};

// "250ms", "10s", "5m", "2h", "1d"; nullopt when malformed.
std::optional<std::int64_t> parse_duration_ms(std::string_view s);

}  // namespace sevwatch::triage::notify
