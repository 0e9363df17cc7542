// Pages from incidents to a real local HTTP receiver: one page for the 45,000
// table exposure, re-page on escalation with a new key and resolve the old,
// ack and resolve, retries on 429/5xx and none on 400, secrets never stored.
#include "tests/notify/notify_world.h"

using namespace sevwatch;
using namespace sevwatch::testing;
using triage::DeliveryState;

TEST_CASE("the 45,000-table exposure pages once, with scope and evidence", "[notify]") {
  HttpReceiver pd;
  NotifyWorld w;
  w.load_routes(NotifyWorld::pagerduty_routes(pd.url("/v2/enqueue")));
  w.open_seed();

  // One outbox event, written with the incident.
  const auto events = w.store->list_outbox_events(0);
  REQUIRE(events.size() == 1);
  CHECK(events[0].event == "opened");
  CHECK(events[0].sev == 2);

  auto n = w.notifier();
  w.drain(n);
  REQUIRE(pd.count() == 1);
  const auto req = pd.requests()[0];
  CHECK(req.target == "/v2/enqueue");
  const auto b = body_of(req);
  CHECK(str(b.at("routing_key")) == kRoutingKey);
  CHECK(str(b.at("event_action")) == "trigger");
  CHECK(str(b.at("dedup_key")) == "sevwatch-1-sev2");
  const auto& p = b.at("payload").as_object();
  CHECK(str(p.at("severity")) == "error");  // the rubric's routing for SEV 2
  CHECK(str(p.at("source")) == "sevwatch");
  CHECK(str(p.at("summary")).find("45000 objects") != std::string::npos);
  CHECK(str(p.at("summary")).size() <= 1024);
  const auto& d = p.at("custom_details").as_object();
  CHECK(d.at("scope").at("objects").to_number<std::int64_t>() == 45000);
  CHECK(str(d.at("scope").at("audience")) == "company");
  CHECK(str(d.at("evidence").at("class")) == "none");

  // Replaying the same findings, and more rounds, page nothing more.
  w.open_seed();
  w.drain(n);
  CHECK(pd.count() == 1);
  CHECK(w.store->list_outbox_events(0).size() == 1);
  const auto inc = w.store->get(1, true);
  bool notified = false;
  for (const auto& t : inc->timeline) {
    notified =
        notified || (t.kind == "notified" && t.text.find("sevwatch-1-sev2") != std::string::npos);
  }
  CHECK(notified);

  // The routing key is in no log line and nowhere in the database files.
  CHECK(w.log.str().find(kRoutingKey) == std::string::npos);
  w.store.reset();
  for (const auto& f : std::filesystem::directory_iterator(w.dir.path())) {
    CHECK(read_file(f.path()).find(kRoutingKey) == std::string::npos);
  }
}

TEST_CASE("escalation triggers a new key, then resolves the old one; ack and resolve follow",
          "[notify]") {
  HttpReceiver pd;
  NotifyWorld w;
  w.load_routes(NotifyWorld::pagerduty_routes(pd.url()));
  w.open_seed();
  auto n = w.notifier();
  w.drain(n);
  REQUIRE(pd.count() == 1);

  // Acknowledged first: PagerDuty would not re-notify on the same key.
  std::string error;
  REQUIRE(triage::acknowledge(*w.store, 1, "alice", "looking", w.clock, error));
  w.drain(n);
  REQUIRE(pd.count() == 2);
  CHECK(str(body_of(pd.requests()[1]).at("event_action")) == "acknowledge");
  CHECK(str(body_of(pd.requests()[1]).at("dedup_key")) == "sevwatch-1-sev2");

  w.escalate_seed();
  REQUIRE(w.store->get(1, false)->sev == 1);
  w.drain(n);
  const auto reqs = pd.requests();
  REQUIRE(reqs.size() == 4);
  const auto trig = body_of(reqs[2]);
  CHECK(str(trig.at("event_action")) == "trigger");
  CHECK(str(trig.at("dedup_key")) == "sevwatch-1-sev1");
  CHECK(str(trig.at("payload").at("severity")) == "critical");
  CHECK(trig.at("payload").at("custom_details").at("from_sev").to_number<int>() == 2);
  const auto res = body_of(reqs[3]);
  CHECK(str(res.at("event_action")) == "resolve");
  CHECK(str(res.at("dedup_key")) == "sevwatch-1-sev2");
  CHECK(str(res.at("routing_key")) == kRoutingKey);
  CHECK_FALSE(res.contains("payload"));

  REQUIRE(triage::resolve(*w.store, 1, "alice", "revoked", w.clock, error));
  w.drain(n);
  REQUIRE(pd.count() == 5);  // only the open key; sev2 was resolved already
  CHECK(str(body_of(pd.requests()[4]).at("event_action")) == "resolve");
  CHECK(str(body_of(pd.requests()[4]).at("dedup_key")) == "sevwatch-1-sev1");
}

TEST_CASE("an escalation before the first send pages once per tier, in order", "[notify]") {
  HttpReceiver pd;
  NotifyWorld w;
  w.load_routes(NotifyWorld::pagerduty_routes(pd.url()));
  w.open_seed();
  w.escalate_seed();
  auto n = w.notifier();
  w.drain(n);
  const auto reqs = pd.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(str(body_of(reqs[0]).at("dedup_key")) == "sevwatch-1-sev2");
  CHECK(str(body_of(reqs[1]).at("dedup_key")) == "sevwatch-1-sev1");
  CHECK(str(body_of(reqs[1]).at("event_action")) == "trigger");
  CHECK(str(body_of(reqs[2]).at("dedup_key")) == "sevwatch-1-sev2");
  CHECK(str(body_of(reqs[2]).at("event_action")) == "resolve");
}

TEST_CASE("429 and 5xx are retried with the same key; Retry-After is respected", "[notify]") {
  HttpReceiver pd;
  pd.script({{429, R"({"status":"throttled"})", "3", 0},
             {500, "oops", "", 0},
             {503, "busy", "", 0},
             {502, "bad gateway", "", 0}});
  NotifyWorld w;
  w.load_routes(NotifyWorld::pagerduty_routes(pd.url()));
  w.open_seed();
  auto n = w.notifier();

  n.run_once();
  REQUIRE(pd.count() == 1);
  auto d = w.store->list_deliveries(1, std::nullopt).at(0);
  CHECK(d.state == DeliveryState::pending);
  CHECK(d.attempts == 1);
  CHECK(d.next_at_ms == w.clock + 3000);  // Retry-After: 3
  CHECK(d.last_error.find("HTTP 429") != std::string::npos);
  w.clock += 2999;
  n.run_once();
  CHECK(pd.count() == 1);  // not before Retry-After
  w.clock += 1;
  n.run_once();
  CHECK(pd.count() == 2);  // 500
  d = w.store->list_deliveries(1, std::nullopt).at(0);
  // Exponential backoff with jitter: attempt 2 waits 200ms scaled by 0.5..1 (jitter 0.5 → 150).
  CHECK(d.next_at_ms == w.clock + 150);
  w.drain(n, 20, 1000);
  REQUIRE(pd.count() == 5);
  d = w.store->list_deliveries(1, std::nullopt).at(0);
  CHECK(d.state == DeliveryState::delivered);
  CHECK(d.attempts == 5);
  for (const auto& r : pd.requests()) {
    CHECK(str(body_of(r).at("dedup_key")) == "sevwatch-1-sev2");
    CHECK(r.headers.at("idempotency-key") == d.key);
  }
  CHECK(n.stats().retried == 4);
}

TEST_CASE("a network error is retried", "[notify]") {
  NotifyWorld w;
  std::string url;
  {
    HttpReceiver gone;  // bind a port, then close it: connection refused
    url = gone.url();
  }
  w.load_routes(NotifyWorld::pagerduty_routes(url));
  w.open_seed();
  auto n = w.notifier();
  n.run_once();
  const auto d = w.store->list_deliveries(1, std::nullopt).at(0);
  CHECK(d.state == DeliveryState::pending);
  CHECK(d.attempts == 1);
  CHECK(d.last_error.find("network error") != std::string::npos);
}

TEST_CASE("a 400 is never retried: failed, error kept, on the timeline", "[notify]") {
  HttpReceiver pd;
  pd.script({{400, R"({"status":"invalid event","errors":["'payload' is missing"]})", "", 0}});
  NotifyWorld w;
  w.load_routes(NotifyWorld::pagerduty_routes(pd.url()));
  w.open_seed();
  auto n = w.notifier();
  w.drain(n, 10, 60'000);
  CHECK(pd.count() == 1);
  const auto d = w.store->list_deliveries(1, std::nullopt).at(0);
  CHECK(d.state == DeliveryState::failed);
  CHECK(d.attempts == 1);
  CHECK(d.last_error.find("HTTP 400") != std::string::npos);
  CHECK(d.last_error.find("payload' is missing") != std::string::npos);
  w.clock += 3'600'000;
  n.run_once();
  CHECK(pd.count() == 1);
  const auto inc = w.store->get(1, true);
  bool failed_entry = false;
  for (const auto& t : inc->timeline) failed_entry = failed_entry || t.kind == "notify_failed";
  CHECK(failed_entry);
}

TEST_CASE("retries stop at max_attempts", "[notify]") {
  HttpReceiver pd;
  pd.set_default({500, "down", "", 0});
  NotifyWorld w;
  w.load_routes(NotifyWorld::pagerduty_routes(pd.url()));
  w.open_seed();
  auto n = w.notifier();
  w.drain(n, 30, 2000);
  CHECK(pd.count() == 6);
  const auto d = w.store->list_deliveries(1, std::nullopt).at(0);
  CHECK(d.state == DeliveryState::failed);
  CHECK(d.last_error.find("gave up after 6 attempts") != std::string::npos);
}

TEST_CASE("per-receiver rate limit spreads sends out", "[notify]") {
  HttpReceiver pd;
  NotifyWorld w;
  w.load_routes(fmt::format(R"(receivers:
  - name: pd
    type: pagerduty
    url: {}
    routing_key: {}
    rate_per_minute: 60
    burst: 1
routes:
  - match: {{sev: 0-2}}
    receivers: [pd]
)",
                            pd.url(), kRoutingKey));
  w.open_seed("grant-broad-audience:a");
  w.open_seed("grant-broad-audience:b");
  w.open_seed("grant-broad-audience:c");
  auto n = w.notifier();
  n.run_once();
  CHECK(pd.count() == 1);
  CHECK(n.stats().rate_limited == 2);
  w.clock += 1000;
  n.run_once();
  CHECK(pd.count() == 2);
  w.clock += 1000;
  n.run_once();
  CHECK(pd.count() == 3);
}
