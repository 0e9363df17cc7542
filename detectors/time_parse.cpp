#include "detectors/time_parse.h"

namespace sevwatch::detectors {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const unsigned d = static_cast<unsigned char>(s[i]) - '0';
    if (d > 9) return false;
    v = v * 10 + static_cast<int>(d);
  }
  out = v;
  return true;
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

struct NamedZone {
  std::string_view name;
  int offset_minutes;
};

// Only abbreviations with one common meaning; IST, CST, BST... are ambiguous.
constexpr NamedZone kZones[] = {
    {"UTC", 0},    {"GMT", 0},    {"UT", 0},     {"Z", 0},      {"EST", -300},
    {"EDT", -240}, {"MST", -420}, {"MDT", -360}, {"PST", -480}, {"PDT", -420},
    {"CET", 60},   {"CEST", 120}, {"EET", 120},  {"EEST", 180}, {"WET", 0},
    {"WEST", 60},  {"JST", 540},  {"KST", 540},  {"AEST", 600}, {"AEDT", 660},
};

}  // namespace

std::size_t parse_civil_time(std::string_view s, std::int64_t& wall_ms) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 19 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != ' ' && s[10] != 'T') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec)) {
    return 0;
  }
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
      sec > 59) {
    return 0;
  }
  std::size_t pos = 19;
  int ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int scale = 100;
    const std::size_t start = pos;
    while (pos < s.size() && static_cast<unsigned>(static_cast<unsigned char>(s[pos]) - '0') <= 9) {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return 0;
  }
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  wall_ms = ((days * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + ms;
  return pos;
}

bool parse_zone(std::string_view z, int& offset_minutes) {
  offset_minutes = 0;
  if (z.empty()) return false;
  if (z.size() == 1 && z[0] == 'Z') return true;  // the common case, as in kZones
  if (z[0] == '+' || z[0] == '-') {
    const int sign = z[0] == '-' ? -1 : 1;
    int hh = 0, mm = 0;
    if (!digits(z, 1, 2, hh)) return false;
    if (z.size() == 3) {
      // "+02"
    } else if (z.size() == 5 && digits(z, 3, 2, mm)) {
      // "+0530"
    } else if (z.size() == 6 && z[3] == ':' && digits(z, 4, 2, mm)) {
      // "+05:30"
    } else {
      return false;
    }
    if (hh > 14 || mm > 59) return false;
    offset_minutes = sign * (hh * 60 + mm);
    return true;
  }
  for (const NamedZone& nz : kZones) {
    if (nz.name == z) {
      offset_minutes = nz.offset_minutes;
      return true;
    }
  }
  return false;
}

}  // namespace sevwatch::detectors
