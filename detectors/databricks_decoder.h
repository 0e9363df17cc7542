// Databricks Unity Catalog audit logs (delivered JSON lines, or rows of
// system.access.audit exported as JSON): updatePermissions as grants and
// revokes per principal, table credential vending as reads/writes, getTable
// as metadata. Other services are skipped.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kDatabricksFormat = "databricks_uc";

std::unique_ptr<Decoder> make_databricks_decoder(const DecoderOptions& options);
int sniff_databricks(const std::vector<std::string_view>& first_lines);
DecoderInfo databricks_decoder_info();

}  // namespace sevwatch::detectors
