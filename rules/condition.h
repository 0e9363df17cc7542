// Rule conditions: the compiled matcher, the last stage of
//
//   text --parse--> AST --resolve names, type check--> AST --compile--> Condition
//
// (condition_parser.h has the grammar, condition_passes.h the passes,
// condition_fields.h the fields.) The compiled form is a tree of nodes whose
// checks hold their values pre-processed: lower-cased for the i-operators,
// globs and CIDRs parsed, regexes compiled once (RE2, linear time; several
// regexes on one field become one RE2::Set).
//
// Semantics: a multi-valued field (grantee, principal.group, grant.privilege)
// matches when any of its values does; `!=` holds when no value equals; a
// field absent from the event matches nothing but `!=` and `not`. `regex`
// searches (unanchored; write ^...$ to anchor). Ordering on object.level
// reads "more sensitive is greater": `object.level >= high` is high or
// critical.
//
// A `raw.<path>` field reads the event's source record (JSON; FieldSource::
// raw_values): strings as they are, numbers and booleans as their text; a
// missing path or null is an absent field. Ordering compares numbers.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/condition_ast.h"
#include "rules/condition_fields.h"
#include "rules/condition_passes.h"
#include "rules/diagnostic.h"

namespace sevwatch::rules {

// What a condition is evaluated against: gives each field's values.
class FieldSource {
 public:
  virtual ~FieldSource() = default;
  // Appends the field's values (most fields have one; `grantee` may have many,
  // absent fields none).
  virtual void values(Field field, std::vector<std::string_view>& out) const = 0;
  // Appends the value at `path` (raw_path()) in the event's source record:
  // none when the event has no record or the path leads nowhere.
  virtual void raw_values(std::span<const std::string> path,
                          std::vector<std::string_view>& out) const {
    (void)path;
    (void)out;
  }
  // The code of a coded field's value (code_text), kAbsentCode when it is
  // absent, kNoCode when this source does not say (checks then use values()).
  virtual int code(Field field) const {
    (void)field;
    return kNoCode;
  }
};

class Condition {
 public:
  virtual ~Condition() = default;
  virtual bool eval(const FieldSource& source) const = 0;
  // Evaluates every node (no short cut) and appends one line per node to
  // `out`, indented by depth: whether it held and, for checks, the values seen.
  virtual bool explain(const FieldSource& source, std::string& out, int depth) const = 0;
  // True when some check names a raw.<path> field (the source record is needed).
  bool uses_raw() const { return uses_raw_; }

 protected:
  bool uses_raw_ = false;
};

// Compiles a resolved, type-checked AST.
std::unique_ptr<Condition> compile_ast(const ast::Expr& e);

// Parse, resolve against `defs` (may be null: no lists or macros), type
// check and compile. `loc` is where the text starts in its file; errors are
// reported at the offending token. Returns nullptr on error. `actions`, when
// given, receives the actions the condition can match.
std::unique_ptr<Condition> compile_condition(std::string_view text, const SourceLoc& loc,
                                             Diagnostics& diags, const Definitions* defs = nullptr,
                                             ActionMask* actions = nullptr);

// The names of all fields, for documentation and error messages.
std::vector<std::string> condition_field_names();

}  // namespace sevwatch::rules
