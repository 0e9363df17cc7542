#include "triage/notify/notifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "rules/glob.h"
#include "triage/notify/hmac.h"
#include "triage/notify/payloads.h"

namespace sevwatch::triage::notify {

namespace {

constexpr const char* kBy = "sevwatch";

bool is_page_event(const std::string& event) {
  return event == "opened" || event == "reopened" || event == "escalated";
}

// The first active silence matching the incident, if any.
std::optional<Silence> matching_silence(IncidentStore& store, const Incident& inc, int sev,
                                        std::int64_t now_ms) {
  const auto silences = store.list_silences(false, now_ms);
  std::optional<Incident> full;
  for (auto it = silences.rbegin(); it != silences.rend(); ++it) {  // oldest first
    const Silence& s = *it;
    if (sev < s.sev_min || sev > s.sev_max) continue;
    const auto rule = rules::Glob::compile(s.rule);
    if (!rule || !rule->matches(inc.rule)) continue;
    if (s.object != "*") {
      const auto obj = rules::Glob::compile(s.object);
      if (!obj) continue;
      if (!full) full = store.get(inc.id, true);
      if (!full || full->object_names.empty()) continue;
      bool all = true;
      for (const auto& o : full->object_names) {
        if (!obj->matches(o)) {
          all = false;
          break;
        }
      }
      if (!all) continue;
    }
    return s;
  }
  return std::nullopt;
}

// PagerDuty keys of this incident triggered on `receiver` and not resolved since.
std::vector<std::string> open_keys(IncidentStore& store, std::int64_t incident_id,
                                   const std::string& receiver) {
  std::vector<std::string> open;
  for (const auto& d : store.list_deliveries(incident_id, std::nullopt)) {
    if (d.receiver != receiver || d.dedup_key.empty()) continue;
    if (d.state != DeliveryState::pending && d.state != DeliveryState::delivered) continue;
    auto it = std::find(open.begin(), open.end(), d.dedup_key);
    if (d.action == "trigger" && it == open.end()) open.push_back(d.dedup_key);
    if (d.action == "resolve" && it != open.end()) open.erase(it);
  }
  return open;
}

std::string redact(std::string text, const Receiver& r) {
  for (const std::string* s : {&r.routing_key, &r.secret, &r.url}) {
    if (s->size() < 4) continue;
    for (auto p = text.find(*s); p != std::string::npos; p = text.find(*s)) {
      text.replace(p, s->size(), "<redacted>");
    }
  }
  for (auto& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text.size() > 300 ? text.substr(0, 300) + "..." : text;
}

}  // namespace

Notifier::Notifier(IncidentStore& store, const Routes& routes, const SevRubric& rubric,
                   NotifierOptions options)
    : store_(store), routes_(routes), rubric_(rubric), opt_(std::move(options)) {
  if (!opt_.now_ms) {
    opt_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (!opt_.jitter) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    opt_.jitter = [rng] { return std::uniform_real_distribution<double>(0, 1)(*rng); };
  }
}

std::int64_t Notifier::now() {
  return opt_.now_ms();
}

void Notifier::log(const std::string& line) {
  if (opt_.log != nullptr) *opt_.log << "notify: " << line << "\n" << std::flush;
}

std::size_t Notifier::route_pending() {
  std::size_t n = 0;
  for (;;) {
    const auto events = store_.unrouted_outbox_events(opt_.batch);
    if (events.empty()) break;
    for (const auto& e : events) {
      const std::int64_t t = now();
      store_.begin();
      try {
        const auto inc = store_.get(e.incident_id, false);
        std::vector<Delivery> ds;
        std::vector<TimelineEntry> entries;
        if (inc) {
          // Receivers: the routes of (rule, SEV), plus, for acknowledgements and
          // resolutions, every PagerDuty receiver with a key still open.
          std::vector<RouteTarget> targets = routes_.match(inc->rule, e.sev);
          if (!is_page_event(e.event)) {
            for (const auto& r : routes_.receivers()) {
              if (r.type != ReceiverType::pagerduty) continue;
              const bool listed = std::any_of(targets.begin(), targets.end(),
                                              [&](const auto& x) { return x.receiver == r.name; });
              if (!listed && !open_keys(store_, inc->id, r.name).empty()) {
                targets.push_back(RouteTarget{r.name, false});
              }
            }
          }
          std::optional<Silence> silence;
          if (is_page_event(e.event)) silence = matching_silence(store_, *inc, e.sev, t);
          const std::string summary = summary_line(*inc, e);
          for (const auto& target : targets) {
            const Receiver* r = routes_.receiver(target.receiver);
            if (r == nullptr) continue;
            Delivery base;
            base.event_id = e.id;
            base.incident_id = inc->id;
            base.receiver = r->name;
            base.digest = target.digest;
            base.summary = summary;
            base.created_ms = t;
            base.next_at_ms = t;
            if (silence) {
              base.state = DeliveryState::suppressed;
              base.silence_id = silence->id;
            }
            if (r->type == ReceiverType::pagerduty) {
              std::vector<std::pair<std::string, std::string>> acts;  // (action, key)
              const auto open = open_keys(store_, inc->id, r->name);
              const std::string key = pagerduty_dedup_key(inc->id, e.sev);
              if (is_page_event(e.event)) {
                acts.emplace_back("trigger", key);
                // Trigger the new tier first, then resolve the old one.
                for (const auto& k : open) {
                  if (k != key) acts.emplace_back("resolve", k);
                }
              } else {
                const std::string action =
                    e.event == "acknowledged" ? "acknowledge" : std::string("resolve");
                for (const auto& k : open) acts.emplace_back(action, k);
              }
              for (const auto& [action, k] : acts) {
                Delivery d = base;
                d.action = action;
                d.dedup_key = k;
                d.key = fmt::format("{}/{}/{}/{}", e.key, r->name, action, k);
                d.body = pagerduty_body(*inc, e, action, k, r->source, rubric_);
                ds.push_back(std::move(d));
              }
            } else {
              Delivery d = base;
              d.action = "message";
              d.key = fmt::format("{}/{}", e.key, r->name);
              d.body = r->type == ReceiverType::slack ? slack_body(*inc, e)
                                                      : webhook_body(*inc, e, d.key);
              ds.push_back(std::move(d));
            }
          }
          if (silence) {
            std::string names;
            for (const auto& d : ds) {
              if (names.find(d.receiver) == std::string::npos) {
                names += (names.empty() ? "" : ", ") + d.receiver;
              }
            }
            entries.push_back(TimelineEntry{
                t, "suppressed", kBy,
                fmt::format("notification of {} at SEV {} to {} suppressed by silence {} "
                            "(created by {}: {})",
                            e.event, e.sev, names.empty() ? "no receiver" : names, silence->id,
                            silence->created_by, silence->comment)});
            stats_.suppressed += ds.size();
          }
          store_.add_deliveries(ds);
          if (!entries.empty()) store_.add_timeline(inc->id, entries);
        }
        store_.mark_outbox_event_routed(e.id, t);
        store_.commit();
      } catch (...) {
        store_.rollback();
        throw;
      }
      ++n;
      ++stats_.routed;
    }
  }
  return n;
}

bool Notifier::take_token(const Receiver& r, std::int64_t t) {
  Bucket& b = buckets_[r.name];
  if (!b.init) {
    b.tokens = r.burst;
    b.at_ms = t;
    b.init = true;
  }
  b.tokens = std::min(r.burst, b.tokens + (t - b.at_ms) * r.rate_per_minute / 60'000.0);
  b.at_ms = t;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

std::int64_t Notifier::backoff_ms(const Receiver& r, int attempts) {
  // Exponential, capped, with "equal jitter": half fixed, half random.
  double d = static_cast<double>(r.initial_backoff_ms);
  for (int i = 1; i < attempts && d < r.max_backoff_ms; ++i) d *= 2;
  d = std::min(d, static_cast<double>(r.max_backoff_ms));
  return static_cast<std::int64_t>(d / 2 + d / 2 * opt_.jitter());
}

HttpResult Notifier::send(const Receiver& r, const std::string& body, const std::string& key) {
  const auto url = parse_url(r.url);
  if (!url) {
    HttpResult res;
    res.status = 0;
    res.error = "receiver url is not a valid http(s) URL";
    return res;
  }
  Headers h;
  h.emplace_back("Idempotency-Key", key);
  std::string wire = body;
  if (r.type == ReceiverType::pagerduty) {
    wire = with_routing_key(body, r.routing_key);
  } else if (r.type == ReceiverType::webhook) {
    h.emplace_back(kSignatureHeader, webhook_signature(r.secret, wire));
  }
  return http_post(*url, h, wire, r.timeout_ms, r.ca_file);
}

void Notifier::settle(const Receiver& r, std::vector<Delivery>& ds, const HttpResult& res) {
  const std::int64_t t = now();
  const bool ok = res.status >= 200 && res.status < 300;
  const bool retryable =
      res.status == 0 || res.status == 429 || res.status == 408 || res.status >= 500;
  const std::string what = res.status == 0
                               ? "network error: " + res.error
                               : fmt::format("HTTP {}: {}", res.status, redact(res.body, r));
  store_.begin();
  try {
    for (auto& d : ds) {
      ++d.attempts;
      std::vector<TimelineEntry> entries;
      const std::string label = d.dedup_key.empty()
                                    ? fmt::format("{} {}", r.name, d.digest ? "digest" : "message")
                                    : fmt::format("{} {} {}", r.name, d.action, d.dedup_key);
      if (ok) {
        d.state = DeliveryState::delivered;
        d.delivered_ms = t;
        d.last_error.clear();
        entries.push_back(TimelineEntry{t, "notified", kBy, label + " delivered"});
        ++stats_.delivered;
      } else if (retryable && d.attempts < r.max_attempts) {
        const std::int64_t wait = res.retry_after_ms
                                      ? std::max(*res.retry_after_ms, std::int64_t{0})
                                      : backoff_ms(r, d.attempts);
        d.next_at_ms = t + wait;
        d.last_error = redact(what, r);
        ++stats_.retried;
      } else {
        d.state = DeliveryState::failed;
        d.last_error = redact(what, r);
        if (retryable)
          d.last_error = fmt::format("gave up after {} attempts: {}", d.attempts, d.last_error);
        entries.push_back(TimelineEntry{t, "notify_failed", kBy, label + ": " + d.last_error});
        ++stats_.failed;
      }
      store_.update_delivery(d);
      // Digest items are listed on the timeline only when they fail.
      if (!entries.empty() && !(ok && d.digest)) store_.add_timeline(d.incident_id, entries);
    }
    store_.commit();
  } catch (...) {
    store_.rollback();
    throw;
  }
  log(fmt::format("{} {}: {}", r.name, ds.size() == 1 ? ds[0].key : "digest",
                  ok ? fmt::format("delivered (HTTP {})", res.status)
                     : (ds.empty() ? what : ds[0].last_error)));
}

std::size_t Notifier::send_due() {
  std::size_t n = 0;
  const std::int64_t t = now();
  auto claimed = store_.claim_deliveries(t, opt_.lease_ms, opt_.batch);
  for (auto& d : claimed) {
    const Receiver* r = routes_.receiver(d.receiver);
    if (r == nullptr) {
      // The routes file no longer has it: keep the page, look again later.
      d.next_at_ms = t + 60'000;
      d.last_error = "receiver " + d.receiver + " is not in the routes file";
      store_.update_delivery(d);
      continue;
    }
    if (!take_token(*r, now())) {
      ++stats_.rate_limited;
      d.next_at_ms = now() + static_cast<std::int64_t>(60'000.0 / r->rate_per_minute);
      store_.update_delivery(d);  // releases the lease, not an attempt
      continue;
    }
    const auto res = send(*r, d.body, d.key);
    std::vector<Delivery> one{d};
    settle(*r, one, res);
    ++n;
  }
  return n;
}

std::size_t Notifier::send_digests() {
  std::size_t n = 0;
  std::set<std::string> names;
  for (const auto& route : routes_.routes()) {
    if (route.digest) names.insert(route.receivers.begin(), route.receivers.end());
  }
  for (const auto& name : names) {
    const Receiver* r = routes_.receiver(name);
    if (r == nullptr) continue;
    const std::int64_t t = now();
    if (auto last = store_.last_digest_ms(name); last && t - *last < r->digest_interval_ms) {
      continue;
    }
    auto items = store_.pending_digest(name, 500);
    if (items.empty() || items.front().next_at_ms > t) continue;
    if (!take_token(*r, t)) {
      ++stats_.rate_limited;
      continue;
    }
    const std::string key = fmt::format("digest/{}/{}-{}", name, items.front().id, items.back().id);
    const std::string body =
        r->type == ReceiverType::slack ? slack_digest_body(items) : webhook_digest_body(items, key);
    const auto res = send(*r, body, key);
    settle(*r, items, res);
    ++n;
  }
  return n;
}

std::size_t Notifier::run_once() {
  return route_pending() + send_due() + send_digests();
}

bool Notifier::idle() {
  return store_.unrouted_outbox_events(1).empty() &&
         store_.list_deliveries(0, DeliveryState::pending).empty();
}

}  // namespace sevwatch::triage::notify
