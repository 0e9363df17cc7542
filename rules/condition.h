// Rule conditions: a small expression language over the normalized event and
// the exposure-aware fields the engine derives.
//
// Grammar (EBNF):
//
//   Expr      ::= OrExpr
//   OrExpr    ::= AndExpr { "or" AndExpr }
//   AndExpr   ::= NotExpr { "and" NotExpr }
//   NotExpr   ::= "not" NotExpr | Primary
//   Primary   ::= "(" Expr ")" | Check
//   Check     ::= Field ( CmpOp Value
//                       | "in" "(" Value { "," Value } ")"
//                       | "exists" )
//   CmpOp     ::= "=" | "!="
//   Field     ::= Ident { "." Ident }
//   Value     ::= Ident | String | Number
//   Ident     ::= letter { letter | digit | "_" | "-" }
//   String    ::= '"' { char } '"' | "'" { char } "'"
//
// Keywords are case-insensitive; comparisons are exact. Nesting is capped
// (kMaxDepth) so a hostile rule cannot exhaust the stack.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/diagnostic.h"

namespace sevwatch::rules {

// The fields a condition may name.
enum class Field : std::uint8_t {
  action,
  result,
  principal,
  object,
  format,
  operation,
  client_ip,
  grantee,             // any grantee of a grant/revoke
  object_sensitivity,  // the object's class from the context
  object_level,        // critical | high | medium | low | public
  object_exposed,      // "true" when the object is exposed beyond its audience now
  exposure_audience,   // the broadest audience class of the object now
  principal_outsider,  // "true" when the principal is outside the object's audience
  principal_external,  // "true" when the principal is outside the organization
};

// What a condition is evaluated against: gives each field's values.
class FieldSource {
 public:
  virtual ~FieldSource() = default;
  // Appends the field's values (most fields have one; `grantee` may have many,
  // absent fields none).
  virtual void values(Field field, std::vector<std::string_view>& out) const = 0;
};

class Condition {
 public:
  virtual ~Condition() = default;
  virtual bool eval(const FieldSource& source) const = 0;
};

// Parses and compiles `text`. `loc` is where the text starts in its file;
// errors are reported at the offending token's line and column. Returns
// nullptr on error.
std::unique_ptr<Condition> compile_condition(std::string_view text, const SourceLoc& loc,
                                             Diagnostics& diags);

// The names of all fields, for documentation and error messages.
std::vector<std::string> condition_field_names();

}  // namespace sevwatch::rules
