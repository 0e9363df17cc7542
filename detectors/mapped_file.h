// Reads a regular file through memory-mapped windows: the chunks the line
// reader scans are the page cache's own pages, so the kernel copies nothing
// (a `read()` of a 1.2 GB cached file costs ~0.18 s of copying on the bench
// machine; the mapped pass ~0.05 s).
//
// A mapped file that another process truncates while it is read would raise
// SIGBUS on the first access past the new end. A process-wide SIGBUS handler,
// installed on first use, maps a page of zeros over such an address inside
// a window this class holds and flags the window; the reader then reports
// the file as truncated (`shrank()`), and the decoders see the zeros as
// malformed lines. Faults outside the windows go to the previous handler.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sevwatch::detectors {

class MappedFile {
 public:
  // Windows of 64 MiB, at page-aligned offsets.
  static constexpr std::size_t kWindowBytes = std::size_t{64} << 20;

  // Takes no ownership of `fd`, which must stay open while this lives.
  // `window` is a multiple of the page size.
  MappedFile(int fd, std::uint64_t size, std::size_t window = kWindowBytes);
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // Whether a regular file of `size` bytes may be mapped (false when the
  // handler slots are all taken, or mapping failed once).
  bool ok() const { return ok_; }
  // The next window: false at the end of the file (as it is now: a file that
  // grew is read to its new end). `data` stays valid until the next call.
  bool next(const char*& data, std::size_t& size);
  // A page of the last window was found gone: the file was truncated under
  // the reader.
  bool shrank() const { return shrank_; }
  // mmap or fstat failed: errno's text.
  const char* error() const { return error_; }

 private:
  void unmap();

  int fd_;
  std::uint64_t size_;
  std::size_t window_bytes_;
  std::uint64_t offset_ = 0;
  char* window_ = nullptr;
  std::size_t window_size_ = 0;
  int slot_ = -1;
  bool ok_ = false;
  bool shrank_ = false;
  const char* error_ = nullptr;
};

}  // namespace sevwatch::detectors
