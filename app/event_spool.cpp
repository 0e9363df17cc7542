#include "app/event_spool.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace sevwatch::app {
namespace {

using detectors::AccessEvent;

// When this fires, AccessEvent gained or lost a field: teach the spool below.
static_assert(sizeof(void*) != 8 || sizeof(AccessEvent) == 624,
              "AccessEvent changed: update EventSpool's encode/decode");

void put_varint(std::string& b, std::uint64_t v) {
  while (v >= 0x80) {
    b.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<char>(v));
}

void put_str(std::string& b, const std::string& s) {
  put_varint(b, s.size());
  b.append(s);
}

template <typename T>
void put_raw(std::string& b, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  b.append(buf, sizeof(T));
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

void put_strings(std::string& b, const std::vector<std::string>& v) {
  put_varint(b, v.size());
  for (const auto& s : v) put_str(b, s);
}

}  // namespace

EventSpool::Ref EventSpool::append(const AccessEvent& e) {
  std::string& b = scratch_;
  b.clear();
  put_raw(b, e.time_ms);
  put_raw(b, e.pos.line);
  put_raw(b, e.pos.offset);
  b.push_back(static_cast<char>(e.action));
  b.push_back(static_cast<char>(e.result));
  b.push_back(static_cast<char>(e.object.level));
  b.push_back(static_cast<char>(e.grant.target.level));
  b.push_back(static_cast<char>((e.time_zone_assumed ? 1 : 0) |
                                (e.grant.with_grant_option ? 2 : 0) | (e.raw.empty() ? 0 : 4)));
  put_str(b, e.format);
  put_str(b, e.event_uid);
  put_str(b, e.principal);
  put_strings(b, e.principal_groups);
  put_str(b, e.operation);
  put_str(b, e.object.name);
  put_str(b, e.object.columns);
  put_strings(b, e.grant.privileges);
  put_varint(b, e.grant.grantees.size());
  for (const auto& g : e.grant.grantees) {
    b.push_back(static_cast<char>(g.kind));
    put_str(b, g.name);
  }
  put_str(b, e.grant.target.name);
  put_str(b, e.grant.target.columns);
  put_str(b, e.grant.target_type);
  put_str(b, e.client_ip);
  put_str(b, e.query);
  put_str(b, e.session);
  put_str(b, e.policy);
  if (!e.raw.empty()) put_str(b, e.raw);  // flag 4

  if (chunks_.empty() || used_.back() + b.size() > kChunkBytes) {
    // Chunks are 2 MiB-aligned and advised into transparent huge pages: a
    // spool of a few hundred MB otherwise costs ~100k page faults, which on
    // a VM took a quarter of the scan's decode phase.
    constexpr std::size_t kHuge = 2 << 20;
    const std::size_t size = (std::max(kChunkBytes, b.size()) + kHuge - 1) / kHuge * kHuge;
    auto* p = static_cast<char*>(std::aligned_alloc(kHuge, size));  // not zero-filled
    if (p == nullptr) throw std::bad_alloc();
    ::madvise(p, size, MADV_HUGEPAGE);  // advice only: failure is harmless
    chunks_.push_back(std::unique_ptr<char[], FreeChunk>(p));
    used_.push_back(0);
  }
  const Ref ref{static_cast<std::uint32_t>(chunks_.size() - 1),
                static_cast<std::uint32_t>(used_.back())};
  std::memcpy(chunks_.back().get() + used_.back(), b.data(), b.size());
  used_.back() += b.size();
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
