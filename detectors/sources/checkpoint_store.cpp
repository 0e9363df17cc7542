#include "detectors/sources/checkpoint_store.h"

#include <fmt/format.h>

namespace sevwatch::detectors::sources {

std::vector<Checkpoint> MemoryCheckpointStore::load(const std::string& source) {
  std::vector<Checkpoint> out;
  for (const auto& [key, c] : rows_) {
    if (key.first == source) out.push_back(c);
  }
  return out;
}

void MemoryCheckpointStore::save(const std::vector<Checkpoint>& checkpoints) {
  for (const auto& c : checkpoints) rows_[{c.source, c.stream}] = c;
}

std::string fingerprint_hex(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace sevwatch::detectors::sources
