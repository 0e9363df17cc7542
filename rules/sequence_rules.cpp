// The sequence and first_seen rule kinds (stateful_rules.h).
#include <charconv>
#include <limits>
#include <list>
#include <queue>

#include "rules/stateful_common.h"
#include "rules/stateful_rules.h"

namespace sevwatch::rules {
namespace {

using detail::FindingTable;
using detail::StringMap;

class SequenceRule : public StatefulRule {
 public:
  explicit SequenceRule(const Rule& r) : StatefulRule(r), spec_(r.sequence) {
    stats_.rule_id = r.id;
  }

  void on_event(const EventFields& fields, std::int64_t t) override {
    const bool a = spec_.steps[0].condition && spec_.steps[0].condition->eval(fields);
    const bool b = spec_.steps[1].condition && spec_.steps[1].condition->eval(fields);
    if (!a && !b) return;
    ++stats_.matched;
    if (t > watermark_) watermark_ = t;
    if (t < watermark_ - spec_.limits.lateness_ms) {
      ++stats_.late_dropped;
      return;
    }
    // Absence: the deadlines this event's time has passed fire first, so that
    // an A whose earlier A (same key) is due now starts a new wait.
    if (spec_.absent) advance(t);
    key_.clear();
    append_group_key(fields, spec_.by, key_);
    if (b) {
      auto it = pending_.find(std::string_view(key_));
      if (it != pending_.end() && t >= it->second.a_ms && t - it->second.a_ms <= spec_.within_ms) {
        if (!spec_.absent) fire(it->second, fields.event(), t);
        lru_.erase(it->second.lru);
        pending_.erase(it);
      }
    }
    if (a && !spec_.absent) {
      // An A that no B on time can follow any more gives way to this one.
      auto it = pending_.find(std::string_view(key_));
      if (it != pending_.end() &&
          watermark_ - spec_.limits.lateness_ms - it->second.a_ms > spec_.within_ms) {
        lru_.erase(it->second.lru);
        pending_.erase(it);
      }
    }
    if (a && pending_.find(std::string_view(key_)) == pending_.end()) {
      if (pending_.size() >= spec_.limits.max_groups) {
        if (spec_.limits.overflow == Overflow::drop_new) {
          ++stats_.groups_dropped;
          return;
        }
        const std::string oldest = lru_.front();
        lru_.pop_front();
        pending_.erase(oldest);
        ++stats_.groups_evicted;
      }
      Pending p;
      p.a_ms = t;
      p.first = fields.event();
      p.group.clear();
      append_group_key(fields, spec_.group_by, p.group);
      lru_.push_back(key_);
      p.lru = std::prev(lru_.end());
      pending_.emplace(key_, std::move(p));
      if (spec_.absent) deadlines_.emplace(t + spec_.within_ms, key_);
    }
  }

  void advance(std::int64_t t) override {
    if (!spec_.absent) return;
    if (t > watermark_) watermark_ = t;
    while (!deadlines_.empty() && deadlines_.top().first < watermark_) {
      const auto [deadline, key] = deadlines_.top();
      deadlines_.pop();
      auto it = pending_.find(key);
      if (it == pending_.end() || it->second.a_ms + spec_.within_ms != deadline) continue;
      fire(it->second, it->second.first, deadline);
      lru_.erase(it->second.lru);
      pending_.erase(it);
    }
  }

  void report(FindingSink& sink, bool all) override {
    findings_.report(*rule_, sink, all, reported_);
  }
  const StatefulStats& stats() const override {
    stats_.groups = pending_.size();
    return stats_;
  }

 private:
  struct Pending {
    std::int64_t a_ms = 0;
    detectors::AccessEvent first;
    std::string group;
    std::list<std::string>::iterator lru;
  };

  void fire(const Pending& p, const detectors::AccessEvent& then, std::int64_t at) {
    auto open = open_.find(p.group);
    if (open != open_.end() && at - findings_.at(open->second).last_ms > spec_.within_ms) {
      findings_.close(open->second);
      open_.erase(open);
      open = open_.end();
    }
    std::size_t index = 0;
    if (open == open_.end()) {
      index = findings_.open(*rule_, p.group, p.a_ms);
      open_.emplace(p.group, index);
      ++stats_.findings_opened;
    } else {
      index = open->second;
    }
    auto& f = findings_.at(index);
    f.add_event(p.first, spec_.limits.max_values);
    f.add_object(p.first.grant.target.name, spec_.limits.max_values);
    if (!spec_.absent) f.add_event(then, spec_.limits.max_values);
    f.last_ms = std::max(f.last_ms, at);
    f.sev_hint = spec_.sev;
    const auto& a = spec_.steps[0].name.empty() ? std::string("A") : spec_.steps[0].name;
    const auto& b = spec_.steps[1].name.empty() ? std::string("B") : spec_.steps[1].name;
    const std::string what =
        p.first.grant.target.name.empty() ? p.first.object.name : p.first.grant.target.name;
    f.notes.push_back(FindingNote{
        at, "sequence",
        spec_.absent ? fmt::format("{} by {} on {} at {} was not followed by {} within {}m", a,
                                   p.first.principal, what, detectors::format_rfc3339_ms(p.a_ms), b,
                                   spec_.within_ms / 60'000)
                     : fmt::format("{} by {} on {} at {}, then {} by {} at {}", a,
                                   p.first.principal, what, detectors::format_rfc3339_ms(p.a_ms), b,
                                   then.principal, detectors::format_rfc3339_ms(then.time_ms))});
    findings_.mark_urgent(index);
  }

  const SequenceSpec& spec_;
  mutable StatefulStats stats_;
  std::int64_t watermark_ = std::numeric_limits<std::int64_t>::min() / 2;
  std::string key_;
  StringMap<Pending> pending_;
  std::list<std::string> lru_;
  std::priority_queue<std::pair<std::int64_t, std::string>,
                      std::vector<std::pair<std::int64_t, std::string>>, std::greater<>>
      deadlines_;
  StringMap<std::size_t> open_;
  FindingTable findings_;
  std::uint64_t reported_ = 0;
};

class FirstSeenRule : public StatefulRule {
 public:
  explicit FirstSeenRule(const Rule& r) : StatefulRule(r), spec_(r.first_seen) {
    stats_.rule_id = r.id;
  }

  void on_event(const EventFields& fields, std::int64_t t) override {
    ++stats_.matched;
    if (!since_) since_ = t;
    key_.clear();
    append_group_key(fields, spec_.key, key_);
    auto it = baseline_.find(std::string_view(key_));
    bool fresh = false;
    if (it == baseline_.end()) {
      if (baseline_.size() >= spec_.limits.max_groups) {
        if (spec_.limits.overflow == Overflow::drop_new) {
          ++stats_.groups_dropped;
          return;
        }
        const std::string oldest = lru_.front();
        lru_.pop_front();
        baseline_.erase(oldest);
        ++stats_.groups_evicted;
      }
      lru_.push_back(key_);
      it = baseline_.emplace(key_, Seen{t, std::prev(lru_.end())}).first;
      fresh = true;
    } else {
      fresh = t - it->second.last_ms > spec_.lookback_ms;
      it->second.last_ms = std::max(it->second.last_ms, t);
      lru_.splice(lru_.end(), lru_, it->second.lru);
    }
    if (!fresh || t - *since_ < spec_.learn_ms) return;
    const auto& e = fields.event();
    const std::size_t index = findings_.open(*rule_, key_, t);
    ++stats_.findings_opened;
    auto& f = findings_.at(index);
    f.add_event(e, spec_.limits.max_values);
    f.sev_hint = spec_.sev;
    f.notes.push_back(
        FindingNote{t, "first_seen",
                    fmt::format("first time in {}d: {} ({} on {})", spec_.lookback_ms / 86'400'000,
                                key_, detectors::to_string(e.action), e.object.name)});
    findings_.mark_urgent(index);
    findings_.close(index);
  }

  void report(FindingSink& sink, bool all) override {
    findings_.report(*rule_, sink, all, reported_);
  }
  const StatefulStats& stats() const override {
    stats_.groups = baseline_.size();
    return stats_;
  }

  // "since <ms>\n" then "<last ms>\t<key>\n" per key.
  void serialize(std::string& out) const override {
    out += fmt::format("since {}\n", since_.value_or(0));
    for (const auto& key : lru_) {
      out += fmt::format("{}\t{}\n", baseline_.at(key).last_ms, key);
    }
  }

  bool deserialize(std::string_view text) override {
    std::size_t pos = 0;
    bool first = true;
    while (pos < text.size()) {
      auto end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      const auto line = text.substr(pos, end - pos);
      pos = end + 1;
      if (line.empty()) continue;
      std::int64_t ms = 0;
      if (first) {
        first = false;
        if (line.rfind("since ", 0) != 0) return false;
        const auto num = line.substr(6);
        if (std::from_chars(num.data(), num.data() + num.size(), ms).ec != std::errc()) {
          return false;
        }
        if (ms != 0) since_ = since_ ? std::min(*since_, ms) : ms;
        continue;
      }
      const auto tab = line.find('\t');
      if (tab == std::string_view::npos) return false;
      if (std::from_chars(line.data(), line.data() + tab, ms).ec != std::errc()) return false;
      const std::string key(line.substr(tab + 1));
      auto it = baseline_.find(key);
      if (it == baseline_.end()) {
        if (baseline_.size() >= spec_.limits.max_groups) continue;
        lru_.push_back(key);
        baseline_.emplace(key, Seen{ms, std::prev(lru_.end())});
      } else {
        it->second.last_ms = std::max(it->second.last_ms, ms);
      }
    }
    return true;
  }

 private:
  struct Seen {
    std::int64_t last_ms;
    std::list<std::string>::iterator lru;
  };
  const FirstSeenSpec& spec_;
  mutable StatefulStats stats_;
  std::optional<std::int64_t> since_;
  std::string key_;
  StringMap<Seen> baseline_;
  std::list<std::string> lru_;  // oldest first
  FindingTable findings_;
  std::uint64_t reported_ = 0;
};

}  // namespace

std::unique_ptr<StatefulRule> make_sequence_rule(const Rule& rule) {
  return std::make_unique<SequenceRule>(rule);
}

std::unique_ptr<StatefulRule> make_first_seen_rule(const Rule& rule) {
  return std::make_unique<FirstSeenRule>(rule);
}

}  // namespace sevwatch::rules
