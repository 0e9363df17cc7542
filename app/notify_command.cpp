#include "app/notify_command.h"

#include <fmt/format.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <thread>

#include "app/cli_args.h"
#include "app/wiring.h"
#include "rules/glob.h"
#include "triage/incident_json.h"
#include "triage/incident_store.h"
#include "triage/notify/notifier.h"
#include "triage/notify/routes.h"

namespace sevwatch::app {
namespace {

using triage::notify::parse_duration_ms;

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) {
  g_stop = true;
}

// notify run | send-pending
int worker_cmd(const std::string& verb, ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  std::string routes_path;
  std::string rubric_path;
  std::int64_t poll_ms = 1000;
  std::int64_t lease_ms = 60'000;
  bool until_idle = false;
  bool quiet = false;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--routes")) {
      routes_path = p.value();
    } else if (p.flag("--rubric")) {
      rubric_path = p.value();
    } else if (p.flag("--poll")) {
      const auto v = parse_duration_ms(p.value());
      if (!v || *v <= 0) p.fail("--poll needs a duration like 500ms or 2s");
      poll_ms = v.value_or(1000);
    } else if (p.flag("--lease")) {
      const auto v = parse_duration_ms(p.value());
      if (!v || *v <= 0) p.fail("--lease needs a duration like 30s");
      lease_ms = v.value_or(60'000);
    } else if (p.flag("--until-idle") && verb == "run") {
      until_idle = true;
    } else if (p.flag("--quiet")) {
      quiet = true;
    } else {
      p.fail("unexpected argument '" + p.positional() + "'");
    }
  }
  if (!p.failed() && routes_path.empty()) p.fail("needs --routes FILE");
  if (p.failed()) return 2;

  rules::Diagnostics diags;
  auto routes = triage::notify::Routes::load_file(routes_path, diags);
  std::unique_ptr<triage::SevRubric> rubric =
      rubric_path.empty() ? triage::SevRubric::builtin_default()
                          : triage::SevRubric::load_file(rubric_path, diags);
  if (!diags.all().empty()) err << diags.to_text();
  if (!routes || !rubric) return 2;
  for (const auto& r : routes->receivers()) {
    if (r.timeout_ms >= lease_ms) {
      err << fmt::format("sevwatch notify {}: --lease must exceed receiver {}'s timeout\n", verb,
                         r.name);
      return 2;
    }
  }
  auto store = open_store("notify " + verb, store_url, err);
  if (!store) return 1;

  triage::notify::NotifierOptions opt;
  opt.lease_ms = lease_ms;
  opt.log = quiet ? nullptr : &err;
  triage::notify::Notifier notifier(*store, *routes, *rubric, opt);

  if (verb == "send-pending") {
    notifier.run_once();
  } else {
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    while (!g_stop) {
      const std::size_t did = notifier.run_once();
      if (until_idle && notifier.idle()) break;
      if (did == 0) {
        for (std::int64_t slept = 0; slept < poll_ms && !g_stop; slept += 50) {
          std::this_thread::sleep_for(
              std::chrono::milliseconds(std::min<std::int64_t>(50, poll_ms)));
        }
      }
    }
  }
  const auto& s = notifier.stats();
  out << fmt::format(
      "notify: {} event(s) routed, {} delivered, {} retry(ies) scheduled, {} failed, {} "
      "suppressed\n",
      s.routed, s.delivered, s.retried, s.failed, s.suppressed);
  return s.failed > 0 ? 1 : 0;
}

int list_cmd(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  std::int64_t incident = 0;
  std::optional<triage::DeliveryState> state;
  bool json = false;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--incident")) {
      if (!parse_incident_id(p.value(), incident)) p.fail("--incident needs an incident ID");
    } else if (p.flag("--state")) {
      state = triage::parse_delivery_state(p.value());
      if (!state) p.fail("--state must be pending, delivered, failed or suppressed");
    } else if (p.flag("--json")) {
      json = true;
    } else {
      p.fail("unexpected argument '" + p.positional() + "'");
    }
  }
  if (p.failed()) return 2;
  auto store = open_store("notify list", store_url, err);
  if (!store) return 1;
  const auto ds = store->list_deliveries(incident, state);
  if (json) {
    boost::json::array a;
    for (const auto& d : ds) {
      boost::json::object o{{"id", d.id},
                            {"incident", d.incident_id},
                            {"receiver", d.receiver},
                            {"key", d.key},
                            {"dedup_key", d.dedup_key},
                            {"action", d.action},
                            {"digest", d.digest},
                            {"state", std::string(triage::to_string(d.state))},
                            {"attempts", d.attempts},
                            {"last_error", d.last_error},
                            {"summary", d.summary}};
      if (d.silence_id) o["silence"] = *d.silence_id;
      a.push_back(std::move(o));
    }
    out << boost::json::serialize(a) << "\n";
    return 0;
  }
  for (const auto& d : ds) {
    out << fmt::format("{:>5} incident {:<4} {:<10} {:<20} {:<11} {:<24} attempts {}{}\n", d.id,
                       d.incident_id, triage::to_string(d.state), d.receiver, d.action,
                       d.dedup_key.empty() ? (d.digest ? "(digest)" : "-") : d.dedup_key,
                       d.attempts, d.last_error.empty() ? "" : "  " + d.last_error);
  }
  if (ds.empty()) out << "no notifications\n";
  return 0;
}

int silence_add(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  triage::Silence s;
  std::optional<std::int64_t> for_ms;
  bool json = false;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--by")) {
      s.created_by = p.value();
    } else if (p.flag("--comment")) {
      s.comment = p.value();
    } else if (p.flag("--rule")) {
      s.rule = p.value();
    } else if (p.flag("--object")) {
      s.object = p.value();
    } else if (p.flag("--sev")) {
      const auto v = p.value();
      const auto dash = v.find('-');
      const std::string a = v.substr(0, dash);
      const std::string b = dash == std::string::npos ? a : v.substr(dash + 1);
      if (a.size() != 1 || b.size() != 1 || a[0] < '0' || a[0] > '5' || b[0] < '0' || b[0] > '5' ||
          a[0] > b[0]) {
        p.fail("--sev needs N or A-B with 0 <= A <= B <= 5");
      } else {
        s.sev_min = a[0] - '0';
        s.sev_max = b[0] - '0';
      }
    } else if (p.flag("--for")) {
      for_ms = parse_duration_ms(p.value());
      if (!for_ms || *for_ms <= 0) p.fail("--for needs a duration like 30m, 2h or 1d");
    } else if (p.flag("--json")) {
      json = true;
    } else {
      p.fail("unexpected argument '" + p.positional() + "'");
    }
  }
  if (!p.failed() && s.created_by.empty()) p.fail("needs --by WHO");
  if (!p.failed() && s.comment.find_first_not_of(" \t") == std::string::npos) {
    p.fail("needs --comment TEXT (why notifications are silenced)");
  }
  if (!p.failed() && !for_ms) p.fail("needs --for DURATION (silences always expire)");
  for (const auto* g : {&s.rule, &s.object}) {
    rules::Glob::Error ge;
    if (!p.failed() && !rules::Glob::compile(*g, &ge)) {
      p.fail("bad glob '" + *g + "': " + ge.message);
    }
  }
  if (p.failed()) return 2;
  auto store = open_store("silence add", store_url, err);
  if (!store) return 1;
  s.created_ms = s.starts_ms = wall_ms();
  s.ends_ms = s.starts_ms + *for_ms;
  store->add_silence(s);
  if (json) {
    out << boost::json::serialize(
               boost::json::object{{"id", s.id}, {"ends_at", triage::format_time(s.ends_ms)}})
        << "\n";
  } else {
    out << fmt::format("silence {} until {}\n", s.id, triage::format_time(s.ends_ms));
  }
  return 0;
}

int silence_list(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  bool all = false;
  bool json = false;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--all")) {
      all = true;
    } else if (p.flag("--json")) {
      json = true;
    } else {
      p.fail("unexpected argument '" + p.positional() + "'");
    }
  }
  if (p.failed()) return 2;
  auto store = open_store("silence list", store_url, err);
  if (!store) return 1;
  const auto now = wall_ms();
  const auto silences = store->list_silences(all, now);
  if (json) {
    boost::json::array a;
    for (const auto& s : silences) {
      boost::json::object o{{"id", s.id},
                            {"rule", s.rule},
                            {"sev_min", s.sev_min},
                            {"sev_max", s.sev_max},
                            {"object", s.object},
                            {"created_by", s.created_by},
                            {"comment", s.comment},
                            {"starts_at", triage::format_time(s.starts_ms)},
                            {"ends_at", triage::format_time(s.ends_ms)},
                            {"active", s.active(now)}};
      if (s.expired_by) o["expired_by"] = *s.expired_by;
      a.push_back(std::move(o));
    }
    out << boost::json::serialize(a) << "\n";
    return 0;
  }
  if (silences.empty()) out << "no silences\n";
  for (const auto& s : silences) {
    out << fmt::format("{:>4} {:<8} rule {} sev {}-{} object {} until {} by {}: {}\n", s.id,
                       s.active(now) ? "active" : "expired", s.rule, s.sev_min, s.sev_max, s.object,
                       triage::format_time(s.ends_ms), s.created_by, s.comment);
  }
  return 0;
}

int silence_expire(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  std::string by;
  std::string id_text;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--by")) {
      by = p.value();
    } else {
      id_text = p.positional();
    }
  }
  std::int64_t id = 0;
  if (!p.failed() && !parse_incident_id(id_text, id)) p.fail("needs a silence ID");
  if (!p.failed() && by.empty()) p.fail("needs --by WHO");
  if (p.failed()) return 2;
  auto store = open_store("silence expire", store_url, err);
  if (!store) return 1;
  if (!store->expire_silence(id, by, wall_ms())) {
    err << "sevwatch silence expire: no active silence " << id << "\n";
    return 1;
  }
  out << fmt::format("silence {} expired by {}\n", id, by);
  return 0;
}

}  // namespace

int notify_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << "sevwatch notify: needs a subcommand: run, send-pending, list\n";
    return 2;
  }
  const std::string verb = args[0];
  ArgParser p("notify " + verb, std::vector<std::string>(args.begin() + 1, args.end()), err);
  if (verb == "run" || verb == "send-pending") return worker_cmd(verb, p, out, err);
  if (verb == "list") return list_cmd(p, out, err);
  err << "sevwatch notify: unknown subcommand '" << verb << "' (run, send-pending, list)\n";
  return 2;
}

int silence_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << "sevwatch silence: needs a subcommand: add, list, expire\n";
    return 2;
  }
  const std::string verb = args[0];
  ArgParser p("silence " + verb, std::vector<std::string>(args.begin() + 1, args.end()), err);
  if (verb == "add") return silence_add(p, out, err);
  if (verb == "list") return silence_list(p, out, err);
  if (verb == "expire") return silence_expire(p, out, err);
  err << "sevwatch silence: unknown subcommand '" << verb << "' (add, list, expire)\n";
  return 2;
}

}  // namespace sevwatch::app
