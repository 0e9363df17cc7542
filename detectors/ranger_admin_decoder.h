// Apache Ranger Admin policy changes: the transaction log (`VXTrxLogV2` JSON,
// one object per line) and `RangerPolicy` exports (REST JSON, one policy per
// line). A policy's allow items become grant / revoke events on the
// resources it covers; see detectors/README.md for the mapping.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kRangerAdminFormat = "ranger_admin";

std::unique_ptr<Decoder> make_ranger_admin_decoder(const DecoderOptions& options);
int sniff_ranger_admin(const std::vector<std::string_view>& first_lines);
DecoderInfo ranger_admin_decoder_info();

}  // namespace sevwatch::detectors
