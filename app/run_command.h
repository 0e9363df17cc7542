// `sevwatch run --config FILE`: the daemon. Sources -> decoders -> rules (in
// arrival order; event time inside) -> incidents. Every flush interval the
// findings and incidents are committed in one transaction, then the dead-letter
// file is synced, then the sources' checkpoints are committed (a second
// transaction, strictly after the data), then sources are told their input is
// durable (HTTP answers 200, Kafka commits offsets). SIGINT/SIGTERM stop the
// sources, commit, and exit 0.
//
// The rule engine's state survives restarts (app/live_engine.h): the events
// that rebuild the exposure state go into the store's grant journal and the
// first_seen baselines into engine_state, both in the checkpoints'
// transaction; at start the journal is replayed before any source is read,
// then compacted, and compacted again every `compact_every` committed batches
// (app/journal_compaction.h).
// SIGHUP (and, with `rules_reload: watch`, a changed rule file) re-reads and
// compiles the rule files: with errors the diagnostics are logged and the
// rules in use stay; else a new engine is built on them from the journal and
// the baselines and takes over (aggregate and sequence windows keep only the
// journal's events).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "app/run_config.h"

namespace sevwatch::app {

// Runs until a signal (or until every source has reached the end of finite
// input, e.g. stdin). Returns the exit status: 0, or 1 with the reason logged.
int run_daemon(const RunConfig& config, std::ostream& err);

// The `run` subcommand: parses argv (after "run").
int run_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sevwatch::app
