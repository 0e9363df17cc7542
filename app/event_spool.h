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
  // Forgets every record but keeps the first chunk's memory, for reuse.
  void clear();
  std::size_t bytes() const;
  void set_file(std::string file) { file_ = std::move(file); }
  // The free text kept from here on (default: all of it).
  void set_kept(const KeptText& keep) { keep_ = keep; }

 private:
  static constexpr std::size_t kChunkBytes = 4 << 20;
  struct FreeChunk {
    void operator()(char* p) const;
  };
  std::vector<std::unique_ptr<char[], FreeChunk>> chunks_;
  std::vector<std::size_t> used_;
  std::string file_;
  KeptText keep_ = KeptText::all();
  std::size_t count_ = 0;
};

}  // namespace sevwatch::app
