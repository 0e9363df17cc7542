// Generic JSON lines with a YAML field mapping (DecoderOptions::mapping_file).
// Never auto-detected. Mapping keys (each a dotted JSON path, or a map with
// `path` and extras):
//
//   time:       {path: ts, format: rfc3339}   # rfc3339 | epoch_ms | epoch_s | strftime-like
//                                              # ("%Y-%m-%d %H:%M:%S", %f fraction, %z zone)
//   principal:  user.name
//   action:     {path: verb, values: {SELECT: read, GRANT: grant}}  # else `other`
//   object:     {path: resource, level: table}  # level: catalog|schema|table|none|auto
//   result:     {path: status, values: {ok: allowed, denied: denied}}
//   grantee:    {path: grant.to, kind: group}  # a string or an array of strings
//   privileges: grant.privs                    # a string or an array (upper-cased)
//   query, client_ip, event_uid, session: paths
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kJsonMappedFormat = "json_mapped";

struct JsonMapping {
  std::string time_path, time_format = "rfc3339";
  std::string principal, object, query, client_ip, event_uid, session, grantee, privileges;
  std::string action_path, result_path;
  std::map<std::string, Action> action_values;
  std::map<std::string, Result> result_values;
  std::string object_level = "auto";
  GranteeKind grantee_kind = GranteeKind::unknown;
};

// Reads and checks a mapping; false with `error` (one line, naming the file).
bool load_json_mapping(const std::string& path, JsonMapping& out, std::string& error);
bool parse_json_mapping(std::string_view yaml_text, JsonMapping& out, std::string& error);

// Parses `s` with a strftime-like format (%Y %m %d %H %M %S %f %z %%,
// anything else literal). False when `s` does not match it entirely.
bool parse_time_format(std::string_view s, std::string_view format, std::int64_t& ms,
                       bool& zone_assumed);

std::unique_ptr<Decoder> make_json_mapped_decoder(const DecoderOptions& options);
std::unique_ptr<Decoder> make_json_mapped_decoder(const DecoderOptions& options,
                                                  JsonMapping mapping);
DecoderInfo json_mapped_decoder_info();

}  // namespace sevwatch::detectors
