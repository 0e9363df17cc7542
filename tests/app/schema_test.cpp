// `incidents list --json` and `incidents show --json` validate against
// spec/incident.schema.json, checked by an independent validator (Python's
// jsonschema, Draft 2020-12).
#include "app/demo_generator.h"
#include "tests/app/cli_runner.h"

using namespace sevwatch::testing;

namespace {

// Validates every document against the schema; returns the validator's output.
CliResult validate(const std::filesystem::path& schema, const std::filesystem::path& doc,
                   bool is_array) {
  const std::string script =
      "import json,sys\n"
      "from jsonschema import Draft202012Validator, FormatChecker\n"
      "schema=json.load(open(sys.argv[1]))\n"
      "doc=json.load(open(sys.argv[2]))\n"
      "docs=doc if sys.argv[3]=='array' else [doc]\n"
      "assert isinstance(docs,list)\n"
      "v=Draft202012Validator(schema, format_checker=FormatChecker())\n"
      "errs=[e for d in docs for e in v.iter_errors(d)]\n"
      "[print(e.json_path, e.message) for e in errs]\n"
      "print('validated', len(docs))\n"
      "sys.exit(1 if errs else 0)\n";
  const auto py = doc.parent_path() / "validate.py";
  write_file(py, script);
  const std::string cmd = "/usr/bin/python3 " + shell_quote(py.string()) + " " +
                          shell_quote(schema.string()) + " " + shell_quote(doc.string()) + " " +
                          (is_array ? "array" : "object") + " 2>&1";
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
  const int rc = ::pclose(p);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

}  // namespace

TEST_CASE("incident JSON validates against the schema", "[schema]") {
  TempDir tmp("schema");
  sevwatch::app::DemoOptions o;
  o.outsiders = true;
  o.ordinary_events = 5'000;
  const auto files = sevwatch::app::write_demo(tmp.path() / "demo", o);
  const std::string store = "sqlite:" + (tmp.path() / "s.db").string();
  REQUIRE(
      run_cli({"scan", "--context", files.context.string(), "--store", store, files.logs.string()})
          .status == 0);
  // A human act, so the timeline has every kind of entry.
  REQUIRE(
      run_cli({"incidents", "ack", "1", "--by", "oncall", "--note", "looking", "--store", store})
          .status == 0);

  const auto schema = source_dir() / "spec" / "incident.schema.json";
  const auto listed = run_cli({"incidents", "list", "--store", store, "--json"});
  REQUIRE(listed.status == 0);
  REQUIRE(parse_json(listed.out).as_array().size() >= 1);
  write_file(tmp.path() / "list.json", listed.out);
  auto v1 = validate(schema, tmp.path() / "list.json", true);
  INFO(v1.out);
  CHECK(v1.status == 0);

  const auto shown = run_cli({"incidents", "show", "1", "--store", store, "--json"});
  REQUIRE(shown.status == 0);
  const auto obj = parse_json(shown.out).as_object();
  CHECK(obj.at("objects").as_array().size() == 45000);
  CHECK_FALSE(obj.at("readers").as_array().empty());
  CHECK_FALSE(obj.at("timeline").as_array().empty());
  write_file(tmp.path() / "show.json", shown.out);
  auto v2 = validate(schema, tmp.path() / "show.json", false);
  INFO(v2.out);
  CHECK(v2.status == 0);

  // The validator does catch a broken document.
  auto broken = obj;
  broken["sev"] = 7;
  write_file(tmp.path() / "broken.json", boost::json::serialize(broken));
  CHECK(validate(schema, tmp.path() / "broken.json", false).status == 1);
}
