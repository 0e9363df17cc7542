#include "rules/stateful_rules.h"

#include <bit>
#include <charconv>
#include <deque>
#include <limits>
#include <list>
#include <queue>

#include "rules/name_table.h"
#include "rules/stateful_common.h"

namespace sevwatch::rules {
namespace {

using detail::FindingTable;
using detail::StringMap;

std::string_view function_name(AggregateSpec::Function f) {
  switch (f) {
    case AggregateSpec::Function::count:
      return "events";
    case AggregateSpec::Function::count_distinct:
      return "distinct values";
    case AggregateSpec::Function::sum:
      return "total";
  }
  return "";
}

// --- aggregate -------------------------------------------------------------

class AggregateRule : public StatefulRule {
 public:
  explicit AggregateRule(const Rule& r) : StatefulRule(r), spec_(r.aggregate) {
    stats_.rule_id = r.id;
  }

  void on_event(const EventFields& fields, std::int64_t t) override {
    ++stats_.matched;
    if (t > watermark_) watermark_ = t;
    if (t < watermark_ - spec_.limits.lateness_ms) {
      ++stats_.late_dropped;
      return;
    }
    key_.clear();
    append_group_key(fields, spec_.group_by, key_);
    Group* g = find_or_add(t);
    if (g == nullptr) return;
    lru_.splice(lru_.end(), lru_, g->lru);

    // The value this event contributes: for count_distinct, a key (the
    // engine's object id, else a 64-bit hash of the value: no copy of the
    // value is kept, so state stays a few bytes per value and is freed as
    // values leave the window); for sum, the amount.
    std::uint64_t value = 0;
    double amount = 1;
    if (spec_.field) {
      vals_.clear();
      field_values(fields, *spec_.field, vals_);
      if (vals_.empty()) return;  // nothing to count
      if (spec_.function == AggregateSpec::Function::count_distinct) {
        // Counting objects: the engine interned the event's object already.
        value = spec_.field->is(Field::object) ? object_id(fields) : hash_name(vals_[0]);
      } else {
        const auto r = std::from_chars(vals_[0].data(), vals_[0].data() + vals_[0].size(), amount);
        if (r.ec != std::errc()) {
          ++stats_.non_numeric;
          return;
        }
      }
    }
    if (!spec_.sliding) {
      const std::int64_t w =
          t >= 0 ? t / spec_.window_ms : (t - spec_.window_ms + 1) / spec_.window_ms;
      if (w < g->window) {
        ++stats_.late_dropped;  // its tumbling window is gone
        return;
      }
      if (w > g->window) {
        g->entries.clear();
        g->last_seen.clear();
        g->sum = 0;
        g->window = w;
      }
    } else {
      expire(*g, t);
    }
    const std::uint32_t object = object_id(fields);
    if (spec_.function == AggregateSpec::Function::count_distinct) {
      auto it = g->last_seen.find(value);
      if (it == g->last_seen.end()) {
        if (g->last_seen.size() >= spec_.limits.max_values) {
          if (spec_.limits.overflow == Overflow::drop_new) {
            ++stats_.values_dropped;
            return;
          }
          evict_one_value(*g);
          ++stats_.values_evicted;
        }
        g->last_seen.emplace(value, t);
      } else {
        it->second = std::max(it->second, t);
      }
    }
    const std::uint64_t bits = spec_.function == AggregateSpec::Function::sum
                                   ? std::bit_cast<std::uint64_t>(amount)
                                   : value;
    Entry e{t, bits, object};
    if (g->entries.empty() || g->entries.back().t <= t) {
      g->entries.push_back(e);
    } else {  // late, within the allowed lateness
      auto pos = std::upper_bound(g->entries.begin(), g->entries.end(), t,
                                  [](std::int64_t x, const Entry& y) { return x < y.t; });
      g->entries.insert(pos, e);
    }
    g->sum += amount;
    g->last_ms = std::max(g->last_ms, t);
    update_finding(*g, fields.event(), object);
  }

  void report(FindingSink& sink, bool all) override {
    findings_.report(*rule_, sink, all, reported_);
  }
  const StatefulStats& stats() const override {
    stats_.groups = groups_.size();
    return stats_;
  }

 private:
  static constexpr std::uint32_t kNoObject = 0xffffffffu;
  static constexpr std::uint32_t kOwnObject = 0x80000000u;
  // One event in a group's window: 24 bytes.
  struct Entry {
    std::int64_t t;
    std::uint64_t bits;  // count_distinct: the value's key; sum: the amount's bits
    std::uint32_t object;
  };
  static_assert(sizeof(Entry) == 24);
  struct Group {
    std::string tuple;
    std::deque<Entry> entries;
    FlatMap<std::uint64_t, std::int64_t> last_seen;  // count_distinct: key -> last time
    double sum = 0;
    std::int64_t window = std::numeric_limits<std::int64_t>::min();
    std::int64_t last_ms = 0;
    std::optional<std::size_t> open;
    int tier = -1;
    std::list<Group*>::iterator lru;
  };

  // The event's object as a number: the engine's id (ExposureState) for
  // table-level objects, which it interned once for every rule; else this
  // rule's own, with the top bit set.
  std::uint32_t object_id(const EventFields& fields) {
    exposure_ = &fields.exposure();
    if (const auto id = fields.object()) return *id;
    const auto& name = fields.event().object.name;
    return name.empty() ? kNoObject : (objects_.intern(name) | kOwnObject);
  }
  const std::string& object_name(std::uint32_t id) const {
    return (id & kOwnObject) != 0 ? objects_.name(id & ~kOwnObject) : exposure_->name(id);
  }

  Group* find_or_add(std::int64_t t) {
    auto it = groups_.find(std::string_view(key_));
    if (it != groups_.end()) return it->second.get();
    if (groups_.size() >= spec_.limits.max_groups) {
      if (spec_.limits.overflow == Overflow::drop_new) {
        ++stats_.groups_dropped;
        return nullptr;
      }
      Group* oldest = lru_.front();
      if (oldest->open) findings_.close(*oldest->open);
      lru_.pop_front();
      const std::string evicted = oldest->tuple;
      groups_.erase(evicted);
      ++stats_.groups_evicted;
    }
    auto g = std::make_unique<Group>();
    g->tuple = key_;
    g->last_ms = t;
    Group* raw = g.get();
    lru_.push_back(raw);
    raw->lru = std::prev(lru_.end());
    groups_.emplace(key_, std::move(g));
    return raw;
  }

  void pop_front(Group& g) {
    const Entry& e = g.entries.front();
    if (spec_.function == AggregateSpec::Function::sum) g.sum -= std::bit_cast<double>(e.bits);
    if (spec_.function == AggregateSpec::Function::count_distinct) {
      auto it = g.last_seen.find(e.bits);
      if (it != g.last_seen.end() && it->second <= e.t) g.last_seen.erase(it);
    }
    g.entries.pop_front();
  }

  void expire(Group& g, std::int64_t t) {
    while (!g.entries.empty() && g.entries.front().t <= t - spec_.window_ms) pop_front(g);
  }

  void evict_one_value(Group& g) {
    const auto before = g.last_seen.size();
    while (!g.entries.empty() && g.last_seen.size() == before) pop_front(g);
  }

  double current(const Group& g) const {
    switch (spec_.function) {
      case AggregateSpec::Function::count:
        return static_cast<double>(g.entries.size());
      case AggregateSpec::Function::count_distinct:
        return static_cast<double>(g.last_seen.size());
      case AggregateSpec::Function::sum:
        return g.sum;
    }
    return 0;
  }

  void update_finding(Group& g, const detectors::AccessEvent& e, std::uint32_t this_object) {
    const std::size_t max_objects = spec_.limits.max_values;
    if (g.open && e.time_ms - findings_.at(*g.open).last_ms > spec_.window_ms) {
      findings_.close(*g.open);  // quiet for a whole window: the next burst is new
      g.open.reset();
      g.tier = -1;
    }
    const double value = current(g);
    if (!g.open) {
      if (value < spec_.tiers.front().gte) return;
      g.open = findings_.open(*rule_, g.tuple, g.entries.front().t);
      ++stats_.findings_opened;
      auto& f = findings_.at(*g.open);
      for (const auto& en : g.entries) {
        if (en.object != kNoObject && en.object != this_object) {
          f.add_object(object_name(en.object), max_objects);
        }
      }
      f.events = g.entries.size() - 1;  // add_event counts this one
    }
    auto& f = findings_.at(*g.open);
    f.add_event(e, max_objects);
    int tier = g.tier;
    while (tier + 1 < static_cast<int>(spec_.tiers.size()) &&
           value >= spec_.tiers[static_cast<std::size_t>(tier + 1)].gte) {
      ++tier;
    }
    if (tier > g.tier) {
      g.tier = tier;
      const auto& t = spec_.tiers[static_cast<std::size_t>(tier)];
      f.sev_hint = t.sev;
      f.notes.push_back(FindingNote{
          e.time_ms, tier == 0 ? "opened" : "escalation",
          fmt::format("{}: {} {} within {} (tier {}: at least {}, SEV hint {})", g.tuple, value,
                      function_name(spec_.function),
                      spec_.sliding ? fmt::format("a sliding {}m window", spec_.window_ms / 60'000)
                                    : fmt::format("a {}m window", spec_.window_ms / 60'000),
                      tier + 1, t.gte, t.sev)});
      findings_.mark_urgent(*g.open);
    }
  }

  const AggregateSpec& spec_;
  mutable StatefulStats stats_;
  std::int64_t watermark_ = std::numeric_limits<std::int64_t>::min() / 2;
  std::string key_;
  std::vector<std::string_view> vals_;
  StringMap<std::unique_ptr<Group>> groups_;
  std::list<Group*> lru_;
  NameTable objects_;  // objects the engine did not intern (see object_id)
  const ExposureState* exposure_ = nullptr;
  FindingTable findings_;
  std::uint64_t reported_ = 0;
};

}  // namespace

std::unique_ptr<StatefulRule> make_sequence_rule(const Rule& rule);
std::unique_ptr<StatefulRule> make_first_seen_rule(const Rule& rule);

std::unique_ptr<StatefulRule> make_stateful_rule(const Rule& rule) {
  switch (rule.kind) {
    case RuleKind::aggregate:
      return std::make_unique<AggregateRule>(rule);
    case RuleKind::sequence:
      return make_sequence_rule(rule);
    case RuleKind::first_seen:
      return make_first_seen_rule(rule);
    default:
      return nullptr;
  }
}

}  // namespace sevwatch::rules
