// Routes, silences, Slack and signed webhooks, digests.
#include "tests/notify/notify_world.h"
#include "triage/notify/hmac.h"
#include "triage/notify/http_client.h"

using namespace sevwatch;
using namespace sevwatch::testing;
using triage::DeliveryState;

namespace {

triage::Silence silence(const std::string& rule, int lo, int hi, const std::string& object,
                        std::int64_t now, std::int64_t for_ms) {
  triage::Silence s;
  s.rule = rule;
  s.sev_min = lo;
  s.sev_max = hi;
  s.object = object;
  s.created_by = "bob";
  s.comment = "mci migration window";
  s.created_ms = s.starts_ms = now;
  s.ends_ms = now + for_ms;
  return s;
}

// SEV 4: 4 confidential business tables granted company-wide.
rules::Finding sev4_finding(const std::string& key) {
  rules::Finding f;
  f.rule_id = "grant-broad-audience";
  f.title = "Confidential tables readable company-wide";
  f.group_key = key;
  f.first_ms = f.last_ms = kTen;
  f.objects = 4;
  for (int i = 0; i < 4; ++i) f.new_objects.push_back(fmt::format("dw.finance.t{}", i));
  f.sensitivity = {"business_confidential"};
  f.level = rules::Level::medium;
  f.audience = rules::Audience::company;
  f.grantees = {"public"};
  return f;
}

}  // namespace

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2", "[notify]") {
  CHECK(triage::notify::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("URLs", "[notify]") {
  auto u = triage::notify::parse_url("https://events.pagerduty.com/v2/enqueue");
  REQUIRE(u);
  CHECK(u->https);
  CHECK(u->port == "443");
  CHECK(u->target == "/v2/enqueue");
  u = triage::notify::parse_url("http://127.0.0.1:8080");
  REQUIRE(u);
  CHECK(u->port == "8080");
  CHECK(u->target == "/");
  CHECK_FALSE(triage::notify::parse_url("ftp://x/"));
  CHECK_FALSE(triage::notify::parse_url("http://user:pw@host/"));
}

TEST_CASE("routes file errors name the place, never the secret", "[notify]") {
  rules::Diagnostics d;
  auto r = triage::notify::Routes::load_string(R"(receivers:
  - name: pd
    type: pagerduty
    routing_key: {env: SEVWATCH_TEST_UNSET_VARIABLE}
  - name: hook
    type: webhook
    url: http://127.0.0.1:1/
    secret: s3cr3t-value
routes:
  - match: {sev: 4-5}
    receivers: [pd]
    digest: true
  - match: {sev: 3-1}
    receivers: [nobody]
)",
                                               "routes.yaml", d);
  CHECK_FALSE(r);
  const auto text = d.to_text();
  INFO(text);
  CHECK(text.find("SEVWATCH_TEST_UNSET_VARIABLE is not set") != std::string::npos);
  CHECK(text.find("cannot take a digest") != std::string::npos);
  CHECK(text.find("no receiver named 'nobody'") != std::string::npos);
  CHECK(text.find("routes.yaml:13:18: error[E_SEV]") != std::string::npos);
  CHECK(text.find("s3cr3t") == std::string::npos);
}

TEST_CASE("routes: first match wins unless continue; rule globs", "[notify]") {
  NotifyWorld w;
  w.load_routes(R"(receivers:
  - {name: a, type: slack, url: "http://127.0.0.1:1/a"}
  - {name: b, type: slack, url: "http://127.0.0.1:1/b"}
  - {name: c, type: slack, url: "http://127.0.0.1:1/c"}
routes:
  - match: {rule: "grant-*", sev: 0-1}
    receivers: [a]
    continue: true
  - match: {sev: 0-2}
    receivers: [b, a]
  - match: {sev: 3-5}
    receivers: [c]
)");
  auto names = [&](const std::string& rule, int sev) {
    std::string out;
    for (const auto& t : w.routes->match(rule, sev)) out += t.receiver;
    return out;
  };
  CHECK(names("grant-broad-audience", 1) == "ab");
  CHECK(names("other", 1) == "ba");
  CHECK(names("grant-broad-audience", 2) == "ba");
  CHECK(names("x", 4) == "c");
}

TEST_CASE("a silence suppresses the page and the timeline says so", "[notify]") {
  HttpReceiver pd;
  NotifyWorld w;
  w.load_routes(NotifyWorld::pagerduty_routes(pd.url()));
  auto s = silence("grant-*", 0, 3, "dw_hive.mci_*", w.clock, 3'600'000);
  w.store->add_silence(s);
  w.open_seed();
  auto n = w.notifier();
  w.drain(n);
  CHECK(pd.count() == 0);
  const auto ds = w.store->list_deliveries(1, std::nullopt);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].state == DeliveryState::suppressed);
  CHECK(ds[0].silence_id == s.id);
  const auto inc = w.store->get(1, true);
  bool entry = false;
  for (const auto& t : inc->timeline) {
    if (t.kind != "suppressed") continue;
    entry = true;
    CHECK(t.text.find(fmt::format("silence {}", s.id)) != std::string::npos);
    CHECK(t.text.find("mci migration window") != std::string::npos);
  }
  CHECK(entry);

  // Once expired, the escalation pages (and there is no open key to resolve).
  REQUIRE(w.store->expire_silence(s.id, "bob", w.clock));
  w.escalate_seed();
  w.drain(n);
  REQUIRE(pd.count() == 1);
  CHECK(str(body_of(pd.requests()[0]).at("dedup_key")) == "sevwatch-1-sev1");
}

TEST_CASE("a silence must match every object, the rule and the SEV", "[notify]") {
  HttpReceiver pd;
  NotifyWorld w;
  w.load_routes(NotifyWorld::pagerduty_routes(pd.url()));
  auto only_some = silence("*", 0, 5, "dw_hive.mci_0*", w.clock, 3'600'000);  // not mci_10..89
  auto other_rule = silence("pii-*", 0, 5, "*", w.clock, 3'600'000);
  auto less_severe = silence("*", 3, 5, "*", w.clock, 3'600'000);
  auto future = silence("*", 0, 5, "*", w.clock + 60'000, 3'600'000);
  for (auto* x : {&only_some, &other_rule, &less_severe, &future}) w.store->add_silence(*x);
  w.open_seed();
  auto n = w.notifier();
  w.drain(n);
  CHECK(pd.count() == 1);
}

TEST_CASE("Slack gets text and blocks; the webhook is signed", "[notify]") {
  HttpReceiver slack;
  HttpReceiver hook;
  slack.set_default({200, "ok", "", 0});
  hook.set_default({204, "", "", 0});
  NotifyWorld w;
  w.load_routes(fmt::format(R"(receivers:
  - name: slack
    type: slack
    url: {}
  - name: hook
    type: webhook
    url: {}
    secret: whsec-test-0001
routes:
  - match: {{sev: 0-3}}
    receivers: [slack, hook]
)",
                            slack.url("/services/T0/B0/XXXX"), hook.url("/hooks/sevwatch")));
  w.open_seed();
  auto n = w.notifier();
  w.drain(n);
  REQUIRE(slack.count() == 1);
  REQUIRE(hook.count() == 1);
  const auto s = body_of(slack.requests()[0]);
  CHECK(str(s.at("text")).rfind("SEV 2 opened: Sensitive tables readable company-wide", 0) == 0);
  CHECK(s.at("blocks").as_array().size() == 3);

  const auto h = hook.requests()[0];
  CHECK(h.headers.at("x-sevwatch-signature") ==
        "sha256=" + triage::notify::hmac_sha256_hex("whsec-test-0001", h.body));
  const auto hb = body_of(h);
  CHECK(str(hb.at("kind")) == "event");
  CHECK(str(hb.at("event").at("event")) == "opened");
  CHECK(hb.at("incident").at("scope").at("objects").to_number<int>() == 45000);
  CHECK(str(hb.at("idempotency_key")) == h.headers.at("idempotency-key"));
  CHECK(w.log.str().find("whsec-test-0001") == std::string::npos);
  CHECK(w.log.str().find("XXXX") == std::string::npos);
}

TEST_CASE("SEV 4-5 go to a digest: one message per interval", "[notify]") {
  HttpReceiver hook;
  HttpReceiver pd;
  NotifyWorld w;
  w.load_routes(fmt::format(R"(receivers:
  - name: pd
    type: pagerduty
    url: {}
    routing_key: {}
  - name: owners
    type: webhook
    url: {}
    secret: owners-secret
    digest_interval: 1h
routes:
  - match: {{sev: 0-2}}
    receivers: [pd]
  - match: {{sev: 4-5}}
    receivers: [owners]
    digest: true
)",
                            pd.url(), kRoutingKey, hook.url()));
  {
    auto m = w.manager();
    m.on_finding(sev4_finding("g:1"));
    m.on_finding(sev4_finding("g:2"));
    m.flush();
  }
  REQUIRE(w.store->get(1, false)->sev == 4);
  auto n = w.notifier();
  n.run_once();
  REQUIRE(hook.count() == 1);
  CHECK(pd.count() == 0);
  auto b = body_of(hook.requests()[0]);
  CHECK(str(b.at("kind")) == "digest");
  CHECK(b.at("items").as_array().size() == 2);

  {
    auto m = w.manager();
    m.on_finding(sev4_finding("g:3"));
    m.on_finding(sev4_finding("g:4"));
    m.flush();
  }
  w.clock += 30 * kMinute;
  n.run_once();
  CHECK(hook.count() == 1);  // within the interval
  w.clock += 30 * kMinute;
  n.run_once();
  REQUIRE(hook.count() == 2);
  CHECK(body_of(hook.requests()[1]).at("items").as_array().size() == 2);
  CHECK(w.store->list_deliveries(0, DeliveryState::pending).empty());
}
