// Passes over the condition AST, between the parser and the compiler:
//
//   1. resolve_names: a bare name becomes the macro it names (inlined, itself
//      resolved; cycles are errors) or, for a boolean field, `field = true`;
//      a value naming a list becomes the list's items (lists nest).
//   2. type_check: every field exists, its type accepts the operator, values
//      belong to the field's vocabulary, numbers are numbers, regexes compile
//      (RE2, bounded program size), CIDRs and globs parse.
//   3. possible_actions: which actions an expression can match at all (an
//      `and` intersects, an `or` unites, a `not` gives up), so the ruleset can
//      index rules by action.
//   4. required_prefixes: literal prefixes one field must start with for the
//      expression to hold, so the ruleset can index rules by object or
//      principal prefix (rule_index.h).
#pragma once

#include <bitset>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/condition_ast.h"
#include "rules/diagnostic.h"

namespace sevwatch::rules {

// The largest RE2 program a condition's regex may compile to.
inline constexpr int kMaxRegexProgramSize = 2000;

struct ListDef {
  std::string name;
  std::vector<ast::Value> items;
  SourceLoc loc;
};

struct MacroDef {
  std::string name;
  std::string text;
  std::shared_ptr<const ast::Expr> expr;  // parsed, unresolved
  SourceLoc loc;
};

// Named lists and macros visible to conditions, across all loaded files.
struct Definitions {
  std::map<std::string, ListDef, std::less<>> lists;
  std::map<std::string, MacroDef, std::less<>> macros;
};

// Pass 1. Rewrites `e` in place; returns false (with diagnostics) on error.
// `used` (optional) collects the names of the lists and macros referenced.
bool resolve_names(ast::ExprPtr& e, const Definitions& defs, Diagnostics& diags,
                   std::vector<std::string>* used = nullptr);

// Pass 2. Returns false (with diagnostics) when the expression is ill-typed.
bool type_check(const ast::Expr& e, Diagnostics& diags);

// Pass 3. Bit i is set when the expression may match an event whose action
// is detectors::Action(i).
inline constexpr std::size_t kActionCount = 13;
using ActionMask = std::bitset<kActionCount>;
ActionMask possible_actions(const ast::Expr& e);

// Pass 4. When every event the expression matches has a value of `field`
// starting with one of the returned literal prefixes (case-sensitively),
// returns them; nullopt when no such constraint follows from the expression
// (a `not`, a case-insensitive operator, an `or` with an unconstrained
// branch, a glob starting with a wildcard). An `and` keeps its most selective
// constrained operand.
std::optional<std::vector<std::string>> required_prefixes(const ast::Expr& e,
                                                          std::string_view field);

// Parses an IPv4/IPv6 CIDR ("10.0.0.0/8", "2001:db8::/32", or a bare address).
struct Cidr {
  unsigned char bytes[16] = {};
  int prefix = 0;
  bool v6 = false;
};
std::optional<Cidr> parse_cidr(std::string_view text);
// True when `ip` (text) lies in `range`.
bool cidr_contains(const Cidr& range, std::string_view ip);

}  // namespace sevwatch::rules
