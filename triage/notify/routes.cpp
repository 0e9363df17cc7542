#include "triage/notify/routes.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace sevwatch::triage::notify {

std::string_view to_string(ReceiverType t) {
  switch (t) {
    case ReceiverType::pagerduty:
      return "pagerduty";
    case ReceiverType::slack:
      return "slack";
    case ReceiverType::webhook:
      return "webhook";
  }
  return "webhook";
}

std::optional<std::int64_t> parse_duration_ms(std::string_view s) {
  std::size_t i = 0;
  std::int64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n > 1'000'000'000) return std::nullopt;
    n = n * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  const std::string_view unit = s.substr(i);
  if (unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60'000;
  if (unit == "h") return n * 3'600'000;
  if (unit == "d") return n * 86'400'000;
  return std::nullopt;
}

namespace {

class Loader {
 public:
  Loader(std::string name, rules::Diagnostics& diags) : name_(std::move(name)), diags_(diags) {}

  rules::SourceLoc loc(const YAML::Node& n) const {
    const auto m = n.Mark();
    return rules::SourceLoc{name_, m.line + 1, m.column + 1};
  }
  void error(const YAML::Node& n, const std::string& code, const std::string& msg) {
    diags_.error(code, loc(n), msg);
  }

  // A secret: a string, {env: NAME} or {file: PATH}. The value never appears
  // in a diagnostic.
  std::string secret(const YAML::Node& n, const std::string& what) {
    if (n.IsScalar()) return n.as<std::string>();
    if (n.IsMap() && n.size() == 1 && n["env"]) {
      const auto var = n["env"].as<std::string>();
      const char* v = std::getenv(var.c_str());
      if (v == nullptr || *v == '\0') {
        error(n, "E_SECRET", fmt::format("{}: environment variable {} is not set", what, var));
        return {};
      }
      return v;
    }
    if (n.IsMap() && n.size() == 1 && n["file"]) {
      const auto path = n["file"].as<std::string>();
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        error(n, "E_SECRET", fmt::format("{}: cannot read {}", what, path));
        return {};
      }
      std::ostringstream ss;
      ss << in.rdbuf();
      std::string v = ss.str();
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
      if (v.empty()) error(n, "E_SECRET", fmt::format("{}: {} is empty", what, path));
      return v;
    }
    error(n, "E_SECRET", what + ": expected a string, {env: NAME} or {file: PATH}");
    return {};
  }

  std::int64_t duration(const YAML::Node& n, const std::string& what) {
    const auto v = parse_duration_ms(n.IsScalar() ? n.as<std::string>() : std::string());
    if (!v || *v <= 0) {
      error(n, "E_DURATION", what + ": expected a duration like 500ms, 10s, 5m, 1h");
      return 1;
    }
    return *v;
  }

  double positive(const YAML::Node& n, const std::string& what) {
    try {
      const double v = n.as<double>();
      if (v > 0) return v;
    } catch (const YAML::Exception&) {
    }
    error(n, "E_NUMBER", what + ": expected a positive number");
    return 1;
  }

  void receiver(const YAML::Node& n, std::vector<Receiver>& out) {
    if (!n.IsMap()) {
      error(n, "E_RECEIVER", "a receiver is a map with name, type, url...");
      return;
    }
    Receiver r;
    static const std::set<std::string> known = {
        "name",        "type",           "url",     "routing_key",
        "secret",      "source",         "ca_file", "rate_per_minute",
        "burst",       "max_attempts",   "timeout", "initial_backoff",
        "max_backoff", "digest_interval"};
    for (const auto& kv : n) {
      const auto k = kv.first.as<std::string>();
      if (!known.count(k)) error(kv.first, "E_UNKNOWN_KEY", "unknown receiver key '" + k + "'");
    }
    if (!n["name"] || !n["name"].IsScalar() || n["name"].as<std::string>().empty()) {
      error(n, "E_RECEIVER", "receiver without a name");
      return;
    }
    r.name = n["name"].as<std::string>();
    const std::string what = "receiver " + r.name;
    const std::string type = n["type"] ? n["type"].as<std::string>() : "";
    if (type == "pagerduty") {
      r.type = ReceiverType::pagerduty;
      r.rate_per_minute = 120;  // PagerDuty: about 120 events/min per integration key
    } else if (type == "slack") {
      r.type = ReceiverType::slack;
      r.rate_per_minute = 60;  // Slack: about 1 message/s
    } else if (type == "webhook") {
      r.type = ReceiverType::webhook;
      r.rate_per_minute = 600;
    } else {
      error(n["type"] ? n["type"] : n, "E_RECEIVER",
            what + ": type must be pagerduty, slack or webhook");
      return;
    }
    if (n["url"]) {
      r.url = secret(n["url"], what + " url");
    } else if (r.type == ReceiverType::pagerduty) {
      r.url = "https://events.pagerduty.com/v2/enqueue";
    } else {
      error(n, "E_RECEIVER", what + ": needs a url");
    }
    if (!r.url.empty() && r.url.rfind("http://", 0) != 0 && r.url.rfind("https://", 0) != 0) {
      error(n["url"] ? n["url"] : n, "E_RECEIVER",
            what + ": url must start with http:// or https://");
    }
    if (r.type == ReceiverType::pagerduty) {
      if (!n["routing_key"]) {
        error(n, "E_RECEIVER", what + ": a pagerduty receiver needs a routing_key");
      } else {
        r.routing_key = secret(n["routing_key"], what + " routing_key");
      }
    }
    if (n["secret"]) r.secret = secret(n["secret"], what + " secret");
    if (r.type == ReceiverType::webhook && r.secret.empty() && !n["secret"]) {
      error(n, "E_RECEIVER", what + ": a webhook receiver needs a secret to sign its bodies");
    }
    r.source = n["source"] ? n["source"].as<std::string>() : "sevwatch";
    if (n["ca_file"]) r.ca_file = n["ca_file"].as<std::string>();
    if (n["rate_per_minute"]) r.rate_per_minute = positive(n["rate_per_minute"], what);
    r.burst = std::max(1.0, std::min(10.0, r.rate_per_minute / 6));
    if (n["burst"]) r.burst = positive(n["burst"], what);
    if (n["max_attempts"]) r.max_attempts = static_cast<int>(positive(n["max_attempts"], what));
    if (n["timeout"]) r.timeout_ms = duration(n["timeout"], what + " timeout");
    if (n["initial_backoff"]) r.initial_backoff_ms = duration(n["initial_backoff"], what);
    if (n["max_backoff"]) r.max_backoff_ms = duration(n["max_backoff"], what);
    if (n["digest_interval"]) r.digest_interval_ms = duration(n["digest_interval"], what);
    for (const auto& o : out) {
      if (o.name == r.name) error(n, "E_RECEIVER", "receiver " + r.name + " is defined twice");
    }
    out.push_back(std::move(r));
  }

  void sev_range(const YAML::Node& n, Route& r) {
    const auto s = n.as<std::string>();
    const auto dash = s.find('-');
    auto digit = [](const std::string& t) -> std::optional<int> {
      if (t.size() == 1 && t[0] >= '0' && t[0] <= '5') return t[0] - '0';
      return std::nullopt;
    };
    const auto a = digit(dash == std::string::npos ? s : s.substr(0, dash));
    const auto b = digit(dash == std::string::npos ? s : s.substr(dash + 1));
    if (!a || !b || *a > *b) {
      error(n, "E_SEV", "sev must be N or A-B with 0 <= A <= B <= 5");
      return;
    }
    r.sev_min = *a;
    r.sev_max = *b;
  }

  void route(const YAML::Node& n, const std::vector<Receiver>& receivers, std::vector<Route>& out) {
    if (!n.IsMap()) {
      error(n, "E_ROUTE", "a route is a map with match and receivers");
      return;
    }
    Route r;
    for (const auto& kv : n) {
      const auto k = kv.first.as<std::string>();
      if (k != "match" && k != "receivers" && k != "digest" && k != "continue") {
        error(kv.first, "E_UNKNOWN_KEY", "unknown route key '" + k + "'");
      }
    }
    if (const auto m = n["match"]) {
      for (const auto& kv : m) {
        const auto k = kv.first.as<std::string>();
        if (k == "sev") {
          sev_range(kv.second, r);
        } else if (k == "rule") {
          std::vector<std::string> pats;
          if (kv.second.IsSequence()) {
            for (const auto& p : kv.second) pats.push_back(p.as<std::string>());
          } else {
            pats.push_back(kv.second.as<std::string>());
          }
          for (const auto& p : pats) {
            rules::Glob::Error ge;
            if (auto g = rules::Glob::compile(p, &ge)) {
              r.rules.push_back(std::move(*g));
            } else {
              error(kv.second, "E_GLOB", "rule glob '" + p + "': " + ge.message);
            }
          }
        } else {
          error(kv.first, "E_UNKNOWN_KEY", "unknown match key '" + k + "' (sev, rule)");
        }
      }
    }
    if (n["digest"]) r.digest = n["digest"].as<bool>();
    if (n["continue"]) r.continue_ = n["continue"].as<bool>();
    const auto rs = n["receivers"];
    if (!rs || !rs.IsSequence() || rs.size() == 0) {
      error(n, "E_ROUTE", "a route needs a list of receivers");
      return;
    }
    for (const auto& x : rs) {
      const auto name = x.as<std::string>();
      const Receiver* found = nullptr;
      for (const auto& rc : receivers) {
        if (rc.name == name) found = &rc;
      }
      if (found == nullptr) {
        error(x, "E_ROUTE", "no receiver named '" + name + "'");
      } else if (r.digest && found->type == ReceiverType::pagerduty) {
        error(x, "E_ROUTE", "receiver " + name + " is pagerduty, which cannot take a digest");
      }
      r.receivers.push_back(name);
    }
    out.push_back(std::move(r));
  }

 private:
  std::string name_;
  rules::Diagnostics& diags_;
};

}  // namespace

std::unique_ptr<Routes> Routes::load_string(std::string_view yaml, const std::string& name,
                                            rules::Diagnostics& diags) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    diags.error("E_YAML", rules::SourceLoc{name, e.mark.line + 1, e.mark.column + 1}, e.msg);
    return nullptr;
  }
  Loader l(name, diags);
  auto out = std::make_unique<Routes>();
  try {
    if (!root.IsMap()) {
      l.error(root, "E_ROUTES", "the routes file is a map with receivers and routes");
      return nullptr;
    }
    for (const auto& kv : root) {
      const auto k = kv.first.as<std::string>();
      if (k != "receivers" && k != "routes") {
        l.error(kv.first, "E_UNKNOWN_KEY", "unknown key '" + k + "' (receivers, routes)");
      }
    }
    if (!root["receivers"] || !root["receivers"].IsSequence()) {
      l.error(root, "E_ROUTES", "receivers: expected a list");
    } else {
      for (const auto& r : root["receivers"]) l.receiver(r, out->receivers_);
    }
    if (!root["routes"] || !root["routes"].IsSequence()) {
      l.error(root, "E_ROUTES", "routes: expected a list");
    } else {
      for (const auto& r : root["routes"]) l.route(r, out->receivers_, out->routes_);
    }
  } catch (const YAML::Exception& e) {
    diags.error("E_YAML", rules::SourceLoc{name, e.mark.line + 1, e.mark.column + 1}, e.msg);
    return nullptr;
  }
  if (diags.has_errors()) return nullptr;
  return out;
}

std::unique_ptr<Routes> Routes::load_file(const std::string& path, rules::Diagnostics& diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.error("E_IO", rules::SourceLoc{path, 0, 0}, "cannot read the routes file");
    return nullptr;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path, diags);
}

std::vector<RouteTarget> Routes::match(const std::string& rule, int sev) const {
  std::vector<RouteTarget> out;
  for (const auto& r : routes_) {
    if (sev < r.sev_min || sev > r.sev_max) continue;
    if (!r.rules.empty()) {
      bool any = false;
      for (const auto& g : r.rules) any = any || g.matches(rule);
      if (!any) continue;
    }
    for (const auto& name : r.receivers) {
      bool seen = false;
      for (const auto& t : out) seen = seen || t.receiver == name;
      if (!seen) out.push_back(RouteTarget{name, r.digest});
    }
    if (!r.continue_) break;
  }
  return out;
}

const Receiver* Routes::receiver(const std::string& name) const {
  for (const auto& r : receivers_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

}  // namespace sevwatch::triage::notify
