#include "rules/exposure_state.h"

#include <algorithm>
#include <cctype>

namespace sevwatch::rules {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "a.b.c" -> {"a.b", "a"}; anything that is not three dotted parts has no
// containers (S3 and HDFS locations, for instance).
bool split_table_name(std::string_view name, std::string_view& schema, std::string_view& catalog) {
  const auto first = name.find('.');
  if (first == std::string_view::npos || first == 0) return false;
  const auto second = name.find('.', first + 1);
  if (second == std::string_view::npos || second == first + 1) return false;
  if (name.find('.', second + 1) != std::string_view::npos) return false;
  if (second + 1 >= name.size()) return false;
  schema = name.substr(0, second);
  catalog = name.substr(0, first);
  return true;
}

}  // namespace

bool grants_read(const std::vector<std::string>& privileges) {
  for (const auto& p : privileges) {
    if (p == "SELECT" || p == "ALL" || p == "ALL PRIVILEGES" || p == "READ" || p == "_ANY" ||
        p == "READ_METADATA" || p == "DATA_READ") {
      return true;
    }
  }
  return false;
}

ExposureState::ExposureState(const Context& context) : context_(context) {
  const auto& inventory = context.inventory();
  objects_.reserve(inventory.size());
  ids_.reserve(inventory.size());
  for (const auto& name : inventory) intern(name);
}

std::uint32_t ExposureState::container(std::string_view name) {
  auto it = container_ids_.find(name);
  if (it != container_ids_.end()) return it->second;
  const auto index = static_cast<std::uint32_t>(containers_.size());
  containers_.push_back(Container{std::string(name), {}, {}});
  container_ids_.emplace(std::string(name), index);
  return index;
}

ObjectId ExposureState::intern(std::string_view name) {
  bool added = false;
  const ObjectId id = ids_.intern(name, &added);
  if (!added) return id;
  ObjectEntry entry{&context_.classify(name), kNone, kNone, kNone};
  std::string_view schema, catalog;
  if (split_table_name(name, schema, catalog)) {
    entry.schema = container(schema);
    entry.catalog = container(catalog);
    containers_[entry.schema].members.push_back(id);
    containers_[entry.catalog].members.push_back(id);
  }
  objects_.push_back(std::move(entry));
  return id;
}

std::optional<ObjectId> ExposureState::find(std::string_view name) const {
  return ids_.find(name);
}

const ActiveGrant* ExposureState::grant(std::uint32_t id) const {
  auto it = grants_.find(id);
  return it == grants_.end() ? nullptr : &it->second;
}

std::optional<Audience> ExposureState::class_for(const ActiveGrant& g,
                                                 const ObjectInfo& info) const {
  if (g.audience_class) return g.audience_class;
  if (context_.is_intended_reader(g.grantee, {}, info)) return std::nullopt;
  return Audience::narrow;
}

std::optional<ExposureState::Exposure> ExposureState::compute(ObjectId id) const {
  const ObjectEntry& o = objects_[id];
  std::optional<Exposure> best;
  auto consider = [&](const std::vector<std::uint32_t>& list) {
    for (auto gid : list) {
      const auto& g = grants_.at(gid);
      const auto cls = class_for(g, *o.info);
      if (cls && (!best || static_cast<int>(*cls) < static_cast<int>(best->audience))) {
        best = Exposure{*cls, gid};
      }
    }
  };
  if (o.own != kNone) consider(own_grants_[o.own]);
  if (o.schema != kNone) consider(containers_[o.schema].grants);
  if (o.catalog != kNone) consider(containers_[o.catalog].grants);
  return best;
}

std::optional<ExposureState::Exposure> ExposureState::exposure(ObjectId id) const {
  if (grants_.empty()) return std::nullopt;
  return compute(id);
}

std::vector<std::uint32_t>& ExposureState::grant_list(const std::string& target,
                                                      detectors::ObjectLevel level,
                                                      std::vector<ObjectId>& reached) {
  if (level == detectors::ObjectLevel::schema || level == detectors::ObjectLevel::catalog) {
    auto& c = containers_[container(target)];
    reached = c.members;
    return c.grants;
  }
  const auto id = intern(target);
  reached = {id};
  auto& own = objects_[id].own;
  if (own == kNone) {
    own = static_cast<std::uint32_t>(own_grants_.size());
    own_grants_.emplace_back();
  }
  return own_grants_[own];
}

std::vector<ObjectChange> ExposureState::apply(const detectors::AccessEvent& event) {
  using detectors::Action;
  std::vector<ObjectChange> changes;
  if (event.action != Action::grant && event.action != Action::revoke) return changes;
  if (event.result == detectors::Result::denied) return changes;
  const auto& target_ref = event.grant.target.name.empty() ? event.object : event.grant.target;
  if (target_ref.name.empty() || !grants_read(event.grant.privileges)) return changes;

  std::vector<ObjectId> reached;
  auto& list = grant_list(target_ref.name, target_ref.level, reached);

  std::vector<std::optional<Audience>> before;
  before.reserve(reached.size());
  for (auto id : reached) {
    const auto e = compute(id);
    before.push_back(e ? std::optional<Audience>(e->audience) : std::nullopt);
  }

  bool changed = false;
  for (const auto& grantee : event.grant.grantees) {
    const auto existing = std::find_if(list.begin(), list.end(), [&](std::uint32_t gid) {
      return iequals(grants_.at(gid).grantee, grantee.name);
    });
    if (event.action == Action::grant) {
      if (existing != list.end()) continue;  // already holds: a replayed or repeated grant
      ActiveGrant g;
      g.id = next_grant_id_++;
      g.target = target_ref.name;
      g.grantee = grantee.name;
      g.actor = event.principal;
      g.audience_class = context_.audience_class(grantee.name);
      g.time_ms = event.time_ms;
      list.push_back(g.id);
      grants_.emplace(g.id, std::move(g));
      changed = true;
    } else if (existing != list.end()) {
      grants_.erase(*existing);
      list.erase(existing);
      changed = true;
    }
  }
  if (!changed) return changes;

  for (std::size_t i = 0; i < reached.size(); ++i) {
    const auto after = compute(reached[i]);
    const std::optional<Audience> a =
        after ? std::optional<Audience>(after->audience) : std::nullopt;
    if (a != before[i]) {
      changes.push_back(ObjectChange{reached[i], before[i], a, after ? after->grant_id : 0});
    }
  }
  return changes;
}

void ExposureState::describe(std::string& out,
                             const std::function<std::string(std::uint32_t)>& grant_note) const {
  auto grants = [&](std::string_view kind, const std::string& name,
                    const std::vector<std::uint32_t>& list) {
    if (list.empty()) return;
    out += kind;
    out += ' ';
    out += name;
    out += '\n';
    for (const auto gid : list) {
      const ActiveGrant& g = grants_.at(gid);
      out += "  grant ";
      out += g.target;
      out += '\t';
      out += g.grantee;
      out += '\t';
      out += g.actor;
      out += '\t';
      out += g.audience_class ? to_string(*g.audience_class) : "-";
      out += '\t';
      out += std::to_string(g.time_ms);
      out += grant_note(gid);
      out += '\n';
    }
  };
  for (ObjectId id = 0; id < objects_.size(); ++id) {
    out += "object ";
    out += name(id);
    out += '\n';
  }
  static const std::vector<std::uint32_t> kNoGrants;
  for (ObjectId id = 0; id < objects_.size(); ++id) {
    const auto own = objects_[id].own;
    grants("on object", name(id), own == kNone ? kNoGrants : own_grants_[own]);
  }
  // Containers are listed by name: the order they were made in is not state.
  std::vector<const Container*> containers;
  for (const auto& c : containers_) containers.push_back(&c);
  std::sort(containers.begin(), containers.end(),
            [](const Container* a, const Container* b) { return a->name < b->name; });
  for (const auto* c : containers) grants("on container", c->name, c->grants);
}

}  // namespace sevwatch::rules
