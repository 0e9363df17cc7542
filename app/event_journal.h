// The grant journal's encoding of an AccessEvent (`sevwatch run` keeps the
// events that rebuild the rule engine's exposure state in the store; see
// app/live_engine.h): one line of printable ASCII per event, so that it fits a
// TEXT column of either store whatever bytes the log carried.
//
//   1|time_ms|flags|action|result|format|file|line|offset|event_uid|principal|
//   groups|operation|object|object_level|columns|privileges|grantees|target|
//   target_level|target_columns|target_type|client_ip|query|session|policy|raw
//
// (one line; "1" is the encoding's version). Enums are their numbers; flags
// are 1 = time zone assumed, 2 = with grant option. A list is its items, each
// followed by ','; a grantee is its kind's number then its name. In every
// text, '%', '|', ',' and bytes outside printable ASCII are %HH.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "detectors/access_event.h"

namespace sevwatch::app {

std::string encode_journal_event(const detectors::AccessEvent& event);
// Fills `out` (every field); false when `text` is not an encoding this build
// reads (then `out` is unspecified).
bool decode_journal_event(std::string_view text, detectors::AccessEvent& out);

// Text as printable ASCII plus newline and tab: '%', other control bytes and
// bytes from 0x7f as %HH. For values kept in the store's engine_state table.
std::string escape_state_text(std::string_view text);
// nullopt when `text` has a malformed %HH.
std::optional<std::string> unescape_state_text(std::string_view text);

}  // namespace sevwatch::app
