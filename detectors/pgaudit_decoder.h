// PostgreSQL pgAudit, from the server log:
//  - "pgaudit": stderr format with log_line_prefix = '%m %u %d [%p]: '
//    (continuation lines of multi-line messages start with a TAB);
//  - "pgaudit_csv": csvlog (22-26 columns, RFC 4180, records may span lines).
// Both read AUDIT: records and "permission denied" errors (as denied events).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kPgauditFormat = "pgaudit";
inline constexpr std::string_view kPgauditCsvFormat = "pgaudit_csv";

std::unique_ptr<Decoder> make_pgaudit_stderr_decoder(const DecoderOptions& options);
std::unique_ptr<Decoder> make_pgaudit_csv_decoder(const DecoderOptions& options);
int sniff_pgaudit_stderr(const std::vector<std::string_view>& first_lines);
int sniff_pgaudit_csv(const std::vector<std::string_view>& first_lines);
DecoderInfo pgaudit_stderr_decoder_info();
DecoderInfo pgaudit_csv_decoder_info();

}  // namespace sevwatch::detectors
