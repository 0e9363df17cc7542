#include "rules/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_set>

#include "detectors/event_time.h"

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
    std::unordered_set<ObjectId> objects;
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

  std::unordered_set<ObjectId> scope;
  std::unordered_set<ObjectId> active;
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
  std::unordered_map<std::string, ReaderAgg> readers;
  std::vector<FindingNote> notes;

  bool dirty = false;
  bool urgent = false;
  bool closed = false;  // the rollout's summary note was written
};

// The condition fields of one event, derived lazily from the context and the
// exposure state.
struct Engine::EventFields : FieldSource {
  const AccessEvent& e;
  const Engine& engine;
  std::optional<ObjectId> object;
  mutable std::string buf;

  EventFields(const AccessEvent& ev, const Engine& en, std::optional<ObjectId> obj)
      : e(ev), engine(en), object(obj) {}

  void values(Field f, std::vector<std::string_view>& out) const override {
    auto add = [&](std::string_view v) {
      if (!v.empty()) out.push_back(v);
    };
    switch (f) {
      case Field::action:
        return add(detectors::to_string(e.action));
      case Field::result:
        return add(detectors::to_string(e.result));
      case Field::principal:
        return add(e.principal);
      case Field::object:
        return add(e.object.name);
      case Field::format:
        return add(e.format);
      case Field::operation:
        return add(e.operation);
      case Field::client_ip:
        return add(e.client_ip);
      case Field::grantee:
        for (const auto& g : e.grant.grantees) add(g.name);
        return;
      default:
        break;
    }
    if (!object) return;
    const auto& info = engine.exposure_.info(*object);
    const auto exp = engine.exposure_.exposure(*object);
    switch (f) {
      case Field::object_sensitivity:
        return add(info.sensitivity);
      case Field::object_level:
        return add(to_string(info.level));
      case Field::object_exposed:
        return add(exp ? "true" : "false");
      case Field::exposure_audience:
        if (exp) add(to_string(exp->audience));
        return;
      case Field::principal_outsider:
        return add(engine.context_.is_intended_reader(e.principal, e.principal_groups, info)
                       ? "false"
                       : "true");
      case Field::principal_external:
        return add(engine.context_.is_external(e.principal) ? "true" : "false");
      default:
        return;
    }
  }
};

Engine::Engine(const Context& context, const RuleSet& rules, FindingSink& sink)
    : context_(context), rules_(rules), sink_(sink), exposure_(context) {}

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
  if (!event.object.name.empty() && (event.object.level == detectors::ObjectLevel::table ||
                                     event.object.level == detectors::ObjectLevel::none)) {
    object = exposure_.intern(event.object.name);
  }

  if (is_grant) {
    ++stats_.grants;
    const auto changes = exposure_.apply(event);
    if (!changes.empty()) {
      EventFields fields(event, *this, object);
      for (std::size_t i = 0; i < rules_.rules.size(); ++i) {
        const Rule& r = rules_.rules[i];
        if (r.kind != RuleKind::exposure) continue;
        if (r.condition && !r.condition->eval(fields)) continue;
        on_exposure_changes(r, i, event, changes);
      }
    }
  } else if (object && exposure_.exposure(*object)) {
    ++stats_.exposed_reads;
    EventFields fields(event, *this, object);
    for (const auto& r : rules_.rules) {
      if (r.kind != RuleKind::exposure_evidence) continue;
      if (r.condition && !r.condition->eval(fields)) continue;
      on_read(r, event, *object);
    }
  }

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

void Engine::on_read(const Rule& rule, const AccessEvent& event, ObjectId object) {
  const auto exp = exposure_.exposure(object);
  if (!exp) return;
  for (const auto& target_id : rule.evidence.attach_to) {
    std::size_t target_index = rules_.rules.size();
    for (std::size_t i = 0; i < rules_.rules.size(); ++i) {
      if (rules_.rules[i].id == target_id) target_index = i;
    }
    if (target_index == rules_.rules.size()) continue;
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
}

void Engine::finish() {
  for (auto& g : groups_) close_rollout(*g);
  flush();
}

}  // namespace sevwatch::rules
