// Test helpers: a sink that keeps what decoders emit, and a stable one-line
// text rendering of events and weirds for golden files.
#pragma once

#include <fmt/format.h>

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors::testing {

struct CollectingSink : EventSink {
  std::vector<AccessEvent> events;
  std::vector<Weird> weirds;
  std::vector<std::string> order;  // "E<i>" / "W<i>" in arrival order

  void on_event(AccessEvent&& e) override {
    order.push_back("E" + std::to_string(events.size()));
    events.push_back(std::move(e));
  }
  void on_weird(Weird&& w) override {
    order.push_back("W" + std::to_string(weirds.size()));
    weirds.push_back(std::move(w));
  }
  std::size_t count(std::string_view reason) const {
    std::size_t n = 0;
    for (const auto& w : weirds) n += w.reason == reason ? 1 : 0;
    return n;
  }
};

inline std::string iso_time(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const auto frac = static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

// Newlines and tabs in free text are escaped so one event stays one line.
inline std::string esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

inline std::string render(const AccessEvent& e) {
  std::string grantees;
  for (const auto& g : e.grant.grantees) {
    if (!grantees.empty()) grantees += ",";
    grantees += fmt::format("{}:{}", to_string(g.kind), g.name);
  }
  std::string privs;
  for (const auto& p : e.grant.privileges) {
    if (!privs.empty()) privs += ",";
    privs += p;
  }
  std::string out = fmt::format(
      "line={} off={} time={}{} fmt={} principal={} action={} op={} object={} level={} cols={} "
      "result={}",
      e.pos.line, e.pos.offset, iso_time(e.time_ms), e.time_zone_assumed ? "(tz?)" : "", e.format,
      e.principal, to_string(e.action), e.operation, e.object.name, to_string(e.object.level),
      e.object.columns, to_string(e.result));
  if (e.action == Action::grant || e.action == Action::revoke) {
    out += fmt::format(" grantees={} privs={} target={}({}) target_type='{}' target_cols={} wgo={}",
                       grantees, privs, e.grant.target.name, to_string(e.grant.target.level),
                       e.grant.target_type, e.grant.target.columns, e.grant.with_grant_option);
  }
  out += fmt::format(" ip={} uid={} session={} policy={} query={}", e.client_ip, e.event_uid,
                     e.session, e.policy, esc(e.query));
  return out;
}

inline std::string render(const Weird& w) {
  return fmt::format("WEIRD line={} off={} reason={} detail={}", w.pos.line, w.pos.offset, w.reason,
                     esc(w.detail));
}

inline std::string render_all(const CollectingSink& sink) {
  std::string out;
  for (const auto& o : sink.order) {
    const auto i = std::stoul(o.substr(1));
    out += o[0] == 'E' ? render(sink.events[i]) : render(sink.weirds[i]);
    out += '\n';
  }
  return out;
}

}  // namespace sevwatch::detectors::testing
