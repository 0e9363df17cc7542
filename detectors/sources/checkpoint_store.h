// Checkpoints of file streams: how far a source has durably got, and which
// file that was (inode + a fingerprint of its first bytes), so a restart
// resumes where the committed data ends and a rotated or replaced file is
// recognized. The pipeline adapts this to the incident store's checkpoints
// table; MemoryCheckpointStore serves tests.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sevwatch::detectors::sources {

inline constexpr std::size_t kFingerprintBytes = 1024;

struct Checkpoint {
  std::string source;
  std::string stream;  // the file's path
  std::uint64_t inode = 0;
  std::string fingerprint;  // fingerprint_hex() of the first fingerprint_bytes bytes
  std::uint64_t fingerprint_bytes = 0;
  std::uint64_t offset = 0;  // bytes consumed, always at a line boundary
  std::uint64_t line = 0;    // lines consumed
};

class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  virtual std::vector<Checkpoint> load(const std::string& source) = 0;
  // Atomically: all or none.
  virtual void save(const std::vector<Checkpoint>& checkpoints) = 0;
};

class MemoryCheckpointStore final : public CheckpointStore {
 public:
  std::vector<Checkpoint> load(const std::string& source) override;
  void save(const std::vector<Checkpoint>& checkpoints) override;

 private:
  std::map<std::pair<std::string, std::string>, Checkpoint> rows_;
};

// FNV-1a 64 of `bytes`, as 16 hex digits.
std::string fingerprint_hex(std::string_view bytes);

}  // namespace sevwatch::detectors::sources
