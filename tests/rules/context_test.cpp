#include "rules/context.h"

#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "tests/test_support.h"

using namespace sevwatch::rules;
using sevwatch::testing::fixture;
using sevwatch::testing::TempDir;
using sevwatch::testing::write_file;

namespace {

// The diagnostics with `code`, as "line:col".
std::vector<std::string> positions(const Diagnostics& d, std::string_view code) {
  std::vector<std::string> out;
  for (const auto& x : d.all()) {
    if (x.code == code) out.push_back(fmt::format("{}:{}", x.loc.line, x.loc.col));
  }
  return out;
}

const Diagnostic* first(const Diagnostics& d, std::string_view code) {
  for (const auto& x : d.all()) {
    if (x.code == code) return &x;
  }
  return nullptr;
}

std::unique_ptr<Context> load(std::string_view yaml, Diagnostics& d) {
  return Context::load_string(yaml, "ctx.yaml", d);
}

}  // namespace

TEST_CASE("the example context of spec/context.md loads", "[context]") {
  Diagnostics d;
  auto ctx = Context::load_file(fixture("context/example.yaml").string(), d);
  INFO(d.to_text());
  REQUIRE(ctx);
  CHECK(d.all().empty());

  const auto& t = ctx->classify("hive.mci_transcripts.day1");
  CHECK(t.sensitivity == "prompts_transcripts");
  CHECK(t.level == Level::high);
  CHECK(t.owner == "mci-eng");
  CHECK(t.audience == std::vector<std::string>{"mci-eng", "security"});
  const auto& other = ctx->classify("hive.ads.clicks");
  CHECK(other.sensitivity == "internal");
  CHECK(other.level == Level::low);
  CHECK(ctx->inventory().empty());  // only globs

  CHECK(ctx->level_of_class("people_performance") == Level::high);
  CHECK(ctx->level_of_class("confidential") == Level::medium);
  CHECK(ctx->level_of_class("unclassified") == Level::low);
  CHECK_FALSE(ctx->level_of_class("nope").has_value());

  CHECK(ctx->audience_class("*") == Audience::internet);
  CHECK(ctx->audience_class("allUsers") == Audience::internet);
  CHECK(ctx->audience_class("AuthenticatedUsers") == Audience::external);
  CHECK(ctx->audience_class("account users") == Audience::company);
  CHECK(ctx->audience_class("public") == Audience::company);
  CHECK(ctx->audience_class("eng-all") == Audience::department);
  CHECK_FALSE(ctx->audience_class("alice").has_value());
  CHECK_FALSE(ctx->audience_class("any").has_value());  // "*" is a name, not a glob

  CHECK(ctx->is_intended_reader("alice", {}, t));
  CHECK(ctx->is_intended_reader("sec-oncall", {}, t));
  CHECK(ctx->is_intended_reader("dana", {"security"}, t));
  CHECK_FALSE(ctx->is_intended_reader("dana", {"sales-all"}, t));
}

TEST_CASE("a context with objects_csv: CSV rows before globs", "[context]") {
  Diagnostics d;
  auto ctx = Context::load_file(fixture("context/with_csv.yaml").string(), d);
  INFO(d.to_text());
  REQUIRE(ctx);

  // The CSV wins over the glob that also matches.
  const auto& t1 = ctx->classify("dw_hive.mci_db01.t1");
  CHECK(t1.sensitivity == "confidential");
  CHECK(t1.level == Level::medium);
  CHECK(t1.owner == "ads-team");
  CHECK(t1.audience == std::vector<std::string>{"ads-team"});
  // ... and over an exact `objects` entry.
  CHECK(ctx->classify("dw_hive.ads.exact_table").sensitivity == "internal");
  // Quoted fields, CRLF, `;`-separated audience with spaces.
  const auto& t2 = ctx->classify("dw_hive.mci_db01.t2");
  CHECK(t2.sensitivity == "prompts_transcripts");
  CHECK(t2.audience == std::vector<std::string>{"mci-eng", "security"});
  const auto& orders = ctx->classify("dw_hive.sales.orders");
  CHECK(orders.owner == "sales-team");
  CHECK(orders.audience.empty());
  // Not in the CSV: the globs, in order.
  CHECK(ctx->classify("dw_hive.mci_db01.t9").sensitivity == "prompts_transcripts");
  CHECK(ctx->classify("dw_hive.other.x").sensitivity == "internal");

  CHECK(ctx->inventory() == std::vector<std::string>{"dw_hive.ads.exact_table",
                                                     "dw_hive.mci_db01.t1", "dw_hive.mci_db01.t2",
                                                     "dw_hive.sales.orders"});

  // Owner only, the owner being a principal.
  CHECK(ctx->is_intended_reader("sales-team", {}, orders));
  CHECK_FALSE(ctx->is_intended_reader("alice", {}, orders));
  // Owner only, the owner being a group with a subgroup.
  const auto& t9 = ctx->classify("dw_hive.mci_db01.t9");
  CHECK(ctx->is_intended_reader("alice", {}, t9));
  CHECK(ctx->is_intended_reader("bob", {}, t9));  // via mci-oncall
  CHECK(ctx->is_intended_reader("zed", {"mci-oncall"}, t9));
  CHECK(ctx->is_intended_reader("mci-eng", {}, t9));
  CHECK_FALSE(ctx->is_intended_reader("eve", {"sales"}, t9));
  // No owner, no audience: nobody.
  CHECK_FALSE(ctx->is_intended_reader("alice", {}, ctx->classify("dw_hive.other.x")));
}

TEST_CASE("is_external: domains, ARNs, principal globs", "[context]") {
  Diagnostics d;
  auto ctx = Context::load_file(fixture("context/with_csv.yaml").string(), d);
  REQUIRE(ctx);
  CHECK_FALSE(ctx->is_external("alice@example.com"));
  CHECK_FALSE(ctx->is_external("ALICE@EXAMPLE.COM"));  // domains are case-insensitive
  CHECK_FALSE(ctx->is_external("user:alice@example.com"));
  CHECK(ctx->is_external("alice@other.com"));
  CHECK(ctx->is_external("alice@sub.example.com"));  // exact domains only
  CHECK(ctx->is_external("alice@example.com.evil.org"));
  CHECK_FALSE(ctx->is_external("arn:aws:iam::123456789012:user/alice"));
  CHECK_FALSE(ctx->is_external("arn:aws:sts::123456789012:assumed-role/r/s"));
  CHECK(ctx->is_external("arn:aws:iam::999999999999:role/x"));
  CHECK(ctx->is_external("arn:aws:iam"));
  CHECK_FALSE(ctx->is_external("svc-mci-pipeline"));
  CHECK_FALSE(ctx->is_external("alice"));
  CHECK_FALSE(ctx->is_external("dana"));
  CHECK(ctx->is_external("eve"));
  CHECK(ctx->is_external("Alice"));  // principal globs are case-sensitive

  auto everyone = load("sensitivity: {internal: low}\n", d);
  REQUIRE(everyone);
  CHECK_FALSE(everyone->is_external("eve@evil.org"));
  CHECK_FALSE(everyone->is_external("arn:aws:iam::999999999999:role/x"));
  CHECK_FALSE(everyone->is_external("eve"));
}

TEST_CASE("the builtin default context", "[context]") {
  auto ctx = Context::builtin_default();
  REQUIRE(ctx);
  const auto& o = ctx->classify("anything.at.all");
  CHECK(o.sensitivity == "internal");
  CHECK(o.level == Level::low);
  CHECK(ctx->audience_class("AllUsers") == Audience::internet);
  CHECK(ctx->audience_class("allAuthenticatedUsers") == Audience::external);
  CHECK(ctx->audience_class("IAM_ALLOWED_PRINCIPALS") == Audience::company);
  CHECK(ctx->audience_class("account users") == Audience::company);
  CHECK_FALSE(ctx->is_external("someone@anywhere.org"));
  CHECK(ctx->inventory().empty());
}

TEST_CASE("objects: first match wins, exact names join the inventory", "[context]") {
  Diagnostics d;
  auto ctx = load(R"(sensitivity: {x: high, y: low}
objects:
  - match: "a.*"
    sensitivity: x
  - match: a.b
    sensitivity: y
  - match: c.d
    sensitivity: y
  - match: "c.*"
    sensitivity: x
  - match: c.d
    sensitivity: x
)",
                  d);
  INFO(d.to_text());
  REQUIRE(ctx);
  CHECK(ctx->classify("a.b").sensitivity == "x");
  CHECK(ctx->classify("c.d").sensitivity == "y");
  CHECK(ctx->classify("c.e").sensitivity == "x");
  CHECK(ctx->classify("z").sensitivity == "unclassified");
  CHECK(ctx->classify("z").level == Level::low);
  CHECK(ctx->inventory() == std::vector<std::string>{"a.b", "c.d"});
}

TEST_CASE("groups are transitive; audiences pick the broadest class", "[context]") {
  Diagnostics d;
  auto ctx = load(R"(sensitivity: {s: high}
audiences:
  company: [x, public]
  internet: [x]
groups:
  a: [b, anna]
  b: [c]
  c: [carol]
objects:
  - match: "t.*"
    sensitivity: s
    owner: nobody
    audience: [a]
)",
                  d);
  INFO(d.to_text());
  REQUIRE(ctx);
  CHECK(ctx->audience_class("x") == Audience::internet);
  CHECK(ctx->audience_class("public") == Audience::company);
  const auto& t = ctx->classify("t.1");
  CHECK(ctx->is_intended_reader("carol", {}, t));
  CHECK(ctx->is_intended_reader("anna", {}, t));
  CHECK(ctx->is_intended_reader("x", {"c"}, t));
  CHECK(ctx->is_intended_reader("x", {"zz", "b"}, t));
  CHECK_FALSE(ctx->is_intended_reader("x", {"d"}, t));
  CHECK_FALSE(ctx->is_intended_reader("nobody", {}, t));  // audience given: owner not implied
  // An ObjectInfo that is not the context's own.
  ObjectInfo mine;
  mine.audience = {"b"};
  CHECK(ctx->is_intended_reader("carol", {}, mine));
  CHECK_FALSE(ctx->is_intended_reader("anna", {}, mine));
  ObjectInfo owned;
  owned.owner = "c";
  CHECK(ctx->is_intended_reader("carol", {}, owned));
  CHECK(ctx->is_intended_reader("y", {"c"}, owned));
  CHECK_FALSE(ctx->is_intended_reader("anna", {}, owned));
}

TEST_CASE("every error is reported at once, with its position", "[context]") {
  Diagnostics d;
  auto ctx = load(R"(sensitivity:
  secret: high
  weird: extreme
organization:
  domains: [example.com]
  accnts: ["1"]
audiences:
  everyone: [x]
groups:
  a: [b]
  b: [c]
  c: [a]
objects:
  - match: "hive.[abc"
    sensitivity: secret
  - match: "hive.*"
    sensitivity: nope
    colour: red
extra: 1
)",
                  d);
  CHECK_FALSE(ctx);
  INFO(d.to_text());
  CHECK(positions(d, "E_UNKNOWN_LEVEL") == std::vector<std::string>{"3:10"});
  CHECK(positions(d, "E_UNKNOWN_KEY") == std::vector<std::string>{"19:1", "6:3", "18:5"});
  CHECK(positions(d, "E_UNKNOWN_AUDIENCE") == std::vector<std::string>{"8:3"});
  CHECK(positions(d, "E_GROUP_CYCLE") == std::vector<std::string>{"12:7"});
  CHECK(positions(d, "E_BAD_GLOB") == std::vector<std::string>{"14:12"});
  CHECK(positions(d, "E_UNKNOWN_CLASS") == std::vector<std::string>{"17:18"});
  CHECK(d.all().size() == 8);
  REQUIRE(first(d, "E_GROUP_CYCLE"));
  CHECK(first(d, "E_GROUP_CYCLE")->message == "cycle in groups: a -> b -> c -> a");
  CHECK(format_diagnostic(*first(d, "E_UNKNOWN_LEVEL"))
            .starts_with(
                "ctx.yaml:3:10: error[E_UNKNOWN_LEVEL]: unknown sensitivity level 'extreme'"));
}

TEST_CASE("a group that contains itself is a cycle", "[context]") {
  Diagnostics d;
  CHECK_FALSE(load("groups:\n  g: [x, g]\n", d));
  CHECK(positions(d, "E_GROUP_CYCLE") == std::vector<std::string>{"2:10"});
  CHECK(first(d, "E_GROUP_CYCLE")->message == "cycle in groups: g -> g");
}

TEST_CASE("YAML syntax errors carry the parser's position", "[context]") {
  Diagnostics d;
  CHECK_FALSE(load("sensitivity:\n  a: high\nobjects: [\n", d));
  REQUIRE(d.all().size() == 1);
  CHECK(d.all()[0].code == "E_YAML");
  CHECK(d.all()[0].loc.file == "ctx.yaml");
  CHECK(positions(d, "E_YAML") == std::vector<std::string>{"4:1"});
}

TEST_CASE("wrong node types, missing and duplicate keys", "[context]") {
  Diagnostics d;
  CHECK_FALSE(load(R"(sensitivity: [a, b]
groups:
  g: solo
objects:
  - sensitivity: nope
  - just-a-string
organization:
  domains: example.com
audiences:
  company: [public]
  company: [x]
objects_csv: [a.csv]
)",
                   d));
  INFO(d.to_text());
  CHECK(positions(d, "E_TYPE") == std::vector<std::string>{"8:12", "1:14", "3:6", "6:5", "12:14"});
  CHECK(positions(d, "E_MISSING_KEY") == std::vector<std::string>{"5:5"});
  CHECK(positions(d, "E_UNKNOWN_CLASS") == std::vector<std::string>{"5:18"});
  CHECK(positions(d, "E_DUPLICATE_KEY") == std::vector<std::string>{"11:3"});

  Diagnostics missing;
  CHECK_FALSE(load("sensitivity: {s: low}\nobjects:\n  - match: x\n", missing));
  CHECK(positions(missing, "E_MISSING_KEY") == std::vector<std::string>{"3:5"});

  Diagnostics root;
  CHECK_FALSE(load("- a\n- b\n", root));
  CHECK(positions(root, "E_TYPE") == std::vector<std::string>{"1:1"});
}

TEST_CASE("a missing context file is E_IO", "[context]") {
  Diagnostics d;
  CHECK_FALSE(Context::load_file("/nonexistent/ctx.yaml", d));
  REQUIRE(first(d, "E_IO"));
  CHECK(first(d, "E_IO")->loc.file == "/nonexistent/ctx.yaml");
}

TEST_CASE("CSV problems are reported as CSV:LINE:COL", "[context]") {
  TempDir dir("ctx-csv");
  const auto yaml = (dir.path() / "ctx.yaml").string();
  const auto csv = (dir.path() / "ctx.csv").string();
  write_file(yaml, "sensitivity: {secret: high}\nobjects_csv: ctx.csv\n");

  SECTION("rows") {
    write_file(csv,
               "object,sensitivity,owner,audience\n"
               "a.b.c,secret,o,\n"
               "a.b.d,secret,o\n"
               "a.b.e,secret,o,x,y\n"
               "a.b.f,nope,o,x\n"
               "\"a.b.g\"x,secret,o,\n"
               ",secret,o,\n"
               "\"multi\nline\",nope,o,x\n");
    Diagnostics d;
    CHECK_FALSE(Context::load_file(yaml, d));
    INFO(d.to_text());
    CHECK(positions(d, "E_CSV") ==
          std::vector<std::string>{"3:15", "4:18", "5:7", "6:8", "7:1", "9:7"});
    CHECK(d.all().size() == 6);
    CHECK(d.all()[0].loc.file == csv);
    CHECK(d.all()[0].message.find("found 3") != std::string::npos);
    CHECK(d.all()[2].message.find("unknown sensitivity class 'nope'") != std::string::npos);
  }
  SECTION("header") {
    write_file(csv, "object,class,owner,audience\na,secret,,\n");
    Diagnostics d;
    CHECK_FALSE(Context::load_file(yaml, d));
    CHECK(positions(d, "E_CSV") == std::vector<std::string>{"1:1"});
  }
  SECTION("unterminated quote") {
    write_file(csv, "object,sensitivity,owner,audience\n\"a,secret,,\n");
    Diagnostics d;
    CHECK_FALSE(Context::load_file(yaml, d));
    CHECK(positions(d, "E_CSV") == std::vector<std::string>{"2:1"});
  }
  SECTION("missing file") {
    Diagnostics d;
    CHECK_FALSE(Context::load_file(yaml, d));
    CHECK(positions(d, "E_IO") == std::vector<std::string>{"2:14"});
    CHECK(d.all()[0].loc.file == yaml);
  }
  SECTION("duplicate rows warn, first wins") {
    write_file(csv, "object,sensitivity,owner,audience\na,secret,o1,\na,secret,o2,\n");
    Diagnostics d;
    auto ctx = Context::load_file(yaml, d);
    REQUIRE(ctx);
    CHECK(positions(d, "W_CSV_DUPLICATE") == std::vector<std::string>{"3:1"});
    CHECK(ctx->classify("a").owner == "o1");
    CHECK(ctx->inventory() == std::vector<std::string>{"a"});
  }
}

TEST_CASE("a 60,000-row CSV inventory loads", "[context]") {
  TempDir dir("ctx-60k");
  std::string csv = "object,sensitivity,owner,audience\n";
  csv.reserve(60000 * 80);
  for (int db = 0; db < 90; ++db) {
    for (int t = 0; t < 500; ++t) {
      csv += fmt::format(
          "dw_hive.mci_db{:02}.t{:03},prompts_transcripts,mci-eng,mci-eng;security\n", db, t);
    }
  }
  for (int t = 0; t < 15000; ++t) {
    csv += fmt::format("dw_hive.ads_{}.t{},confidential,ads,\n", t / 500, t);
  }
  write_file(dir.path() / "inventory.csv", csv);
  write_file(dir.path() / "ctx.yaml", R"(sensitivity:
  prompts_transcripts: high
  confidential: medium
  internal: low
groups:
  mci-eng: [alice, bob]
  security: [sec-oncall]
  ads: [adam]
objects_csv: inventory.csv
objects:
  - match: "*"
    sensitivity: internal
)");
  Diagnostics d;
  auto ctx = Context::load_file((dir.path() / "ctx.yaml").string(), d);
  INFO(d.to_text());
  REQUIRE(ctx);
  CHECK(d.all().empty());
  REQUIRE(ctx->inventory().size() == 60000);
  CHECK(ctx->inventory().front() == "dw_hive.mci_db00.t000");
  CHECK(ctx->inventory().back() == "dw_hive.ads_29.t14999");
  const auto& m = ctx->classify("dw_hive.mci_db89.t499");
  CHECK(m.level == Level::high);
  CHECK(m.audience == std::vector<std::string>{"mci-eng", "security"});
  CHECK(ctx->is_intended_reader("bob", {}, m));
  CHECK(ctx->is_intended_reader("sec-oncall", {}, m));
  CHECK_FALSE(ctx->is_intended_reader("dana", {}, m));
  const auto& a = ctx->classify("dw_hive.ads_3.t1700");
  CHECK(a.level == Level::medium);
  CHECK(ctx->is_intended_reader("adam", {}, a));
  CHECK_FALSE(ctx->is_intended_reader("bob", {}, a));
  CHECK(ctx->classify("dw_hive.other.t").sensitivity == "internal");
}
