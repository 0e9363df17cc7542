#include "app/event_spool.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace sevwatch::app {
namespace {

using detectors::AccessEvent;

// When this fires, AccessEvent gained or lost a field: teach the spool below.
static_assert(sizeof(void*) != 8 || sizeof(AccessEvent) == 624,
              "AccessEvent changed: update EventSpool's encode/decode");

// Writes a record straight into its chunk: the caller has made room for
// `record_bound` bytes, so no write checks for space.
class Writer {
 public:
  explicit Writer(char* p) : p_(p), start_(p) {}
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void str(const std::string& s) {
    varint(s.size());
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void strings(const std::vector<std::string>& v) {
    varint(v.size());
    for (const auto& s : v) str(s);
  }
  template <typename T>
  void raw(T v) {
    std::memcpy(p_, &v, sizeof(T));
    p_ += sizeof(T);
  }
  void byte(char c) { *p_++ = c; }
  std::size_t written() const { return static_cast<std::size_t>(p_ - start_); }

 private:
  char* p_;
  char* start_;
};

constexpr std::size_t kVarintMax = 10;

std::size_t bound(const std::string& s) {
  return kVarintMax + s.size();
}

std::size_t bound(const std::vector<std::string>& v) {
  std::size_t n = kVarintMax;
  for (const auto& s : v) n += bound(s);
  return n;
}

// At least the size of the event's record (each length counted at its
// longest varint).
std::size_t record_bound(const AccessEvent& e) {
  std::size_t n = 3 * 8 + 5;
  for (const std::string* s :
       {&e.format, &e.event_uid, &e.principal, &e.operation, &e.object.name, &e.object.columns,
        &e.grant.target.name, &e.grant.target.columns, &e.grant.target_type, &e.client_ip, &e.query,
        &e.session, &e.policy, &e.raw}) {
    n += bound(*s);
  }
  n += bound(e.principal_groups) + bound(e.grant.privileges) + kVarintMax;
  for (const auto& g : e.grant.grantees) n += 1 + bound(g.name);
  return n;
}

class Reader {
 public:
  explicit Reader(const char* p) : p_(p) {}
  std::uint64_t varint() {
    std::uint64_t v = 0;
    int shift = 0;
    for (;;) {
      const auto byte = static_cast<unsigned char>(*p_++);
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
      shift += 7;
    }
  }
  void str(std::string& out) {
    const auto n = varint();
    out.assign(p_, n);
    p_ += n;
  }
  template <typename T>
  T raw() {
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  void strings(std::vector<std::string>& out) {
    const auto n = varint();
    out.resize(n);
    for (auto& s : out) str(s);
  }

 private:
  const char* p_;
};

}  // namespace

EventSpool::Ref EventSpool::append(const AccessEvent& e) {
  const std::size_t need = record_bound(e);
  if (chunks_.empty() || used_.back() + need > kChunkBytes) {
    // Chunks are 2 MiB-aligned and advised into transparent huge pages: a
    // spool of a few hundred MB otherwise costs ~100k page faults, which on
    // a VM took a quarter of the scan's decode phase.
    constexpr std::size_t kHuge = 2 << 20;
    const std::size_t size = (std::max(kChunkBytes, need) + kHuge - 1) / kHuge * kHuge;
    auto* p = static_cast<char*>(std::aligned_alloc(kHuge, size));  // not zero-filled
    if (p == nullptr) throw std::bad_alloc();
    ::madvise(p, size, MADV_HUGEPAGE);  // advice only: failure is harmless
    chunks_.push_back(std::unique_ptr<char[], FreeChunk>(p));
    used_.push_back(0);
  }
  const Ref ref{static_cast<std::uint32_t>(chunks_.size() - 1),
                static_cast<std::uint32_t>(used_.back())};
  Writer w(chunks_.back().get() + used_.back());
  w.raw(e.time_ms);
  w.raw(e.pos.line);
  w.raw(e.pos.offset);
  w.byte(static_cast<char>(e.action));
  w.byte(static_cast<char>(e.result));
  w.byte(static_cast<char>(e.object.level));
  w.byte(static_cast<char>(e.grant.target.level));
  w.byte(static_cast<char>((e.time_zone_assumed ? 1 : 0) | (e.grant.with_grant_option ? 2 : 0) |
                           (e.raw.empty() ? 0 : 4)));
  w.str(e.format);
  w.str(e.event_uid);
  w.str(e.principal);
  w.strings(e.principal_groups);
  w.str(e.operation);
  w.str(e.object.name);
  w.str(e.object.columns);
  w.strings(e.grant.privileges);
  w.varint(e.grant.grantees.size());
  for (const auto& g : e.grant.grantees) {
    w.byte(static_cast<char>(g.kind));
    w.str(g.name);
  }
  w.str(e.grant.target.name);
  w.str(e.grant.target.columns);
  w.str(e.grant.target_type);
  w.str(e.client_ip);
  w.str(e.query);
  w.str(e.session);
  w.str(e.policy);
  if (!e.raw.empty()) w.str(e.raw);  // flag 4
  used_.back() += w.written();
  ++count_;
  return ref;
}

void EventSpool::clear() {
  if (chunks_.size() > 1) chunks_.resize(1);
  used_.resize(chunks_.size());
  if (!used_.empty()) used_[0] = 0;
  count_ = 0;
}

void EventSpool::FreeChunk::operator()(char* p) const {
  std::free(p);
}

void EventSpool::read(Ref ref, AccessEvent& e) const {
  Reader r(chunks_[ref.chunk].get() + ref.offset);
  e.time_ms = r.raw<std::int64_t>();
  e.pos.file = file_;
  e.pos.line = r.raw<std::uint64_t>();
  e.pos.offset = r.raw<std::uint64_t>();
  e.action = static_cast<detectors::Action>(r.raw<char>());
  e.result = static_cast<detectors::Result>(r.raw<char>());
  e.object.level = static_cast<detectors::ObjectLevel>(r.raw<char>());
  e.grant.target.level = static_cast<detectors::ObjectLevel>(r.raw<char>());
  const auto flags = r.raw<char>();
  e.time_zone_assumed = (flags & 1) != 0;
  e.grant.with_grant_option = (flags & 2) != 0;
  r.str(e.format);
  r.str(e.event_uid);
  r.str(e.principal);
  r.strings(e.principal_groups);
  r.str(e.operation);
  r.str(e.object.name);
  r.str(e.object.columns);
  r.strings(e.grant.privileges);
  e.grant.grantees.resize(r.varint());
  for (auto& g : e.grant.grantees) {
    g.kind = static_cast<detectors::GranteeKind>(r.raw<char>());
    r.str(g.name);
  }
  r.str(e.grant.target.name);
  r.str(e.grant.target.columns);
  r.str(e.grant.target_type);
  r.str(e.client_ip);
  r.str(e.query);
  r.str(e.session);
  r.str(e.policy);
  if ((flags & 4) != 0) {
    r.str(e.raw);
  } else {
    e.raw.clear();
  }
}

std::size_t EventSpool::bytes() const {
  std::size_t n = 0;
  for (auto u : used_) n += u;
  return n;
}

}  // namespace sevwatch::app
