#include "detectors/mapped_file.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace sevwatch::detectors {
namespace {

// The windows the SIGBUS handler may patch. A signal handler is process-wide
// by nature, so this table is too; it holds only address ranges and flags.
struct WindowSlot {
  std::atomic<bool> taken{false};
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::uintptr_t> end{0};
  std::atomic<bool> faulted{false};
};
constexpr int kSlots = 32;
WindowSlot g_slots[kSlots];
std::uintptr_t g_page = 4096;
struct sigaction g_previous {};
std::once_flag g_install_once;
bool g_installed = false;

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (auto& s : g_slots) {
    const auto begin = s.begin.load(std::memory_order_acquire);
    const auto end = s.end.load(std::memory_order_acquire);
    if (begin == 0 || addr < begin || addr >= end) continue;
    // A page of the window lies past the file's new end: read zeros instead.
    void* page = reinterpret_cast<void*>(addr & ~(g_page - 1));
    if (::mmap(page, g_page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
        MAP_FAILED) {
      s.faulted.store(true, std::memory_order_release);
      return;
    }
  }
  // Not a window of ours: what would have happened without this handler.
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, context);
    return;
  }
  if ((g_previous.sa_flags & SA_SIGINFO) == 0 && g_previous.sa_handler != SIG_DFL &&
      g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGBUS, &dfl, nullptr);  // the faulting access runs again and ends the process
}

void install_handler() {
  g_page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  g_installed = ::sigaction(SIGBUS, &sa, &g_previous) == 0;
}

int take_slot() {
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_slots[i].taken.compare_exchange_strong(expected, true)) return i;
  }
  return -1;
}

}  // namespace

MappedFile::MappedFile(int fd, std::uint64_t size, std::size_t window)
    : fd_(fd), size_(size), window_bytes_(window) {
  std::call_once(g_install_once, install_handler);
  if (!g_installed) return;
  slot_ = take_slot();
  ok_ = slot_ >= 0;
}

MappedFile::~MappedFile() {
  unmap();
  if (slot_ >= 0) g_slots[slot_].taken.store(false, std::memory_order_release);
}

void MappedFile::unmap() {
  if (window_ == nullptr) return;
  auto& s = g_slots[slot_];
  if (s.faulted.exchange(false)) shrank_ = true;
  s.begin.store(0, std::memory_order_release);
  s.end.store(0, std::memory_order_release);
  ::munmap(window_, window_size_);
  window_ = nullptr;
  window_size_ = 0;
}

bool MappedFile::next(const char*& data, std::size_t& size) {
  if (!ok_) return false;
  unmap();
  if (shrank_) return false;  // what follows would be zeros
  if (offset_ >= size_) {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      error_ = std::strerror(errno);
      ok_ = false;
      return false;
    }
    if (static_cast<std::uint64_t>(st.st_size) <= offset_) return false;
    size_ = static_cast<std::uint64_t>(st.st_size);  // it grew
  }
  // Mapped from a page boundary: after growth, offset_ may sit inside a page.
  const std::uint64_t base = offset_ & ~static_cast<std::uint64_t>(g_page - 1);
  const auto skip = static_cast<std::size_t>(offset_ - base);
  const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(window_bytes_, size_ - base));
  void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(base));
  if (p == MAP_FAILED) {
    error_ = std::strerror(errno);
    ok_ = false;
    return false;
  }
  ::madvise(p, len, MADV_SEQUENTIAL);  // a hint: read ahead, drop behind
  window_ = static_cast<char*>(p);
  window_size_ = len;
  auto& s = g_slots[slot_];
  s.end.store(reinterpret_cast<std::uintptr_t>(window_) + len, std::memory_order_release);
  s.begin.store(reinterpret_cast<std::uintptr_t>(window_), std::memory_order_release);
  offset_ = base + len;
  data = window_ + skip;
  size = len - skip;
  return true;
}

}  // namespace sevwatch::detectors
