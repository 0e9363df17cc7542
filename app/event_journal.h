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
//
// Free text that only rule conditions read (the query, session, policy,
// client IP, event id, operation, format, columns, grant target type, the
// source record) is written empty unless a rule of the current set reads it
// (KeptText, kept_text.h), and the source position never: the journal keeps no query
// text nobody needs.
//
// A journal compaction (app/journal_compaction.h) replaces an event that is
// kept only because it named objects first by a mention row:
//
//   M|name,name,
//
// the object names it made known, in that order (a list as above).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/kept_text.h"
#include "detectors/access_event.h"

namespace sevwatch::app {

// The event as a journal row, without the free text `keep` does not keep.
std::string encode_journal_event(const detectors::AccessEvent& event,
                                 const KeptText& keep = KeptText::all());
// Fills `out` (every field); false when `text` is not an encoding this build
// reads (then `out` is unspecified).
bool decode_journal_event(std::string_view text, detectors::AccessEvent& out);

std::string encode_journal_mention(const std::vector<std::string>& names);
// False when `text` is not a mention row.
bool decode_journal_mention(std::string_view text, std::vector<std::string>& names);

// Text as printable ASCII plus newline and tab: '%', other control bytes and
// bytes from 0x7f as %HH. For values kept in the store's engine_state table.
std::string escape_state_text(std::string_view text);
// nullopt when `text` has a malformed %HH.
std::optional<std::string> unescape_state_text(std::string_view text);

}  // namespace sevwatch::app
