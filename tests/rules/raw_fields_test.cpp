// raw.<path> fields: paths into the event's source record (JSON).
#include <catch2/catch.hpp>
#include <map>

#include "detectors/input_reader.h"
#include "rules/condition.h"
#include "rules/engine.h"
#include "rules/event_fields.h"
#include "rules/rule_file.h"
#include "rules/rule_test_runner.h"
#include "tests/test_support.h"

using namespace sevwatch;
using namespace sevwatch::rules;
using detectors::AccessEvent;

namespace {

// A CloudTrail record, as the decoder keeps it with keep_raw.
constexpr const char* kRecord =
    R"({"eventVersion":"1.11","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root",)"
    R"("accountId":"111122223333"},"eventTime":"2026-08-20T09:14:03Z",)"
    R"("eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"10.20.30.9",)"
    R"("requestParameters":{"bucketName":"prod-ledger","key":"2026/q3.csv"},)"
    R"("responseElements":null,"additionalEventData":{"bytesTransferredOut":8388608,)"
    R"("ratio":0.25,"offset":-3,"huge":18446744073709551615},"readOnly":true,)"
    R"("resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::prod-ledger/2026/q3.csv"},)"
    R"({"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::prod-ledger"}],)"
    R"("tags":{"app.kubernetes.io/name":"ledger","cost center":"fin \"q3\""},)"
    R"("matrix":[[1,2],[3,[4,5]]],"errorMessage":"","note":"caf\u00e9"})";

struct Fixture {
  std::unique_ptr<Context> context = Context::builtin_default();
  ExposureState exposure{*context};
};

AccessEvent event_with(std::string raw) {
  AccessEvent e;
  e.action = detectors::Action::read;
  e.result = detectors::Result::allowed;
  e.principal = "arn:aws:iam::111122223333:root";
  e.format = "aws_cloudtrail";
  e.raw = std::move(raw);
  return e;
}

std::unique_ptr<Condition> compile(const std::string& text) {
  Diagnostics d;
  auto c = compile_condition(text, SourceLoc{"r.yaml", 1, 1}, d);
  INFO(text << "\n" << d.to_text());
  REQUIRE(c);
  return c;
}

struct Sink : detectors::EventSink {
  std::vector<AccessEvent> events;
  void on_event(AccessEvent&& e) override { events.push_back(std::move(e)); }
  void on_weird(detectors::Weird&&) override {}
};

struct Collect : FindingSink {
  std::map<std::string, Finding> last;
  void on_finding(const Finding& f) override { last[f.group_key] = f; }
  std::size_t count(const std::string& rule) const {
    std::size_t n = 0;
    for (const auto& [k, f] : last) n += f.rule_id == rule ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("raw fields read the CloudTrail record: strings, cidr, nested keys", "[raw]") {
  Fixture fx;
  const auto e = event_with(kRecord);
  EventFields fields(e, *fx.context, fx.exposure, std::nullopt);
  auto holds = [&](const std::string& text) { return compile(text)->eval(fields); };
  CHECK(holds("raw.userIdentity.type = 'Root'"));
  CHECK(holds("raw.userIdentity.type = Root and action = read"));
  CHECK_FALSE(holds("raw.userIdentity.type = IAMUser"));
  CHECK(holds("raw.userIdentity.type in (IAMUser, Root)"));
  CHECK(holds("raw.requestParameters.bucketName startswith 'prod-'"));
  CHECK(holds("raw.requestParameters.bucketName iendswith LEDGER"));
  CHECK(holds("raw.requestParameters.key glob '2026/*.csv'"));
  CHECK(holds("raw.requestParameters.key regex '^2026/q[1-4]'"));
  CHECK(holds("raw.sourceIPAddress cidr '10.0.0.0/8'"));
  CHECK_FALSE(holds("raw.sourceIPAddress cidr (192.168.0.0/16, 2001:db8::/32)"));
  CHECK(holds("raw.userIdentity.arn != 'arn:aws:iam::999999999999:root'"));
  // Escapes are decoded: "caf\u00e9" is "café".
  CHECK(holds("raw.note = 'caf\xc3\xa9'"));
  // An empty string is a value, not an absent field.
  CHECK(holds("raw.errorMessage exists"));
  CHECK(holds("raw.errorMessage = ''"));
}

TEST_CASE("raw fields: array indexes, quoted keys, objects and arrays as JSON", "[raw]") {
  Fixture fx;
  const auto e = event_with(kRecord);
  EventFields fields(e, *fx.context, fx.exposure, std::nullopt);
  auto holds = [&](const std::string& text) { return compile(text)->eval(fields); };
  CHECK(holds("raw.resources.0.type = 'AWS::S3::Object'"));
  CHECK(holds("raw.resources.1.ARN = 'arn:aws:s3:::prod-ledger'"));
  CHECK_FALSE(holds("raw.resources.2.ARN exists"));
  CHECK_FALSE(holds("raw.resources.first.ARN exists"));  // not an index
  CHECK(holds("raw.matrix.1.1.0 = 4"));
  CHECK(holds("raw.tags.\"app.kubernetes.io/name\" = ledger"));
  CHECK(holds("raw.tags.'cost center' = 'fin \"q3\"'"));
  CHECK(holds("raw.\"tags\".\"cost center\" startswith fin"));
  CHECK(holds("raw.\"resources\".1.type = 'AWS::S3::Bucket'"));
  // A path ending at an object or array gives its JSON text.
  CHECK(holds("raw.resources contains 'arn:aws:s3:::prod-ledger/'"));
  CHECK(holds("raw.matrix = '[[1,2],[3,[4,5]]]'"));
  CHECK(holds("raw.userIdentity exists"));
}

TEST_CASE("raw fields: numbers and booleans as their JSON text, ordering on numbers", "[raw]") {
  Fixture fx;
  const auto e = event_with(kRecord);
  EventFields fields(e, *fx.context, fx.exposure, std::nullopt);
  auto holds = [&](const std::string& text) { return compile(text)->eval(fields); };
  CHECK(holds("raw.additionalEventData.bytesTransferredOut = 8388608"));
  CHECK(holds("raw.additionalEventData.bytesTransferredOut >= 1000000"));
  CHECK(holds("raw.additionalEventData.bytesTransferredOut < 1e7"));
  CHECK_FALSE(holds("raw.additionalEventData.bytesTransferredOut > 8388608"));
  CHECK(holds("raw.additionalEventData.ratio = 0.25"));
  CHECK(holds("raw.additionalEventData.ratio > 0.2 and raw.additionalEventData.ratio <= 0.25"));
  CHECK(holds("raw.additionalEventData.offset < 0"));
  CHECK(holds("raw.additionalEventData.offset = -3"));
  CHECK(holds("raw.additionalEventData.huge = 18446744073709551615"));
  CHECK(holds("raw.readOnly = true"));
  CHECK_FALSE(holds("raw.readOnly = false"));
  CHECK(holds("raw.eventVersion > 1.1"));   // a string holding a number compares as one
  CHECK_FALSE(holds("raw.eventName > 1"));  // not a number: no order
}

TEST_CASE("raw fields: a missing path or null is an absent field", "[raw]") {
  Fixture fx;
  auto check_absent = [&](const AccessEvent& e, const std::string& path) {
    INFO(path << " of " << e.raw);
    EventFields fields(e, *fx.context, fx.exposure, std::nullopt);
    CHECK_FALSE(compile(path + " exists")->eval(fields));
    CHECK_FALSE(compile(path + " = x")->eval(fields));
    CHECK_FALSE(compile(path + " contains x")->eval(fields));
    CHECK_FALSE(compile(path + " > 1")->eval(fields));
    // As for every absent field: only != and not hold.
    CHECK(compile(path + " != x")->eval(fields));
    CHECK(compile("not " + path + " = x")->eval(fields));
  };
  const auto e = event_with(kRecord);
  check_absent(e, "raw.nope");
  check_absent(e, "raw.userIdentity.nope");
  check_absent(e, "raw.userIdentity.type.deeper");  // through a string
  check_absent(e, "raw.responseElements");          // null
  check_absent(e, "raw.responseElements.x");
  // No record (keep_raw off, or a text format such as pgaudit), or one that
  // is not JSON: raw.* never exists.
  check_absent(event_with(""), "raw.userIdentity.type");
  check_absent(event_with("2026-08-20 09:00:00 UTC [42]: LOG:  AUDIT: SESSION,1,1,READ"),
               "raw.userIdentity.type");
  check_absent(event_with(R"({"truncated": )"), "raw.truncated");
}

TEST_CASE("raw fields: interleaved events each see their own record", "[raw]") {
  Fixture fx;
  const auto a = event_with(R"({"who":"a","n":1})");
  const auto b = event_with(R"({"who":"b","n":2.5})");
  EventFields fa(a, *fx.context, fx.exposure, std::nullopt);
  EventFields fb(b, *fx.context, fx.exposure, std::nullopt);
  const auto is_a = compile("raw.who = a and raw.n = 1");
  const auto is_b = compile("raw.who = b and raw.n = 2.5");
  for (int i = 0; i < 3; ++i) {
    CHECK(is_a->eval(fa));
    CHECK_FALSE(is_a->eval(fb));
    CHECK(is_b->eval(fb));
    CHECK_FALSE(is_b->eval(fa));
  }
  // A later event reusing the same storage with other content is re-read.
  AccessEvent c = a;
  EventFields fc(c, *fx.context, fx.exposure, std::nullopt);
  CHECK(is_a->eval(fc));
  c.raw = R"({"who":"b","n":2.5})";
  EventFields fc2(c, *fx.context, fx.exposure, std::nullopt);
  CHECK(is_b->eval(fc2));
}

TEST_CASE("raw fields: path and operator errors are diagnostics", "[raw]") {
  auto first = [](const std::string& text) {
    Diagnostics d;
    auto c = compile_condition(text, SourceLoc{"r.yaml", 4, 3}, d);
    CHECK_FALSE(c);
    REQUIRE_FALSE(d.all().empty());
    return d.all()[0];
  };
  CHECK(first("raw. = 1").code == "E_RAW_PATH");
  CHECK(first("raw.a..b exists").code == "E_RAW_PATH");
  CHECK(first("raw.a. exists").code == "E_RAW_PATH");
  const auto bad = first("action = read and raw.x > big");
  CHECK(bad.code == "E_BAD_VALUE");
  CHECK(bad.loc.col == 3 + 26);
  CHECK(first("raw.x cidr 10.0.0.0/33").code == "E_CIDR");
  CHECK(first("raw.x regex '(unclosed'").code == "E_REGEX");
  CHECK(first("raw.flag").code == "E_CONDITION");  // needs an operator
  CHECK(first("raw.\"unterminated = 1").code == "E_CONDITION");
  CHECK(first("raw.a\"b\" = 1").code == "E_CONDITION");
  // In group_by (and field, by, key) a raw path must be well formed too.
  RuleSet set;
  Diagnostics d;
  load_rules_string(R"(- rule: r
  kind: aggregate
  aggregate: {function: count, group_by: [principal, raw.a..b], window: 1h, tiers: [{gte: 1, sev: 4}]}
)",
                    "g.yaml", set, d);
  REQUIRE(d.has_errors());
  CHECK(d.all()[0].code == "E_RAW_PATH");
  CHECK(d.all()[0].loc.line == 3);
  CHECK(d.all()[0].message.find("'raw.a..b' in 'group_by'") != std::string::npos);
}

TEST_CASE("raw fields group, count and key stateful rules", "[raw]") {
  RuleSet set;
  Diagnostics d;
  load_rules_string(R"(- rule: by_arn
  kind: aggregate
  condition: action = read
  aggregate: {function: count, group_by: [raw.userIdentity.arn], window: 1h, tiers: [{gte: 3, sev: 4}]}
- rule: distinct_keys
  kind: aggregate
  condition: action = read
  aggregate:
    function: count_distinct
    field: raw.requestParameters.key
    group_by: [principal]
    window: 1h
    tiers: [{gte: 2, sev: 4}]
- rule: new_source_ip
  kind: first_seen
  condition: action = read
  first_seen: {key: [principal, raw.sourceIPAddress], lookback: 30d, learn: 0s, sev: 4}
- rule: read_then_write_same_bucket
  kind: sequence
  sequence:
    by: [raw.requestParameters.bucketName]
    within: 15m
    steps:
      - {name: a, condition: "action = read"}
      - {name: b, condition: "action = write"}
)",
                    "g.yaml", set, d);
  check_rule_set(set, d);
  INFO(d.to_text());
  REQUIRE_FALSE(d.has_errors());
  CHECK(set.uses_raw);  // decoders must keep records for these rules

  auto ct = [](int i, const std::string& arn, const std::string& ip, const std::string& bucket,
               const std::string& key) {
    AccessEvent e = event_with(R"({"userIdentity":{"arn":")" + arn + R"("},"sourceIPAddress":")" +
                               ip + R"(","requestParameters":{"bucketName":")" + bucket +
                               R"(","key":")" + key + R"("}})");
    e.principal = "carol";  // one normalized principal for every event
    e.time_ms = 1'787'000'000'000 + 1000 * i;
    return e;
  };
  std::vector<AccessEvent> events = {
      ct(0, "arn:a", "10.0.0.1", "b1", "k1"),
      ct(1, "arn:b", "10.0.0.1", "b1", "k1"),
      ct(2, "arn:a", "10.0.0.1", "b2", "k1"),
      ct(3, "arn:a", "10.0.0.2", "b1", "k2"),
  };
  events.push_back(ct(4, "arn:b", "10.0.0.1", "b2", "k1"));
  events.back().action = detectors::Action::write;

  Fixture fx;
  Collect findings;
  Engine engine(*fx.context, set, findings);
  for (const auto& e : events) engine.process(e);
  engine.finish();
  // Three reads by arn:a (grouped by the raw ARN, not the shared principal).
  CHECK(findings.count("by_arn") == 1);
  // Two distinct raw keys (k1, k2) for carol.
  CHECK(findings.count("distinct_keys") == 1);
  // (carol, 10.0.0.1) then (carol, 10.0.0.2): two first sightings.
  CHECK(findings.count("new_source_ip") == 2);
  // The write to b2 follows a read of b2 (event 2), pairing on the raw bucket.
  CHECK(findings.count("read_then_write_same_bucket") == 1);
  for (const auto& [key, f] : findings.last) {
    if (f.rule_id == "by_arn") CHECK(key.find("arn:a") != std::string::npos);
  }
}

TEST_CASE("a rule set says whether it uses raw fields", "[raw]") {
  auto uses_raw = [](const std::string& yaml) {
    RuleSet set;
    Diagnostics d;
    load_rules_string(yaml, "u.yaml", set, d);
    check_rule_set(set, d);
    INFO(d.to_text());
    REQUIRE_FALSE(d.has_errors());
    REQUIRE(set.rules.size() == 1);
    return set.uses_raw;
  };
  const std::string head = R"(- rule: r
  kind: aggregate
  aggregate: {function: count, group_by: [principal], window: 1h, tiers: [{gte: 1, sev: 4}]}
)";
  CHECK_FALSE(uses_raw(head + "  condition: action = read\n"));
  CHECK(uses_raw(head + "  condition: action = read and not (raw.a = 1 or raw.b exists)\n"));
  CHECK(uses_raw(head + R"(  condition: action = read
  exceptions:
    - {name: e, owner: o, reason: r, expires: 2099-12-31, fields: [raw.ip], values: [1.2.3.4]}
)"));
  CHECK(uses_raw(R"(- macro: is_root
  condition: raw.userIdentity.type = Root
- rule: s
  kind: sequence
  sequence:
    by: [principal]
    within: 15m
    steps:
      - {name: a, condition: "action = grant"}
      - {name: b, condition: "is_root"}
)"));
  RuleSet shipped;
  Diagnostics d;
  load_shipped_rules(shipped, d);
  CHECK_FALSE(shipped.uses_raw);
}

TEST_CASE("an engine runs raw rules on decoded CloudTrail events, with explain", "[raw]") {
  RuleSet set;
  Diagnostics d;
  load_rules_path(testing::fixture("raw_fields/rules.yaml").string(), set, d);
  check_rule_set(set, d);
  INFO(d.to_text());
  REQUIRE_FALSE(d.has_errors());
  REQUIRE(set.uses_raw);

  detectors::DecoderRegistry registry;
  detectors::register_builtin_decoders(registry);
  detectors::DecoderOptions options;
  options.keep_raw = set.uses_raw;
  Sink events;
  const auto r = detectors::read_input(testing::fixture("raw_fields/cloudtrail.jsonl").string(),
                                       "aws_cloudtrail", registry, options, events);
  REQUIRE(r.ok);
  REQUIRE(events.events.size() == 4);

  const auto context = Context::builtin_default();
  Collect findings;
  Engine engine(*context, set, findings);
  for (const auto& e : events.events) engine.process(e);
  engine.finish();
  // Root from 10.20.30.9 (not from 198.51.100.9); mallory's 8 MB (not Athena's).
  CHECK(findings.count("root_reads_prod_bucket") == 1);
  CHECK(findings.count("large_object_download") == 1);
  const auto stats = engine.exception_stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].suppressed == 1);

  const std::string why = engine.explain(*set.find("root_reads_prod_bucket"), events.events[3]);
  INFO(why);
  CHECK(why.find("[raw.userIdentity.type: Root]") != std::string::npos);
  CHECK(why.find("[raw.sourceIPAddress: 198.51.100.9]") != std::string::npos);
  CHECK(why.find("does not pass") != std::string::npos);
  const std::string big = engine.explain(*set.find("large_object_download"), events.events[2]);
  INFO(big);
  CHECK(big.find("[raw.additionalEventData.bytesTransferredOut: 8388608]") != std::string::npos);
  CHECK(big.find("exception 'athena_scans' holds") != std::string::npos);

  // Decoded without keep_raw, the same events match none of the rules.
  Sink bare;
  REQUIRE(detectors::read_input(testing::fixture("raw_fields/cloudtrail.jsonl").string(),
                                "aws_cloudtrail", registry, detectors::DecoderOptions{}, bare)
              .ok);
  Collect none;
  Engine plain(*context, set, none);
  for (const auto& e : bare.events) plain.process(e);
  plain.finish();
  CHECK(none.last.empty());
}

TEST_CASE("in-file tests give events a raw record (YAML or JSON text)", "[raw]") {
  RuleSet set;
  Diagnostics d;
  load_rules_path(testing::fixture("raw_fields/rules.yaml").string(), set, d);
  check_rule_set(set, d);
  REQUIRE_FALSE(d.has_errors());
  const auto report = run_rule_tests(set, RuleTestOptions{}, d);
  std::string failures;
  for (const auto& f : report.failures) {
    failures += f.rule_id + ": " + f.test_name + ": " + f.message + "\n";
  }
  INFO(failures);
  CHECK(report.run == 4);
  CHECK(report.passed == 4);
  CHECK(report.failures.empty());
}
