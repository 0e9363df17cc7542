// The Sigma detection condition (`condition: sel and not 1 of filter_*`):
// parsed into a small tree, then expanded into the condition AST over the
// translated selections.
//
//   Expr    ::= And { "or" And }
//   And     ::= Not { "and" Not }
//   Not     ::= "not" Not | Primary
//   Primary ::= "(" Expr ")" | ("1" | "all") "of" (Pattern | "them") | Identifier
//
// `them` is every selection whose name does not start with '_'; a pattern
// matches selection names with `*` wildcards. The obsolete aggregation
// syntax (`... | count() by x > 5`, `| near ...`) is refused with
// E_SIGMA_UNSUPPORTED_AGGREGATION / E_SIGMA_UNSUPPORTED_NEAR; syntax errors are
// E_SIGMA_CONDITION; names of no selection are E_SIGMA_UNKNOWN_IDENTIFIER.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/condition_ast.h"
#include "rules/diagnostic.h"

namespace sevwatch::rules::sigma {

struct CondNode {
  enum class Kind { and_, or_, not_, ident, one_of, all_of };
  Kind kind = Kind::ident;
  std::string name;  // ident; one_of/all_of: the pattern, or "them"
  std::size_t offset = 0;
  std::vector<std::unique_ptr<CondNode>> kids;
};

// Where character `offset` of the condition text is in the file.
using Locator = std::function<SourceLoc(std::size_t offset)>;

std::unique_ptr<CondNode> parse_condition(std::string_view text, const Locator& where,
                                          Diagnostics& diags);

// The translated selections, in the order the detection defines them.
using Selections = std::vector<std::pair<std::string, ast::ExprPtr>>;

// The condition over `selections` (cloned, so a selection may be used twice);
// nullptr with diagnostics when a name is unknown.
ast::ExprPtr expand_condition(const CondNode& node, const Selections& selections,
                              const Locator& where, Diagnostics& diags);

// Helpers shared with the selection translator: an and/or of `kids` (the
// kid itself when there is one), and a negation.
ast::ExprPtr combine(ast::Expr::Kind kind, std::vector<ast::ExprPtr> kids, const SourceLoc& loc);
ast::ExprPtr negate(ast::ExprPtr e);

}  // namespace sevwatch::rules::sigma
