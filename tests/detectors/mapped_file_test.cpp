#include "detectors/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "detectors/decoder.h"
#include "detectors/input_reader.h"
#include "tests/detectors/event_render.h"
#include "tests/test_support.h"

using namespace sevwatch::detectors;
using sevwatch::detectors::testing::CollectingSink;
namespace fs = std::filesystem;

namespace {

std::size_t page() {
  return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

struct Fd {
  explicit Fd(const fs::path& p, int flags = O_RDONLY) : fd(::open(p.c_str(), flags)) {
    REQUIRE(fd >= 0);
  }
  ~Fd() { ::close(fd); }
  int fd;
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
  return s;
}

}  // namespace

TEST_CASE("MappedFile: windows concatenate to the file, and a file that grew is read on",
          "[input]") {
  sevwatch::testing::TempDir dir("mapped");
  const auto path = dir.path() / "f";
  const std::string text = pattern(5 * page() + 123);
  sevwatch::testing::write_file(path, text);
  Fd f(path);
  MappedFile m(f.fd, text.size(), 2 * page());
  REQUIRE(m.ok());
  std::string got;
  const char* data = nullptr;
  std::size_t n = 0;
  int windows = 0;
  while (got.size() < text.size() && m.next(data, n)) {
    got.append(data, n);
    ++windows;
  }
  CHECK(windows == 3);
  CHECK(got == text);
  // Appended after the reader reached the end it knew of.
  const std::string more = pattern(page() + 5);
  {
    Fd w(path, O_WRONLY | O_APPEND);
    REQUIRE(::write(w.fd, more.data(), more.size()) == static_cast<ssize_t>(more.size()));
  }
  while (m.next(data, n)) got.append(data, n);
  CHECK(got == text + more);
  CHECK_FALSE(m.shrank());
  CHECK(m.error() == nullptr);
}

TEST_CASE("MappedFile: a file truncated under the reader reads as zeros, then ends as shrunk",
          "[input]") {
  sevwatch::testing::TempDir dir("shrink");
  const auto path = dir.path() / "f";
  const std::string text = pattern(8 * page());
  sevwatch::testing::write_file(path, text);
  Fd f(path);
  MappedFile m(f.fd, text.size(), 4 * page());
  const char* data = nullptr;
  std::size_t n = 0;
  REQUIRE(m.next(data, n));
  REQUIRE(n == 4 * page());
  CHECK(data[0] == text[0]);
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(page())) == 0);
  // Past the new end: without the handler this access is SIGBUS.
  CHECK(data[0] == text[0]);
  CHECK(data[2 * page() + 1] == '\0');
  CHECK(data[4 * page() - 1] == '\0');
  CHECK_FALSE(m.next(data, n));
  CHECK(m.shrank());
}

TEST_CASE("read_input: a plain file truncated while it is scanned is an error, not a crash",
          "[input]") {
  sevwatch::testing::TempDir dir("shrinkscan");
  const auto path = dir.path() / "log.jsonl";
  std::string text;
  const std::string line =
      R"({"repoType":3,"repo":"r","reqUser":"u","evtTime":"2026-08-20 09:00:00.000","access":"SELECT","resource":"db/t","result":1})";
  while (text.size() < 256 * 1024) text += line + "\n";
  sevwatch::testing::write_file(path, text);

  // Cuts the file down to its first line when the first event arrives.
  struct TruncatingSink : CollectingSink {
    fs::path path;
    std::size_t keep = 0;
    void on_event(AccessEvent&& e) override {
      if (events.empty()) REQUIRE(::truncate(path.c_str(), static_cast<off_t>(keep)) == 0);
      CollectingSink::on_event(std::move(e));
    }
  } sink;
  sink.path = path;
  sink.keep = line.size() + 1;
  DecoderRegistry registry;
  register_builtin_decoders(registry);
  const auto r = read_input(path.string(), "ranger_audit", registry, DecoderOptions{}, sink);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("log.jsonl") != std::string::npos);
  CHECK(r.error.find("shrank") != std::string::npos);
  CHECK(sink.events.size() >= 1);
}

TEST_CASE("MappedFile: a SIGBUS outside its windows still reaches the previous handler",
          "[input]") {
  // The handler stays installed once a MappedFile made it; a fault elsewhere
  // must not be swallowed. Map a file, truncate it, and touch the cut-off
  // page through a mapping of our own (not a MappedFile window).
  sevwatch::testing::TempDir dir("foreign");
  const auto path = dir.path() / "f";
  sevwatch::testing::write_file(path, pattern(2 * page()));
  Fd f(path);
  MappedFile m(f.fd, 2 * page());  // installs the handler
  // In a child process: the fault must end it as it would without us (by
  // SIGBUS, or by a sanitizer's report when one handled SIGBUS before us).
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    void* p = ::mmap(nullptr, 2 * page(), PROT_READ, MAP_SHARED, f.fd, 0);
    if (p == MAP_FAILED) ::_exit(3);
    if (::truncate(path.c_str(), 0) != 0) ::_exit(4);
    volatile char c = static_cast<const char*>(p)[page()];  // not ours: default action
    (void)c;
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO("child status " << status);
  CHECK_FALSE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGBUS);
}
