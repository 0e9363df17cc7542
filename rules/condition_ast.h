// The condition AST: plain structs produced by the parser (condition_parser.h),
// rewritten by the passes (condition_passes.h) and compiled into a matcher
// (condition.h). Every node keeps where it came from, so a problem found by a
// later pass (an unknown macro, a bad regex) is reported at its FILE:LINE:COL,
// also when the node came from a macro defined in another file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rules/diagnostic.h"

namespace sevwatch::rules::ast {

enum class Op : std::uint8_t {
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  in,
  contains,
  icontains,
  startswith,
  istartswith,
  endswith,
  iendswith,
  glob,
  iglob,
  regex,
  cidr,
  exists,
};

struct Value {
  std::string text;
  SourceLoc loc;
  bool quoted = false;  // a quoted string is never a list name
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind : std::uint8_t { and_, or_, not_, check, ref };
  Kind kind = Kind::check;
  SourceLoc loc;
  std::vector<ExprPtr> kids;  // and_/or_: two or more; not_: one
  // check
  std::string field;
  Op op = Op::eq;
  std::vector<Value> values;
  bool list_syntax = false;  // the values were written as "(a, b)"
  // ref: a bare name, resolved to a macro (or `bool_field = true`)
  std::string name;
};

ExprPtr clone(const Expr& e);
std::string_view to_string(Op op);
// The condition as text, normalized (for explanations and tests).
std::string render(const Expr& e);

}  // namespace sevwatch::rules::ast
