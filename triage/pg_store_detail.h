// Internals shared by the PostgreSQL store's source files (pg_store.cpp,
// pg_store_outbox.cpp): text parameters and the owned result. Not for other users.
#pragma once

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "triage/pg_store.h"

namespace sevwatch::triage::pg {

using Param = std::optional<std::string>;  // a text parameter; nullopt is NULL

// Text parameters are C strings and PostgreSQL text cannot hold NUL: a NUL
// byte (which a log line could carry) becomes U+FFFD rather than failing.
inline std::string no_nul(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\0') {
      out += "\xEF\xBF\xBD";
    } else {
      out += c;
    }
  }
  return out;
}

// An array literal {"a","b"}: every element quoted, \ and " escaped.
inline std::string text_array(const std::string* first, const std::string* last) {
  std::string out = "{";
  for (const auto* p = first; p != last; ++p) {
    if (p != first) out += ',';
    out += '"';
    for (char c : *p) {
      if (c == '\0') {
        out += "\xEF\xBF\xBD";
        continue;
      }
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

template <typename T>
inline std::string number_array(const std::vector<T>& v) {
  return fmt::format("{{{}}}", fmt::join(v, ","));
}

inline std::string num(std::int64_t v) {
  return std::to_string(v);
}
inline std::string num(std::uint64_t v) {
  return std::to_string(static_cast<std::int64_t>(v));
}

inline Param opt_num(const std::optional<std::int64_t>& v) {
  return v ? Param(num(*v)) : std::nullopt;
}

}  // namespace sevwatch::triage::pg

namespace sevwatch::triage {

// An owned PGresult.
class PgStore::Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  Result(Result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&&) = delete;
  ~Result() { PQclear(r_); }
  PGresult* get() const { return r_; }

  int rows() const { return PQntuples(r_); }
  bool is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col),
                       static_cast<std::size_t>(PQgetlength(r_, row, col)));
  }
  std::int64_t i64(int row, int col) const {
    const char* p = PQgetvalue(r_, row, col);
    std::int64_t v = 0;
    std::from_chars(p, p + std::strlen(p), v);
    return v;
  }
  std::uint64_t u64(int row, int col) const { return static_cast<std::uint64_t>(i64(row, col)); }
  bool boolean(int row, int col) const { return PQgetvalue(r_, row, col)[0] == 't'; }
  std::optional<std::int64_t> opt_i64(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return i64(row, col);
  }
  // Rows affected by INSERT/UPDATE/DELETE.
  std::uint64_t affected() const {
    const char* p = PQcmdTuples(r_);
    std::uint64_t v = 0;
    std::from_chars(p, p + std::strlen(p), v);
    return v;
  }

 private:
  PGresult* r_;
};

}  // namespace sevwatch::triage
