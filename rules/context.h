// The context file (spec/context.md): what objects are, how sensitive, who
// their intended readers are, which principals belong to the organization and
// which audience class a grantee stands for.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/classes.h"
#include "rules/diagnostic.h"

namespace sevwatch::rules {

// What the context says of one object.
struct ObjectInfo {
  std::string sensitivity;  // the class name, e.g. "prompts_transcripts"
  Level level = Level::low;
  std::string owner;  // may be empty
  // Intended readers (principals or group names). Empty: the owner only.
  std::vector<std::string> audience;
};

class Context {
 public:
  // Parses and validates; every problem goes to `diags` as FILE:LINE:COL.
  // Returns nullptr when there were errors.
  static std::unique_ptr<Context> load_file(const std::string& path, Diagnostics& diags);
  static std::unique_ptr<Context> load_string(std::string_view yaml, const std::string& name,
                                              Diagnostics& diags);
  // The shipped default: organization "*" (everyone inside), a few well-known
  // audience members, every object `internal`/low.
  static std::unique_ptr<Context> builtin_default();

  // First match wins: CSV rows (exact names) before `objects` globs. Objects
  // matching nothing get level low, class "unclassified".
  const ObjectInfo& classify(std::string_view object) const;

  // The audience class a grantee (principal or group name, as in the logs)
  // stands for, or nullopt when it is not listed in `audiences`.
  std::optional<Audience> audience_class(std::string_view member) const;

  // True when the principal is outside the organization (domains, accounts,
  // principal globs).
  bool is_external(std::string_view principal) const;

  // True when `principal` (or one of `principal_groups`) is among `audience`
  // directly or through `groups`, transitively. An empty audience means the
  // owner only.
  bool is_intended_reader(std::string_view principal,
                          const std::vector<std::string>& principal_groups,
                          const ObjectInfo& object) const;

  // Objects the inventory (objects_csv rows, and exact `objects` names) knows.
  const std::vector<std::string>& inventory() const { return inventory_; }

  std::optional<Level> level_of_class(std::string_view sensitivity_class) const;

  struct Impl;

 private:
  Context();
  std::vector<std::string> inventory_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sevwatch::rules
