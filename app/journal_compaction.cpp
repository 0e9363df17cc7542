#include "app/journal_compaction.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <numeric>
#include <set>
#include <tuple>
#include <unordered_map>

#include "app/event_journal.h"

namespace sevwatch::app {

namespace {

using detectors::AccessEvent;
using detectors::Action;

// The dedup keys of the exposure findings an event changed.
class TouchSink final : public rules::FindingSink {
 public:
  explicit TouchSink(const rules::RuleSet& rules) {
    for (const auto& r : rules.rules) {
      if (r.kind == rules::RuleKind::exposure) exposure_ids_.insert(r.id);
    }
  }
  void on_finding(const rules::Finding& f) override {
    if (exposure_ids_.count(f.rule_id) > 0) keys.push_back(f.group_key);
  }
  std::vector<std::string> keys;

 private:
  std::set<std::string, std::less<>> exposure_ids_;
};

// An aggregate or sequence rule's reach: how far back a row can still count.
struct Reach {
  std::int64_t span = 0;                                   // window (within) plus lateness
  std::vector<std::pair<std::int64_t, std::size_t>> rows;  // (time, row) it matched
};

enum class Kind : std::uint8_t { event, mention, unreadable };

struct Row {
  Kind kind = Kind::unreadable;
  std::int64_t time = 0;
  std::vector<std::string> names;     // objects it made known, in order
  std::vector<std::string> catalogs;  // of its object and grant target
};

std::string catalog_of(std::string_view name) {
  return std::string(name.substr(0, name.find('.')));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct UnionFind {
  explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  std::size_t find(std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void unite(std::size_t a, std::size_t b) { parent[find(a)] = find(b); }
  std::vector<std::size_t> parent;
};

// One replay of the full journal, watching what each row does.
struct Analysis {
  std::vector<Row> rows;
  std::vector<char> seed;        // must be kept whole (rules 1-4)
  std::vector<char> touches;     // changed some exposure finding
  std::vector<char> grant_like;  // a grant or revoke event
  UnionFind tied{0};             // rule 5
  std::string snapshot;
  std::size_t live = 0;
  std::int64_t floor_ms = 0;
};

// Which rule each of Engine::stateful_stats() is: its Reach, or none.
std::vector<int> reach_index(const rules::Engine& engine, const rules::RuleSet& set,
                             std::vector<Reach>& reach, bool& absence, std::int64_t& lateness) {
  std::vector<int> out;
  for (const auto& st : engine.stateful_stats()) {
    const rules::Rule* r = set.find(st.rule_id);
    int index = -1;
    if (r != nullptr && r->kind == rules::RuleKind::aggregate) {
      index = static_cast<int>(reach.size());
      reach.push_back(Reach{r->aggregate.window_ms + r->aggregate.limits.lateness_ms, {}});
      lateness = std::max(lateness, r->aggregate.limits.lateness_ms);
    } else if (r != nullptr && r->kind == rules::RuleKind::sequence) {
      index = static_cast<int>(reach.size());
      reach.push_back(Reach{r->sequence.within_ms + r->sequence.limits.lateness_ms, {}});
      lateness = std::max(lateness, r->sequence.limits.lateness_ms);
      absence = absence || r->sequence.absent;
    }
    out.push_back(index);
  }
  return out;
}

// The oldest time a rule's rows still count from (rule 3).
std::int64_t reach_cutoff(Reach& r, std::int64_t floor_ms) {
  std::sort(r.rows.begin(), r.rows.end(), std::greater<>());
  std::int64_t x = floor_ms - r.span;
  for (const auto& [t, row] : r.rows) {
    if (t >= x) continue;
    if (t < x - r.span) break;
    x = t;
  }
  return x;
}

Analysis analyse(const std::vector<triage::JournalRow>& journal, const rules::Context& context,
                 const rules::RuleSet& set, const CompactionSettings& settings) {
  const std::size_t n = journal.size();
  Analysis a;
  a.rows.resize(n);
  a.seed.assign(n, 0);
  a.touches.assign(n, 0);
  a.grant_like.assign(n, 0);
  a.tied = UnionFind(n);

  TouchSink sink(set);
  rules::Engine engine(context, set, sink);
  std::vector<Reach> reach;
  bool absence = false;
  std::int64_t lateness = settings.lateness_ms;
  const auto reach_of = reach_index(engine, set, reach, absence, lateness);
  std::vector<std::uint64_t> matched(reach_of.size(), 0);

  // Grants in force: (container?, target, grantee) -> id, and the row that made each.
  std::map<std::tuple<bool, std::string, std::string>, std::uint32_t> held;
  std::unordered_map<std::uint32_t, std::size_t> made_by;
  std::uint32_t next_grant = 1;
  // Exposure findings: key -> rows that changed it.
  std::unordered_map<std::string, std::vector<std::size_t>> finding_rows;

  std::int64_t watermark = settings.watermark_ms;
  std::size_t newest = n;
  AccessEvent e;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i) {
    Row& row = a.rows[i];
    row.time = journal[i].at_ms;
    const auto objects = engine.exposure().object_count();
    if (decode_journal_mention(journal[i].event, names)) {
      row.kind = Kind::mention;
      for (const auto& name : names) engine.know_object(name);
    } else if (decode_journal_event(journal[i].event, e)) {
      row.kind = Kind::event;
      row.time = e.time_ms;
      sink.keys.clear();
      engine.process(e);
      engine.flush();
      for (const auto& key : sink.keys) finding_rows[key].push_back(i);
      a.touches[i] = sink.keys.empty() ? 0 : 1;
      for (const auto* name : {&e.object.name, &e.grant.target.name}) {
        if (!name->empty()) row.catalogs.push_back(catalog_of(*name));
      }
    } else {
      continue;  // kept as it is; the replay skips it
    }
    for (auto id = objects; id < engine.exposure().object_count(); ++id) {
      row.names.push_back(engine.exposure().name(static_cast<rules::ObjectId>(id)));
    }
    if (watermark < row.time) watermark = row.time;
    if (row.kind != Kind::event) continue;
    if (newest == n || a.rows[newest].time <= row.time) newest = i;

    if (!reach.empty()) {
      const auto stats = engine.stateful_stats();
      for (std::size_t s = 0; s < stats.size() && s < reach_of.size(); ++s) {
        if (stats[s].matched == matched[s]) continue;
        matched[s] = stats[s].matched;
        if (reach_of[s] >= 0)
          reach[static_cast<std::size_t>(reach_of[s])].rows.emplace_back(e.time_ms, i);
      }
    }

    // One grant's life: the row that made it, repeats while it holds, its revoke.
    if (e.action != Action::grant && e.action != Action::revoke) continue;
    a.grant_like[i] = 1;
    const auto& target = e.grant.target.name.empty() ? e.object : e.grant.target;
    if (e.result == detectors::Result::denied || target.name.empty() ||
        !rules::grants_read(e.grant.privileges)) {
      continue;  // changes nothing
    }
    const bool container = target.level == detectors::ObjectLevel::schema ||
                           target.level == detectors::ObjectLevel::catalog;
    if (e.action == Action::grant) {
      while (const rules::ActiveGrant* g = engine.exposure().grant(next_grant)) {
        made_by[next_grant] = i;
        held[{container, g->target, lower(g->grantee)}] = next_grant;
        ++next_grant;
      }
    }
    for (const auto& grantee : e.grant.grantees) {
      const auto it = held.find({container, target.name, lower(grantee.name)});
      if (it == held.end()) continue;
      a.tied.unite(i, made_by.at(it->second));
      if (e.action == Action::revoke && engine.exposure().grant(it->second) == nullptr) {
        held.erase(it);
      }
    }
  }

  a.floor_ms = watermark - lateness;
  const auto snap = engine.exposure_snapshot(a.floor_ms);
  a.snapshot = snap.text;
  a.live = snap.live_keys.size();
  for (const auto& [key, rows] : finding_rows) {
    const bool live = std::binary_search(snap.live_keys.begin(), snap.live_keys.end(), key);
    for (const auto i : rows) {
      a.tied.unite(i, rows.front());
      if (live) a.seed[i] = 1;  // rule 1
    }
  }
  for (const auto& [key, id] : held) a.seed[made_by.at(id)] = 1;  // rule 2
  for (auto& r : reach) {                                         // rule 3
    const auto cutoff = reach_cutoff(r, a.floor_ms);
    for (const auto& [t, i] : r.rows) {
      if (t >= cutoff) a.seed[i] = 1;
    }
  }
  if (absence && newest < n) a.seed[newest] = 1;  // rule 4
  return a;
}

// True when some aggregate, sequence or first_seen rule can see the exposure
// state (then a dropped grant may not surround a kept row).
bool stateful_sees_exposure(const rules::RuleSet& set) {
  bool stateful = false;
  for (const auto& r : set.rules) {
    stateful = stateful || (r.enabled && (r.kind == rules::RuleKind::aggregate ||
                                          r.kind == rules::RuleKind::sequence ||
                                          r.kind == rules::RuleKind::first_seen));
  }
  return stateful &&
         (set.uses(rules::Field::object_exposed) || set.uses(rules::Field::exposure_audience));
}

// Which rows stay events (rule 5 over `seed`).
std::vector<char> close_over(Analysis& a, std::vector<char> seed, bool surround) {
  const std::size_t n = a.rows.size();
  std::vector<char> keep_set(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (seed[i]) keep_set[a.tied.find(i)] = 1;
  }
  std::vector<char> keep(n, 0);
  auto settle = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      keep[i] = (a.rows[i].kind == Kind::event && keep_set[a.tied.find(i)]) ? 1 : 0;
    }
  };
  settle();
  if (!surround) return keep;
  // The span of each dropped set must not hold a kept row.
  std::vector<std::size_t> first(n, n), last(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (a.rows[i].kind != Kind::event) continue;
    const auto root = a.tied.find(i);
    first[root] = std::min(first[root], i);
    last[root] = std::max(last[root], i);
  }
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<std::size_t> kept;
    for (std::size_t i = 0; i < n; ++i) {
      if (keep[i]) kept.push_back(i);
    }
    for (std::size_t root = 0; root < n; ++root) {
      if (first[root] == n || keep_set[root]) continue;
      const auto it = std::upper_bound(kept.begin(), kept.end(), first[root]);
      if (it != kept.end() && *it < last[root]) {
        keep_set[root] = 1;
        changed = true;
      }
    }
    settle();
  }
  return keep;
}

// Level 1: also every set of rows that names a catalog a kept row names.
std::vector<char> same_catalogs(Analysis& a, const std::vector<char>& keep) {
  const std::size_t n = a.rows.size();
  std::set<std::string, std::less<>> kept;
  std::unordered_map<std::size_t, std::set<std::string, std::less<>>> dropped;  // root -> catalogs
  for (std::size_t i = 0; i < n; ++i) {
    auto& into = keep[i] ? kept : dropped[a.tied.find(i)];
    into.insert(a.rows[i].catalogs.begin(), a.rows[i].catalogs.end());
  }
  std::set<std::size_t> more;
  for (bool changed = true; changed;) {
    changed = false;
    for (auto it = dropped.begin(); it != dropped.end();) {
      const bool shared = std::any_of(it->second.begin(), it->second.end(),
                                      [&](const std::string& c) { return kept.count(c) > 0; });
      if (!shared) {
        ++it;
        continue;
      }
      kept.insert(it->second.begin(), it->second.end());
      more.insert(it->first);
      it = dropped.erase(it);
      changed = true;
    }
  }
  std::vector<char> seed = keep;
  for (std::size_t i = 0; i < n; ++i) {
    if (more.count(a.tied.find(i)) > 0) seed[i] = 1;
  }
  return seed;
}

// The journal as `keep` leaves it (level 3: `keep` is ignored, text only).
CompactionPlan make_plan(const std::vector<triage::JournalRow>& journal, const Analysis& a,
                         const std::vector<char>& keep, const KeptText& text, int level) {
  CompactionPlan plan;
  plan.rows = journal.size();
  plan.floor_ms = a.floor_ms;
  plan.live_findings = a.live;
  plan.level = level;
  AccessEvent e;
  for (std::size_t i = 0; i < journal.size(); ++i) {
    const Row& row = a.rows[i];
    const auto& j = journal[i];
    if (row.kind == Kind::unreadable) {
      ++plan.kept;
      continue;
    }
    if (row.kind == Kind::event && (level == 3 || keep[i])) {
      ++plan.kept;
      if (!decode_journal_event(j.event, e)) continue;
      auto stripped = encode_journal_event(e, text);
      if (stripped != j.event) {
        ++plan.stripped;
        plan.rewrite.push_back(triage::JournalRow{j.seq, j.at_ms, std::move(stripped)});
      }
    } else if (row.kind == Kind::mention && level == 3) {
      ++plan.mentions;
    } else if (!row.names.empty()) {
      ++plan.mentions;
      if (row.kind == Kind::event) ++plan.to_mentions;
      auto mention = encode_journal_mention(row.names);
      if (mention != j.event) plan.rewrite.push_back(triage::JournalRow{j.seq, j.at_ms, mention});
    } else {
      plan.remove.push_back(j.seq);
    }
  }
  return plan;
}

// The journal after `plan`, in order.
std::vector<triage::JournalRow> apply_plan(const std::vector<triage::JournalRow>& journal,
                                           const CompactionPlan& plan) {
  const std::set<std::int64_t> removed(plan.remove.begin(), plan.remove.end());
  std::unordered_map<std::int64_t, const std::string*> text;
  for (const auto& r : plan.rewrite) text[r.seq] = &r.event;
  std::vector<triage::JournalRow> out;
  out.reserve(journal.size() - removed.size());
  for (const auto& j : journal) {
    if (removed.count(j.seq) > 0) continue;
    const auto it = text.find(j.seq);
    out.push_back(it == text.end() ? j : triage::JournalRow{j.seq, j.at_ms, *it->second});
  }
  return out;
}

class NullSink final : public rules::FindingSink {
 public:
  void on_finding(const rules::Finding&) override {}
};

std::string snapshot_of(const std::vector<triage::JournalRow>& journal,
                        const rules::Context& context, const rules::RuleSet& set,
                        std::int64_t floor_ms) {
  NullSink sink;
  rules::Engine engine(context, set, sink);
  AccessEvent e;
  ReplayCounts counts;
  for (const auto& row : journal) replay_journal_row(engine, row, e, counts);
  engine.flush();
  return engine.exposure_snapshot(floor_ms).text;
}

}  // namespace

void replay_journal_row(rules::Engine& engine, const triage::JournalRow& row, AccessEvent& scratch,
                        ReplayCounts& counts) {
  thread_local std::vector<std::string> names;
  if (decode_journal_mention(row.event, names)) {
    for (const auto& name : names) engine.know_object(name);
    ++counts.mentions;
  } else if (decode_journal_event(row.event, scratch)) {
    engine.process(scratch);
    ++counts.events;
  } else {
    ++counts.undecodable;
  }
}

CompactionPlan plan_compaction(const std::vector<triage::JournalRow>& journal,
                               const rules::Context& context, const rules::RuleSet& rules,
                               const CompactionSettings& settings) {
  Analysis a = analyse(journal, context, rules, settings);
  const KeptText text = KeptText::read_by(rules);
  const bool surround = stateful_sees_exposure(rules);
  // Level 0, then 1 (also rows that share a catalog with kept ones), then 2
  // (also every row an exposure finding or a grant needs), then 3 (text only).
  const auto keep0 = close_over(a, a.seed, surround);
  for (int level = 0; level < 3; ++level) {
    std::vector<char> keep;
    if (level == 0) {
      keep = keep0;
    } else if (level == 1) {
      keep = close_over(a, same_catalogs(a, keep0), surround);
    } else {
      std::vector<char> seed = a.seed;
      for (std::size_t i = 0; i < seed.size(); ++i) {
        seed[i] = seed[i] || a.touches[i] || a.grant_like[i];
      }
      keep = close_over(a, std::move(seed), surround);
    }
    auto plan = make_plan(journal, a, keep, text, level);
    if (plan.remove.empty() && plan.to_mentions == 0) return plan;  // text only: nothing to check
    if (snapshot_of(apply_plan(journal, plan), context, rules, a.floor_ms) == a.snapshot) {
      return plan;
    }
  }
  return make_plan(journal, a, {}, text, 3);
}

}  // namespace sevwatch::app
