// The Sigma import's mapping (docs/sigma.md): which sevwatch events a Sigma
// `logsource` reads (decoder formats), how Sigma field names become condition
// fields, which fields keyword searches look in, and the defaults of the
// rules a Sigma detection becomes. The shipped mapping is
// rules/sigma/mapping.yaml, compiled into the binary;
// `--sigma-mapping FILE` (or `sigma_mapping:` in the run config) replaces it.
//
//   defaults:
//     group_by: [principal]           # findings of a Sigma detection rule...
//     window: 1h                      # ...grow while matches keep coming this close
//     levels: {critical: 1, high: 2, medium: 3, low: 4, informational: 5}
//     level: medium                   # when a rule has no `level`
//   logsources:
//     - logsource: {product: aws, service: cloudtrail}   # keys given must equal the rule's
//       formats: [aws_cloudtrail]     # events of these decoders only (absent: any)
//       keywords: [query]             # where keyword selections search (absent: refused)
//       fields:
//         eventName: operation        # a condition field,
//         userIdentity.arn: [principal]   # or several (any may match),
//         eventSource: raw.eventSource    # or a path into the source record,
//         userAgent: ~                # or null: dropped from rules, with a warning
//         "requestParameters.*": "raw.requestParameters.*"   # a prefix
//
// Every problem is a diagnostic (E_SIGMA_MAPPING, E_UNKNOWN_KEY, E_TYPE)
// with FILE:LINE:COL.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/condition_fields.h"
#include "rules/diagnostic.h"

namespace sevwatch::rules {

struct SigmaLogsourceMap {
  // The logsource keys this entry matches; empty: any value.
  std::string category;
  std::string product;
  std::string service;
  std::vector<std::string> formats;   // empty: events of any format
  std::vector<std::string> keywords;  // condition fields keyword selections search
  // Sigma field -> condition fields ("raw.<path>" allowed); an empty list
  // drops the field. A key ending in '*' is a prefix: the rest of the Sigma
  // field replaces the '*' of a target that ends in one.
  std::vector<std::pair<std::string, std::vector<std::string>>> fields;
  SourceLoc loc;

  std::string describe() const;  // "product: aws, service: cloudtrail"
};

// What one Sigma field maps to.
struct SigmaFieldTarget {
  bool found = false;
  bool dropped = false;             // mapped to null
  std::vector<std::string> fields;  // condition fields; any may match
};

struct SigmaMapping {
  std::string name;  // the file, for messages
  std::vector<Field> group_by{Field::principal};
  std::int64_t window_ms = 3'600'000;
  std::map<std::string, int, std::less<>> level_sev{
      {"critical", 1}, {"high", 2}, {"medium", 3}, {"low", 4}, {"informational", 5}};
  std::string default_level = "medium";
  std::vector<SigmaLogsourceMap> logsources;

  // The most specific entry whose keys all equal the rule's (case-insensitive);
  // the first of equally specific ones. nullptr: the logsource is unmapped.
  const SigmaLogsourceMap* find_logsource(std::string_view category, std::string_view product,
                                          std::string_view service) const;
  // The SEV hint of a Sigma level; nullopt for an unknown level.
  std::optional<int> sev_of(std::string_view level) const;
};

// `sigma_field` under `entry`: exact name, then case-insensitive, then the
// longest matching prefix; a name that is itself a condition field (e.g.
// `principal`) maps to itself when the entry does not map it.
SigmaFieldTarget map_sigma_field(const SigmaLogsourceMap& entry, std::string_view sigma_field);

// Parses a mapping; nullptr (with diagnostics) on errors.
std::shared_ptr<const SigmaMapping> load_sigma_mapping_string(std::string_view yaml,
                                                              const std::string& name,
                                                              Diagnostics& diags);
std::shared_ptr<const SigmaMapping> load_sigma_mapping_file(const std::string& path,
                                                            Diagnostics& diags);
// The shipped rules/sigma/mapping.yaml, parsed once.
std::shared_ptr<const SigmaMapping> default_sigma_mapping();

}  // namespace sevwatch::rules
