// Snowflake ACCOUNT_USAGE rows exported as JSON lines: ACCESS_HISTORY (reads
// and writes per object), GRANTS_TO_ROLES (grants; revokes when DELETED_ON is
// set) and QUERY_HISTORY (GRANT / REVOKE statements, failed queries as
// denials). Object names are Snowflake's own DB.SCHEMA.OBJECT: the database
// is the catalog.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kSnowflakeFormat = "snowflake";

std::unique_ptr<Decoder> make_snowflake_decoder(const DecoderOptions& options);
int sniff_snowflake(const std::vector<std::string_view>& first_lines);
DecoderInfo snowflake_decoder_info();

}  // namespace sevwatch::detectors
