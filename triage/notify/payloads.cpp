#include "triage/notify/payloads.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "triage/incident_json.h"

namespace sevwatch::triage::notify {

namespace json = boost::json;

namespace {

// Cuts at `max` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s + "...";
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::string what_happened(const OutboxEvent& e) {
  if (e.event == "escalated" && e.from_sev) {
    return fmt::format("escalated SEV {} → SEV {}", *e.from_sev, e.sev);
  }
  if (e.event == "acknowledged" || e.event == "resolved") {
    return fmt::format("{} by {}", e.event, e.by);
  }
  return e.event;
}

// Slack mrkdwn: &, < and > are control characters.
std::string slack_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& v, std::size_t limit = 8) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < limit; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > limit) out += fmt::format(", … ({} in all)", v.size());
  return out.empty() ? "none" : out;
}

}  // namespace

std::string summary_line(const Incident& inc, const OutboxEvent& e) {
  std::string s = fmt::format("SEV {} {}: {} — {} object{}", e.sev, what_happened(e), inc.title,
                              inc.objects, inc.objects == 1 ? "" : "s");
  if (!inc.level.empty()) s += fmt::format(" of {} sensitivity", inc.level);
  if (inc.audience) s += fmt::format(" readable by the {} audience", *inc.audience);
  if (inc.evidence_class != "none") {
    s += fmt::format("; {} outsider read{} ({})", inc.outsider_reads,
                     inc.outsider_reads == 1 ? "" : "s", inc.evidence_class);
  }
  s += fmt::format(" [incident {}]", inc.id);
  return s;
}

std::string pagerduty_body(const Incident& inc, const OutboxEvent& e, const std::string& action,
                           const std::string& dedup_key, const std::string& source,
                           const SevRubric& rubric) {
  json::object o;
  o["event_action"] = action;
  o["dedup_key"] = dedup_key;
  if (action != "trigger") return json::serialize(o);
  const auto& route = rubric.route(e.sev);
  json::object payload;
  payload["summary"] = truncate_utf8(summary_line(inc, e), 1024);
  payload["source"] = source.empty() ? "sevwatch" : source;
  payload["severity"] = route.pagerduty_severity.empty() ? "info" : route.pagerduty_severity;
  payload["timestamp"] = format_time(e.at_ms);
  payload["component"] = inc.rule;
  payload["group"] = "data-warehouse";
  payload["class"] = "data_exposure";
  json::object details;
  details["incident_id"] = inc.id;
  details["sev"] = e.sev;
  if (e.from_sev) details["from_sev"] = *e.from_sev;
  details["event"] = e.event;
  details["sev_reason"] = inc.sev_reason;
  details["status"] = std::string(to_string(inc.status));
  details["route"] = route.who + " (" + route.how + ")";
  details["opened_at"] = format_time(inc.opened_at_ms);
  details["runbook"] = inc.runbook;
  details["incident_dedup_key"] = inc.dedup_key;
  json::object scope;
  scope["objects"] = inc.objects;
  scope["level"] = inc.level;
  if (inc.audience) scope["audience"] = *inc.audience;
  scope["sensitivity"] = strings(inc.sensitivity);
  scope["grantees"] = strings(inc.grantees);
  scope["actors"] = strings(inc.actors);
  details["scope"] = std::move(scope);
  json::object evidence;
  evidence["class"] = inc.evidence_class;
  evidence["events"] = inc.events;
  evidence["outsider_reads"] = inc.outsider_reads;
  evidence["outsiders"] = strings(inc.outsiders);
  details["evidence"] = std::move(evidence);
  payload["custom_details"] = std::move(details);
  o["payload"] = std::move(payload);
  o["client"] = "sevwatch";
  return json::serialize(o);
}

std::string with_routing_key(const std::string& body, const std::string& routing_key) {
  json::value v = json::parse(body);
  json::object out;
  out["routing_key"] = routing_key;
  for (const auto& kv : v.as_object()) out[kv.key()] = kv.value();
  return json::serialize(out);
}

std::string slack_body(const Incident& inc, const OutboxEvent& e) {
  const std::string line = summary_line(inc, e);
  json::object o;
  o["text"] = line;
  json::array blocks;
  {
    json::object text{
        {"type", "mrkdwn"},
        {"text", fmt::format("*SEV {}* {} · incident {}\n{}", e.sev, slack_escape(what_happened(e)),
                             inc.id, slack_escape(inc.title))}};
    blocks.push_back(json::object{{"type", "section"}, {"text", std::move(text)}});
  }
  {
    json::array fields;
    auto field = [&](const std::string& k, const std::string& v) {
      fields.push_back(
          json::object{{"type", "mrkdwn"}, {"text", fmt::format("*{}*\n{}", k, slack_escape(v))}});
    };
    field("Objects", std::to_string(inc.objects));
    field("Audience", inc.audience.value_or("unknown"));
    field("Sensitivity",
          inc.level.empty() ? join(inc.sensitivity) : inc.level + ": " + join(inc.sensitivity));
    field("Evidence", inc.evidence_class == "none"
                          ? std::string("no improper reads seen")
                          : fmt::format("{}: {} reads by {}", inc.evidence_class,
                                        inc.outsider_reads, join(inc.outsiders)));
    field("Grantees", join(inc.grantees));
    field("Status", std::string(to_string(inc.status)));
    blocks.push_back(json::object{{"type", "section"}, {"fields", std::move(fields)}});
  }
  {
    std::string ctx = slack_escape(inc.sev_reason);
    if (!inc.runbook.empty()) ctx += " · runbook " + slack_escape(inc.runbook);
    if (!e.note.empty() && e.event != "escalated") ctx += " · note: " + slack_escape(e.note);
    json::array elements;
    elements.push_back(json::object{{"type", "mrkdwn"}, {"text", truncate_utf8(ctx, 2900)}});
    blocks.push_back(json::object{{"type", "context"}, {"elements", std::move(elements)}});
  }
  o["blocks"] = std::move(blocks);
  return json::serialize(o);
}

std::string slack_digest_body(const std::vector<Delivery>& items) {
  std::string text =
      fmt::format("sevwatch digest: {} notification{}", items.size(), items.size() == 1 ? "" : "s");
  std::string list;
  for (const auto& d : items) list += "• " + slack_escape(d.summary) + "\n";
  json::object o;
  o["text"] = text;
  json::array blocks;
  blocks.push_back(json::object{
      {"type", "section"}, {"text", json::object{{"type", "mrkdwn"}, {"text", "*" + text + "*"}}}});
  blocks.push_back(json::object{
      {"type", "section"},
      {"text", json::object{{"type", "mrkdwn"}, {"text", truncate_utf8(list, 2900)}}}});
  o["blocks"] = std::move(blocks);
  return json::serialize(o);
}

std::string webhook_body(const Incident& inc, const OutboxEvent& e, const std::string& key) {
  json::object o;
  o["version"] = "1";
  o["kind"] = "event";
  o["idempotency_key"] = key;
  json::object ev;
  ev["event"] = e.event;
  ev["sev"] = e.sev;
  if (e.from_sev) ev["from_sev"] = *e.from_sev;
  ev["by"] = e.by;
  ev["note"] = e.note;
  ev["at"] = format_time(e.at_ms);
  ev["summary"] = summary_line(inc, e);
  o["event"] = std::move(ev);
  o["incident"] = to_json(inc, false);
  return json::serialize(o);
}

std::string webhook_digest_body(const std::vector<Delivery>& items, const std::string& key) {
  json::object o;
  o["version"] = "1";
  o["kind"] = "digest";
  o["idempotency_key"] = key;
  json::array a;
  for (const auto& d : items) {
    boost::system::error_code ec;
    auto v = json::parse(d.body, ec);
    a.push_back(ec ? json::value(d.summary) : std::move(v));
  }
  o["items"] = std::move(a);
  return json::serialize(o);
}

}  // namespace sevwatch::triage::notify
