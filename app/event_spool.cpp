#include "app/event_spool.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace sevwatch::app {
namespace {

using detectors::AccessEvent;
using rules::Field;

// When this fires, AccessEvent gained or lost a field: teach the spool below.
static_assert(sizeof(void*) != 8 || sizeof(AccessEvent) == 624,
              "AccessEvent changed: update record() below");

// The record's layout, written once: `Io` is Bound (sizing a const event),
// Writer (encoding it) or Reader (restoring into an event). A `text` field
// that the spool does not keep (KeptText) is written empty.
template <typename Io, typename Event>
void record(Io& io, Event& e) {
  io.fixed(e.time_ms);
  io.fixed(e.pos.line);
  io.fixed(e.pos.offset);
  io.byte(e.action);
  io.byte(e.result);
  io.byte(e.object.level);
  io.byte(e.grant.target.level);
  io.flags(e);  // time_zone_assumed, with_grant_option, whether `raw` follows
  io.text(Field::format, e.format);
  io.text(Field::event_uid, e.event_uid);
  io.str(e.principal);
  io.strings(e.principal_groups);
  io.text(Field::operation, e.operation);
  io.str(e.object.name);
  io.text(Field::columns, e.object.columns);
  io.strings(e.grant.privileges);
  io.grantees(e.grant.grantees);
  io.str(e.grant.target.name);
  io.text(Field::columns, e.grant.target.columns);
  io.text(Field::grant_target_type, e.grant.target_type);
  io.text(Field::client_ip, e.client_ip);
  io.text(Field::query, e.query);
  io.text(Field::session, e.session);
  io.text(Field::policy, e.policy);
  io.raw_record(e.raw);
}

constexpr char kZoneAssumed = 1;
constexpr char kWithGrantOption = 2;
constexpr char kHasRaw = 4;

// Writes a record straight into its chunk: the caller has made room for
// `record_bound` bytes, so no write checks for space.
class Writer {
 public:
  Writer(char* p, const KeptText& keep) : p_(p), start_(p), keep_(keep) {}
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  template <typename T>
  void fixed(T v) {
    std::memcpy(p_, &v, sizeof(T));
    p_ += sizeof(T);
  }
  template <typename E>
  void byte(E v) {
    *p_++ = static_cast<char>(v);
  }
  void flags(const AccessEvent& e) {
    has_raw_ = keep_.raw && !e.raw.empty();
    *p_++ = static_cast<char>((e.time_zone_assumed ? kZoneAssumed : 0) |
                              (e.grant.with_grant_option ? kWithGrantOption : 0) |
                              (has_raw_ ? kHasRaw : 0));
  }
  void str(const std::string& s) {
    varint(s.size());
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void text(Field f, const std::string& s) { str(keep_.text(f, s)); }
  void strings(const std::vector<std::string>& v) {
    varint(v.size());
    for (const auto& s : v) str(s);
  }
  void grantees(const std::vector<detectors::Grantee>& v) {
    varint(v.size());
    for (const auto& g : v) {
      byte(g.kind);
      str(g.name);
    }
  }
  void raw_record(const std::string& s) {
    if (has_raw_) str(s);
  }
  std::size_t written() const { return static_cast<std::size_t>(p_ - start_); }

 private:
  char* p_;
  char* start_;
  const KeptText& keep_;
  bool has_raw_ = false;
};

// The third `Io`: at least the size of the event's record (each length
// counted at its longest varint), so a Writer never checks for space.
class Bound {
 public:
  explicit Bound(const KeptText& keep) : keep_(keep) {}
  template <typename T>
  void fixed(T) {
    n_ += sizeof(T);
  }
  template <typename E>
  void byte(E) {
    n_ += 1;
  }
  void flags(const AccessEvent&) { n_ += 1; }
  void str(const std::string& s) { n_ += kVarintMax + s.size(); }
  void text(Field f, const std::string& s) { str(keep_.text(f, s)); }
  void strings(const std::vector<std::string>& v) {
    n_ += kVarintMax;
    for (const auto& s : v) str(s);
  }
  void grantees(const std::vector<detectors::Grantee>& v) {
    n_ += kVarintMax;
    for (const auto& g : v) n_ += 1 + kVarintMax + g.name.size();
  }
  void raw_record(const std::string& s) { str(s); }
  std::size_t bytes() const { return n_; }

 private:
  static constexpr std::size_t kVarintMax = 10;
  const KeptText& keep_;
  std::size_t n_ = 0;
};

std::size_t record_bound(const AccessEvent& e, const KeptText& keep) {
  Bound b(keep);
  record(b, e);
  return b.bytes();
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
  template <typename T>
  void fixed(T& v) {
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
  }
  template <typename E>
  void byte(E& v) {
    v = static_cast<E>(*p_++);
  }
  void flags(AccessEvent& e) {
    const char f = *p_++;
    e.time_zone_assumed = (f & kZoneAssumed) != 0;
    e.grant.with_grant_option = (f & kWithGrantOption) != 0;
    has_raw_ = (f & kHasRaw) != 0;
  }
  void str(std::string& out) {
    const auto n = varint();
    out.assign(p_, n);
    p_ += n;
  }
  void text(Field, std::string& out) { str(out); }
  void strings(std::vector<std::string>& out) {
    out.resize(varint());
    for (auto& s : out) str(s);
  }
  void grantees(std::vector<detectors::Grantee>& out) {
    out.resize(varint());
    for (auto& g : out) {
      byte(g.kind);
      str(g.name);
    }
  }
  void raw_record(std::string& out) {
    if (has_raw_) {
      str(out);
    } else {
      out.clear();
    }
  }

 private:
  const char* p_;
  bool has_raw_ = false;
};

}  // namespace

void EventSpool::next_chunk(std::size_t need) {
  const std::size_t next = chunks_.empty() ? 0 : current_ + 1;
  if (next < chunks_.size() && chunks_[next].size >= need) {
    current_ = next;
    return;
  }
  constexpr std::size_t kHuge = 2 << 20;
  const std::size_t align = chunk_bytes_ >= kHuge ? kHuge : 64;
  const std::size_t size = (std::max(chunk_bytes_, need) + align - 1) / align * align;
  auto* p = static_cast<char*>(std::aligned_alloc(align, size));  // not zero-filled
  if (p == nullptr) throw std::bad_alloc();
  if (align == kHuge) ::madvise(p, size, MADV_HUGEPAGE);  // advice only: failure is harmless
  chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(next),
                 Chunk{std::unique_ptr<char[], FreeChunk>(p), size, 0});
  current_ = next;
}

EventSpool::Ref EventSpool::append(const AccessEvent& e) {
  const std::size_t need = record_bound(e, keep_);
  if (chunks_.empty() || chunks_[current_].used + need > chunks_[current_].size) next_chunk(need);
  Chunk& c = chunks_[current_];
  const Ref ref{static_cast<std::uint32_t>(current_), static_cast<std::uint32_t>(c.used)};
  Writer w(c.bytes.get() + c.used, keep_);
  record(w, e);
  c.used += w.written();
  bytes_ += w.written();
  ++count_;
  return ref;
}

void EventSpool::clear() {
  for (auto& c : chunks_) c.used = 0;
  current_ = 0;
  bytes_ = 0;
  count_ = 0;
}

void EventSpool::FreeChunk::operator()(char* p) const {
  std::free(p);
}

void EventSpool::read(Ref ref, AccessEvent& e) const {
  Reader r(chunks_[ref.chunk].bytes.get() + ref.offset);
  record(r, e);
  e.pos.file = file_;
}

}  // namespace sevwatch::app
