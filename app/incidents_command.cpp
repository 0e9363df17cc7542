#include "app/incidents_command.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>

#include "app/cli_args.h"
#include "triage/incident_json.h"
#include "triage/incident_manager.h"
#include "triage/incident_store.h"

namespace sevwatch::app {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string join(const std::vector<std::string>& v, std::size_t limit = 8) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < limit; ++i) {
    if (i > 0) out += ", ";
    out += v[i];
  }
  if (v.size() > limit) out += fmt::format(", … ({} in all)", v.size());
  return out;
}

std::unique_ptr<triage::IncidentStore> open_store(const std::string& url, std::ostream& err) {
  std::string error;
  auto store = triage::IncidentStore::open(url, error);
  if (!store) err << "sevwatch incidents: " << error << "\n";
  return store;
}

bool parse_id(const std::string& s, std::int64_t& id) {
  if (s.empty() || s.size() > 18) return false;
  id = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    id = id * 10 + (c - '0');
  }
  return id > 0;
}

int list_cmd(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  std::optional<triage::Status> status;
  bool json = false;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--status")) {
      const auto v = p.value();
      status = triage::parse_status(v);
      if (!status) p.fail("--status must be open, acknowledged, contained or resolved");
    } else if (p.flag("--json")) {
      json = true;
    } else {
      p.fail("unexpected argument '" + p.positional() + "'");
    }
  }
  if (p.failed()) return 2;
  auto store = open_store(store_url, err);
  if (!store) return 1;
  const auto incidents = store->list(status);
  if (json) {
    boost::json::array a;
    for (const auto& inc : incidents) a.push_back(triage::to_json(inc, false));
    out << boost::json::serialize(a) << "\n";
    return 0;
  }
  if (incidents.empty()) {
    out << "no incidents\n";
    return 0;
  }
  out << fmt::format("{:>5}  {:<5} {:<13} {:<24} {:>8}  {}\n", "ID", "SEV", "STATUS", "OPENED",
                     "OBJECTS", "TITLE");
  for (const auto& inc : incidents) {
    out << fmt::format("{:>5}  SEV{:<2} {:<13} {:<24} {:>8}  {}\n", inc.id, inc.sev,
                       triage::to_string(inc.status), triage::format_time(inc.opened_at_ms),
                       inc.objects, inc.title);
  }
  return 0;
}

int show_cmd(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  bool json = false;
  std::string id_text;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--json")) {
      json = true;
    } else {
      id_text = p.positional();
    }
  }
  std::int64_t id = 0;
  if (!p.failed() && !parse_id(id_text, id)) p.fail("needs an incident ID (a positive number)");
  if (p.failed()) return 2;
  auto store = open_store(store_url, err);
  if (!store) return 1;
  const auto inc = store->get(id, true);
  if (!inc) {
    err << "sevwatch incidents show: no incident " << id << " in " << store_url << "\n";
    return 1;
  }
  if (json) {
    out << boost::json::serialize(triage::to_json(*inc, true)) << "\n";
  } else {
    print_incident(*inc, out);
  }
  return 0;
}

int transition_cmd(const std::string& verb, ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  std::string by;
  std::string note;
  std::string id_text;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--by")) {
      by = p.value();
    } else if (p.flag("--note")) {
      note = p.value();
    } else {
      id_text = p.positional();
    }
  }
  std::int64_t id = 0;
  if (!p.failed() && !parse_id(id_text, id)) p.fail("needs an incident ID (a positive number)");
  if (!p.failed() && by.empty()) p.fail("needs --by WHO (the person taking this action)");
  if (p.failed()) return 2;
  auto store = open_store(store_url, err);
  if (!store) return 1;
  std::string error;
  const bool ok = verb == "ack" ? triage::acknowledge(*store, id, by, note, wall_ms(), error)
                                : triage::resolve(*store, id, by, note, wall_ms(), error);
  if (!ok) {
    err << "sevwatch incidents " << verb << ": " << error << "\n";
    return 1;
  }
  out << fmt::format("incident {} {} by {}\n", id, verb == "ack" ? "acknowledged" : "resolved", by);
  return 0;
}

}  // namespace

void print_incident(const triage::Incident& inc, std::ostream& out) {
  out << fmt::format("incident {}: SEV {} [{}] {}\n", inc.id, inc.sev,
                     triage::to_string(inc.status), inc.title);
  out << fmt::format("  why SEV {}:   {}\n", inc.sev, inc.sev_reason);
  out << fmt::format("  rule:        {}  (runbook: {})\n", inc.rule, inc.runbook);
  out << fmt::format("  opened at:   {} (event time of the first evidence)\n",
                     triage::format_time(inc.opened_at_ms));
  out << fmt::format("  detected at: {}\n", triage::format_time(inc.detected_at_ms));
  out << fmt::format("  scope:       {} objects, {} sensitivity ({}), audience {}\n", inc.objects,
                     inc.level.empty() ? "unknown" : inc.level, join(inc.sensitivity),
                     inc.audience.value_or("none"));
  out << fmt::format("  granted to:  {}\n", join(inc.grantees));
  out << fmt::format("  actors:      {}\n", join(inc.actors));
  out << fmt::format("  evidence:    {} ({} events; {} reads by {} outsider(s){})\n",
                     inc.evidence_class, inc.events, inc.outsider_reads, inc.outsiders.size(),
                     inc.outsiders.empty() ? "" : ": " + join(inc.outsiders));
  if (!inc.readers.empty()) {
    out << "  readers while exposed:\n";
    for (const auto& r : inc.readers) {
      out << fmt::format("    {:<24} {:>8} reads {:>6} objects  {}  {} .. {}\n", r.principal,
                         r.reads, r.objects, r.outsider ? "OUTSIDER" : "intended",
                         triage::format_time(r.first_ms), triage::format_time(r.last_ms));
    }
  }
  if (!inc.timeline.empty()) {
    out << "  timeline:\n";
    for (const auto& t : inc.timeline) {
      out << fmt::format("    {}  {:<10} {:<10} {}\n", triage::format_time(t.at_ms), t.kind, t.by,
                         t.text);
    }
  }
}

int incidents_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << "sevwatch incidents: needs a subcommand: list, show, ack, resolve\n";
    return 2;
  }
  const std::string verb = args[0];
  ArgParser p("incidents " + verb, std::vector<std::string>(args.begin() + 1, args.end()), err);
  if (verb == "list") return list_cmd(p, out, err);
  if (verb == "show") return show_cmd(p, out, err);
  if (verb == "ack" || verb == "resolve") return transition_cmd(verb, p, out, err);
  err << "sevwatch incidents: unknown subcommand '" << verb << "' (list, show, ack, resolve)\n";
  return 2;
}

}  // namespace sevwatch::app
