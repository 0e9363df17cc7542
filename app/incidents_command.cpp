#include "app/incidents_command.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>

#include "app/cli_args.h"
#include "app/wiring.h"
#include "triage/incident_json.h"
#include "triage/incident_manager.h"
#include "triage/incident_ocsf.h"
#include "triage/incident_store.h"

namespace sevwatch::app {
namespace {

std::string join(const std::vector<std::string>& v, std::size_t limit = 8) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < limit; ++i) {
    if (i > 0) out += ", ";
    out += v[i];
  }
  if (v.size() > limit) out += fmt::format(", … ({} in all)", v.size());
  return out;
}

enum class Format { human, json, ocsf };

// `--format human|json|ocsf` (`--json` is `--format json`).
bool parse_format(ArgParser& p, Format& format) {
  if (p.flag("--json")) {
    format = Format::json;
    return true;
  }
  if (!p.flag("--format")) return false;
  const auto v = p.value();
  if (v == "human" || v == "text") {
    format = Format::human;
  } else if (v == "json") {
    format = Format::json;
  } else if (v == "ocsf") {
    format = Format::ocsf;
  } else {
    p.fail("--format must be human, json or ocsf");
  }
  return true;
}

// "3d 4h 5m 6s", "1.250s"; negative spans (clock skew) keep their sign.
std::string format_duration(std::int64_t ms) {
  const char* sign = ms < 0 ? "-" : "";
  std::int64_t a = ms < 0 ? -ms : ms;
  if (a < 60'000) return fmt::format("{}{}.{:03}s", sign, a / 1000, a % 1000);
  a /= 1000;
  const auto d = a / 86400, h = a / 3600 % 24, m = a / 60 % 60, sec = a % 60;
  if (d > 0) return fmt::format("{}{}d {}h {}m {}s", sign, d, h, m, sec);
  if (h > 0) return fmt::format("{}{}h {}m {}s", sign, h, m, sec);
  return fmt::format("{}{}m {}s", sign, m, sec);
}

std::string metric_text(const std::optional<std::int64_t>& ms) {
  return ms ? format_duration(*ms) : std::string("not yet");
}

int list_cmd(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  std::optional<triage::Status> status;
  Format format = Format::human;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--status")) {
      const auto v = p.value();
      status = triage::parse_status(v);
      if (!status) p.fail("--status must be open, acknowledged, contained or resolved");
    } else if (!parse_format(p, format)) {
      p.fail("unexpected argument '" + p.positional() + "'");
    }
  }
  if (p.failed()) return 2;
  auto store = open_store("incidents", store_url, err);
  if (!store) return 1;
  const auto incidents = store->list(status);
  if (format == Format::json) {
    boost::json::array a;
    for (const auto& inc : incidents) a.push_back(triage::to_json(inc, false));
    out << boost::json::serialize(a) << "\n";
    return 0;
  }
  if (format == Format::ocsf) {
    // The full incident, for the finding's last_seen_time.
    boost::json::array a;
    for (const auto& summary : incidents) {
      const auto inc = store->get(summary.id, true);
      a.push_back(triage::to_ocsf(inc ? *inc : summary, SEVWATCH_VERSION));
    }
    out << boost::json::serialize(a) << "\n";
    return 0;
  }
  if (incidents.empty()) {
    out << "no incidents\n";
    return 0;
  }
  out << fmt::format("{:>5}  {:<5} {:<13} {:<24} {:>8}  {:<12} {}\n", "ID", "SEV", "STATUS",
                     "OPENED", "OBJECTS", "ASSIGNEE", "TITLE");
  for (const auto& inc : incidents) {
    out << fmt::format("{:>5}  SEV{:<2} {:<13} {:<24} {:>8}  {:<12} {}\n", inc.id, inc.sev,
                       triage::to_string(inc.status), triage::format_time(inc.opened_at_ms),
                       inc.objects, inc.assignee.empty() ? "-" : inc.assignee, inc.title);
  }
  return 0;
}

int show_cmd(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  Format format = Format::human;
  std::string id_text;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (!parse_format(p, format)) {
      id_text = p.positional();
    }
  }
  std::int64_t id = 0;
  if (!p.failed() && !parse_incident_id(id_text, id))
    p.fail("needs an incident ID (a positive number)");
  if (p.failed()) return 2;
  auto store = open_store("incidents", store_url, err);
  if (!store) return 1;
  const auto inc = store->get(id, true);
  if (!inc) {
    err << "sevwatch incidents show: no incident " << id << " in " << store_url << "\n";
    return 1;
  }
  if (format == Format::json) {
    out << boost::json::serialize(triage::to_json(*inc, true)) << "\n";
  } else if (format == Format::ocsf) {
    out << boost::json::serialize(triage::to_ocsf(*inc, SEVWATCH_VERSION)) << "\n";
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
  if (!p.failed() && !parse_incident_id(id_text, id))
    p.fail("needs an incident ID (a positive number)");
  if (!p.failed() && by.empty()) p.fail("needs --by WHO (the person taking this action)");
  if (p.failed()) return 2;
  auto store = open_store("incidents", store_url, err);
  if (!store) return 1;
  std::string error;
  const auto now = wall_ms();
  const bool ok = verb == "ack"       ? triage::acknowledge(*store, id, by, note, now, error)
                  : verb == "contain" ? triage::contain(*store, id, by, note, now, error)
                                      : triage::resolve(*store, id, by, note, now, error);
  if (!ok) {
    err << "sevwatch incidents " << verb << ": " << error << "\n";
    return 1;
  }
  const char* done = verb == "ack" ? "acknowledged" : verb == "contain" ? "contained" : "resolved";
  out << fmt::format("incident {} {} by {}\n", id, done, by);
  return 0;
}

// `incidents assign ID --to WHO --by WHO` and `incidents note ID --by WHO --text TEXT`.
int annotate_cmd(const std::string& verb, ArgParser& p, std::ostream& out, std::ostream& err) {
  const bool is_assign = verb == "assign";
  std::string store_url = "sqlite:sevwatch.db";
  std::string by;
  std::string value;  // --to or --text
  std::string id_text;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--by")) {
      by = p.value();
    } else if (p.flag(is_assign ? "--to" : "--text")) {
      value = p.value();
    } else {
      id_text = p.positional();
    }
  }
  std::int64_t id = 0;
  if (!p.failed() && !parse_incident_id(id_text, id))
    p.fail("needs an incident ID (a positive number)");
  if (!p.failed() && by.empty()) p.fail("needs --by WHO (the person taking this action)");
  if (!p.failed() && value.find_first_not_of(" \t\r\n") == std::string::npos) {
    p.fail(is_assign ? "needs --to WHO (the new assignee)" : "needs --text TEXT (the note)");
  }
  if (p.failed()) return 2;
  auto store = open_store("incidents", store_url, err);
  if (!store) return 1;
  std::string error;
  const auto now = wall_ms();
  const bool ok = is_assign ? triage::assign(*store, id, value, by, now, error)
                            : triage::add_note(*store, id, by, value, now, error);
  if (!ok) {
    err << "sevwatch incidents " << verb << ": " << error << "\n";
    return 1;
  }
  out << (is_assign ? fmt::format("incident {} assigned to {} by {}\n", id, value, by)
                    : fmt::format("incident {}: note added by {}\n", id, by));
  return 0;
}

// `incidents sev ID --to N --by WHO --reason TEXT`: a human sets the SEV. Lowering
// it needs a written reason, which goes on the timeline with the actor.
int sev_cmd(ArgParser& p, std::ostream& out, std::ostream& err) {
  std::string store_url = "sqlite:sevwatch.db";
  std::string by;
  std::string reason;
  std::string id_text;
  int sev = -1;
  while (p.more()) {
    if (p.flag("--store")) {
      store_url = p.value();
    } else if (p.flag("--by")) {
      by = p.value();
    } else if (p.flag("--reason")) {
      reason = p.value();
    } else if (p.flag("--to")) {
      sev = p.int_value(0, 5);
    } else {
      id_text = p.positional();
    }
  }
  std::int64_t id = 0;
  if (!p.failed() && !parse_incident_id(id_text, id)) {
    p.fail("needs an incident ID (a positive number)");
  }
  if (!p.failed() && sev < 0) p.fail("needs --to N (the SEV, 0 most severe .. 5)");
  if (!p.failed() && by.empty()) p.fail("needs --by WHO (the person taking this action)");
  if (!p.failed() && reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    p.fail("needs --reason TEXT (why the SEV changes; it goes on the timeline)");
  }
  if (p.failed()) return 2;
  auto store = open_store("incidents", store_url, err);
  if (!store) return 1;
  std::string error;
  if (!triage::set_sev(*store, id, sev, by, reason, wall_ms(), error)) {
    err << "sevwatch incidents sev: " << error << "\n";
    return 1;
  }
  out << fmt::format("incident {} set to SEV {} by {}\n", id, sev, by);
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
  out << fmt::format("  assignee:    {}\n", inc.assignee.empty() ? "none" : inc.assignee);
  const auto m = triage::response_metrics(inc);
  out << fmt::format("  response:    time to detect {} (first exposure event → detection)\n",
                     metric_text(m.ttd_ms));
  out << fmt::format(
      "               time to acknowledge {}, contain {}, resolve {} (from opened)\n",
      metric_text(m.tta_ms), metric_text(m.ttc_ms), metric_text(m.ttr_ms));
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
    err << "sevwatch incidents: needs a subcommand: list, show, ack, assign, note, contain, "
           "resolve\n";
    return 2;
  }
  const std::string verb = args[0];
  ArgParser p("incidents " + verb, std::vector<std::string>(args.begin() + 1, args.end()), err);
  if (verb == "list") return list_cmd(p, out, err);
  if (verb == "show") return show_cmd(p, out, err);
  if (verb == "ack" || verb == "contain" || verb == "resolve") {
    return transition_cmd(verb, p, out, err);
  }
  if (verb == "assign" || verb == "note") return annotate_cmd(verb, p, out, err);
  if (verb == "sev") return sev_cmd(p, out, err);
  err << "sevwatch incidents: unknown subcommand '" << verb
      << "' (list, show, ack, assign, note, contain, resolve, sev)\n";
  return 2;
}

}  // namespace sevwatch::app
