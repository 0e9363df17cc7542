// HiveServer2 log (hive.log): `Executing command(queryId=<id>): <SQL>` lines
// (the principal is the queryId's `<user>_<yyyyMMddHHmmss>_<uuid>` prefix;
// GRANT / REVOKE parsed into grants) and `FAILED: ... Permission denied`
// lines (SQL-standard and Ranger authorizers) as denied accesses. Other
// lines are skipped.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kHiveHs2Format = "hive_hs2";

std::unique_ptr<Decoder> make_hive_hs2_decoder(const DecoderOptions& options);
int sniff_hive_hs2(const std::vector<std::string_view>& first_lines);
DecoderInfo hive_hs2_decoder_info();

// The user in a Hive queryId "<user>_<yyyyMMddHHmmss>_<uuid>" ("" if none).
std::string_view hive_query_id_user(std::string_view query_id);

}  // namespace sevwatch::detectors
