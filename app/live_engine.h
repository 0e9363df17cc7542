// The rule engine of `sevwatch run`, with state that outlives the process and
// can change rules without losing it.
//
// The grant journal. Every event the engine needs again to rebuild its
// exposure state (who can read what, the open exposure findings and who read
// them) is kept, in processing order, in the store's grant_journal table:
//   - grants and revokes (what ExposureState::apply reads),
//   - events that named an object the engine had not seen (a later grant on
//     its container reaches it),
//   - reads of exposed objects at an audience and sensitivity that an
//     exposure rule targeted by an evidence rule covers (the readers and the
//     evidence of its finding).
// run_command writes the rows in the same transaction as the source
// checkpoints, so a checkpoint never moves past an event whose row is not
// durable, and no row exists for an event a restart reads again. The first_seen
// baselines (Engine::serialize_baselines) go in the same transaction, when
// they changed, into engine_state under "baselines/<name>".
//
// restore() (at start) and reload() (new rules) build a fresh Engine, load the
// baselines, and replay the journal through it with its findings muted: they
// were reported, and committed, before the rows that hold them. Aggregate and
// sequence state is not kept: after a restart or a reload it holds only what
// the journal's events rebuild, so windows over any other events start empty.
//
// Rows hold no free text the current rules do not read (app/event_journal.h),
// and compact() drops the rows that no longer matter to what a replay
// rebuilds (app/journal_compaction.h).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/journal_compaction.h"
#include "detectors/access_event.h"
#include "rules/context.h"
#include "rules/engine.h"
#include "rules/finding.h"
#include "rules/rule_file.h"
#include "triage/incident_store.h"

namespace sevwatch::app {

struct ReplayStats {
  std::uint64_t events = 0;          // journal events replayed
  std::uint64_t mentions = 0;        // mention rows (objects made known)
  std::uint64_t undecodable = 0;     // rows this build cannot read (skipped)
  std::uint64_t muted_findings = 0;  // findings the replay derived again (not reported)
  bool baselines_loaded = false;
  bool baselines_malformed = false;
  double ms = 0;
};

class LiveEngine {
 public:
  // `name` names this process's journal and baselines in the store.
  LiveEngine(const rules::Context& context, std::unique_ptr<rules::RuleSet> rules,
             rules::FindingSink& sink, triage::IncidentStore& store, std::string name);
  ~LiveEngine();
  LiveEngine(const LiveEngine&) = delete;
  LiveEngine& operator=(const LiveEngine&) = delete;

  // Before the first event: the stored baselines, then the journal replayed.
  // Throws StoreError.
  ReplayStats restore();

  void process(const detectors::AccessEvent& event);
  void flush();

  // True when save_state() has something to write.
  bool state_pending() const;
  // Writes the journal rows since the last saved state and the baselines if
  // they changed, into the caller's open transaction. Throws StoreError.
  void save_state(std::int64_t now_ms);
  // The caller's transaction committed.
  void state_saved();

  // Replaces the rules: a new engine on `rules`, the current baselines, the
  // journal replayed (muted), then the switch. Call right after a commit (the
  // current engine's findings are reported and stored). On a store error
  // (thrown) the current engine stays.
  ReplayStats reload(std::unique_ptr<rules::RuleSet> rules);

  struct Compaction {
    CompactionPlan plan;
    std::uint64_t removed = 0;  // rows deleted
    double ms = 0;
  };
  // Compacts the journal for the current rules (app/journal_compaction.h), in
  // a transaction of its own. Call right after a commit; nullopt (nothing
  // done) while rows are waiting to be saved. Throws StoreError.
  std::optional<Compaction> compact(std::int64_t lateness_ms);

  std::size_t rule_count() const;
  std::uint64_t journal_rows_written() const { return rows_written_; }
  std::uint64_t journal_rows_removed() const { return rows_removed_; }
  const rules::Engine& engine() const;

 private:
  struct Instance;
  std::unique_ptr<Instance> make(std::unique_ptr<rules::RuleSet> rules);
  ReplayStats replay(Instance& inst, const std::optional<std::string>& baselines);
  bool wanted(const Instance& inst, const detectors::AccessEvent& e, std::size_t objects_before,
              std::uint64_t exposed_before) const;
  std::uint64_t baseline_matches(const Instance& inst) const;

  const rules::Context& context_;
  rules::FindingSink& sink_;
  triage::IncidentStore& store_;
  std::string name_;
  std::unique_ptr<Instance> current_;
  std::vector<triage::JournalRow> pending_;  // not yet saved
  std::size_t writing_ = 0;                  // rows of pending_ in the open transaction
  std::uint64_t rows_written_ = 0;
  std::uint64_t rows_removed_ = 0;  // by compactions
  // The newest event time processed (replayed or live): compaction's clock.
  std::int64_t watermark_ = std::numeric_limits<std::int64_t>::min();
  std::uint64_t saved_matches_ = 0;  // first_seen matches when baselines were last saved
  std::uint64_t writing_matches_ = 0;
  std::string saved_baselines_;  // as stored (escaped)
  std::string writing_baselines_;
};

}  // namespace sevwatch::app
