// Compaction of the grant journal of `sevwatch run` (app/live_engine.h).
//
// The journal is replayed at start (and at a rules reload) to rebuild the
// rule engine. A row still matters when dropping it could change what that
// replay rebuilds for the events still to come, i.e. those with an event time
// at or after the floor = the newest event time processed minus the allowed
// lateness (max of the configured `compact_lateness` and the rules' own
// `lateness`). Precisely, a row is kept whole when
//
//   1. it changed a live exposure finding (Engine::exposure_snapshot: an
//      object of it is still exposed, a grant in force attaches reads to it,
//      or a grant at or after the floor could still join its rollout): its
//      counts, readers and timeline are rebuilt from these rows;
//   2. it made a grant that is still in force (who can read what);
//   3. it matched an aggregate or sequence rule and is within that rule's
//      reach of the floor: `window` (`within`) plus `lateness`, extended back
//      over every run of matching rows less than that apart (an open burst
//      keeps its first event, so its incident keeps its key);
//   4. it is the newest row, when an absence sequence rule exists (its clock);
//   5. it is tied to a kept row: rows that changed the same exposure finding,
//      and the grant, its revoke and any repeat of it in between (one grant's
//      life), are kept or dropped together; and, when an aggregate, sequence
//      or first_seen rule reads object.exposed or exposure.audience, a dropped
//      set of rows may not surround a kept row.
//
// Every other row goes. One that first named objects is replaced by a mention
// row (app/event_journal.h) that only makes them known again, in the same
// place: a later grant on their container still reaches them. So a grant
// revoked long ago goes with its revoke, the reads of the exposure it made
// and its finding, once that finding can no longer change; reads of an
// exposure still open stay (they are its readers' counts). Kept rows lose the
// free text no rule reads. The first_seen baselines are stored apart and are
// not touched.
//
// Before a plan is used, the compacted journal is replayed and its exposure
// snapshot compared with the full journal's. They can differ when exposures
// overlap: one object exposed by two findings' grants, where a revoke takes it
// from the first finding holding it, so a dropped finding changes which one
// that is. Then a plan that also keeps every row naming a catalog a kept row
// names is tried, then one that keeps every row an exposure finding or a grant
// needs, then one that only strips text. What is not compared: aggregate and
// sequence state holds the same events within each rule's reach, but groups
// or pending steps that only older rows made are gone, which only
// `max_groups` limits can tell.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "detectors/access_event.h"
#include "rules/context.h"
#include "rules/engine.h"
#include "rules/rule_file.h"
#include "triage/incident_store.h"

namespace sevwatch::app {

struct CompactionSettings {
  // The newest event time the engine has processed (the journal's newest
  // row's when that is later).
  std::int64_t watermark_ms = std::numeric_limits<std::int64_t>::min();
  // How far behind the newest event time events may still arrive.
  std::int64_t lateness_ms = 3'600'000;
};

struct CompactionPlan {
  std::vector<std::int64_t> remove;         // seqs of rows to delete
  std::vector<triage::JournalRow> rewrite;  // new text for rows: mention rows, stripped text
  std::size_t rows = 0;                     // rows looked at
  std::size_t kept = 0;                     // rows kept as events
  std::size_t mentions = 0;                 // rows that are mention rows afterwards
  std::size_t to_mentions = 0;              // of them, events replaced now
  std::size_t stripped = 0;                 // kept rows that lose free text
  std::size_t live_findings = 0;            // exposure findings that can still change
  std::int64_t floor_ms = 0;
  // The plan taken: 0 the full one; 1 also keeping the rows that name a
  // catalog a kept row names; 2 also every row an exposure finding or a grant
  // needs; 3 text stripped only (each when the ones before did not rebuild
  // the same exposure state).
  int level = 0;
};

CompactionPlan plan_compaction(const std::vector<triage::JournalRow>& rows,
                               const rules::Context& context, const rules::RuleSet& rules,
                               const CompactionSettings& settings);

// Replays one journal row into `engine`: an event is processed, a mention
// row's names are made known; a row this build cannot read is counted.
struct ReplayCounts {
  std::uint64_t events = 0;
  std::uint64_t mentions = 0;
  std::uint64_t undecodable = 0;
};
void replay_journal_row(rules::Engine& engine, const triage::JournalRow& row,
                        detectors::AccessEvent& scratch, ReplayCounts& counts);

}  // namespace sevwatch::app
