#include "rules/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_set>

#include "detectors/event_time.h"
#include "rules/event_fields.h"

namespace sevwatch::rules {
namespace {

using detectors::AccessEvent;
using detectors::Action;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view catalog_of(std::string_view object) {
  const auto dot = object.find('.');
  return dot == std::string_view::npos ? object : object.substr(0, dot);
}

std::string_view schema_of(std::string_view object) {
  const auto last = object.rfind('.');
  return last == std::string_view::npos ? object : object.substr(0, last);
}

template <typename Set>
std::vector<std::string> sorted(const Set& s) {
  std::vector<std::string> v(s.begin(), s.end());
  std::sort(v.begin(), v.end());
  return v;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string hhmmss(std::int64_t ms) {
  return detectors::format_rfc3339_ms(ms);
}

std::uint64_t grant_key(std::uint32_t grant_id, std::size_t rule_index) {
  return (static_cast<std::uint64_t>(grant_id) << 20) | static_cast<std::uint64_t>(rule_index);
}

}  // namespace

// One finding in the making.
struct Engine::Group {
  struct ReaderAgg {
    std::uint64_t reads = 0;
    FlatSet<ObjectId> objects;
    bool outsider = false;
    bool external = false;
    std::int64_t first_ms = 0;
    std::int64_t last_ms = 0;
  };

  const Rule* rule = nullptr;
  std::string tuple;  // the group_by values
  std::string key;    // dedup key
  std::string catalog;
  std::int64_t first_ms = 0;
  std::int64_t last_ms = 0;
  std::int64_t last_grant_ms = 0;
  std::uint64_t grant_events = 0;
  std::set<std::string> grant_targets;

  FlatSet<ObjectId> scope;
  FlatSet<ObjectId> active;
  std::set<std::string> schemas;
  std::vector<std::string> new_objects;
  std::set<std::string> sensitivity;
  std::optional<Level> level;
  std::optional<Audience> audience;
  std::set<std::string> grantees;
  std::set<std::string> actors;

  Evidence evidence = Evidence::none;
  std::uint64_t events = 0;
  std::uint64_t outsider_reads = 0;
  std::set<std::string> outsiders;
  FlatStringMap<ReaderAgg> readers;
  std::vector<FindingNote> notes;

  bool dirty = false;
  bool urgent = false;
  bool closed = false;  // the rollout's summary note was written
};

Engine::Engine(const Context& context, const RuleSet& rules, FindingSink& sink)
    : context_(context), rules_(rules), sink_(sink), exposure_(context) {
  suppressed_.resize(rules_.rules.size());
  attach_targets_.resize(rules_.rules.size());
  for (std::size_t i = 0; i < rules_.rules.size(); ++i) {
    const Rule& r = rules_.rules[i];
    suppressed_[i].assign(r.exceptions.size(), 0);
    if (!r.enabled) continue;
    const auto id = static_cast<std::uint32_t>(i);
    if (r.kind == RuleKind::exposure) {
      exposure_index_.add(id, r, ActionMask().set());  // grants and revokes reach it
      continue;
    }
    if (r.kind == RuleKind::exposure_evidence) {
      evidence_index_.add(id, r, ActionMask().set());
      for (const auto& target : r.evidence.attach_to) {
        std::size_t found = rules_.rules.size();  // the last rule of that id
        for (std::size_t t = 0; t < rules_.rules.size(); ++t) {
          if (rules_.rules[t].id == target) found = t;
        }
        if (found < rules_.rules.size()) attach_targets_[i].push_back(found);
      }
      continue;
    }
    auto s = make_stateful_rule(r);
    if (!s) continue;
    ActionMask mask = r.actions;
    const auto position = static_cast<std::uint32_t>(stateful_.size());
    if (r.kind == RuleKind::sequence) {
      ActionMask steps;
      for (const auto& st : r.sequence.steps) steps |= st.actions;
      mask &= steps;
      if (r.sequence.absent) advancing_.push_back(position);
    }
    stateful_index_.add(position, r, mask);
    stateful_.push_back(std::move(s));
    stateful_rule_.push_back(i);
  }
}

bool Engine::passes(std::size_t rule_index, const FieldSource& fields, std::int64_t time_ms) {
  const Rule& r = rules_.rules[rule_index];
  if (!r.enabled) return false;
  if (!r.condition_text.empty() && !r.condition) return false;  // not compiled
  if (r.condition && !r.condition->eval(fields)) return false;
  for (std::size_t i = 0; i < r.exceptions.size(); ++i) {
    const auto& ex = r.exceptions[i];
    if (ex.expires_ms != 0 && time_ms >= ex.expires_ms) continue;
    if (ex.matcher && ex.matcher->eval(fields)) {
      ++suppressed_[rule_index][i];
      ++stats_.suppressed;
      return false;
    }
  }
  return true;
}

Engine::~Engine() = default;

bool Engine::rule_covers(const Rule& rule, Audience audience, ObjectId object) const {
  const auto& a = rule.exposure.audiences;
  if (std::find(a.begin(), a.end(), audience) == a.end()) return false;
  return static_cast<int>(exposure_.info(object).level) <=
         static_cast<int>(rule.exposure.min_level);
}

void Engine::process(const AccessEvent& event) {
  ++stats_.events;
  const bool is_grant = event.action == Action::grant || event.action == Action::revoke;
  std::optional<ObjectId> object;
  if (interns_object(event)) object = exposure_.intern(event.object.name);

  if (is_grant) {
    ++stats_.grants;
    const auto changes = exposure_.apply(event);
    if (!changes.empty()) {
      EventFields fields(event, context_, exposure_, object);
      exposure_index_.candidates(event, candidates_);
      for (const auto i : candidates_) {
        if (!passes(i, fields, event.time_ms)) continue;
        on_exposure_changes(rules_.rules[i], i, event, changes);
      }
    }
  } else if (object && exposure_.exposure(*object)) {
    ++stats_.exposed_reads;
    EventFields fields(event, context_, exposure_, object);
    evidence_index_.candidates(event, candidates_);
    for (const auto i : candidates_) {
      if (!passes(i, fields, event.time_ms)) continue;
      on_read(i, event, *object);
    }
  }

  touched_.clear();
  stateful_index_.candidates(event, candidates_);
  if (!candidates_.empty()) {
    EventFields fields(event, context_, exposure_, object);
    for (const auto si : candidates_) {
      if (!passes(stateful_rule_[si], fields, event.time_ms)) continue;
      stateful_[si]->on_event(fields, event.time_ms);
      touched_.push_back(si);
    }
  }
  if (!advancing_.empty()) {
    for (const auto si : advancing_) stateful_[si]->advance(event.time_ms);
    touched_.insert(touched_.end(), advancing_.begin(), advancing_.end());
    std::sort(touched_.begin(), touched_.end());
    touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
  }
  // Only a rule that saw this event (or advanced its deadlines) can have
  // something new to report; in stateful_ order, as before.
  for (const auto si : touched_) stateful_[si]->report(sink_, false);

  for (auto index : urgent_) {
    Group& g = *groups_[index];
    if (g.urgent) report(g);
  }
  urgent_.clear();
}

std::size_t Engine::group_for(const Rule& rule, const AccessEvent& event, const ActiveGrant& grant,
                              ObjectId object, Audience audience) {
  std::string tuple = rule.id;
  for (auto f : rule.exposure.group_by) {
    tuple += '|';
    switch (f) {
      case GroupField::catalog:
        tuple += catalog_of(exposure_.name(object));
        break;
      case GroupField::audience:
        tuple += to_string(audience);
        break;
      case GroupField::grantee:
        tuple += lower(grant.grantee);
        break;
      case GroupField::actor:
        tuple += grant.actor;
        break;
    }
  }
  auto it = latest_group_.find(tuple);
  if (it != latest_group_.end()) {
    const Group& g = *groups_[it->second];
    if (!g.active.empty() || event.time_ms - g.last_grant_ms <= rule.exposure.rollout_gap_ms) {
      return it->second;
    }
  }
  // An object still exposed by an open finding of this rule: the new grant
  // widens that exposure (say company -> internet), so it joins the same
  // finding, whose SEV then escalates, rather than opening a second incident.
  for (std::size_t i = groups_.size(); i-- > 0;) {
    const Group& g = *groups_[i];
    if (g.rule == &rule && g.active.count(object) > 0) {
      latest_group_[tuple] = i;
      return i;
    }
  }
  auto g = std::make_unique<Group>();
  g->rule = &rule;
  g->tuple = tuple;
  g->catalog = std::string(catalog_of(exposure_.name(object)));
  g->first_ms = event.time_ms;
  g->key = fmt::format("{}@{}", tuple, detectors::format_rfc3339_ms(event.time_ms));
  groups_.push_back(std::move(g));
  latest_group_[tuple] = groups_.size() - 1;
  return groups_.size() - 1;
}

void Engine::on_exposure_changes(const Rule& rule, std::size_t rule_index, const AccessEvent& event,
                                 const std::vector<ObjectChange>& changes) {
  std::vector<std::size_t> touched;
  std::unordered_map<std::size_t, std::uint64_t> added;
  std::unordered_map<std::size_t, std::uint64_t> removed;
  auto touch = [&](std::size_t index) {
    if (std::find(touched.begin(), touched.end(), index) == touched.end()) touched.push_back(index);
  };

  for (const auto& c : changes) {
    const bool was = c.before && rule_covers(rule, *c.before, c.object);
    const bool now = c.after && rule_covers(rule, *c.after, c.object);
    if (now && (!was || static_cast<int>(*c.after) < static_cast<int>(*c.before))) {
      const ActiveGrant* grant = exposure_.grant(c.grant_id);
      if (grant == nullptr) continue;
      const std::size_t index = group_for(rule, event, *grant, c.object, *c.after);
      grant_group_[grant_key(c.grant_id, rule_index)] = index;
      touch(index);
      Group& g = *groups_[index];
      if (g.scope.insert(c.object).second) {
        g.new_objects.push_back(exposure_.name(c.object));
        g.schemas.insert(std::string(schema_of(exposure_.name(c.object))));
      }
      g.active.insert(c.object);
      const auto& info = exposure_.info(c.object);
      g.sensitivity.insert(info.sensitivity);
      if (!g.level || static_cast<int>(info.level) < static_cast<int>(*g.level))
        g.level = info.level;
      if (!g.audience || static_cast<int>(*c.after) < static_cast<int>(*g.audience)) {
        g.audience = *c.after;
      }
      g.grantees.insert(grant->grantee);
      ++added[index];
    } else if (was && !now) {
      // Revoked (or narrowed below the rule): find the group that holds it.
      for (std::size_t i = 0; i < groups_.size(); ++i) {
        if (groups_[i]->rule == &rule && groups_[i]->active.erase(c.object) > 0) {
          touch(i);
          ++removed[i];
          break;
        }
      }
    }
  }

  for (std::size_t index : touched) {
    Group* g = groups_[index].get();
    g->actors.insert(event.principal);
    ++g->events;
    g->last_ms = std::max(g->last_ms, event.time_ms);
    if (event.action == Action::grant) {
      ++g->grant_events;
      g->last_grant_ms = event.time_ms;
      g->grant_targets.insert(event.grant.target.name);
    }
    std::string grantees;
    for (const auto& ge : event.grant.grantees)
      grantees += (grantees.empty() ? "" : ", ") + ge.name;
    if (added[index] > 0 && g->scope.size() == added[index]) {
      g->notes.push_back(FindingNote{
          event.time_ms, "exposure",
          fmt::format("{} granted {} on {} to {}: {} {} object(s) ({}) became readable by the {} "
                      "audience",
                      event.principal, join(event.grant.privileges, ", "), event.grant.target.name,
                      grantees, added[index], g->level ? to_string(*g->level) : "unknown",
                      join(sorted(g->sensitivity), ", "),
                      g->audience ? to_string(*g->audience) : "unknown")});
    }
    if (removed[index] > 0) {
      g->notes.push_back(FindingNote{
          event.time_ms, "revoke",
          g->active.empty()
              ? fmt::format("{} revoked {} on {} from {}: no object of this exposure remains "
                            "exposed ({} objects were in scope)",
                            event.principal, join(event.grant.privileges, ", "),
                            event.grant.target.name, grantees, g->scope.size())
              : fmt::format("{} revoked {} on {} from {}: {} object(s) no longer exposed, {} still "
                            "exposed",
                            event.principal, join(event.grant.privileges, ", "),
                            event.grant.target.name, grantees, removed[index], g->active.size())});
    }
    g->dirty = true;
    g->urgent = true;
    urgent_.push_back(index);
  }
}

void Engine::on_read(std::size_t rule_index, const AccessEvent& event, ObjectId object) {
  const auto exp = exposure_.exposure(object);
  if (!exp) return;
  for (const auto target_index : attach_targets_[rule_index]) {
    const Rule& target = rules_.rules[target_index];
    if (!rule_covers(target, exp->audience, object)) continue;
    auto it = grant_group_.find(grant_key(exp->grant_id, target_index));
    if (it == grant_group_.end()) continue;
    Group& g = *groups_[it->second];

    if (g.scope.insert(object).second) {
      // First seen inside an exposed container after the grant.
      g.new_objects.push_back(exposure_.name(object));
      g.active.insert(object);
      g.urgent = true;
    }
    const auto& info = exposure_.info(object);
    const bool outsider =
        !context_.is_intended_reader(event.principal, event.principal_groups, info);
    const bool external = outsider && context_.is_external(event.principal);
    auto& r = g.readers[event.principal];
    if (r.reads == 0) {
      r.first_ms = event.time_ms;
      r.outsider = outsider;
      r.external = external;
      g.urgent = true;  // a new reader is news on the incident
    }
    ++r.reads;
    r.objects.insert(object);
    r.last_ms = event.time_ms;
    ++g.events;
    g.last_ms = std::max(g.last_ms, event.time_ms);
    g.dirty = true;

    if (outsider) {
      ++g.outsider_reads;
      const Evidence ev = event.action == Action::export_data ? Evidence::exfiltration
                          : external                          ? Evidence::external
                                                              : Evidence::improper;
      if (static_cast<int>(ev) < static_cast<int>(g.evidence)) {
        g.evidence = ev;
        g.urgent = true;
      }
      if (g.outsiders.insert(event.principal).second) {
        g.urgent = true;
        g.notes.push_back(FindingNote{
            event.time_ms, "evidence",
            fmt::format("{} ({}) read {} while it was exposed to the {} audience", event.principal,
                        external ? "outside the organization" : "outside the intended audience",
                        exposure_.name(object), to_string(exp->audience))});
      }
    }
    if (g.urgent) urgent_.push_back(it->second);
  }
}

void Engine::close_rollout(Group& g) {
  if (g.closed || g.grant_events < 2) return;
  g.closed = true;
  g.notes.push_back(FindingNote{
      g.last_grant_ms, "scope",
      fmt::format("rollout: {} grant statement(s) by {} between {} and {} exposed {} object(s) in "
                  "{} schema(s) of {} to the {} audience",
                  g.grant_events, join(sorted(g.actors), ", "), hhmmss(g.first_ms),
                  hhmmss(g.last_grant_ms), g.scope.size(), g.schemas.size(), g.catalog,
                  g.audience ? to_string(*g.audience) : "unknown")});
  g.dirty = true;
}

void Engine::report(Group& g) {
  Finding f;
  f.rule_id = g.rule->id;
  f.title = fmt::format("{}: {} readable by the {} audience", g.rule->title, g.catalog,
                        g.audience ? to_string(*g.audience) : "unknown");
  f.runbook = g.rule->runbook;
  f.group_key = g.key;
  f.first_ms = g.first_ms;
  f.last_ms = g.last_ms;
  f.objects = g.scope.size();
  f.new_objects = std::move(g.new_objects);
  g.new_objects.clear();
  f.sensitivity = sorted(g.sensitivity);
  f.level = g.level;
  f.audience = g.audience;
  f.grantees = sorted(g.grantees);
  f.actors = sorted(g.actors);
  f.exposure_active = !g.active.empty();
  f.evidence = g.evidence;
  f.events = g.events;
  f.outsider_reads = g.outsider_reads;
  f.outsiders = sorted(g.outsiders);
  f.readers.reserve(g.readers.size());
  for (const auto& [principal, r] : g.readers) {
    f.readers.push_back(ReaderStat{principal, r.reads, r.objects.size(), r.outsider, r.external,
                                   r.first_ms, r.last_ms});
  }
  std::sort(f.readers.begin(), f.readers.end(),
            [](const ReaderStat& a, const ReaderStat& b) { return a.principal < b.principal; });
  f.notes = std::move(g.notes);
  g.notes.clear();
  g.dirty = false;
  g.urgent = false;
  ++stats_.findings_reported;
  sink_.on_finding(f);
}

void Engine::flush() {
  for (auto& g : groups_) {
    if (g->dirty) report(*g);
  }
  for (auto& s : stateful_) s->report(sink_, true);
}

std::vector<ExceptionStat> Engine::exception_stats() const {
  std::vector<ExceptionStat> out;
  for (std::size_t i = 0; i < rules_.rules.size(); ++i) {
    const Rule& r = rules_.rules[i];
    for (std::size_t j = 0; j < r.exceptions.size(); ++j) {
      const auto& ex = r.exceptions[j];
      out.push_back(ExceptionStat{r.id, ex.name, ex.owner, ex.expires, suppressed_[i][j]});
    }
  }
  return out;
}

std::vector<StatefulStats> Engine::stateful_stats() const {
  std::vector<StatefulStats> out;
  for (const auto& s : stateful_) out.push_back(s->stats());
  return out;
}

std::string Engine::serialize_baselines() const {
  std::string out = "sevwatch-baselines 1\n";
  for (const auto& s : stateful_) {
    if (s->rule().kind != RuleKind::first_seen) continue;
    out += "rule " + s->rule().id + "\n";
    s->serialize(out);
    out += "end\n";
  }
  return out;
}

bool Engine::load_baselines(std::string_view text) {
  constexpr std::string_view kHeader = "sevwatch-baselines 1\n";
  if (text.substr(0, kHeader.size()) != kHeader) return false;
  std::size_t pos = kHeader.size();
  while (pos < text.size()) {
    const auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) return false;
    const auto line = text.substr(pos, eol - pos);
    if (line.rfind("rule ", 0) != 0) return false;
    const auto id = line.substr(5);
    const auto end = text.find("\nend\n", eol);
    if (end == std::string_view::npos) return false;
    const auto body = text.substr(eol + 1, end + 1 - (eol + 1));
    for (auto& s : stateful_) {
      if (s->rule().id == id && !s->deserialize(body)) return false;
    }
    pos = end + 5;
  }
  return true;
}

std::string Engine::explain(const Rule& rule, const AccessEvent& event) {
  std::optional<ObjectId> object;
  if (!event.object.name.empty()) object = exposure_.intern(event.object.name);
  EventFields fields(event, context_, exposure_, object);
  std::string out;
  const auto say = [&](const std::string& label, const Condition& c) {
    std::string lines;
    const bool r = c.explain(fields, lines, 2);
    out += fmt::format("  {} {}\n{}", label, r ? "holds" : "does not hold", lines);
    return r;
  };
  if (!rule.enabled) out += "  rule is disabled\n";
  bool match = true;
  if (rule.condition) {
    match = say("condition", *rule.condition);
  } else {
    out += "  no condition: every event\n";
  }
  for (std::size_t i = 0; i < rule.sequence.steps.size(); ++i) {
    const auto& st = rule.sequence.steps[i];
    if (st.condition) say(fmt::format("step {} ({})", i + 1, st.name), *st.condition);
  }
  for (const auto& ex : rule.exceptions) {
    if (!ex.matcher) continue;
    const bool expired = ex.expires_ms != 0 && event.time_ms >= ex.expires_ms;
    if (say(fmt::format("exception '{}'{}", ex.name, expired ? " (expired)" : ""), *ex.matcher) &&
        !expired) {
      match = false;
    }
  }
  out += fmt::format("  => the event {} rule '{}'\n", match ? "passes" : "does not pass", rule.id);
  return out;
}

void Engine::finish() {
  for (auto& g : groups_) close_rollout(*g);
  flush();
}

Engine::ExposureSnapshot Engine::exposure_snapshot(std::int64_t floor_ms) const {
  std::vector<char> live(groups_.size(), 0);
  for (std::size_t i = 0; i < groups_.size(); ++i) live[i] = groups_[i]->active.empty() ? 0 : 1;
  // Reads of an object attach to the group its exposing grant maps to.
  std::unordered_map<std::uint32_t, std::vector<std::string>> attached;
  for (const auto& [gk, index] : grant_group_) {
    const auto gid = static_cast<std::uint32_t>(gk >> 20);
    if (exposure_.grant(gid) == nullptr) continue;  // revoked: ids are never reused
    live[index] = 1;
    attached[gid].push_back(
        fmt::format(" {}={}", rules_.rules[gk & 0xfffff].id, groups_[index]->key));
  }
  std::vector<std::pair<std::string, std::size_t>> latest(latest_group_.begin(),
                                                          latest_group_.end());
  std::sort(latest.begin(), latest.end());
  for (const auto& [tuple, index] : latest) {
    const Group& g = *groups_[index];
    if (floor_ms - g.last_grant_ms <= g.rule->exposure.rollout_gap_ms) live[index] = 1;
  }

  ExposureSnapshot snap;
  std::string& out = snap.text;
  exposure_.describe(out, [&](std::uint32_t gid) {
    auto it = attached.find(gid);
    if (it == attached.end()) return std::string();
    std::sort(it->second.begin(), it->second.end());
    return join(it->second, "");
  });
  auto names = [&](const FlatSet<ObjectId>& ids) {
    std::vector<std::string> v;
    v.reserve(ids.size());
    for (const auto id : ids) v.push_back(exposure_.name(id));
    std::sort(v.begin(), v.end());
    return join(v, ",");
  };
  auto strings = [](const auto& set) { return join(sorted(set), ","); };
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    if (!live[i]) continue;
    const Group& g = *groups_[i];
    snap.live_keys.push_back(g.key);
    out += fmt::format(
        "finding {}\n  rule {} tuple {} catalog {}\n  first {} last {} last_grant {} grants {} "
        "events {} outsider_reads {} evidence {} closed {} dirty {} urgent {}\n",
        g.key, g.rule->id, g.tuple, g.catalog, g.first_ms, g.last_ms, g.last_grant_ms,
        g.grant_events, g.events, g.outsider_reads, to_string(g.evidence), g.closed, g.dirty,
        g.urgent);
    out += fmt::format(
        "  level {} audience {}\n  targets {}\n  scope {}\n  active {}\n  schemas {}\n"
        "  sensitivity {}\n  grantees {}\n  actors {}\n  outsiders {}\n  new {}\n",
        g.level ? to_string(*g.level) : "-", g.audience ? to_string(*g.audience) : "-",
        strings(g.grant_targets), names(g.scope), names(g.active), strings(g.schemas),
        strings(g.sensitivity), strings(g.grantees), strings(g.actors), strings(g.outsiders),
        join(g.new_objects, ","));
    std::vector<std::string> readers;
    for (const auto& [principal, r] : g.readers) {
      readers.push_back(fmt::format(
          "  reader {} reads {} outsider {} external {} first {} last "
          "{} objects {}\n",
          principal, r.reads, r.outsider, r.external, r.first_ms, r.last_ms, names(r.objects)));
    }
    std::sort(readers.begin(), readers.end());
    out += join(readers, "");
    for (const auto& n : g.notes) out += fmt::format("  note {} {} {}\n", n.at_ms, n.kind, n.text);
  }
  for (const auto& [tuple, index] : latest) {
    if (live[index]) out += fmt::format("latest {} {}\n", tuple, groups_[index]->key);
  }
  std::sort(snap.live_keys.begin(), snap.live_keys.end());
  return snap;
}

}  // namespace sevwatch::rules
