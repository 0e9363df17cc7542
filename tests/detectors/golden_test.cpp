// Golden tests: every fixture under tests/fixtures/{ranger_audit,pgaudit}
// decoded and rendered one line per event/weird, compared with <input>.golden.
#include <filesystem>
#include <string>

#include "detectors/decoder.h"
#include "detectors/input_reader.h"
#include "tests/detectors/event_render.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace sevwatch::detectors;
using sevwatch::detectors::testing::CollectingSink;
using sevwatch::detectors::testing::render_all;

namespace {

std::string format_for(const fs::path& p) {
  const std::string dir = p.parent_path().filename().string();
  if (dir == "ranger_audit") return "ranger_audit";
  if (p.extension() == ".csv") return "pgaudit_csv";
  return "pgaudit";
}

void check_dir(const std::string& dir, std::initializer_list<std::string> exts) {
  DecoderRegistry registry;
  register_builtin_decoders(registry);
  int inputs = 0;
  for (const auto& entry : fs::directory_iterator(sevwatch::testing::fixture(dir))) {
    const fs::path& p = entry.path();
    bool wanted = false;
    for (const auto& e : exts) wanted = wanted || p.extension() == e;
    if (!wanted) continue;
    ++inputs;
    SECTION(p.filename().string()) {
      CollectingSink sink;
      // The fixtures' directory name, not the path, goes into the golden text.
      const std::string fmt_name = format_for(p);
      const InputResult r = read_input(p.string(), fmt_name, registry, DecoderOptions{}, sink);
      INFO(r.error);
      REQUIRE(r.ok);
      CHECK(r.format == fmt_name);
      // Auto-detection picks the same decoder for every fixture.
      CollectingSink auto_sink;
      const InputResult ra = read_input(p.string(), "auto", registry, DecoderOptions{}, auto_sink);
      CHECK(ra.format == fmt_name);
      std::string text = "# " + p.filename().string() + " lines=" + std::to_string(r.lines) +
                         " bytes=" + std::to_string(r.bytes) + "\n" + render_all(sink);
      sevwatch::testing::check_golden(fs::path(p.string() + ".golden"), text);
    }
  }
  CHECK(inputs > 0);
}

}  // namespace

TEST_CASE("ranger_audit fixtures match their goldens", "[golden][ranger]") {
  check_dir("ranger_audit", {".jsonl"});
}

TEST_CASE("pgaudit fixtures match their goldens", "[golden][pgaudit]") {
  check_dir("pgaudit", {".log", ".csv"});
}
