// Findings -> incidents. Findings are merged in memory per dedup key; flush()
// applies them to the store in one transaction, onto the incident as stored at
// that moment (so a human's acknowledgement or downgrade made meanwhile is
// kept). Every merge is a union or a max, so replaying the same findings
// changes nothing.
#include "triage/incident_manager.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace sevwatch::triage {

namespace {

constexpr const char* kBy = "sevwatch";

void union_into(std::vector<std::string>& dst, const std::vector<std::string>& src) {
  if (src.empty()) return;
  std::set<std::string> s(dst.begin(), dst.end());
  s.insert(src.begin(), src.end());
  dst.assign(s.begin(), s.end());
}

rules::Evidence evidence_of(const Incident& inc) {
  return rules::parse_evidence(inc.evidence_class).value_or(rules::Evidence::none);
}

// The finding-derived fields of `src` merged into `dst`: unions, maxima, and
// the most severe class of each kind (smaller enum values are more severe).
void merge_scope_and_evidence(Incident& dst, const Incident& src) {
  if (dst.rule.empty()) dst.rule = src.rule;
  if (dst.title.empty()) dst.title = src.title;
  if (dst.runbook.empty()) dst.runbook = src.runbook;
  if (dst.opened_at_ms == 0 || (src.opened_at_ms != 0 && src.opened_at_ms < dst.opened_at_ms)) {
    dst.opened_at_ms = src.opened_at_ms;
  }
  dst.objects = std::max(dst.objects, src.objects);
  union_into(dst.sensitivity, src.sensitivity);
  const auto dl = rules::parse_level(dst.level);
  const auto sl = rules::parse_level(src.level);
  if (sl && (!dl || *sl < *dl)) dst.level = src.level;
  const auto da = dst.audience ? rules::parse_audience(*dst.audience) : std::nullopt;
  const auto sa = src.audience ? rules::parse_audience(*src.audience) : std::nullopt;
  if (sa && (!da || *sa < *da)) dst.audience = src.audience;
  union_into(dst.grantees, src.grantees);
  union_into(dst.actors, src.actors);
  if (evidence_of(src) < evidence_of(dst)) dst.evidence_class = src.evidence_class;
  dst.events = std::max(dst.events, src.events);
  dst.outsider_reads = std::max(dst.outsider_reads, src.outsider_reads);
  union_into(dst.outsiders, src.outsiders);
}

Incident from_finding(const rules::Finding& f) {
  Incident inc;
  inc.rule = f.rule_id;
  inc.title = f.title;
  inc.runbook = f.runbook;
  inc.dedup_key = f.group_key;
  inc.opened_at_ms = f.first_ms;
  inc.objects = f.objects;
  inc.sensitivity = f.sensitivity;
  std::sort(inc.sensitivity.begin(), inc.sensitivity.end());
  inc.sensitivity.erase(std::unique(inc.sensitivity.begin(), inc.sensitivity.end()),
                        inc.sensitivity.end());
  if (f.level) inc.level = rules::to_string(*f.level);
  if (f.audience) inc.audience = std::string(rules::to_string(*f.audience));
  inc.grantees = f.grantees;
  inc.actors = f.actors;
  inc.evidence_class = rules::to_string(f.evidence);
  inc.events = f.events;
  inc.outsider_reads = f.outsider_reads;
  inc.outsiders = f.outsiders;
  return inc;
}

SevInputs inputs_of(const Incident& inc) {
  SevInputs in;
  if (auto l = rules::parse_level(inc.level)) in.level = *l;
  if (inc.audience) {
    if (auto a = rules::parse_audience(*inc.audience)) in.audience = *a;
  }
  in.evidence = evidence_of(inc);
  in.objects = inc.objects;
  return in;
}

// Findings of rules that are not about exposure (bulk reads, denied spikes,
// sequences) carry no sensitivity x audience; their rule's tier gives a SEV
// hint instead. Exposure findings always go through the rubric.
SevDecision decide(const SevRubric& rubric, const Incident& inc, std::optional<int> hint) {
  if (hint && inc.level.empty() && !inc.audience) {
    const int sev = std::clamp(*hint, 0, 5);
    return SevDecision{sev, fmt::format("rule {}: its severity tier for this finding → SEV {} "
                                        "(no exposure scope, so not from the D × A matrix)",
                                        inc.rule, sev)};
  }
  return rubric.decide(inputs_of(inc));
}

bool same_summary(const Incident& a, const Incident& b) {
  return a.sev == b.sev && a.rubric_sev == b.rubric_sev && a.status == b.status &&
         a.rule == b.rule && a.title == b.title && a.runbook == b.runbook &&
         a.opened_at_ms == b.opened_at_ms && a.sev_reason == b.sev_reason &&
         a.objects == b.objects && a.sensitivity == b.sensitivity && a.level == b.level &&
         a.audience == b.audience && a.grantees == b.grantees && a.actors == b.actors &&
         a.evidence_class == b.evidence_class && a.events == b.events &&
         a.outsider_reads == b.outsider_reads && a.outsiders == b.outsiders &&
         a.contained_at_ms == b.contained_at_ms && a.resolved_at_ms == b.resolved_at_ms &&
         a.acknowledged_at_ms == b.acknowledged_at_ms && a.assignee == b.assignee;
}

void merge_reader(Reader& dst, const Reader& src) {
  dst.reads = std::max(dst.reads, src.reads);
  dst.objects = std::max(dst.objects, src.objects);
  dst.outsider = dst.outsider || src.outsider;
  dst.first_ms = std::min(dst.first_ms, src.first_ms);
  dst.last_ms = std::max(dst.last_ms, src.last_ms);
}

bool same_reader(const Reader& a, const Reader& b) {
  return a.reads == b.reads && a.objects == b.objects && a.outsider == b.outsider &&
         a.first_ms == b.first_ms && a.last_ms == b.last_ms;
}

std::string join(const std::vector<std::string>& v) {
  return v.empty() ? std::string("none") : fmt::format("{}", fmt::join(v, ", "));
}

// What was exposed to whom, for the "opened" timeline entry.
std::string opened_text(const Incident& inc) {
  std::string text = fmt::format("{} object{}", inc.objects, inc.objects == 1 ? "" : "s");
  if (!inc.sensitivity.empty()) text += fmt::format(" ({})", join(inc.sensitivity));
  if (!inc.level.empty()) text += fmt::format(" of {} sensitivity", inc.level);
  text += inc.audience ? fmt::format(" exposed to the {} audience", *inc.audience)
                       : std::string(" in scope");
  if (!inc.grantees.empty()) text += fmt::format(" via grants to {}", join(inc.grantees));
  if (!inc.actors.empty()) text += fmt::format(" by {}", join(inc.actors));
  if (inc.evidence_class != "none") {
    text +=
        fmt::format("; evidence {}: {} outsider read{} by {}", inc.evidence_class,
                    inc.outsider_reads, inc.outsider_reads == 1 ? "" : "s", join(inc.outsiders));
  }
  return text;
}

std::string escalation_text(int from, int to, const std::string& reason) {
  return fmt::format("SEV {} → SEV {}: {}", from, to, reason);
}

// Queues a notification in the caller's transaction (triage/outbox.h).
void queue_notification(IncidentStore& store, const Incident& inc, const char* event,
                        std::optional<int> from_sev, const std::string& by, const std::string& note,
                        std::int64_t at_ms, std::int64_t now_ms) {
  OutboxEvent e;
  e.key = outbox_event_key(inc.id, event, inc.sev, at_ms);
  e.incident_id = inc.id;
  e.event = event;
  e.sev = inc.sev;
  e.from_sev = from_sev;
  e.by = by;
  e.note = note;
  e.at_ms = at_ms;
  e.created_ms = now_ms;
  store.add_outbox_event(e);
}

}  // namespace

// Everything learned about one dedup key since the last flush.
struct IncidentManager::Pending {
  bool known = false;  // the store had the incident when this key was first seen
  Incident work;       // stored state (if any) merged with every finding since
  std::vector<std::string> new_objects;
  std::map<std::string, Reader> readers;
  std::vector<TimelineEntry> notes;
  // For a new incident: the SEV and text of the first finding alone.
  int open_sev = 5;
  std::string open_reason;
  std::string open_text;
  std::int64_t open_at = 0;
  // The SEV steps taken while merging, in event time: (at, sev, reason).
  struct Step {
    std::int64_t at = 0;
    int sev = 5;
    std::string reason;
  };
  std::vector<Step> steps;
  std::int64_t last_ms = std::numeric_limits<std::int64_t>::min();
  std::optional<int> sev_hint;  // the most severe hint of the findings
};

IncidentManager::IncidentManager(IncidentStore& store, const SevRubric& rubric,
                                 std::function<std::int64_t()> now_ms)
    : store_(store), rubric_(rubric), now_ms_(std::move(now_ms)) {}

void IncidentManager::on_finding(const rules::Finding& f) {
  ++stats_.findings;
  auto& slot = pending_[f.group_key];
  const Incident update = from_finding(f);
  if (!slot) {
    slot = std::make_shared<Pending>();
    if (auto stored = store_.find_by_dedup_key(f.group_key)) {
      slot->known = true;
      slot->work = std::move(*stored);
    } else {
      slot->work = update;
      const auto d = decide(rubric_, update, f.sev_hint);
      slot->work.sev = slot->work.rubric_sev = slot->open_sev = d.sev;
      slot->work.sev_reason = slot->open_reason = d.reason;
      slot->open_text = opened_text(update);
      slot->open_at = f.first_ms;
    }
  }
  Pending& p = *slot;
  if (f.sev_hint && (!p.sev_hint || *f.sev_hint < *p.sev_hint)) p.sev_hint = f.sev_hint;
  merge_scope_and_evidence(p.work, update);
  p.new_objects.insert(p.new_objects.end(), f.new_objects.begin(), f.new_objects.end());
  for (const auto& r : f.readers) {
    Reader in{r.principal, r.reads, r.objects, r.outsider, r.first_ms, r.last_ms};
    auto [it, inserted] = p.readers.emplace(r.principal, in);
    if (!inserted) merge_reader(it->second, in);
  }
  for (const auto& n : f.notes) p.notes.push_back(TimelineEntry{n.at_ms, n.kind, kBy, n.text});
  p.last_ms = std::max(p.last_ms, f.last_ms);

  // Provisional SEV: a step is recorded at the event time of the finding that
  // made it more severe; flush() re-checks each against the stored incident.
  const auto d = decide(rubric_, p.work, p.sev_hint);
  if (d.sev < p.work.sev && d.sev < p.work.rubric_sev) {
    p.steps.push_back(Pending::Step{f.last_ms, d.sev, d.reason});
    p.work.sev = d.sev;
    p.work.sev_reason = d.reason;
  }
  p.work.rubric_sev = std::min(p.work.rubric_sev, d.sev);
}

void IncidentManager::flush() {
  if (pending_.empty()) return;
  const std::int64_t now = now_ms_();
  std::uint64_t opened = 0, updated = 0;
  store_.begin();
  try {
    // Keys in sorted order: a store shared by several processes (PostgreSQL)
    // locks each key here until commit, and one order for all avoids deadlocks.
    std::vector<const std::string*> keys;
    keys.reserve(pending_.size());
    for (const auto& kv : pending_) keys.push_back(&kv.first);
    std::sort(keys.begin(), keys.end(), [](const auto* a, const auto* b) { return *a < *b; });
    for (const std::string* kp : keys) {
      const std::string& key = *kp;
      Pending& p = *pending_.at(key);
      std::optional<Incident> cur = store_.find_by_dedup_key(key);
      bool is_new = !cur;
      std::vector<TimelineEntry> entries;
      Incident inc;
      Incident before;
      if (is_new) {
        inc = p.work;
        inc.id = 0;
        inc.status = Status::open;
        inc.detected_at_ms = now;
        inc.updated_at_ms = now;
        inc.contained_at_ms.reset();
        inc.resolved_at_ms.reset();
        inc.sev = inc.rubric_sev = p.open_sev;
        inc.sev_reason = p.open_reason;
        store_.insert(inc);
        // A shared store (PostgreSQL) may have got this key from another
        // process meanwhile; its insert then gives that incident's id instead
        // of failing. If the stored row is not the one just written, this is
        // an update of that incident.
        auto stored = store_.find_by_dedup_key(key);
        if (stored && (stored->detected_at_ms != inc.detected_at_ms ||
                       stored->opened_at_ms != inc.opened_at_ms || stored->sev != inc.sev ||
                       stored->objects != inc.objects || stored->events != inc.events)) {
          is_new = false;
          cur = std::move(stored);
        }
      }
      if (is_new) {
        entries.push_back(
            TimelineEntry{p.open_at, "opened", kBy,
                          fmt::format("opened at SEV {}: {}", p.open_sev, p.open_text)});
        before = inc;
      } else {
        inc = *cur;
        before = inc;
        merge_scope_and_evidence(inc, p.work);
      }

      // Scope: the store's distinct object count is the truth.
      // (max with the findings' own count, for rules that report no names).
      inc.objects = std::max(inc.objects, store_.add_objects(inc.id, p.new_objects));

      // SEV: replay the provisional steps, then the decision on the final scope.
      auto escalate = [&](std::int64_t at, int sev, const std::string& reason) {
        if (sev < inc.sev && sev < inc.rubric_sev) {
          entries.push_back(
              TimelineEntry{at, "escalated", kBy, escalation_text(inc.sev, sev, reason)});
          inc.sev = sev;
          inc.sev_reason = reason;
        }
        inc.rubric_sev = std::min(inc.rubric_sev, sev);
      };
      for (const auto& s : p.steps) escalate(s.at, s.sev, s.reason);
      const auto final_decision = decide(rubric_, inc, p.sev_hint);
      escalate(p.last_ms, final_decision.sev, final_decision.reason);
      // Same SEV on a grown scope: keep the reason's figures current (never
      // over a human's decision, which sets sev apart from rubric_sev).
      if (final_decision.sev == inc.sev && inc.sev == inc.rubric_sev) {
        inc.sev_reason = final_decision.reason;
      }

      // A resolved incident that escalates or grows is reopened.
      const bool grew = inc.objects > before.objects ||
                        inc.outsider_reads > before.outsider_reads || inc.sev < before.sev;
      bool reopened = false;
      if (!is_new && inc.status == Status::resolved && grew) {
        inc.status = Status::open;
        inc.resolved_at_ms.reset();
        reopened = true;
        entries.push_back(
            TimelineEntry{p.last_ms, "reopened", kBy, "new evidence after resolution"});
      }

      // Notifications, in this same transaction: one per incident per flush,
      // at the SEV the incident has after it (an incident opened and escalated
      // in one flush pages once, at the final SEV).
      if (is_new) {
        queue_notification(store_, inc, "opened", std::nullopt, kBy, "", p.open_at, now);
      } else if (reopened) {
        queue_notification(store_, inc, "reopened", before.sev, kBy, "", p.last_ms, now);
      } else if (inc.sev < before.sev) {
        queue_notification(store_, inc, "escalated", before.sev, kBy, inc.sev_reason, p.last_ms,
                           now);
      }

      // Readers: per principal, max of counts, earliest first, latest last.
      std::vector<Reader> changed_readers;
      if (!p.readers.empty()) {
        std::map<std::string, Reader> stored;
        if (!is_new) {
          for (auto& r : store_.get_readers(inc.id)) stored.emplace(r.principal, std::move(r));
        }
        for (const auto& [principal, r] : p.readers) {
          auto it = stored.find(principal);
          if (it == stored.end()) {
            changed_readers.push_back(r);
            continue;
          }
          Reader merged = it->second;
          merge_reader(merged, r);
          if (!same_reader(merged, it->second)) changed_readers.push_back(merged);
        }
        store_.put_readers(inc.id, changed_readers);
      }

      entries.insert(entries.end(), p.notes.begin(), p.notes.end());
      const std::size_t added = store_.add_timeline(inc.id, entries);

      if (is_new) {
        store_.update(inc);
        ++opened;
      } else if (!same_summary(inc, before) || !changed_readers.empty() || added > 0) {
        inc.updated_at_ms = now;
        store_.update(inc);
        ++updated;
      }
    }
    store_.commit();
  } catch (...) {
    store_.rollback();
    throw;
  }
  pending_.clear();
  stats_.incidents_opened += opened;
  stats_.incidents_updated += updated;
}

namespace {

// Runs `act` on the incident inside a transaction; `act` returns false (with
// `error` set) to refuse, in which case nothing is written.
template <typename Act>
bool human_act(IncidentStore& store, std::int64_t id, std::string& error, Act act) {
  store.begin();
  try {
    auto inc = store.get(id, false);
    if (!inc) {
      store.rollback();
      error = fmt::format("no incident {}", id);
      return false;
    }
    if (!act(*inc)) {
      store.rollback();
      return false;
    }
    store.commit();
    return true;
  } catch (...) {
    store.rollback();
    throw;
  }
}

std::string with_note(std::string text, const std::string& note) {
  if (!note.empty()) text += ": " + note;
  return text;
}

}  // namespace

bool acknowledge(IncidentStore& store, std::int64_t id, const std::string& by,
                 const std::string& note, std::int64_t now_ms, std::string& error) {
  if (by.empty()) {
    error = "acknowledging needs the name of who does it";
    return false;
  }
  return human_act(store, id, error, [&](Incident& inc) {
    if (inc.status != Status::open) {
      error = fmt::format("incident {} is {}, not open", id, to_string(inc.status));
      return false;
    }
    inc.status = Status::acknowledged;
    if (!inc.acknowledged_at_ms) inc.acknowledged_at_ms = now_ms;
    inc.updated_at_ms = now_ms;
    store.update(inc);
    queue_notification(store, inc, "acknowledged", std::nullopt, by, note, now_ms, now_ms);
    store.add_timeline(
        id, {TimelineEntry{now_ms, "acknowledged", by, with_note("acknowledged by " + by, note)}});
    return true;
  });
}

bool resolve(IncidentStore& store, std::int64_t id, const std::string& by, const std::string& note,
             std::int64_t now_ms, std::string& error) {
  if (by.empty()) {
    error = "resolving needs the name of who does it";
    return false;
  }
  return human_act(store, id, error, [&](Incident& inc) {
    if (inc.status == Status::resolved) {
      error = fmt::format("incident {} is already resolved", id);
      return false;
    }
    inc.status = Status::resolved;
    inc.resolved_at_ms = now_ms;
    inc.updated_at_ms = now_ms;
    store.update(inc);
    queue_notification(store, inc, "resolved", std::nullopt, by, note, now_ms, now_ms);
    store.add_timeline(
        id, {TimelineEntry{now_ms, "resolved", by, with_note("resolved by " + by, note)}});
    return true;
  });
}

bool contain(IncidentStore& store, std::int64_t id, const std::string& by, const std::string& note,
             std::int64_t now_ms, std::string& error) {
  if (by.empty()) {
    error = "containing needs the name of who does it";
    return false;
  }
  return human_act(store, id, error, [&](Incident& inc) {
    if (inc.status != Status::open && inc.status != Status::acknowledged) {
      error = fmt::format("incident {} is {}, not open or acknowledged", id, to_string(inc.status));
      return false;
    }
    inc.status = Status::contained;
    inc.contained_at_ms = now_ms;
    inc.updated_at_ms = now_ms;
    store.update(inc);
    store.add_timeline(
        id, {TimelineEntry{now_ms, "contained", by, with_note("contained by " + by, note)}});
    return true;
  });
}

bool assign(IncidentStore& store, std::int64_t id, const std::string& to, const std::string& by,
            std::int64_t now_ms, std::string& error) {
  if (by.empty()) {
    error = "assigning needs the name of who does it";
    return false;
  }
  if (to.find_first_not_of(" \t\r\n") == std::string::npos) {
    error = "assigning needs the name of the assignee";
    return false;
  }
  return human_act(store, id, error, [&](Incident& inc) {
    if (inc.assignee == to) {
      error = fmt::format("incident {} is already assigned to {}", id, to);
      return false;
    }
    const std::string text =
        inc.assignee.empty() ? fmt::format("assigned to {} by {}", to, by)
                             : fmt::format("reassigned from {} to {} by {}", inc.assignee, to, by);
    inc.assignee = to;
    inc.updated_at_ms = now_ms;
    store.update(inc);
    store.add_timeline(id, {TimelineEntry{now_ms, "assigned", by, text}});
    return true;
  });
}

bool add_note(IncidentStore& store, std::int64_t id, const std::string& by, const std::string& text,
              std::int64_t now_ms, std::string& error) {
  if (by.empty()) {
    error = "a note needs the name of who writes it";
    return false;
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    error = "a note needs text";
    return false;
  }
  return human_act(store, id, error, [&](Incident& inc) {
    inc.updated_at_ms = now_ms;
    store.update(inc);
    if (store.add_timeline(id, {TimelineEntry{now_ms, "note", by, text}}) == 0) {
      error = fmt::format("incident {} already has this note at this time", id);
      return false;
    }
    return true;
  });
}

bool set_sev(IncidentStore& store, std::int64_t id, int sev, const std::string& by,
             const std::string& reason, std::int64_t now_ms, std::string& error) {
  if (sev < 0 || sev > 5) {
    error = fmt::format("SEV must be 0 to 5, got {}", sev);
    return false;
  }
  if (by.empty()) {
    error = "changing a SEV needs the name of who does it";
    return false;
  }
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    error = "changing a SEV needs a written reason";
    return false;
  }
  return human_act(store, id, error, [&](Incident& inc) {
    if (inc.sev == sev) {
      error = fmt::format("incident {} is already SEV {}", id, sev);
      return false;
    }
    const int from = inc.sev;
    inc.sev = sev;
    inc.sev_reason = fmt::format("set by {}: {}", by, reason);
    inc.updated_at_ms = now_ms;
    store.update(inc);
    // A human escalation re-pages like an automatic one; a downgrade queues
    // nothing (the page stays under its tier's key until resolved).
    if (sev < from) queue_notification(store, inc, "escalated", from, by, reason, now_ms, now_ms);
    store.add_timeline(
        id, {TimelineEntry{now_ms, sev < from ? "escalated" : "downgraded", by,
                           fmt::format("SEV {} → SEV {} by {}: {}", from, sev, by, reason)}});
    return true;
  });
}

}  // namespace sevwatch::triage
