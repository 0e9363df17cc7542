// `sevwatch scan` end to end with the real binary: replay, input order,
// malformed input, exit statuses, and the JSON contract.
#include <algorithm>
#include <fstream>

#include "app/demo_generator.h"
#include "tests/app/cli_runner.h"

using namespace sevwatch::testing;
namespace json = boost::json;

namespace {

// A small day of the demo warehouse (with outsider reads), written once.
const sevwatch::app::DemoFiles& small_demo() {
  static TempDir tmp("scan");
  static sevwatch::app::DemoFiles files = [] {
    sevwatch::app::DemoOptions o;
    o.outsiders = true;
    o.ordinary_events = 20'000;
    return sevwatch::app::write_demo(tmp.path() / "demo", o);
  }();
  return files;
}

std::vector<std::string> log_files() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(small_demo().logs)) {
    files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

CliResult scan(const std::string& store, const std::vector<std::string>& inputs,
               std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"scan",    "--json", "--context", small_demo().context.string(),
                                   "--store", store};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), inputs.begin(), inputs.end());
  return run_cli(args);
}

// `line` (a JSON object) with a key the decoder skips: 2 KB more to decode
// and nothing more for the engine, so that two threads on a short queue
// share out lines (the engine thread would otherwise wait).
std::string padded(const std::string& line) {
  REQUIRE(line.back() == '}');
  return line.substr(0, line.size() - 1) + ",\"x_pad\":\"" + std::string(2048, 'p') + "\"}";
}

// The whole day in one file, each line padded().
std::filesystem::path padded_day(const TempDir& tmp) {
  std::string text;
  for (const auto& f : log_files()) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) text += padded(line) + "\n";
  }
  const auto path = tmp.path() / "padded_day.jsonl";
  write_file(path, text);
  return path;
}

// An incident as `show --json` gives it, without the wall-clock fields.
json::object stable_show(const std::string& store, std::int64_t id) {
  const auto r = run_cli({"incidents", "show", std::to_string(id), "--store", store, "--json"});
  REQUIRE(r.status == 0);
  auto o = parse_json(r.out).as_object();
  o.erase("detected_at");
  o.erase("updated_at");
  o.erase("metrics");  // ttd_seconds: detected_at (wall clock) - opened_at
  return o;
}

json::array list(const std::string& store) {
  const auto r = run_cli({"incidents", "list", "--store", store, "--json"});
  REQUIRE(r.status == 0);
  return parse_json(r.out).as_array();
}

}  // namespace

TEST_CASE("scanning the same input twice opens no second incident", "[scan][replay]") {
  TempDir tmp("replay");
  const std::string store = "sqlite:" + (tmp.path() / "s.db").string();
  const auto first = scan(store, {small_demo().logs.string()});
  INFO(first.err);
  REQUIRE(first.status == 0);
  const auto a = parse_json(first.out).as_object();
  CHECK(a.at("incidents_opened").as_int64() == 1);
  const auto before = stable_show(store, 1);

  const auto second = scan(store, {small_demo().logs.string()});
  REQUIRE(second.status == 0);
  const auto b = parse_json(second.out).as_object();
  CHECK(b.at("incidents_opened").as_int64() == 0);
  CHECK(b.at("events").as_int64() == a.at("events").as_int64());
  CHECK(list(store).size() == 1);
  // Nothing doubled: counts, objects, readers and timeline are as before.
  CHECK(json::serialize(stable_show(store, 1)) == json::serialize(before));
}

TEST_CASE("scan results do not depend on the order of the input files", "[scan][order]") {
  TempDir tmp("order");
  auto files = log_files();
  REQUIRE(files.size() == 24);
  const std::string s1 = "sqlite:" + (tmp.path() / "forward.db").string();
  const std::string s2 = "sqlite:" + (tmp.path() / "shuffled.db").string();
  REQUIRE(scan(s1, files).status == 0);
  // Hourly files arriving out of order: reversed, then the outsider hour first.
  std::reverse(files.begin(), files.end());
  std::rotate(files.begin(), files.begin() + 12, files.end());
  REQUIRE(scan(s2, files).status == 0);
  const auto l1 = list(s1);
  const auto l2 = list(s2);
  REQUIRE(l1.size() == l2.size());
  REQUIRE_FALSE(l1.empty());
  for (const auto& v : l1) {
    const auto id = v.as_object().at("id").as_int64();
    CHECK(json::serialize(stable_show(s1, id)) == json::serialize(stable_show(s2, id)));
  }
  const auto inc = stable_show(s1, 1);
  CHECK(inc.at("sev").as_int64() == 1);
  CHECK(inc.at("evidence").as_object().at("outsider_reads").as_int64() == 12);
}

// Inputs already in time order stream from the decoder into the engine (on
// one or two threads); any step back in time abandons the stream and the
// events are sorted first. Every path gives the same incidents.
TEST_CASE("streamed and sorted scans give the same incidents", "[scan][order][stream]") {
  TempDir tmp("modes");
  const auto files = log_files();
  // Every hour in one file, with one event (whose millisecond no other event
  // shares, so sorting puts it back exactly) moved to the end.
  std::vector<std::string> lines;
  for (const auto& f : files) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  auto time_of = [&](std::size_t i) {
    const auto at = lines[i].find("\"evtTime\":\"");
    REQUIRE(at != std::string::npos);
    return lines[i].substr(at + 11, 23);
  };
  std::size_t moved = 0;
  for (std::size_t i = lines.size() / 3; i + 1 < lines.size(); ++i) {
    if (time_of(i - 1) < time_of(i) && time_of(i) < time_of(i + 1)) {
      moved = i;
      break;
    }
  }
  REQUIRE(moved > 0);
  std::string text;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i != moved) text += lines[i] + "\n";
  }
  text += lines[moved] + "\n";
  const auto shuffled = tmp.path() / "all.jsonl";
  write_file(shuffled, text);

  struct Run {
    std::string store;
    std::vector<std::string> inputs;
    std::vector<std::string> extra;
    std::string mode;
  };
  std::vector<Run> runs = {
      {"one.db", files, {"--threads", "1"}, "streamed"},
      // A short queue between the threads, lines slow to decode: the engine
      // thread decodes some lines.
      {"two.db", {padded_day(tmp).string()}, {"--threads", "2", "--stream-queue", "8"}, "streamed"},
      // The default queue holds this whole day: decoded ahead, none shared.
      {"two_ahead.db", files, {"--threads", "2"}, "streamed"},
      {"sorted.db", {shuffled.string()}, {"--threads", "1"}, "sorted"},
      {"sorted2.db", {shuffled.string()}, {"--threads", "2"}, "sorted"},
  };
  std::vector<json::array> lists;
  for (auto& run : runs) {
    run.store = "sqlite:" + (tmp.path() / run.store).string();
    const auto r = scan(run.store, run.inputs, run.extra);
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto o = parse_json(r.out).as_object();
    CHECK(o.at("mode").as_string() == run.mode);
    CHECK(o.at("events").as_int64() == static_cast<std::int64_t>(lines.size()));
    CHECK(o.at("phase_seconds").as_object().contains("stream_abandoned") == (run.mode == "sorted"));
    // Two threads streaming, short queue: the engine thread decoded lines.
    const bool shares = run.mode == "streamed" && run.extra.back() == "8";
    CHECK((o.at("shared_lines").as_int64() > 0) == shares);
    lists.push_back(list(run.store));
  }
  REQUIRE_FALSE(lists[0].empty());
  for (std::size_t k = 1; k < runs.size(); ++k) {
    INFO(runs[k].store);
    REQUIRE(lists[k].size() == lists[0].size());
    for (const auto& v : lists[0]) {
      const auto id = v.as_object().at("id").as_int64();
      CHECK(json::serialize(stable_show(runs[k].store, id)) ==
            json::serialize(stable_show(runs[0].store, id)));
    }
  }
  CHECK(stable_show(runs[0].store, 1).at("evidence").as_object().at("outsider_reads").as_int64() ==
        12);
}

// Events cross between threads (and wait in the sort) without the free text
// no rule reads; a rule that reads it must still see it on every path.
TEST_CASE("rules reading free text see it on every scan path", "[scan][stream][kept]") {
  TempDir tmp("kept");
  const auto rules = tmp.path() / "free_text.yaml";
  write_file(rules, R"(- rule: free_text_reads
  title: "Reads by a principal, told apart by their query text"
  description: every free-text field of a Ranger record, in one condition
  owner: security
  kind: aggregate
  condition: >
    query icontains "select" and session exists and client_ip cidr 10.0.0.0/8
    and event_uid exists and operation = SELECT and policy exists and format = ranger_audit
  aggregate: {function: count_distinct, field: query, group_by: [principal], window: 1h,
              tiers: [{gte: 1, sev: 5}]}
)");
  // The whole day in one file, read backwards by the hour: not in time order.
  auto files = log_files();
  std::string backwards;
  for (auto f = files.rbegin(); f != files.rend(); ++f) {
    std::ifstream in(*f);
    backwards.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto unordered = tmp.path() / "backwards.jsonl";
  write_file(unordered, backwards);

  struct Run {
    std::string store;
    std::vector<std::string> inputs;
    std::string threads;
    std::string mode;
  };
  std::vector<Run> runs = {{"one.db", files, "1", "streamed"},
                           {"two.db", files, "2", "streamed"},
                           {"sorted.db", {unordered.string()}, "1", "sorted"},
                           {"sorted2.db", {unordered.string()}, "2", "sorted"}};
  std::vector<std::int64_t> findings;
  std::vector<std::string> incidents;
  for (auto& run : runs) {
    run.store = "sqlite:" + (tmp.path() / run.store).string();
    const auto r =
        scan(run.store, run.inputs, {"--rules", rules.string(), "--threads", run.threads});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto o = parse_json(r.out).as_object();
    CHECK(o.at("mode").as_string() == run.mode);
    findings.push_back(o.at("findings").as_int64());
    auto all = list(run.store);
    for (auto& v : all) {
      v.as_object().erase("detected_at");
      v.as_object().erase("updated_at");
    }
    incidents.push_back(json::serialize(all));
  }
  CHECK(findings[0] >= 10);
  for (std::size_t k = 1; k < runs.size(); ++k) {
    INFO(runs[k].store);
    CHECK(findings[k] == findings[0]);
    CHECK(incidents[k] == incidents[0]);
  }
}

TEST_CASE("malformed lines are counted by reason and never stop the scan", "[scan][malformed]") {
  TempDir tmp("malformed");
  // Good lines: the first 200 of the 10:00 file (which hold grants).
  std::ifstream in(small_demo().logs / "ranger-audit-2026-08-20-10.jsonl");
  std::vector<std::string> good;
  std::string line;
  while (good.size() < 200 && std::getline(in, line)) good.push_back(line);
  REQUIRE(good.size() == 200);

  std::string text;
  std::size_t g = 0;
  auto put_good = [&](int n) {
    for (int i = 0; i < n; ++i) text += good[g++] + "\n";
  };
  put_good(40);
  text += good[0].substr(0, good[0].size() / 2) + "\n";  // truncated JSON
  put_good(40);
  text += "{\"repoType\":3,\"reqUser\":\"\xff\xfe\",\"evtTime\":\"2026-08-20 10:00:00.000\"}\n";
  put_good(40);
  text += "{\"reqData\":\"" + std::string(2 * 1024 * 1024, 'x') + "\"}\n";  // a 2 MB line
  put_good(40);
  text += std::string(5000, '[') + std::string(5000, ']') + "\n";  // 5,000-deep nesting
  text += "null\n";
  put_good(40);
  const auto path = tmp.path() / "mixed.jsonl";
  write_file(path, text);

  const std::string store = "sqlite:" + (tmp.path() / "s.db").string();
  const auto r = scan(store, {path.string()}, {"--format", "ranger_audit"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto o = parse_json(r.out).as_object();
  CHECK(o.at("events").as_int64() == 200);
  const auto& rejected = o.at("rejected").as_object();
  std::int64_t total = 0;
  for (const auto& kv : rejected) total += kv.value().as_int64();
  CHECK(total == 5);
  CHECK(rejected.at("truncated_json").as_int64() == 1);
  CHECK(rejected.at("invalid_utf8").as_int64() == 1);
  CHECK(rejected.at("line_too_long").as_int64() == 1);
  CHECK(rejected.at("nesting_too_deep").as_int64() == 1);
  CHECK(rejected.at("not_an_object").as_int64() == 1);
  CHECK(o.at("by_format").as_object().at("ranger_audit").as_int64() == 200);
}

TEST_CASE("two threads count the same rejects and events as one, lines shared or not",
          "[scan][malformed][stream]") {
  TempDir tmp("malformed2");
  // The whole small demo in one file, in time order, with a bad line every
  // 1,000 lines: some land in the batches of lines the engine thread decodes
  // (lines padded(), on a short queue: the engine thread takes lines).
  std::string text;
  std::size_t good = 0;
  std::size_t bad = 0;
  for (const auto& f : log_files()) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) {
      text += padded(line) + "\n";
      if (++good % 1000 == 0) {
        text += bad % 2 == 0 ? line.substr(0, line.size() / 2) + "\n" : "null\n";
        ++bad;
      }
    }
  }
  REQUIRE(bad >= 10);
  const auto path = tmp.path() / "day.jsonl";
  write_file(path, text);
  std::vector<json::object> out;
  for (const char* threads : {"1", "2"}) {
    const std::string store = "sqlite:" + (tmp.path() / (std::string(threads) + ".db")).string();
    const auto r = scan(store, {path.string()}, {"--threads", threads, "--stream-queue", "8"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    out.push_back(parse_json(r.out).as_object());
    CHECK(out.back().at("mode").as_string() == "streamed");
  }
  CHECK(out[1].at("shared_lines").as_int64() > 0);
  CHECK(out[0].at("events").as_int64() == static_cast<std::int64_t>(good));
  CHECK(out[1].at("events") == out[0].at("events"));
  CHECK(json::serialize(out[1].at("rejected")) == json::serialize(out[0].at("rejected")));
  CHECK(out[1].at("findings") == out[0].at("findings"));
  std::int64_t rejected = 0;
  for (const auto& kv : out[0].at("rejected").as_object()) rejected += kv.value().as_int64();
  CHECK(rejected == static_cast<std::int64_t>(bad));
}

TEST_CASE("the human summary names where each rejected line is", "[scan][malformed]") {
  TempDir tmp("human");
  const auto path = tmp.path() / "bad.jsonl";
  write_file(path, "{\"repoType\":3,\"evtTime\":\"2026-08-20 10:00:00.000\"\nnull\n");
  const auto r = run_cli({"scan", "--format", "ranger_audit", "--store",
                          "sqlite:" + (tmp.path() / "s.db").string(), path.string()});
  REQUIRE(r.status == 0);
  CHECK(r.out.find(path.string() + ":1") != std::string::npos);
  CHECK(r.out.find(path.string() + ":2") != std::string::npos);
}

TEST_CASE("scan reads standard input", "[scan]") {
  TempDir tmp("stdin");
  const std::string store = "sqlite:" + (tmp.path() / "s.db").string();
  const auto r =
      run_cli({"scan", "--json", "--context", small_demo().context.string(), "--store", store, "-"},
              (small_demo().logs / "ranger-audit-2026-08-20-10.jsonl").string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto o = parse_json(r.out).as_object();
  CHECK(o.at("incidents_opened").as_int64() == 1);
  CHECK(o.at("mode").as_string() == "sorted");  // stdin cannot be read twice: never streamed
}

TEST_CASE("--fail-on-sev exits 3 when a severe enough incident is open", "[scan][cli]") {
  TempDir tmp("fail");
  const std::string store = "sqlite:" + (tmp.path() / "s.db").string();
  const auto hour10 = (small_demo().logs / "ranger-audit-2026-08-20-10.jsonl").string();
  CHECK(scan(store, {hour10}, {"--fail-on-sev", "1"}).status == 0);  // SEV 2 only
  CHECK(scan(store, {hour10}, {"--fail-on-sev", "2"}).status == 3);
  CHECK(run_cli({"incidents", "resolve", "1", "--by", "tester", "--store", store}).status == 0);
  CHECK(scan(store, {hour10}, {"--fail-on-sev", "2"}).status == 0);
}

TEST_CASE("usage and runtime errors have their exit statuses", "[cli]") {
  TempDir tmp("cli");
  const std::string store = "sqlite:" + (tmp.path() / "s.db").string();
  CHECK(run_cli({"scan"}).status == 2);
  CHECK(run_cli({"scan", "--fail-on-sev", "9", "x"}).status == 2);
  CHECK(run_cli({"nonsense"}).status == 2);
  CHECK(run_cli({"incidents", "show", "abc", "--store", store}).status == 2);
  CHECK(run_cli({"incidents", "ack", "1", "--store", store}).status == 2);  // no --by
  const auto missing = run_cli({"scan", "--store", store, "/no/such/file"});
  CHECK(missing.status == 1);
  CHECK(missing.err.find("/no/such/file") != std::string::npos);
  const auto none = run_cli({"incidents", "show", "42", "--store", store});
  CHECK(none.status == 1);
  const auto bad_ctx_path = tmp.path() / "ctx.yaml";
  write_file(bad_ctx_path, "sensitivity:\n  x: extreme\n");
  const auto bad_ctx = run_cli({"scan", "--context", bad_ctx_path.string(), "--store", store,
                                (small_demo().logs / "ranger-audit-2026-08-20-00.jsonl").string()});
  CHECK(bad_ctx.status == 1);
  CHECK(bad_ctx.err.find(bad_ctx_path.string() + ":2:") != std::string::npos);
}
