// HiveMetaStore audit log (`HiveMetaStore.audit` logger): one Thrift call per
// line, `ugi=<user>\tip=<addr>\tcmd=<function> <args>\t` after the log4j
// prefix. Metadata calls only: no result, and GRANT/REVOKE never appear here.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kHiveHmsFormat = "hive_hms";
inline constexpr std::string_view kDefaultHiveCatalog = "hive";

std::unique_ptr<Decoder> make_hive_hms_decoder(const DecoderOptions& options);
int sniff_hive_hms(const std::vector<std::string_view>& first_lines);
DecoderInfo hive_hms_decoder_info();

// A metastore function name to an Action (get_* metadata, create_*, ...).
Action hms_function_to_action(std::string_view function);

}  // namespace sevwatch::detectors
