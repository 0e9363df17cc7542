// An append-only, in-memory spool of decoded events in a compact byte form.
//
// `scan` decodes every input before it processes events in event-time order.
// Holding a million AccessEvents (each ~600 bytes plus several heap strings)
// costs more in allocation and page faults than decoding them; the spool packs
// each event into one contiguous record inside large chunks, and reads it back
// into a reused AccessEvent whose strings keep their capacity, so the hot loop
// allocates nothing once warm.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/kept_text.h"
#include "detectors/access_event.h"

namespace sevwatch::app {

class EventSpool {
 public:
  // Chunks of 2 MiB or more sit in transparent huge pages (a spool of a few
  // hundred MB otherwise costs ~100k page faults). A spool that is filled and
  // cleared over and over (a batch between threads) wants small chunks
  // instead: on a VM the first touch of fresh memory is slow, and a huge page
  // is 2 MiB of it at once.
  static constexpr std::size_t kLargeChunkBytes = 4 << 20;
  explicit EventSpool(std::size_t chunk_bytes = kLargeChunkBytes) : chunk_bytes_(chunk_bytes) {}

  // Where a record lives: chunk index and offset inside it.
  struct Ref {
    std::uint32_t chunk;
    std::uint32_t offset;
  };

  // Appends the event; `pos.file` is not stored (the spool belongs to one input,
  // whose name `file` is given here once and restored on read), nor free text
  // the spool does not keep (read back empty).
  Ref append(const detectors::AccessEvent& event);
  // Restores the event stored at `ref` into `out`, reusing its strings' storage.
  void read(Ref ref, detectors::AccessEvent& out) const;

  std::size_t size() const { return count_; }
  // Forgets every record but keeps the chunks, for reuse.
  void clear();
  std::size_t bytes() const { return bytes_; }
  void set_file(std::string file) { file_ = std::move(file); }
  // The free text kept from here on (default: all of it).
  void set_kept(const KeptText& keep) { keep_ = keep; }

 private:
  struct FreeChunk {
    void operator()(char* p) const;
  };
  struct Chunk {
    std::unique_ptr<char[], FreeChunk> bytes;
    std::size_t size = 0;
    std::size_t used = 0;
  };
  // Makes chunks_[current_] one with room for `need` more bytes.
  void next_chunk(std::size_t need);

  std::size_t chunk_bytes_;
  std::vector<Chunk> chunks_;  // those after current_ are empty, for reuse
  std::size_t current_ = 0;
  std::size_t bytes_ = 0;  // used, in all chunks
  std::string file_;
  KeptText keep_ = KeptText::all();
  std::size_t count_ = 0;
};

}  // namespace sevwatch::app
