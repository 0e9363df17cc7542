// Every Sigma feature sevwatch cannot honour is a load-time diagnostic with a
// stable code at FILE:LINE:COL, never an exception.
#include <catch2/catch.hpp>

#include "tests/rules/sigma_test_support.h"

using namespace sevwatch;
using namespace sevwatch::testing::sigma;

namespace {

#define CHECK_DIAG(l, code, line, col)                                                   \
  do {                                                                                   \
    INFO("expected " << code << " at " << line << ":" << col << " in\n" << (l)->text()); \
    CHECK((l)->has(code, line, col));                                                    \
  } while (false)

}  // namespace

TEST_CASE("unsupported and conflicting modifiers are reported where they are written",
          "[sigma][diagnostics]") {
  auto l = load_text(R"(title: bad modifiers
id: m1
logsource: {product: postgresql}
detection:
    sel_a:
        query|contains|utf16le: abc
        query|frobnicate: abc
        query|contains|startswith: abc
        'query|i': abc
        query|expand: '%admins%'
    condition: 1 of sel_*
)");
  CHECK_DIAG(l, "E_SIGMA_UNSUPPORTED_MODIFIER", 6, 24);
  CHECK_DIAG(l, "E_SIGMA_UNSUPPORTED_MODIFIER", 7, 15);
  CHECK_DIAG(l, "E_SIGMA_MODIFIER_CONFLICT", 8, 24);
  CHECK_DIAG(l, "E_SIGMA_MODIFIER_CONFLICT", 9, 16);
  CHECK_DIAG(l, "E_SIGMA_UNSUPPORTED_MODIFIER", 10, 15);
  CHECK(l->set.rules.empty());
  CHECK(l->text().find("t.yml:6:24: error[E_SIGMA_UNSUPPORTED_MODIFIER]: modifier 'utf16le' is "
                       "not supported") != std::string::npos);
}

TEST_CASE("unmapped logsources and fields", "[sigma][diagnostics]") {
  auto fields = load_text(R"(title: unmapped field
id: u1
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: GetObject
        userAgent|contains: boto
    condition: selection
)",
                          no_raw_mapping());
  CHECK_DIAG(fields, "E_SIGMA_UNMAPPED_FIELD", 9, 9);
  CHECK(fields->text().find("Sigma field 'userAgent' has no mapping for logsource (product: aws, "
                            "service: cloudtrail)") != std::string::npos);

  auto source = load_text(R"(title: windows
id: w1
logsource:
    product: windows
    service: security
detection: {sel: {EventID: 4625}, condition: sel}
)");
  CHECK_DIAG(source, "E_SIGMA_UNMAPPED_LOGSOURCE", 4, 5);

  // SigmaHQ's MSSQL rule: the database category has no EventID.
  auto mssql = load_text(R"(title: MSSQL Failed Logon From External Network
id: ebfe73c2-5bc9-4ed9-aaa8-8b54b2b4777d
logsource:
    category: database
detection:
    selection:
      EventID:
        - 18456
    filter:
        IpAddress|startswith: '10.'
    condition: selection and not filter
)");
  CHECK_DIAG(mssql, "E_SIGMA_UNMAPPED_FIELD", 7, 7);
  CHECK_FALSE(mssql->has_code("E_SIGMA_UNKNOWN_IDENTIFIER"));
}

TEST_CASE("condition problems: old aggregations, near, syntax, unknown names",
          "[sigma][diagnostics]") {
  auto agg = load_fixture("sigma/errors/old_aggregation.yml");
  CHECK_DIAG(agg, "E_SIGMA_UNSUPPORTED_AGGREGATION", 8, 26);
  CHECK(agg->set.rules.empty());

  auto l = load_text(R"(title: c1
id: c1
logsource: {product: postgresql}
detection:
    sel: {command: DROP}
    condition: sel | near other
---
title: c2
id: c2
logsource: {product: postgresql}
detection:
    sel: {command: DROP}
    condition: sel and (sel or
---
title: c3
id: c3
logsource: {product: postgresql}
detection:
    sel: {command: DROP}
    condition: sel and not filter
---
title: c4
id: c4
logsource: {product: postgresql}
detection:
    sel: {command: DROP}
    condition: 'sel or 1 of nothing_*'
---
title: c5
id: c5
logsource: {product: postgresql}
detection:
    sel: {command: DROP}
    condition: 2 of sel
---
title: c6
id: c6
logsource: {product: postgresql}
detection:
    sel: {command: DROP}
)");
  CHECK_DIAG(l, "E_SIGMA_UNSUPPORTED_NEAR", 6, 20);
  CHECK_DIAG(l, "E_SIGMA_CONDITION", 13, 31);
  CHECK_DIAG(l, "E_SIGMA_UNKNOWN_IDENTIFIER", 20, 28);
  CHECK_DIAG(l, "E_SIGMA_UNKNOWN_IDENTIFIER", 27, 29);
  CHECK_DIAG(l, "E_SIGMA_CONDITION", 34, 16);
  CHECK_DIAG(l, "E_SIGMA_CONDITION", 40, 5);
  CHECK(l->set.rules.empty());
}

TEST_CASE("value, selection and keyword problems", "[sigma][diagnostics]") {
  auto l = load_text(R"(title: v1
id: v1
logsource: {product: aws, service: cloudtrail}
detection:
    keywords:
        - 'PutBucketPolicy'
    condition: keywords
)",
                     no_raw_mapping());
  CHECK_DIAG(l, "E_SIGMA_UNSUPPORTED_KEYWORDS", 6, 9);
  auto v = load_text(R"(title: v2
id: v2
logsource: {product: postgresql}
detection:
    sel:
        query: {nested: map}
        session_id|exists: maybe
        statement|base64: 'a*b'
        command: []
    empty:
    condition: sel or empty
---
title: v3
id: v3
logsource: {product: postgresql}
detection:
    sel:
        query|re: '(unclosed'
        action|contains: gra
        result: maybe
    condition: sel
)");
  CHECK_DIAG(v, "E_SIGMA_VALUE", 6, 16);
  CHECK_DIAG(v, "E_SIGMA_VALUE", 7, 28);
  CHECK_DIAG(v, "E_SIGMA_VALUE", 8, 27);
  CHECK_DIAG(v, "E_SIGMA_VALUE", 9, 18);
  CHECK_DIAG(v, "E_SIGMA_DETECTION", 10, 5);
  // Found by the condition language's own passes, at the Sigma value.
  CHECK_DIAG(v, "E_REGEX", 18, 20);
  CHECK_DIAG(v, "E_TYPE", 19, 9);
  CHECK_DIAG(v, "E_BAD_VALUE", 20, 17);
  CHECK(v->set.rules.empty());
}

TEST_CASE("document and metadata problems", "[sigma][diagnostics]") {
  auto l = load_text(R"(title: d1
id: d1
level: severe
logsource: {product: postgresql}
detection: {sel: {command: DROP}, condition: sel}
---
id: d2
logsource: {product: postgresql}
detection: {sel: {command: DROP}, condition: sel}
---
title: d3
id: d3
detection: {sel: {command: DROP}, condition: sel}
---
- just a list
---
title: d5
description: neither detection nor correlation
---
title: d6
logsource: {product: postgresql}
filter:
    rules: [d1]
    selection: {user: svc}
    condition: not selection
---
title: d7
id: d7
status: deprecated
logsource: {product: postgresql}
detection:
    sel: {command: DROP}
    timeframe: 5m
    condition: sel
---
title: d8
id: d7
logsource: {product: postgresql}
detection: {sel: {command: DROP}, condition: sel}
)");
  CHECK_DIAG(l, "E_SIGMA_LEVEL", 3, 8);
  CHECK_DIAG(l, "E_MISSING_KEY", 7, 1);   // no title
  CHECK_DIAG(l, "E_MISSING_KEY", 11, 1);  // no logsource
  CHECK_DIAG(l, "E_SIGMA_DOCUMENT", 15, 1);
  CHECK_DIAG(l, "E_SIGMA_DOCUMENT", 17, 1);
  CHECK_DIAG(l, "E_SIGMA_UNSUPPORTED_FILTER", 20, 1);
  CHECK_DIAG(l, "W_SIGMA_DISABLED", 29, 9);
  CHECK_DIAG(l, "W_SIGMA_TIMEFRAME_IGNORED", 33, 5);
  CHECK_DIAG(l, "E_DUPLICATE_RULE", 36, 1);
  // d7 still loads, disabled.
  REQUIRE(l->set.find("d7") != nullptr);
  CHECK_FALSE(l->set.find("d7")->enabled);

  auto yaml = load_text("title: x\ndetection: {sel: [a, b}\n");
  CHECK(yaml->has_code("E_YAML"));
}

TEST_CASE("correlation problems", "[sigma][diagnostics]") {
  const std::string base = R"(---
title: base
name: base
id: base-id
logsource: {product: postgresql}
detection: {sel: {command: DROP}, condition: sel}
---
title: other
name: other
id: other-id
logsource: {product: aws, service: cloudtrail}
detection: {sel: {eventName: DeleteTable}, condition: sel}
)";
  auto l = load_text(R"(title: k1
id: k1
correlation:
    type: value_avg
    rules: [base]
    timespan: 1h
    condition: {field: object, gte: 3}
---
title: k2
id: k2
correlation:
    type: event_count
    rules: [base, nope]
    timespan: 1h
    condition: {gte: 3}
---
title: k3
id: k3
correlation:
    type: event_count
    rules: [base]
    timespan: soon
    condition:
        lte: 3
---
title: k4
id: k4
correlation:
    type: temporal
    rules: [base, other, base]
    group-by: [principal]
    timespan: 1h
    aliases:
        ip: {base: client_ip}
---
title: k5
id: k5
correlation:
    type: event_count
    rules: [base, other]
    group-by: [eventSource]
    timespan: 1h
    condition: 3
---
title: k6
id: k6
correlation:
    type: event_count
    rules: [k1]
    timespan: 1h
    condition: {gte: 3}
)" + base);
  CHECK_DIAG(l, "E_SIGMA_UNSUPPORTED_CORRELATION", 4, 11);
  CHECK_DIAG(l, "E_SIGMA_UNKNOWN_RULE", 13, 19);
  CHECK_DIAG(l, "E_BAD_DURATION", 22, 15);
  CHECK_DIAG(l, "E_SIGMA_UNSUPPORTED_CORRELATION", 33, 5);  // aliases
  CHECK_DIAG(l, "E_SIGMA_CORRELATION", 43, 16);
  CHECK_DIAG(l, "E_SIGMA_UNMAPPED_FIELD", 41, 16);  // eventSource: no field for postgresql
  CHECK(l->set.find("k6") == nullptr);
  // Only the two base rules loaded, still enabled.
  CHECK(l->set.rules.size() == 2);
  CHECK(l->rule("base-id").enabled);

  auto cond = load_text(R"(title: k3
id: k3
correlation:
    type: event_count
    rules: [base]
    timespan: 1h
    condition:
        lte: 3
---
title: k4
id: k4
correlation:
    type: temporal
    rules: [base, other, base]
    group-by: [principal]
    timespan: 1h
---
title: k5
id: k5
correlation:
    type: event_count
    rules: [base, other]
    group-by: [eventSource]
    timespan: 1h
    condition: {gte: 3}
---
title: k5b
id: k5b
correlation: {type: event_count, rules: [base], timespan: 1h, condition: {gte: 2}}
---
title: k6
id: k6
correlation:
    type: event_count
    rules: [k5b]
    timespan: 1h
    condition: {gte: 3}
)" + base);
  CHECK_DIAG(cond, "E_SIGMA_UNSUPPORTED_CONDITION", 8, 9);
  CHECK_DIAG(cond, "E_SIGMA_UNSUPPORTED_CORRELATION", 14, 12);
  CHECK_DIAG(cond, "E_SIGMA_UNMAPPED_FIELD", 23, 16);  // eventSource: raw.* for CloudTrail only
  CHECK_DIAG(cond, "E_SIGMA_UNSUPPORTED_CORRELATION", 35, 13);  // chained
  CHECK(cond->set.find("k5b") != nullptr);
}

TEST_CASE("malformed Sigma shapes are diagnostics, never exceptions", "[sigma][diagnostics]") {
  const char* shapes[] = {
      "title: a\nlogsource: x\ndetection: {condition: sel}\n",
      "title: a\nlogsource: {product: postgresql}\ndetection: [a, b]\n",
      "title: a\nlogsource: {product: postgresql}\ndetection: {sel: {a: b}, condition: {x: y}}\n",
      "title: a\nlogsource: {product: postgresql}\ndetection: {sel: [[a]], condition: sel}\n",
      "title: a\nlogsource: {product: postgresql}\ndetection: {sel: {'|': a}, condition: sel}\n",
      "title: a\nlogsource: {product: postgresql}\ndetection: {sel: {'query|': a}, condition: "
      "sel}\n",
      "title: a\nlogsource: {product: postgresql}\ndetection: {sel: {[a]: b}, condition: sel}\n",
      "title: a\nlogsource: {product: postgresql}\ndetection: {sel: {user: a}, condition: ''}\n",
      "title: a\nlogsource: {product: postgresql}\ndetection: {sel: {user: a}, condition: "
      "'(((sel'}\n",
      "title: [a]\ntags: {a: b}\nlogsource: {product: [x]}\ndetection: {condition: sel}\n",
      "title: a\ncorrelation: [a]\n",
      "title: a\ncorrelation: {type: [x], rules: {a: b}, timespan: [1h], group-by: {a: b}}\n",
      "title: a\ncorrelation: {type: event_count, rules: [], timespan: 1h, condition: {gte: x}}\n",
      "detection: 1\n---\n---\n: :\n",
  };
  for (const char* yaml : shapes) {
    INFO(yaml);
    std::unique_ptr<Loaded> l;
    REQUIRE_NOTHROW(l = load_text(yaml));
    INFO(l->text());
    CHECK(l->diags.has_errors());
    CHECK(l->set.rules.empty());
  }
  // Deep nesting is refused, not recursed into without bound.
  std::string deep =
      "title: a\nlogsource: {product: postgresql}\ndetection:\n  sel: {user: a}\n"
      "  condition: '" +
      std::string(200, '(') + "sel" + std::string(200, ')') + "'\n";
  auto l = load_text(deep);
  CHECK(l->has_code("E_SIGMA_CONDITION"));
}
