#include "app/run_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <map>

#include "app/cli_args.h"
#include "app/live_engine.h"
#include "app/rule_reload.h"
#include "app/wiring.h"
#include "detectors/sources/dead_letter.h"
#include "detectors/sources/source.h"
#include "triage/incident_manager.h"

namespace sevwatch::app {

namespace {

namespace asio = boost::asio;
namespace src = detectors::sources;

std::string iso_now() {
  const auto ms = wall_ms();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

// The incident store's checkpoints table, seen by the sources.
class StoreCheckpoints final : public src::CheckpointStore {
 public:
  explicit StoreCheckpoints(triage::IncidentStore& store) : store_(store) {}
  std::vector<src::Checkpoint> load(const std::string& source) override {
    std::vector<src::Checkpoint> out;
    for (auto& c : store_.get_checkpoints(source)) {
      out.push_back(src::Checkpoint{c.source, c.stream, c.inode, c.fingerprint, c.fingerprint_bytes,
                                    c.offset, c.line});
    }
    return out;
  }
  void save(const std::vector<src::Checkpoint>& checkpoints) override {
    std::vector<triage::SourceCheckpoint> rows;
    const auto now = wall_ms();
    for (const auto& c : checkpoints) {
      rows.push_back(triage::SourceCheckpoint{c.source, c.stream, c.inode, c.fingerprint,
                                              c.fingerprint_bytes, c.offset, c.line, now});
    }
    store_.put_checkpoints(rows);
  }

 private:
  triage::IncidentStore& store_;
};

// Decoded events into the engine, rejects into counters and the dead letter.
class RunPipeline final : public src::IngestSink {
 public:
  RunPipeline(Pipeline& p, triage::IncidentStore& store, src::DeadLetterFile& dead_letter,
              src::CheckpointStore& checkpoints, src::LogFn log, const RunConfig& config)
      : store_(store),
        dead_letter_(dead_letter),
        checkpoints_(checkpoints),
        log_(std::move(log)),
        compact_every_(config.compact_every),
        compact_lateness_ms_(config.compact_lateness_ms),
        manager_(store, *p.rubric, wall_ms),
        engine_(*p.context, std::make_unique<rules::RuleSet>(std::move(p.rules)), manager_, store,
                config.state_name) {}

  // Before the sources start: the engine state as of the last commit, then
  // the journal compacted.
  void restore() {
    const auto st = engine_.restore();
    log_replay("engine state restored", st);
    compact("at start", false);
  }

  // Drops the journal rows that no longer matter (app/journal_compaction.h).
  // A failure is logged; the journal is then as it was. `quiet`: no line when
  // nothing changed.
  void compact(const char* why, bool quiet) {
    if (compact_every_ == 0) return;
    try {
      const auto c = engine_.compact(compact_lateness_ms_);
      if (!c) return;
      const auto& p = c->plan;
      if (quiet && c->removed == 0 && p.rewrite.empty()) return;  // nothing to say
      log_("info", fmt::format("journal compacted ({}): {} row(s) removed, {} event(s) replaced by "
                               "mention rows, {} stripped of text no rule reads; {} of {} row(s) "
                               "left ({} mention rows); {} exposure finding(s) still live; in "
                               "{:.0f} ms",
                               why, c->removed, p.to_mentions, p.stripped, p.rows - c->removed,
                               p.rows, p.mentions, p.live_findings, c->ms));
      if (p.level > 0) {
        static constexpr const char* kKept[] = {"", "kept the rows of the catalogs it still needs",
                                                "kept every row an exposure finding or grant needs",
                                                "only stripped text"};
        log_("warn", fmt::format("journal compaction ({}): dropping every row that no longer "
                                 "matters would not rebuild the same exposure state (overlapping "
                                 "exposures); {}",
                                 why, kKept[std::min(p.level, 3)]));
      }
    } catch (const std::exception& e) {
      log_("warn", fmt::format("journal compaction ({}) failed, the journal is unchanged: {}", why,
                               redact_url(e.what())));
    }
  }

  // Swaps in new rules (compiled without errors). Call right after a commit,
  // so the current engine's findings are stored before it goes. Throws
  // StoreError (reading the journal) with the current rules still in place.
  void reload(std::unique_ptr<rules::RuleSet> rules, const std::string& why) {
    const auto st = engine_.reload(std::move(rules));
    ++reloads_;
    log_("info", fmt::format("rules reloaded ({}): {} rule(s); exposure state rebuilt from {} "
                             "journal event(s) in {:.0f} ms; aggregate and sequence windows "
                             "restart from the journal's events only",
                             why, engine_.rule_count(), st.events, st.ms));
    if (st.undecodable > 0 || st.baselines_malformed) log_replay("rules reload", st);
  }

  void on_event(detectors::AccessEvent&& e) override {
    ++events_;
    engine_.process(e);
  }
  std::size_t rule_count() const { return engine_.rule_count(); }
  void count_reload_failure() { ++reload_failures_; }
  std::uint64_t reload_failures() const { return reload_failures_; }
  void on_reject(src::Reject&& r) override {
    ++rejects_;
    ++rejected_[{r.source, r.reason}];
    dead_letter_.write(r, wall_ms());
  }

  void add_source(src::Source* s) { sources_.push_back(s); }

  // Commits findings and incidents; then, in one transaction, the engine's
  // journal rows and baselines with the checkpoints; then acknowledges.
  // Throws (StoreError, std::runtime_error) when the store cannot commit.
  void commit() {
    engine_.flush();
    manager_.flush();
    dead_letter_.sync();
    std::vector<src::Checkpoint> cps;
    for (auto* s : sources_) s->collect_checkpoints(cps);
    std::vector<src::Checkpoint> changed;
    for (const auto& c : cps) {
      auto& last = last_saved_[{c.source, c.stream}];
      if (last.offset != c.offset || last.inode != c.inode || last.fingerprint != c.fingerprint ||
          last.line != c.line || last.stream.empty()) {
        changed.push_back(c);
        last = c;
      }
    }
    // A checkpoint never moves past an event whose journal row is not durable.
    const bool state = engine_.state_pending();
    if (state || !changed.empty()) {
      store_.begin();
      try {
        if (state) engine_.save_state(wall_ms());
        if (!changed.empty()) checkpoints_.save(changed);
        store_.commit();
      } catch (...) {
        store_.rollback();
        throw;
      }
      if (state) engine_.state_saved();
      ++batches_;
    }
    for (auto* s : sources_) s->on_durable();
    if (compact_every_ > 0 && batches_ >= compact_every_) {
      batches_ = 0;
      compact("periodic", true);
    }
    const auto& st = manager_.stats();
    if (events_ != logged_events_ || rejects_ != logged_rejects_ ||
        st.incidents_opened != logged_opened_ || st.incidents_updated != logged_updated_) {
      log_("info", fmt::format("committed: {} events, {} rejected, {} incidents opened, {} "
                               "updated (totals since start)",
                               events_, rejects_, st.incidents_opened, st.incidents_updated));
      logged_events_ = events_;
      logged_rejects_ = rejects_;
      logged_opened_ = st.incidents_opened;
      logged_updated_ = st.incidents_updated;
    }
  }

  void summary() {
    log_("info", fmt::format("stopped: {} events, {} rejected, {} incidents opened, {} updated",
                             events_, rejects_, manager_.stats().incidents_opened,
                             manager_.stats().incidents_updated));
    log_("info", fmt::format("engine state: {} journal row(s) written, {} removed by compaction; "
                             "rules reloaded {} time(s), {} reload(s) refused",
                             engine_.journal_rows_written(), engine_.journal_rows_removed(),
                             reloads_, reload_failures_));
    for (const auto& [key, n] : rejected_) {
      log_("info", fmt::format("rejected by source {}: {}: {}", key.first, key.second, n));
    }
  }

 private:
  void log_replay(const char* what, const ReplayStats& st) {
    log_("info",
         fmt::format(
             "{}: {} journal event(s) replayed{} in {:.0f} ms ({} finding "
             "update(s) already stored, not reported again); first_seen "
             "baselines {}",
             what, st.events,
             st.mentions > 0 ? fmt::format(" and {} mention row(s)", st.mentions) : std::string(),
             st.ms, st.muted_findings, st.baselines_loaded ? "loaded" : "none stored"));
    if (st.undecodable > 0) {
      log_("warn", fmt::format("{}: {} journal row(s) this build cannot read were skipped", what,
                               st.undecodable));
    }
    if (st.baselines_malformed) {
      log_("warn", fmt::format("{}: the stored first_seen baselines are malformed; those rules "
                               "learn again",
                               what));
    }
  }

  triage::IncidentStore& store_;
  src::DeadLetterFile& dead_letter_;
  src::CheckpointStore& checkpoints_;
  src::LogFn log_;
  std::uint64_t compact_every_;  // committed batches between compactions (0: never)
  std::int64_t compact_lateness_ms_;
  std::uint64_t batches_ = 0;  // since the last compaction
  triage::IncidentManager manager_;
  LiveEngine engine_;
  std::uint64_t reloads_ = 0, reload_failures_ = 0;
  std::vector<src::Source*> sources_;
  std::map<std::pair<std::string, std::string>, src::Checkpoint> last_saved_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> rejected_;
  std::uint64_t events_ = 0, rejects_ = 0;
  std::uint64_t logged_events_ = 0, logged_rejects_ = 0, logged_opened_ = 0, logged_updated_ = 0;
};

}  // namespace

int run_daemon(const RunConfig& config, std::ostream& err) {
  auto log = [&err](std::string_view level, std::string_view message) {
    // One line per event; control characters never reach the terminal.
    std::string line = fmt::format("{} {} {}", iso_now(), level, message);
    for (auto& c : line) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    err << line << "\n" << std::flush;
  };

  // Until the reload handler is installed, a SIGHUP (which would end the
  // process) is ignored: the rules are being read anyway.
  std::signal(SIGHUP, SIG_IGN);
  Pipeline pipeline;
  if (!load_pipeline(config.context_path, config.rule_paths, config.rubric_path, pipeline, err,
                     config.sigma_mapping_path)) {
    return 1;
  }
  std::string error;
  auto store = triage::IncidentStore::open(config.store_url, error);
  if (!store) {
    log("error", redact_url(error));
    return 1;
  }
  log("info",
      fmt::format("store {} (schema {})", redact_url(config.store_url), store->schema_version()));

  try {
    src::DeadLetterFile dead_letter(config.dead_letter_path, config.dead_letter_max_raw_bytes);
    if (!config.dead_letter_path.empty()) {
      log("info", fmt::format("dead-letter file {}", config.dead_letter_path));
    }
    StoreCheckpoints checkpoints(*store);
    std::string rules_signature = config.rules_reload == RulesReload::watch
                                      ? rule_files_signature(config.rule_paths)
                                      : std::string();
    // Decoders keep source records when the rules read raw.<path> fields (the
    // rule set moves into the engine below).
    const bool keep_raw = pipeline.rules.uses_raw;
    RunPipeline run(pipeline, *store, dead_letter, checkpoints, log, config);
    run.restore();

    asio::io_context io;
    detectors::DecoderRegistry decoders;
    detectors::register_builtin_decoders(decoders);
    src::SourceRegistry registry;
    src::register_builtin_sources(registry);

    bool failed = false;
    auto commit_or_fail = [&]() -> bool {
      try {
        run.commit();
        return true;
      } catch (const std::exception& e) {
        log("error",
            fmt::format("commit failed, stopping without acknowledging: {}", redact_url(e.what())));
        failed = true;
        io.stop();
        return false;
      }
    };

    src::SourceContext ctx;
    ctx.executor = io.get_executor();
    ctx.registry = &decoders;
    ctx.decoder_options.max_line_bytes = config.max_line_bytes;
    ctx.decoder_options.max_depth = config.max_depth;
    ctx.decoder_options.assumed_utc_offset_minutes = config.assumed_utc_offset_minutes;
    ctx.decoder_options.keep_raw = keep_raw;  // raw.<path> fields need the records
    ctx.sink = &run;
    ctx.checkpoints = &checkpoints;
    ctx.log = log;
    ctx.commit_now = [&] { commit_or_fail(); };

    std::vector<std::unique_ptr<src::Source>> sources;
    for (const auto& spec : config.sources) {
      sources.push_back(registry.make(spec, ctx));
      run.add_source(sources.back().get());
    }
    for (auto& s : sources) s->start();

    bool stopping = false;
    auto shutdown = [&](const std::string& why) {
      if (stopping) return;
      stopping = true;
      log("info", fmt::format("{}: stopping sources and committing", why));
      for (auto& s : sources) s->stop();
      if (commit_or_fail()) io.stop();
    };

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (!ec) shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
    });

    // Rules reload: compile the files again; on errors keep the rules in use.
    auto reload_rules = [&](const std::string& why) {
      if (stopping || failed) return;
      if (config.rules_reload == RulesReload::watch) {
        rules_signature = rule_files_signature(config.rule_paths);
      }
      rules::Diagnostics diags;
      auto next = load_rule_set(config.rule_paths, diags, config.sigma_mapping_path);
      for (const auto& d : diags.all()) {
        log(d.severity == rules::DiagSeverity::error ? "error" : "warn",
            rules::format_diagnostic(d));
      }
      if (diags.has_errors()) {
        run.count_reload_failure();
        log("error", fmt::format("rules reload ({}) refused: the rule files have errors; still "
                                 "running the previous {} rule(s) ({} reload(s) refused so far)",
                                 why, run.rule_count(), run.reload_failures()));
        return;
      }
      if (next->uses_raw && !keep_raw) {
        log("warn",
            "the new rules read raw.<path> fields, but the sources were started without "
            "keeping source records: those fields stay empty until a restart");
      }
      if (!commit_or_fail()) return;
      try {
        run.reload(std::move(next), why);
      } catch (const std::exception& e) {
        run.count_reload_failure();
        log("error", fmt::format("rules reload ({}) failed: {}; still running the previous {} "
                                 "rule(s)",
                                 why, redact_url(e.what()), run.rule_count()));
      }
    };
    asio::signal_set hangup(io, SIGHUP);
    std::function<void()> wait_hangup = [&] {
      hangup.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        reload_rules("SIGHUP");
        wait_hangup();
      });
    };
    wait_hangup();
    log("info", fmt::format("running: {} source(s), {} rule(s), commit every {} ms; SIGHUP "
                            "reloads the rules{}",
                            sources.size(), run.rule_count(), config.flush_interval_ms,
                            config.rules_reload == RulesReload::watch
                                ? ", and so does a change of a rule file"
                                : ""));

    asio::steady_timer flush_timer(io);
    std::function<void()> arm = [&] {
      flush_timer.expires_after(std::chrono::milliseconds(config.flush_interval_ms));
      flush_timer.async_wait([&](const boost::system::error_code& ec) {
        if (ec || stopping) return;
        if (!commit_or_fail()) return;
        if (config.rules_reload == RulesReload::watch &&
            rule_files_signature(config.rule_paths) != rules_signature) {
          reload_rules("rule files changed");
          if (failed) return;
        }
        bool all_done = true;
        for (auto& s : sources) all_done = all_done && s->finished();
        if (all_done) return shutdown("end of input");
        arm();
      });
    };
    arm();
    io.run();
    // Let answers queued by the last commit (HTTP 200s) go out.
    if (!failed) {
      io.restart();
      io.run_for(std::chrono::milliseconds(200));
    }
    run.summary();
    return failed ? 1 : 0;
  } catch (const std::exception& e) {
    log("error", redact_url(e.what()));
    return 1;
  }
}

int run_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  (void)out;
  std::string config_path;
  ArgParser p("run", args, err);
  while (p.more()) {
    if (p.flag("--config")) {
      config_path = p.value();
    } else {
      p.fail("unexpected argument '" + p.positional() + "'");
    }
  }
  if (p.failed()) return 2;
  if (config_path.empty()) {
    err << "sevwatch run: --config FILE is required\n";
    return 2;
  }
  RunConfig config;
  std::string error;
  if (!load_run_config(config_path, config, error)) {
    err << "sevwatch run: " << error << "\n";
    return 1;
  }
  return run_daemon(config, err);
}

}  // namespace sevwatch::app
