// Helpers shared by the tests: where the source tree is, reading files, and
// golden-file comparison (UPDATE_GOLDEN=1 rewrites the golden file; check the
// diff by eye before committing it).
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace sevwatch::testing {

inline std::filesystem::path source_dir() {
  if (const char* env = std::getenv("SEVWATCH_SOURCE_DIR")) return env;
  return SEVWATCH_SOURCE_DIR;
}

inline std::filesystem::path fixture(const std::string& rel) {
  return source_dir() / "tests" / "fixtures" / rel;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("sevwatch-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Compares `actual` with the golden file; with UPDATE_GOLDEN=1 rewrites it.
inline void check_golden(const std::filesystem::path& golden, const std::string& actual) {
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    write_file(golden, actual);
    SUCCEED("golden updated: " << golden.string());
    return;
  }
  REQUIRE(std::filesystem::exists(golden));
  const std::string expected = read_file(golden);
  INFO("golden file: " << golden.string() << " (refresh with UPDATE_GOLDEN=1)");
  CHECK(actual == expected);
}

}  // namespace sevwatch::testing
