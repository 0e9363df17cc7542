// Runs `sevwatch run` as a child process for the daemon tests: spawn with
// stderr to a file, wait for its exit, poll the store's checkpoints.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include "tests/app/cli_runner.h"
#include "triage/incident_store.h"

namespace sevwatch::testing {

// The shared `run` fixtures (tests/fixtures/run/).
inline std::string run_exposure_rule() {
  return read_file(fixture("run/broad_exposure_sensitive.yaml"));
}
inline std::string run_context_all_confidential() {
  return read_file(fixture("run/context_all_confidential.yaml"));
}

inline pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& err_file,
                   const std::vector<std::string>& env = {}) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(err, 2);
    ::dup2(null, 1);
    ::dup2(null, 0);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(SEVWATCH_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(SEVWATCH_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

// The exit status, 128 + signal when killed, -1 after a timeout (then killed).
inline int wait_exit(pid_t pid, int timeout_ms = 20000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The committed checkpoint of a source's first stream, 0 when none yet.
inline std::uint64_t checkpoint_offset(const std::filesystem::path& db, const std::string& source) {
  if (!std::filesystem::exists(db)) return 0;
  std::string error;
  auto store = triage::IncidentStore::open("sqlite:" + db.string(), error);
  if (!store) return 0;
  try {
    const auto cps = store->get_checkpoints(source);
    return cps.empty() ? 0 : cps.front().offset;
  } catch (const std::exception&) {
    return 0;  // the schema is not there yet
  }
}

inline bool wait_for(const std::function<bool()>& done, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

inline void append(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << text;
}

}  // namespace sevwatch::testing
