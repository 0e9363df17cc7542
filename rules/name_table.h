// Interned names: a string -> dense id table built for the engine's hot path.
//
// Every event looks up its object's name among tens of thousands (the 45,000
// tables of an exposure, the whole inventory). In a general hash map a lookup
// costs three cache misses: the control bytes, the slot, and the string's heap
// buffer. Here a slot is one cache line holding the hash, the id and the first
// 48 bytes of the name, so a lookup of a name of up to 48 bytes (most
// warehouse names) touches one line; a longer name compares its tail against
// the copy in one arena of tails, whose offset the slot holds (two lines, not
// three). Linear probing at a load factor of at most one half; slots
// of tables of 2 MiB or more sit in transparent huge pages, which spares a TLB
// miss on top of the cache miss.
//
// Ids are dense and stable (0, 1, 2, ... in order of first sight); nothing is
// ever removed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sevwatch::rules {

// A 64-bit hash of a name (the table's own): for state that keeps a key per
// value rather than the value (two of a million names share one with a
// chance of about 3e-8).
std::uint64_t hash_name(std::string_view name);

class NameTable {
 public:
  NameTable() = default;
  NameTable(const NameTable&) = delete;
  NameTable& operator=(const NameTable&) = delete;
  NameTable(NameTable&& other) noexcept;
  NameTable& operator=(NameTable&& other) noexcept;
  ~NameTable();

  // The id of `name`, adding it when new (`added` tells which).
  std::uint32_t intern(std::string_view name, bool* added = nullptr);
  std::optional<std::uint32_t> find(std::string_view name) const;
  const std::string& name(std::uint32_t id) const { return names_[id]; }
  // Starts loading the slot `name` would be found in, so that a lookup a few
  // events later does not wait on memory.
  void prefetch(std::string_view name) const {
    if (capacity_ != 0) __builtin_prefetch(&slots_[hash_of(name) & (capacity_ - 1)]);
  }
  std::size_t size() const { return names_.size(); }
  // Room for `n` names without growing.
  void reserve(std::size_t n);

 private:
  static constexpr std::size_t kHead = 48;
  struct alignas(64) Slot {
    // The low half of the name's hash: all a slot index uses, as long as a
    // table has under 2^32 slots (2^31 names, 256 GiB of slots).
    std::uint32_t hash;
    std::uint32_t id;  // kEmpty: free
    std::uint32_t size;
    std::uint32_t tail;  // offset of bytes kHead.. in tails_; kNoTail: compare names_[id]
    char head[kHead];
  };
  static constexpr std::uint32_t kEmpty = 0xffffffffu;
  static constexpr std::uint32_t kNoTail = 0xffffffffu;

  static std::uint64_t hash_of(std::string_view s) { return hash_name(s); }
  std::size_t probe(std::string_view name, std::uint64_t hash) const;  // its slot or a free one
  void rehash(std::size_t capacity);

  Slot* slots_ = nullptr;
  std::size_t capacity_ = 0;  // a power of two, or 0
  std::vector<std::string> names_;
  std::string tails_;  // of names longer than kHead, back to back
};

}  // namespace sevwatch::rules
