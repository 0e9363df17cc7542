// Internal to the stateful rules (stateful_rules.h): an open finding in the
// making, and a string interner with heterogeneous lookup.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/access_event.h"
#include "detectors/event_time.h"
#include "rules/finding.h"
#include "rules/rule.h"
#include "rules/string_map.h"

namespace sevwatch::rules::detail {

template <typename V>
using StringMap = FlatStringMap<V>;

struct OpenFinding {
  std::string key;
  std::string title;
  std::string group;
  std::int64_t first_ms = 0;
  std::int64_t last_ms = 0;
  std::uint64_t events = 0;
  FlatStringSet objects;
  std::vector<std::string> new_objects;
  std::set<std::string, std::less<>> actors;
  std::vector<FindingNote> notes;
  std::optional<int> sev_hint;
  bool dirty = false;
  bool urgent = false;
  bool closed = false;

  void add_object(std::string_view name, std::size_t max_objects) {
    if (name.empty() || objects.size() >= max_objects) return;
    if (objects.find(name) == objects.end()) {
      objects.emplace(name);
      new_objects.emplace_back(name);
    }
  }
  void add_event(const detectors::AccessEvent& e, std::size_t max_objects) {
    ++events;
    last_ms = std::max(last_ms, e.time_ms);
    add_object(e.object.name, max_objects);
    if (!e.principal.empty() && actors.find(e.principal) == actors.end())
      actors.insert(e.principal);
    dirty = true;
  }
  Finding take(const Rule& rule) {
    Finding f;
    f.rule_id = rule.id;
    f.title = title;
    f.runbook = rule.runbook;
    f.group_key = key;
    f.first_ms = first_ms;
    f.last_ms = last_ms;
    f.objects = objects.size();
    f.new_objects = std::move(new_objects);
    new_objects.clear();
    f.actors.assign(actors.begin(), actors.end());
    f.exposure_active = false;
    f.events = events;
    f.notes = std::move(notes);
    notes.clear();
    f.sev_hint = sev_hint;
    dirty = false;
    urgent = false;
    return f;
  }
};

// Findings of one rule: open ones, and those waiting to be reported.
class FindingTable {
 public:
  std::size_t open(const Rule& rule, std::string_view group, std::int64_t first_ms) {
    auto f = std::make_unique<OpenFinding>();
    f->group = std::string(group);
    f->key = fmt::format("{}|{}@{}", rule.id, group, detectors::format_rfc3339_ms(first_ms));
    f->title = fmt::format("{}: {}", rule.title, group);
    f->first_ms = first_ms;
    f->last_ms = first_ms;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (!items_[i]) {
        items_[i] = std::move(f);
        return i;
      }
    }
    items_.push_back(std::move(f));
    return items_.size() - 1;
  }
  OpenFinding& at(std::size_t i) { return *items_[i]; }
  void mark_urgent(std::size_t i) {
    items_[i]->urgent = true;
    items_[i]->dirty = true;
    urgent_.push_back(i);
  }
  // A closed finding is freed once reported.
  void close(std::size_t i) {
    items_[i]->closed = true;
    if (!items_[i]->dirty) items_[i].reset();
  }
  void report(const Rule& rule, FindingSink& sink, bool all, std::uint64_t& reported) {
    if (all) {
      for (auto& f : items_) {
        if (f && f->dirty) {
          sink.on_finding(f->take(rule));
          ++reported;
        }
        if (f && f->closed) f.reset();
      }
    } else {
      for (auto i : urgent_) {
        auto& f = items_[i];
        if (f && f->urgent) {
          sink.on_finding(f->take(rule));
          ++reported;
          if (f->closed) f.reset();
        }
      }
    }
    urgent_.clear();
  }

 private:
  std::vector<std::unique_ptr<OpenFinding>> items_;
  std::vector<std::size_t> urgent_;
};

}  // namespace sevwatch::rules::detail
