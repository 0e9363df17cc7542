// A Sigma rule's `detection:` as a condition AST (condition_ast.h) over
// sevwatch's condition fields, through the logsource's field mapping
// (sigma_mapping.h). Every node keeps the position of the Sigma key or value
// it came from, so later passes (type check, regex compilation) report
// problems in the Sigma file.
//
//   selection: {field|mod|mod: value | [values]}   AND of fields, OR of values
//   selection: [{...}, {...}]                      OR of maps
//   keywords:  [value, ...]  / {'|all': [...]}     searched in the logsource's
//                                                  `keywords` fields
//
// Sigma matches strings case-insensitively: plain values become `iglob`
// (wildcards `*` `?`, `\` escapes), `contains`/`startswith`/`endswith` their
// i-operators; `cased` (and `base64`, `base64offset`) match case-sensitively.
// `re` is RE2 (`re|i|m|s` set the flags), `cidr` is `cidr`, `exists` is
// `exists`, `lt`/`lte`/`gt`/`gte` order numbers, `neq` negates, `all` ANDs a
// list, `windash` expands `-`/`/` flags. A null or empty value means the
// field is absent. Unsupported modifiers are E_SIGMA_UNSUPPORTED_MODIFIER,
// unmapped fields E_SIGMA_UNMAPPED_FIELD.
#pragma once

#include <yaml-cpp/yaml.h>

#include "rules/condition_ast.h"
#include "rules/diagnostic.h"
#include "rules/sigma_common.h"
#include "rules/sigma_mapping.h"

namespace sevwatch::rules::sigma {

// The detection (selections and condition) as one expression, without the
// logsource's format restriction; nullptr when there were errors.
ast::ExprPtr translate_detection(const YAML::Node& detection, const Source& src,
                                 const SigmaLogsourceMap& logsource, Diagnostics& diags);

// An expression that always holds (`action exists`: every event has an
// action), for selections whose every field was dropped by the mapping.
ast::ExprPtr always(const SourceLoc& loc);

}  // namespace sevwatch::rules::sigma
