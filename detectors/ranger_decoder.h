// Apache Ranger plugin audit events (Hive repoType 3, HDFS repoType 1), one
// JSON object per line. See detectors/README.md for the field mapping.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kRangerAuditFormat = "ranger_audit";

std::unique_ptr<Decoder> make_ranger_decoder(const DecoderOptions& options);
int sniff_ranger(const std::vector<std::string_view>& first_lines);
DecoderInfo ranger_decoder_info();

// Ranger's `access` verb to an Action (HDFS operations when `hdfs`).
Action ranger_access_to_action(std::string_view access, bool hdfs);

}  // namespace sevwatch::detectors
