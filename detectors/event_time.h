// Event-time arithmetic on UTC milliseconds since the epoch, without the C
// library's time zone state (thread-safe, allocation-free).
#pragma once

#include <cstdint>
#include <string>

namespace sevwatch::detectors {

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

constexpr std::int64_t to_epoch_ms(int year, int month, int day, int hour, int minute, int second,
                                   int millis) {
  return (days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
          hour * 3600 + minute * 60 + second) *
             1000 +
         millis;
}

// "2026-08-20T10:00:00.000Z"
std::string format_rfc3339_ms(std::int64_t ms);

}  // namespace sevwatch::detectors
