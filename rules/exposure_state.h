// The live model of who can read what.
//
// For every object it keeps the grants that currently reach it (on the object
// itself, on its schema, on its catalog) and derives its exposure: the broadest
// audience class among those grants. Event time orders grants and revokes; a
// grant on a container reaches every object the inventory knows inside it,
// including objects first seen later in the stream.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detectors/access_event.h"
#include "rules/classes.h"
#include "rules/context.h"
#include "rules/name_table.h"
#include "rules/string_map.h"

namespace sevwatch::rules {

using ObjectId = std::uint32_t;

// One grant that currently holds.
struct ActiveGrant {
  std::uint32_t id = 0;  // unique per state, in order of arrival
  std::string target;    // the object or container name it was granted on
  std::string grantee;
  std::string actor;                       // who granted
  std::optional<Audience> audience_class;  // from the context's `audiences`
  std::int64_t time_ms = 0;
};

// How one object's exposure changed because of one grant or revoke.
struct ObjectChange {
  ObjectId object = 0;
  std::optional<Audience> before;
  std::optional<Audience> after;
  std::uint32_t grant_id = 0;  // the grant that now sets `after` (0 when none)
};

class ExposureState {
 public:
  explicit ExposureState(const Context& context);

  // Interns an object name; unknown names join the inventory (and the
  // container indexes) as they are first seen.
  ObjectId intern(std::string_view name);
  std::optional<ObjectId> find(std::string_view name) const;
  void prefetch(std::string_view name) const { ids_.prefetch(name); }
  const std::string& name(ObjectId id) const { return ids_.name(id); }
  const ObjectInfo& info(ObjectId id) const { return *objects_[id].info; }
  std::size_t object_count() const { return objects_.size(); }

  // Applies a grant or revoke event (action grant/revoke, result not denied).
  // Returns the objects whose exposure changed. Grants of privileges that do
  // not allow reading (e.g. INSERT alone) change nothing.
  std::vector<ObjectChange> apply(const detectors::AccessEvent& event);

  // The broadest audience an object is exposed to now, with the grant that
  // sets it; nullopt when only intended readers can read it.
  struct Exposure {
    Audience audience;
    std::uint32_t grant_id;  // the grant that sets it; see grant()
  };
  std::optional<Exposure> exposure(ObjectId id) const;

  const ActiveGrant* grant(std::uint32_t id) const;

  // The model as canonical text, for comparing two states (the journal
  // compaction of `sevwatch run`): the objects in the order they were first
  // seen, then the grants in force on each object and container, in order,
  // each followed by `grant_note(id)`. Grant ids themselves do not appear.
  void describe(std::string& out,
                const std::function<std::string(std::uint32_t)>& grant_note) const;

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;
  // Small (24 bytes), as every read of an exposed object looks one up: the
  // name lives in ids_, the rare grants on the object itself in own_grants_.
  struct ObjectEntry {
    const ObjectInfo* info;
    std::uint32_t schema = kNone;   // container index of "catalog.schema"
    std::uint32_t catalog = kNone;  // container index of "catalog"
    std::uint32_t own = kNone;      // index in own_grants_: grants on the object itself
  };
  struct Container {
    std::string name;
    std::vector<ObjectId> members;
    std::vector<std::uint32_t> grants;
  };
  std::optional<Exposure> compute(ObjectId id) const;
  std::optional<Audience> class_for(const ActiveGrant& g, const ObjectInfo& info) const;
  std::uint32_t container(std::string_view name);
  // The grant list a target names, and the objects it reaches.
  std::vector<std::uint32_t>& grant_list(const std::string& target, detectors::ObjectLevel level,
                                         std::vector<ObjectId>& reached);

  const Context& context_;
  std::vector<ObjectEntry> objects_;
  std::vector<std::vector<std::uint32_t>> own_grants_;
  NameTable ids_;  // names -> ObjectId, the index into objects_
  std::vector<Container> containers_;
  FlatStringMap<std::uint32_t> container_ids_;
  std::unordered_map<std::uint32_t, ActiveGrant> grants_;
  std::uint32_t next_grant_id_ = 1;
};

// True when a privilege list lets the grantee read data.
bool grants_read(const std::vector<std::string>& privileges);

}  // namespace sevwatch::rules
