#include "app/live_engine.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <set>

#include "app/event_journal.h"

namespace sevwatch::app {

namespace {

using detectors::AccessEvent;
using detectors::Action;

constexpr std::size_t kReplayPage = 10000;

std::string baselines_key(const std::string& name) {
  return "baselines/" + name;
}

// Forwards findings to the real sink while open; counts them while muted.
class Gate final : public rules::FindingSink {
 public:
  explicit Gate(rules::FindingSink& target) : target_(target) {}
  void on_finding(const rules::Finding& f) override {
    if (open) {
      target_.on_finding(f);
    } else {
      ++muted;
    }
  }
  bool open = false;
  std::uint64_t muted = 0;

 private:
  rules::FindingSink& target_;
};

// What an exposure rule that evidence is attached to covers.
struct Coverage {
  std::vector<rules::Audience> audiences;
  rules::Level min_level;
};

}  // namespace

// One rule set with its engine. Members are destroyed engine first.
struct LiveEngine::Instance {
  Instance(std::unique_ptr<rules::RuleSet> r, rules::FindingSink& sink)
      : rules(std::move(r)), gate(sink) {}
  std::unique_ptr<rules::RuleSet> rules;
  Gate gate;
  std::unique_ptr<rules::Engine> engine;
  KeptText text;  // what free text the journal rows keep
  std::vector<Coverage> coverage;
  std::set<std::string, std::less<>> first_seen;  // ids of enabled first_seen rules
};

LiveEngine::LiveEngine(const rules::Context& context, std::unique_ptr<rules::RuleSet> rules,
                       rules::FindingSink& sink, triage::IncidentStore& store, std::string name)
    : context_(context), sink_(sink), store_(store), name_(std::move(name)) {
  current_ = make(std::move(rules));
  current_->gate.open = true;
}

LiveEngine::~LiveEngine() = default;

std::unique_ptr<LiveEngine::Instance> LiveEngine::make(std::unique_ptr<rules::RuleSet> rules) {
  auto inst = std::make_unique<Instance>(std::move(rules), sink_);
  inst->engine = std::make_unique<rules::Engine>(context_, *inst->rules, inst->gate);
  inst->text = KeptText::read_by(*inst->rules);
  const auto& set = *inst->rules;
  for (const auto& r : set.rules) {
    if (!r.enabled) continue;
    if (r.kind == rules::RuleKind::first_seen) inst->first_seen.insert(r.id);
    if (r.kind != rules::RuleKind::exposure_evidence) continue;
    for (const auto& id : r.evidence.attach_to) {
      const rules::Rule* t = set.find(id);
      if (t != nullptr && t->kind == rules::RuleKind::exposure) {
        inst->coverage.push_back(Coverage{t->exposure.audiences, t->exposure.min_level});
      }
    }
  }
  return inst;
}

void LiveEngine::flush() {
  current_->engine->flush();
}

const rules::Engine& LiveEngine::engine() const {
  return *current_->engine;
}

std::size_t LiveEngine::rule_count() const {
  return current_->rules->rules.size();
}

std::uint64_t LiveEngine::baseline_matches(const Instance& inst) const {
  if (inst.first_seen.empty()) return 0;
  std::uint64_t n = 0;
  for (const auto& s : inst.engine->stateful_stats()) {
    if (inst.first_seen.count(s.rule_id) > 0) n += s.matched;
  }
  return n;
}

bool LiveEngine::wanted(const Instance& inst, const AccessEvent& e, std::size_t objects_before,
                        std::uint64_t exposed_before) const {
  if (e.action == Action::grant || e.action == Action::revoke) return true;
  const auto& exposure = inst.engine->exposure();
  if (exposure.object_count() != objects_before) return true;  // a new object name
  if (inst.engine->stats().exposed_reads == exposed_before || inst.coverage.empty()) return false;
  const auto id = exposure.find(e.object.name);
  if (!id) return false;
  const auto exp = exposure.exposure(*id);
  if (!exp) return false;
  const auto level = static_cast<int>(exposure.info(*id).level);
  for (const auto& c : inst.coverage) {
    if (level <= static_cast<int>(c.min_level) &&
        std::find(c.audiences.begin(), c.audiences.end(), exp->audience) != c.audiences.end()) {
      return true;
    }
  }
  return false;
}

void LiveEngine::process(const AccessEvent& e) {
  auto& engine = *current_->engine;
  const auto objects = engine.exposure().object_count();
  const auto exposed = engine.stats().exposed_reads;
  engine.process(e);
  watermark_ = std::max(watermark_, e.time_ms);
  if (wanted(*current_, e, objects, exposed)) {
    pending_.push_back(triage::JournalRow{0, e.time_ms, encode_journal_event(e, current_->text)});
  }
}

ReplayStats LiveEngine::replay(Instance& inst, const std::optional<std::string>& baselines) {
  const auto t0 = std::chrono::steady_clock::now();
  ReplayStats st;
  inst.gate.open = false;
  if (baselines) {
    st.baselines_loaded = inst.engine->load_baselines(*baselines);
    st.baselines_malformed = !st.baselines_loaded;
  }
  AccessEvent e;
  ReplayCounts counts;
  auto feed = [&](const triage::JournalRow& row) {
    replay_journal_row(*inst.engine, row, e, counts);
    watermark_ = std::max(watermark_, row.at_ms);
  };
  std::int64_t after = 0;
  for (;;) {
    const auto rows = store_.load_journal(name_, after, kReplayPage);
    for (const auto& row : rows) feed(row);
    if (rows.size() < kReplayPage) break;
    after = rows.back().seq;
  }
  for (const auto& row : pending_) feed(row);  // not saved yet
  inst.engine->flush();
  st.events = counts.events;
  st.mentions = counts.mentions;
  st.undecodable = counts.undecodable;
  st.muted_findings = inst.gate.muted;
  inst.gate.muted = 0;
  inst.gate.open = true;
  st.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

ReplayStats LiveEngine::restore() {
  std::optional<std::string> baselines;
  bool malformed = false;
  if (auto stored = store_.get_state(baselines_key(name_))) {
    saved_baselines_ = *stored;
    baselines = unescape_state_text(*stored);
    malformed = !baselines;
  }
  auto st = replay(*current_, baselines);
  st.baselines_malformed = st.baselines_malformed || malformed;
  saved_matches_ = baseline_matches(*current_);
  return st;
}

ReplayStats LiveEngine::reload(std::unique_ptr<rules::RuleSet> rules) {
  auto next = make(std::move(rules));
  const auto st = replay(*next, current_->engine->serialize_baselines());
  current_ = std::move(next);
  // With first_seen rules, the baselines are compared with what is stored at
  // the next commit (the set of rules, so the text, may have changed).
  saved_matches_ = current_->first_seen.empty() ? 0 : ~std::uint64_t{0};
  return st;
}

bool LiveEngine::state_pending() const {
  return !pending_.empty() || baseline_matches(*current_) != saved_matches_;
}

void LiveEngine::save_state(std::int64_t now_ms) {
  writing_ = pending_.size();
  if (!pending_.empty()) store_.append_journal(name_, pending_);
  writing_matches_ = baseline_matches(*current_);
  writing_baselines_.clear();
  if (writing_matches_ != saved_matches_) {
    std::string text = escape_state_text(current_->engine->serialize_baselines());
    if (text != saved_baselines_) {
      store_.put_state(baselines_key(name_), text, now_ms);
      writing_baselines_ = std::move(text);
    }
  }
}

std::optional<LiveEngine::Compaction> LiveEngine::compact(std::int64_t lateness_ms) {
  if (!pending_.empty() || writing_ != 0) return std::nullopt;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<triage::JournalRow> rows;
  std::int64_t after = 0;
  for (;;) {
    auto page = store_.load_journal(name_, after, kReplayPage);
    const bool last = page.size() < kReplayPage;
    if (!page.empty()) after = page.back().seq;
    rows.insert(rows.end(), std::make_move_iterator(page.begin()),
                std::make_move_iterator(page.end()));
    if (last) break;
  }
  Compaction c;
  c.plan = plan_compaction(rows, context_, *current_->rules,
                           CompactionSettings{watermark_, lateness_ms});
  c.removed = store_.compact_journal(name_, c.plan.remove, c.plan.rewrite);
  rows_removed_ += c.removed;
  c.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

void LiveEngine::state_saved() {
  rows_written_ += writing_;
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(writing_));
  writing_ = 0;
  saved_matches_ = writing_matches_;
  if (!writing_baselines_.empty()) saved_baselines_ = std::move(writing_baselines_);
  writing_baselines_.clear();
}

}  // namespace sevwatch::app
