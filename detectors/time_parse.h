// Hand-written, allocation-free timestamp parsing for log formats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "detectors/event_time.h"  // days_from_civil

namespace sevwatch::detectors {

// Parses "YYYY-MM-DD HH:MM:SS[.fraction]" ('T' also accepted between date and
// time) at the start of `s`, range-checked. Stores the wall-clock time as if it
// were UTC, in milliseconds (fraction digits beyond the third are dropped).
// Returns the number of characters consumed, 0 when `s` does not start with a
// valid timestamp.
std::size_t parse_civil_time(std::string_view s, std::int64_t& wall_ms);

// Parses a zone as PostgreSQL prints it after %m/%t: "UTC", "GMT", "Z",
// numeric "+02", "-0530", "+05:30", or a few unambiguous abbreviations
// (EST, PDT, CET, CEST, ...). Sets `offset_minutes` (local = UTC + offset).
// Returns false for an unknown zone (offset_minutes is then 0).
bool parse_zone(std::string_view zone, int& offset_minutes);

}  // namespace sevwatch::detectors
