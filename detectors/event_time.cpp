#include "detectors/event_time.h"

#include <cstdio>

namespace sevwatch::detectors {

std::string format_rfc3339_ms(std::int64_t ms) {
  std::int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
  std::int64_t rem = ms - days * 86400000;
  // civil_from_days (H. Hinnant)
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  const int hh = static_cast<int>(rem / 3600000);
  rem %= 3600000;
  const int mm = static_cast<int>(rem / 60000);
  rem %= 60000;
  const int ss = static_cast<int>(rem / 1000);
  const int milli = static_cast<int>(rem % 1000);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y),
                m, d, hh, mm, ss, milli);
  return buf;
}

}  // namespace sevwatch::detectors
