// The condition language's parser: text -> AST (condition_ast.h).
//
// Grammar (EBNF):
//
//   Expr      ::= OrExpr
//   OrExpr    ::= AndExpr { "or" AndExpr }
//   AndExpr   ::= NotExpr { "and" NotExpr }
//   NotExpr   ::= "not" NotExpr | Primary
//   Primary   ::= "(" Expr ")" | Check | Name
//   Check     ::= Field ( CmpOp Value
//                       | "in" List
//                       | StrOp ( Value | List )
//                       | "cidr" ( Value | List )
//                       | "exists" )
//   Name      ::= Ident        (* a macro, or a boolean field meaning "= true" *)
//   CmpOp     ::= "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
//   StrOp     ::= "contains" | "startswith" | "endswith" | "glob" | "regex"
//               | "icontains" | "istartswith" | "iendswith" | "iglob"
//   List      ::= "(" Value { "," Value } ")"   (* a Value naming a list expands to its items *)
//   Field     ::= Ident { "." Ident }
//               | "raw." Step { "." Step }     (* no spaces inside; condition_fields.h *)
//   Step      ::= Ident | String               (* a key, or an array index *)
//   Value     ::= Ident | String | Number
//   Ident     ::= (letter | digit | "_" | "-" | "." | "*" | "?" | ":" | "/" | "@") { ... }
//   String    ::= '"' { char } '"' | "'" { char } "'"    (* backslash escapes the next char *)
//
// Keywords and operators are case-insensitive; values are not. Nesting is
// capped (kMaxDepth) so a hostile rule cannot exhaust the stack. The parser
// checks syntax only; names (fields, macros, lists) are the passes' business.
#pragma once

#include <optional>
#include <string_view>

#include "rules/condition_ast.h"
#include "rules/diagnostic.h"

namespace sevwatch::rules {

inline constexpr int kMaxConditionDepth = 64;

// Parses `text`, which starts at `loc` in its file. Errors go to `diags`
// (code E_CONDITION) at the offending token; returns nullptr on error.
ast::ExprPtr parse_condition(std::string_view text, const SourceLoc& loc, Diagnostics& diags);

}  // namespace sevwatch::rules

namespace sevwatch::rules {
// An operator by its spelling ("=", "in", "icontains", ...); for exceptions'
// `comps`.
std::optional<ast::Op> parse_operator(std::string_view text);
}  // namespace sevwatch::rules
