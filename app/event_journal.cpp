#include "app/event_journal.h"

#include <charconv>
#include <cstdint>
#include <vector>

namespace sevwatch::app {
namespace {

using detectors::AccessEvent;

// When this fires, AccessEvent gained or lost a field: teach the encoding
// below (and bump its version if old journals must still be read).
static_assert(sizeof(void*) != 8 || sizeof(AccessEvent) == 624,
              "AccessEvent changed: update the grant journal's encode/decode");

constexpr char kVersion[] = "1";
constexpr std::size_t kFields = 27;
constexpr char kHex[] = "0123456789ABCDEF";

// In a journal field also the separators: '|' between fields, ',' after list
// items. In state text newline and tab stay.
bool must_escape(unsigned char c, bool in_field) {
  if (c == '%' || c >= 0x7f) return true;
  if (c < 0x20) return in_field || (c != '\n' && c != '\t');
  return in_field && (c == '|' || c == ',');
}

void escape_into(std::string& out, std::string_view s, bool in_field) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (must_escape(c, in_field)) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool unescape_into(std::string& out, std::string_view s) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>((hi << 4) | lo);
    i += 2;
  }
  return true;
}

void field(std::string& out, std::string_view s) {
  escape_into(out, s, true);
  out += '|';
}

template <typename T>
void number(std::string& out, T v) {
  out += std::to_string(v);
  out += '|';
}

void list(std::string& out, const std::vector<std::string>& items) {
  for (const auto& s : items) {
    escape_into(out, s, true);
    out += ',';
  }
  out += '|';
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

template <typename E>
bool parse_enum(std::string_view s, E& out, unsigned max) {
  unsigned v = 0;
  if (!parse_number(s, v) || v > max) return false;
  out = static_cast<E>(v);
  return true;
}

// "a,b," -> {"a", "b"}; every item must end with ','.
bool parse_list(std::string_view s, std::vector<std::string>& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos < s.size()) {
    const auto comma = s.find(',', pos);
    if (comma == std::string_view::npos) return false;
    out.emplace_back();
    if (!unescape_into(out.back(), s.substr(pos, comma - pos))) return false;
    pos = comma + 1;
  }
  return true;
}

constexpr char kMention[] = "M|";

}  // namespace

std::string encode_journal_event(const AccessEvent& e, const KeptText& keep) {
  using rules::Field;
  const bool everything = keep.keeps_everything();
  const std::string_view query = keep.text(Field::query, e.query);
  const std::string_view raw = keep.raw ? std::string_view(e.raw) : std::string_view();
  std::string out;
  out.reserve(160 + query.size() + raw.size() + e.object.name.size() + e.grant.target.name.size());
  out += kVersion;
  out += '|';
  number(out, e.time_ms);
  number(out, (e.time_zone_assumed ? 1 : 0) | (e.grant.with_grant_option ? 2 : 0));
  number(out, static_cast<unsigned>(e.action));
  number(out, static_cast<unsigned>(e.result));
  field(out, keep.text(Field::format, e.format));
  // The source position: for people reading the table only.
  field(out, everything ? std::string_view(e.pos.file) : std::string_view());
  number(out, everything ? e.pos.line : 0);
  number(out, everything ? e.pos.offset : 0);
  field(out, keep.text(Field::event_uid, e.event_uid));
  field(out, e.principal);
  list(out, e.principal_groups);
  field(out, keep.text(Field::operation, e.operation));
  field(out, e.object.name);
  number(out, static_cast<unsigned>(e.object.level));
  field(out, keep.text(Field::columns, e.object.columns));
  list(out, e.grant.privileges);
  for (const auto& g : e.grant.grantees) {
    out += static_cast<char>('0' + static_cast<int>(g.kind));
    escape_into(out, g.name, true);
    out += ',';
  }
  out += '|';
  field(out, e.grant.target.name);
  number(out, static_cast<unsigned>(e.grant.target.level));
  field(out, keep.text(Field::columns, e.grant.target.columns));
  field(out, keep.text(Field::grant_target_type, e.grant.target_type));
  field(out, keep.text(Field::client_ip, e.client_ip));
  field(out, query);
  field(out, keep.text(Field::session, e.session));
  field(out, keep.text(Field::policy, e.policy));
  escape_into(out, raw, true);  // the last field: no separator after it
  return out;
}

std::string encode_journal_mention(const std::vector<std::string>& names) {
  std::string out = kMention;
  for (const auto& n : names) {
    escape_into(out, n, true);
    out += ',';
  }
  return out;
}

bool decode_journal_mention(std::string_view text, std::vector<std::string>& names) {
  const std::string_view prefix = kMention;
  if (text.substr(0, prefix.size()) != prefix) return false;
  return parse_list(text.substr(prefix.size()), names);
}

bool decode_journal_event(std::string_view text, AccessEvent& e) {
  std::string_view f[kFields];
  std::size_t n = 0, pos = 0;
  for (;;) {
    const auto bar = text.find('|', pos);
    if (n == kFields) return false;
    if (bar == std::string_view::npos) {
      f[n++] = text.substr(pos);
      break;
    }
    f[n++] = text.substr(pos, bar - pos);
    pos = bar + 1;
  }
  if (n != kFields || f[0] != kVersion) return false;
  unsigned flags = 0;
  if (!parse_number(f[1], e.time_ms) || !parse_number(f[2], flags) || flags > 3) return false;
  e.time_zone_assumed = (flags & 1) != 0;
  e.grant.with_grant_option = (flags & 2) != 0;
  if (!parse_enum(f[3], e.action, static_cast<unsigned>(detectors::Action::metadata)) ||
      !parse_enum(f[4], e.result, static_cast<unsigned>(detectors::Result::denied)) ||
      !unescape_into(e.format, f[5]) || !unescape_into(e.pos.file, f[6]) ||
      !parse_number(f[7], e.pos.line) || !parse_number(f[8], e.pos.offset) ||
      !unescape_into(e.event_uid, f[9]) || !unescape_into(e.principal, f[10]) ||
      !parse_list(f[11], e.principal_groups) || !unescape_into(e.operation, f[12]) ||
      !unescape_into(e.object.name, f[13]) ||
      !parse_enum(f[14], e.object.level, static_cast<unsigned>(detectors::ObjectLevel::table)) ||
      !unescape_into(e.object.columns, f[15]) || !parse_list(f[16], e.grant.privileges)) {
    return false;
  }
  std::vector<std::string> grantees;
  if (!parse_list(f[17], grantees)) return false;
  e.grant.grantees.clear();
  for (auto& g : grantees) {
    if (g.empty() || g[0] < '0' || g[0] > '0' + static_cast<int>(detectors::GranteeKind::role)) {
      return false;
    }
    e.grant.grantees.push_back(
        detectors::Grantee{static_cast<detectors::GranteeKind>(g[0] - '0'), g.substr(1)});
  }
  return unescape_into(e.grant.target.name, f[18]) &&
         parse_enum(f[19], e.grant.target.level,
                    static_cast<unsigned>(detectors::ObjectLevel::table)) &&
         unescape_into(e.grant.target.columns, f[20]) &&
         unescape_into(e.grant.target_type, f[21]) && unescape_into(e.client_ip, f[22]) &&
         unescape_into(e.query, f[23]) && unescape_into(e.session, f[24]) &&
         unescape_into(e.policy, f[25]) && unescape_into(e.raw, f[26]);
}

std::string escape_state_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  escape_into(out, text, false);
  return out;
}

std::optional<std::string> unescape_state_text(std::string_view text) {
  std::string out;
  if (!unescape_into(out, text)) return std::nullopt;
  return out;
}

}  // namespace sevwatch::app
