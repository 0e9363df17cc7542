// Which of an event's free-text fields a holder of events keeps: those the
// rules read. The query, session, policy, client IP, event id, operation,
// format, columns and grant target type are read only by rule conditions (and
// value fields such as group_by); the engine itself reads the principal, its
// groups, the object, the grant, the action, the result and the time. The
// grant journal (event_journal.h) writes the others empty unless a rule reads
// them, so it keeps no query text nobody needs; `scan`'s event spool
// (event_spool.h) does the same, so it moves no bytes nobody reads.
#pragma once

#include <bitset>
#include <string>

#include "rules/condition_fields.h"
#include "rules/rule_file.h"

namespace sevwatch::app {

struct KeptText {
  std::bitset<rules::kFieldCount> fields;  // condition fields read (RuleSet::fields_used)
  bool raw = false;                        // raw.<path> fields read (RuleSet::uses_raw)

  static KeptText all() {
    KeptText t;
    t.fields.set();
    t.raw = true;
    return t;
  }
  static KeptText read_by(const rules::RuleSet& rules) {
    KeptText t;
    t.fields = rules.fields_used;
    t.raw = rules.uses_raw;
    return t;
  }
  bool keeps(rules::Field f) const { return fields.test(static_cast<std::size_t>(f)); }
  bool keeps_everything() const { return raw && fields.all(); }
  // `s` when field `f` is kept, else an empty string.
  const std::string& text(rules::Field f, const std::string& s) const {
    static const std::string kNone;
    return keeps(f) ? s : kNone;
  }
};

}  // namespace sevwatch::app
