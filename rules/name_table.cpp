#include "rules/name_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace sevwatch::rules {
namespace {

constexpr std::size_t kHugePage = 2u << 20;

// 64x64 -> 128-bit multiply, folded: the mixing step of wyhash and friends.
__extension__ typedef unsigned __int128 U128;

std::uint64_t fold_multiply(std::uint64_t a, std::uint64_t b) {
  const U128 r = static_cast<U128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

void* allocate(std::size_t bytes) {
  const std::size_t align = bytes >= kHugePage ? kHugePage : 64;
  bytes = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, bytes);
  if (p == nullptr) throw std::bad_alloc();
  if (align == kHugePage) ::madvise(p, bytes, MADV_HUGEPAGE);  // a hint; failure is harmless
  return p;
}

}  // namespace

NameTable::NameTable(NameTable&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      names_(std::move(other.names_)),
      tails_(std::move(other.tails_)) {}

NameTable& NameTable::operator=(NameTable&& other) noexcept {
  if (this != &other) {
    std::free(slots_);
    slots_ = std::exchange(other.slots_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    names_ = std::move(other.names_);
    tails_ = std::move(other.tails_);
  }
  return *this;
}

NameTable::~NameTable() {
  std::free(slots_);
}

std::uint64_t hash_name(std::string_view s) {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642full;
  constexpr std::uint64_t k1 = 0xe7037ed1a0b428dbull;
  std::uint64_t h = k0 ^ s.size();
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 16) {
    std::uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    h = fold_multiply(a ^ k1, b ^ h);
    p += 16;
    n -= 16;
  }
  std::uint64_t a = 0, b = 0;
  if (n > 8) {
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, n - 8);
  } else {
    std::memcpy(&a, p, n);
  }
  return fold_multiply(fold_multiply(a ^ k1, b ^ h), k0 ^ s.size());
}

std::size_t NameTable::probe(std::string_view name, std::uint64_t hash) const {
  const std::size_t mask = capacity_ - 1;
  const std::size_t head = std::min(name.size(), kHead);
  const auto hash32 = static_cast<std::uint32_t>(hash);
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id == kEmpty) return i;
    if (s.hash != hash32 || s.size != name.size() || std::memcmp(s.head, name.data(), head) != 0) {
      continue;
    }
    if (name.size() <= kHead) return i;
    const char* tail = s.tail != kNoTail ? tails_.data() + s.tail : names_[s.id].data() + kHead;
    if (std::memcmp(tail, name.data() + kHead, name.size() - kHead) == 0) return i;
  }
}

void NameTable::rehash(std::size_t capacity) {
  Slot* old = slots_;
  const std::size_t old_capacity = capacity_;
  slots_ = static_cast<Slot*>(allocate(capacity * sizeof(Slot)));
  capacity_ = capacity;
  for (std::size_t i = 0; i < capacity; ++i) slots_[i].id = kEmpty;
  for (std::size_t i = 0; i < old_capacity; ++i) {
    if (old[i].id == kEmpty) continue;
    std::size_t j = old[i].hash & (capacity - 1);
    while (slots_[j].id != kEmpty) j = (j + 1) & (capacity - 1);
    slots_[j] = old[i];
  }
  std::free(old);
}

void NameTable::reserve(std::size_t n) {
  std::size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  if (capacity > capacity_) rehash(capacity);
  names_.reserve(n);
}

std::optional<std::uint32_t> NameTable::find(std::string_view name) const {
  if (capacity_ == 0) return std::nullopt;
  const Slot& s = slots_[probe(name, hash_of(name))];
  if (s.id == kEmpty) return std::nullopt;
  return s.id;
}

std::uint32_t NameTable::intern(std::string_view name, bool* added) {
  if (2 * (names_.size() + 1) > capacity_) rehash(std::max<std::size_t>(16, capacity_ * 2));
  const std::uint64_t hash = hash_of(name);
  Slot& s = slots_[probe(name, hash)];
  if (added != nullptr) *added = s.id == kEmpty;
  if (s.id != kEmpty) return s.id;
  s.hash = static_cast<std::uint32_t>(hash);
  s.id = static_cast<std::uint32_t>(names_.size());
  s.size = static_cast<std::uint32_t>(name.size());
  s.tail = kNoTail;
  if (name.size() > kHead && tails_.size() + name.size() < kNoTail) {
    s.tail = static_cast<std::uint32_t>(tails_.size());
    tails_.append(name.substr(kHead));
  }
  std::memcpy(s.head, name.data(), std::min(name.size(), kHead));
  names_.emplace_back(name);
  return s.id;
}

}  // namespace sevwatch::rules
